/* jsonl.c - metrics log writer and the small flat-object reader behind `nnclr plot`.
 * See jsonl.h. */
#define _POSIX_C_SOURCE 200809L
#include "io/jsonl.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/status.h"

struct jsonl_log {
    int fd;
    char *path;
    char *line;          /* reused line buffer */
    size_t cap;
};

nnclr_status jsonl_open(jsonl_log **out, const char *path, int truncate) {
    *out = NULL;
    jsonl_log *log = nnclr_calloc(1, sizeof *log);
    if (!log) return NNCLR_ERR_NOMEM;
    size_t len = strlen(path) + 1;
    log->path = nnclr_malloc(len);
    if (!log->path) {
        free(log);
        return NNCLR_ERR_NOMEM;
    }
    memcpy(log->path, path, len);
    int flags = O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0);
    log->fd = open(path, flags, 0666);
    if (log->fd < 0) {
        nnclr_status s = nnclr_fail(NNCLR_ERR_IO, "%s: %s", path, strerror(errno));
        free(log->path);
        free(log);
        return s;
    }
    /* A line cut short by a crash would swallow the next record: end it first. */
    off_t size = lseek(log->fd, 0, SEEK_END);
    char last = '\n';
    if (size > 0 && pread(log->fd, &last, 1, size - 1) == 1 && last != '\n' &&
        write(log->fd, "\n", 1) != 1) {
        nnclr_status s = nnclr_fail(NNCLR_ERR_IO, "%s: %s", path, strerror(errno));
        jsonl_close(log);
        return s;
    }
    *out = log;
    return NNCLR_OK;
}

/* Room for `more` bytes after `used`. */
static nnclr_status line_reserve(jsonl_log *log, size_t used, size_t more) {
    if (used + more <= log->cap) return NNCLR_OK;
    size_t cap = log->cap ? log->cap : 256;
    while (cap < used + more) cap *= 2;
    char *p = nnclr_malloc(cap);
    if (!p) return NNCLR_ERR_NOMEM;
    if (used) memcpy(p, log->line, used);
    free(log->line);
    log->line = p;
    log->cap = cap;
    return NNCLR_OK;
}

/* A JSON string literal with escapes. */
static nnclr_status put_string(jsonl_log *log, size_t *used, const char *s) {
    NNCLR_TRY(line_reserve(log, *used, 6 * strlen(s) + 2));
    char *p = log->line + *used;
    *p++ = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c < 0x20) {
            p += sprintf(p, "\\u%04x", c);
        } else {
            *p++ = (char)c;
        }
    }
    *p++ = '"';
    *used = (size_t)(p - log->line);
    return NNCLR_OK;
}

static nnclr_status put_number(jsonl_log *log, size_t *used, double v) {
    NNCLR_TRY(line_reserve(log, *used, 32));
    int n;
    if (!isfinite(v)) n = snprintf(log->line + *used, 32, "null");
    else if (v == floor(v) && fabs(v) < 9007199254740992.0) n = snprintf(log->line + *used, 32, "%.0f", v);
    else n = snprintf(log->line + *used, 32, "%.6g", v);
    *used += (size_t)n;
    return NNCLR_OK;
}

nnclr_status jsonl_append(jsonl_log *log, const jsonl_field *fields, int n) {
    size_t used = 0;
    NNCLR_TRY(line_reserve(log, 0, 3));
    log->line[used++] = '{';
    for (int i = 0; i < n; i++) {
        if (i) log->line[used++] = ',';
        NNCLR_TRY(put_string(log, &used, fields[i].key));
        NNCLR_TRY(line_reserve(log, used, 1));
        log->line[used++] = ':';
        if (fields[i].str) NNCLR_TRY(put_string(log, &used, fields[i].str));
        else NNCLR_TRY(put_number(log, &used, fields[i].num));
        NNCLR_TRY(line_reserve(log, used, 3));
    }
    log->line[used++] = '}';
    log->line[used++] = '\n';
    const char *p = log->line;
    size_t left = used;
    while (left > 0) {
        ssize_t w = write(log->fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return nnclr_fail(NNCLR_ERR_IO, "%s: %s", log->path, strerror(w < 0 ? errno : EIO));
        p += w;
        left -= (size_t)w;
    }
    return NNCLR_OK;
}

nnclr_status jsonl_sync(jsonl_log *log) {
    if (fsync(log->fd) != 0 && errno != EINVAL)
        return nnclr_fail(NNCLR_ERR_IO, "%s: %s", log->path, strerror(errno));
    return NNCLR_OK;
}

nnclr_status jsonl_close(jsonl_log *log) {
    if (!log) return NNCLR_OK;
    nnclr_status s = NNCLR_OK;
    if (close(log->fd) != 0) s = nnclr_fail(NNCLR_ERR_IO, "%s: %s", log->path, strerror(errno));
    free(log->line);
    free(log->path);
    free(log);
    return s;
}

/* ---------------------------------------------------------------------------------------- */
/* reading: a scanner for one flat JSON object per line */

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    return p;
}

/* A string literal at p: returns the position after it, or NULL. The raw bytes between the
 * quotes are [*start, *start + *len). */
static const char *scan_string(const char *p, const char **start, size_t *len) {
    if (*p != '"') return NULL;
    const char *s = ++p;
    while (*p && *p != '"') {
        if (*p == '\\') {
            p++;
            if (!*p) return NULL;
        }
        p++;
    }
    if (*p != '"') return NULL;
    if (start) *start = s;
    if (len) *len = (size_t)(p - s);
    return p + 1;
}

/* A JSON number (strict grammar) at p: returns the position after it, or NULL. */
static const char *scan_number(const char *p) {
    if (*p == '-') p++;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') while (*p >= '0' && *p <= '9') p++;
    else return NULL;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9')) return NULL;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!(*p >= '0' && *p <= '9')) return NULL;
        while (*p >= '0' && *p <= '9') p++;
    }
    return p;
}

/* Any value at p (nested objects and arrays are skipped by bracket depth). */
static const char *scan_value(const char *p) {
    if (*p == '"') return scan_string(p, NULL, NULL);
    if (*p == '-' || (*p >= '0' && *p <= '9')) return scan_number(p);
    if (strncmp(p, "null", 4) == 0) return p + 4;
    if (strncmp(p, "true", 4) == 0) return p + 4;
    if (strncmp(p, "false", 5) == 0) return p + 5;
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (*p) {
            if (*p == '"') {
                p = scan_string(p, NULL, NULL);
                if (!p) return NULL;
                continue;
            }
            if (*p == '{' || *p == '[') depth++;
            if (*p == '}' || *p == ']') depth--;
            p++;
            if (depth == 0) return p;
        }
    }
    return NULL;
}

int jsonl_get_number(const char *line, const char *key, double *out) {
    const char *p = skip_ws(line);
    if (*p++ != '{') return 0;
    size_t key_len = strlen(key);
    int found = 0;
    double value = 0;
    p = skip_ws(p);
    if (*p == '}') return 0;
    for (;;) {
        const char *k;
        size_t kl;
        p = scan_string(p, &k, &kl);
        if (!p) return 0;
        p = skip_ws(p);
        if (*p++ != ':') return 0;
        p = skip_ws(p);
        const char *v = p;
        p = scan_value(p);
        if (!p) return 0;
        if (kl == key_len && memcmp(k, key, kl) == 0) {
            if (*v == 'n') {
                found = 1;
                value = NAN;
            } else if (*v == '-' || (*v >= '0' && *v <= '9')) {
                found = 1;
                value = strtod(v, NULL);
            } else {
                found = 0;
            }
        }
        p = skip_ws(p);
        if (*p == ',') {
            p = skip_ws(p + 1);
            continue;
        }
        if (*p != '}') return 0;
        break;
    }
    if (*skip_ws(p + 1) != 0) return 0;
    if (found) *out = value;
    return found;
}

nnclr_status jsonl_read_series(const char *path, const char *key_x, const char *key_y,
                               double **x, double **y, int *n) {
    *x = NULL;
    *y = NULL;
    *n = 0;
    FILE *fp = fopen(path, "r");
    if (!fp) return nnclr_fail(NNCLR_ERR_IO, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t line_cap = 0;
    double *xs = NULL, *ys = NULL;
    int count = 0, cap = 0;
    nnclr_status s = NNCLR_OK;
    while (getline(&line, &line_cap, fp) >= 0) {
        double vx, vy;
        if (!jsonl_get_number(line, key_x, &vx) || !jsonl_get_number(line, key_y, &vy)) continue;
        if (count == cap) {
            int nc = cap ? 2 * cap : 256;
            double *gx = nnclr_malloc((size_t)nc * sizeof *gx);
            double *gy = nnclr_malloc((size_t)nc * sizeof *gy);
            if (!gx || !gy) {
                free(gx);
                free(gy);
                s = NNCLR_ERR_NOMEM;
                break;
            }
            if (count) {
                memcpy(gx, xs, (size_t)count * sizeof *gx);
                memcpy(gy, ys, (size_t)count * sizeof *gy);
            }
            free(xs);
            free(ys);
            xs = gx;
            ys = gy;
            cap = nc;
        }
        xs[count] = vx;
        ys[count] = vy;
        count++;
    }
    if (s == NNCLR_OK && ferror(fp)) s = nnclr_fail(NNCLR_ERR_IO, "%s: read error", path);
    free(line);
    fclose(fp);
    if (s != NNCLR_OK) {
        free(xs);
        free(ys);
        return s;
    }
    *x = xs;
    *y = ys;
    *n = count;
    return NNCLR_OK;
}
