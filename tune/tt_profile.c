#include "tt_profile.h"
#include "tt_dense.h"
#include "tt_registry.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TT_BUILD_FLAGS
#define TT_BUILD_FLAGS "unknown"
#endif

const char *tt_build_compiler(void)
{
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown";
#endif
}

const char *tt_build_flags(void) { return TT_BUILD_FLAGS; }

void tt_cpu_id_here(tt_cpu_id *id, const tt_topo *topo)
{
    tt_cpu_id_current(id);
    if (topo) {
        id->l1d = topo->l1d_bytes;
        id->l2 = topo->l2_bytes;
        id->l3 = topo->l3_bytes;
        id->cores = topo->cores;
        id->pus = topo->pus;
    }
}

void tt_cpu_id_slug(const tt_cpu_id *id, char *buf, size_t len)
{
    char b[64];
    size_t n = 0;
    for (const char *s = id->brand; *s && n + 1 < sizeof b; s++) {
        char ch = (char)tolower((unsigned char)*s);
        if (isalnum((unsigned char)ch)) b[n++] = ch;
        else if (n && b[n - 1] != '-') b[n++] = '-';
    }
    while (n && b[n - 1] == '-') n--;
    b[n] = 0;
    snprintf(buf, len, "%s-f%dm%d-%dc", n ? b : id->arch, id->family, id->model, id->cores);
}

void tt_profile_init(tt_profile *p) { memset(p, 0, sizeof *p); }

void tt_profile_free(tt_profile *p)
{
    free(p->e);
    free(p->g);
    free(p->h);
    memset(p, 0, sizeof *p);
}

/* Returns a zeroed new last element of a growing array arr (n used, room for cap), or NULL on OOM. */
#define PROF_APPEND(arr, n, cap)                                                                                       \
    do {                                                                                                               \
        if ((n) == (cap)) {                                                                                            \
            int c_ = (cap) ? 2 * (cap) : 16;                                                                           \
            void *g_ = realloc((arr), sizeof *(arr) * (size_t)c_);                                                     \
            if (!g_) return NULL;                                                                                      \
            (arr) = g_;                                                                                                \
            (cap) = c_;                                                                                                \
        }                                                                                                              \
        memset(&(arr)[(n)], 0, sizeof *(arr));                                                                         \
        return &(arr)[(n)++];                                                                                          \
    } while (0)

tt_prof_gemm *tt_profile_add_gemm(tt_profile *p) { PROF_APPEND(p->g, p->ng, p->gcap); }

const tt_prof_gemm *tt_profile_find_gemm(const tt_profile *p, int m, int k, int threads)
{
    for (int i = 0; i < p->ng; i++)
        if (p->g[i].m == m && p->g[i].k == k && p->g[i].threads == threads) return &p->g[i];
    return NULL;
}

tt_prof_head *tt_profile_add_head(tt_profile *p) { PROF_APPEND(p->h, p->nh, p->hcap); }

const tt_prof_head *tt_profile_find_head(const tt_profile *p, const char *kind, int m, int k, int threads)
{
    for (int i = 0; i < p->nh; i++)
        if (!strcmp(p->h[i].kind, kind) && p->h[i].m == m && p->h[i].k == k && p->h[i].threads == threads)
            return &p->h[i];
    return NULL;
}

tt_prof_entry *tt_profile_add(tt_profile *p) { PROF_APPEND(p->e, p->n, p->cap); }

const tt_prof_entry *tt_profile_find(const tt_profile *p, int m, int k, int threads, const char *regime)
{
    for (int i = 0; i < p->n; i++)
        if (p->e[i].m == m && p->e[i].k == k && p->e[i].threads == threads && (!regime || !strcmp(p->e[i].regime, regime)))
            return &p->e[i];
    return NULL;
}

/* ---- write ---- */
static json_t *stat_json(const tt_prof_stat *s)
{
    if (!s->variant[0]) return json_null();
    return json_pack("{s:s, s:f, s:f, s:f, s:f, s:i, s:f, s:f}", "variant", s->variant, "median_ns", s->median_ns,
                     "p25_ns", s->p25_ns, "p75_ns", s->p75_ns, "cv", s->cv, "samples", s->samples, "gbps", s->gbps,
                     "bw_frac", s->bw_frac);
}

static json_t *cpu_json(const tt_cpu_id *c)
{
    json_t *feat = json_array();
    for (int i = 0; i < tt_feature_count; i++)
        if (c->features & tt_feature_names[i].bit) json_array_append_new(feat, json_string(tt_feature_names[i].name));
    return json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:o, s:I, s:I, s:I, s:i, s:i}", "arch", c->arch, "vendor",
                     c->vendor, "brand", c->brand, "family", c->family, "model", c->model, "stepping", c->stepping,
                     "features", feat, "l1d_bytes", (json_int_t)c->l1d, "l2_bytes", (json_int_t)c->l2, "l3_bytes",
                     (json_int_t)c->l3, "cores", c->cores, "pus", c->pus);
}

static json_t *profile_json(const tt_profile *p)
{
    char hash[32], ver[16];
    snprintf(hash, sizeof hash, "0x%016" PRIx64, p->registry_hash);
    snprintf(ver, sizeof ver, "%d.%d", TT_PROFILE_MAJOR, TT_PROFILE_MINOR);
    json_t *bw = json_array();
    for (int i = 0; i < p->nbw; i++)
        json_array_append_new(bw, json_pack("{s:i, s:f}", "threads", p->bw_threads[i], "read_gbps", p->bw_gbps[i]));
    json_t *entries = json_array();
    for (int i = 0; i < p->n; i++) {
        const tt_prof_entry *e = &p->e[i];
        json_t *ctr = json_object();
        for (int c = 0; c < e->ncounters; c++) json_object_set_new(ctr, e->counter_names[c], json_real(e->counters[c]));
        json_t *ej;
        json_array_append_new(
            entries,
            ej = json_pack("{s:s, s:i, s:i, s:i, s:s, s:s, s:o, s:o, s:o, s:{s:f, s:f, s:f, s:f, s:f}, s:i, s:i, s:i, s:i, s:o}",
                      "shape", e->shape, "m", e->m, "k", e->k, "threads", e->threads, "split", e->split, "regime",
                      e->regime, "winner", stat_json(&e->winner), "runner_up", stat_json(&e->runner_up), "baseline",
                      stat_json(&e->baseline), "regimes", "cold_winner_ns", e->cold_winner_ns, "cold_baseline_ns",
                      e->cold_baseline_ns, "warm_winner_ns", e->warm_winner_ns, "warm_baseline_ns",
                      e->warm_baseline_ns, "cold_ceiling_ns", e->cold_ceiling_ns, "candidates", e->candidates, "verified", e->verified, "excluded",
                      e->excluded, "rounds", e->rounds, "counters", ctr));
        json_object_set_new(ej, "conditions",
                            json_pack("{s:f, s:f, s:f, s:f, s:b, s:s}", "others_cpus", e->others_cpus, "steal_cpus",
                                      e->steal_cpus, "bw_before_gbps", e->bw_before_gbps, "bw_after_gbps",
                                      e->bw_after_gbps, "remeasured", e->remeasured, "flags", e->flags));
        json_t *fb = json_object();
        for (int f = 0; f < TT_PROF_MAX_FMTS; f++)
            if (e->fmt_best[f].variant[0]) json_object_set_new(fb, tt_fmt_name((tt_fmt)f), stat_json(&e->fmt_best[f]));
        if (json_object_size(fb)) json_object_set_new(ej, "formats", fb);
        else json_decref(fb);
        const tt_prof_in_model *im = &e->in_model;
        json_t *imj = im->variant[0] || im->fuse ? json_object() : NULL;
        if (im->variant[0]) {
            json_t *cs = json_array();
            for (int c = 0; c < im->ncand; c++)
                json_array_append_new(cs, json_pack("{s:s, s:f, s:f, s:f, s:i}", "variant", im->cand[c].variant,
                                                    "phase_us", im->cand[c].phase_us, "tokens_per_s", im->cand[c].tok_s,
                                                    "ratio", im->cand[c].ratio, "faster_rounds", im->cand[c].faster));
            json_object_update_new(imj, json_pack("{s:s, s:s, s:i, s:i, s:i, s:o, s:s}", "variant", im->variant, "phases",
                                                  im->phases, "rounds", im->rounds, "tokens", im->tokens, "linears",
                                                  im->linears, "candidates", cs, "why", im->why));
        }
        if (im->fuse)
            json_object_set_new(imj, "fusion",
                                json_pack("{s:b, s:f, s:f, s:i, s:i, s:s}", "fused", im->fuse == TT_FUSE_MEASURED_ON,
                                          "ratio", im->fuse_ratio, "token_ratio", im->fuse_token, "faster_rounds",
                                          im->fuse_faster, "rounds", im->fuse_rounds, "why", im->fuse_why));
        if (imj) json_object_set_new(ej, "in_model", imj);
    }
    json_t *pre = json_array();
    for (int i = 0; i < p->ng; i++) {
        const tt_prof_gemm *g = &p->g[i];
        json_array_append_new(pre, json_pack("{s:s, s:i, s:i, s:i, s:i, s:s, s:f, s:s, s:f, s:s, s:f, s:i, s:i, s:i}",
                                             "shape", g->shape, "m", g->m, "k", g->k, "threads", g->threads, "tokens",
                                             g->tokens, "winner", g->winner, "winner_ns", g->winner_ns, "shared",
                                             g->shared, "shared_ns", g->shared_ns, "gemv", g->gemv, "gemv_ns", g->gemv_ns,
                                             "candidates", g->candidates, "verified", g->verified, "excluded", g->excluded));
    }
    json_t *top = json_pack("{s:s, s:s, s:o, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:f, s:o, s:o}", "schema",
                     TT_PROFILE_SCHEMA, "version", ver, "cpu", cpu_json(&p->cpu), "registry_hash", hash,
                     "registry_count", p->registry_count, "compiler", p->compiler, "flags", p->flags,
                     "tritune_version", p->version, "created", p->created, "model", p->model, "papi", p->papi,
                     "energy", p->energy, "membw", bw, "cold_bytes", p->cold_bytes, "entries", entries, "prefill", pre);
    if (top) json_object_set_new(top, "flags_accepted", json_boolean(p->flags_accepted));
    if (top && p->nh) {
        json_t *head = json_array();
        for (int i = 0; i < p->nh; i++) {
            const tt_prof_head *h = &p->h[i];
            json_array_append_new(head, json_pack("{s:s, s:i, s:i, s:i, s:s, s:f, s:s, s:f, s:f, s:i, s:i, s:i}", "kind",
                                                  h->kind, "m", h->m, "k", h->k, "threads", h->threads, "winner",
                                                  h->winner, "winner_ns", h->winner_ns, "default", h->deflt,
                                                  "default_ns", h->default_ns, "gbps", h->gbps, "candidates",
                                                  h->candidates, "verified", h->verified, "excluded", h->excluded));
        }
        json_object_set_new(top, "head", head);
    }
    return top;
}

tt_status tt_profile_write(const tt_profile *p, const char *path)
{
    json_t *j = profile_json(p);
    if (!j) return tt_fail(TT_ERR_NOMEM, "profile: cannot build JSON");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int rc = json_dump_file(j, tmp, JSON_INDENT(1) | JSON_REAL_PRECISION(8));
    json_decref(j);
    if (rc) {
        unlink(tmp);
        return tt_fail(TT_ERR_IO, "profile: cannot write %s: %s", tmp, strerror(errno));
    }
    if (rename(tmp, path)) {
        int e = errno;
        unlink(tmp);
        return tt_fail(TT_ERR_IO, "profile: cannot rename %s to %s: %s", tmp, path, strerror(e));
    }
    return TT_OK;
}

/* ---- read ---- */
static tt_status get_str(json_t *o, const char *key, char *dst, size_t n, const char *ctx)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v)) return tt_fail(TT_ERR_FORMAT, "profile: %s.%s missing or not a string", ctx, key);
    snprintf(dst, n, "%s", json_string_value(v));
    return TT_OK;
}

static tt_status get_num(json_t *o, const char *key, double *dst, const char *ctx)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v)) return tt_fail(TT_ERR_FORMAT, "profile: %s.%s missing or not a number", ctx, key);
    *dst = json_number_value(v);
    return TT_OK;
}

static tt_status get_int(json_t *o, const char *key, int *dst, const char *ctx)
{
    double d = 0;
    tt_status st = get_num(o, key, &d, ctx);
    if (st) return st;
    if (!(d >= -2147483648.0 && d <= 2147483647.0) || d != (int)d)
        return tt_fail(TT_ERR_FORMAT, "profile: %s.%s is not an integer", ctx, key);
    *dst = (int)d;
    return TT_OK;
}

static tt_status read_stat(json_t *o, tt_prof_stat *s, const char *ctx)
{
    memset(s, 0, sizeof *s);
    if (!o || json_is_null(o)) return TT_OK;
    if (!json_is_object(o)) return tt_fail(TT_ERR_FORMAT, "profile: %s is not an object", ctx);
    tt_status st;
    if ((st = get_str(o, "variant", s->variant, sizeof s->variant, ctx)) || (st = get_num(o, "median_ns", &s->median_ns, ctx)) ||
        (st = get_num(o, "p25_ns", &s->p25_ns, ctx)) || (st = get_num(o, "p75_ns", &s->p75_ns, ctx)) ||
        (st = get_num(o, "cv", &s->cv, ctx)) || (st = get_int(o, "samples", &s->samples, ctx)) ||
        (st = get_num(o, "gbps", &s->gbps, ctx)) || (st = get_num(o, "bw_frac", &s->bw_frac, ctx)))
        return st;
    if (!(s->median_ns > 0)) return tt_fail(TT_ERR_FORMAT, "profile: %s.median_ns must be > 0", ctx);
    return TT_OK;
}

static tt_status read_cpu(json_t *o, tt_cpu_id *c)
{
    if (!json_is_object(o)) return tt_fail(TT_ERR_FORMAT, "profile: cpu missing or not an object");
    memset(c, 0, sizeof *c);
    tt_status st;
    double l1, l2, l3;
    if ((st = get_str(o, "arch", c->arch, sizeof c->arch, "cpu")) || (st = get_str(o, "vendor", c->vendor, sizeof c->vendor, "cpu")) ||
        (st = get_str(o, "brand", c->brand, sizeof c->brand, "cpu")) || (st = get_int(o, "family", &c->family, "cpu")) ||
        (st = get_int(o, "model", &c->model, "cpu")) || (st = get_int(o, "stepping", &c->stepping, "cpu")) ||
        (st = get_num(o, "l1d_bytes", &l1, "cpu")) || (st = get_num(o, "l2_bytes", &l2, "cpu")) ||
        (st = get_num(o, "l3_bytes", &l3, "cpu")) || (st = get_int(o, "cores", &c->cores, "cpu")) ||
        (st = get_int(o, "pus", &c->pus, "cpu")))
        return st;
    c->l1d = (size_t)l1, c->l2 = (size_t)l2, c->l3 = (size_t)l3;
    json_t *f = json_object_get(o, "features");
    if (!json_is_array(f)) return tt_fail(TT_ERR_FORMAT, "profile: cpu.features missing or not an array");
    size_t i;
    json_t *v;
    json_array_foreach(f, i, v)
    {
        const char *s = json_string_value(v);
        int found = 0;
        for (int t = 0; s && t < tt_feature_count; t++)
            if (!strcmp(s, tt_feature_names[t].name)) c->features |= tt_feature_names[t].bit, found = 1;
        if (!found) return tt_fail(TT_ERR_FORMAT, "profile: cpu.features[%zu] is not a known feature", i);
    }
    return TT_OK;
}

static tt_status read_entry(json_t *o, tt_prof_entry *e, size_t idx)
{
    char ctx[32];
    snprintf(ctx, sizeof ctx, "entries[%zu]", idx);
    if (!json_is_object(o)) return tt_fail(TT_ERR_FORMAT, "profile: %s is not an object", ctx);
    tt_status st;
    if ((st = get_str(o, "shape", e->shape, sizeof e->shape, ctx)) || (st = get_int(o, "m", &e->m, ctx)) ||
        (st = get_int(o, "k", &e->k, ctx)) || (st = get_int(o, "threads", &e->threads, ctx)) ||
        (st = get_str(o, "split", e->split, sizeof e->split, ctx)) || (st = get_str(o, "regime", e->regime, sizeof e->regime, ctx)) ||
        (st = get_int(o, "candidates", &e->candidates, ctx)) || (st = get_int(o, "verified", &e->verified, ctx)) ||
        (st = get_int(o, "excluded", &e->excluded, ctx)) || (st = get_int(o, "rounds", &e->rounds, ctx)))
        return st;
    if (e->m < 1 || e->k < 1 || e->threads < 1)
        return tt_fail(TT_ERR_FORMAT, "profile: %s has a non-positive m, k or threads", ctx);
    char c2[64];
    snprintf(c2, sizeof c2, "%s.winner", ctx);
    if ((st = read_stat(json_object_get(o, "winner"), &e->winner, c2))) return st;
    if (!e->winner.variant[0]) return tt_fail(TT_ERR_FORMAT, "profile: %s has no winner", ctx);
    snprintf(c2, sizeof c2, "%s.runner_up", ctx);
    if ((st = read_stat(json_object_get(o, "runner_up"), &e->runner_up, c2))) return st;
    snprintf(c2, sizeof c2, "%s.baseline", ctx);
    if ((st = read_stat(json_object_get(o, "baseline"), &e->baseline, c2))) return st;
    json_t *rg = json_object_get(o, "regimes");
    if (json_is_object(rg)) {
        get_num(rg, "cold_winner_ns", &e->cold_winner_ns, ctx);
        get_num(rg, "cold_baseline_ns", &e->cold_baseline_ns, ctx);
        get_num(rg, "warm_winner_ns", &e->warm_winner_ns, ctx);
        get_num(rg, "warm_baseline_ns", &e->warm_baseline_ns, ctx);
        /* optional (profiles before it have none): absent reads as 0, "not measured" */
        if (json_object_get(rg, "cold_ceiling_ns") && (st = get_num(rg, "cold_ceiling_ns", &e->cold_ceiling_ns, ctx)))
            return st;
    }
    json_t *cd = json_object_get(o, "conditions");
    if (cd) { /* optional (1.2) */
        if (!json_is_object(cd)) return tt_fail(TT_ERR_FORMAT, "profile: %s.conditions is not an object", ctx);
        if ((st = get_num(cd, "others_cpus", &e->others_cpus, ctx)) || (st = get_num(cd, "steal_cpus", &e->steal_cpus, ctx)) ||
            (st = get_num(cd, "bw_before_gbps", &e->bw_before_gbps, ctx)) ||
            (st = get_num(cd, "bw_after_gbps", &e->bw_after_gbps, ctx)) ||
            (st = get_str(cd, "flags", e->flags, sizeof e->flags, ctx)))
            return st;
        e->remeasured = json_is_true(json_object_get(cd, "remeasured"));
    }
    json_t *fb = json_object_get(o, "formats");
    if (fb) { /* optional (1.4): the fastest of each format in the final session */
        if (!json_is_object(fb)) return tt_fail(TT_ERR_FORMAT, "profile: %s.formats is not an object", ctx);
        const char *fk;
        json_t *fv;
        json_object_foreach(fb, fk, fv)
        {
            int f = 0;
            while (f < TT_PROF_MAX_FMTS && strcmp(fk, tt_fmt_name((tt_fmt)f))) f++;
            snprintf(c2, sizeof c2, "%s.formats.%.16s", ctx, fk);
            if (f == TT_PROF_MAX_FMTS) return tt_fail(TT_ERR_FORMAT, "profile: %s: not a storage format", c2);
            if ((st = read_stat(fv, &e->fmt_best[f], c2))) return st;
        }
    }
    json_t *im = json_object_get(o, "in_model");
    if (im) { /* optional (1.4): the in-model stage */
        tt_prof_in_model *r = &e->in_model;
        snprintf(c2, sizeof c2, "%s.in_model", ctx);
        json_t *cs = json_object_get(im, "candidates"), *fu = json_object_get(im, "fusion");
        if (!json_is_object(im)) return tt_fail(TT_ERR_FORMAT, "profile: %s is not an object", c2);
        if (fu) { /* the stage's arrangement of a fused shape's group */
            char c3[96];
            bool fused;
            snprintf(c3, sizeof c3, "%s.fusion", c2);
            if (!json_is_object(fu) || !json_is_boolean(json_object_get(fu, "fused")))
                return tt_fail(TT_ERR_FORMAT, "profile: %s is not an object with a boolean \"fused\"", c3);
            fused = json_is_true(json_object_get(fu, "fused"));
            if ((st = get_num(fu, "ratio", &r->fuse_ratio, c3)) || (st = get_num(fu, "token_ratio", &r->fuse_token, c3)) ||
                (st = get_int(fu, "faster_rounds", &r->fuse_faster, c3)) || (st = get_int(fu, "rounds", &r->fuse_rounds, c3)) ||
                (st = get_str(fu, "why", r->fuse_why, sizeof r->fuse_why, c3)))
                return st;
            r->fuse = fused ? TT_FUSE_MEASURED_ON : TT_FUSE_MEASURED_OFF;
        }
        if (!json_object_get(im, "variant")) {
            if (!fu) return tt_fail(TT_ERR_FORMAT, "profile: %s has neither a variant nor a fusion", c2);
        } else if ((st = get_str(im, "variant", r->variant, sizeof r->variant, c2)) ||
            (st = get_str(im, "phases", r->phases, sizeof r->phases, c2)) || (st = get_int(im, "rounds", &r->rounds, c2)) ||
            (st = get_int(im, "tokens", &r->tokens, c2)) || (st = get_int(im, "linears", &r->linears, c2)) ||
            (st = get_str(im, "why", r->why, sizeof r->why, c2)))
            return st;
        else if (!r->variant[0]) return tt_fail(TT_ERR_FORMAT, "profile: %s.variant is empty", c2);
        if (r->variant[0] && (!json_is_array(cs) || json_array_size(cs) < 1 || json_array_size(cs) > TT_PROF_IM_CANDS))
            return tt_fail(TT_ERR_FORMAT, "profile: %s.candidates is not an array of 1 to %d", c2, TT_PROF_IM_CANDS);
        size_t ci;
        json_t *cv, *csv = r->variant[0] ? cs : NULL; /* (checked above when read) */
        json_array_foreach(csv, ci, cv)
        {
            tt_prof_im_cand *c = &r->cand[ci];
            char c3[96];
            snprintf(c3, sizeof c3, "%s.candidates[%zu]", c2, ci);
            if (!json_is_object(cv)) return tt_fail(TT_ERR_FORMAT, "profile: %s is not an object", c3);
            if ((st = get_str(cv, "variant", c->variant, sizeof c->variant, c3)) ||
                (st = get_num(cv, "phase_us", &c->phase_us, c3)) || (st = get_num(cv, "tokens_per_s", &c->tok_s, c3)) ||
                (st = get_num(cv, "ratio", &c->ratio, c3)) || (st = get_int(cv, "faster_rounds", &c->faster, c3)))
                return st;
            r->ncand++;
        }
        if (r->variant[0] && strcmp(r->cand[0].variant, e->winner.variant))
            return tt_fail(TT_ERR_FORMAT, "profile: %s.candidates[0] is %s, not the entry's winner %s", c2,
                           r->cand[0].variant, e->winner.variant);
        bool listed = false;
        for (int c = 0; c < r->ncand; c++) listed |= !strcmp(r->cand[c].variant, r->variant);
        if (r->variant[0] && !listed) return tt_fail(TT_ERR_FORMAT, "profile: %s.variant %s is none of its candidates", c2, r->variant);
    }
    json_t *ctr = json_object_get(o, "counters");
    const char *key;
    json_t *v;
    json_object_foreach(ctr, key, v)
    {
        if (e->ncounters == TT_PROF_MAX_COUNTERS || !json_is_number(v)) break;
        snprintf(e->counter_names[e->ncounters], 32, "%s", key);
        e->counters[e->ncounters++] = json_number_value(v);
    }
    return TT_OK;
}

static tt_status read_gemm(json_t *o, tt_prof_gemm *g, size_t idx)
{
    char ctx[32];
    snprintf(ctx, sizeof ctx, "prefill[%zu]", idx);
    if (!json_is_object(o)) return tt_fail(TT_ERR_FORMAT, "profile: %s is not an object", ctx);
    tt_status st;
    if ((st = get_str(o, "shape", g->shape, sizeof g->shape, ctx)) || (st = get_int(o, "m", &g->m, ctx)) ||
        (st = get_int(o, "k", &g->k, ctx)) || (st = get_int(o, "threads", &g->threads, ctx)) ||
        (st = get_int(o, "tokens", &g->tokens, ctx)) || (st = get_str(o, "winner", g->winner, sizeof g->winner, ctx)) ||
        (st = get_num(o, "winner_ns", &g->winner_ns, ctx)) || (st = get_str(o, "shared", g->shared, sizeof g->shared, ctx)) ||
        (st = get_num(o, "shared_ns", &g->shared_ns, ctx)) || (st = get_str(o, "gemv", g->gemv, sizeof g->gemv, ctx)) ||
        (st = get_num(o, "gemv_ns", &g->gemv_ns, ctx)) || (st = get_int(o, "candidates", &g->candidates, ctx)) ||
        (st = get_int(o, "verified", &g->verified, ctx)) || (st = get_int(o, "excluded", &g->excluded, ctx)))
        return st;
    if (g->m < 1 || g->k < 1 || g->threads < 1 || g->tokens < 1)
        return tt_fail(TT_ERR_FORMAT, "profile: %s has a non-positive m, k, threads or tokens", ctx);
    if (!g->winner[0] || !(g->winner_ns > 0)) return tt_fail(TT_ERR_FORMAT, "profile: %s has no winner time", ctx);
    if (g->shared[0] && !(g->shared_ns > 0)) return tt_fail(TT_ERR_FORMAT, "profile: %s.shared_ns must be > 0", ctx);
    if (!(g->shared_ns >= 0) || !(g->gemv_ns >= 0) || (g->gemv[0] && !(g->gemv_ns > 0)))
        return tt_fail(TT_ERR_FORMAT, "profile: %s has a negative time, or a GEMV reference without one", ctx);
    if (g->candidates < 0 || g->verified < 0 || g->excluded < 0 || g->verified + g->excluded > g->candidates)
        return tt_fail(TT_ERR_FORMAT, "profile: %s has inconsistent candidate counts", ctx);
    return TT_OK;
}

static tt_status read_head(json_t *o, tt_prof_head *h, size_t idx)
{
    char ctx[32];
    snprintf(ctx, sizeof ctx, "head[%zu]", idx);
    if (!json_is_object(o)) return tt_fail(TT_ERR_FORMAT, "profile: %s is not an object", ctx);
    tt_status st;
    if ((st = get_str(o, "kind", h->kind, sizeof h->kind, ctx)) || (st = get_int(o, "m", &h->m, ctx)) ||
        (st = get_int(o, "k", &h->k, ctx)) || (st = get_int(o, "threads", &h->threads, ctx)) ||
        (st = get_str(o, "winner", h->winner, sizeof h->winner, ctx)) ||
        (st = get_num(o, "winner_ns", &h->winner_ns, ctx)) || (st = get_str(o, "default", h->deflt, sizeof h->deflt, ctx)) ||
        (st = get_num(o, "default_ns", &h->default_ns, ctx)) || (st = get_num(o, "gbps", &h->gbps, ctx)) ||
        (st = get_int(o, "candidates", &h->candidates, ctx)) || (st = get_int(o, "verified", &h->verified, ctx)) ||
        (st = get_int(o, "excluded", &h->excluded, ctx)))
        return st;
    if (tt_dense_kind_parse(h->kind) < 0)
        return tt_fail(TT_ERR_FORMAT, "profile: %s.kind is '%s' (f16, i8, q6_K, q8_0 or q4_0)", ctx, h->kind);
    if (h->m < 1 || h->k < 16 || h->k % 16 || h->threads < 1)
        return tt_fail(TT_ERR_FORMAT, "profile: %s has a non-positive m or threads, or k not a positive multiple of 16", ctx);
    if (!h->winner[0] || !(h->winner_ns > 0)) return tt_fail(TT_ERR_FORMAT, "profile: %s has no winner time", ctx);
    if (!(h->default_ns >= 0) || !(h->gbps >= 0))
        return tt_fail(TT_ERR_FORMAT, "profile: %s has a negative time or bandwidth", ctx);
    if (h->candidates < 0 || h->verified < 0 || h->excluded < 0 || h->verified + h->excluded > h->candidates)
        return tt_fail(TT_ERR_FORMAT, "profile: %s has inconsistent candidate counts", ctx);
    return TT_OK;
}

tt_status tt_profile_read(const char *path, tt_profile *p)
{
    tt_profile_init(p);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j) {
        if (err.line < 0 || strstr(err.text, "unable to open"))
            return tt_fail(TT_ERR_IO, "profile %s: %s", path, err.text);
        return tt_fail(TT_ERR_FORMAT, "profile %s: not valid JSON (line %d column %d: %s) — truncated or corrupted?",
                       path, err.line, err.column, err.text);
    }
    tt_status st = TT_OK;
    char schema[32] = "", ver[16] = "", hash[32] = "";
    if (!json_is_object(j)) st = tt_fail(TT_ERR_FORMAT, "profile %s: top level is not an object", path);
    else if ((st = get_str(j, "schema", schema, sizeof schema, "profile"))) {
    } else if (strcmp(schema, TT_PROFILE_SCHEMA))
        st = tt_fail(TT_ERR_FORMAT, "profile %s: schema is '%s', expected '%s'", path, schema, TT_PROFILE_SCHEMA);
    else if ((st = get_str(j, "version", ver, sizeof ver, "profile"))) {
    } else if (atoi(ver) != TT_PROFILE_MAJOR)
        st = tt_fail(TT_ERR_FORMAT, "profile %s: version %s has an unknown major version (this tritune reads %d.x)",
                     path, ver, TT_PROFILE_MAJOR);
    if (!st) st = read_cpu(json_object_get(j, "cpu"), &p->cpu);
    if (!st) st = get_str(j, "registry_hash", hash, sizeof hash, "profile");
    if (!st) {
        char *end;
        p->registry_hash = strtoull(hash, &end, 16);
        if (*end || strncmp(hash, "0x", 2)) st = tt_fail(TT_ERR_FORMAT, "profile: registry_hash '%s' is not 0x-hex", hash);
    }
    if (!st) st = get_int(j, "registry_count", &p->registry_count, "profile");
    if (!st) st = get_str(j, "compiler", p->compiler, sizeof p->compiler, "profile");
    if (!st) st = get_str(j, "flags", p->flags, sizeof p->flags, "profile");
    if (!st) {
        get_str(j, "tritune_version", p->version, sizeof p->version, "profile");
        get_str(j, "created", p->created, sizeof p->created, "profile");
        get_str(j, "model", p->model, sizeof p->model, "profile");
        get_str(j, "papi", p->papi, sizeof p->papi, "profile");
        get_str(j, "energy", p->energy, sizeof p->energy, "profile");
        get_num(j, "cold_bytes", &p->cold_bytes, "profile");
        p->flags_accepted = json_is_true(json_object_get(j, "flags_accepted"));
        json_t *bw = json_object_get(j, "membw");
        size_t i;
        json_t *v;
        json_array_foreach(bw, i, v)
        {
            if (p->nbw == 16) break;
            double t = 0, g = 0;
            if (get_num(v, "threads", &t, "membw") || get_num(v, "read_gbps", &g, "membw")) break;
            p->bw_threads[p->nbw] = (int)t;
            p->bw_gbps[p->nbw++] = g;
        }
        json_t *ents = json_object_get(j, "entries");
        if (!json_is_array(ents)) st = tt_fail(TT_ERR_FORMAT, "profile: entries missing or not an array");
        json_array_foreach(ents, i, v)
        {
            if (st) break;
            tt_prof_entry *e = tt_profile_add(p);
            if (!e) st = tt_fail(TT_ERR_NOMEM, "profile entries");
            else st = read_entry(v, e, i);
        }
        json_t *pre = json_object_get(j, "prefill"); /* optional: profiles before 1.1 have none */
        if (!st && pre && !json_is_array(pre)) st = tt_fail(TT_ERR_FORMAT, "profile: prefill is not an array");
        json_array_foreach(pre, i, v)
        {
            if (st) break;
            tt_prof_gemm *g = tt_profile_add_gemm(p);
            if (!g) st = tt_fail(TT_ERR_NOMEM, "profile prefill entries");
            else st = read_gemm(v, g, i);
        }
        json_t *head = json_object_get(j, "head"); /* optional: profiles before 1.3 have none */
        if (!st && head && !json_is_array(head)) st = tt_fail(TT_ERR_FORMAT, "profile: head is not an array");
        json_array_foreach(head, i, v)
        {
            if (st) break;
            tt_prof_head *h = tt_profile_add_head(p);
            if (!h) st = tt_fail(TT_ERR_NOMEM, "profile head entries");
            else st = read_head(v, h, i);
        }
    }
    json_decref(j);
    if (st) tt_profile_free(p);
    return st;
}

tt_status tt_profile_check(const tt_profile *p, const tt_cpu_id *h, uint64_t hash, char *note, size_t note_n)
{
    char why[400];
    if (note && note_n) note[0] = 0;
    tt_id_match mt = tt_cpu_id_match(&p->cpu, h, why, sizeof why);
    if (mt == TT_ID_OTHER) return tt_fail(TT_ERR_MISMATCH, "profile %s", why);
    if (mt == TT_ID_SAME_BUT_BRAND && note) snprintf(note, note_n, "profile %s", why);
    if (p->registry_hash != hash)
        return tt_fail(TT_ERR_MISMATCH,
                       "profile is stale: registry_hash 0x%016" PRIx64 " (%d variants) but this build's registry is "
                       "0x%016" PRIx64 " — the kernels changed; retune (FORCE=1 make tune)",
                       p->registry_hash, p->registry_count, hash);
    return TT_OK;
}

/* Whether e stands for its shape's winner: a cold entry, or a warm one where no cold entry exists. */
static bool stands_for_winner(const tt_profile *p, const tt_prof_entry *e)
{
    return !strcmp(e->regime, "cold") || !tt_profile_find(p, e->m, e->k, e->threads, "cold");
}

int tt_profile_flagged_winners(const tt_profile *p)
{
    int n = 0;
    for (int i = 0; i < p->n; i++) n += p->e[i].flags[0] && stands_for_winner(p, &p->e[i]);
    return n;
}

const char *tt_prof_entry_kernel(const tt_prof_entry *e)
{
    return e->in_model.variant[0] ? e->in_model.variant : e->winner.variant;
}

tt_status tt_profile_winners(const tt_profile *p, const tt_prof_entry **out, int *n, int *flagged)
{
    *n = 0;
    if (flagged) *flagged = 0;
    for (int i = 0; i < p->n; i++) {
        const tt_prof_entry *e = &p->e[i];
        if (!stands_for_winner(p, e)) continue;
        if (e->flags[0] && !p->flags_accepted) {
            if (flagged) ++*flagged;
            continue;
        }
        for (int s = 0; s < 2; s++) {
            const char *name = s ? e->in_model.variant : e->winner.variant;
            if (s && !name[0]) continue;
            const tt_variant *v = tt_variant_find(name);
            if (!v || !v->exact || v->op != TT_OP_GEMV)
                return tt_fail(TT_ERR_FORMAT, "profile %s %s is not an exact GEMV variant of this registry",
                               s ? "in-model pick" : "winner", name);
            if (s && tt_variant_check_shape(v, e->m, e->k))
                return tt_fail(TT_ERR_FORMAT, "profile in-model pick %s does not run %dx%d", name, e->m, e->k);
        }
        out[(*n)++] = e;
    }
    for (int i = 0; i < p->ng; i++) {
        const tt_prof_gemm *g = &p->g[i];
        for (int s = 0; s < 2; s++) {
            const char *name = s ? g->shared : g->winner;
            if (s && !name[0]) continue;
            const tt_variant *v = tt_variant_find(name);
            if (!v || !v->exact || v->op != TT_OP_GEMM)
                return tt_fail(TT_ERR_FORMAT, "profile prefill[%d]: %s is not an exact GEMM variant of this registry",
                               i, name);
        }
    }
    /* A head winner this build does not have (the head family is not in the registry hash: its members are renamed
     * or replaced more freely) leaves only that head to the static default (tt_pick_head says so); a member of
     * another kind is a malformed profile. */
    for (int i = 0; i < p->nh; i++) {
        const tt_prof_head *h = &p->h[i];
        const tt_dense_variant *v = tt_dense_variant_find(h->winner);
        if (tt_dense_kind_parse(h->kind) < 0 || (v && (int)v->kind != tt_dense_kind_parse(h->kind)))
            return tt_fail(TT_ERR_FORMAT, "profile head[%d]: %s is not a %s LM-head kernel", i, h->winner, h->kind);
    }
    return TT_OK;
}
