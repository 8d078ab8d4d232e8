/* test_conv2d.c - conv2d (nChw8c) against PyTorch fixtures from tests/gen_ops.py, plus
 * finite-difference gradient checks, accumulation of dw, zero padded channels, the
 * implementations chosen, and argument errors. Every case runs on oneDNN's direct kernels
 * (CONV2D_ALGO_DIRECT) and, where the shape qualifies (3x3, stride 1, pad 1, channels multiples
 * of 8, AVX2), again on the Winograd kernels (ops/winograd.h) against the same references; the
 * two are also compared with each other on the CIFAR ResNet layer shapes.
 *
 * Tolerances (|got - ref| <= atol + rtol |ref|, references computed in float64):
 *   y, dx: atol 1e-5, rtol 1e-4      dw: atol 1e-4, rtol 1e-4 (sums over N*OH*OW products)
 *   finite differences (h = 0.1, loss sum(dy * y) accumulated in double; the conv is linear,
 *   so only float32 rounding of y separates the two): |fd - g| <= 1e-3 max(1, |g|). */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/dnn.h"
#include "core/status.h"
#include "ops/conv2d.h"
#include "ops/eltwise.h"
#include "ops/winograd.h"
#include "testlib.h"

#define FWD_ATOL 1e-5
#define FWD_RTOL 1e-4
#define DW_ATOL 1e-4
#define DW_RTOL 1e-4
#define FD_H 1e-1f
#define FD_TOL 1e-3

/* 1 when every padded channel (c..cpad-1) of the blocked tensor is exactly 0. */
static int padded_channels_zero(const float *blk, int n, int c, int h, int w) {
    const int B = dnn_cblock(), cbs = dnn_cpad(c) / B;
    const size_t hw = (size_t)h * w;
    for (int in = 0; in < n; in++)
        for (size_t p = 0; p < hw; p++)
            for (int l = c % B ? c % B : B; l < B; l++)
                if (blk[(((size_t)in * cbs + cbs - 1) * hw + p) * B + l] != 0.0f) return 0;
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
        if (g->algo == CONV2D_ALGO_WINOGRAD) {
            snprintf(what, sizeof what, "%s: pass %d runs the Winograd kernel", name, pass);
            check_true(what, impl && strncmp(impl, "winograd", 8) == 0);
        } else if (dnn_cblock() == 8 || (g->oc % 16 == 0 && (g->src_plain || g->ic % 16 == 0))) {
            snprintf(what, sizeof what, "%s: pass %d runs a jit kernel", name, pass);
            check_true(what, impl && strncmp(impl, "jit", 3) == 0);
        } else {
            /* nChw16c: oneDNN 2.6 has jit kernels for channels in whole blocks of 16 only (every
             * ResNet nnclr builds); other counts run, slowly, on its reference code. */
            printf("     %s pass %d: channels not multiples of 16, jit not required\n", name, pass);
        }
    }
}

/* ---- fixture cases */

/* 1 when the Winograd kernels take this shape on this CPU. */
static int winograd_fits(const conv2d_config *g) {
    return g->k == 3 && g->stride == 1 && g->pad == 1 && !g->src_plain && winograd_supported(g->ic, g->oc);
}

static void run_case(const fx_file *f, const char *fx_name, int algo) {
    char key[128], what[160], name[96];
    const char *alg_name = algo == CONV2D_ALGO_WINOGRAD ? "winograd" : "direct";
    snprintf(name, sizeof name, "%s [%s]", fx_name, alg_name);
#define GET(field) (snprintf(key, sizeof key, "%s." field, fx_name), fx_get(f, key))
    const fx_tensor *cfg_t = GET("cfg"), *x_t = GET("x"), *w_t = GET("w"), *dy_t = GET("dy"),
                    *y_t = GET("y"), *dx_t = GET("dx"), *dw_t = GET("dw");
#undef GET
    if (!cfg_t || !x_t || !w_t || !dy_t || !y_t || !dx_t || !dw_t) return;
    const float *v = cfg_t->data;
    conv2d_config g = {(int)v[0], (int)v[1], (int)v[2], (int)v[3], (int)v[4], (int)v[5], (int)v[6],
                       (int)v[7], (int)v[8], (int)v[9], algo, CONV2D_F32};
    if (algo == CONV2D_ALGO_WINOGRAD && !winograd_fits(&g)) return;
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
                 : (((in_ * (dnn_cpad(g.ic) / dnn_cblock()) + ic_ / dnn_cblock()) * g.ih + ih_) * g.iw + iw_) * dnn_cblock() + ic_ % dnn_cblock();
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

/* ---- Winograd against oneDNN's direct kernels */

/* max |got - ref| / max |ref| (1 when ref is all zero and got is not). */
static double max_rel_diff(const float *got, const float *ref, size_t n) {
    double scale = 0, worst = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)got[i] - ref[i]));
    return scale > 0 ? worst / scale : (worst > 0 ? 1.0 : 0.0);
}

/* y, dx and dw of one random problem from `algo` (Winograd, or the automatic mix) and from
 * oneDNN's direct kernels; |got - direct| <= 2e-5 (4e-5 for dw, a longer sum) relative to the
 * largest |direct| value of that tensor. */
static void algo_vs_direct(int n, int c, int h, int w, int k, int algo) {
    char what[200];
    const char *an = algo == CONV2D_ALGO_AUTO ? "auto" : "winograd";
    conv2d_config g = {n, c, h, w, k, 3, 1, 1, 0, 1, CONV2D_ALGO_DIRECT, CONV2D_F32};
    conv2d *cv[2] = {NULL, NULL};
    int ok = conv2d_create(&cv[0], &g) == NNCLR_OK;
    g.algo = algo;
    ok = ok && conv2d_create(&cv[1], &g) == NNCLR_OK;
    snprintf(what, sizeof what, "%s vs direct n%d c%d %dx%d k%d: both create", an, n, c, h, w, k);
    if (!check_true(what, ok)) return;
    size_t xs = dnn_act_size(n, c, h, w), ys = dnn_act_size(n, k, h, w), ws = (size_t)k * c * 9;
    float *x = alloc_floats(xs), *dy = alloc_floats(ys), *wt = alloc_floats(ws);
    float *y[2], *dx[2], *dw[2];
    fill_uniform(x, xs, 21);
    fill_uniform(dy, ys, 22);
    fill_uniform(wt, ws, 23);
    for (int a = 0; a < 2; a++) {
        y[a] = alloc_floats(ys);
        dx[a] = alloc_floats(xs);
        dw[a] = alloc_floats(ws);
        ok = ok && conv2d_prepare(cv[a], wt) == NNCLR_OK && conv2d_forward(cv[a], y[a], x) == NNCLR_OK &&
             conv2d_backward(cv[a], dx[a], dw[a], dy, x) == NNCLR_OK;
    }
    snprintf(what, sizeof what, "%s vs direct n%d c%d %dx%d k%d: both run", an, n, c, h, w, k);
    check_true(what, ok);
    const float *got[3] = {y[1], dx[1], dw[1]}, *ref[3] = {y[0], dx[0], dw[0]};
    size_t len[3] = {ys, xs, ws};
    const char *names[3] = {"y", "dx", "dw"};
    for (int t = 0; t < 3; t++) {
        double scale = 0, worst = 0;
        for (size_t i = 0; i < len[t]; i++) scale = fmax(scale, fabs(ref[t][i]));
        for (size_t i = 0; i < len[t]; i++) worst = fmax(worst, fabs((double)got[t][i] - ref[t][i]));
        double tol = (t == 2 ? 4e-5 : 2e-5) * scale;
        snprintf(what, sizeof what, "%s vs direct n%d c%d %dx%d k%d: %s (max err %.2g, %.2g of max |ref|)",
                 an, n, c, h, w, k, names[t], worst, scale > 0 ? worst / scale : 0.0);
        check_true(what, scale > 0 && worst <= tol);
    }
    for (int a = 0; a < 2; a++) {
        conv2d_free(cv[a]);
        free(y[a]); free(dx[a]); free(dw[a]);
    }
    free(x); free(dy); free(wt);
}

static void winograd_vs_direct(int n, int c, int h, int w, int k) {
    algo_vs_direct(n, c, h, w, k, CONV2D_ALGO_WINOGRAD);
}

/* Made with one thread, run with two (and the reverse): the pass uses the threads of the call. */
static void winograd_thread_change(void) {
    int saved = omp_get_max_threads();
    conv2d_config g = {3, 16, 12, 10, 32, 3, 1, 1, 0, 1, CONV2D_ALGO_DIRECT, CONV2D_F32};
    conv2d *ref = NULL, *wg[2] = {NULL, NULL};
    int ok = conv2d_create(&ref, &g) == NNCLR_OK;
    g.algo = CONV2D_ALGO_WINOGRAD;
    omp_set_num_threads(1);
    ok = ok && conv2d_create(&wg[0], &g) == NNCLR_OK;
    omp_set_num_threads(2);
    ok = ok && conv2d_create(&wg[1], &g) == NNCLR_OK;
    if (!check_true("winograd thread change: create", ok)) {
        omp_set_num_threads(saved);
        return;
    }
    size_t xs = dnn_act_size(g.n, g.ic, g.ih, g.iw), ys = dnn_act_size(g.n, g.oc, g.ih, g.iw);
    size_t ws = (size_t)g.oc * g.ic * 9;
    float *x = alloc_floats(xs), *dy = alloc_floats(ys), *w = alloc_floats(ws);
    float *y0 = alloc_floats(ys), *dx0 = alloc_floats(xs), *dw0 = alloc_floats(ws);
    float *y = alloc_floats(ys), *dx = alloc_floats(xs), *dw = alloc_floats(ws);
    fill_uniform(x, xs, 31);
    fill_uniform(dy, ys, 32);
    fill_uniform(w, ws, 33);
    ok = conv2d_prepare(ref, w) == NNCLR_OK && conv2d_forward(ref, y0, x) == NNCLR_OK &&
         conv2d_backward(ref, dx0, dw0, dy, x) == NNCLR_OK;
    for (int a = 0; a < 2; a++) {
        omp_set_num_threads(a == 0 ? 2 : 1); /* the other count than at creation */
        memset(dw, 0, ws * sizeof(float));
        ok = ok && conv2d_prepare(wg[a], w) == NNCLR_OK && conv2d_forward(wg[a], y, x) == NNCLR_OK &&
             conv2d_backward(wg[a], dx, dw, dy, x) == NNCLR_OK;
        char what[128];
        snprintf(what, sizeof what, "winograd made with %d thread(s), run with %d: y, dx, dw match direct",
                 a + 1, a == 0 ? 2 : 1);
        check_true(what, ok && max_rel_diff(y, y0, ys) <= 2e-5 && max_rel_diff(dx, dx0, xs) <= 2e-5 &&
                             max_rel_diff(dw, dw0, ws) <= 4e-5);
    }
    omp_set_num_threads(saved);
    conv2d_free(ref);
    conv2d_free(wg[0]);
    conv2d_free(wg[1]);
    free(x); free(dy); free(w); free(y0); free(dx0); free(dw0); free(y); free(dx); free(dw);
}

/* CONV2D_ALGO_AUTO (unless NNCLR_CONV_ALGO or NNCLR_WINOGRAD_TILE say otherwise for this
 * process): 3x3 stride-1 convs with 16 to 32 channels run F(4x4, 3x3) Winograd, above that
 * F(2x2, 3x3); with 16-lane (AVX-512) kernels F(2x2)'s backward weights stays on oneDNN below
 * 64 channels (checked at 32 with 64 input channels). The mixed convs give the direct results. */
static void expect_impl(const char *what, const conv2d *c, int pass, const char *prefix) {
    char msg[200];
    const char *impl = c ? conv2d_impl_name(c, pass) : NULL;
    snprintf(msg, sizeof msg, "auto: %s pass %d on %s (%s)", what, pass, prefix, impl_or_none(impl));
    check_true(msg, impl && strncmp(impl, prefix, strlen(prefix)) == 0);
}

static void auto_choice(void) {
    if (getenv("NNCLR_CONV_ALGO") || getenv("NNCLR_WINOGRAD_TILE")) {
        printf("note: NNCLR_CONV_ALGO or NNCLR_WINOGRAD_TILE is set, the default choice is not checked\n");
        return;
    }
    if (!winograd_supported(dnn_cblock(), dnn_cblock())) {
        printf("note: no Winograd kernels on this CPU, the default choice is not checked\n");
        return;
    }
    conv2d *a = NULL, *b = NULL, *d = NULL;
    conv2d_create(&a, &(conv2d_config){2, 16, 8, 8, 16, 3, 1, 1, 0, 1, CONV2D_ALGO_AUTO, CONV2D_F32});
    conv2d_create(&b, &(conv2d_config){2, 32, 8, 8, 32, 3, 1, 1, 0, 1, CONV2D_ALGO_AUTO, CONV2D_F32});
    conv2d_create(&d, &(conv2d_config){2, 128, 4, 4, 128, 3, 1, 1, 0, 1, CONV2D_ALGO_AUTO, CONV2D_F32});
    expect_impl("16 channels", a, 0, "winograd_4x3");
    expect_impl("16 channels", a, 1, "winograd_4x3");
    expect_impl("16 channels", a, 2, "winograd_4x3");
    for (int p = 0; p < 3; p++) expect_impl("32 channels", b, p, "winograd_4x3");
    for (int p = 0; p < 3; p++) expect_impl("128 channels", d, p, "winograd_4x3");
    conv2d *e = NULL;
    conv2d_create(&e, &(conv2d_config){2, 64, 4, 4, 48, 3, 1, 1, 0, 1, CONV2D_ALGO_AUTO, CONV2D_F32});
    expect_impl("64 -> 48 channels", e, 0, "winograd_4x3");
    expect_impl("64 -> 48 channels", e, 2, "winograd_4x3");
    conv2d_free(e);
    /* 512 channels: few tiles per weight matrix, oneDNN's direct kernels are faster */
    conv2d *f = NULL;
    conv2d_create(&f, &(conv2d_config){2, 512, 4, 4, 512, 3, 1, 1, 0, 1, CONV2D_ALGO_AUTO, CONV2D_F32});
    for (int p = 0; p < 3; p++) expect_impl("512 channels", f, p, "jit");
    conv2d_free(f);
    conv2d_free(a);
    conv2d_free(b);
    conv2d_free(d);
    algo_vs_direct(3, 16, 16, 16, 16, CONV2D_ALGO_AUTO);
    algo_vs_direct(3, 32, 16, 16, 32, CONV2D_ALGO_AUTO);
    algo_vs_direct(2, 64, 8, 8, 48, CONV2D_ALGO_AUTO);
    algo_vs_direct(2, 128, 4, 4, 128, CONV2D_ALGO_AUTO);
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
    conv2d_config ok = {2, 8, 6, 6, 8, 3, 1, 1, 0, 1, CONV2D_ALGO_DIRECT, CONV2D_F32};
    conv2d_config g = ok;
    g.n = 0; expect_arg_error("n = 0", g);
    g = ok; g.ic = 0; expect_arg_error("ic = 0", g);
    g = ok; g.oc = -1; expect_arg_error("oc < 0", g);
    g = ok; g.k = 9; expect_arg_error("kernel 9 > padded input 8", g);
    g = ok; g.stride = 0; expect_arg_error("stride = 0", g);
    g = ok; g.pad = 3; expect_arg_error("pad >= kernel", g);
    g = ok; g.algo = 7; expect_arg_error("unknown algorithm", g);
    g = ok; g.algo = CONV2D_ALGO_WINOGRAD; g.stride = 2; expect_arg_error("Winograd asked for stride 2", g);
    g = ok; g.algo = CONV2D_ALGO_WINOGRAD; g.ic = 12; expect_arg_error("Winograd asked for 12 input channels", g);

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
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            run_case(&f, cases[i], CONV2D_ALGO_DIRECT);
            run_case(&f, cases[i], CONV2D_ALGO_WINOGRAD);
        }
        fx_free(&f);
    }
    fd_case("blocked ic10 oc6 3x3 s2 p1", (conv2d_config){2, 10, 6, 6, 6, 3, 2, 1, 0, 1, CONV2D_ALGO_DIRECT, CONV2D_F32});
    fd_case("blocked ic9 oc3 1x1 s1", (conv2d_config){2, 9, 4, 4, 3, 1, 1, 0, 0, 1, CONV2D_ALGO_DIRECT, CONV2D_F32});
    fd_case("plain ic3 oc5 3x3 s1 p1", (conv2d_config){2, 3, 5, 5, 5, 3, 1, 1, 1, 1, CONV2D_ALGO_DIRECT, CONV2D_F32});
    /* Winograd shapes in whole channel blocks of this process's layout (B = 8 or 16). */
    const int cb = dnn_cblock();
    if (winograd_supported(cb, cb)) {
        char name[96];
        snprintf(name, sizeof name, "winograd ic%d oc%d 5x6", cb, 2 * cb);
        fd_case(name, (conv2d_config){2, cb, 5, 6, 2 * cb, 3, 1, 1, 0, 1, CONV2D_ALGO_WINOGRAD, CONV2D_F32});
        snprintf(name, sizeof name, "winograd ic%d oc%d 3x3 need_dx 0", 3 * cb, cb);
        fd_case(name, (conv2d_config){3, 3 * cb, 3, 3, cb, 3, 1, 1, 0, 0, CONV2D_ALGO_WINOGRAD, CONV2D_F32});
        /* The CIFAR ResNet shapes, Winograd against oneDNN (both float32). */
        winograd_vs_direct(4, 16, 32, 32, 16);
        winograd_vs_direct(3, 32, 16, 16, 32);
        winograd_vs_direct(5, 64, 8, 8, 64);
        winograd_vs_direct(2, 2 * cb, 9, 7, 5 * cb);
        /* Tile counts leaving every remainder of the 6-tile blocks (1, 9, 15 tiles), and images
         * of one or two pixels. */
        winograd_vs_direct(1, cb, 1, 1, cb);
        winograd_vs_direct(1, 2 * cb, 5, 5, 3 * cb);
        winograd_vs_direct(1, cb, 5, 10, 2 * cb);
        winograd_vs_direct(2, cb, 1, 7, cb);
        winograd_vs_direct(1, 2 * cb, 2, 2, 3 * cb);
        winograd_thread_change();
        auto_choice();
    } else {
        printf("note: no AVX2 + FMA on this CPU, the Winograd kernels are not used or tested\n");
    }
    error_cases();
    return test_summary();
}
