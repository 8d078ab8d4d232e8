/* env.c - see env.h. */
#include "core/env.h"

#include <stdlib.h>
#include <string.h>
#include "core/status.h"

static const struct {
    const char *name, *values;   /* values: "a|b|c" */
} VARS[] = {
    {"NNCLR_CONV_ALGO", "direct|winograd|auto"},
    {"NNCLR_WINOGRAD_TILE", "2|4"},
    {"NNCLR_CBLOCK", "8|16"},
};

static int one_of(const char *v, const char *values) {
    size_t len = strlen(v);
    for (const char *p = values; *p;) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == len && !strncmp(p, v, l)) return 1;
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
}

nnclr_status env_check(void) {
    for (size_t i = 0; i < sizeof VARS / sizeof VARS[0]; i++) {
        const char *v = getenv(VARS[i].name);
        if (v && !one_of(v, VARS[i].values))
            return nnclr_fail(NNCLR_ERR_ARG, "%s=%s: expected one of %s (or unset)", VARS[i].name, v, VARS[i].values);
    }
    return NNCLR_OK;
}
