/* train_run.c - a whole training run (nnclr_train, include/nnclr.h): NNCLR or SimCLR
 * pre-training with progress hooks, a JSONL metrics log, online kNN evaluation, atomic
 * checkpoints (also when the caller asks to stop) and bit-identical resume.
 *
 * Data flow: config -> data splits, augmentation, loader (train/run_setup.c) -> model
 * (model/nnclr_model.c) -> per step nnclr_step (ssl/nnclr_step.c) -> metrics log, progress hook
 * -> per epoch kNN evaluation (eval/knn.c) and checkpoint (io/checkpoint.c). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cancel.h"
#include "core/status.h"
#include "core/threads.h"
#include "data/loader.h"
#include "dist/dist.h"
#include "eval/knn.h"
#include "eval/linear_probe.h"
#include "io/atomic_file.h"
#include "io/checkpoint.h"
#include "io/jsonl.h"
#include "model/model_state.h"
#include "model/nnclr_model.h"
#include "train/run_setup.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* One line to the message hook (rank 0 only). */
static void say(const nnclr_train_hooks *h, int rank0, const char *fmt, ...) {
    if (!h || !h->message || !rank0) return;
    char line[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    h->message(h->user, line);
}

/* Removes temporary files left by atomic writes that were killed ("<name>.tmp.<pid>":
 * checkpoints, config.txt, anything io/atomic_file.c writes here). Called by rank 0 only,
 * when no write of this run is in flight. */
static void remove_stale_temps(const char *dir, const nnclr_train_hooks *h) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *t = strstr(e->d_name, ".tmp.");
        if (!t || e->d_name[0] == '.' || strspn(t + 5, "0123456789") != strlen(t + 5) || !t[5]) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) == 0) say(h, 1, "removed stale temporary file %s", path);
    }
    closedir(d);
}

static int mkdir_p(const char *path) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    return 0;
}

/* On resume: metrics.jsonl cut back (atomically) to the lines of steps <= step, so the steps
 * between the checkpoint and a kill are not logged twice. A missing log is left missing. */
static nnclr_status trim_metrics(const char *path, int64_t step) {
    FILE *f = fopen(path, "r");
    if (!f) return NNCLR_OK;
    char *kept = NULL, *line = NULL;
    size_t kept_len = 0, cap = 0;
    FILE *mem = open_memstream(&kept, &kept_len);
    if (!mem) {
        fclose(f);
        return nnclr_fail(NNCLR_ERR_NOMEM, "out of memory");
    }
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        double v;
        if (line[n - 1] != '\n') break; /* an incomplete last line (killed mid-write) */
        if (jsonl_get_number(line, "step", &v) && v > (double)step) continue;
        fwrite(line, 1, (size_t)n, mem);
    }
    free(line);
    fclose(f);
    fclose(mem);
    nnclr_status s = kept ? atomic_write_file(path, kept, kept_len) : nnclr_fail(NNCLR_ERR_NOMEM, "out of memory");
    free(kept);
    return s;
}

/* The value of `key = value` in a run directory's config.txt, or "" (absent or unreadable). */
static void config_value(const char *run_dir, const char *key, char *out, size_t size) {
    out[0] = 0;
    char path[4096], line[1024];
    snprintf(path, sizeof path, "%s/config.txt", run_dir);
    FILE *f = fopen(path, "r");
    if (!f) return;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) != 0) continue;
        const char *p = line + kl;
        while (*p == ' ') p++;
        if (*p != '=') continue;
        p++;
        while (*p == ' ') p++;
        snprintf(out, size, "%s", p);
        out[strcspn(out, "\r\n")] = 0;
        break;
    }
    fclose(f);
}

static nnclr_status save_checkpoint(nnclr_model *m, const nnclr_train_config *o, const run_progress *pg,
                                    const char *config_text, const augment_config *aug) {
    checkpoint *ck;
    NNCLR_TRY(checkpoint_create(&ck));
    nnclr_status s = model_state_add(m, ck);
    int32_t shape[3] = {aug->channels, aug->size, aug->size};
    if (!s) s = checkpoint_add_copy(ck, "input_shape", shape, sizeof shape);
    if (!s) s = checkpoint_add_copy(ck, "progress", pg, sizeof *pg);
    if (!s) s = checkpoint_add_copy(ck, "config", config_text, strlen(config_text));
    char path[4096];
    if (!s) s = checkpoint_path(path, sizeof path, o->run_dir, "ckpt", m->step);
    if (!s) s = checkpoint_write(ck, path);
    checkpoint_free(ck);
    if (!s) s = checkpoint_prune(o->run_dir, "ckpt", o->keep_checkpoints);
    return s;
}

/* kNN top-1/top-5 of the model's eval features: train split as memory, test split as queries.
 * With `linear`, also a linear probe on the same features (*lin1, *lin5). */
static nnclr_status knn_eval(nnclr_model *m, const nnclr_train_config *o, const dataset *train, const dataset *test,
                             const augment_config *eval_aug, double *top1, double *top5, int linear, double *lin1,
                             double *lin5) {
    float *ftr = NULL, *fte = NULL;
    int dim;
    nnclr_status s = extract_features(m, train, eval_aug, 0, 0, o->dist, &ftr, &dim);
    if (!s) s = extract_features(m, test, eval_aug, 0, 0, o->dist, &fte, &dim);
    if (!s)
        s = knn_evaluate(ftr, train->labels, train->n, fte, test->labels, test->n, dim, train->num_classes,
                         o->knn_k, (float)o->knn_tau, top1, top5);
    if (!s && linear) {
        linear_probe_config lc;
        linear_probe_config_default(&lc);
        lc.seed = o->seed;
        s = linear_probe_train_eval(&lc, ftr, train->labels, train->n, fte, test->labels, test->n, dim,
                                    train->num_classes, lin1, lin5, NULL, NULL);
    }
    free(ftr);
    free(fte);
    return s;
}

static const char *percent(char *buf, size_t size, double frac) {
    if (isnan(frac)) snprintf(buf, size, "n/a");
    else snprintf(buf, size, "%.2f%%", 100 * frac);
    return buf;
}

nnclr_status nnclr_train(const nnclr_train_config *cfg, const char *config_arg, const nnclr_train_hooks *hooks,
                         nnclr_train_result *result) {
    if (!cfg) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_train: NULL config");
    NNCLR_TRY(nnclr_train_config_check(cfg));
    nnclr_train_config o = *cfg;
    const char *resume = o.resume && o.resume[0] ? o.resume : NULL;
    if (resume) o.run_dir = resume;
    nnclr_train_result res_local, *res = result ? result : &res_local;
    memset(res, 0, sizeof *res);
    res->knn_top1 = res->knn_top5 = res->pixels_top1 = res->pixels_top5 = -1;
    res->pixels_best_k_top1 = res->linear_top1 = res->linear_top5 = -1;
    if (resume) {
        char before[32];
        config_value(resume, "support-start", before, sizeof before);
        if (strcmp(before, "empty") != 0 && !strcmp(o.support_start, "empty"))
            return nnclr_fail(NNCLR_ERR_ARG, "--support-start empty cannot resume %s, whose support set started "
                              "random (its unfilled rows are random vectors)", resume);
    }
    const dist *dd = o.dist;
    const int world = dist_world(dd), rank = dist_rank(dd), rank0 = rank == 0;
    char threads_note[160];
    threads_apply(o.threads, threads_note, sizeof threads_note);
    if (threads_note[0]) say(hooks, rank0, "note: %s", threads_note);
    /* A signal stops data loading, evaluation and the probe too, not only the step loop. */
    cancel_install(hooks ? hooks->should_stop : NULL, hooks ? hooks->user : NULL);

    dataset train = {0}, test = {0};
    nnclr_model *m = NULL;
    loader *ld = NULL;
    jsonl_log *log = NULL;
    float *v1 = NULL, *v2 = NULL;
    int *labels = NULL;
    char *config_text = NULL;
    nnclr_status s;

    /* Data. */
    double t_load = now_s();
    nnclr_status test_status;
    if ((s = open_splits(&o, &train, &test, &test_status))) goto done;
    if (cancel_requested()) {   /* nothing is written yet */
        s = nnclr_fail(NNCLR_ERR_INTERRUPTED, "stopped while loading the data; nothing was written");
        goto done;
    }
    int have_test = test_status == NNCLR_OK && test.labels && train.labels;
    if (!have_test) {
        /* Say why evaluation will not happen, and how to get it. */
        char why[600];
        snprintf(why, sizeof why, "%s", test_status != NNCLR_OK ? nnclr_last_error() : "");
        say(hooks, rank0, "note: no labelled test split (%s): the kNN evaluation and the raw-pixel baseline are "
            "skipped; --val-fraction 0.1 holds out a tenth of the training images to evaluate on instead",
            test_status != NNCLR_OK ? why : !train.labels ? "the training images have no labels" : "test images have no labels");
    }
    if (train.n < o.batch) {
        s = nnclr_fail(NNCLR_ERR_ARG, "the data set has %d images, fewer than one batch of %d", train.n, o.batch);
        goto done;
    }
    augment_config aug, eval_aug;
    if ((s = make_augment(&o, &train, 0, &aug)) || (s = make_augment(&o, &train, 1, &eval_aug))) goto done;
    if (aug.size < 16) {
        s = nnclr_fail(NNCLR_ERR_ARG, "view size %d is below the backbone minimum of 16 (set --crop-size)", aug.size);
        goto done;
    }
    loader_config lc = {0};
    lc.batch = o.batch;
    lc.threads = o.loader_threads;
    lc.prefetch = 3;
    lc.drop_last = 1;
    lc.shuffle = 1;
    lc.seed = o.seed;
    lc.rank = rank;
    lc.world = world;
    lc.two_views = 1;
    if ((s = loader_create(&ld, &train, &aug, &lc))) goto done;
    int64_t steps_per_epoch = loader_batches_per_epoch(ld);

    /* Model. */
    nnclr_config mc;
    make_model_config(&o, &aug, steps_per_epoch, &mc);
    mc.dist = world > 1 ? o.dist : NULL;
    if ((s = nnclr_model_create(&m, &mc))) goto done;

    /* The resolved configuration: reported, saved in the run directory, kept in checkpoints. */
    config_text = config_arg ? strdup(config_arg) : nnclr_train_config_dump(&o);
    if (!config_text) { s = nnclr_fail(NNCLR_ERR_NOMEM, "out of memory"); goto done; }
    char path[4096];
    run_progress pg = {0, 0, -1, 0};
    char ckpath[4096];
    int64_t ckstep = -1;
    checkpoint *ck = NULL;
    char skipped[2048];
    if (resume && (s = checkpoint_open_latest(o.run_dir, "ckpt", &ck, ckpath, sizeof ckpath, &ckstep, skipped,
                                              sizeof skipped)))
        goto done;
    if (resume && ckstep < 0) {
        /* Killed before its first checkpoint: the run starts over from config.txt. */
        say(hooks, rank0, "%s has no checkpoint yet: starting the run from step 0", o.run_dir);
        resume = NULL;
    }
    if (resume) {
        if (skipped[0])
            say(hooks, rank0, "note: skipped %s; resuming from the newest that verifies", skipped);
        s = model_state_load(m, ck, 0);
        if (!s) s = checkpoint_get_exact(ck, "progress", &pg, sizeof pg);
        checkpoint_free(ck);
        if (s) goto done;
        say(hooks, rank0, "resumed from %s: epoch %lld, batch %lld, step %lld", ckpath, (long long)pg.epoch + 1,
            (long long)pg.batch, (long long)m->step);
    }

    if (!resume && o.init && o.init[0]) {
        int loaded = 0, ignored = 0;
        if ((s = nnclr_model_init_safetensors(m, o.init, &loaded, &ignored))) goto done;
        say(hooks, rank0, "backbone initialised from %s: %d tensors%s", o.init, loaded,
            ignored ? " (its fc.* classifier ignored: the heads take its place)" : "");
    }

    /* Rank 0 writes the run directory (logs, checkpoints); the others only read it on resume.
     * Nothing is written before the configuration is known to fit the checkpoint it resumes. */
    if (rank0) {
        if (mkdir_p(o.run_dir) != 0) {
            s = nnclr_fail(NNCLR_ERR_IO, "%s: cannot create run directory: %s", o.run_dir, strerror(errno));
            goto done;
        }
        remove_stale_temps(o.run_dir, hooks);
        snprintf(path, sizeof path, "%s/config.txt", o.run_dir);
        if ((s = atomic_write_file(path, config_text, strlen(config_text)))) goto done;
    }

    char shape[64];
    if (train.h > 0) {
        snprintf(shape, sizeof shape, "%dx%dx%d", train.h, train.w, train.c);
    } else {
        int lo, hi, side = dataset_view_side(&train, &lo, &hi);
        snprintf(shape, sizeof shape, "of mixed sizes (x%d)", train.c);
        if (o.crop_size <= 0)
            say(hooks, rank0, "note: the images differ in size (shorter side %d to %d pixels): views are %d pixels, the "
                "median shorter side (at most 224); --crop-size sets another", lo, hi, side);
    }
    say(hooks, rank0,
        "nnclr train: %s, %d images %s -> views %dx%dx%d (augment %s), %s%s, %s positive%s, "
        "batch %d, %lld steps/epoch, %d epochs, %d threads%s",
        o.data, train.n, shape, aug.channels, aug.size, aug.size, aug.name, o.arch,
        o.cifar_stem ? " (CIFAR stem)" : "", !strcmp(o.positive, "nn") ? "nearest-neighbour" : "self (SimCLR)",
        o.predictor ? "" : ", no predictor", o.batch, (long long)steps_per_epoch, o.epochs, omp_get_max_threads(),
        world > 1 ? " per process" : "");
    if (world > 1)
        say(hooks, rank0, "data-parallel on %d processes (MPI): %d images per process per step, synchronised BN, "
            "global negatives, one support set", world, o.batch / world);
    {
        size_t cl = strlen(config_text);
        say(hooks, rank0, "config (also in %s/config.txt):\n%.*s", o.run_dir,
            (int)(cl && config_text[cl - 1] == '\n' ? cl - 1 : cl), config_text);
    }
    say(hooks, rank0, "data loaded in %.1f s", now_s() - t_load);

    snprintf(path, sizeof path, "%s/metrics.jsonl", o.run_dir);
    if (rank0 && resume && (s = trim_metrics(path, m->step))) goto done;
    if (rank0 && (s = jsonl_open(&log, path, resume == NULL))) goto done;

    size_t img = (size_t)aug.channels * aug.size * aug.size;
    v1 = nnclr_malloc((size_t)o.batch * img * sizeof(float));
    v2 = nnclr_malloc((size_t)o.batch * img * sizeof(float));
    labels = nnclr_malloc((size_t)o.batch * sizeof(int));
    if (!v1 || !v2 || !labels) { s = NNCLR_ERR_NOMEM; goto done; }

    int64_t total_steps = (int64_t)o.epochs * steps_per_epoch;
    double t_start = now_s() - pg.elapsed, t_window = now_s();
    int64_t window_steps = 0;
    double loss_sum = 0, nnacc_sum = 0, pos_sum = 0, nnfrac_sum = 0;
    int window_n = 0, nnacc_n = 0, stop = 0;

    for (int64_t epoch = pg.epoch; epoch < o.epochs; epoch++) {
        if ((s = loader_start_epoch(ld, (int)epoch, (int)pg.batch))) goto done;
        for (;;) {
            int n, end;
            if ((s = loader_next(ld, v1, v2, labels, &n, &end))) goto done;
            if (end) break;
            nnclr_step_stats st;
            s = nnclr_step(m, v1, v2, train.labels ? labels : NULL, &st);
            if (s == NNCLR_ERR_NUMERIC) {
                char why[512]; /* nnclr_fail writes the buffer nnclr_last_error reads */
                snprintf(why, sizeof why, "%s", nnclr_last_error());
                s = nnclr_fail(NNCLR_ERR_NUMERIC, "%s at step %lld (epoch %lld); stopping without a checkpoint of it",
                               why, (long long)m->step + 1, (long long)epoch + 1);
                goto done;
            }
            if (s) goto done;
            pg.batch++;
            window_steps++;
            loss_sum += st.loss;
            if (st.nn_accuracy >= 0) {
                nnacc_sum += st.nn_accuracy;
                nnacc_n++;
            }
            nnfrac_sum += st.nn_fraction;
            pos_sum += st.pos_similarity;
            window_n++;
            double t = now_s();
            int log_now = m->step % o.log_every == 0 || pg.batch == steps_per_epoch;
            nnclr_train_progress p;
            p.epoch = epoch + 1;
            p.epochs = o.epochs;
            p.step = m->step;
            p.total_steps = total_steps;
            p.batch = pg.batch;
            p.batches = steps_per_epoch;
            p.loss = loss_sum / window_n;
            p.lr = st.lr;
            p.img_per_s = window_steps * (double)o.batch / (t - t_window + 1e-9);
            p.eta_s = (total_steps - m->step) * (double)o.batch / (p.img_per_s + 1e-9);
            p.nn_accuracy = nnacc_n > 0 ? nnacc_sum / nnacc_n : NAN;
            p.nn_fraction = nnfrac_sum / window_n;
            p.pos_similarity = pos_sum / window_n;
            p.logged = log_now;
            if (hooks && hooks->progress && rank0) hooks->progress(hooks->user, &p);
            if (log_now) {
                jsonl_field f[9] = {{"step", (double)m->step, NULL},
                                    {"epoch", epoch + (double)pg.batch / steps_per_epoch, NULL},
                                    {"loss", p.loss, NULL},
                                    {"lr", st.lr, NULL},
                                    {"img_per_s", p.img_per_s, NULL},
                                    {"nn_acc", p.nn_accuracy, NULL},
                                    {"pos_sim", p.pos_similarity, NULL},
                                    {"nn_frac", p.nn_fraction, NULL},
                                    {"time_s", t - t_start, NULL}};
                if (log && (s = jsonl_append(log, f, 9))) goto done;
                loss_sum = nnacc_sum = pos_sum = nnfrac_sum = 0;
                window_n = nnacc_n = 0;
                window_steps = 0;
                t_window = t;
            }
            stop = hooks && hooks->should_stop ? hooks->should_stop(hooks->user) : 0;
            if (world > 1) {
                /* A signal may reach the ranks between different steps: they agree on stopping
                 * after this one. */
                if ((s = dist_allreduce_max_i(dd, &stop))) goto done;
            }
            if (stop) break;
        }
        int epoch_done = pg.batch >= steps_per_epoch;
        if (epoch_done) {
            pg.epoch = epoch + 1;
            pg.batch = 0;
        }
        pg.elapsed = now_s() - t_start;
        if (stop) {
            if (rank0 && (s = save_checkpoint(m, &o, &pg, config_text, &aug))) goto done;
            res->stop_code = stop;
            res->steps = m->step;
            res->train_seconds = pg.elapsed;
            s = nnclr_fail(NNCLR_ERR_INTERRUPTED, "checkpoint saved at step %lld; continue with --resume %s",
                           (long long)m->step, o.run_dir);
            goto done;
        }
        int last = epoch + 1 == o.epochs;
        if (have_test && (last || (o.eval_every > 0 && (epoch + 1) % o.eval_every == 0))) {
            double te = now_s();
            int lin = last && o.linear_probe && rank0;
            if ((s = knn_eval(m, &o, &train, &test, &eval_aug, &res->knn_top1, &res->knn_top5, lin, &res->linear_top1,
                              &res->linear_top5))) {
                /* Stopped during the evaluation: the epoch itself is complete; keep it. */
                char where[256];
                snprintf(where, sizeof where, "%s", nnclr_last_error());
                if (s == NNCLR_ERR_INTERRUPTED && rank0 && save_checkpoint(m, &o, &pg, config_text, &aug) == NNCLR_OK)
                    s = nnclr_fail(NNCLR_ERR_INTERRUPTED, "stopped during the evaluation after epoch %lld (%s); "
                                   "checkpoint saved at step %lld; continue with --resume %s", (long long)epoch + 1,
                                   where, (long long)m->step, o.run_dir);
                goto done;
            }
            if (res->knn_top1 > pg.best_knn) pg.best_knn = res->knn_top1;
            char t5[16];
            say(hooks, rank0, "epoch %lld: kNN (k=%d) top-1 %.2f%%  top-5 %s  (%.1f s)", (long long)epoch + 1, o.knn_k,
                100 * res->knn_top1, percent(t5, sizeof t5, res->knn_top5), now_s() - te);
            if (lin)
                say(hooks, rank0, "epoch %lld: linear probe (100 epochs, frozen features) top-1 %.2f%%  top-5 %s",
                    (long long)epoch + 1, 100 * res->linear_top1, percent(t5, sizeof t5, res->linear_top5));
            jsonl_field f[6] = {{"step", (double)m->step, NULL}, {"epoch", (double)epoch + 1, NULL},
                                {"knn_top1", res->knn_top1, NULL}, {"knn_top5", res->knn_top5, NULL},
                                {"linear_top1", res->linear_top1, NULL}, {"linear_top5", res->linear_top5, NULL}};
            if (log && (s = jsonl_append(log, f, lin ? 6 : 4))) goto done;
        }
        pg.elapsed = now_s() - t_start;
        if (rank0 && (last || (epoch + 1) % o.checkpoint_every == 0 || (o.stop_after > 0 && epoch + 1 >= o.stop_after))) {
            if ((s = save_checkpoint(m, &o, &pg, config_text, &aug))) goto done;
        }
        if (log && (s = jsonl_sync(log))) goto done;
        if (o.stop_after > 0 && epoch + 1 >= o.stop_after && !last) {
            say(hooks, rank0, "stopped after epoch %lld as asked (--stop-after); continue with --resume %s",
                (long long)epoch + 1, o.run_dir);
            res->stopped = 1;
            res->steps = m->step;
            res->train_seconds = pg.elapsed;
            goto done;
        }
    }
    res->steps = m->step;
    res->train_seconds = now_s() - t_start;
    say(hooks, rank0, "training done: %lld steps in %.1f s (%.1f img/s, 2 views)", (long long)m->step,
        res->train_seconds, 2.0 * m->step * o.batch / (res->train_seconds + 1e-9));
    if (have_test && res->knn_top1 < 0) {
        /* Resumed after the last epoch (its evaluation was interrupted, or the run was done):
         * the final evaluation still happens. */
        int lin = o.linear_probe && rank0;
        if ((s = knn_eval(m, &o, &train, &test, &eval_aug, &res->knn_top1, &res->knn_top5, lin, &res->linear_top1,
                          &res->linear_top5)))
            goto done;
        char t5[16];
        say(hooks, rank0, "final evaluation: kNN (k=%d) top-1 %.2f%%  top-5 %s", o.knn_k, 100 * res->knn_top1,
            percent(t5, sizeof t5, res->knn_top5));
    }
    if (have_test && o.baseline && rank0) {
        float *ptr = NULL, *pte = NULL;
        int dim;
        s = extract_pixels(&train, &eval_aug, &ptr, &dim);
        if (!s) s = extract_pixels(&test, &eval_aug, &pte, &dim);
        if (!s)
            s = knn_evaluate(ptr, train.labels, train.n, pte, test.labels, test.n, dim, train.num_classes, o.knn_k,
                             (float)o.knn_tau, &res->pixels_top1, &res->pixels_top5);
        if (!s && o.baseline_best_k > 0)
            s = knn_evaluate(ptr, train.labels, train.n, pte, test.labels, test.n, dim, train.num_classes,
                             o.baseline_best_k, (float)o.knn_tau, &res->pixels_best_k_top1, NULL);
        free(ptr);
        free(pte);
        if (s) goto done;
        const char *set = o.val_fraction > 0 ? "validation" : "test";
        say(hooks, rank0, "kNN accuracy (k=%d, %s set): learned features %.2f%% | raw pixels %.2f%%", o.knn_k, set,
            100 * res->knn_top1, 100 * res->pixels_top1);
        if (o.baseline_best_k > 0)
            say(hooks, rank0, "raw pixels at their best k (k=%d, chosen on a validation split), %s set: %.2f%%",
                o.baseline_best_k, set, 100 * res->pixels_best_k_top1);
        if (res->linear_top1 >= 0)
            say(hooks, rank0, "linear probe (%s set): learned features %.2f%%", set, 100 * res->linear_top1);
        jsonl_field f[4] = {{"step", (double)m->step, NULL}, {"knn_top1_raw_pixels", res->pixels_top1, NULL},
                            {"knn_top5_raw_pixels", res->pixels_top5, NULL},
                            {"knn_top1_raw_pixels_best_k", res->pixels_best_k_top1, NULL}};
        if (log && (s = jsonl_append(log, f, o.baseline_best_k > 0 ? 4 : 3))) goto done;
    }
    say(hooks, rank0, "run directory: %s (config.txt, metrics.jsonl, checkpoints)", o.run_dir);
    s = NNCLR_OK;

done:
    if (s == NNCLR_ERR_INTERRUPTED && res->stop_code == 0 && hooks && hooks->should_stop)
        res->stop_code = hooks->should_stop(hooks->user);
    cancel_install(NULL, NULL);
    if (log) jsonl_close(log);
    loader_free(ld);
    nnclr_model_free(m);
    dataset_free(&train);
    dataset_free(&test);
    free(v1);
    free(v2);
    free(labels);
    free(config_text);
    return s;
}
