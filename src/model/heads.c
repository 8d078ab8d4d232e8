/* heads.c - NNCLR projector and predictor MLPs. See heads.h.
 *
 * Each MLP is a fixed chain of linear -> BN1d -> ReLU stages, written out explicitly forward
 * and backward. Per slot the arena keeps what backward reads: the input features, each
 * linear's output (the BN input, for the BN gradient), each ReLU output (the next linear's
 * input and the ReLU mask; ReLU runs in place on the BN output) and the BN batch statistics,
 * plus the projection z, which is the predictor's input. Backward ping-pongs between two
 * scratch matrices of max_n x max(H, P, D) floats. */
#include "model/heads.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "dist/dist.h"
#include "ops/batchnorm1d.h"
#include "ops/eltwise.h"
#include "ops/linear.h"

#define HEADS_BN_MOMENTUM 0.1f
#define HEADS_MAX_DIM (1 << 20)
#define HEADS_MAX_ROWS (1 << 20)
#define HEADS_MAX_SLOTS 8

/* Offsets of one linear layer's tensors in the parameter table. */
typedef struct {
    int in, out;
    size_t w, b;
} linear_layer;

/* Offsets of one BN1d: gamma/beta in params, running stats in buffers. */
typedef struct {
    int c;
    size_t g, b, rm, rv;
} bn_layer;

/* Arena offsets (floats, within one slot) of a linear -> BN stage: lin_out is the linear
 * output (BN input), bn_out the BN output (after ReLU when the stage has one). */
typedef struct {
    size_t lin_out, bn_out, mean, rstd;
} stage_acts;

struct heads {
    heads_config cfg;
    int max_n, nslots;
    linear_layer proj_lin[3];  /* projector.0, .3, .6 */
    bn_layer proj_bn[3];       /* projector.1, .4, .7 */
    linear_layer pred_lin[2];  /* predictor.0, .3 */
    bn_layer pred_bn;          /* predictor.1 */
    size_t feat;               /* arena: copy of the input features (max_n, F) */
    stage_acts proj_act[3];    /* proj_act[2].bn_out is z */
    stage_acts pred_act;       /* pred_act.bn_out is the ReLU output feeding predictor.3 */
    size_t slot_floats;
    float *arena;              /* (nslots, slot_floats) */
    float *scratch[2];         /* (max_n, max(H, P, D)) each */
    size_t scratch_floats;
    int slot_rows[HEADS_MAX_SLOTS]; /* rows of the slot's last training forward, 0 = none */
    int slot_pred[HEADS_MAX_SLOTS]; /* whether that forward ran the predictor */
    double *sync_scratch;      /* (2 * widest) for synchronised BN, NULL when local */
};

static size_t align16(size_t x) { return (x + 15) & ~(size_t)15; }

static size_t arena_take(heads *h, size_t floats) {
    size_t off = h->slot_floats;
    h->slot_floats += align16(floats);
    return off;
}

static nnclr_status linear_declare(linear_layer *l, tensor_table *params, const char *prefix,
                                   int index, int in, int out) {
    char name[TENSOR_NAME_MAX];
    int wshape[2] = {out, in}, bshape[1] = {out};
    l->in = in;
    l->out = out;
    snprintf(name, sizeof name, "%s.%d.weight", prefix, index);
    NNCLR_TRY(tensor_table_add(params, name, 2, wshape, TENSOR_WEIGHT, &l->w));
    snprintf(name, sizeof name, "%s.%d.bias", prefix, index);
    return tensor_table_add(params, name, 1, bshape, TENSOR_NO_DECAY, &l->b);
}

static nnclr_status bn_declare(bn_layer *b, tensor_table *params, tensor_table *buffers,
                               const char *prefix, int index, int c) {
    char name[TENSOR_NAME_MAX];
    int shape[1] = {c};
    b->c = c;
    snprintf(name, sizeof name, "%s.%d.weight", prefix, index);
    NNCLR_TRY(tensor_table_add(params, name, 1, shape, TENSOR_NO_DECAY, &b->g));
    snprintf(name, sizeof name, "%s.%d.bias", prefix, index);
    NNCLR_TRY(tensor_table_add(params, name, 1, shape, TENSOR_NO_DECAY, &b->b));
    snprintf(name, sizeof name, "%s.%d.running_mean", prefix, index);
    NNCLR_TRY(tensor_table_add(buffers, name, 1, shape, TENSOR_NO_DECAY, &b->rm));
    snprintf(name, sizeof name, "%s.%d.running_var", prefix, index);
    return tensor_table_add(buffers, name, 1, shape, TENSOR_NO_DECAY, &b->rv);
}

static void stage_reserve(stage_acts *a, heads *h, int c) {
    a->lin_out = arena_take(h, (size_t)h->max_n * c);
    a->bn_out = arena_take(h, (size_t)h->max_n * c);
    a->mean = arena_take(h, (size_t)c);
    a->rstd = arena_take(h, (size_t)c);
}

static int dim_ok(int v) { return v > 0 && v <= HEADS_MAX_DIM; }

nnclr_status heads_create(heads **out, const heads_config *cfg, int max_n, int nslots,
                          tensor_table *params, tensor_table *buffers) {
    *out = NULL;
    if (!dim_ok(cfg->feat_dim) || !dim_ok(cfg->proj_hidden) || !dim_ok(cfg->proj_dim))
        return nnclr_fail(NNCLR_ERR_ARG, "heads: feature %d, projector hidden %d and output %d "
                          "must be in [1, %d]", cfg->feat_dim, cfg->proj_hidden, cfg->proj_dim,
                          HEADS_MAX_DIM);
    if (cfg->use_predictor && !dim_ok(cfg->pred_hidden))
        return nnclr_fail(NNCLR_ERR_ARG, "heads: predictor hidden size must be in [1, %d], got %d",
                          HEADS_MAX_DIM, cfg->pred_hidden);
    if (max_n < 1 || max_n > HEADS_MAX_ROWS)
        return nnclr_fail(NNCLR_ERR_ARG, "heads: batch must be in [1, %d], got %d", HEADS_MAX_ROWS, max_n);
    if (nslots < 1 || nslots > HEADS_MAX_SLOTS)
        return nnclr_fail(NNCLR_ERR_ARG, "heads: slots must be in [1, %d], got %d", HEADS_MAX_SLOTS, nslots);

    heads *h = nnclr_calloc(1, sizeof *h);
    if (!h) return NNCLR_ERR_NOMEM;
    h->cfg = *cfg;
    h->cfg.use_predictor = cfg->use_predictor ? 1 : 0;
    h->max_n = max_n;
    h->nslots = nslots;
    const int F = cfg->feat_dim, H = cfg->proj_hidden, D = cfg->proj_dim;
    const int P = h->cfg.use_predictor ? cfg->pred_hidden : 0;

    nnclr_status s;
    if ((s = linear_declare(&h->proj_lin[0], params, "projector", 0, F, H))) goto fail;
    if ((s = bn_declare(&h->proj_bn[0], params, buffers, "projector", 1, H))) goto fail;
    if ((s = linear_declare(&h->proj_lin[1], params, "projector", 3, H, H))) goto fail;
    if ((s = bn_declare(&h->proj_bn[1], params, buffers, "projector", 4, H))) goto fail;
    if ((s = linear_declare(&h->proj_lin[2], params, "projector", 6, H, D))) goto fail;
    if ((s = bn_declare(&h->proj_bn[2], params, buffers, "projector", 7, D))) goto fail;
    if (P) {
        if ((s = linear_declare(&h->pred_lin[0], params, "predictor", 0, D, P))) goto fail;
        if ((s = bn_declare(&h->pred_bn, params, buffers, "predictor", 1, P))) goto fail;
        if ((s = linear_declare(&h->pred_lin[1], params, "predictor", 3, P, D))) goto fail;
    }

    h->feat = arena_take(h, (size_t)max_n * F);
    stage_reserve(&h->proj_act[0], h, H);
    stage_reserve(&h->proj_act[1], h, H);
    stage_reserve(&h->proj_act[2], h, D);
    if (P) stage_reserve(&h->pred_act, h, P);

    int widest = H > D ? H : D;
    if (P > widest) widest = P;
    h->scratch_floats = (size_t)max_n * widest;
    h->arena = nnclr_calloc((size_t)nslots * h->slot_floats, sizeof(float));
    h->scratch[0] = nnclr_calloc(h->scratch_floats, sizeof(float));
    h->scratch[1] = nnclr_calloc(h->scratch_floats, sizeof(float));
    if (dist_world(cfg->dist) > 1) {
        h->sync_scratch = nnclr_calloc(2 * (size_t)widest, sizeof(double));
        if (!h->sync_scratch) { s = NNCLR_ERR_NOMEM; goto fail; }
    }
    if (!h->arena || !h->scratch[0] || !h->scratch[1]) {
        s = NNCLR_ERR_NOMEM;
        goto fail;
    }
    *out = h;
    return NNCLR_OK;
fail:
    heads_free(h);
    return s;
}

void heads_free(heads *h) {
    if (!h) return;
    free(h->arena);
    free(h->scratch[0]);
    free(h->scratch[1]);
    free(h->sync_scratch);
    free(h);
}

size_t heads_memory_bytes(const heads *h) {
    return ((size_t)h->nslots * h->slot_floats + 2 * h->scratch_floats) * sizeof(float);
}

static void linear_init(const linear_layer *l, float *params, rng_state *rng) {
    /* kaiming_uniform_(a = sqrt(5)): gain sqrt(2 / (1 + 5)), bound gain sqrt(3 / fan_in)
     * = 1 / sqrt(fan_in); PyTorch draws the bias from the same range. */
    const float bound = 1.0f / sqrtf((float)l->in);
    const size_t nw = (size_t)l->out * l->in;
    for (size_t i = 0; i < nw; i++) params[l->w + i] = bound * (2.0f * rng_uniform(rng) - 1.0f);
    for (int i = 0; i < l->out; i++) params[l->b + i] = bound * (2.0f * rng_uniform(rng) - 1.0f);
}

static void bn_init(const bn_layer *b, float *params, float *buffers) {
    for (int i = 0; i < b->c; i++) {
        params[b->g + i] = 1.0f;
        params[b->b + i] = 0.0f;
        buffers[b->rm + i] = 0.0f;
        buffers[b->rv + i] = 1.0f;
    }
}

void heads_init(heads *h, const tensor_table *params_table, const tensor_table *buffers_table,
                rng_state *rng) {
    float *params = params_table->data, *buffers = buffers_table->data;
    NNCLR_ASSERT(params && buffers);
    for (int i = 0; i < 3; i++) {
        linear_init(&h->proj_lin[i], params, rng);
        bn_init(&h->proj_bn[i], params, buffers);
    }
    if (h->cfg.use_predictor) {
        linear_init(&h->pred_lin[0], params, rng);
        bn_init(&h->pred_bn, params, buffers);
        linear_init(&h->pred_lin[1], params, rng);
    }
}

/* One linear -> BN (-> ReLU) stage into the slot arena; *out = the stage output. */
static nnclr_status stage_forward(const heads *h, const linear_layer *l, const bn_layer *b,
                                  const stage_acts *a, float *arena, const float *x, int relu,
                                  int n, int training, const float *params, float *buffers,
                                  const float **out) {
    float *lin = arena + a->lin_out, *y = arena + a->bn_out;
    *out = y;
    linear_forward(lin, x, params + l->w, params + l->b, n, l->in, l->out);
    if (training && h->sync_scratch)
        NNCLR_TRY(batchnorm1d_forward_train_sync(h->cfg.dist, h->sync_scratch, y, arena + a->mean,
                                                 arena + a->rstd, lin, params + b->g, params + b->b,
                                                 buffers + b->rm, buffers + b->rv,
                                                 HEADS_BN_MOMENTUM, n, b->c));
    else if (training)
        batchnorm1d_forward_train(y, arena + a->mean, arena + a->rstd, lin, params + b->g,
                                  params + b->b, buffers + b->rm, buffers + b->rv,
                                  HEADS_BN_MOMENTUM, n, b->c);
    else
        batchnorm1d_forward_eval(y, lin, params + b->g, params + b->b, buffers + b->rm,
                                 buffers + b->rv, n, b->c);
    if (relu) relu_forward(y, y, (size_t)n * b->c);
    return NNCLR_OK;
}

nnclr_status heads_forward(heads *h, int slot, float *z, float *p, const float *feat, int n,
                           int training, const float *params, float *buffers) {
    if (slot < 0 || slot >= h->nslots)
        return nnclr_fail(NNCLR_ERR_ARG, "heads: slot %d out of range [0, %d)", slot, h->nslots);
    if (n < 1 || n > h->max_n)
        return nnclr_fail(NNCLR_ERR_ARG, "heads: %d rows, expected 1..%d", n, h->max_n);
    if (training && n < 2)
        return nnclr_fail(NNCLR_ERR_ARG, "heads: training batch norm needs at least 2 rows, got %d", n);
    float *arena = h->arena + (size_t)slot * h->slot_floats;
    const int F = h->cfg.feat_dim, D = h->cfg.proj_dim;
    h->slot_rows[slot] = 0;
    h->slot_pred[slot] = 0;
    if (training) {
        memcpy(arena + h->feat, feat, (size_t)n * F * sizeof(float));
        feat = arena + h->feat;
    }
    const float *x = feat;
    for (int i = 0; i < 3; i++)
        NNCLR_TRY(stage_forward(h, &h->proj_lin[i], &h->proj_bn[i], &h->proj_act[i], arena, x, i < 2, n,
                                training, params, buffers, &x));
    /* x: (n, D) = z, kept in the arena as the predictor's input. */
    memcpy(z, x, (size_t)n * D * sizeof(float));
    if (p) {
        if (h->cfg.use_predictor) {
            const float *r;
            NNCLR_TRY(stage_forward(h, &h->pred_lin[0], &h->pred_bn, &h->pred_act, arena, x, 1, n,
                                    training, params, buffers, &r));
            const linear_layer *l = &h->pred_lin[1];
            linear_forward(p, r, params + l->w, params + l->b, n, l->in, l->out);
        } else {
            memcpy(p, x, (size_t)n * D * sizeof(float));
        }
    }
    if (training) {
        h->slot_rows[slot] = n;
        h->slot_pred[slot] = p != NULL;
    }
    return NNCLR_OK;
}

/* Backward of one linear -> BN (-> ReLU) stage. g: (n, out) gradient w.r.t. the stage output,
 * overwritten (it becomes the gradient w.r.t. the linear output). dx: (n, in) OVERWRITTEN,
 * or NULL. x: the stage input. */
static nnclr_status stage_backward(const heads *h, const linear_layer *l, const bn_layer *b,
                                   const stage_acts *a, const float *arena, float *dx, float *g,
                                   const float *x, int relu, int n, const float *params,
                                   float *grads) {
    const size_t m = (size_t)n * b->c;
    if (relu) relu_backward(g, g, arena + a->bn_out, m);
    if (h->sync_scratch)
        NNCLR_TRY(batchnorm1d_backward_sync(h->cfg.dist, h->sync_scratch, g, grads + b->g, grads + b->b, g,
                                            arena + a->lin_out, arena + a->mean, arena + a->rstd,
                                            params + b->g, n, b->c));
    else
        batchnorm1d_backward(g, grads + b->g, grads + b->b, g, arena + a->lin_out, arena + a->mean,
                             arena + a->rstd, params + b->g, n, b->c);
    linear_backward(dx, grads + l->w, grads + l->b, g, x, params + l->w, n, l->in, l->out);
    return NNCLR_OK;
}

nnclr_status heads_backward(heads *h, int slot, float *dfeat, const float *dz, const float *dp,
                            int n, const float *params, float *grads) {
    if (slot < 0 || slot >= h->nslots)
        return nnclr_fail(NNCLR_ERR_ARG, "heads: slot %d out of range [0, %d)", slot, h->nslots);
    if (h->slot_rows[slot] == 0)
        return nnclr_fail(NNCLR_ERR_ARG, "heads: backward of slot %d without a training forward", slot);
    if (n != h->slot_rows[slot])
        return nnclr_fail(NNCLR_ERR_ARG, "heads: backward of %d rows after a forward of %d", n,
                          h->slot_rows[slot]);
    if (dp && !h->slot_pred[slot])
        return nnclr_fail(NNCLR_ERR_ARG, "heads: gradient for p given but the forward skipped p");
    const float *arena = h->arena + (size_t)slot * h->slot_floats;
    const int F = h->cfg.feat_dim, D = h->cfg.proj_dim;
    const size_t nd = (size_t)n * D;
    float *s0 = h->scratch[0], *s1 = h->scratch[1];
    const float *zs = arena + h->proj_act[2].bn_out;

    if (!dz && !dp) {
        memset(dfeat, 0, (size_t)n * F * sizeof(float));
        return NNCLR_OK;
    }
    /* s1: (n, D) total gradient w.r.t. z. */
    if (dp && h->cfg.use_predictor) {
        const linear_layer *l = &h->pred_lin[1];
        linear_backward(s0, grads + l->w, grads + l->b, dp, arena + h->pred_act.bn_out,
                        params + l->w, n, l->in, l->out);
        NNCLR_TRY(stage_backward(h, &h->pred_lin[0], &h->pred_bn, &h->pred_act, arena, s1, s0, zs, 1, n,
                                 params, grads));
        if (dz) add_inplace(s1, dz, nd);
    } else if (dp) {
        memcpy(s1, dp, nd * sizeof(float));
        if (dz) add_inplace(s1, dz, nd);
    } else {
        memcpy(s1, dz, nd * sizeof(float));
    }
    /* Projector, last stage first; the gradient alternates between s1 and s0. */
    NNCLR_TRY(stage_backward(h, &h->proj_lin[2], &h->proj_bn[2], &h->proj_act[2], arena, s0, s1,
                             arena + h->proj_act[1].bn_out, 0, n, params, grads));
    NNCLR_TRY(stage_backward(h, &h->proj_lin[1], &h->proj_bn[1], &h->proj_act[1], arena, s1, s0,
                             arena + h->proj_act[0].bn_out, 1, n, params, grads));
    return stage_backward(h, &h->proj_lin[0], &h->proj_bn[0], &h->proj_act[0], arena, dfeat, s1,
                          arena + h->feat, 1, n, params, grads);
}
