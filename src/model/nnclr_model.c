/* nnclr_model.c - creating the model (backbone + heads + support set + flat buffers) and
 * running it in eval mode for features and projections. See nnclr_model.h; the training step
 * is in ssl/nnclr_step.c. */
#include "model/nnclr_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "dist/dist.h"
#include "ops/l2norm.h"
#include "ssl/positive.h"

void nnclr_config_default(nnclr_config *c) {
    memset(c, 0, sizeof *c);
    c->arch = "resnet50";
    c->cifar_stem = 0;
    c->in_channels = 3;
    c->height = c->width = 224;
    c->batch = 256;
    c->proj_hidden = 2048;
    c->proj_dim = 256;
    c->pred_hidden = 4096;
    c->use_predictor = 1;
    c->positive = NNCLR_POSITIVE_NN;
    c->queue_size = 98304;
    c->topk = 1;
    c->push_both_views = 0;
    c->temperature = 0.1;
    c->optimizer = NNCLR_OPT_LARS;
    c->base_lr = 0.3;
    c->weight_decay = 1e-6;
    c->momentum = 0.9;
    c->lars_eta = 0.001;
    c->warmup_steps = 0;
    c->total_steps = 1;
    c->seed = 0;
}

static nnclr_status check_config(const nnclr_config *c) {
    if (c->batch < 2) return nnclr_fail(NNCLR_ERR_ARG, "batch must be >= 2 (contrastive negatives), got %d", c->batch);
    if (c->proj_hidden < 1 || c->proj_dim < 1 || (c->use_predictor && c->pred_hidden < 1))
        return nnclr_fail(NNCLR_ERR_ARG, "head dimensions must be >= 1");
    if (c->positive == NNCLR_POSITIVE_NN && c->queue_size < c->batch)
        return nnclr_fail(NNCLR_ERR_ARG, "support set size %d is smaller than the batch %d", c->queue_size, c->batch);
    if (c->queue_size < 1) return nnclr_fail(NNCLR_ERR_ARG, "support set size must be >= 1, got %d", c->queue_size);
    if (c->topk < 1 || c->topk > c->queue_size)
        return nnclr_fail(NNCLR_ERR_ARG, "top-k %d must be in [1, support set size %d]", c->topk, c->queue_size);
    if (!(c->temperature > 0) || !isfinite(c->temperature))
        return nnclr_fail(NNCLR_ERR_ARG, "temperature must be > 0, got %g", c->temperature);
    if (!(c->base_lr >= 0) || !isfinite(c->base_lr)) return nnclr_fail(NNCLR_ERR_ARG, "learning rate must be >= 0");
    if (!(c->weight_decay >= 0)) return nnclr_fail(NNCLR_ERR_ARG, "weight decay must be >= 0");
    if (!(c->momentum >= 0 && c->momentum < 1)) return nnclr_fail(NNCLR_ERR_ARG, "momentum must be in [0, 1)");
    if (c->total_steps < 1 || c->warmup_steps < 0 || c->warmup_steps > c->total_steps)
        return nnclr_fail(NNCLR_ERR_ARG, "total steps must be >= 1 and warm-up in [0, total steps]");
    NNCLR_TRY(positive_check_config(c));
    int w = dist_world(c->dist);
    if (c->shard_nn_search && c->topk != 1)
        return nnclr_fail(NNCLR_ERR_ARG, "the sharded nearest-neighbour search supports top-1 only, not top-%d", c->topk);
    if (c->shard_nn_search && c->queue_size < w)
        return nnclr_fail(NNCLR_ERR_ARG, "support set of %d rows cannot be sharded over %d processes", c->queue_size, w);
    if (w > 1 && (c->batch % w != 0 || c->batch / w < 2))
        return nnclr_fail(NNCLR_ERR_ARG, "batch %d must be a multiple of the %d processes with at least 2 "
                          "rows each", c->batch, w);
    return NNCLR_OK;
}

nnclr_status nnclr_model_create(nnclr_model **out, const nnclr_config *cfg) {
    if (out) *out = NULL;
    if (!out || !cfg) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_model_create: NULL %s", out ? "config" : "output pointer");
    if (!cfg->arch) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_model_create: config has no arch");
    if (cfg->in_channels < 1 || cfg->height < 1 || cfg->width < 1)
        return nnclr_fail(NNCLR_ERR_ARG, "nnclr_model_create: input shape %dx%dx%d must be positive", cfg->in_channels,
                          cfg->height, cfg->width);
    NNCLR_TRY(check_config(cfg));
    nnclr_model *m = nnclr_calloc(1, sizeof *m);
    if (!m) return NNCLR_ERR_NOMEM;
    m->cfg = *cfg;
    snprintf(m->arch, sizeof m->arch, "%s", cfg->arch ? cfg->arch : "");
    m->cfg.arch = m->arch;
    tensor_table_init(&m->params);
    tensor_table_init(&m->buffers);
    nnclr_status s;
    m->world = dist_world(cfg->dist);
    m->rank = dist_rank(cfg->dist);
    int n = cfg->batch / m->world, D = cfg->proj_dim;
    m->n = n;
    backbone_config bc = {cfg->arch, cfg->cifar_stem, cfg->in_channels, cfg->height, cfg->width, n, 2, cfg->dist};
    if ((s = backbone_create(&m->backbone, &bc, &m->params, &m->buffers))) goto fail;
    m->feat_dim = backbone_feature_dim(m->backbone);
    heads_config hc = {m->feat_dim, cfg->proj_hidden, cfg->proj_dim, cfg->pred_hidden, cfg->use_predictor,
                       cfg->dist};
    if ((s = heads_create(&m->heads, &hc, n, 2, &m->params, &m->buffers))) goto fail;
    if ((s = tensor_table_alloc(&m->params)) || (s = tensor_table_alloc(&m->buffers))) goto fail;
    m->grads = nnclr_calloc(m->params.total, sizeof(float));
    m->buffers_backup = nnclr_calloc(m->buffers.total ? m->buffers.total : 1, sizeof(float));
    if (!m->grads || !m->buffers_backup) { s = NNCLR_ERR_NOMEM; goto fail; }
    lars_config oc = lars_config_default();
    oc.kind = cfg->optimizer == NNCLR_OPT_SGD ? OPTIM_SGD : OPTIM_LARS;
    oc.momentum = (float)cfg->momentum;
    oc.weight_decay = (float)cfg->weight_decay;
    oc.eta = (float)cfg->lars_eta;
    if ((s = lars_init(&m->opt, &oc, &m->params))) goto fail;
    if ((s = lr_schedule_init(&m->sched, cfg->base_lr, cfg->batch, (long)cfg->warmup_steps, (long)cfg->total_steps)))
        goto fail;

    /* Initialisation: one seeded stream for weights, another for the queue and sampling. */
    rng_state init;
    rng_derive(&init, cfg->seed, RNG_STREAM_MODEL, 0);
    backbone_init(m->backbone, m->params.data, m->buffers.data, &init);
    heads_init(m->heads, &m->params, &m->buffers, &init);
    rng_derive(&m->rng, cfg->seed, RNG_STREAM_MODEL, 1);
    if ((s = support_set_create(&m->queue, cfg->queue_size, D, 1, cfg->seed ^ (uint64_t)RNG_STREAM_QUEUE))) goto fail;

    size_t nF = (size_t)n * m->feat_dim, nD = (size_t)n * D;
    for (int v = 0; v < 2; v++) {
        m->feat[v] = nnclr_malloc(nF * sizeof(float));
        m->dfeat[v] = nnclr_malloc(nF * sizeof(float));
        m->z[v] = nnclr_malloc(nD * sizeof(float));
        m->p[v] = nnclr_malloc(nD * sizeof(float));
        m->zn[v] = nnclr_malloc(nD * sizeof(float));
        m->pos[v] = nnclr_malloc(nD * sizeof(float));
        m->dz[v] = nnclr_malloc(nD * sizeof(float));
        m->dp[v] = nnclr_malloc(nD * sizeof(float));
        if (!m->feat[v] || !m->dfeat[v] || !m->z[v] || !m->p[v] || !m->zn[v] || !m->pos[v] || !m->dz[v] ||
            !m->dp[v]) { s = NNCLR_ERR_NOMEM; goto fail; }
    }
    m->nn_idx = nnclr_malloc((size_t)2 * n * sizeof(int));
    m->use_nn = nnclr_malloc((size_t)2 * cfg->batch * sizeof(int));
    if (!m->use_nn) { s = NNCLR_ERR_NOMEM; goto fail; }
    m->topk_idx = nnclr_malloc((size_t)n * cfg->topk * sizeof(int));
    if (!m->topk_idx) { s = NNCLR_ERR_NOMEM; goto fail; }
    if (m->world > 1) {
        size_t ND = (size_t)cfg->batch * D;
        for (int v = 0; v < 2; v++) {
            m->g_pos[v] = nnclr_malloc(ND * sizeof(float));
            m->g_p[v] = nnclr_malloc(ND * sizeof(float));
            m->g_dpos[v] = nnclr_malloc(ND * sizeof(float));
            m->g_dp[v] = nnclr_malloc(ND * sizeof(float));
            if (!m->g_pos[v] || !m->g_p[v] || !m->g_dpos[v] || !m->g_dp[v]) { s = NNCLR_ERR_NOMEM; goto fail; }
        }
        m->g_zn = nnclr_malloc(2 * ND * sizeof(float));
        m->g_labels = nnclr_malloc((size_t)cfg->batch * sizeof(int));
        m->g_idx = nnclr_malloc((size_t)cfg->batch * sizeof(int));
        m->g_sim = nnclr_malloc((size_t)cfg->batch * sizeof(float));
        if (!m->g_zn || !m->g_labels || !m->g_idx || !m->g_sim) { s = NNCLR_ERR_NOMEM; goto fail; }
    }
    m->znorm = nnclr_malloc((size_t)n * sizeof(float));
    if (!m->znorm) { s = NNCLR_ERR_NOMEM; goto fail; }
    m->eval_in = nnclr_calloc((size_t)n * cfg->in_channels * cfg->height * cfg->width, sizeof(float));
    m->eval_feat = nnclr_malloc(nF * sizeof(float));
    if (!m->nn_idx || !m->eval_in || !m->eval_feat) { s = NNCLR_ERR_NOMEM; goto fail; }
    *out = m;
    return NNCLR_OK;
fail:
    nnclr_model_free(m);
    return s;
}

void nnclr_model_free(nnclr_model *m) {
    if (!m) return;
    free(m->config_text);
    backbone_free(m->backbone);
    heads_free(m->heads);
    support_set_free(m->queue);
    tensor_table_free(&m->params);
    tensor_table_free(&m->buffers);
    free(m->grads);
    lars_free(&m->opt);
    free(m->buffers_backup);
    for (int v = 0; v < 2; v++) {
        free(m->feat[v]); free(m->dfeat[v]); free(m->z[v]); free(m->p[v]);
        free(m->zn[v]); free(m->pos[v]); free(m->dz[v]); free(m->dp[v]);
        free(m->g_pos[v]); free(m->g_p[v]); free(m->g_dpos[v]); free(m->g_dp[v]);
    }
    free(m->g_zn);
    free(m->g_labels);
    free(m->g_idx);
    free(m->g_sim);
    free(m->topk_idx);
    free(m->nn_idx);
    free(m->use_nn);
    free(m->znorm);
    free(m->eval_in);
    free(m->eval_feat);
    free(m);
}

const nnclr_config *nnclr_model_config(const nnclr_model *m) { return m ? &m->cfg : NULL; }
int nnclr_model_feature_dim(const nnclr_model *m) { return m ? m->feat_dim : 0; }

/* Runs the eval-mode backbone (and optionally the projector) over n images in chunks of the
 * model's batch; the last chunk is zero-padded (eval BN treats rows independently). */
static nnclr_status run_eval(nnclr_model *m, const float *images, int n, float *feat, float *proj) {
    if (!m || !images || (!feat && !proj)) return nnclr_fail(NNCLR_ERR_ARG, "model features: NULL model, images or output");
    if (n < 1) return nnclr_fail(NNCLR_ERR_ARG, "need at least one image, got %d", n);
    size_t total = (size_t)n * m->cfg.in_channels * m->cfg.height * m->cfg.width;
    for (size_t i = 0; i < total; i++)
        if (!isfinite(images[i])) return nnclr_fail(NNCLR_ERR_NUMERIC, "input image %zu contains NaN or Inf", i / (total / n));
    if (!m->prepared) {
        NNCLR_TRY(backbone_prepare(m->backbone, m->params.data));
        m->prepared = 1;
    }
    int B = m->n, F = m->feat_dim, D = m->cfg.proj_dim;
    size_t img = (size_t)m->cfg.in_channels * m->cfg.height * m->cfg.width;
    for (int i0 = 0; i0 < n; i0 += B) {
        int nb = n - i0 < B ? n - i0 : B;
        const float *x = images + (size_t)i0 * img;
        if (nb < B) {
            memcpy(m->eval_in, x, (size_t)nb * img * sizeof(float));
            memset(m->eval_in + (size_t)nb * img, 0, (size_t)(B - nb) * img * sizeof(float));
            x = m->eval_in;
        }
        NNCLR_TRY(backbone_forward(m->backbone, 0, m->eval_feat, x, 0, m->params.data, m->buffers.data));
        if (feat) memcpy(feat + (size_t)i0 * F, m->eval_feat, (size_t)nb * F * sizeof(float));
        if (proj) {
            NNCLR_TRY(heads_forward(m->heads, 0, m->z[0], m->p[0], m->eval_feat, B, 0, m->params.data,
                                    m->buffers.data));
            l2norm_forward(m->zn[0], m->znorm, m->z[0], B, D);
            memcpy(proj + (size_t)i0 * D, m->zn[0], (size_t)nb * D * sizeof(float));
        }
    }
    return NNCLR_OK;
}

nnclr_status nnclr_model_features(nnclr_model *m, const float *images, int n, float *feat) {
    return run_eval(m, images, n, feat, NULL);
}

nnclr_status nnclr_model_projections(nnclr_model *m, const float *images, int n, float *proj) {
    return run_eval(m, images, n, NULL, proj);
}
