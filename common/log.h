/* log: one line per event, key=value, to stderr (or a chosen stream).
 *
 * Lines look like:
 *   ts=2026-11-27T03:20:00.123Z level=warn comp=producer msg="poll failed" cause="HTTP 503"
 * The level is the only process-wide state and is set once from configuration.
 * Callers never pass secrets here; config values flagged secret are redacted by config.c. */
#ifndef FW_LOG_H
#define FW_LOG_H

#include <stdio.h>

typedef enum {
        FW_LOG_DEBUG = 0,
        FW_LOG_INFO = 1,
        FW_LOG_WARN = 2,
        FW_LOG_ERROR = 3,
} fw_log_level_t;

/* Parse "debug", "info", "warn" or "error"; returns 0 and sets *level, or -1. */
int fw_log_level_parse(const char *name, fw_log_level_t *level);

/* Set the minimum level written (default info). */
void fw_log_set_level(fw_log_level_t level);

/* Redirect output (default stderr); NULL restores stderr. Used by tests. */
void fw_log_set_stream(FILE *stream);

/* True if a message at this level would be written. */
int fw_log_enabled(fw_log_level_t level);

/* Write one line: comp is the component ("producer", "config", ...), msg a printf format
 * whose result becomes the quoted msg= value (quotes and control bytes are escaped). */
void fw_log(fw_log_level_t level, const char *comp, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#define fw_debug(comp, ...) fw_log(FW_LOG_DEBUG, comp, __VA_ARGS__)
#define fw_info(comp, ...)  fw_log(FW_LOG_INFO, comp, __VA_ARGS__)
#define fw_warn(comp, ...)  fw_log(FW_LOG_WARN, comp, __VA_ARGS__)
#define fw_error(comp, ...) fw_log(FW_LOG_ERROR, comp, __VA_ARGS__)

#endif
