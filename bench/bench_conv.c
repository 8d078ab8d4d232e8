/* bench_conv.c - one 3x3 / stride 1 / pad 1 convolution of the CIFAR ResNets, its three passes
 * (forward, backward data, backward weights) on oneDNN's direct kernels and on the Winograd
 * kernels (ops/winograd.h), alternated in the same process; best of ITERS per pass, GFLOP/s
 * counted as the direct convolution's 2 N K C H W 9.
 *
 *   bench_conv [N C H W K [ITERS]]      default: the ResNet-20 layers at batch 256
 * Threads: OMP_NUM_THREADS. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/dnn.h"
#include "core/status.h"
#include "ops/conv2d.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void fill(float *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)((seed >> 8) * (1.0 / 16777216.0) - 0.5);
    }
}

static int run(int n, int c, int h, int w, int k, int iters) {
    conv2d *cv[2] = {NULL, NULL};
    for (int a = 0; a < 2; a++) {
        conv2d_config g = {n, c, h, w, k, 3, 1, 1, 0, 1, a ? CONV2D_ALGO_WINOGRAD : CONV2D_ALGO_DIRECT, CONV2D_F32};
        if (conv2d_create(&cv[a], &g) != NNCLR_OK) {
            fprintf(stderr, "bench_conv: %s\n", nnclr_last_error());
            conv2d_free(cv[0]);
            return 1;
        }
    }
    size_t xs = dnn_act_size(n, c, h, w), ys = dnn_act_size(n, k, h, w), ws = (size_t)k * c * 9;
    float *x = nnclr_malloc(xs * 4), *dx = nnclr_malloc(xs * 4), *y = nnclr_malloc(ys * 4);
    float *dy = nnclr_malloc(ys * 4), *wt = nnclr_malloc(ws * 4), *dw = nnclr_calloc(ws, 4);
    if (!x || !dx || !y || !dy || !wt || !dw) {
        fprintf(stderr, "bench_conv: out of memory\n");
        return 1;
    }
    fill(x, xs, 1);
    fill(dy, ys, 2);
    fill(wt, ws, 3);
    double best[2][3];
    for (int a = 0; a < 2; a++)
        for (int p = 0; p < 3; p++) best[a][p] = 1e30;
    for (int it = 0; it <= iters; it++)
        for (int a = 0; a < 2; a++) {
            conv2d_prepare(cv[a], wt);
            double t0 = now();
            conv2d_forward(cv[a], y, x);
            double t1 = now();
            conv2d_backward(cv[a], dx, NULL, dy, x);
            double t2 = now();
            conv2d_backward(cv[a], NULL, dw, dy, x);
            double t3 = now();
            if (it == 0) continue; /* warm-up */
            double t[3] = {t1 - t0, t2 - t1, t3 - t2};
            for (int p = 0; p < 3; p++)
                if (t[p] < best[a][p]) best[a][p] = t[p];
        }
    double gflop = 2.0 * n * k * c * h * w * 9 * 1e-9;
    const char *pass[3] = {"forward", "backward data", "backward weights"};
    printf("conv3x3 N%d C%d %dx%d K%d, %d thread(s), %.2f GFLOP per pass\n", n, c, h, w, k,
           omp_get_max_threads(), gflop);
    for (int p = 0; p < 3; p++)
        printf("  %-16s  direct %7.2f ms (%5.1f GFLOP/s)   winograd %7.2f ms (%5.1f)   speed-up %.2fx\n",
               pass[p], best[0][p] * 1e3, gflop / best[0][p], best[1][p] * 1e3, gflop / best[1][p],
               best[0][p] / best[1][p]);
    conv2d_free(cv[0]);
    conv2d_free(cv[1]);
    free(x); free(dx); free(y); free(dy); free(wt); free(dw);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 6) {
        int iters = argc > 6 ? atoi(argv[6]) : 5;
        return run(atoi(argv[1]), atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), iters < 1 ? 1 : iters);
    }
    if (argc != 1) {
        fprintf(stderr, "usage: bench_conv [N C H W K [ITERS]]\n");
        return 2;
    }
    int rc = 0;
    rc |= run(256, 16, 32, 32, 16, 5);
    rc |= run(256, 32, 16, 16, 32, 5);
    rc |= run(256, 64, 8, 8, 64, 5);
    return rc;
}
