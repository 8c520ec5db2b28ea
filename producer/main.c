/* fanwatch-producer: Arkime viewer API -> Kafka sessions topic.
 * This revision loads and validates the configuration (--check-config, including every
 * kafka.<property> through librdkafka); polling Arkime arrives with issue #3. */
#include <stdio.h>

#include "cli.h"
#include "daemon_conf.h"

extern char **environ;

static const fw_conf_def_t producer_defs[] = {
        FW_CONF_COMMON_DEFS,
};

/* The producer's Kafka defaults: idempotent (acks=all, ordered, no duplicates on retry). */
static const fw_kafka_default_t producer_kafka_defaults[] = {
        {"enable.idempotence", "true"},
        {"compression.type", "lz4"},
        {"linger.ms", "20"},
        {NULL, NULL},
};

int main(int argc, char **argv) {
        const fw_cli_spec_t spec = {
                "fanwatch-producer",     "Pull Arkime sessions from the viewer API into Kafka.",
                producer_defs,           sizeof(producer_defs) / sizeof(producer_defs[0]),
                producer_kafka_defaults, NULL,
        };
        fw_conf_t *conf = NULL;
        int rc = fw_cli_load(&spec, argc, argv, environ, &conf);
        if (rc >= 0)
                return rc;
        fprintf(stderr, "fanwatch-producer: pulling from Arkime is not implemented in this "
                        "revision (issue #3); only --check-config works\n");
        fw_conf_free(conf);
        return 2;
}
