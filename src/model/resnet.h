/* resnet.h - the backbone: ResNet-18/34/50 (torchvision topology, ImageNet or CIFAR stem) and
 * the CIFAR ResNet-20/32/56, forward and backward on the blocked oneDNN ops.
 *
 * Data flow position: augmented views (plain NCHW floats) -> resnet -> pooled features (N, F)
 * -> heads. Parameters (conv weights, BN gamma/beta) are declared into the model's flat
 * parameter table under PyTorch's names with the prefix "backbone." (so torchvision weights
 * load by name); BN running statistics go into the buffers table. Activations of `nslots`
 * independent forwards (one per view) live in one arena allocated at create time for the
 * fixed batch; backward reuses four shared gradient scratch buffers. */
#ifndef NNCLR_MODEL_RESNET_H
#define NNCLR_MODEL_RESNET_H

#include <stddef.h>
#include "core/rng.h"
#include "core/tensors.h"
#include "nnclr.h"

typedef struct {
    const char *arch;  /* resnet18 / 34 / 50 (ImageNet), resnet8 / 14 / 20 / 32 / 44 / 56 / 110 (CIFAR, 6n+2) */
    int cifar_stem;    /* resnet18/34/50 only: 1 = 3x3 s1 conv and no max-pool */
    int in_channels;   /* 1 or 3 */
    int height, width; /* input size, each >= 16 */
    int batch;         /* images per forward (fixed: primitives are made for it) */
    int nslots;        /* forwards whose activations are kept for backward (2 views: 2) */
    const nnclr_dist *dist; /* NULL or one rank: local BN; else synchronised BN over the group */
    int precision;     /* nnclr_precision of the convolutions (the stem's stays float32) */
} resnet_config;

typedef struct resnet resnet;

nnclr_status resnet_create(resnet **out, const resnet_config *cfg, tensor_table *params,
                           tensor_table *buffers);
void resnet_free(resnet *r);
int resnet_feature_dim(const resnet *r);
/* Bytes of activation arena + gradient scratch. */
size_t resnet_memory_bytes(const resnet *r);
/* Multiply-adds x 2 of all convolutions for one image, forward only. */
double resnet_forward_flops(const resnet *r);

/* torchvision init: conv Kaiming normal (fan_out, ReLU gain), BN gamma 1 beta 0, running
 * mean 0 var 1. Call after tensor_table_alloc. */
void resnet_init(resnet *r, float *params, float *buffers, rng_state *rng);
/* Reorders conv weights for the oneDNN kernels; call after every change of params. */
nnclr_status resnet_prepare(resnet *r, const float *params);
/* feat: (batch, F) plain OUT. x: (batch, C, H, W) plain. training: 1 = batch statistics,
 * running stats updated, activations of `slot` kept for backward; 0 = running statistics. */
nnclr_status resnet_forward(resnet *r, int slot, float *feat, const float *x, int training,
                            const float *params, float *buffers);
/* Backward of the last training forward of `slot`. dfeat: (batch, F). Parameter gradients
 * ACCUMULATE into grads (same offsets as params). */
nnclr_status resnet_backward(resnet *r, int slot, const float *dfeat, const float *params,
                             float *grads);

#endif
