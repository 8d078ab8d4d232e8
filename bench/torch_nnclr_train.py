"""torch_nnclr_train.py - a PyTorch implementation of `nnclr train`'s recipe, as a COMPARISON
BASELINE for the time-to-accuracy rows of docs/RESULTS.md (bench/results.sh torch). It is not
part of nnclr and nothing in the tool uses it.

The recipe is the small preset of `nnclr train` (cli/options.c), flag for flag:
  * backbone ResNet-14 (--arch: the CIFAR 6n+2 family; `CifarResNet` of tests/gen_resnet.py), features after global
    average pooling (64-d);
  * projector Linear-BN-ReLU-Linear-BN-ReLU-Linear-BN (512-512-128), predictor
    Linear-BN-ReLU-Linear (512) (--no-predictor: p = z);
  * support set: a FIFO queue of Q L2-normalised z1 (started as Q random unit vectors, as
    src/ssl/support_set.c), the positive of each view is its top-1 cosine nearest neighbour
    (--topk K: drawn uniformly among the K nearest), looked up before the batch is pushed,
    no gradient through it; `--positive self` is the SimCLR baseline (positive = z itself);
  * loss 1/2 InfoNCE(NN(z1), p2) + 1/2 InfoNCE(NN(z2), p1), both sides L2-normalised, tau 0.1;
  * LARS (momentum 0.9, trust coefficient eta; biases and BN parameters get neither weight
    decay nor the trust ratio, as src/optim/lars.c), lr = base_lr x batch / 256, linear warm-up
    for --warmup-epochs then cosine decay per step to 0 at --epochs (src/optim/schedule.c);
  * augmentations of src/data/augment.c on float tensors (torchvision 0.14 tensor ops, which
    nnclr follows): RandomResizedCrop(scale (crop-scale-min, 1), ratio (3/4, 4/3), bilinear,
    no antialias) -> flip 0.5 -> ColorJitter p 0.8 -> grayscale -> solarize (threshold 0.5,
    view 1 only, p 0.2) -> Normalize. Presets: `cifar` jitter (0.4, 0.4, 0.2, 0.1), gray 0.2,
    no blur; `gray` (1-channel data) jitter (0.4, 0.4, 0, 0), no grayscale, no blur;
    `crop-only` crop + flip. --aug-backend pil runs the same ops on PIL images (faster, uint8
    rounding between ops);
  * evaluation: weighted kNN as src/eval/knn.c (k 200, tau 0.1): cosine similarity of backbone
    features (eval-mode BN) of un-augmented, normalised images; train set as memory, test set
    as queries; votes exp((s_j - s_0) / tau) per class (the same ranking as exp(s_j / tau));
    top-1 = the best class (ties: lowest class index), top-5 = the true class ranks < 5.

Images/s counts one view's batch per step (as nnclr's progress line and bench_step).

    /usr/bin/python3 bench/torch_nnclr_train.py --data cifar10 --data-path ../shared/data/cifar10 \
        --epochs 8 --time-budget-min 45
    /usr/bin/python3 bench/torch_nnclr_train.py --limit-train 2048 --limit-test 1000 --epochs 1   # smoke

Prints a progress line every --log-every steps (default 50) and at the end ONE line
    RESULT tool=pytorch data=... positive=... epochs_done=E steps=S train_s=T img_per_s=X knn_top1=A knn_top5=B
(accuracies in percent; epochs_done is fractional when --time-budget-min stopped the run, whose
learning-rate schedule still ran to --epochs). --limit-train / --limit-test N keep the first N
images (smoke tests). --calibrate-steps N trains N + 1 steps with the real data loader, prints
    CALIBRATE tool=pytorch steps=N img_per_s=X
(the first step, warm-up, not timed) and exits without evaluation: bench/results.sh uses it to
pick --epochs for a time budget.
"""
import argparse
import gzip
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from gen_resnet import CifarResNet  # noqa: E402

import torchvision.transforms as T  # noqa: E402

# Normalisation of src/data/augment.c.
CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
FMNIST_MEAN, FMNIST_STD = (0.2860,), (0.3530,)
CIFAR_DEFAULT_PATH = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data", "cifar10"))
FMNIST_DEFAULT_PATH = "/usr/share/datasets/fashion-mnist"


# ---------------------------------------------------------------------------------------------
# data: uint8 HWC arrays and int64 labels


def read_cifar10(path, split):
    """Official binary layout: records of 1 label byte + 3072 pixel bytes (R, G, B planes)."""
    names = ["data_batch_%d.bin" % i for i in range(1, 6)] if split == "train" else ["test_batch.bin"]
    raw = np.concatenate([np.fromfile(os.path.join(path, n), dtype=np.uint8) for n in names])
    if raw.size % 3073:
        raise SystemExit("%s: size is not a multiple of the 3073-byte CIFAR-10 record" % path)
    rec = raw.reshape(-1, 3073)
    labels = rec[:, 0].astype(np.int64)
    images = np.ascontiguousarray(rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    return images, labels


def _read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise SystemExit("%s: not an unsigned-byte IDX file" % path)
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _idx_file(path, prefix, kind):
    for name in ("%s-%s-ubyte" % (prefix, kind), "%s-%s-ubyte.gz" % (prefix, kind),
                 "%s-%s.ubyte" % (prefix, kind), "%s-%s.ubyte.gz" % (prefix, kind)):
        if os.path.exists(os.path.join(path, name)):
            return os.path.join(path, name)
    raise SystemExit("%s: no %s-%s-ubyte[.gz]" % (path, prefix, kind))


def read_fashion_mnist(path, split):
    prefix = "train" if split == "train" else "t10k"
    images = _read_idx(_idx_file(path, prefix, "images-idx3"))
    labels = _read_idx(_idx_file(path, prefix, "labels-idx1")).astype(np.int64)
    return np.ascontiguousarray(images[:, :, :, None]), labels


def load_split(args, split):
    images, labels = (read_cifar10 if args.data == "cifar10" else read_fashion_mnist)(args.data_path, split)
    limit = args.limit_train if split == "train" else args.limit_test
    if limit > 0:
        images, labels = images[:limit], labels[:limit]
    return np.array(images), np.array(labels)  # writable copies (torch refuses read-only buffers)


# ---------------------------------------------------------------------------------------------
# augmentations (src/data/augment.c presets)


def preset_name(args, channels):
    if args.augment != "auto":
        return args.augment
    return "gray" if channels == 1 else "cifar"


def make_view_transforms(args, channels, size):
    """The two views' transforms (they differ only in solarize: view 0 never, view 1 p 0.2)."""
    name = preset_name(args, channels)
    mean, std = (FMNIST_MEAN, FMNIST_STD) if channels == 1 else (CIFAR_MEAN, CIFAR_STD)
    pil = args.aug_backend == "pil"
    crop_kw = {} if pil else {"antialias": False}
    views = []
    for solarize_p in (0.0, 0.2):
        ops = [] if pil else [T.ToTensor()]
        ops += [T.RandomResizedCrop(size, scale=(args.crop_scale_min, 1.0), ratio=(3 / 4, 4 / 3), **crop_kw),
                T.RandomHorizontalFlip(0.5)]
        if name == "cifar":
            if channels != 3:
                raise SystemExit("--augment cifar needs 3-channel data")
            ops += [T.RandomApply([T.ColorJitter(0.4, 0.4, 0.2, 0.1)], p=0.8), T.RandomGrayscale(0.2)]
        elif name == "gray":
            if channels != 1:
                raise SystemExit("--augment gray is a 1-channel preset")
            ops += [T.RandomApply([T.ColorJitter(0.4, 0.4, 0.0, 0.0)], p=0.8)]
        if name != "crop-only" and solarize_p > 0:
            ops += [T.RandomSolarize(128 if pil else 0.5, p=solarize_p)]
        if pil:
            ops += [T.ToTensor()]
        ops += [T.Normalize(mean, std)]
        views.append(T.Compose(ops))
    return views


class TwoViews(torch.utils.data.Dataset):
    def __init__(self, images, labels, views, pil):
        self.images, self.labels, self.views, self.pil = images, labels, views, pil

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        img = self.images[i]
        if self.pil:
            from PIL import Image
            img = Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img)
        return self.views[0](img), self.views[1](img), int(self.labels[i])


def eval_tensor(images, channels):
    """Un-augmented, normalised (N, C, H, W) float tensor (augment_eval at 32 / 28 px: normalise only)."""
    mean, std = (FMNIST_MEAN, FMNIST_STD) if channels == 1 else (CIFAR_MEAN, CIFAR_STD)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0)
    return (x - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)


def _worker_init(_):
    torch.set_num_threads(1)


# ---------------------------------------------------------------------------------------------
# model, optimizer, schedule


# LARS as src/optim/lars.c (groups with lars=False: no weight decay, no trust ratio): the class
# of the step benchmark's baseline.
from bench_step_torch import LARS  # noqa: E402


# The schedule as src/optim/schedule.c, shared with the step fixture generator.
from gen_step import lr_schedule as lr_at  # noqa: E402


class NNCLRNet(nn.Module):
    def __init__(self, args, channels):
        super().__init__()
        depth = {"resnet8": 1, "resnet14": 2, "resnet20": 3, "resnet32": 5, "resnet44": 7, "resnet56": 9,
                 "resnet110": 18}[args.arch]
        self.backbone = CifarResNet(depth, channels)
        F_, H, D, P = 64, args.proj_hidden, args.proj_dim, args.pred_hidden
        self.projector = nn.Sequential(nn.Linear(F_, H), nn.BatchNorm1d(H), nn.ReLU(), nn.Linear(H, H),
                                       nn.BatchNorm1d(H), nn.ReLU(), nn.Linear(H, D), nn.BatchNorm1d(D))
        self.predictor = (nn.Sequential(nn.Linear(D, P), nn.BatchNorm1d(P), nn.ReLU(), nn.Linear(P, D))
                          if args.predictor else None)

    def forward(self, x):
        z = self.projector(self.backbone(x))
        return z, (self.predictor(z) if self.predictor is not None else z)


def info_nce(a, p, tau):
    """Rows of a are the positives of the rows of p (src/ssl/loss.c: CE over a_hat p_hat^T / tau)."""
    logits = F.normalize(a, dim=1) @ F.normalize(p, dim=1).T / tau
    return F.cross_entropy(logits, torch.arange(a.shape[0]))


# ---------------------------------------------------------------------------------------------
# kNN evaluation (src/eval/knn.c)


@torch.no_grad()
def features(backbone, x, batch, channels_last):
    backbone.eval()
    out = []
    for i in range(0, x.shape[0], batch):
        xb = x[i:i + batch]
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        out.append(backbone(xb))
    backbone.train()
    return torch.cat(out)


@torch.no_grad()
def knn_eval(train_feat, train_labels, test_feat, test_labels, num_classes, k, tau):
    k = min(k, train_feat.shape[0])
    tr = F.normalize(train_feat, dim=1, eps=1e-12)
    te = F.normalize(test_feat, dim=1, eps=1e-12)
    ytr = torch.as_tensor(train_labels)
    yte = torch.as_tensor(test_labels)
    hits1 = hits5 = 0
    for i in range(0, te.shape[0], 512):
        sim = te[i:i + 512] @ tr.T
        s, idx = sim.topk(k, dim=1)  # sorted, best first
        w = torch.exp((s.double() - s[:, :1].double()) / tau)
        votes = torch.zeros(s.shape[0], num_classes, dtype=torch.float64)
        votes.scatter_add_(1, ytr[idx], w)
        y = yte[i:i + 512]
        vy = votes.gather(1, y[:, None])
        cls = torch.arange(num_classes)[None, :]
        rank = ((votes > vy) | ((votes == vy) & (cls < y[:, None]))).sum(dim=1)
        hits1 += int((rank == 0).sum())
        hits5 += int((rank < 5).sum())
    n = te.shape[0]
    return hits1 / n, (hits5 / n if num_classes >= 5 else float("nan"))


# ---------------------------------------------------------------------------------------------


def parse_args():
    ap = argparse.ArgumentParser(description="PyTorch baseline of `nnclr train` (comparison only; see the docstring)",
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--data", default="fashion-mnist", choices=["cifar10", "fashion-mnist"])
    ap.add_argument("--data-path", default="", help="empty: %s or %s" % (CIFAR_DEFAULT_PATH, FMNIST_DEFAULT_PATH))
    ap.add_argument("--arch", default="resnet14",
                    choices=["resnet8", "resnet14", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110"])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128, help="images per view per step")
    ap.add_argument("--lr", type=float, default=0.5, help="base learning rate (scaled by batch / 256)")
    ap.add_argument("--weight-decay", type=float, default=1e-5)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--lars-eta", type=float, default=0.02)
    ap.add_argument("--warmup-epochs", type=int, default=0)
    ap.add_argument("--proj-hidden", type=int, default=512)
    ap.add_argument("--proj-dim", type=int, default=128)
    ap.add_argument("--pred-hidden", type=int, default=512)
    ap.add_argument("--no-predictor", dest="predictor", action="store_false", help="ablation: p = z")
    ap.add_argument("--queue-size", type=int, default=4096)
    ap.add_argument("--topk", type=int, default=1)
    ap.add_argument("--push-both", action="store_true", help="push both views' projections")
    ap.add_argument("--positive", default="nn", choices=["nn", "self"])
    ap.add_argument("--temperature", type=float, default=0.1)
    ap.add_argument("--augment", default="auto", choices=["auto", "cifar", "gray", "crop-only"])
    ap.add_argument("--crop-scale-min", type=float, default=0.5)
    ap.add_argument("--aug-backend", default="tensor", choices=["tensor", "pil"],
                    help="tensor: float ops as nnclr; pil: the same ops on PIL images (faster)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="torch compute threads (0: all cores)")
    ap.add_argument("--loader-workers", type=int, default=1, help="DataLoader worker processes (0: in the main process)")
    ap.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                    help="backbone in channels_last (PyTorch 1.13's faster format for ResNet-20 here)")
    ap.add_argument("--time-budget-min", type=float, default=0.0,
                    help="stop training when this much wall-clock time has passed, then evaluate (0: no limit)")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--knn-k", type=int, default=200)
    ap.add_argument("--knn-tau", type=float, default=0.1)
    ap.add_argument("--eval-batch", type=int, default=256)
    ap.add_argument("--limit-train", type=int, default=0, help="use the first N train images (smoke tests; 0: all)")
    ap.add_argument("--limit-test", type=int, default=0, help="use the first N test images (smoke tests; 0: all)")
    ap.add_argument("--calibrate-steps", type=int, default=0,
                    help="time N steps (after one warm-up step), print a CALIBRATE line and exit")
    args = ap.parse_args()
    if not args.data_path:
        args.data_path = CIFAR_DEFAULT_PATH if args.data == "cifar10" else FMNIST_DEFAULT_PATH
    if args.positive == "nn" and args.queue_size < args.batch:
        ap.error("--queue-size %d must be >= --batch %d" % (args.queue_size, args.batch))
    if args.topk > args.queue_size:
        ap.error("--topk exceeds --queue-size")
    return args


def main():
    args = parse_args()
    torch.set_num_threads(args.threads if args.threads > 0 else (os.cpu_count() or 1))
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    t_load = time.perf_counter()
    xtr, ytr = load_split(args, "train")
    channels, size = xtr.shape[3], xtr.shape[1]
    if len(xtr) < args.batch:
        raise SystemExit("the data set has %d images, fewer than one batch of %d" % (len(xtr), args.batch))
    views = make_view_transforms(args, channels, size)
    ds = TwoViews(xtr, ytr, views, args.aug_backend == "pil")
    gen = torch.Generator().manual_seed(args.seed)
    loader = torch.utils.data.DataLoader(ds, batch_size=args.batch, shuffle=True, drop_last=True, generator=gen,
                                         num_workers=args.loader_workers, worker_init_fn=_worker_init,
                                         persistent_workers=args.loader_workers > 0,
                                         prefetch_factor=3 if args.loader_workers > 0 else 2)
    steps_per_epoch = len(loader)
    total_steps = args.epochs * steps_per_epoch
    warmup_steps = args.warmup_epochs * steps_per_epoch

    model = NNCLRNet(args, channels).train()
    if args.channels_last:
        model.backbone.to(memory_format=torch.channels_last)
    decay = [p for p in model.parameters() if p.dim() > 1]
    nodecay = [p for p in model.parameters() if p.dim() <= 1]
    opt = LARS([{"params": decay}, {"params": nodecay, "lars": False, "weight_decay": 0.0}],
               lr=0.0, weight_decay=args.weight_decay, momentum=args.momentum, eta=args.lars_eta)
    D, Q = args.proj_dim, args.queue_size
    qgen = torch.Generator().manual_seed(args.seed + 0x5EED)
    queue = F.normalize(torch.randn(Q, D, generator=qgen), dim=1)
    queue_labels = torch.full((Q,), -1, dtype=torch.int64)
    ptr = 0
    print("pytorch baseline: %s, %d images %dx%dx%d, augment %s (%s), %s, %s positive%s, batch %d, queue %d, "
          "top-%d, %d steps/epoch, %d epochs, %d threads, %d loader workers, data loaded in %.1f s"
          % (args.data, len(xtr), size, size, channels, preset_name(args, channels), args.aug_backend, args.arch,
             "nearest-neighbour" if args.positive == "nn" else "self (SimCLR)",
             "" if args.predictor else ", no predictor", args.batch, Q, args.topk, steps_per_epoch, args.epochs,
             torch.get_num_threads(), args.loader_workers, time.perf_counter() - t_load), flush=True)

    def push(zn, labels):
        nonlocal ptr
        b = zn.shape[0]
        idx = (torch.arange(b) + ptr) % Q
        queue[idx] = zn
        queue_labels[idx] = labels
        ptr = (ptr + b) % Q

    budget_s = args.time_budget_min * 60.0
    step = 0
    epochs_done = 0
    t_start = time.perf_counter()
    t_window, win_steps, win_loss, win_nnacc = t_start, 0, 0.0, 0.0
    t_cal = None
    stop = False
    for epoch in range(args.epochs):
        for v1, v2, labels in loader:
            if args.channels_last:
                v1 = v1.contiguous(memory_format=torch.channels_last)
                v2 = v2.contiguous(memory_format=torch.channels_last)
            lr = lr_at(step, args.lr, args.batch, warmup_steps, total_steps)
            for g in opt.param_groups:
                g["lr"] = lr
            z1, p1 = model(v1)
            z2, p2 = model(v2)
            nn_acc = float("nan")
            with torch.no_grad():
                zn1, zn2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
            if args.positive == "self":
                a1, a2 = z1, z2
            else:
                with torch.no_grad():
                    chosen = []
                    for zn in (zn1, zn2):
                        sim = zn @ queue.T
                        if args.topk == 1:
                            j = sim.argmax(dim=1)
                        else:
                            top = sim.topk(args.topk, dim=1).indices
                            j = top[torch.arange(zn.shape[0]), torch.randint(args.topk, (zn.shape[0],))]
                        chosen.append(j)
                    a1, a2 = queue[chosen[0]], queue[chosen[1]]
                    nn_acc = 0.5 * ((queue_labels[chosen[0]] == labels).float().mean().item()
                                    + (queue_labels[chosen[1]] == labels).float().mean().item())
            loss = 0.5 * info_nce(a1, p2, args.temperature) + 0.5 * info_nce(a2, p1, args.temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                push(zn1, labels)
                if args.push_both:
                    push(zn2, labels)
            step += 1
            win_steps += 1
            win_loss += loss.item()
            win_nnacc += nn_acc if nn_acc == nn_acc else 0.0
            now = time.perf_counter()
            if args.calibrate_steps > 0:
                if step == 1:
                    t_cal = now
                elif step == args.calibrate_steps + 1:
                    ips = args.calibrate_steps * args.batch / (now - t_cal)
                    print("CALIBRATE tool=pytorch steps=%d img_per_s=%.2f" % (args.calibrate_steps, ips), flush=True)
                    return
            if step % args.log_every == 0 or step == total_steps:
                ips = win_steps * args.batch / (now - t_window + 1e-9)
                nn_s = "%.1f%%" % (100 * win_nnacc / win_steps) if args.positive == "nn" else "-"
                print("epoch %d/%d  step %d/%d  loss %.4f  lr %.4f  %.0f img/s  NN acc %s  elapsed %.0f s"
                      % (epoch + 1, args.epochs, step, total_steps, win_loss / win_steps, lr, ips, nn_s,
                         now - t_start), flush=True)
                t_window, win_steps, win_loss, win_nnacc = now, 0, 0.0, 0.0
            if budget_s > 0 and now - t_start >= budget_s:
                stop = True
                break
        if stop:
            print("time budget of %g min reached at step %d (epoch %d, %d of %d steps)"
                  % (args.time_budget_min, step, epoch + 1, step - epoch * steps_per_epoch, steps_per_epoch),
                  flush=True)
            break
        epochs_done = epoch + 1
    train_s = time.perf_counter() - t_start
    if args.calibrate_steps > 0:
        raise SystemExit("--calibrate-steps %d: the run ended after %d steps" % (args.calibrate_steps, step))

    te0 = time.perf_counter()
    xte, yte = load_split(args, "test")
    ftr = features(model.backbone, eval_tensor(xtr, channels), args.eval_batch, args.channels_last)
    fte = features(model.backbone, eval_tensor(xte, channels), args.eval_batch, args.channels_last)
    top1, top5 = knn_eval(ftr, ytr, fte, yte, 10, args.knn_k, args.knn_tau)
    print("kNN (k=%d, tau=%g): top-1 %.2f%%  top-5 %.2f%%  (%d train / %d test, %.1f s)"
          % (args.knn_k, args.knn_tau, 100 * top1, 100 * top5, len(xtr), len(xte), time.perf_counter() - te0))
    epochs_str = "%d" % epochs_done if not stop else "%.2f" % (step / steps_per_epoch)
    print("RESULT tool=pytorch data=%s positive=%s epochs_done=%s steps=%d train_s=%.1f img_per_s=%.1f "
          "knn_top1=%.2f knn_top5=%.2f" % (args.data, args.positive, epochs_str, step, train_s,
                                           step * args.batch / (train_s + 1e-9), 100 * top1, 100 * top5), flush=True)


if __name__ == "__main__":
    main()
