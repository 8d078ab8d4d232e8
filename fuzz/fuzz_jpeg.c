/* fuzz_jpeg.c - libFuzzer harness for the JPEG decoder (src/data/jpeg_decode.c): jpeg_decode of
 * the input bytes from memory, at full size and, when that succeeds, again at a reduced DCT
 * scale (target side 1 + last byte % 128).
 *
 * Checked on success: sizes positive, 1 or 3 channels, every pixel readable, and the scaled
 * decode no larger than the full one with its shorter side >= the target unless it is the full
 * size. Files whose header claims more than FUZZ_MAX_PIXELS pixels are skipped before decoding:
 * the decoder accepts images up to DATASET_MAX_IMAGE_BYTES (2 GiB) by design, and filling that
 * much memory from a few hundred bytes is slow, not a bug. */
#include "fuzz_common.h"

#include <setjmp.h>
#include <jpeglib.h>

#include "core/status.h"
#include "data/dataset.h"

#define FUZZ_MAX_PIXELS (1u << 22)

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
} header_error;

static void header_error_exit(j_common_ptr cinfo) { longjmp(((header_error *)cinfo->err)->jump, 1); }
static void header_message(j_common_ptr cinfo, int level) { (void)cinfo; (void)level; }

/* Width * height from the header, or 0 when there is no readable header. */
static uint64_t header_pixels(const uint8_t *data, size_t size) {
    struct jpeg_decompress_struct cinfo;
    header_error err;
    volatile uint64_t pixels = 0;
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = header_error_exit;
    err.pub.emit_message = header_message;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return pixels;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    if (jpeg_read_header(&cinfo, TRUE) == JPEG_HEADER_OK)
        pixels = (uint64_t)cinfo.image_width * cinfo.image_height;
    jpeg_destroy_decompress(&cinfo);
    return pixels;
}

static unsigned check_image(const dataset_image *im) {
    if (im->w <= 0 || im->h <= 0 || (im->c != 1 && im->c != 3) || !im->pixels) abort();
    unsigned sum = 0;
    for (size_t i = 0; i < (size_t)im->w * im->h * im->c; i++) sum += im->pixels[i];
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size >= 4 && header_pixels(data, size) > FUZZ_MAX_PIXELS) return 0;
    dataset_image full;
    nnclr_status s = jpeg_decode(&full, data, size, 0, "fuzz.jpg");
    if (s != NNCLR_OK) {
        if (full.pixels || !strstr(nnclr_last_error(), "fuzz.jpg")) abort();
        return 0;
    }
    unsigned sum = check_image(&full);
    int target = 1 + data[size - 1] % 128;
    dataset_image scaled;
    s = jpeg_decode(&scaled, data, size, target, "fuzz.jpg");
    if (s == NNCLR_OK) {
        sum += check_image(&scaled);
        if (scaled.w > full.w || scaled.h > full.h || scaled.c != full.c) abort();
        int shorter = scaled.w < scaled.h ? scaled.w : scaled.h;
        if (shorter < target && (scaled.w != full.w || scaled.h != full.h)) abort();
        free(scaled.pixels);
    }
    free(full.pixels);
    if (sum == 0xffffffffu) fprintf(stderr, "%u\n", sum);
    return 0;
}
