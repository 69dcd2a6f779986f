/* tritune info: what this machine is and what tritune may use on it. */
#include "tt_cli.h"
#include "tt_opt.h"
#include "tt_energy.h"
#include "tt_papi.h"
#include "tt_profile.h"
#include "tt_registry.h"
#include "tt_topo.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

/* The machine block shared by info --json, tune's machine.json and reports. Caller owns the result. */
json_t *tt_machine_json(const tt_topo *topo)
{
    const tt_cpu *c = tt_cpu_get();
    json_t *cpuid = json_object(), *os = json_object();
    for (int i = 0; i < tt_feature_count; i++) {
        json_object_set_new(cpuid, tt_feature_names[i].name, json_boolean(c->cpuid_features & tt_feature_names[i].bit));
        json_object_set_new(os, tt_feature_names[i].name, json_boolean(c->os_features & tt_feature_names[i].bit));
    }
    char papi_why[256] = "";
    bool papi_ok = tt_papi_init(papi_why, sizeof papi_why);
    tt_energy *e = tt_energy_open(NULL);
    char edesc[512] = "";
    if (e) tt_energy_describe(e, edesc, sizeof edesc);
    json_t *energy = json_pack("{s:s, s:s}", "source", e ? tt_energy_source_name(tt_energy_source_of(e)) : "none",
                               "detail", edesc);
    if (e) tt_energy_close(e);
    struct utsname u;
    uname(&u);
    tt_cpu_id id;
    tt_cpu_id_here(&id, topo);
    char slug[128];
    tt_cpu_id_slug(&id, slug, sizeof slug);
    int tc[16], ntc = topo ? tt_topo_thread_counts(topo, tc, 16) : 0;
    json_t *tcj = json_array();
    for (int i = 0; i < ntc; i++) json_array_append_new(tcj, json_integer(tc[i]));
    json_t *topoj = topo ? json_pack("{s:i, s:i, s:i, s:i, s:I, s:I, s:I, s:i, s:i, s:i, s:o}", "packages", topo->packages,
                                     "cores", topo->cores, "pus", topo->pus, "numa_nodes", topo->numa_nodes, "l1d_bytes",
                                     (json_int_t)topo->l1d_bytes, "l2_bytes", (json_int_t)topo->l2_bytes, "l3_bytes",
                                     (json_int_t)topo->l3_bytes, "l1d_count", topo->l1d_count, "l2_count",
                                     topo->l2_count, "l3_count", topo->l3_count, "thread_counts", tcj)
                         : json_null();
    int eligible = 0;
    for (int i = 0; i < tt_registry_count; i++) eligible += tt_variant_eligible(&tt_registry[i], c, NULL, 0);
    return json_pack("{s:s, s:{s:s, s:s, s:s, s:i, s:i, s:i}, s:o, s:o, s:s, s:s, s:o, "
                     "s:{s:s, s:b, s:s}, s:o, s:{s:s, s:s, s:s}, s:{s:s, s:i, s:i}}",
                     "cpu_id", slug, "cpu", "arch", c->arch, "vendor", c->vendor, "brand", c->brand, "family", c->family,
                     "model", c->model, "stepping", c->stepping, "isa_cpuid", cpuid, "isa_os", os, "isa_cap", c->cap,
                     "os_note", c->os_note, "topology", topoj, "papi", "version", tt_papi_version_string(),
                     "counters_available", papi_ok, "reason", papi_ok ? "" : papi_why, "energy", energy, "os",
                     "sysname", u.sysname, "release", u.release, "machine", u.machine, "build", "compiler",
                     tt_build_compiler(), "registry_variants", tt_registry_count, "eligible_here", eligible);
}

static void info_usage(FILE *f)
{
    fprintf(f, "usage: tritune info [--json]\n  CPU identity, ISA features (CPUID and what the OS enables via "
               "XGETBV / auxv), hwloc topology,\n  PAPI counter availability (with the reason when unavailable), "
               "and the energy source tritune would use.\n");
}

int tt_cmd_info(int argc, char **argv)
{
    bool json = false;
    const tt_opt opts[] = {TT_O_FLAG("--json", NULL, &json)};
    int rc = tt_opt_parse(&(tt_cmd){.verb = "info", .usage = info_usage, .opts = opts, .nopts = TT_NOPTS(opts)}, argc,
                          argv);
    if (rc >= 0) return rc;
    tt_topo topo;
    bool have_topo = tt_topo_load(&topo) == TT_OK;
    if (!have_topo) fprintf(stderr, "tritune: hwloc topology unavailable: %s\n", tt_last_error());
    json_t *j = tt_machine_json(have_topo ? &topo : NULL);
    if (json) {
        json_dumpf(j, stdout, JSON_INDENT(2));
        printf("\n");
    } else {
        const tt_cpu *c = tt_cpu_get();
        printf("CPU        %s (%s) family %d model %d stepping %d [%s]\n", c->brand, c->vendor, c->family, c->model,
               c->stepping, c->arch);
        printf("cpu-id     %s\n", json_string_value(json_object_get(j, "cpu_id")));
        printf("ISA        feature        CPUID  OS-enabled  usable\n");
        for (int i = 0; i < tt_feature_count; i++) {
            uint32_t b = tt_feature_names[i].bit;
            bool arm = b >= TT_F_NEON;
            if (arm != !strcmp(c->arch, "aarch64")) continue;
            printf("           %-13s  %-5s  %-10s  %s\n", tt_feature_names[i].name, c->cpuid_features & b ? "yes" : "no",
                   c->os_features & b ? "yes" : "no", c->usable & b ? "yes" : "no");
        }
        if (c->os_note[0]) printf("           note: %s\n", c->os_note);
        if (c->cap[0]) printf("           capped by TRITUNE_ISA=%s\n", c->cap);
        if (have_topo) {
            char buf[512];
            printf("topology   %s\n", tt_topo_describe(&topo, buf, sizeof buf));
        }
        json_t *p = json_object_get(j, "papi");
        printf("PAPI       %s: hardware counters %s%s\n", json_string_value(json_object_get(p, "version")),
               json_is_true(json_object_get(p, "counters_available")) ? "available" : "",
               json_string_value(json_object_get(p, "reason")));
        json_t *e = json_object_get(j, "energy");
        printf("energy     %s — %s\n", json_string_value(json_object_get(e, "source")),
               json_string_value(json_object_get(e, "detail")));
        json_t *b = json_object_get(j, "build");
        printf("kernels    %lld variants in the registry, %lld runnable here; built with %s\n",
               (long long)json_integer_value(json_object_get(b, "registry_variants")),
               (long long)json_integer_value(json_object_get(b, "eligible_here")), tt_build_compiler());
    }
    json_decref(j);
    if (have_topo) tt_topo_free(&topo);
    return 0;
}
