/* conv2d.h - 2-D convolution without bias on oneDNN, forward and backward.
 *
 * Activations are blocked nChw{B}c (see core/dnn.h); the network-input conv may take plain NCHW
 * (src_plain = 1). Weights live in the model's flat parameter buffer in PyTorch's plain OIHW
 * layout; conv2d_prepare copies them into oneDNN's preferred blocked layout once per optimizer
 * step (weights are small next to activations), and every forward/backward until the next
 * prepare uses that copy. The primitives are made once for a fixed batch N. */
#ifndef NNCLR_OPS_CONV2D_H
#define NNCLR_OPS_CONV2D_H

#include "nnclr.h"

typedef struct conv2d conv2d;

typedef struct {
    int n, ic, ih, iw;   /* input */
    int oc, k, stride, pad;
    int src_plain;       /* 1: x is plain NCHW (network input), 0: nChw{B}c */
    int need_dx;         /* 0: no gradient w.r.t. x is ever asked (first layer) */
    int algo;            /* CONV2D_ALGO_*; 0 (auto) when left out of an initialiser */
    int precision;       /* CONV2D_F32 (0) or CONV2D_BF16 */
} conv2d_config;

/* F32: float32 throughout. BF16: oneDNN's bf16 kernels read bf16 copies of x, dy and the
 * weights (rounded to nearest even) and write float32 y, dx and dw, accumulating in float32;
 * the caller's buffers stay float32. A conv that runs on Winograd (float32 only) and the
 * network-input convolution (src_plain) stay float32 under BF16. Needs a CPU oneDNN
 * runs bf16 on natively (AVX512-BF16 or AMX: conv2d_bf16_supported); elsewhere, or when
 * oneDNN would fall back to a reference loop, conv2d_create fails with
 * NNCLR_ERR_ARG. A BF16 conv needs conv2d_set_workspace before it runs. */
enum { CONV2D_F32 = 0, CONV2D_BF16 = 1 };
int conv2d_bf16_supported(void);

/* AUTO: Winograd (ops/winograd.h) for 3x3 / stride 1 / pad 1 convolutions of blocked input
 * where winograd_preferred says so (AVX2 + FMA, channel counts multiples of the activation
 * block, at least 16 with F(4x4) tiles), its backward weights on oneDNN where
 * winograd_weights_preferred says not; oneDNN's direct kernels otherwise. The environment
 * variable NNCLR_CONV_ALGO changes what AUTO means for the whole process (benchmarks,
 * comparisons): "direct" = oneDNN everywhere,
 * "winograd" = Winograd for every shape that qualifies (16 channels included) and oneDNN for the
 * others; unset or any other value = the rule above. DIRECT: always oneDNN. WINOGRAD: Winograd,
 * or an NNCLR_ERR_ARG failure when the shape does not qualify. */
enum { CONV2D_ALGO_AUTO = 0, CONV2D_ALGO_DIRECT = 1, CONV2D_ALGO_WINOGRAD = 2 };

/* Fails with NNCLR_ERR_ARG on sizes <= 0, pad < 0, pad >= k, or k larger than the padded
 * input. */
nnclr_status conv2d_create(conv2d **out, const conv2d_config *cfg);
void conv2d_free(conv2d *c);
/* Output spatial size: (ih + 2 pad - k) / stride + 1. */
void conv2d_out_hw(const conv2d *c, int *oh, int *ow);

/* Bytes of scratch a call needs (0 for float32), and the buffer to use: the caller owns it
 * (one buffer of the largest size may serve all convs that never run at the same time). */
size_t conv2d_workspace_size(const conv2d *c);
void conv2d_set_workspace(conv2d *c, void *ws);

/* w: (OC, IC, K, K) plain. Copies/reorders w for the following calls. */
nnclr_status conv2d_prepare(conv2d *c, const float *w);
/* y: (N, OC, OH, OW) nChw{B}c, overwritten. x: (N, IC, IH, IW) nChw{B}c or plain NCHW. */
nnclr_status conv2d_forward(conv2d *c, float *y, const float *x);
/* dx: like x, OVERWRITTEN; NULL skips the data gradient (it must be NULL when need_dx = 0).
 * dw: (OC, IC, K, K) plain, ACCUMULATED (+=); NULL skips the weight gradient. dy: like y.
 * x: the forward input. Uses the weights of the last conv2d_prepare. */
nnclr_status conv2d_backward(conv2d *c, float *dx, float *dw, const float *dy, const float *x);

/* Name of the implementation of pass 0 (forward), 1 (backward data) or 2 (backward
 * weights), e.g. "jit:avx2" (oneDNN) or "winograd_2x3:avx2"; NULL when the pass does not exist. The string lives as long as c.
 * For tests and logs. */
const char *conv2d_impl_name(const conv2d *c, int pass);

#endif
