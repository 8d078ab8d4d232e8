/* nnclr.h - NNCLR (Nearest-Neighbor Contrastive Learning of visual representations) in C.
 *
 * The one public header. Every call returns an nnclr_status; on failure nnclr_last_error()
 * gives a one-line message (thread-local). The library never exits the process.
 *
 *     nnclr_status s = ...;
 *     if (s != NNCLR_OK) fprintf(stderr, "nnclr: %s\n", nnclr_last_error());
 */
#ifndef NNCLR_H
#define NNCLR_H

#ifdef __cplusplus
extern "C" {
#endif

#define NNCLR_VERSION_STRING "0.1.0"

/* The library exports only what this header declares (it is built with hidden visibility). */
#if defined(__GNUC__) && !defined(NNCLR_STATIC_ONLY)
#define NNCLR_API __attribute__((visibility("default")))
#else
#define NNCLR_API
#endif

typedef enum {
    NNCLR_OK = 0,
    NNCLR_ERR_ARG,         /* a caller-supplied value or shape is unsupported */
    NNCLR_ERR_NOMEM,       /* an allocation failed */
    NNCLR_ERR_IO,          /* a file could not be read or written */
    NNCLR_ERR_FORMAT,      /* a file's contents are malformed (magic, size, checksum) */
    NNCLR_ERR_BACKEND,     /* oneDNN or BLAS refused an operation */
    NNCLR_ERR_NUMERIC,     /* NaN or Inf appeared (loss, gradients) */
    NNCLR_ERR_INTERRUPTED  /* stopped by a signal; state was saved */
} nnclr_status;

NNCLR_API const char *nnclr_last_error(void);
NNCLR_API const char *nnclr_status_name(nnclr_status s);

/* ------------------------------------------------------------------------------------------
 * The model: backbone + projection/prediction heads + support set + optimizer, one object.
 *
 *     nnclr_config cfg;
 *     nnclr_config_default(&cfg);          // the paper's recipe; then set arch, sizes, batch
 *     cfg.arch = "resnet20"; cfg.in_channels = 1; cfg.height = cfg.width = 28; cfg.batch = 256;
 *     nnclr_model *m;
 *     if (nnclr_model_create(&m, &cfg) != NNCLR_OK) { ... nnclr_last_error() ... }
 *     for (...) {                          // view1, view2: (batch, C, H, W) floats
 *         nnclr_step_stats st;
 *         nnclr_step(m, view1, view2, labels_or_NULL, &st);
 *     }
 *     nnclr_model_features(m, images, n, feat);   // eval-mode backbone features
 *     nnclr_model_free(m);
 * ------------------------------------------------------------------------------------------ */

#include <stdint.h>

/* ------------------------------------------------------------------------------------------
 * Data-parallel training on Open MPI (`mpirun -np R prog`). A group joins MPI_COMM_WORLD when
 * the process was started by an MPI launcher and nnclr was built with MPI; otherwise it is a
 * group of one. Give it to a model in nnclr_config.dist: batch is then the GLOBAL batch, each
 * rank passes its batch / R rows, and the step uses synchronised batch norm, negatives over
 * the global batch and one support set identical on every rank, so R ranks train exactly what
 * one process with the whole batch trains (up to float summation order).
 * ------------------------------------------------------------------------------------------ */
typedef struct nnclr_dist nnclr_dist;

/* Calls MPI_Init_thread when launched by mpirun (and MPI is not initialised yet). Fails with
 * NNCLR_ERR_ARG when launched on several processes by a build without MPI. */
NNCLR_API nnclr_status nnclr_dist_init(nnclr_dist **out, int *argc, char ***argv);
/* A group of one (single process), also inside an MPI job. */
NNCLR_API nnclr_status nnclr_dist_self(nnclr_dist **out);
NNCLR_API int nnclr_dist_rank(const nnclr_dist *d);   /* 0 for NULL */
NNCLR_API int nnclr_dist_world(const nnclr_dist *d);  /* 1 for NULL */
/* 1 when this build has MPI. */
NNCLR_API int nnclr_dist_available(void);
/* Frees the group; finalizes MPI when nnclr_dist_init initialised it. NULL is a no-op. */
NNCLR_API void nnclr_dist_free(nnclr_dist *d);

typedef enum { NNCLR_POSITIVE_NN = 0, NNCLR_POSITIVE_SELF = 1 } nnclr_positive;
typedef enum { NNCLR_OPT_LARS = 0, NNCLR_OPT_SGD = 1 } nnclr_optimizer;

typedef struct {
    /* backbone */
    const char *arch;        /* resnet18|resnet34|resnet50|resnet8|resnet14|resnet20|resnet32|resnet44|resnet56|resnet110 */
    int cifar_stem;          /* resnet18/34/50: 3x3 s1 stem without max-pool */
    int in_channels, height, width;
    int batch;               /* images per view per step (fixed; the global batch when dist) */
    /* heads */
    int proj_hidden, proj_dim, pred_hidden, use_predictor;
    /* objective */
    nnclr_positive positive; /* NN from the support set (NNCLR) or the view itself (SimCLR) */
    int queue_size;          /* support set rows Q (>= batch) */
    int topk;                /* 1: nearest neighbour; k > 1: uniform among the k nearest */
    int push_both_views;     /* push view-2 projections too */
    double temperature;      /* tau */
    /* optimiser and schedule */
    nnclr_optimizer optimizer;
    double base_lr;          /* scaled by batch / 256 */
    double weight_decay, momentum, lars_eta;
    int64_t warmup_steps, total_steps;
    uint64_t seed;
    /* data-parallel group (not owned; must outlive the model); NULL: single process */
    nnclr_dist *dist;
    /* with dist and top-1: each rank searches 1/R of the support set for the whole batch and
     * an arg-max all-reduce picks the winners (same result, different cost; see
     * docs/DISTRIBUTED.md) instead of searching all of it for its own rows */
    int shard_nn_search;
    /* positive schedule (src/ssl/positive.h): own-view positives for the first nn_start_steps
     * steps, then each row takes its neighbour with a probability rising linearly from
     * nn_prob_start to 1 over nn_ramp_steps (0: a switch). 0, 0: the paper, neighbours always. */
    int64_t nn_start_steps, nn_ramp_steps;
    double nn_prob_start;
    /* 1: the support set starts empty -- the lookup searches only pushed rows, and rows take
     * their own view until topk rows are there; 0: Q random unit vectors (the paper) */
    int support_start_empty;
} nnclr_config;

/* The paper's defaults: resnet50, 2048-2048-256 projector, 4096 predictor, Q 98,304, top-1,
 * tau 0.1, LARS (eta 0.001, momentum 0.9, wd 1e-6), base lr 0.3, batch 256 at 224x224x3. */
NNCLR_API void nnclr_config_default(nnclr_config *cfg);

typedef struct nnclr_model nnclr_model;

NNCLR_API nnclr_status nnclr_model_create(nnclr_model **out, const nnclr_config *cfg);
NNCLR_API void nnclr_model_free(nnclr_model *m);
NNCLR_API const nnclr_config *nnclr_model_config(const nnclr_model *m);
NNCLR_API int nnclr_model_feature_dim(const nnclr_model *m);

typedef struct {
    double loss;
    double lr;
    double nn_accuracy;      /* fraction of NNs whose stored label equals the query's; -1 if unknown */
    double pos_similarity;   /* mean cosine similarity of positive pairs */
    int64_t step;            /* steps done after this one */
    double nn_fraction;      /* fraction of the 2B rows whose positive was the neighbour */
} nnclr_step_stats;

/* One training step: backbone on both views -> heads -> NN lookup -> loss -> backward ->
 * optimizer -> support-set push. view1, view2: (batch, C, H, W). labels: (batch) or NULL
 * (with a dist group of R ranks: this rank's batch / R rows, rows [r B/R, (r+1) B/R) of the
 * global batch; every rank calls it together)
 * (used only for the NN-accuracy diagnostic). On a NaN/Inf loss or gradient it returns
 * NNCLR_ERR_NUMERIC and leaves parameters, buffers and support set unchanged. */
NNCLR_API nnclr_status nnclr_step(nnclr_model *m, const float *view1, const float *view2, const int *labels,
                        nnclr_step_stats *stats);

/* Eval-mode backbone features of n images (any n >= 1): feat (n, feature_dim). */
NNCLR_API nnclr_status nnclr_model_features(nnclr_model *m, const float *images, int n, float *feat);
/* Eval-mode L2-normalised projections (n, proj_dim). */
NNCLR_API nnclr_status nnclr_model_projections(nnclr_model *m, const float *images, int n, float *proj);

#ifdef __cplusplus
}
#endif
#endif
