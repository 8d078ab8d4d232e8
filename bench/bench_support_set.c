/* bench_support_set.c - speed of the support-set nearest-neighbour lookup (top-1 and top-5).
 *
 * Usage: bench_support_set [b Q D runs]   (defaults 256 98304 256 7)
 * Prints the best-of-runs milliseconds per lookup and GFLOP/s = 2 b Q D / t, and the same for a
 * push of b rows. Compare with bench/bench_support_set_torch.py (z @ queue.T, argmax, gather). */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include "core/rng.h"
#include "core/status.h"
#include "ssl/support_set.h"

static double bench_lookup(support_set *s, float *nn, int *idx, const float *z, int b, int k,
                           int runs, rng_state *rng) {
    double best = 1e30;
    for (int r = 0; r < runs; r++) {
        double t = omp_get_wtime();
        nnclr_status st = support_set_nearest(s, nn, idx, z, b, k, rng);
        t = omp_get_wtime() - t;
        if (st != NNCLR_OK) {
            fprintf(stderr, "lookup failed: %s\n", nnclr_last_error());
            exit(1);
        }
        if (t < best) best = t;
    }
    return best;
}

int main(int argc, char **argv) {
    int b = argc > 1 ? atoi(argv[1]) : 256;
    int q = argc > 2 ? atoi(argv[2]) : 98304;
    int d = argc > 3 ? atoi(argv[3]) : 256;
    int runs = argc > 4 ? atoi(argv[4]) : 7;
    support_set *s;
    if (support_set_create(&s, q, d, 0, 1) != NNCLR_OK) {
        fprintf(stderr, "create failed: %s\n", nnclr_last_error());
        return 1;
    }
    float *z = malloc((size_t)b * d * sizeof(float)), *nn = malloc((size_t)b * d * sizeof(float));
    int *idx = malloc((size_t)b * sizeof(int));
    if (!z || !nn || !idx) return 1;
    rng_state rng;
    rng_seed(&rng, 2);
    for (int i = 0; i < b; i++) {
        double ss = 0;
        for (int k = 0; k < d; k++) {
            z[i * d + k] = rng_normal(&rng);
            ss += (double)z[i * d + k] * z[i * d + k];
        }
        for (int k = 0; k < d; k++) z[i * d + k] /= (float)sqrt(ss);
    }
    double flop = 2.0 * b * q * d;
    printf("support set lookup: b=%d Q=%d D=%d threads=%d (best of %d)\n", b, q, d,
           omp_get_max_threads(), runs);
    /* top-1 on each kernel this CPU has, then the default (fastest) one for the rest */
    static const char *names[] = {"auto", "portable", "avx2", "avx512"};
    for (int kern = SUPPORT_SET_KERNEL_AVX2; kern <= SUPPORT_SET_KERNEL_AVX512; kern++) {
        if (!support_set_force_kernel((support_set_kernel)kern)) continue;
        double tk = bench_lookup(s, nn, idx, z, b, 1, runs, &rng);
        printf("top-1 %-6s kernel: %8.2f ms  %7.1f GFLOP/s\n", names[kern], tk * 1e3, flop / tk * 1e-9);
    }
    support_set_force_kernel(SUPPORT_SET_KERNEL_AUTO);
    double t1 = bench_lookup(s, nn, idx, z, b, 1, runs, &rng);
    printf("top-1: %8.2f ms  %7.1f GFLOP/s\n", t1 * 1e3, flop / t1 * 1e-9);
    double t5 = bench_lookup(s, nn, idx, z, b, 5, runs, &rng);
    printf("top-5: %8.2f ms  %7.1f GFLOP/s\n", t5 * 1e3, flop / t5 * 1e-9);
    double tp = 1e30;
    for (int r = 0; r < runs; r++) {
        double t = omp_get_wtime();
        support_set_push(s, z, NULL, b);
        t = omp_get_wtime() - t;
        if (t < tp) tp = t;
    }
    printf("push:  %8.3f ms\n", tp * 1e3);
    support_set_free(s);
    free(z);
    free(nn);
    free(idx);
    return 0;
}
