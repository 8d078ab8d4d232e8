/* main.c - the nnclr command: dispatches to the subcommands (cmd_*.c). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

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
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) return COMMANDS[i].run(argc, argv);
    fprintf(stderr, "nnclr: unknown command '%s' (see nnclr --help)\n", argv[1]);
    return EXIT_USAGE;
}
