/* safetensors.c - the safetensors writer. See safetensors.h. */
#define _POSIX_C_SOURCE 200809L
#include "io/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "io/atomic_file.h"

static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

nnclr_status safetensors_write(const char *path, const safetensors_tensor *t, int n, const char *const *meta_keys,
                               const char *const *meta_values, int n_meta) {
    if (!path || (n > 0 && !t)) return nnclr_fail(NNCLR_ERR_ARG, "safetensors_write: NULL argument");
    char *json = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&json, &len);
    if (!f) return nnclr_fail(NNCLR_ERR_NOMEM, "out of memory");
    fputc('{', f);
    if (n_meta > 0) {
        fprintf(f, "\"__metadata__\":{");
        for (int i = 0; i < n_meta; i++) {
            if (i) fputc(',', f);
            json_string(f, meta_keys[i]);
            fputc(':', f);
            json_string(f, meta_values[i]);
        }
        fputc('}', f);
    }
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        if (i || n_meta > 0) fputc(',', f);
        json_string(f, t[i].name);
        fprintf(f, ":{\"dtype\":\"%s\",\"shape\":[", t[i].dtype);
        for (int d = 0; d < t[i].ndim; d++) fprintf(f, "%s%lld", d ? "," : "", (long long)t[i].shape[d]);
        fprintf(f, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                (unsigned long long)(off + t[i].bytes));
        off += t[i].bytes;
    }
    fputc('}', f);
    /* Pad with spaces: the data starts 8-byte aligned (8 + header length). */
    long pos = ftell(f);
    while (pos % 8 != 0) {
        fputc(' ', f);
        pos++;
    }
    if (fclose(f) != 0 || !json) {
        free(json);
        return nnclr_fail(NNCLR_ERR_NOMEM, "out of memory");
    }
    atomic_file *af;
    nnclr_status s = atomic_open(&af, path);
    if (s) {
        free(json);
        return s;
    }
    uint8_t hdr[8];
    uint64_t hl = len;
    for (int i = 0; i < 8; i++) hdr[i] = (uint8_t)(hl >> (8 * i));
    s = atomic_write(af, hdr, 8);
    if (!s) s = atomic_write(af, json, len);
    for (int i = 0; i < n && !s; i++) s = atomic_write(af, t[i].data, t[i].bytes); /* x86-64: little-endian */
    free(json);
    if (s) {
        atomic_abort(af);
        return s;
    }
    return atomic_commit(af);
}
