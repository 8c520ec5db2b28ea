/* Unit tests for common/arkime_page.c: Arkime /api/sessions bodies -> fw_session_t.
 * Sample responses live in $FW_TEST_DATA/arkime/ (FW_TEST_DATA is set by ctest); single-field
 * cases are built inline from a flat (flatten=1) item with one field replaced.
 * cmocka.h needs the four headers before it, in this order. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arkime_page.h"
#include "session_gen.h"

/* ---- helpers ---- */

/* Read $FW_TEST_DATA/arkime/<name> into a malloc'd buffer (not NUL-terminated on purpose). */
static char *read_data(const char *name, size_t *len) {
        char path[4096];
        const char *dir = getenv("FW_TEST_DATA");
        if (!dir) {
                fprintf(stderr, "FW_TEST_DATA is not set (run through ctest)\n");
                fail();
        }
        snprintf(path, sizeof(path), "%s/arkime/%s", dir, name);
        FILE *f = fopen(path, "rb");
        if (!f) {
                fprintf(stderr, "cannot open %s\n", path);
                fail();
        }
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        long size = ftell(f);
        assert_true(size > 0);
        rewind(f);
        char *buf = malloc((size_t)size);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
        fclose(f);
        *len = (size_t)size;
        return buf;
}

/* Parse a data file expecting success. */
static void parse_file(fw_arkime_page_t *p, const char *name) {
        char err[256] = "";
        size_t len;
        char *body = read_data(name, &len);
        int rc = fw_arkime_page_parse(p, body, len, err, sizeof(err));
        free(body);
        if (rc != 0)
                fprintf(stderr, "%s: %s\n", name, err);
        assert_int_equal(rc, 0);
        assert_string_equal(err, "");
}

/* Parse a data file expecting a whole-response error; err receives it. */
static void parse_file_fail(fw_arkime_page_t *p, const char *name, char *err, size_t errlen) {
        size_t len;
        char *body = read_data(name, &len);
        assert_int_equal(fw_arkime_page_parse(p, body, len, err, errlen), -1);
        free(body);
        assert_int_equal(p->count, 0);
        assert_int_equal(p->rejected, 0);
}

static int parse_str(fw_arkime_page_t *p, const char *body, char *err, size_t errlen) {
        return fw_arkime_page_parse(p, body, strlen(body), err, errlen);
}

static fw_ip_t ip(const char *s) {
        fw_ip_t a;
        assert_int_equal(fw_ip_parse(s, &a), 0);
        return a;
}

/* Field by field, so a failure names the field; then the model's own equality. */
static void expect_session(const fw_session_t *got, const fw_session_t *want) {
        char a[FW_IP_STRLEN], b[FW_IP_STRLEN];
        assert_string_equal(got->id, want->id);
        assert_string_equal(got->root_id, want->root_id);
        assert_string_equal(got->node, want->node);
        assert_string_equal(got->community_id, want->community_id);
        assert_int_equal(got->first_packet_ms, want->first_packet_ms);
        assert_int_equal(got->last_packet_ms, want->last_packet_ms);
        assert_int_equal(got->db_time_ms, want->db_time_ms);
        assert_int_equal(got->src_ip.family, want->src_ip.family);
        assert_string_equal(fw_ip_format(&got->src_ip, a, sizeof(a)),
                            fw_ip_format(&want->src_ip, b, sizeof(b)));
        assert_int_equal(got->dst_ip.family, want->dst_ip.family);
        assert_string_equal(fw_ip_format(&got->dst_ip, a, sizeof(a)),
                            fw_ip_format(&want->dst_ip, b, sizeof(b)));
        assert_int_equal(got->src_port, want->src_port);
        assert_int_equal(got->dst_port, want->dst_port);
        assert_int_equal(got->ip_protocol, want->ip_protocol);
        assert_int_equal(got->src_packets, want->src_packets);
        assert_int_equal(got->dst_packets, want->dst_packets);
        assert_int_equal(got->src_bytes, want->src_bytes);
        assert_int_equal(got->dst_bytes, want->dst_bytes);
        assert_int_equal(got->src_databytes, want->src_databytes);
        assert_int_equal(got->dst_databytes, want->dst_databytes);
        assert_int_equal(got->tcpflags.syn, want->tcpflags.syn);
        assert_int_equal(got->tcpflags.syn_ack, want->tcpflags.syn_ack);
        assert_int_equal(got->tcpflags.ack, want->tcpflags.ack);
        assert_int_equal(got->tcpflags.psh, want->tcpflags.psh);
        assert_int_equal(got->tcpflags.fin, want->tcpflags.fin);
        assert_int_equal(got->tcpflags.rst, want->tcpflags.rst);
        assert_int_equal(got->tcpflags.urg, want->tcpflags.urg);
        assert_int_equal(got->tcpflags.src_zero, want->tcpflags.src_zero);
        assert_int_equal(got->tcpflags.dst_zero, want->tcpflags.dst_zero);
        assert_true(fw_session_equal(got, want));
}

/* ---- inline single-item bodies: a flat item with one field replaced, removed or added ---- */

typedef struct kv {
        const char *key;
        const char *value; /* JSON text */
} kv_t;

static const kv_t base_item[] = {
        {"id", "\"3@240518-abc\""},
        {"node", "\"sensor01\""},
        {"firstPacket", "1716026405123"},
        {"lastPacket", "1716026466789"},
        {"@timestamp", "1716026530456"},
        {"ipProtocol", "6"},
        {"protocol", "[\"tcp\",\"smb\"]"},
        {"source.ip", "\"10.0.0.5\""},
        {"source.port", "51544"},
        {"source.packets", "12"},
        {"source.bytes", "1530"},
        {"destination.ip", "\"10.0.0.6\""},
        {"destination.port", "445"},
        {"destination.packets", "10"},
        {"destination.bytes", "6120"},
        {"client.bytes", "517"},
        {"server.bytes", "4800"},
        {"network.community_id", "\"1:LQU9qZlK+B5F3KDmev6m5PMibrg=\""},
        {"tcpflags.syn", "1"},
        {"tcpflags.ack", "4"},
};
#define NBASE (sizeof(base_item) / sizeof(base_item[0]))

/* {"data":[{base item with key set to value (NULL removes it)}],...} in a static buffer. */
static const char *body_with(const char *key, const char *value) {
        static char buf[16384];
        size_t o = 0;
        int found = 0, first = 1;

        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "{\"data\":[{");
        for (size_t i = 0; i < NBASE; i++) {
                const char *v = base_item[i].value;
                if (key != NULL && strcmp(key, base_item[i].key) == 0) {
                        found = 1;
                        v = value;
                }
                if (v == NULL)
                        continue;
                o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s\"%s\":%s", first ? "" : ",",
                                      base_item[i].key, v);
                first = 0;
        }
        if (key != NULL && !found && value != NULL)
                o += (size_t)snprintf(buf + o, sizeof(buf) - o, ",\"%s\":%s", key, value);
        assert_true(o + 64 < sizeof(buf));
        snprintf(buf + o, sizeof(buf) - o, "}],\"recordsTotal\":1843200,\"recordsFiltered\":1}");
        return buf;
}

/* Parse the base item with key=value, expecting it to be accepted; returns the session. */
static fw_session_t accept_with(const char *key, const char *value) {
        fw_arkime_page_t p;
        char err[256];
        fw_arkime_page_init(&p);
        assert_int_equal(parse_str(&p, body_with(key, value), err, sizeof(err)), 0);
        if (p.rejected)
                fprintf(stderr, "%s=%s: %s\n", key, value ? value : "(removed)", p.first_reject);
        assert_int_equal(p.rejected, 0);
        assert_int_equal(p.count, 1);
        fw_session_t s = p.sessions[0];
        fw_arkime_page_free(&p);
        return s;
}

/* Parse the base item with key=value, expecting it to be rejected with exactly `expect`. */
static void reject_with(const char *key, const char *value, const char *expect) {
        fw_arkime_page_t p;
        char err[256];
        fw_arkime_page_init(&p);
        assert_int_equal(parse_str(&p, body_with(key, value), err, sizeof(err)), 0);
        assert_int_equal(p.count, 0);
        assert_int_equal(p.rejected, 1);
        assert_string_equal(p.first_reject, expect);
        assert_int_equal(p.records_total, 1843200);
        assert_int_equal(p.records_filtered, 1);
        fw_arkime_page_free(&p);
}

/* ---- sample responses ---- */

static void test_nested_v5_response(void **state) {
        (void)state;
        fw_arkime_page_t p;
        fw_session_t w;
        fw_arkime_page_init(&p);
        parse_file(&p, "sessions_nested.json");
        assert_int_equal(p.count, 6);
        assert_int_equal(p.rejected, 0);
        assert_string_equal(p.first_reject, "");
        assert_int_equal(p.records_total, 1843200);
        assert_int_equal(p.records_filtered, 6);

        /* [0] IPv4 TCP, every field present */
        fw_session_init(&w);
        strcpy(w.id, "3@240518-AQBnm2Zk9T1aQ8f2cXlq0oWe");
        strcpy(w.node, "sensor01");
        strcpy(w.community_id, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
        w.first_packet_ms = 1716026405123;
        w.last_packet_ms = 1716026466789;
        w.db_time_ms = 1716026530456;
        w.src_ip = ip("10.0.0.5");
        w.dst_ip = ip("93.184.216.34");
        w.src_port = 51544;
        w.dst_port = 443;
        w.ip_protocol = 6;
        w.src_packets = 12;
        w.dst_packets = 10;
        w.src_bytes = 1530;
        w.dst_bytes = 6120;
        w.src_databytes = 517;
        w.dst_databytes = 4800;
        fw_gen_flags(&w, 1, 1, 4, 6, 2, 0, 0, 0, 0);
        expect_session(&p.sessions[0], &w);
        assert_int_equal(p.sessions[0].src_ip.family, 4);

        /* [1] IPv6 TCP to 445 with a RST and zero-window packets */
        fw_session_init(&w);
        strcpy(w.id, "3@240518-BwAQxK9rT1mZ8f2cXlq0oWeP");
        strcpy(w.node, "sensor02");
        strcpy(w.community_id, "1:k7jEa9l8u7nkUjq5ISVvNgSI2pM=");
        w.first_packet_ms = 1716026410001;
        w.last_packet_ms = 1716026412345;
        w.db_time_ms = 1716026521000;
        w.src_ip = ip("2001:db8:0:1::15");
        w.dst_ip = ip("2001:db8:0:2::53");
        w.src_port = 49822;
        w.dst_port = 445;
        w.ip_protocol = 6;
        w.src_packets = 8;
        w.dst_packets = 6;
        w.src_bytes = 1042;
        w.dst_bytes = 910;
        w.src_databytes = 318;
        w.dst_databytes = 240;
        fw_gen_flags(&w, 1, 1, 3, 4, 0, 1, 0, 0, 2);
        expect_session(&p.sessions[1], &w);
        assert_int_equal(p.sessions[1].src_ip.family, 6);
        assert_int_equal(p.sessions[1].src_ip.addr[0], 0x20);
        assert_int_equal(p.sessions[1].src_ip.addr[15], 0x15);

        /* [2] second piece of a split session: rootId, original firstPacket */
        assert_string_equal(p.sessions[2].id, "3@240518-CgRkPq0c4mVbHx7Tj2sYuN8w");
        assert_string_equal(p.sessions[2].root_id, "240518-ZmVgN3kq1PdC7wqLr0tXbA4s");
        assert_int_equal(p.sessions[2].first_packet_ms, 1716025200000);
        assert_int_equal(p.sessions[2].last_packet_ms, 1716026399876);
        assert_int_equal(p.sessions[2].src_packets, 10000);
        assert_int_equal(p.sessions[2].tcpflags.syn, 0);
        assert_int_equal(p.sessions[2].tcpflags.ack, 9800);

        /* [3] UDP DNS: no tcpflags object, so every flag is absent */
        fw_session_init(&w);
        strcpy(w.id, "3@240518-DhLw5o3aT9rQy2nXz8c1VbKm");
        strcpy(w.node, "sensor01");
        strcpy(w.community_id, "1:Yv1z0e5r0RzQq7mQj6x4d2c1b0A=");
        w.first_packet_ms = 1716026420500;
        w.last_packet_ms = 1716026420531;
        w.db_time_ms = 1716026486012;
        w.src_ip = ip("10.0.0.5");
        w.dst_ip = ip("10.0.0.2");
        w.src_port = 53211;
        w.dst_port = 53;
        w.ip_protocol = 17;
        w.src_packets = 1;
        w.dst_packets = 1;
        w.src_bytes = 74;
        w.dst_bytes = 190;
        w.src_databytes = 32;
        w.dst_databytes = 148;
        expect_session(&p.sessions[3], &w);

        /* [4] ICMP: no ports, no community id */
        assert_int_equal(p.sessions[4].ip_protocol, 1);
        assert_int_equal(p.sessions[4].src_port, 0);
        assert_int_equal(p.sessions[4].dst_port, 0);
        assert_string_equal(p.sessions[4].community_id, "");
        assert_string_equal(p.sessions[4].node, "sensor03");
        assert_int_equal(p.sessions[4].tcpflags.syn, FW_ABSENT);

        /* [5] one-way UDP with Arkime's -1 counters */
        assert_int_equal(p.sessions[5].src_packets, 3);
        assert_int_equal(p.sessions[5].src_bytes, 270);
        assert_int_equal(p.sessions[5].dst_packets, FW_ABSENT);
        assert_int_equal(p.sessions[5].dst_bytes, FW_ABSENT);
        assert_int_equal(p.sessions[5].src_databytes, FW_ABSENT);
        assert_int_equal(p.sessions[5].dst_databytes, FW_ABSENT);
        assert_int_equal(fw_session_packets(&p.sessions[5]), FW_ABSENT);
        assert_int_equal(p.sessions[5].dst_ip.family, 4);
        fw_arkime_page_free(&p);
}

static void test_flat_response(void **state) {
        (void)state;
        fw_arkime_page_t p;
        fw_session_t w;
        fw_arkime_page_init(&p);
        parse_file(&p, "sessions_flat.json");
        assert_int_equal(p.count, 4);
        assert_int_equal(p.rejected, 0);
        assert_int_equal(p.records_filtered, 4);

        /* [0] dotted keys */
        fw_session_init(&w);
        strcpy(w.id, "3@240518-GkOz8r6dW2uTb5qA2Bf4YeNp");
        strcpy(w.node, "sensor01");
        strcpy(w.community_id, "1:wq3HDn0lYcPVx1V3lqYw0o0Lx1g=");
        w.first_packet_ms = 1716026500100;
        w.last_packet_ms = 1716026500900;
        w.db_time_ms = 1716026566000;
        w.src_ip = ip("10.0.0.5");
        w.dst_ip = ip("10.0.1.30");
        w.src_port = 51600;
        w.dst_port = 5985;
        w.ip_protocol = 6;
        w.src_packets = 5;
        w.dst_packets = 4;
        w.src_bytes = 620;
        w.dst_bytes = 1800;
        w.src_databytes = 300;
        w.dst_databytes = 1500;
        fw_gen_flags(&w, 1, 1, 2, 2, 2, 0, 0, 0, 0);
        expect_session(&p.sessions[0], &w);

        /* [1] IPv6, every singleton as a 1-element array, @timestamp as ISO-8601 text */
        fw_session_init(&w);
        strcpy(w.id, "3@240518-HlP09s7eX3vUc6rB3Cg5ZfOq");
        strcpy(w.node, "sensor02");
        strcpy(w.community_id, "1:mO3mK4qjlCwKp2Jb5v0kT8zQeHs=");
        w.first_packet_ms = 1716026501000;
        w.last_packet_ms = 1716026501001;
        w.db_time_ms = 1716026530456;
        w.src_ip = ip("fe80::a00:27ff:fe4e:66a1");
        w.dst_ip = ip("ff02::1:2");
        w.src_port = 546;
        w.dst_port = 547;
        w.ip_protocol = 17;
        w.src_packets = 1;
        w.dst_packets = 0;
        w.src_bytes = 118;
        w.dst_bytes = 0;
        w.src_databytes = 56;
        w.dst_databytes = 0;
        expect_session(&p.sessions[1], &w);

        /* [2] integral reals for the times */
        assert_int_equal(p.sessions[2].first_packet_ms, 1716026405123);
        assert_int_equal(p.sessions[2].last_packet_ms, 1716026466789);
        assert_int_equal(p.sessions[2].db_time_ms, 1716026530456);
        assert_int_equal(p.sessions[2].dst_port, 3389);
        assert_int_equal(p.sessions[2].tcpflags.syn, 1);
        assert_int_equal(p.sessions[2].tcpflags.syn_ack, 0);

        /* [3] nested and dotted mixed in one item */
        assert_int_equal(p.sessions[3].src_ip.family, 4);
        assert_int_equal(p.sessions[3].src_port, 51700);
        assert_int_equal(p.sessions[3].src_packets, 2);
        assert_int_equal(p.sessions[3].src_bytes, 120);
        assert_int_equal(p.sessions[3].dst_port, 135);
        assert_int_equal(p.sessions[3].dst_packets, 1);
        assert_int_equal(p.sessions[3].dst_bytes, 60);
        assert_int_equal(p.sessions[3].tcpflags.syn, 1);
        assert_int_equal(p.sessions[3].tcpflags.rst, 1);
        assert_int_equal(p.sessions[3].tcpflags.ack, FW_ABSENT);
        assert_int_equal(p.sessions[3].db_time_ms, FW_ABSENT);
        fw_arkime_page_free(&p);
}

/* The nested and the flat form of the same session give the same record. */
static void test_nested_equals_flat(void **state) {
        (void)state;
        const char *nested =
                "{\"data\":[{\"id\":\"3@240518-x\",\"firstPacket\":1,\"lastPacket\":2,"
                "\"ipProtocol\":6,\"source\":{\"ip\":\"10.0.0.1\",\"port\":1,\"packets\":3,"
                "\"bytes\":4},\"destination\":{\"ip\":\"::1\",\"port\":5,\"packets\":6,"
                "\"bytes\":7},\"client\":{\"bytes\":8},\"server\":{\"bytes\":9},\"network\":"
                "{\"community_id\":\"1:x\"},\"tcpflags\":{\"syn\":1,\"syn-ack\":2,\"ack\":3,"
                "\"psh\":4,\"fin\":5,\"rst\":6,\"urg\":7,\"srcZero\":8,\"dstZero\":9}}]}";
        const char *flat =
                "{\"data\":[{\"id\":\"3@240518-x\",\"firstPacket\":1,\"lastPacket\":2,"
                "\"ipProtocol\":6,\"source.ip\":\"10.0.0.1\",\"source.port\":1,"
                "\"source.packets\":3,\"source.bytes\":4,\"destination.ip\":\"::1\","
                "\"destination.port\":5,\"destination.packets\":6,\"destination.bytes\":7,"
                "\"client.bytes\":8,\"server.bytes\":9,\"network.community_id\":\"1:x\","
                "\"tcpflags.syn\":1,\"tcpflags.syn-ack\":2,\"tcpflags.ack\":3,\"tcpflags.psh\":4,"
                "\"tcpflags.fin\":5,\"tcpflags.rst\":6,\"tcpflags.urg\":7,\"tcpflags.srcZero\":8,"
                "\"tcpflags.dstZero\":9}]}";
        fw_arkime_page_t a, b;
        char err[256];
        fw_arkime_page_init(&a);
        fw_arkime_page_init(&b);
        assert_int_equal(parse_str(&a, nested, err, sizeof(err)), 0);
        assert_int_equal(parse_str(&b, flat, err, sizeof(err)), 0);
        assert_int_equal(a.count, 1);
        assert_int_equal(b.count, 1);
        expect_session(&a.sessions[0], &b.sessions[0]);
        assert_int_equal(a.sessions[0].tcpflags.dst_zero, 9);
        assert_int_equal(a.sessions[0].tcpflags.src_zero, 8);
        assert_int_equal(a.sessions[0].tcpflags.syn_ack, 2);
        assert_int_equal(a.records_total, -1);
        assert_int_equal(a.records_filtered, -1);
        fw_arkime_page_free(&a);
        fw_arkime_page_free(&b);
}

static void test_rejects_file(void **state) {
        (void)state;
        fw_arkime_page_t p;
        fw_arkime_page_init(&p);
        parse_file(&p, "sessions_rejects.json");
        /* cJSON holds numbers as doubles: PtX8's "packets":9007199254740993 (2^53 + 1) reads as
         * 2^53 = FW_COUNTER_MAX and is accepted; with jansson it was rejected as out of range */
        assert_int_equal(p.count, 4);
        assert_int_equal(p.rejected, 4);
        assert_string_equal(
                p.first_reject,
                "session 3@240518-LpT4Dw1iB7zYg0vF7Gk9DjSu: field 'lastPacket': missing");
        assert_string_equal(p.sessions[0].id, "3@240518-KoS3Cv0hA6yXf9uE6Fj8CiRt");
        assert_string_equal(p.sessions[1].id, "3@240518-OsW7Gz4lE0CBj3yI0Jn2GmVx");
        assert_int_equal(p.sessions[1].ip_protocol, 58);
        assert_string_equal(p.sessions[2].id, "3@240518-PtX8H05mF1DCk4zJ1Ko3HnWy");
        assert_int_equal(p.sessions[2].dst_packets, FW_COUNTER_MAX);
        assert_string_equal(p.sessions[3].id, "3@240518-QuY9I16nG2EDl50K2Lp4IoXz");
        assert_int_equal(p.records_filtered, 8);
        fw_arkime_page_free(&p);
}

/* ---- whole-response errors ---- */

static void test_arkime_error(void **state) {
        (void)state;
        fw_arkime_page_t p;
        char err[512];
        fw_arkime_page_init(&p);

        parse_file_fail(&p, "error_unknown_field.json", err, sizeof(err));
        assert_string_equal(err, "arkime error: Unknown field ip.sorce");
        assert_int_equal(p.records_total, -1);

        /* jison's multi-line message comes out on one line */
        parse_file_fail(&p, "error_parse.json", err, sizeof(err));
        assert_string_equal(err, "arkime error: Error: Parse error on line 1: ip.src == 10.0.0.5 "
                                 "&& port.dst ==  ------------------------------------^ Expecting "
                                 "'STR', 'QUOTEDSTR', 'REGEXSTR', 'LIST', got 'EOF'");
        assert_null(strchr(err, '\n'));

        /* never the whole body */
        parse_file_fail(&p, "error_long.json", err, sizeof(err));
        assert_int_equal(strncmp(err, "arkime error: Unknown field xxxx", 32), 0);
        assert_int_equal(strlen(err), strlen("arkime error: ") + FW_ARKIME_ERRTEXT_MAX + 3);
        assert_string_equal(err + strlen(err) - 4, "x...");

        /* older viewers: bsqErr; a non-string error; an empty one */
        assert_int_equal(parse_str(&p,
                                   "{\"recordsTotal\":0,\"bsqErr\":\"Unknown protocol string "
                                   "blah\"}",
                                   err, sizeof(err)),
                         -1);
        assert_string_equal(err, "arkime error: Unknown protocol string blah");
        assert_int_equal(
                parse_str(&p, "{\"data\":[],\"error\":{\"type\":\"x\"}}", err, sizeof(err)), -1);
        assert_string_equal(err, "arkime error: an object");
        assert_int_equal(parse_str(&p, "{\"data\":[],\"error\":\"\"}", err, sizeof(err)), -1);
        assert_string_equal(err, "arkime error: (empty message)");

        /* a UTF-8 message cut at the limit is not split inside a character */
        char body[1024];
        char msg[FW_ARKIME_ERRTEXT_MAX + 16];
        memset(msg, 'a', FW_ARKIME_ERRTEXT_MAX - 1);
        strcpy(msg + FW_ARKIME_ERRTEXT_MAX - 1, "\xc3\xa9tail"); /* e-acute straddles the limit */
        snprintf(body, sizeof(body), "{\"data\":[],\"error\":\"%s\"}", msg);
        assert_int_equal(parse_str(&p, body, err, sizeof(err)), -1);
        assert_int_equal(strlen(err), strlen("arkime error: ") + FW_ARKIME_ERRTEXT_MAX - 1 + 3);

        /* "error": null is not an error */
        assert_int_equal(
                parse_str(&p, "{\"data\":[],\"error\":null,\"recordsTotal\":5}", err, sizeof(err)),
                0);
        assert_int_equal(p.count, 0);
        assert_int_equal(p.records_total, 5);
        fw_arkime_page_free(&p);
}

static void test_malformed_json(void **state) {
        (void)state;
        fw_arkime_page_t p;
        char err[512];
        fw_arkime_page_init(&p);

        /* cJSON gives no reason, only the 0-based offset where it stopped (at or just after the
         * offending byte); the message quotes the text there and the body's length */
        parse_file_fail(&p, "truncated.json", err, sizeof(err));
        assert_string_equal(err,
                            "not JSON at byte 695: syntax error near '1:LQU' (body is 700 bytes)");

        assert_int_equal(parse_str(&p, "{\"data\":[{\"id\":\"a\",}]}", err, sizeof(err)), -1);
        assert_string_equal(err, "not JSON at byte 20: syntax error near ']}' (body is 22 bytes)");

        assert_int_equal(parse_str(&p, "   \n ", err, sizeof(err)), -1);
        assert_string_equal(err, "not JSON at byte 4: syntax error near ' ' (body is 5 bytes)");

        /* the quote is cut at 24 bytes and kept on one line */
        assert_int_equal(
                parse_str(&p, "<html><body>502 Bad Gateway</body></html>", err, sizeof(err)), -1);
        assert_string_equal(err, "not JSON at byte 0: syntax error near '<html><body>502 Bad "
                                 "Gate...' (body is 41 bytes)");
        assert_int_equal(parse_str(&p, "{\"data\":[\n\x01}", err, sizeof(err)), -1);
        assert_string_equal(err, "not JSON at byte 11: syntax error near '}' (body is 12 bytes)");
        /* cJSON is lenient where jansson was not: control characters count as blanks between
         * tokens and are taken as they are inside strings */
        assert_int_equal(
                parse_str(&p, "{\"data\":[\x01],\"recordsTotal\":\x02 5}", err, sizeof(err)), 0);
        assert_int_equal(p.records_total, 5);

        /* an integer literal beyond 64 bits no longer fails the page (jansson's "too big integer"):
         * cJSON reads it as a double, and the item is rejected as out of range */
        reject_with("source.packets", "18446744073709551616",
                    "session 3@240518-abc: field 'source.packets': 1.84467440737096e+19 out of "
                    "range 0..9007199254740992");

        /* trailing garbage; trailing blanks are fine */
        assert_int_equal(parse_str(&p, "{\"data\":[]} x", err, sizeof(err)), -1);
        assert_string_equal(
                err, "not JSON at byte 12: data after the JSON value near 'x' (body is 13 bytes)");
        assert_int_equal(parse_str(&p, "{\"data\":[]}\r\n\t ", err, sizeof(err)), 0);
        /* a length that counts the terminating NUL leaves a NUL after the value */
        assert_int_equal(fw_arkime_page_parse(&p, "{\"data\":[]}", 12, err, sizeof(err)), -1);
        assert_string_equal(
                err, "not JSON at byte 11: data after the JSON value near ' ' (body is 12 bytes)");

        /* empty and missing bodies */
        assert_int_equal(fw_arkime_page_parse(&p, "", 0, err, sizeof(err)), -1);
        assert_string_equal(err, "empty response body");
        assert_int_equal(fw_arkime_page_parse(&p, NULL, 10, err, sizeof(err)), -1);
        assert_string_equal(err, "empty response body");

        /* the body need not be NUL-terminated: only len bytes are read */
        const char *two = "{\"data\":[]}{\"data\":[]}";
        assert_int_equal(fw_arkime_page_parse(&p, two, 11, err, sizeof(err)), 0);

        /* err may be NULL or tiny */
        assert_int_equal(parse_str(&p, "[", NULL, 0), -1);
        char tiny[8];
        assert_int_equal(parse_str(&p, "[", tiny, sizeof(tiny)), -1);
        assert_string_equal(tiny, "not JSO");
        assert_int_equal(p.count, 0);
        fw_arkime_page_free(&p);
}

static void test_bad_shape(void **state) {
        (void)state;
        fw_arkime_page_t p;
        char err[256];
        fw_arkime_page_init(&p);

        assert_int_equal(parse_str(&p, "[{\"id\":\"a\"}]", err, sizeof(err)), -1);
        assert_string_equal(err, "response is an array, not a JSON object");
        /* cJSON, unlike jansson, accepts any value at the top level */
        assert_int_equal(parse_str(&p, "\"data\"", err, sizeof(err)), -1);
        assert_string_equal(err, "response is a string, not a JSON object");
        assert_int_equal(parse_str(&p, "42", err, sizeof(err)), -1);
        assert_string_equal(err, "response is a number, not a JSON object");
        assert_int_equal(parse_str(&p, "null", err, sizeof(err)), -1);
        assert_string_equal(err, "response is null, not a JSON object");
        assert_int_equal(parse_str(&p, "{\"recordsTotal\":3}", err, sizeof(err)), -1);
        assert_string_equal(err, "response has no \"data\" member");
        assert_int_equal(parse_str(&p, "{\"data\":{}}", err, sizeof(err)), -1);
        assert_string_equal(err, "\"data\" is an object, not an array");
        assert_int_equal(parse_str(&p, "{\"data\":null}", err, sizeof(err)), -1);
        assert_string_equal(err, "\"data\" is null, not an array");

        /* a non-object element fails the page even after good items */
        const char *good = body_with(NULL, NULL);
        char body[4096];
        snprintf(body, sizeof(body), "%.*s,3,\"x\"]}", (int)(strstr(good, "}]") - good + 1), good);
        assert_int_equal(parse_str(&p, body, err, sizeof(err)), -1);
        assert_string_equal(err, "data[1] is a number, not an object");
        assert_int_equal(p.count, 0);
        assert_int_equal(p.rejected, 0);
        assert_int_equal(p.records_total, -1);

        assert_int_equal(parse_str(&p, "{\"data\":[[]]}", err, sizeof(err)), -1);
        assert_string_equal(err, "data[0] is an array, not an object");

        /* an empty page is fine */
        assert_int_equal(parse_str(&p, "{\"data\":[],\"recordsTotal\":0,\"recordsFiltered\":0}",
                                   err, sizeof(err)),
                         0);
        assert_int_equal(p.count, 0);
        assert_int_equal(p.records_total, 0);
        assert_int_equal(p.records_filtered, 0);

        /* records counts that are not non-negative integers are -1 */
        assert_int_equal(parse_str(&p,
                                   "{\"data\":[],\"recordsTotal\":\"7\",\"recordsFiltered\":-2}",
                                   err, sizeof(err)),
                         0);
        assert_int_equal(p.records_total, -1);
        assert_int_equal(p.records_filtered, -1);
        fw_arkime_page_free(&p);
}

/* ---- per-item rejections, each naming the session and the field ---- */

static void test_missing_required(void **state) {
        (void)state;
        reject_with("id", NULL, "data[0]: field 'id': missing");
        reject_with("firstPacket", NULL, "session 3@240518-abc: field 'firstPacket': missing");
        reject_with("lastPacket", NULL, "session 3@240518-abc: field 'lastPacket': missing");
        reject_with("source.ip", NULL, "session 3@240518-abc: field 'source.ip': missing");
        reject_with("destination.ip", NULL,
                    "session 3@240518-abc: field 'destination.ip': missing");
        reject_with("ipProtocol", NULL, "session 3@240518-abc: field 'ipProtocol': missing");
        /* null and [] are absent too */
        reject_with("destination.ip", "null",
                    "session 3@240518-abc: field 'destination.ip': missing");
        reject_with("firstPacket", "[]", "session 3@240518-abc: field 'firstPacket': missing");
        reject_with("id", "[null]", "data[0]: field 'id': missing");
}

static void test_wrong_types(void **state) {
        (void)state;
        reject_with("id", "\"\"", "data[0]: field 'id': empty");
        reject_with("id", "42", "data[0]: field 'id': expected a string, got 42");
        reject_with("lastPacket", "\"1716026466789\"",
                    "session 3@240518-abc: field 'lastPacket': expected a number, got string "
                    "\"1716026466789\"");
        reject_with(
                "ipProtocol", "\"6\"",
                "session 3@240518-abc: field 'ipProtocol': expected a number, got string \"6\"");
        reject_with("source.ip", "167772165",
                    "session 3@240518-abc: field 'source.ip': expected a string, got 167772165");
        reject_with("source.ip", "\"10.0.0.300\"",
                    "session 3@240518-abc: field 'source.ip': \"10.0.0.300\" is not an IP address");
        reject_with("destination.ip", "\"[2001:db8::1]\"",
                    "session 3@240518-abc: field 'destination.ip': \"[2001:db8::1]\" is not an IP "
                    "address");
        reject_with("tcpflags.ack", "true",
                    "session 3@240518-abc: field 'tcpflags.ack': expected a number, got true");
        reject_with("node", "{}",
                    "session 3@240518-abc: field 'node': expected a string, got an "
                    "object");
        reject_with("rootId", "false",
                    "session 3@240518-abc: field 'rootId': expected a string, got false");
        reject_with("source.packets", "1.5",
                    "session 3@240518-abc: field 'source.packets': 1.5 is not an integer");
        reject_with("@timestamp", "\"yesterday\"",
                    "session 3@240518-abc: field '@timestamp': \"yesterday\" is not an ISO-8601 "
                    "time");
        reject_with("@timestamp", "\"2024-05-18T10:02:10\"",
                    "session 3@240518-abc: field '@timestamp': \"2024-05-18T10:02:10\" is not an "
                    "ISO-8601 time");
        reject_with("@timestamp", "\"2023-02-29T10:02:10Z\"",
                    "session 3@240518-abc: field '@timestamp': \"2023-02-29T10:02:10Z\" is not an "
                    "ISO-8601 time");
        reject_with("@timestamp", "{\"ms\":1}",
                    "session 3@240518-abc: field '@timestamp': expected a number, got an object");
}

static void test_too_long_strings(void **state) {
        (void)state;
        char value[512], expect[256];
        value[0] = '"';
        memset(value + 1, 'A', 200);
        strcpy(value + 201, "\"");
        reject_with("id", value, "data[0]: field 'id': too long (200 bytes, max 127)");
        /* the largest id that fits */
        strcpy(value + 1 + FW_SESSION_ID_MAX, "\"");
        fw_session_t s = accept_with("id", value);
        assert_int_equal(strlen(s.id), FW_SESSION_ID_MAX);

        memset(value + 1, 'c', 70);
        strcpy(value + 71, "\"");
        snprintf(expect, sizeof(expect),
                 "session 3@240518-abc: field 'network.community_id': too long (70 bytes, max %d)",
                 FW_COMMUNITY_ID_MAX);
        reject_with("network.community_id", value, expect);
        memset(value + 1, 'n', 64);
        strcpy(value + 65, "\"");
        reject_with("node", value,
                    "session 3@240518-abc: field 'node': too long (64 bytes, max 63)");
}

static void test_ranges(void **state) {
        (void)state;
        reject_with("source.port", "70000",
                    "session 3@240518-abc: field 'source.port': 70000 out of range 0..65535");
        reject_with("destination.port", "-1",
                    "session 3@240518-abc: field 'destination.port': -1 out of range 0..65535");
        reject_with("ipProtocol", "256",
                    "session 3@240518-abc: field 'ipProtocol': 256 out of range 0..255");
        reject_with("ipProtocol", "-1",
                    "session 3@240518-abc: field 'ipProtocol': -1 out of range 0..255");
        /* numbers are doubles (cJSON): 2^53 + 2 is the first integer above the limit that a
         * double holds; 2^53 + 1 rounds to 2^53 and is accepted below */
        reject_with("source.packets", "9007199254740994",
                    "session 3@240518-abc: field 'source.packets': 9007199254740994 out of range "
                    "0..9007199254740992");
        reject_with("source.packets", "1e999",
                    "session 3@240518-abc: field 'source.packets': inf out of range "
                    "0..9007199254740992");
        reject_with("source.port", "70000.5",
                    "session 3@240518-abc: field 'source.port': 70000.5 is not an integer");
        reject_with("source.bytes", "1e300",
                    "session 3@240518-abc: field 'source.bytes': 1e+300 out of range "
                    "0..9007199254740992");
        reject_with("destination.bytes", "-5",
                    "session 3@240518-abc: field 'destination.bytes': -5 out of range "
                    "0..9007199254740992");
        reject_with("client.bytes", "-1e300",
                    "session 3@240518-abc: field 'client.bytes': -1e+300 out of range "
                    "0..9007199254740992");
        reject_with("tcpflags.syn", "2147483648",
                    "session 3@240518-abc: field 'tcpflags.syn': 2147483648 out of range "
                    "0..2147483647");
        reject_with("tcpflags.srcZero", "-3",
                    "session 3@240518-abc: field 'tcpflags.srcZero': -3 out of range "
                    "0..2147483647");
        reject_with("firstPacket", "-1",
                    "session 3@240518-abc: field 'firstPacket': -1 out of range "
                    "0..9007199254740992");
        reject_with("lastPacket", "9.3e18",
                    "session 3@240518-abc: field 'lastPacket': 9.3e+18 out of range "
                    "0..9007199254740992");
        reject_with("@timestamp", "-2",
                    "session 3@240518-abc: field '@timestamp': -2 out of range "
                    "0..9007199254740992");
        reject_with("source.ip", "[\"10.0.0.5\",\"10.0.0.6\"]",
                    "session 3@240518-abc: field 'source.ip': expected one value, got an array of "
                    "2");
        reject_with("destination.port", "[443,8443]",
                    "session 3@240518-abc: field 'destination.port': expected one value, got an "
                    "array of 2");

        /* the limits themselves are accepted */
        fw_session_t s = accept_with("source.packets", "9007199254740992");
        assert_int_equal(s.src_packets, FW_COUNTER_MAX);
        s = accept_with("source.packets", "9007199254740993"); /* rounds to 2^53 */
        assert_int_equal(s.src_packets, FW_COUNTER_MAX);
        s = accept_with("tcpflags.syn", "2147483647");
        assert_int_equal(s.tcpflags.syn, INT32_MAX);
        s = accept_with("source.port", "65535");
        assert_int_equal(s.src_port, 65535);
        s = accept_with("destination.port", "0");
        assert_int_equal(s.dst_port, 0);
        s = accept_with("ipProtocol", "255");
        assert_int_equal(s.ip_protocol, 255);
        s = accept_with("ipProtocol", "0");
        assert_int_equal(s.ip_protocol, 0);
        s = accept_with("firstPacket", "0");
        assert_int_equal(s.first_packet_ms, 0);
}

static void test_lenient_values(void **state) {
        (void)state;
        fw_session_t s;
        /* absent counters: -1, -1.0, null, [], missing */
        s = accept_with("source.packets", "-1");
        assert_int_equal(s.src_packets, FW_ABSENT);
        s = accept_with("source.packets", "-1.0");
        assert_int_equal(s.src_packets, FW_ABSENT);
        s = accept_with("destination.bytes", "null");
        assert_int_equal(s.dst_bytes, FW_ABSENT);
        s = accept_with("server.bytes", "[]");
        assert_int_equal(s.dst_databytes, FW_ABSENT);
        s = accept_with("client.bytes", NULL);
        assert_int_equal(s.src_databytes, FW_ABSENT);
        s = accept_with("tcpflags.syn", "-1");
        assert_int_equal(s.tcpflags.syn, FW_ABSENT);
        s = accept_with("@timestamp", NULL);
        assert_int_equal(s.db_time_ms, FW_ABSENT);
        s = accept_with("@timestamp", "-1");
        assert_int_equal(s.db_time_ms, FW_ABSENT);
        s = accept_with("@timestamp", "-1.0"); /* a double: no longer told apart from -1 */
        assert_int_equal(s.db_time_ms, FW_ABSENT);
        s = accept_with("source.port", NULL);
        assert_int_equal(s.src_port, 0);
        s = accept_with("node", NULL);
        assert_string_equal(s.node, "");

        /* 1-element arrays and integral reals */
        s = accept_with("source.packets", "[7]");
        assert_int_equal(s.src_packets, 7);
        s = accept_with("source.ip", "[\"192.168.1.1\"]");
        assert_int_equal(s.src_ip.addr[0], 192);
        s = accept_with("firstPacket", "1.716026405123e12");
        assert_int_equal(s.first_packet_ms, 1716026405123);
        s = accept_with("lastPacket", "[1716026466789.0]");
        assert_int_equal(s.last_packet_ms, 1716026466789);
        s = accept_with("destination.port", "445.0");
        assert_int_equal(s.dst_port, 445);

        /* ISO-8601 @timestamp, as an unconverted search `fields` date */
        s = accept_with("@timestamp", "\"2024-05-18T10:02:10.456Z\"");
        assert_int_equal(s.db_time_ms, 1716026530456);
        s = accept_with("@timestamp", "[\"2024-05-18T12:02:10.456+02:00\"]");
        assert_int_equal(s.db_time_ms, 1716026530456);
        s = accept_with("@timestamp", "\"2024-05-18T05:02:10.4567891-0500\"");
        assert_int_equal(s.db_time_ms, 1716026530456);
        s = accept_with("@timestamp", "\"2024-05-18T10:02:10Z\"");
        assert_int_equal(s.db_time_ms, 1716026530000);
        s = accept_with("@timestamp", "\"2024-02-29T00:00:00.5Z\"");
        assert_int_equal(s.db_time_ms, 1709164800500);
        s = accept_with("@timestamp", "\"1970-01-01T00:00:00Z\"");
        assert_int_equal(s.db_time_ms, 0);

        /* IPv4-mapped IPv6 stays IPv6 */
        s = accept_with("destination.ip", "\"::ffff:10.0.0.6\"");
        assert_int_equal(s.dst_ip.family, 6);

        /* unknown fields and non-object groups are ignored */
        s = accept_with("source.geo.country_iso_code", "\"US\"");
        assert_int_equal(s.src_packets, 12);
        s = accept_with("source", "\"10.9.9.9\"");
        assert_int_equal(s.src_ip.addr[3], 5);
        s = accept_with("tcpflags", "[1,2]");
        assert_int_equal(s.tcpflags.syn, 1);
        s = accept_with("dns", "{\"host\":[\"a.example\",\"b.example\"],\"ip\":[\"1.2.3.4\"]}");
        assert_string_equal(s.id, "3@240518-abc");
}

/* When an item has both forms, the nested value wins; a field missing from the group object
 * falls back to its dotted key. */
static void test_nested_wins(void **state) {
        (void)state;
        fw_session_t s = accept_with("source", "{\"port\":1234,\"bytes\":[99]}");
        assert_int_equal(s.src_port, 1234);
        assert_int_equal(s.src_bytes, 99);
        assert_int_equal(s.src_packets, 12); /* from "source.packets" */
        assert_int_equal(s.src_ip.addr[3], 5);
}

/* Later rejections are counted but keep the first reason; good items around them survive. */
static void test_first_reject_kept(void **state) {
        (void)state;
        const char *body =
                "{\"data\":[{\"id\":\"a\",\"firstPacket\":1,\"lastPacket\":2,\"ipProtocol\":6,"
                "\"source.ip\":\"10.0.0.1\",\"destination.ip\":\"10.0.0.2\"},"
                "{\"id\":\"b\",\"firstPacket\":1,\"lastPacket\":2,\"ipProtocol\":6,"
                "\"source.ip\":\"10.0.0.1\",\"destination.ip\":\"10.0.0.2\",\"source.port\":-7},"
                "{\"firstPacket\":1},"
                "{\"id\":\"d\",\"firstPacket\":1,\"lastPacket\":2,\"ipProtocol\":17,"
                "\"source.ip\":\"10.0.0.3\",\"destination.ip\":\"10.0.0.4\"}]}";
        fw_arkime_page_t p;
        char err[256];
        fw_arkime_page_init(&p);
        assert_int_equal(parse_str(&p, body, err, sizeof(err)), 0);
        assert_int_equal(p.count, 2);
        assert_int_equal(p.rejected, 2);
        assert_string_equal(p.first_reject, "session b: field 'source.port': -7 out of range "
                                            "0..65535");
        assert_string_equal(p.sessions[0].id, "a");
        assert_string_equal(p.sessions[1].id, "d");
        assert_int_equal(p.sessions[1].ip_protocol, 17);
        /* the rejected slot was reused: nothing of "b" leaks into "d" */
        assert_int_equal(p.sessions[1].src_port, 0);
        assert_int_equal(p.sessions[1].src_ip.addr[3], 3);

        /* an id with control characters is quoted safely in the message */
        assert_int_equal(parse_str(&p, "{\"data\":[{\"id\":\"x\\ny\",\"firstPacket\":1}]}", err,
                                   sizeof(err)),
                         0);
        assert_int_equal(p.rejected, 1);
        assert_string_equal(p.first_reject, "session x y: field 'lastPacket': missing");
        fw_arkime_page_free(&p);
}

/* ---- memory: reuse across polls, growth ---- */

static void test_reset_and_reuse(void **state) {
        (void)state;
        fw_arkime_page_t p;
        char err[256];
        fw_arkime_page_init(&p);
        assert_null(p.sessions);
        assert_int_equal(p.cap, 0);
        assert_int_equal(p.records_total, -1);

        parse_file(&p, "sessions_nested.json");
        assert_int_equal(p.count, 6);
        size_t cap = p.cap;
        fw_session_t *mem = p.sessions;
        assert_true(cap >= 6);

        parse_file(&p, "sessions_rejects.json");
        assert_int_equal(p.count, 4); /* see test_rejects_file */
        assert_int_equal(p.rejected, 4);
        assert_int_equal(p.cap, cap);
        assert_ptr_equal(p.sessions, mem);

        /* parsing resets: counts and first_reject start over */
        parse_file(&p, "sessions_flat.json");
        assert_int_equal(p.count, 4);
        assert_int_equal(p.rejected, 0);
        assert_string_equal(p.first_reject, "");
        assert_string_equal(p.sessions[0].id, "3@240518-GkOz8r6dW2uTb5qA2Bf4YeNp");

        /* an error empties the page but keeps the memory */
        parse_file_fail(&p, "error_unknown_field.json", err, sizeof(err));
        assert_int_equal(p.cap, cap);
        assert_int_equal(p.records_total, -1);
        assert_int_equal(p.records_filtered, -1);

        parse_file(&p, "sessions_rejects.json");
        fw_arkime_page_reset(&p);
        assert_int_equal(p.count, 0);
        assert_int_equal(p.rejected, 0);
        assert_string_equal(p.first_reject, "");
        assert_int_equal(p.records_total, -1);
        assert_int_equal(p.cap, cap);
        assert_ptr_equal(p.sessions, mem);

        fw_arkime_page_free(&p);
        assert_null(p.sessions);
        assert_int_equal(p.cap, 0);
        assert_int_equal(p.count, 0);
        fw_arkime_page_free(&p); /* twice is harmless */
        parse_file(&p, "sessions_nested.json");
        assert_int_equal(p.count, 6);
        fw_arkime_page_free(&p);
}

/* A page of n generated items, half IPv6, every 7th rejected. */
static char *big_page(size_t n, size_t *len) {
        size_t cap = 256 + n * 400, o = 0;
        char *buf = malloc(cap);
        assert_non_null(buf);
        o += (size_t)snprintf(buf + o, cap - o, "{\"data\":[");
        for (size_t i = 0; i < n; i++) {
                char sip[64];
                if (i % 2)
                        snprintf(sip, sizeof(sip), "2001:db8::%zx", i);
                else
                        snprintf(sip, sizeof(sip), "10.%zu.%zu.1", (i >> 8) & 255, i & 255);
                o += (size_t)snprintf(
                        buf + o, cap - o,
                        "%s{\"id\":\"3@240518-item%zu\",\"node\":\"sensor01\",\"ipProtocol\":6,"
                        "\"firstPacket\":%zu,\"lastPacket\":%zu,\"source\":{\"ip\":\"%s\","
                        "\"port\":%zu,\"packets\":%s},\"destination\":{\"ip\":\"%s\",\"port\":445}"
                        "}",
                        i ? "," : "", i, 1716026400000 + i, 1716026400000 + i + 5, sip,
                        1024 + i % 60000, (i % 7 == 3) ? "-9" : "3",
                        (i % 2) ? "2001:db8::1" : "10.0.0.1");
                assert_true(o < cap);
        }
        o += (size_t)snprintf(buf + o, cap - o, "],\"recordsTotal\":%zu,\"recordsFiltered\":%zu}",
                              n, n);
        assert_true(o < cap);
        *len = o;
        return buf;
}

static void test_growth(void **state) {
        (void)state;
        fw_arkime_page_t p;
        char err[256];
        size_t len, n = 5000;
        char *body = big_page(n, &len);
        fw_arkime_page_init(&p);
        assert_int_equal(fw_arkime_page_parse(&p, body, len, err, sizeof(err)), 0);
        size_t bad = 0;
        for (size_t i = 0; i < n; i++)
                bad += (i % 7 == 3);
        assert_int_equal(p.rejected, bad);
        assert_int_equal(p.count, n - bad);
        assert_true(p.cap >= n);
        assert_int_equal(p.records_total, (int64_t)n);
        assert_string_equal(p.first_reject,
                            "session 3@240518-item3: field 'source.packets': -9 out of range "
                            "0..9007199254740992");
        /* response order is kept */
        for (size_t i = 1; i < p.count; i++)
                assert_true(p.sessions[i].first_packet_ms > p.sessions[i - 1].first_packet_ms);
        assert_int_equal(p.sessions[1].src_ip.family, 6);
        size_t cap = p.cap;
        free(body);

        /* a smaller page afterwards reuses the same array */
        body = big_page(10, &len);
        assert_int_equal(fw_arkime_page_parse(&p, body, len, err, sizeof(err)), 0);
        assert_int_equal(p.count, 9);
        assert_int_equal(p.cap, cap);
        free(body);
        fw_arkime_page_free(&p);
}

/* ---- fields= list ---- */

static void test_fields_list(void **state) {
        (void)state;
        /* the order of common/session_fields.h (the wire order) */
        static const char *const want[] = {
                "rootId",
                "node",
                "network.community_id",
                "firstPacket",
                "lastPacket",
                "@timestamp",
                "source.ip",
                "destination.ip",
                "source.port",
                "destination.port",
                "ipProtocol",
                "source.packets",
                "destination.packets",
                "source.bytes",
                "destination.bytes",
                "client.bytes",
                "server.bytes",
                "tcpflags.syn",
                "tcpflags.syn-ack",
                "tcpflags.ack",
                "tcpflags.psh",
                "tcpflags.fin",
                "tcpflags.rst",
                "tcpflags.urg",
                "tcpflags.srcZero",
                "tcpflags.dstZero",
        };
        char list[1024];
        size_t n = 0;
        snprintf(list, sizeof(list), "%s", FW_ARKIME_FIELDS);
        for (char *save = NULL, *t = strtok_r(list, ",", &save); t;
             t = strtok_r(NULL, ",", &save), n++) {
                assert_true(n < sizeof(want) / sizeof(want[0]));
                assert_string_equal(t, want[n]);
        }
        assert_int_equal(n, sizeof(want) / sizeof(want[0]));
        assert_null(strchr(FW_ARKIME_FIELDS, ' '));

        /* every listed field is read by the parser: a wrong type under its name is noticed */
        for (size_t i = 0; i < n; i++) {
                fw_arkime_page_t p;
                char err[256], prefix[128];
                fw_arkime_page_init(&p);
                assert_int_equal(parse_str(&p, body_with(want[i], "true"), err, sizeof(err)), 0);
                assert_int_equal(p.rejected, 1);
                snprintf(prefix, sizeof(prefix), "session 3@240518-abc: field '%s': expected a ",
                         want[i]);
                assert_int_equal(strncmp(p.first_reject, prefix, strlen(prefix)), 0);
                fw_arkime_page_free(&p);
        }
}

/* ---- what cJSON does differently: keys, NULs, UTF-8, bounds, nesting ---- */

/* Keys match exactly, byte for byte (cJSON_GetObjectItem would ignore case); for a duplicated
 * key the last one wins, as with jansson; a nested null still beats the dotted key. */
static void test_exact_keys(void **state) {
        (void)state;
        static const char *const near_misses[] = {
                "SOURCE.IP",  "Source.ip", "source.IP", "source.ip.x", "source.", ".ip",
                "source..ip", "sourceip",  "ip",        "Id",          "ID",      "id.x",
        };
        for (size_t i = 0; i < sizeof(near_misses) / sizeof(near_misses[0]); i++) {
                fw_session_t s = accept_with(near_misses[i], "\"1.2.3.4\"");
                assert_int_equal(s.src_ip.addr[3], 5);
                assert_string_equal(s.id, "3@240518-abc");
        }
        fw_session_t s = accept_with("Source", "{\"ip\":\"1.2.3.4\",\"port\":1}");
        assert_int_equal(s.src_port, 51544);
        s = accept_with("tcpflags.SYN", "5");
        assert_int_equal(s.tcpflags.syn, 1);
        s = accept_with("tcpflags", "{\"Syn\":5,\"syn-Ack\":6,\"syn-ack\":7}");
        assert_int_equal(s.tcpflags.syn, 1);
        assert_int_equal(s.tcpflags.syn_ack, 7);
        s = accept_with("source", "{\"port\":null}");
        assert_int_equal(s.src_port, 0);
        reject_with("source", "{\"ip\":null}", "session 3@240518-abc: field 'source.ip': missing");

        /* duplicates: the last key wins, for fields, groups and keys inside groups */
        const char *dup = "{\"data\":[{\"id\":\"d\",\"firstPacket\":1,\"lastPacket\":2,"
                          "\"ipProtocol\":6,\"ipProtocol\":17,\"source.ip\":\"10.0.0.1\","
                          "\"destination\":{\"ip\":\"10.0.0.2\",\"port\":1,\"port\":2},"
                          "\"source\":{\"port\":3},\"source\":\"x\",\"source.port\":4}]}";
        fw_arkime_page_t p;
        char err[256];
        fw_arkime_page_init(&p);
        assert_int_equal(parse_str(&p, dup, err, sizeof(err)), 0);
        assert_int_equal(p.count, 1);
        assert_int_equal(p.sessions[0].ip_protocol, 17);
        assert_int_equal(p.sessions[0].dst_port, 2);
        assert_int_equal(p.sessions[0].src_port, 4); /* the last "source" is not an object */
        fw_arkime_page_free(&p);
}

/* cJSON would turn "\u0000", a \u escape with bad hex digits, and a raw NUL byte into a NUL that
 * cuts a string short; jansson refused them, and so does the parser. Kept strings must be
 * UTF-8 (cJSON does not check); escapes are decoded to UTF-8. */
static void test_nul_and_utf8(void **state) {
        (void)state;
        fw_arkime_page_t p;
        char err[256], expect[256];
        const char *body;
        fw_arkime_page_init(&p);

        body = body_with("id", "\"a\\u0000b\"");
        assert_int_equal(parse_str(&p, body, err, sizeof(err)), -1);
        snprintf(expect, sizeof(expect),
                 "not JSON at byte %zu: \\u0000 (NUL) in a string near "
                 "'\\u0000b\",\"node\":\"sensor0...' "
                 "(body is %zu bytes)",
                 (size_t)(strstr(body, "\\u0000") - body), strlen(body));
        assert_string_equal(err, expect);
        assert_int_equal(p.count, 0);

        body = body_with("dns.host", "[\"\\u00zz\"]"); /* even in a field that is not read */
        assert_int_equal(parse_str(&p, body, err, sizeof(err)), -1);
        assert_non_null(strstr(err, ": invalid \\u escape near '\\u00zz\"]"));
        assert_int_equal(parse_str(&p, body_with("node", "\"\\ud800\""), err, sizeof(err)), -1);
        assert_int_equal(strncmp(err, "not JSON at byte ", 17), 0);

        /* a raw NUL byte, inside a string or between tokens */
        static const char raw[] = "{\"data\":[],\"x\":\"a\0b\"}";
        assert_int_equal(fw_arkime_page_parse(&p, raw, sizeof(raw) - 1, err, sizeof(err)), -1);
        assert_string_equal(err, "not JSON at byte 17: NUL byte near ' b\"}' (body is 21 bytes)");
        static const char raw2[] = "{\"data\":[]\0}";
        assert_int_equal(fw_arkime_page_parse(&p, raw2, sizeof(raw2) - 1, err, sizeof(err)), -1);
        assert_string_equal(err, "not JSON at byte 10: NUL byte near ' }' (body is 12 bytes)");

        /* an escaped backslash before "u0000" is just text */
        fw_session_t s = accept_with("node", "\"x\\\\u0000\"");
        assert_string_equal(s.node, "x\\u0000");
        s = accept_with("node", "\"caf\\u00e9 \\ud83d\\ude00\"");
        assert_string_equal(s.node, "caf\xc3\xa9 \xf0\x9f\x98\x80");
        s = accept_with("node", "\"caf\xc3\xa9\"");
        assert_string_equal(s.node, "caf\xc3\xa9");

        /* invalid UTF-8 rejects the item when the string is kept, passes when it is not */
        reject_with("node", "\"bad\xff\"", "session 3@240518-abc: field 'node': not valid UTF-8");
        reject_with("id", "\"\xc0\xaf\"", "data[0]: field 'id': not valid UTF-8");
        reject_with("rootId", "\"\xed\xa0\x80\"",
                    "session 3@240518-abc: field 'rootId': not valid UTF-8");
        reject_with("network.community_id", "\"1:\xe2\x82\"",
                    "session 3@240518-abc: field 'network.community_id': not valid UTF-8");
        reject_with("node", "\"\xf4\x90\x80\x80\"",
                    "session 3@240518-abc: field 'node': not valid UTF-8");
        s = accept_with("http.uri", "[\"/\xff\xfe\"]");
        assert_string_equal(s.node, "sensor01");
        fw_arkime_page_free(&p);
}

/* len bytes of s placed so that the byte after them is on a PROT_NONE page: any read past len
 * faults, in any code, instrumented or not (ASan does not see inside libcjson). */
typedef struct guarded {
        char *map, *guard;
        size_t maplen;
} guarded_t;

static void guarded_init(guarded_t *g, size_t maxlen) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        size_t data = (maxlen + page - 1) / page * page;
        int fd = open("/dev/zero", O_RDWR);
        assert_true(fd >= 0);
        g->maplen = data + page;
        g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        close(fd);
        assert_true(g->map != MAP_FAILED);
        g->guard = g->map + data;
        assert_int_equal(mprotect(g->guard, page, PROT_NONE), 0);
}

static const char *guarded_put(guarded_t *g, const char *s, size_t len) {
        memcpy(g->guard - len, s, len);
        return g->guard - len;
}

static void guarded_free(guarded_t *g) {
        munmap(g->map, g->maplen);
}

/* Nothing reads past len: every prefix of a body with every kind of token (escapes, a string
 * cut after a backslash or inside \u, numbers cut inside an exponent, true/false/null cut short)
 * fails cleanly, both in an exact-size heap buffer (ASan, valgrind) and against a guard page. */
static void test_no_read_past_len(void **state) {
        (void)state;
        static const char body[] =
                "{\"data\":[{\"id\":\"3@240518-a\\\"b\\\\c\\/d\\u00e9\\ud83d\\ude00\\n\","
                "\"node\":\"s1\",\"firstPacket\":1.716026405123e+12,\"lastPacket\":1716026466789,"
                "\"ipProtocol\":6,\"source\":{\"ip\":\"10.0.0.5\",\"port\":51544,\"packets\":-1,"
                "\"bytes\":[1530]},\"destination.ip\":\"::1\",\"tcpflags\":{\"syn\":1,\"ack\":null}"
                ","
                "\"x\":[true,false,null,-0.5E-3,{},[]]}],\"recordsTotal\":12,\"error\":null}";
        const size_t len = sizeof(body) - 1;
        fw_arkime_page_t p;
        guarded_t g;
        char err[256];

        fw_arkime_page_init(&p);
        guarded_init(&g, 1 << 16);
        for (size_t k = 1; k <= len; k++) {
                char *heap = malloc(k);
                assert_non_null(heap);
                memcpy(heap, body, k);
                int rc = fw_arkime_page_parse(&p, heap, k, err, sizeof(err));
                free(heap);
                assert_int_equal(
                        fw_arkime_page_parse(&p, guarded_put(&g, body, k), k, err, sizeof(err)),
                        rc);
                if (k < len) {
                        size_t at;
                        assert_int_equal(rc, -1);
                        assert_int_equal(sscanf(err, "not JSON at byte %zu:", &at), 1);
                        assert_true(at < k);
                } else {
                        assert_int_equal(rc, 0);
                        assert_int_equal(p.count, 1);
                        assert_string_equal(p.sessions[0].id,
                                            "3@240518-a\"b\\c/d\xc3\xa9\xf0\x9f\x98\x80\n");
                        assert_int_equal(p.sessions[0].src_packets, FW_ABSENT);
                        assert_int_equal(p.records_total, 12);
                }
        }

        /* the sample pages, whole, ending at the guard */
        static const char *const files[] = {"sessions_nested.json", "sessions_flat.json",
                                            "sessions_rejects.json"};
        static const size_t counts[] = {6, 4, 4};
        for (size_t i = 0; i < 3; i++) {
                size_t n;
                char *data = read_data(files[i], &n);
                assert_true(n < (1 << 16));
                assert_int_equal(
                        fw_arkime_page_parse(&p, guarded_put(&g, data, n), n, err, sizeof(err)), 0);
                assert_int_equal(p.count, counts[i]);
                free(data);
        }
        guarded_free(&g);
        fw_arkime_page_free(&p);
}

/* cJSON stops at CJSON_NESTING_LIMIT (1000) open arrays/objects, so hostile nesting cannot
 * exhaust the stack (its parser and cJSON_Delete recurse). */
static void test_deep_nesting(void **state) {
        (void)state;
        const size_t deep = 100000;
        char *body = malloc(deep * 2 + 64);
        char err[256];
        fw_arkime_page_t p;
        size_t o;

        assert_non_null(body);
        fw_arkime_page_init(&p);

        /* 1000 levels (the root object, "data" and 998 arrays) parse; the page is then refused */
        o = (size_t)sprintf(body, "{\"data\":[");
        memset(body + o, '[', 998);
        memset(body + o + 998, ']', 998);
        o += 2 * 998;
        o += (size_t)sprintf(body + o, "]}");
        assert_int_equal(fw_arkime_page_parse(&p, body, o, err, sizeof(err)), -1);
        assert_string_equal(err, "data[0] is an array, not an object");

        /* one more level is not JSON for cJSON */
        o = (size_t)sprintf(body, "{\"data\":[");
        memset(body + o, '[', 999);
        memset(body + o + 999, ']', 999);
        o += 2 * 999;
        o += (size_t)sprintf(body + o, "]}");
        assert_int_equal(fw_arkime_page_parse(&p, body, o, err, sizeof(err)), -1);
        assert_int_equal(strncmp(err, "not JSON at byte ", 17), 0);

        /* 100,000 levels, never closed: refused at the limit, no stack overflow */
        o = (size_t)sprintf(body, "{\"data\":");
        memset(body + o, '[', deep);
        o += deep;
        assert_int_equal(fw_arkime_page_parse(&p, body, o, err, sizeof(err)), -1);
        assert_int_equal(strncmp(err, "not JSON at byte 1007: ", 23), 0); /* 1000th open */

        /* a deep but legal value in a field that is not read does not disturb the item */
        o = (size_t)sprintf(body, "{\"data\":[{\"id\":\"a\",\"firstPacket\":1,\"lastPacket\":2,"
                                  "\"ipProtocol\":6,\"source.ip\":\"10.0.0.1\","
                                  "\"destination.ip\":\"10.0.0.2\",\"dns\":");
        for (int i = 0; i < 990; i++)
                o += (size_t)sprintf(body + o, "{\"a\":");
        o += (size_t)sprintf(body + o, "1");
        memset(body + o, '}', 990);
        o += 990;
        o += (size_t)sprintf(body + o, "}]}");
        assert_int_equal(fw_arkime_page_parse(&p, body, o, err, sizeof(err)), 0);
        assert_int_equal(p.count, 1);
        assert_string_equal(p.sessions[0].id, "a");

        free(body);
        fw_arkime_page_free(&p);
}

/* fw_arkime_bulk_header: the action lines of a bulk body, whatever the daemon reading them. */
static void test_bulk_header(void **state) {
        (void)state;
        static const struct {
                const char *line;
                int rc;
                const char *id;
        } cases[] = {
                {"{\"index\":{\"_index\":\"arkime_sessions3-240518\",\"_id\":\"240518-abc\"}}", 1,
                 "240518-abc"},
                {"  {\"create\":{\"_index\":\"sessions3-240518\",\"_id\":\"x\"}}", 1, "x"},
                {"{\"index\":{\"_index\":\"sessions3-240518\"}}", 1, ""}, /* autoGenerateId */
                {"{\"index\":{}}", 1, ""},
                {"{\"firstPacket\":1,\"source\":{\"ip\":\"10.0.0.1\"}}", 0, NULL}, /* a document */
                {"{\"index\":1}", 0, NULL},                             /* not an action */
                {"{\"index\":{\"_id\":\"a\"},\"source\":{}}", 0, NULL}, /* two members */
                {"[1,2]", 0, NULL},
                {"{\"index\":{\"_id\":", -1, NULL}, /* cut short */
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char id[64] = "unchanged";
                int rc =
                        fw_arkime_bulk_header(cases[i].line, strlen(cases[i].line), id, sizeof(id));
                if (rc != cases[i].rc)
                        fail_msg("case %zu: rc %d, want %d", i, rc, cases[i].rc);
                if (cases[i].id != NULL)
                        assert_string_equal(id, cases[i].id);
        }
        /* an _id longer than the buffer is not copied in part */
        char small[4] = "zz";
        const char *h = "{\"index\":{\"_id\":\"240518-abcdef\"}}";
        assert_int_equal(fw_arkime_bulk_header(h, strlen(h), small, sizeof(small)), 1);
        assert_string_equal(small, "");
        /* only len bytes are read: the same header cut by len is not JSON */
        assert_int_equal(fw_arkime_bulk_header(h, 20, small, sizeof(small)), -1);
}

/* ---- OpenSearch _search responses (fw_arkime_search_parse) ---- */

/* A real OpenSearch 2.19 answer (3 hits under a PIT, _source limited to FW_ARKIME_FIELDS). */
static void test_search_real(void **state) {
        (void)state;
        size_t len;
        char *body = read_data("opensearch_search.json", &len);
        fw_arkime_page_t p;
        fw_search_info_t info;
        char err[512];
        fw_arkime_page_init(&p);
        assert_int_equal(fw_arkime_search_parse(&p, body, len, 0, &info, err, sizeof(err)), 0);
        assert_int_equal(info.hits, 3);
        assert_int_equal(p.count, 3);
        assert_int_equal(p.rejected, 0);
        /* the viewer's ids: 3@ + _id */
        assert_string_equal(p.sessions[0].id, "3@180409-v1u6qUjQ5uVPG4dvUU0GXi3F");
        assert_int_equal(p.sessions[0].db_time_ms, 1796462083554LL);
        assert_int_equal(p.sessions[0].first_packet_ms, 1523241953739LL);
        assert_int_equal(p.sessions[0].dst_port, 80);
        assert_int_equal(info.last_time_ms, 1796462083611LL);
        assert_string_equal(info.last_sort, "[1796462083611,\"180117-v1tLV5U5x4VLD72TfD5L37Mk\"]");
        assert_non_null(info.pit_id);
        assert_true(strlen(info.pit_id) > 100);
        free(info.pit_id);
        fw_arkime_page_free(&p);
        free(body);
}

static int search(fw_arkime_page_t *p, fw_search_info_t *info, const char *body, char *err,
                  size_t errlen) {
        int rc = fw_arkime_search_parse(p, body, strlen(body), 0, info, err, errlen);
        free(info->pit_id);
        info->pit_id = NULL;
        return rc;
}

#define SRC                                                                                        \
        "{\"@timestamp\":1700000000123,\"firstPacket\":1700000000000,\"lastPacket\":"              \
        "1700000000100,\"ipProtocol\":6,\"source\":{\"ip\":\"10.0.0.1\",\"port\":1234},"           \
        "\"destination\":{\"ip\":\"10.0.0.2\",\"port\":445}}"

/* The same two documents read from doc values (stored_fields _none_: the _id is the sort's
 * second value, dates are strings of epoch ms) and from _source: equal sessions. */
static void test_search_docvalues(void **state) {
        (void)state;
        size_t dlen, slen;
        char *dv = read_data("opensearch_docvalues.json", &dlen);
        char *src = read_data("opensearch_source.json", &slen);
        fw_arkime_page_t a, b;
        fw_search_info_t ia, ib;
        char err[512];
        fw_arkime_page_init(&a);
        fw_arkime_page_init(&b);
        assert_int_equal(fw_arkime_search_parse(&a, dv, dlen, 0, &ia, err, sizeof(err)), 0);
        assert_int_equal(fw_arkime_search_parse(&b, src, slen, 0, &ib, err, sizeof(err)), 0);
        assert_int_equal(a.count, 2);
        assert_int_equal(a.rejected, 0);
        assert_int_equal(b.count, 2);
        for (size_t i = 0; i < 2; i++)
                assert_true(fw_session_equal(&a.sessions[i], &b.sessions[i]));
        assert_string_equal(a.sessions[0].id, "3@240518-vRAFg_5C5_tMMqH8ENjZBbW7");
        assert_int_equal(a.sessions[0].first_packet_ms, 1716026400753LL);
        assert_int_equal(a.sessions[0].db_time_ms, 1796463311325LL);
        assert_string_equal(ia.last_sort, ib.last_sort);
        fw_arkime_page_free(&a);
        fw_arkime_page_free(&b);
        free(dv);
        free(src);
}

/* Real OpenSearch 2.19 answers for the same three sessions (TCP, ICMP, UDP): the numbers and
 * dates as sort values (-1 where missing: no TCP flags for ICMP and UDP) and the strings from
 * doc values, against _source: equal sessions. */
static void test_search_sortvalues(void **state) {
        (void)state;
        size_t vlen, slen;
        char *sv = read_data("opensearch_sortvalues.json", &vlen);
        char *src = read_data("opensearch_sortvalues_source.json", &slen);
        fw_arkime_page_t a, b;
        fw_search_info_t ia, ib;
        char err[512];
        fw_arkime_page_init(&a);
        fw_arkime_page_init(&b);
        assert_int_equal(fw_arkime_search_parse(&a, sv, vlen, 1, &ia, err, sizeof(err)), 0);
        assert_int_equal(fw_arkime_search_parse(&b, src, slen, 0, &ib, err, sizeof(err)), 0);
        assert_int_equal(a.count, 3);
        assert_int_equal(a.rejected, 0);
        assert_int_equal(b.count, 3);
        for (size_t i = 0; i < 3; i++)
                assert_true(fw_session_equal(&a.sessions[i], &b.sessions[i]));
        assert_int_equal(a.sessions[0].ip_protocol, 6);
        assert_int_equal(a.sessions[0].tcpflags.syn, 1);
        assert_int_equal(a.sessions[0].db_time_ms, 1796476803756LL);
        assert_int_equal(a.sessions[2].ip_protocol, 17);
        assert_int_equal(a.sessions[2].tcpflags.syn, FW_ABSENT);
        assert_int_equal(a.sessions[2].dst_port, 53);
        /* the next search_after: every sort value, as it came */
        assert_string_equal(ia.last_sort, "[1796476803756,\"240518-jHOqv5IfHA5HEb0ULW0gpWbP\","
                                          "1716029855037,1716029855038,41157,53,17,1,1,83,99,41,"
                                          "57,-1,-1,-1,-1,-1,-1,-1,-1,-1]");
        /* the same answer read as if the fields were doc values: no times, all rejected */
        assert_int_equal(fw_arkime_search_parse(&b, sv, vlen, 0, &ib, err, sizeof(err)), 0);
        assert_int_equal(b.count, 0);
        assert_int_equal(b.rejected, 3);
        /* a carried value a double cannot hold exactly goes back as -1 (missing), not as
         * 9.2233720368547758e+18, which OpenSearch would refuse for a long */
        const char *big = "{\"_shards\":{\"total\":1},\"hits\":{\"hits\":[{\"_id\":\"a\",\"sort\":"
                          "[5,\"a\",1,2,3,4,6,9223372036854775807]}]}}";
        assert_int_equal(fw_arkime_search_parse(&a, big, strlen(big), 1, &ia, err, sizeof(err)), 0);
        assert_string_equal(ia.last_sort, "[5,\"a\",1,2,3,4,6,-1]");
        free(ia.pit_id);
        free(ib.pit_id);
        fw_arkime_page_free(&a);
        fw_arkime_page_free(&b);
        free(sv);
        free(src);
}

#define SH "\"_shards\":{\"total\":1,\"failed\":0},"

/* Partial answers, errors and malformed hits fail the whole page; unusable _source is a reject. */
static void test_search_errors(void **state) {
        (void)state;
        fw_arkime_page_t p;
        fw_search_info_t info;
        char err[512];
        fw_arkime_page_init(&p);
        static const struct {
                const char *body, *want; /* want: NULL = success, else a substring of err */
        } cases[] = {
                {"{\"timed_out\":true,\"_shards\":{\"total\":1},\"hits\":{\"hits\":[]}}",
                 "timed out"},
                {"{\"_shards\":{\"total\":3,\"failed\":2,\"failures\":[{\"reason\":{\"type\":"
                 "\"x_exception\",\"reason\":\"disk\"}}]},\"hits\":{\"hits\":[]}}",
                 "2 shard(s) failed: the page is partial; opensearch error: x_exception: disk"},
                {"{\"error\":{\"root_cause\":[{\"type\":\"search_context_missing_exception\","
                 "\"reason\":\"No search context found\"}],\"type\":\"search_phase_execution_"
                 "exception\"},\"status\":404}",
                 "opensearch error: search_context_missing_exception: No search context found"},
                {"{\"hits\":{\"hits\":[]}}", "not a search answer: no _shards.total"},
                {"{}", "not a search answer"},
                {"{" SH "\"hits\":{\"hits\":{}}}", "hits.hits is not an array"},
                {"{" SH "\"hits\":[]}", "hits.hits is not an array"},
                {"{" SH "\"hits\":{\"hits\":[{\"_id\":\"a\",\"_source\":" SRC "}]}}",
                 "has no usable _id and sort"},
                {"{" SH "\"hits\":{\"hits\":[1]}}", "not an object"},
                {"{" SH "\"hits\":{\"hits\":[{\"_id\":\"a\",\"sort\":[1.8e21,\"a\"],"
                 "\"_source\":" SRC "}]}}",
                 "the first sort value is not epoch ms"},
                {"{" SH "\"hits\":{\"hits\":[{\"_id\":\"a\",\"sort\":[\"x\",\"a\"],"
                 "\"_source\":" SRC "}]}}",
                 "the first sort value is not epoch ms"},
                {"{" SH "\"hits\":{\"hits\":[]", "not JSON"},
                {"{" SH "\"hits\":{\"hits\":[]}}", NULL},
                /* filter_path drops an empty hits.hits: the page after the last */
                {"{\"pit_id\":\"p\"," SH "\"timed_out\":false}", NULL},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                int rc = search(&p, &info, cases[i].body, err, sizeof(err));
                if (!cases[i].want) {
                        assert_int_equal(rc, 0);
                        assert_int_equal(info.hits, 0);
                        assert_string_equal(info.last_sort, "");
                        assert_int_equal(info.last_time_ms, -1);
                        continue;
                }
                assert_int_equal(rc, -1);
                if (!strstr(err, cases[i].want)) {
                        fprintf(stderr, "case %zu: '%s' lacks '%s'\n", i, err, cases[i].want);
                        fail();
                }
                assert_int_equal(p.count, 0);
        }
        /* ids by index name (viewer/db.js Db.session2Sid), a hit without _source, a bad field */
        const char *body =
                "{" SH "\"hits\":{\"hits\":["
                "{\"_index\":\"arkime_sessions3-240518\",\"_id\":\"240518-short\",\"sort\":[1,"
                "\"a\"],"
                "\"_source\":" SRC "},"
                "{\"_index\":\"sessions2-240518\",\"_id\":\"240518-"
                "abcdefghijklmnopqrstuvwxyzABCD\","
                "\"sort\":[2,\"b\"],\"_source\":" SRC "},"
                "{\"_index\":\"other\",\"_id\":\"plain\",\"sort\":[3,\"c\"],\"_source\":" SRC "},"
                "{\"_index\":\"arkime_sessions3-240518\",\"_id\":\"nosrc\",\"sort\":[4,\"d\"]},"
                "{\"_index\":\"arkime_sessions3-240518\",\"_id\":\"badport\",\"sort\":[5,\"e\"],"
                "\"_source\":{\"firstPacket\":1,\"lastPacket\":2,\"ipProtocol\":6,\"source\":{"
                "\"ip\":\"10.0.0.1\",\"port\":70000},\"destination\":{\"ip\":\"10.0.0.2\"}}}"
                "]}}";
        assert_int_equal(search(&p, &info, body, err, sizeof(err)), 0);
        assert_int_equal(info.hits, 5);
        assert_int_equal(p.count, 3);
        assert_int_equal(p.rejected, 2);
        assert_string_equal(p.sessions[0].id, "3@240518:240518-short");
        assert_string_equal(p.sessions[1].id, "2@240518-abcdefghijklmnopqrstuvwxyzABCD");
        assert_string_equal(p.sessions[2].id, "plain");
        assert_int_equal(p.sessions[2].db_time_ms, 1700000000123LL);
        assert_non_null(strstr(p.first_reject, "nosrc: no _source"));
        assert_string_equal(info.last_sort, "[5,\"e\"]");
        assert_int_equal(info.last_time_ms, 5);
        fw_arkime_page_free(&p);
}

/* The answer is walked a hit at a time (common/arkime_page.c "search answers"): members in any
 * order, blanks anywhere, duplicates resolved as in a whole tree (the first wins), and every
 * prefix of a real answer refused without a read past its end. */
static void test_search_walk(void **state) {
        (void)state;
        fw_arkime_page_t p, q;
        fw_search_info_t info;
        char err[512];
        fw_arkime_page_init(&p);
        fw_arkime_page_init(&q);
#define HIT(id, ts) "{\"_id\":\"" id "\",\"sort\":[" #ts ",\"" id "\"],\"_source\":" SRC "}"
        /* the same page, members reordered and spaced out: the same sessions and last sort */
        assert_int_equal(search(&p, &info,
                                "{" SH "\"hits\":{\"hits\":[" HIT("a", 1) "," HIT(
                                        "b", 2) "]},\"pit_id\":\"p\"}",
                                err, sizeof(err)),
                         0);
        assert_int_equal(search(&q, &info,
                                "\xEF\xBB\xBF \n{ \"hits\" :\t{ \"total\":{\"value\":2}"
                                ",\"hits\" : [ " HIT("a", 1) " ,\r\n" HIT(
                                        "b", 2) " ] } , "
                                                "\"pit_id\":\"p\",\"_shards\" : {\"total\":1} }\n ",
                                err, sizeof(err)),
                         0);
        assert_int_equal(p.count, 2);
        assert_int_equal(q.count, 2);
        for (size_t i = 0; i < 2; i++)
                assert_true(fw_session_equal(&p.sessions[i], &q.sessions[i]));
        assert_string_equal(info.last_sort, "[2,\"b\"]");
        assert_int_equal(info.first_time_ms, 1);
        assert_int_equal(info.last_time_ms, 2);
        /* a second "hits" (at either level) is not read: the first wins */
        assert_int_equal(search(&p, &info,
                                "{" SH "\"hits\":{\"hits\":[" HIT("a", 1) "],\"hits\":[" HIT(
                                        "b", 2) "]},\"hits\":{\"hits\":[" HIT("c", 3) "]}}",
                                err, sizeof(err)),
                         0);
        assert_int_equal(p.count, 1);
        assert_int_equal(info.hits, 1);
        assert_string_equal(p.sessions[0].id, "a");
        assert_string_equal(info.last_sort, "[1,\"a\"]");
        /* what follows the hits still decides: an error, a partial answer, a bad hit, junk */
        static const struct {
                const char *body, *want;
        } bad[] = {
                {"{\"hits\":{\"hits\":[" HIT("a", 1) "]}," SH "\"error\":{\"type\":\"t\","
                                                     "\"reason\":\"r\"}}",
                 "opensearch error: t: r"},
                {"{\"hits\":{\"hits\":[" HIT("a", 1) "]}," SH "\"timed_out\":true}", "timed out"},
                {"{\"hits\":{\"hits\":[" HIT("a", 1) "]}}", "no _shards.total"},
                {"{" SH "\"hits\":{\"hits\":[" HIT("a", 1) ",7," HIT("b", 2) "]}}",
                 "hits[1] is a number"},
                {"{" SH "\"hits\":{\"hits\":[" HIT("a", 1) "]}} x", "data after the JSON value"},
                {"{" SH "\"hits\":{\"hits\":[" HIT("a", 1) "]},}", "not JSON"},
                {"{" SH "\"hits\":{\"hits\":[" HIT("a", 1) ",]}}", "not JSON"},
                {"{" SH "\"hits\":{\"hits\":[" HIT("a", 1) "}}", "not JSON"},
                {"{" SH "7:\"hits\"}", "not JSON"},
                {"{" SH "\"hits\" {}}", "not JSON"},
                {"{" SH "\"hits\":{\"hits\":[{\"_id\":\"a\\u0000\",\"sort\":[1,\"a\"]}]}}",
                 "not JSON"},
                {"[" SH "]", "not JSON"},
                {"\"hits\"", "not a JSON object"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int rc = search(&p, &info, bad[i].body, err, sizeof(err));
                if (rc != -1 || !strstr(err, bad[i].want)) {
                        fprintf(stderr, "case %zu: rc %d, '%s' lacks '%s'\n", i, rc, err,
                                bad[i].want);
                        fail();
                }
                assert_int_equal(p.count, 0);
                assert_int_equal(info.hits, 0);
                assert_string_equal(info.last_sort, "");
        }
#undef HIT
        /* every prefix of a real answer, ending at a guard page: refused, never read past */
        size_t len;
        char *body = read_data("opensearch_docvalues.json", &len);
        guarded_t g;
        guarded_init(&g, 1 << 16);
        assert_true(len < (1 << 16));
        for (size_t k = 1; k <= len; k++) {
                int rc = fw_arkime_search_parse(&p, guarded_put(&g, body, k), k, 0, &info, err,
                                                sizeof(err));
                free(info.pit_id);
                size_t rest = k;
                while (rest < len && strchr(" \t\r\n", body[rest]))
                        rest++;
                if (rest < len) {
                        assert_int_equal(rc, -1);
                        assert_int_equal(p.count, 0);
                } else {
                        assert_int_equal(rc, 0);
                        assert_int_equal(p.count, 2);
                }
        }
        guarded_free(&g);
        free(body);
        fw_arkime_page_free(&p);
        fw_arkime_page_free(&q);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_nested_v5_response),
                cmocka_unit_test(test_flat_response),
                cmocka_unit_test(test_nested_equals_flat),
                cmocka_unit_test(test_rejects_file),
                cmocka_unit_test(test_arkime_error),
                cmocka_unit_test(test_malformed_json),
                cmocka_unit_test(test_bad_shape),
                cmocka_unit_test(test_missing_required),
                cmocka_unit_test(test_wrong_types),
                cmocka_unit_test(test_too_long_strings),
                cmocka_unit_test(test_ranges),
                cmocka_unit_test(test_lenient_values),
                cmocka_unit_test(test_nested_wins),
                cmocka_unit_test(test_first_reject_kept),
                cmocka_unit_test(test_reset_and_reuse),
                cmocka_unit_test(test_growth),
                cmocka_unit_test(test_fields_list),
                cmocka_unit_test(test_exact_keys),
                cmocka_unit_test(test_nul_and_utf8),
                cmocka_unit_test(test_no_read_past_len),
                cmocka_unit_test(test_deep_nesting),
                cmocka_unit_test(test_bulk_header),
                cmocka_unit_test(test_search_real),
                cmocka_unit_test(test_search_walk),
                cmocka_unit_test(test_search_sortvalues),
                cmocka_unit_test(test_search_docvalues),
                cmocka_unit_test(test_search_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
