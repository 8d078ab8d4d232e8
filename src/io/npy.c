/* npy.c - .npy writer (atomic) and reader. See npy.h for the format. */
#define _POSIX_C_SOURCE 200809L
#include "io/npy.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "core/status.h"
#include "io/atomic_file.h"

static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* ---------------------------------------------------------------------------------------- */
/* writing */

static nnclr_status npy_write(const char *path, const char *descr, const void *data,
                              size_t elem_size, size_t n, size_t d, int ndim) {
    if (d != 0 && n > SIZE_MAX / d / elem_size)
        return nnclr_fail(NNCLR_ERR_ARG, "%s: array of %zu x %zu is too large", path, n, d);
    char dict[160];
    int len;
    if (ndim == 1)
        len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%zu,), }",
                       descr, n);
    else
        len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%zu, %zu), }",
                       descr, n, d);
    /* magic(6) + version(2) + header_len(2) + dict + padding + '\n' is a multiple of 64. */
    size_t total = 10 + (size_t)len + 1;
    total = (total + 63) / 64 * 64;
    unsigned char header[256];
    size_t header_len = total - 10;
    memcpy(header, npy_magic, 6);
    header[6] = 1;
    header[7] = 0;
    header[8] = (unsigned char)(header_len & 0xff);
    header[9] = (unsigned char)(header_len >> 8);
    memcpy(header + 10, dict, (size_t)len);
    memset(header + 10 + len, ' ', total - 10 - (size_t)len - 1);
    header[total - 1] = '\n';

    atomic_file *af;
    NNCLR_TRY(atomic_open(&af, path));
    nnclr_status s = atomic_write(af, header, total);
    if (s == NNCLR_OK) s = atomic_write(af, data, n * d * elem_size);
    if (s != NNCLR_OK) {
        atomic_abort(af);
        return s;
    }
    return atomic_commit(af);
}

nnclr_status npy_write_f32(const char *path, const float *x, size_t n, size_t d) {
    return npy_write(path, "<f4", x, sizeof(float), n, d, 2);
}

nnclr_status npy_write_i32(const char *path, const int32_t *x, size_t n) {
    return npy_write(path, "<i4", x, sizeof(int32_t), n, 1, 1);
}

nnclr_status npy_write_i64(const char *path, const int64_t *x, size_t n) {
    return npy_write(path, "<i8", x, sizeof(int64_t), n, 1, 1);
}

/* ---------------------------------------------------------------------------------------- */
/* reading: a small parser for the Python dict literal numpy writes */

static const char *skip_space(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* Finds 'key' followed by ':' and returns the position after the colon, or NULL. */
static const char *find_key(const char *h, const char *end, const char *key) {
    char quoted[32];
    snprintf(quoted, sizeof quoted, "'%s'", key);
    size_t ql = strlen(quoted);
    for (const char *p = h; p + ql <= end; p++) {
        if (memcmp(p, quoted, ql) != 0) continue;
        const char *q = skip_space(p + ql, end);
        if (q < end && *q == ':') return skip_space(q + 1, end);
    }
    return NULL;
}

static nnclr_status parse_header(const char *path, const char *h, size_t len, npy_array *a,
                                 size_t *elem_size) {
    const char *end = h + len;
    const char *p = find_key(h, end, "descr");
    if (!p || end - p < 5 || *p != '\'')
        return nnclr_fail(NNCLR_ERR_FORMAT, "%s: .npy header has no 'descr'", path);
    if (memcmp(p, "'<f4'", 5) == 0) {
        a->dtype = NPY_F32;
        *elem_size = 4;
    } else if (memcmp(p, "'<i4'", 5) == 0) {
        a->dtype = NPY_I32;
        *elem_size = 4;
    } else if (memcmp(p, "'<i8'", 5) == 0) {
        a->dtype = NPY_I64;
        *elem_size = 8;
    } else {
        const char *q = memchr(p + 1, '\'', (size_t)(end - p - 1));
        int n = q ? (int)(q - p - 1) : 0;
        return nnclr_fail(NNCLR_ERR_FORMAT, "%s: unsupported .npy dtype '%.*s' (need <f4, <i4 or <i8)",
                          path, n, p + 1);
    }
    p = find_key(h, end, "fortran_order");
    if (!p) return nnclr_fail(NNCLR_ERR_FORMAT, "%s: .npy header has no 'fortran_order'", path);
    int fortran = end - p >= 4 && memcmp(p, "True", 4) == 0;
    if (!fortran && !(end - p >= 5 && memcmp(p, "False", 5) == 0))
        return nnclr_fail(NNCLR_ERR_FORMAT, "%s: bad 'fortran_order' in .npy header", path);
    p = find_key(h, end, "shape");
    if (!p || *p != '(') return nnclr_fail(NNCLR_ERR_FORMAT, "%s: .npy header has no 'shape'", path);
    p++;
    int ndim = 0;
    size_t dims[3] = {0, 0, 0};
    for (;;) {
        p = skip_space(p, end);
        if (p < end && *p == ')') break;
        if (p >= end || *p < '0' || *p > '9' || ndim == 3)
            return nnclr_fail(NNCLR_ERR_FORMAT, "%s: bad 'shape' in .npy header", path);
        size_t v = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (v > (SIZE_MAX - 9) / 10)
                return nnclr_fail(NNCLR_ERR_FORMAT, "%s: .npy dimension overflows", path);
            v = v * 10 + (size_t)(*p - '0');
            p++;
        }
        dims[ndim++] = v;
        p = skip_space(p, end);
        if (p < end && *p == ',') p++;
    }
    if (ndim < 1 || ndim > 2)
        return nnclr_fail(NNCLR_ERR_FORMAT, "%s: .npy array has %d dimensions (need 1 or 2)", path, ndim);
    if (fortran && ndim == 2 && dims[0] > 1 && dims[1] > 1)
        return nnclr_fail(NNCLR_ERR_FORMAT, "%s: Fortran-ordered .npy arrays are not supported", path);
    a->ndim = ndim;
    a->shape[0] = dims[0];
    a->shape[1] = ndim == 2 ? dims[1] : 1;
    return NNCLR_OK;
}

nnclr_status npy_read(const char *path, npy_array *out) {
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "rb");
    if (!fp) return nnclr_fail(NNCLR_ERR_IO, "%s: %s", path, strerror(errno));
    nnclr_status s = NNCLR_OK;
    char *header = NULL;
    struct stat st;
    unsigned char pre[12];
    if (fstat(fileno(fp), &st) != 0) {
        s = nnclr_fail(NNCLR_ERR_IO, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (fread(pre, 1, 10, fp) != 10 || memcmp(pre, npy_magic, 6) != 0) {
        s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: not a .npy file", path);
        goto done;
    }
    size_t header_len, prefix = 10;
    if (pre[6] == 1) {
        header_len = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, fp) != 2) {
            s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: truncated .npy header", path);
            goto done;
        }
        header_len = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
        prefix = 12;
    } else {
        s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: unsupported .npy version %d.%d", path, pre[6], pre[7]);
        goto done;
    }
    if (header_len > (size_t)1 << 20 || (off_t)(prefix + header_len) > st.st_size) {
        s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: truncated .npy header", path);
        goto done;
    }
    header = nnclr_malloc(header_len + 1);
    if (!header) {
        s = NNCLR_ERR_NOMEM;
        goto done;
    }
    if (fread(header, 1, header_len, fp) != header_len) {
        s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: truncated .npy header", path);
        goto done;
    }
    header[header_len] = 0;
    size_t elem_size;
    npy_array a;
    memset(&a, 0, sizeof a);
    s = parse_header(path, header, header_len, &a, &elem_size);
    if (s != NNCLR_OK) goto done;
    if (a.shape[1] != 0 && a.shape[0] > SIZE_MAX / a.shape[1] / elem_size) {
        s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: .npy shape overflows", path);
        goto done;
    }
    size_t bytes = a.shape[0] * a.shape[1] * elem_size;
    if ((uint64_t)st.st_size - (prefix + header_len) < bytes) {
        s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: truncated .npy data (%zu bytes expected, %llu present)",
                       path, bytes, (unsigned long long)st.st_size - (prefix + header_len));
        goto done;
    }
    a.data = nnclr_malloc(bytes);
    if (!a.data) {
        s = NNCLR_ERR_NOMEM;
        goto done;
    }
    if (fread(a.data, 1, bytes, fp) != bytes) {
        free(a.data);
        s = ferror(fp) ? nnclr_fail(NNCLR_ERR_IO, "%s: read error", path)
                       : nnclr_fail(NNCLR_ERR_FORMAT, "%s: truncated .npy data", path);
        goto done;
    }
    *out = a;
done:
    free(header);
    fclose(fp);
    return s;
}

void npy_array_free(npy_array *a) {
    free(a->data);
    memset(a, 0, sizeof *a);
}

nnclr_status npy_read_f32(const char *path, float **x, size_t *n, size_t *d) {
    *x = NULL;
    npy_array a;
    NNCLR_TRY(npy_read(path, &a));
    if (a.dtype != NPY_F32) {
        npy_array_free(&a);
        return nnclr_fail(NNCLR_ERR_FORMAT, "%s: expected float32 (<f4) data", path);
    }
    *x = a.data;
    *n = a.shape[0];
    *d = a.shape[1];
    return NNCLR_OK;
}

nnclr_status npy_read_labels(const char *path, int **labels, size_t *n) {
    *labels = NULL;
    npy_array a;
    NNCLR_TRY(npy_read(path, &a));
    if (a.ndim != 1 || a.dtype == NPY_F32) {
        npy_array_free(&a);
        return nnclr_fail(NNCLR_ERR_FORMAT, "%s: expected a 1-D int32 or int64 label array", path);
    }
    int *out = nnclr_malloc(a.shape[0] * sizeof(int));
    if (!out) {
        npy_array_free(&a);
        return NNCLR_ERR_NOMEM;
    }
    for (size_t i = 0; i < a.shape[0]; i++) {
        int64_t v = a.dtype == NPY_I32 ? ((const int32_t *)a.data)[i] : ((const int64_t *)a.data)[i];
        if (v < INT_MIN || v > INT_MAX) {
            free(out);
            npy_array_free(&a);
            return nnclr_fail(NNCLR_ERR_FORMAT, "%s: label %lld at index %zu is out of range",
                              path, (long long)v, i);
        }
        out[i] = (int)v;
    }
    *labels = out;
    *n = a.shape[0];
    npy_array_free(&a);
    return NNCLR_OK;
}
