/* bench_make_synthetic.c - writes a small labelled folder data set of PNG files for the
 * reliability scripts (bench/kill_resume.sh, bench/leak_check.sh): DIR/class_<k>/<i>.png, one
 * folder per class, in the layout image_folder.c reads ("folder" format).
 *
 * Class k is a stripe pattern with its own orientation and colour, at a random phase and with
 * noise, so that training has something to learn and kNN accuracy means something; images are
 * RGB, side x side pixels. The files depend only on the arguments (seeded xoshiro stream).
 *
 *     bench_make_synthetic DIR [classes=4] [per_class=32] [side=24] [seed=1]
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/rng.h"
#include "core/status.h"
#include "io/png_write.h"

static const double PI = 3.14159265358979323846;

static int make_dir(const char *path) {
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "bench_make_synthetic: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* One image of class k: px (side, side, 3). */
static void draw(uint8_t *px, int side, int k, int classes, rng_state *r) {
    double angle = PI * k / classes;
    double cx = cos(angle), sy = sin(angle);
    double period = 4.0 + (k % 3);
    double phase = 2 * PI * rng_uniform_double(r);
    double tint[3] = {0.4 + 0.6 * ((k >> 0) & 1), 0.4 + 0.6 * ((k >> 1) & 1), 0.4 + 0.6 * ((k >> 2) & 1)};
    for (int y = 0; y < side; y++) {
        for (int x = 0; x < side; x++) {
            double v = 0.5 + 0.4 * sin(2 * PI * (x * cx + y * sy) / period + phase);
            for (int c = 0; c < 3; c++) {
                double p = 255.0 * v * tint[c] + 20.0 * rng_normal(r);
                px[(y * side + x) * 3 + c] = (uint8_t)(p < 0 ? 0 : p > 255 ? 255 : p);
            }
        }
    }
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 6) {
        fprintf(stderr, "usage: bench_make_synthetic DIR [classes=4] [per_class=32] [side=24] [seed=1]\n");
        return 2;
    }
    const char *dir = argv[1];
    int classes = argc > 2 ? atoi(argv[2]) : 4;
    int per_class = argc > 3 ? atoi(argv[3]) : 32;
    int side = argc > 4 ? atoi(argv[4]) : 24;
    uint64_t seed = argc > 5 ? strtoull(argv[5], NULL, 10) : 1;
    if (classes < 1 || classes > 1000 || per_class < 1 || side < 1 || side > 4096) {
        fprintf(stderr, "bench_make_synthetic: classes 1..1000, per_class >= 1, side 1..4096\n");
        return 2;
    }
    uint8_t *px = malloc((size_t)side * side * 3);
    if (!px || make_dir(dir) != 0) return 1;
    char path[4096];
    for (int k = 0; k < classes; k++) {
        snprintf(path, sizeof path, "%s/class_%d", dir, k);
        if (make_dir(path) != 0) return 1;
        for (int i = 0; i < per_class; i++) {
            rng_state r;
            rng_derive(&r, seed, (uint64_t)k, (uint64_t)i);
            draw(px, side, k, classes, &r);
            snprintf(path, sizeof path, "%s/class_%d/%04d.png", dir, k, i);
            if (png_write(path, px, side, side, 3) != NNCLR_OK) {
                fprintf(stderr, "bench_make_synthetic: %s\n", nnclr_last_error());
                return 1;
            }
        }
    }
    free(px);
    printf("%d classes x %d images of %dx%dx3 in %s\n", classes, per_class, side, side, dir);
    return 0;
}
