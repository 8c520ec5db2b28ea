/* utf8: validation of UTF-8 text, as JSON (jansson) requires it: no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
#ifndef FW_UTF8_H
#define FW_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if the bytes there are not one. s must be
 * NUL-terminated (a NUL ends any sequence early, so it is never read past). */
size_t fw_utf8_seq(const unsigned char *s);

/* 1 if the NUL-terminated s is valid UTF-8; else 0 with *bad (if not NULL) the offset of the
 * first byte that is not. */
int fw_utf8_valid(const char *s, size_t *bad);

#endif
