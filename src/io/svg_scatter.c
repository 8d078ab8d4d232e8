/* svg_scatter.c - see svg_scatter.h. */
#include "io/svg_scatter.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "core/status.h"
#include "io/atomic_file.h"
#include "io/base64.h"
#include "io/xml_text.h"

#define PLOT_SIDE 720
#define MARGIN 48
#define LEGEND_W 170
#define TITLE_H 56

/* tab10, then tab20's light shades: classes past 20 repeat. */
static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                                      "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
                                      "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5"};
#define PALETTE_SIZE ((int)(sizeof palette / sizeof palette[0]))

static const char *colour(const svg_scatter *sc, int i) {
    return sc->labels ? palette[sc->labels[i] % PALETTE_SIZE] : "#555555";
}

nnclr_status svg_scatter_write(const char *path, const svg_scatter *sc) {
    if (!sc || !sc->xy || sc->n <= 0) return nnclr_fail(NNCLR_ERR_ARG, "%s: a scatter plot needs points", path);
    for (int t = 0; t < sc->n_thumbs; t++)
        if (sc->thumbs[t].index < 0 || sc->thumbs[t].index >= sc->n)
            return nnclr_fail(NNCLR_ERR_ARG, "%s: picture of point %d outside [0, %d)", path, sc->thumbs[t].index, sc->n);
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int i = 0; i < sc->n; i++) {
        double x = sc->xy[2 * i], y = sc->xy[2 * i + 1];
        if (!isfinite(x) || !isfinite(y)) continue;
        xlo = fmin(xlo, x), xhi = fmax(xhi, x), ylo = fmin(ylo, y), yhi = fmax(yhi, y);
    }
    if (!(xlo <= xhi)) return nnclr_fail(NNCLR_ERR_ARG, "%s: no finite point to plot", path);
    double span = fmax(xhi - xlo, yhi - ylo);
    if (!(span > 0)) span = 1;
    double cx = 0.5 * (xlo + xhi), cy = 0.5 * (ylo + yhi), scale = PLOT_SIDE / (span * 1.08);
    int thumb = sc->thumb_px > 0 ? sc->thumb_px : 40;
    int width = MARGIN + PLOT_SIDE + MARGIN + (sc->labels ? LEGEND_W : 0), height = TITLE_H + PLOT_SIDE + MARGIN;
    atomic_file *af;
    NNCLR_TRY(atomic_open(&af, path));
    nnclr_status s = atomic_printf(af,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
        "font-family=\"Helvetica, Arial, sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
        width, height, width, height);
    if (!s && sc->title) {
        s = atomic_printf(af, "<text x=\"%d\" y=\"24\" font-size=\"18\" font-weight=\"bold\">", MARGIN);
        if (!s) s = xml_write_text(af, sc->title);
        if (!s) s = atomic_printf(af, "</text>\n");
    }
    if (!s && sc->subtitle) {
        s = atomic_printf(af, "<text x=\"%d\" y=\"44\" font-size=\"13\" fill=\"#444\">", MARGIN);
        if (!s) s = xml_write_text(af, sc->subtitle);
        if (!s) s = atomic_printf(af, "</text>\n");
    }
    if (!s)
        s = atomic_printf(af, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>\n",
                          MARGIN, TITLE_H, PLOT_SIDE, PLOT_SIDE);
    for (int a = 0; a < 2 && !s; a++) {
        const char *label = a ? sc->ylabel : sc->xlabel;
        if (!label) continue;
        if (a) s = atomic_printf(af, "<text transform=\"translate(%d,%d) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">",
                                 MARGIN - 12, TITLE_H + PLOT_SIDE / 2);
        else s = atomic_printf(af, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"13\">", MARGIN + PLOT_SIDE / 2,
                               TITLE_H + PLOT_SIDE + 24);
        if (!s) s = xml_write_text(af, label);
        if (!s) s = atomic_printf(af, "</text>\n");
    }
#define PX(i) (MARGIN + PLOT_SIDE / 2 + ((double)sc->xy[2 * (i)] - cx) * scale)
#define PY(i) (TITLE_H + PLOT_SIDE / 2 - ((double)sc->xy[2 * (i) + 1] - cy) * scale)
    if (!s) s = atomic_printf(af, "<g id=\"points\" fill-opacity=\"0.6\">\n");
    for (int i = 0; i < sc->n && !s; i++) {
        if (!isfinite(sc->xy[2 * i]) || !isfinite(sc->xy[2 * i + 1])) continue;
        s = atomic_printf(af, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.6\" fill=\"%s\"/>\n", PX(i), PY(i), colour(sc, i));
    }
    if (!s) s = atomic_printf(af, "</g>\n<g id=\"thumbnails\">\n");
    for (int t = 0; t < sc->n_thumbs && !s; t++) {
        int i = sc->thumbs[t].index;
        double x = PX(i), y = PY(i);
        /* The picture sits beside its dot (towards the centre), clamped inside the frame. */
        double tx = x + (x < MARGIN + PLOT_SIDE / 2 ? 10 : -10 - thumb), ty = y - thumb / 2.0;
        if (ty < TITLE_H) ty = TITLE_H;
        if (ty > TITLE_H + PLOT_SIDE - thumb) ty = TITLE_H + PLOT_SIDE - thumb;
        char *b64 = malloc(base64_length(sc->thumbs[t].png_len) + 1);
        if (!b64) {
            s = NNCLR_ERR_NOMEM;
            break;
        }
        base64_encode(sc->thumbs[t].png, sc->thumbs[t].png_len, b64);
        s = atomic_printf(af, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n"
                              "<image x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%d\" href=\"data:image/png;base64,%s\"/>\n"
                              "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n",
                          x, y, tx + (tx > x ? 0 : thumb), ty + thumb / 2.0, colour(sc, i), tx, ty, thumb, thumb, b64, tx, ty,
                          thumb, thumb, colour(sc, i));
        free(b64);
    }
#undef PX
#undef PY
    if (!s) s = atomic_printf(af, "</g>\n");
    for (int c = 0; sc->labels && c < sc->num_classes && !s; c++) {
        int lx = MARGIN + PLOT_SIDE + MARGIN / 2, ly = TITLE_H + 10 + 20 * c;
        s = atomic_printf(af, "<circle cx=\"%d\" cy=\"%d\" r=\"5\" fill=\"%s\"/><text x=\"%d\" y=\"%d\" font-size=\"13\">", lx + 5,
                          ly, palette[c % PALETTE_SIZE], lx + 16, ly + 4);
        if (!s) {
            char num[16];
            snprintf(num, sizeof num, "%d", c);
            s = xml_write_text(af, sc->class_names ? sc->class_names[c] : num);
        }
        if (!s) s = atomic_printf(af, "</text>\n");
    }
    if (!s) s = atomic_printf(af, "</svg>\n");
    if (s) {
        atomic_abort(af);
        return s;
    }
    return atomic_commit(af);
}
