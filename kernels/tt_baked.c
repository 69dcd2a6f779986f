#include "tt_baked.h"

#include <stdlib.h>
#include <string.h>

__attribute__((weak)) const tt_baked_entry *tt_baked_table(int *n, const char **source)
{
    *n = 0;
    if (source) *source = "none (untuned build: static preference per ISA)";
    return NULL;
}

static const tt_baked_entry *find_entry(int m, int k, int threads)
{
    int n;
    const tt_baked_entry *t = tt_baked_table(&n, NULL);
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
