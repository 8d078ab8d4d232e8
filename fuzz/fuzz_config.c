/* fuzz_config.c - libFuzzer harness for the command-line flag parser (cli/args.c): the input
 * as a `--config FILE` file, then its lines as command-line arguments, against a small flag
 * table with one flag of each type (ranges, choices, a range-less int, a bool, a u64).
 *
 * cli/args.c is compiled into this file. Its config loader keeps string values for the life of
 * the process, chained from the static g_kept; here the chain is freed after each input so
 * that memory does not grow over millions of inputs. Arguments naming a config file are
 * dropped from the command-line pass: "--config /dev/zero" would read forever, which is the
 * user's choice, not a parser bug. Checked after a successful parse: every value inside its
 * range or choices. */
#include "fuzz_common.h"

#include <math.h>

#include "../cli/args.c"

static void release_kept(void) {
    while (g_kept) {
        kept_value *next = g_kept->next;
        free(g_kept);
        g_kept = next;
    }
}

typedef struct {
    int epochs, batch, baseline;
    double lr;
    const char *arch, *run_dir, *config;
    uint64_t seed;
} fuzz_opts;

static int specs_for(fuzz_opts *o, arg_spec *specs) {
    *o = (fuzz_opts){.epochs = 10, .batch = 256, .baseline = 1, .lr = 0.3, .arch = "resnet20",
                     .run_dir = "runs/x", .config = NULL, .seed = 0};
    arg_spec s[] = {
        {"config", ARG_STR, &o->config, "config file", 1, 0, NULL},
        {"epochs", ARG_INT, &o->epochs, "epochs", 1, 1000, NULL},
        {"batch", ARG_INT, &o->batch, "batch (no range)", 1, 0, NULL},
        {"lr", ARG_FLOAT, &o->lr, "learning rate", 0, 10, NULL},
        {"arch", ARG_STR, &o->arch, "backbone", 1, 0, "resnet18|resnet20|resnet50"},
        {"run-dir", ARG_STR, &o->run_dir, "run directory", 1, 0, NULL},
        {"baseline", ARG_BOOL, &o->baseline, "raw-pixel baseline", 1, 0, NULL},
        {"seed", ARG_U64, &o->seed, "seed", 1, 0, NULL},
    };
    memcpy(specs, s, sizeof s);
    return (int)(sizeof s / sizeof s[0]);
}

static void check_values(const fuzz_opts *o) {
    if (o->epochs < 1 || o->epochs > 1000) abort();
    if (!isfinite(o->lr) || o->lr < 0 || o->lr > 10) abort();
    if (o->baseline != 0 && o->baseline != 1) abort();
    if (!o->arch || !o->run_dir) abort();
    if (strcmp(o->arch, "resnet18") && strcmp(o->arch, "resnet20") && strcmp(o->arch, "resnet50")) abort();
    (void)strlen(o->run_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    arg_spec specs[16];
    fuzz_opts o;
    int n = specs_for(&o, specs);

    /* The input as a config file. */
    const char *path = fuzz_write("fuzz.cfg", data, size);
    char *argv_cfg[] = {"fuzz", "--config", (char *)path, NULL};
    if (args_parse(specs, n, 3, argv_cfg, 1, "fuzz", "", NULL, 0, NULL) == ARGS_OK) check_values(&o);
    release_kept();

    /* The input's lines as arguments (at most 16, NUL-terminated copies). */
    n = specs_for(&o, specs);
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    char *argv[18] = {"fuzz"};
    int argc = 1;
    for (char *p = text; p && argc < 17;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl++ = 0;
        if (strncmp(p, "--config", 8) != 0) argv[argc++] = p;
        p = nl;
    }
    argv[argc] = NULL;
    char *pos[4];
    int npos = 0;
    int rc = args_parse(specs, n, argc, argv, 1, "fuzz", "", pos, 4, &npos);
    if (rc == ARGS_OK) {
        check_values(&o);
        if (npos < 0 || npos > 4) abort();
    }
    release_kept();
    free(text);
    fuzz_remove("fuzz.cfg");
    return 0;
}
