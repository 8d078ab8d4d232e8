/* knn.h - weighted k-nearest-neighbour evaluation on frozen features, the protocol of
 * InstDisc (Wu et al. 2018) as used by solo-learn and lightly: it is how `nnclr train` reports
 * representation quality every few epochs and what `nnclr eval --knn` prints.
 *
 * Features are L2-normalised (copies; the inputs are never modified). For each test row the
 * cosine similarity to every train row is computed with sgemm, one block of test rows at a
 * time (never the whole N_test x N_train matrix); the k most similar train rows vote for their
 * labels with weight exp(sim / tau); the class with the largest summed weight is the
 * prediction. Ties (equal similarity, equal class score) go to the lower index, so results are
 * deterministic. Accuracies are fractions in [0, 1]. */
#ifndef NNCLR_EVAL_KNN_H
#define NNCLR_EVAL_KNN_H

#include "nnclr.h"

#define KNN_DEFAULT_K 200
#define KNN_DEFAULT_TAU 0.1f

/* train_feat: (n_train, dim), train_labels: (n_train) in [0, num_classes), test_feat:
 * (n_test, dim), test_labels: (n_test). k > n_train is clamped to n_train (with a note on
 * stderr). top5 may be NULL; it is set to NaN when num_classes < 5. */
nnclr_status knn_evaluate(const float *train_feat, const int *train_labels, int n_train,
                          const float *test_feat, const int *test_labels, int n_test, int dim,
                          int num_classes, int k, float tau, double *top1, double *top5);

/* The same vote, per test row: pred: (n_test) predicted class; scores: (n_test, num_classes)
 * or NULL, the summed weights scaled by exp(-best_sim / tau) (best_sim: the row's most similar
 * train row), which ranks classes exactly as the sums of exp(sim / tau) do but cannot
 * overflow for small tau. */
nnclr_status knn_predict(const float *train_feat, const int *train_labels, int n_train,
                         const float *test_feat, int n_test, int dim, int num_classes, int k,
                         float tau, int *pred, float *scores);

/* The k nearest train rows of each query by cosine similarity, most similar first (for
 * `nnclr neighbors`). idx: (n_query, k), sim: (n_query, k) or NULL. k must be <= n_train. */
nnclr_status knn_neighbors(const float *train_feat, int n_train, const float *query_feat,
                           int n_query, int dim, int k, int *idx, float *sim);

#endif
