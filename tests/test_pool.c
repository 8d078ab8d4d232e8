/* test_pool.c - max pooling (oneDNN, nChw8c) and global average pooling against PyTorch
 * fixtures from tests/gen_ops.py, plus finite-difference gradient checks, zero padded channels,
 * the oneDNN implementations chosen, and argument errors.
 *
 * Tolerances (|got - ref| <= atol + rtol |ref|, references computed in float64):
 *   max pool y: exact (it selects an input);  max pool dx: atol 1e-6, rtol 1e-6 (an input can
 *   win up to four overlapping windows, whose dy are summed in float32)
 *   global average pool y, dx: atol 1e-6, rtol 1e-5
 *   finite differences (loss sum(dy * y) in double, h = 1e-3): |fd - g| <= 1e-3 max(1, |g|).
 *   The max-pool input is a shuffled ramp of distinct values 0.01 apart, so no +-h
 *   perturbation can change which element wins a window (no ties, no kinks crossed). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/dnn.h"
#include "core/status.h"
#include "ops/eltwise.h"
#include "ops/pool.h"
#include "testlib.h"

#define MP_DX_ATOL 1e-6
#define MP_DX_RTOL 1e-6
#define GAP_ATOL 1e-6
#define GAP_RTOL 1e-5
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

static void fill_nan(float *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = NAN;
}

static int padded_channels_zero(const float *blk, int n, int c, int h, int w) {
    const int B = dnn_cblock(), cbs = dnn_cpad(c) / B;
    const size_t hw = (size_t)h * w;
    for (int in = 0; in < n; in++)
        for (size_t p = 0; p < hw; p++)
            for (int l = c % B ? c % B : B; l < B; l++)
                if (blk[(((size_t)in * cbs + cbs - 1) * hw + p) * B + l] != 0.0f) return 0;
    return 1;
}

/* Offset in nChw8c of plain element i of an (n, c, h, w) tensor. */
static size_t blocked_index(size_t i, int c, int h, int w) {
    size_t iw = i % w, ih = i / w % h, ic = i / ((size_t)w * h) % c, in = i / ((size_t)w * h * c);
    return (((in * (dnn_cpad(c) / dnn_cblock()) + ic / dnn_cblock()) * h + ih) * w + iw) * dnn_cblock() + ic % dnn_cblock();
}

/* ---- max pooling, fixture */

static void maxpool_case(const fx_file *f, const char *name) {
    char key[128], what[160];
#define GET(field) (snprintf(key, sizeof key, "%s." field, name), fx_get(f, key))
    const fx_tensor *cfg_t = GET("cfg"), *x_t = GET("x"), *y_t = GET("y"), *dy_t = GET("dy"),
                    *dx_t = GET("dx");
#undef GET
    if (!cfg_t || !x_t || !y_t || !dy_t || !dx_t) return;
    const float *v = cfg_t->data;
    const int n = (int)v[0], c = (int)v[1], h = (int)v[2], w = (int)v[3];
    maxpool *p;
    snprintf(what, sizeof what, "%s: create", name);
    if (!check_true(what, maxpool_create(&p, n, c, h, w, (int)v[4], (int)v[5], (int)v[6]) == NNCLR_OK)) {
        printf("     %s\n", nnclr_last_error());
        return;
    }
    for (int pass = 0; pass < 3; pass++) {
        const char *impl = maxpool_impl_name(p, pass);
        snprintf(what, sizeof what, "%s: pass %d runs a jit kernel (%s)", name, pass, impl ? impl : "none");
        check_true(what, impl && strncmp(impl, "jit", 3) == 0);
    }
    int oh, ow;
    maxpool_out_hw(p, &oh, &ow);
    snprintf(what, sizeof what, "%s: output size matches PyTorch", name);
    check_true(what, oh == y_t->dims[2] && ow == y_t->dims[3]);
    const size_t xs = dnn_act_size(n, c, h, w), ys = dnn_act_size(n, c, oh, ow);
    float *x = alloc_floats(xs), *y = alloc_floats(ys), *dy = alloc_floats(ys), *dx = alloc_floats(xs);
    float *tmp = alloc_floats(x_t->size);
    void *saved = nnclr_calloc(1, maxpool_saved_bytes(p) + 1);
    nchw_to_blocked(x, x_t->data, n, c, h, w);
    nchw_to_blocked(dy, dy_t->data, n, c, oh, ow);

    fill_nan(y, ys);
    snprintf(what, sizeof what, "%s: training forward runs", name);
    check_true(what, maxpool_forward(p, y, saved, x) == NNCLR_OK);
    blocked_to_nchw(tmp, y, n, c, oh, ow);
    snprintf(what, sizeof what, "%s: y (training)", name);
    check_close(what, tmp, y_t->data, y_t->size, 0, 0);
    snprintf(what, sizeof what, "%s: y padded channels are zero", name);
    check_true(what, padded_channels_zero(y, n, c, oh, ow));

    fill_nan(dx, xs);
    snprintf(what, sizeof what, "%s: backward runs", name);
    check_true(what, maxpool_backward(p, dx, dy, saved) == NNCLR_OK);
    blocked_to_nchw(tmp, dx, n, c, h, w);
    snprintf(what, sizeof what, "%s: dx", name);
    check_close(what, tmp, dx_t->data, dx_t->size, MP_DX_ATOL, MP_DX_RTOL);
    snprintf(what, sizeof what, "%s: dx padded channels are zero", name);
    check_true(what, padded_channels_zero(dx, n, c, h, w));

    fill_nan(y, ys);
    snprintf(what, sizeof what, "%s: inference forward runs (no workspace)", name);
    check_true(what, maxpool_forward(p, y, NULL, x) == NNCLR_OK);
    blocked_to_nchw(tmp, y, n, c, oh, ow);
    snprintf(what, sizeof what, "%s: y (inference)", name);
    check_close(what, tmp, y_t->data, y_t->size, 0, 0);

    maxpool_free(p);
    free(x); free(y); free(dy); free(dx); free(tmp); free(saved);
}

/* ---- max pooling, finite differences */

static double maxpool_loss(maxpool *p, float *y, float *y_plain, void *saved, const float *x,
                           const float *dy_plain, int n, int c, int oh, int ow) {
    if (maxpool_forward(p, y, saved, x) != NNCLR_OK) return NAN;
    blocked_to_nchw(y_plain, y, n, c, oh, ow);
    double s = 0;
    for (size_t i = 0; i < (size_t)n * c * oh * ow; i++) s += (double)dy_plain[i] * y_plain[i];
    return s;
}

static void maxpool_fd(int n, int c, int h, int w) {
    char what[160];
    maxpool *p;
    if (!check_true("fd maxpool: create", maxpool_create(&p, n, c, h, w, 3, 2, 1) == NNCLR_OK)) return;
    int oh, ow;
    maxpool_out_hw(p, &oh, &ow);
    const size_t plain = (size_t)n * c * h * w, yplain = (size_t)n * c * oh * ow;
    const size_t xs = dnn_act_size(n, c, h, w), ys = dnn_act_size(n, c, oh, ow);
    float *xp = alloc_floats(plain), *x = alloc_floats(xs), *y = alloc_floats(ys), *dy = alloc_floats(ys);
    float *dx = alloc_floats(xs), *y_plain = alloc_floats(yplain), *dy_plain = alloc_floats(yplain);
    void *saved = nnclr_calloc(1, maxpool_saved_bytes(p) + 1);
    /* Shuffled ramp: distinct values 0.01 apart, centred on 0. */
    for (size_t i = 0; i < plain; i++) xp[i] = 0.01f * ((float)i - 0.5f * (float)plain);
    unsigned long long s = 99;
    for (size_t i = plain - 1; i > 0; i--) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t j = (size_t)(s >> 33) % (i + 1);
        float t = xp[i]; xp[i] = xp[j]; xp[j] = t;
    }
    nchw_to_blocked(x, xp, n, c, h, w);
    fill_uniform(dy_plain, yplain, 31);
    nchw_to_blocked(dy, dy_plain, n, c, oh, ow);
    int ok = maxpool_forward(p, y, saved, x) == NNCLR_OK && maxpool_backward(p, dx, dy, saved) == NNCLR_OK;
    check_true("fd maxpool: forward + backward run", ok);
    int bad = 0, samples = 60;
    double worst = 0;
    for (int k = 0; k < samples; k++) {
        size_t i = ((size_t)k * 7919u + 2) % plain, j = blocked_index(i, c, h, w);
        const float orig = x[j];
        x[j] = orig + FD_H;
        const float up = x[j];
        double lp = maxpool_loss(p, y, y_plain, saved, x, dy_plain, n, c, oh, ow);
        x[j] = orig - FD_H;
        const float down = x[j];
        double lm = maxpool_loss(p, y, y_plain, saved, x, dy_plain, n, c, oh, ow);
        x[j] = orig;
        double fd = (lp - lm) / ((double)up - (double)down), an = dx[j];
        double err = fabs(fd - an) / fmax(1.0, fabs(an));
        if (err > worst) worst = err;
        bad += err > FD_TOL;
    }
    snprintf(what, sizeof what, "fd maxpool %dx%dx%dx%d: dx at %d samples (worst rel err %.2g)", n, c, h, w,
             samples, worst);
    check_true(what, bad == 0);
    maxpool_free(p);
    free(xp); free(x); free(y); free(dy); free(dx); free(y_plain); free(dy_plain); free(saved);
}

/* ---- global average pooling */

static void gap_case(const fx_file *f) {
    const fx_tensor *cfg_t = fx_get(f, "gap.cfg"), *x_t = fx_get(f, "gap.x"), *y_t = fx_get(f, "gap.y"),
                    *dy_t = fx_get(f, "gap.dy"), *dx_t = fx_get(f, "gap.dx");
    if (!cfg_t || !x_t || !y_t || !dy_t || !dx_t) return;
    const int n = (int)cfg_t->data[0], c = (int)cfg_t->data[1], h = (int)cfg_t->data[2], w = (int)cfg_t->data[3];
    const size_t xs = dnn_act_size(n, c, h, w);
    float *x = alloc_floats(xs), *dx = alloc_floats(xs), *y = alloc_floats(y_t->size);
    float *tmp = alloc_floats(x_t->size);
    nchw_to_blocked(x, x_t->data, n, c, h, w);
    global_avgpool_forward(y, x, n, c, h, w);
    check_close("gap: y", y, y_t->data, y_t->size, GAP_ATOL, GAP_RTOL);
    fill_nan(dx, xs);
    global_avgpool_backward(dx, dy_t->data, n, c, h, w);
    blocked_to_nchw(tmp, dx, n, c, h, w);
    check_close("gap: dx", tmp, dx_t->data, dx_t->size, GAP_ATOL, GAP_RTOL);
    check_true("gap: dx padded channels are zero", padded_channels_zero(dx, n, c, h, w));

    /* Finite differences (the op is linear: exact up to rounding). */
    int bad = 0;
    double worst = 0;
    for (size_t k = 0; k < 40; k++) {
        size_t i = (k * 7919u + 1) % x_t->size, j = blocked_index(i, c, h, w);
        double l[2];
        float steps[2];
        const float orig = x[j];
        for (int sgn = 0; sgn < 2; sgn++) {
            x[j] = orig + (sgn ? -FD_H : FD_H);
            steps[sgn] = x[j];
            global_avgpool_forward(y, x, n, c, h, w);
            l[sgn] = 0;
            for (size_t q = 0; q < y_t->size; q++) l[sgn] += (double)dy_t->data[q] * y[q];
        }
        x[j] = orig;
        double fd = (l[0] - l[1]) / ((double)steps[0] - steps[1]);
        double err = fabs(fd - dx[j]) / fmax(1.0, fabs(dx[j]));
        if (err > worst) worst = err;
        bad += err > FD_TOL;
    }
    char what[120];
    snprintf(what, sizeof what, "fd gap: dx at 40 samples (worst rel err %.2g)", worst);
    check_true(what, bad == 0);
    free(x); free(dx); free(y); free(tmp);
}

/* ---- errors */

static void error_cases(void) {
    maxpool *p = (maxpool *)1;
    check_true("error: n = 0 -> NNCLR_ERR_ARG", maxpool_create(&p, 0, 8, 8, 8, 3, 2, 1) == NNCLR_ERR_ARG && !p);
    printf("     message: %s\n", nnclr_last_error());
    check_true("error: c = 0 -> NNCLR_ERR_ARG", maxpool_create(&p, 2, 0, 8, 8, 3, 2, 1) == NNCLR_ERR_ARG);
    check_true("error: kernel 5 > padded input 4 -> NNCLR_ERR_ARG",
               maxpool_create(&p, 2, 8, 2, 2, 5, 1, 1) == NNCLR_ERR_ARG);
    printf("     message: %s\n", nnclr_last_error());
    check_true("error: pad > k/2 -> NNCLR_ERR_ARG", maxpool_create(&p, 2, 8, 8, 8, 3, 2, 2) == NNCLR_ERR_ARG);
    check_true("error: stride 0 -> NNCLR_ERR_ARG", maxpool_create(&p, 2, 8, 8, 8, 3, 0, 1) == NNCLR_ERR_ARG);
    if (!check_true("error: valid maxpool creates", maxpool_create(&p, 1, 8, 4, 4, 3, 2, 1) == NNCLR_OK)) return;
    float buf[8 * 16];
    check_true("error: backward without workspace -> NNCLR_ERR_ARG", maxpool_backward(p, buf, buf, NULL) == NNCLR_ERR_ARG);
    maxpool_free(p);
}

int main(void) {
    fx_file f;
    if (fx_load(&f, "fixtures/ops_pool.bin") == 0) {
        maxpool_case(&f, "mp9");
        maxpool_case(&f, "mp8");
        gap_case(&f);
        fx_free(&f);
    }
    maxpool_fd(2, 5, 6, 6);
    maxpool_fd(1, 9, 7, 5);
    error_cases();
    return test_summary();
}
