/* args.h - long-flag parsing for the nnclr command line: a table of flags with types, defaults
 * (the values the pointers hold before parsing), ranges and help; `--config FILE` with
 * `key = value` lines (keys equal to the flags); flags given on the command line override the
 * file. Usage errors print one line and give exit code 2. */
#ifndef NNCLR_CLI_ARGS_H
#define NNCLR_CLI_ARGS_H

#include <stdint.h>
#include <stdio.h>

typedef enum { ARG_INT, ARG_FLOAT, ARG_STR, ARG_BOOL, ARG_U64 } arg_type;

typedef struct {
    const char *name;    /* without the leading "--" */
    arg_type type;
    void *ptr;           /* int*, double*, const char**, int* (bool), uint64_t* */
    const char *help;
    double min, max;     /* inclusive range for numbers (ignored when min > max) */
    const char *choices; /* "a|b|c" for strings, or NULL */
} arg_spec;

#define ARGS_OK 0
#define ARGS_HELP 1   /* --help was printed: exit 0 */
#define ARGS_USAGE 2  /* a usage error was printed: exit 2 */

/* Parses argv[first..argc) against specs. Positional arguments are collected into pos (up to
 * max_pos, *npos set). */
int args_parse(const arg_spec *specs, int n, int argc, char **argv, int first, const char *cmd,
               const char *usage, char **pos, int max_pos, int *npos);
/* The value of --name in argv[first..argc), written "--name V" or "--name=V" (the last one
 * wins), or NULL. For the flags read before the full parse (--preset, --resume), which choose
 * the defaults that the other flags override. */
const char *args_peek(int argc, char **argv, int first, const char *name);
/* msg with "(--flag from FILE:LINE)" appended for each flag it names whose value came from a
 * config file, so that errors found after parsing (ranges between flags) point into the file. */
void args_annotate(const char *msg, char *out, size_t size);
void args_print_help(const arg_spec *specs, int n, const char *cmd, const char *usage, FILE *out);
/* Writes the resolved configuration as `key = value` lines. */
void args_dump(const arg_spec *specs, int n, FILE *out);

#endif
