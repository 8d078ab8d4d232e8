/* fuzz_stl10.c - libFuzzer harness for the STL-10 reader (src/data/stl10.c): stl10_load on
 * image, label and class-name files written to a temporary directory.
 *
 * Input: a flags byte, then chunks (fuzz_common.h): the images file, the labels file, the
 * class_names.txt file; a missing chunk means a missing file. Flags & 3 picks the split:
 * 0 train, 1 test, 2 unlabelled (3 is passed through: an invalid split must be refused).
 * A loaded data set is checked (96x96x3, labels 0..9 or none) and read whole. */
#include "fuzz_common.h"

#include "core/status.h"
#include "data/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int split = data[0] & 3;
    static const char *const xnames[] = {"train_X.bin", "test_X.bin", "unlabeled_X.bin", "train_X.bin"};
    static const char *const ynames[] = {"train_y.bin", "test_y.bin", NULL, "train_y.bin"};
    fuzz_chunk chunks[3];
    int n = fuzz_split(data + 1, size - 1, chunks, 3);
    if (n > 0) fuzz_write(xnames[split], chunks[0].data, chunks[0].size);
    if (n > 1 && ynames[split]) fuzz_write(ynames[split], chunks[1].data, chunks[1].size);
    if (n > 2) fuzz_write("class_names.txt", chunks[2].data, chunks[2].size);

    dataset d;
    nnclr_status s = stl10_load(&d, fuzz_dir(), split);
    if (s == NNCLR_OK) {
        if (split == 3 || d.n <= 0 || d.h != 96 || d.w != 96 || d.c != 3 || !d.pixels) abort();
        if ((split == 2) != (d.labels == NULL)) abort();
        unsigned sum = 0;
        for (size_t i = 0; i < (size_t)d.n * 96 * 96 * 3; i++) sum += d.pixels[i];
        for (int i = 0; d.labels && i < d.n; i++)
            if (d.labels[i] < 0 || d.labels[i] > 9) abort();
        if (d.labels && (d.num_classes != 10 || !d.class_names)) abort();
        for (int k = 0; k < d.num_classes; k++)
            if (!d.class_names[k] || !d.class_names[k][0]) abort();
        if (sum == 0xffffffffu) fprintf(stderr, "%u\n", sum);
    } else if (d.pixels || d.labels || d.images || d.class_names || d.n) {
        abort();
    } else if ((s == NNCLR_ERR_FORMAT || s == NNCLR_ERR_IO) && !strstr(nnclr_last_error(), fuzz_dir())) {
        abort();
    }
    dataset_free(&d);
    fuzz_remove(xnames[split]);
    if (ynames[split]) fuzz_remove(ynames[split]);
    fuzz_remove("class_names.txt");
    return 0;
}
