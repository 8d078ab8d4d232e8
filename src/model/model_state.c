/* model_state.c - model <-> checkpoint sections. See model_state.h. */
#include "model/model_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

/* "<name> <offset> <size>\n" per tensor. */
static nnclr_status add_table(checkpoint *ck, const char *sec, const tensor_table *t, const float *data) {
    size_t cap = 64 + (size_t)t->count * (TENSOR_NAME_MAX + 48), len = 0;
    char *txt = nnclr_malloc(cap);
    if (!txt) return NNCLR_ERR_NOMEM;
    for (int i = 0; i < t->count; i++)
        len += (size_t)snprintf(txt + len, cap - len, "%s %zu %zu\n", t->entries[i].name, t->entries[i].offset,
                                t->entries[i].size);
    char name[64];
    snprintf(name, sizeof name, "%s.names", sec);
    nnclr_status s = checkpoint_add_copy(ck, name, txt, len);
    free(txt);
    if (s) return s;
    return checkpoint_add_copy(ck, sec, data, t->total * sizeof(float));
}

nnclr_status model_state_add(const nnclr_model *m, checkpoint *ck) {
    NNCLR_TRY(add_table(ck, "params", &m->params, m->params.data));
    NNCLR_TRY(add_table(ck, "buffers", &m->buffers, m->buffers.data));
    NNCLR_TRY(checkpoint_add_copy(ck, "opt_state", m->opt.mu, m->params.total * sizeof(float)));
    int q = support_set_size(m->queue), d = support_set_dim(m->queue);
    int64_t meta[4] = {q, d, support_set_write_pos(m->queue), support_set_fill(m->queue)};
    NNCLR_TRY(checkpoint_add_copy(ck, "queue.meta", meta, sizeof meta));
    NNCLR_TRY(checkpoint_add_copy(ck, "queue.entries", support_set_entries(m->queue), (size_t)q * d * sizeof(float)));
    if (support_set_labels(m->queue))
        NNCLR_TRY(checkpoint_add_copy(ck, "queue.labels", support_set_labels(m->queue), (size_t)q * sizeof(int)));
    NNCLR_TRY(checkpoint_add_copy(ck, "rng", &m->rng, sizeof m->rng));
    NNCLR_TRY(checkpoint_add_copy(ck, "step", &m->step, sizeof m->step));
    return NNCLR_OK;
}

nnclr_status model_state_load_table(const checkpoint *ck, const char *sec, const tensor_table *table, float *dst) {
    char name[64];
    snprintf(name, sizeof name, "%s.names", sec);
    const void *names, *data;
    size_t nlen, dlen;
    NNCLR_TRY(checkpoint_get(ck, name, &names, &nlen));
    NNCLR_TRY(checkpoint_get(ck, sec, &data, &dlen));
    char *txt = nnclr_malloc(nlen + 1);
    if (!txt) return NNCLR_ERR_NOMEM;
    memcpy(txt, names, nlen);
    txt[nlen] = 0;
    nnclr_status s = NNCLR_OK;
    for (int i = 0; i < table->count && s == NNCLR_OK; i++) {
        const tensor_entry *e = &table->entries[i];
        size_t elen = strlen(e->name);
        int found = 0;
        for (char *line = txt; line && *line;) {
            char *next = strchr(line, '\n');
            if (next) *next = 0;
            size_t off, size;
            if (strncmp(line, e->name, elen) == 0 && line[elen] == ' ' &&
                sscanf(line + elen + 1, "%zu %zu", &off, &size) == 2) {
                found = 1;
                if (size != e->size)
                    s = nnclr_fail(NNCLR_ERR_FORMAT, "checkpoint tensor %s has %zu values, the model needs %zu",
                                   e->name, size, e->size);
                else if (off > dlen / sizeof(float) || size > dlen / sizeof(float) - off)
                    /* compared without forming (off + size) * 4, which a corrupt offset can wrap */
                    s = nnclr_fail(NNCLR_ERR_FORMAT, "checkpoint tensor %s lies outside its section", e->name);
                else
                    memcpy(dst + e->offset, (const float *)data + off, size * sizeof(float));
            }
            if (next) *next = '\n';
            if (found) break;
            line = next ? next + 1 : NULL;
        }
        if (!found && s == NNCLR_OK)
            s = nnclr_fail(NNCLR_ERR_FORMAT, "checkpoint has no tensor %s (different architecture?)", e->name);
    }
    free(txt);
    return s;
}

nnclr_status model_state_load(nnclr_model *m, const checkpoint *ck, int weights_only) {
    NNCLR_TRY(model_state_load_table(ck, "params", &m->params, m->params.data));
    NNCLR_TRY(model_state_load_table(ck, "buffers", &m->buffers, m->buffers.data));
    m->prepared = 0;
    if (weights_only) return NNCLR_OK;
    NNCLR_TRY(checkpoint_get_exact(ck, "opt_state", m->opt.mu, m->params.total * sizeof(float)));
    int64_t meta[4];
    NNCLR_TRY(checkpoint_get_exact(ck, "queue.meta", meta, sizeof meta));
    int q = support_set_size(m->queue), d = support_set_dim(m->queue);
    if (meta[0] != q || meta[1] != d)
        return nnclr_fail(NNCLR_ERR_FORMAT, "checkpoint support set is %lld x %lld, the model's is %d x %d",
                          (long long)meta[0], (long long)meta[1], q, d);
    const void *entries, *labels = NULL;
    size_t len, llen = 0;
    NNCLR_TRY(checkpoint_get(ck, "queue.entries", &entries, &len));
    if (len != (size_t)q * d * sizeof(float)) return nnclr_fail(NNCLR_ERR_FORMAT, "checkpoint support set has the wrong size");
    if (checkpoint_get(ck, "queue.labels", &labels, &llen) != NNCLR_OK) labels = NULL;
    if (labels && llen != (size_t)q * sizeof(int)) return nnclr_fail(NNCLR_ERR_FORMAT, "checkpoint support-set labels have the wrong size");
    NNCLR_TRY(support_set_restore(m->queue, entries, labels, (int)meta[2], (int)meta[3]));
    NNCLR_TRY(checkpoint_get_exact(ck, "rng", &m->rng, sizeof m->rng));
    NNCLR_TRY(checkpoint_get_exact(ck, "step", &m->step, sizeof m->step));
    return NNCLR_OK;
}
