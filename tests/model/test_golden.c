/* test_golden.c — the model against outputs bitnet.cpp produced (tests/data/golden/, see its README): the same
 * GGUF files, the same token ids, bitnet.cpp's last-position logits and its greedy continuation. Unlike
 * test_model.c (the model against its own float reference, which can share a mistake with it), this checks that
 * tritune computes the function the reference implementation computes.
 *
 * For each file and id set:
 * - logits of the last position after the ids in one pass: Pearson >= 0.9995, max |diff| <= 2 % of the reference's
 *   range, no NaN/inf, and the reference's top-5 in its order up to near ties: the id we rank i-th must have a
 *   reference logit within TIE of the reference's i-th (two logits closer than that can trade places between
 *   implementations that differ only in rounding; these tiny random models have many);
 * - greedy, teacher-forced along the reference's own 32 ids: at every step, the reference's pick is our top-1 or
 *   within TIE of it (so each of the 32 steps is checked, not just those before the first near tie);
 * - greedy, free-running: our ids equal the reference's up to the first step whose top-1 margin is below TIE (the
 *   golden files do not carry the reference's margins; ours stand in for them);
 * - one token (ids1): every logit bit-identical to bitnet.cpp's;
 * - 2 threads and token-by-token prefill give bit-identical logits to 1 thread and batched prefill.
 * With adjacent-pair RoPE (the model before NEOX) the Pearson of the multi-token sets falls to 0.64-0.94. */
#include "model.h"
#include "parity.h"
#include "tt_test.h"

#include <math.h>

#define TIE ((float)TT_PARITY_TIE)
#define N_GREEDY 32

typedef struct golden {
    int n_vocab, n_prompt, argmax0;
    int prompt[128], greedy[N_GREEDY];
} golden;

static bool read_ints(FILE *f, const char *key, int *v, int max, int *n)
{
    char word[64];
    if (fscanf(f, "%63s", word) != 1 || strcmp(word, key)) return false;
    int k = 0, c;
    while ((c = fgetc(f)) == ' ' || c == '\t') {
        if (k == max || fscanf(f, "%d", &v[k]) != 1) return false;
        k++;
        /* leave the next separator for the loop condition */
    }
    if (c != '\n' && c != EOF) return false;
    *n = k;
    return true;
}

static bool read_golden(const char *path, golden *g)
{
    FILE *f = fopen(path, "r");
    if (!f) return false;
    int n1, n2;
    bool ok = read_ints(f, "n_vocab", &g->n_vocab, 1, &n1) && n1 == 1 &&
              read_ints(f, "prompt_ids", g->prompt, 128, &g->n_prompt) && g->n_prompt > 0 &&
              read_ints(f, "argmax0", &g->argmax0, 1, &n1) && n1 == 1 && read_ints(f, "greedy", g->greedy, N_GREEDY, &n2) &&
              n2 == N_GREEDY;
    fclose(f);
    return ok;
}

static float *read_f32(const char *path, int n)
{
    FILE *f = fopen(path, "rb");
    float *v = f ? malloc((size_t)n * sizeof(float)) : NULL;
    bool ok = v && fread(v, sizeof(float), (size_t)n, f) == (size_t)n && fgetc(f) == EOF;
    if (f) fclose(f);
    if (!ok) free(v);
    return ok ? v : NULL;
}

static tt_model *open_model(const char *path, int threads, int batch, int n_ctx)
{
    tt_model_opts o = {.threads = threads, .n_ctx = n_ctx, .batch = batch};
    tt_model *m = NULL;
    if (tt_model_open(path, &o, &m)) fprintf(stderr, "golden: %s: %s\n", path, tt_last_error());
    return m;
}

static void check_set(const char *dir, const char *file, const char *set)
{
    char gguf[512], txt[512], f32[512];
    snprintf(gguf, sizeof gguf, "%s/%s.gguf", dir, file);
    snprintf(txt, sizeof txt, "%s/%s.%s.txt", dir, file, set);
    snprintf(f32, sizeof f32, "%s/%s.%s.f32", dir, file, set);
    golden g;
    CHECKF(read_golden(txt, &g), "%s unreadable", txt);
    float *ref = read_golden(txt, &g) ? read_f32(f32, g.n_vocab) : NULL;
    CHECKF(ref, "%s unreadable or not %d floats", f32, g.n_vocab);
    tt_model *m = ref ? open_model(gguf, 1, 0, g.n_prompt + N_GREEDY) : NULL;
    CHECK(m != NULL);
    if (!m) {
        free(ref);
        return;
    }
    int V = m->config.vocab_size;
    CHECKF(V == g.n_vocab, "%s: vocab %d, golden %d", gguf, V, g.n_vocab);
    CHECK(!tt_model_prefill(m, g.prompt, g.n_prompt, 0, true));
    float *first = malloc((size_t)V * sizeof(float));
    memcpy(first, m->s.logits, (size_t)V * sizeof(float));

    tt_logit_cmp c;
    tt_logits_compare(ref, first, V, TT_PARITY_TOP, &c);
    printf("golden %s %s: Pearson %.6f, max |diff| %.4f (%.2f %% of %.3f), top-5 ref", file, set, c.pearson,
           c.max_abs_diff, 100.0 * c.max_abs_diff / c.ref_range, c.ref_range);
    for (int i = 0; i < c.top; i++) printf(" %d", c.top_ref[i]);
    printf(" / ours");
    for (int i = 0; i < c.top; i++) printf(" %d", c.top_got[i]);
    CHECKF(!c.nonfinite, "%s %s: non-finite logits", file, set);
    CHECKF(c.pearson >= TT_PARITY_MIN_PEARSON, "%s %s: Pearson %.6f < %.4f", file, set, c.pearson,
           TT_PARITY_MIN_PEARSON);
    CHECKF(c.max_abs_diff <= TT_PARITY_MAX_DIFF_OF_RANGE * c.ref_range, "%s %s: max |diff| %.4f > %.0f %% of %.3f", file,
           set, c.max_abs_diff, 100 * TT_PARITY_MAX_DIFF_OF_RANGE, c.ref_range);
    for (int i = 0; i < c.top; i++)
        CHECKF(fabsf(ref[c.top_got[i]] - ref[c.top_ref[i]]) <= TIE,
               "%s %s: rank %d is %d (reference logit %.4f), the reference's is %d (%.4f)", file, set, i + 1,
               c.top_got[i], ref[c.top_got[i]], c.top_ref[i], ref[c.top_ref[i]]);
    CHECK(c.top_ties && tt_logits_agree(&c)); /* the same rule as tritune eval --check */
    CHECKF(fabsf(ref[g.argmax0] - ref[c.top_ref[0]]) == 0, "%s %s: the golden argmax0 %d is not the top of its logits",
           file, set, g.argmax0);
    /* One token: no attention over earlier positions, so no int8 requantization of a rounding-level difference, and
     * every operation follows ggml's rounding points and orders (docs/FORMATS.md): the logits are bitnet.cpp's bit
     * for bit, on every ISA (the f16 head in ggml's AVX-512 order, which the golden files were made with). */
    if (g.n_prompt == 1) {
        int same = 0;
        for (int i = 0; i < V; i++) same += !memcmp(&first[i], &ref[i], sizeof(float));
        printf("; bit-identical logits: %d of %d", same, V);
        CHECKF(same == V, "%s %s: %d of %d logits differ from bitnet.cpp's bits", file, set, V - same, V);
    }

    /* teacher-forced along the reference's greedy ids */
    int worst_step = -1;
    float worst = 0;
    for (int k = 0; k < N_GREEDY; k++) {
        if (k && tt_model_forward(m, g.greedy[k - 1], g.n_prompt + k - 1, true)) {
            CHECKF(0, "%s %s: forward failed: %s", file, set, tt_last_error());
            break;
        }
        float top = m->s.logits[tt_argmax(m->s.logits, V)], gap = top - m->s.logits[g.greedy[k]];
        if (gap > worst) worst = gap, worst_step = k;
    }
    printf("; teacher-forced: largest gap to our top-1 %.4f (step %d)", worst, worst_step);
    CHECKF(worst <= TIE, "%s %s: at step %d the reference's greedy id %d is %.4f below our top-1", file, set,
           worst_step, g.greedy[worst_step], worst);

    /* free-running greedy from the prompt's logits, up to our first near tie */
    int agree = 0, compared = 0, next;
    CHECK(!tt_model_prefill(m, g.prompt, g.n_prompt, 0, true));
    for (int k = 0; k < N_GREEDY; k++) {
        int t2[2];
        tt_topk(m->s.logits, V, 2, t2);
        if (m->s.logits[t2[0]] - m->s.logits[t2[1]] < TIE) break;
        next = t2[0];
        compared++;
        if (next != g.greedy[k]) break;
        agree++;
        if (tt_model_forward(m, next, g.n_prompt + k, true)) break;
    }
    printf("; free-running greedy: %d of %d steps before a near tie agree\n", agree, compared);
    CHECKF(agree == compared, "%s %s: greedy step %d differs from the reference with a top-1 margin >= %.2f", file, set,
           agree, TIE);
    tt_model_close(m);

    /* other thread counts and token-by-token prefill: the same bits */
    int variants[2][2] = {{2, 0}, {1, 1}};
    for (int i = 0; i < 2; i++) {
        tt_model *m2 = open_model(gguf, variants[i][0], variants[i][1], g.n_prompt + N_GREEDY);
        CHECK(m2 != NULL);
        if (!m2) continue;
        CHECK(!tt_model_prefill(m2, g.prompt, g.n_prompt, 0, true));
        CHECKF(!memcmp(m2->s.logits, first, (size_t)V * sizeof(float)),
               "%s %s: %d threads, batch %d: logits differ from 1 thread, batched", file, set, variants[i][0],
               variants[i][1]);
        tt_model_close(m2);
    }
    free(first);
    free(ref);
}

/* The comparison itself on vectors worked by hand. */
static void check_parity_functions(void)
{
    float a[6] = {1, 5, 3, 5, -2, 0}, b[6] = {2, 10, 6, 10, -4, 0}, neg[6];
    for (int i = 0; i < 6; i++) neg[i] = -a[i];
    tt_logit_cmp c;
    tt_logits_compare(a, b, 6, 3, &c); /* b = 2a: perfectly correlated, top ids equal (ties to the lower id) */
    CHECK(fabs(c.pearson - 1.0) < 1e-12 && c.top_same && c.top_ref[0] == 1 && c.top_ref[1] == 3 && c.top_ref[2] == 2);
    CHECK(c.max_abs_diff == 5.0 && c.ref_range == 7.0 && c.ref_margin == 0.0 && !tt_logits_agree(&c));
    float near[6] = {1, 5, 3, 5.05f, -2, 0}; /* ids 1 and 3 a near tie in ref: swapped, still within ties */
    tt_logits_compare(near, a, 6, 3, &c);
    CHECK(!c.top_same && c.top_ties);
    tt_logits_compare(a, neg, 6, 3, &c);
    CHECK(fabs(c.pearson + 1.0) < 1e-12 && !c.top_same && !tt_logits_agree(&c));
    tt_logits_compare(a, a, 6, 5, &c);
    CHECK(c.max_abs_diff == 0 && c.top_same && tt_logits_agree(&c));
    b[5] = NAN;
    tt_logits_compare(a, b, 6, 3, &c);
    CHECK(c.nonfinite && !tt_logits_agree(&c));
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/data/golden";
    check_parity_functions();
    const char *files[] = {"tiny-a", "tiny-b"}, *sets[] = {"ids1", "ids16", "ids64"};
    for (int f = 0; f < 2; f++)
        for (int s = 0; s < 3; s++) check_set(dir, files[f], sets[s]);
    return tt_test_end("golden");
}
