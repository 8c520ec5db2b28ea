/* Unit tests for detector/alert.c: alert ids, Arkime expressions, viewer URLs and the ECS JSON,
 * which is also checked against docs/alert.schema.json by a small validator (the keywords the
 * schema uses: type, required, properties, additionalProperties, items, enum, const, anyOf,
 * $ref, pattern as POSIX ERE, minimum/maximum, min/maxItems, minLength, minProperties).
 *
 * FW_ALERT_EXAMPLE=1 ./test_alert prints one alert per kind (the example in docs/alerts.md). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* strtok_r, regex.h (CMake sets it for the whole tree) */
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <xxhash.h>

#include "alert.h"
#include "expr.h"
#include "expr_fixture.h"
#include "net.h"
#include "session.h"

static fw_ip_t ip_of(const char *s) {
        fw_ip_t ip;

        memset(&ip, 0, sizeof(ip));
        if (fw_ip_parse(s, &ip) != 0)
                fail_msg("fw_ip_parse(\"%s\") failed", s);
        return ip;
}

static fw_session_t trigger_session;

/* A port sweep by 10.1.2.3 on port 445: the base every test changes. */
static fw_alert_t mk(fw_det_kind_t kind) {
        static const char *const names[] = {"address_sweep", "address_sweep_port",  "port_scan",
                                            "session_spike", "session_spike_total", NULL};
        fw_alert_t a;

        memset(&a, 0, sizeof(a));
        a.kind = kind;
        a.rule = names[kind];
        a.severity = 47;
        a.has_src = kind != FW_DET_SPIKE_TOTAL;
        a.src = ip_of("10.1.2.3");
        if (kind == FW_DET_PORTSCAN) {
                a.has_dst = 1;
                a.dst = ip_of("10.9.8.7");
        }
        if (kind == FW_DET_SWEEP_PORT) {
                a.has_dport = 1;
                a.dport = 445;
        }
        a.epoch_start_ms = 1716026400000LL;
        a.window_start_ms = 1716026105123LL;
        a.window_end_ms = 1716026405123LL;
        a.first_seen_ms = 1716026110000LL;
        a.last_seen_ms = 1716026405123LL;
        a.count = 31;
        a.threshold = 25;
        a.exact = 1;
        a.sessions = 40;
        a.failed = 10;
        if (kind == FW_DET_SPIKE || kind == FW_DET_SPIKE_TOTAL) {
                a.window_start_ms = 1716026345123LL;
                a.count = 900;
                a.threshold = 120;
                a.baseline_mean = 40.5;
                a.baseline_dev = 5.25;
        }
        if (kind == FW_DET_SWEEP || kind == FW_DET_SWEEP_PORT) {
                a.ntargets = 3;
                a.targets[0] = ip_of("10.2.0.1");
                a.targets[1] = ip_of("10.2.0.2");
                a.targets[2] = ip_of("10.2.0.3");
        }
        if (kind == FW_DET_PORTSCAN) {
                a.nports = 3;
                a.ports[0] = 22;
                a.ports[1] = 80;
                a.ports[2] = 443;
        }
        fw_session_init(&trigger_session);
        snprintf(trigger_session.id, sizeof(trigger_session.id), "3@240518-AQBnm2Zk9T1aQ8f2");
        snprintf(trigger_session.node, sizeof(trigger_session.node), "sensor01");
        snprintf(trigger_session.community_id, sizeof(trigger_session.community_id),
                 "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
        trigger_session.src_ip = a.src;
        trigger_session.dst_ip = kind == FW_DET_PORTSCAN ? a.dst : ip_of("10.2.0.3");
        trigger_session.src_port = 51544;
        trigger_session.dst_port = kind == FW_DET_PORTSCAN ? 443 : 445;
        trigger_session.ip_protocol = 6;
        trigger_session.first_packet_ms = a.window_end_ms;
        a.trigger = &trigger_session;
        fw_alert_set_id(&a);
        return a;
}

static fw_rule_cfg_t mk_rule(const char *name, const char *text, const char *technique) {
        fw_rule_cfg_t r;

        memset(&r, 0, sizeof(r));
        r.name = (char *)name;
        r.expr = compile_ok(text);
        r.threshold = 10;
        r.severity = 73;
        r.technique = (char *)technique;
        return r;
}

static fw_alert_t mk_rule_alert(const fw_rule_cfg_t *r) {
        fw_alert_t a = mk(FW_DET_SWEEP);

        a.kind = FW_DET_RULE;
        a.rule = r->name;
        a.rule_cfg = r;
        a.ntargets = 0;
        a.count = 12;
        a.threshold = r->threshold;
        fw_alert_set_id(&a);
        return a;
}

static json_t *to_json(const fw_alert_t *a, const fw_alert_json_opts_t *o) {
        size_t len = 0;
        char *s = fw_alert_json(a, o, &len);
        json_error_t jerr;
        json_t *j;

        assert_non_null(s);
        assert_int_equal(len, strlen(s));
        assert_null(strchr(s, '\n'));
        j = json_loads(s, 0, &jerr);
        if (j == NULL)
                fail_msg("alert JSON does not parse: %s: %s", jerr.text, s);
        free(s);
        return j;
}

/* j at a dotted path ("fanwatch.window.start"), NULL if absent. */
static json_t *at(json_t *j, const char *path) {
        char buf[256], *save = NULL, *tok;

        snprintf(buf, sizeof(buf), "%s", path);
        for (tok = strtok_r(buf, ".", &save); tok != NULL && j != NULL;
             tok = strtok_r(NULL, ".", &save))
                j = json_object_get(j, tok);
        return j;
}

/* v equals want; want is released. */
static int eq(json_t *v, json_t *want) {
        int r = v != NULL && want != NULL && json_equal(v, want);

        json_decref(want);
        return r;
}

static const char *str_at(json_t *j, const char *path) {
        json_t *v = at(j, path);

        if (v == NULL || !json_is_string(v))
                fail_msg("%s is not a string", path);
        return json_string_value(v);
}

static long long int_at(json_t *j, const char *path) {
        json_t *v = at(j, path);

        if (v == NULL || !json_is_integer(v))
                fail_msg("%s is not an integer", path);
        return (long long)json_integer_value(v);
}

static double real_at(json_t *j, const char *path) {
        json_t *v = at(j, path);

        if (v == NULL || !json_is_real(v))
                fail_msg("%s is not a real", path);
        return json_real_value(v);
}

/* ----------------------------------------------------------------------------------------- */
/* schema validation (the subset of draft 2020-12 docs/alert.schema.json uses) */

static json_t *schema_root;

static json_t *load_schema(void) {
        const char *data = getenv("FW_TEST_DATA");
        char path[1024];
        json_error_t jerr;
        json_t *s;

        if (data != NULL)
                snprintf(path, sizeof(path), "%s/../../docs/alert.schema.json", data);
        else {
                const char *f = __FILE__, *slash = strrchr(f, '/');

                snprintf(path, sizeof(path), "%.*s/../../docs/alert.schema.json",
                         slash != NULL ? (int)(slash - f) : 1, slash != NULL ? f : ".");
        }
        s = json_load_file(path, 0, &jerr);
        if (s == NULL)
                fail_msg("cannot load %s: %s", path, jerr.text);
        return s;
}

static int type_ok(json_t *v, const char *t) {
        if (strcmp(t, "object") == 0)
                return json_is_object(v);
        if (strcmp(t, "array") == 0)
                return json_is_array(v);
        if (strcmp(t, "string") == 0)
                return json_is_string(v);
        if (strcmp(t, "integer") == 0)
                return json_is_integer(v);
        if (strcmp(t, "number") == 0)
                return json_is_number(v);
        if (strcmp(t, "boolean") == 0)
                return json_is_boolean(v);
        if (strcmp(t, "null") == 0)
                return json_is_null(v);
        fail_msg("schema type '%s' not supported by the test validator", t);
        return 0;
}

static double num(json_t *v) {
        return json_number_value(v);
}

/* 0 if v validates against schema s, else -1 with a reason in why. */
static int validate(json_t *v, json_t *s, const char *path, char *why, size_t whylen) {
        const char *key;
        json_t *kw, *x;
        size_t i;

        if (!json_is_object(s))
                fail_msg("schema at %s is not an object", path);
        json_object_foreach(s, key, kw) {
                if (strcmp(key, "$ref") == 0) {
                        const char *ref = json_string_value(kw);

                        if (strncmp(ref, "#/$defs/", 8) != 0)
                                fail_msg("unsupported $ref %s", ref);
                        x = json_object_get(json_object_get(schema_root, "$defs"), ref + 8);
                        if (x == NULL)
                                fail_msg("dangling $ref %s", ref);
                        if (validate(v, x, path, why, whylen) != 0)
                                return -1;
                } else if (strcmp(key, "type") == 0) {
                        int ok = 0;

                        if (json_is_string(kw))
                                ok = type_ok(v, json_string_value(kw));
                        json_array_foreach(kw, i, x) ok |= type_ok(v, json_string_value(x));
                        if (!ok) {
                                snprintf(why, whylen, "%s: wrong type", path);
                                return -1;
                        }
                } else if (strcmp(key, "required") == 0) {
                        json_array_foreach(kw, i, x) {
                                if (json_is_object(v) &&
                                    json_object_get(v, json_string_value(x)) == NULL) {
                                        snprintf(why, whylen, "%s: missing %s", path,
                                                 json_string_value(x));
                                        return -1;
                                }
                        }
                } else if (strcmp(key, "properties") == 0) {
                        const char *pk;
                        json_t *pv;

                        if (!json_is_object(v))
                                continue;
                        json_object_foreach(v, pk, pv) {
                                char sub[256];

                                x = json_object_get(kw, pk);
                                snprintf(sub, sizeof(sub), "%s.%s", path, pk);
                                if (x == NULL) {
                                        if (json_is_false(
                                                    json_object_get(s, "additionalProperties"))) {
                                                snprintf(why, whylen, "%s: not in the schema", sub);
                                                return -1;
                                        }
                                } else if (validate(pv, x, sub, why, whylen) != 0) {
                                        return -1;
                                }
                        }
                } else if (strcmp(key, "items") == 0) {
                        json_t *item;

                        json_array_foreach(v, i, item) {
                                char sub[256];

                                snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
                                if (validate(item, kw, sub, why, whylen) != 0)
                                        return -1;
                        }
                } else if (strcmp(key, "enum") == 0) {
                        int ok = 0;

                        json_array_foreach(kw, i, x) ok |= json_equal(v, x);
                        if (!ok) {
                                snprintf(why, whylen, "%s: not in enum", path);
                                return -1;
                        }
                } else if (strcmp(key, "const") == 0) {
                        if (!json_equal(v, kw)) {
                                snprintf(why, whylen, "%s: not the const", path);
                                return -1;
                        }
                } else if (strcmp(key, "anyOf") == 0) {
                        int ok = 0;
                        char sub[256];

                        json_array_foreach(kw, i, x) ok |=
                                validate(v, x, path, sub, sizeof(sub)) == 0;
                        if (!ok) {
                                snprintf(why, whylen, "%s: matches no anyOf branch", path);
                                return -1;
                        }
                } else if (strcmp(key, "pattern") == 0) {
                        regex_t re;
                        int rc;

                        if (!json_is_string(v))
                                continue;
                        if (regcomp(&re, json_string_value(kw), REG_EXTENDED | REG_NOSUB) != 0)
                                fail_msg("pattern at %s is not a POSIX ERE: %s", path,
                                         json_string_value(kw));
                        rc = regexec(&re, json_string_value(v), 0, NULL, 0);
                        regfree(&re);
                        if (rc != 0) {
                                snprintf(why, whylen, "%s: '%s' does not match %s", path,
                                         json_string_value(v), json_string_value(kw));
                                return -1;
                        }
                } else if (strcmp(key, "minimum") == 0) {
                        if (json_is_number(v) && num(v) < num(kw)) {
                                snprintf(why, whylen, "%s: below minimum", path);
                                return -1;
                        }
                } else if (strcmp(key, "maximum") == 0) {
                        if (json_is_number(v) && num(v) > num(kw)) {
                                snprintf(why, whylen, "%s: above maximum", path);
                                return -1;
                        }
                } else if (strcmp(key, "minItems") == 0 || strcmp(key, "maxItems") == 0) {
                        size_t n = json_array_size(v);
                        size_t lim = (size_t)json_integer_value(kw);

                        if (json_is_array(v) && (key[1] == 'i' ? n < lim : n > lim)) {
                                snprintf(why, whylen, "%s: %s", path, key);
                                return -1;
                        }
                } else if (strcmp(key, "minLength") == 0) {
                        if (json_is_string(v) &&
                            json_string_length(v) < (size_t)json_integer_value(kw)) {
                                snprintf(why, whylen, "%s: too short", path);
                                return -1;
                        }
                } else if (strcmp(key, "minProperties") == 0) {
                        if (json_is_object(v) &&
                            json_object_size(v) < (size_t)json_integer_value(kw)) {
                                snprintf(why, whylen, "%s: too few properties", path);
                                return -1;
                        }
                } else if (strcmp(key, "additionalProperties") == 0 ||
                           strcmp(key, "description") == 0 || strcmp(key, "format") == 0 ||
                           strcmp(key, "title") == 0 || strcmp(key, "$schema") == 0 ||
                           strcmp(key, "$id") == 0 || strcmp(key, "$defs") == 0) {
                        /* handled with properties, or annotations */
                } else {
                        fail_msg("schema keyword '%s' at %s not supported by the test validator",
                                 key, path);
                }
        }
        return 0;
}

static void assert_schema_valid(json_t *j) {
        char why[512] = "";

        if (validate(j, schema_root, "$", why, sizeof(why)) != 0) {
                char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

                fail_msg("alert does not validate: %s\n%s", why, s);
        }
}

/* ----------------------------------------------------------------------------------------- */
/* URL helpers */

/* The value of hex digit c (either case), -1 if c is not one. */
static int hexval(char c) {
        static const char digits[] = "0123456789abcdef0123456789ABCDEF";
        const char *p = c != '\0' ? strchr(digits, c) : NULL;

        return p != NULL ? (int)(p - digits) % 16 : -1;
}

/* Percent-decode n bytes of s into out (NUL-terminated); '+' stays '+'. */
static void pct_decode(const char *s, size_t n, char *out, size_t outlen) {
        size_t o = 0;

        for (size_t i = 0; i < n && o + 1 < outlen; i++) {
                if (s[i] == '%') {
                        assert_true(i + 2 < n);
                        assert_true(hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0);
                        out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
                        i += 2;
                } else {
                        out[o++] = s[i];
                }
        }
        out[o] = '\0';
}

/* The raw (still encoded) value of query parameter name, length in *n; NULL if absent. */
static const char *query_param(const char *url, const char *name, size_t *n) {
        const char *q = strchr(url, '?');
        size_t nl = strlen(name);

        if (q == NULL)
                return NULL;
        for (const char *p = q + 1; *p != '\0';) {
                const char *amp = strchr(p, '&');
                size_t len = amp != NULL ? (size_t)(amp - p) : strlen(p);

                if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
                        *n = len - nl - 1;
                        return p + nl + 1;
                }
                if (amp == NULL)
                        break;
                p = amp + 1;
        }
        return NULL;
}

/* Every byte of the URL is a URI character that needs no escaping in a query. */
static void assert_url_chars(const char *url) {
        for (const unsigned char *p = (const unsigned char *)url; *p != '\0'; p++) {
                if (*p <= 0x20 || *p >= 0x7f || strchr("\"#<>\\^`{|}", *p) != NULL)
                        fail_msg("raw byte 0x%02x in URL %s", *p, url);
        }
}

/* The URL's expression decodes to exactly fanwatch.expression, and the expression part holds
 * only unreserved characters and %XX escapes. */
static void check_url_roundtrip(json_t *j, const char *base_want) {
        const char *url = str_at(j, "fanwatch.viewer_url"), *enc;
        const char *expr = str_at(j, "fanwatch.expression");
        char dec[8192];
        size_t n = 0;

        assert_url_chars(url);
        assert_int_equal(strncmp(url, base_want, strlen(base_want)), 0);
        assert_int_equal(strncmp(url + strlen(base_want), "/sessions?expression=", 21), 0);
        enc = query_param(url, "expression", &n);
        assert_non_null(enc);
        for (size_t i = 0; i < n; i++) {
                char c = enc[i];

                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~' || c == '%'))
                        fail_msg("unescaped '%c' in the expression part of %s", c, url);
        }
        pct_decode(enc, n, dec, sizeof(dec));
        assert_string_equal(dec, expr);
}

/* ----------------------------------------------------------------------------------------- */
/* ids */

static int is_hex32(const char *s) {
        if (strlen(s) != 32)
                return 0;
        for (; *s != '\0'; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return 0;
        return 1;
}

static void test_id_deterministic(void **state) {
        (void)state;
        for (int k = 0; k < FW_DET_RULE; k++) {
                fw_alert_t a = mk((fw_det_kind_t)k), b = mk((fw_det_kind_t)k);

                assert_true(is_hex32(a.id));
                assert_string_equal(a.id, b.id);
                /* not part of the key: counts, window, escalation, trigger, severity */
                b.count = 1000;
                b.window_end_ms += 12345;
                b.window_start_ms += 12345;
                b.escalation = 3;
                b.severity = 99;
                b.trigger = NULL;
                b.ntargets = 0;
                fw_alert_set_id(&b);
                assert_string_equal(a.id, b.id);
                /* idempotent on the same struct */
                fw_alert_set_id(&a);
                assert_string_equal(a.id, b.id);
        }
}

/* The id is XXH3-128 over the documented encoding (docs/alerts.md "id"). */
static void test_id_encoding(void **state) {
        fw_alert_t a = mk(FW_DET_SWEEP_PORT);
        uint8_t buf[128];
        size_t n = 0;
        const char *rule = "address_sweep_port";
        uint64_t rlen = strlen(rule);
        XXH128_canonical_t c;
        char want[33];

        (void)state;
        buf[n++] = 1;
        for (int i = 0; i < 8; i++)
                buf[n++] = (uint8_t)(rlen >> (8 * i));
        memcpy(buf + n, rule, rlen);
        n += rlen;
        buf[n++] = 1 | 4; /* src, dport */
        buf[n++] = 4;
        memcpy(buf + n, (uint8_t[]){10, 1, 2, 3}, 4);
        n += 4;
        buf[n++] = 445 & 0xff;
        buf[n++] = 445 >> 8;
        for (int i = 0; i < 8; i++)
                buf[n++] = (uint8_t)((uint64_t)a.epoch_start_ms >> (8 * i));
        XXH128_canonicalFromHash(&c, XXH3_128bits(buf, n));
        for (int i = 0; i < 16; i++)
                snprintf(want + 2 * i, 3, "%02x", c.digest[i]);
        assert_string_equal(a.id, want);
}

static void test_id_sensitive(void **state) {
        fw_alert_t base = mk(FW_DET_PORTSCAN), a;
        char seen[16][33];
        int n = 0;

        (void)state;
        memcpy(seen[n++], base.id, 33);
#define VARIANT(stmt)                                                                              \
        do {                                                                                       \
                a = base;                                                                          \
                stmt;                                                                              \
                fw_alert_set_id(&a);                                                               \
                for (int i_ = 0; i_ < n; i_++)                                                     \
                        if (strcmp(seen[i_], a.id) == 0)                                           \
                                fail_msg("variant '%s' collides with variant %d", #stmt, i_);      \
                memcpy(seen[n++], a.id, 33);                                                       \
        } while (0)
        VARIANT(a.rule = "address_sweep");
        VARIANT(a.src = ip_of("10.1.2.4"));
        VARIANT(a.dst = ip_of("10.9.8.8"));
        VARIANT(a.has_dst = 0);
        VARIANT((a.has_dport = 1, a.dport = 0));
        VARIANT((a.has_dport = 1, a.dport = 1));
        VARIANT(a.epoch_start_ms += 300000);
        VARIANT(a.epoch_start_ms = -300000);
        VARIANT(a.src = ip_of("a01:203::")); /* same first 4 bytes as 10.1.2.3, IPv6 */
        VARIANT(a.src = ip_of("::ffff:10.1.2.3"));
        VARIANT((a.has_src = 0, a.has_dst = 0));
        /* src and dst swapped: the flags and order keep them apart */
        VARIANT((a.src = base.dst, a.dst = base.src));
        /* rule-name length prefix: "ab" + key vs "a" + other bytes cannot collide by shifting */
        VARIANT(a.rule = "port_sca");
#undef VARIANT
        assert_int_equal(n, 14);
}

/* ----------------------------------------------------------------------------------------- */
/* expressions */

static void check_expr(const fw_alert_t *a, const char *want) {
        char buf[512];
        int n = fw_alert_expression(a, buf, sizeof(buf));

        assert_int_equal(n, (int)strlen(want));
        assert_string_equal(buf, want);
}

static void test_expression_kinds(void **state) {
        fw_alert_t a;
        fw_rule_cfg_t r = mk_rule("smb_probe", "port.dst == [139,445] && packets < 3", "T1021.002");

        (void)state;
        a = mk(FW_DET_SWEEP);
        check_expr(&a, "ip.src == 10.1.2.3");
        a = mk(FW_DET_SWEEP_PORT);
        check_expr(&a, "ip.src == 10.1.2.3 && port.dst == 445");
        /* port 0 is the key of portless sessions (ICMP): Arkime's capture writes port 0 for
         * them too, and the real viewer selects them with port.dst == 0 */
        a.dport = 0;
        check_expr(&a, "ip.src == 10.1.2.3 && port.dst == 0");
        a = mk(FW_DET_PORTSCAN);
        check_expr(&a, "ip.src == 10.1.2.3 && ip.dst == 10.9.8.7");
        a = mk(FW_DET_SPIKE);
        check_expr(&a, "ip.src == 10.1.2.3");
        a = mk(FW_DET_SPIKE_TOTAL);
        check_expr(&a, "");
        a = mk_rule_alert(&r);
        check_expr(&a, "(port.dst == [139,445] && packets < 3) && ip.src == 10.1.2.3");
        /* an || rule keeps its meaning thanks to the parentheses */
        fw_expr_free(r.expr);
        r.expr = compile_ok("port.dst == 22 || port.dst == 3389");
        check_expr(&a, "(port.dst == 22 || port.dst == 3389) && ip.src == 10.1.2.3");
        fw_expr_free(r.expr);
}

static void test_expression_ipv6(void **state) {
        fw_alert_t a = mk(FW_DET_PORTSCAN);

        (void)state;
        a.src = ip_of("2001:db8::1");
        a.dst = ip_of("2001:DB8:0:0:1:0:0:2");
        check_expr(&a, "ip.src == 2001:db8::1 && ip.dst == 2001:db8::1:0:0:2");
        /* IPv4-mapped: no dotted tail, Arkime would read ".2" as a port */
        a.src = ip_of("::ffff:10.1.2.3");
        a.dst = ip_of("::");
        check_expr(&a, "ip.src == 0:0:0:0:0:ffff:a01:203 && ip.dst == ::");
        a = mk(FW_DET_SWEEP_PORT);
        a.src = ip_of("fe80::1");
        a.dport = 5985;
        check_expr(&a, "ip.src == fe80::1 && port.dst == 5985");
}

/* Every expression compiles with fanwatch's Arkime-syntax parser and selects the trigger. */
static void test_expression_selects_evidence(void **state) {
        static const char *const srcs[] = {"10.1.2.3", "2001:db8::1", "::ffff:10.1.2.3", "::1",
                                           "fe80::abcd:1"};
        fw_rule_cfg_t r = mk_rule("r1", "ip.protocol == tcp && tcpflags.syn >= 0", NULL);

        (void)state;
        for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
                for (int k = 0; k <= FW_DET_RULE; k++) {
                        fw_alert_t a = k == FW_DET_RULE ? mk_rule_alert(&r) : mk((fw_det_kind_t)k);
                        fw_session_t s = *a.trigger;
                        fw_session_t other;
                        char buf[1024];
                        fw_expr_t *e;

                        if (k == FW_DET_SPIKE_TOTAL)
                                continue;
                        a.src = ip_of(srcs[i]);
                        s.src_ip = a.src;
                        s.tcpflags.syn = 1;
                        if (k == FW_DET_PORTSCAN) {
                                a.dst = ip_of(i % 2 ? "2001:db8::99" : "10.9.8.7");
                                s.dst_ip = a.dst;
                        }
                        assert_true(fw_alert_expression(&a, buf, sizeof(buf)) > 0);
                        e = compile_ok(buf);
                        if (!fw_expr_match(e, &s))
                                fail_msg("'%s' does not select its trigger", buf);
                        other = s;
                        other.src_ip = ip_of("192.0.2.77");
                        assert_false(fw_expr_match(e, &other));
                        if (k == FW_DET_SWEEP_PORT) {
                                other = s;
                                other.dst_port = 446;
                                assert_false(fw_expr_match(e, &other));
                        }
                        fw_expr_free(e);
                }
        }
        fw_expr_free(r.expr);
}

static void test_expression_small_buffer(void **state) {
        fw_alert_t a = mk(FW_DET_SWEEP_PORT);
        char buf[64];
        int n;

        (void)state;
        n = fw_alert_expression(&a, buf, sizeof(buf));
        assert_int_equal(n, 37);
        memset(buf, 'x', sizeof(buf));
        assert_int_equal(fw_alert_expression(&a, buf, 37), -1); /* no room for the NUL */
        assert_string_equal(buf, "");
        assert_int_equal(fw_alert_expression(&a, buf, 38), 37);
        assert_int_equal(fw_alert_expression(&a, buf, 0), -1);
        a = mk(FW_DET_SPIKE_TOTAL);
        assert_int_equal(fw_alert_expression(&a, buf, 1), 0);
        assert_string_equal(buf, "");
}

/* ----------------------------------------------------------------------------------------- */
/* viewer URL */

static void test_viewer_url(void **state) {
        fw_alert_json_opts_t o = {"https://arkime.example:8005//", "det-1", -1};
        fw_alert_t a = mk(FW_DET_SWEEP_PORT);
        json_t *j;
        const char *url;
        size_t n;
        const char *v;

        (void)state;
        j = to_json(&a, &o);
        url = str_at(j, "fanwatch.viewer_url");
        assert_string_equal(url, "https://arkime.example:8005/sessions?expression=ip.src%20%3D%3D%"
                                 "2010.1.2.3%20%26%26%20port.dst%20%3D%3D%20445"
                                 "&startTime=1716026105&stopTime=1716026406&bounding=first");
        check_url_roundtrip(j, "https://arkime.example:8005");
        json_decref(j);

        /* whole seconds: start floors, stop ceils, exact seconds stay */
        a.window_start_ms = 1716026100000LL;
        a.window_end_ms = 1716026400000LL;
        j = to_json(&a, &o);
        url = str_at(j, "fanwatch.viewer_url");
        v = query_param(url, "startTime", &n);
        assert_int_equal(strncmp(v, "1716026100", n), 0);
        v = query_param(url, "stopTime", &n);
        assert_int_equal(strncmp(v, "1716026400", n), 0);
        json_decref(j);

        /* IPv6: colons escaped in the URL, plain in the expression */
        a = mk(FW_DET_PORTSCAN);
        a.src = ip_of("2001:db8::1");
        a.dst = ip_of("::ffff:192.0.2.1");
        j = to_json(&a, &o);
        assert_string_equal(str_at(j, "fanwatch.expression"),
                            "ip.src == 2001:db8::1 && ip.dst == 0:0:0:0:0:ffff:c000:201");
        check_url_roundtrip(j, "https://arkime.example:8005");
        assert_non_null(strstr(str_at(j, "fanwatch.viewer_url"), "2001%3Adb8%3A%3A1"));
        json_decref(j);
}

/* fanwatch.tag always; fanwatch.tag_url with a viewer: tags == fanwatch:<id> over the same
 * time range as fanwatch.viewer_url (also for session_spike_total, which has no expression). */
static void test_tag_fields(void **state) {
        fw_alert_json_opts_t o = {"https://arkime.example:8005/", "det-1", -1};
        fw_det_kind_t kinds[] = {FW_DET_SWEEP_PORT, FW_DET_SPIKE_TOTAL};
        char want[256];

        (void)state;
        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
                fw_alert_t a = mk(kinds[k]);
                json_t *j = to_json(&a, &o);
                const char *url, *turl;

                snprintf(want, sizeof(want), "fanwatch:%s", a.id);
                assert_string_equal(str_at(j, "fanwatch.tag"), want);
                snprintf(want, sizeof(want),
                         "https://arkime.example:8005/sessions?expression=tags%%20%%3D%%3D%%20"
                         "fanwatch%%3A%s&startTime=1716026105&stopTime=1716026406&bounding=first",
                         a.id);
                turl = str_at(j, "fanwatch.tag_url");
                if (kinds[k] == FW_DET_SWEEP_PORT)
                        assert_string_equal(turl, want);
                else /* its own window */
                        assert_memory_equal(turl, want, strstr(want, "startTime=") - want);
                url = str_at(j, "fanwatch.viewer_url");
                assert_string_equal(strstr(turl, "startTime="), strstr(url, "startTime="));
                assert_schema_valid(j);
                json_decref(j);

                /* without a viewer: the tag, no link */
                j = to_json(&a, NULL);
                snprintf(want, sizeof(want), "fanwatch:%s", a.id);
                assert_string_equal(str_at(j, "fanwatch.tag"), want);
                assert_null(at(j, "fanwatch.tag_url"));
                assert_schema_valid(j);
                json_decref(j);
        }
}

/* A rule whose text holds spaces, '&', '#', quotes, '%', '+', '=' and UTF-8. */
static void test_viewer_url_hostile_rule(void **state) {
        fw_rule_cfg_t r = mk_rule(
                "odd-rule",
                "node == \"sensor #1 & co=+%2F \\\"q\\\" caf\xc3\xa9\" || port.dst == 1-1024",
                NULL);
        fw_alert_json_opts_t o = {"http://h/arkime/", NULL, -1};
        fw_alert_t a = mk_rule_alert(&r);
        json_t *j;
        const char *url;

        (void)state;
        j = to_json(&a, &o);
        url = str_at(j, "fanwatch.viewer_url");
        check_url_roundtrip(j, "http://h/arkime");
        assert_non_null(strstr(str_at(j, "fanwatch.expression"), "caf\xc3\xa9"));
        assert_non_null(strstr(url, "caf%C3%A9"));
        assert_non_null(strstr(url, "%23"));
        assert_non_null(strstr(url, "%26"));
        assert_non_null(strstr(url, "%2B"));
        assert_non_null(strstr(url, "%252F"));
        assert_schema_valid(j);
        json_decref(j);
        fw_expr_free(r.expr);
}

/* ----------------------------------------------------------------------------------------- */
/* JSON */

static void test_json_sweep_port(void **state) {
        fw_alert_json_opts_t o = {"https://arkime:8005", "detector-a", 1716026470000LL};
        fw_alert_t a = mk(FW_DET_SWEEP_PORT);
        json_t *j, *t;

        (void)state;
        j = to_json(&a, &o);
        assert_schema_valid(j);
        assert_string_equal(str_at(j, "@timestamp"), "2024-05-18T10:00:05.123Z");
        assert_string_equal(str_at(j, "message"),
                            "10.1.2.3 contacted 31 hosts on port 445 in 5 min (threshold 25)");
        assert_string_equal(str_at(j, "event.kind"), "alert");
        assert_true(
                eq(at(j, "event.category"), json_pack("[ss]", "network", "intrusion_detection")));
        assert_string_equal(json_string_value(json_array_get(at(j, "event.type"), 0)), "info");
        assert_string_equal(str_at(j, "event.module"), "fanwatch");
        assert_string_equal(str_at(j, "event.dataset"), "fanwatch.alert");
        assert_int_equal(int_at(j, "event.severity"), 47);
        assert_string_equal(str_at(j, "event.start"), "2024-05-18T09:55:05.123Z");
        assert_string_equal(str_at(j, "event.end"), "2024-05-18T10:00:05.123Z");
        assert_string_equal(str_at(j, "event.created"), "2024-05-18T10:01:10.000Z");
        assert_string_equal(str_at(j, "event.id"), a.id);
        assert_string_equal(str_at(j, "rule.id"), "address_sweep_port");
        assert_string_equal(str_at(j, "rule.name"), "Address sweep on one port");
        assert_string_equal(str_at(j, "rule.reference"),
                            "https://attack.mitre.org/techniques/T1046/");
        /* issue 15: the pivot is where ECS tools look for it, not only in fanwatch.viewer_url */
        assert_string_equal(str_at(j, "event.url"), str_at(j, "fanwatch.viewer_url"));
        assert_string_equal(str_at(j, "event.reference"), str_at(j, "fanwatch.viewer_url"));
        assert_non_null(strstr(str_at(j, "event.url"), "https://arkime:8005/sessions?expression="));
        assert_string_equal(str_at(j, "rule.ruleset"), "fanwatch");
        assert_string_equal(str_at(j, "rule.category"), "Network scan");
        assert_string_equal(str_at(j, "source.ip"), "10.1.2.3");
        assert_null(at(j, "destination.ip"));
        assert_int_equal(int_at(j, "destination.port"), 445);
        assert_int_equal(json_array_size(at(j, "related.ip")), 4);
        assert_string_equal(str_at(j, "network.transport"), "tcp");
        assert_string_equal(str_at(j, "network.iana_number"), "6");
        assert_string_equal(str_at(j, "network.type"), "ipv4");
        assert_string_equal(str_at(j, "observer.name"), "detector-a");
        assert_string_equal(str_at(j, "observer.type"), "ids");
        assert_string_equal(str_at(j, "observer.vendor"), "fanwatch");
        assert_string_equal(str_at(j, "observer.product"), "fanwatch");
        /* ATT&CK: T1046 plus T1021 with the SMB sub-technique for port 445 */
        assert_string_equal(str_at(j, "threat.framework"), "MITRE ATT&CK");
        t = at(j, "threat.technique");
        assert_int_equal(json_array_size(t), 2);
        assert_string_equal(str_at(json_array_get(t, 0), "id"), "T1046");
        assert_string_equal(str_at(json_array_get(t, 0), "name"), "Network Service Discovery");
        assert_string_equal(str_at(json_array_get(t, 0), "reference"),
                            "https://attack.mitre.org/techniques/T1046/");
        assert_string_equal(str_at(json_array_get(t, 1), "id"), "T1021");
        assert_string_equal(
                str_at(json_array_get(json_object_get(json_array_get(t, 1), "subtechnique"), 0),
                       "reference"),
                "https://attack.mitre.org/techniques/T1021/002/");
        t = at(j, "threat.tactic");
        assert_int_equal(json_array_size(t), 2);
        assert_string_equal(str_at(json_array_get(t, 0), "id"), "TA0007");
        assert_string_equal(str_at(json_array_get(t, 0), "name"), "Discovery");
        assert_string_equal(str_at(json_array_get(t, 1), "id"), "TA0008");
        assert_string_equal(str_at(json_array_get(t, 1), "reference"),
                            "https://attack.mitre.org/tactics/TA0008/");
        /* fanwatch */
        assert_int_equal(int_at(j, "fanwatch.count"), 31);
        assert_int_equal(int_at(j, "fanwatch.threshold"), 25);
        assert_true(json_is_true(at(j, "fanwatch.exact")));
        assert_int_equal(int_at(j, "fanwatch.escalation"), 0);
        assert_string_equal(str_at(j, "fanwatch.window.start"), "2024-05-18T09:55:05.123Z");
        assert_int_equal(int_at(j, "fanwatch.window.length_ms"), 300000);
        assert_string_equal(str_at(j, "fanwatch.epoch_start"), "2024-05-18T10:00:00.000Z");
        assert_string_equal(str_at(j, "fanwatch.first_seen"), "2024-05-18T09:55:10.000Z");
        assert_string_equal(str_at(j, "fanwatch.last_seen"), "2024-05-18T10:00:05.123Z");
        assert_int_equal(int_at(j, "fanwatch.sessions"), 40);
        assert_int_equal(int_at(j, "fanwatch.failed"), 10);
        assert_true(real_at(j, "fanwatch.failed_ratio") == 0.25);
        assert_int_equal(json_array_size(at(j, "fanwatch.sample.hosts")), 3);
        assert_string_equal(json_string_value(json_array_get(at(j, "fanwatch.sample.hosts"), 2)),
                            "10.2.0.3");
        assert_int_equal(json_array_size(at(j, "fanwatch.sample.ports")), 0);
        assert_string_equal(str_at(j, "fanwatch.expression"),
                            "ip.src == 10.1.2.3 && port.dst == 445");
        assert_null(at(j, "fanwatch.baseline"));
        assert_string_equal(str_at(j, "fanwatch.trigger.session_id"), "3@240518-AQBnm2Zk9T1aQ8f2");
        assert_string_equal(str_at(j, "fanwatch.trigger.node"), "sensor01");
        assert_string_equal(str_at(j, "fanwatch.trigger.community_id"),
                            "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
        json_decref(j);

        /* a port that is not a lateral-movement port: T1046 only */
        a.dport = 80;
        j = to_json(&a, &o);
        assert_int_equal(json_array_size(at(j, "threat.technique")), 1);
        assert_int_equal(json_array_size(at(j, "threat.tactic")), 1);
        json_decref(j);
}

static void test_json_lateral_ports(void **state) {
        static const struct {
                uint16_t port;
                const char *sub;
        } cases[] = {{22, "T1021.004"},  {135, "T1021.003"},  {139, "T1021.002"},
                     {445, "T1021.002"}, {3389, "T1021.001"}, {5985, "T1021.006"},
                     {5986, "T1021.006"}};
        fw_alert_json_opts_t o = {NULL, NULL, -1};

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                fw_alert_t a = mk(FW_DET_SWEEP_PORT);
                json_t *j, *t;

                a.dport = cases[i].port;
                j = to_json(&a, &o);
                assert_schema_valid(j);
                t = json_array_get(at(j, "threat.technique"), 1);
                assert_string_equal(str_at(t, "id"), "T1021");
                assert_string_equal(str_at(t, "name"), "Remote Services");
                assert_string_equal(
                        str_at(json_array_get(json_object_get(t, "subtechnique"), 0), "id"),
                        cases[i].sub);
                json_decref(j);
        }
        /* address_sweep (no port) and port_scan on 445: T1046 only */
        for (int k = FW_DET_SWEEP; k <= FW_DET_PORTSCAN; k += 2) {
                fw_alert_t a = mk((fw_det_kind_t)k);
                json_t *j;

                a.trigger = NULL;
                j = to_json(&a, &o);
                assert_int_equal(json_array_size(at(j, "threat.technique")), 1);
                assert_string_equal(str_at(json_array_get(at(j, "threat.technique"), 0), "id"),
                                    "T1046");
                json_decref(j);
        }
}

static void test_json_portscan(void **state) {
        fw_alert_json_opts_t o = {NULL, NULL, -1};
        fw_alert_t a = mk(FW_DET_PORTSCAN);
        json_t *j;

        (void)state;
        a.exact = 0;
        a.escalation = 2;
        a.count = 18;
        a.threshold = 15;
        fw_alert_set_id(&a);
        j = to_json(&a, &o);
        assert_schema_valid(j);
        assert_string_equal(str_at(j, "message"),
                            "10.1.2.3 probed ~18 ports on 10.9.8.7 in 5 min (threshold 15, "
                            "escalation 2)");
        assert_string_equal(str_at(j, "rule.id"), "port_scan");
        assert_string_equal(str_at(j, "rule.name"), "Port scan");
        assert_string_equal(str_at(j, "destination.ip"), "10.9.8.7");
        assert_null(at(j, "destination.port"));
        assert_true(json_is_false(at(j, "fanwatch.exact")));
        assert_int_equal(int_at(j, "fanwatch.escalation"), 2);
        assert_true(eq(at(j, "fanwatch.sample.ports"), json_pack("[iii]", 22, 80, 443)));
        assert_int_equal(json_array_size(at(j, "fanwatch.sample.hosts")), 0);
        assert_true(eq(at(j, "related.ip"), json_pack("[ss]", "10.1.2.3", "10.9.8.7")));
        assert_string_equal(str_at(j, "fanwatch.expression"),
                            "ip.src == 10.1.2.3 && ip.dst == 10.9.8.7");
        json_decref(j);
}

static void test_json_spikes(void **state) {
        fw_alert_json_opts_t o = {"https://arkime:8005", NULL, -1};
        fw_alert_t a = mk(FW_DET_SPIKE);
        json_t *j;

        (void)state;
        j = to_json(&a, &o);
        assert_schema_valid(j);
        assert_string_equal(str_at(j, "rule.id"), "session_spike");
        assert_string_equal(str_at(j, "rule.category"), "Traffic anomaly");
        assert_string_equal(
                str_at(j, "message"),
                "10.1.2.3 opened 900 sessions in 1 min (baseline 40.5 +/- 5.2, threshold "
                "120)");
        assert_null(at(j, "threat"));
        assert_true(real_at(j, "fanwatch.baseline.mean") == 40.5);
        assert_true(real_at(j, "fanwatch.baseline.dev") == 5.25);
        assert_int_equal(int_at(j, "fanwatch.window.length_ms"), 60000);
        assert_string_equal(str_at(j, "source.ip"), "10.1.2.3");
        assert_string_equal(str_at(j, "fanwatch.expression"), "ip.src == 10.1.2.3");
        json_decref(j);

        a = mk(FW_DET_SPIKE_TOTAL);
        a.trigger = NULL;
        a.baseline_dev = NAN; /* NaN: null, not a failure */
        j = to_json(&a, &o);
        assert_schema_valid(j);
        assert_string_equal(str_at(j, "rule.id"), "session_spike_total");
        assert_string_equal(str_at(j, "message"),
                            "900 sessions from all sources in 1 min (baseline not established, "
                            "threshold 120)");
        assert_null(at(j, "source"));
        assert_null(at(j, "destination"));
        assert_null(at(j, "related"));
        assert_null(at(j, "network"));
        assert_null(at(j, "threat"));
        assert_null(at(j, "fanwatch.expression"));
        assert_null(at(j, "fanwatch.trigger"));
        assert_true(json_is_null(at(j, "fanwatch.baseline.dev")));
        /* the viewer link then shows every session of the interval */
        assert_string_equal(str_at(j, "fanwatch.viewer_url"),
                            "https://arkime:8005/sessions?startTime=1716026345&stopTime=1716026406"
                            "&bounding=first");
        json_decref(j);
}

static void test_json_rule(void **state) {
        fw_rule_cfg_t r = mk_rule("smb_probe", "port.dst == 445 && packets < 3", "T1595.001");
        fw_alert_json_opts_t o = {"https://arkime:8005", NULL, -1};
        fw_alert_t a = mk_rule_alert(&r);
        json_t *j, *t;

        (void)state;
        j = to_json(&a, &o);
        assert_schema_valid(j);
        assert_string_equal(str_at(j, "rule.id"), "smb_probe");
        /* issue 15: not the id again; what the rule selects when the file gives no name */
        assert_string_equal(str_at(j, "rule.name"),
                            "Sessions matching port.dst == 445 && packets < 3");
        assert_string_equal(str_at(j, "rule.category"), "Expression rule");
        assert_string_equal(str_at(j, "rule.reference"),
                            "https://attack.mitre.org/techniques/T1595/001/");
        assert_string_equal(
                str_at(j, "message"),
                "10.1.2.3 had 12 sessions matching rule smb_probe in 4 min 55 s (threshold 10)");
        assert_string_equal(str_at(j, "event.url"), str_at(j, "fanwatch.viewer_url"));
        assert_null(at(j, "destination")); /* 12 sessions: the sampled host is one of several */
        assert_string_equal(str_at(j, "fanwatch.expression"),
                            "(port.dst == 445 && packets < 3) && ip.src == 10.1.2.3");
        check_url_roundtrip(j, "https://arkime:8005");
        t = json_array_get(at(j, "threat.technique"), 0);
        assert_string_equal(str_at(t, "id"), "T1595");
        assert_string_equal(str_at(t, "name"), "Active Scanning");
        t = json_array_get(json_object_get(t, "subtechnique"), 0);
        assert_string_equal(str_at(t, "id"), "T1595.001");
        assert_string_equal(str_at(t, "name"), "Scanning IP Blocks");
        assert_string_equal(str_at(json_array_get(at(j, "threat.tactic"), 0), "id"), "TA0043");
        json_decref(j);

        /* no technique: no threat, no reference */
        r.technique = NULL;
        j = to_json(&a, &o);
        assert_null(at(j, "threat"));
        assert_null(at(j, "rule.reference"));
        json_decref(j);

        /* the rules file's name, description and reference */
        r.title = "SMB probes from one source";
        r.description = "Short SMB sessions: a host probing for file shares.";
        r.reference = "https://wiki.example/soc/smb-probe";
        j = to_json(&a, &o);
        assert_schema_valid(j);
        assert_string_equal(str_at(j, "rule.name"), "SMB probes from one source");
        assert_string_equal(str_at(j, "rule.description"),
                            "Short SMB sessions: a host probing for file shares.");
        assert_string_equal(str_at(j, "rule.reference"), "https://wiki.example/soc/smb-probe");
        json_decref(j);
        r.title = r.description = r.reference = NULL;

        /* issue 15: one matching session, so one target: it is the destination */
        a.count = 1;
        a.sessions = 1;
        a.ntargets = 1;
        a.targets[0] = ip_of("10.2.0.9");
        j = to_json(&a, &o);
        assert_schema_valid(j);
        assert_string_equal(str_at(j, "destination.ip"), "10.2.0.9");
        assert_null(at(j, "destination.port"));
        assert_string_equal(str_at(j, "message"),
                            "10.1.2.3 had 1 session matching rule smb_probe (threshold 10)");
        json_decref(j);
        /* issue 15's alert: "had 1 sessions ... in 21154ms"; two sessions 21.154 s apart */
        a.count = 2;
        a.first_seen_ms = a.epoch_start_ms;
        a.last_seen_ms = a.window_end_ms = a.epoch_start_ms + 21154;
        j = to_json(&a, &o);
        assert_string_equal(
                str_at(j, "message"),
                "10.1.2.3 had 2 sessions matching rule smb_probe in 21 s (threshold 10)");
        assert_null(at(j, "destination"));
        json_decref(j);
        a = mk_rule_alert(&r);
        a.count = 12;
        a.ntargets = 0;

        /* a technique fanwatch does not know: id and reference, no tactic */
        r.technique = "T1999";
        j = to_json(&a, &o);
        assert_schema_valid(j);
        t = json_array_get(at(j, "threat.technique"), 0);
        assert_string_equal(str_at(t, "id"), "T1999");
        assert_null(json_object_get(t, "name"));
        assert_string_equal(str_at(t, "reference"), "https://attack.mitre.org/techniques/T1999/");
        assert_null(at(j, "threat.tactic"));
        json_decref(j);

        /* the rule's id differs from a built-in alert with the same key */
        assert_string_not_equal(a.id, mk(FW_DET_SWEEP).id);
        fw_expr_free(r.expr);
}

static void test_json_optional_omitted(void **state) {
        fw_alert_t a = mk(FW_DET_SWEEP);
        json_t *j;

        (void)state;
        a.trigger = NULL;
        a.first_seen_ms = FW_ABSENT;
        a.last_seen_ms = FW_ABSENT;
        j = to_json(&a, NULL);
        assert_schema_valid(j);
        assert_null(at(j, "event.created"));
        assert_null(at(j, "observer.name"));
        assert_null(at(j, "fanwatch.viewer_url"));
        assert_null(at(j, "fanwatch.trigger"));
        assert_null(at(j, "fanwatch.first_seen"));
        assert_null(at(j, "network"));
        assert_null(at(j, "destination"));
        json_decref(j);

        /* empty strings count as absent: viewer URL, observer, trigger parts */
        {
                fw_alert_json_opts_t o = {"", "", 0};

                a = mk(FW_DET_SWEEP);
                trigger_session.community_id[0] = '\0';
                trigger_session.node[0] = '\0';
                trigger_session.ip_protocol = 250; /* no ECS transport name */
                trigger_session.src_ip = ip_of("2001:db8::5");
                j = to_json(&a, &o);
                assert_schema_valid(j);
                assert_null(at(j, "fanwatch.viewer_url"));
                assert_null(at(j, "observer.name"));
                assert_string_equal(str_at(j, "event.created"), "1970-01-01T00:00:00.000Z");
                assert_null(at(j, "fanwatch.trigger.community_id"));
                assert_null(at(j, "fanwatch.trigger.node"));
                assert_non_null(at(j, "fanwatch.trigger.session_id"));
                assert_null(at(j, "network.transport"));
                assert_string_equal(str_at(j, "network.iana_number"), "250");
                assert_string_equal(str_at(j, "network.type"), "ipv6");
                json_decref(j);
        }
}

static void test_failed_ratio(void **state) {
        static const struct {
                uint64_t sessions, failed;
                double want;
        } cases[] = {{0, 0, 0.0}, {40, 10, 0.25}, {3, 3, 1.0}, {3, 1, 1.0 / 3.0}, {7, 0, 0.0}};

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                fw_alert_t a = mk(FW_DET_SWEEP);
                json_t *j;
                double got;

                a.sessions = cases[i].sessions;
                a.failed = cases[i].failed;
                j = to_json(&a, NULL);
                got = real_at(j, "fanwatch.failed_ratio");
                if (got < cases[i].want - 1e-12 || got > cases[i].want + 1e-12)
                        fail_msg("failed_ratio %g, want %g", got, cases[i].want);
                json_decref(j);
        }
}

static void test_times(void **state) {
        static const struct {
                int64_t ms;
                const char *want;
        } cases[] = {
                {0, "1970-01-01T00:00:00.000Z"},
                {-1, "1969-12-31T23:59:59.999Z"},
                {951782400000LL, "2000-02-29T00:00:00.000Z"},
                {951868799999LL, "2000-02-29T23:59:59.999Z"},
                {4107542400000LL, "2100-03-01T00:00:00.000Z"},
                {1716026405123LL, "2024-05-18T10:00:05.123Z"},
                {253402300799999LL, "9999-12-31T23:59:59.999Z"},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                fw_alert_t a = mk(FW_DET_SWEEP);
                json_t *j;

                a.window_end_ms = cases[i].ms;
                a.window_start_ms = cases[i].ms - 300000;
                j = to_json(&a, NULL);
                assert_string_equal(str_at(j, "@timestamp"), cases[i].want);
                assert_string_equal(str_at(j, "event.end"), cases[i].want);
                json_decref(j);
        }
}

/* Strings from the wire that are not UTF-8 are repaired, never make the alert fail. */
static void test_json_bad_utf8(void **state) {
        fw_alert_json_opts_t o = {NULL, "host\xff", -1};
        fw_alert_t a = mk(FW_DET_SWEEP);
        json_t *j;

        (void)state;
        snprintf(trigger_session.node, sizeof(trigger_session.node), "sens\xc3(or\xed\xa0\x80");
        j = to_json(&a, &o);
        assert_string_equal(str_at(j, "fanwatch.trigger.node"),
                            "sens\xef\xbf\xbd(or\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
        assert_string_equal(str_at(j, "observer.name"), "host\xef\xbf\xbd");
        json_decref(j);
}

/* Every kind, IPv4 and IPv6, validates against docs/alert.schema.json; the schema rejects
 * broken alerts (so the validator is not vacuous). */
static void test_schema(void **state) {
        fw_rule_cfg_t r = mk_rule("lateral.rdp-1", "port.dst == 3389", "T1021.001");
        fw_alert_json_opts_t o = {"https://arkime:8005", "det", 1716026470000LL};
        json_t *j, *bad;

        (void)state;
        for (int v6 = 0; v6 <= 1; v6++) {
                for (int k = 0; k <= FW_DET_RULE; k++) {
                        fw_alert_t a = k == FW_DET_RULE ? mk_rule_alert(&r) : mk((fw_det_kind_t)k);

                        if (v6) {
                                a.src = ip_of("2001:db8::1");
                                a.dst = ip_of("::ffff:10.0.0.1");
                                a.targets[0] = ip_of("fe80::1");
                                a.targets[1] = ip_of("1:2:3:4:5:6:7:8");
                                fw_alert_set_id(&a);
                        }
                        j = to_json(&a, &o);
                        assert_schema_valid(j);
                        json_decref(j);
                }
        }
        j = to_json((fw_alert_t[]){mk(FW_DET_SWEEP_PORT)}, &o);
        {
                char why[256];
                static const char *const breakers[] = {
                        "{\"event\":{\"kind\":\"event\"}}",
                        "{\"event\":{\"id\":\"ABC\"}}",
                        "{\"source\":{\"ip\":\"10.1.2.300\"}}",
                        "{\"source\":{\"ip\":\"not-an-ip\"}}",
                        "{\"destination\":{\"port\":70000}}",
                        "{\"rule\":{\"id\":\"bad id\"}}",
                        "{\"fanwatch\":{\"sample\":{\"hosts\":[\"10.0.0.1\"],\"ports\":[-1]}}}",
                        "{\"@timestamp\":\"2024-05-18 10:00:05\"}",
                        "{\"extra\":1}",
                };

                for (size_t i = 0; i < sizeof(breakers) / sizeof(breakers[0]); i++) {
                        json_t *patch = json_loads(breakers[i], 0, NULL);

                        bad = json_deep_copy(j);
                        json_object_update_recursive(bad, patch);
                        if (validate(bad, schema_root, "$", why, sizeof(why)) == 0)
                                fail_msg("schema accepts broken alert (%s)", breakers[i]);
                        json_decref(bad);
                        json_decref(patch);
                }
                bad = json_deep_copy(j);
                json_object_del(json_object_get(bad, "fanwatch"), "count");
                assert_int_equal(validate(bad, schema_root, "$", why, sizeof(why)), -1);
                json_decref(bad);
        }
        json_decref(j);
        fw_expr_free(r.expr);
}

/* ----------------------------------------------------------------------------------------- */
/* escaping: a property test over random addresses, ports, names and field values */

static uint64_t prop_state;

/* splitmix64: deterministic, so a failure names its iteration and reproduces. */
static uint64_t prop_rnd(void) {
        uint64_t z = (prop_state += 0x9e3779b97f4a7c15ULL);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static uint32_t prop_below(uint32_t n) {
        return (uint32_t)(prop_rnd() % n);
}

/* A random address: IPv4 (0.0.0.0 and 255.255.255.255 included) or IPv6 in every form that
 * formats differently: ::, ::1, IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d),
 * link-local without scope, zero runs of any length and place (compressed forms), none. */
static fw_ip_t prop_ip(void) {
        fw_ip_t ip;

        memset(&ip, 0, sizeof(ip));
        switch (prop_below(12)) {
        case 0:
        case 1:
        case 2:
        case 3:
                ip.family = 4;
                for (int i = 0; i < 4; i++)
                        ip.addr[i] = (uint8_t)prop_rnd();
                if (prop_below(8) == 0)
                        memset(ip.addr, prop_below(2) ? 0xff : 0, 4);
                break;
        case 4: /* IPv4-mapped */
                ip.family = 6;
                ip.addr[10] = ip.addr[11] = 0xff;
                for (int i = 12; i < 16; i++)
                        ip.addr[i] = (uint8_t)prop_rnd();
                break;
        case 5: /* ::, ::1, ::2, IPv4-compatible */
                ip.family = 6;
                switch (prop_below(4)) {
                case 0:
                        break;
                case 1:
                        ip.addr[15] = 1;
                        break;
                case 2:
                        ip.addr[15] = (uint8_t)prop_rnd();
                        break;
                default:
                        for (int i = 12; i < 16; i++)
                                ip.addr[i] = (uint8_t)prop_rnd();
                }
                break;
        case 6: /* link-local, no scope */
                ip.family = 6;
                ip.addr[0] = 0xfe;
                ip.addr[1] = 0x80;
                for (int i = 8; i < 16; i++)
                        ip.addr[i] = prop_below(3) ? (uint8_t)prop_rnd() : 0;
                break;
        default: /* groups zero with probability 1/3: runs of every length */
                ip.family = 6;
                for (int g = 0; g < 8; g++) {
                        if (prop_below(3) == 0)
                                continue;
                        ip.addr[2 * g] = prop_below(2) ? (uint8_t)prop_rnd() : 0;
                        ip.addr[2 * g + 1] = (uint8_t)prop_rnd();
                }
        }
        return ip;
}

/* Random text of 1 to maxlen - 1 bytes, valid UTF-8, from pieces that need escaping somewhere:
 * JSON (quotes, backslashes, control characters), URLs (space & # % + = ? /) and Arkime
 * expressions (quotes, backslashes, commas, brackets, operators, wildcards). ctl: also control
 * characters and DEL. */
static void prop_text(char *buf, size_t maxlen, int ctl) {
        /* clang-format off */
        static const char *const pieces[] = {
                "\"", "\\", " ", "&", "#", "%", "+", "=", "?", "/", ",", "[", "]", "(", ")", "!",
                "*", "'", "<", ">", ";", ":", "|", "~", "$", "@", "{", "}", "^", "`", "%2F",
                "%%", "%41", "\\\"", "\\\\", "\\,", "&&", "||", "==", "!=", "a", "Z", "0", "9",
                "-", "_", ".", "sensor", "EXISTS!", "ip.src", "caf\xc3\xa9", "\xc3\xbc",
                "\xe2\x82\xac", "\xe4\xb8\xad\xe6\x96\x87", "\xf0\x9d\x84\x9e", "\xc2\xa0",
                "\xe2\x80\xae", "\xef\xbb\xbf", "\xef\xbf\xbd", "\xf4\x8f\xbf\xbf"};
        static const char *const ctls[] = {"\t", "\n", "\r", "\x01", "\x1f", "\x7f", "\x1b[0m",
                                           "\x08", "\x0b", "\x0c"};
        /* clang-format on */
        size_t n = 0, want = 1 + prop_below(12);

        buf[0] = '\0';
        for (size_t k = 0; k < want || n == 0; k++) {
                const char *p = ctl && prop_below(6) == 0
                                        ? ctls[prop_below(sizeof(ctls) / sizeof(ctls[0]))]
                                        : pieces[prop_below(sizeof(pieces) / sizeof(pieces[0]))];
                size_t pl = strlen(p);

                if (n + pl + 1 > maxlen) {
                        if (n > 0)
                                break;
                        continue;
                }
                memcpy(buf + n, p, pl + 1);
                n += pl;
        }
}

/* v as a quoted Arkime value: a single value unescapes \" and \\; a quoted list element
 * drops every backslash, and ',' '[' ']' must be escaped there (the list is split first). */
static void prop_quote(char *out, size_t outlen, const char *v, int in_list) {
        size_t o = 0;

        out[o++] = '"';
        for (const char *p = v; *p != '\0'; p++) {
                if (*p == '"' || *p == '\\' || (in_list && (*p == ',' || *p == '[' || *p == ']')))
                        out[o++] = '\\';
                out[o++] = *p;
                assert_true(o + 2 < outlen);
        }
        out[o++] = '"';
        out[o] = '\0';
}

/* Decode %XX (upper or lower case hex; anything else stays) into a malloc'd string. */
static char *prop_pct_decode(const char *s, size_t n) {
        char *out = malloc(n + 1);
        size_t o = 0;

        assert_non_null(out);
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '%') {
                        if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
                                fail_msg("bad escape in '%.*s'", (int)n, s);
                        out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
                        i += 2;
                } else {
                        out[o++] = s[i];
                }
        }
        out[o] = '\0';
        return out;
}

static int64_t prop_floor_div(int64_t a, int64_t b) {
        int64_t q = a / b;

        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The viewer URL: the configured base (trailing '/' dropped), "/sessions?", then only RFC 3986
 * unreserved characters, '&', '=' and %XX; parameters expression (exactly when the alert has
 * one; it decodes to the alert's expression), startTime (window start, floored to seconds),
 * stopTime (window end, rounded up) and bounding=first, each once, nothing else. */
static void prop_check_url(const char *url, const char *base, const char *expr,
                           const fw_alert_t *a) {
        const char *q;
        int seen[4] = {0, 0, 0, 0};
        char want[32];

        if (strncmp(url, base, strlen(base)) != 0 ||
            strncmp(url + strlen(base), "/sessions?", 10) != 0)
                fail_msg("URL %s does not start with %s/sessions?", url, base);
        q = url + strlen(base) + 10;
        for (const char *p = q; *p != '\0'; p++) {
                char c = *p;

                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~' || c == '&' || c == '=')
                        continue;
                if (c == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
                        p += 2;
                        continue;
                }
                fail_msg("byte 0x%02x at %zu is not URL-safe in %s", (unsigned char)c,
                         (size_t)(p - url), url);
        }
        while (*q != '\0') {
                const char *amp = strchr(q, '&'), *eqs;
                size_t len = amp != NULL ? (size_t)(amp - q) : strlen(q);
                char *val;
                int k = -1;

                eqs = memchr(q, '=', len);
                if (eqs == NULL)
                        fail_msg("parameter without '=' in %s", url);
                val = prop_pct_decode(eqs + 1, len - (size_t)(eqs + 1 - q));
                if ((size_t)(eqs - q) == 10 && strncmp(q, "expression", 10) == 0) {
                        k = 0;
                        if (strcmp(val, expr) != 0)
                                fail_msg("expression parameter decodes to '%s', the alert has '%s'",
                                         val, expr);
                } else if ((size_t)(eqs - q) == 9 && strncmp(q, "startTime", 9) == 0) {
                        k = 1;
                        snprintf(want, sizeof(want), "%lld",
                                 (long long)prop_floor_div(a->window_start_ms, 1000));
                        assert_string_equal(val, want);
                } else if ((size_t)(eqs - q) == 8 && strncmp(q, "stopTime", 8) == 0) {
                        k = 2;
                        snprintf(want, sizeof(want), "%lld",
                                 (long long)-prop_floor_div(-a->window_end_ms, 1000));
                        assert_string_equal(val, want);
                } else if ((size_t)(eqs - q) == 8 && strncmp(q, "bounding", 8) == 0) {
                        k = 3;
                        assert_string_equal(val, "first");
                } else {
                        fail_msg("unexpected parameter '%.*s' in %s", (int)(eqs - q), q, url);
                }
                free(val);
                if (seen[k]++)
                        fail_msg("parameter repeated in %s", url);
                if (amp == NULL)
                        break;
                q = amp + 1;
        }
        assert_int_equal(seen[0], expr[0] != '\0');
        assert_true(seen[1] && seen[2] && seen[3]);
}

/* The address text from the JSON is ip, byte for byte. */
static void prop_check_ip(const char *what, const char *text, const fw_ip_t *ip) {
        fw_ip_t got;

        memset(&got, 0, sizeof(got));
        if (text == NULL || fw_ip_parse(text, &got) != 0 || !fw_ip_equal(&got, ip)) {
                char buf[FW_IP_STRLEN];

                fail_msg("%s is '%s', want %s", what, text != NULL ? text : "(none)",
                         fw_ip_format(ip, buf, sizeof(buf)));
        }
}

static void test_escaping_property(void **state) {
        static const char *const bases[][2] = {
                {"https://arkime.example:8005", "https://arkime.example:8005"},
                {"https://arkime.example:8005/", "https://arkime.example:8005"},
                {"http://[2001:db8::5]:8005/arkime//", "http://[2001:db8::5]:8005/arkime"},
                {"http://h", "http://h"},
        };
        const int iterations = 4000;
        int by_kind[FW_DET_RULE + 1] = {0}, port0 = 0, matched = 0;

        (void)state;
        prop_state = 0x6a09e667f3bcc908ULL;
        for (int it = 0; it < iterations; it++) {
                fw_det_kind_t kind = (fw_det_kind_t)prop_below(FW_DET_RULE + 1);
                fw_alert_t a = mk(kind == FW_DET_RULE ? FW_DET_SWEEP : kind);
                fw_rule_cfg_t r;
                fw_session_t s, other;
                fw_alert_json_opts_t o;
                char rule_name[48], node[FW_NODE_MAX + 1], cid[FW_COMMUNITY_ID_MAX + 1];
                char sid[FW_SESSION_ID_MAX + 1], observer[48], qv[512], rule_text[1200];
                char expr[4096 + 256];
                size_t bi = prop_below(sizeof(bases) / sizeof(bases[0]));
                const char *jexpr;
                json_t *j, *hosts;
                fw_expr_t *e;
                int n;

                memset(&r, 0, sizeof(r));
                prop_text(rule_name, sizeof(rule_name), prop_below(4) == 0);
                prop_text(node, sizeof(node), prop_below(3) == 0);
                prop_text(cid, sizeof(cid), 0);
                prop_text(sid, sizeof(sid), prop_below(4) == 0);
                prop_text(observer, sizeof(observer), prop_below(4) == 0);
                /* a value of only '*' is not a string in Arkime's syntax (EXISTS! is) */
                if (strspn(node, "*") == strlen(node))
                        snprintf(node, sizeof(node), "n*");
                if (strspn(cid, "*") == strlen(cid))
                        snprintf(cid, sizeof(cid), "c*");

                /* the key: random addresses and port; rule names are hostile for every kind */
                a.kind = kind;
                a.rule = rule_name;
                a.src = prop_ip();
                if (kind == FW_DET_PORTSCAN)
                        a.dst = prop_ip();
                if (kind == FW_DET_SWEEP_PORT) {
                        a.dport = prop_below(8) == 0 ? 0 : (uint16_t)prop_rnd();
                        port0 += a.dport == 0;
                }
                a.ntargets = prop_below(4);
                for (uint32_t i = 0; i < a.ntargets; i++)
                        a.targets[i] = prop_ip();
                a.window_start_ms = (int64_t)(prop_rnd() % 5000000000000ULL) - 1000000000000LL;
                a.window_end_ms = a.window_start_ms + (int64_t)prop_below(7200001);
                a.epoch_start_ms = a.window_start_ms;

                /* the session that raised it */
                fw_session_init(&s);
                snprintf(s.id, sizeof(s.id), "%s", sid);
                snprintf(s.node, sizeof(s.node), "%s", node);
                snprintf(s.community_id, sizeof(s.community_id), "%s", cid);
                s.src_ip = a.src;
                s.dst_ip = kind == FW_DET_PORTSCAN ? a.dst : prop_ip();
                s.src_port = (uint16_t)(1 + prop_below(65535));
                s.dst_port =
                        kind == FW_DET_SWEEP_PORT ? a.dport : (uint16_t)(1 + prop_below(65535));
                s.ip_protocol = kind == FW_DET_SWEEP_PORT && a.dport == 0 ? 1 : 6;
                s.first_packet_ms = a.window_end_ms;
                s.src_packets = 1;
                s.dst_packets = 0;
                a.trigger = &s;

                if (kind == FW_DET_RULE) {
                        /* a rule on the node or community id, written as Arkime would read it
                         * (a quoted single value cannot hold a line break: then a list) */
                        int form = prop_below(3);

                        if (form == 0 && strpbrk(node, "\r\n") == NULL) {
                                prop_quote(qv, sizeof(qv), node, 0);
                                snprintf(rule_text, sizeof(rule_text), "node == %s", qv);
                        } else if (form <= 1) {
                                prop_quote(qv, sizeof(qv), node, 1);
                                snprintf(rule_text, sizeof(rule_text),
                                         "node == [%s, \"other \\, node\"] && packets == 1", qv);
                        } else {
                                prop_quote(qv, sizeof(qv), cid, 0);
                                snprintf(rule_text, sizeof(rule_text),
                                         "communityId == %s || port.dst == 1-1024", qv);
                        }
                        r.name = rule_name;
                        if (prop_below(2))
                                r.title = observer; /* any text: the rules file's 'name' */
                        r.expr = compile_ok(rule_text);
                        r.threshold = 1;
                        r.severity = 50;
                        if (!fw_expr_match(r.expr, &s))
                                fail_msg("iteration %d: rule '%s' does not match its own session",
                                         it, rule_text);
                        a.rule_cfg = &r;
                }
                fw_alert_set_id(&a);
                by_kind[kind]++;

                o.viewer_url = bases[bi][0];
                o.observer = observer;
                o.created_ms = prop_below(2) ? -1 : (int64_t)prop_below(2000000000) * 1000;
                n = fw_alert_expression(&a, expr, sizeof(expr));
                assert_true(n >= 0);

                /* (i) the JSON parses and carries every value exactly */
                j = to_json(&a, &o);
                assert_string_equal(str_at(j, "event.id"), a.id);
                assert_string_equal(str_at(j, "rule.id"), rule_name);
                if (kind == FW_DET_RULE && r.title != NULL)
                        assert_string_equal(str_at(j, "rule.name"), r.title);
                else if (kind == FW_DET_RULE)
                        assert_true(strncmp(str_at(j, "rule.name"), "Sessions matching ", 18) == 0);
                assert_string_equal(str_at(j, "event.url"), str_at(j, "fanwatch.viewer_url"));
                assert_string_equal(str_at(j, "event.reference"), str_at(j, "fanwatch.viewer_url"));
                assert_string_equal(str_at(j, "observer.name"), observer);
                assert_string_equal(str_at(j, "fanwatch.trigger.session_id"), sid);
                assert_string_equal(str_at(j, "fanwatch.trigger.node"), node);
                assert_string_equal(str_at(j, "fanwatch.trigger.community_id"), cid);
                if (kind != FW_DET_SPIKE_TOTAL)
                        prop_check_ip("source.ip", str_at(j, "source.ip"), &a.src);
                if (kind == FW_DET_PORTSCAN)
                        prop_check_ip("destination.ip", str_at(j, "destination.ip"), &a.dst);
                if (kind == FW_DET_SWEEP_PORT)
                        assert_int_equal(int_at(j, "destination.port"), a.dport);
                hosts = at(j, "fanwatch.sample.hosts");
                assert_int_equal(json_array_size(hosts), a.ntargets);
                for (uint32_t i = 0; i < a.ntargets; i++)
                        prop_check_ip("fanwatch.sample.hosts[]",
                                      json_string_value(json_array_get(hosts, i)), &a.targets[i]);
                jexpr = n > 0 ? str_at(j, "fanwatch.expression") : "";
                if (n == 0)
                        assert_null(at(j, "fanwatch.expression"));
                assert_string_equal(jexpr, expr);

                /* (ii) the URL is URL-safe and its parameters decode to the alert's values */
                prop_check_url(str_at(j, "fanwatch.viewer_url"), bases[bi][1], expr, &a);

                /* (iii) the expression is Arkime syntax fanwatch parses, and selects the session
                 * that raised the alert and not one from another source (or to another host,
                 * for a port scan) */
                if (n > 0) {
                        char err[256];

                        e = fw_expr_compile(expr, err, sizeof(err));
                        if (e == NULL)
                                fail_msg("iteration %d: the alert's expression '%s' does not "
                                         "compile: %s",
                                         it, expr, err);
                        if (!fw_expr_match(e, &s))
                                fail_msg("iteration %d: '%s' does not select its trigger", it,
                                         expr);
                        matched++;
                        other = s;
                        do
                                other.src_ip = prop_ip();
                        while (fw_ip_equal(&other.src_ip, &s.src_ip));
                        if (fw_expr_match(e, &other))
                                fail_msg("iteration %d: '%s' selects another source", it, expr);
                        if (kind == FW_DET_PORTSCAN) {
                                other = s;
                                do
                                        other.dst_ip = prop_ip();
                                while (fw_ip_equal(&other.dst_ip, &s.dst_ip));
                                assert_false(fw_expr_match(e, &other));
                        }
                        if (kind == FW_DET_SWEEP_PORT) {
                                other = s;
                                other.dst_port = (uint16_t)(s.dst_port + 1 + prop_below(65535));
                                assert_false(fw_expr_match(e, &other));
                        }
                        fw_expr_free(e);
                }
                json_decref(j);
                if (r.expr != NULL)
                        fw_expr_free(r.expr);
        }
        printf("escaping: %d alerts (sweep %d, sweep_port %d of which port 0: %d, port_scan %d, "
               "spike %d, spike_total %d, rule %d); %d expressions selected their trigger\n",
               iterations, by_kind[FW_DET_SWEEP], by_kind[FW_DET_SWEEP_PORT], port0,
               by_kind[FW_DET_PORTSCAN], by_kind[FW_DET_SPIKE], by_kind[FW_DET_SPIKE_TOTAL],
               by_kind[FW_DET_RULE], matched);
}

/* FW_ALERT_EXAMPLE=1: print one alert per kind, for docs/alerts.md. */
static void print_examples(void) {
        fw_rule_cfg_t r = mk_rule("smb_probe", "port.dst == [139,445] && packets < 3", "T1021.002");
        fw_alert_json_opts_t o = {"https://arkime.example:8005", "fanwatch-detector-0",
                                  1716026470250LL};

        for (int k = 0; k <= FW_DET_RULE; k++) {
                fw_alert_t a = k == FW_DET_RULE ? mk_rule_alert(&r) : mk((fw_det_kind_t)k);
                char *s = fw_alert_json(&a, &o, NULL);

                printf("%s\n", s);
                free(s);
        }
        fw_expr_free(r.expr);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_id_deterministic),
                cmocka_unit_test(test_id_encoding),
                cmocka_unit_test(test_id_sensitive),
                cmocka_unit_test(test_expression_kinds),
                cmocka_unit_test(test_expression_ipv6),
                cmocka_unit_test(test_expression_selects_evidence),
                cmocka_unit_test(test_expression_small_buffer),
                cmocka_unit_test(test_viewer_url),
                cmocka_unit_test(test_viewer_url_hostile_rule),
                cmocka_unit_test(test_tag_fields),
                cmocka_unit_test(test_json_sweep_port),
                cmocka_unit_test(test_json_lateral_ports),
                cmocka_unit_test(test_json_portscan),
                cmocka_unit_test(test_json_spikes),
                cmocka_unit_test(test_json_rule),
                cmocka_unit_test(test_json_optional_omitted),
                cmocka_unit_test(test_failed_ratio),
                cmocka_unit_test(test_times),
                cmocka_unit_test(test_json_bad_utf8),
                cmocka_unit_test(test_schema),
                cmocka_unit_test(test_escaping_property),
        };
        int rc;

        if (getenv("FW_ALERT_EXAMPLE") != NULL) {
                print_examples();
                return 0;
        }
        schema_root = load_schema();
        rc = cmocka_run_group_tests(tests, NULL, NULL);
        json_decref(schema_root);
        return rc;
}
