/* tensors.h - a flat buffer with a table of named tensors (llm.c style).
 *
 * Parameters, gradients and optimizer state of the whole model (backbone + heads) are each one
 * contiguous float buffer; this table says which slice is which tensor. Modules declare their
 * tensors first (tensor_table_add returns the offset), then the buffer is allocated once, and
 * modules resolve pointers as table->data + offset. Gradients and optimizer state reuse the
 * parameter table's offsets, so an all-reduce or a checkpoint is one call on one buffer.
 * A second table of the same kind holds non-trained buffers (BN running statistics). */
#ifndef NNCLR_CORE_TENSORS_H
#define NNCLR_CORE_TENSORS_H

#include <stddef.h>
#include "nnclr.h"

enum {
    TENSOR_WEIGHT = 0,   /* conv / linear weights: weight decay and LARS trust ratio apply */
    TENSOR_NO_DECAY = 1  /* biases and BN gamma/beta: excluded from decay and trust ratio */
};

#define TENSOR_NAME_MAX 80

typedef struct {
    char name[TENSOR_NAME_MAX]; /* e.g. "backbone.layer1.0.conv1.weight" (PyTorch names) */
    size_t offset;              /* in floats, into data */
    size_t size;                /* number of floats */
    int kind;                   /* TENSOR_WEIGHT or TENSOR_NO_DECAY */
    int ndim;
    int shape[4];               /* PyTorch shape, e.g. OIHW for conv weights */
} tensor_entry;

typedef struct {
    tensor_entry *entries;
    int count, cap;
    size_t total;   /* floats in data */
    float *data;    /* NULL until tensor_table_alloc */
} tensor_table;

void tensor_table_init(tensor_table *t);
void tensor_table_free(tensor_table *t);
/* Declares a tensor; *offset receives its offset. Fails after alloc or on a duplicate name. */
nnclr_status tensor_table_add(tensor_table *t, const char *name, int ndim, const int *shape,
                              int kind, size_t *offset);
/* Allocates data (zeroed). */
nnclr_status tensor_table_alloc(tensor_table *t);
/* Entry by exact name, or NULL. */
const tensor_entry *tensor_table_find(const tensor_table *t, const char *name);

#endif
