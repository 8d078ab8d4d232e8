"""bench_backbone_torch.py - the PyTorch comparison for bench_backbone.c (a baseline, not part
of nnclr): the same backbone, forward + backward of two views, 2 threads, best of the default
(NCHW) and channels_last memory formats. Same output format as bench_backbone.

    /usr/bin/python3 bench/bench_backbone_torch.py ARCH CHANNELS SIZE BATCH [ITERS] [cifar|imagenet]
"""
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from gen_resnet import CifarResNet, torchvision_backbone  # noqa: E402

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))


def run(model, x1, x2, df, iters):
    best, total = 1e30, 0.0
    for it in range(iters + 1):
        t0 = time.perf_counter()
        f1 = model(x1)
        f2 = model(x2)
        ((f1 * df).sum() + (f2 * df).sum()).backward()
        t = time.perf_counter() - t0
        if it == 0:
            continue
        total += t
        best = min(best, t)
    return best, total / iters


def main():
    arch, c, size, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    iters = int(sys.argv[5]) if len(sys.argv) > 5 else 5
    cifar_stem = (sys.argv[6] if len(sys.argv) > 6 else "cifar") != "imagenet"
    n = {"resnet20": 3, "resnet32": 5, "resnet56": 9}.get(arch)
    results = []
    for fmt in ("default", "channels_last"):
        torch.manual_seed(0)
        model = CifarResNet(n, c) if n else torchvision_backbone(arch, c, cifar_stem)
        model.train()
        x1 = torch.randn(batch, c, size, size)
        x2 = torch.randn(batch, c, size, size)
        if fmt == "channels_last":
            model = model.to(memory_format=torch.channels_last)
            x1 = x1.contiguous(memory_format=torch.channels_last)
            x2 = x2.contiguous(memory_format=torch.channels_last)
        feat_dim = model(x1[:2]).shape[1]
        df = torch.randn(batch, feat_dim) / batch
        best, mean = run(model, x1, x2, df, iters)
        results.append((best, mean, fmt))
    best, mean, fmt = min(results)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("torch  %-9s %dx%dx%d b%-4d threads %d  step %.3f s (mean %.3f)  %.1f img/s  (%s; other format %.3f s)  "
          "peak RSS %.0f MiB" % (arch, c, size, size, batch, torch.get_num_threads(), best, mean, 2 * batch / best,
                                fmt, max(r[0] for r in results), rss))


if __name__ == "__main__":
    main()
