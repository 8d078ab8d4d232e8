/* winograd.c - F(2x2, 3x3) Winograd convolution on blocked nChw{B}c activations
 * (B = 8 or 16, core/dnn.h). See winograd.h.
 *
 * Layouts (c: input channels, k: output channels of the pass at hand):
 *   U[pos][c][k]      transformed weights, pos = 4 i + j of the 4x4 tile, k contiguous
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
 * 30, which amortises loading and storing the dU accumulators (27 against 32 ms with 6). */
#define TGW 30
#define TG_MAX 30

struct winograd {
    int n, c, h, w, k, need_dx;
    int tiles_h, tiles_w;
    long ntiles;
    int tg;          /* tiles per group, forward / backward data */
    float *u_fwd;    /* (16, C, K) */
    float *u_bwd;    /* (16, K, C) or NULL */
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
static int cpu_ok;
static void cpu_detect(void) {
    __builtin_cpu_init();
    cpu_ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
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

int winograd_preferred(int c, int k) { return winograd_supported(c, k) && c >= 32 && k >= 32; }

void winograd_free(winograd *g) {
    if (!g) return;
    free(g->u_fwd);
    free(g->u_bwd);
    free(g);
}

nnclr_status winograd_create(winograd **out, int n, int c, int h, int w, int k, int need_dx) {
    *out = NULL;
    if (n < 1 || h < 1 || w < 1 || !winograd_supported(c, k))
        return nnclr_fail(NNCLR_ERR_ARG, "winograd: unsupported shape n %d c %d %dx%d k %d", n, c, h, w, k);
    winograd *g = nnclr_calloc(1, sizeof *g);
    if (!g) return NNCLR_ERR_NOMEM;
    g->n = n, g->c = c, g->h = h, g->w = w, g->k = k, g->need_dx = need_dx;
    g->tiles_h = (h + 1) / 2;
    g->tiles_w = (w + 1) / 2;
    g->ntiles = (long)n * g->tiles_h * g->tiles_w;
    g->tg = c + k <= 64 ? 6 : 12;
    g->scratch_floats = (size_t)16 * TG_MAX * (size_t)(c + k);
    g->u_fwd = nnclr_malloc((size_t)16 * c * k * sizeof(float));
    g->u_bwd = need_dx ? nnclr_malloc((size_t)16 * c * k * sizeof(float)) : NULL;
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

void winograd_prepare(winograd *g, const float *w) {
    int C = g->c, K = g->k;
    size_t plane = (size_t)C * K;
    /* forward: U[pos][c][k] from w[k][c] */
    for (int k = 0; k < K; k++)
        for (int c = 0; c < C; c++)
            transform_kernel(g->u_fwd + (size_t)c * K + k, plane, w + ((size_t)k * C + c) * 9, 3, 1);
    /* backward data: the kernel rotated by 180 degrees, input and output swapped:
     * U'[pos][k][c] from g'(a, b) = w[k][c][2 - a][2 - b]. */
    if (g->u_bwd)
        for (int k = 0; k < K; k++)
            for (int c = 0; c < C; c++)
                transform_kernel(g->u_bwd + (size_t)k * C + c, plane, w + ((size_t)k * C + c) * 9 + 8, -3, -1);
}

#ifdef WINOGRAD_X86

#define TARGET __attribute__((target("avx2,fma")))

/* ---- input / output transforms (one 8-channel vector per tile element) */

/* The 8 channels [8 s, 8 s + 8) of image n in a blocked (N, C, H, W) tensor with block B:
 * pixel (y, x) of the slice is 8 floats at the result + (y w + x) B. */
static inline const float *slice8(const float *t, int n, int s, int c, int h, int w, int B) {
    return t + (((size_t)n * (c / B) + (size_t)(8 * s) / B) * h * w) * B + (size_t)(8 * s) % B;
}

/* V[pos] (pos stride vs floats) = B^T d B for the 4x4 patch of the tile at (ty, tx) of one
 * 8-channel slice img (pixel stride ps); pixels outside the image are 0. */
TARGET static inline void input_tile(float *v, size_t vs, const float *img, int ps, int h, int w,
                                     int ty, int tx) {
    __m256 d[4][4];
    int y0 = 2 * ty - 1, x0 = 2 * tx - 1;
    if (y0 >= 0 && x0 >= 0 && y0 + 3 < h && x0 + 3 < w) { /* interior: no bounds checks */
        const float *p = img + ((size_t)y0 * w + x0) * ps;
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) d[i][j] = _mm256_loadu_ps(p + ((size_t)i * w + j) * ps);
    } else { /* border: load a clamped (valid) pixel and mask it to 0, no branches */
        for (int i = 0; i < 4; i++) {
            int yy = y0 + i, yok = yy >= 0 && yy < h;
            int yc = yy < 0 ? 0 : yy >= h ? h - 1 : yy;
            for (int j = 0; j < 4; j++) {
                int xx = x0 + j, ok = yok && xx >= 0 && xx < w;
                int xc = xx < 0 ? 0 : xx >= w ? w - 1 : xx;
                __m256 mask = _mm256_castsi256_ps(_mm256_set1_epi32(-ok));
                d[i][j] = _mm256_and_ps(_mm256_loadu_ps(img + ((size_t)yc * w + xc) * ps), mask);
            }
        }
    }
    __m256 r[4][4];
    for (int j = 0; j < 4; j++) {
        r[0][j] = _mm256_sub_ps(d[0][j], d[2][j]);
        r[1][j] = _mm256_add_ps(d[1][j], d[2][j]);
        r[2][j] = _mm256_sub_ps(d[2][j], d[1][j]);
        r[3][j] = _mm256_sub_ps(d[1][j], d[3][j]);
    }
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(v + (4 * i + 0) * vs, _mm256_sub_ps(r[i][0], r[i][2]));
        _mm256_storeu_ps(v + (4 * i + 1) * vs, _mm256_add_ps(r[i][1], r[i][2]));
        _mm256_storeu_ps(v + (4 * i + 2) * vs, _mm256_sub_ps(r[i][2], r[i][1]));
        _mm256_storeu_ps(v + (4 * i + 3) * vs, _mm256_sub_ps(r[i][1], r[i][3]));
    }
}

/* The 2x2 outputs A^T m A of tile (ty, tx) of one 8-channel slice img (pixel stride ps), from
 * m[pos] (pos stride ms); rows/columns outside the image are not written. */
TARGET static inline void output_tile(float *img, const float *m, size_t ms, int ps, int h, int w,
                                      int ty, int tx) {
    __m256 s[2][4];
    for (int j = 0; j < 4; j++) {
        __m256 m0 = _mm256_loadu_ps(m + (0 + j) * ms), m1 = _mm256_loadu_ps(m + (4 + j) * ms);
        __m256 m2 = _mm256_loadu_ps(m + (8 + j) * ms), m3 = _mm256_loadu_ps(m + (12 + j) * ms);
        s[0][j] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
        s[1][j] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
    }
    for (int i = 0; i < 2; i++) {
        int yy = 2 * ty + i;
        if (yy >= h) break;
        __m256 o0 = _mm256_add_ps(_mm256_add_ps(s[i][0], s[i][1]), s[i][2]);
        __m256 o1 = _mm256_sub_ps(_mm256_sub_ps(s[i][1], s[i][2]), s[i][3]);
        float *row = img + ((size_t)yy * w + 2 * tx) * ps;
        _mm256_storeu_ps(row, o0);
        if (2 * tx + 1 < w) _mm256_storeu_ps(row + ps, o1);
    }
}

/* The 4x4 A dY A^T of the 2x2 gradient tile (ty, tx) of one 8-channel slice img (pixel stride
 * ps), into yh[pos] (pos stride ys); gradient rows/columns outside the image count as 0. */
TARGET static inline void grad_tile(float *yh, size_t ys, const float *img, int ps, int h, int w,
                                    int ty, int tx) {
    __m256 e[2][2];
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            int yy = 2 * ty + a, xx = 2 * tx + b;
            e[a][b] = (yy < h && xx < w) ? _mm256_loadu_ps(img + ((size_t)yy * w + xx) * ps) : _mm256_setzero_ps();
        }
    __m256 z[4][2];
    for (int b = 0; b < 2; b++) {
        z[0][b] = e[0][b];
        z[1][b] = _mm256_add_ps(e[0][b], e[1][b]);
        z[2][b] = _mm256_sub_ps(e[0][b], e[1][b]);
        z[3][b] = _mm256_sub_ps(_mm256_setzero_ps(), e[1][b]);
    }
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(yh + (4 * i + 0) * ys, z[i][0]);
        _mm256_storeu_ps(yh + (4 * i + 1) * ys, _mm256_add_ps(z[i][0], z[i][1]));
        _mm256_storeu_ps(yh + (4 * i + 2) * ys, _mm256_sub_ps(z[i][0], z[i][1]));
        _mm256_storeu_ps(yh + (4 * i + 3) * ys, _mm256_sub_ps(_mm256_setzero_ps(), z[i][1]));
    }
}

/* ---- the 16 matrix products */

/* out (rows, 8 kv) (+)= A (rows, len) x B (len, 8 kv) for rows <= 6 and kv = 1 or 2 vectors:
 * element (r, i) of A at a[r * ar + i * ai], row i of B at b + i * bs, row r of out at
 * out + r * os; add = 0 overwrites out, 1 adds to it. Inlined with constant rows, kv and add
 * so the accumulators stay in registers. Both products of the file are this kernel: forward
 * M = V U (A = V read by rows, add 0) and backward weights dU += V^T Yh (A = V read by
 * columns, add 1). */
TARGET static inline __attribute__((always_inline)) void fma_block(float *out, size_t os, const float *a, size_t ar,
                                                            size_t ai, const float *b, size_t bs, int len,
                                                            int rows, int kv, int add) {
    __m256 acc[6][2];
    for (int r = 0; r < rows; r++) {
        acc[r][0] = add ? _mm256_loadu_ps(out + (size_t)r * os) : _mm256_setzero_ps();
        acc[r][1] = add && kv > 1 ? _mm256_loadu_ps(out + (size_t)r * os + 8) : _mm256_setzero_ps();
    }
    for (int i = 0; i < len; i++) {
        __m256 b0 = _mm256_loadu_ps(b + (size_t)i * bs);
        __m256 b1 = kv > 1 ? _mm256_loadu_ps(b + (size_t)i * bs + 8) : b0;
        for (int r = 0; r < rows; r++) {
            __m256 x = _mm256_broadcast_ss(a + (size_t)r * ar + (size_t)i * ai);
            acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
            if (kv > 1) acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
        }
    }
    for (int r = 0; r < rows; r++) {
        _mm256_storeu_ps(out + (size_t)r * os, acc[r][0]);
        if (kv > 1) _mm256_storeu_ps(out + (size_t)r * os + 8, acc[r][1]);
    }
}

/* out rows [r0, r0 + rows) of a (nrows, k) product, every column block (16, then 8). */
#define ROW_BLOCK(rows)                                                                            \
    do {                                                                                           \
        int j = 0;                                                                                 \
        for (; j + 16 <= k; j += 16)                                                               \
            fma_block(out + r0 * os + j, os, a + r0 * ar, ar, ai, b + j, bs, len, rows, 2, add);   \
        if (j < k) fma_block(out + r0 * os + j, os, a + r0 * ar, ar, ai, b + j, bs, len, rows, 1, add); \
    } while (0)

/* out (nrows, k) (+)= A (nrows, len) x B (len, k), k a multiple of 8: blocks of 6 rows, then one
 * block of the remaining 1-5 (16 channels: 6 + 6 + 4). Strides as in fma_block. */
TARGET static inline __attribute__((always_inline)) void fma_rows(float *out, size_t os, const float *a, size_t ar,
                                                           size_t ai, const float *b, size_t bs, int len,
                                                           int nrows, int k, int add) {
    size_t r0 = 0;
    for (; r0 + 6 <= (size_t)nrows; r0 += 6) ROW_BLOCK(6);
    switch (nrows - (int)r0) {
    case 5: ROW_BLOCK(5); break;
    case 4: ROW_BLOCK(4); break;
    case 3: ROW_BLOCK(3); break;
    case 2: ROW_BLOCK(2); break;
    case 1: ROW_BLOCK(1); break;
    default: break;
    }
}
#undef ROW_BLOCK

/* M (nt, K) = V (nt, C) x U (C, K) for one tile position. */
TARGET static void gemm_pos(float *m, const float *v, const float *u, int nt, int c, int k) {
    fma_rows(m, (size_t)k, v, (size_t)c, 1, u, (size_t)k, c, nt, k, 0);
}

/* dU (C, K) += V^T (C, nt) x Yh (nt, K) for one tile position. */
TARGET static void gemm_wpos(float *du, const float *v, const float *yh, int nt, int c, int k) {
    fma_rows(du, (size_t)k, v, 1, (size_t)c, yh, (size_t)k, nt, c, k, 1);
}

/* ---- passes */

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

/* y (N, K, H, W) = conv3x3(x (N, C, H, W)) with transformed weights u (16, C, K). */
/* The passes run on nth threads (OpenMP's count at the call); scratch holds nth per-thread
 * blocks of scratch_floats (then nth dU blocks for weights). */
TARGET static void conv_pass(const winograd *g, int nth, float *scratch, float *y, const float *x, const float *u,
                             int c, int k) {
    int h = g->h, w = g->w, tw = g->tiles_w;
    const int TG = g->tg;
    long ngroups = (g->ntiles + TG - 1) / TG;
    int cb = c / 8, kb = k / 8, B = dnn_cblock();
    #pragma omp parallel num_threads(nth)
    {
        float *v = scratch + (size_t)omp_get_thread_num() * g->scratch_floats; /* (16, TG, c) */
        float *m = v + (size_t)16 * TG * c;                                       /* (16, TG, k) */
        #pragma omp for schedule(dynamic, 1)
        for (long grp = 0; grp < ngroups; grp++) {
            long t0 = grp * TG;
            int nt = (int)(g->ntiles - t0 < TG ? g->ntiles - t0 : TG);
            int tn[TG_MAX], ty[TG_MAX], tx[TG_MAX];
            tile_coords(tn, ty, tx, t0, nt, g->tiles_h, tw);
            for (int t = 0; t < nt; t++)
                for (int b = 0; b < cb; b++)
                    input_tile(v + (size_t)t * c + b * 8, (size_t)TG * c, slice8(x, tn[t], b, c, h, w, B), B,
                               h, w, ty[t], tx[t]);
            for (int pos = 0; pos < 16; pos++)
                gemm_pos(m + (size_t)pos * TG * k, v + (size_t)pos * TG * c, u + (size_t)pos * c * k, nt, c, k);
            for (int t = 0; t < nt; t++)
                for (int b = 0; b < kb; b++)
                    output_tile((float *)slice8(y, tn[t], b, k, h, w, B), m + (size_t)t * k + b * 8, (size_t)TG * k,
                                B, h, w, ty[t], tx[t]);
        }
    }
}

TARGET static void weights_pass(const winograd *g, int nth, float *scratch, float *dw, const float *dy,
                                const float *x) {
    int h = g->h, w = g->w, tw = g->tiles_w;
    int c = g->c, k = g->k, cb = c / 8, kb = k / 8, B = dnn_cblock();
    long ngroups = (g->ntiles + TGW - 1) / TGW;
    size_t plane = (size_t)c * k;
    int team = 1;
    #pragma omp parallel num_threads(nth)
    {
        int tid = omp_get_thread_num(), cnt = omp_get_num_threads();
        #pragma omp single
        team = cnt;
        float *v = scratch + (size_t)tid * g->scratch_floats; /* (16, TGW, c) */
        float *yh = v + (size_t)16 * TGW * c;                    /* (16, TGW, k) */
        float *du = scratch + (size_t)nth * g->scratch_floats + (size_t)tid * 16 * plane; /* (16, c, k) */
        memset(du, 0, 16 * plane * sizeof(float));
        long lo = ngroups * tid / cnt, hi = ngroups * (tid + 1) / cnt;
        for (long grp = lo; grp < hi; grp++) {
            long t0 = grp * TGW;
            int nt = (int)(g->ntiles - t0 < TGW ? g->ntiles - t0 : TGW);
            int tn[TG_MAX], ty[TG_MAX], tx[TG_MAX];
            tile_coords(tn, ty, tx, t0, nt, g->tiles_h, tw);
            for (int t = 0; t < nt; t++) {
                for (int b = 0; b < cb; b++)
                    input_tile(v + (size_t)t * c + b * 8, (size_t)TGW * c, slice8(x, tn[t], b, c, h, w, B), B,
                               h, w, ty[t], tx[t]);
                for (int b = 0; b < kb; b++)
                    grad_tile(yh + (size_t)t * k + b * 8, (size_t)TGW * k, slice8(dy, tn[t], b, k, h, w, B), B,
                              h, w, ty[t], tx[t]);
            }
            for (int pos = 0; pos < 16; pos++)
                gemm_wpos(du + (size_t)pos * plane, v + (size_t)pos * TGW * c, yh + (size_t)pos * TGW * k, nt, c, k);
        }
    }
    /* Sum the threads' dU in thread order, then dg = G^T dU G into dw (K, C, 3, 3). */
    float *du = scratch + (size_t)nth * g->scratch_floats;
    for (int t = 1; t < team; t++) {
        const float *o = du + (size_t)t * 16 * plane;
        for (size_t i = 0; i < 16 * plane; i++) du[i] += o[i];
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
#endif

/* Floats of pool a pass on nth threads needs: per-thread group scratch, and dU per thread for
 * weights. */
static size_t pass_floats(const winograd *g, int nth, int weights) {
    return (size_t)nth * (g->scratch_floats + (weights ? (size_t)16 * g->c * g->k : 0));
}

nnclr_status winograd_forward(winograd *g, float *y, const float *x) {
#ifdef WINOGRAD_X86
    int nth = omp_get_max_threads();
    float *scratch = pool_acquire(pass_floats(g, nth, 0));
    if (!scratch) return NNCLR_ERR_NOMEM;
    conv_pass(g, nth, scratch, y, x, g->u_fwd, g->c, g->k);
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
    conv_pass(g, nth, scratch, dx, dy, g->u_bwd, g->k, g->c);
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
    weights_pass(g, nth, scratch, dw, dy, x);
    pool_release();
    return NNCLR_OK;
#else
    (void)g, (void)dw, (void)dy, (void)x;
    return nnclr_fail(NNCLR_ERR_ARG, "winograd: not built for this CPU");
#endif
}
