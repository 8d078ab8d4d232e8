/* winograd.c - F(2x2, 3x3) and F(4x4, 3x3) Winograd convolution on blocked nChw{B}c
 * activations (B = 8 or 16, core/dnn.h). See winograd.h.
 *
 * Layouts (c: input channels, k: output channels of the pass at hand; P = (m + 2)^2 positions):
 *   U[pos][c][k]      transformed weights, pos = (m + 2) i + j of the patch, k contiguous
 *   V[pos][t][c]      transformed input tiles of one group of TG tiles
 *   M[pos][t][k]      their products, before the output transform
 * Tiles are numbered over (image, tile row, tile column) and cut into groups of TG; threads take
 * whole groups; a pass uses as many threads as OpenMP would at the call. Backward weights gives
 * each thread a contiguous share of the groups and its own dU, summed in thread order at the
 * end, so the result does not change from run to run. */
#include "ops/winograd.h"

#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "core/dnn.h"
#include "core/status.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WINOGRAD_X86 1
#endif

/* Tiles per group (measured on the ResNet-20 layers, one thread, best of 5): forward / backward
 * data 6 when C + K <= 64 (V and M, 16 x TG x (C + K) floats, stay in L1; 16 channels: 16 ms
 * against 23 ms with 12), 12 above (64 channels: 9.0 against 9.9 ms with 6); backward weights
 * 30, which amortises loading and storing the dU accumulators (27 against 32 ms with 6). Those
 * were F(2x2) with the AVX2 kernels on the Zen 3; the AVX-512 kernels always take 12, one full
 * register block of 12 rows. F(4x4) with AVX-512, 2 threads, batch 256: 8 and 12 tiles equal
 * within noise, 4 and 6 up to 40 % slower at 32-64 channels; backward weights 30 best of 8-30. */
#define TGW 30
#define TG_MAX 30
#define PD 4 /* tiles ahead that the passes prefetch (winograd_kernels.inc) */

/* The tiling: output tiles m x m, F(2x2, 3x3) with 16 positions of 4x4 patches or F(4x4, 3x3)
 * with 36 of 6x6; tiles numbered over (image, tile row, tile column). */
typedef struct {
    int m, npos;
    int tiles_h, tiles_w;
    long ntiles;
} tiling;

struct winograd {
    int n, c, h, w, k, need_dx;
    tiling tl;
    int tg;          /* tiles per group, forward / backward data */
    int wide;        /* 1: the 16-lane (AVX-512) kernels, else the 8-lane (AVX2) ones */
    float *u_fwd;    /* (P, C, K) */
    float *u_bwd;    /* (P, K, C) or NULL */
    size_t scratch_floats; /* per thread: V and M (or Yh) of one group */
};

/* Scratch of a pass (per thread: V and M or Yh, then dU for backward weights) comes from one
 * process-wide pool, grown on demand and held for the duration of the pass: the layers of a
 * network run one after another, so one pool serves them all (ResNet-18 at 512 channels would
 * otherwise keep 16 MB of dU per thread in every layer). */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static float *pool;
static size_t pool_floats;

/* The pool, locked, at least `floats` long; NULL (and unlocked) when it cannot grow. */
static float *pool_acquire(size_t floats) {
    pthread_mutex_lock(&pool_lock);
    if (floats > pool_floats) {
        free(pool);
        pool = nnclr_malloc(floats * sizeof(float));
        pool_floats = pool ? floats : 0;
        if (!pool) {
            pthread_mutex_unlock(&pool_lock);
            return NULL;
        }
    }
    return pool;
}

static void pool_release(void) { pthread_mutex_unlock(&pool_lock); }

#ifdef WINOGRAD_X86
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;
static int cpu_ok, cpu_avx512;
static void cpu_detect(void) {
    __builtin_cpu_init();
    cpu_ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    cpu_avx512 = cpu_ok && __builtin_cpu_supports("avx512f");
}
#endif

int winograd_supported(int c, int k) {
#ifdef WINOGRAD_X86
    pthread_once(&cpu_once, cpu_detect);
    int b = dnn_cblock(); /* whole channel blocks only: padded lanes are never written */
    return cpu_ok && c >= 8 && k >= 8 && c % b == 0 && k % b == 0;
#else
    (void)c;
    (void)k;
    return 0;
#endif
}

/* NNCLR_WINOGRAD_TILE ("2" or "4"), read once; 0 when unset or anything else. */
static pthread_once_t tile_once = PTHREAD_ONCE_INIT;
static int env_tile;
static void read_env_tile(void) {
    const char *e = getenv("NNCLR_WINOGRAD_TILE");
    env_tile = e && !strcmp(e, "2") ? 2 : e && !strcmp(e, "4") ? 4 : 0;
}

int winograd_tile(int c, int k) {
    pthread_once(&tile_once, read_env_tile);
    if (env_tile) return env_tile;
    (void)c;
    (void)k;
    return 4;
}

static int wide_kernels(void) {
#ifdef WINOGRAD_X86
    return cpu_avx512 && dnn_cblock() == 16;
#else
    return 0;
#endif
}

int winograd_preferred(int c, int k) {
    int min = winograd_tile(c, k) == 4 ? 16 : 32;
    return winograd_supported(c, k) && c >= min && k >= min && c <= 256 && k <= 256;
}

int winograd_weights_preferred(int c, int k) {
    if (!winograd_preferred(c, k)) return 0;
    if (!wide_kernels() || winograd_tile(c, k) == 4) return 1;
    return c >= 64 && k >= 64;
}

const char *winograd_impl_name(const winograd *g) {
    if (g->tl.m == 4) return g->wide ? "winograd_4x3:avx512" : "winograd_4x3:avx2";
    return g->wide ? "winograd_2x3:avx512" : "winograd_2x3:avx2";
}

void winograd_free(winograd *g) {
    if (!g) return;
    free(g->u_fwd);
    free(g->u_bwd);
    free(g);
}

static void set_tiling(tiling *t, int m, int n, int h, int w) {
    t->m = m;
    t->npos = (m + 2) * (m + 2);
    t->tiles_h = (h + m - 1) / m;
    t->tiles_w = (w + m - 1) / m;
    t->ntiles = (long)n * t->tiles_h * t->tiles_w;
}

nnclr_status winograd_create(winograd **out, int n, int c, int h, int w, int k, int need_dx) {
    *out = NULL;
    if (n < 1 || h < 1 || w < 1 || !winograd_supported(c, k))
        return nnclr_fail(NNCLR_ERR_ARG, "winograd: unsupported shape n %d c %d %dx%d k %d", n, c, h, w, k);
    winograd *g = nnclr_calloc(1, sizeof *g);
    if (!g) return NNCLR_ERR_NOMEM;
    g->n = n, g->c = c, g->h = h, g->w = w, g->k = k, g->need_dx = need_dx;
    set_tiling(&g->tl, winograd_tile(c, k), n, h, w);
    g->wide = wide_kernels(); /* c, k are multiples of the block (winograd_supported) */
    g->tg = g->wide || c + k > 64 ? 12 : 6;
    g->scratch_floats = (size_t)g->tl.npos * TG_MAX * (size_t)(c + k);
    g->u_fwd = nnclr_malloc((size_t)g->tl.npos * c * k * sizeof(float));
    g->u_bwd = need_dx ? nnclr_malloc((size_t)g->tl.npos * c * k * sizeof(float)) : NULL;
    if (!g->u_fwd || (need_dx && !g->u_bwd)) {
        winograd_free(g);
        return NNCLR_ERR_NOMEM;
    }
    *out = g;
    return NNCLR_OK;
}

/* ---- weight transforms */

/* u (4x4, stride su) = G g G^T for one 3x3 kernel g (element (a, b) at g[a * sa + b * sb]). */
static void transform_kernel(float *u, size_t su, const float *g, int sa, int sb) {
    float t[4][3];
    for (int b = 0; b < 3; b++) {
        float g0 = g[b * sb], g1 = g[sa + b * sb], g2 = g[2 * sa + b * sb];
        t[0][b] = g0;
        t[1][b] = 0.5f * (g0 + g1 + g2);
        t[2][b] = 0.5f * (g0 - g1 + g2);
        t[3][b] = g2;
    }
    for (int i = 0; i < 4; i++) {
        u[(4 * i + 0) * su] = t[i][0];
        u[(4 * i + 1) * su] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        u[(4 * i + 2) * su] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        u[(4 * i + 3) * su] = t[i][2];
    }
}

/* u (6x6, stride su) = G g G^T of F(4x4, 3x3) for one 3x3 kernel g. */
static void transform_kernel4(float *u, size_t su, const float *g, int sa, int sb) {
    float t[6][3];
    for (int b = 0; b < 3; b++) {
        float g0 = g[b * sb], g1 = g[sa + b * sb], g2 = g[2 * sa + b * sb];
        t[0][b] = g0 / 4.0f;
        t[1][b] = -(g0 + g1 + g2) / 6.0f;
        t[2][b] = -(g0 - g1 + g2) / 6.0f;
        t[3][b] = g0 / 24.0f + g1 / 12.0f + g2 / 6.0f;
        t[4][b] = g0 / 24.0f - g1 / 12.0f + g2 / 6.0f;
        t[5][b] = g2;
    }
    for (int i = 0; i < 6; i++) {
        float g0 = t[i][0], g1 = t[i][1], g2 = t[i][2];
        u[(6 * i + 0) * su] = g0 / 4.0f;
        u[(6 * i + 1) * su] = -(g0 + g1 + g2) / 6.0f;
        u[(6 * i + 2) * su] = -(g0 - g1 + g2) / 6.0f;
        u[(6 * i + 3) * su] = g0 / 24.0f + g1 / 12.0f + g2 / 6.0f;
        u[(6 * i + 4) * su] = g0 / 24.0f - g1 / 12.0f + g2 / 6.0f;
        u[(6 * i + 5) * su] = g2;
    }
}

void winograd_prepare(winograd *g, const float *w) {
    void (*tk)(float *, size_t, const float *, int, int) = g->tl.m == 4 ? transform_kernel4 : transform_kernel;
    int C = g->c, K = g->k;
    size_t plane = (size_t)C * K;
    /* forward: U[pos][c][k] from w[k][c] */
    for (int k = 0; k < K; k++)
        for (int c = 0; c < C; c++)
            tk(g->u_fwd + (size_t)c * K + k, plane, w + ((size_t)k * C + c) * 9, 3, 1);
    /* backward data: the kernel rotated by 180 degrees, input and output swapped:
     * U'[pos][k][c] from g'(a, b) = w[k][c][2 - a][2 - b]. */
    if (g->u_bwd)
        for (int k = 0; k < K; k++)
            for (int c = 0; c < C; c++)
                tk(g->u_bwd + (size_t)k * C + c, plane, w + ((size_t)k * C + c) * 9 + 8, -3, -1);
}

#ifdef WINOGRAD_X86

/* The vector kernels (transforms, products, passes) are written once, in winograd_kernels.inc,
 * and compiled twice: 8 lanes for AVX2 + FMA, 16 lanes for AVX-512 (used when activations are
 * in 16-channel blocks and both channel counts are multiples of 16). */

/* Image, tile row and tile column of the nt tiles from global tile t0 (no division per tile). */
static void tile_coords(int *tn, int *ty, int *tx, long t0, int nt, int tiles_h, int tiles_w) {
    long tpi = (long)tiles_h * tiles_w;
    int n = (int)(t0 / tpi), r = (int)(t0 % tpi), y = r / tiles_w, x = r % tiles_w;
    for (int t = 0; t < nt; t++) {
        tn[t] = n, ty[t] = y, tx[t] = x;
        if (++x == tiles_w) {
            x = 0;
            if (++y == tiles_h) y = 0, n++;
        }
    }
}

/* dg = G^T dU G of F(4x4, 3x3) added into dw (K, C, 3, 3); dU (36, c, k) summed already. */
static void weights_finish4(const winograd *g, const float *du, float *dw) {
    int c = g->c, k = g->k;
    size_t plane = (size_t)c * k;
    for (int ci = 0; ci < c; ci++)
        for (int ko = 0; ko < k; ko++) {
            float d[6][6], t[3][6];
            for (int pos = 0; pos < 36; pos++) d[pos / 6][pos % 6] = du[pos * plane + (size_t)ci * k + ko];
            for (int j = 0; j < 6; j++) {
                float s12 = d[1][j] + d[2][j], d12 = d[1][j] - d[2][j];
                float s34 = d[3][j] + d[4][j], d34 = d[3][j] - d[4][j];
                t[0][j] = d[0][j] / 4.0f - s12 / 6.0f + s34 / 24.0f;
                t[1][j] = -d12 / 6.0f + d34 / 12.0f;
                t[2][j] = -s12 / 6.0f + s34 / 6.0f + d[5][j];
            }
            float *o = dw + ((size_t)ko * c + ci) * 9;
            for (int i = 0; i < 3; i++) {
                float s12 = t[i][1] + t[i][2], d12 = t[i][1] - t[i][2];
                float s34 = t[i][3] + t[i][4], d34 = t[i][3] - t[i][4];
                o[3 * i + 0] += t[i][0] / 4.0f - s12 / 6.0f + s34 / 24.0f;
                o[3 * i + 1] += -d12 / 6.0f + d34 / 12.0f;
                o[3 * i + 2] += -s12 / 6.0f + s34 / 6.0f + t[i][5];
            }
        }
}

/* End of backward weights: the team's dU (team blocks of (16, c, k) from du) summed in thread
 * order, then dg = G^T dU G added into dw (K, C, 3, 3). */
static void weights_finish(const winograd *g, int team, float *du, float *dw) {
    int c = g->c, k = g->k;
    size_t plane = (size_t)c * k;
    const size_t np = (size_t)g->tl.npos;
    for (int t = 1; t < team; t++) {
        const float *o = du + (size_t)t * np * plane;
        for (size_t i = 0; i < np * plane; i++) du[i] += o[i];
    }
    if (g->tl.m == 4) {
        weights_finish4(g, du, dw);
        return;
    }
    for (int ci = 0; ci < c; ci++)
        for (int ko = 0; ko < k; ko++) {
            float d[4][4], t[3][4];
            for (int pos = 0; pos < 16; pos++) d[pos / 4][pos % 4] = du[pos * plane + (size_t)ci * k + ko];
            for (int j = 0; j < 4; j++) {
                t[0][j] = d[0][j] + 0.5f * (d[1][j] + d[2][j]);
                t[1][j] = 0.5f * (d[1][j] - d[2][j]);
                t[2][j] = 0.5f * (d[1][j] + d[2][j]) + d[3][j];
            }
            float *o = dw + ((size_t)ko * c + ci) * 9;
            for (int i = 0; i < 3; i++) {
                o[3 * i + 0] += t[i][0] + 0.5f * (t[i][1] + t[i][2]);
                o[3 * i + 1] += 0.5f * (t[i][1] - t[i][2]);
                o[3 * i + 2] += 0.5f * (t[i][1] + t[i][2]) + t[i][3];
            }
        }
}

#define W 8
#define SUFFIX 8
#define TARGET __attribute__((target("avx2,fma")))
#define VT __m256
#define VLOAD _mm256_loadu_ps
#define VSTORE _mm256_storeu_ps
#define VADD _mm256_add_ps
#define VSUB _mm256_sub_ps
#define VMUL _mm256_mul_ps
#define VZERO _mm256_setzero_ps
#define VSET1 _mm256_set1_ps
#define VFMADD _mm256_fmadd_ps
#define ROWS 6
#include "ops/winograd_kernels.inc"

#define W 16
#define SUFFIX 16
#define TARGET __attribute__((target("avx512f")))
#define VT __m512
#define VLOAD _mm512_loadu_ps
#define VSTORE _mm512_storeu_ps
#define VADD _mm512_add_ps
#define VSUB _mm512_sub_ps
#define VMUL _mm512_mul_ps
#define VZERO _mm512_setzero_ps
#define VSET1 _mm512_set1_ps
#define VFMADD _mm512_fmadd_ps
#define ROWS 12
#include "ops/winograd_kernels.inc"
#endif

/* Floats of pool a pass on nth threads needs: per-thread group scratch, and dU per thread for
 * weights. */
static size_t pass_floats(const winograd *g, int nth, int weights) {
    return (size_t)nth * (g->scratch_floats + (weights ? (size_t)g->tl.npos * g->c * g->k : 0));
}

nnclr_status winograd_forward(winograd *g, float *y, const float *x) {
#ifdef WINOGRAD_X86
    int nth = omp_get_max_threads();
    float *scratch = pool_acquire(pass_floats(g, nth, 0));
    if (!scratch) return NNCLR_ERR_NOMEM;
    (g->wide ? conv_pass16 : conv_pass8)(g, nth, scratch, y, x, g->u_fwd, g->c, g->k);
    pool_release();
    return NNCLR_OK;
#else
    (void)g, (void)y, (void)x;
    return nnclr_fail(NNCLR_ERR_ARG, "winograd: not built for this CPU");
#endif
}

nnclr_status winograd_backward_data(winograd *g, float *dx, const float *dy) {
    if (!g->u_bwd) return nnclr_fail(NNCLR_ERR_ARG, "winograd_backward_data: made with need_dx = 0");
#ifdef WINOGRAD_X86
    int nth = omp_get_max_threads();
    float *scratch = pool_acquire(pass_floats(g, nth, 0));
    if (!scratch) return NNCLR_ERR_NOMEM;
    (g->wide ? conv_pass16 : conv_pass8)(g, nth, scratch, dx, dy, g->u_bwd, g->k, g->c);
    pool_release();
    return NNCLR_OK;
#else
    (void)dx, (void)dy;
    return nnclr_fail(NNCLR_ERR_ARG, "winograd: not built for this CPU");
#endif
}

nnclr_status winograd_backward_weights(winograd *g, float *dw, const float *dy, const float *x) {
#ifdef WINOGRAD_X86
    int nth = omp_get_max_threads();
    float *scratch = pool_acquire(pass_floats(g, nth, 1));
    if (!scratch) return NNCLR_ERR_NOMEM;
    int team = (g->wide ? weights_pass16 : weights_pass8)(g, nth, scratch, dy, x);
    weights_finish(g, team, scratch + (size_t)nth * g->scratch_floats, dw);
    pool_release();
    return NNCLR_OK;
#else
    (void)g, (void)dw, (void)dy, (void)x;
    return nnclr_fail(NNCLR_ERR_ARG, "winograd: not built for this CPU");
#endif
}
