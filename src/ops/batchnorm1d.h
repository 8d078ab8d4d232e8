/* batchnorm1d.h - batch normalisation over the rows of a plain (N, C) matrix (the MLP heads),
 * PyTorch BatchNorm1d semantics: eps 1e-5, biased variance for normalising, unbiased variance
 * into running_var, momentum 0.1. affine = 0 gives BN without gamma/beta. */
#ifndef NNCLR_OPS_BATCHNORM1D_H
#define NNCLR_OPS_BATCHNORM1D_H

#include "nnclr.h"

/* Training forward. y, x: (N, C) (y may equal x). saved_mean, saved_rstd: (C) outputs for
 * backward, or NULL when no backward follows. gamma, beta: (C) or NULL (no affine).
 * running_mean/var: (C) updated, or NULL. */
void batchnorm1d_forward_train(float *y, float *saved_mean, float *saved_rstd, const float *x,
                               const float *gamma, const float *beta, float *running_mean,
                               float *running_var, float momentum, int n, int c);
void batchnorm1d_forward_eval(float *y, const float *x, const float *gamma, const float *beta,
                              const float *running_mean, const float *running_var, int n, int c);
/* dx OVERWRITTEN (may equal dy); dgamma, dbeta ACCUMULATED (NULL when no affine).
 * x: forward input. */
void batchnorm1d_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                          const float *x, const float *saved_mean, const float *saved_rstd,
                          const float *gamma, int n, int c);

/* Synchronised versions for a group d of R ranks, each holding n rows of the R n-row batch:
 * statistics and the backward's reductions are over all ranks (all-reduced in double), so
 * results equal the single-process op on the concatenated batch; dgamma, dbeta receive this
 * rank's share (the step's gradient all-reduce sums them). scratch: (2 C) doubles. Every rank
 * calls them together; the only failure is a failed all-reduce (NNCLR_ERR_BACKEND). */
nnclr_status batchnorm1d_forward_train_sync(const nnclr_dist *d, double *scratch, float *y,
                                            float *saved_mean, float *saved_rstd, const float *x,
                                            const float *gamma, const float *beta,
                                            float *running_mean, float *running_var,
                                            float momentum, int n, int c);
nnclr_status batchnorm1d_backward_sync(const nnclr_dist *d, double *scratch, float *dx,
                                       float *dgamma, float *dbeta, const float *dy,
                                       const float *x, const float *saved_mean,
                                       const float *saved_rstd, const float *gamma, int n, int c);

#endif
