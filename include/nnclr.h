/* nnclr.h - NNCLR (Nearest-Neighbor Contrastive Learning of visual representations) in C.
 *
 * The one public header. Every call returns an nnclr_status; on failure nnclr_last_error()
 * gives a one-line message (thread-local). The library never exits the process.
 *
 *     nnclr_status s = ...;
 *     if (s != NNCLR_OK) fprintf(stderr, "nnclr: %s\n", nnclr_last_error());
 */
#ifndef NNCLR_H
#define NNCLR_H

#ifdef __cplusplus
extern "C" {
#endif

#define NNCLR_VERSION_STRING "0.1.0"

typedef enum {
    NNCLR_OK = 0,
    NNCLR_ERR_ARG,         /* a caller-supplied value or shape is unsupported */
    NNCLR_ERR_NOMEM,       /* an allocation failed */
    NNCLR_ERR_IO,          /* a file could not be read or written */
    NNCLR_ERR_FORMAT,      /* a file's contents are malformed (magic, size, checksum) */
    NNCLR_ERR_BACKEND,     /* oneDNN or BLAS refused an operation */
    NNCLR_ERR_NUMERIC,     /* NaN or Inf appeared (loss, gradients) */
    NNCLR_ERR_INTERRUPTED  /* stopped by a signal; state was saved */
} nnclr_status;

const char *nnclr_last_error(void);
const char *nnclr_status_name(nnclr_status s);

#ifdef __cplusplus
}
#endif
#endif
