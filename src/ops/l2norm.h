/* l2norm.h - row-wise L2 normalisation y = x / max(||x||, eps), eps 1e-12 (F.normalize). */
#ifndef NNCLR_OPS_L2NORM_H
#define NNCLR_OPS_L2NORM_H

/* y, x: (N, D); y may equal x. norms: (N) saved norms (max(||x||, eps)), or NULL. */
void l2norm_forward(float *y, float *norms, const float *x, int n, int d);
/* dx OVERWRITTEN (may not alias dy). y: forward output. */
void l2norm_backward(float *dx, const float *dy, const float *y, const float *norms, int n, int d);

#endif
