/* status.h - error reporting shared by every part of the library.
 *
 * Library calls never exit(): they return an nnclr_status and leave a one-line message in a
 * thread-local buffer (nnclr_last_error()). NNCLR_ASSERT is for programmer bugs only. */
#ifndef NNCLR_CORE_STATUS_H
#define NNCLR_CORE_STATUS_H

#include <stddef.h>
#include "nnclr.h"

/* Sets the thread-local message (printf-style) and returns `code`, so callers can write
 * `return nnclr_fail(NNCLR_ERR_ARG, "batch must be > 0, got %d", n);` */
nnclr_status nnclr_fail(nnclr_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Checked allocations: on failure they set the message and return NULL. Memory is 64-byte
 * aligned (AVX and oneDNN friendly) and, for nnclr_calloc, zeroed. Free with free(). */
void *nnclr_malloc(size_t bytes);
void *nnclr_calloc(size_t count, size_t size);

#define NNCLR_TRY(expr)                      \
    do {                                     \
        nnclr_status s_ = (expr);            \
        if (s_ != NNCLR_OK) return s_;       \
    } while (0)

#define NNCLR_ASSERT(cond)                                                              \
    do {                                                                                \
        if (!(cond)) nnclr_assert_fail(#cond, __FILE__, __LINE__);                      \
    } while (0)
void nnclr_assert_fail(const char *cond, const char *file, int line) __attribute__((noreturn));

#endif
