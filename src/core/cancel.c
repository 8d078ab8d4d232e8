/* cancel.c - see cancel.h. */
#include "core/cancel.h"

#include <stddef.h>

static int (*g_fn)(void *user);
static void *g_user;

void cancel_install(int (*fn)(void *user), void *user) {
    g_fn = fn;
    g_user = user;
}

int cancel_requested(void) { return g_fn && g_fn(g_user) != 0; }
