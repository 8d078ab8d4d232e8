/* resnet.c - ResNet backbones on blocked (nChw{B}c) activations. See resnet.h.
 *
 * The network is a stem (conv-BN-ReLU, optional max-pool) and a list of residual blocks. Each
 * block is 2 (basic) or 3 (bottleneck) conv-BN units plus an optional projection shortcut
 * (1x1 conv + BN). BN units before a ReLU fuse it; the last BN of a block adds the shortcut
 * and applies the block's ReLU in its normalising pass, so its output buffer is the block
 * output. In backward a block's output gradient stays in two parts (the next block's shortcut
 * and main-path gradients) until relu_backward_add joins them through that ReLU. Forward and
 * backward are written out explicitly in the fixed order. */
#include "model/resnet.h"
#include "model/backbone.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dnn.h"
#include "core/status.h"
#include "ops/batchnorm.h"
#include "ops/conv2d.h"
#include "ops/eltwise.h"
#include "ops/pool.h"

#define BN_MOMENTUM 0.1f

/* One conv followed by its batch norm. Offsets: w/g/b into params, rm/rv into buffers,
 * conv_out/bn_out/saved into a slot's arena (in floats). */
typedef struct {
    conv2d *conv;
    batchnorm *bn;
    int ic, oc, k, ih, iw, oh, ow;
    size_t w_off, g_off, b_off, rm_off, rv_off;
    size_t conv_out, bn_out, saved;
    size_t out_size; /* floats of the (blocked) output */
} conv_bn;

typedef struct {
    conv_bn u[3];  /* main path: 2 (basic) or 3 (bottleneck) units */
    int nunits;
    int has_ds;
    conv_bn ds;    /* projection shortcut */
    size_t in_size;
} block;

struct resnet {
    resnet_config cfg;
    char arch[16];
    int n;
    conv_bn stem;
    maxpool *pool;      /* ImageNet stem only */
    size_t pool_out, pool_saved, pool_size;
    int pool_h, pool_w;
    block *blocks;
    int nblocks;
    int feat_dim, out_h, out_w;
    size_t input;       /* arena offset of the copy of the network input (plain NCHW) */
    size_t slot_floats; /* arena floats per slot */
    float *arena;       /* (nslots, slot_floats) */
    float *scratch[4];  /* gradient scratch, each max_act floats */
    void *conv_ws;      /* bf16: the convolutions' shared workspace (they run one at a time) */
    size_t conv_ws_bytes;
    size_t max_act;
    double flops;
};

static size_t align16(size_t x) { return (x + 15) & ~(size_t)15; }

/* Declares one conv-BN unit: parameters, running stats, primitives and arena slices. */
static nnclr_status conv_bn_make(conv_bn *u, resnet *r, const char *prefix, const char *conv_name,
                                 const char *bn_name, int ic, int ih, int iw, int oc, int k,
                                 int stride, int pad, int fuse_relu, int first, tensor_table *params,
                                 tensor_table *buffers) {
    char name[TENSOR_NAME_MAX];
    memset(u, 0, sizeof *u);
    u->ic = ic;
    u->oc = oc;
    u->k = k;
    u->ih = ih;
    u->iw = iw;
    conv2d_config cc = {r->n, ic, ih, iw, oc, k, stride, pad, first, !first, CONV2D_ALGO_AUTO,
                        r->cfg.precision == NNCLR_PRECISION_BF16 ? CONV2D_BF16 : CONV2D_F32};
    NNCLR_TRY(conv2d_create(&u->conv, &cc));
    conv2d_out_hw(u->conv, &u->oh, &u->ow);
    NNCLR_TRY(batchnorm_create_dist(&u->bn, r->n, oc, u->oh, u->ow, fuse_relu, r->cfg.dist));

    int wshape[4] = {oc, ic, k, k}, cshape[1] = {oc};
    snprintf(name, sizeof name, "%s%s.weight", prefix, conv_name);
    NNCLR_TRY(tensor_table_add(params, name, 4, wshape, TENSOR_WEIGHT, &u->w_off));
    snprintf(name, sizeof name, "%s%s.weight", prefix, bn_name);
    NNCLR_TRY(tensor_table_add(params, name, 1, cshape, TENSOR_NO_DECAY, &u->g_off));
    snprintf(name, sizeof name, "%s%s.bias", prefix, bn_name);
    NNCLR_TRY(tensor_table_add(params, name, 1, cshape, TENSOR_NO_DECAY, &u->b_off));
    snprintf(name, sizeof name, "%s%s.running_mean", prefix, bn_name);
    NNCLR_TRY(tensor_table_add(buffers, name, 1, cshape, TENSOR_NO_DECAY, &u->rm_off));
    snprintf(name, sizeof name, "%s%s.running_var", prefix, bn_name);
    NNCLR_TRY(tensor_table_add(buffers, name, 1, cshape, TENSOR_NO_DECAY, &u->rv_off));

    u->out_size = dnn_act_size(r->n, oc, u->oh, u->ow);
    u->conv_out = r->slot_floats;
    r->slot_floats += align16(u->out_size);
    u->bn_out = r->slot_floats;
    r->slot_floats += align16(u->out_size);
    u->saved = r->slot_floats;
    r->slot_floats += align16((batchnorm_saved_bytes(u->bn) + 3) / 4);
    if (u->out_size > r->max_act) r->max_act = u->out_size;
    r->flops += 2.0 * oc * u->oh * u->ow * (double)ic * k * k;
    return NNCLR_OK;
}

static void conv_bn_free(conv_bn *u) {
    conv2d_free(u->conv);
    batchnorm_free(u->bn);
}

/* Applies f to every conv-BN unit in forward order. */
#define FOR_EACH_UNIT(r, u, body)                                              \
    do {                                                                       \
        conv_bn *u = &(r)->stem;                                               \
        body;                                                                  \
        for (int bi_ = 0; bi_ < (r)->nblocks; bi_++) {                         \
            block *b_ = &(r)->blocks[bi_];                                     \
            for (int ui_ = 0; ui_ < b_->nunits + b_->has_ds; ui_++) {          \
                u = ui_ < b_->nunits ? &b_->u[ui_] : &b_->ds;                  \
                body;                                                          \
            }                                                                  \
        }                                                                      \
    } while (0)

/* Stages per architecture: blocks per stage, widths, bottleneck or not. */
typedef struct {
    const char *name;
    int nstages, blocks[4], widths[4], bottleneck, cifar_resnet;
} arch_spec;

static const arch_spec ARCHS[] = {
    {"resnet18", 4, {2, 2, 2, 2}, {64, 128, 256, 512}, 0, 0},
    {"resnet34", 4, {3, 4, 6, 3}, {64, 128, 256, 512}, 0, 0},
    {"resnet50", 4, {3, 4, 6, 3}, {64, 128, 256, 512}, 1, 0},
    {"resnet8", 3, {1, 1, 1}, {16, 32, 64}, 0, 1},
    {"resnet14", 3, {2, 2, 2}, {16, 32, 64}, 0, 1},
    {"resnet20", 3, {3, 3, 3}, {16, 32, 64}, 0, 1},
    {"resnet32", 3, {5, 5, 5}, {16, 32, 64}, 0, 1},
    {"resnet44", 3, {7, 7, 7}, {16, 32, 64}, 0, 1},
    {"resnet56", 3, {9, 9, 9}, {16, 32, 64}, 0, 1},
    {"resnet110", 3, {18, 18, 18}, {16, 32, 64}, 0, 1},
};

nnclr_status resnet_create(resnet **out, const resnet_config *cfg, tensor_table *params,
                           tensor_table *buffers) {
    *out = NULL;
    const arch_spec *a = NULL;
    for (size_t i = 0; cfg->arch && i < sizeof ARCHS / sizeof ARCHS[0]; i++)
        if (strcmp(cfg->arch, ARCHS[i].name) == 0) a = &ARCHS[i];
    if (!a)
        return nnclr_fail(NNCLR_ERR_ARG, "unknown architecture '%s' (%s)", cfg->arch ? cfg->arch : "(null)",
                          backbone_names());
    if (cfg->in_channels != 1 && cfg->in_channels != 3)
        return nnclr_fail(NNCLR_ERR_ARG, "input channels must be 1 or 3, got %d", cfg->in_channels);
    if (cfg->height < 16 || cfg->width < 16)
        return nnclr_fail(NNCLR_ERR_ARG, "input size %dx%d is smaller than 16x16", cfg->height, cfg->width);
    if (cfg->height > 4096 || cfg->width > 4096)
        return nnclr_fail(NNCLR_ERR_ARG, "input size %dx%d is larger than 4096x4096", cfg->height, cfg->width);
    if (cfg->batch < 1 || cfg->batch > 65536)
        return nnclr_fail(NNCLR_ERR_ARG, "batch must be in [1, 65536], got %d", cfg->batch);
    if (cfg->nslots < 1 || cfg->nslots > 8)
        return nnclr_fail(NNCLR_ERR_ARG, "slots must be in [1, 8], got %d", cfg->nslots);

    resnet *r = nnclr_calloc(1, sizeof *r);
    if (!r) return NNCLR_ERR_NOMEM;
    r->cfg = *cfg;
    snprintf(r->arch, sizeof r->arch, "%s", a->name);
    r->cfg.arch = r->arch;
    r->n = cfg->batch;
    nnclr_status s;
    int c = cfg->in_channels, h = cfg->height, w = cfg->width;
    int imagenet_stem = !a->cifar_resnet && !cfg->cifar_stem;
    int stem_out = a->cifar_resnet ? a->widths[0] : 64;

    /* The input is copied into the arena: the stem's weight gradient needs it in backward. */
    r->input = 0;
    r->slot_floats = align16((size_t)r->n * c * h * w);

    /* Stem. */
    if (imagenet_stem)
        s = conv_bn_make(&r->stem, r, "backbone.", "conv1", "bn1", c, h, w, stem_out, 7, 2, 3, 1, 1, params, buffers);
    else
        s = conv_bn_make(&r->stem, r, "backbone.", "conv1", "bn1", c, h, w, stem_out, 3, 1, 1, 1, 1, params, buffers);
    if (s) goto fail;
    c = stem_out;
    h = r->stem.oh;
    w = r->stem.ow;
    if (imagenet_stem) {
        if ((s = maxpool_create(&r->pool, r->n, c, h, w, 3, 2, 1))) goto fail;
        maxpool_out_hw(r->pool, &r->pool_h, &r->pool_w);
        r->pool_size = dnn_act_size(r->n, c, r->pool_h, r->pool_w);
        r->pool_out = r->slot_floats;
        r->slot_floats += align16(r->pool_size);
        r->pool_saved = r->slot_floats;
        r->slot_floats += align16((maxpool_saved_bytes(r->pool) + 3) / 4);
        h = r->pool_h;
        w = r->pool_w;
    }

    /* Residual stages. */
    int total = 0;
    for (int st = 0; st < a->nstages; st++) total += a->blocks[st];
    r->blocks = nnclr_calloc((size_t)total, sizeof *r->blocks);
    if (!r->blocks) { s = NNCLR_ERR_NOMEM; goto fail; }
    int expansion = a->bottleneck ? 4 : 1;
    for (int st = 0; st < a->nstages; st++) {
        for (int bi = 0; bi < a->blocks[st]; bi++) {
            block *b = &r->blocks[r->nblocks++];
            char prefix[48];
            snprintf(prefix, sizeof prefix, "backbone.layer%d.%d.", st + 1, bi);
            int stride = (bi == 0 && st > 0) ? 2 : 1;
            int width = a->widths[st], outc = width * expansion;
            b->in_size = dnn_act_size(r->n, c, h, w);
            if (a->bottleneck) {
                b->nunits = 3;
                if ((s = conv_bn_make(&b->u[0], r, prefix, "conv1", "bn1", c, h, w, width, 1, 1, 0, 1, 0, params, buffers))) goto fail;
                if ((s = conv_bn_make(&b->u[1], r, prefix, "conv2", "bn2", width, h, w, width, 3, stride, 1, 1, 0, params, buffers))) goto fail;
                if ((s = conv_bn_make(&b->u[2], r, prefix, "conv3", "bn3", width, b->u[1].oh, b->u[1].ow, outc, 1, 1, 0, 0, 0, params, buffers))) goto fail;
            } else {
                b->nunits = 2;
                if ((s = conv_bn_make(&b->u[0], r, prefix, "conv1", "bn1", c, h, w, width, 3, stride, 1, 1, 0, params, buffers))) goto fail;
                if ((s = conv_bn_make(&b->u[1], r, prefix, "conv2", "bn2", width, b->u[0].oh, b->u[0].ow, outc, 3, 1, 1, 0, 0, params, buffers))) goto fail;
            }
            if (stride != 1 || c != outc) {
                b->has_ds = 1;
                if ((s = conv_bn_make(&b->ds, r, prefix, "downsample.0", "downsample.1", c, h, w, outc, 1, stride, 0, 0, 0, params, buffers))) goto fail;
            }
            conv_bn *last = &b->u[b->nunits - 1];
            c = outc;
            h = last->oh;
            w = last->ow;
        }
    }
    r->feat_dim = c;
    r->out_h = h;
    r->out_w = w;

    r->arena = nnclr_malloc((size_t)cfg->nslots * r->slot_floats * sizeof(float));
    if (!r->arena) { s = NNCLR_ERR_NOMEM; goto fail; }
    /* Zero once: padded channels of every activation then stay zero (kernels keep them). */
    memset(r->arena, 0, (size_t)cfg->nslots * r->slot_floats * sizeof(float));
    for (int i = 0; i < 4; i++) {
        r->scratch[i] = nnclr_calloc(r->max_act, sizeof(float));
        if (!r->scratch[i]) { s = NNCLR_ERR_NOMEM; goto fail; }
    }
    FOR_EACH_UNIT(r, u, {
        size_t b = conv2d_workspace_size(u->conv);
        if (b > r->conv_ws_bytes) r->conv_ws_bytes = b;
    });
    if (r->conv_ws_bytes) {
        r->conv_ws = nnclr_malloc(r->conv_ws_bytes);
        if (!r->conv_ws) { s = NNCLR_ERR_NOMEM; goto fail; }
        FOR_EACH_UNIT(r, u, { conv2d_set_workspace(u->conv, r->conv_ws); });
    }
    *out = r;
    return NNCLR_OK;
fail:
    resnet_free(r);
    return s;
}

void resnet_free(resnet *r) {
    if (!r) return;
    conv_bn_free(&r->stem);
    maxpool_free(r->pool);
    for (int i = 0; i < r->nblocks; i++) {
        for (int j = 0; j < r->blocks[i].nunits; j++) conv_bn_free(&r->blocks[i].u[j]);
        if (r->blocks[i].has_ds) conv_bn_free(&r->blocks[i].ds);
    }
    free(r->blocks);
    free(r->arena);
    for (int i = 0; i < 4; i++) free(r->scratch[i]);
    free(r->conv_ws);
    free(r);
}

int resnet_feature_dim(const resnet *r) { return r->feat_dim; }

size_t resnet_memory_bytes(const resnet *r) {
    return ((size_t)r->cfg.nslots * r->slot_floats + 4 * r->max_act) * sizeof(float) + r->conv_ws_bytes;
}

double resnet_forward_flops(const resnet *r) { return r->flops; }


void resnet_init(resnet *r, float *params, float *buffers, rng_state *rng) {
    FOR_EACH_UNIT(r, u, {
        /* Kaiming normal, mode fan_out, ReLU gain: std = sqrt(2 / (OC k k)). */
        float std = sqrtf(2.0f / (float)(u->oc * u->k * u->k));
        size_t nw = (size_t)u->oc * u->ic * u->k * u->k;
        for (size_t i = 0; i < nw; i++) params[u->w_off + i] = std * rng_normal(rng);
        for (int i = 0; i < u->oc; i++) {
            params[u->g_off + i] = 1.0f;
            params[u->b_off + i] = 0.0f;
            buffers[u->rm_off + i] = 0.0f;
            buffers[u->rv_off + i] = 1.0f;
        }
    });
}

nnclr_status resnet_prepare(resnet *r, const float *params) {
    FOR_EACH_UNIT(r, u, { NNCLR_TRY(conv2d_prepare(u->conv, params + u->w_off)); });
    return NNCLR_OK;
}

/* y = BN(conv(x)) for one unit, into this slot's arena; with a residual (the last unit of a
 * block), y = relu(BN(conv(x)) + residual), the block's output, in the same pass. */
static nnclr_status conv_bn_forward(conv_bn *u, float *arena, const float *x, const float *residual,
                                    int training, const float *params, float *buffers) {
    NNCLR_TRY(conv2d_forward(u->conv, arena + u->conv_out, x));
    if (training)
        return batchnorm_forward_train(u->bn, arena + u->bn_out, arena + u->saved, arena + u->conv_out,
                                       residual, params + u->g_off, params + u->b_off, buffers + u->rm_off,
                                       buffers + u->rv_off, BN_MOMENTUM);
    return batchnorm_forward_eval(u->bn, arena + u->bn_out, arena + u->conv_out, residual, params + u->g_off,
                                  params + u->b_off, buffers + u->rm_off, buffers + u->rv_off);
}

/* dx = d/dx of the unit given dy (w.r.t. its BN output); dx may be NULL for the first layer.
 * tmp: scratch for the gradient between BN and conv. */
static nnclr_status conv_bn_backward(conv_bn *u, float *arena, float *dx, float *tmp, const float *dy,
                                     const float *x, const float *params, float *grads) {
    NNCLR_TRY(batchnorm_backward(u->bn, tmp, grads + u->g_off, grads + u->b_off, dy, arena + u->conv_out,
                                 arena + u->saved, params + u->g_off, params + u->b_off));
    return conv2d_backward(u->conv, dx, grads + u->w_off, tmp, x);
}

static const float *block_output(const resnet *r, const float *arena, int bi) {
    const block *b = &r->blocks[bi];
    return arena + b->u[b->nunits - 1].bn_out;
}

nnclr_status resnet_forward(resnet *r, int slot, float *feat, const float *x, int training,
                            const float *params, float *buffers) {
    if (slot < 0 || slot >= r->cfg.nslots) return nnclr_fail(NNCLR_ERR_ARG, "slot %d out of range", slot);
    float *arena = r->arena + (size_t)slot * r->slot_floats;
    if (training) {
        memcpy(arena + r->input, x, (size_t)r->n * r->cfg.in_channels * r->cfg.height * r->cfg.width * sizeof(float));
        x = arena + r->input;
    }
    NNCLR_TRY(conv_bn_forward(&r->stem, arena, x, NULL, training, params, buffers));
    const float *cur = arena + r->stem.bn_out;
    if (r->pool) {
        NNCLR_TRY(maxpool_forward(r->pool, arena + r->pool_out, training ? arena + r->pool_saved : NULL, cur));
        cur = arena + r->pool_out;
    }
    for (int bi = 0; bi < r->nblocks; bi++) {
        block *b = &r->blocks[bi];
        const float *shortcut = cur;
        if (b->has_ds) {
            NNCLR_TRY(conv_bn_forward(&b->ds, arena, cur, NULL, training, params, buffers));
            shortcut = arena + b->ds.bn_out;
        }
        /* The last unit's batch norm adds the shortcut and applies the block's ReLU. */
        for (int ui = 0; ui < b->nunits; ui++) {
            NNCLR_TRY(conv_bn_forward(&b->u[ui], arena, cur, ui == b->nunits - 1 ? shortcut : NULL, training,
                                      params, buffers));
            cur = arena + b->u[ui].bn_out;
        }
    }
    global_avgpool_forward(feat, cur, r->n, r->feat_dim, r->out_h, r->out_w);
    return NNCLR_OK;
}

/* The scratch buffer of bufs[0..3) that is neither a nor b. */
static float *other_buffer(float *const bufs[3], const float *a, const float *b) {
    for (int i = 0; i < 3; i++)
        if (bufs[i] != a && bufs[i] != b) return bufs[i];
    return NULL;
}

nnclr_status resnet_backward(resnet *r, int slot, const float *dfeat, const float *params, float *grads) {
    if (slot < 0 || slot >= r->cfg.nslots) return nnclr_fail(NNCLR_ERR_ARG, "slot %d out of range", slot);
    float *arena = r->arena + (size_t)slot * r->slot_floats;
    float *t1 = r->scratch[1];  /* between BN and conv inside conv_bn_backward */
    float *const bufs[3] = {r->scratch[0], r->scratch[2], r->scratch[3]};
    /* The gradient w.r.t. the current block's output is  sc + (pend ? pend : 0):  the previous
     * block's shortcut gradient plus its main path's input gradient, added only where it is
     * used (in the next ReLU backward), never as a pass of its own. */
    float *sc = bufs[0], *pend = NULL;
    global_avgpool_backward(sc, dfeat, r->n, r->feat_dim, r->out_h, r->out_w);
    for (int bi = r->nblocks - 1; bi >= 0; bi--) {
        block *b = &r->blocks[bi];
        conv_bn *last = &b->u[b->nunits - 1];
        const float *in = bi > 0 ? block_output(r, arena, bi - 1) : r->pool ? arena + r->pool_out
                                                                            : arena + r->stem.bn_out;
        /* Through the block's ReLU, in place: m = d(pre-activation sum), the gradient of both
         * the last batch norm's output and the shortcut. */
        float *m = sc;
        if (pend) relu_backward_add(m, sc, pend, arena + last->bn_out, last->out_size);
        else relu_backward(m, sc, arena + last->bn_out, last->out_size);
        /* Shortcut gradient: m itself, or the downsample unit's input gradient. */
        float *shortcut = m;
        if (b->has_ds) {
            shortcut = other_buffer(bufs, m, pend ? pend : m);
            NNCLR_TRY(conv_bn_backward(&b->ds, arena, shortcut, t1, m, in, params, grads));
        }
        const float *dy = m;
        for (int ui = b->nunits - 1; ui >= 0; ui--) {
            const float *x = ui > 0 ? arena + b->u[ui - 1].bn_out : in;
            /* dx into a buffer that holds neither dy nor the shortcut gradient (m is free once
             * the downsample unit and the last unit have read it). */
            float *dx = other_buffer(bufs, dy, shortcut);
            NNCLR_TRY(conv_bn_backward(&b->u[ui], arena, dx, t1, dy, x, params, grads));
            dy = dx;
        }
        sc = shortcut;
        pend = (float *)dy;
    }
    float *g = sc;
    if (pend) add_inplace(g, pend, r->blocks[0].in_size);
    if (r->pool) {
        float *t = other_buffer(bufs, g, g);
        NNCLR_TRY(maxpool_backward(r->pool, t, g, arena + r->pool_saved));
        g = t;
    }
    return conv_bn_backward(&r->stem, arena, NULL, t1, g, arena + r->input, params, grads);
}

/* ---- the backbone seam (model/backbone.h): the ResNet family's row */

static const char *rb_arch_name(int i) {
    return i >= 0 && i < (int)(sizeof ARCHS / sizeof ARCHS[0]) ? ARCHS[i].name : NULL;
}
static nnclr_status rb_create(void **impl, const backbone_config *c, tensor_table *params, tensor_table *buffers) {
    resnet_config rc = {c->arch, c->cifar_stem, c->in_channels, c->height, c->width, c->batch, c->nslots, c->dist,
                        c->precision};
    return resnet_create((resnet **)impl, &rc, params, buffers);
}
static void rb_free(void *impl) { resnet_free(impl); }
static int rb_feature_dim(const void *impl) { return resnet_feature_dim(impl); }
static void rb_init(void *impl, float *params, float *buffers, rng_state *rng) { resnet_init(impl, params, buffers, rng); }
static nnclr_status rb_prepare(void *impl, const float *params) { return resnet_prepare(impl, params); }
static nnclr_status rb_forward(void *impl, int slot, float *feat, const float *x, int training, const float *params,
                               float *buffers) {
    return resnet_forward(impl, slot, feat, x, training, params, buffers);
}
static nnclr_status rb_backward(void *impl, int slot, const float *dfeat, const float *params, float *grads) {
    return resnet_backward(impl, slot, dfeat, params, grads);
}

const backbone_ops resnet_backbone = {"resnet", rb_arch_name, rb_create, rb_free, rb_feature_dim, rb_init,
                                      rb_prepare, rb_forward, rb_backward};
