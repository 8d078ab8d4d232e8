/* test_cli.c - end-to-end tests of the nnclr command line. Runs the built binary
 * ($NNCLR_BIN_DIR/nnclr, set by CMake) on a synthetic image folder written here (4 classes of
 * 16x16 PNGs that differ in colour and stripe pattern, so any sane feature separates them) and
 * checks what each subcommand leaves behind:
 *   train            exit 0; config.txt, metrics.jsonl (every line a flat JSON object with a
 *                    numeric step and a loss or kNN field), checkpoints that `info` reads
 *   plot / neighbors / augment-preview / embed
 *                    a well-formed SVG, decodable PNGs, .npy files of the expected shape
 *   eval knn|linear  top-1 >= 95 % on the separable set; eval finetune prints a top-1
 *   resume           3 epochs straight and 1 (--stop-after) + --resume give byte-identical
 *                    parameters, BN buffers, optimizer state, support set and RNG
 *   usage errors     exit 2 with one line on stderr naming the problem, no run directory
 *   SIGTERM          exit 128 + 15 with a mid-epoch checkpoint that `info` loads; --resume to the
 *                    end of that epoch equals an uninterrupted run, byte for byte
 *   NaN              a diverging run exits 1 naming the step; no checkpoint holds a non-finite
 *                    parameter
 * Each command's stdout and stderr go to files in a mkdtemp directory (kept on failure). The
 * runs are tiny (resnet20 at 16x16, batch 16, 13 steps per epoch) so that the whole test also
 * fits an AddressSanitizer build. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <png.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/checkpoint.h"
#include "testlib.h"

#define N_CLASSES 4
#define PER_CLASS 60
#define SIDE 16
/* The folder split holds out round(60 * 0.1) = 6 images per class for test. */
#define N_TRAIN (N_CLASSES * (PER_CLASS - 6))
#define STEPS_PER_EPOCH (N_TRAIN / 16)
#define FEATURE_DIM 64 /* resnet20 */
#define EPOCHS 3

static char g_bin[4096];
static char g_tmp[256];
static char g_data[512];
/* The tiny model and loader every training run shares (same thread count everywhere). */
static char g_common[1024];

/* The run's "progress" checkpoint section (cli/cli.h run_progress). */
typedef struct {
    int64_t epoch, batch;
    double best_knn, elapsed;
} progress_section;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* ---- files */

/* Whole file, NUL-terminated; NULL when it cannot be read. */
static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) break;
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - 1 - n, f);
        n += r;
        if (r == 0) break;
    }
    fclose(f);
    if (!buf) return NULL;
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static char *tmp_path(char *buf, size_t size, const char *name) {
    snprintf(buf, size, "%s/%s", g_tmp, name);
    return buf;
}

/* An 8-bit RGB PNG through libpng. rgb: (h, w, 3). */
static int png_write_rgb(const char *path, const uint8_t *rgb, int w, int h) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = PNG_FORMAT_RGB;
    int ok = png_image_write_to_file(&img, path, 0, rgb, 0, NULL);
    png_image_free(&img);
    return ok ? 0 : -1;
}

/* Class c: a colour and a stripe pattern of its own, plus per-pixel noise of +-12. */
static void make_image(uint8_t *rgb, int c, unsigned *seed) {
    static const uint8_t base[N_CLASSES][3] = {{220, 40, 40}, {40, 200, 40}, {40, 60, 220}, {210, 200, 40}};
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++) {
            int on;
            switch (c) {
            case 0: on = (y / 2) % 2; break;           /* horizontal stripes */
            case 1: on = (x / 2) % 2; break;           /* vertical stripes */
            case 2: on = ((x / 4) + (y / 4)) % 2; break; /* checkerboard */
            default: on = ((x + y) / 3) % 2; break;    /* diagonal stripes */
            }
            for (int k = 0; k < 3; k++) {
                *seed = *seed * 1103515245u + 12345u;
                int noise = (int)((*seed >> 16) % 25) - 12;
                int v = (on ? base[c][k] : base[c][k] / 2) + noise;
                rgb[(y * SIDE + x) * 3 + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
}

static int write_dataset(const char *root) {
    uint8_t rgb[SIDE * SIDE * 3];
    unsigned seed = 12345;
    char dir[600], path[700];
    if (mkdir(root, 0755) != 0) return -1;
    for (int c = 0; c < N_CLASSES; c++) {
        snprintf(dir, sizeof dir, "%s/class%d", root, c);
        if (mkdir(dir, 0755) != 0) return -1;
        for (int i = 0; i < PER_CLASS; i++) {
            make_image(rgb, c, &seed);
            snprintf(path, sizeof path, "%s/img%03d.png", dir, i);
            if (png_write_rgb(path, rgb, SIDE, SIDE) != 0) return -1;
        }
    }
    return 0;
}

/* ---- running the binary */

/* "train --epochs 2 ..." -> argv (split on spaces; the paths used here have none). */
static char **split_args(char *line, int *argc) {
    int cap = 8, n = 0;
    char **argv = malloc((size_t)cap * sizeof *argv);
    argv[n++] = g_bin;
    for (char *tok = strtok(line, " "); tok; tok = strtok(NULL, " ")) {
        if (n + 2 > cap) {
            cap *= 2;
            argv = realloc(argv, (size_t)cap * sizeof *argv);
        }
        argv[n++] = tok;
    }
    argv[n] = NULL;
    *argc = n;
    return argv;
}

/* Starts `nnclr <args>` with stdout/stderr in <tmp>/<tag>.out / .err; returns the pid. */
static pid_t spawn(const char *tag, const char *fmt, va_list ap) {
    char line[4096];
    vsnprintf(line, sizeof line, fmt, ap);
    char out[600], err[600];
    snprintf(out, sizeof out, "%s/%s.out", g_tmp, tag);
    snprintf(err, sizeof err, "%s/%s.err", g_tmp, tag);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0) _exit(125);
        dup2(fo, STDOUT_FILENO);
        dup2(fe, STDERR_FILENO);
        close(fo);
        close(fe);
        int argc;
        char **argv = split_args(line, &argc);
        execv(g_bin, argv);
        _exit(126);
    }
    return pid;
}

static pid_t start(const char *tag, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    pid_t pid = spawn(tag, fmt, ap);
    va_end(ap);
    return pid;
}

/* Exit code of a finished child; 128 + signal when it was killed. */
static int wait_code(pid_t pid) {
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return -1;
}

/* Runs `nnclr <args>` to completion and returns its exit code (logs the time). */
static int run(const char *tag, const char *fmt, ...) {
    double t0 = now_s();
    va_list ap;
    va_start(ap, fmt);
    pid_t pid = spawn(tag, fmt, ap);
    va_end(ap);
    if (pid < 0) return -1;
    int code = wait_code(pid);
    printf("  [%5.1f s] nnclr %s -> exit %d\n", now_s() - t0, tag, code);
    return code;
}

/* A command's captured stdout or stderr ("out" / "err"). */
static char *output(const char *tag, const char *which) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s.%s", g_tmp, tag, which);
    char *s = slurp(path, NULL);
    return s ? s : calloc(1, 1);
}

/* Prints a failed command's stderr, to see why. */
static void show_err(const char *tag) {
    char *e = output(tag, "err");
    if (e[0]) printf("  --- nnclr %s stderr:\n%s  ---\n", tag, e);
    free(e);
}

static int check_exit(const char *tag, int got, int want) {
    char what[256];
    snprintf(what, sizeof what, "nnclr %s exits %d (got %d)", tag, want, got);
    int ok = check_true(what, got == want);
    if (!ok) show_err(tag);
    return ok;
}

/* The percentage after "top-1 " in a command's stdout, or -1. */
static double parse_top1(const char *tag) {
    char *out = output(tag, "out");
    const char *p = strstr(out, "top-1 ");
    double v = -1;
    if (!p || sscanf(p + 6, "%lf%%", &v) != 1) v = -1;
    free(out);
    return v;
}

/* ---- format checkers */

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\r') p++;
    return p;
}

/* A JSON string at p ('"' ... '"'); returns the end or NULL. The key, when wanted, is copied. */
static const char *json_string(const char *p, char *key, size_t size) {
    if (*p != '"') return NULL;
    size_t n = 0;
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\') {
            if (!p[1]) return NULL;
            p++;
        }
        if (key && n + 1 < size) key[n++] = *p;
    }
    if (key) key[n] = 0;
    return *p == '"' ? p + 1 : NULL;
}

/* A JSON number per the grammar (-?int frac? exp?) at p; returns the end or NULL. */
static const char *json_number(const char *p, double *v) {
    const char *s = p;
    if (*p == '-') p++;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') while (*p >= '0' && *p <= '9') p++;
    else return NULL;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9')) return NULL;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!(*p >= '0' && *p <= '9')) return NULL;
        while (*p >= '0' && *p <= '9') p++;
    }
    *v = strtod(s, NULL);
    return p;
}

/* One line as a flat JSON object of numbers, null, booleans and strings. Records whether it has
 * numeric "step", "loss", "knn_top1", "knn_top1_raw_pixels" and the loss value. 1 when
 * well-formed. */
typedef struct {
    int has_step, has_loss, has_knn;
    double loss;
} metrics_line;

static int parse_metrics_line(const char *p, metrics_line *m) {
    memset(m, 0, sizeof *m);
    p = skip_ws(p);
    if (*p++ != '{') return 0;
    p = skip_ws(p);
    if (*p == '}') return *skip_ws(p + 1) == 0;
    for (;;) {
        char key[64];
        p = json_string(skip_ws(p), key, sizeof key);
        if (!p) return 0;
        p = skip_ws(p);
        if (*p++ != ':') return 0;
        p = skip_ws(p);
        double v;
        int numeric = 0;
        if (!strncmp(p, "null", 4)) p += 4;
        else if (!strncmp(p, "true", 4)) p += 4;
        else if (!strncmp(p, "false", 5)) p += 5;
        else if (*p == '"') p = json_string(p, NULL, 0);
        else {
            p = json_number(p, &v);
            numeric = 1;
        }
        if (!p) return 0;
        if (numeric) {
            if (!strcmp(key, "step")) m->has_step = 1;
            if (!strcmp(key, "loss")) { m->has_loss = 1; m->loss = v; }
            if (!strcmp(key, "knn_top1") || !strcmp(key, "knn_top1_raw_pixels")) m->has_knn = 1;
        }
        p = skip_ws(p);
        if (*p == ',') { p++; continue; }
        if (*p == '}') return *skip_ws(p + 1) == 0;
        return 0;
    }
}

/* Every line of a metrics log; returns the number of loss lines (-1 when a line is bad). */
static int check_metrics(const char *path, int *knn_lines) {
    char *text = slurp(path, NULL);
    if (!text) return -1;
    int loss_lines = 0, bad = 0;
    *knn_lines = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        metrics_line m;
        if (!parse_metrics_line(line, &m) || !m.has_step || !(m.has_loss || m.has_knn) ||
            (m.has_loss && !(isfinite(m.loss) && m.loss > 0))) {
            printf("  bad metrics line: %s\n", line);
            bad = 1;
        }
        loss_lines += m.has_loss;
        *knn_lines += m.has_knn;
    }
    free(text);
    return bad ? -1 : loss_lines;
}

/* Decodes a PNG fully with libpng (checks chunk CRCs and the zlib stream) after checking the
 * signature and IHDR. */
static int check_png(const char *what, const char *path) {
    char label[256];
    size_t len;
    uint8_t *b = (uint8_t *)slurp(path, &len);
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    int ok = b && len > 33 && !memcmp(b, sig, 8) && !memcmp(b + 12, "IHDR", 4);
    uint32_t w = 0, h = 0;
    if (ok) {
        w = (uint32_t)b[16] << 24 | (uint32_t)b[17] << 16 | (uint32_t)b[18] << 8 | b[19];
        h = (uint32_t)b[20] << 24 | (uint32_t)b[21] << 16 | (uint32_t)b[22] << 8 | b[23];
    }
    snprintf(label, sizeof label, "%s: PNG signature and IHDR %ux%u > 0", what, w, h);
    check_true(label, ok && w > 0 && h > 0);
    if (ok) {
        png_image img;
        memset(&img, 0, sizeof img);
        img.version = PNG_IMAGE_VERSION;
        int dec = png_image_begin_read_from_memory(&img, b, len);
        uint8_t *px = NULL;
        if (dec) {
            img.format = PNG_FORMAT_RGB;
            px = malloc(PNG_IMAGE_SIZE(img));
            dec = px && png_image_finish_read(&img, NULL, px, 0, NULL);
        }
        png_image_free(&img);
        free(px);
        snprintf(label, sizeof label, "%s: decodes", what);
        ok = check_true(label, dec);
    }
    free(b);
    return ok;
}

/* A .npy file: magic, version 1.0, dtype, shape (rows[, cols]) and file size. */
static int check_npy(const char *what, const char *path, const char *descr, size_t rows, size_t cols,
                     size_t item) {
    size_t len;
    char *b = slurp(path, &len);
    int ok = b && len >= 10 && !memcmp(b, "\x93NUMPY", 6) && b[6] == 1 && b[7] == 0;
    size_t hlen = ok ? (uint8_t)b[8] | (size_t)(uint8_t)b[9] << 8 : 0;
    ok = ok && 10 + hlen <= len && (10 + hlen) % 16 == 0 && b[10 + hlen - 1] == '\n';
    char shape[64], want_descr[64];
    if (cols) snprintf(shape, sizeof shape, "'shape': (%zu, %zu)", rows, cols);
    else snprintf(shape, sizeof shape, "'shape': (%zu,)", rows);
    snprintf(want_descr, sizeof want_descr, "'descr': '%s'", descr);
    if (ok) {
        char *h = strndup(b + 10, hlen);
        ok = h && strstr(h, want_descr) && strstr(h, shape) && strstr(h, "'fortran_order': False");
        if (!ok) printf("  %s header: %s\n", what, h ? h : "?");
        free(h);
    }
    ok = ok && len == 10 + hlen + rows * (cols ? cols : 1) * item;
    char label[256];
    snprintf(label, sizeof label, "%s: .npy %s %s, size matches", what, descr, shape);
    check_true(label, ok);
    free(b);
    return ok;
}

/* ---- checkpoints */

/* Latest "ckpt-<step>.ckpt" in dir: its path and step (-1 when none). */
static int64_t latest_checkpoint(const char *dir, char *path, size_t size) {
    int64_t best = -1;
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        long long step;
        char tail[8];
        if (sscanf(e->d_name, "ckpt-%lld.%7s", &step, tail) == 2 && !strcmp(tail, "ckpt") && step > best) {
            best = step;
            snprintf(path, size, "%s/%s", dir, e->d_name);
        }
    }
    closedir(d);
    return best;
}

static int sections_equal(const checkpoint *a, const checkpoint *b, const char *name) {
    const void *pa, *pb;
    size_t la, lb;
    if (checkpoint_get(a, name, &pa, &la) || checkpoint_get(b, name, &pb, &lb)) return 0;
    return la == lb && la > 0 && memcmp(pa, pb, la) == 0;
}

/* Every float of the "params" section finite; -1 when the file cannot be read. */
static int params_finite(const char *path) {
    checkpoint *ck;
    if (checkpoint_read(&ck, path)) return -1;
    const void *p;
    size_t len;
    int ok = checkpoint_get(ck, "params", &p, &len) == NNCLR_OK && len % sizeof(float) == 0;
    for (size_t i = 0; ok && i < len / sizeof(float); i++) ok = isfinite(((const float *)p)[i]);
    checkpoint_free(ck);
    return ok;
}

static int read_progress(const char *path, progress_section *pg, int64_t *step) {
    checkpoint *ck;
    if (checkpoint_read(&ck, path)) return -1;
    int rc = checkpoint_get_exact(ck, "progress", pg, sizeof *pg) || checkpoint_get_exact(ck, "step", step, sizeof *step);
    checkpoint_free(ck);
    return rc ? -1 : 0;
}

/* ---- the checks */

static void test_help(void) {
    printf("help and usage errors\n");
    check_exit("--help", run("help", "--help"), 0);
    char *out = output("help", "out");
    check_true("nnclr --help lists the commands", strstr(out, "train") && strstr(out, "eval") && strstr(out, "embed") &&
                                                      strstr(out, "augment-preview"));
    free(out);
    check_exit("(no command)", run("nocmd", ""), 2);

    check_exit("train --help", run("train_help", "train --help"), 0);
    out = output("train_help", "out");
    int flags = 0, with_default = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
        if (!strncmp(line, "  --", 4)) {
            flags++;
            with_default += strchr(line, '[') && strchr(line, ']');
        }
    free(out);
    out = output("train_help", "out");
    check_true("train --help lists --epochs, --batch, --lr, --queue-size, --positive",
               strstr(out, "--epochs") && strstr(out, "--batch") && strstr(out, "--lr") && strstr(out, "--queue-size") &&
                   strstr(out, "--positive"));
    free(out);
    char what[128];
    snprintf(what, sizeof what, "train --help: every flag line (%d) shows a [default]", flags);
    check_true(what, flags >= 20 && with_default == flags);
    check_exit("eval knn --help", run("eval_help", "eval knn --help"), 0);

    /* Each: exit 2, one line on stderr naming the problem, and nothing written. */
    char bad_dir[512];
    tmp_path(bad_dir, sizeof bad_dir, "usage_run");
    struct {
        const char *tag, *args, *names;
    } cases[] = {
        {"unknown_flag", "train --bogus-flag 3", "--bogus-flag"},
        {"missing_value", "train --epochs", "--epochs"},
        {"batch_zero", "train --batch 0", "--batch"},
        {"negative_temperature", "train --temperature -1", "--temperature"},
        {"bad_positive", "train --positive foo", "foo"},
        {"bad_arch", "train --arch resnet19", "resnet19"},
        {"bad_int", "train --epochs two", "--epochs"},
        {"missing_data", "train --data folder --data-path /nonexistent/nnclr-data", "/nonexistent/nnclr-data"},
        {"queue_below_batch", "train --queue-size 8 --batch 16", "--queue-size"},
        {"topk_above_queue", "train --topk 100 --queue-size 64 --batch 16", "--topk"},
        {"resume_missing", "train --resume /nonexistent/nnclr-run", "/nonexistent/nnclr-run"},
        {"ramp_negative", "train --nn-ramp -1", "--nn-ramp"},
        {"ramp_too_long", "train --epochs 2 --nn-start 1 --nn-ramp 1.5", "--nn-ramp"},
        {"prob_above_one", "train --nn-prob-start 1.5", "--nn-prob-start"},
        {"prob_negative", "train --nn-prob-start -0.1", "--nn-prob-start"},
        {"schedule_with_self", "train --positive self --nn-start 1", "--nn-start"},
        {"bad_support_start", "train --support-start full", "full"},
        {"paper_warmup", "train --preset paper --epochs 1", "--warmup-epochs"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int code = run(cases[i].tag, "%s --run-dir %s", cases[i].args, bad_dir);
        char *err = output(cases[i].tag, "err");
        char *nl = strchr(err, '\n');
        int one_line = err[0] && nl && nl[1] == 0;
        snprintf(what, sizeof what, "`nnclr %s`: exit 2 (got %d), one stderr line naming '%s'", cases[i].args, code,
                 cases[i].names);
        if (!check_true(what, code == 2 && one_line && strstr(err, cases[i].names))) printf("  stderr: %s", err);
        free(err);
    }
    /* Config files: only regular text files; every error names FILE:LINE; any line length. */
    char cfg_nul[600], cfg_long[600], cfg_bad[600];
    tmp_path(cfg_nul, sizeof cfg_nul, "nul.cfg");
    tmp_path(cfg_long, sizeof cfg_long, "long.cfg");
    tmp_path(cfg_bad, sizeof cfg_bad, "bad.cfg");
    FILE *f = fopen(cfg_nul, "wb");
    if (f) { fwrite("epochs = 1\n\0\0\0\0", 1, 15, f); fclose(f); }
    f = fopen(cfg_long, "w");
    if (f) {   /* a 3000-character comment ending in a setting, then a bad value on line 3 */
        fputs("# ", f);
        for (int i = 0; i < 3000; i++) fputc('x', f);
        fputs(" epochs = 0\nbatch = 16\nlr = fast\n", f);
        fclose(f);
    }
    f = fopen(cfg_bad, "w");
    if (f) { fputs("epochs = 2\n\nqueue-size = 3\n", f); fclose(f); }
    struct {
        const char *tag, *path, *names;
    } cfg_cases[] = {
        {"config_dev_zero", "/dev/zero", "not a regular file"},
        {"config_dir", g_tmp, "not a regular file"},
        {"config_nul", cfg_nul, "nul.cfg:2: not text"},
        {"config_long_line", cfg_long, "long.cfg:3: --lr"},
        {"config_range", cfg_bad, "--queue-size from "},
    };
    for (size_t i = 0; i < sizeof cfg_cases / sizeof cfg_cases[0]; i++) {
        double t0 = now_s();
        int code = run(cfg_cases[i].tag, "train --config %s --run-dir %s", cfg_cases[i].path, bad_dir);
        char *err = output(cfg_cases[i].tag, "err");
        char *nl = strchr(err, '\n');
        int one_line = err[0] && nl && nl[1] == 0;
        snprintf(what, sizeof what, "--config %s: exit 2 (got %d) within 5 s, one line naming '%s'", cfg_cases[i].tag, code,
                 cfg_cases[i].names);
        if (!check_true(what, code == 2 && one_line && strstr(err, cfg_cases[i].names) && now_s() - t0 < 5))
            printf("  stderr: %s", err);
        free(err);
    }
    /* Kernel environment variables with unknown values are refused, not ignored. */
    const char *env_cases[3][2] = {{"NNCLR_CONV_ALGO", "fast"}, {"NNCLR_WINOGRAD_TILE", "6"}, {"NNCLR_CBLOCK", "32"}};
    for (int i = 0; i < 3; i++) {
        const char *old = getenv(env_cases[i][0]);
        char saved[64] = "";
        if (old) snprintf(saved, sizeof saved, "%s", old);
        setenv(env_cases[i][0], env_cases[i][1], 1);
        int code = run("env_bad", "train --epochs 1 --run-dir %s", bad_dir);
        if (old) setenv(env_cases[i][0], saved, 1);
        else unsetenv(env_cases[i][0]);
        char *err = output("env_bad", "err");
        snprintf(what, sizeof what, "%s=%s: exit 2 naming the variable", env_cases[i][0], env_cases[i][1]);
        if (!check_true(what, code == 2 && strstr(err, env_cases[i][0]))) printf("  stderr: %s", err);
        free(err);
    }
    /* bf16 where oneDNN has no bf16 kernels (this CPU's ISA capped below AVX512-BF16, or a CPU
     * without it): refused in one line, nothing written; an unknown precision likewise. */
    setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE", 1);
    int code = run("bf16_refused", "train --precision bf16 --epochs 1 --run-dir %s", bad_dir);
    unsetenv("ONEDNN_MAX_CPU_ISA");
    out = output("bf16_refused", "err");
    char *nl = strchr(out, '\n');
    if (!check_true("--precision bf16 on a CPU without bf16 kernels: exit 2, one line naming bf16 and the way out",
                    code == 2 && nl && nl[1] == 0 && strstr(out, "bf16") && strstr(out, "--precision f32")))
        printf("  stderr: %s", out);
    free(out);
    check_exit("--precision fp16", run("prec_bad", "train --precision fp16 --epochs 1 --run-dir %s", bad_dir), 2);
    check_true("usage errors leave no run directory", !exists(bad_dir));
    check_exit("unknown command", run("unknown_cmd", "frobnicate --epochs 1"), 2);
    out = output("unknown_cmd", "err");
    check_true("unknown command is named on stderr", strstr(out, "frobnicate") != NULL);
    free(out);
    check_exit("eval bogus mode", run("eval_bogus", "eval bogus"), 2);
    check_exit("eval knn of a missing run", run("eval_missing", "eval knn /nonexistent/nnclr-run"), 2);
    check_exit("info of a missing file", run("info_missing", "info /nonexistent/nnclr.ckpt"), 2);
}

/* The main run (also run A of the resume check) and everything that reads it. */
static void test_train_and_tools(const char *run_dir) {
    printf("train, then the tools on the run\n");
    char path[700];
    int code = run("train", "train %s --epochs %d --run-dir %s", g_common, EPOCHS, run_dir);
    check_exit("train", code, 0);

    snprintf(path, sizeof path, "%s/config.txt", run_dir);
    char *cfg = slurp(path, NULL);
    check_true("config.txt written, with the flags given", cfg && strstr(cfg, "epochs = 3") && strstr(cfg, "batch = 16") &&
                                                            strstr(cfg, "data = folder"));
    free(cfg);
    snprintf(path, sizeof path, "%s/metrics.jsonl", run_dir);
    int knn_lines = 0;
    int loss_lines = check_metrics(path, &knn_lines);
    char what[200];
    snprintf(what, sizeof what, "metrics.jsonl: every line a flat JSON object with step + loss/kNN (%d loss, %d kNN lines)",
             loss_lines, knn_lines);
    check_true(what, loss_lines >= 2 && knn_lines >= 1);

    int64_t step = latest_checkpoint(run_dir, path, sizeof path);
    snprintf(what, sizeof what, "final checkpoint at step %lld (want %d)", (long long)step, EPOCHS * STEPS_PER_EPOCH);
    check_true(what, step == EPOCHS * STEPS_PER_EPOCH);
    check_exit("info RUN", run("info", "info %s", run_dir), 0);
    char *out = output("info", "out");
    snprintf(what, sizeof what, "step: %d", EPOCHS * STEPS_PER_EPOCH);
    check_true("info prints the step and a verified CRC", strstr(out, what) && strstr(out, "CRC32 verified"));
    free(out);
    if (step > 0) check_exit("info CHECKPOINT", run("info_file", "info %s", path), 0);

    char svg[600];
    tmp_path(svg, sizeof svg, "curves.svg");
    check_exit("plot", run("plot", "plot %s --out %s", run_dir, svg), 0);
    size_t len;
    char *s = slurp(svg, &len);
    while (s && len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '\r')) s[--len] = 0;
    check_true("plot: SVG starts with <?xml or <svg and ends with </svg>",
               s && (!strncmp(s, "<?xml", 5) || !strncmp(s, "<svg", 4)) && len >= 6 && !strcmp(s + len - 6, "</svg>") &&
                   strstr(s, "<svg"));
    free(s);

    char png[600];
    tmp_path(png, sizeof png, "nb.png");
    if (check_exit("neighbors", run("neighbors", "neighbors %s --out %s --threads 2", run_dir, png), 0))
        check_png("neighbors", png);
    tmp_path(png, sizeof png, "aug.png");
    if (check_exit("augment-preview", run("augment_preview", "augment-preview --data folder --data-path %s --crop-size 16 "
                                                             "--out %s", g_data, png), 0))
        check_png("augment-preview", png);

    char prefix[600], npy[700];
    tmp_path(prefix, sizeof prefix, "emb");
    if (check_exit("embed", run("embed", "embed %s --out %s --threads 2", run_dir, prefix), 0)) {
        snprintf(npy, sizeof npy, "%s.npy", prefix);
        check_npy("embed features", npy, "<f4", N_TRAIN, FEATURE_DIM, 4);
        snprintf(npy, sizeof npy, "%s_labels.npy", prefix);
        if (check_npy("embed labels", npy, "<i4", N_TRAIN, 0, 4)) {
            /* Labels: each class with its 54 train images. */
            size_t l;
            char *b = slurp(npy, &l);
            size_t off = 10 + ((uint8_t)b[8] | (size_t)(uint8_t)b[9] << 8);
            int count[N_CLASSES] = {0}, in_range = 1;
            for (int i = 0; i < N_TRAIN; i++) {
                int32_t v;
                memcpy(&v, b + off + 4 * (size_t)i, 4);
                if (v < 0 || v >= N_CLASSES) in_range = 0;
                else count[v]++;
            }
            int balanced = 1;
            for (int c = 0; c < N_CLASSES; c++) balanced &= count[c] == N_TRAIN / N_CLASSES;
            check_true("embed labels: in [0, 4), 54 per class", in_range && balanced);
            free(b);
        }
    }

    /* The evaluation pipeline on a set any feature separates. */
    code = run("eval_knn", "eval knn %s --threads 2", run_dir);
    double top1 = parse_top1("eval_knn");
    snprintf(what, sizeof what, "eval knn: exit 0, top-1 %.2f%% >= 95%%", top1);
    if (!check_true(what, code == 0 && top1 >= 95)) show_err("eval_knn");
    code = run("eval_linear", "eval linear %s --epochs 30 --threads 2", run_dir);
    top1 = parse_top1("eval_linear");
    snprintf(what, sizeof what, "eval linear: exit 0, top-1 %.2f%% >= 95%%", top1);
    if (!check_true(what, code == 0 && top1 >= 95)) show_err("eval_linear");
    /* 10 % of 216 images: 20 labelled, so a training batch below that. */
    code = run("eval_finetune", "eval finetune %s --labels 10%% --epochs 3 --train-batch 16 --threads 2", run_dir);
    top1 = parse_top1("eval_finetune");
    snprintf(what, sizeof what, "eval finetune: exit 0, prints top-1 (%.2f%%)", top1);
    if (!check_true(what, code == 0 && top1 >= 0 && top1 <= 100)) show_err("eval_finetune");
    code = run("eval_finetune_batch", "eval finetune %s --labels 10%% --epochs 1 --threads 2", run_dir);
    out = output("eval_finetune_batch", "err");
    check_true("eval finetune: a labelled subset below --train-batch is a usage error naming it",
               code == 2 && strstr(out, "--train-batch"));
    free(out);
}

/* The training state of two runs' final checkpoints, section by section. */
static void compare_runs(const char *label, const char *dir_a, const char *dir_b, int64_t want_step) {
    char path_a[700], path_b[700], what[200];
    int64_t sa = latest_checkpoint(dir_a, path_a, sizeof path_a);
    int64_t sb = latest_checkpoint(dir_b, path_b, sizeof path_b);
    snprintf(what, sizeof what, "%s: both runs end at step %lld (got %lld and %lld)", label, (long long)want_step,
             (long long)sa, (long long)sb);
    if (!check_true(what, sa == want_step && sb == want_step)) return;
    checkpoint *a = NULL, *b = NULL;
    if (checkpoint_read(&a, path_a) || checkpoint_read(&b, path_b)) {
        check_true("final checkpoints of both runs readable", 0);
    } else {
        static const char *const names[] = {"params", "buffers", "opt_state", "queue.entries", "queue.labels",
                                            "queue.meta", "rng", "step"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            snprintf(what, sizeof what, "%s: section '%s' byte-identical to the uninterrupted run", label, names[i]);
            check_true(what, sections_equal(a, b, names[i]));
        }
    }
    checkpoint_free(a);
    checkpoint_free(b);
}

/* Run B: one epoch, stopped as if interrupted, then --resume; compared with run A. */
static void test_resume(const char *run_a, const char *run_b) {
    printf("resume bit-identity\n");
    int code = run("train_b1", "train %s --epochs %d --stop-after 1 --run-dir %s", g_common, EPOCHS, run_b);
    check_exit("train --stop-after 1", code, 0);
    char path[700];
    int64_t step = latest_checkpoint(run_b, path, sizeof path);
    check_true("--stop-after 1 leaves the epoch-1 checkpoint", step == STEPS_PER_EPOCH);
    /* The --resume=DIR form; the saved --stop-after must not stop the resumed run again. The
     * data flags (the saved values again) and a --run-dir that --resume overrides keep a
     * resume that went wrong small and inside the work directory. */
    char elsewhere[600];
    tmp_path(elsewhere, sizeof elsewhere, "run_b_elsewhere");
    code = run("train_b2", "train --resume=%s %s --run-dir %s", run_b, g_common, elsewhere);
    check_exit("train --resume", code, 0);
    char *out = output("train_b2", "out");
    check_true("resume starts from the checkpoint and trains to the last epoch",
               strstr(out, "resumed from") && strstr(out, "training done"));
    free(out);
    check_true("--resume trains in the resumed directory, whatever --run-dir says", !exists(elsewhere));
    compare_runs("stop-after 1 + resume", run_a, run_b, EPOCHS * STEPS_PER_EPOCH);
}

/* The positive schedule: a run stopped mid-ramp and resumed equals the uninterrupted run, byte
 * for byte; the metrics log the neighbour-positive fraction (0 before the ramp, 1 after);
 * an empty-start resume of a random-start run is refused with nothing written. */
static void test_schedule(const char *run_a, const char *run_c, const char *run_d) {
    printf("positive schedule: resume mid-ramp\n");
    const char *sched = "--nn-start 0.5 --nn-ramp 1.5 --nn-prob-start 0.2 --support-start empty --log-every 1";
    int code = run("train_c", "train %s %s --epochs %d --linear-probe --baseline-best-k 5 --run-dir %s", g_common, sched,
                   EPOCHS, run_c);
    check_exit("train with a positive schedule", code, 0);
    char *out = output("train_c", "out");
    check_true("--linear-probe and --baseline-best-k: the run ends with both lines",
               out && strstr(out, "linear probe (test set): learned features") &&
                   strstr(out, "raw pixels at their best k (k=5"));
    free(out);
    code = run("train_d1", "train %s %s --epochs %d --stop-after 1 --run-dir %s", g_common, sched, EPOCHS, run_d);
    check_exit("train with a positive schedule, --stop-after 1 (mid-ramp)", code, 0);
    /* A config.txt write killed before its rename leaves config.txt.tmp.<pid>: the resume removes it. */
    char stale[700];
    snprintf(stale, sizeof stale, "%s/config.txt.tmp.4242", run_d);
    FILE *sf = fopen(stale, "w");
    if (sf) fclose(sf);
    char mpath[700];
    snprintf(mpath, sizeof mpath, "%s/metrics.jsonl", run_d);
    sf = fopen(mpath, "a");
    if (sf) {
        fprintf(sf, "{\"step\":20,\"epoch\":1.5,\"loss\":3.0}\n");
        fclose(sf);
    }
    code = run("train_d2", "train --resume %s", run_d);
    check_true("stale config.txt.tmp.<pid> removed on resume", !exists(stale));
    /* metrics.jsonl of the resumed run: every step once, in order (a line past the checkpoint,
     * as a kill leaves, was appended before the resume). */
    snprintf(stale, sizeof stale, "%s/metrics.jsonl", run_d);
    char *mlog = slurp(stale, NULL);
    int steps_seen = 0, ordered = 1;
    double last = 0;
    for (char *line = mlog ? strtok(mlog, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        char *st = strstr(line, "\"step\":");
        if (!st || !strstr(line, "\"loss\":")) continue;
        double v = atof(st + 7);
        ordered &= v > last;
        last = v;
        steps_seen++;
    }
    free(mlog);
    check_true("resumed metrics.jsonl: every step once, in order", ordered && steps_seen == EPOCHS * STEPS_PER_EPOCH);
    check_exit("train --resume mid-ramp", code, 0);
    compare_runs("positive schedule: stop-after 1 + resume", run_c, run_d, EPOCHS * STEPS_PER_EPOCH);

    char path[700];
    snprintf(path, sizeof path, "%s/config.txt", run_c);
    char *cfg = slurp(path, NULL);
    check_true("config.txt holds the schedule", cfg && strstr(cfg, "nn-start = 0.5") && strstr(cfg, "nn-ramp = 1.5") &&
                                                 strstr(cfg, "nn-prob-start = 0.2") && strstr(cfg, "support-start = empty"));
    free(cfg);
    /* nn_frac per step: 0 before the ramp (step <= 6 of 13 per epoch), strictly inside (0, 1)
     * somewhere on the ramp, 1 after it (steps > 26). */
    snprintf(path, sizeof path, "%s/metrics.jsonl", run_c);
    char *log = slurp(path, NULL);
    int before_zero = 1, after_one = 1, mixed = 0, lines = 0;
    for (char *line = log ? strtok(log, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        char *f = strstr(line, "\"nn_frac\":");
        char *st = strstr(line, "\"step\":");
        if (!f || !st) continue;
        double frac = atof(f + 10), step = atof(st + 7);
        lines++;
        if (step <= 6) before_zero &= frac == 0;
        else if (step > 2 * STEPS_PER_EPOCH + 1) after_one &= frac == 1;
        else mixed |= frac > 0 && frac < 1;
    }
    free(log);
    check_true("metrics: nn_frac on every step line", lines == EPOCHS * STEPS_PER_EPOCH);
    check_true("metrics: nn_frac 0 before the ramp, 1 after it, mixed on it", before_zero && after_one && mixed);
    check_exit("plot draws the run with its nn_frac curve", run("plot_c", "plot %s", run_c), 0);
    snprintf(path, sizeof path, "%s/curves.svg", run_c);
    char *svg = slurp(path, NULL);
    check_true("curves.svg has the neighbour-positive curve", svg && strstr(svg, "neighbour positives"));
    free(svg);
    char cmp[700];
    tmp_path(cmp, sizeof cmp, "compare.svg");
    check_exit("plot of two runs into one picture", run("plot_cmp", "plot %s %s --out %s", run_a, run_c, cmp), 0);
    svg = slurp(cmp, NULL);
    check_true("...one curve per run, labelled by run directory", svg && strstr(svg, ">run<") && strstr(svg, ">run_c<") &&
                                                                   strstr(svg, "kNN top-1"));
    free(svg);
    check_exit("plot of two runs without --out", run("plot_cmp_noout", "plot %s %s", run_a, run_c), 2);

    /* run_a started random: an empty-start resume must be refused before anything changes. */
    snprintf(path, sizeof path, "%s/config.txt", run_a);
    char *before = slurp(path, NULL);
    code = run("resume_empty", "train --resume %s --support-start empty --epochs 5", run_a);
    char *err = output("resume_empty", "err");
    check_true("--support-start empty on a random-start run: exit 2 naming --support-start",
               code == 2 && strstr(err, "--support-start"));
    free(err);
    char *after = slurp(path, NULL);
    check_true("...and config.txt is unchanged", before && after && !strcmp(before, after));
    free(after);
    /* An override the checkpoint cannot take (another architecture) fails before anything in
     * the run directory changes. */
    code = run("resume_arch", "train --resume %s --arch resnet8 --epochs 5", run_a);
    check_true("--resume with --arch of another shape: fails", code != 0);
    after = slurp(path, NULL);
    check_true("...and config.txt is unchanged", before && after && !strcmp(before, after));
    free(before);
    free(after);
}

/* Which checkpoint a run directory stands for: a corrupt newest one is skipped (and named) by
 * eval and --resume; a checkpoint of another architecture is refused by eval, embed, info and
 * export with both architectures named. */
static void test_checkpoint_choice(const char *run_a) {
    printf("checkpoint choice: corrupt newest, foreign architecture\n");
    char dir[700], other[700], cmd[2400], path[800];
    tmp_path(dir, sizeof dir, "run_choice");
    tmp_path(other, sizeof other, "run_other_arch");
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", dir, run_a, dir);
    if (!check_true("run copied", system(cmd) == 0)) return;
    /* The newest checkpoint, one byte flipped in the middle. */
    snprintf(cmd, sizeof cmd, "f=$(ls '%s'/ckpt-*.ckpt | sort -t- -k2 -n | tail -1) && cp \"$f\" '%s/ckpt-999999.ckpt' && "
             "printf 'Z' | dd of='%s/ckpt-999999.ckpt' bs=1 seek=3000 conv=notrunc 2>/dev/null", dir, dir, dir);
    if (!check_true("corrupt newest checkpoint planted", system(cmd) == 0)) return;
    int code = run("choice_eval", "eval knn %s --threads 2", dir);
    char *err = output("choice_eval", "err");
    check_true("eval knn skips the corrupt newest checkpoint (exit 0, the skipped file named)",
               code == 0 && strstr(err, "skipped ckpt-999999.ckpt") && strstr(err, "checksum"));
    free(err);
    code = run("choice_info", "info %s", dir);
    check_true("info uses the newest checkpoint that verifies", code == 0);
    snprintf(path, sizeof path, "%s/ckpt-999999.ckpt", dir);
    check_true("info of the corrupt file itself fails (exit 1)", run("choice_info_file", "info %s", path) == 1);
    /* A checkpoint of another architecture in the directory. */
    code = run("other_arch", "train %s --arch resnet8 --epochs 1 --run-dir %s", g_common, other);
    snprintf(cmd, sizeof cmd, "rm -f '%s/ckpt-999999.ckpt' && cp \"$(ls '%s'/ckpt-*.ckpt | tail -1)\" '%s/ckpt-999999.ckpt'",
             dir, other, dir);
    if (!check_true("foreign-architecture checkpoint planted", code == 0 && system(cmd) == 0)) return;
    const char *cmds[4][2] = {{"foreign_eval", "eval knn %s"}, {"foreign_embed", "embed %s --out /dev/null/x"},
                              {"foreign_info", "info %s"}, {"foreign_export", "export %s --out /dev/null/x.safetensors"}};
    for (int i = 0; i < 4; i++) {
        code = run(cmds[i][0], cmds[i][1], dir);
        err = output(cmds[i][0], "err");
        char what[200];
        snprintf(what, sizeof what, "%s refuses the foreign checkpoint, naming both architectures", cmds[i][0]);
        if (!check_true(what, code != 0 && strstr(err, "resnet8") && strstr(err, "resnet20"))) printf("  stderr: %s", err);
        free(err);
    }
}

/* A run directory written by nnclr 0.1.0 (tests/fixtures/run_v0.1.0) still reads and resumes. */
static void test_old_run(const char *dir) {
    printf("a run directory of nnclr 0.1.0\n");
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp fixtures/run_v0.1.0/config.txt fixtures/run_v0.1.0/metrics.jsonl "
             "fixtures/run_v0.1.0/ckpt-13.ckpt '%s'/", dir, dir);
    if (!check_true("fixture run copied", system(cmd) == 0)) return;
    check_exit("info on the 0.1.0 run", run("old_info", "info %s", dir), 0);
    char *out = output("old_info", "out");
    check_true("info: step 13", out && strstr(out, "step: 13"));
    free(out);
    check_exit("eval knn on the 0.1.0 run", run("old_knn", "eval knn %s --data-path %s --threads 2", dir, g_data), 0);
    int code = run("old_resume", "train --resume %s --data-path %s", dir, g_data);
    check_exit("train --resume of the 0.1.0 run", code, 0);
    out = output("old_resume", "out");
    check_true("resumed from its step-13 checkpoint and trained to the end",
               out && strstr(out, "resumed from") && strstr(out, "step 13") && strstr(out, "training done"));
    free(out);
    char path[700];
    int64_t step = latest_checkpoint(dir, path, sizeof path);
    check_true("the resumed 0.1.0 run ends at step 26 with finite parameters", step == 26 && params_finite(path));
}

/* nnclr search: images of the data set, given as query files, find themselves first. */
static void test_search(const char *run_dir) {
    printf("search\n");
    char prefix[600], q[700], path[700];
    tmp_path(prefix, sizeof prefix, "search");
    snprintf(q, sizeof q, "%s/class0", g_data);
    check_exit("search --query DIR", run("search", "search %s --query %s --k 3 --out %s", run_dir, q, prefix), 0);
    snprintf(path, sizeof path, "%s.tsv", prefix);
    char *tsv = slurp(path, NULL);
    int rows = 0, self = 0;
    for (char *line = tsv ? strtok(tsv, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        char id[600];
        int rank, index;
        char label[64];
        double cosine;
        if (sscanf(line, "%599s %d %d %63s %lf", id, &rank, &index, label, &cosine) != 5) continue;
        rows++;
        self += rank == 1 && cosine > 0.99999;
    }
    free(tsv);
    snprintf(path, sizeof path, "%s.png", prefix);
    char what[160];
    snprintf(what, sizeof what, "TSV: 3 rows per query (%d rows); queries from the train split find themselves first "
             "(cosine 1: %d)", rows, self);
    check_true(what, rows == 3 * PER_CLASS && self >= PER_CLASS - 6);
    check_true("contact sheet PNG written", check_png("search sheet", path));
    check_exit("search without --query", run("search_noq", "search %s", run_dir), 2);
    check_exit("search --query of a missing file", run("search_missing", "search %s --query /nonexistent/q.png", run_dir), 2);
}

/* nnclr export: a safetensors file with torchvision's names; bad requests leave no file. (The
 * real client, PyTorch, is tests/export_torch.py.) */
static void test_export(const char *run_dir) {
    printf("export\n");
    char out[700], bad[700], cmd[4096];
    tmp_path(out, sizeof out, "model.safetensors");
    check_exit("export --format safetensors", run("export", "export %s --format safetensors --out %s", run_dir, out), 0);
    size_t len = 0;
    char *f = slurp(out, &len);
    uint64_t hl = 0;
    for (int i = 0; f && len >= 8 && i < 8; i++) hl |= (uint64_t)(unsigned char)f[i] << (8 * i);
    int ok = f && len > 8 + hl && (8 + hl) % 8 == 0 && f[8] == '{';
    if (ok) {
        char *h = strndup(f + 8, hl);
        ok = strstr(h, "\"conv1.weight\"") && strstr(h, "\"bn1.num_batches_tracked\"") &&
             strstr(h, "\"layer2.0.downsample.0.weight\"") && !strstr(h, "backbone.") && !strstr(h, "projector") &&
             strstr(h, "\"arch\":\"resnet20\"");
        free(h);
    }
    check_true("the file: 8-byte header length, JSON with torchvision names and metadata, aligned data", ok);
    free(f);
    check_exit("export --with-heads", run("export_heads", "export %s --with-heads --out %s.heads", run_dir, out), 0);
    snprintf(cmd, sizeof cmd, "%s.heads", out);
    f = slurp(cmd, NULL);
    check_true("--with-heads adds projector.* and predictor.*", f && strstr(f + 8, "\"projector.") && strstr(f + 8, "\"predictor."));
    free(f);
    tmp_path(bad, sizeof bad, "never.safetensors");
    check_exit("export --format onnx2 (unknown)", run("export_fmt", "export %s --format onnx2 --out %s", run_dir, bad), 2);
    check_exit("export without --out", run("export_noout", "export %s", run_dir), 2);
    check_true("export --out /nonexistent-dir/...: fails", run("export_unwritable", "export %s --out /nonexistent-nnclr-dir/m.safetensors", run_dir) != 0);
    /* A truncated checkpoint: refused, nothing written. */
    char broken[600], ck[700];
    tmp_path(broken, sizeof broken, "run_broken");
    int64_t step = latest_checkpoint(run_dir, ck, sizeof ck);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s/config.txt' '%s/' && head -c 5000 '%s' > '%s/ckpt-%lld.ckpt'", broken,
             run_dir, broken, ck, broken, (long long)step);
    if (check_true("truncated copy of the run made", system(cmd) == 0)) {
        int code = run("export_trunc", "export %s --out %s", broken, bad);
        char *err = output("export_trunc", "err");
        check_true("export of a truncated checkpoint: exit 1 with one line", code == 1 && err && strchr(err, '\n') == err + strlen(err) - 1);
        free(err);
    }
    check_true("no output file from any refused export", !exists(bad));

    /* --init: a new run starts from the exported backbone; a bad file leaves no run directory. */
    char init_run[600], bad_run[600];
    tmp_path(init_run, sizeof init_run, "run_init");
    tmp_path(bad_run, sizeof bad_run, "run_init_bad");
    check_exit("train --init FILE", run("init", "train %s --epochs 1 --init %s --run-dir %s", g_common, out, init_run), 0);
    char *o = output("init", "out");
    check_true("...says the backbone was initialised from the file", o && strstr(o, "backbone initialised from"));
    free(o);
    int code = run("init_bad", "train %s --epochs 1 --init %s --run-dir %s", g_common, ck, bad_run);
    char *err = output("init_bad", "err");
    check_true("train --init with a checkpoint (not safetensors): fails with one line, no run directory",
               code != 0 && err && strchr(err, '\n') == err + strlen(err) - 1 && !exists(bad_run));
    free(err);
}

/* SIGTERM once the first metrics line is out; the checkpoint; --resume to the end of that epoch
 * against the same run uninterrupted. */
static void test_sigterm(const char *run_dir, const char *straight_dir) {
    printf("SIGTERM mid-training\n");
    char log[700], path[700];
    snprintf(log, sizeof log, "%s/metrics.jsonl", run_dir);
    double t0 = now_s();
    const char *flags = "--epochs 30 --log-every 1";
    pid_t pid = start("train_sig", "train %s %s --run-dir %s", g_common, flags, run_dir);
    int seen = 0, exited = 0, code = -1;
    while (now_s() - t0 < 300) {
        char *s = slurp(log, NULL);
        seen = s && strchr(s, '\n');
        free(s);
        if (seen) break;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            exited = 1;
            code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    check_true("training wrote a metrics line before the signal", seen);
    if (!exited) {
        kill(pid, SIGTERM);
        code = wait_code(pid);
    }
    printf("  [%5.1f s] nnclr train_sig -> exit %d\n", now_s() - t0, code);
    check_exit("train, SIGTERM", code, 128 + SIGTERM);
    char *err = output("train_sig", "err");
    check_true("SIGTERM: stderr says how to resume", strstr(err, "--resume") != NULL);
    free(err);
    int64_t step = latest_checkpoint(run_dir, path, sizeof path);
    check_true("SIGTERM: a checkpoint was written", step > 0);
    if (step <= 0) return;
    check_exit("info of the SIGTERM checkpoint", run("info_sig", "info %s", path), 0);
    progress_section pg;
    int64_t ck_step;
    if (!check_true("SIGTERM checkpoint: progress and step readable", read_progress(path, &pg, &ck_step) == 0)) return;
    char what[200];
    snprintf(what, sizeof what, "SIGTERM checkpoint: step %lld = epoch %lld x %d + batch %lld", (long long)ck_step,
             (long long)pg.epoch, STEPS_PER_EPOCH, (long long)pg.batch);
    check_true(what, ck_step == step && pg.epoch * STEPS_PER_EPOCH + pg.batch == step);
    /* Resume to the end of the interrupted epoch (same schedule: --epochs stays 30). */
    int stop = (int)pg.epoch + 1;
    code = run("train_sig_resume", "train --resume %s --stop-after %d", run_dir, stop);
    check_exit("train --resume after SIGTERM", code, 0);
    char *out = output("train_sig_resume", "out");
    check_true("resume after SIGTERM starts from the checkpoint", strstr(out, "resumed from") != NULL);
    free(out);
    code = run("train_straight", "train %s %s --stop-after %d --run-dir %s", g_common, flags, stop, straight_dir);
    check_exit("train, uninterrupted", code, 0);
    compare_runs(pg.batch ? "SIGTERM mid-epoch + resume" : "SIGTERM + resume", straight_dir, run_dir,
                 (int64_t)stop * STEPS_PER_EPOCH);
}

/* A learning rate and weight decay that blow the weights up within the first epoch. */
static void test_nan(const char *run_dir) {
    printf("diverging run\n");
    int code = run("train_nan", "train %s --epochs 2 --log-every 1 --optimizer sgd --lr 1000 --weight-decay 1 "
                                "--run-dir %s", g_common, run_dir);
    check_exit("train, diverging", code, 1);
    char *err = output("train_nan", "err");
    long long bad_step = -1;
    const char *p = strstr(err, "at step ");
    if (p) sscanf(p + 8, "%lld", &bad_step);
    char what[200];
    snprintf(what, sizeof what, "diverging run: stderr names NaN/Inf and the step (%lld)", bad_step);
    if (!check_true(what, bad_step > 0 && (strstr(err, "NaN") || strstr(err, "nan") || strstr(err, "inf"))))
        printf("  stderr: %s", err);
    free(err);
    /* No checkpoint at or after the failing step; every checkpoint there is finite. */
    DIR *d = opendir(run_dir);
    int late = 0, finite = 1, count = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        long long step;
        char tail[8], path[1100];
        if (sscanf(e->d_name, "ckpt-%lld.%7s", &step, tail) != 2 || strcmp(tail, "ckpt")) continue;
        count++;
        if (bad_step > 0 && step >= bad_step) late = 1;
        snprintf(path, sizeof path, "%s/%s", run_dir, e->d_name);
        if (params_finite(path) != 1) finite = 0;
    }
    if (d) closedir(d);
    snprintf(what, sizeof what, "diverging run: no checkpoint at/after the failing step; the %d before it finite", count);
    check_true(what, !late && finite);
}

int main(void) {
    const char *bin_dir = getenv("NNCLR_BIN_DIR");
    snprintf(g_bin, sizeof g_bin, "%s/nnclr", bin_dir && bin_dir[0] ? bin_dir : "../build");
    if (!check_true("the nnclr binary exists ($NNCLR_BIN_DIR/nnclr)", access(g_bin, X_OK) == 0)) {
        printf("  not found: %s\n", g_bin);
        return test_summary();
    }
    /* On a shared machine, spinning OpenMP workers waiting for a descheduled one make a 1 s run
     * take 20 s; sleeping waits keep the tiny runs fast (a policy already set is kept). */
    setenv("OMP_WAIT_POLICY", "passive", 0);
    snprintf(g_tmp, sizeof g_tmp, "/tmp/nnclr_cli_XXXXXX");
    if (!check_true("mkdtemp", mkdtemp(g_tmp) != NULL)) return test_summary();
    printf("binary %s, work directory %s\n", g_bin, g_tmp);
    double t0 = now_s();
    tmp_path(g_data, sizeof g_data, "data");
    if (!check_true("synthetic data set written (4 classes x 60 PNGs, 16x16)", write_dataset(g_data) == 0))
        return test_summary();
    snprintf(g_common, sizeof g_common,
             "--data folder --data-path %s --crop-size 16 --arch resnet20 --batch 16 --proj-hidden 32 --proj-dim 16 "
             "--pred-hidden 32 --queue-size 64 --threads 2 --loader-threads 1",
             g_data);

    char run_a[600], run_b[600], run_sig[600], run_straight[600], run_nan[600];
    tmp_path(run_a, sizeof run_a, "run");
    tmp_path(run_b, sizeof run_b, "run_b");
    tmp_path(run_sig, sizeof run_sig, "run_sig");
    tmp_path(run_straight, sizeof run_straight, "run_straight");
    tmp_path(run_nan, sizeof run_nan, "run_nan");
    test_help();
    test_train_and_tools(run_a);
    test_resume(run_a, run_b);
    char run_c[600], run_d[600];
    tmp_path(run_c, sizeof run_c, "run_c");
    tmp_path(run_d, sizeof run_d, "run_d");
    test_schedule(run_a, run_c, run_d);
    char run_old[600];
    tmp_path(run_old, sizeof run_old, "run_v0.1.0");
    test_old_run(run_old);
    test_export(run_a);
    test_search(run_a);
    test_checkpoint_choice(run_a);
    test_sigterm(run_sig, run_straight);
    test_nan(run_nan);
    printf("total %.1f s\n", now_s() - t0);

    int rc = test_summary();
    if (rc == 0) {
        char cmd[sizeof g_tmp + 16];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
        if (system(cmd) != 0) printf("could not remove %s\n", g_tmp);
    } else {
        printf("outputs kept in %s\n", g_tmp);
    }
    return rc;
}
