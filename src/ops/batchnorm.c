/* batchnorm.c - 2-D batch normalisation (optionally fused with the following ReLU) on
 * blocked nChw{B}c (B = 8 or 16, see core/dnn.h) activations. See batchnorm.h.
 *
 * Sits after every convolution of the backbone, where it is bound by memory traffic, not
 * arithmetic: a (N, C, H, W) tensor of the first ResNet stage is 16 MiB per view. So it is
 * written to touch each tensor as few times as possible:
 *   training forward   one read of x for the per-channel sums (of x and x^2, in double), one
 *                      read of x and one write of y = relu?((x - mean) a + beta), a = gamma rstd;
 *   backward           one read of dy and x for  sum g, sum g (x - mean)  (g = dy masked by the
 *                      ReLU), one read of dy and x and one write of
 *                      dx = a g - a/N sum g - (x - mean) a rstd^2 / N sum g (x - mean).
 * The ReLU mask is not stored: backward recomputes (x - mean) a + beta > 0 with the same
 * expression (bn_affine) the forward used. The saved state of a training forward lives in
 * caller memory: [mean (C floats)] [biased variance (C floats)], each part 64-byte aligned, so
 * the two augmented views can run through one op. The running statistics are updated here,
 * PyTorch style.
 *
 * The variance is E[x^2] - mean^2 with both sums in double: for the float inputs here its
 * relative error is about 1e-16 (mean^2 + var) / var, so it only loses float precision when
 * |mean| exceeds the standard deviation by ~10^4. Synchronised over ranks (distributed
 * training) the per-channel sums are all-reduced; one path for one and many processes, so a
 * forward on R ranks gives the values of one process on the whole batch (to the last bit in
 * practice) and data-parallel training changes only the gradient summation order.
 *
 * Reductions are cut into tasks of (channel block, one of BN_PARTS fixed runs of images), so a
 * layer with one channel block still uses every thread, and the task sums are added in task
 * order: results do not depend on the number of threads. Element-wise passes run over (channel
 * block, image). Loops are written per lane with B a constant after inlining, so the compiler
 * vectorises them. */
#include "ops/batchnorm.h"

#include <math.h>
#include <stdlib.h>
#include "core/dnn.h"
#include "core/status.h"
#include "dist/dist.h"

#define BN_EPS 1e-5
#define BN_PARTS 8 /* runs of images the reductions are summed in */

struct batchnorm {
    int n, c, h, w, fuse_relu;
    size_t var_off, saved_bytes;
    const dist *dist;  /* NULL or one rank: statistics of this process's rows */
    double *sums;      /* (2 C) per-channel sums (all-reduced when distributed) */
    double *parts;     /* (cpad(C) / B, BN_PARTS, 2, B) partial sums of the reductions */
    float *coef;       /* (5, cpad(C)) per-channel constants of the current call: mu, a, beta,
                          k0, kx (see set_coeffs); padded channels stay 0 */
};

static size_t align64(size_t v) { return (v + 63) & ~(size_t)63; }

nnclr_status batchnorm_create(batchnorm **out, int n, int c, int h, int w, int fuse_relu) {
    return batchnorm_create_dist(out, n, c, h, w, fuse_relu, NULL);
}

nnclr_status batchnorm_create_dist(batchnorm **out, int n, int c, int h, int w, int fuse_relu,
                                   const nnclr_dist *dd) {
    *out = NULL;
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0)
        return nnclr_fail(NNCLR_ERR_ARG, "batchnorm: sizes must be > 0 (n %d, c %d, h %d, w %d)",
                          n, c, h, w);
    if (fuse_relu != 0 && fuse_relu != 1)
        return nnclr_fail(NNCLR_ERR_ARG, "batchnorm: fuse_relu must be 0 or 1");
    batchnorm *b = nnclr_calloc(1, sizeof *b);
    if (!b) return NNCLR_ERR_NOMEM;
    b->n = n; b->c = c; b->h = h; b->w = w; b->fuse_relu = fuse_relu;
    b->dist = dd;
    b->sums = nnclr_calloc(2 * (size_t)c, sizeof(double));
    b->parts = nnclr_calloc((size_t)dnn_cpad(c) * BN_PARTS * 2, sizeof(double));
    b->coef = nnclr_calloc((size_t)dnn_cpad(c) * 5, sizeof(float));
    if (!b->sums || !b->parts || !b->coef) {
        batchnorm_free(b);
        return NNCLR_ERR_NOMEM;
    }
    b->var_off = align64((size_t)c * sizeof(float));
    b->saved_bytes = 2 * b->var_off;
    *out = b;
    return NNCLR_OK;
}

void batchnorm_free(batchnorm *b) {
    if (!b) return;
    free(b->sums);
    free(b->parts);
    free(b->coef);
    free(b);
}

size_t batchnorm_saved_bytes(const batchnorm *b) { return b->saved_bytes; }

/* ---- compute */

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* The pre-activation of the forward and of backward's ReLU mask: one expression for both, so
 * the mask is the forward's. */
ALWAYS_INLINE float bn_affine(float x, float mu, float a, float beta) { return (x - mu) * a + beta; }

/* dy through the fused ReLU: 0 where the forward's pre-activation was not positive. */
ALWAYS_INLINE float relu_mask(float dy, float x, float mu, float a, float beta, int relu) {
    float t = bn_affine(x, mu, a, beta);
    float m = t > 0.0f ? dy : 0.0f;
    return relu ? m : dy;
}

/* The per-channel constants of a pass, computed once per call (not per task): mu = mean,
 * a = gamma / sqrt(var + eps), beta; with the backward sums also k0 = a sum_g / count and
 * kx = a / (var + eps) sum_gx / count. */
static void set_coeffs(batchnorm *b, const float *mean, const float *var, const float *gamma,
                       const float *beta, const double *sum_g, const double *sum_gx, double count) {
    const size_t cp = (size_t)dnn_cpad(b->c);
    float *mu = b->coef, *a = mu + cp, *be = a + cp, *k0 = be + cp, *kx = k0 + cp;
    for (int ch = 0; ch < b->c; ch++) {
        double ad = (double)gamma[ch] / sqrt((double)var[ch] + BN_EPS);
        mu[ch] = mean[ch];
        a[ch] = (float)ad;
        be[ch] = beta[ch];
        if (sum_g) {
            k0[ch] = (float)(ad * sum_g[ch] / count);
            kx[ch] = (float)(ad / ((double)var[ch] + BN_EPS) * sum_gx[ch] / count);
        }
    }
}

/* Constant k (0 mu, 1 a, 2 beta, 3 k0, 4 kx) of the B lanes of channel block cb, into v. */
ALWAYS_INLINE void lanes(const batchnorm *b, int k, int cb, int B, float *v) {
    const float *src = b->coef + (size_t)k * dnn_cpad(b->c) + (size_t)cb * B;
    for (int l = 0; l < B; l++) v[l] = src[l];
}

/* One reduction task: channel block cb, images [n0, n1); two sums per lane into o[0..B) and
 * o[B..2B):
 *   dy NULL:  sum x, sum x^2                       (in double);
 *   else:     sum g, sum g (x - mu),  g = relu_mask(dy)   (in float over one image's pixels,
 *             then in double over images).
 * 4 interleaved accumulators per lane, so the speed is not bound by one chain of dependent
 * additions. Called with B and relu literal, so the lane arrays live in registers. */
ALWAYS_INLINE void sums_task(const batchnorm *b, const float *x, const float *dy, int cb, int n0, int n1,
                             double *o, const int relu, const int B) {
    const int cb_count = dnn_cpad(b->c) / B;
    const size_t hw = (size_t)b->h * b->w;
    double d1[16] = {0}, d2[16] = {0};
    if (!dy) {
        double s1[4][16] = {{0}}, s2[4][16] = {{0}};
        for (int n = n0; n < n1; n++) {
            const float *xp = x + ((size_t)n * cb_count + cb) * hw * B;
            size_t i = 0;
            for (; i + 4 <= hw; i += 4)
                for (int u = 0; u < 4; u++)
                    for (int l = 0; l < B; l++) {
                        double v = xp[(i + u) * B + l];
                        s1[u][l] += v;
                        s2[u][l] += v * v;
                    }
            for (; i < hw; i++)
                for (int l = 0; l < B; l++) {
                    double v = xp[i * B + l];
                    s1[0][l] += v;
                    s2[0][l] += v * v;
                }
        }
        for (int l = 0; l < B; l++) {
            d1[l] = (s1[0][l] + s1[1][l]) + (s1[2][l] + s1[3][l]);
            d2[l] = (s2[0][l] + s2[1][l]) + (s2[2][l] + s2[3][l]);
        }
    } else {
        float mu[16], a[16], be[16];
        lanes(b, 0, cb, B, mu);
        lanes(b, 1, cb, B, a);
        lanes(b, 2, cb, B, be);
        for (int n = n0; n < n1; n++) {
            const size_t base = ((size_t)n * cb_count + cb) * hw * B;
            const float *xp = x + base, *gp = dy + base;
            float s1[4][16] = {{0}}, s2[4][16] = {{0}};
            size_t i = 0;
            for (; i + 4 <= hw; i += 4)
                for (int u = 0; u < 4; u++)
                    for (int l = 0; l < B; l++) {
                        float xv = xp[(i + u) * B + l];
                        float g = relu_mask(gp[(i + u) * B + l], xv, mu[l], a[l], be[l], relu);
                        s1[u][l] += g;
                        s2[u][l] += g * (xv - mu[l]);
                    }
            for (; i < hw; i++)
                for (int l = 0; l < B; l++) {
                    float xv = xp[i * B + l], g = relu_mask(gp[i * B + l], xv, mu[l], a[l], be[l], relu);
                    s1[0][l] += g;
                    s2[0][l] += g * (xv - mu[l]);
                }
            for (int l = 0; l < B; l++) {
                d1[l] += (double)((s1[0][l] + s1[1][l]) + (s1[2][l] + s1[3][l]));
                d2[l] += (double)((s2[0][l] + s2[1][l]) + (s2[2][l] + s2[3][l]));
            }
        }
    }
    for (int l = 0; l < B; l++) {
        o[l] = d1[l];
        o[B + l] = d2[l];
    }
}

/* The 16-lane tasks compiled once more for AVX-512 and chosen at run time: the default build
 * targets AVX2 + FMA (x86-64-v3), where a 16-float block takes two registers. Same arithmetic
 * per lane, so the same results. */
#define BN_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq"), noinline))
static BN_AVX512 void sums_task16_avx512(const batchnorm *b, const float *x, const float *dy, int cb, int n0, int n1,
                                         double *o, int relu) {
    if (relu) sums_task(b, x, dy, cb, n0, n1, o, 1, 16);
    else sums_task(b, x, dy, cb, n0, n1, o, 0, 16);
}

static BN_AVX512 void normalize_task16_avx512(const batchnorm *b, float *y, const float *x, const float *res,
                                              const float *dy, int cb, int n, int relu);

static int bn_avx512(void) {
    static int v = -1;
    if (v < 0) v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                   __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
    return v;
}

/* The two per-channel sums of sums_task over this rank's (n, h, w), into out[0..C) and
 * out[C..2C); tasks and their fixed-order addition as in the file comment. With dy, the
 * constants mu, a, beta of set_coeffs must be set. */
static void channel_sums(const batchnorm *b, const float *x, const float *dy, double *out) {
    const int B = dnn_cblock(), relu = b->fuse_relu;
    const int cb_count = dnn_cpad(b->c) / B, parts = b->n < BN_PARTS ? b->n : BN_PARTS;
    double *part = b->parts; /* (cb_count, parts, 2, B) */
    const int wide = B == 16 && bn_avx512();
    #pragma omp parallel for schedule(static) collapse(2)
    for (int cb = 0; cb < cb_count; cb++)
        for (int pt = 0; pt < parts; pt++) {
            int n0 = (int)((long)b->n * pt / parts), n1 = (int)((long)b->n * (pt + 1) / parts);
            double *o = part + ((size_t)cb * parts + pt) * 2 * B;
            if (wide) sums_task16_avx512(b, x, dy, cb, n0, n1, o, relu);
            else if (B == 16 && relu) sums_task(b, x, dy, cb, n0, n1, o, 1, 16);
            else if (B == 16) sums_task(b, x, dy, cb, n0, n1, o, 0, 16);
            else if (relu) sums_task(b, x, dy, cb, n0, n1, o, 1, 8);
            else sums_task(b, x, dy, cb, n0, n1, o, 0, 8);
        }
    for (int cb = 0; cb < cb_count; cb++)
        for (int l = 0; l < B && cb * B + l < b->c; l++) {
            double t1 = 0, t2 = 0;
            for (int pt = 0; pt < parts; pt++) {
                t1 += part[((size_t)cb * parts + pt) * 2 * B + l];
                t2 += part[((size_t)cb * parts + pt) * 2 * B + B + l];
            }
            out[cb * B + l] = t1;
            out[b->c + cb * B + l] = t2;
        }
}

/* One element-wise task, channel block cb of image n:
 *   dy NULL:  y = bn_affine(x), then max(., 0) when relu, or max(. + res, 0) when res is given
 *             (forward, either statistics);
 *   else:     y = dx = a g - k0 - (x - mu) kx  with g = relu_mask(dy)  (backward).
 * The constants are set_coeffs's. Called with B and relu literal. */
ALWAYS_INLINE void normalize_task(const batchnorm *b, float *y, const float *x, const float *res,
                                  const float *dy, int cb, int n, const int relu, const int B) {
    const int cb_count = dnn_cpad(b->c) / B;
    const size_t hw = (size_t)b->h * b->w;
    float mu[16], a[16], be[16], k0[16], kx[16];
    lanes(b, 0, cb, B, mu);
    lanes(b, 1, cb, B, a);
    lanes(b, 2, cb, B, be);
    const size_t base = ((size_t)n * cb_count + cb) * hw * B;
    const float *xp = x + base;
    float *yp = y + base;
    if (!dy && res) {
        const float *rp = res + base;
        for (size_t i = 0; i < hw; i++)
            for (int l = 0; l < B; l++) {
                float t = bn_affine(xp[i * B + l], mu[l], a[l], be[l]) + rp[i * B + l];
                yp[i * B + l] = t > 0.0f ? t : 0.0f;
            }
        return;
    }
    if (!dy) {
        for (size_t i = 0; i < hw; i++)
            for (int l = 0; l < B; l++) {
                float t = bn_affine(xp[i * B + l], mu[l], a[l], be[l]);
                yp[i * B + l] = relu ? (t > 0.0f ? t : 0.0f) : t;
            }
        return;
    }
    lanes(b, 3, cb, B, k0);
    lanes(b, 4, cb, B, kx);
    const float *gp = dy + base;
    for (size_t i = 0; i < hw; i++)
        for (int l = 0; l < B; l++) {
            float xv = xp[i * B + l], g = relu_mask(gp[i * B + l], xv, mu[l], a[l], be[l], relu);
            yp[i * B + l] = a[l] * g - k0[l] - (xv - mu[l]) * kx[l];
        }
}

static BN_AVX512 void normalize_task16_avx512(const batchnorm *b, float *y, const float *x, const float *res,
                                              const float *dy, int cb, int n, int relu) {
    if (relu) normalize_task(b, y, x, res, dy, cb, n, 1, 16);
    else normalize_task(b, y, x, res, dy, cb, n, 0, 16);
}

static void normalize(const batchnorm *b, float *y, const float *x, const float *res, const float *dy) {
    const int B = dnn_cblock(), relu = b->fuse_relu, cb_count = dnn_cpad(b->c) / B;
    const int wide = B == 16 && bn_avx512();
    #pragma omp parallel for schedule(static) collapse(2)
    for (int cb = 0; cb < cb_count; cb++)
        for (int n = 0; n < b->n; n++) {
            if (wide) normalize_task16_avx512(b, y, x, res, dy, cb, n, relu);
            else if (B == 16 && relu) normalize_task(b, y, x, res, dy, cb, n, 1, 16);
            else if (B == 16) normalize_task(b, y, x, res, dy, cb, n, 0, 16);
            else if (relu) normalize_task(b, y, x, res, dy, cb, n, 1, 8);
            else normalize_task(b, y, x, res, dy, cb, n, 0, 8);
        }
}

static double global_count(const batchnorm *b) {
    return (double)b->n * b->h * b->w * dist_world(b->dist);
}

static nnclr_status check_residual(const batchnorm *b, const float *residual) {
    if (residual && b->fuse_relu)
        return nnclr_fail(NNCLR_ERR_ARG, "batchnorm: a residual needs an op made with fuse_relu 0");
    return NNCLR_OK;
}

nnclr_status batchnorm_forward_train(batchnorm *b, float *y, void *saved, const float *x,
                                     const float *residual, const float *gamma, const float *beta,
                                     float *running_mean, float *running_var, float momentum) {
    NNCLR_TRY(check_residual(b, residual));
    const double count = global_count(b);
    if (count < 2)
        return nnclr_fail(NNCLR_ERR_ARG, "batchnorm: training needs more than one value per channel");
    float *mean = saved;
    float *var = (float *)((char *)saved + b->var_off);
    double *s = b->sums;
    channel_sums(b, x, NULL, s);
    NNCLR_TRY(dist_allreduce_sum_d(b->dist, s, 2 * (size_t)b->c));
    for (int i = 0; i < b->c; i++) {
        double mu = s[i] / count, v = s[b->c + i] / count - mu * mu;
        mean[i] = (float)mu;
        var[i] = (float)(v > 0 ? v : 0);
    }
    set_coeffs(b, mean, var, gamma, beta, NULL, NULL, count);
    normalize(b, y, x, residual, NULL);

    /* PyTorch's running statistics: the variance that enters them is unbiased. */
    const float unbias = (float)(count / (count - 1));
    for (int i = 0; i < b->c; i++) {
        running_mean[i] = (1.0f - momentum) * running_mean[i] + momentum * mean[i];
        running_var[i] = (1.0f - momentum) * running_var[i] + momentum * var[i] * unbias;
    }
    return NNCLR_OK;
}

nnclr_status batchnorm_forward_eval(batchnorm *b, float *y, const float *x, const float *residual,
                                    const float *gamma, const float *beta, const float *running_mean,
                                    const float *running_var) {
    NNCLR_TRY(check_residual(b, residual));
    set_coeffs(b, running_mean, running_var, gamma, beta, NULL, NULL, 1.0);
    normalize(b, y, x, residual, NULL);
    return NNCLR_OK;
}

nnclr_status batchnorm_backward(batchnorm *b, float *dx, float *dgamma, float *dbeta,
                                const float *dy, const float *x, const void *saved,
                                const float *gamma, const float *beta) {
    const float *mean = saved;
    const float *var = (const float *)((const char *)saved + b->var_off);
    double *s = b->sums; /* sum g, then sum g (x - mean) */
    set_coeffs(b, mean, var, gamma, beta, NULL, NULL, 0.0);
    channel_sums(b, x, dy, s);
    for (int i = 0; i < b->c; i++) {
        dbeta[i] += (float)s[i];
        dgamma[i] += (float)(s[b->c + i] / sqrt((double)var[i] + BN_EPS));
    }
    NNCLR_TRY(dist_allreduce_sum_d(b->dist, s, 2 * (size_t)b->c));
    set_coeffs(b, mean, var, gamma, beta, s, s + b->c, global_count(b));
    normalize(b, dx, x, NULL, dy);
    return NNCLR_OK;
}
