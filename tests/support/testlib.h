/* testlib.h - what every test uses: fixture files written by the PyTorch generators, tolerance
 * checks in the form |got - ref| <= atol + rtol |ref| (llm.c style: print the worst element),
 * finite-difference helpers, and a pass/fail tally that becomes the exit code. */
#ifndef NNCLR_TESTLIB_H
#define NNCLR_TESTLIB_H

#include <stddef.h>

/* ---- fixtures: "NNCLRFX1", u32 count, then per tensor: u32 name_len, name, u32 ndim,
 * i32 dims[ndim], f32 data (little-endian). Written by tests/fixture.py. */
typedef struct {
    char name[96];
    int ndim;
    int dims[8];
    size_t size;
    float *data;
} fx_tensor;

typedef struct {
    int count;
    fx_tensor *t;
} fx_file;

/* Loads tests/fixtures/<file>; on failure prints why and returns nonzero. */
int fx_load(fx_file *f, const char *path);
void fx_free(fx_file *f);
/* Tensor by name or NULL (prints a message when missing). */
const fx_tensor *fx_get(const fx_file *f, const char *name);

/* ---- checks. Each records one pass or one failure. */
/* Element-wise: all |got - ref| <= atol + rtol |ref|. Returns 1 when it passes. */
int check_close(const char *what, const float *got, const float *ref, size_t n, double atol, double rtol);
/* Relative error of the whole tensor: ||got - ref||_inf / max(||ref||_inf, tiny) <= tol. */
int check_rel(const char *what, const float *got, const float *ref, size_t n, double tol);
int check_true(const char *what, int cond);
/* Prints "N passed, N failed" and returns the process exit code. */
int test_summary(void);

/* ---- the counter hash of tests/gen_resnet.py, bit for bit: large networks' weights are
 * generated on both sides instead of being stored in fixtures. */
unsigned fx_fnv1a(const char *s);
unsigned fx_fmix32(unsigned h);
/* u in [0, 1): fmix32(seed ^ (i * 0x9E3779B1)) / 2^32. */
double fx_hash_u(unsigned seed, size_t i);

/* Deterministic uniform(-1, 1) fill for test inputs. */
void fill_uniform(float *x, size_t n, unsigned seed);

#endif
