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

/* ---- reading */

typedef struct {
    char *name;
    char dtype[8];      /* "F32", "I64", ... as written */
    int ndim;           /* 0..8 */
    int64_t shape[8];
    uint64_t begin, end; /* byte range in the data section */
} safetensors_entry;

typedef struct {
    uint8_t *buf;        /* the whole file */
    size_t size;
    const uint8_t *data; /* data section: buf + 8 + header length */
    size_t data_size;
    safetensors_entry *entries;
    int count;
} safetensors_file;

/* Parses a file already in memory (takes ownership of buf, malloc'd, on success and failure).
 * Checks: header length within the file (and <= 100 MB), well-formed JSON of the layout above,
 * each tensor's dtype known, shape non-negative, byte range inside the data section and equal
 * to the shape's size, names unique. NNCLR_ERR_FORMAT naming the problem. */
nnclr_status safetensors_parse(safetensors_file **out, uint8_t *buf, size_t size, const char *what);
/* Reads and parses a file (at most 16 GiB). */
nnclr_status safetensors_read(safetensors_file **out, const char *path);
const safetensors_entry *safetensors_find(const safetensors_file *f, const char *name);
void safetensors_free(safetensors_file *f);

#endif
