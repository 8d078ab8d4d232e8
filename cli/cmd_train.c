/* cmd_train.c - `nnclr train`: NNCLR (or SimCLR) pre-training with a live progress line, a
 * JSONL metrics log, online kNN evaluation, atomic checkpoints (also on SIGINT/SIGTERM) and
 * bit-identical resume. With no flags it trains the small preset on Fashion-MNIST and ends by
 * printing the kNN accuracy of the learned features next to that of raw pixels. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "core/status.h"
#include "data/loader.h"
#include "dist/dist.h"
#include "eval/knn.h"
#include "io/atomic_file.h"
#include "io/checkpoint.h"
#include "io/jsonl.h"
#include "model/model_state.h"
#include "model/nnclr_model.h"

static volatile sig_atomic_t g_stop_signal;

static void on_signal(int sig) { g_stop_signal = sig; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* Removes temporary files left by checkpoint writes that were killed (ckpt-*.ckpt.tmp.*). */
static void remove_stale_temps(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "ckpt-", 5) != 0 || !strstr(e->d_name, ".ckpt.tmp.")) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) == 0) fprintf(stderr, "nnclr train: removed stale temporary file %s\n", path);
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

static nnclr_status save_checkpoint(nnclr_model *m, const train_opts *o, const run_progress *pg,
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

/* kNN top-1/top-5 of the model's eval features: train split as memory, test split as queries. */
static nnclr_status knn_eval(nnclr_model *m, const train_opts *o, const dataset *train, const dataset *test,
                             const augment_config *eval_aug, double *top1, double *top5) {
    float *ftr = NULL, *fte = NULL;
    int dim;
    nnclr_status s = extract_features(m, train, eval_aug, 0, 0, &ftr, &dim);
    if (!s) s = extract_features(m, test, eval_aug, 0, 0, &fte, &dim);
    if (!s)
        s = knn_evaluate(ftr, train->labels, train->n, fte, test->labels, test->n, dim, train->num_classes,
                         o->knn_k, (float)o->knn_tau, top1, top5);
    free(ftr);
    free(fte);
    return s;
}

static void fmt_eta(char *buf, size_t n, double s) {
    if (!(s >= 0) || s > 1e7) { snprintf(buf, n, "--:--"); return; }
    int t = (int)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%d:%02d", t / 60, t % 60);
}

int cmd_train(int argc, char **argv) {
    train_opts o;
    const char *preset = args_peek(argc, argv, 2, "preset"), *resume = args_peek(argc, argv, 2, "resume");
    if (train_opts_preset(&o, preset ? preset : "small")) return EXIT_USAGE;
    char start_before[16] = "";
    if (resume) {
        int rc = load_run_config(&o, resume, "train");
        if (rc) return rc;
        snprintf(start_before, sizeof start_before, "%s", o.support_start);
        /* --stop-after simulates an interruption: a resumed run goes on to --epochs unless the
         * command line asks again. */
        o.stop_after = 0;
    }
    int nspec;
    const arg_spec *specs = train_opts_specs(&o, &nspec);
    int rc = args_parse(specs, nspec, argc, argv, 2, "train", "[flags]", NULL, 0, NULL);
    if (rc == ARGS_HELP) return 0;
    if (rc) return EXIT_USAGE;
    if (resume) o.run_dir = resume;
    if (o.threads > 0) omp_set_num_threads(o.threads);
    if (!strcmp(o.positive, "nn") && o.queue_size < o.batch) {
        fprintf(stderr, "nnclr train: --queue-size %d must be >= --batch %d\n", o.queue_size, o.batch);
        return EXIT_USAGE;
    }
    nnclr_dist *dd = cli_dist();
    const int world = nnclr_dist_world(dd), rank = nnclr_dist_rank(dd), rank0 = rank == 0;
    if (o.batch % world != 0 || o.batch / world < 2) {
        fprintf(stderr, "nnclr train: --batch %d must be a multiple of the %d processes, >= 2 per process\n",
                o.batch, world);
        return EXIT_USAGE;
    }
    if ((o.nn_start > 0 || o.nn_ramp > 0) && strcmp(o.positive, "nn") != 0) {
        fprintf(stderr, "nnclr train: --nn-start / --nn-ramp schedule neighbour positives and need --positive nn\n");
        return EXIT_USAGE;
    }
    if (o.nn_start + o.nn_ramp > o.epochs) {
        fprintf(stderr, "nnclr train: --nn-start %g + --nn-ramp %g epochs is longer than the run (--epochs %d)\n",
                o.nn_start, o.nn_ramp, o.epochs);
        return EXIT_USAGE;
    }
    if (resume && !strcmp(start_before, "random") && !strcmp(o.support_start, "empty")) {
        fprintf(stderr, "nnclr train: --support-start empty cannot resume %s, whose support set started random "
                "(its unfilled rows are random vectors)\n", resume);
        return EXIT_USAGE;
    }
    if (o.topk > o.queue_size) {
        fprintf(stderr, "nnclr train: --topk %d exceeds --queue-size %d\n", o.topk, o.queue_size);
        return EXIT_USAGE;
    }

    int exit_code = EXIT_RUNTIME;
    dataset train = {0}, test = {0};
    nnclr_model *m = NULL;
    loader *ld = NULL;
    jsonl_log *log = NULL;
    float *v1 = NULL, *v2 = NULL;
    int *labels = NULL;
    char *config_text = NULL;
    size_t config_len = 0;
    nnclr_status s;

    /* Data. */
    double t_load = now_s();
    if ((s = open_split(&o, DATASET_TRAIN, &train))) goto fail;
    int have_test = open_split(&o, DATASET_TEST, &test) == NNCLR_OK && test.labels && train.labels;
    if (train.n < o.batch) {
        s = nnclr_fail(NNCLR_ERR_ARG, "the data set has %d images, fewer than one batch of %d", train.n, o.batch);
        goto fail;
    }
    augment_config aug, eval_aug;
    if ((s = make_augment(&o, &train, 0, &aug)) || (s = make_augment(&o, &train, 1, &eval_aug))) goto fail;
    if (aug.size < 16) {
        s = nnclr_fail(NNCLR_ERR_ARG, "view size %d is below the backbone minimum of 16 (set --crop-size)", aug.size);
        goto fail;
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
    if ((s = loader_create(&ld, &train, &aug, &lc))) goto fail;
    int64_t steps_per_epoch = loader_batches_per_epoch(ld);

    /* Model. */
    nnclr_config mc;
    make_model_config(&o, &aug, steps_per_epoch, &mc);
    mc.dist = world > 1 ? dd : NULL;
    if ((s = nnclr_model_create(&m, &mc))) goto fail;

    /* The resolved configuration: printed, saved in the run directory, kept in checkpoints. */
    FILE *mem = open_memstream(&config_text, &config_len);
    if (!mem) { s = nnclr_fail(NNCLR_ERR_NOMEM, "out of memory"); goto fail; }
    args_dump(specs, nspec, mem);
    fclose(mem);
    /* Rank 0 writes the run directory (logs, checkpoints); the others only read it on resume. */
    char path[4096];
    if (rank0) {
        if (mkdir_p(o.run_dir) != 0) {
            s = nnclr_fail(NNCLR_ERR_IO, "%s: cannot create run directory: %s", o.run_dir, strerror(errno));
            goto fail;
        }
        remove_stale_temps(o.run_dir);
        snprintf(path, sizeof path, "%s/config.txt", o.run_dir);
        if ((s = atomic_write_file(path, config_text, config_len))) goto fail;
    }

    run_progress pg = {0, 0, -1, 0};
    char ckpath[4096];
    int64_t ckstep = -1;
    if (resume && (s = checkpoint_find_latest(o.run_dir, "ckpt", ckpath, sizeof ckpath, &ckstep))) goto fail;
    if (resume && ckstep < 0) {
        /* Killed before its first checkpoint: the run starts over from config.txt. */
        printf("%s has no checkpoint yet: starting the run from step 0\n", o.run_dir);
        resume = NULL;
    }
    if (resume) {
        checkpoint *ck;
        if ((s = checkpoint_read(&ck, ckpath))) goto fail;
        s = model_state_load(m, ck, 0);
        if (!s) s = checkpoint_get_exact(ck, "progress", &pg, sizeof pg);
        checkpoint_free(ck);
        if (s) goto fail;
        printf("resumed from %s: epoch %lld, batch %lld, step %lld\n", ckpath, (long long)pg.epoch + 1,
               (long long)pg.batch, (long long)m->step);
    }

    printf("nnclr train: %s, %d images %dx%dx%d -> views %dx%dx%d (augment %s), %s%s, %s positive%s, "
           "batch %d, %lld steps/epoch, %d epochs, %d threads%s\n",
           o.data, train.n, train.h, train.w, train.c, aug.channels, aug.size, aug.size, aug.name, o.arch,
           o.cifar_stem ? " (CIFAR stem)" : "", !strcmp(o.positive, "nn") ? "nearest-neighbour" : "self (SimCLR)",
           o.predictor ? "" : ", no predictor", o.batch, (long long)steps_per_epoch, o.epochs, omp_get_max_threads(),
           world > 1 ? " per process" : "");
    if (world > 1)
        printf("data-parallel on %d processes (MPI): %d images per process per step, synchronised BN, "
               "global negatives, one support set\n", world, o.batch / world);
    printf("config (also in %s/config.txt):\n%s", o.run_dir, config_text);
    printf("data loaded in %.1f s\n", now_s() - t_load);
    fflush(stdout);

    snprintf(path, sizeof path, "%s/metrics.jsonl", o.run_dir);
    if (rank0 && (s = jsonl_open(&log, path, resume == NULL))) goto fail;

    size_t img = (size_t)aug.channels * aug.size * aug.size;
    v1 = nnclr_malloc((size_t)o.batch * img * sizeof(float));
    v2 = nnclr_malloc((size_t)o.batch * img * sizeof(float));
    labels = nnclr_malloc((size_t)o.batch * sizeof(int));
    if (!v1 || !v2 || !labels) { s = NNCLR_ERR_NOMEM; goto fail; }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int tty = isatty(STDOUT_FILENO);
    int64_t total_steps = (int64_t)o.epochs * steps_per_epoch;
    double t_start = now_s() - pg.elapsed, t_window = now_s();
    int64_t window_steps = 0;
    double loss_sum = 0, nnacc_sum = 0, pos_sum = 0, nnfrac_sum = 0;
    int nnacc_n = 0;
    int window_n = 0;
    double last_top1 = -1, last_top5 = -1;

    for (int64_t epoch = pg.epoch; epoch < o.epochs; epoch++) {
        if ((s = loader_start_epoch(ld, (int)epoch, (int)pg.batch))) goto fail;
        for (;;) {
            int n, done;
            if ((s = loader_next(ld, v1, v2, labels, &n, &done))) goto fail;
            if (done) break;
            nnclr_step_stats st;
            s = nnclr_step(m, v1, v2, train.labels ? labels : NULL, &st);
            if (s == NNCLR_ERR_NUMERIC) {
                fprintf(stderr, "\nnnclr train: %s at step %lld (epoch %lld); stopping without a checkpoint of it\n",
                        nnclr_last_error(), (long long)m->step + 1, (long long)epoch + 1);
                goto fail_quiet;
            }
            if (s) goto fail;
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
            if (log_now || tty) {
                double ips = window_steps * (double)o.batch / (t - t_window + 1e-9);
                double eta = (total_steps - m->step) * (double)o.batch / (ips + 1e-9);
                char etas[32];
                fmt_eta(etas, sizeof etas, eta);
                char nnacc[16], nnpos[32] = "", line[320];
                if (strcmp(o.positive, "nn") == 0 && (o.nn_start > 0 || o.nn_ramp > 0 || o.support_start[0] == 'e'))
                    snprintf(nnpos, sizeof nnpos, "  NN pos %.0f%%", 100 * nnfrac_sum / window_n);
                if (nnacc_n > 0) snprintf(nnacc, sizeof nnacc, "%.1f%%", 100 * nnacc_sum / nnacc_n);
                else snprintf(nnacc, sizeof nnacc, "-");
                snprintf(line, sizeof line,
                         "epoch %lld/%d  step %lld/%lld  loss %.4f  lr %.4f  %.0f img/s  NN acc %s%s  pos sim %.3f  ETA %s",
                         (long long)epoch + 1, o.epochs, (long long)m->step, (long long)total_steps, loss_sum / window_n,
                         st.lr, ips, nnacc, nnpos, pos_sum / window_n, etas);
                if (tty) {
                    printf("\r%-150s", line);
                    if (log_now && pg.batch == steps_per_epoch) printf("\n");
                } else if (log_now) {
                    printf("%s\n", line);
                }
                fflush(stdout);
            }
            if (log_now) {
                jsonl_field f[9] = {{"step", (double)m->step, NULL},
                                    {"epoch", epoch + (double)pg.batch / steps_per_epoch, NULL},
                                    {"loss", loss_sum / window_n, NULL},
                                    {"lr", st.lr, NULL},
                                    {"img_per_s", window_steps * (double)o.batch / (t - t_window + 1e-9), NULL},
                                    {"nn_acc", nnacc_n > 0 ? nnacc_sum / nnacc_n : NAN, NULL},
                                    {"pos_sim", pos_sum / window_n, NULL},
                                    {"nn_frac", nnfrac_sum / window_n, NULL},
                                    {"time_s", t - t_start, NULL}};
                if (log && (s = jsonl_append(log, f, 9))) goto fail;
                loss_sum = nnacc_sum = pos_sum = nnfrac_sum = 0;
                window_n = nnacc_n = 0;
                window_steps = 0;
                t_window = t;
            }
            if (world > 1) {
                /* mpirun forwards SIGINT/SIGTERM to every rank, not necessarily between the same
                 * steps: the ranks agree on stopping after this one. */
                int stop = g_stop_signal;
                if ((s = dist_allreduce_max_i(dd, &stop))) goto fail;
                g_stop_signal = stop;
            }
            if (g_stop_signal) break;
        }
        int epoch_done = pg.batch >= steps_per_epoch;
        if (epoch_done) {
            pg.epoch = epoch + 1;
            pg.batch = 0;
        }
        pg.elapsed = now_s() - t_start;
        if (g_stop_signal) {
            if (tty) printf("\n");
            if (rank0 && (s = save_checkpoint(m, &o, &pg, config_text, &aug))) goto fail;
            if (rank0) fprintf(stderr, "nnclr train: %s: checkpoint saved at step %lld; continue with --resume %s\n",
                    g_stop_signal == SIGINT ? "interrupted" : "terminated", (long long)m->step, o.run_dir);
            exit_code = 128 + g_stop_signal;
            goto done;
        }
        int last = epoch + 1 == o.epochs;
        if (have_test && (last || (o.eval_every > 0 && (epoch + 1) % o.eval_every == 0))) {
            double te = now_s();
            if ((s = knn_eval(m, &o, &train, &test, &eval_aug, &last_top1, &last_top5))) goto fail;
            if (last_top1 > pg.best_knn) pg.best_knn = last_top1;
            char t5[16];
            printf("epoch %lld: kNN (k=%d) top-1 %.2f%%  top-5 %s  (%.1f s)\n", (long long)epoch + 1, o.knn_k,
                   100 * last_top1, format_percent(t5, sizeof t5, last_top5), now_s() - te);
            jsonl_field f[4] = {{"step", (double)m->step, NULL}, {"epoch", (double)epoch + 1, NULL},
                                {"knn_top1", last_top1, NULL}, {"knn_top5", last_top5, NULL}};
            if (log && (s = jsonl_append(log, f, 4))) goto fail;
        }
        pg.elapsed = now_s() - t_start;
        if (rank0 && (last || (epoch + 1) % o.checkpoint_every == 0 || (o.stop_after > 0 && epoch + 1 >= o.stop_after))) {
            if ((s = save_checkpoint(m, &o, &pg, config_text, &aug))) goto fail;
        }
        if (log && jsonl_sync(log)) goto fail;
        if (o.stop_after > 0 && epoch + 1 >= o.stop_after && !last) {
            printf("stopped after epoch %lld as asked (--stop-after); continue with --resume %s\n",
                   (long long)epoch + 1, o.run_dir);
            exit_code = 0;
            goto done;
        }
    }
    double train_time = now_s() - t_start;
    printf("training done: %lld steps in %.1f s (%.1f img/s, 2 views)\n", (long long)m->step, train_time,
           2.0 * m->step * o.batch / (train_time + 1e-9));
    if (have_test && o.baseline && rank0) {
        float *ptr = NULL, *pte = NULL;
        int dim;
        double b1 = 0, b5 = 0;
        s = extract_pixels(&train, &eval_aug, &ptr, &dim);
        if (!s) s = extract_pixels(&test, &eval_aug, &pte, &dim);
        if (!s)
            s = knn_evaluate(ptr, train.labels, train.n, pte, test.labels, test.n, dim, train.num_classes, o.knn_k,
                             (float)o.knn_tau, &b1, &b5);
        free(ptr);
        free(pte);
        if (s) goto fail;
        printf("kNN accuracy (k=%d, test set): learned features %.2f%% | raw pixels %.2f%%\n", o.knn_k,
               100 * last_top1, 100 * b1);
        jsonl_field f[3] = {{"step", (double)m->step, NULL}, {"knn_top1_raw_pixels", b1, NULL},
                            {"knn_top5_raw_pixels", b5, NULL}};
        if (log && (s = jsonl_append(log, f, 3))) goto fail;
    }
    printf("run directory: %s (config.txt, metrics.jsonl, checkpoints)\n", o.run_dir);
    exit_code = 0;
    goto done;

fail:
    if (isatty(STDOUT_FILENO)) printf("\n");
    fprintf(stderr, "nnclr train: %s\n", nnclr_last_error());
fail_quiet:
    exit_code = s == NNCLR_ERR_ARG ? EXIT_USAGE : EXIT_RUNTIME;
done:
    if (log) jsonl_close(log);
    loader_free(ld);
    nnclr_model_free(m);
    dataset_free(&train);
    dataset_free(&test);
    free(v1);
    free(v2);
    free(labels);
    free(config_text);
    return exit_code;
}
