/* bench_pipeline.c - the 224x224 input pipeline per core, as a loader thread runs it: for every
 * JPEG of a folder, read the file, decode it (full size, or with libjpeg's DCT scaling to a
 * shorter side >= 224 as `--crop-size 224` does) and make two BYOL views (the imagenet preset:
 * random resized crop, flip, colour jitter, grayscale, blur, solarize; float CHW, normalised).
 * One thread. Prints images/s for both decodes and for the views alone (what later epochs cost:
 * nnclr keeps decoded images in memory). bench/pipeline_compare.sh runs it against torchvision.
 *
 *     ./bench_pipeline FOLDER [passes]
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rng.h"
#include "core/status.h"
#include "data/augment.h"
#include "data/dataset.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_pipeline FOLDER [passes]\n");
        return 2;
    }
    int passes = argc > 2 ? atoi(argv[2]) : 1;
    /* The JPEG files of FOLDER and its subfolders (one level). */
    char **files = NULL;
    int n = 0, cap = 0;
    DIR *top = opendir(argv[1]);
    if (!top) {
        perror(argv[1]);
        return 1;
    }
    struct dirent *e;
    while ((e = readdir(top))) {
        if (e->d_name[0] == '.') continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", argv[1], e->d_name);
        DIR *d = opendir(sub);
        if (!d) continue;
        struct dirent *f;
        while ((f = readdir(d))) {
            size_t l = strlen(f->d_name);
            if (l < 5 || strcmp(f->d_name + l - 4, ".jpg")) continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 1024;
                files = realloc(files, (size_t)cap * sizeof *files);
            }
            files[n] = malloc(strlen(sub) + l + 2);
            sprintf(files[n++], "%s/%s", sub, f->d_name);
        }
        closedir(d);
    }
    closedir(top);
    if (n == 0) {
        fprintf(stderr, "no .jpg files under %s/*/\n", argv[1]);
        return 1;
    }
    qsort(files, (size_t)n, sizeof *files, by_name);
    augment_config aug;
    if (augment_preset(&aug, "imagenet", 3, 224)) {
        fprintf(stderr, "%s\n", nnclr_last_error());
        return 1;
    }
    float *v = malloc((size_t)3 * 224 * 224 * sizeof(float));
    dataset_image *kept = calloc((size_t)n, sizeof *kept);
    double checksum = 0;
    for (int mode = 0; mode < 3; mode++) {
        /* 0: full decode + 2 views; 1: DCT-scaled decode + 2 views; 2: 2 views of kept images */
        double t0 = now_s();
        long images = 0;
        for (int p = 0; p < passes; p++)
            for (int i = 0; i < n; i++) {
                dataset_image im = {0};
                if (mode < 2) {
                    if (image_load_file(&im, files[i], mode == 1 ? 224 : 0)) {
                        fprintf(stderr, "%s\n", nnclr_last_error());
                        return 1;
                    }
                } else {
                    im = kept[i];
                }
                for (int view = 0; view < 2; view++) {
                    rng_state r;
                    rng_derive(&r, 1, (uint64_t)p * n + i, (uint64_t)view);
                    augment_apply(&aug, view, v, &im, &r);
                    checksum += v[view * 1000];
                }
                if (mode == 1 && p == 0 && !kept[i].pixels) kept[i] = im;
                else if (mode < 2) free(im.pixels);
                images++;
            }
        double t = now_s() - t0;
        static const char *const what[3] = {"full JPEG decode + 2 views", "DCT-scaled decode (>= 224) + 2 views",
                                            "2 views of decoded images (later epochs)"};
        printf("nnclr   %-42s %8.1f images/s  (%ld images, %.2f s, 1 thread)\n", what[mode], images / t, images, t);
    }
    fprintf(stderr, "checksum %g\n", checksum);
    for (int i = 0; i < n; i++) {
        free(kept[i].pixels);
        free(files[i]);
    }
    free(kept);
    free(files);
    free(v);
    return 0;
}
