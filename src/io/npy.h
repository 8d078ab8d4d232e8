/* npy.h - NumPy .npy files: how nnclr hands features and labels to Python (`nnclr extract`
 * writes (N, D) float32 features and (N) labels; np.load reads them) and reads them back
 * (tests, `--init` features).
 *
 * Written files are format version 1.0: "\x93NUMPY", 1, 0, u16 header length, then the header
 * "{'descr': '<f4', 'fortran_order': False, 'shape': (N, D), }" padded with spaces and a final
 * '\n' so that the data start at a multiple of 64 bytes, then the data in C order,
 * little-endian (the host order on every platform nnclr builds for). Writes are atomic.
 * The reader accepts versions 1.0, 2.0 and 3.0 with dtypes <f4, <i4, <i8 and 1 or 2 dims. */
#ifndef NNCLR_IO_NPY_H
#define NNCLR_IO_NPY_H

#include <stddef.h>
#include <stdint.h>
#include "nnclr.h"

typedef enum { NPY_F32, NPY_I32, NPY_I64 } npy_dtype;

typedef struct {
    npy_dtype dtype;
    int ndim;            /* 1 or 2 */
    size_t shape[2];     /* shape[1] is 1 when ndim == 1 */
    void *data;          /* (shape[0], shape[1]) C order; free with npy_array_free */
} npy_array;

/* x: (n, d) row-major; the file's shape is (n, d). */
nnclr_status npy_write_f32(const char *path, const float *x, size_t n, size_t d);
/* x: (n); the file's shape is (n,). */
nnclr_status npy_write_i32(const char *path, const int32_t *x, size_t n);
nnclr_status npy_write_i64(const char *path, const int64_t *x, size_t n);

/* Reads any supported file. On failure *out is zeroed. NNCLR_ERR_IO when the file cannot be
 * read, NNCLR_ERR_FORMAT when it is not a supported .npy or is truncated. */
nnclr_status npy_read(const char *path, npy_array *out);
void npy_array_free(npy_array *a);

/* A float32 file of shape (n, d), or (n,) read as d = 1. *x is freed with free(). */
nnclr_status npy_read_f32(const char *path, float **x, size_t *n, size_t *d);
/* A 1-D int32 or int64 file as int (values outside int's range are an error). */
nnclr_status npy_read_labels(const char *path, int **labels, size_t *n);

#endif
