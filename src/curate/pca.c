/* pca.c - covariance by sgemm, eigenvectors by LAPACK ssyev. See pca.h. */
#include "curate/pca.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/status.h"
#include "ops/gemm.h"

#define PCA_BLOCK 8192

/* LAPACK (Fortran calling convention), from OpenBLAS. */
extern void ssyev_(const char *jobz, const char *uplo, const int *n, float *a, const int *lda,
                   float *w, float *work, const int *lwork, int *info);

void pca_free(pca_model *p) {
    free(p->mean);
    free(p->vectors);
    free(p->variance);
    memset(p, 0, sizeof *p);
}

nnclr_status pca_fit(pca_model *p, const float *a, int na, const float *b, int nb, int dim) {
    memset(p, 0, sizeof *p);
    int n = na + (b ? nb : 0);
    if (!a || na < 0 || (b && nb < 0) || n < 2 || dim <= 0)
        return nnclr_fail(NNCLR_ERR_ARG, "PCA: need at least 2 rows (got %d of %d)", n, dim);
    int block = PCA_BLOCK;
    double *mean = nnclr_calloc((size_t)dim, sizeof *mean);
    double *cov = nnclr_calloc((size_t)dim * dim, sizeof *cov);
    float *xc = nnclr_malloc((size_t)block * dim * sizeof *xc);
    float *part = nnclr_malloc((size_t)dim * dim * sizeof *part);
    float *w = nnclr_malloc((size_t)dim * sizeof *w);
    float *work = NULL;
    p->dim = dim;
    p->mean = nnclr_malloc((size_t)dim * sizeof *p->mean);
    p->vectors = nnclr_malloc((size_t)dim * dim * sizeof *p->vectors);
    p->variance = nnclr_malloc((size_t)dim * sizeof *p->variance);
    nnclr_status s = NNCLR_OK;
    if (!mean || !cov || !xc || !part || !w || !p->mean || !p->vectors || !p->variance) {
        s = NNCLR_ERR_NOMEM;
        goto done;
    }
    for (int set = 0; set < 2; set++) {
        const float *x = set ? b : a;
        for (int i = 0; x && i < (set ? nb : na); i++)
            for (int j = 0; j < dim; j++) mean[j] += x[(size_t)i * dim + j];
    }
    for (int j = 0; j < dim; j++) p->mean[j] = (float)(mean[j] / n);
    for (int set = 0; set < 2; set++) {
        const float *x = set ? b : a;
        int m = set ? nb : na;
        for (int i0 = 0; x && i0 < m; i0 += block) {
            int rows = m - i0 < block ? m - i0 : block;
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < dim; j++) xc[(size_t)r * dim + j] = x[(size_t)(i0 + r) * dim + j] - p->mean[j];
            gemm(1, 0, dim, dim, rows, 1.0f, xc, dim, xc, dim, 0.0f, part, dim);
            for (size_t t = 0; t < (size_t)dim * dim; t++) cov[t] += part[t];
        }
    }
    float *v = p->vectors;
    for (size_t t = 0; t < (size_t)dim * dim; t++) v[t] = (float)(cov[t] / (n - 1));
    /* Symmetric, so row-major is column-major: eigenvectors come back as rows, ascending. */
    int lwork = -1, info = 0;
    float query;
    ssyev_("V", "U", &dim, v, &dim, w, &query, &lwork, &info);
    lwork = info == 0 && (int)query > 3 * dim ? (int)query : 3 * dim;
    work = nnclr_malloc((size_t)lwork * sizeof *work);
    if (!work) {
        s = NNCLR_ERR_NOMEM;
        goto done;
    }
    ssyev_("V", "U", &dim, v, &dim, w, work, &lwork, &info);
    if (info != 0) {
        s = nnclr_fail(NNCLR_ERR_BACKEND, "PCA: LAPACK ssyev failed (info %d)", info);
        goto done;
    }
    /* Reverse to decreasing order and fix the signs. */
    for (int c = 0; c < dim / 2; c++) {
        float *r0 = v + (size_t)c * dim, *r1 = v + (size_t)(dim - 1 - c) * dim;
        for (int j = 0; j < dim; j++) {
            float t = r0[j];
            r0[j] = r1[j];
            r1[j] = t;
        }
    }
    for (int c = 0; c < dim; c++) {
        float *r = v + (size_t)c * dim;
        int big = 0;
        for (int j = 1; j < dim; j++)
            if (fabsf(r[j]) > fabsf(r[big])) big = j;
        if (r[big] < 0)
            for (int j = 0; j < dim; j++) r[j] = -r[j];
        p->variance[c] = fmax(0.0, w[dim - 1 - c]);
    }
done:
    free(mean); free(cov); free(xc); free(part); free(w); free(work);
    if (s) pca_free(p);
    return s;
}

nnclr_status pca_project(const float *x, int n, int dim, int n_comp, float *out, double *explained) {
    if (n_comp < 1 || n_comp > dim)
        return nnclr_fail(NNCLR_ERR_ARG, "PCA: %d components of %d-dimensional features", n_comp, dim);
    pca_model p;
    NNCLR_TRY(pca_fit(&p, x, n, NULL, 0, dim));
    double total = 0;
    for (int j = 0; j < dim; j++) total += p.variance[j];
    for (int c = 0; explained && c < n_comp; c++) explained[c] = total > 0 ? p.variance[c] / total : 0.0;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++)
        for (int c = 0; c < n_comp; c++) {
            const float *v = p.vectors + (size_t)c * dim;
            double acc = 0;
            for (int j = 0; j < dim; j++) acc += ((double)x[(size_t)i * dim + j] - p.mean[j]) * v[j];
            out[(size_t)i * n_comp + c] = (float)acc;
        }
    pca_free(&p);
    return NNCLR_OK;
}
