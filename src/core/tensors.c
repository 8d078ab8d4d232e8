/* tensors.c - flat buffer + named tensor table. See tensors.h. */
#include "core/tensors.h"

#include <stdlib.h>
#include <string.h>
#include "core/status.h"

void tensor_table_init(tensor_table *t) { memset(t, 0, sizeof *t); }

void tensor_table_free(tensor_table *t) {
    free(t->entries);
    free(t->data);
    memset(t, 0, sizeof *t);
}

nnclr_status tensor_table_add(tensor_table *t, const char *name, int ndim, const int *shape,
                              int kind, size_t *offset) {
    if (t->data) return nnclr_fail(NNCLR_ERR_ARG, "tensor '%s' declared after allocation", name);
    if (strlen(name) >= TENSOR_NAME_MAX)
        return nnclr_fail(NNCLR_ERR_ARG, "tensor name too long: '%s'", name);
    if (ndim < 1 || ndim > 4) return nnclr_fail(NNCLR_ERR_ARG, "tensor '%s': ndim %d", name, ndim);
    if (tensor_table_find(t, name)) return nnclr_fail(NNCLR_ERR_ARG, "duplicate tensor '%s'", name);
    if (t->count == t->cap) {
        int cap = t->cap ? 2 * t->cap : 64;
        tensor_entry *e = realloc(t->entries, (size_t)cap * sizeof *e);
        if (!e) return nnclr_fail(NNCLR_ERR_NOMEM, "out of memory growing tensor table");
        t->entries = e;
        t->cap = cap;
    }
    tensor_entry *e = &t->entries[t->count++];
    memset(e, 0, sizeof *e);
    strcpy(e->name, name);
    e->ndim = ndim;
    e->kind = kind;
    size_t size = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] <= 0) return nnclr_fail(NNCLR_ERR_ARG, "tensor '%s': dim %d is %d", name, i, shape[i]);
        e->shape[i] = shape[i];
        size *= (size_t)shape[i];
    }
    e->size = size;
    /* Each tensor starts on a 16-float (64-byte) boundary so kernels can use aligned loads. */
    e->offset = (t->total + 15) & ~(size_t)15;
    t->total = e->offset + size;
    if (offset) *offset = e->offset;
    return NNCLR_OK;
}

nnclr_status tensor_table_alloc(tensor_table *t) {
    if (t->data) return NNCLR_OK;
    t->total = (t->total + 15) & ~(size_t)15;
    t->data = nnclr_calloc(t->total ? t->total : 1, sizeof(float));
    return t->data ? NNCLR_OK : NNCLR_ERR_NOMEM;
}

const tensor_entry *tensor_table_find(const tensor_table *t, const char *name) {
    for (int i = 0; i < t->count; i++)
        if (strcmp(t->entries[i].name, name) == 0) return &t->entries[i];
    return NULL;
}
