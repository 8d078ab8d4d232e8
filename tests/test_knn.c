/* test_knn.c - the weighted kNN evaluation: a hand-computed vote, the tau weighting, agreement
 * with a naive full-matrix reference over several test blocks, accuracy on separable clusters,
 * k clamping, untouched inputs and argument errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "core/status.h"
#include "eval/knn.h"
#include "testlib.h"

static double cosine2(double ax, double ay, double bx, double by) {
    return (ax * bx + ay * by) / (sqrt(ax * ax + ay * ay) * sqrt(bx * bx + by * by));
}

/* Gaussian clusters around random directions: x = 4 * centre[label] + N(0, 1). */
static void make_clusters(float *x, int *labels, int n, int dim, int classes, const float *centres,
                          uint64_t seed) {
    rng_state r;
    rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        int c = (int)rng_below(&r, (uint64_t)classes);
        labels[i] = c;
        for (int j = 0; j < dim; j++) x[(size_t)i * dim + j] = 4.0f * centres[c * dim + j] + rng_normal(&r);
    }
}

/* Naive reference: full similarity rows, stable selection sort for the top k, plain
 * exp(sim / tau) weights (safe here: tau = 0.1, |sim| <= 1). */
static void knn_reference(int *pred, const float *tr, const int *ytr, int ntr, const float *te,
                          int nte, int dim, int classes, int k, float tau) {
    double *sim = malloc(sizeof(double) * ntr);
    char *used = malloc((size_t)ntr);
    double *votes = malloc(sizeof(double) * classes);
    for (int i = 0; i < nte; i++) {
        double qn = 0;
        for (int d = 0; d < dim; d++) qn += (double)te[i * dim + d] * te[i * dim + d];
        for (int j = 0; j < ntr; j++) {
            double dot = 0, tn = 0;
            for (int d = 0; d < dim; d++) {
                dot += (double)te[i * dim + d] * tr[j * dim + d];
                tn += (double)tr[j * dim + d] * tr[j * dim + d];
            }
            sim[j] = dot / (sqrt(qn) * sqrt(tn));
        }
        memset(used, 0, (size_t)ntr);
        memset(votes, 0, sizeof(double) * classes);
        for (int t = 0; t < k; t++) {
            int best = -1;
            for (int j = 0; j < ntr; j++)
                if (!used[j] && (best < 0 || sim[j] > sim[best])) best = j;
            used[best] = 1;
            votes[ytr[best]] += exp(sim[best] / tau);
        }
        int b = 0;
        for (int c = 1; c < classes; c++)
            if (votes[c] > votes[b]) b = c;
        pred[i] = b;
    }
    free(sim);
    free(used);
    free(votes);
}

int main(void) {
    /* ---- hand-checked vote. Train rows (2-D) and labels: */
    float tr[4 * 2] = {1, 0, 0, 1, 1, 1, -1, 0};
    int ytr[4] = {0, 1, 1, 2};
    /* Query A = (2, 0): sims 1, 0, 0.7071, -1 -> k=3 picks rows 0, 2, 1.
     * Query B = (0.1, 1): sims 0.0995, 0.9950, 0.7740, -0.0995 -> rows 1, 2, 0. */
    float te[2 * 2] = {2, 0, 0.1f, 1};
    int yte[2] = {0, 1};
    float scores[2 * 3];
    int pred[2];
    const float tau = 0.1f;
    check_true("hand: knn_predict ok",
               knn_predict(tr, ytr, 4, te, 2, 2, 3, 3, tau, pred, scores) == NNCLR_OK);
    /* scores are sum exp((sim - best) / tau) over the k neighbours of each class */
    double sa0 = 1.0, sa1 = exp((cosine2(2, 0, 1, 1) - 1.0) / tau) + exp((0.0 - 1.0) / tau);
    double bmax = cosine2(0.1, 1, 0, 1);
    double sb0 = exp((cosine2(0.1, 1, 1, 0) - bmax) / tau);
    double sb1 = 1.0 + exp((cosine2(0.1, 1, 1, 1) - bmax) / tau);
    float expect[6] = {(float)sa0, (float)sa1, 0.0f, (float)sb0, (float)sb1, 0.0f};
    /* float similarities vs double: atol 1e-6 + rtol 1e-4 */
    check_close("hand: class votes", scores, expect, 6, 1e-6, 1e-4);
    check_true("hand: predictions 0 and 1", pred[0] == 0 && pred[1] == 1);
    double top1 = -1, top5 = -1;
    check_true("hand: knn_evaluate ok",
               knn_evaluate(tr, ytr, 4, te, yte, 2, 2, 3, 3, tau, &top1, &top5) == NNCLR_OK);
    check_true("hand: top1 = 1", top1 == 1.0);
    check_true("hand: top5 is NaN with 3 classes", isnan(top5));

    /* ---- tau matters: one very close class-0 neighbour against two far class-1 neighbours.
     * tau = 0.1 lets the close one win; tau = 100 makes it a plain majority vote. */
    float tw[3 * 2] = {1, 0.05f, 0.5f, 1, 0.4f, 1};
    int yw[3] = {0, 1, 1};
    float qw[2] = {1, 0};
    int pw;
    knn_predict(tw, yw, 3, qw, 1, 2, 2, 3, 0.1f, &pw, NULL);
    check_true("tau=0.1: similarity-weighted vote picks class 0", pw == 0);
    knn_predict(tw, yw, 3, qw, 1, 2, 2, 3, 100.0f, &pw, NULL);
    check_true("tau=100: near-uniform weights pick the majority class 1", pw == 1);

    /* ---- separable clusters; n_test spans several sgemm blocks (512 rows each). */
    const int dim = 32, classes = 10, ntr = 2000, nte = 1200;
    float *centres = malloc(sizeof(float) * classes * dim);
    fill_uniform(centres, (size_t)classes * dim, 3);
    float *xtr = malloc(sizeof(float) * ntr * dim), *xte = malloc(sizeof(float) * nte * dim);
    int *ltr = malloc(sizeof(int) * ntr), *lte = malloc(sizeof(int) * nte);
    make_clusters(xtr, ltr, ntr, dim, classes, centres, 11);
    make_clusters(xte, lte, nte, dim, classes, centres, 12);
    float *xtr_copy = malloc(sizeof(float) * ntr * dim), *xte_copy = malloc(sizeof(float) * nte * dim);
    memcpy(xtr_copy, xtr, sizeof(float) * ntr * dim);
    memcpy(xte_copy, xte, sizeof(float) * nte * dim);
    check_true("clusters: knn_evaluate ok",
               knn_evaluate(xtr, ltr, ntr, xte, lte, nte, dim, classes, KNN_DEFAULT_K, KNN_DEFAULT_TAU,
                            &top1, &top5) == NNCLR_OK);
    printf("clusters: top1 %.4f top5 %.4f\n", top1, top5);
    check_true("clusters: top1 >= 0.95", top1 >= 0.95);
    check_true("clusters: top5 >= top1", top5 >= top1 && top5 <= 1.0);
    check_true("clusters: inputs unchanged",
               memcmp(xtr, xtr_copy, sizeof(float) * ntr * dim) == 0 &&
               memcmp(xte, xte_copy, sizeof(float) * nte * dim) == 0);

    /* ---- agreement with the naive reference on a harder (noisier) problem, k = 20 */
    for (int i = 0; i < nte * dim; i++) xte[i] += 3.0f * xte_copy[(i * 7919) % (nte * dim)] / 4.0f;
    int nref = 600;
    int *p_fast = malloc(sizeof(int) * nref), *p_ref = malloc(sizeof(int) * nref);
    knn_predict(xtr, ltr, ntr, xte, nref, dim, classes, 20, 0.1f, p_fast, NULL);
    knn_reference(p_ref, xtr, ltr, ntr, xte, nref, dim, classes, 20, 0.1f);
    int agree = 0;
    for (int i = 0; i < nref; i++) agree += p_fast[i] == p_ref[i];
    printf("reference agreement: %d / %d\n", agree, nref);
    /* float vs double similarities may swap a near-tie at the k-th neighbour: allow 1 % */
    check_true("blocked sgemm + heap == naive reference (>= 99 %)", agree >= nref * 99 / 100);

    /* ---- k > n_train clamps to n_train: identical to k = n_train */
    double c1, c5, d1, d5;
    check_true("clamp: k=200 on 50 train rows ok",
               knn_evaluate(xtr, ltr, 50, xte, lte, 300, dim, classes, 200, 0.1f, &c1, &c5) == NNCLR_OK);
    knn_evaluate(xtr, ltr, 50, xte, lte, 300, dim, classes, 50, 0.1f, &d1, &d5);
    check_true("clamp: same result as k=50", c1 == d1 && c5 == d5);

    /* ---- neighbours of the train set itself: each row first, similarity ~1, sorted */
    int kq = 5;
    int *idx = malloc(sizeof(int) * 100 * kq);
    float *sim = malloc(sizeof(float) * 100 * kq);
    check_true("neighbors: ok", knn_neighbors(xtr, ntr, xtr, 100, dim, kq, idx, sim) == NNCLR_OK);
    int self_first = 1, sorted = 1;
    for (int i = 0; i < 100; i++) {
        self_first &= idx[i * kq] == i && fabsf(sim[i * kq] - 1.0f) < 1e-5f;
        for (int j = 1; j < kq; j++) sorted &= sim[i * kq + j] <= sim[i * kq + j - 1];
    }
    check_true("neighbors: each row is its own nearest (sim 1 +- 1e-5)", self_first);
    check_true("neighbors: sorted by similarity", sorted);
    check_true("neighbors: k > n_train rejected",
               knn_neighbors(xtr, 3, xtr, 2, dim, 4, idx, sim) == NNCLR_ERR_ARG);

    /* ---- argument errors */
    int bad[4] = {0, 1, 5, 2};
    check_true("error: train label out of range",
               knn_evaluate(tr, bad, 4, te, yte, 2, 2, 3, 3, tau, &top1, &top5) == NNCLR_ERR_ARG);
    printf("  message: %s\n", nnclr_last_error());
    int badte[2] = {0, -1};
    check_true("error: test label out of range",
               knn_evaluate(tr, ytr, 4, te, badte, 2, 2, 3, 3, tau, &top1, &top5) == NNCLR_ERR_ARG);
    check_true("error: tau = 0",
               knn_evaluate(tr, ytr, 4, te, yte, 2, 2, 3, 3, 0.0f, &top1, &top5) == NNCLR_ERR_ARG);
    check_true("error: k = 0",
               knn_evaluate(tr, ytr, 4, te, yte, 2, 2, 3, 0, tau, &top1, &top5) == NNCLR_ERR_ARG);
    check_true("error: n_test = 0",
               knn_evaluate(tr, ytr, 4, te, yte, 0, 2, 3, 3, tau, &top1, &top5) == NNCLR_ERR_ARG);

    free(centres); free(xtr); free(xte); free(ltr); free(lte); free(xtr_copy); free(xte_copy);
    free(p_fast); free(p_ref); free(idx); free(sim);
    return test_summary();
}
