/* positive.h - which positive each row of a training step takes: the view's own projection z
 * (SimCLR, with its gradient) or its nearest neighbour in the support set (NNCLR, no gradient).
 *
 * The chance that a row takes its neighbour follows a schedule over optimiser steps t:
 *
 *     p(t) = 0                                  t < S              (own view only)
 *          = p0 + (1 - p0) (t - S) / R          S <= t < S + R     (linear ramp)
 *          = 1                                  t >= S + R         (neighbours only)
 *
 * with S = nn_start_steps, R = nn_ramp_steps, p0 = nn_prob_start (nnclr.h). S = R = 0 is the
 * paper's NNCLR (p = 1 from the first step); R = 0 is a step switch at S; --positive self is
 * p = 0 throughout. Each row of each view is drawn on its own from a stream keyed by (seed,
 * step, view, global row), so the choice depends neither on threads nor on processes, and a run
 * resumed mid-ramp draws exactly what an uninterrupted one draws. Nothing is drawn when p is 0
 * or 1. A row only takes a neighbour when the support set has at least topk searchable rows
 * (an empty-start set has none before the first push). */
#ifndef NNCLR_SSL_POSITIVE_H
#define NNCLR_SSL_POSITIVE_H

#include <stdint.h>
#include "nnclr.h"

/* p(t) above, in [0, 1]. */
double positive_nn_probability(const nnclr_config *c, int64_t step);

/* Chooses the positives of the global batch (N = c->batch rows per view): use_nn (2, N) OUT,
 * 1 = neighbour, 0 = own view. searchable: support-set rows the lookup may use (a row takes a
 * neighbour only when searchable >= topk). seed: the model's sampling seed. Returns how many of
 * the 2N rows take their neighbour. */
int positive_choose(const nnclr_config *c, uint64_t seed, int64_t step, int searchable, int *use_nn);

/* Checks the schedule fields of a config (library-side validation; message names the field). */
nnclr_status positive_check_config(const nnclr_config *c);

#endif
