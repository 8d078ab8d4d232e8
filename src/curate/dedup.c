/* dedup.c - exact all-pairs similarity above a threshold, blocked on sgemm. See dedup.h. */
#include "curate/dedup.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "core/status.h"
#include "curate/pca.h"
#include "ops/gemm.h"

/* A block's similarity matrix holds at most this many floats (64 MiB). */
#define DEDUP_SIM_FLOATS ((size_t)16 << 20)
#define DEDUP_MAX_BLOCK 1024
/* Whitening regulariser: each component's variance + this share of the mean variance. */
#define DEDUP_WHITEN_EPS 0.01

typedef struct {
    dedup_pair *v;
    size_t n, cap;
    int failed;
} pair_list;

static int list_push(pair_list *l, int a, int b, float cosine) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 1024;
        dedup_pair *v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (dedup_pair){a, b, cosine};
    return 0;
}

static int pair_cmp(const void *x, const void *y) {
    const dedup_pair *p = x, *q = y;
    if (p->cosine != q->cosine) return p->cosine > q->cosine ? -1 : 1;
    if (p->a != q->a) return p->a < q->a ? -1 : 1;
    return (p->b > q->b) - (p->b < q->b);
}

static int pair_cmp_ab(const void *x, const void *y) {
    const dedup_pair *p = x, *q = y;
    if (p->a != q->a) return p->a < q->a ? -1 : 1;
    if (p->b != q->b) return p->b < q->b ? -1 : 1;
    return (p->cosine < q->cosine) - (p->cosine > q->cosine);   /* keep the larger of two estimates */
}

nnclr_status dedup_pairs(const float *a, int na, const float *b, int nb, int dim, float threshold,
                         size_t max_pairs, dedup_pair **pairs, size_t *n_pairs,
                         dedup_progress_fn progress, void *user) {
    *pairs = NULL;
    *n_pairs = 0;
    int within = b == NULL;
    if (within) {
        b = a;
        nb = na;
    }
    if (!a || na <= 0 || nb <= 0 || dim <= 0)
        return nnclr_fail(NNCLR_ERR_ARG, "dedup: need features (%d and %d rows of %d)", na, nb, dim);
    if (!(threshold >= -1.0f && threshold <= 1.0f))
        return nnclr_fail(NNCLR_ERR_ARG, "dedup: threshold %g is outside [-1, 1]", threshold);
    size_t block = DEDUP_SIM_FLOATS / (size_t)nb;
    if (block < 1) block = 1;
    if (block > DEDUP_MAX_BLOCK) block = DEDUP_MAX_BLOCK;
    if (block > (size_t)na) block = (size_t)na;
    float *sim = nnclr_malloc(block * (size_t)nb * sizeof(float));
    int nthreads = omp_get_max_threads();
    pair_list *lists = nnclr_calloc((size_t)nthreads, sizeof *lists);
    if (!sim || !lists) {
        free(sim);
        free(lists);
        return NNCLR_ERR_NOMEM;
    }
    nnclr_status s = NNCLR_OK;
    /* Work of the block at row i0: within one set only the columns from i0 on. */
    double total = within ? 0.5 * (double)na * (na + 1) : (double)na * nb, done = 0;
    for (int i0 = 0; i0 < na && !s; i0 += (int)block) {
        int rows = na - i0 < (int)block ? na - i0 : (int)block;
        int j0 = within ? i0 : 0, cols = nb - j0;
        gemm(0, 1, rows, cols, dim, 1.0f, a + (size_t)i0 * dim, dim, b + (size_t)j0 * dim, dim, 0.0f, sim, cols);
        size_t found = 0;
#pragma omp parallel for schedule(dynamic, 4) num_threads(nthreads) reduction(+ : found)
        for (int r = 0; r < rows; r++) {
            pair_list *l = &lists[omp_get_thread_num()];
            const float *row = sim + (size_t)r * cols;
            int first = within ? r + 1 : 0;   /* within: only j > i */
            for (int c = first; c < cols; c++)
                if (row[c] >= threshold) {
                    if (l->failed || list_push(l, i0 + r, j0 + c, row[c])) l->failed = 1;
                    found++;
                }
        }
        for (int t = 0; t < nthreads; t++)
            if (lists[t].failed) s = NNCLR_ERR_NOMEM;
        size_t have = 0;
        for (int t = 0; t < nthreads; t++) have += lists[t].n;
        if (!s && have > max_pairs)
            s = nnclr_fail(NNCLR_ERR_ARG, "dedup: more than %zu pairs reach cosine %.4g; raise the threshold "
                           "(or the pair limit)", max_pairs, threshold);
        (void)found;
        done += within ? (double)rows * cols - 0.5 * (double)rows * (rows - 1) : (double)rows * cols;
        if (progress && !s) progress(user, done / total);
    }
    free(sim);
    size_t n = 0;
    for (int t = 0; t < nthreads; t++) n += lists[t].n;
    dedup_pair *all = NULL;
    if (!s && n > 0) {
        all = nnclr_malloc(n * sizeof *all);
        if (!all) s = NNCLR_ERR_NOMEM;
    }
    if (!s && n > 0) {
        size_t k = 0;
        for (int t = 0; t < nthreads; t++) {
            if (lists[t].n) memcpy(all + k, lists[t].v, lists[t].n * sizeof *all);   /* an empty list has no buffer */
            k += lists[t].n;
        }
        qsort(all, n, sizeof *all, pair_cmp);
    }
    for (int t = 0; t < nthreads; t++) free(lists[t].v);
    free(lists);
    if (s) {
        free(all);
        return s;
    }
    *pairs = all;
    *n_pairs = n;
    return NNCLR_OK;
}

nnclr_status dedup_pairs_from_neighbors(const int *idx, const float *sim, int nq, int k, int within,
                                        float threshold, size_t max_pairs, dedup_pair **pairs,
                                        size_t *n_pairs) {
    *pairs = NULL;
    *n_pairs = 0;
    if (!(threshold >= -1.0f && threshold <= 1.0f))
        return nnclr_fail(NNCLR_ERR_ARG, "dedup: threshold %g is outside [-1, 1]", threshold);
    pair_list l = {0};
    for (int i = 0; i < nq; i++)
        for (int j = 0; j < k; j++) {
            int t = idx[(size_t)i * k + j];
            float c = sim[(size_t)i * k + j];
            if (t < 0 || !(c >= threshold) || (within && t == i)) continue;
            int a = within && t < i ? t : i, b = within && t < i ? i : t;
            if (list_push(&l, a, b, c)) {
                free(l.v);
                return NNCLR_ERR_NOMEM;
            }
        }
    /* Sort by (a, b) to drop the pairs listed from both ends, then by similarity. */
    if (l.n) qsort(l.v, l.n, sizeof *l.v, pair_cmp_ab);
    size_t n = 0;
    for (size_t p = 0; p < l.n; p++)
        if (n == 0 || l.v[p].a != l.v[n - 1].a || l.v[p].b != l.v[n - 1].b) l.v[n++] = l.v[p];
    if (n > max_pairs) {
        free(l.v);
        return nnclr_fail(NNCLR_ERR_ARG, "dedup: more than %zu pairs reach cosine %.4g; raise the threshold "
                          "(or the pair limit)", max_pairs, threshold);
    }
    if (n) qsort(l.v, n, sizeof *l.v, pair_cmp);
    if (n == 0) {
        free(l.v);
        l.v = NULL;
    }
    *pairs = l.v;
    *n_pairs = n;
    return NNCLR_OK;
}

nnclr_status dedup_prepare(float *a, int na, float *b, int nb, int dim) {
    if (!a || na <= 0 || dim <= 0 || (b && nb <= 0))
        return nnclr_fail(NNCLR_ERR_ARG, "dedup: need features (%d and %d rows of %d)", na, b ? nb : 0, dim);
    int n = na + (b ? nb : 0);
    if (n < 2) return nnclr_fail(NNCLR_ERR_ARG, "dedup: need at least 2 images, got %d", n);
    pca_model p;
    NNCLR_TRY(pca_fit(&p, a, na, b, b ? nb : 0, dim));
    double mean_var = 0;
    for (int c = 0; c < dim; c++) mean_var += p.variance[c];
    mean_var /= dim;
    float *scale = nnclr_malloc((size_t)dim * sizeof *scale);
    float *tmp = nnclr_malloc((size_t)omp_get_max_threads() * dim * sizeof *tmp);
    if (!scale || !tmp) {
        free(scale);
        free(tmp);
        pca_free(&p);
        return NNCLR_ERR_NOMEM;
    }
    for (int c = 0; c < dim; c++) scale[c] = (float)(1.0 / sqrt(p.variance[c] + DEDUP_WHITEN_EPS * mean_var + 1e-30));
    for (int set = 0; set < 2; set++) {
        float *x = set ? b : a;
        int m = set ? nb : na;
        if (!x) continue;
#pragma omp parallel for schedule(static)
        for (int i = 0; i < m; i++) {
            float *row = x + (size_t)i * dim, *y = tmp + (size_t)omp_get_thread_num() * dim;
            double ss = 0;
            for (int c = 0; c < dim; c++) {
                const float *v = p.vectors + (size_t)c * dim;
                double acc = 0;
                for (int j = 0; j < dim; j++) acc += ((double)row[j] - p.mean[j]) * v[j];
                y[c] = (float)(acc * scale[c]);
                ss += (double)y[c] * y[c];
            }
            float inv = (float)(1.0 / (sqrt(ss) > 1e-12 ? sqrt(ss) : 1e-12));
            for (int c = 0; c < dim; c++) row[c] = y[c] * inv;
        }
    }
    free(scale);
    free(tmp);
    pca_free(&p);
    return NNCLR_OK;
}

static int uf_find(int *parent, int x) {
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

nnclr_status dedup_groups(const dedup_pair *pairs, size_t n_pairs, int offset_b, int n_items,
                          int *group, int *n_groups) {
    if (n_items <= 0 || !group) return nnclr_fail(NNCLR_ERR_ARG, "dedup: no items to group");
    int *parent = nnclr_malloc((size_t)n_items * sizeof *parent);
    int *id = nnclr_malloc((size_t)n_items * sizeof *id);
    if (!parent || !id) {
        free(parent);
        free(id);
        return NNCLR_ERR_NOMEM;
    }
    for (int i = 0; i < n_items; i++) parent[i] = i, id[i] = -1;
    nnclr_status s = NNCLR_OK;
    for (size_t p = 0; p < n_pairs && !s; p++) {
        int x = pairs[p].a, y = pairs[p].b + offset_b;
        if (x < 0 || x >= n_items || y < 0 || y >= n_items) {
            s = nnclr_fail(NNCLR_ERR_ARG, "dedup: pair (%d, %d) outside %d items", pairs[p].a, pairs[p].b, n_items);
            break;
        }
        int rx = uf_find(parent, x), ry = uf_find(parent, y);
        if (rx != ry) parent[rx > ry ? rx : ry] = rx < ry ? rx : ry;
    }
    int next = 0;
    for (int i = 0; i < n_items; i++) group[i] = -1;
    /* Number the components in order of their first pair. */
    for (size_t p = 0; p < n_pairs && !s; p++) {
        int r = uf_find(parent, pairs[p].a);
        if (id[r] < 0) id[r] = next++;
    }
    for (size_t p = 0; p < n_pairs && !s; p++) {
        int x = pairs[p].a, y = pairs[p].b + offset_b;
        group[x] = id[uf_find(parent, x)];
        group[y] = id[uf_find(parent, y)];
    }
    free(parent);
    free(id);
    if (!s && n_groups) *n_groups = next;
    return s;
}
