/* loader.h - the parallel, deterministic data loader between a dataset and the trainer.
 *
 * Worker threads augment whole samples (both views) into a ring of `prefetch` batch buffers
 * ahead of the trainer; loader_next() hands out the batches in order. Each epoch visits the
 * data set in a fixed order: the identity, or a Fisher-Yates shuffle keyed by (seed, epoch).
 * The views of data set image i in epoch e are drawn from the stream rng_derive(seed, e, i)
 * alone, so the bytes of every batch depend on (seed, epoch, data set, config) and never on the
 * thread count, the prefetch depth or timing.
 *
 * Distributed: the global batch of `batch` samples is the same for every world size; rank r of
 * `world` receives the contiguous rows [r B/world, (r+1) B/world) of it (of the shorter last
 * batch when drop_last is 0, split as evenly as possible). The union of all ranks' rows is
 * the world = 1 batch.
 *
 *     loader *ld;
 *     loader_config lc = {.batch = 256, .threads = 2, .prefetch = 3, .drop_last = 1,
 *                         .shuffle = 1, .seed = 42, .rank = 0, .world = 1, .two_views = 1};
 *     NNCLR_TRY(loader_create(&ld, &train, &aug, &lc));
 *     for (int epoch = 0; epoch < epochs; epoch++) {
 *         NNCLR_TRY(loader_start_epoch(ld, epoch, 0));
 *         int n, done;
 *         while (loader_next(ld, v1, v2, labels, &n, &done) == NNCLR_OK && !done) train_step(...);
 *     }
 *     loader_free(ld);
 */
#ifndef NNCLR_DATA_LOADER_H
#define NNCLR_DATA_LOADER_H

#include <stdint.h>
#include "data/augment.h"
#include "data/dataset.h"
#include "nnclr.h"

typedef struct loader loader;

typedef struct {
    int batch;        /* global batch B (all ranks together); must be a multiple of world */
    int threads;      /* worker threads; 0 = each batch is made inside loader_next */
    int prefetch;     /* batches buffered ahead of the trainer (>= 1; e.g. 3) */
    int drop_last;    /* 1: skip the last partial global batch */
    int shuffle;      /* 1: a new order each epoch; 0: data set order */
    uint64_t seed;
    int rank, world;  /* this process's shard; world = 1 when not distributed */
    int two_views;    /* 1: view1 and view2 (pretraining); 0: view1 only (view2 may be NULL) */
} loader_config;

/* The loader keeps pointers to d (not copied: it must outlive the loader) and copies *aug.
 * aug->size 0 takes the data set's side (its images must share one square size). Fails with
 * NNCLR_ERR_ARG on bad sizes, an invalid augmentation or a data set smaller than one batch with
 * drop_last; NNCLR_ERR_NOMEM when buffers or threads cannot be had. No epoch is started. */
nnclr_status loader_create(loader **out, const dataset *d, const augment_config *aug, const loader_config *cfg);

/* Starts (or restarts) epoch `epoch` at batch `first_batch` (0 for a fresh epoch; > 0 resumes
 * mid-epoch with exactly the batches an uninterrupted run would give). Work in flight for the
 * previous position is finished and discarded first. */
nnclr_status loader_start_epoch(loader *l, int epoch, int first_batch);

/* Blocks until the next batch of this rank is ready and copies it out.
 * view1, view2: (B_local, C, S, S) float, B_local = batch / world; labels: (B_local), -1 when
 * the data set is unlabelled (NULL skips labels). *n_out = rows filled: B_local, fewer only in
 * the last batch when drop_last is 0 (even 0 on some ranks when that batch has fewer rows than
 * world). After the last batch of the epoch it returns
 * *epoch_done = 1, *n_out = 0 and no data. Not for concurrent callers. */
nnclr_status loader_next(loader *l, float *view1, float *view2, int *labels, int *n_out, int *epoch_done);

int loader_batches_per_epoch(const loader *l);
/* Rows of a full batch on this rank, B / world. */
int loader_local_batch(const loader *l);
/* Shape of one view: (channels, size, size). */
void loader_view_shape(const loader *l, int *channels, int *size);
/* Current epoch and the index of the batch the next loader_next returns (for checkpoints). */
void loader_position(const loader *l, int *epoch, int *next_batch);
/* Since the last loader_start_epoch: samples (each with all its views) handed out per second of
 * wall time, and the seconds loader_next spent waiting for workers. Either pointer may be NULL. */
void loader_stats(const loader *l, double *images_per_s, double *wait_s);

/* Stops the workers (each finishes at most the few samples it holds), joins and frees them.
 * Safe at any point, also while batches are being made. NULL is a no-op. */
void loader_free(loader *l);

#endif
