/* cifar.c - CIFAR-10 and CIFAR-100 binary batches into a labelled 32x32x3 dataset.
 *
 * A record is the label byte(s) followed by 3072 bytes: the 32x32 R plane, then G, then B, each
 * row-major. CIFAR-10 records have one label byte (0..9); CIFAR-100 records have two, coarse
 * (0..19) then fine (0..99). The planes are interleaved here into HWC. A file must be a non-empty
 * whole number of records, and every label in range; the message names the file and record.
 * Data flow: dataset_open("cifar10" | "cifar100" | "cifar100-coarse") -> here -> dataset. */
#include "data/dataset.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

#define CIFAR_SIDE 32
#define CIFAR_PLANE (CIFAR_SIDE * CIFAR_SIDE)
#define CIFAR_IMAGE_BYTES (3 * CIFAR_PLANE)
#define CIFAR_CHUNK_RECORDS 1024

static const char *const cifar10_names[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                              "dog", "frog", "horse", "ship", "truck"};

typedef struct {
    int label_bytes;   /* 1 (CIFAR-10) or 2 (CIFAR-100) */
    int label_index;   /* which label byte to keep */
    int num_classes;
} cifar_layout;

static nnclr_status cifar_path(char *buf, size_t cap, const char *dir, const char *name) {
    int len = snprintf(buf, cap, "%s/%s", dir, name);
    if (len < 0 || (size_t)len >= cap) return nnclr_fail(NNCLR_ERR_ARG, "%s: path too long", dir);
    return NNCLR_OK;
}

/* Number of records in the file at `path`. */
static nnclr_status cifar_count(const char *path, const cifar_layout *l, uint64_t *n) {
    uint64_t size;
    NNCLR_TRY(reader_file_size(path, &size));
    uint64_t record = (uint64_t)l->label_bytes + CIFAR_IMAGE_BYTES;
    if (size == 0) return nnclr_fail(NNCLR_ERR_FORMAT, "%s: empty file", path);
    if (size % record != 0)
        return nnclr_fail(NNCLR_ERR_FORMAT, "%s: size %llu is not a multiple of the %llu-byte record "
                          "(truncated or not a CIFAR batch)", path, (unsigned long long)size,
                          (unsigned long long)record);
    *n = size / record;
    return NNCLR_OK;
}

/* Reads n records of `path` into images first..first+n-1 of d. */
static nnclr_status cifar_read(dataset *d, int first, int n, const char *path, const cifar_layout *l) {
    size_t record = (size_t)l->label_bytes + CIFAR_IMAGE_BYTES;
    uint8_t *buf = nnclr_malloc(record * CIFAR_CHUNK_RECORDS);
    if (!buf) return NNCLR_ERR_NOMEM;
    FILE *fp = fopen(path, "rb");
    nnclr_status s = NNCLR_OK;
    if (!fp) {
        s = nnclr_fail(NNCLR_ERR_IO, "%s: cannot open", path);
        goto done;
    }
    for (int done = 0; done < n;) {
        int chunk = n - done < CIFAR_CHUNK_RECORDS ? n - done : CIFAR_CHUNK_RECORDS;
        s = reader_read_exact(fp, buf, record * (size_t)chunk, path);
        if (s != NNCLR_OK) goto done;
        for (int r = 0; r < chunk; r++) {
            const uint8_t *rec = buf + record * (size_t)r;
            int label = rec[l->label_index];
            if (label >= l->num_classes) {
                s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: record %d has label %d, outside 0..%d", path,
                               done + r, label, l->num_classes - 1);
                goto done;
            }
            int i = first + done + r;
            d->labels[i] = label;
            const uint8_t *planes = rec + l->label_bytes;   // planes: (3, 32, 32)
            uint8_t *dst = d->images[i].pixels;             // dst: (32, 32, 3)
            for (int p = 0; p < CIFAR_PLANE; p++) {
                dst[3 * p + 0] = planes[p];
                dst[3 * p + 1] = planes[CIFAR_PLANE + p];
                dst[3 * p + 2] = planes[2 * CIFAR_PLANE + p];
            }
        }
        done += chunk;
    }
done:
    if (fp) fclose(fp);
    free(buf);
    return s;
}

/* The files names[0..count-1] of dir, concatenated in order. */
static nnclr_status cifar_load_files(dataset *out, const char *dir, const char *const *names,
                                     int count, const cifar_layout *l) {
    NNCLR_ASSERT(count >= 1 && count <= 8);
    memset(out, 0, sizeof *out);
    char path[4096];
    uint64_t total = 0, per_file[8] = {0};
    for (int f = 0; f < count; f++) {
        NNCLR_TRY(cifar_path(path, sizeof path, dir, names[f]));
        NNCLR_TRY(cifar_count(path, l, &per_file[f]));
        total += per_file[f];
    }
    if (total > INT_MAX) return nnclr_fail(NNCLR_ERR_FORMAT, "%s: too many records", dir);
    NNCLR_TRY(dataset_alloc_common(out, (int)total, CIFAR_SIDE, CIFAR_SIDE, 3, 1));
    int first = 0;
    nnclr_status s = NNCLR_OK;
    for (int f = 0; f < count && s == NNCLR_OK; f++) {
        s = cifar_path(path, sizeof path, dir, names[f]);
        if (s == NNCLR_OK) s = cifar_read(out, first, (int)per_file[f], path, l);
        first += (int)per_file[f];
    }
    if (s != NNCLR_OK) dataset_free(out);
    return s;
}

static nnclr_status cifar_names(dataset *out, const char *dir, const char *file,
                                const char *const *fallback, int num_classes) {
    char path[4096];
    nnclr_status s = cifar_path(path, sizeof path, dir, file);
    if (s == NNCLR_OK) s = dataset_load_class_names(out, num_classes, path, fallback);
    if (s != NNCLR_OK) dataset_free(out);
    return s;
}

nnclr_status cifar10_load(dataset *out, const char *dir, int split) {
    memset(out, 0, sizeof *out);
    static const char *const train[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                        "data_batch_4.bin", "data_batch_5.bin"};
    static const char *const test[] = {"test_batch.bin"};
    if (split != DATASET_TRAIN && split != DATASET_TEST)
        return nnclr_fail(NNCLR_ERR_ARG, "%s: CIFAR-10 has only train (0) and test (1) splits, got %d",
                          dir, split);
    cifar_layout l = {.label_bytes = 1, .label_index = 0, .num_classes = 10};
    if (split == DATASET_TRAIN) NNCLR_TRY(cifar_load_files(out, dir, train, 5, &l));
    else NNCLR_TRY(cifar_load_files(out, dir, test, 1, &l));
    return cifar_names(out, dir, "batches.meta.txt", cifar10_names, 10);
}

nnclr_status cifar100_load(dataset *out, const char *dir, int split, int coarse) {
    memset(out, 0, sizeof *out);
    static const char *const train[] = {"train.bin"};
    static const char *const test[] = {"test.bin"};
    if (split != DATASET_TRAIN && split != DATASET_TEST)
        return nnclr_fail(NNCLR_ERR_ARG, "%s: CIFAR-100 has only train (0) and test (1) splits, got %d",
                          dir, split);
    cifar_layout l = {.label_bytes = 2, .label_index = coarse ? 0 : 1,
                      .num_classes = coarse ? 20 : 100};
    NNCLR_TRY(cifar_load_files(out, dir, split == DATASET_TRAIN ? train : test, 1, &l));
    return cifar_names(out, dir, coarse ? "coarse_label_names.txt" : "fine_label_names.txt", NULL,
                       l.num_classes);
}
