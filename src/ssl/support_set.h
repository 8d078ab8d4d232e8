/* support_set.h - the NNCLR support set: a FIFO queue of L2-normalised embeddings and the
 * nearest-neighbour lookup that replaces each view's own embedding by its neighbour in it.
 *
 * Data flow per training step: the projections z1, z2 are normalised; support_set_nearest gives
 * NN(z) (top-1, or one drawn uniformly from the top-k), which becomes the positive of the NNCLR
 * loss (src/ssl/loss.h); then the batch's normalised z1 is pushed, overwriting the oldest rows.
 *
 * The queue starts as Q random unit vectors (seeded), as in the paper and solo-learn; the lookup
 * always searches all Q rows, whether pushed or still random. `fill` only counts real pushed rows
 * (capped at Q) for diagnostics. Optional int labels (-1 = unknown) ride along for NN-accuracy
 * statistics.
 *
 * Similarity is the float dot product of the (already normalised) query and entry, accumulated
 * in order k = 0..D-1. Ties go to the lowest queue index, so results do not depend on the number
 * of threads. The lookup never forms the (b, Q) similarity matrix: a tiled AVX2/FMA kernel
 * computes 6 x 16 blocks of it in registers and folds them into per-thread running top-k lists,
 * threads splitting the queue (OpenMP); portable C when AVX2/FMA is missing at run time. */
#ifndef NNCLR_SSL_SUPPORT_SET_H
#define NNCLR_SSL_SUPPORT_SET_H

#include <stdint.h>
#include "core/rng.h"
#include "nnclr.h"

#define SUPPORT_SET_DEFAULT_SIZE 98304
#define SUPPORT_SET_DEFAULT_DIM 256

typedef struct support_set support_set;

/* q >= 1 rows of dimension d >= 1, initialised with random unit vectors drawn from a generator
 * seeded with `seed`. store_labels != 0 keeps an int label per row (initially -1). */
nnclr_status support_set_create(support_set **out, int q, int d, int store_labels, uint64_t seed);
void support_set_free(support_set *s);

/* Pushes b >= 1 rows FIFO, overwriting the oldest and wrapping around. z: (b, d), already
 * L2-normalised. labels: (b) or NULL (stored as -1; ignored when the set keeps no labels).
 * When b > q only the last q rows are kept. */
nnclr_status support_set_push(support_set *s, const float *z, const int *labels, int b);

/* For each of b >= 1 queries, the index of the most similar row (topk == 1; ties -> lowest
 * index), or with topk > 1 an index drawn uniformly among the topk most similar rows using
 * `rng` (one draw per query, in query order). 1 <= topk <= q.
 * nn: (b, d) OUT copies of the chosen rows, or NULL. idx: (b) OUT. query: (b, d), normalised.
 * No gradient flows through this. NNCLR_ERR_NUMERIC when NaN similarities leave a query
 * without topk comparable rows. Not thread-safe on one set (it owns scratch space). */
nnclr_status support_set_nearest(support_set *s, float *nn, int *idx, const float *query, int b,
                                 int topk, rng_state *rng);

/* The topk most similar rows per query, best first (similarity descending, index ascending):
 * idx: (b, topk) OUT, sim: (b, topk) OUT or NULL. The building block of support_set_nearest,
 * also useful for k-NN style diagnostics. */
nnclr_status support_set_topk(support_set *s, int *idx, float *sim, const float *query, int b,
                              int topk);

/* support_set_topk over the rows [row_lo, row_hi) only (0 <= row_lo < row_hi <= q, topk <=
 * row_hi - row_lo); indices are those of the whole set. For a search sharded over processes. */
nnclr_status support_set_topk_range(support_set *s, int *idx, float *sim, const float *query, int b,
                                    int topk, int row_lo, int row_hi);

/* Accessors (checkpoints, diagnostics). entries: (q, d). labels: (q) or NULL. */
int support_set_size(const support_set *s);
int support_set_dim(const support_set *s);
const float *support_set_entries(const support_set *s);
const int *support_set_labels(const support_set *s);
int support_set_write_pos(const support_set *s); /* next row to overwrite, in [0, q) */
int support_set_fill(const support_set *s);      /* rows pushed so far, capped at q */

/* Restores a saved state exactly. entries: (q, d) of this set's shape. labels: (q) or NULL
 * (NULL resets stored labels to -1; ignored when the set keeps none). 0 <= write_pos < q,
 * 0 <= fill <= q. */
nnclr_status support_set_restore(support_set *s, const float *entries, const int *labels,
                                 int write_pos, int fill);

/* The lookup kernels; AUTO is the fastest this CPU has (AVX-512, else AVX2 + FMA, else
 * portable C). All give bit-identical results. */
typedef enum {
    SUPPORT_SET_KERNEL_AUTO,
    SUPPORT_SET_KERNEL_PORTABLE,
    SUPPORT_SET_KERNEL_AVX2,
    SUPPORT_SET_KERNEL_AVX512
} support_set_kernel;

/* Tests and benchmarks: every later lookup in the process uses kernel `k`. Returns 1, or 0 (and
 * selects AUTO) when this CPU lacks it. */
int support_set_force_kernel(support_set_kernel k);

#endif
