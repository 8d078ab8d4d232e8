/* checkpoint.h - the checkpoint container: named byte sections in one versioned, checksummed
 * file. The trainer decides what goes in (parameters, BN buffers, optimizer state, support
 * set, RNG state, config text, step); this file only stores, validates and finds sections.
 *
 * File layout (all integers little-endian):
 *     "NNCLRCK1"                  8 bytes
 *     u32 version                 CHECKPOINT_VERSION
 *     u32 section count
 *     per section:
 *         u32 name length, name bytes (no terminator, 1..255 bytes, unique)
 *         u64 data length
 *         zero padding up to the next multiple of 64 bytes from the start of the file
 *         data
 *     u32 CRC-32 (zlib) of every byte before it
 * The padding makes every section's data 64-byte aligned once the file is read into a 64-byte
 * aligned buffer, so checkpoint_get() pointers can be used directly as float arrays.
 *
 * Writing goes through atomic_file: a checkpoint on disk is either complete or absent.
 * Reading validates magic, version, checksum and every section's bounds before anything is
 * returned; any mismatch is NNCLR_ERR_FORMAT "<path>: <what>". */
#ifndef NNCLR_IO_CHECKPOINT_H
#define NNCLR_IO_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>
#include "nnclr.h"

#define CHECKPOINT_MAGIC "NNCLRCK1"
#define CHECKPOINT_VERSION 1u
#define CHECKPOINT_NAME_MAX 255

typedef struct checkpoint checkpoint;

/* An empty checkpoint to add sections to. */
nnclr_status checkpoint_create(checkpoint **out);
/* Adds a section that REFERENCES data: it must stay valid and unchanged until
 * checkpoint_write(). Use it for the big buffers (parameters, optimizer state). */
nnclr_status checkpoint_add(checkpoint *ck, const char *name, const void *data, size_t len);
/* Adds a section holding a copy of data (small things: config text, RNG state, step). */
nnclr_status checkpoint_add_copy(checkpoint *ck, const char *name, const void *data, size_t len);
/* Writes all sections to path atomically. */
nnclr_status checkpoint_write(const checkpoint *ck, const char *path);

/* Reads and validates a whole file. On failure *out is NULL. */
nnclr_status checkpoint_read(checkpoint **out, const char *path);
/* A section's data (64-byte aligned in a checkpoint that was read) and length.
 * NNCLR_ERR_FORMAT "checkpoint <path> has no section '<name>'" when absent. */
nnclr_status checkpoint_get(const checkpoint *ck, const char *name, const void **data, size_t *len);
/* Like checkpoint_get, but the section must be exactly len bytes: copies it into dst. */
nnclr_status checkpoint_get_exact(const checkpoint *ck, const char *name, void *dst, size_t len);
/* Section count and names, in file order (for `nnclr inspect`). */
int checkpoint_count(const checkpoint *ck);
const char *checkpoint_name_at(const checkpoint *ck, int i, size_t *len);
void checkpoint_free(checkpoint *ck);

/* "<dir>/<prefix>-<step>.ckpt" into buf; NNCLR_ERR_ARG when it does not fit. */
nnclr_status checkpoint_path(char *buf, size_t size, const char *dir, const char *prefix, int64_t step);
/* The file "<prefix>-<step>.ckpt" in dir with the largest step: its path goes into buf and
 * the step into *step. *step = -1 and buf = "" when there is none (still NNCLR_OK). */
nnclr_status checkpoint_find_latest(const char *dir, const char *prefix, char *buf, size_t size,
                                    int64_t *step);
/* The newest "<prefix>-<step>.ckpt" in dir that reads and verifies (checksums, structure): *ck
 * (checkpoint_free it), its path in buf, its step in *step. Newer ones that do not verify are
 * skipped and listed in skipped as "name (reason); ..." (empty when none was). *ck = NULL and
 * *step = -1 when dir holds no checkpoint (NNCLR_OK); an error when none of them verifies. */
nnclr_status checkpoint_open_latest(const char *dir, const char *prefix, checkpoint **ck, char *buf, size_t size,
                                    int64_t *step, char *skipped, size_t skipped_size);
/* Deletes all "<prefix>-<step>.ckpt" files in dir except the keep_last (>= 1) with the largest
 * steps. Other files are never touched. */
nnclr_status checkpoint_prune(const char *dir, const char *prefix, int keep_last);

#endif
