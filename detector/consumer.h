/* consumer: the detector daemon's Kafka side. Consumes the sessions topic as one consumer group
 * (cooperative-sticky, incremental assign/unassign), keeps one engine per assigned partition,
 * publishes alerts to the alerts topic (key = alert id) and commits offsets only past sessions
 * whose alerts Kafka acknowledged.
 *
 * Assignment: the committed offset carries the partition's event-time clock in its metadata
 * ("fw1 clock=<ms>"). The partition is rewound to the first message at or after
 * clock - 2 * window - lateness (rd_kafka_offsets_for_times) and the messages up to the committed
 * offset are replayed without alerting, so state, alert epochs and escalation levels are what the
 * previous owner had; then it goes live. A new group starts at detector.start: earliest (all
 * live), or latest (the last 2 * window + lateness by wall clock replayed silently).
 * Revocation commits what is safe and drops the partition's state. */
#ifndef FW_CONSUMER_H
#define FW_CONSUMER_H

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"
#include "metrics.h"

typedef struct fw_detector_opts {
        const char *sessions_topic;
        const char *alerts_topic;
        int start_latest; /* detector.start = latest */
        int64_t commit_interval_ms;
        int threads;            /* worker threads feeding the engines (partition id % threads) */
        const char *observer;   /* observer.name in alerts */
        const char *viewer_url; /* alert.viewer_url, NULL for none */
} fw_detector_opts_t;

/* Health as /healthz reads it (written by the loop, read by the HTTP thread). */
typedef struct fw_detector_health {
        _Atomic int64_t last_progress_ms;     /* wall time the loop last ran */
        _Atomic int64_t broker_down_since_ms; /* 0 while brokers are reachable */
        atomic_int assigned;                  /* the group assigned partitions (at least once) */
        atomic_int topic_missing;             /* the broker says the sessions topic is unknown */
        const char *topic;                    /* the sessions topic (set by fw_detector_run) */
} fw_detector_health_t;

/* Run until *stop: takes ownership of consumer_conf and producer_conf (also on failure).
 * On stop (within 2 s of *stop being raised): alerts flushed, safe offsets committed, group
 * left; alerts Kafka has not acknowledged within the budget keep their offsets uncommitted.
 * Kafka unreachable or the topic missing is not fatal: the loop keeps waiting (health says so).
 * Returns 0, or -1 with err on a fatal error (e.g. the sessions topic does not exist). */
int fw_detector_run(const fw_detector_opts_t *o, const fw_detect_cfg_t *dcfg,
                    rd_kafka_conf_t *consumer_conf, rd_kafka_conf_t *producer_conf, fw_metrics_t *m,
                    fw_detector_health_t *health, volatile sig_atomic_t *stop, char *err,
                    size_t errlen);

/* Parse the clock from commit metadata ("fw1 clock=<ms>"); 0 and *clock_ms, or -1. */
int fw_detector_meta_clock(const void *meta, size_t len, int64_t *clock_ms);

#endif
