/* winograd.h - 3x3 convolution, stride 1, pad 1, on nChw{B}c activations by Winograd's minimal
 * filtering F(m x m, 3x3) with output tiles of m = 2 or 4 pixels: forward, backward data and
 * backward weights.
 *
 * Where it sits: conv2d (ops/conv2d.h) runs 3x3 stride-1 pad-1 convolutions through here
 * instead of oneDNN's direct kernels when the CPU has AVX2 + FMA and winograd_preferred says so
 * (see there). Such convolutions are two thirds of a CIFAR ResNet's work.
 *
 * Each output tile of m x m pixels is A^T [ U (.) V ] A with U = G g G^T (the 3x3 kernel g of a
 * channel pair) and V = B^T d B (the (m+2) x (m+2) input patch d around the tile): (m+2)^2
 * products per tile and channel pair instead of 9 m^2, 16 instead of 36 for F(2x2, 3x3), 36
 * instead of 144 for F(4x4, 3x3) (points 0, +-1, +-2). For a group of tiles the element-wise
 * products become (m+2)^2 small matrix products over the channels, (tiles, C) x (C, K), run by
 * a register-blocked kernel; the transforms are additions and small-constant multiply-adds on
 * vectors of channels. The kernels exist for 8 lanes (AVX2) and 16 lanes (AVX-512, used with
 * 16-channel blocks), see winograd_kernels.inc. Backward data is the same convolution with the
 * kernel rotated by 180 degrees and its channel axes swapped. Backward weights accumulates
 * dU = sum over tiles of (A dY A^T) (.) V as (C, tiles) x (tiles, K) products, then
 * dg = G^T dU G.
 *
 * The result differs from a direct convolution by rounding only: relative error about 5e-7 for
 * F(2x2, 3x3) (coefficients 1 and 1/2) and about 5e-6 for F(4x4, 3x3) (coefficients up to 8
 * and 1/24), checked in tests/test_conv2d.c against PyTorch fixtures, finite differences and
 * oneDNN's direct kernels for both tile sizes. */
#ifndef NNCLR_OPS_WINOGRAD_H
#define NNCLR_OPS_WINOGRAD_H

#include <stddef.h>
#include "nnclr.h"

typedef struct winograd winograd;

/* 1 when this CPU runs the Winograd kernels (AVX2 + FMA) and the shape qualifies: c and k
 * multiples of the activation block (8 or 16, core/dnn.h) and >= 8, all sizes >= 1. */
int winograd_supported(int c, int k);
/* The output tile m (2 or 4) used for c input and k output channels: NNCLR_WINOGRAD_TILE ("2"
 * or "4") when set, else 4. F(4x4) is 1.3-2x faster than F(2x2) per pass from 16 to 256
 * channels (bench/bench_conv, AVX-512). Its rounding error is ~10x F(2x2)'s but ~1e-6 relative
 * per layer up to 512 channels, three orders below bf16's (tests/test_conv2d_numerics.c); on
 * ResNet-18 the gradients of a batch-4 network then leave the float32-PyTorch bounds of
 * tests/test_resnet.c (up to ~2 % through its batch norms), which is why that parity test runs
 * on the direct kernels and the Winograd path has its own bound (test_resnet_winograd). */
int winograd_tile(int c, int k);
/* 1 when Winograd is also the faster choice for forward and backward data: supported, c, k
 * >= 16 with F(4x4) tiles (>= 32 with F(2x2)), and c, k <= 256: at 512 channels (ResNet-18/50's
 * last stage, 4x4 to 7x7 maps) few tiles share each 512x512 transformed weight matrix, and
 * oneDNN's direct forward / backward data were 2-3x faster (bench/bench_conv). bench/bench_conv against oneDNN's direct
 * kernels, batch 256, 2 threads, AVX-512: F(4x4) 1.5-1.6 / 1.3x at 16 channels (forward /
 * backward data), 1.5-2x at 32; F(2x2) 1.2-1.3x at 32, 1.6-1.9x at 64. */
int winograd_preferred(int c, int k);
/* 1 when Winograd's backward-weights pass is faster than oneDNN's too: always (when preferred)
 * with F(4x4) tiles or the 8-lane (AVX2) kernels; F(2x2) with the 16-lane (AVX-512) kernels
 * from 64 channels (0.9x at 32, 1.4x at 64). Otherwise conv2d runs that one pass on oneDNN and
 * forward / backward data on Winograd. */
int winograd_weights_preferred(int c, int k);
/* "winograd_{2x3,4x3}:{avx512,avx2}": the tile and kernels g runs. For tests and logs. */
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
