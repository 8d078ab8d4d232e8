/* batchnorm1d.c - batch normalisation over the rows of a plain (N, C) matrix. See
 * batchnorm1d.h.
 *
 * Data flow position: inside the projector and predictor MLPs (model/heads.c), between a
 * linear layer and its ReLU. Row-major (N, C) puts a channel's values C floats apart, so
 * instead of walking one strided column per thread, each OpenMP thread takes a block of
 * BN1D_BLOCK adjacent channels and walks the rows in order: reads are sequential and the
 * per-channel sums live in a small array. Statistics use two passes in double (mean, then the
 * sum of squared deviations), so a large common offset in a channel costs no accuracy. */
#include "ops/batchnorm1d.h"

#include <math.h>
#include <stddef.h>

#include "core/status.h"
#include "dist/dist.h"

#define BN1D_EPS 1e-5
#define BN1D_BLOCK 64
/* Below this many elements one thread does the whole matrix. */
#define BN1D_PAR_MIN 32768

static int block_count(int c) { return (c + BN1D_BLOCK - 1) / BN1D_BLOCK; }

void batchnorm1d_forward_train(float *y, float *saved_mean, float *saved_rstd, const float *x,
                               const float *gamma, const float *beta, float *running_mean,
                               float *running_var, float momentum, int n, int c) {
    NNCLR_ASSERT(n > 0 && c > 0);
    const int nblocks = block_count(c);
    #pragma omp parallel for schedule(static) if ((size_t)n * c >= BN1D_PAR_MIN)
    for (int bl = 0; bl < nblocks; bl++) {
        const int j0 = bl * BN1D_BLOCK, j1 = j0 + BN1D_BLOCK < c ? j0 + BN1D_BLOCK : c, m = j1 - j0;
        double mean[BN1D_BLOCK] = {0}, m2[BN1D_BLOCK] = {0};
        float mhi[BN1D_BLOCK], mlo[BN1D_BLOCK], scale[BN1D_BLOCK], shift[BN1D_BLOCK];
        for (int i = 0; i < n; i++) {
            const float *xi = x + (size_t)i * c + j0;
            for (int j = 0; j < m; j++) mean[j] += xi[j];
        }
        for (int j = 0; j < m; j++) mean[j] /= n;
        for (int i = 0; i < n; i++) {
            const float *xi = x + (size_t)i * c + j0;
            for (int j = 0; j < m; j++) {
                double d = xi[j] - mean[j];
                m2[j] += d * d;
            }
        }
        for (int j = 0; j < m; j++) {
            const int ch = j0 + j;
            double var = m2[j] / n;  /* biased: what the normalisation uses */
            double rstd = 1.0 / sqrt(var + BN1D_EPS);
            double g = gamma ? gamma[ch] : 1.0, b = beta ? beta[ch] : 0.0;
            mhi[j] = (float)mean[j];
            mlo[j] = (float)(mean[j] - mhi[j]);
            scale[j] = (float)(g * rstd);
            shift[j] = (float)b;
            if (saved_mean) saved_mean[ch] = (float)mean[j];
            if (saved_rstd) saved_rstd[ch] = (float)rstd;
            if (running_mean)
                running_mean[ch] = (float)((1.0 - momentum) * running_mean[ch] + momentum * mean[j]);
            if (running_var) {
                /* PyTorch keeps the unbiased variance; with one row it has none, keep biased. */
                double unbiased = n > 1 ? m2[j] / (n - 1) : var;
                running_var[ch] = (float)((1.0 - momentum) * running_var[ch] + momentum * unbiased);
            }
        }
        /* y = (x - mean) * (gamma rstd) + beta. The mean is subtracted first, as a float pair
         * hi + lo (x - hi is exact near the mean), so a channel with a large offset keeps the
         * precision of its deviations. Element-wise, so y may alias x. */
        for (int i = 0; i < n; i++) {
            const float *xi = x + (size_t)i * c + j0;
            float *yi = y + (size_t)i * c + j0;
            for (int j = 0; j < m; j++) yi[j] = ((xi[j] - mhi[j]) - mlo[j]) * scale[j] + shift[j];
        }
    }
}

void batchnorm1d_forward_eval(float *y, const float *x, const float *gamma, const float *beta,
                              const float *running_mean, const float *running_var, int n, int c) {
    NNCLR_ASSERT(n >= 0 && c > 0);
    const int nblocks = block_count(c);
    #pragma omp parallel for schedule(static) if ((size_t)n * c >= BN1D_PAR_MIN)
    for (int bl = 0; bl < nblocks; bl++) {
        const int j0 = bl * BN1D_BLOCK, j1 = j0 + BN1D_BLOCK < c ? j0 + BN1D_BLOCK : c, m = j1 - j0;
        float scale[BN1D_BLOCK], shift[BN1D_BLOCK];
        for (int j = 0; j < m; j++) {
            const int ch = j0 + j;
            double rstd = 1.0 / sqrt((double)running_var[ch] + BN1D_EPS);
            scale[j] = (float)((gamma ? gamma[ch] : 1.0) * rstd);
            shift[j] = beta ? beta[ch] : 0.0f;
        }
        for (int i = 0; i < n; i++) {
            const float *xi = x + (size_t)i * c + j0, *rm = running_mean + j0;
            float *yi = y + (size_t)i * c + j0;
            for (int j = 0; j < m; j++) yi[j] = (xi[j] - rm[j]) * scale[j] + shift[j];
        }
    }
}

void batchnorm1d_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                          const float *x, const float *saved_mean, const float *saved_rstd,
                          const float *gamma, int n, int c) {
    NNCLR_ASSERT(n > 0 && c > 0);
    const int nblocks = block_count(c);
    #pragma omp parallel for schedule(static) if ((size_t)n * c >= BN1D_PAR_MIN)
    for (int bl = 0; bl < nblocks; bl++) {
        const int j0 = bl * BN1D_BLOCK, j1 = j0 + BN1D_BLOCK < c ? j0 + BN1D_BLOCK : c, m = j1 - j0;
        /* The float saved mean is only a shift s here: the exact mean is re-summed from x in
         * double, and sum dy (x - mean) = sum dy (x - s) - (mean - s) sum dy. */
        double sum_x[BN1D_BLOCK] = {0}, sum_dy[BN1D_BLOCK] = {0}, sum_dyxs[BN1D_BLOCK] = {0};
        const float *s = saved_mean + j0;
        for (int i = 0; i < n; i++) {
            const float *xi = x + (size_t)i * c + j0, *dyi = dy + (size_t)i * c + j0;
            for (int j = 0; j < m; j++) {
                sum_x[j] += xi[j];
                sum_dy[j] += dyi[j];
                sum_dyxs[j] += (double)dyi[j] * ((double)xi[j] - s[j]);
            }
        }
        /* dx = gamma rstd (dy - mean(dy) - xhat mean(dy xhat)), xhat = (x - mean) rstd,
         * computed per element as dy * a + (x - mean) * b + k with per-channel a, b, k. */
        float a[BN1D_BLOCK], b[BN1D_BLOCK], k[BN1D_BLOCK], mhi[BN1D_BLOCK], mlo[BN1D_BLOCK];
        for (int j = 0; j < m; j++) {
            const int ch = j0 + j;
            const double g = gamma ? gamma[ch] : 1.0, rstd = saved_rstd[ch];
            const double mean = sum_x[j] / n;
            const double sum_dyx = (sum_dyxs[j] - (mean - s[j]) * sum_dy[j]) * rstd;
            const double mdy = sum_dy[j] / n, mdyx = sum_dyx / n;
            mhi[j] = (float)mean;
            mlo[j] = (float)(mean - mhi[j]);
            a[j] = (float)(g * rstd);
            b[j] = (float)(-g * rstd * rstd * mdyx);
            k[j] = (float)(-g * rstd * mdy);
            if (dgamma) dgamma[ch] += (float)sum_dyx;
            if (dbeta) dbeta[ch] += (float)sum_dy[j];
        }
        /* Element-wise, so dx may alias dy. */
        for (int i = 0; i < n; i++) {
            const float *xi = x + (size_t)i * c + j0, *dyi = dy + (size_t)i * c + j0;
            float *dxi = dx + (size_t)i * c + j0;
            for (int j = 0; j < m; j++)
                dxi[j] = dyi[j] * a[j] + ((xi[j] - mhi[j]) - mlo[j]) * b[j] + k[j];
        }
    }
}

/* ---- synchronised (distributed) versions: plain row-order loops, the heads are small. */

nnclr_status batchnorm1d_forward_train_sync(const nnclr_dist *d, double *scratch, float *y,
                                            float *saved_mean, float *saved_rstd, const float *x,
                                            const float *gamma, const float *beta,
                                            float *running_mean, float *running_var,
                                            float momentum, int n, int c) {
    NNCLR_ASSERT(n > 0 && c > 0);
    double *s = scratch, *mean = scratch + c;
    const double count = (double)n * dist_world(d);
    for (int j = 0; j < c; j++) s[j] = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++) s[j] += x[(size_t)i * c + j];
    NNCLR_TRY(dist_allreduce_sum_d(d, s, (size_t)c));
    for (int j = 0; j < c; j++) {
        mean[j] = s[j] / count;
        s[j] = 0;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++) {
            double v = x[(size_t)i * c + j] - mean[j];
            s[j] += v * v;
        }
    NNCLR_TRY(dist_allreduce_sum_d(d, s, (size_t)c));
    /* s becomes the per-channel scale gamma rstd. */
    for (int j = 0; j < c; j++) {
        double var = s[j] / count, rstd = 1.0 / sqrt(var + BN1D_EPS);
        if (saved_mean) saved_mean[j] = (float)mean[j];
        if (saved_rstd) saved_rstd[j] = (float)rstd;
        if (running_mean)
            running_mean[j] = (float)((1.0 - momentum) * running_mean[j] + momentum * mean[j]);
        if (running_var) {
            double unbiased = count > 1 ? s[j] / (count - 1) : var;
            running_var[j] = (float)((1.0 - momentum) * running_var[j] + momentum * unbiased);
        }
        s[j] = (gamma ? gamma[j] : 1.0) * rstd;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++) {
            size_t k = (size_t)i * c + j;
            y[k] = (float)(((double)x[k] - mean[j]) * s[j] + (beta ? beta[j] : 0.0));
        }
    return NNCLR_OK;
}

nnclr_status batchnorm1d_backward_sync(const nnclr_dist *d, double *scratch, float *dx,
                                       float *dgamma, float *dbeta, const float *dy,
                                       const float *x, const float *saved_mean,
                                       const float *saved_rstd, const float *gamma, int n, int c) {
    NNCLR_ASSERT(n > 0 && c > 0);
    double *sdy = scratch, *sdyx = scratch + c;
    const double count = (double)n * dist_world(d);
    for (int j = 0; j < 2 * c; j++) scratch[j] = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++) {
            size_t k = (size_t)i * c + j;
            sdy[j] += dy[k];
            sdyx[j] += (double)dy[k] * (((double)x[k] - saved_mean[j]) * saved_rstd[j]);
        }
    for (int j = 0; j < c; j++) {
        if (dgamma) dgamma[j] += (float)sdyx[j];
        if (dbeta) dbeta[j] += (float)sdy[j];
    }
    NNCLR_TRY(dist_allreduce_sum_d(d, scratch, 2 * (size_t)c));
    /* dx = gamma rstd (dy - sum dy / N - xhat sum (dy xhat) / N), element-wise (dx may be dy). */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++) {
            size_t k = (size_t)i * c + j;
            double rstd = saved_rstd[j], xhat = ((double)x[k] - saved_mean[j]) * rstd;
            double g = (gamma ? gamma[j] : 1.0) * rstd;
            dx[k] = (float)(g * ((double)dy[k] - sdy[j] / count - xhat * sdyx[j] / count));
        }
    return NNCLR_OK;
}
