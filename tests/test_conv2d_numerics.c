/* test_conv2d_numerics.c - the convolutions that trade exactness for speed, against a float64
 * reference on the layer shapes of ResNet-18/50: the Winograd kernels on wide 3x3 layers (64 to
 * 512 channels; the tile is the process's, ctest runs this once per tile), and precision
 * CONV2D_BF16 (3x3 stride 1 and 2, 1x1 reduce / expand / downsample; the 3x3 stride-1 ones that
 * Winograd would take are forced onto oneDNN, where bf16 runs), each next to oneDNN's
 * float32 direct kernels on the same data for scale. The bf16 part is skipped on CPUs where
 * oneDNN has no bf16 kernels; there conv2d_create must refuse bf16 with NNCLR_ERR_ARG.
 *
 * Winograd tolerance, norm-wise: <= 1e-4, forty times below bf16's rounding unit (2^-8 =
 * 3.9e-3), the precision the field trains with routinely. The transforms of F(4x4, 3x3) have
 * entries up to 8 (and 1/4 ... 1/24 in the inverse), which costs about three decimal digits
 * against direct float32 (~1e-7) but stays near 1e-5 even at 512 channels (printed).
 *
 * Tolerance, norm-wise: ||got - ref||_2 / ||ref||_2 <= 1e-2 for y, dx and dw. bf16 keeps 8
 * significant bits: rounding x (or dy) and w to it is a relative error of at most 2^-9 each, so
 * a product is off by up to ~2^-8 = 3.9e-3; oneDNN accumulates in float32, and errors of
 * independent terms add in quadrature, so the norm-wise error comes out near 2e-3 (printed).
 * 1e-2 leaves room for sums with cancellation; it is far below what breaks training (the field
 * trains with bf16 routinely, and bench/conv_equivalence.sh checks training itself). The error
 * must also be above 1e-5, or the bf16 kernels did not run (float32 gives ~1e-7 here). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/dnn.h"
#include "core/status.h"
#include "ops/conv2d.h"
#include "ops/eltwise.h"
#include "ops/winograd.h"
#include "testlib.h"

#define BF16_TOL 1e-2
#define BF16_MIN 1e-5
#define WINO_TOL 1e-4

/* ||got - ref|| / ||ref||, both plain. */
static double rel_norm(const float *got, const double *ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - ref[i];
        num += d * d;
        den += ref[i] * ref[i];
    }
    return sqrt(num / (den > 0 ? den : 1e-300));
}

/* Direct convolution in float64: y = conv(x, w); dx = conv^T(dy, w); dw = corr(x, dy). */
static void reference(const conv2d_config *g, int oh, int ow, const float *x, const float *w, const float *dy,
                      double *y, double *dx, double *dw) {
    int C = g->ic, O = g->oc, H = g->ih, W = g->iw, K = g->k;
    memset(y, 0, sizeof(double) * g->n * O * oh * ow);
    memset(dx, 0, sizeof(double) * g->n * C * H * W);
    memset(dw, 0, sizeof(double) * O * C * K * K);
    for (int n = 0; n < g->n; n++)
        for (int o = 0; o < O; o++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    size_t yi = (((size_t)n * O + o) * oh + i) * ow + j;
                    double acc = 0, gy = dy[yi];
                    for (int c = 0; c < C; c++)
                        for (int a = 0; a < K; a++) {
                            int h = i * g->stride - g->pad + a;
                            if (h < 0 || h >= H) continue;
                            for (int b = 0; b < K; b++) {
                                int v = j * g->stride - g->pad + b;
                                if (v < 0 || v >= W) continue;
                                size_t xi = (((size_t)n * C + c) * H + h) * W + v;
                                size_t wi = (((size_t)o * C + c) * K + a) * K + b;
                                acc += (double)x[xi] * w[wi];
                                dx[xi] += gy * w[wi];
                                dw[wi] += gy * x[xi];
                            }
                        }
                    y[yi] = acc;
                }
}

/* Runs one shape in `precision`; returns the three norm-wise errors. */
static int run_conv(const conv2d_config *g0, int precision, const float *x, const float *w, const float *dy,
                    const double *ry, const double *rdx, const double *rdw, double err[3]) {
    conv2d_config g = *g0;
    g.precision = precision;
    conv2d *c = NULL;
    if (conv2d_create(&c, &g) != NNCLR_OK) {
        printf("  create failed: %s\n", nnclr_last_error());
        return 0;
    }
    int oh, ow;
    conv2d_out_hw(c, &oh, &ow);
    size_t xs = dnn_act_size(g.n, g.ic, g.ih, g.iw), ys = dnn_act_size(g.n, g.oc, oh, ow);
    size_t xp = (size_t)g.n * g.ic * g.ih * g.iw, yp = (size_t)g.n * g.oc * oh * ow, wn = (size_t)g.oc * g.ic * g.k * g.k;
    float *xb = calloc(xs, 4), *yb = calloc(ys, 4), *dyb = calloc(ys, 4), *dxb = calloc(xs, 4);
    float *yo = malloc(yp * 4), *dxo = malloc(xp * 4), *dw = calloc(wn, 4);
    void *ws = conv2d_workspace_size(c) ? malloc(conv2d_workspace_size(c)) : NULL;
    conv2d_set_workspace(c, ws);
    nchw_to_blocked(xb, x, g.n, g.ic, g.ih, g.iw);
    nchw_to_blocked(dyb, dy, g.n, g.oc, oh, ow);
    int ok = conv2d_prepare(c, w) == NNCLR_OK && conv2d_forward(c, yb, xb) == NNCLR_OK &&
             conv2d_backward(c, dxb, dw, dyb, xb) == NNCLR_OK;
    if (ok) {
        blocked_to_nchw(yo, yb, g.n, g.oc, oh, ow);
        blocked_to_nchw(dxo, dxb, g.n, g.ic, g.ih, g.iw);
        err[0] = rel_norm(yo, ry, yp);
        err[1] = rel_norm(dxo, rdx, xp);
        err[2] = rel_norm(dw, rdw, wn);
    } else {
        printf("  run failed: %s\n", nnclr_last_error());
    }
    free(xb); free(yb); free(dyb); free(dxb); free(yo); free(dxo); free(dw); free(ws);
    conv2d_free(c);
    return ok;
}

/* precision / algo of the case under test, and its tolerance band [lo, hi]. */
typedef struct {
    const char *label;
    int precision, algo;
    double lo, hi;
} mode;

static void layer_case(const char *name, conv2d_config g, mode m) {
    int oh = (g.ih + 2 * g.pad - g.k) / g.stride + 1, ow = (g.iw + 2 * g.pad - g.k) / g.stride + 1;
    size_t xp = (size_t)g.n * g.ic * g.ih * g.iw, yp = (size_t)g.n * g.oc * oh * ow, wn = (size_t)g.oc * g.ic * g.k * g.k;
    float *x = malloc(xp * 4), *w = malloc(wn * 4), *dy = malloc(yp * 4);
    double *ry = malloc(yp * 8), *rdx = malloc(xp * 8), *rdw = malloc(wn * 8);
    fill_uniform(x, xp, 31);
    fill_uniform(w, wn, 32);
    fill_uniform(dy, yp, 33);
    reference(&g, oh, ow, x, w, dy, ry, rdx, rdw);
    double eb[3] = {0}, ef[3] = {0};
    char what[300];
    conv2d_config gm = g, gd = g;
    gm.algo = m.algo;
    gd.algo = CONV2D_ALGO_DIRECT;
    int okb = run_conv(&gm, m.precision, x, w, dy, ry, rdx, rdw, eb);
    int okf = run_conv(&gd, CONV2D_F32, x, w, dy, ry, rdx, rdw, ef);
    const char *part[3] = {"y", "dx", "dw"};
    for (int i = 0; i < 3; i++) {
        snprintf(what, sizeof what, "%s: %s %s within %.0e of float64 (%.2e; direct float32 %.2e)", name, m.label,
                 part[i], m.hi, eb[i], ef[i]);
        check_true(what, okb && okf && eb[i] <= m.hi && eb[i] >= m.lo);
    }
    free(x); free(w); free(dy); free(ry); free(rdx); free(rdw);
}

static void winograd_cases(void) {
    conv2d_config probe = {2, 64, 8, 8, 64, 3, 1, 1, 0, 1, CONV2D_ALGO_WINOGRAD, CONV2D_F32};
    conv2d *c = NULL;
    if (conv2d_create(&c, &probe) != NNCLR_OK) {
        printf("Winograd: not on this CPU (%s), skipped\n", nnclr_last_error());
        return;
    }
    char label[40];
    snprintf(label, sizeof label, "%s", conv2d_impl_name(c, 0));
    conv2d_free(c);
    mode m = {label, CONV2D_F32, CONV2D_ALGO_WINOGRAD, 0, WINO_TOL};
    layer_case("3x3 s1 64->64 16x16", (conv2d_config){4, 64, 16, 16, 64, 3, 1, 1, 0, 1, 0, 0}, m);
    layer_case("3x3 s1 128->128 8x8", (conv2d_config){4, 128, 8, 8, 128, 3, 1, 1, 0, 1, 0, 0}, m);
    layer_case("3x3 s1 256->256 7x7", (conv2d_config){2, 256, 7, 7, 256, 3, 1, 1, 0, 1, 0, 0}, m);
    layer_case("3x3 s1 512->512 4x4", (conv2d_config){2, 512, 4, 4, 512, 3, 1, 1, 0, 1, 0, 0}, m);
}

int main(void) {
    winograd_cases();
    conv2d *c = NULL;
    conv2d_config small = {2, 16, 6, 6, 16, 3, 1, 1, 0, 1, CONV2D_ALGO_AUTO, CONV2D_BF16};
    if (!conv2d_bf16_supported()) {
        nnclr_status s = conv2d_create(&c, &small);
        check_true("no bf16 CPU: conv2d_create refuses bf16 with NNCLR_ERR_ARG", s == NNCLR_ERR_ARG && !c);
        printf("  message: %s\n", nnclr_last_error());
        conv2d_free(c);
        printf("bf16: this CPU has no bf16 kernels (AVX512-BF16 / AMX), its cases skipped\n");
        return test_summary();
    }
    if (dnn_cblock() != 16) {
        /* oneDNN's bf16 kernels want 16-channel blocks; with 8 it offers only reference loops */
        conv2d_config d16 = {2, 16, 6, 6, 16, 3, 1, 1, 0, 1, CONV2D_ALGO_DIRECT, CONV2D_BF16};
        check_true("8-channel blocks: bf16 refused (no jit kernel)", conv2d_create(&c, &d16) == NNCLR_ERR_ARG && !c);
        printf("bf16: 8-channel blocks, its cases skipped\n");
        return test_summary();
    }
    conv2d_config wino = small;
    wino.algo = CONV2D_ALGO_WINOGRAD;
    if (winograd_supported(16, 16) && conv2d_create(&c, &wino) == NNCLR_OK)
        check_true("bf16 with a forced Winograd: Winograd in float32 (no bf16 workspace)",
                   conv2d_workspace_size(c) == 0 && !strncmp(conv2d_impl_name(c, 0), "winograd", 8));
    else
        check_true("bf16 with a forced Winograd is created", !winograd_supported(16, 16));
    conv2d_free(c);
    c = NULL;
    small.precision = 7;
    check_true("an unknown precision is refused", conv2d_create(&c, &small) == NNCLR_ERR_ARG && !c);
    /* The network-input convolution stays float32 (no workspace asked); later ones do not. */
    conv2d_config stem = {2, 3, 16, 16, 16, 7, 2, 3, 1, 0, CONV2D_ALGO_AUTO, CONV2D_BF16};
    if (conv2d_create(&c, &stem) == NNCLR_OK)
        check_true("bf16 leaves the plain-input stem in float32", conv2d_workspace_size(c) == 0);
    conv2d_free(c);
    c = NULL;
    /* With bf16 the 3x3 stride-1 layers Winograd takes (16 to 256 channels) stay float32;
     * CONV2D_ALGO_DIRECT puts them on oneDNN's bf16 kernels (as NNCLR_CONV_ALGO=direct does). */
    conv2d_config w64 = {2, 64, 8, 8, 64, 3, 1, 1, 0, 1, CONV2D_ALGO_AUTO, CONV2D_BF16};
    if (!getenv("NNCLR_CONV_ALGO") && winograd_supported(64, 64) && conv2d_create(&c, &w64) == NNCLR_OK)
        check_true("bf16 leaves a 64-channel 3x3 stride-1 layer on float32 Winograd", conv2d_workspace_size(c) == 0);
    conv2d_free(c);
    c = NULL;
    mode b = {"bf16", CONV2D_BF16, CONV2D_ALGO_AUTO, BF16_MIN, BF16_TOL};
    mode bd = {"bf16 (direct)", CONV2D_BF16, CONV2D_ALGO_DIRECT, BF16_MIN, BF16_TOL};
    layer_case("3x3 s1 64->64 8x8", (conv2d_config){4, 64, 8, 8, 64, 3, 1, 1, 0, 1, CONV2D_ALGO_AUTO, 0}, bd);
    layer_case("3x3 s1 512->512 4x4", (conv2d_config){2, 512, 4, 4, 512, 3, 1, 1, 0, 1, CONV2D_ALGO_AUTO, 0}, b);
    layer_case("3x3 s2 64->128 8x8", (conv2d_config){4, 64, 8, 8, 128, 3, 2, 1, 0, 1, CONV2D_ALGO_AUTO, 0}, b);
    layer_case("1x1 reduce 256->64 7x7", (conv2d_config){4, 256, 7, 7, 64, 1, 1, 0, 0, 1, CONV2D_ALGO_AUTO, 0}, b);
    layer_case("1x1 expand 64->256 7x7", (conv2d_config){4, 64, 7, 7, 256, 1, 1, 0, 0, 1, CONV2D_ALGO_AUTO, 0}, b);
    layer_case("1x1 s2 downsample 128->256 8x8", (conv2d_config){4, 128, 8, 8, 256, 1, 2, 0, 0, 1, CONV2D_ALGO_AUTO, 0}, b);
    layer_case("3x3 s1 16->32 (narrow) 9x9", (conv2d_config){3, 16, 9, 9, 32, 3, 1, 1, 0, 1, CONV2D_ALGO_AUTO, 0}, bd);
    return test_summary();
}
