/* atomic_file.c - temporary file + fsync + rename. See atomic_file.h.
 *
 * Plain POSIX file descriptors with a small write buffer of our own, so every error (ENOSPC,
 * EIO, EFBIG) is seen at the write(), fsync() or close() that hits it rather than being lost
 * inside stdio. */
#define _POSIX_C_SOURCE 200809L
#include "io/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/status.h"

#define ATOMIC_BUF_BYTES (64 * 1024)

struct atomic_file {
    int fd;
    int failed;          /* a write already failed: commit must not rename */
    char *path;          /* the target */
    char *tmp_path;      /* "<path>.tmp.<pid>" */
    size_t used;         /* bytes waiting in buf */
    unsigned char buf[ATOMIC_BUF_BYTES];
};

static nnclr_status fail_errno(atomic_file *af, int err) {
    af->failed = 1;
    return nnclr_fail(NNCLR_ERR_IO, "%s: %s", af->path, strerror(err));
}

/* write() until done; retries on EINTR and short writes. */
static int write_all(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (w == 0) return EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static nnclr_status flush_buf(atomic_file *af) {
    if (af->used == 0) return NNCLR_OK;
    int err = write_all(af->fd, af->buf, af->used);
    af->used = 0;
    return err ? fail_errno(af, err) : NNCLR_OK;
}

static void atomic_free(atomic_file *af) {
    free(af->path);
    free(af->tmp_path);
    free(af);
}

static char *str_dup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = nnclr_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

nnclr_status atomic_open(atomic_file **out, const char *path) {
    *out = NULL;
    if (!path || !*path) return nnclr_fail(NNCLR_ERR_ARG, "atomic_open: empty path");
    atomic_file *af = nnclr_malloc(sizeof *af);
    if (!af) return NNCLR_ERR_NOMEM;
    af->fd = -1;
    af->failed = 0;
    af->used = 0;
    af->path = str_dup(path);
    size_t tmp_len = strlen(path) + 32;
    af->tmp_path = nnclr_malloc(tmp_len);
    if (!af->path || !af->tmp_path) {
        atomic_free(af);
        return NNCLR_ERR_NOMEM;
    }
    snprintf(af->tmp_path, tmp_len, "%s.tmp.%ld", path, (long)getpid());
    af->fd = open(af->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (af->fd < 0) {
        nnclr_status s = nnclr_fail(NNCLR_ERR_IO, "%s: %s", path, strerror(errno));
        atomic_free(af);
        return s;
    }
    *out = af;
    return NNCLR_OK;
}

nnclr_status atomic_write(atomic_file *af, const void *buf, size_t n) {
    if (af->failed) return nnclr_fail(NNCLR_ERR_IO, "%s: write after an earlier error", af->path);
    if (n == 0) return NNCLR_OK;
    const unsigned char *p = buf;
    if (af->used + n <= ATOMIC_BUF_BYTES) {
        memcpy(af->buf + af->used, p, n);
        af->used += n;
        return NNCLR_OK;
    }
    NNCLR_TRY(flush_buf(af));
    if (n <= ATOMIC_BUF_BYTES) {
        memcpy(af->buf, p, n);
        af->used = n;
        return NNCLR_OK;
    }
    int err = write_all(af->fd, p, n);
    return err ? fail_errno(af, err) : NNCLR_OK;
}

nnclr_status atomic_printf(atomic_file *af, const char *fmt, ...) {
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (len < 0) {
        af->failed = 1;
        return nnclr_fail(NNCLR_ERR_ARG, "%s: bad format string", af->path);
    }
    if ((size_t)len < sizeof small) return atomic_write(af, small, (size_t)len);
    char *big = nnclr_malloc((size_t)len + 1);
    if (!big) {
        af->failed = 1;
        return NNCLR_ERR_NOMEM;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)len + 1, fmt, ap);
    va_end(ap);
    nnclr_status s = atomic_write(af, big, (size_t)len);
    free(big);
    return s;
}

const char *atomic_path(const atomic_file *af) { return af->path; }

void atomic_abort(atomic_file *af) {
    if (!af) return;
    if (af->fd >= 0) close(af->fd);
    unlink(af->tmp_path);
    atomic_free(af);
}

/* fsync the directory holding `path` so that the rename is durable. File systems that
 * cannot fsync a directory (EINVAL) are accepted. */
static int fsync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash) {
        dir = str_dup(".");
    } else {
        size_t len = slash == path ? 1 : (size_t)(slash - path);
        dir = nnclr_malloc(len + 1);
        if (dir) {
            memcpy(dir, path, len);
            dir[len] = 0;
        }
    }
    if (!dir) return ENOMEM;
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return errno;
    int err = 0;
    if (fsync(fd) != 0 && errno != EINVAL) err = errno;
    close(fd);
    return err;
}

nnclr_status atomic_commit(atomic_file *af) {
    nnclr_status s = NNCLR_OK;
    if (af->failed) {
        s = nnclr_fail(NNCLR_ERR_IO, "%s: not committed after an earlier write error", af->path);
        atomic_abort(af);
        return s;
    }
    s = flush_buf(af);
    if (s == NNCLR_OK && fsync(af->fd) != 0) s = fail_errno(af, errno);
    /* close() can report delayed write errors (NFS, quota): it counts too. */
    int fd = af->fd;
    af->fd = -1;
    if (close(fd) != 0 && s == NNCLR_OK) s = fail_errno(af, errno);
    if (s == NNCLR_OK && rename(af->tmp_path, af->path) != 0) s = fail_errno(af, errno);
    if (s != NNCLR_OK) {
        atomic_abort(af);
        return s;
    }
    int err = fsync_parent_dir(af->path);
    if (err) s = nnclr_fail(NNCLR_ERR_IO, "%s: syncing its directory: %s", af->path, strerror(err));
    atomic_free(af);
    return s;
}

nnclr_status atomic_write_file(const char *path, const void *buf, size_t n) {
    atomic_file *af;
    NNCLR_TRY(atomic_open(&af, path));
    nnclr_status s = atomic_write(af, buf, n);
    if (s != NNCLR_OK) {
        atomic_abort(af);
        return s;
    }
    return atomic_commit(af);
}
