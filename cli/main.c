/* main.c - the nnclr command: dispatches to the subcommands (cmd_*.c). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dist/dist.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} command;

static const command COMMANDS[] = {
    {"train", cmd_train, "self-supervised pre-training (NNCLR, or SimCLR with --positive self)"},
    {"eval", cmd_eval, "knn | linear | finetune evaluation of a run or checkpoint"},
    {"embed", cmd_embed, "features or projections of a data set as .npy"},
    {"neighbors", cmd_neighbors, "PNG grid of test images and their nearest train images"},
    {"augment-preview", cmd_augment_preview, "PNG grid of images and their two augmented views"},
    {"plot", cmd_plot, "SVG loss / accuracy curves of a run"},
    {"info", cmd_info, "what a checkpoint holds"},
    {"search", cmd_search, "nearest images of query image files in a data set (TSV + PNG)"},
    {"dedup", cmd_dedup, "near-duplicate pairs within a split or between two (CSV, groups, PNG)"},
    {"cluster", cmd_cluster, "k-means on the embeddings: assignments CSV, a contact sheet per cluster, NMI"},
    {"map", cmd_map, "2-D PCA map of the embeddings as SVG, coloured by label, with thumbnails"},
    {"report", cmd_report, "one self-contained HTML page of a run: config, curves, pictures, results"},
    {"export", cmd_export, "the trained backbone as safetensors (torchvision names) or ONNX"},
};

static void usage(FILE *out) {
    fprintf(out, "nnclr %s - nearest-neighbour contrastive learning of visual representations\n\n"
                 "usage: nnclr <command> [flags]     (nnclr <command> --help lists every flag)\n\ncommands:\n",
            NNCLR_VERSION_STRING);
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(out, "  %-16s %s\n", COMMANDS[i].name, COMMANDS[i].help);
    fprintf(out, "\nWith no flags, `nnclr train` trains a small network on Fashion-MNIST (Debian package\n"
                 "dataset-fashion-mnist) and reports kNN accuracy against the raw-pixel baseline.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("nnclr %s\n", NNCLR_VERSION_STRING);
        return 0;
    }
    const command *cmd = NULL;
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) cmd = &COMMANDS[i];
    if (!cmd) {
        fprintf(stderr, "nnclr: unknown command '%s' (see nnclr --help)\n", argv[1]);
        return EXIT_USAGE;
    }
    /* Under mpirun: train is data-parallel, eval and embed share feature extraction; the
     * other commands run on rank 0 alone. Only rank 0 prints to stdout. */
    nnclr_dist *d = NULL;
    if (nnclr_dist_init(&d, &argc, &argv) != NNCLR_OK) {
        fprintf(stderr, "nnclr: %s\n", nnclr_last_error());
        return EXIT_RUNTIME;
    }
    cli_set_dist(d);
    int world = nnclr_dist_world(d), rank = nnclr_dist_rank(d), rc = 0;
    int parallel = !strcmp(cmd->name, "train") || !strcmp(cmd->name, "eval") || !strcmp(cmd->name, "embed");
    if (rank > 0 && !freopen("/dev/null", "w", stdout)) {
        fprintf(stderr, "nnclr: rank %d cannot silence its output\n", rank);
        rc = EXIT_RUNTIME;
    } else if (parallel || rank == 0) {
        rc = cmd->run(argc, argv);
    }
    /* A failure on one rank may leave the others inside a collective: end the whole job. */
    if (rc != 0 && world > 1) dist_abort(d, rc);
    nnclr_dist_free(d);
    return rc;
}
