/* pool.c - max pooling on oneDNN (the ResNet stem, after conv1 + bn1) and global average
 * pooling (the end of the backbone, giving the plain (N, C) representation). See pool.h.
 *
 * Max pooling keeps three primitives made once for the fixed shape: training forward, which
 * records the arg-max of each window in a workspace kept in caller memory, inference forward
 * (no workspace), and backward, which scatters dy through that workspace. Padding never wins
 * a window, as in PyTorch. Global average pooling is a short loop over the blocked layout. */
#include "ops/pool.h"

#include <stdint.h>
#include <stdlib.h>
#include "core/dnn.h"
#include "core/status.h"

struct maxpool {
    int n, c, h, w, k, stride, pad, oh, ow;
    size_t ws_bytes;
    dnnl_stream_t stream;
    dnnl_primitive_desc_t train_pd, eval_pd, bwd_pd;
    dnnl_primitive_t train, eval, bwd;
    dnnl_memory_t x, y, dx, dy, ws;   /* re-pointed on every call */
};

static nnclr_status mem_point(dnnl_memory_t m, const void *data) {
    return dnn_check(dnnl_memory_set_data_handle(m, (void *)(uintptr_t)data),
                     "pointing a oneDNN memory object");
}

static nnclr_status prim_run(const maxpool *p, dnnl_primitive_t prim, int nargs,
                             const dnnl_exec_arg_t *args, const char *what) {
    NNCLR_TRY(dnn_check(dnnl_primitive_execute(prim, p->stream, nargs, args), what));
    return dnn_check(dnnl_stream_wait(p->stream), what);
}

static nnclr_status mem_create(dnnl_memory_t *m, const dnnl_memory_desc_t *md, dnnl_engine_t engine) {
    return dnn_check(dnnl_memory_create(m, md, engine, DNNL_MEMORY_NONE),
                     "creating a maxpool memory object");
}

/* ---- max pooling */

static nnclr_status maxpool_build(maxpool *p) {
    dnn_ctx *ctx;
    NNCLR_TRY(dnn_get(&ctx));
    p->stream = ctx->stream;
    dnnl_memory_desc_t x_md, y_md;
    dnnl_dims_t x_dims = {p->n, p->c, p->h, p->w}, y_dims = {p->n, p->c, p->oh, p->ow};
    dnnl_dims_t strides = {p->stride, p->stride}, kernel = {p->k, p->k}, dil = {0, 0};
    dnnl_dims_t pads = {p->pad, p->pad};
    DNN_TRY(dnnl_memory_desc_init_by_tag(&x_md, 4, x_dims, dnnl_f32, dnn_block_tag()));
    DNN_TRY(dnnl_memory_desc_init_by_tag(&y_md, 4, y_dims, dnnl_f32, dnn_block_tag()));

    dnnl_pooling_v2_desc_t d;
    DNN_TRY(dnnl_pooling_v2_forward_desc_init(&d, dnnl_forward_training, dnnl_pooling_max, &x_md,
                                              &y_md, strides, kernel, dil, pads, pads));
    NNCLR_TRY(dnn_check(dnnl_primitive_desc_create(&p->train_pd, &d, NULL, ctx->engine, NULL),
                        "creating the maxpool training primitive descriptor"));
    NNCLR_TRY(dnn_check(dnnl_primitive_create(&p->train, p->train_pd),
                        "creating the maxpool training primitive"));
    DNN_TRY(dnnl_pooling_v2_forward_desc_init(&d, dnnl_forward_inference, dnnl_pooling_max, &x_md,
                                              &y_md, strides, kernel, dil, pads, pads));
    NNCLR_TRY(dnn_check(dnnl_primitive_desc_create(&p->eval_pd, &d, NULL, ctx->engine, NULL),
                        "creating the maxpool inference primitive descriptor"));
    NNCLR_TRY(dnn_check(dnnl_primitive_create(&p->eval, p->eval_pd),
                        "creating the maxpool inference primitive"));
    DNN_TRY(dnnl_pooling_v2_backward_desc_init(&d, dnnl_pooling_max, &x_md, &y_md, strides, kernel,
                                               dil, pads, pads));
    NNCLR_TRY(dnn_check(dnnl_primitive_desc_create(&p->bwd_pd, &d, NULL, ctx->engine, p->train_pd),
                        "creating the maxpool backward primitive descriptor"));
    NNCLR_TRY(dnn_check(dnnl_primitive_create(&p->bwd, p->bwd_pd),
                        "creating the maxpool backward primitive"));

    const dnnl_memory_desc_t *ws = dnnl_primitive_desc_query_md(p->train_pd, dnnl_query_workspace_md, 0);
    p->ws_bytes = dnnl_memory_desc_get_size(ws);
    NNCLR_TRY(mem_create(&p->ws, ws, ctx->engine));
    NNCLR_TRY(mem_create(&p->x, &x_md, ctx->engine));
    NNCLR_TRY(mem_create(&p->y, &y_md, ctx->engine));
    NNCLR_TRY(mem_create(&p->dx, &x_md, ctx->engine));
    NNCLR_TRY(mem_create(&p->dy, &y_md, ctx->engine));
    return NNCLR_OK;
}

nnclr_status maxpool_create(maxpool **out, int n, int c, int h, int w, int k, int stride, int pad) {
    *out = NULL;
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0)
        return nnclr_fail(NNCLR_ERR_ARG, "maxpool: sizes must be > 0 (n %d, c %d, h %d, w %d)", n,
                          c, h, w);
    if (k <= 0 || stride <= 0 || pad < 0 || 2 * pad > k)
        return nnclr_fail(NNCLR_ERR_ARG, "maxpool: bad kernel %d / stride %d / pad %d (need pad <= k/2)",
                          k, stride, pad);
    if (k > h + 2 * pad || k > w + 2 * pad)
        return nnclr_fail(NNCLR_ERR_ARG, "maxpool: kernel %d larger than the padded input %dx%d", k,
                          h + 2 * pad, w + 2 * pad);
    maxpool *p = nnclr_calloc(1, sizeof *p);
    if (!p) return NNCLR_ERR_NOMEM;
    p->n = n; p->c = c; p->h = h; p->w = w; p->k = k; p->stride = stride; p->pad = pad;
    p->oh = (h + 2 * pad - k) / stride + 1;
    p->ow = (w + 2 * pad - k) / stride + 1;
    nnclr_status s = maxpool_build(p);
    if (s != NNCLR_OK) {
        maxpool_free(p);
        return s;
    }
    *out = p;
    return NNCLR_OK;
}

void maxpool_free(maxpool *p) {
    if (!p) return;
    dnnl_primitive_t prims[] = {p->train, p->eval, p->bwd};
    for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++)
        if (prims[i]) dnnl_primitive_destroy(prims[i]);
    dnnl_primitive_desc_t pds[] = {p->train_pd, p->eval_pd, p->bwd_pd};
    for (size_t i = 0; i < sizeof pds / sizeof pds[0]; i++)
        if (pds[i]) dnnl_primitive_desc_destroy(pds[i]);
    dnnl_memory_t mems[] = {p->x, p->y, p->dx, p->dy, p->ws};
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    free(p);
}

void maxpool_out_hw(const maxpool *p, int *oh, int *ow) {
    *oh = p->oh;
    *ow = p->ow;
}

size_t maxpool_saved_bytes(const maxpool *p) { return p->ws_bytes; }

const char *maxpool_impl_name(const maxpool *p, int pass) {
    const_dnnl_primitive_desc_t pd = pass == 0 ? p->train_pd : pass == 1 ? p->eval_pd
                                   : pass == 2 ? p->bwd_pd : NULL;
    const char *name = NULL;
    if (!pd || dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) != dnnl_success)
        return NULL;
    return name;
}

nnclr_status maxpool_forward(maxpool *p, float *y, void *saved, const float *x) {
    NNCLR_TRY(mem_point(p->x, x));
    NNCLR_TRY(mem_point(p->y, y));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, p->x}, {DNNL_ARG_DST, p->y}, {DNNL_ARG_WORKSPACE, p->ws}};
    if (!saved) return prim_run(p, p->eval, 2, args, "maxpool inference forward");
    NNCLR_TRY(mem_point(p->ws, saved));
    return prim_run(p, p->train, 3, args, "maxpool training forward");
}

nnclr_status maxpool_backward(maxpool *p, float *dx, const float *dy, const void *saved) {
    if (!saved) return nnclr_fail(NNCLR_ERR_ARG, "maxpool_backward needs the training workspace");
    NNCLR_TRY(mem_point(p->dx, dx));
    NNCLR_TRY(mem_point(p->dy, dy));
    NNCLR_TRY(mem_point(p->ws, saved));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, p->dy}, {DNNL_ARG_WORKSPACE, p->ws},
                               {DNNL_ARG_DIFF_SRC, p->dx}};
    return prim_run(p, p->bwd, 3, args, "maxpool backward");
}

/* ---- global average pooling */

/* y: (N, C) plain. x: (N, C/B, H, W, B) blocked, B = dnn_cblock(). */
void global_avgpool_forward(float *y, const float *x, int n, int c, int h, int w) {
    const int B = dnn_cblock(), cb_count = dnn_cpad(c) / B;
    const size_t hw = (size_t)h * (size_t)w;
    const float inv = 1.0f / (float)hw;
    const int blocks = n * cb_count;
    #pragma omp parallel for schedule(static) if ((size_t)blocks * hw >= 4096)
    for (int nb = 0; nb < blocks; nb++) {
        const int in = nb / cb_count, cb = nb % cb_count;
        const float *s = x + (size_t)nb * hw * B;
        float acc[16] = {0};
        for (size_t p = 0; p < hw; p++)
            for (int l = 0; l < B; l++) acc[l] += s[p * B + (size_t)l];
        const int lanes = c - cb * B < B ? c - cb * B : B;
        for (int l = 0; l < lanes; l++) y[(size_t)in * (size_t)c + (size_t)cb * B + (size_t)l] = acc[l] * inv;
    }
}

/* dx: (N, C/B, H, W, B) blocked. dy: (N, C) plain. */
void global_avgpool_backward(float *dx, const float *dy, int n, int c, int h, int w) {
    const int B = dnn_cblock(), cb_count = dnn_cpad(c) / B;
    const size_t hw = (size_t)h * (size_t)w;
    const float inv = 1.0f / (float)hw;
    const int blocks = n * cb_count;
    #pragma omp parallel for schedule(static) if ((size_t)blocks * hw >= 4096)
    for (int nb = 0; nb < blocks; nb++) {
        const int in = nb / cb_count, cb = nb % cb_count;
        float g[16] = {0};
        const int lanes = c - cb * B < B ? c - cb * B : B;
        for (int l = 0; l < lanes; l++) g[l] = dy[(size_t)in * (size_t)c + (size_t)cb * B + (size_t)l] * inv;
        float *d = dx + (size_t)nb * hw * B;
        for (size_t p = 0; p < hw; p++)
            for (int l = 0; l < B; l++) d[p * B + (size_t)l] = g[l];
    }
}
