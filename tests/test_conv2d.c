/* test_conv2d.c - conv2d (oneDNN, nChw8c) against PyTorch fixtures from tests/gen_ops.py, plus
 * finite-difference gradient checks, accumulation of dw, zero padded channels, the oneDNN
 * implementations chosen, and argument errors.
 *
 * Tolerances (|got - ref| <= atol + rtol |ref|, references computed in float64):
 *   y, dx: atol 1e-5, rtol 1e-4      dw: atol 1e-4, rtol 1e-4 (sums over N*OH*OW products)
 *   finite differences (h = 1e-2, loss sum(dy * y) accumulated in double; the conv is linear,
 *   so only float32 rounding of y separates the two): |fd - g| <= 1e-3 max(1, |g|). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/dnn.h"
#include "core/status.h"
#include "ops/conv2d.h"
#include "ops/eltwise.h"
#include "testlib.h"

#define FWD_ATOL 1e-5
#define FWD_RTOL 1e-4
#define DW_ATOL 1e-4
#define DW_RTOL 1e-4
#define FD_H 1e-2f
#define FD_TOL 1e-3

/* 1 when every padded channel (c..cpad-1) of the blocked tensor is exactly 0. */
static int padded_channels_zero(const float *blk, int n, int c, int h, int w) {
    const int cbs = dnn_cpad(c) / 8;
    const size_t hw = (size_t)h * w;
    for (int in = 0; in < n; in++)
        for (size_t p = 0; p < hw; p++)
            for (int l = c % 8 ? c % 8 : 8; l < 8; l++)
                if (blk[(((size_t)in * cbs + cbs - 1) * hw + p) * 8 + l] != 0.0f) return 0;
    return 1;
}

static float *alloc_floats(size_t n) {
    float *p = nnclr_calloc(n ? n : 1, sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

/* Fills a blocked buffer with NaN so that an output left unwritten (padded lanes included)
 * is caught. */
static void fill_nan(float *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = NAN;
}

static const char *impl_or_none(const char *s) { return s ? s : "(none)"; }

static void check_impls(const char *name, const conv2d *c, const conv2d_config *g) {
    char what[160];
    for (int pass = 0; pass < 3; pass++) {
        const char *impl = conv2d_impl_name(c, pass);
        printf("     %s pass %d: %s\n", name, pass, impl_or_none(impl));
        /* Backward data of a plain-input conv is not on the training path (need_dx = 0 for
         * the network input); oneDNN has only a reference kernel for it. */
        if (pass == 1 && g->src_plain) continue;
        if (pass == 1 && !g->need_dx) {
            snprintf(what, sizeof what, "%s: no backward-data primitive when need_dx = 0", name);
            check_true(what, impl == NULL);
            continue;
        }
        snprintf(what, sizeof what, "%s: pass %d runs a jit kernel", name, pass);
        check_true(what, impl && strncmp(impl, "jit", 3) == 0);
    }
}

/* ---- fixture cases */

static void run_case(const fx_file *f, const char *name) {
    char key[128], what[160];
#define GET(field) (snprintf(key, sizeof key, "%s." field, name), fx_get(f, key))
    const fx_tensor *cfg_t = GET("cfg"), *x_t = GET("x"), *w_t = GET("w"), *dy_t = GET("dy"),
                    *y_t = GET("y"), *dx_t = GET("dx"), *dw_t = GET("dw");
#undef GET
    if (!cfg_t || !x_t || !w_t || !dy_t || !y_t || !dx_t || !dw_t) return;
    const float *v = cfg_t->data;
    conv2d_config g = {(int)v[0], (int)v[1], (int)v[2], (int)v[3], (int)v[4], (int)v[5], (int)v[6],
                       (int)v[7], (int)v[8], (int)v[9]};
    conv2d *c;
    snprintf(what, sizeof what, "%s: create", name);
    if (!check_true(what, conv2d_create(&c, &g) == NNCLR_OK)) {
        printf("     %s\n", nnclr_last_error());
        return;
    }
    check_impls(name, c, &g);
    int oh, ow;
    conv2d_out_hw(c, &oh, &ow);
    snprintf(what, sizeof what, "%s: output size matches PyTorch", name);
    check_true(what, y_t->dims[2] == oh && y_t->dims[3] == ow);

    const size_t xs = g.src_plain ? x_t->size : dnn_act_size(g.n, g.ic, g.ih, g.iw);
    const size_t ys = dnn_act_size(g.n, g.oc, oh, ow);
    float *x = alloc_floats(xs), *y = alloc_floats(ys), *dy = alloc_floats(ys);
    float *dx = alloc_floats(xs), *plain_y = alloc_floats(y_t->size);
    float *plain_x = alloc_floats(x_t->size), *dw = alloc_floats(w_t->size);
    float *dw2 = alloc_floats(w_t->size);
    if (g.src_plain) memcpy(x, x_t->data, xs * sizeof(float));
    else nchw_to_blocked(x, x_t->data, g.n, g.ic, g.ih, g.iw);
    nchw_to_blocked(dy, dy_t->data, g.n, g.oc, oh, ow);

    fill_nan(y, ys);
    int ok = conv2d_prepare(c, w_t->data) == NNCLR_OK && conv2d_forward(c, y, x) == NNCLR_OK;
    snprintf(what, sizeof what, "%s: forward runs", name);
    check_true(what, ok);
    blocked_to_nchw(plain_y, y, g.n, g.oc, oh, ow);
    snprintf(what, sizeof what, "%s: y", name);
    check_close(what, plain_y, y_t->data, y_t->size, FWD_ATOL, FWD_RTOL);
    snprintf(what, sizeof what, "%s: y padded channels are zero", name);
    check_true(what, padded_channels_zero(y, g.n, g.oc, oh, ow));

    fill_nan(dx, xs);
    ok = conv2d_backward(c, g.need_dx ? dx : NULL, dw, dy, x) == NNCLR_OK;
    snprintf(what, sizeof what, "%s: backward runs", name);
    check_true(what, ok);
    snprintf(what, sizeof what, "%s: dw", name);
    check_close(what, dw, dw_t->data, dw_t->size, DW_ATOL, DW_RTOL);
    if (g.need_dx) {
        if (g.src_plain) memcpy(plain_x, dx, xs * sizeof(float));
        else blocked_to_nchw(plain_x, dx, g.n, g.ic, g.ih, g.iw);
        snprintf(what, sizeof what, "%s: dx", name);
        check_close(what, plain_x, dx_t->data, dx_t->size, FWD_ATOL, FWD_RTOL);
        if (!g.src_plain) {
            snprintf(what, sizeof what, "%s: dx padded channels are zero", name);
            check_true(what, padded_channels_zero(dx, g.n, g.ic, g.ih, g.iw));
        }
    }
    /* A second backward adds the same gradient again. */
    ok = conv2d_backward(c, NULL, dw, dy, x) == NNCLR_OK;
    for (size_t i = 0; i < w_t->size; i++) dw2[i] = 2.0f * dw_t->data[i];
    snprintf(what, sizeof what, "%s: second backward runs", name);
    check_true(what, ok);
    snprintf(what, sizeof what, "%s: dw accumulates (2 backward = 2x)", name);
    check_close(what, dw, dw2, w_t->size, 2 * DW_ATOL, DW_RTOL);

    conv2d_free(c);
    free(x); free(y); free(dy); free(dx); free(plain_y); free(plain_x); free(dw); free(dw2);
}

/* ---- finite differences */

typedef struct {
    conv2d *c;
    conv2d_config g;
    int oh, ow;
    float *x, *w, *y, *y_plain, *dy_plain;   /* x in the conv's layout, w plain */
} fd_problem;

/* loss = sum(dy * y), accumulated in double. */
static double fd_loss(fd_problem *p) {
    if (conv2d_prepare(p->c, p->w) != NNCLR_OK || conv2d_forward(p->c, p->y, p->x) != NNCLR_OK)
        return NAN;
    blocked_to_nchw(p->y_plain, p->y, p->g.n, p->g.oc, p->oh, p->ow);
    double s = 0;
    for (size_t i = 0; i < (size_t)p->g.n * p->g.oc * p->oh * p->ow; i++)
        s += (double)p->dy_plain[i] * (double)p->y_plain[i];
    return s;
}

/* Central difference at v[i]; the step is the float32 distance actually taken. */
static double fd_at(fd_problem *p, float *v, size_t i) {
    const float orig = v[i];
    v[i] = orig + FD_H;
    const float up = v[i];
    const double lp = fd_loss(p);
    v[i] = orig - FD_H;
    const float down = v[i];
    const double lm = fd_loss(p);
    v[i] = orig;
    return (lp - lm) / ((double)up - (double)down);
}

static void fd_case(const char *name, conv2d_config g) {
    char what[160];
    fd_problem p = {.g = g};
    if (conv2d_create(&p.c, &g) != NNCLR_OK) {
        check_true(name, 0);
        return;
    }
    check_impls(name, p.c, &g);
    conv2d_out_hw(p.c, &p.oh, &p.ow);
    const size_t xplain = (size_t)g.n * g.ic * g.ih * g.iw;
    const size_t xs = g.src_plain ? xplain : dnn_act_size(g.n, g.ic, g.ih, g.iw);
    const size_t ys = dnn_act_size(g.n, g.oc, p.oh, p.ow);
    const size_t yplain = (size_t)g.n * g.oc * p.oh * p.ow, ws = (size_t)g.oc * g.ic * g.k * g.k;
    float *x_plain = alloc_floats(xplain), *dy = alloc_floats(ys), *dx = alloc_floats(xs);
    float *dx_plain = alloc_floats(xplain), *dw = alloc_floats(ws);
    p.x = alloc_floats(xs); p.w = alloc_floats(ws); p.y = alloc_floats(ys);
    p.y_plain = alloc_floats(yplain); p.dy_plain = alloc_floats(yplain);
    fill_uniform(x_plain, xplain, 11);
    fill_uniform(p.w, ws, 12);
    fill_uniform(p.dy_plain, yplain, 13);
    if (g.src_plain) memcpy(p.x, x_plain, xplain * sizeof(float));
    else nchw_to_blocked(p.x, x_plain, g.n, g.ic, g.ih, g.iw);
    nchw_to_blocked(dy, p.dy_plain, g.n, g.oc, p.oh, p.ow);

    int ok = conv2d_prepare(p.c, p.w) == NNCLR_OK &&
             conv2d_backward(p.c, g.need_dx ? dx : NULL, dw, dy, p.x) == NNCLR_OK;
    snprintf(what, sizeof what, "fd %s: backward runs", name);
    check_true(what, ok);
    if (g.src_plain) memcpy(dx_plain, dx, xplain * sizeof(float));
    else blocked_to_nchw(dx_plain, dx, g.n, g.ic, g.ih, g.iw);

    /* x is perturbed in its own layout: element (n, c, h, w) of the plain view. */
    double worst_x = 0, worst_w = 0;
    int bad_x = 0, bad_w = 0, samples = 40;
    for (int s = 0; g.need_dx && s < samples; s++) {
        size_t i = ((size_t)s * 7919u + 3) % xplain;
        size_t iw_ = i % g.iw, ih_ = i / g.iw % g.ih, ic_ = i / ((size_t)g.iw * g.ih) % g.ic;
        size_t in_ = i / ((size_t)g.iw * g.ih * g.ic);
        size_t j = g.src_plain ? i
                 : (((in_ * (dnn_cpad(g.ic) / 8) + ic_ / 8) * g.ih + ih_) * g.iw + iw_) * 8 + ic_ % 8;
        double fd = fd_at(&p, p.x, j), an = dx_plain[i];
        double err = fabs(fd - an) / fmax(1.0, fabs(an));
        if (err > worst_x) worst_x = err;
        bad_x += err > FD_TOL;
    }
    for (int s = 0; s < samples; s++) {
        size_t i = ((size_t)s * 104729u + 5) % ws;
        double fd = fd_at(&p, p.w, i), an = dw[i];
        double err = fabs(fd - an) / fmax(1.0, fabs(an));
        if (err > worst_w) worst_w = err;
        bad_w += err > FD_TOL;
    }
    if (g.need_dx) {
        snprintf(what, sizeof what, "fd %s: dx at %d samples (worst rel err %.2g)", name, samples, worst_x);
        check_true(what, bad_x == 0);
    }
    snprintf(what, sizeof what, "fd %s: dw at %d samples (worst rel err %.2g)", name, samples, worst_w);
    check_true(what, bad_w == 0);
    conv2d_free(p.c);
    free(x_plain); free(dy); free(dx); free(dx_plain); free(dw);
    free(p.x); free(p.w); free(p.y); free(p.y_plain); free(p.dy_plain);
}

/* ---- errors */

static void expect_arg_error(const char *what, conv2d_config g) {
    conv2d *c = (conv2d *)1;
    nnclr_status s = conv2d_create(&c, &g);
    char msg[200];
    snprintf(msg, sizeof msg, "error: %s -> NNCLR_ERR_ARG with a message (%s)", what, nnclr_last_error());
    check_true(msg, s == NNCLR_ERR_ARG && c == NULL && nnclr_last_error()[0] != 0);
}

static void error_cases(void) {
    conv2d_config ok = {2, 8, 6, 6, 8, 3, 1, 1, 0, 1};
    conv2d_config g = ok;
    g.n = 0; expect_arg_error("n = 0", g);
    g = ok; g.ic = 0; expect_arg_error("ic = 0", g);
    g = ok; g.oc = -1; expect_arg_error("oc < 0", g);
    g = ok; g.k = 9; expect_arg_error("kernel 9 > padded input 8", g);
    g = ok; g.stride = 0; expect_arg_error("stride = 0", g);
    g = ok; g.pad = 3; expect_arg_error("pad >= kernel", g);

    conv2d *c;
    g = ok; g.need_dx = 0;
    if (!check_true("error: valid config creates", conv2d_create(&c, &g) == NNCLR_OK)) return;
    float *buf = alloc_floats(dnn_act_size(2, 8, 6, 6));
    check_true("error: forward before prepare -> NNCLR_ERR_ARG", conv2d_forward(c, buf, buf) == NNCLR_ERR_ARG);
    float w[8 * 8 * 9] = {0}, dw[8 * 8 * 9] = {0};
    conv2d_prepare(c, w);
    check_true("error: dx asked with need_dx = 0 -> NNCLR_ERR_ARG",
               conv2d_backward(c, buf, dw, buf, buf) == NNCLR_ERR_ARG);
    conv2d_free(c);
    free(buf);
}

int main(void) {
    fx_file f;
    if (fx_load(&f, "fixtures/ops_conv.bin") == 0) {
        static const char *cases[] = {"b_1x1s1", "b_1x1s2", "b_3x3s1", "b_3x3s2", "b_7x7s2",
                                      "b_3x3s1_c16", "p_1x1s1", "p_1x1s2", "p_3x3s1", "p_3x3s2",
                                      "p_7x7s2"};
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&f, cases[i]);
        fx_free(&f);
    }
    fd_case("blocked ic10 oc6 3x3 s2 p1", (conv2d_config){2, 10, 6, 6, 6, 3, 2, 1, 0, 1});
    fd_case("blocked ic9 oc3 1x1 s1", (conv2d_config){2, 9, 4, 4, 3, 1, 1, 0, 0, 1});
    fd_case("plain ic3 oc5 3x3 s1 p1", (conv2d_config){2, 3, 5, 5, 5, 3, 1, 1, 1, 1});
    error_cases();
    return test_summary();
}
