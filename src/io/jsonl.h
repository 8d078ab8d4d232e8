/* jsonl.h - the metrics log: one JSON object per line, appended as training runs
 * ({"step":100,"epoch":1,"loss":4.12,"lr":0.3}) and read back by `nnclr plot`.
 *
 * Numbers are written with %.6g, except integral values below 2^53 in magnitude, which are
 * written in full (so step 1234567 stays exact); NaN and infinities are written as null (JSON
 * has no NaN). Each record is one write() of a whole line to a file opened with O_APPEND, so a
 * crash leaves at most one incomplete last line, which the reader skips. This log is the one
 * output that is appended to rather than replaced, so it does not go through atomic_file. */
#ifndef NNCLR_IO_JSONL_H
#define NNCLR_IO_JSONL_H

#include <stddef.h>
#include "nnclr.h"

typedef struct {
    const char *key;
    double num;                /* used when str is NULL */
    const char *str;           /* a string value, or NULL for a number */
} jsonl_field;

typedef struct jsonl_log jsonl_log;

/* Opens (creating it if needed) path for appending; truncate = 1 empties it first. */
nnclr_status jsonl_open(jsonl_log **out, const char *path, int truncate);
/* Appends {"key":value,...} and a newline. */
nnclr_status jsonl_append(jsonl_log *log, const jsonl_field *fields, int n);
/* fsync (call at checkpoints, so the log is on disk when a checkpoint is). */
nnclr_status jsonl_sync(jsonl_log *log);
/* Closes; reports a late write error. NULL is a no-op. */
nnclr_status jsonl_close(jsonl_log *log);

/* The value of a top-level key in one line of JSON. Returns 1 and sets *out when the key holds
 * a number, 1 with *out = NaN when it holds null, 0 when the key is absent, holds something
 * else, or the line is not a well-formed flat object. */
int jsonl_get_number(const char *line, const char *key, double *out);

/* Reads the (x, y) pairs of every line that has both keys (lines without them, and malformed
 * lines, are skipped; a null y becomes NaN). *x and *y are freed with free(); *n may be 0. */
nnclr_status jsonl_read_series(const char *path, const char *key_x, const char *key_y,
                               double **x, double **y, int *n);

#endif
