/* arkime_page: Arkime /api/sessions response body -> fw_session_t array. See arkime_page.h.
 *
 * Field names were checked against Arkime's source (github.com/arkime/arkime):
 * - viewer/db.js `singletonFields` lists the fields the viewer un-arrays before replying, among
 *   them 'source.ip', 'source.port', 'source.packets', 'source.bytes', 'client.bytes', the same
 *   for destination/server, firstPacket, lastPacket, ipProtocol, node, rootId,
 *   'network.community_id' and 'tcpflags.syn', 'tcpflags.syn-ack', 'tcpflags.ack', 'tcpflags.psh',
 *   'tcpflags.fin', 'tcpflags.rst', 'tcpflags.urg', 'tcpflags.srcZero', 'tcpflags.dstZero'.
 *   `fixSessionFields` un-flattens dotted names into objects unless flatten=1, and Date.parse()s
 *   only firstPacket and lastPacket (its `dateFields`).
 * - capture/db.c writes "tcpflags":{"syn","syn-ack","ack","psh","fin","rst","urg","srcZero",
 *   "dstZero"}, the last two counting zero-window packets per direction (capture/parsers/tcp.c:
 *   th_win == 0 without RST increments tcpFlagCnt[..._SRC_ZERO + direction]).
 * - viewer/apiSessions.js getSessions sets `fields.id = Db.session2Sid(hit)` on every item, so the
 *   id comes back whatever fields= asks for; "id" is not a db field and is not requested.
 * - @timestamp is in neither list, so a viewer that fetches it through the search `fields` API may
 *   hand it back as ["2024-05-18T10:02:10.456Z"]; both that and ms numbers are accepted. */
#include "arkime_page.h"

#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char FW_ARKIME_FIELDS[] =
        "rootId,node,firstPacket,lastPacket,@timestamp,ipProtocol,"
        "source.ip,source.port,source.packets,source.bytes,"
        "destination.ip,destination.port,destination.packets,destination.bytes,"
        "client.bytes,server.bytes,network.community_id,"
        "tcpflags.syn,tcpflags.syn-ack,tcpflags.ack,tcpflags.psh,tcpflags.fin,tcpflags.rst,"
        "tcpflags.urg,tcpflags.srcZero,tcpflags.dstZero";

/* ---- field table ---- */

enum group { G_NONE, G_SOURCE, G_DESTINATION, G_NETWORK, G_CLIENT, G_SERVER, G_TCPFLAGS, G_N };

static const char *const group_names[G_N] = {
        NULL, "source", "destination", "network", "client", "server", "tcpflags",
};

enum kind {
        K_ID,      /* required non-empty string */
        K_STR,     /* optional string, "" when absent */
        K_TIME,    /* required ms epoch */
        K_DBTIME,  /* optional ms epoch or ISO-8601 text */
        K_IP,      /* required address text */
        K_PORT,    /* 0..65535, 0 when absent */
        K_PROTO,   /* required 0..255 */
        K_COUNTER, /* 0..2^53, FW_ABSENT when absent or -1 */
        K_FLAG,    /* 0..INT32_MAX, FW_ABSENT when absent or -1 */
};

typedef struct field_def {
        const char *name; /* db field name, also the flat (flatten=1) key */
        const char *leaf; /* key inside the group object when nested */
        uint8_t group;
        uint8_t kind;
        uint16_t size; /* string fields: buffer size */
        size_t offset; /* in fw_session_t */
} field_def_t;

#define F(name, leaf, group, kind, member)                                                         \
        {                                                                                          \
                name, leaf, group, kind, (uint16_t)sizeof(((fw_session_t *)0)->member),            \
                        offsetof(fw_session_t, member)                                             \
        }

/* id first, so that every later rejection can name the session. */
static const field_def_t fields[] = {
        F("id", "id", G_NONE, K_ID, id),
        F("rootId", "rootId", G_NONE, K_STR, root_id),
        F("node", "node", G_NONE, K_STR, node),
        F("firstPacket", "firstPacket", G_NONE, K_TIME, first_packet_ms),
        F("lastPacket", "lastPacket", G_NONE, K_TIME, last_packet_ms),
        F("@timestamp", "@timestamp", G_NONE, K_DBTIME, db_time_ms),
        F("ipProtocol", "ipProtocol", G_NONE, K_PROTO, ip_protocol),
        F("source.ip", "ip", G_SOURCE, K_IP, src_ip),
        F("source.port", "port", G_SOURCE, K_PORT, src_port),
        F("source.packets", "packets", G_SOURCE, K_COUNTER, src_packets),
        F("source.bytes", "bytes", G_SOURCE, K_COUNTER, src_bytes),
        F("destination.ip", "ip", G_DESTINATION, K_IP, dst_ip),
        F("destination.port", "port", G_DESTINATION, K_PORT, dst_port),
        F("destination.packets", "packets", G_DESTINATION, K_COUNTER, dst_packets),
        F("destination.bytes", "bytes", G_DESTINATION, K_COUNTER, dst_bytes),
        F("client.bytes", "bytes", G_CLIENT, K_COUNTER, src_databytes),
        F("server.bytes", "bytes", G_SERVER, K_COUNTER, dst_databytes),
        F("network.community_id", "community_id", G_NETWORK, K_STR, community_id),
        F("tcpflags.syn", "syn", G_TCPFLAGS, K_FLAG, tcpflags.syn),
        F("tcpflags.syn-ack", "syn-ack", G_TCPFLAGS, K_FLAG, tcpflags.syn_ack),
        F("tcpflags.ack", "ack", G_TCPFLAGS, K_FLAG, tcpflags.ack),
        F("tcpflags.psh", "psh", G_TCPFLAGS, K_FLAG, tcpflags.psh),
        F("tcpflags.fin", "fin", G_TCPFLAGS, K_FLAG, tcpflags.fin),
        F("tcpflags.rst", "rst", G_TCPFLAGS, K_FLAG, tcpflags.rst),
        F("tcpflags.urg", "urg", G_TCPFLAGS, K_FLAG, tcpflags.urg),
        F("tcpflags.srcZero", "srcZero", G_TCPFLAGS, K_FLAG, tcpflags.src_zero),
        F("tcpflags.dstZero", "dstZero", G_TCPFLAGS, K_FLAG, tcpflags.dst_zero),
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* ---- messages ---- */

__attribute__((format(printf, 3, 4))) static void put(char *buf, size_t n, const char *fmt, ...) {
        va_list ap;
        if (buf == NULL || n == 0)
                return;
        va_start(ap, fmt);
        vsnprintf(buf, n, fmt, ap);
        va_end(ap);
}

/* Copy at most max bytes of s (len bytes) into buf for a one-line message: control characters
 * become spaces, a cut falls on a UTF-8 character boundary and is marked with "...". */
static void clean_text(char *buf, size_t n, const char *s, size_t len, size_t max) {
        size_t take = len, i, o = 0;
        int cut = 0;

        if (n == 0)
                return;
        if (take > max) {
                take = max;
                while (take > 0 && ((unsigned char)s[take] & 0xC0) == 0x80)
                        take--; /* do not split a multi-byte character */
                cut = 1;
        }
        for (i = 0; i < take && o + 1 < n; i++) {
                unsigned char c = (unsigned char)s[i];
                buf[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
        }
        if (cut) {
                for (i = 0; i < 3 && o + 1 < n; i++)
                        buf[o++] = '.';
        }
        buf[o] = '\0';
}

/* A short description of a JSON value for a message: 42, 1e+300, string "abc", object, ... */
static void describe(const json_t *v, char *buf, size_t n) {
        char text[48];

        switch (json_typeof(v)) {
        case JSON_INTEGER:
                put(buf, n, "%lld", (long long)json_integer_value(v));
                break;
        case JSON_REAL:
                put(buf, n, "%.15g", json_real_value(v));
                break;
        case JSON_STRING:
                clean_text(text, sizeof(text), json_string_value(v), json_string_length(v), 40);
                put(buf, n, "string \"%s\"", text);
                break;
        case JSON_TRUE:
                put(buf, n, "true");
                break;
        case JSON_FALSE:
                put(buf, n, "false");
                break;
        case JSON_NULL:
                put(buf, n, "null");
                break;
        case JSON_OBJECT:
                put(buf, n, "an object");
                break;
        case JSON_ARRAY:
                put(buf, n, "an array");
                break;
        }
}

/* ---- value conversion ---- */

/* Result of reading one field. */
enum { V_OK = 0, V_ABSENT = 1, V_BAD = -1 };

/* Unwrap Arkime's singleton conventions: null and [] are absent, [x] is x, [x, y] is an error. */
static int singleton(json_t **v, char *why, size_t n) {
        if (*v == NULL || json_is_null(*v))
                return V_ABSENT;
        if (json_is_array(*v)) {
                size_t k = json_array_size(*v);
                if (k == 0)
                        return V_ABSENT;
                if (k > 1) {
                        put(why, n, "expected one value, got an array of %zu", k);
                        return V_BAD;
                }
                *v = json_array_get(*v, 0);
                if (json_is_null(*v))
                        return V_ABSENT;
        }
        return V_OK;
}

/* A JSON integer, or a real that is integral; then checked against lo..hi. */
static int get_int(const json_t *v, int64_t lo, int64_t hi, int64_t *out, char *why, size_t n) {
        char desc[64];
        int64_t i;

        if (json_is_integer(v)) {
                i = (int64_t)json_integer_value(v);
        } else if (json_is_real(v)) {
                double d = json_real_value(v);
                /* 2^63 is exact in a double; NaN fails both comparisons */
                if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
                        describe(v, desc, sizeof(desc));
                        put(why, n, "%s out of range %lld..%lld", desc, (long long)lo,
                            (long long)hi);
                        return V_BAD;
                }
                i = (int64_t)d;
                if ((double)i != d) {
                        describe(v, desc, sizeof(desc));
                        put(why, n, "%s is not an integer", desc);
                        return V_BAD;
                }
        } else {
                describe(v, desc, sizeof(desc));
                put(why, n, "expected a number, got %s", desc);
                return V_BAD;
        }
        if (i < lo || i > hi) {
                describe(v, desc, sizeof(desc));
                put(why, n, "%s out of range %lld..%lld", desc, (long long)lo, (long long)hi);
                return V_BAD;
        }
        *out = i;
        return V_OK;
}

static int get_str(const json_t *v, const char **s, size_t *len, char *why, size_t n) {
        char desc[64];

        if (!json_is_string(v)) {
                describe(v, desc, sizeof(desc));
                put(why, n, "expected a string, got %s", desc);
                return V_BAD;
        }
        *s = json_string_value(v);
        *len = json_string_length(v);
        return V_OK;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
        y -= m <= 2;
        const int64_t era = (y >= 0 ? y : y - 399) / 400;
        const int64_t yoe = y - era * 400;
        const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

/* Read exactly k digits at s[*pos]. */
static int digits(const char *s, size_t len, size_t *pos, int k, int *out) {
        int v = 0;
        for (int i = 0; i < k; i++) {
                if (*pos >= len || s[*pos] < '0' || s[*pos] > '9')
                        return -1;
                v = v * 10 + (s[(*pos)++] - '0');
        }
        *out = v;
        return 0;
}

static int expect(const char *s, size_t len, size_t *pos, char c) {
        if (*pos >= len || s[*pos] != c)
                return -1;
        (*pos)++;
        return 0;
}

/* "YYYY-MM-DDTHH:MM:SS[.fff...](Z|+HH:MM|-HH:MM)" -> ms since the epoch (fraction truncated). */
static int parse_iso8601_ms(const char *s, size_t len, int64_t *out) {
        static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int y, mo, d, h, mi, sec, ms = 0, oh = 0, om = 0, sign = 0;
        size_t pos = 0;

        if (digits(s, len, &pos, 4, &y) || expect(s, len, &pos, '-') ||
            digits(s, len, &pos, 2, &mo) || expect(s, len, &pos, '-') ||
            digits(s, len, &pos, 2, &d) || expect(s, len, &pos, 'T') ||
            digits(s, len, &pos, 2, &h) || expect(s, len, &pos, ':') ||
            digits(s, len, &pos, 2, &mi) || expect(s, len, &pos, ':') ||
            digits(s, len, &pos, 2, &sec))
                return -1;
        if (pos < len && s[pos] == '.') {
                int k = 0;
                pos++;
                while (pos < len && s[pos] >= '0' && s[pos] <= '9') {
                        if (k < 3)
                                ms = ms * 10 + (s[pos] - '0');
                        k++;
                        pos++;
                }
                if (k == 0 || k > 9)
                        return -1;
                for (; k < 3; k++)
                        ms *= 10;
        }
        if (pos < len && s[pos] == 'Z') {
                pos++;
        } else if (pos < len && (s[pos] == '+' || s[pos] == '-')) {
                sign = s[pos++] == '+' ? 1 : -1;
                if (digits(s, len, &pos, 2, &oh))
                        return -1;
                if (pos < len && s[pos] == ':')
                        pos++;
                if (digits(s, len, &pos, 2, &om) || oh > 23 || om > 59)
                        return -1;
        } else {
                return -1; /* no zone: local time of an unknown host */
        }
        if (pos != len || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
            sec > 59)
                return -1;
        if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
                return -1;
        int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
        t -= (int64_t)sign * (oh * 3600 + om * 60);
        *out = t * 1000 + ms;
        return 0;
}

/* ---- one item ---- */

/* The value of field f in item: from its group object when nested, else from the dotted key. */
static json_t *lookup(json_t *item, json_t *const groups[G_N], const field_def_t *f) {
        json_t *v = NULL;
        if (f->group != G_NONE && groups[f->group] != NULL)
                v = json_object_get(groups[f->group], f->leaf);
        if (v == NULL)
                v = json_object_get(item, f->name);
        return v;
}

/* Convert one field into s; returns V_OK (stored or absent) or V_BAD with why set. */
static int parse_field(fw_session_t *s, const field_def_t *f, json_t *v, char *why, size_t n) {
        char *base = (char *)s + f->offset;
        const char *str;
        size_t len;
        int64_t i;
        int rc = singleton(&v, why, n);

        if (rc == V_BAD)
                return V_BAD;
        if (rc == V_ABSENT) {
                switch (f->kind) {
                case K_ID:
                case K_TIME:
                case K_IP:
                case K_PROTO:
                        put(why, n, "missing");
                        return V_BAD;
                default:
                        return V_OK; /* fw_session_init already set "", 0 or FW_ABSENT */
                }
        }

        switch (f->kind) {
        case K_ID:
        case K_STR:
                if (get_str(v, &str, &len, why, n) != V_OK)
                        return V_BAD;
                if (f->kind == K_ID && len == 0) {
                        put(why, n, "empty");
                        return V_BAD;
                }
                if (fw_session_set_str(base, f->size, str, len) != 0) {
                        put(why, n, "too long (%zu bytes, max %u)", len, (unsigned)f->size - 1);
                        return V_BAD;
                }
                return V_OK;
        case K_IP:
                if (get_str(v, &str, &len, why, n) != V_OK)
                        return V_BAD;
                if (fw_ip_parse_n(str, len, (fw_ip_t *)(void *)base) != 0) {
                        char text[48];
                        clean_text(text, sizeof(text), str, len, 40);
                        put(why, n, "\"%s\" is not an IP address", text);
                        return V_BAD;
                }
                return V_OK;
        case K_DBTIME:
                if (json_is_string(v)) {
                        str = json_string_value(v);
                        len = json_string_length(v);
                        if (parse_iso8601_ms(str, len, &i) != 0 || i < 0 || i > FW_COUNTER_MAX) {
                                char text[48];
                                clean_text(text, sizeof(text), str, len, 40);
                                put(why, n, "\"%s\" is not an ISO-8601 time", text);
                                return V_BAD;
                        }
                        *(int64_t *)(void *)base = i;
                        return V_OK;
                }
                if (json_is_integer(v) && json_integer_value(v) == -1)
                        return V_OK; /* absent */
                if (get_int(v, 0, FW_COUNTER_MAX, &i, why, n) != V_OK)
                        return V_BAD;
                *(int64_t *)(void *)base = i;
                return V_OK;
        case K_TIME:
                if (get_int(v, 0, FW_COUNTER_MAX, &i, why, n) != V_OK)
                        return V_BAD;
                *(int64_t *)(void *)base = i;
                return V_OK;
        case K_PORT:
                if (get_int(v, 0, 65535, &i, why, n) != V_OK)
                        return V_BAD;
                *(uint16_t *)(void *)base = (uint16_t)i;
                return V_OK;
        case K_PROTO:
                if (get_int(v, 0, 255, &i, why, n) != V_OK)
                        return V_BAD;
                *(uint8_t *)(void *)base = (uint8_t)i;
                return V_OK;
        case K_COUNTER:
        case K_FLAG:
                if (json_is_integer(v) && json_integer_value(v) == -1)
                        return V_OK; /* Arkime's "absent" */
                if (json_is_real(v) && json_real_value(v) == -1.0)
                        return V_OK;
                if (f->kind == K_COUNTER) {
                        if (get_int(v, 0, FW_COUNTER_MAX, &i, why, n) != V_OK)
                                return V_BAD;
                        *(int64_t *)(void *)base = i;
                } else {
                        if (get_int(v, 0, INT32_MAX, &i, why, n) != V_OK)
                                return V_BAD;
                        *(int32_t *)(void *)base = (int32_t)i;
                }
                return V_OK;
        }
        return V_BAD;
}

/* Fill s from item; on failure write "session <id>: field '<name>': <why>" into msg (when msg is
 * not NULL) and return -1. */
static int parse_item(fw_session_t *s, json_t *item, size_t index, char *msg, size_t msglen) {
        json_t *groups[G_N];
        char why[160];

        for (int g = 1; g < G_N; g++) {
                groups[g] = json_object_get(item, group_names[g]);
                if (groups[g] != NULL && !json_is_object(groups[g]))
                        groups[g] = NULL; /* not nested: rely on the dotted keys */
        }
        groups[G_NONE] = NULL;

        fw_session_init(s);
        for (size_t k = 0; k < NFIELDS; k++) {
                const field_def_t *f = &fields[k];
                why[0] = '\0';
                if (parse_field(s, f, lookup(item, groups, f), why, sizeof(why)) == V_OK)
                        continue;
                if (msg != NULL) {
                        char id[FW_SESSION_ID_MAX + 4];
                        clean_text(id, sizeof(id), s->id, strlen(s->id), FW_SESSION_ID_MAX);
                        if (id[0] != '\0')
                                put(msg, msglen, "session %s: field '%s': %s", id, f->name, why);
                        else
                                put(msg, msglen, "data[%zu]: field '%s': %s", index, f->name, why);
                }
                return -1;
        }
        return 0;
}

/* ---- page ---- */

void fw_arkime_page_init(fw_arkime_page_t *p) {
        memset(p, 0, sizeof(*p));
        p->records_total = p->records_filtered = -1;
}

void fw_arkime_page_reset(fw_arkime_page_t *p) {
        p->count = 0;
        p->rejected = 0;
        p->records_total = p->records_filtered = -1;
        p->first_reject[0] = '\0';
}

void fw_arkime_page_free(fw_arkime_page_t *p) {
        free(p->sessions);
        fw_arkime_page_init(p);
}

/* Make room for at least n sessions, doubling. */
static int reserve(fw_arkime_page_t *p, size_t n) {
        size_t cap = p->cap ? p->cap : 64;
        fw_session_t *grown;

        if (n <= p->cap)
                return 0;
        while (cap < n) {
                if (cap > SIZE_MAX / 2 / sizeof(fw_session_t))
                        return -1;
                cap *= 2;
        }
        grown = realloc(p->sessions, cap * sizeof(fw_session_t));
        if (grown == NULL)
                return -1;
        p->sessions = grown;
        p->cap = cap;
        return 0;
}

static int64_t get_record_count(json_t *root, const char *key) {
        json_t *v = json_object_get(root, key);
        if (json_is_integer(v) && json_integer_value(v) >= 0)
                return (int64_t)json_integer_value(v);
        return -1;
}

static const char *type_name(const json_t *v) {
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
        case JSON_REAL:
                return "a number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        case JSON_NULL:
                break;
        }
        return "null";
}

/* Arkime reports failures with HTTP 200 and "error" (viewer/apiSessions.js getSessions), or
 * "bsqErr" in older viewers' /sessions.json (tests/api-sessions.t before 3.0 checks it). */
static int arkime_error(json_t *root, char *err, size_t errlen) {
        static const char *const keys[] = {"error", "bsqErr"};
        char text[FW_ARKIME_ERRTEXT_MAX + 4];

        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
                json_t *e = json_object_get(root, keys[k]);
                if (e == NULL || json_is_null(e))
                        continue;
                if (json_is_string(e))
                        clean_text(text, sizeof(text), json_string_value(e), json_string_length(e),
                                   FW_ARKIME_ERRTEXT_MAX);
                else
                        describe(e, text, sizeof(text));
                put(err, errlen, "arkime error: %s", text[0] ? text : "(empty message)");
                return -1;
        }
        return 0;
}

static int fail_root(fw_arkime_page_t *p, json_t *root) {
        json_decref(root);
        fw_arkime_page_reset(p);
        return -1;
}

int fw_arkime_page_parse(fw_arkime_page_t *p, const char *body, size_t len, char *err,
                         size_t errlen) {
        json_error_t jerr;
        json_t *root, *data;
        size_t n, i;

        fw_arkime_page_reset(p);
        if (err != NULL && errlen > 0)
                err[0] = '\0';
        if (body == NULL || len == 0) {
                put(err, errlen, "empty response body");
                return -1;
        }
        root = json_loadb(body, len, 0, &jerr);
        if (root == NULL) {
                put(err, errlen, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
                    jerr.text);
                return -1;
        }
        if (!json_is_object(root)) {
                put(err, errlen, "response is %s, not a JSON object", type_name(root));
                return fail_root(p, root);
        }
        if (arkime_error(root, err, errlen) != 0)
                return fail_root(p, root);
        data = json_object_get(root, "data");
        if (data == NULL) {
                put(err, errlen, "response has no \"data\" member");
                return fail_root(p, root);
        }
        if (!json_is_array(data)) {
                put(err, errlen, "\"data\" is %s, not an array", type_name(data));
                return fail_root(p, root);
        }
        n = json_array_size(data);
        for (i = 0; i < n; i++) {
                json_t *item = json_array_get(data, i);
                if (!json_is_object(item)) {
                        put(err, errlen, "data[%zu] is %s, not an object", i, type_name(item));
                        return fail_root(p, root);
                }
        }
        if (reserve(p, n) != 0) {
                put(err, errlen, "out of memory for %zu sessions", n);
                return fail_root(p, root);
        }

        for (i = 0; i < n; i++) {
                char *msg = p->rejected == 0 ? p->first_reject : NULL;
                if (parse_item(&p->sessions[p->count], json_array_get(data, i), i, msg,
                               sizeof(p->first_reject)) == 0)
                        p->count++;
                else
                        p->rejected++;
        }
        p->records_total = get_record_count(root, "recordsTotal");
        p->records_filtered = get_record_count(root, "recordsFiltered");
        json_decref(root);
        return 0;
}
