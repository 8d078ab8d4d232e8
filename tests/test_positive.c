/* test_positive.c - the positive schedule (src/ssl/positive.h) and the empty-start support set:
 *   - p(t): 0 before the start, the linear ramp from p0 to 1, 1 after; a zero-length ramp is a
 *     switch; SimCLR is 0 throughout; the paper's config (no schedule) is 1 from step 0
 *   - the per-row draws: deterministic in (seed, step), a fraction within 5 standard deviations
 *     of p over 2 x 4096 rows, different between steps
 *   - the library refuses a negative ramp, a ramp past the end of the run, p0 outside [0, 1]
 *   - a training step with p = 1/2: rows that drew their own view have positive == z exactly,
 *     the others a unit-norm support-set row; the step's nn_fraction is the drawn fraction
 *   - an empty-start support set: step 0 has no neighbour positives (nothing to search), step 1
 *     takes neighbours only among the rows pushed so far (never a random initial row). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/nnclr_model.h"
#include "ssl/positive.h"
#include "testlib.h"

#define B 8
#define S 16

static void tiny_config(nnclr_config *c) {
    nnclr_config_default(c);
    c->arch = "resnet8";
    c->in_channels = 1;
    c->height = c->width = S;
    c->batch = B;
    c->proj_hidden = 16;
    c->proj_dim = 8;
    c->pred_hidden = 16;
    c->queue_size = 64;
    c->total_steps = 100;
    c->seed = 7;
}

static void fill_views(float *v1, float *v2, int step) {
    srand(1000 + step);
    for (int i = 0; i < B * S * S; i++) {
        v1[i] = (float)rand() / RAND_MAX - 0.5f;
        v2[i] = v1[i] + 0.1f * ((float)rand() / RAND_MAX - 0.5f);
    }
}

static void test_probability(void) {
    nnclr_config c;
    tiny_config(&c);
    check_true("no schedule: p = 1 from step 0 (the paper)", positive_nn_probability(&c, 0) == 1);
    c.nn_start_steps = 10;
    c.nn_ramp_steps = 20;
    c.nn_prob_start = 0.2;
    check_true("before the start: p = 0", positive_nn_probability(&c, 9) == 0);
    check_true("at the start: p = p0", fabs(positive_nn_probability(&c, 10) - 0.2) < 1e-12);
    check_true("mid-ramp: p = p0 + (1 - p0) / 2", fabs(positive_nn_probability(&c, 20) - 0.6) < 1e-12);
    check_true("end of the ramp: p = 1", positive_nn_probability(&c, 30) == 1);
    c.nn_ramp_steps = 0;
    check_true("zero-length ramp: a switch at the start", positive_nn_probability(&c, 9) == 0 &&
                                                          positive_nn_probability(&c, 10) == 1);
    c.positive = NNCLR_POSITIVE_SELF;
    check_true("SimCLR: p = 0", positive_nn_probability(&c, 50) == 0);

    nnclr_config bad;
    tiny_config(&bad);
    bad.nn_ramp_steps = -1;
    check_true("negative ramp refused", positive_check_config(&bad) == NNCLR_ERR_ARG);
    tiny_config(&bad);
    bad.nn_start_steps = 60;
    bad.nn_ramp_steps = 50;
    check_true("ramp past the end of the run refused", positive_check_config(&bad) == NNCLR_ERR_ARG);
    tiny_config(&bad);
    bad.nn_prob_start = 1.5;
    check_true("starting probability 1.5 refused", positive_check_config(&bad) == NNCLR_ERR_ARG);
    nnclr_model *m = NULL;
    check_true("nnclr_model_create refuses the bad schedule with a message",
               nnclr_model_create(&m, &bad) == NNCLR_ERR_ARG && strstr(nnclr_last_error(), "probability") && !m);
}

static void test_draws(void) {
    nnclr_config c;
    tiny_config(&c);
    c.batch = 4096;
    c.queue_size = 8192;
    c.nn_ramp_steps = 100;
    c.nn_prob_start = 0.3;
    int *a = malloc(2 * 4096 * sizeof(int)), *b = malloc(2 * 4096 * sizeof(int));
    int na = positive_choose(&c, 99, 0, c.queue_size, a);
    int nb = positive_choose(&c, 99, 0, c.queue_size, b);
    check_true("draws are a function of (seed, step)", na == nb && !memcmp(a, b, 2 * 4096 * sizeof(int)));
    double sd = sqrt(8192 * 0.3 * 0.7);
    char what[160];
    snprintf(what, sizeof what, "fraction of neighbour rows at p = 0.3: %d of 8192 (within 5 sd of %.0f)", na, 8192 * 0.3);
    check_true(what, fabs(na - 8192 * 0.3) < 5 * sd);
    int nc = positive_choose(&c, 99, 1, c.queue_size, b);
    check_true("another step draws other rows", memcmp(a, b, 2 * 4096 * sizeof(int)) != 0 && nc > 0);
    check_true("fewer searchable rows than top-k: every row takes its own view",
               positive_choose(&c, 99, 50, 0, b) == 0);
    free(a);
    free(b);
}

static void test_mixed_step(void) {
    nnclr_config c;
    tiny_config(&c);
    c.nn_ramp_steps = 100;
    c.nn_prob_start = 0.5;
    nnclr_model *m = NULL;
    if (!check_true("model with a ramp", nnclr_model_create(&m, &c) == NNCLR_OK)) return;
    float *v1 = malloc(sizeof(float) * B * S * S), *v2 = malloc(sizeof(float) * B * S * S);
    fill_views(v1, v2, 0);
    nnclr_step_stats st;
    int ok = nnclr_step(m, v1, v2, NULL, &st) == NNCLR_OK;
    check_true("mixed step runs", ok);
    if (ok) {
        int nn = 0, self_exact = 1, nn_unit = 1;
        for (int v = 0; v < 2; v++)
            for (int j = 0; j < B; j++) {
                const float *pos = m->pos[v] + j * c.proj_dim, *z = m->z[v] + j * c.proj_dim;
                if (m->use_nn[v * B + j]) {
                    nn++;
                    double q = 0;
                    for (int k = 0; k < c.proj_dim; k++) q += (double)pos[k] * pos[k];
                    nn_unit &= fabs(q - 1) < 1e-5;
                } else {
                    self_exact &= memcmp(pos, z, c.proj_dim * sizeof(float)) == 0;
                }
            }
        check_true("own-view rows: positive is z itself", self_exact);
        check_true("neighbour rows: positive is a unit support-set row", nn_unit);
        check_true("some rows of each kind at p = 0.5", nn > 0 && nn < 2 * B);
        check_true("stats.nn_fraction is the drawn fraction", fabs(st.nn_fraction - nn / (2.0 * B)) < 1e-12);
        check_true("loss finite", isfinite(st.loss));
    }
    nnclr_model_free(m);
    free(v1);
    free(v2);
}

static void test_empty_start(void) {
    nnclr_config c;
    tiny_config(&c);
    c.support_start_empty = 1;
    nnclr_model *m = NULL;
    if (!check_true("model with an empty-start support set", nnclr_model_create(&m, &c) == NNCLR_OK)) return;
    float *v1 = malloc(sizeof(float) * B * S * S), *v2 = malloc(sizeof(float) * B * S * S);
    nnclr_step_stats st;
    fill_views(v1, v2, 0);
    int ok = nnclr_step(m, v1, v2, NULL, &st) == NNCLR_OK;
    check_true("step 0: no neighbour positives (the set is empty)", ok && st.nn_fraction == 0);
    check_true("step 0 pushed one batch", support_set_fill(m->queue) == B);
    fill_views(v1, v2, 1);
    ok = nnclr_step(m, v1, v2, NULL, &st) == NNCLR_OK;
    int inside = 1;
    for (int i = 0; i < 2 * B; i++) inside &= m->nn_idx[i] >= 0 && m->nn_idx[i] < B;
    check_true("step 1: every positive is a neighbour", ok && st.nn_fraction == 1);
    check_true("step 1: neighbours only among the pushed rows", inside);
    nnclr_model_free(m);
    free(v1);
    free(v2);
}

int main(void) {
    test_probability();
    test_draws();
    test_mixed_step();
    test_empty_start();
    return test_summary();
}
