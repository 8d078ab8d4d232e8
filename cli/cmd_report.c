/* cmd_report.c - `nnclr report RUN`: one self-contained HTML page of a run (no external files,
 * no JavaScript): the configuration, the curves (inline SVG), the kNN evaluations, the
 * nearest-neighbour grid and the augmentation preview (PNG as data: URIs), and the outputs of
 * dedup, cluster and map when they are in the run directory. The curves, the grid and the
 * preview are made (with the plot, neighbors and augment-preview commands) when the run
 * directory does not hold them yet; --no-compute uses only what is there. Written atomically
 * to RUN_DIR/report.html unless --out says otherwise. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "core/status.h"
#include "io/atomic_file.h"
#include "io/base64.h"
#include "io/jsonl.h"
#include "io/xml_text.h"

/* Whole regular file (at most max bytes), NUL-terminated; NULL when absent or unreadable. */
static char *read_small(const char *path, size_t max, size_t *len) {
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) return NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc((size_t)st.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!buf || n != (size_t)st.st_size) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Runs another nnclr command in this process (argv[0] is "nnclr"); its output goes to the
 * terminal as usual. 0 on success. */
static int run_command(int (*cmd)(int, char **), const char *const *args, int n) {
    char *argv[16];
    for (int i = 0; i < n && i < 16; i++) argv[i] = (char *)args[i];
    return cmd(n, argv);
}

#define REPORT_MAX_FILE ((size_t)64 << 20)

static nnclr_status emit_png(atomic_file *af, const char *path, const char *alt) {
    size_t len;
    char *data = read_small(path, REPORT_MAX_FILE, &len);
    if (!data) return atomic_printf(af, "<p class=\"missing\">%s: not found</p>\n", alt);
    char *b64 = malloc(base64_length(len) + 1);
    if (!b64) {
        free(data);
        return NNCLR_ERR_NOMEM;
    }
    base64_encode((const uint8_t *)data, len, b64);
    nnclr_status s = atomic_printf(af, "<img alt=\"");
    if (!s) s = xml_write_text(af, alt);
    if (!s) s = atomic_printf(af, "\" src=\"data:image/png;base64,");
    if (!s) s = atomic_write(af, b64, strlen(b64));
    if (!s) s = atomic_printf(af, "\">\n");
    free(b64);
    free(data);
    return s;
}

/* An SVG file inline: everything from its <svg element on. */
static nnclr_status emit_svg(atomic_file *af, const char *path, const char *what) {
    char *data = read_small(path, REPORT_MAX_FILE, NULL);
    const char *start = data ? strstr(data, "<svg") : NULL;
    nnclr_status s = start ? atomic_write(af, start, strlen(start))
                           : atomic_printf(af, "<p class=\"missing\">%s: not found</p>\n", what);
    free(data);
    return s;
}

static nnclr_status section(atomic_file *af, const char *id, const char *title) {
    return atomic_printf(af, "<section id=\"%s\">\n<h2>%s</h2>\n", id, title);
}

/* Lines of a CSV file after its header (0 when absent). */
static long csv_rows(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    long lines = 0;
    int ch, last = '\n';
    while ((ch = fgetc(f)) != EOF) {
        if (ch == '\n') lines++;
        last = ch;
    }
    if (last != '\n') lines++;
    fclose(f);
    return lines > 0 ? lines - 1 : 0;
}

int cmd_report(int argc, char **argv) {
    const char *out = "";
    int no_compute = 0;
    arg_spec specs[] = {
        {"out", ARG_STR, &out, "output HTML file (empty: RUN_DIR/report.html)", 1, 0, NULL},
        {"no-compute", ARG_BOOL, &no_compute, "only show what the run directory already holds (no model or data needed)", 1, 0, NULL},
    };
    char *pos[1];
    int npos;
    int rc = args_parse(specs, 2, argc, argv, 2, "report", "RUN_DIR [flags]", pos, 1, &npos);
    if (rc == ARGS_HELP) return 0;
    if (rc) return EXIT_USAGE;
    if (npos != 1) {
        fprintf(stderr, "nnclr report: expected a run directory\n");
        return EXIT_USAGE;
    }
    const char *run = pos[0];
    struct stat st;
    if (stat(run, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "nnclr report: %s is not a run directory\n", run);
        return EXIT_USAGE;
    }
    char p_config[4096], p_metrics[4096], p_curves[4096], p_nn[4096], p_aug[4096], p_out[4096];
    snprintf(p_config, sizeof p_config, "%s/config.txt", run);
    snprintf(p_metrics, sizeof p_metrics, "%s/metrics.jsonl", run);
    snprintf(p_curves, sizeof p_curves, "%s/curves.svg", run);
    snprintf(p_nn, sizeof p_nn, "%s/neighbors.png", run);
    snprintf(p_aug, sizeof p_aug, "%s/augment.png", run);
    if (out[0]) snprintf(p_out, sizeof p_out, "%s", out);
    else snprintf(p_out, sizeof p_out, "%s/report.html", run);
    char *config = read_small(p_config, 1 << 20, NULL);
    if (!config) {
        fprintf(stderr, "nnclr report: %s: no config.txt (is it a run directory?)\n", run);
        return EXIT_USAGE;
    }
    /* Make what is missing. A failure is reported in the page, not fatal. */
    if (!no_compute) {
        if (file_exists(p_metrics)) {
            const char *a[] = {"nnclr", "plot", run, "--out", p_curves};
            run_command(cmd_plot, a, 5);
        }
        if (!file_exists(p_nn)) {
            const char *a[] = {"nnclr", "neighbors", run, "--out", p_nn};
            if (run_command(cmd_neighbors, a, 5)) fprintf(stderr, "nnclr report: no nearest-neighbour grid (above)\n");
        }
        if (!file_exists(p_aug)) {
            const char *a[] = {"nnclr", "augment-preview", "--config", p_config, "--out", p_aug};
            if (run_command(cmd_augment_preview, a, 6)) fprintf(stderr, "nnclr report: no augmentation preview (above)\n");
        }
    }
    double *kx = NULL, *ky = NULL, *k5x = NULL, *k5y = NULL;
    int nk = 0, nk5 = 0;
    if (file_exists(p_metrics)) {
        if (jsonl_read_series(p_metrics, "epoch", "knn_top1", &kx, &ky, &nk) ||
            jsonl_read_series(p_metrics, "epoch", "knn_top5", &k5x, &k5y, &nk5))
            fprintf(stderr, "nnclr report: %s\n", nnclr_last_error());
    }
    atomic_file *af = NULL;
    nnclr_status s = atomic_open(&af, p_out);
    const char *name = strrchr(run, '/');
    name = name && name[1] ? name + 1 : run;
    char when[64];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    if (!s) s = atomic_printf(af, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>nnclr report: ");
    if (!s) s = xml_write_text(af, name);
    if (!s)
        s = atomic_printf(af, "</title>\n<style>\nbody{font-family:Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;"
                              "padding:0 1em;color:#222}\nh1{margin-bottom:0}\n.sub{color:#666;margin-top:.3em}\n"
                              "section{margin:2em 0;border-top:1px solid #ddd}\npre{background:#f6f6f6;padding:1em;"
                              "overflow-x:auto;font-size:13px}\nimg,svg{max-width:100%%;height:auto}\n"
                              "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .8em;text-align:right}\n"
                              ".missing{color:#999;font-style:italic}\nnav a{margin-right:1em}\n</style>\n</head>\n<body>\n"
                              "<h1 id=\"title\">nnclr run ");
    if (!s) s = xml_write_text(af, name);
    if (!s) s = atomic_printf(af, "</h1>\n<p class=\"sub\">");
    if (!s) s = xml_write_text(af, run);
    if (!s)
        s = atomic_printf(af, " &middot; report written %s by nnclr %s</p>\n<nav><a href=\"#results\">results</a>"
                              "<a href=\"#curves\">curves</a><a href=\"#neighbors\">neighbours</a><a href=\"#augment\">"
                              "augmentations</a><a href=\"#dedup\">duplicates</a><a href=\"#clusters\">clusters</a>"
                              "<a href=\"#map\">map</a><a href=\"#config\">configuration</a></nav>\n",
                          when, NNCLR_VERSION_STRING);
    /* Results: the kNN evaluations. */
    if (!s) s = section(af, "results", "Evaluation");
    if (!s && nk == 0) s = atomic_printf(af, "<p class=\"missing\">no kNN evaluation in metrics.jsonl</p>\n");
    if (!s && nk > 0) {
        int best = 0;
        for (int i = 1; i < nk; i++)
            if (ky[i] > ky[best]) best = i;
        s = atomic_printf(af, "<p>kNN (weighted vote, the run's k) top-1 at the end: <b id=\"knn-final\">%.2f%%</b>; best "
                              "%.2f%% at epoch %g.</p>\n<table id=\"knn-table\"><tr><th>epoch</th><th>kNN top-1</th>"
                              "<th>kNN top-5</th></tr>\n", 100 * ky[nk - 1], 100 * ky[best], kx[best]);
        for (int i = 0; i < nk && !s; i++) {
            double t5 = i < nk5 ? k5y[i] : -1;
            s = atomic_printf(af, "<tr><td>%g</td><td>%.2f%%</td><td>", kx[i], 100 * ky[i]);
            if (!s) s = t5 == t5 && t5 >= 0 ? atomic_printf(af, "%.2f%%", 100 * t5) : atomic_printf(af, "n/a");
            if (!s) s = atomic_printf(af, "</td></tr>\n");
        }
        if (!s) s = atomic_printf(af, "</table>\n");
    }
    if (!s) s = atomic_printf(af, "</section>\n");
    if (!s) s = section(af, "curves", "Training curves");
    if (!s) s = emit_svg(af, p_curves, "curves.svg (nnclr plot)");
    if (!s) s = atomic_printf(af, "</section>\n");
    if (!s) s = section(af, "neighbors", "Nearest neighbours");
    if (!s) s = atomic_printf(af, "<p>Test images (blue) and their nearest training images by the learned features; "
                                  "green frames share the query's label, red ones do not.</p>\n");
    if (!s) s = emit_png(af, p_nn, "neighbors.png (nnclr neighbors)");
    if (!s) s = atomic_printf(af, "</section>\n");
    if (!s) s = section(af, "augment", "Augmentations");
    if (!s) s = atomic_printf(af, "<p>Images (blue) and pairs of augmented views as training sees them.</p>\n");
    if (!s) s = emit_png(af, p_aug, "augment.png (nnclr augment-preview)");
    if (!s) s = atomic_printf(af, "</section>\n");
    /* The curation outputs, when present. */
    char p[4096];
    if (!s) s = section(af, "dedup", "Near-duplicates");
    snprintf(p, sizeof p, "%s/dedup.csv", run);
    if (!s && file_exists(p)) {
        char g[4096];
        snprintf(g, sizeof g, "%s/dedup_groups.csv", run);
        s = atomic_printf(af, "<p><span id=\"dedup-pairs\">%ld</span> pairs (dedup.csv), %ld images in groups "
                              "(dedup_groups.csv). The most similar pairs (first image framed blue):</p>\n",
                          csv_rows(p), csv_rows(g));
        snprintf(p, sizeof p, "%s/dedup.png", run);
        if (!s) s = file_exists(p) ? emit_png(af, p, "dedup.png") : atomic_printf(af, "<p>no pair above the threshold</p>\n");
    } else if (!s) {
        s = atomic_printf(af, "<p class=\"missing\">not run: <code>nnclr dedup RUN_DIR</code></p>\n");
    }
    if (!s) s = atomic_printf(af, "</section>\n");
    if (!s) s = section(af, "clusters", "Clusters");
    snprintf(p, sizeof p, "%s/clusters.png", run);
    if (!s && file_exists(p)) {
        s = atomic_printf(af, "<p>k-means on the features: a row per cluster, the images nearest its centre; green frames "
                              "carry the cluster's most common label.</p>\n");
        if (!s) s = emit_png(af, p, "clusters.png");
    } else if (!s) {
        s = atomic_printf(af, "<p class=\"missing\">not run: <code>nnclr cluster RUN_DIR --k K</code></p>\n");
    }
    if (!s) s = atomic_printf(af, "</section>\n");
    if (!s) s = section(af, "map", "Map of the embeddings");
    snprintf(p, sizeof p, "%s/map.svg", run);
    if (!s) s = file_exists(p) ? emit_svg(af, p, "map.svg")
                               : atomic_printf(af, "<p class=\"missing\">not run: <code>nnclr map RUN_DIR</code></p>\n");
    if (!s) s = atomic_printf(af, "</section>\n");
    if (!s) s = section(af, "config", "Configuration (config.txt)");
    if (!s) s = atomic_printf(af, "<pre>");
    if (!s) s = xml_write_text(af, config);
    if (!s) s = atomic_printf(af, "</pre>\n</section>\n</body>\n</html>\n");
    if (!s) s = atomic_commit(af);
    else atomic_abort(af);
    free(config);
    free(kx); free(ky); free(k5x); free(k5y);
    if (s) {
        fprintf(stderr, "nnclr report: %s\n", nnclr_last_error());
        return EXIT_RUNTIME;
    }
    printf("wrote %s\n", p_out);
    return 0;
}
