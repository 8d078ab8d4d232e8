/* test_lars.c - LARS and SGD over the flat parameter buffer against PyTorch (tests/gen_ssl.py ->
 * fixtures/ssl_lars.bin: 3 steps on mixed weight / no-decay tensors, including a zero weight
 * and a zero weight with zero gradient), an exact hand-computed two-step case, and the
 * learning-rate schedule. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/status.h"
#include "core/tensors.h"
#include "optim/lars.h"
#include "optim/schedule.h"
#include "testlib.h"

/* Float32 PyTorch vs float32 C with double norms: a few ulps. */
#define STEP_ATOL 1e-6
#define STEP_RTOL 1e-5

static const char *names[] = {"conv.weight", "bn.weight", "bn.bias", "fc.weight", "fc.bias",
                              "zero.weight", "frozen.weight"};
#define NT 7

static void test_fixture(const char *opt_name, optim_kind kind) {
    fx_file f;
    if (fx_load(&f, "fixtures/ssl_lars.bin")) return;
    const fx_tensor *hyper = fx_get(&f, "hyper");
    if (!hyper) return;
    tensor_table t;
    tensor_table_init(&t);
    char key[128], what[160];
    for (int i = 0; i < NT; i++) {
        snprintf(key, sizeof key, "init.%s", names[i]);
        const fx_tensor *x = fx_get(&f, key);
        snprintf(key, sizeof key, "kind.%s", names[i]);
        const fx_tensor *k = fx_get(&f, key);
        if (!x || !k) return;
        tensor_table_add(&t, names[i], x->ndim, x->dims, (int)k->data[0], NULL);
    }
    tensor_table_alloc(&t);
    float *grad = calloc(t.total, sizeof(float));
    for (int i = 0; i < NT; i++) {
        snprintf(key, sizeof key, "init.%s", names[i]);
        const tensor_entry *e = tensor_table_find(&t, names[i]);
        memcpy(t.data + e->offset, fx_get(&f, key)->data, e->size * sizeof(float));
    }
    lars_config cfg = lars_config_default();
    cfg.kind = kind;
    cfg.weight_decay = hyper->data[0];
    cfg.momentum = hyper->data[1];
    cfg.eta = hyper->data[2];
    lars o;
    snprintf(what, sizeof what, "%s: init", opt_name);
    check_true(what, lars_init(&o, &cfg, &t) == NNCLR_OK);
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < NT; i++) {
            snprintf(key, sizeof key, "grad%d.%s", s, names[i]);
            const tensor_entry *e = tensor_table_find(&t, names[i]);
            memcpy(grad + e->offset, fx_get(&f, key)->data, e->size * sizeof(float));
        }
        snprintf(what, sizeof what, "%s: step %d status", opt_name, s);
        check_true(what, lars_step(&o, &t, grad, hyper->data[3 + s]) == NNCLR_OK);
        for (int i = 0; i < NT; i++) {
            snprintf(key, sizeof key, "%s.step%d.%s", opt_name, s, names[i]);
            snprintf(what, sizeof what, "%s step %d: %s", opt_name, s, names[i]);
            const tensor_entry *e = tensor_table_find(&t, names[i]);
            const fx_tensor *r = fx_get(&f, key);
            if (r) check_close(what, t.data + e->offset, r->data, e->size, STEP_ATOL, STEP_RTOL);
        }
    }
    for (int i = 0; i < NT; i++) {
        snprintf(key, sizeof key, "%s.mu.%s", opt_name, names[i]);
        snprintf(what, sizeof what, "%s momentum after 3 steps: %s", opt_name, names[i]);
        const tensor_entry *e = tensor_table_find(&t, names[i]);
        const fx_tensor *r = fx_get(&f, key);
        if (r) check_close(what, o.mu + e->offset, r->data, e->size, STEP_ATOL, STEP_RTOL);
    }
    lars_free(&o);
    tensor_table_free(&t);
    free(grad);
    fx_free(&f);
}

/* w = [3, 4] (weight), b = [1] (no decay), grads [0.6, 0.8] and [0.5] twice, wd 0.5,
 * eta 0.7, momentum 0.9, lr 0.1:
 *   step 1: g' = [0.6, 0.8] + 0.5 [3, 4] = [2.1, 2.8], |g'| = 3.5, |w| = 5, q = 0.7 * 5 / 3.5 = 1
 *           mu = [2.1, 2.8], w = [2.79, 3.72];  b: mu = 0.5, b = 0.95
 *   step 2: g' = [1.995, 2.66], |g'| = 3.325, |w| = 4.65, q = 3.255 / 3.325
 *           q g' = [1.953, 2.604], mu = [3.843, 5.124], w = [2.4057, 3.2076]
 *           b: mu = 0.95, b = 0.855
 * With SGD (no trust ratio) the same numbers hold at step 1; step 2: mu = [3.885, 5.18],
 * w = [2.4015, 3.202]. */
static void test_hand(optim_kind kind) {
    tensor_table t;
    tensor_table_init(&t);
    int s2[1] = {2}, s1[1] = {1};
    size_t ow, ob;
    tensor_table_add(&t, "w", 1, s2, TENSOR_WEIGHT, &ow);
    tensor_table_add(&t, "b", 1, s1, TENSOR_NO_DECAY, &ob);
    tensor_table_alloc(&t);
    t.data[ow] = 3;
    t.data[ow + 1] = 4;
    t.data[ob] = 1;
    float *g = calloc(t.total, sizeof(float));
    g[ow] = 0.6f;
    g[ow + 1] = 0.8f;
    g[ob] = 0.5f;
    lars_config c = {kind, 0.9f, 0.5f, 0.7f};
    lars o;
    lars_init(&o, &c, &t);
    lars_step(&o, &t, g, 0.1f);
    float got1[3] = {t.data[ow], t.data[ow + 1], t.data[ob]}, ref1[3] = {2.79f, 3.72f, 0.95f};
    check_close(kind == OPTIM_LARS ? "hand LARS: step 1" : "hand SGD: step 1", got1, ref1, 3, 1e-6, 1e-6);
    lars_step(&o, &t, g, 0.1f);
    float got2[5] = {t.data[ow], t.data[ow + 1], t.data[ob], o.mu[ow], o.mu[ow + 1]};
    float lars2[5] = {2.4057f, 3.2076f, 0.855f, 3.843f, 5.124f};
    float sgd2[5] = {2.4015f, 3.202f, 0.855f, 3.885f, 5.18f};
    check_close(kind == OPTIM_LARS ? "hand LARS: step 2 (w, b, mu)" : "hand SGD: step 2 (w, b, mu)", got2,
                kind == OPTIM_LARS ? lars2 : sgd2, 5, 1e-6, 1e-6);
    /* A non-finite gradient is refused before anything moves. */
    float keep[3] = {t.data[ow], t.data[ow + 1], t.data[ob]};
    g[ob] = NAN;
    nnclr_status st = lars_step(&o, &t, g, 0.1f);
    float now[3] = {t.data[ow], t.data[ow + 1], t.data[ob]};
    check_true("NaN gradient -> NNCLR_ERR_NUMERIC, parameters untouched",
               st == NNCLR_ERR_NUMERIC && memcmp(keep, now, sizeof keep) == 0);
    check_true("negative lr rejected", lars_step(&o, &t, g, -1.0f) == NNCLR_ERR_ARG);
    lars_free(&o);
    free(g);
    tensor_table_free(&t);
}

static void test_schedule(void) {
    lr_schedule s;
    /* peak = 0.3 * 512 / 256 = 0.6; warm-up 10 steps; 110 steps in all. */
    check_true("schedule: init", lr_schedule_init(&s, 0.3, 512, 10, 110) == NNCLR_OK);
    float got[7] = {(float)lr_schedule_at(&s, 0), (float)lr_schedule_at(&s, 4), (float)lr_schedule_at(&s, 9),
                    (float)lr_schedule_at(&s, 10), (float)lr_schedule_at(&s, 60), (float)lr_schedule_at(&s, 109),
                    (float)lr_schedule_at(&s, 110)};
    float ref[7] = {0.06f, 0.3f, 0.6f, 0.6f, 0.3f,
                    (float)(0.6 * 0.5 * (1 + cos(3.14159265358979323846 * 99 / 100))), 0.0f};
    check_close("schedule: steps 0, 4, 9 (end of warm-up), 10, 60 (mid-cosine), 109 (last), 110", got, ref, 7,
                1e-7, 1e-6);
    check_true("schedule: last step small but positive", got[5] > 0 && got[5] < 1e-3);
    int mono = 1;
    for (long k = 10; k < 110; k++) mono &= lr_schedule_at(&s, k + 1) <= lr_schedule_at(&s, k);
    check_true("schedule: non-increasing after warm-up", mono);
    lr_schedule_init(&s, 0.2, 256, 0, 4);
    float g2[4] = {(float)lr_schedule_at(&s, 0), (float)lr_schedule_at(&s, 1), (float)lr_schedule_at(&s, 2),
                   (float)lr_schedule_at(&s, 3)};
    float r2[4] = {0.2f, 0.1f + 0.1f * (float)cos(3.14159265358979323846 / 4), 0.1f,
                   0.1f + 0.1f * (float)cos(3.14159265358979323846 * 3 / 4)};
    check_close("schedule: no warm-up, 4 steps", g2, r2, 4, 1e-7, 1e-6);
    check_true("schedule: warm-up > total rejected", lr_schedule_init(&s, 0.1, 256, 5, 4) == NNCLR_ERR_ARG);
    check_true("schedule: batch 0 rejected", lr_schedule_init(&s, 0.1, 0, 0, 4) == NNCLR_ERR_ARG);
    check_true("schedule: negative lr rejected", lr_schedule_init(&s, -0.1, 256, 0, 4) == NNCLR_ERR_ARG);
}

int main(void) {
    test_fixture("lars", OPTIM_LARS);
    test_fixture("sgd", OPTIM_SGD);
    test_hand(OPTIM_LARS);
    test_hand(OPTIM_SGD);
    test_schedule();
    return test_summary();
}
