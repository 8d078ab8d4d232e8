/* lars.h - LARS (and plain SGD with momentum) over the flat parameter buffer.
 *
 * The training step calls lars_step once per iteration after the gradients of the whole model
 * (backbone + heads, one flat buffer with the parameter table's offsets; all-reduced when
 * distributed) are complete. Per tensor of the table, exactly the common PyTorch LARS
 * (Barlow Twins; solo-learn with exclude_bias_n_norm):
 *
 *     g = grad
 *     if kind == TENSOR_WEIGHT:
 *         g += wd * w
 *         q = (||w|| > 0 && ||g|| > 0) ? eta * ||w|| / ||g|| : 1
 *         g *= q
 *     mu = momentum * mu + g
 *     w -= lr * mu
 *
 * TENSOR_NO_DECAY tensors (biases, BN affine) get neither decay nor trust ratio. With
 * OPTIM_SGD it is PyTorch SGD (dampening 0, no Nesterov): the same without the trust ratio,
 * decay still only on TENSOR_WEIGHT tensors. Norms are accumulated in double. */
#ifndef NNCLR_OPTIM_LARS_H
#define NNCLR_OPTIM_LARS_H

#include <stddef.h>
#include "core/tensors.h"
#include "nnclr.h"

typedef enum { OPTIM_LARS = 0, OPTIM_SGD = 1 } optim_kind;

typedef struct {
    optim_kind kind;
    float momentum;     /* 0.9 */
    float weight_decay; /* 1e-6 */
    float eta;          /* LARS trust coefficient, 0.001 */
} lars_config;

typedef struct {
    lars_config cfg;
    size_t total; /* floats, = the parameter table's total */
    float *mu;    /* (total) momentum buffer, zero at init; saved in checkpoints */
} lars;

/* The defaults above, kind OPTIM_LARS. */
lars_config lars_config_default(void);
/* Momentum buffer sized for `params` (declared and allocated), zeroed. */
nnclr_status lars_init(lars *o, const lars_config *cfg, const tensor_table *params);
void lars_free(lars *o);
/* One update of params->data in place. grad: (params->total) flat, same offsets. lr >= 0.
 * NNCLR_ERR_NUMERIC (before touching anything) when a gradient is NaN or Inf. */
nnclr_status lars_step(lars *o, tensor_table *params, const float *grad, float lr);

#endif
