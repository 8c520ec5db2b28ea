#include "kafka_conf.h"

#include <stdio.h>
#include <string.h>

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
        return rk;
}
