"""bench_step_torch.py - the PyTorch comparison for bench_step.c (a baseline, not part of
nnclr): the same NNCLR step (backbone on both views, 512-512-128 projector, 512 predictor,
top-1 NN from a queue, symmetric InfoNCE, LARS, queue push), 2 threads, best of the default
(NCHW) and channels_last formats. Images/s counts one view's batch per step, like bench_step.

    /usr/bin/python3 bench/bench_step_torch.py ARCH CHANNELS SIZE BATCH QUEUE [ITERS] [cifar|imagenet]
"""
import contextlib
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from gen_resnet import CifarResNet, torchvision_backbone  # noqa: E402

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))


class LARS(torch.optim.Optimizer):
    """The common PyTorch LARS (Barlow Twins), biases and BN excluded via 'lars': False groups."""

    def __init__(self, groups, lr, weight_decay=1e-6, momentum=0.9, eta=0.001):
        super().__init__(groups, dict(lr=lr, weight_decay=weight_decay, momentum=momentum, eta=eta, lars=True))

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                dp = p.grad
                if g["lars"]:
                    dp = dp.add(p, alpha=g["weight_decay"])
                    pn, un = torch.norm(p), torch.norm(dp)
                    q = torch.where(pn > 0, torch.where(un > 0, g["eta"] * pn / un, torch.ones_like(pn)),
                                    torch.ones_like(pn))
                    dp = dp.mul(q)
                st = self.state[p]
                if "mu" not in st:
                    st["mu"] = torch.zeros_like(p)
                mu = st["mu"]
                mu.mul_(g["momentum"]).add_(dp)
                p.add_(mu, alpha=-g["lr"])


def nnclr_loss(nn_, p, tau):
    nn_ = F.normalize(nn_, dim=1)
    p = F.normalize(p, dim=1)
    logits = nn_ @ p.T / tau
    return F.cross_entropy(logits, torch.arange(p.shape[0]))


def amp():
    # TORCH_PRECISION=bf16: PyTorch's own mixed precision on CPU (autocast to bfloat16)
    if os.environ.get("TORCH_PRECISION") == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def main():
    arch, c, size, batch, qsize = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    iters = int(sys.argv[6]) if len(sys.argv) > 6 else 5
    cifar_stem = (sys.argv[7] if len(sys.argv) > 7 else "cifar") != "imagenet"
    n = {"resnet20": 3, "resnet32": 5, "resnet56": 9}.get(arch)
    results = []
    for fmt in ("default", "channels_last"):
        torch.manual_seed(0)
        backbone = CifarResNet(n, c) if n else torchvision_backbone(arch, c, cifar_stem)
        fdim = backbone(torch.zeros(2, c, size, size)).shape[1]
        proj = nn.Sequential(nn.Linear(fdim, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, 512),
                             nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, 128), nn.BatchNorm1d(128))
        pred = nn.Sequential(nn.Linear(128, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, 128))
        model = nn.ModuleList([backbone, proj, pred]).train()
        x1, x2 = torch.randn(batch, c, size, size), torch.randn(batch, c, size, size)
        if fmt == "channels_last":
            backbone.to(memory_format=torch.channels_last)
            x1 = x1.contiguous(memory_format=torch.channels_last)
            x2 = x2.contiguous(memory_format=torch.channels_last)
        decay = [p for p in model.parameters() if p.dim() > 1]
        nodecay = [p for p in model.parameters() if p.dim() <= 1]
        opt = LARS([{"params": decay}, {"params": nodecay, "lars": False, "weight_decay": 0.0}], lr=0.3 * batch / 256)
        queue = F.normalize(torch.randn(qsize, 128), dim=1)
        ptr = 0
        best, total = 1e30, 0.0
        for it in range(iters + 1):
            t0 = time.perf_counter()
            with amp():
                z1, z2 = proj(backbone(x1)), proj(backbone(x2))
                p1, p2 = pred(z1), pred(z2)
            z1, z2, p1, p2 = z1.float(), z2.float(), p1.float(), p2.float()
            with torch.no_grad():
                zn1, zn2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
                nn1 = queue[(zn1 @ queue.T).argmax(dim=1)]
                nn2 = queue[(zn2 @ queue.T).argmax(dim=1)]
            loss = 0.5 * nnclr_loss(nn1, p2, 0.1) + 0.5 * nnclr_loss(nn2, p1, 0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                idx = (torch.arange(batch) + ptr) % qsize
                queue[idx] = zn1
                ptr = (ptr + batch) % qsize
            t = time.perf_counter() - t0
            if it == 0:
                continue
            total += t
            best = min(best, t)
        results.append((best, total / iters, fmt))
    best, mean, fmt = min(results)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    tag = "torch" if os.environ.get("TORCH_PRECISION") != "bf16" else "torch-bf16"
    print("%-10s step %-9s %dx%dx%d b%-4d Q%-6d threads %d  %.3f s (mean %.3f)  %.1f img/s  (%s; other format %.3f s)  "
          "peak RSS %.0f MiB" % (tag, arch, c, size, size, batch, qsize, torch.get_num_threads(), best, mean, batch / best, fmt,
                                max(r[0] for r in results), rss))


if __name__ == "__main__":
    main()
