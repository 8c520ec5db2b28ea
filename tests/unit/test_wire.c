/* Unit tests for the session wire format (common/wire.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session_gen.h"
#include "wire.h"

static char errbuf[256];

/* A session with every field set to an edge value. */
static void full_session(fw_session_t *s, int v6) {
        fw_session_init(s);
        memset(s->id, 'i', FW_SESSION_ID_MAX);
        s->id[FW_SESSION_ID_MAX] = '\0';
        memset(s->root_id, 'r', FW_SESSION_ID_MAX);
        s->root_id[FW_SESSION_ID_MAX] = '\0';
        memset(s->node, 'n', FW_NODE_MAX);
        s->node[FW_NODE_MAX] = '\0';
        strcpy(s->community_id, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
        s->first_packet_ms = 1716026405123LL;
        s->last_packet_ms = 1716026466789LL;
        s->db_time_ms = INT64_MAX;
        if (v6) {
                assert_int_equal(fw_ip_parse("2001:db8::5", &s->src_ip), 0);
                assert_int_equal(fw_ip_parse("ff02::1:ff00:1", &s->dst_ip), 0);
        } else {
                assert_int_equal(fw_ip_parse("10.0.0.5", &s->src_ip), 0);
                assert_int_equal(fw_ip_parse("255.255.255.255", &s->dst_ip), 0);
        }
        s->src_port = 1;
        s->dst_port = 65535;
        s->ip_protocol = 255;
        fw_gen_counts(s, 0, 1, FW_COUNTER_MAX, 127, 128, 65536);
        fw_gen_flags(s, 1, 2, 3, 4, 5, 6, 7, 8, INT32_MAX);
}

static void roundtrip(const fw_session_t *in) {
        char buf[FW_RECORD_MAX];
        size_t len = 0;
        assert_int_equal(fw_session_encode(in, buf, sizeof(buf), &len, errbuf, sizeof(errbuf)), 0);
        assert_true(len > 0 && len <= FW_RECORD_MAX);
        fw_session_t out;
        int rc = fw_session_decode(buf, len, &out, errbuf, sizeof(errbuf));
        if (rc != 0)
                fail_msg("decode failed: %s", errbuf);
        assert_true(fw_session_equal(in, &out));
}

static void test_roundtrip_every_field(void **state) {
        (void)state;
        fw_session_t s;
        full_session(&s, 0);
        roundtrip(&s);
        full_session(&s, 1);
        roundtrip(&s);

        /* The largest record must fit the documented bound with room to spare. */
        char buf[FW_RECORD_MAX];
        size_t len;
        assert_int_equal(fw_session_encode(&s, buf, sizeof(buf), &len, errbuf, sizeof(errbuf)), 0);
        assert_true(len < 600);
}

static void test_roundtrip_minimal(void **state) {
        (void)state;
        fw_session_t s;
        fw_session_init(&s);
        strcpy(s.id, "x");
        s.first_packet_ms = 0;
        s.last_packet_ms = 0;
        assert_int_equal(fw_ip_parse("0.0.0.0", &s.src_ip), 0);
        assert_int_equal(fw_ip_parse("::", &s.dst_ip), 0);
        s.ip_protocol = 1;
        roundtrip(&s);
        /* Absent stays absent: not turned into zero. */
        char buf[FW_RECORD_MAX];
        size_t len;
        fw_session_t out;
        assert_int_equal(fw_session_encode(&s, buf, sizeof(buf), &len, errbuf, sizeof(errbuf)), 0);
        assert_int_equal(fw_session_decode(buf, len, &out, errbuf, sizeof(errbuf)), 0);
        assert_int_equal(out.src_packets, FW_ABSENT);
        assert_int_equal(out.tcpflags.syn, FW_ABSENT);
        assert_int_equal(out.db_time_ms, FW_ABSENT);
        assert_string_equal(out.root_id, "");
}

static void test_roundtrip_generated(void **state) {
        (void)state;
        for (uint64_t i = 0; i < 20000; i++) {
                fw_session_t s;
                fw_gen_session(42, i, &s);
                roundtrip(&s);
        }
}

/* msgpack-c, as an independent reader, sees what the specification says. */
static void test_readable_by_msgpack_c(void **state) {
        (void)state;
        fw_session_t s;
        full_session(&s, 1);
        char buf[FW_RECORD_MAX];
        size_t len, off = 0;
        assert_int_equal(fw_session_encode(&s, buf, sizeof(buf), &len, errbuf, sizeof(errbuf)), 0);
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        assert_int_equal(msgpack_unpack_next(&u, buf, len, &off), MSGPACK_UNPACK_SUCCESS);
        assert_int_equal(off, len);
        msgpack_object o = u.data;
        assert_int_equal(o.type, MSGPACK_OBJECT_MAP);
        assert_int_equal(o.via.map.size, 20); /* every key of version 1 */
        msgpack_object_kv *kv = o.via.map.ptr;
        assert_int_equal(kv[0].key.type, MSGPACK_OBJECT_STR);
        assert_memory_equal(kv[0].key.via.str.ptr, "v", 1);
        assert_int_equal(kv[0].val.via.u64, FW_WIRE_VERSION);
        int found_sip = 0;
        for (uint32_t i = 0; i < o.via.map.size; i++) {
                if (kv[i].key.via.str.size == 3 && memcmp(kv[i].key.via.str.ptr, "sip", 3) == 0) {
                        assert_int_equal(kv[i].val.type, MSGPACK_OBJECT_BIN);
                        assert_int_equal(kv[i].val.via.bin.size, 16);
                        assert_memory_equal(kv[i].val.via.bin.ptr, s.src_ip.addr, 16);
                        found_sip = 1;
                }
        }
        assert_true(found_sip);
        msgpack_unpacked_destroy(&u);
}

/* ---- hand-built records for the rejection tests ---- */

typedef struct rec {
        msgpack_sbuffer sb;
        msgpack_packer pk;
} rec_t;

static void rec_init(rec_t *r, uint32_t nkeys) {
        msgpack_sbuffer_init(&r->sb);
        msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
        msgpack_pack_map(&r->pk, nkeys);
}

static void k(rec_t *r, const char *key) {
        msgpack_pack_str(&r->pk, strlen(key));
        msgpack_pack_str_body(&r->pk, key, strlen(key));
}

static void kstr(rec_t *r, const char *key, const char *v, size_t n) {
        k(r, key);
        msgpack_pack_str(&r->pk, n);
        msgpack_pack_str_body(&r->pk, v, n);
}

static void kuint(rec_t *r, const char *key, uint64_t v) {
        k(r, key);
        msgpack_pack_uint64(&r->pk, v);
}

static void kbin(rec_t *r, const char *key, const void *v, size_t n) {
        k(r, key);
        msgpack_pack_bin(&r->pk, n);
        msgpack_pack_bin_body(&r->pk, v, n);
}

static const uint8_t ip4[4] = {10, 0, 0, 1};

/* Write the 7 required keys except the one named skip; returns how many were written. */
/* The required fields after "v" and "id": fp, lp, sip, dip, pr. */
static void required_after_id(rec_t *r) {
        kuint(r, "fp", 1);
        kuint(r, "lp", 1);
        kbin(r, "sip", ip4, 4);
        kbin(r, "dip", ip4, 4);
        kuint(r, "pr", 6);
}

static int required(rec_t *r, const char *skip) {
        int n = 0;
        if (strcmp(skip, "v") != 0)
                kuint(r, "v", 1), n++;
        if (strcmp(skip, "id") != 0)
                kstr(r, "id", "abc", 3), n++;
        if (strcmp(skip, "fp") != 0)
                kuint(r, "fp", 1000), n++;
        if (strcmp(skip, "lp") != 0)
                kuint(r, "lp", 2000), n++;
        if (strcmp(skip, "sip") != 0)
                kbin(r, "sip", ip4, 4), n++;
        if (strcmp(skip, "dip") != 0)
                kbin(r, "dip", ip4, 4), n++;
        if (strcmp(skip, "pr") != 0)
                kuint(r, "pr", 6), n++;
        return n;
}

static int decode_rec(rec_t *r) {
        fw_session_t s;
        int rc = fw_session_decode(r->sb.data, r->sb.size, &s, errbuf, sizeof(errbuf));
        msgpack_sbuffer_destroy(&r->sb);
        return rc;
}

static void test_valid_hand_built(void **state) {
        (void)state;
        rec_t r;
        rec_init(&r, 7);
        required(&r, "");
        assert_int_equal(decode_rec(&r), 0);
}

static void test_missing_required(void **state) {
        (void)state;
        const char *keys[] = {"id", "fp", "lp", "sip", "dip", "pr"};
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                rec_t r;
                rec_init(&r, 6);
                required(&r, keys[i]);
                assert_int_equal(decode_rec(&r), FW_WIRE_EMISSING);
                char want[32];
                snprintf(want, sizeof(want), "(key '%s')", keys[i]);
                assert_non_null(strstr(errbuf, want));
        }
}

static void test_version(void **state) {
        (void)state;
        rec_t r;
        /* no v */
        rec_init(&r, 6);
        required(&r, "v");
        assert_int_equal(decode_rec(&r), FW_WIRE_EVERSION);
        /* v not first */
        rec_init(&r, 7);
        kstr(&r, "id", "abc", 3);
        kuint(&r, "v", 1);
        required_after_id(&r);
        assert_int_equal(decode_rec(&r), FW_WIRE_EVERSION);
        /* a future major version */
        rec_init(&r, 7);
        kuint(&r, "v", 2);
        kstr(&r, "id", "abc", 3);
        required_after_id(&r);
        assert_int_equal(decode_rec(&r), FW_WIRE_EVERSION);
        assert_non_null(strstr(errbuf, "unsupported schema version"));
        /* not a map at all */
        rec_init(&r, 0);
        msgpack_sbuffer_clear(&r.sb);
        msgpack_pack_array(&r.pk, 2);
        msgpack_pack_uint8(&r.pk, 1);
        msgpack_pack_uint8(&r.pk, 2);
        assert_int_equal(decode_rec(&r), FW_WIRE_ETYPE);
}

static void test_types_and_ranges(void **state) {
        (void)state;
        struct {
                const char *what;
                int want;
        } cases[] = {
                {"port as string", FW_WIRE_ETYPE},  {"port 65536", FW_WIRE_ERANGE},
                {"proto 256", FW_WIRE_ERANGE},      {"ip of 5 bytes", FW_WIRE_ERANGE},
                {"ip as str", FW_WIRE_ETYPE},       {"negative counter", FW_WIRE_ERANGE},
                {"counter 2^53+1", FW_WIRE_ERANGE}, {"id too long", FW_WIRE_ERANGE},
                {"id with NUL", FW_WIRE_ERANGE},    {"duplicate key", FW_WIRE_EDUP},
                {"int key", FW_WIRE_ETYPE},         {"flags not a map", FW_WIRE_ETYPE},
                {"flag too big", FW_WIRE_ERANGE},   {"duplicate flag", FW_WIRE_EDUP},
                {"float time", FW_WIRE_ETYPE},      {"empty id", FW_WIRE_ERANGE},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                rec_t r;
                const char *w = cases[i].what;
                int empty_id = strcmp(w, "empty id") == 0;
                int long_id = strcmp(w, "id too long") == 0 || strcmp(w, "id with NUL") == 0;
                rec_init(&r, (empty_id || long_id) ? 7 : 8);
                required(&r, (empty_id || long_id) ? "id" : "");
                if (empty_id) {
                        kstr(&r, "id", "", 0);
                } else if (strcmp(w, "id too long") == 0) {
                        char big[FW_SESSION_ID_MAX + 1];
                        memset(big, 'a', sizeof(big));
                        kstr(&r, "id", big, sizeof(big));
                } else if (strcmp(w, "id with NUL") == 0) {
                        kstr(&r, "id", "a\0b", 3);
                } else if (strcmp(w, "port as string") == 0) {
                        kstr(&r, "sp", "80", 2);
                } else if (strcmp(w, "port 65536") == 0) {
                        kuint(&r, "dp", 65536);
                } else if (strcmp(w, "proto 256") == 0) {
                        msgpack_sbuffer_destroy(&r.sb);
                        rec_init(&r, 7);
                        required(&r, "pr");
                        kuint(&r, "pr", 256);
                } else if (strcmp(w, "ip of 5 bytes") == 0) {
                        msgpack_sbuffer_destroy(&r.sb);
                        rec_init(&r, 7);
                        required(&r, "sip");
                        kbin(&r, "sip", "12345", 5);
                } else if (strcmp(w, "ip as str") == 0) {
                        msgpack_sbuffer_destroy(&r.sb);
                        rec_init(&r, 7);
                        required(&r, "dip");
                        kstr(&r, "dip", "10.0.0.1", 8);
                } else if (strcmp(w, "negative counter") == 0) {
                        k(&r, "spk");
                        msgpack_pack_int64(&r.pk, -1);
                } else if (strcmp(w, "counter 2^53+1") == 0) {
                        kuint(&r, "dby", ((uint64_t)1 << 53) + 1);
                } else if (strcmp(w, "duplicate key") == 0) {
                        kuint(&r, "fp", 5);
                } else if (strcmp(w, "int key") == 0) {
                        msgpack_pack_uint8(&r.pk, 3);
                        msgpack_pack_uint8(&r.pk, 3);
                } else if (strcmp(w, "flags not a map") == 0) {
                        kuint(&r, "tf", 3);
                } else if (strcmp(w, "flag too big") == 0) {
                        k(&r, "tf");
                        msgpack_pack_map(&r.pk, 1);
                        kuint(&r, "syn", (uint64_t)INT32_MAX + 1);
                } else if (strcmp(w, "duplicate flag") == 0) {
                        k(&r, "tf");
                        msgpack_pack_map(&r.pk, 2);
                        kuint(&r, "rst", 1);
                        kuint(&r, "rst", 1);
                } else if (strcmp(w, "float time") == 0) {
                        k(&r, "ts");
                        msgpack_pack_double(&r.pk, 1.5);
                }
                int rc = decode_rec(&r);
                if (rc != cases[i].want)
                        fail_msg("%s: got %d (%s), want %d", w, rc, errbuf, cases[i].want);
                assert_non_null(strstr(errbuf, "at byte"));
        }
}

/* Unknown keys, whatever their type, are skipped: version-1 additions stay readable. */
static void test_unknown_keys_skipped(void **state) {
        (void)state;
        rec_t r;
        rec_init(&r, 10);
        required(&r, "");
        kstr(&r, "future", "x", 1);
        k(&r, "nested");
        msgpack_pack_map(&r.pk, 1);
        k(&r, "a");
        msgpack_pack_array(&r.pk, 2);
        msgpack_pack_nil(&r.pk);
        msgpack_pack_double(&r.pk, 2.5);
        k(&r, "tf");
        msgpack_pack_map(&r.pk, 2);
        kuint(&r, "syn", 3);
        kstr(&r, "ece", "?", 1);
        fw_session_t s;
        int rc = fw_session_decode(r.sb.data, r.sb.size, &s, errbuf, sizeof(errbuf));
        msgpack_sbuffer_destroy(&r.sb);
        assert_int_equal(rc, 0);
        assert_int_equal(s.tcpflags.syn, 3);
        assert_int_equal(s.tcpflags.rst, FW_ABSENT);

        /* but not nested without bound */
        rec_init(&r, 8);
        required(&r, "");
        k(&r, "deep");
        for (int i = 0; i < 20; i++)
                msgpack_pack_array(&r.pk, 1);
        msgpack_pack_nil(&r.pk);
        assert_int_equal(decode_rec(&r), FW_WIRE_ERANGE);
}

/* Signed msgpack integer formats holding non-negative values are accepted. */
static void test_signed_formats(void **state) {
        (void)state;
        const uint8_t rec[] = {
                0x87,                                                 /* map of 7 */
                0xa1, 'v', 0xd0, 0x01,                                /* v: int8 1 */
                0xa2, 'i', 'd',  0xa1, 'z',                           /* id: "z" */
                0xa2, 'f', 'p',  0xd3, 0,    0,    0, 0,  0, 0, 0, 9, /* fp: int64 9 */
                0xa2, 'l', 'p',  0xd2, 0,    0,    0, 10,             /* lp: int32 10 */
                0xa3, 's', 'i',  'p',  0xc4, 4,    1, 2,  3, 4,       /* sip */
                0xa3, 'd', 'i',  'p',  0xc4, 4,    5, 6,  7, 8,       /* dip */
                0xa2, 'p', 'r',  0xd1, 0x00, 0x11,                    /* pr: int16 17 */
        };
        fw_session_t s;
        assert_int_equal(fw_session_decode(rec, sizeof(rec), &s, errbuf, sizeof(errbuf)), 0);
        assert_int_equal(s.first_packet_ms, 9);
        assert_int_equal(s.last_packet_ms, 10);
        assert_int_equal(s.ip_protocol, 17);
        char ip[FW_IP_STRLEN];
        assert_string_equal(fw_ip_format(&s.dst_ip, ip, sizeof(ip)), "5.6.7.8");
}

/* Every strict prefix of a valid record is rejected, and never read past. */
static void test_truncation(void **state) {
        (void)state;
        for (int v6 = 0; v6 <= 1; v6++) {
                fw_session_t s, out;
                full_session(&s, v6);
                char buf[FW_RECORD_MAX];
                size_t len;
                assert_int_equal(
                        fw_session_encode(&s, buf, sizeof(buf), &len, errbuf, sizeof(errbuf)), 0);
                for (size_t n = 0; n < len; n++) {
                        /* a heap copy of exactly n bytes so ASan sees any overread */
                        char *p = malloc(n ? n : 1);
                        memcpy(p, buf, n);
                        int rc = fw_session_decode(p, n, &out, errbuf, sizeof(errbuf));
                        free(p);
                        if (rc == 0)
                                fail_msg("prefix of %zu/%zu bytes accepted", n, len);
                        assert_true(rc == FW_WIRE_ETRUNC || rc == FW_WIRE_ESIZE ||
                                    rc == FW_WIRE_EMISSING);
                }
        }
}

static void test_size_limits_and_trailing(void **state) {
        (void)state;
        fw_session_t s;
        full_session(&s, 0);
        char buf[FW_RECORD_MAX + 8];
        size_t len;
        assert_int_equal(fw_session_encode(&s, buf, sizeof(buf), &len, errbuf, sizeof(errbuf)), 0);
        buf[len] = 0x00;
        assert_int_equal(fw_session_decode(buf, len + 1, &s, errbuf, sizeof(errbuf)),
                         FW_WIRE_ETRAIL);
        char big[FW_RECORD_MAX + 1];
        memset(big, 0, sizeof(big));
        assert_int_equal(fw_session_decode(big, sizeof(big), &s, errbuf, sizeof(errbuf)),
                         FW_WIRE_ESIZE);
        assert_int_equal(fw_session_decode(big, 0, &s, errbuf, sizeof(errbuf)), FW_WIRE_ESIZE);
        /* a 5-byte header claiming 4 billion entries: rejected without allocating */
        const uint8_t huge_map[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'v', 0x01};
        assert_int_equal(fw_session_decode(huge_map, sizeof(huge_map), &s, errbuf, sizeof(errbuf)),
                         FW_WIRE_ETRUNC);
        const uint8_t huge_str[] = {0x81, 0xdb, 0xff, 0xff, 0xff, 0xf0, 'v'};
        assert_int_equal(fw_session_decode(huge_str, sizeof(huge_str), &s, errbuf, sizeof(errbuf)),
                         FW_WIRE_ETRUNC);
        const uint8_t bad_byte[] = {0x81, 0xc1, 0x00};
        assert_int_equal(fw_session_decode(bad_byte, sizeof(bad_byte), &s, errbuf, sizeof(errbuf)),
                         FW_WIRE_ETYPE);
}

/* Random bytes and bit-flipped records: an error or a valid session, never a crash. */
static void test_random_and_mutated(void **state) {
        (void)state;
        uint64_t x = 12345;
        size_t accepted = 0;
        for (int i = 0; i < 200000; i++) {
                x = fw_gen_mix(x);
                size_t n = 1 + x % 96;
                uint8_t *p = malloc(n);
                uint64_t y = x;
                for (size_t j = 0; j < n; j++) {
                        y = fw_gen_mix(y);
                        p[j] = (uint8_t)y;
                }
                if (i % 2)
                        p[0] = (uint8_t)(0x80 | (p[0] & 0x0f)); /* make it look like a map */
                fw_session_t s;
                int rc = fw_session_decode(p, n, &s, errbuf, sizeof(errbuf));
                assert_true(rc <= 0 && rc >= FW_WIRE_EINVAL);
                free(p);
        }
        fw_session_t base;
        full_session(&base, 1);
        char buf[FW_RECORD_MAX];
        size_t len;
        assert_int_equal(fw_session_encode(&base, buf, sizeof(buf), &len, errbuf, sizeof(errbuf)),
                         0);
        for (int i = 0; i < 100000; i++) {
                x = fw_gen_mix(x);
                char *p = malloc(len);
                memcpy(p, buf, len);
                for (int flips = 1 + (int)(x % 3); flips > 0; flips--) {
                        x = fw_gen_mix(x);
                        p[(x >> 8) % len] ^= (char)(1u << (x % 8));
                }
                fw_session_t s;
                int rc = fw_session_decode(p, len, &s, errbuf, sizeof(errbuf));
                if (rc == 0) {
                        /* whatever was accepted is a well-formed session that encodes again */
                        char again[FW_RECORD_MAX];
                        size_t alen;
                        accepted++;
                        assert_int_equal(fw_session_encode(&s, again, sizeof(again), &alen, errbuf,
                                                           sizeof(errbuf)),
                                         0);
                }
                free(p);
        }
        /* flips inside string or count values leave a valid record: both outcomes occur */
        assert_true(accepted > 0 && accepted < 100000);
}

static void test_encode_rejects(void **state) {
        (void)state;
        fw_session_t s;
        char buf[FW_RECORD_MAX];
        size_t len;
        full_session(&s, 0);
        s.id[0] = '\0';
        assert_int_equal(fw_session_encode(&s, buf, sizeof(buf), &len, errbuf, sizeof(errbuf)),
                         FW_WIRE_EINVAL);
        full_session(&s, 0);
        s.dst_ip.family = 0;
        assert_int_equal(fw_session_encode(&s, buf, sizeof(buf), &len, errbuf, sizeof(errbuf)),
                         FW_WIRE_EINVAL);
        full_session(&s, 0);
        s.src_packets = FW_COUNTER_MAX + 1;
        assert_int_equal(fw_session_encode(&s, buf, sizeof(buf), &len, errbuf, sizeof(errbuf)),
                         FW_WIRE_EINVAL);
        full_session(&s, 0);
        assert_int_equal(fw_session_encode(&s, buf, 100, &len, errbuf, sizeof(errbuf)),
                         FW_WIRE_ESIZE);
}

/* ---- partitioning ---- */

/* CRC-32 (IEEE 802.3, zlib's), bit by bit: an independent reference. */
static uint32_t crc32_ref(const uint8_t *p, size_t n) {
        uint32_t c = 0xffffffffu;
        for (size_t i = 0; i < n; i++) {
                c ^= p[i];
                for (int k = 0; k < 8; k++)
                        c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
        }
        return c ^ 0xffffffffu;
}

static void test_partition(void **state) {
        (void)state;
        /* librdkafka's consistent partitioner is CRC-32 of the key mod n */
        const char *check = "123456789";
        assert_int_equal(crc32_ref((const uint8_t *)check, 9), 0xcbf43926u);
        assert_int_equal(
                rd_kafka_msg_partitioner_consistent(NULL, check, 9, 0x7fffffff, NULL, NULL),
                (int32_t)(0xcbf43926u % 0x7fffffffu));
        fw_session_t s;
        for (uint64_t i = 0; i < 5000; i++) {
                fw_gen_session(31, i, &s);
                /* spread sources: vary the address bytes beyond session_gen's 500 */
                s.src_ip.addr[fw_ip_len(&s.src_ip) - 2] = (uint8_t)(fw_gen_mix(i) >> 8);
                int32_t n = (int32_t)(1 + i % 64);
                uint32_t crc = crc32_ref(s.src_ip.addr, fw_ip_len(&s.src_ip));
                int32_t p = fw_session_partition(&s, n);
                assert_int_equal(p, (int32_t)(crc % (uint32_t)n));
                assert_int_equal(p, rd_kafka_msg_partitioner_consistent_random(NULL, s.src_ip.addr,
                                                                               fw_ip_len(&s.src_ip),
                                                                               n, NULL, NULL));
        }
        /* a fixed example, so a change of key (e.g. text instead of bytes) is caught */
        assert_int_equal(fw_ip_parse("10.9.9.9", &s.src_ip), 0);
        assert_int_equal(fw_session_partition(&s, 6), (int32_t)(crc32_ref(s.src_ip.addr, 4) % 6));
        assert_int_equal(fw_session_partition(&s, 1), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_roundtrip_every_field),
                cmocka_unit_test(test_roundtrip_minimal),
                cmocka_unit_test(test_roundtrip_generated),
                cmocka_unit_test(test_readable_by_msgpack_c),
                cmocka_unit_test(test_valid_hand_built),
                cmocka_unit_test(test_missing_required),
                cmocka_unit_test(test_version),
                cmocka_unit_test(test_types_and_ranges),
                cmocka_unit_test(test_unknown_keys_skipped),
                cmocka_unit_test(test_signed_formats),
                cmocka_unit_test(test_truncation),
                cmocka_unit_test(test_size_limits_and_trailing),
                cmocka_unit_test(test_random_and_mutated),
                cmocka_unit_test(test_encode_rejects),
                cmocka_unit_test(test_partition),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
