#include "log.h"
#include "timeutil.h"

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

/* ---- times and durations for messages ---- */

/* Proleptic Gregorian calendar from days since 1970 (H. Hinnant's civil_from_days), so no
 * dependence on gmtime's range or the time zone. */
static void civil(int64_t days, int64_t *y, int *m, int *d) {
        int64_t z = days + 719468;
        int64_t era = fw_floor_div(z, 146097);
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        *d = (int)(doy - (153 * mp + 2) / 5 + 1);
        *m = (int)(mp < 10 ? mp + 3 : mp - 9);
        *y = yoe + era * 400 + (*m <= 2);
}

char *fw_log_time_ms(int64_t epoch_ms, char *buf, size_t buflen) {
        if (buflen == 0)
                return buf;
        if (epoch_ms < -(INT64_C(1) << 53) || epoch_ms > (INT64_C(1) << 53)) {
                snprintf(buf, buflen, "%lld ms", (long long)epoch_ms); /* not a plausible time */
                return buf;
        }
        int64_t days = fw_floor_div(epoch_ms, 86400000);
        int64_t rem = epoch_ms - days * 86400000;
        int64_t y;
        int m, d;
        civil(days, &y, &m, &d);
        int n = snprintf(buf, buflen, "%04lld-%02d-%02dT%02d:%02d:%02d", (long long)y, m, d,
                         (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60));
        if (n > 0 && (size_t)n < buflen)
                snprintf(buf + n, buflen - (size_t)n, rem % 1000 ? ".%03dZ" : "Z",
                         (int)(rem % 1000));
        return buf;
}

char *fw_log_time(int64_t epoch_s, char *buf, size_t buflen) {
        if (epoch_s < -(INT64_C(1) << 43) || epoch_s > (INT64_C(1) << 43)) {
                if (buflen > 0)
                        snprintf(buf, buflen, "%lld s", (long long)epoch_s);
                return buf;
        }
        return fw_log_time_ms(epoch_s * 1000, buf, buflen);
}

/* "<n / per> <big>[ <n % per> <small>]", e.g. "4 min 30 s", "2 h". */
static void two_units(char *buf, size_t buflen, const char *sign, uint64_t n, uint64_t per,
                      const char *big, const char *small) {
        if (n % per)
                snprintf(buf, buflen, "%s%llu %s %llu %s", sign, (unsigned long long)(n / per), big,
                         (unsigned long long)(n % per), small);
        else
                snprintf(buf, buflen, "%s%llu %s", sign, (unsigned long long)(n / per), big);
}

char *fw_log_duration(int64_t ms, char *buf, size_t buflen) {
        if (buflen == 0)
                return buf;
        const char *sign = "";
        uint64_t a = (uint64_t)ms;
        if (ms < 0) {
                sign = "-";
                a = 0 - a;
        }
        if (a < 1000) {
                snprintf(buf, buflen, "%s%llu ms", sign, (unsigned long long)a);
        } else if (a < 9950) { /* one decimal below 10 s: "1.5 s", "2 s" */
                uint64_t t = (a + 50) / 100;
                if (t % 10)
                        snprintf(buf, buflen, "%s%llu.%llu s", sign, (unsigned long long)(t / 10),
                                 (unsigned long long)(t % 10));
                else
                        snprintf(buf, buflen, "%s%llu s", sign, (unsigned long long)(t / 10));
        } else if (a < 59500) {
                snprintf(buf, buflen, "%s%llu s", sign, (unsigned long long)((a + 500) / 1000));
        } else if (a < 3600000 - 500) {
                two_units(buf, buflen, sign, (a + 500) / 1000, 60, "min", "s");
        } else if (a < 86400000 - 30000) {
                two_units(buf, buflen, sign, (a + 30000) / 60000, 60, "h", "min");
        } else {
                two_units(buf, buflen, sign, (a + 1800000) / 3600000, 24, "d", "h");
        }
        return buf;
}

int fw_progress_due(fw_progress_t *pr, int64_t now_ms, uint64_t count, int64_t interval_ms,
                    double *rate) {
        int64_t dt = now_ms - pr->last_ms;
        if (dt < interval_ms || dt <= 0 || count == pr->last_count)
                return 0;
        if (rate)
                *rate = (double)(count - pr->last_count) * 1000.0 / (double)dt;
        pr->last_ms = now_ms;
        pr->last_count = count;
        return 1;
}
