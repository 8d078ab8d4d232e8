/* test_readers.c - the data set readers on small files written here into a temporary folder:
 * IDX (raw and gzip), CIFAR-10/100, STL-10 (column-major planes), image folders of PNG (RGB,
 * gray, 4-bit gray, palette, 16-bit, RGBA, interlaced) and JPEG (RGB, gray, CMYK, DCT scaling),
 * the held-out split, and every kind of bad input (truncated, wrong magic, lying header,
 * zero-sized, corrupt JPEG, PNG CRC error, non-image named .png, empty folder, missing path,
 * symlink loops): each must give the right status and a message naming the file.
 * When Fashion-MNIST is installed (/usr/share/datasets/fashion-mnist) its counts are checked.
 *
 * Tolerances: PNG and raw formats are exact. JPEG (quality 95, 4:2:0) of a smooth image:
 * |decoded - original| <= 12 per value and mean |diff| <= 2 (8-bit levels). */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#include "core/status.h"
#include "data/dataset.h"
#include "testlib.h"

static char tmp_root[256];
static char pathbuf[8][1024];
static int pathbuf_next;

/* tmp_root/rel (rotating buffers, so several can be live in one call). */
static const char *P(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *P(const char *fmt, ...) {
    char rel[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    char *b = pathbuf[pathbuf_next++ % 8];
    snprintf(b, 1024, "%s/%s", tmp_root, rel);
    return b;
}

static void mkdir_p(const char *path) {
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    }
    mkdir(tmp, 0755);
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(data, 1, n, fp) != n) {
        fprintf(stderr, "test: cannot write %s\n", path);
        exit(2);
    }
    fclose(fp);
}

static uint8_t *read_bytes(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    *n = 0;
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)size + 1);
    *n = fread(b, 1, (size_t)size, fp);
    fclose(fp);
    return b;
}

static void write_gz(const char *path, const void *data, size_t n) {
    gzFile gz = gzopen(path, "wb9");
    if (!gz || gzwrite(gz, data, (unsigned)n) != (int)n) {
        fprintf(stderr, "test: cannot write %s\n", path);
        exit(2);
    }
    gzclose(gz);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)ftw;
    if (flag == FTW_DP) rmdir(path);
    else unlink(path);
    return 0;
}

/* Status and message check: status == want and the message contains `mention`. */
static void check_fail(const char *what, nnclr_status got, nnclr_status want, const char *mention) {
    const char *msg = nnclr_last_error();
    int ok = got == want && (!mention || strstr(msg, mention) != NULL);
    char line[768];
    snprintf(line, sizeof line, "%s -> %s: \"%s\"", what, nnclr_status_name(got), got ? msg : "");
    check_true(line, ok);
}

/* ---- stderr capture, to check the skip warnings name the file */

static int saved_stderr = -1;

static void capture_begin(void) {
    fflush(stderr);
    saved_stderr = dup(2);
    int fd = open(P("stderr.log"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
}

static char *capture_end(void) {
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    size_t n = 0;
    char *text = (char *)read_bytes(P("stderr.log"), &n);
    if (!text) return NULL;
    text[n] = '\0';
    printf("     (stderr: %s)\n", n ? text : "nothing");
    return text;
}

/* ---- writers for PNG and JPEG test images */

typedef struct {
    int color_type, bit_depth, interlace;
    int w, h;
    const uint8_t *rows;       /* (h, rowbytes) in the file's own sample layout */
    const png_color *palette;
    int palette_size;
} png_spec;

static void write_png(const char *path, const png_spec *sp) {
    FILE *fp = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "test: cannot write %s\n", path);
        exit(2);
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, sp->w, sp->h, sp->bit_depth, sp->color_type,
                 sp->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (sp->palette) png_set_PLTE(png, info, sp->palette, sp->palette_size);
    png_write_info(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    png_bytep *rows = malloc(sizeof *rows * sp->h);
    for (int y = 0; y < sp->h; y++) rows[y] = (png_bytep)sp->rows + rowbytes * y;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    fclose(fp);
}

/* c = 1 (gray), 3 (RGB) or 4 (CMYK as stored, Adobe-inverted). */
static void write_jpeg(const char *path, const uint8_t *px, int w, int h, int c, int quality) {
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    FILE *fp = fopen(path, "wb");
    jpeg_stdio_dest(&cinfo, fp);
    cinfo.image_width = w;
    cinfo.image_height = h;
    cinfo.input_components = c;
    cinfo.in_color_space = c == 1 ? JCS_GRAYSCALE : c == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)px + (size_t)cinfo.next_scanline * w * c;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    fclose(fp);
}

/* A smooth RGB test image (h, w, 3). */
static uint8_t *smooth_rgb(int w, int h) {
    uint8_t *px = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t *p = px + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)lround(128 + 90 * sin(2 * M_PI * x / w));
            p[1] = (uint8_t)lround(40 + 150.0 * y / h);
            p[2] = (uint8_t)lround(128 + 80 * cos(2 * M_PI * (x + y) / (w + h)));
        }
    }
    return px;
}

static void diff_stats(const uint8_t *a, const uint8_t *b, size_t n, int *maxd, double *meand) {
    *maxd = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        if (d > *maxd) *maxd = d;
        sum += d;
    }
    *meand = sum / (double)n;
}

/* ---- IDX */

static uint8_t idx_pixel(int i, int y, int x) { return (uint8_t)(i * 31 + y * 7 + x * 3); }

/* IDX image file bytes: header (magic, n, rows, cols) + n*rows*cols pattern bytes. */
static uint8_t *idx_images(uint32_t magic, uint32_t n_header, int n, int rows, int cols, size_t *len) {
    *len = 16 + (size_t)n * rows * cols;
    uint8_t *b = malloc(*len);
    uint32_t hdr[4] = {magic, n_header, (uint32_t)rows, (uint32_t)cols};
    for (int k = 0; k < 4; k++) {
        b[4 * k] = hdr[k] >> 24; b[4 * k + 1] = hdr[k] >> 16; b[4 * k + 2] = hdr[k] >> 8; b[4 * k + 3] = hdr[k];
    }
    for (int i = 0; i < n; i++)
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < cols; x++) b[16 + ((size_t)i * rows + y) * cols + x] = idx_pixel(i, y, x);
    return b;
}

static uint8_t *idx_labels(int n, size_t *len) {
    *len = 8 + (size_t)n;
    uint8_t *b = calloc(*len, 1);
    b[2] = 0x08;
    b[3] = 0x01;
    b[7] = (uint8_t)n;
    for (int i = 0; i < n; i++) b[8 + i] = (uint8_t)(i % 3);
    return b;
}

static int idx_matches(const dataset *d, int n, int rows, int cols) {
    if (d->n != n || d->h != rows || d->w != cols || d->c != 1 || !d->labels) return 0;
    for (int i = 0; i < n; i++) {
        if (d->labels[i] != i % 3 || d->images[i].w != cols || d->images[i].pixels != d->pixels + (size_t)i * rows * cols)
            return 0;
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < cols; x++)
                if (d->images[i].pixels[y * cols + x] != idx_pixel(i, y, x)) return 0;
    }
    return d->num_classes == 3 && strcmp(d->class_names[2], "2") == 0;
}

static void test_idx(void) {
    mkdir_p(P("idx"));
    size_t ilen, llen;
    uint8_t *img = idx_images(0x803, 5, 5, 4, 3, &ilen);
    uint8_t *lab = idx_labels(5, &llen);
    write_bytes(P("idx/train-images-idx3-ubyte"), img, ilen);
    write_gz(P("idx/train-labels-idx1-ubyte.gz"), lab, llen);
    write_gz(P("idx/images.gz"), img, ilen);
    write_bytes(P("idx/labels"), lab, llen);
    dataset d = {0};
    nnclr_status s = idx_load(&d, P("idx/train-images-idx3-ubyte"), P("idx/labels"));
    check_true("idx raw: 5 images 4x3x1, pixels and labels exact", s == NNCLR_OK && idx_matches(&d, 5, 4, 3));
    dataset_free(&d);
    s = idx_load(&d, P("idx/images.gz"), P("idx/train-labels-idx1-ubyte.gz"));
    check_true("idx gzip: same contents", s == NNCLR_OK && idx_matches(&d, 5, 4, 3));
    dataset_free(&d);
    s = idx_load(&d, P("idx/images.gz"), NULL);
    check_true("idx without labels: unlabelled", s == NNCLR_OK && d.n == 5 && !d.labels && d.num_classes == 0);
    dataset_free(&d);
    s = dataset_open(&d, "idx", P("idx"), DATASET_TRAIN);
    check_true("dataset_open idx dir (raw images + gz labels)", s == NNCLR_OK && idx_matches(&d, 5, 4, 3));
    dataset_free(&d);
    s = dataset_open(&d, "mnist", P("idx"), DATASET_TRAIN);
    check_true("dataset_open mnist: 10 classes named 0..9", s == NNCLR_OK && d.num_classes == 10 &&
               strcmp(d.class_names[9], "9") == 0);
    dataset_free(&d);
    check_fail("idx dir without t10k files", dataset_open(&d, "idx", P("idx"), DATASET_TEST), NNCLR_ERR_IO,
               "t10k-images-idx3-ubyte");
    check_fail("idx split 2", dataset_open(&d, "idx", P("idx"), 2), NNCLR_ERR_ARG, NULL);

    /* Bad inputs. */
    write_bytes(P("idx/truncated"), img, ilen - 3);
    check_fail("idx truncated raw", idx_load(&d, P("idx/truncated"), NULL), NNCLR_ERR_FORMAT, "idx/truncated");
    write_bytes(P("idx/trailing"), img, ilen);
    {
        FILE *fp = fopen(P("idx/trailing"), "ab");
        fputc(0, fp);
        fclose(fp);
    }
    check_fail("idx trailing bytes", idx_load(&d, P("idx/trailing"), NULL), NNCLR_ERR_FORMAT, "idx/trailing");
    write_bytes(P("idx/short_header"), img, 10);
    check_fail("idx truncated header", idx_load(&d, P("idx/short_header"), NULL), NNCLR_ERR_FORMAT, "short_header");
    size_t blen;
    uint8_t *bad = idx_images(0x804, 5, 5, 4, 3, &blen);
    write_bytes(P("idx/magic"), bad, blen);
    check_fail("idx wrong magic", idx_load(&d, P("idx/magic"), NULL), NNCLR_ERR_FORMAT, "bad magic");
    free(bad);
    check_fail("idx labels file given as images", idx_load(&d, P("idx/labels"), NULL), NNCLR_ERR_FORMAT, "idx/labels");
    bad = idx_images(0x803, 1000, 5, 4, 3, &blen);
    write_bytes(P("idx/claims_more"), bad, blen);
    check_fail("idx header claims more images than bytes", idx_load(&d, P("idx/claims_more"), NULL),
               NNCLR_ERR_FORMAT, "claims_more");
    write_gz(P("idx/claims_more.gz"), bad, blen);
    check_fail("idx gz claims more images than bytes", idx_load(&d, P("idx/claims_more.gz"), NULL),
               NNCLR_ERR_FORMAT, "claims_more.gz");
    free(bad);
    bad = idx_images(0x803, 5, 5, 0, 3, &blen);
    write_bytes(P("idx/zero"), bad, blen);
    check_fail("idx zero-sized images", idx_load(&d, P("idx/zero"), NULL), NNCLR_ERR_FORMAT, "zero-sized");
    free(bad);
    bad = idx_images(0x803, 0, 0, 4, 3, &blen);
    write_bytes(P("idx/none"), bad, blen);
    check_fail("idx zero images", idx_load(&d, P("idx/none"), NULL), NNCLR_ERR_FORMAT, "idx/none");
    free(bad);
    bad = idx_images(0x803, 0xFFFFFFFFu, 0, 65535, 65535, &blen);
    write_bytes(P("idx/huge"), bad, blen);
    check_fail("idx absurd sizes", idx_load(&d, P("idx/huge"), NULL), NNCLR_ERR_FORMAT, "too large");
    free(bad);
    bad = idx_images(0x803, 1u << 20, 0, -1, -1, &blen);
    write_bytes(P("idx/huge2"), bad, blen);
    check_fail("idx absurd sizes (product overflows 64 bits)", idx_load(&d, P("idx/huge2"), NULL),
               NNCLR_ERR_FORMAT, "too large");
    free(bad);
    bad = idx_images(0x803, 1000000, 2, 28, 28, &blen);
    write_gz(P("idx/bomb.gz"), bad, blen);
    check_fail("idx gz header claims more than deflate can hold", idx_load(&d, P("idx/bomb.gz"), NULL),
               NNCLR_ERR_FORMAT, "bomb.gz: header claims");
    free(bad);
    size_t glen;
    uint8_t *gz = read_bytes(P("idx/images.gz"), &glen);
    write_bytes(P("idx/cut.gz"), gz, glen / 2);
    check_fail("idx truncated gzip", idx_load(&d, P("idx/cut.gz"), NULL), NNCLR_ERR_FORMAT, "cut.gz");
    gz[glen / 2] ^= 0x55;
    gz[glen / 2 + 1] ^= 0x55;
    write_bytes(P("idx/corrupt.gz"), gz, glen);
    check_fail("idx corrupt gzip", idx_load(&d, P("idx/corrupt.gz"), NULL), NNCLR_ERR_FORMAT, "corrupt.gz");
    free(gz);
    uint8_t *lab4 = idx_labels(4, &blen);
    write_bytes(P("idx/labels4"), lab4, blen);
    check_fail("idx label count differs", idx_load(&d, P("idx/images.gz"), P("idx/labels4")), NNCLR_ERR_FORMAT,
               "labels4");
    free(lab4);
    check_fail("idx missing file", idx_load(&d, P("idx/nope"), NULL), NNCLR_ERR_IO, "idx/nope");
    check_fail("idx directory as file", idx_load(&d, P("idx"), NULL), NNCLR_ERR_IO, "is a directory");
    check_true("failed loads leave the dataset zeroed", d.n == 0 && d.pixels == NULL && d.images == NULL);
    free(img);
    free(lab);
}

/* ---- CIFAR */

static uint8_t cifar_value(int r, int c, int y, int x) { return (uint8_t)(r * 13 + c * 50 + y * 3 + x * 5); }

/* Records first..first+n-1: label bytes then R, G, B planes. */
static void write_cifar(const char *path, int first, int n, int label_bytes, int bad_label) {
    size_t rec = (size_t)label_bytes + 3072;
    uint8_t *b = malloc(rec * n);
    for (int k = 0; k < n; k++) {
        int r = first + k;
        uint8_t *p = b + rec * k;
        if (label_bytes == 1) p[0] = (uint8_t)(bad_label ? 12 : r % 10);
        else {
            p[0] = (uint8_t)(r % 20);
            p[1] = (uint8_t)((r * 7) % 100);
        }
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) p[label_bytes + c * 1024 + y * 32 + x] = cifar_value(r, c, y, x);
    }
    write_bytes(path, b, rec * n);
    free(b);
}

static int cifar_matches(const dataset *d, int n, int first, int label_kind) {
    if (d->n != n || d->h != 32 || d->w != 32 || d->c != 3 || !d->labels) return 0;
    for (int i = 0; i < n; i++) {
        int r = first + i;
        int want = label_kind == 0 ? r % 10 : label_kind == 1 ? (r * 7) % 100 : r % 20;
        if (d->labels[i] != want) return 0;
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++)
                for (int c = 0; c < 3; c++)
                    if (d->images[i].pixels[(y * 32 + x) * 3 + c] != cifar_value(r, c, y, x)) return 0;
    }
    return 1;
}

static void test_cifar(void) {
    mkdir_p(P("c10"));
    int counts[5] = {2, 1, 3, 1, 2}, first = 0;
    for (int b = 0; b < 5; b++) {
        write_cifar(P("c10/data_batch_%d.bin", b + 1), first, counts[b], 1, 0);
        first += counts[b];
    }
    write_cifar(P("c10/test_batch.bin"), 100, 2, 1, 0);
    dataset d = {0};
    nnclr_status s = dataset_open(&d, "cifar10", P("c10"), DATASET_TRAIN);
    check_true("cifar10 train: 9 records of 5 batches, planes -> HWC exact, labels",
               s == NNCLR_OK && cifar_matches(&d, 9, 0, 0));
    check_true("cifar10 class names built in (no batches.meta.txt)",
               s == NNCLR_OK && d.num_classes == 10 && strcmp(d.class_names[1], "automobile") == 0);
    dataset_free(&d);
    write_bytes(P("c10/batches.meta.txt"), "a0\na1\na2\na3\na4\na5\na6\na7\na8\nlast\n\n", 34);
    s = dataset_open(&d, "cifar10", P("c10"), DATASET_TEST);
    check_true("cifar10 test batch, names from batches.meta.txt",
               s == NNCLR_OK && cifar_matches(&d, 2, 100, 0) && strcmp(d.class_names[9], "last") == 0);
    dataset_free(&d);
    check_fail("cifar10 split 2", dataset_open(&d, "cifar10", P("c10"), 2), NNCLR_ERR_ARG, NULL);

    mkdir_p(P("c100"));
    write_cifar(P("c100/train.bin"), 0, 4, 2, 0);
    write_cifar(P("c100/test.bin"), 50, 3, 2, 0);
    s = dataset_open(&d, "cifar100", P("c100"), DATASET_TRAIN);
    check_true("cifar100 fine labels, 100 classes", s == NNCLR_OK && cifar_matches(&d, 4, 0, 1) && d.num_classes == 100);
    dataset_free(&d);
    s = dataset_open(&d, "cifar100-coarse", P("c100"), DATASET_TEST);
    check_true("cifar100 coarse labels, 20 classes", s == NNCLR_OK && cifar_matches(&d, 3, 50, 2) && d.num_classes == 20);
    dataset_free(&d);

    /* Bad inputs. */
    mkdir_p(P("c10bad"));
    for (int b = 0; b < 5; b++) write_cifar(P("c10bad/data_batch_%d.bin", b + 1), 0, 2, 1, 0);
    size_t len;
    uint8_t *bytes = read_bytes(P("c10bad/data_batch_3.bin"), &len);
    write_bytes(P("c10bad/data_batch_3.bin"), bytes, len - 100);
    check_fail("cifar10 truncated batch", cifar10_load(&d, P("c10bad"), DATASET_TRAIN), NNCLR_ERR_FORMAT,
               "data_batch_3.bin");
    write_bytes(P("c10bad/data_batch_3.bin"), bytes, 0);
    check_fail("cifar10 empty batch", cifar10_load(&d, P("c10bad"), DATASET_TRAIN), NNCLR_ERR_FORMAT,
               "data_batch_3.bin");
    write_bytes(P("c10bad/data_batch_3.bin"), bytes, len);
    free(bytes);
    write_cifar(P("c10bad/data_batch_4.bin"), 0, 2, 1, 1);
    check_fail("cifar10 label 12", cifar10_load(&d, P("c10bad"), DATASET_TRAIN), NNCLR_ERR_FORMAT,
               "data_batch_4.bin: record 0 has label 12");
    write_cifar(P("c10bad/data_batch_4.bin"), 0, 2, 1, 0);
    unlink(P("c10bad/data_batch_5.bin"));
    check_fail("cifar10 missing batch", cifar10_load(&d, P("c10bad"), DATASET_TRAIN), NNCLR_ERR_IO,
               "data_batch_5.bin");
    write_cifar(P("c10bad/test_batch.bin"), 0, 2, 2, 0);
    check_fail("cifar10 reading a CIFAR-100 file", cifar10_load(&d, P("c10bad"), DATASET_TEST), NNCLR_ERR_FORMAT,
               "test_batch.bin");
    check_fail("cifar100 missing dir", cifar100_load(&d, P("nowhere"), DATASET_TRAIN, 0), NNCLR_ERR_IO,
               "nowhere/train.bin");
}

/* ---- STL-10 */

static uint8_t stl_value(int i, int c, int y, int x) { return (uint8_t)(c * 40 + y + 2 * x + i * 17); }

static void write_stl(const char *path, int n) {
    size_t bytes = (size_t)n * 27648;
    uint8_t *b = malloc(bytes);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 3; c++)
            for (int x = 0; x < 96; x++)
                for (int y = 0; y < 96; y++) b[(size_t)i * 27648 + c * 9216 + x * 96 + y] = stl_value(i, c, y, x);
    write_bytes(path, b, bytes);
    free(b);
}

static int stl_matches(const dataset *d, int n) {
    if (d->n != n || d->h != 96 || d->w != 96 || d->c != 3) return 0;
    for (int i = 0; i < n; i++)
        for (int y = 0; y < 96; y++)
            for (int x = 0; x < 96; x++)
                for (int c = 0; c < 3; c++)
                    if (d->images[i].pixels[(y * 96 + x) * 3 + c] != stl_value(i, c, y, x)) return 0;
    return 1;
}

static void test_stl10(void) {
    mkdir_p(P("stl"));
    write_stl(P("stl/train_X.bin"), 3);
    write_bytes(P("stl/train_y.bin"), "\x01\x0a\x05", 3);
    write_stl(P("stl/unlabeled_X.bin"), 2);
    write_stl(P("stl/test_X.bin"), 1);
    write_bytes(P("stl/test_y.bin"), "\x01\x02", 2);
    dataset d = {0};
    nnclr_status s = dataset_open(&d, "stl10", P("stl"), DATASET_TRAIN);
    check_true("stl10 train: column-major planes transposed to HWC exactly", s == NNCLR_OK && stl_matches(&d, 3));
    check_true("stl10 labels 1,10,5 -> 0,9,4; names", s == NNCLR_OK && d.labels[0] == 0 && d.labels[1] == 9 &&
               d.labels[2] == 4 && d.num_classes == 10 && strcmp(d.class_names[7], "monkey") == 0);
    dataset_free(&d);
    s = dataset_open(&d, "stl10", P("stl"), DATASET_UNLABELLED);
    check_true("stl10 unlabelled split", s == NNCLR_OK && stl_matches(&d, 2) && !d.labels && d.num_classes == 0);
    dataset_free(&d);
    check_fail("stl10 test: 2 labels for 1 image", dataset_open(&d, "stl10", P("stl"), DATASET_TEST),
               NNCLR_ERR_FORMAT, "test_y.bin");
    write_bytes(P("stl/test_y.bin"), "\x0b", 1);
    check_fail("stl10 label 11", stl10_load(&d, P("stl"), DATASET_TEST), NNCLR_ERR_FORMAT, "label 11");
    write_bytes(P("stl/test_y.bin"), "\x00", 1);
    check_fail("stl10 label 0", stl10_load(&d, P("stl"), DATASET_TEST), NNCLR_ERR_FORMAT, "label 0");
    size_t len;
    uint8_t *b = read_bytes(P("stl/test_X.bin"), &len);
    write_bytes(P("stl/test_X.bin"), b, len - 1);
    check_fail("stl10 truncated images", stl10_load(&d, P("stl"), DATASET_TEST), NNCLR_ERR_FORMAT, "test_X.bin");
    free(b);
    check_fail("stl10 split 3", stl10_load(&d, P("stl"), 3), NNCLR_ERR_ARG, NULL);
}

/* ---- PNG and JPEG decoding */

/* Pattern value for PNG test images. */
static uint8_t png_value(int y, int x, int c) { return (uint8_t)(y * 40 + x * 9 + c * 70); }

/* Writes the PNG variants; each has its own width so the folder test can tell them apart. */
static void write_png_variant(const char *path, const char *kind, int w, int h) {
    uint8_t *rows = calloc((size_t)w * h * 8, 1);
    png_spec sp = {.w = w, .h = h, .bit_depth = 8, .rows = rows};
    png_color pal[4] = {{10, 20, 30}, {200, 100, 0}, {0, 255, 128}, {77, 77, 77}};
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            if (!strcmp(kind, "rgb") || !strcmp(kind, "interlaced")) {
                for (int c = 0; c < 3; c++) rows[(y * w + x) * 3 + c] = png_value(y, x, c);
            } else if (!strcmp(kind, "gray")) {
                rows[y * w + x] = png_value(y, x, 0);
            } else if (!strcmp(kind, "gray4")) {
                int v = (y * 3 + x) % 16;
                rows[y * ((w + 1) / 2) + x / 2] |= (uint8_t)(x % 2 ? v : v << 4);
            } else if (!strcmp(kind, "palette")) {
                rows[y * w + x] = (uint8_t)((x + y) % 4);
            } else if (!strcmp(kind, "rgb16")) {
                for (int c = 0; c < 3; c++) {
                    uint16_t v = (uint16_t)(png_value(y, x, c) * 257);
                    rows[(y * w + x) * 6 + 2 * c] = v >> 8;
                    rows[(y * w + x) * 6 + 2 * c + 1] = v & 255;
                }
            } else if (!strcmp(kind, "rgba")) {
                for (int c = 0; c < 3; c++) rows[(y * w + x) * 4 + c] = png_value(y, x, c);
                rows[(y * w + x) * 4 + 3] = (uint8_t)(x * 20);
            }
        }
    }
    if (!strcmp(kind, "gray")) sp.color_type = PNG_COLOR_TYPE_GRAY;
    else if (!strcmp(kind, "gray4")) { sp.color_type = PNG_COLOR_TYPE_GRAY; sp.bit_depth = 4; }
    else if (!strcmp(kind, "palette")) { sp.color_type = PNG_COLOR_TYPE_PALETTE; sp.palette = pal; sp.palette_size = 4; }
    else if (!strcmp(kind, "rgb16")) { sp.color_type = PNG_COLOR_TYPE_RGB; sp.bit_depth = 16; }
    else if (!strcmp(kind, "rgba")) sp.color_type = PNG_COLOR_TYPE_RGB_ALPHA;
    else sp.color_type = PNG_COLOR_TYPE_RGB;
    sp.interlace = !strcmp(kind, "interlaced");
    write_png(path, &sp);
    free(rows);
}

/* Expected decoded value of a PNG variant at (y, x, c), c < channels. */
static int png_expected(const char *kind, int y, int x, int c) {
    static const uint8_t pal[4][3] = {{10, 20, 30}, {200, 100, 0}, {0, 255, 128}, {77, 77, 77}};
    if (!strcmp(kind, "gray")) return png_value(y, x, 0);
    if (!strcmp(kind, "gray4")) return ((y * 3 + x) % 16) * 17;
    if (!strcmp(kind, "palette")) return pal[(x + y) % 4][c];
    return png_value(y, x, c);
}

static int png_image_matches(const dataset_image *im, const char *kind, int w, int h, int c) {
    if (im->w != w || im->h != h || im->c != c) return 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++)
                if (im->pixels[(y * w + x) * c + k] != png_expected(kind, y, x, k)) return 0;
    return 1;
}

static void test_decoders(void) {
    mkdir_p(P("dec"));
    static const char *kinds[] = {"rgb", "gray", "gray4", "palette", "rgb16", "rgba", "interlaced"};
    static const int channels[] = {3, 1, 1, 3, 3, 3, 3};
    for (int k = 0; k < 7; k++) {
        write_png_variant(P("dec/%s.png", kinds[k]), kinds[k], 7 + k, 5);
        dataset_image im;
        nnclr_status s = image_load_file(&im, P("dec/%s.png", kinds[k]), 0);
        char what[96];
        snprintf(what, sizeof what, "png %s -> %d channel(s), exact", kinds[k], channels[k]);
        check_true(what, s == NNCLR_OK && png_image_matches(&im, kinds[k], 7 + k, 5, channels[k]));
        free(im.pixels);
    }

    /* PNG corruption: a flipped CRC byte of IHDR, a flipped byte inside IDAT, truncation. */
    size_t len;
    uint8_t *png = read_bytes(P("dec/rgb.png"), &len);
    dataset_image im;
    png[30] ^= 0x01;
    check_fail("png IHDR CRC flipped", png_decode(&im, png, len, "ihdr.png"), NNCLR_ERR_FORMAT, "ihdr.png: IHDR: CRC");
    png[30] ^= 0x01;
    size_t idat = 0;
    for (size_t i = 8; i + 8 < len; i++)
        if (!memcmp(png + i, "IDAT", 4)) { idat = i; break; }
    png[idat + 6] ^= 0x10;
    check_fail("png IDAT byte flipped (CRC)", png_decode(&im, png, len, "idat.png"), NNCLR_ERR_FORMAT, "idat.png");
    png[idat + 6] ^= 0x10;
    check_fail("png truncated", png_decode(&im, png, len - 20, "cut.png"), NNCLR_ERR_FORMAT, "cut.png");
    check_fail("png bad signature", png_decode(&im, (const uint8_t *)"GIF89a....", 10, "x.png"), NNCLR_ERR_FORMAT,
               "not a PNG");
    check_true("png intact bytes still decode", png_decode(&im, png, len, "ok.png") == NNCLR_OK && im.w == 7);
    free(im.pixels);
    free(png);

    /* JPEG: smooth RGB within tolerance, gray, CMYK, DCT scaling. */
    uint8_t *ref = smooth_rgb(64, 48);
    write_jpeg(P("dec/smooth.jpg"), ref, 64, 48, 3, 95);
    nnclr_status s = image_load_file(&im, P("dec/smooth.jpg"), 0);
    int maxd = 999;
    double meand = 999;
    if (s == NNCLR_OK && im.w == 64 && im.h == 48 && im.c == 3) diff_stats(im.pixels, ref, 64 * 48 * 3, &maxd, &meand);
    printf("     jpeg rgb: max |diff| %d, mean |diff| %.3f\n", maxd, meand);
    check_true("jpeg rgb 64x48 within max 12 / mean 2 levels", maxd <= 12 && meand <= 2.0);
    free(im.pixels);
    uint8_t *gray = malloc(64 * 48), *cmyk = malloc(64 * 48 * 4);
    for (int p = 0; p < 64 * 48; p++) {
        gray[p] = ref[3 * p + 1];
        for (int c = 0; c < 3; c++) cmyk[4 * p + c] = ref[3 * p + c];
        cmyk[4 * p + 3] = 255;
    }
    write_jpeg(P("dec/gray.jpg"), gray, 64, 48, 1, 95);
    s = image_load_file(&im, P("dec/gray.jpg"), 0);
    maxd = 999;
    if (s == NNCLR_OK && im.c == 1 && im.w == 64) diff_stats(im.pixels, gray, 64 * 48, &maxd, &meand);
    check_true("jpeg gray -> 1 channel within max 12 / mean 2", maxd <= 12 && meand <= 2.0);
    free(im.pixels);
    write_jpeg(P("dec/cmyk.jpg"), cmyk, 64, 48, 4, 95);
    s = image_load_file(&im, P("dec/cmyk.jpg"), 0);
    maxd = 999;
    if (s == NNCLR_OK && im.c == 3 && im.w == 64) diff_stats(im.pixels, ref, 64 * 48 * 3, &maxd, &meand);
    printf("     jpeg cmyk: max |diff| %d, mean |diff| %.3f\n", maxd, meand);
    check_true("jpeg Adobe CMYK -> RGB within max 12 / mean 2", maxd <= 12 && meand <= 2.0);
    free(im.pixels);
    free(gray);
    free(cmyk);

    uint8_t *big = smooth_rgb(256, 192);
    write_jpeg(P("dec/big.jpg"), big, 256, 192, 3, 90);
    s = image_load_file(&im, P("dec/big.jpg"), 50);
    check_true("jpeg 256x192, target 50 -> scale 3/8 = 96x72", s == NNCLR_OK && im.w == 96 && im.h == 72);
    free(im.pixels);
    s = image_load_file(&im, P("dec/big.jpg"), 48);
    check_true("jpeg 256x192, target 48 -> scale 2/8 = 64x48", s == NNCLR_OK && im.w == 64 && im.h == 48);
    /* The scaled decode still looks like the image: compare with a 4x4 box average. */
    maxd = 999;
    if (s == NNCLR_OK) {
        uint8_t *box = malloc(64 * 48 * 3);
        for (int y = 0; y < 48; y++)
            for (int x = 0; x < 64; x++)
                for (int c = 0; c < 3; c++) {
                    int sum = 0;
                    for (int dy = 0; dy < 4; dy++)
                        for (int dx = 0; dx < 4; dx++) sum += big[((4 * y + dy) * 256 + 4 * x + dx) * 3 + c];
                    box[(y * 64 + x) * 3 + c] = (uint8_t)((sum + 8) / 16);
                }
        diff_stats(im.pixels, box, 64 * 48 * 3, &maxd, &meand);
        free(box);
    }
    printf("     jpeg 2/8 scale vs box average: max |diff| %d, mean |diff| %.3f\n", maxd, meand);
    check_true("jpeg 2/8 scaled decode ~ 4x4 box average (max 16, mean 3)", maxd <= 16 && meand <= 3.0);
    free(im.pixels);
    s = image_load_file(&im, P("dec/big.jpg"), 1000);
    check_true("jpeg target larger than the image -> full size", s == NNCLR_OK && im.w == 256 && im.h == 192);
    free(im.pixels);
    free(big);

    /* Random byte flips and truncations: never a crash (ASan checks the reads), only OK or FORMAT. */
    static const char *fuzz_files[2] = {"dec/smooth.jpg", "dec/interlaced.png"};
    int fuzz_ok = 1;
    uint64_t rs = 12345;
    for (int f = 0; f < 2; f++) {
        size_t flen = 0;
        uint8_t *orig = read_bytes(P("%s", fuzz_files[f]), &flen);
        uint8_t *buf = malloc(flen);
        for (int it = 0; it < 300; it++) {
            memcpy(buf, orig, flen);
            size_t use = flen;
            rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
            int flips = 1 + (int)(rs >> 60) % 4;
            for (int k = 0; k < flips; k++) {
                rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
                buf[(rs >> 20) % flen] ^= (uint8_t)(1 + (rs >> 8) % 255);
            }
            if (it % 3 == 0) use = (size_t)((rs >> 33) % flen);
            dataset_image fz;
            nnclr_status fs = f == 0 ? jpeg_decode(&fz, buf, use, it % 2 ? 0 : 20, "fuzz.jpg")
                                     : png_decode(&fz, buf, use, "fuzz.png");
            fuzz_ok &= fs == NNCLR_OK || fs == NNCLR_ERR_FORMAT;
            if (fs == NNCLR_OK) fuzz_ok &= fz.pixels != NULL && fz.w > 0 && fz.h > 0;
            free(fz.pixels);
        }
        free(buf);
        free(orig);
    }
    check_true("jpeg/png: 600 corrupted inputs -> OK or FORMAT, no crash", fuzz_ok);

    uint8_t *jpg = read_bytes(P("dec/smooth.jpg"), &len);
    check_fail("jpeg truncated to 60%", jpeg_decode(&im, jpg, len * 6 / 10, 0, "cut.jpg"), NNCLR_ERR_FORMAT,
               "cut.jpg: Premature end");
    check_fail("jpeg header only", jpeg_decode(&im, jpg, 200, 0, "head.jpg"), NNCLR_ERR_FORMAT, "head.jpg");
    for (size_t i = 3; i < 300 && i < len; i++) jpg[i] = (uint8_t)(i * 37 + 11);
    check_fail("jpeg garbage after SOI", jpeg_decode(&im, jpg, len, 0, "garbage.jpg"), NNCLR_ERR_FORMAT,
               "garbage.jpg");
    check_fail("jpeg 2 bytes", jpeg_decode(&im, jpg, 2, 0, "tiny.jpg"), NNCLR_ERR_FORMAT, "tiny.jpg");
    free(jpg);
    free(ref);
}

/* ---- image folders */

static void test_folder(void) {
    /* Classes written out of order; each file has its own width. */
    mkdir_p(P("fold/b_dogs"));
    mkdir_p(P("fold/a_cats/sub"));
    mkdir_p(P("fold/c_birds"));
    uint8_t *smooth = smooth_rgb(48, 32);
    write_jpeg(P("fold/a_cats/a.jpg"), smooth, 48, 32, 3, 95);
    write_png_variant(P("fold/a_cats/x.png"), "rgb", 5, 4);
    write_png_variant(P("fold/a_cats/sub/b.png"), "rgb", 7, 4);
    write_bytes(P("fold/a_cats/notes.png"), "this is text, not an image\n", 27);
    write_bytes(P("fold/a_cats/readme.txt"), "ignored\n", 8);
    write_png_variant(P("fold/a_cats/.hidden.png"), "rgb", 30, 4);
    symlink(".", P("fold/a_cats/self_loop"));
    symlink("..", P("fold/a_cats/sub/up_loop"));
    symlink("x.png", P("fold/a_cats/link.PNG"));
    write_png_variant(P("fold/b_dogs/g.png"), "gray", 9, 4);
    write_png_variant(P("fold/b_dogs/p.png"), "palette", 10, 4);
    write_png_variant(P("fold/c_birds/r16.png"), "rgb16", 11, 4);
    write_png_variant(P("fold/c_birds/rgba.png"), "rgba", 12, 4);
    write_png_variant(P("fold/c_birds/i.png"), "interlaced", 13, 4);
    write_png_variant(P("fold/c_birds/g4.png"), "gray4", 14, 4);
    write_bytes(P("fold/stray_file_in_root.png"), "x", 1);

    dataset d = {0};
    capture_begin();
    nnclr_status s = image_folder_load(&d, P("fold"), 0);
    char *log = capture_end();
    if (s != NNCLR_OK) printf("     %s\n", nnclr_last_error());
    static const int want_w[] = {48, 5, 5, 7, 9, 10, 14, 13, 11, 12};
    static const int want_label[] = {0, 0, 0, 0, 1, 1, 2, 2, 2, 2};
    int order_ok = s == NNCLR_OK && d.n == 10;
    for (int i = 0; order_ok && i < 10; i++) order_ok = d.images[i].w == want_w[i] && d.labels[i] == want_label[i];
    check_true("folder: 10 images in ImageFolder order (a.jpg, link.PNG, x.png, sub/b.png, ...)", order_ok);
    check_true("folder: classes sorted by name", s == NNCLR_OK && d.num_classes == 3 &&
               !strcmp(d.class_names[0], "a_cats") && !strcmp(d.class_names[1], "b_dogs") &&
               !strcmp(d.class_names[2], "c_birds"));
    check_true("folder: mixed sizes -> h = w = 0, all c = 3, pixels per image",
               s == NNCLR_OK && d.h == 0 && d.w == 0 && d.c == 3 && d.pixels == NULL && d.images[4].c == 3);
    check_true("folder: .txt named .png skipped and counted", s == NNCLR_OK && d.skipped == 1);
    check_true("folder: skip warning names the file and reason",
               log && strstr(log, "a_cats/notes.png: not a JPEG or PNG image") != NULL);
    check_true("folder: symlink loops warned and not followed",
               log && strstr(log, "self_loop") && strstr(log, "up_loop"));
    free(log);
    if (order_ok) {
        int ok = png_image_matches(&d.images[1], "rgb", 5, 4, 3) && png_image_matches(&d.images[8], "rgb16", 11, 4, 3) &&
                 png_image_matches(&d.images[9], "rgba", 12, 4, 3) && png_image_matches(&d.images[7], "interlaced", 13, 4, 3);
        const dataset_image *g = &d.images[4];
        for (int p = 0; p < g->w * g->h; p++) {
            int want = png_expected("gray", p / g->w, p % g->w, 0);
            ok &= g->pixels[3 * p] == want && g->pixels[3 * p + 1] == want && g->pixels[3 * p + 2] == want;
        }
        int maxd = 999;
        double meand = 999;
        diff_stats(d.images[0].pixels, smooth, 48 * 32 * 3, &maxd, &meand);
        printf("     folder png/gray checks %s; jpeg 48x32: max |diff| %d, mean |diff| %.3f\n", ok ? "ok" : "FAIL",
               maxd, meand);
        check_true("folder: pixels exact (PNG), gray expanded to RGB, JPEG within max 12 / mean 2",
                   ok && maxd <= 12 && meand <= 2.0);
    }

    /* The held-out split on a folder data set (per-image pixels). */
    dataset tr, te;
    s = dataset_split(&d, 0.5, 3, &tr, &te);
    check_true("split 0.5 of a varied-size folder set (4+2+4): 5 test, per-image copies",
               s == NNCLR_OK && tr.n + te.n == 10 && te.n == 5 && tr.pixels == NULL && tr.images[0].pixels != NULL);
    dataset_free(&tr);
    dataset_free(&te);
    dataset_free(&d);

    /* All-gray, same-size folder: packed, one channel. */
    mkdir_p(P("grayfold/0"));
    mkdir_p(P("grayfold/1"));
    write_png_variant(P("grayfold/0/a.png"), "gray", 6, 5);
    write_png_variant(P("grayfold/1/b.png"), "gray4", 6, 5);
    write_png_variant(P("grayfold/1/c.png"), "gray", 6, 5);
    s = dataset_open(&d, "folder", P("grayfold"), 0);
    check_true("gray folder of one size: packed (n, 5, 6, 1)", s == NNCLR_OK && d.n == 3 && d.h == 5 && d.w == 6 &&
               d.c == 1 && d.pixels && d.images[2].pixels == d.pixels + 60 && png_image_matches(&d.images[1], "gray4", 6, 5, 1));
    dataset_free(&d);

    /* Flat folder: unlabelled. */
    mkdir_p(P("flat"));
    write_png_variant(P("flat/2.png"), "rgb", 4, 4);
    write_png_variant(P("flat/1.png"), "rgb", 4, 4);
    write_jpeg(P("flat/3.jpeg"), smooth, 48, 32, 3, 95);
    mkfifo(P("flat/pipe.png"), 0600);
    dataset_image fim;
    check_fail("a FIFO named .png is not read (no blocking)", image_load_file(&fim, P("flat/pipe.png"), 0),
               NNCLR_ERR_IO, "pipe.png: not a regular file");
    s = dataset_open(&d, "folder", P("flat"), 0);
    check_true("flat folder: 3 unlabelled images (FIFO ignored)", s == NNCLR_OK && d.n == 3 && d.skipped == 0 &&
               !d.labels && d.num_classes == 0 && d.images[2].w == 48);
    dataset_free(&d);

    /* JPEG DCT scaling through the folder reader. */
    s = dataset_open_sized(&d, "folder", P("flat"), 0, 6);
    check_true("flat folder with target side 6: 48x32 JPEG decoded at 2/8 = 12x8",
               s == NNCLR_OK && d.n == 3 && d.images[2].w == 12 && d.images[2].h == 8);
    dataset_free(&d);
    free(smooth);

    /* Errors. */
    mkdir_p(P("empty"));
    check_fail("empty folder", image_folder_load(&d, P("empty"), 0), NNCLR_ERR_FORMAT, "empty");
    check_fail("missing path", dataset_open(&d, "folder", P("missing"), 0), NNCLR_ERR_IO, "missing: No such file");
    check_fail("file given as folder", image_folder_load(&d, P("flat/1.png"), 0), NNCLR_ERR_IO, "not a directory");
    mkdir_p(P("badclass/good"));
    mkdir_p(P("badclass/bad"));
    write_png_variant(P("badclass/good/a.png"), "rgb", 4, 4);
    write_bytes(P("badclass/bad/broken.jpg"), "\xff\xd8\xff\xe0 nothing more", 17);
    capture_begin();
    s = image_folder_load(&d, P("badclass"), 0);
    free(capture_end());
    check_fail("class folder whose only file is corrupt", s, NNCLR_ERR_FORMAT, "badclass/bad: no readable image");
    unlink(P("badclass/bad/broken.jpg"));
    check_fail("class folder with no image files", image_folder_load(&d, P("badclass"), 0), NNCLR_ERR_FORMAT,
               "badclass/bad: class folder has no");
    symlink("selfref", P("selfref"));
    check_fail("root is a symlink loop", image_folder_load(&d, P("selfref"), 0), NNCLR_ERR_IO, "selfref");
    check_fail("unknown format", dataset_open(&d, "imagenet-zip", P("flat"), 0), NNCLR_ERR_ARG, "imagenet-zip");
    check_true("failed folder loads leave the dataset zeroed", d.n == 0 && !d.images && !d.class_names);
}

/* ---- held-out split */

static void test_split(void) {
    dataset d;
    check_true("alloc 100 x 2x2x1", dataset_alloc_common(&d, 100, 2, 2, 1, 1) == NNCLR_OK);
    for (int i = 0; i < 100; i++) {
        d.images[i].pixels[0] = (uint8_t)i;
        d.labels[i] = i % 4;
    }
    dataset_set_class_names(&d, 4, NULL);
    dataset tr, te, tr2, te2;
    nnclr_status s = dataset_split(&d, 0.2, 7, &tr, &te);
    int seen[100] = {0}, per_class[4] = {0}, ok = s == NNCLR_OK && tr.n == 80 && te.n == 20;
    for (int i = 0; ok && i < tr.n; i++) seen[tr.images[i].pixels[0]]++;
    for (int i = 0; ok && i < te.n; i++) {
        seen[te.images[i].pixels[0]]++;
        per_class[te.labels[i]]++;
        ok &= te.labels[i] == te.images[i].pixels[0] % 4;
        if (i > 0) ok &= te.images[i].pixels[0] > te.images[i - 1].pixels[0];
    }
    for (int i = 0; ok && i < 100; i++) ok &= seen[i] == 1;
    check_true("split 0.2: 80/20, disjoint, covers all, source order kept", ok);
    check_true("split stratified: 5 test images per class", per_class[0] == 5 && per_class[1] == 5 &&
               per_class[2] == 5 && per_class[3] == 5);
    check_true("split keeps class names", s == NNCLR_OK && te.num_classes == 4 && !strcmp(te.class_names[3], "3"));
    s = dataset_split(&d, 0.2, 7, &tr2, &te2);
    int same = s == NNCLR_OK && te2.n == te.n;
    for (int i = 0; same && i < te.n; i++) same = te.images[i].pixels[0] == te2.images[i].pixels[0];
    check_true("split: same seed, same split", same);
    dataset_free(&tr2);
    dataset_free(&te2);
    s = dataset_split(&d, 0.2, 8, &tr2, &te2);
    int differ = 0;
    for (int i = 0; s == NNCLR_OK && i < te.n; i++) differ |= te.images[i].pixels[0] != te2.images[i].pixels[0];
    check_true("split: another seed, another split", differ);
    dataset_free(&tr2);
    dataset_free(&te2);
    dataset_free(&tr);
    dataset_free(&te);
    free(d.labels);
    d.labels = NULL;
    dataset_set_class_names(&d, 0, NULL);
    s = dataset_split(&d, 0.3, 1, &tr, &te);
    check_true("split unlabelled 0.3: 70/30", s == NNCLR_OK && tr.n == 70 && te.n == 30 && !te.labels);
    dataset_free(&tr);
    dataset_free(&te);
    check_fail("split fraction 0", dataset_split(&d, 0.0, 1, &tr, &te), NNCLR_ERR_ARG, "fraction");
    check_fail("split fraction 1", dataset_split(&d, 1.0, 1, &tr, &te), NNCLR_ERR_ARG, "fraction");
    check_fail("split leaving test empty", dataset_split(&d, 0.001, 1, &tr, &te), NNCLR_ERR_ARG, "empty");
    dataset_free(&d);
    check_fail("alloc zero images", dataset_alloc_common(&d, 0, 2, 2, 1, 0), NNCLR_ERR_ARG, NULL);
    check_fail("alloc 4 channels", dataset_alloc_common(&d, 1, 2, 2, 4, 0), NNCLR_ERR_ARG, NULL);
    check_fail("alloc absurd size", dataset_alloc_common(&d, 1 << 30, 1 << 10, 1 << 10, 3, 0), NNCLR_ERR_ARG, "limit");
}

/* ---- the installed Fashion-MNIST */

static void test_fashion_mnist(void) {
    const char *dir = "/usr/share/datasets/fashion-mnist";
    struct stat st;
    if (stat(dir, &st) != 0) {
        printf("fashion-mnist not installed: real-data checks not run\n");
        return;
    }
    static const int want_n[2] = {60000, 10000};
    for (int split = 0; split < 2; split++) {
        dataset d;
        nnclr_status s = dataset_open(&d, "fashion-mnist", dir, split);
        if (s != NNCLR_OK) printf("     %s\n", nnclr_last_error());
        int counts[10] = {0}, balanced = s == NNCLR_OK, nonblank = 0;
        for (int i = 0; balanced && i < d.n; i++) counts[d.labels[i]]++;
        for (int k = 0; k < 10; k++) balanced &= counts[k] == want_n[split] / 10;
        for (int i = 0; s == NNCLR_OK && i < 784; i++) nonblank += d.pixels[i] != 0;
        char what[128];
        snprintf(what, sizeof what, "fashion-mnist %s: %d images 28x28x1, 10 classes", split ? "test" : "train",
                 want_n[split]);
        check_true(what, s == NNCLR_OK && d.n == want_n[split] && d.h == 28 && d.w == 28 && d.c == 1 &&
                   d.num_classes == 10 && !strcmp(d.class_names[9], "Ankle boot"));
        snprintf(what, sizeof what, "fashion-mnist %s: %d per class, first label 9, first image not blank",
                 split ? "test" : "train", want_n[split] / 10);
        check_true(what, balanced && d.labels[0] == 9 && nonblank > 100);
        dataset_free(&d);
    }
}

int main(void) {
    snprintf(tmp_root, sizeof tmp_root, "%s/nnclr_readers_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 2;
    }
    test_idx();
    test_cifar();
    test_stl10();
    test_decoders();
    test_folder();
    test_split();
    test_fashion_mnist();
    nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return test_summary();
}
