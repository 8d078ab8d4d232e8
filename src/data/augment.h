/* augment.h - the image augmentations of the paper (BYOL's recipe, as NNCLR uses it), between a
 * uint8 HWC image from dataset.h and a normalised float CHW view that goes to the network.
 *
 * Semantics follow torchvision 0.14 on float tensors in [0, 1]:
 *   RandomResizedCrop(S, scale, ratio) with bilinear resize (align_corners=False, no antialias)
 *   -> RandomHorizontalFlip -> RandomApply(ColorJitter(b, c, s, h), p) in a random order of the
 *   four ops -> RandomGrayscale -> GaussianBlur (kernel ~10% of S, odd, reflect padding)
 *   -> Solarize(threshold) -> Normalize(mean, std).
 * The blur and solarize probabilities differ per view (BYOL's asymmetry): view 0 is blurred
 * always and never solarized, view 1 is blurred with p 0.1 and solarized with p 0.2.
 *
 * A transform is split in two steps so each can be tested on its own: augment_sample() draws
 * every random choice of one view into an aug_params, augment_apply_params() applies them.
 * augment_apply() does both. The single ops (aug_*) take explicit parameters and work in place
 * on float CHW images; they match the torchvision.transforms.functional op of the same name. */
#ifndef NNCLR_DATA_AUGMENT_H
#define NNCLR_DATA_AUGMENT_H

#include <stdint.h>
#include "core/rng.h"
#include "data/dataset.h"
#include "nnclr.h"

typedef struct {
    char name[16];          /* preset it came from */
    int channels;           /* output channels, 1 or 3; a 1-channel image is replicated to 3, a
                               3-channel image reduced to luma for 1 */
    int size;               /* output side S; 0 = the data set's side (resolved by the loader) */
    int deterministic;      /* 1: evaluation transform (augment_eval), no randomness */
    int eval_resize;        /* eval: shorter side before the S x S center crop; 0 = S */
    float scale_min, scale_max;   /* random resized crop: area fraction range */
    float ratio_min, ratio_max;   /* random resized crop: aspect ratio (w / h) range */
    float flip_p;
    float jitter_p;         /* probability of applying color jitter */
    float brightness, contrast, saturation, hue;  /* jitter strengths; 0 turns one op off */
    float gray_p;
    float blur_p[2];        /* per view */
    float blur_sigma_min, blur_sigma_max;
    int blur_kernel;        /* odd kernel side; 0 = about 10% of S, made odd */
    float solarize_p[2];    /* per view */
    float solarize_threshold;
    float mean[3], std[3];  /* Normalize, per output channel */
} augment_config;

/* Every random choice for one view. */
typedef struct {
    int top, left, crop_h, crop_w;  /* crop window in the source image */
    int flip;
    int jitter;                     /* 0: no color jitter */
    int n_ops;                      /* jitter ops to run, in order[0 .. n_ops) */
    int order[4];                   /* 0 brightness, 1 contrast, 2 saturation, 3 hue; ops whose
                                       strength is 0 are left out (torchvision's None) */
    float brightness, contrast, saturation, hue;  /* factors */
    int gray;
    int blur;
    float sigma;
    int solarize;
} aug_params;

/* Fills *cfg with a preset: "imagenet", "cifar", "gray", "crop-only" or "eval". channels: 1 or 3.
 * out_size: output side, or 0 for the preset's default (imagenet 224, cifar 32, others: the data
 * set's side). Fields may be overridden afterwards. NNCLR_ERR_ARG for an unknown name, channels
 * not in {1, 3}, or a colour preset (imagenet, cifar) with 1 channel. */
nnclr_status augment_preset(augment_config *cfg, const char *name, int channels, int out_size);
/* Range checks of every field (size <= 4096, probabilities in [0,1], scale/ratio ordered and
 * positive, strengths >= 0, hue <= 0.5, std > 0, odd blur kernel). */
nnclr_status augment_check(const augment_config *cfg);
/* Odd blur kernel side used for an S x S output: cfg->blur_kernel or int(0.1 S) made odd. */
int augment_blur_kernel(const augment_config *cfg, int size);

/* Draws the random choices of view (0 or 1) for an h x w source image. cfg->size must be set. */
void augment_sample(const augment_config *cfg, int view, int h, int w, rng_state *rng, aug_params *p);
/* out: (C, S, S) with C = cfg->channels, S = cfg->size. img: any size, 1 or 3 channels. */
void augment_apply_params(const augment_config *cfg, const aug_params *p, float *out, const dataset_image *img);
/* augment_sample + augment_apply_params; on a deterministic config, augment_eval. */
void augment_apply(const augment_config *cfg, int view, float *out, const dataset_image *img, rng_state *rng);
/* Resize the shorter side to eval_resize (0: S), center crop S x S, normalise. out: (C, S, S). */
void augment_eval(const augment_config *cfg, float *out, const dataset_image *img);
/* What augment_eval shows, as displayable pixels: dst (S, S, C) uint8, the normalisation
 * undone (for the pictures of neighbors, search, dedup, cluster, map). NNCLR_ERR_NOMEM only. */
nnclr_status augment_eval_u8(const augment_config *cfg, uint8_t *dst, const dataset_image *img);

/* ---- the single ops, torchvision.transforms.functional on float tensors ---- */

/* RandomResizedCrop.get_params: 10 tries of (area ~ U(scale) * h w, log ratio ~ U(log ratio)),
 * then the center-crop fallback. */
void aug_sample_crop(rng_state *rng, int h, int w, float scale_min, float scale_max, float ratio_min,
                     float ratio_max, int *top, int *left, int *crop_h, int *crop_w);
/* resized_crop(in, top, left, ch, cw, [oh, ow], BILINEAR, antialias=False).
 * out: (c, oh, ow). in: (c, h, w). The window lies inside the image. */
void aug_resized_crop(float *out, const float *in, int c, int h, int w, int top, int left, int ch, int cw,
                      int oh, int ow);
/* The same from a uint8 image in HWC order (values / 255), with the channel conversion of
 * augment_config (c_out 3 from 1: replicate; c_out 1 from 3: luma) and an optional horizontal
 * flip of the output. out: (c_out, oh, ow). in: (h, w, c_in). */
void aug_resized_crop_u8(float *out, const uint8_t *in, int c_in, int h, int w, int top, int left, int ch,
                         int cw, int oh, int ow, int c_out, int flip);
/* x: (c, h, w), in place. */
void aug_hflip(float *x, int c, int h, int w);
void aug_adjust_brightness(float *x, int c, int h, int w, float factor);
void aug_adjust_contrast(float *x, int c, int h, int w, float factor);
void aug_adjust_saturation(float *x, int c, int h, int w, float factor);  /* no-op for c = 1 */
void aug_adjust_hue(float *x, int c, int h, int w, float factor);         /* no-op for c = 1 */
void aug_grayscale(float *x, int c, int h, int w);  /* rgb_to_grayscale(x, 3); no-op for c = 1 */
/* gaussian_blur(x, [k, k], [sigma, sigma]); reflect padding needs k / 2 < min(h, w). */
void aug_gaussian_blur(float *x, int c, int h, int w, int k, float sigma);
void aug_solarize(float *x, int c, int h, int w, float threshold);
void aug_normalize(float *x, int c, int h, int w, const float *mean, const float *std);

#endif
