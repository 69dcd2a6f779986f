/* tt_cli.h — subcommands of the single `tritune` binary and small shared CLI helpers. */
#ifndef TT_CLI_H
#define TT_CLI_H

#include <stdbool.h>
#include <stdio.h>

int tt_cmd_info(int argc, char **argv);
int tt_cmd_list(int argc, char **argv);
int tt_cmd_verify(int argc, char **argv);
int tt_cmd_bench(int argc, char **argv);
int tt_cmd_tune(int argc, char **argv);
int tt_cmd_tune_model(int argc, char **argv);
int tt_cmd_bake(int argc, char **argv);
int tt_cmd_bench_gemm(int argc, char **argv);
int tt_cmd_wisdom(int argc, char **argv);
/* Load the runtime wisdom for a verb that runs kernels (tt_wisdom.h): removes --wisdom FILE / --no-wisdom from
 * argv (argc updated), loads the named or default profile. Returns 0, or an exit code (a named file that does not
 * apply, a malformed option). */
int tt_wisdom_startup(int *argc, char **argv, const char *verb);
/* Install the profile at path as the wisdom in effect from now on (checked against this machine and registry, as
 * --wisdom FILE is; "none": an empty table, so that neither a profile nor the baked table applies): 0, or 1 after
 * printing why on stderr. */
int tt_wisdom_use(const char *path, const char *verb);


/* "--flag value" / "--flag=value" parsing helpers: return the value or NULL. */
const char *tt_arg_value(int argc, char **argv, int *i, const char *flag);
bool tt_has_flag(int argc, char **argv, const char *flag);
/* Parse "2560x2560" */
bool tt_parse_shape(const char *s, int *m, int *k);
/* Parse "1,2,4" into ints; returns count (0 on error). */
int tt_parse_int_list(const char *s, int *out, int max);
/* Simple glob: '*' wildcards; a pattern without '*' matches as a substring; "A,B" matches either. */
bool tt_match(const char *pattern, const char *name);

#endif
