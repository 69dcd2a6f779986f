/* Every variant eligible here (GEMV and GEMM rows) through the one verifier (kernels/tt_verify.h), bit for bit
 * against the oracle: shape sweep, adversarial edges of each variant's activation domain at its largest K, row-range
 * splits and thread-pool splits; for GEMM rows every token count around the token block and padded strides.
 * Variants this CPU cannot run are reported skipped with the reason. Usage: test_variants [OP] [PATTERN] (OP gemv |
 * gemm | all; PATTERN a substring filter). TT_TEST_QUICK=1 trims the sweep. */
#include "tt_test.h"
#include "tt_verify.h"

int main(int argc, char **argv)
{
    const char *op = argc > 1 ? argv[1] : "all", *pat = argc > 2 ? argv[2] : "";
    const tt_cpu *cpu = tt_cpu_get();
    bool quick = tt_test_quick();
    int tested = 0, skipped = 0, total = 0, bad = 0;
    long all_cases = 0;
    for (int i = 0; i < tt_registry_count; i++) {
        const tt_variant *v = &tt_registry[i];
        if (!strstr(v->name, pat)) continue;
        if ((!strcmp(op, "gemv") && v->op != TT_OP_GEMV) || (!strcmp(op, "gemm") && v->op != TT_OP_GEMM)) continue;
        total++;
        char why[200];
        if (!tt_variant_eligible(v, cpu, why, sizeof why)) {
            if (skipped++ < 3 || tt_debug_enabled()) printf("skip %s: %s\n", v->name, why);
            continue;
        }
        char detail[400];
        int cases = 0;
        tt_status st = tt_verify_variant(v, quick, &cases, detail, sizeof detail);
        CHECKF(st == TT_OK, "MISMATCH %s: %s", v->name, detail);
        bad += st != TT_OK;
        all_cases += cases;
        tested++;
        if (tested == 1) { /* the verifier itself: a wrong oracle dot, and a row written outside its range, fail */
            tt_vcase c;
            int m = 2 * (v->row_align > 0 ? v->row_align : 1) + 1;
            CHECK(tt_vcase_make(&c, m, 256, 2, 32, 0, v->act_min, v->act_max, 9) == TT_OK);
            if (!tt_variant_check_shape(v, m, 256)) {
                CHECK(tt_verify_case(v, &c, NULL, 2, NULL, detail, sizeof detail) == TT_OK);
                c.want[m - 1] ^= 1;
                CHECK(tt_verify_case(v, &c, NULL, 0, NULL, detail, sizeof detail) == TT_ERR_MISMATCH &&
                      strstr(detail, "row"));
            }
            tt_vcase_free(&c);
        }
    }
    printf("variants (%s): %d of %d verified (%ld cases), %d skipped (CPU/OS lacks the ISA), %d mismatching\n", op,
           tested, total, all_cases, skipped, bad);
    if (!tested && skipped) {
        printf("no variant runnable here\n");
        return 77;
    }
    CHECK(total > 0);
    return tt_test_end("variants");
}
