/* Unit tests for common/ini_file.c, the INI reader shared by the configuration and the rules
 * file: what the callbacks see and when, and the reader's own errors. Every callback appends an
 * event to a log ("S2:[a]" header, "V3:a.k=v" value so far, "K3:a.k=v" complete key), so each
 * test compares the whole sequence. Files are written to /tmp with mkstemp.
 * cmocka.h needs the four headers before it, in this order. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ini_file.h"

/* ---- helpers ---- */

/* What the callbacks record, and where one of them fails. */
typedef struct rec {
        char log[4096];
        char fail_kind; /* 'S', 'V' or 'K': that callback fails at fail_line; 0: none */
        int fail_line;
        char *err;
        size_t errlen;
} rec_t;

static void add_event(rec_t *r, char kind, int line, const char *text) {
        size_t n = strlen(r->log);
        snprintf(r->log + n, sizeof(r->log) - n, "%s%c%d:%s", n ? " " : "", kind, line, text);
}

/* 0, or -1 with "injected <kind> <line>" in err if this callback is to fail here. */
static int maybe_fail(rec_t *r, char kind, int line) {
        if (r->fail_kind != kind || r->fail_line != line)
                return 0;
        snprintf(r->err, r->errlen, "injected %c %d", kind, line);
        return -1;
}

static int rec_section(void *user, int line, const char *text) {
        char buf[256];
        snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(text, "\r\n"), text);
        add_event(user, 'S', line, buf);
        return maybe_fail(user, 'S', line);
}

static void key_event(rec_t *r, char kind, int line, const char *section, const char *name,
                      const char *value) {
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s%s%s=%s", section, *section ? "." : "", name, value);
        add_event(r, kind, line, buf);
}

static int rec_value(void *user, int line, const char *section, const char *name,
                     const char *value) {
        key_event(user, 'V', line, section, name, value);
        return maybe_fail(user, 'V', line);
}

static int rec_key(void *user, int line, const char *section, const char *name, const char *value) {
        key_event(user, 'K', line, section, name, value);
        return maybe_fail(user, 'K', line);
}

static const fw_ini_file_ops_t all_ops = {
        .header_word = "section",
        .on_section = rec_section,
        .on_value = rec_value,
        .on_key = rec_key,
};

/* Ops that record complete keys and headers only. */
static const fw_ini_file_ops_t key_ops = {
        .header_word = "section",
        .on_section = rec_section,
        .on_key = rec_key,
};

/* Write text to a new temporary file; the path goes into path[64]. */
static void write_temp(char *path, const char *text) {
        snprintf(path, 64, "/tmp/fw_test_ini_file_XXXXXX");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        size_t n = strlen(text);
        assert_int_equal(write(fd, text, n), (ssize_t)n);
        close(fd);
}

/* Read text with ops; returns the reader's result, the log in r and any error in err. */
static int read_text(const char *text, const fw_ini_file_ops_t *ops, rec_t *r, char *path,
                     char *err, size_t errlen) {
        write_temp(path, text);
        r->err = err;
        r->errlen = errlen;
        err[0] = '\0';
        int rc = fw_ini_file_read(path, ops, r, err, errlen);
        unlink(path);
        return rc;
}

/* Read text expecting success and the given log. */
static void expect_log(const char *text, const fw_ini_file_ops_t *ops, const char *log) {
        rec_t r = {0};
        char path[64], err[512];
        int rc = read_text(text, ops, &r, path, err, sizeof(err));
        if (rc != 0)
                fprintf(stderr, "unexpected error: %s\n", err);
        assert_int_equal(rc, 0);
        assert_string_equal(r.log, log);
}

/* Read text expecting failure and the given log. The error must be msg, with the file's path
 * put before it if msg starts with ':' (the reader's own errors). */
static void expect_error(const char *text, const fw_ini_file_ops_t *ops, rec_t *r, const char *msg,
                         const char *log) {
        char path[64], err[512], expect[600];
        int rc = read_text(text, ops, r, path, err, sizeof(err));
        assert_int_equal(rc, -1);
        if (msg[0] == ':')
                snprintf(expect, sizeof(expect), "%s%s", path, msg);
        else
                snprintf(expect, sizeof(expect), "%s", msg);
        assert_string_equal(err, expect);
        assert_string_equal(r->log, log);
}

/* ---- callbacks and line numbers ---- */

static void test_line_numbers(void **state) {
        (void)state;
        expect_log("; comment\n"
                   "top = 1\n"
                   "\n"
                   "[a]\n"
                   "# comment\n"
                   "k = v\n"
                   "k2 : w ; inline comment\n"
                   "[b] ; after the header\n"
                   "\n"
                   "x=\n",
                   &all_ops,
                   "V2:top=1 K2:top=1 S4:[a] V6:a.k=v K6:a.k=v V7:a.k2=w K7:a.k2=w "
                   "S8:[b] ; after the header V10:b.x= K10:b.x=");
        /* CRLF line ends and a file without a final newline. */
        expect_log("[a]\r\nk = v\r\nj = w", &all_ops, "S1:[a] V2:a.k=v K2:a.k=v V3:a.j=w K3:a.j=w");
        /* Nothing at all. */
        expect_log("", &all_ops, "");
        /* Callbacks are optional. */
        expect_log("[a]\nk = v\n", &(fw_ini_file_ops_t){.header_word = "section"}, "");
}

static void test_bom(void **state) {
        (void)state;
        expect_log("\xEF\xBB\xBF[a]\nk = v\n", &key_ops, "S1:[a] K2:a.k=v");
        expect_log("\xEF\xBB\xBFk = v\n", &key_ops, "K1:k=v");
        /* Only on the first line. */
        rec_t r = {0};
        expect_error("k = v\n\xEF\xBB\xBF[a]\n", &key_ops, &r,
                     ":2: syntax error (expected 'key = value' or '[section]')", "K1:k=v");
}

static void test_continuations(void **state) {
        (void)state;
        /* Joined with one space, inline comments cut off every line; blank and comment lines
         * inside do not end the value. The key keeps its first line. */
        expect_log("[a]\n"
                   "k = one ; first\n"
                   "  two ; second\n"
                   "\n"
                   "  ; an indented comment\n"
                   "\tthree;not a comment\n"
                   "j = x\n",
                   &all_ops,
                   "S1:[a] V2:a.k=one V2:a.k=one two V2:a.k=one two three;not a comment "
                   "K2:a.k=one two three;not a comment V7:a.j=x K7:a.j=x");
        /* An empty first value takes the continuation without a leading space. */
        expect_log("k =\n    4\n", &all_ops, "V1:k= V1:k=4 K1:k=4");
        /* An indented line after a key continues it even if it starts with '['; after a
         * header, an indented key is a new key. */
        expect_log("k = a\n  [b]\n[c]\n  j = 1\n  2\n", &key_ops, "K1:k=a [b] S3:[c] K4:c.j=1 2");
        /* An indented first line is an ordinary key. */
        expect_log("  k = a\n", &key_ops, "K1:k=a");
}

/* ---- the reader's errors ---- */

static void test_long_line(void **state) {
        (void)state;
        char text[600];
        /* 199 bytes including the newline is the longest line accepted. */
        snprintf(text, sizeof(text), "k = %0194d\nj = 1\n", 0);
        assert_int_equal(strlen(text), 199 + 6);
        rec_t ok = {0};
        char path[64], err[512];
        assert_int_equal(read_text(text, &key_ops, &ok, path, err, sizeof(err)), 0);
        assert_int_equal(strlen(ok.log), strlen("K1:k=") + 194 + strlen(" K2:j=1"));

        /* One byte more is refused; the key before it was seen line by line but is not
         * delivered as complete (the long line could have been its continuation). */
        snprintf(text, sizeof(text), "k = a\n  b\nj = %0195d\nnext = 1\n", 0);
        rec_t r = {0};
        expect_error(text, &all_ops, &r, ":3: line longer than 199 bytes", "V1:k=a V1:k=a b");
        rec_t r2 = {0};
        snprintf(text, sizeof(text), "k = a\n  %0197d\n", 0);
        expect_error(text, &all_ops, &r2, ":2: line longer than 199 bytes", "V1:k=a");

        /* With a hint. */
        fw_ini_file_ops_t hint = key_ops;
        hint.long_line_hint = "split it";
        rec_t r3 = {0};
        snprintf(text, sizeof(text), "%0300d\n", 0);
        expect_error(text, &hint, &r3, ":1: line longer than 199 bytes (split it)", "");

        /* A long line after a syntax error: the syntax error comes first. */
        rec_t r4 = {0};
        snprintf(text, sizeof(text), "k = 1\nbad\n%0300d\n", 0);
        expect_error(text, &key_ops, &r4,
                     ":2: syntax error (expected 'key = value' or '[section]')", "K1:k=1");
}

static void test_syntax_error_order(void **state) {
        (void)state;
        /* A syntax error on line 3 stops before the key on line 4; the key before it is
         * delivered complete first. The header word comes from ops. */
        fw_ini_file_ops_t rules = all_ops;
        rules.header_word = "rule name";
        rec_t r = {0};
        expect_error("[a]\nk = 1\n  2\nno equals sign\nj = 2\n[b]\n", &rules, &r,
                     ":4: syntax error (expected 'key = value' or '[rule name]')",
                     "S1:[a] V2:a.k=1 V2:a.k=1 2 K2:a.k=1 2");
        rec_t r2 = {0};
        expect_error("k = 1\n[unclosed\nj = 2\n", &all_ops, &r2,
                     ":2: syntax error (expected 'key = value' or '[section]')", "V1:k=1 K1:k=1");

        /* An error from a callback on line 2 wins over the syntax error on line 5 ... */
        rec_t r3 = {.fail_kind = 'V', .fail_line = 2};
        expect_error("k = 1\nj = 2\nl = 3\n\nbad\n", &all_ops, &r3, "injected V 2",
                     "V1:k=1 K1:k=1 V2:j=2");
        /* ... and a complete key's error over a syntax error after its continuation. */
        rec_t r4 = {.fail_kind = 'K', .fail_line = 1};
        expect_error("k = 1\n  2\nbad\n", &key_ops, &r4, "injected K 1", "K1:k=1 2");
}

static void test_callback_failure_stops(void **state) {
        (void)state;
        const char *text = "[a]\nk = 1\n  2\n[b]\nj = 3\n";
        rec_t s = {.fail_kind = 'S', .fail_line = 1};
        expect_error(text, &all_ops, &s, "injected S 1", "S1:[a]");
        rec_t v = {.fail_kind = 'V', .fail_line = 2};
        expect_error(text, &all_ops, &v, "injected V 2", "S1:[a] V2:a.k=1");
        rec_t k = {.fail_kind = 'K', .fail_line = 2};
        expect_error(text, &all_ops, &k, "injected K 2", "S1:[a] V2:a.k=1 V2:a.k=1 2 K2:a.k=1 2");
        /* The last key is delivered at the end of the file, and may fail there. */
        rec_t e = {.fail_kind = 'K', .fail_line = 5};
        expect_error(text, &key_ops, &e, "injected K 5", "S1:[a] K2:a.k=1 2 S4:[b] K5:b.j=3");
}

static void test_missing_and_unreadable(void **state) {
        (void)state;
        char err[512];
        rec_t r = {0};
        const char *missing = "/tmp/fw_test_ini_file_does_not_exist/x.ini";
        assert_int_equal(fw_ini_file_read(missing, &all_ops, &r, err, sizeof(err)), -1);
        assert_string_equal(err, "/tmp/fw_test_ini_file_does_not_exist/x.ini: cannot open: No "
                                 "such file or directory");
        fw_ini_file_ops_t prefixed = all_ops;
        prefixed.open_prefix = "conf.ini:3: key 'rules': ";
        assert_int_equal(fw_ini_file_read(missing, &prefixed, &r, err, sizeof(err)), -1);
        assert_string_equal(err, "conf.ini:3: key 'rules': /tmp/fw_test_ini_file_does_not_exist/"
                                 "x.ini: cannot open: No such file or directory");

        /* A directory opens but cannot be read. */
        assert_int_equal(fw_ini_file_read("/tmp", &all_ops, &r, err, sizeof(err)), -1);
        assert_string_equal(err, "/tmp: cannot read: Is a directory");
        assert_string_equal(r.log, "");

        /* No read permission (root reads it anyway). */
        if (geteuid() != 0) {
                char path[64];
                write_temp(path, "k = v\n");
                assert_int_equal(chmod(path, 0), 0);
                assert_int_equal(fw_ini_file_read(path, &all_ops, &r, err, sizeof(err)), -1);
                char expect[128];
                snprintf(expect, sizeof(expect), "%s: cannot open: Permission denied", path);
                assert_string_equal(err, expect);
                unlink(path);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_line_numbers),
                cmocka_unit_test(test_bom),
                cmocka_unit_test(test_continuations),
                cmocka_unit_test(test_long_line),
                cmocka_unit_test(test_syntax_error_order),
                cmocka_unit_test(test_callback_failure_stops),
                cmocka_unit_test(test_missing_and_unreadable),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
