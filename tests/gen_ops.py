"""gen_ops.py - PyTorch references for the backbone ops (conv2d, batchnorm, max/avg pooling).

Writes tests/fixtures/ops_conv.bin, ops_bn.bin, ops_pool.bin, read by tests/test_conv2d.c,
test_batchnorm.c and test_pool.c. Inputs are float32; the references are computed in float64
from those exact float32 values and then rounded, so the C tests measure only nnclr's error.
All tensors are plain NCHW (the tests convert to and from nChw8c). Each case stores its sizes
in a "<case>.cfg" tensor so the C side is driven by the fixture.

Run: /usr/bin/python3 tests/gen_ops.py   (from the repository root or tests/)
"""
import os

import torch
import torch.nn.functional as F

import fixture

torch.set_num_threads(2)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
gen = torch.Generator().manual_seed(1234)


def randn(*shape, scale=1.0):
    return (torch.randn(*shape, generator=gen) * scale).float()


def conv_cases():
    # name: (n, ic, ih, iw, oc, k, stride, pad, src_plain, need_dx)
    cases = {
        "b_1x1s1": (2, 12, 9, 9, 20, 1, 1, 0, 0, 1),
        "b_1x1s2": (2, 20, 9, 9, 12, 1, 2, 0, 0, 1),
        "b_3x3s1": (2, 12, 8, 8, 20, 3, 1, 1, 0, 1),
        "b_3x3s2": (2, 20, 9, 9, 12, 3, 2, 1, 0, 1),
        "b_7x7s2": (2, 12, 12, 12, 20, 7, 2, 3, 0, 1),
        "b_3x3s1_c16": (2, 16, 7, 7, 16, 3, 1, 1, 0, 1),
        "p_1x1s1": (2, 3, 9, 9, 12, 1, 1, 0, 1, 0),
        "p_1x1s2": (2, 3, 9, 9, 20, 1, 2, 0, 1, 0),
        "p_3x3s1": (2, 3, 8, 8, 12, 3, 1, 1, 1, 1),
        "p_3x3s2": (2, 3, 9, 9, 20, 3, 2, 1, 1, 0),
        "p_7x7s2": (2, 3, 16, 16, 12, 7, 2, 3, 1, 0),
    }
    t = {}
    for name, cfg in cases.items():
        n, ic, ih, iw, oc, k, s, p, _, _ = cfg
        x = randn(n, ic, ih, iw)
        w = randn(oc, ic, k, k, scale=(2.0 / (ic * k * k)) ** 0.5)
        x64 = x.double().requires_grad_()
        w64 = w.double().requires_grad_()
        y = F.conv2d(x64, w64, stride=s, padding=p)
        dy = randn(*y.shape)
        y.backward(dy.double())
        t[name + ".cfg"] = torch.tensor(cfg, dtype=torch.float32)
        t[name + ".x"] = x
        t[name + ".w"] = w
        t[name + ".dy"] = dy
        t[name + ".y"] = y
        t[name + ".dx"] = x64.grad
        t[name + ".dw"] = w64.grad
    fixture.write(os.path.join(OUT, "ops_conv.bin"), t)


def bn_cases():
    # name: (n, c, h, w, fuse_relu)
    cases = {"bn": (2, 12, 5, 5, 0), "bnr": (2, 12, 5, 5, 1), "bnr_c16": (2, 16, 4, 4, 1)}
    t = {}
    for name, cfg in cases.items():
        n, c, h, w, relu = cfg
        bn = torch.nn.BatchNorm2d(c, eps=1e-5, momentum=0.1).double()
        gamma = (1.0 + randn(c, scale=0.3))
        beta = randn(c, scale=0.3)
        with torch.no_grad():
            bn.weight.copy_(gamma.double())
            bn.bias.copy_(beta.double())
        shift = randn(1, c, 1, 1, scale=2.0)
        spread = randn(1, c, 1, 1, scale=0.5).abs() + 0.5
        xs = [(randn(n, c, h, w) * spread + shift).float() for _ in range(3)]
        bn.train()
        for i in range(3):
            x64 = xs[i].double().requires_grad_()
            y = bn(x64)
            if relu:
                y = F.relu(y)
        dy = randn(*y.shape)
        y.backward(dy.double())
        x3 = xs[2].double()
        t[name + ".cfg"] = torch.tensor(cfg, dtype=torch.float32)
        t[name + ".gamma"] = gamma
        t[name + ".beta"] = beta
        for i in range(3):
            t[name + ".x%d" % (i + 1)] = xs[i]
        t[name + ".dy"] = dy
        t[name + ".y"] = y
        t[name + ".mean"] = x3.mean(dim=(0, 2, 3))
        t[name + ".var"] = x3.var(dim=(0, 2, 3), unbiased=False)
        t[name + ".running_mean"] = bn.running_mean
        t[name + ".running_var"] = bn.running_var
        t[name + ".dx"] = x64.grad
        t[name + ".dgamma"] = bn.weight.grad
        t[name + ".dbeta"] = bn.bias.grad
        # Eval mode on x3 with the running statistics above.
        rm = bn.running_mean.float().double()
        rv = bn.running_var.float().double()
        ye = F.batch_norm(x3, rm, rv, gamma.double(), beta.double(), training=False, eps=1e-5)
        t[name + ".y_eval"] = F.relu(ye) if relu else ye
    fixture.write(os.path.join(OUT, "ops_bn.bin"), t)


def pool_cases():
    t = {}
    # name: (n, c, h, w, k, stride, pad)
    for name, cfg in {"mp9": (2, 12, 9, 9, 3, 2, 1), "mp8": (2, 20, 8, 8, 3, 2, 1)}.items():
        n, c, h, w, k, s, p = cfg
        x64 = randn(n, c, h, w).double().requires_grad_()
        y = F.max_pool2d(x64, k, s, p)
        dy = randn(*y.shape)
        y.backward(dy.double())
        t[name + ".cfg"] = torch.tensor(cfg, dtype=torch.float32)
        t[name + ".x"] = x64.detach()
        t[name + ".y"] = y
        t[name + ".dy"] = dy
        t[name + ".dx"] = x64.grad
    n, c, h, w = 2, 12, 3, 3
    x64 = randn(n, c, h, w).double().requires_grad_()
    y = x64.mean(dim=(2, 3))
    dy = randn(n, c)
    y.backward(dy.double())
    t["gap.cfg"] = torch.tensor((n, c, h, w), dtype=torch.float32)
    t["gap.x"] = x64.detach()
    t["gap.y"] = y
    t["gap.dy"] = dy
    t["gap.dx"] = x64.grad
    fixture.write(os.path.join(OUT, "ops_pool.bin"), t)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    conv_cases()
    bn_cases()
    pool_cases()
