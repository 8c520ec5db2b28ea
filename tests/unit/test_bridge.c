/* Unit tests for reading Arkime capture's Kafka plugin messages (producer/bridge.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "bridge.h"

static char err[512];

/* A document as capture/db.c writes it (nested, ms times, @timestamp = save time). */
#define DOC(ip, extra)                                                                             \
        "{\"firstPacket\":1716026405123,\"lastPacket\":1716026466789,\"length\":61666,"            \
        "\"ipProtocol\":6," extra "\"tcpflags\":{\"syn\":1,\"syn-ack\":0,\"ack\":0,\"psh\":0,"     \
        "\"fin\":0,\"rst\":1,\"urg\":0,\"ece\":0,\"cwr\":0,\"ae\":0,\"srcZero\":0,\"dstZero\":0}," \
        "\"@timestamp\":1716026530456,\"source\":{\"ip\":\"" ip "\",\"port\":51544,\"bytes\":60,"  \
        "\"packets\":1,\"geo\":{\"country_iso_code\":\"US\"}},\"destination\":{\"ip\":"            \
        "\"10.9.8.7\",\"port\":445,\"bytes\":0,\"packets\":0},\"network\":{\"packets\":1,"         \
        "\"bytes\":60,\"community_id\":\"1:abc=\"},\"client\":{\"bytes\":0},\"server\":{"          \
        "\"bytes\":0},"                                                                            \
        "\"totDataBytes\":0,\"segmentCnt\":1,\"node\":\"sensor01\"}"

#define HDR(id) "{\"index\":{\"_index\":\"arkime_sessions3-240518\", \"_id\": \"" id "\"}}"

static void test_bulk(void **state) {
        (void)state;
        const char msg[] =
                HDR("240518-AAA") "\n" DOC("10.0.0.1", "") "\n" HDR("240518-BBB") "\n" DOC(
                        "2001:db8::1", "") "\n" HDR("240518-CCC") "\n" DOC("10.0.0.3", "") "\n";
        fw_arkime_page_t p;
        fw_arkime_page_init(&p);
        assert_int_equal(fw_bridge_parse(&p, msg, strlen(msg), err, sizeof(err)), 3);
        assert_int_equal(p.count, 3);
        assert_string_equal(p.sessions[0].id, "240518-AAA");
        assert_string_equal(p.sessions[1].id, "240518-BBB");
        char ip[FW_IP_STRLEN];
        assert_string_equal(fw_ip_format(&p.sessions[1].src_ip, ip, sizeof(ip)), "2001:db8::1");
        const fw_session_t *s = &p.sessions[0];
        assert_int_equal(s->first_packet_ms, 1716026405123LL);
        assert_int_equal(s->db_time_ms, 1716026530456LL);
        assert_int_equal(s->dst_port, 445);
        assert_int_equal(s->tcpflags.rst, 1);
        assert_int_equal(s->src_packets, 1);
        assert_string_equal(s->node, "sensor01");
        assert_string_equal(s->community_id, "1:abc=");
        fw_arkime_page_free(&p);
}

static void test_bulk1_and_doc(void **state) {
        (void)state;
        fw_arkime_page_t p;
        fw_arkime_page_init(&p);
        const char bulk1[] = HDR("240518-ONE") "\r\n" DOC("10.0.0.1", "") "\r\n";
        assert_int_equal(fw_bridge_parse(&p, bulk1, strlen(bulk1), err, sizeof(err)), 1);
        /* doc: "index" and (recent Arkime) "_id" inside the document */
        const char doc[] = DOC("10.0.0.2", "\"index\":\"arkime_sessions3-240518\",\"_id\":\"240518-"
                                           "DOC\",") "\n";
        assert_int_equal(fw_bridge_parse(&p, doc, strlen(doc), err, sizeof(err)), 1);
        /* older Arkime: no _id anywhere, and autoGenerateId=1: a header without _id */
        const char doc_noid[] = DOC("10.0.0.3", "\"index\":\"arkime_sessions3-240518\",");
        assert_int_equal(fw_bridge_parse(&p, doc_noid, strlen(doc_noid), err, sizeof(err)), 1);
        const char auto_id[] =
                "{\"index\":{\"_index\":\"sessions3-240518\"}}\n" DOC("10.0.0.4", "") "\n";
        assert_int_equal(fw_bridge_parse(&p, auto_id, strlen(auto_id), err, sizeof(err)), 1);
        assert_int_equal(p.count, 4);
        assert_string_equal(p.sessions[0].id, "240518-ONE");
        assert_string_equal(p.sessions[1].id, "240518-DOC");
        /* a content hash: the same message read again gives the same id */
        assert_true(strncmp(p.sessions[2].id, "fwdoc-", 6) == 0);
        char first[FW_SESSION_ID_MAX + 1];
        strcpy(first, p.sessions[2].id);
        assert_int_equal(fw_bridge_parse(&p, doc_noid, strlen(doc_noid), err, sizeof(err)), 1);
        assert_string_equal(p.sessions[4].id, first);
        assert_true(strncmp(p.sessions[3].id, "fwdoc-", 6) == 0);
        fw_arkime_page_free(&p);
}

static void test_malformed(void **state) {
        (void)state;
        fw_arkime_page_t p;
        fw_arkime_page_init(&p);
        const char ok[] = HDR("x") "\n" DOC("10.0.0.1", "") "\n";
        assert_int_equal(fw_bridge_parse(&p, ok, strlen(ok), err, sizeof(err)), 1);
        struct {
                const char *msg, *want;
        } bad[] = {
                {"garbage", "line 1: not JSON at byte 0"},
                {"{\"index\":{\"_id\":", "line 1 is not JSON"}, /* a header cut short */
                {HDR("a") "\n", "bulk header without a document"},
                {HDR("a") "\n" DOC("10.0.0.1", "") "\n{\"trunc", "line 3: not JSON"},
                {"\n\n", "no session document"},
                {HDR("a") "\n[1,2]\n", "line 2: document is an array"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(
                        fw_bridge_parse(&p, bad[i].msg, strlen(bad[i].msg), err, sizeof(err)), -1);
                if (!strstr(err, bad[i].want))
                        fail_msg("case %zu: got '%s', want '%s'", i, err, bad[i].want);
                /* nothing of a bad message is kept */
                assert_int_equal(p.count, 1);
        }
        /* a usable message with one unusable document: that document is counted, not kept */
        const char one_bad[] =
                HDR("good") "\n" DOC("10.0.0.1", "") "\n" HDR("bad") "\n" DOC("not-an-ip", "") "\n";
        assert_int_equal(fw_bridge_parse(&p, one_bad, strlen(one_bad), err, sizeof(err)), 2);
        assert_int_equal(p.count, 2);
        assert_int_equal(p.rejected, 1);
        assert_non_null(strstr(p.first_reject, "session bad: field 'source.ip'"));
        fw_arkime_page_free(&p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bulk),
                cmocka_unit_test(test_bulk1_and_doc),
                cmocka_unit_test(test_malformed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
