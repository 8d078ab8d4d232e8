/* bench_loader.c - throughput of the augmentation pipeline and the loader: two-view augmented
 * samples per second on one core (augment_apply in a loop) and through the loader with N worker
 * threads, for 32x32 (cifar preset) and 224x224 (imagenet preset, 256x256 sources), plus a
 * per-op breakdown at 224. Random pixels; each case runs for about `seconds` (argv[1], default 1).
 *
 *     ./bench_loader [seconds] [threads]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "core/rng.h"
#include "core/status.h"
#include "data/augment.h"
#include "data/loader.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int make_set(dataset *d, int n, int h, int w) {
    memset(d, 0, sizeof *d);
    size_t one = (size_t)h * w * 3;
    d->n = n, d->h = h, d->w = w, d->c = 3;
    d->pixels = malloc((size_t)n * one);
    d->images = malloc((size_t)n * sizeof *d->images);
    if (!d->pixels || !d->images) return 0;
    rng_state r;
    rng_seed(&r, 1);
    for (size_t i = 0; i < (size_t)n * one; i++) d->pixels[i] = (uint8_t)(rng_next(&r) >> 56);
    for (int i = 0; i < n; i++) d->images[i] = (dataset_image){.w = w, .h = h, .c = 3, .pixels = d->pixels + i * one};
    return 1;
}

/* Two views per sample, one thread. Returns samples/s. */
static double bench_single(const dataset *d, const augment_config *aug, double seconds) {
    size_t vf = (size_t)aug->channels * aug->size * aug->size;
    float *v = malloc(2 * vf * sizeof *v);
    long done = 0;
    double t0 = now_s(), t;
    do {
        for (int k = 0; k < 16; k++, done++) {
            rng_state r;
            rng_derive(&r, 7, 0, (uint64_t)done);
            const dataset_image *img = &d->images[done % d->n];
            augment_apply(aug, 0, v, img, &r);
            augment_apply(aug, 1, v + vf, img, &r);
        }
    } while ((t = now_s() - t0) < seconds);
    free(v);
    return done / t;
}

static double bench_loader(const dataset *d, const augment_config *aug, int batch, int threads, double seconds) {
    loader_config lc = {.batch = batch, .threads = threads, .prefetch = 3, .drop_last = 1, .shuffle = 1,
                        .seed = 3, .rank = 0, .world = 1, .two_views = 1};
    loader *l;
    if (loader_create(&l, d, aug, &lc) != NNCLR_OK) {
        fprintf(stderr, "loader_create: %s\n", nnclr_last_error());
        return 0;
    }
    size_t vf = (size_t)aug->channels * aug->size * aug->size * batch;
    float *v1 = malloc(vf * sizeof *v1), *v2 = malloc(vf * sizeof *v2);
    int *lab = malloc(batch * sizeof *lab), epoch = 0, n, done_flag;
    long done = 0;
    loader_start_epoch(l, epoch, 0);
    double t0 = now_s(), t = 0;
    do {
        if (loader_next(l, v1, v2, lab, &n, &done_flag) != NNCLR_OK) break;
        if (done_flag) {
            loader_start_epoch(l, ++epoch, 0);
            continue;
        }
        done += n;
    } while ((t = now_s() - t0) < seconds);
    loader_free(l);
    free(v1);
    free(v2);
    free(lab);
    return done / t;
}

/* Milliseconds per call of each op on a (3, 224, 224) image. */
static void breakdown(const dataset *d, const augment_config *aug) {
    int s = aug->size;
    float *x = malloc((size_t)3 * s * s * sizeof *x);
    const dataset_image *img = &d->images[0];
    int reps = 20;
    double t0;
#define TIME(label, stmt)                                                       \
    t0 = now_s();                                                               \
    for (int i = 0; i < reps; i++) stmt;                                        \
    printf("  %-28s %7.3f ms\n", label, 1e3 * (now_s() - t0) / reps);
    TIME("resized crop (u8 -> float)", aug_resized_crop_u8(x, img->pixels, 3, img->h, img->w, 10, 20, 200, 180, s, s, 3, 1));
    TIME("brightness", aug_adjust_brightness(x, 3, s, s, 1.1f));
    TIME("contrast", aug_adjust_contrast(x, 3, s, s, 0.9f));
    TIME("saturation", aug_adjust_saturation(x, 3, s, s, 1.1f));
    TIME("hue", aug_adjust_hue(x, 3, s, s, 0.05f));
    TIME("grayscale", aug_grayscale(x, 3, s, s));
    TIME("gaussian blur k=23", aug_gaussian_blur(x, 3, s, s, augment_blur_kernel(aug, s), 1.0f));
    TIME("solarize", aug_solarize(x, 3, s, s, 0.5f));
    TIME("normalize", aug_normalize(x, 3, s, s, aug->mean, aug->std));
#undef TIME
    free(x);
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = argc > 2 ? atoi(argv[2]) : (int)(ncpu > 0 ? ncpu : 1);
    dataset small, large;
    if (!make_set(&small, 2048, 32, 32) || !make_set(&large, 64, 256, 256)) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    augment_config cifar, imagenet;
    if (augment_preset(&cifar, "cifar", 3, 32) != NNCLR_OK || augment_preset(&imagenet, "imagenet", 3, 224) != NNCLR_OK) {
        fprintf(stderr, "%s\n", nnclr_last_error());
        return 1;
    }
    printf("two-view augmented samples per second (random pixels)\n");
    double c1 = bench_single(&small, &cifar, seconds);
    double cl = bench_loader(&small, &cifar, 256, threads, seconds);
    printf("32x32   cifar    1 core: %9.0f /s   loader, %d threads: %9.0f /s (%.0f /s per thread)\n", c1, threads,
           cl, cl / threads);
    double i1 = bench_single(&large, &imagenet, seconds);
    double il = bench_loader(&large, &imagenet, 32, threads, seconds);
    printf("224x224 imagenet 1 core: %9.1f /s   loader, %d threads: %9.1f /s (%.1f /s per thread)\n", i1, threads,
           il, il / threads);
    printf("per-op time at 224x224, one core:\n");
    breakdown(&large, &imagenet);
    free(small.pixels), free(small.images), free(large.pixels), free(large.images);
    return 0;
}
