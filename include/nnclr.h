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

#include <stddef.h>
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
/* F32: float32 everywhere. BF16: the backbone's convolutions on oneDNN (all but the first and
 * those on nnclr's float32 Winograd kernels) multiply bf16 copies of activations, gradients and
 * weights with float32 accumulation; master weights, batch norm, heads, loss and optimizer stay
 * float32. Needs a CPU with AVX512-BF16 or AMX:
 * nnclr_model_create fails with NNCLR_ERR_ARG elsewhere. */
typedef enum { NNCLR_PRECISION_F32 = 0, NNCLR_PRECISION_BF16 = 1 } nnclr_precision;

typedef struct {
    /* backbone */
    const char *arch;        /* a registered backbone: resnet18|resnet34|resnet50|resnet8|resnet14|resnet20|resnet32|resnet44|resnet56|resnet110 */
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
    nnclr_precision precision; /* of the backbone's convolutions (see nnclr_precision) */
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

/* ------------------------------------------------------------------------------------------
 * A whole training run (src/train/): data set, augmentation and loader, model, the loop with
 * its live progress, the metrics log (run_dir/metrics.jsonl), kNN evaluation, atomic
 * checkpoints (every checkpoint_every epochs, at the end, and when should_stop says so) and
 * bit-identical resume. The nnclr command's `train` is a thin shell over nnclr_train.
 *
 *     nnclr_train_config rc;
 *     nnclr_train_config_preset(&rc, "small");   // the default Fashion-MNIST run
 *     rc.epochs = 4; rc.run_dir = "runs/mine";
 *     nnclr_train_result res;
 *     if (nnclr_train(&rc, NULL, NULL, &res) != NNCLR_OK) { ... nnclr_last_error() ... }
 *
 * The fields are those of `nnclr train --help` (config.txt keys), '-' written '_'.
 * ------------------------------------------------------------------------------------------ */
typedef struct {
    const char *preset;      /* the preset the values started from (recorded only) */
    const char *resume;      /* a run directory to continue from its latest checkpoint, or NULL */
    /* data */
    const char *data;        /* fashion-mnist|mnist|cifar10|cifar100|cifar100-coarse|stl10|folder */
    const char *data_path;   /* "" or NULL: the format's default */
    const char *augment;     /* auto|imagenet|cifar|gray|crop-only */
    int crop_size, loader_threads;
    double crop_scale_min, eval_fraction, val_fraction;
    /* model */
    const char *arch;
    int cifar_stem, proj_hidden, proj_dim, pred_hidden, predictor;
    /* objective */
    const char *positive;    /* nn|self */
    const char *support_start; /* random|empty */
    const char *precision;   /* f32|bf16 (training; tools that load a run compute in f32) */
    int queue_size, topk, push_both, shard_nn_search;
    double temperature, nn_start, nn_ramp, nn_prob_start;
    /* optimisation */
    const char *optimizer;   /* lars|sgd */
    int epochs, batch, warmup_epochs, threads;
    double lr, weight_decay, momentum, lars_eta;
    uint64_t seed;
    /* run */
    const char *run_dir;
    int eval_every, checkpoint_every, keep_checkpoints, log_every, knn_k, stop_after, baseline;
    double knn_tau;
    int baseline_best_k;     /* > 0: also raw pixels at this k (chosen on a validation split) */
    int linear_probe;        /* 1: a linear probe on the final features, reported at the end */
    const char *init;        /* "" or NULL, or a safetensors file to start the backbone from (new runs) */
    /* the process group (not owned); NULL: single process */
    nnclr_dist *dist;
} nnclr_train_config;

/* The defaults of a preset: "small" (the quick Fashion-MNIST run) or "paper" (the paper's
 * ImageNet recipe). NNCLR_ERR_ARG for another name. */
NNCLR_API nnclr_status nnclr_train_config_preset(nnclr_train_config *c, const char *preset);
/* Checks a configuration without touching anything; the message names the offending key as
 * its flag (--queue-size). */
NNCLR_API nnclr_status nnclr_train_config_check(const nnclr_train_config *c);

/* The schema of nnclr_train_config: one row per key (config.txt key = command-line flag),
 * with its type, where it lives in the struct, help text, inclusive range of numbers
 * (ignored when min > max) and the choices of strings ("a|b", or NULL). */
typedef enum { NNCLR_KEY_INT, NNCLR_KEY_FLOAT, NNCLR_KEY_STR, NNCLR_KEY_BOOL, NNCLR_KEY_U64 } nnclr_key_type;
typedef struct {
    const char *name;
    nnclr_key_type type;
    size_t offset;           /* into nnclr_train_config: int, double, const char *, int, uint64_t */
    const char *help;
    double min, max;
    const char *choices;
} nnclr_config_key;
NNCLR_API const nnclr_config_key *nnclr_train_config_keys(int *count);
/* The configuration as `key = value` lines (config.txt), malloc'd; free() it. */
NNCLR_API char *nnclr_train_config_dump(const nnclr_train_config *c);
/* A configuration on the heap that owns its strings, for bindings (Python's ctypes): _new
 * starts from a preset, _set takes one key as text (copied), _free releases it. */
NNCLR_API nnclr_train_config *nnclr_train_config_new(const char *preset);
NNCLR_API nnclr_status nnclr_train_config_set(nnclr_train_config *c, const char *key, const char *value);
NNCLR_API void nnclr_train_config_free(nnclr_train_config *c);

/* Sets the keys found in `key = value` text (config.txt; '#' comments and blank lines
 * skipped) over c. text is modified and c's strings point into it: keep it alive while c is
 * used. NNCLR_ERR_FORMAT naming the line for an unknown key or a bad value. */
NNCLR_API nnclr_status nnclr_train_config_parse(nnclr_train_config *c, char *text);

/* What the progress hook sees after every step. */
typedef struct {
    int64_t epoch, epochs;   /* 1-based epoch of this step, and the run's epochs */
    int64_t step, total_steps;
    int64_t batch, batches;  /* batch within the epoch (1-based) and batches per epoch */
    double loss, lr, img_per_s, eta_s; /* loss: mean since the last metrics line */
    double nn_accuracy;      /* mean since the last metrics line; NaN when no neighbour was looked up */
    double nn_fraction;      /* neighbour positives, mean since the last metrics line */
    double pos_similarity;
    int logged;              /* 1: this step also wrote a metrics line (then the means restart) */
} nnclr_train_progress;

typedef struct {
    void *user;
    /* One line of information (configuration, resume point, evaluations), without newline. */
    void (*message)(void *user, const char *line);
    /* After every step. */
    void (*progress)(void *user, const nnclr_train_progress *p);
    /* Asked after every step: nonzero (e.g. a signal number) saves a checkpoint and stops with
     * NNCLR_ERR_INTERRUPTED. */
    int (*should_stop)(void *user);
} nnclr_train_hooks;

typedef struct {
    int64_t steps;           /* steps done in total */
    double train_seconds;
    double knn_top1, knn_top5;          /* last kNN evaluation; -1 when none */
    double pixels_top1, pixels_top5;    /* raw-pixel baseline; -1 when not run */
    double pixels_best_k_top1;          /* raw pixels at baseline_best_k; -1 when not run */
    double linear_top1, linear_top5;    /* linear probe on the final features; -1 when not run */
    int stopped;             /* 1: stopped early (stop_after), a checkpoint holds the state */
    int stop_code;           /* should_stop's value when interrupted */
} nnclr_train_result;

/* A trained model back from a run directory (its latest checkpoint) or a checkpoint file, for
 * eval: weights and batch-norm statistics, `batch` images per forward. *config (may be NULL)
 * receives the run's configuration; its strings live as long as the model. */
NNCLR_API nnclr_status nnclr_model_load(nnclr_model **out, const char *run_or_checkpoint, int batch,
                                        nnclr_train_config *config);
/* Embeddings of one split (0 train, 1 test) of the data set that `data` describes (its data,
 * data_path, augment, crop_size, eval_fraction, val_fraction, seed keys), after the eval
 * transform: *out (*n, *dim) malloc'd -- backbone features, or L2-normalised projections
 * when `projections`; *labels (*n) malloc'd, or NULL when the data set has none. */
NNCLR_API nnclr_status nnclr_embed(nnclr_model *m, const nnclr_train_config *data, int split, int projections,
                                   float **out, int **labels, int *n, int *dim);

/* Weighted kNN evaluation (the protocol of `nnclr eval knn`): the eval-mode features of the
 * train split of the data set `data` describes are the memory, its test split (or validation
 * split) the queries; k neighbours, vote temperature tau, cosine. top5 may be NULL. */
NNCLR_API nnclr_status nnclr_evaluate_knn(nnclr_model *m, const nnclr_train_config *data, int k, double tau,
                                          double *top1, double *top5);

/* Embeddings of n images given as uint8 arrays of h x w x c (c = 1 or 3, any size, packed one
 * after the other): the eval transform of `run` (resize and centre crop to the model's input,
 * channel conversion, normalisation), then backbone features (or L2-normalised projections
 * when `projections`): out (n, dim). */
NNCLR_API nnclr_status nnclr_embed_images(nnclr_model *m, const nnclr_train_config *run, const uint8_t *hwc, int n,
                                          int h, int w, int c, int projections, float *out);

/* Writes the model's weights as a safetensors file (atomically): the backbone under
 * torchvision's state_dict names (conv1.weight, bn1.running_mean, bn1.num_batches_tracked,
 * layer1.0.downsample.0.weight, ...; no fc), and with `with_heads` also projector.* and
 * predictor.*. The metadata holds arch, stem, input channels and size, and the normalisation
 * of `run`'s eval transform (docs/EXPORT.md). */
NNCLR_API nnclr_status nnclr_export_safetensors(nnclr_model *m, const nnclr_train_config *run, const char *path,
                                                int with_heads);

/* Writes the eval-mode backbone as an ONNX model (opset 13, dynamic batch; input float32 NCHW
 * normalised as the run's eval transform does -- the model's doc string says how; output the
 * features), atomically. NNCLR_ERR_ARG when this build has no ONNX support
 * (nnclr_onnx_available() == 0: protobuf-c was not found at build time). */
NNCLR_API nnclr_status nnclr_export_onnx(nnclr_model *m, const nnclr_train_config *run, const char *path);
NNCLR_API int nnclr_onnx_available(void);

/* Sets the model's backbone from a safetensors file with torchvision's state_dict names (what
 * nnclr_export_safetensors writes, or torchvision's own ResNet weights converted to
 * safetensors): every backbone tensor must be there with its shape, as F32; fc.* and
 * num_batches_tracked are ignored (*ignored counts the fc.* tensors), any other name, a missing
 * tensor or a shape mismatch is NNCLR_ERR_ARG naming them, and the model is then unchanged.
 * *loaded: tensors set. Heads, optimizer and support set are not touched. */
NNCLR_API nnclr_status nnclr_model_init_safetensors(nnclr_model *m, const char *path, int *loaded, int *ignored);

/* Runs (or resumes) a training run. config_text: what to write as run_dir/config.txt and keep
 * in checkpoints (the caller's key = value form of c), or NULL for nnclr's own. hooks, result:
 * may be NULL. NNCLR_ERR_ARG for a bad configuration (nothing is written then),
 * NNCLR_ERR_NUMERIC when a step diverges (no checkpoint of it is written), and
 * NNCLR_ERR_INTERRUPTED after should_stop (a checkpoint was written). */
NNCLR_API nnclr_status nnclr_train(const nnclr_train_config *c, const char *config_text,
                                   const nnclr_train_hooks *hooks, nnclr_train_result *result);

#ifdef __cplusplus
}
#endif
#endif
