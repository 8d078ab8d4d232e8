/* kmeans.h - seeded k-means on features, for `nnclr cluster`, and the two scores that compare a
 * clustering with labels.
 *
 * kmeans_fit() runs Lloyd's algorithm from a k-means++ start (Arthur & Vassilvitskii 2007: the
 * first centre uniformly, each next one with probability proportional to the squared distance
 * to the nearest centre chosen so far) drawn from the seed. Distances come from sgemm
 * (|x|^2 - 2 x.c + |c|^2); centres are means accumulated in double in row order, so a seed
 * gives the same clustering for every thread count. A centre left without points moves to the
 * point farthest from its own centre. It stops when no assignment changes or after max_iter
 * iterations.
 *
 * cluster_nmi(): normalised mutual information I(A;B) / sqrt(H(A) H(B)) (the "geometric" NMI;
 * 1 when both partitions are equal up to renaming; 0 when one of them is a single block).
 * cluster_purity(): the share of points whose cluster's most common label is their own. */
#ifndef NNCLR_CURATE_KMEANS_H
#define NNCLR_CURATE_KMEANS_H

#include <stdint.h>
#include "nnclr.h"

typedef struct {
    int iterations;     /* Lloyd iterations run */
    int converged;      /* 1: the last iteration changed no assignment */
    double inertia;     /* sum of squared distances to the assigned centre */
} kmeans_result;

/* Called after each iteration (may be NULL). */
typedef void (*kmeans_progress_fn)(void *user, int iteration, int changed);

/* x: (n, dim); 1 <= k <= n. centres: (k, dim) out; assign: (n) out in [0, k). */
nnclr_status kmeans_fit(const float *x, int n, int dim, int k, int max_iter, uint64_t seed,
                        float *centres, int *assign, kmeans_result *res,
                        kmeans_progress_fn progress, void *user);

/* a: (n) in [0, ka); b: (n) in [0, kb). */
double cluster_nmi(const int *a, int ka, const int *b, int kb, int n);
double cluster_purity(const int *assign, int k, const int *labels, int num_classes, int n);

#endif
