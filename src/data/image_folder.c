/* image_folder.c - a folder of JPEG/PNG files into a dataset, ordered like torchvision's
 * ImageFolder.
 *
 * Labelled: root/<class>/... with one subfolder per class; classes sorted by name (byte order),
 * each class folder searched recursively, files ordered by (folder path, file name) - the order
 * of Python's sorted(os.walk(...)) then sorted(file names). Flat: a root without subfolders is
 * one unlabelled set of its image files. Only names ending in .jpg, .jpeg or .png (any case)
 * are considered; hidden entries (".name") are ignored. The decoder is chosen by the file's
 * leading bytes, not its name.
 *
 * Policy: one unreadable, corrupt or non-image file among many is a warning on stderr naming the
 * file and reason; it is skipped and counted in dataset.skipped. A missing root, a root with no
 * class folders and no images, or a class with no readable image is an error. Symlinked folders
 * are followed, but each folder is entered at most once per class (tracked by device and inode,
 * with root counted as entered), so a symlink loop ends after one level with a warning. Files
 * are decoded in parallel (OpenMP); messages are printed afterwards in file order.
 * Data flow: dataset_open("folder") -> here (-> jpeg_decode.c / png_decode.c) -> dataset. */
#define _POSIX_C_SOURCE 200809L
#include "data/dataset.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cancel.h"
#include "core/status.h"

#define FOLDER_MAX_DEPTH 64
#define FOLDER_MAX_FILE_BYTES ((uint64_t)1 << 30)

typedef struct {
    char *dir;    /* folder holding the file (sort key 1) */
    char *name;   /* file name (sort key 2) */
    char *path;   /* dir/name */
    int label;    /* class index, or -1 when flat */
} folder_file;

typedef struct {
    folder_file *v;
    size_t n, cap;
} file_list;

typedef struct {
    dev_t dev;
    ino_t ino;
} dir_id;

typedef struct {
    dir_id *v;
    size_t n, cap;
} dir_set;

typedef struct {
    char **v;
    size_t n, cap;
} name_list;

/* ---- reading one file */

nnclr_status image_load_file(dataset_image *out, const char *path, int target_side) {
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);   /* a FIFO must not block */
    if (fd < 0) return nnclr_fail(NNCLR_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return nnclr_fail(NNCLR_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return nnclr_fail(NNCLR_ERR_FORMAT, "%s: empty file", path);
    }
    if ((uint64_t)st.st_size > FOLDER_MAX_FILE_BYTES) {
        close(fd);
        return nnclr_fail(NNCLR_ERR_FORMAT, "%s: %lld bytes is too large for an image file", path,
                          (long long)st.st_size);
    }
    size_t size = (size_t)st.st_size, got = 0;
    uint8_t *data = malloc(size);
    if (!data) {
        close(fd);
        return nnclr_fail(NNCLR_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, size);
    }
    while (got < size) {
        ssize_t r = read(fd, data + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            nnclr_status s = r < 0 ? nnclr_fail(NNCLR_ERR_IO, "%s: %s", path, strerror(errno))
                                   : nnclr_fail(NNCLR_ERR_IO, "%s: file shrank while reading", path);
            close(fd);
            free(data);
            return s;
        }
        got += (size_t)r;
    }
    close(fd);
    nnclr_status s;
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        s = jpeg_decode(out, data, size, target_side, path);
    else if (size >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0)
        s = png_decode(out, data, size, path);
    else
        s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: not a JPEG or PNG image", path);
    free(data);
    return s;
}

/* ---- listing */

static int is_image_name(const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) return 0;
    return strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0 ||
           strcasecmp(dot, ".png") == 0;
}

static char *path_join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    while (la > 1 && a[la - 1] == '/') la--;
    char *p = nnclr_malloc(la + lb + 2);
    if (!p) return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

static char *string_copy(const char *s) {
    size_t len = strlen(s);
    char *p = nnclr_malloc(len + 1);
    if (p) memcpy(p, s, len + 1);
    return p;
}

static int grow(void **v, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 1;
    size_t cap2 = *cap ? *cap * 2 : 64;
    while (cap2 < need) cap2 *= 2;
    void *p = realloc(*v, cap2 * elem);
    if (!p) {
        nnclr_fail(NNCLR_ERR_NOMEM, "out of memory listing an image folder");
        return 0;
    }
    *v = p;
    *cap = cap2;
    return 1;
}

static void name_list_free(name_list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Non-hidden entry names of `dir`, sorted. */
static nnclr_status read_names(const char *dir, name_list *out) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return nnclr_fail(NNCLR_ERR_IO, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    nnclr_status s = NNCLR_OK;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (!grow((void **)&out->v, &out->cap, out->n + 1, sizeof *out->v)) {
            s = NNCLR_ERR_NOMEM;
            break;
        }
        out->v[out->n] = string_copy(e->d_name);
        if (!out->v[out->n]) {
            s = NNCLR_ERR_NOMEM;
            break;
        }
        out->n++;
    }
    closedir(d);
    if (s != NNCLR_OK) {
        name_list_free(out);
        return s;
    }
    if (out->n > 1) qsort(out->v, out->n, sizeof *out->v, name_cmp);
    return NNCLR_OK;
}

static nnclr_status file_list_push(file_list *l, const char *dir, const char *name, int label) {
    if (!grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v)) return NNCLR_ERR_NOMEM;
    folder_file *f = &l->v[l->n];
    f->dir = string_copy(dir);
    f->name = string_copy(name);
    f->path = path_join(dir, name);
    f->label = label;
    if (!f->dir || !f->name || !f->path) {
        free(f->dir);
        free(f->name);
        free(f->path);
        return NNCLR_ERR_NOMEM;
    }
    l->n++;
    return NNCLR_OK;
}

static void file_list_free(file_list *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].dir);
        free(l->v[i].name);
        free(l->v[i].path);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int file_cmp(const void *a, const void *b) {
    const folder_file *x = a, *y = b;
    int c = strcmp(x->dir, y->dir);
    return c ? c : strcmp(x->name, y->name);
}

/* Adds the image files under `dir` (recursively) with `label`. Folders already in `seen` are
 * not entered again (symlink loops); a nested folder that cannot be read is a warning. */
static nnclr_status walk(const char *dir, int label, int depth, dir_set *seen, file_list *files) {
    struct stat st;
    if (stat(dir, &st) != 0) return nnclr_fail(NNCLR_ERR_IO, "%s: %s", dir, strerror(errno));
    for (size_t i = 0; i < seen->n; i++) {
        if (seen->v[i].dev == st.st_dev && seen->v[i].ino == st.st_ino) {
            fprintf(stderr, "nnclr: warning: %s: folder already visited (symlink loop), not entered\n", dir);
            return NNCLR_OK;
        }
    }
    if (!grow((void **)&seen->v, &seen->cap, seen->n + 1, sizeof *seen->v)) return NNCLR_ERR_NOMEM;
    seen->v[seen->n++] = (dir_id){st.st_dev, st.st_ino};
    name_list names;
    NNCLR_TRY(read_names(dir, &names));
    nnclr_status s = NNCLR_OK;
    for (size_t i = 0; i < names.n && s == NNCLR_OK; i++) {
        char *path = path_join(dir, names.v[i]);
        if (!path) {
            s = NNCLR_ERR_NOMEM;
            break;
        }
        struct stat est;
        int ok = stat(path, &est) == 0;
        if (ok && S_ISDIR(est.st_mode)) {
            if (depth + 1 > FOLDER_MAX_DEPTH) {
                fprintf(stderr, "nnclr: warning: %s: deeper than %d folders, not entered\n", path,
                        FOLDER_MAX_DEPTH);
            } else {
                s = walk(path, label, depth + 1, seen, files);
                if (s == NNCLR_ERR_IO) {
                    fprintf(stderr, "nnclr: warning: %s, not entered\n", nnclr_last_error());
                    s = NNCLR_OK;
                }
            }
        } else if (is_image_name(names.v[i]) && (!ok || S_ISREG(est.st_mode))) {
            /* Unstat-able names (dangling links) are kept: decoding reports why they fail. */
            s = file_list_push(files, dir, names.v[i], label);
        }
        free(path);
    }
    name_list_free(&names);
    return s;
}

/* ---- assembling */

/* Gray (h, w, 1) -> RGB (h, w, 3), replacing the image's buffer. */
static nnclr_status image_expand_rgb(dataset_image *im) {
    size_t count = (size_t)im->w * im->h;
    uint8_t *rgb = malloc(count * 3);
    if (!rgb) return nnclr_fail(NNCLR_ERR_NOMEM, "out of memory expanding a gray image");
    for (size_t p = 0; p < count; p++) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = im->pixels[p];
    free(im->pixels);
    im->pixels = rgb;
    im->c = 3;
    return NNCLR_OK;
}

/* Moves the decoded images into out: channels unified, packed when all sizes agree. */
static nnclr_status folder_assemble(dataset *out, dataset_image *decoded, const int *labels, int n,
                                    int labelled) {
    int all_gray = 1, same = 1;
    for (int i = 0; i < n; i++) {
        all_gray &= decoded[i].c == 1;
        same &= decoded[i].w == decoded[0].w && decoded[i].h == decoded[0].h;
    }
    int c = all_gray ? 1 : 3;
    for (int i = 0; i < n; i++) {
        if (decoded[i].c != c) NNCLR_TRY(image_expand_rgb(&decoded[i]));
    }
    uint64_t total = 0;
    for (int i = 0; i < n; i++) total += (uint64_t)decoded[i].w * decoded[i].h * c;
    if (total > DATASET_MAX_BYTES)
        return nnclr_fail(NNCLR_ERR_FORMAT, "image folder: %d images exceed the size limit", n);
    if (same) {
        NNCLR_TRY(dataset_alloc_common(out, n, decoded[0].h, decoded[0].w, c, labelled));
        size_t bytes = (size_t)decoded[0].w * decoded[0].h * c;
        for (int i = 0; i < n; i++) {
            memcpy(out->images[i].pixels, decoded[i].pixels, bytes);
            free(decoded[i].pixels);
            decoded[i].pixels = NULL;
        }
    } else {
        memset(out, 0, sizeof *out);
        out->images = nnclr_calloc((size_t)n, sizeof *out->images);
        out->labels = labelled ? nnclr_calloc((size_t)n, sizeof *out->labels) : NULL;
        if (!out->images || (labelled && !out->labels)) {
            dataset_free(out);
            return NNCLR_ERR_NOMEM;
        }
        out->n = n;
        out->c = c;
        for (int i = 0; i < n; i++) {
            out->images[i] = decoded[i];
            decoded[i].pixels = NULL;
        }
    }
    if (labelled) memcpy(out->labels, labels, (size_t)n * sizeof *labels);
    return NNCLR_OK;
}

nnclr_status image_folder_load(dataset *out, const char *root, int target_side) {
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(root, &st) != 0) return nnclr_fail(NNCLR_ERR_IO, "%s: %s", root, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return nnclr_fail(NNCLR_ERR_IO, "%s: not a directory", root);

    name_list entries, classes = {0};
    file_list files = {0};
    dir_set seen = {0};
    dataset_image *decoded = NULL;
    int *status = NULL, *labels = NULL, *good = NULL;
    char **paths = NULL;
    char **reasons = NULL;
    size_t nfiles = 0;
    NNCLR_TRY(read_names(root, &entries));
    nnclr_status s = NNCLR_OK;

    /* Classes are the subfolders of root; without any, root's own images (flat). */
    for (size_t i = 0; i < entries.n && s == NNCLR_OK; i++) {
        char *path = path_join(root, entries.v[i]);
        if (!path) {
            s = NNCLR_ERR_NOMEM;
            break;
        }
        struct stat est;
        if (stat(path, &est) == 0 && S_ISDIR(est.st_mode)) {
            if (!grow((void **)&classes.v, &classes.cap, classes.n + 1, sizeof *classes.v))
                s = NNCLR_ERR_NOMEM;
            else if (!(classes.v[classes.n] = string_copy(entries.v[i]))) s = NNCLR_ERR_NOMEM;
            else classes.n++;
        }
        free(path);
    }
    if (s != NNCLR_OK) goto done;
    if (classes.n > INT_MAX / 2) {
        s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: too many class folders", root);
        goto done;
    }
    int labelled = classes.n > 0;
    if (labelled) {
        for (size_t k = 0; k < classes.n; k++) {
            char *cdir = path_join(root, classes.v[k]);
            if (!cdir) {
                s = NNCLR_ERR_NOMEM;
                goto done;
            }
            size_t before = files.n;
            /* root itself counts as visited, so a link back to it is not entered either */
            seen.n = 0;
            if (!grow((void **)&seen.v, &seen.cap, 1, sizeof *seen.v)) {
                free(cdir);
                s = NNCLR_ERR_NOMEM;
                goto done;
            }
            seen.v[seen.n++] = (dir_id){st.st_dev, st.st_ino};
            s = walk(cdir, (int)k, 0, &seen, &files);
            if (s == NNCLR_OK && files.n == before)
                s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: class folder has no .jpg, .jpeg or .png files", cdir);
            free(cdir);
            if (s != NNCLR_OK) goto done;
            qsort(files.v + before, files.n - before, sizeof *files.v, file_cmp);
        }
    } else {
        for (size_t i = 0; i < entries.n && s == NNCLR_OK; i++) {
            if (!is_image_name(entries.v[i])) continue;
            char *path = path_join(root, entries.v[i]);
            if (!path) {
                s = NNCLR_ERR_NOMEM;
                break;
            }
            struct stat est;
            if (stat(path, &est) != 0 || S_ISREG(est.st_mode))
                s = file_list_push(&files, root, entries.v[i], -1);
            free(path);
        }
        if (s != NNCLR_OK) goto done;
        if (files.n == 0) {
            s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: empty: no class folders and no .jpg, .jpeg or .png files",
                           root);
            goto done;
        }
    }
    if (files.n > INT_MAX) {
        s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: too many files", root);
        goto done;
    }
    nfiles = files.n;
    decoded = nnclr_calloc(nfiles, sizeof *decoded);
    status = nnclr_calloc(nfiles, sizeof *status);
    reasons = nnclr_calloc(nfiles, sizeof *reasons);
    labels = nnclr_calloc(nfiles, sizeof *labels);
    paths = nnclr_calloc(nfiles, sizeof *paths);
    good = nnclr_calloc(classes.n + 1, sizeof *good);
    if (!decoded || !status || !reasons || !labels || !paths || !good) {
        s = NNCLR_ERR_NOMEM;
        goto done;
    }

    /* Decode in parallel; each failure keeps its message (the message buffer is per thread). */
    #pragma omp parallel for schedule(dynamic, 8)
    for (long i = 0; i < (long)nfiles; i++) {
        if (cancel_requested()) {   /* a signal: the remaining files are not decoded */
            status[i] = NNCLR_ERR_INTERRUPTED;
            continue;
        }
        status[i] = image_load_file(&decoded[i], files.v[i].path, target_side);
        if (status[i] != NNCLR_OK) {
            reasons[i] = string_copy(nnclr_last_error());
            if (!reasons[i]) status[i] = NNCLR_ERR_NOMEM;
        }
    }

    int n = 0;
    for (size_t i = 0; i < nfiles; i++)
        if (status[i] == NNCLR_ERR_INTERRUPTED) {
            s = nnclr_fail(NNCLR_ERR_INTERRUPTED, "%s: reading stopped at file %zu of %zu", root, i, nfiles);
            goto done;
        }
    for (size_t i = 0; i < nfiles; i++) {
        if (status[i] == NNCLR_ERR_NOMEM) {
            s = nnclr_fail(NNCLR_ERR_NOMEM, "%s", reasons[i] ? reasons[i] : "out of memory decoding images");
            goto done;
        }
    }
    for (size_t i = 0; i < nfiles; i++) {
        if (status[i] != NNCLR_OK) {
            fprintf(stderr, "nnclr: warning: skipped %s\n", reasons[i]);
            out->skipped++;
            continue;
        }
        good[labelled ? files.v[i].label : 0]++;
        decoded[n] = decoded[i];
        if (i != (size_t)n) memset(&decoded[i], 0, sizeof decoded[i]);
        paths[n] = files.v[i].path;   /* moved: the file list no longer owns it */
        files.v[i].path = NULL;
        labels[n++] = files.v[i].label;
    }
    for (size_t k = 0; k < (labelled ? classes.n : 1); k++) {
        if (good[k] == 0) {
            char *cdir = labelled ? path_join(root, classes.v[k]) : NULL;
            s = nnclr_fail(NNCLR_ERR_FORMAT, "%s: no readable image (%d files skipped)",
                           cdir ? cdir : root, out->skipped);
            free(cdir);
            goto done;
        }
    }
    if (out->skipped > 0)
        fprintf(stderr, "nnclr: warning: %s: skipped %d unreadable files of %zu\n", root, out->skipped,
                nfiles);
    int skipped = out->skipped;
    s = folder_assemble(out, decoded, labels, n, labelled);
    if (s == NNCLR_OK && labelled)
        s = dataset_set_class_names(out, (int)classes.n, (const char *const *)classes.v);
    if (s == NNCLR_OK) {
        out->skipped = skipped;
        out->paths = paths;
        paths = NULL;
    }

done:
    if (s != NNCLR_OK) dataset_free(out);
    if (decoded) {
        for (size_t i = 0; i < nfiles; i++) free(decoded[i].pixels);
    }
    if (reasons) {
        for (size_t i = 0; i < nfiles; i++) free(reasons[i]);
    }
    free(decoded);
    free(status);
    free(reasons);
    free(labels);
    if (paths) {
        for (size_t i = 0; i < nfiles; i++) free(paths[i]);
        free(paths);
    }
    free(good);
    free(seen.v);
    file_list_free(&files);
    name_list_free(&classes);
    name_list_free(&entries);
    return s;
}
