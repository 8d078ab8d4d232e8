/* run_onnx.c - the eval-mode backbone as an ONNX model (nnclr_export_onnx), serialised with
 * protobuf-c from the official onnx.proto (CMake generates onnx.pb-c.{c,h} from Debian's
 * libonnx-dev; without protobuf-c the export reports that it was left out of the build).
 *
 * The graph is rebuilt from the model's tensor table, whose names are torchvision's
 * (run_export.c): stem conv1 -> bn1 -> relu (-> 3x3/2 max-pool for the ImageNet stem, told by
 * its 7x7 kernel), then layerS.B blocks of 2 (basic) or 3 (bottleneck) conv-BN units, ReLU
 * between them, the shortcut (identity, or downsample.0 conv + downsample.1 BN) added before
 * the block's last ReLU; stride 2 in the first block of every stage after the first, on the
 * 3x3 conv (conv1 of a basic block, conv2 of a bottleneck, as torchvision); global average
 * pool; flatten. Opset 13: Conv, BatchNormalization (epsilon 1e-5, nnclr's), Relu, Add,
 * MaxPool, GlobalAveragePool, Flatten. Input "input" (N, C, H, W) float32 with a dynamic batch
 * dimension, output "features" (N, F). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "model/nnclr_model.h"
#include "train/run_setup.h"

#ifndef NNCLR_HAVE_ONNX

nnclr_status nnclr_export_onnx(nnclr_model *m, const nnclr_train_config *run, const char *path) {
    (void)m, (void)run, (void)path;
    return nnclr_fail(NNCLR_ERR_ARG, "ONNX export was left out of this build (install libprotobuf-c-dev, "
                      "protobuf-c-compiler and libonnx-dev, then rebuild)");
}

int nnclr_onnx_available(void) { return 0; }

#else

#include "io/atomic_file.h"
#include "onnx.pb-c.h"

int nnclr_onnx_available(void) { return 1; }

/* Every allocation of the graph, freed together. */
typedef struct {
    void **p;
    int n, cap;
    int failed;
} pool;

static void *palloc(pool *pl, size_t size) {
    if (pl->failed) return NULL;
    if (pl->n == pl->cap) {
        int cap = pl->cap ? 2 * pl->cap : 256;
        void **g = realloc(pl->p, (size_t)cap * sizeof *g);
        if (!g) { pl->failed = 1; return NULL; }
        pl->p = g;
        pl->cap = cap;
    }
    void *x = calloc(1, size ? size : 1);
    if (!x) { pl->failed = 1; return NULL; }
    pl->p[pl->n++] = x;
    return x;
}

static char *pstr(pool *pl, const char *s) {
    char *c = palloc(pl, strlen(s) + 1);
    if (c) strcpy(c, s);
    return c;
}

typedef struct {
    pool pl;
    Onnx__NodeProto **nodes;
    int n_nodes, cap_nodes;
    Onnx__TensorProto **inits;
    int n_inits, cap_inits;
    int counter;
} graph;

static void push(graph *g, void ***arr, int *n, int *cap, void *x) {
    if (!x) { g->pl.failed = 1; return; }
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 128;
        void **a = palloc(&g->pl, (size_t)c * sizeof *a);
        if (!a) return;
        if (*n) memcpy(a, *arr, (size_t)*n * sizeof *a);
        *arr = a;
        *cap = c;
    }
    (*arr)[(*n)++] = x;
}

static Onnx__AttributeProto *attr_ints(graph *g, const char *name, const int64_t *v, int n) {
    Onnx__AttributeProto *a = palloc(&g->pl, sizeof *a);
    int64_t *ints = palloc(&g->pl, (size_t)n * sizeof *ints);
    if (!a || !ints) return NULL;
    onnx__attribute_proto__init(a);
    a->name = pstr(&g->pl, name);
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    memcpy(ints, v, (size_t)n * sizeof *ints);
    a->n_ints = (size_t)n;
    a->ints = ints;
    return a;
}

static Onnx__AttributeProto *attr_scalar(graph *g, const char *name, int is_float, double v) {
    Onnx__AttributeProto *a = palloc(&g->pl, sizeof *a);
    if (!a) return NULL;
    onnx__attribute_proto__init(a);
    a->name = pstr(&g->pl, name);
    a->has_type = 1;
    if (is_float) {
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
        a->has_f = 1;
        a->f = (float)v;
    } else {
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        a->has_i = 1;
        a->i = (int64_t)v;
    }
    return a;
}

/* A node with up to 5 inputs; returns its output's name. */
static const char *node(graph *g, const char *op, const char *const *in, int n_in, Onnx__AttributeProto **attrs,
                        int n_attrs) {
    Onnx__NodeProto *nd = palloc(&g->pl, sizeof *nd);
    char **ins = palloc(&g->pl, (size_t)n_in * sizeof *ins), **outs = palloc(&g->pl, sizeof *outs);
    Onnx__AttributeProto **as = palloc(&g->pl, (size_t)(n_attrs ? n_attrs : 1) * sizeof *as);
    char name[64];
    snprintf(name, sizeof name, "%s_%d", op, g->counter++);
    if (!nd || !ins || !outs || !as) { g->pl.failed = 1; return ""; }
    onnx__node_proto__init(nd);
    for (int i = 0; i < n_in; i++) ins[i] = pstr(&g->pl, in[i]);
    outs[0] = pstr(&g->pl, name);
    for (int i = 0; i < n_attrs; i++) {
        if (!attrs[i]) g->pl.failed = 1;
        as[i] = attrs[i];
    }
    nd->n_input = (size_t)n_in;
    nd->input = ins;
    nd->n_output = 1;
    nd->output = outs;
    nd->name = pstr(&g->pl, name);
    nd->op_type = pstr(&g->pl, op);
    nd->n_attribute = (size_t)n_attrs;
    nd->attribute = as;
    push(g, (void ***)&g->nodes, &g->n_nodes, &g->cap_nodes, nd);
    return outs[0] ? outs[0] : "";
}

/* An initializer from a table tensor (raw little-endian float32), named as torchvision does. */
static int add_init(graph *g, const tensor_table *t, const char *nnclr_name) {
    const tensor_entry *e = tensor_table_find(t, nnclr_name);
    if (!e) return 0;
    Onnx__TensorProto *x = palloc(&g->pl, sizeof *x);
    int64_t *dims = palloc(&g->pl, (size_t)(e->ndim ? e->ndim : 1) * sizeof *dims);
    if (!x || !dims) return 0;
    onnx__tensor_proto__init(x);
    for (int d = 0; d < e->ndim; d++) dims[d] = e->shape[d];
    x->n_dims = (size_t)e->ndim;
    x->dims = dims;
    x->has_data_type = 1;
    x->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    x->name = pstr(&g->pl, nnclr_name + strlen("backbone."));
    x->has_raw_data = 1;
    x->raw_data.len = e->size * sizeof(float);
    x->raw_data.data = (uint8_t *)(t->data + e->offset); /* not copied: the model outlives the write */
    push(g, (void ***)&g->inits, &g->n_inits, &g->cap_inits, x);
    return 1;
}

/* conv (no bias) + batch norm of unit `prefix` + conv/bn names; optional ReLU. */
static const char *conv_bn(graph *g, nnclr_model *m, const char *x, const char *prefix, const char *conv,
                           const char *bn, int stride, int relu) {
    char wn[160], p[5][160];
    snprintf(wn, sizeof wn, "backbone.%s%s.weight", prefix, conv);
    const tensor_entry *w = tensor_table_find(&m->params, wn);
    if (!w || !add_init(g, &m->params, wn)) { g->pl.failed = 1; return ""; }
    int64_t k = w->shape[2], pad = k / 2;
    int64_t ks[2] = {k, k}, st[2] = {stride, stride}, pads[4] = {pad, pad, pad, pad};
    const char *cin[2] = {x, wn + strlen("backbone.")};
    Onnx__AttributeProto *ca[3] = {attr_ints(g, "kernel_shape", ks, 2), attr_ints(g, "strides", st, 2),
                                   attr_ints(g, "pads", pads, 4)};
    const char *y = node(g, "Conv", cin, 2, ca, 3);
    static const char *const parts[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int i = 0; i < 4; i++) {
        snprintf(p[i], sizeof p[i], "backbone.%s%s.%s", prefix, bn, parts[i]);
        if (!add_init(g, i < 2 ? &m->params : &m->buffers, p[i])) { g->pl.failed = 1; return ""; }
    }
    const char *bin[5] = {y, p[0] + 9, p[1] + 9, p[2] + 9, p[3] + 9};
    Onnx__AttributeProto *ba[1] = {attr_scalar(g, "epsilon", 1, 1e-5)};
    y = node(g, "BatchNormalization", bin, 5, ba, 1);
    if (relu) {
        const char *rin[1] = {y};
        y = node(g, "Relu", rin, 1, NULL, 0);
    }
    return y;
}

static Onnx__ValueInfoProto *value_info(graph *g, const char *name, int ndim, const int64_t *dims,
                                        const char *batch_param) {
    Onnx__ValueInfoProto *v = palloc(&g->pl, sizeof *v);
    Onnx__TypeProto *t = palloc(&g->pl, sizeof *t);
    Onnx__TypeProto__Tensor *tt = palloc(&g->pl, sizeof *tt);
    Onnx__TensorShapeProto *sh = palloc(&g->pl, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **ds = palloc(&g->pl, (size_t)ndim * sizeof *ds);
    if (!v || !t || !tt || !sh || !ds) return NULL;
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(t);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    for (int d = 0; d < ndim; d++) {
        ds[d] = palloc(&g->pl, sizeof **ds);
        if (!ds[d]) return NULL;
        onnx__tensor_shape_proto__dimension__init(ds[d]);
        if (d == 0) {
            ds[d]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            ds[d]->dim_param = pstr(&g->pl, batch_param);
        } else {
            ds[d]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            ds[d]->dim_value = dims[d];
        }
    }
    sh->n_dim = (size_t)ndim;
    sh->dim = ds;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = sh;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    v->name = pstr(&g->pl, name);
    v->type = t;
    return v;
}

nnclr_status nnclr_export_onnx(nnclr_model *m, const nnclr_train_config *run, const char *path) {
    if (!m || !run || !path) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_export_onnx: NULL argument");
    graph g;
    memset(&g, 0, sizeof g);
    const nnclr_config *c = &m->cfg;
    /* Stem. */
    const tensor_entry *w1 = tensor_table_find(&m->params, "backbone.conv1.weight");
    if (!w1) return nnclr_fail(NNCLR_ERR_ARG, "nnclr_export_onnx: %s has no ResNet stem", c->arch);
    int imagenet_stem = w1->shape[2] == 7;
    const char *x = conv_bn(&g, m, "input", "", "conv1", "bn1", imagenet_stem ? 2 : 1, 1);
    if (imagenet_stem) {
        int64_t ks[2] = {3, 3}, st[2] = {2, 2}, pads[4] = {1, 1, 1, 1};
        Onnx__AttributeProto *a[3] = {attr_ints(&g, "kernel_shape", ks, 2), attr_ints(&g, "strides", st, 2),
                                      attr_ints(&g, "pads", pads, 4)};
        const char *in[1] = {x};
        x = node(&g, "MaxPool", in, 1, a, 3);
    }
    /* Stages and blocks, as the tensor names list them. */
    for (int s = 1; s <= 4; s++)
        for (int b = 0;; b++) {
            char prefix[64], name[160];
            snprintf(prefix, sizeof prefix, "layer%d.%d.", s, b);
            snprintf(name, sizeof name, "backbone.%sconv1.weight", prefix);
            if (!tensor_table_find(&m->params, name)) break;
            snprintf(name, sizeof name, "backbone.%sconv3.weight", prefix);
            int bottleneck = tensor_table_find(&m->params, name) != NULL;
            int stride = s > 1 && b == 0 ? 2 : 1;
            snprintf(name, sizeof name, "backbone.%sdownsample.0.weight", prefix);
            const char *shortcut = x;
            if (tensor_table_find(&m->params, name))
                shortcut = conv_bn(&g, m, x, prefix, "downsample.0", "downsample.1", stride, 0);
            const char *y = conv_bn(&g, m, x, prefix, "conv1", "bn1", bottleneck ? 1 : stride, 1);
            y = conv_bn(&g, m, y, prefix, "conv2", "bn2", bottleneck ? stride : 1, bottleneck);
            if (bottleneck) y = conv_bn(&g, m, y, prefix, "conv3", "bn3", 1, 0);
            const char *ain[2] = {y, shortcut};
            y = node(&g, "Add", ain, 2, NULL, 0);
            const char *rin[1] = {y};
            x = node(&g, "Relu", rin, 1, NULL, 0);
        }
    const char *pin[1] = {x};
    x = node(&g, "GlobalAveragePool", pin, 1, NULL, 0);
    Onnx__AttributeProto *fa[1] = {attr_scalar(&g, "axis", 0, 1)};
    const char *fin[1] = {x};
    x = node(&g, "Flatten", fin, 1, fa, 1);
    /* Name the last output "features". */
    if (!g.pl.failed && g.n_nodes) g.nodes[g.n_nodes - 1]->output[0] = pstr(&g.pl, "features");

    /* Input normalisation, for the doc string. */
    dataset shape = {0};
    shape.c = c->in_channels;
    shape.h = shape.w = c->height;
    nnclr_train_config r = *run;
    r.crop_size = c->height;
    augment_config ev;
    nnclr_status s = make_augment(&r, &shape, 1, &ev);
    char doc[512] = "";
    if (!s) {
        int n = snprintf(doc, sizeof doc, "nnclr %s backbone (%s), eval mode. Input: float32 NCHW (N, %d, %d, %d), "
                         "pixels scaled to [0, 1] then (x - mean) / std per channel with mean (", NNCLR_VERSION_STRING,
                         c->arch, c->in_channels, c->height, c->width);
        for (int i = 0; i < c->in_channels; i++) n += snprintf(doc + n, sizeof doc - n, "%s%.4f", i ? ", " : "", ev.mean[i]);
        n += snprintf(doc + n, sizeof doc - n, ") and std (");
        for (int i = 0; i < c->in_channels; i++) n += snprintf(doc + n, sizeof doc - n, "%s%.4f", i ? ", " : "", ev.std[i]);
        snprintf(doc + n, sizeof doc - n, "). Output: features (N, %d).", m->feat_dim);
    }
    int64_t in_dims[4] = {0, c->in_channels, c->height, c->width}, out_dims[2] = {0, m->feat_dim};
    Onnx__ValueInfoProto *vin = value_info(&g, "input", 4, in_dims, "N");
    Onnx__ValueInfoProto *vout = value_info(&g, "features", 2, out_dims, "N");
    Onnx__GraphProto *gp = palloc(&g.pl, sizeof *gp);
    Onnx__ModelProto *mp = palloc(&g.pl, sizeof *mp);
    Onnx__OperatorSetIdProto *ops = palloc(&g.pl, sizeof *ops), **opsv = palloc(&g.pl, sizeof *opsv);
    Onnx__ValueInfoProto **ins = palloc(&g.pl, sizeof *ins), **outs = palloc(&g.pl, sizeof *outs);
    if (!s && (g.pl.failed || !vin || !vout || !gp || !mp || !ops || !opsv || !ins || !outs))
        s = nnclr_fail(NNCLR_ERR_NOMEM, "ONNX export: out of memory or an unexpected tensor layout in %s", c->arch);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (!s) {
        onnx__graph_proto__init(gp);
        gp->name = pstr(&g.pl, "nnclr_backbone");
        gp->n_node = (size_t)g.n_nodes;
        gp->node = g.nodes;
        gp->n_initializer = (size_t)g.n_inits;
        gp->initializer = g.inits;
        ins[0] = vin;
        outs[0] = vout;
        gp->n_input = 1;
        gp->input = ins;
        gp->n_output = 1;
        gp->output = outs;
        onnx__operator_set_id_proto__init(ops);
        ops->domain = pstr(&g.pl, "");
        ops->has_version = 1;
        ops->version = 13;
        opsv[0] = ops;
        onnx__model_proto__init(mp);
        mp->has_ir_version = 1;
        mp->ir_version = 7;
        mp->n_opset_import = 1;
        mp->opset_import = opsv;
        mp->producer_name = pstr(&g.pl, "nnclr");
        mp->producer_version = pstr(&g.pl, NNCLR_VERSION_STRING);
        mp->doc_string = pstr(&g.pl, doc);
        mp->graph = gp;
        len = onnx__model_proto__get_packed_size(mp);
        buf = nnclr_malloc(len ? len : 1);
        if (!buf) s = NNCLR_ERR_NOMEM;
        else if (onnx__model_proto__pack(mp, buf) != len) s = nnclr_fail(NNCLR_ERR_BACKEND, "ONNX export: packing failed");
    }
    if (!s) s = atomic_write_file(path, buf, len);
    free(buf);
    for (int i = 0; i < g.pl.n; i++) free(g.pl.p[i]);
    free(g.pl.p);
    return s;
}

#endif
