/* nnclr_model.h - the whole trainable model and what the training step needs, in one struct:
 * backbone + heads sharing one flat parameter buffer (and one gradient buffer, one optimizer
 * state buffer, one BN-statistics buffer), the support set, the RNG, the step counter, and
 * the step's scratch memory (allocated once at create).
 *
 * Data flow: views -> backbone (resnet.c) -> heads (heads.c) -> support set (support_set.c)
 * -> loss (loss.c) -> backward -> optimizer (lars.c) -> support-set push; nnclr_step.c runs
 * it. Checkpoints (checkpoint_state.c) save every buffer named here. */
#ifndef NNCLR_MODEL_NNCLR_MODEL_H
#define NNCLR_MODEL_NNCLR_MODEL_H

#include "core/rng.h"
#include "core/tensors.h"
#include "model/heads.h"
#include "model/backbone.h"
#include "nnclr.h"
#include "optim/lars.h"
#include "optim/schedule.h"
#include "ssl/support_set.h"

struct nnclr_model {
    nnclr_config cfg;
    char arch[16];
    backbone *backbone;   /* model/backbone.h: the registry's family for cfg.arch */
    heads *heads;
    tensor_table params;  /* trained tensors: conv/linear weights, biases, BN gamma/beta */
    tensor_table buffers; /* BN running statistics */
    float *grads;         /* (params.total), in the arena */
    lars opt;             /* optimizer; opt.mu is the (params.total) momentum state */
    lr_schedule sched;
    support_set *queue;
    rng_state rng;        /* top-k sampling */
    int64_t step;
    int prepared;         /* backbone weights reordered for the current params */
    int feat_dim;
    int n;                /* rows per view on this rank: cfg.batch / world */
    int world, rank;      /* data-parallel group (cfg.dist); 1, 0 when single process */

    /* step scratch, carved from one allocation (arena, arena_bytes; nnclr_model.c
     * layout_scratch), per view v = 0, 1; n = rows on this rank, F = feature dim, D = projection dim */
    void *arena;
    size_t arena_bytes;
    float *feat[2];       /* (n, F) */
    float *z[2], *p[2];   /* (n, D) projections and predictions */
    float *zn[2];         /* (n, D) L2-normalised projections */
    float *pos[2];        /* (n, D) positives: NN(zn) or z */
    float *dz[2], *dp[2]; /* (n, D) */
    float *dfeat[2];      /* (n, F) */
    int *nn_idx;          /* (2, n) support-set rows chosen as positives, per view */
    int *use_nn;          /* (2, N) positive of each global row: 1 = neighbour, 0 = own view */
    int *topk_idx;        /* (n, topk) candidate lists for top-k sampling */
    /* the global batch (N = n world rows) when world > 1; NULL otherwise */
    float *g_pos[2], *g_p[2], *g_dpos[2], *g_dp[2]; /* (N, D) */
    float *g_zn;          /* (2, N, D) gathered normalised projections per view: the sharded
                             search's queries, then the push */
    int *g_labels;        /* (N) */
    int *g_idx;           /* (N) sharded NN search: winners over the global batch */
    float *g_sim;         /* (N) */
    float *znorm;         /* (n) row norms (scratch) */
    float *buffers_backup;/* (buffers.total): restored when a step hits NaN */
    float *eval_in;       /* (n, C, H, W): padded chunk for eval */
    float *eval_feat;     /* (n, F) */
    char *config_text;    /* nnclr_model_load: the run's configuration (its strings point here) */
};

#endif
