/* eltwise.h - element-wise ops on activations of any layout (they are flat float arrays):
 * ReLU, the two-part ReLU backward that ends a ResNet block's backward, residual add, layout
 * conversion. (The block's forward add + ReLU is fused into its last batch norm.) OpenMP. */
#ifndef NNCLR_OPS_ELTWISE_H
#define NNCLR_OPS_ELTWISE_H

#include <stddef.h>

/* y = max(x, 0). y may equal x. */
void relu_forward(float *y, const float *x, size_t n);
/* dx = dy * (y > 0), OVERWRITES dx; dx may equal dy. y: forward output. */
void relu_backward(float *dx, const float *dy, const float *y, size_t n);
/* dx = (a + b) * (y > 0), OVERWRITES dx; dx may equal a or b: the ReLU backward of a block
 * whose output gradient arrives as two parts (shortcut and main path of the next block). */
void relu_backward_add(float *dx, const float *a, const float *b, const float *y, size_t n);
/* dst += src */
void add_inplace(float *dst, const float *src, size_t n);
/* Layout conversion of the network input / for tests: plain NCHW <-> nChw{B}c. */
void nchw_to_blocked(float *dst, const float *src, int n, int c, int h, int w);
void blocked_to_nchw(float *dst, const float *src, int n, int c, int h, int w);

#endif
