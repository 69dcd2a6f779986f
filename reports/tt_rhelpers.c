/* tt_rhelpers.c — small helpers every `tritune report` file shares (tt_report_int.h); they call nothing in the
 * report files themselves, so report → charts/index → helpers has no cycle. */
#include "tt_report_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *tt_rep_us(double ns, char *buf, size_t len)
{
    double us = ns / 1e3;
    if (!isfinite(us) || us <= 0) snprintf(buf, len, "–");
    else snprintf(buf, len, us >= 1000 ? "%.0f" : us >= 100 ? "%.1f" : us >= 10 ? "%.2f" : "%.3f", us);
    return buf;
}

double tt_rep_bytes(const tt_rrole *r)
{
    return r->present && r->gbps > 0 && r->median_ns > 0 ? r->gbps * r->median_ns : 0;
}

static const tt_bundle *order_b;
static int order_rank(const tt_rentry *e)
{
    for (int i = 0; i < order_b->ne; i++)
        if (!strcmp(order_b->e[i].shape, e->shape) && order_b->e[i].m == e->m && order_b->e[i].k == e->k) return i;
    return 0;
}

static int cmp_order(const void *a, const void *b)
{
    const tt_rentry *x = &order_b->e[*(const int *)a], *y = &order_b->e[*(const int *)b];
    int rx = order_rank(x), ry = order_rank(y);
    if (rx != ry) return rx - ry;
    if (x->threads != y->threads) return x->threads - y->threads;
    int c = strcmp(x->regime, y->regime); /* cold race before warm race: one labelled row each, never merged */
    if (c) return c;
    return *(const int *)a - *(const int *)b;
}

int *tt_rep_order(const tt_bundle *b)
{
    int *ix = malloc(sizeof *ix * (size_t)(b->ne + 1));
    if (!ix) return NULL;
    for (int i = 0; i < b->ne; i++) ix[i] = i;
    order_b = b; /* qsort has no context argument; reports are single-threaded */
    qsort(ix, (size_t)b->ne, sizeof *ix, cmp_order);
    return ix;
}

void tt_rep_energy_note(FILE *md, const char *source, json_t *machine)
{
    const char *detail = tt_jstr(machine, "energy.detail", "");
    if (!source || !*source) {
        fprintf(md, "- **source unknown**: the results file gives energy without naming its source; treat those "
                    "numbers as unverified.\n");
    } else if (!strcmp(source, "estimated-model")) {
        fprintf(md, "- **estimated-model** — *not a measurement*: this machine exposes no readable energy meter "
                    "(no RAPL powercap zones, no PAPI or perf energy events%s%s%s), so J/token comes from the model "
                    "in bench/ENERGY.md: static core power × threads × time + DRAM energy per byte moved + energy "
                    "per operation.\n",
                *detail ? "; probe: " : "", detail, "");
    } else if (!strncmp(source, "measured-", 9)) {
        fprintf(md, "- **%s** — measured with the CPU's energy counters%s%s.\n", source, *detail ? ": " : "", detail);
    } else {
        fprintf(md, "- **%s** — source as recorded by the run%s%s.\n", source, *detail ? ": " : "", detail);
    }
}
