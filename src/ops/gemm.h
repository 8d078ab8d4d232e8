/* gemm.h - single-precision row-major matrix products on nnclr's OpenMP threads.
 *
 * Every dense product of nnclr (heads, loss, kNN, linear probe) goes through gemm(). OpenBLAS's
 * pthread build keeps its own pool of worker threads which, idle between calls, spin and yield
 * on the same cores as the OpenMP threads running the convolutions; on the 2-core machine of
 * docs/RESULTS.md that cost about 10 % of a training step. So the first call switches OpenBLAS
 * to one thread for the whole process (openblas_set_num_threads(1)) and gemm() itself splits
 * the rows of C into one block per OpenMP thread, each a single-threaded cblas_sgemm. */
#ifndef NNCLR_OPS_GEMM_H
#define NNCLR_OPS_GEMM_H

/* C (m, n) = alpha op(A) op(B) + beta C, row-major; op(A) is (m, k): A itself (lda >= k) or,
 * with trans_a, the transpose of A stored (k, m) (lda >= m); likewise op(B) (k, n). */
void gemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
          const float *b, int ldb, float beta, float *c, int ldc);

#endif
