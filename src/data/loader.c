/* loader.c - worker threads fill a ring of batch buffers with augmented views; the trainer takes
 * them in order through loader_next(). See loader.h for the determinism and sharding contract.
 *
 * Work is handed out in chunks of a few rows of one batch (so two threads cooperate on a batch
 * instead of each holding a different one), guarded by one mutex. Batch b lives in ring slot
 * b % prefetch and may be started only once batch b - prefetch has been copied out. Where a row
 * lands and what it contains depend on (seed, epoch, sample index) only. */
#define _POSIX_C_SOURCE 200809L
#include "data/loader.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/rng.h"
#include "core/status.h"

/* Rows a worker claims at a time. */
#define LOADER_CHUNK 4
#define LOADER_MAX_THREADS 256
/* Stream key of the epoch shuffle; sample streams use keys 0 .. n-1, so they never collide. */

typedef struct {
    float *view1, *view2;  /* (B_local, C, S, S) each; view2 NULL for one view */
    int *labels;           /* (B_local) */
    int batch;             /* batch index held, -1 when free */
    int rows;              /* rows of that batch on this rank */
    int remaining;         /* rows not yet written */
} loader_slot;

struct loader {
    const dataset *d;
    augment_config aug;
    loader_config cfg;
    int channels, size;
    size_t view_floats;    /* C S S */
    int local_batch;       /* B / world */
    int batches;           /* per epoch */
    int *order;            /* (n) data set index at each epoch position */

    loader_slot *slots;    /* (prefetch); NULL without threads */
    pthread_t *threads;
    int n_threads;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;   /* workers: work may be available, or stop */
    pthread_cond_t ready_cv;  /* consumer: a slot became ready */
    pthread_cond_t idle_cv;   /* epoch restart: the last active worker finished */

    /* All below are guarded by mu. */
    int started;           /* an epoch was started */
    int accepting;         /* workers may claim rows */
    int stop;
    int active;            /* workers outside the lock writing rows */
    int epoch;
    int claim_batch, claim_row;  /* next rows to hand to a worker */
    int consume_batch;     /* next batch loader_next returns */
    long delivered;        /* samples handed out since the epoch start */
    double t_epoch, wait_s;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Rows [*lo, *hi) of the epoch order that global batch b gives this rank. */
static void batch_rows(const loader *l, int b, long *lo, long *hi) {
    long B = l->cfg.batch, n = l->d->n, start = (long)b * B;
    long gb = n - start < B ? n - start : B;
    *lo = start + gb * l->cfg.rank / l->cfg.world;
    *hi = start + gb * (l->cfg.rank + 1) / l->cfg.world;
}

/* Augments the samples at epoch positions [lo, hi) into rows starting at `row`. */
static void make_rows(const loader *l, int epoch, long lo, long hi, int row, float *view1, float *view2,
                      int *labels) {
    for (long pos = lo; pos < hi; pos++, row++) {
        int idx = l->order[pos];
        rng_state rng;
        rng_derive(&rng, l->cfg.seed, (uint64_t)epoch, (uint64_t)idx);
        const dataset_image *img = &l->d->images[idx];
        augment_apply(&l->aug, 0, view1 + (size_t)row * l->view_floats, img, &rng);
        if (view2) augment_apply(&l->aug, 1, view2 + (size_t)row * l->view_floats, img, &rng);
        labels[row] = l->d->labels ? l->d->labels[idx] : -1;
    }
}

static void *worker_main(void *arg) {
    loader *l = arg;
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        int b = l->claim_batch;
        if (!l->accepting || b >= l->batches || b >= l->consume_batch + l->cfg.prefetch) {
            pthread_cond_wait(&l->work_cv, &l->mu);
            continue;
        }
        loader_slot *s = &l->slots[b % l->cfg.prefetch];
        long lo, hi;
        batch_rows(l, b, &lo, &hi);
        if (l->claim_row == 0) {
            s->batch = b, s->rows = (int)(hi - lo), s->remaining = s->rows;
            if (s->rows == 0) pthread_cond_broadcast(&l->ready_cv);
        }
        int r0 = l->claim_row, r1 = r0 + LOADER_CHUNK < s->rows ? r0 + LOADER_CHUNK : s->rows;
        if (r1 == s->rows) {
            l->claim_batch++, l->claim_row = 0;
        } else {
            l->claim_row = r1;
        }
        if (r1 == r0) continue;
        int epoch = l->epoch;
        l->active++;
        pthread_mutex_unlock(&l->mu);

        make_rows(l, epoch, lo + r0, lo + r1, r0, s->view1, s->view2, s->labels);

        pthread_mutex_lock(&l->mu);
        l->active--;
        s->remaining -= r1 - r0;
        if (s->remaining == 0) pthread_cond_broadcast(&l->ready_cv);
        if (l->active == 0) pthread_cond_broadcast(&l->idle_cv);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static void stop_workers(loader *l) {
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_broadcast(&l->work_cv);
    pthread_mutex_unlock(&l->mu);
    for (int i = 0; i < l->n_threads; i++) pthread_join(l->threads[i], NULL);
    l->n_threads = 0;
}

void loader_free(loader *l) {
    if (!l) return;
    if (l->threads) stop_workers(l);
    if (l->slots) {
        for (int i = 0; i < l->cfg.prefetch; i++) {
            free(l->slots[i].view1);
            free(l->slots[i].view2);
            free(l->slots[i].labels);
        }
    }
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->work_cv);
    pthread_cond_destroy(&l->ready_cv);
    pthread_cond_destroy(&l->idle_cv);
    free(l->slots);
    free(l->threads);
    free(l->order);
    free(l);
}

static nnclr_status check_config(const dataset *d, const augment_config *aug, const loader_config *c) {
    if (!d || !aug || !c) return nnclr_fail(NNCLR_ERR_ARG, "loader: NULL argument");
    if (d->n <= 0 || !d->images) return nnclr_fail(NNCLR_ERR_ARG, "loader: empty data set");
    if (c->world < 1 || c->rank < 0 || c->rank >= c->world)
        return nnclr_fail(NNCLR_ERR_ARG, "loader: rank %d of world %d", c->rank, c->world);
    if (c->batch <= 0 || c->batch % c->world != 0)
        return nnclr_fail(NNCLR_ERR_ARG, "loader: batch %d must be > 0 and a multiple of world %d", c->batch,
                          c->world);
    if (c->threads < 0 || c->threads > LOADER_MAX_THREADS)
        return nnclr_fail(NNCLR_ERR_ARG, "loader: threads %d not in [0, %d]", c->threads, LOADER_MAX_THREADS);
    if (c->prefetch < 1) return nnclr_fail(NNCLR_ERR_ARG, "loader: prefetch %d < 1", c->prefetch);
    if (c->drop_last && d->n < c->batch)
        return nnclr_fail(NNCLR_ERR_ARG, "loader: %d images make no full batch of %d (drop_last)", d->n, c->batch);
    for (int i = 0; i < d->n; i++) {
        const dataset_image *im = &d->images[i];
        if (!im->pixels || im->h <= 0 || im->w <= 0 || (im->c != 1 && im->c != 3))
            return nnclr_fail(NNCLR_ERR_ARG, "loader: image %d has size %dx%dx%d", i, im->h, im->w, im->c);
    }
    return NNCLR_OK;
}

nnclr_status loader_create(loader **out, const dataset *d, const augment_config *aug, const loader_config *cfg) {
    if (!out) return nnclr_fail(NNCLR_ERR_ARG, "loader: NULL argument");
    *out = NULL;
    NNCLR_TRY(check_config(d, aug, cfg));
    augment_config a = *aug;
    if (a.size == 0) {
        if (d->h <= 0 || d->h != d->w)
            return nnclr_fail(NNCLR_ERR_ARG, "loader: augmentation size 0 needs one square image size, data set is %dx%d",
                              d->h, d->w);
        a.size = d->h;
    }
    NNCLR_TRY(augment_check(&a));

    loader *l = calloc(1, sizeof *l);
    if (!l) return nnclr_fail(NNCLR_ERR_NOMEM, "loader: out of memory");
    l->d = d, l->aug = a, l->cfg = *cfg;
    l->channels = a.channels, l->size = a.size;
    l->view_floats = (size_t)a.channels * a.size * a.size;
    l->local_batch = cfg->batch / cfg->world;
    l->batches = cfg->drop_last ? d->n / cfg->batch : (d->n + cfg->batch - 1) / cfg->batch;
    l->epoch = -1;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->work_cv, NULL);
    pthread_cond_init(&l->ready_cv, NULL);
    pthread_cond_init(&l->idle_cv, NULL);
    l->order = nnclr_malloc((size_t)d->n * sizeof *l->order);
    if (!l->order) goto nomem;
    if (cfg->threads > 0) {
        l->slots = calloc((size_t)cfg->prefetch, sizeof *l->slots);
        if (!l->slots) goto nomem;
        size_t bytes = (size_t)l->local_batch * l->view_floats * sizeof(float);
        for (int i = 0; i < cfg->prefetch; i++) {
            loader_slot *s = &l->slots[i];
            s->batch = -1;
            s->view1 = nnclr_malloc(bytes);
            s->view2 = cfg->two_views ? nnclr_malloc(bytes) : NULL;
            s->labels = nnclr_malloc((size_t)l->local_batch * sizeof *s->labels);
            if (!s->view1 || (cfg->two_views && !s->view2) || !s->labels) goto nomem;
        }
        l->threads = calloc((size_t)cfg->threads, sizeof *l->threads);
        if (!l->threads) goto nomem;
        for (int i = 0; i < cfg->threads; i++) {
            if (pthread_create(&l->threads[i], NULL, worker_main, l) != 0) {
                loader_free(l);
                return nnclr_fail(NNCLR_ERR_NOMEM, "loader: cannot start worker thread %d of %d", i + 1,
                                  cfg->threads);
            }
            l->n_threads++;
        }
    }
    *out = l;
    return NNCLR_OK;
nomem:
    loader_free(l);
    return nnclr_fail(NNCLR_ERR_NOMEM, "loader: out of memory for %d prefetched batches of %d x %d x %d x %d",
                      cfg->prefetch, cfg->batch / cfg->world, a.channels, a.size, a.size);
}

/* The epoch's visiting order: identity, or Fisher-Yates from the (seed, epoch) stream. */
static void make_order(loader *l, int epoch) {
    int n = l->d->n;
    for (int i = 0; i < n; i++) l->order[i] = i;
    if (!l->cfg.shuffle) return;
    rng_state r;
    rng_derive(&r, l->cfg.seed, (uint64_t)epoch, RNG_STREAM_SHUFFLE);
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(&r, (uint64_t)i + 1), t = l->order[i];
        l->order[i] = l->order[j], l->order[j] = t;
    }
}

nnclr_status loader_start_epoch(loader *l, int epoch, int first_batch) {
    if (epoch < 0) return nnclr_fail(NNCLR_ERR_ARG, "loader: epoch %d < 0", epoch);
    if (first_batch < 0 || first_batch > l->batches)
        return nnclr_fail(NNCLR_ERR_ARG, "loader: first batch %d not in [0, %d]", first_batch, l->batches);
    pthread_mutex_lock(&l->mu);
    l->accepting = 0;
    while (l->active > 0) pthread_cond_wait(&l->idle_cv, &l->mu);
    if (epoch != l->epoch) make_order(l, epoch);
    l->epoch = epoch;
    for (int i = 0; l->slots && i < l->cfg.prefetch; i++) l->slots[i].batch = -1;
    l->claim_batch = l->consume_batch = first_batch;
    l->claim_row = 0;
    l->delivered = 0;
    l->wait_s = 0;
    l->t_epoch = now_s();
    l->started = 1;
    l->accepting = 1;
    pthread_cond_broadcast(&l->work_cv);
    pthread_mutex_unlock(&l->mu);
    return NNCLR_OK;
}

nnclr_status loader_next(loader *l, float *view1, float *view2, int *labels, int *n_out, int *epoch_done) {
    *n_out = 0, *epoch_done = 0;
    if (!view1 || (l->cfg.two_views && !view2))
        return nnclr_fail(NNCLR_ERR_ARG, "loader_next: NULL view buffer");
    pthread_mutex_lock(&l->mu);
    if (!l->started) {
        pthread_mutex_unlock(&l->mu);
        return nnclr_fail(NNCLR_ERR_ARG, "loader_next: no epoch started (call loader_start_epoch)");
    }
    int b = l->consume_batch;
    if (b >= l->batches) {
        *epoch_done = 1;
        pthread_mutex_unlock(&l->mu);
        return NNCLR_OK;
    }
    long lo, hi;
    batch_rows(l, b, &lo, &hi);
    int rows = (int)(hi - lo);
    size_t bytes = (size_t)rows * l->view_floats * sizeof(float);
    if (!l->slots) {
        /* No workers: make the batch here, straight into the caller's buffers. */
        int epoch = l->epoch;
        pthread_mutex_unlock(&l->mu);
        int scratch[LOADER_CHUNK];
        for (long p = lo; p < hi; p += LOADER_CHUNK) {
            long e = p + LOADER_CHUNK < hi ? p + LOADER_CHUNK : hi;
            int row = (int)(p - lo);
            make_rows(l, epoch, p, e, 0, view1 + (size_t)row * l->view_floats,
                      l->cfg.two_views ? view2 + (size_t)row * l->view_floats : NULL, scratch);
            if (labels) memcpy(labels + row, scratch, (size_t)(e - p) * sizeof *labels);
        }
        pthread_mutex_lock(&l->mu);
    } else {
        loader_slot *s = &l->slots[b % l->cfg.prefetch];
        double t0 = now_s();
        while (!(s->batch == b && s->remaining == 0)) pthread_cond_wait(&l->ready_cv, &l->mu);
        l->wait_s += now_s() - t0;
        /* The slot is ours until consume_batch moves past it: copy without the lock. */
        pthread_mutex_unlock(&l->mu);
        memcpy(view1, s->view1, bytes);
        if (l->cfg.two_views) memcpy(view2, s->view2, bytes);
        if (labels) memcpy(labels, s->labels, (size_t)rows * sizeof *labels);
        pthread_mutex_lock(&l->mu);
        s->batch = -1;
    }
    l->consume_batch = b + 1;
    l->delivered += rows;
    pthread_cond_broadcast(&l->work_cv);
    pthread_mutex_unlock(&l->mu);
    *n_out = rows;
    return NNCLR_OK;
}

int loader_batches_per_epoch(const loader *l) { return l->batches; }

int loader_local_batch(const loader *l) { return l->local_batch; }

void loader_view_shape(const loader *l, int *channels, int *size) {
    if (channels) *channels = l->channels;
    if (size) *size = l->size;
}

void loader_position(const loader *l, int *epoch, int *next_batch) {
    pthread_mutex_t *mu = (pthread_mutex_t *)&l->mu;
    pthread_mutex_lock(mu);
    if (epoch) *epoch = l->epoch;
    if (next_batch) *next_batch = l->consume_batch;
    pthread_mutex_unlock(mu);
}

void loader_stats(const loader *l, double *images_per_s, double *wait_s) {
    pthread_mutex_t *mu = (pthread_mutex_t *)&l->mu;
    pthread_mutex_lock(mu);
    double dt = now_s() - l->t_epoch;
    if (images_per_s) *images_per_s = l->started && dt > 0 ? (double)l->delivered / dt : 0;
    if (wait_s) *wait_s = l->wait_s;
    pthread_mutex_unlock(mu);
}
