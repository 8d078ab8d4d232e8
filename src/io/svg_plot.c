/* svg_plot.c - the SVG line-plot writer. See svg_plot.h.
 *
 * Data coordinates map to pixels through each panel's axis ranges, which are widened to the
 * enclosing "nice" tick values so that the frame starts and ends on a labelled tick. */
#include "io/svg_plot.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "core/status.h"
#include "io/atomic_file.h"
#include "io/xml_text.h"

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                      "#9467bd", "#8c564b", "#e377c2", "#17becf"};
#define PALETTE_SIZE ((int)(sizeof palette / sizeof palette[0]))

#define MARGIN_LEFT 78
#define MARGIN_RIGHT 24
#define MARGIN_TOP 40
#define MARGIN_BOTTOM 52
#define TITLE_HEIGHT 36
#define MAX_TICKS 32

/* The output plus the first error: later writes are skipped once one has failed. */
typedef struct {
    atomic_file *af;
    nnclr_status status;
} svg_out;

static void out(svg_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(svg_out *o, const char *fmt, ...) {
    if (o->status != NNCLR_OK) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (len < 0) len = 0;
    if ((size_t)len >= sizeof buf) len = (int)sizeof buf - 1;
    o->status = atomic_write(o->af, buf, (size_t)len);
}

/* Text content or attribute value, escaped (io/xml_text.h). Newlines become spaces. */
static void out_text(svg_out *o, const char *s) {
    for (; s && *s && o->status == NNCLR_OK; s++) {
        size_t n = strcspn(s, "\n");
        o->status = xml_write_text_n(o->af, s, n);
        s += n;
        if (!*s) break;
        if (o->status == NNCLR_OK) o->status = atomic_write(o->af, " ", 1);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* axes */

typedef struct {
    double lo, hi;             /* the axis range (data units, log10 units for a log axis) */
    double ticks[MAX_TICKS];   /* tick positions in axis units */
    int n_ticks;
    int is_log;
    int decimals;              /* digits after the point in linear tick labels */
} axis;

/* 1, 2 or 5 times a power of ten, closest above raw. */
static double nice_step(double raw) {
    double p = pow(10.0, floor(log10(raw)));
    double m = raw / p;
    return (m <= 1.0 ? 1.0 : m <= 2.0 ? 2.0 : m <= 5.0 ? 5.0 : 10.0) * p;
}

static void axis_linear(axis *a, double lo, double hi) {
    if (!(hi > lo)) {
        double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 0.5;
        lo -= pad;
        hi += pad;
    }
    double step = nice_step((hi - lo) / 5.0);
    a->lo = floor(lo / step + 1e-9) * step;
    a->hi = ceil(hi / step - 1e-9) * step;
    a->n_ticks = 0;
    for (int i = 0; i < MAX_TICKS; i++) {
        double t = a->lo + i * step;
        if (t > a->hi + step * 1e-6) break;
        a->ticks[a->n_ticks++] = fabs(t) < step * 1e-9 ? 0.0 : t;
    }
    a->is_log = 0;
    a->decimals = step >= 1.0 ? 0 : (int)ceil(-log10(step) - 1e-9);
}

/* lo, hi > 0 in data units; the axis works in log10 units. */
static void axis_log(axis *a, double lo, double hi) {
    double l = floor(log10(lo) + 1e-9), h = ceil(log10(hi) - 1e-9);
    if (h <= l) h = l + 1;
    a->lo = l;
    a->hi = h;
    a->is_log = 1;
    a->decimals = 0;
    a->n_ticks = 0;
    int few = h - l <= 2;
    for (double e = l; e <= h + 1e-9 && a->n_ticks < MAX_TICKS; e += 1.0) {
        a->ticks[a->n_ticks++] = e;
        if (few && e < h - 1e-9 && a->n_ticks + 2 <= MAX_TICKS) {
            a->ticks[a->n_ticks++] = e + log10(2.0);
            a->ticks[a->n_ticks++] = e + log10(5.0);
        }
    }
}

static void tick_label(char *buf, size_t n, const axis *a, double t) {
    if (a->is_log) {
        double v = pow(10.0, t);
        snprintf(buf, n, "%g", v);
    } else if (fabs(t) >= 1e6 || (fabs(t) > 0 && a->decimals > 6)) {
        snprintf(buf, n, "%.3g", t);
    } else {
        snprintf(buf, n, "%.*f", a->decimals, t);
    }
}

static int point_ok(double x, double y, int log_y) {
    return isfinite(x) && isfinite(y) && (!log_y || y > 0);
}

/* ---------------------------------------------------------------------------------------- */
/* one panel at vertical offset y0 */

static void panel_draw(svg_out *o, const svg_panel *p, int y0, int width, int height) {
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int s = 0; s < p->n_series; s++) {
        const svg_series *se = &p->series[s];
        for (int i = 0; i < se->n; i++) {
            if (!point_ok(se->x[i], se->y[i], p->log_y)) continue;
            xmin = fmin(xmin, se->x[i]);
            xmax = fmax(xmax, se->x[i]);
            ymin = fmin(ymin, se->y[i]);
            ymax = fmax(ymax, se->y[i]);
        }
    }
    if (!(xmax >= xmin)) {
        xmin = 0;
        xmax = 1;
        ymin = p->log_y ? 0.1 : 0;
        ymax = 1;
    }
    axis ax, ay;
    axis_linear(&ax, xmin, xmax);
    if (p->log_y) axis_log(&ay, ymin, ymax);
    else axis_linear(&ay, ymin, ymax);

    double left = MARGIN_LEFT, right = width - MARGIN_RIGHT;
    double top = y0 + MARGIN_TOP, bottom = y0 + height - MARGIN_BOTTOM;
#define PX(v) (left + ((v) - ax.lo) / (ax.hi - ax.lo) * (right - left))
#define PY(v) (bottom - ((p->log_y ? log10(v) : (v)) - ay.lo) / (ay.hi - ay.lo) * (bottom - top))
#define PY_AXIS(t) (bottom - ((t) - ay.lo) / (ay.hi - ay.lo) * (bottom - top))

    if (p->title) {
        out(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"15\" "
               "font-weight=\"bold\">", (left + right) / 2, top - 14);
        out_text(o, p->title);
        out(o, "</text>\n");
    }
    /* grid and ticks */
    out(o, "<g stroke=\"#e5e5e5\" stroke-width=\"1\">\n");
    for (int i = 0; i < ax.n_ticks; i++)
        out(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", PX(ax.ticks[i]), top,
            PX(ax.ticks[i]), bottom);
    for (int i = 0; i < ay.n_ticks; i++)
        out(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", left,
            PY_AXIS(ay.ticks[i]), right, PY_AXIS(ay.ticks[i]));
    out(o, "</g>\n");
    out(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
           "stroke=\"#333\" stroke-width=\"1\"/>\n", left, top, right - left, bottom - top);
    out(o, "<g font-size=\"11\" fill=\"#333\">\n");
    char label[64];
    for (int i = 0; i < ax.n_ticks; i++) {
        tick_label(label, sizeof label, &ax, ax.ticks[i]);
        out(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
            PX(ax.ticks[i]), bottom, PX(ax.ticks[i]), bottom + 4);
        out(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", PX(ax.ticks[i]),
            bottom + 17, label);
    }
    for (int i = 0; i < ay.n_ticks; i++) {
        tick_label(label, sizeof label, &ay, ay.ticks[i]);
        out(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", left - 4,
            PY_AXIS(ay.ticks[i]), left, PY_AXIS(ay.ticks[i]));
        out(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", left - 7,
            PY_AXIS(ay.ticks[i]) + 4, label);
    }
    out(o, "</g>\n");
    if (p->xlabel) {
        out(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\">",
            (left + right) / 2, bottom + 38);
        out_text(o, p->xlabel);
        out(o, "</text>\n");
    }
    if (p->ylabel) {
        double cy = (top + bottom) / 2;
        out(o, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\" "
               "transform=\"rotate(-90 %d %.1f)\">", 20, cy, 20, cy);
        out_text(o, p->ylabel);
        out(o, "</text>\n");
    }

    /* series, clipped to the frame */
    out(o, "<g clip-path=\"url(#clip%d)\" fill=\"none\" stroke-width=\"1.6\" "
           "stroke-linejoin=\"round\">\n", y0);
    for (int s = 0; s < p->n_series; s++) {
        const svg_series *se = &p->series[s];
        const char *color = se->color ? se->color : palette[s % PALETTE_SIZE];
        int open = 0, n_ok = 0;
        for (int i = 0; i < se->n; i++) {
            if (!point_ok(se->x[i], se->y[i], p->log_y)) {
                if (open) out(o, "\"/>\n");
                open = 0;
                continue;
            }
            n_ok++;
            if (!open) {
                out(o, "<polyline stroke=\"");
                out_text(o, color);
                out(o, "\" points=\"");
                open = 1;
            }
            out(o, "%.1f,%.1f ", PX(se->x[i]), PY(se->y[i]));
        }
        if (open) out(o, "\"/>\n");
        /* Markers for short series (accuracy per epoch) and for lone points. */
        if (n_ok > 0 && n_ok <= 40) {
            out(o, "<g fill=\"");
            out_text(o, color);
            out(o, "\" stroke=\"none\">\n");
            for (int i = 0; i < se->n; i++)
                if (point_ok(se->x[i], se->y[i], p->log_y))
                    out(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\"/>\n", PX(se->x[i]), PY(se->y[i]));
            out(o, "</g>\n");
        }
    }
    out(o, "</g>\n");

    /* legend inside the frame, in the emptiest corner */
    int n_legend = 0;
    size_t longest = 0;
    for (int s = 0; s < p->n_series; s++)
        if (p->series[s].label) {
            n_legend++;
            size_t l = strlen(p->series[s].label);
            if (l > longest) longest = l;
        }
    if (n_legend > 0) {
        double lw = 34 + 6.6 * (double)(longest > 40 ? 40 : longest), lh = 8 + 18.0 * n_legend;
        /* The corner that covers the fewest data points (top right first on ties). */
        double cx[4] = {right - lw - 8, right - lw - 8, left + 8, left + 8};
        double cy[4] = {top + 8, bottom - lh - 8, top + 8, bottom - lh - 8};
        int best = 0;
        long best_hits = -1;
        for (int c = 0; c < 4; c++) {
            long hits = 0;
            for (int s = 0; s < p->n_series; s++) {
                const svg_series *se = &p->series[s];
                for (int i = 0; i < se->n; i++) {
                    if (!point_ok(se->x[i], se->y[i], p->log_y)) continue;
                    double px = PX(se->x[i]), py = PY(se->y[i]);
                    hits += px >= cx[c] - 4 && px <= cx[c] + lw + 4 && py >= cy[c] - 4 && py <= cy[c] + lh + 4;
                }
            }
            if (best_hits < 0 || hits < best_hits) {
                best = c;
                best_hits = hits;
            }
        }
        double lx = cx[best], ly = cy[best];
        out(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" "
               "fill-opacity=\"0.85\" stroke=\"#bbb\"/>\n", lx, ly, lw, lh);
        int row = 0;
        for (int s = 0; s < p->n_series; s++) {
            const svg_series *se = &p->series[s];
            if (!se->label) continue;
            const char *color = se->color ? se->color : palette[s % PALETTE_SIZE];
            double cy = ly + 13 + 18.0 * row++;
            out(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke-width=\"2.5\" stroke=\"",
                lx + 6, cy, lx + 26, cy);
            out_text(o, color);
            out(o, "\"/>\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">", lx + 31, cy + 4);
            out_text(o, se->label);
            out(o, "</text>\n");
        }
    }
#undef PX
#undef PY
#undef PY_AXIS
}

nnclr_status svg_plot_write(const char *path, const char *title, const svg_panel *panels,
                            int n_panels, int width, int height) {
    if (n_panels <= 0 || !panels)
        return nnclr_fail(NNCLR_ERR_ARG, "%s: a plot needs at least one panel", path);
    for (int i = 0; i < n_panels; i++)
        for (int s = 0; s < panels[i].n_series; s++) {
            const svg_series *se = &panels[i].series[s];
            if (se->n < 0 || (se->n > 0 && (!se->x || !se->y)))
                return nnclr_fail(NNCLR_ERR_ARG, "%s: panel %d series %d has no data", path, i, s);
        }
    if (width <= 0 || height <= 0) {
        width = 720;
        height = 360;
    }
    if (width < 200) width = 200;
    if (height < 150) height = 150;
    int title_h = title ? TITLE_HEIGHT : 0;
    int total_h = title_h + n_panels * height;

    svg_out o = {NULL, NNCLR_OK};
    NNCLR_TRY(atomic_open(&o.af, path));
    out(&o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"Helvetica, Arial, sans-serif\">\n",
        width, total_h, width, total_h);
    out(&o, "<defs>\n");
    for (int i = 0; i < n_panels; i++) {
        int y0 = title_h + i * height;
        out(&o, "<clipPath id=\"clip%d\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/></clipPath>\n",
            y0, MARGIN_LEFT, y0 + MARGIN_TOP, width - MARGIN_LEFT - MARGIN_RIGHT,
            height - MARGIN_TOP - MARGIN_BOTTOM);
    }
    out(&o, "</defs>\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    if (title) {
        out(&o, "<text x=\"%d\" y=\"26\" text-anchor=\"middle\" font-size=\"18\" font-weight=\"bold\">",
            width / 2);
        out_text(&o, title);
        out(&o, "</text>\n");
    }
    for (int i = 0; i < n_panels; i++) panel_draw(&o, &panels[i], title_h + i * height, width, height);
    out(&o, "</svg>\n");
    if (o.status != NNCLR_OK) {
        atomic_abort(o.af);
        return o.status;
    }
    return atomic_commit(o.af);
}
