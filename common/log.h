/* log: one line per event, key=value, to stderr (or a chosen stream).
 *
 * Lines look like:
 *   ts=2026-11-27T03:20:00.123Z level=warn comp=producer msg="poll failed" cause="HTTP 503"
 * The level is the only process-wide state and is set once from configuration.
 * Callers never pass secrets here; config values flagged secret are redacted by config.c. */
#ifndef FW_LOG_H
#define FW_LOG_H

#include <stddef.h>
#include <stdint.h>
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

/* Text for times and durations in log lines and messages.
 * fw_log_time: epoch seconds as ISO 8601 UTC, "2024-05-18T10:00:00Z" (what logs print for the
 * producer's cursor and slices; epoch seconds mean nothing to an operator).
 * fw_log_time_ms: the same from epoch milliseconds, with ".123" when they are not whole seconds.
 * fw_log_duration: a duration for a human, "850 ms", "1.5 s", "21 s", "5 min", "4 min 30 s",
 * "2 h", "1 h 5 min", "3 d 4 h" (rounded to the unit shown; negative durations get a '-').
 * Each writes into buf (32 bytes are enough) and returns buf, so a call can be an argument:
 *   fw_info("producer", "position %s", fw_log_time(pos, (char[FW_LOG_TIME_MAX]){0},
 *   FW_LOG_TIME_MAX)); FW_ISO_TIME(s) and FW_DURATION(ms) are that call. */
#define FW_LOG_TIME_MAX 40
char *fw_log_time(int64_t epoch_s, char *buf, size_t buflen);
char *fw_log_time_ms(int64_t epoch_ms, char *buf, size_t buflen);
char *fw_log_duration(int64_t ms, char *buf, size_t buflen);
#define FW_ISO_TIME(s)    fw_log_time((s), (char[FW_LOG_TIME_MAX]){0}, FW_LOG_TIME_MAX)
#define FW_ISO_TIME_MS(t) fw_log_time_ms((t), (char[FW_LOG_TIME_MAX]){0}, FW_LOG_TIME_MAX)
#define FW_DURATION(ms)   fw_log_duration((ms), (char[FW_LOG_TIME_MAX]){0}, FW_LOG_TIME_MAX)

/* Progress lines of long work, at most one per interval (30 s in the daemons) and only while the
 * count moves. fw_progress_due: 1 when now_ms is interval_ms or more after the last line (or
 * the start) and count changed since; it then records the line and sets *rate to the count's
 * change per second since the last line. Start with fw_progress_t pr = {now_ms, count}. */
typedef struct fw_progress {
        int64_t last_ms;
        uint64_t last_count;
} fw_progress_t;
#define FW_PROGRESS_INTERVAL_MS 30000
int fw_progress_due(fw_progress_t *pr, int64_t now_ms, uint64_t count, int64_t interval_ms,
                    double *rate);

#define fw_debug(comp, ...) fw_log(FW_LOG_DEBUG, comp, __VA_ARGS__)
#define fw_info(comp, ...)  fw_log(FW_LOG_INFO, comp, __VA_ARGS__)
#define fw_warn(comp, ...)  fw_log(FW_LOG_WARN, comp, __VA_ARGS__)
#define fw_error(comp, ...) fw_log(FW_LOG_ERROR, comp, __VA_ARGS__)

#endif
