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

__attribute__((weak)) const tt_baked_cpu *tt_baked_cpu_of_table(void) { return NULL; }

bool tt_baked_for_this_cpu(char *why, size_t why_n)
{
    const tt_baked_cpu *b = tt_baked_cpu_of_table();
    const tt_cpu *c = tt_cpu_get();
    if (!b || (b->brand && !strcmp(b->brand, c->brand) && b->family == c->family && b->model == c->model)) return true;
    if (why)
        snprintf(why, why_n, "tuned on another CPU (%s, family %d model %d; this is %s, family %d model %d): not used",
                 b->brand ? b->brand : "?", b->family, b->model, c->brand, c->family, c->model);
    return false;
}

static bool tables_apply(void)
{
    static int logged;
    char why[300];
    if (tt_baked_for_this_cpu(why, sizeof why)) return true;
    if (!logged) {
        logged = 1;
        tt_debug("baked tables ignored: %s", why);
    }
    return false;
}

__attribute__((weak)) const tt_baked_gemm *tt_baked_gemm_table(int *n)
{
    *n = 0;
    return NULL;
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
    const tt_baked_gemm *t = (forced && *forced) || !tables_apply() ? NULL : tt_baked_gemm_table(&n), *e = NULL;
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
    const tt_variant *d = e && gemv ? tt_dispatch_default_gemm(fmt, m, k, gemv) : NULL;
    const bool some_fits = d && tt_variant_layouts_agree(d, gemv); /* can any GEMM here read gemv's bytes? */
    const tt_variant *v = NULL;
    if (w && (!gemv || tt_variant_layouts_agree(w, gemv))) {
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
    const tt_baked_entry *t = tt_baked_table(&n, NULL);
    if (!tables_apply()) n = 0;
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
            tt_debug("pick %s %dx%d t%d -> %s (baked winner)", tt_fmt_name(fmt), m, k, threads, v->name);
            return v;
        }
    }
    return tt_dispatch_default(fmt, m, k);
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
    const tt_baked_entry *t = tt_baked_table(&n, NULL);
    if (!tables_apply()) n = 0;
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
