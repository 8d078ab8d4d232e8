/* test_gemm.c - gemm() (ops/gemm.h), the row-split sgemm on nnclr's OpenMP threads, against a
 * float64 loop: every transpose combination, row counts that are and are not multiples of the
 * 16-row blocks, leading dimensions larger than the matrices, alpha and beta other than 1 and 0,
 * at 1 and 2 threads; and OpenMP's thread count is unchanged by the first call (which switches
 * OpenBLAS to one thread).
 *
 * Tolerance: |got - ref| <= 1e-5 (sum over k of |alpha a b| + |beta c|) per element. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "ops/gemm.h"
#include "testlib.h"

static void one(int ta, int tb, int m, int n, int k, float alpha, float beta, int threads) {
    int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 5;
    size_t as = (size_t)(ta ? k : m) * lda, bs = (size_t)(tb ? n : k) * ldb, cs = (size_t)m * ldc;
    float *a = malloc(as * sizeof(float)), *b = malloc(bs * sizeof(float)), *c = malloc(cs * sizeof(float));
    float *c0 = malloc(cs * sizeof(float));
    if (!a || !b || !c || !c0) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    fill_uniform(a, as, (unsigned)(m * 31 + k));
    fill_uniform(b, bs, (unsigned)(n * 17 + k));
    fill_uniform(c, cs, (unsigned)(m + n));
    for (size_t i = 0; i < cs; i++) c0[i] = c[i];
    omp_set_num_threads(threads);
    gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    int bad = 0;
    double worst = 0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < ldc; j++) {
            double got = c[(size_t)i * ldc + j];
            if (j >= n) { /* beyond the n columns: untouched */
                bad += got != c0[(size_t)i * ldc + j];
                continue;
            }
            double ref = beta * (double)c0[(size_t)i * ldc + j], mag = fabs(ref);
            for (int p = 0; p < k; p++) {
                double av = ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                double bv = tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                ref += alpha * av * bv;
                mag += fabs(alpha * av * bv);
            }
            double err = fabs(got - ref);
            if (err / (mag + 1e-30) > worst) worst = err / (mag + 1e-30);
            bad += err > 1e-5 * mag;
        }
    char what[160];
    snprintf(what, sizeof what, "gemm %c%c m%d n%d k%d alpha %g beta %g, %d thread(s) (worst %.2g)",
             ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, beta, threads, worst);
    check_true(what, bad == 0);
    free(a); free(b); free(c); free(c0);
}

int main(void) {
    int saved = omp_get_max_threads();
    omp_set_num_threads(2);
    float dummy_a = 1, dummy_b = 1, dummy_c = 0;
    gemm(0, 0, 1, 1, 1, 1.0f, &dummy_a, 1, &dummy_b, 1, 0.0f, &dummy_c, 1);
    check_true("the first gemm() leaves OpenMP's thread count as it was", omp_get_max_threads() == 2);
    check_true("gemm 1x1x1", dummy_c == 1.0f);
    static const int shapes[][3] = {{1, 7, 5}, {17, 33, 9}, {45, 64, 130}, {100, 50, 300}, {256, 128, 64}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int threads = 1; threads <= 2; threads++)
                    one(ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], s % 2 ? 0.5f : 1.0f,
                        s % 3 == 0 ? 0.0f : (s % 3 == 1 ? 1.0f : -0.25f), threads);
    omp_set_num_threads(saved);
    return test_summary();
}
