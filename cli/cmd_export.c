/* cmd_export.c - `nnclr export RUN_DIR|CHECKPOINT --format safetensors|onnx --out FILE`: the
 * trained backbone (and with --with-heads the projector and predictor) for PyTorch /
 * torchvision, or the eval-mode backbone as an ONNX model, over the public API
 * (nnclr_model_load, nnclr_export_safetensors, nnclr_export_onnx). docs/EXPORT.md shows the
 * loading side. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_export(int argc, char **argv) {
    const char *format = "safetensors", *out = "";
    int with_heads = 0;
    arg_spec specs[] = {
        {"format", ARG_STR, &format, "output format: weights for PyTorch, or the eval-mode backbone as an ONNX model", 1, 0, "safetensors|onnx"},
        {"out", ARG_STR, &out, "output file (written atomically)", 1, 0, NULL},
        {"with-heads", ARG_BOOL, &with_heads, "also the projector and predictor (projector.*, predictor.*)", 1, 0, NULL},
    };
    char *pos[1];
    int npos;
    int rc = args_parse(specs, sizeof specs / sizeof specs[0], argc, argv, 2, "export",
                        "RUN_DIR|CHECKPOINT --out FILE [flags]", pos, 1, &npos);
    if (rc == ARGS_HELP) return 0;
    if (rc) return EXIT_USAGE;
    if (npos != 1 || !out[0]) {
        fprintf(stderr, "nnclr export: expected a run directory or checkpoint and --out FILE\n");
        return EXIT_USAGE;
    }
    int onnx = !strcmp(format, "onnx");
    if (onnx && with_heads) {
        fprintf(stderr, "nnclr export: --with-heads is for --format safetensors (the ONNX model is the backbone)\n");
        return EXIT_USAGE;
    }
    if (onnx && !nnclr_onnx_available()) {
        fprintf(stderr, "nnclr export: ONNX export was left out of this build (install protobuf-c-compiler "
                "libprotobuf-c-dev libonnx-dev, then rebuild)\n");
        return EXIT_USAGE;
    }
    nnclr_model *m = NULL;
    nnclr_train_config run;
    nnclr_status s = nnclr_model_load(&m, pos[0], 2, &run);
    if (!s) s = onnx ? nnclr_export_onnx(m, &run, out) : nnclr_export_safetensors(m, &run, out, with_heads);
    nnclr_model_free(m);
    if (s) {
        fprintf(stderr, "nnclr export: %s\n", nnclr_last_error());
        return s == NNCLR_ERR_ARG ? EXIT_USAGE : EXIT_RUNTIME;
    }
    printf("wrote %s (%s, %s)\n", out, format,
           onnx ? "eval-mode backbone, opset 13, dynamic batch" : with_heads ? "backbone and heads" : "backbone, torchvision names");
    return 0;
}
