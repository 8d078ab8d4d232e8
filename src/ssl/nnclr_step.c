/* nnclr_step.c - one NNCLR training step, the whole data flow in order:
 *
 *   views -> backbone (both views, batch statistics) -> projector z, predictor p
 *         -> support set: positive a_v = NN(normalise(z_v)) (no gradient; SimCLR: a_v = z_v)
 *         -> loss L = 1/2 InfoNCE(a1, p2) + 1/2 InfoNCE(a2, p1)
 *         -> backward through heads and backbone into the flat gradient buffer
 *         -> LARS update with the scheduled learning rate
 *         -> push normalise(z1) (and optionally z2) into the support set.
 *
 * The NN lookup uses the support set as it was before this batch is pushed (paper Algorithm 1).
 * A NaN/Inf loss or gradient stops the step before the update: parameters, BN statistics and
 * the support set are left as they were. */
#include <math.h>
#include <string.h>

#include "core/status.h"
#include "model/nnclr_model.h"
#include "ops/l2norm.h"
#include "ssl/loss.h"

/* 1 when every value is finite. (A NaN pixel would otherwise vanish in the fused BN + ReLU,
 * which maps NaN to 0, and only show up later as a NaN gradient.) */
static int all_finite(const float *x, size_t n) {
    int ok = 1;
    for (size_t i = 0; i < n; i++) ok &= isfinite(x[i]) != 0;
    return ok;
}

nnclr_status nnclr_step(nnclr_model *m, const float *view1, const float *view2, const int *labels,
                        nnclr_step_stats *stats) {
    if (!m || !view1 || !view2) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_step: NULL model or view");
    const nnclr_config *c = &m->cfg;
    int n = c->batch, D = c->proj_dim;
    int self = c->positive == NNCLR_POSITIVE_SELF;
    const float *views[2] = {view1, view2};
    size_t view_size = (size_t)n * c->in_channels * c->height * c->width;
    for (int v = 0; v < 2; v++)
        if (!all_finite(views[v], view_size))
            return nnclr_fail(NNCLR_ERR_NUMERIC, "view %d contains NaN or Inf", v + 1);

    if (!m->prepared) {
        NNCLR_TRY(resnet_prepare(m->backbone, m->params.data));
        m->prepared = 1;
    }
    memcpy(m->buffers_backup, m->buffers.data, m->buffers.total * sizeof(float));
    memset(m->grads, 0, m->params.total * sizeof(float));

    /* Forward: backbone and heads per view (slot v keeps the activations for backward). */
    nnclr_status s = NNCLR_OK;
    for (int v = 0; v < 2 && !s; v++) {
        s = resnet_forward(m->backbone, v, m->feat[v], views[v], 1, m->params.data, m->buffers.data);
        if (!s) s = heads_forward(m->heads, v, m->z[v], m->p[v], m->feat[v], n, 1, m->params.data, m->buffers.data);
    }
    if (s) goto restore;

    /* Positives. */
    const float *pos[2];
    for (int v = 0; v < 2; v++) {
        l2norm_forward(m->zn[v], m->znorm, m->z[v], n, D);
        if (self) {
            pos[v] = m->z[v];
        } else {
            s = support_set_nearest(m->queue, m->pos[v], m->nn_idx + (size_t)v * n, m->zn[v], n, c->topk, &m->rng);
            if (s) goto restore;
            pos[v] = m->pos[v];
        }
    }

    /* Loss and its gradients w.r.t. p (and z, for SimCLR positives). */
    nnclr_loss_stats ls;
    s = nnclr_loss_forward_backward(m->dp[0], m->dp[1], self ? m->dz[0] : NULL, self ? m->dz[1] : NULL, &ls,
                                    pos[0], pos[1], m->p[0], m->p[1], n, D, (float)c->temperature);
    if (s == NNCLR_ERR_NUMERIC) {
        s = nnclr_fail(NNCLR_ERR_NUMERIC, "loss is %s", isnan(ls.loss) ? "NaN" : "infinite");
        goto restore;
    }
    if (s) goto restore;

    /* Backward: heads then backbone, per view, into the one gradient buffer. */
    for (int v = 1; v >= 0 && !s; v--) {
        s = heads_backward(m->heads, v, m->dfeat[v], self ? m->dz[v] : NULL, m->dp[v], n, m->params.data, m->grads);
        if (!s) s = resnet_backward(m->backbone, v, m->dfeat[v], m->params.data, m->grads);
    }
    if (s) goto restore;

    /* Update. lars_step refuses NaN/Inf gradients before touching anything. */
    double lr = lr_schedule_at(&m->sched, (long)m->step);
    s = lars_step(&m->opt, &m->params, m->grads, (float)lr);
    if (s == NNCLR_ERR_NUMERIC) {
        s = nnclr_fail(NNCLR_ERR_NUMERIC, "gradient is NaN or infinite (loss %.6g)", ls.loss);
        goto restore;
    }
    if (s) goto restore;
    m->prepared = 0;

    /* Diagnostic: how often the chosen neighbour has the query's label (before the push). */
    double nn_acc = -1;
    const int *qlabels = support_set_labels(m->queue);
    if (!self && labels && qlabels) {
        int hit = 0;
        for (int v = 0; v < 2; v++)
            for (int i = 0; i < n; i++) hit += qlabels[m->nn_idx[(size_t)v * n + i]] == labels[i];
        nn_acc = hit / (2.0 * n);
    }
    NNCLR_TRY(support_set_push(m->queue, m->zn[0], labels, n));
    if (c->push_both_views) NNCLR_TRY(support_set_push(m->queue, m->zn[1], labels, n));
    m->step++;

    if (stats) {
        stats->loss = ls.loss;
        stats->lr = lr;
        stats->nn_accuracy = nn_acc;
        stats->pos_similarity = ls.pos_sim;
        stats->step = m->step;
    }
    return NNCLR_OK;

restore:
    memcpy(m->buffers.data, m->buffers_backup, m->buffers.total * sizeof(float));
    return s;
}
