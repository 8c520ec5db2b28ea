/* Unit tests for the session file reader (detector/session_file.c): JSON lines in every shape,
 * msgpack record streams, errors with their locations, resynchronisation, format detection, the
 * msgpack skipper and the producer's partitioning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session_file.h"
#include "session_gen.h"
#include "wire.h"

static char err[1024];

/* A temporary file holding len bytes; the path is static storage reused by the next call. */
static const char *temp_file(const void *data, size_t len) {
        static char path[256];
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof(path), "%s/fw_sf_XXXXXX", dir && *dir ? dir : "/tmp");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        FILE *f = fdopen(fd, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
        return path;
}

static fw_session_reader_t *open_bytes(const void *buf, size_t len, fw_sf_format_t fmt,
                                       char *path_out) {
        strcpy(path_out, temp_file(buf, len));
        fw_session_reader_t *r = fw_session_reader_open(path_out, fmt, err, sizeof(err));
        assert_non_null(r);
        return r;
}

static fw_session_reader_t *open_text(const char *text, fw_sf_format_t fmt, char *path_out) {
        return open_bytes(text, strlen(text), fmt, path_out);
}

/* r's counters so far. */
static fw_sf_stats_t stats_of(fw_session_reader_t *r) {
        fw_sf_stats_t st;
        fw_session_reader_stats(r, &st);
        return st;
}

/* The next n records of r are read without an error. */
static void read_ok(fw_session_reader_t *r, size_t n) {
        fw_session_t s;
        for (size_t i = 0; i < n; i++)
                assert_int_equal(fw_session_reader_next(r, &s, err, sizeof(err)), 1);
}

/* Close r and remove its file. */
static void close_file(fw_session_reader_t *r, const char *path) {
        fw_session_reader_close(r);
        unlink(path);
}

#define NESTED(id, src, dst, dport)                                                                \
        "{\"id\":\"" id "\",\"node\":\"n1\",\"firstPacket\":1716026405123,"                        \
        "\"lastPacket\":1716026405200,\"ipProtocol\":6,\"source\":{\"ip\":\"" src "\","            \
        "\"port\":40000,\"packets\":1,\"bytes\":60},\"destination\":{\"ip\":\"" dst "\","          \
        "\"port\":" #dport ",\"packets\":1,\"bytes\":54},\"tcpflags\":{\"syn\":1,\"rst\":1}}"
#define FLAT(id, src, dst, dport)                                                                  \
        "{\"id\":\"" id "\",\"node\":\"n1\",\"firstPacket\":1716026406000,"                        \
        "\"lastPacket\":1716026406100,\"ipProtocol\":17,\"source.ip\":\"" src "\","                \
        "\"source.port\":5353,\"destination.ip\":\"" dst "\",\"destination.port\":" #dport         \
        ",\"source.packets\":[2],\"destination.packets\":-1}"

static void expect_session(fw_session_reader_t *r, const char *id, const char *src, int dport) {
        fw_session_t s;
        int rc = fw_session_reader_next(r, &s, err, sizeof(err));
        if (rc != 1)
                fail_msg("expected session %s, got %d: %s", id, rc, err);
        assert_string_equal(s.id, id);
        char buf[FW_IP_STRLEN];
        assert_string_equal(fw_ip_format(&s.src_ip, buf, sizeof(buf)), src);
        assert_int_equal(s.dst_port, dport);
}

static void expect_end(fw_session_reader_t *r) {
        fw_session_t s;
        int rc = fw_session_reader_next(r, &s, err, sizeof(err));
        if (rc != 0)
                fail_msg("expected the end, got %d: %s", rc, err);
        assert_int_equal(fw_session_reader_next(r, &s, err, sizeof(err)), 0); /* stays at end */
}

/* Nested, flatten=1, whole-page, capture bulk and blank lines, in file order. */
static void test_json_shapes(void **state) {
        (void)state;
        const char *text = "\n" NESTED(
                "a1", "10.0.0.1", "10.0.0.2",
                445) "\n"
                     "   \t\n" FLAT("a2", "10.0.0.3", "224.0.0.251",
                                    5353) "\r\n"
                                          "{\"recordsTotal\":2,\"recordsFiltered\":2,\"data\":"
                                          "[" NESTED("p1", "10.0.0.4", "10.0.0.5", 22) "," FLAT(
                                                  "p2", "2001:db8::1", "2001:db8::2",
                                                  53) "]}\n"
                                                      "{\"index\":{\"_index\":\"sessions3-240518\","
                                                      "\"_id\":\"240518-bulkid\"}}\n"
                                                      "{\"firstPacket\":1716026407000,"
                                                      "\"lastPacket\":1716026407000,\"ipProtocol\":"
                                                      "1,"
                                                      "\"source\":{\"ip\":\"10.0.0.6\"},"
                                                      "\"destination\":{\"ip\":\"10.0.0.7\"}}\n"
                                                      "\n"
                                                      "{\"data\":[]}\n" NESTED(
                                                              "a3", "10.0.0.8", "10.0.0.9",
                                                              80); /* no final newline */
        char path[256];
        fw_session_reader_t *r = open_text(text, FW_SF_AUTO, path);
        assert_int_equal(fw_session_reader_format(r), FW_SF_JSON);
        expect_session(r, "a1", "10.0.0.1", 445);
        expect_session(r, "a2", "10.0.0.3", 5353);
        expect_session(r, "p1", "10.0.0.4", 22);
        expect_session(r, "p2", "2001:db8::1", 53);
        expect_session(r, "240518-bulkid", "10.0.0.6", 0);
        expect_session(r, "a3", "10.0.0.8", 80);
        expect_end(r);
        fw_sf_stats_t st = stats_of(r);
        assert_int_equal(st.sessions, 6);
        assert_int_equal(st.bad, 0);
        assert_int_equal(st.lines, 10);
        assert_int_equal(st.bytes, strlen(text));
        close_file(r, path);
}

/* The nested session's fields all arrive (the page parser is the reference). */
static void test_json_fields(void **state) {
        (void)state;
        char path[256];
        fw_session_reader_t *r =
                open_text(FLAT("f1", "10.0.0.3", "224.0.0.251", 5353) "\n", FW_SF_JSON, path);
        fw_session_t s;
        assert_int_equal(fw_session_reader_next(r, &s, err, sizeof(err)), 1);
        assert_string_equal(s.node, "n1");
        assert_int_equal(s.first_packet_ms, 1716026406000LL);
        assert_int_equal(s.ip_protocol, 17);
        assert_int_equal(s.src_port, 5353);
        assert_int_equal(s.src_packets, 2);
        assert_int_equal(s.dst_packets, FW_ABSENT);
        assert_int_equal(s.tcpflags.syn, FW_ABSENT);
        close_file(r, path);
}

/* A malformed line in the middle is reported by its number; reading goes on after it. */
static void test_json_malformed_line(void **state) {
        (void)state;
        const char *text = NESTED(
                "m1", "10.0.0.1", "10.0.0.2",
                1) "\n"
                   "\n" NESTED(
                           "m2", "10.0.0.1", "10.0.0.2",
                           2) "\n"
                              "{\"id\":\"broken\",\"firstPacket\": \n"
                              "{\"id\":\"x\",\"firstPacket\":1,\"lastPacket\":1,\"ipProtocol\":6,"
                              "\"source\":{\"ip\":\"300.1.1.1\"},\"destination\":{\"ip\":\"1.1.1."
                              "1\"}}\n"
                              "[1,2,3]\n" NESTED("m3", "10.0.0.1", "10.0.0.2", 3) "\n";
        char path[256], want[600];
        fw_session_reader_t *r = open_text(text, FW_SF_AUTO, path);
        fw_session_t s;
        expect_session(r, "m1", "10.0.0.1", 1);
        expect_session(r, "m2", "10.0.0.1", 2);
        assert_int_equal(fw_session_reader_next(r, &s, err, sizeof(err)), -1);
        snprintf(want, sizeof(want), "%s:4: ", path);
        assert_memory_equal(err, want, strlen(want));
        assert_int_equal(fw_session_reader_next(r, &s, err, sizeof(err)), -1); /* bad address */
        snprintf(want, sizeof(want), "%s:5: ", path);
        assert_memory_equal(err, want, strlen(want));
        assert_non_null(strstr(err, "source.ip"));
        assert_int_equal(fw_session_reader_next(r, &s, err, sizeof(err)), -1); /* not an object */
        snprintf(want, sizeof(want), "%s:6: ", path);
        assert_memory_equal(err, want, strlen(want));
        expect_session(r, "m3", "10.0.0.1", 3);
        expect_end(r);
        fw_sf_stats_t st = stats_of(r);
        assert_int_equal(st.sessions, 3);
        assert_int_equal(st.bad, 3);
        assert_int_equal(st.errors, 3);
        close_file(r, path);
}

/* A page whose items are partly unusable: one error for the line, then its good sessions. */
static void test_json_page_rejects(void **state) {
        (void)state;
        const char *text = "{\"data\":[" NESTED(
                "g1", "10.0.0.1", "10.0.0.2",
                1) ","
                   "{\"id\":\"nofp\"}," NESTED("g2", "10.0.0.1", "10.0.0.2",
                                               2) "]}\n"
                                                  "{\"error\":\"Unknown field foo\",\"data\":[]}\n";
        char path[256];
        fw_session_reader_t *r = open_text(text, FW_SF_JSON, path);
        fw_session_t s;
        assert_int_equal(fw_session_reader_next(r, &s, err, sizeof(err)), -1);
        assert_non_null(strstr(err, ":1: 1 of the page's 3 sessions rejected"));
        expect_session(r, "g1", "10.0.0.1", 1);
        expect_session(r, "g2", "10.0.0.1", 2);
        assert_int_equal(fw_session_reader_next(r, &s, err, sizeof(err)), -1);
        assert_non_null(strstr(err, ":2: "));
        assert_non_null(strstr(err, "Unknown field foo"));
        expect_end(r);
        fw_sf_stats_t st = stats_of(r);
        assert_int_equal(st.bad, 2);
        close_file(r, path);
}

/* A long line (a page of 4,000 sessions, ~1.4 MB) grows the buffer. */
static void test_json_long_line(void **state) {
        (void)state;
        size_t n = 4000, cap = n * 400 + 64, len = 0;
        char *text = malloc(cap);
        assert_non_null(text);
        len += (size_t)snprintf(text + len, cap - len, "{\"data\":[");
        for (size_t i = 0; i < n; i++)
                len += (size_t)snprintf(text + len, cap - len,
                                        "%s{\"id\":\"L%zu\",\"firstPacket\":%zu,\"lastPacket\":%zu,"
                                        "\"ipProtocol\":6,\"source\":{\"ip\":\"10.1.%zu.%zu\"},"
                                        "\"destination\":{\"ip\":\"10.2.0.1\",\"port\":%zu}}",
                                        i ? "," : "", i, 1716026405000 + i, 1716026405000 + i,
                                        i / 256, i % 256, i % 65536);
        len += (size_t)snprintf(text + len, cap - len,
                                "]}\n" NESTED("after", "10.0.0.1", "10.0.0.2", 7) "\n");
        char path[256];
        fw_session_reader_t *r = open_text(text, FW_SF_AUTO, path);
        fw_session_t s;
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(fw_session_reader_next(r, &s, err, sizeof(err)), 1);
                char id[32];
                snprintf(id, sizeof(id), "L%zu", i);
                assert_string_equal(s.id, id);
                assert_int_equal(s.dst_port, i % 65536);
        }
        expect_session(r, "after", "10.0.0.1", 7);
        expect_end(r);
        close_file(r, path);
        free(text);
}

static void line_limit(size_t big) {
        const char *good = NESTED("next", "10.0.0.1", "10.0.0.2", 8) "\n";
        size_t len = 1 + big + 1 + strlen(good);
        char *text = malloc(len);
        assert_non_null(text);
        text[0] = '\n';
        text[1] = '{';
        memset(text + 2, ' ', big - 1);
        text[1 + big] = '\n';
        memcpy(text + 2 + big, good, strlen(good));
        char path[256], want[600];
        fw_session_reader_t *r = open_bytes(text, len, FW_SF_AUTO, path);
        free(text);
        fw_session_t s;
        assert_int_equal(fw_session_reader_next(r, &s, err, sizeof(err)), -1);
        snprintf(want, sizeof(want), "%s:2: line longer than %zu bytes, skipped", path,
                 (size_t)FW_SF_LINE_MAX);
        assert_string_equal(err, want);
        expect_session(r, "next", "10.0.0.1", 8);
        expect_end(r);
        close_file(r, path);
}

/* A line over FW_SF_LINE_MAX is an error naming it; the next line is read normally (its end
 * found within the buffer, and far beyond it). */
static void test_json_line_limit(void **state) {
        (void)state;
        line_limit(FW_SF_LINE_MAX + 1);
        line_limit(FW_SF_LINE_MAX + ((size_t)5 << 20));
}

/* ---- msgpack ---- */

typedef struct stream {
        char *buf;
        size_t len;
        size_t *off; /* offset of record i */
        size_t n;
} stream_t;

/* fw_gen_session(seed, 0..n-1) encoded back to back. */
static stream_t make_stream(uint64_t seed, size_t n) {
        stream_t st = {
                .buf = malloc(n * FW_RECORD_MAX), .off = malloc((n + 1) * sizeof(size_t)), .n = n};
        assert_non_null(st.buf);
        assert_non_null(st.off);
        for (size_t i = 0; i < n; i++) {
                fw_session_t s;
                size_t len;
                fw_gen_session(seed, i, &s);
                st.off[i] = st.len;
                assert_int_equal(fw_session_encode(&s, st.buf + st.len, FW_RECORD_MAX, &len, err,
                                                   sizeof(err)),
                                 0);
                st.len += len;
        }
        st.off[n] = st.len;
        return st;
}

static void free_stream(stream_t *st) {
        free(st->buf);
        free(st->off);
}

/* The next n sessions of r are fw_gen_session(seed, 0..n-1), field for field, then the end. */
static void expect_generated(fw_session_reader_t *r, uint64_t seed, size_t n) {
        fw_session_t s, want;
        for (size_t i = 0; i < n; i++) {
                int rc = fw_session_reader_next(r, &s, err, sizeof(err));
                if (rc != 1)
                        fail_msg("record %zu: %d %s", i, rc, err);
                fw_gen_session(seed, i, &want);
                assert_true(fw_session_equal(&s, &want));
        }
        expect_end(r);
}

/* 1,000 generated sessions written as records come back field for field (AUTO detects it). */
static void test_msgpack_roundtrip(void **state) {
        (void)state;
        stream_t st = make_stream(77, 1000);
        char path[256];
        fw_session_reader_t *r = open_bytes(st.buf, st.len, FW_SF_AUTO, path);
        assert_int_equal(fw_session_reader_format(r), FW_SF_MSGPACK);
        expect_generated(r, 77, st.n);
        fw_sf_stats_t sf = stats_of(r);
        assert_int_equal(sf.sessions, 1000);
        assert_int_equal(sf.bad, 0);
        assert_int_equal(sf.bytes, st.len);
        close_file(r, path);
        free_stream(&st);
}

/* kcat's default format ends each message with '\n': newlines between records are skipped. */
static void test_msgpack_newline_separated(void **state) {
        (void)state;
        stream_t st = make_stream(5, 50);
        char *buf = malloc(st.len + st.n);
        size_t len = 0;
        for (size_t i = 0; i < st.n; i++) {
                memcpy(buf + len, st.buf + st.off[i], st.off[i + 1] - st.off[i]);
                len += st.off[i + 1] - st.off[i];
                buf[len++] = '\n';
        }
        char path[256];
        fw_session_reader_t *r = open_bytes(buf, len, FW_SF_MSGPACK, path);
        expect_generated(r, 5, st.n);
        close_file(r, path);
        free(buf);
        free_stream(&st);
}

/* A stream cut inside its last record: every earlier record, then "truncated final record". */
static void test_msgpack_truncated(void **state) {
        (void)state;
        stream_t st = make_stream(9, 10);
        size_t cut_at[] = {1, 3, (st.off[10] - st.off[9]) / 2, st.off[10] - st.off[9] - 1};
        for (size_t c = 0; c < sizeof(cut_at) / sizeof(cut_at[0]); c++) {
                char path[256];
                fw_session_reader_t *r =
                        open_bytes(st.buf, st.off[9] + cut_at[c], FW_SF_AUTO, path);
                fw_session_t s;
                read_ok(r, 9);
                assert_int_equal(fw_session_reader_next(r, &s, err, sizeof(err)), -1);
                char want[600];
                snprintf(want, sizeof(want),
                         "%s: byte %zu: truncated final record: input ends %zu "
                         "bytes into it (9 records read)",
                         path, st.off[9], cut_at[c]);
                assert_string_equal(err, want);
                expect_end(r);
                close_file(r, path);
        }
        free_stream(&st);
}

/* Returned sessions must be originals, in order, none invented; returns how many were lost. */
static size_t check_subsequence(fw_session_reader_t *r, uint64_t seed, size_t n, size_t *errors) {
        fw_session_t s, want;
        size_t next = 0, got = 0;
        *errors = 0;
        for (;;) {
                int rc = fw_session_reader_next(r, &s, err, sizeof(err));
                if (rc == 0)
                        break;
                if (rc < 0) {
                        (*errors)++;
                        assert_non_null(strstr(err, ": byte "));
                        continue;
                }
                for (; next < n; next++) {
                        fw_gen_session(seed, next, &want);
                        if (fw_session_equal(&s, &want))
                                break;
                }
                if (next == n)
                        fail_msg("session %s is not one of the stream's, or out of order", s.id);
                next++;
                got++;
        }
        return n - got;
}

/* A corrupted byte: the record is reported with its offset and reading resumes at the next
 * record start (a map whose first key is "v"); a record that is well-formed msgpack but not a
 * valid fanwatch record is skipped alone. */
static void test_msgpack_corrupt(void **state) {
        (void)state;
        stream_t st = make_stream(11, 100);
        char path[256], want[600];
        fw_session_t s;

        /* 1. record 50's map header destroyed: resynchronised exactly at record 51 */
        st.buf[st.off[50]] = 0x00;
        fw_session_reader_t *r = open_bytes(st.buf, st.len, FW_SF_AUTO, path);
        read_ok(r, 50);
        assert_int_equal(fw_session_reader_next(r, &s, err, sizeof(err)), -1);
        snprintf(want, sizeof(want),
                 "%s: byte %zu: not a fanwatch record (byte 0x00 is not a msgpack map); skipped "
                 "%zu bytes to the next record at byte %zu",
                 path, st.off[50], st.off[51] - st.off[50], st.off[51]);
        assert_string_equal(err, want);
        fw_session_t w;
        for (size_t i = 51; i < 100; i++) {
                assert_int_equal(fw_session_reader_next(r, &s, err, sizeof(err)), 1);
                fw_gen_session(11, i, &w);
                assert_true(fw_session_equal(&s, &w));
        }
        expect_end(r);
        close_file(r, path);
        free_stream(&st);

        /* 2. record 20 says version 2: that record alone is refused */
        st = make_stream(11, 100);
        size_t vpos = st.off[20] + ((uint8_t)st.buf[st.off[20]] == 0xde ? 3 : 1) + 2;
        assert_int_equal(st.buf[vpos], 1);
        st.buf[vpos] = 2;
        r = open_bytes(st.buf, st.len, FW_SF_MSGPACK, path);
        size_t errors, lost = check_subsequence(r, 11, 100, &errors);
        assert_int_equal(lost, 1);
        assert_int_equal(errors, 1);
        close_file(r, path);
        free_stream(&st);

        /* 3. a string length inside record 70 corrupted: at most a few records lost, nothing
         * invented, later records read */
        st = make_stream(11, 100);
        size_t idpos = st.off[70] + ((uint8_t)st.buf[st.off[70]] == 0xde ? 3 : 1) + 3 + 3;
        assert_true((uint8_t)st.buf[idpos] == 0xd9 || ((uint8_t)st.buf[idpos] & 0xe0) == 0xa0);
        if ((uint8_t)st.buf[idpos] == 0xd9)
                st.buf[idpos + 1] = (char)0xff;
        else
                st.buf[idpos] = (char)0xa5; /* shorter: the rest of the id is read as msgpack */
        r = open_bytes(st.buf, st.len, FW_SF_MSGPACK, path);
        lost = check_subsequence(r, 11, 100, &errors);
        if (lost < 1 || lost > 3 || errors < 1 || errors > 3)
                fail_msg("lost %zu records with %zu errors", lost, errors);
        assert_true(errors >= 1 && errors <= 3);
        close_file(r, path);

        /* 4. every single-byte corruption of a short stream (four ways): never a crash, never
         * an invented session, at most 2 records lost to one bad byte (1 seen) */
        free_stream(&st);
        st = make_stream(13, 8);
        static const uint8_t masks[] = {0x5a, 0xff, 0x01, 0x80};
        size_t worst = 0;
        for (size_t m = 0; m < sizeof(masks); m++)
                for (size_t pos = 0; pos < st.len; pos++) {
                        char *copy = malloc(st.len);
                        memcpy(copy, st.buf, st.len);
                        copy[pos] = (char)(copy[pos] ^ masks[m]);
                        r = open_bytes(copy, st.len, FW_SF_MSGPACK, path);
                        fw_session_t x, y;
                        size_t got = 0;
                        int rc;
                        while ((rc = fw_session_reader_next(r, &x, err, sizeof(err))) != 0) {
                                if (rc < 0) {
                                        assert_non_null(strstr(err, ": byte "));
                                        continue;
                                }
                                /* a flipped value byte can still decode: the altered record
                                 * may differ, every other one must be an original */
                                int found = 0;
                                for (size_t i = 0; i < st.n && !found; i++) {
                                        fw_gen_session(13, i, &y);
                                        found = fw_session_equal(&x, &y) ||
                                                (pos >= st.off[i] && pos < st.off[i + 1]);
                                }
                                assert_true(found);
                                got++;
                        }
                        if (st.n - got > worst)
                                worst = st.n - got;
                        if (got + 2 < st.n)
                                fail_msg("byte %zu ^ 0x%02x: only %zu of %zu records read", pos,
                                         masks[m], got, st.n);
                        close_file(r, path);
                        free(copy);
                }
        print_message("worst loss to one corrupted byte: %zu records\n", worst);
        free_stream(&st);
}

/* Corruption with no record after it: a clear stop that says how many records were read. */
static void test_msgpack_stop(void **state) {
        (void)state;
        stream_t st = make_stream(3, 5);
        char *buf = malloc(st.len + 64);
        memcpy(buf, st.buf, st.len);
        memset(buf + st.len, 'x', 64);
        char path[256], want[600];
        fw_session_reader_t *r = open_bytes(buf, st.len + 64, FW_SF_AUTO, path);
        fw_session_t s;
        read_ok(r, 5);
        assert_int_equal(fw_session_reader_next(r, &s, err, sizeof(err)), -1);
        snprintf(want, sizeof(want),
                 "%s: byte %zu: not a fanwatch record (byte 0x78 is not a msgpack map); no "
                 "further record in the 64 bytes after it, stopping (5 records read)",
                 path, st.len);
        assert_string_equal(err, want);
        expect_end(r);
        close_file(r, path);

        /* an oversized map (a 2,000-byte string inside) is an error, then the next record */
        uint8_t big[2100];
        size_t n = 0;
        big[n++] = 0x82;
        big[n++] = 0xa1;
        big[n++] = 'v';
        big[n++] = 0x01;
        big[n++] = 0xa1;
        big[n++] = 'x';
        big[n++] = 0xda;
        big[n++] = 2000 >> 8;
        big[n++] = 2000 & 0xff;
        memset(big + n, 'y', 2000);
        n += 2000;
        char *buf2 = malloc(n + st.len);
        memcpy(buf2, big, n);
        memcpy(buf2 + n, st.buf, st.len);
        r = open_bytes(buf2, n + st.len, FW_SF_AUTO, path);
        assert_int_equal(fw_session_reader_next(r, &s, err, sizeof(err)), -1);
        assert_non_null(strstr(err, ": byte 0: record larger than 1024 bytes"));
        snprintf(want, sizeof(want), "next record at byte %zu", n);
        assert_non_null(strstr(err, want));
        read_ok(r, 5);
        expect_end(r);
        close_file(r, path);
        free(buf);
        free(buf2);
        free_stream(&st);
}

/* AUTO: '{' after whitespace is JSON, a map byte msgpack, anything else an error; empty is
 * JSON with no sessions; a missing file names the path. */
static void test_auto_detect(void **state) {
        (void)state;
        char path[256];
        fw_session_reader_t *r =
                open_text(" \n\t" NESTED("j", "10.0.0.1", "10.0.0.2", 9) "\n", FW_SF_AUTO, path);
        assert_int_equal(fw_session_reader_format(r), FW_SF_JSON);
        expect_session(r, "j", "10.0.0.1", 9);
        expect_end(r);
        close_file(r, path);

        r = open_text("", FW_SF_AUTO, path);
        assert_int_equal(fw_session_reader_format(r), FW_SF_JSON);
        expect_end(r);
        close_file(r, path);

        strcpy(path, temp_file("id,firstPacket\n", 15));
        assert_null(fw_session_reader_open(path, FW_SF_AUTO, err, sizeof(err)));
        assert_non_null(strstr(err, "cannot tell the format"));
        assert_non_null(strstr(err, path));
        /* forced JSON on the same file: one bad line */
        r = fw_session_reader_open(path, FW_SF_JSON, err, sizeof(err));
        assert_non_null(r);
        fw_session_t s;
        assert_int_equal(fw_session_reader_next(r, &s, err, sizeof(err)), -1);
        expect_end(r);
        close_file(r, path);

        assert_null(fw_session_reader_open("/nonexistent/sessions.jsonl", FW_SF_AUTO, err,
                                           sizeof(err)));
        assert_string_equal(err, "/nonexistent/sessions.jsonl: No such file or directory");
}

/* ---- the skipper ---- */

static void test_msgpack_skip(void **state) {
        (void)state;
        size_t len;
        static const struct {
                const char *bytes;
                size_t n;
                int rc;
                size_t len;
        } cases[] = {
                {"\x01", 1, 0, 1},
                {"\xc0", 1, 0, 1},
                {"\xc1", 1, -1, 0},
                {"\xcd\x01\x02", 3, 0, 3},
                {"\xcd\x01", 2, 1, 0},
                {"\xa3"
                 "abc",
                 4, 0, 4},
                {"\xa3"
                 "ab",
                 3, 1, 0},
                {"\x92\x01\x81\xa1k\xc3", 6, 0, 6},
                {"\x92\x01\x81\xa1k", 5, 1, 0},
                {"\xd4\x01\x02", 3, 0, 3},
                {"\xc7\x02\x05\x01\x02", 5, 0, 5},
                {"\xc7\x02\x05\x01", 4, 1, 0},
                {"\xdf\xff\xff\xff\xff\x01\x01", 7, 1, 0}, /* claims 4 billion pairs */
                {"\xdb\xff\xff\xff\xff"
                 "abc",
                 8, 1, 0}, /* claims 4 GiB of text */
                {"\xc6\xff\xff\xff\xff", 5, 1, 0},
                {"\xdd\x00\x00\x00\x02\x01\x02\x03", 8, 0, 7}, /* trailing byte not counted */
                {"", 0, 1, 0},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                int rc = fw_msgpack_skip((const uint8_t *)cases[i].bytes, cases[i].n, &len);
                if (rc != cases[i].rc || (rc == 0 && len != cases[i].len))
                        fail_msg("case %zu: rc %d len %zu", i, rc, len);
        }
        /* agrees with msgpack-c on every generated record and every prefix of one */
        stream_t st = make_stream(21, 200);
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        size_t off = 0;
        for (size_t i = 0; i < st.n; i++) {
                size_t before = off;
                assert_int_equal(msgpack_unpack_next(&u, st.buf, st.len, &off),
                                 MSGPACK_UNPACK_SUCCESS);
                assert_int_equal(
                        fw_msgpack_skip((const uint8_t *)st.buf + before, st.len - before, &len),
                        0);
                assert_int_equal(len, off - before);
                for (size_t k = 0; k < len; k++)
                        assert_int_equal(fw_msgpack_skip((const uint8_t *)st.buf + before, k, &len),
                                         1);
                len = off - before;
        }
        msgpack_unpacked_destroy(&u);
        free_stream(&st);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_json_shapes),
                cmocka_unit_test(test_json_fields),
                cmocka_unit_test(test_json_malformed_line),
                cmocka_unit_test(test_json_page_rejects),
                cmocka_unit_test(test_json_long_line),
                cmocka_unit_test(test_json_line_limit),
                cmocka_unit_test(test_msgpack_roundtrip),
                cmocka_unit_test(test_msgpack_newline_separated),
                cmocka_unit_test(test_msgpack_truncated),
                cmocka_unit_test(test_msgpack_corrupt),
                cmocka_unit_test(test_msgpack_stop),
                cmocka_unit_test(test_auto_detect),
                cmocka_unit_test(test_msgpack_skip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
