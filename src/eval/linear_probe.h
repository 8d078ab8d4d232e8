/* linear_probe.h - the linear evaluation protocol on FROZEN features (`nnclr eval --linear`):
 * a linear classifier (weights + bias) on top of features extracted once by the backbone,
 * trained with mini-batch SGD (momentum 0.9, cross-entropy, optional weight decay on the
 * weights, cosine learning-rate schedule, reshuffled every epoch from a seed) and scored by
 * top-1 / top-5 accuracy on the test features.
 *
 * With standardize = 1 (the default) every feature is shifted and scaled by the mean and
 * standard deviation computed on the TRAIN set (features with zero spread are left unscaled);
 * the same transform is applied to the test set. The inputs are never modified. */
#ifndef NNCLR_EVAL_LINEAR_PROBE_H
#define NNCLR_EVAL_LINEAR_PROBE_H

#include <stdint.h>
#include "nnclr.h"

typedef struct {
    int epochs;            /* default 100 */
    int batch_size;        /* default 256 (the last batch of an epoch may be smaller) */
    float lr;              /* peak learning rate, default 0.1, cosine-annealed to 0 over all steps */
    float momentum;        /* default 0.9 (PyTorch SGD form: v = m v + g; w -= lr v) */
    float weight_decay;    /* default 0; applied to the weights, not the bias */
    int standardize;       /* default 1: per-feature mean/std from the train set */
    uint64_t seed;         /* shuffling and initialisation; default 0 */
} linear_probe_config;

void linear_probe_config_default(linear_probe_config *cfg);

/* Called after every epoch (epoch counts from 1): mean train loss and train accuracy over the
 * epoch's batches, and the learning rate of the epoch's last step. */
typedef void (*linear_probe_progress)(void *user, int epoch, int epochs, double train_loss,
                                      double train_acc, double lr);

/* train_feat: (n_train, dim), train_labels: (n_train) in [0, num_classes), likewise test.
 * top1, top5: fractions in [0, 1]; top5 may be NULL and is NaN when num_classes < 5.
 * progress may be NULL. NNCLR_ERR_NUMERIC when the loss becomes NaN/Inf. */
nnclr_status linear_probe_train_eval(const linear_probe_config *cfg,
                                     const float *train_feat, const int *train_labels, int n_train,
                                     const float *test_feat, const int *test_labels, int n_test,
                                     int dim, int num_classes, double *top1, double *top5,
                                     linear_probe_progress progress, void *user);

#endif
