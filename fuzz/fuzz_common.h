/* fuzz_common.h - what the libFuzzer harnesses in fuzz/ share: a private temporary directory
 * (made once per process) to turn fuzz input into the files a reader opens, and the split of
 * one input into several files.
 *
 * Multi-file inputs (IDX images + labels, CIFAR batches, STL-10 images + labels + class names)
 * are a flags byte followed by chunks, each a little-endian u32 length and that many bytes; a
 * length past the end of the input is clamped (that chunk takes what is left), fewer than 4
 * bytes at the end are one last chunk, and chunks past the harness's maximum are ignored. fuzz/make_corpus.py writes seeds in this form. Header-only: each harness is
 * one translation unit. */
#ifndef NNCLR_FUZZ_COMMON_H
#define NNCLR_FUZZ_COMMON_H

#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_MAX_CHUNKS 8

typedef struct {
    const uint8_t *data;
    size_t size;
} fuzz_chunk;

static char fuzz_dir_name[256];

static void fuzz_dir_remove(void) { rmdir(fuzz_dir_name); }

/* The directory all files of this process go to (under $TMPDIR, else /tmp; removed at exit
 * when empty); aborts when it cannot be made (a harness without one tests nothing). */
static inline const char *fuzz_dir(void) {
    char *dir = fuzz_dir_name;
    if (!dir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(dir, sizeof fuzz_dir_name, "%s/nnclr-fuzz-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            abort();
        }
        atexit(fuzz_dir_remove);
    }
    return dir;
}

/* "<fuzz_dir>/<name>" in one of 8 rotating buffers. */
static inline const char *fuzz_path(const char *name) {
    static char buf[8][512];
    static int slot;
    slot = (slot + 1) % 8;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", fuzz_dir(), name);
    return buf[slot];
}

/* Writes bytes to "<fuzz_dir>/<name>" and returns the path; aborts on a write error (the
 * disk is full: a harness problem, not a finding). */
static inline const char *fuzz_write(const char *name, const uint8_t *data, size_t size) {
    const char *path = fuzz_path(name);
    FILE *fp = fopen(path, "wb");
    if (!fp || (size && fwrite(data, 1, size, fp) != size) || fclose(fp) != 0) {
        perror(path);
        abort();
    }
    return path;
}

static inline void fuzz_remove(const char *name) { unlink(fuzz_path(name)); }

/* Splits data into at most max chunks as described at the top; returns the count. */
static inline int fuzz_split(const uint8_t *data, size_t size, fuzz_chunk *chunks, int max) {
    int n = 0;
    while (size > 0 && n < max) {
        if (size < 4) {
            chunks[n++] = (fuzz_chunk){data, size};
            break;
        }
        size_t len = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 | (size_t)data[3] << 24;
        data += 4;
        size -= 4;
        if (len > size) len = size;
        chunks[n++] = (fuzz_chunk){data, len};
        data += len;
        size -= len;
    }
    return n;
}

#endif
