/* test_batchnorm.c - batchnorm (nChw{B}c, optional fused ReLU) against PyTorch fixtures
 * from tests/gen_ops.py: three training forwards (running statistics, momentum 0.1, unbiased
 * running variance), the saved batch mean/variance, backward (dx, dgamma, dbeta, the latter
 * two accumulated), eval mode; plus finite-difference gradient checks, zero padded channels,
 * identical results at 1, 2, 3 threads, the residual form relu(bn(x) + r), and argument errors.
 *
 * Tolerances (|got - ref| <= atol + rtol |ref|, references computed in float64):
 *   y, y_eval, mean, var, running stats: atol 1e-5, rtol 1e-4
 *   dx, dgamma, dbeta: atol 1e-4, rtol 1e-3
 *   finite differences (h = 1e-2 or 1e-3, loss sum(dy * y) in double): |fd - g| <= 2e-3 max(1, |g|);
 *   with the fused ReLU, a sample is skipped when its perturbation flips the sign of any
 *   pre-activation in the batch (computed by an unfused batchnorm), i.e. crosses a ReLU kink. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/dnn.h"
#include "core/status.h"
#include "ops/batchnorm.h"
#include "ops/eltwise.h"
#include "testlib.h"

#define FWD_ATOL 1e-5
#define FWD_RTOL 1e-4
#define GRAD_ATOL 1e-4
#define GRAD_RTOL 1e-3
#define FD_TOL 2e-3

static float *alloc_floats(size_t n) {
    float *p = nnclr_calloc(n ? n : 1, sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
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

/* The batch variance sits at the first 64-byte boundary after the mean (batchnorm.h). */
static size_t var_offset_floats(int c) { return (((size_t)c * 4 + 63) / 64) * 64 / 4; }

/* ---- fixture cases */

static void run_case(const fx_file *f, const char *name) {
    char key[128], what[160];
#define GET(field) (snprintf(key, sizeof key, "%s." field, name), fx_get(f, key))
    const fx_tensor *cfg_t = GET("cfg"), *gamma_t = GET("gamma"), *beta_t = GET("beta"),
                    *dy_t = GET("dy"), *y_t = GET("y"), *mean_t = GET("mean"), *var_t = GET("var"),
                    *rm_t = GET("running_mean"), *rv_t = GET("running_var"), *dx_t = GET("dx"),
                    *dgamma_t = GET("dgamma"), *dbeta_t = GET("dbeta"), *ye_t = GET("y_eval");
    const fx_tensor *xs_t[3] = {GET("x1"), GET("x2"), GET("x3")};
#undef GET
    if (!cfg_t || !gamma_t || !beta_t || !dy_t || !y_t || !mean_t || !var_t || !rm_t || !rv_t ||
        !dx_t || !dgamma_t || !dbeta_t || !ye_t || !xs_t[0] || !xs_t[1] || !xs_t[2])
        return;
    const int n = (int)cfg_t->data[0], c = (int)cfg_t->data[1], h = (int)cfg_t->data[2];
    const int w = (int)cfg_t->data[3], relu = (int)cfg_t->data[4];
    batchnorm *b;
    snprintf(what, sizeof what, "%s: create", name);
    if (!check_true(what, batchnorm_create(&b, n, c, h, w, relu) == NNCLR_OK)) {
        printf("     %s\n", nnclr_last_error());
        return;
    }

    const size_t as = dnn_act_size(n, c, h, w), plain = (size_t)n * c * h * w;
    float *x = alloc_floats(as), *y = alloc_floats(as), *dy = alloc_floats(as), *dx = alloc_floats(as);
    float *tmp = alloc_floats(plain), *ref2 = alloc_floats((size_t)c);
    float *rm = alloc_floats((size_t)c), *rv = alloc_floats((size_t)c);
    float *dgamma = alloc_floats((size_t)c), *dbeta = alloc_floats((size_t)c);
    float *saved = alloc_floats(batchnorm_saved_bytes(b) / sizeof(float) + 1);
    for (int i = 0; i < c; i++) rv[i] = 1.0f;   /* PyTorch's initial running stats: 0 and 1 */

    int ok = 1;
    for (int it = 0; it < 3; it++) {
        nchw_to_blocked(x, xs_t[it]->data, n, c, h, w);
        for (size_t i = 0; i < as; i++) y[i] = NAN;
        ok &= batchnorm_forward_train(b, y, saved, x, NULL, gamma_t->data, beta_t->data, rm, rv, 0.1f) == NNCLR_OK;
    }
    snprintf(what, sizeof what, "%s: 3 training forwards run", name);
    check_true(what, ok);
    blocked_to_nchw(tmp, y, n, c, h, w);
    snprintf(what, sizeof what, "%s: y (3rd training forward)", name);
    check_close(what, tmp, y_t->data, plain, FWD_ATOL, FWD_RTOL);
    snprintf(what, sizeof what, "%s: y padded channels are zero", name);
    check_true(what, padded_channels_zero(y, n, c, h, w));
    snprintf(what, sizeof what, "%s: saved batch mean", name);
    check_close(what, saved, mean_t->data, (size_t)c, FWD_ATOL, FWD_RTOL);
    snprintf(what, sizeof what, "%s: saved batch variance (biased)", name);
    check_close(what, saved + var_offset_floats(c), var_t->data, (size_t)c, FWD_ATOL, FWD_RTOL);
    snprintf(what, sizeof what, "%s: running_mean after 3 forwards", name);
    check_close(what, rm, rm_t->data, (size_t)c, FWD_ATOL, FWD_RTOL);
    snprintf(what, sizeof what, "%s: running_var after 3 forwards (unbiased)", name);
    check_close(what, rv, rv_t->data, (size_t)c, FWD_ATOL, FWD_RTOL);

    nchw_to_blocked(dy, dy_t->data, n, c, h, w);
    for (size_t i = 0; i < as; i++) dx[i] = NAN;
    ok = batchnorm_backward(b, dx, dgamma, dbeta, dy, x, saved, gamma_t->data, beta_t->data) == NNCLR_OK;
    snprintf(what, sizeof what, "%s: backward runs", name);
    check_true(what, ok);
    blocked_to_nchw(tmp, dx, n, c, h, w);
    snprintf(what, sizeof what, "%s: dx", name);
    check_close(what, tmp, dx_t->data, plain, GRAD_ATOL, GRAD_RTOL);
    snprintf(what, sizeof what, "%s: dx padded channels are zero", name);
    check_true(what, padded_channels_zero(dx, n, c, h, w));
    snprintf(what, sizeof what, "%s: dgamma", name);
    check_close(what, dgamma, dgamma_t->data, (size_t)c, GRAD_ATOL, GRAD_RTOL);
    snprintf(what, sizeof what, "%s: dbeta", name);
    check_close(what, dbeta, dbeta_t->data, (size_t)c, GRAD_ATOL, GRAD_RTOL);
    ok = batchnorm_backward(b, dx, dgamma, dbeta, dy, x, saved, gamma_t->data, beta_t->data) == NNCLR_OK;
    snprintf(what, sizeof what, "%s: second backward runs", name);
    check_true(what, ok);
    for (int i = 0; i < c; i++) ref2[i] = 2.0f * dgamma_t->data[i];
    snprintf(what, sizeof what, "%s: dgamma accumulates (2 backward = 2x)", name);
    check_close(what, dgamma, ref2, (size_t)c, 2 * GRAD_ATOL, GRAD_RTOL);
    for (int i = 0; i < c; i++) ref2[i] = 2.0f * dbeta_t->data[i];
    snprintf(what, sizeof what, "%s: dbeta accumulates (2 backward = 2x)", name);
    check_close(what, dbeta, ref2, (size_t)c, 2 * GRAD_ATOL, GRAD_RTOL);

    /* Eval mode on x3 with PyTorch's running statistics. */
    for (size_t i = 0; i < as; i++) y[i] = NAN;
    ok = batchnorm_forward_eval(b, y, x, NULL, gamma_t->data, beta_t->data, rm_t->data, rv_t->data) == NNCLR_OK;
    snprintf(what, sizeof what, "%s: eval forward runs", name);
    check_true(what, ok);
    blocked_to_nchw(tmp, y, n, c, h, w);
    snprintf(what, sizeof what, "%s: y eval", name);
    check_close(what, tmp, ye_t->data, plain, FWD_ATOL, FWD_RTOL);
    snprintf(what, sizeof what, "%s: y eval padded channels are zero", name);
    check_true(what, padded_channels_zero(y, n, c, h, w));

    batchnorm_free(b);
    free(x); free(y); free(dy); free(dx); free(tmp); free(ref2); free(rm); free(rv);
    free(dgamma); free(dbeta); free(saved);
}

/* ---- finite differences */

typedef struct {
    batchnorm *b, *pre;   /* the op under test; an unfused twin giving the pre-activation */
    int n, c, h, w, relu;
    float step;
    float *x, *gamma, *beta, *y, *z, *y_plain, *dy_plain, *saved, *rm, *rv;
} fd_problem;

/* loss = sum(dy * y) in double; also leaves the pre-activation signs in `signs` when given. */
static double fd_loss(fd_problem *p, unsigned char *signs) {
    const size_t plain = (size_t)p->n * p->c * p->h * p->w;
    if (batchnorm_forward_train(p->b, p->y, p->saved, p->x, NULL, p->gamma, p->beta, p->rm, p->rv, 0.1f) != NNCLR_OK)
        return NAN;
    blocked_to_nchw(p->y_plain, p->y, p->n, p->c, p->h, p->w);
    double s = 0;
    for (size_t i = 0; i < plain; i++) s += (double)p->dy_plain[i] * (double)p->y_plain[i];
    if (signs && p->relu) {
        if (batchnorm_forward_train(p->pre, p->z, p->saved, p->x, NULL, p->gamma, p->beta, p->rm, p->rv, 0.1f) != NNCLR_OK)
            return NAN;
        for (size_t i = 0; i < dnn_act_size(p->n, p->c, p->h, p->w); i++) signs[i] = p->z[i] > 0.0f;
    }
    return s;
}

/* Central difference at v[i]; returns 0 and sets *skip when a ReLU kink is crossed. */
static double fd_at(fd_problem *p, float *v, size_t i, unsigned char *s0, unsigned char *s1, int *skip) {
    const size_t as = dnn_act_size(p->n, p->c, p->h, p->w);
    const float orig = v[i];
    *skip = 0;
    fd_loss(p, s0);
    v[i] = orig + p->step;
    const float up = v[i];
    const double lp = fd_loss(p, s1);
    if (p->relu && memcmp(s0, s1, as) != 0) *skip = 1;
    v[i] = orig - p->step;
    const float down = v[i];
    const double lm = fd_loss(p, s1);
    if (p->relu && memcmp(s0, s1, as) != 0) *skip = 1;
    v[i] = orig;
    return (lp - lm) / ((double)up - (double)down);
}

static void fd_case(const char *name, int n, int c, int h, int w, int relu, float step) {
    char what[200];
    fd_problem p = {.n = n, .c = c, .h = h, .w = w, .relu = relu, .step = step};
    if (batchnorm_create(&p.b, n, c, h, w, relu) != NNCLR_OK ||
        batchnorm_create(&p.pre, n, c, h, w, 0) != NNCLR_OK) {
        check_true(name, 0);
        return;
    }
    const size_t as = dnn_act_size(n, c, h, w), plain = (size_t)n * c * h * w;
    float *x_plain = alloc_floats(plain), *dy = alloc_floats(as), *dx = alloc_floats(as);
    float *dx_plain = alloc_floats(plain), *dgamma = alloc_floats((size_t)c), *dbeta = alloc_floats((size_t)c);
    unsigned char *s0 = malloc(as), *s1 = malloc(as);
    p.x = alloc_floats(as); p.y = alloc_floats(as); p.z = alloc_floats(as);
    p.y_plain = alloc_floats(plain); p.dy_plain = alloc_floats(plain);
    p.gamma = alloc_floats((size_t)c); p.beta = alloc_floats((size_t)c);
    p.rm = alloc_floats((size_t)c); p.rv = alloc_floats((size_t)c);
    size_t sb = batchnorm_saved_bytes(p.b) > batchnorm_saved_bytes(p.pre) ? batchnorm_saved_bytes(p.b)
                                                                          : batchnorm_saved_bytes(p.pre);
    p.saved = alloc_floats(sb / sizeof(float) + 1);
    fill_uniform(x_plain, plain, 21);
    fill_uniform(p.dy_plain, plain, 22);
    fill_uniform(p.gamma, (size_t)c, 23);
    fill_uniform(p.beta, (size_t)c, 24);
    for (int i = 0; i < c; i++) p.gamma[i] = 1.0f + 0.5f * p.gamma[i];
    nchw_to_blocked(p.x, x_plain, n, c, h, w);
    nchw_to_blocked(dy, p.dy_plain, n, c, h, w);

    int ok = batchnorm_forward_train(p.b, p.y, p.saved, p.x, NULL, p.gamma, p.beta, p.rm, p.rv, 0.1f) == NNCLR_OK &&
             batchnorm_backward(p.b, dx, dgamma, dbeta, dy, p.x, p.saved, p.gamma, p.beta) == NNCLR_OK;
    snprintf(what, sizeof what, "fd %s: forward + backward run", name);
    check_true(what, ok);
    blocked_to_nchw(dx_plain, dx, n, c, h, w);

    struct { const char *what; float *v; const float *g; size_t count; int blocked; } params[3] = {
        {"dx", p.x, dx_plain, plain, 1}, {"dgamma", p.gamma, dgamma, (size_t)c, 0},
        {"dbeta", p.beta, dbeta, (size_t)c, 0}};
    for (int k = 0; k < 3; k++) {
        int samples = params[k].count < 40 ? (int)params[k].count : 40, bad = 0, skipped = 0;
        double worst = 0;
        for (int s = 0; s < samples; s++) {
            size_t i = params[k].count <= 40 ? (size_t)s : ((size_t)s * 7919u + 1) % params[k].count;
            size_t j = i;
            if (params[k].blocked) {
                size_t iw_ = i % w, ih_ = i / w % h, ic_ = i / ((size_t)w * h) % c, in_ = i / ((size_t)w * h * c);
                j = (((in_ * (dnn_cpad(c) / dnn_cblock()) + ic_ / dnn_cblock()) * h + ih_) * w + iw_) * dnn_cblock() + ic_ % dnn_cblock();
            }
            int skip;
            double fd = fd_at(&p, params[k].v, j, s0, s1, &skip);
            if (skip) {
                skipped++;
                continue;
            }
            double an = params[k].g[i], err = fabs(fd - an) / fmax(1.0, fabs(an));
            if (err > worst) worst = err;
            bad += err > FD_TOL;
        }
        snprintf(what, sizeof what, "fd %s: %s at %d samples, %d skipped at kinks (worst rel err %.2g)",
                 name, params[k].what, samples, skipped, worst);
        check_true(what, bad == 0 && skipped * 2 <= samples);
    }
    batchnorm_free(p.b);
    batchnorm_free(p.pre);
    free(x_plain); free(dy); free(dx); free(dx_plain); free(dgamma); free(dbeta); free(s0); free(s1);
    free(p.x); free(p.y); free(p.z); free(p.y_plain); free(p.dy_plain); free(p.gamma); free(p.beta);
    free(p.rm); free(p.rv); free(p.saved);
}

/* ---- errors */

static void error_cases(void) {
    batchnorm *b = (batchnorm *)1;
    check_true("error: c = 0 -> NNCLR_ERR_ARG", batchnorm_create(&b, 2, 0, 4, 4, 0) == NNCLR_ERR_ARG && !b);
    printf("     message: %s\n", nnclr_last_error());
    check_true("error: n = 0 -> NNCLR_ERR_ARG", batchnorm_create(&b, 0, 8, 4, 4, 1) == NNCLR_ERR_ARG);
    check_true("error: h < 0 -> NNCLR_ERR_ARG", batchnorm_create(&b, 2, 8, -1, 4, 1) == NNCLR_ERR_ARG);
    if (!check_true("error: 1x1x1 batch creates (eval is fine)", batchnorm_create(&b, 1, 8, 1, 1, 0) == NNCLR_OK))
        return;
    float x[8] = {0}, y[8], g[8] = {0}, rm[8] = {0}, rv[8] = {0};
    float *saved = alloc_floats(batchnorm_saved_bytes(b) / sizeof(float) + 1);
    check_true("error: training on one value per channel -> NNCLR_ERR_ARG",
               batchnorm_forward_train(b, y, saved, x, NULL, g, g, rm, rv, 0.1f) == NNCLR_ERR_ARG &&
               nnclr_last_error()[0] != 0);
    batchnorm_free(b);
    free(saved);
}

/* The batch statistics and gradients are the same bits at 1, 2 and 3 threads: 11 images (not a
 * multiple of the 8 runs the sums are cut into), 3x5 pixels (not a multiple of the 4
 * accumulators), one and two channel blocks. */
static void thread_independence(int c) {
    const int n = 11, h = 3, w = 5;
    size_t xs = dnn_act_size(n, c, h, w), plain = (size_t)n * c * h * w;
    batchnorm *b = NULL;
    char what[120];
    snprintf(what, sizeof what, "threads c%d: create", c);
    if (!check_true(what, batchnorm_create(&b, n, c, h, w, 1) == NNCLR_OK)) return;
    float *xp = alloc_floats(plain), *x = alloc_floats(xs), *dy = alloc_floats(xs);
    float *g = alloc_floats((size_t)c), *be = alloc_floats((size_t)c);
    for (size_t i = 0; i < plain; i++) xp[i] = (float)sin(0.37 * (double)i) * 3.0f + 1.5f;
    nchw_to_blocked(x, xp, n, c, h, w);
    for (size_t i = 0; i < plain; i++) xp[i] = (float)cos(0.11 * (double)i);
    nchw_to_blocked(dy, xp, n, c, h, w);
    for (int i = 0; i < c; i++) g[i] = 1.0f + 0.1f * (float)i, be[i] = 0.05f * (float)i;
    size_t sf = batchnorm_saved_bytes(b) / sizeof(float) + 1;
    float *out[3][5]; /* per thread count: y, saved, dx, dgamma, dbeta */
    int ok = 1;
    for (int t = 0; t < 3; t++) {
        float *rm = alloc_floats((size_t)c), *rv = alloc_floats((size_t)c);
        out[t][0] = alloc_floats(xs), out[t][1] = alloc_floats(sf), out[t][2] = alloc_floats(xs);
        out[t][3] = alloc_floats((size_t)c), out[t][4] = alloc_floats((size_t)c);
        omp_set_num_threads(t + 1);
        ok &= batchnorm_forward_train(b, out[t][0], out[t][1], x, NULL, g, be, rm, rv, 0.1f) == NNCLR_OK &&
              batchnorm_backward(b, out[t][2], out[t][3], out[t][4], dy, x, out[t][1], g, be) == NNCLR_OK;
        free(rm);
        free(rv);
    }
    omp_set_num_threads(2);
    size_t sizes[5] = {xs, var_offset_floats(c) + (size_t)c, xs, (size_t)c, (size_t)c}; /* saved: mean, var */
    int same = 1;
    for (int t = 1; t < 3; t++)
        for (int k = 0; k < 5; k++) same &= memcmp(out[t][k], out[0][k], sizes[k] * sizeof(float)) == 0;
    snprintf(what, sizeof what, "threads c%d: y, mean, variance, dx, dgamma, dbeta identical at 1, 2, 3 threads", c);
    check_true(what, ok && same);
    for (int t = 0; t < 3; t++)
        for (int k = 0; k < 5; k++) free(out[t][k]);
    free(xp), free(x), free(dy), free(g), free(be);
    batchnorm_free(b);
}

/* y = relu(bn(x) + r) in one pass (training and eval) equals bn(x) followed by a separate
 * add + ReLU (same float operations, so to the bit); a residual on a fused-ReLU op is an
 * argument error. */
static void add_relu(float *y, const float *r, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float t = y[i] + r[i];
        y[i] = t > 0.0f ? t : 0.0f;
    }
}

static void residual_case(int c) {
    const int n = 3, h = 5, w = 4;
    size_t xs = dnn_act_size(n, c, h, w), plain = (size_t)n * c * h * w;
    batchnorm *b = NULL, *fused = NULL;
    char what[120];
    snprintf(what, sizeof what, "residual c%d: create", c);
    if (!check_true(what, batchnorm_create(&b, n, c, h, w, 0) == NNCLR_OK &&
                              batchnorm_create(&fused, n, c, h, w, 1) == NNCLR_OK))
        return;
    float *xp = alloc_floats(plain), *x = alloc_floats(xs), *r = alloc_floats(xs);
    float *y0 = alloc_floats(xs), *y1 = alloc_floats(xs), *g = alloc_floats((size_t)c), *be = alloc_floats((size_t)c);
    float *rm = alloc_floats((size_t)c), *rv = alloc_floats((size_t)c);
    float *saved = alloc_floats(batchnorm_saved_bytes(b) / sizeof(float) + 1);
    for (size_t i = 0; i < plain; i++) xp[i] = (float)sin(0.29 * (double)i) * 2.0f - 0.3f;
    nchw_to_blocked(x, xp, n, c, h, w);
    for (size_t i = 0; i < plain; i++) xp[i] = (float)cos(0.17 * (double)i);
    nchw_to_blocked(r, xp, n, c, h, w);
    for (int i = 0; i < c; i++) g[i] = 0.5f + 0.1f * (float)i, be[i] = 0.02f * (float)i - 0.1f, rv[i] = 1.0f;
    int ok = batchnorm_forward_train(b, y0, saved, x, NULL, g, be, rm, rv, 0.1f) == NNCLR_OK &&
             batchnorm_forward_train(b, y1, saved, x, r, g, be, rm, rv, 0.1f) == NNCLR_OK;
    add_relu(y0, r, xs);
    snprintf(what, sizeof what, "residual c%d: training relu(bn(x) + r) == add_relu(bn(x), r)", c);
    check_true(what, ok && memcmp(y0, y1, xs * sizeof(float)) == 0);
    ok = batchnorm_forward_eval(b, y0, x, NULL, g, be, rm, rv) == NNCLR_OK &&
         batchnorm_forward_eval(b, y1, x, r, g, be, rm, rv) == NNCLR_OK;
    add_relu(y0, r, xs);
    snprintf(what, sizeof what, "residual c%d: eval relu(bn(x) + r) == add_relu(bn(x), r)", c);
    check_true(what, ok && memcmp(y0, y1, xs * sizeof(float)) == 0);
    snprintf(what, sizeof what, "residual c%d: refused by a fused-ReLU op", c);
    check_true(what, batchnorm_forward_train(fused, y1, saved, x, r, g, be, rm, rv, 0.1f) == NNCLR_ERR_ARG &&
                         batchnorm_forward_eval(fused, y1, x, r, g, be, rm, rv) == NNCLR_ERR_ARG);
    free(xp), free(x), free(r), free(y0), free(y1), free(g), free(be), free(rm), free(rv), free(saved);
    batchnorm_free(b);
    batchnorm_free(fused);
}

int main(void) {
    fx_file f;
    if (fx_load(&f, "fixtures/ops_bn.bin") == 0) {
        run_case(&f, "bn");
        run_case(&f, "bnr");
        run_case(&f, "bnr_c16");
        fx_free(&f);
    }
    fd_case("c5 3x3 h 1e-2", 2, 5, 3, 3, 0, 1e-2f);
    fd_case("c5 3x3 relu h 1e-3", 2, 5, 3, 3, 1, 1e-3f);
    fd_case("c8 2x2 relu h 1e-2", 3, 8, 2, 2, 1, 1e-2f);
    thread_independence(dnn_cblock());
    thread_independence(2 * dnn_cblock());
    residual_case(5);
    residual_case(2 * dnn_cblock());
    error_cases();
    return test_summary();
}
