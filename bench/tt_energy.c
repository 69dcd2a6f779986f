/* tt_energy.c — energy sources (RAPL sysfs, PAPI, perf, model); see tt_energy.h and ENERGY.md. */
#include "tt_energy.h"
#include "tt_papi.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <math.h>
#include <papi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WHY_LEN 320

static const char *const source_names[TT_ENERGY_SOURCE_COUNT] = {
    [TT_ENERGY_RAPL] = "measured-RAPL",
    [TT_ENERGY_PAPI] = "measured-PAPI",
    [TT_ENERGY_PERF] = "measured-perf",
    [TT_ENERGY_ESTIMATED] = "estimated-model",
};

typedef struct rapl_zone {
    char name[32];
    char energy_path[PATH_MAX];
    uint64_t max_range_uj; /* 0: not reported, so a wrap cannot be corrected */
    uint64_t start_uj;
    bool in_total;
} rapl_zone;

typedef struct papi_meter {
    int eventset;
    int n;
    char names[TT_ENERGY_MAX_DOMAINS][32];
    double scale[TT_ENERGY_MAX_DOMAINS]; /* joules per count */
    bool in_total[TT_ENERGY_MAX_DOMAINS];
} papi_meter;

struct tt_energy {
    tt_energy_source source;
    char powercap_root[PATH_MAX];
    char perf_root[PATH_MAX];
    int (*open_fn)(const char *path, int flags);
    char why[TT_ENERGY_SOURCE_COUNT][WHY_LEN]; /* why each source is unusable (or notes on the one used) */
    int nzones;
    rapl_zone zones[TT_ENERGY_MAX_DOMAINS];
    papi_meter papi;
    int perf_fd;
    double perf_scale;
    uint64_t perf_start;
    double t_begin;
    bool begun;
};

const char *tt_energy_source_name(tt_energy_source s)
{
    return (unsigned)s < TT_ENERGY_SOURCE_COUNT ? source_names[s] : "unknown";
}

static double clean(double x)
{
    return isfinite(x) && x > 0 ? x : 0;
}

double tt_energy_estimate(double seconds, double dram_bytes, double ops, int threads)
{
    return TT_ENERGY_W_PER_CORE * (threads > 1 ? threads : 1) * clean(seconds) +
           TT_ENERGY_PJ_PER_DRAM_BYTE * 1e-12 * clean(dram_bytes) + TT_ENERGY_PJ_PER_OP * 1e-12 * clean(ops);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int default_open(const char *path, int flags)
{
    return open(path, flags);
}

/* Reads a small sysfs file into buf (trailing newline removed). Returns 0 or an errno value. */
static int read_text(const tt_energy *e, const char *path, char *buf, size_t len)
{
    int fd = e->open_fn(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno ? errno : EIO;
    ssize_t n = read(fd, buf, len - 1);
    int err = n < 0 ? errno : 0;
    close(fd);
    if (n < 0)
        return err ? err : EIO;
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return n > 0 ? 0 : ENODATA;
}

static int read_u64(const tt_energy *e, const char *path, uint64_t *v)
{
    char buf[64];
    int err = read_text(e, path, buf, sizeof buf);
    if (err)
        return err;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(buf, &end, 10);
    if (errno || end == buf || buf[0] == '-')
        return EINVAL;
    *v = x;
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- 1. RAPL through powercap sysfs ---- */

static bool rapl_probe(tt_energy *e)
{
    char *why = e->why[TT_ENERGY_RAPL];
    DIR *d = opendir(e->powercap_root);
    if (!d) {
        snprintf(why, WHY_LEN, "no %s (%s; kernel without powercap)", e->powercap_root, strerror(errno));
        return false;
    }
    char *names[64];
    int nnames = 0;
    struct dirent *de;
    while ((de = readdir(d)) && nnames < 64)
        /* Only the MSR interface zones: intel-rapl-mmio:* repeats package zones and would double count. */
        if (strncmp(de->d_name, "intel-rapl:", 11) == 0)
            names[nnames++] = strdup(de->d_name);
    closedir(d);
    if (!nnames) {
        snprintf(why, WHY_LEN, "no %s/intel-rapl:* (VM without RAPL)", e->powercap_root);
        return false;
    }
    qsort(names, (size_t)nnames, sizeof names[0], cmp_name);
    int denied = 0, broken = 0;
    char denied_path[PATH_MAX] = "", broken_note[160] = "";
    for (int i = 0; i < nnames; i++) {
        if (!names[i]) {
            broken++;
            continue;
        }
        if (e->nzones == TT_ENERGY_MAX_DOMAINS) {
            free(names[i]);
            continue;
        }
        rapl_zone *z = &e->zones[e->nzones];
        char path[PATH_MAX];
        snprintf(z->energy_path, sizeof z->energy_path, "%s/%s/energy_uj", e->powercap_root, names[i]);
        snprintf(path, sizeof path, "%s/%s/name", e->powercap_root, names[i]);
        if (read_text(e, path, z->name, sizeof z->name))
            snprintf(z->name, sizeof z->name, "%s", names[i]);
        snprintf(path, sizeof path, "%s/%s/max_energy_range_uj", e->powercap_root, names[i]);
        if (read_u64(e, path, &z->max_range_uj))
            z->max_range_uj = 0;
        uint64_t probe;
        int err = read_u64(e, z->energy_path, &probe);
        if (err == EACCES || err == EPERM) {
            denied++;
            snprintf(denied_path, sizeof denied_path, "%s", z->energy_path);
        } else if (err) {
            broken++;
            snprintf(broken_note, sizeof broken_note, "%s/%s/energy_uj: %s", e->powercap_root, names[i],
                     strerror(err));
        } else {
            /* Package zones and DRAM are disjoint; core/uncore sit inside their package, psys covers everything. */
            z->in_total = strncmp(z->name, "package", 7) == 0 || strcmp(z->name, "dram") == 0;
            e->nzones++;
        }
        free(names[i]);
    }
    if (!e->nzones) {
        if (denied)
            snprintf(why, WHY_LEN,
                     "permission denied reading %s (energy_uj is root-only since Linux 5.10, CVE-2020-8694; run as "
                     "root or grant read access)",
                     denied_path);
        else
            snprintf(why, WHY_LEN, "no readable energy_uj under %s/intel-rapl:* (%s)", e->powercap_root,
                     broken_note[0] ? broken_note : "unreadable zones");
        return false;
    }
    int total = 0;
    for (int i = 0; i < e->nzones; i++)
        total += e->zones[i].in_total;
    if (!total) {
        snprintf(why, WHY_LEN, "no package or dram zone among %d readable zones", e->nzones);
        e->nzones = 0;
        return false;
    }
    /* Keep notes on partial availability: the reading is then an undercount and the report should say so. */
    if (denied || broken)
        snprintf(why, WHY_LEN, "%d zone(s) unreadable%s%s", denied + broken, denied ? ", permission denied: " : ": ",
                 denied ? denied_path : broken_note);
    else
        why[0] = '\0';
    return true;
}

/* ---- 2. PAPI rapl / powercap components ---- */

static double unit_scale(const char *units)
{
    if (!strcmp(units, "nJ"))
        return 1e-9;
    if (!strcmp(units, "uJ"))
        return 1e-6;
    if (!strcmp(units, "mJ"))
        return 1e-3;
    if (!strcmp(units, "J"))
        return 1.0;
    return 0;
}

static bool papi_probe(tt_energy *e)
{
    char *why = e->why[TT_ENERGY_PAPI];
    static const char *const comps[] = {"rapl", "powercap"};
    char notes[2][140];
    papi_meter *m = &e->papi;
    m->eventset = PAPI_NULL;
    for (int c = 0; c < 2; c++) {
        char r[120];
        int st = tt_papi_component_status(comps[c], r, sizeof r);
        if (st != 1) {
            snprintf(notes[c], sizeof notes[c], "%s: %s", comps[c], r);
            continue;
        }
        int cidx = PAPI_get_component_index(comps[c]);
        if (PAPI_create_eventset(&m->eventset) != PAPI_OK) {
            snprintf(notes[c], sizeof notes[c], "%s: cannot create an event set", comps[c]);
            m->eventset = PAPI_NULL;
            continue;
        }
        int code = PAPI_NATIVE_MASK;
        int rc = PAPI_enum_cmp_event(&code, PAPI_ENUM_FIRST, cidx);
        while (rc == PAPI_OK && m->n < TT_ENERGY_MAX_DOMAINS) {
            PAPI_event_info_t info;
            if (PAPI_get_event_info(code, &info) == PAPI_OK) {
                const char *s = info.symbol;
                /* Package and DRAM energy only (subzones such as core sit inside a package: no double count). */
                bool want = c == 0 ? (strstr(s, "PACKAGE_ENERGY:") || strstr(s, "DRAM_ENERGY:")) && !strstr(s, "_CNT")
                                   : strstr(s, "ENERGY_UJ:ZONE") && !strstr(s, "SUBZONE");
                double sc = unit_scale(info.units);
                if (want && sc > 0 && PAPI_add_event(m->eventset, code) == PAPI_OK) {
                    const char *shortname = strstr(s, ":::") ? strstr(s, ":::") + 3 : s;
                    snprintf(m->names[m->n], sizeof m->names[m->n], "%s", shortname);
                    m->scale[m->n] = sc;
                    m->in_total[m->n++] = true;
                }
            }
            rc = PAPI_enum_cmp_event(&code, PAPI_ENUM_EVENTS, cidx);
        }
        long long scratch[TT_ENERGY_MAX_DOMAINS];
        if (m->n && PAPI_start(m->eventset) == PAPI_OK && PAPI_stop(m->eventset, scratch) == PAPI_OK) {
            snprintf(why, WHY_LEN, "PAPI %s component, %d event(s)", comps[c], m->n);
            return true;
        }
        snprintf(notes[c], sizeof notes[c], "%s: no usable energy event", comps[c]);
        PAPI_cleanup_eventset(m->eventset);
        PAPI_destroy_eventset(&m->eventset);
        m->eventset = PAPI_NULL;
        m->n = 0;
    }
    snprintf(why, WHY_LEN, "%s; %s", notes[0], notes[1]);
    return false;
}

/* ---- 3. perf power PMU ---- */

static bool perf_probe(tt_energy *e)
{
    char *why = e->why[TT_ENERGY_PERF];
    char path[PATH_MAX], buf[128];
    snprintf(path, sizeof path, "%s/type", e->perf_root);
    uint64_t type;
    int err = read_u64(e, path, &type);
    if (err) {
        snprintf(why, WHY_LEN, "no %s (%s; no RAPL perf PMU)", path, strerror(err));
        return false;
    }
    snprintf(path, sizeof path, "%s/events/energy-pkg", e->perf_root);
    err = read_text(e, path, buf, sizeof buf);
    const char *ev = err ? NULL : strstr(buf, "event=");
    if (!ev) {
        snprintf(why, WHY_LEN, "no energy-pkg event in %s/events", e->perf_root);
        return false;
    }
    uint64_t config = strtoull(ev + 6, NULL, 0);
    snprintf(path, sizeof path, "%s/events/energy-pkg.scale", e->perf_root);
    err = read_text(e, path, buf, sizeof buf);
    double scale = err ? 0 : strtod(buf, NULL);
    if (!(scale > 0)) {
        snprintf(why, WHY_LEN, "no usable %s", path);
        return false;
    }
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.type = (uint32_t)type;
    attr.size = sizeof attr;
    attr.config = config;
    /* RAPL is a package-wide counter: the event must be opened system-wide on a CPU, not for a task. */
    int fd = (int)syscall(SYS_perf_event_open, &attr, -1, 0, -1, 0);
    if (fd < 0) {
        int e2 = errno;
        snprintf(why, WHY_LEN, "perf_event_open(power/energy-pkg/): %s%s", strerror(e2),
                 e2 == EACCES || e2 == EPERM ? " (needs root/CAP_PERFMON or perf_event_paranoid <= 0)" : "");
        return false;
    }
    e->perf_fd = fd;
    e->perf_scale = scale;
    snprintf(why, WHY_LEN, "package of CPU 0 only");
    return true;
}

static int perf_read(const tt_energy *e, uint64_t *v)
{
    return read(e->perf_fd, v, sizeof *v) == (ssize_t)sizeof *v ? 0 : -1;
}

/* ---- selection ---- */

tt_energy *tt_energy_open_ex(const tt_energy_opts *opts)
{
    tt_energy *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    tt_energy_opts o = opts ? *opts : (tt_energy_opts){0};
    snprintf(e->powercap_root, sizeof e->powercap_root, "%s", o.powercap_root ? o.powercap_root : "/sys/class/powercap");
    snprintf(e->perf_root, sizeof e->perf_root, "%s",
             o.perf_power_root ? o.perf_power_root : "/sys/bus/event_source/devices/power");
    e->open_fn = o.open_fn ? o.open_fn : default_open;
    /* Zone paths are root + at most ~60 characters; a longer root would silently truncate them. */
    if (strlen(e->powercap_root) > PATH_MAX - 128)
        snprintf(e->powercap_root, sizeof e->powercap_root, "(powercap root too long)");
    if (strlen(e->perf_root) > PATH_MAX - 128)
        snprintf(e->perf_root, sizeof e->perf_root, "(perf root too long)");
    e->perf_fd = -1;
    e->papi.eventset = PAPI_NULL;
    if (rapl_probe(e))
        e->source = TT_ENERGY_RAPL;
    else if (o.skip_papi ? (snprintf(e->why[TT_ENERGY_PAPI], WHY_LEN, "not tried"), false) : papi_probe(e))
        e->source = TT_ENERGY_PAPI;
    else if (o.skip_perf ? (snprintf(e->why[TT_ENERGY_PERF], WHY_LEN, "not tried"), false) : perf_probe(e))
        e->source = TT_ENERGY_PERF;
    else
        e->source = TT_ENERGY_ESTIMATED;
    return e;
}

tt_energy *tt_energy_open(const char *powercap_root)
{
    tt_energy_opts o = {.powercap_root = powercap_root};
    return tt_energy_open_ex(&o);
}

void tt_energy_close(tt_energy *e)
{
    if (!e)
        return;
    if (e->papi.eventset != PAPI_NULL) {
        long long scratch[TT_ENERGY_MAX_DOMAINS];
        if (e->begun && e->source == TT_ENERGY_PAPI)
            PAPI_stop(e->papi.eventset, scratch);
        PAPI_cleanup_eventset(e->papi.eventset);
        PAPI_destroy_eventset(&e->papi.eventset);
    }
    if (e->perf_fd >= 0)
        close(e->perf_fd);
    free(e);
}

tt_energy_source tt_energy_source_of(const tt_energy *e)
{
    return e ? e->source : TT_ENERGY_ESTIMATED;
}

const char *tt_energy_describe(const tt_energy *e, char *buf, size_t len)
{
    if (!buf || !len)
        return "";
    if (!e) {
        snprintf(buf, len, "no energy handle");
        return buf;
    }
    size_t w = (size_t)snprintf(buf, len, "%s", tt_energy_source_name(e->source));
    if (e->source == TT_ENERGY_RAPL) {
        for (int i = 0; i < e->nzones && w < len; i++)
            w += (size_t)snprintf(buf + w, len - w, "%s%s", i ? ", " : ": ", e->zones[i].name);
        if (e->why[TT_ENERGY_RAPL][0] && w < len)
            w += (size_t)snprintf(buf + w, len - w, " (%s)", e->why[TT_ENERGY_RAPL]);
        return buf;
    }
    if (e->source != TT_ENERGY_ESTIMATED && w < len)
        w += (size_t)snprintf(buf + w, len - w, ": %s", e->why[e->source]);
    static const char *const tag[] = {"RAPL", "PAPI", "perf"};
    for (int s = 0; s < (int)e->source && w < len; s++)
        w += (size_t)snprintf(buf + w, len - w, "%s%s: %s", s ? "; " : " (", tag[s], e->why[s]);
    if (e->source != TT_ENERGY_RAPL && w < len)
        snprintf(buf + w, len - w, ")");
    return buf;
}

tt_status tt_energy_begin(tt_energy *e)
{
    if (!e)
        return tt_fail(TT_ERR_NULL, "tt_energy_begin: handle is NULL");
    if (e->source == TT_ENERGY_RAPL) {
        for (int i = 0; i < e->nzones; i++) {
            int err = read_u64(e, e->zones[i].energy_path, &e->zones[i].start_uj);
            if (err)
                return tt_fail(TT_ERR_IO, "reading %s: %s", e->zones[i].energy_path, strerror(err));
        }
    } else if (e->source == TT_ENERGY_PAPI) {
        if (e->begun) {
            long long scratch[TT_ENERGY_MAX_DOMAINS];
            PAPI_stop(e->papi.eventset, scratch);
        }
        int rc = PAPI_start(e->papi.eventset);
        if (rc != PAPI_OK)
            return tt_fail(TT_ERR_IO, "PAPI_start (energy): %s", PAPI_strerror(rc));
    } else if (e->source == TT_ENERGY_PERF) {
        if (perf_read(e, &e->perf_start))
            return tt_fail(TT_ERR_IO, "reading power/energy-pkg/: %s", strerror(errno));
    }
    e->begun = true;
    e->t_begin = now_s();
    return TT_OK;
}

static void add_domain(tt_energy_reading *r, const char *name, double joules, bool in_total)
{
    if (r->ndomains == TT_ENERGY_MAX_DOMAINS)
        return;
    tt_energy_domain_reading *d = &r->domains[r->ndomains++];
    snprintf(d->name, sizeof d->name, "%s", name);
    d->joules = joules;
    d->in_total = in_total;
    if (in_total)
        r->joules += joules;
}

tt_status tt_energy_end(tt_energy *e, const tt_energy_work *work, tt_energy_reading *out)
{
    if (!e || !out)
        return tt_fail(TT_ERR_NULL, "tt_energy_end: %s is NULL", !e ? "handle" : "reading");
    memset(out, 0, sizeof *out);
    out->source = e->source;
    out->label = tt_energy_source_name(e->source);
    out->estimated = e->source == TT_ENERGY_ESTIMATED;
    if (!e->begun)
        return tt_fail(TT_ERR_VALUE, "tt_energy_end without tt_energy_begin");
    out->seconds = now_s() - e->t_begin;
    e->begun = false;
    tt_status st = TT_OK;
    switch (e->source) {
    case TT_ENERGY_RAPL:
        for (int i = 0; i < e->nzones; i++) {
            rapl_zone *z = &e->zones[i];
            uint64_t now;
            int err = read_u64(e, z->energy_path, &now);
            if (err) {
                st = tt_fail(TT_ERR_IO, "reading %s: %s", z->energy_path, strerror(err));
                continue;
            }
            uint64_t delta;
            if (now >= z->start_uj) {
                delta = now - z->start_uj;
            } else if (z->max_range_uj >= z->start_uj) {
                /* The counter wrapped once at max_energy_range_uj (intervals are far shorter than a wrap period). */
                delta = now + (z->max_range_uj - z->start_uj);
                out->wraps++;
            } else {
                st = tt_fail(TT_ERR_VALUE, "%s went backwards (%llu -> %llu) and no max_energy_range_uj to correct it",
                             z->energy_path, (unsigned long long)z->start_uj, (unsigned long long)now);
                continue;
            }
            add_domain(out, z->name, (double)delta * 1e-6, z->in_total);
        }
        break;
    case TT_ENERGY_PAPI: {
        long long v[TT_ENERGY_MAX_DOMAINS];
        int rc = PAPI_stop(e->papi.eventset, v);
        if (rc != PAPI_OK) {
            st = tt_fail(TT_ERR_IO, "PAPI_stop (energy): %s", PAPI_strerror(rc));
            break;
        }
        for (int i = 0; i < e->papi.n; i++)
            add_domain(out, e->papi.names[i], (double)v[i] * e->papi.scale[i], e->papi.in_total[i]);
        break;
    }
    case TT_ENERGY_PERF: {
        uint64_t now;
        if (perf_read(e, &now)) {
            st = tt_fail(TT_ERR_IO, "reading power/energy-pkg/: %s", strerror(errno));
            break;
        }
        add_domain(out, "energy-pkg", (double)(now - e->perf_start) * e->perf_scale, true); /* 64-bit: no wrap */
        break;
    }
    default: {
        tt_energy_work w = work ? *work : (tt_energy_work){0};
        int threads = w.threads > 1 ? w.threads : 1;
        /* The same three terms as tt_energy_estimate, shown separately so a report can say what dominates. */
        add_domain(out, "model-static", tt_energy_estimate(out->seconds, 0, 0, threads), true);
        add_domain(out, "model-dram", TT_ENERGY_PJ_PER_DRAM_BYTE * 1e-12 * clean(w.dram_bytes), true);
        add_domain(out, "model-ops", TT_ENERGY_PJ_PER_OP * 1e-12 * clean(w.ops), true);
        break;
    }
    }
    out->watts = out->seconds > 0 ? out->joules / out->seconds : 0;
    return st;
}

tt_status tt_energy_idle_watts(tt_energy *e, double seconds, double *watts)
{
    if (!e || !watts)
        return tt_fail(TT_ERR_NULL, "tt_energy_idle_watts: %s is NULL", !e ? "handle" : "watts");
    *watts = 0;
    if (e->source == TT_ENERGY_ESTIMATED)
        return tt_fail(TT_ERR_UNSUPPORTED, "no energy meter: an idle baseline is only measured, never modelled");
    if (!(seconds > 0) || seconds > 60)
        return tt_fail(TT_ERR_VALUE, "idle baseline length %.3g s outside (0, 60]", seconds);
    tt_status st = tt_energy_begin(e);
    if (st != TT_OK)
        return st;
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    tt_energy_reading r;
    st = tt_energy_end(e, NULL, &r);
    if (st == TT_OK)
        *watts = r.watts;
    return st;
}
