/* Registry: name grammar round trip for every row, eligibility and the TRITUNE_ISA cap, dispatch forcing. */
#include "tt_registry.h"
#include "tt_test.h"

int main(void)
{
    CHECK(tt_registry_count > 0);
    int bases = 0, gemms = 0;
    for (int i = 0; i < tt_registry_count; i++) {
        const tt_variant *v = &tt_registry[i];
        tt_name_parts x;
        CHECKF(tt_name_parse(v->name, &x), "%s: %s", v->name, tt_last_error());
        CHECKF(x.fmt == v->fmt && x.isa == v->isa && x.op == v->op && !memcmp(&x.p, &v->p, sizeof x.p),
               "%s parses to other params", v->name);
        CHECK(!strcmp(x.trick, "base") == v->baseline);
        char again[192];
        tt_name_format(&x, again, sizeof again);
        CHECK(!strcmp(again, v->name));
        CHECK(tt_variant_find(v->name) == v);
        CHECK(v->row_align >= 1 && v->k_align >= 1);
        CHECKF(v->op == TT_OP_GEMV ? v->gemv && !v->gemm && v->p.n == 0 : v->op == TT_OP_GEMM && v->gemm && !v->gemv && v->p.n >= 1,
               "%s: op %d with gemv %p gemm %p", v->name, v->op, (void *)v->gemv, (void *)v->gemm);
        gemms += v->op == TT_OP_GEMM;
        CHECK(v->act_min <= -127 && v->act_max == 127);
        bases += v->baseline;
        for (int j = 0; j < i; j++) CHECKF(strcmp(tt_registry[j].name, v->name), "duplicate %s", v->name);
    }
#if defined(__x86_64__)
    CHECK(bases >= 1);
#endif
    CHECK(gemms >= 1);
    /* grammar refusals */
    tt_name_parts x;
    CHECK(!tt_name_parse("tt_i2s_gemv_r8__avx2", &x));           /* missing tokens: not canonical */
    CHECK(!tt_name_parse("tt_i2s_gemv_r8_u1_f0_p0__avx9", &x));  /* unknown ISA */
    CHECK(!tt_name_parse("tt_xyz_gemv_r8__avx2", &x));           /* unknown format */
    CHECK(!tt_name_parse("tt_i2s_gemv_u1_r8_f0_p0__avx2", &x));  /* out of order */
    CHECK(!tt_name_parse("tt_i2s_gemv_r8_u1_f0_p0_bm32__avx2", &x)); /* token of another family */
    CHECK(!tt_name_parse("i2s_gemv_r8", &x));
    CHECK(!tt_name_parse(NULL, &x));
    CHECK(tt_name_parse("tt_i2s_gemv_r8_u1_f0_p0_il__avx512vnni", &x) && x.p.rows == 8 && x.p.il == 1 &&
          x.isa == TT_ISA_AVX512VNNI);
    CHECK(tt_name_parse("tt_tl2_gemv_bm32_bk96_lut0_p0__avx2_vpermb", &x) && x.p.bk == 96 && !strcmp(x.trick, "vpermb"));
    /* the GEMM op: n (tokens per block) follows r; GEMV names take no n; TL has no GEMM */
    CHECK(tt_name_parse("tt_i2s_gemm_r4_n8_u1_f0_p0__avx512vnni", &x) && x.op == TT_OP_GEMM && x.p.rows == 4 &&
          x.p.n == 8 && x.p.unroll == 1 && x.isa == TT_ISA_AVX512VNNI);
    {
        char again[192];
        tt_name_format(&x, again, sizeof again);
        CHECK(!strcmp(again, "tt_i2s_gemm_r4_n8_u1_f0_p0__avx512vnni"));
    }
    CHECK(tt_name_parse("tt_i2s_gemm_r4_n8_u1_f0_p0_il__avx2", &x) && x.p.il == 1 && x.op == TT_OP_GEMM);
    CHECK(!tt_name_parse("tt_i2s_gemm_r4_u1_f0_p0__avx2", &x));        /* gemm without n */
    CHECK(!tt_name_parse("tt_i2s_gemm_n8_r4_u1_f0_p0__avx2", &x));     /* n before r */
    CHECK(!tt_name_parse("tt_i2s_gemv_r4_n8_u1_f0_p0__avx2", &x));     /* gemv takes no n */
    CHECK(!tt_name_parse("tt_tl1_gemm_bm32_bk128_lut0_p0__avx2", &x)); /* no TL gemm */
    CHECK(!tt_name_parse("tt_i2s_gemx_r4_n8_u1_f0_p0__avx2", &x));     /* unknown op */
    CHECK(tt_name_parse("tt_i2s_gemv_r8_u1_f0_p0__avx2", &x) && x.op == TT_OP_GEMV);

    /* eligibility with fabricated CPUs: a plain AVX2 machine, and this machine capped to avx2 */
    tt_cpu fake = {0};
    fake.cpuid_features = fake.os_features = fake.usable = TT_F_AVX2 | TT_F_FMA | TT_F_SSE42;
    tt_cpu capped;
    tt_cpu_probe(&capped, "avx2");
    CHECK((capped.usable & ~(TT_F_SSE42 | TT_F_AVX2 | TT_F_FMA | TT_F_F16C)) == 0); /* the avx2 cap keeps F16C */
    tt_cpu scalar;
    tt_cpu_probe(&scalar, "scalar");
    CHECK(scalar.usable == 0);
    for (int i = 0; i < tt_registry_count; i++) {
        const tt_variant *v = &tt_registry[i];
        char why[200] = "";
        bool e = tt_variant_eligible(v, &fake, why, sizeof why);
        bool want = v->isa == TT_ISA_SCALAR || v->isa == TT_ISA_AVX2;
        CHECKF(e == want, "%s eligible=%d on an AVX2-only CPU", v->name, e);
        if (!e) CHECKF(strstr(why, "lacks") != NULL, "%s: reason '%s'", v->name, why);
        CHECK(tt_variant_eligible(v, &scalar, NULL, 0) == (v->isa == TT_ISA_SCALAR));
    }
    /* the hash is stable within a build and changes with content */
    CHECK(tt_registry_hash() == tt_registry_hash());
    CHECK(tt_registry_hash() != 0);

    /* default dispatch returns an eligible exact variant; TRITUNE_KERNEL forces one */
    const tt_variant *d = tt_dispatch_default(TT_FMT_I2S, 64, 256);
    CHECK(d && d->exact && d->op == TT_OP_GEMV && tt_variant_eligible(d, tt_cpu_get(), NULL, 0));
    const tt_variant *plain = NULL; /* an eligible plain-layout GEMV: its preferred GEMM shares the plain bytes */
    for (int i = 0; i < tt_registry_count && !plain; i++)
        if (tt_registry[i].op == TT_OP_GEMV && tt_registry[i].fmt == TT_FMT_I2S && tt_registry[i].layout == TT_LAYOUT_I2S &&
            tt_variant_eligible(&tt_registry[i], tt_cpu_get(), NULL, 0))
            plain = &tt_registry[i];
    CHECK(plain != NULL);
    const tt_variant *dg = tt_dispatch_default_gemm(TT_FMT_I2S, 64, 256, plain);
    CHECK(dg && dg->exact && dg->op == TT_OP_GEMM && tt_variant_eligible(dg, tt_cpu_get(), NULL, 0));
    /* the default GEMM's ISA is the widest; within it, a kernel on the plain bytes when that ISA has one (AMX has
     * none: its tiles read a layout of their own) */
    bool isa_reads_plain = false;
    for (int j = 0; dg && j < tt_registry_count; j++) {
        const tt_variant *e = &tt_registry[j];
        isa_reads_plain |= e->op == TT_OP_GEMM && e->fmt == TT_FMT_I2S && e->exact && e->isa == dg->isa &&
                           tt_variant_eligible(e, tt_cpu_get(), NULL, 0) && tt_variant_layouts_agree(e, plain);
    }
    CHECKF(!dg || !isa_reads_plain || tt_variant_layouts_agree(dg, plain), "default GEMM %s does not read the plain bytes",
           dg ? dg->name : "-");
    CHECK(dg && (dg->isa == TT_ISA_AMX || isa_reads_plain)); /* every ISA but AMX has a GEMM on the plain layout */
    /* For every eligible I2_S GEMV kernel: if a GEMM kernel of the chosen ISA reads the same packed bytes, the
     * default GEMM is one that does (the model then keeps one packed copy for decode and prefill). */
    int share_bad = 0, share_checked = 0;
    for (int i = 0; i < tt_registry_count; i++) {
        const tt_variant *g = &tt_registry[i];
        if (g->op != TT_OP_GEMV || g->fmt != TT_FMT_I2S || !tt_variant_eligible(g, tt_cpu_get(), NULL, 0)) continue;
        const tt_variant *c = tt_dispatch_default_gemm(TT_FMT_I2S, 64, 512, g);
        if (!c) continue;
        bool exists = false;
        for (int j = 0; j < tt_registry_count && !exists; j++) {
            const tt_variant *e = &tt_registry[j];
            exists = e->op == TT_OP_GEMM && e->fmt == TT_FMT_I2S && e->exact && e->isa == c->isa &&
                     tt_variant_eligible(e, tt_cpu_get(), NULL, 0) && tt_variant_layouts_agree(e, g);
        }
        share_checked += exists;
        if (exists && !tt_variant_layouts_agree(c, g)) {
            share_bad++;
            fprintf(stderr, "GEMV %s: default GEMM %s needs its own copy although one of its ISA shares the layout\n",
                    g->name, c->name);
        }
    }
    CHECKF(share_bad == 0, "%d of %d GEMV kernels get a GEMM kernel that needs its own packed copy", share_bad, share_checked);
    CHECK(share_checked > 0 || !isa_reads_plain); /* at least the plain layout is shared where the default ISA can */
    CHECK(tt_variant_layouts_agree(plain, plain) && !tt_variant_layouts_agree(plain, NULL));
    if (dg) { /* a GEMM name in TRITUNE_KERNEL does not reach GEMV dispatch, and vice versa */
        setenv("TRITUNE_KERNEL", dg->name, 1);
        CHECK(tt_dispatch_default(TT_FMT_I2S, 64, 256) == d);
        unsetenv("TRITUNE_KERNEL");
        setenv("TRITUNE_GEMM_KERNEL", d->name, 1);
        CHECK(tt_dispatch_default_gemm(TT_FMT_I2S, 64, 256, plain) == dg);
        unsetenv("TRITUNE_GEMM_KERNEL");
    }
    CHECK(tt_dispatch_default_gemm(TT_FMT_TL1, 64, 256, NULL) == NULL);
    const tt_variant *s0 = NULL;
    for (int i = 0; i < tt_registry_count && !s0; i++)
        if (tt_registry[i].isa == TT_ISA_SCALAR && tt_registry[i].fmt == TT_FMT_I2S && tt_registry[i].op == TT_OP_GEMV)
            s0 = &tt_registry[i];
    CHECK(s0 != NULL);
    if (s0) {
        setenv("TRITUNE_KERNEL", s0->name, 1);
        CHECK(tt_dispatch_default(TT_FMT_I2S, 64, 256) == s0);
        setenv("TRITUNE_KERNEL", "tt_no_such_kernel", 1);
        CHECK(tt_dispatch_default(TT_FMT_I2S, 64, 256) == d); /* refused loudly, default kept */
        unsetenv("TRITUNE_KERNEL");
    }
    /* shape refusal through a variant */
    CHECK(tt_variant_check_shape(d, 4, 100) == TT_ERR_SHAPE);
    CHECK(tt_variant_packed_size(d, 4, 100) == 0);
    return tt_test_end("registry");
}
