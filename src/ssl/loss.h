/* loss.h - the symmetric InfoNCE loss of NNCLR (paper Algorithm 1; solo-learn nnclr_loss_func).
 *
 * For the two views with predictions p1, p2 and positives a1, a2 (all (n, D), unnormalised):
 *
 *     L = 1/2 CE(norm(a1) norm(p2)^T / tau, arange(n)) + 1/2 CE(norm(a2) norm(p1)^T / tau, arange(n))
 *
 * with CE the mean cross-entropy over rows and norm the row-wise x / max(||x||, 1e-12)
 * (F.normalize). The positives come from the caller: NNCLR uses a_v = NN(norm(z_v)) from the
 * support set (src/ssl/support_set.h; no gradient flows into it), the SimCLR-style baseline uses
 * a_v = z_v and needs the gradient da_v, which then joins the projection's gradient. */
#ifndef NNCLR_SSL_LOSS_H
#define NNCLR_SSL_LOSS_H

#include "nnclr.h"

typedef struct {
    double loss;    /* L above */
    double pos_sim; /* mean cosine similarity of the 2n positive pairs (a1_i, p2_i), (a2_i, p1_i) */
} nnclr_loss_stats;

/* Forward and backward in one call. tau > 0, n >= 1, d >= 1.
 * dp1, dp2: (n, D) OVERWRITTEN with dL/dp1, dL/dp2 (unnormalised p); both NULL = forward only.
 * da1, da2: (n, D) OVERWRITTEN with dL/da1, dL/da2 (unnormalised a), or NULL when a carries no
 * gradient (NNCLR positives). stats: OUT. a1, a2, p1, p2: (n, D).
 * NNCLR_ERR_NUMERIC when the loss is NaN or Inf (gradients are then unspecified). */
nnclr_status nnclr_loss_forward_backward(float *dp1, float *dp2, float *da1, float *da2,
                                         nnclr_loss_stats *stats, const float *a1, const float *a2,
                                         const float *p1, const float *p2, int n, int d, float tau);

#endif
