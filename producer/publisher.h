/* publisher: the Kafka side of the producer. Sessions go to the sessions topic as wire-format
 * records (common/wire.h), key = source IP bytes, timestamp = firstPacket, through an
 * idempotent producer (acks=all, no duplicates or reordering on retry). The caller publishes a
 * slice, then waits until Kafka confirmed every record before it moves its cursor. */
#ifndef FW_PUBLISHER_H
#define FW_PUBLISHER_H

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"

typedef struct fw_publisher fw_publisher_t;

/* Take ownership of conf (also on failure), create the producer and check that topic exists
 * (with create_partitions > 0 a missing topic is created with that many partitions).
 * NULL with err on failure. fw_publisher_create + fw_publisher_check_topic in one. */
fw_publisher_t *fw_publisher_new(rd_kafka_conf_t *conf, const char *topic, int create_partitions,
                                 int timeout_ms, char *err, size_t errlen);

/* Take ownership of conf (also on failure) and create the producer, without touching the
 * network. NULL with err on failure. */
fw_publisher_t *fw_publisher_create(rd_kafka_conf_t *conf, const char *topic, char *err,
                                    size_t errlen);

/* Ask the broker about the topic, waiting up to timeout_ms (with create_partitions > 0 a missing
 * topic is created). 1: it exists; 0: it does not (err says what to do; not worth retrying);
 * -1: no answer (err gives librdkafka's cause, e.g. the connection error: retry later). */
int fw_publisher_check_topic(fw_publisher_t *p, int create_partitions, int timeout_ms, char *err,
                             size_t errlen);

/* While *stop is raised, fw_publisher_send fails at once instead of waiting for room. */
void fw_publisher_set_stop(fw_publisher_t *p, volatile sig_atomic_t *stop);

/* Flush what is in flight (up to timeout_ms), drop what is still unacknowledged, and free. */
void fw_publisher_free(fw_publisher_t *p, int timeout_ms);

/* Cut the part of a librdkafka error text that changes at every attempt ("(after 0ms in state
 * CONNECT, 3 identical error(s) suppressed)"), so that a cause can be logged once. */
void fw_kafka_cause_normalize(char *s);

/* Encode and enqueue one session. Waits (serving delivery reports) while librdkafka's queue is
 * full, so memory stays bounded. 0, or -1 with err (unencodable session or a fatal error). */
int fw_publisher_send(fw_publisher_t *p, const fw_session_t *s, char *err, size_t errlen);

/* Wait until every enqueued record was acknowledged or failed, up to timeout_ms. Returns the
 * number of records that failed since the last call (0 = all delivered), or -1 on timeout
 * (records are still in flight: call again). */
long fw_publisher_wait(fw_publisher_t *p, int timeout_ms, char *err, size_t errlen);

/* Records acknowledged since creation. */
uint64_t fw_publisher_delivered(const fw_publisher_t *p);

#endif
