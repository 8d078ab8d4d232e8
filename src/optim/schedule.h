/* schedule.h - the learning-rate schedule: linear scaling, linear warm-up, cosine decay.
 *
 * The training loop asks lr_schedule_at(step) before each lars_step. With
 * peak = base_lr * batch / 256 (the linear scaling rule; batch is the global batch size):
 *
 *     step <  warmup:          lr = peak * (step + 1) / warmup
 *     warmup <= step < total:  lr = peak * 0.5 * (1 + cos(pi * (step - warmup) / (total - warmup)))
 *     step >= total:           lr = 0
 *
 * so the first step already trains (peak / warmup), the last warm-up step and the first cosine
 * step both use the peak, and the cosine reaches 0 at step == total (solo-learn's
 * LinearWarmupCosineAnnealingLR stepped per iteration, with eta_min = 0, except that its
 * warm-up starts from exactly 0 and ends at step warmup - 1 via step / (warmup - 1)). */
#ifndef NNCLR_OPTIM_SCHEDULE_H
#define NNCLR_OPTIM_SCHEDULE_H

#include "nnclr.h"

typedef struct {
    double base_lr;    /* per 256 samples */
    int batch;         /* global batch size */
    long warmup_steps; /* 0 = no warm-up */
    long total_steps;  /* >= 1, >= warmup_steps */
} lr_schedule;

/* Validates and fills s. */
nnclr_status lr_schedule_init(lr_schedule *s, double base_lr, int batch, long warmup_steps,
                              long total_steps);
/* Learning rate for 0-based `step` (negative steps are treated as 0). */
double lr_schedule_at(const lr_schedule *s, long step);
/* A plain cosine decay from `peak` to 0 over total_steps, no warm-up and no batch scaling (the
 * linear probe and fine-tuning). */
nnclr_status lr_schedule_cosine(lr_schedule *s, double peak, long total_steps);

#endif
