/* Runtime wisdom at program start (tt_wisdom_startup), and `tritune wisdom show | export | import`. */
#include "tt_baked.h"
#include "tt_cli.h"
#include "tt_opt.h"
#include "tt_registry.h"
#include "tt_topo.h"
#include "tt_wisdom.h"

#include <errno.h>
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
    char path[1200], note[500];
    bool found = file ? (snprintf(path, sizeof path, "%s", file), true) : tt_wisdom_find(&here, "results", path, sizeof path);
    if (!found) {
        tt_debug("wisdom: no profile for this CPU under results/ (%s)", tt_wisdom_source());
        return 0;
    }
    if (tt_wisdom_load(path, &here, note, sizeof note)) {
        fprintf(stderr, "tritune %s: wisdom %s not used: %s\n", verb, path, tt_last_error());
        if (file) return 1; /* named explicitly: an error, not a fallback */
        fprintf(stderr, "tritune %s: kernels: %s\n", verb, tt_wisdom_source());
        return 0;
    }
    if (note[0]) fprintf(stderr, "tritune %s: wisdom %s: %s\n", verb, path, note);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: tritune wisdom show [PROFILE.json]\n"
               "       tritune wisdom export -o FILE.json [PROFILE.json]\n"
               "       tritune wisdom import FILE.json [--force]\n"
               "Tuning results (\"wisdom\") are the profile.json `tritune tune` writes under results/<cpu-id>/. The model\n"
               "verbs (run, eval, bench-e2e) load it at start: --wisdom FILE names one (an error if it does not apply),\n"
               "--no-wisdom uses none; default: $TRITUNE_WISDOM, results/<cpu-id>/profile.json, else a profile under\n"
               "results/ from the same CPU under another brand string. A profile applies where the CPU identity matches\n"
               "(vendor, family, model, stepping, usable ISA features, cores, PUs, caches; the brand string is only\n"
               "noted) and the kernel registry is the same.\n"
               "  show     the winners in effect here (or of PROFILE.json) and where they come from\n"
               "  export   copy the profile in effect (or PROFILE.json) to FILE.json, for machines of the same kind\n"
               "  import   check FILE.json against this machine and registry, then install it as\n"
               "           results/<cpu-id>/profile.json (--force replaces an existing one)\n");
}

int tt_cmd_wisdom(int argc, char **argv)
{
    const char *pos[2] = {NULL, NULL}, *out = NULL, *file;
    bool force = false;
    int npos = 0;
    const tt_opt opts[] = {TT_O_STR("--out", "-o", &out), TT_O_FLAG("--force", NULL, &force)};
    int rc0 = tt_opt_parse(&(tt_cmd){.verb = "wisdom", .usage = usage, .opts = opts, .nopts = TT_NOPTS(opts),
                                     .pos = pos, .min_pos = 1, .max_pos = 2, .npos = &npos},
                           argc, argv);
    if (rc0 >= 0) return rc0;
    const char *sub = pos[0];
    file = pos[1];
    if (strcmp(sub, "show") && strcmp(sub, "export") && strcmp(sub, "import")) {
        fprintf(stderr, "tritune wisdom: unknown subcommand '%s'\n\n", sub);
        usage(stderr);
        return 2;
    }
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
                printf("%-18s %-12s %7d  %-52s %12.1f\n", w[i]->shape, mk, w[i]->threads, w[i]->winner.variant,
                       w[i]->winner.median_ns / 1e3);
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
