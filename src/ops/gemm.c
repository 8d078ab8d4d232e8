/* gemm.c - row-major sgemm split over OpenMP threads, OpenBLAS single-threaded. See gemm.h. */
#include "ops/gemm.h"

#include <cblas.h>
#include <omp.h>
#include <pthread.h>

/* Below this many multiply-adds one thread does the whole product (a parallel region costs a
 * few microseconds). */
#define GEMM_PAR_MIN (1 << 18)
/* Row blocks are multiples of this (OpenBLAS's sgemm kernels work on 16-row panels on AVX2). */
#define GEMM_ROW_ALIGN 16

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
/* With OpenBLAS's OpenMP build, openblas_set_num_threads also sets OpenMP's thread count for
 * the calling thread: keep nnclr's. */
static void blas_single_thread(void) {
    int nt = omp_get_max_threads();
    openblas_set_num_threads(1);
    omp_set_num_threads(nt);
}

static void gemm_block(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                       int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
          const float *b, int ldb, float beta, float *c, int ldc) {
    pthread_once(&blas_once, blas_single_thread);
    if (m <= 0 || n <= 0) return;
    int nt = omp_get_max_threads();
    if (nt <= 1 || omp_in_parallel() || (double)m * n * k < GEMM_PAR_MIN || m < 2 * GEMM_ROW_ALIGN) {
        gemm_block(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    int blocks = (m + GEMM_ROW_ALIGN - 1) / GEMM_ROW_ALIGN;
    if (nt > blocks) nt = blocks;
    #pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num(), team = omp_get_num_threads();
        int r0 = (int)((long)blocks * t / team) * GEMM_ROW_ALIGN;
        int r1 = (int)((long)blocks * (t + 1) / team) * GEMM_ROW_ALIGN;
        if (r1 > m) r1 = m;
        if (r1 > r0) {
            /* Rows r0..r1 of C and of op(A): A's rows when not transposed, its columns when. */
            const float *ab = trans_a ? a + r0 : a + (size_t)r0 * lda;
            gemm_block(trans_a, trans_b, r1 - r0, n, k, alpha, ab, lda, b, ldb, beta, c + (size_t)r0 * ldc, ldc);
        }
    }
}
