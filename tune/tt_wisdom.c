/* tt_wisdom.c — see tt_wisdom.h. */
#include "tt_wisdom.h"
#include "tt_baked.h"
#include "tt_registry.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

tt_status tt_wisdom_install_profile(const tt_profile *p, const char *path)
{
    const tt_prof_entry **win = calloc((size_t)(p->n ? p->n : 1), sizeof *win);
    tt_baked_entry *e = calloc((size_t)(p->n ? p->n : 1), sizeof *e);
    tt_baked_gemm *g = calloc((size_t)(p->ng ? p->ng : 1), sizeof *g);
    tt_baked_head *h = calloc((size_t)(p->nh ? p->nh : 1), sizeof *h);
    int n = 0, flagged = 0;
    tt_status st = !win || !e || !g || !h ? tt_fail(TT_ERR_NOMEM, "wisdom") : tt_profile_winners(p, win, &n, &flagged);
    for (int i = 0; !st && i < n; i++) {
        /* the in-model pick where the stage measured one (an exact GEMV: tt_profile_winners checked); the time stays
         * the race winner's, the shape's best isolated time (fusion and thread-count rules) */
        const tt_variant *v = tt_variant_find(tt_prof_entry_kernel(win[i]));
        e[i] = (tt_baked_entry){win[i]->m, win[i]->k, win[i]->threads, v->name, v->gemv, win[i]->winner.median_ns,
                                win[i]->in_model.fuse};
    }
    for (int i = 0; !st && i < p->ng; i++) {
        const tt_prof_gemm *pg = &p->g[i];
        const tt_variant *w = tt_variant_find(pg->winner), *s = pg->shared[0] ? tt_variant_find(pg->shared) : NULL;
        g[i] = (tt_baked_gemm){pg->m, pg->k, pg->threads, w->name, w->gemm, pg->winner_ns,
                               s ? s->name : NULL, s ? s->gemm : NULL, pg->shared_ns};
    }
    for (int i = 0; !st && i < p->nh; i++) /* names checked by tt_profile_winners */
        h[i] = (tt_baked_head){tt_dense_kind_parse(p->h[i].kind), p->h[i].m, p->h[i].k,
                               p->h[i].threads, p->h[i].winner, p->h[i].winner_ns};
    if (!st) {
        char src[900];
        snprintf(src, sizeof src, "wisdom %s (cpu %s, created %s, %d winners%s)", path, p->cpu.brand, p->created, n,
                 flagged ? "; entries measured under interference left out" : "");
        st = tt_wisdom_install(&(tt_wisdom){.e = e, .n = n, .g = g, .ng = p->ng, .h = h, .nh = p->nh, .source = src});
    }
    free(win), free(e), free(g), free(h);
    return st;
}

tt_status tt_wisdom_load(const char *path, const tt_cpu_id *here, char *note, size_t note_n)
{
    tt_profile p;
    tt_status st = tt_profile_read(path, &p);
    if (st) return st;
    st = tt_profile_check(&p, here, tt_registry_hash(), note, note_n);
    if (!st) st = tt_wisdom_install_profile(&p, path);
    tt_profile_free(&p);
    return st;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

bool tt_wisdom_find(const tt_cpu_id *here, const char *root, char *path, size_t n)
{
    const char *env = getenv("TRITUNE_WISDOM");
    if (env && *env) {
        snprintf(path, n, "%s", env);
        return true;
    }
    char slug[128];
    tt_cpu_id_slug(here, slug, sizeof slug);
    snprintf(path, n, "%s/%s/profile.json", root, slug);
    if (access(path, R_OK) == 0) return true;
    DIR *d = opendir(root);
    if (!d) return false;
    char *names[256];
    int k = 0;
    for (struct dirent *de; k < 256 && (de = readdir(d));)
        if (de->d_name[0] != '.' && (names[k] = strdup(de->d_name))) k++;
    closedir(d);
    qsort(names, (size_t)k, sizeof *names, cmp_str);
    bool found = false;
    for (int i = 0; i < k; i++) {
        char cand[1024];
        snprintf(cand, sizeof cand, "%s/%s/profile.json", root, names[i]);
        tt_profile p;
        if (!found && access(cand, R_OK) == 0 && tt_profile_read(cand, &p) == TT_OK) {
            if (tt_cpu_id_match(&p.cpu, here, NULL, 0) != TT_ID_OTHER) {
                snprintf(path, n, "%s", cand);
                found = true;
            }
            tt_profile_free(&p);
        }
        free(names[i]);
    }
    return found;
}
