/* tt_rplot.h — gnuplot charts for reports. gnuplot is called at run time by name (PATH), never linked; each chart
 * keeps its script and data next to the images, so `cd charts && gnuplot NAME.gp` redraws it. */
#ifndef TT_RPLOT_H
#define TT_RPLOT_H

#include "tt_common.h"

#include <stdbool.h>
#include <stdio.h>

/* Whether a gnuplot executable is on PATH; *path gets its location, *why the reason when not. */
bool tt_gnuplot_find(char *path, size_t len, char *why, size_t why_len);

/* Opens DIR/NAME.gp and writes the PNG preamble (pngcairo when this gnuplot has it, else png) with the title;
 * the caller writes settings and one `plot` command; tt_plot_end adds the SVG replot and closes the file. */
FILE *tt_plot_begin(const char *dir, const char *name, const char *title, int width, int height);
tt_status tt_plot_end(FILE *gp, const char *dir, const char *name);

/* Runs gnuplot on DIR/NAME.gp in DIR (output in DIR/gnuplot.log) and checks that NAME.png and NAME.svg came out
 * non-empty. TT_ERR_UNSUPPORTED when gnuplot is missing, TT_ERR_IO when it failed (tt_last_error says how). */
tt_status tt_plot_draw(const char *dir, const char *name);

/* Escapes a string for a double-quoted gnuplot string (backslash, quote). Charts use noenhanced text, so names
 * with '_' print as they are. */
const char *tt_plot_str(const char *s, char *buf, size_t len);

#endif
