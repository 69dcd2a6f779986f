/* tt_load: the /proc/stat reader on fabricated text, the load between two snapshots, the interference rule, and a
 * live snapshot pair around a busy loop of this process (its own CPU time is not "others"). */
#include "tt_load.h"
#include "tt_test.h"

#include <math.h>
#include <time.h>

int main(void)
{
    double busy, steal;
    /* user nice system idle iowait irq softirq steal guest guest_nice, at 100 ticks per second */
    const char *stat = "cpu  1000 50 250 9000 30 10 40 20 0 0\ncpu0 500 25 125 4500 15 5 20 10 0 0\nintr 1 2 3\n";
    CHECK(tt_load_parse_stat(stat, 100, &busy, &steal) && fabs(busy - 13.5) < 1e-9 && fabs(steal - 0.2) < 1e-9);
    CHECK(!tt_load_parse_stat("cpu0 1 2 3 4\n", 100, &busy, &steal));  /* no aggregate line */
    CHECK(!tt_load_parse_stat("cpu  1 2\n", 100, &busy, &steal));      /* truncated */
    CHECK(!tt_load_parse_stat("xcpu  1 2 3 4\n", 100, &busy, &steal)); /* not at a line start */
    CHECK(tt_load_parse_stat("cpu  1 2 3 4\n", 100, &busy, &steal) && fabs(busy - 0.06) < 1e-9 && steal == 0);

    /* 10 s of wall time: all CPUs busy 12 s, this process 2 s of it: others kept 1.0 CPU busy */
    tt_load_snap a = {.ok = true, .wall_s = 100, .self_cpu_s = 5, .busy_s = 50, .steal_s = 1};
    tt_load_snap b = {.ok = true, .wall_s = 110, .self_cpu_s = 7, .busy_s = 62, .steal_s = 1.5};
    tt_load l;
    char why[160];
    tt_load_between(&a, &b, &l);
    CHECK(l.known && fabs(l.others_cpus - 1.0) < 1e-9 && fabs(l.steal_cpus - 0.05) < 1e-9);
    CHECK(tt_load_interfered(&l, why, sizeof why) && strstr(why, "1.00 CPUs"));
    b.busy_s = 53.5; /* others 1.5 s over 10 s: 0.15 CPUs, below the threshold */
    tt_load_between(&a, &b, &l);
    CHECK(fabs(l.others_cpus - 0.15) < 1e-9 && !tt_load_interfered(&l, why, sizeof why) && !why[0]);
    b.steal_s = 3; /* the hypervisor took 0.2 CPUs */
    tt_load_between(&a, &b, &l);
    CHECK(tt_load_interfered(&l, why, sizeof why) && strstr(why, "stole"));
    b.busy_s = 51; /* coarse ticks: fewer busy seconds than our own CPU time reads as 0, not negative */
    tt_load_between(&a, &b, &l);
    CHECK(l.others_cpus == 0);
    b.ok = false; /* unreadable /proc/stat: unknown, never "interfered" */
    tt_load_between(&a, &b, &l);
    CHECK(!l.known && !tt_load_interfered(&l, why, sizeof why));

    /* live: our own busy loop is not someone else's load */
    tt_load_snap_now(&a);
    if (!a.ok) {
        printf("load: /proc/stat unreadable here; live check skipped\n");
    } else {
        volatile double x = 0;
        struct timespec t0, t1; /* spin until this process has used 0.2 s of CPU, however busy the machine is */
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
        do {
            for (int i = 0; i < 100000; i++) x += i * 1e-9;
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
        } while ((t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec) < 0.2);
        tt_load_snap_now(&b);
        tt_load_between(&a, &b, &l);
        /* our own CPU time is counted as ours: "others" excludes it (other processes may add their own) */
        CHECK(l.known && b.self_cpu_s - a.self_cpu_s >= 0.2 && l.wall_s >= 0.2 && l.others_cpus >= 0);
        printf("load: live 0.2 CPU s busy loop: self %.2f CPU s, others %.2f CPUs, steal %.2f CPUs\n",
               b.self_cpu_s - a.self_cpu_s, l.others_cpus, l.steal_cpus);
    }
    return tt_test_end("load");
}
