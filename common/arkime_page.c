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
 *   hand it back as ["2024-05-18T10:02:10.456Z"]; both that and ms numbers are accepted.
 *
 * Why cJSON, and what it was measured against: docs/benchmarks.md ("Arkime page parser: why
 * cJSON"). A bump arena behind cJSON_InitHooks takes cJSON's ~60 malloc/free per item; the hooks
 * are process-wide, installed once, and route to the arena only inside a parse on the calling
 * thread; elsewhere they are plain malloc/free, so any other cJSON user in the process is
 * unaffected. Extraction is a single pass: each key of an item is dispatched once (switch on
 * length and a byte or two, exact and case-sensitive, unlike cJSON_GetObjectItem) to its field
 * slot; no lookup per field.
 *
 * What the switch costs, and how it is handled:
 * - Numbers: cJSON keeps only a double, so integers are exact up to 2^53 = FW_COUNTER_MAX. The
 *   rule stays "integral and in range", applied to that double: 1.5 is rejected, 445.0 is 445,
 *   9007199254740994 is out of range; but 9007199254740993 rounds to 2^53 and is accepted as the
 *   limit, and a literal beyond 64 bits (18446744073709551616) no longer fails the whole page
 *   (jansson: "too big integer"): it is out of range and rejects just its item. -1 and -1.0 are
 *   the same double, so both mean "absent" wherever -1 does (counters, flags, @timestamp), and
 *   recordsTotal 5.0 now counts as 5. For the producer nothing real changes: the viewer is
 *   JavaScript, so every number it sends has already been a double, and Arkime's counters and ms
 *   times are far below 2^53.
 * - cJSON parses strings into NUL-terminated copies and turns "\u0000" -- and a \u escape with
 *   bad hex digits -- into a NUL that would cut the string short; a raw NUL byte is copied
 *   likewise. jansson refused all three, and so do we: after a successful parse the body is
 *   scanned once for them (memchr, a few % of parse time) and the page fails as not JSON.
 * - cJSON does not check UTF-8. The strings that are kept (id, rootId, node, community id) are
 *   checked here; an invalid one rejects its item (jansson failed the whole page). Invalid
 *   UTF-8 in fields we ignore now passes, as do raw control characters (inside strings, and as
 *   blanks between tokens) and a few non-JSON number spellings cJSON's strtod allows ("01", "1.",
 *   "-.5").
 * - cJSON accepts any value at the top level, so "data" (a bare string) is reported as "response
 *   is a string, not a JSON object" rather than as invalid JSON.
 * - Syntax errors are "not JSON at byte N: ..." with N the 0-based offset where cJSON stopped
 *   (its return_parse_end; cJSON_GetErrorPtr is process-global and racy, so it is not used).
 *   cJSON gives no reason text and stops at or just after the offending byte; out of memory
 *   inside cJSON is indistinguishable from a syntax error and is reported the same way.
 * - Input is read through cJSON_ParseWithLengthOpts(body, len, &end, 0) only: nothing past len
 *   is touched (the body need not be NUL-terminated; tests/unit/test_arkime_page.c parses every
 *   prefix of a body in an exact-size heap buffer and ending at a PROT_NONE page). That needs a
 *   cJSON with its length-bounds fixes: 1.7.15 as released reads a byte past the end of some
 *   truncated input (cJSON issue #800, '{"1":1,'); later upstream releases fix it, and so does
 *   Debian bookworm's 1.7.15-1+deb12u3 (changelog: CVE-2023-53154, heap buffer overflow). The
 *   guard-page test faults on a library without the fix. CJSON_NESTING_LIMIT (1000 open
 * arrays/objects) bounds cJSON's recursion and that of cJSON_Delete; jansson's limit was 2048.
 * - cJSON_ParseWithLengthOpts also writes that global error slot on every call, so parses in two
 *   threads at once are a (harmless to us) data race; the producer parses in its poller thread,
 *   or in its OpenSearch stream threads (one parse per thread at a time).
 * - OpenSearch answers are not parsed as one tree but walked a hit at a time (below, "search
 *   answers"): a hit's tree lives only while its session is extracted. */
#include "arkime_page.h"
#include "session_fields.h"
#include "timeutil.h"
#include "utf8.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* ---- fields: common/session_fields.h, in its (wire) order ---- */

/* Every db field but "id" (not a db field: the viewer adds it to each item), comma-separated. The
 * list is built with a comma before each name and handed out from its second byte. */
#define FETCH_FW_FK_ID(name)
#define FETCH_FW_FK_STR(name)     "," name
#define FETCH_FW_FK_TIME(name)    "," name
#define FETCH_FW_FK_DBTIME(name)  "," name
#define FETCH_FW_FK_IP(name)      "," name
#define FETCH_FW_FK_PORT(name)    "," name
#define FETCH_FW_FK_PROTO(name)   "," name
#define FETCH_FW_FK_COUNTER(name) "," name
#define FETCH_FW_FK_FLAG(name)    "," name

#define FW_SF_FETCH_(name, member, kind, arkime, wire, expr) FETCH_##kind(arkime)
static const char fetch_list[] = "" FW_SESSION_FIELDS(FW_SF_FETCH_);
#undef FW_SF_FETCH_
const char *const FW_ARKIME_FIELDS = fetch_list + 1;

/* Fields are converted in table order (fw_session_fields): id first, so that every later
 * rejection can name the session; the order decides which error a bad item reports. Keys are
 * dispatched by the switches below (checked against the table by tests/unit/test_session_fields.c).
 */

/* Objects an item may nest fields in ("source":{"ip":...}); flatten=1 spells them "source.ip". */
enum group { G_NONE, G_SOURCE, G_DESTINATION, G_NETWORK, G_CLIENT, G_SERVER, G_TCPFLAGS, G_N };

_Static_assert(FW_SF_COUNT <= 32, "seen-field masks are 32 bits");

/* ---- key dispatch: exact, case-sensitive byte comparison, as jansson's object lookup was ---- */

/* Inside a function with `const char *k` and `size_t len`: does the key equal the literal? */
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(k, lit, sizeof(lit) - 1) == 0)

/* The group a key names ("source"), or G_NONE. */
static int group_key(const char *k, size_t len) {
        switch (len) {
        case 6:
                if (IS("source"))
                        return G_SOURCE;
                if (IS("server"))
                        return G_SERVER;
                return IS("client") ? G_CLIENT : G_NONE;
        case 7:
                return IS("network") ? G_NETWORK : G_NONE;
        case 8:
                return IS("tcpflags") ? G_TCPFLAGS : G_NONE;
        case 11:
                return IS("destination") ? G_DESTINATION : G_NONE;
        }
        return G_NONE;
}

/* The field a key names inside group g ("port" in "source"), or -1. */
static int leaf_key(int g, const char *k, size_t len) {
        switch (g) {
        case G_SOURCE:
        case G_DESTINATION: {
                int src = g == G_SOURCE;
                switch (len) {
                case 2:
                        return IS("ip") ? (src ? FW_SF_SRC_IP : FW_SF_DST_IP) : -1;
                case 4:
                        return IS("port") ? (src ? FW_SF_SRC_PORT : FW_SF_DST_PORT) : -1;
                case 7:
                        return IS("packets") ? (src ? FW_SF_SRC_PACKETS : FW_SF_DST_PACKETS) : -1;
                case 5:
                        return IS("bytes") ? (src ? FW_SF_SRC_BYTES : FW_SF_DST_BYTES) : -1;
                }
                return -1;
        }
        case G_CLIENT:
                return IS("bytes") ? FW_SF_SRC_DATABYTES : -1;
        case G_SERVER:
                return IS("bytes") ? FW_SF_DST_DATABYTES : -1;
        case G_NETWORK:
                return IS("community_id") ? FW_SF_COMMUNITY_ID : -1;
        case G_TCPFLAGS:
                if (len == 3) {
                        switch (k[0]) {
                        case 's':
                                return IS("syn") ? FW_SF_SYN : -1;
                        case 'a':
                                return IS("ack") ? FW_SF_ACK : -1;
                        case 'p':
                                return IS("psh") ? FW_SF_PSH : -1;
                        case 'f':
                                return IS("fin") ? FW_SF_FIN : -1;
                        case 'r':
                                return IS("rst") ? FW_SF_RST : -1;
                        case 'u':
                                return IS("urg") ? FW_SF_URG : -1;
                        }
                } else if (len == 7) {
                        if (IS("syn-ack"))
                                return FW_SF_SYN_ACK;
                        if (IS("srcZero"))
                                return FW_SF_SRC_ZERO;
                        if (IS("dstZero"))
                                return FW_SF_DST_ZERO;
                }
                return -1;
        }
        return -1;
}

/* The field a top-level key without a dot names ("firstPacket"), or -1. */
static int top_key(const char *k, size_t len) {
        switch (len) {
        case 2:
                return IS("id") ? FW_SF_ID : -1;
        case 4:
                return IS("node") ? FW_SF_NODE : -1;
        case 6:
                return IS("rootId") ? FW_SF_ROOT_ID : -1;
        case 10:
                switch (k[0]) {
                case 'l':
                        return IS("lastPacket") ? FW_SF_LAST_PACKET : -1;
                case '@':
                        return IS("@timestamp") ? FW_SF_DB_TIME : -1;
                case 'i':
                        return IS("ipProtocol") ? FW_SF_PROTOCOL : -1;
                }
                return -1;
        case 11:
                return IS("firstPacket") ? FW_SF_FIRST_PACKET : -1;
        }
        return -1;
}

#undef IS

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

/* cJSON's type, without the flag bits (the cJSON_Is* helpers are calls into the shared library). */
static inline int type_of(const cJSON *v) {
        return v->type & 0xFF;
}

#define TWO_63 9223372036854775808.0 /* exact in a double */

/* A number for a message: integral values within int64 as integers, others as %.15g. */
static void describe_number(double d, char *buf, size_t n) {
        if (d >= -TWO_63 && d < TWO_63 && (double)(int64_t)d == d)
                put(buf, n, "%lld", (long long)(int64_t)d);
        else
                put(buf, n, "%.15g", d);
}

/* A short description of a JSON value for a message: 42, 1e+300, string "abc", object, ... */
static void describe(const cJSON *v, char *buf, size_t n) {
        char text[48];

        switch (type_of(v)) {
        case cJSON_Number:
                describe_number(v->valuedouble, buf, n);
                break;
        case cJSON_String:
                clean_text(text, sizeof(text), v->valuestring, strlen(v->valuestring), 40);
                put(buf, n, "string \"%s\"", text);
                break;
        case cJSON_True:
                put(buf, n, "true");
                break;
        case cJSON_False:
                put(buf, n, "false");
                break;
        case cJSON_Object:
                put(buf, n, "an object");
                break;
        case cJSON_Array:
                put(buf, n, "an array");
                break;
        default:
                put(buf, n, "null");
                break;
        }
}

static const char *type_name(const cJSON *v) {
        switch (type_of(v)) {
        case cJSON_Object:
                return "an object";
        case cJSON_Array:
                return "an array";
        case cJSON_String:
                return "a string";
        case cJSON_Number:
                return "a number";
        case cJSON_True:
        case cJSON_False:
                return "a boolean";
        }
        return "null";
}

/* ---- value conversion ---- */

/* Result of reading one field. */
enum { V_OK = 0, V_ABSENT = 1, V_BAD = -1 };

/* Unwrap Arkime's singleton conventions: null and [] are absent, [x] is x, [x, y] is an error. */
static int singleton(const cJSON **v, char *why, size_t n) {
        if (*v == NULL || type_of(*v) == cJSON_NULL)
                return V_ABSENT;
        if (type_of(*v) == cJSON_Array) {
                const cJSON *first = (*v)->child;
                if (first == NULL)
                        return V_ABSENT;
                if (first->next != NULL) {
                        size_t k = 0;
                        for (const cJSON *e = first; e != NULL; e = e->next)
                                k++;
                        put(why, n, "expected one value, got an array of %zu", k);
                        return V_BAD;
                }
                *v = first;
                if (type_of(*v) == cJSON_NULL)
                        return V_ABSENT;
        }
        return V_OK;
}

/* An integral number, checked against lo..hi. cJSON holds every number as a double, so this is
 * exact up to 2^53 (FW_COUNTER_MAX); larger literals arrive rounded. */
static int get_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out, char *why, size_t n) {
        char desc[64];
        double d;
        int64_t i;

        if (type_of(v) != cJSON_Number) {
                describe(v, desc, sizeof(desc));
                put(why, n, "expected a number, got %s", desc);
                return V_BAD;
        }
        d = v->valuedouble;
        /* NaN fails both comparisons (cJSON cannot produce one, but a cast of it would be UB) */
        if (!(d >= -TWO_63 && d < TWO_63)) {
                describe_number(d, desc, sizeof(desc));
                put(why, n, "%s out of range %lld..%lld", desc, (long long)lo, (long long)hi);
                return V_BAD;
        }
        i = (int64_t)d;
        if ((double)i != d) {
                describe_number(d, desc, sizeof(desc));
                put(why, n, "%s is not an integer", desc);
                return V_BAD;
        }
        if (i < lo || i > hi) {
                describe_number(d, desc, sizeof(desc));
                put(why, n, "%s out of range %lld..%lld", desc, (long long)lo, (long long)hi);
                return V_BAD;
        }
        *out = i;
        return V_OK;
}

/* Arkime's "absent" marker for a counter: -1 (cJSON cannot tell -1 from -1.0). */
static int is_minus_one(const cJSON *v) {
        return type_of(v) == cJSON_Number && v->valuedouble == -1.0;
}

static int get_str(const cJSON *v, const char **s, size_t *len, char *why, size_t n) {
        char desc[64];

        if (type_of(v) != cJSON_String) {
                describe(v, desc, sizeof(desc));
                put(why, n, "expected a string, got %s", desc);
                return V_BAD;
        }
        *s = v->valuestring;
        *len = strlen(v->valuestring);
        return V_OK;
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
        int64_t t = fw_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
        t -= (int64_t)sign * (oh * 3600 + om * 60);
        *out = t * 1000 + ms;
        return 0;
}

/* ---- one item ---- */

/* Convert one field into s; returns V_OK (stored or absent) or V_BAD with why set. */
static int parse_field(fw_session_t *s, const fw_session_field_t *f, const cJSON *v, char *why,
                       size_t n) {
        char *base = (char *)s + f->offset;
        const char *str;
        size_t len;
        int64_t i;
        int rc = singleton(&v, why, n);

        if (rc == V_BAD)
                return V_BAD;
        if (rc == V_ABSENT) {
                switch (f->kind) {
                case FW_FK_ID:
                case FW_FK_TIME:
                case FW_FK_IP:
                case FW_FK_PROTO:
                        put(why, n, "missing");
                        return V_BAD;
                default:
                        return V_OK; /* fw_session_init already set "", 0 or FW_ABSENT */
                }
        }

        switch (f->kind) {
        case FW_FK_ID:
        case FW_FK_STR:
                if (get_str(v, &str, &len, why, n) != V_OK)
                        return V_BAD;
                if (f->kind == FW_FK_ID && len == 0) {
                        put(why, n, "empty");
                        return V_BAD;
                }
                if (len >= f->size) {
                        put(why, n, "too long (%zu bytes, max %u)", len, (unsigned)f->size - 1);
                        return V_BAD;
                }
                if (!fw_utf8_valid(str, NULL)) {
                        put(why, n, "not valid UTF-8");
                        return V_BAD;
                }
                if (fw_session_set_str(base, f->size, str, len) != 0) {
                        put(why, n, "too long (%zu bytes, max %u)", len, (unsigned)f->size - 1);
                        return V_BAD;
                }
                return V_OK;
        case FW_FK_IP:
                if (get_str(v, &str, &len, why, n) != V_OK)
                        return V_BAD;
                if (fw_ip_parse_n(str, len, (fw_ip_t *)(void *)base) != 0) {
                        char text[48];
                        clean_text(text, sizeof(text), str, len, 40);
                        put(why, n, "\"%s\" is not an IP address", text);
                        return V_BAD;
                }
                return V_OK;
        case FW_FK_DBTIME:
                if (type_of(v) == cJSON_String) {
                        str = v->valuestring;
                        len = strlen(str);
                        if (parse_iso8601_ms(str, len, &i) != 0 || i < 0 || i > FW_COUNTER_MAX) {
                                char text[48];
                                clean_text(text, sizeof(text), str, len, 40);
                                put(why, n, "\"%s\" is not an ISO-8601 time", text);
                                return V_BAD;
                        }
                        *(int64_t *)(void *)base = i;
                        return V_OK;
                }
                if (is_minus_one(v))
                        return V_OK; /* absent */
                if (get_int(v, 0, FW_COUNTER_MAX, &i, why, n) != V_OK)
                        return V_BAD;
                *(int64_t *)(void *)base = i;
                return V_OK;
        case FW_FK_TIME:
                if (get_int(v, 0, FW_COUNTER_MAX, &i, why, n) != V_OK)
                        return V_BAD;
                *(int64_t *)(void *)base = i;
                return V_OK;
        case FW_FK_PORT:
                if (get_int(v, 0, 65535, &i, why, n) != V_OK)
                        return V_BAD;
                *(uint16_t *)(void *)base = (uint16_t)i;
                return V_OK;
        case FW_FK_PROTO:
                if (get_int(v, 0, 255, &i, why, n) != V_OK)
                        return V_BAD;
                *(uint8_t *)(void *)base = (uint8_t)i;
                return V_OK;
        case FW_FK_COUNTER:
        case FW_FK_FLAG:
                if (is_minus_one(v))
                        return V_OK; /* Arkime's "absent" */
                if (f->kind == FW_FK_COUNTER) {
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

/* Where an item's fields are: one pass over its keys fills these. Slots are only read when their
 * bit is set. For a duplicated key the last one wins, as it did with jansson. */
typedef struct item_keys {
        const cJSON *flat[FW_SF_COUNT];   /* "source.port" */
        const cJSON *nested[FW_SF_COUNT]; /* "source":{"port":...} */
        const cJSON *group[G_N];          /* the last "source" member, whatever its type */
        uint32_t seen_flat, seen_nested, seen_group;
} item_keys_t;

static void scan_item(const cJSON *item, item_keys_t *ik) {
        ik->seen_flat = ik->seen_nested = ik->seen_group = 0;
        for (const cJSON *c = item->child; c != NULL; c = c->next) {
                const char *k = c->string, *dot;
                size_t len;
                int f, g;

                if (k == NULL)
                        continue;
                len = strlen(k);
                dot = memchr(k, '.', len);
                if (dot == NULL) {
                        if ((f = top_key(k, len)) >= 0) {
                                ik->flat[f] = c;
                                ik->seen_flat |= 1u << f;
                        } else if ((g = group_key(k, len)) != G_NONE) {
                                ik->group[g] = c;
                                ik->seen_group |= 1u << g;
                        }
                } else if ((g = group_key(k, (size_t)(dot - k))) != G_NONE &&
                           (f = leaf_key(g, dot + 1, len - (size_t)(dot - k) - 1)) >= 0) {
                        ik->flat[f] = c;
                        ik->seen_flat |= 1u << f;
                }
        }
        /* the group objects that survived (not nested: rely on the dotted keys) */
        for (int g = G_NONE + 1; g < G_N; g++) {
                if (!(ik->seen_group & (1u << g)) || type_of(ik->group[g]) != cJSON_Object)
                        continue;
                for (const cJSON *c = ik->group[g]->child; c != NULL; c = c->next) {
                        int f;
                        if (c->string != NULL &&
                            (f = leaf_key(g, c->string, strlen(c->string))) >= 0) {
                                ik->nested[f] = c;
                                ik->seen_nested |= 1u << f;
                        }
                }
        }
}

/* Fill s from item; on failure write "session <id>: field '<name>': <why>" into msg (when msg is
 * not NULL) and return -1. */
static int parse_item(fw_session_t *s, const cJSON *item, size_t index, char *msg, size_t msglen) {
        item_keys_t ik;
        char why[160];

        scan_item(item, &ik);
        fw_session_init(s);
        for (int k = 0; k < FW_SF_COUNT; k++) {
                const fw_session_field_t *f = &fw_session_fields[k];
                const cJSON *v = NULL;
                /* the nested value wins when an item carries both forms */
                if (ik.seen_nested & (1u << k))
                        v = ik.nested[k];
                else if (ik.seen_flat & (1u << k))
                        v = ik.flat[k];
                why[0] = '\0';
                if (parse_field(s, f, v, why, sizeof(why)) == V_OK)
                        continue;
                if (msg != NULL) {
                        char id[FW_SESSION_ID_MAX + 4];
                        clean_text(id, sizeof(id), s->id, strlen(s->id), FW_SESSION_ID_MAX);
                        if (id[0] != '\0')
                                put(msg, msglen, "session %s: field '%s': %s", id, f->arkime, why);
                        else
                                put(msg, msglen, "data[%zu]: field '%s': %s", index, f->arkime,
                                    why);
                }
                return -1;
        }
        return 0;
}

/* ---- arena ----
 * While a page is parsed, every cJSON node and string comes from a bump arena owned by the page
 * (16-byte aligned, 1 MiB chunks kept for the next page) and cJSON's frees are no-ops; the
 * whole tree is dropped at once by rewinding the arena. The hooks find the arena through a
 * thread-local pointer that is set only for the duration of one parse. */

typedef struct arena_chunk {
        struct arena_chunk *next;
        size_t cap, used;
        _Alignas(16) unsigned char data[];
} arena_chunk_t;

typedef struct page_arena {
        arena_chunk_t *head; /* first chunk */
        arena_chunk_t *cur;  /* chunk being filled */
} page_arena_t;

#define ARENA_CHUNK ((size_t)1 << 20)

static _Thread_local page_arena_t *current_arena;

static void *arena_alloc(page_arena_t *a, size_t n) {
        n = (n + 15) & ~(size_t)15;
        for (;;) {
                arena_chunk_t *c = a->cur;
                if (c && c->cap - c->used >= n) {
                        void *ptr = c->data + c->used;
                        c->used += n;
                        return ptr;
                }
                if (c && c->next && c->next->cap >= n) { /* reuse a chunk of an earlier page */
                        a->cur = c->next;
                        a->cur->used = 0;
                        continue;
                }
                size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
                arena_chunk_t *fresh = malloc(sizeof(*fresh) + cap);
                if (!fresh)
                        return NULL;
                fresh->cap = cap;
                fresh->used = 0;
                if (c) { /* insert after the current chunk; later chunks stay for reuse */
                        fresh->next = c->next;
                        c->next = fresh;
                } else {
                        fresh->next = a->head;
                        a->head = fresh;
                }
                a->cur = fresh;
        }
}

static void arena_rewind(page_arena_t *a) {
        if (!a)
                return;
        a->cur = a->head;
        if (a->head)
                a->head->used = 0;
}

static void arena_release(page_arena_t *a) {
        for (arena_chunk_t *c = a->head, *next; c; c = next) {
                next = c->next;
                free(c);
        }
        a->head = a->cur = NULL;
}

static void *hook_malloc(size_t n) {
        return current_arena ? arena_alloc(current_arena, n) : malloc(n);
}

static void hook_free(void *ptr) {
        if (!current_arena)
                free(ptr);
}

static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static void install_hooks(void) {
        cJSON_Hooks h = {hook_malloc, hook_free};
        cJSON_InitHooks(&h);
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
        if (p->arena) {
                arena_release(p->arena);
                free(p->arena);
        }
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

/* recordsTotal / recordsFiltered: a non-negative integral number, else -1. */
static int64_t get_record_count(const cJSON *v) {
        if (v != NULL && type_of(v) == cJSON_Number && v->valuedouble >= 0 &&
            v->valuedouble < TWO_63 && (double)(int64_t)v->valuedouble == v->valuedouble)
                return (int64_t)v->valuedouble;
        return -1;
}

/* Arkime reports failures with HTTP 200 and "error" (viewer/apiSessions.js getSessions), or
 * "bsqErr" in older viewers' /sessions.json (tests/api-sessions.t before 3.0 checks it). */
static int arkime_error(const cJSON *const errs[2], char *err, size_t errlen) {
        char text[FW_ARKIME_ERRTEXT_MAX + 4];

        for (size_t k = 0; k < 2; k++) {
                const cJSON *e = errs[k];
                if (e == NULL || type_of(e) == cJSON_NULL)
                        continue;
                if (type_of(e) == cJSON_String)
                        clean_text(text, sizeof(text), e->valuestring, strlen(e->valuestring),
                                   FW_ARKIME_ERRTEXT_MAX);
                else
                        describe(e, text, sizeof(text));
                put(err, errlen, "arkime error: %s", text[0] ? text : "(empty message)");
                return -1;
        }
        return 0;
}

/* "not JSON at byte 20: syntax error near ']}' (body is 22 bytes)" */
static void not_json(char *err, size_t errlen, const char *body, size_t len, size_t off,
                     const char *what) {
        char near[40];

        if (off >= len) /* cannot happen: cJSON clamps its offset to len - 1 */
                off = len - 1;
        clean_text(near, sizeof(near), body + off, len - off, 24);
        put(err, errlen, "not JSON at byte %zu: %s near '%s' (body is %zu byte%s)", off, what, near,
            len, len == 1 ? "" : "s");
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* In text cJSON accepted (len bytes), find what it would silently turn into a NUL inside a
 * string: "\u0000", a \u escape with bad hex digits, a raw NUL byte. Returns its offset and sets
 * *what, or returns len. Every backslash of valid JSON is in a string and starts an escape, so
 * stepping over escapes from one backslash to the next sees them all. */
static size_t find_nul(const char *s, size_t len, const char **what) {
        const char *nul = memchr(s, '\0', len);
        size_t limit = nul != NULL ? (size_t)(nul - s) : len;
        size_t i = 0;

        for (;;) {
                const char *q = memchr(s + i, '\\', limit - i);
                if (q == NULL)
                        break;
                i = (size_t)(q - s);
                if (i + 1 < limit && s[i + 1] == 'u') {
                        unsigned cp = 0;
                        if (i + 6 > limit) {
                                *what = "invalid \\u escape";
                                return i;
                        }
                        for (size_t k = 2; k < 6; k++) {
                                int h = hexval(s[i + k]);
                                if (h < 0) {
                                        *what = "invalid \\u escape";
                                        return i;
                                }
                                cp = cp << 4 | (unsigned)h;
                        }
                        if (cp == 0) {
                                *what = "\\u0000 (NUL) in a string";
                                return i;
                        }
                        i += 6;
                } else {
                        i += 2;
                }
                if (i >= limit)
                        break;
        }
        if (nul != NULL) {
                *what = "NUL byte";
                return limit;
        }
        return len;
}

/* Parse text (len bytes, no NUL needed) into a cJSON tree in the page's arena: one JSON value
 * and nothing after it but blanks, no string cJSON would silently cut at a NUL. NULL with err
 * otherwise. The tree lives until the next arena_rewind. */
/* The page's arena, created on first use and rewound, the cJSON hooks installed; -1 with err
 * when out of memory. */
static int arena_begin(fw_arkime_page_t *p, char *err, size_t errlen) {
        pthread_once(&hooks_once, install_hooks);
        if (!p->arena && !(p->arena = calloc(1, sizeof(page_arena_t)))) {
                put(err, errlen, "out of memory");
                return -1;
        }
        arena_rewind(p->arena);
        return 0;
}

static cJSON *parse_in_arena(fw_arkime_page_t *p, const char *text, size_t len, char *err,
                             size_t errlen) {
        const char *end = NULL, *what = NULL;
        size_t off, i;

        if (arena_begin(p, err, errlen) != 0)
                return NULL;
        /* reads text[0..len) only: the length bounds every access, no NUL terminator needed */
        current_arena = p->arena;
        cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
        current_arena = NULL;
        if (root == NULL) {
                off = end != NULL && end >= text && end < text + len ? (size_t)(end - text) : 0;
                not_json(err, errlen, text, len, off, "syntax error");
                return NULL;
        }
        /* with require_null_terminated = 0, cJSON stops after the value: the rest must be blank */
        off = end != NULL && end >= text && end <= text + len ? (size_t)(end - text) : len;
        for (i = off; i < len; i++) {
                if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r') {
                        not_json(err, errlen, text, len, i, "data after the JSON value");
                        return NULL;
                }
        }
        if ((i = find_nul(text, off, &what)) < off) {
                not_json(err, errlen, text, len, i, what);
                return NULL;
        }
        return root;
}

/* The start of both response parsers: reset p, clear err, parse body into a tree in p's arena
 * that must be a JSON object. NULL with err (p empty, the arena rewound) otherwise. */
static cJSON *parse_response(fw_arkime_page_t *p, const char *body, size_t len, char *err,
                             size_t errlen) {
        fw_arkime_page_reset(p);
        if (err != NULL && errlen > 0)
                err[0] = '\0';
        if (body == NULL || len == 0) {
                put(err, errlen, "empty response body");
                return NULL;
        }
        cJSON *root = parse_in_arena(p, body, len, err, errlen);
        if (root != NULL && type_of(root) != cJSON_Object) {
                put(err, errlen, "response is %s, not a JSON object", type_name(root));
                root = NULL;
        }
        if (root == NULL) {
                arena_rewind(p->arena);
                fw_arkime_page_reset(p);
        }
        return root;
}

int fw_arkime_page_parse(fw_arkime_page_t *p, const char *body, size_t len, char *err,
                         size_t errlen) {
        const cJSON *errs[2] = {NULL, NULL}, *data = NULL, *total = NULL, *filtered = NULL;
        cJSON *root;
        size_t n = 0, i;

        root = parse_response(p, body, len, err, errlen);
        if (root == NULL)
                return -1;
        for (const cJSON *c = root->child; c != NULL; c = c->next) {
                const char *k = c->string;
                if (k == NULL)
                        continue;
                if (strcmp(k, "data") == 0)
                        data = c;
                else if (strcmp(k, "recordsTotal") == 0)
                        total = c;
                else if (strcmp(k, "recordsFiltered") == 0)
                        filtered = c;
                else if (strcmp(k, "error") == 0)
                        errs[0] = c;
                else if (strcmp(k, "bsqErr") == 0)
                        errs[1] = c;
        }
        if (arkime_error(errs, err, errlen) != 0)
                goto fail;
        if (data == NULL) {
                put(err, errlen, "response has no \"data\" member");
                goto fail;
        }
        if (type_of(data) != cJSON_Array) {
                put(err, errlen, "\"data\" is %s, not an array", type_name(data));
                goto fail;
        }
        for (const cJSON *item = data->child; item != NULL; item = item->next, n++) {
                if (type_of(item) != cJSON_Object) {
                        put(err, errlen, "data[%zu] is %s, not an object", n, type_name(item));
                        goto fail;
                }
        }
        if (reserve(p, n) != 0) {
                put(err, errlen, "out of memory for %zu sessions", n);
                goto fail;
        }

        i = 0;
        for (const cJSON *item = data->child; item != NULL; item = item->next, i++) {
                char *msg = p->rejected == 0 ? p->first_reject : NULL;
                if (parse_item(&p->sessions[p->count], item, i, msg, sizeof(p->first_reject)) == 0)
                        p->count++;
                else
                        p->rejected++;
        }
        p->records_total = get_record_count(total);
        p->records_filtered = get_record_count(filtered);
        arena_rewind(p->arena); /* drops the tree: no cJSON_Delete */
        return 0;

fail:
        arena_rewind(p->arena);
        fw_arkime_page_reset(p);
        return -1;
}

/* type_of, also for a member that is not there (NULL). */
static inline int jtype(const cJSON *v) {
        return v ? type_of(v) : cJSON_Invalid;
}

/* OpenSearch's "error": an object with "type" and "reason" (or a string): one line. */
static void search_error(const cJSON *e, char *err, size_t errlen) {
        char type[80] = "", reason[FW_ARKIME_ERRTEXT_MAX + 4] = "";
        const cJSON *cause = e;
        if (jtype(e) == cJSON_Object) {
                /* the root cause names the index and the real problem */
                const cJSON *rc = cJSON_GetObjectItemCaseSensitive(e, "root_cause");
                if (jtype(rc) == cJSON_Array && rc->child && jtype(rc->child) == cJSON_Object)
                        cause = rc->child;
                const cJSON *t = cJSON_GetObjectItemCaseSensitive(cause, "type");
                const cJSON *r = cJSON_GetObjectItemCaseSensitive(cause, "reason");
                if (jtype(t) == cJSON_String)
                        clean_text(type, sizeof(type), t->valuestring, strlen(t->valuestring), 76);
                if (jtype(r) == cJSON_String)
                        clean_text(reason, sizeof(reason), r->valuestring, strlen(r->valuestring),
                                   FW_ARKIME_ERRTEXT_MAX);
        } else if (jtype(e) == cJSON_String) {
                clean_text(reason, sizeof(reason), e->valuestring, strlen(e->valuestring),
                           FW_ARKIME_ERRTEXT_MAX);
        } else {
                describe(e, reason, sizeof(reason));
        }
        put(err, errlen, "opensearch error: %s%s%s", type, type[0] && reason[0] ? ": " : "",
            reason);
}

/* A partial answer: timed_out true, or _shards.failed > 0 (with the first failure's reason). */
static int search_partial(const cJSON *root, char *err, size_t errlen) {
        const cJSON *to = cJSON_GetObjectItemCaseSensitive(root, "timed_out");
        if (cJSON_IsTrue(to)) {
                put(err, errlen, "opensearch timed out: the page may be partial");
                return -1;
        }
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(root, "_shards");
        const cJSON *failed = cJSON_GetObjectItemCaseSensitive(sh, "failed");
        if (jtype(failed) == cJSON_Number && failed->valuedouble > 0) {
                char why[FW_ARKIME_ERRTEXT_MAX + 80] = "";
                const cJSON *fl = cJSON_GetObjectItemCaseSensitive(sh, "failures");
                if (jtype(fl) == cJSON_Array && fl->child) {
                        const cJSON *r = cJSON_GetObjectItemCaseSensitive(fl->child, "reason");
                        if (r)
                                search_error(r, why, sizeof(why));
                }
                put(err, errlen, "%.0f shard(s) failed: the page is partial%s%s",
                    failed->valuedouble, why[0] ? "; " : "", why);
                return -1;
        }
        return 0;
}

/* The id the viewer gives a hit (viewer/db.js Db.session2Sid), so both readers publish the same
 * ids: "3@<_id>" (sessions2 indices: "2@"), and for a short _id (older capture) the index's
 * date between: "3@<yymmdd>:<_id>". Indices outside Arkime's naming keep the bare _id. 0, or -1
 * when it does not fit. */
static int session_sid(const char *index, const char *id, char *out, size_t outsize) {
        const char *s3 = index ? strstr(index, "sessions3-") : NULL;
        const char *s2 = index && !s3 ? strstr(index, "sessions2-") : NULL;
        const char *at = s3 ? s3 : s2;
        int n;
        if (!at)
                n = snprintf(out, outsize, "%s", id);
        else if (strlen(id) < 31)
                n = snprintf(out, outsize, "%c@%s:%s", s3 ? '3' : '2', at + 10, id);
        else
                n = snprintf(out, outsize, "%c@%s", s3 ? '3' : '2', id);
        return n < 0 || (size_t)n >= outsize ? -1 : 0;
}

/* A hit's _id, or, when stored fields were not fetched (stored_fields _none_), the _id it was
 * sorted on (the tie-breaker, the sort's second value); NULL if neither is a string. */
static const cJSON *hit_id(const cJSON *h) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(h, "_id");
        if (jtype(id) == cJSON_String)
                return id;
        const cJSON *sort = cJSON_GetObjectItemCaseSensitive(h, "sort");
        id = jtype(sort) == cJSON_Array && sort->child ? sort->child->next : NULL;
        return jtype(id) == cJSON_String ? id : NULL;
}

/* Doc values of dates asked with format epoch_millis come as strings of digits: make the time
 * fields numbers, as in a stored document (one pass over the hit's fields). */
static void docvalue_times(cJSON *fields) {
        for (cJSON *v = fields->child; v != NULL; v = v->next) {
                const char *k = v->string;
                /* only the time fields' names start so: firstPacket, lastPacket, @timestamp */
                if (k == NULL || (k[0] != 'f' && k[0] != 'l' && k[0] != '@'))
                        continue;
                int is_time = 0;
                for (int i = 0; i < FW_SF_COUNT && !is_time; i++)
                        is_time = (fw_session_fields[i].kind == FW_FK_TIME ||
                                   fw_session_fields[i].kind == FW_FK_DBTIME) &&
                                  strcmp(fw_session_fields[i].arkime, k) == 0;
                cJSON *e = jtype(v) == cJSON_Array ? v->child : v;
                if (!is_time || jtype(e) != cJSON_String || e->valuestring[0] == '\0')
                        continue;
                size_t n = strlen(e->valuestring);
                if (n > 15 || strspn(e->valuestring, "0123456789") != n)
                        continue;
                /* the number replaces the string in place */
                double d = (double)strtoll(e->valuestring, NULL, 10);
                e->type = cJSON_Number;
                e->valuestring = NULL; /* arena memory: nothing to free */
                cJSON_SetNumberHelper(e, d);
        }
}

/* ---- search answers, a hit at a time ----
 * A page of 10,000 hits is ~7 MB of JSON; as one cJSON tree it took ~45 MB of arena, whose
 * first touch (page faults) and cache misses were a third of the producer's CPU. So the answer
 * is walked member by member: every value outside hits.hits, and each hit in turn, is parsed by
 * cJSON (which stops after one value); a hit's tree is dropped, by rewinding the arena to a mark,
 * as soon as its session is extracted. The walker only steps over blanks, ':' and ','; strings,
 * numbers and nesting are cJSON's. The result is what a whole-tree parse gave. */

typedef struct arena_mark {
        arena_chunk_t *cur;
        size_t used;
} arena_mark_t;

static arena_mark_t arena_mark(const page_arena_t *a) {
        arena_mark_t m = {a->cur, a->cur ? a->cur->used : 0};
        return m;
}

/* Free everything allocated since m was taken. */
static void arena_back(page_arena_t *a, arena_mark_t m) {
        if (!m.cur) {
                arena_rewind(a);
                return;
        }
        a->cur = m.cur;
        m.cur->used = m.used;
}

typedef struct search_walk {
        fw_arkime_page_t *p;
        int in_sort;   /* numeric fields are sort values after the second (fw_arkime_in_sort) */
        const char *t; /* the answer */
        size_t len;
        size_t n;         /* hits seen */
        int walked;       /* hits.hits was an array, walked */
        size_t last_at;   /* where the last hit starts */
        int64_t first_ms; /* the first hit's first sort value, -1 before one */
        char bad[256];    /* why a hit made the page unusable ("" when none did) */
        char *err;
        size_t errlen;
} search_walk_t;

static size_t skip_blank(const char *t, size_t len, size_t i) {
        while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
                i++;
        return i;
}

/* The JSON value at t[*i] parsed by cJSON into the arena, *i moved past it; NULL with err. */
static cJSON *value_at(search_walk_t *w, size_t *i) {
        const char *end = NULL;
        size_t at = skip_blank(w->t, w->len, *i);
        /* cJSON skips a byte order mark before a value: only the body's very start may have one */
        cJSON *v = at < w->len && (unsigned char)w->t[at] != 0xEF
                           ? cJSON_ParseWithLengthOpts(w->t + at, w->len - at, &end, 0)
                           : NULL;
        if (v == NULL) {
                size_t off = end != NULL && end >= w->t + at && end < w->t + w->len
                                     ? (size_t)(end - w->t)
                                     : at;
                not_json(w->err, w->errlen, w->t, w->len, off < w->len ? off : w->len - 1,
                         "syntax error");
                return NULL;
        }
        *i = (size_t)(end - w->t);
        return v;
}

/* Expect byte c at t[*i] (after blanks) and step past it; -1 with err. */
static int walk_expect(search_walk_t *w, size_t *i, char c) {
        size_t at = skip_blank(w->t, w->len, *i);
        if (at >= w->len || w->t[at] != c) {
                not_json(w->err, w->errlen, w->t, w->len, at < w->len ? at : w->len - 1,
                         "syntax error");
                return -1;
        }
        *i = at + 1;
        return 0;
}

int fw_arkime_in_sort(int field_index) {
        if (field_index < 0 || field_index >= FW_SF_COUNT)
                return 0;
        switch (fw_session_fields[field_index].kind) {
        case FW_FK_TIME:
        case FW_FK_PORT:
        case FW_FK_PROTO:
        case FW_FK_COUNTER:
        case FW_FK_FLAG:
                return 1;
        default:
                return 0;
        }
}

/* The fields a hit's sort values carry (fw_arkime_in_sort) moved into its fields object, named
 * as doc values would be: @timestamp from the first value, the others after the tie-breaker;
 * FW_ARKIME_SORT_MISSING (absent) left out. -1 when out of memory. */
static int fields_from_sort(cJSON *fields, cJSON *sort) {
        cJSON *v = sort->child; /* checked by take_hit: integral epoch ms */
        cJSON *ts = cJSON_CreateNumber(v->valuedouble);
        if (ts == NULL || !cJSON_AddItemToObjectCS(fields, "@timestamp", ts))
                return -1;
        v = v->next ? v->next->next : NULL;
        for (int k = 0; k < FW_SF_COUNT && v != NULL; k++) {
                if (!fw_arkime_in_sort(k))
                        continue;
                cJSON *next = v->next;
                if (!(jtype(v) == cJSON_Number && v->valuedouble == FW_ARKIME_SORT_MISSING) &&
                    !cJSON_AddItemToObjectCS(fields, fw_session_fields[k].arkime,
                                             cJSON_DetachItemViaPointer(sort, v)))
                        return -1;
                v = next;
        }
        return 0;
}

/* A hit's sort values as the next page's search_after, into out: the first two (@timestamp, the
 * tie-breaker) as they came, the carried fields' as integers; one beyond 2^53 (a double here,
 * inexact) as FW_ARKIME_SORT_MISSING: the tie-breaker alone orders hits, so that value can at
 * worst bring this one hit back (deduplicated by id). -1 when out cannot hold them. */
static int print_sort(const cJSON *sort, char *out, size_t outsize) {
        size_t used = 0;
        int k = 0;
        out[used++] = '[';
        for (const cJSON *v = sort->child; v != NULL; v = v->next, k++) {
                if (outsize - used < 40)
                        return -1;
                if (k > 0)
                        out[used++] = ',';
                if (k >= 2 && jtype(v) == cJSON_Number) {
                        double d = v->valuedouble;
                        long long n = d >= -9007199254740992.0 && d <= 9007199254740992.0 &&
                                                      (double)(long long)d == d
                                              ? (long long)d
                                              : FW_ARKIME_SORT_MISSING;
                        used += (size_t)snprintf(out + used, outsize - used, "%lld", n);
                        continue;
                }
                if (!cJSON_PrintPreallocated((cJSON *)v, out + used, (int)(outsize - used - 5), 0))
                        return -1;
                used += strlen(out + used);
        }
        if (outsize - used < 2)
                return -1;
        out[used++] = ']';
        out[used] = '\0';
        return 0;
}

/* The first hit of h that makes the page unusable, into w->bad; else its session (or its
 * rejection) added to the page. 0, or -1 with err (out of memory). */
static int take_hit(search_walk_t *w, cJSON *h, size_t at) {
        fw_arkime_page_t *p = w->p;
        size_t k = w->n++;
        if (w->bad[0])
                return 0;
        if (jtype(h) != cJSON_Object) {
                put(w->bad, sizeof(w->bad), "hits[%zu] is %s, not an object", k, type_name(h));
                return 0;
        }
        /* a hit without an id or sort cannot be deduplicated or paged past: the whole page is
         * wrong (the request was not the one fanwatch sends) */
        const cJSON *sort = cJSON_GetObjectItemCaseSensitive(h, "sort");
        const cJSON *id = hit_id(h);
        if (id == NULL || strlen(id->valuestring) > FW_SESSION_ID_MAX ||
            jtype(sort) != cJSON_Array || sort->child == NULL) {
                put(w->bad, sizeof(w->bad), "hits[%zu] has no usable _id and sort", k);
                return 0;
        }
        /* the first sort value is the @timestamp the window is paged and the position moved
         * by: anything but epoch ms makes the page unusable */
        const cJSON *t = sort->child;
        if (jtype(t) != cJSON_Number || !(t->valuedouble >= 0) ||
            t->valuedouble > 9007199254740992.0 ||
            (double)(int64_t)t->valuedouble != t->valuedouble) {
                put(w->bad, sizeof(w->bad), "hits[%zu]: the first sort value is not epoch ms", k);
                return 0;
        }
        if (w->first_ms < 0)
                w->first_ms = (int64_t)t->valuedouble;
        w->last_at = at;

        if (reserve(p, p->count + 1) != 0) {
                put(w->err, w->errlen, "out of memory for %zu sessions", p->count + 1);
                return -1;
        }
        cJSON *src = cJSON_GetObjectItemCaseSensitive(h, "_source");
        char *msg = p->rejected == 0 ? p->first_reject : NULL;
        if (jtype(src) != cJSON_Object) {
                src = cJSON_GetObjectItemCaseSensitive(h, "fields");
                if (jtype(src) == cJSON_Object)
                        docvalue_times(src);
                if (w->in_sort) {
                        if (jtype(src) != cJSON_Object) {
                                /* filter_path drops a hit's empty fields object */
                                cJSON_DeleteItemFromObjectCaseSensitive(h, "fields");
                                src = cJSON_AddObjectToObject(h, "fields");
                        }
                        if (src == NULL || fields_from_sort(src, (cJSON *)sort) != 0) {
                                put(w->err, w->errlen, "out of memory");
                                return -1;
                        }
                }
        }
        if (jtype(src) != cJSON_Object) {
                p->rejected++;
                if (msg)
                        put(msg, sizeof(p->first_reject), "session %s: no _source or fields",
                            id->valuestring);
                return 0;
        }
        const cJSON *index = cJSON_GetObjectItemCaseSensitive(h, "_index");
        char sid[FW_SESSION_ID_MAX + 1];
        if (session_sid(cJSON_IsString(index) ? index->valuestring : NULL, id->valuestring, sid,
                        sizeof(sid)) != 0) {
                p->rejected++;
                if (msg)
                        put(msg, sizeof(p->first_reject), "session %s: id too long",
                            id->valuestring);
                return 0;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(src, "id");
        cJSON *s = cJSON_CreateString(sid);
        if (s == NULL || !cJSON_AddItemToObject(src, "id", s)) {
                put(w->err, w->errlen, "out of memory");
                return -1;
        }
        if (parse_item(&p->sessions[p->count], src, k, msg, sizeof(p->first_reject)) == 0)
                p->count++;
        else
                p->rejected++;
        return 0;
}

/* hits.hits at t[*i] ('[' next): each hit parsed, taken and dropped in turn. 0, or -1 with
 * err. */
static int walk_hits(search_walk_t *w, size_t *i) {
        if (walk_expect(w, i, '[') != 0)
                return -1;
        w->walked = 1;
        size_t at = skip_blank(w->t, w->len, *i);
        if (at < w->len && w->t[at] == ']') {
                *i = at + 1;
                return 0;
        }
        for (;;) {
                arena_mark_t m = arena_mark(w->p->arena);
                at = skip_blank(w->t, w->len, *i);
                cJSON *h = value_at(w, i);
                if (h == NULL)
                        return -1;
                int rc = take_hit(w, h, at);
                arena_back(w->p->arena, m);
                if (rc != 0)
                        return -1;
                at = skip_blank(w->t, w->len, *i);
                if (at < w->len && w->t[at] == ',') {
                        *i = at + 1;
                        continue;
                }
                return walk_expect(w, i, ']');
        }
}

/* The object at t[*i] ('{' next) into obj, member by member; at depth 0 (the answer) and 1
 * (its "hits") the first "hits" member that is an object / array is walked instead of parsed
 * whole. 0, or -1 with err. */
static int walk_object(search_walk_t *w, size_t *i, cJSON *obj, int depth) {
        if (walk_expect(w, i, '{') != 0)
                return -1;
        size_t at = skip_blank(w->t, w->len, *i);
        if (at < w->len && w->t[at] == '}') {
                *i = at + 1;
                return 0;
        }
        for (;;) {
                at = skip_blank(w->t, w->len, *i);
                cJSON *key = value_at(w, i);
                if (key == NULL)
                        return -1;
                if (type_of(key) != cJSON_String) {
                        not_json(w->err, w->errlen, w->t, w->len, at, "syntax error");
                        return -1;
                }
                if (walk_expect(w, i, ':') != 0)
                        return -1;
                size_t v = skip_blank(w->t, w->len, *i);
                char next = v < w->len ? w->t[v] : '\0';
                int first = strcmp(key->valuestring, "hits") == 0 &&
                            !cJSON_GetObjectItemCaseSensitive(obj, "hits") && !(depth && w->walked);
                if (first && depth == 0 && next == '{') {
                        cJSON *hits = cJSON_CreateObject();
                        if (hits == NULL || !cJSON_AddItemToObject(obj, "hits", hits)) {
                                put(w->err, w->errlen, "out of memory");
                                return -1;
                        }
                        if (walk_object(w, i, hits, 1) != 0)
                                return -1;
                } else if (first && depth == 1 && next == '[') {
                        if (walk_hits(w, i) != 0)
                                return -1;
                } else {
                        cJSON *val = value_at(w, i);
                        if (val == NULL)
                                return -1;
                        /* a later duplicate is kept but never found (cJSON's lookups take the
                         * first), as in a whole tree; a duplicate of a walked hits.hits is
                         * dropped */
                        if (!(depth == 1 && w->walked && strcmp(key->valuestring, "hits") == 0) &&
                            !cJSON_AddItemToObject(obj, key->valuestring, val)) {
                                put(w->err, w->errlen, "out of memory");
                                return -1;
                        }
                }
                at = skip_blank(w->t, w->len, *i);
                if (at < w->len && w->t[at] == ',') {
                        *i = at + 1;
                        continue;
                }
                return walk_expect(w, i, '}');
        }
}

int fw_arkime_search_parse(fw_arkime_page_t *p, const char *body, size_t len, int in_sort,
                           fw_search_info_t *info, char *err, size_t errlen) {
        memset(info, 0, sizeof(*info));
        info->last_time_ms = info->first_time_ms = -1;
        /* a byte order mark is allowed before the answer, as cJSON allows it */
        size_t first = body && len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        first = body ? skip_blank(body, len, first) : 0;
        if (body == NULL || first >= len || body[first] != '{') {
                /* not an object: the whole-tree parser says what it is instead */
                if (parse_response(p, body, len, err, errlen) != NULL) {
                        arena_rewind(p->arena);
                        put(err, errlen, "response is not a JSON object");
                }
                return -1;
        }
        fw_arkime_page_reset(p);
        if (err != NULL && errlen > 0)
                err[0] = '\0';
        if (arena_begin(p, err, errlen) != 0)
                return -1;
        current_arena = p->arena;
        search_walk_t w = {.p = p,
                           .in_sort = in_sort,
                           .t = body,
                           .len = len,
                           .first_ms = -1,
                           .err = err,
                           .errlen = errlen};
        size_t i = first;
        const char *what = NULL;
        cJSON *root = cJSON_CreateObject();
        if (root == NULL) {
                put(err, errlen, "out of memory");
                goto fail;
        }
        if (walk_object(&w, &i, root, 0) != 0)
                goto fail;
        i = skip_blank(body, len, i);
        if (i < len) {
                not_json(err, errlen, body, len, i, "data after the JSON value");
                goto fail;
        }
        /* cJSON would cut a string at a NUL: refused, as by parse_in_arena */
        if ((i = find_nul(body, len, &what)) < len) {
                not_json(err, errlen, body, len, i, what);
                goto fail;
        }
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
        if (e != NULL) {
                search_error(e, err, errlen);
                goto fail;
        }
        if (search_partial(root, err, errlen) != 0)
                goto fail;
        /* a search answer always reports its shards; filter_path drops an empty hits.hits
         * (the page after the last), so its absence alone is no error */
        const cJSON *total = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(root, "_shards"), "total");
        if (jtype(total) != cJSON_Number) {
                put(err, errlen, "not a search answer: no _shards.total");
                goto fail;
        }
        const cJSON *hits_obj = cJSON_GetObjectItemCaseSensitive(root, "hits");
        const cJSON *hits = cJSON_GetObjectItemCaseSensitive(hits_obj, "hits");
        if ((hits_obj && jtype(hits_obj) != cJSON_Object) || (hits && jtype(hits) != cJSON_Array)) {
                put(err, errlen, "hits.hits is not an array");
                goto fail;
        }
        if (w.bad[0]) {
                put(err, errlen, "%s", w.bad);
                goto fail;
        }
        info->hits = w.n;
        if (w.n > 0) {
                /* the last hit once more, for its sort values (its tree is gone) */
                size_t at = w.last_at;
                cJSON *last = value_at(&w, &at);
                const cJSON *sort = cJSON_GetObjectItemCaseSensitive(last, "sort");
                if (sort == NULL ||
                    print_sort(sort, info->last_sort, sizeof(info->last_sort)) != 0) {
                        put(err, errlen, "the last hit's sort values are too long");
                        goto fail;
                }
                /* both checked by take_hit: integral epoch ms */
                info->last_time_ms = (int64_t)sort->child->valuedouble;
                info->first_time_ms = w.first_ms;
        }
        const cJSON *pit = cJSON_GetObjectItemCaseSensitive(root, "pit_id");
        if (jtype(pit) == cJSON_String && !(info->pit_id = strdup(pit->valuestring))) {
                put(err, errlen, "out of memory");
                goto fail;
        }
        current_arena = NULL;
        arena_rewind(p->arena);
        return 0;

fail:
        current_arena = NULL;
        arena_rewind(p->arena);
        fw_arkime_page_reset(p);
        info->hits = 0;
        info->last_sort[0] = '\0';
        info->last_time_ms = info->first_time_ms = -1;
        return -1;
}

int fw_arkime_doc_append(fw_arkime_page_t *p, const char *json, size_t len, const char *id,
                         size_t idlen, char *err, size_t errlen) {
        int rc = -1;

        if (err != NULL && errlen > 0)
                err[0] = '\0';
        if (json == NULL || len == 0) {
                put(err, errlen, "empty document");
                return -1;
        }
        if (id != NULL && idlen > FW_SESSION_ID_MAX) {
                put(err, errlen, "session id longer than %d bytes", FW_SESSION_ID_MAX);
                return -1;
        }
        cJSON *root = parse_in_arena(p, json, len, err, errlen);
        if (root == NULL)
                goto out;
        current_arena = p->arena; /* the id added below is allocated there too */
        if (type_of(root) != cJSON_Object) {
                put(err, errlen, "document is %s, not a JSON object", type_name(root));
                goto out;
        }
        /* A stored document has no "id": it is the bulk header's _id (handed in), or the doc's
         * own "_id" (kafkaMsgFormat=doc), or, when Arkime let OpenSearch pick ids
         * (autoGenerateId=1), a hash of the document, so a re-read gives the same id. */
        if (cJSON_GetObjectItemCaseSensitive(root, "id") == NULL) {
                char idbuf[FW_SESSION_ID_MAX + 1];
                const cJSON *own = cJSON_GetObjectItemCaseSensitive(root, "_id");
                if (id != NULL) {
                        memcpy(idbuf, id, idlen);
                        idbuf[idlen] = '\0';
                } else if (cJSON_IsString(own) && strlen(own->valuestring) <= FW_SESSION_ID_MAX) {
                        memcpy(idbuf, own->valuestring, strlen(own->valuestring) + 1);
                } else {
                        snprintf(idbuf, sizeof(idbuf), "fwdoc-%016llx",
                                 (unsigned long long)XXH3_64bits(json, len));
                }
                cJSON *s = cJSON_CreateString(idbuf);
                if (s == NULL || !cJSON_AddItemToObject(root, "id", s)) {
                        put(err, errlen, "out of memory");
                        goto out;
                }
        }
        if (reserve(p, p->count + 1) != 0) {
                put(err, errlen, "out of memory");
                goto out;
        }
        char *msg = p->rejected == 0 ? p->first_reject : NULL;
        if (parse_item(&p->sessions[p->count], root, p->count + p->rejected, msg,
                       sizeof(p->first_reject)) == 0)
                p->count++;
        else
                p->rejected++;
        rc = 0;
out:
        current_arena = NULL;
        arena_rewind(p->arena);
        return rc;
}

int fw_arkime_bulk_header(const char *line, size_t len, char *id, size_t idsize) {
        /* a cheap look first: every other line of a bulk body is a document */
        const char *p = line, *e = line + len;
        while (p < e && (*p == ' ' || *p == '\t'))
                p++;
        if (p == e || *p != '{')
                return 0;
        for (p++; p < e && (*p == ' ' || *p == '\t');)
                p++;
        if ((size_t)(e - p) < 8 ||
            (memcmp(p, "\"index\"", 7) != 0 && memcmp(p, "\"create\"", 8) != 0))
                return 0;
        cJSON *j = cJSON_ParseWithLength(line, len);
        if (!j)
                return -1;
        int rc = 0;
        const cJSON *a = j->child;
        if (cJSON_IsObject(j) && a && !a->next && a->string &&
            (strcmp(a->string, "index") == 0 || strcmp(a->string, "create") == 0) &&
            cJSON_IsObject(a)) {
                const cJSON *i = cJSON_GetObjectItemCaseSensitive(a, "_id");
                if (idsize > 0)
                        id[0] = '\0';
                if (cJSON_IsString(i) && strlen(i->valuestring) < idsize)
                        memcpy(id, i->valuestring, strlen(i->valuestring) + 1);
                rc = 1;
        }
        cJSON_Delete(j);
        return rc;
}
