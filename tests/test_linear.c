/* test_linear.c - the fully connected op (ops/linear.c).
 *
 *   - parity with PyTorch F.linear with and without bias (fixtures/mlp_linear.bin from
 *     tests/gen_mlp.py): y, dx, dW, db within atol 1e-5 + rtol 1e-4;
 *   - backward overwrites dx but accumulates dW and db: a second call doubles them, a
 *     pre-filled dW keeps its value added; dx = NULL is allowed;
 *   - a larger shape (several db column blocks, threaded paths) against a naive double
 *     reference (atol 1e-4 + rtol 1e-4);
 *   - central finite differences of L = sum(y * dy) w.r.t. x, W and b (float32 forward, loss
 *     accumulated in double): |fd - g| <= 2e-3 + 1e-2 max(|fd|, |g|). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/linear.h"
#include "testlib.h"

static void test_fixture(void) {
    fx_file fx;
    if (fx_load(&fx, "fixtures/mlp_linear.bin")) return;
    const fx_tensor *x = fx_get(&fx, "x"), *w = fx_get(&fx, "w"), *b = fx_get(&fx, "b"),
                    *dy = fx_get(&fx, "dy");
    if (!x || !w || !b || !dy) { fx_free(&fx); return; }
    const int n = x->dims[0], in = x->dims[1], out = w->dims[0];
    float *y = malloc(sizeof(float) * n * out), *dx = malloc(sizeof(float) * n * in);
    float *dw = calloc((size_t)out * in, sizeof(float)), *db = calloc(out, sizeof(float));
    float *dw2 = malloc(sizeof(float) * out * in), *db2 = malloc(sizeof(float) * out);
    const double atol = 1e-5, rtol = 1e-4;

    linear_forward(y, x->data, w->data, b->data, n, in, out);
    check_close("linear: y (bias)", y, fx_get(&fx, "y")->data, (size_t)n * out, atol, rtol);
    for (int i = 0; i < n * in; i++) dx[i] = NAN;  /* must be overwritten */
    linear_backward(dx, dw, db, dy->data, x->data, w->data, n, in, out);
    check_close("linear: dx", dx, fx_get(&fx, "dx")->data, (size_t)n * in, atol, rtol);
    check_close("linear: dw", dw, fx_get(&fx, "dw")->data, (size_t)out * in, atol, rtol);
    check_close("linear: db", db, fx_get(&fx, "db")->data, out, atol, rtol);

    /* Accumulation: a second backward doubles dW and db, dx is the same again. */
    linear_backward(dx, dw, db, dy->data, x->data, w->data, n, in, out);
    for (int i = 0; i < out * in; i++) dw2[i] = 2 * fx_get(&fx, "dw")->data[i];
    for (int i = 0; i < out; i++) db2[i] = 2 * fx_get(&fx, "db")->data[i];
    check_close("linear: dw accumulates (x2)", dw, dw2, (size_t)out * in, atol, rtol);
    check_close("linear: db accumulates (x2)", db, db2, out, atol, rtol);
    check_close("linear: dx overwritten, not accumulated", dx, fx_get(&fx, "dx")->data, (size_t)n * in, atol, rtol);

    /* Without bias. */
    linear_forward(y, x->data, w->data, NULL, n, in, out);
    check_close("linear: y (no bias)", y, fx_get(&fx, "nobias_y")->data, (size_t)n * out, atol, rtol);
    for (int i = 0; i < out * in; i++) dw[i] = 1.0f;
    linear_backward(NULL, dw, NULL, dy->data, x->data, w->data, n, in, out);
    for (int i = 0; i < out * in; i++) dw2[i] = 1.0f + fx_get(&fx, "nobias_dw")->data[i];
    check_close("linear: dw added to pre-filled buffer, dx NULL", dw, dw2, (size_t)out * in, atol, rtol);

    free(y); free(dx); free(dw); free(db); free(dw2); free(db2);
    fx_free(&fx);
}

/* Larger shape against naive double loops. */
static void test_large(void) {
    const int n = 150, in = 100, out = 130;
    float *x = malloc(sizeof(float) * n * in), *w = malloc(sizeof(float) * out * in);
    float *b = malloc(sizeof(float) * out), *dy = malloc(sizeof(float) * n * out);
    float *y = malloc(sizeof(float) * n * out), *dx = malloc(sizeof(float) * n * in);
    float *dw = calloc((size_t)out * in, sizeof(float)), *db = calloc(out, sizeof(float));
    float *ry = malloc(sizeof(float) * n * out), *rdx = malloc(sizeof(float) * n * in);
    float *rdw = malloc(sizeof(float) * out * in), *rdb = malloc(sizeof(float) * out);
    fill_uniform(x, (size_t)n * in, 11);
    fill_uniform(w, (size_t)out * in, 12);
    fill_uniform(b, out, 13);
    fill_uniform(dy, (size_t)n * out, 14);
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double s = b[o];
            for (int k = 0; k < in; k++) s += (double)x[i * in + k] * w[o * in + k];
            ry[i * out + o] = (float)s;
        }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < in; k++) {
            double s = 0;
            for (int o = 0; o < out; o++) s += (double)dy[i * out + o] * w[o * in + k];
            rdx[i * in + k] = (float)s;
        }
    for (int o = 0; o < out; o++) {
        double sb = 0;
        for (int i = 0; i < n; i++) sb += dy[i * out + o];
        rdb[o] = (float)sb;
        for (int k = 0; k < in; k++) {
            double s = 0;
            for (int i = 0; i < n; i++) s += (double)dy[i * out + o] * x[i * in + k];
            rdw[o * in + k] = (float)s;
        }
    }
    linear_forward(y, x, w, b, n, in, out);
    linear_backward(dx, dw, db, dy, x, w, n, in, out);
    check_close("linear 150x100->130: y vs naive", y, ry, (size_t)n * out, 1e-4, 1e-4);
    check_close("linear 150x100->130: dx vs naive", dx, rdx, (size_t)n * in, 1e-4, 1e-4);
    check_close("linear 150x100->130: dw vs naive", dw, rdw, (size_t)out * in, 1e-4, 1e-4);
    check_close("linear 150x100->130: db vs naive", db, rdb, out, 1e-4, 1e-4);
    free(x); free(w); free(b); free(dy); free(y); free(dx); free(dw); free(db);
    free(ry); free(rdx); free(rdw); free(rdb);
}

/* ---- finite differences */
enum { FN = 4, FIN = 5, FOUT = 3 };
static float fx_[FN * FIN], fw_[FOUT * FIN], fb_[FOUT], fdy_[FN * FOUT], fy_[FN * FOUT];

static double fd_loss(void) {
    linear_forward(fy_, fx_, fw_, fb_, FN, FIN, FOUT);
    double l = 0;
    for (int i = 0; i < FN * FOUT; i++) l += (double)fy_[i] * fdy_[i];
    return l;
}

/* Central difference of fd_loss w.r.t. v[i] against g[i]; returns the number of failures. */
static int fd_check(float *v, int count, const float *g, double *worst) {
    int bad = 0;
    for (int i = 0; i < count; i++) {
        const float v0 = v[i], h = 1e-2f;
        v[i] = v0 + h;
        const double hp = (double)v[i] - v0, lp = fd_loss();
        v[i] = v0 - h;
        const double hm = v0 - (double)v[i], lm = fd_loss();
        v[i] = v0;
        const double fd = (lp - lm) / (hp + hm), err = fabs(fd - g[i]);
        const double lim = 2e-3 + 1e-2 * fmax(fabs(fd), fabs(g[i]));
        if (err > lim) bad++;
        if (err > *worst) *worst = err;
    }
    return bad;
}

static void test_finite_differences(void) {
    fill_uniform(fx_, FN * FIN, 21);
    fill_uniform(fw_, FOUT * FIN, 22);
    fill_uniform(fb_, FOUT, 23);
    fill_uniform(fdy_, FN * FOUT, 24);
    float dx[FN * FIN], dw[FOUT * FIN] = {0}, db[FOUT] = {0};
    linear_backward(dx, dw, db, fdy_, fx_, fw_, FN, FIN, FOUT);
    double worst = 0;
    int bad = fd_check(fx_, FN * FIN, dx, &worst);
    bad += fd_check(fw_, FOUT * FIN, dw, &worst);
    bad += fd_check(fb_, FOUT, db, &worst);
    printf("   finite differences: worst |fd - g| = %.3g\n", worst);
    check_true("linear: finite differences of x, W, b agree", bad == 0);
}

int main(void) {
    test_fixture();
    test_large();
    test_finite_differences();
    return test_summary();
}
