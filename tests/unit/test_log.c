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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_level_parse),
                cmocka_unit_test(test_format_one_line),
                cmocka_unit_test(test_level_filter),
                cmocka_unit_test(test_long_message_truncated_not_overflowed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
