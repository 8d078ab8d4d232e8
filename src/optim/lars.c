/* lars.c - LARS / SGD with momentum over the flat parameter buffer. See lars.h. */
#include "optim/lars.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/status.h"

lars_config lars_config_default(void) {
    lars_config c = {OPTIM_LARS, 0.9f, 1e-6f, 0.001f};
    return c;
}

nnclr_status lars_init(lars *o, const lars_config *cfg, const tensor_table *params) {
    if (!o || !cfg || !params) return nnclr_fail(NNCLR_ERR_ARG, "lars_init: NULL argument");
    memset(o, 0, sizeof *o);
    if (cfg->kind != OPTIM_LARS && cfg->kind != OPTIM_SGD)
        return nnclr_fail(NNCLR_ERR_ARG, "lars_init: unknown optimizer kind %d", (int)cfg->kind);
    if (!(cfg->momentum >= 0) || !(cfg->weight_decay >= 0) || !(cfg->eta > 0))
        return nnclr_fail(NNCLR_ERR_ARG, "lars_init: momentum %g, weight decay %g must be >= 0, eta %g > 0",
                          (double)cfg->momentum, (double)cfg->weight_decay, (double)cfg->eta);
    if (!params->data) return nnclr_fail(NNCLR_ERR_ARG, "lars_init: parameter table not allocated");
    o->cfg = *cfg;
    o->total = params->total;
    o->mu = nnclr_calloc(o->total ? o->total : 1, sizeof(float));
    return o->mu ? NNCLR_OK : NNCLR_ERR_NOMEM;
}

void lars_free(lars *o) {
    if (!o) return;
    free(o->mu);
    memset(o, 0, sizeof *o);
}

/* Update of one tensor. w, mu: (n) in place; g: (n). */
static void tensor_update(float *w, float *mu, const float *g, size_t n, int decay, int trust,
                          const lars_config *c, float lr) {
    float wd = decay ? c->weight_decay : 0.0f;
    float q = 1.0f;
    if (trust) {
        double ww = 0, gg = 0;
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] + wd * w[i];
            ww += (double)w[i] * w[i];
            gg += (double)gi * gi;
        }
        double wn = sqrt(ww), gn = sqrt(gg);
        if (wn > 0 && gn > 0) q = (float)(c->eta * wn / gn);
    }
    float m = c->momentum;
    for (size_t i = 0; i < n; i++) {
        float gi = (g[i] + wd * w[i]) * q;
        mu[i] = m * mu[i] + gi;
        w[i] -= lr * mu[i];
    }
}

nnclr_status lars_step(lars *o, tensor_table *params, const float *grad, float lr) {
    if (!o || !o->mu || !params || !params->data || !grad)
        return nnclr_fail(NNCLR_ERR_ARG, "lars_step: NULL argument or optimizer not initialised");
    if (params->total != o->total)
        return nnclr_fail(NNCLR_ERR_ARG, "lars_step: parameter table has %zu floats, optimizer %zu",
                          params->total, o->total);
    if (!(lr >= 0) || !isfinite(lr)) return nnclr_fail(NNCLR_ERR_ARG, "lars_step: learning rate %g", (double)lr);
    for (int t = 0; t < params->count; t++) {
        const tensor_entry *e = &params->entries[t];
        const float *g = grad + e->offset;
        for (size_t i = 0; i < e->size; i++)
            if (!isfinite(g[i]))
                return nnclr_fail(NNCLR_ERR_NUMERIC, "lars_step: non-finite gradient in '%s'", e->name);
    }
    int lars_kind = o->cfg.kind == OPTIM_LARS;
#pragma omp parallel for schedule(dynamic, 1)
    for (int t = 0; t < params->count; t++) {
        const tensor_entry *e = &params->entries[t];
        int weight = e->kind == TENSOR_WEIGHT;
        tensor_update(params->data + e->offset, o->mu + e->offset, grad + e->offset, e->size, weight,
                      weight && lars_kind, &o->cfg, lr);
    }
    return NNCLR_OK;
}
