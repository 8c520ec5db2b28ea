#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

static fw_log_level_t log_level = FW_LOG_INFO;
static FILE *log_stream;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int fw_log_level_parse(const char *name, fw_log_level_t *level) {
        for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
                if (strcasecmp(name, level_names[i]) == 0) {
                        *level = (fw_log_level_t)i;
                        return 0;
                }
        }
        if (strcasecmp(name, "warning") == 0) {
                *level = FW_LOG_WARN;
                return 0;
        }
        return -1;
}

void fw_log_set_level(fw_log_level_t level) {
        log_level = level;
}

void fw_log_set_stream(FILE *stream) {
        log_stream = stream;
}

int fw_log_enabled(fw_log_level_t level) {
        return level >= log_level;
}

void fw_log(fw_log_level_t level, const char *comp, const char *fmt, ...) {
        if (!fw_log_enabled(level))
                return;
        char msg[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        /* Escape so that one event is always exactly one line. */
        char esc[sizeof(msg) * 2];
        size_t o = 0;
        for (const unsigned char *p = (const unsigned char *)msg; *p && o + 5 < sizeof(esc); p++) {
                if (*p == '"' || *p == '\\') {
                        esc[o++] = '\\';
                        esc[o++] = (char)*p;
                } else if (*p == '\n') {
                        esc[o++] = '\\';
                        esc[o++] = 'n';
                } else if (*p < 0x20 || *p == 0x7f) {
                        o += (size_t)snprintf(esc + o, sizeof(esc) - o, "\\x%02x", *p);
                } else {
                        esc[o++] = (char)*p;
                }
        }
        esc[o] = '\0';

        struct timeval tv;
        gettimeofday(&tv, NULL);
        struct tm tm;
        gmtime_r(&tv.tv_sec, &tm);
        char ts[32];
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

        FILE *out = log_stream ? log_stream : stderr;
        fprintf(out, "ts=%s.%03ldZ level=%s comp=%s msg=\"%s\"\n", ts, (long)(tv.tv_usec / 1000),
                level_names[level], comp ? comp : "-", esc);
        fflush(out);
}
