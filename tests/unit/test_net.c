/* Unit tests for common/net.c: address and CIDR parse/format, matching, hashing, lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "net.h"

/* Parse s as an address, failing the test if it does not parse. */
static fw_ip_t ip_of(const char *s) {
        fw_ip_t ip;

        if (fw_ip_parse(s, &ip) != 0)
                fail_msg("fw_ip_parse(\"%s\") failed", s);
        return ip;
}

/* Parse s as a CIDR, failing the test if it does not parse. */
static fw_cidr_t cidr_of(const char *s) {
        fw_cidr_t c;

        if (fw_cidr_parse(s, &c) != 0)
                fail_msg("fw_cidr_parse(\"%s\") failed", s);
        return c;
}

static int in(const char *cidr, const char *ip) {
        fw_cidr_t c = cidr_of(cidr);
        fw_ip_t a = ip_of(ip);

        return fw_cidr_contains(&c, &a);
}

/* Parse text, check the family, and check it formats back as `out`. */
static void check_roundtrip(const char *text, uint8_t family, const char *out) {
        char buf[FW_IP_STRLEN];
        fw_ip_t ip = ip_of(text);

        assert_int_equal(ip.family, family);
        assert_string_equal(fw_ip_format(&ip, buf, sizeof(buf)), out);
}

static void test_ip_v4_roundtrip(void **state) {
        static const uint8_t want[4] = {10, 0, 0, 1};
        fw_ip_t ip = ip_of("10.0.0.1");

        assert_int_equal(ip.family, 4);
        assert_memory_equal(ip.addr, want, 4);
        for (size_t i = 4; i < sizeof(ip.addr); i++)
                assert_int_equal(ip.addr[i], 0);
        assert_int_equal(fw_ip_len(&ip), 4);

        check_roundtrip("10.0.0.1", 4, "10.0.0.1");
        check_roundtrip("0.0.0.0", 4, "0.0.0.0");
        check_roundtrip("255.255.255.255", 4, "255.255.255.255");
        check_roundtrip("131.206.5.5", 4, "131.206.5.5");
}

static void test_ip_v6_roundtrip(void **state) {
        static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
        fw_ip_t ip;

        check_roundtrip("::", 6, "::");
        check_roundtrip("::1", 6, "::1");
        check_roundtrip("2001:db8::1", 6, "2001:db8::1");
        check_roundtrip("2001:0DB8:0000:0000:0000:0000:0000:0001", 6, "2001:db8::1");
        check_roundtrip("fe80::1:2:3:4", 6, "fe80::1:2:3:4");
        check_roundtrip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 6,
                        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

        /* IPv4-mapped stays IPv6 */
        ip = ip_of("::ffff:10.0.0.1");
        assert_int_equal(ip.family, 6);
        assert_int_equal(fw_ip_len(&ip), 16);
        assert_memory_equal(ip.addr, mapped, 16);
        check_roundtrip("::ffff:10.0.0.1", 6, "::ffff:10.0.0.1");
}

static void test_ip_rejects(void **state) {
        static const char *const bad[] = {
                "256.1.1.1",    "1.2.3",   "",           "1.2.3.4.5", " 1.2.3.4",       "1.2.3.4 ",
                "1.2.3.-4",     "a.b.c.d", "1.2.3.4/32", ":::",       "2001:db8::1::2", "[::1]",
                "fe80::1%eth0", "12345::", "::g",        "localhost",
        };
        fw_ip_t ip;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (fw_ip_parse(bad[i], &ip) != -1)
                        fail_msg("fw_ip_parse accepted \"%s\"", bad[i]);
        }
}

static void test_ip_parse_n_bounds(void **state) {
        static const char text[] = "2001:db8::1,";
        static const char v4[] = "10.0.0.1XYZ";
        static const char nul[] = "1.2.3.4\0junk";
        char big[1000];
        fw_ip_t ip;

        /* only len bytes are read: no NUL terminator needed */
        assert_int_equal(fw_ip_parse_n(v4, 8, &ip), 0);
        assert_int_equal(ip.family, 4);
        assert_true(ip.addr[0] == 10 && ip.addr[1] == 0 && ip.addr[2] == 0 && ip.addr[3] == 1);
        assert_int_equal(fw_ip_parse_n(v4, 9, &ip), -1);
        assert_int_equal(fw_ip_parse_n(text, strlen(text) - 1, &ip), 0);
        assert_int_equal(ip.family, 6);
        assert_int_equal(fw_ip_parse_n(text, strlen(text), &ip), -1);
        assert_int_equal(fw_ip_parse_n("10.0.0.", 7, &ip), -1);
        assert_int_equal(fw_ip_parse_n(text, 0, &ip), -1);
        assert_int_equal(fw_ip_parse_n(nul, sizeof(nul) - 1, &ip), -1); /* embedded NUL */

        /* len >= 64 is rejected without reading past a short stack copy */
        memset(big, '1', sizeof(big));
        assert_int_equal(fw_ip_parse_n(big, 64, &ip), -1);
        assert_int_equal(fw_ip_parse_n(big, sizeof(big), &ip), -1);
        memcpy(big, "1.2.3.4", 7);
        assert_int_equal(fw_ip_parse_n(big, 7, &ip), 0);
        assert_int_equal(ip.addr[3], 4);
}

static void test_ip_from_bytes(void **state) {
        static const uint8_t b4[4] = {192, 168, 1, 2};
        static const uint8_t b16[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
        char buf[FW_IP_STRLEN];
        fw_ip_t ip;

        memset(&ip, 0xaa, sizeof(ip));
        assert_int_equal(fw_ip_from_bytes(b4, 4, &ip), 0);
        assert_int_equal(ip.family, 4);
        for (size_t i = 4; i < sizeof(ip.addr); i++)
                assert_int_equal(ip.addr[i], 0);
        assert_string_equal(fw_ip_format(&ip, buf, sizeof(buf)), "192.168.1.2");
        assert_true(fw_ip_equal(&ip, &(fw_ip_t){0}) == 0);
        {
                fw_ip_t parsed = ip_of("192.168.1.2");

                assert_true(fw_ip_equal(&ip, &parsed));
        }

        assert_int_equal(fw_ip_from_bytes(b16, 16, &ip), 0);
        assert_int_equal(ip.family, 6);
        assert_string_equal(fw_ip_format(&ip, buf, sizeof(buf)), "2001:db8::1");

        assert_int_equal(fw_ip_from_bytes(b16, 0, &ip), -1);
        assert_int_equal(fw_ip_from_bytes(b16, 5, &ip), -1);
        assert_int_equal(fw_ip_from_bytes(b16, 15, &ip), -1);
        assert_int_equal(fw_ip_from_bytes(b16, 17, &ip), -1);
}

static void test_ip_unset_and_small_buffer(void **state) {
        fw_ip_t unset;
        fw_ip_t ip = ip_of("2001:db8:1234:5678:9abc:def0:1234:5678");
        char buf[FW_IP_STRLEN];
        char tiny[8];

        memset(&unset, 0, sizeof(unset));
        assert_int_equal(fw_ip_len(&unset), 0);
        memcpy(buf, "junk", 5);
        assert_string_equal(fw_ip_format(&unset, buf, sizeof(buf)), "");

        /* too small a buffer: no overflow, empty result */
        memset(tiny, 'x', sizeof(tiny));
        assert_string_equal(fw_ip_format(&ip, tiny, sizeof(tiny)), "");
        assert_int_equal(tiny[0], '\0');
}

static void test_ip_equal(void **state) {
        fw_ip_t a = ip_of("10.0.0.1");
        fw_ip_t b = ip_of("10.0.0.1");
        fw_ip_t c = ip_of("10.0.0.2");
        fw_ip_t v6 = ip_of("a00:1::"); /* same first four bytes as 10.0.0.1 */
        fw_ip_t mapped = ip_of("::ffff:10.0.0.1");
        fw_ip_t x = ip_of("2001:db8::1");
        fw_ip_t y = ip_of("2001:db8:0:0::1");
        fw_ip_t z = ip_of("2001:db8::2"); /* differs from x only in the last byte */

        assert_true(fw_ip_equal(&a, &b));
        assert_false(fw_ip_equal(&a, &c));
        assert_false(fw_ip_equal(&a, &v6));
        assert_false(fw_ip_equal(&v6, &a));
        assert_false(fw_ip_equal(&a, &mapped));
        assert_true(fw_ip_equal(&x, &y));
        assert_false(fw_ip_equal(&x, &v6));
        assert_false(fw_ip_equal(&x, &z));
}

static void test_ip_hash(void **state) {
        static const uint8_t b4[4] = {1, 2, 3, 4};
        fw_ip_t a = ip_of("1.2.3.4");
        fw_ip_t b;
        fw_ip_t v6 = ip_of("102:304::"); /* bytes 01 02 03 04 00 ... */
        fw_ip_t other = ip_of("1.2.3.5");
        fw_ip_t x = ip_of("2001:db8::1");
        fw_ip_t y = ip_of("2001:0db8::0:1");

        assert_int_equal(fw_ip_from_bytes(b4, 4, &b), 0);
        assert_true(fw_ip_hash(&a, 0) == fw_ip_hash(&b, 0));
        assert_true(fw_ip_hash(&a, 42) == fw_ip_hash(&b, 42));
        assert_true(fw_ip_hash(&x, 7) == fw_ip_hash(&y, 7));
        assert_true(fw_ip_hash(&a, 0) != fw_ip_hash(&v6, 0));
        assert_true(fw_ip_hash(&a, 0) != fw_ip_hash(&other, 0));
        assert_true(fw_ip_hash(&a, 0) != fw_ip_hash(&a, 1));
}

static void test_cidr_parse_valid(void **state) {
        static const struct {
                const char *text;
                uint8_t family;
                uint8_t prefix;
                const char *out;
        } cases[] = {
                {"10.0.0.0/8", 4, 8, "10.0.0.0/8"},
                {"0.0.0.0/0", 4, 0, "0.0.0.0/0"},
                {"131.206.0.0/16", 4, 16, "131.206.0.0/16"},
                {"10.8.0.0/13", 4, 13, "10.8.0.0/13"},
                {"10.0.0.0/31", 4, 31, "10.0.0.0/31"},
                {"10.128.0.0/9", 4, 9, "10.128.0.0/9"},
                {"10.1.2.3/32", 4, 32, "10.1.2.3/32"},
                {"10.1.2.3", 4, 32, "10.1.2.3/32"},
                {"::/0", 6, 0, "::/0"},
                {"2001:db8::/32", 6, 32, "2001:db8::/32"},
                {"2001:DB8:0::/48", 6, 48, "2001:db8::/48"},
                {"2001:db8::e000:0:0:0/67", 6, 67, "2001:db8:0:0:e000::/67"},
                {"::1", 6, 128, "::1/128"},
                {"2001:db8::/127", 6, 127, "2001:db8::/127"},
                {"::ffff:0:0/96", 6, 96, "::ffff:0.0.0.0/96"},
        };
        char buf[FW_CIDR_STRLEN];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                fw_cidr_t c = cidr_of(cases[i].text);

                assert_int_equal(c.net.family, cases[i].family);
                assert_int_equal(c.prefix, cases[i].prefix);
                assert_string_equal(fw_cidr_format(&c, buf, sizeof(buf)), cases[i].out);
        }
}

static void test_cidr_rejects(void **state) {
        static const char *const bad[] = {
                "10.0.0.0/33",
                "::/129",
                "10.1.2.3/8",
                "10.0.0.0/",
                "/8",
                "10.0.0.0/8x",
                "",
                "/",
                "10.0.0.0/+8",
                "10.0.0.0/ 8",
                "10.0.0.0 /8",
                "10.0.0.0/8 ",
                "10.0.0.0/-1",
                "10.0.0.0/8/8",
                "10.0.0.0//8",
                "10.0.0.0/08",
                "10.0.0.0/008",
                "10.0.0.0/1000",
                "10.192.0.0/9",
                "10.0.0.1/31",
                "256.0.0.0/8",
                "1.2.3/24",
                "2001:db8::1/64",
                "::1/127",
                "2001:db8::/-0",
                "10.0.0.0/0x8",
                "::/1280",
                "0.0.0.1/0",
                "garbage",
                "10.0.0.0/99999999999999999999",
                "0.0.0.0/",
                "::/",
        };
        fw_cidr_t c;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (fw_cidr_parse(bad[i], &c) != -1)
                        fail_msg("fw_cidr_parse accepted \"%s\"", bad[i]);
        }
}

static void test_cidr_contains_v4_boundaries(void **state) {
        /* /0: every IPv4 address */
        assert_true(in("0.0.0.0/0", "0.0.0.0"));
        assert_true(in("0.0.0.0/0", "255.255.255.255"));
        assert_true(in("0.0.0.0/0", "131.206.5.5"));

        /* /8 */
        assert_true(in("10.0.0.0/8", "10.0.0.0"));
        assert_true(in("10.0.0.0/8", "10.255.255.255"));
        assert_false(in("10.0.0.0/8", "9.255.255.255"));
        assert_false(in("10.0.0.0/8", "11.0.0.0"));

        /* /16 */
        assert_true(in("172.16.0.0/16", "172.16.0.0"));
        assert_true(in("172.16.0.0/16", "172.16.255.255"));
        assert_false(in("172.16.0.0/16", "172.15.255.255"));
        assert_false(in("172.16.0.0/16", "172.17.0.0"));

        /* /13: 10.8.0.0 - 10.15.255.255 */
        assert_true(in("10.8.0.0/13", "10.8.0.0"));
        assert_true(in("10.8.0.0/13", "10.15.255.255"));
        assert_true(in("10.8.0.0/13", "10.12.34.56"));
        assert_false(in("10.8.0.0/13", "10.7.255.255"));
        assert_false(in("10.8.0.0/13", "10.16.0.0"));
        assert_false(in("10.8.0.0/13", "11.8.0.0"));

        /* /9 with the high bit of the partial byte set: 10.128.0.0 - 10.255.255.255 */
        assert_true(in("10.128.0.0/9", "10.128.0.0"));
        assert_true(in("10.128.0.0/9", "10.255.255.255"));
        assert_false(in("10.128.0.0/9", "10.127.255.255"));

        /* /31 */
        assert_true(in("192.168.1.4/31", "192.168.1.4"));
        assert_true(in("192.168.1.4/31", "192.168.1.5"));
        assert_false(in("192.168.1.4/31", "192.168.1.3"));
        assert_false(in("192.168.1.4/31", "192.168.1.6"));

        /* /32 */
        assert_true(in("192.168.1.5/32", "192.168.1.5"));
        assert_false(in("192.168.1.5/32", "192.168.1.4"));
        assert_false(in("192.168.1.5/32", "192.168.1.6"));
        assert_true(in("192.168.1.5", "192.168.1.5"));
        assert_false(in("192.168.1.5", "192.168.1.50"));
}

static void test_cidr_contains_v6_boundaries(void **state) {
        /* /0: every IPv6 address */
        assert_true(in("::/0", "::"));
        assert_true(in("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
        assert_true(in("::/0", "::ffff:10.0.0.1"));

        /* /32 */
        assert_true(in("2001:db8::/32", "2001:db8::"));
        assert_true(in("2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
        assert_false(in("2001:db8::/32", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"));
        assert_false(in("2001:db8::/32", "2001:db9::"));

        /* /67: bits 64..66 of 2001:db8::e000:0:0:0 are 111 */
        assert_true(in("2001:db8::e000:0:0:0/67", "2001:db8::e000:0:0:0"));
        assert_true(in("2001:db8::e000:0:0:0/67", "2001:db8::ffff:ffff:ffff:ffff"));
        assert_false(in("2001:db8::e000:0:0:0/67", "2001:db8::dfff:ffff:ffff:ffff"));
        assert_false(in("2001:db8::e000:0:0:0/67", "2001:db8:0:1:e000::"));
        assert_true(in("2001:db8::/67", "2001:db8::1fff:ffff:ffff:ffff"));
        assert_false(in("2001:db8::/67", "2001:db8::2000:0:0:0"));

        /* /127 */
        assert_true(in("2001:db8::/127", "2001:db8::"));
        assert_true(in("2001:db8::/127", "2001:db8::1"));
        assert_false(in("2001:db8::/127", "2001:db8::2"));
        assert_false(in("2001:db8::2/127", "2001:db8::1"));

        /* /128 */
        assert_true(in("2001:db8::1/128", "2001:db8::1"));
        assert_false(in("2001:db8::1/128", "2001:db8::"));
        assert_false(in("2001:db8::1/128", "2001:db8::2"));
        assert_true(in("::1", "::1"));
        assert_false(in("::1", "::"));
}

static void test_cidr_family_mismatch(void **state) {
        fw_cidr_t any4 = cidr_of("0.0.0.0/0");
        fw_ip_t unset;

        /* an IPv4 prefix never matches an IPv6 address, mapped or not, and vice versa */
        assert_false(in("0.0.0.0/0", "::"));
        assert_false(in("0.0.0.0/0", "::ffff:10.0.0.1"));
        assert_false(in("10.0.0.0/8", "::ffff:10.0.0.1"));
        assert_false(in("10.0.0.0/8", "a00::1")); /* first byte 0x0a */
        assert_false(in("10.0.0.1", "a00:1::"));
        assert_false(in("::/0", "10.0.0.1"));
        assert_false(in("::/0", "0.0.0.0"));
        assert_false(in("::ffff:0:0/96", "10.0.0.1"));

        memset(&unset, 0, sizeof(unset));
        assert_false(fw_cidr_contains(&any4, &unset));
}

static void test_cidr_study_case(void **state) {
        assert_true(in("131.206.0.0/16", "131.206.5.5"));
        assert_true(in("131.206.0.0/16", "131.206.0.0"));
        assert_true(in("131.206.0.0/16", "131.206.255.255"));
        assert_false(in("131.206.0.0/16", "131.207.0.1"));
        assert_false(in("131.206.0.0/16", "131.205.255.255"));
        assert_false(in("131.206.0.0/16", "10.0.0.1"));
}

static void test_cidr_list_parse_mixed(void **state) {
        fw_cidr_list_t list;
        char err[64];
        char buf[FW_CIDR_STRLEN];
        fw_ip_t a;

        memcpy(err, "stale", 6);
        assert_int_equal(fw_cidr_list_parse(" 10.0.0.0/8, 192.168.0.0/16\t2001:db8::/32\n"
                                            "172.16.0.0/12,,  ::1 ,131.206.0.0/16,",
                                            &list, err, sizeof(err)),
                         0);
        assert_string_equal(err, "");
        assert_int_equal(list.count, 6);
        assert_non_null(list.items);
        assert_string_equal(fw_cidr_format(&list.items[0], buf, sizeof(buf)), "10.0.0.0/8");
        assert_string_equal(fw_cidr_format(&list.items[1], buf, sizeof(buf)), "192.168.0.0/16");
        assert_string_equal(fw_cidr_format(&list.items[2], buf, sizeof(buf)), "2001:db8::/32");
        assert_string_equal(fw_cidr_format(&list.items[3], buf, sizeof(buf)), "172.16.0.0/12");
        assert_string_equal(fw_cidr_format(&list.items[4], buf, sizeof(buf)), "::1/128");
        assert_string_equal(fw_cidr_format(&list.items[5], buf, sizeof(buf)), "131.206.0.0/16");

        a = ip_of("10.9.8.7");
        assert_true(fw_cidr_list_contains(&list, &a));
        a = ip_of("172.31.255.255");
        assert_true(fw_cidr_list_contains(&list, &a));
        a = ip_of("172.32.0.0");
        assert_false(fw_cidr_list_contains(&list, &a));
        a = ip_of("::1");
        assert_true(fw_cidr_list_contains(&list, &a));
        a = ip_of("::2");
        assert_false(fw_cidr_list_contains(&list, &a));
        a = ip_of("2001:db8:1::5");
        assert_true(fw_cidr_list_contains(&list, &a));
        a = ip_of("::ffff:10.0.0.1");
        assert_false(fw_cidr_list_contains(&list, &a));
        a = ip_of("131.207.0.1");
        assert_false(fw_cidr_list_contains(&list, &a));

        fw_cidr_list_free(&list);
        assert_null(list.items);
        assert_int_equal(list.count, 0);
        fw_cidr_list_free(&list); /* twice is harmless */
        fw_cidr_list_free(NULL);
}

static void test_cidr_list_parse_empty(void **state) {
        static const char *const empty[] = {"", "   ", " , ,\t\n", ","};
        fw_cidr_list_t list;
        char err[16];
        fw_ip_t a = ip_of("10.0.0.1");

        for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
                list.items = (fw_cidr_t *)&list; /* garbage that must be overwritten */
                list.count = 99;
                assert_int_equal(fw_cidr_list_parse(empty[i], &list, err, sizeof(err)), 0);
                assert_null(list.items);
                assert_int_equal(list.count, 0);
                assert_false(fw_cidr_list_contains(&list, &a));
                fw_cidr_list_free(&list);
        }
}

static void test_cidr_list_parse_error(void **state) {
        static const struct {
                const char *text;
                const char *bad;
        } cases[] = {
                {"10.0.0.0/8, 10.1.2.3/8, ::/0", "10.1.2.3/8"},
                {"bogus 10.0.0.0/8", "bogus"},
                {"10.0.0.0/8\t::/0\n2001:db8::/129", "2001:db8::/129"},
                {"10.0.0.0/8,10.0.0.0/8x,::/0", "10.0.0.0/8x"},
                {"10.0.0.0/8 /8", "/8"},
                {"10.0.0.0/ 8", "10.0.0.0/"},
                {"256.1.1.1", "256.1.1.1"},
        };
        fw_cidr_list_t list;
        char err[64];
        char small[6];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                list.items = (fw_cidr_t *)&list;
                list.count = 99;
                memset(err, 0, sizeof(err));
                assert_int_equal(fw_cidr_list_parse(cases[i].text, &list, err, sizeof(err)), -1);
                assert_string_equal(err, cases[i].bad);
                assert_null(list.items);
                assert_int_equal(list.count, 0);
        }

        /* the element is truncated to fit err; a NULL err is allowed */
        memset(small, 'x', sizeof(small));
        assert_int_equal(fw_cidr_list_parse("::/0 2001:db8::1/64", &list, small, sizeof(small)),
                         -1);
        assert_string_equal(small, "2001:");
        assert_null(list.items);
        assert_int_equal(fw_cidr_list_parse("nope", &list, NULL, 0), -1);
        assert_null(list.items);
        assert_int_equal(list.count, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ip_v4_roundtrip),
                cmocka_unit_test(test_ip_v6_roundtrip),
                cmocka_unit_test(test_ip_rejects),
                cmocka_unit_test(test_ip_parse_n_bounds),
                cmocka_unit_test(test_ip_from_bytes),
                cmocka_unit_test(test_ip_unset_and_small_buffer),
                cmocka_unit_test(test_ip_equal),
                cmocka_unit_test(test_ip_hash),
                cmocka_unit_test(test_cidr_parse_valid),
                cmocka_unit_test(test_cidr_rejects),
                cmocka_unit_test(test_cidr_contains_v4_boundaries),
                cmocka_unit_test(test_cidr_contains_v6_boundaries),
                cmocka_unit_test(test_cidr_family_mismatch),
                cmocka_unit_test(test_cidr_study_case),
                cmocka_unit_test(test_cidr_list_parse_mixed),
                cmocka_unit_test(test_cidr_list_parse_empty),
                cmocka_unit_test(test_cidr_list_parse_error),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
