/* detect_conf: the detector's key table, the detection keys turned into a fw_detect_cfg_t, and
 * the expression rules file.
 *
 * Every error names where the offending value came from, as common/config.c does:
 *   "<file>:<line>: key '<key>': <problem>", "environment FANWATCH_X: key '<key>': <problem>"
 * or "default: key '<key>': ..." when a default clashes with a value set elsewhere. Rules file
 * errors name the rules file and line: "<file>:<line>: rule '<name>' key '<key>': <problem>".
 *
 * The rules file is read by common/ini_file.c, as the configuration is: errors in file order,
 * nothing applied after a bad line. A key's value may continue on indented lines, joined with
 * one space, and is applied when the next key, section or the end of the file is reached. */
#include "detect_conf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon_conf.h"
#include "ini_file.h"
#include "suggest.h"
#include "utf8.h"

/* ---------------------------------------------------------------------------------------------
 * Key table
 * ------------------------------------------------------------------------------------------- */

#define MS_MIN  60000LL
#define MS_HOUR 3600000LL
#define MS_DAY  86400000LL

/* The keys of a fan-out detection: P the key prefix, RULE its rule id. */
#define FANOUT_DEFS(P, RULE, WHAT, THRESHOLD, THRESHOLD_DOC, SEVERITY, SEVERITY_DOC)               \
        {P ".enabled", FW_CT_BOOL, "true", 0, 0, NULL, 0, WHAT},                                   \
                {P ".threshold", FW_CT_INT, THRESHOLD, 1, 1000000, NULL, 0, THRESHOLD_DOC},        \
                {P ".failed_threshold",                                                            \
                 FW_CT_INT,                                                                        \
                 "0",                                                                              \
                 0,                                                                                \
                 1000000,                                                                          \
                 NULL,                                                                             \
                 0,                                                                                \
                 "lower threshold used while the key's share of failed connections is at least " P \
                 ".failed_share; 0: off"},                                                         \
                {P ".failed_share",                                                                \
                 FW_CT_FLOAT,                                                                      \
                 "0.8",                                                                            \
                 0,                                                                                \
                 0,                                                                                \
                 "[0,1]",                                                                          \
                 0,                                                                                \
                 "share of failed connections (0..1) that applies " P ".failed_threshold"},        \
                {P ".severity", FW_CT_INT, SEVERITY, 0,                                            \
                 100,           NULL,      0,        "event.severity of " RULE " " SEVERITY_DOC},  \
                {P ".allow_src",                                                                   \
                 FW_CT_STRING,                                                                     \
                 "",                                                                               \
                 0,                                                                                \
                 0,                                                                                \
                 NULL,                                                                             \
                 0,                                                                                \
                 "sources never reported by " RULE " (CIDR list, e.g. scanners, monitoring)"},     \
        {                                                                                          \
                P ".allow_dst", FW_CT_STRING, "", 0, 0, NULL, 0,                                   \
                        "destinations not counted by " RULE " (CIDR list)"                         \
        }

/* The keys of a session spike detection (its allow_src apart: the total has none). */
#define SPIKE_DEFS(P, RULE, WHAT, MIN_COUNT, SEVERITY_DOC)                                           \
        {P ".enabled", FW_CT_BOOL, "true", 0, 0, NULL, 0, WHAT},                                     \
                {P ".interval", FW_CT_DURATION, "1m", 1000,                                          \
                 MS_DAY,        NULL,           0,    "counting interval of " RULE},                 \
                {P ".min_count",                                                                     \
                 FW_CT_INT,                                                                          \
                 MIN_COUNT,                                                                          \
                 1,                                                                                  \
                 1000000000,                                                                         \
                 NULL,                                                                               \
                 0,                                                                                  \
                 "sessions in one interval below which " RULE " never alerts"},                      \
                {P ".k", FW_CT_FLOAT,                                                                \
                 "6",    0,                                                                          \
                 0,      "(0,inf)",                                                                  \
                 0,      "alert when the count exceeds the baseline mean + k deviations"},           \
                {P ".alpha", FW_CT_FLOAT,                                                            \
                 "0.1",      0,                                                                      \
                 0,          "(0,1]",                                                                \
                 0,          "weight of the newest interval in the EWMA baseline"},                  \
                {P ".warmup", FW_CT_INT, "10", 1,                                                    \
                 100000,      NULL,      0,    "intervals observed before the baseline is trusted"}, \
        {                                                                                            \
                P ".severity", FW_CT_INT, "21", 0, 100, NULL, 0,                                     \
                        "event.severity of " RULE " " SEVERITY_DOC                                   \
        }

const fw_conf_def_t fw_detector_conf_defs[] = {
        FW_CONF_COMMON_DEFS,
        {"topics.alerts", FW_CT_STRING, "fanwatch-alerts", 0, 0, NULL, FW_CF_NONEMPTY,
         "Kafka topic the alerts are published to (JSON, key = alert id)"},

        /* the daemon */
        {"detector.start", FW_CT_ENUM, "latest", 0, 0, "earliest|latest", 0,
         "where a new consumer group starts; the detector always rebuilds one window of state "
         "before going live"},
        {"detector.commit_interval", FW_CT_DURATION, "1s", 100, 10 * MS_MIN, NULL, 0,
         "how often processed offsets are committed to Kafka"},
        {"detector.threads", FW_CT_INT, "2", 1, 64, NULL, 0,
         "worker threads running the detections; each owns the partitions whose id modulo the "
         "count is its number"},
        {"detector.name", FW_CT_STRING, "", 0, 0, NULL, 0,
         "observer.name in alerts; empty: the host name"},

        /* shared by the detections */
        {"detect.window", FW_CT_DURATION, "5m", 1000, MS_DAY, NULL, 0,
         "sliding window of event time (firstPacket) the detections count over; also the alert "
         "epoch an alert id is derived from"},
        {"detect.lateness", FW_CT_DURATION, "10m", 0, 6 * MS_HOUR, NULL, 0,
         "how late (behind the newest event time) sessions may arrive: Arkime writes an "
         "unanswered SYN after tcpTimeout (8 min); sets idle eviction and the rewind"},
        {"detect.count", FW_CT_ENUM, "failed_or_new", 0, 0, "failed_or_new|all", 0,
         "sessions the fan-out detections count: failed connections, and answered ones to a "
         "destination new to the source (first reached less than a window before, and not within "
         "detect.history before that; Zeek counts failed ones only), or all"},
        {"detect.history", FW_CT_DURATION, "1h", MS_MIN, 7 * MS_DAY, NULL, 0,
         "how long a destination reached with an answered connection stays known to its source "
         "(detect.count = failed_or_new)"},
        {"detect.exact_max", FW_CT_INT, "256", 1, 1000000, NULL, 0,
         "distinct targets counted exactly per key before a HyperLogLog sketch takes over; must "
         "exceed every enabled fan-out threshold so that threshold decisions are exact"},
        {"detect.hll_p", FW_CT_INT, "12", 10, 16, NULL, 0,
         "sketch precision: 2^p registers, relative error about 1.04/sqrt(2^p) (1.6% at 12)"},
        {"detect.max_memory_mb", FW_CT_INT, "1024", 16, 1048576, NULL, 0,
         "cap on detection state in MiB; idle keys, then the least recently seen, are evicted "
         "beyond it"},
        {"detect.sample", FW_CT_INT, "10", 1, FW_ALERT_SAMPLE_MAX, NULL, 0,
         "destination hosts or ports listed in an alert as a sample of the targets"},
        {"detect.rules", FW_CT_STRING, "", 0, 0, NULL, 0,
         "expression rules file (INI, one [rule] per section, see below); empty: no rules"},

        /* alerts */
        {"alert.escalation", FW_CT_FLOAT, "2", 0, 0, "(1,inf)", 0,
         "update an alert (window grouping: raise it again in the same window) when its count "
         "reaches this factor times the count last reported"},
        {"alert.grouping", FW_CT_ENUM, "attack", 0, 0, "attack|window", 0,
         "attack: one alert per key and attack, updated in place (same id) while it grows and "
         "ended after alert.quiet, address_sweep_port folded into address_sweep; window: one "
         "alert per key per window epoch (fanwatch 0.x)"},
        {"alert.quiet", FW_CT_DURATION, "10m", 1000, 7 * MS_HOUR, NULL, 0,
         "attack grouping: an alert ends when its key has had no session for this long (event "
         "time; at most detect.window + detect.lateness); later activity is a new alert"},
        {"alert.update_interval", FW_CT_DURATION, "5m", 0, MS_DAY, NULL, 0,
         "attack grouping: at most one update of an alert per this much event time; growth "
         "held back is reported when the attack ends"},
        {"alert.settle", FW_CT_DURATION, "0s", 0, MS_DAY, NULL, 0,
         "attack grouping: hold an attack's first document until the partition's event time "
         "is this far past its crossing, so that sessions arriving out of order cannot name it "
         "by a later window (alert ids equal in any order within it); at most detect.lateness; "
         "0: send at once"},
        {"alert.viewer_url", FW_CT_URL, "", 0, 0, NULL, 0,
         "Arkime viewer base URL for the session links in alerts, e.g. https://arkime:8005; "
         "empty: no links"},

        /* the fan-out detections: one block of keys each */
        FANOUT_DEFS("sweep", "address_sweep",
                    "address sweep: one source reaching many "
                    "destination IPs",
                    "25",
                    "distinct destination IPs of one source in the "
                    "window that raise address_sweep (Zeek scan.zeek: 25)",
                    "47",
                    "(ECS 0-100; 47 = medium in Elastic's risk bands 21/47/73/99: "
                    "reconnaissance, also done by inventory tools)"),
        FANOUT_DEFS("sweep_port", "address_sweep_port",
                    "address sweep on one port: one source "
                    "reaching many destination IPs on the same port",
                    "25",
                    "distinct destination "
                    "IPs of one source and destination port in the window that raise "
                    "address_sweep_port (Zeek scan.zeek: 25)",
                    "73",
                    "(73 = high: one service probed across hosts is how worms and lateral "
                    "movement spread, e.g. SMB or RDP)"),
        FANOUT_DEFS("port_scan", "port_scan",
                    "port scan: one source reaching many ports of one "
                    "destination",
                    "15",
                    "distinct destination ports of one source and "
                    "destination in the window that raise port_scan (Zeek scan.zeek: 15)",
                    "47", "(47 = medium: reconnaissance of one host)"),

        /* the session spikes: per source, and in the whole stream (one Kafka partition) */
        SPIKE_DEFS("spike", "session_spike",
                   "session spike: a source opening far more sessions "
                   "per interval than its baseline",
                   "100",
                   "(21 = low: a rate change, often "
                   "benign)"),
        {"spike.allow_src", FW_CT_STRING, "", 0, 0, NULL, 0,
         "sources never reported by session_spike (CIDR list)"},
        SPIKE_DEFS("spike_total", "session_spike_total",
                   "total session spike: the whole stream "
                   "(one Kafka partition) against its baseline",
                   "1000", "(21 = low)"),
};

const size_t fw_detector_conf_ndefs =
        sizeof(fw_detector_conf_defs) / sizeof(fw_detector_conf_defs[0]);

/* ---------------------------------------------------------------------------------------------
 * Defaults and release
 * ------------------------------------------------------------------------------------------- */

#define DEF_SEVERITY_RULE 47

/* Built-in rule ids; a rule section may not take one (they are alert rule ids). */
static const char *const builtin_ids[] = {
        "address_sweep", "address_sweep_port", "port_scan", "session_spike", "session_spike_total",
};

/* Key prefixes of the fan-out detections, indexed like fw_detect_cfg_t.fanout. */
static const char *const fanout_prefix[3] = {"sweep", "sweep_port", "port_scan"};

static int cfg_from_conf(const fw_conf_t *conf, fw_detect_cfg_t *c, char *err, size_t errlen);

/* The defaults are the key table's: a configuration holding only them, read as any other. */
void fw_detect_cfg_defaults(fw_detect_cfg_t *cfg) {
        char err[512];
        memset(cfg, 0, sizeof(*cfg));
        fw_conf_t *conf = fw_conf_new(fw_detector_conf_defs, fw_detector_conf_ndefs);
        if (cfg_from_conf(conf, cfg, err, sizeof(err)) < 0) {
                /* the table's own defaults are valid (test_detect_conf): not reached; a
                 * zeroed configuration is refused by fw_engine_new */
                fw_detect_cfg_release(cfg);
        }
        fw_conf_free(conf);
}

static void rule_free(fw_rule_cfg_t *r) {
        free(r->name);
        free(r->technique);
        free(r->title);
        free(r->description);
        free(r->reference);
        fw_expr_free(r->expr);
        fw_cidr_list_free(&r->allow_src);
        memset(r, 0, sizeof(*r));
}

void fw_detect_cfg_release(fw_detect_cfg_t *cfg) {
        if (!cfg)
                return;
        for (int i = 0; i < 3; i++) {
                fw_cidr_list_free(&cfg->fanout[i].allow_src);
                fw_cidr_list_free(&cfg->fanout[i].allow_dst);
        }
        fw_cidr_list_free(&cfg->spike.allow_src);
        fw_cidr_list_free(&cfg->spike_total.allow_src);
        for (size_t i = 0; i < cfg->nrules; i++)
                rule_free(&cfg->rules[i]);
        free(cfg->rules);
        memset(cfg, 0, sizeof(*cfg));
}

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

static char *dup_str(const char *s) {
        size_t n = strlen(s) + 1;
        char *p = malloc(n);
        if (p)
                memcpy(p, s, n);
        return p;
}

/* Where key's value came from, for error messages: "<file>:<line>", "default", or
 * "environment FANWATCH_<KEY>" (the variable named as common/config.c does). */
static const char *where(const fw_conf_t *conf, const char *key, char *buf, size_t len) {
        const char *origin = fw_conf_origin(conf, key);
        if (strcmp(origin, "environment") != 0)
                return origin;
        size_t n = (size_t)snprintf(buf, len, "environment FANWATCH_");
        for (const char *p = key; *p && n + 4 < len; p++) {
                if (*p == '.') {
                        buf[n++] = '_';
                } else if (*p == '_') {
                        buf[n++] = '_';
                        buf[n++] = '_';
                } else if (*p == '-') {
                        buf[n++] = '_';
                        buf[n++] = '_';
                        buf[n++] = '_';
                } else {
                        buf[n++] = (char)toupper((unsigned char)*p);
                }
        }
        buf[n] = '\0';
        return buf;
}

/* "<origin>: key '<key>': <problem>" into err. */
__attribute__((format(printf, 5, 6))) static int
key_error(const fw_conf_t *conf, const char *key, char *err, size_t errlen, const char *fmt, ...) {
        char wbuf[256], prob[768];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prob, sizeof(prob), fmt, ap);
        va_end(ap);
        snprintf(err, errlen, "%s: key '%s': %s", where(conf, key, wbuf, sizeof(wbuf)), key, prob);
        return -1;
}

static int conf_cidrs(const fw_conf_t *conf, const char *key, fw_cidr_list_t *list, char *err,
                      size_t errlen) {
        char bad[256];
        const char *s = fw_conf_str(conf, key);
        if (fw_cidr_list_parse(s ? s : "", list, bad, sizeof(bad)) < 0)
                return key_error(conf, key, err, errlen,
                                 "bad CIDR '%s' (expected addresses or prefixes such as "
                                 "10.0.0.0/8, separated by commas or spaces)",
                                 bad);
        return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Rules file
 * ------------------------------------------------------------------------------------------- */

#define RULE_NAME_MAX 64

enum {
        RK_EXPRESSION = 1 << 0,
        RK_THRESHOLD = 1 << 1,
        RK_SEVERITY = 1 << 2,
        RK_TECHNIQUE = 1 << 3,
        RK_ALLOW_SRC = 1 << 4,
        RK_ENABLED = 1 << 5,
        RK_NAME = 1 << 6,
        RK_DESCRIPTION = 1 << 7,
        RK_REFERENCE = 1 << 8,
};

static const struct {
        const char *name;
        unsigned bit;
} rule_keys[] = {
        {"expression", RK_EXPRESSION},
        {"threshold", RK_THRESHOLD},
        {"severity", RK_SEVERITY},
        {"technique", RK_TECHNIQUE},
        {"allow_src", RK_ALLOW_SRC},
        {"enabled", RK_ENABLED},
        {"name", RK_NAME},
        {"description", RK_DESCRIPTION},
        {"reference", RK_REFERENCE},
};
#define NRULE_KEYS (sizeof(rule_keys) / sizeof(rule_keys[0]))

/* A rule name seen in this file (disabled ones too), for duplicate checks. */
typedef struct seen_name {
        char name[RULE_NAME_MAX + 1];
        int line;
} seen_name_t;

typedef struct rules_ctx {
        fw_detect_cfg_t *cfg;
        const char *path;
        int lineno; /* line of the header or key being handled */
        int failed;
        int oom;

        /* the rule being read */
        int in_rule;
        int rule_line;
        unsigned rule_seen; /* RK_* given */
        int rule_enabled;
        fw_rule_cfg_t rule;

        seen_name_t *seen;
        size_t nseen, cseen;

        char *err;
        size_t errlen;
} rules_ctx_t;

__attribute__((format(printf, 3, 4))) static void rules_fail(rules_ctx_t *ctx, int line,
                                                             const char *fmt, ...) {
        va_list ap;
        if (ctx->failed)
                return;
        va_start(ap, fmt);
        fw_ini_file_verrorf(ctx->err, ctx->errlen, ctx->path, line, fmt, ap);
        va_end(ap);
        ctx->failed = 1;
}

static void rules_oom(rules_ctx_t *ctx) {
        rules_fail(ctx, ctx->lineno, "out of memory");
        ctx->oom = 1;
}

/* "<file>:<line>: rule '<name>' key '<key>': <problem>" */
__attribute__((format(printf, 3, 4))) static void key_fail(rules_ctx_t *ctx, const char *key,
                                                           const char *fmt, ...) {
        char msg[700];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        rules_fail(ctx, ctx->lineno, "rule '%s' key '%s': %s", ctx->rule.name, key, msg);
}

static int parse_uint_range(const char *s, long long lo, long long hi, long long *out) {
        char *end;
        if (!*s || isspace((unsigned char)*s))
                return -1;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (*end || errno == ERANGE || v < lo || v > hi)
                return -1;
        *out = v;
        return 0;
}

/* T1234 or T1234.567 (MITRE ATT&CK technique or sub-technique id). */
static int valid_technique(const char *s) {
        if (s[0] != 'T')
                return 0;
        for (int i = 1; i <= 4; i++)
                if (!isdigit((unsigned char)s[i]))
                        return 0;
        if (s[5] == '\0')
                return 1;
        if (s[5] != '.')
                return 0;
        for (int i = 6; i <= 8; i++)
                if (!isdigit((unsigned char)s[i]))
                        return 0;
        return s[9] == '\0';
}

static int parse_bool_word(const char *s, int *out) {
        static const char *const yes[] = {"true", "yes", "on", "1"};
        static const char *const no[] = {"false", "no", "off", "0"};
        for (size_t i = 0; i < 4; i++) {
                if (strcasecmp(s, yes[i]) == 0) {
                        *out = 1;
                        return 0;
                }
                if (strcasecmp(s, no[i]) == 0) {
                        *out = 0;
                        return 0;
                }
        }
        return -1;
}

/* fw_ini_file_ops_t.on_key: apply a complete key (continuations joined) to the rule being read. */
static int rules_key(void *user, int line, const char *section, const char *key, const char *val) {
        rules_ctx_t *ctx = user;
        ctx->lineno = line;
        unsigned bit = 0;
        for (size_t i = 0; i < NRULE_KEYS; i++)
                if (strcmp(key, rule_keys[i].name) == 0)
                        bit = rule_keys[i].bit;
        if (!bit) {
                const char *best = NULL;
                size_t best_d = 3;
                for (size_t i = 0; i < NRULE_KEYS; i++) {
                        size_t d = fw_edit_distance(key, strlen(key), rule_keys[i].name,
                                                    strlen(rule_keys[i].name));
                        if (d < best_d) {
                                best_d = d;
                                best = rule_keys[i].name;
                        }
                }
                if (best)
                        key_fail(ctx, key, "unknown key (did you mean '%s'?)", best);
                else
                        key_fail(ctx, key,
                                 "unknown key (expected expression, threshold, severity, "
                                 "technique, allow_src, enabled, name, description or "
                                 "reference)");
                goto done;
        }
        if (ctx->rule_seen & bit) {
                key_fail(ctx, key, "given twice in this rule");
                goto done;
        }
        ctx->rule_seen |= bit;
        size_t bad;
        if (!fw_utf8_valid(val, &bad)) { /* alerts are JSON: their rule text must be UTF-8 */
                key_fail(ctx, key, "not valid UTF-8 (byte %zu of the value)", bad + 1);
                goto done;
        }

        long long n;
        char msg[600];
        switch (bit) {
        case RK_EXPRESSION:
                if (!*val) {
                        key_fail(ctx, key, "empty expression");
                        break;
                }
                ctx->rule.expr = fw_expr_compile(val, msg, sizeof(msg));
                if (!ctx->rule.expr)
                        key_fail(ctx, key, "%s", msg);
                break;
        case RK_THRESHOLD:
                if (parse_uint_range(val, 1, 1000000000, &n) < 0)
                        key_fail(ctx, key,
                                 "expected matching sessions per window from 1 to 1000000000, "
                                 "got '%s'",
                                 val);
                else
                        ctx->rule.threshold = (uint32_t)n;
                break;
        case RK_SEVERITY:
                if (parse_uint_range(val, 0, 100, &n) < 0)
                        key_fail(ctx, key, "expected an ECS event.severity from 0 to 100, got '%s'",
                                 val);
                else
                        ctx->rule.severity = (int)n;
                break;
        case RK_TECHNIQUE:
                if (!*val)
                        break; /* none */
                if (!valid_technique(val)) {
                        key_fail(ctx, key,
                                 "expected a MITRE ATT&CK id such as T1046 or T1021.002, got "
                                 "'%s'",
                                 val);
                        break;
                }
                ctx->rule.technique = dup_str(val);
                if (!ctx->rule.technique)
                        rules_oom(ctx);
                break;
        case RK_ALLOW_SRC:
                if (fw_cidr_list_parse(val, &ctx->rule.allow_src, msg, sizeof(msg)) < 0)
                        key_fail(ctx, key,
                                 "bad CIDR '%s' (expected addresses or prefixes such as "
                                 "10.0.0.0/8, separated by commas or spaces)",
                                 msg);
                break;
        case RK_NAME:
        case RK_DESCRIPTION: {
                /* the alert's rule.name / rule.description: one line of text for a human */
                char **dst = bit == RK_NAME ? &ctx->rule.title : &ctx->rule.description;
                size_t max = bit == RK_NAME ? 200 : 1000;
                if (!*val)
                        break; /* none */
                if (strlen(val) > max) {
                        key_fail(ctx, key, "at most %zu bytes, got %zu", max, strlen(val));
                        break;
                }
                *dst = dup_str(val);
                if (!*dst)
                        rules_oom(ctx);
                break;
        }
        case RK_REFERENCE:
                if (!*val)
                        break; /* none */
                if ((strncmp(val, "https://", 8) != 0 && strncmp(val, "http://", 7) != 0) ||
                    strlen(val) > 1000 || strpbrk(val, " \t\"<>") != NULL) {
                        key_fail(ctx, key,
                                 "expected an http:// or https:// URL without spaces (the "
                                 "alert's rule.reference), got '%s'",
                                 val);
                        break;
                }
                ctx->rule.reference = dup_str(val);
                if (!ctx->rule.reference)
                        rules_oom(ctx);
                break;
        case RK_ENABLED:
                if (parse_bool_word(val, &ctx->rule_enabled) < 0)
                        key_fail(ctx, key, "expected true/false, yes/no, on/off or 1/0, got '%s'",
                                 val);
                break;
        }
done:
        return ctx->failed ? -1 : 0;
}

/* Finish the rule being read (its last key is applied): check it, keep it if enabled. */
static void end_rule(rules_ctx_t *ctx) {
        if (!ctx->in_rule)
                return;
        if (!ctx->failed && !(ctx->rule_seen & RK_EXPRESSION))
                rules_fail(ctx, ctx->rule_line, "rule '%s': missing key 'expression'",
                           ctx->rule.name);
        if (!ctx->failed && ctx->rule_enabled) {
                fw_detect_cfg_t *cfg = ctx->cfg;
                fw_rule_cfg_t *nr = realloc(cfg->rules, (cfg->nrules + 1) * sizeof(*nr));
                if (!nr) {
                        rules_oom(ctx);
                } else {
                        cfg->rules = nr;
                        cfg->rules[cfg->nrules++] = ctx->rule;
                        memset(&ctx->rule, 0, sizeof(ctx->rule));
                }
        }
        rule_free(&ctx->rule);
        ctx->in_rule = 0;
}

static int valid_rule_name(const char *s, size_t len) {
        if (len < 1 || len > RULE_NAME_MAX)
                return 0;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if (!isalnum(c) && c != '_' && c != '.' && c != '-')
                        return 0;
        }
        return 1;
}

/* A "[name]" line (s points at '['): end the previous rule and start this one. */
static void begin_rule(rules_ctx_t *ctx, const char *s) {
        end_rule(ctx);
        if (ctx->failed)
                return;
        const char *close = strchr(s, ']');
        if (!close)
                return; /* inih reports the syntax error (first pass: stop_line) */
        const char *name = s + 1;
        size_t len = (size_t)(close - name);
        const char *rest = close + 1;
        while (*rest == ' ' || *rest == '\t')
                rest++;
        if (*rest && *rest != ';' && *rest != '#' && *rest != '\r' && *rest != '\n') {
                rules_fail(ctx, ctx->lineno, "unexpected text after ']'");
                return;
        }
        if (!valid_rule_name(name, len)) {
                rules_fail(ctx, ctx->lineno,
                           "bad rule name '%.*s': use 1 to %d characters of A-Z a-z 0-9 _ . -",
                           (int)(len > 80 ? 80 : len), name, RULE_NAME_MAX);
                return;
        }
        char buf[RULE_NAME_MAX + 1];
        memcpy(buf, name, len);
        buf[len] = '\0';
        for (size_t i = 0; i < sizeof(builtin_ids) / sizeof(builtin_ids[0]); i++) {
                if (strcmp(buf, builtin_ids[i]) == 0) {
                        rules_fail(ctx, ctx->lineno,
                                   "rule '%s': the name of a built-in detection; choose another",
                                   buf);
                        return;
                }
        }
        for (size_t i = 0; i < ctx->nseen; i++) {
                if (strcmp(buf, ctx->seen[i].name) == 0) {
                        rules_fail(ctx, ctx->lineno, "rule '%s': defined twice (first at line %d)",
                                   buf, ctx->seen[i].line);
                        return;
                }
        }
        for (size_t i = 0; i < ctx->cfg->nrules; i++) {
                if (strcmp(buf, ctx->cfg->rules[i].name) == 0) {
                        rules_fail(ctx, ctx->lineno, "rule '%s': already loaded", buf);
                        return;
                }
        }
        if (ctx->nseen == ctx->cseen) {
                size_t c = ctx->cseen ? ctx->cseen * 2 : 16;
                seen_name_t *ns = realloc(ctx->seen, c * sizeof(*ns));
                if (!ns) {
                        rules_oom(ctx);
                        return;
                }
                ctx->seen = ns;
                ctx->cseen = c;
        }
        memcpy(ctx->seen[ctx->nseen].name, buf, len + 1);
        ctx->seen[ctx->nseen++].line = ctx->lineno;

        memset(&ctx->rule, 0, sizeof(ctx->rule));
        ctx->rule.name = dup_str(buf);
        if (!ctx->rule.name) {
                rules_oom(ctx);
                return;
        }
        ctx->rule.threshold = 1;
        ctx->rule.severity = DEF_SEVERITY_RULE;
        ctx->rule_enabled = 1;
        ctx->rule_seen = 0;
        ctx->rule_line = ctx->lineno;
        ctx->in_rule = 1;
}

/* fw_ini_file_ops_t.on_section: end the previous rule and start this one. */
static int rules_section(void *user, int line, const char *text) {
        rules_ctx_t *ctx = user;
        ctx->lineno = line;
        begin_rule(ctx, text);
        return ctx->failed ? -1 : 0;
}

/* fw_ini_file_ops_t.on_value: refuse a key outside any rule at once, on its own line (the key is
 * applied by rules_key once complete). */
static int rules_value(void *user, int line, const char *section, const char *name,
                       const char *value) {
        rules_ctx_t *ctx = user;
        if (ctx->in_rule)
                return 0;
        rules_fail(ctx, line, "key '%s': outside any rule (start each rule with a [name] line)",
                   name);
        return -1;
}

/* Load path into cfg->rules. open_prefix, if set, prefixes a "cannot open" error (the key that
 * named the file). On error cfg->rules is as before. */
static int rules_load(fw_detect_cfg_t *cfg, const char *path, const char *open_prefix, char *err,
                      size_t errlen) {
        const fw_ini_file_ops_t ops = {
                .header_word = "rule name",
                .long_line_hint = "continue a long expression on indented lines",
                .open_prefix = open_prefix,
                .on_section = rules_section,
                .on_value = rules_value,
                .on_key = rules_key,
        };
        rules_ctx_t ctx;
        size_t nrules0 = cfg->nrules;

        memset(&ctx, 0, sizeof(ctx));
        ctx.cfg = cfg;
        ctx.path = path;
        ctx.err = err;
        ctx.errlen = errlen;
        if (fw_ini_file_read(path, &ops, &ctx, err, errlen) < 0)
                ctx.failed = 1;
        if (!ctx.failed)
                end_rule(&ctx);

        rule_free(&ctx.rule);
        free(ctx.seen);
        if (ctx.failed) {
                for (size_t i = nrules0; i < cfg->nrules; i++)
                        rule_free(&cfg->rules[i]);
                cfg->nrules = nrules0;
                if (nrules0 == 0) {
                        free(cfg->rules);
                        cfg->rules = NULL;
                }
                return -1;
        }
        return 0;
}

int fw_detect_rules_load(fw_detect_cfg_t *cfg, const char *path, char *err, size_t errlen) {
        return rules_load(cfg, path, NULL, err, errlen);
}

/* ---------------------------------------------------------------------------------------------
 * From the configuration
 * ------------------------------------------------------------------------------------------- */

static int fanout_from_conf(const fw_conf_t *conf, int i, fw_fanout_cfg_t *f, char *err,
                            size_t errlen) {
        const char *p = fanout_prefix[i];
        char k[64], k2[64];
        snprintf(k, sizeof(k), "%s.enabled", p);
        f->enabled = fw_conf_bool(conf, k);
        snprintf(k, sizeof(k), "%s.threshold", p);
        f->threshold = (uint32_t)fw_conf_int(conf, k);
        snprintf(k, sizeof(k), "%s.severity", p);
        f->severity = (int)fw_conf_int(conf, k);
        snprintf(k, sizeof(k), "%s.failed_threshold", p);
        f->failed_threshold = (uint32_t)fw_conf_int(conf, k);
        if (f->failed_threshold != 0 && f->failed_threshold >= f->threshold) {
                snprintf(k2, sizeof(k2), "%s.threshold", p);
                return key_error(conf, k, err, errlen,
                                 "%" PRIu32 " must be lower than %s (%" PRIu32
                                 "), or 0 to turn it off",
                                 f->failed_threshold, k2, f->threshold);
        }
        snprintf(k, sizeof(k), "%s.failed_share", p);
        f->failed_share = fw_conf_float(conf, k);
        snprintf(k, sizeof(k), "%s.allow_src", p);
        if (conf_cidrs(conf, k, &f->allow_src, err, errlen) < 0)
                return -1;
        snprintf(k, sizeof(k), "%s.allow_dst", p);
        if (conf_cidrs(conf, k, &f->allow_dst, err, errlen) < 0)
                return -1;
        return 0;
}

static int spike_from_conf(const fw_conf_t *conf, const char *p, fw_spike_cfg_t *s, int allow,
                           char *err, size_t errlen) {
        char k[64];
        snprintf(k, sizeof(k), "%s.enabled", p);
        s->enabled = fw_conf_bool(conf, k);
        snprintf(k, sizeof(k), "%s.interval", p);
        s->interval_ms = fw_conf_duration_ms(conf, k);
        snprintf(k, sizeof(k), "%s.min_count", p);
        s->min_count = (uint32_t)fw_conf_int(conf, k);
        snprintf(k, sizeof(k), "%s.warmup", p);
        s->warmup = (uint32_t)fw_conf_int(conf, k);
        snprintf(k, sizeof(k), "%s.severity", p);
        s->severity = (int)fw_conf_int(conf, k);
        snprintf(k, sizeof(k), "%s.k", p);
        s->k = fw_conf_float(conf, k);
        snprintf(k, sizeof(k), "%s.alpha", p);
        s->alpha = fw_conf_float(conf, k);
        if (allow) {
                snprintf(k, sizeof(k), "%s.allow_src", p);
                if (conf_cidrs(conf, k, &s->allow_src, err, errlen) < 0)
                        return -1;
        }
        return 0;
}

/* detect.exact_max must exceed every enabled fan-out threshold. The error starts at whichever
 * of the two was set explicitly (exact_max when both or neither were). */
static int check_exact_max(const fw_conf_t *conf, const fw_detect_cfg_t *c, char *err,
                           size_t errlen) {
        for (int i = 0; i < 3; i++) {
                const fw_fanout_cfg_t *f = &c->fanout[i];
                if (!f->enabled || c->exact_max > f->threshold)
                        continue;
                char tk[64], wb[256], wb2[256];
                snprintf(tk, sizeof(tk), "%s.threshold", fanout_prefix[i]);
                int emax_default = strcmp(fw_conf_origin(conf, "detect.exact_max"), "default") == 0;
                int thr_default = strcmp(fw_conf_origin(conf, tk), "default") == 0;
                if (emax_default && !thr_default)
                        return key_error(conf, tk, err, errlen,
                                         "%" PRIu32 " is not below detect.exact_max (%" PRIu32
                                         ", %s); raise detect.exact_max above it so that "
                                         "threshold decisions are exact",
                                         f->threshold, c->exact_max,
                                         where(conf, "detect.exact_max", wb, sizeof(wb)));
                return key_error(conf, "detect.exact_max", err, errlen,
                                 "%" PRIu32 " must be greater than every enabled fan-out "
                                 "threshold, but %s is %" PRIu32 " (%s)",
                                 c->exact_max, tk, f->threshold, where(conf, tk, wb2, sizeof(wb2)));
        }
        return 0;
}

/* Every field of c that a key sets, from conf (c zeroed before); the rules file loaded. 0, or
 * -1 with a message (c then owns what was allocated: release it). */
static int cfg_from_conf(const fw_conf_t *conf, fw_detect_cfg_t *cfg, char *err, size_t errlen) {
        fw_detect_cfg_t c = *cfg;

        c.window_ms = fw_conf_duration_ms(conf, "detect.window");
        c.lateness_ms = fw_conf_duration_ms(conf, "detect.lateness");
        c.exact_max = (uint32_t)fw_conf_int(conf, "detect.exact_max");
        c.hll_p = (uint8_t)fw_conf_int(conf, "detect.hll_p");
        c.max_bytes = (size_t)fw_conf_int(conf, "detect.max_memory_mb") * 1024 * 1024;
        c.sample_max = (uint32_t)fw_conf_int(conf, "detect.sample");

        c.grouping = strcmp(fw_conf_str(conf, "alert.grouping"), "window") == 0 ? FW_GROUP_WINDOW
                                                                                : FW_GROUP_ATTACK;
        c.quiet_ms = fw_conf_duration_ms(conf, "alert.quiet");
        c.count_policy = strcmp(fw_conf_str(conf, "detect.count"), "all") == 0
                                 ? FW_COUNT_ALL
                                 : FW_COUNT_FAILED_OR_NEW;
        c.history_ms = fw_conf_duration_ms(conf, "detect.history");
        c.update_ms = fw_conf_duration_ms(conf, "alert.update_interval");
        c.settle_ms = fw_conf_duration_ms(conf, "alert.settle");
        if (c.settle_ms > c.lateness_ms) {
                char wb[256];
                snprintf(
                        err, errlen,
                        "%s: key 'alert.settle': %lld ms is longer than detect.lateness (%lld ms), "
                        "beyond which sessions are not waited for",
                        where(conf, "alert.settle", wb, sizeof(wb)), (long long)c.settle_ms,
                        (long long)c.lateness_ms);
                goto fail;
        }
        if (c.quiet_ms > c.window_ms + c.lateness_ms) {
                char wb[256];
                snprintf(err, errlen,
                         "%s: key 'alert.quiet': %lld ms is longer than detect.window + "
                         "detect.lateness (%lld ms), after which a key's state is dropped",
                         where(conf, "alert.quiet", wb, sizeof(wb)), (long long)c.quiet_ms,
                         (long long)(c.window_ms + c.lateness_ms));
                goto fail;
        }
        c.escalation = fw_conf_float(conf, "alert.escalation");
        for (int i = 0; i < 3; i++)
                if (fanout_from_conf(conf, i, &c.fanout[i], err, errlen) < 0)
                        goto fail;
        if (check_exact_max(conf, &c, err, errlen) < 0)
                goto fail;
        if (spike_from_conf(conf, "spike", &c.spike, 1, err, errlen) < 0 ||
            spike_from_conf(conf, "spike_total", &c.spike_total, 0, err, errlen) < 0)
                goto fail;

        const char *rules = fw_conf_str(conf, "detect.rules");
        if (rules && *rules) {
                char prefix[400], wb[256];
                snprintf(prefix, sizeof(prefix),
                         "%s: key 'detect.rules': ", where(conf, "detect.rules", wb, sizeof(wb)));
                if (rules_load(&c, rules, prefix, err, errlen) < 0)
                        goto fail;
        }
        *cfg = c;
        return 0;

fail:
        *cfg = c;
        return -1;
}

int fw_detect_cfg_from_conf(const fw_conf_t *conf, fw_detect_cfg_t *cfg, char *err, size_t errlen) {
        fw_detect_cfg_t c;
        memset(&c, 0, sizeof(c));
        c.exact_baseline = cfg->exact_baseline; /* a benchmark switch, not a key: kept */
        if (cfg_from_conf(conf, &c, err, errlen) < 0) {
                int exact_baseline = c.exact_baseline;
                fw_detect_cfg_release(&c);
                fw_detect_cfg_defaults(cfg);
                cfg->exact_baseline = exact_baseline;
                return -1;
        }
        *cfg = c;
        return 0;
}

int fw_detect_cfg_check(const fw_conf_t *conf, char *err, size_t errlen) {
        fw_detect_cfg_t cfg;
        memset(&cfg, 0, sizeof(cfg));
        if (fw_detect_cfg_from_conf(conf, &cfg, err, errlen) != 0)
                return -1;
        fw_detect_cfg_release(&cfg);
        return 0;
}

const char *fw_detect_conf_viewer_url(const fw_conf_t *conf) {
        const char *s = fw_conf_str(conf, "alert.viewer_url");
        return s && *s ? s : NULL;
}
