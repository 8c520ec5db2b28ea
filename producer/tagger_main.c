/* fanwatch-tagger: consumes the alerts topic and tags each alert's evidence sessions in Arkime
 * (POST /api/sessions/addtags), so that `tags == fanwatch:<alert id>` shows what the alert saw.
 * docs/tagger.md. The request of one alert is producer/tagger.h's; this file is the daemon:
 * configuration, the consumer loop, holding a partition while the viewer fails, metrics, health.
 *
 * Offsets: one is stored (and committed every second, on revoke and at shutdown) only once the
 * viewer confirmed its alert, or for a document that can never be tagged. A failed request holds
 * its message: the partition is paused and sought back to it, and the message is retried with
 * backoff while the loop keeps polling (group membership); on success the offset is stored, the
 * partition sought past it and resumed. Re-sending is harmless: addtags adds a missing tag only. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "arkime_client.h"
#include "cli.h"
#include "daemon_conf.h"
#include "httpd.h"
#include "kafka_conf.h"
#include "log.h"
#include "metrics.h"
#include "tagger.h"
#include "timeutil.h"

extern char **environ;

#define COMP               "tagger"
#define STOP_GRACE_MS      1000  /* a viewer request may run this long after SIGTERM */
#define POLL_MS            100   /* rd_kafka_consumer_poll timeout */
#define COMMIT_EVERY_MS    1000  /* asynchronous commits of the stored offsets */
#define BACKOFF_FIRST_MS   250   /* first retry of a failed request */
#define NAP_MAX_MS         1000  /* longer waits for a token hold the message instead */
#define NO_SESSIONS_LOG_MS 10000 /* at most one "no sessions" line per this */

static const fw_conf_def_t tagger_defs[] = {
        FW_CONF_COMMON_DEFS,
        FW_CONF_ARKIME_DEFS,
        {"topics.alerts", FW_CT_STRING, "fanwatch-alerts", 0, 0, NULL, FW_CF_NONEMPTY,
         "Kafka topic of alerts (JSON, key = alert id), read by the tagger"},
        {"tagger.group", FW_CT_STRING, "fanwatch-tagger", 0, 0, NULL, FW_CF_NONEMPTY,
         "consumer group reading the alerts topic (its committed offsets are the tagger's "
         "position)"},
        {"tagger.rate", FW_CT_FLOAT, "5", 0, 0, "(0,1000]", 0,
         "most addtags requests per second to the viewer (each tags every session of one alert)"},
        {"tagger.retry_backoff_max", FW_CT_DURATION, "60s", 250, 3600000, NULL, 0,
         "longest wait between retries of a request the viewer failed (doubling from 250 ms)"},
        {"tagger.unhealthy_after", FW_CT_DURATION, "2m", 1000, 86400000, NULL, 0,
         "/healthz answers 503 when an alert has been failing to tag for this long"},
};

/* The alerts consumer: offsets stored and committed by the tagger once the viewer confirmed;
 * eager assignment, which its rebalance callback (rd_kafka_assign) is written for. */
static const fw_kafka_default_t tagger_kafka_defaults[] = {
        {"enable.auto.commit", "false",
         "the tagger's commit rule (offsets committed once the viewer confirmed)"},
        {"enable.auto.offset.store", "false",
         "the tagger's commit rule (offsets stored once the viewer confirmed)"},
        {"partition.assignment.strategy", "range,roundrobin",
         "the tagger's rebalance handling (eager assignment)"},
        {"auto.offset.reset", "earliest", NULL},
        {"fetch.wait.max.ms", "100", NULL},
        {NULL, NULL, NULL},
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) {
        (void)sig;
        stop_flag = 1;
}

/* A message held on its partition (paused): waiting for a token, or failing and retried. */
typedef struct hold {
        rd_kafka_message_t *msg;
        fw_tag_req_t req;
        int failing; /* 1 after a failed request (else it waits for a token) */
        fw_backoff_t backoff;
        int64_t due_ms;   /* monotonic: the next attempt */
        int64_t since_ms; /* monotonic: its first failure */
} hold_t;

/* What /healthz reads: written by the loop, read by the HTTP thread. */
typedef struct health {
        atomic_int ready;              /* partitions assigned once */
        _Atomic int64_t failing_since; /* monotonic ms of the oldest failing hold, 0 if none */
        int64_t max_ms;
} health_t;

typedef struct tagger {
        rd_kafka_t *rk;
        fw_arkime_client_t *client;
        hold_t *holds;
        size_t nholds, cap;
        fw_token_bucket_t tb;
        int64_t backoff_max;
        char cause[1024]; /* the failure last logged, "" while the viewer answers */
        int64_t no_sessions_logged_ms;
        uint64_t no_sessions_quiet; /* "no sessions" answers not logged since the last line */
        health_t *health;
        fw_counter_t *tagged, *no_sessions, *rejected, *requests;
        fw_counter_t *e_network, *e_auth, *e_http, *e_arkime;
        fw_histogram_t *latency;
        fw_gauge_t *held;
} tagger_t;

static void update_health(tagger_t *t) {
        int64_t since = 0;
        for (size_t i = 0; i < t->nholds; i++)
                if (t->holds[i].failing && (since == 0 || t->holds[i].since_ms < since))
                        since = t->holds[i].since_ms;
        atomic_store(&t->health->failing_since, since);
        fw_gauge_set(t->held, (double)t->nholds);
}

static int health_check(void *ud, char *reason, size_t reasonlen) {
        health_t *h = ud;
        if (!atomic_load(&h->ready)) {
                snprintf(reason, reasonlen,
                         "starting: no partitions of the alerts topic assigned yet (waiting for "
                         "Kafka: see the log)");
                return 1;
        }
        int64_t since = atomic_load(&h->failing_since);
        if (since == 0 || fw_mono_ms() - since <= h->max_ms)
                return 0;
        snprintf(reason, reasonlen,
                 "an alert has been failing to tag for %lld s (see the log and "
                 "fanwatch_tagger_errors_total)",
                 (long long)((fw_mono_ms() - since) / 1000));
        return 1;
}

static rd_kafka_topic_partition_list_t *one_partition(const rd_kafka_message_t *m, int64_t offset) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)->offset =
                offset;
        return l;
}

/* Store offset+1 of a handled message, for the next commit. */
static void store_offset(tagger_t *t, const rd_kafka_message_t *m) {
        rd_kafka_topic_partition_list_t *l = one_partition(m, m->offset + 1);
        rd_kafka_resp_err_t e = rd_kafka_offsets_store(t->rk, l);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR && l->elems[0].err)
                e = l->elems[0].err;
        if (e)
                fw_debug(COMP, "partition %d offset %lld not stored: %s (no longer assigned)",
                         m->partition, (long long)m->offset, rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_destroy(l);
}

/* Pause m's partition and seek it to offset (fetching restarts there on resume). */
static void pause_at(tagger_t *t, const rd_kafka_message_t *m, int64_t offset) {
        rd_kafka_topic_partition_list_t *l = one_partition(m, offset);
        rd_kafka_pause_partitions(t->rk, l);
        rd_kafka_error_t *e = rd_kafka_seek_partitions(t->rk, l, 0);
        if (e) {
                fw_warn(COMP, "partition %d: seek to %lld: %s", m->partition, (long long)offset,
                        rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
        }
        rd_kafka_topic_partition_list_destroy(l);
}

/* Seek m's partition to offset and resume it. */
static void resume_at(tagger_t *t, const rd_kafka_message_t *m, int64_t offset) {
        rd_kafka_topic_partition_list_t *l = one_partition(m, offset);
        rd_kafka_error_t *e = rd_kafka_seek_partitions(t->rk, l, 0);
        if (e) {
                fw_warn(COMP, "partition %d: seek to %lld: %s", m->partition, (long long)offset,
                        rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
        }
        rd_kafka_resume_partitions(t->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
}

static hold_t *find_hold(tagger_t *t, const char *topic, int32_t partition) {
        for (size_t i = 0; i < t->nholds; i++)
                if (t->holds[i].msg->partition == partition &&
                    strcmp(rd_kafka_topic_name(t->holds[i].msg->rkt), topic) == 0)
                        return &t->holds[i];
        return NULL;
}

static void hold_free(hold_t *h) {
        rd_kafka_message_destroy(h->msg);
        fw_tag_req_free(&h->req);
}

/* Remove holds[i] (not stored: its message is read again). */
static void hold_remove(tagger_t *t, size_t i) {
        hold_free(&t->holds[i]);
        t->holds[i] = t->holds[--t->nholds];
        update_health(t);
}

/* Hold m (taking it and *req) on its paused partition until due_ms. 0, or -1 out of memory
 * (m and *req then still the caller's). */
static int hold_add(tagger_t *t, rd_kafka_message_t *m, fw_tag_req_t *req, int failing,
                    int64_t due_ms, const fw_backoff_t *b, int64_t now) {
        if (t->nholds == t->cap) {
                size_t ncap = t->cap ? t->cap * 2 : 8;
                hold_t *n = realloc(t->holds, ncap * sizeof(*n));
                if (!n)
                        return -1;
                t->holds = n;
                t->cap = ncap;
        }
        hold_t *h = &t->holds[t->nholds++];
        h->msg = m;
        h->req = *req;
        memset(req, 0, sizeof(*req));
        h->failing = failing;
        h->backoff = *b;
        h->due_ms = due_ms;
        h->since_ms = now;
        pause_at(t, m, m->offset);
        update_health(t);
        return 0;
}

/* The outcome of one request. */
enum { R_TAGGED, R_NO_SESSIONS, R_FAILED, R_STOPPED };

/* Send req's addtags to the viewer: R_TAGGED, R_NO_SESSIONS, R_FAILED (cause set, counted), or
 * R_STOPPED (abandoned at a stop: its outcome is unknown). */
static int request(tagger_t *t, const fw_tag_req_t *req, char *cause, size_t causelen) {
        const char *resp = NULL;
        size_t resp_len = 0;
        long status = 0;
        double ms = 0;
        char err[1024];
        int rc = fw_arkime_request(t->client, "POST", req->path,
                                   "application/x-www-form-urlencoded", req->form, req->form_len,
                                   &resp, &resp_len, &status, &ms, err, sizeof(err));
        if (rc == FW_ARKIME_ESTOPPED)
                return R_STOPPED;
        fw_counter_add(t->requests, 1);
        fw_histogram_observe(t->latency, ms / 1000.0);
        if (rc != FW_ARKIME_OK) {
                fw_counter_add(rc == FW_ARKIME_ENET    ? t->e_network
                               : rc == FW_ARKIME_EAUTH ? t->e_auth
                                                       : t->e_http,
                               1);
                snprintf(cause, causelen, "%s", err);
                return R_FAILED;
        }
        switch (fw_tag_classify(resp, resp_len, err, sizeof(err))) {
        case FW_TAG_TAGGED:
                return R_TAGGED;
        case FW_TAG_NO_SESSIONS:
                return R_NO_SESSIONS;
        default:
                fw_counter_add(t->e_arkime, 1);
                snprintf(cause, causelen, "%s", err);
                return R_FAILED;
        }
}

/* Count a confirmed alert (and log "no sessions" at most every 10 s). */
static void confirmed(tagger_t *t, int r, const fw_tag_req_t *req) {
        if (t->cause[0]) {
                fw_info(COMP, "the viewer confirms tags again; resuming");
                t->cause[0] = '\0';
        }
        if (r == R_TAGGED) {
                fw_counter_add(t->tagged, 1);
                fw_debug(COMP, "tagged fanwatch:%s", req->id);
                return;
        }
        fw_counter_add(t->no_sessions, 1);
        int64_t now = fw_mono_ms();
        if (t->no_sessions_logged_ms && now - t->no_sessions_logged_ms < NO_SESSIONS_LOG_MS) {
                t->no_sessions_quiet++;
                return;
        }
        fw_info(COMP,
                "the viewer has no sessions for alert %s (rule %s, %s to %s, %s): nothing to tag "
                "(not retried; %llu more such alerts since the last line; see "
                "fanwatch_tagger_alerts_total{result=\"no_sessions\"})",
                req->id, req->rule, FW_ISO_TIME(req->start_s), FW_ISO_TIME(req->stop_s),
                req->expression ? req->expression : "no expression",
                (unsigned long long)t->no_sessions_quiet);
        t->no_sessions_logged_ms = now;
        t->no_sessions_quiet = 0;
}

/* Log a failure's cause once, and again when it changes. */
static void failed(tagger_t *t, const rd_kafka_message_t *m, const char *cause, int64_t wait) {
        if (strcmp(cause, t->cause) == 0)
                return;
        fw_warn(COMP,
                "tagging failed, holding partition %d at offset %lld and retrying (next in %s, "
                "nothing is committed past it): %s",
                m->partition, (long long)m->offset, FW_DURATION(wait), cause);
        snprintf(t->cause, sizeof(t->cause), "%s", cause);
}

/* The next attempt of the hold due first, if one is due: a request, then the hold is released
 * (stored, sought past, resumed) or rescheduled. */
static void retry_due(tagger_t *t) {
        int64_t now = fw_mono_ms();
        size_t best = t->nholds;
        for (size_t i = 0; i < t->nholds; i++)
                if (t->holds[i].due_ms <= now &&
                    (best == t->nholds || t->holds[i].due_ms < t->holds[best].due_ms))
                        best = i;
        if (best == t->nholds)
                return;
        hold_t *h = &t->holds[best];
        if (!h->req.form) { /* held when out of memory: read the document again */
                char err[512];
                if (fw_tag_req_from_json(h->msg->payload, h->msg->len, &h->req, err, sizeof(err)) !=
                    0) {
                        h->due_ms = now + fw_backoff_next(&h->backoff);
                        return;
                }
        }
        int64_t w = fw_tb_take(&t->tb, now);
        if (w > 0) {
                h->due_ms = now + w;
                return;
        }
        char cause[1024];
        int r = request(t, &h->req, cause, sizeof(cause));
        if (r == R_STOPPED)
                return;
        if (r == R_FAILED) {
                int64_t wait = fw_backoff_next(&h->backoff);
                if (!h->failing)
                        h->since_ms = now;
                h->failing = 1;
                h->due_ms = fw_mono_ms() + wait;
                failed(t, h->msg, cause, wait);
                update_health(t);
                return;
        }
        confirmed(t, r, &h->req);
        store_offset(t, h->msg);
        resume_at(t, h->msg, h->msg->offset + 1);
        hold_remove(t, best);
}

/* A message fresh from the consumer: skipped while its partition is held, rejected when it can
 * never be tagged (stored), else tagged now or held. */
static void handle_message(tagger_t *t, rd_kafka_message_t *m) {
        const char *topic = rd_kafka_topic_name(m->rkt);
        if (m->err) {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                        fw_warn(COMP, "consume: %s", rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                return;
        }
        if (find_hold(t, topic, m->partition)) { /* fetched before the pause: read again later */
                rd_kafka_message_destroy(m);
                return;
        }
        fw_tag_req_t req;
        char err[512];
        int rc = fw_tag_req_from_json(m->payload, m->len, &req, err, sizeof(err));
        if (rc == -1) {
                fw_error(COMP,
                         "topic %s partition %d offset %lld: this alert document can never be "
                         "tagged, skipping it: %s",
                         topic, m->partition, (long long)m->offset, err);
                fw_counter_add(t->rejected, 1);
                store_offset(t, m);
                rd_kafka_message_destroy(m);
                return;
        }
        fw_backoff_t b;
        fw_backoff_init(&b, BACKOFF_FIRST_MS, t->backoff_max);
        int64_t now = fw_mono_ms();
        if (rc != 0) { /* out of memory: held without a request, read again when retried */
                fw_error(COMP, "partition %d offset %lld: %s", m->partition, (long long)m->offset,
                         err);
                int64_t wait = fw_backoff_next(&b);
                if (hold_add(t, m, &req, 1, now + wait, &b, now) != 0)
                        rd_kafka_message_destroy(m); /* not stored: read again at a restart */
                return;
        }
        int64_t w;
        while ((w = fw_tb_take(&t->tb, fw_mono_ms())) > 0 && w <= NAP_MAX_MS && !stop_flag)
                fw_nap(w, &stop_flag);
        if (stop_flag) {
                fw_tag_req_free(&req);
                rd_kafka_message_destroy(m);
                return;
        }
        if (w > 0) { /* a slow rate: wait on the paused partition, polling */
                if (hold_add(t, m, &req, 0, now + w, &b, now) != 0) {
                        fw_tag_req_free(&req);
                        rd_kafka_message_destroy(m);
                }
                return;
        }
        char cause[1024];
        int r = request(t, &req, cause, sizeof(cause));
        if (r == R_TAGGED || r == R_NO_SESSIONS) {
                confirmed(t, r, &req);
                store_offset(t, m);
                fw_tag_req_free(&req);
                rd_kafka_message_destroy(m);
                return;
        }
        if (r == R_STOPPED) {
                fw_tag_req_free(&req);
                rd_kafka_message_destroy(m);
                return;
        }
        int64_t wait = fw_backoff_next(&b);
        failed(t, m, cause, wait);
        now = fw_mono_ms();
        if (hold_add(t, m, &req, 1, now + wait, &b, now) != 0) {
                fw_error(COMP, "out of memory holding partition %d offset %lld", m->partition,
                         (long long)m->offset);
                fw_tag_req_free(&req);
                rd_kafka_message_destroy(m);
        }
}

/* Commit the stored offsets: "what" names the moment in a failure's log line. */
static void commit(rd_kafka_t *rk, int async, const char *what) {
        rd_kafka_resp_err_t e = rd_kafka_commit(rk, NULL, async);
        if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
                fw_warn(COMP, "offset commit (%s): %s (those alerts will be tagged again)", what,
                        rd_kafka_err2str(e));
}

/* Eager rebalancing: on revoke, commit what is stored, drop the revoked partitions' holds (not
 * stored: the next owner reads them again), unassign; on assign, assign. */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
        tagger_t *t = opaque;
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                fw_info(COMP, "assigned %d partitions of the alerts topic", parts->cnt);
                rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
                if (e)
                        fw_error(COMP, "assign: %s", rd_kafka_err2str(e));
                atomic_store(&t->health->ready, 1);
                return;
        }
        int lost = rd_kafka_assignment_lost(rk);
        if (!lost)
                commit(rk, 0, "revoke");
        for (size_t i = t->nholds; i-- > 0;)
                if (rd_kafka_topic_partition_list_find(parts,
                                                       rd_kafka_topic_name(t->holds[i].msg->rkt),
                                                       t->holds[i].msg->partition)) {
                        fw_info(COMP,
                                "partition %d revoked while holding offset %lld: left to its next "
                                "owner",
                                t->holds[i].msg->partition, (long long)t->holds[i].msg->offset);
                        rd_kafka_topic_partition_list_t *l = one_partition(t->holds[i].msg, 0);
                        rd_kafka_resume_partitions(rk, l); /* no pause left for a new assignment */
                        rd_kafka_topic_partition_list_destroy(l);
                        hold_remove(t, i);
                }
        fw_info(COMP, "%s %d partitions", lost ? "lost" : "revoked", parts->cnt);
        rd_kafka_assign(rk, NULL);
}

/* librdkafka's client errors, each cause logged once until another one comes. */
static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
        static char last[512];
        (void)rk;
        (void)opaque;
        if (strcmp(last, reason) == 0)
                return;
        snprintf(last, sizeof(last), "%s", reason);
        fw_warn(COMP, "Kafka: %s (%s)", reason, rd_kafka_err2name((rd_kafka_resp_err_t)err));
}

/* --check-config and start-up: the viewer keys and the consumer's whole configuration. */
static int check_conf(const fw_conf_t *conf, char *err, size_t errlen) {
        if (fw_arkime_conf_check(conf, "by fanwatch-tagger", err, errlen) != 0)
                return -1;
        return fw_kafka_conf_check(conf, tagger_kafka_defaults, RD_KAFKA_CONSUMER,
                                   fw_conf_str(conf, "tagger.group"), "alerts consumer", err,
                                   errlen);
}

static void register_metrics(tagger_t *t, fw_metrics_t *m) {
        static const char *const alerts_help =
                "Alerts handled: tagged, no_sessions (the viewer had none to tag), rejected (a "
                "document that can never be tagged, skipped)";
        static const char *const errors_help =
                "Failed addtags requests by cause (the alert is held and retried)";
        static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                        1,     2.5,  5,     10,   30,  60,   120};
        t->tagged = fw_metrics_counter(m, "fanwatch_tagger_alerts_total", "result=\"tagged\"",
                                       alerts_help);
        t->no_sessions = fw_metrics_counter(m, "fanwatch_tagger_alerts_total",
                                            "result=\"no_sessions\"", alerts_help);
        t->rejected = fw_metrics_counter(m, "fanwatch_tagger_alerts_total", "result=\"rejected\"",
                                         alerts_help);
        t->requests = fw_metrics_counter(m, "fanwatch_tagger_requests_total", NULL,
                                         "Requests to the viewer's /api/sessions/addtags");
        t->e_network = fw_metrics_counter(m, "fanwatch_tagger_errors_total", "kind=\"network\"",
                                          errors_help);
        t->e_auth =
                fw_metrics_counter(m, "fanwatch_tagger_errors_total", "kind=\"auth\"", errors_help);
        t->e_http =
                fw_metrics_counter(m, "fanwatch_tagger_errors_total", "kind=\"http\"", errors_help);
        t->e_arkime = fw_metrics_counter(m, "fanwatch_tagger_errors_total", "kind=\"arkime\"",
                                         errors_help);
        t->latency = fw_metrics_histogram(m, "fanwatch_tagger_request_duration_seconds", NULL,
                                          "Latency of addtags requests", bounds,
                                          sizeof(bounds) / sizeof(bounds[0]));
        t->held = fw_metrics_gauge(m, "fanwatch_tagger_held_messages", NULL,
                                   "Alerts held on a paused partition (failing or waiting for "
                                   "the rate limit)");
}

static int run(const fw_conf_t *conf) {
        char err[1024];
        int status = 1;
        fw_log_level_t level = FW_LOG_INFO;
        fw_log_level_parse(fw_conf_str(conf, "log.level"), &level);
        fw_log_set_level(level);

        tagger_t t;
        memset(&t, 0, sizeof(t));
        health_t health;
        atomic_store(&health.ready, 0);
        atomic_store(&health.failing_since, 0);
        health.max_ms = fw_conf_duration_ms(conf, "tagger.unhealthy_after");
        t.health = &health;
        t.backoff_max = fw_conf_duration_ms(conf, "tagger.retry_backoff_max");
        fw_tb_init(&t.tb, fw_conf_float(conf, "tagger.rate"), 1.0, fw_mono_ms());

        fw_metrics_t *m = fw_metrics_new();
        fw_httpd_t *httpd = NULL;
        if (!m)
                goto out;
        register_metrics(&t, m);
        httpd = fw_httpd_start_conf(conf, m, health_check, &health, COMP);
        if (!httpd)
                goto out;

        fw_arkime_opts_t ao;
        fw_arkime_opts_from_conf(conf, &ao);
        if (!ao.tls_verify)
                fw_warn(COMP, "arkime.tls_verify is off: the viewer is not authenticated");
        t.client = fw_arkime_client_new(&ao, err, sizeof(err));
        if (!t.client) {
                fw_error(COMP, "%s", err);
                goto out;
        }
        fw_arkime_client_set_stop(t.client, &stop_flag, STOP_GRACE_MS);

        rd_kafka_conf_t *kc = fw_kafka_conf_new(conf, tagger_kafka_defaults, err, sizeof(err));
        const char *group = fw_conf_str(conf, "tagger.group");
        if (!kc || rd_kafka_conf_set(kc, "group.id", group, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
                if (kc)
                        rd_kafka_conf_destroy(kc);
                fw_error(COMP, "alerts consumer: %s", err);
                goto out;
        }
        rd_kafka_conf_set_opaque(kc, &t);
        rd_kafka_conf_set_rebalance_cb(kc, rebalance_cb);
        rd_kafka_conf_set_error_cb(kc, error_cb);
        t.rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof(err));
        if (!t.rk) {
                rd_kafka_conf_destroy(kc);
                fw_error(COMP, "alerts consumer: %s", err);
                goto out;
        }
        rd_kafka_poll_set_consumer(t.rk);
        const char *topic = fw_conf_str(conf, "topics.alerts");
        rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t se = rd_kafka_subscribe(t.rk, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (se) {
                fw_error(COMP, "subscribe %s: %s", topic, rd_kafka_err2str(se));
                goto out;
        }
        fw_info(COMP,
                "tagging the sessions of the alerts of %s (group %s) in %s, at most %g "
                "requests/s",
                topic, group, ao.url, fw_conf_float(conf, "tagger.rate"));

        int64_t last_commit = fw_mono_ms();
        while (!stop_flag) {
                retry_due(&t);
                int64_t now = fw_mono_ms(), timeout = POLL_MS;
                for (size_t i = 0; i < t.nholds; i++) {
                        int64_t d = t.holds[i].due_ms - now;
                        if (d < timeout)
                                timeout = d < 0 ? 0 : d;
                }
                rd_kafka_message_t *msg = rd_kafka_consumer_poll(t.rk, (int)timeout);
                if (msg)
                        handle_message(&t, msg);
                if (fw_mono_ms() - last_commit >= COMMIT_EVERY_MS) {
                        commit(t.rk, 1, "periodic");
                        last_commit = fw_mono_ms();
                }
        }
        fw_info(COMP, "stopping: committing the confirmed alerts' offsets");
        status = 0;
out:
        if (t.rk) {
                commit(t.rk, 0, "shutdown");
                while (t.nholds)
                        hold_remove(&t, t.nholds - 1);
                rd_kafka_consumer_close(t.rk);
                rd_kafka_destroy(t.rk);
        }
        free(t.holds);
        fw_arkime_client_free(t.client);
        fw_httpd_stop(httpd);
        fw_metrics_free(m);
        return status;
}

int main(int argc, char **argv) {
        const fw_cli_spec_t spec = {
                .prog = "fanwatch-tagger",
                .summary = "Tag each alert's evidence sessions in Arkime (fanwatch:<alert id>).",
                .defs = tagger_defs,
                .ndefs = sizeof(tagger_defs) / sizeof(tagger_defs[0]),
                .kafka_defaults = tagger_kafka_defaults,
                .check = check_conf,
        };
        fw_conf_t *conf = NULL;
        int rc = fw_cli_load(&spec, argc, argv, environ, &conf);
        if (rc >= 0)
                return rc;
        fw_cli_handle_signals(on_signal);
        rc = run(conf);
        fw_conf_free(conf);
        return rc;
}
