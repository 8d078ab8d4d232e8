/* png_write.h - PNG output for the pictures nnclr makes: the nearest-neighbour grids of
 * `nnclr neighbors` and the augmented views of `nnclr augment-preview`.
 *
 * png_write() encodes 8-bit gray or RGB pixels with libpng (errors come back as a status, via
 * setjmp, never an exit) straight into an atomic_file. image_grid tiles rows x cols small
 * images, each scaled up by an integer factor (nearest neighbour, so 28 x 28 MNIST digits
 * become 56 x 56) and framed by a border whose colour says whether its label agrees with the
 * query's (green), disagrees (red) or is neutral (grey). */
#ifndef NNCLR_IO_PNG_WRITE_H
#define NNCLR_IO_PNG_WRITE_H

#include <stdint.h>
#include "nnclr.h"

/* pixels: (h, w, channels) row-major, channels 1 (gray) or 3 (RGB). */
nnclr_status png_write(const char *path, const uint8_t *pixels, int w, int h, int channels);
/* The same PNG into memory (for pictures inlined in SVG and HTML): *data malloc'd, free() it. */
nnclr_status png_encode(const uint8_t *pixels, int w, int h, int channels, uint8_t **data, size_t *len);

typedef enum {
    GRID_BORDER_NEUTRAL = 0,   /* grey */
    GRID_BORDER_AGREE,         /* green: label equals the query's */
    GRID_BORDER_DISAGREE,      /* red */
    GRID_BORDER_QUERY          /* blue: the query image itself */
} grid_border;

typedef struct {
    int rows, cols;            /* cells */
    int h, w, c;               /* each source image; c is 1 or 3 */
    int scale;                 /* integer upscale factor >= 1 */
    int border;                /* frame width in output pixels */
    int gap;                   /* white space between cells in output pixels */
    int cell_h, cell_w;        /* h * scale + 2 * border, likewise for w */
    int out_h, out_w;          /* the whole picture */
    uint8_t *pixels;           /* (out_h, out_w, 3) RGB, white where nothing was put */
} image_grid;

/* The smallest integer factor that makes the shorter side of an h x w image at least 56
 * pixels (1 for images that are already that large). */
int image_grid_auto_scale(int h, int w);

/* scale <= 0 means image_grid_auto_scale(h, w). */
nnclr_status image_grid_init(image_grid *g, int rows, int cols, int h, int w, int c, int scale,
                             int border);
void image_grid_free(image_grid *g);

/* img: (h, w, c) uint8. */
nnclr_status image_grid_put_u8(image_grid *g, int row, int col, const uint8_t *img, grid_border b);
/* img: (c, h, w) float, normalised as x = (v - mean[ch]) / std[ch] with v in [0, 1]; mean and
 * std: (c), or both NULL when img already holds v in [0, 1]. Values are clamped. */
nnclr_status image_grid_put_f32(image_grid *g, int row, int col, const float *img,
                                const float *mean, const float *std, grid_border b);

nnclr_status image_grid_write_png(const image_grid *g, const char *path);

#endif
