/* png_decode.c - PNG bytes -> 8-bit gray or RGB pixels, with libpng.
 *
 * libpng reports errors by longjmp to png_jmpbuf; the error callback here keeps the message so
 * a corrupt file (bad CRC, truncated stream, bad header) becomes an NNCLR_ERR_FORMAT naming the
 * file. Warnings are dropped. Every color type ends as 8-bit gray (1 channel) or RGB (3): palette
 * expanded to RGB, gray below 8 bits expanded, 16-bit scaled to 8, alpha (and tRNS) dropped the
 * way PIL's convert("RGB") drops it, interlaced images de-interlaced.
 * Data flow: image_folder.c -> here -> dataset_image. */
#include "data/dataset.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>

#include "core/status.h"

typedef struct {
    const uint8_t *data;
    size_t size, pos;
    char message[256];
    int nomem;
} png_source;

static void png_error_fn(png_structp png, png_const_charp msg) {
    png_source *src = png_get_error_ptr(png);
    snprintf(src->message, sizeof src->message, "%s", msg);
    png_longjmp(png, 1);
}

static void png_warning_fn(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

static void png_read_fn(png_structp png, png_bytep dst, png_size_t len) {
    png_source *src = png_get_io_ptr(png);
    if (len > src->size - src->pos) png_error(png, "unexpected end of file");
    memcpy(dst, src->data + src->pos, len);
    src->pos += len;
}

nnclr_status png_decode(dataset_image *out, const uint8_t *data, size_t size, const char *name) {
    memset(out, 0, sizeof *out);
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0)
        return nnclr_fail(NNCLR_ERR_FORMAT, "%s: not a PNG file (bad signature)", name);
    png_source src = {.data = data, .size = size, .pos = 0};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_error_fn, png_warning_fn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        return nnclr_fail(NNCLR_ERR_NOMEM, "%s: out of memory creating the PNG reader", name);
    }
    /* Written after setjmp and read after longjmp: must be volatile. */
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(pixels);
        free(rows);
        return nnclr_fail(src.nomem ? NNCLR_ERR_NOMEM : NNCLR_ERR_FORMAT, "%s: %s", name, src.message);
    }
    png_set_read_fn(png, &src, png_read_fn);
    png_set_user_limits(png, 1u << 20, 1u << 20);
    png_read_info(png, info);
    png_uint_32 w, h;
    int depth, color, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &color, &interlace, NULL, NULL);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_scale_16(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int c = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    uint64_t bytes = (uint64_t)w * h * (uint64_t)c;
    if ((c != 1 && c != 3) || png_get_bit_depth(png, info) != 8 || rowbytes != (size_t)w * c)
        png_error(png, "unsupported pixel format after conversion");
    if (w == 0 || h == 0 || bytes > DATASET_MAX_IMAGE_BYTES) png_error(png, "image too large");
    pixels = malloc((size_t)bytes);
    rows = malloc(h * sizeof *rows);
    if (!pixels || !rows) {
        src.nomem = 1;
        png_error(png, "out of memory");
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = pixels + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    *out = (dataset_image){.w = (int)w, .h = (int)h, .c = c, .pixels = pixels};
    return NNCLR_OK;
}
