#!/usr/bin/env bash
# onnx_check.sh BUILD_DIR SOURCE_DIR - runs tests/export_onnx.py with ONNX Runtime for Node
# installed from npm into BUILD_DIR/onnx_node (once; CPU binaries only). Skips with the reason
# when this build has no ONNX export, or python3-onnx, node or the npm registry is missing.
set -uo pipefail
build=$1 src=$2
"$build/nnclr" export --help 2>&1 | grep -q "safetensors|onnx" || { echo "SKIP: nnclr export has no onnx format"; exit 0; }
/usr/bin/python3 -c "import onnx, numpy" 2>/dev/null || { echo "SKIP: python3-onnx / python3-numpy not installed"; exit 0; }
command -v node > /dev/null && command -v npm > /dev/null || { echo "SKIP: node / npm not installed"; exit 0; }
mods=$build/onnx_node
if [ ! -d "$mods/node_modules/onnxruntime-node" ]; then
  mkdir -p "$mods"
  (cd "$mods" && ONNXRUNTIME_NODE_INSTALL_CUDA=skip timeout 300 npm install --no-audit --no-fund --silent \
     onnxruntime-node@1.20.1 > npm.log 2>&1) || { echo "SKIP: npm could not install onnxruntime-node (see $mods/npm.log)"; exit 0; }
fi
tmp=$(mktemp -d /tmp/nnclr_onnx_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$src/tests/export_onnx.py" "$build/nnclr" "$tmp" "$mods/node_modules"
