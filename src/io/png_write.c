/* png_write.c - libpng encoder into an atomic_file, and the image grid. See png_write.h. */
#include "io/png_write.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/status.h"
#include "io/atomic_file.h"

/* Shared with libpng's callbacks. Heap-allocated so that nothing the callbacks change lives in
 * an automatic variable of the function that called setjmp. */
typedef struct {
    atomic_file *af;     /* the file, or NULL: into mem */
    uint8_t *mem;
    size_t len, cap;
    int io_failed;       /* atomic_write failed: its message is already set */
    char msg[256];       /* libpng's own error text */
} png_sink;

static void sink_write(png_structp png, png_bytep data, size_t n) {
    png_sink *sink = png_get_io_ptr(png);
    if (!sink->af) {
        if (sink->len + n > sink->cap) {
            size_t cap = sink->cap ? sink->cap : 4096;
            while (cap < sink->len + n) cap *= 2;
            uint8_t *m = realloc(sink->mem, cap);
            if (!m) {
                snprintf(sink->msg, sizeof sink->msg, "out of memory");
                png_error(png, "out of memory");
            }
            sink->mem = m;
            sink->cap = cap;
        }
        memcpy(sink->mem + sink->len, data, n);
        sink->len += n;
        return;
    }
    if (atomic_write(sink->af, data, n) != NNCLR_OK) {
        sink->io_failed = 1;
        png_error(png, "write failed");
    }
}

/* Data reach the disk in atomic_commit. */
static void sink_flush(png_structp png) { (void)png; }

static void sink_error(png_structp png, png_const_charp msg) {
    png_sink *sink = png_get_error_ptr(png);
    snprintf(sink->msg, sizeof sink->msg, "%s", msg ? msg : "unknown error");
    png_longjmp(png, 1);
}

static void sink_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

/* Encodes into sink (its file, or its memory buffer when af is NULL). name labels messages. */
static nnclr_status png_encode_sink(png_sink *sink, const char *name, const uint8_t *pixels, int w, int h,
                                    int channels) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, sink, sink_error, sink_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, NULL);
        return nnclr_fail(NNCLR_ERR_NOMEM, "%s: libpng could not allocate its state", name);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return sink->io_failed ? NNCLR_ERR_IO : nnclr_fail(NNCLR_ERR_IO, "%s: libpng: %s", name, sink->msg);
    }
    png_set_write_fn(png, sink, sink_write, sink_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
                 channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    size_t stride = (size_t)w * (size_t)channels;
    for (int y = 0; y < h; y++) png_write_row(png, (png_const_bytep)(pixels + (size_t)y * stride));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return NNCLR_OK;
}

nnclr_status png_write(const char *path, const uint8_t *pixels, int w, int h, int channels) {
    if (w <= 0 || h <= 0 || (channels != 1 && channels != 3))
        return nnclr_fail(NNCLR_ERR_ARG, "%s: cannot write a %d x %d PNG with %d channels",
                          path, w, h, channels);
    png_sink *sink = nnclr_calloc(1, sizeof *sink);
    if (!sink) return NNCLR_ERR_NOMEM;
    nnclr_status s = atomic_open(&sink->af, path);
    if (s == NNCLR_OK) s = png_encode_sink(sink, path, pixels, w, h, channels);
    if (s == NNCLR_OK) s = atomic_commit(sink->af);
    else if (sink->af) atomic_abort(sink->af);
    free(sink);
    return s;
}

nnclr_status png_encode(const uint8_t *pixels, int w, int h, int channels, uint8_t **data, size_t *len) {
    *data = NULL;
    *len = 0;
    if (w <= 0 || h <= 0 || (channels != 1 && channels != 3))
        return nnclr_fail(NNCLR_ERR_ARG, "cannot encode a %d x %d PNG with %d channels", w, h, channels);
    png_sink *sink = nnclr_calloc(1, sizeof *sink);
    if (!sink) return NNCLR_ERR_NOMEM;
    nnclr_status s = png_encode_sink(sink, "PNG", pixels, w, h, channels);
    if (s == NNCLR_OK) {
        *data = sink->mem;
        *len = sink->len;
    } else {
        free(sink->mem);
    }
    free(sink);
    return s;
}

static const uint8_t border_rgb[4][3] = {
    {160, 160, 160},   /* neutral */
    {40, 170, 60},     /* agree */
    {220, 40, 40},     /* disagree */
    {40, 90, 220},     /* query */
};

int image_grid_auto_scale(int h, int w) {
    int side = h < w ? h : w;
    if (side <= 0) return 1;
    int s = (56 + side - 1) / side;
    return s < 1 ? 1 : s > 16 ? 16 : s;
}

nnclr_status image_grid_init(image_grid *g, int rows, int cols, int h, int w, int c, int scale,
                             int border) {
    memset(g, 0, sizeof *g);
    if (rows <= 0 || cols <= 0 || h <= 0 || w <= 0 || (c != 1 && c != 3) || border < 0 ||
        scale > 64 || border > 64)
        return nnclr_fail(NNCLR_ERR_ARG, "image grid: bad layout (%d x %d cells of %d x %d x %d, "
                          "scale %d, border %d)", rows, cols, h, w, c, scale, border);
    if (scale <= 0) scale = image_grid_auto_scale(h, w);
    g->rows = rows;
    g->cols = cols;
    g->h = h;
    g->w = w;
    g->c = c;
    g->scale = scale;
    g->border = border;
    g->gap = 2;
    g->cell_h = h * scale + 2 * border;
    g->cell_w = w * scale + 2 * border;
    double oh = (double)rows * g->cell_h + (double)(rows + 1) * g->gap;
    double ow = (double)cols * g->cell_w + (double)(cols + 1) * g->gap;
    if (oh > 32768 || ow > 32768)
        return nnclr_fail(NNCLR_ERR_ARG, "image grid: %.0f x %.0f pixels is too large", oh, ow);
    g->out_h = (int)oh;
    g->out_w = (int)ow;
    size_t bytes = (size_t)g->out_h * (size_t)g->out_w * 3;
    g->pixels = nnclr_malloc(bytes);
    if (!g->pixels) return NNCLR_ERR_NOMEM;
    memset(g->pixels, 255, bytes);
    return NNCLR_OK;
}

void image_grid_free(image_grid *g) {
    free(g->pixels);
    memset(g, 0, sizeof *g);
}

/* Frame the cell in its border colour and return a pointer to the cell's top-left image
 * pixel, or NULL on a bad cell. */
static uint8_t *grid_cell(image_grid *g, int row, int col, grid_border b) {
    if (!g->pixels || row < 0 || row >= g->rows || col < 0 || col >= g->cols ||
        (int)b < 0 || (int)b > GRID_BORDER_QUERY) {
        nnclr_fail(NNCLR_ERR_ARG, "image grid: no cell (%d, %d) with border %d in a %d x %d grid",
                   row, col, (int)b, g->rows, g->cols);
        return NULL;
    }
    size_t stride = (size_t)g->out_w * 3;
    int y0 = g->gap + row * (g->cell_h + g->gap);
    int x0 = g->gap + col * (g->cell_w + g->gap);
    for (int y = 0; y < g->cell_h; y++) {
        uint8_t *p = g->pixels + (size_t)(y0 + y) * stride + (size_t)x0 * 3;
        for (int x = 0; x < g->cell_w; x++) memcpy(p + 3 * x, border_rgb[b], 3);
    }
    return g->pixels + (size_t)(y0 + g->border) * stride + (size_t)(x0 + g->border) * 3;
}

/* Nearest-neighbour upscale of one source pixel (rgb) into a scale x scale block. */
static void grid_block(uint8_t *dst, size_t stride, int scale, const uint8_t rgb[3]) {
    for (int dy = 0; dy < scale; dy++)
        for (int dx = 0; dx < scale; dx++) memcpy(dst + (size_t)dy * stride + 3 * dx, rgb, 3);
}

nnclr_status image_grid_put_u8(image_grid *g, int row, int col, const uint8_t *img, grid_border b) {
    uint8_t *dst = grid_cell(g, row, col, b);
    if (!dst) return NNCLR_ERR_ARG;
    size_t stride = (size_t)g->out_w * 3;
    for (int y = 0; y < g->h; y++)
        for (int x = 0; x < g->w; x++) {
            const uint8_t *src = img + ((size_t)y * g->w + x) * g->c;
            uint8_t rgb[3] = {src[0], src[g->c == 3 ? 1 : 0], src[g->c == 3 ? 2 : 0]};
            grid_block(dst + (size_t)y * g->scale * stride + (size_t)x * g->scale * 3, stride,
                       g->scale, rgb);
        }
    return NNCLR_OK;
}

static uint8_t to_u8(float v) {
    float s = v * 255.0f + 0.5f;
    if (!(s > 0.0f)) return 0;   /* also NaN */
    if (s >= 255.0f) return 255;
    return (uint8_t)s;
}

nnclr_status image_grid_put_f32(image_grid *g, int row, int col, const float *img,
                                const float *mean, const float *std, grid_border b) {
    if ((mean == NULL) != (std == NULL))
        return nnclr_fail(NNCLR_ERR_ARG, "image grid: give both mean and std, or neither");
    uint8_t *dst = grid_cell(g, row, col, b);
    if (!dst) return NNCLR_ERR_ARG;
    size_t stride = (size_t)g->out_w * 3;
    size_t plane = (size_t)g->h * g->w;
    for (int y = 0; y < g->h; y++)
        for (int x = 0; x < g->w; x++) {
            uint8_t rgb[3];
            for (int k = 0; k < 3; k++) {
                int ch = g->c == 3 ? k : 0;
                float v = img[(size_t)ch * plane + (size_t)y * g->w + x];
                if (mean) v = v * std[ch] + mean[ch];
                rgb[k] = to_u8(v);
            }
            grid_block(dst + (size_t)y * g->scale * stride + (size_t)x * g->scale * 3, stride,
                       g->scale, rgb);
        }
    return NNCLR_OK;
}

nnclr_status image_grid_write_png(const image_grid *g, const char *path) {
    if (!g->pixels) return nnclr_fail(NNCLR_ERR_ARG, "%s: image grid is not initialised", path);
    return png_write(path, g->pixels, g->out_w, g->out_h, 3);
}
