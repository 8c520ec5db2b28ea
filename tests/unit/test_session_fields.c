/* Unit tests for common/session_fields.h: the one table of a session's fields, checked against
 * each reader and writer of its names: the wire format (common/wire.c), Arkime documents
 * (common/arkime_page.c) and rule expressions (detector/expr.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arkime_page.h"
#include "expr.h"
#include "session_fields.h"
#include "wire.h"

#define VALUE_NUM 7
#define VALUE_STR "abc"
#define VALUE_IP  "10.1.2.3"

/* A session with only the required fields set. */
static void base_session(fw_session_t *s) {
        fw_session_init(s);
        snprintf(s->id, sizeof(s->id), "x");
        s->first_packet_ms = 1000;
        s->last_packet_ms = 2000;
        assert_int_equal(fw_ip_parse("10.0.0.1", &s->src_ip), 0);
        assert_int_equal(fw_ip_parse("10.0.0.2", &s->dst_ip), 0);
        s->ip_protocol = 6;
}

/* Store the test value of f's kind into s; value_other picks a different one. */
static void set_value(fw_session_t *s, const fw_session_field_t *f, int other) {
        void *m = fw_session_field_ptr(s, f);
        int v = VALUE_NUM + other;
        switch (f->kind) {
        case FW_FK_ID:
        case FW_FK_STR:
                snprintf(m, f->size, "%s", other ? "abd" : VALUE_STR);
                break;
        case FW_FK_IP:
                assert_int_equal(fw_ip_parse(other ? "10.1.2.4" : VALUE_IP, m), 0);
                break;
        case FW_FK_PORT:
                *(uint16_t *)m = (uint16_t)v;
                break;
        case FW_FK_PROTO:
                *(uint8_t *)m = (uint8_t)v;
                break;
        case FW_FK_FLAG:
                *(int32_t *)m = v;
                break;
        default:
                *(int64_t *)m = v;
                break;
        }
}

static void test_table(void **state) {
        (void)state;
        unsigned required = 0;
        for (int i = 0; i < FW_SF_COUNT; i++) {
                const fw_session_field_t *f = &fw_session_fields[i];
                assert_non_null(f->arkime);
                assert_non_null(f->wire);
                assert_true(f->offset + f->size <= sizeof(fw_session_t));
                for (int j = 0; j < i; j++) {
                        const fw_session_field_t *g = &fw_session_fields[j];
                        assert_string_not_equal(f->arkime, g->arkime);
                        assert_string_not_equal(f->wire, g->wire);
                        if (f->expr && g->expr)
                                assert_string_not_equal(f->expr, g->expr);
                        assert_true(f->offset >= g->offset + g->size); /* members in order */
                }
                if (FW_FK_REQUIRED(f->kind))
                        required |= 1u << i;
        }
        /* docs/wire-format.md: required v, id, fp, lp, sip, dip, pr */
        assert_int_equal(required, (1u << FW_SF_ID) | (1u << FW_SF_FIRST_PACKET) |
                                           (1u << FW_SF_LAST_PACKET) | (1u << FW_SF_SRC_IP) |
                                           (1u << FW_SF_DST_IP) | (1u << FW_SF_PROTOCOL));
        assert_string_equal(fw_session_fields[FW_SF_SRC_PORT].wire, "sp");
        assert_string_equal(fw_session_fields[FW_SF_SRC_ZERO].arkime, "tcpflags.srcZero");

        /* an empty session holds every field's absent value */
        fw_session_t s;
        fw_session_init(&s);
        assert_int_equal(s.tcpflags.dst_zero, FW_ABSENT);
        assert_int_equal(s.src_databytes, FW_ABSENT);
        assert_int_equal(s.db_time_ms, FW_ABSENT);
        assert_int_equal(s.src_port, 0);
        assert_string_equal(s.community_id, "");
}

/* Does the encoded record carry the msgpack fixstr key? */
static int has_key(const char *buf, size_t len, const char *key) {
        char want[16];
        size_t n = strlen(key);
        want[0] = (char)(0xa0 + n);
        memcpy(want + 1, key, n);
        for (size_t i = 0; i + n + 1 <= len; i++)
                if (memcmp(buf + i, want, n + 1) == 0)
                        return 1;
        return 0;
}

static void test_wire_keys(void **state) {
        (void)state;
        for (int i = 0; i < FW_SF_COUNT; i++) {
                const fw_session_field_t *f = &fw_session_fields[i];
                fw_session_t s, d;
                char buf[FW_RECORD_MAX], err[256];
                size_t len;

                base_session(&s);
                assert_int_equal(fw_session_encode(&s, buf, sizeof(buf), &len, err, sizeof(err)),
                                 0);
                assert_int_equal(has_key(buf, len, f->wire), FW_FK_REQUIRED(f->kind));
                set_value(&s, f, 0);
                assert_int_equal(fw_session_encode(&s, buf, sizeof(buf), &len, err, sizeof(err)),
                                 0);
                assert_true(has_key(buf, len, f->wire));
                assert_int_equal(has_key(buf, len, "tf"), f->kind == FW_FK_FLAG);
                assert_int_equal(fw_session_decode(buf, len, &d, err, sizeof(err)), 0);
                assert_true(fw_session_equal(&s, &d));
                set_value(&d, f, 1);
                assert_false(fw_session_equal(&s, &d));
        }
}

/* The JSON text of f's test value. */
static const char *json_value(const fw_session_field_t *f) {
        switch (f->kind) {
        case FW_FK_ID:
        case FW_FK_STR:
                return "\"" VALUE_STR "\"";
        case FW_FK_IP:
                return "\"" VALUE_IP "\"";
        default:
                return "7";
        }
}

static void test_arkime_names(void **state) {
        (void)state;
        static const char base[] = "{\"id\":\"x\",\"firstPacket\":1000,\"lastPacket\":2000,"
                                   "\"source.ip\":\"10.0.0.1\",\"destination.ip\":\"10.0.0.2\","
                                   "\"ipProtocol\":6";
        char list[1024] = "";
        for (int i = 0; i < FW_SF_COUNT; i++) {
                const fw_session_field_t *f = &fw_session_fields[i];
                const char *dot = strchr(f->arkime, '.');
                char doc[2][512], err[256];

                if (i != FW_SF_ID) /* not a db field: the viewer always adds it */
                        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
                                 list[0] ? "," : "", f->arkime);
                /* flat ("source.port":7) and nested ("source":{"port":7}) */
                snprintf(doc[0], sizeof(doc[0]), "%s,\"%s\":%s}", base, f->arkime, json_value(f));
                if (dot)
                        snprintf(doc[1], sizeof(doc[1]), "%s,\"%.*s\":{\"%s\":%s}}", base,
                                 (int)(dot - f->arkime), f->arkime, dot + 1, json_value(f));
                for (int form = 0; form < (dot ? 2 : 1); form++) {
                        fw_arkime_page_t p;
                        fw_session_t want;
                        fw_arkime_page_init(&p);
                        assert_int_equal(fw_arkime_doc_append(&p, doc[form], strlen(doc[form]),
                                                              NULL, 0, err, sizeof(err)),
                                         0);
                        if (p.count != 1)
                                fail_msg("%s: %s", doc[form], p.first_reject);
                        base_session(&want);
                        set_value(&want, f, 0);
                        assert_true(fw_session_equal(&p.sessions[0], &want));
                        fw_arkime_page_free(&p);
                }
        }
        assert_string_equal(FW_ARKIME_FIELDS, list);
}

/* Text of f's test value in an expression. */
static const char *expr_value(const fw_session_field_t *f) {
        switch (f->kind) {
        case FW_FK_ID:
        case FW_FK_STR:
                return VALUE_STR;
        case FW_FK_IP:
                return VALUE_IP;
        default:
                return "7";
        }
}

static void test_expr_names(void **state) {
        (void)state;
        int named = 0;
        for (int i = 0; i < FW_SF_COUNT; i++) {
                const fw_session_field_t *f = &fw_session_fields[i];
                char text[128], err[256];
                fw_session_t s;

                if (f->expr == NULL)
                        continue;
                named++;
                snprintf(text, sizeof(text), "%s == %s", f->expr, expr_value(f));
                fw_expr_t *e = fw_expr_compile(text, err, sizeof(err));
                if (e == NULL)
                        fail_msg("%s: %s", text, err);
                base_session(&s);
                set_value(&s, f, 0);
                assert_true(fw_expr_match(e, &s));
                set_value(&s, f, 1);
                assert_false(fw_expr_match(e, &s));
                fw_expr_free(e);
        }
        /* expr.c also has ip, port, packets, bytes and databytes (either side) */
        assert_int_equal(named, 21);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_wire_keys),
                cmocka_unit_test(test_arkime_names),
                cmocka_unit_test(test_expr_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
