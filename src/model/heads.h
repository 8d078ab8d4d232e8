/* heads.h - the NNCLR projection and prediction MLPs (solo-learn topology), forward and
 * backward on plain row-major matrices.
 *
 * Data flow position: backbone features (N, F) -> projector -> z (N, D) -> predictor -> p (N, D)
 * -> (l2norm, support-set lookup and loss in ssl/). z is returned before normalisation.
 *
 *     projector: Linear(F, H) -> BN1d(H) -> ReLU -> Linear(H, H) -> BN1d(H) -> ReLU
 *                -> Linear(H, D) -> BN1d(D)
 *     predictor: Linear(D, P) -> BN1d(P) -> ReLU -> Linear(P, D)          (optional)
 *
 * Every Linear has a bias and every BN is affine (PyTorch defaults). Parameters are declared
 * into the model's flat parameter table under nn.Sequential state_dict names:
 * "projector.{0,3,6}.{weight,bias}" (linear), "projector.{1,4,7}.{weight,bias}" (BN gamma,
 * beta), "predictor.{0,3}.{weight,bias}", "predictor.1.{weight,bias}"; BN running statistics
 * "<prefix>.<i>.running_mean" / "running_var" go into the buffers table. Linear weights are
 * TENSOR_WEIGHT, everything else TENSOR_NO_DECAY.
 *
 * The activations of `nslots` independent forwards (one per augmented view) are kept, each in
 * its own slice of one arena allocated at create time for up to max_n rows; backward of a slot
 * uses them and two shared scratch matrices. Parameter gradients accumulate. */
#ifndef NNCLR_MODEL_HEADS_H
#define NNCLR_MODEL_HEADS_H

#include <stddef.h>
#include "core/rng.h"
#include "core/tensors.h"
#include "nnclr.h"

typedef struct {
    int feat_dim;      /* F: backbone feature size (512 for ResNet-18, 2048 for ResNet-50) */
    int proj_hidden;   /* H: projector hidden width */
    int proj_dim;      /* D: projection (and prediction) size */
    int pred_hidden;   /* P: predictor hidden width; ignored when use_predictor is 0 */
    int use_predictor; /* 0: p is a copy of z */
    const nnclr_dist *dist; /* NULL or one rank: local BN; else synchronised BN over the group */
} heads_config;

typedef struct heads heads;

/* Declares parameters into `params` and running statistics into `buffers` (before their
 * tensor_table_alloc) and allocates activation memory for `nslots` (1..8) forwards of up to
 * max_n rows each. Zero or negative sizes give NNCLR_ERR_ARG. */
nnclr_status heads_create(heads **out, const heads_config *cfg, int max_n, int nslots,
                          tensor_table *params, tensor_table *buffers);
void heads_free(heads *h);
/* Bytes of the activation arena + backward scratch. */
size_t heads_memory_bytes(const heads *h);

/* PyTorch default init, drawn from rng: Linear weight and bias U(-1/sqrt(fan_in),
 * 1/sqrt(fan_in)) (kaiming_uniform with a = sqrt(5)); BN gamma 1, beta 0, running mean 0,
 * running var 1. Call after tensor_table_alloc of both tables; writes their data. */
void heads_init(heads *h, const tensor_table *params, const tensor_table *buffers, rng_state *rng);

/* z: (n, D) projection, not normalised. p: (n, D) prediction (a copy of z without predictor),
 * or NULL to skip the predictor. feat: (n, F), copied for backward when training.
 * training: 1 = batch statistics (n >= 2), running statistics updated, activations of `slot`
 * kept for backward; 0 = running statistics (the slot's saved activations are invalidated). */
nnclr_status heads_forward(heads *h, int slot, float *z, float *p, const float *feat, int n,
                           int training, const float *params, float *buffers);

/* Backward of the last training forward of `slot` (n must match it). dfeat: (n, F)
 * OVERWRITTEN. dz, dp: (n, D) upstream gradients w.r.t. z and p; either may be NULL (zero);
 * dp needs the forward to have computed p. Parameter gradients ACCUMULATE into grads (same
 * offsets as params). */
nnclr_status heads_backward(heads *h, int slot, float *dfeat, const float *dz, const float *dp,
                            int n, const float *params, float *grads);

#endif
