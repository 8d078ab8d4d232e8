/* dnn.c - process-wide oneDNN engine/stream. */
#include "core/dnn.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "core/status.h"

static dnn_ctx g_ctx;
static int g_ready;
static dnnl_status_t g_status = dnnl_success;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void dnn_init_once(void) {
    g_status = dnnl_engine_create(&g_ctx.engine, dnnl_cpu, 0);
    if (g_status != dnnl_success) return;
    g_status = dnnl_stream_create(&g_ctx.stream, g_ctx.engine, dnnl_stream_default_flags);
    if (g_status == dnnl_success) g_ready = 1;
}

nnclr_status dnn_get(dnn_ctx **out) {
    pthread_once(&g_once, dnn_init_once);
    if (!g_ready) return dnn_check(g_status, "creating the oneDNN CPU engine");
    *out = &g_ctx;
    return NNCLR_OK;
}

nnclr_status dnn_check(dnnl_status_t st, const char *what) {
    if (st == dnnl_success) return NNCLR_OK;
    const char *why = "error";
    switch (st) {
    case dnnl_out_of_memory: return nnclr_fail(NNCLR_ERR_NOMEM, "oneDNN out of memory in %s", what);
    case dnnl_invalid_arguments: why = "invalid arguments"; break;
    case dnnl_unimplemented: why = "unimplemented"; break;
    case dnnl_runtime_error: why = "runtime error"; break;
    default: break;
    }
    return nnclr_fail(NNCLR_ERR_BACKEND, "oneDNN %s in %s", why, what);
}

static int g_cblock = 8;
static pthread_once_t g_cblock_once = PTHREAD_ONCE_INIT;

static void cblock_init_once(void) {
    const char *e = getenv("NNCLR_CBLOCK");
    if (e && (!strcmp(e, "8") || !strcmp(e, "16"))) {
        g_cblock = atoi(e);
        return;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    g_cblock = __builtin_cpu_supports("avx512f") ? 16 : 8;
#endif
}

int dnn_cblock(void) {
    pthread_once(&g_cblock_once, cblock_init_once);
    return g_cblock;
}

dnnl_format_tag_t dnn_block_tag(void) { return dnn_cblock() == 16 ? dnnl_nChw16c : dnnl_nChw8c; }
