#include "tt_baked.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((weak)) const tt_baked_entry *tt_baked_table(int *n, const char **source)
{
    *n = 0;
    if (source) *source = "none (untuned build: static preference per ISA)";
    return NULL;
}

__attribute__((weak)) const tt_cpu_id *tt_baked_cpu_of_table(void) { return NULL; }

bool tt_baked_for_this_cpu(char *why, size_t why_n)
{
    const tt_cpu_id *b = tt_baked_cpu_of_table();
    if (why && why_n) why[0] = 0;
    if (!b) return true;
    tt_cpu_id here;
    tt_cpu_id_current(&here);
    return tt_cpu_id_match(b, &here, why, why_n) != TT_ID_OTHER;
}

static bool tables_apply(void)
{
    static int logged;
    char why[400];
    bool ok = tt_baked_for_this_cpu(why, sizeof why);
    if (!logged && why[0]) {
        logged = 1;
        tt_debug("baked tables %s: %s", ok ? "used" : "ignored", why);
    }
    return ok;
}

/* The runtime wisdom (tt_wisdom_install): owned copies. */
static struct tt_wisdom_saved {
    bool set;
    tt_baked_entry *e;
    int n;
    tt_baked_gemm *g;
    int ng;
    tt_baked_head *h;
    int nh;
    char *source;
} rt;

static void rt_clear(void)
{
    for (int i = 0; i < rt.n; i++) free((char *)rt.e[i].variant);
    for (int i = 0; i < rt.ng; i++) free((char *)rt.g[i].winner), free((char *)rt.g[i].shared);
    for (int i = 0; i < rt.nh; i++) free((char *)rt.h[i].variant);
    free(rt.e), free(rt.g), free(rt.h), free(rt.source);
    memset(&rt, 0, sizeof rt);
}

tt_wisdom_saved *tt_wisdom_detach(void)
{
    tt_wisdom_saved *s = malloc(sizeof *s);
    if (!s) return NULL;
    *s = rt;
    memset(&rt, 0, sizeof rt);
    return s;
}

void tt_wisdom_restore(tt_wisdom_saved *s)
{
    rt_clear();
    if (!s) return;
    rt = *s;
    free(s);
}

static char *dup_or_null(const char *s, bool *oom)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d) *oom = true;
    return d;
}

tt_status tt_wisdom_install(const tt_wisdom *w)
{
    rt_clear();
    if (!w) return TT_OK;
    bool oom = false;
    rt.e = calloc((size_t)(w->n ? w->n : 1), sizeof *rt.e);
    rt.g = calloc((size_t)(w->ng ? w->ng : 1), sizeof *rt.g);
    rt.h = calloc((size_t)(w->nh ? w->nh : 1), sizeof *rt.h);
    rt.source = dup_or_null(w->source ? w->source : "wisdom", &oom);
    if (!rt.e || !rt.g || !rt.h) oom = true;
    for (int i = 0; !oom && i < w->n; i++, rt.n++) {
        rt.e[i] = w->e[i];
        rt.e[i].variant = dup_or_null(w->e[i].variant, &oom);
    }
    for (int i = 0; !oom && i < w->ng; i++, rt.ng++) {
        rt.g[i] = w->g[i];
        rt.g[i].winner = dup_or_null(w->g[i].winner, &oom);
        rt.g[i].shared = dup_or_null(w->g[i].shared, &oom);
    }
    for (int i = 0; !oom && i < w->nh; i++, rt.nh++) {
        rt.h[i] = w->h[i];
        rt.h[i].variant = dup_or_null(w->h[i].variant, &oom);
    }
    if (oom) {
        rt_clear();
        return tt_fail(TT_ERR_NOMEM, "wisdom: no memory for %d entries", w->n + w->ng + w->nh);
    }
    rt.set = true;
    tt_debug("wisdom: %d GEMV, %d prefill and %d LM-head winners from %s", rt.n, rt.ng, rt.nh, rt.source);
    return TT_OK;
}

const char *tt_wisdom_source(void)
{
    static char buf[700];
    if (rt.set) return rt.source;
    int n;
    const char *src = NULL;
    tt_baked_table(&n, &src);
    char why[400];
    bool ok = tt_baked_for_this_cpu(why, sizeof why);
    if (!n) return "none: no profile loaded and no baked table (static preference per ISA)";
    snprintf(buf, sizeof buf, "%s%s%s", ok ? "baked " : "none: baked table not used — ", ok ? (src ? src : "?") : why,
             ok && why[0] ? " (brand differs)" : "");
    return buf;
}

/* The GEMV / prefill winners the picks read: the runtime wisdom, else the baked table where it applies. */
static const tt_baked_entry *active_table(int *n)
{
    if (rt.set) {
        *n = rt.n;
        return rt.e;
    }
    const tt_baked_entry *t = tt_baked_table(n, NULL);
    if (!tables_apply()) *n = 0;
    return t;
}

__attribute__((weak)) const tt_baked_gemm *tt_baked_gemm_table(int *n)
{
    *n = 0;
    return NULL;
}

__attribute__((weak)) const tt_baked_head *tt_baked_head_table(int *n)
{
    *n = 0;
    return NULL;
}

const tt_dense_variant *tt_pick_head(tt_dense_kind kind, int m, int k, int threads, char *why, size_t why_n,
                                     bool *untuned)
{
    char own[300];
    if (!why) why = own, why_n = sizeof own;
    int n = 0;
    const tt_baked_head *t = NULL, *e = NULL;
    if (rt.set) t = rt.h, n = rt.nh;
    else if (tables_apply()) t = tt_baked_head_table(&n);
    for (int i = 0; i < n; i++) {
        if (t[i].kind != (int)kind || t[i].m != m || t[i].k != k) continue;
        if (!e || abs(t[i].threads - threads) < abs(e->threads - threads)) e = &t[i];
    }
    const tt_dense_variant *v = e ? tt_dense_variant_find(e->variant) : NULL;
    const bool tuned = v && v->kind == kind && tt_dense_variant_usable(v);
    if (untuned) *untuned = !tuned;
    if (tuned) {
        snprintf(why, why_n, "%s head winner at %d thread%s, %.2f ms/pass", rt.set ? "wisdom" : "baked", e->threads,
                 e->threads == 1 ? "" : "s", e->median_ns / 1e6);
    } else {
        const bool known = v != NULL;
        v = tt_dense_variant_default(kind);
        if (!e) snprintf(why, why_n, "static default: no tuned head winner for this shape");
        else if (!known)
            snprintf(why, why_n, "static default: the tuned head winner %s is not in this build (tune again)",
                     e->variant);
        else snprintf(why, why_n, "static default: the tuned head winner %s is not runnable here", e->variant);
    }
    tt_debug("pick head %s %dx%d t%d -> %s (%s)", tt_dense_kind_name(kind), m, k, threads, v->name, why);
    return v;
}

static const tt_variant *gemm_usable(const char *name, tt_gemm_fn fn)
{
    const tt_variant *v = name ? tt_variant_find(name) : NULL;
    if (!v || v->op != TT_OP_GEMM || v->gemm != fn) return NULL;
    return tt_variant_eligible(v, tt_cpu_get(), NULL, 0) ? v : NULL;
}

const tt_variant *tt_pick_gemm(tt_fmt fmt, int m, int k, int threads, const tt_variant *gemv, char *why, size_t why_n)
{
    char own[300];
    if (!why) why = own, why_n = sizeof own;
    const char *forced = getenv("TRITUNE_GEMM_KERNEL");
    int n = 0;
    const tt_baked_gemm *t = NULL, *e = NULL;
    if (!(forced && *forced)) {
        if (rt.set) t = rt.g, n = rt.ng;
        else if (tables_apply()) t = tt_baked_gemm_table(&n);
    }
    for (int i = 0; i < n; i++) {
        if (t[i].m != m || t[i].k != k) continue;
        if (!e || abs(t[i].threads - threads) < abs(e->threads - threads)) e = &t[i];
    }
    const tt_variant *w = e ? gemm_usable(e->winner, e->winner_fn) : NULL;
    const tt_variant *s = e ? gemm_usable(e->shared, e->shared_fn) : NULL;
    if (w && w->fmt != fmt) w = NULL;
    if (s && s->fmt != fmt) s = NULL;
    /* The table's "shared" kernel was measured against the profile's GEMV winner. When the GEMV kernel here is
     * another one (TRITUNE_KERNEL, another thread count's entry), the second-copy comparison has no measured basis:
     * then the static default, which prefers gemv's bytes, decides. */
    const bool s_fits = s && gemv && tt_variant_layouts_agree(s, gemv);
    const bool cross = w && gemv && gemv->fmt != fmt; /* a TL1/TL2 GEMV: no GEMM reads its bytes */
    const tt_variant *d = e && gemv && !cross ? tt_dispatch_default_gemm(fmt, m, k, gemv) : NULL;
    /* does the static default read gemv's bytes? (Within the default's ISA it prefers a kernel that does; an ISA
     * with no such kernel, AMX, takes a copy of its own anyway.) */
    const bool some_fits = d && tt_variant_layouts_agree(d, gemv);
    const tt_variant *v = NULL;
    if (cross) { /* a second copy is a given */
        v = w;
        snprintf(why, why_n, "baked prefill winner, in its own packed copy (no %s GEMM reads the %s GEMV's bytes)",
                 tt_fmt_name(fmt), tt_fmt_name(gemv->fmt));
    } else if (w && (!gemv || tt_variant_layouts_agree(w, gemv))) {
        v = w;
        snprintf(why, why_n, "baked prefill winner%s", gemv ? ", reads the GEMV kernel's bytes" : "");
    } else if (s_fits && (!w || !(e->winner_ns * TT_GEMM_SECOND_COPY_GAIN <= e->shared_ns))) {
        v = s;
        if (w) snprintf(why, why_n, "baked, on the GEMV kernel's bytes: the winner %s (%.2fx faster) would need a second copy",
                        w->name, e->shared_ns / e->winner_ns);
        else snprintf(why, why_n, "baked, on the GEMV kernel's bytes (the winner is not runnable here)");
    } else if (w && s_fits) {
        v = w;
        snprintf(why, why_n, "baked prefill winner, %.2fx faster than %s: worth its own packed copy",
                 e->shared_ns / e->winner_ns, s->name);
    } else if (w && !s && !some_fits) {
        v = w;
        snprintf(why, why_n, "baked prefill winner, in its own packed copy (no GEMM reads the GEMV kernel's bytes)");
    }
    if (v) {
        tt_debug("pick gemm %s %dx%d t%d -> %s (%s)", tt_fmt_name(fmt), m, k, threads, v->name, why);
        return v;
    }
    v = d ? d : tt_dispatch_default_gemm(fmt, m, k, gemv);
    snprintf(why, why_n, forced && *forced ? "TRITUNE_GEMM_KERNEL or the static default"
                         : e ? "static default (the baked prefill entry was measured against another GEMV kernel)"
                             : "static default (no baked prefill winner)");
    return v;
}

static const tt_baked_entry *find_entry(int m, int k, int threads)
{
    int n;
    const tt_baked_entry *t = active_table(&n);
    const tt_baked_entry *best = NULL;
    for (int i = 0; i < n; i++) {
        if (t[i].m != m || t[i].k != k) continue;
        if (!best || abs(t[i].threads - threads) < abs(best->threads - threads)) best = &t[i];
    }
    return best;
}

/* The entry's variant if this registry has it (same kernel) and this CPU can run it. */
static const tt_variant *entry_usable(const tt_baked_entry *best)
{
    const tt_variant *v = tt_variant_find(best->variant);
    if (!v || v->gemv != best->gemv) return NULL;
    return tt_variant_eligible(v, tt_cpu_get(), NULL, 0) ? v : NULL;
}

const tt_variant *tt_baked_find(int m, int k, int threads)
{
    const tt_baked_entry *e = find_entry(m, k, threads);
    return e ? entry_usable(e) : NULL;
}

int tt_baked_fuse_measured(int m, int k, int threads)
{
    int n;
    const tt_baked_entry *t = active_table(&n);
    for (int i = 0; i < n; i++) /* this thread count only: an arrangement measured at another says nothing here */
        if (t[i].m == m && t[i].k == k && t[i].threads == threads) return t[i].fuse;
    return 0;
}

double tt_baked_median_ns(int m, int k, int threads)
{
    const tt_baked_entry *e = find_entry(m, k, threads);
    return e && e->median_ns > 0 && entry_usable(e) ? e->median_ns : 0;
}

const tt_variant *tt_pick(tt_fmt fmt, int m, int k, int threads)
{
    const char *forced = getenv("TRITUNE_KERNEL");
    if (!(forced && *forced)) {
        const tt_variant *v = tt_baked_find(m, k, threads);
        if (v && v->fmt == fmt) {
            tt_debug("pick %s %dx%d t%d -> %s (%s winner)", tt_fmt_name(fmt), m, k, threads, v->name,
                     rt.set ? "wisdom" : "baked");
            return v;
        }
    }
    return tt_dispatch_default(fmt, m, k);
}

tt_fmt tt_pick_fmt(int m, int k, int threads, char *why, size_t why_n)
{
    char own[200];
    if (!why) why = own, why_n = sizeof own;
    const char *forced = getenv("TRITUNE_KERNEL");
    if (forced && *forced) {
        const tt_variant *v = tt_variant_find(forced);
        if (v && v->op == TT_OP_GEMV && tt_variant_eligible(v, tt_cpu_get(), NULL, 0) && !tt_variant_check_shape(v, m, k)) {
            snprintf(why, why_n, "TRITUNE_KERNEL=%s", v->name);
            return v->fmt;
        }
    }
    const tt_baked_entry *e = find_entry(m, k, threads);
    const tt_variant *v = e ? entry_usable(e) : NULL;
    if (v && !tt_variant_check_shape(v, m, k)) {
        snprintf(why, why_n, "%s winner at %d thread%s: %s", rt.set ? "wisdom" : "baked", e->threads,
                 e->threads == 1 ? "" : "s", v->name);
        return v->fmt;
    }
    tt_fmt f = tt_untuned_fmt(m, k);
    snprintf(why, why_n, "%s%s", e ? "the tuned winner is not runnable here" : "no tuned winner for this shape",
             f == TT_FMT_B3 ? "; untuned guess: B3, its carry decoder runs here" : "");
    return f;
}

/* Untuned: B3 reads 0.8x the bytes of I2_S, and where the carry decoder has 512-bit byte dots it computes faster
 * than one core streams (measured on a 2-core Xeon: 1.08-1.09x I2_S in the model, both untuned; the race is the
 * check everywhere else). */
tt_fmt tt_untuned_fmt(int m, int k)
{
    const tt_cpu *cpu = tt_cpu_get();
    for (int i = 0; i < tt_registry_count; i++) {
        const tt_variant *b = &tt_registry[i];
        if (b->op == TT_OP_GEMV && b->fmt == TT_FMT_B3 && b->exact && b->p.lut == 2 && b->isa == TT_ISA_AVX512VNNI &&
            tt_variant_eligible(b, cpu, NULL, 0) && !tt_variant_check_shape(b, m, k))
            return TT_FMT_B3;
    }
    return TT_FMT_I2S;
}

static bool has_entry(const tt_baked_entry *t, int n, int m, int k, int threads)
{
    for (int i = 0; i < n; i++)
        if (t[i].m == m && t[i].k == k && t[i].threads == threads) return true;
    return false;
}

int tt_baked_best_threads(void)
{
    int n, best = 0;
    const tt_baked_entry *t = active_table(&n);
    double best_total = 0;
    for (int i = 0; i < n; i++) { /* each distinct thread count once */
        bool seen = false;
        for (int j = 0; j < i; j++) seen |= t[j].threads == t[i].threads;
        if (seen) continue;
        double total = 0;
        bool ok = true;
        for (int j = 0; j < n && ok; j++) {
            if (t[j].threads != t[i].threads) continue;
            bool everywhere = true; /* compare like with like: shapes timed at every count */
            for (int c = 0; c < n; c++) everywhere &= has_entry(t, n, t[j].m, t[j].k, t[c].threads);
            if (!everywhere) continue;
            ok = t[j].median_ns > 0;
            total += t[j].median_ns;
        }
        if (ok && total > 0 && (!best || total < best_total)) best = t[i].threads, best_total = total;
    }
    return best;
}
