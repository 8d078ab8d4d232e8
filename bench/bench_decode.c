/* bench_decode.c - reader throughput on one core: JPEG decode of a 224x224 photo-like image (full
 * size and with the DCT scaled for a 112 target), PNG decode of the same pixels, and the CIFAR-10
 * binary reader (planes -> HWC). The JPEG/PNG files are written to a temporary folder; CIFAR uses
 * the given folder (e.g. shared/data/cifar10) or, without one, five synthetic 2000-record
 * batches written there. Each case runs for about `seconds` (default 1).
 *
 *     ./bench_decode [seconds] [cifar10 dir]
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jpeglib.h>
#include <png.h>

#include "core/rng.h"
#include "core/status.h"
#include "data/dataset.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Smooth gradients plus noise, so the JPEG has photo-like entropy. px: (h, w, 3) */
static void make_image(uint8_t *px, int w, int h) {
    rng_state r;
    rng_seed(&r, 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                double v = 128 + 60 * sin(0.05 * x * (c + 1)) + 40 * cos(0.07 * y) + 24 * (rng_uniform(&r) - 0.5);
                px[((size_t)y * w + x) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
}

static int write_jpeg(const char *path, const uint8_t *px, int w, int h) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return 0;
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, fp);
    cinfo.image_width = w;
    cinfo.image_height = h;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 90, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)px + (size_t)cinfo.next_scanline * w * 3;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    fclose(fp);
    return 1;
}

static int write_png(const char *path, const uint8_t *px, int w, int h) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = w;
    img.height = h;
    img.format = PNG_FORMAT_RGB;
    return png_image_write_to_file(&img, path, 0, px, 0, NULL);
}

static uint8_t *read_all(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *b = malloc(*n);
    if (b && fread(b, 1, *n, fp) != *n) {
        free(b);
        b = NULL;
    }
    fclose(fp);
    return b;
}

/* Decodes the bytes repeatedly for ~seconds; prints images/s. */
static void bench_image(const char *label, const uint8_t *data, size_t size, int is_png, int target,
                        double seconds) {
    int count = 0, w = 0, h = 0;
    double t0 = now_s(), t;
    do {
        dataset_image im;
        nnclr_status s = is_png ? png_decode(&im, data, size, label) : jpeg_decode(&im, data, size, target, label);
        if (s != NNCLR_OK) {
            fprintf(stderr, "bench_decode: %s\n", nnclr_last_error());
            return;
        }
        w = im.w;
        h = im.h;
        free(im.pixels);
        count++;
        t = now_s() - t0;
    } while (t < seconds);
    printf("%-34s %4dx%-4d %9.0f images/s\n", label, w, h, count / t);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    const char *cifar_dir = argc > 2 ? argv[2] : NULL;
    char tmp[] = "/tmp/nnclr_bench_decode_XXXXXX", path[256];
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    enum { W = 224, H = 224 };
    uint8_t *px = malloc((size_t)W * H * 3);
    make_image(px, W, H);
    size_t jlen = 0, plen = 0;
    snprintf(path, sizeof path, "%s/img.jpg", tmp);
    uint8_t *jpg = write_jpeg(path, px, W, H) ? read_all(path, &jlen) : NULL;
    snprintf(path, sizeof path, "%s/img.png", tmp);
    uint8_t *png = write_png(path, px, W, H) ? read_all(path, &plen) : NULL;
    if (!jpg || !png) {
        fprintf(stderr, "bench_decode: cannot write test images in %s\n", tmp);
        return 1;
    }
    printf("jpeg %zu bytes, png %zu bytes\n", jlen, plen);
    bench_image("jpeg 224 full size", jpg, jlen, 0, 0, seconds);
    bench_image("jpeg 224, target 112 (scale 4/8)", jpg, jlen, 0, 112, seconds);
    bench_image("png 224", png, plen, 1, 0, seconds);

    if (!cifar_dir) {
        /* Synthetic batches of 2000 records. */
        enum { RECORDS = 2000, RECORD = 3073 };
        uint8_t *batch = malloc((size_t)RECORDS * RECORD);
        rng_state r;
        rng_seed(&r, 5);
        for (size_t i = 0; i < (size_t)RECORDS * RECORD; i++) batch[i] = (uint8_t)(rng_next(&r) >> 56);
        for (int i = 0; i < RECORDS; i++) batch[(size_t)i * RECORD] = (uint8_t)(i % 10);
        for (int b = 1; b <= 5; b++) {
            snprintf(path, sizeof path, "%s/data_batch_%d.bin", tmp, b);
            FILE *fp = fopen(path, "wb");
            if (!fp || fwrite(batch, RECORD, RECORDS, fp) != RECORDS) return 1;
            fclose(fp);
        }
        free(batch);
        cifar_dir = tmp;
    }
    int count = 0, n = 0;
    double t0 = now_s(), t;
    do {
        dataset d;
        if (cifar10_load(&d, cifar_dir, DATASET_TRAIN) != NNCLR_OK) {
            fprintf(stderr, "bench_decode: %s\n", nnclr_last_error());
            return 1;
        }
        n = d.n;
        dataset_free(&d);
        count++;
        t = now_s() - t0;
    } while (t < seconds);
    printf("%-34s %9d    %9.0f images/s (%s)\n", "cifar10 train batches", n, (double)count * n / t, cifar_dir);

    free(px);
    free(jpg);
    free(png);
    nftw(tmp, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}
