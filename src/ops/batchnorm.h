/* batchnorm.h - 2-D batch normalisation on blocked nChw{B}c activations, with an optional
 * fused ReLU (y = relu(bn(x))); memory-bound, so written to read and write each tensor as few
 * times as possible (see batchnorm.c).
 *
 * Training mode normalises with the batch statistics (biased variance, eps 1e-5) and updates
 * the running statistics like PyTorch: r = (1 - m) r + m s, with the UNBIASED variance
 * (var * n / (n - 1), n = N*H*W) going into running_var. Eval mode uses the running stats.
 * Saved state for backward (batch mean and variance; the ReLU mask is recomputed from them)
 * lives in caller memory, so one op serves several independent forwards (the two views). */
#ifndef NNCLR_OPS_BATCHNORM_H
#define NNCLR_OPS_BATCHNORM_H

#include <stddef.h>
#include "nnclr.h"

typedef struct batchnorm batchnorm;

/* Fails with NNCLR_ERR_ARG when a size is <= 0 or fuse_relu is not 0/1. */
nnclr_status batchnorm_create(batchnorm **out, int n, int c, int h, int w, int fuse_relu);
/* Synchronised batch norm: with a group `d` of R > 1 ranks (each holding n of the R n rows),
 * training statistics and the backward's reductions are taken over all ranks' rows, so the
 * outputs and gradients equal those of one op over the concatenated batch. Every rank must
 * call forward_train / backward together. d NULL or of size 1: batchnorm_create. */
nnclr_status batchnorm_create_dist(batchnorm **out, int n, int c, int h, int w, int fuse_relu,
                                   const nnclr_dist *d);
void batchnorm_free(batchnorm *b);
/* Bytes of the saved-state area one training forward needs: batch mean (C floats) at offset 0,
 * batch (biased) variance (C floats) at the next 64-byte boundary. */
size_t batchnorm_saved_bytes(const batchnorm *b);

/* y, x: (N, C, H, W) nChw{B}c, separate buffers. gamma, beta: (C). running_mean/var: (C),
 * updated with `momentum` (PyTorch's 0.1). saved: batchnorm_saved_bytes, written. residual:
 * NULL, or a tensor shaped like x, and then y = relu(bn(x) + residual) -- the end of a residual
 * block in one pass -- which needs an op made with fuse_relu 0 (its backward is then that of
 * the plain bn: the caller masks dy by y > 0). Fails with NNCLR_ERR_ARG when N*H*W < 2 or a
 * residual is given to a fused-ReLU op. */
nnclr_status batchnorm_forward_train(batchnorm *b, float *y, void *saved, const float *x,
                                     const float *residual, const float *gamma, const float *beta,
                                     float *running_mean, float *running_var, float momentum);
nnclr_status batchnorm_forward_eval(batchnorm *b, float *y, const float *x, const float *residual,
                                    const float *gamma, const float *beta, const float *running_mean,
                                    const float *running_var);
/* dx OVERWRITTEN; dgamma, dbeta ACCUMULATED (synchronised: with this rank's share only, so
 * the gradient all-reduce of the step completes them). dy: gradient w.r.t. y (after the ReLU when
 * fused). x, saved, gamma, beta: those of the training forward. */
nnclr_status batchnorm_backward(batchnorm *b, float *dx, float *dgamma, float *dbeta,
                                const float *dy, const float *x, const void *saved,
                                const float *gamma, const float *beta);

#endif
