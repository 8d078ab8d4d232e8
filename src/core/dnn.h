/* dnn.h - the process-wide oneDNN engine and stream, and the layout convention.
 *
 * Activation layout, end to end through the backbone: oneDNN's blocked nChw{B}c with B =
 * dnn_cblock(), 16 on CPUs with AVX-512 (dnnl_nChw16c, the layout of oneDNN's avx512 kernels)
 * and 8 elsewhere (dnnl_nChw8c, its avx2 kernels): channels are padded up to a multiple of B and
 * stored as [N][C/B][H][W][B]. Padded channels are kept at zero. Only the network input (plain
 * NCHW) and the pooled feature vector (plain N x C) are in other layouts. B is fixed for the
 * life of the process, chosen at first use; NNCLR_CBLOCK=8 or 16 overrides the CPU's choice
 * (tests run both). */
#ifndef NNCLR_CORE_DNN_H
#define NNCLR_CORE_DNN_H

#include <stddef.h>
#include <dnnl.h>
#include "nnclr.h"

typedef struct {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
} dnn_ctx;

/* The shared CPU engine and stream (created on first use; thread-safe). */
nnclr_status dnn_get(dnn_ctx **out);

/* Turns a dnnl_status_t into an nnclr status with a message naming `what`. */
nnclr_status dnn_check(dnnl_status_t st, const char *what);
#define DNN_TRY(call) NNCLR_TRY(dnn_check((call), #call))

/* The activation channel block B (8 or 16) and its oneDNN format tag. */
int dnn_cblock(void);
dnnl_format_tag_t dnn_block_tag(void);

/* Channels rounded up to the block size. */
static inline int dnn_cpad(int c) {
    int b = dnn_cblock();
    return (c + b - 1) / b * b;
}
/* Floats in a blocked activation (N, C, H, W). */
static inline size_t dnn_act_size(int n, int c, int h, int w) {
    return (size_t)n * (size_t)dnn_cpad(c) * (size_t)h * (size_t)w;
}

#endif
