/* augment.c - BYOL's augmentation recipe on float CHW images, matching torchvision 0.14's tensor
 * ops. The loader calls augment_apply() once per view; everything runs in the calling thread
 * with no allocation (scratch lives on the stack), so worker threads can share one config.
 * See augment.h for the order of the ops and the per-view asymmetry. */
#include "data/augment.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/status.h"

/* ITU-R 601-2 luma as torchvision's rgb_to_grayscale writes it (0.2989, not 0.299). */
#define LUMA_R 0.2989f
#define LUMA_G 0.587f
#define LUMA_B 0.114f

/* Stack scratch of the blur (floats): one padded row, or a strip of padded columns. */
#define BLUR_SCRATCH 16384

static inline float clamp01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }

/* uint8 -> float exactly as torchvision's to_tensor: v / 255 in float (folded at compile time
 * with the same rounding). */
#define U8F_1(i) (float)(i) / 255.0f
#define U8F_4(i) U8F_1(i), U8F_1((i) + 1), U8F_1((i) + 2), U8F_1((i) + 3)
#define U8F_16(i) U8F_4(i), U8F_4((i) + 4), U8F_4((i) + 8), U8F_4((i) + 12)
#define U8F_64(i) U8F_16(i), U8F_16((i) + 16), U8F_16((i) + 32), U8F_16((i) + 48)
static const float u8_to_float[256] = {U8F_64(0), U8F_64(64), U8F_64(128), U8F_64(192)};

/* ------------------------------------------------------------------------------------------ */
/* presets */

static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
static const float imagenet_std[3] = {0.229f, 0.224f, 0.225f};
static const float cifar_mean[3] = {0.4914f, 0.4822f, 0.4465f};
static const float cifar_std[3] = {0.2470f, 0.2435f, 0.2616f};
static const float fmnist_mean = 0.2860f, fmnist_std = 0.3530f;

static void set_stats(augment_config *cfg, const float *mean, const float *std) {
    for (int i = 0; i < 3; i++) cfg->mean[i] = mean[i], cfg->std[i] = std[i];
}

/* Mean/std for the presets not tied to a data set: Fashion-MNIST for 1 channel, CIFAR for
 * 32 x 32 colour, ImageNet otherwise. Callers with other data override cfg->mean/std. */
static void set_default_stats(augment_config *cfg) {
    if (cfg->channels == 1) {
        float m[3] = {fmnist_mean, fmnist_mean, fmnist_mean}, s[3] = {fmnist_std, fmnist_std, fmnist_std};
        set_stats(cfg, m, s);
    } else if (cfg->size == 32) {
        set_stats(cfg, cifar_mean, cifar_std);
    } else {
        set_stats(cfg, imagenet_mean, imagenet_std);
    }
}

/* BYOL's recipe: every op on, asymmetric blur and solarize. */
static void set_byol(augment_config *cfg) {
    cfg->scale_min = 0.08f, cfg->scale_max = 1.0f;
    cfg->ratio_min = 3.0f / 4.0f, cfg->ratio_max = 4.0f / 3.0f;
    cfg->flip_p = 0.5f;
    cfg->jitter_p = 0.8f;
    cfg->brightness = 0.4f, cfg->contrast = 0.4f, cfg->saturation = 0.2f, cfg->hue = 0.1f;
    cfg->gray_p = 0.2f;
    cfg->blur_p[0] = 1.0f, cfg->blur_p[1] = 0.1f;
    cfg->blur_sigma_min = 0.1f, cfg->blur_sigma_max = 2.0f;
    cfg->blur_kernel = 0;
    cfg->solarize_p[0] = 0.0f, cfg->solarize_p[1] = 0.2f;
    cfg->solarize_threshold = 0.5f;
}

static void set_no_color(augment_config *cfg) {
    cfg->jitter_p = 0, cfg->brightness = cfg->contrast = cfg->saturation = cfg->hue = 0;
    cfg->gray_p = 0;
    cfg->blur_p[0] = cfg->blur_p[1] = 0;
    cfg->solarize_p[0] = cfg->solarize_p[1] = 0;
}

nnclr_status augment_preset(augment_config *cfg, const char *name, int channels, int out_size) {
    if (!cfg || !name) return nnclr_fail(NNCLR_ERR_ARG, "augment_preset: NULL argument");
    if (channels != 1 && channels != 3)
        return nnclr_fail(NNCLR_ERR_ARG, "augment_preset: channels must be 1 or 3, got %d", channels);
    if (out_size < 0) return nnclr_fail(NNCLR_ERR_ARG, "augment_preset: output size %d < 0", out_size);
    memset(cfg, 0, sizeof *cfg);
    set_byol(cfg);
    cfg->channels = channels;
    cfg->size = out_size;
    int colour = 0;
    if (strcmp(name, "imagenet") == 0) {
        colour = 1;
        if (!cfg->size) cfg->size = 224;
        set_stats(cfg, imagenet_mean, imagenet_std);
    } else if (strcmp(name, "cifar") == 0) {
        /* solo-learn's CIFAR settings: no blur at 32 x 32, solarize 0 / 0.2. */
        colour = 1;
        if (!cfg->size) cfg->size = 32;
        cfg->blur_p[0] = cfg->blur_p[1] = 0;
        set_stats(cfg, cifar_mean, cifar_std);
    } else if (strcmp(name, "gray") == 0) {
        if (channels != 1)
            return nnclr_fail(NNCLR_ERR_ARG, "augment_preset: 'gray' is a 1-channel preset, got %d channels",
                              channels);
        cfg->saturation = cfg->hue = 0;
        cfg->gray_p = 0;
        cfg->blur_p[0] = cfg->blur_p[1] = 0;
        set_default_stats(cfg);
    } else if (strcmp(name, "crop-only") == 0) {
        set_no_color(cfg);
        set_default_stats(cfg);
    } else if (strcmp(name, "eval") == 0) {
        set_no_color(cfg);
        cfg->flip_p = 0;
        cfg->deterministic = 1;
        /* ImageNet-scale outputs get Resize(256) + CenterCrop(224), i.e. shorter side S * 8 / 7;
         * small fixed-size data (CIFAR, STL-10, MNIST) is only normalised. */
        cfg->eval_resize = cfg->size >= 128 ? (cfg->size * 8 + 6) / 7 : 0;
        set_default_stats(cfg);
    } else {
        return nnclr_fail(NNCLR_ERR_ARG,
                          "unknown augmentation preset '%s' (imagenet, cifar, gray, crop-only, eval)", name);
    }
    if (colour && channels != 3)
        return nnclr_fail(NNCLR_ERR_ARG, "augment_preset: '%s' needs 3 output channels (use 'gray')", name);
    snprintf(cfg->name, sizeof cfg->name, "%s", name);
    return NNCLR_OK;
}

static int prob_ok(float p) { return p >= 0.0f && p <= 1.0f; }

nnclr_status augment_check(const augment_config *cfg) {
    if (cfg->channels != 1 && cfg->channels != 3)
        return nnclr_fail(NNCLR_ERR_ARG, "augment: channels must be 1 or 3, got %d", cfg->channels);
    if (cfg->size < 0 || cfg->size > 4096)
        return nnclr_fail(NNCLR_ERR_ARG, "augment: size %d not in [0, 4096]", cfg->size);
    if (cfg->eval_resize != 0 && cfg->eval_resize < cfg->size)
        return nnclr_fail(NNCLR_ERR_ARG, "augment: eval resize %d smaller than the crop %d", cfg->eval_resize,
                          cfg->size);
    if (!(cfg->scale_min > 0 && cfg->scale_min <= cfg->scale_max && cfg->scale_max <= 1))
        return nnclr_fail(NNCLR_ERR_ARG, "augment: crop scale (%g, %g) not within (0, 1] and ordered",
                          cfg->scale_min, cfg->scale_max);
    if (!(cfg->ratio_min > 0 && cfg->ratio_min <= cfg->ratio_max))
        return nnclr_fail(NNCLR_ERR_ARG, "augment: crop ratio (%g, %g) not positive and ordered", cfg->ratio_min,
                          cfg->ratio_max);
    if (!prob_ok(cfg->flip_p) || !prob_ok(cfg->jitter_p) || !prob_ok(cfg->gray_p) || !prob_ok(cfg->blur_p[0]) ||
        !prob_ok(cfg->blur_p[1]) || !prob_ok(cfg->solarize_p[0]) || !prob_ok(cfg->solarize_p[1]))
        return nnclr_fail(NNCLR_ERR_ARG, "augment: a probability is outside [0, 1]");
    if (!(cfg->brightness >= 0 && cfg->contrast >= 0 && cfg->saturation >= 0 && cfg->hue >= 0 && cfg->hue <= 0.5f))
        return nnclr_fail(NNCLR_ERR_ARG, "augment: jitter strengths must be >= 0 and hue <= 0.5");
    if (!(cfg->blur_sigma_min > 0 && cfg->blur_sigma_min <= cfg->blur_sigma_max))
        return nnclr_fail(NNCLR_ERR_ARG, "augment: blur sigma (%g, %g) not positive and ordered",
                          cfg->blur_sigma_min, cfg->blur_sigma_max);
    if (cfg->blur_kernel < 0 || (cfg->blur_kernel > 0 && cfg->blur_kernel % 2 == 0) || cfg->blur_kernel > 255)
        return nnclr_fail(NNCLR_ERR_ARG, "augment: blur kernel %d must be 0 (auto) or odd <= 255", cfg->blur_kernel);
    for (int i = 0; i < cfg->channels; i++)
        if (!(cfg->std[i] > 0)) return nnclr_fail(NNCLR_ERR_ARG, "augment: std[%d] = %g must be > 0", i, cfg->std[i]);
    return NNCLR_OK;
}

int augment_blur_kernel(const augment_config *cfg, int size) {
    int k = cfg->blur_kernel > 0 ? cfg->blur_kernel : (int)(0.1 * size);
    if (k % 2 == 0) k += 1;
    while (k > 1 && k / 2 >= size) k -= 2;  /* reflect padding must stay inside the image */
    return k;
}

/* ------------------------------------------------------------------------------------------ */
/* random choices */

static float uniform_range(rng_state *rng, float lo, float hi) { return lo + (hi - lo) * rng_uniform(rng); }

void aug_sample_crop(rng_state *rng, int h, int w, float scale_min, float scale_max, float ratio_min,
                     float ratio_max, int *top, int *left, int *crop_h, int *crop_w) {
    double area = (double)h * w;
    double log_lo = log((double)ratio_min), log_hi = log((double)ratio_max);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * (scale_min + (scale_max - scale_min) * rng_uniform_double(rng));
        double aspect = exp(log_lo + (log_hi - log_lo) * rng_uniform_double(rng));
        /* Python's round() is round-half-even, as rint() in the default rounding mode. */
        int cw = (int)rint(sqrt(target * aspect));
        int ch = (int)rint(sqrt(target / aspect));
        if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
            *top = (int)rng_below(rng, (uint64_t)(h - ch + 1));
            *left = (int)rng_below(rng, (uint64_t)(w - cw + 1));
            *crop_h = ch, *crop_w = cw;
            return;
        }
    }
    double in_ratio = (double)w / h;
    int cw = w, ch = h;
    if (in_ratio < ratio_min) {
        ch = (int)rint(w / (double)ratio_min);
    } else if (in_ratio > ratio_max) {
        cw = (int)rint(h * (double)ratio_max);
    }
    *top = (h - ch) / 2, *left = (w - cw) / 2;
    *crop_h = ch, *crop_w = cw;
}

/* Fisher-Yates, the distribution of torch.randperm(4). */
static void shuffle4(rng_state *rng, int *order) {
    for (int i = 0; i < 4; i++) order[i] = i;
    for (int i = 3; i > 0; i--) {
        int j = (int)rng_below(rng, (uint64_t)i + 1), t = order[i];
        order[i] = order[j], order[j] = t;
    }
}

void augment_sample(const augment_config *cfg, int view, int h, int w, rng_state *rng, aug_params *p) {
    NNCLR_ASSERT(view == 0 || view == 1);
    memset(p, 0, sizeof *p);
    aug_sample_crop(rng, h, w, cfg->scale_min, cfg->scale_max, cfg->ratio_min, cfg->ratio_max, &p->top, &p->left,
                    &p->crop_h, &p->crop_w);
    p->flip = rng_uniform(rng) < cfg->flip_p;
    p->jitter = rng_uniform(rng) < cfg->jitter_p;
    if (p->jitter) {
        /* ColorJitter.get_params: the permutation, then the four factors. */
        int perm[4], on[4] = {cfg->brightness > 0, cfg->contrast > 0, cfg->saturation > 0, cfg->hue > 0};
        shuffle4(rng, perm);
        float b = cfg->brightness, c = cfg->contrast, s = cfg->saturation;
        p->brightness = uniform_range(rng, fmaxf(0.0f, 1.0f - b), 1.0f + b);
        p->contrast = uniform_range(rng, fmaxf(0.0f, 1.0f - c), 1.0f + c);
        p->saturation = uniform_range(rng, fmaxf(0.0f, 1.0f - s), 1.0f + s);
        p->hue = uniform_range(rng, -cfg->hue, cfg->hue);
        for (int i = 0; i < 4; i++)
            if (on[perm[i]]) p->order[p->n_ops++] = perm[i];
    }
    p->gray = rng_uniform(rng) < cfg->gray_p;
    p->blur = rng_uniform(rng) < cfg->blur_p[view];
    if (p->blur) p->sigma = uniform_range(rng, cfg->blur_sigma_min, cfg->blur_sigma_max);
    p->solarize = rng_uniform(rng) < cfg->solarize_p[view];
}

/* ------------------------------------------------------------------------------------------ */
/* bilinear resize (PyTorch's upsample_bilinear2d, align_corners=False, no antialias) */

/* Source taps of output index o for a length-n input resized to length `out`, in float as
 * ATen's compute_source_index_and_lambda. */
static inline void linear_taps(int o, int n, int out, int *i0, int *i1, float *l0, float *l1) {
    if (n == out) {
        *i0 = *i1 = o, *l0 = 1.0f, *l1 = 0.0f;
        return;
    }
    float scale = (float)n / (float)out;
    float src = scale * ((float)o + 0.5f) - 0.5f;
    if (src < 0) src = 0;
    int a = (int)src;
    if (a > n - 1) a = n - 1;
    float lam = src - (float)a;
    lam = lam < 0 ? 0 : (lam > 1 ? 1 : lam);
    *i0 = a, *i1 = a + (a < n - 1 ? 1 : 0);
    *l1 = lam, *l0 = 1.0f - lam;
}

void aug_resized_crop(float *out, const float *in, int c, int h, int w, int top, int left, int ch, int cw,
                      int oh, int ow) {
    NNCLR_ASSERT(top >= 0 && left >= 0 && ch > 0 && cw > 0 && top + ch <= h && left + cw <= w);
    int xi0[ow], xi1[ow];
    float xl0[ow], xl1[ow];
    for (int x = 0; x < ow; x++) linear_taps(x, cw, ow, &xi0[x], &xi1[x], &xl0[x], &xl1[x]);
    for (int k = 0; k < c; k++) {
        const float *plane = in + (size_t)k * h * w;
        for (int y = 0; y < oh; y++) {
            int y0, y1;
            float wy0, wy1;
            linear_taps(y, ch, oh, &y0, &y1, &wy0, &wy1);
            const float *r0 = plane + (size_t)(top + y0) * w + left, *r1 = plane + (size_t)(top + y1) * w + left;
            float *o = out + ((size_t)k * oh + y) * ow;
            for (int x = 0; x < ow; x++) {
                float t0 = r0[xi0[x]] * xl0[x] + r0[xi1[x]] * xl1[x];
                float t1 = r1[xi0[x]] * xl0[x] + r1[xi1[x]] * xl1[x];
                o[x] = t0 * wy0 + t1 * wy1;
            }
        }
    }
}

/* One source row interpolated along x for every output column: dst (c_in, sw). */
static void resize_row_u8(float *dst, const uint8_t *row, int c_in, int sw, const int *xi0, const int *xi1,
                          const float *xl0, const float *xl1) {
    const float *lut = u8_to_float;
    for (int k = 0; k < c_in; k++) {
        float *d = dst + (size_t)k * sw;
        for (int x = 0; x < sw; x++) d[x] = lut[row[xi0[x] + k]] * xl0[x] + lut[row[xi1[x] + k]] * xl1[x];
    }
}

/* Computes rows [oy0, oy0 + sh) and columns [ox0, ox0 + sw) of the (oh, ow) bilinear resize of
 * the window (top, left, ch, cw) of a uint8 HWC image. out: (c_out, sh, sw).
 * Separable as ATen evaluates it, (a wx0 + b wx1) wy0 + (c wx0 + d wx1) wy1: each source row is
 * interpolated along x once and kept while consecutive output rows reuse it (upscaling). */
static void resize_u8_window(float *out, const uint8_t *in, int c_in, int h, int w, int top, int left, int ch,
                             int cw, int oh, int ow, int oy0, int ox0, int sh, int sw, int c_out, int flip) {
    NNCLR_ASSERT(top >= 0 && left >= 0 && ch > 0 && cw > 0 && top + ch <= h && left + cw <= w);
    NNCLR_ASSERT(oy0 >= 0 && ox0 >= 0 && oy0 + sh <= oh && ox0 + sw <= ow && sw <= 8192);
    int xi0[sw], xi1[sw];
    float xl0[sw], xl1[sw];
    for (int x = 0; x < sw; x++) {
        int src_x = flip ? sw - 1 - x : x;
        linear_taps(ox0 + src_x, cw, ow, &xi0[x], &xi1[x], &xl0[x], &xl1[x]);
        xi0[x] = (xi0[x] + left) * c_in, xi1[x] = (xi1[x] + left) * c_in;
    }
    float rows[2][c_in * sw], mix[c_in * sw];
    int tag[2] = {-1, -1};
    size_t plane = (size_t)sh * sw;
    for (int y = 0; y < sh; y++) {
        int y0, y1;
        float wy0, wy1;
        linear_taps(oy0 + y, ch, oh, &y0, &y1, &wy0, &wy1);
        int want[2] = {y0, y1}, slot[2];
        for (int j = 0; j < 2; j++) {
            slot[j] = tag[0] == want[j] ? 0 : (tag[1] == want[j] ? 1 : -1);
            if (slot[j] < 0) {
                int other = j == 0 ? want[1] : want[0];
                slot[j] = tag[0] == other ? 1 : 0;
                if (j == 1 && slot[0] == slot[j]) slot[j] = 1 - slot[j];
                resize_row_u8(rows[slot[j]], in + (size_t)(top + want[j]) * w * c_in, c_in, sw, xi0, xi1, xl0, xl1);
                tag[slot[j]] = want[j];
            }
        }
        const float *t0 = rows[slot[0]], *t1 = rows[slot[1]];
        if (c_in == c_out) {
            for (int k = 0; k < c_in; k++) {
                float *o = out + k * plane + (size_t)y * sw;
                const float *a = t0 + (size_t)k * sw, *b = t1 + (size_t)k * sw;
                for (int x = 0; x < sw; x++) o[x] = a[x] * wy0 + b[x] * wy1;
            }
        } else if (c_in == 1) {
            float *o = out + (size_t)y * sw;
            for (int x = 0; x < sw; x++) o[x] = t0[x] * wy0 + t1[x] * wy1;
            for (int k = 1; k < c_out; k++) memcpy(out + k * plane + (size_t)y * sw, o, (size_t)sw * sizeof *o);
        } else {
            /* 3 -> 1: luma of the resized colour pixel (resize and luma are both linear). */
            for (int x = 0; x < 3 * sw; x++) mix[x] = t0[x] * wy0 + t1[x] * wy1;
            float *o = out + (size_t)y * sw;
            for (int x = 0; x < sw; x++) o[x] = LUMA_R * mix[x] + LUMA_G * mix[sw + x] + LUMA_B * mix[2 * sw + x];
        }
    }
}

void aug_resized_crop_u8(float *out, const uint8_t *in, int c_in, int h, int w, int top, int left, int ch,
                         int cw, int oh, int ow, int c_out, int flip) {
    NNCLR_ASSERT((c_in == 1 || c_in == 3) && (c_out == 1 || c_out == 3));
    resize_u8_window(out, in, c_in, h, w, top, left, ch, cw, oh, ow, 0, 0, oh, ow, c_out, flip);
}

/* ------------------------------------------------------------------------------------------ */
/* pixel ops, in place on (c, h, w) */

void aug_hflip(float *x, int c, int h, int w) {
    for (int r = 0; r < c * h; r++) {
        float *row = x + (size_t)r * w;
        for (int i = 0, j = w - 1; i < j; i++, j--) {
            float t = row[i];
            row[i] = row[j], row[j] = t;
        }
    }
}

/* _blend(img1, img2, ratio) = clamp(ratio img1 + (1 - ratio) img2, 0, 1); the (1 - ratio) is
 * formed in double and rounded to float, as a Python scalar is. */
static inline float blend(float a, float b, float ratio, float one_minus) { return clamp01(ratio * a + one_minus * b); }

void aug_adjust_brightness(float *x, int c, int h, int w, float factor) {
    size_t n = (size_t)c * h * w;
    for (size_t i = 0; i < n; i++) x[i] = clamp01(factor * x[i]);
}

void aug_adjust_contrast(float *x, int c, int h, int w, float factor) {
    size_t hw = (size_t)h * w, n = (size_t)c * hw;
    double sum = 0;
    if (c == 3) {
        for (size_t i = 0; i < hw; i++) sum += LUMA_R * x[i] + LUMA_G * x[hw + i] + LUMA_B * x[2 * hw + i];
        sum /= (double)hw;
    } else {
        for (size_t i = 0; i < n; i++) sum += x[i];
        sum /= (double)n;
    }
    float mean = (float)sum, one_minus = (float)(1.0 - (double)factor);
    for (size_t i = 0; i < n; i++) x[i] = blend(x[i], mean, factor, one_minus);
}

void aug_adjust_saturation(float *x, int c, int h, int w, float factor) {
    if (c != 3) return;
    size_t hw = (size_t)h * w;
    float one_minus = (float)(1.0 - (double)factor);
    float *r = x, *g = x + hw, *b = x + 2 * hw;
    for (size_t i = 0; i < hw; i++) {
        float l = LUMA_R * r[i] + LUMA_G * g[i] + LUMA_B * b[i];
        r[i] = blend(r[i], l, factor, one_minus);
        g[i] = blend(g[i], l, factor, one_minus);
        b[i] = blend(b[i], l, factor, one_minus);
    }
}

void aug_grayscale(float *x, int c, int h, int w) {
    if (c != 3) return;
    size_t hw = (size_t)h * w;
    float *r = x, *g = x + hw, *b = x + 2 * hw;
    for (size_t i = 0; i < hw; i++) r[i] = g[i] = b[i] = LUMA_R * r[i] + LUMA_G * g[i] + LUMA_B * b[i];
}

/* GCC/Clang vector extensions: VLEN floats (8 with AVX, else the 4 of the SSE / NEON baseline,
 * so no vector crosses a function boundary wider than the ABI allows), ints of the same width
 * (comparison masks, -1 or 0), and the float vector with 4-byte alignment for unaligned loads and
 * stores. Used where the auto-vectorizer gives up: with trapping math it may not turn the selects
 * of the hue conversion into masks, and it keeps one accumulator in the blur. */
#if defined(__AVX__)
#define VLEN 8
#else
#define VLEN 4
#endif
typedef float vf __attribute__((vector_size(VLEN * 4)));
typedef int vi __attribute__((vector_size(VLEN * 4)));
typedef float vf_u __attribute__((vector_size(VLEN * 4), aligned(4)));

static inline vf vsplat(float a) {
    vf v = {0};
    return v + a;
}
static inline vf vsel(vi m, vf a, vf b) { return (vf)(((vi)a & m) | ((vi)b & ~m)); }
static inline vf vmax(vf a, vf b) { return vsel(a > b, a, b); }
static inline vf vmin(vf a, vf b) { return vsel(a < b, a, b); }
static inline vf vclamp01(vf a) { return vmax(vmin(a, vsplat(1.0f)), vsplat(0.0f)); }

/* _rgb2hsv, shift hue, _hsv2rgb of functional_tensor.py on VLEN pixels, in the same float steps.
 * Pixels are in [0, 1], which makes every floor() below a truncation or a +-1 step:
 *   h / 6 + 1 lies in [5/6, 11/6], so fmod(., 1) is "- 1 when >= 1" (exact);
 *   h + factor lies in (-1/2, 3/2), so torch.remainder(., 1) is "+ 1 below 0, - 1 from 1";
 *   h * 6 lies in [0, 6], so floor is truncation. */
static void hue_shift(vf *r, vf *g, vf *b, float factor) {
    const vf zero = vsplat(0.0f), one = vsplat(1.0f);
    vf maxc = vmax(*r, vmax(*g, *b)), minc = vmin(*r, vmin(*g, *b));
    vf cr = maxc - minc;
    /* torchvision divides by 1 instead of maxc and cr where maxc = minc (then cr = 0 and every
     * numerator is 0): adding 1 only there gives the same quotients. */
    vf one_if_eq = vsel(maxc == minc, one, zero);
    vf s = cr / (maxc + one_if_eq), crd = cr + one_if_eq;
    vf rc = (maxc - *r) / crd, gc = (maxc - *g) / crd, bc = (maxc - *b) / crd;
    vi is_r = maxc == *r, is_g = maxc == *g;
    vf hr = vsel(is_r, bc - gc, zero);
    vf hg = vsel(is_g & ~is_r, vsplat(2.0f) + rc - bc, zero);
    vf hb = vsel(~is_g & ~is_r, vsplat(4.0f) + gc - rc, zero);
    vf h = (hr + hg + hb) / vsplat(6.0f) + one;
    h = vsel(h >= one, h - one, h);
    h = h + vsplat(factor);
    h = vsel(h < zero, h + one, vsel(h >= one, h - one, h));
    vf h6 = h * vsplat(6.0f);
    vi sector = __builtin_convertvector(h6, vi);
    vf f = h6 - __builtin_convertvector(sector, vf);
    sector = sector & (sector != 6);  /* 6 -> 0: i % 6 */
    vf v = maxc;
    vf p = vclamp01(v * (one - s));
    vf q = vclamp01(v * (one - s * f));
    vf t = vclamp01(v * (one - s * (one - f)));
    /* R = (v q p p t v)[i], G = (t v v q p p)[i], B = (p p t v v q)[i] */
    vi s0 = sector == 0, s1 = sector == 1, s2 = sector == 2, s3 = sector == 3, s4 = sector == 4, s5 = sector == 5;
    *r = vsel(s0 | s5, v, vsel(s1, q, vsel(s4, t, p)));
    *g = vsel(s0, t, vsel(s1 | s2, v, vsel(s3, q, p)));
    *b = vsel(s2, t, vsel(s3 | s4, v, vsel(s5, q, p)));
}

void aug_adjust_hue(float *x, int c, int h, int w, float factor) {
    if (c != 3) return;
    size_t hw = (size_t)h * w, i = 0;
    float *rp = x, *gp = x + hw, *bp = x + 2 * hw;
    for (; i + VLEN <= hw; i += VLEN) {
        vf r = *(vf_u *)(rp + i), g = *(vf_u *)(gp + i), b = *(vf_u *)(bp + i);
        hue_shift(&r, &g, &b, factor);
        *(vf_u *)(rp + i) = r, *(vf_u *)(gp + i) = g, *(vf_u *)(bp + i) = b;
    }
    if (i < hw) {
        /* The last < VLEN pixels, padded with black. */
        vf r = vsplat(0.0f), g = r, b = r;
        size_t n = hw - i;
        memcpy(&r, rp + i, n * sizeof(float)), memcpy(&g, gp + i, n * sizeof(float)), memcpy(&b, bp + i, n * sizeof(float));
        hue_shift(&r, &g, &b, factor);
        memcpy(rp + i, &r, n * sizeof(float)), memcpy(gp + i, &g, n * sizeof(float)), memcpy(bp + i, &b, n * sizeof(float));
    }
}

/* _get_gaussian_kernel1d in float: exp(-0.5 (x / sigma)^2) over x = -(k-1)/2 .. (k-1)/2, summed
 * to one. */
static void gaussian_kernel(float *kern, int k, float sigma) {
    float half = (float)(k - 1) * 0.5f, sum = 0;
    for (int i = 0; i < k; i++) {
        float t = ((float)i - half) / sigma;
        kern[i] = expf(-0.5f * (t * t));
        sum += kern[i];
    }
    /* Taps below 1e-30 (e.g. the tails at small sigma) would only feed subnormal products,
     * slow on some CPUs; dropping them changes no output by more than 1e-29. */
    for (int i = 0; i < k; i++) {
        kern[i] /= sum;
        if (kern[i] < 1e-30f) kern[i] = 0.0f;
    }
}

/* torch.nn.functional.pad(mode="reflect"): the edge pixel is not repeated. */
static inline int reflect(int i, int n) { return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i); }

/* dst[i] = sum_j kern[j] src[i + j stride] for i < n, summed in j order. Four independent
 * accumulators (4 VLEN outputs) hide the multiply-add latency. */
static void convolve(float *restrict dst, const float *restrict src, ptrdiff_t stride, const float *kern, int k,
                     int n) {
    int i = 0;
    for (; i + 4 * VLEN <= n; i += 4 * VLEN) {
        vf a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        for (int j = 0; j < k; j++) {
            const float *s = src + i + j * stride;
            float kj = kern[j];
            a0 += kj * *(const vf_u *)s;
            a1 += kj * *(const vf_u *)(s + VLEN);
            a2 += kj * *(const vf_u *)(s + 2 * VLEN);
            a3 += kj * *(const vf_u *)(s + 3 * VLEN);
        }
        *(vf_u *)(dst + i) = a0, *(vf_u *)(dst + i + VLEN) = a1;
        *(vf_u *)(dst + i + 2 * VLEN) = a2, *(vf_u *)(dst + i + 3 * VLEN) = a3;
    }
    for (; i + VLEN <= n; i += VLEN) {
        vf a0 = {0};
        for (int j = 0; j < k; j++) a0 += kern[j] * *(const vf_u *)(src + i + j * stride);
        *(vf_u *)(dst + i) = a0;
    }
    for (; i < n; i++) {
        float acc = 0;
        for (int j = 0; j < k; j++) acc += kern[j] * src[i + j * stride];
        dst[i] = acc;
    }
}

/* Separable form of the 2-D kernel outer(k, k): a row pass, then a column pass over strips of
 * columns so the loads are contiguous. Differs from the 2-D conv only in rounding. */
void aug_gaussian_blur(float *x, int c, int h, int w, int k, float sigma) {
    NNCLR_ASSERT(k >= 1 && k % 2 == 1 && k <= 255);
    int p = k / 2;
    NNCLR_ASSERT(p < h && p < w && w + 2 * p <= BLUR_SCRATCH && h + 2 * p <= BLUR_SCRATCH);
    if (k == 1) return;
    float kern[255];
    float buf[BLUR_SCRATCH];
    gaussian_kernel(kern, k, sigma);
    int strip = BLUR_SCRATCH / (h + 2 * p);
    if (strip > 64) strip = 64;
    for (int ch = 0; ch < c; ch++) {
        float *plane = x + (size_t)ch * h * w;
        for (int y = 0; y < h; y++) {
            float *row = plane + (size_t)y * w;
            for (int i = -p; i < w + p; i++) buf[i + p] = row[reflect(i, w)];
            convolve(row, buf, 1, kern, k, w);
        }
        for (int x0 = 0; x0 < w; x0 += strip) {
            int n = w - x0 < strip ? w - x0 : strip;
            for (int i = -p; i < h + p; i++)
                memcpy(buf + (size_t)(i + p) * n, plane + (size_t)reflect(i, h) * w + x0, n * sizeof(float));
            for (int y = 0; y < h; y++) convolve(plane + (size_t)y * w + x0, buf + (size_t)y * n, n, kern, k, n);
        }
    }
}

void aug_solarize(float *x, int c, int h, int w, float threshold) {
    size_t n = (size_t)c * h * w, i = 0;
    const vf thr = vsplat(threshold), one = vsplat(1.0f);
    for (; i + VLEN <= n; i += VLEN) {
        vf v = *(vf_u *)(x + i);
        *(vf_u *)(x + i) = vsel(v >= thr, one - v, v);
    }
    for (; i < n; i++)
        if (x[i] >= threshold) x[i] = 1.0f - x[i];
}

void aug_normalize(float *x, int c, int h, int w, const float *mean, const float *std) {
    size_t hw = (size_t)h * w;
    for (int k = 0; k < c; k++) {
        float m = mean[k], s = std[k], *p = x + k * hw;
        for (size_t i = 0; i < hw; i++) p[i] = (p[i] - m) / s;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* the pipeline */

void augment_apply_params(const augment_config *cfg, const aug_params *p, float *out, const dataset_image *img) {
    int c = cfg->channels, s = cfg->size;
    NNCLR_ASSERT(s > 0);
    aug_resized_crop_u8(out, img->pixels, img->c, img->h, img->w, p->top, p->left, p->crop_h, p->crop_w, s, s, c,
                        p->flip);
    if (p->jitter) {
        for (int i = 0; i < p->n_ops; i++) {
            switch (p->order[i]) {
            case 0: aug_adjust_brightness(out, c, s, s, p->brightness); break;
            case 1: aug_adjust_contrast(out, c, s, s, p->contrast); break;
            case 2: aug_adjust_saturation(out, c, s, s, p->saturation); break;
            default: aug_adjust_hue(out, c, s, s, p->hue); break;
            }
        }
    }
    if (p->gray) aug_grayscale(out, c, s, s);
    if (p->blur) aug_gaussian_blur(out, c, s, s, augment_blur_kernel(cfg, s), p->sigma);
    if (p->solarize) aug_solarize(out, c, s, s, cfg->solarize_threshold);
    aug_normalize(out, c, s, s, cfg->mean, cfg->std);
}

void augment_eval(const augment_config *cfg, float *out, const dataset_image *img) {
    int s = cfg->size, r = cfg->eval_resize > 0 ? cfg->eval_resize : s;
    NNCLR_ASSERT(s > 0 && r >= s);
    /* Resize(r): shorter side to r, longer to int(r * long / short); then CenterCrop(s) with
     * Python's round-half-even offsets. */
    int nh, nw;
    if (img->w <= img->h) {
        nw = r, nh = (int)((double)r * img->h / img->w);
    } else {
        nh = r, nw = (int)((double)r * img->w / img->h);
    }
    int top = (int)rint((nh - s) / 2.0), left = (int)rint((nw - s) / 2.0);
    resize_u8_window(out, img->pixels, img->c, img->h, img->w, 0, 0, img->h, img->w, nh, nw, top, left, s, s,
                     cfg->channels, 0);
    aug_normalize(out, cfg->channels, s, s, cfg->mean, cfg->std);
}

void augment_apply(const augment_config *cfg, int view, float *out, const dataset_image *img, rng_state *rng) {
    if (cfg->deterministic) {
        augment_eval(cfg, out, img);
        return;
    }
    aug_params p;
    augment_sample(cfg, view, img->h, img->w, rng, &p);
    augment_apply_params(cfg, &p, out, img);
}

nnclr_status augment_eval_u8(const augment_config *cfg, uint8_t *dst, const dataset_image *img) {
    int S = cfg->size, C = cfg->channels;
    float *x = nnclr_malloc((size_t)C * S * S * sizeof(float));
    if (!x) return NNCLR_ERR_NOMEM;
    augment_eval(cfg, x, img);
    for (int c = 0; c < C; c++)
        for (int p = 0; p < S * S; p++) {
            float v = x[(size_t)c * S * S + p] * cfg->std[c] + cfg->mean[c];
            dst[(size_t)p * C + c] = (uint8_t)(v <= 0 ? 0 : v >= 1 ? 255 : lrintf(v * 255));
        }
    free(x);
    return NNCLR_OK;
}
