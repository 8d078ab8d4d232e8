/* finetune.c - the semi-supervised protocol of the paper: the pretrained backbone plus a new
 * linear classifier, the whole network trained with cross-entropy on a labelled subset
 * (random resized crop + flip), SGD with momentum, cosine schedule; then top-1/top-5 on the
 * test set with eval-mode BN. Uses the model's backbone in place (its weights change). */
#include "eval/finetune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/loader.h"
#include "model/nnclr_model.h"
#include "ops/linear.h"
#include "ops/softmax_xent.h"
#include "optim/lars.h"
#include "optim/schedule.h"

/* Softmax cross-entropy over rows: loss (mean) and dlogits = (softmax - onehot) / n. */
static double softmax_ce(float *dlogits, const float *logits, const int *labels, int n, int k) {
    double loss = 0;
    for (int i = 0; i < n; i++)
        loss += softmax_xent_row(logits + (size_t)i * k, k, labels[i], 1.0 / n, dlogits + (size_t)i * k);
    return loss / n;
}

/* Rank of the true class among the logits (0 = predicted). */
static int true_rank(const float *l, int label, int k) {
    int r = 0;
    for (int j = 0; j < k; j++) r += l[j] > l[label] || (l[j] == l[label] && j < label);
    return r;
}

nnclr_status finetune_run(nnclr_model *m, const dataset *train, const dataset *test, const augment_config *aug,
                          const augment_config *eval_aug, const finetune_config *fc, double *top1, double *top5) {
    const nnclr_config *c = nnclr_model_config(m);
    int B = c->batch, F = m->feat_dim, K = train->num_classes;
    if (!train->labels || !test->labels || K < 2) return nnclr_fail(NNCLR_ERR_ARG, "fine-tuning needs labelled data");
    if (train->n < B)
        return nnclr_fail(NNCLR_ERR_ARG, "the labelled subset has %d images, fewer than one batch of %d", train->n, B);
    if (fc->epochs < 1 || !(fc->lr >= 0)) return nnclr_fail(NNCLR_ERR_ARG, "fine-tuning needs epochs >= 1 and lr >= 0");

    /* The classifier: its own small parameter table and SGD state. */
    tensor_table head;
    tensor_table_init(&head);
    size_t w_off, b_off;
    int wshape[2] = {K, F}, bshape[1] = {K};
    nnclr_status s = tensor_table_add(&head, "classifier.weight", 2, wshape, TENSOR_WEIGHT, &w_off);
    if (!s) s = tensor_table_add(&head, "classifier.bias", 1, bshape, TENSOR_NO_DECAY, &b_off);
    if (!s) s = tensor_table_alloc(&head);
    if (s) { tensor_table_free(&head); return s; }
    rng_state rng;
    rng_derive(&rng, fc->seed, RNG_STREAM_FINETUNE, 0);
    float bound = 1.0f / sqrtf((float)F);
    for (size_t i = 0; i < head.total; i++) head.data[i] = 0;
    for (size_t i = 0; i < (size_t)K * F; i++) head.data[w_off + i] = (2 * rng_uniform(&rng) - 1) * bound;

    lars_config oc = lars_config_default();
    oc.kind = OPTIM_SGD;
    oc.momentum = 0.9f;
    oc.weight_decay = (float)fc->weight_decay;
    lars opt_bb = {0}, opt_head = {0};
    loader *ld = NULL;
    size_t img = (size_t)aug->channels * aug->size * aug->size;
    float *x = nnclr_malloc((size_t)B * img * sizeof(float));
    float *feat = nnclr_malloc((size_t)B * F * sizeof(float)), *dfeat = nnclr_malloc((size_t)B * F * sizeof(float));
    float *logits = nnclr_malloc((size_t)B * K * sizeof(float)), *dlog = nnclr_malloc((size_t)B * K * sizeof(float));
    float *hgrad = nnclr_calloc(head.total, sizeof(float));
    int *labels = nnclr_malloc((size_t)B * sizeof(int));
    float *tfeat = NULL;
    if (!x || !feat || !dfeat || !logits || !dlog || !hgrad || !labels) { s = NNCLR_ERR_NOMEM; goto done; }
    if ((s = lars_init(&opt_bb, &oc, &m->params)) || (s = lars_init(&opt_head, &oc, &head))) goto done;
    loader_config lc = {B, 1, 2, 1, 1, fc->seed, 0, 1, 0};
    if ((s = loader_create(&ld, train, aug, &lc))) goto done;
    long steps = (long)loader_batches_per_epoch(ld) * fc->epochs, step = 0;
    lr_schedule sched;
    if ((s = lr_schedule_cosine(&sched, fc->lr, steps))) goto done;

    for (int epoch = 0; epoch < fc->epochs; epoch++) {
        if ((s = loader_start_epoch(ld, epoch, 0))) goto done;
        double loss_sum = 0;
        int nb = 0;
        for (;;) {
            int n, end;
            if ((s = loader_next(ld, x, NULL, labels, &n, &end))) goto done;
            if (end) break;
            if ((s = backbone_prepare(m->backbone, m->params.data))) goto done;
            memset(m->grads, 0, m->params.total * sizeof(float));
            memset(hgrad, 0, head.total * sizeof(float));
            if ((s = backbone_forward(m->backbone, 0, feat, x, 1, m->params.data, m->buffers.data))) goto done;
            linear_forward(logits, feat, head.data + w_off, head.data + b_off, B, F, K);
            double loss = softmax_ce(dlog, logits, labels, B, K);
            if (!isfinite(loss)) { s = nnclr_fail(NNCLR_ERR_NUMERIC, "fine-tuning loss is not finite"); goto done; }
            linear_backward(dfeat, hgrad + w_off, hgrad + b_off, dlog, feat, head.data + w_off, B, F, K);
            if ((s = backbone_backward(m->backbone, 0, dfeat, m->params.data, m->grads))) goto done;
            double lr = lr_schedule_at(&sched, step);
            if ((s = lars_step(&opt_bb, &m->params, m->grads, (float)lr))) goto done;
            if ((s = lars_step(&opt_head, &head, hgrad, (float)lr))) goto done;
            loss_sum += loss;
            nb++;
            step++;
        }
        if (fc->progress) fc->progress(fc->user, epoch + 1, fc->epochs, loss_sum / (nb ? nb : 1));
    }
    m->prepared = 0;

    /* Test: eval-mode features, then the classifier. */
    tfeat = nnclr_malloc((size_t)test->n * F * sizeof(float));
    if (!tfeat) { s = NNCLR_ERR_NOMEM; goto done; }
    for (int i0 = 0; i0 < test->n; i0 += B) {
        int nb = test->n - i0 < B ? test->n - i0 : B;
        for (int i = 0; i < nb; i++) augment_eval(eval_aug, x + (size_t)i * img, &test->images[i0 + i]);
        if ((s = nnclr_model_features(m, x, nb, tfeat + (size_t)i0 * F))) goto done;
    }
    long hit1 = 0, hit5 = 0;
    for (int i0 = 0; i0 < test->n; i0 += B) {
        int nb = test->n - i0 < B ? test->n - i0 : B;
        linear_forward(logits, tfeat + (size_t)i0 * F, head.data + w_off, head.data + b_off, nb, F, K);
        for (int i = 0; i < nb; i++) {
            int r = true_rank(logits + (size_t)i * K, test->labels[i0 + i], K);
            hit1 += r == 0;
            hit5 += r < 5;
        }
    }
    *top1 = (double)hit1 / test->n;
    *top5 = K >= 5 ? (double)hit5 / test->n : NAN;
done:
    loader_free(ld);
    lars_free(&opt_bb);
    lars_free(&opt_head);
    tensor_table_free(&head);
    free(x); free(feat); free(dfeat); free(logits); free(dlog); free(hgrad); free(labels); free(tfeat);
    return s;
}
