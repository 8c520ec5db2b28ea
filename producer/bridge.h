/* bridge: for sites where Arkime capture's Kafka plugin replaces session writes to OpenSearch
 * (capture/plugins/kafka, so the viewer API sees no sessions): consume the plugin's topic and
 * republish its sessions in fanwatch's wire format and keying, so detectors read one format.
 *
 * kafkaMsgFormat=bulk:  {"index":{"_index":"sessions3-…", "_id": "…"}}\n{doc}\n … (many docs)
 * kafkaMsgFormat=bulk1: the same with one document
 * kafkaMsgFormat=doc:   {doc with "index" (and, in recent Arkime, "_id")}\n
 * All three are recognised per message. Offsets are committed only after Kafka acknowledged
 * every session of the messages before them (at-least-once). */
#ifndef FW_BRIDGE_H
#define FW_BRIDGE_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>

#include "arkime_page.h"
#include "config.h"
#include "metrics.h"
#include "publisher.h"

/* Split one plugin message into session documents and append their sessions to p (which is not
 * reset). Returns the number of documents seen, or -1 with err when the message is not a
 * plugin message (no JSON object line, a header without a document, a line that is not JSON);
 * nothing is appended then. Unusable documents are counted in p->rejected. */
int fw_bridge_parse(fw_arkime_page_t *p, const char *msg, size_t len, char *err, size_t errlen);

/* Consume topics.bridge_source as group bridge.group and republish through pub until *stop
 * (seen within 100 ms; a batch in flight is given up to 1.2 s, then left uncommitted). *ready
 * (may be NULL) is set to 1 once a batch was consumed or partitions were assigned.
 * Returns 0 on a clean stop, -1 with err on a fatal error. */
int fw_bridge_run(const fw_conf_t *conf, rd_kafka_conf_t *consumer_conf, fw_publisher_t *pub,
                  fw_metrics_t *m, volatile sig_atomic_t *stop, atomic_int *ready, char *err,
                  size_t errlen);

#endif
