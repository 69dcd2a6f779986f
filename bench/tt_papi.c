/* tt_papi.c — PAPI event sets for kernel benchmarks; see tt_papi.h. */
#include "tt_papi.h"

#include <papi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The events we want, in report order. L2 data misses are preferred; total L2 misses stand in where the CPU only
 * has those (e.g. several AMD parts). */
static const struct {
    int code;
    const char *name;
} want_events[] = {
    {PAPI_TOT_CYC, "cycles"},     {PAPI_TOT_INS, "instructions"}, {PAPI_L1_DCM, "L1D_misses"},
    {PAPI_L2_DCM, "L2_misses"},   {PAPI_L2_TCM, "L2_misses"},     {PAPI_L3_TCM, "L3_misses"},
};

struct tt_papi {
    int eventset;
    int n;
    int codes[TT_PAPI_MAX_EVENTS];
    const char *names[TT_PAPI_MAX_EVENTS];
    int cycles_idx, ins_idx; /* -1 when absent */
    bool running;
};

static int component_status(const char *name, char *why, size_t len);

static pthread_once_t papi_once = PTHREAD_ONCE_INIT;
static bool papi_lib_ok;      /* PAPI_library_init succeeded */
static bool papi_counters_ok; /* and the CPU component can count */
static char papi_reason[256];
static char papi_version[96];

static void papi_init_once(void)
{
    int v = PAPI_library_init(PAPI_VER_CURRENT);
    if (v != PAPI_VER_CURRENT) {
        snprintf(papi_reason, sizeof papi_reason, "unavailable: PAPI_library_init: %s",
                 v < 0 ? PAPI_strerror(v) : "header/library version mismatch");
        snprintf(papi_version, sizeof papi_version, "PAPI unavailable: %s", papi_reason + 13);
        return;
    }
    papi_lib_ok = true;
    /* Benchmarks may run on any thread of the tuner; PAPI needs a thread id function to keep per-thread state. */
    PAPI_thread_init((unsigned long (*)(void))pthread_self);
    int lib = PAPI_get_opt(PAPI_LIB_VERSION, NULL);
    snprintf(papi_version, sizeof papi_version, "PAPI %d.%d.%d.%d", PAPI_VERSION_MAJOR(lib), PAPI_VERSION_MINOR(lib),
             PAPI_VERSION_REVISION(lib), PAPI_VERSION_INCREMENT(lib));

    char why[200];
    int st = component_status("perf_event", why, sizeof why);
    if (st < 0) {
        snprintf(papi_reason, sizeof papi_reason, "unavailable: this PAPI has no perf_event component");
        return;
    }
    if (st == 0) {
        snprintf(papi_reason, sizeof papi_reason, "unavailable: perf_event component disabled: %s", why);
        return;
    }
    int present = 0;
    for (size_t i = 0; i < sizeof want_events / sizeof want_events[0]; i++)
        present += PAPI_query_event(want_events[i].code) == PAPI_OK;
    if (!present) {
        snprintf(papi_reason, sizeof papi_reason, "unavailable: none of cycles/instructions/cache-miss presets exist");
        return;
    }
    papi_counters_ok = true;
    snprintf(papi_reason, sizeof papi_reason, "available: %d of the wanted preset events exist", present);
}

bool tt_papi_init(char *why, size_t len)
{
    pthread_once(&papi_once, papi_init_once);
    if (why && len)
        snprintf(why, len, "%s", papi_reason);
    return papi_counters_ok;
}

const char *tt_papi_version_string(void)
{
    pthread_once(&papi_once, papi_init_once);
    return papi_version;
}

int tt_papi_component_status(const char *name, char *why, size_t len)
{
    pthread_once(&papi_once, papi_init_once);
    return component_status(name, why, len);
}

/* The body of tt_papi_component_status, callable from inside the pthread_once initialiser. */
static int component_status(const char *name, char *why, size_t len)
{
    if (why && len)
        why[0] = '\0';
    if (!papi_lib_ok || !name) {
        if (why && len)
            snprintf(why, len, "%s", papi_lib_ok ? "no component name" : papi_reason);
        return -1;
    }
    int cidx = PAPI_get_component_index(name);
    if (cidx < 0) {
        if (why && len)
            snprintf(why, len, "PAPI has no %s component", name);
        return -1;
    }
    const PAPI_component_info_t *ci = PAPI_get_component_info(cidx);
    if (!ci) {
        if (why && len)
            snprintf(why, len, "PAPI_get_component_info(%s) failed", name);
        return -1;
    }
    if (ci->disabled) {
        if (why && len)
            snprintf(why, len, "%s", ci->disabled_reason[0] ? ci->disabled_reason : "disabled (no reason given)");
        return 0;
    }
    return 1;
}

tt_papi *tt_papi_open(char *why, size_t len)
{
    if (!tt_papi_init(why, len))
        return NULL;
    tt_papi *p = calloc(1, sizeof *p);
    if (!p) {
        if (why && len)
            snprintf(why, len, "unavailable: out of memory");
        return NULL;
    }
    p->eventset = PAPI_NULL;
    p->cycles_idx = p->ins_idx = -1;
    int rc = PAPI_create_eventset(&p->eventset);
    if (rc != PAPI_OK) {
        if (why && len)
            snprintf(why, len, "unavailable: PAPI_create_eventset: %s", PAPI_strerror(rc));
        free(p);
        return NULL;
    }
    char skipped[160] = "";
    for (size_t i = 0; i < sizeof want_events / sizeof want_events[0] && p->n < TT_PAPI_MAX_EVENTS; i++) {
        bool dup = false;
        for (int j = 0; j < p->n; j++)
            dup |= strcmp(p->names[j], want_events[i].name) == 0;
        if (dup || PAPI_query_event(want_events[i].code) != PAPI_OK)
            continue;
        /* A PMU has few counters; an event that conflicts with those already added is dropped, not fatal. */
        if (PAPI_add_event(p->eventset, want_events[i].code) != PAPI_OK) {
            size_t l = strlen(skipped);
            snprintf(skipped + l, sizeof skipped - l, "%s%s", l ? "," : "", want_events[i].name);
            continue;
        }
        if (want_events[i].code == PAPI_TOT_CYC)
            p->cycles_idx = p->n;
        if (want_events[i].code == PAPI_TOT_INS)
            p->ins_idx = p->n;
        p->codes[p->n] = want_events[i].code;
        p->names[p->n++] = want_events[i].name;
    }
    if (p->n == 0) {
        if (why && len)
            snprintf(why, len, "unavailable: no event could be added to an event set (%s)", skipped);
        tt_papi_close(p);
        return NULL;
    }
    /* Probe once: perf_event_paranoid or a busy PMU make PAPI_start fail only now. */
    long long scratch[TT_PAPI_MAX_EVENTS];
    rc = PAPI_start(p->eventset);
    if (rc != PAPI_OK) {
        if (why && len)
            snprintf(why, len, "unavailable: PAPI_start: %s", PAPI_strerror(rc));
        tt_papi_close(p);
        return NULL;
    }
    PAPI_stop(p->eventset, scratch);
    if (why && len)
        snprintf(why, len, "available: %d events%s%s", p->n, skipped[0] ? ", dropped (conflict): " : "", skipped);
    return p;
}

void tt_papi_close(tt_papi *p)
{
    if (!p)
        return;
    if (p->running) {
        long long scratch[TT_PAPI_MAX_EVENTS];
        PAPI_stop(p->eventset, scratch);
    }
    if (p->eventset != PAPI_NULL) {
        PAPI_cleanup_eventset(p->eventset);
        PAPI_destroy_eventset(&p->eventset);
    }
    free(p);
}

int tt_papi_event_count(const tt_papi *p)
{
    return p ? p->n : 0;
}

const char *tt_papi_event_name(const tt_papi *p, int i)
{
    return p && i >= 0 && i < p->n ? p->names[i] : NULL;
}

tt_status tt_papi_start(tt_papi *p)
{
    if (!p)
        return tt_fail(TT_ERR_NULL, "tt_papi_start: no event set (PAPI unavailable?)");
    if (p->running)
        return tt_fail(TT_ERR_VALUE, "tt_papi_start: event set already running");
    int rc = PAPI_start(p->eventset);
    if (rc != PAPI_OK)
        return tt_fail(TT_ERR_UNSUPPORTED, "PAPI_start: %s", PAPI_strerror(rc));
    p->running = true;
    return TT_OK;
}

tt_status tt_papi_stop(tt_papi *p, long long *values)
{
    if (!p || !values)
        return tt_fail(TT_ERR_NULL, "tt_papi_stop: %s is NULL", !p ? "event set" : "values");
    if (!p->running)
        return tt_fail(TT_ERR_VALUE, "tt_papi_stop: event set not running");
    p->running = false;
    int rc = PAPI_stop(p->eventset, values);
    if (rc != PAPI_OK)
        return tt_fail(TT_ERR_UNSUPPORTED, "PAPI_stop: %s", PAPI_strerror(rc));
    return TT_OK;
}

static bool hook_start(void *ctx)
{
    return ctx && tt_papi_start(ctx) == TT_OK;
}

static int hook_stop(void *ctx, int64_t iters, double bytes_per_iter, tt_gb_counter *out, int max)
{
    tt_papi *p = ctx;
    long long v[TT_PAPI_MAX_EVENTS];
    if (!p || tt_papi_stop(p, v) != TT_OK)
        return 0;
    int n = 0;
    for (int i = 0; i < p->n && n < max; i++, n++) {
        snprintf(out[n].name, sizeof out[n].name, "%s", p->names[i]);
        out[n].value = (double)v[i];
        out[n].per_iteration = true;
    }
    double cyc = p->cycles_idx >= 0 ? (double)v[p->cycles_idx] : 0;
    if (cyc > 0 && p->ins_idx >= 0 && n < max) {
        snprintf(out[n].name, sizeof out[n].name, "IPC");
        out[n].value = (double)v[p->ins_idx] / cyc;
        out[n++].per_iteration = false;
    }
    if (cyc > 0 && bytes_per_iter > 0 && n < max) {
        snprintf(out[n].name, sizeof out[n].name, "bytes_per_cycle");
        out[n].value = bytes_per_iter * (double)iters / cyc;
        out[n++].per_iteration = false;
    }
    return n;
}

void tt_papi_counter_hook(tt_papi *p, tt_gb_counter_hook *out)
{
    if (!out)
        return;
    out->ctx = p;
    out->start = hook_start;
    out->stop = hook_stop;
}
