/* backbone.h - the backbone seam: what the model needs of an image encoder, as one table of
 * operations per backbone family, and the registry of families.
 *
 * A family (model/resnet.c: the ResNets) names the architectures it builds and implements
 * create / init / prepare / forward / backward / feature_dim / free over the model's flat
 * parameter and buffer tables (core/tensors.h). The model (model/nnclr_model.c), the training
 * step, fine-tuning, the configuration's validation and `nnclr train --help` all go through
 * here: adding a backbone is one new file with its table and one row in backbone.c's registry.
 *
 * Data flow: backbone_create declares the family's tensors in the model's tables (before they
 * are allocated); after allocation backbone_init fills them; each step calls prepare (weights
 * changed), forward (per view slot, training or eval mode) and backward (into the gradient
 * buffer). */
#ifndef NNCLR_MODEL_BACKBONE_H
#define NNCLR_MODEL_BACKBONE_H

#include <stddef.h>
#include "core/rng.h"
#include "core/tensors.h"
#include "nnclr.h"

typedef struct {
    const char *arch;       /* one of the family's names */
    int cifar_stem;         /* family-specific stem switch (ResNet-18/34/50: 3x3 s1, no max-pool) */
    int in_channels;        /* 1 or 3 */
    int height, width;      /* input size */
    int batch;              /* images per forward (fixed) */
    int nslots;             /* forwards whose activations are kept for backward (2 views: 2) */
    const nnclr_dist *dist; /* NULL or one rank: local batch norm; else synchronised */
    int precision;          /* nnclr_precision of the convolutions */
} backbone_config;

typedef struct {
    const char *family;     /* e.g. "resnet" */
    const char *(*arch_name)(int i); /* the i-th architecture it builds, NULL past the last */
    nnclr_status (*create)(void **impl, const backbone_config *cfg, tensor_table *params, tensor_table *buffers);
    void (*free)(void *impl);
    int (*feature_dim)(const void *impl);
    void (*init)(void *impl, float *params, float *buffers, rng_state *rng);
    /* After every change of params (e.g. weight layouts for the kernels). */
    nnclr_status (*prepare)(void *impl, const float *params);
    /* feat: (batch, F) OUT. x: (batch, C, H, W). training: batch statistics, kept for backward. */
    nnclr_status (*forward)(void *impl, int slot, float *feat, const float *x, int training, const float *params,
                            float *buffers);
    /* Backward of the last training forward of `slot`; parameter gradients ACCUMULATE into grads. */
    nnclr_status (*backward)(void *impl, int slot, const float *dfeat, const float *params, float *grads);
} backbone_ops;

typedef struct {
    const backbone_ops *ops;
    void *impl;
} backbone;

/* The family that builds `arch`, or NULL. */
const backbone_ops *backbone_find(const char *arch);
/* All architecture names of the registry, "a|b|c" (static storage). */
const char *backbone_names(void);
/* Adds a family at run time (tests, extensions); NNCLR_ERR_ARG when full or a name is taken. */
nnclr_status backbone_register(const backbone_ops *ops);

nnclr_status backbone_create(backbone **out, const backbone_config *cfg, tensor_table *params, tensor_table *buffers);
void backbone_free(backbone *b);
static inline int backbone_feature_dim(const backbone *b) { return b->ops->feature_dim(b->impl); }
static inline void backbone_init(backbone *b, float *params, float *buffers, rng_state *rng) {
    b->ops->init(b->impl, params, buffers, rng);
}
static inline nnclr_status backbone_prepare(backbone *b, const float *params) { return b->ops->prepare(b->impl, params); }
static inline nnclr_status backbone_forward(backbone *b, int slot, float *feat, const float *x, int training,
                                            const float *params, float *buffers) {
    return b->ops->forward(b->impl, slot, feat, x, training, params, buffers);
}
static inline nnclr_status backbone_backward(backbone *b, int slot, const float *dfeat, const float *params,
                                             float *grads) {
    return b->ops->backward(b->impl, slot, dfeat, params, grads);
}

/* The families compiled in (one row each in backbone.c). */
extern const backbone_ops resnet_backbone;

#endif
