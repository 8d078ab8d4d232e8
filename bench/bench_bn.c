/* bench_bn.c - batch norm (training forward with fused ReLU, and backward) at the ResNet-20
 * shapes of batch 256, in ms per call and in GB/s of the tensor traffic the op must do at
 * least (forward: read x twice, write y; backward: read dy and x twice, write dx). Batch norm
 * is bound by memory bandwidth, so GB/s against bench_peak-style copy figures is the measure.
 *
 *   bench_bn [N [ITERS]]      default 256, 20
 * Threads: OMP_NUM_THREADS. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/dnn.h"
#include "core/status.h"
#include "ops/batchnorm.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int run(int n, int c, int hw, int iters) {
    batchnorm *b;
    if (batchnorm_create(&b, n, c, hw, hw, 1) != NNCLR_OK) {
        fprintf(stderr, "bench_bn: %s\n", nnclr_last_error());
        return 1;
    }
    size_t as = dnn_act_size(n, c, hw, hw);
    float *x = nnclr_malloc(as * 4), *y = nnclr_malloc(as * 4), *dy = nnclr_malloc(as * 4);
    float *dx = nnclr_malloc(as * 4), *saved = nnclr_malloc(batchnorm_saved_bytes(b));
    float *p = nnclr_calloc(6 * (size_t)c, 4);
    if (!x || !y || !dy || !dx || !saved || !p) {
        fprintf(stderr, "bench_bn: out of memory\n");
        return 1;
    }
    unsigned s = 1;
    for (size_t i = 0; i < as; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)((s >> 8) * (1.0 / 16777216.0) - 0.5);
        dy[i] = x[i] * 0.5f;
    }
    for (int i = 0; i < c; i++) p[i] = 1.0f, p[3 * c + i] = 1.0f; /* gamma, running var */
    double bf = 1e30, bb = 1e30;
    for (int it = 0; it <= iters; it++) {
        double t0 = now();
        batchnorm_forward_train(b, y, saved, x, NULL, p, p + c, p + 2 * c, p + 3 * c, 0.1f);
        double t1 = now();
        batchnorm_backward(b, dx, p + 4 * c, p + 5 * c, dy, x, saved, p, p + c);
        double t2 = now();
        if (it == 0) continue;
        if (t1 - t0 < bf) bf = t1 - t0;
        if (t2 - t1 < bb) bb = t2 - t1;
    }
    double mb = as * 4.0 / 1e9;
    printf("bn N%d C%d %dx%d (%.1f MB tensor): forward %.3f ms (%.1f GB/s)  backward %.3f ms (%.1f GB/s)\n",
           n, c, hw, hw, mb * 1e3, bf * 1e3, 3 * mb / bf, bb * 1e3, 5 * mb / bb);
    free(x), free(y), free(dy), free(dx), free(saved), free(p);
    batchnorm_free(b);
    return 0;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 256, iters = argc > 2 ? atoi(argv[2]) : 20;
    if (n <= 0 || iters <= 0) {
        fprintf(stderr, "usage: bench_bn [N [ITERS]]\n");
        return 2;
    }
    printf("threads %d\n", omp_get_max_threads());
    return run(n, 16, 32, iters) || run(n, 32, 16, iters) || run(n, 64, 8, iters);
}
