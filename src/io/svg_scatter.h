/* svg_scatter.h - a 2-D scatter plot as a standalone SVG file, for `nnclr map`: one dot per
 * point coloured by its label (grey when unlabelled), a legend of the classes, and small
 * pictures of chosen points inlined as PNG data: URIs, each framed in its point's colour and
 * joined to its dot. Axes are scaled to the data with a margin (equal units on both axes, so
 * distances in the picture are distances in the plane). Written atomically. */
#ifndef NNCLR_IO_SVG_SCATTER_H
#define NNCLR_IO_SVG_SCATTER_H

#include <stddef.h>
#include <stdint.h>
#include "nnclr.h"

typedef struct {
    int index;              /* the point it shows */
    const uint8_t *png;     /* encoded PNG (io/png_write.h png_encode) */
    size_t png_len;
} svg_thumb;

typedef struct {
    const char *title, *subtitle;   /* may be NULL */
    const char *xlabel, *ylabel;
    const float *xy;                /* (n, 2) */
    int n;
    const int *labels;              /* (n) in [0, num_classes), or NULL */
    int num_classes;
    const char *const *class_names; /* (num_classes) or NULL */
    const svg_thumb *thumbs;
    int n_thumbs;
    int thumb_px;                   /* side of each picture in the SVG (<= 0: 40) */
} svg_scatter;

nnclr_status svg_scatter_write(const char *path, const svg_scatter *sc);

#endif
