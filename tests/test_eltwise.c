/* test_eltwise.c - ReLU, residual add, the two-part ReLU backward and the NCHW <-> nChw{B}c
 * conversions.
 *
 * These ops are exact in float32, so they are compared bit for bit with a naive loop written
 * here (no PyTorch fixture needed), at a small size (serial path) and at a large odd size
 * (OpenMP path), including the in-place forms the headers allow. A central finite-difference
 * check (h = 1e-3, loss sum(dy * y) in double, |fd - g| <= 1e-3 max(1, |g|)) ties each
 * backward to its forward; inputs are kept at |x| >= 0.1 so no perturbation crosses the ReLU
 * kink at 0. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/dnn.h"
#include "core/status.h"
#include "ops/eltwise.h"
#include "testlib.h"

#define FD_H 1e-3f
#define FD_TOL 1e-3

static float *alloc_floats(size_t n) {
    float *p = nnclr_calloc(n ? n : 1, sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static float relu1(float v) { return v > 0.0f ? v : 0.0f; }

static int same(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

static void exact_ops(size_t n) {
    char what[120];
    float *a = alloc_floats(n), *b = alloc_floats(n), *y = alloc_floats(n), *ref = alloc_floats(n);
    float *t = alloc_floats(n);
    fill_uniform(a, n, 1);
    fill_uniform(b, n, 2);

    relu_forward(y, a, n);
    for (size_t i = 0; i < n; i++) ref[i] = relu1(a[i]);
    snprintf(what, sizeof what, "relu_forward exact (n %zu)", n);
    check_true(what, same(y, ref, n));
    memcpy(t, a, n * sizeof(float));
    relu_forward(t, t, n);
    snprintf(what, sizeof what, "relu_forward in place (n %zu)", n);
    check_true(what, same(t, ref, n));

    /* y = relu(a) from above is the forward output; b plays dy. */
    relu_backward(t, b, y, n);
    for (size_t i = 0; i < n; i++) ref[i] = y[i] > 0.0f ? b[i] : 0.0f;
    snprintf(what, sizeof what, "relu_backward exact (n %zu)", n);
    check_true(what, same(t, ref, n));
    memcpy(t, b, n * sizeof(float));
    relu_backward(t, t, y, n);
    snprintf(what, sizeof what, "relu_backward with dx == dy (n %zu)", n);
    check_true(what, same(t, ref, n));
    float *c = alloc_floats(n);
    fill_uniform(c, n, 3);
    relu_backward_add(t, b, c, y, n);
    for (size_t i = 0; i < n; i++) ref[i] = y[i] > 0.0f ? b[i] + c[i] : 0.0f;
    snprintf(what, sizeof what, "relu_backward_add exact (n %zu)", n);
    check_true(what, same(t, ref, n));
    memcpy(t, b, n * sizeof(float));
    relu_backward_add(t, t, c, y, n);
    snprintf(what, sizeof what, "relu_backward_add with dx == a (n %zu)", n);
    check_true(what, same(t, ref, n));
    memcpy(t, c, n * sizeof(float));
    relu_backward_add(t, b, t, y, n);
    snprintf(what, sizeof what, "relu_backward_add with dx == b (n %zu)", n);
    check_true(what, same(t, ref, n));
    free(c);
    memcpy(t, a, n * sizeof(float));
    add_inplace(t, b, n);
    for (size_t i = 0; i < n; i++) ref[i] = a[i] + b[i];
    snprintf(what, sizeof what, "add_inplace exact (n %zu)", n);
    check_true(what, same(t, ref, n));
    free(a); free(b); free(y); free(ref); free(t);
}

static void conversions(int n, int c, int h, int w) {
    char what[120];
    const size_t plain = (size_t)n * c * h * w, bs = dnn_act_size(n, c, h, w);
    float *x = alloc_floats(plain), *blk = alloc_floats(bs), *back = alloc_floats(plain);
    fill_uniform(x, plain, 7);
    for (size_t i = 0; i < bs; i++) blk[i] = NAN;
    nchw_to_blocked(blk, x, n, c, h, w);
    int ok = 1;
    const int B = dnn_cblock(), cbs = dnn_cpad(c) / B;
    for (int in = 0; in < n; in++)
        for (int cc = 0; cc < dnn_cpad(c); cc++)
            for (int p = 0; p < h * w; p++) {
                float got = blk[(((size_t)in * cbs + cc / B) * h * w + p) * B + cc % B];
                float want = cc < c ? x[((size_t)in * c + cc) * h * w + p] : 0.0f;
                ok &= got == want;   /* padded channels must be exactly 0, not NaN */
            }
    snprintf(what, sizeof what, "nchw_to_blocked layout, zero padding (%dx%dx%dx%d)", n, c, h, w);
    check_true(what, ok);
    blocked_to_nchw(back, blk, n, c, h, w);
    snprintf(what, sizeof what, "blocked_to_nchw round trip (%dx%dx%dx%d)", n, c, h, w);
    check_true(what, same(back, x, plain));
    free(x); free(blk); free(back);
}

/* Values with |v| in [0.1, 1.1): at least 100 h away from the ReLU kink. */
static void fill_away_from_zero(float *v, size_t n, unsigned seed) {
    fill_uniform(v, n, seed);
    for (size_t i = 0; i < n; i++) v[i] = v[i] < 0 ? v[i] - 0.1f : v[i] + 0.1f;
}

/* The forward of a block end, y = relu(a + b) (in nnclr fused into the last batch norm). */
static void block_end(float *y, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = relu1(a[i] + b[i]);
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static void finite_differences(void) {
    const size_t n = 257;
    float *a = alloc_floats(n), *b = alloc_floats(n), *y = alloc_floats(n), *dy = alloc_floats(n);
    float *da = alloc_floats(n);
    fill_away_from_zero(a, n, 3);
    fill_away_from_zero(b, n, 4);
    for (size_t i = 0; i < n; i++) b[i] = 0.5f * b[i];   /* a + b stays away from 0 too */
    for (size_t i = 0; i < n; i++) b[i] = fabsf(a[i] + b[i]) < 0.05f ? -b[i] : b[i];
    fill_uniform(dy, n, 5);

    /* relu: dx = relu_backward(dy, relu(x)). */
    relu_forward(y, a, n);
    relu_backward(da, dy, y, n);
    double worst = 0;
    for (size_t i = 0; i < n; i += 3) {
        const float orig = a[i];
        a[i] = orig + FD_H; const float up = a[i]; relu_forward(y, a, n); double lp = dot(dy, y, n);
        a[i] = orig - FD_H; const float dn = a[i]; relu_forward(y, a, n); double lm = dot(dy, y, n);
        a[i] = orig;
        double err = fabs((lp - lm) / ((double)up - dn) - da[i]) / fmax(1.0, fabs(da[i]));
        if (err > worst) worst = err;
    }
    char what[120];
    snprintf(what, sizeof what, "fd relu (worst rel err %.2g)", worst);
    check_true(what, worst <= FD_TOL);

    /* add + relu: both inputs get relu_backward(dy, y). */
    block_end(y, a, b, n);
    relu_backward(da, dy, y, n);
    worst = 0;
    for (size_t i = 0; i < n; i += 3) {
        float *v = i % 2 ? b : a;
        const float orig = v[i];
        v[i] = orig + FD_H; const float up = v[i]; block_end(y, a, b, n); double lp = dot(dy, y, n);
        v[i] = orig - FD_H; const float dn = v[i]; block_end(y, a, b, n); double lm = dot(dy, y, n);
        v[i] = orig;
        double err = fabs((lp - lm) / ((double)up - dn) - da[i]) / fmax(1.0, fabs(da[i]));
        if (err > worst) worst = err;
    }
    snprintf(what, sizeof what, "fd add_relu (worst rel err %.2g)", worst);
    check_true(what, worst <= FD_TOL);
    free(a); free(b); free(y); free(dy); free(da);
}

int main(void) {
    exact_ops(1000);
    exact_ops(1000003);
    conversions(2, 3, 5, 7);
    conversions(2, 12, 4, 4);
    conversions(3, 16, 3, 5);
    conversions(4, 20, 31, 33);
    finite_differences();
    return test_summary();
}
