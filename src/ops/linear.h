/* linear.h - fully connected layer y = x W^T + b on plain row-major matrices (OpenBLAS sgemm).
 * Used by the projection/prediction heads and the linear probe. */
#ifndef NNCLR_OPS_LINEAR_H
#define NNCLR_OPS_LINEAR_H

/* y: (N, OUT) overwritten. x: (N, IN). w: (OUT, IN) (PyTorch layout). b: (OUT) or NULL. */
void linear_forward(float *y, const float *x, const float *w, const float *b, int n, int in, int out);
/* dx: (N, IN) OVERWRITTEN (may be NULL: not needed); dw: (OUT, IN) and db: (OUT) ACCUMULATED
 * (db may be NULL when there is no bias). dy: (N, OUT). */
void linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                     const float *w, int n, int in, int out);

#endif
