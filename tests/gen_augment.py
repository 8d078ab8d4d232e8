"""gen_augment.py - reference outputs of torchvision 0.14's tensor ops for tests/test_augment.c.

Small fixed uint8 images (HWC, as a reader gives them) go through
torchvision.transforms.functional with fixed parameters; the outputs are what src/data/augment.c
must reproduce. Run with Debian's python3-torchvision: /usr/bin/python3 tests/gen_augment.py"""
import os

import numpy as np
import torch
import torchvision
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode

import fixture

torch.set_num_threads(2)
assert torchvision.__version__.startswith("0.14"), torchvision.__version__

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(1234)


def chw(u8):
    """uint8 (H, W, C) -> float (C, H, W) in [0, 1], as to_tensor."""
    return torch.from_numpy(u8).permute(2, 0, 1).contiguous().float().div(255)


def resized_crop(t, top, left, h, w, oh, ow):
    return F.resized_crop(t, top, left, h, w, [oh, ow], InterpolationMode.BILINEAR, antialias=False)


out = {}

# A colour image with grey pixels and channel ties, so every branch of rgb->hsv is hit.
img = rng.integers(0, 256, size=(13, 17, 3), dtype=np.uint8)
img[0, :5] = img[0, :5, :1]           # r = g = b
img[1, :5, 1] = img[1, :5, 0]         # r = g
img[2, :5, 2] = img[2, :5, 1]         # g = b
img[3, :5, 2] = img[3, :5, 0]         # r = b
img[4, :3] = [[255, 255, 255], [0, 0, 0], [255, 0, 0]]
out["img"] = img
x = chw(img)
out["x"] = x

gray_img = rng.integers(0, 256, size=(11, 9, 1), dtype=np.uint8)
out["gimg"] = gray_img
gx = chw(gray_img)

# (top, left, h, w, oh, ow): down, up, identity, mixed, one-pixel-wide window
crops = [(2, 3, 9, 11, 7, 5), (1, 0, 6, 8, 16, 20), (0, 0, 13, 17, 13, 17), (4, 2, 7, 13, 10, 3),
         (3, 5, 10, 1, 4, 6)]
for i, (t, l, h, w, oh, ow) in enumerate(crops):
    out[f"crop{i}_p"] = np.array([t, l, h, w, oh, ow])
    y = resized_crop(x, t, l, h, w, oh, ow)
    out[f"crop{i}"] = y
    out[f"crop{i}_flip"] = F.hflip(y)
    out[f"crop{i}_gray3"] = resized_crop(gx, min(t, 4), min(l, 3), min(h, 7), min(w, 6), oh, ow).expand(3, oh, ow)
    out[f"crop{i}_luma"] = F.rgb_to_grayscale(y, 1)

out["hflip"] = F.hflip(x)
out["brightness"] = np.array([0.6, 1.37, 0.0])
for i, f in enumerate(out["brightness"]):
    out[f"brightness{i}"] = F.adjust_brightness(x, float(f))
out["contrast"] = np.array([0.65, 1.3, 0.0])
for i, f in enumerate(out["contrast"]):
    out[f"contrast{i}"] = F.adjust_contrast(x, float(f))
    out[f"gcontrast{i}"] = F.adjust_contrast(gx, float(f))
out["saturation"] = np.array([0.8, 1.2, 0.0])
for i, f in enumerate(out["saturation"]):
    out[f"saturation{i}"] = F.adjust_saturation(x, float(f))
out["hue"] = np.array([-0.1, 0.07, 0.5, -0.5, 0.0])
for i, f in enumerate(out["hue"]):
    out[f"hue{i}"] = F.adjust_hue(x, float(f))
out["grayscale"] = F.rgb_to_grayscale(x, 3)

# Gaussian blur: (kernel, sigma) on a 3 x 24 x 20 image, and BYOL's 23 at 32 x 32.
bimg = rng.integers(0, 256, size=(24, 20, 3), dtype=np.uint8)
bx = chw(bimg)
out["bx"] = bx
blurs = [(5, 0.7), (9, 1.9), (3, 0.1), (1, 1.0)]
out["blur_p"] = np.array(blurs, dtype=np.float32)
for i, (k, s) in enumerate(blurs):
    out[f"blur{i}"] = F.gaussian_blur(bx, [k, k], [s, s])
b32 = chw(rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8))
out["b32"] = b32
out["blur23"] = F.gaussian_blur(b32, [23, 23], [1.3, 1.3])

sx = torch.cat([x.flatten(), torch.tensor([0.5, 0.49999997, 0.50000006, 0.0, 1.0])])
out["sx"] = sx
out["solarize"] = F.solarize(sx.view(1, 1, -1), 0.5).flatten()
mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
out["normalize"] = F.normalize(x, mean, std)

# Evaluation transform: Resize(shorter side) + CenterCrop, both orientations.
out["eval0"] = F.center_crop(F.resize(x, [20], InterpolationMode.BILINEAR, antialias=False), [16])
xt = x.transpose(1, 2).contiguous()  # 17 x 13
out["eval1"] = F.center_crop(F.resize(xt, [15], InterpolationMode.BILINEAR, antialias=False), [14])
out["eval2"] = F.center_crop(F.resize(x, [11], InterpolationMode.BILINEAR, antialias=False), [11])
out["eval3"] = F.center_crop(x, [11])  # resize to the shorter side (13) is the identity


def pipeline(t, crop, flip, order, factors, gray, blur_k, sigma, solarize, size):
    """BYOL's view transform with every random choice fixed."""
    y = resized_crop(t, *crop, size, size)
    if flip:
        y = F.hflip(y)
    for op in order:
        if op == 0:
            y = F.adjust_brightness(y, factors[0])
        elif op == 1:
            y = F.adjust_contrast(y, factors[1])
        elif op == 2:
            y = F.adjust_saturation(y, factors[2])
        else:
            y = F.adjust_hue(y, factors[3])
    if gray:
        y = F.rgb_to_grayscale(y, 3)
    if sigma > 0:
        y = F.gaussian_blur(y, [blur_k, blur_k], [sigma, sigma])
    if solarize:
        y = F.solarize(y, 0.5)
    return F.normalize(y, mean, std)


# params: top left h w | flip | n_ops order[4] | b c s h | gray | sigma (0: no blur) | solarize
pipes = [
    ((1, 2, 10, 12), 1, [3, 0, 2, 1], [1.2, 0.7, 1.15, -0.06], 0, 1.1, 1),
    ((0, 3, 13, 9), 0, [1, 3], [1.0, 1.3, 1.0, 0.09], 1, 0.4, 0),
    ((5, 0, 8, 17), 1, [], [1.0, 1.0, 1.0, 0.0], 0, 0.0, 1),
]
for i, (crop, flip, order, fac, gray, sigma, sol) in enumerate(pipes):
    out[f"pipe{i}_p"] = np.array(list(crop) + [flip, len(order)] + order + [0] * (4 - len(order)) + fac +
                                 [gray, sigma, sol], dtype=np.float32)
    out[f"pipe{i}"] = pipeline(x, crop, flip, order, [float(np.float32(f)) for f in fac], gray, 5,
                               float(np.float32(sigma)), sol, 16)

fixture.write(os.path.join(HERE, "fixtures", "augment_ops.bin"), out)
print("wrote", len(out), "tensors")
