/* test_batchnorm1d.c - batch normalisation over rows of an (N, C) matrix (ops/batchnorm1d.c).
 *
 *   - parity with PyTorch nn.BatchNorm1d, affine and not (fixtures/mlp_bn1d.bin from
 *     tests/gen_mlp.py; one channel carries an offset of 100): three training forwards with
 *     running statistics after each (momentum 0.1, unbiased running variance), backward of the
 *     last (dx, dgamma, dbeta), eval forward; atol 1e-5 + rtol 1e-4 (running variance and the
 *     offset channel's outputs included);
 *   - in-place forward (y == x) and backward (dx == dy) give the same values;
 *   - dgamma, dbeta accumulate: a second backward doubles them;
 *   - a larger shape (300 channels, threaded, several channel blocks) with a 1e4 offset on
 *     half of the channels against a naive double reference (atol 1e-5 + rtol 1e-5);
 *   - central finite differences of L = sum(y * dy) w.r.t. x, gamma, beta in training mode:
 *     |fd - g| <= 2e-3 + 2e-2 max(|fd|, |g|). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/batchnorm1d.h"
#include "testlib.h"

static const float *get(const fx_file *fx, const char *name) {
    const fx_tensor *t = fx_get(fx, name);
    return t ? t->data : NULL;
}

static void run_fixture(const fx_file *fx, int affine) {
    const char *tag = affine ? "affine_" : "plain_";
    const fx_tensor *x0 = fx_get(fx, "x0");
    if (!x0) return;
    const int n = x0->dims[0], c = x0->dims[1];
    const size_t nc = (size_t)n * c;
    const float *gamma = affine ? get(fx, "gamma") : NULL, *beta = affine ? get(fx, "beta") : NULL;
    const float *dy = get(fx, "dy");
    float *y = malloc(nc * sizeof(float)), *dx = malloc(nc * sizeof(float));
    float *xy = malloc(nc * sizeof(float)), *dd = malloc(nc * sizeof(float));
    float mean[64], rstd[64], rm[64], rv[64], dg[64] = {0}, dbt[64] = {0}, twice[64];
    char name[64], what[96];
    const double atol = 1e-5, rtol = 1e-4;
    for (int j = 0; j < c; j++) { rm[j] = 0.0f; rv[j] = 1.0f; }

    for (int it = 0; it < 3; it++) {
        snprintf(name, sizeof name, "x%d", it);
        const float *x = get(fx, name);
        batchnorm1d_forward_train(y, mean, rstd, x, gamma, beta, rm, rv, 0.1f, n, c);
        snprintf(name, sizeof name, "%sy%d", tag, it);
        snprintf(what, sizeof what, "bn1d %s: training forward %d", tag, it);
        check_close(what, y, get(fx, name), nc, atol, rtol);
        snprintf(name, sizeof name, "%srunning_mean%d", tag, it);
        snprintf(what, sizeof what, "bn1d %s: running mean after %d", tag, it);
        check_close(what, rm, get(fx, name), c, atol, rtol);
        snprintf(name, sizeof name, "%srunning_var%d", tag, it);
        snprintf(what, sizeof what, "bn1d %s: running var after %d", tag, it);
        check_close(what, rv, get(fx, name), c, atol, rtol);
    }
    const float *x2 = get(fx, "x2");
    batchnorm1d_backward(dx, affine ? dg : NULL, affine ? dbt : NULL, dy, x2, mean, rstd, gamma, n, c);
    snprintf(name, sizeof name, "%sdx", tag);
    snprintf(what, sizeof what, "bn1d %s: dx", tag);
    check_close(what, dx, get(fx, name), nc, atol, rtol);
    if (affine) {
        check_close("bn1d affine: dgamma", dg, get(fx, "affine_dgamma"), c, atol, rtol);
        check_close("bn1d affine: dbeta", dbt, get(fx, "affine_dbeta"), c, atol, rtol);
        /* In place: dx == dy; dgamma, dbeta accumulate to twice the reference. */
        memcpy(dd, dy, nc * sizeof(float));
        batchnorm1d_backward(dd, dg, dbt, dd, x2, mean, rstd, gamma, n, c);
        check_close("bn1d affine: in-place backward (dx == dy)", dd, get(fx, "affine_dx"), nc, atol, rtol);
        for (int j = 0; j < c; j++) twice[j] = 2 * get(fx, "affine_dgamma")[j];
        check_close("bn1d affine: dgamma accumulates (x2)", dg, twice, c, atol, rtol);
        for (int j = 0; j < c; j++) twice[j] = 2 * get(fx, "affine_dbeta")[j];
        check_close("bn1d affine: dbeta accumulates (x2)", dbt, twice, c, atol, rtol);
        /* In-place forward (without touching the running statistics). */
        memcpy(xy, x2, nc * sizeof(float));
        batchnorm1d_forward_train(xy, NULL, NULL, xy, gamma, beta, NULL, NULL, 0.1f, n, c);
        check_close("bn1d affine: in-place forward (y == x)", xy, get(fx, "affine_y2"), nc, atol, rtol);
    }
    batchnorm1d_forward_eval(y, get(fx, "x_eval"), gamma, beta, rm, rv, n, c);
    snprintf(name, sizeof name, "%sy_eval", tag);
    snprintf(what, sizeof what, "bn1d %s: eval forward", tag);
    check_close(what, y, get(fx, name), nc, atol, rtol);
    free(y); free(dx); free(xy); free(dd);
}

/* Naive double reference on a larger matrix with large channel offsets. */
static void test_large(void) {
    const int n = 256, c = 300;
    const size_t nc = (size_t)n * c;
    float *x = malloc(nc * sizeof(float)), *dy = malloc(nc * sizeof(float));
    float *y = malloc(nc * sizeof(float)), *dx = malloc(nc * sizeof(float));
    float *ry = malloc(nc * sizeof(float)), *rdx = malloc(nc * sizeof(float));
    float *g = malloc(c * sizeof(float)), *b = malloc(c * sizeof(float));
    float *mean = malloc(c * sizeof(float)), *rstd = malloc(c * sizeof(float));
    float *rm = calloc(c, sizeof(float)), *rv = malloc(c * sizeof(float));
    float *dg = calloc(c, sizeof(float)), *db = calloc(c, sizeof(float));
    float *rrm = malloc(c * sizeof(float)), *rrv = malloc(c * sizeof(float));
    float *rdg = malloc(c * sizeof(float)), *rdb = malloc(c * sizeof(float));
    fill_uniform(x, nc, 31);
    fill_uniform(dy, nc, 32);
    fill_uniform(g, c, 33);
    fill_uniform(b, c, 34);
    for (size_t i = 0; i < nc; i++)
        if ((i % c) % 2) x[i] = 1e4f + x[i];
    for (int j = 0; j < c; j++) rv[j] = 1.0f;
    for (int j = 0; j < c; j++) {
        double m = 0, v = 0, sdy = 0, sdyx = 0;
        for (int i = 0; i < n; i++) m += x[(size_t)i * c + j];
        m /= n;
        for (int i = 0; i < n; i++) v += (x[(size_t)i * c + j] - m) * (x[(size_t)i * c + j] - m);
        double r = 1 / sqrt(v / n + 1e-5);
        for (int i = 0; i < n; i++) {
            double xh = (x[(size_t)i * c + j] - m) * r;
            ry[(size_t)i * c + j] = (float)(xh * g[j] + b[j]);
            sdy += dy[(size_t)i * c + j];
            sdyx += dy[(size_t)i * c + j] * xh;
        }
        for (int i = 0; i < n; i++) {
            double xh = (x[(size_t)i * c + j] - m) * r;
            rdx[(size_t)i * c + j] = (float)(g[j] * r * (dy[(size_t)i * c + j] - sdy / n - xh * sdyx / n));
        }
        rrm[j] = (float)(0.1 * m);
        rrv[j] = (float)(0.9 + 0.1 * v / (n - 1));
        rdg[j] = (float)sdyx;
        rdb[j] = (float)sdy;
    }
    batchnorm1d_forward_train(y, mean, rstd, x, g, b, rm, rv, 0.1f, n, c);
    batchnorm1d_backward(dx, dg, db, dy, x, mean, rstd, g, n, c);
    check_close("bn1d 256x300 (offset 1e4): y vs naive", y, ry, nc, 1e-5, 1e-5);
    check_close("bn1d 256x300: running mean vs naive", rm, rrm, c, 1e-5, 1e-5);
    check_close("bn1d 256x300: running var vs naive", rv, rrv, c, 1e-5, 1e-5);
    check_close("bn1d 256x300: dx vs naive", dx, rdx, nc, 1e-5, 1e-5);
    check_close("bn1d 256x300: dgamma vs naive", dg, rdg, c, 1e-5, 1e-5);
    check_close("bn1d 256x300: dbeta vs naive", db, rdb, c, 1e-5, 1e-5);
    free(x); free(dy); free(y); free(dx); free(ry); free(rdx); free(g); free(b); free(mean);
    free(rstd); free(rm); free(rv); free(dg); free(db); free(rrm); free(rrv); free(rdg); free(rdb);
}

/* ---- finite differences (training mode, batch statistics) */
enum { FN = 6, FC = 5 };
static float fx_[FN * FC], fg_[FC], fb_[FC], fdy_[FN * FC], fy_[FN * FC];

static double fd_loss(void) {
    batchnorm1d_forward_train(fy_, NULL, NULL, fx_, fg_, fb_, NULL, NULL, 0.1f, FN, FC);
    double l = 0;
    for (int i = 0; i < FN * FC; i++) l += (double)fy_[i] * fdy_[i];
    return l;
}

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
        if (err > 2e-3 + 2e-2 * fmax(fabs(fd), fabs(g[i]))) bad++;
        if (err > *worst) *worst = err;
    }
    return bad;
}

static void test_finite_differences(void) {
    fill_uniform(fx_, FN * FC, 41);
    fill_uniform(fg_, FC, 42);
    fill_uniform(fb_, FC, 43);
    fill_uniform(fdy_, FN * FC, 44);
    for (int j = 0; j < FC; j++) fg_[j] += 1.5f;
    float mean[FC], rstd[FC], dx[FN * FC], dg[FC] = {0}, db[FC] = {0};
    batchnorm1d_forward_train(fy_, mean, rstd, fx_, fg_, fb_, NULL, NULL, 0.1f, FN, FC);
    batchnorm1d_backward(dx, dg, db, fdy_, fx_, mean, rstd, fg_, FN, FC);
    double worst = 0;
    int bad = fd_check(fx_, FN * FC, dx, &worst);
    bad += fd_check(fg_, FC, dg, &worst);
    bad += fd_check(fb_, FC, db, &worst);
    printf("   finite differences: worst |fd - g| = %.3g\n", worst);
    check_true("bn1d: finite differences of x, gamma, beta agree", bad == 0);
}

int main(void) {
    fx_file fx;
    if (fx_load(&fx, "fixtures/mlp_bn1d.bin") == 0) {
        run_fixture(&fx, 1);
        run_fixture(&fx, 0);
        fx_free(&fx);
    }
    test_large();
    test_finite_differences();
    return test_summary();
}
