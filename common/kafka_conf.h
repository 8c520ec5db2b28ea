/* kafka_conf: build a librdkafka configuration from a daemon's defaults and the user's
 * kafka.<property> keys (passed through unchanged; the user's value wins over a default, except
 * for the properties fanwatch rules itself, whose kafka.<property> is ignored with a warning).
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
        /* NULL: a default the user's kafka.<name> overrides. Else the value is fanwatch's own and
         * this names what rules it (a key, e.g. "detector.start", or a rule); a kafka.<name> key
         * is then ignored, with a warning naming both (logged by fw_kafka_conf_check). */
        const char *ruled_by;
} fw_kafka_default_t;

/* The kafka.<prop> keys that defaults ignore (ruled_by set), as one warning line each:
 * "<origin>: key 'kafka.<prop>' is ignored: <ruled_by> decides it (<prop> = <value>)", into buf
 * (lines separated by '\n'); returns how many. */
size_t fw_kafka_conf_overridden(const fw_conf_t *conf, const fw_kafka_default_t *defaults,
                                char *buf, size_t buflen);

/* Returns a new rd_kafka_conf_t (caller owns it), or NULL with err set, e.g.
 * "conf.ini:7: key 'kafka.acks': librdkafka: Invalid value \"x\" for configuration property
 * \"acks\"". kafka.bootstrap.servers must be set. */
rd_kafka_conf_t *fw_kafka_conf_new(const fw_conf_t *conf, const fw_kafka_default_t *defaults,
                                   char *err, size_t errlen);

/* --check-config (and start-up): build the configuration of one client the daemon will create
 * (defaults, then the user's kafka.* keys, then group_id if not NULL), log a warning for each
 * kafka.* key it ignores (fw_kafka_conf_overridden), and create that client with
 * no broker, so that librdkafka's checks of the whole configuration run (e.g. "`acks` must be
 * set to `all` when `enable.idempotence` is true", unreadable ssl.* files) without touching the
 * network; what names the client in errors ("alerts producer"). Skipped for OIDC (creating the
 * client would fetch a token). 0 or -1 with err. */
int fw_kafka_conf_check(const fw_conf_t *conf, const fw_kafka_default_t *defaults,
                        rd_kafka_type_t type, const char *group_id, const char *what, char *err,
                        size_t errlen);

#endif
