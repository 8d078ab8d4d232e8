/* options.c - the training-run options shared by the subcommands (see cli.h): presets, the
 * flag table, data-set opening, augmentation and model configuration, feature extraction. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "dist/dist.h"
#include "core/status.h"
#include "io/checkpoint.h"
#include "model/model_state.h"
#include "model/nnclr_model.h"

/* Seed of the --val-fraction split: fixed, not the run's --seed. */
#define VAL_SPLIT_SEED 20211007ULL

int train_opts_preset(train_opts *o, const char *preset) {
    memset(o, 0, sizeof *o);
    o->preset = preset;
    o->data = "fashion-mnist";
    o->data_path = "";
    o->augment = "auto";
    o->crop_size = 0;
    o->loader_threads = 1;
    o->eval_fraction = 0.1;
    o->positive = "nn";
    o->support_start = "random";
    o->nn_start = 0;
    o->nn_ramp = 0;
    o->nn_prob_start = 0;
    o->val_fraction = 0;
    o->predictor = 1;
    o->push_both = 0;
    o->shard_nn_search = 0;
    o->topk = 1;
    o->temperature = 0.1;
    o->optimizer = "lars";
    o->weight_decay = 1e-6;
    o->momentum = 0.9;
    o->lars_eta = 0.001;
    o->threads = 0;
    o->seed = 1;
    o->run_dir = "runs/nnclr";
    o->eval_every = 0;
    o->checkpoint_every = 1;
    o->keep_checkpoints = 3;
    o->log_every = 20;
    o->knn_k = 200;
    o->knn_tau = 0.1;
    o->stop_after = 0;
    o->baseline = 1;
    if (!strcmp(preset, "small")) {
        /* Small data on a few CPU cores: a CIFAR ResNet, 512-512-128 projector, short run
         * (Fashion-MNIST in 2 epochs: ResNet-14 is 1.3x faster than ResNet-20 per image, and
         * milder crops learn faster; docs/RESULTS.md has the runs behind these choices). */
        o->arch = "resnet14";
        o->proj_hidden = 512;
        o->proj_dim = 128;
        o->pred_hidden = 512;
        o->queue_size = 4096;   /* fills with real embeddings after 32 steps */
        o->epochs = 2;
        o->batch = 128;
        o->warmup_epochs = 0;
        o->lr = 0.5;
        o->lars_eta = 0.02;     /* solo-learn's CIFAR recipe; the paper's 0.001 is for batch 4096 */
        o->weight_decay = 1e-5;
        o->crop_scale_min = 0.5;
        return 0;
    }
    if (!strcmp(preset, "paper")) {
        /* The paper's recipe (ImageNet, ResNet-50, batch 4096 in the paper). */
        o->arch = "resnet50";
        o->proj_hidden = 2048;
        o->proj_dim = 256;
        o->pred_hidden = 4096;
        o->queue_size = 98304;
        o->epochs = 1000;
        o->batch = 256;
        o->warmup_epochs = 10;
        o->lr = 0.3;
        return 0;
    }
    fprintf(stderr, "nnclr: --preset must be small or paper, got '%s'\n", preset);
    return EXIT_USAGE;
}

const arg_spec *train_opts_specs(train_opts *o, int *n) {
    static arg_spec s[64];
    int k = 0;
#define F(name, type, ptr, help, lo, hi, ch) s[k++] = (arg_spec){name, type, ptr, help, lo, hi, ch}
    F("config", ARG_STR, &o->config, "read key = value options from FILE (flags override)", 1, 0, NULL);
    F("preset", ARG_STR, &o->preset, "defaults to start from (given first on the command line)", 1, 0, "small|paper");
    F("resume", ARG_STR, &o->resume, "continue the run in this directory from its latest checkpoint", 1, 0, NULL);
    F("data", ARG_STR, &o->data, "data set format", 1, 0,
      "fashion-mnist|mnist|cifar10|cifar100|cifar100-coarse|stl10|folder");
    F("data-path", ARG_STR, &o->data_path, "data set directory (empty: the format's default)", 1, 0, NULL);
    F("augment", ARG_STR, &o->augment, "augmentation preset (auto: by data set)", 1, 0,
      "auto|imagenet|cifar|gray|crop-only");
    F("crop-scale-min", ARG_FLOAT, &o->crop_scale_min, "smallest random-resized-crop area fraction (0: the preset's)", 0, 1, NULL);
    F("crop-size", ARG_INT, &o->crop_size, "augmented view side in pixels (0: the data set's side)", 0, 1024, NULL);
    F("loader-threads", ARG_INT, &o->loader_threads, "data loader worker threads (0: prepare each batch in the training thread)", 0, 64, NULL);
    F("eval-fraction", ARG_FLOAT, &o->eval_fraction, "held-out fraction for test when the data set has no test split", 0.01, 0.9, NULL);
    F("val-fraction", ARG_FLOAT, &o->val_fraction, "hold out this fraction of the train split (class-stratified, fixed seed) and evaluate on it instead of the test split: for choosing settings (0: off)", 0, 0.9, NULL);
    F("arch", ARG_STR, &o->arch, "backbone", 1, 0, "resnet18|resnet34|resnet50|resnet8|resnet14|resnet20|resnet32|resnet44|resnet56|resnet110");
    F("cifar-stem", ARG_BOOL, &o->cifar_stem, "resnet18/34/50: 3x3 stride-1 stem without max-pool", 1, 0, NULL);
    F("proj-hidden", ARG_INT, &o->proj_hidden, "projection MLP hidden width", 1, 65536, NULL);
    F("proj-dim", ARG_INT, &o->proj_dim, "projection (embedding) dimension", 1, 65536, NULL);
    F("pred-hidden", ARG_INT, &o->pred_hidden, "prediction MLP hidden width", 1, 65536, NULL);
    F("predictor", ARG_BOOL, &o->predictor, "use the prediction MLP (--no-predictor: ablation)", 1, 0, NULL);
    F("positive", ARG_STR, &o->positive, "positive: nearest neighbour (NNCLR) or the view itself (SimCLR)", 1, 0, "nn|self");
    F("nn-start", ARG_FLOAT, &o->nn_start, "epochs of own-view (SimCLR) positives before any neighbour positive", 0, 100000, NULL);
    F("nn-ramp", ARG_FLOAT, &o->nn_ramp, "then the chance of a neighbour positive rises linearly to 1 over this many epochs (0: a switch)", 0, 100000, NULL);
    F("nn-prob-start", ARG_FLOAT, &o->nn_prob_start, "chance of a neighbour positive at the start of the ramp", 0, 1, NULL);
    F("support-start", ARG_STR, &o->support_start, "support set at step 0: random unit vectors (the paper) or empty (search only pushed rows)", 1, 0, "random|empty");
    F("queue-size", ARG_INT, &o->queue_size, "support set size Q", 1, 16777216, NULL);
    F("topk", ARG_INT, &o->topk, "sample the positive uniformly among the k nearest", 1, 1024, NULL);
    F("push-both", ARG_BOOL, &o->push_both, "push both views' projections into the support set", 1, 0, NULL);
    F("shard-nn-search", ARG_BOOL, &o->shard_nn_search, "under mpirun: each process searches 1/R of the support set for the whole batch (top-1)", 1, 0, NULL);
    F("temperature", ARG_FLOAT, &o->temperature, "InfoNCE temperature tau", 1e-4, 100, NULL);
    F("optimizer", ARG_STR, &o->optimizer, "optimizer", 1, 0, "lars|sgd");
    F("epochs", ARG_INT, &o->epochs, "training epochs", 1, 100000, NULL);
    F("batch", ARG_INT, &o->batch, "images per view per step", 2, 65536, NULL);
    F("lr", ARG_FLOAT, &o->lr, "base learning rate (scaled by batch / 256)", 0, 1000, NULL);
    F("weight-decay", ARG_FLOAT, &o->weight_decay, "weight decay", 0, 1, NULL);
    F("momentum", ARG_FLOAT, &o->momentum, "momentum", 0, 0.9999, NULL);
    F("lars-eta", ARG_FLOAT, &o->lars_eta, "LARS trust coefficient", 0, 1, NULL);
    F("warmup-epochs", ARG_INT, &o->warmup_epochs, "linear warm-up epochs before the cosine decay", 0, 100000, NULL);
    F("threads", ARG_INT, &o->threads, "compute threads (0: all cores)", 0, 1024, NULL);
    F("seed", ARG_U64, &o->seed, "random seed", 1, 0, NULL);
    F("run-dir", ARG_STR, &o->run_dir, "run directory: config, metrics log, checkpoints", 1, 0, NULL);
    F("eval-every", ARG_INT, &o->eval_every, "kNN evaluation every N epochs (0: at the end only)", 0, 100000, NULL);
    F("checkpoint-every", ARG_INT, &o->checkpoint_every, "checkpoint every N epochs (and at the end)", 1, 100000, NULL);
    F("keep-checkpoints", ARG_INT, &o->keep_checkpoints, "checkpoints kept in the run directory", 1, 1000, NULL);
    F("log-every", ARG_INT, &o->log_every, "steps between metrics lines", 1, 1000000, NULL);
    F("knn-k", ARG_INT, &o->knn_k, "neighbours of the kNN evaluation", 1, 100000, NULL);
    F("knn-tau", ARG_FLOAT, &o->knn_tau, "temperature of the weighted kNN vote", 1e-4, 100, NULL);
    F("stop-after", ARG_INT, &o->stop_after, "stop (with a checkpoint) after this many epochs, as if interrupted (0: never)", 0, 100000, NULL);
    F("baseline", ARG_BOOL, &o->baseline, "also report the kNN accuracy of raw pixels at the end", 1, 0, NULL);
#undef F
    *n = k;
    return s;
}

const char *format_percent(char *buf, size_t size, double frac) {
    if (isnan(frac)) snprintf(buf, size, "n/a");
    else snprintf(buf, size, "%.2f%%", 100 * frac);
    return buf;
}

const char *default_data_path(const char *format) {
    if (!strcmp(format, "fashion-mnist")) return "/usr/share/datasets/fashion-mnist";
    if (!strcmp(format, "mnist")) return "/usr/share/datasets/mnist";
    return "";
}

nnclr_status open_split(const train_opts *o, int split, dataset *out) {
    const char *path = o->data_path && o->data_path[0] ? o->data_path : default_data_path(o->data);
    if (!path[0]) return nnclr_fail(NNCLR_ERR_ARG, "--data %s needs --data-path", o->data);
    memset(out, 0, sizeof *out);
    /* A data path that is not there is a usage error (exit 2), not a failure while reading. */
    struct stat st;
    if (stat(path, &st) != 0) {
        if (o->data_path && o->data_path[0])
            return nnclr_fail(NNCLR_ERR_ARG, "--data-path %s: %s", path, strerror(errno));
        return nnclr_fail(NNCLR_ERR_ARG, "%s (the default --data-path of %s): %s", path, o->data, strerror(errno));
    }
    const char *fmt = !strcmp(o->data, "mnist") ? "idx" : o->data;
    dataset all = {0}, train = {0}, test = {0};
    if (!strcmp(o->data, "folder")) {
        /* One folder: a seeded class-stratified held-out fraction is the test split. */
        int side = o->crop_size > 0 ? o->crop_size : 0;
        NNCLR_TRY(dataset_open_sized(&all, "folder", path, 0, side));
        nnclr_status s = dataset_split(&all, o->eval_fraction, o->seed, &train, &test);
        dataset_free(&all);
        if (s) return s;
    } else if (o->val_fraction > 0) {
        NNCLR_TRY(dataset_open(&train, fmt, path, DATASET_TRAIN));
    } else {
        return dataset_open(out, fmt, path, split);
    }
    if (o->val_fraction > 0) {
        /* Validation: a held-out part of the train split stands in for the test split. The
         * split's seed is fixed, so runs of every seed see the same validation images. */
        dataset_free(&test);
        all = train;
        nnclr_status s = dataset_split(&all, o->val_fraction, VAL_SPLIT_SEED, &train, &test);
        dataset_free(&all);
        if (s) return s;
    }
    *out = split == DATASET_TEST ? test : train;
    dataset_free(split == DATASET_TEST ? &train : &test);
    return NNCLR_OK;
}

nnclr_status make_augment(const train_opts *o, const dataset *d, int eval, augment_config *out) {
    int side = d->h > 0 ? (d->h < d->w ? d->h : d->w) : 224;
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

nnclr_status make_model_config(const train_opts *o, const augment_config *aug, int64_t steps_per_epoch,
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

static nnclr_dist *g_dist;

nnclr_dist *cli_dist(void) { return g_dist; }
void cli_set_dist(nnclr_dist *d) { g_dist = d; }
int cli_rank0(void) { return nnclr_dist_rank(g_dist) == 0; }

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
                              int projections, int flip, float **out, int *dim) {
    const nnclr_config *c = nnclr_model_config(m);
    int F = projections ? c->proj_dim : nnclr_model_feature_dim(m);
    int B = c->batch;
    size_t img = (size_t)eval_aug->channels * eval_aug->size * eval_aug->size;
    float *feat = nnclr_malloc((size_t)d->n * F * sizeof(float));
    float *x = nnclr_malloc((size_t)B * img * sizeof(float));
    const int world = nnclr_dist_world(g_dist), rank = nnclr_dist_rank(g_dist);
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
        s = nnclr_fail(NNCLR_ERR_BACKEND, "feature extraction failed on another process");
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

int load_run_config(train_opts *o, const char *run_dir, const char *cmd) {
    char path[4096];
    snprintf(path, sizeof path, "%s/config.txt", run_dir);
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "nnclr %s: %s: no such run (config.txt missing)\n", cmd, run_dir);
        return EXIT_USAGE;
    }
    train_opts_preset(o, "small");
    int n;
    const arg_spec *specs = train_opts_specs(o, &n);
    char *argv[3] = {(char *)cmd, "--config", path};
    return args_parse(specs, n, 3, argv, 1, cmd, "", NULL, 0, NULL);
}

nnclr_status resolve_checkpoint(const char *path, char *out, size_t size) {
    struct stat st;
    if (stat(path, &st) != 0) return nnclr_fail(NNCLR_ERR_ARG, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        int64_t step;
        NNCLR_TRY(checkpoint_find_latest(path, "ckpt", out, size, &step));
        if (step < 0) return nnclr_fail(NNCLR_ERR_ARG, "%s: no checkpoint (ckpt-*.ckpt) in this directory", path);
        return NNCLR_OK;
    }
    snprintf(out, size, "%s", path);
    return NNCLR_OK;
}

nnclr_status model_from_run(const char *path, int batch, train_opts *o, nnclr_model **m, char *ckpt,
                            size_t ckpt_size) {
    NNCLR_TRY(resolve_checkpoint(path, ckpt, ckpt_size));
    /* The run directory is the checkpoint's directory. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", ckpt);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    char cfg[4200];
    struct stat st;
    snprintf(cfg, sizeof cfg, "%s/config.txt", dir);
    if (stat(cfg, &st) != 0) return nnclr_fail(NNCLR_ERR_ARG, "%s: no such run (config.txt missing)", dir);
    if (load_run_config(o, dir, "eval") != 0)
        return nnclr_fail(NNCLR_ERR_ARG, "%s: cannot read the run configuration", dir);
    checkpoint *ck;
    NNCLR_TRY(checkpoint_read(&ck, ckpt));
    /* Input shape from the checkpoint's stored model shape. */
    int32_t shape[3];
    nnclr_status s = checkpoint_get_exact(ck, "input_shape", shape, sizeof shape);
    if (s) { checkpoint_free(ck); return s; }
    nnclr_config c;
    augment_config aug;
    memset(&aug, 0, sizeof aug);
    aug.channels = shape[0];
    aug.size = shape[1];
    train_opts ob = *o;
    ob.batch = batch;
    make_model_config(&ob, &aug, 1, &c);
    if (c.queue_size < batch) c.queue_size = batch;
    s = nnclr_model_create(m, &c);
    if (!s) s = model_state_load(*m, ck, 1);
    checkpoint_free(ck);
    if (s) { nnclr_model_free(*m); *m = NULL; }
    return s;
}
