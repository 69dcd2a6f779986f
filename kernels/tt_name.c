/* Variant name grammar (gen/GRAMMAR.md). Shared by the generator (which names variants) and the runtime (which
 * parses them): one implementation, so parse(format(x)) == x is a property of this file alone. */
#include "tt_registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const isa_names[TT_ISA_COUNT] = {
    "scalar", "avx2", "avxvnni", "avx512bw", "avx512vnni", "avx512vbmi", "neon", "dotprod", "i8mm", "amx",
};

const char *tt_isa_name(tt_isa i) { return (unsigned)i < TT_ISA_COUNT ? isa_names[i] : "?"; }

int tt_isa_from_name(const char *s)
{
    for (int i = 0; i < TT_ISA_COUNT; i++)
        if (!strcmp(s, isa_names[i])) return i;
    return -1;
}

static const char *const op_names[TT_OP_COUNT] = {"gemv", "gemm"};

const char *tt_op_name(tt_op o) { return (unsigned)o < TT_OP_COUNT ? op_names[o] : "?"; }

int tt_op_from_name(const char *s)
{
    for (int i = 0; i < TT_OP_COUNT; i++)
        if (!strcmp(s, op_names[i])) return i;
    return -1;
}

/* Parameter tokens in name order: prefix + decimal value; a flag token (il, st) has no value. */
typedef struct param_tok {
    const char *prefix;
    size_t off;
    int flag;
} param_tok;

static const param_tok param_toks[] = {
    {"r", offsetof(tt_params, rows), 0},  {"n", offsetof(tt_params, n), 0},
    {"u", offsetof(tt_params, unroll), 0},
    {"f", offsetof(tt_params, fold), 0},  {"bm", offsetof(tt_params, bm), 0},
    {"bk", offsetof(tt_params, bk), 0},   {"lut", offsetof(tt_params, lut), 0},
    {"p", offsetof(tt_params, pf), 0},    {"il", offsetof(tt_params, il), 1},
    {"st", offsetof(tt_params, st), 1},
};
#define N_TOKS (int)(sizeof param_toks / sizeof param_toks[0])

/* Which tokens each (format, op)'s names carry (always, even when 0, so names are uniform within a family).
 * NULL: the op does not exist for that format. */
static const char *const fmt_tokens[TT_OP_COUNT][TT_FMT_COUNT] = {
    [TT_OP_GEMV] = {
        [TT_FMT_I2S] = "r u f p il st",
        [TT_FMT_TL1] = "bm bk lut p",
        [TT_FMT_TL2] = "bm bk lut p",
        [TT_FMT_B3] = "r lut p st",
    },
    [TT_OP_GEMM] = {
        [TT_FMT_I2S] = "r n u f p il",
    },
};

static int *field(tt_params *p, int t) { return (int *)((char *)p + param_toks[t].off); }

static int fmt_has_token(tt_op op, tt_fmt f, const char *prefix)
{
    const char *s = (unsigned)op < TT_OP_COUNT ? fmt_tokens[op][f] : NULL;
    if (!s) return 0;
    size_t n = strlen(prefix);
    while (*s) {
        if (!strncmp(s, prefix, n) && (s[n] == ' ' || s[n] == 0)) return 1;
        while (*s && *s != ' ') s++;
        while (*s == ' ') s++;
    }
    return 0;
}

int tt_name_format(const tt_name_parts *x, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "tt_%s_%s", tt_fmt_name(x->fmt), tt_op_name(x->op));
    tt_params p = x->p;
    for (int t = 0; t < N_TOKS; t++) {
        if (!fmt_has_token(x->op, x->fmt, param_toks[t].prefix)) continue;
        int v = *field(&p, t);
        if (param_toks[t].flag) {
            if (v) n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "_%s", param_toks[t].prefix);
        } else {
            n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "_%s%d", param_toks[t].prefix, v);
        }
    }
    n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "__%s%s%s", tt_isa_name(x->isa), x->trick[0] ? "_" : "",
                          x->trick);
    return (int)n;
}

bool tt_name_parse(const char *name, tt_name_parts *x)
{
    memset(x, 0, sizeof *x);
    char buf[192];
    if (!name || strlen(name) >= sizeof buf) return tt_fail(TT_ERR_FORMAT, "name too long or NULL"), false;
    strcpy(buf, name);
    char *where = strstr(buf, "__");
    if (strncmp(buf, "tt_", 3) || !where) return tt_fail(TT_ERR_FORMAT, "'%s': expected tt_<fmt>_<op>_...__<isa>", name), false;
    *where = 0;
    where += 2;
    char *what = buf + 3, *save = NULL;
    char *tok = strtok_r(what, "_", &save);
    int f = tok ? tt_fmt_from_name(tok) : -1;
    if (f < 0) return tt_fail(TT_ERR_FORMAT, "'%s': unknown format '%s'", name, tok ? tok : ""), false;
    x->fmt = (tt_fmt)f;
    tok = strtok_r(NULL, "_", &save);
    int op = tok ? tt_op_from_name(tok) : -1;
    if (op < 0 || !fmt_tokens[op][x->fmt])
        return tt_fail(TT_ERR_FORMAT, "'%s': expected op 'gemv'%s", name, x->fmt == TT_FMT_I2S ? " or 'gemm'" : ""), false;
    x->op = (tt_op)op;
    int seen = -1;
    while ((tok = strtok_r(NULL, "_", &save))) {
        int matched = 0;
        for (int t = 0; t < N_TOKS && !matched; t++) {
            size_t pl = strlen(param_toks[t].prefix);
            if (strncmp(tok, param_toks[t].prefix, pl)) continue;
            const char *v = tok + pl;
            if (param_toks[t].flag ? *v != 0 : (*v < '0' || *v > '9')) continue;
            if (t <= seen) return tt_fail(TT_ERR_FORMAT, "'%s': parameter '%s' out of order", name, tok), false;
            if (!fmt_has_token(x->op, x->fmt, param_toks[t].prefix))
                return tt_fail(TT_ERR_FORMAT, "'%s': %s %s takes no '%s'", name, tt_fmt_name(x->fmt), tt_op_name(x->op), tok), false;
            char *end;
            long val = param_toks[t].flag ? 1 : strtol(v, &end, 10);
            if (!param_toks[t].flag && (*end || val > 1 << 20))
                return tt_fail(TT_ERR_FORMAT, "'%s': bad value in '%s'", name, tok), false;
            *field(&x->p, t) = (int)val;
            seen = t;
            matched = 1;
        }
        if (!matched) return tt_fail(TT_ERR_FORMAT, "'%s': unknown parameter '%s'", name, tok), false;
    }
    char *trick = strchr(where, '_');
    if (trick) *trick++ = 0;
    int isa = tt_isa_from_name(where);
    if (isa < 0) return tt_fail(TT_ERR_FORMAT, "'%s': unknown ISA '%s'", name, where), false;
    x->isa = (tt_isa)isa;
    if (trick) {
        if (!*trick || strlen(trick) >= sizeof x->trick)
            return tt_fail(TT_ERR_FORMAT, "'%s': bad trick suffix", name), false;
        strcpy(x->trick, trick);
    }
    /* Canonical form: re-formatting must give the same string (rejects missing or extra tokens). */
    char again[192];
    tt_name_format(x, again, sizeof again);
    if (strcmp(again, name)) return tt_fail(TT_ERR_FORMAT, "'%s' is not canonical (expected '%s')", name, again), false;
    return true;
}
