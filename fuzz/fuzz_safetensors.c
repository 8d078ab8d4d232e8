/* fuzz_safetensors.c - the safetensors reader (src/io/safetensors.c) on arbitrary bytes: it must
 * accept or refuse with a status, never read outside the buffer or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    safetensors_file *f = NULL;
    if (safetensors_parse(&f, buf, size, "fuzz") == 0) {
        /* Touch every tensor's bytes: the ranges were checked. */
        volatile uint8_t sink = 0;
        for (int i = 0; i < f->count; i++)
            for (uint64_t b = f->entries[i].begin; b < f->entries[i].end; b++) sink ^= f->data[b];
        (void)sink;
        safetensors_free(f);
    }
    return 0;
}
