#!/usr/bin/env bash
# python_check.sh BUILD_DIR SOURCE_DIR - the Python package as a user gets it: `pip install
# --no-build-isolation` of python/ into a temporary folder (offline), then tests/test_python.py
# with Debian's /usr/bin/python3 against the build's libnnclr.so. Skips with a reason when pip
# or numpy is missing.
set -euo pipefail
build=$1 src=$2
py=/usr/bin/python3
$py -c "import numpy" 2>/dev/null || { echo "SKIP: python3-numpy is not installed"; exit 0; }
$py -m pip --version > /dev/null 2>&1 || { echo "SKIP: pip is not installed (python3-pip)"; exit 0; }
tmp=$(mktemp -d /tmp/nnclr_python_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cp -r "$src/python" "$tmp/src"
$py -m pip install --quiet --no-build-isolation --no-index --no-deps --target "$tmp/site" "$tmp/src"
PYTHONPATH="$tmp/site" NNCLR_LIBRARY="$build/libnnclr.so" OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive \
  $py "$src/tests/test_python.py" "$tmp/work"
