/* daemon_conf: configuration keys both daemons share. Each daemon's key table starts with
 * FW_CONF_COMMON_DEFS and adds its own keys after it. */
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

#endif
