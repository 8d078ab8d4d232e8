/* batchnorm1d.h - batch normalisation over the rows of a plain (N, C) matrix (the MLP heads),
 * PyTorch BatchNorm1d semantics: eps 1e-5, biased variance for normalising, unbiased variance
 * into running_var, momentum 0.1. affine = 0 gives BN without gamma/beta. */
#ifndef NNCLR_OPS_BATCHNORM1D_H
#define NNCLR_OPS_BATCHNORM1D_H

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

#endif
