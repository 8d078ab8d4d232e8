/* atomic_file.h - all-or-nothing file output. Every file nnclr writes (checkpoints, .npy
 * features, PNG grids, SVG plots) goes through here, so a crash, a full disk or an error half
 * way never leaves a partly written file under the target name.
 *
 * The data go to "<path>.tmp.<pid>" in the target's directory; atomic_commit() flushes and
 * fsyncs it, renames it over <path> (atomic on POSIX file systems) and fsyncs the directory so
 * the rename itself survives a power cut. Any failure removes the temporary file and returns
 * NNCLR_ERR_IO with "<path>: <strerror>".
 *
 *     atomic_file *af;
 *     NNCLR_TRY(atomic_open(&af, "out.bin"));
 *     nnclr_status s = atomic_write(af, buf, n);
 *     if (s != NNCLR_OK) { atomic_abort(af); return s; }
 *     return atomic_commit(af);            // frees af, success or not
 */
#ifndef NNCLR_IO_ATOMIC_FILE_H
#define NNCLR_IO_ATOMIC_FILE_H

#include <stddef.h>
#include "nnclr.h"

typedef struct atomic_file atomic_file;

/* Creates the temporary file next to `path`. On failure *out is NULL. */
nnclr_status atomic_open(atomic_file **out, const char *path);
/* Appends n bytes (buffered). After a failed write, later writes and commit fail too. */
nnclr_status atomic_write(atomic_file *af, const void *buf, size_t n);
/* Appends printf-formatted text. */
nnclr_status atomic_printf(atomic_file *af, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Flushes, fsyncs, renames over the target, fsyncs the directory. Always frees af; on failure
 * the temporary file is removed and the target is left as it was. */
nnclr_status atomic_commit(atomic_file *af);
/* Discards everything written: removes the temporary file, frees af. NULL is a no-op. */
void atomic_abort(atomic_file *af);
/* The target path given to atomic_open (for messages). */
const char *atomic_path(const atomic_file *af);

/* One shot: open, write n bytes, commit. */
nnclr_status atomic_write_file(const char *path, const void *buf, size_t n);

#endif
