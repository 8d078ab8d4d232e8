/* backbone.c - the registry of backbone families. See backbone.h. */
#include "model/backbone.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

#define MAX_FAMILIES 16

/* The registry: one row per family. */
static const backbone_ops *g_families[MAX_FAMILIES] = {
    &resnet_backbone,
};
static int g_count = 1;
static char g_names[1024];

const backbone_ops *backbone_find(const char *arch) {
    for (int f = 0; arch && f < g_count; f++)
        for (int i = 0; g_families[f]->arch_name(i); i++)
            if (!strcmp(g_families[f]->arch_name(i), arch)) return g_families[f];
    return NULL;
}

const char *backbone_names(void) {
    size_t len = 0;
    g_names[0] = 0;
    for (int f = 0; f < g_count; f++)
        for (int i = 0; g_families[f]->arch_name(i); i++) {
            const char *a = g_families[f]->arch_name(i);
            size_t l = strlen(a);
            if (len + l + 2 >= sizeof g_names) return g_names;
            if (len) g_names[len++] = '|';
            memcpy(g_names + len, a, l + 1);
            len += l;
        }
    return g_names;
}

nnclr_status backbone_register(const backbone_ops *ops) {
    if (!ops || !ops->arch_name || !ops->create || !ops->free || !ops->feature_dim || !ops->init || !ops->prepare ||
        !ops->forward || !ops->backward)
        return nnclr_fail(NNCLR_ERR_ARG, "backbone_register: incomplete operations table");
    if (g_count == MAX_FAMILIES) return nnclr_fail(NNCLR_ERR_ARG, "backbone_register: registry full");
    for (int i = 0; ops->arch_name(i); i++)
        if (backbone_find(ops->arch_name(i)))
            return nnclr_fail(NNCLR_ERR_ARG, "backbone_register: '%s' is taken", ops->arch_name(i));
    g_families[g_count++] = ops;
    return NNCLR_OK;
}

nnclr_status backbone_create(backbone **out, const backbone_config *cfg, tensor_table *params, tensor_table *buffers) {
    *out = NULL;
    const backbone_ops *ops = backbone_find(cfg->arch);
    if (!ops)
        return nnclr_fail(NNCLR_ERR_ARG, "unknown architecture '%s' (%s)", cfg->arch ? cfg->arch : "(null)",
                          backbone_names());
    backbone *b = nnclr_calloc(1, sizeof *b);
    if (!b) return NNCLR_ERR_NOMEM;
    b->ops = ops;
    nnclr_status s = ops->create(&b->impl, cfg, params, buffers);
    if (s) {
        free(b);
        return s;
    }
    *out = b;
    return NNCLR_OK;
}

void backbone_free(backbone *b) {
    if (!b) return;
    if (b->impl) b->ops->free(b->impl);
    free(b);
}
