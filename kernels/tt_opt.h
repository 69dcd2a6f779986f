/* tt_opt.h — the one command-line parser of every tritune verb. A verb lists its options in a table; tt_opt_parse
 * checks everything before any work: -h / --help print the verb's usage on stdout (exit 0); an unknown option, a
 * missing value, a value of the wrong form or out of range, or a wrong number of positional arguments print what is
 * wrong and the usage on stderr (exit 2). "--name value" and "--name=value" both work; "--" ends the options. */
#ifndef TT_OPT_H
#define TT_OPT_H

#include <stdbool.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tt_opt_kind {
    TT_OPT_FLAG,   /* dst: bool *, set true */
    TT_OPT_STR,    /* dst: const char ** (a non-empty string) */
    TT_OPT_INT,    /* dst: long *, an integer within [lo, hi] */
    TT_OPT_NUM,    /* dst: double *, a number within [lo, hi] */
    TT_OPT_CHOICE, /* dst: const char **, one of choices ("a|b|c") */
    TT_OPT_INTS,   /* dst: tt_opt_ints *, "1,2,4": each within [lo, hi] */
    TT_OPT_SHAPE,  /* dst: tt_opt_shape *, "MxK": M within [1, hi], K within [1, lo] */
} tt_opt_kind;

#define TT_OPT_INTS_MAX 64
typedef struct tt_opt_ints {
    int v[TT_OPT_INTS_MAX];
    int n;
} tt_opt_ints;
typedef struct tt_opt_shape {
    int m, k;
} tt_opt_shape;

typedef struct tt_opt {
    const char *name;  /* "--threads" */
    const char *alias; /* "-t", or NULL */
    tt_opt_kind kind;
    void *dst;
    double lo, hi;       /* ranges (INT, NUM, INTS, SHAPE) */
    const char *choices; /* CHOICE */
} tt_opt;

/* Table rows: name, alias (or NULL), destination, then the kind's range or choices. */
#define TT_O_FLAG(n, a, d) {.name = n, .alias = a, .kind = TT_OPT_FLAG, .dst = d}
#define TT_O_STR(n, a, d) {.name = n, .alias = a, .kind = TT_OPT_STR, .dst = d}
#define TT_O_INT(n, a, d, l, h) {.name = n, .alias = a, .kind = TT_OPT_INT, .dst = d, .lo = l, .hi = h}
#define TT_O_NUM(n, a, d, l, h) {.name = n, .alias = a, .kind = TT_OPT_NUM, .dst = d, .lo = l, .hi = h}
#define TT_O_CHOICE(n, a, d, c) {.name = n, .alias = a, .kind = TT_OPT_CHOICE, .dst = d, .choices = c}
#define TT_O_INTS(n, a, d, l, h) {.name = n, .alias = a, .kind = TT_OPT_INTS, .dst = d, .lo = l, .hi = h}
#define TT_O_SHAPE(n, a, d, kmax, mmax) {.name = n, .alias = a, .kind = TT_OPT_SHAPE, .dst = d, .lo = kmax, .hi = mmax}
#define TT_NOPTS(o) ((int)(sizeof(o) / sizeof((o)[0])))

typedef struct tt_cmd {
    const char *verb;           /* "tune", "model synth", ... (messages) */
    void (*usage)(FILE *f);     /* the verb's usage text */
    const tt_opt *opts;
    int nopts;
    const char **pos;           /* positional arguments, in order (may be NULL when max_pos is 0) */
    int min_pos, max_pos, *npos;
} tt_cmd;

/* Parse argv[1..argc); returns -1 to go on, or the exit status to return now (0 after --help, 2 on an error). */
int tt_opt_parse(const tt_cmd *c, int argc, char **argv);

/* The thread counts asked for against the online CPUs: more threads than CPUs make the spinning pool wait for time
 * slices, so it is refused (exit status 2, message) unless oversubscribe. Returns -1 to go on. */
int tt_opt_check_threads(const char *verb, const int *threads, int n, bool oversubscribe);
/* A shape's working memory (bytes, the caller's estimate) against the physical memory: refused (2) above half of it,
 * before any allocation, instead of failing late or swapping. Returns -1 to go on. */
int tt_opt_check_memory(const char *verb, double bytes, const char *what);
/* An output file's folder exists and is writable (checked before minutes of work). Returns -1 to go on, else 2. */
int tt_opt_check_writable(const char *verb, const char *path);

#ifdef __cplusplus
}
#endif
#endif
