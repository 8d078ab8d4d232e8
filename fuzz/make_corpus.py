#!/usr/bin/python3
"""make_corpus.py - writes the seed corpora of the nnclr fuzz targets to fuzz/corpus/<target>/:
a few small valid files of each format and a few broken ones (wrong magic, truncated, bad
checksum, labels out of range). The outputs are committed; run this again only to change them:

    /usr/bin/python3 fuzz/make_corpus.py

Multi-file targets (idx, cifar, stl10) take a flags byte and length-prefixed chunks, as
described in fuzz/fuzz_common.h. JPEG seeds need PIL; everything else is written by hand here
(struct + zlib) from the format descriptions in src/."""
import gzip
import io
import os
import random
import struct
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
rng = random.Random(1234)


def rand_bytes(n):
    return bytes(rng.randrange(256) for _ in range(n))


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def chunks(flags, *parts):
    out = bytes([flags])
    for p in parts:
        out += struct.pack("<I", len(p)) + p
    return out


# ---- IDX: flags (1 gzip images, 2 gzip labels, 4 no labels), chunks images, labels
def idx_images(n, rows, cols, magic=0x00000803):
    return struct.pack(">IIII", magic, n, rows, cols) + rand_bytes(n * rows * cols)


def idx_labels(labels, magic=0x00000801):
    return struct.pack(">II", magic, len(labels)) + bytes(labels)


def make_idx():
    im, lb = idx_images(3, 5, 4), idx_labels([0, 9, 3])
    put("idx", "raw_valid", chunks(0, im, lb))
    put("idx", "gzip_valid", chunks(3, im, lb))
    put("idx", "no_labels", chunks(4, idx_images(2, 28, 28)))
    put("idx", "pre_gzipped", chunks(0, gzip.compress(im), gzip.compress(lb)))
    put("idx", "bad_magic", chunks(0, idx_images(1, 2, 2, magic=0x00000801), lb))
    put("idx", "size_mismatch", chunks(0, im[:-3], lb))
    put("idx", "label_count", chunks(0, im, idx_labels([1, 2])))
    put("idx", "zero_dim", chunks(0, struct.pack(">IIII", 0x803, 0, 4, 4), idx_labels([])))
    put("idx", "huge_claim_gzip", chunks(1, struct.pack(">IIII", 0x803, 60000, 28, 28) + bytes(100), lb))
    put("idx", "truncated_gzip", chunks(0, gzip.compress(im)[:-9], lb))


# ---- CIFAR: flags (1 CIFAR-100, 2 coarse, 4 test, 8 names file), chunks batch files..., names
def cifar_records(labels, label_bytes):
    out = b""
    for lab in labels:
        lab = lab if isinstance(lab, tuple) else (lab,)
        out += bytes(lab[:label_bytes]) + rand_bytes(3072)
    return out


def make_cifar():
    names10 = "\n".join(["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                         "ship", "truck"]).encode() + b"\n"
    put("cifar", "c10_test", chunks(4, cifar_records([3, 7], 1)))
    put("cifar", "c10_test_names", chunks(4 | 8, cifar_records([9], 1), names10))
    put("cifar", "c10_train5", chunks(0, *[cifar_records([i], 1) for i in range(5)]))
    put("cifar", "c100_train_fine", chunks(1, cifar_records([(19, 99)], 2)))
    put("cifar", "c100_test_coarse", chunks(1 | 2 | 4, cifar_records([(5, 40), (0, 0)], 2)))
    put("cifar", "c10_bad_label", chunks(4, cifar_records([10], 1)))
    put("cifar", "c10_not_multiple", chunks(4, cifar_records([1], 1)[:-1]))
    put("cifar", "c10_empty", chunks(4, b""))
    put("cifar", "c10_train_missing", chunks(0, cifar_records([1], 1), cifar_records([2], 1)))
    put("cifar", "c100_short_names", chunks(1 | 4 | 8, cifar_records([(1, 2)], 2), b"apple\n\npear\r\n"))


# ---- STL-10: flags & 3 = split (0 train, 1 test, 2 unlabelled), chunks X, y, class_names.txt
def make_stl10():
    img = rand_bytes(3 * 96 * 96)
    names = "\n".join(["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship",
                       "truck"]).encode()
    put("stl10", "train_one", chunks(0, img, bytes([10]), names))
    put("stl10", "unlabelled_one", chunks(2, img))
    put("stl10", "label_zero", chunks(1, img, bytes([0])))
    put("stl10", "label_count", chunks(0, img, bytes([1, 2])))
    put("stl10", "not_multiple", chunks(0, img[:1000], bytes([1])))
    put("stl10", "empty", chunks(2, b""))


# ---- PNG, written here (non-interlaced and Adam7), all color types and depths
def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)


def png_file(w, h, depth, color, rows_fn, interlace=0, extra=b""):
    """rows_fn(w, h) -> list of raw row bytes (already packed for depth/color)."""
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace)
    if not interlace:
        raw = b"".join(bytes([rng.randrange(5)]) + r for r in rows_fn(w, h))
    else:
        raw = b""
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        for x0, y0, dx, dy in passes:
            pw = (w - x0 + dx - 1) // dx if w > x0 else 0
            ph = (h - y0 + dy - 1) // dy if h > y0 else 0
            if pw and ph:
                raw += b"".join(b"\x00" + r for r in rows_fn(pw, ph))
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + extra +
            png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


def rows(channels, depth):
    def fn(w, h):
        bits = w * channels * depth
        return [rand_bytes((bits + 7) // 8) for _ in range(h)]
    return fn


def make_png():
    put("png", "gray8", png_file(7, 5, 8, 0, rows(1, 8)))
    put("png", "gray1", png_file(13, 3, 1, 0, rows(1, 1)))
    put("png", "gray16", png_file(4, 4, 16, 0, rows(1, 16)))
    put("png", "rgb8", png_file(6, 4, 8, 2, rows(3, 8)))
    put("png", "rgba8", png_file(5, 5, 8, 6, rows(4, 8)))
    put("png", "gray_alpha16", png_file(3, 2, 16, 4, rows(2, 16)))
    plte = png_chunk(b"PLTE", rand_bytes(3 * 16)) + png_chunk(b"tRNS", rand_bytes(4))
    put("png", "palette4_trns", png_file(9, 3, 4, 3, rows(1, 4), extra=plte))
    put("png", "interlaced_rgb", png_file(11, 9, 8, 2, rows(3, 8), interlace=1))
    put("png", "interlaced_gray2", png_file(10, 10, 2, 0, rows(1, 2), interlace=1))
    good = png_file(6, 4, 8, 2, rows(3, 8))
    put("png", "truncated", good[:-20])
    bad_crc = bytearray(good)
    bad_crc[30] ^= 0xff
    put("png", "bad_crc", bytes(bad_crc))
    put("png", "bad_signature", b"\x89PNX" + good[4:])
    put("png", "missing_idat_data", png_file(64, 64, 8, 0, lambda w, h: [b"\x00" * w]))


# ---- JPEG, with PIL (skipped when PIL is missing)
def make_jpeg():
    try:
        from PIL import Image
    except ImportError:
        print("PIL not found: JPEG seeds not written")
        return

    def img(mode, w, h):
        im = Image.new(mode, (w, h))
        bands = len(mode) if mode != "L" else 1
        im.frombytes(rand_bytes(w * h * bands))
        return im

    def jpg(im, **kw):
        b = io.BytesIO()
        im.save(b, "JPEG", **kw)
        return b.getvalue()

    put("jpeg", "gray", jpg(img("L", 9, 7), quality=50))
    put("jpeg", "rgb_420", jpg(img("RGB", 17, 13), quality=40, subsampling=2))
    put("jpeg", "rgb_444", jpg(img("RGB", 8, 8), quality=90, subsampling=0))
    put("jpeg", "progressive", jpg(img("RGB", 24, 16), quality=30, progressive=True))
    put("jpeg", "cmyk", jpg(img("CMYK", 8, 8), quality=50))
    put("jpeg", "optimized_wide", jpg(img("RGB", 40, 3), quality=30, optimize=True))
    good = jpg(img("RGB", 16, 16), quality=40)
    put("jpeg", "truncated", good[: len(good) * 2 // 3])
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0x5a
    put("jpeg", "corrupt_scan", bytes(bad))
    put("jpeg", "not_jpeg", b"GIF89a" + rand_bytes(20))


# ---- checkpoints: the layout in src/io/checkpoint.h
def checkpoint(sections, version=1, fix_crc=True):
    out = bytearray(b"NNCLRCK1" + struct.pack("<II", version, len(sections)))
    for name, data in sections:
        out += struct.pack("<I", len(name)) + name + struct.pack("<Q", len(data))
        out += bytes((64 - len(out) % 64) % 64)
        out += data
    return bytes(out) + struct.pack("<I", zlib.crc32(bytes(out)) & 0xffffffff)


def make_checkpoint():
    params = struct.pack("<32f", *[rng.uniform(-1, 1) for _ in range(32)])
    names = b"conv1.weight\0bn1.weight\0"
    progress = struct.pack("<qqdd", 3, 0, -1.0, 12.5)
    good = checkpoint([(b"params", params), (b"params.names", names), (b"progress", progress),
                       (b"config", b"arch = resnet20\nbatch = 16\n"), (b"empty", b"")])
    put("checkpoint", "valid", good)
    put("checkpoint", "empty_file_list", checkpoint([]))
    put("checkpoint", "one_section", checkpoint([(b"x", b"abc")]))
    put("checkpoint", "truncated", good[:-37])
    bad = bytearray(good)
    bad[100] ^= 1
    put("checkpoint", "bad_crc", bytes(bad))
    put("checkpoint", "version2", checkpoint([(b"x", b"abc")], version=2))
    put("checkpoint", "bad_magic", b"NNCLRCK2" + good[8:])
    put("checkpoint", "duplicate", checkpoint([(b"a", b"1"), (b"a", b"2")]))
    over = bytearray(checkpoint([(b"p", bytes(8))]))
    over[16 + 4 + 1 + 5] = 0x7f   # section length far past the end (CRC recomputed by the harness)
    put("checkpoint", "overrun", bytes(over))
    # For model_state_load_table with the harness's table: w (4, 8) at 0, b (8) at 32,
    # bn.weight (5) at 48; 64 floats.
    table = struct.pack("<64f", *[rng.uniform(-1, 1) for _ in range(64)])
    put("checkpoint", "model_table", checkpoint([(b"params", table),
                                                 (b"params.names", b"w 0 32\nb 32 8\nbn.weight 48 5\n")]))
    put("checkpoint", "model_table_short", checkpoint([(b"params", table[:200]),
                                                       (b"params.names", b"w 0 32\nb 32 8\nbn.weight 48 5\n")]))
    # Regression: an offset of 2^64 - size made (offset + size) * 4 wrap around and pass the
    # bounds check, copying 128 bytes from before the section (fixed in model_state.c).
    put("checkpoint", "model_table_wrapped_offset",
        checkpoint([(b"params", table), (b"params.names", b"w 18446744073709551584 32\nb 32 8\nbn.weight 48 5\n")]))


# ---- config files for cli/args.c (keys of the harness's flag table)
def make_config():
    put("config", "valid", b"# comment\nepochs = 20\nlr = 0.05  # trailing\narch = resnet50\n"
        b"run-dir = runs/a b\nbaseline = no\nseed = 18446744073709551615\nbatch=-3\n")
    put("config", "crlf_tabs", b"\tepochs\t=\t7\r\n\r\nlr=1e-3\r\n")
    put("config", "unknown_key", b"epochs = 3\nwidth = 9\n")
    put("config", "no_equals", b"epochs 3\n")
    put("config", "out_of_range", b"epochs = 0\n")
    put("config", "bad_choice", b"arch = vgg\n")
    put("config", "bad_numbers", b"lr = nan\nseed = -1\nepochs = 99999999999999999999\n")
    put("config", "nested_config", b"config = other.cfg\n")
    put("config", "argv_style", b"--epochs\n5\n--lr=0.5\n--no-baseline\npositional\n--arch\n")
    put("config", "long_line", b"run-dir = " + b"x" * 1500 + b"\nepochs = 2\n")


if __name__ == "__main__":
    make_idx()
    make_cifar()
    make_stl10()
    make_png()
    make_jpeg()
    make_checkpoint()
    make_config()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(ROOT) for f in fs)
    print(f"corpus written to {ROOT}: {total} bytes")
