/* finetune.h - semi-supervised evaluation: fine-tune the whole pretrained network with a new
 * linear classifier on a labelled subset, then score the test set (see finetune.c). */
#ifndef NNCLR_EVAL_FINETUNE_H
#define NNCLR_EVAL_FINETUNE_H

#include <stdint.h>
#include "data/augment.h"
#include "data/dataset.h"
#include "nnclr.h"

typedef struct {
    int epochs;
    double lr;            /* peak, cosine-decayed to 0 per step */
    double weight_decay;  /* on conv/linear weights */
    uint64_t seed;
    void (*progress)(void *user, int epoch, int epochs, double loss);
    void *user;
} finetune_config;

/* m: a model built for the fine-tuning batch, weights loaded. train: the labelled subset.
 * aug: the training augmentation (one view); eval_aug: the test transform. */
nnclr_status finetune_run(nnclr_model *m, const dataset *train, const dataset *test, const augment_config *aug,
                          const augment_config *eval_aug, const finetune_config *fc, double *top1, double *top5);

#endif
