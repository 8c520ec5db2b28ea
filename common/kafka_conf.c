#include "kafka_conf.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"

typedef struct apply_ctx {
        rd_kafka_conf_t *rk;
        const fw_conf_t *conf;
        const fw_kafka_default_t *defaults;
        char *err;
        size_t errlen;
} apply_ctx_t;

/* The default of prop that fanwatch rules itself, or NULL. */
static const fw_kafka_default_t *ruled(const fw_kafka_default_t *defaults, const char *prop) {
        for (const fw_kafka_default_t *d = defaults; d && d->name; d++)
                if (d->ruled_by != NULL && strcmp(d->name, prop) == 0)
                        return d;
        return NULL;
}

typedef struct overridden_ctx {
        const fw_conf_t *conf;
        const fw_kafka_default_t *defaults;
        char *buf;
        size_t buflen, used, n;
} overridden_ctx_t;

static int note_overridden(const char *prop, const char *value, void *ud) {
        overridden_ctx_t *o = ud;
        const fw_kafka_default_t *d = ruled(o->defaults, prop);
        (void)value;
        if (d == NULL)
                return 0;
        char key[300];
        snprintf(key, sizeof(key), "kafka.%s", prop);
        if (o->used < o->buflen) {
                int w = snprintf(o->buf + o->used, o->buflen - o->used,
                                 "%s%s: key '%s' is ignored: %s decides it (%s = %s)",
                                 o->n ? "\n" : "", fw_conf_origin(o->conf, key), key, d->ruled_by,
                                 d->name, d->value);
                o->used += w > 0 ? (size_t)w : 0;
        }
        o->n++;
        return 0;
}

size_t fw_kafka_conf_overridden(const fw_conf_t *conf, const fw_kafka_default_t *defaults,
                                char *buf, size_t buflen) {
        overridden_ctx_t o = {conf, defaults, buf, buflen, 0, 0};
        if (buflen > 0)
                buf[0] = '\0';
        fw_conf_kafka_foreach(conf, note_overridden, &o);
        return o.n;
}

static int apply_one(const char *prop, const char *value, void *ud) {
        apply_ctx_t *a = ud;
        char rkerr[512];
        if (ruled(a->defaults, prop) != NULL)
                return 0; /* fanwatch's own: the default stays (warned about at the check) */
        if (rd_kafka_conf_set(a->rk, prop, value, rkerr, sizeof(rkerr)) == RD_KAFKA_CONF_OK)
                return 0;
        char key[300];
        snprintf(key, sizeof(key), "kafka.%s", prop);
        snprintf(a->err, a->errlen, "%s: key '%s': librdkafka: %s", fw_conf_origin(a->conf, key),
                 key, rkerr);
        return -1;
}

/* librdkafka's log lines go through fw_log: one line format for the whole process. kafka.* keys
 * are handed to every client a daemon creates, so "a consumer property ignored by this producer"
 * (and the reverse) is expected and logged at debug, not as a warning at every start. Called
 * from librdkafka's threads; fw_log writes each line with one stdio call. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
        /* syslog levels; librdkafka's debug lines (7) appear only when kafka.debug asks for
         * them, so they are shown at info */
        fw_log_level_t l = level <= 3 ? FW_LOG_ERROR : level == 4 ? FW_LOG_WARN : FW_LOG_INFO;
        if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, " property and will be ignored by this"))
                l = FW_LOG_DEBUG;
        fw_log(l, "kafka", "%s: %s: %s", rd_kafka_name(rk), fac, buf);
}

/* Does the broker list name at least one broker (not just blanks and commas)? */
static int has_broker(const char *s) {
        for (; s && *s; s++)
                if (*s != ',' && *s != ' ' && *s != '\t')
                        return 1;
        return 0;
}

rd_kafka_conf_t *fw_kafka_conf_new(const fw_conf_t *conf, const fw_kafka_default_t *defaults,
                                   char *err, size_t errlen) {
        const char *servers = fw_conf_str(conf, "kafka.bootstrap.servers");
        if (!servers) {
                snprintf(err, errlen,
                         "key 'kafka.bootstrap.servers' is required (set it in the [kafka] section "
                         "or as FANWATCH_KAFKA_BOOTSTRAP_SERVERS)");
                return NULL;
        }
        if (!has_broker(servers)) {
                const char *origin = fw_conf_origin(conf, "kafka.bootstrap.servers");
                snprintf(err, errlen,
                         "%s%s: key 'kafka.bootstrap.servers': names no broker (expected "
                         "host:port[,host:port...], e.g. kafka1:9092)",
                         origin,
                         strcmp(origin, "environment") == 0 ? " FANWATCH_KAFKA_BOOTSTRAP_SERVERS"
                                                            : "");
                return NULL;
        }
        rd_kafka_conf_t *rk = rd_kafka_conf_new();
        char rkerr[512];
        for (const fw_kafka_default_t *d = defaults; d && d->name; d++) {
                if (rd_kafka_conf_set(rk, d->name, d->value, rkerr, sizeof(rkerr)) !=
                    RD_KAFKA_CONF_OK) {
                        snprintf(err, errlen, "built-in default %s=%s: %s", d->name, d->value,
                                 rkerr);
                        rd_kafka_conf_destroy(rk);
                        return NULL;
                }
        }
        apply_ctx_t a = {rk, conf, defaults, err, errlen};
        if (fw_conf_kafka_foreach(conf, apply_one, &a) != 0) {
                rd_kafka_conf_destroy(rk);
                return NULL;
        }
        rd_kafka_conf_set_log_cb(rk, log_cb);
        return rk;
}

static void quiet_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
        (void)rk;
        (void)level;
        (void)fac;
        (void)buf;
}

int fw_kafka_conf_check(const fw_conf_t *conf, const fw_kafka_default_t *defaults,
                        rd_kafka_type_t type, const char *group_id, const char *what, char *err,
                        size_t errlen) {
        rd_kafka_conf_t *rk = fw_kafka_conf_new(conf, defaults, err, errlen);
        if (!rk)
                return -1;
        char lines[2048];
        if (fw_kafka_conf_overridden(conf, defaults, lines, sizeof(lines)) > 0) {
                for (char *line = lines, *next; line != NULL; line = next) {
                        next = strchr(line, '\n');
                        if (next != NULL)
                                *next++ = '\0';
                        fw_log(FW_LOG_WARN, "config", "%s: %s", what, line);
                }
        }
        char e[512];
        const char *m = fw_conf_str(conf, "kafka.sasl.oauthbearer.method");
        if (m && strcasecmp(m, "oidc") == 0) {
                /* creating the client would fetch a token from the OIDC endpoint */
                rd_kafka_conf_destroy(rk);
                return 0;
        }
        if ((group_id &&
             rd_kafka_conf_set(rk, "group.id", group_id, e, sizeof(e)) != RD_KAFKA_CONF_OK) ||
            /* no broker: the client is created, checked and destroyed without a connection */
            rd_kafka_conf_set(rk, "bootstrap.servers", "", e, sizeof(e)) != RD_KAFKA_CONF_OK ||
            /* and without running kinit */
            rd_kafka_conf_set(rk, "sasl.kerberos.min.time.before.relogin", "0", e, sizeof(e)) !=
                    RD_KAFKA_CONF_OK) {
                rd_kafka_conf_destroy(rk);
                snprintf(err, errlen, "%s: %s", what, e);
                return -1;
        }
        rd_kafka_conf_set_log_cb(rk, quiet_log_cb);
        rd_kafka_t *h = rd_kafka_new(type, rk, e, sizeof(e));
        if (!h) {
                rd_kafka_conf_destroy(rk);
                snprintf(err, errlen,
                         "librdkafka refuses the configuration of the %s (its defaults and the "
                         "kafka.* keys): %s",
                         what, e);
                return -1;
        }
        rd_kafka_destroy(h);
        return 0;
}
