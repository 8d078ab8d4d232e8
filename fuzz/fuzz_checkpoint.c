/* fuzz_checkpoint.c - libFuzzer harness for the checkpoint reader (src/io/checkpoint.c) and
 * the model-state table loader behind it (src/model/model_state.c): checkpoint_read of the
 * input bytes as a file, twice: as given, and with the trailing CRC-32 recomputed so that the
 * section parser behind the checksum is reached too.
 *
 * Checked: a refused file gives a NULL checkpoint and a message naming the path; an accepted
 * one has unique names, 64-byte aligned section data that can be read in full, survives a
 * checkpoint_write / checkpoint_read round trip with the same sections, and is offered to
 * model_state_load_table with a three-tensor table ("params.names" lines "<name> <offset>
 * <size>" pointing into "params"), which must never read outside the section. */
#include "fuzz_common.h"

#include <zlib.h>

#include "core/status.h"
#include "core/tensors.h"
#include "io/checkpoint.h"
#include "model/model_state.h"

/* w (4, 8), b (8), bn.weight (5): offsets 0, 32, 48 (16-float aligned), 64 floats. */
static const tensor_table *fuzz_table(void) {
    static tensor_table t;
    static int ready;
    if (!ready) {
        static const int w[2] = {4, 8}, b[1] = {8}, g[1] = {5};
        size_t off;
        tensor_table_init(&t);
        if (tensor_table_add(&t, "w", 2, w, TENSOR_WEIGHT, &off) != NNCLR_OK ||
            tensor_table_add(&t, "b", 1, b, TENSOR_NO_DECAY, &off) != NNCLR_OK ||
            tensor_table_add(&t, "bn.weight", 1, g, TENSOR_NO_DECAY, &off) != NNCLR_OK ||
            tensor_table_alloc(&t) != NNCLR_OK)
            abort();
        ready = 1;
    }
    return &t;
}

static void check_same(const checkpoint *a, const checkpoint *b) {
    if (checkpoint_count(a) != checkpoint_count(b)) abort();
    for (int i = 0; i < checkpoint_count(a); i++) {
        size_t la, lb;
        const char *na = checkpoint_name_at(a, i, &la), *nb = checkpoint_name_at(b, i, &lb);
        if (!na || !nb || strcmp(na, nb) != 0 || la != lb) abort();
        const void *da, *db;
        size_t ga, gb;
        if (checkpoint_get(a, na, &da, &ga) != NNCLR_OK || checkpoint_get(b, nb, &db, &gb) != NNCLR_OK) abort();
        if (ga != la || gb != lb || (la && memcmp(da, db, la) != 0)) abort();
    }
}

static void read_one(const uint8_t *data, size_t size) {
    const char *path = fuzz_write("in.ckpt", data, size);
    checkpoint *ck = (checkpoint *)&ck;
    nnclr_status s = checkpoint_read(&ck, path);
    if (s != NNCLR_OK) {
        if (ck != NULL || !strstr(nnclr_last_error(), path)) abort();
        return;
    }
    unsigned sum = 0;
    int n = checkpoint_count(ck);
    if (n < 0 || checkpoint_name_at(ck, n, NULL) != NULL) abort();
    for (int i = 0; i < n; i++) {
        size_t len;
        const char *name = checkpoint_name_at(ck, i, &len);
        if (!name || !name[0] || strlen(name) > CHECKPOINT_NAME_MAX) abort();
        const void *p;
        size_t got;
        if (checkpoint_get(ck, name, &p, &got) != NNCLR_OK || got != len) abort();
        if (len && ((uintptr_t)p & 63)) abort();
        for (size_t k = 0; k < len; k++) sum += ((const uint8_t *)p)[k];
        for (int j = 0; j < i; j++)
            if (strcmp(checkpoint_name_at(ck, j, NULL), name) == 0) abort();
    }
    const tensor_table *t = fuzz_table();
    if (model_state_load_table(ck, "params", t, t->data) == NNCLR_OK) {
        const uint8_t *bytes = (const uint8_t *)t->data;
        for (size_t k = 0; k < t->total * sizeof(float); k++) sum += bytes[k];
    }
    const char *copy = fuzz_path("copy.ckpt");
    if (checkpoint_write(ck, copy) != NNCLR_OK) abort();
    checkpoint *back;
    if (checkpoint_read(&back, copy) != NNCLR_OK) abort();
    check_same(ck, back);
    checkpoint_free(back);
    checkpoint_free(ck);
    fuzz_remove("copy.ckpt");
    if (sum == 0xffffffffu) fprintf(stderr, "%u\n", sum);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    read_one(data, size);
    if (size >= 4) {
        uint8_t *fixed = malloc(size);
        if (!fixed) return 0;
        memcpy(fixed, data, size);
        uint32_t crc = (uint32_t)crc32_z(crc32_z(0, Z_NULL, 0), fixed, size - 4);
        for (int i = 0; i < 4; i++) fixed[size - 4 + i] = (uint8_t)(crc >> (8 * i));
        read_one(fixed, size);
        free(fixed);
    }
    fuzz_remove("in.ckpt");
    return 0;
}
