/* test_loader.c - the data loader's contract: bytes independent of thread count and prefetch,
 * every sample once per epoch, drop_last counts, rank shards that add up to the world-1 batch,
 * exact mid-epoch resume, and a clean stop while workers are busy. Data sets are built in
 * memory; labels carry the sample index so the visiting order can be read back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "core/status.h"
#include "data/augment.h"
#include "data/loader.h"
#include "testlib.h"

static dataset make_set(int n, int h, int w, int c, int labelled, uint64_t seed) {
    dataset d;
    memset(&d, 0, sizeof d);
    d.n = n, d.h = h, d.w = w, d.c = c;
    size_t one = (size_t)h * w * c;
    d.pixels = malloc((size_t)n * one);
    d.images = malloc((size_t)n * sizeof *d.images);
    rng_state r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < (size_t)n * one; i++) d.pixels[i] = (uint8_t)rng_below(&r, 256);
    for (int i = 0; i < n; i++) d.images[i] = (dataset_image){.w = w, .h = h, .c = c, .pixels = d.pixels + i * one};
    if (labelled) {
        d.labels = malloc((size_t)n * sizeof *d.labels);
        for (int i = 0; i < n; i++) d.labels[i] = i;
        d.num_classes = n;
    }
    return d;
}

static void free_set(dataset *d) {
    free(d->pixels);
    free(d->images);
    free(d->labels);
}

/* One epoch's output, all batches concatenated. */
typedef struct {
    int batches, rows;
    int sizes[64];
    float *v1, *v2;
    int *labels;
} epoch_out;

static void epoch_free(epoch_out *e) {
    free(e->v1);
    free(e->v2);
    free(e->labels);
}

/* Runs epoch `epoch` from `first` to the end. Returns 0 on any loader error. */
static int run_epoch(const dataset *d, const augment_config *aug, loader_config lc, int epoch, int first,
                     epoch_out *e) {
    memset(e, 0, sizeof *e);
    loader *l;
    if (loader_create(&l, d, aug, &lc) != NNCLR_OK) {
        printf("loader_create: %s\n", nnclr_last_error());
        return 0;
    }
    int c, s, bl = loader_local_batch(l);
    loader_view_shape(l, &c, &s);
    size_t vf = (size_t)c * s * s;
    e->v1 = calloc((size_t)d->n * vf, sizeof(float));
    e->v2 = calloc((size_t)d->n * vf, sizeof(float));
    e->labels = calloc((size_t)d->n, sizeof(int));
    float *b1 = malloc((size_t)bl * vf * sizeof(float)), *b2 = malloc((size_t)bl * vf * sizeof(float));
    int *lab = malloc((size_t)bl * sizeof(int));
    int ok = loader_start_epoch(l, epoch, first) == NNCLR_OK;
    for (;;) {
        int n, done;
        if (loader_next(l, b1, lc.two_views ? b2 : NULL, lab, &n, &done) != NNCLR_OK) {
            ok = 0;
            break;
        }
        if (done) break;
        memcpy(e->v1 + (size_t)e->rows * vf, b1, (size_t)n * vf * sizeof(float));
        if (lc.two_views) memcpy(e->v2 + (size_t)e->rows * vf, b2, (size_t)n * vf * sizeof(float));
        memcpy(e->labels + e->rows, lab, (size_t)n * sizeof(int));
        e->sizes[e->batches++] = n;
        e->rows += n;
    }
    int n, done;
    ok &= loader_next(l, b1, b2, lab, &n, &done) == NNCLR_OK && done && n == 0;  /* stays done */
    free(b1);
    free(b2);
    free(lab);
    loader_free(l);
    return ok;
}

static int same_epoch(const epoch_out *a, const epoch_out *b, size_t vf) {
    if (a->rows != b->rows || a->batches != b->batches) return 0;
    for (int i = 0; i < a->batches; i++)
        if (a->sizes[i] != b->sizes[i]) return 0;
    return memcmp(a->v1, b->v1, (size_t)a->rows * vf * sizeof(float)) == 0 &&
           memcmp(a->v2, b->v2, (size_t)a->rows * vf * sizeof(float)) == 0 &&
           memcmp(a->labels, b->labels, (size_t)a->rows * sizeof(int)) == 0;
}

static int is_permutation(const int *x, int n, int of) {
    char *seen = calloc((size_t)of, 1);
    int ok = 1;
    for (int i = 0; i < n; i++) {
        if (x[i] < 0 || x[i] >= of || seen[x[i]]) ok = 0;
        else seen[x[i]] = 1;
    }
    free(seen);
    return ok;
}

int main(void) {
    int n = 37;
    dataset d = make_set(n, 12, 10, 3, 1, 11);
    augment_config aug;
    augment_preset(&aug, "imagenet", 3, 8);
    aug.blur_kernel = 3;
    size_t vf = 3 * 8 * 8;
    loader_config base = {.batch = 8, .threads = 1, .prefetch = 3, .drop_last = 0, .shuffle = 1, .seed = 2024,
                          .rank = 0, .world = 1, .two_views = 1};

    /* Same bytes for 0, 1 and 2 workers and any prefetch depth. */
    epoch_out e1, e2, e0, e2p1, other;
    loader_config lc = base;
    check_true("epoch with 1 worker", run_epoch(&d, &aug, lc, 0, 0, &e1));
    lc.threads = 2;
    check_true("epoch with 2 workers", run_epoch(&d, &aug, lc, 0, 0, &e2));
    lc.threads = 0;
    check_true("epoch without workers", run_epoch(&d, &aug, lc, 0, 0, &e0));
    lc.threads = 2, lc.prefetch = 1;
    check_true("epoch with 2 workers, prefetch 1", run_epoch(&d, &aug, lc, 0, 0, &e2p1));
    check_true("1 vs 2 workers: identical bytes", same_epoch(&e1, &e2, vf));
    check_true("0 vs 2 workers: identical bytes", same_epoch(&e0, &e2, vf));
    check_true("prefetch 1 vs 3: identical bytes", same_epoch(&e2p1, &e2, vf));
    check_true("no drop_last: 5 batches, last has 5 rows",
               e1.batches == 5 && e1.rows == n && e1.sizes[0] == 8 && e1.sizes[4] == 5);
    check_true("each sample exactly once per epoch", is_permutation(e1.labels, e1.rows, n));
    int shuffled = 0;
    for (int i = 0; i < n; i++) shuffled |= e1.labels[i] != i;
    check_true("epoch order is shuffled", shuffled);
    check_true("views 1 and 2 differ", memcmp(e1.v1, e1.v2, (size_t)n * vf * sizeof(float)) != 0);

    /* Another epoch: new order and new views; the views of one sample also change. */
    lc = base;
    check_true("epoch 1", run_epoch(&d, &aug, lc, 1, 0, &other));
    check_true("epoch 1 is a permutation too", is_permutation(other.labels, other.rows, n));
    check_true("epochs 0 and 1: different order", memcmp(e1.labels, other.labels, n * sizeof(int)) != 0);
    int pos0 = -1, pos1 = -1;
    for (int i = 0; i < n; i++) {
        if (e1.labels[i] == 0) pos0 = i;
        if (other.labels[i] == 0) pos1 = i;
    }
    check_true("epochs 0 and 1: sample 0 gets different views",
               memcmp(e1.v1 + pos0 * vf, other.v1 + pos1 * vf, vf * sizeof(float)) != 0);

    /* Mid-epoch resume from batch 2 gives the tail of the full epoch. */
    epoch_out tail;
    check_true("resume epoch 1 at batch 2", run_epoch(&d, &aug, lc, 1, 2, &tail));
    check_true("resume: the remaining 3 batches match",
               tail.batches == 3 && tail.rows == n - 16 &&
                   memcmp(tail.v1, other.v1 + 16 * vf, (size_t)tail.rows * vf * sizeof(float)) == 0 &&
                   memcmp(tail.v2, other.v2 + 16 * vf, (size_t)tail.rows * vf * sizeof(float)) == 0 &&
                   memcmp(tail.labels, other.labels + 16, (size_t)tail.rows * sizeof(int)) == 0);
    epoch_free(&tail);
    epoch_free(&other);

    /* drop_last: 4 full batches, 32 distinct samples. */
    epoch_out dl;
    lc = base, lc.drop_last = 1, lc.threads = 2;
    check_true("drop_last epoch", run_epoch(&d, &aug, lc, 0, 0, &dl));
    int full = dl.batches == 4 && dl.rows == 32;
    for (int i = 0; i < dl.batches; i++) full &= dl.sizes[i] == 8;
    check_true("drop_last: 4 batches of 8", full);
    int distinct = 1;
    for (int i = 0; i < dl.rows; i++)
        for (int j = 0; j < i; j++) distinct &= dl.labels[i] != dl.labels[j];
    check_true("drop_last: no sample twice", distinct);
    check_true("drop_last: same first 32 rows as without", memcmp(dl.v1, e1.v1, 32 * vf * sizeof(float)) == 0);
    epoch_free(&dl);

    /* Sharding: rank r of 2 gets rows [4r, 4r+4) of each batch, [2r/..) of the last (5 rows: 2 + 3). */
    epoch_out r0, r1;
    lc = base, lc.world = 2, lc.threads = 2;
    lc.rank = 0;
    check_true("rank 0 of 2", run_epoch(&d, &aug, lc, 0, 0, &r0));
    lc.rank = 1;
    check_true("rank 1 of 2", run_epoch(&d, &aug, lc, 0, 0, &r1));
    int shard_ok = r0.batches == 5 && r1.batches == 5 && r0.sizes[4] == 2 && r1.sizes[4] == 3;
    int row = 0, o0 = 0, o1 = 0;
    for (int b = 0; shard_ok && b < 5; b++) {
        int a = r0.sizes[b], c = r1.sizes[b];
        shard_ok &= a + c == e1.sizes[b];
        shard_ok &= memcmp(r0.v1 + o0 * vf, e1.v1 + row * vf, a * vf * sizeof(float)) == 0;
        shard_ok &= memcmp(r0.v2 + o0 * vf, e1.v2 + row * vf, a * vf * sizeof(float)) == 0;
        shard_ok &= memcmp(r1.v1 + o1 * vf, e1.v1 + (row + a) * vf, c * vf * sizeof(float)) == 0;
        shard_ok &= memcmp(r1.v2 + o1 * vf, e1.v2 + (row + a) * vf, c * vf * sizeof(float)) == 0;
        shard_ok &= memcmp(r0.labels + o0, e1.labels + row, a * sizeof(int)) == 0;
        shard_ok &= memcmp(r1.labels + o1, e1.labels + row + a, c * sizeof(int)) == 0;
        row += a + c, o0 += a, o1 += c;
    }
    check_true("sharding: rank 0 + rank 1 rows == world-1 batch, every batch", shard_ok);
    epoch_free(&r0);
    epoch_free(&r1);

    /* One view only: view1 as in the two-view run. */
    epoch_out one;
    lc = base, lc.two_views = 0, lc.threads = 2;
    check_true("one-view epoch", run_epoch(&d, &aug, lc, 0, 0, &one));
    check_true("one view: same view1 bytes", one.rows == n && memcmp(one.v1, e1.v1, n * vf * sizeof(float)) == 0);
    epoch_free(&one);

    /* No shuffle: data set order. Unlabelled: labels -1. */
    epoch_out ord;
    lc = base, lc.shuffle = 0;
    run_epoch(&d, &aug, lc, 3, 0, &ord);
    int in_order = ord.rows == n;
    for (int i = 0; i < ord.rows; i++) in_order &= ord.labels[i] == i;
    check_true("shuffle 0: data set order", in_order);
    epoch_free(&ord);
    dataset u = make_set(10, 9, 9, 1, 0, 5);
    augment_config g;
    augment_preset(&g, "gray", 1, 0);
    lc = base, lc.batch = 4;
    check_true("gray preset, size from the data set", run_epoch(&u, &g, lc, 0, 0, &ord));
    int unl = ord.rows == 10;
    for (int i = 0; i < ord.rows; i++) unl &= ord.labels[i] == -1;
    check_true("unlabelled: labels -1", unl);
    epoch_free(&ord);
    free_set(&u);

    /* Restarting an epoch while workers are mid-batch discards their work. */
    {
        loader *l;
        lc = base, lc.threads = 2, lc.prefetch = 3;
        check_true("create for restart", loader_create(&l, &d, &aug, &lc) == NNCLR_OK);
        float *b1 = malloc(8 * vf * sizeof(float)), *b2 = malloc(8 * vf * sizeof(float));
        int lab[8], nn, done, same = 1, row = 0;
        loader_start_epoch(l, 5, 0);
        loader_next(l, b1, b2, lab, &nn, &done);
        loader_start_epoch(l, 0, 0);
        int ep, nb;
        loader_position(l, &ep, &nb);
        check_true("position after restart: epoch 0, batch 0", ep == 0 && nb == 0);
        while (loader_next(l, b1, b2, lab, &nn, &done) == NNCLR_OK && !done) {
            same &= memcmp(b1, e1.v1 + row * vf, nn * vf * sizeof(float)) == 0;
            same &= memcmp(lab, e1.labels + row, nn * sizeof(int)) == 0;
            row += nn;
        }
        check_true("restart mid-epoch: fresh epoch 0 bytes", same && row == n);
        double ips, wait;
        loader_stats(l, &ips, &wait);
        check_true("stats: images/s > 0", ips > 0 && wait >= 0);
        free(b1);
        free(b2);
        loader_free(l);
    }

    /* Free while workers are busy on large views, right after start, and before any epoch. */
    {
        dataset big = make_set(64, 96, 96, 3, 1, 9);
        augment_config a224;
        augment_preset(&a224, "imagenet", 3, 160);
        loader *l;
        lc = base, lc.batch = 16, lc.threads = 2, lc.prefetch = 3;
        check_true("create big", loader_create(&l, &big, &a224, &lc) == NNCLR_OK);
        loader_start_epoch(l, 0, 0);
        loader_free(l);
        check_true("free right after start returns", 1);
        check_true("create big again", loader_create(&l, &big, &a224, &lc) == NNCLR_OK);
        size_t bf = (size_t)16 * 3 * 160 * 160;
        float *b1 = malloc(bf * sizeof(float)), *b2 = malloc(bf * sizeof(float));
        int lab[16], nn, done;
        loader_start_epoch(l, 0, 0);
        check_true("one big batch", loader_next(l, b1, b2, lab, &nn, &done) == NNCLR_OK && nn == 16);
        loader_free(l);
        check_true("free with batches in flight returns", 1);
        check_true("create without epoch", loader_create(&l, &big, &a224, &lc) == NNCLR_OK);
        check_true("next before start -> ERR_ARG", loader_next(l, b1, b2, lab, &nn, &done) == NNCLR_ERR_ARG);
        loader_free(l);
        free(b1);
        free(b2);
        free_set(&big);
    }

    /* Argument errors. */
    loader *l = NULL;
    lc = base, lc.world = 3;
    check_true("batch not a multiple of world -> ERR_ARG", loader_create(&l, &d, &aug, &lc) == NNCLR_ERR_ARG && !l);
    lc = base, lc.batch = 64, lc.drop_last = 1;
    check_true("drop_last with n < batch -> ERR_ARG", loader_create(&l, &d, &aug, &lc) == NNCLR_ERR_ARG);
    lc = base, lc.rank = 1;
    check_true("rank >= world -> ERR_ARG", loader_create(&l, &d, &aug, &lc) == NNCLR_ERR_ARG);
    augment_config a0 = aug;
    a0.size = 0;
    lc = base;
    check_true("size 0 on a non-square set -> ERR_ARG", loader_create(&l, &d, &a0, &lc) == NNCLR_ERR_ARG);
    lc = base, lc.prefetch = 0;
    check_true("prefetch 0 -> ERR_ARG", loader_create(&l, &d, &aug, &lc) == NNCLR_ERR_ARG);

    epoch_free(&e0);
    epoch_free(&e1);
    epoch_free(&e2);
    epoch_free(&e2p1);
    free_set(&d);
    return test_summary();
}
