/* pool.h - max pooling (3x3 stride 2 pad 1, the ImageNet stem) on oneDNN, and global average
 * pooling from blocked nChw8c to a plain (N, C) feature matrix. */
#ifndef NNCLR_OPS_POOL_H
#define NNCLR_OPS_POOL_H

#include <stddef.h>
#include "nnclr.h"

typedef struct maxpool maxpool;

nnclr_status maxpool_create(maxpool **out, int n, int c, int h, int w, int k, int stride, int pad);
void maxpool_free(maxpool *p);
void maxpool_out_hw(const maxpool *p, int *oh, int *ow);
size_t maxpool_saved_bytes(const maxpool *p);
/* y, x nChw8c. saved: workspace for backward (training); may be NULL in eval. */
nnclr_status maxpool_forward(maxpool *p, float *y, void *saved, const float *x);
/* dx OVERWRITTEN. */
nnclr_status maxpool_backward(maxpool *p, float *dx, const float *dy, const void *saved);

/* y: (N, C) plain = mean over H, W of x: (N, C, H, W) nChw8c. */
void global_avgpool_forward(float *y, const float *x, int n, int c, int h, int w);
/* dx: nChw8c OVERWRITTEN with dy / (H W) broadcast (padded channels set to 0). */
void global_avgpool_backward(float *dx, const float *dy, int n, int c, int h, int w);

#endif
