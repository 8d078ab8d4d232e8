/* idx.c - the IDX ubyte reader (MNIST, Fashion-MNIST): an image file and a label file, each raw
 * or gzip-compressed, into a labelled 1-channel dataset.
 *
 * Layout (big-endian): u32 magic 0x00000800 | ndim, u32 dims[ndim], then the bytes. Images are
 * magic 0x00000803 with dims (n, rows, cols); labels 0x00000801 with dims (n). zlib's gzread
 * reads both raw and gzip files, so there is one path; the header is checked against the file
 * size (exactly for raw files, against the largest possible deflate ratio for gzip) before
 * anything is allocated, so a lying header never turns into a huge allocation or a short read
 * past the buffer. Data flow: dataset_open("fashion-mnist" | "mnist" | "idx") -> here ->
 * dataset. */
#define _POSIX_C_SOURCE 200809L
#include "data/dataset.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "core/status.h"

/* Deflate cannot compress better than about 1032:1; anything claiming more is a lie. */
#define IDX_MAX_DEFLATE_RATIO 1100

typedef struct {
    gzFile gz;
    const char *path;
    uint64_t file_size;
    int compressed;
} idx_file;

static nnclr_status idx_gz_error(idx_file *f, const char *what) {
    int errnum = Z_OK;
    const char *msg = gzerror(f->gz, &errnum);
    if (errnum == Z_ERRNO) return nnclr_fail(NNCLR_ERR_IO, "%s: %s", f->path, strerror(errno));
    if (errnum != Z_OK && errnum != Z_STREAM_END)
        return nnclr_fail(NNCLR_ERR_FORMAT, "%s: %s (%s)", f->path, what, msg);
    return nnclr_fail(NNCLR_ERR_FORMAT, "%s: %s", f->path, what);
}

/* Reads exactly `bytes` bytes (in chunks: gzread takes an unsigned count). */
static nnclr_status idx_read(idx_file *f, uint8_t *dst, uint64_t bytes, const char *what) {
    while (bytes > 0) {
        unsigned chunk = bytes > (1u << 30) ? (1u << 30) : (unsigned)bytes;
        int got = gzread(f->gz, dst, chunk);
        if (got <= 0 || (unsigned)got < chunk) return idx_gz_error(f, what);
        dst += got;
        bytes -= (uint64_t)got;
    }
    return NNCLR_OK;
}

static void idx_close(idx_file *f) {
    if (f->gz) gzclose(f->gz);
    f->gz = NULL;
}

/* Opens `path`, checks the magic and reads dims[ndim]; checks the payload size prod(dims)
 * (returned in *payload) against the file. */
static nnclr_status idx_open(idx_file *f, const char *path, uint32_t magic, int ndim,
                             uint32_t *dims, uint64_t *payload) {
    memset(f, 0, sizeof *f);
    f->path = path;
    NNCLR_TRY(reader_file_size(path, &f->file_size));
    f->gz = gzopen(path, "rb");
    if (!f->gz) return nnclr_fail(NNCLR_ERR_IO, "%s: %s", path, strerror(errno ? errno : ENOMEM));
    gzbuffer(f->gz, 1 << 18);
    f->compressed = !gzdirect(f->gz);
    uint8_t header[16];
    size_t header_bytes = 4 + 4 * (size_t)ndim;
    nnclr_status s = idx_read(f, header, header_bytes, "truncated header");
    if (s != NNCLR_OK) goto fail;
    uint32_t got_magic = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 |
                         (uint32_t)header[2] << 8 | header[3];
    if (got_magic != magic) {
        s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: bad magic 0x%08x (expected 0x%08x, an idx%d-ubyte file)",
                       path, got_magic, magic, ndim);
        goto fail;
    }
    uint64_t total = 1;
    for (int i = 0; i < ndim; i++) {
        const uint8_t *p = header + 4 + 4 * i;
        dims[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (dims[i] == 0) {
            s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: dimension %d is zero (%s)", path, i,
                           i == 0 ? "no items" : "zero-sized images");
            goto fail;
        }
        if (dims[i] > DATASET_MAX_BYTES / total) {   /* checked before multiplying: no overflow */
            s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: header sizes too large to be real", path);
            goto fail;
        }
        total *= dims[i];
        if (i > 0 && total / dims[0] > DATASET_MAX_IMAGE_BYTES) {
            s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: header sizes too large to be real", path);
            goto fail;
        }
    }
    if (dims[0] > INT_MAX) {
        s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: %u items is too many", path, dims[0]);
        goto fail;
    }
    if (!f->compressed && header_bytes + total != f->file_size) {
        s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: header says %llu data bytes but the file holds %llu",
                       path, (unsigned long long)total,
                       (unsigned long long)(f->file_size - header_bytes));
        goto fail;
    }
    if (f->compressed && total > f->file_size * IDX_MAX_DEFLATE_RATIO + 4096) {
        s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: header claims %llu bytes, more than %llu compressed "
                       "bytes can hold", path, (unsigned long long)total,
                       (unsigned long long)f->file_size);
        goto fail;
    }
    *payload = total;
    return NNCLR_OK;
fail:
    idx_close(f);
    return s;
}

/* Reads the payload and checks nothing follows it. */
static nnclr_status idx_read_payload(idx_file *f, uint8_t *dst, uint64_t bytes) {
    NNCLR_TRY(idx_read(f, dst, bytes, "truncated: fewer data bytes than the header says"));
    uint8_t extra;
    int more = gzread(f->gz, &extra, 1);
    if (more < 0) return idx_gz_error(f, "corrupt compressed data");
    if (more > 0)
        return nnclr_fail(NNCLR_ERR_FORMAT, "%s: data continues past the size in the header", f->path);
    return NNCLR_OK;
}

nnclr_status idx_load(dataset *out, const char *images_path, const char *labels_path) {
    memset(out, 0, sizeof *out);
    idx_file fi, fl;
    memset(&fl, 0, sizeof fl);
    uint32_t idims[3] = {0}, ldims[1] = {0};
    uint64_t ibytes = 0, lbytes = 0;
    uint8_t *raw_labels = NULL;
    NNCLR_TRY(idx_open(&fi, images_path, 0x00000803u, 3, idims, &ibytes));
    nnclr_status s = NNCLR_OK;
    if (labels_path) {
        s = idx_open(&fl, labels_path, 0x00000801u, 1, ldims, &lbytes);
        if (s != NNCLR_OK) goto done;
        if (ldims[0] != idims[0]) {
            s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: %u labels for %u images in %s", labels_path,
                           ldims[0], idims[0], images_path);
            goto done;
        }
    }
    s = dataset_alloc_common(out, (int)idims[0], (int)idims[1], (int)idims[2], 1, labels_path != NULL);
    if (s != NNCLR_OK) goto done;
    s = idx_read_payload(&fi, out->pixels, ibytes);
    if (s != NNCLR_OK || !labels_path) goto done;
    raw_labels = nnclr_malloc((size_t)lbytes);
    if (!raw_labels) {
        s = NNCLR_ERR_NOMEM;
        goto done;
    }
    s = idx_read_payload(&fl, raw_labels, lbytes);
    if (s != NNCLR_OK) goto done;
    int max_label = 0;
    for (int i = 0; i < out->n; i++) {
        out->labels[i] = raw_labels[i];
        if (raw_labels[i] > max_label) max_label = raw_labels[i];
    }
    s = dataset_set_class_names(out, max_label + 1, NULL);
done:
    idx_close(&fi);
    idx_close(&fl);
    free(raw_labels);
    if (s != NNCLR_OK) dataset_free(out);
    return s;
}

/* First of the usual spellings of an MNIST file that exists in dir, into buf. */
static nnclr_status idx_find(char *buf, size_t cap, const char *dir, const char *prefix,
                             const char *kind) {
    static const char *const spellings[] = {"%s/%s-%s-ubyte", "%s/%s-%s-ubyte.gz"};
    char dotted[32];
    snprintf(dotted, sizeof dotted, "%s", kind);
    char *dash = strchr(dotted, '-');
    if (dash) *dash = '.';
    const char *kinds[2] = {kind, dotted};
    for (int k = 0; k < 2; k++) {
        for (int v = 0; v < 2; v++) {
            int len = snprintf(buf, cap, spellings[v], dir, prefix, kinds[k]);
            if (len < 0 || (size_t)len >= cap) return nnclr_fail(NNCLR_ERR_ARG, "%s: path too long", dir);
            struct stat st;
            if (stat(buf, &st) == 0) return NNCLR_OK;
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0) return nnclr_fail(NNCLR_ERR_IO, "%s: %s", dir, strerror(errno));
    return nnclr_fail(NNCLR_ERR_IO, "%s: no %s-%s-ubyte[.gz] in this directory", dir, prefix, kind);
}

nnclr_status idx_load_dir(dataset *out, const char *dir, int split) {
    memset(out, 0, sizeof *out);
    if (split != DATASET_TRAIN && split != DATASET_TEST)
        return nnclr_fail(NNCLR_ERR_ARG, "%s: IDX data sets have only train (0) and test (1) splits, got %d",
                          dir, split);
    const char *prefix = split == DATASET_TRAIN ? "train" : "t10k";
    char images[4096], labels[4096];
    NNCLR_TRY(idx_find(images, sizeof images, dir, prefix, "images-idx3"));
    NNCLR_TRY(idx_find(labels, sizeof labels, dir, prefix, "labels-idx1"));
    return idx_load(out, images, labels);
}
