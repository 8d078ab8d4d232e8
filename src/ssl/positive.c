/* positive.c - the positive schedule of the training step. See positive.h. */
#include "ssl/positive.h"

#include <math.h>

#include "core/rng.h"
#include "core/status.h"

double positive_nn_probability(const nnclr_config *c, int64_t step) {
    if (c->positive == NNCLR_POSITIVE_SELF) return 0;
    if (step < c->nn_start_steps) return 0;
    if (step >= c->nn_start_steps + c->nn_ramp_steps) return 1;
    double t = (double)(step - c->nn_start_steps) / (double)c->nn_ramp_steps;
    double p = c->nn_prob_start + (1 - c->nn_prob_start) * t;
    return p < 0 ? 0 : p > 1 ? 1 : p;
}

int positive_choose(const nnclr_config *c, uint64_t seed, int64_t step, int searchable, int *use_nn) {
    const int N = c->batch;
    double p = searchable >= c->topk ? positive_nn_probability(c, step) : 0;
    if (p <= 0 || p >= 1) {
        int on = p >= 1;
        for (int i = 0; i < 2 * N; i++) use_nn[i] = on;
        return on ? 2 * N : 0;
    }
    int count = 0;
    for (int v = 0; v < 2; v++)
        for (int j = 0; j < N; j++) {
            rng_state r;
            rng_derive(&r, seed ^ (uint64_t)RNG_STREAM_POSITIVE, (uint64_t)step * 2 + (uint64_t)v, (uint64_t)j);
            int on = rng_uniform_double(&r) < p;
            use_nn[(size_t)v * N + j] = on;
            count += on;
        }
    return count;
}

nnclr_status positive_check_config(const nnclr_config *c) {
    if (c->nn_start_steps < 0 || c->nn_ramp_steps < 0)
        return nnclr_fail(NNCLR_ERR_ARG, "positive schedule: start (%lld steps) and ramp (%lld steps) must be >= 0",
                          (long long)c->nn_start_steps, (long long)c->nn_ramp_steps);
    if (c->nn_start_steps + c->nn_ramp_steps > c->total_steps)
        return nnclr_fail(NNCLR_ERR_ARG, "positive schedule: start + ramp (%lld steps) is longer than the run (%lld steps)",
                          (long long)(c->nn_start_steps + c->nn_ramp_steps), (long long)c->total_steps);
    if (!(c->nn_prob_start >= 0 && c->nn_prob_start <= 1))
        return nnclr_fail(NNCLR_ERR_ARG, "positive schedule: starting probability %g is outside [0, 1]", c->nn_prob_start);
    return NNCLR_OK;
}
