/* fuzz_png.c - libFuzzer harness for the PNG decoder (src/data/png_decode.c): png_decode of the
 * input bytes from memory.
 *
 * Checked on success: sizes positive, 1 or 3 channels, every pixel readable. Inputs whose IHDR
 * claims more than FUZZ_MAX_PIXELS pixels are skipped: the decoder accepts images up to
 * DATASET_MAX_IMAGE_BYTES (2 GiB) by design, which is a memory limit, not a finding. */
#include "fuzz_common.h"

#include "core/status.h"
#include "data/dataset.h"

#define FUZZ_MAX_PIXELS (1u << 22)

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* Signature (8), IHDR length and type (8), then width and height. */
    if (size >= 24 && (uint64_t)be32(data + 16) * be32(data + 20) > FUZZ_MAX_PIXELS) return 0;
    dataset_image im;
    nnclr_status s = png_decode(&im, data, size, "fuzz.png");
    if (s != NNCLR_OK) {
        if (im.pixels || !strstr(nnclr_last_error(), "fuzz.png")) abort();
        return 0;
    }
    if (im.w <= 0 || im.h <= 0 || (im.c != 1 && im.c != 3) || !im.pixels) abort();
    if ((uint64_t)im.w * im.h > FUZZ_MAX_PIXELS) abort();
    unsigned sum = 0;
    for (size_t i = 0; i < (size_t)im.w * im.h * im.c; i++) sum += im.pixels[i];
    if (sum == 0xffffffffu) fprintf(stderr, "%u\n", sum);
    free(im.pixels);
    return 0;
}
