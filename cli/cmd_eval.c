/* cmd_eval.c - `nnclr eval knn|linear|finetune RUN_DIR|CHECKPOINT`: the standard evaluation
 * protocols on a trained backbone, over the run's data set (train split as memory / training
 * data, test split for the score).
 *   knn      weighted kNN (k = 200, tau = 0.1, cosine) on frozen features
 *   linear   a linear classifier on frozen features of un-augmented (optionally also
 *            horizontally flipped) images, SGD + cosine schedule
 *   finetune the semi-supervised protocol: a class-balanced labelled subset (1 % or 10 %,
 *            deterministic by seed), the whole network fine-tuned (see finetune.c) */
#define _POSIX_C_SOURCE 200809L
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "core/status.h"
#include "eval/knn.h"
#include "eval/finetune.h"
#include "eval/linear_probe.h"
#include "model/nnclr_model.h"

typedef struct {
    const char *data, *data_path;
    int batch, threads, k, epochs, flip, lp_batch, pixels;
    double tau, lr, weight_decay;
    const char *labels;
    uint64_t seed;
} eval_opts;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void progress_cb(void *user, int epoch, int epochs, double loss, double acc, double lr) {
    (void)user;
    if (epoch == epochs || epoch % 10 == 0 || epoch == 1)
        printf("  linear epoch %d/%d  loss %.4f  train acc %.2f%%  lr %.4f\n", epoch, epochs, loss, 100 * acc, lr);
    fflush(stdout);
}

int cmd_finetune(const char *path, const eval_opts *e, train_opts *o);

int cmd_eval(int argc, char **argv) {
    if (argc < 3 || (strcmp(argv[2], "knn") && strcmp(argv[2], "linear") && strcmp(argv[2], "finetune"))) {
        if (argc >= 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
            printf("usage: nnclr eval knn|linear|finetune RUN_DIR|CHECKPOINT [flags]\n"
                   "(nnclr eval knn --help lists the flags)\n");
            return 0;
        }
        fprintf(stderr, "nnclr eval: expected knn, linear or finetune (nnclr eval knn --help)\n");
        return EXIT_USAGE;
    }
    const char *mode = argv[2];
    eval_opts e = {"", "", 256, 0, 200, 100, 0, 256, 0, 0.1, 0.1, 0.0, "10%", 1};
    int is_ft = !strcmp(mode, "finetune");
    if (is_ft) {
        e.epochs = 30;
        e.lr = 0.05;
        e.lp_batch = 128;
    }
    arg_spec specs[] = {
        {"data", ARG_STR, &e.data, "data set format (empty: the run's)", 1, 0, NULL},
        {"data-path", ARG_STR, &e.data_path, "data set directory (empty: the run's)", 1, 0, NULL},
        {"batch", ARG_INT, &e.batch, "images per forward for feature extraction", 1, 65536, NULL},
        {"threads", ARG_INT, &e.threads, "compute threads (0: all cores)", 0, 1024, NULL},
        {"k", ARG_INT, &e.k, "kNN: neighbours", 1, 100000, NULL},
        {"tau", ARG_FLOAT, &e.tau, "kNN: vote temperature", 1e-4, 100, NULL},
        {"epochs", ARG_INT, &e.epochs, "linear/finetune: epochs", 1, 100000, NULL},
        {"lr", ARG_FLOAT, &e.lr, "linear/finetune: learning rate", 0, 100, NULL},
        {"weight-decay", ARG_FLOAT, &e.weight_decay, "linear/finetune: weight decay", 0, 1, NULL},
        {"train-batch", ARG_INT, &e.lp_batch, "linear/finetune: training batch", 2, 65536, NULL},
        {"flip", ARG_BOOL, &e.flip, "linear: also train on horizontally flipped images", 1, 0, NULL},
        {"pixels", ARG_BOOL, &e.pixels, "knn/linear: raw pixels after the eval transform as the features (the baseline)", 1, 0, NULL},
        {"labels", ARG_STR, &e.labels, "finetune: labelled fraction", 1, 0, "1%|10%|100%"},
        {"seed", ARG_U64, &e.seed, "random seed (subset, shuffling, init)", 1, 0, NULL},
    };
    char cmd[32];
    snprintf(cmd, sizeof cmd, "eval %s", mode);
    char *pos[1];
    int npos;
    int rc = args_parse(specs, sizeof specs / sizeof specs[0], argc, argv, 3, cmd, "RUN_DIR|CHECKPOINT [flags]", pos, 1, &npos);
    if (rc == ARGS_HELP) return 0;
    if (rc) return EXIT_USAGE;
    if (npos != 1) {
        fprintf(stderr, "nnclr %s: expected a run directory or checkpoint\n", cmd);
        return EXIT_USAGE;
    }
    cli_set_threads(e.threads);

    train_opts o;
    /* Fine-tuning is not data-parallel: under mpirun rank 0 does it alone. */
    if (is_ft) return cli_rank0() ? cmd_finetune(pos[0], &e, &o) : 0;
    nnclr_model *m = NULL;
    char ckpt[4096];
    dataset train = {0}, test = {0};
    float *ftr = NULL, *fte = NULL;
    int code = EXIT_RUNTIME;
    nnclr_status s = model_from_run(pos[0], e.batch, &o, &m, ckpt, sizeof ckpt);
    if (s) goto fail;
    if (e.data[0]) o.data = e.data;
    if (e.data_path[0]) o.data_path = e.data_path;
    if ((s = open_split(&o, DATASET_TRAIN, &train)) || (s = open_split(&o, DATASET_TEST, &test))) goto fail;
    if (!train.labels || !test.labels) {
        s = nnclr_fail(NNCLR_ERR_ARG, "evaluation needs a labelled data set");
        goto fail;
    }
    augment_config eval_aug;
    if ((s = make_augment(&o, &train, 1, &eval_aug))) goto fail;
    printf("nnclr %s: %s on %s (%d train / %d test images)\n", cmd, ckpt, o.data, train.n, test.n);
    double t0 = now_s();
    int dim;
    if (e.pixels) {
        if (e.flip) {
            s = nnclr_fail(NNCLR_ERR_ARG, "--pixels and --flip cannot be combined");
            goto fail;
        }
        if ((s = extract_pixels(&train, &eval_aug, &ftr, &dim)) || (s = extract_pixels(&test, &eval_aug, &fte, &dim)))
            goto fail;
    } else {
        if ((s = extract_features(m, &train, &eval_aug, 0, 0, cli_dist(), &ftr, &dim))) goto fail;
        if ((s = extract_features(m, &test, &eval_aug, 0, 0, cli_dist(), &fte, &dim))) goto fail;
    }
    printf("%s: %d-dim, %.1f s\n", e.pixels ? "raw pixels" : "features", dim, now_s() - t0);
    double top1 = 0, top5 = 0;
    char t5[16];
    if (!strcmp(mode, "knn")) {
        if ((s = knn_evaluate(ftr, train.labels, train.n, fte, test.labels, test.n, dim, train.num_classes, e.k,
                              (float)e.tau, &top1, &top5)))
            goto fail;
        printf("kNN (k=%d, tau=%g): top-1 %.2f%%  top-5 %s\n", e.k, e.tau, 100 * top1,
               format_percent(t5, sizeof t5, top5));
    } else {
        int ntr = train.n;
        int *lab = train.labels;
        if (e.flip) {
            /* Train features of the images and of their mirror images. */
            float *both = realloc(ftr, (size_t)2 * train.n * dim * sizeof(float));
            lab = malloc((size_t)2 * train.n * sizeof(int));
            if (!both || !lab) {
                if (both) ftr = both;
                free(lab);
                s = nnclr_fail(NNCLR_ERR_NOMEM, "out of memory");
                goto fail;
            }
            ftr = both;
            float *fl = NULL;
            if ((s = extract_features(m, &train, &eval_aug, 0, 1, cli_dist(), &fl, &dim))) { free(lab); goto fail; }
            memcpy(ftr + (size_t)train.n * dim, fl, (size_t)train.n * dim * sizeof(float));
            free(fl);
            memcpy(lab, train.labels, train.n * sizeof(int));
            memcpy(lab + train.n, train.labels, train.n * sizeof(int));
            ntr = 2 * train.n;
        }
        linear_probe_config lc;
        linear_probe_config_default(&lc);
        lc.epochs = e.epochs;
        lc.lr = (float)e.lr;
        lc.weight_decay = (float)e.weight_decay;
        lc.batch_size = e.lp_batch;
        lc.seed = e.seed;
        s = linear_probe_train_eval(&lc, ftr, lab, ntr, fte, test.labels, test.n, dim, train.num_classes, &top1,
                                    &top5, progress_cb, NULL);
        if (lab != train.labels) free(lab);
        if (s) goto fail;
        printf("linear (%d epochs%s): top-1 %.2f%%  top-5 %s\n", e.epochs, e.flip ? ", flip" : "", 100 * top1,
               format_percent(t5, sizeof t5, top5));
    }
    code = 0;
    goto done;
fail:
    fprintf(stderr, "nnclr %s: %s\n", cmd, nnclr_last_error());
    code = s == NNCLR_ERR_ARG ? EXIT_USAGE : EXIT_RUNTIME;
done:
    free(ftr);
    free(fte);
    dataset_free(&train);
    dataset_free(&test);
    nnclr_model_free(m);
    return code;
}

static void ft_progress(void *user, int epoch, int epochs, double loss) {
    (void)user;
    printf("  finetune epoch %d/%d  loss %.4f\n", epoch, epochs, loss);
    fflush(stdout);
}

/* `nnclr eval finetune`: the class-balanced labelled subset is the "test" part of a seeded
 * stratified split of the train set with the asked fraction. */
int cmd_finetune(const char *path, const eval_opts *e, train_opts *o) {
    nnclr_model *m = NULL;
    char ckpt[4096];
    dataset train = {0}, test = {0}, rest = {0}, subset = {0};
    int code = EXIT_RUNTIME;
    nnclr_status s = model_from_run(path, e->lp_batch, o, &m, ckpt, sizeof ckpt);
    if (s) goto fail;
    if (e->data[0]) o->data = e->data;
    if (e->data_path[0]) o->data_path = e->data_path;
    if ((s = open_split(o, DATASET_TRAIN, &train)) || (s = open_split(o, DATASET_TEST, &test))) goto fail;
    double frac = !strcmp(e->labels, "1%") ? 0.01 : !strcmp(e->labels, "10%") ? 0.10 : 1.0;
    const dataset *lab = &train;
    if (frac < 1.0) {
        if ((s = dataset_split(&train, frac, e->seed, &rest, &subset))) goto fail;
        lab = &subset;
    }
    if (lab->n < e->lp_batch) {
        s = nnclr_fail(NNCLR_ERR_ARG, "the %s labelled subset has %d images, fewer than --train-batch %d (lower it)",
                       e->labels, lab->n, e->lp_batch);
        goto fail;
    }
    augment_config aug, eval_aug;
    if ((s = augment_preset(&aug, "crop-only", nnclr_model_config(m)->in_channels, nnclr_model_config(m)->height)))
        goto fail;
    if ((s = make_augment(o, &train, 1, &eval_aug))) goto fail;
    memcpy(aug.mean, eval_aug.mean, sizeof aug.mean);
    memcpy(aug.std, eval_aug.std, sizeof aug.std);
    printf("nnclr eval finetune: %s, %s labels: %d of %d train images, %d test images\n", ckpt, e->labels, lab->n,
           train.n, test.n);
    finetune_config fc = {e->epochs, e->lr, e->weight_decay ? e->weight_decay : 5e-4, e->seed, ft_progress, NULL};
    double top1, top5;
    if ((s = finetune_run(m, lab, &test, &aug, &eval_aug, &fc, &top1, &top5))) goto fail;
    char t5[16];
    printf("finetune (%s labels, %d epochs): top-1 %.2f%%  top-5 %s\n", e->labels, e->epochs, 100 * top1,
           format_percent(t5, sizeof t5, top5));
    code = 0;
    goto done;
fail:
    fprintf(stderr, "nnclr eval finetune: %s\n", nnclr_last_error());
    code = s == NNCLR_ERR_ARG ? EXIT_USAGE : EXIT_RUNTIME;
done:
    dataset_free(&train);
    dataset_free(&test);
    dataset_free(&rest);
    dataset_free(&subset);
    nnclr_model_free(m);
    return code;
}
