/* tt_test.h — minimal test harness: CHECK records failures and keeps going; tt_test_end prints a summary and
 * returns the exit code meson expects (0 pass, 1 fail, 77 skip). */
#ifndef TT_TEST_H
#define TT_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tt_test_checks, tt_test_failures;

#define CHECK(cond)                                                                                             \
    do {                                                                                                        \
        tt_test_checks++;                                                                                       \
        if (!(cond)) {                                                                                          \
            tt_test_failures++;                                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                          \
        }                                                                                                       \
    } while (0)

#define CHECKF(cond, ...)                                                                                       \
    do {                                                                                                        \
        tt_test_checks++;                                                                                       \
        if (!(cond)) {                                                                                          \
            tt_test_failures++;                                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);                          \
            fprintf(stderr, __VA_ARGS__);                                                                       \
            fputc('\n', stderr);                                                                                \
        }                                                                                                       \
    } while (0)

static inline int tt_test_quick(void)
{
    const char *q = getenv("TT_TEST_QUICK");
    return q && *q && strcmp(q, "0");
}

static inline int tt_test_end(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, tt_test_checks, tt_test_failures);
    return tt_test_failures ? 1 : 0;
}

#endif
