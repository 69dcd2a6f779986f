/* tt_load.h — what else ran on the machine while we measured: the CPU time of other processes (all CPUs' busy time
 * in /proc/stat less this process's own CPU time) and the hypervisor's steal time, between two snapshots. A
 * benchmark taken while another process keeps a core busy, or while the VM loses time to its host, times the
 * contention, not the kernel: the tuner re-measures such an entry and flags it if the load stays. */
#ifndef TT_LOAD_H
#define TT_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tt_load_snap {
    bool ok;                 /* /proc/stat was readable */
    double wall_s;           /* CLOCK_MONOTONIC */
    double self_cpu_s;       /* this process, all threads (CLOCK_PROCESS_CPUTIME_ID) */
    double busy_s, steal_s;  /* all CPUs: user+nice+system+irq+softirq, and steal, in seconds */
} tt_load_snap;

typedef struct tt_load {
    bool known;          /* both snapshots read /proc/stat */
    double wall_s;
    double others_cpus;  /* average number of CPUs other processes kept busy, >= 0 */
    double steal_cpus;   /* average number of CPUs the hypervisor took */
} tt_load;

/* Another process kept at least this many CPUs busy on average: the measurement is contended. */
#define TT_LOAD_OTHERS_MAX 0.25
/* The hypervisor took at least this many CPUs on average (time stolen from our VM). */
#define TT_LOAD_STEAL_MAX 0.10

void tt_load_snap_now(tt_load_snap *s);
void tt_load_between(const tt_load_snap *a, const tt_load_snap *b, tt_load *out);
/* Whether out shows interference; why (optional) says what, e.g. "other processes kept 0.98 CPUs busy". */
bool tt_load_interfered(const tt_load *l, char *why, size_t why_n);

/* Parse the aggregate "cpu" line of /proc/stat text (ticks at hz per second) into busy and steal seconds. */
bool tt_load_parse_stat(const char *text, double hz, double *busy_s, double *steal_s);

#ifdef __cplusplus
}
#endif
#endif
