/* loss.c - symmetric NNCLR InfoNCE loss, forward and backward. See loss.h.
 *
 * Per direction (positives A, predictions P, both normalised rows):
 *     logits = A P^T / tau                       (n, n), OpenBLAS sgemm
 *     ce_i   = logsumexp_j logits_ij - logits_ii (max-subtracted, accumulated in double)
 *     G      = w (softmax(logits) - I)           w = 1/2 (symmetric) * 1/n (mean over rows)
 *     dA     = G P / tau,  dP = G^T A / tau
 * and the row normalisation's backward maps dA, dP to the unnormalised inputs. The
 * normalisation is private here (double norms), matching F.normalize with eps = 1e-12. */
#include "ssl/loss.h"

#include "ops/gemm.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/status.h"
#include "ops/softmax_xent.h"

#define NORM_EPS 1e-12

/* y: (n, d) = x / max(||x||, eps) row-wise; norms: (n) the clamped norms. */
static void rows_normalize(float *y, double *norms, const float *x, int n, int d) {
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d;
        double ss = 0;
        for (int k = 0; k < d; k++) ss += (double)xi[k] * xi[k];
        double nrm = sqrt(ss);
        if (!(nrm > NORM_EPS)) nrm = isnan(nrm) ? nrm : NORM_EPS;
        norms[i] = nrm;
        for (int k = 0; k < d; k++) y[(size_t)i * d + k] = (float)(xi[k] / nrm);
    }
}

/* dx: (n, d) OVERWRITTEN with the gradient w.r.t. x of y = x / max(||x||, eps), given dy and y.
 * Unclamped rows: dx = (dy - y (y . dy)) / ||x||; clamped rows: dx = dy / eps. */
static void rows_normalize_backward(float *dx, const float *dy, const float *y, const double *norms,
                                    int n, int d) {
    for (int i = 0; i < n; i++) {
        const float *dyi = dy + (size_t)i * d, *yi = y + (size_t)i * d;
        float *dxi = dx + (size_t)i * d;
        double nrm = norms[i];
        if (nrm <= NORM_EPS) {
            for (int k = 0; k < d; k++) dxi[k] = (float)(dyi[k] / NORM_EPS);
            continue;
        }
        double dot = 0;
        for (int k = 0; k < d; k++) dot += (double)yi[k] * dyi[k];
        for (int k = 0; k < d; k++) dxi[k] = (float)((dyi[k] - yi[k] * dot) / nrm);
    }
}

/* One direction: adds its half of the loss and positive similarity to *loss, *pos, and when
 * g is wanted leaves dA_hat, dP_hat (gradients w.r.t. the normalised rows) in dah, dph.
 * logits: (n, n) scratch. */
static void direction(double *loss, double *pos, float *dah, float *dph, float *logits,
                      const float *ah, const float *ph, int n, int d, float tau) {
    float inv_tau = 1.0f / tau;
    gemm(0, 1, n, n, d, inv_tau, ah, d, ph, d, 0.0f, logits, n);
    double w = 0.5 / n, lsum = 0, psum = 0;
    for (int i = 0; i < n; i++) {
        float *li = logits + (size_t)i * n;
        psum += (double)li[i] * tau;
        lsum += softmax_xent_row(li, n, i, w, dah ? li : NULL);
    }
    *loss += 0.5 * lsum / n;
    *pos += 0.5 * psum / n;
    if (!dah) return;
    /* logits now holds G. */
    gemm(0, 0, n, d, n, inv_tau, logits, n, ph, d, 0.0f, dah, d);
    gemm(1, 0, n, d, n, inv_tau, logits, n, ah, d, 0.0f, dph, d);
}

nnclr_status nnclr_loss_forward_backward(float *dp1, float *dp2, float *da1, float *da2,
                                         nnclr_loss_stats *stats, const float *a1, const float *a2,
                                         const float *p1, const float *p2, int n, int d, float tau) {
    if (!stats || !a1 || !a2 || !p1 || !p2)
        return nnclr_fail(NNCLR_ERR_ARG, "nnclr loss: NULL input");
    if (n < 1 || d < 1) return nnclr_fail(NNCLR_ERR_ARG, "nnclr loss: shape (%d, %d) must be >= 1", n, d);
    if (!(tau > 0) || !isfinite(tau))
        return nnclr_fail(NNCLR_ERR_ARG, "nnclr loss: temperature %g must be > 0", (double)tau);
    if ((dp1 == NULL) != (dp2 == NULL))
        return nnclr_fail(NNCLR_ERR_ARG, "nnclr loss: pass both dp1 and dp2 or neither");
    if (!dp1 && (da1 || da2))
        return nnclr_fail(NNCLR_ERR_ARG, "nnclr loss: da needs dp (backward pass)");
    int backward = dp1 != NULL;
    size_t nd = (size_t)n * d;
    /* Workspace: 4 normalised inputs, 2 gradient rows w.r.t. normalised inputs, logits, norms. */
    size_t floats = 4 * nd + (backward ? 2 * nd : 0) + (size_t)n * n;
    float *ws = nnclr_malloc(floats * sizeof(float));
    double *norms = nnclr_malloc(4 * (size_t)n * sizeof(double));
    if (!ws || !norms) {
        free(ws);
        free(norms);
        return NNCLR_ERR_NOMEM;
    }
    float *ah1 = ws, *ah2 = ah1 + nd, *ph1 = ah2 + nd, *ph2 = ph1 + nd;
    float *logits = ph2 + nd;
    float *dah = backward ? logits + (size_t)n * n : NULL, *dph = backward ? dah + nd : NULL;
    double *na1 = norms, *na2 = na1 + n, *np1 = na2 + n, *np2 = np1 + n;
    rows_normalize(ah1, na1, a1, n, d);
    rows_normalize(ah2, na2, a2, n, d);
    rows_normalize(ph1, np1, p1, n, d);
    rows_normalize(ph2, np2, p2, n, d);

    double loss = 0, pos = 0;
    /* Direction 1: positives a1 against predictions p2. */
    direction(&loss, &pos, dah, dph, logits, ah1, ph2, n, d, tau);
    if (backward) {
        rows_normalize_backward(dp2, dph, ph2, np2, n, d);
        if (da1) rows_normalize_backward(da1, dah, ah1, na1, n, d);
    }
    /* Direction 2: positives a2 against predictions p1. */
    direction(&loss, &pos, dah, dph, logits, ah2, ph1, n, d, tau);
    if (backward) {
        rows_normalize_backward(dp1, dph, ph1, np1, n, d);
        if (da2) rows_normalize_backward(da2, dah, ah2, na2, n, d);
    }
    free(ws);
    free(norms);
    stats->loss = loss;
    stats->pos_sim = pos;
    if (!isfinite(loss)) return nnclr_fail(NNCLR_ERR_NUMERIC, "nnclr loss is %g", loss);
    return NNCLR_OK;
}
