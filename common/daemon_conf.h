/* daemon_conf: configuration keys the daemons share. Each daemon's key table starts with
 * FW_CONF_COMMON_DEFS and adds its own keys after it; those that talk to the Arkime viewer
 * (the producer, the tagger) add FW_CONF_ARKIME_DEFS, read by fw_arkime_opts_from_conf. */
#ifndef FW_DAEMON_CONF_H
#define FW_DAEMON_CONF_H

#include "config.h"

#define FW_CONF_COMMON_DEFS                                                                        \
        {"log.level", FW_CT_ENUM,                                                                  \
         "info",      0,                                                                           \
         0,           "debug|info|warn|error",                                                     \
         0,           "minimum level of log lines written to stderr"},                             \
                {"metrics.address",                                                                \
                 FW_CT_ADDRESS,                                                                    \
                 "127.0.0.1",                                                                      \
                 0,                                                                                \
                 0,                                                                                \
                 NULL,                                                                             \
                 0,                                                                                \
                 "address of the /metrics and /healthz endpoint (0.0.0.0 or :: in containers)"},   \
                {"metrics.port",                                                                   \
                 FW_CT_INT,                                                                        \
                 "0",                                                                              \
                 0,                                                                                \
                 65535,                                                                            \
                 NULL,                                                                             \
                 0,                                                                                \
                 "port of the /metrics and /healthz endpoint; 0 picks a free port"},               \
        {                                                                                          \
                "topics.sessions", FW_CT_STRING, "arkime-sessions", 0, 0, NULL, FW_CF_NONEMPTY,    \
                        "Kafka topic of session records (msgpack, key = source IP)"                \
        }

/* The Arkime viewer: where, who, and how to trust it. */
#define FW_CONF_ARKIME_DEFS                                                                        \
        {"arkime.url",                                                                             \
         FW_CT_URL,                                                                                \
         NULL,                                                                                     \
         0,                                                                                        \
         0,                                                                                        \
         NULL,                                                                                     \
         0,                                                                                        \
         "viewer base URL, e.g. https://arkime.example:8005"},                                     \
                {"arkime.user",                                                                    \
                 FW_CT_STRING,                                                                     \
                 NULL,                                                                             \
                 0,                                                                                \
                 0,                                                                                \
                 NULL,                                                                             \
                 0,                                                                                \
                 "API user (create it with addUser.js --apionly, no time limit, no forced "        \
                 "expression)"},                                                                   \
                {"arkime.password",                                                                \
                 FW_CT_STRING,                                                                     \
                 NULL,                                                                             \
                 0,                                                                                \
                 0,                                                                                \
                 NULL,                                                                             \
                 FW_CF_SECRET,                                                                     \
                 "API password; prefer arkime.password_file or the environment"},                  \
                {"arkime.auth",                                                                    \
                 FW_CT_ENUM,                                                                       \
                 "any",                                                                            \
                 0,                                                                                \
                 0,                                                                                \
                 "any|digest|basic|none",                                                          \
                 0,                                                                                \
                 "HTTP authentication: any negotiates digest or basic like curl --anyauth"},       \
                {"arkime.ca_file",                                                                 \
                 FW_CT_STRING,                                                                     \
                 NULL,                                                                             \
                 0,                                                                                \
                 0,                                                                                \
                 NULL,                                                                             \
                 0,                                                                                \
                 "CA certificates (PEM) for the viewer's TLS certificate; default the system "     \
                 "store"},                                                                         \
                {"arkime.tls_verify",                                                              \
                 FW_CT_BOOL,                                                                       \
                 "true",                                                                           \
                 0,                                                                                \
                 0,                                                                                \
                 NULL,                                                                             \
                 0,                                                                                \
                 "verify the viewer's certificate and host name (turn off only for a lab)"},       \
                {"arkime.connect_timeout",   FW_CT_DURATION, "10s", 100, 600000, NULL, 0,          \
                 "TCP + TLS connect timeout"},                                                     \
                {"arkime.compression",                                                             \
                 FW_CT_BOOL,                                                                       \
                 "false",                                                                          \
                 0,                                                                                \
                 0,                                                                                \
                 NULL,                                                                             \
                 0,                                                                                \
                 "ask the viewer for gzip-compressed answers (for a slow link: it costs CPU on "   \
                 "both "                                                                           \
                 "sides)"},                                                                        \
        {                                                                                          \
                "arkime.timeout", FW_CT_DURATION, "120s", 1000, 3600000, NULL, 0,                  \
                        "timeout of one request to the viewer"                                     \
        }

#endif
