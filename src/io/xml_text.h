/* xml_text.h - text written into SVG and HTML output with &, <, >, " escaped and control
 * characters (other than tab and newline) dropped, so a run name or class name can never break
 * the markup. */
#ifndef NNCLR_IO_XML_TEXT_H
#define NNCLR_IO_XML_TEXT_H

#include "io/atomic_file.h"

nnclr_status xml_write_text(atomic_file *af, const char *s);
/* At most n bytes of s (s need not be NUL-terminated within them). */
nnclr_status xml_write_text_n(atomic_file *af, const char *s, size_t n);

#endif
