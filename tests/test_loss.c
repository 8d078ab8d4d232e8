/* test_loss.c - the symmetric NNCLR InfoNCE loss: against PyTorch (tests/gen_ssl.py ->
 * fixtures/ssl_loss.bin; float64 references) for tau 0.1 and 0.5 in both modes ("self": SimCLR
 * positives with gradients into a; "nn": positives looked up in a support set), against central
 * finite differences of an independent float64 implementation, and the error paths. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/status.h"
#include "ssl/loss.h"
#include "ssl/support_set.h"
#include "testlib.h"

/* Tolerances vs the float64 PyTorch reference: float logits and sgemm give ~1e-6 relative. */
#define LOSS_ATOL 1e-5
#define LOSS_RTOL 1e-5
#define GRAD_ATOL 1e-6
#define GRAD_RTOL 1e-4

/* Independent float64 reference of one direction's half loss. */
static double ref_direction(const double *a, const double *p, int n, int d, double tau) {
    double *an = malloc((size_t)n * d * sizeof(double)), *pn = malloc((size_t)n * d * sizeof(double));
    for (int i = 0; i < n; i++) {
        double sa = 0, sp = 0;
        for (int k = 0; k < d; k++) {
            sa += a[i * d + k] * a[i * d + k];
            sp += p[i * d + k] * p[i * d + k];
        }
        for (int k = 0; k < d; k++) {
            an[i * d + k] = a[i * d + k] / fmax(sqrt(sa), 1e-12);
            pn[i * d + k] = p[i * d + k] / fmax(sqrt(sp), 1e-12);
        }
    }
    double total = 0;
    for (int i = 0; i < n; i++) {
        double m = -INFINITY, s = 0, lii = 0;
        double *l = malloc((size_t)n * sizeof(double));
        for (int j = 0; j < n; j++) {
            double dot = 0;
            for (int k = 0; k < d; k++) dot += an[i * d + k] * pn[j * d + k];
            l[j] = dot / tau;
            if (l[j] > m) m = l[j];
        }
        for (int j = 0; j < n; j++) s += exp(l[j] - m);
        lii = l[i];
        total += m + log(s) - lii;
        free(l);
    }
    free(an);
    free(pn);
    return 0.5 * total / n;
}

static double ref_loss(const double *x, int n, int d, double tau) {
    const double *a1 = x, *a2 = x + n * d, *p1 = x + 2 * n * d, *p2 = x + 3 * n * d;
    return ref_direction(a1, p2, n, d, tau) + ref_direction(a2, p1, n, d, tau);
}

static void test_fixture(void) {
    fx_file f;
    if (fx_load(&f, "fixtures/ssl_loss.bin")) return;
    const fx_tensor *z1 = fx_get(&f, "z1"), *z2 = fx_get(&f, "z2"), *p1 = fx_get(&f, "p1"),
                    *p2 = fx_get(&f, "p2"), *queue = fx_get(&f, "queue"), *i1 = fx_get(&f, "nn_idx1"),
                    *i2 = fx_get(&f, "nn_idx2");
    if (!z1 || !z2 || !p1 || !p2 || !queue || !i1 || !i2) return;
    int n = z1->dims[0], d = z1->dims[1], q = queue->dims[0];
    size_t nd = (size_t)n * d;
    float *g[4], *nn1 = malloc(nd * sizeof(float)), *nn2 = malloc(nd * sizeof(float));
    for (int i = 0; i < 4; i++) g[i] = malloc(nd * sizeof(float));

    /* NN positives through the support set: normalise z, look up, compare indices. */
    support_set *s;
    support_set_create(&s, q, d, 0, 1);
    support_set_restore(s, queue->data, NULL, 0, q);
    float *zn = malloc(nd * sizeof(float));
    int *idx = malloc((size_t)n * sizeof(int));
    float *fidx = malloc((size_t)n * sizeof(float));
    for (int v = 0; v < 2; v++) {
        const fx_tensor *z = v ? z2 : z1;
        for (int i = 0; i < n; i++) {
            double ss = 0;
            for (int k = 0; k < d; k++) ss += (double)z->data[i * d + k] * z->data[i * d + k];
            for (int k = 0; k < d; k++) zn[i * d + k] = (float)(z->data[i * d + k] / sqrt(ss));
        }
        support_set_nearest(s, v ? nn2 : nn1, idx, zn, n, 1, NULL);
        for (int i = 0; i < n; i++) fidx[i] = (float)idx[i];
        check_close(v ? "nn mode: NN(z2) indices" : "nn mode: NN(z1) indices", fidx, (v ? i2 : i1)->data, (size_t)n, 0, 0);
    }

    const char *tags[2] = {"t01", "t05"};
    float taus[2] = {0.1f, 0.5f};
    char name[64], what[96];
    for (int t = 0; t < 2; t++) {
        /* self mode: a = z, gradients into a and p. */
        nnclr_loss_stats st;
        nnclr_status rc = nnclr_loss_forward_backward(g[0], g[1], g[2], g[3], &st, z1->data, z2->data,
                                                      p1->data, p2->data, n, d, taus[t]);
        snprintf(what, sizeof what, "self tau %.1f: status ok", taus[t]);
        check_true(what, rc == NNCLR_OK);
        float loss = (float)st.loss, pos = (float)st.pos_sim;
        snprintf(name, sizeof name, "self_%s_loss", tags[t]);
        snprintf(what, sizeof what, "self tau %.1f: loss", taus[t]);
        const fx_tensor *r = fx_get(&f, name);
        if (r) check_close(what, &loss, r->data, 1, LOSS_ATOL, LOSS_RTOL);
        snprintf(name, sizeof name, "self_%s_pos", tags[t]);
        snprintf(what, sizeof what, "self tau %.1f: mean positive cosine", taus[t]);
        if ((r = fx_get(&f, name))) check_close(what, &pos, r->data, 1, 1e-6, 1e-5);
        const char *gn[4] = {"dp1", "dp2", "da1", "da2"};
        for (int k = 0; k < 4; k++) {
            snprintf(name, sizeof name, "self_%s_%s", tags[t], gn[k]);
            snprintf(what, sizeof what, "self tau %.1f: %s", taus[t], gn[k]);
            if ((r = fx_get(&f, name))) check_close(what, g[k], r->data, nd, GRAD_ATOL, GRAD_RTOL);
        }
        /* nn mode: a = NN(norm(z)), no gradient into a. */
        rc = nnclr_loss_forward_backward(g[0], g[1], NULL, NULL, &st, nn1, nn2, p1->data, p2->data, n,
                                         d, taus[t]);
        snprintf(what, sizeof what, "nn tau %.1f: status ok", taus[t]);
        check_true(what, rc == NNCLR_OK);
        loss = (float)st.loss;
        pos = (float)st.pos_sim;
        snprintf(name, sizeof name, "nn_%s_loss", tags[t]);
        snprintf(what, sizeof what, "nn tau %.1f: loss", taus[t]);
        if ((r = fx_get(&f, name))) check_close(what, &loss, r->data, 1, LOSS_ATOL, LOSS_RTOL);
        snprintf(name, sizeof name, "nn_%s_pos", tags[t]);
        snprintf(what, sizeof what, "nn tau %.1f: mean positive cosine", taus[t]);
        if ((r = fx_get(&f, name))) check_close(what, &pos, r->data, 1, 1e-6, 1e-5);
        for (int k = 0; k < 2; k++) {
            snprintf(name, sizeof name, "nn_%s_%s", tags[t], gn[k]);
            snprintf(what, sizeof what, "nn tau %.1f: %s", taus[t], gn[k]);
            if ((r = fx_get(&f, name))) check_close(what, g[k], r->data, nd, GRAD_ATOL, GRAD_RTOL);
        }
        /* Forward only gives the same loss. */
        nnclr_loss_stats fo;
        rc = nnclr_loss_forward_backward(NULL, NULL, NULL, NULL, &fo, nn1, nn2, p1->data, p2->data, n, d, taus[t]);
        snprintf(what, sizeof what, "nn tau %.1f: forward-only loss identical", taus[t]);
        check_true(what, rc == NNCLR_OK && fo.loss == st.loss && fo.pos_sim == st.pos_sim);
    }
    for (int i = 0; i < 4; i++) free(g[i]);
    free(nn1);
    free(nn2);
    free(zn);
    free(idx);
    free(fidx);
    support_set_free(s);
    fx_free(&f);
}

/* Gradients w.r.t. a and p against central differences of the float64 reference
 * (|analytic - numeric| <= 1e-6 + 1e-4 |numeric|). */
static void test_finite_differences(int n, int d, float tau) {
    int m = 4 * n * d;
    float *x = malloc((size_t)m * sizeof(float));
    fill_uniform(x, (size_t)m, (unsigned)(n * 100 + d));
    for (int i = 0; i < m; i++) x[i] *= 1.0f + (float)(i % 7) * 0.3f; /* uneven row norms */
    float *g = malloc((size_t)m * sizeof(float)), *num = malloc((size_t)m * sizeof(float));
    int nd = n * d;
    nnclr_loss_stats st;
    /* g layout = x layout: a1, a2, p1, p2. */
    nnclr_status rc = nnclr_loss_forward_backward(g + 2 * nd, g + 3 * nd, g, g + nd, &st, x, x + nd,
                                                  x + 2 * nd, x + 3 * nd, n, d, tau);
    double *xd = calloc((size_t)m, sizeof(double));
    for (int i = 0; i < m; i++) xd[i] = x[i];
    double l0 = ref_loss(xd, n, d, tau);
    for (int i = 0; i < m; i++) {
        double h = 1e-5 * fmax(1.0, fabs(xd[i])), keep = xd[i];
        xd[i] = keep + h;
        double lp = ref_loss(xd, n, d, tau);
        xd[i] = keep - h;
        double lm = ref_loss(xd, n, d, tau);
        xd[i] = keep;
        num[i] = (float)((lp - lm) / (2 * h));
    }
    char what[96];
    float lf = (float)st.loss, lr = (float)l0;
    snprintf(what, sizeof what, "fd n=%d d=%d tau %.2f: status ok", n, d, tau);
    check_true(what, rc == NNCLR_OK);
    snprintf(what, sizeof what, "fd n=%d d=%d tau %.2f: loss vs float64 reference", n, d, tau);
    check_close(what, &lf, &lr, 1, 1e-5, 1e-5);
    snprintf(what, sizeof what, "fd n=%d d=%d tau %.2f: da1, da2", n, d, tau);
    check_close(what, g, num, 2 * (size_t)nd, 1e-6, 1e-4);
    snprintf(what, sizeof what, "fd n=%d d=%d tau %.2f: dp1, dp2", n, d, tau);
    check_close(what, g + 2 * nd, num + 2 * nd, 2 * (size_t)nd, 1e-6, 1e-4);
    free(x);
    free(g);
    free(num);
    free(xd);
}

static void test_errors(void) {
    float a[6] = {1, 0, 0, 1, 1, 1}, b[6] = {0, 1, 1, 0, 1, 2}, g[6], h[6];
    nnclr_loss_stats st;
    check_true("errors: tau = 0 rejected",
               nnclr_loss_forward_backward(g, h, NULL, NULL, &st, a, b, a, b, 3, 2, 0.0f) == NNCLR_ERR_ARG);
    check_true("errors: tau < 0 rejected",
               nnclr_loss_forward_backward(g, h, NULL, NULL, &st, a, b, a, b, 3, 2, -0.1f) == NNCLR_ERR_ARG);
    check_true("errors: tau NaN rejected",
               nnclr_loss_forward_backward(g, h, NULL, NULL, &st, a, b, a, b, 3, 2, NAN) == NNCLR_ERR_ARG);
    check_true("errors: n = 0 rejected",
               nnclr_loss_forward_backward(g, h, NULL, NULL, &st, a, b, a, b, 0, 2, 0.1f) == NNCLR_ERR_ARG);
    check_true("errors: only one of dp1/dp2 rejected",
               nnclr_loss_forward_backward(g, NULL, NULL, NULL, &st, a, b, a, b, 3, 2, 0.1f) == NNCLR_ERR_ARG);
    check_true("valid small case ok", nnclr_loss_forward_backward(g, h, NULL, NULL, &st, a, b, a, b, 3, 2, 0.1f) == NNCLR_OK &&
                                          isfinite(st.loss) && st.loss > 0);
    float c[6];
    memcpy(c, b, sizeof c);
    c[3] = NAN;
    nnclr_status rc = nnclr_loss_forward_backward(g, h, NULL, NULL, &st, a, b, a, c, 3, 2, 0.1f);
    check_true("errors: NaN in p -> NNCLR_ERR_NUMERIC", rc == NNCLR_ERR_NUMERIC);
    rc = nnclr_loss_forward_backward(g, h, NULL, NULL, &st, c, b, a, b, 3, 2, 0.1f);
    check_true("errors: NaN in a -> NNCLR_ERR_NUMERIC", rc == NNCLR_ERR_NUMERIC);
    c[3] = INFINITY;
    rc = nnclr_loss_forward_backward(g, h, NULL, NULL, &st, a, b, a, c, 3, 2, 0.1f);
    check_true("errors: Inf in p -> NNCLR_ERR_NUMERIC", rc == NNCLR_ERR_NUMERIC);
    /* A perfectly separated batch at small tau: loss ~ 0, still finite (max subtraction). */
    float e[4] = {1, 0, 0, 1};
    rc = nnclr_loss_forward_backward(g, h, NULL, NULL, &st, e, e, e, e, 2, 2, 1e-3f);
    check_true("tau 1e-3, separated: finite loss near 0", rc == NNCLR_OK && st.loss >= 0 && st.loss < 1e-6);
    float e2[4] = {0, 1, 1, 0};
    rc = nnclr_loss_forward_backward(g, h, NULL, NULL, &st, e, e, e2, e2, 2, 2, 1e-3f);
    check_true("tau 1e-3, swapped: finite loss ~ 1000", rc == NNCLR_OK && fabs(st.loss - 1000) < 0.1);
}

int main(void) {
    test_fixture();
    test_finite_differences(6, 5, 0.1f);
    test_finite_differences(9, 4, 0.5f);
    test_finite_differences(1, 3, 0.2f);
    test_errors();
    return test_summary();
}
