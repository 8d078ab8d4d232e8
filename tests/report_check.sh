#!/usr/bin/env bash
# report_check.sh BUILD_DIR - `nnclr report` rendered by a real browser: trains a tiny run on a
# synthetic folder, makes the report, loads it in headless Chromium, and checks the DOM the
# browser built (every section id present, the SVG curves and the inlined pictures decoded) and
# the screenshot (not blank). Skipped (exit 77) with the reason when Chromium is missing.
set -euo pipefail
build=$1
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then echo "SKIP: no chromium (Debian package chromium) to render the report"; exit 77; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# A tiny labelled folder: 2 classes of 16x16 PNGs, from Python's standard library only.
/usr/bin/python3 - "$tmp/data" <<'PY'
import os, random, struct, sys, zlib
def png(path, rgb, w, h):
    raw = b"".join(b"\0" + bytes(rgb[y * w * 3:(y + 1) * w * 3]) for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
r = random.Random(1)
for c, base in enumerate([(200, 40, 40), (40, 40, 200)]):
    d = os.path.join(sys.argv[1], "class%d" % c); os.makedirs(d)
    for i in range(40):
        px = []
        for y in range(16):
            for x in range(16):
                on = (x // 4 + y // 4 + c) % 2
                px += [max(0, min(255, v * on + r.randint(-20, 20))) for v in base]
        png(os.path.join(d, "%02d.png" % i), px, 16, 16)
PY
export OMP_WAIT_POLICY=passive
"$build/nnclr" train --data folder --data-path "$tmp/data" --crop-size 16 --arch resnet20 --batch 16 --epochs 2 \
  --proj-hidden 32 --proj-dim 16 --pred-hidden 32 --queue-size 64 --threads 2 --no-baseline --run-dir "$tmp/run" > "$tmp/train.log"
"$build/nnclr" map "$tmp/run" --split train --thumbs 4 > /dev/null
"$build/nnclr" report "$tmp/run" > /dev/null
html="$tmp/run/report.html"
flags=(--headless --no-sandbox --disable-gpu --no-first-run --disable-dev-shm-usage --user-data-dir="$tmp/profile")
timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$html" > "$tmp/dom.html" 2> "$tmp/chromium.err" || true
timeout 120 "$browser" "${flags[@]}" --window-size=1200,2400 --screenshot="$tmp/shot.png" "file://$html" >> "$tmp/chromium.err" 2>&1 || true
fail=0
for id in title results curves neighbors augment dedup clusters map config knn-final; do
  if grep -q "id=\"$id\"" "$tmp/dom.html"; then echo "ok   DOM has #$id"; else echo "FAIL DOM lacks #$id"; fail=1; fi
done
n_svg=$(grep -o "<svg" "$tmp/dom.html" | wc -l)
n_img=$(grep -o 'src="data:image/png;base64,' "$tmp/dom.html" | wc -l)
[ "$n_svg" -ge 2 ] && echo "ok   $n_svg inline SVGs (curves, map)" || { echo "FAIL $n_svg inline SVGs"; fail=1; }
[ "$n_img" -ge 2 ] && echo "ok   $n_img inline PNGs" || { echo "FAIL $n_img inline PNGs"; fail=1; }
# The screenshot: decoded with Python's zlib; not blank = more than 20 distinct colours.
if [ -s "$tmp/shot.png" ]; then
  colours=$(/usr/bin/python3 - "$tmp/shot.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read(); pos = 8; idat = b""; w = h = 0
while pos < len(data):
    n, t = struct.unpack(">I4s", data[pos:pos + 8]); body = data[pos + 8:pos + 8 + n]; pos += 12 + n
    if t == b"IHDR": w, h, depth, ctype = struct.unpack(">IIBB", body[:10]); bpp = {2: 3, 6: 4}[ctype]
    elif t == b"IDAT": idat += body
raw = zlib.decompress(idat); stride = w * bpp; prev = bytearray(stride); seen = set(); i = 0
for y in range(h):
    f = raw[i]; line = bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0; b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = line
    if y % 8 == 0: seen.update(bytes(line[k:k + 3]) for k in range(0, stride, bpp * 4))
print(len(seen))
PY
)
  [ "$colours" -gt 20 ] && echo "ok   screenshot not blank ($colours colours sampled)" || { echo "FAIL screenshot blank ($colours colours)"; fail=1; }
else
  echo "FAIL no screenshot"; tail -5 "$tmp/chromium.err"; fail=1
fi
[ $fail = 0 ] && echo "report rendered by $("$browser" --version 2>/dev/null | head -1)"
exit $fail
