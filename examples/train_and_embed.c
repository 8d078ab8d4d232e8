/* train_and_embed.c - nnclr as a library: train NNCLR on Fashion-MNIST for a few steps, load the
 * model back from its run directory, and write the embeddings of the test images.
 *
 *     cc train_and_embed.c $(pkg-config --cflags --libs nnclr) -lm -o train_and_embed
 *     ./train_and_embed RUN_DIR STEPS OUT.f32
 *
 * OUT.f32 holds N x D little-endian floats (the backbone features of the 10,000 test images);
 * the program prints N, D, how often an image's nearest other test image (by cosine) has the
 * same label, and the weighted-kNN accuracy of the standard protocol. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <nnclr.h>

typedef struct {
    long steps, max_steps;
} run_state;

/* Progress hook: one line every 10 steps. */
static void on_progress(void *user, const nnclr_train_progress *p) {
    run_state *r = user;
    r->steps = p->step;
    if (p->step % 10 == 0) printf("step %lld  loss %.4f  %.0f img/s\n", (long long)p->step, p->loss, p->img_per_s);
}

/* Stop flag: the library saves a checkpoint and returns NNCLR_ERR_INTERRUPTED. */
static int stop_after_steps(void *user) {
    run_state *r = user;
    return r->steps >= r->max_steps;
}

static int fail(const char *what) {
    fprintf(stderr, "train_and_embed: %s: %s\n", what, nnclr_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: train_and_embed RUN_DIR STEPS OUT.f32\n");
        return 2;
    }
    /* 1. Train: the small preset (ResNet-14 on Fashion-MNIST), stopped after STEPS steps. */
    nnclr_train_config rc;
    if (nnclr_train_config_preset(&rc, "small") != NNCLR_OK) return fail("preset");
    rc.run_dir = argv[1];
    rc.baseline = 0;
    run_state state = {0, atol(argv[2])};
    nnclr_train_hooks hooks = {&state, NULL, on_progress, stop_after_steps};
    nnclr_train_result res;
    nnclr_status s = nnclr_train(&rc, NULL, &hooks, &res);
    if (s != NNCLR_OK && s != NNCLR_ERR_INTERRUPTED) return fail("train");
    printf("trained %lld steps in %.1f s\n", (long long)res.steps, res.train_seconds);

    /* 2. Load the model back from the run directory (its latest checkpoint). */
    nnclr_model *m;
    nnclr_train_config run;
    if (nnclr_model_load(&m, argv[1], 256, &run) != NNCLR_OK) return fail("load");

    /* 3. Embed the test split of the run's data set and write it. */
    float *feat;
    int *labels, n, d;
    if (nnclr_embed(m, &run, 1, 0, &feat, &labels, &n, &d) != NNCLR_OK) return fail("embed");
    FILE *f = fopen(argv[3], "wb");
    if (!f || fwrite(feat, sizeof(float), (size_t)n * d, f) != (size_t)n * d || fclose(f) != 0) {
        fprintf(stderr, "train_and_embed: cannot write %s\n", argv[3]);
        return 1;
    }
    printf("wrote %s: %d x %d floats\n", argv[3], n, d);

    /* 4. A look at the embeddings: label agreement of each of the first 1,000 images with its
     * nearest other test image. */
    int agree = 0, q = n < 1000 ? n : 1000;
    for (int i = 0; i < q; i++) {
        double best = -2;
        int arg = -1;
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double dot = 0, ni = 0, nj = 0;
            for (int k = 0; k < d; k++) {
                dot += (double)feat[(size_t)i * d + k] * feat[(size_t)j * d + k];
                ni += (double)feat[(size_t)i * d + k] * feat[(size_t)i * d + k];
                nj += (double)feat[(size_t)j * d + k] * feat[(size_t)j * d + k];
            }
            double cs = dot / (sqrt(ni * nj) + 1e-12);
            if (cs > best) best = cs, arg = j;
        }
        agree += labels[arg] == labels[i];
    }
    printf("nearest-neighbour label agreement (first %d test images): %.1f%%\n", q, 100.0 * agree / q);

    /* 5. The standard protocol: weighted kNN (k = 200, tau = 0.1), train split as memory. */
    double top1;
    if (nnclr_evaluate_knn(m, &run, 200, 0.1, &top1, NULL) != NNCLR_OK) return fail("kNN");
    printf("kNN (k=200) top-1 on the test split: %.2f%%\n", 100 * top1);
    free(feat);
    free(labels);
    nnclr_model_free(m);
    return 0;
}
