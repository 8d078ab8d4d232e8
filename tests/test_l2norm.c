/* test_l2norm.c - row-wise L2 normalisation (ops/l2norm.c).
 *
 *   - parity with PyTorch F.normalize(dim=1) (fixtures/mlp_l2norm.bin from tests/gen_mlp.py),
 *     including a row whose norm is below eps 1e-12 (clamped: y = x / eps, dx = dy / eps):
 *     y and dx within atol 1e-6 + rtol 1e-4; the saved norms equal max(||x||, eps);
 *   - in-place forward (y == x);
 *   - rows have unit norm, a zero row gives zeros (no NaN);
 *   - central finite differences of L = sum(y * dy) w.r.t. x on rows with norm > eps:
 *     |fd - g| <= 1e-3 + 1e-2 max(|fd|, |g|). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/l2norm.h"
#include "testlib.h"

static void test_fixture(void) {
    fx_file fx;
    if (fx_load(&fx, "fixtures/mlp_l2norm.bin")) return;
    const fx_tensor *x = fx_get(&fx, "x"), *dy = fx_get(&fx, "dy"), *ry = fx_get(&fx, "y"),
                    *rdx = fx_get(&fx, "dx");
    if (!x || !dy || !ry || !rdx) { fx_free(&fx); return; }
    const int n = x->dims[0], d = x->dims[1];
    const size_t nd = (size_t)n * d;
    float *y = malloc(nd * sizeof(float)), *dx = malloc(nd * sizeof(float));
    float *norms = malloc(n * sizeof(float)), *rnorms = malloc(n * sizeof(float));
    l2norm_forward(y, norms, x->data, n, d);
    check_close("l2norm: y", y, ry->data, nd, 1e-6, 1e-4);
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < d; j++) s += (double)x->data[i * d + j] * x->data[i * d + j];
        rnorms[i] = (float)fmax(sqrt(s), 1e-12);
    }
    check_close("l2norm: saved norms = max(||x||, eps)", norms, rnorms, n, 0, 1e-6);
    check_true("l2norm: fixture has a clamped row", norms[3] == 1e-12f);
    l2norm_backward(dx, dy->data, y, norms, n, d);
    check_close("l2norm: dx (clamped row: dy / eps)", dx, rdx->data, nd, 1e-6, 1e-4);
    memcpy(dx, x->data, nd * sizeof(float));
    l2norm_forward(dx, norms, dx, n, d);
    check_close("l2norm: in-place forward", dx, ry->data, nd, 1e-6, 1e-4);
    free(y); free(dx); free(norms); free(rnorms);
    fx_free(&fx);
}

static void test_unit_rows(void) {
    enum { N = 33, D = 70 };
    float *x = malloc(sizeof(float) * N * D), *y = malloc(sizeof(float) * N * D), norms[N];
    fill_uniform(x, (size_t)N * D, 51);
    for (int j = 0; j < D; j++) x[5 * D + j] = 0.0f;
    for (int j = 0; j < D; j++) x[7 * D + j] *= 1e4f;
    l2norm_forward(y, norms, x, N, D);
    double worst = 0;
    int finite = 1, zero_row = 1;
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int j = 0; j < D; j++) {
            s += (double)y[i * D + j] * y[i * D + j];
            finite &= isfinite(y[i * D + j]);
        }
        if (i == 5) {
            zero_row = s == 0;
            continue;
        }
        worst = fmax(worst, fabs(sqrt(s) - 1));
    }
    check_true("l2norm: rows have unit norm (|norm - 1| <= 1e-6)", worst <= 1e-6);
    check_true("l2norm: zero row gives zeros, no NaN", finite && zero_row);
    free(x); free(y);
}

/* ---- finite differences */
enum { FN = 3, FD = 7 };
static float fx_[FN * FD], fdy_[FN * FD], fy_[FN * FD];

static double fd_loss(void) {
    float norms[FN];
    l2norm_forward(fy_, norms, fx_, FN, FD);
    double l = 0;
    for (int i = 0; i < FN * FD; i++) l += (double)fy_[i] * fdy_[i];
    return l;
}

static void test_finite_differences(void) {
    fill_uniform(fx_, FN * FD, 61);
    fill_uniform(fdy_, FN * FD, 62);
    float norms[FN], dx[FN * FD];
    fd_loss();
    l2norm_forward(fy_, norms, fx_, FN, FD);
    l2norm_backward(dx, fdy_, fy_, norms, FN, FD);
    int bad = 0;
    double worst = 0;
    for (int i = 0; i < FN * FD; i++) {
        const float v0 = fx_[i], h = 1e-3f;
        fx_[i] = v0 + h;
        const double hp = (double)fx_[i] - v0, lp = fd_loss();
        fx_[i] = v0 - h;
        const double hm = v0 - (double)fx_[i], lm = fd_loss();
        fx_[i] = v0;
        const double fd = (lp - lm) / (hp + hm), err = fabs(fd - dx[i]);
        if (err > 1e-3 + 1e-2 * fmax(fabs(fd), fabs(dx[i]))) bad++;
        worst = fmax(worst, err);
    }
    printf("   finite differences: worst |fd - g| = %.3g\n", worst);
    check_true("l2norm: finite differences of x agree", bad == 0);
}

int main(void) {
    test_fixture();
    test_unit_rows();
    test_finite_differences();
    return test_summary();
}
