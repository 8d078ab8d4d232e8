/* winograd.h - 3x3 convolution, stride 1, pad 1, on nChw{B}c activations by Winograd's minimal
 * filtering F(2x2, 3x3): forward, backward data and backward weights.
 *
 * Where it sits: conv2d (ops/conv2d.h) runs 3x3 stride-1 pad-1 convolutions with at least 32
 * input and output channels (whole activation blocks, core/dnn.h) through here instead of
 * oneDNN's direct kernels when the CPU has AVX2 + FMA. Such convolutions are two thirds of a
 * CIFAR ResNet's work.
 *
 * Each output tile of 2x2 pixels is A^T [ U (.) V ] A with U = G g G^T (the 3x3 kernel g of a
 * channel pair, 4x4) and V = B^T d B (the 4x4 input patch d around the tile): 16 products per
 * tile and channel pair instead of 36. For a group of tiles the 16 element-wise products become
 * 16 small matrix products over the channels, (tiles, C) x (C, K), run by a register-blocked
 * kernel; the transforms are additions on vectors of channels. The kernels exist for 8 lanes
 * (AVX2) and 16 lanes (AVX-512, used with 16-channel blocks), see winograd_kernels.inc.
 * Backward data is the same convolution with the kernel rotated by 180 degrees and its channel
 * axes swapped. Backward weights accumulates dU = sum over tiles of (A dY A^T) (.) V, as 16
 * (C, tiles) x (tiles, K) products, then dg = G^T dU G.
 *
 * The result differs from a direct convolution by rounding only (the transforms have small
 * integer and 1/2 coefficients): relative error about 1e-6, checked in tests/test_conv2d.c
 * against PyTorch fixtures, finite differences and oneDNN's direct kernels. */
#ifndef NNCLR_OPS_WINOGRAD_H
#define NNCLR_OPS_WINOGRAD_H

#include <stddef.h>
#include "nnclr.h"

typedef struct winograd winograd;

/* 1 when this CPU runs the Winograd kernels (AVX2 + FMA) and the shape qualifies: c and k
 * multiples of the activation block (8 or 16, core/dnn.h) and >= 8, all sizes >= 1. */
int winograd_supported(int c, int k);
/* 1 when Winograd is also the faster choice: supported and c, k >= 32. At 16 channels the
 * transforms cost about what the saved products do, and oneDNN's direct kernels are as fast or
 * faster (bench/bench_conv: 0.8-1.1x forward / backward data, 0.8x backward weights); at 32 and
 * 64 channels Winograd is 1.2-1.8x faster. */
int winograd_preferred(int c, int k);
/* 1 when Winograd's backward-weights pass is faster than oneDNN's too: from 32 channels with
 * the 8-lane (AVX2) kernels (1.6x at 32), from 64 with the 16-lane (AVX-512) ones. At 32
 * channels the 16-lane transforms cost more than the saved products (bench/bench_conv: 0.78-0.82x
 * against oneDNN's avx512 kernel; 64 channels 1.4-1.5x), so conv2d then runs that one pass on
 * oneDNN and forward / backward data on Winograd. */
int winograd_weights_preferred(int c, int k);
/* "winograd_2x3:avx512" or "winograd_2x3:avx2": the kernels g runs. For tests and logs. */
const char *winograd_impl_name(const winograd *g);

/* A 3x3 / stride 1 / pad 1 convolution of n images (c, h, w) -> (k, h, w). need_dx: also
 * backward data. Owns the transformed weights and per-thread scratch. */
nnclr_status winograd_create(winograd **out, int n, int c, int h, int w, int k, int need_dx);
void winograd_free(winograd *g);

/* w: (K, C, 3, 3) plain. Transforms the weights used by the following calls. */
void winograd_prepare(winograd *g, const float *w);
/* The passes take their scratch from one process-wide pool (grown on first use, then reused by
 * every layer); NNCLR_ERR_NOMEM when it cannot grow. Calls from several threads at once are
 * serialised on that pool. */
/* y: (N, K, H, W) nChw{B}c, overwritten. x: (N, C, H, W) nChw{B}c. */
nnclr_status winograd_forward(winograd *g, float *y, const float *x);
/* dx: (N, C, H, W) nChw{B}c, overwritten. dy: (N, K, H, W) nChw{B}c. Needs need_dx at create. */
nnclr_status winograd_backward_data(winograd *g, float *dx, const float *dy);
/* dw: (K, C, 3, 3) plain, ACCUMULATED (+=). dy: (N, K, H, W), x: (N, C, H, W), nChw{B}c. */
nnclr_status winograd_backward_weights(winograd *g, float *dw, const float *dy, const float *x);

#endif
