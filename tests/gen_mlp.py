"""gen_mlp.py - PyTorch reference for the plain-matrix ops and the NNCLR heads.

Writes tests/fixtures/mlp_*.bin, read by tests/test_linear.c, test_batchnorm1d.c,
test_l2norm.c and test_heads.c. Inputs and weights are float32 values; the reference is
computed in float64 from them, so it carries no float32 rounding of its own.

  mlp_linear.bin     nn.Linear with and without bias: forward, dx, dW, db for an upstream dy
  mlp_bn1d.bin       nn.BatchNorm1d, affine and not: 3 training forwards (running stats after
                     each), backward of the last, then an eval forward
  mlp_l2norm.bin     F.normalize(dim=1): forward and backward, one row below eps
  mlp_heads.bin      solo-learn NNCLR projector + predictor (n=8, F=16, H=32, D=8, P=24):
                     weights, z, p, dfeat and every parameter gradient of
                     L = sum(z * dz) + sum(p * dp), running stats after the forward, an eval
                     forward, and the projector-only gradients of sum(z * dz)

Run: /usr/bin/python3 tests/gen_mlp.py
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

import fixture

torch.set_num_threads(2)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")


def f32(*shape, scale=1.0, offset=0.0, gen=None):
    """Random float32 values, returned as float64 (exact)."""
    return (torch.randn(*shape, generator=gen) * scale + offset).float().double()


def gen_linear():
    g = torch.Generator().manual_seed(1)
    n, fin, fout = 5, 7, 6
    x, w, b = f32(n, fin, gen=g), f32(fout, fin, gen=g), f32(fout, gen=g)
    dy = f32(n, fout, gen=g)
    out = {"x": x, "w": w, "b": b, "dy": dy}
    for name, bias in (("", b), ("nobias_", None)):
        xr, wr = x.clone().requires_grad_(), w.clone().requires_grad_()
        br = bias.clone().requires_grad_() if bias is not None else None
        y = F.linear(xr, wr, br)
        (y * dy).sum().backward()
        out[name + "y"] = y
        out[name + "dx"] = xr.grad
        out[name + "dw"] = wr.grad
        if br is not None:
            out[name + "db"] = br.grad
    fixture.write(os.path.join(OUT, "mlp_linear.bin"), out)


def gen_bn1d():
    g = torch.Generator().manual_seed(2)
    n, c = 6, 5
    out = {}
    # Channels with a large common offset and mixed scales: the two-pass statistics matter.
    offset = torch.tensor([0.0, 3.0, -2.0, 100.0, 0.5]).double()
    scale = torch.tensor([1.0, 0.1, 2.0, 0.5, 3.0]).double()
    xs = [(f32(n, c, gen=g) * scale + offset).float().double() for _ in range(3)]
    x_eval = (f32(n, c, gen=g) * scale + offset).float().double()
    gamma, beta = f32(c, gen=g, offset=1.0, scale=0.3), f32(c, gen=g, scale=0.3)
    dy = f32(n, c, gen=g)
    out.update({"gamma": gamma, "beta": beta, "dy": dy, "x_eval": x_eval})
    for i, x in enumerate(xs):
        out["x%d" % i] = x
    for tag, affine in (("affine_", True), ("plain_", False)):
        bn = nn.BatchNorm1d(c, affine=affine).double()
        if affine:
            with torch.no_grad():
                bn.weight.copy_(gamma)
                bn.bias.copy_(beta)
        bn.train()
        for i, x in enumerate(xs):
            xr = x.clone().requires_grad_()
            y = bn(xr)
            out[tag + "y%d" % i] = y
            out[tag + "running_mean%d" % i] = bn.running_mean.clone()
            out[tag + "running_var%d" % i] = bn.running_var.clone()
        (y * dy).sum().backward()
        out[tag + "dx"] = xr.grad
        if affine:
            out[tag + "dgamma"] = bn.weight.grad
            out[tag + "dbeta"] = bn.bias.grad
        bn.eval()
        with torch.no_grad():
            out[tag + "y_eval"] = bn(x_eval)
    fixture.write(os.path.join(OUT, "mlp_bn1d.bin"), out)


def gen_l2norm():
    g = torch.Generator().manual_seed(3)
    n, d = 5, 6
    x = f32(n, d, gen=g)
    x[1] *= 20.0
    x[3] = (x[3] * 1e-13).float().double()  # norm below eps: clamped
    dy = f32(n, d, gen=g)
    xr = x.clone().requires_grad_()
    y = F.normalize(xr, dim=1)
    (y * dy).sum().backward()
    fixture.write(os.path.join(OUT, "mlp_l2norm.bin"), {"x": x, "dy": dy, "y": y, "dx": xr.grad})


def build_heads(fdim, hid, dim, phid):
    projector = nn.Sequential(
        nn.Linear(fdim, hid), nn.BatchNorm1d(hid), nn.ReLU(),
        nn.Linear(hid, hid), nn.BatchNorm1d(hid), nn.ReLU(),
        nn.Linear(hid, dim), nn.BatchNorm1d(dim))
    predictor = nn.Sequential(
        nn.Linear(dim, phid), nn.BatchNorm1d(phid), nn.ReLU(),
        nn.Linear(phid, dim))
    return projector, predictor


def gen_heads():
    torch.manual_seed(4)
    n, fdim, hid, dim, phid = 8, 16, 32, 8, 24
    projector, predictor = build_heads(fdim, hid, dim, phid)
    # Non-default BN affine parameters and running stats, so every term is exercised.
    with torch.no_grad():
        for m in list(projector) + list(predictor):
            if isinstance(m, nn.BatchNorm1d):
                m.weight.copy_(1.0 + 0.2 * torch.randn(m.num_features))
                m.bias.copy_(0.2 * torch.randn(m.num_features))
                m.running_mean.copy_(0.1 * torch.randn(m.num_features))
                m.running_var.copy_(1.0 + 0.2 * torch.rand(m.num_features))
    projector.double()
    predictor.double()
    g = torch.Generator().manual_seed(5)
    feat = f32(n, fdim, gen=g)
    feat_eval = f32(n, fdim, gen=g)
    dz, dp = f32(n, dim, gen=g), f32(n, dim, gen=g)

    out = {"feat": feat, "feat_eval": feat_eval, "dz": dz, "dp": dp}
    modules = {"projector": projector, "predictor": predictor}
    for prefix, mod in modules.items():
        for k, v in mod.state_dict().items():
            if not k.endswith("num_batches_tracked"):
                out["init.%s.%s" % (prefix, k)] = v.clone()

    def grads_of(loss_fn):
        for mod in modules.values():
            mod.zero_grad(set_to_none=True)
        fr = feat.clone().requires_grad_()
        z = projector(fr)
        p = predictor(z)
        loss_fn(z, p).backward()
        return fr, z, p

    # Full loss, training mode (running stats move once).
    projector.train()
    predictor.train()
    fr, z, p = grads_of(lambda z, p: (z * dz).sum() + (p * dp).sum())
    out.update({"z": z, "p": p, "dfeat": fr.grad})
    for prefix, mod in modules.items():
        for k, v in mod.named_parameters():
            out["grad.%s.%s" % (prefix, k)] = v.grad
        for k, v in mod.named_buffers():
            if not k.endswith("num_batches_tracked"):
                out["after.%s.%s" % (prefix, k)] = v.clone()
    # Eval forward with the updated running stats.
    projector.eval()
    predictor.eval()
    with torch.no_grad():
        ze = projector(feat_eval)
        out["z_eval"] = ze
        out["p_eval"] = predictor(ze)
    # Projector only (no predictor), from the same initial state: dz alone.
    projector.train()
    with torch.no_grad():
        for k, v in projector.state_dict().items():
            if not k.endswith("num_batches_tracked"):
                v.copy_(out["init.projector." + k])
    for mod in modules.values():
        mod.zero_grad(set_to_none=True)
    fr = feat.clone().requires_grad_()
    (projector(fr) * dz).sum().backward()
    out["proj_only.dfeat"] = fr.grad
    for k, v in projector.named_parameters():
        out["proj_only.grad.projector." + k] = v.grad
    fixture.write(os.path.join(OUT, "mlp_heads.bin"), out)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    gen_linear()
    gen_bn1d()
    gen_l2norm()
    gen_heads()
