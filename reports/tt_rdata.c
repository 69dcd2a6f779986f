/* Reading results files for reports: every reader is defensive (a report about a half-finished run is still a
 * report), and says what it could not read. */
#include "tt_rdata.h"
#include "tt_rstats.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- JSON helpers ---- */
json_t *tt_jget(json_t *o, const char *path)
{
    char key[128];
    while (o && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof key) return NULL;
        memcpy(key, path, n);
        key[n] = 0;
        o = json_is_object(o) ? json_object_get(o, key) : NULL;
        path += n + (dot != NULL);
    }
    return o;
}

const char *tt_jstr(json_t *o, const char *path, const char *def)
{
    json_t *v = tt_jget(o, path);
    return json_is_string(v) ? json_string_value(v) : def;
}

double tt_jnum(json_t *o, const char *path, double def)
{
    json_t *v = tt_jget(o, path);
    return json_is_number(v) ? json_number_value(v) : def;
}

static json_t *load_json(const char *path, char *problem, size_t len)
{
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j) {
        struct stat st;
        if (stat(path, &st)) snprintf(problem, len, "%s: %s", path, strerror(errno));
        else snprintf(problem, len, "%s: not valid JSON (line %d column %d: %s)", path, err.line, err.column, err.text);
    } else if (!json_is_object(j)) {
        snprintf(problem, len, "%s: top level is not an object", path);
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* ---- Google Benchmark JSON ---- */
static double unit_to_ns(const char *u)
{
    if (!u || !strcmp(u, "ns")) return 1;
    if (!strcmp(u, "us")) return 1e3;
    if (!strcmp(u, "ms")) return 1e6;
    if (!strcmp(u, "s")) return 1e9;
    return 0;
}

/* GB appends "/min_time:0.050", "/repeats:10", "/iterations:N", "/threads:N", "/real_time", ... to run names. */
static void clean_name(const char *in, char *out, size_t len)
{
    snprintf(out, len, "%s", in);
    for (;;) {
        char *slash = strrchr(out, '/');
        if (!slash) break;
        const char *last = slash + 1;
        if (strchr(last, ':') || !strcmp(last, "real_time") || !strcmp(last, "process_time") ||
            !strcmp(last, "manual_time"))
            *slash = 0;
        else
            break;
    }
}

/* <variant>/<M>x<K>/t<T>/<cold|warm> */
static void parse_shaped(tt_rgb_bench *b)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", b->name);
    char *parts[4] = {0};
    for (int i = 3; i >= 1; i--) {
        char *s = strrchr(tmp, '/');
        if (!s) return;
        *s = 0;
        parts[i] = s + 1;
    }
    parts[0] = tmp;
    int m, k, t, used = 0;
    if (sscanf(parts[1], "%dx%d%n", &m, &k, &used) != 2 || parts[1][used]) return;
    if (sscanf(parts[2], "t%d%n", &t, &used) != 1 || parts[2][used]) return;
    if (strcmp(parts[3], "cold") && strcmp(parts[3], "warm")) return;
    if (m < 1 || k < 1 || t < 1 || !*parts[0]) return;
    snprintf(b->variant, sizeof b->variant, "%.159s", parts[0]);
    snprintf(b->regime, sizeof b->regime, "%s", parts[3]);
    b->m = m, b->k = k, b->threads = t;
    b->shaped = true;
}

static tt_rgb_bench *find_or_add(tt_rgb_file *f, const char *name, const char *race)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->b[i].name, name) && !strcmp(f->b[i].race, race)) return &f->b[i];
    if (f->n == f->cap) {
        int cap = f->cap ? 2 * f->cap : 32;
        tt_rgb_bench *nb = realloc(f->b, sizeof *nb * (size_t)cap);
        if (!nb) return NULL;
        f->b = nb, f->cap = cap;
    }
    tt_rgb_bench *b = &f->b[f->n++];
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", name);
    snprintf(b->race, sizeof b->race, "%s", race);
    parse_shaped(b);
    return b;
}

static bool add_rep(tt_rgb_bench *b, double t_ns, double bps)
{
    if (b->n == b->cap) {
        int cap = b->cap ? 2 * b->cap : 16;
        double *t = realloc(b->t_ns, sizeof *t * (size_t)cap);
        if (!t) return false;
        b->t_ns = t;
        double *p = realloc(b->bps, sizeof *p * (size_t)cap);
        if (!p) return false;
        b->bps = p;
        b->cap = cap;
    }
    b->t_ns[b->n] = t_ns, b->bps[b->n] = bps;
    b->n++;
    return true;
}

const char *tt_rgb_file_race(const char *file_name)
{
    const char *base = strrchr(file_name, '/');
    base = base ? base + 1 : file_name;
    size_t l = strlen(base);
    if (l > 10 && !strcmp(base + l - 10, "_cold.json")) return "cold";
    if (l > 10 && !strcmp(base + l - 10, "_warm.json")) return "warm";
    return "";
}

tt_status tt_rgb_load(const char *path, tt_rgb_file *f) { return tt_rgb_load_race(path, "", f); }

/* GB's bytes_per_second is over CPU time unless the run used real (or manual) time, which GB marks in the name. */
static bool name_real_time(const char *raw)
{
    return strstr(raw, "/real_time") || strstr(raw, "/manual_time");
}

tt_status tt_rgb_load_race(const char *path, const char *race, tt_rgb_file *f)
{
    char problem[512] = "";
    json_t *j = load_json(path, problem, sizeof problem);
    if (!j) return tt_fail(TT_ERR_IO, "%s", problem);
    json_t *arr = json_object_get(j, "benchmarks");
    if (!json_is_array(arr)) {
        json_decref(j);
        return tt_fail(TT_ERR_FORMAT, "%s: no \"benchmarks\" array — not a Google Benchmark JSON file", path);
    }
    size_t i;
    json_t *r;
    tt_status st = TT_OK;
    json_array_foreach(arr, i, r)
    {
        const char *rn = tt_jstr(r, "run_name", NULL), *nm = tt_jstr(r, "name", NULL);
        const char *type = tt_jstr(r, "run_type", "iteration"), *agg = tt_jstr(r, "aggregate_name", "");
        if (!rn && !nm) {
            st = tt_fail(TT_ERR_FORMAT, "%s: benchmarks[%zu] has neither run_name nor name", path, i);
            break;
        }
        char base[256], name[256];
        snprintf(base, sizeof base, "%s", rn ? rn : nm);
        if (!rn && !strcmp(type, "aggregate") && *agg) { /* old files: name = run name + "_" + aggregate */
            size_t bl = strlen(base), al = strlen(agg);
            if (bl > al + 1 && base[bl - al - 1] == '_' && !strcmp(base + bl - al, agg)) base[bl - al - 1] = 0;
        }
        clean_name(base, name, sizeof name);
        tt_rgb_bench *b = find_or_add(f, name, race ? race : "");
        if (!b) {
            st = tt_fail(TT_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
        if (json_is_true(json_object_get(r, "error_occurred"))) {
            b->error = true;
            snprintf(b->error_msg, sizeof b->error_msg, "%s", tt_jstr(r, "error_message", "error"));
            continue;
        }
        double scale = unit_to_ns(tt_jstr(r, "time_unit", "ns"));
        double t = tt_jnum(r, "real_time", NAN) * scale, bps = tt_jnum(r, "bytes_per_second", 0);
        double cpu = tt_jnum(r, "cpu_time", NAN) * scale;
        if (bps > 0 && !name_real_time(rn ? rn : nm)) { /* one GB/s definition: bytes over wall time */
            if (isfinite(cpu) && cpu > 0 && isfinite(t) && t > 0) bps *= cpu / t;
            else bps = 0; /* cannot be put on real time: left out rather than mixed */
            b->bps_from_cpu = true;
        }
        if (!(scale > 0) || !isfinite(t)) {
            st = tt_fail(TT_ERR_FORMAT, "%s: benchmarks[%zu] (%s) has no real_time or an unknown time_unit", path, i,
                         name);
            break;
        }
        if (!strcmp(type, "aggregate")) {
            if (!strcmp(agg, "median")) b->agg_median_ns = t, b->agg_bps = bps;
        } else if (!add_rep(b, t, bps)) {
            st = tt_fail(TT_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
    }
    json_decref(j);
    return st;
}

void tt_rgb_free(tt_rgb_file *f)
{
    for (int i = 0; i < f->n; i++) free(f->b[i].t_ns), free(f->b[i].bps);
    free(f->b);
    memset(f, 0, sizeof *f);
}

double tt_rgb_median_ns(const tt_rgb_bench *b)
{
    if (b->n) return tt_rstat_median(b->t_ns, b->n);
    return b->agg_median_ns > 0 ? b->agg_median_ns : NAN;
}

double tt_rgb_gbps(const tt_rgb_bench *b)
{
    double v = b->n ? tt_rstat_median(b->bps, b->n) : b->agg_bps;
    return v > 0 ? v / 1e9 : 0;
}

/* ---- End-to-end rows ---- */
static void add_problem(char *buf, size_t len, const char *fmt, const char *what)
{
    size_t n = strlen(buf);
    if (n + 3 >= len) return;
    snprintf(buf + n, len - n, "%s", n ? "; " : "");
    n = strlen(buf);
    snprintf(buf + n, len - n, fmt, what);
}

/* A key under either of two names: the llama-bench-like spelling, or bench-e2e's own (tritune-e2e/1). */
static double num2(json_t *o, const char *a, const char *b)
{
    double v = tt_jnum(o, a, NAN);
    return isfinite(v) ? v : tt_jnum(o, b, NAN);
}

tt_status tt_re2e_load(const char *path, tt_re2e *e)
{
    memset(e, 0, sizeof *e);
    json_t *j = load_json(path, e->problems, sizeof e->problems);
    if (!j) return TT_OK;
    snprintf(e->path, sizeof e->path, "%s", path);
    snprintf(e->model, sizeof e->model, "%s", tt_jstr(j, "model", ""));
    snprintf(e->lm_head, sizeof e->lm_head, "%s", tt_jstr(j, "lm_head", ""));
    snprintf(e->commit, sizeof e->commit, "%s", tt_jstr(j, "commit", ""));
    snprintf(e->date, sizeof e->date, "%s", tt_jstr(j, "date", ""));
    snprintf(e->cpu_id, sizeof e->cpu_id, "%s", tt_jstr(j, "cpu_id", ""));
    snprintf(e->version, sizeof e->version, "%s", tt_jstr(j, "tritune_version", ""));
    snprintf(e->winners, sizeof e->winners, "%s", tt_jstr(j, "winners", ""));
    json_t *dg = json_object_get(j, "model_digest");
    snprintf(e->model_digest, sizeof e->model_digest, "%s",
             json_is_string(dg) ? json_string_value(dg) : tt_jstr(dg, "value", ""));
    e->size_bytes = tt_jnum(j, "size_bytes", NAN);
    e->params = tt_jnum(j, "params", NAN);
    json_t *rows = json_object_get(j, "rows");
    if (!json_is_array(rows)) {
        add_problem(e->problems, sizeof e->problems, "%s: no \"rows\" array (keys differ from the expected "
                                                     "llama-bench-like layout)", path);
        json_decref(j);
        return TT_OK;
    }
    e->rows = calloc(json_array_size(rows) + 1, sizeof *e->rows);
    if (!e->rows) {
        json_decref(j);
        return tt_fail(TT_ERR_NOMEM, "e2e rows");
    }
    bool miss_energy = false, miss_src = false, miss_bw = false;
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        const char *test = tt_jstr(r, "test", NULL);
        double thr = num2(r, "threads", "n_threads"), ts = num2(r, "ts_mean", "avg_ts");
        if (!e->model[0]) snprintf(e->model, sizeof e->model, "%s", tt_jstr(r, "model", ""));
        if (!e->lm_head[0]) snprintf(e->lm_head, sizeof e->lm_head, "%s", tt_jstr(r, "lm_head", ""));
        if (!isfinite(e->size_bytes)) e->size_bytes = tt_jnum(r, "model_size", NAN);
        if (!isfinite(e->params)) e->params = tt_jnum(r, "model_n_params", NAN);
        if (!e->kernel[0]) snprintf(e->kernel, sizeof e->kernel, "%s", tt_jstr(r, "kernel", ""));
        if (!test || !isfinite(thr) || !isfinite(ts)) {
            char what[64];
            snprintf(what, sizeof what, "rows[%zu]", i);
            add_problem(e->problems, sizeof e->problems, "%s lacks test, threads or ts_mean (skipped)", what);
            continue;
        }
        tt_re2e_row *w = &e->rows[e->n++];
        snprintf(w->test, sizeof w->test, "%s", test);
        w->threads = (int)thr;
        w->ts_mean = ts;
        w->ts_std = num2(r, "ts_std", "stddev_ts");
        w->bytes_per_token = tt_jnum(r, "bytes_per_token", NAN);
        w->gbps = num2(r, "gbps", "achieved_gbps");
        w->bw_frac = tt_jnum(r, "bw_frac", NAN);
        w->j_per_token = tt_jnum(r, "energy_j_per_token", NAN);
        w->read_ceil_ts = tt_jnum(r, "read_ceiling_ts", NAN);
        w->read_ceil_frac = tt_jnum(r, "ceiling_frac", NAN);
        w->comp_ceil_ts = tt_jnum(r, "compute_ceiling_ts", NAN);
        w->comp_ceil_frac = tt_jnum(r, "compute_ceiling_frac", NAN);
        snprintf(w->energy_source, sizeof w->energy_source, "%s", tt_jstr(r, "energy_source", ""));
        miss_energy |= !isfinite(w->j_per_token);
        miss_src |= isfinite(w->j_per_token) && !w->energy_source[0];
        miss_bw |= !isfinite(w->gbps);
        json_t *s = json_object_get(r, "samples");
        if (!json_is_array(s)) s = json_object_get(r, "samples_ts");
        if (json_is_array(s) && json_array_size(s)) {
            w->samples = calloc(json_array_size(s), sizeof *w->samples);
            if (!w->samples) {
                json_decref(j);
                return tt_fail(TT_ERR_NOMEM, "e2e samples");
            }
            size_t q;
            json_t *v;
            json_array_foreach(s, q, v)
                if (json_is_number(v)) w->samples[w->nsamples++] = json_number_value(v);
        }
    }
    if (miss_energy) add_problem(e->problems, sizeof e->problems, "%s", "some rows have no energy_j_per_token");
    if (miss_src)
        add_problem(e->problems, sizeof e->problems, "%s",
                    "some rows have energy but no energy_source (shown as 'source unknown')");
    if (miss_bw) add_problem(e->problems, sizeof e->problems, "%s", "some rows have no gbps");
    e->present = e->n > 0;
    if (!e->n) add_problem(e->problems, sizeof e->problems, "%s: no usable rows", path);
    json_decref(j);
    return TT_OK;
}

void tt_re2e_free(tt_re2e *e)
{
    for (int i = 0; i < e->n; i++) free(e->rows[i].samples);
    free(e->rows);
    memset(e, 0, sizeof *e);
}

/* ---- Profile ---- */
static void read_role(json_t *o, tt_rrole *r)
{
    memset(r, 0, sizeof *r);
    const char *v = tt_jstr(o, "variant", NULL);
    if (!json_is_object(o) || !v) return;
    r->present = true;
    snprintf(r->variant, sizeof r->variant, "%s", v);
    r->median_ns = tt_jnum(o, "median_ns", NAN);
    r->p25_ns = tt_jnum(o, "p25_ns", NAN);
    r->p75_ns = tt_jnum(o, "p75_ns", NAN);
    r->cv = tt_jnum(o, "cv", NAN);
    r->gbps = tt_jnum(o, "gbps", NAN);
    r->bw_frac = tt_jnum(o, "bw_frac", NAN);
    r->samples = (int)tt_jnum(o, "samples", 0);
}

static void read_profile_entries(tt_bundle *b)
{
    json_t *ents = json_object_get(b->profile, "entries");
    if (!json_is_array(ents)) {
        snprintf(b->profile_problem, sizeof b->profile_problem, "profile.json has no entries array");
        return;
    }
    b->e = calloc(json_array_size(ents) + 1, sizeof *b->e);
    if (!b->e) return;
    size_t i;
    json_t *o;
    json_array_foreach(ents, i, o)
    {
        tt_rentry *e = &b->e[b->ne];
        snprintf(e->shape, sizeof e->shape, "%s", tt_jstr(o, "shape", "?"));
        snprintf(e->split, sizeof e->split, "%s", tt_jstr(o, "split", ""));
        snprintf(e->regime, sizeof e->regime, "%s", tt_jstr(o, "regime", "?"));
        e->m = (int)tt_jnum(o, "m", 0), e->k = (int)tt_jnum(o, "k", 0), e->threads = (int)tt_jnum(o, "threads", 0);
        read_role(json_object_get(o, "winner"), &e->winner);
        read_role(json_object_get(o, "runner_up"), &e->runner_up);
        read_role(json_object_get(o, "baseline"), &e->baseline);
        e->cold_winner_ns = tt_jnum(o, "regimes.cold_winner_ns", 0);
        e->cold_baseline_ns = tt_jnum(o, "regimes.cold_baseline_ns", 0);
        e->warm_winner_ns = tt_jnum(o, "regimes.warm_winner_ns", 0);
        e->warm_baseline_ns = tt_jnum(o, "regimes.warm_baseline_ns", 0);
        e->cold_ceiling_ns = tt_jnum(o, "regimes.cold_ceiling_ns", 0);
        e->candidates = (int)tt_jnum(o, "candidates", 0), e->verified = (int)tt_jnum(o, "verified", 0);
        e->excluded = (int)tt_jnum(o, "excluded", 0), e->rounds = (int)tt_jnum(o, "rounds", 0);
        json_t *fl = tt_jget(o, "conditions.flags"); /* a string (profile 1.2), or an array of strings */
        if (json_is_string(fl)) snprintf(e->flags, sizeof e->flags, "%s", json_string_value(fl));
        size_t q;
        json_t *fv;
        if (json_is_array(fl))
            json_array_foreach(fl, q, fv)
                if (json_is_string(fv) && *json_string_value(fv)) {
                    size_t l = strlen(e->flags);
                    snprintf(e->flags + l, sizeof e->flags - l, "%s%s", l ? ", " : "", json_string_value(fv));
                }
        if (e->m > 0 && e->k > 0 && e->threads > 0 && e->winner.present) b->ne++;
    }
}

static void read_bw(tt_bundle *b, json_t *arr)
{
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o)
    {
        double t = tt_jnum(o, "threads", 0), g = tt_jnum(o, "read_gbps", 0);
        if (t >= 1 && g > 0 && b->nbw < 32) b->bw_threads[b->nbw] = (int)t, b->bw_gbps[b->nbw++] = g;
    }
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void read_gbench(tt_bundle *b)
{
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/gbench", b->dir);
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(b->gbench_problem, sizeof b->gbench_problem, "no %.400s folder", dir);
        return;
    }
    char *names[256];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 256) {
        size_t l = strlen(de->d_name);
        if (l > 5 && !strcmp(de->d_name + l - 5, ".json")) names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str); /* deterministic order */
    for (int i = 0; i < n; i++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (names[i] && tt_rgb_load_race(path, tt_rgb_file_race(names[i]), &b->gb) == TT_OK) b->ngb_files++;
        else snprintf(b->gbench_problem, sizeof b->gbench_problem, "%s", tt_last_error());
        free(names[i]);
    }
    if (!n) snprintf(b->gbench_problem, sizeof b->gbench_problem, "no *.json in %.400s", dir);
}

/* tune.log: every run's header (the "==== tritune tune run ... | regime R | budget Bs" separator of newer runs, else
 * the older "tritune tune on ..., budget Bs" line, which does not name the regime) and the probe's read method. */
static void read_tune_log(tt_bundle *b)
{
    char path[1200], line[2048];
    snprintf(path, sizeof path, "%s/tune.log", b->dir);
    FILE *f = fopen(path, "r");
    if (!f) return;
    bool sep_pending = false; /* a separator was just read: the next "tune on" line is the same run */
    bool prefetch = false;    /* some probe read with prefetch (newer probes keep the better of both readers) */
    bool best_of = false;     /* probes that try plain loads and several prefetch distances ("best of N readers") */
    bool streams = false;     /* probes that also try multi-stream readers ("best of 7 readers") */
    while (fgets(line, sizeof line, f)) {
        const char *p;
        if (!strncmp(line, "==== tritune tune run", 21)) {
            if (b->nruns == 32) continue;
            const char *rg = strstr(line, "| regime "), *bg = strstr(line, "| budget ");
            b->run_budget[b->nruns] = bg ? atof(bg + 9) : 0;
            b->run_regime[b->nruns][0] = 0;
            if (rg) sscanf(rg + 9, "%7[a-z]", b->run_regime[b->nruns]);
            b->nruns++;
            sep_pending = true;
        } else if (strstr(line, "] tritune tune on ") && (p = strstr(line, ", budget "))) {
            if (sep_pending) {
                sep_pending = false;
                continue;
            }
            if (b->nruns == 32) continue;
            b->run_budget[b->nruns] = atof(p + 9);
            b->run_regime[b->nruns][0] = 0;
            const char *rg = strstr(line, ", regime ");
            if (rg) sscanf(rg + 9, "%7[a-z]", b->run_regime[b->nruns]);
            b->nruns++;
        } else if (strstr(line, "] read bandwidth, ") && (p = strstr(line, " MiB, "))) {
            char m[64] = "";
            if (sscanf(p + 6, "%63[^)]", m) == 1) snprintf(b->bw_method, sizeof b->bw_method, "%s", m);
            prefetch |= strstr(m, "prefetch") != NULL;
            best_of |= strstr(m, "best of") != NULL;
            streams |= strstr(m, "best of 7") != NULL;
        }
    }
    fclose(f);
    if (best_of && streams)
        snprintf(b->bw_method, sizeof b->bw_method,
                 "plain, 0.5-8 KiB prefetch and 2-4-stream readers (best kept)");
    else if (best_of)
        snprintf(b->bw_method, sizeof b->bw_method, "plain and 0.5-8 KiB prefetching readers (best kept)");
    else if (prefetch) snprintf(b->bw_method, sizeof b->bw_method, "with and without prefetch (the better kept)");
}

tt_status tt_bundle_load(const char *dir, tt_bundle *b)
{
    memset(b, 0, sizeof *b);
    snprintf(b->dir, sizeof b->dir, "%s", dir);
    char path[1200];
    snprintf(path, sizeof path, "%s/machine.json", dir);
    b->machine = load_json(path, b->machine_problem, sizeof b->machine_problem);
    snprintf(path, sizeof path, "%s/profile.json", dir);
    b->profile = load_json(path, b->profile_problem, sizeof b->profile_problem);
    if (!b->machine && !b->profile)
        return tt_fail(TT_ERR_NOTFOUND, "%s: neither machine.json nor profile.json is readable (%s; %s)", dir,
                       b->machine_problem, b->profile_problem);
    if (b->profile) {
        const char *schema = tt_jstr(b->profile, "schema", "");
        const char *ver = tt_jstr(b->profile, "version", "");
        if (strcmp(schema, "tritune-profile") || atoi(ver) != 1) {
            snprintf(b->profile_problem, sizeof b->profile_problem,
                     "profile.json has schema '%s' version '%s'; this report reads tritune-profile 1.x", schema, ver);
            json_decref(b->profile);
            b->profile = NULL;
        } else {
            read_profile_entries(b);
        }
    }
    read_bw(b, json_object_get(b->machine, "membw"));
    if (!b->nbw) read_bw(b, json_object_get(b->profile, "membw"));
    read_gbench(b);
    read_tune_log(b);
    snprintf(path, sizeof path, "%s/e2e_q8.json", dir);
    tt_status st = tt_re2e_load(path, &b->e2e_q8);
    if (st) return st;
    snprintf(path, sizeof path, "%s/e2e.json", dir);
    return tt_re2e_load(path, &b->e2e);
}

void tt_bundle_free(tt_bundle *b)
{
    json_decref(b->machine);
    json_decref(b->profile);
    free(b->e);
    tt_rgb_free(&b->gb);
    tt_re2e_free(&b->e2e);
    tt_re2e_free(&b->e2e_q8);
    memset(b, 0, sizeof *b);
}

double tt_bundle_bw(const tt_bundle *b, int threads)
{
    int best = -1;
    for (int i = 0; i < b->nbw; i++) {
        if (b->bw_threads[i] == threads) return b->bw_gbps[i];
        if (b->bw_threads[i] < threads && (best < 0 || b->bw_threads[i] > b->bw_threads[best])) best = i;
    }
    return best >= 0 ? b->bw_gbps[best] : b->nbw ? b->bw_gbps[0] : 0;
}

const char *tt_bundle_shape_name(const tt_bundle *b, int m, int k)
{
    for (int i = 0; i < b->ne; i++)
        if (b->e[i].m == m && b->e[i].k == k) return b->e[i].shape;
    return NULL;
}

const char *tt_bundle_model(const tt_bundle *b)
{
    const char *m = tt_jstr(b->machine, "tune.model", NULL);
    if (m && *m) return m;
    if (b->e2e.model[0]) return b->e2e.model;
    return tt_jstr(b->profile, "model", "");
}

/* ---- Formatting ---- */
const char *tt_fmt_bytes(double v, char *buf, size_t len)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (!(v > 0)) {
        snprintf(buf, len, "–");
        return buf;
    }
    int u = 0;
    while (v >= 1024 && u < 4) v /= 1024, u++;
    snprintf(buf, len, v == floor(v) ? "%.0f %s" : "%.1f %s", v, unit[u]);
    return buf;
}

const char *tt_fmt_num(double v, int prec, char *buf, size_t len)
{
    if (!isfinite(v) || v <= 0) snprintf(buf, len, "–");
    else snprintf(buf, len, "%.*f", prec, v);
    return buf;
}

tt_status tt_mkdirs(const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1;; p++) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = 0;
            if (mkdir(tmp, 0777) && errno != EEXIST) return tt_fail(TT_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
            *p = c;
            if (!c) break;
        }
    }
    return TT_OK;
}
