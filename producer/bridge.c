#include "bridge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arkime_page.h"
#include "errmsg.h"
#include "log.h"

#define BATCH_MESSAGES 10000 /* messages per delivery round */
#define BATCH_SESSIONS 50000 /* sessions per delivery round */

/* 1 when the group gave this consumer partitions (a quiet topic sends no batch). */
static int has_assignment(rd_kafka_t *rk) {
        rd_kafka_topic_partition_list_t *a = NULL;
        if (rd_kafka_assignment(rk, &a) != RD_KAFKA_RESP_ERR_NO_ERROR || !a)
                return 0;
        int n = a->cnt;
        rd_kafka_topic_partition_list_destroy(a);
        return n > 0;
}

int fw_bridge_parse(fw_arkime_page_t *p, const char *msg, size_t len, char *err, size_t errlen) {
        size_t count0 = p->count, rejected0 = p->rejected;
        char id[FW_SESSION_ID_MAX + 1];
        int pending = 0, docs = 0;
        size_t pos = 0, lineno = 0;
        while (pos < len) {
                const char *nl = memchr(msg + pos, '\n', len - pos);
                size_t end = nl ? (size_t)(nl - msg) : len;
                const char *line = msg + pos;
                size_t n = end - pos;
                pos = end + 1;
                lineno++;
                while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
                        n--;
                if (n == 0)
                        continue;
                if (!pending) {
                        int h = fw_arkime_bulk_header(line, n, id, sizeof(id));
                        if (h < 0) {
                                snprintf(err, errlen, "line %zu is not JSON", lineno);
                                goto bad;
                        }
                        if (h == 1) {
                                pending = 1;
                                continue;
                        }
                }
                char why[512];
                if (fw_arkime_doc_append(p, line, n, pending && id[0] ? id : NULL,
                                         pending ? strlen(id) : 0, why, sizeof(why)) != 0) {
                        fw_errf(err, errlen, 0, "line %zu: %s", lineno, why);
                        goto bad;
                }
                pending = 0;
                docs++;
        }
        if (pending) {
                snprintf(err, errlen, "bulk header without a document");
                goto bad;
        }
        if (docs == 0) {
                snprintf(err, errlen, "no session document in the message");
                goto bad;
        }
        return docs;
bad:
        p->count = count0; /* nothing from a malformed message */
        p->rejected = rejected0;
        return -1;
}

/* Remember offset+1 of the newest message of each partition in this batch. */
static void note_offset(rd_kafka_topic_partition_list_t *l, const rd_kafka_message_t *m) {
        const char *topic = rd_kafka_topic_name(m->rkt);
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(l, topic, m->partition);
        if (!tp)
                tp = rd_kafka_topic_partition_list_add(l, topic, m->partition);
        if (m->offset + 1 > tp->offset)
                tp->offset = m->offset + 1;
}

/* Send every session of the batch and wait until all are acknowledged, sending again after a
 * failure; gives up only when stopping, STOP_DELIVERY_MS after the stop was seen (then nothing
 * is committed). 0 when all delivered. */
#define STOP_DELIVERY_MS 1200
static int deliver(fw_publisher_t *pub, const fw_arkime_page_t *page, volatile sig_atomic_t *stop,
                   fw_counter_t *kafka_errors) {
        char err[512];
        for (;;) {
                int failed = 0;
                for (size_t i = 0; i < page->count && !failed; i++)
                        if (fw_publisher_send(pub, &page->sessions[i], err, sizeof(err)) != 0)
                                failed = 1;
                if (failed && *stop)
                        return -1;
                long r;
                int waited = 0, stopping = 0; /* in 100 ms steps */
                while (!failed && (r = fw_publisher_wait(pub, 100, err, sizeof(err))) < 0) {
                        if (++waited == 100)
                                fw_warn("bridge", "waiting for Kafka: %s", err);
                        if (*stop && ++stopping * 100 >= STOP_DELIVERY_MS)
                                return -1;
                }
                if (!failed && r == 0)
                        return 0;
                fw_counter_add(kafka_errors, 1);
                fw_warn("bridge", "delivery failed, sending the batch again: %s", err);
                if (*stop)
                        return -1;
        }
}

int fw_bridge_run(const fw_conf_t *conf, rd_kafka_conf_t *cc, fw_publisher_t *pub, fw_metrics_t *m,
                  volatile sig_atomic_t *stop, atomic_int *ready, char *err, size_t errlen) {
        fw_counter_t *consumed = fw_metrics_counter(m, "fanwatch_bridge_messages_total", NULL,
                                                    "Messages consumed from the plugin topic");
        fw_counter_t *malformed =
                fw_metrics_counter(m, "fanwatch_bridge_messages_malformed_total", NULL,
                                   "Plugin messages that could not be read (skipped, logged)");
        fw_counter_t *published =
                fw_metrics_counter(m, "fanwatch_producer_sessions_published_total", NULL,
                                   "Sessions Kafka acknowledged");
        fw_counter_t *rejected =
                fw_metrics_counter(m, "fanwatch_producer_sessions_rejected_total", NULL,
                                   "Sessions missing required fields or with invalid values");
        fw_counter_t *kafka_errors =
                fw_metrics_counter(m, "fanwatch_producer_errors_total", "kind=\"kafka\"",
                                   "Failed polls by cause; the cursor does not move");

        char e[512];
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, cc, e, sizeof(e));
        if (!rk) {
                rd_kafka_conf_destroy(cc);
                snprintf(err, errlen, "bridge consumer: %s", e);
                return -1;
        }
        rd_kafka_poll_set_consumer(rk);
        const char *topic = fw_conf_str(conf, "bridge.topic");
        rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t se = rd_kafka_subscribe(rk, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (se) {
                snprintf(err, errlen, "subscribe %s: %s", topic, rd_kafka_err2str(se));
                rd_kafka_destroy(rk);
                return -1;
        }
        fw_info("bridge", "republishing Arkime capture's Kafka plugin topic %s", topic);

        fw_arkime_page_t page;
        fw_arkime_page_init(&page);
        int rc = 0;
        while (!*stop) {
                rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(8);
                fw_arkime_page_reset(&page);
                size_t n = 0, bad = 0;
                char first_bad[640] = "";
                while (n < BATCH_MESSAGES && page.count < BATCH_SESSIONS && !*stop) {
                        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, n ? 50 : 100);
                        if (!msg)
                                break;
                        if (msg->err) {
                                if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                                        fw_warn("bridge", "consume: %s",
                                                rd_kafka_message_errstr(msg));
                                rd_kafka_message_destroy(msg);
                                continue;
                        }
                        n++;
                        if (fw_bridge_parse(&page, msg->payload, msg->len, e, sizeof(e)) < 0) {
                                if (!bad++)
                                        snprintf(first_bad, sizeof(first_bad),
                                                 "partition %d offset %lld: %s", msg->partition,
                                                 (long long)msg->offset, e);
                        }
                        note_offset(offs, msg);
                        rd_kafka_message_destroy(msg);
                }
                fw_counter_add(consumed, n);
                if (bad) {
                        fw_counter_add(malformed, bad);
                        fw_warn("bridge", "%zu unreadable plugin messages skipped; first: %s", bad,
                                first_bad);
                }
                if (page.rejected) {
                        fw_counter_add(rejected, page.rejected);
                        fw_warn("bridge", "%zu sessions not published: %s", page.rejected,
                                page.first_reject);
                }
                if (page.count && deliver(pub, &page, stop, kafka_errors) != 0) {
                        rd_kafka_topic_partition_list_destroy(offs);
                        break; /* stopping with sessions in doubt: commit nothing */
                }
                fw_counter_add(published, page.count);
                if (ready && !atomic_load(ready) && (n > 0 || has_assignment(rk)))
                        atomic_store(ready, 1); /* /healthz: a batch consumed, or partitions */
                if (offs->cnt) {
                        rd_kafka_resp_err_t ce = rd_kafka_commit(rk, offs, 0);
                        if (ce)
                                fw_warn("bridge",
                                        "offset commit: %s (the messages will be read "
                                        "again)",
                                        rd_kafka_err2str(ce));
                }
                rd_kafka_topic_partition_list_destroy(offs);
        }
        fw_arkime_page_free(&page);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return rc;
}
