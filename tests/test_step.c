/* test_step.c - three whole NNCLR training steps against PyTorch (fixtures from
 * tests/gen_step.py): ResNet-20 (3x32x32) + projector 64-32-32-16 + predictor 16-32-16, batch 8,
 * support set 64 x 16, top-1, tau 0.1, LARS (eta 0.001, momentum 0.9, wd 1e-6), base lr 0.3
 * with one warm-up step of three. Both objectives: NNCLR positives (step_nn.bin) and SimCLR
 * positives a_v = z_v (step_self.bin).
 *
 * The model is built through the public nnclr_model_create; its parameters and BN statistics
 * are then overwritten by name (backbone conv weights from gen_resnet.py's counter hash, the
 * rest from the fixture), the support set is restored (no labels, write position 0, fill 0),
 * and nnclr_step runs three times on the generator's views. Checked against the float64
 * reference (measured errors in brackets, both fixtures):
 *   - loss of every step: relative error <= 1e-4 [<= 6.4e-6]; learning rate (1e-6 relative,
 *     the fixture is float32), the step counter, the mean positive cosine similarity (absolute
 *     1e-4);
 *   - NNCLR: the support-set rows chosen as positives, exactly, every step;
 *   - every parameter tensor after three steps, two ways:
 *       value:  ||w - w_ref||_inf / ||w_ref||_inf <= 1e-4 [<= 2.8e-6];
 *       change: ||dw - dw_ref||_inf / ||dw_ref||_inf <= 1e-3 + s, dw = w - w_init [<= 2.8e-3,
 *               at most 0.44 of the bound]. The change is the real test of the gradients and
 *               the optimizer: conv/linear weights move only ~2e-4 of their size, so the value
 *               check alone could not see a wrong update. Both w and w_ref are float32, so
 *               the change carries up to 2 ulp of storage rounding (three float32 updates
 *               here, one rounding of the reference): s = 2 x 2^-23 x max|w| / max|dw_ref|,
 *               about 1e-3 for conv weights and the backbone BN betas (which sit near 4),
 *               ~1e-5 for the head parameters.
 *     Tensors with an exactly zero gradient here (zero_gradient() says which and why) have a
 *     zero reference change and must stay within 1e-6 of their size;
 *   - every BN running statistic after three steps (six updates): relative error <= 1e-4
 *     [<= 1.8e-6];
 *   - the support set after three steps: rows 0-7 (pushed by step 1) and the rest, each
 *     <= 1e-4 [<= 2.7e-5]; write position and fill 24.
 * Conditioning: the generator keeps every backbone ReLU input far from its kink (see
 * gen_step.py; without that, kink flips in nnclr's float32 forward change parameter updates by
 * up to 90 % over three steps) and every nearest neighbour clear of the runner-up. For every
 * quantity the fixture also stores the largest error of float32 PyTorch and of float64 runs
 * with jittered ReLU decisions ("tol.*"); the bound used is max(the above, 2 x that error), and
 * the test prints how many checks needed it (none at present).
 *
 * A NaN (NNCLR, before step 3) or Inf (SimCLR, before step 1) in a view: nnclr_step returns
 * NNCLR_ERR_NUMERIC and leaves parameters, optimizer state, BN statistics, the support set,
 * the RNG and the step counter bit-identical; the trajectory then continues and must still
 * match the reference. Plus configurations nnclr_model_create must refuse with NNCLR_ERR_ARG. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "core/tensors.h"
#include "model/nnclr_model.h"
#include "ssl/support_set.h"
#include "testlib.h"

#define BATCH 8
#define CH 3
#define SIZE 32
#define PROJ_HIDDEN 32
#define PROJ_DIM 16
#define PRED_HIDDEN 32
#define QUEUE 64
#define STEPS 3
#define VIEW_FLOATS ((size_t)BATCH * CH * SIZE * SIZE)
#define OFFSET_SEED 77777u

static const double TAU = 0.1, BASE_LR = 0.3, ETA = 0.001, MOMENTUM = 0.9, WD = 1e-6;
static const int WARMUP = 1, TOTAL = 3;

/* ---- gen_resnet.py's counter-hash weights for the backbone convolutions (as test_resnet.c) */


/* w: (O, I, kh, kw) U(-b, b), b = sqrt(3) sqrt(2 / (O kh kw)), bit-identical to hash_weights(). */
static void hash_conv_weights(const tensor_entry *e, float *w) {
    uint32_t seed = fx_fnv1a(e->name);
    double b = sqrt(3.0) * sqrt(2.0 / (double)(e->shape[0] * e->shape[2] * e->shape[3]));
    for (size_t i = 0; i < e->size; i++) w[i] = (float)((2 * fx_hash_u(seed, i) - 1) * b);
}

/* x: (BATCH, CH, SIZE, SIZE) = 0.5 noise + per-(image, channel) offset, as gen_step.py's
 * make_view. */
static void make_view(float *x, unsigned seed, float *offsets) {
    fill_uniform(x, VIEW_FLOATS, seed);
    fill_uniform(offsets, (size_t)BATCH * CH, seed + OFFSET_SEED);
    for (size_t i = 0; i < VIEW_FLOATS; i++) x[i] = 0.5f * x[i] + offsets[i / (SIZE * SIZE)];
}

/* ---- tolerances */

static int n_relaxed;

/* max(base, 2 x the perturbed-run error stored under key[i]); counts relaxed checks. */
static double bound(const fx_file *fx, const char *key, int i, double base) {
    for (int j = 0; j < fx->count; j++)
        if (strcmp(fx->t[j].name, key) == 0 && (size_t)i < fx->t[j].size) {
            double t = 2.0 * fx->t[j].data[i];
            if (t > base) {
                n_relaxed++;
                return t;
            }
        }
    return base;
}

static const fx_tensor *fx_find(const fx_file *fx, const char *name) {
    for (int j = 0; j < fx->count; j++)
        if (strcmp(fx->t[j].name, name) == 0) return &fx->t[j];
    return NULL;
}

static double max_abs(const float *x, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fabs(x[i]) > m ? fabs(x[i]) : m;
    return m;
}

/* ---- setup */

static void config_for(nnclr_config *c, nnclr_positive positive) {
    nnclr_config_default(c);
    c->arch = "resnet20";
    c->cifar_stem = 0;
    c->in_channels = CH;
    c->height = c->width = SIZE;
    c->batch = BATCH;
    c->proj_hidden = PROJ_HIDDEN;
    c->proj_dim = PROJ_DIM;
    c->pred_hidden = PRED_HIDDEN;
    c->use_predictor = 1;
    c->positive = positive;
    c->queue_size = QUEUE;
    c->topk = 1;
    c->push_both_views = 0;
    c->temperature = TAU;
    c->optimizer = NNCLR_OPT_LARS;
    c->base_lr = BASE_LR;
    c->weight_decay = WD;
    c->momentum = MOMENTUM;
    c->lars_eta = ETA;
    c->warmup_steps = WARMUP;
    c->total_steps = TOTAL;
    c->seed = 5;
}

/* The generator's hyper-parameters must be the ones compiled in above. */
static int config_matches(const fx_file *fx) {
    const fx_tensor *t = fx_get(fx, "config");
    const double want[12] = {BATCH, PROJ_HIDDEN, PROJ_DIM, PRED_HIDDEN, QUEUE, TAU, BASE_LR, ETA, MOMENTUM, WD,
                             WARMUP, TOTAL};
    int ok = t && t->size == 12;
    for (int i = 0; ok && i < 12; i++) ok = fabs(t->data[i] - want[i]) <= 1e-6 * fabs(want[i]);
    return check_true("fixture hyper-parameters equal the test's configuration", ok);
}

/* Overwrites parameters, BN statistics and the support set with the generator's start. */
static int load_start(nnclr_model *m, const fx_file *fx) {
    int missing = 0;
    for (int i = 0; i < m->params.count; i++) {
        const tensor_entry *e = &m->params.entries[i];
        char name[160];
        snprintf(name, sizeof name, "init.%s", e->name);
        const fx_tensor *t = fx_find(fx, name);
        if (t && t->size == e->size)
            memcpy(m->params.data + e->offset, t->data, e->size * sizeof(float));
        else if (!t && e->ndim == 4 && strncmp(e->name, "backbone.", 9) == 0)
            hash_conv_weights(e, m->params.data + e->offset);
        else {
            printf("     no start value for %s\n", e->name);
            missing++;
        }
        snprintf(name, sizeof name, "final.%s", e->name);
        if (!fx_find(fx, name)) {
            printf("     parameter %s is not in the PyTorch model\n", e->name);
            missing++;
        }
    }
    for (int i = 0; i < m->buffers.count; i++) {
        const tensor_entry *e = &m->buffers.entries[i];
        char name[160];
        snprintf(name, sizeof name, "init_buf.%s", e->name);
        const fx_tensor *t = fx_find(fx, name);
        if (t && t->size == e->size)
            memcpy(m->buffers.data + e->offset, t->data, e->size * sizeof(float));
        else {
            printf("     no start value for buffer %s\n", e->name);
            missing++;
        }
    }
    /* Every tensor of the PyTorch model must exist here too. */
    for (int j = 0; j < fx->count; j++) {
        const char *n = fx->t[j].name;
        if (strncmp(n, "final.", 6) == 0 && !tensor_table_find(&m->params, n + 6)) {
            printf("     PyTorch parameter %s has no nnclr counterpart\n", n + 6);
            missing++;
        }
        if (strncmp(n, "final_buf.", 10) == 0 && !tensor_table_find(&m->buffers, n + 10)) {
            printf("     PyTorch buffer %s has no nnclr counterpart\n", n + 10);
            missing++;
        }
    }
    check_true("every parameter and BN statistic matched by name in both directions", missing == 0);
    const fx_tensor *q = fx_get(fx, "queue");
    nnclr_status s = q && q->size == (size_t)QUEUE * PROJ_DIM ? support_set_restore(m->queue, q->data, NULL, 0, 0)
                                                              : NNCLR_ERR_ARG;
    check_true("support set restored", s == NNCLR_OK);
    m->prepared = 0;
    return missing == 0 && s == NNCLR_OK;
}

/* views: 2 * STEPS buffers of VIEW_FLOATS, checked against the generator's checksums. */
static int make_views(float **views, const fx_file *fx) {
    const fx_tensor *seeds = fx_get(fx, "view_seeds"), *chk = fx_get(fx, "view_check");
    if (!seeds || seeds->size != 2 * STEPS || !chk || chk->size != 6 * STEPS) return 0;
    float *offsets = malloc((size_t)BATCH * CH * sizeof(float));
    int ok = offsets != NULL;
    for (int k = 0; ok && k < 2 * STEPS; k++) {
        make_view(views[k], (unsigned)seeds->data[k], offsets);
        double sum = 0;
        for (size_t i = 0; i < VIEW_FLOATS; i++) sum += views[k][i];
        ok = fabs(sum - chk->data[3 * k]) <= 1e-6 * (1 + fabs(sum)) && views[k][0] == chk->data[3 * k + 1] &&
             views[k][VIEW_FLOATS - 1] == chk->data[3 * k + 2];
    }
    free(offsets);
    return check_true("views regenerated bit-identically (checksums)", ok);
}

/* ---- the failed step */

typedef struct {
    float *params, *mu, *buffers, *queue;
    int *labels;
    int write_pos, fill;
    int64_t step;
    rng_state rng;
} snapshot;

static int snapshot_take(snapshot *s, const nnclr_model *m) {
    size_t qd = (size_t)QUEUE * PROJ_DIM;
    s->params = malloc(m->params.total * sizeof(float));
    s->mu = malloc(m->params.total * sizeof(float));
    s->buffers = malloc(m->buffers.total * sizeof(float));
    s->queue = malloc(qd * sizeof(float));
    s->labels = malloc(QUEUE * sizeof(int));
    if (!s->params || !s->mu || !s->buffers || !s->queue || !s->labels) return 0;
    memcpy(s->params, m->params.data, m->params.total * sizeof(float));
    memcpy(s->mu, m->opt.mu, m->params.total * sizeof(float));
    memcpy(s->buffers, m->buffers.data, m->buffers.total * sizeof(float));
    memcpy(s->queue, support_set_entries(m->queue), qd * sizeof(float));
    const int *labels = support_set_labels(m->queue);
    if (labels) memcpy(s->labels, labels, QUEUE * sizeof(int));
    else memset(s->labels, 0, QUEUE * sizeof(int));
    s->write_pos = support_set_write_pos(m->queue);
    s->fill = support_set_fill(m->queue);
    s->step = m->step;
    s->rng = m->rng;
    return 1;
}

static void snapshot_free(snapshot *s) {
    free(s->params);
    free(s->mu);
    free(s->buffers);
    free(s->queue);
    free(s->labels);
}

/* One step with a non-finite value in one view: refused, nothing changes. */
static void failed_step(nnclr_model *m, const float *v1, const float *v2, int bad_view, float bad_value) {
    snapshot before;
    if (!check_true("snapshot before the non-finite step", snapshot_take(&before, m))) {
        snapshot_free(&before);
        return;
    }
    float *bad = malloc(VIEW_FLOATS * sizeof(float));
    memcpy(bad, bad_view == 0 ? v1 : v2, VIEW_FLOATS * sizeof(float));
    bad[VIEW_FLOATS / 3] = bad_value;
    nnclr_step_stats st;
    nnclr_status s = bad_view == 0 ? nnclr_step(m, bad, v2, NULL, &st) : nnclr_step(m, v1, bad, NULL, &st);
    char what[200];
    snprintf(what, sizeof what, "%s in view %d: NNCLR_ERR_NUMERIC (%s: \"%s\")", isnan(bad_value) ? "NaN" : "Inf",
             bad_view + 1, nnclr_status_name(s), nnclr_last_error());
    check_true(what, s == NNCLR_ERR_NUMERIC);
    size_t qd = (size_t)QUEUE * PROJ_DIM;
    const int *labels = support_set_labels(m->queue);
    check_true("  parameters bit-identical", memcmp(before.params, m->params.data, m->params.total * sizeof(float)) == 0);
    check_true("  optimizer momentum bit-identical", memcmp(before.mu, m->opt.mu, m->params.total * sizeof(float)) == 0);
    check_true("  BN running statistics bit-identical",
               memcmp(before.buffers, m->buffers.data, m->buffers.total * sizeof(float)) == 0);
    check_true("  support set rows bit-identical", memcmp(before.queue, support_set_entries(m->queue), qd * sizeof(float)) == 0);
    check_true("  support set labels, write position and fill unchanged",
               (!labels || memcmp(before.labels, labels, QUEUE * sizeof(int)) == 0) &&
                   before.write_pos == support_set_write_pos(m->queue) && before.fill == support_set_fill(m->queue));
    check_true("  step counter and RNG unchanged",
               before.step == m->step && memcmp(&before.rng, &m->rng, sizeof before.rng) == 0);
    free(bad);
    snapshot_free(&before);
}

/* ---- the trajectory */

/* Tensors whose gradient is exactly zero in this setting, so that their reference change is
 * zero: linear biases that feed a batch norm; backbone.layer3.2.bn2.bias, because with every
 * backbone ReLU open (gen_step.py's BN shift) a per-channel shift of the last block passes the
 * average pool and projector.0 as a batch constant that projector.1 removes; and with NNCLR
 * positives projector.7.bias, since z then reaches the loss only through the predictor, whose
 * first batch norm removes a shift. */
static int zero_gradient(const char *name, int self) {
    static const char *const names[] = {"projector.0.bias", "projector.3.bias", "projector.6.bias",
                                        "predictor.0.bias", "backbone.layer3.2.bn2.bias"};
    for (int i = 0; i < 5; i++)
        if (strcmp(name, names[i]) == 0) return 1;
    return !self && strcmp(name, "projector.7.bias") == 0;
}

static void check_params(const nnclr_model *m, const float *init, const fx_file *fx, int self) {
    int unmoved = 0, unexpected = 0;
    for (int i = 0; i < m->params.count; i++) {
        const tensor_entry *e = &m->params.entries[i];
        char name[160], tname[200];
        snprintf(name, sizeof name, "final.%s", e->name);
        const fx_tensor *ref = fx_find(fx, name);
        if (!ref || ref->size != e->size) continue; /* reported by load_start */
        const float *w = m->params.data + e->offset, *w0 = init + e->offset;
        snprintf(tname, sizeof tname, "tol.%s", name);
        check_rel(name, w, ref->data, e->size, bound(fx, tname, 1, 1e-4));

        float *dw = malloc(e->size * sizeof(float)), *dref = malloc(e->size * sizeof(float));
        if (!dw || !dref) {
            check_true("scratch allocation", 0);
            free(dw);
            free(dref);
            continue;
        }
        for (size_t j = 0; j < e->size; j++) {
            dw[j] = (float)((double)w[j] - w0[j]);
            dref[j] = (float)((double)ref->data[j] - w0[j]);
        }
        double wmax = max_abs(ref->data, e->size), dmax = max_abs(dref, e->size);
        char what[220];
        if (dmax <= 1e-6 * wmax) {
            unmoved++;
            unexpected += !zero_gradient(e->name, self);
            snprintf(what, sizeof what, "%s does not move (zero gradient)", e->name);
            check_true(what, max_abs(dw, e->size) <= 1e-6 * wmax);
        } else {
            unexpected += zero_gradient(e->name, self);
            double base = 1e-3 + 2.0 * 1.1920928955078125e-7 * wmax / dmax;
            snprintf(what, sizeof what, "change of %s", e->name);
            check_rel(what, dw, dref, e->size, bound(fx, tname, 0, base));
        }
        free(dw);
        free(dref);
    }
    char what[120];
    snprintf(what, sizeof what, "the reference leaves exactly the %d zero-gradient tensors unchanged", self ? 5 : 6);
    check_true(what, unmoved == (self ? 5 : 6) && unexpected == 0);
}

static void run_mode(const char *file, nnclr_positive positive) {
    char path[256];
    snprintf(path, sizeof path, "fixtures/%s", file);
    fx_file fx;
    if (fx_load(&fx, path)) return;
    int self = positive == NNCLR_POSITIVE_SELF;
    printf("== %s (%s positives)\n", file, self ? "SimCLR" : "NNCLR");
    const fx_tensor *margin = fx_find(&fx, "margin");
    if (margin && margin->size == 3)
        printf("   reference: smallest |ReLU input| %.3g, %d within 2e-5 of zero, smallest NN gap %.3g\n",
               margin->data[0], (int)margin->data[2], margin->data[1]);
    config_matches(&fx);

    nnclr_config cfg;
    config_for(&cfg, positive);
    nnclr_model *m = NULL;
    nnclr_status s = nnclr_model_create(&m, &cfg);
    if (!check_true("nnclr_model_create", s == NNCLR_OK)) {
        printf("   %s\n", nnclr_last_error());
        fx_free(&fx);
        return;
    }
    float *views[2 * STEPS] = {0};
    float *init = malloc(m->params.total * sizeof(float));
    int ready = init != NULL;
    for (int k = 0; k < 2 * STEPS; k++) ready &= (views[k] = malloc(VIEW_FLOATS * sizeof(float))) != NULL;
    if (ready) ready = load_start(m, &fx) && make_views(views, &fx);
    const fx_tensor *loss = fx_get(&fx, "loss"), *lr = fx_get(&fx, "lr"), *pos = fx_get(&fx, "pos_sim");
    const fx_tensor *nn_idx = self ? NULL : fx_get(&fx, "nn_idx");
    ready = ready && loss && lr && pos && (self || nn_idx);
    if (!ready) goto done;
    memcpy(init, m->params.data, m->params.total * sizeof(float));

    for (int t = 0; t < STEPS; t++) {
        const float *v1 = views[2 * t], *v2 = views[2 * t + 1];
        /* The refused step sits where it would break the most: NNCLR after the support set
         * has been pushed to and the momentum is non-zero, SimCLR before anything moved. */
        if ((!self && t == 2) || (self && t == 0)) failed_step(m, v1, v2, self, self ? INFINITY : NAN);
        nnclr_step_stats st;
        memset(&st, 0, sizeof st);
        s = nnclr_step(m, v1, v2, NULL, &st);
        char what[200];
        snprintf(what, sizeof what, "step %d runs", t + 1);
        if (!check_true(what, s == NNCLR_OK)) {
            printf("   %s\n", nnclr_last_error());
            goto done;
        }
        snprintf(what, sizeof what, "step %d loss %.7f (ref %.7f)", t + 1, st.loss, loss->data[t]);
        double rel_loss = fabs(st.loss - loss->data[t]) / fabs(loss->data[t]);
        double tol = bound(&fx, "tol.loss", t, 1e-4);
        printf("     loss rel err %.3g (tol %.1g)\n", rel_loss, tol);
        check_true(what, rel_loss <= tol);
        snprintf(what, sizeof what, "step %d lr %.8g, step counter %lld", t + 1, st.lr, (long long)st.step);
        check_true(what, fabs(st.lr - lr->data[t]) <= 1e-6 * lr->data[t] && st.step == t + 1);
        snprintf(what, sizeof what, "step %d mean positive similarity %.6f (ref %.6f)", t + 1, st.pos_similarity,
                 pos->data[t]);
        check_true(what, fabs(st.pos_similarity - pos->data[t]) <= 1e-4);
        check_true("  no labels: NN accuracy -1", st.nn_accuracy == -1);
        if (!self) {
            int same = 1;
            for (int i = 0; i < 2 * BATCH; i++) same &= m->nn_idx[i] == (int)nn_idx->data[(size_t)t * 2 * BATCH + i];
            snprintf(what, sizeof what, "step %d: the 16 nearest neighbours are PyTorch's", t + 1);
            if (!check_true(what, same))
                for (int i = 0; i < 2 * BATCH; i++)
                    printf("     [%d] got %d ref %d\n", i, m->nn_idx[i], (int)nn_idx->data[(size_t)t * 2 * BATCH + i]);
        }
    }

    check_params(m, init, &fx, self);
    for (int i = 0; i < m->buffers.count; i++) {
        const tensor_entry *e = &m->buffers.entries[i];
        char name[160], tname[200];
        snprintf(name, sizeof name, "final_buf.%s", e->name);
        snprintf(tname, sizeof tname, "tol.%s", name);
        const fx_tensor *ref = fx_find(&fx, name);
        if (ref && ref->size == e->size)
            check_rel(name, m->buffers.data + e->offset, ref->data, e->size, bound(&fx, tname, 0, 1e-4));
    }
    const fx_tensor *qref = fx_get(&fx, "queue_final");
    if (qref && qref->size == (size_t)QUEUE * PROJ_DIM) {
        size_t first = (size_t)BATCH * PROJ_DIM;
        const float *q = support_set_entries(m->queue);
        check_rel("support set rows 0-7 (pushed by step 1)", q, qref->data, first, bound(&fx, "tol.queue_final", 0, 1e-4));
        check_rel("support set rows 8-63 (steps 2, 3; initial)", q + first, qref->data + first, qref->size - first,
                  bound(&fx, "tol.queue_final", 1, 1e-4));
    }
    check_true("support set write position 24, fill 24",
               support_set_write_pos(m->queue) == 3 * BATCH && support_set_fill(m->queue) == 3 * BATCH);

done:
    for (int k = 0; k < 2 * STEPS; k++) free(views[k]);
    free(init);
    nnclr_model_free(m);
    fx_free(&fx);
}

/* ---- refused configurations */

static void bad_config(const char *what, nnclr_config cfg) {
    nnclr_model *m = (nnclr_model *)&cfg; /* any non-NULL value: create must reset it */
    nnclr_status s = nnclr_model_create(&m, &cfg);
    char msg[300];
    snprintf(msg, sizeof msg, "rejects %s: %s \"%s\"", what, nnclr_status_name(s), nnclr_last_error());
    check_true(msg, s == NNCLR_ERR_ARG && m == NULL && nnclr_last_error()[0] != 0);
    if (s == NNCLR_OK) nnclr_model_free(m);
}

static void bad_configs(void) {
    nnclr_config c;
    config_for(&c, NNCLR_POSITIVE_NN);
    c.queue_size = BATCH - 1;
    bad_config("support set smaller than the batch", c);
    config_for(&c, NNCLR_POSITIVE_NN);
    c.topk = QUEUE + 1;
    bad_config("top-k larger than the support set", c);
    config_for(&c, NNCLR_POSITIVE_NN);
    c.topk = 0;
    bad_config("top-k 0", c);
    const double taus[3] = {0.0, -0.1, NAN};
    for (int i = 0; i < 3; i++) {
        config_for(&c, NNCLR_POSITIVE_NN);
        c.temperature = taus[i];
        char what[64];
        snprintf(what, sizeof what, "temperature %g", taus[i]);
        bad_config(what, c);
    }
    config_for(&c, NNCLR_POSITIVE_NN);
    c.temperature = INFINITY;
    bad_config("temperature inf", c);
}

int main(void) {
    run_mode("step_nn.bin", NNCLR_POSITIVE_NN);
    run_mode("step_self.bin", NNCLR_POSITIVE_SELF);
    printf("%d checks used the relaxed bound 2 x (error of the perturbed PyTorch runs)\n", n_relaxed);
    bad_configs();
    nnclr_step_stats st;
    check_true("nnclr_step(NULL model) is NNCLR_ERR_ARG", nnclr_step(NULL, NULL, NULL, NULL, &st) == NNCLR_ERR_ARG);
    return test_summary();
}
