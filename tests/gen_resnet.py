"""gen_resnet.py - PyTorch reference for whole-backbone parity (tests/test_resnet.c).

Builds each backbone in PyTorch (torchvision topology; CIFAR ResNet-20 defined here), in
float64 so the reference itself carries no float32 rounding, sets its weights, runs three
training-mode forwards on a batch of 4 (BN running statistics), then a backward of
sum(feat * dfeat) for a random upstream gradient dfeat.

ResNet-20 weights are random (PyTorch init) and exported in full. The large networks use
weights from a counter-based hash (fmix32 of the tensor-name hash and the element index),
which tests/test_resnet.c computes bit-identically, so the fixture stays small: it holds the
inputs, features, running statistics, and per gradient tensor 64 sampled elements, the sum of
squares and the dot product with a hash vector.

Conditioning. Batch norm over a batch of 4 (as few as 16 values per channel in ResNet-50's last
stage at 64x64) and ReLU kinks make some gradients ill-conditioned: a pre-activation within
float32 rounding of zero flips its ReLU, and the error spreads through the BN statistics. So
the same network is also run in float32 PyTorch, and for every checked quantity the fixture
stores PyTorch-float32's own error against the float64 reference ("tol.*"). The C test accepts
max(stated tolerance, 2 x PyTorch-float32's error): within 1e-4 / 1e-3 wherever float32 PyTorch
is, and never worse than twice what PyTorch itself achieves.

Run: /usr/bin/python3 tests/gen_resnet.py   (writes tests/fixtures/resnet_*.bin)
"""
import copy
import os

import numpy as np
import torch
import torch.nn as nn
import torchvision

import fixture

torch.set_num_threads(2)
HERE = os.path.dirname(os.path.abspath(__file__))
M32 = np.uint64(0xFFFFFFFF)


def fnv1a(name):
    h = 2166136261
    for b in name.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def fmix32(h):
    h = h.astype(np.uint64)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & M32
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & M32
    h ^= h >> np.uint64(16)
    return h


def hash_uniform(name, n):
    """u in [0, 1): fmix32(fnv1a(name) ^ (i * 0x9E3779B1 mod 2^32)) / 2^32."""
    i = np.arange(n, dtype=np.uint64)
    h = fmix32((i * np.uint64(0x9E3779B1) & M32) ^ np.uint64(fnv1a(name)))
    return h.astype(np.float64) / 4294967296.0


def sample_index(name, size, count=64):
    j = np.arange(count, dtype=np.uint64) + np.uint64(12345)
    h = fmix32(np.uint64(fnv1a(name)) ^ j)
    return (h % np.uint64(size)).astype(np.int64)


def hash_weights(model):
    """Conv: U(-b, b), b = sqrt(3) * sqrt(2 / fan_out); BN gamma 1 + 0.2 (u - .5), beta 0.2 (u - .5)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            full = "backbone." + name
            u = hash_uniform(full, p.numel()).reshape(p.shape)
            if p.dim() == 4:
                fan_out = p.shape[0] * p.shape[2] * p.shape[3]
                b = np.sqrt(3.0) * np.sqrt(2.0 / fan_out)
                p.copy_(torch.from_numpy((2 * u - 1) * b).to(torch.float32).double())
            elif name.endswith("weight"):
                p.copy_(torch.from_numpy(1 + 0.2 * (u - 0.5)).to(torch.float32).double())
            else:
                p.copy_(torch.from_numpy(0.2 * (u - 0.5)).to(torch.float32).double())


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        idt = x if self.downsample is None else self.downsample(x)
        return self.relu(out + idt)


class CifarResNet(nn.Module):
    """ResNet-20/32/56 (He et al. 2016, CIFAR), 1x1-conv+BN projection shortcuts."""

    def __init__(self, n, cin):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        c = 16
        for s, w in enumerate((16, 32, 64)):
            blocks = []
            for i in range(n):
                blocks.append(BasicBlock(c, w, 2 if (i == 0 and s > 0) else 1))
                c = w
            setattr(self, "layer%d" % (s + 1), nn.Sequential(*blocks))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)


def torchvision_backbone(arch, cin, cifar_stem):
    m = getattr(torchvision.models, arch)()
    if cifar_stem:
        m.conv1 = nn.Conv2d(cin, 64, 3, 1, 1, bias=False)
        m.maxpool = nn.Identity()
    elif cin != 3:
        m.conv1 = nn.Conv2d(cin, 64, 7, 2, 3, bias=False)
    m.fc = nn.Identity()
    return m


def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def run(model, x, dfeat_seed):
    model.train()
    for _ in range(3):
        feat = model(x)
    dfeat = torch.randn(feat.shape, generator=torch.Generator().manual_seed(dfeat_seed)).to(feat.dtype)
    (feat * dfeat).sum().backward()
    model.eval()
    with torch.no_grad():
        feat_eval = model(x)
    return feat, dfeat, feat_eval


def relu_margin(model, x):
    """Smallest |input| over every ReLU of a training forward (the kink distance)."""
    found = []

    def pre(mod, inp):
        found.append(inp[0].detach().abs().min().item())

    hooks = [m.register_forward_pre_hook(pre) for m in model.modules() if isinstance(m, nn.ReLU)]
    with torch.no_grad():
        model.train()
        model(x)
    for h in hooks:
        h.remove()
    return min(found)


def pick_input(model, cin, size, seed, tries):
    """The input among `tries` seeds whose ReLU inputs stay farthest from the kink, so that
    float32 rounding (about 1e-6 here) cannot flip a ReLU between nnclr and the reference."""
    best = None
    for t in range(tries):
        g = torch.Generator().manual_seed(seed * 1000 + t)
        x = (torch.rand(4, cin, size, size, generator=g) * 2 - 1).double()
        probe = copy.deepcopy(model)
        margin = relu_margin(probe, x)
        if best is None or margin > best[0]:
            best = (margin, x)
    return best


def make(name, model, cin, size, full_weights, seed, tries=40):
    model = model.double()
    if not full_weights:
        hash_weights(model)
    margin, x = pick_input(model, cin, size, seed, tries)
    m32 = copy.deepcopy(model).float()
    out = {"x": x, "relu_margin": [margin]}
    feat, dfeat, feat_eval = run(model, x, seed + 100)
    f32, _, fe32 = run(m32, x.float(), seed + 100)
    out["tol.feat"] = [rel(f32.detach(), feat.detach())]
    out["tol.feat_eval"] = [rel(fe32, feat_eval)]
    sd32 = m32.state_dict()
    out["dfeat"] = dfeat
    out["feat"] = feat
    out["feat_eval"] = feat_eval
    sd = model.state_dict()
    for k, v in sd.items():
        if k.endswith("running_mean") or k.endswith("running_var"):
            out["buf.backbone." + k] = v
            out["tol.buf.backbone." + k] = [rel(sd32[k], v)]
    names = []
    p32 = dict(m32.named_parameters())
    for k, p in model.named_parameters():
        full = "backbone." + k
        names.append(full)
        gr = p.grad.detach().numpy().reshape(-1)
        g32 = p32[k].grad.detach().double().numpy().reshape(-1)
        if full_weights:
            out["param." + full] = p.detach()
            out["grad." + full] = p.grad
            out["tol.grad." + full] = [rel(g32, gr)]
        else:
            idx = sample_index(full, gr.size)
            v = hash_uniform(full + "#dot", gr.size) - 0.5
            out["gs." + full] = np.concatenate([gr[idx], [np.sum(gr * gr), np.sum(gr * v)]])
            ss, ss32 = np.sum(gr * gr), np.sum(g32 * g32)
            dot, dot32 = np.sum(gr * v), np.sum(g32 * v)
            out["tol.gs." + full] = [rel(g32[idx], gr[idx]), abs(ss32 - ss) / max(ss, 1e-300),
                                     abs(dot32 - dot) / max(np.sqrt(ss * np.sum(v * v)), 1e-300)]
    out["num_params"] = np.array([len(names), sum(p.numel() for p in model.parameters())], dtype=np.float64)
    fixture.write(os.path.join(HERE, "fixtures", "resnet_%s.bin" % name), out)
    print(name, "params", len(names), "feat", tuple(feat.shape), "smallest |ReLU input| %.3g" % margin)


if __name__ == "__main__":
    torch.manual_seed(0)
    make("resnet20_c3", CifarResNet(3, 3), 3, 32, True, 1)
    make("resnet20_c1_28", CifarResNet(3, 1), 1, 28, False, 2)
    make("resnet18_cifar", torchvision_backbone("resnet18", 3, True), 3, 32, False, 3)
    make("resnet50_in64", torchvision_backbone("resnet50", 3, False), 3, 64, False, 4)
