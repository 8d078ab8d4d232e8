/* test_support_set.c - the support set: FIFO bookkeeping, nearest-neighbour lookup against a
 * brute-force reference (exact: same fused multiply-add sequence, so indices AND similarities
 * must match bit for bit), ties, top-k sampling, state round trip, errors, and the PyTorch
 * brute-force fixture (tests/gen_ssl.py -> fixtures/ssl_nn.bin). */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "core/status.h"
#include "ssl/support_set.h"
#include "testlib.h"

static void normalize_rows(float *x, int n, int d) {
    for (int i = 0; i < n; i++) {
        double ss = 0;
        for (int k = 0; k < d; k++) ss += (double)x[i * d + k] * x[i * d + k];
        for (int k = 0; k < d; k++) x[i * d + k] = (float)(x[i * d + k] / sqrt(ss));
    }
}

/* Brute force: the topk rows per query, similarity descending then index ascending, with the
 * similarity computed as the library defines it (fma over k = 0..d-1). */
static void brute_topk(int *idx, float *sim, const float *e, int q, const float *z, int b, int d, int k) {
    float *s = malloc((size_t)q * sizeof(float));
    char *used = malloc((size_t)q);
    for (int j = 0; j < b; j++) {
        for (int i = 0; i < q; i++) {
            float acc = 0;
            for (int c = 0; c < d; c++) acc = fmaf(e[(size_t)i * d + c], z[(size_t)j * d + c], acc);
            s[i] = acc;
            used[i] = 0;
        }
        for (int m = 0; m < k; m++) {
            int best = -1;
            for (int i = 0; i < q; i++)
                if (!used[i] && (best < 0 || s[i] > s[best])) best = i;
            used[best] = 1;
            idx[j * k + m] = best;
            sim[j * k + m] = s[best];
        }
    }
    free(s);
    free(used);
}

static int same_ints(const int *a, const int *b, size_t n) { return memcmp(a, b, n * sizeof(int)) == 0; }

/* Lookup of random queries in a queue with duplicated rows, against brute force. */
static void check_lookup(const char *tag, int q, int d, int b, int k, int dup_every) {
    char what[160];
    support_set *s;
    if (support_set_create(&s, q, d, 0, (uint64_t)q * 31 + d) != NNCLR_OK) {
        check_true("create for lookup test", 0);
        return;
    }
    float *e = malloc((size_t)q * d * sizeof(float));
    memcpy(e, support_set_entries(s), (size_t)q * d * sizeof(float));
    /* Exact ties: row 0 copied to every dup_every-th row (across blocks of 6 and chunks of
     * 1536), and the first queries are copies of row 0, so their best rows tie exactly. */
    if (dup_every > 0)
        for (int i = dup_every; i < q; i += dup_every) memcpy(e + (size_t)i * d, e, (size_t)d * sizeof(float));
    support_set_restore(s, e, NULL, 0, 0);
    float *z = malloc((size_t)b * d * sizeof(float));
    fill_uniform(z, (size_t)b * d, (unsigned)(q + b + k));
    normalize_rows(z, b, d);
    if (dup_every > 0)
        for (int j = 0; j < b && j < 3; j++) memcpy(z + (size_t)j * d, e, (size_t)d * sizeof(float));
    int *ri = malloc((size_t)b * k * sizeof(int)), *gi = malloc((size_t)b * k * sizeof(int));
    float *rs = malloc((size_t)b * k * sizeof(float)), *gs = malloc((size_t)b * k * sizeof(float));
    brute_topk(ri, rs, e, q, z, b, d, k);
    static const char *kname[] = {"auto", "portable", "avx2", "avx512"};
    for (int kern = SUPPORT_SET_KERNEL_PORTABLE; kern <= SUPPORT_SET_KERNEL_AVX512; kern++) {
        if (!support_set_force_kernel((support_set_kernel)kern)) continue; /* not on this CPU */
        for (int threads = 1; threads <= 3; threads++) {
            omp_set_num_threads(threads);
            nnclr_status st = support_set_topk(s, gi, gs, z, b, k);
            snprintf(what, sizeof what, "%s q=%d d=%d b=%d k=%d %s %dt: indices", tag, q, d, b, k,
                     kname[kern], threads);
            check_true(what, st == NNCLR_OK && same_ints(gi, ri, (size_t)b * k));
            snprintf(what, sizeof what, "%s q=%d d=%d b=%d k=%d %s %dt: similarities", tag, q, d, b, k,
                     kname[kern], threads);
            check_close(what, gs, rs, (size_t)b * k, 0.0, 0.0);
        }
    }
    support_set_force_kernel(SUPPORT_SET_KERNEL_AUTO);
    omp_set_num_threads(2);
    /* support_set_nearest with topk 1 is element 0 of the list; nn rows are copies. */
    float *nn = malloc((size_t)b * d * sizeof(float));
    int *i1 = malloc((size_t)b * sizeof(int));
    int ok = support_set_nearest(s, nn, i1, z, b, 1, NULL) == NNCLR_OK;
    for (int j = 0; ok && j < b; j++)
        ok = i1[j] == ri[j * k] && memcmp(nn + (size_t)j * d, e + (size_t)i1[j] * d, (size_t)d * sizeof(float)) == 0;
    snprintf(what, sizeof what, "%s q=%d: nearest top-1 index and copied row", tag, q);
    check_true(what, ok);
    if (dup_every > 0 && dup_every < q) {
        snprintf(what, sizeof what, "%s q=%d: exact tie goes to the lowest index", tag, q);
        check_true(what, i1[0] == 0 && (k < 2 || ri[1] == dup_every));
    }
    free(nn);
    free(i1);
    free(e);
    free(z);
    free(ri);
    free(gi);
    free(rs);
    free(gs);
    support_set_free(s);
}

static void test_fifo(void) {
    support_set *s;
    check_true("fifo: create 10 x 4 with labels", support_set_create(&s, 10, 4, 1, 5) == NNCLR_OK);
    const float *e = support_set_entries(s);
    int unit = 1;
    for (int i = 0; i < 10; i++) {
        double ss = 0;
        for (int k = 0; k < 4; k++) ss += (double)e[i * 4 + k] * e[i * 4 + k];
        unit &= fabs(ss - 1) < 1e-6;
    }
    check_true("fifo: random init rows are unit vectors", unit);
    int lab_init = 1;
    for (int i = 0; i < 10; i++) lab_init &= support_set_labels(s)[i] == -1;
    check_true("fifo: labels start at -1, fill 0, write_pos 0",
               lab_init && support_set_fill(s) == 0 && support_set_write_pos(s) == 0);
    support_set *s2;
    support_set_create(&s2, 10, 4, 0, 5);
    check_true("fifo: same seed, same init; no labels -> NULL",
               memcmp(support_set_entries(s2), e, 40 * sizeof(float)) == 0 && support_set_labels(s2) == NULL);
    support_set_free(s2);
    support_set_create(&s2, 10, 4, 0, 6);
    check_true("fifo: other seed, other init", memcmp(support_set_entries(s2), e, 40 * sizeof(float)) != 0);

    /* Rows are tagged by value: row r of a push has all components equal to its tag. */
    float z[25 * 4];
    int lab[25];
    for (int i = 0; i < 25; i++) {
        for (int k = 0; k < 4; k++) z[i * 4 + k] = (float)(100 + i);
        lab[i] = 1000 + i;
    }
    support_set_push(s, z, lab, 3);
    int ok = 1;
    for (int i = 0; i < 3; i++) ok &= e[i * 4 + 2] == 100 + i && support_set_labels(s)[i] == 1000 + i;
    check_true("fifo: push 3 -> rows 0..2, labels", ok && support_set_write_pos(s) == 3 && support_set_fill(s) == 3);
    check_true("fifo: untouched rows keep init", e[3 * 4] != 103 && support_set_labels(s)[3] == -1);
    /* 8 more rows wrap: rows 3..9 get tags 100..106, row 0 gets 107. */
    support_set_push(s, z, NULL, 8);
    ok = 1;
    for (int i = 0; i < 7; i++) ok &= e[(3 + i) * 4] == 100 + i && support_set_labels(s)[3 + i] == -1;
    ok &= e[0] == 107 && e[3] == 107 && support_set_labels(s)[0] == -1;
    ok &= e[4] == 101 && support_set_labels(s)[1] == 1001; /* row 1 not yet overwritten */
    check_true("fifo: wrap-around overwrites oldest, NULL labels -> -1", ok);
    check_true("fifo: write_pos 1, fill capped at 10", support_set_write_pos(s) == 1 && support_set_fill(s) == 10);
    /* b = 25 > q = 10: only the last 10 (tags 115..124) survive, the first at write_pos 1. */
    support_set_push(s, z, lab, 25);
    ok = 1;
    for (int i = 0; i < 10; i++) {
        int row = (1 + i) % 10;
        ok &= e[row * 4 + 1] == 115 + i && support_set_labels(s)[row] == 1015 + i;
    }
    check_true("fifo: b > q keeps the last q rows in FIFO order", ok && support_set_write_pos(s) == 1);
    support_set_free(s2);

    /* fill counts pushes, capped. */
    support_set_create(&s2, 7, 4, 0, 1);
    support_set_push(s2, z, NULL, 2);
    support_set_push(s2, z, NULL, 2);
    check_true("fifo: fill 4 after 2 + 2", support_set_fill(s2) == 4 && support_set_write_pos(s2) == 4);
    support_set_push(s2, z, NULL, 5);
    check_true("fifo: fill 7 (capped), write_pos 2", support_set_fill(s2) == 7 && support_set_write_pos(s2) == 2);
    support_set_free(s2);

    /* Save / restore round trip. */
    support_set *r;
    support_set_create(&r, 10, 4, 1, 77);
    nnclr_status st = support_set_restore(r, support_set_entries(s), support_set_labels(s),
                                          support_set_write_pos(s), support_set_fill(s));
    ok = st == NNCLR_OK && memcmp(support_set_entries(r), e, 40 * sizeof(float)) == 0 &&
         memcmp(support_set_labels(r), support_set_labels(s), 10 * sizeof(int)) == 0 &&
         support_set_write_pos(r) == support_set_write_pos(s) && support_set_fill(r) == support_set_fill(s);
    support_set_push(s, z + 4, lab + 1, 4);
    support_set_push(r, z + 4, lab + 1, 4);
    ok &= memcmp(support_set_entries(r), e, 40 * sizeof(float)) == 0 &&
          memcmp(support_set_labels(r), support_set_labels(s), 10 * sizeof(int)) == 0 &&
          support_set_write_pos(r) == support_set_write_pos(s);
    check_true("state: restore round trip, then identical pushes stay identical", ok);
    check_true("state: bad write_pos rejected", support_set_restore(r, e, NULL, 10, 0) == NNCLR_ERR_ARG);
    check_true("state: bad fill rejected", support_set_restore(r, e, NULL, 0, 11) == NNCLR_ERR_ARG);
    support_set_restore(r, e, NULL, 0, 0);
    check_true("state: NULL labels restore to -1", support_set_labels(r)[5] == -1);
    support_set_free(r);
    support_set_free(s);
}

static void test_sampling(void) {
    int q = 200, d = 8, k = 5, draws = 5000;
    support_set *s;
    support_set_create(&s, q, d, 0, 11);
    float *z = malloc((size_t)draws * d * sizeof(float));
    for (int j = 0; j < draws; j++) memcpy(z + (size_t)j * d, support_set_entries(s) + 17 * d, d * sizeof(float));
    int ref[5];
    float rs[5];
    brute_topk(ref, rs, support_set_entries(s), q, z, 1, d, k);
    int *idx = malloc((size_t)draws * sizeof(int));
    float *nn = malloc((size_t)draws * d * sizeof(float));
    rng_state rng;
    rng_seed(&rng, 3);
    check_true("top-k sampling: lookup ok", support_set_nearest(s, nn, idx, z, draws, k, &rng) == NNCLR_OK);
    int hits[5] = {0}, outside = 0;
    for (int j = 0; j < draws; j++) {
        int m = 0;
        while (m < k && ref[m] != idx[j]) m++;
        if (m == k) outside++;
        else hits[m]++;
    }
    check_true("top-k sampling: always among the k nearest", outside == 0);
    int spread = 1;
    for (int m = 0; m < k; m++) spread &= abs(hits[m] - draws / k) < 150; /* ~5 sigma */
    printf("     hits per rank: %d %d %d %d %d\n", hits[0], hits[1], hits[2], hits[3], hits[4]);
    check_true("top-k sampling: each of the k drawn ~uniformly", spread);
    rng_state a, b;
    rng_seed(&a, 9);
    rng_seed(&b, 9);
    int *idx2 = malloc((size_t)draws * sizeof(int));
    support_set_nearest(s, NULL, idx, z, 64, k, &a);
    support_set_nearest(s, NULL, idx2, z, 64, k, &b);
    check_true("top-k sampling: same rng state, same draws", same_ints(idx, idx2, 64));
    free(idx2);
    free(idx);
    free(nn);
    free(z);
    support_set_free(s);
}

static void test_errors(void) {
    support_set *s = NULL;
    check_true("errors: q = 0 rejected", support_set_create(&s, 0, 4, 0, 1) == NNCLR_ERR_ARG && s == NULL);
    check_true("errors: d = 0 rejected", support_set_create(&s, 4, 0, 0, 1) == NNCLR_ERR_ARG);
    support_set_create(&s, 6, 4, 0, 1);
    float z[8] = {1, 0, 0, 0, 0, 1, 0, 0};
    int idx[2];
    rng_state rng;
    rng_seed(&rng, 1);
    check_true("errors: topk > q", support_set_nearest(s, NULL, idx, z, 2, 7, &rng) == NNCLR_ERR_ARG);
    check_true("errors: topk = q is fine", support_set_nearest(s, NULL, idx, z, 2, 6, &rng) == NNCLR_OK);
    check_true("errors: topk < 1", support_set_nearest(s, NULL, idx, z, 2, 0, &rng) == NNCLR_ERR_ARG);
    check_true("errors: b < 1", support_set_nearest(s, NULL, idx, z, 0, 1, &rng) == NNCLR_ERR_ARG);
    check_true("errors: topk > 1 without rng", support_set_nearest(s, NULL, idx, z, 2, 2, NULL) == NNCLR_ERR_ARG);
    check_true("errors: push b < 1", support_set_push(s, z, NULL, 0) == NNCLR_ERR_ARG);
    float bad[4] = {NAN, 0, 0, 0};
    nnclr_status st = support_set_nearest(s, NULL, idx, bad, 1, 1, NULL);
    check_true("errors: NaN query -> NNCLR_ERR_NUMERIC", st == NNCLR_ERR_NUMERIC);
    printf("     (message: %s)\n", nnclr_last_error());
    support_set_free(s);
    support_set_free(NULL);
}

static void test_fixture(void) {
    fx_file f;
    if (fx_load(&f, "fixtures/ssl_nn.bin")) return;
    const fx_tensor *queue = fx_get(&f, "queue"), *query = fx_get(&f, "query");
    const fx_tensor *top1 = fx_get(&f, "top1"), *top5 = fx_get(&f, "top5"), *top5s = fx_get(&f, "top5_sim");
    if (!queue || !query || !top1 || !top5 || !top5s) return;
    int q = queue->dims[0], d = queue->dims[1], b = query->dims[0];
    support_set *s;
    support_set_create(&s, q, d, 0, 1);
    support_set_restore(s, queue->data, NULL, 0, q);
    int *idx = malloc((size_t)b * 5 * sizeof(int));
    float *sim = malloc((size_t)b * 5 * sizeof(float)), *fidx = malloc((size_t)b * 5 * sizeof(float));
    support_set_nearest(s, NULL, idx, query->data, b, 1, NULL);
    for (int j = 0; j < b; j++) fidx[j] = (float)idx[j];
    check_close("torch fixture: top-1 indices", fidx, top1->data, (size_t)b, 0, 0);
    support_set_topk(s, idx, sim, query->data, b, 5);
    for (int j = 0; j < b * 5; j++) fidx[j] = (float)idx[j];
    check_close("torch fixture: top-5 indices (ordered)", fidx, top5->data, (size_t)b * 5, 0, 0);
    /* float sequential-fma similarity vs torch float64 similarity of the same float inputs */
    check_close("torch fixture: top-5 similarities", sim, top5s->data, (size_t)b * 5, 1e-6, 1e-6);
    free(idx);
    free(sim);
    free(fidx);
    support_set_free(s);
    fx_free(&f);
}

int main(void) {
    if (!support_set_force_kernel(SUPPORT_SET_KERNEL_AVX512))
        printf("note: no AVX-512 on this CPU, its lookup kernel is not tested\n");
    if (!support_set_force_kernel(SUPPORT_SET_KERNEL_AVX2))
        printf("note: no AVX2 + FMA on this CPU, its lookup kernel is not tested\n");
    support_set_force_kernel(SUPPORT_SET_KERNEL_AUTO);
    test_fifo();
    test_errors();
    test_sampling();
    test_fixture();
    /* q below one register block, not a multiple of 6, across chunk boundaries (1536); b below
     * and across the 16-query panels; odd d; k from 1 to q. */
    check_lookup("tiny", 1, 3, 2, 1, 0);
    check_lookup("tiny", 5, 4, 3, 5, 2);
    check_lookup("small", 7, 9, 17, 3, 3);
    check_lookup("ties", 1537, 16, 16, 1, 6);
    check_lookup("ties", 3100, 37, 40, 4, 1535);
    check_lookup("ties", 3100, 37, 33, 7, 1536);
    check_lookup("plain", 4000, 64, 1, 1, 0);
    check_lookup("plain", 2000, 32, 20, 20, 0);
    /* Query panels scanned in several L2-sized groups (large d and b). */
    check_lookup("groups", 500, 1100, 100, 2, 0);
    check_lookup("groups", 40, 5000, 20, 3, 7);
    return test_summary();
}
