/* jpeg_decode.c - JPEG bytes -> 8-bit gray or RGB pixels, with libjpeg-turbo.
 *
 * libjpeg's default error handler prints and calls exit(); here the error manager formats the
 * message and longjmps back, so a corrupt file becomes an NNCLR_ERR_FORMAT naming the file. A
 * premature end of data is only a warning to libjpeg (it pads the image with gray); it is an
 * error here, because a half-gray image is not data. Other warnings (extraneous bytes before a
 * marker) leave a usable image and are ignored.
 *
 * With target_side > 0 the image is decoded at the smallest DCT scale k/8 whose shorter output
 * side is still >= target_side (or at full size when even 8/8 is not), which makes large photos
 * several times cheaper to decode before the random-resized crop. CMYK/YCCK files are converted
 * to RGB (Adobe files store inverted CMYK). Data flow: image_folder.c -> here -> dataset_image. */
#include "data/dataset.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

#include "core/status.h"

typedef struct {
    struct jpeg_error_mgr pub;   /* first: libjpeg casts cinfo->err to this */
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jpeg_error;

static void jpeg_error_exit(j_common_ptr cinfo) {
    jpeg_error *e = (jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->message);
    longjmp(e->jump, 1);
}

static void jpeg_emit_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return;   /* trace messages */
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_error_exit(cinfo);
    cinfo->err->num_warnings++;
}

nnclr_status jpeg_decode(dataset_image *out, const uint8_t *data, size_t size, int target_side,
                         const char *name) {
    memset(out, 0, sizeof *out);
    if (size < 4) return nnclr_fail(NNCLR_ERR_FORMAT, "%s: too short to be a JPEG file", name);
    struct jpeg_decompress_struct cinfo;
    jpeg_error err;
    /* Written after setjmp and read after longjmp: must be volatile. */
    uint8_t *volatile pixels = NULL;
    volatile int nomem = 0;
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = jpeg_error_exit;
    err.pub.emit_message = jpeg_emit_message;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        return nnclr_fail(nomem ? NNCLR_ERR_NOMEM : NNCLR_ERR_FORMAT, "%s: %s", name, err.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    int adobe_inverted = cmyk && cinfo.saw_Adobe_marker;
    if (cmyk) cinfo.out_color_space = JCS_CMYK;
    else if (cinfo.num_components == 1) cinfo.out_color_space = JCS_GRAYSCALE;
    else cinfo.out_color_space = JCS_RGB;
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.scale_num = 8;
    cinfo.scale_denom = 8;
    if (target_side > 0) {
        for (unsigned k = 1; k <= 8; k++) {
            cinfo.scale_num = k;
            jpeg_calc_output_dimensions(&cinfo);
            unsigned shorter = cinfo.output_width < cinfo.output_height ? cinfo.output_width
                                                                        : cinfo.output_height;
            if (shorter >= (unsigned)target_side) break;
        }
    }
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
    int in_c = cinfo.output_components, c = cmyk ? 3 : in_c;
    uint64_t bytes = (uint64_t)w * (uint64_t)h * (uint64_t)(in_c > c ? in_c : c);
    if (w <= 0 || h <= 0 || (in_c != 1 && in_c != 3 && in_c != 4) || bytes > DATASET_MAX_IMAGE_BYTES) {
        snprintf(err.message, sizeof err.message, "unsupported size %dx%dx%d", w, h, in_c);
        longjmp(err.jump, 1);
    }
    pixels = malloc((size_t)bytes);
    if (!pixels) {
        nomem = 1;
        snprintf(err.message, sizeof err.message, "out of memory for %dx%d pixels", w, h);
        longjmp(err.jump, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + (size_t)cinfo.output_scanline * w * in_c;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    uint8_t *px = pixels;   // px: (h, w, in_c) -> (h, w, c)
    if (cmyk) {
        size_t count = (size_t)w * h;
        for (size_t p = 0; p < count; p++) {
            int k = px[4 * p + 3];
            for (int ch = 0; ch < 3; ch++) {
                int v = px[4 * p + ch];
                px[3 * p + ch] = adobe_inverted ? (uint8_t)((v * k + 127) / 255)
                                                : (uint8_t)(((255 - v) * (255 - k) + 127) / 255);
            }
        }
    }
    *out = (dataset_image){.w = w, .h = h, .c = c, .pixels = px};
    return NNCLR_OK;
}
