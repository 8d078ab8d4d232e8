/* test_heads.c - the NNCLR projector and predictor (model/heads.c).
 *
 *   - parameter and buffer tables carry PyTorch's nn.Sequential state_dict names and shapes;
 *   - parity with the float64 PyTorch reference (fixtures/mlp_heads.bin from tests/gen_mlp.py,
 *     n=8, F=16, H=32, D=8, P=24): training forward z, p, running statistics afterwards,
 *     backward of L = sum(z dz) + sum(p dp): dfeat and every parameter gradient; eval forward
 *     with the updated running statistics. atol 1e-5 + rtol 1e-4 (gradients: 2e-5 + 2e-4);
 *   - gradients accumulate (a second backward doubles them; a training forward of another slot
 *     in between does not disturb slot 0: a third backward triples them);
 *   - without predictor: p is a copy of z, gradients of sum(z dz) match the projector-only
 *     reference, and (dz = a, dp = b) gives what (dz = a + b, dp = NULL) gives;
 *   - PyTorch default init (bounds, BN ones/zeros, running mean 0 var 1, seed-reproducible);
 *   - central finite differences of L w.r.t. every parameter and input element (float32
 *     forward, loss in double), skipping perturbations that flip a ReLU (detected by
 *     recomputing the ReLU masks with the ops): |fd - g| <= 2e-3 + 2e-2 max(|fd|, |g|), at most
 *     a quarter of the elements skipped;
 *   - misuse: zero sizes, slot or row counts out of range, training with one row, backward
 *     without a training forward or with a different n -> NNCLR_ERR_ARG. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/status.h"
#include "core/tensors.h"
#include "model/heads.h"
#include "ops/batchnorm1d.h"
#include "ops/linear.h"
#include "testlib.h"

enum { N = 8, F = 16, H = 32, D = 8, P = 24 };

typedef struct {
    heads *h;
    tensor_table params, buffers;
    float *grads;
} model;

static int model_make(model *m, const heads_config *cfg, int max_n, int nslots) {
    memset(m, 0, sizeof *m);
    tensor_table_init(&m->params);
    tensor_table_init(&m->buffers);
    if (heads_create(&m->h, cfg, max_n, nslots, &m->params, &m->buffers) != NNCLR_OK) {
        printf("   heads_create: %s\n", nnclr_last_error());
        return 1;
    }
    if (tensor_table_alloc(&m->params) || tensor_table_alloc(&m->buffers)) return 1;
    m->grads = calloc(m->params.total, sizeof(float));
    return m->grads == NULL;
}

static void model_free(model *m) {
    heads_free(m->h);
    tensor_table_free(&m->params);
    tensor_table_free(&m->buffers);
    free(m->grads);
}

/* Copies fixture tensors "<prefix><name>" into a table; 1 when all exist with equal sizes. */
static int load_table(const fx_file *fx, const char *prefix, tensor_table *t) {
    int ok = 1;
    for (int i = 0; i < t->count; i++) {
        char name[160];
        snprintf(name, sizeof name, "%s%s", prefix, t->entries[i].name);
        const fx_tensor *ft = fx_get(fx, name);
        if (!ft || ft->size != t->entries[i].size) { ok = 0; continue; }
        memcpy(t->data + t->entries[i].offset, ft->data, ft->size * sizeof(float));
    }
    return ok;
}

/* Compares every tensor of `t` (data `got`, scaled by 1/scale) with fixture "<prefix><name>". */
static void check_table(const fx_file *fx, const char *prefix, const tensor_table *t,
                        const float *got, float scale, const char *what, double atol, double rtol) {
    for (int i = 0; i < t->count; i++) {
        const tensor_entry *e = &t->entries[i];
        char name[160], label[200];
        snprintf(name, sizeof name, "%s%s", prefix, e->name);
        const fx_tensor *ft = fx_get(fx, name);
        if (!ft) continue;
        float *ref = malloc(e->size * sizeof(float));
        for (size_t k = 0; k < e->size; k++) ref[k] = scale * ft->data[k];
        snprintf(label, sizeof label, "%s %s", what, e->name);
        check_close(label, got + e->offset, ref, e->size, atol, rtol);
        free(ref);
    }
}

/* The ".weight" tensor of the same module as e (e itself for a weight), or NULL. */
static const tensor_entry *module_weight(const tensor_table *t, const tensor_entry *e) {
    const char *dot = strrchr(e->name, '.');
    char wname[TENSOR_NAME_MAX];
    if (!dot) return NULL;
    snprintf(wname, sizeof wname, "%.*s.weight", (int)(dot - e->name), e->name);
    return tensor_table_find(t, wname);
}

/* BN gamma/beta: their module's weight is 1-D (a linear's is 2-D). */
static int is_bn_tensor(const tensor_table *t, const tensor_entry *e) {
    const tensor_entry *w = module_weight(t, e);
    return w && w->ndim == 1;
}

static void test_names(void) {
    heads_config cfg = {F, H, D, P, 1, NULL};
    model m;
    if (model_make(&m, &cfg, N, 1)) { check_true("create", 0); return; }
    static const char *pnames[] = {
        "projector.0.weight", "projector.0.bias", "projector.1.weight", "projector.1.bias",
        "projector.3.weight", "projector.3.bias", "projector.4.weight", "projector.4.bias",
        "projector.6.weight", "projector.6.bias", "projector.7.weight", "projector.7.bias",
        "predictor.0.weight", "predictor.0.bias", "predictor.1.weight", "predictor.1.bias",
        "predictor.3.weight", "predictor.3.bias"};
    int ok = m.params.count == 18 && m.buffers.count == 8;
    for (int i = 0; i < 18; i++) {
        const tensor_entry *e = tensor_table_find(&m.params, pnames[i]);
        int is_weight = strstr(pnames[i], ".weight") && e && e->ndim == 2;
        ok &= e != NULL && e->kind == (is_weight ? TENSOR_WEIGHT : TENSOR_NO_DECAY);
    }
    const tensor_entry *w6 = tensor_table_find(&m.params, "projector.6.weight");
    ok &= w6 && w6->shape[0] == D && w6->shape[1] == H;
    ok &= tensor_table_find(&m.buffers, "projector.7.running_var") != NULL;
    ok &= tensor_table_find(&m.buffers, "predictor.1.running_mean") != NULL;
    check_true("names, shapes and kinds follow PyTorch's state_dict", ok);
    check_true("memory estimate covers 1 slot of activations", heads_memory_bytes(m.h) >= sizeof(float) * N * (F + 4 * H + 2 * D + 2 * P));
    model_free(&m);
}

static void test_fixture(void) {
    fx_file fx;
    if (fx_load(&fx, "fixtures/mlp_heads.bin")) return;
    const float *feat = fx_get(&fx, "feat")->data, *feat_eval = fx_get(&fx, "feat_eval")->data;
    const float *dz = fx_get(&fx, "dz")->data, *dp = fx_get(&fx, "dp")->data;
    const double atol = 1e-5, rtol = 1e-4, gatol = 2e-5, grtol = 2e-4;
    float z[N * D], p[N * D], dfeat[N * F];

    heads_config cfg = {F, H, D, P, 1, NULL};
    model m;
    if (model_make(&m, &cfg, N, 2)) { check_true("create", 0); fx_free(&fx); return; }
    check_true("fixture weights load by name", load_table(&fx, "init.", &m.params) &&
                                               load_table(&fx, "init.", &m.buffers));
    check_true("training forward",
               heads_forward(m.h, 0, z, p, feat, N, 1, m.params.data, m.buffers.data) == NNCLR_OK);
    check_close("heads: z", z, fx_get(&fx, "z")->data, N * D, atol, rtol);
    check_close("heads: p", p, fx_get(&fx, "p")->data, N * D, atol, rtol);
    check_table(&fx, "after.", &m.buffers, m.buffers.data, 1.0f, "running stat", atol, rtol);

    for (int i = 0; i < N * F; i++) dfeat[i] = NAN;
    check_true("backward", heads_backward(m.h, 0, dfeat, dz, dp, N, m.params.data, m.grads) == NNCLR_OK);
    check_close("heads: dfeat", dfeat, fx_get(&fx, "dfeat")->data, N * F, gatol, grtol);
    check_table(&fx, "grad.", &m.params, m.grads, 1.0f, "grad", gatol, grtol);

    /* Eval forward in slot 1 (running statistics as updated by the training forward). */
    check_true("eval forward",
               heads_forward(m.h, 1, z, p, feat_eval, N, 0, m.params.data, m.buffers.data) == NNCLR_OK);
    check_close("heads: eval z", z, fx_get(&fx, "z_eval")->data, N * D, atol, rtol);
    check_close("heads: eval p", p, fx_get(&fx, "p_eval")->data, N * D, atol, rtol);
    check_true("backward after an eval forward of the slot -> ERR_ARG",
               heads_backward(m.h, 1, dfeat, dz, dp, N, m.params.data, m.grads) == NNCLR_ERR_ARG);

    /* Accumulation: slot 0 still holds its training activations. */
    heads_backward(m.h, 0, dfeat, dz, dp, N, m.params.data, m.grads);
    check_table(&fx, "grad.", &m.params, m.grads, 2.0f, "grad x2 (accumulated)", gatol, grtol);
    check_close("heads: dfeat overwritten, not accumulated", dfeat, fx_get(&fx, "dfeat")->data, N * F, gatol, grtol);
    check_true("training forward of slot 1",
               heads_forward(m.h, 1, z, p, feat_eval, N, 1, m.params.data, m.buffers.data) == NNCLR_OK);
    heads_backward(m.h, 0, dfeat, dz, dp, N, m.params.data, m.grads);
    check_table(&fx, "grad.", &m.params, m.grads, 3.0f, "grad x3 (slot 1 between)", gatol, grtol);

    check_true("backward with another n -> ERR_ARG",
               heads_backward(m.h, 0, dfeat, dz, dp, N - 1, m.params.data, m.grads) == NNCLR_ERR_ARG);
    check_true("slot out of range -> ERR_ARG",
               heads_forward(m.h, 2, z, p, feat, N, 1, m.params.data, m.buffers.data) == NNCLR_ERR_ARG);
    check_true("more rows than max_n -> ERR_ARG",
               heads_forward(m.h, 0, z, p, feat, N + 1, 0, m.params.data, m.buffers.data) == NNCLR_ERR_ARG);
    check_true("training with one row -> ERR_ARG",
               heads_forward(m.h, 0, z, p, feat, 1, 1, m.params.data, m.buffers.data) == NNCLR_ERR_ARG);
    /* Forward without p: a gradient for p is refused, dz alone works. */
    load_table(&fx, "init.", &m.buffers);
    heads_forward(m.h, 0, z, NULL, feat, N, 1, m.params.data, m.buffers.data);
    check_close("heads: z with p skipped", z, fx_get(&fx, "z")->data, N * D, atol, rtol);
    check_true("dp after a forward without p -> ERR_ARG",
               heads_backward(m.h, 0, dfeat, dz, dp, N, m.params.data, m.grads) == NNCLR_ERR_ARG);
    check_true("dz alone after a forward without p",
               heads_backward(m.h, 0, dfeat, dz, NULL, N, m.params.data, m.grads) == NNCLR_OK);
    check_close("heads: dfeat of sum(z dz)", dfeat, fx_get(&fx, "proj_only.dfeat")->data, N * F, gatol, grtol);
    model_free(&m);

    /* Without predictor. */
    heads_config cfg0 = {F, H, D, 0, 0, NULL};
    if (model_make(&m, &cfg0, N, 1)) { check_true("create without predictor", 0); fx_free(&fx); return; }
    check_true("no predictor: projector tensors only", m.params.count == 12 && m.buffers.count == 6 &&
                                                       !tensor_table_find(&m.params, "predictor.0.weight"));
    load_table(&fx, "init.", &m.params);
    load_table(&fx, "init.", &m.buffers);
    heads_forward(m.h, 0, z, p, feat, N, 1, m.params.data, m.buffers.data);
    check_close("no predictor: z", z, fx_get(&fx, "z")->data, N * D, atol, rtol);
    check_true("no predictor: p is a copy of z", memcmp(z, p, sizeof z) == 0);
    heads_backward(m.h, 0, dfeat, dz, NULL, N, m.params.data, m.grads);
    check_close("no predictor: dfeat", dfeat, fx_get(&fx, "proj_only.dfeat")->data, N * F, gatol, grtol);
    check_table(&fx, "proj_only.grad.", &m.params, m.grads, 1.0f, "no predictor: grad", gatol, grtol);
    /* dz = a, dp = b with a + b = dz: the same gradients. */
    float a[N * D], b[N * D];
    for (int i = 0; i < N * D; i++) {
        a[i] = 0.25f * dz[i] + 0.5f * dp[i];
        b[i] = 0.75f * dz[i] - 0.5f * dp[i];
    }
    memset(m.grads, 0, m.params.total * sizeof(float));
    heads_backward(m.h, 0, dfeat, a, b, N, m.params.data, m.grads);
    check_close("no predictor: dz + dp both reach z", dfeat, fx_get(&fx, "proj_only.dfeat")->data, N * F, 1e-4, 1e-3);
    check_table(&fx, "proj_only.grad.", &m.params, m.grads, 1.0f, "no predictor (split): grad", 1e-4, 1e-3);
    memset(m.grads, 0, m.params.total * sizeof(float));
    heads_backward(m.h, 0, dfeat, NULL, NULL, N, m.params.data, m.grads);
    int zero = 1;
    for (int i = 0; i < N * F; i++) zero &= dfeat[i] == 0.0f;
    for (size_t i = 0; i < m.params.total; i++) zero &= m.grads[i] == 0.0f;
    check_true("no upstream gradient: dfeat zero, grads unchanged", zero);
    model_free(&m);
    fx_free(&fx);
}

static void test_init(void) {
    heads_config cfg = {F, H, D, P, 1, NULL};
    model m1, m2;
    if (model_make(&m1, &cfg, N, 1) || model_make(&m2, &cfg, N, 1)) { check_true("create", 0); return; }
    rng_state r1, r2;
    rng_seed(&r1, 7);
    rng_seed(&r2, 7);
    for (size_t i = 0; i < m1.buffers.total; i++) m1.buffers.data[i] = 5.0f;
    heads_init(m1.h, &m1.params, &m1.buffers, &r1);
    heads_init(m2.h, &m2.params, &m2.buffers, &r2);
    check_true("init: same seed, same parameters",
               memcmp(m1.params.data, m2.params.data, m1.params.total * sizeof(float)) == 0);
    int ok = 1;
    for (int i = 0; i < m1.params.count; i++) {
        const tensor_entry *e = &m1.params.entries[i];
        const float *v = m1.params.data + e->offset;
        const tensor_entry *w = module_weight(&m1.params, e);
        if (!w) { ok = 0; continue; }
        if (is_bn_tensor(&m1.params, e)) {
            int bias = strstr(e->name, ".bias") != NULL;
            for (size_t k = 0; k < e->size; k++) ok &= v[k] == (bias ? 0.0f : 1.0f);
        } else {
            const double bound = 1.0 / sqrt((double)w->shape[1]);
            double vmax = 0;
            for (size_t k = 0; k < e->size; k++) vmax = fmax(vmax, fabs(v[k]));
            /* Within the bound, and spread over it (the largest of >= 8 draws exceeds bound/4). */
            ok &= vmax <= bound && vmax > 0.25 * bound;
        }
    }
    check_true("init: linear U(+-1/sqrt(fan_in)), BN gamma 1 beta 0", ok);
    ok = 1;
    for (int i = 0; i < m1.buffers.count; i++) {
        const tensor_entry *e = &m1.buffers.entries[i];
        int var = strstr(e->name, "running_var") != NULL;
        for (size_t k = 0; k < e->size; k++) ok &= m1.buffers.data[e->offset + k] == (var ? 1.0f : 0.0f);
    }
    check_true("init: running mean 0, running var 1", ok);
    model_free(&m1);
    model_free(&m2);
}

static void test_bad_config(void) {
    tensor_table p, b;
    tensor_table_init(&p);
    tensor_table_init(&b);
    heads *h = NULL;
    const heads_config bad[] = {{0, H, D, P, 1, NULL}, {F, 0, D, P, 1, NULL}, {F, H, 0, P, 1, NULL}, {F, H, D, 0, 1, NULL},
                                {-3, H, D, P, 0, NULL}};
    int ok = 1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ok &= heads_create(&h, &bad[i], N, 2, &p, &b) == NNCLR_ERR_ARG && h == NULL;
    check_true("zero or negative sizes -> ERR_ARG", ok);
    printf("   message: %s\n", nnclr_last_error());
    heads_config cfg = {F, H, D, P, 1, NULL};
    check_true("max_n 0 -> ERR_ARG", heads_create(&h, &cfg, 0, 2, &p, &b) == NNCLR_ERR_ARG);
    check_true("0 slots -> ERR_ARG", heads_create(&h, &cfg, N, 0, &p, &b) == NNCLR_ERR_ARG);
    check_true("9 slots -> ERR_ARG", heads_create(&h, &cfg, N, 9, &p, &b) == NNCLR_ERR_ARG);
    check_true("nothing declared on failure", p.count == 0 && b.count == 0);
    heads_config cfg0 = {F, H, D, 0, 0, NULL};
    check_true("pred_hidden 0 is fine without predictor", heads_create(&h, &cfg0, N, 1, &p, &b) == NNCLR_OK);
    heads *h2 = NULL;
    check_true("declaring the heads twice in one table -> ERR_ARG (duplicate names)",
               heads_create(&h2, &cfg0, N, 1, &p, &b) == NNCLR_ERR_ARG && h2 == NULL);
    heads_free(h);
    tensor_table_free(&p);
    tensor_table_free(&b);
}

/* ---- finite differences */
static model fd_m;
static float fd_feat[N * F], fd_dz[N * D], fd_dp[N * D];

static double fd_loss(void) {
    float z[N * D], p[N * D];
    heads_forward(fd_m.h, 0, z, p, fd_feat, N, 1, fd_m.params.data, fd_m.buffers.data);
    double l = 0;
    for (int i = 0; i < N * D; i++) l += (double)z[i] * fd_dz[i] + (double)p[i] * fd_dp[i];
    return l;
}

/* Signs of the three ReLU inputs (projector.1, projector.4, predictor.1 outputs), recomputed
 * with the ops from the current parameters: mask (N * (H + H + P)). */
static void relu_masks(unsigned char *mask) {
    const tensor_table *t = &fd_m.params;
    const float *w = t->data;
#define OFF(name) (tensor_table_find(t, name)->offset)
    float a[N * H], r[N * H], q[N * P], zz[N * D];
    linear_forward(a, fd_feat, w + OFF("projector.0.weight"), w + OFF("projector.0.bias"), N, F, H);
    batchnorm1d_forward_train(r, NULL, NULL, a, w + OFF("projector.1.weight"), w + OFF("projector.1.bias"),
                              NULL, NULL, 0.1f, N, H);
    for (int i = 0; i < N * H; i++) mask[i] = r[i] > 0, r[i] = r[i] > 0 ? r[i] : 0;
    linear_forward(a, r, w + OFF("projector.3.weight"), w + OFF("projector.3.bias"), N, H, H);
    batchnorm1d_forward_train(r, NULL, NULL, a, w + OFF("projector.4.weight"), w + OFF("projector.4.bias"),
                              NULL, NULL, 0.1f, N, H);
    for (int i = 0; i < N * H; i++) mask[N * H + i] = r[i] > 0, r[i] = r[i] > 0 ? r[i] : 0;
    linear_forward(zz, r, w + OFF("projector.6.weight"), w + OFF("projector.6.bias"), N, H, D);
    batchnorm1d_forward_train(zz, NULL, NULL, zz, w + OFF("projector.7.weight"), w + OFF("projector.7.bias"),
                              NULL, NULL, 0.1f, N, D);
    linear_forward(q, zz, w + OFF("predictor.0.weight"), w + OFF("predictor.0.bias"), N, D, P);
    batchnorm1d_forward_train(q, NULL, NULL, q, w + OFF("predictor.1.weight"), w + OFF("predictor.1.bias"),
                              NULL, NULL, 0.1f, N, P);
    for (int i = 0; i < N * P; i++) mask[2 * N * H + i] = q[i] > 0;
#undef OFF
}

enum { NMASK = N * (H + H + P) };

/* Central differences w.r.t. v[0..count) against g; counts failures and skipped kinks. */
static void fd_check(float *v, size_t count, const float *g, int *bad, int *skipped, int *checked,
                     double *worst) {
    unsigned char m0[NMASK], mp[NMASK], mm[NMASK];
    relu_masks(m0);
    for (size_t i = 0; i < count; i++) {
        const float v0 = v[i], h = 5e-3f;
        v[i] = v0 + h;
        const double hp = (double)v[i] - v0, lp = fd_loss();
        relu_masks(mp);
        v[i] = v0 - h;
        const double hm = v0 - (double)v[i], lm = fd_loss();
        relu_masks(mm);
        v[i] = v0;
        (*checked)++;
        if (memcmp(m0, mp, NMASK) || memcmp(m0, mm, NMASK)) {
            (*skipped)++;
            continue;
        }
        const double fd = (lp - lm) / (hp + hm), err = fabs(fd - g[i]);
        if (err > 2e-3 + 2e-2 * fmax(fabs(fd), fabs(g[i]))) {
            if (*bad < 5) printf("   fd mismatch at %zu: fd %.6g grad %.6g\n", i, fd, g[i]);
            (*bad)++;
        }
        *worst = fmax(*worst, err);
    }
}

static void test_finite_differences(void) {
    heads_config cfg = {F, H, D, P, 1, NULL};
    if (model_make(&fd_m, &cfg, N, 1)) { check_true("create", 0); return; }
    rng_state r;
    rng_seed(&r, 99);
    heads_init(fd_m.h, &fd_m.params, &fd_m.buffers, &r);
    /* Non-trivial BN affine parameters. */
    for (int i = 0; i < fd_m.params.count; i++) {
        const tensor_entry *e = &fd_m.params.entries[i];
        if (!is_bn_tensor(&fd_m.params, e)) continue;
        for (size_t k = 0; k < e->size; k++)
            fd_m.params.data[e->offset + k] += 0.3f * (2 * rng_uniform(&r) - 1);
    }
    fill_uniform(fd_feat, N * F, 71);
    fill_uniform(fd_dz, N * D, 72);
    fill_uniform(fd_dp, N * D, 73);
    float dfeat[N * F];
    fd_loss();
    heads_backward(fd_m.h, 0, dfeat, fd_dz, fd_dp, N, fd_m.params.data, fd_m.grads);
    int bad = 0, skipped = 0, checked = 0;
    double worst = 0;
    fd_check(fd_feat, N * F, dfeat, &bad, &skipped, &checked, &worst);
    for (int i = 0; i < fd_m.params.count; i++) {
        const tensor_entry *e = &fd_m.params.entries[i];
        fd_check(fd_m.params.data + e->offset, e->size, fd_m.grads + e->offset, &bad, &skipped,
                 &checked, &worst);
    }
    printf("   finite differences: %d elements, %d skipped (ReLU flips), worst |fd - g| = %.3g\n",
           checked, skipped, worst);
    check_true("heads: finite differences of feat and every parameter agree", bad == 0);
    check_true("heads: at most a quarter of the elements skipped for ReLU flips", skipped * 4 <= checked);
    model_free(&fd_m);
}

int main(void) {
    test_names();
    test_fixture();
    test_init();
    test_bad_config();
    test_finite_differences();
    return test_summary();
}
