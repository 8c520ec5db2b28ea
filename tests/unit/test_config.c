/* Unit tests for common/config.c: INI loading, types, environment, secrets, output.
 * Fixture files live in $FW_TEST_DATA/config/ (FW_TEST_DATA is set by ctest).
 * cmocka.h needs the four headers before it, in this order. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"

#define SECRET "hunter2-s3cr3t"

static const fw_conf_def_t defs[] = {
        {"arkime.url", FW_CT_STRING, NULL, 0, 0, NULL, FW_CF_REQUIRED, "Arkime viewer URL"},
        {"arkime.user", FW_CT_STRING, "fanwatch", 0, 0, NULL, 0, "Arkime user"},
        {"arkime.password", FW_CT_STRING, NULL, 0, 0, NULL, FW_CF_SECRET, "Arkime password"},
        {"arkime.expression", FW_CT_STRING, "", 0, 0, NULL, 0, "Extra | Arkime expression"},
        {"arkime.safety_lag", FW_CT_DURATION, "30s", 0, 3600000, NULL, 0, "Query lag"},
        {"arkime.page-size", FW_CT_INT, "1000", 1, 10000, NULL, 0, "Sessions per page"},
        {"arkime.verify_tls", FW_CT_BOOL, "true", 0, 0, NULL, 0, "Verify certificates"},
        {"arkime.start", FW_CT_ENUM, "last", 0, 0, "first|last|database", 0, "Start position"},
        {"detector.window", FW_CT_DURATION, "5m", 1000, 86400000, NULL, 0, "Window"},
        {"detector.fanout", FW_CT_INT, "20", 1, 100000, NULL, 0, "Fan-out threshold"},
        {"detector.offset", FW_CT_INT, NULL, 0, 0, NULL, 0, "Unbounded integer"},
        {"detector.pin", FW_CT_INT, NULL, 1, 100, NULL, FW_CF_SECRET, "Secret number"},
        {"log.level", FW_CT_ENUM, "info", 0, 0, "debug|info|warn|error", 0, "Log level"},
        {"metrics.address", FW_CT_ADDRESS, "127.0.0.1", 0, 0, NULL, 0, "Listen address"},
        {"alert.viewer_url", FW_CT_URL, "", 0, 0, NULL, 0, "Viewer for links"},
        {"topics.sessions", FW_CT_STRING, "arkime-sessions", 0, 0, NULL, FW_CF_NONEMPTY, "Topic"},
        {"detector.share", FW_CT_FLOAT, "0.8", 0, 0, "[0,1]", 0, "A share"},
        {"detector.alpha", FW_CT_FLOAT, "0.1", 0, 0, "(0,1]", 0, "A weight"},
        {"detector.factor", FW_CT_FLOAT, "2", 0, 0, "(1,inf)", 0, "A factor"},
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

/* ---- helpers ---- */

static fw_conf_t *new_conf(void) {
        fw_conf_t *conf = fw_conf_new(defs, NDEFS);
        assert_non_null(conf);
        return conf;
}

/* Path of a fixture under $FW_TEST_DATA/config. */
static const char *data_path(const char *name) {
        static char buf[4096];
        const char *dir = getenv("FW_TEST_DATA");
        if (!dir) {
                fprintf(stderr, "FW_TEST_DATA is not set (run through ctest)\n");
                fail();
        }
        snprintf(buf, sizeof(buf), "%s/config/%s", dir, name);
        return buf;
}

/* Write text to a new temporary file with the given mode; the path goes into path[64]. */
static void write_temp(char *path, const char *text, mode_t mode) {
        snprintf(path, 64, "/tmp/fw_test_config_XXXXXX");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(fchmod(fd, mode), 0);
        size_t n = strlen(text);
        assert_int_equal(write(fd, text, n), (ssize_t)n);
        close(fd);
}

/* Load a fixture expecting failure; err gets the message. */
static void load_fail(fw_conf_t *conf, const char *path, char *err, size_t errlen) {
        err[0] = '\0';
        assert_int_equal(fw_conf_load_file(conf, path, err, errlen), -1);
        assert_true(err[0] != '\0');
}

/* Set expecting failure, and compare the full message. */
static void set_fail(fw_conf_t *conf, const char *key, const char *value, const char *expect) {
        char err[512] = "";
        assert_int_equal(fw_conf_set(conf, key, value, "test", err, sizeof(err)), -1);
        assert_string_equal(err, expect);
}

static void set_ok(fw_conf_t *conf, const char *key, const char *value) {
        char err[512] = "";
        int rc = fw_conf_set(conf, key, value, "test", err, sizeof(err));
        if (rc != 0)
                fprintf(stderr, "unexpected error: %s\n", err);
        assert_int_equal(rc, 0);
}

/* fw_conf_dump into a malloc'd string. */
static char *dump(const fw_conf_t *conf) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_non_null(f);
        fw_conf_dump(conf, f);
        fclose(f);
        return buf;
}

/* ---- defaults and getters ---- */

static void test_defaults(void **state) {
        (void)state;
        fw_conf_t *conf = new_conf();
        assert_null(fw_conf_str(conf, "arkime.url"));
        assert_null(fw_conf_str(conf, "arkime.password"));
        assert_string_equal(fw_conf_str(conf, "arkime.user"), "fanwatch");
        assert_string_equal(fw_conf_str(conf, "arkime.expression"), "");
        assert_int_equal(fw_conf_duration_ms(conf, "arkime.safety_lag"), 30000);
        assert_int_equal(fw_conf_int(conf, "arkime.page-size"), 1000);
        assert_int_equal(fw_conf_int(conf, "detector.offset"), 0);
        assert_int_equal(fw_conf_bool(conf, "arkime.verify_tls"), 1);
        assert_string_equal(fw_conf_str(conf, "arkime.start"), "last");
        assert_int_equal(fw_conf_duration_ms(conf, "detector.window"), 300000);
        assert_string_equal(fw_conf_origin(conf, "arkime.user"), "default");
        assert_string_equal(fw_conf_origin(conf, "arkime.url"), "default");
        assert_null(fw_conf_str(conf, "kafka.bootstrap.servers"));
        assert_string_equal(fw_conf_origin(conf, "kafka.bootstrap.servers"), "default");
        fw_conf_free(conf);
        fw_conf_free(NULL);
}

/* Run fn in a child process and check that it aborts. */
static void expect_abort(void (*fn)(const fw_conf_t *), const fw_conf_t *conf) {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                FILE *null = freopen("/dev/null", "w", stderr);
                (void)null;
                fn(conf);
                _exit(0);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void get_unknown(const fw_conf_t *conf) {
        (void)fw_conf_str(conf, "arkime.nope");
}

static void get_wrong_type(const fw_conf_t *conf) {
        (void)fw_conf_int(conf, "detector.window");
}

static void get_str_of_int(const fw_conf_t *conf) {
        (void)fw_conf_str(conf, "detector.fanout");
}

static void get_bool_of_enum(const fw_conf_t *conf) {
        (void)fw_conf_bool(conf, "log.level");
}

static void test_getter_misuse_aborts(void **state) {
        (void)state;
        fw_conf_t *conf = new_conf();
        expect_abort(get_unknown, conf);
        expect_abort(get_wrong_type, conf);
        expect_abort(get_str_of_int, conf);
        expect_abort(get_bool_of_enum, conf);
        fw_conf_free(conf);
}

/* ---- files ---- */

static void test_load_good_file(void **state) {
        (void)state;
        char err[512] = "", origin[4200];
        fw_conf_t *conf = new_conf();
        const char *path = data_path("good.ini");
        int rc = fw_conf_load_file(conf, path, err, sizeof(err));
        if (rc != 0)
                fprintf(stderr, "%s\n", err);
        assert_int_equal(rc, 0);

        assert_string_equal(fw_conf_str(conf, "log.level"), "debug");
        assert_int_equal(fw_conf_int(conf, "detector.fanout"), 42);
        assert_string_equal(fw_conf_str(conf, "arkime.url"), "https://arkime.example:8005");
        assert_string_equal(fw_conf_str(conf, "arkime.user"), "analyst");
        assert_string_equal(fw_conf_str(conf, "arkime.expression"),
                            "ip.src == 10.0.0.0/8 && port.dst == [445, 135] && protocols == smb");
        assert_int_equal(fw_conf_duration_ms(conf, "arkime.safety_lag"), 120000);
        assert_int_equal(fw_conf_int(conf, "arkime.page-size"), 500);
        assert_int_equal(fw_conf_bool(conf, "arkime.verify_tls"), 0);
        assert_string_equal(fw_conf_str(conf, "arkime.start"), "database");
        assert_int_equal(fw_conf_duration_ms(conf, "detector.window"), 600000);
        assert_string_equal(fw_conf_str(conf, "kafka.bootstrap.servers"), "k3:9092");
        assert_string_equal(fw_conf_str(conf, "kafka.client.id"), "fanwatch-test");

        /* Origins: file and line; a multiline value keeps its first line. */
        snprintf(origin, sizeof(origin), "%s:3", path);
        assert_string_equal(fw_conf_origin(conf, "log.level"), origin);
        snprintf(origin, sizeof(origin), "%s:7", path);
        assert_string_equal(fw_conf_origin(conf, "arkime.url"), origin);
        snprintf(origin, sizeof(origin), "%s:9", path);
        assert_string_equal(fw_conf_origin(conf, "arkime.expression"), origin);
        snprintf(origin, sizeof(origin), "%s:21", path);
        assert_string_equal(fw_conf_origin(conf, "kafka.bootstrap.servers"), origin);
        assert_string_equal(fw_conf_origin(conf, "detector.offset"), "default");
        assert_int_equal(fw_conf_validate(conf, err, sizeof(err)), 0);
        fw_conf_free(conf);
}

static void test_missing_file(void **state) {
        (void)state;
        char err[512], expect[4200];
        fw_conf_t *conf = new_conf();
        const char *path = data_path("does-not-exist.ini");
        load_fail(conf, path, err, sizeof(err));
        snprintf(expect, sizeof(expect), "%s: cannot open: No such file or directory", path);
        assert_string_equal(err, expect);
        fw_conf_free(conf);
}

static void test_file_bad_duration(void **state) {
        (void)state;
        char err[512], expect[4200];
        fw_conf_t *conf = new_conf();
        const char *path = data_path("bad_duration.ini");
        load_fail(conf, path, err, sizeof(err));
        snprintf(expect, sizeof(expect),
                 "%s:3: key 'detector.window': expected a duration such as 300s or 5m, got 'abc'",
                 path);
        assert_string_equal(err, expect);
        fw_conf_free(conf);
}

static void test_file_bad_range(void **state) {
        (void)state;
        char err[512], expect[4200];
        fw_conf_t *conf = new_conf();
        const char *path = data_path("bad_range.ini");
        load_fail(conf, path, err, sizeof(err));
        snprintf(expect, sizeof(expect),
                 "%s:4: key 'arkime.page-size': must be between 1 and 10000, got '0'", path);
        assert_string_equal(err, expect);
        assert_int_equal(fw_conf_int(conf, "arkime.page-size"), 1000);
        fw_conf_free(conf);
}

static void test_file_unknown_key(void **state) {
        (void)state;
        char err[512], expect[4200], path[64];
        fw_conf_t *conf = new_conf();
        const char *fixture = data_path("unknown_key.ini");
        load_fail(conf, fixture, err, sizeof(err));
        snprintf(expect, sizeof(expect),
                 "%s:3: key 'detector.windwo': unknown key (did you mean 'detector.window'?)",
                 fixture);
        assert_string_equal(err, expect);

        /* Nothing close: no suggestion. */
        write_temp(path, "[frobnicator]\nlevel = 3\n", 0600);
        load_fail(conf, path, err, sizeof(err));
        snprintf(expect, sizeof(expect), "%s:2: key 'frobnicator.level': unknown key", path);
        assert_string_equal(err, expect);
        unlink(path);
        fw_conf_free(conf);
}

static void test_file_syntax_error(void **state) {
        (void)state;
        char err[512], expect[4200];
        fw_conf_t *conf = new_conf();
        const char *path = data_path("syntax.ini");
        load_fail(conf, path, err, sizeof(err));
        snprintf(expect, sizeof(expect),
                 "%s:3: syntax error (expected 'key = value' or '[section]')", path);
        assert_string_equal(err, expect);
        /* Lines before the error are applied, lines after it are not. */
        assert_int_equal(fw_conf_int(conf, "detector.fanout"), 7);
        assert_int_equal(fw_conf_duration_ms(conf, "detector.window"), 300000);
        fw_conf_free(conf);
}

static void test_file_first_error_wins(void **state) {
        (void)state;
        char err[512], expect[4200];
        fw_conf_t *conf = new_conf();
        const char *path = data_path("error_order.ini");
        load_fail(conf, path, err, sizeof(err));
        snprintf(expect, sizeof(expect),
                 "%s:2: key 'detector.fanout': expected an integer, got 'many'", path);
        assert_string_equal(err, expect);
        fw_conf_free(conf);
}

static void test_file_long_line(void **state) {
        (void)state;
        char err[512], expect[4200], path[64], text[512];
        fw_conf_t *conf = new_conf();
        const char *fixture = data_path("long_line.ini");
        load_fail(conf, fixture, err, sizeof(err));
        snprintf(expect, sizeof(expect), "%s:3: line longer than 199 bytes", fixture);
        assert_string_equal(err, expect);
        assert_string_equal(fw_conf_str(conf, "arkime.user"), "fanwatch");

        /* 199 bytes including the newline is the longest line accepted. */
        const char *prefix = "arkime.user = ";
        size_t fill = 198 - strlen(prefix);
        snprintf(text, sizeof(text), "%s%.*s\nlog.level = warn\n", prefix, (int)fill,
                 "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"
                 "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"
                 "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu");
        write_temp(path, text, 0600);
        assert_int_equal(fw_conf_load_file(conf, path, err, sizeof(err)), 0);
        assert_int_equal(strlen(fw_conf_str(conf, "arkime.user")), fill);
        assert_string_equal(fw_conf_str(conf, "log.level"), "warn");
        unlink(path);

        /* One byte more is refused. */
        snprintf(text, sizeof(text), "%s%.*sv\n", prefix, (int)fill,
                 "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"
                 "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"
                 "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu");
        write_temp(path, text, 0600);
        load_fail(conf, path, err, sizeof(err));
        snprintf(expect, sizeof(expect), "%s:1: line longer than 199 bytes", path);
        assert_string_equal(err, expect);
        unlink(path);
        fw_conf_free(conf);
}

static void test_file_multiline(void **state) {
        (void)state;
        char err[512], expect[4200], path[64];
        fw_conf_t *conf = new_conf();

        /* A continued value is checked as a whole and reported at the key's first line. */
        const char *fixture = data_path("bad_enum_multiline.ini");
        load_fail(conf, fixture, err, sizeof(err));
        snprintf(expect, sizeof(expect),
                 "%s:2: key 'arkime.start': expected one of first|last|database, got 'first last'",
                 fixture);
        assert_string_equal(err, expect);

        /* Comment lines and blank lines inside, and an indented key after a section header is
         * a new key, not a continuation (a repeated key is an error: test_load_cases). */
        write_temp(path,
                   "[arkime]\n"
                   "expression = a\n"
                   "  ; an indented comment\n"
                   "\n"
                   "  b\n"
                   "\tc\n"
                   "user = one\n"
                   "[arkime]\n"
                   "  start = first\n",
                   0600);
        assert_int_equal(fw_conf_load_file(conf, path, err, sizeof(err)), 0);
        assert_string_equal(fw_conf_str(conf, "arkime.expression"), "a b c");
        assert_string_equal(fw_conf_str(conf, "arkime.user"), "one");
        assert_string_equal(fw_conf_str(conf, "arkime.start"), "first");
        snprintf(expect, sizeof(expect), "%s:9", path);
        assert_string_equal(fw_conf_origin(conf, "arkime.start"), expect);
        unlink(path);
        fw_conf_free(conf);
}

static void test_file_crlf_and_colon(void **state) {
        (void)state;
        char err[512], path[64];
        fw_conf_t *conf = new_conf();
        write_temp(path, "[detector]\r\nfanout: 9\r\nwindow = 90s\r\n", 0600);
        assert_int_equal(fw_conf_load_file(conf, path, err, sizeof(err)), 0);
        assert_int_equal(fw_conf_int(conf, "detector.fanout"), 9);
        assert_int_equal(fw_conf_duration_ms(conf, "detector.window"), 90000);
        unlink(path);
        fw_conf_free(conf);
}

/* ---- types ---- */

static void test_type_int(void **state) {
        (void)state;
        fw_conf_t *conf = new_conf();
        set_ok(conf, "arkime.page-size", "1");
        assert_int_equal(fw_conf_int(conf, "arkime.page-size"), 1);
        set_ok(conf, "arkime.page-size", "10000");
        assert_int_equal(fw_conf_int(conf, "arkime.page-size"), 10000);
        set_fail(conf, "arkime.page-size", "10001",
                 "test: key 'arkime.page-size': must be between 1 and 10000, got '10001'");
        set_fail(conf, "arkime.page-size", "-5",
                 "test: key 'arkime.page-size': must be between 1 and 10000, got '-5'");
        set_fail(conf, "arkime.page-size", "12abc",
                 "test: key 'arkime.page-size': expected an integer, got '12abc'");
        set_fail(conf, "arkime.page-size", "",
                 "test: key 'arkime.page-size': expected an integer, got ''");
        set_fail(conf, "arkime.page-size", " 12",
                 "test: key 'arkime.page-size': expected an integer, got ' 12'");
        assert_int_equal(fw_conf_int(conf, "arkime.page-size"), 10000);

        /* Unbounded (min == max == 0) takes the full int64 range. */
        set_ok(conf, "detector.offset", "-9223372036854775808");
        assert_true(fw_conf_int(conf, "detector.offset") == INT64_MIN);
        set_ok(conf, "detector.offset", "9223372036854775807");
        assert_true(fw_conf_int(conf, "detector.offset") == INT64_MAX);
        set_fail(conf, "detector.offset", "9223372036854775808",
                 "test: key 'detector.offset': integer out of range, got '9223372036854775808'");
        fw_conf_free(conf);
}

/* FW_CT_FLOAT: a finite number within the interval of the table, bounds open or closed. */
static void test_type_float(void **state) {
        (void)state;
        fw_conf_t *conf = new_conf();
        assert_true(fw_conf_float(conf, "detector.share") == 0.8);
        set_ok(conf, "detector.share", "0");
        assert_true(fw_conf_float(conf, "detector.share") == 0.0);
        set_ok(conf, "detector.share", "1");
        set_ok(conf, "detector.share", "2.5e-1");
        assert_true(fw_conf_float(conf, "detector.share") == 0.25);
        set_fail(conf, "detector.share", "1.0001",
                 "test: key 'detector.share': expected a number from 0 to 1, got '1.0001'");
        set_fail(conf, "detector.share", "nan",
                 "test: key 'detector.share': expected a number from 0 to 1, got 'nan'");
        set_fail(conf, "detector.alpha", "0",
                 "test: key 'detector.alpha': expected a number with 0 < x <= 1, got '0'");
        set_ok(conf, "detector.alpha", "1");
        set_fail(conf, "detector.factor", "1",
                 "test: key 'detector.factor': expected a number > 1, got '1'");
        set_fail(conf, "detector.factor", "inf",
                 "test: key 'detector.factor': expected a number > 1, got 'inf'");
        set_fail(conf, "detector.factor", "3x",
                 "test: key 'detector.factor': expected a number > 1, got '3x'");
        set_ok(conf, "detector.factor", "1e6");
        assert_true(fw_conf_float(conf, "detector.factor") == 1e6);
        assert_true(fw_conf_float(conf, "detector.share") == 0.25); /* failures changed nothing */
        fw_conf_free(conf);
}

static void test_type_bool(void **state) {
        (void)state;
        static const char *const yes[] = {"true", "TRUE", "Yes", "on", "1"};
        static const char *const no[] = {"false", "False", "NO", "off", "0"};
        fw_conf_t *conf = new_conf();
        for (size_t i = 0; i < 5; i++) {
                set_ok(conf, "arkime.verify_tls", no[i]);
                assert_int_equal(fw_conf_bool(conf, "arkime.verify_tls"), 0);
                set_ok(conf, "arkime.verify_tls", yes[i]);
                assert_int_equal(fw_conf_bool(conf, "arkime.verify_tls"), 1);
        }
        set_fail(conf, "arkime.verify_tls", "maybe",
                 "test: key 'arkime.verify_tls': expected true/false, yes/no, on/off or 1/0, got "
                 "'maybe'");
        set_fail(conf, "arkime.verify_tls", "",
                 "test: key 'arkime.verify_tls': expected true/false, yes/no, on/off or 1/0, got "
                 "''");
        fw_conf_free(conf);
}

static void test_type_duration(void **state) {
        (void)state;
        static const struct {
                const char *text;
                int64_t ms;
        } ok[] = {
                {"1500ms", 1500}, {"45", 45000},   {"30s", 30000},
                {"5m", 300000},   {"2h", 7200000}, {"1d", 86400000},
        };
        fw_conf_t *conf = new_conf();
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                set_ok(conf, "detector.window", ok[i].text);
                assert_int_equal(fw_conf_duration_ms(conf, "detector.window"), ok[i].ms);
        }
        set_fail(conf, "detector.window", "abc",
                 "test: key 'detector.window': expected a duration such as 300s or 5m, got 'abc'");
        set_fail(conf, "detector.window", "5 m",
                 "test: key 'detector.window': expected a duration such as 300s or 5m, got '5 m'");
        set_fail(conf, "detector.window", "-5s",
                 "test: key 'detector.window': expected a duration such as 300s or 5m, got '-5s'");
        set_fail(conf, "detector.window", "5w",
                 "test: key 'detector.window': expected a duration such as 300s or 5m, got '5w'");
        set_fail(conf, "detector.window", "",
                 "test: key 'detector.window': expected a duration such as 300s or 5m, got ''");
        set_fail(conf, "detector.window", "999ms",
                 "test: key 'detector.window': must be between 1s and 1d, got '999ms'");
        set_fail(conf, "detector.window", "25h",
                 "test: key 'detector.window': must be between 1s and 1d, got '25h'");
        set_fail(conf, "detector.window", "9223372036854775807s",
                 "test: key 'detector.window': duration out of range, got "
                 "'9223372036854775807s'");
        set_fail(conf, "detector.window", "99999999999999999999",
                 "test: key 'detector.window': duration out of range, got "
                 "'99999999999999999999'");
        set_ok(conf, "arkime.safety_lag", "0");
        assert_int_equal(fw_conf_duration_ms(conf, "arkime.safety_lag"), 0);
        fw_conf_free(conf);
}

static void test_type_enum_and_string(void **state) {
        (void)state;
        fw_conf_t *conf = new_conf();
        set_ok(conf, "arkime.start", "first");
        assert_string_equal(fw_conf_str(conf, "arkime.start"), "first");
        set_fail(conf, "arkime.start", "fir",
                 "test: key 'arkime.start': expected one of first|last|database, got 'fir'");
        set_fail(conf, "arkime.start", "First",
                 "test: key 'arkime.start': expected one of first|last|database, got 'First'");
        set_fail(conf, "arkime.start", "",
                 "test: key 'arkime.start': expected one of first|last|database, got ''");
        set_ok(conf, "arkime.user", "");
        assert_string_equal(fw_conf_str(conf, "arkime.user"), "");
        assert_string_equal(fw_conf_origin(conf, "arkime.user"), "test");
        set_fail(conf, "arkime.usr", "x",
                 "test: key 'arkime.usr': unknown key (did you mean 'arkime.user'?)");
        fw_conf_free(conf);
}

/* ---- kafka passthrough ---- */

struct collect {
        char buf[1024];
        int calls, stop_after;
};

static int collect_prop(const char *prop, const char *value, void *ud) {
        struct collect *c = ud;
        size_t n = strlen(c->buf);
        snprintf(c->buf + n, sizeof(c->buf) - n, "%s=%s;", prop, value);
        c->calls++;
        return c->calls == c->stop_after ? 42 : 0;
}

static void test_kafka_passthrough(void **state) {
        (void)state;
        char err[512], path[64];
        fw_conf_t *conf = new_conf();
        struct collect c = {.buf = "", .calls = 0, .stop_after = 0};

        assert_int_equal(fw_conf_load_file(conf, data_path("good.ini"), err, sizeof(err)), 0);
        /* In the order set (a key given twice in one file is an error: test_load_cases). */
        assert_int_equal(fw_conf_kafka_foreach(conf, collect_prop, &c), 0);
        assert_string_equal(c.buf, "bootstrap.servers=k3:9092;client.id=fanwatch-test;"
                                   "sasl.password=kafka-hunter2;");

        /* A top-level dotted kafka key, any property name, no validation here. */
        write_temp(path, "kafka.linger.ms = not-a-number\nkafka.client.id = again\n", 0600);
        assert_int_equal(fw_conf_load_file(conf, path, err, sizeof(err)), 0);
        unlink(path);
        memset(&c, 0, sizeof(c));
        assert_int_equal(fw_conf_kafka_foreach(conf, collect_prop, &c), 0);
        assert_string_equal(c.buf, "bootstrap.servers=k3:9092;client.id=again;"
                                   "sasl.password=kafka-hunter2;linger.ms=not-a-number;");

        /* The callback's non-zero result stops the walk. */
        memset(&c, 0, sizeof(c));
        c.stop_after = 2;
        assert_int_equal(fw_conf_kafka_foreach(conf, collect_prop, &c), 42);
        assert_int_equal(c.calls, 2);

        set_fail(conf, "kafka.", "x", "test: key 'kafka.': missing kafka property name");
        fw_conf_free(conf);
}

/* ---- environment ---- */

static void test_env_override_and_mapping(void **state) {
        (void)state;
        char err[512];
        fw_conf_t *conf = new_conf();
        char *env[] = {
                "PATH=/usr/bin",
                "FANWATCH_CONFIG=/etc/fanwatch/fanwatch.ini",
                "FANWATCH_ARKIME_SAFETY__LAG=45s",
                "FANWATCH_ARKIME_PAGE___SIZE=250",
                "FANWATCH_DETECTOR_FANOUT=77",
                "FANWATCH_KAFKA_SASL_MECHANISM=SCRAM-SHA-512",
                "FANWATCH_KAFKA_BOOTSTRAP_SERVERS=env:9092",
                "FANWATCH_ARKIME_EXPRESSION= spaced value ",
                "NOT_FANWATCH_DETECTOR_FANOUT=1",
                NULL,
        };

        assert_int_equal(fw_conf_load_file(conf, data_path("good.ini"), err, sizeof(err)), 0);
        int rc = fw_conf_load_env(conf, env, err, sizeof(err));
        if (rc != 0)
                fprintf(stderr, "%s\n", err);
        assert_int_equal(rc, 0);

        assert_int_equal(fw_conf_duration_ms(conf, "arkime.safety_lag"), 45000);
        assert_int_equal(fw_conf_int(conf, "arkime.page-size"), 250);
        assert_int_equal(fw_conf_int(conf, "detector.fanout"), 77);
        assert_string_equal(fw_conf_str(conf, "arkime.expression"), " spaced value ");
        assert_string_equal(fw_conf_str(conf, "kafka.sasl.mechanism"), "SCRAM-SHA-512");
        assert_string_equal(fw_conf_str(conf, "kafka.bootstrap.servers"), "env:9092");
        assert_string_equal(fw_conf_origin(conf, "detector.fanout"), "environment");
        assert_string_equal(fw_conf_origin(conf, "kafka.sasl.mechanism"), "environment");
        assert_string_equal(fw_conf_origin(conf, "kafka.bootstrap.servers"), "environment");
        assert_string_equal(fw_conf_origin(conf, "arkime.user"),
                            strcat(strcpy(err, data_path("good.ini")), ":8"));
        assert_string_equal(fw_conf_origin(conf, "log.level"),
                            strcat(strcpy(err, data_path("good.ini")), ":3"));

        /* Env replaces kafka values in place; new ones go last. */
        struct collect c = {.buf = "", .calls = 0, .stop_after = 0};
        fw_conf_kafka_foreach(conf, collect_prop, &c);
        assert_string_equal(c.buf, "bootstrap.servers=env:9092;client.id=fanwatch-test;"
                                   "sasl.password=kafka-hunter2;sasl.mechanism=SCRAM-SHA-512;");
        fw_conf_free(conf);
}

static void test_env_errors(void **state) {
        (void)state;
        char err[512];
        fw_conf_t *conf = new_conf();
        char *unknown[] = {"FANWATCH_FOO=1", NULL};
        char *suggest[] = {"FANWATCH_DETECTOR_FANOTU=1", NULL};
        char *bad[] = {"FANWATCH_DETECTOR_WINDOW=soon", NULL};
        char *dash[] = {"FANWATCH_ARKIME_PAGE_SIZE=5", NULL};

        assert_int_equal(fw_conf_load_env(conf, unknown, err, sizeof(err)), -1);
        assert_string_equal(err, "environment FANWATCH_FOO: key 'foo': unknown key");
        assert_int_equal(fw_conf_load_env(conf, suggest, err, sizeof(err)), -1);
        assert_string_equal(err, "environment FANWATCH_DETECTOR_FANOTU: key 'detector.fanotu': "
                                 "unknown key (did you mean 'detector.fanout'?)");
        assert_int_equal(fw_conf_load_env(conf, bad, err, sizeof(err)), -1);
        assert_string_equal(err, "environment FANWATCH_DETECTOR_WINDOW: key 'detector.window': "
                                 "expected a duration such as 300s or 5m, got 'soon'");
        /* A single '_' is a '.', so this is arkime.page.size. */
        assert_int_equal(fw_conf_load_env(conf, dash, err, sizeof(err)), -1);
        assert_string_equal(err, "environment FANWATCH_ARKIME_PAGE_SIZE: key 'arkime.page.size': "
                                 "unknown key (did you mean 'arkime.page-size'?)");
        assert_int_equal(fw_conf_load_env(conf, NULL, err, sizeof(err)), 0);
        fw_conf_free(conf);
}

/* ---- secrets ---- */

static void test_secret_file(void **state) {
        (void)state;
        char err[512], expect[512], secret_path[64], ini_path[64], ini[256];
        fw_conf_t *conf = new_conf();

        /* From the INI file, as <key>_file. */
        write_temp(secret_path, SECRET "\n", 0600);
        snprintf(ini, sizeof(ini), "[arkime]\npassword_file = %s\n", secret_path);
        write_temp(ini_path, ini, 0600);
        assert_int_equal(fw_conf_load_file(conf, ini_path, err, sizeof(err)), 0);
        assert_string_equal(fw_conf_str(conf, "arkime.password"), SECRET);
        snprintf(expect, sizeof(expect), "%s:2", ini_path);
        assert_string_equal(fw_conf_origin(conf, "arkime.password"), expect);
        unlink(ini_path);

        /* From the environment, as <KEY>__FILE; CRLF is stripped too. */
        fw_conf_free(conf);
        conf = new_conf();
        unlink(secret_path);
        write_temp(secret_path, SECRET "\r\n", 0400);
        char var[128];
        snprintf(var, sizeof(var), "FANWATCH_ARKIME_PASSWORD__FILE=%s", secret_path);
        char *env[] = {var, NULL};
        assert_int_equal(fw_conf_load_env(conf, env, err, sizeof(err)), 0);
        assert_string_equal(fw_conf_str(conf, "arkime.password"), SECRET);
        assert_string_equal(fw_conf_origin(conf, "arkime.password"), "environment");
        unlink(secret_path);

        /* A file others can read is refused; the error names path and mode, not the secret. */
        write_temp(secret_path, SECRET "\n", 0644);
        assert_int_equal(
                fw_conf_set(conf, "arkime.password_file", secret_path, "test", err, sizeof(err)),
                -1);
        snprintf(expect, sizeof(expect),
                 "test: key 'arkime.password_file': secret file '%s' has mode 0644; it must not "
                 "be readable or writable by group or others (chmod 600 or 400)",
                 secret_path);
        assert_string_equal(err, expect);
        assert_null(strstr(err, SECRET));
        unlink(secret_path);

        /* A missing file. */
        assert_int_equal(fw_conf_set(conf, "arkime.password_file", "/nonexistent/secret", "test",
                                     err, sizeof(err)),
                         -1);
        assert_string_equal(err, "test: key 'arkime.password_file': cannot open "
                                 "'/nonexistent/secret': No such file or directory");

        /* _file only exists for secret keys. */
        set_fail(
                conf, "arkime.user_file", "/etc/hostname",
                "test: key 'arkime.user_file': unknown key (only secret keys have a '_file' form)");
        fw_conf_free(conf);
}

/* kafka.<prop>_file for a property whose name holds "password" or "secret". */
static void test_kafka_secret_file(void **state) {
        (void)state;
        char err[512], expect[768], secret_path[64], ini_path[64], ini[256];
        fw_conf_t *conf = new_conf();

        /* From the INI file ([kafka] sasl.password_file); the value lands on sasl.password. */
        write_temp(secret_path, SECRET "-kafka\n", 0600);
        snprintf(ini, sizeof(ini), "[kafka]\nsasl.username = fw\nsasl.password_file = %s\n",
                 secret_path);
        write_temp(ini_path, ini, 0600);
        assert_int_equal(fw_conf_load_file(conf, ini_path, err, sizeof(err)), 0);
        assert_string_equal(fw_conf_str(conf, "kafka.sasl.password"), SECRET "-kafka");
        assert_null(fw_conf_str(conf, "kafka.sasl.password_file"));
        snprintf(expect, sizeof(expect), "%s:3", ini_path);
        assert_string_equal(fw_conf_origin(conf, "kafka.sasl.password"), expect);
        struct collect c = {.buf = "", .calls = 0, .stop_after = 0};
        fw_conf_kafka_foreach(conf, collect_prop, &c);
        assert_string_equal(c.buf, "sasl.username=fw;sasl.password=" SECRET "-kafka;");
        char *out = dump(conf);
        assert_null(strstr(out, SECRET));
        assert_non_null(strstr(out, "# kafka.sasl.password = <redacted>  ; "));
        free(out);
        unlink(ini_path);
        unlink(secret_path);

        /* From the environment (FANWATCH_KAFKA_SSL_KEY_PASSWORD__FILE is
         * kafka.ssl.key.password_file), CRLF stripped; a later file replaces the value. */
        write_temp(secret_path, SECRET "-key\r\n", 0400);
        char var[128];
        snprintf(var, sizeof(var), "FANWATCH_KAFKA_SSL_KEY_PASSWORD__FILE=%s", secret_path);
        char *env[] = {var, NULL};
        assert_int_equal(fw_conf_load_env(conf, env, err, sizeof(err)), 0);
        assert_string_equal(fw_conf_str(conf, "kafka.ssl.key.password"), SECRET "-key");
        assert_string_equal(fw_conf_origin(conf, "kafka.ssl.key.password"), "environment");
        unlink(secret_path);
        write_temp(secret_path, SECRET "-new", 0600);
        set_ok(conf, "kafka.sasl.password_file", secret_path);
        assert_string_equal(fw_conf_str(conf, "kafka.sasl.password"), SECRET "-new");
        unlink(secret_path);
        /* "secret" in any case, as for the redaction */
        write_temp(secret_path, SECRET "-oauth\n", 0600);
        set_ok(conf, "kafka.sasl.oauthbearer.client.secret_file", secret_path);
        assert_string_equal(fw_conf_str(conf, "kafka.sasl.oauthbearer.client.secret"),
                            SECRET "-oauth");
        unlink(secret_path);

        /* Group- or world-readable files are refused: the message names the key and the file
         * (and its mode), never the contents; the value set before is kept. */
        static const mode_t modes[] = {0644, 0640, 0604, 0620};
        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
                write_temp(secret_path, SECRET "-open\n", modes[i]);
                assert_int_equal(fw_conf_set(conf, "kafka.sasl.password_file", secret_path, "test",
                                             err, sizeof(err)),
                                 -1);
                snprintf(expect, sizeof(expect),
                         "test: key 'kafka.sasl.password_file': secret file '%s' has mode %04o; "
                         "it must not be readable or writable by group or others (chmod 600 or "
                         "400)",
                         secret_path, (unsigned)modes[i]);
                assert_string_equal(err, expect);
                assert_null(strstr(err, SECRET));
                unlink(secret_path);
        }
        assert_string_equal(fw_conf_str(conf, "kafka.sasl.password"), SECRET "-new");

        /* The same through the environment names the variable. */
        write_temp(secret_path, SECRET "-open\n", 0644);
        snprintf(var, sizeof(var), "FANWATCH_KAFKA_SASL_PASSWORD__FILE=%s", secret_path);
        assert_int_equal(fw_conf_load_env(conf, env, err, sizeof(err)), -1);
        snprintf(expect, sizeof(expect),
                 "environment FANWATCH_KAFKA_SASL_PASSWORD__FILE: key 'kafka.sasl.password_file': "
                 "secret file '%s' has mode 0644",
                 secret_path);
        assert_true(strncmp(err, expect, strlen(expect)) == 0);
        assert_null(strstr(err, SECRET));
        unlink(secret_path);

        /* A missing file, an empty property name. */
        set_fail(conf, "kafka.sasl.password_file", "/nonexistent/secret",
                 "test: key 'kafka.sasl.password_file': cannot open '/nonexistent/secret': No "
                 "such file or directory");
        set_fail(conf, "kafka._file", "/etc/hostname",
                 "test: key 'kafka._file': unknown key (only kafka properties whose name contains "
                 "'password' or 'secret' have a '_file' form)");

        /* Only secret properties have a _file form: the file is not even opened. */
        set_fail(conf, "kafka.client.id_file", "/etc/hostname",
                 "test: key 'kafka.client.id_file': unknown key (only kafka properties whose "
                 "name contains 'password' or 'secret' have a '_file' form)");
        set_fail(conf, "kafka.ssl.ca.location_file", "/nonexistent/ca.pem",
                 "test: key 'kafka.ssl.ca.location_file': unknown key (only kafka properties "
                 "whose name contains 'password' or 'secret' have a '_file' form)");
        char *bad[] = {"FANWATCH_KAFKA_SASL_USERNAME__FILE=/etc/hostname", NULL};
        assert_int_equal(fw_conf_load_env(conf, bad, err, sizeof(err)), -1);
        assert_string_equal(err, "environment FANWATCH_KAFKA_SASL_USERNAME__FILE: key "
                                 "'kafka.sasl.username_file': unknown key (only kafka properties "
                                 "whose name contains 'password' or 'secret' have a '_file' form)");
        assert_null(fw_conf_str(conf, "kafka.client.id"));
        assert_null(fw_conf_str(conf, "kafka.client.id_file"));
        fw_conf_free(conf);
}

static void test_secret_never_shown(void **state) {
        (void)state;
        char err[512], path[64];
        fw_conf_t *conf = new_conf();

        set_ok(conf, "arkime.password", SECRET);
        set_ok(conf, "kafka.sasl.password", SECRET "-kafka");
        set_ok(conf, "kafka.sasl.oauthbearer.client.SECRET", SECRET "-oauth");
        set_ok(conf, "kafka.client.id", "visible-client");
        set_ok(conf, "kafka.ssl.key.pem", SECRET "-pem");
        set_ok(conf, "kafka.sasl.oauthbearer.config", "principal=x " SECRET "-oauthcfg");
        char *out = dump(conf);
        assert_null(strstr(out, SECRET));
        /* secrets are comments: a dump loaded back never sets a password to "<redacted>" */
        const char *tail = "  ; test (a secret is never printed: give it again)\n";
        const char *const secret_keys[] = {"kafka.ssl.key.pem", "kafka.sasl.oauthbearer.config",
                                           "arkime.password", "kafka.sasl.password",
                                           "kafka.sasl.oauthbearer.client.SECRET"};
        for (size_t i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]); i++) {
                char line[256];
                snprintf(line, sizeof(line), "\n# %s = <redacted>%s", secret_keys[i], tail);
                if (!strstr(out, line))
                        fprintf(stderr, "missing: %s", line + 1);
                assert_non_null(strstr(out, line));
        }
        assert_non_null(strstr(out, "kafka.client.id = visible-client  ; test\n"));
        assert_non_null(strstr(out, "arkime.user = fanwatch  ; default\n"));
        assert_non_null(strstr(out, "# arkime.url is not set\n"));
        free(out);

        /* A bad value for a secret key does not echo the value, from a set or a file. */
        set_fail(conf, "detector.pin", SECRET, "test: key 'detector.pin': expected an integer");
        set_fail(conf, "detector.pin", "1000",
                 "test: key 'detector.pin': must be between 1 and 100");
        write_temp(path, "999\n", 0600);
        assert_int_equal(fw_conf_set(conf, "detector.pin_file", path, "test", err, sizeof(err)),
                         -1);
        assert_string_equal(err, "test: key 'detector.pin_file': must be between 1 and 100");
        unlink(path);
        fw_conf_free(conf);
}

/* ---- what the daemons refuse at run time is refused while loading (issue 15) ---- */

/* One case: an INI file (NULL: none; "%s" is replaced by the path of a 0600 secret file) and
 * up to two environment variables (the same "%s"); want_rc 0 or -1; want a substring of the
 * error (NULL when it succeeds). */
typedef struct load_case {
        const char *ini;
        const char *env[3];
        int want_rc;
        const char *want;
} load_case_t;

static const load_case_t load_cases[] = {
        /* arkime.url-like keys: an http(s) URL with a host */
        {"alert.viewer_url = 127.0.0.1:19301\n",
         {NULL},
         -1,
         ":1: key 'alert.viewer_url': expected an http:// or https:// URL such as "
         "https://arkime.example:8005, got '127.0.0.1:19301'"},
        {"alert.viewer_url = ftp://arkime:8005\n", {NULL}, -1, "got 'ftp://arkime:8005'"},
        {"alert.viewer_url = http://\n", {NULL}, -1, "got 'http://'"},
        {"alert.viewer_url = https://ar kime\n", {NULL}, -1, "got 'https://ar kime'"},
        {NULL,
         {"FANWATCH_ALERT_VIEWER__URL=arkime:8005", NULL},
         -1,
         "environment FANWATCH_ALERT_VIEWER__URL: key 'alert.viewer_url': expected an http://"},
        {"alert.viewer_url = HTTPS://arkime.example:8005/\n", {NULL}, 0, NULL},
        {"alert.viewer_url = http://[::1]:8005\n", {NULL}, 0, NULL},
        {"alert.viewer_url =\n", {NULL}, 0, NULL}, /* empty: no links */
        /* metrics.address: what the HTTP server can listen on */
        {"[metrics]\naddress = not-an-ip\n",
         {NULL},
         -1,
         ":2: key 'metrics.address': expected an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0 "
         "or ::, got 'not-an-ip'"},
        {"[metrics]\naddress = localhost\n", {NULL}, -1, "got 'localhost'"},
        {"[metrics]\naddress =\n", {NULL}, -1, "got ''"},
        {"[metrics]\naddress = 0.0.0.0\n", {NULL}, 0, NULL},
        {"[metrics]\naddress = ::\n", {NULL}, 0, NULL},
        {"[metrics]\naddress = [::1]\n", {NULL}, 0, NULL},
        /* a topic cannot be empty */
        {"[topics]\nsessions =\n", {NULL}, -1, ":2: key 'topics.sessions': must not be empty"},
        /* a key given twice in one file: both lines named */
        {"[log]\nlevel = warn\n\nlevel = info\n",
         {NULL},
         -1,
         ":4: key 'log.level': duplicate key, already set at "},
        {"log.level = warn\n[log]\nlevel = info\n",
         {NULL},
         -1,
         ":3: key 'log.level': duplicate key, already set at "},
        {"[kafka]\nacks = 1\n[kafka]\nacks = all\n",
         {NULL},
         -1,
         ":4: key 'kafka.acks': duplicate key, already set at "},
        /* ... but a continuation line is not a second setting, and the environment still wins */
        {"[arkime]\nexpression = a == 1\n  && b == 2\n", {NULL}, 0, NULL},
        {"[log]\nlevel = warn\n", {"FANWATCH_LOG_LEVEL=info", NULL}, 0, NULL},
        /* a secret and its _file form together */
        {"[arkime]\npassword = x\npassword_file = %s\n",
         {NULL},
         -1,
         ":3: key 'arkime.password_file': 'arkime.password' is already set at "},
        {"[arkime]\npassword_file = %s\npassword = x\n",
         {NULL},
         -1,
         ":3: key 'arkime.password': 'arkime.password_file' is already set at "},
        {"[kafka]\nsasl.password = x\nsasl.password_file = %s\n",
         {NULL},
         -1,
         "key 'kafka.sasl.password_file': 'kafka.sasl.password' is already set at "},
        {NULL,
         {"FANWATCH_ARKIME_PASSWORD=x", "FANWATCH_ARKIME_PASSWORD__FILE=%s"},
         -1,
         "key 'arkime.password_file': FANWATCH_ARKIME_PASSWORD is set too: give a secret or its "
         "'_file' form, not both"},
        {NULL,
         {"FANWATCH_KAFKA_SASL_PASSWORD__FILE=%s", "FANWATCH_KAFKA_SASL_PASSWORD=x"},
         -1,
         "key 'kafka.sasl.password': FANWATCH_KAFKA_SASL_PASSWORD__FILE is set too"},
        /* one in the file, the other in the environment: the environment wins, as for any key */
        {"[arkime]\npassword = x\n", {"FANWATCH_ARKIME_PASSWORD__FILE=%s", NULL}, 0, NULL},
};

/* Copy fmt into out with its "%s" (if any) replaced by arg. */
static void subst(char *out, size_t len, const char *fmt, const char *arg) {
        const char *p = strstr(fmt, "%s");
        if (!p)
                snprintf(out, len, "%s", fmt);
        else
                snprintf(out, len, "%.*s%s%s", (int)(p - fmt), fmt, arg, p + 2);
}

static void test_load_cases(void **state) {
        (void)state;
        char secret[64], ini_path[64];
        write_temp(secret, SECRET "\n", 0600);
        for (size_t i = 0; i < sizeof(load_cases) / sizeof(load_cases[0]); i++) {
                const load_case_t *c = &load_cases[i];
                char err[1024] = "", text[512], env_buf[2][256];
                char *env[3] = {NULL, NULL, NULL};
                fw_conf_t *conf = new_conf();
                int rc = 0;
                for (int e = 0; e < 2 && c->env[e]; e++) {
                        subst(env_buf[e], sizeof(env_buf[e]), c->env[e], secret);
                        env[e] = env_buf[e];
                }
                if (c->ini) {
                        subst(text, sizeof(text), c->ini, secret);
                        write_temp(ini_path, text, 0600);
                        rc = fw_conf_load_file(conf, ini_path, err, sizeof(err));
                        unlink(ini_path);
                }
                if (rc == 0)
                        rc = fw_conf_load_env(conf, env, err, sizeof(err));
                if (rc != c->want_rc || (c->want && !strstr(err, c->want)) || strstr(err, SECRET)) {
                        fprintf(stderr, "case %zu (%s%s): rc %d, err '%s', want %d '%s'\n", i,
                                c->ini ? c->ini : "", c->env[0] ? c->env[0] : "", rc, err,
                                c->want_rc, c->want ? c->want : "");
                        fail();
                }
                fw_conf_free(conf);
        }
        unlink(secret);
}

/* Drop the origins ("  ; origin" and "; key: origin" lines) from a dump. */
static void strip_origins(char *s) {
        char *w = s;
        for (char *line = s; *line;) {
                char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
                if (line[0] != ';') {
                        char *c = strstr(line, "  ; ");
                        if (c && c < line + len) {
                                memmove(w, line, (size_t)(c - line));
                                w += c - line;
                                *w++ = '\n';
                        } else {
                                memmove(w, line, len);
                                w += len;
                        }
                }
                line += len;
        }
        *w = '\0';
}

/* fw_conf_dump's output loads back to the same values; what no INI line can hold is a comment. */
static void test_dump_round_trip(void **state) {
        (void)state;
        char longwords[2400] = "", longtoken[400] = "", spaced[600] = "", doubled[600] = "";
        for (int i = 0; i < 100; i++)
                strcat(longwords, i ? " && port.dst != 1000" : "ip.src == 10.0.0.0/8");
        memset(longtoken, 'x', 300);
        for (int i = 0; i < 60; i++)
                strcat(spaced, "a  b ");
        strcat(spaced, "end");
        for (int i = 0; i < 60; i++)
                strcat(doubled, "ab  ");
        strcat(doubled, "end");
        static const char *const ok_values[] = {
                "tags == \"#x\"",
                "#starts-with-hash",
                "a;b",
                "a # b",
                "",
                "tab\there",
                "ip.src == 10.0.0.0/8 && port.dst == 445",
                "[bracket",
                NULL,
        };
        typedef struct {
                const char *value;
                int kept; /* loads back equal; 0: written as a comment, left unset */
        } rt_case_t;
        rt_case_t cases[32];
        size_t n = 0;
        for (size_t i = 0; ok_values[i]; i++)
                cases[n++] = (rt_case_t){ok_values[i], 1};
        cases[n++] = (rt_case_t){longwords, 1};
        cases[n++] = (rt_case_t){longtoken, 0};
        cases[n++] = (rt_case_t){spaced, 1};  /* split at its single spaces only */
        cases[n++] = (rt_case_t){doubled, 0}; /* no single space to split at */
        cases[n++] = (rt_case_t){"a ; comment", 0};
        cases[n++] = (rt_case_t){";starts-with-semicolon", 0};
        cases[n++] = (rt_case_t){" leading", 0};
        cases[n++] = (rt_case_t){"trailing ", 0};
        cases[n++] = (rt_case_t){"two\nlines", 0};

        for (size_t i = 0; i < n; i++) {
                char err[512], path[64];
                fw_conf_t *conf = new_conf();
                set_ok(conf, "arkime.expression", cases[i].value);
                set_ok(conf, "kafka.client.id", cases[i].value);
                set_ok(conf, "arkime.password", SECRET);
                set_ok(conf, "log.level", "debug");
                char *out = dump(conf);
                assert_null(strstr(out, SECRET));
                write_temp(path, out, 0600);
                fw_conf_t *back = new_conf();
                if (fw_conf_load_file(back, path, err, sizeof(err)) != 0) {
                        fprintf(stderr, "case %zu: the dump does not load: %s\n%s", i, err, out);
                        fail();
                }
                const char *got = fw_conf_str(back, "arkime.expression");
                const char *kgot = fw_conf_str(back, "kafka.client.id");
                if (cases[i].kept ? !got || strcmp(got, cases[i].value) != 0 || !kgot ||
                                            strcmp(kgot, cases[i].value) != 0
                                  : strcmp(got, "") != 0 || kgot != NULL) { /* defaults */
                        fprintf(stderr, "case %zu: '%s' came back as '%s' / '%s'\n%s", i,
                                cases[i].value, got ? got : "(unset)", kgot ? kgot : "(unset)",
                                out);
                        fail();
                }
                assert_null(fw_conf_str(back, "arkime.password")); /* never "<redacted>" */
                assert_string_equal(fw_conf_str(back, "log.level"), "debug");
                /* and dumping again gives the same text, origins aside */
                if (cases[i].kept) {
                        set_ok(back, "arkime.password", SECRET);
                        char *again = dump(back);
                        strip_origins(out);
                        strip_origins(again);
                        assert_string_equal(out, again);
                        free(again);
                }
                for (char *p = out; *p;) { /* every line fits the INI reader */
                        char *nl = strchr(p, '\n');
                        assert_non_null(nl);
                        assert_true(nl - p <= 198);
                        p = nl + 1;
                }
                unlink(path);
                free(out);
                fw_conf_free(back);
                fw_conf_free(conf);
        }
}

/* ---- validate, markdown ---- */

static void test_validate_required(void **state) {
        (void)state;
        char err[512];
        fw_conf_t *conf = new_conf();
        assert_int_equal(fw_conf_validate(conf, err, sizeof(err)), -1);
        assert_string_equal(err, "key 'arkime.url' is required (set it in the config file or as "
                                 "FANWATCH_ARKIME_URL)");
        char *env[] = {"FANWATCH_ARKIME_URL=https://a:8005", NULL};
        assert_int_equal(fw_conf_load_env(conf, env, err, sizeof(err)), 0);
        assert_int_equal(fw_conf_validate(conf, err, sizeof(err)), 0);
        assert_string_equal(fw_conf_origin(conf, "arkime.url"), "environment");
        fw_conf_free(conf);
}

static void test_markdown(void **state) {
        (void)state;
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_non_null(f);
        fw_conf_write_markdown(defs, NDEFS, f);
        fclose(f);
        assert_true(strncmp(buf, "| Key | Type | Default | Environment | Description |\n", 53) ==
                    0);
        assert_non_null(strstr(buf,
                               "| `arkime.url` | string | *required* | `FANWATCH_ARKIME_URL` | "
                               "Arkime viewer URL |\n"));
        assert_non_null(strstr(buf, "| `detector.window` | duration (1s..1d) | `5m` | "
                                    "`FANWATCH_DETECTOR_WINDOW` | Window |\n"));
        assert_non_null(strstr(buf, "| `arkime.page-size` | integer (1..10000) | `1000` | "
                                    "`FANWATCH_ARKIME_PAGE___SIZE` |"));
        assert_non_null(strstr(buf, "| `arkime.safety_lag` | duration (0ms..1h) | `30s` | "
                                    "`FANWATCH_ARKIME_SAFETY__LAG` |"));
        assert_non_null(strstr(buf, "| `arkime.start` | one of `first`, `last`, `database` | "
                                    "`last` |"));
        assert_non_null(
                strstr(buf, "`FANWATCH_ARKIME_PASSWORD` or `FANWATCH_ARKIME_PASSWORD__FILE`"));
        assert_non_null(strstr(buf, "Extra \\| Arkime expression"));
        assert_non_null(strstr(buf, "| `kafka.<property>` |"));
        assert_non_null(strstr(buf, "`kafka.<property>_file` (env "
                                    "`FANWATCH_KAFKA_<PROPERTY>__FILE`, mode 0600 or 0400)"));
        free(buf);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_getter_misuse_aborts),
                cmocka_unit_test(test_load_good_file),
                cmocka_unit_test(test_missing_file),
                cmocka_unit_test(test_file_bad_duration),
                cmocka_unit_test(test_file_bad_range),
                cmocka_unit_test(test_file_unknown_key),
                cmocka_unit_test(test_file_syntax_error),
                cmocka_unit_test(test_file_first_error_wins),
                cmocka_unit_test(test_file_long_line),
                cmocka_unit_test(test_file_multiline),
                cmocka_unit_test(test_file_crlf_and_colon),
                cmocka_unit_test(test_type_int),
                cmocka_unit_test(test_type_float),
                cmocka_unit_test(test_type_bool),
                cmocka_unit_test(test_type_duration),
                cmocka_unit_test(test_type_enum_and_string),
                cmocka_unit_test(test_kafka_passthrough),
                cmocka_unit_test(test_env_override_and_mapping),
                cmocka_unit_test(test_env_errors),
                cmocka_unit_test(test_secret_file),
                cmocka_unit_test(test_kafka_secret_file),
                cmocka_unit_test(test_secret_never_shown),
                cmocka_unit_test(test_validate_required),
                cmocka_unit_test(test_markdown),
                cmocka_unit_test(test_load_cases),
                cmocka_unit_test(test_dump_round_trip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
