/* tt_load.c — see tt_load.h. */
#include "tt_load.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool tt_load_parse_stat(const char *text, double hz, double *busy_s, double *steal_s)
{
    const char *p = strstr(text, "cpu ");
    if (!p || (p != text && p[-1] != '\n') || !(hz > 0)) return false;
    unsigned long long v[10] = {0};
    int n = sscanf(p + 4, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &v[6], &v[7], &v[8], &v[9]);
    if (n < 4) return false;
    /* user nice system idle iowait irq softirq steal guest guest_nice; guest time is already inside user */
    *busy_s = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / hz;
    *steal_s = (double)v[7] / hz;
    return true;
}

void tt_load_snap_now(tt_load_snap *s)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    s->wall_s = (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    s->self_cpu_s = (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
    char buf[512];
    FILE *f = fopen("/proc/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = 0;
    long hz = sysconf(_SC_CLK_TCK);
    s->ok = n > 0 && tt_load_parse_stat(buf, (double)(hz > 0 ? hz : 100), &s->busy_s, &s->steal_s);
}

void tt_load_between(const tt_load_snap *a, const tt_load_snap *b, tt_load *out)
{
    *out = (tt_load){.known = a->ok && b->ok, .wall_s = b->wall_s - a->wall_s};
    if (!out->known || !(out->wall_s > 0)) {
        out->known = false;
        return;
    }
    double others = (b->busy_s - a->busy_s) - (b->self_cpu_s - a->self_cpu_s);
    /* /proc/stat ticks are coarse (10 ms): a short window can show a little negative "others" */
    out->others_cpus = others > 0 ? others / out->wall_s : 0;
    out->steal_cpus = b->steal_s > a->steal_s ? (b->steal_s - a->steal_s) / out->wall_s : 0;
}

bool tt_load_interfered(const tt_load *l, char *why, size_t why_n)
{
    char own[2];
    if (!why) why = own, why_n = sizeof own;
    why[0] = 0;
    if (!l->known) return false;
    if (l->others_cpus >= TT_LOAD_OTHERS_MAX)
        snprintf(why, why_n, "other processes kept %.2f CPUs busy", l->others_cpus);
    else if (l->steal_cpus >= TT_LOAD_STEAL_MAX)
        snprintf(why, why_n, "the hypervisor stole %.2f CPUs", l->steal_cpus);
    return why[0] != 0;
}
