/* run_import.c - starting a model from a torchvision-named state dict (nnclr_model_init_safetensors,
 * `nnclr train --init FILE`): the inverse of run_export.c. Every backbone tensor of the model
 * must be in the file under its torchvision name with its shape and dtype F32; the file's fc.*
 * (a classifier nnclr's heads replace) and num_batches_tracked counters are ignored; anything
 * else in the file, or missing from it, is an error that names the tensors. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "io/safetensors.h"
#include "model/nnclr_model.h"

#define PREFIX "backbone."
#define LIST_MAX 4

/* Appends name to a "a, b, c (+N more)" list of at most LIST_MAX names. */
static void list_add(char *list, size_t size, int *count, const char *name) {
    if (*count < LIST_MAX) {
        size_t l = strlen(list);
        snprintf(list + l, size - l, "%s%s", *count ? ", " : "", name);
    }
    (*count)++;
}

static void list_end(char *list, size_t size, int count) {
    if (count > LIST_MAX) {
        size_t l = strlen(list);
        snprintf(list + l, size - l, " (+%d more)", count - LIST_MAX);
    }
}

static int ends_with(const char *s, const char *tail) {
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && !strcmp(s + a - b, tail);
}

nnclr_status nnclr_model_init_safetensors(nnclr_model *m, const char *path, int *loaded, int *ignored) {
    if (!m || !path) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_model_init_safetensors: NULL argument");
    safetensors_file *f;
    NNCLR_TRY(safetensors_read(&f, path));
    const tensor_table *tabs[2] = {&m->params, &m->buffers};
    char *used = nnclr_calloc((size_t)f->count + 1, 1);
    if (!used) {
        safetensors_free(f);
        return NNCLR_ERR_NOMEM;
    }
    char missing[512] = "", extra[512] = "";
    int n_missing = 0, n_extra = 0, n_loaded = 0, n_ignored = 0;
    nnclr_status s = NNCLR_OK;
    /* Pass 1: every backbone tensor present, with its shape and dtype. */
    for (int k = 0; k < 2 && !s; k++)
        for (int i = 0; i < tabs[k]->count && !s; i++) {
            const tensor_entry *e = &tabs[k]->entries[i];
            if (strncmp(e->name, PREFIX, strlen(PREFIX)) != 0) continue;
            const char *tv = e->name + strlen(PREFIX);
            const safetensors_entry *t = safetensors_find(f, tv);
            if (!t) {
                list_add(missing, sizeof missing, &n_missing, tv);
                continue;
            }
            used[t - f->entries] = 1;
            int same = t->ndim == e->ndim && !strcmp(t->dtype, "F32");
            for (int d = 0; same && d < e->ndim; d++) same = t->shape[d] == e->shape[d];
            if (!same) {
                char want[64] = "", got[64] = "";
                for (int d = 0; d < e->ndim; d++)
                    snprintf(want + strlen(want), sizeof want - strlen(want), "%s%d", d ? "x" : "", e->shape[d]);
                for (int d = 0; d < t->ndim; d++)
                    snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", d ? "x" : "", (long long)t->shape[d]);
                s = nnclr_fail(NNCLR_ERR_ARG, "%s: '%s' is %s %s, %s needs F32 %s", path, tv, t->dtype,
                               t->ndim ? got : "scalar", m->cfg.arch, want);
            }
        }
    /* Pass 2: what the file has that the model does not take. */
    for (int i = 0; i < f->count && !s; i++) {
        if (used[i]) continue;
        const char *name = f->entries[i].name;
        if (!strncmp(name, "fc.", 3) || ends_with(name, ".num_batches_tracked")) {
            n_ignored += !strncmp(name, "fc.", 3);
            continue;
        }
        list_add(extra, sizeof extra, &n_extra, name);
    }
    if (!s && n_missing) {
        list_end(missing, sizeof missing, n_missing);
        s = nnclr_fail(NNCLR_ERR_ARG, "%s: %d tensors of the %s backbone are missing: %s", path, n_missing,
                       m->cfg.arch, missing);
    } else if (!s && n_extra) {
        list_end(extra, sizeof extra, n_extra);
        s = nnclr_fail(NNCLR_ERR_ARG, "%s: %d tensors have no place in the %s backbone: %s", path, n_extra,
                       m->cfg.arch, extra);
    }
    /* Only now, all checked: copy. */
    for (int k = 0; k < 2 && !s; k++)
        for (int i = 0; i < tabs[k]->count; i++) {
            const tensor_entry *e = &tabs[k]->entries[i];
            if (strncmp(e->name, PREFIX, strlen(PREFIX)) != 0) continue;
            const safetensors_entry *t = safetensors_find(f, e->name + strlen(PREFIX));
            memcpy(tabs[k]->data + e->offset, f->data + t->begin, e->size * sizeof(float));
            n_loaded++;
        }
    if (!s) m->prepared = 0;
    free(used);
    safetensors_free(f);
    if (!s) {
        if (loaded) *loaded = n_loaded;
        if (ignored) *ignored = n_ignored;
    }
    return s;
}
