/* test_dist.c - data-parallel training equals single-process training (run on 2 ranks by
 * ctest through mpiexec; every rank checks and the job fails when any rank does).
 *
 * The same global batch of 32 (ResNet-20 on 3x16x16, projector 64-64-16, predictor 32,
 * support set 64 x 16, LARS with one warm-up step of five) trains for 3 steps
 *   - on 2 ranks x 16 rows (nnclr_config.dist = the MPI world), and
 *   - on one process x 32 rows (dist NULL), computed on every rank as the reference,
 * for NNCLR top-1, NNCLR top-3 sampling, SimCLR positives and NNCLR top-1 with the search
 * sharded over the ranks (each searches half the support set for all 32 queries). In training mode batch norm makes
 * every row depend on the whole batch, so this only holds with synchronised BN (backbone and
 * heads), negatives over the global batch and the gathered support-set push. Checked:
 *   - loss of every step: relative error <= 1e-5; NN accuracy (labels known) equal;
 *   - the all-reduced gradients of every step, every parameter tensor, every BN running
 *     statistic and the optimizer state after 3 steps: ||dist - ref||_inf / ||ref||_inf <= 1e-5
 *     per tensor (only float summation order differs; see tables_close for tensors whose
 *     exact gradient is zero);
 *   - the support set: byte-identical on both ranks (rank 0's bytes broadcast and compared),
 *     same write position and fill as the reference, entries within 1e-5;
 *   - checkpoint across world sizes: the 2-rank model's state (model_state_add) loads into a
 *     single-process model, which then takes a 4th step; it matches the reference's 4th step
 *     (loss and parameters within 1e-5).
 * Plus: a batch that is not a multiple of the world size is refused with NNCLR_ERR_ARG, and a
 * NaN view on one rank makes every rank return NNCLR_ERR_NUMERIC with parameters unchanged. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "model/model_state.h"
#include "model/nnclr_model.h"
#include "core/dnn.h"
#include "ops/batchnorm.h"
#include "ops/batchnorm1d.h"
#include "ssl/support_set.h"
#include "testlib.h"

#define GLOBAL 32
#define CH 3
#define SIZE 16
#define IMG ((size_t)CH * SIZE * SIZE)
#define STEPS 3
#define TOL 1e-5

static int g_rank, g_world;

static int g_shard;  /* the next run_case's 2-rank model shards the NN search */

static void make_config(nnclr_config *c, int positive, int topk, nnclr_dist *d) {
    nnclr_config_default(c);
    c->arch = "resnet20";
    c->in_channels = CH;
    c->height = c->width = SIZE;
    c->batch = GLOBAL;
    c->proj_hidden = 64;
    c->proj_dim = 16;
    c->pred_hidden = 32;
    c->queue_size = 64;
    c->positive = positive;
    c->topk = topk;
    c->base_lr = 0.3;
    c->warmup_steps = 1;
    c->total_steps = STEPS + 2;  /* the resumed 4th step still has lr > 0 */
    c->seed = 7;
    c->dist = d;
    c->shard_nn_search = d ? g_shard : 0;
}

/* Per tensor of the table: ||got - ref||_inf / max(||ref||_inf, floor) <= TOL, floor = `floor`
 * x the table's largest |ref|. Some gradients are zero in exact arithmetic -- a linear bias
 * feeding batch norm, and the last projector BN's beta, which feeds the predictor's BN -- so
 * they, their momentum and the (still ~0) values of those parameters hold only rounding
 * noise, which must be measured against the scale of the table, not against themselves:
 * floor 1e-2 for gradients, 1e-3 for values, 3e-2 for momentum (three steps of that noise; it
 * depends on the summation order, and with 16-channel activation blocks projector.0.bias's
 * reached 1.4e-5 of 1e-2 x the table's largest). */
static int tables_close(const char *what, const tensor_table *t, const float *got, const float *ref,
                        double floor) {
    double big = 0;
    for (size_t k = 0; k < t->total; k++) big = fabs(ref[k]) > big ? fabs(ref[k]) : big;
    double worst = 0;
    const char *worst_name = "";
    int ok = 1;
    for (int i = 0; i < t->count; i++) {
        const tensor_entry *e = &t->entries[i];
        double num = 0, den = floor * big;
        double own = 0;
        for (size_t k = 0; k < e->size; k++) {
            double d = fabs((double)got[e->offset + k] - ref[e->offset + k]);
            if (d > num) num = d;
            if (fabs(ref[e->offset + k]) > own) own = fabs(ref[e->offset + k]);
        }
        if (own > den) den = own;
        double rel = num / (den > 1e-30 ? den : 1e-30);
        if (rel > worst) { worst = rel; worst_name = e->name; }
        if (!(rel <= TOL)) {
            printf("  rank %d %s %s: relative error %.3g > %g\n", g_rank, what, e->name, rel, TOL);
            ok = 0;
        }
    }
    if (g_rank == 0) printf("  %s: worst relative error %.2g (%s)\n", what, worst, worst_name);
    return ok;
}

/* dst takes src's whole training state (the checkpoint sections), through memory. */
static int copy_state(nnclr_model *dst, const nnclr_model *src) {
    checkpoint *ck = NULL;
    int ok = checkpoint_create(&ck) == NNCLR_OK && model_state_add(src, ck) == NNCLR_OK &&
             model_state_load(dst, ck, 0) == NNCLR_OK;
    if (!ok) printf("  rank %d state copy: %s\n", g_rank, nnclr_last_error());
    checkpoint_free(ck);
    return ok;
}

/* Every step from the same state (the 2-rank model takes the reference's state before steps 2
 * and 3): a ReLU input within rounding of 0 flips between the two runs once their parameters
 * differ by rounding, and such flips grow chaotically over steps (free-running, the 3-step
 * losses drift apart by up to ~1e-4 here), so the exact comparison is per step. The free-
 * running trajectory is checked too, with a bound for that drift. */
static int run_case(const char *name, int positive, int topk, nnclr_dist *world, float *v1, float *v2,
                    int *labels) {
    nnclr_config cr, cd;
    make_config(&cr, positive, topk, NULL);
    make_config(&cd, positive, topk, world);
    nnclr_model *ref = NULL, *dm = NULL, *free_ref = NULL, *free_dm = NULL;
    char what[200];
    snprintf(what, sizeof what, "%s: models created", name);
    if (!check_true(what, nnclr_model_create(&ref, &cr) == NNCLR_OK && nnclr_model_create(&dm, &cd) == NNCLR_OK &&
                          nnclr_model_create(&free_ref, &cr) == NNCLR_OK &&
                          nnclr_model_create(&free_dm, &cd) == NNCLR_OK)) {
        printf("  %s\n", nnclr_last_error());
        nnclr_model_free(ref); nnclr_model_free(dm); nnclr_model_free(free_ref); nnclr_model_free(free_dm);
        return 1;
    }
    int n = GLOBAL / g_world;
    const float *lv1 = v1 + (size_t)g_rank * n * IMG, *lv2 = v2 + (size_t)g_rank * n * IMG;
    const int *ll = labels + (size_t)g_rank * n;
    int loss_ok = 1, acc_ok = 1, grad_ok = 1, ok = 1;
    double free_drift = 0;
    for (int s = 0; s < STEPS; s++) {
        if (s > 0) ok &= copy_state(dm, ref);
        /* steps alternate the views so that step 2 is not step 1 again */
        const float *a1 = s % 2 ? v2 : v1, *a2 = s % 2 ? v1 : v2, *b1 = s % 2 ? lv2 : lv1, *b2 = s % 2 ? lv1 : lv2;
        nnclr_step_stats a, b, fa, fb;
        int st = nnclr_step(ref, a1, a2, labels, &a) == NNCLR_OK && nnclr_step(dm, b1, b2, ll, &b) == NNCLR_OK &&
                 nnclr_step(free_ref, a1, a2, labels, &fa) == NNCLR_OK &&
                 nnclr_step(free_dm, b1, b2, ll, &fb) == NNCLR_OK;
        if (!st) printf("  rank %d step %d: %s\n", g_rank, s, nnclr_last_error());
        ok &= st;
        double rel = fabs(a.loss - b.loss) / fabs(a.loss), frel = fabs(fa.loss - fb.loss) / fabs(fa.loss);
        if (frel > free_drift) free_drift = frel;
        if (g_rank == 0)
            printf("  %s step %d: loss %.7f (1 process) %.7f (%d ranks), relative %.2g; NN accuracy %.4f %.4f; "
                   "free-running relative %.2g\n", name, s + 1, a.loss, b.loss, g_world, rel, a.nn_accuracy,
                   b.nn_accuracy, frel);
        loss_ok &= rel <= TOL;
        acc_ok &= a.nn_accuracy == b.nn_accuracy;
        snprintf(what, sizeof what, "%s step %d gradient", name, s + 1);
        grad_ok &= tables_close(what, &ref->params, dm->grads, ref->grads, 1e-2);
    }
    snprintf(what, sizeof what, "%s: %d steps ran, states copied", name, STEPS);
    check_true(what, ok);
    snprintf(what, sizeof what, "%s: loss of each step within %g relative", name, TOL);
    check_true(what, loss_ok);
    snprintf(what, sizeof what, "%s: NN accuracy equal every step", name);
    check_true(what, acc_ok);
    snprintf(what, sizeof what, "%s: all-reduced gradients of each step within %g", name, TOL);
    check_true(what, grad_ok);
    snprintf(what, sizeof what, "%s: parameters after step %d within %g", name, STEPS, TOL);
    check_true(what, tables_close("parameters", &ref->params, dm->params.data, ref->params.data, 1e-3));
    snprintf(what, sizeof what, "%s: BN running statistics within %g", name, TOL);
    check_true(what, tables_close("BN statistics", &ref->buffers, dm->buffers.data, ref->buffers.data, 1e-3));
    snprintf(what, sizeof what, "%s: optimizer momentum within %g", name, TOL);
    check_true(what, tables_close("momentum", &ref->params, dm->opt.mu, ref->opt.mu, 3e-2));
    snprintf(what, sizeof what, "%s: free-running %d steps, losses within 1e-3 relative (%.2g)", name, STEPS,
             free_drift);
    check_true(what, free_drift <= 1e-3);

    /* Support set: identical bytes on every rank, equal to the reference within TOL. */
    size_t qn = (size_t)support_set_size(dm->queue) * support_set_dim(dm->queue);
    float *mine = malloc(qn * sizeof(float)), *root = malloc(qn * sizeof(float));
    memcpy(mine, support_set_entries(dm->queue), qn * sizeof(float));
    memcpy(root, mine, qn * sizeof(float));
    MPI_Bcast(root, (int)qn, MPI_FLOAT, 0, MPI_COMM_WORLD);
    snprintf(what, sizeof what, "%s: support set byte-identical to rank 0's", name);
    check_true(what, memcmp(mine, root, qn * sizeof(float)) == 0);
    snprintf(what, sizeof what, "%s: support set write position and fill equal the 1-process ones", name);
    check_true(what, support_set_write_pos(dm->queue) == support_set_write_pos(ref->queue) &&
                     support_set_fill(dm->queue) == support_set_fill(ref->queue));
    snprintf(what, sizeof what, "%s: support set entries", name);
    check_rel(what, mine, support_set_entries(ref->queue), qn, TOL);
    free(mine);
    free(root);

    /* The 2-rank state resumed in one process: the same state bit for bit, and its next step
     * equals the 2-rank model's next step. */
    nnclr_model *one = NULL;
    ok = nnclr_model_create(&one, &cr) == NNCLR_OK && copy_state(one, dm);
    snprintf(what, sizeof what, "%s: %d-rank state loads into a 1-process model, bit-identical", name, g_world);
    check_true(what, ok && memcmp(one->params.data, dm->params.data, dm->params.total * 4) == 0 &&
                     memcmp(one->opt.mu, dm->opt.mu, dm->params.total * 4) == 0 &&
                     memcmp(one->buffers.data, dm->buffers.data, dm->buffers.total * 4) == 0 &&
                     memcmp(support_set_entries(one->queue), support_set_entries(dm->queue), qn * 4) == 0 &&
                     one->step == dm->step);
    if (ok) {
        nnclr_step_stats a, b;
        ok = nnclr_step(dm, lv1, lv2, ll, &b) == NNCLR_OK && nnclr_step(one, v1, v2, labels, &a) == NNCLR_OK;
        snprintf(what, sizeof what, "%s: resumed in 1 process, step %d loss within %g (%.7f vs %.7f)", name,
                 STEPS + 1, TOL, a.loss, b.loss);
        check_true(what, ok && fabs(a.loss - b.loss) <= TOL * fabs(b.loss) && one->step == dm->step);
        snprintf(what, sizeof what, "%s: resumed in 1 process, parameters after step %d within %g", name, STEPS + 1,
                 TOL);
        check_true(what, tables_close("resumed parameters", &one->params, one->params.data, dm->params.data, 1e-3));
    }
    nnclr_model_free(one);
    nnclr_model_free(ref);
    nnclr_model_free(dm);
    nnclr_model_free(free_ref);
    nnclr_model_free(free_dm);
    return 0;
}

/* Synchronised 2-D batch norm on 2 ranks x n rows against one op on 2n rows: output, running
 * statistics, dx (this rank's rows) and dgamma/dbeta (summed over ranks), within 1e-5. */
static void bn2d_case(nnclr_dist *world, int n, int c, int h, int w, int relu) {
    int N = n * g_world;
    size_t per = dnn_act_size(1, c, h, w), loc = per * n, glob = per * N;
    batchnorm *rb = NULL, *db = NULL;
    char what[160];
    snprintf(what, sizeof what, "bn2d n %d c %d %dx%d relu %d: created", n, c, h, w, relu);
    if (!check_true(what, batchnorm_create(&rb, N, c, h, w, relu) == NNCLR_OK &&
                          batchnorm_create_dist(&db, n, c, h, w, relu, world) == NNCLR_OK)) {
        printf("  %s\n", nnclr_last_error());
        batchnorm_free(rb);
        batchnorm_free(db);
        return;
    }
    float *x = malloc(glob * 4), *dy = malloc(glob * 4), *yr = malloc(glob * 4), *yd = malloc(loc * 4);
    float *dxr = malloc(glob * 4), *dxd = malloc(loc * 4);
    void *sr = calloc(1, batchnorm_saved_bytes(rb)), *sd = calloc(1, batchnorm_saved_bytes(db));
    float *g = malloc(c * 4), *b = malloc(c * 4), *rm = calloc(4 * (size_t)c, 4);
    float *rv = rm + c, *rm2 = rm + 2 * c, *rv2 = rm + 3 * c;
    float *dg = calloc(4 * (size_t)c, 4), *dbt = dg + c, *dg2 = dg + 2 * c, *db2 = dg + 3 * c;
    fill_uniform(x, glob, 21);
    fill_uniform(dy, glob, 22);
    for (size_t i = 0; i < glob; i++) x[i] = x[i] * 2 + 0.5f;
    fill_uniform(g, c, 23);
    fill_uniform(b, c, 24);
    for (int i = 0; i < c; i++) { rv[i] = rv2[i] = 1; g[i] += 1.5f; }
    /* padded channels (c not a multiple of 8) must be zero in nChw8c */
    const float *xl = x + per * n * g_rank, *dyl = dy + per * n * g_rank;
    int ok = batchnorm_forward_train(rb, yr, sr, x, NULL, g, b, rm, rv, 0.1f) == NNCLR_OK;
    ok &= batchnorm_forward_train(db, yd, sd, xl, NULL, g, b, rm2, rv2, 0.1f) == NNCLR_OK;
    ok &= batchnorm_backward(rb, dxr, dg, dbt, dy, x, sr, g, b) == NNCLR_OK;
    ok &= batchnorm_backward(db, dxd, dg2, db2, dyl, xl, sd, g, b) == NNCLR_OK;
    MPI_Allreduce(MPI_IN_PLACE, dg2, 2 * c, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    snprintf(what, sizeof what, "bn2d n %d c %d %dx%d relu %d: ran", n, c, h, w, relu);
    check_true(what, ok);
    snprintf(what, sizeof what, "bn2d n %d c %d %dx%d relu %d: y", n, c, h, w, relu);
    check_rel(what, yd, yr + per * n * g_rank, loc, TOL);
    snprintf(what, sizeof what, "bn2d n %d c %d %dx%d relu %d: running stats", n, c, h, w, relu);
    check_rel(what, rm2, rm, 2 * (size_t)c, TOL);
    snprintf(what, sizeof what, "bn2d n %d c %d %dx%d relu %d: dx", n, c, h, w, relu);
    check_rel(what, dxd, dxr + per * n * g_rank, loc, TOL);
    snprintf(what, sizeof what, "bn2d n %d c %d %dx%d relu %d: dgamma, dbeta", n, c, h, w, relu);
    check_rel(what, dg2, dg, 2 * (size_t)c, TOL);
    free(x); free(dy); free(yr); free(yd); free(dxr); free(dxd); free(sr); free(sd);
    free(g); free(b); free(rm); free(dg);
    batchnorm_free(rb);
    batchnorm_free(db);
}

/* A NaN in one rank's view: every rank refuses the step together, nothing changes. */
static void nan_on_one_rank(nnclr_dist *world, float *v1, float *v2) {
    nnclr_config c;
    make_config(&c, NNCLR_POSITIVE_NN, 1, world);
    nnclr_model *m = NULL;
    if (!check_true("NaN on one rank: model created", nnclr_model_create(&m, &c) == NNCLR_OK)) return;
    int n = GLOBAL / g_world;
    float *x = malloc((size_t)n * IMG * sizeof(float));
    memcpy(x, v1 + (size_t)g_rank * n * IMG, (size_t)n * IMG * sizeof(float));
    if (g_rank == g_world - 1) x[5] = NAN;
    float *before = malloc(m->params.total * sizeof(float));
    memcpy(before, m->params.data, m->params.total * sizeof(float));
    nnclr_status s = nnclr_step(m, x, v2 + (size_t)g_rank * n * IMG, NULL, NULL);
    char what[128];
    snprintf(what, sizeof what, "NaN on rank %d: every rank gets NNCLR_ERR_NUMERIC", g_world - 1);
    check_true(what, s == NNCLR_ERR_NUMERIC);
    check_true("NaN on one rank: parameters and step unchanged",
               memcmp(before, m->params.data, m->params.total * sizeof(float)) == 0 && m->step == 0);
    free(x);
    free(before);
    nnclr_model_free(m);
}

int main(int argc, char **argv) {
    nnclr_dist *world = NULL;
    if (nnclr_dist_init(&world, &argc, &argv) != NNCLR_OK) {
        fprintf(stderr, "test_dist: %s\n", nnclr_last_error());
        return 1;
    }
    g_rank = nnclr_dist_rank(world);
    g_world = nnclr_dist_world(world);
    check_true("running on 2 ranks (started by mpiexec -np 2)", g_world == 2);

    float *v1 = malloc(GLOBAL * IMG * sizeof(float)), *v2 = malloc(GLOBAL * IMG * sizeof(float));
    int labels[GLOBAL];
    fill_uniform(v1, GLOBAL * IMG, 11);
    fill_uniform(v2, GLOBAL * IMG, 12);
    for (int i = 0; i < GLOBAL; i++) labels[i] = i % 10;

    if (g_world == 2) {
        bn2d_case(world, 16, 16, 16, 16, 1);
        bn2d_case(world, 16, 16, 16, 16, 0);
        bn2d_case(world, 16, 32, 8, 8, 1);
        bn2d_case(world, 4, 64, 4, 4, 1);
        run_case("nnclr top-1", NNCLR_POSITIVE_NN, 1, world, v1, v2, labels);
        run_case("nnclr top-3", NNCLR_POSITIVE_NN, 3, world, v1, v2, labels);
        run_case("simclr", NNCLR_POSITIVE_SELF, 1, world, v1, v2, labels);
        g_shard = 1;
        run_case("nnclr top-1, sharded NN search", NNCLR_POSITIVE_NN, 1, world, v1, v2, labels);
        nnclr_config sc;
        make_config(&sc, NNCLR_POSITIVE_NN, 3, world);
        nnclr_model *sm = NULL;
        check_true("sharded NN search with top-3 refused", nnclr_model_create(&sm, &sc) == NNCLR_ERR_ARG);
        nnclr_model_free(sm);
        g_shard = 0;
        nan_on_one_rank(world, v1, v2);
        nnclr_config c;
        make_config(&c, NNCLR_POSITIVE_NN, 1, world);
        c.batch = 33;
        nnclr_model *m = NULL;
        check_true("batch 33 on 2 ranks refused", nnclr_model_create(&m, &c) == NNCLR_ERR_ARG);
        nnclr_model_free(m);
    }
    free(v1);
    free(v2);
    int rc = test_summary();
    nnclr_dist_free(world);
    return rc;
}
