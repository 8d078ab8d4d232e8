"""gen_ssl.py - PyTorch references for the NNCLR objective pieces.

Writes (run with /usr/bin/python3 from anywhere):
  tests/fixtures/ssl_loss.bin  symmetric InfoNCE loss, tau 0.1 and 0.5, in both modes:
                               "self" (SimCLR positives a_v = z_v, gradients into a and p) and
                               "nn" (a_v = NN(norm(z_v)) from a small support set, no gradient
                               into a), computed in float64 from float32 inputs.
  tests/fixtures/ssl_lars.bin  3 steps of LARS (Barlow Twins / solo-learn exclude_bias_n_norm)
                               and of torch.optim.SGD on a small mixed set of tensors.
  tests/fixtures/ssl_nn.bin    brute-force nearest neighbours (top-1 and top-5) of queries in a
                               random normalised queue.
"""
import os

import torch
import torch.nn.functional as F

import fixture

torch.set_num_threads(2)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")


def nnclr_loss_func(nn, p, temperature):
    """solo-learn's nnclr_loss_func (single process)."""
    nn = F.normalize(nn, dim=-1)
    p = F.normalize(p, dim=-1)
    logits = nn @ p.T / temperature
    n = p.size(0)
    labels = torch.arange(n, device=p.device)
    return F.cross_entropy(logits, labels)


def symmetric_loss(a1, a2, p1, p2, tau):
    return nnclr_loss_func(a1, p2, tau) / 2 + nnclr_loss_func(a2, p1, tau) / 2


def pos_sim(a1, a2, p1, p2):
    c1 = (F.normalize(a1, dim=-1) * F.normalize(p2, dim=-1)).sum(1)
    c2 = (F.normalize(a2, dim=-1) * F.normalize(p1, dim=-1)).sum(1)
    return (c1.mean() + c2.mean()) / 2


def rows(n, d, g):
    """Random rows with varied norms (exercises the normalisation backward)."""
    x = torch.randn(n, d, generator=g)
    return x * (0.5 + 2.5 * torch.rand(n, 1, generator=g))


def gen_loss():
    g = torch.Generator().manual_seed(1234)
    n, d, q = 12, 20, 64
    t = {}
    # Shared inputs (float32 values; references in float64).
    z1, z2, p1, p2 = (rows(n, d, g) for _ in range(4))
    queue = F.normalize(torch.randn(q, d, generator=g), dim=1)
    t["z1"], t["z2"], t["p1"], t["p2"], t["queue"] = z1, z2, p1, p2, queue
    # NN positives (top-1, brute force).
    idx1 = (F.normalize(z1, dim=1) @ queue.T).argmax(1)
    idx2 = (F.normalize(z2, dim=1) @ queue.T).argmax(1)
    t["nn_idx1"], t["nn_idx2"] = idx1.float(), idx2.float()
    for tau, tag in ((0.1, "t01"), (0.5, "t05")):
        # self mode: a = z with gradient.
        a1d, a2d, p1d, p2d = (x.double().clone().requires_grad_(True) for x in (z1, z2, p1, p2))
        loss = symmetric_loss(a1d, a2d, p1d, p2d, tau)
        loss.backward()
        t[f"self_{tag}_loss"] = loss.detach().reshape(1)
        t[f"self_{tag}_pos"] = pos_sim(a1d, a2d, p1d, p2d).detach().reshape(1)
        t[f"self_{tag}_da1"], t[f"self_{tag}_da2"] = a1d.grad, a2d.grad
        t[f"self_{tag}_dp1"], t[f"self_{tag}_dp2"] = p1d.grad, p2d.grad
        # nn mode: a = queue[NN(z)], detached.
        n1, n2 = queue[idx1].double(), queue[idx2].double()
        p1d, p2d = (x.double().clone().requires_grad_(True) for x in (p1, p2))
        loss = symmetric_loss(n1, n2, p1d, p2d, tau)
        loss.backward()
        t[f"nn_{tag}_loss"] = loss.detach().reshape(1)
        t[f"nn_{tag}_pos"] = pos_sim(n1, n2, p1d, p2d).detach().reshape(1)
        t[f"nn_{tag}_dp1"], t[f"nn_{tag}_dp2"] = p1d.grad, p2d.grad
    fixture.write(os.path.join(OUT, "ssl_loss.bin"), t)


class LARS(torch.optim.Optimizer):
    """The common PyTorch LARS (Barlow Twins), with exclusion of biases and norm parameters from
    both weight decay and the trust ratio (solo-learn's exclude_bias_n_norm)."""

    def __init__(self, params, lr, weight_decay=0.0, momentum=0.9, eta=0.001):
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, eta=eta, exclude=False)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                dp = p.grad
                if dp is None:
                    continue
                if not group["exclude"]:
                    dp = dp.add(p, alpha=group["weight_decay"])
                    param_norm = torch.norm(p)
                    update_norm = torch.norm(dp)
                    one = torch.ones_like(param_norm)
                    q = torch.where(param_norm > 0.0,
                                    torch.where(update_norm > 0, (group["eta"] * param_norm / update_norm), one),
                                    one)
                    dp = dp.mul(q)
                state = self.state[p]
                if "mu" not in state:
                    state["mu"] = torch.zeros_like(p)
                mu = state["mu"]
                mu.mul_(group["momentum"]).add_(dp)
                p.add_(mu, alpha=-group["lr"])


# name, shape, kind (0 = TENSOR_WEIGHT, 1 = TENSOR_NO_DECAY), init
LARS_TENSORS = [
    ("conv.weight", (4, 3, 3, 3), 0, "randn"),
    ("bn.weight", (4,), 1, "ones"),
    ("bn.bias", (4,), 1, "randn"),
    ("fc.weight", (5, 8), 0, "randn"),
    ("fc.bias", (5,), 1, "randn"),
    ("zero.weight", (3, 4), 0, "zeros"),   # ||w|| = 0 at the first step: trust ratio 1
    ("frozen.weight", (6,), 0, "zeros"),   # zero weight and zero gradient: nothing moves
]
LARS_LRS = [0.5, 0.3, 0.1]
LARS_WD, LARS_MOM, LARS_ETA = 1e-2, 0.9, 0.02


def gen_lars():
    g = torch.Generator().manual_seed(99)
    t = {"hyper": torch.tensor([LARS_WD, LARS_MOM, LARS_ETA] + LARS_LRS)}
    init = {}
    for name, shape, kind, how in LARS_TENSORS:
        if how == "randn":
            init[name] = torch.randn(*shape, generator=g)
        elif how == "ones":
            init[name] = torch.ones(*shape)
        else:
            init[name] = torch.zeros(*shape)
        t[f"init.{name}"] = init[name]
        t[f"kind.{name}"] = torch.tensor([float(kind)])
    grads = []
    for s in range(3):
        gs = {}
        for name, shape, kind, how in LARS_TENSORS:
            gs[name] = torch.zeros(*shape) if name == "frozen.weight" else 0.1 * torch.randn(*shape, generator=g)
            t[f"grad{s}.{name}"] = gs[name]
        grads.append(gs)
    for opt_name in ("lars", "sgd"):
        params = {name: init[name].clone().requires_grad_(True) for name, *_ in LARS_TENSORS}
        if opt_name == "lars":
            groups = [{"params": [params[n] for n, _, k, _ in LARS_TENSORS if k == 0]},
                      {"params": [params[n] for n, _, k, _ in LARS_TENSORS if k == 1], "exclude": True}]
            opt = LARS(groups, lr=LARS_LRS[0], weight_decay=LARS_WD, momentum=LARS_MOM, eta=LARS_ETA)
        else:
            groups = [{"params": [params[n] for n, _, k, _ in LARS_TENSORS if k == 0]},
                      {"params": [params[n] for n, _, k, _ in LARS_TENSORS if k == 1], "weight_decay": 0.0}]
            opt = torch.optim.SGD(groups, lr=LARS_LRS[0], momentum=LARS_MOM, weight_decay=LARS_WD)
        for s in range(3):
            for group in opt.param_groups:
                group["lr"] = LARS_LRS[s]
            for name, p in params.items():
                p.grad = grads[s][name].clone()
            opt.step()
            for name, p in params.items():
                t[f"{opt_name}.step{s}.{name}"] = p.detach().clone()
        for name, p in params.items():
            st = opt.state[p]
            t[f"{opt_name}.mu.{name}"] = st["mu"] if "mu" in st else st["momentum_buffer"]
    fixture.write(os.path.join(OUT, "ssl_lars.bin"), t)


def gen_nn():
    g = torch.Generator().manual_seed(7)
    q, d, b = 300, 16, 20
    queue = F.normalize(torch.randn(q, d, generator=g), dim=1)
    z = F.normalize(torch.randn(b, d, generator=g), dim=1)
    sim = z.double() @ queue.double().T
    top5 = sim.topk(5, dim=1)
    fixture.write(os.path.join(OUT, "ssl_nn.bin"), {
        "queue": queue, "query": z,
        "top1": sim.argmax(1).float(),
        "top5": top5.indices.float(), "top5_sim": top5.values,
    })


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    gen_loss()
    gen_lars()
    gen_nn()
