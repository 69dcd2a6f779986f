/* tt_report_cli.h — the `tritune report` and `tritune compare` subcommands (reports/). argv[0] is the subcommand
 * name; the return value is the process exit code. reports/ reads files only (docs/DESIGN.md: "reports reads files
 * only"); it links kernels/ for the variant-name parser and nothing that measures. */
#ifndef TT_REPORT_CLI_H
#define TT_REPORT_CLI_H

/* tritune report RESULTS_DIR [--out DIR]       Markdown + charts for one results/<cpu-id>/ folder
 * tritune report --index CPUS_DIR [--out FILE]  one table across committed per-CPU bundles
 * Exit 0 on success (also when gnuplot is missing: the Markdown still comes out), 1 on unreadable input,
 * 2 on usage errors. */
int tt_cmd_report(int argc, char **argv);

/* tritune compare BASE.json NEW.json [--threshold 0.05] [--alpha 0.01] [--markdown FILE]
 * Exit 0: no significant regression; 1: at least one benchmark is slower by more than the threshold with
 * Mann-Whitney p < alpha; 2: usage error or unreadable input. */
int tt_cmd_compare(int argc, char **argv);

#endif
