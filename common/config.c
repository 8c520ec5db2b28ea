/* config: INI file + FANWATCH_* environment, checked against a declarative key table.
 *
 * A fw_conf_t holds one slot per table entry (text as given, parsed number, origin) plus an
 * ordered list of kafka.<prop> passthrough properties. Every value enters through conf_set(),
 * which parses it by type and formats errors as "<where>: key '<key>': <problem>". Secret
 * values never reach an error message or fw_conf_dump(). */
#include "config.h"

#include "ini_file.h"
#include "suggest.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENV_PREFIX   "FANWATCH_"
#define ENV_CONFIG   "FANWATCH_CONFIG"
#define KAFKA_PREFIX "kafka."
#define FILE_SUFFIX  "_file"
#define SECRET_MAX   (64 * 1024) /* largest secret file we read */
#define REDACTED     "<redacted>"
#define INI_LINE_MAX 198 /* longest line the INI reader takes, without its newline */

/* Current value of one table key. */
/* Where a slot was last set, to refuse a key given twice in one file (or in the environment):
 * gen is the load (file or environment) that set it, 0 for none or fw_conf_set(). */
typedef struct conf_set_mark {
        unsigned gen;
        int line;     /* the key's first line in the file (0 in the environment) */
        int via_file; /* set as "<key>_file" */
} conf_set_mark_t;

typedef struct conf_val {
        char *text;   /* value as text (NULL: unset, no default) */
        int64_t num;  /* INT, DURATION (ms), BOOL (0/1) */
        char *origin; /* NULL: the default */
        conf_set_mark_t mark;
} conf_val_t;

/* One kafka.<prop> passthrough property. */
typedef struct conf_prop {
        char *prop; /* without the "kafka." prefix */
        char *value;
        char *origin;
        conf_set_mark_t mark;
} conf_prop_t;

struct fw_conf {
        const fw_conf_def_t *defs;
        size_t ndefs;
        conf_val_t *vals; /* ndefs entries */
        conf_prop_t *props;
        size_t nprops, cprops;
        unsigned gen, ngen; /* the load in progress (0: none), loads so far */
        int line;           /* line of the key being set by the file load */
};

/* ---------------------------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------------------------- */

static void oom(void) {
        fprintf(stderr, "fanwatch: config: out of memory\n");
        abort();
}

static void *xmalloc(size_t n) {
        void *p = malloc(n ? n : 1);
        if (!p)
                oom();
        return p;
}

static char *xstrdup(const char *s) {
        size_t n = strlen(s) + 1;
        return memcpy(xmalloc(n), s, n);
}

/* Overwrite a string before freeing it, so secrets do not linger on the heap. */
static void wipe_free(char *s) {
        if (!s)
                return;
        volatile char *p = s;
        while (*p)
                *p++ = 0;
        free(s);
}

/* A programming error in the caller (bad key, wrong type, bad table): report and abort. */
static void die(const char *fn, const char *key, const char *problem) {
        fprintf(stderr, "fanwatch: config: %s(\"%s\"): %s\n", fn, key ? key : "(null)", problem);
        abort();
}

static int starts_with(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends_with(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Case-insensitive substring test (strcasestr is not POSIX). */
static int contains_ci(const char *s, const char *needle) {
        size_t m = strlen(needle);
        for (; *s; s++) {
                size_t i = 0;
                while (i < m && s[i] &&
                       tolower((unsigned char)s[i]) == tolower((unsigned char)needle[i]))
                        i++;
                if (i == m)
                        return 1;
        }
        return 0;
}

static int is_kafka_key(const char *key) {
        return starts_with(key, KAFKA_PREFIX);
}

/* A kafka property whose value is a secret: a name containing "password" or "secret", or one
 * of librdkafka's properties that hold a key or credentials inline. */
static int is_secret_prop(const char *prop) {
        static const char *const inline_secrets[] = {"ssl.key.pem", "ssl_key",
                                                     "sasl.oauthbearer.config"};
        for (size_t i = 0; i < sizeof(inline_secrets) / sizeof(inline_secrets[0]); i++)
                if (strcasecmp(prop, inline_secrets[i]) == 0)
                        return 1;
        return contains_ci(prop, "password") || contains_ci(prop, "secret");
}

/* Index of key in the table, or -1. */
static long find_def(const fw_conf_def_t *defs, size_t ndefs, const char *key) {
        for (size_t i = 0; i < ndefs; i++)
                if (strcmp(defs[i].key, key) == 0)
                        return (long)i;
        return -1;
}

/* Index of a kafka property, or -1. */
static long find_prop(const fw_conf_t *conf, const char *prop) {
        for (size_t i = 0; i < conf->nprops; i++)
                if (strcmp(conf->props[i].prop, prop) == 0)
                        return (long)i;
        return -1;
}

/* Write the environment variable name for key into buf: upper-case, '.' -> '_',
 * '_' -> '__', '-' -> '___'. */
static void env_name(const char *key, char *buf, size_t len) {
        size_t n = strlen(ENV_PREFIX);
        if (len == 0)
                return;
        snprintf(buf, len, "%s", ENV_PREFIX);
        for (const char *p = key; *p && n + 1 < len; p++) {
                const char *rep = NULL;
                if (*p == '.')
                        rep = "_";
                else if (*p == '_')
                        rep = "__";
                else if (*p == '-')
                        rep = "___";
                if (rep) {
                        for (; *rep && n + 1 < len; rep++)
                                buf[n++] = *rep;
                } else {
                        buf[n++] = (char)toupper((unsigned char)*p);
                }
        }
        buf[n < len ? n : len - 1] = '\0';
}

/* Map the part of an environment name after FANWATCH_ to a key, the inverse of env_name():
 * lower-case, and each run of underscores read left to right as "___" -> '-', "__" -> '_',
 * "_" -> '.'. Returns a malloc'd string. */
static char *env_to_key(const char *rest, size_t len) {
        char *key = xmalloc(len + 1);
        size_t n = 0, i = 0;
        while (i < len) {
                if (rest[i] != '_') {
                        key[n++] = (char)tolower((unsigned char)rest[i++]);
                        continue;
                }
                size_t run = 0;
                while (i + run < len && rest[i + run] == '_' && run < 3)
                        run++;
                key[n++] = run == 3 ? '-' : run == 2 ? '_' : '.';
                i += run;
        }
        key[n] = '\0';
        return key;
}

/* The table key closest to key (distance <= 2), or NULL. */
static const char *suggest_key(const fw_conf_t *conf, const char *key) {
        const char *best = NULL;
        size_t best_d = 3;
        for (size_t i = 0; i < conf->ndefs; i++) {
                size_t d = fw_edit_distance(key, strlen(key), conf->defs[i].key,
                                            strlen(conf->defs[i].key));
                if (d < best_d) {
                        best_d = d;
                        best = conf->defs[i].key;
                }
        }
        return best;
}

/* ---------------------------------------------------------------------------------------------
 * Value parsing
 * ------------------------------------------------------------------------------------------- */

/* Multipliers for duration units, in ms. */
static const struct {
        const char *unit;
        int64_t ms;
} duration_units[] = {
        {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1},
};

/* Format a duration in ms with the largest unit that divides it exactly ("5m", "250ms"). */
static void format_duration(int64_t ms, char *buf, size_t len) {
        size_t n = sizeof(duration_units) / sizeof(duration_units[0]);
        for (size_t i = 0; i < n; i++) {
                if (ms != 0 && ms % duration_units[i].ms == 0) {
                        snprintf(buf, len, "%" PRId64 "%s", ms / duration_units[i].ms,
                                 duration_units[i].unit);
                        return;
                }
        }
        snprintf(buf, len, "%" PRId64 "ms", ms);
}

/* Parse a decimal integer; the whole string must be a number. 0, -1 (not a number) or
 * -2 (out of int64 range). */
static int parse_int(const char *s, int64_t *out) {
        char *end;
        if (!*s || isspace((unsigned char)*s))
                return -1;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (*end != '\0')
                return -1;
        if (errno == ERANGE)
                return -2;
        *out = (int64_t)v;
        return 0;
}

/* Parse "<digits><unit>" with unit ms|s|m|h|d (none: seconds) into ms. 0, -1 or -2. */
static int parse_duration(const char *s, int64_t *out) {
        const char *p = s;
        int64_t n = 0;
        if (!isdigit((unsigned char)*p))
                return -1;
        for (; isdigit((unsigned char)*p); p++) {
                int d = *p - '0';
                if (n > (INT64_MAX - d) / 10)
                        return -2;
                n = n * 10 + d;
        }
        int64_t mult = 0;
        if (*p == '\0') {
                mult = 1000;
        } else {
                size_t nu = sizeof(duration_units) / sizeof(duration_units[0]);
                for (size_t i = 0; i < nu; i++)
                        if (strcmp(p, duration_units[i].unit) == 0)
                                mult = duration_units[i].ms;
        }
        if (mult == 0)
                return -1;
        if (n > INT64_MAX / mult)
                return -2;
        *out = n * mult;
        return 0;
}

/* Parse a boolean word. 0 or -1. */
static int parse_bool(const char *s, int64_t *out) {
        static const char *const yes[] = {"true", "yes", "on", "1"};
        static const char *const no[] = {"false", "no", "off", "0"};
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
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

/* True if word is one of the '|'-separated choices. */
static int enum_has(const char *choices, const char *word) {
        size_t wl = strlen(word);
        const char *p = choices;
        while (p && *p) {
                const char *bar = strchr(p, '|');
                size_t len = bar ? (size_t)(bar - p) : strlen(p);
                if (len == wl && wl > 0 && strncmp(p, word, len) == 0)
                        return 1;
                p = bar ? bar + 1 : NULL;
        }
        return 0;
}

static int has_bounds(const fw_conf_def_t *d) {
        return !(d->min == 0 && d->max == 0);
}

/* A whole string as a finite double. 0 or -1. */
static int parse_float(const char *s, double *out) {
        char *end;
        if (!*s || isspace((unsigned char)*s))
                return -1;
        errno = 0;
        double v = strtod(s, &end);
        if (*end != '\0' || errno == ERANGE || !isfinite(v))
                return -1;
        *out = v;
        return 0;
}

/* A FLOAT key's interval, from its table text "[lo,hi]", "(lo,hi]", "(lo,inf)"... */
typedef struct interval {
        double lo, hi; /* hi = INFINITY: no upper bound */
        int lo_open, hi_open;
} interval_t;

/* 0, or -1 if text is not an interval. */
static int parse_interval(const char *text, interval_t *iv) {
        char lo[32], hi[32];
        const char *comma = text ? strchr(text, ',') : NULL;
        size_t n = text ? strlen(text) : 0;
        if (!comma || n < 5 || (text[0] != '[' && text[0] != '(') ||
            (text[n - 1] != ']' && text[n - 1] != ')') || (size_t)(comma - text) > sizeof(lo) ||
            n - (size_t)(comma - text) > sizeof(hi))
                return -1;
        snprintf(lo, sizeof(lo), "%.*s", (int)(comma - text - 1), text + 1);
        snprintf(hi, sizeof(hi), "%.*s", (int)(text + n - 1 - comma - 1), comma + 1);
        iv->lo_open = text[0] == '(';
        iv->hi_open = text[n - 1] == ')';
        if (parse_float(lo, &iv->lo) < 0)
                return -1;
        if (strcmp(hi, "inf") == 0) {
                iv->hi = INFINITY;
                iv->hi_open = 1;
        } else if (parse_float(hi, &iv->hi) < 0 || iv->hi < iv->lo) {
                return -1;
        }
        return 0;
}

static int interval_has(const interval_t *iv, double v) {
        return (iv->lo_open ? v > iv->lo : v >= iv->lo) && (iv->hi_open ? v < iv->hi : v <= iv->hi);
}

/* "a number > 1", "a number from 0 to 1", "a number with 0 < x <= 1". */
static void interval_text(const interval_t *iv, char *buf, size_t len) {
        if (isinf(iv->hi))
                snprintf(buf, len, "a number %s %g", iv->lo_open ? ">" : ">=", iv->lo);
        else if (!iv->lo_open && !iv->hi_open)
                snprintf(buf, len, "a number from %g to %g", iv->lo, iv->hi);
        else
                snprintf(buf, len, "a number with %g %s x %s %g", iv->lo,
                         iv->lo_open ? "<" : "<=", iv->hi_open ? "<" : "<=", iv->hi);
}

/* An http:// or https:// URL with a host and no blanks or control bytes. 0 or -1. */
static int parse_url(const char *s) {
        const char *rest = NULL;
        if (strncasecmp(s, "http://", 7) == 0)
                rest = s + 7;
        else if (strncasecmp(s, "https://", 8) == 0)
                rest = s + 8;
        if (!rest || *rest == '\0' || *rest == '/' || *rest == ':' || *rest == '?' || *rest == '#')
                return -1;
        for (const char *p = s; *p; p++)
                if ((unsigned char)*p <= ' ' || *p == 0x7f)
                        return -1;
        return 0;
}

/* An IPv4 or IPv6 literal, IPv6 optionally in brackets (what common/httpd.c listens on). */
static int parse_address(const char *s) {
        unsigned char buf[sizeof(struct in6_addr)];
        char v6[INET6_ADDRSTRLEN + 1];
        size_t len = strlen(s);
        if (inet_pton(AF_INET, s, buf) == 1)
                return 0;
        if (len >= 2 && s[0] == '[' && s[len - 1] == ']' && len - 2 < sizeof(v6)) {
                memcpy(v6, s + 1, len - 2);
                v6[len - 2] = '\0';
                s = v6;
        }
        return inet_pton(AF_INET6, s, buf) == 1 ? 0 : -1;
}

/* Parse value as def's type into *num. On failure write the problem (without the key or origin)
 * into prob and return -1. The value is quoted in the problem only if show is set. */
static int parse_value(const fw_conf_def_t *d, const char *value, int show, int64_t *num,
                       char *prob, size_t plen) {
        char got[300] = "";
        int rc;
        if (show)
                snprintf(got, sizeof(got), ", got '%s'", value);
        *num = 0;
        switch (d->type) {
        case FW_CT_STRING:
                if ((d->flags & FW_CF_NONEMPTY) && !*value) {
                        snprintf(prob, plen, "must not be empty");
                        return -1;
                }
                return 0;
        case FW_CT_URL:
                if (*value && parse_url(value) < 0) {
                        snprintf(prob, plen,
                                 "expected an http:// or https:// URL such as "
                                 "https://arkime.example:8005%s",
                                 got);
                        return -1;
                }
                return 0;
        case FW_CT_ADDRESS:
                if (parse_address(value) < 0) {
                        snprintf(prob, plen,
                                 "expected an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0 or "
                                 "::%s",
                                 got);
                        return -1;
                }
                return 0;
        case FW_CT_INT:
                rc = parse_int(value, num);
                if (rc == -1) {
                        snprintf(prob, plen, "expected an integer%s", got);
                        return -1;
                }
                if (rc == -2) {
                        snprintf(prob, plen, "integer out of range%s", got);
                        return -1;
                }
                if (has_bounds(d) && (*num < d->min || *num > d->max)) {
                        snprintf(prob, plen, "must be between %" PRId64 " and %" PRId64 "%s",
                                 d->min, d->max, got);
                        return -1;
                }
                return 0;
        case FW_CT_BOOL:
                if (parse_bool(value, num) < 0) {
                        snprintf(prob, plen, "expected true/false, yes/no, on/off or 1/0%s", got);
                        return -1;
                }
                return 0;
        case FW_CT_DURATION:
                rc = parse_duration(value, num);
                if (rc == -1) {
                        snprintf(prob, plen, "expected a duration such as 300s or 5m%s", got);
                        return -1;
                }
                if (rc == -2) {
                        snprintf(prob, plen, "duration out of range%s", got);
                        return -1;
                }
                if (has_bounds(d) && (*num < d->min || *num > d->max)) {
                        char lo[32], hi[32];
                        format_duration(d->min, lo, sizeof(lo));
                        format_duration(d->max, hi, sizeof(hi));
                        snprintf(prob, plen, "must be between %s and %s%s", lo, hi, got);
                        return -1;
                }
                return 0;
        case FW_CT_ENUM:
                if (!enum_has(d->choices, value)) {
                        snprintf(prob, plen, "expected one of %s%s", d->choices, got);
                        return -1;
                }
                return 0;
        case FW_CT_FLOAT: {
                interval_t iv;
                double v;
                char what[96];
                if (parse_interval(d->choices, &iv) < 0) {
                        snprintf(prob, plen, "bad interval in the key table");
                        return -1;
                }
                interval_text(&iv, what, sizeof(what));
                if (parse_float(value, &v) < 0 || !interval_has(&iv, v)) {
                        snprintf(prob, plen, "expected %s%s", what, got);
                        return -1;
                }
                return 0;
        }
        }
        snprintf(prob, plen, "unknown type");
        return -1;
}

/* ---------------------------------------------------------------------------------------------
 * Setting values
 * ------------------------------------------------------------------------------------------- */

/* Refuse a second setting of one slot within one load (conf->gen): a key given twice in a file,
 * or a secret given both as <key> and <key>_file (in the file, or in the environment). key is
 * the slot's key ("arkime.password"), via_file the form being set now, m and prior where the
 * slot was set. The same key again on the same line is a continuation line, not a duplicate. */
static int dup_check(const fw_conf_t *conf, const conf_set_mark_t *m, const char *prior,
                     const char *key, int via_file, const char *where, char *err, size_t errlen) {
        if (conf->gen == 0 || m->gen != conf->gen)
                return 0;
        if (conf->line > 0 && m->line == conf->line && m->via_file == via_file)
                return 0;
        const char *now_sfx = via_file ? FILE_SUFFIX : "",
                   *before_sfx = m->via_file ? FILE_SUFFIX : "";
        if (m->via_file == via_file && conf->line > 0) {
                snprintf(err, errlen,
                         "%s: key '%s%s': duplicate key, already set at %s (give each key once)",
                         where, key, now_sfx, prior);
        } else if (m->via_file == via_file) {
                snprintf(err, errlen, "%s: key '%s%s': set twice in the environment", where, key,
                         now_sfx);
        } else if (conf->line > 0) {
                snprintf(err, errlen,
                         "%s: key '%s%s': '%s%s' is already set at %s: give a secret or its "
                         "'%s' form, not both",
                         where, key, now_sfx, key, before_sfx, prior, FILE_SUFFIX);
        } else {
                char other[300], env[320];
                snprintf(other, sizeof(other), "%s%s", key, before_sfx);
                env_name(other, env, sizeof(env));
                snprintf(err, errlen,
                         "%s: key '%s%s': %s is set too: give a secret or its '%s' form, not both",
                         where, key, now_sfx, env, FILE_SUFFIX);
        }
        return -1;
}

static conf_set_mark_t mark_now(const fw_conf_t *conf, int via_file) {
        conf_set_mark_t m = {conf->gen, conf->line, via_file};
        return m;
}

/* dup_check() for kafka.<prop>. */
static int prop_dup_check(const fw_conf_t *conf, const char *prop, int via_file, const char *where,
                          char *err, size_t errlen) {
        long i = find_prop(conf, prop);
        if (i < 0)
                return 0;
        char key[300];
        snprintf(key, sizeof(key), "%s%s", KAFKA_PREFIX, prop);
        return dup_check(conf, &conf->props[i].mark, conf->props[i].origin, key, via_file, where,
                         err, errlen);
}

/* dup_check() for table entry i. */
static int def_dup_check(const fw_conf_t *conf, size_t i, int via_file, const char *where,
                         char *err, size_t errlen) {
        const conf_val_t *v = &conf->vals[i];
        return dup_check(conf, &v->mark, v->origin ? v->origin : "default", conf->defs[i].key,
                         via_file, where, err, errlen);
}

/* Store a kafka.<prop> value: replaced in place if already set, else appended. */
static int set_prop(fw_conf_t *conf, const char *key, const char *value, const char *where,
                    const char *origin, int via_file, char *err, size_t errlen) {
        const char *prop = key + strlen(KAFKA_PREFIX);
        if (*prop == '\0') {
                snprintf(err, errlen, "%s: key '%s': missing kafka property name", where, key);
                return -1;
        }
        long i = find_prop(conf, prop);
        conf_prop_t *p;
        if (i >= 0) {
                p = &conf->props[i];
                wipe_free(p->value);
                free(p->origin);
        } else {
                if (conf->nprops == conf->cprops) {
                        size_t c = conf->cprops ? conf->cprops * 2 : 8;
                        conf_prop_t *np = realloc(conf->props, c * sizeof(*np));
                        if (!np)
                                oom();
                        conf->props = np;
                        conf->cprops = c;
                }
                p = &conf->props[conf->nprops++];
                p->prop = xstrdup(prop);
        }
        p->value = xstrdup(value);
        p->origin = xstrdup(origin);
        p->mark = mark_now(conf, via_file);
        return 0;
}

/* Parse and store a value for table entry i; errors call it name (the key as written). */
static int set_def(fw_conf_t *conf, size_t i, const char *name, const char *value,
                   const char *where, const char *origin, int via_file, char *err, size_t errlen) {
        const fw_conf_def_t *d = &conf->defs[i];
        int secret = (d->flags & FW_CF_SECRET) != 0;
        char prob[512];
        int64_t num;

        if (parse_value(d, value, !secret, &num, prob, sizeof(prob)) < 0) {
                snprintf(err, errlen, "%s: key '%s': %s", where, name, prob);
                return -1;
        }
        conf_val_t *v = &conf->vals[i];
        wipe_free(v->text);
        free(v->origin);
        v->text = xstrdup(value);
        v->num = num;
        v->origin = xstrdup(origin);
        v->mark = mark_now(conf, via_file);
        return 0;
}

/* Read a secret file for "<key>_file": owner-only permissions, at most SECRET_MAX bytes,
 * one trailing newline (LF or CRLF) stripped. Returns a malloc'd string or NULL with err set.
 * Errors name the path and the "_file" key, never the contents. */
static char *read_secret_file(const char *path, const char *where, const char *key, char *err,
                              size_t errlen) {
        struct stat st;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                snprintf(err, errlen, "%s: key '%s': cannot open '%s': %s", where, key, path,
                         strerror(errno));
                return NULL;
        }
        if (fstat(fd, &st) < 0) {
                snprintf(err, errlen, "%s: key '%s': cannot stat '%s': %s", where, key, path,
                         strerror(errno));
                close(fd);
                return NULL;
        }
        if (!S_ISREG(st.st_mode)) {
                snprintf(err, errlen, "%s: key '%s': '%s' is not a regular file", where, key, path);
                close(fd);
                return NULL;
        }
        if (st.st_mode & 077) {
                snprintf(err, errlen,
                         "%s: key '%s': secret file '%s' has mode %04o; it must not be readable "
                         "or writable by group or others (chmod 600 or 400)",
                         where, key, path, (unsigned)(st.st_mode & 07777));
                close(fd);
                return NULL;
        }

        char *buf = xmalloc(SECRET_MAX + 1);
        size_t n = 0;
        for (;;) {
                ssize_t r = read(fd, buf + n, SECRET_MAX + 1 - n);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        snprintf(err, errlen, "%s: key '%s': cannot read '%s': %s", where, key,
                                 path, strerror(errno));
                        goto fail;
                }
                if (r == 0)
                        break;
                n += (size_t)r;
                if (n > SECRET_MAX) {
                        snprintf(err, errlen, "%s: key '%s': '%s' is larger than %d bytes", where,
                                 key, path, SECRET_MAX);
                        goto fail;
                }
        }
        close(fd);
        if (n > 0 && buf[n - 1] == '\n')
                n--;
        if (n > 0 && buf[n - 1] == '\r')
                n--;
        buf[n] = '\0';
        if (memchr(buf, '\0', n)) {
                snprintf(err, errlen, "%s: key '%s': '%s' contains a NUL byte", where, key, path);
                memset(buf, 0, SECRET_MAX + 1);
                free(buf);
                return NULL;
        }
        return buf;

fail:
        close(fd);
        memset(buf, 0, SECRET_MAX + 1);
        free(buf);
        return NULL;
}

/* "kafka.<prop>_file = path" (env FANWATCH_KAFKA_<PROP>__FILE) for a secret property, one whose
 * name contains "password" or "secret": kafka.<prop> is set to the file's contents, read like a
 * table secret's file. No librdkafka property name ends in "_file", so any other such key is a
 * mistake and refused. */
static int set_prop_file(fw_conf_t *conf, const char *key, const char *path, const char *where,
                         const char *origin, char *err, size_t errlen) {
        size_t blen = strlen(key) - strlen(FILE_SUFFIX);
        char *base = xmalloc(blen + 1);
        memcpy(base, key, blen);
        base[blen] = '\0';
        int rc = -1;
        if (!is_secret_prop(base + strlen(KAFKA_PREFIX))) {
                snprintf(err, errlen,
                         "%s: key '%s': unknown key (only kafka properties whose name contains "
                         "'password' or 'secret' have a '%s' form)",
                         where, key, FILE_SUFFIX);
        } else if (prop_dup_check(conf, base + strlen(KAFKA_PREFIX), 1, where, err, errlen) == 0) {
                char *secret = read_secret_file(path, where, key, err, errlen);
                if (secret) {
                        rc = set_prop(conf, base, secret, where, origin, 1, err, errlen);
                        wipe_free(secret);
                }
        }
        free(base);
        return rc;
}

/* Set key from text. where prefixes error messages ("conf.ini:3", "environment FANWATCH_X");
 * origin is what fw_conf_origin() reports afterwards. */
static int conf_set(fw_conf_t *conf, const char *key, const char *value, const char *where,
                    const char *origin, char *err, size_t errlen) {
        if (is_kafka_key(key) && ends_with(key, FILE_SUFFIX))
                return set_prop_file(conf, key, value, where, origin, err, errlen);
        if (is_kafka_key(key)) {
                if (prop_dup_check(conf, key + strlen(KAFKA_PREFIX), 0, where, err, errlen) < 0)
                        return -1;
                return set_prop(conf, key, value, where, origin, 0, err, errlen);
        }

        long i = find_def(conf->defs, conf->ndefs, key);
        if (i >= 0) {
                if (def_dup_check(conf, (size_t)i, 0, where, err, errlen) < 0)
                        return -1;
                return set_def(conf, (size_t)i, key, value, where, origin, 0, err, errlen);
        }

        /* "<secret key>_file = path": the value is the file's contents. */
        if (ends_with(key, FILE_SUFFIX)) {
                size_t blen = strlen(key) - strlen(FILE_SUFFIX);
                char *base = xmalloc(blen + 1);
                memcpy(base, key, blen);
                base[blen] = '\0';
                i = find_def(conf->defs, conf->ndefs, base);
                free(base);
                if (i >= 0 && (conf->defs[i].flags & FW_CF_SECRET)) {
                        if (def_dup_check(conf, (size_t)i, 1, where, err, errlen) < 0)
                                return -1;
                        char *secret = read_secret_file(value, where, key, err, errlen);
                        if (!secret)
                                return -1;
                        int rc = set_def(conf, (size_t)i, key, secret, where, origin, 1, err,
                                         errlen);
                        wipe_free(secret);
                        return rc;
                }
                if (i >= 0) {
                        snprintf(err, errlen,
                                 "%s: key '%s': unknown key (only secret keys have a '%s' form)",
                                 where, key, FILE_SUFFIX);
                        return -1;
                }
        }

        const char *hint = suggest_key(conf, key);
        if (hint)
                snprintf(err, errlen, "%s: key '%s': unknown key (did you mean '%s'?)", where, key,
                         hint);
        else
                snprintf(err, errlen, "%s: key '%s': unknown key", where, key);
        return -1;
}

/* ---------------------------------------------------------------------------------------------
 * Lifecycle
 * ------------------------------------------------------------------------------------------- */

/* Check one table entry for mistakes a programmer could make; abort on any. */
static void check_def(const fw_conf_def_t *defs, size_t i) {
        const fw_conf_def_t *d = &defs[i];
        if (!d->key || !*d->key)
                die("fw_conf_new", d->key, "empty key in table");
        if (is_kafka_key(d->key))
                die("fw_conf_new", d->key, "kafka.* keys are passthrough, not table entries");
        if (find_def(defs, i, d->key) >= 0)
                die("fw_conf_new", d->key, "duplicate key in table");
        if (d->type == FW_CT_ENUM && (!d->choices || !*d->choices))
                die("fw_conf_new", d->key, "enum without choices");
        interval_t iv;
        if (d->type == FW_CT_FLOAT && parse_interval(d->choices, &iv) < 0)
                die("fw_conf_new", d->key, "float without an interval such as (0,1]");
        if (d->min > d->max)
                die("fw_conf_new", d->key, "min > max");
        if ((d->flags & FW_CF_REQUIRED) && d->def)
                die("fw_conf_new", d->key, "a required key cannot have a default");
}

fw_conf_t *fw_conf_new(const fw_conf_def_t *defs, size_t ndefs) {
        fw_conf_t *conf = xmalloc(sizeof(*conf));
        conf->defs = defs;
        conf->ndefs = ndefs;
        conf->vals = xmalloc(ndefs * sizeof(conf->vals[0]));
        conf->props = NULL;
        conf->nprops = conf->cprops = 0;
        conf->gen = conf->ngen = 0;
        conf->line = 0;
        for (size_t i = 0; i < ndefs; i++) {
                conf_val_t *v = &conf->vals[i];
                char prob[512];
                check_def(defs, i);
                v->text = NULL;
                v->num = 0;
                v->origin = NULL;
                v->mark = (conf_set_mark_t){0, 0, 0};
                if (!defs[i].def)
                        continue;
                int show = !(defs[i].flags & FW_CF_SECRET);
                if (parse_value(&defs[i], defs[i].def, show, &v->num, prob, sizeof(prob)) < 0)
                        die("fw_conf_new", defs[i].key, prob);
                v->text = xstrdup(defs[i].def);
        }
        return conf;
}

void fw_conf_free(fw_conf_t *conf) {
        if (!conf)
                return;
        for (size_t i = 0; i < conf->ndefs; i++) {
                wipe_free(conf->vals[i].text);
                free(conf->vals[i].origin);
        }
        for (size_t i = 0; i < conf->nprops; i++) {
                free(conf->props[i].prop);
                wipe_free(conf->props[i].value);
                free(conf->props[i].origin);
        }
        free(conf->vals);
        free(conf->props);
        free(conf);
}

/* ---------------------------------------------------------------------------------------------
 * INI files
 *
 * Read by common/ini_file.c: line numbers, errors in file order, nothing applied after a bad
 * line. A [section] prefixes the keys in it ("section.key"). A value continued on indented lines
 * is set at its first line and again, joined with one space, after each continuation, so a long
 * Arkime expression can be written as
 *     expression = ip.src == 10.0.0.0/8
 *         && port.dst == 445
 * and a bad value is reported at the key's first line; the value keeps that line as its origin.
 * ------------------------------------------------------------------------------------------- */

typedef struct load_ctx {
        fw_conf_t *conf;
        const char *path;
        char *err;
        size_t errlen;
} load_ctx_t;

/* fw_ini_file_ops_t.on_value: set the dotted key to the value so far. */
static int load_value(void *user, int line, const char *section, const char *name,
                      const char *value) {
        load_ctx_t *ctx = user;
        size_t klen = strlen(section) + strlen(name) + 2;
        char *key = xmalloc(klen);
        if (*section)
                snprintf(key, klen, "%s.%s", section, name);
        else
                snprintf(key, klen, "%s", name);
        ctx->conf->line = line;
        int wlen = snprintf(NULL, 0, "%s:%d", ctx->path, line) + 1;
        char *where = xmalloc((size_t)wlen);
        snprintf(where, (size_t)wlen, "%s:%d", ctx->path, line);
        int rc = conf_set(ctx->conf, key, value, where, where, ctx->err, ctx->errlen);
        free(where);
        free(key);
        return rc < 0 ? -1 : 0;
}

int fw_conf_load_file(fw_conf_t *conf, const char *path, char *err, size_t errlen) {
        static const fw_ini_file_ops_t ops = {.header_word = "section", .on_value = load_value};
        load_ctx_t ctx = {conf, path, err, errlen};
        conf->gen = ++conf->ngen;
        int rc = fw_ini_file_read(path, &ops, &ctx, err, errlen);
        conf->gen = 0;
        conf->line = 0;
        return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Environment, explicit sets, validation
 * ------------------------------------------------------------------------------------------- */

int fw_conf_load_env(fw_conf_t *conf, char *const *envp, char *err, size_t errlen) {
        size_t plen = strlen(ENV_PREFIX);
        conf->gen = ++conf->ngen;
        conf->line = 0;
        for (; envp && *envp; envp++) {
                const char *var = *envp;
                const char *eq = strchr(var, '=');
                if (!eq || !starts_with(var, ENV_PREFIX))
                        continue;
                size_t nlen = (size_t)(eq - var);
                if (nlen == strlen(ENV_CONFIG) && strncmp(var, ENV_CONFIG, nlen) == 0)
                        continue;

                char *key = env_to_key(var + plen, nlen - plen);
                char *where = xmalloc(nlen + 16);
                snprintf(where, nlen + 16, "environment %.*s", (int)nlen, var);
                int rc = conf_set(conf, key, eq + 1, where, "environment", err, errlen);
                free(where);
                free(key);
                if (rc < 0) {
                        conf->gen = 0;
                        return -1;
                }
        }
        conf->gen = 0;
        return 0;
}

int fw_conf_set(fw_conf_t *conf, const char *key, const char *value, const char *origin, char *err,
                size_t errlen) {
        if (!key || !value)
                die("fw_conf_set", key, "NULL key or value");
        if (!origin)
                origin = "set";
        return conf_set(conf, key, value, origin, origin, err, errlen);
}

int fw_conf_validate(const fw_conf_t *conf, char *err, size_t errlen) {
        for (size_t i = 0; i < conf->ndefs; i++) {
                const fw_conf_def_t *d = &conf->defs[i];
                char env[256];
                if (!(d->flags & FW_CF_REQUIRED) || conf->vals[i].origin)
                        continue;
                env_name(d->key, env, sizeof(env));
                if (d->flags & FW_CF_SECRET) {
                        snprintf(err, errlen,
                                 "key '%s' is required (set it in the config file, or as %s or "
                                 "%s__FILE)",
                                 d->key, env, env);
                } else {
                        snprintf(err, errlen,
                                 "key '%s' is required (set it in the config file or as %s)",
                                 d->key, env);
                }
                return -1;
        }
        return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Getters
 * ------------------------------------------------------------------------------------------- */

/* The value slot for key, aborting if key is not in the table or not of type t
 * (t2 is a second accepted type, or -1). */
static const conf_val_t *get_val(const fw_conf_t *conf, const char *fn, const char *key, int t,
                                 int t2) {
        long i = key ? find_def(conf->defs, conf->ndefs, key) : -1;
        if (i < 0)
                die(fn, key, "key is not in the table");
        int type = (int)conf->defs[i].type;
        if (type == FW_CT_URL || type == FW_CT_ADDRESS)
                type = FW_CT_STRING; /* text checked on the way in */
        if (type != t && type != t2)
                die(fn, key, "wrong type for this getter");
        return &conf->vals[i];
}

int fw_conf_has_key(const fw_conf_t *conf, const char *key) {
        return key && find_def(conf->defs, conf->ndefs, key) >= 0;
}

/* Also accepts kafka.<prop> (NULL if that property is not set). */
const char *fw_conf_str(const fw_conf_t *conf, const char *key) {
        if (key && is_kafka_key(key)) {
                long i = find_prop(conf, key + strlen(KAFKA_PREFIX));
                return i >= 0 ? conf->props[i].value : NULL;
        }
        return get_val(conf, "fw_conf_str", key, FW_CT_STRING, FW_CT_ENUM)->text;
}

/* An unset INT without default reads as 0. */
int64_t fw_conf_int(const fw_conf_t *conf, const char *key) {
        return get_val(conf, "fw_conf_int", key, FW_CT_INT, -1)->num;
}

int fw_conf_bool(const fw_conf_t *conf, const char *key) {
        return get_val(conf, "fw_conf_bool", key, FW_CT_BOOL, -1)->num != 0;
}

int64_t fw_conf_duration_ms(const fw_conf_t *conf, const char *key) {
        return get_val(conf, "fw_conf_duration_ms", key, FW_CT_DURATION, -1)->num;
}

/* Checked on the way in; an unset FLOAT without default reads as 0. */
double fw_conf_float(const fw_conf_t *conf, const char *key) {
        const conf_val_t *v = get_val(conf, "fw_conf_float", key, FW_CT_FLOAT, -1);
        double d = 0;
        if (v->text != NULL && parse_float(v->text, &d) < 0)
                d = 0;
        return d;
}

/* For kafka.<prop>, "default" means not set (librdkafka's default applies). */
const char *fw_conf_origin(const fw_conf_t *conf, const char *key) {
        if (key && is_kafka_key(key)) {
                long i = find_prop(conf, key + strlen(KAFKA_PREFIX));
                return i >= 0 ? conf->props[i].origin : "default";
        }
        long i = key ? find_def(conf->defs, conf->ndefs, key) : -1;
        if (i < 0)
                die("fw_conf_origin", key, "key is not in the table");
        return conf->vals[i].origin ? conf->vals[i].origin : "default";
}

int fw_conf_kafka_foreach(const fw_conf_t *conf,
                          int (*fn)(const char *prop, const char *value, void *ud), void *ud) {
        for (size_t i = 0; i < conf->nprops; i++) {
                int rc = fn(conf->props[i].prop, conf->props[i].value, ud);
                if (rc != 0)
                        return rc;
        }
        return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------------------------------- */

/* Write a comment line, cut to what the INI reader takes, control bytes shown as '?'. */
__attribute__((format(printf, 2, 3))) static void dump_comment(FILE *out, const char *fmt, ...) {
        char line[INI_LINE_MAX + 1];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        for (char *p = line; *p; p++)
                if ((unsigned char)*p < ' ' || *p == 0x7f)
                        *p = '?';
        fprintf(out, "%s\n", line);
}

/* Can value be written after "key = " so that the INI reader gives it back? No newline or other
 * control byte but tab, no leading or trailing blank (inih strips them), no " ;" and no leading
 * ';' (a comment). */
static int ini_writable(const char *v) {
        size_t n = strlen(v);
        if (n > 0 && (isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1])))
                return 0;
        if (v[0] == ';') /* inih: "key = ;x" is a comment after the blank before it */
                return 0;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)v[i];
                if ((c < ' ' && c != '\t') || c == 0x7f)
                        return 0;
                if (c == ';' && i > 0 && isspace((unsigned char)v[i - 1]))
                        return 0;
        }
        return 1;
}

/* Write "key = value" over continuation lines of at most INI_LINE_MAX bytes, split at single
 * spaces (the reader joins the pieces with one space); a piece must not start like a comment.
 * Returns -1, writing nothing, when the value cannot be split so. */
static int dump_split(FILE *out, const char *key, const char *v) {
        const char *indent = "    ";
        size_t n = strlen(v), cuts[256], ncuts = 0, pos = 0;
        size_t room = INI_LINE_MAX - strlen(key) - 3;
        if (strlen(key) + 3 >= INI_LINE_MAX)
                return -1;
        while (n - pos > room) {
                size_t best = 0;
                for (size_t i = pos + 1; i < n && i - pos <= room; i++)
                        if (v[i] == ' ' && v[i - 1] != ' ' && v[i + 1] != ' ' && v[i + 1] != ';' &&
                            v[i + 1] != '#' && v[i + 1] != '\0')
                                best = i;
                if (best == 0 || ncuts == sizeof(cuts) / sizeof(cuts[0]))
                        return -1;
                cuts[ncuts++] = best;
                pos = best + 1;
                room = INI_LINE_MAX - strlen(indent);
        }
        pos = 0;
        for (size_t c = 0; c <= ncuts; c++) {
                size_t end = c < ncuts ? cuts[c] : n;
                fprintf(out, "%s%s%.*s\n", c == 0 ? key : indent, c == 0 ? " = " : "",
                        (int)(end - pos), v + pos);
                pos = end + 1;
        }
        return 0;
}

/* One "key = value  ; origin" entry (see fw_conf_dump). */
static void dump_entry(FILE *out, const char *key, const char *value, const char *origin,
                       int secret) {
        if (secret) {
                dump_comment(out, "# %s = %s  ; %s (a secret is never printed: give it again)", key,
                             REDACTED, origin);
                return;
        }
        if (!ini_writable(value)) {
                dump_comment(out,
                             "# %s: the value from %s cannot be written in an INI file (a "
                             "newline, leading or trailing blanks or ' ;'); set it in the "
                             "environment",
                             key, origin);
                return;
        }
        if (strlen(key) + strlen(value) + strlen(origin) + 7 <= INI_LINE_MAX &&
            !strpbrk(origin, "\r\n")) {
                fprintf(out, "%s = %s  ; %s\n", key, value, origin);
                return;
        }
        dump_comment(out, "; %s: %s", key, origin);
        if (dump_split(out, key, value) < 0)
                dump_comment(out,
                             "# %s: the value from %s is too long for one INI line and has no "
                             "space to split it at; set it in the environment",
                             key, origin);
}

void fw_conf_dump(const fw_conf_t *conf, FILE *out) {
        for (size_t i = 0; i < conf->ndefs; i++) {
                const fw_conf_def_t *d = &conf->defs[i];
                const conf_val_t *v = &conf->vals[i];
                if (!v->text) {
                        fprintf(out, "# %s is not set\n", d->key);
                        continue;
                }
                dump_entry(out, d->key, v->text, v->origin ? v->origin : "default",
                           (d->flags & FW_CF_SECRET) != 0);
        }
        for (size_t i = 0; i < conf->nprops; i++) {
                const conf_prop_t *p = &conf->props[i];
                char key[512];
                snprintf(key, sizeof(key), "%s%s", KAFKA_PREFIX, p->prop);
                dump_entry(out, key, p->value, p->origin, is_secret_prop(p->prop));
        }
}

/* Write text for a Markdown table cell, escaping '|'. */
static void md_text(FILE *out, const char *s) {
        for (; *s; s++) {
                if (*s == '|')
                        fputc('\\', out);
                fputc(*s, out);
        }
}

/* The Type cell: type name plus range or choices. */
static void md_type(FILE *out, const fw_conf_def_t *d) {
        switch (d->type) {
        case FW_CT_STRING:
                fputs("string", out);
                break;
        case FW_CT_INT:
                fputs("integer", out);
                if (has_bounds(d))
                        fprintf(out, " (%" PRId64 "..%" PRId64 ")", d->min, d->max);
                break;
        case FW_CT_BOOL:
                fputs("boolean", out);
                break;
        case FW_CT_URL:
                fputs("http(s) URL", out);
                break;
        case FW_CT_ADDRESS:
                fputs("IP address", out);
                break;
        case FW_CT_DURATION:
                fputs("duration", out);
                if (has_bounds(d)) {
                        char lo[32], hi[32];
                        format_duration(d->min, lo, sizeof(lo));
                        format_duration(d->max, hi, sizeof(hi));
                        fprintf(out, " (%s..%s)", lo, hi);
                }
                break;
        case FW_CT_FLOAT: {
                interval_t iv;
                char what[96];
                if (parse_interval(d->choices, &iv) == 0) {
                        interval_text(&iv, what, sizeof(what));
                        fputs(what + 2, out); /* "number > 1" */
                }
                break;
        }
        case FW_CT_ENUM:
                fputs("one of ", out);
                for (const char *p = d->choices; *p; p++) {
                        if (*p == '|')
                                fputs("`, `", out);
                        else if (p == d->choices)
                                fprintf(out, "`%c", *p);
                        else
                                fputc(*p, out);
                }
                fputc('`', out);
                break;
        }
        if (d->flags & FW_CF_SECRET)
                fputs(", secret", out);
}

void fw_conf_write_markdown(const fw_conf_def_t *defs, size_t ndefs, FILE *out) {
        fputs("| Key | Type | Default | Environment | Description |\n", out);
        fputs("|-----|------|---------|-------------|-------------|\n", out);
        for (size_t i = 0; i < ndefs; i++) {
                const fw_conf_def_t *d = &defs[i];
                char env[256];
                env_name(d->key, env, sizeof(env));

                fputs("| `", out);
                md_text(out, d->key);
                fputs("` | ", out);
                md_type(out, d);
                fputs(" | ", out);
                if (d->flags & FW_CF_REQUIRED) {
                        fputs("*required*", out);
                } else if (d->def && *d->def) {
                        fputc('`', out);
                        md_text(out, d->def);
                        fputc('`', out);
                } else {
                        fputs("(none)", out);
                }
                fprintf(out, " | `%s`", env);
                if (d->flags & FW_CF_SECRET)
                        fprintf(out, " or `%s__FILE`", env);
                fputs(" | ", out);
                md_text(out, d->doc ? d->doc : "");
                if (d->flags & FW_CF_SECRET)
                        fprintf(out,
                                " May also be read from the file named by `%s%s` "
                                "(mode 0600 or 0400).",
                                d->key, FILE_SUFFIX);
                fputs(" |\n", out);
        }
        fputs("| `kafka.<property>` | string | (librdkafka default) | "
              "`FANWATCH_KAFKA_<PROPERTY>` | Any librdkafka property, passed through unchanged. "
              "A property whose name contains `password` or `secret` (and `ssl.key.pem`, "
              "`sasl.oauthbearer.config`) is redacted in dumps and "
              "may also be read from the file named by `kafka.<property>_file` (env "
              "`FANWATCH_KAFKA_<PROPERTY>__FILE`, mode 0600 or 0400). |\n",
              out);
}
