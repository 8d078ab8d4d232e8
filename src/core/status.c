/* status.c - thread-local error messages and checked allocation. */
#define _POSIX_C_SOURCE 200809L
#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char last_error[512];

const char *nnclr_last_error(void) { return last_error; }

nnclr_status nnclr_fail(nnclr_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

const char *nnclr_status_name(nnclr_status s) {
    switch (s) {
    case NNCLR_OK: return "ok";
    case NNCLR_ERR_ARG: return "invalid argument";
    case NNCLR_ERR_NOMEM: return "out of memory";
    case NNCLR_ERR_IO: return "i/o error";
    case NNCLR_ERR_FORMAT: return "bad file format";
    case NNCLR_ERR_BACKEND: return "backend error";
    case NNCLR_ERR_NUMERIC: return "numerical fault";
    case NNCLR_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

void *nnclr_malloc(size_t bytes) {
    void *p = NULL;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded == 0) rounded = 64;
    if (posix_memalign(&p, 64, rounded) != 0) {
        nnclr_fail(NNCLR_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
        return NULL;
    }
    return p;
}

void *nnclr_calloc(size_t count, size_t size) {
    if (size != 0 && count > (size_t)-1 / size) {
        nnclr_fail(NNCLR_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    void *p = nnclr_malloc(count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

void nnclr_assert_fail(const char *cond, const char *file, int line) {
    fprintf(stderr, "nnclr: internal error: assertion '%s' failed at %s:%d\n", cond, file, line);
    abort();
}
