/* bench_ckpt_compare.c - compares named sections of two checkpoint files byte for byte (the
 * reliability scripts use it to check that an interrupted and resumed run ends with exactly the
 * parameters of an uninterrupted one).
 *
 *     bench_ckpt_compare A.ckpt B.ckpt [SECTION...]     # default sections: params
 *
 * Prints one line per section (equal, or the first differing byte, the number of differing
 * float32 values and the largest absolute difference) and exits 0 when every named section
 * exists in both files and is identical, 1 when any differs, 2 on a usage or read error. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/status.h"
#include "io/checkpoint.h"

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_ckpt_compare A.ckpt B.ckpt [SECTION...]\n");
        return 2;
    }
    checkpoint *a = NULL, *b = NULL;
    if (checkpoint_read(&a, argv[1]) != NNCLR_OK || checkpoint_read(&b, argv[2]) != NNCLR_OK) {
        fprintf(stderr, "bench_ckpt_compare: %s\n", nnclr_last_error());
        checkpoint_free(a);
        return 2;
    }
    static char *default_sections[] = {"params"};
    char **names = argc > 3 ? argv + 3 : default_sections;
    int count = argc > 3 ? argc - 3 : 1;
    int rc = 0;
    for (int i = 0; i < count; i++) {
        const void *pa, *pb;
        size_t la, lb;
        if (checkpoint_get(a, names[i], &pa, &la) != NNCLR_OK || checkpoint_get(b, names[i], &pb, &lb) != NNCLR_OK) {
            fprintf(stderr, "bench_ckpt_compare: %s\n", nnclr_last_error());
            rc = 2;
            break;
        }
        if (la == lb && memcmp(pa, pb, la) == 0) {
            printf("%s: identical (%zu bytes)\n", names[i], la);
            continue;
        }
        rc = 1;
        if (la != lb) {
            printf("%s: DIFFERENT sizes %zu and %zu bytes\n", names[i], la, lb);
            continue;
        }
        const unsigned char *ca = pa, *cb = pb;
        size_t first = 0;
        while (ca[first] == cb[first]) first++;
        size_t nf = la / sizeof(float), differ = 0;
        double max_abs = 0;
        for (size_t k = 0; k < nf; k++) {
            float x, y;
            memcpy(&x, ca + 4 * k, 4);
            memcpy(&y, cb + 4 * k, 4);
            if (memcmp(&x, &y, 4) != 0) {
                differ++;
                double d = fabs((double)x - (double)y);
                if (d > max_abs) max_abs = d;
            }
        }
        printf("%s: DIFFERENT from byte %zu; %zu of %zu float32 values differ, max |diff| %.3g\n", names[i], first,
               differ, nf, max_abs);
    }
    checkpoint_free(a);
    checkpoint_free(b);
    return rc;
}
