/* pool.h - max pooling (3x3 stride 2 pad 1, the ImageNet stem) on oneDNN, and global average
 * pooling from blocked nChw{B}c to a plain (N, C) feature matrix. */
#ifndef NNCLR_OPS_POOL_H
#define NNCLR_OPS_POOL_H

#include <stddef.h>
#include "nnclr.h"

typedef struct maxpool maxpool;

/* Fails with NNCLR_ERR_ARG on sizes <= 0, pad > k/2 (PyTorch's rule), or k larger than the
 * padded input. Output size: (h + 2 pad - k) / stride + 1 (floor, PyTorch's ceil_mode=False). */
nnclr_status maxpool_create(maxpool **out, int n, int c, int h, int w, int k, int stride, int pad);
void maxpool_free(maxpool *p);
void maxpool_out_hw(const maxpool *p, int *oh, int *ow);
size_t maxpool_saved_bytes(const maxpool *p);
/* y, x nChw{B}c. saved: maxpool_saved_bytes of workspace for backward (training), written;
 * NULL in eval. */
nnclr_status maxpool_forward(maxpool *p, float *y, void *saved, const float *x);
/* dx OVERWRITTEN. dy: like y. saved: the workspace of the training forward. */
nnclr_status maxpool_backward(maxpool *p, float *dx, const float *dy, const void *saved);
/* Name of the oneDNN implementation of pass 0 (training forward), 1 (inference forward) or 2
 * (backward), e.g. "jit:avx2"; NULL for another pass. For tests and logs. */
const char *maxpool_impl_name(const maxpool *p, int pass);

/* y: (N, C) plain = mean over H, W of x: (N, C, H, W) nChw{B}c. */
void global_avgpool_forward(float *y, const float *x, int n, int c, int h, int w);
/* dx: nChw{B}c OVERWRITTEN with dy / (H W) broadcast (padded channels set to 0). */
void global_avgpool_backward(float *dx, const float *dy, int n, int c, int h, int w);

#endif
