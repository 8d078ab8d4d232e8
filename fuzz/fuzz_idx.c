/* fuzz_idx.c - libFuzzer harness for the IDX reader (src/data/idx.c): idx_load on an image file
 * and an optional label file, each raw or gzip-compressed.
 *
 * Input: a flags byte, then chunks (fuzz_common.h): images, labels. Flags: bit 0 gzip the
 * images, bit 1 gzip the labels, bit 2 no label file. Compressed files are written through
 * zlib here, so the fuzzer reaches the gzip path with valid streams; raw chunks that are
 * themselves gzip bytes cover corrupt streams. A loaded data set is checked for consistency
 * and every pixel is read (out-of-bounds reads are found by ASan). */
#include "fuzz_common.h"

#include <zlib.h>

#include "core/status.h"
#include "data/dataset.h"

static const char *write_maybe_gzip(const char *name, const fuzz_chunk *c, int gzip) {
    if (!gzip) return fuzz_write(name, c->data, c->size);
    const char *path = fuzz_path(name);
    gzFile gz = gzopen(path, "wb");
    if (!gz || (c->size && gzwrite(gz, c->data, (unsigned)c->size) != (int)c->size) || gzclose(gz) != Z_OK) {
        perror(path);
        abort();
    }
    return path;
}

/* Consistency of a data set a reader returned OK; aborts (a finding) when it is broken. */
static void check_loaded(const dataset *d) {
    if (d->n <= 0 || d->h <= 0 || d->w <= 0 || d->c != 1 || !d->pixels || !d->images) abort();
    unsigned sum = 0;
    size_t bytes = (size_t)d->n * d->h * d->w * d->c;
    for (size_t i = 0; i < bytes; i++) sum += d->pixels[i];
    for (int i = 0; i < d->n; i++) {
        if (d->images[i].pixels != d->pixels + (size_t)i * d->h * d->w) abort();
        if (d->labels && (d->labels[i] < 0 || d->labels[i] >= d->num_classes)) abort();
    }
    if (d->labels && (!d->class_names || d->num_classes < 1 || d->num_classes > 256)) abort();
    if (sum == 0xffffffffu) fprintf(stderr, "%u\n", sum);   /* keeps the reads */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int flags = data[0];
    fuzz_chunk chunks[2] = {{NULL, 0}, {NULL, 0}};
    int n = fuzz_split(data + 1, size - 1, chunks, 2);
    if (n < 1) return 0;
    const char *images = write_maybe_gzip("images-idx3-ubyte", &chunks[0], flags & 1);
    const char *labels = NULL;
    if (!(flags & 4)) labels = write_maybe_gzip("labels-idx1-ubyte", &chunks[1], flags & 2);
    dataset d;
    nnclr_status s = idx_load(&d, images, labels);
    if (s == NNCLR_OK) check_loaded(&d);
    else if (d.pixels || d.labels || d.images || d.n) abort();   /* failure must leave it zeroed */
    else if ((s == NNCLR_ERR_FORMAT || s == NNCLR_ERR_IO) && !strstr(nnclr_last_error(), "ubyte"))
        abort();                                                  /* the message names the file */
    dataset_free(&d);
    fuzz_remove("images-idx3-ubyte");
    fuzz_remove("labels-idx1-ubyte");
    return 0;
}
