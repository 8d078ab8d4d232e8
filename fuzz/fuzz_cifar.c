/* fuzz_cifar.c - libFuzzer harness for the CIFAR-10 / CIFAR-100 reader (src/data/cifar.c):
 * cifar10_load and cifar100_load on batch files written to a temporary directory.
 *
 * Input: a flags byte, then chunks (fuzz_common.h): the batch files of the chosen split in
 * order (CIFAR-10 train: data_batch_1..5.bin; test: test_batch.bin; CIFAR-100: train.bin or
 * test.bin), then, when flag bit 3 is set, the class-names text file. Flags: bit 0 CIFAR-100,
 * bit 1 coarse labels (CIFAR-100), bit 2 test split. A batch without a chunk is absent. A
 * loaded data set is checked (32x32x3, labels in range, every class named) and read whole. */
#include "fuzz_common.h"

#include "core/status.h"
#include "data/dataset.h"

static const char *const cifar10_train[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                            "data_batch_4.bin", "data_batch_5.bin"};
static const char *const cifar10_test[] = {"test_batch.bin"};
static const char *const cifar100_train[] = {"train.bin"};
static const char *const cifar100_test[] = {"test.bin"};
static const char *const name_files[] = {"batches.meta.txt", "fine_label_names.txt", "coarse_label_names.txt"};

static void check_loaded(const dataset *d, int num_classes) {
    if (d->n <= 0 || d->h != 32 || d->w != 32 || d->c != 3 || !d->pixels || !d->labels) abort();
    if (d->num_classes != num_classes || !d->class_names) abort();
    for (int k = 0; k < num_classes; k++)
        if (!d->class_names[k] || !d->class_names[k][0]) abort();
    unsigned sum = 0;
    for (size_t i = 0; i < (size_t)d->n * 32 * 32 * 3; i++) sum += d->pixels[i];
    for (int i = 0; i < d->n; i++)
        if (d->labels[i] < 0 || d->labels[i] >= num_classes) abort();
    if (sum == 0xffffffffu) fprintf(stderr, "%u\n", sum);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int flags = data[0];
    int c100 = flags & 1, coarse = flags & 2, test = flags & 4, names = flags & 8;
    const char *const *files = c100 ? (test ? cifar100_test : cifar100_train)
                                    : (test ? cifar10_test : cifar10_train);
    int nfiles = c100 || test ? 1 : 5;
    fuzz_chunk chunks[6];
    int n = fuzz_split(data + 1, size - 1, chunks, nfiles + 1);
    for (int f = 0; f < nfiles; f++) {
        if (f < n) fuzz_write(files[f], chunks[f].data, chunks[f].size);
        else fuzz_remove(files[f]);
    }
    const char *names_file = name_files[c100 ? (coarse ? 2 : 1) : 0];
    if (names && n > nfiles) fuzz_write(names_file, chunks[nfiles].data, chunks[nfiles].size);
    else fuzz_remove(names_file);

    dataset d;
    int split = test ? DATASET_TEST : DATASET_TRAIN;
    nnclr_status s = c100 ? cifar100_load(&d, fuzz_dir(), split, coarse != 0) : cifar10_load(&d, fuzz_dir(), split);
    if (s == NNCLR_OK) check_loaded(&d, c100 ? (coarse ? 20 : 100) : 10);
    else if (d.pixels || d.labels || d.images || d.class_names || d.n) abort();
    else if ((s == NNCLR_ERR_FORMAT || s == NNCLR_ERR_IO) && !strstr(nnclr_last_error(), fuzz_dir())) abort();
    dataset_free(&d);
    for (int f = 0; f < nfiles; f++) fuzz_remove(files[f]);
    fuzz_remove(names_file);
    return 0;
}
