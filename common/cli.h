/* cli: the command line the daemons and fanwatch-replay share, and loading their configuration.
 *
 *   PROG [-c FILE] [program options]
 *   PROG [-c FILE] --check-config | --print-config
 *   PROG --print-config-reference | --help | --version
 * The file comes from -c or $FANWATCH_CONFIG (optional); FANWATCH_* variables override it.
 * Errors follow the GNU conventions: a usage error is "PROG: <message>" and
 * "Try 'PROG --help' for more information." on stderr, exit status 2 (PROG is always the
 * program's name, never argv[0]'s path); a configuration error is
 * "PROG: configuration error: <message>", exit status 1. */
#ifndef FW_CLI_H
#define FW_CLI_H

#include <stddef.h>

#include "config.h"
#include "kafka_conf.h"

/* A program-specific command-line option: one taking a value (e.g. --from TIME), or a flag
 * (arg == NULL, e.g. --strict). Use designated initializers. */
typedef struct fw_cli_opt {
        const char *name;   /* long option name, without "--" */
        const char *arg;    /* placeholder for --help, e.g. "TIME"; NULL for a flag */
        const char *help;   /* one line */
        const char **value; /* with arg: set to the argument when given; untouched otherwise */
        int *flag;          /* a flag: set to 1 when given */
        int required;       /* must be given to run (not with --check-config or a print) */
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
        /* Checks of the program's own options once parsed (e.g. --from without --to), before
         * the configuration is loaded; run is 0 for --check-config and --print-config. 0, or -1
         * with a message: a usage error. May be NULL. */
        int (*check_args)(void *ud, int run, char *err, size_t errlen);
        void *args_ud;
} fw_cli_spec_t;

/* Parse argv and load the configuration (file, environment, validation, spec->check).
 * Returns -1 when the process should continue running with *conf set (the caller frees it);
 * otherwise the exit status to return from main (0 after --help, --version, a successful
 * --check-config or a print; 1 on a configuration error, 2 on a usage error), with the error
 * already written to stderr. */
int fw_cli_load(const fw_cli_spec_t *spec, int argc, char **argv, char *const *envp,
                fw_conf_t **conf);

/* Write a usage error ("PROG: <message>" and "Try 'PROG --help' ...") to stderr; returns 2, the
 * exit status of a usage error. */
int fw_cli_usage_error(const char *prog, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* A daemon's signals: handler on SIGTERM and SIGINT (it should only set a flag), SIGPIPE ignored
 * (a closed socket is an error to handle, not a reason to die). */
void fw_cli_handle_signals(void (*handler)(int));

#endif
