/* dedup.h - near-duplicate pairs by cosine similarity of features, for `nnclr dedup`.
 *
 * Pairs whose cosine similarity is at least a threshold, within one set (i < j) or between two
 * (every a against every b), found exactly: blocks of rows of the first set against the whole
 * second set by sgemm (ops/gemm.h), each block's similarity matrix scanned in parallel. Within
 * one set a block is compared only with the rows from its own first row on, so the work is half
 * of the full product. Pairs come back sorted by similarity (highest first; ties by a, then b),
 * so the result does not depend on the thread count.
 *
 * dedup_prepare() is how nnclr makes backbone features comparable across models: PCA
 * whitening fitted on both sets (centre, rotate onto the principal components, divide each by
 * the square root of its variance plus 1 % of the mean variance), then L2 normalisation. Raw
 * features of self-supervised models concentrate their variance in a few directions (on a
 * small synthetic set one component held 84 %), so raw cosines of unrelated images are high;
 * whitened, unrelated images sit near cosine 0 and a threshold means the same for every run
 * (whitening is the usual step before copy detection with such descriptors).
 *
 * dedup_groups() joins the pairs into connected components (union-find): a group is a set of
 * images that are near-duplicates of one another, directly or through a chain. */
#ifndef NNCLR_CURATE_DEDUP_H
#define NNCLR_CURATE_DEDUP_H

#include <stddef.h>
#include "nnclr.h"

typedef struct {
    int a, b;        /* rows: a of the first set, b of the second (or of the first, a < b) */
    float cosine;
} dedup_pair;

/* Called after each block with the fraction of the work done (may be NULL). */
typedef void (*dedup_progress_fn)(void *user, double done);

/* a: (na, dim); b: (nb, dim), or NULL for pairs within a (then nb is ignored). Rows should be
 * L2-normalised (dedup_prepare). threshold in [-1, 1]. More than max_pairs pairs above the
 * threshold is an error that names the threshold (nothing is returned). *pairs: malloc'd,
 * free() it; *n_pairs may be 0 (then *pairs is NULL). */
nnclr_status dedup_pairs(const float *a, int na, const float *b, int nb, int dim, float threshold,
                         size_t max_pairs, dedup_pair **pairs, size_t *n_pairs,
                         dedup_progress_fn progress, void *user);

/* The same pairs from neighbour lists (an approximate index's answer): idx, sim (nq, k) the
 * neighbours of each row of the first set, idx -1 for none. within: the lists are of the set
 * itself (self matches dropped, (a, b) and (b, a) listed once as a < b). Sorted as above. */
nnclr_status dedup_pairs_from_neighbors(const int *idx, const float *sim, int nq, int k, int within,
                                        float threshold, size_t max_pairs, dedup_pair **pairs,
                                        size_t *n_pairs);

/* In place: whiten the rows of a and b (b may be NULL) with the PCA of both together, then
 * L2-normalise every row. At least 2 rows in all. */
nnclr_status dedup_prepare(float *a, int na, float *b, int nb, int dim);

/* Connected components of the pairs over n_items items (a pair joins items a and b + offset_b,
 * so between two sets pass offset_b = na). group: (n_items) the component of each item,
 * numbered 0, 1, ... in order of each component's first pair in `pairs` (the most similar pair
 * first); -1 for items in no pair. *n_groups: components with two or more items. */
nnclr_status dedup_groups(const dedup_pair *pairs, size_t n_pairs, int offset_b, int n_items,
                          int *group, int *n_groups);

#endif
