/* test_model.c — the fast model against the float reference on tiny random models.
 *
 * - Greedy decoding for 32 steps: the same token at every step, and logits within LOGIT_TOL · max(1, max|logit|)
 *   of the reference. The reference recomputes the whole sequence without a cache (prefill style), so this also
 *   checks the KV-cache path. Its linears sum T·q in f32 (exact) and scale like the kernels; model_ref.c says why
 *   anything less exact cannot promise 32 identical greedy tokens (int8 re-quantization amplifies 1-ulp
 *   differences). Today the two agree bit for bit; the tolerance leaves room for reordered float code elsewhere.
 * - Re-running the same sequence over the same cache (recompute) gives bit-identical logits.
 * - 1 vs 3 threads (2 on a 2-CPU machine), and the registry's kernel vs the scalar oracle backend: bit-identical logits (the integer
 *   dots are exact, and the float code after them is the same).
 * - Batched prefill (tt_model_prefill: one GEMM per linear layer per chunk) gives bit-identical logits, and a
 *   bit-identical cache (the greedy decode after it matches), to token-by-token decoding: chunk sizes that divide
 *   the prompt and that do not, a prompt split into two prefill calls, 1 and 2 threads, the oracle's GEMM backend;
 *   and the same with q/k/v and gate/up fused into one stacked matrix each (decode and prefill).
 * - The requantized q8 LM head stays close to the f16 one.
 * - Bad tokens, positions, files and corrupted weights give errors with messages. */
#include "model.h"
#include "tt_baked.h"
#include "tt_dense.h"
#include "tt_half.h"
#include "tt_model_test.h"

#include <math.h>

#define STEPS 32
#define LOGIT_TOL 1e-4f /* relative to max(1, max|logit|); observed: 0 */

static char g_path[256];
/* Threads for the split test: 3 (an odd split) where there are 3 CPUs; never more than the CPUs, because the
 * kernels' pool spins between jobs and oversubscription makes every job wait for a scheduler time slice. */
static int g_threads = 2;

static tt_status write_model(const char *preset, void (*tweak)(tt_synth_opts *), char *path, size_t n)
{
    tt_synth_opts o;
    tt_status st = tt_synth_preset(preset, &o);
    if (tweak) tweak(&o);
    tt_test_tmp(path, n, "model");
    return st ? st : tt_synth_write(&o, path);
}

/* Greedy decode STEPS tokens from BOS; fills tokens[0..STEPS] and the final logits. */
static bool decode(tt_model *m, int *tokens, float *last)
{
    tokens[0] = m->config.bos;
    for (int i = 0; i < STEPS; i++) {
        tt_status st = tt_model_forward(m, tokens[i], i, true);
        CHECKF(!st, "%s", tt_last_error());
        if (st) return false;
        tokens[i + 1] = tt_argmax(m->s.logits, m->config.vocab_size);
    }
    memcpy(last, m->s.logits, (size_t)m->config.vocab_size * sizeof(float));
    return true;
}

static tt_model *open_model_with(const char *path, int threads, tt_lm_head head, const tt_plan_backend *be)
{
    tt_model_opts o = {.threads = threads, .n_ctx = 64, .lm_head = head, .backend = be};
    tt_model *m = NULL;
    tt_status st = tt_model_open(path, &o, &m);
    CHECKF(!st, "open %s: %s", path, tt_last_error());
    return m;
}

static tt_model *open_model(const char *path, int threads, tt_lm_head head)
{
    return open_model_with(path, threads, head, NULL);
}

/* The fast path decodes greedily with its KV cache; the reference then runs the same 33 tokens once, without a
 * cache, and gives the logits of every position to compare with each step. */
static void check_against_reference(const char *path, const char *label)
{
    tt_model *m = open_model(path, 1, TT_LM_HEAD_FILE);
    tt_model_ref *r = NULL;
    tt_status st = tt_model_ref_open(path, &r);
    CHECKF(!st, "reference: %s", tt_last_error());
    if (!m || !r) {
        tt_model_close(m);
        tt_model_ref_close(r);
        return;
    }
    int V = m->config.vocab_size, tokens[STEPS + 1];
    float *fast = malloc((size_t)STEPS * V * sizeof *fast), *ref = malloc((size_t)STEPS * V * sizeof *ref);
    tokens[0] = m->config.bos;
    for (int i = 0; i < STEPS; i++) {
        CHECK(!tt_model_forward(m, tokens[i], i, true));
        memcpy(fast + (size_t)i * V, m->s.logits, (size_t)V * sizeof *fast);
        tokens[i + 1] = tt_argmax(m->s.logits, V);
    }
    CHECKF(!tt_model_ref_forward(r, tokens, STEPS, true, ref), "%s", tt_last_error());
    float worst = 0;
    for (int i = 0; i < STEPS; i++) {
        const float *f = fast + (size_t)i * V, *g = ref + (size_t)i * V;
        float scale = 1.0f, diff = 0.0f;
        for (int v = 0; v < V; v++) {
            scale = fmaxf(scale, fabsf(g[v]));
            diff = fmaxf(diff, fabsf(g[v] - f[v]));
        }
        worst = fmaxf(worst, diff / scale);
        CHECKF(diff <= LOGIT_TOL * scale, "%s step %d: logits differ by %g (scale %g)", label, i, diff, scale);
        CHECKF(tt_argmax(g, V) == tokens[i + 1], "%s step %d: greedy token %d vs reference %d", label, i,
               tokens[i + 1], tt_argmax(g, V));
    }
    printf("%s: %d greedy steps match the reference; worst relative logit difference %.2e\n", label, STEPS, worst);
    /* The last-position-only form agrees with the all-positions form. */
    float *one = malloc((size_t)V * sizeof *one);
    CHECK(!tt_model_ref_forward(r, tokens, 5, false, one) && !memcmp(one, ref + 4 * (size_t)V, (size_t)V * 4));
    free(one);
    /* Recompute over the same cache from position 0: bit-identical. */
    for (int i = 0; i < STEPS; i++) CHECK(!tt_model_forward(m, tokens[i], i, i == STEPS - 1));
    CHECKF(!memcmp(fast + (size_t)(STEPS - 1) * V, m->s.logits, (size_t)V * sizeof *fast),
           "%s: recompute differs from the cached run", label);
    free(fast);
    free(ref);
    tt_model_close(m);
    tt_model_ref_close(r);
}

/* Decode with one configuration; the model is closed before the next opens (idle pools would compete for the
 * CPUs). Returns the greedy tokens and final logits. */
static bool decode_with(const char *path, int threads, tt_lm_head head, const tt_plan_backend *be, int *tokens,
                        float *logits, char *kernel, size_t *head_bytes)
{
    tt_model *m = open_model_with(path, threads, head, be);
    CHECK(!m || m->backend == be);
    bool ok = m && decode(m, tokens, logits);
    if (m) {
        snprintf(kernel, 96, "%s", m->kernel_name);
        *head_bytes = m->bytes_head;
    }
    tt_model_close(m);
    return ok;
}

static void check_paths_identical(const char *path)
{
    tt_model *m = open_model(path, 1, TT_LM_HEAD_FILE);
    if (!m) return;
    int V = m->config.vocab_size;
    /* The backend is the model's own (tt_model_opts.backend, NULL = the registry): a second model open at the same
     * time on the oracle changes nothing in the first. */
    tt_model *mo = open_model_with(path, 1, TT_LM_HEAD_FILE, &tt_plan_backend_oracle);
    CHECK(m->backend == &tt_plan_backend_registry);
    CHECK(!mo || (mo->backend == &tt_plan_backend_oracle && !strcmp(mo->kernel_name, "plan_oracle_i2s") &&
                  strcmp(m->kernel_name, "plan_oracle_i2s")));
    tt_model_close(mo);
    tt_model_close(m);
    int t1[STEPS + 1], t3[STEPS + 1], to[STEPS + 1], tq[STEPS + 1];
    float *l1 = malloc((size_t)V * 4), *l3 = malloc((size_t)V * 4), *lo = malloc((size_t)V * 4),
          *lq = malloc((size_t)V * 4);
    char k1[96], k3[96], ko[96], kq[96];
    size_t h1, h3, ho, hq;
    if (decode_with(path, 1, TT_LM_HEAD_FILE, &tt_plan_backend_registry, t1, l1, k1, &h1) &&
        decode_with(path, g_threads, TT_LM_HEAD_FILE, &tt_plan_backend_registry, t3, l3, k3, &h3) &&
        decode_with(path, 1, TT_LM_HEAD_FILE, &tt_plan_backend_oracle, to, lo, ko, &ho) &&
        decode_with(path, 1, TT_LM_HEAD_Q8, &tt_plan_backend_registry, tq, lq, kq, &hq)) {
        printf("kernel %s (registry) vs %s (oracle backend)\n", k1, ko);
        CHECK(!strcmp(ko, "plan_oracle_i2s"));
        CHECK(!memcmp(t1, t3, sizeof t1) && !memcmp(l1, l3, (size_t)V * 4));
        CHECK(!memcmp(t1, to, sizeof t1) && !memcmp(l1, lo, (size_t)V * 4));
        /* q8 head: int8 rows with a per-row absmax scale; compare on the same sequence only while the greedy
         * tokens agree (a different token changes everything after it). */
        int same = 0;
        while (same < STEPS + 1 && t1[same] == tq[same]) same++;
        float scale = 1.0f, diff = 0.0f;
        for (int v = 0; v < V; v++) scale = fmaxf(scale, fabsf(l1[v]));
        for (int v = 0; v < V; v++) diff = fmaxf(diff, fabsf(lq[v] - l1[v]));
        printf("q8 LM head: greedy tokens agree for %d of %d steps; final max logit difference %.3g (scale %.3g)\n",
               same - 1, STEPS, diff, scale);
        CHECKF(same >= 4, "q8 LM head diverged at step %d", same - 1);
        if (same == STEPS + 1) CHECKF(diff <= 0.05f * scale, "q8 LM head off by %g (scale %g)", diff, scale);
        CHECK(hq < h1 * 6 / 10);
    }
    free(l1), free(l3), free(lo), free(lq);
}

/* Prompt of P tokens through tt_model_prefill (split at `split` into two calls when > 0), then G greedy decode
 * steps; logits after the prompt and after every decode step go to out ((G + 1) x V). */
#define PROMPT 37
#define GEN 6
static bool prefill_run(const char *path, int threads, int batch, int split, const tt_plan_backend *be, float *out,
                        char *gemm_kernel, tt_fuse fuse)
{
    tt_model_opts o = {.threads = threads, .n_ctx = 64, .lm_head = TT_LM_HEAD_FILE, .batch = batch, .fuse = fuse,
                       .backend = be};
    tt_model *m = NULL;
    tt_status st = tt_model_open(path, &o, &m);
    CHECKF(!st, "open batch %d: %s", batch, tt_last_error());
    if (st) return false;
    /* forced fusion is honoured (one stacked matrix per group, segments of the tensors' heights) */
    CHECK(m->fused_qkv == (fuse == TT_FUSE_ON) && m->fused_gate_up == (fuse == TT_FUSE_ON));
    if (fuse == TT_FUSE_ON)
        CHECK(m->w.layers[0].wqkv.nseg == 3 && m->w.layers[0].w_gate_up.nseg == 2 && !m->w.layers[0].wq.plan.m &&
              m->w.layers[0].wqkv.plan.m == m->w.layers[0].wqkv.seg_m[0] + 2 * m->w.layers[0].wqkv.seg_m[1]);
    int V = m->config.vocab_size, tokens[PROMPT];
    uint64_t rng = 11;
    for (int i = 0; i < PROMPT; i++) tokens[i] = (int)(tt_rand_next(&rng) % (uint64_t)V);
    snprintf(gemm_kernel, 96, "%s", m->gemm_kernel_name ? m->gemm_kernel_name : "none");
    bool ok = true;
    if (split > 0) {
        ok = !tt_model_prefill(m, tokens, split, 0, false) && !tt_model_prefill(m, tokens + split, PROMPT - split, split, true);
    } else {
        ok = !tt_model_prefill(m, tokens, PROMPT, 0, true);
    }
    CHECKF(ok, "prefill batch %d: %s", batch, tt_last_error());
    memcpy(out, m->s.logits, (size_t)V * sizeof(float));
    for (int g = 0; g < GEN && ok; g++) {
        int next = tt_argmax(m->s.logits, V);
        ok = !tt_model_forward(m, next, PROMPT + g, true);
        memcpy(out + (size_t)(g + 1) * V, m->s.logits, (size_t)V * sizeof(float));
    }
    tt_model_close(m);
    return ok;
}

static void check_prefill(const char *path, const char *label)
{
    tt_model *m = open_model(path, 1, TT_LM_HEAD_FILE);
    if (!m) return;
    int V = m->config.vocab_size;
    tt_model_close(m);
    size_t bytes = (size_t)(GEN + 1) * V * sizeof(float);
    float *ref = malloc(bytes), *got = malloc(bytes);
    char kernel[96];
    if (!prefill_run(path, 1, 1, 0, &tt_plan_backend_registry, ref, kernel, TT_FUSE_OFF)) goto out;
    CHECK(!strcmp(kernel, "none")); /* batch 1: token by token, no GEMM kernel chosen */
    /* every configuration, fused q/k/v + gate/up (fuse 1) or not, gives the bits of unfused token by token */
    static const struct { int threads, batch, split, oracle, fuse; } cfg[] = {
        {1, 64, 0, 0, 0}, {1, 8, 0, 0, 0}, {1, 5, 20, 0, 0}, {2, 16, 0, 0, 0}, {2, 3, 11, 0, 0}, {1, 8, 0, 1, 0},
        {2, 7, 0, 1, 0},  {1, 1, 0, 0, 1}, {2, 1, 0, 0, 1},  {2, 16, 0, 0, 1}, {1, 5, 20, 0, 1}, {1, 8, 0, 1, 1},
    };
    for (size_t i = 0; i < sizeof cfg / sizeof *cfg; i++) {
        int th = cfg[i].threads > g_threads ? g_threads : cfg[i].threads;
        memset(got, 0, bytes);
        if (!prefill_run(path, th, cfg[i].batch, cfg[i].split,
                         cfg[i].oracle ? &tt_plan_backend_oracle : &tt_plan_backend_registry, got, kernel,
                         cfg[i].fuse ? TT_FUSE_ON : TT_FUSE_OFF))
            continue;
        int first = -1;
        for (int g = 0; g <= GEN && first < 0; g++)
            if (memcmp(ref + (size_t)g * V, got + (size_t)g * V, (size_t)V * sizeof(float))) first = g;
        CHECKF(first < 0,
               "%s: prefill (threads %d, batch %d, split %d, %s, %s) differs from token by token at step %d", label, th,
               cfg[i].batch, cfg[i].split, kernel, cfg[i].fuse ? "fused" : "separate", first);
        if (i == 0) printf("%s: batched prefill with %s = token by token (logits bit-identical, %d decode steps)\n",
                           label, kernel, GEN);
    }
    /* argument checks */
    m = open_model(path, 1, TT_LM_HEAD_FILE);
    if (m) {
        int t[2] = {0, m->config.vocab_size};
        CHECK(tt_model_prefill(m, t, 2, 0, true) == TT_ERR_VALUE);
        CHECK(tt_model_prefill(m, t, 1, 64, true) == TT_ERR_VALUE);
        CHECK(tt_model_prefill(m, t, 0, 0, true) == TT_ERR_VALUE);
        tt_model_close(m);
    }
out:
    free(ref);
    free(got);
}

/* The ternary matrices held in TL1 or TL2 (tt_model_opts.weights, or per shape from the wisdom's winner) give the
 * I2_S model's bits: decode, and batched prefill through the I2_S GEMM copy those plans keep. */
static int count_fmt(const tt_model *m, tt_fmt f)
{
    int n = 0;
    for (int l = 0; l < m->config.n_layers; l++) {
        const tt_layer_weights *L = &m->w.layers[l];
        const tt_linear *all[9] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down, &L->wqkv,
                                   &L->w_gate_up};
        for (int i = 0; i < 9; i++) n += all[i]->plan.m && all[i]->plan.v->fmt == f && all[i]->plan.fmt == f;
    }
    return n;
}

static bool decode_weights(const char *path, tt_weights wf, const tt_plan_backend *be, int *tokens, float *logits,
                           float *pre, tt_model **keep)
{
    tt_model_opts o = {.threads = g_threads, .n_ctx = 64, .lm_head = TT_LM_HEAD_FILE, .batch = 8, .weights = wf,
                       .backend = be};
    tt_model *m = NULL;
    tt_status st = tt_model_open(path, &o, &m);
    CHECKF(!st, "open with weights %d: %s", (int)wf, tt_last_error());
    if (st) return false;
    bool ok = decode(m, tokens, logits);
    int V = m->config.vocab_size, ids[PROMPT];
    for (int i = 0; i < PROMPT; i++) ids[i] = (i * 7 + 3) % V;
    ok = ok && !tt_model_prefill(m, ids, PROMPT, 0, true);
    memcpy(pre, m->s.logits, (size_t)V * sizeof(float));
    *keep = m;
    return ok;
}

/* The untuned format rule (tt_pick_fmt): B3 where a B3 carry-decoder kernel on AVX-512 VNNI runs the shape, else
 * I2_S. */
static tt_fmt untuned_fmt(int m, int k)
{
    for (int i = 0; i < tt_registry_count; i++) {
        const tt_variant *v = &tt_registry[i];
        if (v->op == TT_OP_GEMV && v->fmt == TT_FMT_B3 && v->p.lut == 2 && v->isa == TT_ISA_AVX512VNNI &&
            tt_variant_eligible(v, tt_cpu_get(), NULL, 0) && !tt_variant_check_shape(v, m, k))
            return TT_FMT_B3;
    }
    return TT_FMT_I2S;
}

static void check_weights_formats(const char *path)
{
    tt_model *m = open_model(path, 1, TT_LM_HEAD_FILE);
    if (!m) return;
    int V = m->config.vocab_size, nmat = m->n_fmt[0] + m->n_fmt[1] + m->n_fmt[2] + m->n_fmt[3];
    tt_model_close(m);
    int t0[STEPS + 1], t1[STEPS + 1];
    float *l0 = malloc((size_t)V * 4), *l1 = malloc((size_t)V * 4), *p0 = malloc((size_t)V * 4),
          *p1 = malloc((size_t)V * 4);
    if (!decode_weights(path, TT_WEIGHTS_I2S, NULL, t0, l0, p0, &m)) goto out;
    CHECK(m->n_fmt[TT_FMT_I2S] == nmat && count_fmt(m, TT_FMT_I2S) == nmat);
    tt_model_close(m);
    static const tt_weights forced[] = {TT_WEIGHTS_TL1, TT_WEIGHTS_TL2, TT_WEIGHTS_B3};
    for (int i = 0; i < 3; i++) {
        tt_fmt f = (tt_fmt)(forced[i] - TT_WEIGHTS_I2S);
        if (!decode_weights(path, forced[i], NULL, t1, l1, p1, &m)) continue;
        const tt_plan *pl = &m->w.layers[0].w_down.plan;
        CHECKF(m->n_fmt[f] == nmat && count_fmt(m, f) == nmat, "%s: %d of %d matrices", tt_fmt_name(f), count_fmt(m, f),
               nmat);
        /* prefill runs an I2_S GEMM on its own copy: no GEMM kernel reads TL or B3 bytes */
        CHECK(m->batch == 8 && pl->vg && pl->vg->fmt == TT_FMT_I2S && pl->packed_g_own && m->bytes_gemm_copy > 0);
        CHECKF(!memcmp(t0, t1, sizeof t0) && !memcmp(l0, l1, (size_t)V * 4), "%s weights: decode differs from I2_S",
               tt_fmt_name(f));
        CHECKF(!memcmp(p0, p1, (size_t)V * 4), "%s weights: prefill differs from I2_S", tt_fmt_name(f));
        printf("weights %s (%s): %d matrices, decode and prefill bit-identical to I2_S; prefill GEMM %s\n",
               tt_fmt_name(f), pl->v->name, nmat, pl->vg ? pl->vg->name : "none");
        tt_model_close(m);
    }
    /* auto: a wisdom whose winner for the ffn_down shape is a TL2 kernel puts those matrices, and only those, in TL2 */
    tt_model *mc = open_model(path, 1, TT_LM_HEAD_FILE);
    if (!mc) goto out;
    int dm = mc->config.dim, dk = mc->config.hidden_dim, layers = mc->config.n_layers;
    tt_model_close(mc);
    const tt_variant *tl2 = NULL;
    for (int i = 0; i < tt_registry_count && !tl2; i++) {
        const tt_variant *v = &tt_registry[i];
        if (v->op == TT_OP_GEMV && v->fmt == TT_FMT_TL2 && v->exact && tt_variant_eligible(v, tt_cpu_get(), NULL, 0) &&
            !tt_variant_check_shape(v, dm, dk))
            tl2 = v;
    }
    CHECK(tl2 != NULL);
    if (tl2) {
        tt_baked_entry e = {.m = dm, .k = dk, .threads = g_threads, .variant = tl2->name, .gemv = tl2->gemv,
                            .median_ns = 1000};
        CHECK(!tt_wisdom_install(&(tt_wisdom){.e = &e, .n = 1, .source = "test"}));
        char why[200];
        CHECK(tt_pick_fmt(dm, dk, g_threads, why, sizeof why) == TT_FMT_TL2 && strstr(why, tl2->name));
        tt_fmt un = untuned_fmt(dm, dm);
        CHECK(tt_pick_fmt(dm, dm, g_threads, why, sizeof why) == un &&
              (un == TT_FMT_I2S || strstr(why, "untuned guess: B3")));
        if (decode_weights(path, TT_WEIGHTS_AUTO, NULL, t1, l1, p1, &m)) {
            CHECKF(m->n_fmt[TT_FMT_TL2] == layers && count_fmt(m, TT_FMT_TL2) == layers &&
                       m->w.layers[0].w_down.plan.v == tl2 && m->n_fmt[un] == nmat - layers,
                   "auto: %d TL2 matrices, want %d (%s)", m->n_fmt[TT_FMT_TL2], layers, m->fmt_note);
            CHECK(strstr(m->fmt_note, "tl2") != NULL);
            CHECK(!memcmp(t0, t1, sizeof t0) && !memcmp(l0, l1, (size_t)V * 4) && !memcmp(p0, p1, (size_t)V * 4));
            printf("weights auto: %s\n", m->fmt_note);
            tt_model_close(m);
        }
        /* the oracle backend reads I2_S only: under the same wisdom it holds I2_S; asked for TL2 it refuses */
        if (decode_weights(path, TT_WEIGHTS_AUTO, &tt_plan_backend_oracle, t1, l1, p1, &m)) {
            CHECK(m->n_fmt[TT_FMT_I2S] == nmat && !memcmp(l0, l1, (size_t)V * 4));
            tt_model_close(m);
        }
        tt_wisdom_install(NULL);
        /* TRITUNE_KERNEL's format wins over the wisdom's */
        setenv("TRITUNE_KERNEL", tl2->name, 1);
        CHECK(tt_pick_fmt(dm, dk, 1, why, sizeof why) == TT_FMT_TL2 && strstr(why, "TRITUNE_KERNEL"));
        unsetenv("TRITUNE_KERNEL");
        CHECK(tt_pick_fmt(dm, dk, 1, why, sizeof why) == untuned_fmt(dm, dk));
    }
    tt_model_opts o = {.threads = 1, .n_ctx = 64, .weights = TT_WEIGHTS_TL2, .backend = &tt_plan_backend_oracle};
    m = NULL;
    CHECK(tt_model_open(path, &o, &m) == TT_ERR_UNSUPPORTED && !m && strstr(tt_last_error(), "I2_S only"));
    o.weights = (tt_weights)7, o.backend = NULL;
    CHECK(tt_model_open(path, &o, &m) == TT_ERR_VALUE && !m);
out:
    free(l0), free(l1), free(p0), free(p1);
}

/* tt_model_alt (the tuner's in-model stage, tritune tune-model): every linear of one shape repacked for another
 * kernel, one of each format runnable on the shape here, decodes and prefills the same bits as the model's own; the
 * format counts follow the swap; a swap back restores the plans; a kept swap survives freeing the alternative. */
static void check_alt(const char *path)
{
    tt_model_opts o = {.threads = g_threads, .n_ctx = 64, .lm_head = TT_LM_HEAD_FILE, .batch = 8, .calibrate = -1};
    tt_model *m = NULL;
    CHECKF(tt_model_open(path, &o, &m) == TT_OK, "%s", tt_last_error());
    if (!m) return;
    const int V = m->config.vocab_size;
    int tok_ref[STEPS + 1], tok[STEPS + 1], ids[PROMPT], tried = 0;
    float *ref = malloc(sizeof(float) * (size_t)V), *pre_ref = malloc(sizeof(float) * (size_t)V),
          *got = malloc(sizeof(float) * (size_t)V);
    for (int i = 0; i < PROMPT; i++) ids[i] = (i * 7 + 3) % V;
    if (!ref || !pre_ref || !got || !decode(m, tok_ref, ref) || tt_model_prefill(m, ids, PROMPT, 0, true)) goto done;
    memcpy(pre_ref, m->s.logits, sizeof(float) * (size_t)V);
    const tt_layer_weights *L0 = &m->w.layers[0];
    const tt_linear *lin[9] = {&L0->wq, &L0->wk, &L0->wv, &L0->wo, &L0->w_gate, &L0->w_up, &L0->w_down, &L0->wqkv,
                               &L0->w_gate_up};
    for (int i = 0; i < 9; i++) {
        const int pm = lin[i]->plan.m, pk = lin[i]->plan.k;
        bool seen = !pm;
        for (int j = 0; j < i && !seen; j++) seen = lin[j]->plan.m == pm && lin[j]->plan.k == pk;
        if (seen) continue;
        int per_layer = 0; /* the linears of this shape in a layer */
        for (int j = 0; j < 9; j++) per_layer += lin[j]->plan.m == pm && lin[j]->plan.k == pk;
        for (int f = 0; f < TT_FMT_COUNT; f++) {
            const tt_variant *v = NULL;
            for (int r = 0; r < tt_registry_count && !v; r++) {
                const tt_variant *c = &tt_registry[r];
                if (c->op == TT_OP_GEMV && c->exact && (int)c->fmt == f && c != lin[i]->plan.v &&
                    tt_variant_eligible(c, tt_cpu_get(), NULL, 0) && !tt_variant_check_shape(c, pm, pk))
                    v = c;
            }
            if (!v) continue;
            tt_model_alt *a = NULL;
            const tt_variant *own = lin[i]->plan.v;
            const size_t bytes = m->bytes_ternary;
            int nf = 0;
            for (int g = 0; g < TT_FMT_COUNT; g++) nf += m->n_fmt[g];
            CHECKF(tt_model_alt_build(m, pm, pk, v, &a) == TT_OK, "%dx%d %s: %s", pm, pk, v->name, tt_last_error());
            if (!a) continue;
            tried++;
            CHECKF(tt_model_alt_linears(a) == per_layer * m->config.n_layers, "%dx%d: %d linears", pm, pk,
                   tt_model_alt_linears(a));
            CHECK(lin[i]->plan.v == own); /* built, not yet run */
            tt_model_alt_swap(m, a);
            CHECKF(lin[i]->plan.v == v && count_fmt(m, v->fmt) >= tt_model_alt_linears(a), "%s not swapped in", v->name);
            int nf2 = 0;
            for (int g = 0; g < TT_FMT_COUNT; g++) nf2 += m->n_fmt[g];
            CHECK(nf2 == nf);
            if (decode(m, tok, got))
                CHECKF(!memcmp(tok, tok_ref, sizeof tok) && !memcmp(got, ref, sizeof(float) * (size_t)V),
                       "%dx%d in %s: decode differs", pm, pk, v->name);
            CHECKF(!tt_model_prefill(m, ids, PROMPT, 0, true) && !memcmp(m->s.logits, pre_ref, sizeof(float) * (size_t)V),
                   "%dx%d in %s: prefill differs", pm, pk, v->name);
            tt_model_alt_swap(m, a); /* back */
            CHECK(lin[i]->plan.v == own && m->bytes_ternary == bytes);
            if (f == TT_FMT_B3 || f == (int)own->fmt) { /* once per shape and format kept: the model runs it on */
                tt_model_alt_swap(m, a);
                tt_model_alt_free(a); /* frees the model's former plans */
                a = NULL;
                CHECK(lin[i]->plan.v == v);
                if (decode(m, tok, got))
                    CHECKF(!memcmp(got, ref, sizeof(float) * (size_t)V), "%dx%d kept in %s: decode differs", pm, pk,
                           v->name);
            }
            tt_model_alt_free(a);
        }
    }
    CHECKF(tried >= 4, "only %d alternatives built", tried);
    /* refused: a GEMM kernel, a shape the model does not have, a kernel that does not run the shape */
    const tt_variant *any = NULL, *gemm = NULL;
    for (int r = 0; r < tt_registry_count; r++) {
        const tt_variant *c = &tt_registry[r];
        if (!gemm && c->op == TT_OP_GEMM) gemm = c;
        if (!any && c->op == TT_OP_GEMV && c->exact && tt_variant_eligible(c, tt_cpu_get(), NULL, 0) &&
            !tt_variant_check_shape(c, 128 * 3, m->config.dim))
            any = c;
    }
    tt_model_alt *a = NULL;
    if (gemm) CHECK(tt_model_alt_build(m, m->config.dim, m->config.dim, gemm, &a) == TT_ERR_VALUE && !a);
    if (any) {
        CHECKF(tt_model_alt_build(m, 128 * 3, m->config.dim, any, &a) == TT_ERR_NOTFOUND && !a, "%s", tt_last_error());
        CHECK(tt_model_alt_build(m, 7, 9, any, &a) == TT_ERR_VALUE && !a);
    }
done:
    free(ref), free(pre_ref), free(got);
    tt_model_close(m);
    /* the oracle backend runs its own scalar kernel: no alternative */
    m = open_model_with(path, 1, TT_LM_HEAD_FILE, &tt_plan_backend_oracle);
    const tt_variant *v = m ? m->w.layers[0].w_down.plan.v : NULL;
    tt_model_alt *ao = NULL;
    if (v) CHECK(tt_model_alt_build(m, m->config.dim, m->config.hidden_dim, v, &ao) == TT_ERR_UNSUPPORTED && !ao);
    tt_model_close(m);
}

static void tweak_silu(tt_synth_opts *o)
{
    /* The older "bitnet" architecture (SiLU FFN), q8_0 LM head in the file, MQA (one KV head), partial RoPE. */
    snprintf(o->c.arch, sizeof o->c.arch, "bitnet");
    o->head_type = TT_GGML_Q8_0;
    o->c.n_kv_heads = 1;
    o->c.rope_dim = 32;
    o->c.rope_theta = 500000.0f;
    o->seed = 99;
}

static void tweak_wide(tt_synth_opts *o)
{
    /* K = 384 and 640 (several I2_S blocks), 3 layers, GQA 3:1, odd row counts for the thread split. */
    o->c.dim = 384;
    o->c.n_heads = 6;
    o->c.head_dim = 64;
    o->c.rope_dim = 64;
    o->c.n_kv_heads = 2;
    o->c.hidden_dim = 640;
    o->c.n_layers = 3;
    o->seed = 5;
}

static void tweak_q6k(tt_synth_opts *o)
{
    /* A q6_K LM head (bitnet.cpp's --quant-embd): its rows in blocks of 256, the input in Q8_K blocks. */
    o->c.dim = 512;
    o->c.n_heads = 4;
    o->c.head_dim = 128;
    o->c.rope_dim = 128;
    o->c.n_kv_heads = 2;
    o->c.hidden_dim = 768;
    o->c.n_layers = 2;
    o->head_type = TT_GGML_Q6_K;
    o->seed = 7;
}

static void tweak_q40(tt_synth_opts *o)
{
    /* A q4_0 LM head: rows in blocks of 32 nibbles, the input in q8_0 blocks. */
    o->head_type = TT_GGML_Q4_0;
    o->seed = 11;
}

/* A q4_0 head of 517 rows: the last group of 16 rows of an interleaving head member (_il16) is partial. */
static void tweak_q40_odd(tt_synth_opts *o)
{
    tweak_q40(o);
    o->c.vocab_size = 517;
}

/* Every usable q4_0 head member gives the portable member's logits bit for bit in the model, over a greedy decode:
 * those reading the file's rows and those reading the copy interleaved at load (_il16, whose pick frees the rows'
 * copy: embedding rows then come from the file). Then, on one loaded model, tt_model_head_use swaps between the two
 * layouts (making the missing copy) and the logits keep every bit. */
static void check_head_members(const char *path)
{
    const char *ref_name = "head_q40_portable";
    tt_model_opts o = {.threads = 2, .n_ctx = 64, .lm_head = TT_LM_HEAD_FILE, .calibrate = -1};
    int V = 0, nv, tried = 0, il = 0;
    int tok_ref[STEPS + 1], tok[STEPS + 1];
    float *ref = NULL, *got = NULL;
    tt_model *m = NULL;
    setenv("TRITUNE_HEAD_KERNEL", ref_name, 1);
    CHECKF(tt_model_open(path, &o, &m) == TT_OK, "%s", tt_last_error());
    if (!m) goto done;
    V = m->config.vocab_size;
    ref = malloc(sizeof(float) * (size_t)V), got = malloc(sizeof(float) * (size_t)V);
    if (!ref || !got || !decode(m, tok_ref, ref)) goto done;
    tt_model_close(m);
    m = NULL;
    const tt_dense_variant *vs = tt_dense_variants(&nv);
    for (int i = 0; i < nv; i++) {
        if (vs[i].kind != TT_DENSE_Q40 || !vs[i].needs || !tt_dense_variant_usable(&vs[i])) continue;
        setenv("TRITUNE_HEAD_KERNEL", vs[i].name, 1);
        CHECKF(tt_model_open(path, &o, &m) == TT_OK, "%s: %s", vs[i].name, tt_last_error());
        if (!m) continue;
        if (decode(m, tok, got))
            CHECKF(!memcmp(tok, tok_ref, sizeof tok) && !memcmp(got, ref, sizeof(float) * (size_t)V),
                   "%s: logits differ from %s's", vs[i].name, ref_name);
        tried++;
        if (vs[i].il && !il++) { /* once: from the interleaved copy to the rows and back, on this model */
            CHECK(m->w.head_il && !m->w.embd_data);
            const tt_dense_variant *rows = tt_dense_variant_find(ref_name), *back = m->head_v;
            CHECKF(tt_model_head_use(m, rows) == TT_OK && m->head_v == rows && m->w.embd_data, "%s", tt_last_error());
            if (decode(m, tok, got)) CHECK(!memcmp(got, ref, sizeof(float) * (size_t)V));
            CHECKF(tt_model_head_use(m, back) == TT_OK && m->head_v == back, "%s", tt_last_error());
            if (decode(m, tok, got)) CHECK(!memcmp(got, ref, sizeof(float) * (size_t)V));
            CHECK(tt_model_head_use(m, tt_dense_variant_find("head_f16_portable")) == TT_ERR_VALUE);
        }
        tt_model_close(m);
        m = NULL;
    }
    printf("q4_0 head members in the model: %d = %s (%d interleaved), vocab %d\n", tried, ref_name, il, V);
    CHECK(tried >= 1);
done:
    unsetenv("TRITUNE_HEAD_KERNEL");
    tt_model_close(m);
    free(ref), free(got);
}

static void patch_and_expect(const char *src, const char *find, const char *repl, const char *want)
{
    size_t len;
    uint8_t *b = tt_test_read_file(src, &len);
    uint8_t *p = b ? memmem(b, len, find, strlen(find)) : NULL;
    CHECK(p != NULL);
    if (!p) {
        free(b);
        return;
    }
    memcpy(p, repl, strlen(repl));
    char path[256];
    tt_test_tmp(path, sizeof path, "bad");
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, len, f);
    fclose(f);
    free(b);
    tt_model *m = NULL;
    tt_status st = tt_model_open(path, NULL, &m);
    CHECKF(st && !m && strstr(tt_last_error(), want), "patched %s -> %s: status %d, message \"%s\", want \"%s\"", find,
           repl, st, tt_last_error(), want);
    tt_model_close(m);
    unlink(path);
}

static void check_errors(const char *path)
{
    tt_model *m = open_model(path, 1, TT_LM_HEAD_FILE);
    if (!m) return;
    CHECK(tt_model_forward(m, -1, 0, true) == TT_ERR_VALUE && strstr(tt_last_error(), "token -1"));
    CHECK(tt_model_forward(m, m->config.vocab_size, 0, true) == TT_ERR_VALUE);
    CHECK(tt_model_forward(m, 0, 64, true) == TT_ERR_VALUE && strstr(tt_last_error(), "position 64"));
    tt_model_close(m);
    tt_model_opts o = {.threads = 0};
    CHECK(tt_model_open(path, &o, &m) == TT_ERR_VALUE && strstr(tt_last_error(), "threads"));
    o = (tt_model_opts){.threads = 1, .n_ctx = 100000};
    CHECK(tt_model_open(path, &o, &m) == TT_ERR_VALUE && strstr(tt_last_error(), "n_ctx"));
    CHECK(tt_model_open("/nonexistent.gguf", NULL, &m) == TT_ERR_IO && strstr(tt_last_error(), "/nonexistent.gguf"));
    /* a forced LM-head kernel: unknown, or of the other format, is refused with the reason; a valid one is used */
    o = (tt_model_opts){.threads = 1, .lm_head = TT_LM_HEAD_FILE};
    setenv("TRITUNE_HEAD_KERNEL", "head_f16_r3_nope", 1);
    CHECK(tt_model_open(path, &o, &m) == TT_ERR_VALUE && strstr(tt_last_error(), "no such head kernel"));
    setenv("TRITUNE_HEAD_KERNEL", "head_i8_portable", 1);
    CHECK(tt_model_open(path, &o, &m) == TT_ERR_VALUE && strstr(tt_last_error(), "not a kernel for this LM-head"));
    setenv("TRITUNE_HEAD_KERNEL", "head_f16_portable", 1);
    m = NULL;
    CHECK(tt_model_open(path, &o, &m) == TT_OK && m && !strcmp(m->head_v->name, "head_f16_portable"));
    tt_model_close(m);
    unsetenv("TRITUNE_HEAD_KERNEL");
    patch_and_expect(path, "blk.1.ffn_down.weight", "blk.1.ffn_dowX.weight", "blk.1.ffn_down.weight\" is missing");
    patch_and_expect(path, "bitnet-b1.58.embedding_length", "bitnet-b1.58.embedding_lengtX", "embedding_length");
    patch_and_expect(path, "bitnet-b1.58\x0c", "bitnet-b1.59\x0c", "bitnet");

    /* An I2_S code 0b11 in a weight: the load-time unpack refuses it. */
    tt_gguf *g;
    CHECK(!tt_gguf_open(path, &g));
    const tt_gguf_tensor *t = tt_gguf_find_tensor(g, "blk.0.attn_v.weight");
    size_t at = (size_t)(t->data - g->base) + 5;
    tt_gguf_close(g);
    size_t len;
    uint8_t *b = tt_test_read_file(path, &len);
    b[at] = 0xff;
    char bad[256];
    tt_test_tmp(bad, sizeof bad, "code");
    FILE *f = fopen(bad, "wb");
    fwrite(b, 1, len, f);
    fclose(f);
    free(b);
    CHECK(tt_model_open(bad, NULL, &m) != TT_OK && strstr(tt_last_error(), "attn_v") &&
          strstr(tt_last_error(), "0b11"));
    tt_model_ref *r;
    CHECK(tt_model_ref_open(bad, &r) != TT_OK && *tt_last_error());
    unlink(bad);
}

/* The vectorizable half conversion equals the reference one bit for bit, and float -> half -> float is exact on
 * every half value. */
static void check_half(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float a = tt_half_to_float((uint16_t)h), b = tt_half_to_float_vec((uint16_t)h);
        bad += memcmp(&a, &b, 4) != 0;
        if ((h & 0x7c00) != 0x7c00) bad += tt_float_to_half(a) != h;
    }
    CHECKF(!bad, "%d half values convert differently", bad);
    CHECK(tt_float_to_half(65520.0f) == 0x7c00 && tt_float_to_half(65519.0f) == 0x7bff);
    CHECK(tt_float_to_half(1.0f + 0x1p-11f) == 0x3c00 && tt_float_to_half(1.0f + 0x1.8p-10f) == 0x3c02);
}

/* tt_model_head_error: refused for a model that reads the file's head; for the q8 head, over one position its mean
 * |error| is the one computed here from two models (the file's head and the q8 head) fed the same first token, and
 * over 16 positions the error is lossy but small against the logits' spread. */
static void check_head_error(const char *path, const char *label)
{
    tt_model *f = open_model(path, 1, TT_LM_HEAD_FILE), *q = open_model(path, g_threads, TT_LM_HEAD_Q8);
    if (!f || !q) goto out;
    tt_head_error e;
    CHECK(tt_model_head_error(f, 4, &e) == TT_ERR_VALUE);
    int V = f->config.vocab_size;
    uint64_t s = TT_HEAD_CHECK_SEED;
    int tok = (int)(tt_rand_next(&s) % (uint64_t)V);
    float *lf = malloc(sizeof(float) * (size_t)V);
    CHECK(tt_model_forward(f, tok, 0, true) == TT_OK);
    memcpy(lf, f->s.logits, sizeof(float) * (size_t)V);
    CHECK(tt_model_forward(q, tok, 0, true) == TT_OK);
    double want = 0, mx = 0;
    for (int i = 0; i < V; i++) {
        double d = fabs((double)q->s.logits[i] - lf[i]);
        want += d / V;
        mx = d > mx ? d : mx;
    }
    CHECK(tt_model_head_error(q, 1, &e) == TT_OK);
    CHECKF(e.positions == 1 && fabs(e.mean_abs - want) <= 1e-9 * (1 + want) && e.max_abs == mx &&
               e.top1_agree == (tt_argmax(lf, V) == tt_argmax(q->s.logits, V)),
           "%s: one position: mean |err| %.9g (want %.9g), max %.6g (want %.6g), agree %d", label, e.mean_abs, want,
           e.max_abs, mx, e.top1_agree);
    CHECK(tt_model_head_error(q, TT_HEAD_CHECK_POSITIONS, &e) == TT_OK);
    CHECKF(e.positions == TT_HEAD_CHECK_POSITIONS && e.mean_abs > 0 && e.mean_abs < 0.05 * e.logit_std &&
               e.max_abs >= e.mean_abs && e.top1_agree >= e.positions / 2 && e.top1_agree <= e.positions,
           "%s: %d positions: top-1 %d, mean |err| %.4g, max %.4g, std %.4g", label, e.positions, e.top1_agree,
           e.mean_abs, e.max_abs, e.logit_std);
    printf("head check %s: q8 vs the file's %s head over %d positions: top-1 %d/%d, mean |err| %.4g, max %.4g, std %.4g\n",
           label, e.file_head, e.positions, e.top1_agree, e.positions, e.mean_abs, e.max_abs, e.logit_std);
    free(lf);
out:
    tt_model_close(f);
    tt_model_close(q);
}

/* TRITUNE_HEAD_KERNEL on a file whose head is not f16: a member of the file's kind is used, another kind's refused
 * once the file's head type is known. */
static void check_forced_head(const char *path, const char *ok, const char *wrong)
{
    tt_model_opts o = {.threads = 1, .lm_head = TT_LM_HEAD_FILE};
    tt_model *m = NULL;
    setenv("TRITUNE_HEAD_KERNEL", ok, 1);
    CHECKF(tt_model_open(path, &o, &m) == TT_OK && m && !strcmp(m->head_v->name, ok), "%s: %s", ok, tt_last_error());
    tt_model_close(m);
    m = NULL;
    setenv("TRITUNE_HEAD_KERNEL", wrong, 1);
    CHECK(tt_model_open(path, &o, &m) == TT_ERR_VALUE && strstr(tt_last_error(), "not a kernel for this LM-head"));
    unsetenv("TRITUNE_HEAD_KERNEL");
}

/* The load-time calibration (model/calib.c): it only moves untuned GEMV plans to prefetch siblings of their kernel
 * (the same packed bytes) and the head to another member of its kind, so the logits keep every bit; off, forced
 * kernels and the oracle seam are left alone. Which candidate wins is a timing and is not checked. */
static void check_calibration(const char *path)
{
    tt_model_opts off = {.threads = 1, .lm_head = TT_LM_HEAD_FILE, .calibrate = -1},
                  on = {.threads = 1, .lm_head = TT_LM_HEAD_FILE, .calibrate = 3};
    tt_model *a = NULL, *b = NULL;
    CHECKF(tt_model_open(path, &off, &a) == TT_OK && tt_model_open(path, &on, &b) == TT_OK, "%s", tt_last_error());
    if (!a || !b) goto done;
    printf("calibration: %s\n", b->calib_note);
    CHECK(!strcmp(a->calib_note, "off") && strstr(b->calib_note, "3 passes") && strstr(b->calib_note, "GEMV"));
    int pf = -1, moved = 0;
    for (int l = 0; l < a->config.n_layers; l++) {
        tt_layer_weights *wa = &a->w.layers[l], *wb = &b->w.layers[l];
        tt_linear *la[9] = {&wa->wq, &wa->wk, &wa->wv, &wa->wo, &wa->w_gate, &wa->w_up, &wa->w_down, &wa->wqkv, &wa->w_gate_up};
        tt_linear *lb[9] = {&wb->wq, &wb->wk, &wb->wv, &wb->wo, &wb->w_gate, &wb->w_up, &wb->w_down, &wb->wqkv, &wb->w_gate_up};
        for (int i = 0; i < 9; i++) {
            if (!la[i]->plan.m) continue;
            const tt_variant *va = la[i]->plan.v, *vb = lb[i]->plan.v;
            CHECKF(tt_variant_pf_sibling(va, vb->p.pf) == vb, "layer %d: %s is not a prefetch sibling of %s", l,
                   vb->name, va->name);
            CHECK(pf < 0 || vb->p.pf == pf); /* one distance for every untuned linear */
            pf = vb->p.pf;
            moved += va != vb;
        }
    }
    printf("calibration: %d linears moved to p%d\n", moved, pf);
    CHECK(a->head_v && b->head_v && a->head_v->kind == b->head_v->kind && tt_dense_variant_usable(b->head_v));
    CHECK(b->head_v == a->head_v || strstr(b->head_note, "calibrated at load"));
    CHECK(!strcmp(a->kernel_name, b->kernel_name) || moved > 0);
    int V = a->config.vocab_size, tok = 1, bits_equal = 1;
    for (int pos = 0; pos < 6 && bits_equal; pos++) {
        CHECK(tt_model_forward(a, tok, pos, true) == TT_OK && tt_model_forward(b, tok, pos, true) == TT_OK);
        bits_equal = !memcmp(a->s.logits, b->s.logits, (size_t)V * sizeof(float));
        tok = tt_argmax(a->s.logits, V);
    }
    CHECK(bits_equal);
    /* a plan takes only a prefetch sibling of its kernel */
    const tt_variant *v = a->w.layers[0].w_down.plan.v, *other = NULL;
    for (int i = 0; i < tt_registry_count && !other; i++)
        if (tt_registry[i].op == TT_OP_GEMV && tt_registry[i].layout != v->layout) other = &tt_registry[i];
    CHECK(tt_variant_pf_sibling(v, v->p.pf) == v);
    CHECK(other && tt_plan_set_gemv(&a->w.layers[0].w_down.plan, other) == TT_ERR_VALUE &&
          a->w.layers[0].w_down.plan.v == v);
    tt_model_close(b);
    b = NULL;
    /* TRITUNE_CALIBRATE=0 turns it off; a forced kernel is not calibrated */
    on.calibrate = 0;
    setenv("TRITUNE_CALIBRATE", "0", 1);
    CHECK(tt_model_open(path, &on, &b) == TT_OK && b && !strcmp(b->calib_note, "off"));
    tt_model_close(b);
    b = NULL;
    unsetenv("TRITUNE_CALIBRATE");
    setenv("TRITUNE_KERNEL", v->name, 1);
    CHECK(tt_model_open(path, &on, &b) == TT_OK && b && strstr(b->calib_note, "tuned (or forced)") &&
          b->w.layers[0].w_down.plan.v == v);
    unsetenv("TRITUNE_KERNEL");
done:
    tt_model_close(a);
    tt_model_close(b);
}

/* The compute ceiling (model/warm.c): it times layer 0's linears and the head with the model's own kernels and
 * stands them for every layer, so its bytes must be exactly the GEMV bytes a token reads (each linear once: the fused
 * one or its parts, not both; the scale tails not counted) and the head's; and it runs between passes, so a decode
 * after it gives the same bits as before it. */
static void check_warm_ceiling(const char *path)
{
    for (int fuse = 0; fuse < 2; fuse++) {
        tt_model_opts o = {.threads = 2, .lm_head = TT_LM_HEAD_FILE, .fuse = fuse ? TT_FUSE_ON : TT_FUSE_OFF};
        tt_model *m = NULL;
        CHECKF(tt_model_open(path, &o, &m) == TT_OK && m, "%s", tt_last_error());
        if (!m) continue;
        double want = 0;
        for (int l = 0; l < m->config.n_layers; l++) {
            tt_layer_weights *w = &m->w.layers[l];
            tt_linear *all[9] = {&w->wqkv, &w->wq, &w->wk, &w->wv, &w->wo, &w->w_gate_up, &w->w_gate, &w->w_up, &w->w_down};
            for (int i = 0; i < 9; i++)
                if (all[i]->plan.m) want += (double)(all[i]->plan.packed_bytes - TT_TAIL_BYTES);
        }
        int V = m->config.vocab_size;
        float *before = malloc((size_t)V * sizeof *before);
        CHECK(before != NULL);
        for (int pos = 0; before && pos < 3; pos++) CHECK(tt_model_forward(m, 7 + pos, pos, true) == TT_OK);
        if (before) memcpy(before, m->s.logits, (size_t)V * sizeof *before);
        tt_warm_ceiling wc;
        CHECKF(tt_model_warm_ceiling(m, 3, &wc) == TT_OK, "%s", tt_last_error());
        printf("compute ceiling (fuse %s): GEMVs %.3f ms for %.0f bytes, head %.3f ms for %.0f bytes\n",
               fuse ? "on" : "off", wc.gemv_s * 1e3, wc.gemv_bytes, wc.head_s * 1e3, wc.head_bytes);
        CHECK(wc.gemv_s > 0 && wc.head_s > 0);
        CHECKF(wc.gemv_bytes == want, "GEMV bytes %.0f, the token reads %.0f", wc.gemv_bytes, want);
        CHECK(wc.head_bytes == (double)m->bytes_head);
        for (int pos = 0; before && pos < 3; pos++) CHECK(tt_model_forward(m, 7 + pos, pos, true) == TT_OK);
        CHECK(before && !memcmp(before, m->s.logits, (size_t)V * sizeof *before));
        CHECK(tt_model_warm_ceiling(NULL, 3, &wc) == TT_ERR_NULL);
        free(before);
        tt_model_close(m);
    }
}

int main(void)
{
    check_half();
    char p2[256], p3[256];
    g_threads = sysconf(_SC_NPROCESSORS_ONLN) >= 3 ? 3 : 2;
    tt_status st = write_model("tiny", NULL, g_path, sizeof g_path);
    CHECKF(!st, "%s", tt_last_error());
    if (!st) {
        check_against_reference(g_path, "tiny relu2 f16-head");
        check_paths_identical(g_path);
        check_prefill(g_path, "tiny");
        check_errors(g_path);
        check_head_error(g_path, "f16 head");
        check_weights_formats(g_path);
        check_alt(g_path);
        check_calibration(g_path);
        check_warm_ceiling(g_path);
    }
    if (!(st = write_model("tiny", tweak_silu, p2, sizeof p2))) {
        check_against_reference(p2, "tiny silu q8_0-head mqa partial-rope");
        check_prefill(p2, "tiny silu");
        unlink(p2);
    }
    CHECKF(!st, "%s", tt_last_error());
    if (!(st = write_model("tiny", tweak_wide, p3, sizeof p3))) {
        check_against_reference(p3, "wide gqa3");
        check_paths_identical(p3);
        check_prefill(p3, "wide gqa3");
        unlink(p3);
    }
    CHECKF(!st, "%s", tt_last_error());
    if (!(st = write_model("tiny", tweak_q6k, p3, sizeof p3))) {
        check_against_reference(p3, "q6_K head");
        check_head_error(p3, "q6_K head");
        check_forced_head(p3, "head_q6k_portable", "head_f16_portable");
        check_prefill(p3, "q6_K head");
        unlink(p3);
    }
    CHECKF(!st, "%s", tt_last_error());
    if (!(st = write_model("tiny", tweak_q40, p3, sizeof p3))) {
        check_against_reference(p3, "q4_0 head");
        check_prefill(p3, "q4_0 head");
        unlink(p3);
    }
    CHECKF(!st, "%s", tt_last_error());
    if (!(st = write_model("tiny", tweak_q40_odd, p3, sizeof p3))) {
        check_head_members(p3);
        unlink(p3);
    }
    CHECKF(!st, "%s", tt_last_error());
    unlink(g_path);
    return tt_test_end("test_model");
}
