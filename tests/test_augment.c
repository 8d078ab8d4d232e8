/* test_augment.c - the augmentation ops against torchvision 0.14 (fixtures from gen_augment.py),
 * the crop-parameter sampling statistics, the per-view probabilities, and the presets.
 *
 * Tolerances (|got - ref| <= atol + rtol |ref|):
 *   1e-6 abs   flips, brightness, solarize, normalize, grayscale, saturation: the same float
 *              operations in the same order; only FMA contraction may differ (1 ulp).
 *   1e-5 abs   bilinear resize / resized crop / eval resize (float taps and weights as ATen, a
 *              different summation order), contrast (mean summed in double vs torch's float
 *              reduction), hue (floor(h * 6) may pick the neighbouring sector for a hue within
 *              an ulp of a sector edge; HSV->RGB is continuous there, so values still agree).
 *   1e-5 abs   Gaussian blur: separable row/column passes vs torch's 2-D conv, same kernel.
 *   2e-5 abs   whole pipelines after Normalize (division by std ~0.22 scales the 1e-6-level
 *              differences of the ops above by ~4.5).
 * Measured differences are all below 2e-6. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "core/status.h"
#include "data/augment.h"
#include "testlib.h"

/* Builds an HWC uint8 image from a fixture tensor of (H, W, C) byte values. */
static dataset_image image_from(const fx_tensor *t) {
    dataset_image im = {.h = t->dims[0], .w = t->dims[1], .c = t->dims[2]};
    im.pixels = malloc(t->size);
    for (size_t i = 0; i < t->size; i++) im.pixels[i] = (uint8_t)lrintf(t->data[i]);
    return im;
}

static float *copy_of(const float *x, size_t n) {
    float *y = malloc(n * sizeof *y);
    memcpy(y, x, n * sizeof *y);
    return y;
}

static void test_ops(const fx_file *f) {
    const fx_tensor *img_t = fx_get(f, "img"), *gimg_t = fx_get(f, "gimg"), *xt = fx_get(f, "x");
    if (!img_t || !gimg_t || !xt) return;
    dataset_image img = image_from(img_t), gimg = image_from(gimg_t);
    int C = 3, H = img.h, W = img.w;
    size_t n = (size_t)C * H * W;
    const float *x = xt->data;
    float out[3 * 64 * 64];
    char what[96];

    for (int i = 0; i < 5; i++) {
        snprintf(what, sizeof what, "crop%d_p", i);
        const fx_tensor *p = fx_get(f, what);
        if (!p) continue;
        int top = (int)p->data[0], left = (int)p->data[1], ch = (int)p->data[2], cw = (int)p->data[3];
        int oh = (int)p->data[4], ow = (int)p->data[5];
        size_t no = (size_t)3 * oh * ow;
        const fx_tensor *ref;
        snprintf(what, sizeof what, "crop%d", i);
        if ((ref = fx_get(f, what))) {
            aug_resized_crop(out, x, C, H, W, top, left, ch, cw, oh, ow);
            check_close(what, out, ref->data, no, 1e-5, 0);
            aug_resized_crop_u8(out, img.pixels, 3, H, W, top, left, ch, cw, oh, ow, 3, 0);
            snprintf(what, sizeof what, "crop%d from uint8 HWC", i);
            check_close(what, out, ref->data, no, 1e-5, 0);
        }
        snprintf(what, sizeof what, "crop%d_flip", i);
        if ((ref = fx_get(f, what))) {
            aug_resized_crop_u8(out, img.pixels, 3, H, W, top, left, ch, cw, oh, ow, 3, 1);
            check_close("crop + flip from uint8", out, ref->data, no, 1e-5, 0);
        }
        snprintf(what, sizeof what, "crop%d_gray3", i);
        if ((ref = fx_get(f, what))) {
            int gt = top < 4 ? top : 4, gl = left < 3 ? left : 3, gh = ch < 7 ? ch : 7, gw = cw < 6 ? cw : 6;
            aug_resized_crop_u8(out, gimg.pixels, 1, gimg.h, gimg.w, gt, gl, gh, gw, oh, ow, 3, 0);
            check_close("crop 1 -> 3 channels (replicated)", out, ref->data, no, 1e-5, 0);
        }
        snprintf(what, sizeof what, "crop%d_luma", i);
        if ((ref = fx_get(f, what))) {
            aug_resized_crop_u8(out, img.pixels, 3, H, W, top, left, ch, cw, oh, ow, 1, 0);
            check_close("crop 3 -> 1 channel (luma)", out, ref->data, (size_t)oh * ow, 1e-5, 0);
        }
    }

    const fx_tensor *ref = fx_get(f, "hflip");
    if (ref) {
        float *y = copy_of(x, n);
        aug_hflip(y, C, H, W);
        check_close("hflip", y, ref->data, n, 1e-6, 0);
        free(y);
    }

    struct { const char *name; void (*op)(float *, int, int, int, float); int count; double atol; } ops[] = {
        {"brightness", aug_adjust_brightness, 3, 1e-6},
        {"contrast", aug_adjust_contrast, 3, 1e-5},
        {"saturation", aug_adjust_saturation, 3, 1e-6},
        {"hue", aug_adjust_hue, 5, 1e-5},
    };
    for (int k = 0; k < 4; k++) {
        const fx_tensor *factors = fx_get(f, ops[k].name);
        if (!factors) continue;
        for (int i = 0; i < ops[k].count; i++) {
            snprintf(what, sizeof what, "%s%d", ops[k].name, i);
            if (!(ref = fx_get(f, what))) continue;
            float *y = copy_of(x, n);
            ops[k].op(y, C, H, W, factors->data[i]);
            snprintf(what, sizeof what, "adjust_%s(%g)", ops[k].name, factors->data[i]);
            check_close(what, y, ref->data, n, ops[k].atol, 0);
            free(y);
        }
    }
    /* 1-channel contrast blends with the plain mean. */
    const fx_tensor *cf = fx_get(f, "contrast");
    for (int i = 0; cf && i < 3; i++) {
        snprintf(what, sizeof what, "gcontrast%d", i);
        if (!(ref = fx_get(f, what))) continue;
        float *y = malloc((size_t)gimg.h * gimg.w * sizeof *y);
        for (int j = 0; j < gimg.h * gimg.w; j++) y[j] = gimg.pixels[j] / 255.0f;
        aug_adjust_contrast(y, 1, gimg.h, gimg.w, cf->data[i]);
        check_close("adjust_contrast, 1 channel", y, ref->data, (size_t)gimg.h * gimg.w, 1e-5, 0);
        free(y);
    }
    if ((ref = fx_get(f, "grayscale"))) {
        float *y = copy_of(x, n);
        aug_grayscale(y, C, H, W);
        check_close("rgb_to_grayscale(3)", y, ref->data, n, 1e-6, 0);
        free(y);
    }

    const fx_tensor *bx = fx_get(f, "bx"), *bp = fx_get(f, "blur_p");
    for (int i = 0; bx && bp && i < 4; i++) {
        snprintf(what, sizeof what, "blur%d", i);
        if (!(ref = fx_get(f, what))) continue;
        float *y = copy_of(bx->data, bx->size);
        int k = (int)bp->data[2 * i];
        float sigma = bp->data[2 * i + 1];
        aug_gaussian_blur(y, 3, bx->dims[1], bx->dims[2], k, sigma);
        snprintf(what, sizeof what, "gaussian_blur k=%d sigma=%g", k, sigma);
        check_close(what, y, ref->data, bx->size, 1e-5, 0);
        free(y);
    }
    const fx_tensor *b32 = fx_get(f, "b32");
    if (b32 && (ref = fx_get(f, "blur23"))) {
        float *y = copy_of(b32->data, b32->size);
        aug_gaussian_blur(y, 3, 32, 32, 23, 1.3f);
        check_close("gaussian_blur k=23 on 32x32 (reflect)", y, ref->data, b32->size, 1e-5, 0);
        free(y);
    }
    const fx_tensor *sx = fx_get(f, "sx");
    if (sx && (ref = fx_get(f, "solarize"))) {
        float *y = copy_of(sx->data, sx->size);
        aug_solarize(y, 1, 1, (int)sx->size, 0.5f);
        check_close("solarize(0.5), incl. values at the threshold", y, ref->data, sx->size, 1e-6, 0);
        free(y);
    }
    const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    if ((ref = fx_get(f, "normalize"))) {
        float *y = copy_of(x, n);
        aug_normalize(y, C, H, W, mean, std);
        check_close("normalize", y, ref->data, n, 1e-6, 0);
        free(y);
    }

    /* Evaluation transform with mean 0, std 1 so the raw resize is compared. */
    augment_config ecfg;
    check_true("preset eval", augment_preset(&ecfg, "eval", 3, 16) == NNCLR_OK);
    for (int k = 0; k < 3; k++) ecfg.mean[k] = 0, ecfg.std[k] = 1;
    ecfg.eval_resize = 20;
    if ((ref = fx_get(f, "eval0"))) {
        augment_eval(&ecfg, out, &img);
        check_close("eval: resize 20 + center crop 16", out, ref->data, 3 * 16 * 16, 1e-5, 0);
    }
    if ((ref = fx_get(f, "eval1"))) {
        dataset_image tr = {.h = W, .w = H, .c = 3, .pixels = malloc(n)};
        for (int yy = 0; yy < H; yy++)
            for (int xx = 0; xx < W; xx++)
                for (int k = 0; k < 3; k++) tr.pixels[((size_t)xx * H + yy) * 3 + k] = img.pixels[((size_t)yy * W + xx) * 3 + k];
        ecfg.size = 14, ecfg.eval_resize = 15;
        augment_eval(&ecfg, out, &tr);
        check_close("eval: portrait, resize 15 + center crop 14", out, ref->data, 3 * 14 * 14, 1e-5, 0);
        free(tr.pixels);
    }
    if ((ref = fx_get(f, "eval2"))) {
        ecfg.size = 11, ecfg.eval_resize = 0;
        augment_eval(&ecfg, out, &img);
        check_close("eval: resize 0 = to the crop side 11", out, ref->data, 3 * 11 * 11, 1e-5, 0);
    }
    if ((ref = fx_get(f, "eval3"))) {
        ecfg.size = 11, ecfg.eval_resize = 13;
        augment_eval(&ecfg, out, &img);
        check_close("eval: resize to own side 13 is exact, crop 11", out, ref->data, 3 * 11 * 11, 1e-7, 0);
    }

    /* Whole view transforms with fixed random choices. */
    augment_config cfg;
    check_true("preset imagenet @16", augment_preset(&cfg, "imagenet", 3, 16) == NNCLR_OK);
    cfg.blur_kernel = 5;
    for (int i = 0; i < 3; i++) {
        snprintf(what, sizeof what, "pipe%d_p", i);
        const fx_tensor *pp = fx_get(f, what);
        snprintf(what, sizeof what, "pipe%d", i);
        if (!pp || !(ref = fx_get(f, what))) continue;
        const float *v = pp->data;
        aug_params p = {.top = (int)v[0], .left = (int)v[1], .crop_h = (int)v[2], .crop_w = (int)v[3],
                        .flip = (int)v[4], .n_ops = (int)v[5]};
        for (int k = 0; k < 4; k++) p.order[k] = (int)v[6 + k];
        p.jitter = p.n_ops > 0;
        p.brightness = v[10], p.contrast = v[11], p.saturation = v[12], p.hue = v[13];
        p.gray = (int)v[14], p.sigma = v[15], p.blur = v[15] > 0, p.solarize = (int)v[16];
        augment_apply_params(&cfg, &p, out, &img);
        snprintf(what, sizeof what, "pipeline %d (crop flip jitter gray blur solarize norm)", i);
        check_close(what, out, ref->data, 3 * 16 * 16, 2e-5, 0);
    }
    free(img.pixels);
    free(gimg.pixels);
}

/* RandomResizedCrop.get_params: bounds, fallback, and the distribution (means from 400k draws of
 * the same algorithm in Python). */
static void test_crop_sampling(void) {
    struct { int h, w; double mean_area, mean_logr; } cases[] = {
        {224, 224, 0.4796, 0.0}, {32, 32, 0.4901, 0.0}, {375, 500, 0.4330, 0.0308}};
    rng_state r;
    rng_seed(&r, 99);
    for (int c = 0; c < 3; c++) {
        int h = cases[c].h, w = cases[c].w, n = 20000, in_bounds = 1, area_ok = 1, ratio_ok = 1;
        double sa = 0, slr = 0, scy = 0, scx = 0;
        int q[4] = {0};
        for (int i = 0; i < n; i++) {
            int top, left, ch, cw;
            aug_sample_crop(&r, h, w, 0.08f, 1.0f, 0.75f, 4.0f / 3.0f, &top, &left, &ch, &cw);
            in_bounds &= top >= 0 && left >= 0 && ch > 0 && cw > 0 && top + ch <= h && left + cw <= w;
            double a = (double)ch * cw / ((double)h * w), lr = log((double)cw / ch);
            /* Rounding w and h to integers moves area and ratio a little past the sampled ranges. */
            double slack = 1.0 / (sqrt(0.08 * h * w) - 0.5);
            area_ok &= a >= 0.08 * (1 - 2 * slack) && a <= 1.0;
            ratio_ok &= lr >= log(0.75) - 2 * slack && lr <= log(4.0 / 3.0) + 2 * slack;
            sa += a, slr += lr;
            scy += (top + ch / 2.0) / h, scx += (left + cw / 2.0) / w;
            q[a < 0.31 ? 0 : a < 0.54 ? 1 : a < 0.77 ? 2 : 3]++;
        }
        char what[96];
        snprintf(what, sizeof what, "crop %dx%d: windows inside the image", h, w);
        check_true(what, in_bounds);
        snprintf(what, sizeof what, "crop %dx%d: area fraction in [0.08, 1]", h, w);
        check_true(what, area_ok);
        snprintf(what, sizeof what, "crop %dx%d: log ratio in [log 3/4, log 4/3]", h, w);
        check_true(what, ratio_ok);
        snprintf(what, sizeof what, "crop %dx%d: mean area %.4f ~ %.4f", h, w, sa / n, cases[c].mean_area);
        check_true(what, fabs(sa / n - cases[c].mean_area) < 0.01);
        snprintf(what, sizeof what, "crop %dx%d: mean log ratio %.4f ~ %.4f", h, w, slr / n, cases[c].mean_logr);
        check_true(what, fabs(slr / n - cases[c].mean_logr) < 0.01);
        snprintf(what, sizeof what, "crop %dx%d: centres spread evenly (%.3f, %.3f)", h, w, scy / n, scx / n);
        check_true(what, fabs(scy / n - 0.5) < 0.01 && fabs(scx / n - 0.5) < 0.01);
        snprintf(what, sizeof what, "crop %dx%d: every area quarter used (%d %d %d %d)", h, w, q[0], q[1], q[2], q[3]);
        check_true(what, q[0] > n / 10 && q[1] > n / 10 && q[2] > n / 10 && q[3] > n / 20);
    }
    /* Fallback: no window of area 100% fits the ratio range in a 10 x 40 or 40 x 10 image. */
    int top, left, ch, cw;
    aug_sample_crop(&r, 10, 40, 1.0f, 1.0f, 0.75f, 4.0f / 3.0f, &top, &left, &ch, &cw);
    check_true("crop fallback, wide: (0, 13, 10, 13)", top == 0 && left == 13 && ch == 10 && cw == 13);
    aug_sample_crop(&r, 40, 10, 1.0f, 1.0f, 0.75f, 4.0f / 3.0f, &top, &left, &ch, &cw);
    check_true("crop fallback, tall: (13, 0, 13, 10)", top == 13 && left == 0 && ch == 13 && cw == 10);
    aug_sample_crop(&r, 20, 20, 1.0f, 1.0f, 1.0f, 1.0f, &top, &left, &ch, &cw);
    check_true("crop scale 1, ratio 1: whole image", top == 0 && left == 0 && ch == 20 && cw == 20);
}

/* Per-view probabilities and factor ranges of augment_sample with the imagenet preset. */
static void test_sampling(void) {
    augment_config cfg;
    augment_preset(&cfg, "imagenet", 3, 224);
    rng_state r;
    rng_seed(&r, 5);
    int n = 20000, flip = 0, jit = 0, gray = 0, blur[2] = {0}, sol[2] = {0}, ranges = 1, perms = 1;
    for (int i = 0; i < n; i++) {
        for (int v = 0; v < 2; v++) {
            aug_params p;
            augment_sample(&cfg, v, 300, 400, &r, &p);
            flip += p.flip, jit += p.jitter, gray += p.gray, blur[v] += p.blur, sol[v] += p.solarize;
            if (p.jitter) {
                ranges &= p.brightness >= 0.6f && p.brightness <= 1.4f && p.contrast >= 0.6f && p.contrast <= 1.4f &&
                          p.saturation >= 0.8f && p.saturation <= 1.2f && p.hue >= -0.1f && p.hue <= 0.1f;
                int seen = 0;
                for (int k = 0; k < p.n_ops; k++) seen |= 1 << p.order[k];
                perms &= p.n_ops == 4 && seen == 15;
            }
            if (p.blur) ranges &= p.sigma >= 0.1f && p.sigma <= 2.0f;
        }
    }
    double N = 2.0 * n, tol = 4 * sqrt(0.25 / n);
    check_true("sample: flip p ~ 0.5", fabs(flip / N - 0.5) < tol);
    check_true("sample: jitter p ~ 0.8", fabs(jit / N - 0.8) < tol);
    check_true("sample: grayscale p ~ 0.2", fabs(gray / N - 0.2) < tol);
    check_true("sample: view 0 always blurred", blur[0] == n);
    check_true("sample: view 1 blur p ~ 0.1", fabs(blur[1] / (double)n - 0.1) < 2 * tol);
    check_true("sample: view 0 never solarized", sol[0] == 0);
    check_true("sample: view 1 solarize p ~ 0.2", fabs(sol[1] / (double)n - 0.2) < 2 * tol);
    check_true("sample: factors within the jitter ranges", ranges);
    check_true("sample: jitter order is a permutation of 4", perms);

    /* A strength of 0 leaves its op out of the order (torchvision's None). */
    cfg.hue = 0, cfg.saturation = 0, cfg.jitter_p = 1;
    aug_params p;
    augment_sample(&cfg, 0, 64, 64, &r, &p);
    check_true("sample: zero strengths are skipped", p.n_ops == 2 && p.order[0] < 2 && p.order[1] < 2);
}

static void test_presets(void) {
    augment_config c;
    check_true("preset imagenet", augment_preset(&c, "imagenet", 3, 0) == NNCLR_OK && c.size == 224 &&
                                      c.blur_p[0] == 1.0f && c.blur_p[1] == 0.1f && c.solarize_p[1] == 0.2f &&
                                      augment_check(&c) == NNCLR_OK);
    check_true("preset imagenet: blur kernel 23 at 224", augment_blur_kernel(&c, 224) == 23);
    check_true("preset cifar", augment_preset(&c, "cifar", 3, 0) == NNCLR_OK && c.size == 32 && c.blur_p[0] == 0 &&
                                   c.blur_p[1] == 0 && c.solarize_p[0] == 0 && c.solarize_p[1] == 0.2f &&
                                   fabsf(c.mean[0] - 0.4914f) < 1e-6f && augment_check(&c) == NNCLR_OK);
    check_true("preset gray", augment_preset(&c, "gray", 1, 0) == NNCLR_OK && c.size == 0 && c.saturation == 0 &&
                                  c.hue == 0 && c.gray_p == 0 && fabsf(c.std[0] - 0.3530f) < 1e-6f &&
                                  augment_check(&c) == NNCLR_OK);
    check_true("preset crop-only", augment_preset(&c, "crop-only", 3, 96) == NNCLR_OK && c.jitter_p == 0 &&
                                       c.gray_p == 0 && c.blur_p[0] == 0 && c.solarize_p[1] == 0 && c.flip_p == 0.5f &&
                                       augment_check(&c) == NNCLR_OK);
    check_true("preset eval 224: resize 256", augment_preset(&c, "eval", 3, 224) == NNCLR_OK && c.deterministic &&
                                                  c.eval_resize == 256 && augment_check(&c) == NNCLR_OK);
    check_true("unknown preset -> ERR_ARG", augment_preset(&c, "simclr", 3, 32) == NNCLR_ERR_ARG);
    check_true("unknown preset message names it", strstr(nnclr_last_error(), "simclr") != NULL);
    check_true("imagenet with 1 channel -> ERR_ARG", augment_preset(&c, "imagenet", 1, 0) == NNCLR_ERR_ARG);
    check_true("gray with 3 channels -> ERR_ARG", augment_preset(&c, "gray", 3, 0) == NNCLR_ERR_ARG);
    check_true("channels 2 -> ERR_ARG", augment_preset(&c, "cifar", 2, 0) == NNCLR_ERR_ARG);
    augment_preset(&c, "cifar", 3, 0);
    c.flip_p = 1.5f;
    check_true("check: probability > 1 rejected", augment_check(&c) == NNCLR_ERR_ARG);
    augment_preset(&c, "cifar", 3, 0);
    c.blur_kernel = 4;
    check_true("check: even blur kernel rejected", augment_check(&c) == NNCLR_ERR_ARG);
}

/* augment_apply end to end: determinism, a 1-channel source through a colour preset, eval. */
static void test_apply(void) {
    int h = 40, w = 36;
    dataset_image img = {.h = h, .w = w, .c = 3, .pixels = malloc((size_t)h * w * 3)};
    dataset_image gimg = {.h = h, .w = w, .c = 1, .pixels = malloc((size_t)h * w)};
    rng_state r;
    rng_seed(&r, 3);
    for (int i = 0; i < h * w * 3; i++) img.pixels[i] = (uint8_t)rng_below(&r, 256);
    for (int i = 0; i < h * w; i++) gimg.pixels[i] = (uint8_t)rng_below(&r, 256);
    augment_config cfg;
    augment_preset(&cfg, "imagenet", 3, 24);
    size_t n = 3 * 24 * 24;
    float *a = malloc(3 * 32 * 32 * sizeof *a), *b = malloc(3 * 32 * 32 * sizeof *b);
    rng_state r1, r2;
    rng_derive(&r1, 7, 1, 2);
    rng_derive(&r2, 7, 1, 2);
    augment_apply(&cfg, 1, a, &img, &r1);
    augment_apply(&cfg, 1, b, &img, &r2);
    check_true("apply: same stream, same bytes", memcmp(a, b, n * sizeof *a) == 0);
    augment_apply(&cfg, 1, b, &img, &r2);
    check_true("apply: next draw differs", memcmp(a, b, n * sizeof *a) != 0);
    int finite = 1;
    for (size_t i = 0; i < n; i++) finite &= isfinite(a[i]) && fabsf(a[i]) < 5;
    check_true("apply: finite, within normalised range", finite);

    /* A gray source replicated to 3 channels stays gray through jitter (hue and saturation keep
     * r = g = b), grayscale, blur and solarize: un-normalised channels agree. */
    int gray_ok = 1;
    for (int t = 0; t < 50; t++) {
        augment_apply(&cfg, t & 1, a, &gimg, &r1);
        for (size_t i = 0; i < 24 * 24; i++) {
            float c0 = a[i] * cfg.std[0] + cfg.mean[0], c1 = a[576 + i] * cfg.std[1] + cfg.mean[1];
            float c2 = a[1152 + i] * cfg.std[2] + cfg.mean[2];
            gray_ok &= fabsf(c0 - c1) < 1e-5f && fabsf(c0 - c2) < 1e-5f;
        }
    }
    check_true("apply: 1-channel source -> 3 equal channels", gray_ok);

    /* 1-channel preset on a gray source: values within normalised [0, 1]. */
    augment_config g;
    augment_preset(&g, "gray", 1, 20);
    int in_range = 1;
    for (int t = 0; t < 20; t++) {
        augment_apply(&g, t & 1, a, &gimg, &r1);
        for (int i = 0; i < 400; i++) {
            float v = a[i] * g.std[0] + g.mean[0];
            in_range &= v >= -1e-5f && v <= 1 + 1e-5f;
        }
    }
    check_true("apply: gray preset stays in [0, 1]", in_range);

    /* Eval at the image size is a plain normalise, and ignores the rng. */
    augment_config e;
    augment_preset(&e, "eval", 3, 0);
    e.size = 32;
    dataset_image sq = {.h = 32, .w = 32, .c = 3, .pixels = img.pixels};
    augment_apply(&e, 0, a, &sq, &r1);
    augment_eval(&e, b, &sq);
    int plain = memcmp(a, b, 3 * 1024 * sizeof *a) == 0;
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 1024; i++) {
            float ref = (sq.pixels[i * 3 + k] / 255.0f - e.mean[k]) / e.std[k];
            plain &= fabsf(a[k * 1024 + i] - ref) < 1e-6f;
        }
    check_true("eval 32x32: normalise only, deterministic", plain);
    free(a);
    free(b);
    free(img.pixels);
    free(gimg.pixels);
}

int main(void) {
    fx_file f;
    if (fx_load(&f, "fixtures/augment_ops.bin") == 0) {
        test_ops(&f);
        fx_free(&f);
    }
    test_crop_sampling();
    test_sampling();
    test_presets();
    test_apply();
    return test_summary();
}
