/* tt_model_cli.h — the model's command-line entry points, called by tritune's main() with argv[0] = the
 * command's own name ("model", "run", "bench-e2e", "tokenize") and the rest of the arguments after it. Each prints its usage
 * with --help and returns a process exit status (0 ok, 1 failure, 2 usage error). */
#ifndef TT_MODEL_CLI_H
#define TT_MODEL_CLI_H

#ifdef __cplusplus
extern "C" {
#endif

/* tritune model synth --preset PRESET (kernels/tt_preset.h) --out FILE.gguf [--seed N] [--lm-head f16|q8_0]
 * tritune model info FILE.gguf */
int tt_cmd_model(int argc, char **argv);

/* tritune run -m FILE.gguf [-p "text"] [-n 64] [-t threads] [--lm-head f16|q8] [--kernel oracle|registry] */
int tt_cmd_run(int argc, char **argv);

/* tritune eval -m FILE.gguf (--ids 1,2,3 | --ids-file F | -p TEXT) [--logits OUT.f32] [--top N] [--ref REF.f32] */
int tt_cmd_eval(int argc, char **argv);

/* tritune tokenize -m FILE.gguf [--ids | --json] [--no-special] [--no-bos] [--file PATH|-] [TEXT] (cmd_tokenize.c) */
int tt_cmd_tokenize(int argc, char **argv);

/* tritune bench-e2e -m FILE.gguf [-p 512] [-n 128] [-t 1,2] [-r 5] [--lm-head f16|q8] [--json FILE] */
int tt_cmd_bench_e2e(int argc, char **argv);
/* tritune bench-ab -m FILE.gguf --weights i2s,tl2 [--lm-head file,q8] [-t N] [-n 64] [-r 6] [--json FILE] */
int tt_cmd_bench_ab(int argc, char **argv);

/* All of f as a NUL-terminated string (*len bytes before the NUL), or NULL on a read error or no memory. */
#include <stdio.h>
char *tt_cli_read_all(FILE *f, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
