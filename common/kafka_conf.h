/* kafka_conf: build a librdkafka configuration from a daemon's defaults and the user's
 * kafka.<property> keys (passed through unchanged; the user's value wins over a default).
 * librdkafka validates every property; a rejection names the key and where it was set. */
#ifndef FW_KAFKA_CONF_H
#define FW_KAFKA_CONF_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "config.h"

/* One default property; arrays of these end with {NULL, NULL}. */
typedef struct fw_kafka_default {
        const char *name;
        const char *value;
} fw_kafka_default_t;

/* Returns a new rd_kafka_conf_t (caller owns it), or NULL with err set, e.g.
 * "conf.ini:7: key 'kafka.acks': librdkafka: Invalid value \"x\" for configuration property
 * \"acks\"". kafka.bootstrap.servers must be set. */
rd_kafka_conf_t *fw_kafka_conf_new(const fw_conf_t *conf, const fw_kafka_default_t *defaults,
                                   char *err, size_t errlen);

#endif
