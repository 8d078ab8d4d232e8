/* dataset.h - an in-memory image data set: what every reader returns and what the augmentation
 * pipeline and loader consume. Images are uint8, HWC, all of one size (h, w, c) for the binary
 * formats; image folders keep per-image sizes (see images[]).
 *
 * Readers, one file per format, all fill a zeroed `dataset` and return an nnclr_status whose
 * message names the file and the reason ("cifar/data_batch_3.bin: size 30000 is not a multiple
 * of the 3073-byte record"):
 *
 *     idx.c           IDX ubyte (MNIST, Fashion-MNIST), raw or gzip
 *     cifar.c         CIFAR-10 / CIFAR-100 binary batches
 *     stl10.c         STL-10 binary (column-major planes, labels 1..10)
 *     image_folder.c  .jpg/.jpeg/.png under root/<class>/ (torchvision ImageFolder order) or a flat
 *                     unlabelled folder; decodes with jpeg_decode.c and png_decode.c
 *
 * dataset_open() picks the reader by format name:
 *
 *     dataset train = {0};
 *     nnclr_status s = dataset_open(&train, "fashion-mnist", "/usr/share/datasets/fashion-mnist",
 *                                   DATASET_TRAIN);
 *     ...
 *     dataset_free(&train);
 */
#ifndef NNCLR_DATA_DATASET_H
#define NNCLR_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "nnclr.h"

typedef struct {
    int w, h, c;          /* this image's size; c is 1 or 3 */
    uint8_t *pixels;      /* (h, w, c) row-major */
} dataset_image;

typedef struct {
    int n;                /* number of images */
    int h, w, c;          /* common size, or 0 when images differ in size (folders) */
    uint8_t *pixels;      /* (n, h, w, c) when sizes are common, else NULL */
    dataset_image *images;/* per-image views (always filled; point into pixels when common) */
    int *labels;          /* (n), or NULL when unlabelled */
    int num_classes;      /* 0 when unlabelled */
    char **class_names;   /* (num_classes) or NULL */
    int skipped;          /* folder files skipped as unreadable (each warned on stderr) */
    char **paths;         /* (n) the file of each image (folders), or NULL (binary formats) */
} dataset;

/* Which part of a data set dataset_open() reads. */
enum {
    DATASET_TRAIN = 0,
    DATASET_TEST = 1,
    DATASET_UNLABELLED = 2   /* STL-10's unlabeled_X.bin */
};

/* Limits past which a header is taken as corrupt rather than trusted. */
#define DATASET_MAX_IMAGE_BYTES ((uint64_t)1 << 31)  /* one image, h * w * c */
#define DATASET_MAX_BYTES ((uint64_t)1 << 36)        /* all pixels of one data set */

/* ---- life cycle (dataset.c) */

/* Frees everything the data set owns and zeroes it. Safe on a zeroed struct. */
void dataset_free(dataset *d);

/* Zeroes *d and allocates n images of one size: pixels (n, h, w, c) with images[] views into it,
 * and labels (n, zeroed) when `labelled`. num_classes and class_names are left to the caller.
 * Sizes must be > 0, c 1 or 3, and the total within DATASET_MAX_BYTES. */
nnclr_status dataset_alloc_common(dataset *d, int n, int h, int w, int c, int labelled);

/* out = the images src[index[0..n-1]] in that order, copied (out owns its memory; labels,
 * num_classes and class names carried over). */
nnclr_status dataset_subset(dataset *out, const dataset *src, const int *index, int n);

/* Held-out split: each class (or the whole set, when unlabelled) is shuffled with a stream keyed
 * by (seed, class) and round(count * test_fraction) of its images go to `test`, the rest to
 * `train`; both keep the source order. Same seed, same split. 0 < test_fraction < 1, and both
 * parts must end up non-empty. */
nnclr_status dataset_split(const dataset *src, double test_fraction, uint64_t seed,
                           dataset *train, dataset *test);

/* Sets num_classes and copies the names; names == NULL gives "0", "1", ... */
nnclr_status dataset_set_class_names(dataset *d, int num_classes, const char *const *names);

/* Class names from a text file with one name per line (blank lines ignored) when it exists and
 * holds exactly num_classes names; otherwise `fallback` (or "0", "1", ... when NULL). */
nnclr_status dataset_load_class_names(dataset *d, int num_classes, const char *path,
                                      const char *const *fallback);

/* ---- opening by name (dataset.c)
 *
 * format             path                                          split
 * "fashion-mnist",   dir with {train,t10k}-{images-idx3,labels-idx1}  TRAIN, TEST
 * "mnist", "idx"       -ubyte[.gz]
 * "cifar10"          dir with data_batch_1..5.bin, test_batch.bin  TRAIN, TEST
 * "cifar100"         dir with train.bin, test.bin (fine labels)    TRAIN, TEST
 * "cifar100-coarse"  the same, with the 20 coarse labels            TRAIN, TEST
 * "stl10"            dir with {train,test}_{X,y}.bin, unlabeled_X.bin  TRAIN, TEST, UNLABELLED
 * "folder"           root/<class>/... or a flat folder (unlabelled)   ignored: path names it
 *
 * target_side (> 0) lets large JPEGs in folders decode at a reduced DCT scale whose shorter side
 * is still >= target_side; 0 decodes at full size. dataset_open uses 0. */
nnclr_status dataset_open(dataset *out, const char *format, const char *path, int split);
nnclr_status dataset_open_sized(dataset *out, const char *format, const char *path, int split,
                                int target_side);

/* ---- readers */

/* idx.c: one IDX image file (magic 0x00000803: n, rows, cols; 1 channel) and optionally its label
 * file (magic 0x00000801: n). Either may be gzip-compressed. labels_path NULL: unlabelled.
 * num_classes = largest label + 1, names "0", "1", ... */
nnclr_status idx_load(dataset *out, const char *images_path, const char *labels_path);
/* The MNIST file naming in `dir`: train-* (split TRAIN) or t10k-* (TEST), with or without .gz. */
nnclr_status idx_load_dir(dataset *out, const char *dir, int split);

/* cifar.c: records of 1 label byte (CIFAR-10) or 2 (CIFAR-100: coarse, fine) + 3072 bytes of
 * 32x32 R, G, B planes, converted to HWC. */
nnclr_status cifar10_load(dataset *out, const char *dir, int split);
nnclr_status cifar100_load(dataset *out, const char *dir, int split, int coarse);

/* stl10.c: 96x96x3 images stored as column-major planes, labels 1..10 in the file (0..9 here). */
nnclr_status stl10_load(dataset *out, const char *dir, int split);

/* image_folder.c: labelled when root has class subfolders (sorted by name; files found
 * recursively, ordered like torchvision's ImageFolder), else the .jpg/.jpeg/.png files of root,
 * unlabelled. Hidden entries (".name") are ignored. A file that cannot be decoded is skipped
 * with a warning and counted in out->skipped; a missing or empty root, or a class without one
 * readable image, is an error. Every image has c = 1 when all are grayscale, else c = 3 (gray
 * ones expanded). When all decoded sizes agree the set is packed (h, w, c set, pixels common). */
nnclr_status image_folder_load(dataset *out, const char *root, int target_side);

/* Decoders (jpeg_decode.c, png_decode.c): from memory into out->pixels (malloc'd, free()),
 * c = 1 (gray) or 3 (RGB). `name` only labels error messages. */
nnclr_status jpeg_decode(dataset_image *out, const uint8_t *data, size_t size, int target_side,
                         const char *name);
nnclr_status png_decode(dataset_image *out, const uint8_t *data, size_t size, const char *name);
/* Reads a whole file and decodes it as JPEG or PNG by its leading bytes (image_folder.c). */
nnclr_status image_load_file(dataset_image *out, const char *path, int target_side);

/* ---- file routines the readers share (dataset.c) */

/* Size of a regular file; IO error naming the path when it is missing or not a regular file. */
nnclr_status reader_file_size(const char *path, uint64_t *size);
/* Reads exactly `bytes` bytes from an open file (IO / FORMAT error naming `path` otherwise). */
nnclr_status reader_read_exact(FILE *fp, void *dst, size_t bytes, const char *path);

#endif
