/* svg_plot.h - line plots as a standalone SVG file, for `nnclr plot`: training loss against
 * step and kNN accuracy against epoch, read back from the JSONL metrics log, drawn as panels
 * stacked top to bottom in one picture. Each panel has axes with "nice" (1-2-5) ticks, tick
 * labels, axis titles, a legend and a title. Non-finite y values break a line instead of being
 * drawn. Written atomically. */
#ifndef NNCLR_IO_SVG_PLOT_H
#define NNCLR_IO_SVG_PLOT_H

#include "nnclr.h"

typedef struct {
    const double *x, *y;       /* (n) each; x need not be sorted but usually is */
    int n;
    const char *label;         /* legend text, or NULL for no legend entry */
    const char *color;         /* an SVG colour ("#1f77b4", "crimson"), or NULL for the palette */
} svg_series;

typedef struct {
    const char *title;         /* may be NULL */
    const char *xlabel, *ylabel;
    const svg_series *series;
    int n_series;
    int log_y;                 /* 1: logarithmic y axis (non-positive values are skipped) */
} svg_panel;

/* Panels are width x height pixels each (<= 0: 720 x 360). title (may be NULL) goes above the
 * first panel. */
nnclr_status svg_plot_write(const char *path, const char *title, const svg_panel *panels,
                            int n_panels, int width, int height);

#endif
