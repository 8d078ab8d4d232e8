/* stl10.c - the STL-10 binary files into a 96x96x3 dataset.
 *
 * {train,test}_X.bin and unlabeled_X.bin hold images of 3 planes (R, G, B), each plane stored
 * column-major: byte c*96*96 + x*96 + y is pixel (row y, column x) of channel c (this is why the
 * reference loaders transpose the last two axes). {train,test}_y.bin hold one label byte 1..10
 * per image, shifted to 0..9 here. unlabeled_X.bin (100,000 images) has no labels.
 * Data flow: dataset_open("stl10") -> here -> dataset. */
#include "data/dataset.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

#define STL_SIDE 96
#define STL_PLANE (STL_SIDE * STL_SIDE)
#define STL_IMAGE_BYTES (3 * STL_PLANE)
#define STL_CHUNK_IMAGES 256

static const char *const stl10_names[10] = {"airplane", "bird", "car", "cat", "deer",
                                            "dog", "horse", "monkey", "ship", "truck"};

static nnclr_status stl_path(char *buf, size_t cap, const char *dir, const char *name) {
    int len = snprintf(buf, cap, "%s/%s", dir, name);
    if (len < 0 || (size_t)len >= cap) return nnclr_fail(NNCLR_ERR_ARG, "%s: path too long", dir);
    return NNCLR_OK;
}

static nnclr_status stl_read_images(dataset *d, const char *path) {
    uint8_t *buf = nnclr_malloc((size_t)STL_IMAGE_BYTES * STL_CHUNK_IMAGES);
    if (!buf) return NNCLR_ERR_NOMEM;
    FILE *fp = fopen(path, "rb");
    nnclr_status s = NNCLR_OK;
    if (!fp) {
        s = nnclr_fail(NNCLR_ERR_IO, "%s: cannot open", path);
        goto done;
    }
    for (int done = 0; done < d->n;) {
        int chunk = d->n - done < STL_CHUNK_IMAGES ? d->n - done : STL_CHUNK_IMAGES;
        s = reader_read_exact(fp, buf, (size_t)STL_IMAGE_BYTES * chunk, path);
        if (s != NNCLR_OK) goto done;
        for (int r = 0; r < chunk; r++) {
            const uint8_t *src = buf + (size_t)STL_IMAGE_BYTES * r;  // src: (3, 96 x, 96 y)
            uint8_t *dst = d->images[done + r].pixels;              // dst: (96 y, 96 x, 3)
            for (int c = 0; c < 3; c++) {
                for (int x = 0; x < STL_SIDE; x++) {
                    const uint8_t *col = src + c * STL_PLANE + x * STL_SIDE;
                    for (int y = 0; y < STL_SIDE; y++) dst[(y * STL_SIDE + x) * 3 + c] = col[y];
                }
            }
        }
        done += chunk;
    }
done:
    if (fp) fclose(fp);
    free(buf);
    return s;
}

static nnclr_status stl_read_labels(dataset *d, const char *path) {
    uint64_t size;
    NNCLR_TRY(reader_file_size(path, &size));
    if (size != (uint64_t)d->n)
        return nnclr_fail(NNCLR_ERR_FORMAT, "%s: %llu labels for %d images", path,
                          (unsigned long long)size, d->n);
    uint8_t *raw = nnclr_malloc((size_t)d->n);
    if (!raw) return NNCLR_ERR_NOMEM;
    FILE *fp = fopen(path, "rb");
    nnclr_status s = fp ? reader_read_exact(fp, raw, (size_t)d->n, path)
                        : nnclr_fail(NNCLR_ERR_IO, "%s: cannot open", path);
    if (fp) fclose(fp);
    for (int i = 0; s == NNCLR_OK && i < d->n; i++) {
        if (raw[i] < 1 || raw[i] > 10)
            s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: label %d of image %d outside 1..10", path, raw[i], i);
        else d->labels[i] = raw[i] - 1;
    }
    free(raw);
    return s;
}

nnclr_status stl10_load(dataset *out, const char *dir, int split) {
    memset(out, 0, sizeof *out);
    const char *xname, *yname;
    switch (split) {
    case DATASET_TRAIN: xname = "train_X.bin"; yname = "train_y.bin"; break;
    case DATASET_TEST: xname = "test_X.bin"; yname = "test_y.bin"; break;
    case DATASET_UNLABELLED: xname = "unlabeled_X.bin"; yname = NULL; break;
    default:
        return nnclr_fail(NNCLR_ERR_ARG, "%s: STL-10 splits are train (0), test (1), unlabelled (2), got %d",
                          dir, split);
    }
    char xpath[4096], ypath[4096];
    NNCLR_TRY(stl_path(xpath, sizeof xpath, dir, xname));
    if (yname) NNCLR_TRY(stl_path(ypath, sizeof ypath, dir, yname));
    uint64_t size;
    NNCLR_TRY(reader_file_size(xpath, &size));
    if (size == 0) return nnclr_fail(NNCLR_ERR_FORMAT, "%s: empty file", xpath);
    if (size % STL_IMAGE_BYTES != 0)
        return nnclr_fail(NNCLR_ERR_FORMAT, "%s: size %llu is not a multiple of the %d-byte image "
                          "(truncated or not STL-10)", xpath, (unsigned long long)size, STL_IMAGE_BYTES);
    if (size / STL_IMAGE_BYTES > INT_MAX) return nnclr_fail(NNCLR_ERR_FORMAT, "%s: too many images", xpath);
    int n = (int)(size / STL_IMAGE_BYTES);
    if (yname) {
        /* Check the label file before the (possibly large) image read. */
        uint64_t ysize;
        NNCLR_TRY(reader_file_size(ypath, &ysize));
        if (ysize != (uint64_t)n)
            return nnclr_fail(NNCLR_ERR_FORMAT, "%s: %llu labels for %d images in %s", ypath,
                              (unsigned long long)ysize, n, xpath);
    }
    NNCLR_TRY(dataset_alloc_common(out, n, STL_SIDE, STL_SIDE, 3, yname != NULL));
    nnclr_status s = stl_read_images(out, xpath);
    if (s == NNCLR_OK && yname) s = stl_read_labels(out, ypath);
    if (s == NNCLR_OK && yname) {
        char npath[4096];
        s = stl_path(npath, sizeof npath, dir, "class_names.txt");
        if (s == NNCLR_OK) s = dataset_load_class_names(out, 10, npath, stl10_names);
    }
    if (s != NNCLR_OK) dataset_free(out);
    return s;
}
