/* test_api.c - the public API (include/nnclr.h) under bad calls: NULL pointers, impossible
 * shapes and configurations, a data set whose images do not fit the model. Each must return a
 * status with a message, never crash (the sanitizer build runs this too). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nnclr.h"
#include "testlib.h"

static void expect(const char *what, nnclr_status got, nnclr_status want) {
    char line[256];
    snprintf(line, sizeof line, "%s -> %s (message: %s)", what, nnclr_status_name(got), got ? nnclr_last_error() : "");
    check_true(line, got == want && (got == NNCLR_OK || nnclr_last_error()[0]));
}

int main(void) {
    nnclr_config c;
    nnclr_config_default(&c);
    nnclr_model *m = (nnclr_model *)1;
    expect("nnclr_model_create(NULL out)", nnclr_model_create(NULL, &c), NNCLR_ERR_ARG);
    expect("nnclr_model_create(NULL config)", nnclr_model_create(&m, NULL), NNCLR_ERR_ARG);
    check_true("...and *out is NULL after a failure", m == NULL);
    c.arch = NULL;
    expect("config without arch", nnclr_model_create(&m, &c), NNCLR_ERR_ARG);
    nnclr_config_default(&c);
    c.arch = "resnet99";
    expect("unknown arch", nnclr_model_create(&m, &c), NNCLR_ERR_ARG);
    nnclr_config_default(&c);
    c.height = 0;
    expect("zero image height", nnclr_model_create(&m, &c), NNCLR_ERR_ARG);
    nnclr_config_default(&c);
    c.batch = 1;
    expect("batch 1", nnclr_model_create(&m, &c), NNCLR_ERR_ARG);
    nnclr_config_default(&c);
    c.precision = (nnclr_precision)7;
    expect("unknown precision", nnclr_model_create(&m, &c), NNCLR_ERR_ARG);

    /* A small valid model for the calls that take one. */
    nnclr_config_default(&c);
    c.arch = "resnet8";
    c.in_channels = 1;
    c.height = c.width = 16;
    c.batch = 4;
    c.proj_hidden = 8;
    c.proj_dim = 4;
    c.pred_hidden = 8;
    c.queue_size = 16;
    c.total_steps = 2;
    expect("valid small model", nnclr_model_create(&m, &c), NNCLR_OK);
    float img[4 * 16 * 16] = {0}, feat[4 * 64];
    nnclr_step_stats st;
    expect("nnclr_step(NULL model)", nnclr_step(NULL, img, img, NULL, &st), NNCLR_ERR_ARG);
    expect("nnclr_step(NULL view)", nnclr_step(m, NULL, img, NULL, &st), NNCLR_ERR_ARG);
    expect("nnclr_model_features(NULL model)", nnclr_model_features(NULL, img, 1, feat), NNCLR_ERR_ARG);
    expect("nnclr_model_features(NULL images)", nnclr_model_features(m, NULL, 1, feat), NNCLR_ERR_ARG);
    expect("nnclr_model_features(NULL output)", nnclr_model_features(m, img, 1, NULL), NNCLR_ERR_ARG);
    expect("nnclr_model_features(n = 0)", nnclr_model_features(m, img, 0, feat), NNCLR_ERR_ARG);
    check_true("feature_dim / config of NULL: 0 / NULL", nnclr_model_feature_dim(NULL) == 0 && !nnclr_model_config(NULL));

    /* Embedding a data set whose images do not fit the model (Fashion-MNIST is 1x28x28, the
     * model takes 1x16x16). */
    struct stat sb;
    if (stat("/usr/share/datasets/fashion-mnist", &sb) == 0) {
        nnclr_train_config data;
        nnclr_train_config_preset(&data, "small");
        float *out = NULL;
        int *labels = NULL, n = 0, dim = 0;
        expect("nnclr_embed: 28x28 data into a 16x16 model", nnclr_embed(m, &data, 1, 0, &out, &labels, &n, &dim),
               NNCLR_ERR_ARG);
        check_true("...names both shapes", strstr(nnclr_last_error(), "1x28x28") && strstr(nnclr_last_error(), "1x16x16"));
        check_true("...and returns nothing", out == NULL && labels == NULL);
        expect("nnclr_embed: split 2", nnclr_embed(m, &data, 2, 0, &out, &labels, &n, &dim), NNCLR_ERR_ARG);
    } else {
        printf("skip: Fashion-MNIST not installed (embedding shape check)\n");
    }
    expect("nnclr_embed(NULL model)", nnclr_embed(NULL, NULL, 0, 0, NULL, NULL, NULL, NULL), NNCLR_ERR_ARG);
    nnclr_model_free(m);
    nnclr_model_free(NULL);

    /* Training configuration and run. */
    expect("nnclr_train(NULL)", nnclr_train(NULL, NULL, NULL, NULL), NNCLR_ERR_ARG);
    nnclr_train_config rc;
    expect("preset 'large'", nnclr_train_config_preset(&rc, "large"), NNCLR_ERR_ARG);
    nnclr_train_config_preset(&rc, "small");
    rc.queue_size = 8;
    expect("queue below batch", nnclr_train_config_check(&rc), NNCLR_ERR_ARG);
    check_true("...message names --queue-size", strstr(nnclr_last_error(), "--queue-size") != NULL);
    nnclr_train_config_preset(&rc, "small");
    rc.positive = "both";
    expect("positive 'both'", nnclr_train_config_check(&rc), NNCLR_ERR_ARG);
    nnclr_train_config_preset(&rc, "small");
    rc.run_dir = "/nonexistent-nnclr-api-test/run";
    rc.data_path = "/nonexistent-nnclr-api-test/data";
    expect("nnclr_train on a missing data path", nnclr_train(&rc, NULL, NULL, NULL), NNCLR_ERR_ARG);
    check_true("...writes no run directory", stat("/nonexistent-nnclr-api-test", &sb) != 0);
    char text[] = "epochs = 3\n# comment\nbogus-key = 1\n";
    nnclr_train_config_preset(&rc, "small");
    expect("config text with an unknown key", nnclr_train_config_parse(&rc, text), NNCLR_ERR_FORMAT);
    check_true("...names the line", strstr(nnclr_last_error(), "line 3") != NULL);
    char text2[] = "epochs = three\n";
    expect("config text with a bad number", nnclr_train_config_parse(&rc, text2), NNCLR_ERR_FORMAT);
    nnclr_model *lm = NULL;
    expect("nnclr_model_load of a missing run", nnclr_model_load(&lm, "/nonexistent-nnclr-run", 8, NULL), NNCLR_ERR_ARG);
    expect("nnclr_model_load(NULL path)", nnclr_model_load(&lm, NULL, 8, NULL), NNCLR_ERR_ARG);
    return test_summary();
}
