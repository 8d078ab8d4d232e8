/* run_setup.h - the pieces of a training run that its evaluations share (src/train/): the data
 * set's splits, the augmentation, the model configuration and feature extraction, all from an
 * nnclr_train_config (include/nnclr.h).
 *
 * Data flow: config -> open_split (train, and test or the validation split) -> make_augment
 * (views, eval transform) -> make_model_config -> nnclr_model -> extract_features. */
#ifndef NNCLR_TRAIN_RUN_SETUP_H
#define NNCLR_TRAIN_RUN_SETUP_H

#include <stdint.h>

#include "data/augment.h"
#include "io/checkpoint.h"
#include "data/dataset.h"
#include "dist/dist.h"
#include "nnclr.h"

/* Where a training run stands: the "progress" section of every checkpoint. */
typedef struct {
    int64_t epoch;       /* epochs completed */
    int64_t batch;       /* batches of the next epoch already done (resume mid-epoch) */
    double best_knn;     /* best kNN top-1 so far, -1 before any evaluation */
    double elapsed;      /* training seconds so far */
} run_progress;

/* Default path of a data set format ("" when it has none). */
const char *default_data_path(const char *format);
/* Opens a split of the configured data set: folder data holds out eval_fraction for TEST;
 * val_fraction > 0 holds out that part of the train split (class-stratified, fixed seed) as
 * TEST instead of the test split. */
nnclr_status open_split(const nnclr_train_config *o, int split, dataset *out);
/* Train and test together (a folder or a validation split is read once). The test split's own
 * status goes to *test_status (NNCLR_OK, or why there is none); the return value is the train
 * split's. */
nnclr_status open_splits(const nnclr_train_config *o, dataset *train, dataset *test, nnclr_status *test_status);
/* The view side a data set gets without --crop-size: its shorter side when all images share a
 * size, else the median shorter side clamped to [16, 224]; lo, hi (may be NULL): the smallest
 * and largest shorter side. */
int dataset_view_side(const dataset *d, int *lo, int *hi);
/* The augmentation for the configuration and data set (view pipeline, or eval transform). */
nnclr_status make_augment(const nnclr_train_config *o, const dataset *d, int eval, augment_config *out);
/* Model config for a data set's image shape; steps_per_epoch sets the schedule's length. */
nnclr_status make_model_config(const nnclr_train_config *o, const augment_config *aug, int64_t steps_per_epoch,
                               nnclr_config *cfg);
/* Eval-mode features (or L2-normalised projections) of every image of d after the eval
 * transform, horizontally flipped when `flip`: (d->n, F). With a group of R processes each
 * computes a contiguous share and every one receives all rows. */
nnclr_status extract_features(nnclr_model *m, const dataset *d, const augment_config *eval_aug,
                              int projections, int flip, const dist *group, float **out, int *dim);
/* Raw pixels after the eval transform, as features: (d->n, C*S*S). */
nnclr_status extract_pixels(const dataset *d, const augment_config *eval_aug, float **out, int *dim);

/* The checkpoint a run directory or file stands for (run_model.c): for a directory the newest
 * that verifies, newer corrupt ones skipped and named in note ("" when none); for a file that
 * file. Either way it must fit the run: the architecture keys (--arch, --cifar-stem, head
 * widths, --predictor) of its configuration equal those of the directory's config.txt, else an
 * error naming both. */
nnclr_status run_open_checkpoint(const char *path, checkpoint **ck, char *ckpt, size_t size, char *note,
                                 size_t note_size);
nnclr_status run_checkpoint_fits(const char *run_dir, const char *ckpt, const checkpoint *ck);

#endif
