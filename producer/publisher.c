#include "publisher.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "wire.h"

struct fw_publisher {
        rd_kafka_t *rk;
        char *topic;
        long in_flight;
        long failed; /* since the last fw_publisher_wait */
        uint64_t delivered;
        char last_error[256];
        char kafka_cause[512]; /* librdkafka's last client error (error_cb), "" when none */
        volatile sig_atomic_t *stop;
};

void fw_kafka_cause_normalize(char *s) {
        /* "... failed: Connection refused (after 0ms in state CONNECT, 3 identical error(s)
         * suppressed)": the parenthesis changes at every attempt */
        char *paren = strstr(s, " (after ");
        if (paren)
                *paren = '\0';
}

/* librdkafka's client errors (broker down, TLS, authentication), served by rd_kafka_poll and
 * rd_kafka_flush on the producer's thread. Kept as the cause shown while waiting for Kafka; the
 * caller logs it (once per cause), so librdkafka's own FAIL lines are at debug (on_log). */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
        (void)rk;
        fw_publisher_t *p = opaque;
        if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && p->kafka_cause[0])
                return; /* the connection error said more */
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
                char why[512];
                rd_kafka_fatal_error(p->rk, why, sizeof(why));
                fw_error("producer", "kafka: fatal error: %s", why);
        }
        snprintf(p->kafka_cause, sizeof(p->kafka_cause), "%s", reason);
        fw_kafka_cause_normalize(p->kafka_cause);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        fw_publisher_t *p = opaque;
        p->in_flight--;
        if (m->err) {
                p->failed++;
                snprintf(p->last_error, sizeof(p->last_error), "%s", rd_kafka_err2str(m->err));
        } else {
                p->delivered++;
        }
}

/* librdkafka's own log lines, at our levels (its messages never carry secrets). */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
        (void)rk;
        /* FAIL: a broker connection failed; on_error gets the same text and the producer logs
         * it once per cause, so not again (every 30 s) here */
        fw_log(strcmp(fac, "FAIL") == 0 ? FW_LOG_DEBUG
               : level <= 3             ? FW_LOG_ERROR
               : level <= 4             ? FW_LOG_WARN
                                        : FW_LOG_DEBUG,
               "kafka", "%s: %s", fac, buf);
}

static int create_topic(rd_kafka_t *rk, const char *topic, int partitions, int timeout_ms,
                        char *err, size_t errlen) {
        char e[256];
        rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, -1, e, sizeof(e));
        if (!nt) {
                snprintf(err, errlen, "topic %s: %s", topic, e);
                return -1;
        }
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms);
        int rc = -1;
        if (!ev) {
                snprintf(err, errlen, "creating topic %s: no answer in %d ms", topic, timeout_ms);
        } else {
                size_t n = 0;
                const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
                const rd_kafka_topic_result_t **tr =
                        res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
                if (rd_kafka_event_error(ev))
                        snprintf(err, errlen, "creating topic %s: %s", topic,
                                 rd_kafka_event_error_string(ev));
                else if (n == 1 && rd_kafka_topic_result_error(tr[0]) &&
                         rd_kafka_topic_result_error(tr[0]) !=
                                 RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                        snprintf(err, errlen, "creating topic %s: %s", topic,
                                 rd_kafka_topic_result_error_string(tr[0]));
                else
                        rc = 0;
                rd_kafka_event_destroy(ev);
        }
        rd_kafka_queue_destroy(q);
        rd_kafka_NewTopic_destroy(nt);
        return rc;
}

/* 1 if the topic exists with partitions, 0 if it does not, -1 on error (broker unreachable). */
static int topic_exists(rd_kafka_t *rk, const char *topic, int timeout_ms, char *err,
                        size_t errlen) {
        rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, timeout_ms);
        rd_kafka_topic_destroy(t);
        if (e) {
                rd_kafka_poll(rk, 0); /* serve on_error: the cause, when there is one */
                const fw_publisher_t *p = rd_kafka_opaque(rk);
                snprintf(err, errlen, "cannot read metadata of topic %s: %s", topic,
                         p && p->kafka_cause[0] ? p->kafka_cause : rd_kafka_err2str(e));
                return -1;
        }
        int rc = md->topic_cnt == 1 && md->topics[0].err == 0 && md->topics[0].partition_cnt > 0;
        if (!rc && md->topic_cnt == 1 && md->topics[0].err &&
            md->topics[0].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
                snprintf(err, errlen, "topic %s: %s", topic, rd_kafka_err2str(md->topics[0].err));
                rc = -1;
        }
        rd_kafka_metadata_destroy(md);
        return rc;
}

fw_publisher_t *fw_publisher_new(rd_kafka_conf_t *conf, const char *topic, int create_partitions,
                                 int timeout_ms, char *err, size_t errlen) {
        fw_publisher_t *p = fw_publisher_create(conf, topic, err, errlen);
        if (!p)
                return NULL;
        int ex = fw_publisher_check_topic(p, create_partitions, timeout_ms, err, errlen);
        if (ex != 1) {
                fw_publisher_free(p, 0);
                return NULL;
        }
        return p;
}

fw_publisher_t *fw_publisher_create(rd_kafka_conf_t *conf, const char *topic, char *err,
                                    size_t errlen) {
        fw_publisher_t *p = calloc(1, sizeof(*p));
        if (!p || !(p->topic = strdup(topic))) {
                free(p);
                rd_kafka_conf_destroy(conf);
                snprintf(err, errlen, "out of memory");
                return NULL;
        }
        /* the topic is checked explicitly below: never create it as a side effect of metadata */
        char e[512];
        rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", e, sizeof(e));
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        rd_kafka_conf_set_log_cb(conf, on_log);
        rd_kafka_conf_set_error_cb(conf, on_error);
        rd_kafka_conf_set_opaque(conf, p);
        p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
        if (!p->rk) {
                rd_kafka_conf_destroy(conf);
                snprintf(err, errlen, "kafka producer: %s", e);
                free(p->topic);
                free(p);
                return NULL;
        }
        return p;
}

int fw_publisher_check_topic(fw_publisher_t *p, int create_partitions, int timeout_ms, char *err,
                             size_t errlen) {
        int ex = topic_exists(p->rk, p->topic, timeout_ms, err, errlen);
        if (ex == 0 && create_partitions > 0) {
                if (create_topic(p->rk, p->topic, create_partitions, timeout_ms, err, errlen) == 0)
                        ex = 1;
                else
                        ex = -1;
        } else if (ex == 0) {
                snprintf(err, errlen,
                         "topic %s does not exist: create it (partitions = the most detectors you "
                         "will run) or set producer.create_topic_partitions",
                         p->topic);
        }
        if (ex == 1)
                p->kafka_cause[0] = '\0';
        return ex;
}

void fw_publisher_set_stop(fw_publisher_t *p, volatile sig_atomic_t *stop) {
        p->stop = stop;
}

void fw_publisher_free(fw_publisher_t *p, int timeout_ms) {
        if (!p)
                return;
        if (p->rk) {
                rd_kafka_flush(p->rk, timeout_ms);
                if (rd_kafka_outq_len(p->rk) > 0) {
                        /* stopping with records unacknowledged (the caller's cursor does not
                         * count them): drop them rather than wait for the broker */
                        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
                        rd_kafka_poll(p->rk, 0);
                }
                rd_kafka_destroy(p->rk);
        }
        free(p->topic);
        free(p);
}

int fw_publisher_send(fw_publisher_t *p, const fw_session_t *s, char *err, size_t errlen) {
        char buf[FW_RECORD_MAX];
        size_t len;
        if (fw_session_encode(s, buf, sizeof(buf), &len, err, errlen) != 0)
                return -1;
        size_t keylen;
        const void *key = fw_session_key(s, &keylen);
        for (;;) {
                rd_kafka_resp_err_t e = rd_kafka_producev(
                        p->rk, RD_KAFKA_V_TOPIC(p->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_VALUE(buf, len),
                        RD_KAFKA_V_TIMESTAMP(s->first_packet_ms), RD_KAFKA_V_END);
                if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
                        p->in_flight++;
                        rd_kafka_poll(p->rk, 0);
                        return 0;
                }
                if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                        snprintf(err, errlen, "produce: %s", rd_kafka_err2str(e));
                        return -1;
                }
                if (p->stop && *p->stop) {
                        snprintf(err, errlen, "stopping while Kafka's queue is full");
                        return -1;
                }
                rd_kafka_poll(p->rk, 100); /* backpressure: wait for deliveries */
        }
}

long fw_publisher_wait(fw_publisher_t *p, int timeout_ms, char *err, size_t errlen) {
        rd_kafka_flush(p->rk, timeout_ms);
        rd_kafka_poll(p->rk, 0);
        if (p->in_flight > 0) {
                snprintf(err, errlen, "%ld records not yet acknowledged by Kafka%s%s%s",
                         p->in_flight, p->kafka_cause[0] ? " (" : "", p->kafka_cause,
                         p->kafka_cause[0] ? ")" : "");
                return -1;
        }
        if (p->delivered)
                p->kafka_cause[0] = '\0'; /* the broker answers again */
        long failed = p->failed;
        p->failed = 0;
        if (failed)
                snprintf(err, errlen, "%ld records failed: %s", failed, p->last_error);
        return failed;
}

uint64_t fw_publisher_delivered(const fw_publisher_t *p) {
        return p->delivered;
}
