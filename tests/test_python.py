"""test_python.py WORKDIR - the Python package (python/nnclr) over libnnclr: train a few steps on
Fashion-MNIST with a progress callback and a stop request, load the run, embed uint8 HWC images
(of the data set's size and of another size) and float NCHW images, check they agree with
each other and with the library's own eval transform, export, and get errors as exceptions.
Skips (exit 0) when Fashion-MNIST is not installed."""
import gzip
import os
import sys

import numpy as np

import nnclr

WORK = sys.argv[1]
FM = "/usr/share/datasets/fashion-mnist"
if not os.path.exists(FM):
    print(f"SKIP: {FM} missing (Debian package dataset-fashion-mnist)")
    sys.exit(0)
fails = 0


def check(what, cond):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    fails += not cond


def test_images(n):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"):
        p = os.path.join(FM, name)
        if os.path.exists(p):
            raw = (gzip.open if p.endswith(".gz") else open)(p, "rb").read()
            return np.frombuffer(raw[16:16 + n * 784], np.uint8).reshape(n, 28, 28, 1)
    raise SystemExit("no t10k images")


seen = []
run = os.path.join(WORK, "run")
res = nnclr.train(run_dir=run, epochs=1, baseline=False, threads=2, progress=lambda p: seen.append(p["step"]),
                  stop=lambda: len(seen) >= 12)
check(f"train: progress callback every step ({len(seen)} calls), stopped on request", seen[:3] == [1, 2, 3]
      and res["interrupted"] and res["steps"] == 12)
check("config_keys lists the training flags", "queue-size" in nnclr.config_keys())

model = nnclr.load(run, batch=64)
imgs = test_images(100)
f = model.embed(imgs)
check(f"embed uint8 (100, 28, 28, 1) -> {f.shape} float32, finite",
      f.shape == (100, model.feature_dim) and f.dtype == np.float32 and np.isfinite(f).all())
# The eval transform by hand (Fashion-MNIST: x / 255, then (x - 0.2860) / 0.3530), float NCHW.
x = ((imgs.astype(np.float32) / 255.0 - 0.2860) / 0.3530).transpose(0, 3, 1, 2)
g = model.embed(x)
rel = float(np.abs(f - g).max() / np.abs(f).max())
check(f"float NCHW input prepared by hand gives the same features (rel {rel:.1e} <= 1e-5)", rel <= 1e-5)
big = np.repeat(np.repeat(imgs, 2, axis=1), 2, axis=2)  # 56 x 56: resized by the eval transform
h = model.embed(big)
check(f"uint8 images of another size are resized: {h.shape}, finite", h.shape == f.shape and np.isfinite(h).all())
p = model.embed(imgs, projections=True)
check(f"projections are unit vectors {p.shape}", np.allclose(np.linalg.norm(p, axis=1), 1, atol=1e-4))
out = os.path.join(WORK, "m.safetensors")
model.export(out)
check("export writes a safetensors file", os.path.getsize(out) > 8)
try:
    model.embed(np.zeros((2, 28, 28, 4), np.uint8))
    check("4-channel images raise NnclrError", False)
except nnclr.NnclrError as e:
    check(f"4-channel images raise NnclrError ({e})", "c = 1 or 3" in str(e))
try:
    nnclr.load(os.path.join(WORK, "nope"))
    check("loading a missing run raises NnclrError", False)
except nnclr.NnclrError as e:
    check(f"loading a missing run raises NnclrError ({e})", True)
try:
    nnclr.train(run_dir=os.path.join(WORK, "bad"), queue_size=8)
    check("a bad configuration raises NnclrError", False)
except nnclr.NnclrError as e:
    check(f"a bad configuration raises NnclrError ({e})", "--queue-size" in str(e))
model.close()
print(f"{'all passed' if not fails else f'{fails} failed'}")
sys.exit(1 if fails else 0)
