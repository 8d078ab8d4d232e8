/* cmd_train.c - `nnclr train`: the command-line shell of nnclr_train (include/nnclr.h). Parses
 * the flags (the library's configuration keys, a --config file, --preset, --resume), prints
 * the library's messages and a live progress line, and turns SIGINT / SIGTERM into a stop
 * request (the library then writes a checkpoint). With no flags it trains the small preset on
 * Fashion-MNIST and ends by printing the kNN accuracy of the learned features next to that of
 * raw pixels. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t g_stop_signal;

static void on_signal(int sig) { g_stop_signal = sig; }

static int should_stop(void *user) {
    (void)user;
    return g_stop_signal;
}

typedef struct {
    const train_opts *o;
    int tty;
    int open_line; /* a \r progress line is on the terminal */
} shell;

static void end_line(shell *sh) {
    if (sh->open_line) printf("\n");
    sh->open_line = 0;
}

static void message(void *user, const char *line) {
    shell *sh = user;
    end_line(sh);
    printf("%s\n", line);
    fflush(stdout);
}

static void fmt_eta(char *buf, size_t n, double s) {
    if (!(s >= 0) || s > 1e7) { snprintf(buf, n, "--:--"); return; }
    int t = (int)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%d:%02d", t / 60, t % 60);
}

static void progress(void *user, const nnclr_train_progress *p) {
    shell *sh = user;
    const train_opts *o = sh->o;
    if (!p->logged && !sh->tty) return;
    char etas[32], nnacc[16], nnpos[32] = "", line[320];
    fmt_eta(etas, sizeof etas, p->eta_s);
    if (!isnan(p->nn_accuracy)) snprintf(nnacc, sizeof nnacc, "%.1f%%", 100 * p->nn_accuracy);
    else snprintf(nnacc, sizeof nnacc, "-");
    if (!strcmp(o->positive, "nn") && (o->nn_start > 0 || o->nn_ramp > 0 || !strcmp(o->support_start, "empty")))
        snprintf(nnpos, sizeof nnpos, "  NN pos %.0f%%", 100 * p->nn_fraction);
    snprintf(line, sizeof line,
             "epoch %lld/%lld  step %lld/%lld  loss %.4f  lr %.4f  %.0f img/s  NN acc %s%s  pos sim %.3f  ETA %s",
             (long long)p->epoch, (long long)p->epochs, (long long)p->step, (long long)p->total_steps, p->loss, p->lr,
             p->img_per_s, nnacc, nnpos, p->pos_similarity, etas);
    if (sh->tty) {
        printf("\r%-150s", line);
        sh->open_line = 1;
        if (p->logged && p->batch == p->batches) end_line(sh);
    } else {
        printf("%s\n", line);
    }
    fflush(stdout);
}

int cmd_train(int argc, char **argv) {
    train_opts o;
    const char *preset = args_peek(argc, argv, 2, "preset"), *resume = args_peek(argc, argv, 2, "resume");
    if (train_opts_preset(&o, preset ? preset : "small")) return EXIT_USAGE;
    if (resume) {
        int rc = load_run_config(&o, resume, "train");
        if (rc) return rc;
        /* --stop-after simulates an interruption: a resumed run goes on to --epochs unless the
         * command line asks again. */
        o.stop_after = 0;
    }
    int nspec;
    const arg_spec *specs = train_opts_specs(&o, &nspec);
    int rc = args_parse(specs, nspec, argc, argv, 2, "train", "[flags]", NULL, 0, NULL);
    if (rc == ARGS_HELP) return 0;
    if (rc) return EXIT_USAGE;
    o.resume = resume;
    o.dist = cli_dist();

    shell sh = {&o, isatty(STDOUT_FILENO), 0};
    nnclr_train_hooks hooks = {&sh, message, progress, should_stop};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    nnclr_train_result res;
    nnclr_status s = nnclr_train(&o, NULL, &hooks, &res);
    end_line(&sh);
    if (s == NNCLR_ERR_INTERRUPTED) {
        if (cli_rank0())
            fprintf(stderr, "nnclr train: %s: %s\n", res.stop_code == SIGINT ? "interrupted" : "terminated",
                    nnclr_last_error());
        return 128 + res.stop_code;
    }
    if (s) {
        char msg[2048];
        args_annotate(nnclr_last_error(), msg, sizeof msg);
        fprintf(stderr, "nnclr train: %s\n", msg);
        return s == NNCLR_ERR_ARG ? EXIT_USAGE : EXIT_RUNTIME;
    }
    return 0;
}
