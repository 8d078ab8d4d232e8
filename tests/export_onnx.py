"""export_onnx.py NNCLR_BIN WORKDIR NODE_MODULES_DIR - the real-client test of `nnclr export
--format onnx`: onnx.checker (Debian python3-onnx, full check with shape inference) accepts the
model, and ONNX Runtime (npm onnxruntime-node, run by tests/onnx_run.js) gives the features
`nnclr embed` gives on the same images, max relative difference <= 1e-4, for a batch size
other than the one exported with (the batch dimension is dynamic). Backbones: ResNet-18
(ImageNet stem), ResNet-50 (bottleneck) and ResNet-20 (CIFAR family). Data: a small synthetic
set in CIFAR-10's binary layout. Prints SKIP and exits 0 when a client is missing."""
import os
import subprocess
import sys

try:
    import numpy as np
    import onnx
except ImportError as e:
    print(f"SKIP: {e} (Debian packages python3-onnx python3-numpy)")
    sys.exit(0)

NNCLR, WORK, NODE_DIR = sys.argv[1], sys.argv[2], sys.argv[3]
HERE = os.path.dirname(os.path.abspath(__file__))
N_TRAIN, N_TEST = 64, 24


def run(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:])
        raise SystemExit(f"FAIL: {' '.join(cmd)} exited {r.returncode}")
    return r.stdout


def main():
    rng = np.random.default_rng(11)
    data = os.path.join(WORK, "cifar")
    os.makedirs(data, exist_ok=True)
    for i in range(1, 6):
        n = N_TRAIN // 5 if i > 1 else N_TRAIN - 4 * (N_TRAIN // 5)
        rec = np.concatenate([rng.integers(0, 10, (n, 1), dtype=np.uint8), rng.integers(0, 256, (n, 3072), dtype=np.uint8)], 1)
        rec.tofile(f"{data}/data_batch_{i}.bin")
    test = rng.integers(0, 256, (N_TEST, 3072), dtype=np.uint8)
    np.concatenate([rng.integers(0, 10, (N_TEST, 1), dtype=np.uint8), test], 1).tofile(f"{data}/test_batch.bin")
    x = test.reshape(N_TEST, 3, 32, 32).astype(np.float32) / 255.0
    env = dict(os.environ, OMP_NUM_THREADS="2", NODE_PATH=NODE_DIR)
    failures = 0
    for arch in ("resnet18", "resnet50", "resnet20"):
        rd = os.path.join(WORK, arch)
        run([NNCLR, "train", "--data", "cifar10", "--data-path", data, "--arch", arch, "--batch", "16", "--epochs", "1",
             "--queue-size", "64", "--proj-hidden", "32", "--proj-dim", "16", "--pred-hidden", "32", "--threads", "2",
             "--no-baseline", "--run-dir", rd], env)
        path = os.path.join(WORK, arch + ".onnx")
        run([NNCLR, "export", rd, "--format", "onnx", "--out", path], env)
        run([NNCLR, "embed", rd, "--split", "test", "--out", os.path.join(WORK, arch + "_feat")], env)
        ref = np.load(os.path.join(WORK, arch + "_feat.npy"))
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        doc = model.doc_string
        mean = np.array([float(v) for v in doc.split("mean (")[1].split(")")[0].split(",")], np.float32)
        std = np.array([float(v) for v in doc.split("std (")[1].split(")")[0].split(",")], np.float32)
        xin = ((x - mean.reshape(1, 3, 1, 1)) / std.reshape(1, 3, 1, 1)).astype(np.float32)
        fin, fout = os.path.join(WORK, arch + "_in.f32"), os.path.join(WORK, arch + "_out.f32")
        xin.tofile(fin)
        run(["node", os.path.join(HERE, "onnx_run.js"), path, fin, str(N_TEST), "3", "32", "32", fout], env)
        got = np.fromfile(fout, np.float32).reshape(ref.shape)
        rel = float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-12))
        ok = rel <= 1e-4 and model.opset_import[0].version >= 13
        print(f"{'ok  ' if ok else 'FAIL'} {arch}: onnx.checker full check, {len(model.graph.node)} nodes, opset "
              f"{model.opset_import[0].version}; ONNX Runtime batch {N_TEST} vs nnclr embed: max rel diff {rel:.2e} "
              f"(<= 1e-4); file {os.path.getsize(path)} bytes")
        failures += not ok
    print(f"{3 - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


main()
