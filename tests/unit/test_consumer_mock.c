/* The detector's Kafka glue (detector/consumer.c) on librdkafka's mock cluster: two detectors of
 * one group share a 4-partition sessions topic; the first one's alert deliveries fail (permanent
 * errors on the broker's produce requests: delivery reports with an error, resent) and the
 * second joins as soon as one has failed, so the group rebalances while alerts are
 * unacknowledged (the mock loses the first member's assignment: the lost path). Whatever the
 * schedule: every partition ends committed at its end offset (nothing stuck behind an alert or
 * a failed delivery), every commit carries the partition clock, and every alert a single engine
 * raises over each partition is in the alerts topic (nothing lost in the failures or the
 * handover). The same glue is tested against a real broker in tests/integration/test_detector.py,
 * with exact ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "consumer.h"
#include "detect_conf.h"
#include "engine.h"
#include "log.h"
#include "session_gen.h"
#include "timeutil.h"
#include "wire.h"

#define NPART    4
#define SESSIONS "mock-sessions"
#define ALERTS   "mock-alerts"
#define PRODUCE  0 /* Kafka API key of Produce requests */
#define DEADLINE 60000

/* ---- the stream: background sessions and port scans, in two halves ---- */

/* Session i of the stream: 1 in 20 is a probe of one of 8 scanners (each scans 40 ports of one
 * host over the stream, unanswered), the rest are session_gen's background. */
static void stream_session(uint64_t i, fw_session_t *s) {
        fw_gen_session(42, i, s);
        s->first_packet_ms = 1716000000000LL + (int64_t)i * 100;
        s->last_packet_ms = s->first_packet_ms + 20;
        if (i % 20 == 0) {
                uint64_t k = i / 20;
                char src[32], dst[32];
                snprintf(src, sizeof(src), "10.77.0.%u", (unsigned)(k % 8) + 1);
                snprintf(dst, sizeof(dst), "10.78.0.%u", (unsigned)(k % 8) + 1);
                assert_int_equal(fw_ip_parse(src, &s->src_ip), 0);
                assert_int_equal(fw_ip_parse(dst, &s->dst_ip), 0);
                s->ip_protocol = 6;
                s->dst_port = (uint16_t)(1000 + k / 8);
                s->src_packets = 1;
                s->dst_packets = 0;
                s->tcpflags.syn = 1;
                s->tcpflags.syn_ack = 0;
        }
}

#define NSESSIONS 6400 /* 320 probes: 40 ports for each of the 8 scanners */

typedef void (*gen_fn)(uint64_t i, fw_session_t *s);

static void produce(rd_kafka_t *p, gen_fn gen, uint64_t from, uint64_t to) {
        for (uint64_t i = from; i < to; i++) {
                fw_session_t s;
                char buf[FW_RECORD_MAX], err[256];
                size_t len, keylen;
                gen(i, &s);
                assert_int_equal(fw_session_encode(&s, buf, sizeof(buf), &len, err, sizeof(err)),
                                 0);
                const void *key = fw_session_key(&s, &keylen);
                assert_int_equal(
                        rd_kafka_producev(
                                p, RD_KAFKA_V_TOPIC(SESSIONS), RD_KAFKA_V_KEY(key, keylen),
                                RD_KAFKA_V_VALUE(buf, len),
                                RD_KAFKA_V_TIMESTAMP(s.first_packet_ms), /* as the producer */
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                        RD_KAFKA_RESP_ERR_NO_ERROR);
        }
        assert_int_equal(rd_kafka_flush(p, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

/* ---- what one engine per partition raises over the whole stream ---- */

typedef struct idset {
        char (*v)[33];
        size_t n, cap;
} idset_t;

static void idset_add(idset_t *s, const char *id) {
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->v[i], id) == 0)
                        return;
        if (s->n == s->cap) {
                s->cap = s->cap ? 2 * s->cap : 64;
                s->v = realloc(s->v, s->cap * sizeof(*s->v));
                assert_non_null(s->v);
        }
        snprintf(s->v[s->n++], 33, "%s", id);
}

static int idset_has(const idset_t *s, const char *id) {
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->v[i], id) == 0)
                        return 1;
        return 0;
}

/* One partition's engine as the reference: the ids it raises, the offset of its first alert. */
typedef struct ref {
        idset_t *ids;
        int64_t offset;       /* of the session being fed */
        int64_t first_offset; /* of the session that raised the first alert, -1 none */
} ref_t;

static int collect(const fw_alert_t *a, void *ud) {
        ref_t *r = ud;
        idset_add(r->ids, a->id);
        if (r->first_offset < 0)
                r->first_offset = r->offset;
        return 0;
}

/* The ids one engine per partition raises over the stream, and each partition's first alert
 * offset (the stream is produced in order: a partition's offsets count its sessions). */
static void expected_ids(const fw_detect_cfg_t *cfg, gen_fn gen, uint64_t n, idset_t *out,
                         int64_t first[NPART]) {
        char err[256];
        fw_engine_t *e[NPART];
        ref_t r[NPART];
        for (int p = 0; p < NPART; p++) {
                r[p] = (ref_t){out, 0, -1};
                e[p] = fw_engine_new(cfg, collect, &r[p], err, sizeof(err));
                assert_non_null(e[p]);
        }
        for (uint64_t i = 0; i < n; i++) {
                fw_session_t s;
                gen(i, &s);
                int32_t p = fw_session_partition(&s, NPART);
                assert_true(fw_engine_feed(e[p], &s, FW_FEED_LIVE) >= 0);
                r[p].offset++;
        }
        for (int p = 0; p < NPART; p++) {
                if (first != NULL)
                        first[p] = r[p].first_offset;
                fw_engine_free(e[p]);
        }
}

/* ---- a detector in a thread ---- */

typedef struct detector {
        pthread_t th;
        const char *boot;
        const fw_detect_cfg_t *cfg;
        const char *group;
        fw_detector_opts_t opts;
        fw_detector_health_t health;
        fw_metrics_t *m;
        volatile sig_atomic_t stop;
        int rc;
        char err[512];
} detector_t;

static rd_kafka_conf_t *conf_of(const char *boot, const char *const kv[][2], size_t n) {
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        char err[256];
        assert_int_equal(rd_kafka_conf_set(c, "bootstrap.servers", boot, err, sizeof(err)),
                         RD_KAFKA_CONF_OK);
        for (size_t i = 0; i < n; i++)
                if (rd_kafka_conf_set(c, kv[i][0], kv[i][1], err, sizeof(err)) != RD_KAFKA_CONF_OK)
                        fail_msg("%s: %s", kv[i][0], err);
        return c;
}

static void *detector_main(void *arg) {
        detector_t *d = arg;
        /* the daemon's own settings (detector/main.c), faster heartbeats for the test */
        const char *const consumer[][2] = {
                {"group.id", d->group},
                {"partition.assignment.strategy", "cooperative-sticky"},
                {"enable.auto.offset.store", "false"},
                {"enable.auto.commit", "false"},
                {"auto.offset.reset", "earliest"},
                {"fetch.wait.max.ms", "50"},
                {"session.timeout.ms", "15000"}, /* above the revocation's 10 s drain */
                {"heartbeat.interval.ms", "300"},
        };
        static const char *const producer[][2] = {
                {"linger.ms", "5"},
                {"message.timeout.ms", "0"},
                {"retries", "0"}, /* a failed request is a failed delivery report */
                {"topic.metadata.refresh.interval.ms", "500"}, /* a topic error clears soon */
        };
        d->rc = fw_detector_run(&d->opts, d->cfg,
                                conf_of(d->boot, consumer, sizeof(consumer) / sizeof(consumer[0])),
                                conf_of(d->boot, producer, sizeof(producer) / sizeof(producer[0])),
                                d->m, &d->health, &d->stop, d->err, sizeof(d->err));
        return NULL;
}

static void detector_start(detector_t *d, const char *boot, const fw_detect_cfg_t *cfg,
                           const char *group) {
        memset(d, 0, sizeof(*d));
        d->boot = boot;
        d->cfg = cfg;
        d->group = group;
        d->opts = (fw_detector_opts_t){.sessions_topic = SESSIONS,
                                       .alerts_topic = ALERTS,
                                       .start_latest = 0,
                                       .commit_interval_ms = 100,
                                       .threads = 2,
                                       .observer = "mock",
                                       .viewer_url = NULL};
        d->m = fw_metrics_new_empty();
        assert_non_null(d->m);
        assert_int_equal(pthread_create(&d->th, NULL, detector_main, d), 0);
}

static void detector_stop(detector_t *d) {
        d->stop = 1;
        assert_int_equal(pthread_join(d->th, NULL), 0);
        if (d->rc != 0)
                fail_msg("fw_detector_run: %s", d->err);
}

/* A counter of the detector's metrics, from the rendered text. */
static double metric(detector_t *d, const char *name) {
        size_t len;
        char *text = fw_metrics_render(d->m, &len);
        assert_non_null(text);
        double v = 0;
        for (char *line = strstr(text, name); line != NULL; line = strstr(line + 1, name))
                if ((line == text || line[-1] == '\n') && line[strlen(name)] == ' ')
                        v = strtod(line + strlen(name) + 1, NULL);
        free(text);
        return v;
}

/* ---- the group's committed offsets ---- */

/* Committed offset of each partition (-1: none) and whether each carries the clock. */
static void committed(rd_kafka_t *obs, int64_t off[NPART],
                      int clock_ok[NPART]) { /* of obs's group */
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(NPART);
        for (int p = 0; p < NPART; p++)
                rd_kafka_topic_partition_list_add(l, SESSIONS, p);
        rd_kafka_resp_err_t e = rd_kafka_committed(obs, l, 5000);
        for (int p = 0; p < NPART; p++) {
                off[p] = -1;
                clock_ok[p] = 0;
        }
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
                for (int i = 0; i < l->cnt; i++) {
                        const rd_kafka_topic_partition_t *tp = &l->elems[i];
                        int64_t clock;
                        off[tp->partition] = tp->offset;
                        clock_ok[tp->partition] =
                                fw_detector_meta_clock(tp->metadata, tp->metadata_size, &clock) ==
                                0;
                }
        }
        rd_kafka_topic_partition_list_destroy(l);
}

static int all_committed(rd_kafka_t *obs, const int64_t end[NPART], int *clocks) {
        int64_t off[NPART];
        int ok[NPART];
        committed(obs, off, ok);
        *clocks = 1;
        for (int p = 0; p < NPART; p++) {
                if (off[p] != end[p])
                        return 0;
                *clocks &= ok[p];
        }
        return 1;
}

static void sleep_ms(int ms) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

/* ---- the alerts topic ---- */

static void read_alert_ids(const char *boot, idset_t *out) {
        static const char *const kv[][2] = {
                {"group.id", "mock-reader"},
                {"enable.partition.eof", "true"},
                {"auto.offset.reset", "earliest"},
        };
        char err[256];
        rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf_of(boot, kv, 3), err, sizeof(err));
        assert_non_null(c);
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, ALERTS, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
        assert_int_equal(rd_kafka_assign(c, l), RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_topic_partition_list_destroy(l);
        int64_t deadline = fw_mono_ms() + DEADLINE;
        for (;;) {
                assert_true(fw_mono_ms() < deadline);
                rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
                if (m == NULL)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        rd_kafka_message_destroy(m);
                        break;
                }
                assert_int_equal(m->err, RD_KAFKA_RESP_ERR_NO_ERROR);
                char id[33];
                assert_int_equal(m->key_len, 32);
                memcpy(id, m->key, 32);
                id[32] = '\0';
                idset_add(out, id);
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(c);
        rd_kafka_destroy(c);
}

static void test_rebalance_and_failed_deliveries(void **state) {
        (void)state;
        char err[256];
        static const char *const mock[][2] = {{"test.mock.num.brokers", "1"}};
        rd_kafka_t *prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf_of("", mock, 1), err, sizeof(err));
        assert_non_null(prod);
        rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(prod);
        assert_non_null(mc);
        const char *boot = rd_kafka_mock_cluster_bootstraps(mc);
        assert_int_equal(rd_kafka_mock_topic_create(mc, SESSIONS, NPART, 1),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(rd_kafka_mock_topic_create(mc, ALERTS, 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);

        fw_detect_cfg_t cfg;
        fw_detect_cfg_defaults(&cfg);
        cfg.spike.enabled = cfg.spike_total.enabled = 0; /* baselines need hours of traffic */
        idset_t want = {0}, got = {0};
        expected_ids(&cfg, stream_session, NSESSIONS, &want, NULL);
        assert_true(want.n >= 8); /* a port scan per scanner at least */

        static const char *const obs_kv[][2] = {{"group.id", "mock-detectors"}};
        rd_kafka_t *obs =
                rd_kafka_new(RD_KAFKA_CONSUMER, conf_of(boot, obs_kv, 1), err, sizeof(err));
        assert_non_null(obs);

        /* the stream first (the errors below would hit this producer too), then the broker's
         * next 8 produce requests fail: the first detector's alerts */
        produce(prod, stream_session, 0, NSESSIONS);
        rd_kafka_resp_err_t errs[8];
        for (int i = 0; i < 8; i++)
                errs[i] = RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE; /* permanent: not retried */
        rd_kafka_mock_push_request_errors_array(mc, PRODUCE, 8, errs);
        detector_t a, b;
        detector_start(&a, boot, &cfg, "mock-detectors");
        int64_t deadline = fw_mono_ms() + DEADLINE;
        while (metric(&a, "fanwatch_detector_alert_delivery_errors_total") < 1) {
                assert_true(fw_mono_ms() < deadline);
                sleep_ms(20);
        }
        detector_start(&b, boot, &cfg, "mock-detectors"); /* joins while alerts wait */

        int64_t end[NPART];
        for (int p = 0; p < NPART; p++) {
                int64_t lo;
                assert_int_equal(
                        rd_kafka_query_watermark_offsets(obs, SESSIONS, p, &lo, &end[p], 5000),
                        RD_KAFKA_RESP_ERR_NO_ERROR);
        }
        int clocks = 0;
        while (!all_committed(obs, end, &clocks) || !atomic_load(&b.health.assigned)) {
                assert_true(fw_mono_ms() < deadline + DEADLINE);
                sleep_ms(100);
        }
        assert_true(clocks); /* every commit carries the partition clock */
        /* both took part: the group moved partitions to the second detector */
        assert_true(atomic_load(&a.health.assigned) && atomic_load(&b.health.assigned));
        double rebalances = metric(&a, "fanwatch_detector_rebalances_total");
        double failures = metric(&a, "fanwatch_detector_alert_delivery_errors_total") +
                          metric(&b, "fanwatch_detector_alert_delivery_errors_total");
        detector_stop(&a);
        detector_stop(&b);
        printf("mock cluster: %zu alert ids expected, rebalances seen by the first detector %.0f, "
               "failed deliveries %.0f\n",
               want.n, rebalances, failures);
        assert_true(rebalances >= 2); /* its assignment, then the second detector's arrival */
        assert_true(failures >= 1);

        read_alert_ids(boot, &got);
        for (size_t i = 0; i < want.n; i++)
                if (!idset_has(&got, want.v[i]))
                        fail_msg("alert %s raised by the engine is not in the alerts topic",
                                 want.v[i]);
        /* Ids beyond those are possible here, not on a broker: librdkafka 2.0.2's mock cluster
         * answers a lookup by time (ListOffsets with a timestamp) with -1 and its cooperative
         * SyncGroup fails the first member's generation (the assignment is lost, not revoked),
         * so a partition taken over resumes at its committed offset without the rebuilt window
         * and may raise the rest of an attack under a later epoch. The exact ids through a
         * rebalance are checked against the real broker (tests/integration/test_detector.py). */
        size_t extra = 0;
        for (size_t i = 0; i < got.n; i++)
                extra += !idset_has(&want, got.v[i]);
        printf("alerts topic: %zu ids, all %zu of the engine's among them, %zu others\n", got.n,
               want.n, extra);

        free(want.v);
        free(got.v);
        fw_metrics_free(a.m);
        fw_metrics_free(b.m);
        rd_kafka_destroy(obs);
        rd_kafka_destroy(prod);
        fw_detect_cfg_release(&cfg);
}

/* The alerts topic is not authorised. First in its metadata: alerts wait in the producer's queue
 * and each partition's offset is held exactly at the session that raised its first alert (the
 * others reach their end). Then in produce responses while the rest of the stream arrives:
 * librdkafka refuses to queue alerts at all for a while (producev fails), so the detector keeps
 * them as failed and produces them again, logging the refusals at most once per 10 s. In the
 * end every alert is in the topic and every partition at its end; the detector never stopped. */
static void test_alerts_topic_refused(void **state) {
        (void)state;
        char err[256];
        static const char *const mock[][2] = {{"test.mock.num.brokers", "1"}};
        rd_kafka_t *prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf_of("", mock, 1), err, sizeof(err));
        assert_non_null(prod);
        rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(prod);
        const char *boot = rd_kafka_mock_cluster_bootstraps(mc);
        assert_int_equal(rd_kafka_mock_topic_create(mc, SESSIONS, NPART, 1),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(rd_kafka_mock_topic_create(mc, ALERTS, 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
        fw_detect_cfg_t cfg;
        fw_detect_cfg_defaults(&cfg);
        cfg.spike.enabled = cfg.spike_total.enabled = 0;
        idset_t want = {0}, got = {0};
        int64_t first[NPART];
        expected_ids(&cfg, stream_session, NSESSIONS, &want, first);
        /* the first half now; its alerts are the partitions' first ones */
        produce(prod, stream_session, 0, NSESSIONS / 2);
        static const char *const obs_kv[][2] = {{"group.id", "mock-refused"}};
        rd_kafka_t *obs =
                rd_kafka_new(RD_KAFKA_CONSUMER, conf_of(boot, obs_kv, 1), err, sizeof(err));
        assert_non_null(obs);
        int64_t end[NPART];
        int with_alerts = 0;
        for (int p = 0; p < NPART; p++) {
                int64_t lo;
                assert_int_equal(
                        rd_kafka_query_watermark_offsets(obs, SESSIONS, p, &lo, &end[p], 5000),
                        RD_KAFKA_RESP_ERR_NO_ERROR);
                with_alerts += first[p] >= 0 && first[p] < end[p];
        }
        assert_true(with_alerts >= 1);

        rd_kafka_mock_topic_set_error(mc, ALERTS, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
        char logpath[] = "/tmp/fw_mock_log_XXXXXX";
        int logfd = mkstemp(logpath);
        assert_true(logfd >= 0);
        FILE *log = fdopen(logfd, "w+");
        assert_non_null(log);
        fw_log_set_stream(log);
        detector_t d;
        int64_t started = fw_mono_ms();
        detector_start(&d, boot, &cfg, "mock-refused");
        /* held exactly at the first alert of each partition that has one, never beyond */
        int64_t deadline = fw_mono_ms() + DEADLINE;
        for (;;) {
                int64_t off[NPART];
                int ok[NPART], held = 1;
                committed(obs, off, ok);
                for (int p = 0; p < NPART; p++) {
                        int64_t want_off = first[p] >= 0 && first[p] < end[p] ? first[p] : end[p];
                        assert_true(off[p] <= want_off);
                        held &= off[p] == want_off;
                }
                if (held)
                        break;
                assert_true(fw_mono_ms() < deadline);
                sleep_ms(100);
        }
        assert_int_equal(d.stop, 0); /* still running */
        /* the rest of the stream arrives (its alerts queue behind the refused topic), then the
         * metadata clears and the next produce requests, the detector's, are refused */
        produce(prod, stream_session, NSESSIONS / 2, NSESSIONS);
        for (int p = 0; p < NPART; p++) {
                int64_t lo;
                assert_int_equal(
                        rd_kafka_query_watermark_offsets(obs, SESSIONS, p, &lo, &end[p], 5000),
                        RD_KAFKA_RESP_ERR_NO_ERROR);
        }
        rd_kafka_resp_err_t errs[6];
        for (int i = 0; i < 6; i++)
                errs[i] = RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
        rd_kafka_mock_push_request_errors_array(mc, PRODUCE, 6, errs);
        rd_kafka_mock_topic_set_error(mc, ALERTS, RD_KAFKA_RESP_ERR_NO_ERROR);
        int clocks = 0;
        while (!all_committed(obs, end, &clocks)) {
                assert_true(fw_mono_ms() < deadline + DEADLINE);
                sleep_ms(100);
        }
        assert_true(clocks);
        double failures = metric(&d, "fanwatch_detector_alert_delivery_errors_total");
        detector_stop(&d);
        fw_log_set_stream(NULL);
        /* refusals to queue, if librdkafka had the topic marked: one line per 10 s at most */
        fflush(log);
        rewind(log);
        char line[2048];
        int refusals = 0;
        while (fgets(line, sizeof(line), log) != NULL)
                refusals += strstr(line, "cannot queue alert") != NULL;
        fclose(log);
        unlink(logpath);
        assert_true(failures >= 1);
        assert_true(refusals <= 1 + (int)((fw_mono_ms() - started) / 10000));
        read_alert_ids(boot, &got);
        for (size_t i = 0; i < want.n; i++)
                if (!idset_has(&got, want.v[i]))
                        fail_msg("alert %s is not in the alerts topic", want.v[i]);
        printf("refused alerts topic: %d partitions held at their first alert; %.0f failed "
               "deliveries, %d refusal lines; then %zu ids delivered\n",
               with_alerts, failures, refusals, got.n);
        free(want.v);
        free(got.v);
        fw_metrics_free(d.m);
        rd_kafka_destroy(obs);
        rd_kafka_destroy(prod);
        fw_detect_cfg_release(&cfg);
}

/* ---- a rebalance while no alert is acknowledged ---- */

#define NHELD 80 /* sessions of the held stream, each from a source of its own */

/* Session i of the held stream: one TCP session of source 10.90.x.y, its own, so that the rule
 * below raises an alert for every record of the topic. */
static void held_session(uint64_t i, fw_session_t *s) {
        fw_gen_session(7, i, s);
        s->first_packet_ms = 1716000000000LL + (int64_t)i * 100;
        s->last_packet_ms = s->first_packet_ms + 20;
        char src[32];
        snprintf(src, sizeof(src), "10.90.%u.%u", (unsigned)(i / 250), (unsigned)(i % 250) + 1);
        assert_int_equal(fw_ip_parse(src, &s->src_ip), 0);
        s->ip_protocol = 6;
}

/* Every record raises an alert and none is acknowledged: a partition's committed offset is at
 * most its first offset (0), or any commit would pass an unacknowledged record. */
static void assert_held(rd_kafka_t *obs, const char *when) {
        int64_t off[NPART];
        int ok[NPART];
        committed(obs, off, ok);
        for (int p = 0; p < NPART; p++)
                if (off[p] > 0)
                        fail_msg("%s: partition %d committed at offset %lld although none of its "
                                 "alerts was acknowledged",
                                 when, p, (long long)off[p]);
}

/* Lines of a log file containing text. */
static int count_lines(FILE *f, const char *text) {
        char line[4096];
        int n = 0;
        fflush(f);
        rewind(f);
        while (fgets(line, sizeof(line), f) != NULL)
                n += strstr(line, text) != NULL;
        fseek(f, 0, SEEK_END);
        return n;
}

/* Every delivery fails (produce requests answered with a permanent error: failed reports,
 * resent at each settle) while the first detector processes the whole stream and while a
 * second one joins and the group moves partitions between them (revoke or lost, as the mock
 * decides), the second one's own deliveries failing too. Checked all along: no partition is
 * ever committed past an unacknowledged record. Then Kafka accepts the alerts: every partition
 * reaches its end with its clock and every alert is in the topic, once each id at least. */
static void test_rebalance_never_passes_unacknowledged(void **state) {
        (void)state;
        char err[256];
        static const char *const mock[][2] = {{"test.mock.num.brokers", "1"}};
        rd_kafka_t *prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf_of("", mock, 1), err, sizeof(err));
        assert_non_null(prod);
        rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(prod);
        assert_non_null(mc);
        const char *boot = rd_kafka_mock_cluster_bootstraps(mc);
        assert_int_equal(rd_kafka_mock_topic_create(mc, SESSIONS, NPART, 1),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(rd_kafka_mock_topic_create(mc, ALERTS, 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);

        /* the built-in detections, and a rule raising an alert for every TCP session */
        fw_detect_cfg_t cfg;
        fw_detect_cfg_defaults(&cfg);
        cfg.spike.enabled = cfg.spike_total.enabled = 0;
        char rules[] = "/tmp/fw_mock_rules_XXXXXX";
        int rfd = mkstemp(rules);
        assert_true(rfd >= 0);
        static const char text[] = "[every_tcp]\nexpression = ip.protocol == tcp\nthreshold = 1\n";
        assert_int_equal(write(rfd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
        close(rfd);
        if (fw_detect_rules_load(&cfg, rules, err, sizeof(err)) != 0)
                fail_msg("rules: %s", err);
        unlink(rules);
        idset_t want = {0}, got = {0};
        int64_t first[NPART];
        expected_ids(&cfg, held_session, NHELD, &want, first);
        assert_int_equal(want.n, NHELD); /* one alert per record */

        produce(prod, held_session, 0, NHELD);
        static const char *const obs_kv[][2] = {{"group.id", "mock-held"}};
        rd_kafka_t *obs =
                rd_kafka_new(RD_KAFKA_CONSUMER, conf_of(boot, obs_kv, 1), err, sizeof(err));
        assert_non_null(obs);
        int64_t end[NPART];
        for (int p = 0; p < NPART; p++) {
                int64_t lo;
                assert_int_equal(
                        rd_kafka_query_watermark_offsets(obs, SESSIONS, p, &lo, &end[p], 5000),
                        RD_KAFKA_RESP_ERR_NO_ERROR);
                assert_true(end[p] >= 2); /* records past the first one to be held behind */
                assert_int_equal(first[p], 0);
        }

        /* from now on every produce request fails (far more errors than the test sends
         * requests: a few tens a second), until they are cleared below */
        enum { NERRS = 200000 };
        rd_kafka_resp_err_t *errs = malloc(NERRS * sizeof(*errs));
        assert_non_null(errs);
        for (int i = 0; i < NERRS; i++)
                errs[i] = RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE; /* permanent: a failed report */
        rd_kafka_mock_push_request_errors_array(mc, PRODUCE, NERRS, errs);
        free(errs);

        char logpath[] = "/tmp/fw_mock_log_XXXXXX";
        int logfd = mkstemp(logpath);
        assert_true(logfd >= 0);
        FILE *log = fdopen(logfd, "w+");
        assert_non_null(log);
        fw_log_set_stream(log);

        /* the first detector takes every partition, processes every record, fails deliveries */
        detector_t a, b;
        detector_start(&a, boot, &cfg, "mock-held");
        int64_t deadline = fw_mono_ms() + DEADLINE;
        while (!atomic_load(&a.health.assigned) ||
               metric(&a, "fanwatch_detector_sessions_total") < NHELD ||
               metric(&a, "fanwatch_detector_alert_delivery_errors_total") < NHELD) {
                assert_held(obs, "one detector");
                assert_true(fw_mono_ms() < deadline);
                sleep_ms(50);
        }
        assert_held(obs, "one detector, every record processed");

        /* the second one joins: the group rebalances while every alert is unacknowledged and
         * deliveries keep failing; it ends when the second one has processed records of its
         * partitions and seen its own deliveries fail */
        double a_failed_before = metric(&a, "fanwatch_detector_alert_delivery_errors_total");
        detector_start(&b, boot, &cfg, "mock-held");
        deadline = fw_mono_ms() + DEADLINE;
        while (metric(&a, "fanwatch_detector_rebalances_total") < 2 ||
               metric(&a, "fanwatch_detector_alert_delivery_errors_total") <= a_failed_before) {
                assert_held(obs, "rebalancing");
                assert_true(fw_mono_ms() < deadline);
                sleep_ms(50);
        }
        /* the second one takes its partitions, processes records and sees its deliveries fail;
         * librdkafka 2.0.2's mock cluster now and then loses a cooperative member's assignment
         * (it then never gets one): the second one then leaves below and the first one takes
         * the partitions back, which is a rebalance under failing deliveries too */
        int b_took = 0;
        deadline = fw_mono_ms() + 30000;
        while (!b_took && fw_mono_ms() < deadline) {
                assert_held(obs, "rebalancing");
                b_took = atomic_load(&b.health.assigned) &&
                         metric(&b, "fanwatch_detector_sessions_total") >= 1 &&
                         metric(&b, "fanwatch_detector_alert_delivery_errors_total") >= 1;
                sleep_ms(50);
        }
        assert_held(obs, "after the rebalance");
        double a_failed_during =
                metric(&a, "fanwatch_detector_alert_delivery_errors_total") - a_failed_before;
        int revoked = count_lines(log, "revoked partition");
        int lost = count_lines(log, "lost partition");
        assert_true(revoked + lost >= 1);  /* the first one gave partitions up, alerts pending */
        assert_true(a_failed_during >= 1); /* ... and its deliveries failed meanwhile */

        double b_failed = metric(&b, "fanwatch_detector_alert_delivery_errors_total");
        if (!b_took) { /* the mock lost its assignment: it leaves, the first one takes over */
                printf("the second detector got no partitions (mock cluster): it leaves\n");
                detector_stop(&b);
                for (int i = 0; i < 40; i++) { /* the first one revokes and re-takes, held */
                        assert_held(obs, "the second one leaving");
                        sleep_ms(50);
                }
        }

        /* Kafka accepts alerts again: everything is delivered and committed to the end */
        rd_kafka_mock_clear_request_errors(mc, PRODUCE);
        int clocks = 0;
        deadline = fw_mono_ms() + DEADLINE;
        while (!all_committed(obs, end, &clocks)) {
                assert_true(fw_mono_ms() < deadline);
                sleep_ms(100);
        }
        assert_true(clocks);
        detector_stop(&a);
        if (b_took)
                detector_stop(&b);
        fw_log_set_stream(NULL);
        fclose(log);
        unlink(logpath);
        read_alert_ids(boot, &got);
        for (size_t i = 0; i < want.n; i++)
                if (!idset_has(&got, want.v[i]))
                        fail_msg("alert %s is not in the alerts topic", want.v[i]);
        printf("held rebalance: %d alerts held at offset 0 of every partition through %d "
               "revocations and %d losses; %.0f failed deliveries of the first detector during "
               "the rebalance, %.0f of the second; then all %zu delivered and committed\n",
               NHELD, revoked, lost, a_failed_during, b_failed, want.n);
        free(want.v);
        free(got.v);
        fw_metrics_free(a.m);
        fw_metrics_free(b.m);
        rd_kafka_destroy(obs);
        rd_kafka_destroy(prod);
        fw_detect_cfg_release(&cfg);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rebalance_and_failed_deliveries),
                cmocka_unit_test(test_alerts_topic_refused),
                cmocka_unit_test(test_rebalance_never_passes_unacknowledged),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
