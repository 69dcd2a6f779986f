/* tt_report_int.h — pieces of `tritune report` shared between its files (not an API outside reports/). */
#ifndef TT_REPORT_INT_H
#define TT_REPORT_INT_H

#include "tt_rdata.h"

#include <stdio.h>

/* Microseconds from ns with 3-4 significant digits, "–" when not measured. */
const char *tt_rep_us(double ns, char *buf, size_t len);
/* Profile entries in report order (by shape as first listed, then threads): an index array the caller frees. */
int *tt_rep_order(const tt_bundle *b);
/* Packed weight bytes of a profiled result: gbps * median_ns (0 when either is missing). */
double tt_rep_bytes(const tt_rrole *r);
/* One line saying what an energy source label means here (why an estimate, or what was measured). */
void tt_rep_energy_note(FILE *md, const char *source, json_t *machine);

/* Charts: writes scripts + data under chart_dir and draws them when gnuplot is on PATH; writes the "Charts"
 * section into md (image links, or the reason there are none). Returns charts drawn, -1 if gnuplot is missing. */
int tt_rep_charts(FILE *md, const tt_bundle *b, const char *chart_dir, const char *rel);

/* tritune report --index CPUS_DIR [--out FILE] */
int tt_rep_index(const char *cpus_dir, const char *out);

#endif
