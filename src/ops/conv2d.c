/* conv2d.c - 2-D convolution (no bias) of the ResNet backbone on oneDNN: forward, backward
 * data, backward weights. See conv2d.h.
 *
 * conv2d_create makes every primitive once for the fixed batch. The weights descriptor is left
 * to oneDNN (format "any"), so each pass gets the blocked weight layout its jit kernel wants,
 * while activations stay in nChw{B}c (or plain NCHW for the network input) and are never
 * reordered. The only reorders are on weights, which are small next to activations:
 * conv2d_prepare turns the plain OIHW parameters into the forward layout (and into the
 * backward-data layout when that one differs), and conv2d_backward reorders the blocked weight
 * gradient to OIHW with a "sum" post-op, so it lands ADDED to the caller's dw with no
 * temporary. Scratchpads use oneDNN's library mode, in which one buffer, grown at primitive
 * creation, serves all primitives of the process.
 *
 * A plain single-channel input (gray images) is run as three channels, the two extra ones
 * zero: oneDNN 2.6 has no jit backward-weights kernel for a plain IC=1 source and falls back to
 * its reference loop (about 15x slower than the whole rest of a ResNet-20 step). The padded
 * input and weights live in owned buffers; the extra channels' weight gradient is dropped. */
#include "ops/conv2d.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/dnn.h"
#include "core/status.h"
#include "ops/winograd.h"

struct conv2d {
    conv2d_config cfg;
    int oh, ow;
    int prepared;
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    dnnl_primitive_desc_t fwd_pd, bwd_data_pd, bwd_w_pd;
    dnnl_primitive_t fwd, bwd_data, bwd_w;
    /* Weight reorders: plain -> forward layout, plain -> backward-data layout (NULL when the
     * forward copy serves both), blocked gradient -> plain with accumulation. */
    dnnl_primitive_t w_to_fwd, w_to_bwd, dw_to_plain;
    /* Memory objects over caller buffers, re-pointed on every call. */
    dnnl_memory_t x, y, dx, dy, w_plain, dw_plain;
    /* Memory objects over the owned buffers below. */
    dnnl_memory_t w_fwd, w_bwd, dw_blk;
    void *w_fwd_buf, *w_bwd_buf, *dw_blk_buf;
    /* Gray input run as 3 channels (see the top): ic_run = 3, padded copies of x, w and dw. */
    int ic_run;
    float *xpad, *wpad, *dwpad;
    /* Non-NULL: forward and backward data run there, and backward weights too unless bwd_w
     * was made (winograd_weights_preferred); no other oneDNN objects are made. */
    winograd *wino;
    /* bf16 (precision CONV2D_BF16): x and dy are converted into bf16 copies in the caller's
     * workspace (xb at its start, dyb after it) before every pass that reads them. */
    int bf16;
    size_t xb_bytes, dyb_bytes;
    void *ws;
    dnnl_memory_t xb, dyb;
    dnnl_primitive_t x_to_b, dy_to_b;
};

/* xpad: (N, 3, H, W) <- x: (N, 1, H, W), channels 1 and 2 stay zero. */
static void pad_gray_input(float *xpad, const float *x, int n, int h, int w) {
    size_t hw = (size_t)h * w;
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) memcpy(xpad + (size_t)i * 3 * hw, x + (size_t)i * hw, hw * sizeof(float));
}

/* ---- small oneDNN helpers */

/* A memory object for `md` over `data` (DNNL_MEMORY_NONE: pointed later). */
static nnclr_status mem_create(dnnl_memory_t *m, const dnnl_memory_desc_t *md,
                               dnnl_engine_t engine, void *data) {
    return dnn_check(dnnl_memory_create(m, md, engine, data), "creating a oneDNN memory object");
}

/* An owned, zeroed buffer for `md` and a memory object over it. */
static nnclr_status mem_create_owned(dnnl_memory_t *m, void **buf, const dnnl_memory_desc_t *md,
                                     dnnl_engine_t engine) {
    *buf = nnclr_calloc(1, dnnl_memory_desc_get_size(md));
    if (!*buf) return NNCLR_ERR_NOMEM;
    return mem_create(m, md, engine, *buf);
}

static nnclr_status mem_point(dnnl_memory_t m, const void *data) {
    return dnn_check(dnnl_memory_set_data_handle(m, (void *)(uintptr_t)data),
                     "pointing a oneDNN memory object");
}

static nnclr_status prim_run(const conv2d *c, dnnl_primitive_t p, int nargs,
                             const dnnl_exec_arg_t *args, const char *what) {
    NNCLR_TRY(dnn_check(dnnl_primitive_execute(p, c->stream, nargs, args), what));
    return dnn_check(dnnl_stream_wait(c->stream), what);
}

static nnclr_status prim_create(dnnl_primitive_t *p, const_dnnl_primitive_desc_t pd,
                                const char *what) {
    return dnn_check(dnnl_primitive_create(p, pd), what);
}

/* A reorder primitive src_md -> dst_md; `accumulate` adds into dst (sum post-op). */
static nnclr_status reorder_create(dnnl_primitive_t *p, const dnnl_memory_desc_t *src_md,
                                   const dnnl_memory_desc_t *dst_md, dnnl_engine_t engine,
                                   int accumulate) {
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    nnclr_status s = NNCLR_OK;
    if (accumulate) {
        s = dnn_check(dnnl_primitive_attr_create(&attr), "creating reorder attributes");
        if (s == NNCLR_OK) s = dnn_check(dnnl_post_ops_create(&ops), "creating post-ops");
        if (s == NNCLR_OK) s = dnn_check(dnnl_post_ops_append_sum(ops, 1.0f), "adding sum post-op");
        if (s == NNCLR_OK)
            s = dnn_check(dnnl_primitive_attr_set_post_ops(attr, ops), "setting reorder post-ops");
    }
    if (s == NNCLR_OK)
        s = dnn_check(dnnl_reorder_primitive_desc_create(&pd, src_md, engine, dst_md, engine, attr),
                      "creating a weight reorder");
    if (s == NNCLR_OK) s = prim_create(p, pd, "creating a weight reorder");
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (ops) dnnl_post_ops_destroy(ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return s;
}

static const dnnl_memory_desc_t *pd_md(const_dnnl_primitive_desc_t pd, dnnl_query_t what) {
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

/* ---- create / free */

static nnclr_status conv2d_check_config(const conv2d_config *g) {
    if (g->n <= 0 || g->ic <= 0 || g->ih <= 0 || g->iw <= 0 || g->oc <= 0)
        return nnclr_fail(NNCLR_ERR_ARG, "conv2d: sizes must be > 0 (n %d, ic %d, ih %d, iw %d, oc %d)",
                          g->n, g->ic, g->ih, g->iw, g->oc);
    if (g->k <= 0 || g->stride <= 0 || g->pad < 0)
        return nnclr_fail(NNCLR_ERR_ARG, "conv2d: bad kernel %d / stride %d / pad %d", g->k,
                          g->stride, g->pad);
    if (g->k > g->ih + 2 * g->pad || g->k > g->iw + 2 * g->pad)
        return nnclr_fail(NNCLR_ERR_ARG, "conv2d: kernel %d larger than the padded input %dx%d",
                          g->k, g->ih + 2 * g->pad, g->iw + 2 * g->pad);
    if (g->pad >= g->k)
        return nnclr_fail(NNCLR_ERR_ARG, "conv2d: pad %d must be smaller than kernel %d", g->pad,
                          g->k);
    if ((g->src_plain != 0 && g->src_plain != 1) || (g->need_dx != 0 && g->need_dx != 1))
        return nnclr_fail(NNCLR_ERR_ARG, "conv2d: src_plain and need_dx must be 0 or 1");
    if (g->algo < CONV2D_ALGO_AUTO || g->algo > CONV2D_ALGO_WINOGRAD)
        return nnclr_fail(NNCLR_ERR_ARG, "conv2d: unknown algorithm %d", g->algo);
    if (g->precision != CONV2D_F32 && g->precision != CONV2D_BF16)
        return nnclr_fail(NNCLR_ERR_ARG, "conv2d: unknown precision %d", g->precision);
    return NNCLR_OK;
}

int conv2d_bf16_supported(void) {
    return dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core_bf16;
}

/* A pass of a bf16 convolution must run on a jit kernel: oneDNN's reference loops would make a
 * step many times slower than float32, which is never what bf16 is asked for. */
static nnclr_status check_bf16_impl(const_dnnl_primitive_desc_t pd, const char *pass) {
    const char *name = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) != dnnl_success || !name)
        return nnclr_fail(NNCLR_ERR_BACKEND, "conv2d: no implementation name for the bf16 %s", pass);
    if (!strncmp(name, "ref", 3))
        return nnclr_fail(NNCLR_ERR_ARG, "bf16 convolutions (%s) have no fast kernel on this CPU "
                          "(oneDNN offers only %s); use --precision f32", pass, name);
    return NNCLR_OK;
}

/* The process-wide choice for CONV2D_ALGO_AUTO: NNCLR_CONV_ALGO, read once ("direct",
 * "winograd"; anything else means auto). */
static pthread_once_t algo_once = PTHREAD_ONCE_INIT;
static int env_algo = CONV2D_ALGO_AUTO;
static void read_env_algo(void) {
    const char *e = getenv("NNCLR_CONV_ALGO");
    env_algo = e && !strcmp(e, "direct") ? CONV2D_ALGO_DIRECT
             : e && !strcmp(e, "winograd") ? CONV2D_ALGO_WINOGRAD : CONV2D_ALGO_AUTO;
}
static int auto_algo(void) {
    pthread_once(&algo_once, read_env_algo);
    return env_algo;
}

/* Which passes run on the Winograd kernels: WINO_NONE, WINO_ALL, or WINO_NOT_WEIGHTS (the
 * automatic choice where oneDNN's backward weights is faster); a failure when WINOGRAD was
 * asked for a shape that does not qualify. */
enum { WINO_NONE, WINO_ALL, WINO_NOT_WEIGHTS };
static nnclr_status choose_winograd(const conv2d_config *g, int *use) {
    int fits = g->k == 3 && g->stride == 1 && g->pad == 1 && !g->src_plain && winograd_supported(g->ic, g->oc);
    int algo = g->algo == CONV2D_ALGO_AUTO ? auto_algo() : g->algo;
    if (algo == CONV2D_ALGO_WINOGRAD) *use = fits ? WINO_ALL : WINO_NONE;
    else if (algo == CONV2D_ALGO_AUTO && fits && winograd_preferred(g->ic, g->oc))
        *use = winograd_weights_preferred(g->ic, g->oc) ? WINO_ALL : WINO_NOT_WEIGHTS;
    else *use = WINO_NONE;
    if (g->algo == CONV2D_ALGO_WINOGRAD && !fits)
        return nnclr_fail(NNCLR_ERR_ARG, "conv2d: Winograd needs a 3x3 / stride 1 / pad 1 convolution of blocked "
                          "input with channels multiples of 8 and an AVX2 + FMA CPU (got %dx%d / %d / %d, "
                          "ic %d, oc %d)", g->k, g->k, g->stride, g->pad, g->ic, g->oc);
    return NNCLR_OK;
}

static nnclr_status conv2d_build(conv2d *c) {
    const conv2d_config *g = &c->cfg;
    dnn_ctx *ctx;
    NNCLR_TRY(dnn_get(&ctx));
    c->engine = ctx->engine;
    c->stream = ctx->stream;
    c->oh = (g->ih + 2 * g->pad - g->k) / g->stride + 1;
    c->ow = (g->iw + 2 * g->pad - g->k) / g->stride + 1;
    if (g->precision == CONV2D_BF16 && !conv2d_bf16_supported())
        return nnclr_fail(NNCLR_ERR_ARG, "bf16 needs a CPU with AVX512-BF16 or AMX, which this one lacks; "
                          "use --precision f32");
    int use_wino;
    NNCLR_TRY(choose_winograd(g, &use_wino));
    if (use_wino != WINO_NONE) {
        NNCLR_TRY(winograd_create(&c->wino, g->n, g->ic, g->ih, g->iw, g->oc, g->need_dx));
        if (use_wino == WINO_ALL) return NNCLR_OK;
        /* else backward weights on oneDNN, made below */
    }

    dnnl_memory_desc_t x_md, y_md, w_any, w_plain_md;
    c->ic_run = g->src_plain && g->ic == 1 ? 3 : g->ic;
    /* The network-input convolution stays float32: its plain 3-channel source has no bf16
     * backward-weights kernel worth having, and it is a small share of the step. Layers on
     * Winograd stay float32 too: F(4x4)'s float32 kernels do the work of a direct convolution
     * faster than oneDNN's bf16 ones (bench/bf16_step.sh), at ~1e-6 error instead of ~2e-3. */
    c->bf16 = g->precision == CONV2D_BF16 && !g->src_plain && !c->wino;
    dnnl_dims_t x_dims = {g->n, c->ic_run, g->ih, g->iw}, y_dims = {g->n, g->oc, c->oh, c->ow};
    dnnl_dims_t w_dims = {g->oc, c->ic_run, g->k, g->k};
    dnnl_dims_t strides = {g->stride, g->stride}, pads = {g->pad, g->pad};
    DNN_TRY(dnnl_memory_desc_init_by_tag(&x_md, 4, x_dims, dnnl_f32,
                                         g->src_plain ? dnnl_nchw : dnn_block_tag()));
    DNN_TRY(dnnl_memory_desc_init_by_tag(&y_md, 4, y_dims, dnnl_f32, dnn_block_tag()));
    DNN_TRY(dnnl_memory_desc_init_by_tag(&w_any, 4, w_dims, dnnl_f32, dnnl_format_tag_any));
    DNN_TRY(dnnl_memory_desc_init_by_tag(&w_plain_md, 4, w_dims, dnnl_f32, dnnl_oihw));
    /* bf16: the convolutions read bf16 copies of x, dy and the weights and write float32 y, dx
     * and dw (float32 accumulation inside oneDNN's kernels). Otherwise these equal the above. */
    dnnl_memory_desc_t xc_md = x_md, yc_md = y_md, wc_any = w_any;
    if (c->bf16) {
        DNN_TRY(dnnl_memory_desc_init_by_tag(&xc_md, 4, x_dims, dnnl_bf16, dnn_block_tag()));
        DNN_TRY(dnnl_memory_desc_init_by_tag(&yc_md, 4, y_dims, dnnl_bf16, dnn_block_tag()));
        DNN_TRY(dnnl_memory_desc_init_by_tag(&wc_any, 4, w_dims, dnnl_bf16, dnnl_format_tag_any));
    }

    /* Forward (training, so it can serve as the hint of the backward passes). */
    dnnl_convolution_desc_t d;
    DNN_TRY(dnnl_convolution_forward_desc_init(&d, dnnl_forward_training, dnnl_convolution_direct,
                                               &xc_md, &wc_any, NULL, &y_md, strides, pads, pads));
    NNCLR_TRY(dnn_check(dnnl_primitive_desc_create(&c->fwd_pd, &d, NULL, c->engine, NULL),
                        "creating the conv2d forward primitive descriptor"));
    const dnnl_memory_desc_t *w_fwd_md = pd_md(c->fwd_pd, dnnl_query_weights_md);
    if (c->bf16) NNCLR_TRY(check_bf16_impl(c->fwd_pd, "forward"));
    if (!c->wino) NNCLR_TRY(prim_create(&c->fwd, c->fwd_pd, "creating the conv2d forward primitive"));

    /* Backward weights: the gradient goes into a blocked buffer of oneDNN's choosing. */
    DNN_TRY(dnnl_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct, &xc_md, &w_any,
                                                        NULL, &yc_md, strides, pads, pads));
    NNCLR_TRY(dnn_check(dnnl_primitive_desc_create(&c->bwd_w_pd, &d, NULL, c->engine, c->fwd_pd),
                        "creating the conv2d backward-weights primitive descriptor"));
    if (c->bf16) NNCLR_TRY(check_bf16_impl(c->bwd_w_pd, "backward weights"));
    NNCLR_TRY(prim_create(&c->bwd_w, c->bwd_w_pd, "creating the conv2d backward-weights primitive"));
    if (c->bf16) {
        c->xb_bytes = (dnnl_memory_desc_get_size(&xc_md) + 63) / 64 * 64;
        c->dyb_bytes = dnnl_memory_desc_get_size(&yc_md);
        NNCLR_TRY(mem_create(&c->xb, &xc_md, c->engine, DNNL_MEMORY_NONE));
        NNCLR_TRY(mem_create(&c->dyb, &yc_md, c->engine, DNNL_MEMORY_NONE));
        NNCLR_TRY(reorder_create(&c->x_to_b, &x_md, &xc_md, c->engine, 0));
        NNCLR_TRY(reorder_create(&c->dy_to_b, &y_md, &yc_md, c->engine, 0));
    }
    const dnnl_memory_desc_t *dw_md = pd_md(c->bwd_w_pd, dnnl_query_diff_weights_md);

    NNCLR_TRY(mem_create(&c->x, &x_md, c->engine, DNNL_MEMORY_NONE));
    NNCLR_TRY(mem_create(&c->dy, &y_md, c->engine, DNNL_MEMORY_NONE));
    NNCLR_TRY(mem_create(&c->dw_plain, &w_plain_md, c->engine, DNNL_MEMORY_NONE));
    NNCLR_TRY(mem_create_owned(&c->dw_blk, &c->dw_blk_buf, dw_md, c->engine));
    NNCLR_TRY(reorder_create(&c->dw_to_plain, dw_md, &w_plain_md, c->engine, 1));
    /* Winograd runs forward and backward data: the forward descriptor was only the hint. */
    if (c->wino) return NNCLR_OK;

    /* Backward data, only when some caller will ask for dx. */
    const dnnl_memory_desc_t *w_bwd_md = NULL;
    if (g->need_dx) {
        DNN_TRY(dnnl_convolution_backward_data_desc_init(&d, dnnl_convolution_direct, &x_md, &wc_any,
                                                         &yc_md, strides, pads, pads));
        NNCLR_TRY(dnn_check(dnnl_primitive_desc_create(&c->bwd_data_pd, &d, NULL, c->engine, c->fwd_pd),
                            "creating the conv2d backward-data primitive descriptor"));
        if (c->bf16) NNCLR_TRY(check_bf16_impl(c->bwd_data_pd, "backward data"));
        NNCLR_TRY(prim_create(&c->bwd_data, c->bwd_data_pd, "creating the conv2d backward-data primitive"));
        w_bwd_md = pd_md(c->bwd_data_pd, dnnl_query_weights_md);
        NNCLR_TRY(mem_create(&c->dx, &x_md, c->engine, DNNL_MEMORY_NONE));
    }

    NNCLR_TRY(mem_create(&c->y, &y_md, c->engine, DNNL_MEMORY_NONE));
    NNCLR_TRY(mem_create(&c->w_plain, &w_plain_md, c->engine, DNNL_MEMORY_NONE));
    NNCLR_TRY(mem_create_owned(&c->w_fwd, &c->w_fwd_buf, w_fwd_md, c->engine));
    NNCLR_TRY(reorder_create(&c->w_to_fwd, &w_plain_md, w_fwd_md, c->engine, 0));
    if (c->ic_run != g->ic) {
        size_t kk = (size_t)g->k * g->k;
        c->xpad = nnclr_calloc((size_t)g->n * 3 * g->ih * g->iw, sizeof(float));
        c->wpad = nnclr_calloc((size_t)g->oc * 3 * kk, sizeof(float));
        c->dwpad = nnclr_calloc((size_t)g->oc * 3 * kk, sizeof(float));
        if (!c->xpad || !c->wpad || !c->dwpad) return NNCLR_ERR_NOMEM;
    }
    if (w_bwd_md && !dnnl_memory_desc_equal(w_bwd_md, w_fwd_md)) {
        NNCLR_TRY(mem_create_owned(&c->w_bwd, &c->w_bwd_buf, w_bwd_md, c->engine));
        NNCLR_TRY(reorder_create(&c->w_to_bwd, &w_plain_md, w_bwd_md, c->engine, 0));
    }
    return NNCLR_OK;
}

nnclr_status conv2d_create(conv2d **out, const conv2d_config *cfg) {
    *out = NULL;
    NNCLR_TRY(conv2d_check_config(cfg));
    conv2d *c = nnclr_calloc(1, sizeof *c);
    if (!c) return NNCLR_ERR_NOMEM;
    c->cfg = *cfg;
    nnclr_status s = conv2d_build(c);
    if (s != NNCLR_OK) {
        conv2d_free(c);
        return s;
    }
    *out = c;
    return NNCLR_OK;
}

void conv2d_free(conv2d *c) {
    if (!c) return;
    dnnl_primitive_t prims[] = {c->fwd, c->bwd_data, c->bwd_w, c->w_to_fwd, c->w_to_bwd, c->dw_to_plain,
                                c->x_to_b, c->dy_to_b};
    for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++)
        if (prims[i]) dnnl_primitive_destroy(prims[i]);
    dnnl_primitive_desc_t pds[] = {c->fwd_pd, c->bwd_data_pd, c->bwd_w_pd};
    for (size_t i = 0; i < sizeof pds / sizeof pds[0]; i++)
        if (pds[i]) dnnl_primitive_desc_destroy(pds[i]);
    dnnl_memory_t mems[] = {c->x, c->y, c->dx, c->dy, c->w_plain, c->dw_plain, c->w_fwd, c->w_bwd, c->dw_blk,
                            c->xb, c->dyb};
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    free(c->w_fwd_buf);
    free(c->w_bwd_buf);
    free(c->dw_blk_buf);
    free(c->xpad);
    free(c->wpad);
    free(c->dwpad);
    winograd_free(c->wino);
    free(c);
}

void conv2d_out_hw(const conv2d *c, int *oh, int *ow) {
    *oh = c->oh;
    *ow = c->ow;
}

const char *conv2d_impl_name(const conv2d *c, int pass) {
    if (c->wino && !(pass == 2 && c->bwd_w))
        return pass == 0 || pass == 2 || (pass == 1 && c->cfg.need_dx) ? winograd_impl_name(c->wino) : NULL;
    const_dnnl_primitive_desc_t pd = pass == 0 ? c->fwd_pd : pass == 1 ? c->bwd_data_pd
                                   : pass == 2 ? c->bwd_w_pd : NULL;
    const char *name = NULL;
    if (!pd || dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) != dnnl_success)
        return NULL;
    return name;
}

size_t conv2d_workspace_size(const conv2d *c) { return c->bf16 ? c->xb_bytes + c->dyb_bytes : 0; }

void conv2d_set_workspace(conv2d *c, void *ws) { c->ws = ws; }

/* ---- compute */

/* bf16: converts the float32 x (already in c->x) into the workspace's bf16 copy. */
static nnclr_status to_bf16(conv2d *c, dnnl_primitive_t reorder, dnnl_memory_t from, dnnl_memory_t to,
                            size_t offset, const char *what) {
    if (!c->ws) return nnclr_fail(NNCLR_ERR_ARG, "conv2d: a bf16 convolution needs conv2d_set_workspace");
    NNCLR_TRY(mem_point(to, (char *)c->ws + offset));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    return prim_run(c, reorder, 2, args, what);
}

nnclr_status conv2d_prepare(conv2d *c, const float *w) {
    if (c->wino) {
        winograd_prepare(c->wino, w);
        c->prepared = 1;
        return NNCLR_OK;
    }
    if (c->wpad) {
        size_t kk = (size_t)c->cfg.k * c->cfg.k;
        for (int o = 0; o < c->cfg.oc; o++) memcpy(c->wpad + (size_t)o * 3 * kk, w + (size_t)o * kk, kk * sizeof(float));
        w = c->wpad;
    }
    NNCLR_TRY(mem_point(c->w_plain, w));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, c->w_plain}, {DNNL_ARG_TO, c->w_fwd}};
    NNCLR_TRY(prim_run(c, c->w_to_fwd, 2, args, "reordering conv2d weights"));
    if (c->w_to_bwd) {
        args[1].memory = c->w_bwd;
        NNCLR_TRY(prim_run(c, c->w_to_bwd, 2, args, "reordering conv2d weights for backward"));
    }
    c->prepared = 1;
    return NNCLR_OK;
}

nnclr_status conv2d_forward(conv2d *c, float *y, const float *x) {
    if (!c->prepared) return nnclr_fail(NNCLR_ERR_ARG, "conv2d_forward called before conv2d_prepare");
    if (c->xpad) {
        pad_gray_input(c->xpad, x, c->cfg.n, c->cfg.ih, c->cfg.iw);
        x = c->xpad;
    }
    if (c->wino) return winograd_forward(c->wino, y, x);
    NNCLR_TRY(mem_point(c->x, x));
    NNCLR_TRY(mem_point(c->y, y));
    if (c->bf16) NNCLR_TRY(to_bf16(c, c->x_to_b, c->x, c->xb, 0, "converting conv2d input to bf16"));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, c->bf16 ? c->xb : c->x}, {DNNL_ARG_WEIGHTS, c->w_fwd},
                               {DNNL_ARG_DST, c->y}};
    return prim_run(c, c->fwd, 3, args, "conv2d forward");
}

nnclr_status conv2d_backward(conv2d *c, float *dx, float *dw, const float *dy, const float *x) {
    if (dx && !c->cfg.need_dx)
        return nnclr_fail(NNCLR_ERR_ARG, "conv2d_backward: dx asked from a conv made with need_dx = 0");
    if (dx && !c->prepared)
        return nnclr_fail(NNCLR_ERR_ARG, "conv2d_backward called before conv2d_prepare");
    if (c->wino) {
        if (dx) NNCLR_TRY(winograd_backward_data(c->wino, dx, dy));
        if (!c->bwd_w) return dw ? winograd_backward_weights(c->wino, dw, dy, x) : NNCLR_OK;
        dx = NULL; /* done; the weight gradient follows on oneDNN */
    }
    NNCLR_TRY(mem_point(c->dy, dy));
    if (c->bf16)
        NNCLR_TRY(to_bf16(c, c->dy_to_b, c->dy, c->dyb, c->xb_bytes, "converting the conv2d gradient to bf16"));
    dnnl_memory_t dy_run = c->bf16 ? c->dyb : c->dy;
    if (dx) {
        NNCLR_TRY(mem_point(c->dx, dx));
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, dy_run},
                                   {DNNL_ARG_WEIGHTS, c->w_bwd ? c->w_bwd : c->w_fwd},
                                   {DNNL_ARG_DIFF_SRC, c->dx}};
        NNCLR_TRY(prim_run(c, c->bwd_data, 3, args, "conv2d backward data"));
    }
    if (dw) {
        if (c->xpad) {
            /* The forward of another slot may have used the buffer since: pad x again. */
            pad_gray_input(c->xpad, x, c->cfg.n, c->cfg.ih, c->cfg.iw);
            x = c->xpad;
        }
        NNCLR_TRY(mem_point(c->x, x));
        /* the bf16 copy of the forward is gone (other layers used the workspace since) */
        if (c->bf16) NNCLR_TRY(to_bf16(c, c->x_to_b, c->x, c->xb, 0, "converting conv2d input to bf16"));
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, c->bf16 ? c->xb : c->x}, {DNNL_ARG_DIFF_DST, dy_run},
                                   {DNNL_ARG_DIFF_WEIGHTS, c->dw_blk}};
        NNCLR_TRY(prim_run(c, c->bwd_w, 3, args, "conv2d backward weights"));
        float *dst = dw;
        size_t kk = (size_t)c->cfg.k * c->cfg.k;
        if (c->dwpad) {
            memset(c->dwpad, 0, (size_t)c->cfg.oc * 3 * kk * sizeof(float));
            dst = c->dwpad;
        }
        NNCLR_TRY(mem_point(c->dw_plain, dst));
        dnnl_exec_arg_t acc[2] = {{DNNL_ARG_FROM, c->dw_blk}, {DNNL_ARG_TO, c->dw_plain}};
        NNCLR_TRY(prim_run(c, c->dw_to_plain, 2, acc, "accumulating the conv2d weight gradient"));
        if (c->dwpad)
            for (int o = 0; o < c->cfg.oc; o++)
                for (size_t j = 0; j < kk; j++) dw[(size_t)o * kk + j] += c->dwpad[(size_t)o * 3 * kk + j];
    }
    return NNCLR_OK;
}
