/* tt_opt.c — see tt_opt.h. */
#include "tt_opt.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(const tt_cmd *c, const char *msg)
{
    fprintf(stderr, "tritune %s: %s\n\n", c->verb, msg);
    if (c->usage) c->usage(stderr);
    return 2;
}

static bool parse_long(const char *s, double lo, double hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || (double)v < lo || (double)v > hi) return false;
    *out = v;
    return true;
}

static bool choice_ok(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, v, n)) return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

static bool set_value(const tt_opt *o, const char *v)
{
    long l;
    switch (o->kind) {
    case TT_OPT_STR:
        if (!*v) return false;
        *(const char **)o->dst = v;
        return true;
    case TT_OPT_INT:
        if (!parse_long(v, o->lo, o->hi, &l)) return false;
        *(long *)o->dst = l;
        return true;
    case TT_OPT_NUM: {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (end == v || *end || errno || !isfinite(d) || d < o->lo || d > o->hi) return false;
        *(double *)o->dst = d;
        return true;
    }
    case TT_OPT_CHOICE:
        if (!choice_ok(o->choices, v)) return false;
        *(const char **)o->dst = v;
        return true;
    case TT_OPT_INTS: {
        tt_opt_ints *t = o->dst;
        t->n = 0;
        char buf[512];
        if (strlen(v) >= sizeof buf || v[0] == ',' || strstr(v, ",,")) return false; /* no empty elements */
        strcpy(buf, v);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (t->n == TT_OPT_INTS_MAX || !parse_long(tok, o->lo, o->hi, &l)) return false;
            t->v[t->n++] = (int)l;
        }
        return t->n > 0 && v[strlen(v) - 1] != ',';
    }
    case TT_OPT_SHAPE: {
        tt_opt_shape *s = o->dst;
        const char *x = strpbrk(v, "xX");
        char m[32];
        long a, b;
        if (!x || (size_t)(x - v) >= sizeof m) return false;
        memcpy(m, v, (size_t)(x - v));
        m[x - v] = 0;
        if (!parse_long(m, 1, o->hi, &a) || !parse_long(x + 1, 1, o->lo, &b)) return false;
        s->m = (int)a, s->k = (int)b;
        return true;
    }
    case TT_OPT_FLAG: break;
    }
    return false;
}

static const char *form_of(const tt_opt *o, char *buf, size_t n)
{
    switch (o->kind) {
    case TT_OPT_INT: snprintf(buf, n, "an integer in [%.0f, %.0f]", o->lo, o->hi); break;
    case TT_OPT_NUM: snprintf(buf, n, "a number in [%g, %g]", o->lo, o->hi); break;
    case TT_OPT_CHOICE: snprintf(buf, n, "one of %s", o->choices); break;
    case TT_OPT_INTS: snprintf(buf, n, "a list like 1,2,4 of integers in [%.0f, %.0f]", o->lo, o->hi); break;
    case TT_OPT_SHAPE: snprintf(buf, n, "MxK with M in [1, %.0f] and K in [1, %.0f]", o->hi, o->lo); break;
    default: snprintf(buf, n, "a value"); break;
    }
    return buf;
}

int tt_opt_parse(const tt_cmd *c, int argc, char **argv)
{
    int np = 0;
    bool opts_done = false;
    char msg[400];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
            if (c->usage) c->usage(stdout);
            return 0;
        }
        if (!opts_done && !strcmp(a, "--")) {
            opts_done = true;
            continue;
        }
        if (opts_done || a[0] != '-' || !a[1] || (a[1] >= '0' && a[1] <= '9')) {
            if (np >= c->max_pos) {
                snprintf(msg, sizeof msg, "unexpected argument '%s'", a);
                return fail(c, msg);
            }
            c->pos[np++] = a;
            continue;
        }
        const char *eq = !strncmp(a, "--", 2) ? strchr(a, '=') : NULL;
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        const tt_opt *o = NULL;
        for (int j = 0; j < c->nopts && !o; j++)
            if ((strlen(c->opts[j].name) == nlen && !strncmp(c->opts[j].name, a, nlen)) ||
                (c->opts[j].alias && !strcmp(c->opts[j].alias, a)))
                o = &c->opts[j];
        if (!o) {
            snprintf(msg, sizeof msg, "unknown option '%.*s'", (int)nlen, a);
            return fail(c, msg);
        }
        if (o->kind == TT_OPT_FLAG) {
            if (eq) {
                snprintf(msg, sizeof msg, "%s takes no value", o->name);
                return fail(c, msg);
            }
            *(bool *)o->dst = true;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) {
            snprintf(msg, sizeof msg, "%s needs a value", o->name);
            return fail(c, msg);
        }
        if (!set_value(o, v)) {
            char form[160];
            snprintf(msg, sizeof msg, "%s: '%.100s' is not %s", o->name, v, form_of(o, form, sizeof form));
            return fail(c, msg);
        }
    }
    if (np < c->min_pos) {
        snprintf(msg, sizeof msg, "missing argument%s", c->min_pos - np > 1 ? "s" : "");
        return fail(c, msg);
    }
    if (c->npos) *c->npos = np;
    return -1;
}

int tt_opt_check_threads(const char *verb, const int *threads, int n, bool oversubscribe)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 0; i < n && !oversubscribe && cpus > 0; i++)
        if (threads[i] > cpus) {
            fprintf(stderr, "tritune %s: %d threads on %ld online CPUs: the spinning thread pool would wait for time "
                            "slices and time the scheduler (--oversubscribe to run it anyway)\n", verb, threads[i], cpus);
            return 2;
        }
    return -1;
}

int tt_opt_check_memory(const char *verb, double bytes, const char *what)
{
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    double phys = pages > 0 && psz > 0 ? (double)pages * (double)psz : 0;
    if (phys > 0 && bytes > phys / 2) {
        fprintf(stderr, "tritune %s: %s would take %.1f GiB, more than half of this machine's %.1f GiB\n", verb, what,
                bytes / (1 << 30), phys / (1 << 30));
        return 2;
    }
    return -1;
}

int tt_opt_check_writable(const char *verb, const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (access(dir, W_OK)) {
        fprintf(stderr, "tritune %s: cannot write %s: folder %s %s\n", verb, path, dir,
                errno == ENOENT ? "does not exist" : "is not writable");
        return 2;
    }
    return -1;
}
