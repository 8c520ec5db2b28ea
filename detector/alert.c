/* alert: engine alerts as ECS JSON, their deterministic ids, and the Arkime expression and viewer
 * URL that show the evidence. docs/alerts.md documents the fields; docs/alert.schema.json is the
 * JSON Schema the output validates against. */
#include "alert.h"
#include "log.h"
#include "timeutil.h"
#include "utf8.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#define ECS_VERSION   "8.17.0"
#define ATTACK_TECH   "https://attack.mitre.org/techniques/"
#define ATTACK_TACTIC "https://attack.mitre.org/tactics/"

/* The rule id: a->rule, or the built-in kind's stable name if the caller left it NULL. */
static const char *rule_id_of(const fw_alert_t *a) {
        static const char *const names[] = {"address_sweep", "address_sweep_port", "port_scan",
                                            "session_spike", "session_spike_total"};

        if (a->rule != NULL)
                return a->rule;
        if ((unsigned)a->kind < sizeof(names) / sizeof(names[0]))
                return names[a->kind];
        return "";
}

/* ------------------------------------------------------------------------------------------ */
/* id */

static void put_le(XXH3_state_t *st, uint64_t v, size_t n) {
        uint8_t b[8];

        for (size_t i = 0; i < n; i++)
                b[i] = (uint8_t)(v >> (8 * i));
        XXH3_128bits_update(st, b, n);
}

static void put_ip(XXH3_state_t *st, const fw_ip_t *ip) {
        size_t n = fw_ip_len(ip);

        put_le(st, ip->family, 1);
        if (n > 0)
                XXH3_128bits_update(st, ip->addr, n);
}

/* The encoding, each part fixed-width or length-prefixed so no two inputs share bytes:
 *   u8 version (1) | u64le len(rule) | rule bytes | u8 flags (1 src, 2 dst, 4 dport)
 *   | [u8 family, 4 or 16 address bytes] for src, then dst, when set | [u16le dport] when set
 *   | i64le epoch_start_ms (two's complement)
 * Streamed into a state on the stack (XXH_STATIC_LINKING_ONLY), so setting an id never
 * allocates and cannot fail; the digest equals XXH3_128bits over the concatenated bytes. */
static XXH128_hash_t hash_id(const fw_alert_t *a) {
        XXH3_state_t st;
        const char *rule = rule_id_of(a);
        size_t rlen = strlen(rule);
        uint8_t flags =
                (uint8_t)((a->has_src ? 1 : 0) | (a->has_dst ? 2 : 0) | (a->has_dport ? 4 : 0));

        XXH3_INITSTATE(&st);
        XXH3_128bits_reset(&st);
        put_le(&st, 1, 1);
        put_le(&st, (uint64_t)rlen, 8);
        XXH3_128bits_update(&st, rule, rlen);
        put_le(&st, flags, 1);
        if (a->has_src)
                put_ip(&st, &a->src);
        if (a->has_dst)
                put_ip(&st, &a->dst);
        if (a->has_dport)
                put_le(&st, a->dport, 2);
        put_le(&st, (uint64_t)a->epoch_start_ms, 8);
        return XXH3_128bits_digest(&st);
}

void fw_alert_set_id(fw_alert_t *a) {
        static const char hex[] = "0123456789abcdef";
        XXH128_canonical_t c;

        XXH128_canonicalFromHash(&c, hash_id(a)); /* big-endian: high64 then low64 */
        for (size_t i = 0; i < sizeof(c.digest); i++) {
                a->id[2 * i] = hex[c.digest[i] >> 4];
                a->id[2 * i + 1] = hex[c.digest[i] & 15];
        }
        a->id[32] = '\0';
}

/* ------------------------------------------------------------------------------------------ */
/* expression */

/* An address as Arkime's parseIpPort reads it. inet_ntop writes IPv4-mapped and -compatible
 * IPv6 with a dotted tail ("::ffff:1.2.3.4"), which Arkime would read as address "::ffff:1" and
 * port 2: write those as eight hex groups instead. */
static const char *ip_text(const fw_ip_t *ip, char *buf, size_t buflen) {
        fw_ip_format(ip, buf, buflen);
        if (ip->family == 6 && strchr(buf, '.') != NULL) {
                unsigned g[8];

                for (int i = 0; i < 8; i++)
                        g[i] = (unsigned)ip->addr[2 * i] << 8 | ip->addr[2 * i + 1];
                snprintf(buf, buflen, "%x:%x:%x:%x:%x:%x:%x:%x", g[0], g[1], g[2], g[3], g[4], g[5],
                         g[6], g[7]);
        }
        return buf;
}

/* Like snprintf: writes what fits (NUL-terminated when buflen > 0), returns the full length. */
static size_t expr_build(const fw_alert_t *a, char *buf, size_t buflen) {
        char ipbuf[FW_IP_STRLEN + 8];
        const char *parts[4];
        const char *rule = NULL;
        char src[FW_IP_STRLEN + 16], dst[FW_IP_STRLEN + 16], port[24];
        size_t np = 0, len = 0;

        if (a->kind == FW_DET_RULE && a->rule_cfg != NULL && a->rule_cfg->expr != NULL)
                rule = fw_expr_text(a->rule_cfg->expr);
        if (a->has_src && a->src.family != 0) {
                snprintf(src, sizeof(src), "ip.src == %s", ip_text(&a->src, ipbuf, sizeof(ipbuf)));
                parts[np++] = src;
        }
        if (a->has_dst && a->dst.family != 0) {
                snprintf(dst, sizeof(dst), "ip.dst == %s", ip_text(&a->dst, ipbuf, sizeof(ipbuf)));
                parts[np++] = dst;
        }
        if (a->has_dport) {
                /* Port 0 is the engine's key for sessions without a port (ICMP and the like),
                 * and Arkime's capture writes port 0 for them too (capture/db.c), so
                 * "port.dst == 0" selects them in the real viewer. */
                snprintf(port, sizeof(port), "port.dst == %u", (unsigned)a->dport);
                parts[np++] = port;
        }
        if (buflen > 0)
                buf[0] = '\0';
#define APPEND(s, n)                                                                               \
        do {                                                                                       \
                size_t n_ = (n);                                                                   \
                if (len < buflen) {                                                                \
                        size_t k_ = buflen - 1 - len < n_ ? buflen - 1 - len : n_;                 \
                        memcpy(buf + len, (s), k_);                                                \
                        buf[len + k_] = '\0';                                                      \
                }                                                                                  \
                len += n_;                                                                         \
        } while (0)
        if (rule != NULL && rule[0] != '\0') {
                if (np > 0)
                        APPEND("(", 1);
                APPEND(rule, strlen(rule));
                if (np > 0)
                        APPEND(")", 1);
        }
        for (size_t i = 0; i < np; i++) {
                if (len > 0)
                        APPEND(" && ", 4);
                APPEND(parts[i], strlen(parts[i]));
        }
#undef APPEND
        return len;
}

int fw_alert_expression(const fw_alert_t *a, char *buf, size_t buflen) {
        size_t n;

        if (buf == NULL || buflen == 0)
                return -1;
        n = expr_build(a, buf, buflen);
        if (n >= buflen || n > (size_t)INT32_MAX) {
                buf[0] = '\0';
                return -1;
        }
        return (int)n;
}

/* The expression, malloc'd; NULL on out of memory. */
static char *expr_dup(const fw_alert_t *a) {
        size_t n = expr_build(a, NULL, 0);
        char *s = malloc(n + 1);

        if (s != NULL)
                expr_build(a, s, n + 1);
        return s;
}

/* ------------------------------------------------------------------------------------------ */
/* text helpers */

/* ISO-8601 UTC with milliseconds, "2024-05-18T10:00:05.123Z"; proleptic Gregorian calendar
 * (days_from_civil inverse, H. Hinnant), so no dependence on gmtime or the time zone. */
static void iso_time(int64_t ms, char *buf, size_t buflen) {
        int64_t days = fw_floor_div(ms, 86400000);
        int64_t rem = ms - days * 86400000;
        int64_t z = days + 719468;
        int64_t era = fw_floor_div(z, 146097);
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t y = yoe + era * 400;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        int64_t d = doy - (153 * mp + 2) / 5 + 1;
        int64_t m = mp < 10 ? mp + 3 : mp - 9;

        if (m <= 2)
                y++;
        snprintf(buf, buflen, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d.%03dZ", y, (int)m, (int)d,
                 (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
                 (int)(rem % 1000));
}

/* A JSON string of s; bytes that are not UTF-8 (session ids and node names come from the wire,
 * rule text from a file) become U+FFFD instead of failing the whole alert. NULL: out of memory. */
static json_t *jstr(const char *s) {
        json_t *j = json_string(s);
        const unsigned char *p;
        char *clean, *o;

        if (j != NULL)
                return j;
        clean = malloc(strlen(s) * 3 + 1);
        if (clean == NULL)
                return NULL;
        o = clean;
        for (p = (const unsigned char *)s; *p != '\0';) {
                size_t n = fw_utf8_seq(p);

                if (n == 0) {
                        memcpy(o, "\xef\xbf\xbd", 3);
                        o += 3;
                        p++;
                } else {
                        memcpy(o, p, n);
                        o += n;
                        p += n;
                }
        }
        *o = '\0';
        j = json_string(clean);
        free(clean);
        return j;
}

static json_t *jreal(double v) {
        return isfinite(v) ? json_real(v) : json_null();
}

/* RFC 3986 percent-encoding of a query value: unreserved characters kept, every other byte %XX. */
static int pct_append(char **buf, size_t *len, size_t *cap, const char *s) {
        static const char hex[] = "0123456789ABCDEF";
        size_t need = *len + strlen(s) * 3 + 1;

        if (need > *cap) {
                size_t ncap = need * 2;
                char *nb = realloc(*buf, ncap);

                if (nb == NULL)
                        return -1;
                *buf = nb;
                *cap = ncap;
        }
        for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
                unsigned c = *p;

                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~') {
                        (*buf)[(*len)++] = (char)c;
                } else {
                        (*buf)[(*len)++] = '%';
                        (*buf)[(*len)++] = hex[c >> 4];
                        (*buf)[(*len)++] = hex[c & 15];
                }
        }
        (*buf)[*len] = '\0';
        return 0;
}

/* <base>/sessions?expression=<pct>&startTime=<s>&stopTime=<s>&bounding=first; malloc'd. The
 * engine's windows are over firstPacket, so the viewer bounds on it too (its default, "last",
 * would miss evidence sessions still open at the window end). No expression parameter when the
 * expression is empty (session_spike_total: all sessions in the window are the evidence). */
static char *viewer_url(const char *base, const char *expr, const fw_alert_t *a) {
        size_t blen = strlen(base), len, cap;
        char *buf, tail[96];
        int64_t start = fw_floor_div(a->window_start_ms, 1000);
        int64_t stop = -fw_floor_div(-a->window_end_ms, 1000);

        while (blen > 0 && base[blen - 1] == '/')
                blen--;
        cap = blen + strlen(expr) * 3 + sizeof(tail) + 40;
        buf = malloc(cap);
        if (buf == NULL)
                return NULL;
        memcpy(buf, base, blen);
        len = blen;
        memcpy(buf + len, "/sessions?", 10);
        len += 10;
        buf[len] = '\0';
        if (expr[0] != '\0') {
                memcpy(buf + len, "expression=", 12);
                len += 11;
                if (pct_append(&buf, &len, &cap, expr) != 0) {
                        free(buf);
                        return NULL;
                }
                buf[len++] = '&';
        }
        snprintf(tail, sizeof(tail), "startTime=%" PRId64 "&stopTime=%" PRId64 "&bounding=first",
                 start, stop);
        memcpy(buf + len, tail, strlen(tail) + 1);
        return buf;
}

/* ------------------------------------------------------------------------------------------ */
/* MITRE ATT&CK */

typedef struct {
        const char *id, *name, *tactic; /* tactic: id of its (first) tactic, NULL if none here */
} technique_t;

/* The techniques fanwatch maps to, and those an expression rule is likely to name. Names as in
 * ATT&CK v15-v17. Unknown ids are still carried (id and reference, no name or tactic). */
static const technique_t techniques[] = {
        {"T1018", "Remote System Discovery", "TA0007"},
        {"T1021", "Remote Services", "TA0008"},
        {"T1021.001", "Remote Desktop Protocol", "TA0008"},
        {"T1021.002", "SMB/Windows Admin Shares", "TA0008"},
        {"T1021.003", "Distributed Component Object Model", "TA0008"},
        {"T1021.004", "SSH", "TA0008"},
        {"T1021.006", "Windows Remote Management", "TA0008"},
        {"T1041", "Exfiltration Over C2 Channel", "TA0010"},
        {"T1046", "Network Service Discovery", "TA0007"},
        {"T1048", "Exfiltration Over Alternative Protocol", "TA0010"},
        {"T1071", "Application Layer Protocol", "TA0011"},
        {"T1090", "Proxy", "TA0011"},
        {"T1095", "Non-Application Layer Protocol", "TA0011"},
        {"T1110", "Brute Force", "TA0006"},
        {"T1135", "Network Share Discovery", "TA0007"},
        {"T1210", "Exploitation of Remote Services", "TA0008"},
        {"T1498", "Network Denial of Service", "TA0040"},
        {"T1499", "Endpoint Denial of Service", "TA0040"},
        {"T1570", "Lateral Tool Transfer", "TA0008"},
        {"T1571", "Non-Standard Port", "TA0011"},
        {"T1572", "Protocol Tunneling", "TA0011"},
        {"T1590", "Gather Victim Network Information", "TA0043"},
        {"T1595", "Active Scanning", "TA0043"},
        {"T1595.001", "Scanning IP Blocks", "TA0043"},
        {"T1595.002", "Vulnerability Scanning", "TA0043"},
};

static const struct {
        const char *id, *name;
} tactics[] = {
        {"TA0006", "Credential Access"},   {"TA0007", "Discovery"},
        {"TA0008", "Lateral Movement"},    {"TA0010", "Exfiltration"},
        {"TA0011", "Command and Control"}, {"TA0040", "Impact"},
        {"TA0043", "Reconnaissance"},
};

static const technique_t *technique_find(const char *id) {
        for (size_t i = 0; i < sizeof(techniques) / sizeof(techniques[0]); i++)
                if (strcmp(techniques[i].id, id) == 0)
                        return &techniques[i];
        return NULL;
}

/* "T1046" or "T1021.002" */
static int technique_wellformed(const char *id) {
        size_t n = strlen(id);

        if ((n != 5 && n != 9) || id[0] != 'T')
                return 0;
        for (size_t i = 1; i < n; i++) {
                if (i == 5 ? id[i] != '.' : (id[i] < '0' || id[i] > '9'))
                        return 0;
        }
        return 1;
}

/* ATT&CK's address: sub-technique T1021.002 lives at techniques/T1021/002/. */
static void technique_ref(const char *id, char *buf, size_t buflen) {
        if (strlen(id) == 9)
                snprintf(buf, buflen, ATTACK_TECH "%.5s/%s/", id, id + 6);
        else
                snprintf(buf, buflen, ATTACK_TECH "%s/", id);
}

/* Lateral-movement ports (docs/detector.md, ATT&CK T1021) and the T1021 sub-technique their service
 * is. */
static const char *lateral_subtechnique(uint16_t port) {
        switch (port) {
        case 22:
                return "T1021.004";
        case 135:
                return "T1021.003";
        case 139:
        case 445:
                return "T1021.002";
        case 3389:
                return "T1021.001";
        case 5985:
        case 5986:
                return "T1021.006";
        default:
                return NULL;
        }
}

/* o[key] = v, taking v's reference (also on failure: jansson then frees it). 0 or -1. */
static int set(json_t *o, const char *key, json_t *v) {
        return v == NULL ? -1 : json_object_set_new(o, key, v);
}

/* o[key] = v and return v borrowed, or NULL (with *err set) when v is NULL or the set failed. */
static json_t *child(json_t *o, const char *key, json_t *v, int *err) {
        if (set(o, key, v) != 0) {
                *err = -1;
                return NULL;
        }
        return v;
}

/* {id, name, reference} of a technique or sub-technique; name omitted if unknown. */
static json_t *technique_obj(const char *id) {
        const technique_t *t = technique_find(id);
        json_t *o = json_object();
        char ref[96];
        int err = 0;

        if (o == NULL)
                return NULL;
        err |= set(o, "id", jstr(id));
        if (t != NULL)
                err |= set(o, "name", json_string(t->name));
        if (technique_wellformed(id)) {
                technique_ref(id, ref, sizeof(ref));
                err |= set(o, "reference", json_string(ref));
        }
        if (err) {
                json_decref(o);
                return NULL;
        }
        return o;
}

/* Append technique id (and its sub-technique) to the technique array, its tactic to tactics. */
static int add_technique(json_t *techs, json_t *tacs, const char *id) {
        char parent[6];
        const char *sub = NULL;
        const technique_t *t;
        json_t *o;

        if (technique_wellformed(id) && strlen(id) == 9) {
                memcpy(parent, id, 5);
                parent[5] = '\0';
                sub = id;
                id = parent;
        }
        o = technique_obj(id);
        if (o == NULL || json_array_append_new(techs, o) != 0)
                return -1;
        if (sub != NULL) {
                json_t *subs = json_array();

                if (set(o, "subtechnique", subs) != 0 ||
                    json_array_append_new(subs, technique_obj(sub)) != 0)
                        return -1;
        }
        t = technique_find(sub != NULL ? sub : id);
        if (t == NULL)
                t = technique_find(id);
        if (t != NULL && t->tactic != NULL) {
                size_t i;
                json_t *v;

                json_array_foreach(tacs, i, v) {
                        if (strcmp(json_string_value(json_object_get(v, "id")), t->tactic) == 0)
                                return 0;
                }
                for (i = 0; i < sizeof(tactics) / sizeof(tactics[0]); i++) {
                        if (strcmp(tactics[i].id, t->tactic) == 0) {
                                char ref[64];
                                json_t *ta = json_object();

                                snprintf(ref, sizeof(ref), ATTACK_TACTIC "%s/", t->tactic);
                                if (json_array_append_new(tacs, ta) != 0 ||
                                    set(ta, "id", json_string(t->tactic)) != 0 ||
                                    set(ta, "name", json_string(tactics[i].name)) != 0 ||
                                    set(ta, "reference", json_string(ref)) != 0)
                                        return -1;
                                break;
                        }
                }
        }
        return 0;
}

/* threat: for the scans T1046, plus T1021 (with the service's sub-technique) when an address
 * sweep targets a lateral-movement port; a rule's configured technique; nothing for the spikes
 * (volume alone says nothing about intent: see docs/alerts.md). *out NULL when none. */
static int threat_obj(const fw_alert_t *a, json_t **out) {
        json_t *t, *techs, *tacs;
        int err = 0;

        *out = NULL;
        if (a->kind == FW_DET_SPIKE || a->kind == FW_DET_SPIKE_TOTAL)
                return 0;
        if (a->kind == FW_DET_RULE && (a->rule_cfg == NULL || a->rule_cfg->technique == NULL ||
                                       a->rule_cfg->technique[0] == '\0'))
                return 0;
        t = json_object();
        techs = json_array();
        tacs = json_array();
        if (t == NULL || techs == NULL || tacs == NULL) {
                json_decref(t);
                json_decref(techs);
                json_decref(tacs);
                return -1;
        }
        if (a->kind == FW_DET_RULE) {
                err |= add_technique(techs, tacs, a->rule_cfg->technique);
        } else {
                err |= add_technique(techs, tacs, "T1046");
                if (a->kind == FW_DET_SWEEP_PORT && a->has_dport &&
                    lateral_subtechnique(a->dport) != NULL)
                        err |= add_technique(techs, tacs, lateral_subtechnique(a->dport));
                /* an attack-grouped sweep: each lateral-movement port that alone reached the
                 * threshold (listed once: 139 and 445 are the same sub-technique) */
                for (uint32_t i = 0; a->kind == FW_DET_SWEEP && i < a->nby_port; i++) {
                        const char *sub = lateral_subtechnique(a->by_port[i]);
                        int dup = 0;

                        if (sub == NULL || a->by_port_hosts[i] < a->threshold)
                                continue;
                        for (uint32_t j = 0; j < i; j++)
                                if (a->by_port_hosts[j] >= a->threshold &&
                                    lateral_subtechnique(a->by_port[j]) == sub)
                                        dup = 1;
                        if (!dup)
                                err |= add_technique(techs, tacs, sub);
                }
        }
        err |= set(t, "framework", json_string("MITRE ATT&CK"));
        err |= set(t, "technique", techs);
        if (json_array_size(tacs) > 0) {
                err |= set(t, "tactic", tacs);
        } else {
                json_decref(tacs);
        }
        if (err) {
                json_decref(t);
                return -1;
        }
        *out = t;
        return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* JSON */

static const char *kind_title(fw_det_kind_t k) {
        switch (k) {
        case FW_DET_SWEEP:
                return "Address sweep";
        case FW_DET_SWEEP_PORT:
                return "Address sweep on one port";
        case FW_DET_PORTSCAN:
                return "Port scan";
        case FW_DET_SPIKE:
                return "Session spike";
        case FW_DET_SPIKE_TOTAL:
                return "Session spike (all sources)";
        default:
                return "Expression rule";
        }
}

static const char *kind_description(fw_det_kind_t k) {
        switch (k) {
        case FW_DET_SWEEP:
                return "A source contacted many distinct destination addresses within the window "
                       "(horizontal scan, Zeek scan.zeek address scan).";
        case FW_DET_SWEEP_PORT:
                return "A source contacted many distinct destination addresses on one destination "
                       "port within the window (horizontal scan of one service).";
        case FW_DET_PORTSCAN:
                return "A source contacted many distinct destination ports of one destination "
                       "address within the window (vertical scan, Zeek scan.zeek port scan).";
        case FW_DET_SPIKE:
                return "A source opened far more sessions in one interval than its robust "
                       "baseline (EWMA mean plus k deviations).";
        case FW_DET_SPIKE_TOTAL:
                return "The whole session stream had far more sessions in one interval than its "
                       "robust baseline (EWMA mean plus k deviations).";
        default:
                return "A source had at least the threshold number of sessions matching the "
                       "rule's Arkime expression within the window.";
        }
}

static const char *kind_category(fw_det_kind_t k) {
        switch (k) {
        case FW_DET_SWEEP:
        case FW_DET_SWEEP_PORT:
        case FW_DET_PORTSCAN:
                return "Network scan";
        case FW_DET_SPIKE:
        case FW_DET_SPIKE_TOTAL:
                return "Traffic anomaly";
        default:
                return "Expression rule";
        }
}

static const char *transport_name(uint8_t proto) {
        switch (proto) {
        case 1:
                return "icmp";
        case 2:
                return "igmp";
        case 6:
                return "tcp";
        case 17:
                return "udp";
        case 47:
                return "gre";
        case 50:
                return "esp";
        case 51:
                return "ah";
        case 58:
                return "ipv6-icmp";
        case 89:
                return "ospf";
        case 103:
                return "pim";
        case 132:
                return "sctp";
        default:
                return NULL;
        }
}

/* "s" unless exactly one (an estimated count is plural: "~1 hosts" is never written). */
static const char *plural(const fw_alert_t *a) {
        return a->count == 1 && a->exact ? "" : "s";
}

/* One human line, e.g. "10.1.2.3 contacted 31 hosts on port 445 in 5 min (threshold 25)".
 * Counts agree with their noun ("1 session"), durations are in human units ("21 s", not
 * "21154ms": a rule's window ends at its newest session, so it is rarely a round number). */
static void message(const fw_alert_t *a, char *buf, size_t buflen) {
        char src[FW_IP_STRLEN], dst[FW_IP_STRLEN], dur[FW_LOG_TIME_MAX], count[32], esc[32] = "",
                                                                                    base[64];
        const char *s = plural(a);

        fw_ip_format(&a->src, src, sizeof(src));
        fw_ip_format(&a->dst, dst, sizeof(dst));
        if (!a->has_src || src[0] == '\0')
                snprintf(src, sizeof(src), "a source");
        fw_log_duration(a->window_end_ms - a->window_start_ms, dur, sizeof(dur));
        snprintf(count, sizeof(count), "%s%" PRIu64, a->exact ? "" : "~", a->count);
        if (isfinite(a->baseline_mean) && isfinite(a->baseline_dev))
                snprintf(base, sizeof(base), "%.1f +/- %.1f", a->baseline_mean, a->baseline_dev);
        else
                snprintf(base, sizeof(base), "not established");
        if (a->escalation > 0)
                snprintf(esc, sizeof(esc), ", %s %" PRIu32,
                         a->final ? "final update" : "escalation", a->escalation);
        switch (a->kind) {
        case FW_DET_SWEEP: {
                /* an attack-grouped sweep names its main ports: " on ports 445, 22" */
                char on[64] = "";
                size_t n = 0;

                uint32_t nmain = 0; /* the ports that reached at least half the hosts */
                while (nmain < a->nby_port && nmain < 3 && a->by_port_hosts[nmain] * 2 >= a->count)
                        nmain++;
                for (uint32_t i = 0; i < nmain; i++)
                        n += (size_t)snprintf(on + n, sizeof(on) - n, "%s%u",
                                              i == 0 ? (nmain > 1 ? " on ports " : " on port ")
                                                     : ", ",
                                              (unsigned)a->by_port[i]);
                snprintf(buf, buflen, "%s contacted %s host%s%s in %s (threshold %" PRIu64 "%s)",
                         src, count, s, on, dur, a->threshold, esc);
                break;
        }
        case FW_DET_SWEEP_PORT:
                snprintf(buf, buflen,
                         "%s contacted %s host%s on port %u in %s (threshold %" PRIu64 "%s)", src,
                         count, s, (unsigned)a->dport, dur, a->threshold, esc);
                break;
        case FW_DET_PORTSCAN:
                snprintf(buf, buflen, "%s probed %s port%s on %s in %s (threshold %" PRIu64 "%s)",
                         src, count, s, dst, dur, a->threshold, esc);
                break;
        case FW_DET_SPIKE:
                snprintf(buf, buflen,
                         "%s opened %s session%s in %s (baseline %s, threshold %" PRIu64 "%s)", src,
                         count, s, dur, base, a->threshold, esc);
                break;
        case FW_DET_SPIKE_TOTAL:
                snprintf(buf, buflen,
                         "%s session%s from all sources in %s (baseline %s, threshold %" PRIu64
                         "%s)",
                         count, s, dur, base, a->threshold, esc);
                break;
        default: {
                /* a rule counts from the epoch start: the span that says something is from
                 * its first matching session to its last, and none for a single session */
                char span[FW_LOG_TIME_MAX + 4] = "";

                if (a->count > 1 && a->first_seen_ms >= 0 && a->last_seen_ms >= a->first_seen_ms) {
                        memcpy(span, " in ", 5);
                        fw_log_duration(a->last_seen_ms - a->first_seen_ms, span + 4,
                                        sizeof(span) - 4);
                }
                snprintf(buf, buflen,
                         "%s had %s session%s matching rule %s%s (threshold %" PRIu64 "%s)", src,
                         count, s, rule_id_of(a), span, a->threshold, esc);
                break;
        }
        }
}

/* rule.name of an expression rule: the rule's 'name' from the rules file or, without one, what
 * it selects ("Sessions matching <expression>", cut on a UTF-8 boundary) rather than repeating
 * rule.id. */
static json_t *rule_name(const fw_alert_t *a) {
        enum { MAXLEN = 120 };
        const char *text;
        char buf[MAXLEN + 32];
        size_t n;

        if (a->kind != FW_DET_RULE)
                return json_string(kind_title(a->kind));
        if (a->rule_cfg == NULL || a->rule_cfg->expr == NULL)
                return json_string(kind_title(a->kind));
        if (a->rule_cfg->title != NULL && a->rule_cfg->title[0] != '\0')
                return jstr(a->rule_cfg->title);
        text = fw_expr_text(a->rule_cfg->expr);
        n = strlen(text);
        if (n > MAXLEN) {
                n = MAXLEN;
                while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
                        n--; /* not inside a UTF-8 sequence */
        }
        snprintf(buf, sizeof(buf), "Sessions matching %.*s%s", (int)n, text,
                 n < strlen(text) ? "\xe2\x80\xa6" : "");
        return jstr(buf);
}

/* rule.reference: where to read about the detection. The scans: their ATT&CK technique
 * (T1046). An expression rule: its 'reference' from the rules file, else its technique's page.
 * "" (omitted) for the spikes, which carry no technique on purpose (docs/alerts.md), and for
 * rules with neither. */
static void rule_reference(const fw_alert_t *a, char *buf, size_t buflen) {
        const char *tech = NULL;

        buf[0] = '\0';
        switch (a->kind) {
        case FW_DET_SWEEP:
        case FW_DET_SWEEP_PORT:
        case FW_DET_PORTSCAN:
                tech = "T1046";
                break;
        case FW_DET_RULE:
                if (a->rule_cfg == NULL)
                        break;
                if (a->rule_cfg->reference != NULL && a->rule_cfg->reference[0] != '\0') {
                        snprintf(buf, buflen, "%s", a->rule_cfg->reference);
                        return;
                }
                tech = a->rule_cfg->technique;
                break;
        default:
                break;
        }
        if (tech != NULL && technique_wellformed(tech))
                technique_ref(tech, buf, buflen);
}

/* destination.ip: the scanned host of a port scan, or the one destination of a rule alert that
 * counted a single session (its sampled target is then the destination, not one of several). */
static const fw_ip_t *destination_ip(const fw_alert_t *a) {
        if (a->has_dst && a->dst.family != 0)
                return &a->dst;
        if (a->kind == FW_DET_RULE && a->ntargets == 1 && a->count == 1 && a->exact &&
            a->targets[0].family != 0)
                return &a->targets[0];
        return NULL;
}

static json_t *jtime(int64_t ms) {
        char buf[64];

        iso_time(ms, buf, sizeof(buf));
        return json_string(buf);
}

static json_t *jip(const fw_ip_t *ip) {
        char buf[FW_IP_STRLEN];

        return json_string(fw_ip_format(ip, buf, sizeof(buf)));
}

static json_t *jint(uint64_t v) {
        return json_integer(v > (uint64_t)INT64_MAX ? (json_int_t)INT64_MAX : (json_int_t)v);
}

/* Append ip to arr unless already there (related.ip). */
static int add_related(json_t *arr, const fw_ip_t *ip) {
        char buf[FW_IP_STRLEN];
        size_t i;
        json_t *v;

        if (ip->family == 0)
                return 0;
        fw_ip_format(ip, buf, sizeof(buf));
        json_array_foreach(arr, i, v) {
                if (strcmp(json_string_value(v), buf) == 0)
                        return 0;
        }
        return json_array_append_new(arr, json_string(buf));
}

/* fanwatch.tag, the Arkime tag fanwatch-tagger gives the alert's evidence sessions, and with a
 * viewer (link != 0) fanwatch.tag_url, the Sessions page of that tag over the same time range as
 * fanwatch.viewer_url. 0 or -1. */
static int tag_fields(json_t *fw, const fw_alert_json_opts_t *o, const fw_alert_t *a, int link) {
        char tag[sizeof(a->id) + 16], query[sizeof(tag) + 16];
        char *url;
        int err;

        snprintf(tag, sizeof(tag), "fanwatch:%s", a->id);
        err = set(fw, "tag", json_string(tag));
        if (!link)
                return err;
        snprintf(query, sizeof(query), "tags == %s", tag);
        url = viewer_url(o->viewer_url, query, a);
        if (url == NULL)
                return -1;
        err |= set(fw, "tag_url", jstr(url));
        free(url);
        return err;
}

static json_t *build(const fw_alert_t *a, const fw_alert_json_opts_t *o, const char *expr) {
        json_t *root = json_object(), *ev, *rule, *obs, *fw, *win, *sample, *hosts, *ports,
               *related;
        json_t *threat = NULL;
        char msg[512], ref[1100];
        const char *rule_id = rule_id_of(a);
        const fw_ip_t *dip = destination_ip(a);
        char *url = NULL;
        int err = 0;
        uint32_t nt = a->ntargets < FW_ALERT_SAMPLE_MAX ? a->ntargets : FW_ALERT_SAMPLE_MAX;
        uint32_t npo = a->nports < FW_ALERT_SAMPLE_MAX ? a->nports : FW_ALERT_SAMPLE_MAX;

        if (root == NULL)
                return NULL;
        err |= set(root, "@timestamp", jtime(a->window_end_ms));
        message(a, msg, sizeof(msg));
        err |= set(root, "message", jstr(msg));
        err |= set(root, "ecs", json_pack("{s:s}", "version", ECS_VERSION));

        ev = child(root, "event", json_object(), &err);
        if (ev != NULL) {
                err |= set(ev, "kind", json_string("alert"));
                err |= set(ev, "category", json_pack("[ss]", "network", "intrusion_detection"));
                err |= set(ev, "type", json_pack("[s]", "info"));
                err |= set(ev, "module", json_string("fanwatch"));
                err |= set(ev, "dataset", json_string("fanwatch.alert"));
                err |= set(ev, "severity", json_integer(a->severity));
                err |= set(ev, "risk_score", json_real((double)a->severity));
                err |= set(ev, "start", jtime(a->window_start_ms));
                err |= set(ev, "end", jtime(a->window_end_ms));
                err |= set(ev, "id", json_string(a->id));
                if (o != NULL && o->created_ms >= 0)
                        err |= set(ev, "created", jtime(o->created_ms));
                /* the pivot to the evidence, where ECS tools look for it (Elastic Security's
                 * alert flyout, Kibana's URL field formatter); also fanwatch.viewer_url */
                if (o != NULL && o->viewer_url != NULL && o->viewer_url[0] != '\0') {
                        url = viewer_url(o->viewer_url, expr, a);
                        if (url == NULL)
                                err = -1;
                        else {
                                err |= set(ev, "url", jstr(url));
                                err |= set(ev, "reference", jstr(url));
                        }
                }
        }

        rule = child(root, "rule", json_object(), &err);
        if (rule != NULL) {
                err |= set(rule, "id", jstr(rule_id));
                err |= set(rule, "name", rule_name(a));
                if (a->kind == FW_DET_RULE && a->rule_cfg != NULL &&
                    a->rule_cfg->description != NULL && a->rule_cfg->description[0] != '\0')
                        err |= set(rule, "description", jstr(a->rule_cfg->description));
                else
                        err |= set(rule, "description", json_string(kind_description(a->kind)));
                rule_reference(a, ref, sizeof(ref));
                if (ref[0] != '\0')
                        err |= set(rule, "reference", jstr(ref));
                err |= set(rule, "ruleset", json_string("fanwatch"));
                err |= set(rule, "category", json_string(kind_category(a->kind)));
        }

        if (a->has_src && a->src.family != 0) {
                json_t *src = child(root, "source", json_object(), &err);

                if (src != NULL)
                        err |= set(src, "ip", jip(&a->src));
        }
        if (dip != NULL || a->has_dport) {
                json_t *d = child(root, "destination", json_object(), &err);

                if (d != NULL && dip != NULL)
                        err |= set(d, "ip", jip(dip));
                if (d != NULL && a->has_dport)
                        err |= set(d, "port", json_integer(a->dport));
        }

        related = child(root, "related", json_object(), &err);
        if (related != NULL)
                related = child(related, "ip", json_array(), &err);
        if (related != NULL) {
                if (a->has_src)
                        err |= add_related(related, &a->src);
                if (a->has_dst)
                        err |= add_related(related, &a->dst);
                for (uint32_t i = 0; i < nt; i++)
                        err |= add_related(related, &a->targets[i]);
                if (json_array_size(related) == 0)
                        json_object_del(root, "related");
        }

        if (a->trigger != NULL) {
                const fw_session_t *s = a->trigger;
                const char *tr = transport_name(s->ip_protocol);
                json_t *net = child(root, "network", json_object(), &err);
                char iana[8];

                if (net != NULL) {
                        if (tr != NULL)
                                err |= set(net, "transport", json_string(tr));
                        snprintf(iana, sizeof(iana), "%u", (unsigned)s->ip_protocol);
                        err |= set(net, "iana_number", json_string(iana));
                        if (s->src_ip.family == 4 || s->src_ip.family == 6)
                                err |= set(net, "type",
                                           json_string(s->src_ip.family == 4 ? "ipv4" : "ipv6"));
                }
        }

        if (threat_obj(a, &threat) != 0)
                err = -1;
        else if (threat != NULL)
                err |= set(root, "threat", threat);

        obs = child(root, "observer", json_object(), &err);
        if (obs != NULL) {
                if (o != NULL && o->observer != NULL && o->observer[0] != '\0')
                        err |= set(obs, "name", jstr(o->observer));
                err |= set(obs, "type", json_string("ids"));
                err |= set(obs, "vendor", json_string("fanwatch"));
                err |= set(obs, "product", json_string("fanwatch"));
        }

        fw = child(root, "fanwatch", json_object(), &err);
        if (fw == NULL)
                goto done;
        err |= set(fw, "count", jint(a->count));
        err |= set(fw, "threshold", jint(a->threshold));
        err |= set(fw, "exact", json_boolean(a->exact));
        err |= set(fw, "escalation", json_integer(a->escalation));
        win = child(fw, "window", json_object(), &err);
        if (win != NULL) {
                err |= set(win, "start", jtime(a->window_start_ms));
                err |= set(win, "end", jtime(a->window_end_ms));
                err |= set(win, "length_ms", json_integer(a->window_end_ms - a->window_start_ms));
        }
        err |= set(fw, "epoch_start", jtime(a->epoch_start_ms));
        if (a->first_seen_ms >= 0)
                err |= set(fw, "first_seen", jtime(a->first_seen_ms));
        if (a->last_seen_ms >= 0)
                err |= set(fw, "last_seen", jtime(a->last_seen_ms));
        err |= set(fw, "sessions", jint(a->sessions));
        err |= set(fw, "failed", jint(a->failed));
        err |= set(fw, "failed_ratio",
                   json_real(a->sessions > 0 ? (double)a->failed / (double)a->sessions : 0.0));
        sample = child(fw, "sample", json_object(), &err);
        if (sample != NULL) {
                hosts = child(sample, "hosts", json_array(), &err);
                ports = child(sample, "ports", json_array(), &err);
                for (uint32_t i = 0; hosts != NULL && i < nt; i++)
                        err |= json_array_append_new(hosts, jip(&a->targets[i]));
                for (uint32_t i = 0; ports != NULL && i < npo; i++)
                        err |= json_array_append_new(ports, json_integer(a->ports[i]));
        }
        err |= set(fw, "state", json_string(a->final ? "ended" : "active"));
        if (a->late)
                err |= set(fw, "late", json_true());
        if (a->nby_port > 0) {
                json_t *bp = child(fw, "by_port", json_array(), &err);

                for (uint32_t i = 0; bp != NULL && i < a->nby_port && i < FW_ALERT_SAMPLE_MAX;
                     i++) {
                        json_t *po = json_object();

                        if (po == NULL || json_array_append_new(bp, po) < 0) {
                                err = 1;
                                break;
                        }
                        err |= set(po, "port", json_integer(a->by_port[i]));
                        err |= set(po, "hosts", jint(a->by_port_hosts[i]));
                }
        }
        if (expr[0] != '\0')
                err |= set(fw, "expression", jstr(expr));
        if (url != NULL)
                err |= set(fw, "viewer_url", jstr(url));
        err |= tag_fields(fw, o, a, url != NULL);
        if (a->kind == FW_DET_SPIKE || a->kind == FW_DET_SPIKE_TOTAL) {
                json_t *b = child(fw, "baseline", json_object(), &err);

                if (b != NULL) {
                        err |= set(b, "mean", jreal(a->baseline_mean));
                        err |= set(b, "dev", jreal(a->baseline_dev));
                }
        }
        if (a->trigger != NULL) {
                const fw_session_t *s = a->trigger;
                json_t *t = child(fw, "trigger", json_object(), &err);

                if (t != NULL) {
                        if (s->id[0] != '\0')
                                err |= set(t, "session_id", jstr(s->id));
                        if (s->node[0] != '\0')
                                err |= set(t, "node", jstr(s->node));
                        if (s->community_id[0] != '\0')
                                err |= set(t, "community_id", jstr(s->community_id));
                }
        }
done:
        free(url);
        if (err) {
                json_decref(root);
                return NULL;
        }
        return root;
}

char *fw_alert_json(const fw_alert_t *a, const fw_alert_json_opts_t *o, size_t *len) {
        char *expr = expr_dup(a), *out;
        json_t *root;

        if (expr == NULL)
                return NULL;
        root = build(a, o, expr);
        free(expr);
        if (root == NULL)
                return NULL;
        out = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
        json_decref(root);
        if (out != NULL && len != NULL)
                *len = strlen(out);
        return out;
}
