/* run_model.c - a trained model back from a run directory or checkpoint (nnclr_model_load) and
 * the embeddings of a data set (nnclr_embed). The checkpoint carries what is needed: its
 * "config" section (the run's key = value configuration), "input_shape" and the weights. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/status.h"
#include "eval/knn.h"
#include "io/checkpoint.h"
#include "model/model_state.h"
#include "model/nnclr_model.h"
#include "train/run_setup.h"

/* The architecture keys of a configuration text (parsed on a copy; arch copied into arch). */
static nnclr_status arch_of(const char *text, size_t len, nnclr_train_config *c, char *arch, size_t arch_size) {
    char *copy = nnclr_malloc(len + 1);
    if (!copy) return NNCLR_ERR_NOMEM;
    memcpy(copy, text, len);
    copy[len] = 0;
    nnclr_train_config_preset(c, "small");
    nnclr_status s = nnclr_train_config_parse(c, copy);
    snprintf(arch, arch_size, "%s", c->arch ? c->arch : "");
    c->arch = arch;   /* the parsed strings point into copy */
    free(copy);
    return s;
}

nnclr_status run_checkpoint_fits(const char *run_dir, const char *ckpt, const checkpoint *ck) {
    char path[4200];
    snprintf(path, sizeof path, "%s/config.txt", run_dir && *run_dir ? run_dir : ".");
    FILE *f = fopen(path, "rb");
    if (!f) return NNCLR_OK;   /* a checkpoint on its own carries its configuration */
    char text[65536];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    const void *ctext;
    size_t clen;
    if (checkpoint_get(ck, "config", &ctext, &clen) != NNCLR_OK) return NNCLR_OK;   /* 0.1.0 files */
    nnclr_train_config a, b;
    char arch_a[64], arch_b[64];
    NNCLR_TRY(arch_of(text, len, &a, arch_a, sizeof arch_a));
    NNCLR_TRY(arch_of(ctext, clen, &b, arch_b, sizeof arch_b));
    const char *what = strcmp(arch_a, b.arch) ? "--arch" : a.cifar_stem != b.cifar_stem ? "--cifar-stem"
                     : a.proj_hidden != b.proj_hidden ? "--proj-hidden" : a.proj_dim != b.proj_dim ? "--proj-dim"
                     : a.pred_hidden != b.pred_hidden ? "--pred-hidden" : a.predictor != b.predictor ? "--predictor" : NULL;
    if (!what) return NNCLR_OK;
    char va[64], vb[64];
    if (!strcmp(what, "--arch")) snprintf(va, sizeof va, "%s", arch_a), snprintf(vb, sizeof vb, "%s", b.arch);
    else if (!strcmp(what, "--cifar-stem")) snprintf(va, sizeof va, "%d", a.cifar_stem), snprintf(vb, sizeof vb, "%d", b.cifar_stem);
    else if (!strcmp(what, "--proj-hidden")) snprintf(va, sizeof va, "%d", a.proj_hidden), snprintf(vb, sizeof vb, "%d", b.proj_hidden);
    else if (!strcmp(what, "--proj-dim")) snprintf(va, sizeof va, "%d", a.proj_dim), snprintf(vb, sizeof vb, "%d", b.proj_dim);
    else if (!strcmp(what, "--pred-hidden")) snprintf(va, sizeof va, "%d", a.pred_hidden), snprintf(vb, sizeof vb, "%d", b.pred_hidden);
    else snprintf(va, sizeof va, "%d", a.predictor), snprintf(vb, sizeof vb, "%d", b.predictor);
    return nnclr_fail(NNCLR_ERR_FORMAT, "%s was written with %s %s, but %s says %s %s: it belongs to another run", ckpt,
                      what, vb, path, what, va);
}

nnclr_status run_open_checkpoint(const char *path, checkpoint **ck, char *ckpt, size_t size, char *note,
                                 size_t note_size) {
    struct stat st;
    *ck = NULL;
    if (note_size) note[0] = 0;
    if (stat(path, &st) != 0) return nnclr_fail(NNCLR_ERR_ARG, "%s: no such run or checkpoint", path);
    char dir[4096];
    if (S_ISDIR(st.st_mode)) {
        int64_t step;
        char skipped[2048];
        NNCLR_TRY(checkpoint_open_latest(path, "ckpt", ck, ckpt, size, &step, skipped, sizeof skipped));
        if (!*ck) return nnclr_fail(NNCLR_ERR_ARG, "%s: no checkpoint (ckpt-*.ckpt) in this directory", path);
        if (skipped[0] && note_size)
            snprintf(note, note_size, "skipped %s; using %s (give a checkpoint file instead of the run directory to "
                     "choose one)", skipped, ckpt);
        snprintf(dir, sizeof dir, "%s", path);
    } else {
        snprintf(ckpt, size, "%s", path);
        NNCLR_TRY(checkpoint_read(ck, ckpt));
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = 0;
        else snprintf(dir, sizeof dir, ".");
    }
    nnclr_status s = run_checkpoint_fits(dir, ckpt, *ck);
    if (s) {
        checkpoint_free(*ck);
        *ck = NULL;
    }
    return s;
}

nnclr_status nnclr_model_load(nnclr_model **out, const char *path, int batch, nnclr_train_config *config) {
    if (!out || !path) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_model_load: NULL argument");
    *out = NULL;
    if (batch < 1) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_model_load: batch %d must be >= 1", batch);
    char ckpt[4096], note[3000];
    checkpoint *ck;
    NNCLR_TRY(run_open_checkpoint(path, &ck, ckpt, sizeof ckpt, note, sizeof note));
    if (note[0]) fprintf(stderr, "nnclr: note: %s\n", note);
    const void *text = NULL;
    size_t len = 0;
    int32_t shape[3];
    nnclr_status s = checkpoint_get(ck, "config", &text, &len);
    if (s) s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: no configuration section", ckpt);
    if (!s) s = checkpoint_get_exact(ck, "input_shape", shape, sizeof shape);
    char *copy = s ? NULL : nnclr_malloc(len + 1);
    if (!s && !copy) s = NNCLR_ERR_NOMEM;
    nnclr_train_config rc;
    if (!s) {
        memcpy(copy, text, len);
        copy[len] = 0;
        nnclr_train_config_preset(&rc, "small");
        s = nnclr_train_config_parse(&rc, copy);
    }
    nnclr_model *m = NULL;
    if (!s) {
        augment_config aug;
        memset(&aug, 0, sizeof aug);
        aug.channels = shape[0];
        aug.size = shape[1];
        rc.batch = batch;
        nnclr_config mc;
        make_model_config(&rc, &aug, 1, &mc);
        if (mc.queue_size < batch) mc.queue_size = batch;
        mc.nn_start_steps = mc.nn_ramp_steps = 0; /* eval only: no schedule */
        mc.precision = NNCLR_PRECISION_F32;        /* features in float32, on any CPU */
        s = nnclr_model_create(&m, &mc);
        if (!s) s = model_state_load(m, ck, 1);
    }
    checkpoint_free(ck);
    if (s) {
        nnclr_model_free(m);
        free(copy);
        return s;
    }
    m->config_text = copy;
    if (config) *config = rc;
    *out = m;
    return NNCLR_OK;
}

nnclr_status nnclr_embed(nnclr_model *m, const nnclr_train_config *data, int split, int projections, float **out,
                         int **labels, int *n, int *dim) {
    if (!m || !data || !out || !n || !dim)
        return nnclr_fail(NNCLR_ERR_ARG, "nnclr_embed: NULL argument");
    if (split != 0 && split != 1) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_embed: split must be 0 (train) or 1 (test)");
    *out = NULL;
    if (labels) *labels = NULL;
    dataset d = {0};
    NNCLR_TRY(open_split(data, split ? DATASET_TEST : DATASET_TRAIN, &d));
    augment_config ev;
    nnclr_status s = make_augment(data, &d, 1, &ev);
    const nnclr_config *c = nnclr_model_config(m);
    if (!s && (ev.channels != c->in_channels || ev.size != c->height))
        s = nnclr_fail(NNCLR_ERR_ARG, "the data set gives %dx%dx%d images, the model takes %dx%dx%d", ev.channels,
                       ev.size, ev.size, c->in_channels, c->height, c->width);
    if (!s) s = extract_features(m, &d, &ev, projections, 0, NULL, out, dim);
    if (!s && labels && d.labels) {
        *labels = nnclr_malloc((size_t)d.n * sizeof(int));
        if (!*labels) s = NNCLR_ERR_NOMEM;
        else memcpy(*labels, d.labels, (size_t)d.n * sizeof(int));
    }
    if (!s) *n = d.n;
    if (s) {
        free(*out);
        *out = NULL;
    }
    dataset_free(&d);
    return s;
}

nnclr_status nnclr_embed_images(nnclr_model *m, const nnclr_train_config *run, const uint8_t *hwc, int n, int h, int w,
                                int c, int projections, float *out) {
    if (!m || !run || !hwc || !out) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_embed_images: NULL argument");
    if (n < 1 || h < 1 || w < 1 || (c != 1 && c != 3))
        return nnclr_fail(NNCLR_ERR_ARG, "nnclr_embed_images: %d images of %dx%dx%d (need n >= 1, c = 1 or 3)", n, h,
                          w, c);
    const nnclr_config *mc = nnclr_model_config(m);
    /* The eval transform of the run, at the model's input size. */
    dataset shape = {0};
    shape.c = c;
    shape.h = h;
    shape.w = w;
    nnclr_train_config r = *run;
    r.crop_size = mc->height;
    augment_config ev;
    NNCLR_TRY(make_augment(&r, &shape, 1, &ev));
    ev.channels = mc->in_channels;
    ev.size = mc->height;
    int B = mc->batch, D = projections ? mc->proj_dim : nnclr_model_feature_dim(m);
    size_t img = (size_t)ev.channels * ev.size * ev.size;
    float *x = nnclr_malloc((size_t)B * img * sizeof(float));
    if (!x) return NNCLR_ERR_NOMEM;
    nnclr_status s = NNCLR_OK;
    for (int i0 = 0; i0 < n && !s; i0 += B) {
        int nb = n - i0 < B ? n - i0 : B;
        for (int i = 0; i < nb; i++) {
            dataset_image im = {w, h, c, (uint8_t *)hwc + (size_t)(i0 + i) * h * w * c};
            augment_eval(&ev, x + (size_t)i * img, &im);
        }
        s = projections ? nnclr_model_projections(m, x, nb, out + (size_t)i0 * D)
                        : nnclr_model_features(m, x, nb, out + (size_t)i0 * D);
    }
    free(x);
    return s;
}

nnclr_status nnclr_evaluate_knn(nnclr_model *m, const nnclr_train_config *data, int k, double tau, double *top1,
                                double *top5) {
    if (!m || !data || !top1) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_evaluate_knn: NULL argument");
    if (k < 1 || !(tau > 0)) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_evaluate_knn: k %d must be >= 1 and tau %g > 0", k, tau);
    float *ftr = NULL, *fte = NULL;
    int *ltr = NULL, *lte = NULL, ntr = 0, nte = 0, dim = 0, classes = 0;
    nnclr_status s = nnclr_embed(m, data, 0, 0, &ftr, &ltr, &ntr, &dim);
    if (!s) s = nnclr_embed(m, data, 1, 0, &fte, &lte, &nte, &dim);
    if (!s && (!ltr || !lte)) s = nnclr_fail(NNCLR_ERR_ARG, "kNN evaluation needs a labelled data set");
    for (int i = 0; !s && i < ntr; i++) classes = ltr[i] + 1 > classes ? ltr[i] + 1 : classes;
    for (int i = 0; !s && i < nte; i++) classes = lte[i] + 1 > classes ? lte[i] + 1 : classes;
    if (!s) s = knn_evaluate(ftr, ltr, ntr, fte, lte, nte, dim, classes, k, (float)tau, top1, top5);
    free(ftr);
    free(fte);
    free(ltr);
    free(lte);
    return s;
}
