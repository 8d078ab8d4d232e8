/* test_linear_probe.c - the linear probe on frozen features: accuracy on a separable synthetic
 * set (with and without standardisation), the progress callback, determinism, untouched
 * inputs, and argument / numeric errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "core/status.h"
#include "eval/linear_probe.h"
#include "testlib.h"

typedef struct {
    int calls;
    double first_loss, last_loss, last_lr;
} progress_log;

static void on_epoch(void *user, int epoch, int epochs, double loss, double acc, double lr) {
    progress_log *p = user;
    (void)acc;
    (void)epochs;
    if (epoch == 1) p->first_loss = loss;
    p->last_loss = loss;
    p->last_lr = lr;
    p->calls++;
}

/* Nearly separable classes: x = centre[label] + N(0, 1) with U(-1, 1) centres in 64-D (the
 * Bayes-optimal accuracy is close to but below 100 %), then an offset and a scale per feature
 * so that standardisation has something to undo. */
static void make_set(float *x, int *y, int n, int dim, int classes, const float *centres, uint64_t seed) {
    rng_state r;
    rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        int c = (int)rng_below(&r, (uint64_t)classes);
        y[i] = c;
        for (int j = 0; j < dim; j++)
            x[(size_t)i * dim + j] = (centres[c * dim + j] + rng_normal(&r)) * (1.0f + j % 4) + 5.0f;
    }
}

int main(void) {
    const int dim = 64, classes = 10, ntr = 2000, nte = 500;
    float *centres = malloc(sizeof(float) * classes * dim);
    fill_uniform(centres, (size_t)classes * dim, 5);
    float *xtr = malloc(sizeof(float) * ntr * dim), *xte = malloc(sizeof(float) * nte * dim);
    int *ytr = malloc(sizeof(int) * ntr), *yte = malloc(sizeof(int) * nte);
    make_set(xtr, ytr, ntr, dim, classes, centres, 21);
    make_set(xte, yte, nte, dim, classes, centres, 22);
    float *xtr_copy = malloc(sizeof(float) * ntr * dim);
    memcpy(xtr_copy, xtr, sizeof(float) * ntr * dim);

    linear_probe_config cfg;
    linear_probe_config_default(&cfg);
    check_true("defaults: 100 epochs, batch 256, lr 0.1, momentum 0.9, wd 0, standardised",
               cfg.epochs == 100 && cfg.batch_size == 256 && cfg.lr == 0.1f && cfg.momentum == 0.9f &&
               cfg.weight_decay == 0.0f && cfg.standardize == 1);
    cfg.epochs = 20;
    cfg.batch_size = 128;
    cfg.seed = 7;
    progress_log plog = {0, 0, 0, 0};
    double top1 = -1, top5 = -1;
    check_true("standardised: ok",
               linear_probe_train_eval(&cfg, xtr, ytr, ntr, xte, yte, nte, dim, classes, &top1, &top5,
                                       on_epoch, &plog) == NNCLR_OK);
    printf("standardised: top1 %.4f top5 %.4f, loss %.4f -> %.4f\n", top1, top5, plog.first_loss,
           plog.last_loss);
    check_true("standardised: top1 >= 0.95", top1 >= 0.95);
    check_true("standardised: top5 >= top1", top5 >= top1 && top5 <= 1.0);
    check_true("progress: called once per epoch", plog.calls == cfg.epochs);
    check_true("progress: loss decreases", plog.last_loss < 0.5 * plog.first_loss);
    check_true("progress: cosine lr ends near 0", plog.last_lr >= 0 && plog.last_lr < 0.01 * cfg.lr);
    check_true("inputs unchanged", memcmp(xtr, xtr_copy, sizeof(float) * ntr * dim) == 0);

    double again1 = -1, again5 = -1;
    linear_probe_train_eval(&cfg, xtr, ytr, ntr, xte, yte, nte, dim, classes, &again1, &again5, NULL, NULL);
    check_true("same seed, same result", again1 == top1 && again5 == top5);

    /* Raw features (offset 5, scales 1..4) with a smaller lr and weight decay. */
    cfg.standardize = 0;
    cfg.lr = 0.01f;
    cfg.weight_decay = 1e-4f;
    check_true("raw features: ok",
               linear_probe_train_eval(&cfg, xtr, ytr, ntr, xte, yte, nte, dim, classes, &top1, &top5,
                                       NULL, NULL) == NNCLR_OK);
    printf("raw: top1 %.4f top5 %.4f\n", top1, top5);
    check_true("raw features: top1 >= 0.95", top1 >= 0.95);

    /* Fewer than 5 classes: top5 is NaN. */
    int *y2 = malloc(sizeof(int) * ntr), *y2te = malloc(sizeof(int) * nte);
    for (int i = 0; i < ntr; i++) y2[i] = ytr[i] % 2;
    for (int i = 0; i < nte; i++) y2te[i] = yte[i] % 2;
    linear_probe_config_default(&cfg);
    cfg.epochs = 2;
    check_true("2 classes: ok",
               linear_probe_train_eval(&cfg, xtr, y2, ntr, xte, y2te, nte, dim, 2, &top1, &top5, NULL,
                                       NULL) == NNCLR_OK && isnan(top5));

    /* argument errors */
    linear_probe_config bad = cfg;
    bad.epochs = 0;
    check_true("error: epochs 0", linear_probe_train_eval(&bad, xtr, ytr, ntr, xte, yte, nte, dim, classes,
                                                          &top1, &top5, NULL, NULL) == NNCLR_ERR_ARG);
    printf("  message: %s\n", nnclr_last_error());
    bad = cfg;
    bad.lr = -1.0f;
    check_true("error: negative lr", linear_probe_train_eval(&bad, xtr, ytr, ntr, xte, yte, nte, dim, classes,
                                                             &top1, &top5, NULL, NULL) == NNCLR_ERR_ARG);
    bad = cfg;
    bad.momentum = 1.0f;
    check_true("error: momentum 1", linear_probe_train_eval(&bad, xtr, ytr, ntr, xte, yte, nte, dim, classes,
                                                            &top1, &top5, NULL, NULL) == NNCLR_ERR_ARG);
    check_true("error: label out of range",
               linear_probe_train_eval(&cfg, xtr, ytr, ntr, xte, yte, nte, dim, 3, &top1, &top5, NULL,
                                       NULL) == NNCLR_ERR_ARG);
    check_true("error: one class", linear_probe_train_eval(&cfg, xtr, ytr, ntr, xte, yte, nte, dim, 1, &top1,
                                                           &top5, NULL, NULL) == NNCLR_ERR_ARG);
    check_true("error: no test rows", linear_probe_train_eval(&cfg, xtr, ytr, ntr, xte, yte, 0, dim, classes,
                                                              &top1, &top5, NULL, NULL) == NNCLR_ERR_ARG);
    check_true("error: NULL config", linear_probe_train_eval(NULL, xtr, ytr, ntr, xte, yte, nte, dim, classes,
                                                             &top1, &top5, NULL, NULL) == NNCLR_ERR_ARG);
    /* A NaN feature without standardisation makes the loss NaN. */
    xtr[17] = NAN;
    cfg.standardize = 0;
    check_true("error: NaN feature -> numeric error",
               linear_probe_train_eval(&cfg, xtr, ytr, ntr, xte, yte, nte, dim, classes, &top1, &top5,
                                       NULL, NULL) == NNCLR_ERR_NUMERIC);
    printf("  message: %s\n", nnclr_last_error());

    free(centres); free(xtr); free(xte); free(ytr); free(yte); free(xtr_copy); free(y2); free(y2te);
    return test_summary();
}
