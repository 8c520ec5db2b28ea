/* suggest: the edit distance behind "did you mean '...'?" in configuration and expression
 * errors. */
#ifndef FW_SUGGEST_H
#define FW_SUGGEST_H

#include <stddef.h>

/* Case-insensitive edit distance of a (an bytes) and b (bn bytes), a swap of neighbours counting
 * as one edit (optimal string alignment). SIZE_MAX when either is longer than 64 bytes. */
size_t fw_edit_distance(const char *a, size_t an, const char *b, size_t bn);

#endif
