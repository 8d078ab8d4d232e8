/* test_resnet.c - whole-backbone parity with PyTorch (fixtures from tests/gen_resnet.py).
 *
 * For ResNet-20 (3x32x32, weights exported in full), ResNet-20 (1x28x28), ResNet-18 with the
 * CIFAR stem (3x32x32) and ResNet-50 with the ImageNet stem (3x64x64), batch 4:
 *   - three training forwards: features of the third, and every BN running statistic, match
 *     the float64 PyTorch reference (relative error <= 1e-4 on features, 1e-4 on stats);
 *   - backward of sum(feat * dfeat): every parameter gradient matches (relative error
 *     ||g - ref||_inf / ||ref||_inf <= 1e-3; for the hash-weight nets on 64 sampled elements
 *     per tensor, plus the tensor's sum of squares and its dot product with a hash vector);
 *   - an eval-mode forward with the updated running statistics matches (<= 1e-4).
 * Conditioning: with BN over a batch of 4 and ReLU kinks, some gradients are ill-conditioned
 * (a pre-activation within float32 rounding of zero flips its ReLU). The fixture stores, for
 * every checked quantity, the error of float32 PyTorch against the float64 reference; the
 * bound used is max(tolerance above, 2 x that error), and the test prints how many checks
 * needed the relaxed bound. So nnclr matches within the stated tolerance wherever PyTorch's
 * own float32 run does, and is never worse than twice PyTorch's float32 error elsewhere (four
 * times for ResNet-50 at 64x64, see main). The inputs are chosen by the generator to keep
 * every ReLU input as far from zero as 40 candidate batches allow.
 * ctest runs this on oneDNN's direct kernels (NNCLR_CONV_ALGO=direct, test_resnet) for the
 * bounds above, and once more on the automatic choice, Winograd F(4x4, 3x3) for every 3x3
 * stride-1 layer of 16 to 256 channels (NNCLR_TEST_PARITY=winograd, test_resnet_winograd).
 * There gradients get a floor of 0.05: F(4x4)'s per-layer error is ~1e-6 relative
 * (tests/test_conv2d_numerics.c), but batch norm over a batch of 4 divides by each channel's
 * batch spread at every layer, so through ResNet-18 the gradients drift up to ~2 % from float64
 * (features stay within 1e-4); a wiring error gives O(1) differences, and bf16 training, which
 * the field uses routinely, perturbs every layer by ~2e-3, a thousand times more.
 * Plus: bad configurations return NNCLR_ERR_ARG with a message. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "core/tensors.h"
#include "model/resnet.h"
#include "testlib.h"


/* The weights gen_resnet.py's hash_weights() writes, bit for bit. */
static void hash_weights(const tensor_entry *e, float *w) {
    uint32_t seed = fx_fnv1a(e->name);
    size_t len = strlen(e->name);
    int is_weight = len > 7 && strcmp(e->name + len - 7, ".weight") == 0;
    if (e->ndim == 4) {
        double b = sqrt(3.0) * sqrt(2.0 / (double)(e->shape[0] * e->shape[2] * e->shape[3]));
        for (size_t i = 0; i < e->size; i++) w[i] = (float)((2 * fx_hash_u(seed, i) - 1) * b);
    } else {
        for (size_t i = 0; i < e->size; i++)
            w[i] = (float)(is_weight ? 1 + 0.2 * (fx_hash_u(seed, i) - 0.5) : 0.2 * (fx_hash_u(seed, i) - 0.5));
    }
}

static int n_relaxed;
static double relax_factor = 2.0;
static double grad_floor = 0.0; /* lower bound for gradient tolerances (ResNet-50 only) */

/* max(base, relax_factor x the float32-PyTorch error stored under key[i]). */
static double bound(const fx_file *fx, const char *key, int i, double base) {
    for (int j = 0; j < fx->count; j++)
        if (strcmp(fx->t[j].name, key) == 0 && (size_t)i < fx->t[j].size) {
            double t = relax_factor * fx->t[j].data[i];
            if (strncmp(key, "tol.g", 5) == 0 && t < grad_floor) t = grad_floor;
            if (t > base) {
                n_relaxed++;
                return t;
            }
        }
    return base;
}

static void run_case(const char *file, const char *arch, int cifar_stem, int cin, int size) {
    char path[256];
    snprintf(path, sizeof path, "fixtures/%s", file);
    fx_file fx;
    if (fx_load(&fx, path)) return;
    printf("== %s (%s, %dx%dx%d)\n", file, arch, cin, size, size);

    tensor_table params, buffers;
    tensor_table_init(&params);
    tensor_table_init(&buffers);
    resnet *r = NULL;
    resnet_config cfg = {arch, cifar_stem, cin, size, size, 4, 1, NULL, NNCLR_PRECISION_F32};
    if (!check_true("create", resnet_create(&r, &cfg, &params, &buffers) == NNCLR_OK)) {
        printf("   %s\n", nnclr_last_error());
        fx_free(&fx);
        return;
    }
    tensor_table_alloc(&params);
    tensor_table_alloc(&buffers);
    float *grads = calloc(params.total, sizeof(float));
    const fx_tensor *np = fx_get(&fx, "num_params");
    if (np) check_true("parameter tensor count equals PyTorch's", (int)np->data[0] == params.count);
    size_t total = 0;
    for (int i = 0; i < params.count; i++) total += params.entries[i].size;
    if (np) check_true("total parameter floats equal PyTorch's", (double)total == np->data[1]);

    for (int i = 0; i < params.count; i++) {
        const tensor_entry *e = &params.entries[i];
        char name[160];
        snprintf(name, sizeof name, "param.%s", e->name);
        const fx_tensor *t = NULL;
        for (int j = 0; j < fx.count; j++)
            if (strcmp(fx.t[j].name, name) == 0) t = &fx.t[j];
        if (t && t->size == e->size)
            memcpy(params.data + e->offset, t->data, e->size * sizeof(float));
        else
            hash_weights(e, params.data + e->offset);
    }
    for (int i = 0; i < buffers.count; i++) {
        const tensor_entry *e = &buffers.entries[i];
        int is_var = strstr(e->name, "running_var") != NULL;
        for (size_t j = 0; j < e->size; j++) buffers.data[e->offset + j] = is_var ? 1.0f : 0.0f;
    }

    const fx_tensor *x = fx_get(&fx, "x"), *dfeat = fx_get(&fx, "dfeat"), *feat_ref = fx_get(&fx, "feat"),
                    *feat_eval_ref = fx_get(&fx, "feat_eval");
    int fd = resnet_feature_dim(r);
    float *feat = calloc((size_t)4 * fd, sizeof(float));
    nnclr_status st = resnet_prepare(r, params.data);
    for (int it = 0; it < 3 && st == NNCLR_OK; it++)
        st = resnet_forward(r, 0, feat, x->data, 1, params.data, buffers.data);
    if (!check_true("forward x3 runs", st == NNCLR_OK)) printf("   %s\n", nnclr_last_error());
    check_true("feature dim", feat_ref && feat_ref->size == (size_t)4 * fd);
    check_rel("features (train mode)", feat, feat_ref->data, (size_t)4 * fd, bound(&fx, "tol.feat", 0, 1e-4));

    for (int i = 0; i < buffers.count; i++) {
        const tensor_entry *e = &buffers.entries[i];
        char name[160];
        snprintf(name, sizeof name, "buf.%s", e->name);
        const fx_tensor *t = fx_get(&fx, name);
        char tname[200];
        snprintf(tname, sizeof tname, "tol.%s", name);
        if (t) check_rel(name, buffers.data + e->offset, t->data, e->size, bound(&fx, tname, 0, 1e-4));
    }

    st = resnet_backward(r, 0, dfeat->data, params.data, grads);
    if (!check_true("backward runs", st == NNCLR_OK)) printf("   %s\n", nnclr_last_error());
    for (int i = 0; i < params.count; i++) {
        const tensor_entry *e = &params.entries[i];
        char name[160];
        snprintf(name, sizeof name, "grad.%s", e->name);
        const fx_tensor *t = NULL;
        for (int j = 0; j < fx.count; j++)
            if (strcmp(fx.t[j].name, name) == 0) t = &fx.t[j];
        const float *g = grads + e->offset;
        char tname[200];
        snprintf(tname, sizeof tname, "tol.%s", name);
        if (t) {
            check_rel(name, g, t->data, e->size, bound(&fx, tname, 0, 1e-3));
            continue;
        }
        snprintf(name, sizeof name, "gs.%s", e->name);
        t = fx_get(&fx, name);
        if (!t) continue;
        snprintf(tname, sizeof tname, "tol.%s", name);
        /* 64 sampled elements at the generator's indices, then sum of squares, then the dot
         * product with a hash vector. */
        uint32_t seed = fx_fnv1a(e->name);
        float samp[64];
        for (int j = 0; j < 64; j++) samp[j] = g[fx_fmix32(seed ^ (uint32_t)(j + 12345)) % e->size];
        check_rel(name, samp, t->data, 64, bound(&fx, tname, 0, 1e-3));
        char dname[200];
        snprintf(dname, sizeof dname, "%s#dot", e->name);
        uint32_t dseed = fx_fnv1a(dname);
        double ss = 0, dot = 0, vv = 0;
        for (size_t j = 0; j < e->size; j++) {
            double v = fx_hash_u(dseed, j) - 0.5;
            ss += (double)g[j] * g[j];
            dot += (double)g[j] * v;
            vv += v * v;
        }
        double ref_ss = t->data[64], ref_dot = t->data[65];
        char what[220];
        snprintf(what, sizeof what, "%s sum of squares", name);
        check_true(what, fabs(ss - ref_ss) <= bound(&fx, tname, 1, 2e-3) * fabs(ref_ss) + 1e-30);
        snprintf(what, sizeof what, "%s projection", name);
        check_true(what, fabs(dot - ref_dot) <= bound(&fx, tname, 2, 1e-3) * sqrt(ref_ss * vv) + 1e-30);
    }

    memset(feat, 0, (size_t)4 * fd * sizeof(float));
    st = resnet_forward(r, 0, feat, x->data, 0, params.data, buffers.data);
    check_true("eval forward runs", st == NNCLR_OK);
    check_rel("features (eval mode, running stats)", feat, feat_eval_ref->data, (size_t)4 * fd,
              bound(&fx, "tol.feat_eval", 0, 1e-4));

    free(feat);
    free(grads);
    resnet_free(r);
    tensor_table_free(&params);
    tensor_table_free(&buffers);
    fx_free(&fx);
}

static void bad_config(const char *what, resnet_config cfg) {
    tensor_table p, b;
    tensor_table_init(&p);
    tensor_table_init(&b);
    resnet *r = NULL;
    nnclr_status s = resnet_create(&r, &cfg, &p, &b);
    char msg[256];
    snprintf(msg, sizeof msg, "rejects %s: \"%s\"", what, nnclr_last_error());
    check_true(msg, s == NNCLR_ERR_ARG && r == NULL && nnclr_last_error()[0] != 0);
    resnet_free(r);
    tensor_table_free(&p);
    tensor_table_free(&b);
}

int main(void) {
    const char *parity = getenv("NNCLR_TEST_PARITY");
    int wino = parity && !strcmp(parity, "winograd");
    if (wino) {
        grad_floor = 0.05;
        printf("Winograd parity: gradient bounds at least %.2f (see the top of this file)\n", grad_floor);
    }
    run_case("resnet_resnet20_c3.bin", "resnet20", 0, 3, 32);
    run_case("resnet_resnet20_c1_28.bin", "resnet20", 0, 1, 28);
    run_case("resnet_resnet18_cifar.bin", "resnet18", 1, 3, 32);
    /* ResNet-50 at 64x64 is kink-dominated: millions of ReLU inputs, the closest 1.4e-6 from
     * zero, while float32 forward error is ~1e-4 relative (PyTorch's own float32 run too), so
     * ReLUs flip between any float32 run and the float64 reference, and PyTorch-float32's own
     * gradients are up to 20 % off float64. Forward (features, running statistics) is held to
     * the same bounds as above; gradients to max(0.1, 4 x PyTorch-float32's error), which
     * still catches any wiring error (those give O(1) differences). */
    relax_factor = 4.0;
    grad_floor = 0.1;
    run_case("resnet_resnet50_in64.bin", "resnet50", 0, 3, 64);
    relax_factor = 2.0;
    grad_floor = wino ? 0.05 : 0.0;

    printf("%d checks used the relaxed bound (2 x, ResNet-50: 4 x, the float32 PyTorch error)\n", n_relaxed);
    bad_config("input smaller than 16x16", (resnet_config){"resnet20", 0, 3, 15, 32, 4, 1, NULL, NNCLR_PRECISION_F32});
    bad_config("zero batch", (resnet_config){"resnet20", 0, 3, 32, 32, 0, 1, NULL, NNCLR_PRECISION_F32});
    bad_config("unknown architecture", (resnet_config){"resnet19", 0, 3, 32, 32, 4, 1, NULL, NNCLR_PRECISION_F32});
    bad_config("2 input channels", (resnet_config){"resnet18", 1, 2, 32, 32, 4, 1, NULL, NNCLR_PRECISION_F32});
    bad_config("NULL architecture", (resnet_config){NULL, 0, 3, 32, 32, 4, 1, NULL, NNCLR_PRECISION_F32});
    return test_summary();
}
