/* knn.c - blocked cosine-similarity kNN: sgemm for the similarities, a k-element heap per test
 * row for the selection, weighted votes per class. See knn.h. */
#include "eval/knn.h"

#include "ops/gemm.h"
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/cancel.h"
#include "core/status.h"

/* A block's similarity matrix holds at most this many floats (32 MiB). */
#define KNN_SIM_FLOATS ((size_t)8 << 20)
#define KNN_MAX_BLOCK 512

/* dst: (n, dim) = src rows divided by max(||row||, 1e-12) (as torch.nn.functional.normalize). */
static void rows_normalize(float *dst, const float *src, int n, int dim) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        const float *x = src + (size_t)i * dim;
        float *y = dst + (size_t)i * dim;
        double ss = 0;
        for (int j = 0; j < dim; j++) ss += (double)x[j] * x[j];
        double norm = sqrt(ss);
        float inv = (float)(1.0 / (norm > 1e-12 ? norm : 1e-12));
        for (int j = 0; j < dim; j++) y[j] = x[j] * inv;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* top-k selection: a heap whose root is the WORST kept neighbour. "Worse" means lower
 * similarity, or equal similarity and higher index. */

static int nb_worse(float sa, int ia, float sb, int ib) { return sa < sb || (sa == sb && ia > ib); }

static void heap_sift_down(float *s, int *idx, int size, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < size && nb_worse(s[l], idx[l], s[m], idx[m])) m = l;
        if (r < size && nb_worse(s[r], idx[r], s[m], idx[m])) m = r;
        if (m == i) return;
        float ts = s[i]; s[i] = s[m]; s[m] = ts;
        int ti = idx[i]; idx[i] = idx[m]; idx[m] = ti;
        i = m;
    }
}

static void heap_sift_up(float *s, int *idx, int i) {
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!nb_worse(s[i], idx[i], s[p], idx[p])) return;
        float ts = s[i]; s[i] = s[p]; s[p] = ts;
        int ti = idx[i]; idx[i] = idx[p]; idx[p] = ti;
        i = p;
    }
}

/* out_sim, out_idx: (k) the k best of sim: (n), sorted best first. */
static void topk_row(float *out_sim, int *out_idx, const float *sim, int n, int k) {
    int size = 0;
    for (int j = 0; j < n; j++) {
        if (size < k) {
            out_sim[size] = sim[j];
            out_idx[size] = j;
            heap_sift_up(out_sim, out_idx, size++);
        } else if (nb_worse(out_sim[0], out_idx[0], sim[j], j)) {
            out_sim[0] = sim[j];
            out_idx[0] = j;
            heap_sift_down(out_sim, out_idx, k, 0);
        }
    }
    /* Heap sort: moving the worst to the end each time leaves the best at the front. */
    for (int end = size - 1; end > 0; end--) {
        float ts = out_sim[0]; out_sim[0] = out_sim[end]; out_sim[end] = ts;
        int ti = out_idx[0]; out_idx[0] = out_idx[end]; out_idx[end] = ti;
        heap_sift_down(out_sim, out_idx, end, 0);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* the blocked driver shared by all three entry points */

typedef struct {
    float *train;     /* (n_train, dim) normalised copy */
    float *query;     /* (block, dim) normalised block of queries */
    float *sim;       /* (block, n_train) */
    float *nb_sim;    /* (block, k) */
    int *nb_idx;      /* (block, k) */
    int block;
} knn_work;

static void knn_work_free(knn_work *w) {
    free(w->train);
    free(w->query);
    free(w->sim);
    free(w->nb_sim);
    free(w->nb_idx);
}

static nnclr_status knn_work_init(knn_work *w, const float *train_feat, int n_train, int n_query,
                                  int dim, int k) {
    memset(w, 0, sizeof *w);
    size_t block = KNN_SIM_FLOATS / (size_t)n_train;
    if (block < 1) block = 1;
    if (block > KNN_MAX_BLOCK) block = KNN_MAX_BLOCK;
    if (block > (size_t)n_query) block = (size_t)n_query;
    w->block = (int)block;
    w->train = nnclr_malloc((size_t)n_train * dim * sizeof(float));
    w->query = nnclr_malloc(block * dim * sizeof(float));
    w->sim = nnclr_malloc(block * n_train * sizeof(float));
    w->nb_sim = nnclr_malloc(block * k * sizeof(float));
    w->nb_idx = nnclr_malloc(block * k * sizeof(int));
    if (!w->train || !w->query || !w->sim || !w->nb_sim || !w->nb_idx) {
        knn_work_free(w);
        return NNCLR_ERR_NOMEM;
    }
    rows_normalize(w->train, train_feat, n_train, dim);
    return NNCLR_OK;
}

/* Neighbours of query rows [i0, i0 + b) into w->nb_sim / w->nb_idx rows 0..b-1. */
static void knn_work_block(knn_work *w, const float *query_feat, int i0, int b, int n_train,
                           int dim, int k) {
    rows_normalize(w->query, query_feat + (size_t)i0 * dim, b, dim);
    /* sim (b, n_train) = query (b, dim) . train (n_train, dim)^T */
    gemm(0, 1, b, n_train, dim, 1.0f, w->query, dim, w->train, dim, 0.0f, w->sim, n_train);
#pragma omp parallel for schedule(dynamic, 4)
    for (int r = 0; r < b; r++)
        topk_row(w->nb_sim + (size_t)r * k, w->nb_idx + (size_t)r * k, w->sim + (size_t)r * n_train,
                 n_train, k);
}

static nnclr_status knn_check(const float *train_feat, const int *train_labels, int n_train,
                              const float *test_feat, int n_test, int dim, int num_classes,
                              int *k, float tau) {
    if (!train_feat || !test_feat || n_train <= 0 || n_test <= 0 || dim <= 0)
        return nnclr_fail(NNCLR_ERR_ARG, "knn: need train and test features (n_train %d, n_test %d, "
                          "dim %d)", n_train, n_test, dim);
    if (train_labels && num_classes <= 0)
        return nnclr_fail(NNCLR_ERR_ARG, "knn: num_classes must be > 0, got %d", num_classes);
    if (*k <= 0) return nnclr_fail(NNCLR_ERR_ARG, "knn: k must be > 0, got %d", *k);
    if (!(tau > 0.0f) || !isfinite(tau)) return nnclr_fail(NNCLR_ERR_ARG, "knn: tau must be > 0, got %g", tau);
    if (train_labels)
        for (int i = 0; i < n_train; i++)
            if (train_labels[i] < 0 || train_labels[i] >= num_classes)
                return nnclr_fail(NNCLR_ERR_ARG, "knn: train label %d at row %d is outside [0, %d)",
                                  train_labels[i], i, num_classes);
    if (*k > n_train) {
        fprintf(stderr, "nnclr: note: kNN k=%d exceeds the %d training rows; using k=%d\n", *k,
                n_train, n_train);
        *k = n_train;
    }
    return NNCLR_OK;
}

/* Votes for every test row. Optional outputs: pred (n_test), scores (n_test, num_classes),
 * and with test_labels the counts of top-1 and top-5 hits. */
static nnclr_status knn_run(const float *train_feat, const int *train_labels, int n_train,
                            const float *test_feat, const int *test_labels, int n_test, int dim,
                            int num_classes, int k, float tau, int *pred, float *scores,
                            long *hits1, long *hits5) {
    knn_work w;
    NNCLR_TRY(knn_work_init(&w, train_feat, n_train, n_test, dim, k));
    int nthreads = omp_get_max_threads();
    double *votes = nnclr_malloc((size_t)nthreads * num_classes * sizeof(double));
    if (!votes) {
        knn_work_free(&w);
        return NNCLR_ERR_NOMEM;
    }
    long c1 = 0, c5 = 0;
    for (int i0 = 0; i0 < n_test; i0 += w.block) {
        if (cancel_requested()) {
            free(votes);
            knn_work_free(&w);
            return nnclr_fail(NNCLR_ERR_INTERRUPTED, "kNN stopped at query %d of %d", i0, n_test);
        }
        int b = n_test - i0 < w.block ? n_test - i0 : w.block;
        knn_work_block(&w, test_feat, i0, b, n_train, dim, k);
#pragma omp parallel for schedule(static) reduction(+ : c1, c5) num_threads(nthreads)
        for (int r = 0; r < b; r++) {
            double *v = votes + (size_t)omp_get_thread_num() * num_classes;
            const float *s = w.nb_sim + (size_t)r * k;
            const int *idx = w.nb_idx + (size_t)r * k;
            memset(v, 0, (size_t)num_classes * sizeof(double));
            /* s[0] is the best similarity: weights exp((s - s0) / tau) <= 1. */
            for (int j = 0; j < k; j++) v[train_labels[idx[j]]] += exp(((double)s[j] - s[0]) / tau);
            int best = 0;
            for (int c = 1; c < num_classes; c++)
                if (v[c] > v[best]) best = c;
            int i = i0 + r;
            if (pred) pred[i] = best;
            if (scores)
                for (int c = 0; c < num_classes; c++) scores[(size_t)i * num_classes + c] = (float)v[c];
            if (test_labels) {
                int y = test_labels[i];
                /* Rank of the true class: classes strictly ahead of it (score, then index). */
                int rank = 0;
                for (int c = 0; c < num_classes; c++)
                    if (v[c] > v[y] || (v[c] == v[y] && c < y)) rank++;
                c1 += rank == 0;
                c5 += rank < 5;
            }
        }
    }
    free(votes);
    knn_work_free(&w);
    if (hits1) *hits1 = c1;
    if (hits5) *hits5 = c5;
    return NNCLR_OK;
}

nnclr_status knn_evaluate(const float *train_feat, const int *train_labels, int n_train,
                          const float *test_feat, const int *test_labels, int n_test, int dim,
                          int num_classes, int k, float tau, double *top1, double *top5) {
    if (!train_labels || !test_labels || !top1)
        return nnclr_fail(NNCLR_ERR_ARG, "knn_evaluate: labels and top1 are required");
    NNCLR_TRY(knn_check(train_feat, train_labels, n_train, test_feat, n_test, dim, num_classes, &k, tau));
    for (int i = 0; i < n_test; i++)
        if (test_labels[i] < 0 || test_labels[i] >= num_classes)
            return nnclr_fail(NNCLR_ERR_ARG, "knn: test label %d at row %d is outside [0, %d)",
                              test_labels[i], i, num_classes);
    long hits1, hits5;
    NNCLR_TRY(knn_run(train_feat, train_labels, n_train, test_feat, test_labels, n_test, dim,
                      num_classes, k, tau, NULL, NULL, &hits1, &hits5));
    *top1 = (double)hits1 / n_test;
    if (top5) *top5 = num_classes >= 5 ? (double)hits5 / n_test : NAN;
    return NNCLR_OK;
}

nnclr_status knn_predict(const float *train_feat, const int *train_labels, int n_train,
                         const float *test_feat, int n_test, int dim, int num_classes, int k,
                         float tau, int *pred, float *scores) {
    if (!train_labels || !pred)
        return nnclr_fail(NNCLR_ERR_ARG, "knn_predict: train labels and pred are required");
    NNCLR_TRY(knn_check(train_feat, train_labels, n_train, test_feat, n_test, dim, num_classes, &k, tau));
    return knn_run(train_feat, train_labels, n_train, test_feat, NULL, n_test, dim, num_classes, k,
                   tau, pred, scores, NULL, NULL);
}

nnclr_status knn_neighbors(const float *train_feat, int n_train, const float *query_feat,
                           int n_query, int dim, int k, int *idx, float *sim) {
    if (!idx) return nnclr_fail(NNCLR_ERR_ARG, "knn_neighbors: idx is required");
    if (k > n_train)
        return nnclr_fail(NNCLR_ERR_ARG, "knn_neighbors: k=%d exceeds the %d train rows", k, n_train);
    NNCLR_TRY(knn_check(train_feat, NULL, n_train, query_feat, n_query, dim, 1, &k, 1.0f));
    knn_work w;
    NNCLR_TRY(knn_work_init(&w, train_feat, n_train, n_query, dim, k));
    for (int i0 = 0; i0 < n_query; i0 += w.block) {
        int b = n_query - i0 < w.block ? n_query - i0 : w.block;
        knn_work_block(&w, query_feat, i0, b, n_train, dim, k);
        memcpy(idx + (size_t)i0 * k, w.nb_idx, (size_t)b * k * sizeof(int));
        if (sim) memcpy(sim + (size_t)i0 * k, w.nb_sim, (size_t)b * k * sizeof(float));
    }
    knn_work_free(&w);
    return NNCLR_OK;
}
