"""bench_support_set_torch.py - the PyTorch baseline for bench_support_set.c.

The support-set lookup as solo-learn writes it: sim = z @ queue.T, argmax (or topk + a uniform
pick for top-5), gather. Best-of-runs milliseconds and GFLOP/s = 2 b Q D / t on 2 threads.

Usage: /usr/bin/python3 bench/bench_support_set_torch.py [b Q D runs]  (defaults 256 98304 256 7)
"""
import sys
import time

import torch
import torch.nn.functional as F


def best_of(fn, runs):
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    args = [int(a) for a in sys.argv[1:]]
    b, q, d, runs = args + [256, 98304, 256, 7][len(args):]
    torch.set_num_threads(2)
    g = torch.Generator().manual_seed(1)
    queue = F.normalize(torch.randn(q, d, generator=g), dim=1)
    z = F.normalize(torch.randn(b, d, generator=g), dim=1)

    @torch.no_grad()
    def top1():
        idx = (z @ queue.T).max(dim=1)[1]
        return queue[idx]

    @torch.no_grad()
    def top5():
        idx = (z @ queue.T).topk(5, dim=1)[1]
        pick = torch.randint(0, 5, (b, 1), generator=g)
        return queue[idx.gather(1, pick).squeeze(1)]

    flop = 2.0 * b * q * d
    print(f"torch support set lookup: b={b} Q={q} D={d} threads={torch.get_num_threads()} (best of {runs})")
    t1 = best_of(top1, runs)
    print(f"top-1: {t1 * 1e3:8.2f} ms  {flop / t1 * 1e-9:7.1f} GFLOP/s")
    t5 = best_of(top5, runs)
    print(f"top-5: {t5 * 1e3:8.2f} ms  {flop / t5 * 1e-9:7.1f} GFLOP/s")


if __name__ == "__main__":
    main()
