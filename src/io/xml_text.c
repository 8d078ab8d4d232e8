/* xml_text.c - see xml_text.h. */
#include "io/xml_text.h"

#include <string.h>

nnclr_status xml_write_text_n(atomic_file *af, const char *s, size_t n) {
    nnclr_status st = NNCLR_OK;
    size_t run = 0;   /* bytes since the last escaped one, written in one go */
    for (size_t i = 0; s && i < n && s[i] && st == NNCLR_OK; i++) {
        unsigned char ch = (unsigned char)s[i];
        const char *rep = ch == '&' ? "&amp;" : ch == '<' ? "&lt;" : ch == '>' ? "&gt;" : ch == '"' ? "&quot;"
                        : ch < 0x20 && ch != '\t' && ch != '\n' ? "" : NULL;
        if (!rep) {
            run++;
            continue;
        }
        if (run) st = atomic_write(af, s + i - run, run);
        run = 0;
        if (st == NNCLR_OK && rep[0]) st = atomic_write(af, rep, strlen(rep));
    }
    if (st == NNCLR_OK && run) {
        size_t end = 0;
        while (end < n && s[end]) end++;
        st = atomic_write(af, s + end - run, run);
    }
    return st;
}

nnclr_status xml_write_text(atomic_file *af, const char *s) { return xml_write_text_n(af, s, s ? strlen(s) : 0); }
