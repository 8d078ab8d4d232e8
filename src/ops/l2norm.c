/* l2norm.c - row-wise L2 normalisation (PyTorch F.normalize, p = 2, eps 1e-12). See l2norm.h.
 *
 * Data flow position: projections and predictions (model/heads.c) -> l2norm -> support-set
 * lookup and the contrastive loss. The squared norm is summed in double. Gradient: for a row
 * with ||x|| > eps, y = x / ||x|| gives dx = (dy - y (y . dy)) / ||x||; a row whose norm was
 * clamped to eps divides by a constant, so dx = dy / eps (PyTorch's clamp_min passes no
 * gradient to the norm there). */
#include "ops/l2norm.h"

#include <math.h>
#include <stddef.h>

#include "core/status.h"

#define L2NORM_EPS 1e-12f
#define L2NORM_PAR_MIN 32768

void l2norm_forward(float *y, float *norms, const float *x, int n, int d) {
    NNCLR_ASSERT(n >= 0 && d > 0);
    #pragma omp parallel for schedule(static) if ((size_t)n * d >= L2NORM_PAR_MIN)
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d;
        float *yi = y + (size_t)i * d;
        double ss = 0.0;
        for (int j = 0; j < d; j++) ss += (double)xi[j] * xi[j];
        float norm = (float)sqrt(ss);
        if (!(norm > L2NORM_EPS)) norm = L2NORM_EPS;
        if (norms) norms[i] = norm;
        for (int j = 0; j < d; j++) yi[j] = xi[j] / norm;
    }
}

void l2norm_backward(float *dx, const float *dy, const float *y, const float *norms, int n, int d) {
    NNCLR_ASSERT(n >= 0 && d > 0);
    #pragma omp parallel for schedule(static) if ((size_t)n * d >= L2NORM_PAR_MIN)
    for (int i = 0; i < n; i++) {
        const float *dyi = dy + (size_t)i * d, *yi = y + (size_t)i * d;
        float *dxi = dx + (size_t)i * d;
        const float inv = 1.0f / norms[i];
        if (norms[i] > L2NORM_EPS) {
            double dot = 0.0;
            for (int j = 0; j < d; j++) dot += (double)yi[j] * dyi[j];
            const float fdot = (float)dot;
            for (int j = 0; j < d; j++) dxi[j] = (dyi[j] - yi[j] * fdot) * inv;
        } else {
            for (int j = 0; j < d; j++) dxi[j] = dyi[j] * inv;
        }
    }
}
