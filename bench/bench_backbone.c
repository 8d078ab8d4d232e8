/* bench_backbone.c - backbone speed: forward + backward of two views (2 x batch images), the
 * work of one NNCLR step's backbone. Prints images/s, achieved GFLOP/s (3 x forward conv
 * FLOPs: forward, backward-data, backward-weights) and peak RSS.
 *
 *   bench_backbone ARCH CHANNELS SIZE BATCH [ITERS] [cifar|imagenet]
 * e.g. bench_backbone resnet20 3 32 256 5. Threads: OMP_NUM_THREADS. One configuration per
 * process so that peak RSS is that configuration's. bench/backbone.sh runs the set and PyTorch. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/rng.h"
#include "core/tensors.h"
#include "model/resnet.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

#define CHECK(x)                                                              \
    do {                                                                      \
        if ((x) != NNCLR_OK) {                                                \
            fprintf(stderr, "bench_backbone: %s\n", nnclr_last_error());      \
            return 1;                                                         \
        }                                                                     \
    } while (0)

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: bench_backbone ARCH CHANNELS SIZE BATCH [ITERS] [cifar|imagenet]\n");
        return 2;
    }
    const char *arch = argv[1];
    int c = atoi(argv[2]), size = atoi(argv[3]), batch = atoi(argv[4]);
    int iters = argc > 5 ? atoi(argv[5]) : 5;
    int cifar_stem = argc > 6 ? strcmp(argv[6], "imagenet") != 0 : 1;
    tensor_table params, buffers;
    tensor_table_init(&params);
    tensor_table_init(&buffers);
    resnet *r;
    resnet_config cfg = {arch, cifar_stem, c, size, size, batch, 2, NULL, NNCLR_PRECISION_F32};
    CHECK(resnet_create(&r, &cfg, &params, &buffers));
    CHECK(tensor_table_alloc(&params));
    CHECK(tensor_table_alloc(&buffers));
    float *grads = calloc(params.total, sizeof(float));
    rng_state rng;
    rng_seed(&rng, 1);
    resnet_init(r, params.data, buffers.data, &rng);
    size_t in = (size_t)batch * c * size * size;
    int fd = resnet_feature_dim(r);
    float *x1 = malloc(in * sizeof(float)), *x2 = malloc(in * sizeof(float));
    float *f1 = malloc((size_t)batch * fd * sizeof(float)), *f2 = malloc((size_t)batch * fd * sizeof(float));
    float *df = malloc((size_t)batch * fd * sizeof(float));
    for (size_t i = 0; i < in; i++) { x1[i] = rng_normal(&rng); x2[i] = rng_normal(&rng); }
    for (size_t i = 0; i < (size_t)batch * fd; i++) df[i] = rng_normal(&rng) / batch;

    double best = 1e30, sum = 0;
    for (int it = 0; it <= iters; it++) {
        double t0 = now();
        CHECK(resnet_prepare(r, params.data));
        CHECK(resnet_forward(r, 0, f1, x1, 1, params.data, buffers.data));
        CHECK(resnet_forward(r, 1, f2, x2, 1, params.data, buffers.data));
        CHECK(resnet_backward(r, 1, df, params.data, grads));
        CHECK(resnet_backward(r, 0, df, params.data, grads));
        double t = now() - t0;
        if (it == 0) continue; /* warm-up: oneDNN JIT, page faults */
        sum += t;
        if (t < best) best = t;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double flops = 3.0 * resnet_forward_flops(r) * 2 * batch;
    printf("nnclr  %-9s %dx%dx%d b%-4d threads %d  step %.3f s (mean %.3f)  %.1f img/s  %.1f GFLOP/s  "
           "peak RSS %.0f MiB\n", arch, c, size, size, batch, omp_get_max_threads(), best, sum / iters,
           2 * batch / best, flops / best * 1e-9, ru.ru_maxrss / 1024.0);
    free(x1); free(x2); free(f1); free(f2); free(df); free(grads);
    resnet_free(r);
    tensor_table_free(&params);
    tensor_table_free(&buffers);
    return 0;
}
