/* bench_peak.c - the arithmetic ceilings of one core, for reading the other benchmarks: fp32
 * FMA (what the convolutions, GEMMs and the NN lookup run on) against the AVX2 integer
 * multiply-adds an int16 or int8 nearest-neighbour pre-screen would use (vpmaddwd: 16
 * multiply-adds per instruction, vpmaddubsw: 32), and on CPUs with AVX-512 the fp32 rate of 512-bit
 * FMAs. Eight independent accumulators per loop, so
 * throughput, not latency, is measured; multiply-adds per second per core.
 *
 *   bench_peak [ITERS_MILLIONS]     default 100; run with taskset -c N to pin one core */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* The asm statements make the operands opaque, so the compiler can neither fold nor hoist. */
#define OPAQUE4(a, b, c, d) __asm__ volatile("" : "+x"(a), "+x"(b), "+x"(c), "+x"(d))

/* fp32 FMA throughput on vectors of `lanes` floats (VT, with its set1 / fmadd / add and a
 * horizontal sum, under target attribute TARGET; OPQ makes the operands opaque). */
#define FMA_RATE(name, TARGET, VT, SET1, FMADD, ADD, HSUM, OPQ, lanes)                             \
    __attribute__((target(TARGET))) static double name(long n) {                                \
        VT a0 = SET1(1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;          \
        VT q0 = SET1(1.0001f), q1 = q0, e0 = SET1(0.9999f), e1 = e0;                             \
        double t = now();                                                                       \
        for (long i = 0; i < n; i++) {                                                          \
            OPQ(q0, q1, e0, e1);                                                                \
            a0 = FMADD(q0, e0, a0); a1 = FMADD(q0, e1, a1);                                     \
            a2 = FMADD(q1, e0, a2); a3 = FMADD(q1, e1, a3);                                     \
            a4 = FMADD(q0, q1, a4); a5 = FMADD(e0, e1, a5);                                     \
            a6 = FMADD(q1, q0, a6); a7 = FMADD(e1, e0, a7);                                     \
        }                                                                                       \
        t = now() - t;                                                                          \
        VT s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));               \
        volatile float sink = HSUM(s);                                                          \
        (void)sink;                                                                             \
        return 8.0 * n * (lanes) / t; /* 8 instructions x lanes */                              \
    }
#define OPAQUE4Z(a, b, c, d) __asm__ volatile("" : "+v"(a), "+v"(b), "+v"(c), "+v"(d))
FMA_RATE(fma_rate, "avx2,fma", __m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, _mm256_cvtss_f32, OPAQUE4, 8)
FMA_RATE(fma512_rate, "avx512f", __m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, _mm512_reduce_add_ps,
         OPAQUE4Z, 16)

#define INT_RATE(name, MADD, ADD, macs)                                                            \
    __attribute__((target("avx2"))) static double name(long n) {                                \
        __m256i a0 = _mm256_set1_epi32(1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0; \
        __m256i q0 = _mm256_set1_epi32(3), q1 = _mm256_set1_epi32(5), e0 = _mm256_set1_epi32(2), \
                e1 = _mm256_set1_epi32(4);                                                      \
        double t = now();                                                                       \
        for (long i = 0; i < n; i++) {                                                          \
            OPAQUE4(q0, q1, e0, e1);                                                            \
            a0 = ADD(a0, MADD(q0, e0)); a1 = ADD(a1, MADD(q0, e1));                             \
            a2 = ADD(a2, MADD(q1, e0)); a3 = ADD(a3, MADD(q1, e1));                             \
            a4 = ADD(a4, MADD(q0, q1)); a5 = ADD(a5, MADD(e0, e1));                             \
            a6 = ADD(a6, MADD(q1, q0)); a7 = ADD(a7, MADD(e1, e0));                             \
        }                                                                                       \
        t = now() - t;                                                                          \
        __m256i s = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3)), \
                                     _mm256_add_epi32(_mm256_add_epi32(a4, a5), _mm256_add_epi32(a6, a7))); \
        volatile int sink = _mm256_extract_epi32(s, 0);                                         \
        (void)sink;                                                                             \
        return 8.0 * n * (macs) / t;                                                            \
    }
INT_RATE(madd16_rate, _mm256_madd_epi16, _mm256_add_epi32, 16)
INT_RATE(madd8_rate, _mm256_maddubs_epi16, _mm256_add_epi16, 32)

int main(int argc, char **argv) {
    long n = (argc > 1 ? atol(argv[1]) : 100) * 1000000L;
    if (n <= 0) {
        fprintf(stderr, "usage: bench_peak [ITERS_MILLIONS]\n");
        return 2;
    }
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        fprintf(stderr, "bench_peak: needs AVX2 + FMA\n");
        return 1;
    }
    double f = fma_rate(n), i16 = madd16_rate(n), i8 = madd8_rate(n);
    printf("one core: fp32 FMA %.1f G multiply-adds/s (%.1f GFLOP/s); int16 vpmaddwd %.1f G/s (%.2fx fp32); "
           "int8 vpmaddubsw %.1f G/s (%.2fx fp32)\n", f * 1e-9, 2 * f * 1e-9, i16 * 1e-9, i16 / f, i8 * 1e-9, i8 / f);
    if (__builtin_cpu_supports("avx512f")) {
        double z = fma512_rate(n);
        printf("one core, AVX-512: fp32 FMA %.1f G multiply-adds/s (%.1f GFLOP/s, %.2fx the 256-bit rate)\n",
               z * 1e-9, 2 * z * 1e-9, z / f);
    }
    return 0;
}
#else
int main(void) {
    fprintf(stderr, "bench_peak: x86-64 only\n");
    return 1;
}
#endif
