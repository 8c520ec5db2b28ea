/* fanwatch-detector: sessions topic -> fan-out detections -> alerts topic.
 * This revision loads and validates the configuration (--check-config, including every
 * kafka.<property> through librdkafka); detection arrives with issue #4. */
#include <stdio.h>

#include "cli.h"
#include "daemon_conf.h"

extern char **environ;

static const fw_conf_def_t detector_defs[] = {
        FW_CONF_COMMON_DEFS,
        {"topics.alerts", FW_CT_STRING, "fanwatch-alerts", 0, 0, NULL, 0,
         "Kafka topic the alerts are published to (JSON, key = alert id)"},
};

/* The detector consumes as one group and stores offsets only after handling a record. */
static const fw_kafka_default_t detector_kafka_defaults[] = {
        {"group.id", "fanwatch-detector"},
        {"partition.assignment.strategy", "cooperative-sticky"},
        {"enable.auto.offset.store", "false"},
        {NULL, NULL},
};

int main(int argc, char **argv) {
        const fw_cli_spec_t spec = {
                .prog = "fanwatch-detector",
                .summary = "Detect fan-out (scans, sweeps, lateral movement) in Arkime sessions.",
                .defs = detector_defs,
                .ndefs = sizeof(detector_defs) / sizeof(detector_defs[0]),
                .kafka_defaults = detector_kafka_defaults,
        };
        fw_conf_t *conf = NULL;
        int rc = fw_cli_load(&spec, argc, argv, environ, &conf);
        if (rc >= 0)
                return rc;
        fprintf(stderr, "fanwatch-detector: detection is not implemented in this "
                        "revision (issue #4); only --check-config works\n");
        fw_conf_free(conf);
        return 2;
}
