/* linear.c - fully connected layer on plain row-major matrices. See linear.h.
 *
 * Data flow position: pooled backbone features -> projector / predictor MLPs (model/heads.c)
 * and the linear probe. Forward and the two matrix products of backward are single gemm()
 * calls (ops/gemm.h) with PyTorch's (OUT, IN) weight layout read transposed in place, so no weight
 * copy is ever made. The bias gradient is a column sum accumulated in double. */
#include "ops/linear.h"

#include "ops/gemm.h"
#include <stddef.h>

#include "core/status.h"

/* Column blocks of the bias-gradient sum handed to one OpenMP thread. */
#define LINEAR_DB_BLOCK 64

void linear_forward(float *y, const float *x, const float *w, const float *b, int n, int in, int out) {
    NNCLR_ASSERT(n >= 0 && in > 0 && out > 0);
    if (n == 0) return;
    float beta = 0.0f;
    if (b) {
        /* y starts as the bias broadcast over rows; sgemm then adds x W^T on top (beta = 1). */
        #pragma omp parallel for schedule(static) if ((size_t)n * out >= 65536)
        for (int i = 0; i < n; i++) {
            float *yi = y + (size_t)i * out;
            for (int j = 0; j < out; j++) yi[j] = b[j];
        }
        beta = 1.0f;
    }
    // y: (N, OUT) = x: (N, IN) . w^T: (IN, OUT)
    gemm(0, 1, n, out, in, 1.0f, x, in, w, in, beta, y, out);
}

void linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                     const float *w, int n, int in, int out) {
    NNCLR_ASSERT(n >= 0 && in > 0 && out > 0);
    if (n == 0) return;
    // dx: (N, IN) = dy: (N, OUT) . w: (OUT, IN)
    if (dx)
        gemm(0, 0, n, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in);
    // dw: (OUT, IN) += dy^T: (OUT, N) . x: (N, IN)
    if (dw)
        gemm(1, 0, out, in, n, 1.0f, dy, out, x, in, 1.0f, dw, in);
    if (db) {
        /* db: (OUT) += sum over rows of dy. Rows are walked in order inside each column block,
         * so memory is read sequentially and the sums stay in a small double array. */
        int nblocks = (out + LINEAR_DB_BLOCK - 1) / LINEAR_DB_BLOCK;
        #pragma omp parallel for schedule(static) if ((size_t)n * out >= 65536)
        for (int bl = 0; bl < nblocks; bl++) {
            int j0 = bl * LINEAR_DB_BLOCK;
            int j1 = j0 + LINEAR_DB_BLOCK < out ? j0 + LINEAR_DB_BLOCK : out;
            double acc[LINEAR_DB_BLOCK] = {0};
            for (int i = 0; i < n; i++) {
                const float *dyi = dy + (size_t)i * out;
                for (int j = j0; j < j1; j++) acc[j - j0] += dyi[j];
            }
            for (int j = j0; j < j1; j++) db[j] += (float)acc[j - j0];
        }
    }
}
