/* checkpoint.c - writing, validating and pruning checkpoint files. See checkpoint.h for the
 * layout. */
#define _POSIX_C_SOURCE 200809L
#include "io/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "core/status.h"
#include "io/atomic_file.h"

#define CK_ALIGN 64
#define CK_HEADER_BYTES 16   /* magic + version + count */

typedef struct {
    char name[CHECKPOINT_NAME_MAX + 1];
    size_t name_len;
    const void *data;
    size_t len;
    void *owned;             /* checkpoint_add_copy's copy, or NULL */
} ck_section;

struct checkpoint {
    char *path;              /* the file it was read from, or NULL */
    uint8_t *file;           /* the whole file when read (sections point into it) */
    ck_section *sections;
    int n, cap;
};

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static size_t pad_to_align(size_t pos) { return (CK_ALIGN - pos % CK_ALIGN) % CK_ALIGN; }

nnclr_status checkpoint_create(checkpoint **out) {
    *out = nnclr_calloc(1, sizeof **out);
    return *out ? NNCLR_OK : NNCLR_ERR_NOMEM;
}

void checkpoint_free(checkpoint *ck) {
    if (!ck) return;
    for (int i = 0; i < ck->n; i++) free(ck->sections[i].owned);
    free(ck->sections);
    free(ck->file);
    free(ck->path);
    free(ck);
}

static int find_section(const checkpoint *ck, const char *name, size_t name_len) {
    for (int i = 0; i < ck->n; i++)
        if (ck->sections[i].name_len == name_len && memcmp(ck->sections[i].name, name, name_len) == 0)
            return i;
    return -1;
}

/* Appends a section entry; the name is checked for length and uniqueness. */
static nnclr_status push_section(checkpoint *ck, const char *name, size_t name_len, const void *data,
                                 size_t len) {
    if (name_len == 0 || name_len > CHECKPOINT_NAME_MAX)
        return nnclr_fail(NNCLR_ERR_ARG, "checkpoint section name must be 1..%d bytes, got %zu",
                          CHECKPOINT_NAME_MAX, name_len);
    if (find_section(ck, name, name_len) >= 0)
        return nnclr_fail(NNCLR_ERR_ARG, "checkpoint section '%.*s' added twice", (int)name_len, name);
    if (ck->n == ck->cap) {
        int cap = ck->cap ? 2 * ck->cap : 16;
        ck_section *s = nnclr_malloc((size_t)cap * sizeof *s);
        if (!s) return NNCLR_ERR_NOMEM;
        if (ck->n) memcpy(s, ck->sections, (size_t)ck->n * sizeof *s);
        free(ck->sections);
        ck->sections = s;
        ck->cap = cap;
    }
    ck_section *s = &ck->sections[ck->n++];
    memcpy(s->name, name, name_len);
    s->name[name_len] = 0;
    s->name_len = name_len;
    s->data = data;
    s->len = len;
    s->owned = NULL;
    return NNCLR_OK;
}

nnclr_status checkpoint_add(checkpoint *ck, const char *name, const void *data, size_t len) {
    if (len > 0 && !data)
        return nnclr_fail(NNCLR_ERR_ARG, "checkpoint section '%s': NULL data of %zu bytes", name, len);
    return push_section(ck, name, strlen(name), data, len);
}

nnclr_status checkpoint_add_copy(checkpoint *ck, const char *name, const void *data, size_t len) {
    if (len > 0 && !data)
        return nnclr_fail(NNCLR_ERR_ARG, "checkpoint section '%s': NULL data of %zu bytes", name, len);
    void *copy = nnclr_malloc(len);
    if (!copy) return NNCLR_ERR_NOMEM;
    if (len) memcpy(copy, data, len);
    nnclr_status s = push_section(ck, name, strlen(name), copy, len);
    if (s != NNCLR_OK) {
        free(copy);
        return s;
    }
    ck->sections[ck->n - 1].owned = copy;
    return NNCLR_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* writing */

typedef struct {
    atomic_file *af;
    uLong crc;
    size_t pos;
} ck_writer;

static nnclr_status ck_put(ck_writer *w, const void *buf, size_t n) {
    if (n == 0) return NNCLR_OK;
    w->crc = crc32_z(w->crc, buf, n);
    w->pos += n;
    return atomic_write(w->af, buf, n);
}

static nnclr_status ck_write_body(ck_writer *w, const checkpoint *ck) {
    uint8_t head[CK_HEADER_BYTES];
    memcpy(head, CHECKPOINT_MAGIC, 8);
    put_u32(head + 8, CHECKPOINT_VERSION);
    put_u32(head + 12, (uint32_t)ck->n);
    NNCLR_TRY(ck_put(w, head, sizeof head));
    static const uint8_t zeros[CK_ALIGN];
    for (int i = 0; i < ck->n; i++) {
        const ck_section *s = &ck->sections[i];
        uint8_t b[8];
        put_u32(b, (uint32_t)s->name_len);
        NNCLR_TRY(ck_put(w, b, 4));
        NNCLR_TRY(ck_put(w, s->name, s->name_len));
        put_u64(b, (uint64_t)s->len);
        NNCLR_TRY(ck_put(w, b, 8));
        NNCLR_TRY(ck_put(w, zeros, pad_to_align(w->pos)));
        NNCLR_TRY(ck_put(w, s->data, s->len));
    }
    uint8_t crc[4];
    put_u32(crc, (uint32_t)w->crc);
    return atomic_write(w->af, crc, 4);
}

nnclr_status checkpoint_write(const checkpoint *ck, const char *path) {
    ck_writer w = {NULL, crc32_z(0, Z_NULL, 0), 0};
    NNCLR_TRY(atomic_open(&w.af, path));
    nnclr_status s = ck_write_body(&w, ck);
    if (s != NNCLR_OK) {
        atomic_abort(w.af);
        return s;
    }
    return atomic_commit(w.af);
}

/* ---------------------------------------------------------------------------------------- */
/* reading */

static nnclr_status read_whole_file(const char *path, uint8_t **out, size_t *size) {
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return nnclr_fail(NNCLR_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) != 0) {
        int err = errno;
        fclose(fp);
        return nnclr_fail(NNCLR_ERR_IO, "%s: %s", path, strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        fclose(fp);
        return nnclr_fail(NNCLR_ERR_IO, "%s: not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = nnclr_malloc(n);
    if (!buf) {
        fclose(fp);
        return NNCLR_ERR_NOMEM;
    }
    size_t got = fread(buf, 1, n, fp);
    int bad = ferror(fp);
    fclose(fp);
    if (bad || got != n) {
        free(buf);
        return nnclr_fail(NNCLR_ERR_IO, "%s: read error", path);
    }
    *out = buf;
    *size = n;
    return NNCLR_OK;
}

/* Checks the whole file and builds the section table. Every length is compared against the
 * bytes that remain, so no corrupt value can make a read go past the buffer. */
static nnclr_status ck_parse(checkpoint *ck, const char *path, size_t size) {
    const uint8_t *f = ck->file;
    if (size < CK_HEADER_BYTES + 4 || memcmp(f, CHECKPOINT_MAGIC, 8) != 0) {
        if (size >= 8 && memcmp(f, CHECKPOINT_MAGIC, 8) == 0)
            return nnclr_fail(NNCLR_ERR_FORMAT, "%s: truncated checkpoint (%zu bytes)", path, size);
        return nnclr_fail(NNCLR_ERR_FORMAT, "%s: not an nnclr checkpoint (bad magic)", path);
    }
    uint32_t version = get_u32(f + 8);
    if (version != CHECKPOINT_VERSION)
        return nnclr_fail(NNCLR_ERR_FORMAT, "%s: checkpoint version %u is not supported (expected %u)",
                          path, version, CHECKPOINT_VERSION);
    size_t end = size - 4;
    uint32_t stored = get_u32(f + end);
    uint32_t actual = (uint32_t)crc32_z(crc32_z(0, Z_NULL, 0), f, end);
    if (stored != actual)
        return nnclr_fail(NNCLR_ERR_FORMAT, "%s: checksum mismatch (file is corrupt or truncated)", path);
    uint32_t count = get_u32(f + 12);
    if (count > (end - CK_HEADER_BYTES) / 12)
        return nnclr_fail(NNCLR_ERR_FORMAT, "%s: section count %u does not fit the file", path, count);
    size_t pos = CK_HEADER_BYTES;
    for (uint32_t i = 0; i < count; i++) {
        if (end - pos < 4) goto overrun;
        size_t name_len = get_u32(f + pos);
        pos += 4;
        if (name_len == 0 || name_len > CHECKPOINT_NAME_MAX)
            return nnclr_fail(NNCLR_ERR_FORMAT, "%s: section %u has a bad name length %zu", path, i, name_len);
        if (end - pos < name_len + 8) goto overrun;
        const char *name = (const char *)f + pos;
        if (memchr(name, 0, name_len))
            return nnclr_fail(NNCLR_ERR_FORMAT, "%s: section %u has a NUL in its name", path, i);
        pos += name_len;
        uint64_t len = get_u64(f + pos);
        pos += 8;
        size_t pad = pad_to_align(pos);
        if (end - pos < pad) goto overrun;
        pos += pad;
        if ((uint64_t)(end - pos) < len) goto overrun;
        nnclr_status s = push_section(ck, name, name_len, f + pos, (size_t)len);
        if (s == NNCLR_ERR_ARG)
            return nnclr_fail(NNCLR_ERR_FORMAT, "%s: section '%.*s' appears twice", path, (int)name_len, name);
        NNCLR_TRY(s);
        pos += (size_t)len;
    }
    if (pos != end)
        return nnclr_fail(NNCLR_ERR_FORMAT, "%s: %zu unexpected bytes after the last section", path,
                          end - pos);
    return NNCLR_OK;
overrun:
    return nnclr_fail(NNCLR_ERR_FORMAT, "%s: a section runs past the end of the file", path);
}

nnclr_status checkpoint_read(checkpoint **out, const char *path) {
    *out = NULL;
    checkpoint *ck;
    NNCLR_TRY(checkpoint_create(&ck));
    size_t len = strlen(path) + 1;
    ck->path = nnclr_malloc(len);
    if (!ck->path) {
        checkpoint_free(ck);
        return NNCLR_ERR_NOMEM;
    }
    memcpy(ck->path, path, len);
    size_t size = 0;
    nnclr_status s = read_whole_file(path, &ck->file, &size);
    if (s == NNCLR_OK) s = ck_parse(ck, path, size);
    if (s != NNCLR_OK) {
        checkpoint_free(ck);
        return s;
    }
    *out = ck;
    return NNCLR_OK;
}

nnclr_status checkpoint_get(const checkpoint *ck, const char *name, const void **data, size_t *len) {
    int i = find_section(ck, name, strlen(name));
    if (i < 0) {
        *data = NULL;
        *len = 0;
        return nnclr_fail(NNCLR_ERR_FORMAT, "checkpoint %s has no section '%s'",
                          ck->path ? ck->path : "(in memory)", name);
    }
    *data = ck->sections[i].data;
    *len = ck->sections[i].len;
    return NNCLR_OK;
}

nnclr_status checkpoint_get_exact(const checkpoint *ck, const char *name, void *dst, size_t len) {
    const void *data;
    size_t have;
    NNCLR_TRY(checkpoint_get(ck, name, &data, &have));
    if (have != len)
        return nnclr_fail(NNCLR_ERR_FORMAT, "checkpoint %s: section '%s' has %zu bytes, expected %zu",
                          ck->path ? ck->path : "(in memory)", name, have, len);
    if (len) memcpy(dst, data, len);
    return NNCLR_OK;
}

int checkpoint_count(const checkpoint *ck) { return ck->n; }

const char *checkpoint_name_at(const checkpoint *ck, int i, size_t *len) {
    if (i < 0 || i >= ck->n) return NULL;
    if (len) *len = ck->sections[i].len;
    return ck->sections[i].name;
}

/* ---------------------------------------------------------------------------------------- */
/* files in a run directory */

nnclr_status checkpoint_path(char *buf, size_t size, const char *dir, const char *prefix, int64_t step) {
    int n = dir && *dir ? snprintf(buf, size, "%s/%s-%lld.ckpt", dir, prefix, (long long)step)
                        : snprintf(buf, size, "%s-%lld.ckpt", prefix, (long long)step);
    if (n < 0 || (size_t)n >= size)
        return nnclr_fail(NNCLR_ERR_ARG, "checkpoint path for '%s' in '%s' is too long", prefix,
                          dir ? dir : "");
    return NNCLR_OK;
}

/* The step of "<prefix>-<digits>.ckpt", or -1 when name is not such a file. */
static int64_t parse_step(const char *name, const char *prefix) {
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0 || name[pl] != '-') return -1;
    const char *p = name + pl + 1;
    int64_t step = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
        if (++digits > 18) return -1;
        step = step * 10 + (*p - '0');
        p++;
    }
    return digits > 0 && strcmp(p, ".ckpt") == 0 ? step : -1;
}

typedef struct {
    int64_t step;
    char *name;
} ck_file;

static int ck_file_cmp_desc(const void *a, const void *b) {
    int64_t x = ((const ck_file *)a)->step, y = ((const ck_file *)b)->step;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void ck_files_free(ck_file *files, int n) {
    for (int i = 0; i < n; i++) free(files[i].name);
    free(files);
}

/* All matching files in dir, largest step first. */
static nnclr_status list_checkpoints(const char *dir, const char *prefix, ck_file **out, int *count) {
    *out = NULL;
    *count = 0;
    const char *d = dir && *dir ? dir : ".";
    DIR *dp = opendir(d);
    if (!dp) return nnclr_fail(NNCLR_ERR_IO, "%s: %s", d, strerror(errno));
    ck_file *files = NULL;
    int n = 0, cap = 0;
    nnclr_status s = NNCLR_OK;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        int64_t step = parse_step(e->d_name, prefix);
        if (step < 0) continue;
        if (n == cap) {
            int nc = cap ? 2 * cap : 16;
            ck_file *g = nnclr_malloc((size_t)nc * sizeof *g);
            if (!g) {
                s = NNCLR_ERR_NOMEM;
                break;
            }
            if (n) memcpy(g, files, (size_t)n * sizeof *g);
            free(files);
            files = g;
            cap = nc;
        }
        size_t len = strlen(e->d_name) + 1;
        files[n].name = nnclr_malloc(len);
        if (!files[n].name) {
            s = NNCLR_ERR_NOMEM;
            break;
        }
        memcpy(files[n].name, e->d_name, len);
        files[n].step = step;
        n++;
    }
    closedir(dp);
    if (s != NNCLR_OK) {
        ck_files_free(files, n);
        return s;
    }
    if (n > 1) qsort(files, (size_t)n, sizeof *files, ck_file_cmp_desc);
    *out = files;
    *count = n;
    return NNCLR_OK;
}

nnclr_status checkpoint_find_latest(const char *dir, const char *prefix, char *buf, size_t size,
                                    int64_t *step) {
    *step = -1;
    if (size) buf[0] = 0;
    ck_file *files;
    int n;
    NNCLR_TRY(list_checkpoints(dir, prefix, &files, &n));
    nnclr_status s = NNCLR_OK;
    if (n > 0) {
        s = checkpoint_path(buf, size, dir, prefix, files[0].step);
        if (s == NNCLR_OK) *step = files[0].step;
    }
    ck_files_free(files, n);
    return s;
}

nnclr_status checkpoint_open_latest(const char *dir, const char *prefix, checkpoint **ck, char *buf, size_t size,
                                    int64_t *step, char *skipped, size_t skipped_size) {
    *ck = NULL;
    *step = -1;
    if (size) buf[0] = 0;
    if (skipped_size) skipped[0] = 0;
    ck_file *files;
    int n;
    NNCLR_TRY(list_checkpoints(dir, prefix, &files, &n));
    nnclr_status s = NNCLR_OK;
    for (int i = 0; i < n && !*ck; i++) {
        if ((s = checkpoint_path(buf, size, dir, prefix, files[i].step))) break;
        s = checkpoint_read(ck, buf);
        if (s == NNCLR_ERR_NOMEM) break;
        if (s == NNCLR_OK) {
            *step = files[i].step;
            break;
        }
        /* Does not verify: note it ("ckpt-9.ckpt (reason)") and try the one before. */
        size_t used = strlen(skipped);
        if (skipped_size > used)
            snprintf(skipped + used, skipped_size - used, "%s%s (%s)", used ? "; " : "", files[i].name, nnclr_last_error());
        *ck = NULL;
    }
    if (!s && !*ck && n > 0)
        s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: no checkpoint verifies: %s", dir && *dir ? dir : ".", skipped);
    if (s && size) buf[0] = 0;
    ck_files_free(files, n);
    return s;
}

nnclr_status checkpoint_prune(const char *dir, const char *prefix, int keep_last) {
    if (keep_last < 1)
        return nnclr_fail(NNCLR_ERR_ARG, "checkpoint_prune: keep_last must be >= 1, got %d", keep_last);
    ck_file *files;
    int n;
    NNCLR_TRY(list_checkpoints(dir, prefix, &files, &n));
    nnclr_status s = NNCLR_OK;
    const char *d = dir && *dir ? dir : ".";
    for (int i = keep_last; i < n; i++) {
        size_t len = strlen(d) + strlen(files[i].name) + 2;
        char *full = nnclr_malloc(len);
        if (!full) {
            s = NNCLR_ERR_NOMEM;
            break;
        }
        snprintf(full, len, "%s/%s", d, files[i].name);
        if (unlink(full) != 0 && errno != ENOENT && s == NNCLR_OK)
            s = nnclr_fail(NNCLR_ERR_IO, "%s: %s", full, strerror(errno));
        free(full);
    }
    ck_files_free(files, n);
    return s;
}
