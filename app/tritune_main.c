/* tritune — one binary, subcommands. */
#include "tt_cli.h"
#include "tt_model_cli.h"
#include "tt_report_cli.h"

#include <stdlib.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} command;

static const command commands[] = {
    {"info", tt_cmd_info, "CPU, ISA (CPUID + OS), topology, PAPI and energy source of this machine [--json]"},
    {"list", tt_cmd_list, "list the kernel registry [--format F] [--isa I] [--json]"},
    {"verify", tt_cmd_verify, "check every eligible variant bit-exactly against the oracle [PATTERN]"},
    {"bench", tt_cmd_bench, "time variants with Google Benchmark --variant PAT --shape MxK [--threads N] [--json F]"},
    {"bench-gemm", tt_cmd_bench_gemm, "time batched prefill (GEMM) kernels vs token-by-token GEMV --shape MxK --tokens N"},
    {"tune", tt_cmd_tune, "verify and race every eligible kernel per model shape, write results/<cpu-id>/"},
    {"tune-model", tt_cmd_tune_model, "the tuner's in-model stage: each shape's storage format raced inside the model -m F"},
    {"wisdom", tt_cmd_wisdom, "tuning results in effect: show [PROFILE] | export -o FILE | import FILE [--force]"},
    {"bake", tt_cmd_bake, "generate the C winner table from a profile (or the default table) [PROFILE] -o FILE.c"},
    {"report", tt_cmd_report, "Markdown + gnuplot report from a results folder [--out DIR] | --index reports/cpus"},
    {"compare", tt_cmd_compare, "compare two result files (Mann-Whitney U, geomean) BASE.json NEW.json"},
    {"model", tt_cmd_model, "model tools: synth --preset PRESET --out FILE.gguf (presets: model --help); info F"},
    {"run", tt_cmd_run, "generate text: -m FILE.gguf -p TEXT -n N [-t THREADS]"},
    {"eval", tt_cmd_eval, "last-position logits of given token ids, to compare implementations: -m F --ids 1,2,3"},
    {"tokenize", tt_cmd_tokenize, "token ids and pieces of a text: -m FILE.gguf [--ids|--json] [--no-special] TEXT"},
    {"bench-e2e", tt_cmd_bench_e2e, "end-to-end tokens/s: -m FILE.gguf [-p 512] [-n 128] [-t 1,2] [-r 5] [--json F]"},
    {"bench-ab", tt_cmd_bench_ab, "model configurations raced in one process: -m F --weights i2s,tl2 [--lm-head file,q8]"},
};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

static void usage(FILE *o)
{
    fprintf(o, "usage: tritune <command> [options]   (tritune <command> --help for details)\n\ncommands:\n");
    for (int i = 0; i < N_COMMANDS; i++) fprintf(o, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(o, "\nenvironment: TRITUNE_ISA=<level> caps the ISA (scalar, avx2, avxvnni, avx512bw, avx512vnni, "
               "avx512vbmi, amx, neon, dotprod, i8mm);\n  TRITUNE_KERNEL=<name> forces a kernel; TRITUNE_DEBUG=1 logs "
               "what was picked and why;\n  TRITUNE_WISDOM=<profile.json> names the tuning results the model verbs load "
               "(see tritune wisdom --help).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    /* The verbs that run the model load the tuned kernels (wisdom) first; --wisdom FILE / --no-wisdom steer it. */
    static const char *const wise[] = {"run", "eval", "bench-e2e", "bench-ab"};
    for (int i = 0; i < N_COMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name)) continue;
        int sub_argc = argc - 1;
        for (size_t w = 0; w < sizeof wise / sizeof wise[0]; w++) {
            if (strcmp(argv[1], wise[w])) continue;
            int rc = tt_wisdom_startup(&sub_argc, argv + 1, argv[1]);
            if (rc) return rc;
        }
        return commands[i].fn(sub_argc, argv + 1);
    }
    fprintf(stderr, "tritune: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
