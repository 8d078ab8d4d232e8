/* rng.h - the seeded random number generator used everywhere (init, augmentation, queue init).
 *
 * xoshiro256** seeded through splitmix64. The state is 32 bytes, so it is saved in checkpoints
 * as is; rng_derive() gives independent streams keyed by integers, which is how the data loader
 * makes the views of sample i in epoch e depend only on (seed, e, i). */
#ifndef NNCLR_CORE_RNG_H
#define NNCLR_CORE_RNG_H

#include <stdint.h>

typedef struct { uint64_t s[4]; } rng_state;

void rng_seed(rng_state *r, uint64_t seed);
/* A stream that depends only on (seed, a, b). */
void rng_derive(rng_state *r, uint64_t seed, uint64_t a, uint64_t b);
uint64_t rng_next(rng_state *r);
/* Uniform in [0, 1) with 24 random bits (exactly representable as float). */
float rng_uniform(rng_state *r);
/* Uniform double in [0, 1) with 53 random bits. */
double rng_uniform_double(rng_state *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t rng_below(rng_state *r, uint64_t n);
/* Standard normal (Box-Muller, double precision internally). */
float rng_normal(rng_state *r);

#endif
