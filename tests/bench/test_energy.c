/* test_energy.c — energy sources on fabricated powercap trees (mkdtemp): normal deltas, wrap-around, missing
 * domains, permission denied, no tree at all (falls back to the labelled model), and the model's arithmetic against
 * a hand-computed value. PAPI and perf are skipped in fabricated scenarios so the host's meters cannot leak in.
 *
 * Permission denied: tests run as root here, and root reads a mode-000 file anyway, so chmod proves nothing. The
 * EACCES path is driven through the open hook (tt_energy_opts.open_fn); the real chmod case runs only when not
 * root. A directory in place of energy_uj covers "unreadable for another reason". */
#include "tt_energy.h"
#include "tt_test.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[64];

static void write_file(const char *dir, const char *file, const char *fmt, ...)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fclose(f);
}

/* A zone directory like the kernel's: name, energy_uj, max_energy_range_uj. */
static void make_zone(const char *root, const char *zone, const char *name, unsigned long long uj,
                      unsigned long long max)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", root, zone);
    mkdir(dir, 0755);
    write_file(dir, "name", "%s", name);
    write_file(dir, "energy_uj", "%llu", uj);
    write_file(dir, "max_energy_range_uj", "%llu", max);
}

static void set_energy(const char *root, const char *zone, unsigned long long uj)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", root, zone);
    write_file(dir, "energy_uj", "%llu", uj);
}

static char *make_root(const char *name)
{
    static char roots[8][256];
    static int n;
    char *r = roots[n++ % 8];
    snprintf(r, 256, "%s/%s", base, name);
    mkdir(r, 0755);
    return r;
}

static tt_energy *open_only_rapl(const char *root, int (*open_fn)(const char *, int))
{
    tt_energy_opts o = {.powercap_root = root, .skip_papi = true, .skip_perf = true, .open_fn = open_fn};
    return tt_energy_open_ex(&o);
}

static const tt_energy_domain_reading *domain(const tt_energy_reading *r, const char *name)
{
    for (int i = 0; i < r->ndomains; i++)
        if (!strcmp(r->domains[i].name, name))
            return &r->domains[i];
    return NULL;
}

static bool near(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(1.0, fabs(b));
}

/* Every reading names its source. */
static void check_label(const tt_energy_reading *r)
{
    CHECK(r->label != NULL && !strcmp(r->label, tt_energy_source_name(r->source)));
    CHECK(r->estimated == (r->source == TT_ENERGY_ESTIMATED));
}

static int deny_energy_open(const char *path, int flags)
{
    size_t n = strlen(path);
    if (n >= 9 && !strcmp(path + n - 9, "energy_uj") && !strstr(path, "max_energy")) {
        errno = EACCES;
        return -1;
    }
    return open(path, flags);
}

static int deny_dram_open(const char *path, int flags)
{
    if (strstr(path, "intel-rapl:0:1/energy_uj")) {
        errno = EACCES;
        return -1;
    }
    return open(path, flags);
}

static void test_normal(void)
{
    char *root = make_root("normal");
    make_zone(root, "intel-rapl:0", "package-0", 1000000, 262143328850ull);
    make_zone(root, "intel-rapl:0:0", "core", 2000000, 262143328850ull);
    make_zone(root, "intel-rapl:0:1", "dram", 3000000, 65712999613ull);
    char mmio[300];
    snprintf(mmio, sizeof mmio, "%s/intel-rapl-mmio:0", root);
    mkdir(mmio, 0755); /* ignored: it repeats the package zone and would double count */
    tt_energy *e = open_only_rapl(root, NULL);
    CHECK(e && tt_energy_source_of(e) == TT_ENERGY_RAPL);
    char d[512];
    tt_energy_describe(e, d, sizeof d);
    printf("normal: %s\n", d);
    CHECKF(!strcmp(d, "measured-RAPL: package-0, core, dram"), "%s", d);
    CHECK(tt_energy_begin(e) == TT_OK);
    set_energy(root, "intel-rapl:0", 6000000);   /* +5 J */
    set_energy(root, "intel-rapl:0:0", 5000000); /* +3 J, inside the package */
    set_energy(root, "intel-rapl:0:1", 4500000); /* +1.5 J */
    tt_energy_reading r;
    CHECKF(tt_energy_end(e, NULL, &r) == TT_OK, "%s", tt_last_error());
    check_label(&r);
    CHECK(r.source == TT_ENERGY_RAPL && !strcmp(r.label, "measured-RAPL"));
    CHECKF(near(r.joules, 6.5), "joules %g, want 6.5 (package 5 + dram 1.5; core is inside package)", r.joules);
    CHECK(r.ndomains == 3 && r.wraps == 0);
    const tt_energy_domain_reading *core = domain(&r, "core");
    CHECK(core && near(core->joules, 3.0) && !core->in_total);
    const tt_energy_domain_reading *dram = domain(&r, "dram");
    CHECK(dram && near(dram->joules, 1.5) && dram->in_total);
    CHECK(r.seconds >= 0);

    /* Idle baseline where a meter exists (nothing changes in the fabricated tree: 0 W). */
    double w = -1;
    CHECKF(tt_energy_idle_watts(e, 0.01, &w) == TT_OK, "%s", tt_last_error());
    CHECK(w == 0);
    CHECK(tt_energy_idle_watts(e, -1, &w) == TT_ERR_VALUE);
    tt_energy_close(e);
}

static void test_wrap(void)
{
    char *root = make_root("wrap");
    make_zone(root, "intel-rapl:0", "package-0", 999000000ull, 1000000000ull);
    tt_energy *e = open_only_rapl(root, NULL);
    CHECK(tt_energy_source_of(e) == TT_ENERGY_RAPL);
    CHECK(tt_energy_begin(e) == TT_OK);
    set_energy(root, "intel-rapl:0", 500000); /* wrapped: (1000 J - 999 J) + 0.5 J = 1.5 J */
    tt_energy_reading r;
    CHECKF(tt_energy_end(e, NULL, &r) == TT_OK, "%s", tt_last_error());
    check_label(&r);
    CHECKF(near(r.joules, 1.5), "joules %g, want 1.5", r.joules);
    CHECK(r.wraps == 1);

    /* Backwards without a known range cannot be corrected: an error, not a huge number. */
    char *root2 = make_root("wrap_nomax");
    make_zone(root2, "intel-rapl:0", "package-0", 5000000, 0);
    char p[512];
    snprintf(p, sizeof p, "%s/intel-rapl:0/max_energy_range_uj", root2);
    unlink(p);
    tt_energy *e2 = open_only_rapl(root2, NULL);
    CHECK(tt_energy_source_of(e2) == TT_ENERGY_RAPL);
    tt_energy_begin(e2);
    set_energy(root2, "intel-rapl:0", 1000);
    CHECK(tt_energy_end(e2, NULL, &r) == TT_ERR_VALUE);
    check_label(&r);
    CHECK(strstr(tt_last_error(), "backwards") != NULL);
    tt_energy_close(e2);
    tt_energy_close(e);
}

static void test_missing_domains(void)
{
    char *root = make_root("nodram");
    make_zone(root, "intel-rapl:0", "package-0", 0, 262143328850ull);
    make_zone(root, "intel-rapl:0:0", "core", 0, 262143328850ull);
    make_zone(root, "intel-rapl:1", "package-1", 0, 262143328850ull);
    tt_energy *e = open_only_rapl(root, NULL);
    CHECK(tt_energy_source_of(e) == TT_ENERGY_RAPL);
    tt_energy_begin(e);
    set_energy(root, "intel-rapl:0", 2000000);
    set_energy(root, "intel-rapl:1", 1000000);
    tt_energy_reading r;
    CHECK(tt_energy_end(e, NULL, &r) == TT_OK);
    check_label(&r);
    CHECK(r.ndomains == 3 && domain(&r, "dram") == NULL);
    CHECKF(near(r.joules, 3.0), "joules %g, want 3 (two packages, no dram)", r.joules);
    tt_energy_close(e);

    /* Only a psys zone: no package to total, so RAPL is not used and the reason says so. */
    char *root2 = make_root("psys_only");
    make_zone(root2, "intel-rapl:1", "psys", 0, 262143328850ull);
    e = open_only_rapl(root2, NULL);
    CHECK(tt_energy_source_of(e) == TT_ENERGY_ESTIMATED);
    char d[512];
    CHECK(strstr(tt_energy_describe(e, d, sizeof d), "no package or dram zone") != NULL);
    tt_energy_close(e);
}

static void test_permission_denied(void)
{
    char *root = make_root("denied");
    make_zone(root, "intel-rapl:0", "package-0", 100, 262143328850ull);
    make_zone(root, "intel-rapl:0:1", "dram", 100, 262143328850ull);
    char d[512];

    /* All energy_uj unreadable (EACCES through the hook): falls back to the model and says why. */
    tt_energy *e = open_only_rapl(root, deny_energy_open);
    CHECK(tt_energy_source_of(e) == TT_ENERGY_ESTIMATED);
    tt_energy_describe(e, d, sizeof d);
    printf("denied: %s\n", d);
    CHECK(strncmp(d, "estimated-model", 15) == 0);
    CHECK(strstr(d, "permission denied") != NULL);
    CHECK(strstr(d, "intel-rapl:0") != NULL);
    tt_energy_reading r;
    tt_energy_begin(e);
    CHECK(tt_energy_end(e, NULL, &r) == TT_OK);
    check_label(&r);
    CHECK(r.estimated && !strcmp(r.label, "estimated-model"));
    tt_energy_close(e);

    /* Only dram denied: RAPL still used with the package, and the note names the denial. */
    e = open_only_rapl(root, deny_dram_open);
    CHECK(tt_energy_source_of(e) == TT_ENERGY_RAPL);
    tt_energy_describe(e, d, sizeof d);
    printf("partial: %s\n", d);
    CHECK(strstr(d, "package-0") && strstr(d, "permission denied"));
    tt_energy_close(e);

    /* The real thing, where it can be shown: chmod 000 stops a non-root reader. Root ignores modes. */
    if (geteuid() != 0) {
        char p[512];
        snprintf(p, sizeof p, "%s/intel-rapl:0/energy_uj", root);
        chmod(p, 0);
        snprintf(p, sizeof p, "%s/intel-rapl:0:1/energy_uj", root);
        chmod(p, 0);
        e = open_only_rapl(root, NULL);
        CHECK(tt_energy_source_of(e) == TT_ENERGY_ESTIMATED);
        CHECK(strstr(tt_energy_describe(e, d, sizeof d), "permission denied") != NULL);
        tt_energy_close(e);
    } else {
        printf("running as root: chmod 000 cannot deny root, EACCES covered by the open hook only\n");
    }

    /* energy_uj a directory: unreadable for a reason other than permissions. */
    char *root2 = make_root("isdir");
    make_zone(root2, "intel-rapl:0", "package-0", 0, 1000);
    char p[512];
    snprintf(p, sizeof p, "%s/intel-rapl:0/energy_uj", root2);
    unlink(p);
    mkdir(p, 0755);
    e = open_only_rapl(root2, NULL);
    CHECK(tt_energy_source_of(e) == TT_ENERGY_ESTIMATED);
    tt_energy_describe(e, d, sizeof d);
    printf("isdir: %s\n", d);
    CHECK(strstr(d, "no readable energy_uj") != NULL);
    tt_energy_close(e);
}

static void test_no_tree(void)
{
    char d[768];
    char missing[256];
    snprintf(missing, sizeof missing, "%s/does-not-exist", base);
    tt_energy *e = open_only_rapl(missing, NULL);
    CHECK(tt_energy_source_of(e) == TT_ENERGY_ESTIMATED);
    tt_energy_describe(e, d, sizeof d);
    printf("missing root: %s\n", d);
    CHECK(strncmp(d, "estimated-model", 15) == 0 && strstr(d, "does-not-exist") != NULL);
    tt_energy_close(e);

    char *empty = make_root("empty");
    e = open_only_rapl(empty, NULL);
    CHECK(tt_energy_source_of(e) == TT_ENERGY_ESTIMATED);
    tt_energy_describe(e, d, sizeof d);
    printf("empty root: %s\n", d);
    CHECK(strstr(d, "intel-rapl:* (VM without RAPL)") != NULL);
    CHECK(tt_energy_idle_watts(e, 0.01, &(double){0}) == TT_ERR_UNSUPPORTED);

    /* The fallback reading: the model's total from measured time and the work given, labelled estimated. */
    tt_energy_work w = {.dram_bytes = 4e6, .ops = 8e6, .threads = 2};
    CHECK(tt_energy_begin(e) == TT_OK);
    tt_energy_reading r;
    CHECK(tt_energy_end(e, &w, &r) == TT_OK);
    check_label(&r);
    CHECK(r.source == TT_ENERGY_ESTIMATED && r.estimated && !strcmp(r.label, "estimated-model"));
    CHECKF(near(r.joules, tt_energy_estimate(r.seconds, 4e6, 8e6, 2)), "%g vs %g", r.joules,
           tt_energy_estimate(r.seconds, 4e6, 8e6, 2));
    CHECK(domain(&r, "model-dram") && near(domain(&r, "model-dram")->joules, 4e6 * 162.5e-12));
    tt_energy_close(e);

    /* All sources tried on this host, default root: whatever is picked is named, with reasons. */
    e = tt_energy_open_ex(&(tt_energy_opts){.powercap_root = empty});
    tt_energy_describe(e, d, sizeof d);
    printf("host (empty powercap root): %s\n", d);
    CHECK(strlen(d) > 15);
    if (tt_energy_source_of(e) == TT_ENERGY_ESTIMATED)
        CHECK(strstr(d, "RAPL:") && strstr(d, "PAPI:") && strstr(d, "perf:"));
    tt_energy_close(e);
    e = tt_energy_open(NULL);
    tt_energy_describe(e, d, sizeof d);
    printf("host (default): %s\n", d);
    CHECK(e != NULL && tt_energy_begin(e) == TT_OK && tt_energy_end(e, NULL, &r) == TT_OK);
    check_label(&r);
    tt_energy_close(e);
}

static void test_estimate_arithmetic(void)
{
    /* Hand computed: 4 W/core x 4 threads x 2 s = 32 J; 1e9 B x 162.5 pJ/B = 0.1625 J; 1e10 ops x 2.2175 pJ =
     * 0.022175 J; total 32.184675 J. */
    CHECKF(near(tt_energy_estimate(2.0, 1e9, 1e10, 4), 32.184675), "%.9f", tt_energy_estimate(2.0, 1e9, 1e10, 4));
    /* Static term alone, threads < 1 counts as 1, garbage inputs count as 0. */
    CHECK(near(tt_energy_estimate(1.0, 0, 0, 0), 4.0));
    CHECK(near(tt_energy_estimate(NAN, -5, INFINITY, 1), 0.0));
    CHECK(!strcmp(tt_energy_source_name(TT_ENERGY_RAPL), "measured-RAPL"));
    CHECK(!strcmp(tt_energy_source_name(TT_ENERGY_PAPI), "measured-PAPI"));
    CHECK(!strcmp(tt_energy_source_name(TT_ENERGY_PERF), "measured-perf"));
    CHECK(!strcmp(tt_energy_source_name(TT_ENERGY_ESTIMATED), "estimated-model"));
    CHECK(!strcmp(tt_energy_source_name((tt_energy_source)99), "unknown"));
}

static void test_bad_input(void)
{
    tt_energy_reading r;
    CHECK(tt_energy_begin(NULL) == TT_ERR_NULL);
    CHECK(tt_energy_end(NULL, NULL, &r) == TT_ERR_NULL);
    tt_energy *e = open_only_rapl(base, NULL);
    CHECK(tt_energy_end(e, NULL, &r) == TT_ERR_VALUE); /* end without begin */
    check_label(&r);
    CHECK(tt_energy_end(e, NULL, NULL) == TT_ERR_NULL);
    tt_energy_close(e);
    tt_energy_close(NULL);
    char d[8];
    tt_energy_describe(NULL, d, sizeof d); /* truncated, terminated */
    CHECK(strlen(d) < sizeof d);
}

static void rm_rf(const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", path);
}

int main(void)
{
    snprintf(base, sizeof base, "/tmp/tt_energy_XXXXXX");
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    test_estimate_arithmetic();
    test_normal();
    test_wrap();
    test_missing_domains();
    test_permission_denied();
    test_no_tree();
    test_bad_input();
    rm_rf(base);
    return tt_test_end("bench_energy");
}
