/* batchnorm.c - 2-D batch normalisation (optionally fused with the following ReLU) on
 * blocked nChw{B}c (B = 8 or 16, see core/dnn.h) activations, on oneDNN. See batchnorm.h.
 *
 * Sits after every convolution of the backbone. Three primitives are made once for the fixed
 * shape: training forward (batch statistics out, plus the ReLU mask as workspace when fused),
 * inference forward (running statistics in), and backward (dx, dgamma, dbeta). gamma and beta
 * go to oneDNN as separate scale and shift tensors. The saved state of a training forward
 * lives in caller memory laid out as
 *     [mean (C floats)] [variance (C floats)] [ReLU workspace]   (each part 64-byte aligned)
 * so the two augmented views can run through one op. oneDNN overwrites its diff_scale and
 * diff_shift, so backward writes them into two owned (C) arrays and adds those into the
 * caller's dgamma, dbeta. The running statistics are updated here, PyTorch style.
 *
 * The batch statistics are computed here, not by oneDNN: per-channel sums in double (first
 * the mean, then the squared deviations from it), all-reduced over the ranks when the op is
 * synchronised (distributed training), and handed to oneDNN's training primitives, made with
 * dnnl_use_global_stats, as inputs. In backward oneDNN then gives gamma rstd dy (statistics
 * held constant) plus the sums dbeta = sum dy, dgamma = sum dy xhat, and the terms through
 * the statistics,  dx -= gamma rstd / N (sum dy + xhat sum dy xhat),  are added here (over all
 * ranks' rows, N the global count). One path for one and many processes: a forward on R ranks
 * gives the same values as one process on the whole batch (to the last bit in practice), so
 * data-parallel training does not change the numbers beyond gradient summation order. */
#include "ops/batchnorm.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "core/dnn.h"
#include "core/status.h"
#include "dist/dist.h"

#define BN_EPS 1e-5f
#define BN_PARTS 8 /* runs of images the batch statistics are summed in (see channel_sums_b) */

struct batchnorm {
    int n, c, h, w, fuse_relu;
    size_t var_off, ws_off, ws_bytes, saved_bytes;
    dnnl_stream_t stream;
    dnnl_primitive_desc_t train_pd, eval_pd, bwd_pd;
    dnnl_primitive_t train, eval, bwd;
    /* Memory objects, re-pointed on every call. */
    dnnl_memory_t x, y, dx, dy, mean, var, scale, shift, ws, dscale, dshift;
    float *dscale_buf, *dshift_buf;   /* (C) each: oneDNN's overwritten gradients */
    const dist *dist;                 /* NULL or one rank: statistics of this process's rows */
    double *sums;                     /* (2 * C) per-channel sums (all-reduced when distributed) */
    double *parts;                    /* (cpad(C) BN_PARTS) partial sums of channel_sums */
};

static size_t align64(size_t v) { return (v + 63) & ~(size_t)63; }

static nnclr_status mem_point(dnnl_memory_t m, const void *data) {
    return dnn_check(dnnl_memory_set_data_handle(m, (void *)(uintptr_t)data),
                     "pointing a oneDNN memory object");
}

static nnclr_status prim_run(const batchnorm *b, dnnl_primitive_t p, int nargs,
                             const dnnl_exec_arg_t *args, const char *what) {
    NNCLR_TRY(dnn_check(dnnl_primitive_execute(p, b->stream, nargs, args), what));
    return dnn_check(dnnl_stream_wait(b->stream), what);
}

/* A memory object (no data yet) for the tensor `arg` of primitive descriptor `pd`. */
static nnclr_status mem_for_arg(dnnl_memory_t *m, const_dnnl_primitive_desc_t pd, int arg,
                                dnnl_engine_t engine) {
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg);
    return dnn_check(dnnl_memory_create(m, md, engine, DNNL_MEMORY_NONE),
                     "creating a batchnorm memory object");
}

/* ---- create / free */

static nnclr_status batchnorm_build(batchnorm *b) {
    dnn_ctx *ctx;
    NNCLR_TRY(dnn_get(&ctx));
    b->stream = ctx->stream;
    dnnl_memory_desc_t md;
    dnnl_dims_t dims = {b->n, b->c, b->h, b->w};
    DNN_TRY(dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, dnn_block_tag()));
    unsigned flags = dnnl_use_scale | dnnl_use_shift | (b->fuse_relu ? dnnl_fuse_norm_relu : 0u);

    dnnl_batch_normalization_desc_t d;
    DNN_TRY(dnnl_batch_normalization_forward_desc_init(&d, dnnl_forward_training, &md, BN_EPS,
                                                       flags | dnnl_use_global_stats));
    NNCLR_TRY(dnn_check(dnnl_primitive_desc_create(&b->train_pd, &d, NULL, ctx->engine, NULL),
                        "creating the batchnorm training primitive descriptor"));
    NNCLR_TRY(dnn_check(dnnl_primitive_create(&b->train, b->train_pd),
                        "creating the batchnorm training primitive"));

    DNN_TRY(dnnl_batch_normalization_forward_desc_init(&d, dnnl_forward_inference, &md, BN_EPS,
                                                       flags | dnnl_use_global_stats));
    NNCLR_TRY(dnn_check(dnnl_primitive_desc_create(&b->eval_pd, &d, NULL, ctx->engine, NULL),
                        "creating the batchnorm inference primitive descriptor"));
    NNCLR_TRY(dnn_check(dnnl_primitive_create(&b->eval, b->eval_pd),
                        "creating the batchnorm inference primitive"));

    DNN_TRY(dnnl_batch_normalization_backward_desc_init(&d, dnnl_backward, &md, &md, BN_EPS,
                                                        flags | dnnl_use_global_stats));
    NNCLR_TRY(dnn_check(dnnl_primitive_desc_create(&b->bwd_pd, &d, NULL, ctx->engine, b->train_pd),
                        "creating the batchnorm backward primitive descriptor"));
    NNCLR_TRY(dnn_check(dnnl_primitive_create(&b->bwd, b->bwd_pd),
                        "creating the batchnorm backward primitive"));

    const_dnnl_primitive_desc_t tp = b->train_pd, bp = b->bwd_pd;
    NNCLR_TRY(mem_for_arg(&b->x, tp, DNNL_ARG_SRC, ctx->engine));
    NNCLR_TRY(mem_for_arg(&b->y, tp, DNNL_ARG_DST, ctx->engine));
    NNCLR_TRY(mem_for_arg(&b->mean, tp, DNNL_ARG_MEAN, ctx->engine));
    NNCLR_TRY(mem_for_arg(&b->var, tp, DNNL_ARG_VARIANCE, ctx->engine));
    NNCLR_TRY(mem_for_arg(&b->scale, tp, DNNL_ARG_SCALE, ctx->engine));
    NNCLR_TRY(mem_for_arg(&b->shift, tp, DNNL_ARG_SHIFT, ctx->engine));
    NNCLR_TRY(mem_for_arg(&b->dx, bp, DNNL_ARG_DIFF_SRC, ctx->engine));
    NNCLR_TRY(mem_for_arg(&b->dy, bp, DNNL_ARG_DIFF_DST, ctx->engine));
    NNCLR_TRY(mem_for_arg(&b->dscale, bp, DNNL_ARG_DIFF_SCALE, ctx->engine));
    NNCLR_TRY(mem_for_arg(&b->dshift, bp, DNNL_ARG_DIFF_SHIFT, ctx->engine));
    if (b->fuse_relu) {
        const dnnl_memory_desc_t *ws = dnnl_primitive_desc_query_md(tp, dnnl_query_workspace_md, 0);
        b->ws_bytes = dnnl_memory_desc_get_size(ws);
        NNCLR_TRY(dnn_check(dnnl_memory_create(&b->ws, ws, ctx->engine, DNNL_MEMORY_NONE),
                            "creating the batchnorm workspace memory object"));
    }
    b->dscale_buf = nnclr_calloc((size_t)b->c, sizeof(float));
    b->dshift_buf = nnclr_calloc((size_t)b->c, sizeof(float));
    if (!b->dscale_buf || !b->dshift_buf) return NNCLR_ERR_NOMEM;
    NNCLR_TRY(mem_point(b->dscale, b->dscale_buf));
    NNCLR_TRY(mem_point(b->dshift, b->dshift_buf));

    b->sums = nnclr_calloc(2 * (size_t)b->c, sizeof(double));
    b->parts = nnclr_calloc((size_t)dnn_cpad(b->c) * BN_PARTS, sizeof(double));
    if (!b->sums || !b->parts) return NNCLR_ERR_NOMEM;
    b->var_off = align64((size_t)b->c * sizeof(float));
    b->ws_off = 2 * b->var_off;
    b->saved_bytes = b->ws_off + align64(b->ws_bytes);
    return NNCLR_OK;
}

nnclr_status batchnorm_create(batchnorm **out, int n, int c, int h, int w, int fuse_relu) {
    return batchnorm_create_dist(out, n, c, h, w, fuse_relu, NULL);
}

nnclr_status batchnorm_create_dist(batchnorm **out, int n, int c, int h, int w, int fuse_relu,
                                   const nnclr_dist *dd) {
    *out = NULL;
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0)
        return nnclr_fail(NNCLR_ERR_ARG, "batchnorm: sizes must be > 0 (n %d, c %d, h %d, w %d)",
                          n, c, h, w);
    if (fuse_relu != 0 && fuse_relu != 1)
        return nnclr_fail(NNCLR_ERR_ARG, "batchnorm: fuse_relu must be 0 or 1");
    batchnorm *b = nnclr_calloc(1, sizeof *b);
    if (!b) return NNCLR_ERR_NOMEM;
    b->n = n; b->c = c; b->h = h; b->w = w; b->fuse_relu = fuse_relu;
    b->dist = dd;
    nnclr_status s = batchnorm_build(b);
    if (s != NNCLR_OK) {
        batchnorm_free(b);
        return s;
    }
    *out = b;
    return NNCLR_OK;
}

void batchnorm_free(batchnorm *b) {
    if (!b) return;
    dnnl_primitive_t prims[] = {b->train, b->eval, b->bwd};
    for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++)
        if (prims[i]) dnnl_primitive_destroy(prims[i]);
    dnnl_primitive_desc_t pds[] = {b->train_pd, b->eval_pd, b->bwd_pd};
    for (size_t i = 0; i < sizeof pds / sizeof pds[0]; i++)
        if (pds[i]) dnnl_primitive_desc_destroy(pds[i]);
    dnnl_memory_t mems[] = {b->x, b->y, b->dx, b->dy, b->mean, b->var, b->scale, b->shift,
                            b->ws, b->dscale, b->dshift};
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    free(b->dscale_buf);
    free(b->dshift_buf);
    free(b->sums);
    free(b->parts);
    free(b);
}

size_t batchnorm_saved_bytes(const batchnorm *b) { return b->saved_bytes; }

const char *batchnorm_impl_name(const batchnorm *b, int pass) {
    const_dnnl_primitive_desc_t pd = pass == 0 ? b->train_pd : pass == 1 ? b->eval_pd
                                   : pass == 2 ? b->bwd_pd : NULL;
    const char *name = NULL;
    if (!pd || dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) != dnnl_success)
        return NULL;
    return name;
}

/* ---- compute */

/* Per-channel sums over this rank's (n, h, w) of the blocked tensor x (block B): out[ch] = sum x,
 * or sum (x - mean[ch])^2 when mean is given, in double. The work is cut into tasks of (channel
 * block, one of BN_PARTS fixed runs of images), so a layer with one channel block still uses
 * every thread; each task sums its pixels into 4 interleaved accumulators per lane (a chain of
 * dependent additions per lane would bound the speed), and the task sums are added in task
 * order, so the result does not depend on the number of threads. Inlined with B constant (8
 * or 16) so the lane loops vectorise. */
static inline __attribute__((always_inline)) void channel_sums_b(const batchnorm *b, const float *x,
                                                                 const double *mean, double *out, const int B) {
    const int cb_count = dnn_cpad(b->c) / B, parts = b->n < BN_PARTS ? b->n : BN_PARTS;
    const size_t hw = (size_t)b->h * b->w;
    double *part = b->parts; /* (cb_count, parts, B) */
    #pragma omp parallel for schedule(static) collapse(2)
    for (int cb = 0; cb < cb_count; cb++)
        for (int pt = 0; pt < parts; pt++) {
            double acc[4][16] = {{0}}, mu[16] = {0};
            if (mean)
                for (int l = 0; l < B && cb * B + l < b->c; l++) mu[l] = mean[cb * B + l];
            int n0 = (int)((long)b->n * pt / parts), n1 = (int)((long)b->n * (pt + 1) / parts);
            for (int n = n0; n < n1; n++) {
                const float *p = x + ((size_t)n * cb_count + cb) * hw * B;
                size_t i = 0;
                for (; i + 4 <= hw; i += 4)
                    for (int u = 0; u < 4; u++)
                        for (int l = 0; l < B; l++) {
                            double v = p[(i + u) * B + l];
                            if (mean) { v -= mu[l]; v *= v; }
                            acc[u][l] += v;
                        }
                for (; i < hw; i++)
                    for (int l = 0; l < B; l++) {
                        double v = p[i * B + l];
                        if (mean) { v -= mu[l]; v *= v; }
                        acc[0][l] += v;
                    }
            }
            for (int l = 0; l < B; l++)
                part[((size_t)cb * parts + pt) * B + l] = (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l]);
        }
    for (int cb = 0; cb < cb_count; cb++)
        for (int l = 0; l < B && cb * B + l < b->c; l++) {
            double t = 0;
            for (int pt = 0; pt < parts; pt++) t += part[((size_t)cb * parts + pt) * B + l];
            out[cb * B + l] = t;
        }
}

static void channel_sums(const batchnorm *b, const float *x, const double *mean, double *out) {
    if (dnn_cblock() == 16) channel_sums_b(b, x, mean, out, 16);
    else channel_sums_b(b, x, mean, out, 8);
}

/* Global batch mean and biased variance of x over all ranks, into mean, var (C floats). */
static nnclr_status global_stats(batchnorm *b, const float *x, float *mean, float *var, double count) {
    double *s = b->sums, *mu = b->sums + b->c;
    channel_sums(b, x, NULL, s);
    NNCLR_TRY(dist_allreduce_sum_d(b->dist, s, (size_t)b->c));
    for (int i = 0; i < b->c; i++) mu[i] = s[i] / count;
    channel_sums(b, x, mu, s);
    NNCLR_TRY(dist_allreduce_sum_d(b->dist, s, (size_t)b->c));
    for (int i = 0; i < b->c; i++) {
        mean[i] = (float)mu[i];
        var[i] = (float)(s[i] / count);
    }
    return NNCLR_OK;
}

/* dx -= gamma rstd / count (sum_dy + xhat sum_dyxhat), the terms through the global batch
 * statistics; sum_dy, sum_dyxhat: (C) each, over all ranks. B constant after inlining. */
static inline __attribute__((always_inline)) void stats_backward_b(
    const batchnorm *b, float *dx, const float *x, const float *mean, const float *var, const float *gamma,
    const double *sum_dyxhat, const double *sum_dy, double count, const int B) {
    const int cb_count = dnn_cpad(b->c) / B;
    const size_t hw = (size_t)b->h * b->w;
    /* tasks of (channel block, image): element-wise, so any split gives the same result */
    #pragma omp parallel for schedule(static) collapse(2)
    for (int cb = 0; cb < cb_count; cb++)
        for (int n = 0; n < b->n; n++) {
            float mu[16] = {0}, kx[16] = {0}, k0[16] = {0};
            for (int l = 0; l < B && cb * B + l < b->c; l++) {
                int ch = cb * B + l;
                double rstd = 1.0 / sqrt((double)var[ch] + BN_EPS);
                double g = (double)gamma[ch] * rstd / count;
                mu[l] = mean[ch];
                kx[l] = (float)(-g * rstd * sum_dyxhat[ch]);  /* xhat = (x - mean) rstd */
                k0[l] = (float)(-g * sum_dy[ch]);
            }
            const size_t base = ((size_t)n * cb_count + cb) * hw * B;
            const float *xp = x + base;
            float *dp = dx + base;
            for (size_t i = 0; i < hw; i++)
                for (int l = 0; l < B; l++) dp[i * B + l] += (xp[i * B + l] - mu[l]) * kx[l] + k0[l];
        }
}

static void stats_backward(const batchnorm *b, float *dx, const float *x, const float *mean,
                           const float *var, const float *gamma, const double *sum_dyxhat,
                           const double *sum_dy, double count) {
    if (dnn_cblock() == 16) stats_backward_b(b, dx, x, mean, var, gamma, sum_dyxhat, sum_dy, count, 16);
    else stats_backward_b(b, dx, x, mean, var, gamma, sum_dyxhat, sum_dy, count, 8);
}

nnclr_status batchnorm_forward_train(batchnorm *b, float *y, void *saved, const float *x,
                                     const float *gamma, const float *beta,
                                     float *running_mean, float *running_var, float momentum) {
    const size_t count = (size_t)b->n * (size_t)b->h * (size_t)b->w * (size_t)dist_world(b->dist);
    if (count < 2)
        return nnclr_fail(NNCLR_ERR_ARG, "batchnorm: training needs more than one value per channel");
    float *mean = saved;
    float *var = (float *)((char *)saved + b->var_off);
    NNCLR_TRY(global_stats(b, x, mean, var, (double)count));
    NNCLR_TRY(mem_point(b->x, x));
    NNCLR_TRY(mem_point(b->y, y));
    NNCLR_TRY(mem_point(b->mean, mean));
    NNCLR_TRY(mem_point(b->var, var));
    NNCLR_TRY(mem_point(b->scale, gamma));
    NNCLR_TRY(mem_point(b->shift, beta));
    dnnl_exec_arg_t args[7] = {{DNNL_ARG_SRC, b->x}, {DNNL_ARG_DST, b->y},
                               {DNNL_ARG_MEAN, b->mean}, {DNNL_ARG_VARIANCE, b->var},
                               {DNNL_ARG_SCALE, b->scale}, {DNNL_ARG_SHIFT, b->shift},
                               {DNNL_ARG_WORKSPACE, b->ws}};
    int nargs = 6;
    if (b->fuse_relu) {
        NNCLR_TRY(mem_point(b->ws, (char *)saved + b->ws_off));
        nargs = 7;
    }
    NNCLR_TRY(prim_run(b, b->train, nargs, args, "batchnorm training forward"));

    /* PyTorch's running statistics: the variance that enters them is unbiased. */
    const float unbias = (float)((double)count / (double)(count - 1));
    for (int i = 0; i < b->c; i++) {
        running_mean[i] = (1.0f - momentum) * running_mean[i] + momentum * mean[i];
        running_var[i] = (1.0f - momentum) * running_var[i] + momentum * var[i] * unbias;
    }
    return NNCLR_OK;
}

nnclr_status batchnorm_forward_eval(batchnorm *b, float *y, const float *x, const float *gamma,
                                    const float *beta, const float *running_mean,
                                    const float *running_var) {
    NNCLR_TRY(mem_point(b->x, x));
    NNCLR_TRY(mem_point(b->y, y));
    NNCLR_TRY(mem_point(b->mean, running_mean));
    NNCLR_TRY(mem_point(b->var, running_var));
    NNCLR_TRY(mem_point(b->scale, gamma));
    NNCLR_TRY(mem_point(b->shift, beta));
    dnnl_exec_arg_t args[6] = {{DNNL_ARG_SRC, b->x}, {DNNL_ARG_DST, b->y},
                               {DNNL_ARG_MEAN, b->mean}, {DNNL_ARG_VARIANCE, b->var},
                               {DNNL_ARG_SCALE, b->scale}, {DNNL_ARG_SHIFT, b->shift}};
    return prim_run(b, b->eval, 6, args, "batchnorm inference forward");
}

nnclr_status batchnorm_backward(batchnorm *b, float *dx, float *dgamma, float *dbeta,
                                const float *dy, const float *x, const void *saved,
                                const float *gamma, const float *beta) {
    const char *base = saved;
    NNCLR_TRY(mem_point(b->x, x));
    NNCLR_TRY(mem_point(b->dx, dx));
    NNCLR_TRY(mem_point(b->dy, dy));
    NNCLR_TRY(mem_point(b->mean, base));
    NNCLR_TRY(mem_point(b->var, base + b->var_off));
    NNCLR_TRY(mem_point(b->scale, gamma));
    /* oneDNN 2.6 lists the shift among the backward inputs although the gradient does not
     * depend on it. */
    NNCLR_TRY(mem_point(b->shift, beta));
    dnnl_exec_arg_t args[10] = {{DNNL_ARG_SRC, b->x}, {DNNL_ARG_DIFF_DST, b->dy},
                                {DNNL_ARG_MEAN, b->mean}, {DNNL_ARG_VARIANCE, b->var},
                                {DNNL_ARG_SCALE, b->scale}, {DNNL_ARG_SHIFT, b->shift},
                                {DNNL_ARG_DIFF_SRC, b->dx}, {DNNL_ARG_DIFF_SCALE, b->dscale},
                                {DNNL_ARG_DIFF_SHIFT, b->dshift}, {DNNL_ARG_WORKSPACE, b->ws}};
    int nargs = 9;
    if (b->fuse_relu) {
        NNCLR_TRY(mem_point(b->ws, base + b->ws_off));
        nargs = 10;
    }
    NNCLR_TRY(prim_run(b, b->bwd, nargs, args, "batchnorm backward"));
    for (int i = 0; i < b->c; i++) {
        dgamma[i] += b->dscale_buf[i];
        dbeta[i] += b->dshift_buf[i];
    }
    double *sd = b->sums;
    for (int i = 0; i < b->c; i++) {
        sd[i] = b->dscale_buf[i];
        sd[b->c + i] = b->dshift_buf[i];
    }
    NNCLR_TRY(dist_allreduce_sum_d(b->dist, sd, 2 * (size_t)b->c));
    const double count = (double)b->n * b->h * b->w * dist_world(b->dist);
    stats_backward(b, dx, x, (const float *)base, (const float *)(base + b->var_off), gamma, sd,
                   sd + b->c, count);
    return NNCLR_OK;
}
