/* nnclr_step.c - one NNCLR training step, the whole data flow in order:
 *
 *   views -> backbone (both views, batch statistics) -> projector z, predictor p
 *         -> positives (ssl/positive.h): per row, a_v = NN(normalise(z_v)) from the support
 *            set (no gradient) or a_v = z_v (SimCLR, with gradient), as the schedule draws
 *         -> loss L = 1/2 InfoNCE(a1, p2) + 1/2 InfoNCE(a2, p1)
 *         -> backward through heads and backbone into the flat gradient buffer
 *         -> LARS update with the scheduled learning rate
 *         -> push normalise(z1) (and optionally z2) into the support set.
 *
 * The NN lookup uses the support set as it was before this batch is pushed (paper Algorithm 1).
 * A NaN/Inf loss or gradient stops the step before the update: parameters, BN statistics and
 * the support set are left as they were.
 *
 * Data-parallel (R ranks, each with n = B / R rows of the global batch; dist/dist.h): batch
 * norm is synchronised inside backbone and heads; each rank looks up its own queries in its
 * copy of the support set; the positives and predictions of the whole batch are all-gathered
 * and every rank evaluates the loss over the global batch (negatives from all ranks) and keeps
 * the gradient rows of its own slice -- (B, D) matrices, O(B^2 D) work, small next to the
 * backbone -- so no gradient of the loss needs sending; the parameter gradients (each rank's
 * share of the global mean loss) are summed by one all-reduce of the flat buffer; the
 * all-gathered view-1 projections are pushed in global order, so the support sets stay
 * identical on every rank. Top-k sampling draws from a stream keyed by (step, view, global
 * row), so the choice does not depend on R either. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/status.h"
#include "dist/dist.h"
#include "model/nnclr_model.h"
#include "ops/l2norm.h"
#include "ssl/loss.h"
#include "ssl/positive.h"

/* 1 when every value is finite. (A NaN pixel would otherwise vanish in the fused BN + ReLU,
 * which maps NaN to 0, and only show up later as a NaN gradient.) */
static int all_finite(const float *x, size_t n) {
    int bad = 0;
    /* NaN and Inf are the floats whose exponent bits are all set; tested on the bits so the
     * loop vectorises (a view of batch 256 at 3x32x32 is 786k values). */
    #pragma omp parallel for simd reduction(|:bad) schedule(static) if (n >= 65536)
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, sizeof u);
        bad |= (u & 0x7f800000u) == 0x7f800000u;
    }
    return !bad;
}

/* Neighbours of view v for this rank's n queries among the first `searchable` support-set rows
 * (all Q, or the pushed ones of an empty-start set): the nearest row, or one drawn uniformly
 * among the top k with the stream of (seed, step, view, global row). Written to m->pos[v] and
 * m->nn_idx. `sharded`: the top-1 search split over the ranks (then m->g_zn holds the gathered
 * projections of view v). */
static nnclr_status nearest(nnclr_model *m, int v, int searchable, int sharded) {
    const nnclr_config *c = &m->cfg;
    int n = m->n, D = c->proj_dim, k = c->topk;
    int *idx = m->nn_idx + (size_t)v * n;
    const float *entries = support_set_entries(m->queue);
    if (sharded) {
        /* Every rank searches its 1/R of the rows for all N queries; the arg-max all-reduce
         * keeps the best (lowest index on ties, like the unsharded search). */
        const dist *dd = c->dist;
        int N = c->batch, Q = c->queue_size;
        int lo = (int)((int64_t)Q * m->rank / m->world), hi = (int)((int64_t)Q * (m->rank + 1) / m->world);
        float *gz = m->g_zn + (size_t)v * N * D;  /* kept for the push */
        NNCLR_TRY(dist_allgather_f(dd, m->zn[v], gz, (size_t)n * D));
        NNCLR_TRY(support_set_topk_range(m->queue, m->g_idx, m->g_sim, gz, N, 1, lo, hi));
        NNCLR_TRY(dist_allreduce_maxloc(dd, m->g_sim, m->g_idx, (size_t)N));
        for (int j = 0; j < n; j++) {
            idx[j] = m->g_idx[(size_t)m->rank * n + j];
            memcpy(m->pos[v] + (size_t)j * D, entries + (size_t)idx[j] * D, (size_t)D * sizeof(float));
        }
        return NNCLR_OK;
    }
    if (k == 1 && searchable == c->queue_size) return support_set_nearest(m->queue, m->pos[v], idx, m->zn[v], n, 1, NULL);
    if (searchable == c->queue_size) NNCLR_TRY(support_set_topk(m->queue, m->topk_idx, NULL, m->zn[v], n, k));
    else NNCLR_TRY(support_set_topk_range(m->queue, m->topk_idx, NULL, m->zn[v], n, k, 0, searchable));
    for (int j = 0; j < n; j++) {
        if (k == 1) {
            idx[j] = m->topk_idx[j];
        } else {
            rng_state r;
            rng_derive(&r, m->rng.s[0], (uint64_t)m->step * 2 + (uint64_t)v, (uint64_t)m->rank * n + (uint64_t)j);
            idx[j] = m->topk_idx[(size_t)j * k + rng_below(&r, (uint64_t)k)];
        }
        memcpy(m->pos[v] + (size_t)j * D, entries + (size_t)idx[j] * D, (size_t)D * sizeof(float));
    }
    return NNCLR_OK;
}

nnclr_status nnclr_step(nnclr_model *m, const float *view1, const float *view2, const int *labels,
                        nnclr_step_stats *stats) {
    if (!m || !view1 || !view2) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_step: NULL model or view");
    const nnclr_config *c = &m->cfg;
    const dist *dd = c->dist;
    const int n = m->n, D = c->proj_dim, N = c->batch, dist_on = m->world > 1;
    const size_t row0 = (size_t)m->rank * n * D;
    const float *views[2] = {view1, view2};
    size_t view_size = (size_t)n * c->in_channels * c->height * c->width;
    /* Every rank agrees on a bad input, so none is left waiting inside a collective. */
    int bad = 0;
    for (int v = 0; v < 2; v++)
        if (!bad && !all_finite(views[v], view_size)) bad = v + 1;
    NNCLR_TRY(dist_allreduce_max_i(dd, &bad));
    if (bad) return nnclr_fail(NNCLR_ERR_NUMERIC, "view %d contains NaN or Inf%s", bad,
                               dist_on ? " (on some rank)" : "");

    if (!m->prepared) {
        NNCLR_TRY(backbone_prepare(m->backbone, m->params.data));
        m->prepared = 1;
    }
    memcpy(m->buffers_backup, m->buffers.data, m->buffers.total * sizeof(float));
    memset(m->grads, 0, m->params.total * sizeof(float));

    /* Forward: backbone and heads per view (slot v keeps the activations for backward). */
    nnclr_status s = NNCLR_OK;
    for (int v = 0; v < 2 && !s; v++) {
        s = backbone_forward(m->backbone, v, m->feat[v], views[v], 1, m->params.data, m->buffers.data);
        if (!s) s = heads_forward(m->heads, v, m->z[v], m->p[v], m->feat[v], n, 1, m->params.data, m->buffers.data);
    }
    if (s) goto restore;

    /* Positives (this rank's rows): the schedule draws neighbour or own view per global row. */
    const int Q = c->queue_size;
    const int searchable = c->positive == NNCLR_POSITIVE_SELF ? 0
                           : c->support_start_empty ? support_set_fill(m->queue) : Q;
    const int n_nn = positive_choose(c, m->rng.s[0], m->step, searchable, m->use_nn);
    const int self = n_nn < 2 * N;  /* some positives are own views: the loss needs dL/da */
    const int sharded = n_nn > 0 && c->topk == 1 && c->shard_nn_search && dist_on && searchable == Q;
    const float *pos[2];
    for (int v = 0; v < 2; v++) {
        l2norm_forward(m->zn[v], m->znorm, m->z[v], n, D);
        if (n_nn == 0) {
            pos[v] = m->z[v];
            continue;
        }
        if ((s = nearest(m, v, searchable, sharded))) goto restore;
        pos[v] = m->pos[v];
        if (self) {
            const int *use = m->use_nn + (size_t)v * N + (size_t)m->rank * n;
            for (int j = 0; j < n; j++)
                if (!use[j]) memcpy(m->pos[v] + (size_t)j * D, m->z[v] + (size_t)j * D, (size_t)D * sizeof(float));
        }
    }

    /* Loss over the global batch and its gradients w.r.t. p (and z, for SimCLR positives). */
    const float *lpos[2] = {pos[0], pos[1]}, *lp[2] = {m->p[0], m->p[1]};
    float *ldp[2] = {m->dp[0], m->dp[1]}, *lda[2] = {m->dz[0], m->dz[1]};
    if (dist_on) {
        for (int v = 0; v < 2 && !s; v++) {
            s = dist_allgather_f(dd, pos[v], m->g_pos[v], (size_t)n * D);
            if (!s) s = dist_allgather_f(dd, m->p[v], m->g_p[v], (size_t)n * D);
            lpos[v] = m->g_pos[v];
            lp[v] = m->g_p[v];
            ldp[v] = m->g_dp[v];
            lda[v] = m->g_dpos[v];
        }
        if (s) goto restore;
    }
    nnclr_loss_stats ls;
    s = nnclr_loss_forward_backward(ldp[0], ldp[1], self ? lda[0] : NULL, self ? lda[1] : NULL, &ls,
                                    lpos[0], lpos[1], lp[0], lp[1], N, D, (float)c->temperature);
    if (s == NNCLR_ERR_NUMERIC) {
        s = nnclr_fail(NNCLR_ERR_NUMERIC, "loss is %s", isnan(ls.loss) ? "NaN" : "infinite");
        goto restore;
    }
    if (s) goto restore;
    /* This rank's rows of the gradients. */
    const float *dp[2] = {ldp[0] + (dist_on ? row0 : 0), ldp[1] + (dist_on ? row0 : 0)};
    float *dz[2] = {lda[0] + (dist_on ? row0 : 0), lda[1] + (dist_on ? row0 : 0)};
    /* Rows whose positive is a neighbour pass no gradient into z. */
    if (self && n_nn > 0)
        for (int v = 0; v < 2; v++) {
            const int *use = m->use_nn + (size_t)v * N + (size_t)m->rank * n;
            for (int j = 0; j < n; j++)
                if (use[j]) memset(dz[v] + (size_t)j * D, 0, (size_t)D * sizeof(float));
        }

    /* Backward: heads then backbone, per view, into the one gradient buffer. */
    for (int v = 1; v >= 0 && !s; v--) {
        s = heads_backward(m->heads, v, m->dfeat[v], self ? dz[v] : NULL, dp[v], n, m->params.data, m->grads);
        if (!s) s = backbone_backward(m->backbone, v, m->dfeat[v], m->params.data, m->grads);
    }
    if (!s) s = dist_allreduce_sum_f(dd, m->grads, m->params.total);
    if (s) goto restore;

    /* Update. lars_step refuses NaN/Inf gradients before touching anything (the same
     * gradients on every rank, so every rank refuses together). */
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
    if (n_nn > 0 && labels && qlabels) {
        double hit = 0;
        for (int v = 0; v < 2; v++)
            for (int i = 0; i < n; i++) hit += qlabels[m->nn_idx[(size_t)v * n + i]] == labels[i];
        NNCLR_TRY(dist_allreduce_sum_d(dd, &hit, 1));
        nn_acc = hit / (2.0 * N);
    }
    /* Push the whole batch in global order (gathered when distributed). */
    const int *push_labels = labels;
    if (dist_on && labels) {
        NNCLR_TRY(dist_allgather_i(dd, labels, m->g_labels, (size_t)n));
        push_labels = m->g_labels;
    }
    /* The sharded search has gathered both views' projections already. */
    const int gathered = sharded;
    for (int v = 0; v < (c->push_both_views ? 2 : 1); v++) {
        const float *zn = m->zn[v];
        if (dist_on) {
            float *gz = m->g_zn + (size_t)v * N * D;
            if (!gathered) NNCLR_TRY(dist_allgather_f(dd, m->zn[v], gz, (size_t)n * D));
            zn = gz;
        }
        NNCLR_TRY(support_set_push(m->queue, zn, push_labels, N));
    }
    m->step++;

    if (stats) {
        stats->loss = ls.loss;
        stats->lr = lr;
        stats->nn_accuracy = nn_acc;
        stats->pos_similarity = ls.pos_sim;
        stats->step = m->step;
        stats->nn_fraction = (double)n_nn / (2.0 * N);
    }
    return NNCLR_OK;

restore:
    memcpy(m->buffers.data, m->buffers_backup, m->buffers.total * sizeof(float));
    return s;
}
