/* safetensors.c - the safetensors writer. See safetensors.h. */
#define _POSIX_C_SOURCE 200809L
#include "io/safetensors.h"

#include <errno.h>
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

/* ---- reading: a small JSON parser for the header's one layout */

#define HEADER_MAX (100u << 20)
#define JSON_DEPTH 16

typedef struct {
    const char *p, *end;
    const char *what;
} jp;

static void ws(jp *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int eat(jp *j, char c) {
    ws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return 1;
    }
    return 0;
}

/* A JSON string into a malloc'd C string (escapes \" \\ \/ \b \f \n \r \t kept simple;
 * \uXXXX outside ASCII refused); NULL on error. */
static char *str(jp *j) {
    ws(j);
    if (j->p >= j->end || *j->p != '"') return NULL;
    j->p++;
    size_t cap = 32, n = 0;
    char *s = malloc(cap);
    if (!s) return NULL;
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;
        if ((unsigned char)c < 0x20) goto bad;
        if (c == '\\') {
            if (j->p >= j->end) goto bad;
            char e = *j->p++;
            switch (e) {
            case '"': case '\\': case '/': c = e; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u': {
                if (j->end - j->p < 4) goto bad;
                unsigned v = 0;
                for (int i = 0; i < 4; i++) {
                    char h = *j->p++;
                    v = v * 16 + (unsigned)(h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                            : h >= 'A' && h <= 'F' ? h - 'A' + 10 : 99);
                    if (v > 0xffff) goto bad;
                }
                if (v == 0 || v > 0x7f) goto bad;
                c = (char)v;
                break;
            }
            default: goto bad;
            }
        }
        if (n + 2 > cap) {
            char *t = realloc(s, cap *= 2);
            if (!t) goto bad;
            s = t;
        }
        s[n++] = c;
    }
    if (j->p >= j->end) goto bad;
    j->p++;
    s[n] = 0;
    return s;
bad:
    free(s);
    return NULL;
}

/* A non-negative integer below 2^62. */
static int uint(jp *j, uint64_t *v) {
    ws(j);
    if (j->p >= j->end || *j->p < '0' || *j->p > '9') return 0;
    uint64_t x = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        x = x * 10 + (uint64_t)(*j->p++ - '0');
        if (x >= (1ull << 62)) return 0;
    }
    *v = x;
    return 1;
}

/* Skips any JSON value. */
static int skip(jp *j, int depth) {
    if (depth > JSON_DEPTH) return 0;
    ws(j);
    if (j->p >= j->end) return 0;
    char c = *j->p;
    if (c == '"') {
        char *s = str(j);
        free(s);
        return s != NULL;
    }
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->p++;
        if (eat(j, close)) return 1;
        do {
            if (c == '{') {
                char *k = str(j);
                if (!k) return 0;
                free(k);
                if (!eat(j, ':')) return 0;
            }
            if (!skip(j, depth + 1)) return 0;
        } while (eat(j, ','));
        return eat(j, close);
    }
    const char *start = j->p;
    while (j->p < j->end && (strchr("+-.eE", *j->p) || (*j->p >= '0' && *j->p <= '9') || (*j->p >= 'a' && *j->p <= 'z')))
        j->p++;
    return j->p > start;
}

static size_t dtype_size(const char *d) {
    static const struct { const char *name; size_t size; } T[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
        {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1}, {"BOOL", 1}};
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
        if (!strcmp(d, T[i].name)) return T[i].size;
    return 0;
}

/* One tensor's description {"dtype": ..., "shape": [...], "data_offsets": [b, e]}. */
static int entry(jp *j, safetensors_entry *e) {
    if (!eat(j, '{')) return 0;
    int have = 0;
    if (eat(j, '}')) return 0;
    do {
        char *k = str(j);
        if (!k || !eat(j, ':')) {
            free(k);
            return 0;
        }
        int ok = 1;
        if (!strcmp(k, "dtype")) {
            char *d = str(j);
            ok = d && strlen(d) < sizeof e->dtype;
            if (ok) snprintf(e->dtype, sizeof e->dtype, "%s", d);
            free(d);
            have |= 1;
        } else if (!strcmp(k, "shape")) {
            ok = eat(j, '[');
            e->ndim = 0;
            if (ok && !eat(j, ']')) {
                do {
                    uint64_t v;
                    if (e->ndim == 8 || !uint(j, &v)) { ok = 0; break; }
                    e->shape[e->ndim++] = (int64_t)v;
                } while (eat(j, ','));
                ok = ok && eat(j, ']');
            }
            have |= 2;
        } else if (!strcmp(k, "data_offsets")) {
            ok = eat(j, '[') && uint(j, &e->begin) && eat(j, ',') && uint(j, &e->end) && eat(j, ']');
            have |= 4;
        } else {
            ok = skip(j, 1);
        }
        free(k);
        if (!ok) return 0;
    } while (eat(j, ','));
    return eat(j, '}') && have == 7;
}

void safetensors_free(safetensors_file *f) {
    if (!f) return;
    for (int i = 0; i < f->count; i++) free(f->entries[i].name);
    free(f->entries);
    free(f->buf);
    free(f);
}

nnclr_status safetensors_parse(safetensors_file **out, uint8_t *buf, size_t size, const char *what) {
    *out = NULL;
    safetensors_file *f = nnclr_calloc(1, sizeof *f);
    if (!f) {
        free(buf);
        return NNCLR_ERR_NOMEM;
    }
    f->buf = buf;
    f->size = size;
    nnclr_status s = NNCLR_OK;
    uint64_t hl = 0;
    if (size < 8) {
        s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: %zu bytes, shorter than the 8-byte header length", what, size);
        goto done;
    }
    for (int i = 0; i < 8; i++) hl |= (uint64_t)buf[i] << (8 * i);
    if (hl > size - 8 || hl > HEADER_MAX || hl < 2) {
        s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: header length %llu does not fit the file (%zu bytes) or the %u MB limit",
                       what, (unsigned long long)hl, size, HEADER_MAX >> 20);
        goto done;
    }
    f->data = buf + 8 + hl;
    f->data_size = size - 8 - hl;
    jp j = {(const char *)buf + 8, (const char *)buf + 8 + hl, what};
    int cap = 0;
    if (!eat(&j, '{')) goto bad;
    if (!eat(&j, '}')) {
        do {
            char *name = str(&j);
            if (!name || !eat(&j, ':')) {
                free(name);
                goto bad;
            }
            if (!strcmp(name, "__metadata__")) {
                free(name);
                if (!skip(&j, 1)) goto bad;
                continue;
            }
            if (f->count == cap) {
                cap = cap ? 2 * cap : 64;
                safetensors_entry *g = realloc(f->entries, (size_t)cap * sizeof *g);
                if (!g) {
                    free(name);
                    s = NNCLR_ERR_NOMEM;
                    goto done;
                }
                f->entries = g;
            }
            safetensors_entry *e = &f->entries[f->count];
            memset(e, 0, sizeof *e);
            e->name = name;
            f->count++;
            if (!entry(&j, e)) {
                s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: tensor '%s': malformed description", what, name);
                goto done;
            }
            size_t es = dtype_size(e->dtype);
            if (!es) {
                s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: tensor '%s': unknown dtype '%s'", what, name, e->dtype);
                goto done;
            }
            uint64_t count = 1;
            for (int d = 0; d < e->ndim; d++) {
                if (e->shape[d] != 0 && count > (UINT64_MAX >> 4) / (uint64_t)e->shape[d]) {
                    s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: tensor '%s': shape too large", what, name);
                    goto done;
                }
                count *= (uint64_t)e->shape[d];
            }
            if (e->begin > e->end || e->end > f->data_size || e->end - e->begin != count * es) {
                s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] do not hold its %llu "
                               "values in the %zu-byte data section", what, name, (unsigned long long)e->begin,
                               (unsigned long long)e->end, (unsigned long long)count, f->data_size);
                goto done;
            }
            for (int i = 0; i + 1 < f->count; i++)
                if (!strcmp(f->entries[i].name, name)) {
                    s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: tensor '%s' appears twice", what, name);
                    goto done;
                }
        } while (eat(&j, ','));
        if (!eat(&j, '}')) goto bad;
    }
    ws(&j);
    if (j.p != j.end) goto bad;
    goto done;
bad:
    s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: the header is not the safetensors JSON layout (near byte %ld)", what,
                   (long)(j.p - (const char *)buf));
done:
    if (s) {
        safetensors_free(f);
        return s;
    }
    *out = f;
    return NNCLR_OK;
}

nnclr_status safetensors_read(safetensors_file **out, const char *path) {
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return nnclr_fail(NNCLR_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    uint8_t *buf = NULL;
    size_t size = 0;
    nnclr_status s = NNCLR_OK;
    if (fseek(fp, 0, SEEK_END) != 0) s = nnclr_fail(NNCLR_ERR_IO, "%s: not a regular file", path);
    long len = s ? -1 : ftell(fp);
    if (!s && (len < 0 || (unsigned long long)len > (16ull << 30)))
        s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: size unknown or above 16 GiB", path);
    if (!s) {
        size = (size_t)len;
        rewind(fp);
        buf = nnclr_malloc(size ? size : 1);
        if (!buf) s = NNCLR_ERR_NOMEM;
        else if (size && fread(buf, 1, size, fp) != size) s = nnclr_fail(NNCLR_ERR_IO, "%s: read error", path);
    }
    fclose(fp);
    if (s) {
        free(buf);
        return s;
    }
    return safetensors_parse(out, buf, size, path);
}

const safetensors_entry *safetensors_find(const safetensors_file *f, const char *name) {
    for (int i = 0; i < f->count; i++)
        if (!strcmp(f->entries[i].name, name)) return &f->entries[i];
    return NULL;
}
