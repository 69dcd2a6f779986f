/* tt_model_driver.c — a development driver for the model commands until tritune's main() calls them:
 *     tt_model_driver model synth --preset tiny --out /tmp/tiny.gguf
 *     tt_model_driver run -m /tmp/tiny.gguf -p "hello" -n 16
 *     tt_model_driver bench-e2e -m /tmp/tiny.gguf -p 64 -n 32 -t 1,2 -r 3 */
#include "tt_model_cli.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "model")) return tt_cmd_model(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "run")) return tt_cmd_run(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "bench-e2e")) return tt_cmd_bench_e2e(argc - 1, argv + 1);
    fprintf(stderr, "usage: %s model|run|bench-e2e ... (each takes --help)\n", argv[0]);
    return 2;
}
