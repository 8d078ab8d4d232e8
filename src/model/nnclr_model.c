/* nnclr_model.c - creating the model (backbone + heads + support set + flat buffers) and
 * running it in eval mode for features and projections. See nnclr_model.h; the training step
 * is in ssl/nnclr_step.c. */
#include "model/nnclr_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/env.h"
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
    if (c->precision != NNCLR_PRECISION_F32 && c->precision != NNCLR_PRECISION_BF16)
        return nnclr_fail(NNCLR_ERR_ARG, "unknown precision %d", (int)c->precision);
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

/* Carves the step's scratch buffers (nnclr_model.h) out of `base`, each 64-byte aligned, and
 * returns the bytes they take; with base NULL it only measures (llm.c's one-allocation style). */
static size_t layout_scratch(nnclr_model *m, char *base) {
    const nnclr_config *cfg = &m->cfg;
    const size_t n = (size_t)m->n, N = (size_t)cfg->batch, D = (size_t)cfg->proj_dim, nF = n * m->feat_dim;
    const size_t img = (size_t)cfg->in_channels * cfg->height * cfg->width;
    size_t off = 0;
#define CARVE(ptr, count, type)                                   \
    do {                                                          \
        off = (off + 63) & ~(size_t)63;                           \
        (ptr) = base ? (type *)(void *)(base + off) : NULL;       \
        off += (size_t)(count) * sizeof(type);                    \
    } while (0)
    CARVE(m->grads, m->params.total, float);
    CARVE(m->buffers_backup, m->buffers.total ? m->buffers.total : 1, float);
    for (int v = 0; v < 2; v++) {
        CARVE(m->feat[v], nF, float);
        CARVE(m->dfeat[v], nF, float);
        CARVE(m->z[v], n * D, float);
        CARVE(m->p[v], n * D, float);
        CARVE(m->zn[v], n * D, float);
        CARVE(m->pos[v], n * D, float);
        CARVE(m->dz[v], n * D, float);
        CARVE(m->dp[v], n * D, float);
    }
    CARVE(m->nn_idx, 2 * n, int);
    CARVE(m->use_nn, 2 * N, int);
    CARVE(m->topk_idx, n * cfg->topk, int);
    if (m->world > 1) {
        for (int v = 0; v < 2; v++) {
            CARVE(m->g_pos[v], N * D, float);
            CARVE(m->g_p[v], N * D, float);
            CARVE(m->g_dpos[v], N * D, float);
            CARVE(m->g_dp[v], N * D, float);
        }
        CARVE(m->g_zn, 2 * N * D, float);
        CARVE(m->g_labels, N, int);
        CARVE(m->g_idx, N, int);
        CARVE(m->g_sim, N, float);
    }
    CARVE(m->znorm, n, float);
    CARVE(m->eval_in, n * img, float);
    CARVE(m->eval_feat, nF, float);
#undef CARVE
    return off;
}

nnclr_status nnclr_model_create(nnclr_model **out, const nnclr_config *cfg) {
    if (out) *out = NULL;
    if (!out || !cfg) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_model_create: NULL %s", out ? "config" : "output pointer");
    if (!cfg->arch) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_model_create: config has no arch");
    NNCLR_TRY(env_check());
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
    backbone_config bc = {cfg->arch, cfg->cifar_stem, cfg->in_channels, cfg->height, cfg->width, n, 2, cfg->dist,
                          cfg->precision};
    if ((s = backbone_create(&m->backbone, &bc, &m->params, &m->buffers))) goto fail;
    m->feat_dim = backbone_feature_dim(m->backbone);
    heads_config hc = {m->feat_dim, cfg->proj_hidden, cfg->proj_dim, cfg->pred_hidden, cfg->use_predictor,
                       cfg->dist};
    if ((s = heads_create(&m->heads, &hc, n, 2, &m->params, &m->buffers))) goto fail;
    if ((s = tensor_table_alloc(&m->params)) || (s = tensor_table_alloc(&m->buffers))) goto fail;
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

    /* The step's scratch memory: one zeroed, 64-byte aligned allocation carved in two passes. */
    m->arena_bytes = layout_scratch(m, NULL);
    m->arena = nnclr_calloc(1, m->arena_bytes);
    if (!m->arena) { s = NNCLR_ERR_NOMEM; goto fail; }
    layout_scratch(m, m->arena);
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
    lars_free(&m->opt);
    free(m->arena);
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
