/* cmd_tools.c - the looking and exporting subcommands:
 *   embed            features (or projections) of a data set as .npy + labels .npy
 *   neighbors        PNG grid: query images and their nearest neighbours, framed green/red
 *   augment-preview  PNG grid: images and their two augmented views
 *   plot             SVG of the loss and kNN-accuracy curves of a run
 *   info             what a checkpoint holds (configuration, step, progress)
 *   search           the nearest data-set images of query image files: TSV + PNG contact sheet */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "core/rng.h"
#include "core/status.h"
#include "eval/knn.h"
#include "io/atomic_file.h"
#include "io/checkpoint.h"
#include "io/jsonl.h"
#include "io/npy.h"
#include "io/png_write.h"
#include "io/svg_plot.h"
#include "model/nnclr_model.h"

static int usage_error(const char *cmd, const char *msg) {
    fprintf(stderr, "nnclr %s: %s\n", cmd, msg);
    return EXIT_USAGE;
}

static int runtime_error(const char *cmd, nnclr_status s) {
    fprintf(stderr, "nnclr %s: %s\n", cmd, nnclr_last_error());
    return s == NNCLR_ERR_ARG ? EXIT_USAGE : EXIT_RUNTIME;
}

/* ---- embed */

int cmd_embed(int argc, char **argv) {
    const char *out = "embeddings", *split = "train", *data = "", *data_path = "";
    int projections = 0, batch = 256, threads = 0;
    arg_spec specs[] = {
        {"out", ARG_STR, &out, "output prefix: PREFIX.npy (N x D float32) and PREFIX_labels.npy", 1, 0, NULL},
        {"split", ARG_STR, &split, "data split", 1, 0, "train|test"},
        {"projections", ARG_BOOL, &projections, "L2-normalised projections instead of backbone features", 1, 0, NULL},
        RUN_TOOL_FLAGS(data, data_path, batch, threads),
    };
    char *pos[1];
    int npos;
    int rc = args_parse(specs, sizeof specs / sizeof specs[0], argc, argv, 2, "embed", "RUN_DIR|CHECKPOINT [flags]", pos, 1, &npos);
    if (rc == ARGS_HELP) return 0;
    if (rc) return EXIT_USAGE;
    if (npos != 1) return usage_error("embed", "expected a run directory or checkpoint");
    cli_set_threads(threads);
    train_opts o;
    nnclr_model *m = NULL;
    char ckpt[4096];
    dataset d = {0};
    float *feat = NULL;
    int dim, code = 0;
    nnclr_status s = model_from_run(pos[0], batch, &o, &m, ckpt, sizeof ckpt);
    if (!s) {
        if (data[0]) o.data = data;
        if (data_path[0]) o.data_path = data_path;
        s = open_split(&o, !strcmp(split, "test") ? DATASET_TEST : DATASET_TRAIN, &d);
    }
    augment_config eval_aug;
    if (!s) s = make_augment(&o, &d, 1, &eval_aug);
    if (!s) s = extract_features(m, &d, &eval_aug, projections, 0, cli_dist(), &feat, &dim);
    char path[4096];
    if (!s && cli_rank0()) {
        snprintf(path, sizeof path, "%s.npy", out);
        s = npy_write_f32(path, feat, (size_t)d.n, (size_t)dim);
    }
    if (!s && d.labels && cli_rank0()) {
        snprintf(path, sizeof path, "%s_labels.npy", out);
        s = npy_write_i32(path, d.labels, (size_t)d.n);
    }
    if (s) code = runtime_error("embed", s);
    else printf("wrote %s.npy (%d x %d float32)%s\n", out, d.n, dim, d.labels ? " and labels" : "");
    free(feat);
    dataset_free(&d);
    nnclr_model_free(m);
    return code;
}

/* ---- neighbors */

/* uint8 HWC image i of d at the eval size (its pixels when they match, else a rescale). */
static void eval_pixels(const dataset *d, const augment_config *ev, int i, uint8_t *dst) {
    (void)augment_eval_u8(ev, dst, &d->images[i]);
}

int cmd_neighbors(int argc, char **argv) {
    const char *out = "neighbors.png", *data = "", *data_path = "";
    int queries = 8, k = 8, batch = 256, threads = 0;
    uint64_t seed = 1;
    arg_spec specs[] = {
        {"out", ARG_STR, &out, "output PNG", 1, 0, NULL},
        {"queries", ARG_INT, &queries, "query images (rows), drawn from the test split", 1, 64, NULL},
        {"k", ARG_INT, &k, "neighbours per query (columns)", 1, 32, NULL},
        {"seed", ARG_U64, &seed, "which queries", 1, 0, NULL},
        RUN_TOOL_FLAGS(data, data_path, batch, threads),
    };
    char *pos[1];
    int npos;
    int rc = args_parse(specs, sizeof specs / sizeof specs[0], argc, argv, 2, "neighbors", "RUN_DIR|CHECKPOINT [flags]", pos, 1, &npos);
    if (rc == ARGS_HELP) return 0;
    if (rc) return EXIT_USAGE;
    if (npos != 1) return usage_error("neighbors", "expected a run directory or checkpoint");
    cli_set_threads(threads);
    train_opts o;
    nnclr_model *m = NULL;
    char ckpt[4096];
    dataset train = {0}, test = {0};
    float *ftr = NULL, *fq = NULL;
    int *idx = NULL, *qi = NULL, dim, code = 0;
    image_grid g = {0};
    nnclr_status s = model_from_run(pos[0], batch, &o, &m, ckpt, sizeof ckpt);
    if (!s) {
        if (data[0]) o.data = data;
        if (data_path[0]) o.data_path = data_path;
        s = open_split(&o, DATASET_TRAIN, &train);
    }
    if (!s) s = open_split(&o, DATASET_TEST, &test);
    augment_config ev;
    if (!s) s = make_augment(&o, &train, 1, &ev);
    /* Queries: a seeded sample of the test split. */
    if (!s && queries > test.n) queries = test.n;
    qi = malloc((size_t)queries * sizeof(int));
    idx = malloc((size_t)queries * k * sizeof(int));
    if (!s && (!qi || !idx)) s = nnclr_fail(NNCLR_ERR_NOMEM, "out of memory");
    dataset qset = {0};
    if (!s) {
        rng_state r;
        rng_seed(&r, seed);
        for (int i = 0; i < queries; i++) qi[i] = (int)rng_below(&r, (uint64_t)test.n);
        s = dataset_subset(&qset, &test, qi, queries);
    }
    if (!s) s = extract_features(m, &train, &ev, 0, 0, cli_dist(), &ftr, &dim);
    if (!s) s = extract_features(m, &qset, &ev, 0, 0, cli_dist(), &fq, &dim);
    if (!s) s = knn_neighbors(ftr, train.n, fq, queries, dim, k, idx, NULL);
    if (!s) s = image_grid_init(&g, queries, k + 1, ev.size, ev.size, ev.channels, 0, 3);
    uint8_t *px = malloc((size_t)ev.size * ev.size * ev.channels);
    if (!s && !px) s = nnclr_fail(NNCLR_ERR_NOMEM, "out of memory");
    int agree = 0;
    for (int q = 0; q < queries && !s; q++) {
        eval_pixels(&qset, &ev, q, px);
        s = image_grid_put_u8(&g, q, 0, px, GRID_BORDER_QUERY);
        for (int j = 0; j < k && !s; j++) {
            int t = idx[(size_t)q * k + j];
            grid_border b = GRID_BORDER_NEUTRAL;
            if (train.labels && qset.labels) {
                b = train.labels[t] == qset.labels[q] ? GRID_BORDER_AGREE : GRID_BORDER_DISAGREE;
                agree += b == GRID_BORDER_AGREE;
            }
            eval_pixels(&train, &ev, t, px);
            s = image_grid_put_u8(&g, q, j + 1, px, b);
        }
    }
    if (!s) s = image_grid_write_png(&g, out);
    if (s) code = runtime_error("neighbors", s);
    else printf("wrote %s: %d queries (blue) x %d nearest train images; %d of %d share the query's label (green)\n",
                out, queries, k, agree, queries * k);
    free(px);
    image_grid_free(&g);
    dataset_free(&qset);
    free(ftr); free(fq); free(idx); free(qi);
    dataset_free(&train);
    dataset_free(&test);
    nnclr_model_free(m);
    return code;
}

/* ---- augment-preview */

int cmd_augment_preview(int argc, char **argv) {
    train_opts o;
    const char *preset = args_peek(argc, argv, 2, "preset");
    if (train_opts_preset(&o, preset ? preset : "small")) return EXIT_USAGE;
    const char *out = "augment.png";
    int images = 8, pairs = 3;
    int nspec;
    const arg_spec *base = train_opts_specs(&o, &nspec);
    arg_spec specs[80];
    memcpy(specs, base, (size_t)nspec * sizeof *specs);
    specs[nspec++] = (arg_spec){"out", ARG_STR, &out, "output PNG", 1, 0, NULL};
    specs[nspec++] = (arg_spec){"images", ARG_INT, &images, "images (rows)", 1, 64, NULL};
    specs[nspec++] = (arg_spec){"pairs", ARG_INT, &pairs, "view pairs per image", 1, 16, NULL};
    int rc = args_parse(specs, nspec, argc, argv, 2, "augment-preview", "[training flags] [--out FILE]", NULL, 0, NULL);
    if (rc == ARGS_HELP) return 0;
    if (rc) return EXIT_USAGE;
    dataset d = {0};
    image_grid g = {0};
    float *v = NULL;
    int code = 0;
    nnclr_status s = open_split(&o, DATASET_TRAIN, &d);
    augment_config aug, ev;
    if (!s) s = make_augment(&o, &d, 0, &aug);
    if (!s) s = make_augment(&o, &d, 1, &ev);
    if (!s && images > d.n) images = d.n;
    if (!s) s = image_grid_init(&g, images, 1 + 2 * pairs, aug.size, aug.size, aug.channels, 0, 2);
    size_t img = (size_t)aug.channels * aug.size * aug.size;
    v = malloc(img * sizeof(float));
    if (!s && !v) s = nnclr_fail(NNCLR_ERR_NOMEM, "out of memory");
    for (int i = 0; i < images && !s; i++) {
        augment_eval(&ev, v, &d.images[i]);
        s = image_grid_put_f32(&g, i, 0, v, ev.mean, ev.std, GRID_BORDER_QUERY);
        for (int p = 0; p < pairs && !s; p++)
            for (int view = 0; view < 2 && !s; view++) {
                rng_state r;
                rng_derive(&r, o.seed, (uint64_t)p, (uint64_t)i * 2 + view);
                augment_apply(&aug, view, v, &d.images[i], &r);
                s = image_grid_put_f32(&g, i, 1 + 2 * p + view, v, aug.mean, aug.std, GRID_BORDER_NEUTRAL);
            }
    }
    if (!s) s = image_grid_write_png(&g, out);
    if (s) code = runtime_error("augment-preview", s);
    else printf("wrote %s: %d images (blue: original) with %d pairs of views (view 1, view 2), augmentation '%s'\n", out,
                images, pairs, aug.name);
    free(v);
    image_grid_free(&g);
    dataset_free(&d);
    return code;
}

/* ---- plot */

/* Several runs in one picture: per panel (loss, kNN top-1, NN accuracy, neighbour positives)
 * one curve per run, labelled with the run directory's last component. */
#define PLOT_MAX_RUNS 8
static int plot_compare(char **runs, int nruns, const char *out) {
    static const char *const keys[4] = {"loss", "knn_top1", "nn_acc", "nn_frac"};
    static const char *const titles[4] = {"training loss", "kNN top-1 (k = 200)", "NN accuracy (support set)",
                                          "neighbour positives"};
    double *x[4][PLOT_MAX_RUNS] = {{0}}, *y[4][PLOT_MAX_RUNS] = {{0}};
    int n[4][PLOT_MAX_RUNS] = {{0}};
    svg_series series[4][PLOT_MAX_RUNS];
    svg_panel panels[4];
    nnclr_status s = NNCLR_OK;
    for (int r = 0; r < nruns && !s; r++) {
        char log[4096];
        snprintf(log, sizeof log, "%s/metrics.jsonl", runs[r]);
        const char *label = strrchr(runs[r], '/');
        label = label && label[1] ? label + 1 : runs[r];
        for (int k = 0; k < 4 && !s; k++) {
            s = jsonl_read_series(log, "epoch", keys[k], &x[k][r], &y[k][r], &n[k][r]);
            if (k > 0)
                for (int i = 0; i < n[k][r]; i++) y[k][r][i] *= 100;
            series[k][r] = (svg_series){x[k][r], y[k][r], n[k][r], label, NULL};
        }
        if (!s && n[0][r] == 0) s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: no loss records", log);
    }
    for (int k = 0; k < 4; k++) panels[k] = (svg_panel){titles[k], "epoch", k ? "%" : "loss", series[k], nruns, 0};
    if (!s) s = svg_plot_write(out, "nnclr runs compared", panels, 4, 0, 0);
    for (int k = 0; k < 4; k++)
        for (int r = 0; r < nruns; r++) {
            free(x[k][r]);
            free(y[k][r]);
        }
    if (s) return runtime_error("plot", s);
    printf("wrote %s (%d runs)\n", out, nruns);
    return 0;
}

int cmd_plot(int argc, char **argv) {
    const char *out = "";
    arg_spec specs[] = {{"out", ARG_STR, &out, "output SVG (empty: RUN_DIR/curves.svg; needed for several runs)", 1, 0, NULL}};
    char *pos[PLOT_MAX_RUNS];
    int npos;
    int rc = args_parse(specs, 1, argc, argv, 2, "plot", "RUN_DIR [RUN_DIR...] [--out FILE]", pos, PLOT_MAX_RUNS, &npos);
    if (rc == ARGS_HELP) return 0;
    if (rc) return EXIT_USAGE;
    if (npos < 1) return usage_error("plot", "expected a run directory");
    if (npos > 1) {
        if (!out[0]) return usage_error("plot", "several runs need --out FILE");
        return plot_compare(pos, npos, out);
    }
    char log[4096], path[4096];
    snprintf(log, sizeof log, "%s/metrics.jsonl", pos[0]);
    if (!out[0]) snprintf(path, sizeof path, "%s/curves.svg", pos[0]);
    else snprintf(path, sizeof path, "%s", out);
    double *sx = NULL, *sy = NULL, *kx = NULL, *ky = NULL, *nx = NULL, *ny = NULL, *fx = NULL, *fy = NULL;
    int ns = 0, nk = 0, nn = 0, nf = 0, code = 0;
    nnclr_status s = jsonl_read_series(log, "epoch", "loss", &sx, &sy, &ns);
    if (!s) s = jsonl_read_series(log, "epoch", "knn_top1", &kx, &ky, &nk);
    if (!s) s = jsonl_read_series(log, "epoch", "nn_acc", &nx, &ny, &nn);
    /* Runs from before the positive schedule have no nn_frac: the curve is then left out. */
    if (!s) s = jsonl_read_series(log, "epoch", "nn_frac", &fx, &fy, &nf);
    if (!s && ns == 0) s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: no loss records", log);
    if (!s) {
        for (int i = 0; i < nk; i++) ky[i] *= 100;
        for (int i = 0; i < nn; i++) ny[i] *= 100;
        for (int i = 0; i < nf; i++) fy[i] *= 100;
        svg_series loss = {sx, sy, ns, "InfoNCE loss", NULL};
        svg_series acc[3] = {{kx, ky, nk, "kNN top-1 (test)", NULL}, {nx, ny, nn, "NN accuracy (support set)", NULL},
                             {fx, fy, nf, "neighbour positives", NULL}};
        svg_panel panels[2] = {{"training loss", "epoch", "loss", &loss, 1, 0},
                               {"accuracy", "epoch", "%", acc, nf > 0 ? 3 : 2, 0}};
        s = svg_plot_write(path, pos[0], panels, nk + nn + nf > 0 ? 2 : 1, 0, 0);
    }
    if (s) code = runtime_error("plot", s);
    else printf("wrote %s (%d loss points, %d kNN evaluations)\n", path, ns, nk);
    free(sx); free(sy); free(kx); free(ky); free(nx); free(ny); free(fx); free(fy);
    return code;
}

/* ---- info */

int cmd_info(int argc, char **argv) {
    char *pos[1];
    int npos;
    int rc = args_parse(NULL, 0, argc, argv, 2, "info", "CHECKPOINT|RUN_DIR", pos, 1, &npos);
    if (rc == ARGS_HELP) return 0;
    if (rc) return EXIT_USAGE;
    if (npos != 1) return usage_error("info", "expected a checkpoint or run directory");
    char path[4096];
    checkpoint *ck = NULL;
    nnclr_status s = open_run_checkpoint(pos[0], &ck, path, sizeof path);
    if (s) return runtime_error("info", s);
    printf("checkpoint %s (format %s v%u, CRC32 verified)\n", path, CHECKPOINT_MAGIC, CHECKPOINT_VERSION);
    int64_t step = -1;
    run_progress pg = {0, 0, -1, 0};
    if (checkpoint_get_exact(ck, "step", &step, sizeof step) == NNCLR_OK) printf("step: %lld\n", (long long)step);
    if (checkpoint_get_exact(ck, "progress", &pg, sizeof pg) == NNCLR_OK)
        printf("epochs done: %lld (+%lld batches), training time %.1f s%s", (long long)pg.epoch, (long long)pg.batch,
               pg.elapsed, pg.best_knn >= 0 ? "" : "\n");
    if (pg.best_knn >= 0) printf(", best kNN top-1 %.2f%%\n", 100 * pg.best_knn);
    int64_t meta[4];
    if (checkpoint_get_exact(ck, "queue.meta", meta, sizeof meta) == NNCLR_OK)
        printf("support set: %lld x %lld, %lld entries pushed, next write at %lld\n", (long long)meta[0],
               (long long)meta[1], (long long)meta[3], (long long)meta[2]);
    const void *cfg;
    size_t len;
    if (checkpoint_get(ck, "config", &cfg, &len) == NNCLR_OK) printf("configuration:\n%.*s", (int)len, (const char *)cfg);
    printf("sections:");
    for (int i = 0; i < checkpoint_count(ck); i++) {
        size_t l;
        const char *name = checkpoint_name_at(ck, i, &l);
        printf(" %s (%zu B)", name, l);
    }
    printf("\n");
    checkpoint_free(ck);
    return 0;
}

/* ---- search */

/* The queries: one image file, or every image of a folder (any sizes), decoded as is. */
static nnclr_status load_queries(const char *path, dataset *q) {
    struct stat st;
    memset(q, 0, sizeof *q);
    if (stat(path, &st) != 0) return nnclr_fail(NNCLR_ERR_ARG, "--query %s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return dataset_open_sized(q, "folder", path, 0, 0);
    q->images = nnclr_calloc(1, sizeof *q->images);
    if (!q->images) return NNCLR_ERR_NOMEM;
    nnclr_status s = image_load_file(&q->images[0], path, 0);
    if (s) {
        free(q->images);
        q->images = NULL;
        return s;
    }
    q->n = 1;
    q->h = q->images[0].h;
    q->w = q->images[0].w;
    q->c = q->images[0].c;
    q->pixels = NULL;
    return NNCLR_OK;
}

int cmd_search(int argc, char **argv) {
    const char *query = "", *out = "search", *split = "train", *data = "", *data_path = "";
    int k = 8, batch = 256, threads = 0;
    arg_spec specs[] = {
        {"query", ARG_STR, &query, "an image file (JPEG / PNG, any size) or a folder of them", 1, 0, NULL},
        {"k", ARG_INT, &k, "nearest images per query", 1, 1000, NULL},
        {"split", ARG_STR, &split, "the data set split searched", 1, 0, "train|test"},
        {"out", ARG_STR, &out, "output prefix: PREFIX.tsv (query, rank, index, label, cosine) and PREFIX.png", 1, 0, NULL},
        RUN_TOOL_FLAGS(data, data_path, batch, threads),
    };
    char *pos[1];
    int npos;
    int rc = args_parse(specs, sizeof specs / sizeof specs[0], argc, argv, 2, "search",
                        "RUN_DIR|CHECKPOINT --query IMAGE|DIR [flags]", pos, 1, &npos);
    if (rc == ARGS_HELP) return 0;
    if (rc) return EXIT_USAGE;
    if (npos != 1 || !query[0]) return usage_error("search", "expected a run directory or checkpoint and --query IMAGE|DIR");
    cli_set_threads(threads);
    train_opts o;
    nnclr_model *m = NULL;
    char ckpt[4096];
    dataset d = {0}, q = {0};
    float *fd = NULL, *fq = NULL, *sim = NULL;
    int *idx = NULL, dim = 0;
    image_grid g = {0};
    uint8_t *px = NULL;
    atomic_file *af = NULL;
    nnclr_status s = load_queries(query, &q);
    if (!s) s = model_from_run(pos[0], batch, &o, &m, ckpt, sizeof ckpt);
    if (!s) {
        if (data[0]) o.data = data;
        if (data_path[0]) o.data_path = data_path;
        s = open_split(&o, !strcmp(split, "test") ? DATASET_TEST : DATASET_TRAIN, &d);
    }
    augment_config ev;
    if (!s) s = make_augment(&o, &d, 1, &ev);
    if (!s && k > d.n) k = d.n;
    if (!s) s = extract_features(m, &d, &ev, 0, 0, NULL, &fd, &dim);
    if (!s) s = extract_features(m, &q, &ev, 0, 0, NULL, &fq, &dim);
    idx = malloc((size_t)q.n * k * sizeof *idx);
    sim = malloc((size_t)q.n * k * sizeof *sim);
    if (!s && (!idx || !sim)) s = nnclr_fail(NNCLR_ERR_NOMEM, "out of memory");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!s) s = knn_neighbors(fd, d.n, fq, q.n, dim, k, idx, sim);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double t_search = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    /* The table, written atomically. */
    char path[4096];
    snprintf(path, sizeof path, "%s.tsv", out);
    if (!s) s = atomic_open(&af, path);
    if (!s) s = atomic_printf(af, "query\trank\tindex\tlabel\tcosine\n");
    for (int i = 0; i < q.n && !s; i++)
        for (int j = 0; j < k && !s; j++) {
            int t = idx[(size_t)i * k + j];
            const char *label = d.labels && d.class_names ? d.class_names[d.labels[t]] : "";
            char qid[4200];
            if (q.n == 1) snprintf(qid, sizeof qid, "%s", query);
            else snprintf(qid, sizeof qid, "%s#%d", query, i);
            s = atomic_printf(af, "%s\t%d\t%d\t%s\t%.6f\n", qid, j + 1, t, label, sim[(size_t)i * k + j]);
        }
    if (!s) s = atomic_commit(af);
    else if (af) atomic_abort(af);
    /* The contact sheet: one row per query (at most 32), the query in blue, then its k nearest. */
    int rows = q.n < 32 ? q.n : 32;
    if (!s) s = image_grid_init(&g, rows, k + 1, ev.size, ev.size, ev.channels, 0, 3);
    px = malloc((size_t)ev.size * ev.size * ev.channels);
    if (!s && !px) s = nnclr_fail(NNCLR_ERR_NOMEM, "out of memory");
    for (int i = 0; i < rows && !s; i++) {
        eval_pixels(&q, &ev, i, px);
        s = image_grid_put_u8(&g, i, 0, px, GRID_BORDER_QUERY);
        for (int j = 0; j < k && !s; j++) {
            eval_pixels(&d, &ev, idx[(size_t)i * k + j], px);
            s = image_grid_put_u8(&g, i, j + 1, px, GRID_BORDER_NEUTRAL);
        }
    }
    snprintf(path, sizeof path, "%s.png", out);
    if (!s) s = image_grid_write_png(&g, path);
    int code = 0;
    if (s) code = runtime_error("search", s);
    else
        printf("wrote %s.tsv and %s.png: %d quer%s x %d nearest of %d %s images (best cosine %.4f); search %.3f ms per "
               "query\n", out, out, q.n, q.n == 1 ? "y" : "ies", k, d.n, split, sim[0], 1e3 * t_search / q.n);
    free(px);
    image_grid_free(&g);
    free(idx);
    free(sim);
    free(fd);
    free(fq);
    dataset_free(&d);
    dataset_free(&q);
    nnclr_model_free(m);
    return code;
}
