/* testlib.c - fixtures and checks for the tests. See testlib.h. */
#include "testlib.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_pass, n_fail;

static int read_u32(FILE *fp, uint32_t *v) { return fread(v, 4, 1, fp) == 1; }

int fx_load(fx_file *f, const char *path) {
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "cannot open fixture %s\n", path);
        n_fail++;
        return 1;
    }
    char magic[8];
    uint32_t count;
    if (fread(magic, 1, 8, fp) != 8 || memcmp(magic, "NNCLRFX1", 8) != 0 || !read_u32(fp, &count)) {
        fprintf(stderr, "bad fixture header in %s\n", path);
        fclose(fp);
        n_fail++;
        return 1;
    }
    f->t = calloc(count, sizeof *f->t);
    f->count = (int)count;
    for (uint32_t i = 0; i < count; i++) {
        fx_tensor *t = &f->t[i];
        uint32_t len, ndim;
        if (!read_u32(fp, &len) || len >= sizeof t->name || fread(t->name, 1, len, fp) != len ||
            !read_u32(fp, &ndim) || ndim > 8) goto bad;
        t->name[len] = 0;
        t->ndim = (int)ndim;
        t->size = 1;
        for (uint32_t d = 0; d < ndim; d++) {
            int32_t v;
            if (fread(&v, 4, 1, fp) != 1 || v < 0) goto bad;
            t->dims[d] = v;
            t->size *= (size_t)v;
        }
        t->data = malloc((t->size ? t->size : 1) * sizeof(float));
        if (fread(t->data, sizeof(float), t->size, fp) != t->size) goto bad;
    }
    fclose(fp);
    return 0;
bad:
    fprintf(stderr, "truncated or malformed fixture %s\n", path);
    fclose(fp);
    fx_free(f);
    n_fail++;
    return 1;
}

void fx_free(fx_file *f) {
    for (int i = 0; i < f->count; i++) free(f->t[i].data);
    free(f->t);
    memset(f, 0, sizeof *f);
}

const fx_tensor *fx_get(const fx_file *f, const char *name) {
    for (int i = 0; i < f->count; i++)
        if (strcmp(f->t[i].name, name) == 0) return &f->t[i];
    fprintf(stderr, "fixture tensor '%s' missing\n", name);
    n_fail++;
    return NULL;
}

int check_close(const char *what, const float *got, const float *ref, size_t n, double atol, double rtol) {
    size_t worst = 0, bad = 0;
    double worst_excess = -1e300, max_abs = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        double lim = atol + rtol * fabs((double)ref[i]);
        if (!(d <= lim)) bad++;
        if (d > max_abs || isnan(d)) max_abs = isnan(d) ? INFINITY : d;
        if (d - lim > worst_excess || isnan(d)) { worst_excess = isnan(d) ? INFINITY : d - lim; worst = i; }
    }
    int ok = bad == 0;
    printf("%s %-48s n=%zu max|diff|=%.3g (atol %.1g rtol %.1g)", ok ? "ok  " : "FAIL", what, n,
           max_abs, atol, rtol);
    if (!ok) printf(" %zu bad, worst [%zu] got %.8g ref %.8g", bad, worst, got[worst], ref[worst]);
    printf("\n");
    ok ? n_pass++ : n_fail++;
    return ok;
}

int check_rel(const char *what, const float *got, const float *ref, size_t n, double tol) {
    double md = 0, mr = 0;
    int nan = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        if (isnan(d)) nan = 1;
        if (d > md) md = d;
        if (fabs(ref[i]) > mr) mr = fabs(ref[i]);
    }
    double rel = md / (mr > 1e-30 ? mr : 1e-30);
    int ok = !nan && rel <= tol;
    printf("%s %-48s n=%zu rel err=%.3g (tol %.1g, max|ref| %.3g)\n", ok ? "ok  " : "FAIL", what, n,
           nan ? NAN : rel, tol, mr);
    ok ? n_pass++ : n_fail++;
    return ok;
}

int check_true(const char *what, int cond) {
    printf("%s %s\n", cond ? "ok  " : "FAIL", what);
    cond ? n_pass++ : n_fail++;
    return cond;
}

int test_summary(void) {
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}

void fill_uniform(float *x, size_t n, unsigned seed) {
    uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        x[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
}

unsigned fx_fnv1a(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

unsigned fx_fmix32(unsigned h) {
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

double fx_hash_u(unsigned seed, size_t i) { return fx_fmix32((uint32_t)(i * 0x9E3779B1u) ^ seed) / 4294967296.0; }
