/* cli.h - what the nnclr subcommands share: the training-run options (one table used by
 * `train`, saved as config.txt in the run directory and read back by `--resume`, `eval`,
 * `embed`, `neighbors`), data-set opening by option, feature extraction, and exit codes. */
#ifndef NNCLR_CLI_CLI_H
#define NNCLR_CLI_CLI_H

#include <stdint.h>

#include "args.h"
#include "data/augment.h"
#include "data/dataset.h"
#include "nnclr.h"

#define EXIT_USAGE 2
#define EXIT_RUNTIME 1

/* Where a training run stands: the "progress" section of every checkpoint. */
typedef struct {
    int64_t epoch;       /* epochs completed */
    int64_t batch;       /* batches of the next epoch already done (resume mid-epoch) */
    double best_knn;     /* best kNN top-1 so far, -1 before any evaluation */
    double elapsed;      /* training seconds so far */
} run_progress;

typedef struct {
    const char *config, *resume, *preset;
    /* data */
    const char *data, *data_path, *augment;
    int crop_size, loader_threads;
    double crop_scale_min;
    double eval_fraction, val_fraction;
    /* model */
    const char *arch;
    int cifar_stem, proj_hidden, proj_dim, pred_hidden, predictor;
    /* objective */
    const char *positive, *support_start;
    int queue_size, topk, push_both, shard_nn_search;
    double nn_start, nn_ramp, nn_prob_start;
    double temperature;
    /* optimisation */
    const char *optimizer;
    int epochs, batch, warmup_epochs, threads;
    double lr, weight_decay, momentum, lars_eta;
    uint64_t seed;
    /* run */
    const char *run_dir;
    int eval_every, checkpoint_every, keep_checkpoints, log_every, knn_k, stop_after, baseline;
    double knn_tau;
} train_opts;

/* Fills the defaults of a preset ("small": the quick Fashion-MNIST run; "paper": the paper's
 * recipe). Returns 0, or 2 for an unknown preset (message printed). */
int train_opts_preset(train_opts *o, const char *preset);
/* The flag table over o (count in *n). */
const arg_spec *train_opts_specs(train_opts *o, int *n);
/* "12.34%" for a fraction, or "n/a" for NaN (top-5 of fewer than 5 classes). buf: >= 16 bytes. */
const char *format_percent(char *buf, size_t size, double frac);
/* Default path of a data set format ("" when it has none). */
const char *default_data_path(const char *format);
/* Opens a split of the configured data set (folder data: a held-out fraction for TEST). */
nnclr_status open_split(const train_opts *o, int split, dataset *out);
/* The augmentation config for the options and data set (view pipeline or eval). */
nnclr_status make_augment(const train_opts *o, const dataset *d, int eval, augment_config *out);
/* Model config from the options for a data set's image shape. steps_per_epoch sets the
 * schedule length. */
nnclr_status make_model_config(const train_opts *o, const augment_config *aug, int64_t steps_per_epoch,
                               nnclr_config *cfg);
/* The process group the command runs in (main.c joins it; a group of one without mpirun). */
nnclr_dist *cli_dist(void);
void cli_set_dist(nnclr_dist *d);
/* 1 on rank 0: the rank that prints, logs and writes files. */
int cli_rank0(void);

/* Eval-mode features (or L2-normalised projections) of every image of d after the eval
 * transform, horizontally flipped when `flip` (the flip-augmented linear protocol): (d->n, F).
 * Under mpirun each rank computes a contiguous share and every rank receives all rows. */
nnclr_status extract_features(nnclr_model *m, const dataset *d, const augment_config *eval_aug,
                              int projections, int flip, float **out, int *dim);
/* Raw pixels after the eval transform, as features: (d->n, C*S*S). */
nnclr_status extract_pixels(const dataset *d, const augment_config *eval_aug, float **out, int *dim);
/* Loads a run directory's config.txt into o (preset "small" first, then the file). 0 or 2. */
int load_run_config(train_opts *o, const char *run_dir, const char *cmd);
/* Latest checkpoint of a run directory, or the path itself when it is a file. */
nnclr_status resolve_checkpoint(const char *path, char *out, size_t size);
/* A model built from a run directory or checkpoint: config from the run's config.txt, weights
 * from the checkpoint (weights only). batch: the eval batch. */
nnclr_status model_from_run(const char *path, int batch, train_opts *o, nnclr_model **m, char *ckpt,
                            size_t ckpt_size);

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_neighbors(int argc, char **argv);
int cmd_augment_preview(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_info(int argc, char **argv);

#endif
