/* Unit tests for the logger (common/log.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Run one log call into a temporary file and return what it wrote (caller frees). A file, not
 * open_memstream: gcc 12 at -O3 reports the stream's pointer to a local as dangling. */
static char *capture(fw_log_level_t level, const char *comp, const char *msg) {
        FILE *f = tmpfile();
        assert_non_null(f);
        fw_log_set_stream(f);
        fw_log(level, comp, "%s", msg);
        fw_log_set_stream(NULL);
        long len = ftell(f);
        assert_true(len >= 0);
        char *out = calloc(1, (size_t)len + 1);
        assert_non_null(out);
        rewind(f);
        assert_int_equal(fread(out, 1, (size_t)len, f), (size_t)len);
        fclose(f);
        return out;
}

static void test_level_parse(void **state) {
        (void)state;
        fw_log_level_t l;
        assert_int_equal(fw_log_level_parse("debug", &l), 0);
        assert_int_equal(l, FW_LOG_DEBUG);
        assert_int_equal(fw_log_level_parse("WARN", &l), 0);
        assert_int_equal(l, FW_LOG_WARN);
        assert_int_equal(fw_log_level_parse("warning", &l), 0);
        assert_int_equal(l, FW_LOG_WARN);
        assert_int_equal(fw_log_level_parse("error", &l), 0);
        assert_int_equal(l, FW_LOG_ERROR);
        assert_int_equal(fw_log_level_parse("loud", &l), -1);
        assert_int_equal(fw_log_level_parse("", &l), -1);
}

static void test_format_one_line(void **state) {
        (void)state;
        fw_log_set_level(FW_LOG_INFO);
        char *out = capture(FW_LOG_WARN, "producer", "poll failed: \"503\"\nretrying\x01");
        /* exactly one line */
        assert_non_null(out);
        assert_int_equal(strchr(out, '\n') - out, (long)strlen(out) - 1);
        assert_true(strncmp(out, "ts=", 3) == 0);
        assert_non_null(strstr(out, "Z level=warn comp=producer "));
        assert_non_null(strstr(out, "msg=\"poll failed: \\\"503\\\"\\nretrying\\x01\"\n"));
        free(out);
}

static void test_level_filter(void **state) {
        (void)state;
        fw_log_set_level(FW_LOG_WARN);
        assert_false(fw_log_enabled(FW_LOG_INFO));
        assert_true(fw_log_enabled(FW_LOG_ERROR));
        char *out = capture(FW_LOG_INFO, "x", "hidden");
        assert_true(out == NULL || out[0] == '\0');
        free(out);
        out = capture(FW_LOG_ERROR, "x", "shown");
        assert_non_null(strstr(out, "level=error comp=x msg=\"shown\""));
        free(out);
        fw_log_set_level(FW_LOG_INFO);
}

static void test_long_message_truncated_not_overflowed(void **state) {
        (void)state;
        char big[5000];
        memset(big, '"', sizeof(big) - 1); /* every byte doubles when escaped */
        big[sizeof(big) - 1] = '\0';
        char *out = capture(FW_LOG_ERROR, "x", big);
        assert_non_null(out);
        size_t n = strlen(out);
        assert_true(n > 2000 && n < 4500);
        assert_true(out[n - 1] == '\n' && out[n - 2] == '"');
        free(out);
}

/* Issue 15: times in logs are ISO 8601 UTC, not epoch seconds. */
static void test_iso_time(void **state) {
        (void)state;
        char buf[FW_LOG_TIME_MAX];
        assert_string_equal(fw_log_time(1716026400, buf, sizeof(buf)), "2024-05-18T10:00:00Z");
        assert_string_equal(fw_log_time(0, buf, sizeof(buf)), "1970-01-01T00:00:00Z");
        assert_string_equal(fw_log_time(-1, buf, sizeof(buf)), "1969-12-31T23:59:59Z");
        assert_string_equal(fw_log_time(951782400, buf, sizeof(buf)), "2000-02-29T00:00:00Z");
        assert_string_equal(fw_log_time(4102444799, buf, sizeof(buf)), "2099-12-31T23:59:59Z");
        assert_string_equal(fw_log_time_ms(1716026405123, buf, sizeof(buf)),
                            "2024-05-18T10:00:05.123Z");
        assert_string_equal(fw_log_time_ms(1716026405000, buf, sizeof(buf)),
                            "2024-05-18T10:00:05Z");
        assert_string_equal(FW_ISO_TIME(1716026400), "2024-05-18T10:00:00Z");
        /* truncated, never overflowed */
        char small[8];
        assert_string_equal(fw_log_time(1716026400, small, sizeof(small)), "2024-05");
}

/* Issue 15: durations in messages in human units, not "21154ms". */
static void test_duration(void **state) {
        (void)state;
        static const struct {
                int64_t ms;
                const char *want;
        } cases[] = {
                {0, "0 ms"},       {850, "850 ms"},       {1000, "1 s"},
                {1500, "1.5 s"},   {9949, "9.9 s"},       {9950, "10 s"},
                {21154, "21 s"},   {59499, "59 s"},       {59500, "1 min"},
                {60000, "1 min"},  {90000, "1 min 30 s"}, {300000, "5 min"},
                {3599600, "1 h"},  {3600000, "1 h"},      {3900000, "1 h 5 min"},
                {7200000, "2 h"},  {86400000, "1 d"},     {97200000, "1 d 3 h"},
                {-2500, "-2.5 s"}, {-60000, "-1 min"},
        };
        char buf[FW_LOG_TIME_MAX];
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                fw_log_duration(cases[i].ms, buf, sizeof(buf));
                if (strcmp(buf, cases[i].want) != 0)
                        fail_msg("duration %lld: got '%s', want '%s'", (long long)cases[i].ms, buf,
                                 cases[i].want);
        }
        assert_string_equal(FW_DURATION(INT64_MIN), "-106751991167 d 7 h");
}

/* Issue 15: the producer logged nothing while publishing thousands of sessions; a progress line
 * comes at most every 30 s, and only while the count moves. */
static void test_progress_due(void **state) {
        (void)state;
        fw_progress_t pr = {1000, 0};
        double rate = -1;
        assert_false(fw_progress_due(&pr, 1000, 0, FW_PROGRESS_INTERVAL_MS, &rate));
        assert_false(
                fw_progress_due(&pr, 30999, 500, FW_PROGRESS_INTERVAL_MS, &rate)); /* 29.999 s */
        assert_true(rate == -1);
        assert_true(fw_progress_due(&pr, 31000, 600, FW_PROGRESS_INTERVAL_MS, &rate));
        assert_true(rate == 20); /* 600 in 30 s */
        assert_false(fw_progress_due(&pr, 32000, 700, FW_PROGRESS_INTERVAL_MS, &rate));
        /* idle: nothing published, no line however long */
        assert_false(fw_progress_due(&pr, 400000, 600, FW_PROGRESS_INTERVAL_MS, &rate));
        assert_true(fw_progress_due(&pr, 401000, 1340, FW_PROGRESS_INTERVAL_MS, &rate));
        assert_true(rate == 2); /* 740 over 370 s */
        /* a clock going back never divides by zero */
        assert_false(fw_progress_due(&pr, 0, 9999, FW_PROGRESS_INTERVAL_MS, &rate));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_level_parse),
                cmocka_unit_test(test_format_one_line),
                cmocka_unit_test(test_level_filter),
                cmocka_unit_test(test_long_message_truncated_not_overflowed),
                cmocka_unit_test(test_iso_time),
                cmocka_unit_test(test_duration),
                cmocka_unit_test(test_progress_due),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
