/* train_config.c - the training run's configuration: its schema (one row per key; the command
 * line's flags and config.txt's keys are these names), the presets, validation, and the
 * `key = value` dump. The backbone names come from the backbone registry (model/backbone.h). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "dist/dist.h"
#include "model/backbone.h"
#include "nnclr.h"

#define O(f) offsetof(nnclr_train_config, f)
#define NOR 1, 0 /* no range */
/* The arch row's choices are the backbone registry's names (filled in by keys()). */
static nnclr_config_key KEYS[] = {
    {"preset", NNCLR_KEY_STR, O(preset), "defaults to start from (given first on the command line)", NOR, "small|paper"},
    {"resume", NNCLR_KEY_STR, O(resume), "continue the run in this directory from its latest checkpoint", NOR, NULL},
    {"data", NNCLR_KEY_STR, O(data), "data set format", NOR, "fashion-mnist|mnist|cifar10|cifar100|cifar100-coarse|stl10|folder"},
    {"data-path", NNCLR_KEY_STR, O(data_path), "data set directory (empty: the format's default)", NOR, NULL},
    {"augment", NNCLR_KEY_STR, O(augment), "augmentation preset (auto: by data set)", NOR, "auto|imagenet|cifar|gray|crop-only"},
    {"crop-scale-min", NNCLR_KEY_FLOAT, O(crop_scale_min), "smallest random-resized-crop area fraction (0: the preset's)", 0, 1, NULL},
    {"crop-size", NNCLR_KEY_INT, O(crop_size), "augmented view side in pixels (0: the data set's side)", 0, 1024, NULL},
    {"loader-threads", NNCLR_KEY_INT, O(loader_threads), "data loader worker threads (0: prepare each batch in the training thread)", 0, 64, NULL},
    {"eval-fraction", NNCLR_KEY_FLOAT, O(eval_fraction), "held-out fraction for test when the data set has no test split", 0.01, 0.9, NULL},
    {"val-fraction", NNCLR_KEY_FLOAT, O(val_fraction), "hold out this fraction of the train split (class-stratified, fixed seed) and evaluate on it instead of the test split: for choosing settings (0: off)", 0, 0.9, NULL},
    {"arch", NNCLR_KEY_STR, O(arch), "backbone", NOR, NULL},
    {"cifar-stem", NNCLR_KEY_BOOL, O(cifar_stem), "resnet18/34/50: 3x3 stride-1 stem without max-pool", NOR, NULL},
    {"proj-hidden", NNCLR_KEY_INT, O(proj_hidden), "projection MLP hidden width", 1, 65536, NULL},
    {"proj-dim", NNCLR_KEY_INT, O(proj_dim), "projection (embedding) dimension", 1, 65536, NULL},
    {"pred-hidden", NNCLR_KEY_INT, O(pred_hidden), "prediction MLP hidden width", 1, 65536, NULL},
    {"predictor", NNCLR_KEY_BOOL, O(predictor), "use the prediction MLP (--no-predictor: ablation)", NOR, NULL},
    {"positive", NNCLR_KEY_STR, O(positive), "positive: nearest neighbour (NNCLR) or the view itself (SimCLR)", NOR, "nn|self"},
    {"nn-start", NNCLR_KEY_FLOAT, O(nn_start), "epochs of own-view (SimCLR) positives before any neighbour positive", 0, 100000, NULL},
    {"nn-ramp", NNCLR_KEY_FLOAT, O(nn_ramp), "then the chance of a neighbour positive rises linearly to 1 over this many epochs (0: a switch)", 0, 100000, NULL},
    {"nn-prob-start", NNCLR_KEY_FLOAT, O(nn_prob_start), "chance of a neighbour positive at the start of the ramp", 0, 1, NULL},
    {"support-start", NNCLR_KEY_STR, O(support_start), "support set at step 0: random unit vectors (the paper) or empty (search only pushed rows)", NOR, "random|empty"},
    {"queue-size", NNCLR_KEY_INT, O(queue_size), "support set size Q", 1, 16777216, NULL},
    {"topk", NNCLR_KEY_INT, O(topk), "sample the positive uniformly among the k nearest", 1, 1024, NULL},
    {"push-both", NNCLR_KEY_BOOL, O(push_both), "push both views' projections into the support set", NOR, NULL},
    {"shard-nn-search", NNCLR_KEY_BOOL, O(shard_nn_search), "under mpirun: each process searches 1/R of the support set for the whole batch (top-1)", NOR, NULL},
    {"temperature", NNCLR_KEY_FLOAT, O(temperature), "InfoNCE temperature tau", 1e-4, 100, NULL},
    {"optimizer", NNCLR_KEY_STR, O(optimizer), "optimizer", NOR, "lars|sgd"},
    {"epochs", NNCLR_KEY_INT, O(epochs), "training epochs", 1, 100000, NULL},
    {"batch", NNCLR_KEY_INT, O(batch), "images per view per step", 2, 65536, NULL},
    {"lr", NNCLR_KEY_FLOAT, O(lr), "base learning rate (scaled by batch / 256)", 0, 1000, NULL},
    {"weight-decay", NNCLR_KEY_FLOAT, O(weight_decay), "weight decay", 0, 1, NULL},
    {"momentum", NNCLR_KEY_FLOAT, O(momentum), "momentum", 0, 0.9999, NULL},
    {"lars-eta", NNCLR_KEY_FLOAT, O(lars_eta), "LARS trust coefficient", 0, 1, NULL},
    {"warmup-epochs", NNCLR_KEY_INT, O(warmup_epochs), "linear warm-up epochs before the cosine decay", 0, 100000, NULL},
    {"precision", NNCLR_KEY_STR, O(precision), "backbone convolutions: f32, or bf16 multiplies with float32 accumulation and master weights (CPUs with AVX512-BF16 or AMX)", NOR, "f32|bf16"},
    {"threads", NNCLR_KEY_INT, O(threads), "compute threads (0: all cores)", 0, 1024, NULL},
    {"seed", NNCLR_KEY_U64, O(seed), "random seed", NOR, NULL},
    {"run-dir", NNCLR_KEY_STR, O(run_dir), "run directory: config, metrics log, checkpoints", NOR, NULL},
    {"eval-every", NNCLR_KEY_INT, O(eval_every), "kNN evaluation every N epochs (0: at the end only)", 0, 100000, NULL},
    {"checkpoint-every", NNCLR_KEY_INT, O(checkpoint_every), "checkpoint every N epochs (and at the end)", 1, 100000, NULL},
    {"keep-checkpoints", NNCLR_KEY_INT, O(keep_checkpoints), "checkpoints kept in the run directory", 1, 1000, NULL},
    {"log-every", NNCLR_KEY_INT, O(log_every), "steps between metrics lines", 1, 1000000, NULL},
    {"knn-k", NNCLR_KEY_INT, O(knn_k), "neighbours of the kNN evaluation", 1, 100000, NULL},
    {"knn-tau", NNCLR_KEY_FLOAT, O(knn_tau), "temperature of the weighted kNN vote", 1e-4, 100, NULL},
    {"stop-after", NNCLR_KEY_INT, O(stop_after), "stop (with a checkpoint) after this many epochs, as if interrupted (0: never)", 0, 100000, NULL},
    {"baseline", NNCLR_KEY_BOOL, O(baseline), "also report the kNN accuracy of raw pixels at the end", NOR, NULL},
    {"baseline-best-k", NNCLR_KEY_INT, O(baseline_best_k), "also report raw pixels at this k (the best k on a validation split; 0: off)", 0, 100000, NULL},
    {"init", NNCLR_KEY_STR, O(init), "start the backbone from this safetensors file (torchvision names; new runs only)", NOR, NULL},
    {"linear-probe", NNCLR_KEY_BOOL, O(linear_probe), "end with a linear probe (100 epochs) on the final features", NOR, NULL},
};
#undef O
#undef NOR

static const nnclr_config_key *keys(void) {
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
        if (!strcmp(KEYS[i].name, "arch")) KEYS[i].choices = backbone_names();
    return KEYS;
}

const nnclr_config_key *nnclr_train_config_keys(int *count) {
    if (count) *count = (int)(sizeof KEYS / sizeof KEYS[0]);
    return keys();
}

nnclr_status nnclr_train_config_preset(nnclr_train_config *o, const char *preset) {
    if (!o) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_train_config_preset: NULL config");
    memset(o, 0, sizeof *o);
    o->preset = preset;
    o->data = "fashion-mnist";
    o->data_path = "";
    o->augment = "auto";
    o->crop_size = 0;
    o->loader_threads = 1;
    o->eval_fraction = 0.1;
    o->val_fraction = 0;
    o->positive = "nn";
    o->support_start = "random";
    o->precision = "f32";
    o->predictor = 1;
    o->topk = 1;
    o->temperature = 0.1;
    o->optimizer = "lars";
    o->weight_decay = 1e-6;
    o->momentum = 0.9;
    o->lars_eta = 0.001;
    o->seed = 1;
    o->run_dir = "runs/nnclr";
    o->checkpoint_every = 1;
    o->keep_checkpoints = 3;
    o->log_every = 20;
    o->knn_k = 200;
    o->knn_tau = 0.1;
    o->baseline = 1;
    o->init = "";
    if (preset && !strcmp(preset, "small")) {
        /* Small data on a few CPU cores: a CIFAR ResNet, 512-512-128 projector, short run
         * (docs/RESULTS.md has the runs behind these choices). */
        o->arch = "resnet14";
        o->proj_hidden = 512;
        o->proj_dim = 128;
        o->pred_hidden = 512;
        o->queue_size = 4096;   /* fills with real embeddings after 32 steps */
        o->epochs = 2;
        o->batch = 128;
        o->warmup_epochs = 0;
        o->lr = 0.5;
        o->lars_eta = 0.02;     /* solo-learn's CIFAR recipe; the paper's 0.001 is for batch 4096 */
        o->weight_decay = 1e-5;
        o->crop_scale_min = 0.5;
        return NNCLR_OK;
    }
    if (preset && !strcmp(preset, "paper")) {
        /* The paper's recipe (ImageNet, ResNet-50, batch 4096 in the paper). */
        o->arch = "resnet50";
        o->proj_hidden = 2048;
        o->proj_dim = 256;
        o->pred_hidden = 4096;
        o->queue_size = 98304;
        o->epochs = 1000;
        o->batch = 256;
        o->warmup_epochs = 10;
        o->lr = 0.3;
        return NNCLR_OK;
    }
    return nnclr_fail(NNCLR_ERR_ARG, "--preset must be small or paper, got '%s'", preset ? preset : "(null)");
}

static int in_choices(const char *choices, const char *v) {
    size_t len = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == len && strncmp(p, v, l) == 0) return 1;
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
}

nnclr_status nnclr_train_config_check(const nnclr_train_config *o) {
    if (!o) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_train_config_check: NULL config");
    const nnclr_config_key *all = keys();
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++) {
        const nnclr_config_key *k = &all[i];
        const char *p = (const char *)o + k->offset;
        double x;
        switch (k->type) {
        case NNCLR_KEY_INT: x = *(const int *)p; break;
        case NNCLR_KEY_FLOAT: x = *(const double *)p; break;
        case NNCLR_KEY_STR: {
            const char *v = *(const char *const *)p;
            if (k->choices && (!v || !in_choices(k->choices, v)))
                return nnclr_fail(NNCLR_ERR_ARG, "--%s must be one of %s, got '%s'", k->name, k->choices, v ? v : "");
            continue;
        }
        default: continue;
        }
        if (!isfinite(x) || (k->min <= k->max && (x < k->min || x > k->max)))
            return nnclr_fail(NNCLR_ERR_ARG, "--%s %.15g is outside [%.15g, %.15g]", k->name, x, k->min, k->max);
    }
    if (!o->run_dir || !o->run_dir[0]) return nnclr_fail(NNCLR_ERR_ARG, "--run-dir is empty");
    if (!strcmp(o->positive, "nn") && o->queue_size < o->batch)
        return nnclr_fail(NNCLR_ERR_ARG, "--queue-size %d must be >= --batch %d", o->queue_size, o->batch);
    int world = dist_world(o->dist);
    if (o->batch % world != 0 || o->batch / world < 2)
        return nnclr_fail(NNCLR_ERR_ARG, "--batch %d must be a multiple of the %d processes, >= 2 per process",
                          o->batch, world);
    if (o->topk > o->queue_size)
        return nnclr_fail(NNCLR_ERR_ARG, "--topk %d exceeds --queue-size %d", o->topk, o->queue_size);
    if ((o->nn_start > 0 || o->nn_ramp > 0) && strcmp(o->positive, "nn") != 0)
        return nnclr_fail(NNCLR_ERR_ARG, "--nn-start / --nn-ramp schedule neighbour positives and need --positive nn");
    if (o->warmup_epochs > o->epochs)
        return nnclr_fail(NNCLR_ERR_ARG, "--warmup-epochs %d is longer than the run (--epochs %d)%s", o->warmup_epochs,
                          o->epochs, o->preset && !strcmp(o->preset, "paper") ? "; the paper preset warms up for 10" : "");
    if (o->nn_start + o->nn_ramp > o->epochs)
        return nnclr_fail(NNCLR_ERR_ARG, "--nn-start %g + --nn-ramp %g epochs is longer than the run (--epochs %d)",
                          o->nn_start, o->nn_ramp, o->epochs);
    return NNCLR_OK;
}

char *nnclr_train_config_dump(const nnclr_train_config *o) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++) {
        const nnclr_config_key *k = &KEYS[i];
        const char *p = (const char *)o + k->offset;
        if (!strcmp(k->name, "resume")) continue; /* where it was resumed from is not a setting */
        fprintf(f, "%s = ", k->name);
        switch (k->type) {
        case NNCLR_KEY_INT: fprintf(f, "%d", *(const int *)p); break;
        case NNCLR_KEY_FLOAT: fprintf(f, "%.9g", *(const double *)p); break;
        case NNCLR_KEY_BOOL: fprintf(f, "%s", *(const int *)p ? "true" : "false"); break;
        case NNCLR_KEY_U64: fprintf(f, "%llu", (unsigned long long)*(const uint64_t *)p); break;
        case NNCLR_KEY_STR: fprintf(f, "%s", *(const char *const *)p ? *(const char *const *)p : ""); break;
        }
        fputc('\n', f);
    }
    fclose(f);
    return text;
}

static int set_key(nnclr_train_config *c, const nnclr_config_key *k, char *v) {
    char *p = (char *)c + k->offset, *end;
    switch (k->type) {
    case NNCLR_KEY_STR: *(const char **)p = v; return 0;
    case NNCLR_KEY_BOOL:
        if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes")) *(int *)p = 1;
        else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no")) *(int *)p = 0;
        else return -1;
        return 0;
    case NNCLR_KEY_INT: {
        long x = strtol(v, &end, 10);
        if (!*v || *end || x < -2147483647L || x > 2147483647L) return -1;
        *(int *)p = (int)x;
        return 0;
    }
    case NNCLR_KEY_U64: {
        unsigned long long x = strtoull(v, &end, 10);
        if (!*v || *end || *v == '-') return -1;
        *(uint64_t *)p = x;
        return 0;
    }
    case NNCLR_KEY_FLOAT: {
        double x = strtod(v, &end);
        if (!*v || *end || !isfinite(x)) return -1;
        *(double *)p = x;
        return 0;
    }
    }
    return -1;
}

nnclr_status nnclr_train_config_parse(nnclr_train_config *c, char *text) {
    if (!c || !text) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_train_config_parse: NULL argument");
    const nnclr_config_key *all = keys();
    int line = 0;
    for (char *s = text; s && *s;) {
        char *nl = strchr(s, '\n');
        if (nl) *nl = 0;
        line++;
        char *k = s;
        s = nl ? nl + 1 : NULL;
        while (*k == ' ' || *k == '\t') k++;
        size_t len = strlen(k);
        while (len && (k[len - 1] == ' ' || k[len - 1] == '\t' || k[len - 1] == '\r')) k[--len] = 0;
        if (!*k || *k == '#') continue;
        char *eq = strchr(k, '=');
        if (!eq) return nnclr_fail(NNCLR_ERR_FORMAT, "config line %d: expected key = value", line);
        char *v = eq + 1;
        while (eq > k && (eq[-1] == ' ' || eq[-1] == '\t')) eq--;
        *eq = 0;
        while (*v == ' ' || *v == '\t') v++;
        const nnclr_config_key *key = NULL;
        for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
            if (!strcmp(all[i].name, k)) key = &all[i];
        if (!key) return nnclr_fail(NNCLR_ERR_FORMAT, "config line %d: unknown key '%s'", line, k);
        if (set_key(c, key, v)) return nnclr_fail(NNCLR_ERR_FORMAT, "config line %d: bad value '%s' for %s", line, v, k);
    }
    return NNCLR_OK;
}

/* A heap configuration: the struct first (so its address is the config's), then the strings it
 * owns. */
typedef struct {
    nnclr_train_config cfg;
    char **strings;
    int count, cap;
} owned_config;

nnclr_train_config *nnclr_train_config_new(const char *preset) {
    owned_config *o = nnclr_calloc(1, sizeof *o);
    if (!o) return NULL;
    if (nnclr_train_config_preset(&o->cfg, preset ? preset : "small") != NNCLR_OK) {
        free(o);
        return NULL;
    }
    o->cfg.preset = preset && !strcmp(preset, "paper") ? "paper" : "small";
    return &o->cfg;
}

nnclr_status nnclr_train_config_set(nnclr_train_config *c, const char *key, const char *value) {
    if (!c || !key || !value) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_train_config_set: NULL argument");
    owned_config *o = (owned_config *)c;
    const nnclr_config_key *all = keys(), *k = NULL;
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
        if (!strcmp(all[i].name, key)) k = &all[i];
    if (!k) return nnclr_fail(NNCLR_ERR_ARG, "unknown configuration key '%s'", key);
    if (o->count == o->cap) {
        int cap = o->cap ? 2 * o->cap : 16;
        char **grown = realloc(o->strings, (size_t)cap * sizeof *grown);
        if (!grown) return NNCLR_ERR_NOMEM;
        o->strings = grown;
        o->cap = cap;
    }
    char *copy = strdup(value);
    if (!copy) return NNCLR_ERR_NOMEM;
    o->strings[o->count++] = copy;
    if (set_key(c, k, copy)) return nnclr_fail(NNCLR_ERR_ARG, "bad value '%s' for %s", value, key);
    return NNCLR_OK;
}

void nnclr_train_config_free(nnclr_train_config *c) {
    if (!c) return;
    owned_config *o = (owned_config *)c;
    for (int i = 0; i < o->count; i++) free(o->strings[i]);
    free(o->strings);
    free(o);
}
