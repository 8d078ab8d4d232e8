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

/* The named streams: the key each user of the run's seed derives its generator with, so no
 * two users share a stream. The values are part of the checkpoint format's reproducibility
 * (a resumed run must draw what the original drew): never change one. */
typedef enum {
    RNG_STREAM_MODEL = 0x1417,           /* rng_derive(seed, MODEL, 0): weight init; (.., 1): sampling seed */
    RNG_STREAM_QUEUE = 0x5599,           /* seed ^ QUEUE: the support set's random initial rows */
    RNG_STREAM_POSITIVE = 0x9051,        /* sampling seed ^ POSITIVE: the positive schedule's draws */
    RNG_STREAM_SPLIT = 0x5b117,          /* rng_derive(seed, class, SPLIT): held-out splits */
    RNG_STREAM_FINETUNE = 0xf17e,        /* rng_derive(seed, FINETUNE, 0): fine-tuning */
    RNG_STREAM_LINEAR_INIT = 0x11ea7,    /* rng_derive(seed, LINEAR_INIT, 0): linear probe init */
    RNG_STREAM_LINEAR_SHUFFLE = 0x5bff1e /* rng_derive(seed, LINEAR_SHUFFLE, epoch): its shuffles */
} rng_stream;
/* The loader's shuffle of epoch e: rng_derive(seed, e, RNG_STREAM_SHUFFLE); the views of image
 * i: rng_derive(seed, e, i). */
#define RNG_STREAM_SHUFFLE UINT64_MAX

#endif
