"""bench_pipeline_torch.py - the baseline of bench_pipeline.c: torchvision + PIL on the same
folder, one thread: PIL open + decode (full size; draft mode is not what torchvision does) and
two views of the BYOL augmentations (RandomResizedCrop 224, flip, ColorJitter 0.4/0.4/0.2/0.1
p 0.8, grayscale p 0.2, GaussianBlur 23 p 1.0 / 0.1, solarize p 0 / 0.2, ToTensor, Normalize).

    /usr/bin/python3 bench/bench_pipeline_torch.py FOLDER [passes]
"""
import glob
import sys
import time

import torch
import torchvision.transforms as T
from PIL import Image

torch.set_num_threads(1)
folder = sys.argv[1]
passes = int(sys.argv[2]) if len(sys.argv) > 2 else 1
files = sorted(glob.glob(folder + "/*/*.jpg"))
norm = T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def view(blur_p, sol_p):
    return T.Compose([
        T.RandomResizedCrop(224, scale=(0.08, 1.0)),
        T.RandomHorizontalFlip(),
        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.2, 0.1)], p=0.8),
        T.RandomGrayscale(p=0.2),
        T.RandomApply([T.GaussianBlur(23, sigma=(0.1, 2.0))], p=blur_p),
        T.RandomSolarize(128, p=sol_p) if sol_p > 0 else T.Lambda(lambda x: x),
        T.ToTensor(), norm])


v1, v2 = view(1.0, 0.0), view(0.1, 0.2)
torch.manual_seed(1)
t0 = time.time()
n = 0
s = 0.0
for _ in range(passes):
    for f in files:
        img = Image.open(f).convert("RGB")
        a, b = v1(img), v2(img)
        s += float(a[0, 0, 0]) + float(b[0, 0, 0])
        n += 1
t = time.time() - t0
print("torch   %-42s %8.1f images/s  (%d images, %.2f s, 1 thread)" % ("PIL decode + 2 views (torchvision 0.14)", n / t, n, t))
