/* bench_step.c - the whole NNCLR training step (backbone on both views, heads, NN lookup,
 * loss, backward, LARS, support-set push) in images/s, the figure to compare with a PyTorch
 * implementation of the same step (bench/bench_step_torch.py; bench/step.sh runs both).
 *
 *   bench_step ARCH CHANNELS SIZE BATCH QUEUE [ITERS] [cifar|imagenet] [shard]
 * Heads: 512-512-128 projector, 512 predictor (the small preset). Threads: OMP_NUM_THREADS.
 * PRECISION=bf16 (environment): the backbone's convolutions in bf16 (nnclr_precision).
 * Under `mpirun -np R` BATCH is the global batch (BATCH / R rows per rank, data-parallel) and
 * rank 0 also prints the time per step spent inside MPI collectives (mean over ranks). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/rng.h"
#include "dist/dist.h"
#include "nnclr.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: bench_step ARCH CHANNELS SIZE BATCH QUEUE [ITERS] [cifar|imagenet]\n");
        return 2;
    }
    nnclr_dist *d = NULL;
    if (nnclr_dist_init(&d, &argc, &argv) != NNCLR_OK) {
        fprintf(stderr, "bench_step: %s\n", nnclr_last_error());
        return 1;
    }
    int world = nnclr_dist_world(d);
    nnclr_config c;
    nnclr_config_default(&c);
    c.arch = argv[1];
    c.in_channels = atoi(argv[2]);
    c.height = c.width = atoi(argv[3]);
    c.batch = atoi(argv[4]);
    c.queue_size = atoi(argv[5]);
    int iters = argc > 6 ? atoi(argv[6]) : 5;
    c.cifar_stem = argc > 7 ? strcmp(argv[7], "imagenet") != 0 : 1;
    c.proj_hidden = 512;
    c.proj_dim = 128;
    c.pred_hidden = 512;
    c.total_steps = 1000;
    c.dist = world > 1 ? d : NULL;
    c.shard_nn_search = argc > 8 && !strcmp(argv[8], "shard");
    const char *prec = getenv("PRECISION");
    if (prec && strcmp(prec, "f32") && strcmp(prec, "bf16")) {
        fprintf(stderr, "bench_step: PRECISION must be f32 or bf16, got '%s'\n", prec);
        return 2;
    }
    c.precision = prec && !strcmp(prec, "bf16") ? NNCLR_PRECISION_BF16 : NNCLR_PRECISION_F32;
    nnclr_model *m;
    if (nnclr_model_create(&m, &c) != NNCLR_OK) {
        fprintf(stderr, "bench_step: %s\n", nnclr_last_error());
        return 1;
    }
    size_t n = (size_t)(c.batch / world) * c.in_channels * c.height * c.width;
    float *v1 = malloc(n * sizeof(float)), *v2 = malloc(n * sizeof(float));
    rng_state r;
    rng_seed(&r, 3);
    for (size_t i = 0; i < n; i++) { v1[i] = rng_normal(&r); v2[i] = rng_normal(&r); }
    double best = 1e30, sum = 0, comm = 0;
    for (int it = 0; it <= iters; it++) {
        double t0 = now(), c0 = dist_comm_seconds();
        nnclr_step_stats st;
        if (nnclr_step(m, v1, v2, NULL, &st) != NNCLR_OK) {
            fprintf(stderr, "bench_step: %s\n", nnclr_last_error());
            return 1;
        }
        double t = now() - t0;
        if (it == 0) continue;
        comm += dist_comm_seconds() - c0;
        sum += t;
        if (t < best) best = t;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double stats[2] = {comm / iters, sum / iters};
    dist_allreduce_sum_d(d, stats, 2);
    if (nnclr_dist_rank(d) == 0) {
        printf("%-10s step %-9s %dx%dx%d b%-4d Q%-6d threads %d  %.3f s (mean %.3f)  %.1f img/s  peak RSS %.0f MiB",
               c.precision == NNCLR_PRECISION_BF16 ? "nnclr-bf16" : "nnclr", c.arch, c.in_channels, c.height, c.width, c.batch, c.queue_size, omp_get_max_threads(), best,
               sum / iters, c.batch / best, ru.ru_maxrss / 1024.0);
        if (world > 1)
            printf("  ranks %d%s  in MPI %.3f s/step (%.1f%% of the step)", world,
                   c.shard_nn_search ? " (sharded NN search)" : "", stats[0] / world, 100 * stats[0] / stats[1]);
        printf("\n");
    }
    free(v1);
    free(v2);
    nnclr_model_free(m);
    nnclr_dist_free(d);
    return 0;
}
