/* tt_rtest.h — helpers for the reports tests: temp folders, whole-file reads, running a subcommand in-process with
 * its stdout and stderr captured to files. */
#ifndef TT_RTEST_H
#define TT_RTEST_H

#include "tt_test.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline char *rt_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) n = 0;
    if (s) s[n] = 0;
    fclose(f);
    return s;
}

static inline bool rt_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return false;
    fputs(text, f);
    return fclose(f) == 0;
}

static inline bool rt_copy(const char *from, const char *to)
{
    char *s = rt_slurp(from);
    bool ok = s && rt_write(to, s);
    free(s);
    return ok;
}

static inline long rt_size(const char *path)
{
    struct stat st;
    return stat(path, &st) ? -1 : (long)st.st_size;
}

/* Runs fn(argc, argv) with stdout and stderr going to OUT and ERR (files in dir); returns its result. */
static inline int rt_run(int (*fn)(int, char **), const char *dir, const char *tag, char **out, char **err, int argc,
                  char **argv)
{
    char po[512], pe[512];
    snprintf(po, sizeof po, "%s/%s.out", dir, tag);
    snprintf(pe, sizeof pe, "%s/%s.err", dir, tag);
    fflush(stdout), fflush(stderr);
    int so = dup(1), se = dup(2);
    int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fo, 1), dup2(fe, 2);
    close(fo), close(fe);
    int rc = fn(argc, argv);
    fflush(stdout), fflush(stderr);
    dup2(so, 1), dup2(se, 2);
    close(so), close(se);
    *out = rt_slurp(po);
    *err = rt_slurp(pe);
    if (!*out) *out = calloc(1, 1);
    if (!*err) *err = calloc(1, 1);
    return rc;
}

static inline const char *rt_srcdir(void)
{
    const char *s = getenv("TT_SRCDIR");
    return s && *s ? s : ".";
}

#endif
