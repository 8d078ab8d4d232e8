/* cmd_curate.c - the commands that use a run's embeddings on a data set:
 *   dedup    near-duplicate pairs within a split or between two: CSV, groups CSV, PNG of the top pairs
 *   cluster  seeded k-means: assignments CSV, a contact sheet with a row per cluster, NMI / purity
 *   map      a 2-D PCA map of the embeddings: SVG scatter coloured by label, with thumbnails
 * The algorithms live in src/curate/ (dedup.h, kmeans.h, pca.h); this file opens the run and
 * the data, extracts features and writes the outputs (each atomically; a command that fails
 * leaves no output file behind). Outputs go to the run directory unless --out says otherwise. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ann.h"
#include "cli.h"
#include "core/rng.h"
#include "core/status.h"
#include "curate/dedup.h"
#include "curate/kmeans.h"
#include "curate/pca.h"
#include "io/atomic_file.h"
#include "io/png_write.h"
#include "io/svg_scatter.h"
#include "model/nnclr_model.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* A run, its data split(s) and their features. */
typedef struct {
    train_opts o;
    nnclr_model *m;
    augment_config ev;
    dataset d[2];
    float *f[2];
    int dim, nsets;
} curate_run;

static void curate_free(curate_run *c) {
    for (int i = 0; i < 2; i++) {
        dataset_free(&c->d[i]);
        free(c->f[i]);
    }
    nnclr_model_free(c->m);
}

static int split_id(const char *name) { return !strcmp(name, "test") ? DATASET_TEST : DATASET_TRAIN; }

/* Opens the run and the split(s) (split2 NULL: one), extracts the features (projections when
 * asked) with a line on stderr for each set. */
static nnclr_status curate_open(curate_run *c, const char *run, const char *data, const char *data_path, int batch,
                                const char *split, const char *split2, int projections) {
    char ckpt[4096];
    memset(c, 0, sizeof *c);
    NNCLR_TRY(model_from_run(run, batch, &c->o, &c->m, ckpt, sizeof ckpt));
    if (data[0]) c->o.data = data;
    if (data_path[0]) c->o.data_path = data_path;
    c->nsets = split2 ? 2 : 1;
    for (int i = 0; i < c->nsets; i++) NNCLR_TRY(open_split(&c->o, split_id(i ? split2 : split), &c->d[i]));
    NNCLR_TRY(make_augment(&c->o, &c->d[0], 1, &c->ev));
    for (int i = 0; i < c->nsets; i++) {
        double t0 = now_s();
        fprintf(stderr, "nnclr: %s of %d %s images...\n", projections ? "projections" : "features", c->d[i].n,
                i ? split2 : split);
        NNCLR_TRY(extract_features(c->m, &c->d[i], &c->ev, projections, 0, NULL, &c->f[i], &c->dim));
        fprintf(stderr, "nnclr: ... %d x %d in %.1f s\n", c->d[i].n, c->dim, now_s() - t0);
    }
    return NNCLR_OK;
}

/* An image's name in CSV output: its file for folders, else its index in the split; quoted
 * when it holds a comma, quote or newline. */
static nnclr_status csv_item(atomic_file *af, const dataset *d, int i) {
    if (!d->paths) return atomic_printf(af, "%d", i);
    const char *p = d->paths[i];
    if (!strpbrk(p, ",\"\n\r")) return atomic_printf(af, "%s", p);
    nnclr_status s = atomic_printf(af, "\"");
    for (; *p && !s; p++) s = *p == '"' ? atomic_printf(af, "\"\"") : atomic_write(af, p, 1);
    return s ? s : atomic_printf(af, "\"");
}

static nnclr_status csv_label(atomic_file *af, const dataset *d, int i) {
    if (!d->labels) return NNCLR_OK;
    if (d->class_names) return atomic_printf(af, ",%s", d->class_names[d->labels[i]]);
    return atomic_printf(af, ",%d", d->labels[i]);
}

static void default_out(char *buf, size_t size, const char *out, const char *run, const char *name) {
    struct stat st;
    if (out[0]) snprintf(buf, size, "%s", out);
    else if (stat(run, &st) == 0 && S_ISDIR(st.st_mode)) snprintf(buf, size, "%s/%s", run, name);
    else snprintf(buf, size, "%s", name);
}

/* Flags and the one run-directory argument of a curation command: -1 to go on, else the exit
 * code (0 after --help). */
static int parse_run_tool(const arg_spec *specs, int n, int argc, char **argv, const char *cmd, const char *usage,
                          char **pos) {
    int npos;
    int rc = args_parse(specs, n, argc, argv, 2, cmd, usage, pos, 1, &npos);
    if (rc == ARGS_HELP) return 0;
    if (rc) return EXIT_USAGE;
    if (npos != 1) {
        fprintf(stderr, "nnclr %s: expected a run directory or checkpoint\n", cmd);
        return EXIT_USAGE;
    }
    return -1;
}

/* Progress on stderr at most every 2 s. */
typedef struct {
    const char *what;
    double t0, last;
} progress_state;

static void progress_print(void *user, double done) {
    progress_state *p = user;
    double t = now_s();
    if (t - p->last < 2.0 && done < 1.0) return;
    p->last = t;
    fprintf(stderr, "nnclr: %s %5.1f%% (%.1f s)\n", p->what, 100 * done, t - p->t0);
}

/* ---- dedup */

int cmd_dedup(int argc, char **argv) {
    const char *out = "", *split = "train", *against = "", *data = "", *data_path = "";
    double threshold = 0.9;
    int show = 16, batch = 256, threads = 0, projections = 0, max_pairs = 1000000, approx = 0;
    arg_spec specs[] = {
        {"split", ARG_STR, &split, "the split searched for duplicates", 1, 0, "train|test"},
        {"against-split", ARG_STR, &against, "pairs between --split and this split instead of within one (empty: within)", 1, 0, "|train|test"},
        {"threshold", ARG_FLOAT, &threshold, "cosine similarity (of whitened, normalised features) at or above which two images are near-duplicates", -1, 1, NULL},
        {"max-pairs", ARG_INT, &max_pairs, "refuse to list more pairs than this (raise --threshold instead)", 1, 100000000, NULL},
        {"approx", ARG_INT, &approx, "approximate: compare each image with its K nearest by a FAISS HNSW index instead of with every image (0: exact)", 0, 10000, NULL},
        {"show", ARG_INT, &show, "pairs drawn in the PNG (the most similar)", 0, 256, NULL},
        {"projections", ARG_BOOL, &projections, "compare projections (the space NNCLR's loss shapes) instead of backbone features", 1, 0, NULL},
        {"out", ARG_STR, &out, "output prefix: PREFIX.csv (a, b, cosine), PREFIX_groups.csv, PREFIX.png (empty: RUN_DIR/dedup)", 1, 0, NULL},
        RUN_TOOL_FLAGS(data, data_path, batch, threads),
    };
    char *pos[1];
    int rc = parse_run_tool(specs, sizeof specs / sizeof specs[0], argc, argv, "dedup", "RUN_DIR|CHECKPOINT [flags]", pos);
    if (rc >= 0) return rc;
    if (approx > 0 && !ann_available()) {
        fprintf(stderr, "nnclr dedup: --approx needs FAISS: this nnclr was built without it (install libfaiss-dev and rebuild)\n");
        return EXIT_USAGE;
    }
    if (against[0] && !strcmp(against, split)) {
        fprintf(stderr, "nnclr dedup: --against-split %s is the searched split; leave it out for pairs within one split\n", against);
        return EXIT_USAGE;
    }
    cli_set_threads(threads);
    char prefix[4000], path_csv[4096], path_groups[4096], path_png[4096];
    default_out(prefix, sizeof prefix, out, pos[0], "dedup");
    snprintf(path_csv, sizeof path_csv, "%s.csv", prefix);
    snprintf(path_groups, sizeof path_groups, "%s_groups.csv", prefix);
    snprintf(path_png, sizeof path_png, "%s.png", prefix);
    curate_run c;
    dedup_pair *pairs = NULL;
    size_t np = 0;
    int *group = NULL, ngroups = 0;
    atomic_file *csv = NULL, *gcsv = NULL;
    image_grid g = {0};
    uint8_t *px = NULL;
    int two = against[0] != 0;
    nnclr_status s = curate_open(&c, pos[0], data, data_path, batch, split, two ? against : NULL, projections);
    if (!s) s = dedup_prepare(c.f[0], c.d[0].n, two ? c.f[1] : NULL, c.d[1].n, c.dim);
    double t0 = now_s();
    if (!s && approx == 0) {
        progress_state ps = {"dedup: all pairs", t0, t0};
        s = dedup_pairs(c.f[0], c.d[0].n, two ? c.f[1] : NULL, c.d[1].n, c.dim, (float)threshold, (size_t)max_pairs,
                        &pairs, &np, progress_print, &ps);
    } else if (!s) {
        /* Approximate: each image's K nearest (K + 1 within one set: the image finds itself). */
        int nb = two ? c.d[1].n : c.d[0].n, kk = approx + (two ? 0 : 1);
        if (kk > nb) kk = nb;
        int *nidx = malloc((size_t)c.d[0].n * kk * sizeof *nidx);
        float *nsim = malloc((size_t)c.d[0].n * kk * sizeof *nsim);
        s = nidx && nsim ? NNCLR_OK : NNCLR_ERR_NOMEM;
        if (!s) fprintf(stderr, "nnclr: dedup: HNSW index of %d rows, %d neighbours per image...\n", nb, kk);
        if (!s) s = ann_knn(two ? c.f[1] : c.f[0], nb, c.f[0], c.d[0].n, c.dim, kk, 2 * kk > 64 ? 2 * kk : 64, nidx, nsim);
        if (!s) s = dedup_pairs_from_neighbors(nidx, nsim, c.d[0].n, kk, !two, (float)threshold, (size_t)max_pairs, &pairs, &np);
        free(nidx);
        free(nsim);
    }
    double t_pairs = now_s() - t0;
    int n_items = c.d[0].n + (two ? c.d[1].n : 0);
    if (!s) {
        group = malloc((size_t)n_items * sizeof *group);
        s = group ? dedup_groups(pairs, np, two ? c.d[0].n : 0, n_items, group, &ngroups) : NNCLR_ERR_NOMEM;
    }
    const dataset *da = &c.d[0], *db = two ? &c.d[1] : &c.d[0];
    /* The picture: rows of 4 pairs, the first image of each pair framed blue. */
    int shown = np < (size_t)show ? (int)np : show;
    if (!s && shown > 0) {
        s = image_grid_init(&g, (shown + 3) / 4, 8, c.ev.size, c.ev.size, c.ev.channels, 0, 3);
        px = malloc((size_t)c.ev.size * c.ev.size * c.ev.channels);
        if (!s && !px) s = NNCLR_ERR_NOMEM;
        for (int p = 0; p < shown && !s; p++) {
            s = augment_eval_u8(&c.ev, px, &da->images[pairs[p].a]);
            if (!s) s = image_grid_put_u8(&g, p / 4, 2 * (p % 4), px, GRID_BORDER_QUERY);
            if (!s) s = augment_eval_u8(&c.ev, px, &db->images[pairs[p].b]);
            if (!s) s = image_grid_put_u8(&g, p / 4, 2 * (p % 4) + 1, px, GRID_BORDER_NEUTRAL);
        }
    }
    /* The tables, committed only once the picture is written. */
    if (!s) s = atomic_open(&csv, path_csv);
    if (!s) s = atomic_printf(csv, "a,b,cosine%s\n", da->labels ? ",a_label,b_label" : "");
    for (size_t p = 0; p < np && !s; p++) {
        s = csv_item(csv, da, pairs[p].a);
        if (!s) s = atomic_printf(csv, ",");
        if (!s) s = csv_item(csv, db, pairs[p].b);
        if (!s) s = atomic_printf(csv, ",%.6f", pairs[p].cosine);
        if (!s && da->labels && db->labels) s = csv_label(csv, da, pairs[p].a);
        if (!s && da->labels && db->labels) s = csv_label(csv, db, pairs[p].b);
        if (!s) s = atomic_printf(csv, "\n");
    }
    if (!s) s = atomic_open(&gcsv, path_groups);
    if (!s) s = atomic_printf(gcsv, "group,size,split,item\n");
    if (!s && ngroups > 0) {
        int *size = calloc((size_t)ngroups, sizeof *size);
        if (!size) s = NNCLR_ERR_NOMEM;
        for (int i = 0; i < n_items && !s; i++)
            if (group[i] >= 0) size[group[i]]++;
        for (int gi = 0; gi < ngroups && !s; gi++)
            for (int i = 0; i < n_items && !s; i++) {
                if (group[i] != gi) continue;
                int in_b = i >= c.d[0].n && two;
                s = atomic_printf(gcsv, "%d,%d,%s,", gi, size[gi], in_b ? against : split);
                if (!s) s = csv_item(gcsv, in_b ? db : da, in_b ? i - c.d[0].n : i);
                if (!s) s = atomic_printf(gcsv, "\n");
            }
        free(size);
    }
    if (!s && shown > 0) s = image_grid_write_png(&g, path_png);
    if (!s) {
        s = atomic_commit(csv);
        csv = NULL;
    }
    if (!s) {
        s = atomic_commit(gcsv);
        gcsv = NULL;
    }
    atomic_abort(csv);
    atomic_abort(gcsv);
    int code = 0;
    if (s) {
        fprintf(stderr, "nnclr dedup: %s\n", nnclr_last_error());
        code = s == NNCLR_ERR_ARG ? EXIT_USAGE : EXIT_RUNTIME;
    } else {
        int in_groups = 0;
        for (int i = 0; i < n_items; i++) in_groups += group[i] >= 0;
        printf("dedup: %d %s images%s%s%s, cosine >= %.4g: %zu pairs in %d groups (%d images) in %.2f s%s\n", c.d[0].n, split,
               two ? " against " : "", two ? against : "", two ? " images" : "", threshold, np, ngroups, in_groups, t_pairs,
               approx ? " (approximate: FAISS HNSW)" : "");
        printf("wrote %s, %s%s%s\n", path_csv, path_groups, shown > 0 ? ", " : "", shown > 0 ? path_png : "");
    }
    free(px);
    image_grid_free(&g);
    free(group);
    free(pairs);
    curate_free(&c);
    return code;
}

/* ---- cluster */

static void kmeans_progress(void *user, int iteration, int changed) {
    progress_state *p = user;
    double t = now_s();
    if (t - p->last < 2.0 && changed > 0) return;
    p->last = t;
    fprintf(stderr, "nnclr: k-means iteration %d: %d assignments changed (%.1f s)\n", iteration, changed, t - p->t0);
}

typedef struct {
    int cluster;
    float dist;
    int index;
} member;

static int member_cmp(const void *x, const void *y) {
    const member *a = x, *b = y;
    if (a->cluster != b->cluster) return a->cluster < b->cluster ? -1 : 1;
    if (a->dist != b->dist) return a->dist < b->dist ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

int cmd_cluster(int argc, char **argv) {
    const char *out = "", *split = "train", *data = "", *data_path = "";
    int k = 10, iters = 100, show = 10, batch = 256, threads = 0, projections = 0;
    uint64_t seed = 1;
    arg_spec specs[] = {
        {"k", ARG_INT, &k, "clusters", 1, 100000, NULL},
        {"split", ARG_STR, &split, "the split clustered", 1, 0, "train|test"},
        {"iters", ARG_INT, &iters, "most Lloyd iterations (it stops earlier when no assignment changes)", 1, 10000, NULL},
        {"seed", ARG_U64, &seed, "k-means++ start", 1, 0, NULL},
        {"show", ARG_INT, &show, "images per cluster in the PNG (those nearest the centre)", 1, 64, NULL},
        {"projections", ARG_BOOL, &projections, "cluster projections instead of backbone features", 1, 0, NULL},
        {"out", ARG_STR, &out, "output prefix: PREFIX.csv (item, cluster, label) and PREFIX.png (empty: RUN_DIR/clusters)", 1, 0, NULL},
        RUN_TOOL_FLAGS(data, data_path, batch, threads),
    };
    char *pos[1];
    int rc = parse_run_tool(specs, sizeof specs / sizeof specs[0], argc, argv, "cluster", "RUN_DIR|CHECKPOINT [--k K] [flags]", pos);
    if (rc >= 0) return rc;
    cli_set_threads(threads);
    char prefix[4000], path_csv[4096], path_png[4096];
    default_out(prefix, sizeof prefix, out, pos[0], "clusters");
    snprintf(path_csv, sizeof path_csv, "%s.csv", prefix);
    snprintf(path_png, sizeof path_png, "%s.png", prefix);
    curate_run c;
    float *centres = NULL, *dist = NULL;
    int *assign = NULL, *order = NULL, *count = NULL;
    atomic_file *csv = NULL;
    image_grid g = {0};
    uint8_t *px = NULL;
    kmeans_result res = {0};
    nnclr_status s = curate_open(&c, pos[0], data, data_path, batch, split, NULL, projections);
    int n = c.d[0].n;
    if (!s && k > n) s = nnclr_fail(NNCLR_ERR_ARG, "--k %d is more than the %d images of the %s split", k, n, split);
    /* Spherical k-means: on L2-normalised features, as kNN compares them. */
    for (int i = 0; !s && i < n; i++) {
        float *row = c.f[0] + (size_t)i * c.dim;
        double ss = 0;
        for (int j = 0; j < c.dim; j++) ss += (double)row[j] * row[j];
        float inv = (float)(1.0 / (sqrt(ss) > 1e-12 ? sqrt(ss) : 1e-12));
        for (int j = 0; j < c.dim; j++) row[j] *= inv;
    }
    if (!s) {
        centres = malloc((size_t)k * c.dim * sizeof *centres);
        assign = malloc((size_t)n * sizeof *assign);
        dist = malloc((size_t)n * sizeof *dist);
        order = malloc((size_t)n * sizeof *order);
        count = calloc((size_t)k, sizeof *count);
        if (!centres || !assign || !dist || !order || !count) s = NNCLR_ERR_NOMEM;
    }
    double t0 = now_s();
    if (!s) {
        progress_state ps = {"", t0, t0};
        s = kmeans_fit(c.f[0], n, c.dim, k, iters, seed, centres, assign, &res, kmeans_progress, &ps);
    }
    double t_fit = now_s() - t0;
    /* Members of each cluster nearest its centre first: sort rows by (cluster, distance). */
    if (!s) {
        for (int i = 0; i < n; i++) {
            double d = 0;
            for (int j = 0; j < c.dim; j++) {
                double t = (double)c.f[0][(size_t)i * c.dim + j] - centres[(size_t)assign[i] * c.dim + j];
                d += t * t;
            }
            dist[i] = (float)d;
            count[assign[i]]++;
        }
        member *m = malloc((size_t)n * sizeof *m);
        if (!m) s = NNCLR_ERR_NOMEM;
        for (int i = 0; i < n && !s; i++) m[i] = (member){assign[i], dist[i], i};
        if (!s) qsort(m, (size_t)n, sizeof *m, member_cmp);
        for (int i = 0; i < n && !s; i++) order[i] = m[i].index;
        free(m);
    }
    int rows = k < 64 ? k : 64, cols = show;
    if (!s) s = image_grid_init(&g, rows, cols, c.ev.size, c.ev.size, c.ev.channels, 0, 2);
    px = malloc((size_t)c.ev.size * c.ev.size * c.ev.channels);
    if (!s && !px) s = NNCLR_ERR_NOMEM;
    for (int q = 0, base = 0; q < k && !s; base += count[q], q++) {
        if (q >= rows) break;
        int maj = -1;   /* the cluster's most common label: frames agree / disagree with it */
        if (c.d[0].labels) {
            int *lc = calloc((size_t)c.d[0].num_classes, sizeof *lc);
            if (!lc) s = NNCLR_ERR_NOMEM;
            for (int t = 0; t < count[q] && !s; t++) lc[c.d[0].labels[order[base + t]]]++;
            for (int l = 0; l < c.d[0].num_classes && !s; l++)
                if (maj < 0 || lc[l] > lc[maj]) maj = l;
            free(lc);
        }
        for (int t = 0; t < cols && t < count[q] && !s; t++) {
            int i = order[base + t];
            s = augment_eval_u8(&c.ev, px, &c.d[0].images[i]);
            grid_border b = maj < 0 ? GRID_BORDER_NEUTRAL : c.d[0].labels[i] == maj ? GRID_BORDER_AGREE : GRID_BORDER_DISAGREE;
            if (!s) s = image_grid_put_u8(&g, q, t, px, b);
        }
    }
    if (!s) s = atomic_open(&csv, path_csv);
    if (!s) s = atomic_printf(csv, "item,cluster,distance%s\n", c.d[0].labels ? ",label" : "");
    for (int i = 0; i < n && !s; i++) {
        s = csv_item(csv, &c.d[0], i);
        if (!s) s = atomic_printf(csv, ",%d,%.6f", assign[i], dist[i]);
        if (!s) s = csv_label(csv, &c.d[0], i);
        if (!s) s = atomic_printf(csv, "\n");
    }
    if (!s) s = image_grid_write_png(&g, path_png);
    if (!s) {
        s = atomic_commit(csv);
        csv = NULL;
    }
    atomic_abort(csv);
    int code = 0;
    if (s) {
        fprintf(stderr, "nnclr cluster: %s\n", nnclr_last_error());
        code = s == NNCLR_ERR_ARG ? EXIT_USAGE : EXIT_RUNTIME;
    } else {
        int smallest = n, largest = 0;
        for (int q = 0; q < k; q++) {
            if (count[q] < smallest) smallest = count[q];
            if (count[q] > largest) largest = count[q];
        }
        printf("cluster: k-means k=%d on %d %s images (%d dims): %d iterations%s in %.2f s, inertia %.4g, sizes %d..%d\n", k, n,
               split, c.dim, res.iterations, res.converged ? " (converged)" : "", t_fit, res.inertia, smallest, largest);
        if (c.d[0].labels)
            printf("against the %d labels: NMI %.4f, purity %.2f%%\n", c.d[0].num_classes,
                   cluster_nmi(assign, k, c.d[0].labels, c.d[0].num_classes, n),
                   100 * cluster_purity(assign, k, c.d[0].labels, c.d[0].num_classes, n));
        printf("wrote %s, %s (%d clusters x %d images nearest the centre%s)\n", path_csv, path_png, rows, cols,
               c.d[0].labels ? "; green: the cluster's most common label" : "");
    }
    free(px);
    image_grid_free(&g);
    free(centres); free(assign); free(dist); free(order); free(count);
    curate_free(&c);
    return code;
}

/* ---- map */

int cmd_map(int argc, char **argv) {
    const char *out = "", *split = "test", *data = "", *data_path = "";
    int points = 10000, thumbs = 24, batch = 256, threads = 0, projections = 0;
    uint64_t seed = 1;
    arg_spec specs[] = {
        {"split", ARG_STR, &split, "the split drawn", 1, 0, "train|test"},
        {"points", ARG_INT, &points, "most points drawn (a seeded sample when the split is larger)", 2, 1000000, NULL},
        {"thumbs", ARG_INT, &thumbs, "points shown as pictures (a seeded sample)", 0, 200, NULL},
        {"seed", ARG_U64, &seed, "which points and pictures", 1, 0, NULL},
        {"projections", ARG_BOOL, &projections, "map projections instead of backbone features", 1, 0, NULL},
        {"out", ARG_STR, &out, "output SVG (empty: RUN_DIR/map.svg)", 1, 0, NULL},
        RUN_TOOL_FLAGS(data, data_path, batch, threads),
    };
    char *pos[1];
    int rc = parse_run_tool(specs, sizeof specs / sizeof specs[0], argc, argv, "map", "RUN_DIR|CHECKPOINT [flags]", pos);
    if (rc >= 0) return rc;
    cli_set_threads(threads);
    char path[4096];
    default_out(path, sizeof path, out, pos[0], "map.svg");
    curate_run c;
    dataset full = {0};
    float *xy = NULL;
    int *pick = NULL;
    svg_thumb *th = NULL;
    uint8_t *px = NULL;
    double explained[2] = {0, 0};
    int nthumbs = 0;
    /* The sample is drawn before features are computed, so only the drawn images go through the
     * network. */
    memset(&c, 0, sizeof c);
    char ckpt[4096];
    nnclr_status s = model_from_run(pos[0], batch, &c.o, &c.m, ckpt, sizeof ckpt);
    if (!s) {
        if (data[0]) c.o.data = data;
        if (data_path[0]) c.o.data_path = data_path;
        s = open_split(&c.o, split_id(split), &full);
    }
    int n = 0;
    if (!s) {
        n = full.n < points ? full.n : points;
        if (n < 2) s = nnclr_fail(NNCLR_ERR_ARG, "the %s split has %d image%s; a map needs 2", split, full.n, full.n == 1 ? "" : "s");
    }
    if (!s) {
        pick = malloc((size_t)full.n * sizeof *pick);
        if (!pick) s = NNCLR_ERR_NOMEM;
    }
    if (!s) {
        rng_state r;
        rng_seed(&r, seed);
        for (int i = 0; i < full.n; i++) pick[i] = i;
        for (int i = 0; i < n; i++) {   /* partial Fisher-Yates, then back into data-set order */
            int j = i + (int)rng_below(&r, (uint64_t)(full.n - i));
            int t = pick[i]; pick[i] = pick[j]; pick[j] = t;
        }
        s = dataset_subset(&c.d[0], &full, pick, n);
        c.nsets = 1;
    }
    if (!s) s = make_augment(&c.o, &c.d[0], 1, &c.ev);
    if (!s) {
        fprintf(stderr, "nnclr: %s of %d %s images...\n", projections ? "projections" : "features", n, split);
        s = extract_features(c.m, &c.d[0], &c.ev, projections, 0, NULL, &c.f[0], &c.dim);
    }
    double t0 = now_s();
    if (!s) {
        xy = malloc((size_t)n * 2 * sizeof *xy);
        s = xy ? pca_project(c.f[0], n, c.dim, c.dim < 2 ? 1 : 2, xy, explained) : NNCLR_ERR_NOMEM;
    }
    if (!s && c.dim < 2) s = nnclr_fail(NNCLR_ERR_ARG, "features have %d dimension; a map needs 2", c.dim);
    double t_pca = now_s() - t0;
    nthumbs = thumbs < n ? thumbs : n;
    if (!s && nthumbs > 0) {
        th = calloc((size_t)nthumbs, sizeof *th);
        px = malloc((size_t)c.ev.size * c.ev.size * c.ev.channels);
        if (!th || !px) s = NNCLR_ERR_NOMEM;
        rng_state r;
        rng_derive(&r, seed, 1, 0);
        for (int t = 0; t < nthumbs && !s; t++) {
            int i = (int)((double)t * n / nthumbs) + (int)rng_below(&r, (uint64_t)(n / nthumbs > 0 ? n / nthumbs : 1));
            th[t].index = i < n ? i : n - 1;
            s = augment_eval_u8(&c.ev, px, &c.d[0].images[th[t].index]);
            uint8_t *png = NULL;
            if (!s) s = png_encode(px, c.ev.size, c.ev.size, c.ev.channels, &png, &th[t].png_len);
            th[t].png = png;
        }
    }
    if (!s) {
        char subtitle[256];
        snprintf(subtitle, sizeof subtitle, "PCA of the %s of %d %s images: %.1f%% + %.1f%% of the variance",
                 projections ? "projections" : "backbone features", n, split, 100 * explained[0], 100 * explained[1]);
        svg_scatter sc = {"nnclr map", subtitle, "principal component 1", "principal component 2", xy, n,
                          c.d[0].labels, c.d[0].num_classes, (const char *const *)c.d[0].class_names, th, nthumbs, 0};
        s = svg_scatter_write(path, &sc);
    }
    int code = 0;
    if (s) {
        fprintf(stderr, "nnclr map: %s\n", nnclr_last_error());
        code = s == NNCLR_ERR_ARG ? EXIT_USAGE : EXIT_RUNTIME;
    } else {
        printf("map: PCA of %d x %d in %.2f s, explained variance %.1f%% + %.1f%%\nwrote %s (%d points, %d pictures)\n", n,
               c.dim, t_pca, 100 * explained[0], 100 * explained[1], path, n, nthumbs);
    }
    for (int t = 0; th && t < nthumbs; t++) free((void *)th[t].png);
    free(th);
    free(px);
    free(xy);
    free(pick);
    dataset_free(&full);
    curate_free(&c);
    return code;
}
