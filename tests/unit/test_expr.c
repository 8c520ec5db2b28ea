/* Unit tests for detector/expr.c: Arkime-style expression rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "expr.h"
#include "expr_fixture.h"
#include "session.h"

#define STUDY_RULE                                                                                 \
        "packets == 1 && ip.protocol == tcp && ip.src != 131.206.0.0/16 && "                       \
        "ip.dst != 131.206.0.0/16"

static fw_ip_t ip_of(const char *s) {
        fw_ip_t ip;

        memset(&ip, 0, sizeof(ip));
        if (s != NULL && fw_ip_parse(s, &ip) != 0)
                fail_msg("fw_ip_parse(\"%s\") failed", s);
        return ip;
}

/* A session with every counter present; adjust fields afterwards. */
static fw_session_t mk(const char *src, uint16_t sport, const char *dst, uint16_t dport,
                       uint8_t proto, int64_t spk, int64_t dpk) {
        fw_session_t s;

        fw_session_init(&s);
        snprintf(s.id, sizeof(s.id), "3@240518-test");
        snprintf(s.node, sizeof(s.node), "sensor01");
        s.src_ip = ip_of(src);
        s.dst_ip = ip_of(dst);
        s.src_port = sport;
        s.dst_port = dport;
        s.ip_protocol = proto;
        s.src_packets = spk;
        s.dst_packets = dpk;
        s.src_bytes = spk * 60;
        s.dst_bytes = dpk * 60;
        s.src_databytes = 0;
        s.dst_databytes = 0;
        return s;
}

/* Compile, match once, free. */
static int m(const char *text, const fw_session_t *s) {
        fw_expr_t *e = compile_ok(text);
        int r = fw_expr_match(e, s);

        fw_expr_free(e);
        return r;
}

static void check_text(const char *in, const char *want) {
        fw_expr_t *e = compile_ok(in);

        if (strcmp(fw_expr_text(e), want) != 0)
                fail_msg("text(\"%s\") = \"%s\", want \"%s\"", in, fw_expr_text(e), want);
        fw_expr_free(e);
}

/* ----------------------------------------------------------------------------------------- */

static void test_study_rule(void **state) {
        fw_expr_t *e = compile_ok(STUDY_RULE);
        fw_session_t s;

        (void)state;
        assert_string_equal(fw_expr_text(e), STUDY_RULE);

        s = mk("10.1.2.3", 50000, "192.168.0.9", 445, 6, 1, 0);
        assert_int_equal(fw_expr_match(e, &s), 1);

        s = mk("131.206.7.1", 50000, "192.168.0.9", 445, 6, 1, 0); /* source inside */
        assert_int_equal(fw_expr_match(e, &s), 0);
        s = mk("10.1.2.3", 50000, "131.206.255.255", 445, 6, 1, 0); /* destination inside */
        assert_int_equal(fw_expr_match(e, &s), 0);
        s = mk("131.205.255.255", 50000, "131.207.0.0", 445, 6, 1, 0); /* both just outside */
        assert_int_equal(fw_expr_match(e, &s), 1);
        s = mk("10.1.2.3", 50000, "192.168.0.9", 53, 17, 1, 0); /* UDP */
        assert_int_equal(fw_expr_match(e, &s), 0);
        s = mk("10.1.2.3", 50000, "192.168.0.9", 445, 6, 1, 1); /* 2 packets */
        assert_int_equal(fw_expr_match(e, &s), 0);
        s = mk("10.1.2.3", 50000, "192.168.0.9", 445, 6, 2, 0);
        assert_int_equal(fw_expr_match(e, &s), 0);
        s = mk("10.1.2.3", 50000, "192.168.0.9", 445, 6, 0, 1); /* the one packet is a reply */
        assert_int_equal(fw_expr_match(e, &s), 1);

        /* packets absent (one direction unreported): == does not match */
        s = mk("10.1.2.3", 50000, "192.168.0.9", 445, 6, 1, 0);
        s.dst_packets = FW_ABSENT;
        assert_int_equal(fw_expr_match(e, &s), 0);

        /* IPv6: a v4 CIDR never matches a v6 address, so both != are true */
        s = mk("2001:db8::1", 50000, "2001:db8::2", 445, 6, 1, 0);
        assert_int_equal(fw_expr_match(e, &s), 1);
        /* OpenSearch stores IPv4 as ::ffff:a.b.c.d: a v4-mapped address is that IPv4 address */
        s = mk("::ffff:131.206.1.1", 50000, "2001:db8::2", 445, 6, 1, 0);
        assert_int_equal(fw_expr_match(e, &s), 0);
        s = mk("::ffff:8.8.8.8", 50000, "2001:db8::2", 445, 6, 1, 0);
        assert_int_equal(fw_expr_match(e, &s), 1);
        s = mk("2001:db8::1", 50000, "131.206.0.1", 445, 6, 1, 0); /* v4 end inside */
        assert_int_equal(fw_expr_match(e, &s), 0);
        s = mk("2001:db8::1", 50000, "2001:db8::2", 445, 6, 1, 1);
        assert_int_equal(fw_expr_match(e, &s), 0);
        s = mk("2001:db8::1", 0, "2001:db8::2", 0, 58, 1, 0); /* ICMPv6 */
        assert_int_equal(fw_expr_match(e, &s), 0);

        fw_expr_free(e);

        /* the same rule written with Arkime's alternative tokens and no spaces */
        e = compile_ok("packets=1&ip.protocol=6&ip.src!=131.206/16&ip.dst!=131.206");
        assert_string_equal(fw_expr_text(e), STUDY_RULE);
        s = mk("10.1.2.3", 50000, "192.168.0.9", 445, 6, 1, 0);
        assert_int_equal(fw_expr_match(e, &s), 1);
        s = mk("10.1.2.3", 50000, "131.206.0.9", 445, 6, 1, 0);
        assert_int_equal(fw_expr_match(e, &s), 0);
        fw_expr_free(e);
}

static void test_counters(void **state) {
        static const struct {
                const char *total, *src, *dst;
                size_t src_off, dst_off;
        } fields[] = {
                {"packets", "packets.src", "packets.dst", offsetof(fw_session_t, src_packets),
                 offsetof(fw_session_t, dst_packets)},
                {"bytes", "bytes.src", "bytes.dst", offsetof(fw_session_t, src_bytes),
                 offsetof(fw_session_t, dst_bytes)},
                {"databytes", "databytes.src", "databytes.dst",
                 offsetof(fw_session_t, src_databytes), offsetof(fw_session_t, dst_databytes)},
        };
        char buf[128];

        (void)state;
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
                fw_session_t s = mk("10.0.0.1", 1000, "10.0.0.2", 80, 6, 1, 1);

                *(int64_t *)((char *)&s + fields[i].src_off) = 30;
                *(int64_t *)((char *)&s + fields[i].dst_off) = 12;
#define T(fmt, field, want)                                                                        \
        do {                                                                                       \
                snprintf(buf, sizeof(buf), fmt, field);                                            \
                if (m(buf, &s) != (want))                                                          \
                        fail_msg("\"%s\" should be %d", buf, want);                                \
        } while (0)
                T("%s == 42", fields[i].total, 1);
                T("%s == 41", fields[i].total, 0);
                T("%s != 41", fields[i].total, 1);
                T("%s < 42", fields[i].total, 0);
                T("%s <= 42", fields[i].total, 1);
                T("%s > 41", fields[i].total, 1);
                T("%s >= 43", fields[i].total, 0);
                T("%s == 40-50", fields[i].total, 1);
                T("%s == [1,42,7]", fields[i].total, 1);
                T("%s != [1,42,7]", fields[i].total, 0);
                T("%s == 30", fields[i].src, 1);
                T("%s == 12", fields[i].src, 0);
                T("%s == 12", fields[i].dst, 1);
                T("%s > 12", fields[i].dst, 0);
                T("%s >= 12", fields[i].dst, 1);
                T("%s < 31", fields[i].src, 1);
                T("%s == \"30\"", fields[i].src, 1); /* termOrTermsInt strips quotes */

                /* absent source: the total is absent too */
                *(int64_t *)((char *)&s + fields[i].src_off) = FW_ABSENT;
                T("%s == 30", fields[i].src, 0);
                T("%s != 30", fields[i].src, 1);
                T("%s < 100", fields[i].src, 0);
                T("%s >= 0", fields[i].src, 0);
                T("%s == 12", fields[i].dst, 1);
                T("%s == 12", fields[i].total, 0);
                T("%s != 12", fields[i].total, 1);
                T("%s > 0", fields[i].total, 0);
                T("%s == EXISTS!", fields[i].total, 0);
                T("%s != EXISTS!", fields[i].total, 1);
                T("%s == EXISTS!", fields[i].dst, 1);
#undef T
        }
}

static void test_tcpflags(void **state) {
        static const char *const names[] = {"syn", "syn-ack", "ack", "psh", "fin", "rst", "urg"};
        char buf[128];

        (void)state;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                fw_session_t s = mk("10.0.0.1", 1000, "10.0.0.2", 80, 6, 1, 1);
                int32_t *flags[] = {&s.tcpflags.syn, &s.tcpflags.syn_ack, &s.tcpflags.ack,
                                    &s.tcpflags.psh, &s.tcpflags.fin,     &s.tcpflags.rst,
                                    &s.tcpflags.urg};

                for (size_t j = 0; j < 7; j++)
                        *flags[j] = 0;
                *flags[i] = 3;
                snprintf(buf, sizeof(buf), "tcpflags.%s == 3", names[i]);
                assert_int_equal(m(buf, &s), 1);
                snprintf(buf, sizeof(buf), "tcpflags.%s > 2 && tcpflags.%s < 4", names[i],
                         names[i]);
                assert_int_equal(m(buf, &s), 1);
                snprintf(buf, sizeof(buf), "tcpflags.%s == 0", names[(i + 1) % 7]);
                assert_int_equal(m(buf, &s), 1);
                snprintf(buf, sizeof(buf), "tcpflags.%s >= 1", names[(i + 1) % 7]);
                assert_int_equal(m(buf, &s), 0);
                *flags[i] = FW_ABSENT;
                snprintf(buf, sizeof(buf), "tcpflags.%s == 0", names[i]);
                assert_int_equal(m(buf, &s), 0);
                snprintf(buf, sizeof(buf), "tcpflags.%s != 3", names[i]);
                assert_int_equal(m(buf, &s), 1);
                snprintf(buf, sizeof(buf), "tcpflags.%s == EXISTS!", names[i]);
                assert_int_equal(m(buf, &s), 0);
        }
}

static void test_ports(void **state) {
        fw_session_t s = mk("10.0.0.1", 50123, "10.0.0.2", 445, 6, 1, 0);
        fw_session_t icmp = mk("10.0.0.1", 0, "10.0.0.2", 0, 1, 1, 1);

        (void)state;
        assert_int_equal(m("port.dst == 445", &s), 1);
        assert_int_equal(m("port.dst == 444", &s), 0);
        assert_int_equal(m("port.src == 50123", &s), 1);
        assert_int_equal(m("port.src == 445", &s), 0);
        assert_int_equal(m("port.dst != 445", &s), 0);
        assert_int_equal(m("port.dst == [135,139,445,3389]", &s), 1);
        assert_int_equal(m("port.dst != [135,139,445,3389]", &s), 0);
        assert_int_equal(m("port.dst == [ 135 , 139 ]", &s), 0);
        assert_int_equal(m("port.dst == 440-450", &s), 1);
        assert_int_equal(m("port.dst == 445-445", &s), 1);
        assert_int_equal(m("port.dst == 446-450", &s), 0);
        assert_int_equal(m("port.dst != 440-450", &s), 0);
        assert_int_equal(m("port.dst < 1024", &s), 1);
        assert_int_equal(m("port.src < 1024", &s), 0);
        assert_int_equal(m("port.src >= 49152", &s), 1);
        assert_int_equal(m("port.dst <= 445 && port.dst >= 445", &s), 1);
        assert_int_equal(m("port.dst == 0", &s), 0);

        /* port: either side */
        assert_int_equal(m("port == 445", &s), 1);
        assert_int_equal(m("port == 50123", &s), 1);
        assert_int_equal(m("port == 80", &s), 0);
        assert_int_equal(m("port != 445", &s), 0); /* must_not(src or dst) */
        assert_int_equal(m("port != 80", &s), 1);
        assert_int_equal(m("port == [80,445]", &s), 1);
        assert_int_equal(m("port < 1024", &s), 1);
        assert_int_equal(m("port > 60000", &s), 0);
        assert_int_equal(m("port == 50000-51000", &s), 1);
        /* AND list on a regex field: all values on the same side (one value each: never) */
        assert_int_equal(m("port == ]445,50123[", &s), 0);
        assert_int_equal(m("port == ]445,445[", &s), 1);

        /* ICMP: Arkime's capture writes port 0 on both sides, and the real viewer matches it */
        assert_int_equal(m("port.dst == 0", &icmp), 1);
        assert_int_equal(m("port.dst != 0", &icmp), 0);
        assert_int_equal(m("port.dst < 10", &icmp), 1);
        assert_int_equal(m("port == EXISTS!", &icmp), 1);
        assert_int_equal(m("port != EXISTS!", &icmp), 0);
        assert_int_equal(m("port.src == EXISTS!", &s), 1);
        assert_int_equal(m("port != [1,2]", &icmp), 1);
}

static void test_ip_forms(void **state) {
        fw_session_t s = mk("10.1.2.3", 50000, "192.168.0.9", 445, 6, 1, 0);
        fw_session_t v6 = mk("2001:db8:1::5", 40000, "fe80::1", 22, 6, 3, 2);

        (void)state;
        /* addresses and CIDRs */
        assert_int_equal(m("ip.src == 10.1.2.3", &s), 1);
        assert_int_equal(m("ip.src == 10.1.2.4", &s), 0);
        assert_int_equal(m("ip.src == 10.0.0.0/8", &s), 1);
        assert_int_equal(m("ip.src == 10.1.2.0/24", &s), 1);
        assert_int_equal(m("ip.src == 10.1.3.0/24", &s), 0);
        assert_int_equal(m("ip.src == 0.0.0.0/0", &s), 1);
        assert_int_equal(m("ip.src == 10.1.2.3/32", &s), 1);
        assert_int_equal(m("ip.dst == 192.168.0.0/16", &s), 1);
        assert_int_equal(m("ip.dst == 10.0.0.0/8", &s), 0);
        /* shorthand: 10 = /8, 10.1 = /16, 10.1.2 = /24 */
        assert_int_equal(m("ip.src == 10", &s), 1);
        assert_int_equal(m("ip.src == 10.1", &s), 1);
        assert_int_equal(m("ip.src == 10.2", &s), 0);
        assert_int_equal(m("ip.src == 10.1.2", &s), 1);
        assert_int_equal(m("ip.src == 10.1.2.", &s), 1);
        /* lists */
        assert_int_equal(m("ip.src == [192.168.0.0/16, 10.1.2.3]", &s), 1);
        assert_int_equal(m("ip.src != [192.168.0.0/16, 10.1.2.3]", &s), 0);
        assert_int_equal(m("ip.src == [192.168.0.0/16,172.16.0.0/12]", &s), 0);
        assert_int_equal(m("ip.src == ]10.0.0.0/8,10.1.0.0/16[", &s), 1);
        assert_int_equal(m("ip.src == ]10.0.0.0/8,10.2.0.0/16[", &s), 0);
        /* ports after the address */
        assert_int_equal(m("ip.dst == 192.168.0.9:445", &s), 1);
        assert_int_equal(m("ip.dst == 192.168.0.9:139", &s), 0);
        assert_int_equal(m("ip.dst == 192.168/16:445", &s), 1);
        assert_int_equal(m("ip.dst == :445", &s), 1);
        assert_int_equal(m("ip.dst == .445", &s), 1);
        assert_int_equal(m("ip.src == :445", &s), 0);
        assert_int_equal(m("ip.dst:port == 192.168.0.9:445", &s), 1);

        /* ip: either side */
        assert_int_equal(m("ip == 10.1.2.3", &s), 1);
        assert_int_equal(m("ip == 192.168.0.9", &s), 1);
        assert_int_equal(m("ip == 172.16.0.1", &s), 0);
        assert_int_equal(m("ip != 10.1.2.3", &s), 0); /* neither side */
        assert_int_equal(m("ip != 172.16.0.0/12", &s), 1);
        assert_int_equal(m("ip == 192.168.0.9:445", &s), 1);
        assert_int_equal(m("ip == 10.1.2.3:445", &s), 0); /* 445 is the destination's port */
        assert_int_equal(m("ip == :50000", &s), 1);
        /* AND list on ip: each value on either side (a conversation between two hosts) */
        assert_int_equal(m("ip == ]10.1.2.3,192.168.0.9[", &s), 1);
        assert_int_equal(m("ip == ]10.1.2.3,192.168.0.8[", &s), 0);
        assert_int_equal(m("ip == [172.16.0.1,192.168.0.9]", &s), 1);

        /* IPv6 */
        assert_int_equal(m("ip.src == 2001:db8:1::5", &v6), 1);
        assert_int_equal(m("ip.src == 2001:db8::/32", &v6), 1);
        assert_int_equal(m("ip.src == 2001:db8:2::/48", &v6), 0);
        assert_int_equal(m("ip.src == 2001:db8:1", &v6), 1); /* groups shorthand: /48 */
        assert_int_equal(m("ip.src == 2001:db8:2", &v6), 0);
        assert_int_equal(m("ip.dst == fe80::/10", &v6), 1);
        assert_int_equal(m("ip.dst == fe80::1.22", &v6), 1);
        assert_int_equal(m("ip.dst == fe80::1.23", &v6), 0);
        assert_int_equal(m("ip.src == 0.0.0.0/0", &v6), 0); /* v4 CIDR, v6 address */
        assert_int_equal(m("ip.src != 0.0.0.0/0", &v6), 1);
        assert_int_equal(m("ip.src == ::/0", &v6), 1);
        assert_int_equal(m("ip == [10.0.0.0/8, fe80::/10]", &v6), 1);
        /* IPv4 as OpenSearch stores it, ::ffff:a.b.c.d (the real viewer: ip.dst == ::/0 selects
         * every session, ip.dst == ::ffff:a00:2 the sessions to 10.0.0.2) */
        assert_int_equal(m("ip.src == ::/0", &s), 1);
        assert_int_equal(m("ip.src != ::/0", &s), 0);
        assert_int_equal(m("ip.src == ::/80", &s), 1);
        assert_int_equal(m("ip.src == ::/81", &s), 0);
        assert_int_equal(m("ip.src == 8000::/1", &s), 0);
        assert_int_equal(m("ip.src == ::ffff:a01:203", &s), 1);
        assert_int_equal(m("ip.src == 0:0:0:0:0:ffff:a01:203", &s), 1);
        assert_int_equal(m("ip.src == 0:0:0:0:0:ffff:a01:203/128", &s), 1);
        assert_int_equal(m("ip.src == ::ffff:a01:204", &s), 0);
        assert_int_equal(m("ip.dst == ::ffff:c0a8:9.445", &s), 1);
        assert_int_equal(m("ip.src == ]::ffff:a01:203,10.0.0.0/8[", &s), 1);
        {
                fw_session_t mapped = mk("::ffff:10.1.2.3", 50000, "fe80::1", 22, 6, 1, 0);

                assert_int_equal(m("ip.src == 10.1.2.3", &mapped), 1);
                assert_int_equal(m("ip.src == 10.0.0.0/8", &mapped), 1);
                assert_int_equal(m("ip.src == ipv4", &mapped), 1);
                assert_int_equal(m("ip.src == ipv6", &mapped), 0);
                assert_int_equal(m("ip.dst == ipv6", &mapped), 1);
        }

        /* ipv4 / ipv6 (ipv6 is "not IPv4", as parseIpPort builds it) */
        assert_int_equal(m("ip.src == ipv4", &s), 1);
        assert_int_equal(m("ip.src == ipv6", &s), 0);
        assert_int_equal(m("ip.src == ipv4", &v6), 0);
        assert_int_equal(m("ip.src == ipv6", &v6), 1);
        assert_int_equal(m("ip.src != ipv6", &s), 1);
        assert_int_equal(m("ip == ipv6", &s), 0);

        /* unset address: == never, != always */
        s.src_ip.family = 0;
        assert_int_equal(m("ip.src == 0.0.0.0/0", &s), 0);
        assert_int_equal(m("ip.src != 10.1.2.3", &s), 1);
        assert_int_equal(m("ip.src == EXISTS!", &s), 0);
        assert_int_equal(m("ip == EXISTS!", &s), 1);
}

static void test_protocol(void **state) {
        static const struct {
                const char *name;
                uint8_t number;
        } names[] = {{"icmp", 1},  {"igmp", 2},  {"tcp", 6},    {"udp", 17},
                     {"gre", 47},  {"esp", 50},  {"icmp6", 58}, {"icmpv6", 58},
                     {"ospf", 89}, {"pim", 103}, {"sctp", 132}};
        char buf[64];

        (void)state;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                fw_session_t s = mk("10.0.0.1", 0, "10.0.0.2", 0, names[i].number, 1, 1);
                fw_session_t other = mk("10.0.0.1", 0, "10.0.0.2", 0, 200, 1, 1);

                snprintf(buf, sizeof(buf), "ip.protocol == %s", names[i].name);
                assert_int_equal(m(buf, &s), 1);
                assert_int_equal(m(buf, &other), 0);
                snprintf(buf, sizeof(buf), "ip.protocol == %u", names[i].number);
                assert_int_equal(m(buf, &s), 1);
                snprintf(buf, sizeof(buf), "ip.protocol != %s", names[i].name);
                assert_int_equal(m(buf, &s), 0);
                assert_int_equal(m(buf, &other), 1);
        }
        {
                fw_session_t s = mk("10.0.0.1", 1, "10.0.0.2", 2, 6, 1, 1);

                assert_int_equal(m("ip.protocol == TCP", &s), 1); /* lotermfield: lowercased */
                assert_int_equal(m("ip.protocol == \"tcp\"", &s), 1);
                assert_int_equal(m("ip.protocol == [udp, tcp]", &s), 1);
                assert_int_equal(m("ip.protocol == [udp, 1, 58]", &s), 0);
                assert_int_equal(m("ip.protocol != [udp,icmp]", &s), 1);
                assert_int_equal(m("ip.protocol == 006", &s), 1);
                assert_int_equal(m("ip.protocol == EXISTS!", &s), 1);
        }
        check_text("ip.protocol == 6", "ip.protocol == tcp");
        check_text("ip.protocol == [17,ICMP6,58,255]", "ip.protocol == [udp,icmpv6,icmpv6,255]");
}

static void test_strings(void **state) {
        fw_session_t s = mk("10.0.0.1", 1, "10.0.0.2", 2, 6, 1, 1);

        (void)state;
        snprintf(s.node, sizeof(s.node), "sensor 1");
        snprintf(s.community_id, sizeof(s.community_id), "1:Yv1z0e5r0RzQq7mQj6x4d2c1b0A=");
        assert_int_equal(m("node == \"sensor 1\"", &s), 1);
        assert_int_equal(m("node == sensor", &s), 0);
        assert_int_equal(m("node == \"Sensor 1\"", &s), 0); /* termfield: case-sensitive */
        assert_int_equal(m("node != \"sensor 1\"", &s), 0);
        assert_int_equal(m("node == [a, \"sensor 1\"]", &s), 1);
        assert_int_equal(m("node != [a, \"sensor 1\"]", &s), 0);
        assert_int_equal(m("node == sensor*", &s), 1);
        assert_int_equal(m("node == *1", &s), 1);
        assert_int_equal(m("node == \"s*r ?\"", &s), 1);
        assert_int_equal(m("node == \"s*r ??\"", &s), 0);
        assert_int_equal(m("node == [x*, *or 1]", &s), 1);
        assert_int_equal(m("node == sensor?1", &s), 0); /* '?' alone is literal (no '*') */
        assert_int_equal(m("node == EXISTS!", &s), 1);
        assert_int_equal(m("communityId == \"1:Yv1z0e5r0RzQq7mQj6x4d2c1b0A=\"", &s), 1);
        assert_int_equal(m("communityId == 1:Yv*", &s), 1);
        assert_int_equal(m("rootId == EXISTS!", &s), 0);
        assert_int_equal(m("rootId != abc", &s), 1); /* absent */
        assert_int_equal(m("rootId == abc", &s), 0);
        snprintf(s.root_id, sizeof(s.root_id), "abc");
        assert_int_equal(m("rootId == abc", &s), 1);
        s.node[0] = '\0'; /* absent */
        assert_int_equal(m("node == x*", &s), 0);
        assert_int_equal(m("node != x*", &s), 1);
        assert_int_equal(m("node == EXISTS!", &s), 0);
        assert_int_equal(m("node != EXISTS!", &s), 1);
}

static void test_precedence(void **state) {
        fw_session_t s = mk("10.0.0.1", 1000, "10.0.0.2", 80, 6, 1, 1);
        /* A: true, B: true, C: false */
        const char *a = "port.dst == 80", *b = "ip.protocol == tcp", *c = "packets == 9";
        char buf[256];

        (void)state;
        /* a || b && c  is  a || (b && c) */
        snprintf(buf, sizeof(buf), "%s || %s && %s", a, b, c);
        assert_int_equal(m(buf, &s), 1);
        snprintf(buf, sizeof(buf), "(%s || %s) && %s", a, b, c);
        assert_int_equal(m(buf, &s), 0);
        /* c && b || a  is  (c && b) || a */
        snprintf(buf, sizeof(buf), "%s && %s || %s", c, b, a);
        assert_int_equal(m(buf, &s), 1);
        snprintf(buf, sizeof(buf), "%s && (%s || %s)", c, b, a);
        assert_int_equal(m(buf, &s), 0);
        /* ! binds tightest */
        snprintf(buf, sizeof(buf), "!%s && %s", c, a);
        assert_int_equal(m(buf, &s), 1);
        snprintf(buf, sizeof(buf), "!(%s && %s)", a, b);
        assert_int_equal(m(buf, &s), 0);
        snprintf(buf, sizeof(buf), "!%s || %s", a, c);
        assert_int_equal(m(buf, &s), 0);
        snprintf(buf, sizeof(buf), "!!%s", a);
        assert_int_equal(m(buf, &s), 1);
        snprintf(buf, sizeof(buf), "!(!(%s) || !(%s))", a, b);
        assert_int_equal(m(buf, &s), 1);
        snprintf(buf, sizeof(buf), "((((%s))))", c);
        assert_int_equal(m(buf, &s), 0);
        snprintf(buf, sizeof(buf), "%s || %s || %s", c, c, a);
        assert_int_equal(m(buf, &s), 1);
        snprintf(buf, sizeof(buf), "%s && %s && %s", a, b, c);
        assert_int_equal(m(buf, &s), 0);
        snprintf(buf, sizeof(buf), "(%s || %s) && (%s || !%s)", c, a, c, c);
        assert_int_equal(m(buf, &s), 1);
}

static void test_absent_semantics(void **state) {
        fw_session_t s;

        (void)state;
        fw_session_init(&s); /* everything absent */
        s.ip_protocol = 6;
        assert_int_equal(m("packets == 0", &s), 0);
        assert_int_equal(m("packets != 0", &s), 1);
        assert_int_equal(m("packets < 5", &s), 0);
        assert_int_equal(m("!(packets < 5)", &s), 1);
        assert_int_equal(m("bytes.src == [1,2]", &s), 0);
        assert_int_equal(m("bytes.src != [1,2]", &s), 1);
        assert_int_equal(m("port.dst == 80", &s), 0);
        assert_int_equal(m("port.dst != 80", &s), 1);
        assert_int_equal(m("port != 80", &s), 1);
        assert_int_equal(m("ip.src == 10.0.0.0/8", &s), 0);
        assert_int_equal(m("ip.src != 10.0.0.0/8", &s), 1);
        assert_int_equal(m("ip != 10.0.0.0/8", &s), 1);
        assert_int_equal(m("node == x", &s), 0);
        assert_int_equal(m("node != x", &s), 1);
        assert_int_equal(m("tcpflags.syn == 0", &s), 0);
        assert_int_equal(m("tcpflags.syn != 0", &s), 1);
        assert_int_equal(m("communityId != \"1:x\"", &s), 1);
        /* De Morgan does not hold against != here: != is must_not(==), not "present and differs" */
        assert_int_equal(m("packets != 1 && packets != 2", &s), 1);
        assert_int_equal(m("packets < 1 || packets >= 1", &s), 0);
}

static void test_normalised_text(void **state) {
        (void)state;
        check_text("packets==1", "packets == 1");
        check_text("  packets   =  1 ", "packets == 1");
        check_text("packets = 1 & bytes > 5 | node == x", "packets == 1 && bytes > 5 || node == x");
        check_text("(packets == 1)", "packets == 1");
        check_text("((packets == 1))", "packets == 1");
        check_text("ip.protocol == tcp", "ip.protocol == tcp");
}

static void test_normalised_text_table(void **state) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                {"(packets == 1 && bytes == 2) && node == x",
                 "packets == 1 && bytes == 2 && node == x"},
                {"packets == 1 || (bytes == 2 || node == x)",
                 "packets == 1 || bytes == 2 || node == x"},
                {"(packets == 1 || bytes == 2) && node == x",
                 "(packets == 1 || bytes == 2) && node == x"},
                {"packets == 1 || bytes == 2 && node == x",
                 "packets == 1 || bytes == 2 && node == x"},
                {"!packets == 1", "!(packets == 1)"},
                {"!!packets == 1", "packets == 1"},
                {"!(packets == 1 && bytes == 2)", "!(packets == 1 && bytes == 2)"},
                {"ip.src == 10", "ip.src == 10.0.0.0/8"},
                {"ip.src == 10.1.2", "ip.src == 10.1.2.0/24"},
                {"ip.src == 10.1.2.3/32", "ip.src == 10.1.2.3"},
                {"ip.src==[10.1 , 192.168.0.1:80]", "ip.src == [10.1.0.0/16,192.168.0.1:80]"},
                {"ip == ]10.0.0.1,10.0.0.2[", "ip == ]10.0.0.1,10.0.0.2["},
                {"ip.src == [10.0.0.1]", "ip.src == 10.0.0.1"},
                {"ip.src == 2001:DB8:0:0::1/128", "ip.src == 2001:db8::1"},
                {"ip.src == 2001:db8:1", "ip.src == 2001:db8:1::/48"},
                {"ip.src == 2001:db8::/32.443", "ip.src == 2001:db8::/32.443"},
                {"ip.src == ::ffff:102:304", "ip.src == 0:0:0:0:0:ffff:102:304"},
                {"ip.src == 0:0:0:0:0:ffff:102:304/128", "ip.src == 0:0:0:0:0:ffff:102:304"},
                {"ip.src == ::/80", "ip.src == ::/80"},
                {"ip.dst == .80", "ip.dst == :80"},
                {"ip.dst:port == 10.0.0.1:80", "ip.dst == 10.0.0.1:80"},
                {"ip.src != ipv6", "ip.src != ipv6"},
                {"port.dst == 080", "port.dst == 80"},
                {"port.dst == \"80\"", "port.dst == 80"},
                {"port.dst == 80-90", "port.dst == 80-90"},
                {"port.dst == [ 22 , 445 ]", "port.dst == [22,445]"},
                {"ip.protocol == ICMP6", "ip.protocol == icmpv6"},
                {"node == \"sensor 1\"", "node == \"sensor 1\""},
                {"node == \"sensor1\"", "node == sensor1"},
                {"node == [\"a\\,b\", c\\,d, \"e\\\"f\"]",
                 "node == [\"a\\,b\",\"c\\,d\",\"e\\\"f\"]"},
                /* ListToArray splits at every unescaped comma, inside quotes too */
                {"node == [\"a,b\"]", "node == [\"\\\"a\",\"b\\\"\"]"},
                {"node == \"a\\\"b\\\\c\"", "node == \"a\\\"b\\\\c\""},
                {"node == \"\"", "node == \"\""},
                {"packets == EXISTS!", "packets == EXISTS!"},
                {"tcpflags.syn-ack>=1", "tcpflags.syn-ack >= 1"},
                {"packets == 1 &&\n  bytes < 5", "packets == 1 && bytes < 5"},
                /* a line break can only be written inside a list, so a value holding one stays
                 * a one-element list (fuzz/fuzz_expr: it was printed as an unterminated "...") */
                {"node == [a\nb]", "node == [\"a\nb\"]"},
                {"node == ]a\r\nb[", "node == ]\"a\r\nb\"["},
                {"node=[\"\n\xff]", "node == [\"\\\"\n\xff\"]"},
                {STUDY_RULE, STUDY_RULE},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                fw_expr_t *e2;

                check_text(cases[i].in, cases[i].out);
                e2 = compile_ok(cases[i].out); /* the normalised text is a fixed point */
                assert_string_equal(fw_expr_text(e2), cases[i].out);
                fw_expr_free(e2);
        }
}

/* ----------------------------------------------------------------------------------------- */

static void check_error(const char *text, unsigned line, unsigned col, const char *msg) {
        char err[1024], prefix[64];
        fw_expr_t *e = fw_expr_compile(text, err, sizeof(err));

        if (e != NULL) {
                fw_expr_free(e);
                fail_msg("\"%s\" compiled, expected an error", text);
        }
        snprintf(prefix, sizeof(prefix), "expression:%u:%u: ", line, col);
        if (strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, msg) == NULL)
                fail_msg("\"%s\": got \"%s\", want prefix \"%s\" and \"%s\"", text, err, prefix,
                         msg);
}

static void test_invalid(void **state) {
        static const struct {
                const char *text;
                unsigned col;
                const char *msg;
        } cases[] = {
                /* the example from the contract */
                {"packets == 1 && ip.sorc == 1.2.3.4", 17,
                 "unknown field 'ip.sorc' (did you mean 'ip.src'?)"},
                {"pakcets == 1", 1, "unknown field 'pakcets' (did you mean 'packets'?)"},
                {"foo == 1", 1, "unknown field 'foo'"},
                {"db:srcIp == 1", 1, "unknown field 'db:srcIp' (fanwatch sees only: ip, port, "},
                /* issue 15: a real Arkime field is not "unknown": say fanwatch does not get it */
                {"http.uri == /admin", 1,
                 "'http.uri' is an Arkime field fanwatch does not receive (it sees only: ip, "
                 "port, packets, bytes, databytes (each also .src and .dst), ip.protocol, "
                 "tcpflags.syn, .syn-ack, .ack, .psh, .fin, .rst, .urg, node, communityId, "
                 "rootId)"},
                {"packets == 1 && protocols == smb", 17,
                 "'protocols' is an Arkime field fanwatch does not receive"},
                {"tags == scanner", 1, "'tags' is an Arkime field fanwatch does not receive"},
                {"tls.ja4 == x", 1, "'tls.ja4' is an Arkime field fanwatch does not receive"},
                {"tcpflags.ece > 0", 1,
                 "'tcpflags.ece' is an Arkime field fanwatch does not receive"},
                /* missing operands and operators */
                {"", 1, "empty expression"},
                {"   \t ", 1, "empty expression"},
                {"packets", 8,
                 "expected an operator (==, !=, <, <=, >, >=) after 'packets' but "
                 "found end of expression"},
                {"packets 1", 9, "expected an operator"},
                {"packets ==", 11, "missing value after '==' (found end of expression)"},
                {"packets == && bytes == 1", 12, "missing value after '=='"},
                {"packets == 1 &&", 16, "missing operand"},
                {"packets == 1 && || bytes == 1", 17, "missing operand before '||'"},
                {"&& packets == 1", 1, "missing operand before '&&'"},
                {"== 1", 1, "missing field name before '=='"},
                {"!", 2, "missing operand"},
                {"()", 2, "missing operand before ')'"},
                {"\"node\" == x", 1, "expected a field name"},
                /* parentheses and trailing garbage */
                {"(packets == 1", 14, "missing ')' to close the '(' at 1:1"},
                {"((packets == 1) && (bytes == 2)", 32, "missing ')' to close the '(' at 1:1"},
                {"packets == 1)", 13, "unbalanced ')'"},
                {"packets == 1 bytes == 2", 14, "unexpected 'bytes' after a complete expression"},
                {"packets == 1 2", 14, "unexpected '2'"},
                {"packets == 1 ; drop", 14, "unexpected character ';'"},
                {"packets == 1 ]", 14, "unexpected ']'"},
                {"packets == \x01", 12, "unexpected byte 0x01"},
                /* strings and lists */
                {"node == \"sensor 1", 9, "unterminated string"},
                {"port == [80, 443", 9, "unterminated list: missing ']'"},
                {"port == []", 9, "empty list"},
                {"port == [80,,443]", 13, "empty list element"},
                {"port == [80,]", 13, "empty list element"},
                /* numbers */
                {"port.dst == 70000", 13, "70000 is out of range for port.dst (0-65535)"},
                {"port == 65536", 9, "out of range for port (0-65535)"},
                {"port.src == [80, 70000]", 18, "70000 is out of range"},
                {"port.dst < 70000", 12, "out of range"},
                {"port.dst == 80-70000", 13, "out of range"},
                {"port.dst == 90-80", 13, "empty range 90-80"},
                {"packets == 9007199254740993", 12, "out of range for packets"},
                {"packets == -1", 12, "-1 is out of range"},
                {"tcpflags.syn == 2147483648", 17, "out of range"},
                {"packets == abc", 12, "'abc' is not a number"},
                {"packets == 1.5", 12, "'1.5' is not a number"},
                {"packets == 0x10", 12, "not a number"},
                {"port == [\"80\"]", 10, "'\"80\"' is not a number"},
                {"port.dst == [80-90, 443]", 14, "ranges are not supported inside lists"},
                {"port.dst > 80-90", 12, "ranges are not supported"},
                {"packets > [1,2]", 11, "lists need == or !="},
                {"packets == $big", 12, "shortcuts ($name) are not supported"},
                /* ip */
                {"ip.src == 10.1/8", 11, "host bits set (did you mean 10.0.0.0/8?)"},
                {"ip.src == 10.1.2.3/8", 11,
                 "invalid CIDR '10.1.2.3/8': host bits set (did you mean 10.0.0.0/8?)"},
                {"ip.dst == 2001:db8::1/32", 11, "host bits set (did you mean 2001:db8::/32?)"},
                {"ip.src == 10.1.2.256", 11, "invalid IP address '10.1.2.256'"},
                {"ip.src == 10.1.2.3.4", 11, "invalid IP address"},
                {"ip.src == 10.0.0.0/33", 11, "invalid prefix length"},
                {"ip.src == 10.0.0.0/", 11, "invalid prefix length"},
                {"ip.src == 2001:db8::/129", 11, "invalid prefix length"},
                {"ip.src == 2001:db8::g", 11, "invalid IP address"},
                {"ip.src == ::ffff:1.2.3.4", 11, "IPv4-embedded IPv6 is not supported"},
                /* OpenSearch: "CIDR notation is not allowed with IPv6-mapped IPv4 address" */
                {"ip.src == ::ffff:0:0/96", 11,
                 "invalid CIDR '::ffff:0:0/96': OpenSearch refuses a prefix on an IPv4-mapped "
                 "IPv6 address (write the IPv4 CIDR)"},
                {"ip.src == ::ffff:a00:0/104", 11, "OpenSearch refuses a prefix"},
                {"ip.src == ::ffff:a00:1/128", 11, "OpenSearch refuses a prefix"},
                {"ip.src == 0:0:0:0:0:ffff", 11, "OpenSearch refuses a prefix"},
                {"ip.src == 0:0:0:0:0:ffff:0:0/96", 11, "OpenSearch refuses a prefix"},
                {"ip.dst == [10.0.0.1, ::ffff:a00:0/120]", 22, "OpenSearch refuses a prefix"},
                {"ip.src == 10.0.0.1:99999", 11, "invalid port '99999'"},
                {"ip.src == :http", 11, "invalid port 'http'"},
                {"ip.src == abc", 11, "invalid IP address 'abc'"},
                {"ip.src == \"10.0.0.1\"", 11, "IP values are written without quotes"},
                {"ip.src == 10.*", 11, "wildcards are not supported for IP fields"},
                {"ip.src == [10.0.0.1, 10.1.2.3/8]", 22, "host bits set"},
                {"ip.src == [ipv6]", 12, "invalid IP address 'ipv6'"},
                {"ip.src < 10.0.0.1", 8, "operator '<' is not supported for IP field 'ip.src'"},
                {"ip >= 10.0.0.0/8", 4, "operator '>=' is not supported for IP field 'ip'"},
                /* operators on non-numeric fields */
                {"ip.protocol > 6", 13, "operator '>' is not supported for 'ip.protocol'"},
                {"node <= x", 6, "operator '<=' is not supported for 'node'"},
                {"ip.protocol == tpc", 16, "unknown protocol 'tpc' (did you mean 'tcp'?)"},
                {"ip.protocol == 256", 16, "protocol 256 is out of range (0-255)"},
                {"ip.protocol == 6-17", 16, "unknown protocol '6-17'"},
                {"ip.protocol == [tcp, bogus]", 22, "unknown protocol 'bogus'"},
                {"ip.protocol == tc*", 16, "unknown protocol 'tc*'"},
                /* regex, wildcard-only, EXISTS! misuse */
                {"node == /sensor.*/", 9, "regular expressions are not supported"},
                {"ip.src == /10/", 11, "regular expressions are not supported"},
                {"node == *", 9, "use EXISTS! instead of '*'"},
                {"node == [a, *]", 13, "use EXISTS! instead of '*'"},
                {"node == $nodes", 9, "shortcuts ($name) are not supported"},
                {"ip.src == $internal", 11, "shortcuts ($name) are not supported"},
                {"ip.protocol == [tcp, $p]", 22, "shortcuts ($name) are not supported"},
                {"port == [80, $web]", 14, "shortcuts ($name) are not supported"},
                {"packets > EXISTS!", 11, "EXISTS! needs == or !="},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                check_error(cases[i].text, 1, cases[i].col, cases[i].msg);
        /* positions on later lines: line and column of the token */
        check_error("packets == 1 &&\n  pakets == 2", 2, 3, "unknown field 'pakets'");
        check_error("packets == 1 &&\n\n(bytes == 2", 3, 12, "missing ')' to close the '(' at 3:1");
        check_error("node == \"a\nb\"", 1, 9, "unterminated string");
}

static void test_limits(void **state) {
        char *buf = malloc(FW_EXPR_MAX_LEN + 64);
        char err[256];
        fw_expr_t *e;
        fw_session_t s = mk("10.0.0.1", 1, "10.0.0.2", 2, 6, 1, 0);
        size_t n = 0;

        (void)state;
        assert_non_null(buf);
        /* 64 levels of '(' are fine, 65 are not */
        for (int i = 0; i < FW_EXPR_MAX_DEPTH; i++)
                buf[n++] = '(';
        n += (size_t)sprintf(buf + n, "packets == 1");
        for (int i = 0; i < FW_EXPR_MAX_DEPTH; i++)
                buf[n++] = ')';
        buf[n] = '\0';
        e = compile_ok(buf);
        assert_string_equal(fw_expr_text(e), "packets == 1");
        assert_int_equal(fw_expr_match(e, &s), 1);
        fw_expr_free(e);
        memmove(buf + 1, buf, n + 1);
        buf[0] = '(';
        check_error(buf, 1, 65, "nesting deeper than 64 levels");

        /* '!' counts too, mixed with '(' */
        n = 0;
        for (int i = 0; i < 40; i++) {
                buf[n++] = '!';
                buf[n++] = '(';
        }
        n += (size_t)sprintf(buf + n, "packets == 1");
        for (int i = 0; i < 40; i++)
                buf[n++] = ')';
        buf[n] = '\0';
        check_error(buf, 1, 65, "nesting deeper than 64 levels");

        /* a wall of parentheses the size of the limit: an error, not a stack overflow */
        memset(buf, '(', FW_EXPR_MAX_LEN);
        buf[FW_EXPR_MAX_LEN] = '\0';
        check_error(buf, 1, 65, "nesting deeper");
        memset(buf, '!', FW_EXPR_MAX_LEN);
        check_error(buf, 1, 65, "nesting deeper");

        /* length: exactly the limit is fine (a long chain is not nesting), one more is not */
        n = 0;
        while (n + 20 < FW_EXPR_MAX_LEN)
                n += (size_t)sprintf(buf + n, "%spackets == 1", n ? " || " : "");
        while (n < FW_EXPR_MAX_LEN)
                buf[n++] = ' ';
        buf[n] = '\0';
        e = fw_expr_compile(buf, err, sizeof(err));
        assert_non_null(e);
        assert_int_equal(fw_expr_match(e, &s), 1);
        fw_expr_free(e);
        buf[n++] = ' ';
        buf[n] = '\0';
        check_error(buf, 1, FW_EXPR_MAX_LEN + 1, "expression longer than 4096 bytes");

        /* a long && chain of leaves */
        n = 0;
        while (n + 40 < FW_EXPR_MAX_LEN)
                n += (size_t)sprintf(buf + n, "%sip.src != 131.206.0.0/16", n ? "&&" : "");
        e = compile_ok(buf);
        assert_int_equal(fw_expr_match(e, &s), 1);
        fw_expr_free(e);
        free(buf);
}

static void test_api_edges(void **state) {
        char err[64];
        char tiny[8];
        fw_expr_t *e;
        fw_session_t s = mk("10.0.0.1", 1, "10.0.0.2", 2, 6, 1, 0);

        (void)state;
        assert_null(fw_expr_compile(NULL, err, sizeof(err)));
        assert_non_null(strstr(err, "no expression"));
        assert_null(fw_expr_compile("nope == 1", NULL, 0)); /* no error buffer */
        assert_null(fw_expr_compile("nope == 1", tiny, sizeof(tiny)));
        assert_int_equal(strlen(tiny), sizeof(tiny) - 1); /* truncated, terminated */
        assert_int_equal(fw_expr_match(NULL, &s), 0);
        assert_string_equal(fw_expr_text(NULL), "");
        fw_expr_free(NULL);
        e = compile_ok("packets == 1");
        assert_int_equal(fw_expr_match(e, NULL), 0);
        err[0] = 'x';
        fw_expr_free(e);
        e = fw_expr_compile("packets == 1", err, sizeof(err));
        assert_non_null(e);
        assert_string_equal(err, ""); /* cleared on success */
        fw_expr_free(e);
}

/* ----------------------------------------------------------------------------------------- */

static uint64_t rnd(uint64_t *x) {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        return *x;
}

static const char *const corpus[] = {
        STUDY_RULE,
        "port.dst == [135,139,445,3389,5985,22] && tcpflags.syn >= 1 && tcpflags.syn-ack == 0",
        "ip == ]10.0.0.1,10.0.0.2[ || ip.src == 2001:db8::/32.443",
        "!(node == \"sensor 1\" || node == [a*,\"b,c\"]) && communityId != EXISTS!",
        "(bytes.src > 100 || databytes.dst <= 5) && port == 80-90 && ip.protocol == [tcp,17]",
        "ip.dst == 192.168/16:445 && ip.src != ipv6 && packets.src == 1 && packets.dst == 0",
        "ip.src == [10.1, 172.16.0.0/12, fe80::/10] | rootId == EXISTS! & bytes = 1",
};

static const char alphabet[] = "()[]!=<>&|\",.:/-*?$ \n0123456789abcdefipsrcdtoEXIST\\";

/* Whole tokens and phrases spliced into the corpus, so more mutants still compile. */
static const char *const pieces[] = {
        " && ",
        " || ",
        "!",
        "(",
        ")",
        " & ",
        " | ",
        "[",
        "]",
        ",",
        "\"",
        "EXISTS!",
        " == ",
        " != ",
        " < ",
        " >= ",
        "ip.src == 10.1",
        "port == [1,2]",
        "ip == ::/0",
        "node == \"x\"",
        "packets > 3",
        "ip.dst == :80",
        "ip.protocol == udp",
        "bytes == 1-9",
        "]1,2[",
        "/8",
        ":445",
        ".443",
        "ipv6",
        "*",
        "\\,",
        "2001:db8:1",
        "tcpflags.rst == 0",
};

/* Feed random and mutated text to the compiler: it must never crash (ASan/UBSan watch), and
 * what compiles must print a normalised text that compiles to the same text and the same
 * matches. */
static void test_fuzz(void **state) {
        uint64_t x = 0x9e3779b97f4a7c15u;
        char buf[512], err[256];
        fw_session_t sess[4];
        size_t compiled = 0;

        (void)state;
        sess[0] = mk("10.1.2.3", 50000, "192.168.0.9", 445, 6, 1, 0);
        sess[1] = mk("2001:db8::1", 40000, "fe80::1", 22, 6, 3, 2);
        sess[2] = mk("131.206.1.1", 0, "10.0.0.1", 0, 1, 1, 1);
        fw_session_init(&sess[3]);
        snprintf(sess[0].node, sizeof(sess[0].node), "a,b");
        for (int iter = 0; iter < 100000; iter++) {
                size_t n;
                fw_expr_t *e;

                if (iter % 8 == 0) {
                        n = rnd(&x) % 80;
                        for (size_t i = 0; i < n; i++)
                                buf[i] = alphabet[rnd(&x) % (sizeof(alphabet) - 1)];
                } else {
                        const char *src = corpus[rnd(&x) % (sizeof(corpus) / sizeof(corpus[0]))];
                        int edits = rnd(&x) % 4 == 0 ? 2 + (int)(rnd(&x) % 3) : 1;

                        n = strlen(src);
                        memcpy(buf, src, n);
                        for (int k = 0; k < edits && n > 0; k++) {
                                size_t at = rnd(&x) % n;

                                switch (rnd(&x) % 6) {
                                case 0: /* replace */
                                        buf[at] = alphabet[rnd(&x) % (sizeof(alphabet) - 1)];
                                        break;
                                case 1: /* delete */
                                        memmove(buf + at, buf + at + 1, n - at - 1);
                                        n--;
                                        break;
                                case 2: /* insert */
                                        if (n + 1 < sizeof(buf)) {
                                                memmove(buf + at + 1, buf + at, n - at);
                                                buf[at] =
                                                        alphabet[rnd(&x) % (sizeof(alphabet) - 1)];
                                                n++;
                                        }
                                        break;
                                case 3: /* truncate */
                                        n = at;
                                        break;
                                case 4: { /* splice a token or phrase */
                                        const char *p = pieces[rnd(&x) % (sizeof(pieces) /
                                                                          sizeof(pieces[0]))];
                                        size_t pn = strlen(p);

                                        if (n + pn < sizeof(buf)) {
                                                memmove(buf + at + pn, buf + at, n - at);
                                                memcpy(buf + at, p, pn);
                                                n += pn;
                                        }
                                        break;
                                }
                                default: /* any byte */
                                        buf[at] = (char)(1 + rnd(&x) % 255);
                                        break;
                                }
                        }
                }
                buf[n] = '\0';
                e = fw_expr_compile(buf, err, sizeof(err));
                if (e == NULL) {
                        if (strncmp(err, "expression:", 11) != 0)
                                fail_msg("\"%s\": bad error \"%s\"", buf, err);
                        continue;
                }
                compiled++;
                {
                        fw_expr_t *e2 = fw_expr_compile(fw_expr_text(e), err, sizeof(err));

                        if (e2 == NULL)
                                fail_msg("\"%s\" -> \"%s\" does not recompile: %s", buf,
                                         fw_expr_text(e), err);
                        if (strcmp(fw_expr_text(e), fw_expr_text(e2)) != 0)
                                fail_msg("\"%s\" -> \"%s\" -> \"%s\"", buf, fw_expr_text(e),
                                         fw_expr_text(e2));
                        for (int k = 0; k < 4; k++) {
                                if (fw_expr_match(e, &sess[k]) != fw_expr_match(e2, &sess[k]))
                                        fail_msg("\"%s\" and \"%s\" differ on session %d", buf,
                                                 fw_expr_text(e), k);
                        }
                        fw_expr_free(e2);
                }
                fw_expr_free(e);
        }
        print_message("fuzz: 100000 inputs, %zu compiled\n", compiled);
        assert_true(compiled > 1000);
}

static void test_speed(void **state) {
        enum { NSESS = 1024, EVALS = 10000000 };
        fw_session_t *sess = calloc(NSESS, sizeof(*sess));
        fw_expr_t *e = compile_ok(STUDY_RULE);
        uint64_t x = 42;
        struct timespec t0, t1;
        unsigned long hits = 0;
        double secs;

        (void)state;
        assert_non_null(sess);
        for (int i = 0; i < NSESS; i++) {
                char src[32], dst[32];
                uint64_t r = rnd(&x);

                snprintf(src, sizeof(src), "%s.%u.%u", r % 2 ? "131.206" : "10.1",
                         (unsigned)(r >> 8) % 256, (unsigned)(r >> 16) % 256);
                snprintf(dst, sizeof(dst), "%s.%u.%u", r % 3 ? "131.206" : "192.168",
                         (unsigned)(r >> 24) % 256, (unsigned)(r >> 32) % 256);
                sess[i] = mk(src, 50000, dst, 445, r % 4 ? 6 : 17, 1, (int64_t)(r >> 40) % 2);
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 0; i < EVALS; i++)
                hits += (unsigned long)fw_expr_match(e, &sess[i & (NSESS - 1)]);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        print_message("speed: %d evaluations of the study rule in %.3f s = %.1f M/s (%lu hits)\n",
                      EVALS, secs, EVALS / secs / 1e6, hits);
        assert_true(hits > 0);
        fw_expr_free(e);
        free(sess);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_study_rule),
                cmocka_unit_test(test_counters),
                cmocka_unit_test(test_tcpflags),
                cmocka_unit_test(test_ports),
                cmocka_unit_test(test_ip_forms),
                cmocka_unit_test(test_protocol),
                cmocka_unit_test(test_strings),
                cmocka_unit_test(test_precedence),
                cmocka_unit_test(test_absent_semantics),
                cmocka_unit_test(test_normalised_text),
                cmocka_unit_test(test_normalised_text_table),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_api_edges),
                cmocka_unit_test(test_fuzz),
                cmocka_unit_test(test_speed),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
