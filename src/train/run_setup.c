/* run_setup.c - what a training run and the evaluations of a run are made of, from its
 * configuration: the data set's splits (with the validation split), the augmentation, the
 * model configuration, and feature / pixel extraction over a data set. See run_setup.h. */
#define _POSIX_C_SOURCE 200809L
#include "train/run_setup.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/cancel.h"
#include "core/status.h"
#include "dist/dist.h"

/* Seed of the --val-fraction split: fixed, not the run's --seed. */
#define VAL_SPLIT_SEED 20211007ULL

const char *default_data_path(const char *format) {
    if (!strcmp(format, "fashion-mnist")) return "/usr/share/datasets/fashion-mnist";
    if (!strcmp(format, "mnist")) return "/usr/share/datasets/mnist";
    return "";
}

/* Both splits; test_status gets the test split's status (its message is then the last error
 * only when the train split opened). */
nnclr_status open_splits(const nnclr_train_config *o, dataset *train, dataset *test, nnclr_status *test_status) {
    const char *path = o->data_path && o->data_path[0] ? o->data_path : default_data_path(o->data);
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    *test_status = NNCLR_ERR_ARG;
    if (!path[0]) return nnclr_fail(NNCLR_ERR_ARG, "--data %s needs --data-path", o->data);
    /* A data path that is not there is a usage error (exit 2), not a failure while reading. */
    struct stat st;
    if (stat(path, &st) != 0) {
        if (o->data_path && o->data_path[0])
            return nnclr_fail(NNCLR_ERR_ARG, "--data-path %s: %s", path, strerror(errno));
        return nnclr_fail(NNCLR_ERR_ARG, "%s (the default --data-path of %s): %s", path, o->data, strerror(errno));
    }
    const char *fmt = !strcmp(o->data, "mnist") ? "idx" : o->data;
    dataset all = {0};
    if (!strcmp(o->data, "folder")) {
        /* One folder, read once: a seeded class-stratified held-out fraction is the test split. */
        int side = o->crop_size > 0 ? o->crop_size : 0;
        NNCLR_TRY(dataset_open_sized(&all, "folder", path, 0, side));
        nnclr_status s = dataset_split(&all, o->eval_fraction, o->seed, train, test);
        dataset_free(&all);
        if (s) return s;
    } else {
        NNCLR_TRY(dataset_open(train, fmt, path, DATASET_TRAIN));
        if (o->val_fraction <= 0) {
            *test_status = dataset_open(test, fmt, path, DATASET_TEST);
            if (*test_status == NNCLR_ERR_INTERRUPTED) {
                dataset_free(train);
                return NNCLR_ERR_INTERRUPTED;
            }
            return NNCLR_OK;
        }
    }
    if (o->val_fraction > 0) {
        /* Validation: a held-out part of the train split stands in for the test split. The
         * split's seed is fixed, so runs of every seed see the same validation images. */
        dataset_free(test);
        all = *train;
        memset(train, 0, sizeof *train);
        nnclr_status s = dataset_split(&all, o->val_fraction, VAL_SPLIT_SEED, train, test);
        dataset_free(&all);
        if (s) return s;
    }
    *test_status = NNCLR_OK;
    return NNCLR_OK;
}

nnclr_status open_split(const nnclr_train_config *o, int split, dataset *out) {
    memset(out, 0, sizeof *out);
    if (strcmp(o->data, "folder") && o->val_fraction <= 0) {
        /* Two files: only the one asked for is read. */
        const char *path = o->data_path && o->data_path[0] ? o->data_path : default_data_path(o->data);
        struct stat st;
        if (path[0] && stat(path, &st) == 0)
            return dataset_open(out, !strcmp(o->data, "mnist") ? "idx" : o->data, path, split);
    }
    dataset train, test;
    nnclr_status ts;
    NNCLR_TRY(open_splits(o, &train, &test, &ts));
    if (split == DATASET_TEST) {
        dataset_free(&train);
        if (ts) {
            dataset_free(&test);
            return ts;
        }
        *out = test;
    } else {
        dataset_free(&test);
        *out = train;
    }
    return NNCLR_OK;
}

static int cmp_int(const void *a, const void *b) { return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b); }

int dataset_view_side(const dataset *d, int *lo, int *hi) {
    if (d->h > 0) {
        int side = d->h < d->w ? d->h : d->w;
        if (lo) *lo = side;
        if (hi) *hi = side;
        return side;
    }
    int *sides = malloc((size_t)d->n * sizeof *sides);
    if (!sides || d->n <= 0) {
        free(sides);
        return 224;
    }
    for (int i = 0; i < d->n; i++) sides[i] = d->images[i].h < d->images[i].w ? d->images[i].h : d->images[i].w;
    qsort(sides, (size_t)d->n, sizeof *sides, cmp_int);
    int median = sides[d->n / 2];
    if (lo) *lo = sides[0];
    if (hi) *hi = sides[d->n - 1];
    free(sides);
    return median < 16 ? 16 : median > 224 ? 224 : median;
}

nnclr_status make_augment(const nnclr_train_config *o, const dataset *d, int eval, augment_config *out) {
    int side = dataset_view_side(d, NULL, NULL);
    int size = o->crop_size > 0 ? o->crop_size : side;
    const char *name = o->augment;
    if (!strcmp(name, "auto")) {
        if (d->c == 1) name = "gray";
        else if (side <= 64) name = "cifar";
        else name = "imagenet";
    }
    NNCLR_TRY(augment_preset(out, eval ? "eval" : name, d->c, size));
    if (!eval && o->crop_scale_min > 0) out->scale_min = (float)o->crop_scale_min;
    if (eval && d->c == 1 && strcmp(name, "gray") == 0) {
        augment_config g;
        NNCLR_TRY(augment_preset(&g, "gray", d->c, size));
        memcpy(out->mean, g.mean, sizeof g.mean);
        memcpy(out->std, g.std, sizeof g.std);
    } else if (eval) {
        augment_config g;
        NNCLR_TRY(augment_preset(&g, name, d->c, size));
        memcpy(out->mean, g.mean, sizeof g.mean);
        memcpy(out->std, g.std, sizeof g.std);
    }
    return NNCLR_OK;
}

nnclr_status make_model_config(const nnclr_train_config *o, const augment_config *aug, int64_t steps_per_epoch,
                               nnclr_config *c) {
    nnclr_config_default(c);
    c->arch = o->arch;
    c->cifar_stem = o->cifar_stem;
    c->in_channels = aug->channels;
    c->height = c->width = aug->size;
    c->batch = o->batch;
    c->proj_hidden = o->proj_hidden;
    c->proj_dim = o->proj_dim;
    c->pred_hidden = o->pred_hidden;
    c->use_predictor = o->predictor;
    c->positive = !strcmp(o->positive, "self") ? NNCLR_POSITIVE_SELF : NNCLR_POSITIVE_NN;
    c->queue_size = o->queue_size;
    c->topk = o->topk;
    c->push_both_views = o->push_both;
    c->shard_nn_search = o->shard_nn_search;
    /* Epoch counts to steps; the ramp's end is rounded once so start + ramp never passes the run. */
    c->nn_start_steps = llround(o->nn_start * (double)steps_per_epoch);
    c->nn_ramp_steps = llround((o->nn_start + o->nn_ramp) * (double)steps_per_epoch) - c->nn_start_steps;
    c->nn_prob_start = o->nn_prob_start;
    c->support_start_empty = o->support_start && !strcmp(o->support_start, "empty");
    c->precision = o->precision && !strcmp(o->precision, "bf16") ? NNCLR_PRECISION_BF16 : NNCLR_PRECISION_F32;
    c->temperature = o->temperature;
    c->optimizer = !strcmp(o->optimizer, "sgd") ? NNCLR_OPT_SGD : NNCLR_OPT_LARS;
    c->base_lr = o->lr;
    c->weight_decay = o->weight_decay;
    c->momentum = o->momentum;
    c->lars_eta = o->lars_eta;
    c->warmup_steps = (int64_t)o->warmup_epochs * steps_per_epoch;
    c->total_steps = (int64_t)o->epochs * steps_per_epoch;
    if (c->total_steps < 1) c->total_steps = 1;
    c->seed = o->seed;
    return NNCLR_OK;
}

/* Horizontal flip of a (C, S, S) image in place. */
static void flip_chw(float *x, int c, int s) {
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < s; y++) {
            float *row = x + ((size_t)ch * s + y) * s;
            for (int i = 0, j = s - 1; i < j; i++, j--) {
                float t = row[i];
                row[i] = row[j];
                row[j] = t;
            }
        }
}

nnclr_status extract_features(nnclr_model *m, const dataset *d, const augment_config *eval_aug,
                              int projections, int flip, const dist *g_dist, float **out, int *dim) {
    const nnclr_config *c = nnclr_model_config(m);
    if (eval_aug->channels != c->in_channels || eval_aug->size != c->height || eval_aug->size != c->width)
        return nnclr_fail(NNCLR_ERR_ARG, "the data set gives %dx%dx%d images, the model takes %dx%dx%d (another data set?)",
                          eval_aug->channels, eval_aug->size, eval_aug->size, c->in_channels, c->height, c->width);
    int F = projections ? c->proj_dim : nnclr_model_feature_dim(m);
    int B = c->batch;
    size_t img = (size_t)eval_aug->channels * eval_aug->size * eval_aug->size;
    float *feat = nnclr_malloc((size_t)d->n * F * sizeof(float));
    float *x = nnclr_malloc((size_t)B * img * sizeof(float));
    const int world = dist_world(g_dist), rank = dist_rank(g_dist);
    size_t *counts = nnclr_calloc((size_t)world, sizeof(size_t));
    if (!feat || !x || !counts) {
        free(feat);
        free(x);
        free(counts);
        return NNCLR_ERR_NOMEM;
    }
    /* This rank's rows [lo, hi). */
    for (int r = 0; r < world; r++)
        counts[r] = (size_t)((int64_t)d->n * (r + 1) / world - (int64_t)d->n * r / world) * F;
    const int lo = (int)((int64_t)d->n * rank / world), hi = (int)((int64_t)d->n * (rank + 1) / world);
    nnclr_status s = NNCLR_OK;
    for (int i0 = lo; i0 < hi && s == NNCLR_OK; i0 += B) {
        int nb = hi - i0 < B ? hi - i0 : B;
        if (cancel_requested()) {
            s = nnclr_fail(NNCLR_ERR_INTERRUPTED, "feature extraction stopped at image %d of %d", i0, d->n);
            break;
        }
#pragma omp parallel for schedule(static)
        for (int i = 0; i < nb; i++) {
            augment_eval(eval_aug, x + (size_t)i * img, &d->images[i0 + i]);
            if (flip) flip_chw(x + (size_t)i * img, eval_aug->channels, eval_aug->size);
        }
        s = projections ? nnclr_model_projections(m, x, nb, feat + (size_t)i0 * F)
                        : nnclr_model_features(m, x, nb, feat + (size_t)i0 * F);
    }
    /* Every rank agrees on failure before the gather, then all rows go to every rank. */
    int bad = s != NNCLR_OK;
    if (dist_allreduce_max_i(g_dist, &bad) == NNCLR_OK && bad && !s)
        s = cancel_requested() ? nnclr_fail(NNCLR_ERR_INTERRUPTED, "feature extraction stopped")
                               : nnclr_fail(NNCLR_ERR_BACKEND, "feature extraction failed on another process");
    if (!s) s = dist_allgatherv_f(g_dist, feat + (size_t)lo * F, feat, counts);
    free(counts);
    free(x);
    if (s) {
        free(feat);
        return s;
    }
    *out = feat;
    *dim = F;
    return NNCLR_OK;
}

nnclr_status extract_pixels(const dataset *d, const augment_config *eval_aug, float **out, int *dim) {
    size_t img = (size_t)eval_aug->channels * eval_aug->size * eval_aug->size;
    float *x = nnclr_malloc((size_t)d->n * img * sizeof(float));
    if (!x) return NNCLR_ERR_NOMEM;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < d->n; i++) augment_eval(eval_aug, x + (size_t)i * img, &d->images[i]);
    *out = x;
    *dim = (int)img;
    return NNCLR_OK;
}
