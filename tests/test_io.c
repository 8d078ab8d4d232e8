/* test_io.c - the files nnclr writes: atomic replacement (abort, missing directory, a write
 * that fails half way), .npy header text and round trip, PNG header fields and a libpng
 * decode, the image grid, SVG well-formedness, the checkpoint container (round trip,
 * corruption, truncation, wrong magic/version, every truncation length), checkpoint pruning
 * and the JSONL metrics log. Everything is written under a fresh directory in /tmp. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <png.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "core/status.h"
#include "io/atomic_file.h"
#include "io/checkpoint.h"
#include "io/jsonl.h"
#include "io/npy.h"
#include "io/png_write.h"
#include "io/svg_plot.h"
#include "testlib.h"

static char dir[64];

/* dir/name in one of 64 rotating buffers: a result stays valid for the next 63 calls. */
static const char *in_dir(const char *name) {
    static char buf[64][256];
    static int slot;
    slot = (slot + 1) % 64;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", dir, name);
    return buf[slot];
}

/* Whole file into a malloc'd buffer (NUL-terminated); NULL when it cannot be read. */
static unsigned char *slurp(const char *path, size_t *size) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, fp);
    fclose(fp);
    buf[got] = 0;
    if (size) *size = got;
    return buf;
}

static void spit(const char *path, const void *buf, size_t n) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return;
    fwrite(buf, 1, n, fp);
    fclose(fp);
}

static int file_exists(const char *path) { return access(path, F_OK) == 0; }

static int tmp_file_left(const char *path) {
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    return file_exists(tmp);
}

static int msg_has(const char *needle) { return strstr(nnclr_last_error(), needle) != NULL; }

static int have_python_numpy(void) {
    return access("/usr/bin/python3", X_OK) == 0 &&
           system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
}

/* ---------------------------------------------------------------------------------------- */

static void test_atomic(void) {
    const char *target = in_dir("atomic.txt");
    check_true("atomic: one-shot write", atomic_write_file(target, "old\n", 4) == NNCLR_OK);
    atomic_file *af;
    check_true("atomic: open", atomic_open(&af, target) == NNCLR_OK);
    check_true("atomic: temp file exists while open", tmp_file_left(target));
    atomic_write(af, "new contents\n", 13);
    atomic_abort(af);
    unsigned char *got = slurp(target, NULL);
    check_true("atomic: abort leaves the target unchanged", got && strcmp((char *)got, "old\n") == 0);
    free(got);
    check_true("atomic: abort removes the temp file", !tmp_file_left(target));

    check_true("atomic: open again", atomic_open(&af, target) == NNCLR_OK);
    atomic_printf(af, "value %d\n", 42);
    static char big[200000];
    memset(big, 'x', sizeof big);
    atomic_write(af, big, sizeof big);   /* larger than the internal buffer */
    check_true("atomic: commit", atomic_commit(af) == NNCLR_OK);
    size_t n;
    got = slurp(target, &n);
    check_true("atomic: committed contents", got && n == 9 + sizeof big && memcmp(got, "value 42\n", 9) == 0);
    free(got);
    check_true("atomic: no temp file after commit", !tmp_file_left(target));

    const char *missing = "/tmp/nnclr-no-such-dir-for-test/sub/file.bin";
    check_true("atomic: missing directory -> IO error",
               atomic_write_file(missing, "x", 1) == NNCLR_ERR_IO);
    printf("  message: %s\n", nnclr_last_error());
    check_true("atomic: message names the path and the reason",
               msg_has(missing) && msg_has(strerror(ENOENT)));

    /* A write that fails half way (file size limit: EFBIG, like ENOSPC on a full disk). */
    const char *limited = in_dir("limited.bin");
    atomic_write_file(limited, "previous", 8);
    struct rlimit old;
    getrlimit(RLIMIT_FSIZE, &old);
    struct rlimit lim = old;
    lim.rlim_cur = 4096;
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
        nnclr_status s = atomic_write_file(limited, big, sizeof big);
        setrlimit(RLIMIT_FSIZE, &old);
        printf("  message: %s\n", nnclr_last_error());
        check_true("atomic: failed write -> IO error with reason", s == NNCLR_ERR_IO && msg_has(strerror(EFBIG)));
        got = slurp(limited, &n);
        check_true("atomic: failed write leaves the old file", got && n == 8 && memcmp(got, "previous", 8) == 0);
        free(got);
        check_true("atomic: failed write removes the temp file", !tmp_file_left(limited));
    } else {
        printf("  (setrlimit failed: skipping the failed-write check)\n");
    }
    signal(SIGXFSZ, SIG_DFL);
}

/* ---------------------------------------------------------------------------------------- */

static void test_npy(void) {
    float x[3 * 4];
    for (int i = 0; i < 12; i++) x[i] = (float)i * 0.5f - 1.25f;
    const char *path = in_dir("feat.npy");
    check_true("npy: write f32", npy_write_f32(path, x, 3, 4) == NNCLR_OK);
    size_t n;
    unsigned char *raw = slurp(path, &n);
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
    size_t hl = raw ? (size_t)raw[8] | (size_t)raw[9] << 8 : 0;
    check_true("npy: magic and version 1.0", raw && memcmp(raw, "\x93NUMPY\x01\x00", 8) == 0);
    check_true("npy: header padded to 64 bytes, ends in newline",
               (10 + hl) % 64 == 0 && raw[10 + hl - 1] == '\n' && raw[10 + hl - 2] == ' ');
    check_true("npy: header dict text", raw && memcmp(raw + 10, dict, strlen(dict)) == 0);
    check_true("npy: file size", n == 10 + hl + sizeof x);
    check_true("npy: data follow the header", raw && memcmp(raw + 10 + hl, x, sizeof x) == 0);

    float *y;
    size_t rn, rd;
    check_true("npy: read f32", npy_read_f32(path, &y, &rn, &rd) == NNCLR_OK);
    check_true("npy: f32 round trip", rn == 3 && rd == 4 && memcmp(x, y, sizeof x) == 0);
    free(y);

    int32_t l32[5] = {3, 1, 4, 1, 5};
    int64_t l64[5] = {9, 2, 6, 5, 3};
    const char *p32 = in_dir("l32.npy"), *p64 = in_dir("l64.npy");
    check_true("npy: write i32/i64", npy_write_i32(p32, l32, 5) == NNCLR_OK &&
                                         npy_write_i64(p64, l64, 5) == NNCLR_OK);
    unsigned char *raw32 = slurp(p32, NULL);
    const char *dict32 = "{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }";
    check_true("npy: 1-D header text", raw32 && memcmp(raw32 + 10, dict32, strlen(dict32)) == 0);
    free(raw32);
    int *lab;
    size_t ln;
    int ok = npy_read_labels(p32, &lab, &ln) == NNCLR_OK && ln == 5;
    for (int i = 0; ok && i < 5; i++) ok = lab[i] == l32[i];
    free(lab);
    check_true("npy: i32 labels round trip", ok);
    ok = npy_read_labels(p64, &lab, &ln) == NNCLR_OK && ln == 5;
    for (int i = 0; ok && i < 5; i++) ok = lab[i] == l64[i];
    free(lab);
    check_true("npy: i64 labels round trip", ok);
    check_true("npy: labels from a float file rejected", npy_read_labels(path, &lab, &ln) == NNCLR_ERR_FORMAT);

    const char *trunc = in_dir("trunc.npy");
    spit(trunc, raw, n - 5);
    check_true("npy: truncated data -> format error", npy_read_f32(trunc, &y, &rn, &rd) == NNCLR_ERR_FORMAT);
    spit(trunc, raw, 40);
    check_true("npy: truncated header -> format error", npy_read_f32(trunc, &y, &rn, &rd) == NNCLR_ERR_FORMAT);
    spit(trunc, "hello world, not npy", 20);
    check_true("npy: not npy -> format error", npy_read_f32(trunc, &y, &rn, &rd) == NNCLR_ERR_FORMAT);
    check_true("npy: missing file -> IO error", npy_read_f32(in_dir("none.npy"), &y, &rn, &rd) == NNCLR_ERR_IO);
    free(raw);

    if (have_python_numpy()) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 -c \"import numpy as np; a = np.load('%s'); l = np.load('%s'); "
                 "assert a.shape == (3, 4) and a.dtype == np.float32 and a[2, 3] == 4.25; "
                 "assert l.dtype == np.int64 and list(l) == [9, 2, 6, 5, 3]\"", path, p64);
        check_true("npy: numpy.load accepts the files (extra check)", system(cmd) == 0);
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 -c \"import numpy as np; np.save('%s', "
                 "np.arange(6, dtype=np.float32).reshape(2, 3) / 4)\"", in_dir("numpy.npy"));
        if (system(cmd) == 0) {
            ok = npy_read_f32(in_dir("numpy.npy"), &y, &rn, &rd) == NNCLR_OK && rn == 2 && rd == 3 &&
                 y[5] == 1.25f;
            if (ok) free(y);
            check_true("npy: reads a file written by numpy.save (extra check)", ok);
        }
    } else {
        printf("  (no python3 + numpy: skipping the numpy cross-check)\n");
    }
}

/* ---------------------------------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Decodes path with libpng's simplified API into (h, w, channels) pixels of the given format. */
static unsigned char *png_decode(const char *path, int *w, int *h, png_uint_32 format) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path)) return NULL;
    img.format = format;
    unsigned char *buf = malloc(PNG_IMAGE_SIZE(img));
    if (!png_image_finish_read(&img, NULL, buf, 0, NULL)) {
        free(buf);
        png_image_free(&img);
        return NULL;
    }
    *w = (int)img.width;
    *h = (int)img.height;
    return buf;
}

static void test_png(void) {
    const int w = 5, h = 3;
    uint8_t rgb[3 * 5 * 3], gray[3 * 5];
    for (int i = 0; i < w * h * 3; i++) rgb[i] = (uint8_t)(i * 17 + 3);
    for (int i = 0; i < w * h; i++) gray[i] = (uint8_t)(i * 16);
    const char *prgb = in_dir("rgb.png"), *pgray = in_dir("gray.png");
    check_true("png: write RGB", png_write(prgb, rgb, w, h, 3) == NNCLR_OK);
    check_true("png: write gray", png_write(pgray, gray, w, h, 1) == NNCLR_OK);
    size_t n;
    unsigned char *raw = slurp(prgb, &n);
    static const unsigned char sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    check_true("png: signature", raw && n > 33 && memcmp(raw, sig, 8) == 0);
    check_true("png: IHDR chunk first, 13 bytes", raw && be32(raw + 8) == 13 && memcmp(raw + 12, "IHDR", 4) == 0);
    check_true("png: IHDR width, height, depth 8, colour type 2 (RGB)",
               raw && be32(raw + 16) == (uint32_t)w && be32(raw + 20) == (uint32_t)h && raw[24] == 8 &&
               raw[25] == 2 && raw[28] == 0);
    check_true("png: ends with IEND", raw && memcmp(raw + n - 8, "IEND", 4) == 0);
    free(raw);
    raw = slurp(pgray, &n);
    check_true("png: gray colour type 0", raw && raw[25] == 0);
    free(raw);

    int dw, dh;
    unsigned char *dec = png_decode(prgb, &dw, &dh, PNG_FORMAT_RGB);
    check_true("png: RGB decodes back exactly", dec && dw == w && dh == h && memcmp(dec, rgb, sizeof rgb) == 0);
    free(dec);
    dec = png_decode(pgray, &dw, &dh, PNG_FORMAT_GRAY);
    check_true("png: gray decodes back exactly", dec && dw == w && dh == h && memcmp(dec, gray, sizeof gray) == 0);
    free(dec);

    check_true("png: bad channels -> arg error", png_write(prgb, rgb, w, h, 2) == NNCLR_ERR_ARG);
    check_true("png: missing directory -> IO error",
               png_write("/tmp/nnclr-no-such-dir-for-test/a.png", rgb, w, h, 3) == NNCLR_ERR_IO);

    /* ---- image grid */
    check_true("grid: auto scale 28 -> 2, 32 -> 2, 96 -> 1",
               image_grid_auto_scale(28, 28) == 2 && image_grid_auto_scale(32, 32) == 2 &&
               image_grid_auto_scale(96, 96) == 1);
    image_grid g;
    const int ih = 4, iw = 3;
    check_true("grid: init 2 x 3 cells of 4 x 3 gray, scale 2, border 1",
               image_grid_init(&g, 2, 3, ih, iw, 1, 2, 1) == NNCLR_OK);
    int cell_h = ih * 2 + 2, cell_w = iw * 2 + 2;
    check_true("grid: output size", g.cell_h == cell_h && g.cell_w == cell_w &&
                                        g.out_h == 2 * cell_h + 3 * g.gap && g.out_w == 3 * cell_w + 4 * g.gap);
    uint8_t img[4 * 3];
    for (int i = 0; i < ih * iw; i++) img[i] = (uint8_t)(10 * i + 5);
    check_true("grid: put u8", image_grid_put_u8(&g, 0, 1, img, GRID_BORDER_AGREE) == NNCLR_OK);
    float fimg[3 * 4 * 3];
    for (int i = 0; i < 3 * ih * iw; i++) fimg[i] = 0.0f;   /* normalised 0 -> the mean */
    float mean[1] = {0.5f}, std[1] = {0.25f};
    image_grid g3;
    image_grid_init(&g3, 1, 1, ih, iw, 3, 3, 2);
    float mean3[3] = {0.5f, 0.0f, 1.0f}, std3[3] = {0.25f, 0.25f, 0.25f};
    check_true("grid: put f32 CHW", image_grid_put_f32(&g3, 0, 0, fimg, mean3, std3, GRID_BORDER_NEUTRAL) == NNCLR_OK);
    check_true("grid: put f32 gray", image_grid_put_f32(&g, 1, 2, fimg, mean, std, GRID_BORDER_DISAGREE) == NNCLR_OK);
    /* cell (0, 1): top-left pixel x0 = gap + cell_w + gap, y0 = gap */
    const uint8_t *px = g.pixels + ((size_t)g.gap * g.out_w + (size_t)(2 * g.gap + cell_w)) * 3;
    check_true("grid: agree border is green", px[0] == 40 && px[1] == 170 && px[2] == 60);
    /* source pixel (y=2, x=1) -> output block at border + 2*scale, border + 1*scale, all 4 copies */
    int ok = 1;
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
            size_t oy = (size_t)g.gap + 1 + 2 * 2 + dy, ox = (size_t)(2 * g.gap + cell_w) + 1 + 1 * 2 + dx;
            const uint8_t *q = g.pixels + (oy * g.out_w + ox) * 3;
            ok &= q[0] == img[2 * iw + 1] && q[1] == img[2 * iw + 1] && q[2] == img[2 * iw + 1];
        }
    check_true("grid: nearest-neighbour upscale of gray into RGB", ok);
    const uint8_t *c12 = g.pixels + ((size_t)(2 * g.gap + cell_h) * g.out_w + (size_t)(3 * g.gap + 2 * cell_w)) * 3;
    check_true("grid: disagree border is red", c12[0] == 220 && c12[1] == 40 && c12[2] == 40);
    const uint8_t *in12 = c12 + ((size_t)g.out_w + 1) * 3;
    check_true("grid: f32 un-normalised (0 * 0.25 + 0.5 -> 128)", in12[0] == 128 && in12[1] == 128);
    const uint8_t *in3 = g3.pixels + ((size_t)(g3.gap + 2) * g3.out_w + (size_t)(g3.gap + 2)) * 3;
    check_true("grid: f32 RGB channels (mean 0.5, 0, 1 -> 128, 0, 255)",
               in3[0] == 128 && in3[1] == 0 && in3[2] == 255);
    check_true("grid: empty cell stays white", g.pixels[0] == 255 && g.pixels[1] == 255);
    check_true("grid: bad cell -> arg error", image_grid_put_u8(&g, 2, 0, img, GRID_BORDER_AGREE) == NNCLR_ERR_ARG);
    const char *pgrid = in_dir("grid.png");
    check_true("grid: write png", image_grid_write_png(&g, pgrid) == NNCLR_OK);
    dec = png_decode(pgrid, &dw, &dh, PNG_FORMAT_RGB);
    check_true("grid: png decodes to the grid", dec && dw == g.out_w && dh == g.out_h &&
                                                     memcmp(dec, g.pixels, (size_t)dw * dh * 3) == 0);
    free(dec);
    image_grid_free(&g);
    image_grid_free(&g3);
}

/* ---------------------------------------------------------------------------------------- */

/* Tag nesting: every <name ...> is closed by </name> in order or self-closed, one root. */
static int xml_well_formed(const char *s, const char *root) {
    const char *stack[64];
    size_t lens[64];
    int depth = 0, roots = 0;
    const char *p = strchr(s, '<');
    if (!p) return 0;
    while (p && *p) {
        const char *gt = strchr(p, '>');
        if (!gt) return 0;
        if (p[1] == '?') {
            if (gt[-1] != '?') return 0;
        } else if (p[1] == '/') {
            size_t len = strcspn(p + 2, " >");
            if (depth == 0 || lens[depth - 1] != len || strncmp(stack[depth - 1], p + 2, len) != 0) return 0;
            depth--;
        } else {
            const char *name = p + 1;
            size_t len = strcspn(name, " />\n");
            if (memchr(p + 1, '<', (size_t)(gt - p - 1))) return 0;
            if (depth == 0) {
                roots++;
                if (strncmp(name, root, len) != 0 || strlen(root) != len) return 0;
            }
            if (gt[-1] != '/') {
                if (depth == 64) return 0;
                stack[depth] = name;
                lens[depth++] = len;
            }
        }
        /* text up to the next tag: no raw '<' by construction; '&' must start an entity */
        const char *next = strchr(gt + 1, '<');
        for (const char *t = gt + 1; t < (next ? next : gt + 1 + strlen(gt + 1)); t++)
            if (*t == '&' && strncmp(t, "&amp;", 5) && strncmp(t, "&lt;", 4) && strncmp(t, "&gt;", 4) &&
                strncmp(t, "&quot;", 6))
                return 0;
        p = next;
    }
    return depth == 0 && roots == 1;
}

static int count_substr(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

static void test_svg(void) {
    double step[50], loss[50], loss2[50], ep[5] = {1, 2, 3, 4, 5}, acc[5] = {0.21, 0.35, 0.42, 0.5, 0.53};
    for (int i = 0; i < 50; i++) {
        step[i] = 100.0 * i;
        loss[i] = 6.0 * exp(-i / 15.0) + 0.5;
        loss2[i] = loss[i] * 1.1;
    }
    loss[20] = NAN;   /* breaks the line in two */
    svg_series s_loss[2] = {{step, loss, 50, "train loss", NULL}, {step, loss2, 50, "loss <b> & \"x\"", "#ff7f0e"}};
    svg_series s_acc[1] = {{ep, acc, 5, "kNN top-1", "green"}};
    svg_panel panels[2] = {{"Loss", "step", "loss", s_loss, 2, 0}, {"kNN accuracy", "epoch", "top-1", s_acc, 1, 0}};
    const char *path = in_dir("plot.svg");
    check_true("svg: write", svg_plot_write(path, "run <A> & B", panels, 2, 0, 0) == NNCLR_OK);
    char *text = (char *)slurp(path, NULL);
    check_true("svg: XML declaration and svg root",
               text && strncmp(text, "<?xml", 5) == 0 && strstr(text, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    check_true("svg: ends with </svg>", text && strstr(text, "</svg>\n") && strcmp(strstr(text, "</svg>\n"), "</svg>\n") == 0);
    check_true("svg: tags nest, entities escaped", text && xml_well_formed(text, "svg"));
    check_true("svg: title escaped", text && strstr(text, "run &lt;A&gt; &amp; B"));
    check_true("svg: legend label escaped", text && strstr(text, "loss &lt;b&gt; &amp; &quot;x&quot;"));
    check_true("svg: NaN splits the first series: 2 + 1 + 1 polylines", text && count_substr(text, "<polyline") == 4);
    check_true("svg: markers on the short series", text && count_substr(text, "<circle") == 5);
    check_true("svg: no nan/inf coordinates", text && !strstr(text, "nan") && !strstr(text, "inf"));
    check_true("svg: tick labels present", text && strstr(text, ">5000<") && strstr(text, ">0.5<"));
    free(text);

    if (access("/usr/bin/python3", X_OK) == 0) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"import xml.etree.ElementTree as E; "
                                  "r = E.parse('%s').getroot(); assert r.tag.endswith('svg')\"", path);
        check_true("svg: python's XML parser accepts it (extra check)", system(cmd) == 0);
    }

    svg_series empty = {NULL, NULL, 0, "nothing", NULL};
    svg_panel pe = {"empty", "x", "y", &empty, 1, 1};
    check_true("svg: an empty log-scale panel still writes", svg_plot_write(in_dir("empty.svg"), NULL, &pe, 1, 400, 300) == NNCLR_OK);
    check_true("svg: no panels -> arg error", svg_plot_write(in_dir("x.svg"), NULL, panels, 0, 0, 0) == NNCLR_ERR_ARG);
}

/* ---------------------------------------------------------------------------------------- */

static void expect_format_error(const char *what, const char *path, const char *needle) {
    checkpoint *ck = (checkpoint *)1;
    nnclr_status s = checkpoint_read(&ck, path);
    printf("  %s: %s\n", what, nnclr_last_error());
    check_true(what, s == NNCLR_ERR_FORMAT && ck == NULL && (!needle || msg_has(needle)));
}

static void test_checkpoint(void) {
    enum { NP = 1000 };
    float *params = malloc(sizeof(float) * NP);
    fill_uniform(params, NP, 9);
    const char *config = "arch = resnet18\nbatch = 256\n";
    int64_t step = 12345;
    checkpoint *ck;
    check_true("ckpt: create", checkpoint_create(&ck) == NNCLR_OK);
    check_true("ckpt: add params", checkpoint_add(ck, "params", params, sizeof(float) * NP) == NNCLR_OK);
    char cfg_copy[64];
    strcpy(cfg_copy, config);
    check_true("ckpt: add config copy", checkpoint_add_copy(ck, "config", cfg_copy, strlen(cfg_copy)) == NNCLR_OK);
    memset(cfg_copy, 0, sizeof cfg_copy);   /* the copy must not care */
    check_true("ckpt: add step", checkpoint_add_copy(ck, "step", &step, sizeof step) == NNCLR_OK);
    check_true("ckpt: add empty section", checkpoint_add(ck, "empty", NULL, 0) == NNCLR_OK);
    check_true("ckpt: duplicate name rejected", checkpoint_add(ck, "params", params, 4) == NNCLR_ERR_ARG);
    check_true("ckpt: empty name rejected", checkpoint_add(ck, "", params, 4) == NNCLR_ERR_ARG);
    const char *path = in_dir("run-100.ckpt");
    check_true("ckpt: write", checkpoint_write(ck, path) == NNCLR_OK);
    checkpoint_free(ck);

    checkpoint *rd;
    check_true("ckpt: read", checkpoint_read(&rd, path) == NNCLR_OK);
    const void *data;
    size_t len;
    check_true("ckpt: params round trip", checkpoint_get(rd, "params", &data, &len) == NNCLR_OK &&
                                              len == sizeof(float) * NP && memcmp(data, params, len) == 0);
    check_true("ckpt: section data 64-byte aligned", ((uintptr_t)data & 63) == 0);
    check_true("ckpt: config round trip", checkpoint_get(rd, "config", &data, &len) == NNCLR_OK &&
                                              len == strlen(config) && memcmp(data, config, len) == 0);
    int64_t step_back = 0;
    check_true("ckpt: get_exact step", checkpoint_get_exact(rd, "step", &step_back, sizeof step_back) == NNCLR_OK &&
                                           step_back == step);
    check_true("ckpt: get_exact wrong size -> format error",
               checkpoint_get_exact(rd, "step", &step_back, 4) == NNCLR_ERR_FORMAT);
    check_true("ckpt: empty section", checkpoint_get(rd, "empty", &data, &len) == NNCLR_OK && len == 0);
    check_true("ckpt: missing section -> format error naming it",
               checkpoint_get(rd, "optimizer", &data, &len) == NNCLR_ERR_FORMAT && msg_has("optimizer"));
    size_t l0;
    check_true("ckpt: count and names in order",
               checkpoint_count(rd) == 4 && strcmp(checkpoint_name_at(rd, 0, &l0), "params") == 0 &&
               l0 == sizeof(float) * NP && strcmp(checkpoint_name_at(rd, 3, NULL), "empty") == 0 &&
               checkpoint_name_at(rd, 4, NULL) == NULL);
    checkpoint_free(rd);

    size_t n;
    unsigned char *raw = slurp(path, &n);
    check_true("ckpt: magic and version in the file", raw && memcmp(raw, "NNCLRCK1", 8) == 0 && raw[8] == 1);
    uint32_t crc = (uint32_t)crc32(0, raw, (uInt)(n - 4));
    check_true("ckpt: trailing CRC32 (zlib) of everything before it",
               raw && crc == ((uint32_t)raw[n - 4] | (uint32_t)raw[n - 3] << 8 | (uint32_t)raw[n - 2] << 16 |
                              (uint32_t)raw[n - 1] << 24));
    const char *bad = in_dir("bad.ckpt");
    unsigned char *copy = malloc(n);

    memcpy(copy, raw, n);
    copy[n / 2] ^= 0x10;
    spit(bad, copy, n);
    expect_format_error("ckpt: flipped byte -> checksum mismatch", bad, "checksum mismatch");
    spit(bad, raw, n - 100);
    expect_format_error("ckpt: truncated -> error", bad, NULL);
    spit(bad, raw, 12);
    expect_format_error("ckpt: truncated to 12 bytes -> error", bad, "truncated");
    memcpy(copy, raw, n);
    copy[0] = 'X';
    spit(bad, copy, n);
    expect_format_error("ckpt: wrong magic", bad, "bad magic");
    memcpy(copy, raw, n);
    copy[8] = 2;
    uint32_t c2 = (uint32_t)crc32(0, copy, (uInt)(n - 4));
    for (int i = 0; i < 4; i++) copy[n - 4 + i] = (unsigned char)(c2 >> (8 * i));
    spit(bad, copy, n);
    expect_format_error("ckpt: wrong version", bad, "version 2");
    /* A section length far past the end, with a valid checksum: bounds, not the CRC, stop it. */
    memcpy(copy, raw, n);
    size_t len_at = 16 + 4 + 6;   /* first section: u32 name length, "params", u64 length */
    copy[len_at + 5] = 0x7f;
    c2 = (uint32_t)crc32(0, copy, (uInt)(n - 4));
    for (int i = 0; i < 4; i++) copy[n - 4 + i] = (unsigned char)(c2 >> (8 * i));
    spit(bad, copy, n);
    expect_format_error("ckpt: section overrun with a valid CRC", bad, "past the end");

    /* Every truncation length fails cleanly (ASan catches any out-of-bounds read). */
    int all = 1;
    for (size_t cut = 0; cut < n; cut += (cut < 200 ? 1 : 97)) {
        spit(bad, raw, cut);
        checkpoint *t;
        all &= checkpoint_read(&t, bad) == NNCLR_ERR_FORMAT && t == NULL;
    }
    check_true("ckpt: every truncation -> format error", all);
    check_true("ckpt: missing file -> IO error", checkpoint_read(&rd, in_dir("none.ckpt")) == NNCLR_ERR_IO);
    free(copy);
    free(raw);
    free(params);

    /* ---- pruning */
    const char *names[] = {"run-1.ckpt", "run-2.ckpt", "run-10.ckpt", "run-3.ckpt", "other-50.ckpt",
                           "run-7.ckpt.tmp.99", "run-x.ckpt", "run-.ckpt", "runner-500.ckpt"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) spit(in_dir(names[i]), "x", 1);
    char latest[256];
    int64_t lstep;
    check_true("prune: latest is run-100",
               checkpoint_find_latest(dir, "run", latest, sizeof latest, &lstep) == NNCLR_OK && lstep == 100 &&
               strcmp(latest, in_dir("run-100.ckpt")) == 0);
    check_true("prune: keep 2", checkpoint_prune(dir, "run", 2) == NNCLR_OK);
    check_true("prune: the 2 largest steps stay", file_exists(in_dir("run-100.ckpt")) && file_exists(in_dir("run-10.ckpt")));
    check_true("prune: older ones are gone", !file_exists(in_dir("run-1.ckpt")) && !file_exists(in_dir("run-2.ckpt")) &&
                                                 !file_exists(in_dir("run-3.ckpt")));
    check_true("prune: other files untouched",
               file_exists(in_dir("other-50.ckpt")) && file_exists(in_dir("run-7.ckpt.tmp.99")) &&
               file_exists(in_dir("run-x.ckpt")) && file_exists(in_dir("run-.ckpt")) &&
               file_exists(in_dir("runner-500.ckpt")));
    check_true("prune: keep 0 -> arg error", checkpoint_prune(dir, "run", 0) == NNCLR_ERR_ARG);
    check_true("prune: missing dir -> IO error", checkpoint_prune("/tmp/nnclr-no-such-dir-for-test", "run", 1) == NNCLR_ERR_IO);
    check_true("find_latest: none -> step -1",
               checkpoint_find_latest(dir, "nothing", latest, sizeof latest, &lstep) == NNCLR_OK && lstep == -1 &&
               latest[0] == 0);
    char small[8];
    check_true("checkpoint_path: too long -> arg error", checkpoint_path(small, sizeof small, dir, "run", 5) == NNCLR_ERR_ARG);
}

/* ---------------------------------------------------------------------------------------- */

static void test_jsonl(void) {
    const char *path = in_dir("metrics.jsonl");
    jsonl_log *log;
    check_true("jsonl: open", jsonl_open(&log, path, 1) == NNCLR_OK);
    jsonl_field r1[3] = {{"step", 1, NULL}, {"epoch", 0, NULL}, {"loss", 2.5, NULL}};
    jsonl_field r2[4] = {{"step", 1234567, NULL}, {"epoch", 1, NULL}, {"loss", NAN, NULL}, {"phase", 0, "tr\"ain"}};
    jsonl_field r3[4] = {{"step", 1234600, NULL}, {"epoch", 2, NULL}, {"loss", 0.1234567, NULL}, {"knn_top1", 0.875, NULL}};
    check_true("jsonl: append", jsonl_append(log, r1, 3) == NNCLR_OK && jsonl_append(log, r2, 4) == NNCLR_OK &&
                                    jsonl_append(log, r3, 4) == NNCLR_OK);
    check_true("jsonl: sync + close", jsonl_sync(log) == NNCLR_OK && jsonl_close(log) == NNCLR_OK);
    char *text = (char *)slurp(path, NULL);
    const char *expect = "{\"step\":1,\"epoch\":0,\"loss\":2.5}\n"
                         "{\"step\":1234567,\"epoch\":1,\"loss\":null,\"phase\":\"tr\\\"ain\"}\n"
                         "{\"step\":1234600,\"epoch\":2,\"loss\":0.123457,\"knn_top1\":0.875}\n";
    check_true("jsonl: exact text (%.6g, integers in full, NaN as null, escaped string)",
               text && strcmp(text, expect) == 0);
    if (text && strcmp(text, expect) != 0) printf("got:\n%s", text);
    free(text);

    /* A crash left half a line: reopening ends it so the next record stays readable. */
    FILE *fp = fopen(path, "a");
    fputs("{\"step\":9,\"lo", fp);
    fclose(fp);
    check_true("jsonl: reopen for append", jsonl_open(&log, path, 0) == NNCLR_OK);
    jsonl_field r4[2] = {{"step", 1234700, NULL}, {"loss", 0.25, NULL}};
    jsonl_append(log, r4, 2);
    jsonl_close(log);

    double *x, *y;
    int n;
    check_true("jsonl: read step/loss", jsonl_read_series(path, "step", "loss", &x, &y, &n) == NNCLR_OK);
    check_true("jsonl: 4 records, partial line skipped", n == 4);
    if (n == 4)
        check_true("jsonl: values", x[0] == 1 && y[0] == 2.5 && x[1] == 1234567 && isnan(y[1]) &&
                                        fabs(y[2] - 0.123457) < 1e-12 && x[3] == 1234700 && y[3] == 0.25);
    free(x);
    free(y);
    check_true("jsonl: read epoch/knn_top1", jsonl_read_series(path, "epoch", "knn_top1", &x, &y, &n) == NNCLR_OK &&
                                                 n == 1 && x[0] == 2 && y[0] == 0.875);
    free(x);
    free(y);
    check_true("jsonl: missing file -> IO error", jsonl_read_series(in_dir("none.jsonl"), "a", "b", &x, &y, &n) == NNCLR_ERR_IO);

    double v = 0;
    check_true("jsonl: key inside a string is not a key",
               jsonl_get_number("{\"a\":\"\\\"loss\\\":5\",\"loss\":3}", "loss", &v) == 1 && v == 3);
    check_true("jsonl: nested values skipped",
               jsonl_get_number("{\"cfg\":{\"loss\":7,\"l\":[1,{\"x\":2}]},\"loss\":-1.5e-3}", "loss", &v) == 1 &&
               v == -1.5e-3);
    check_true("jsonl: string value is not a number", jsonl_get_number("{\"loss\":\"3\"}", "loss", &v) == 0);
    check_true("jsonl: truncated line rejected", jsonl_get_number("{\"loss\":3,\"step\":", "loss", &v) == 0);
    check_true("jsonl: trailing junk rejected", jsonl_get_number("{\"loss\":3} x", "loss", &v) == 0);
    check_true("jsonl: bad number rejected", jsonl_get_number("{\"loss\":01}", "loss", &v) == 0 &&
                                                 jsonl_get_number("{\"loss\":nan}", "loss", &v) == 0);
    check_true("jsonl: open in a missing directory -> IO error",
               jsonl_open(&log, "/tmp/nnclr-no-such-dir-for-test/m.jsonl", 0) == NNCLR_ERR_IO);
}

/* ---------------------------------------------------------------------------------------- */

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/nnclr-test-io-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_atomic();
    test_npy();
    test_png();
    test_svg();
    test_checkpoint();
    test_jsonl();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary();
}
