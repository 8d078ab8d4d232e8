"""export_torch.py - the real-client test of `nnclr export --format safetensors`: PyTorch and
torchvision load what nnclr wrote, with strict=True, and give the features `nnclr embed` gives.

    export_torch.py NNCLR_BIN WORKDIR

For each backbone family (torchvision ResNet-18 with the ImageNet stem, ResNet-18 with the
CIFAR stem, the bottleneck ResNet-50, and the CIFAR ResNet-20 defined in docs/EXPORT.md) it
trains a few steps on a small synthetic data set in CIFAR-10's binary layout, exports, embeds
the test split with nnclr, and compares with the PyTorch model in eval mode on the same images
(max relative difference <= 1e-4 of the largest feature). The safetensors file is parsed here
by the format's documented layout (8-byte little-endian header length, JSON header, data);
Debian has no safetensors package. Prints SKIP and exits 0 without PyTorch."""
import json
import os
import subprocess
import sys

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torchvision
    from torchvision.models.resnet import BasicBlock
except ImportError as e:  # pragma: no cover
    print(f"SKIP: {e} (Debian packages python3-torch python3-torchvision python3-numpy)")
    sys.exit(0)

torch.set_num_threads(2)
NNCLR, WORK = sys.argv[1], sys.argv[2]
N_TRAIN, N_TEST = 64, 32


class CifarResNet(nn.Module):
    """The CIFAR ResNets (resnet8/14/20/32/44/56/110 = 6n+2) as nnclr builds them: 3x3 stem with
    16 channels, three stages of n BasicBlocks (16, 32, 64 channels; stride 2 at the start of
    stages 2 and 3, 1x1 conv + BN shortcut where the shape changes), global average pool.
    The same definition is in docs/EXPORT.md."""

    def __init__(self, n, in_channels=3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        layers, inplanes = [], 16
        for i, planes in enumerate((16, 32, 64)):
            blocks = []
            for b in range(n):
                stride = 2 if (i > 0 and b == 0) else 1
                down = None
                if stride != 1 or inplanes != planes:
                    down = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
                blocks.append(BasicBlock(inplanes, planes, stride, down))
                inplanes = planes
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.avgpool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return torch.flatten(self.avgpool(x), 1)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    assert (8 + n) % 8 == 0, "data is not 8-byte aligned"
    meta = header.pop("__metadata__", {})
    data, out = raw[8 + n:], {}
    dtypes = {"F32": np.float32, "I64": np.int64}
    end_max = 0
    for name, t in header.items():
        b, e = t["data_offsets"]
        end_max = max(end_max, e)
        a = np.frombuffer(data[b:e], dtype=dtypes[t["dtype"]]).reshape(t["shape"])
        out[name] = torch.from_numpy(a.copy())
    assert end_max == len(data), "data section has bytes no tensor covers"
    return out, meta


def write_cifar(root, rng):
    os.makedirs(root, exist_ok=True)
    def batch(n):
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        imgs = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        return np.concatenate([labels[:, None], imgs], axis=1), imgs
    for i in range(1, 6):
        rec, _ = batch(N_TRAIN // 5 if i > 1 else N_TRAIN - 4 * (N_TRAIN // 5))
        rec.tofile(f"{root}/data_batch_{i}.bin")
    rec, test_imgs = batch(N_TEST)
    rec.tofile(f"{root}/test_batch.bin")
    return test_imgs.reshape(N_TEST, 3, 32, 32).astype(np.float32) / 255.0


def run(*args):
    r = subprocess.run([NNCLR, *args], capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="2"))
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:])
        raise SystemExit(f"FAIL: nnclr {' '.join(args)} exited {r.returncode}")
    return r.stdout


def torch_model(arch, stem):
    if arch.startswith("resnet") and int(arch[6:]) in (18, 34, 50):
        m = getattr(torchvision.models, arch)(weights=None)
        m.fc = nn.Identity()
        if stem:
            m.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
            m.maxpool = nn.Identity()
        return m
    depth = int(arch[6:])
    return CifarResNet((depth - 2) // 6)


def main():
    rng = np.random.default_rng(7)
    data = os.path.join(WORK, "cifar")
    test_imgs = write_cifar(data, rng)
    failures = 0
    cases = [("resnet18", False), ("resnet18", True), ("resnet50", False), ("resnet20", False)]
    for arch, stem in cases:
        tag = arch + ("-cifar-stem" if stem else "")
        rd = os.path.join(WORK, tag)
        run("train", "--data", "cifar10", "--data-path", data, "--arch", arch, *(["--cifar-stem"] if stem else []),
            "--batch", "16", "--epochs", "1", "--queue-size", "64", "--proj-hidden", "32", "--proj-dim", "16",
            "--pred-hidden", "32", "--threads", "2", "--no-baseline", "--run-dir", rd)
        st = os.path.join(WORK, tag + ".safetensors")
        run("export", rd, "--format", "safetensors", "--out", st)
        run("embed", rd, "--split", "test", "--out", os.path.join(WORK, tag + "_feat"))
        ref = np.load(os.path.join(WORK, tag + "_feat.npy"))
        sd, meta = read_safetensors(st)
        model = torch_model(arch, stem)
        model.load_state_dict(sd, strict=True)  # raises on a missing or unexpected key or a shape mismatch
        model.eval()
        mean = torch.tensor([float(v) for v in meta["normalize_mean"].split(",")]).view(1, 3, 1, 1)
        std = torch.tensor([float(v) for v in meta["normalize_std"].split(",")]).view(1, 3, 1, 1)
        with torch.no_grad():
            got = model((torch.from_numpy(test_imgs) - mean) / std).numpy()
        rel = float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-12))
        ok = got.shape == ref.shape and rel <= 1e-4 and meta["arch"] == arch and meta["cifar_stem"] == str(stem).lower()
        print(f"{'ok  ' if ok else 'FAIL'} {tag}: {len(sd)} tensors, strict load, features {got.shape}, "
              f"max |torch - nnclr| / max |nnclr| = {rel:.2e} (<= 1e-4), file {os.path.getsize(st)} bytes")
        failures += not ok
    print(f"{len(cases) - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


main()
