/* safetensors.h - writing the safetensors format (huggingface/safetensors, the file PyTorch and
 * most of its ecosystem exchange weights in): an 8-byte little-endian header length N, N bytes
 * of JSON ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, ..., "__metadata__":
 * {string: string}}), padded with spaces so the data starts 8-byte aligned, then the tensors'
 * bytes back to back (little-endian, row-major), offsets relative to the data start. */
#ifndef NNCLR_IO_SAFETENSORS_H
#define NNCLR_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "nnclr.h"

typedef struct {
    const char *name;
    const char *dtype;  /* "F32" or "I64" */
    int ndim;           /* 0 (a scalar) .. 4 */
    int64_t shape[4];
    const void *data;
    size_t bytes;       /* = product(shape) * dtype size */
} safetensors_tensor;

/* Writes n tensors and the metadata pairs (meta_keys[i] -> meta_values[i], n_meta of them) to
 * path atomically (a complete file or none). Names and metadata must not need JSON escapes
 * beyond what this writer escapes (quote, backslash, control characters). */
nnclr_status safetensors_write(const char *path, const safetensors_tensor *t, int n, const char *const *meta_keys,
                               const char *const *meta_values, int n_meta);

#endif
