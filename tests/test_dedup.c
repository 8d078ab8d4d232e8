/* test_dedup.c - the all-pairs search of src/curate/dedup.c on hand-made unit vectors: the
 * pairs above a threshold (within one set and between two) against a brute-force list, their
 * order, a result held by one thread only (the other threads' lists empty), the same pairs from
 * neighbour lists, groups, and the pair limit. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "curate/dedup.h"
#include "testlib.h"

int main(void) {
    omp_set_num_threads(2);
    /* 6 unit vectors in 3-D: rows 0 and 4 nearly equal, rows 1 and 2 equal, the rest apart. */
    const float a[6 * 3] = {1, 0, 0,  0, 1, 0,  0, 1, 0,  0, 0, 1,  0.999f, 0.0447f, 0,  -1, 0, 0};
    dedup_pair *p = NULL;
    size_t n = 0;
    check_true("within one set: ok", dedup_pairs(a, 6, NULL, 0, 3, 0.99f, 100, &p, &n, NULL, NULL) == NNCLR_OK);
    check_true("within one set: the 2 pairs above 0.99", n == 2);
    check_true("most similar first: (1, 2) at 1, then (0, 4)",
               n == 2 && p[0].a == 1 && p[0].b == 2 && fabsf(p[0].cosine - 1) < 1e-6f && p[1].a == 0 && p[1].b == 4);
    int group[6], ng = 0;
    check_true("groups", n == 2 && dedup_groups(p, n, 0, 6, group, &ng) == NNCLR_OK && ng == 2 && group[1] == 0 &&
                             group[2] == 0 && group[0] == 1 && group[4] == 1 && group[3] == -1 && group[5] == -1);
    free(p);
    /* Between two sets, one pair only: one thread's list stays empty. */
    const float b[2 * 3] = {0, 0, 1,  0.6f, 0.8f, 0};
    check_true("between two sets: ok", dedup_pairs(a, 6, b, 2, 3, 0.99f, 100, &p, &n, NULL, NULL) == NNCLR_OK);
    check_true("between two sets: the one pair (3, 0)", n == 1 && p[0].a == 3 && p[0].b == 0);
    free(p);
    check_true("nothing above the threshold: no pairs, NULL",
               dedup_pairs(b, 2, NULL, 0, 3, 0.99f, 100, &p, &n, NULL, NULL) == NNCLR_OK && n == 0 && !p);
    check_true("more pairs than the limit: an error",
               dedup_pairs(a, 6, NULL, 0, 3, -1.0f, 3, &p, &n, NULL, NULL) == NNCLR_ERR_ARG && n == 0);
    check_true("threshold outside [-1, 1]: an error", dedup_pairs(a, 6, NULL, 0, 3, 1.5f, 100, &p, &n, NULL, NULL) == NNCLR_ERR_ARG);
    /* The same pairs from neighbour lists (each row's 2 nearest, itself included). */
    const int idx[6 * 2] = {0, 4,  1, 2,  2, 1,  3, -1,  4, 0,  5, -1};
    const float sim[6 * 2] = {1, 0.999f,  1, 1,  1, 1,  1, 0,  1, 0.999f,  1, 0};
    check_true("from neighbour lists: the same 2 pairs, each once",
               dedup_pairs_from_neighbors(idx, sim, 6, 2, 1, 0.99f, 100, &p, &n) == NNCLR_OK && n == 2 && p[0].a == 1 &&
                   p[0].b == 2 && p[1].a == 0 && p[1].b == 4);
    free(p);
    check_true("from neighbour lists, threshold outside [-1, 1]: an error",
               dedup_pairs_from_neighbors(idx, sim, 6, 2, 1, 1.5f, 100, &p, &n) == NNCLR_ERR_ARG);
    return test_summary();
}
