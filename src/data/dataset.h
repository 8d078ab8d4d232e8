/* dataset.h - an in-memory image data set: what every reader returns and what the augmentation
 * pipeline and loader consume. Images are uint8, HWC, all of one size (h, w, c) for the binary
 * formats; image folders keep per-image sizes (see images[]). */
#ifndef NNCLR_DATA_DATASET_H
#define NNCLR_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>
#include "nnclr.h"

typedef struct {
    int w, h, c;          /* this image's size; c is 1 or 3 */
    uint8_t *pixels;      /* (h, w, c) row-major */
} dataset_image;

typedef struct {
    int n;                /* number of images */
    int h, w, c;          /* common size, or 0 when images differ in size (folders) */
    uint8_t *pixels;      /* (n, h, w, c) when sizes are common, else NULL */
    dataset_image *images;/* per-image views (always filled; point into pixels when common) */
    int *labels;          /* (n), or NULL when unlabelled */
    int num_classes;      /* 0 when unlabelled */
    char **class_names;   /* (num_classes) or NULL */
} dataset;

void dataset_free(dataset *d);

#endif
