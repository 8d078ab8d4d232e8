/* eltwise.c - element-wise activation ops (ReLU, residual add) and the plain NCHW <-> nChw{B}c
 * conversions at the edges of the backbone.
 *
 * The ops treat activations as flat arrays, so they serve every layout; ResNet blocks call
 * relu_backward_add at a block's end (its output gradient still in two parts: shortcut and
 * main path of the next block), and add_inplace once before the stem. Loops are
 * OpenMP-parallel in large static chunks and simple enough for the compiler to vectorise;
 * below ELTWISE_PAR_MIN
 * elements they run on the calling thread, where a parallel region would cost more than the
 * work. */
#include "ops/eltwise.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "core/dnn.h"

#define ELTWISE_PAR_MIN 32768

/* v where y > 0, else +0 (y NaN: +0, as the comparison gives). On the bits, so the loops
 * vectorise without AVX-512's masked loads: GCC keeps a float select like y > 0 ? v : 0 scalar
 * on AVX2 (it could trap), and the default build targets AVX2. */
static inline float keep_if_positive(float v, float y) {
    int32_t yi;
    uint32_t vb;
    memcpy(&yi, &y, sizeof yi);
    memcpy(&vb, &v, sizeof vb);
    vb &= (yi > 0 && yi <= 0x7f800000) ? 0xffffffffu : 0u;
    float r;
    memcpy(&r, &vb, sizeof r);
    return r;
}

void relu_forward(float *y, const float *x, size_t n) {
    #pragma omp parallel for simd schedule(static) if (n >= ELTWISE_PAR_MIN)
    for (size_t i = 0; i < n; i++) y[i] = keep_if_positive(x[i], x[i]);
}

void relu_backward(float *dx, const float *dy, const float *y, size_t n) {
    #pragma omp parallel for simd schedule(static) if (n >= ELTWISE_PAR_MIN)
    for (size_t i = 0; i < n; i++) dx[i] = keep_if_positive(dy[i], y[i]);
}

void relu_backward_add(float *dx, const float *a, const float *b, const float *y, size_t n) {
    #pragma omp parallel for simd schedule(static) if (n >= ELTWISE_PAR_MIN)
    for (size_t i = 0; i < n; i++) dx[i] = keep_if_positive(a[i] + b[i], y[i]);
}

void add_inplace(float *dst, const float *src, size_t n) {
    #pragma omp parallel for simd schedule(static) if (n >= ELTWISE_PAR_MIN)
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

/* dst: (N, C/B, H, W, B) blocked (B = dnn_cblock()), padded channels zeroed. src: (N, C, H, W)
 * plain. */
void nchw_to_blocked(float *dst, const float *src, int n, int c, int h, int w) {
    const int B = dnn_cblock(), cb_count = dnn_cpad(c) / B;
    const size_t hw = (size_t)h * (size_t)w;
    const int blocks = n * cb_count;
    #pragma omp parallel for schedule(static) if ((size_t)blocks * hw * B >= ELTWISE_PAR_MIN)
    for (int nb = 0; nb < blocks; nb++) {
        const int in = nb / cb_count, cb = nb % cb_count;
        float *d = dst + (size_t)nb * hw * B;
        const int lanes = c - cb * B < B ? c - cb * B : B;
        const float *s = src + ((size_t)in * (size_t)c + (size_t)cb * B) * hw;
        for (size_t p = 0; p < hw; p++) {
            for (int l = 0; l < lanes; l++) d[p * B + (size_t)l] = s[(size_t)l * hw + p];
            for (int l = lanes; l < B; l++) d[p * B + (size_t)l] = 0.0f;
        }
    }
}

/* dst: (N, C, H, W) plain. src: (N, C/B, H, W, B) blocked; padded channels are dropped. */
void blocked_to_nchw(float *dst, const float *src, int n, int c, int h, int w) {
    const int B = dnn_cblock(), cb_count = dnn_cpad(c) / B;
    const size_t hw = (size_t)h * (size_t)w;
    const int blocks = n * cb_count;
    #pragma omp parallel for schedule(static) if ((size_t)blocks * hw * B >= ELTWISE_PAR_MIN)
    for (int nb = 0; nb < blocks; nb++) {
        const int in = nb / cb_count, cb = nb % cb_count;
        const float *s = src + (size_t)nb * hw * B;
        const int lanes = c - cb * B < B ? c - cb * B : B;
        float *d = dst + ((size_t)in * (size_t)c + (size_t)cb * B) * hw;
        for (int l = 0; l < lanes; l++)
            for (size_t p = 0; p < hw; p++) d[(size_t)l * hw + p] = s[p * B + (size_t)l];
    }
}
