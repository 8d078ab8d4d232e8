/* dnn.h - the process-wide oneDNN engine and stream, and the layout convention.
 *
 * Activation layout, end to end through the backbone: oneDNN's blocked nChw8c
 * (dnnl_nChw8c): channels are padded up to a multiple of 8 and stored as
 * [N][C/8][H][W][8]. Padded channels are kept at zero. Only the network input (plain NCHW) and
 * the pooled feature vector (plain N x C) are in other layouts. */
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

/* Channels rounded up to the block size. */
static inline int dnn_cpad(int c) { return (c + 7) & ~7; }
/* Floats in a blocked activation (N, C, H, W). */
static inline size_t dnn_act_size(int n, int c, int h, int w) {
    return (size_t)n * (size_t)dnn_cpad(c) * (size_t)h * (size_t)w;
}

#endif
