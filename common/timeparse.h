/* timeparse: command-line times: epoch seconds ("1716026400") or UTC ISO 8601
 * ("2024-05-18T10:00:00Z", "2024-05-18T10:00Z", "2024-05-18"). */
#ifndef FW_TIMEPARSE_H
#define FW_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>

/* 0 and *epoch_s set, or -1 with err naming the text. */
int fw_time_parse(const char *s, int64_t *epoch_s, char *err, size_t errlen);

#endif
