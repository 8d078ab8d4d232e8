/* cli.h - what the nnclr subcommands share: the training-run options (one table used by
 * `train`, saved as config.txt in the run directory and read back by `--resume`, `eval`,
 * `embed`, `neighbors`), data-set opening by option, feature extraction, and exit codes. */
#ifndef NNCLR_CLI_CLI_H
#define NNCLR_CLI_CLI_H

#include <stdint.h>

#include "args.h"
#include "nnclr.h"
/* The evaluation commands (eval, embed, neighbors, augment-preview, plot, info) still reach
 * into the library's internals for data sets, features, kNN and image output; `train` uses
 * the public API only. */
#include "train/run_setup.h"

#define EXIT_USAGE 2
#define EXIT_RUNTIME 1

/* The run's options are the library's training configuration (include/nnclr.h). */
typedef nnclr_train_config train_opts;

/* Fills the defaults of a preset ("small": the quick Fashion-MNIST run; "paper": the paper's
 * recipe). Returns 0, or 2 for an unknown preset (message printed). */
int train_opts_preset(train_opts *o, const char *preset);
/* The flag table over o (count in *n). */
const arg_spec *train_opts_specs(train_opts *o, int *n);
/* "12.34%" for a fraction, or "n/a" for NaN (top-5 of fewer than 5 classes). buf: >= 16 bytes. */
const char *format_percent(char *buf, size_t size, double frac);
/* The process group the command runs in (main.c joins it; a group of one without mpirun). */
nnclr_dist *cli_dist(void);
void cli_set_dist(nnclr_dist *d);
/* Sets the compute threads of a command (0: all usable CPUs), capped at the CPUs this process
 * can use with a note on stderr (core/threads.h). */
void cli_set_threads(int threads);
/* 1 on rank 0: the rank that prints, logs and writes files. */
int cli_rank0(void);

/* Loads a run directory's config.txt into o (preset "small" first, then the file). 0 or 2. */
int load_run_config(train_opts *o, const char *run_dir, const char *cmd);
/* The checkpoint of a run directory (the newest that verifies; skipped ones noted on stderr)
 * or the file itself; refused when it does not fit the directory's config.txt. */
nnclr_status open_run_checkpoint(const char *path, checkpoint **ck, char *ckpt, size_t size);
/* A model built from a run directory or checkpoint: config from the run's config.txt, weights
 * from the checkpoint (weights only). batch: the eval batch. */
nnclr_status model_from_run(const char *path, int batch, train_opts *o, nnclr_model **m, char *ckpt,
                            size_t ckpt_size);

/* The flags every tool over a run's data set shares. */
#define RUN_TOOL_FLAGS(data, data_path, batch, threads)                                          \
    {"data", ARG_STR, &(data), "data set format (empty: the run's)", 1, 0, NULL},                \
    {"data-path", ARG_STR, &(data_path), "data set directory (empty: the run's)", 1, 0, NULL},   \
    {"batch", ARG_INT, &(batch), "images per forward", 1, 65536, NULL},                          \
    {"threads", ARG_INT, &(threads), "compute threads (0: all cores)", 0, 1024, NULL}

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_neighbors(int argc, char **argv);
int cmd_augment_preview(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_dedup(int argc, char **argv);
int cmd_cluster(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif
