#include "kafka_conf.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

typedef struct apply_ctx {
        rd_kafka_conf_t *rk;
        const fw_conf_t *conf;
        char *err;
        size_t errlen;
} apply_ctx_t;

static int apply_one(const char *prop, const char *value, void *ud) {
        apply_ctx_t *a = ud;
        char rkerr[512];
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

rd_kafka_conf_t *fw_kafka_conf_new(const fw_conf_t *conf, const fw_kafka_default_t *defaults,
                                   char *err, size_t errlen) {
        if (!fw_conf_str(conf, "kafka.bootstrap.servers")) {
                snprintf(err, errlen,
                         "key 'kafka.bootstrap.servers' is required (set it in the [kafka] section "
                         "or as FANWATCH_KAFKA_BOOTSTRAP_SERVERS)");
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
        apply_ctx_t a = {rk, conf, err, errlen};
        if (fw_conf_kafka_foreach(conf, apply_one, &a) != 0) {
                rd_kafka_conf_destroy(rk);
                return NULL;
        }
        rd_kafka_conf_set_log_cb(rk, log_cb);
        return rk;
}
