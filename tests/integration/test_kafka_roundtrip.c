/* Integration: 100,000 session records encoded, produced to a real Apache Kafka broker
 * (started by scripts/kafka-local through the ctest fixture), consumed back and decoded equal,
 * one by one. Also checks the key (source IP bytes), the message timestamp (session event
 * time), exactly-once arrival and per-source order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"
#include "session_gen.h"

#define N_RECORDS    100000
#define N_PARTITIONS 6
#define SEED         0xfa11

static char bootstrap[256];
static char topic[128];

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int read_bootstrap(void) {
        const char *dir = getenv("FW_KAFKA_DIR");
        if (!dir) {
                fprintf(stderr, "FW_KAFKA_DIR is not set: run through ctest (fixture 'kafka')\n");
                return -1;
        }
        char path[512];
        snprintf(path, sizeof(path), "%s/bootstrap", dir);
        FILE *f = fopen(path, "r");
        if (!f) {
                fprintf(stderr, "%s: no broker (did scripts/kafka-local start run?)\n", path);
                return -1;
        }
        int ok = fgets(bootstrap, sizeof(bootstrap), f) != NULL;
        fclose(f);
        bootstrap[strcspn(bootstrap, "\r\n")] = '\0';
        return ok && bootstrap[0] ? 0 : -1;
}

static rd_kafka_conf_t *base_conf(void) {
        char err[512];
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        if (rd_kafka_conf_set(c, "bootstrap.servers", bootstrap, err, sizeof(err)) !=
            RD_KAFKA_CONF_OK)
                fail_msg("%s", err);
        return c;
}

static void conf_set(rd_kafka_conf_t *c, const char *k, const char *v) {
        char err[512];
        if (rd_kafka_conf_set(c, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK)
                fail_msg("%s=%s: %s", k, v, err);
}

static void create_topic(void) {
        char err[512];
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, base_conf(), err, sizeof(err));
        assert_non_null(rk);
        rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, N_PARTITIONS, 1, err, sizeof(err));
        assert_non_null(nt);
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
        assert_non_null(ev);
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        assert_non_null(res);
        size_t n;
        const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
        assert_int_equal(n, 1);
        if (rd_kafka_topic_result_error(tr[0]))
                fail_msg("create %s: %s", topic, rd_kafka_topic_result_error_string(tr[0]));
        rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        rd_kafka_NewTopic_destroy(nt);
        rd_kafka_destroy(rk);
}

typedef struct delivery {
        long ok, failed;
} delivery_t;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        delivery_t *d = opaque;
        if (m->err) {
                d->failed++;
                fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
        } else {
                d->ok++;
        }
}

static void produce_all(void) {
        char err[512];
        delivery_t d = {0, 0};
        rd_kafka_conf_t *c = base_conf();
        conf_set(c, "enable.idempotence", "true");
        conf_set(c, "linger.ms", "20");
        conf_set(c, "compression.type", "lz4");
        rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
        rd_kafka_conf_set_opaque(c, &d);
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
        assert_non_null(rk);

        double t0 = now_s();
        for (uint64_t i = 0; i < N_RECORDS; i++) {
                fw_session_t s;
                fw_gen_session(SEED, i, &s);
                char buf[FW_RECORD_MAX];
                size_t len;
                assert_int_equal(fw_session_encode(&s, buf, sizeof(buf), &len, err, sizeof(err)),
                                 0);
                rd_kafka_resp_err_t e;
                do {
                        e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                              RD_KAFKA_V_KEY(s.src_ip.addr, fw_ip_len(&s.src_ip)),
                                              RD_KAFKA_V_VALUE(buf, len),
                                              RD_KAFKA_V_TIMESTAMP(s.first_packet_ms),
                                              RD_KAFKA_V_END);
                        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                                rd_kafka_poll(rk, 100); /* wait for deliveries to free room */
                } while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
                if (e)
                        fail_msg("produce %llu: %s", (unsigned long long)i, rd_kafka_err2str(e));
                rd_kafka_poll(rk, 0);
        }
        assert_int_equal(rd_kafka_flush(rk, 120000), RD_KAFKA_RESP_ERR_NO_ERROR);
        printf("produced %d records in %.2fs (%ld delivered, %ld failed)\n", N_RECORDS,
               now_s() - t0, d.ok, d.failed);
        assert_int_equal(d.failed, 0);
        assert_int_equal(d.ok, N_RECORDS);
        rd_kafka_destroy(rk);
}

/* Per-source last index seen, to check that a source's sessions arrive in production order. */
#define SRC_SLOTS 4096
typedef struct src_slot {
        fw_ip_t ip;
        int64_t last;
} src_slot_t;

static src_slot_t *src_slot(src_slot_t *t, const fw_ip_t *ip) {
        size_t h = fw_ip_hash(ip, 0) % SRC_SLOTS;
        while (t[h].ip.family && !fw_ip_equal(&t[h].ip, ip))
                h = (h + 1) % SRC_SLOTS;
        if (!t[h].ip.family) {
                t[h].ip = *ip;
                t[h].last = -1;
        }
        return &t[h];
}

static void consume_all(void) {
        char err[512], group[160];
        snprintf(group, sizeof(group), "%s-check", topic);
        rd_kafka_conf_t *c = base_conf();
        conf_set(c, "group.id", group);
        conf_set(c, "auto.offset.reset", "earliest");
        conf_set(c, "enable.auto.commit", "false");
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
        assert_non_null(rk);
        rd_kafka_poll_set_consumer(rk);
        rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
        assert_int_equal(rd_kafka_subscribe(rk, sub), 0);
        rd_kafka_topic_partition_list_destroy(sub);

        uint8_t *seen = calloc(N_RECORDS, 1);
        src_slot_t *srcs = calloc(SRC_SLOTS, sizeof(*srcs));
        long received = 0, duplicates = 0, mismatches = 0, out_of_order = 0;
        double t0 = now_s(), deadline = t0 + 180;
        while (received - duplicates < N_RECORDS && now_s() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
                if (!m)
                        continue;
                if (m->err) {
                        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                                fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
                        rd_kafka_message_destroy(m);
                        continue;
                }
                received++;
                fw_session_t got, want;
                if (fw_session_decode(m->payload, m->len, &got, err, sizeof(err)) != 0)
                        fail_msg("offset %lld: %s", (long long)m->offset, err);
                size_t idlen = strlen(got.id);
                assert_true(idlen > 6);
                uint64_t i = strtoull(got.id + idlen - 6, NULL, 10);
                assert_true(i < N_RECORDS);
                fw_gen_session(SEED, i, &want);
                if (!fw_session_equal(&got, &want)) {
                        mismatches++;
                        fprintf(stderr, "record %llu differs after the round trip\n",
                                (unsigned long long)i);
                }
                assert_int_equal(m->key_len, fw_ip_len(&want.src_ip));
                assert_memory_equal(m->key, want.src_ip.addr, m->key_len);
                rd_kafka_timestamp_type_t tt;
                assert_int_equal(rd_kafka_message_timestamp(m, &tt), want.first_packet_ms);
                if (seen[i])
                        duplicates++;
                seen[i] = 1;
                src_slot_t *slot = src_slot(srcs, &got.src_ip);
                if ((int64_t)i <= slot->last)
                        out_of_order++;
                slot->last = (int64_t)i;
                rd_kafka_message_destroy(m);
        }
        long missing = 0;
        for (long i = 0; i < N_RECORDS; i++)
                missing += !seen[i];
        printf("consumed %ld records in %.2fs: %ld duplicates, %ld missing, %ld mismatched, "
               "%ld out of per-source order\n",
               received, now_s() - t0, duplicates, missing, mismatches, out_of_order);
        free(seen);
        free(srcs);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        assert_int_equal(missing, 0);
        assert_int_equal(duplicates, 0);
        assert_int_equal(mismatches, 0);
        assert_int_equal(out_of_order, 0);
}

static void test_roundtrip_100k(void **state) {
        (void)state;
        snprintf(topic, sizeof(topic), "fw-roundtrip-%ld-%ld", (long)getpid(), (long)time(NULL));
        printf("broker %s, topic %s (%d partitions)\n", bootstrap, topic, N_PARTITIONS);
        create_topic();
        produce_all();
        consume_all();
}

int main(void) {
        if (read_bootstrap() != 0)
                return 1;
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_roundtrip_100k),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
