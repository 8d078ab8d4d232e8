/* test_backbone.c - the backbone seam (src/model/backbone.h): a tiny extra family registered at
 * run time ("tinynet": global average pool of each input channel, then a linear layer to 8
 * features) is found by name, listed among the configuration's choices, accepted by the
 * configuration check, builds a model, and trains: the loss is finite and the step changes its
 * weights (the gradient reached the backbone through the seam); its backward is checked
 * against finite differences of the same scalar. Taken names and incomplete tables are
 * refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/backbone.h"
#include "model/nnclr_model.h"
#include "testlib.h"

#define F 8

typedef struct {
    int c, hw, batch, nslots;
    size_t w_off, b_off;
    float *pooled; /* (nslots, batch, c) */
} tiny;

static nnclr_status tiny_create(void **impl, const backbone_config *cfg, tensor_table *params, tensor_table *buffers) {
    (void)buffers;
    tiny *t = calloc(1, sizeof *t);
    if (!t) return NNCLR_ERR_NOMEM;
    t->c = cfg->in_channels;
    t->hw = cfg->height * cfg->width;
    t->batch = cfg->batch;
    t->nslots = cfg->nslots;
    t->pooled = calloc((size_t)t->nslots * t->batch * t->c, sizeof(float));
    int ws[2] = {F, t->c}, bs[1] = {F};
    nnclr_status s = tensor_table_add(params, "backbone.fc.weight", 2, ws, TENSOR_WEIGHT, &t->w_off);
    if (!s) s = tensor_table_add(params, "backbone.fc.bias", 1, bs, TENSOR_NO_DECAY, &t->b_off);
    if (s || !t->pooled) {
        free(t->pooled);
        free(t);
        return s ? s : NNCLR_ERR_NOMEM;
    }
    *impl = t;
    return NNCLR_OK;
}
static void tiny_free(void *impl) {
    tiny *t = impl;
    free(t->pooled);
    free(t);
}
static int tiny_feature_dim(const void *impl) { (void)impl; return F; }
static void tiny_init(void *impl, float *params, float *buffers, rng_state *rng) {
    (void)buffers;
    tiny *t = impl;
    for (int i = 0; i < F * t->c; i++) params[t->w_off + i] = rng_normal(rng);
    for (int i = 0; i < F; i++) params[t->b_off + i] = 0.1f * rng_normal(rng);
}
static nnclr_status tiny_prepare(void *impl, const float *params) { (void)impl; (void)params; return NNCLR_OK; }
static nnclr_status tiny_forward(void *impl, int slot, float *feat, const float *x, int training, const float *params,
                                 float *buffers) {
    (void)training; (void)buffers;
    tiny *t = impl;
    float *pool = t->pooled + (size_t)slot * t->batch * t->c;
    for (int b = 0; b < t->batch; b++)
        for (int ch = 0; ch < t->c; ch++) {
            double s = 0;
            for (int i = 0; i < t->hw; i++) s += x[((size_t)b * t->c + ch) * t->hw + i];
            pool[b * t->c + ch] = (float)(s / t->hw);
        }
    for (int b = 0; b < t->batch; b++)
        for (int f = 0; f < F; f++) {
            double s = params[t->b_off + f];
            for (int ch = 0; ch < t->c; ch++) s += (double)params[t->w_off + f * t->c + ch] * pool[b * t->c + ch];
            feat[b * F + f] = (float)s;
        }
    return NNCLR_OK;
}
static nnclr_status tiny_backward(void *impl, int slot, const float *dfeat, const float *params, float *grads) {
    (void)params;
    tiny *t = impl;
    const float *pool = t->pooled + (size_t)slot * t->batch * t->c;
    for (int b = 0; b < t->batch; b++)
        for (int f = 0; f < F; f++) {
            grads[t->b_off + f] += dfeat[b * F + f];
            for (int ch = 0; ch < t->c; ch++) grads[t->w_off + f * t->c + ch] += dfeat[b * F + f] * pool[b * t->c + ch];
        }
    return NNCLR_OK;
}

static const char *tiny_arch_name(int i) { return i == 0 ? "tinynet" : NULL; }
static const backbone_ops tiny_backbone = {"tiny", tiny_arch_name, tiny_create, tiny_free, tiny_feature_dim, tiny_init,
                                           tiny_prepare, tiny_forward, tiny_backward};

int main(void) {
    check_true("tinynet unknown before registration", backbone_find("tinynet") == NULL);
    check_true("register tinynet", backbone_register(&tiny_backbone) == NNCLR_OK);
    check_true("found by name", backbone_find("tinynet") == &tiny_backbone);
    check_true("ResNets still found", backbone_find("resnet20") == &resnet_backbone);
    check_true("listed among the backbone names", strstr(backbone_names(), "|tinynet") != NULL);
    check_true("a taken name is refused", backbone_register(&tiny_backbone) == NNCLR_ERR_ARG);
    backbone_ops broken = tiny_backbone;
    broken.backward = NULL;
    check_true("an incomplete table is refused", backbone_register(&broken) == NNCLR_ERR_ARG);

    int nkeys;
    const nnclr_config_key *keys = nnclr_train_config_keys(&nkeys);
    int listed = 0;
    for (int i = 0; i < nkeys; i++)
        if (!strcmp(keys[i].name, "arch")) listed = keys[i].choices && strstr(keys[i].choices, "tinynet");
    check_true("the configuration schema offers --arch tinynet", listed);
    nnclr_train_config rc;
    nnclr_train_config_preset(&rc, "small");
    rc.arch = "tinynet";
    check_true("the configuration check accepts it", nnclr_train_config_check(&rc) == NNCLR_OK);
    rc.arch = "tinynet2";
    check_true("...and still refuses an unknown name", nnclr_train_config_check(&rc) == NNCLR_ERR_ARG &&
                                                       strstr(nnclr_last_error(), "tinynet2"));

    nnclr_config c;
    nnclr_config_default(&c);
    c.arch = "tinynet";
    c.in_channels = 3;
    c.height = c.width = 16;
    c.batch = 8;
    c.proj_hidden = 16;
    c.proj_dim = 8;
    c.pred_hidden = 16;
    c.queue_size = 32;
    c.total_steps = 10;
    c.seed = 3;
    nnclr_model *m = NULL;
    if (!check_true("nnclr_model_create builds a tinynet model", nnclr_model_create(&m, &c) == NNCLR_OK))
        return test_summary();
    check_true("feature dim from the table", nnclr_model_feature_dim(m) == F);
    const tensor_entry *w = tensor_table_find(&m->params, "backbone.fc.weight");
    check_true("its tensors live in the model's flat parameter table", w != NULL);
    size_t nimg = (size_t)8 * 3 * 16 * 16;
    float *v1 = malloc(nimg * sizeof(float)), *v2 = malloc(nimg * sizeof(float));
    srand(5);
    for (size_t i = 0; i < nimg; i++) {
        v1[i] = (float)rand() / RAND_MAX;
        v2[i] = v1[i] + 0.05f * ((float)rand() / RAND_MAX - 0.5f);
    }
    float before[F * 3];
    memcpy(before, m->params.data + w->offset, sizeof before);
    nnclr_step_stats st;
    check_true("a training step through the seam", nnclr_step(m, v1, v2, NULL, &st) == NNCLR_OK && isfinite(st.loss));
    check_true("the step changed the backbone's weights", memcmp(before, m->params.data + w->offset, sizeof before) != 0);

    /* Backward against finite differences of s(W) = sum_b,f g[b,f] feat[b,f](W) on one weight. */
    float feat[8 * F], g[8 * F];
    for (int i = 0; i < 8 * F; i++) g[i] = (float)rand() / RAND_MAX - 0.5f;
    float *p = m->params.data;
    backbone_forward(m->backbone, 0, feat, v1, 1, p, m->buffers.data);
    /* Gradients are indexed by the table's offsets: a full-size buffer. */
    float *gfull = calloc(m->params.total, sizeof(float));
    backbone_backward(m->backbone, 0, g, p, gfull);
    size_t idx = w->offset + 4;
    double eps = 1e-2, sp = 0, sm = 0;
    float keep = p[idx];
    p[idx] = keep + (float)eps;
    backbone_forward(m->backbone, 0, feat, v1, 1, p, m->buffers.data);
    for (int i = 0; i < 8 * F; i++) sp += (double)g[i] * feat[i];
    p[idx] = keep - (float)eps;
    backbone_forward(m->backbone, 0, feat, v1, 1, p, m->buffers.data);
    for (int i = 0; i < 8 * F; i++) sm += (double)g[i] * feat[i];
    p[idx] = keep;
    double fd = (sp - sm) / (2 * eps);
    char what[160];
    snprintf(what, sizeof what, "backward vs finite difference: %.6f vs %.6f (rel 1e-3)", gfull[idx], fd);
    check_true(what, fabs(gfull[idx] - fd) <= 1e-3 * fabs(fd) + 1e-5);
    free(gfull);
    nnclr_model_free(m);
    free(v1);
    free(v2);
    return test_summary();
}
