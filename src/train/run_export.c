/* run_export.c - a trained model out of nnclr (nnclr_export_safetensors): the weights as a
 * safetensors file whose backbone tensors carry torchvision's state_dict names, so that
 * torchvision.models.resnetNN(...).load_state_dict(..., strict=True) takes them. nnclr names
 * its tensors the PyTorch way already ("backbone.layer1.0.conv1.weight"); the export drops the
 * "backbone." prefix and adds the num_batches_tracked counters PyTorch's batch norm keeps.
 * The metadata says how inputs must be prepared (size, channels, normalisation). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "io/safetensors.h"
#include "model/nnclr_model.h"
#include "train/run_setup.h"

#define PREFIX "backbone."

/* The exported name of a tensor, or NULL when it is not exported. */
static const char *export_name(const char *name, int with_heads) {
    if (!strncmp(name, PREFIX, strlen(PREFIX))) return name + strlen(PREFIX);
    return with_heads ? name : NULL;
}

nnclr_status nnclr_export_safetensors(nnclr_model *m, const nnclr_train_config *run, const char *path, int with_heads) {
    if (!m || !run || !path) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_export_safetensors: NULL argument");
    const tensor_table *tabs[2] = {&m->params, &m->buffers};
    int cap = m->params.count + 2 * m->buffers.count;
    safetensors_tensor *t = nnclr_calloc((size_t)cap, sizeof *t);
    char (*names)[TENSOR_NAME_MAX + 32] = nnclr_calloc((size_t)cap, sizeof *names);
    if (!t || !names) {
        free(t);
        free(names);
        return NNCLR_ERR_NOMEM;
    }
    /* PyTorch's batch norm counts its training forwards; nnclr keeps no such counter (eval
     * mode does not read it), so the exported counters are 0. */
    static const int64_t tracked = 0;
    int n = 0;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < tabs[k]->count; i++) {
            const tensor_entry *e = &tabs[k]->entries[i];
            const char *name = export_name(e->name, with_heads);
            if (!name) continue;
            safetensors_tensor *x = &t[n];
            snprintf(names[n], sizeof names[n], "%s", name);
            x->name = names[n];
            x->dtype = "F32";
            x->ndim = e->ndim;
            for (int d = 0; d < e->ndim; d++) x->shape[d] = e->shape[d];
            x->data = tabs[k]->data + e->offset;
            x->bytes = e->size * sizeof(float);
            n++;
            size_t len = strlen(name), sl = strlen(".running_mean");
            if (k == 1 && len > sl && !strcmp(name + len - sl, ".running_mean")) {
                snprintf(names[n], sizeof names[n], "%.*snum_batches_tracked", (int)(len - sl + 1), name);
                t[n] = (safetensors_tensor){names[n], "I64", 0, {0}, &tracked, sizeof tracked};
                n++;
            }
        }
    /* How to feed the backbone: the run's eval transform. */
    const nnclr_config *c = &m->cfg;
    dataset shape = {0};
    shape.c = c->in_channels;
    shape.h = shape.w = c->height;
    augment_config ev;
    nnclr_train_config r = *run;
    r.crop_size = c->height;
    nnclr_status s = make_augment(&r, &shape, 1, &ev);
    char v_arch[64], v_stem[8], v_ch[16], v_size[16], v_dim[16], v_mean[96], v_std[96];
    snprintf(v_arch, sizeof v_arch, "%s", c->arch);
    snprintf(v_stem, sizeof v_stem, "%s", c->cifar_stem ? "true" : "false");
    snprintf(v_ch, sizeof v_ch, "%d", c->in_channels);
    snprintf(v_size, sizeof v_size, "%d", c->height);
    snprintf(v_dim, sizeof v_dim, "%d", m->feat_dim);
    v_mean[0] = v_std[0] = 0;
    for (int i = 0; i < c->in_channels && !s; i++) {
        size_t lm = strlen(v_mean), ls = strlen(v_std);
        snprintf(v_mean + lm, sizeof v_mean - lm, "%s%.9g", i ? "," : "", ev.mean[i]);
        snprintf(v_std + ls, sizeof v_std - ls, "%s%.9g", i ? "," : "", ev.std[i]);
    }
    const char *keys[] = {"format", "producer", "arch", "cifar_stem", "in_channels", "input_size", "feature_dim",
                          "normalize_mean", "normalize_std", "input", "names"};
    const char *vals[] = {"pt", "nnclr " NNCLR_VERSION_STRING, v_arch, v_stem, v_ch, v_size, v_dim, v_mean, v_std,
                          "NCHW float32 in [0, 1] per pixel, then (x - mean) / std per channel",
                          with_heads ? "torchvision state_dict keys for the backbone; projector.* / predictor.* heads"
                                     : "torchvision state_dict keys (no fc)"};
    if (!s) s = safetensors_write(path, t, n, keys, vals, (int)(sizeof keys / sizeof keys[0]));
    free(t);
    free(names);
    return s;
}
