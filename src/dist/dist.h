/* dist.h - the process group of data-parallel training: rank, world size and the few
 * collectives the training step needs (all-reduce, all-gather), on Open MPI.
 *
 * A NULL group, or one of world size 1, is a single process: every collective is then a
 * local no-op (an all-gather is a copy), so callers never branch on "distributed". Built
 * without MPI (NNCLR_HAVE_MPI undefined) only groups of one exist.
 *
 * The public side (creating and freeing a group, rank, world) is in include/nnclr.h. Only the
 * thread that created the group calls these (MPI_THREAD_FUNNELED). A failed collective
 * returns NNCLR_ERR_BACKEND with MPI's message. */
#ifndef NNCLR_DIST_DIST_H
#define NNCLR_DIST_DIST_H

#include <stddef.h>
#include "nnclr.h"

typedef nnclr_dist dist;

int dist_rank(const dist *d);   /* 0 for NULL */
int dist_world(const dist *d);  /* 1 for NULL */

/* x[i] = sum over ranks of x[i], in place. */
nnclr_status dist_allreduce_sum_f(const dist *d, float *x, size_t n);
nnclr_status dist_allreduce_sum_d(const dist *d, double *x, size_t n);
/* *x = the largest *x over ranks (agreement on a failure flag). */
nnclr_status dist_allreduce_max_i(const dist *d, int *x);
/* Element-wise arg-max over ranks: val[i] becomes the largest val[i] of any rank and idx[i] the
 * idx[i] that came with it (the smallest such idx on ties: MPI_MAXLOC). */
nnclr_status dist_allreduce_maxloc(const dist *d, float *val, int *idx, size_t n);
/* global = the ranks' `local` arrays (n each) concatenated in rank order (world * n).
 * local and global must not overlap. */
nnclr_status dist_allgather_f(const dist *d, const float *local, float *global, size_t n);
nnclr_status dist_allgather_i(const dist *d, const int *local, int *global, size_t n);
/* Variable counts: rank r contributes counts[r] floats (counts known to every rank), placed
 * at offset sum(counts[0..r)) of global. */
nnclr_status dist_allgatherv_f(const dist *d, const float *local, float *global, const size_t *counts);
/* Root's bytes to every rank. */
nnclr_status dist_bcast(const dist *d, void *data, size_t bytes, int root);
/* Seconds this process has spent inside collectives (transfer plus waiting for the other
 * ranks), for benchmarks: the communication share of a step. */
double dist_comm_seconds(void);

/* Ends the job on every rank (after an error on one rank left the others inside a
 * collective). Only for programs, never called by the library itself. */
void dist_abort(const dist *d, int code);

#endif
