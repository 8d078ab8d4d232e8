/* options.c - the training-run options shared by the subcommands (see cli.h): the flag table
 * (the library's configuration keys), a run directory's config.txt, and a model rebuilt from a
 * run directory for the evaluation commands. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "core/threads.h"
#include "dist/dist.h"
#include "core/status.h"
#include "io/checkpoint.h"
#include "model/model_state.h"
#include "model/nnclr_model.h"

int train_opts_preset(train_opts *o, const char *preset) {
    if (nnclr_train_config_preset(o, preset) != NNCLR_OK) {
        fprintf(stderr, "nnclr: %s\n", nnclr_last_error());
        return EXIT_USAGE;
    }
    return 0;
}

/* --config FILE: read by args_parse, not a setting of the run. */
static const char *g_config_file;

const arg_spec *train_opts_specs(train_opts *o, int *n) {
    /* The flags are the library's configuration keys (nnclr_train_config_keys), in its order,
     * after --config. */
    static arg_spec s[96];
    int count, k = 0;
    const nnclr_config_key *keys = nnclr_train_config_keys(&count);
    s[k++] = (arg_spec){"config", ARG_STR, (void *)&g_config_file, "read key = value options from FILE (flags override)", 1, 0, NULL};
    for (int i = 0; i < count && k < (int)(sizeof s / sizeof s[0]); i++) {
        static const arg_type types[] = {ARG_INT, ARG_FLOAT, ARG_STR, ARG_BOOL, ARG_U64};
        s[k++] = (arg_spec){keys[i].name, types[keys[i].type], (char *)o + keys[i].offset, keys[i].help,
                            keys[i].min, keys[i].max, keys[i].choices};
    }
    *n = k;
    return s;
}

const char *format_percent(char *buf, size_t size, double frac) {
    if (isnan(frac)) snprintf(buf, size, "n/a");
    else snprintf(buf, size, "%.2f%%", 100 * frac);
    return buf;
}


static nnclr_dist *g_dist;

nnclr_dist *cli_dist(void) { return g_dist; }
void cli_set_dist(nnclr_dist *d) { g_dist = d; }
int cli_rank0(void) { return nnclr_dist_rank(g_dist) == 0; }

void cli_set_threads(int threads) {
    char note[160];
    threads_apply(threads, note, sizeof note);
    if (note[0] && cli_rank0()) fprintf(stderr, "nnclr: note: %s\n", note);
}


int load_run_config(train_opts *o, const char *run_dir, const char *cmd) {
    char path[4096];
    snprintf(path, sizeof path, "%s/config.txt", run_dir);
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "nnclr %s: %s: no such run (config.txt missing)\n", cmd, run_dir);
        return EXIT_USAGE;
    }
    train_opts_preset(o, "small");
    int n;
    const arg_spec *specs = train_opts_specs(o, &n);
    char *argv[3] = {(char *)cmd, "--config", path};
    return args_parse(specs, n, 3, argv, 1, cmd, "", NULL, 0, NULL);
}

nnclr_status open_run_checkpoint(const char *path, checkpoint **ck, char *ckpt, size_t size) {
    char note[3000];
    NNCLR_TRY(run_open_checkpoint(path, ck, ckpt, size, note, sizeof note));
    if (note[0] && cli_rank0()) fprintf(stderr, "nnclr: note: %s\n", note);
    return NNCLR_OK;
}

nnclr_status model_from_run(const char *path, int batch, train_opts *o, nnclr_model **m, char *ckpt,
                            size_t ckpt_size) {
    checkpoint *ck;
    NNCLR_TRY(open_run_checkpoint(path, &ck, ckpt, ckpt_size));
    /* The run directory is the checkpoint's directory. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", ckpt);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    char cfg[4200];
    struct stat st;
    snprintf(cfg, sizeof cfg, "%s/config.txt", dir);
    if (stat(cfg, &st) != 0) {
        checkpoint_free(ck);
        return nnclr_fail(NNCLR_ERR_ARG, "%s: no such run (config.txt missing)", dir);
    }
    if (load_run_config(o, dir, "eval") != 0) {
        checkpoint_free(ck);
        return nnclr_fail(NNCLR_ERR_ARG, "%s: cannot read the run configuration", dir);
    }
    /* Input shape from the checkpoint's stored model shape. */
    int32_t shape[3];
    nnclr_status s = checkpoint_get_exact(ck, "input_shape", shape, sizeof shape);
    if (s) { checkpoint_free(ck); return s; }
    nnclr_config c;
    augment_config aug;
    memset(&aug, 0, sizeof aug);
    aug.channels = shape[0];
    aug.size = shape[1];
    train_opts ob = *o;
    ob.batch = batch;
    make_model_config(&ob, &aug, 1, &c);
    if (c.queue_size < batch) c.queue_size = batch;
    c.precision = NNCLR_PRECISION_F32; /* features in float32, on any CPU */
    s = nnclr_model_create(m, &c);
    if (!s) s = model_state_load(*m, ck, 1);
    checkpoint_free(ck);
    if (s) { nnclr_model_free(*m); *m = NULL; }
    return s;
}
