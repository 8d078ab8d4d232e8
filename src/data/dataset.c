/* dataset.c - life cycle of the in-memory data set (allocation, subsets, the held-out split),
 * opening a data set by format name, and the file routines the binary readers share.
 *
 * Data flow: dataset_open() -> one reader (idx.c, cifar.c, stl10.c, image_folder.c) -> a
 * `dataset` -> (dataset_split for a held-out set) -> augmentation and the loader. */
#define _POSIX_C_SOURCE 200809L
#include "data/dataset.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/rng.h"
#include "core/status.h"

static const char *const fashion_mnist_names[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

/* ---- life cycle */

void dataset_free(dataset *d) {
    if (!d) return;
    if (d->images && !d->pixels) {
        for (int i = 0; i < d->n; i++) free(d->images[i].pixels);
    }
    free(d->pixels);
    free(d->images);
    free(d->labels);
    if (d->paths) {
        for (int i = 0; i < d->n; i++) free(d->paths[i]);
        free(d->paths);
    }
    if (d->class_names) {
        for (int k = 0; k < d->num_classes; k++) free(d->class_names[k]);
        free(d->class_names);
    }
    memset(d, 0, sizeof *d);
}

nnclr_status dataset_alloc_common(dataset *d, int n, int h, int w, int c, int labelled) {
    memset(d, 0, sizeof *d);
    if (n <= 0 || h <= 0 || w <= 0 || (c != 1 && c != 3))
        return nnclr_fail(NNCLR_ERR_ARG, "dataset: invalid size n=%d h=%d w=%d c=%d", n, h, w, c);
    uint64_t image_bytes = (uint64_t)h * (uint64_t)w * (uint64_t)c;
    if (image_bytes > DATASET_MAX_IMAGE_BYTES || image_bytes * (uint64_t)n > DATASET_MAX_BYTES)
        return nnclr_fail(NNCLR_ERR_ARG, "dataset: %d images of %dx%dx%d exceed the size limit", n,
                          h, w, c);
    d->pixels = nnclr_malloc((size_t)(image_bytes * (uint64_t)n));
    d->images = nnclr_calloc((size_t)n, sizeof *d->images);
    if (labelled) d->labels = nnclr_calloc((size_t)n, sizeof *d->labels);
    if (!d->pixels || !d->images || (labelled && !d->labels)) {
        dataset_free(d);
        return NNCLR_ERR_NOMEM;
    }
    d->n = n;
    d->h = h;
    d->w = w;
    d->c = c;
    for (int i = 0; i < n; i++) {
        d->images[i] = (dataset_image){.w = w, .h = h, .c = c,
                                       .pixels = d->pixels + (size_t)i * (size_t)image_bytes};
    }
    return NNCLR_OK;
}

static char *string_copy(const char *s) {
    size_t len = strlen(s);
    char *p = nnclr_malloc(len + 1);
    if (p) memcpy(p, s, len + 1);
    return p;
}

nnclr_status dataset_set_class_names(dataset *d, int num_classes, const char *const *names) {
    if (d->class_names) {
        for (int k = 0; k < d->num_classes; k++) free(d->class_names[k]);
        free(d->class_names);
        d->class_names = NULL;
    }
    d->num_classes = 0;
    if (num_classes <= 0) return NNCLR_OK;
    char **copy = nnclr_calloc((size_t)num_classes, sizeof *copy);
    if (!copy) return NNCLR_ERR_NOMEM;
    for (int k = 0; k < num_classes; k++) {
        char digits[16];
        snprintf(digits, sizeof digits, "%d", k);
        copy[k] = string_copy(names ? names[k] : digits);
        if (!copy[k]) {
            for (int j = 0; j < k; j++) free(copy[j]);
            free(copy);
            return NNCLR_ERR_NOMEM;
        }
    }
    d->class_names = copy;
    d->num_classes = num_classes;
    return NNCLR_OK;
}

nnclr_status dataset_load_class_names(dataset *d, int num_classes, const char *path,
                                      const char *const *fallback) {
    FILE *fp = path ? fopen(path, "rb") : NULL;
    if (!fp) return dataset_set_class_names(d, num_classes, fallback);
    enum { MAX_NAMES_BYTES = 1 << 20 };
    char *text = nnclr_malloc(MAX_NAMES_BYTES + 1);
    const char **names = nnclr_calloc((size_t)num_classes, sizeof *names);
    if (!text || !names) {
        fclose(fp);
        free(text);
        free(names);
        return NNCLR_ERR_NOMEM;
    }
    size_t len = fread(text, 1, MAX_NAMES_BYTES, fp);
    fclose(fp);
    text[len] = '\0';
    int count = 0;
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next) *next++ = '\0';
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
            line[--n] = '\0';
        if (n > 0) {
            if (count < num_classes) names[count] = line;
            count++;
        }
        line = next;
    }
    nnclr_status s = count == num_classes ? dataset_set_class_names(d, num_classes, names)
                                          : dataset_set_class_names(d, num_classes, fallback);
    free(names);
    free(text);
    return s;
}

nnclr_status dataset_subset(dataset *out, const dataset *src, const int *index, int n) {
    memset(out, 0, sizeof *out);
    if (n <= 0) return nnclr_fail(NNCLR_ERR_ARG, "dataset_subset: n must be > 0, got %d", n);
    for (int i = 0; i < n; i++) {
        if (index[i] < 0 || index[i] >= src->n)
            return nnclr_fail(NNCLR_ERR_ARG, "dataset_subset: index %d outside [0, %d)", index[i],
                              src->n);
    }
    int labelled = src->labels != NULL;
    if (src->pixels) {
        NNCLR_TRY(dataset_alloc_common(out, n, src->h, src->w, src->c, labelled));
        size_t image_bytes = (size_t)src->h * src->w * src->c;
        for (int i = 0; i < n; i++)
            memcpy(out->images[i].pixels, src->images[index[i]].pixels, image_bytes);
    } else {
        out->images = nnclr_calloc((size_t)n, sizeof *out->images);
        out->labels = labelled ? nnclr_calloc((size_t)n, sizeof *out->labels) : NULL;
        if (!out->images || (labelled && !out->labels)) {
            dataset_free(out);
            return NNCLR_ERR_NOMEM;
        }
        out->n = n;
        out->h = src->h;
        out->w = src->w;
        out->c = src->c;
        for (int i = 0; i < n; i++) {
            const dataset_image *im = &src->images[index[i]];
            size_t bytes = (size_t)im->h * im->w * im->c;
            out->images[i] = *im;
            out->images[i].pixels = nnclr_malloc(bytes);
            if (!out->images[i].pixels) {
                dataset_free(out);
                return NNCLR_ERR_NOMEM;
            }
            memcpy(out->images[i].pixels, im->pixels, bytes);
        }
    }
    if (labelled) {
        for (int i = 0; i < n; i++) out->labels[i] = src->labels[index[i]];
    }
    if (src->paths) {
        out->paths = nnclr_calloc((size_t)n, sizeof *out->paths);
        for (int i = 0; out->paths && i < n; i++)
            if (!(out->paths[i] = strdup(src->paths[index[i]]))) {
                dataset_free(out);
                return NNCLR_ERR_NOMEM;
            }
        if (!out->paths) {
            dataset_free(out);
            return NNCLR_ERR_NOMEM;
        }
    }
    if (src->num_classes > 0) {
        nnclr_status s = dataset_set_class_names(
            out, src->num_classes, (const char *const *)src->class_names);
        if (s != NNCLR_OK) {
            dataset_free(out);
            return s;
        }
    }
    return NNCLR_OK;
}

nnclr_status dataset_split(const dataset *src, double test_fraction, uint64_t seed,
                           dataset *train, dataset *test) {
    NNCLR_ASSERT(train != test && train != src && test != src);
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (!(test_fraction > 0.0 && test_fraction < 1.0))
        return nnclr_fail(NNCLR_ERR_ARG, "dataset_split: test fraction must be in (0, 1), got %g",
                          test_fraction);
    if (src->n <= 0) return nnclr_fail(NNCLR_ERR_ARG, "dataset_split: empty data set");
    int groups = src->labels ? src->num_classes : 1;
    if (src->labels) {
        for (int i = 0; i < src->n; i++) {
            if (src->labels[i] < 0 || src->labels[i] >= src->num_classes)
                return nnclr_fail(NNCLR_ERR_ARG, "dataset_split: label %d of image %d outside [0, %d)",
                                  src->labels[i], i, src->num_classes);
        }
    }
    int *members = nnclr_malloc((size_t)src->n * sizeof(int));
    unsigned char *in_test = nnclr_calloc((size_t)src->n, 1);
    int *train_idx = nnclr_malloc((size_t)src->n * sizeof(int));
    int *test_idx = nnclr_malloc((size_t)src->n * sizeof(int));
    nnclr_status s = NNCLR_OK;
    if (!members || !in_test || !train_idx || !test_idx) {
        s = NNCLR_ERR_NOMEM;
        goto done;
    }
    for (int g = 0; g < groups; g++) {
        int count = 0;
        for (int i = 0; i < src->n; i++) {
            if (!src->labels || src->labels[i] == g) members[count++] = i;
        }
        rng_state r;
        rng_derive(&r, seed, (uint64_t)g, RNG_STREAM_SPLIT);
        for (int i = count - 1; i > 0; i--) {
            int j = (int)rng_below(&r, (uint64_t)i + 1);
            int t = members[i];
            members[i] = members[j];
            members[j] = t;
        }
        int n_test = (int)llround(count * test_fraction);
        for (int i = 0; i < n_test; i++) in_test[members[i]] = 1;
    }
    int n_train = 0, n_test = 0;
    for (int i = 0; i < src->n; i++) {
        if (in_test[i]) test_idx[n_test++] = i;
        else train_idx[n_train++] = i;
    }
    if (n_train == 0 || n_test == 0) {
        s = nnclr_fail(NNCLR_ERR_ARG, "dataset_split: fraction %g of %d images leaves %s empty",
                       test_fraction, src->n, n_train == 0 ? "train" : "test");
        goto done;
    }
    s = dataset_subset(train, src, train_idx, n_train);
    if (s == NNCLR_OK) s = dataset_subset(test, src, test_idx, n_test);
    if (s != NNCLR_OK) {
        dataset_free(train);
        dataset_free(test);
    }
done:
    free(members);
    free(in_test);
    free(train_idx);
    free(test_idx);
    return s;
}

/* ---- file routines shared by the readers */

nnclr_status reader_file_size(const char *path, uint64_t *size) {
    struct stat st;
    if (stat(path, &st) != 0) return nnclr_fail(NNCLR_ERR_IO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return nnclr_fail(NNCLR_ERR_IO, "%s: is a directory", path);
    if (!S_ISREG(st.st_mode)) return nnclr_fail(NNCLR_ERR_IO, "%s: not a regular file", path);
    *size = (uint64_t)st.st_size;
    return NNCLR_OK;
}

nnclr_status reader_read_exact(FILE *fp, void *dst, size_t bytes, const char *path) {
    size_t got = fread(dst, 1, bytes, fp);
    if (got == bytes) return NNCLR_OK;
    if (ferror(fp)) return nnclr_fail(NNCLR_ERR_IO, "%s: read error: %s", path, strerror(errno));
    return nnclr_fail(NNCLR_ERR_FORMAT, "%s: unexpected end of file (wanted %zu more bytes, got %zu)",
                      path, bytes, got);
}

/* ---- opening by name */

nnclr_status dataset_open(dataset *out, const char *format, const char *path, int split) {
    return dataset_open_sized(out, format, path, split, 0);
}

static nnclr_status open_mnist_like(dataset *out, const char *path, int split,
                                    const char *const *names) {
    NNCLR_TRY(idx_load_dir(out, path, split));
    if (out->num_classes > 10) {
        nnclr_status s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: label %d outside 0..9", path,
                                    out->num_classes - 1);
        dataset_free(out);
        return s;
    }
    nnclr_status s = dataset_set_class_names(out, 10, names);
    if (s != NNCLR_OK) dataset_free(out);
    return s;
}

nnclr_status dataset_open_sized(dataset *out, const char *format, const char *path, int split,
                                int target_side) {
    memset(out, 0, sizeof *out);
    if (!format || !path) return nnclr_fail(NNCLR_ERR_ARG, "dataset_open: format and path are required");
    if (target_side < 0)
        return nnclr_fail(NNCLR_ERR_ARG, "dataset_open: target side must be >= 0, got %d", target_side);
    int is_folder = strcmp(format, "folder") == 0, is_stl = strcmp(format, "stl10") == 0;
    if (!is_folder && !(split == DATASET_TRAIN || split == DATASET_TEST ||
                        (is_stl && split == DATASET_UNLABELLED)))
        return nnclr_fail(NNCLR_ERR_ARG, "%s: no split %d in format %s", path, split, format);
    if (strcmp(format, "fashion-mnist") == 0) return open_mnist_like(out, path, split, fashion_mnist_names);
    if (strcmp(format, "mnist") == 0) return open_mnist_like(out, path, split, NULL);
    if (strcmp(format, "idx") == 0) return idx_load_dir(out, path, split);
    if (strcmp(format, "cifar10") == 0) return cifar10_load(out, path, split);
    if (strcmp(format, "cifar100") == 0) return cifar100_load(out, path, split, 0);
    if (strcmp(format, "cifar100-coarse") == 0) return cifar100_load(out, path, split, 1);
    if (is_stl) return stl10_load(out, path, split);
    if (is_folder) return image_folder_load(out, path, target_side);
    return nnclr_fail(NNCLR_ERR_ARG,
                      "unknown data set format '%s' (fashion-mnist, mnist, idx, cifar10, cifar100, "
                      "cifar100-coarse, stl10, folder)", format);
}
