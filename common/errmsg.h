/* errmsg: error messages written into a caller's buffer (the err, errlen pair of every
 * function that can fail). */
#ifndef FW_ERRMSG_H
#define FW_ERRMSG_H

#include <stddef.h>

/* Format a message into err (nothing if err is NULL or errlen 0); returns code, so that
 * `return fw_errf(err, errlen, -1, "...", ...);` reports and fails in one line. */
int fw_errf(char *err, size_t errlen, int code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

#endif
