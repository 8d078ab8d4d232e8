/* args.c - the flag table parser. See args.h. */
#define _POSIX_C_SOURCE 200809L
#include "args.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const arg_spec *find(const arg_spec *specs, int n, const char *name, size_t len) {
    for (int i = 0; i < n; i++)
        if (strlen(specs[i].name) == len && strncmp(specs[i].name, name, len) == 0) return &specs[i];
    return NULL;
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

/* Sets one flag from text. Returns 0 or prints an error and returns ARGS_USAGE. where: "" for
 * the command line, or "FILE:LINE: " for a config file. */
static int set_value_at(const arg_spec *s, const char *cmd, const char *v, const char *where) {
    char *end;
    errno = 0;
    switch (s->type) {
    case ARG_BOOL:
        if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes")) *(int *)s->ptr = 1;
        else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no")) *(int *)s->ptr = 0;
        else goto bad;
        return 0;
    case ARG_INT: {
        long x = strtol(v, &end, 10);
        if (*v == 0 || *end || errno) goto bad;
        if (s->min <= s->max && (x < s->min || x > s->max)) goto range;
        *(int *)s->ptr = (int)x;
        return 0;
    }
    case ARG_U64: {
        if (*v == '-') goto bad;
        unsigned long long x = strtoull(v, &end, 10);
        if (*v == 0 || *end || errno) goto bad;
        *(uint64_t *)s->ptr = x;
        return 0;
    }
    case ARG_FLOAT: {
        double x = strtod(v, &end);
        if (*v == 0 || *end || errno || !isfinite(x)) goto bad;
        if (s->min <= s->max && (x < s->min || x > s->max)) goto range;
        *(double *)s->ptr = x;
        return 0;
    }
    case ARG_STR:
        if (s->choices && !in_choices(s->choices, v)) {
            fprintf(stderr, "nnclr %s: %s--%s must be one of %s, got '%.80s%s'\n", cmd, where, s->name, s->choices, v,
                    strlen(v) > 80 ? "..." : "");
            return ARGS_USAGE;
        }
        *(const char **)s->ptr = v;
        return 0;
    }
bad:
    fprintf(stderr, "nnclr %s: %s--%s: invalid value '%.80s%s'\n", cmd, where, s->name, v, strlen(v) > 80 ? "..." : "");
    return ARGS_USAGE;
range:
    /* %.15g: integer bounds print whole (16777216, not 1.67772e+07). */
    fprintf(stderr, "nnclr %s: %s--%s must be in [%.15g, %.15g], got %.80s%s\n", cmd, where, s->name, s->min, s->max, v,
            strlen(v) > 80 ? "..." : "");
    return ARGS_USAGE;
}

/* Where each flag's value came from when a config file set it ("FILE:LINE"), for messages. */
#define MAX_ORIGINS 128
static struct {
    const void *ptr;
    char where[512];
} g_origin[MAX_ORIGINS];
static int g_norigin;

static void note_origin(const arg_spec *s, const char *where) {
    int i = 0;
    while (i < g_norigin && g_origin[i].ptr != s->ptr) i++;
    if (i == g_norigin) {
        if (!where[0] || g_norigin == MAX_ORIGINS) return;
        g_origin[g_norigin++].ptr = s->ptr;
    }
    /* "FILE:LINE: " without the trailing ": " */
    size_t n = strlen(where);
    snprintf(g_origin[i].where, sizeof g_origin[i].where, "%.*s", n >= 2 ? (int)(n - 2) : 0, where);
}

static const arg_spec *g_specs;
static int g_nspecs;

void args_annotate(const char *msg, char *out, size_t size) {
    snprintf(out, size, "%s", msg);
    for (int i = 0; i < g_nspecs; i++) {
        char flag[80];
        snprintf(flag, sizeof flag, "--%s", g_specs[i].name);
        const char *at = strstr(msg, flag);
        if (!at || (at[strlen(flag)] != ' ' && at[strlen(flag)] != 0 && at[strlen(flag)] != ')' && at[strlen(flag)] != ';'))
            continue;
        for (int j = 0; j < g_norigin; j++)
            if (g_origin[j].ptr == g_specs[i].ptr && g_origin[j].where[0]) {
                size_t len = strlen(out);
                snprintf(out + len, size - len, " (%s from %s)", flag, g_origin[j].where);
            }
    }
}

static int set_value(const arg_spec *s, const char *cmd, const char *v) {
    int rc = set_value_at(s, cmd, v, "");
    if (!rc) note_origin(s, "");
    return rc;
}

/* String values read from config files: string flags point into them, so they live as long as
 * the process. Chained from a static head, they stay reachable (leak checkers stay quiet). */
typedef struct kept_value {
    struct kept_value *next;
    char text[];
} kept_value;

static kept_value *g_kept;

static char *keep_value(const char *v) {
    size_t len = strlen(v) + 1;
    kept_value *k = malloc(sizeof *k + len);
    if (!k) return NULL;
    memcpy(k->text, v, len);
    k->next = g_kept;
    g_kept = k;
    return k->text;
}

/* Config file: `key = value` per line, '#' comments, any line length. Only a regular file of
 * at most CONFIG_MAX_BYTES of text is read: a directory, a device (/dev/zero), a FIFO, NUL
 * bytes or other control characters are refused with the line they are on. Every error names
 * FILE:LINE. */
#define CONFIG_MAX_BYTES (1 << 20)
static int load_config(const arg_spec *specs, int n, const char *cmd, const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);   /* a FIFO must not block */
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "nnclr %s: --config %s: %s\n", cmd, path, strerror(errno));
        if (fd >= 0) close(fd);
        return ARGS_USAGE;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "nnclr %s: --config %s: not a regular file\n", cmd, path);
        close(fd);
        return ARGS_USAGE;
    }
    if (st.st_size > CONFIG_MAX_BYTES) {
        fprintf(stderr, "nnclr %s: --config %s: %lld bytes; a config file is at most %d\n", cmd, path,
                (long long)st.st_size, CONFIG_MAX_BYTES);
        close(fd);
        return ARGS_USAGE;
    }
    /* Read up to the cap + 1 whatever the size said (a file may grow while read). */
    char *text = malloc(CONFIG_MAX_BYTES + 2);
    size_t len = 0;
    ssize_t r = 0;
    while (text && len <= CONFIG_MAX_BYTES && (r = read(fd, text + len, CONFIG_MAX_BYTES + 1 - len)) > 0) len += (size_t)r;
    close(fd);
    if (!text || r < 0 || len > CONFIG_MAX_BYTES) {
        fprintf(stderr, "nnclr %s: --config %s: %s\n", cmd, path,
                !text ? "out of memory" : r < 0 ? strerror(errno) : "larger than 1 MiB");
        free(text);
        return ARGS_USAGE;
    }
    text[len] = 0;
    int lineno = 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '\n') lineno++;
        else if (ch < 0x20 && ch != '\t' && ch != '\r') {
            fprintf(stderr, "nnclr %s: %s:%d: not text (byte 0x%02x); a config file holds 'key = value' lines\n", cmd,
                    path, lineno, ch);
            free(text);
            return ARGS_USAGE;
        }
    }
    int rc = 0;
    lineno = 0;
    for (char *line = text, *next; !rc && line && *line; line = next) {
        lineno++;
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl) *nl = 0;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        char *e = p + strlen(p);
        while (e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) *--e = 0;
        if (!*p) continue;
        char *eq = strchr(p, '=');
        if (!eq) {
            fprintf(stderr, "nnclr %s: %s:%d: expected 'key = value'\n", cmd, path, lineno);
            rc = ARGS_USAGE;
            break;
        }
        char *k_end = eq;
        while (k_end > p && (k_end[-1] == ' ' || k_end[-1] == '\t')) k_end--;
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t') v++;
        const arg_spec *s = find(specs, n, p, (size_t)(k_end - p));
        if (!s || !strcmp(s->name, "config")) {
            int kl = (int)(k_end - p) > 80 ? 80 : (int)(k_end - p);
            fprintf(stderr, "nnclr %s: %s:%d: unknown key '%.*s%s'\n", cmd, path, lineno, kl, p,
                    (int)(k_end - p) > 80 ? "..." : "");
            rc = ARGS_USAGE;
            break;
        }
        char *val = s->type == ARG_STR ? keep_value(v) : v;
        if (!val) {
            fprintf(stderr, "nnclr %s: out of memory\n", cmd);
            rc = ARGS_USAGE;
            break;
        }
        char where[4200];
        snprintf(where, sizeof where, "%s:%d: ", path, lineno);
        rc = set_value_at(s, cmd, val, where);
        if (!rc) note_origin(s, where);
    }
    free(text);
    return rc;
}

int args_parse(const arg_spec *specs, int n, int argc, char **argv, int first, const char *cmd,
               const char *usage, char **pos, int max_pos, int *npos) {
    if (npos) *npos = 0;
    g_specs = specs;
    g_nspecs = n;
    /* First pass: --help and --config (the file is applied before the other flags). */
    for (int i = first; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            args_print_help(specs, n, cmd, usage, stdout);
            return ARGS_HELP;
        }
        if (!strcmp(argv[i], "--config") || !strncmp(argv[i], "--config=", 9)) {
            const char *v = argv[i][8] == '=' ? argv[i] + 9 : (i + 1 < argc ? argv[i + 1] : NULL);
            if (!v) {
                fprintf(stderr, "nnclr %s: --config needs a value\n", cmd);
                return ARGS_USAGE;
            }
            const arg_spec *s = find(specs, n, "config", 6);
            if (s) *(const char **)s->ptr = v;
            int rc = load_config(specs, n, cmd, v);
            if (rc) return rc;
        }
    }
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            if (!pos || !npos || *npos >= max_pos) {
                fprintf(stderr, "nnclr %s: unexpected argument '%s'\n", cmd, a);
                return ARGS_USAGE;
            }
            pos[(*npos)++] = argv[i];
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const arg_spec *s = find(specs, n, name, len);
        int negated = 0;
        if (!s && len > 3 && !strncmp(name, "no-", 3)) {
            s = find(specs, n, name + 3, len - 3);
            if (s && s->type == ARG_BOOL) negated = 1;
            else s = NULL;
        }
        if (!s) {
            fprintf(stderr, "nnclr %s: unknown flag '--%.*s' (see nnclr %s --help)\n", cmd, (int)len, name, cmd);
            return ARGS_USAGE;
        }
        if (!strcmp(s->name, "config")) { if (!eq) i++; continue; }
        if (s->type == ARG_BOOL && !eq) {
            *(int *)s->ptr = !negated;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) {
            fprintf(stderr, "nnclr %s: --%s needs a value\n", cmd, s->name);
            return ARGS_USAGE;
        }
        int rc = set_value(s, cmd, v);
        if (rc) return rc;
    }
    return ARGS_OK;
}

const char *args_peek(int argc, char **argv, int first, const char *name) {
    size_t len = strlen(name);
    const char *v = NULL;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, len) != 0) continue;
        if (a[2 + len] == '=') v = a + 3 + len;
        else if (a[2 + len] == 0 && i + 1 < argc) v = argv[++i];
    }
    return v;
}

static void print_value(const arg_spec *s, FILE *out) {
    switch (s->type) {
    case ARG_INT: fprintf(out, "%d", *(int *)s->ptr); break;
    case ARG_BOOL: fprintf(out, "%s", *(int *)s->ptr ? "true" : "false"); break;
    case ARG_FLOAT: fprintf(out, "%.9g", *(double *)s->ptr); break;
    case ARG_U64: fprintf(out, "%llu", (unsigned long long)*(uint64_t *)s->ptr); break;
    case ARG_STR: fprintf(out, "%s", *(const char **)s->ptr ? *(const char **)s->ptr : ""); break;
    }
}

void args_print_help(const arg_spec *specs, int n, const char *cmd, const char *usage, FILE *out) {
    fprintf(out, "usage: nnclr %s %s\n\nflags (default in brackets):\n", cmd, usage);
    for (int i = 0; i < n; i++) {
        const arg_spec *s = &specs[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s", s->name, s->type == ARG_BOOL ? "" : " V");
        fprintf(out, "  %-24s %s [", left, s->help);
        print_value(s, out);
        fprintf(out, "]");
        if (s->choices) fprintf(out, " {%s}", s->choices);
        fprintf(out, "\n");
    }
}

void args_dump(const arg_spec *specs, int n, FILE *out) {
    for (int i = 0; i < n; i++) {
        if (!strcmp(specs[i].name, "config") || !strcmp(specs[i].name, "resume")) continue;
        fprintf(out, "%s = ", specs[i].name);
        print_value(&specs[i], out);
        fprintf(out, "\n");
    }
}
