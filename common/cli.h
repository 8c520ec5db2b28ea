/* cli: the command line both daemons share, and loading their configuration.
 *
 *   fanwatch-<daemon> [-c FILE] [--check-config] [--print-config] [--print-config-reference]
 *                     [-h] [-V]
 * The file comes from -c or $FANWATCH_CONFIG (optional); FANWATCH_* variables override it. */
#ifndef FW_CLI_H
#define FW_CLI_H

#include <stddef.h>

#include "config.h"
#include "kafka_conf.h"

/* A daemon-specific command-line option taking a value (e.g. --from TIME). */
typedef struct fw_cli_opt {
        const char *name;   /* long option name, without "--" */
        const char *arg;    /* placeholder for --help, e.g. "TIME" */
        const char *help;   /* one line */
        const char **value; /* set to the argument when given; untouched otherwise */
} fw_cli_opt_t;

typedef struct fw_cli_spec {
        const char *prog;    /* "fanwatch-producer" */
        const char *summary; /* one line for --help */
        const fw_conf_def_t *defs;
        size_t ndefs;
        /* The daemon's librdkafka defaults; the user's kafka.<prop> keys are applied over them
         * and librdkafka validates the result while loading. */
        const fw_kafka_default_t *kafka_defaults;
        /* 1 for a program that does not talk to Kafka (fanwatch-replay): kafka.<prop> keys are
         * accepted, neither required nor checked. */
        int no_kafka;
        /* Daemon-specific checks after loading (e.g. required kafka properties); 0 or -1 with
         * a message. May be NULL. */
        int (*check)(const fw_conf_t *conf, char *err, size_t errlen);
        const fw_cli_opt_t *extra; /* daemon-specific options, may be NULL */
        size_t nextra;
} fw_cli_spec_t;

/* Parse argv and load the configuration (file, environment, validation, spec->check).
 * Returns -1 when the process should continue running with *conf set (the caller frees it);
 * otherwise the exit status to return from main (0 after --help, --version, a successful
 * --check-config or a print; 1 on a configuration error, 2 on a usage error), with the error
 * already written to stderr. */
int fw_cli_load(const fw_cli_spec_t *spec, int argc, char **argv, char *const *envp,
                fw_conf_t **conf);

#endif
