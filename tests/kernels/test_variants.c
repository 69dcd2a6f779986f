/* Every variant eligible here vs the oracle, bit for bit: a shape sweep (K at, below and above each block and
 * step, M around the row block, M = 1, 2B4T shapes) and adversarial inputs at the edges of each variant's
 * activation domain with all T = +1 / -1 at the largest K it accepts (capped at 2^20). Variants this CPU cannot
 * run are reported skipped with the reason. Usage: test_variants [PATTERN] (substring filter). */
#include "tt_registry.h"
#include "tt_test.h"

typedef struct ref_case {
    tt_tern w;
    int8_t *q;
    int32_t sum_q;
    int32_t *dot;
} ref_case;

static void make_case(ref_case *c, int m, int k, int mode, int qlo, int qhi, uint64_t seed)
{
    tt_tern_alloc(&c->w, m, k);
    c->q = malloc((size_t)k);
    c->dot = malloc(sizeof(int32_t) * m);
    uint64_t s = seed;
    if (mode == 0) tt_tern_random(&c->w, seed);
    else memset(c->w.t, mode > 0 ? 1 : -1, (size_t)m * k);
    c->sum_q = 0;
    for (int j = 0; j < k; j++) {
        int v = mode == 0 ? qlo + (int)(tt_rand_next(&s) % (uint64_t)(qhi - qlo + 1)) : (mode == 1 || mode == -1 ? qhi : qlo);
        c->q[j] = (int8_t)v;
        c->sum_q += v;
    }
    tt_oracle_dot(&c->w, c->q, c->dot);
}

static void free_case(ref_case *c)
{
    tt_tern_free(&c->w);
    free(c->q);
    free(c->dot);
}

static int mismatches;

static int run_one(const tt_variant *v, ref_case *c, const char *what)
{
    int m = c->w.m, k = c->w.k;
    if (tt_variant_check_shape(v, m, k)) return 0;
    size_t n = tt_variant_packed_size(v, m, k);
    uint8_t *buf = tt_alloc(n);
    int32_t *dot = malloc(sizeof(int32_t) * m);
    for (int r = 0; r < m; r++) dot[r] = 0x5a5a5a5a;
    tt_status st = tt_variant_pack(v, &c->w, buf, n);
    CHECKF(st == TT_OK, "%s pack %dx%d: %s", v->name, m, k, tt_last_error());
    st = tt_variant_run(v, buf, m, k, c->q, c->sum_q, dot);
    CHECKF(st == TT_OK, "%s run %dx%d: %s", v->name, m, k, tt_last_error());
    int bad = 0;
    for (int r = 0; r < m && !bad; r++)
        if (dot[r] != c->dot[r]) {
            fprintf(stderr, "MISMATCH %s %s %dx%d row %d: got %d want %d\n", v->name, what, m, k, r, dot[r], c->dot[r]);
            bad = 1;
        }
    if (!bad) { /* float outputs follow from identical dots through the shared conversion */
        float y1[4], y2[4];
        tt_dot_to_float(dot, m < 4 ? m : 4, 3.5f, 0.25f, y1);
        tt_dot_to_float(c->dot, m < 4 ? m : 4, 3.5f, 0.25f, y2);
        bad = memcmp(y1, y2, sizeof(float) * (m < 4 ? m : 4)) != 0;
    }
    CHECK(!bad);
    mismatches += bad;
    tt_free(buf);
    free(dot);
    return 1;
}

int main(int argc, char **argv)
{
    const char *pat = argc > 1 ? argv[1] : "";
    const tt_cpu *cpu = tt_cpu_get();
    int quick = tt_test_quick();
    int tested = 0, skipped = 0;
    static const int ks[] = {32, 64, 96, 128, 160, 192, 256, 288, 384, 512, 640, 768, 1024, 1536, 2560};
    for (int i = 0; i < tt_registry_count; i++) {
        const tt_variant *v = &tt_registry[i];
        if (v->op != TT_OP_GEMV || !strstr(v->name, pat)) continue; /* GEMM rows: test_gemm */
        char why[200];
        if (!tt_variant_eligible(v, cpu, why, sizeof why)) {
            if (skipped++ < 3 || tt_debug_enabled()) printf("skip %s: %s\n", v->name, why);
            continue;
        }
        int blk = v->row_align > 1 ? v->row_align : (v->p.rows > 1 ? v->p.rows : (v->p.bm > 0 ? v->p.bm : 1));
        int ms[] = {1, blk - 1 > 0 ? blk - 1 : 2, blk, blk + 1, 2 * blk + 3};
        int cases = 0;
        for (size_t a = 0; a < sizeof ks / sizeof *ks; a++)
            for (size_t b = 0; b < sizeof ms / sizeof *ms; b++) {
                if (quick && (a % 3 || b % 2)) continue;
                ref_case c;
                make_case(&c, ms[b], ks[a], 0, v->act_min, v->act_max, (uint64_t)(i * 131 + a * 17 + b));
                cases += run_one(v, &c, "random");
                free_case(&c);
            }
        /* 2B4T shapes (M x K): k/v projection and the down projection's K */
        static const int big[][2] = {{640, 2560}, {96, 6912}};
        for (size_t a = 0; a < 2 && !quick; a++) {
            ref_case c;
            make_case(&c, big[a][0], big[a][1], 0, v->act_min, v->act_max, 7 + i);
            cases += run_one(v, &c, "2b4t");
            free_case(&c);
        }
        /* adversarial: q at both domain edges with T all +1 / all -1, at the largest K (capped) */
        int kmax = v->k_max < (quick ? 16384 : (1 << 20)) ? v->k_max : (quick ? 16384 : (1 << 20));
        kmax -= kmax % (v->k_align > 96 ? v->k_align : 96 * 4);
        for (int mode = -2; mode <= 2; mode++) {
            if (!mode) continue;
            ref_case c;
            /* mode ±1: q = act_max; mode ±2: q = act_min; sign = T */
            make_case(&c, blk + 1, kmax, mode > 0 ? 1 : -1, v->act_min, v->act_max, 0);
            if (mode == 2 || mode == -2) {
                memset(c.q, v->act_min, (size_t)kmax);
                c.sum_q = v->act_min * kmax;
                tt_oracle_dot(&c.w, c.q, c.dot);
            }
            cases += run_one(v, &c, "adversarial");
            free_case(&c);
        }
        CHECKF(cases > 0, "%s: no shape in the sweep was accepted", v->name);
        tested++;
    }
    printf("variants: %d verified, %d skipped (CPU/OS lacks the ISA), %d mismatching\n", tested, skipped, mismatches);
    if (!tested && skipped) {
        printf("no variant runnable here\n");
        return 77;
    }
    return tt_test_end("variants");
}
