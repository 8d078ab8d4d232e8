/* test_core.c - the seeded RNG and the flat tensor table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "core/rng.h"
#include "core/status.h"
#include "core/tensors.h"
#include "testlib.h"

int main(void) {
    rng_state a, b;
    rng_seed(&a, 42);
    rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 100; i++) same &= rng_next(&a) == rng_next(&b);
    check_true("rng: same seed, same stream", same);
    rng_derive(&a, 1, 2, 3);
    rng_derive(&b, 1, 3, 2);
    check_true("rng: derived streams differ by key order", rng_next(&a) != rng_next(&b));

    /* Moments of uniform and normal over 200k draws: mean within 4 sigma. */
    rng_seed(&a, 7);
    double su = 0, sn = 0, sn2 = 0, umin = 1, umax = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = rng_uniform(&a), z = rng_normal(&a);
        su += u; sn += z; sn2 += z * z;
        if (u < umin) umin = u;
        if (u > umax) umax = u;
    }
    check_true("rng: uniform mean ~ 0.5", fabs(su / n - 0.5) < 4 * sqrt(1.0 / 12 / n));
    check_true("rng: uniform in [0,1)", umin >= 0 && umax < 1);
    check_true("rng: normal mean ~ 0", fabs(sn / n) < 4 / sqrt(n));
    check_true("rng: normal var ~ 1", fabs(sn2 / n - 1) < 0.02);
    int hist[7] = {0};
    for (int i = 0; i < 70000; i++) hist[rng_below(&a, 7)]++;
    int hok = 1;
    for (int i = 0; i < 7; i++) hok &= abs(hist[i] - 10000) < 500;
    check_true("rng: rng_below uniform over 7 bins", hok);

    tensor_table t;
    tensor_table_init(&t);
    size_t o1, o2;
    int s1[4] = {4, 3, 3, 3}, s2[1] = {5};
    check_true("tensors: add", tensor_table_add(&t, "conv.weight", 4, s1, TENSOR_WEIGHT, &o1) == NNCLR_OK);
    check_true("tensors: add bias", tensor_table_add(&t, "bn.bias", 1, s2, TENSOR_NO_DECAY, &o2) == NNCLR_OK);
    check_true("tensors: duplicate rejected",
               tensor_table_add(&t, "bn.bias", 1, s2, TENSOR_NO_DECAY, NULL) == NNCLR_ERR_ARG);
    check_true("tensors: offsets aligned and disjoint", o1 == 0 && o2 % 16 == 0 && o2 >= 108);
    int bad[1] = {0};
    check_true("tensors: zero dim rejected", tensor_table_add(&t, "z", 1, bad, 0, NULL) == NNCLR_ERR_ARG);
    check_true("tensors: alloc", tensor_table_alloc(&t) == NNCLR_OK && t.data != NULL);
    const tensor_entry *e = tensor_table_find(&t, "conv.weight");
    check_true("tensors: find", e && e->size == 108 && e->kind == TENSOR_WEIGHT);
    check_true("tensors: no add after alloc",
               tensor_table_add(&t, "late", 1, s2, 0, NULL) == NNCLR_ERR_ARG);
    tensor_table_free(&t);
    return test_summary();
}
