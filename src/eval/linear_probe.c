/* linear_probe.c - softmax regression on frozen features with momentum SGD. See
 * linear_probe.h.
 *
 * One step on a batch of B rows: logits (B, C) = x (B, D) W^T + b; dlogits = (softmax - onehot)
 * / B; dW (C, D) = dlogits^T x; db = column sums of dlogits. Both GEMMs are OpenBLAS sgemm. */
#include "eval/linear_probe.h"

#include "ops/gemm.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "core/cancel.h"
#include "core/status.h"
#include "core/tensors.h"
#include "ops/softmax_xent.h"
#include "optim/lars.h"
#include "optim/schedule.h"

#define PROBE_EVAL_BLOCK 1024

void linear_probe_config_default(linear_probe_config *cfg) {
    cfg->epochs = 100;
    cfg->batch_size = 256;
    cfg->lr = 0.1f;
    cfg->momentum = 0.9f;
    cfg->weight_decay = 0.0f;
    cfg->standardize = 1;
    cfg->seed = 0;
}

static nnclr_status probe_check(const linear_probe_config *cfg, const float *train_feat,
                                const int *train_labels, int n_train, const float *test_feat,
                                const int *test_labels, int n_test, int dim, int num_classes,
                                const double *top1) {
    if (!cfg || !top1) return nnclr_fail(NNCLR_ERR_ARG, "linear probe: config and top1 are required");
    if (cfg->epochs <= 0 || cfg->batch_size <= 0)
        return nnclr_fail(NNCLR_ERR_ARG, "linear probe: epochs (%d) and batch size (%d) must be > 0",
                          cfg->epochs, cfg->batch_size);
    if (!(cfg->lr > 0.0f) || !isfinite(cfg->lr))
        return nnclr_fail(NNCLR_ERR_ARG, "linear probe: lr must be > 0, got %g", cfg->lr);
    if (!(cfg->momentum >= 0.0f && cfg->momentum < 1.0f))
        return nnclr_fail(NNCLR_ERR_ARG, "linear probe: momentum must be in [0, 1), got %g", cfg->momentum);
    if (!(cfg->weight_decay >= 0.0f) || !isfinite(cfg->weight_decay))
        return nnclr_fail(NNCLR_ERR_ARG, "linear probe: weight decay must be >= 0, got %g",
                          cfg->weight_decay);
    if (!train_feat || !train_labels || !test_feat || !test_labels || n_train <= 0 || n_test <= 0 ||
        dim <= 0 || num_classes < 2)
        return nnclr_fail(NNCLR_ERR_ARG, "linear probe: need train and test data and >= 2 classes "
                          "(n_train %d, n_test %d, dim %d, classes %d)", n_train, n_test, dim, num_classes);
    for (int i = 0; i < n_train; i++)
        if (train_labels[i] < 0 || train_labels[i] >= num_classes)
            return nnclr_fail(NNCLR_ERR_ARG, "linear probe: train label %d at row %d is outside [0, %d)",
                              train_labels[i], i, num_classes);
    for (int i = 0; i < n_test; i++)
        if (test_labels[i] < 0 || test_labels[i] >= num_classes)
            return nnclr_fail(NNCLR_ERR_ARG, "linear probe: test label %d at row %d is outside [0, %d)",
                              test_labels[i], i, num_classes);
    return NNCLR_OK;
}

/* xtr: (n_train, dim), xte: (n_test, dim) standardised in place with train statistics. */
static void standardize(float *xtr, int n_train, float *xte, int n_test, int dim) {
#pragma omp parallel for schedule(static)
    for (int j = 0; j < dim; j++) {
        double sum = 0, sq = 0;
        for (int i = 0; i < n_train; i++) sum += xtr[(size_t)i * dim + j];
        double mean = sum / n_train;
        for (int i = 0; i < n_train; i++) {
            double d = xtr[(size_t)i * dim + j] - mean;
            sq += d * d;
        }
        double sd = sqrt(sq / n_train);
        /* A constant feature is only centred: dividing by ~0 would blow up test values. */
        float scale = sd > 1e-6 * (fabs(mean) + 1.0) ? (float)(1.0 / sd) : 1.0f;
        float m = (float)mean;
        for (int i = 0; i < n_train; i++) xtr[(size_t)i * dim + j] = (xtr[(size_t)i * dim + j] - m) * scale;
        for (int i = 0; i < n_test; i++) xte[(size_t)i * dim + j] = (xte[(size_t)i * dim + j] - m) * scale;
    }
}

/* logits: (n, c) = x (n, d) w (c, d)^T + b (c). */
static void probe_logits(float *logits, const float *x, const float *w, const float *b, int n, int d, int c) {
    for (int i = 0; i < n; i++) memcpy(logits + (size_t)i * c, b, (size_t)c * sizeof(float));
    gemm(0, 1, n, c, d, 1.0f, x, d, w, d, 1.0f, logits, c);
}

/* Rank of class y in one row of scores: classes strictly ahead of it (higher score, or equal
 * score and lower index). */
static int class_rank(const float *s, int c, int y) {
    int rank = 0;
    for (int k = 0; k < c; k++)
        if (s[k] > s[y] || (s[k] == s[y] && k < y)) rank++;
    return rank;
}

typedef struct {
    float *xtr, *xte;        /* (n_train, dim), (n_test, dim) working copies */
    tensor_table params;     /* weight (C, dim), bias (C): one flat buffer */
    float *w, *b;            /* into params.data */
    float *grad;             /* (params.total) */
    float *dw, *db;          /* into grad */
    lars opt;                /* momentum SGD (optim/lars.c), weight decay on the weight only */
    float *xb;               /* (batch, dim) gathered batch */
    float *logits;           /* (max(batch, eval block), C) */
    int *perm;               /* (n_train) */
} probe_work;

static void probe_work_free(probe_work *p) {
    free(p->xtr); free(p->xte); tensor_table_free(&p->params); free(p->grad); lars_free(&p->opt);
    free(p->xb); free(p->logits); free(p->perm);
}

nnclr_status linear_probe_train_eval(const linear_probe_config *cfg,
                                     const float *train_feat, const int *train_labels, int n_train,
                                     const float *test_feat, const int *test_labels, int n_test,
                                     int dim, int num_classes, double *top1, double *top5,
                                     linear_probe_progress progress, void *user) {
    NNCLR_TRY(probe_check(cfg, train_feat, train_labels, n_train, test_feat, test_labels, n_test,
                          dim, num_classes, top1));
    const int C = num_classes, D = dim;
    int B = cfg->batch_size < n_train ? cfg->batch_size : n_train;
    int rows = B > PROBE_EVAL_BLOCK ? B : PROBE_EVAL_BLOCK;
    probe_work p;
    memset(&p, 0, sizeof p);
    p.xtr = nnclr_malloc((size_t)n_train * D * sizeof(float));
    p.xte = nnclr_malloc((size_t)n_test * D * sizeof(float));
    p.xb = nnclr_malloc((size_t)B * D * sizeof(float));
    p.logits = nnclr_malloc((size_t)rows * C * sizeof(float));
    p.perm = nnclr_malloc((size_t)n_train * sizeof(int));
    tensor_table_init(&p.params);
    size_t w_off, b_off;
    int wshape[2] = {C, D}, bshape[1] = {C};
    nnclr_status s = tensor_table_add(&p.params, "weight", 2, wshape, TENSOR_WEIGHT, &w_off);
    if (!s) s = tensor_table_add(&p.params, "bias", 1, bshape, TENSOR_NO_DECAY, &b_off);
    if (!s) s = tensor_table_alloc(&p.params);
    lars_config oc = lars_config_default();
    oc.kind = OPTIM_SGD;
    oc.momentum = cfg->momentum;
    oc.weight_decay = cfg->weight_decay;
    if (!s) s = lars_init(&p.opt, &oc, &p.params);
    if (!s && !(p.grad = nnclr_calloc(p.params.total, sizeof(float)))) s = NNCLR_ERR_NOMEM;
    if (!s && (!p.xtr || !p.xte || !p.xb || !p.logits || !p.perm)) s = NNCLR_ERR_NOMEM;
    if (s) {
        probe_work_free(&p);
        return s;
    }
    p.w = p.params.data + w_off;
    p.b = p.params.data + b_off;
    p.dw = p.grad + w_off;
    p.db = p.grad + b_off;
    memcpy(p.xtr, train_feat, (size_t)n_train * D * sizeof(float));
    memcpy(p.xte, test_feat, (size_t)n_test * D * sizeof(float));
    if (cfg->standardize) standardize(p.xtr, n_train, p.xte, n_test, D);

    /* nn.Linear's default initialisation: U(-1/sqrt(D), 1/sqrt(D)) for weights and bias. */
    rng_state rng;
    rng_derive(&rng, cfg->seed, RNG_STREAM_LINEAR_INIT, 0);
    float bound = 1.0f / sqrtf((float)D);
    for (size_t i = 0; i < (size_t)C * D; i++) p.w[i] = (2.0f * rng_uniform(&rng) - 1.0f) * bound;
    for (int i = 0; i < C; i++) p.b[i] = (2.0f * rng_uniform(&rng) - 1.0f) * bound;
    for (int i = 0; i < n_train; i++) p.perm[i] = i;

    int steps_per_epoch = (n_train + B - 1) / B;
    long step = 0;
    lr_schedule sched;
    nnclr_status status = lr_schedule_cosine(&sched, cfg->lr, (long)cfg->epochs * steps_per_epoch);
    for (int epoch = 0; epoch < cfg->epochs && status == NNCLR_OK; epoch++) {
        if (cancel_requested()) {
            status = nnclr_fail(NNCLR_ERR_INTERRUPTED, "linear probe stopped at epoch %d of %d", epoch, cfg->epochs);
            break;
        }
        rng_derive(&rng, cfg->seed, RNG_STREAM_LINEAR_SHUFFLE, (uint64_t)epoch);
        for (int i = n_train - 1; i > 0; i--) {
            int j = (int)rng_below(&rng, (uint64_t)i + 1);
            int t = p.perm[i]; p.perm[i] = p.perm[j]; p.perm[j] = t;
        }
        double loss_sum = 0, lr = cfg->lr;
        long correct = 0;
        for (int s0 = 0; s0 < n_train; s0 += B, step++) {
            int bs = n_train - s0 < B ? n_train - s0 : B;
            for (int r = 0; r < bs; r++)
                memcpy(p.xb + (size_t)r * D, p.xtr + (size_t)p.perm[s0 + r] * D, (size_t)D * sizeof(float));
            probe_logits(p.logits, p.xb, p.w, p.b, bs, D, C);
            /* softmax cross-entropy; logits become dlogits = (p - onehot) / bs */
            double batch_loss = 0;
            memset(p.db, 0, (size_t)C * sizeof(float));
            for (int r = 0; r < bs; r++) {
                float *z = p.logits + (size_t)r * C;
                int y = train_labels[p.perm[s0 + r]];
                correct += class_rank(z, C, y) == 0;
                batch_loss += softmax_xent_row(z, C, y, 1.0 / bs, z);
                for (int c = 0; c < C; c++) p.db[c] += z[c];
            }
            if (!isfinite(batch_loss)) {
                status = nnclr_fail(NNCLR_ERR_NUMERIC, "linear probe: loss is %g at epoch %d",
                                    batch_loss / bs, epoch + 1);
                break;
            }
            loss_sum += batch_loss;
            /* dW (C, D) = dlogits (bs, C)^T x (bs, D) */
            gemm(1, 0, C, D, bs, 1.0f, p.logits, C, p.xb, D, 0.0f, p.dw, D);
            lr = lr_schedule_at(&sched, step);
            if ((status = lars_step(&p.opt, &p.params, p.grad, (float)lr))) break;
        }
        if (status == NNCLR_OK && progress)
            progress(user, epoch + 1, cfg->epochs, loss_sum / n_train, (double)correct / n_train, lr);
    }

    if (status == NNCLR_OK) {
        long c1 = 0, c5 = 0;
        for (int i0 = 0; i0 < n_test; i0 += rows) {
            int bs = n_test - i0 < rows ? n_test - i0 : rows;
            probe_logits(p.logits, p.xte + (size_t)i0 * D, p.w, p.b, bs, D, C);
            for (int r = 0; r < bs; r++) {
                int rank = class_rank(p.logits + (size_t)r * C, C, test_labels[i0 + r]);
                c1 += rank == 0;
                c5 += rank < 5;
            }
        }
        *top1 = (double)c1 / n_test;
        if (top5) *top5 = C >= 5 ? (double)c5 / n_test : NAN;
    }
    probe_work_free(&p);
    return status;
}
