/* test_weights.c - torchvision-named weights in and out (src/train/run_export.c, run_import.c,
 * src/io/safetensors.c):
 *   - export model A, initialise model B (another seed) from the file: B's eval features equal
 *     A's bit for bit (the backbone is all that features depend on)
 *   - a file of another architecture: refused naming the missing / extra tensors, B unchanged
 *   - a wrong shape, a wrong dtype, fc.* present (ignored and counted), an unknown extra name
 *   - damaged files: truncated, header length past the end, not JSON, overlapping or short
 *     data ranges, duplicate names -> NNCLR_ERR_FORMAT with a message, never a crash. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "model/nnclr_model.h"
#include "testlib.h"

static nnclr_model *tiny(const char *arch, uint64_t seed) {
    nnclr_config c;
    nnclr_config_default(&c);
    c.arch = arch;
    c.in_channels = 1;
    c.height = c.width = 16;
    c.batch = 4;
    c.proj_hidden = 8;
    c.proj_dim = 4;
    c.pred_hidden = 8;
    c.queue_size = 16;
    c.total_steps = 2;
    c.seed = seed;
    nnclr_model *m = NULL;
    return nnclr_model_create(&m, &c) == NNCLR_OK ? m : NULL;
}

static int write_bytes(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(b, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static nnclr_status parse_text(const char *header, size_t data_bytes) {
    size_t hl = strlen(header), size = 8 + hl + data_bytes;
    uint8_t *buf = calloc(1, size);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    safetensors_file *f = NULL;
    nnclr_status s = safetensors_parse(&f, buf, size, "test");
    safetensors_free(f);
    return s;
}

int main(void) {
    char dir[] = "/tmp/nnclr_weights_XXXXXX";
    if (!check_true("temporary directory", mkdtemp(dir) != NULL)) return test_summary();
    char pa[256], pb[256];
    snprintf(pa, sizeof pa, "%s/a.safetensors", dir);
    snprintf(pb, sizeof pb, "%s/b.safetensors", dir);
    nnclr_train_config run;
    nnclr_train_config_preset(&run, "small");

    nnclr_model *a = tiny("resnet8", 1), *b = tiny("resnet8", 2);
    if (!check_true("two resnet8 models", a && b)) return test_summary();
    check_true("export A", nnclr_export_safetensors(a, &run, pa, 0) == NNCLR_OK);
    float x[4 * 16 * 16], fa[4 * 64], fb[4 * 64];
    for (int i = 0; i < 4 * 16 * 16; i++) x[i] = sinf(0.37f * i);
    nnclr_model_features(a, x, 4, fa);
    nnclr_model_features(b, x, 4, fb);
    check_true("A and B differ before (other seeds)", memcmp(fa, fb, sizeof fa) != 0);
    int loaded = -1, ignored = -1;
    check_true("init B from A's export", nnclr_model_init_safetensors(b, pa, &loaded, &ignored) == NNCLR_OK);
    nnclr_model_features(b, x, 4, fb);
    check_true("B's features equal A's bit for bit", memcmp(fa, fb, sizeof fa) == 0);
    char what[160];
    snprintf(what, sizeof what, "every backbone tensor loaded (%d), no fc ignored (%d)", loaded, ignored);
    check_true(what, loaded > 10 && ignored == 0);

    /* Another architecture: resnet14's file into resnet8. */
    nnclr_model *c14 = tiny("resnet14", 3), *d = tiny("resnet8", 4);
    nnclr_export_safetensors(c14, &run, pb, 0);
    float before[4 * 64], after[4 * 64];
    nnclr_model_features(d, x, 4, before);
    nnclr_status s = nnclr_model_init_safetensors(d, pb, NULL, NULL);
    check_true("resnet14 weights into resnet8: refused naming the extra tensors",
               s == NNCLR_ERR_ARG && strstr(nnclr_last_error(), "no place") && strstr(nnclr_last_error(), "layer1.1."));
    nnclr_model_features(d, x, 4, after);
    check_true("...and the model is unchanged", memcmp(before, after, sizeof before) == 0);
    s = nnclr_model_init_safetensors(c14, pa, NULL, NULL);
    check_true("resnet8 weights into resnet14: refused naming the missing tensors",
               s == NNCLR_ERR_ARG && strstr(nnclr_last_error(), "missing") && strstr(nnclr_last_error(), "layer1.1."));

    /* Hand-made files: fc.* ignored; a wrong shape; a wrong dtype. */
    float w[16 * 1 * 3 * 3] = {0}, fc[10 * 64] = {0};
    safetensors_tensor t[2] = {{"conv1.weight", "F32", 4, {16, 1, 3, 3}, w, sizeof w},
                               {"fc.weight", "F32", 2, {10, 64}, fc, sizeof fc}};
    char pc[256];
    snprintf(pc, sizeof pc, "%s/c.safetensors", dir);
    safetensors_write(pc, t, 2, NULL, NULL, 0);
    s = nnclr_model_init_safetensors(d, pc, NULL, NULL);
    check_true("a file with only conv1 (+ fc): refused for the missing tensors, fc not among the complaints",
               s == NNCLR_ERR_ARG && strstr(nnclr_last_error(), "missing") && !strstr(nnclr_last_error(), "fc."));
    t[0].shape[0] = 8;
    t[0].bytes = 8 * 9 * sizeof(float);
    safetensors_write(pc, t, 1, NULL, NULL, 0);
    s = nnclr_model_init_safetensors(d, pc, NULL, NULL);
    check_true("a wrong shape names the tensor and both shapes",
               s == NNCLR_ERR_ARG && strstr(nnclr_last_error(), "conv1.weight") && strstr(nnclr_last_error(), "8x1x3x3") &&
                   strstr(nnclr_last_error(), "16x1x3x3"));
    t[0] = (safetensors_tensor){"conv1.weight", "I32", 4, {16, 1, 3, 3}, w, sizeof w};
    safetensors_write(pc, t, 1, NULL, NULL, 0);
    s = nnclr_model_init_safetensors(d, pc, NULL, NULL);
    check_true("a wrong dtype is refused", s == NNCLR_ERR_ARG && strstr(nnclr_last_error(), "I32"));

    /* Damaged files. */
    check_true("empty file", write_bytes(pc, "", 0) == 0 && nnclr_model_init_safetensors(d, pc, NULL, NULL) == NNCLR_ERR_FORMAT);
    uint8_t big[16] = {0xff, 0xff, 0, 0, 0, 0, 0, 0, '{', '}'};
    check_true("header length past the end",
               write_bytes(pc, big, 10) == 0 && nnclr_model_init_safetensors(d, pc, NULL, NULL) == NNCLR_ERR_FORMAT);
    check_true("missing file: an I/O error", nnclr_model_init_safetensors(d, "/nonexistent/x.safetensors", NULL, NULL) == NNCLR_ERR_IO);
    check_true("not JSON", parse_text("nonsense", 0) == NNCLR_ERR_FORMAT);
    check_true("empty object parses", parse_text("{}", 0) == NNCLR_OK);
    check_true("metadata only parses", parse_text("{\"__metadata__\":{\"a\":\"b\"}}", 0) == NNCLR_OK);
    check_true("data range past the data section",
               parse_text("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4) == NNCLR_ERR_FORMAT);
    check_true("data range of the wrong size",
               parse_text("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8) == NNCLR_ERR_FORMAT);
    check_true("begin after end", parse_text("{\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8) == NNCLR_ERR_FORMAT);
    check_true("unknown dtype", parse_text("{\"x\":{\"dtype\":\"F99\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4) == NNCLR_ERR_FORMAT);
    check_true("duplicate names",
               parse_text("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                          "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4) == NNCLR_ERR_FORMAT);
    check_true("negative dimension", parse_text("{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4) == NNCLR_ERR_FORMAT);
    check_true("trailing garbage", parse_text("{} x", 0) == NNCLR_ERR_FORMAT);
    check_true("huge shape", parse_text("{\"x\":{\"dtype\":\"F32\",\"shape\":[4611686018427387903,4611686018427387903],"
                                        "\"data_offsets\":[0,4]}}", 4) == NNCLR_ERR_FORMAT);
    nnclr_model_free(a);
    nnclr_model_free(b);
    nnclr_model_free(c14);
    nnclr_model_free(d);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("could not remove %s\n", dir);
    return test_summary();
}
