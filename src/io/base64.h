/* base64.h - RFC 4648 base64 (with padding), for pictures inlined as data: URIs in the SVG map
 * and the HTML report. */
#ifndef NNCLR_IO_BASE64_H
#define NNCLR_IO_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters base64_encode writes for n bytes, without the terminating NUL. */
size_t base64_length(size_t n);
/* out: base64_length(n) + 1 bytes; NUL-terminated. */
void base64_encode(const uint8_t *data, size_t n, char *out);

#endif
