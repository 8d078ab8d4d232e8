/* pca.h - principal components of features: the 2-D map of `nnclr map` and the whitening of
 * `nnclr dedup` / `nnclr cluster` (curate/dedup.h).
 *
 * pca_fit(): the covariance (dim x dim, of the centred rows of one or two sets, accumulated with
 * sgemm in blocks and summed in double) decomposed by LAPACK's ssyev (OpenBLAS ships LAPACK).
 * Components are ordered by decreasing variance; each one's sign is fixed so that its
 * largest-magnitude coefficient is positive, so a data set gives the same picture every time. */
#ifndef NNCLR_CURATE_PCA_H
#define NNCLR_CURATE_PCA_H

#include "nnclr.h"

typedef struct {
    int dim;
    float *mean;        /* (dim) */
    float *vectors;     /* (dim, dim): row c is component c */
    double *variance;   /* (dim) the variance along each component, decreasing */
} pca_model;

/* The rows of a (na, dim) and, when b is not NULL, of b (nb, dim) together; na + nb >= 2. */
nnclr_status pca_fit(pca_model *p, const float *a, int na, const float *b, int nb, int dim);
void pca_free(pca_model *p);

/* x: (n, dim); 1 <= n_comp <= dim. out: (n, n_comp) the projections; explained: (n_comp) or
 * NULL, each component's share of the total variance. */
nnclr_status pca_project(const float *x, int n, int dim, int n_comp, float *out, double *explained);

#endif
