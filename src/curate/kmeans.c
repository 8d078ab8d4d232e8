/* kmeans.c - k-means++ and Lloyd iterations on sgemm distances; NMI and purity. See kmeans.h. */
#include "curate/kmeans.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "core/status.h"
#include "ops/gemm.h"

#define KMEANS_BLOCK 4096

static double sqdist(const float *x, const float *c, int dim) {
    double d = 0;
    for (int j = 0; j < dim; j++) {
        double t = (double)x[j] - c[j];
        d += t * t;
    }
    return d;
}

/* k-means++ start: centres rows of x drawn by squared distance (d2: (n) scratch). */
static void kmeanspp(const float *x, int n, int dim, int k, uint64_t seed, float *centres, double *d2) {
    rng_state r;
    rng_seed(&r, seed);
    int first = (int)rng_below(&r, (uint64_t)n);
    memcpy(centres, x + (size_t)first * dim, (size_t)dim * sizeof(float));
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) d2[i] = sqdist(x + (size_t)i * dim, centres, dim);
    for (int c = 1; c < k; c++) {
        double total = 0;
        for (int i = 0; i < n; i++) total += d2[i];
        int pick = n - 1;
        if (total > 0) {
            double u = rng_uniform_double(&r) * total, acc = 0;
            for (int i = 0; i < n; i++) {
                acc += d2[i];
                if (acc > u) {
                    pick = i;
                    break;
                }
            }
        } else {
            pick = (int)rng_below(&r, (uint64_t)n);   /* all points coincide with centres */
        }
        float *cc = centres + (size_t)c * dim;
        memcpy(cc, x + (size_t)pick * dim, (size_t)dim * sizeof(float));
#pragma omp parallel for schedule(static)
        for (int i = 0; i < n; i++) {
            double d = sqdist(x + (size_t)i * dim, cc, dim);
            if (d < d2[i]) d2[i] = d;
        }
    }
}

nnclr_status kmeans_fit(const float *x, int n, int dim, int k, int max_iter, uint64_t seed,
                        float *centres, int *assign, kmeans_result *res,
                        kmeans_progress_fn progress, void *user) {
    if (!x || n <= 0 || dim <= 0) return nnclr_fail(NNCLR_ERR_ARG, "k-means: no points");
    if (k < 1 || k > n) return nnclr_fail(NNCLR_ERR_ARG, "k-means: k = %d must be in [1, %d] (the number of points)", k, n);
    if (max_iter < 1) return nnclr_fail(NNCLR_ERR_ARG, "k-means: max_iter must be >= 1, got %d", max_iter);
    int block = n < KMEANS_BLOCK ? n : KMEANS_BLOCK;
    double *d2 = nnclr_malloc((size_t)n * sizeof *d2);
    float *xn = nnclr_malloc((size_t)n * sizeof *xn);
    float *cn = nnclr_malloc((size_t)k * sizeof *cn);
    float *dot = nnclr_malloc((size_t)block * k * sizeof *dot);
    double *sum = nnclr_malloc((size_t)k * dim * sizeof *sum);
    int *count = nnclr_malloc((size_t)k * sizeof *count);
    if (!d2 || !xn || !cn || !dot || !sum || !count) {
        free(d2); free(xn); free(cn); free(dot); free(sum); free(count);
        return NNCLR_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++) {
        double t = 0;
        for (int j = 0; j < dim; j++) t += (double)x[(size_t)i * dim + j] * x[(size_t)i * dim + j];
        xn[i] = (float)t;
        assign[i] = -1;
    }
    kmeanspp(x, n, dim, k, seed, centres, d2);
    kmeans_result out = {0, 0, 0};
    for (int it = 0; it < max_iter; it++) {
        for (int c = 0; c < k; c++) {
            double t = 0;
            for (int j = 0; j < dim; j++) t += (double)centres[(size_t)c * dim + j] * centres[(size_t)c * dim + j];
            cn[c] = (float)t;
        }
        long changed = 0;
        for (int i0 = 0; i0 < n; i0 += block) {
            int rows = n - i0 < block ? n - i0 : block;
            gemm(0, 1, rows, k, dim, 1.0f, x + (size_t)i0 * dim, dim, centres, dim, 0.0f, dot, k);
#pragma omp parallel for schedule(static) reduction(+ : changed)
            for (int r = 0; r < rows; r++) {
                int best = 0;
                float bd = FLT_MAX;
                for (int c = 0; c < k; c++) {
                    float d = cn[c] - 2.0f * dot[(size_t)r * k + c];
                    if (d < bd) bd = d, best = c;
                }
                int i = i0 + r;
                d2[i] = fmax(0.0, (double)bd + xn[i]);
                changed += assign[i] != best;
                assign[i] = best;
            }
        }
        /* New centres: means in row order (double). */
        memset(sum, 0, (size_t)k * dim * sizeof *sum);
        memset(count, 0, (size_t)k * sizeof *count);
        out.inertia = 0;
        for (int i = 0; i < n; i++) {
            double *sc = sum + (size_t)assign[i] * dim;
            const float *xi = x + (size_t)i * dim;
            for (int j = 0; j < dim; j++) sc[j] += xi[j];
            count[assign[i]]++;
            out.inertia += d2[i];
        }
        out.iterations = it + 1;
        if (changed == 0) {
            out.converged = 1;
            if (progress) progress(user, it + 1, 0);
            break;
        }
        for (int c = 0; c < k; c++) {
            float *cc = centres + (size_t)c * dim;
            if (count[c] > 0) {
                for (int j = 0; j < dim; j++) cc[j] = (float)(sum[(size_t)c * dim + j] / count[c]);
            } else {
                /* Empty: take the point farthest from its centre (it then forms its own). */
                int far = 0;
                for (int i = 1; i < n; i++)
                    if (d2[i] > d2[far]) far = i;
                memcpy(cc, x + (size_t)far * dim, (size_t)dim * sizeof(float));
                d2[far] = 0;
            }
        }
        if (progress) progress(user, it + 1, (int)changed);
    }
    free(d2); free(xn); free(cn); free(dot); free(sum); free(count);
    if (res) *res = out;
    return NNCLR_OK;
}

static double entropy_of(const long *count, int k, int n) {
    double h = 0;
    for (int i = 0; i < k; i++)
        if (count[i] > 0) {
            double p = (double)count[i] / n;
            h -= p * log(p);
        }
    return h;
}

double cluster_nmi(const int *a, int ka, const int *b, int kb, int n) {
    long *joint = calloc((size_t)ka * kb, sizeof *joint);
    long *ca = calloc((size_t)ka, sizeof *ca), *cb = calloc((size_t)kb, sizeof *cb);
    double nmi = NAN;
    if (joint && ca && cb && n > 0) {
        for (int i = 0; i < n; i++) {
            joint[(size_t)a[i] * kb + b[i]]++;
            ca[a[i]]++;
            cb[b[i]]++;
        }
        double mi = 0;
        for (int i = 0; i < ka; i++)
            for (int j = 0; j < kb; j++) {
                long c = joint[(size_t)i * kb + j];
                if (c > 0) mi += (double)c / n * log((double)c * n / ((double)ca[i] * cb[j]));
            }
        double ha = entropy_of(ca, ka, n), hb = entropy_of(cb, kb, n);
        nmi = ha > 0 && hb > 0 ? mi / sqrt(ha * hb) : 0.0;
    }
    free(joint);
    free(ca);
    free(cb);
    return nmi;
}

double cluster_purity(const int *assign, int k, const int *labels, int num_classes, int n) {
    long *joint = calloc((size_t)k * num_classes, sizeof *joint);
    if (!joint || n <= 0) {
        free(joint);
        return NAN;
    }
    for (int i = 0; i < n; i++) joint[(size_t)assign[i] * num_classes + labels[i]]++;
    long hit = 0;
    for (int c = 0; c < k; c++) {
        long best = 0;
        for (int l = 0; l < num_classes; l++)
            if (joint[(size_t)c * num_classes + l] > best) best = joint[(size_t)c * num_classes + l];
        hit += best;
    }
    free(joint);
    return (double)hit / n;
}
