/* support_set.c - FIFO queue of normalised embeddings and its nearest-neighbour lookup.
 * See support_set.h for the contract.
 *
 * Lookup layout. The b queries are packed once into panels of 16: panel g holds
 * query[16g + l][k] at packed[g][k][l], so one k step of the kernel loads the 16 queries' k-th
 * components as two AVX vectors. The queue stays row-major (q, d); the kernel broadcasts one
 * component of 6 consecutive rows at a time and keeps a 6 x 16 block of similarities in 12
 * registers (the Haswell sgemm micro-kernel shape), so each row is read from memory once and
 * reused from L1 for all panels, and the packed queries (b d floats, 256 KB for the defaults)
 * stay in L2; larger query blocks are scanned in groups of panels that fit. On CPUs with AVX-512
 * a 16-query panel is one register and the block is 12 rows x 16 queries. Each finished block is compared against per-query thresholds (the
 * worst similarity in that query's running top-k); only blocks that contain a candidate leave
 * the vector path, which after the first rows is rare. Threads take chunks of rows
 * (dynamic schedule), each with its own running top-k lists; the lists are merged at the end
 * with the order (similarity desc, index asc), which makes the result independent of how the
 * rows were split. Every similarity is the same sequence of fused multiply-adds
 * (acc = fma(q[k], e[k], acc), k = 0..d-1) in the AVX-512, AVX2 and portable kernels, so
 * duplicated rows tie exactly and the kernels agree to the bit. */
#include "ssl/support_set.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "core/status.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SUPPORT_SET_X86 1
#endif

#define PANEL 16         /* queries per packed panel (two AVX vectors) */
#define BLOCK_ROWS 6     /* queue rows per register block */
#define CHUNK_ROWS 1536  /* queue rows per scheduling unit (a multiple of 2 BLOCK_ROWS) */
#define GROUP_FLOATS 65536 /* packed query floats scanned together (256 KB, half an L2) */

typedef struct {
    float s;
    int i;
} sim_idx;

struct support_set {
    int q, d;
    float *entries; /* (q, d) */
    int *labels;    /* (q) or NULL */
    int write_pos, fill;

    /* lookup scratch, grown on demand */
    float *packed;  /* (npanels, d, PANEL) */
    size_t packed_cap;
    float *lists;   /* per thread: thr (bpad), sim (bpad, k); see topk_lists */
    size_t lists_cap;
    int *list_idx;  /* per thread: count (bpad), idx (bpad, k) */
    size_t list_idx_cap;
    int *res_idx;   /* (b, k) merged result, best first */
    size_t res_idx_cap;
    float *res_sim; /* (b, k) */
    size_t res_sim_cap;
    sim_idx *merge; /* (threads * k) one query's candidates from all threads */
    size_t merge_cap;
};

/* One thread's running top-k lists for all queries: a min-heap per query ordered by "worse
 * first", so the root is the entry a better candidate replaces. thr[j] is the root's
 * similarity once the heap is full (-inf before; +inf for padding lanes), the value the vector
 * path compares against. */
typedef struct {
    float *thr;  /* (bpad) */
    float *sim;  /* (bpad, k) */
    int *idx;    /* (bpad, k) */
    int *count;  /* (bpad) */
    int k;
} topk_lists;

static inline int worse(float s1, int i1, float s2, int i2) {
    return s1 < s2 || (s1 == s2 && i1 > i2);
}

/* Offers (s, i) to query j's list. */
static void topk_offer(topk_lists *t, int j, float s, int i) {
    int k = t->k;
    float *hs = t->sim + (size_t)j * k;
    int *hi = t->idx + (size_t)j * k;
    int n = t->count[j];
    if (n < k) {
        int c = n;
        while (c > 0) {
            int p = (c - 1) / 2;
            if (!worse(s, i, hs[p], hi[p])) break;
            hs[c] = hs[p];
            hi[c] = hi[p];
            c = p;
        }
        hs[c] = s;
        hi[c] = i;
        t->count[j] = ++n;
        if (n == k) t->thr[j] = hs[0];
        return;
    }
    if (!worse(hs[0], hi[0], s, i)) return;
    int c = 0;
    for (;;) {
        int l = 2 * c + 1, r = l + 1, m = c;
        float ms = s;
        int mi = i;
        if (l < k && worse(hs[l], hi[l], ms, mi)) { m = l; ms = hs[l]; mi = hi[l]; }
        if (r < k && worse(hs[r], hi[r], ms, mi)) { m = r; }
        if (m == c) break;
        hs[c] = hs[m];
        hi[c] = hi[m];
        c = m;
    }
    hs[c] = s;
    hi[c] = i;
    t->thr[j] = hs[0];
}

/* Slow path of a block: offers every similarity that reaches its query's threshold.
 * blk: (BLOCK_ROWS, PANEL) similarities of rows row0.. and queries j0... */
static void block_offer(topk_lists *t, const float *blk, int row0, int nr, int j0, int nq) {
    for (int r = 0; r < nr; r++)
        for (int l = 0; l < nq; l++) {
            float s = blk[r * PANEL + l];
            if (s >= t->thr[j0 + l]) topk_offer(t, j0 + l, s, row0 + r);
        }
}

/* Portable kernel: rows [row0, row1) against panels [g0, g1). */
static void scan_rows_portable(topk_lists *t, const float *entries, int row0, int row1,
                               const float *packed, int b, int d, int g0, int g1) {
    float blk[BLOCK_ROWS * PANEL];
    for (int i = row0; i < row1; i += BLOCK_ROWS) {
        int nr = row1 - i < BLOCK_ROWS ? row1 - i : BLOCK_ROWS;
        for (int g = g0; g < g1; g++) {
            const float *bp = packed + (size_t)g * d * PANEL;
            for (int r = 0; r < nr; r++) {
                const float *a = entries + (size_t)(i + r) * d;
                float acc[PANEL] = {0};
                for (int k = 0; k < d; k++)
                    for (int l = 0; l < PANEL; l++) acc[l] = fmaf(a[k], bp[k * PANEL + l], acc[l]);
                memcpy(blk + r * PANEL, acc, sizeof acc);
            }
            int nq = b - g * PANEL < PANEL ? b - g * PANEL : PANEL;
            block_offer(t, blk, i, nr, g * PANEL, nq);
        }
    }
}


#ifdef SUPPORT_SET_X86
/* AVX2 + FMA kernel, same arithmetic as the portable one. The rows of a short tail block point
 * at its last row; their results are skipped by block_offer (nr). */
__attribute__((target("avx2,fma")))
static void scan_rows_avx2(topk_lists *t, const float *entries, int row0, int row1,
                           const float *packed, int b, int d, int g0, int g1) {
    float blk[BLOCK_ROWS * PANEL] __attribute__((aligned(32)));
    for (int i = row0; i < row1; i += BLOCK_ROWS) {
        int nr = row1 - i < BLOCK_ROWS ? row1 - i : BLOCK_ROWS;
        const float *a0 = entries + (size_t)i * d;
        const float *a1 = entries + (size_t)(i + (nr > 1 ? 1 : nr - 1)) * d;
        const float *a2 = entries + (size_t)(i + (nr > 2 ? 2 : nr - 1)) * d;
        const float *a3 = entries + (size_t)(i + (nr > 3 ? 3 : nr - 1)) * d;
        const float *a4 = entries + (size_t)(i + (nr > 4 ? 4 : nr - 1)) * d;
        const float *a5 = entries + (size_t)(i + (nr > 5 ? 5 : nr - 1)) * d;
        for (int g = g0; g < g1; g++) {
            const float *bp = packed + (size_t)g * d * PANEL;
            __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00,
                   c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
            for (int k = 0; k < d; k++) {
                __m256 b0 = _mm256_load_ps(bp + (size_t)k * PANEL);
                __m256 b1 = _mm256_load_ps(bp + (size_t)k * PANEL + 8);
                __m256 x;
                x = _mm256_broadcast_ss(a0 + k);
                c00 = _mm256_fmadd_ps(x, b0, c00);
                c01 = _mm256_fmadd_ps(x, b1, c01);
                x = _mm256_broadcast_ss(a1 + k);
                c10 = _mm256_fmadd_ps(x, b0, c10);
                c11 = _mm256_fmadd_ps(x, b1, c11);
                x = _mm256_broadcast_ss(a2 + k);
                c20 = _mm256_fmadd_ps(x, b0, c20);
                c21 = _mm256_fmadd_ps(x, b1, c21);
                x = _mm256_broadcast_ss(a3 + k);
                c30 = _mm256_fmadd_ps(x, b0, c30);
                c31 = _mm256_fmadd_ps(x, b1, c31);
                x = _mm256_broadcast_ss(a4 + k);
                c40 = _mm256_fmadd_ps(x, b0, c40);
                c41 = _mm256_fmadd_ps(x, b1, c41);
                x = _mm256_broadcast_ss(a5 + k);
                c50 = _mm256_fmadd_ps(x, b0, c50);
                c51 = _mm256_fmadd_ps(x, b1, c51);
            }
            const float *thr = t->thr + g * PANEL;
            __m256 t0 = _mm256_loadu_ps(thr), t1 = _mm256_loadu_ps(thr + 8);
            __m256 hit = _mm256_or_ps(_mm256_cmp_ps(c00, t0, _CMP_GE_OQ), _mm256_cmp_ps(c01, t1, _CMP_GE_OQ));
            hit = _mm256_or_ps(hit, _mm256_or_ps(_mm256_cmp_ps(c10, t0, _CMP_GE_OQ), _mm256_cmp_ps(c11, t1, _CMP_GE_OQ)));
            hit = _mm256_or_ps(hit, _mm256_or_ps(_mm256_cmp_ps(c20, t0, _CMP_GE_OQ), _mm256_cmp_ps(c21, t1, _CMP_GE_OQ)));
            hit = _mm256_or_ps(hit, _mm256_or_ps(_mm256_cmp_ps(c30, t0, _CMP_GE_OQ), _mm256_cmp_ps(c31, t1, _CMP_GE_OQ)));
            hit = _mm256_or_ps(hit, _mm256_or_ps(_mm256_cmp_ps(c40, t0, _CMP_GE_OQ), _mm256_cmp_ps(c41, t1, _CMP_GE_OQ)));
            hit = _mm256_or_ps(hit, _mm256_or_ps(_mm256_cmp_ps(c50, t0, _CMP_GE_OQ), _mm256_cmp_ps(c51, t1, _CMP_GE_OQ)));
            if (!_mm256_movemask_ps(hit)) continue;
            _mm256_store_ps(blk + 0, c00);
            _mm256_store_ps(blk + 8, c01);
            _mm256_store_ps(blk + 16, c10);
            _mm256_store_ps(blk + 24, c11);
            _mm256_store_ps(blk + 32, c20);
            _mm256_store_ps(blk + 40, c21);
            _mm256_store_ps(blk + 48, c30);
            _mm256_store_ps(blk + 56, c31);
            _mm256_store_ps(blk + 64, c40);
            _mm256_store_ps(blk + 72, c41);
            _mm256_store_ps(blk + 80, c50);
            _mm256_store_ps(blk + 88, c51);
            int nq = b - g * PANEL < PANEL ? b - g * PANEL : PANEL;
            block_offer(t, blk, i, nr, g * PANEL, nq);
        }
    }
}

/* AVX-512 kernel: a block of 12 rows x 16 queries in 12 registers of 16 lanes, one broadcast
 * row component per FMA; per lane the same fused multiply-adds as the other kernels. The block
 * is offered as two blocks of 6 rows. */
#define ROWS512 (2 * BLOCK_ROWS)
__attribute__((target("avx512f")))
static void scan_rows_avx512(topk_lists *t, const float *entries, int row0, int row1,
                             const float *packed, int b, int d, int g0, int g1) {
    float blk[ROWS512 * PANEL] __attribute__((aligned(64)));
    for (int i = row0; i < row1; i += ROWS512) {
        int nr = row1 - i < ROWS512 ? row1 - i : ROWS512;
        const float *a[ROWS512];
        for (int r = 0; r < ROWS512; r++) a[r] = entries + (size_t)(i + (r < nr ? r : nr - 1)) * d;
        for (int g = g0; g < g1; g++) {
            const float *bp = packed + (size_t)g * d * PANEL;
            __m512 c[ROWS512];
            for (int r = 0; r < ROWS512; r++) c[r] = _mm512_setzero_ps();
            for (int k = 0; k < d; k++) {
                __m512 bv = _mm512_load_ps(bp + (size_t)k * PANEL);
                for (int r = 0; r < ROWS512; r++) c[r] = _mm512_fmadd_ps(_mm512_set1_ps(a[r][k]), bv, c[r]);
            }
            __m512 th = _mm512_loadu_ps(t->thr + g * PANEL);
            __mmask16 hit = 0;
            for (int r = 0; r < ROWS512; r++) hit |= _mm512_cmp_ps_mask(c[r], th, _CMP_GE_OQ);
            if (!hit) continue;
            for (int r = 0; r < ROWS512; r++) _mm512_store_ps(blk + r * PANEL, c[r]);
            int nq = b - g * PANEL < PANEL ? b - g * PANEL : PANEL;
            block_offer(t, blk, i, nr < BLOCK_ROWS ? nr : BLOCK_ROWS, g * PANEL, nq);
            if (nr > BLOCK_ROWS) block_offer(t, blk + BLOCK_ROWS * PANEL, i + BLOCK_ROWS, nr - BLOCK_ROWS, g * PANEL, nq);
        }
    }
}
#endif

static support_set_kernel forced = SUPPORT_SET_KERNEL_AUTO;

static int kernel_available(support_set_kernel k) {
#ifdef SUPPORT_SET_X86
    __builtin_cpu_init();
    if (k == SUPPORT_SET_KERNEL_AVX2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (k == SUPPORT_SET_KERNEL_AVX512) return __builtin_cpu_supports("avx512f");
#endif
    return k == SUPPORT_SET_KERNEL_PORTABLE || k == SUPPORT_SET_KERNEL_AUTO;
}

int support_set_force_kernel(support_set_kernel k) {
    int ok = kernel_available(k);
    forced = ok ? k : SUPPORT_SET_KERNEL_AUTO;
    return ok;
}

typedef void (*scan_fn)(topk_lists *, const float *, int, int, const float *, int, int, int, int);

/* The kernel of the next lookup: the forced one, else the fastest available. */
static scan_fn choose_kernel(void) {
    support_set_kernel k = forced;
    if (k == SUPPORT_SET_KERNEL_AUTO)
        k = kernel_available(SUPPORT_SET_KERNEL_AVX512) ? SUPPORT_SET_KERNEL_AVX512
          : kernel_available(SUPPORT_SET_KERNEL_AVX2)   ? SUPPORT_SET_KERNEL_AVX2
                                                        : SUPPORT_SET_KERNEL_PORTABLE;
#ifdef SUPPORT_SET_X86
    if (k == SUPPORT_SET_KERNEL_AVX512) return scan_rows_avx512;
    if (k == SUPPORT_SET_KERNEL_AVX2) return scan_rows_avx2;
#endif
    return scan_rows_portable;
}

/* ---- creation, push, state */

static nnclr_status grow(void **p, size_t *cap, size_t bytes) {
    if (bytes <= *cap) return NNCLR_OK;
    free(*p);
    *cap = 0;
    *p = nnclr_malloc(bytes);
    if (!*p) return NNCLR_ERR_NOMEM;
    *cap = bytes;
    return NNCLR_OK;
}

nnclr_status support_set_create(support_set **out, int q, int d, int store_labels, uint64_t seed) {
    if (!out) return nnclr_fail(NNCLR_ERR_ARG, "support_set_create: out is NULL");
    *out = NULL;
    if (q < 1 || d < 1) return nnclr_fail(NNCLR_ERR_ARG, "support set size %d x %d must be >= 1", q, d);
    support_set *s = nnclr_calloc(1, sizeof *s);
    if (!s) return NNCLR_ERR_NOMEM;
    s->q = q;
    s->d = d;
    s->entries = nnclr_malloc((size_t)q * d * sizeof(float));
    if (!s->entries) {
        support_set_free(s);
        return NNCLR_ERR_NOMEM;
    }
    if (store_labels) {
        s->labels = nnclr_malloc((size_t)q * sizeof(int));
        if (!s->labels) {
            support_set_free(s);
            return NNCLR_ERR_NOMEM;
        }
        for (int i = 0; i < q; i++) s->labels[i] = -1;
    }
    /* Random unit vectors: normal components, then normalised (the paper's queue init). */
    rng_state r;
    rng_seed(&r, seed);
    for (int i = 0; i < q; i++) {
        float *e = s->entries + (size_t)i * d;
        double ss = 0;
        for (int k = 0; k < d; k++) {
            e[k] = rng_normal(&r);
            ss += (double)e[k] * e[k];
        }
        if (ss > 0) {
            float inv = (float)(1.0 / sqrt(ss));
            for (int k = 0; k < d; k++) e[k] *= inv;
        } else {
            e[0] = 1.0f;
        }
    }
    *out = s;
    return NNCLR_OK;
}

void support_set_free(support_set *s) {
    if (!s) return;
    free(s->entries);
    free(s->labels);
    free(s->packed);
    free(s->lists);
    free(s->list_idx);
    free(s->res_idx);
    free(s->res_sim);
    free(s->merge);
    free(s);
}

nnclr_status support_set_push(support_set *s, const float *z, const int *labels, int b) {
    if (!s || !z) return nnclr_fail(NNCLR_ERR_ARG, "support_set_push: NULL argument");
    if (b < 1) return nnclr_fail(NNCLR_ERR_ARG, "support_set_push: batch %d must be >= 1", b);
    int pushed = b;
    if (b > s->q) { /* only the last q rows survive */
        z += (size_t)(b - s->q) * s->d;
        if (labels) labels += b - s->q;
        b = s->q;
    }
    int first = s->q - s->write_pos < b ? s->q - s->write_pos : b;
    size_t row = (size_t)s->d;
    memcpy(s->entries + s->write_pos * row, z, (size_t)first * row * sizeof(float));
    memcpy(s->entries, z + first * row, (size_t)(b - first) * row * sizeof(float));
    if (s->labels) {
        for (int i = 0; i < b; i++) s->labels[(s->write_pos + i) % s->q] = labels ? labels[i] : -1;
    }
    s->write_pos = (int)(((long long)s->write_pos + b) % s->q);
    s->fill = s->fill + pushed >= s->q ? s->q : s->fill + pushed;
    return NNCLR_OK;
}

int support_set_size(const support_set *s) { return s->q; }
int support_set_dim(const support_set *s) { return s->d; }
const float *support_set_entries(const support_set *s) { return s->entries; }
const int *support_set_labels(const support_set *s) { return s->labels; }
int support_set_write_pos(const support_set *s) { return s->write_pos; }
int support_set_fill(const support_set *s) { return s->fill; }

nnclr_status support_set_restore(support_set *s, const float *entries, const int *labels,
                                 int write_pos, int fill) {
    if (!s || !entries) return nnclr_fail(NNCLR_ERR_ARG, "support_set_restore: NULL argument");
    if (write_pos < 0 || write_pos >= s->q || fill < 0 || fill > s->q)
        return nnclr_fail(NNCLR_ERR_ARG, "support_set_restore: write_pos %d / fill %d out of range for q = %d",
                          write_pos, fill, s->q);
    memcpy(s->entries, entries, (size_t)s->q * s->d * sizeof(float));
    if (s->labels) {
        if (labels) memcpy(s->labels, labels, (size_t)s->q * sizeof(int));
        else for (int i = 0; i < s->q; i++) s->labels[i] = -1;
    }
    s->write_pos = write_pos;
    s->fill = fill;
    return NNCLR_OK;
}

/* ---- lookup */

/* qsort order: similarity descending, then index ascending. */
static int cmp_better(const void *pa, const void *pb) {
    const sim_idx *a = pa, *b = pb;
    if (a->s > b->s) return -1;
    if (a->s < b->s) return 1;
    return (a->i > b->i) - (a->i < b->i);
}

/* Runs the scan over rows [lo, hi); leaves the (b, k) result in s->res_idx / s->res_sim, best
 * first. */
static nnclr_status lookup_range(support_set *s, const float *query, int b, int k, int lo, int hi) {
    if (!query) return nnclr_fail(NNCLR_ERR_ARG, "support set lookup: query is NULL");
    if (b < 1) return nnclr_fail(NNCLR_ERR_ARG, "support set lookup: batch %d must be >= 1", b);
    if (lo < 0 || hi > s->q || lo >= hi)
        return nnclr_fail(NNCLR_ERR_ARG, "support set lookup: rows [%d, %d) outside [0, %d)", lo, hi, s->q);
    if (k < 1 || k > hi - lo)
        return nnclr_fail(NNCLR_ERR_ARG, "support set lookup: topk %d must be in [1, %d]", k, hi - lo);
    int d = s->d, npanels = (b + PANEL - 1) / PANEL, bpad = npanels * PANEL;
    int nchunks = (hi - lo + CHUNK_ROWS - 1) / CHUNK_ROWS;
    int nt = omp_get_max_threads();
    if (nt > nchunks) nt = nchunks;
    if (nt < 1) nt = 1;

    size_t per_thread_f = (size_t)bpad * (1 + (size_t)k), per_thread_i = per_thread_f;
    NNCLR_TRY(grow((void **)&s->packed, &s->packed_cap, (size_t)bpad * d * sizeof(float)));
    NNCLR_TRY(grow((void **)&s->lists, &s->lists_cap, nt * per_thread_f * sizeof(float)));
    NNCLR_TRY(grow((void **)&s->list_idx, &s->list_idx_cap, nt * per_thread_i * sizeof(int)));
    NNCLR_TRY(grow((void **)&s->res_idx, &s->res_idx_cap, (size_t)b * k * sizeof(int)));
    NNCLR_TRY(grow((void **)&s->res_sim, &s->res_sim_cap, (size_t)b * k * sizeof(float)));
    NNCLR_TRY(grow((void **)&s->merge, &s->merge_cap, (size_t)nt * k * sizeof(sim_idx)));

    /* packed[g][k][l] = query[16 g + l][k], zero padded. */
    for (int g = 0; g < npanels; g++)
        for (int l = 0; l < PANEL; l++) {
            int j = g * PANEL + l;
            float *dst = s->packed + (size_t)g * d * PANEL + l;
            if (j < b)
                for (int c = 0; c < d; c++) dst[(size_t)c * PANEL] = query[(size_t)j * d + c];
            else
                for (int c = 0; c < d; c++) dst[(size_t)c * PANEL] = 0.0f;
        }

    scan_fn scan = choose_kernel();
    /* Panels per group: the group's packed queries (<= GROUP_FLOATS) stay in L2 while a chunk's
     * rows stream past them; b = 256, d = 256 is one group. */
    int gpanels = GROUP_FLOATS / (PANEL * d);
    if (gpanels < 1) gpanels = 1;
    int team = 1;
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num();
#pragma omp single
        team = omp_get_num_threads(); /* may be fewer than asked for (nested, dynamic) */
        topk_lists tl;
        tl.k = k;
        tl.thr = s->lists + t * per_thread_f;
        tl.sim = tl.thr + bpad;
        tl.count = s->list_idx + t * per_thread_i;
        tl.idx = tl.count + bpad;
        for (int j = 0; j < bpad; j++) {
            tl.thr[j] = j < b ? -INFINITY : INFINITY;
            tl.count[j] = 0;
        }
#pragma omp for schedule(dynamic, 1)
        for (int c = 0; c < nchunks; c++) {
            int r0 = lo + c * CHUNK_ROWS, r1 = r0 + CHUNK_ROWS < hi ? r0 + CHUNK_ROWS : hi;
            for (int g0 = 0; g0 < npanels; g0 += gpanels)
                scan(&tl, s->entries, r0, r1, s->packed, b, d, g0,
                     g0 + gpanels < npanels ? g0 + gpanels : npanels);
        }
    }

    /* Merge the per-thread lists, best first. */
    for (int j = 0; j < b; j++) {
        sim_idx *buf = s->merge;
        int n = 0;
        for (int t = 0; t < team; t++) {
            const float *sim = s->lists + t * per_thread_f + bpad + (size_t)j * k;
            const int *cnt = s->list_idx + t * per_thread_i;
            const int *idx = cnt + bpad + (size_t)j * k;
            for (int m = 0; m < cnt[j]; m++, n++) {
                buf[n].s = sim[m];
                buf[n].i = idx[m];
            }
        }
        if (n < k)
            return nnclr_fail(NNCLR_ERR_NUMERIC,
                              "support set lookup: query %d has only %d comparable rows (NaN?)", j, n);
        qsort(buf, (size_t)n, sizeof *buf, cmp_better);
        for (int m = 0; m < k; m++) {
            s->res_sim[(size_t)j * k + m] = buf[m].s;
            s->res_idx[(size_t)j * k + m] = buf[m].i;
        }
    }
    return NNCLR_OK;
}

static nnclr_status lookup(support_set *s, const float *query, int b, int k) {
    return lookup_range(s, query, b, k, 0, s->q);
}

nnclr_status support_set_topk_range(support_set *s, int *idx, float *sim, const float *query, int b,
                                    int topk, int row_lo, int row_hi) {
    if (!s || !idx) return nnclr_fail(NNCLR_ERR_ARG, "support_set_topk_range: NULL argument");
    NNCLR_TRY(lookup_range(s, query, b, topk, row_lo, row_hi));
    memcpy(idx, s->res_idx, (size_t)b * topk * sizeof(int));
    if (sim) memcpy(sim, s->res_sim, (size_t)b * topk * sizeof(float));
    return NNCLR_OK;
}

nnclr_status support_set_topk(support_set *s, int *idx, float *sim, const float *query, int b,
                              int topk) {
    if (!s || !idx) return nnclr_fail(NNCLR_ERR_ARG, "support_set_topk: NULL argument");
    NNCLR_TRY(lookup(s, query, b, topk));
    memcpy(idx, s->res_idx, (size_t)b * topk * sizeof(int));
    if (sim) memcpy(sim, s->res_sim, (size_t)b * topk * sizeof(float));
    return NNCLR_OK;
}

nnclr_status support_set_nearest(support_set *s, float *nn, int *idx, const float *query, int b,
                                 int topk, rng_state *rng) {
    if (!s || !idx) return nnclr_fail(NNCLR_ERR_ARG, "support_set_nearest: NULL argument");
    if (topk > 1 && !rng) return nnclr_fail(NNCLR_ERR_ARG, "support_set_nearest: topk %d needs an rng", topk);
    NNCLR_TRY(lookup(s, query, b, topk));
    for (int j = 0; j < b; j++) {
        int m = topk > 1 ? (int)rng_below(rng, (uint64_t)topk) : 0;
        idx[j] = s->res_idx[(size_t)j * topk + m];
        if (nn) memcpy(nn + (size_t)j * s->d, s->entries + (size_t)idx[j] * s->d, (size_t)s->d * sizeof(float));
    }
    return NNCLR_OK;
}
