/* Runtime wisdom at program start (tt_wisdom_startup), and `tritune wisdom show | export | import`. */
#include "tt_baked.h"
#include "tt_cli.h"
#include "tt_opt.h"
#include "tt_profile_diff.h"
#include "tt_registry.h"
#include "tt_topo.h"
#include "tt_wisdom.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* This machine's identity with its topology (hwloc), also handed to the kernels' identity check of baked tables. */
static void identity_here(tt_cpu_id *id)
{
    tt_topo topo;
    bool ok = tt_topo_load(&topo) == TT_OK;
    tt_cpu_id_here(id, ok ? &topo : NULL);
    if (ok) {
        tt_cpu_id_set_topology(id->l1d, id->l2, id->l3, id->cores, id->pus);
        tt_topo_free(&topo);
    }
}

/* Install the profile at path where it applies here; else say why on stderr and return 1. */
static int load_here(const char *path, const tt_cpu_id *here, const char *verb)
{
    char note[500];
    if (tt_wisdom_load(path, here, note, sizeof note)) {
        fprintf(stderr, "tritune %s: wisdom %s not used: %s\n", verb, path, tt_last_error());
        return 1;
    }
    if (note[0]) fprintf(stderr, "tritune %s: wisdom %s: %s\n", verb, path, note);
    return 0;
}

int tt_wisdom_startup(int *argc, char **argv, const char *verb)
{
    const char *file = NULL;
    bool none = false;
    int k = 0;
    for (int i = 0; i < *argc; i++) { /* take --wisdom FILE / --wisdom=FILE / --no-wisdom out of the arguments */
        if (!strcmp(argv[i], "--wisdom") && i + 1 < *argc) file = argv[++i];
        else if (!strncmp(argv[i], "--wisdom=", 9)) file = argv[i] + 9;
        else if (!strcmp(argv[i], "--no-wisdom")) none = true;
        else if (!strcmp(argv[i], "--wisdom")) {
            fprintf(stderr, "tritune %s: --wisdom needs a file\n", verb);
            return 2;
        } else argv[k++] = argv[i];
    }
    *argc = k;
    argv[k] = NULL;
    if (none) {
        tt_debug("wisdom: --no-wisdom: %s", tt_wisdom_source());
        return 0;
    }
    tt_cpu_id here;
    identity_here(&here);
    char path[1200];
    bool found = file ? (snprintf(path, sizeof path, "%s", file), true) : tt_wisdom_find(&here, "results", path, sizeof path);
    if (!found) {
        tt_debug("wisdom: no profile for this CPU under results/ (%s)", tt_wisdom_source());
        return 0;
    }
    if (load_here(path, &here, verb)) {
        if (file) return 1; /* named explicitly: an error, not a fallback */
        fprintf(stderr, "tritune %s: kernels: %s\n", verb, tt_wisdom_source());
    }
    return 0;
}

int tt_wisdom_use(const char *path, const char *verb)
{
    if (!strcmp(path, "none")) /* an empty table: no baked winner applies either */
        return tt_wisdom_install(&(tt_wisdom){.source = "none: no tuned winners (static defaults, calibration at load)"})
                   ? (fprintf(stderr, "tritune %s: %s\n", verb, tt_last_error()), 1)
                   : 0;
    tt_cpu_id here;
    identity_here(&here);
    return load_here(path, &here, verb);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: tritune wisdom show [PROFILE.json]\n"
               "       tritune wisdom export -o FILE.json [PROFILE.json]\n"
               "       tritune wisdom import FILE.json [--force]\n"
               "       tritune wisdom diff A.json B.json [--tie 0.05] [--markdown FILE] [--json FILE]\n"
               "Tuning results (\"wisdom\") are the profile.json `tritune tune` writes under results/<cpu-id>/. The model\n"
               "verbs (run, eval, bench-e2e) load it at start: --wisdom FILE names one (an error if it does not apply),\n"
               "--no-wisdom uses none; default: $TRITUNE_WISDOM, results/<cpu-id>/profile.json, else a profile under\n"
               "results/ from the same CPU under another brand string. A profile applies where the CPU identity matches\n"
               "(vendor, family, model, stepping, usable ISA features, cores, PUs, caches; the brand string is only\n"
               "noted) and the kernel registry is the same.\n"
               "  show     the winners in effect here (or of PROFILE.json) and where they come from\n"
               "  export   copy the profile in effect (or PROFILE.json) to FILE.json, for machines of the same kind\n"
               "  import   check FILE.json against this machine and registry, then install it as\n"
               "           results/<cpu-id>/profile.json (--force replaces an existing one)\n"
               "  diff     two profiles side by side (two tuning runs on one machine, or two machines): per race in\n"
               "           either (GEMV shapes per thread count and regime, prefill, LM head), both winners and a\n"
               "           verdict: same; near tie (the winners differ, but the profile that picked one timed the\n"
               "           other within --tie of it: its runner-up, the head's static default, the prefill GEMM on\n"
               "           the GEMV's bytes); differs; or only in one. Also each winner's gain over the reference\n"
               "           its own session raced beside it (GEMV baseline, head default, token-by-token GEMV):\n"
               "           a ratio inside one session, so it compares across sessions where the times themselves\n"
               "           (shown, B/A) carry each session's host state. Entries measured under interference\n"
               "           are marked (flagged). Neither profile has to apply here.\n"
               "           Exit 0 when compared, 1 unreadable input, 3 no race in both.\n");
}

/* `wisdom diff`: the rows of tt_profile_diff as a Markdown table (stdout, and --markdown FILE) and JSON. */
static void diff_table(FILE *f, const char *pa, const tt_profile *a, const char *pb, const tt_profile *b,
                       const tt_prof_diff *d, double tie)
{
    const char *cpu = d->cpu == TT_ID_SAME ? "the same CPU identity"
                      : d->cpu == TT_ID_SAME_BUT_BRAND ? "the same part under another brand string"
                                                      : "another machine";
    const tt_profile *pp[2] = {a, b};
    const char *names[2] = {pa, pb};
    for (int i = 0; i < 2; i++) {
        const tt_cpu_id *c = &pp[i]->cpu;
        fprintf(f, "%c: %s (%s, family %d model %d stepping %d, %d cores; created %s; %d races)\n", 'A' + i, names[i],
                c->brand, c->family, c->model, c->stepping, c->cores, pp[i]->created, pp[i]->n + pp[i]->ng + pp[i]->nh);
    }
    fprintf(f, "CPU: %s; registry: %s\n\n", cpu, d->same_registry ? "the same" : "different (variants may exist in one only)");
    fprintf(f, "| race | m x k | threads | A winner | B winner | verdict | A, us | B, us | B/A (two sessions) | A gain | B gain |\n");
    fprintf(f, "|---|---|---:|---|---|---|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < d->n; i++) {
        const tt_prof_diff_row *r = &d->rows[i];
        char race[64], verdict[48], ag[16] = "-", bg[16] = "-", an[24] = "-", bn[24] = "-", ratio[16] = "-";
        snprintf(race, sizeof race, "%s %s%s%s", r->kind, r->name, r->regime[0] ? " " : "", r->regime);
        if (r->verdict == TT_DIFF_NEAR) snprintf(verdict, sizeof verdict, "near tie (%+.1f %%)", 100 * (r->margin - 1));
        else snprintf(verdict, sizeof verdict, "%s", tt_diff_verdict_name(r->verdict));
        if (r->a_flagged || r->b_flagged)
            snprintf(verdict + strlen(verdict), sizeof verdict - strlen(verdict), "; %s flagged",
                     r->a_flagged && r->b_flagged ? "both" : r->a_flagged ? "A" : "B");
        if (r->a_gain > 0) snprintf(ag, sizeof ag, "%.2fx", r->a_gain);
        if (r->b_gain > 0) snprintf(bg, sizeof bg, "%.2fx", r->b_gain);
        if (r->a_ns > 0) snprintf(an, sizeof an, "%.1f", r->a_ns / 1e3);
        if (r->b_ns > 0) snprintf(bn, sizeof bn, "%.1f", r->b_ns / 1e3);
        if (r->a_ns > 0 && r->b_ns > 0) snprintf(ratio, sizeof ratio, "%.3f", r->b_ns / r->a_ns);
        fprintf(f, "| %s | %dx%d | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", race, r->m, r->k, r->threads,
                r->a[0] ? r->a : "-", r->b[0] ? r->b : "-", verdict, an, bn, ratio, ag, bg);
    }
    fprintf(f, "\n%d races in both: %d the same winner, %d near ties (within %.0f %% in the race that picked), %d "
               "different; %d only in A, %d only in B.\n",
            d->same + d->near + d->other, d->same, d->near, 100 * tie, d->other, d->only_a, d->only_b);
    if (d->flagged)
        fprintf(f, "%d of the races were measured under interference in A or B (flagged: the model does not use "
                   "them unless the profile accepts flags).\n",
                d->flagged);
    if (d->n_gain)
        fprintf(f, "GEMV winners over their baselines, geometric mean of the %d races in both: A %.3fx, B %.3fx "
                   "(each a ratio inside its own session).\n",
                d->n_gain, d->gain_a, d->gain_b);
    fprintf(f, "Gains: the reference raced in the same session (GEMV baseline, LM head's static default, the "
               "token-by-token GEMV for prefill) over the winner. A, us and B, us come from two processes: B/A "
               "includes the host's drift between them.\n");
}

static json_t *diff_json(const char *pa, const char *pb, const tt_prof_diff *d, double tie)
{
    json_t *rows = json_array();
    for (int i = 0; i < d->n; i++) {
        const tt_prof_diff_row *r = &d->rows[i];
        json_t *o = json_pack("{s:s,s:s,s:i,s:i,s:i,s:s,s:s,s:s,s:f,s:f,s:f,s:f,s:s}", "kind", r->kind, "name", r->name,
                              "m", r->m, "k", r->k, "threads", r->threads, "regime", r->regime, "a_winner", r->a,
                              "b_winner", r->b, "a_ns", r->a_ns, "b_ns", r->b_ns, "a_gain", r->a_gain, "b_gain",
                              r->b_gain, "verdict", tt_diff_verdict_name(r->verdict));
        if (o && r->verdict == TT_DIFF_NEAR) json_object_set_new(o, "margin", json_real(r->margin));
        if (o) json_object_set_new(o, "a_flagged", json_boolean(r->a_flagged));
        if (o) json_object_set_new(o, "b_flagged", json_boolean(r->b_flagged));
        if (o) json_array_append_new(rows, o);
    }
    const char *cpu = d->cpu == TT_ID_SAME ? "same" : d->cpu == TT_ID_SAME_BUT_BRAND ? "same-part-other-brand" : "other";
    return json_pack("{s:s,s:s,s:s,s:b,s:f,s:o,s:{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:f,s:f}}", "a", pa, "b", pb, "cpu", cpu,
                     "same_registry", d->same_registry, "tie", tie, "rows", rows, "summary", "same", d->same, "near",
                     d->near, "differs", d->other, "only_a", d->only_a, "only_b", d->only_b, "flagged", d->flagged,
                     "gemv_gain_races", d->n_gain, "gemv_gain_a", d->gain_a, "gemv_gain_b", d->gain_b);
}

static int wisdom_diff(const char *pa, const char *pb, double tie, const char *md, const char *json)
{
    tt_profile a, b;
    if (tt_profile_read(pa, &a)) {
        fprintf(stderr, "tritune wisdom diff: %s\n", tt_last_error());
        return 1;
    }
    if (tt_profile_read(pb, &b)) {
        fprintf(stderr, "tritune wisdom diff: %s\n", tt_last_error());
        tt_profile_free(&a);
        return 1;
    }
    tt_prof_diff d;
    int rc = 0;
    if (tt_profile_diff(&a, &b, tie, &d)) {
        fprintf(stderr, "tritune wisdom diff: %s\n", tt_last_error());
        rc = 1;
    } else {
        diff_table(stdout, pa, &a, pb, &b, &d, tie);
        if (md) {
            FILE *f = fopen(md, "w");
            if (f) diff_table(f, pa, &a, pb, &b, &d, tie);
            if (!f || fclose(f)) fprintf(stderr, "tritune wisdom diff: cannot write %s: %s\n", md, strerror(errno)), rc = 1;
        }
        if (json) {
            json_t *j = diff_json(pa, pb, &d, tie);
            if (!j || json_dump_file(j, json, JSON_INDENT(1) | JSON_REAL_PRECISION(8)))
                fprintf(stderr, "tritune wisdom diff: cannot write %s\n", json), rc = 1;
            json_decref(j);
        }
        if (!rc && d.same + d.near + d.other == 0) {
            fprintf(stderr, "tritune wisdom diff: no race is in both profiles\n");
            rc = 3;
        }
        tt_profile_diff_free(&d);
    }
    tt_profile_free(&a);
    tt_profile_free(&b);
    return rc;
}

int tt_cmd_wisdom(int argc, char **argv)
{
    const char *pos[3] = {NULL, NULL, NULL}, *out = NULL, *file, *md = NULL, *json = NULL;
    bool force = false;
    double tie = 0.05;
    int npos = 0;
    const tt_opt opts[] = {TT_O_STR("--out", "-o", &out), TT_O_FLAG("--force", NULL, &force),
                           TT_O_NUM("--tie", NULL, &tie, 0, 1), TT_O_STR("--markdown", NULL, &md),
                           TT_O_STR("--json", NULL, &json)};
    int rc0 = tt_opt_parse(&(tt_cmd){.verb = "wisdom", .usage = usage, .opts = opts, .nopts = TT_NOPTS(opts),
                                     .pos = pos, .min_pos = 1, .max_pos = 3, .npos = &npos},
                           argc, argv);
    if (rc0 >= 0) return rc0;
    const char *sub = pos[0];
    file = pos[1];
    if (strcmp(sub, "show") && strcmp(sub, "export") && strcmp(sub, "import") && strcmp(sub, "diff")) {
        fprintf(stderr, "tritune wisdom: unknown subcommand '%s'\n\n", sub);
        usage(stderr);
        return 2;
    }
    bool diff = !strcmp(sub, "diff");
    if (diff ? npos != 3 : npos > 2) {
        fprintf(stderr, "tritune wisdom %s: %s\n\n", sub, diff ? "needs two profiles, A.json and B.json" : "too many arguments");
        usage(stderr);
        return 2;
    }
    if (!diff && (md || json)) {
        fprintf(stderr, "tritune wisdom %s: --markdown and --json belong to diff\n", sub);
        return 2;
    }
    if ((md && tt_opt_check_writable("wisdom", md) >= 0) || (json && tt_opt_check_writable("wisdom", json) >= 0))
        return 2;
    if (diff) return wisdom_diff(pos[1], pos[2], tie, md, json);
    if (out && tt_opt_check_writable("wisdom", out) >= 0) return 2;
    tt_cpu_id here;
    identity_here(&here);
    char path[1200], note[500] = "";
    bool have = file ? (snprintf(path, sizeof path, "%s", file), true) : tt_wisdom_find(&here, "results", path, sizeof path);
    if (!strcmp(sub, "show")) {
        if (have && tt_wisdom_load(path, &here, note, sizeof note))
            printf("%s does not apply here: %s\n", path, tt_last_error());
        printf("kernels: %s\n", tt_wisdom_source());
        if (note[0]) printf("note: %s\n", note);
        char slug[128];
        tt_cpu_id_slug(&here, slug, sizeof slug);
        printf("this machine: %s (%s), registry 0x%016llx (%d variants)\n", here.brand, slug,
               (unsigned long long)tt_registry_hash(), tt_registry_count);
        if (!have) return 0;
        tt_profile p;
        if (tt_profile_read(path, &p)) {
            fprintf(stderr, "tritune wisdom: %s\n", tt_last_error());
            return 1;
        }
        printf("%-18s %-12s %7s  %-52s %12s\n", "shape", "m x k", "threads", "winner (GEMV)", "median µs");
        const tt_prof_entry **w = calloc((size_t)(p.n ? p.n : 1), sizeof *w);
        int n = 0, flagged = 0;
        if (w && !tt_profile_winners(&p, w, &n, &flagged))
            for (int i = 0; i < n; i++) {
                char mk[32];
                snprintf(mk, sizeof mk, "%dx%d", w[i]->m, w[i]->k);
                printf("%-18s %-12s %7d  %-52s %12.1f\n", w[i]->shape, mk, w[i]->threads, tt_prof_entry_kernel(w[i]),
                       w[i]->winner.median_ns / 1e3);
                if (w[i]->in_model.variant[0])
                    printf("%-18s %-12s %7s  (in the model: %s)\n", "", "", "", w[i]->in_model.why);
            }
        if (flagged)
            printf("(%d entries measured under interference are not used: tritune tune --force-bake accepts them)\n",
                   flagged);
        for (int i = 0; i < p.ng; i++)
            printf("%-18s %dx%d t%d prefill (%d tokens): %s%s%s\n", p.g[i].shape, p.g[i].m, p.g[i].k, p.g[i].threads,
                   p.g[i].tokens, p.g[i].winner, p.g[i].shared[0] ? ", on the GEMV's bytes " : "", p.g[i].shared);
        for (int i = 0; i < p.nh; i++)
            printf("lm_head %-10s %dx%d t%d: %s %.2f ms (static default %s %.2f ms)\n", p.h[i].kind, p.h[i].m, p.h[i].k,
                   p.h[i].threads, p.h[i].winner, p.h[i].winner_ns / 1e6, p.h[i].deflt, p.h[i].default_ns / 1e6);
        free(w);
        tt_profile_free(&p);
        return 0;
    }
    if (!strcmp(sub, "export") || !strcmp(sub, "import")) {
        bool imp = sub[0] == 'i';
        if (imp ? !file : !out) {
            fprintf(stderr, "tritune wisdom %s: %s\n", sub, imp ? "FILE.json is required" : "-o FILE.json is required");
            return 2;
        }
        if (!have) {
            fprintf(stderr, "tritune wisdom export: no profile for this machine under results/ (run make tune)\n");
            return 1;
        }
        tt_profile p;
        if (tt_profile_read(path, &p)) {
            fprintf(stderr, "tritune wisdom %s: %s\n", sub, tt_last_error());
            return 1;
        }
        int rc = 0;
        char dst[1200], slug[128];
        if (imp) {
            if (tt_profile_check(&p, &here, tt_registry_hash(), note, sizeof note)) {
                fprintf(stderr, "tritune wisdom import: %s does not apply here: %s\n", path, tt_last_error());
                rc = 1;
            } else {
                tt_cpu_id_slug(&here, slug, sizeof slug);
                snprintf(dst, sizeof dst, "results/%s", slug);
                mkdir("results", 0755);
                mkdir(dst, 0755);
                snprintf(dst, sizeof dst, "results/%s/profile.json", slug);
                struct stat sb;
                if (!force && stat(dst, &sb) == 0) {
                    fprintf(stderr, "tritune wisdom import: %s exists (--force replaces it)\n", dst);
                    rc = 1;
                }
            }
        } else {
            snprintf(dst, sizeof dst, "%s", out);
        }
        if (!rc && tt_profile_write(&p, dst)) { /* written atomically, in the reader's own format */
            fprintf(stderr, "tritune wisdom %s: %s\n", sub, tt_last_error());
            rc = 1;
        }
        if (!rc) printf("%s %s -> %s%s%s\n", imp ? "imported" : "exported", path, dst, note[0] ? "; " : "", note);
        tt_profile_free(&p);
        return rc;
    }
    fprintf(stderr, "tritune wisdom: unknown subcommand '%s'\n", sub);
    usage(stderr);
    return 2;
}
