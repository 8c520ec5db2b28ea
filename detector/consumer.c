/* consumer: the detector's consume -> detect -> publish -> commit loop; see consumer.h.
 *
 * Offsets: each partition's alerts wait for their acknowledgement in its commit gate
 * (commit_gate.h: the commit rule, tested on its own); this file is the Kafka glue around it --
 * delivery reports, commits with the clock in their metadata, rebalances, and what the worker
 * threads (workpool.h) do with a run of messages. */
#include "consumer.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "commit_gate.h"
#include "log.h"
#include "timeutil.h"
#include "wire.h"
#include "workpool.h"

#define BROKER_TIMEOUT_MS 10000
#define REVOKE_DRAIN_MS   10000
#define STOP_BUDGET_MS    1500 /* from the stop to the group left (SIGTERM: exit within 2 s) */
#define META_PREFIX       "fw1 clock="
#define BATCH_MAX         1024 /* messages taken from librdkafka per call */
#define WORKER_QUEUE      64   /* runs queued per worker before the consumer waits */
#define BATCH_WAIT_MS     20   /* a batch waits at most this long to fill (detection latency) */

typedef struct part part_t;
typedef struct feeder feeder_t;
typedef struct ctx ctx_t;

/* One alert in its partition's commit gate (the payload stays here until Kafka acknowledged
 * it). */
typedef struct node {
        fw_gate_item_t item; /* first: the gate's items are nodes */
        char key[33];
        size_t len;
        char *payload;
} node_t;

struct part {
        int32_t id;
        pthread_mutex_t mu; /* held by the worker while it feeds a run; guards the fields below */
        int worker;         /* the worker thread that owns the partition's engine */
        feeder_t *f;        /* ... and its buffers */
        fw_engine_t *eng;
        int64_t replay_until; /* offsets below are replayed silently */
        int warmup;           /* ... as a new group's rewind: their alerts were never published */
        fw_gate_t gate;       /* alerts awaiting acknowledgement, processed and committed offsets */
        uint64_t rep_sessions, rep_late, rep_evicted; /* already added to the counters */
        fw_engine_stats_t st; /* the engine's, as last read by the main thread */
};

/* Consecutive messages of one partition, all live or all replayed, for its worker. */
typedef struct run {
        part_t *p;
        rd_kafka_message_t **msgs; /* owned: destroyed by the worker */
        size_t n;
        int live; /* FW_FEED_LIVE, _REPLAY or _WARMUP */
} run_t;

/* A worker thread's buffers: it feeds the runs of the partitions it owns (partition id %
 * threads), one at a time. */
struct feeder {
        ctx_t *c;
        fw_session_t *sess; /* decoded sessions of the run being fed (BATCH_MAX) */
        int64_t *offs;      /* their offsets */
        int64_t clock_before;
};

struct ctx {
        const fw_detector_opts_t *o;
        const fw_detect_cfg_t *dcfg;
        rd_kafka_t *consumer, *producer;
        part_t **parts; /* indexed by partition id */
        int32_t nparts_cap;
        int nassigned;
        fw_detector_health_t *health;
        fw_pool_t *pool;
        feeder_t *feeders; /* one per worker thread */
        int nworkers;
        _Atomic int fatal;
        pthread_mutex_t fatal_mu;
        char fatal_err[512];
        /* metrics */
        fw_counter_t *m_sessions, *m_replayed, *m_decode_errors, *m_late, *m_evicted;
        fw_counter_t *m_alerts[FW_DET_NKINDS], **m_rule_alerts;
        fw_counter_t *m_delivery_errors, *m_commits, *m_commit_errors, *m_rebalances;
        fw_gauge_t *g_keys, *g_bytes, *g_promoted, *g_parts, *g_lag, *g_inflight, *g_sources;
        _Atomic int64_t inflight;
        _Atomic uint64_t decode_errors_logged;
        fw_metrics_t *metrics; /* fanwatch_detector_event_time_lag_seconds (issue 15) */
        int64_t stop_deadline; /* wall ms by which a stop must be done, 0 while running */
        pthread_mutex_t kafka_mu;
        char kafka_cause[512];                 /* the Kafka trouble last logged, "" when none */
        _Atomic int64_t queue_error_logged_ms; /* an alert Kafka would not queue: last line */
        _Atomic uint64_t queue_errors;         /* ... and those not logged since */
};

int fw_detector_meta_clock(const void *meta, size_t len, int64_t *clock_ms) {
        char buf[64];
        size_t pl = strlen(META_PREFIX);
        if (meta == NULL || len <= pl || len >= sizeof(buf) || memcmp(meta, META_PREFIX, pl) != 0)
                return -1;
        memcpy(buf, meta, len);
        buf[len] = '\0';
        char *end;
        errno = 0;
        long long v = strtoll(buf + pl, &end, 10);
        if (errno != 0 || *end != '\0' || end == buf + pl)
                return -1;
        *clock_ms = v;
        return 0;
}

static part_t *part_get(ctx_t *c, int32_t id) {
        return id >= 0 && id < c->nparts_cap ? c->parts[id] : NULL;
}

/* Each engine gets an equal share of detect.max_memory_mb. */
static void rebalance_caps(ctx_t *c) {
        if (c->nassigned <= 0)
                return;
        size_t share = c->dcfg->max_bytes / (size_t)c->nassigned;
        for (int32_t i = 0; i < c->nparts_cap; i++)
                if (c->parts[i] != NULL)
                        fw_engine_set_max_bytes(c->parts[i]->eng, share);
}

/* ---- alerts out ---- */

/* Queue an alert. The main thread polls the producer (delivery reports run there); a worker
 * waits for it when the queue is full. */
static int produce_node(ctx_t *c, node_t *n, int main_thread) {
        for (;;) {
                int prev = atomic_exchange(&n->item.state, FW_GATE_IN_FLIGHT); /* before: the
                                                                                * report may
                                                                                * come at once */
                rd_kafka_resp_err_t e = rd_kafka_producev(
                        c->producer, RD_KAFKA_V_TOPIC(c->o->alerts_topic),
                        RD_KAFKA_V_KEY(n->key, 32), RD_KAFKA_V_VALUE(n->payload, n->len),
                        RD_KAFKA_V_OPAQUE(n), RD_KAFKA_V_END);
                if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
                        return 0;
                atomic_store(&n->item.state, prev);
                if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                        /* e.g. the topic is unknown or not authorised: every alert and every
                         * resend fails alike, so one line per 10 s says it */
                        int64_t now = fw_wall_ms();
                        uint64_t more = atomic_fetch_add(&c->queue_errors, 1);
                        if (now - atomic_load(&c->queue_error_logged_ms) >= 10000) {
                                atomic_store(&c->queue_error_logged_ms, now);
                                atomic_store(&c->queue_errors, 0);
                                fw_error("detector",
                                         "cannot queue alert %s: %s (%" PRIu64
                                         " more such failures since the last line; its offset "
                                         "is held and it is produced again)",
                                         n->key, rd_kafka_err2str(e), more);
                        }
                        return -1;
                }
                if (main_thread) {
                        rd_kafka_poll(c->producer, 100); /* back-pressure: wait for deliveries */
                } else {
                        struct timespec ts = {0, 1000000};
                        nanosleep(&ts, NULL);
                }
        }
}

/* The clock to commit with an alert of the run being fed: the engine's before the run; for an
 * engine that had seen nothing before it, the run's first session (its sessions before the
 * alert are in the new owner's rewind of 2 x window + lateness from there). */
static int64_t run_clock(const feeder_t *w) {
        return w->clock_before != FW_ABSENT ? w->clock_before : w->sess[0].first_packet_ms;
}

/* The engine's callback, on the worker thread feeding the partition (p->mu held). */
static int on_alert(const fw_alert_t *a, void *opaque) {
        part_t *p = opaque;
        feeder_t *w = p->f;
        ctx_t *c = w->c;
        fw_alert_json_opts_t jo = {c->o->viewer_url, c->o->observer, fw_wall_ms()};
        node_t *n = calloc(1, sizeof(*n));
        if (n == NULL)
                return -1;
        n->payload = fw_alert_json(a, &jo, &n->len);
        if (n->payload == NULL) {
                free(n);
                return -1;
        }
        memcpy(n->key, a->id, 33);
        /* the run's session being fed when it was raised (a final update has no trigger): the
         * offset is not committed past it before Kafka acknowledges the alert */
        const fw_session_t *at = a->fed != NULL ? a->fed : w->sess;
        if (produce_node(c, n, 0) < 0)
                atomic_store(&n->item.state, FW_GATE_FAILED); /* resent at each settle */
        /* in the gate once produced: its report (main thread) may already have marked it; the
         * main thread settles or releases the gate only under p->mu, held here */
        fw_gate_push(&p->gate, &n->item, w->offs[at - w->sess], run_clock(w));
        c->inflight++;
        fw_counter_add(a->kind == FW_DET_RULE ? c->m_rule_alerts[a->rule_cfg - c->dcfg->rules]
                                              : c->m_alerts[a->kind],
                       1);
        fw_debug("detector", "alert %s rule=%s count=%" PRIu64 " escalation=%u partition=%d", a->id,
                 a->rule, a->count, a->escalation, (int)p->id);
        return 0;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        (void)rk;
        ctx_t *c = opaque;
        node_t *n = m->_private;
        if (n == NULL)
                return;
        if (fw_gate_report(&n->item, m->err == RD_KAFKA_RESP_ERR_NO_ERROR)) {
                /* orphaned: its partition is gone, the new owner re-raises it */
                free(n->payload);
                free(n);
                return;
        }
        if (m->err) {
                fw_counter_add(c->m_delivery_errors, 1);
                fw_warn("detector", "alert %s not delivered (will retry): %s", n->key,
                        rd_kafka_err2str(m->err));
        }
}

static void node_drop(fw_gate_item_t *it, void *ud) {
        node_t *n = (node_t *)it;
        (void)ud;
        free(n->payload);
        free(n);
}

static void node_free(fw_gate_item_t *it, void *ud) {
        ctx_t *c = ud;
        node_drop(it, ud);
        c->inflight--;
}

static int node_resend(fw_gate_item_t *it, void *ud) {
        return produce_node(ud, (node_t *)it, 1);
}

/* Release acknowledged alerts, resend failed ones. */
static void part_settle(ctx_t *c, part_t *p) {
        fw_gate_settle(&p->gate, node_free, node_resend, c);
}

/* Commit the safe offsets of one partition (id >= 0) or of all; sync or async. */
static void commit_safe(ctx_t *c, int32_t only, int sync) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
        for (int32_t i = 0; i < c->nparts_cap; i++) {
                part_t *p = c->parts[i];
                int64_t off, clock;
                if (p == NULL || (only >= 0 && i != only))
                        continue;
                if (pthread_mutex_trylock(&p->mu) != 0)
                        continue; /* its worker is feeding it: next time */
                part_settle(c, p);
                int safe = fw_gate_safe(&p->gate, &off, &clock);
                if (safe)
                        fw_gate_commit_sent(&p->gate, off);
                pthread_mutex_unlock(&p->mu);
                if (!safe)
                        continue;
                rd_kafka_topic_partition_t *tp =
                        rd_kafka_topic_partition_list_add(l, c->o->sessions_topic, i);
                tp->offset = off;
                if (clock != FW_ABSENT) {
                        char meta[64];
                        int ml = snprintf(meta, sizeof(meta), META_PREFIX "%lld", (long long)clock);
                        tp->metadata = malloc((size_t)ml);
                        if (tp->metadata != NULL) {
                                memcpy(tp->metadata, meta, (size_t)ml);
                                tp->metadata_size = (size_t)ml;
                        }
                }
        }
        if (l->cnt > 0) {
                rd_kafka_resp_err_t e = rd_kafka_commit(c->consumer, l, !sync);
                if (e) {
                        fw_counter_add(c->m_commit_errors, 1);
                        fw_warn("detector", "offset commit failed: %s", rd_kafka_err2str(e));
                        for (int i = 0; i < l->cnt; i++) {
                                part_t *p = part_get(c, l->elems[i].partition);
                                if (p)
                                        fw_gate_commit_failed(&p->gate); /* next time */
                        }
                } else {
                        fw_counter_add(c->m_commits, 1);
                }
        }
        rd_kafka_topic_partition_list_destroy(l);
}

static void offset_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *offsets, void *opaque) {
        (void)rk;
        ctx_t *c = opaque;
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET)
                return;
        fw_counter_add(c->m_commit_errors, 1);
        fw_warn("detector", "asynchronous offset commit failed: %s", rd_kafka_err2str(err));
        for (int i = 0; offsets && i < offsets->cnt; i++) {
                part_t *p = part_get(c, offsets->elems[i].partition);
                if (p)
                        fw_gate_commit_failed(&p->gate);
        }
}

static void set_fatal(ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void kafka_ok(ctx_t *c);

/* Stop the loop with a reason (the first one wins); any thread. */
static void set_fatal(ctx_t *c, const char *fmt, ...) {
        pthread_mutex_lock(&c->fatal_mu);
        if (!atomic_load(&c->fatal)) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(c->fatal_err, sizeof(c->fatal_err), fmt, ap);
                va_end(ap);
                atomic_store(&c->fatal, 1);
        }
        pthread_mutex_unlock(&c->fatal_mu);
}

/* ---- workers ---- */

/* While the main thread waits for a worker (queue full, drain): serve delivery reports, the
 * worker may itself be waiting for room in the producer queue. */
static void pool_wait(void *ud) {
        ctx_t *c = ud;
        rd_kafka_poll(c->producer, 0);
}

/* Wait until every worker has fed everything queued. */
static void workers_drain(ctx_t *c) {
        fw_pool_drain(c->pool);
}

/* ---- assignment ---- */

static void part_destroy(ctx_t *c, part_t *p) {
        /* in-flight alerts become orphans, freed by their delivery reports */
        c->inflight -= (int64_t)fw_gate_release(&p->gate, node_drop, c);
        fw_engine_free(p->eng);
        pthread_mutex_destroy(&p->mu);
        free(p);
}

static int ensure_cap(ctx_t *c, int32_t id) {
        if (id < c->nparts_cap)
                return 0;
        int32_t ncap = c->nparts_cap ? c->nparts_cap : 16;
        while (ncap <= id)
                ncap *= 2;
        part_t **n = realloc(c->parts, (size_t)ncap * sizeof(*n));
        if (n == NULL)
                return -1;
        memset(n + c->nparts_cap, 0, (size_t)(ncap - c->nparts_cap) * sizeof(*n));
        c->parts = n;
        c->nparts_cap = ncap;
        return 0;
}

/* Where a partition starts, in words (librdkafka's -2 and -1 mean nothing to an operator). */
static void describe_start(char *buf, size_t len, int64_t start, int64_t replay_until,
                           int committed, int start_latest) {
        if (start == RD_KAFKA_OFFSET_BEGINNING)
                snprintf(buf, len,
                         "nothing committed yet: reading from the beginning of the partition, "
                         "live (detector.start = earliest)");
        else if (start == RD_KAFKA_OFFSET_END)
                snprintf(buf, len,
                         "nothing committed yet: reading from the end of the partition, live, "
                         "no window rebuilt (detector.start = latest; the end offset was not "
                         "available)");
        else if (replay_until > start)
                snprintf(buf, len,
                         "%s at offset %lld; rebuilding the window from offset %lld (%lld "
                         "sessions replayed without alerting), live from offset %lld",
                         committed ? "committed" : "nothing committed yet, the partition ends",
                         (long long)replay_until, (long long)start,
                         (long long)(replay_until - start), (long long)replay_until);
        else
                snprintf(buf, len, "%s: live from offset %lld (nothing to replay)",
                         committed      ? "resuming at the committed offset"
                         : start_latest ? "nothing committed yet, detector.start = latest"
                                        : "starting",
                         (long long)start);
}

/* Create the partitions' state and choose where each starts (sets tp->offset). */
static void assign_prepare(ctx_t *c, rd_kafka_topic_partition_list_t *parts) {
        const fw_detect_cfg_t *d = c->dcfg;
        int64_t history = 2 * d->window_ms + d->lateness_ms;
        rd_kafka_topic_partition_list_t *com = rd_kafka_topic_partition_list_copy(parts);
        rd_kafka_resp_err_t e = rd_kafka_committed(c->consumer, com, BROKER_TIMEOUT_MS);
        if (e)
                fw_warn("detector", "reading committed offsets: %s (starting without them)",
                        rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_t *ts = rd_kafka_topic_partition_list_new(parts->cnt);
        int64_t *replay_until = calloc((size_t)parts->cnt, sizeof(int64_t));
        char *warmup = calloc((size_t)parts->cnt, 1);
        for (int i = 0; i < parts->cnt; i++) {
                rd_kafka_topic_partition_t *tp = &parts->elems[i];
                rd_kafka_topic_partition_t *ct = &com->elems[i];
                int64_t clock;
                int64_t target = INT64_MIN;
                replay_until[i] = -1;
                if (!e && ct->err == 0 && ct->offset >= 0) {
                        tp->offset = ct->offset;
                        replay_until[i] = ct->offset;
                        if (fw_detector_meta_clock(ct->metadata, ct->metadata_size, &clock) == 0)
                                target = clock - history;
                        else
                                fw_warn("detector",
                                        "partition %d: committed offset %lld has no clock; "
                                        "resuming without rebuilding the window",
                                        (int)tp->partition, (long long)ct->offset);
                } else if (c->o->start_latest) {
                        int64_t lo = 0, hi = 0;
                        if (rd_kafka_query_watermark_offsets(c->consumer, tp->topic, tp->partition,
                                                             &lo, &hi, BROKER_TIMEOUT_MS) == 0) {
                                tp->offset = hi;
                                replay_until[i] = hi;
                                if (warmup != NULL)
                                        warmup[i] = 1;
                                target = fw_wall_ms() - history;
                        } else {
                                tp->offset = RD_KAFKA_OFFSET_END;
                        }
                } else {
                        tp->offset = RD_KAFKA_OFFSET_BEGINNING;
                }
                rd_kafka_topic_partition_t *t =
                        rd_kafka_topic_partition_list_add(ts, tp->topic, tp->partition);
                t->offset = target == INT64_MIN ? -1 : (target < 0 ? 0 : target);
        }
        /* rewind: the first message at or after the target time */
        int want = 0;
        for (int i = 0; i < ts->cnt; i++)
                want |= ts->elems[i].offset >= 0;
        if (want) {
                rd_kafka_resp_err_t te =
                        rd_kafka_offsets_for_times(c->consumer, ts, BROKER_TIMEOUT_MS);
                if (te)
                        fw_warn("detector", "rewind lookup failed: %s (resuming without it)",
                                rd_kafka_err2str(te));
                for (int i = 0; !te && i < ts->cnt; i++) {
                        int64_t found = ts->elems[i].offset;
                        if (ts->elems[i].err == 0 && found >= 0 && replay_until[i] >= 0 &&
                            found < parts->elems[i].offset)
                                parts->elems[i].offset = found;
                }
        }
        for (int i = 0; i < parts->cnt; i++) {
                rd_kafka_topic_partition_t *tp = &parts->elems[i];
                char err[256];
                if (ensure_cap(c, tp->partition) < 0)
                        continue;
                if (c->parts[tp->partition] != NULL)
                        part_destroy(c, c->parts[tp->partition]);
                part_t *p = calloc(1, sizeof(*p));
                if (p == NULL ||
                    (p->eng = fw_engine_new(c->dcfg, on_alert, p, err, sizeof(err))) == NULL) {
                        free(p);
                        set_fatal(c, "partition %d: %s", (int)tp->partition,
                                  p ? err : "out of memory");
                        continue;
                }
                pthread_mutex_init(&p->mu, NULL);
                p->worker = tp->partition % c->nworkers;
                p->f = &c->feeders[p->worker];
                p->id = tp->partition;
                p->replay_until = replay_until ? replay_until[i] : -1;
                p->warmup = warmup != NULL && warmup[i];
                fw_gate_init(&p->gate);
                c->parts[tp->partition] = p;
                c->nassigned++;
                char how[256];
                describe_start(how, sizeof(how), tp->offset, p->replay_until,
                               !e && com->elems[i].err == 0 && com->elems[i].offset >= 0,
                               c->o->start_latest);
                fw_info("detector", "assigned partition %d: %s", (int)tp->partition, how);
        }
        if (parts->cnt > 0) {
                atomic_store(&c->health->assigned, 1);
                atomic_store(&c->health->topic_missing, 0);
                atomic_store(&c->health->broker_down_since_ms, 0);
                kafka_ok(c);
        }
        free(replay_until);
        free(warmup);
        rd_kafka_topic_partition_list_destroy(ts);
        rd_kafka_topic_partition_list_destroy(com);
        rebalance_caps(c);
        fw_gauge_set(c->g_parts, c->nassigned);
}

static void revoke(ctx_t *c, rd_kafka_topic_partition_list_t *parts, int lost) {
        if (!lost) {
                /* wait (bounded) for these partitions' alerts, then commit what is safe */
                int64_t deadline = fw_wall_ms() + REVOKE_DRAIN_MS;
                if (c->stop_deadline && c->stop_deadline < deadline)
                        deadline = c->stop_deadline;
                for (;;) {
                        int pending = 0;
                        for (int i = 0; i < parts->cnt; i++) {
                                part_t *p = part_get(c, parts->elems[i].partition);
                                if (p) {
                                        pthread_mutex_lock(&p->mu);
                                        part_settle(c, p);
                                        pending += p->gate.waiting > 0;
                                        pthread_mutex_unlock(&p->mu);
                                }
                        }
                        if (!pending || fw_wall_ms() > deadline)
                                break;
                        rd_kafka_poll(c->producer, 50);
                }
                for (int i = 0; i < parts->cnt; i++)
                        if (part_get(c, parts->elems[i].partition))
                                commit_safe(c, parts->elems[i].partition, 1);
        }
        for (int i = 0; i < parts->cnt; i++) {
                part_t *p = part_get(c, parts->elems[i].partition);
                if (p == NULL)
                        continue;
                fw_info("detector", "%s partition %d at offset %lld", lost ? "lost" : "revoked",
                        (int)p->id, (long long)p->gate.processed);
                c->parts[p->id] = NULL;
                part_destroy(c, p);
                c->nassigned--;
        }
        rebalance_caps(c);
        fw_gauge_set(c->g_parts, c->nassigned);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
        ctx_t *c = opaque;
        int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
        fw_counter_add(c->m_rebalances, 1);
        workers_drain(c); /* no run in flight while partitions come and go */
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                assign_prepare(c, parts);
                rd_kafka_error_t *e = NULL;
                if (coop)
                        e = rd_kafka_incremental_assign(rk, parts);
                else
                        rd_kafka_assign(rk, parts);
                if (e) {
                        fw_error("detector", "incremental assign: %s", rd_kafka_error_string(e));
                        rd_kafka_error_destroy(e);
                }
        } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
                revoke(c, parts, rd_kafka_assignment_lost(rk));
                if (coop) {
                        rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
                        if (e) {
                                fw_error("detector", "incremental unassign: %s",
                                         rd_kafka_error_string(e));
                                rd_kafka_error_destroy(e);
                        }
                } else {
                        rd_kafka_assign(rk, NULL);
                }
        } else {
                fw_error("detector", "rebalance error: %s", rd_kafka_err2str(err));
                revoke(c, parts, 1);
                if (coop)
                        rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
                else
                        rd_kafka_assign(rk, NULL);
        }
}

/* librdkafka's client errors (broker unreachable, TLS, authentication...): librdkafka retries
 * with its backoff; each cause is logged once, and again when it changes (its own FAIL lines
 * are at debug, see log_cb). */
static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
        (void)rk;
        ctx_t *c = opaque;
        if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
                int64_t zero = 0;
                atomic_compare_exchange_strong(&c->health->broker_down_since_ms, &zero,
                                               fw_wall_ms());
        }
        char cause[512];
        snprintf(cause, sizeof(cause), "%s", reason);
        char *paren = strstr(cause, " (after "); /* "(after 0ms in state CONNECT, 3 identical
                                                  * error(s) suppressed)" changes every time */
        if (paren)
                *paren = '\0';
        pthread_mutex_lock(&c->kafka_mu);
        int all_down = err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN;
        int news = strcmp(cause, c->kafka_cause) != 0 && !(all_down && c->kafka_cause[0]);
        if (news)
                snprintf(c->kafka_cause, sizeof(c->kafka_cause), "%s", cause);
        pthread_mutex_unlock(&c->kafka_mu);
        if (err == RD_KAFKA_RESP_ERR__FATAL)
                fw_error("detector", "kafka: fatal: %s", cause);
        else if (news)
                fw_warn("detector", "kafka: %s (retrying)", cause);
}

/* Kafka answers again: the next trouble is logged even if its cause is the same. */
static void kafka_ok(ctx_t *c) {
        pthread_mutex_lock(&c->kafka_mu);
        int was = c->kafka_cause[0] != '\0';
        c->kafka_cause[0] = '\0';
        pthread_mutex_unlock(&c->kafka_mu);
        if (was)
                fw_info("detector", "kafka: reachable again");
}

/* librdkafka's log lines, as common/kafka_conf.c writes them, except FAIL (a connection
 * failed): error_cb reports the same cause once, librdkafka would repeat it every 30 s. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
        fw_log_level_t l = level <= 3 ? FW_LOG_ERROR : level == 4 ? FW_LOG_WARN : FW_LOG_INFO;
        if (strcmp(fac, "FAIL") == 0 ||
            (strcmp(fac, "CONFWARN") == 0 && strstr(buf, " property and will be ignored by this")))
                l = FW_LOG_DEBUG;
        fw_log(l, "kafka", "%s: %s: %s", rd_kafka_name(rk), fac, buf);
}

/* ---- the loop ---- */

static void decode_error(ctx_t *c, const rd_kafka_message_t *msg, const char *err) {
        fw_counter_add(c->m_decode_errors, 1);
        uint64_t nerr = atomic_fetch_add(&c->decode_errors_logged, 1) + 1;
        if (nerr <= 100 || nerr % 10000 == 0)
                fw_warn("detector",
                        "skipping undecodable record partition=%d offset=%lld: %s "
                        "(fanwatch_detector_decode_errors_total)",
                        (int)msg->partition, (long long)msg->offset, err);
}

/* Feed one run (worker thread): decode, feed the engine as one batch (prefetching ahead),
 * record how far the partition is processed; then release the messages. */
static void run_feed(feeder_t *w, run_t *r) {
        ctx_t *c = w->c;
        part_t *p = r->p;
        char err[256];
        size_t k = 0;
        pthread_mutex_lock(&p->mu);
        for (size_t i = 0; i < r->n; i++) {
                if (fw_session_decode(r->msgs[i]->payload, r->msgs[i]->len, &w->sess[k], err,
                                      sizeof(err)) != 0) {
                        decode_error(c, r->msgs[i], err); /* skipped: never stops the partition */
                        continue;
                }
                w->offs[k++] = r->msgs[i]->offset;
        }
        size_t done = k;
        w->clock_before = fw_engine_clock(p->eng);
        if (atomic_load(&c->fatal)) {
                done = 0; /* stopping: leave the offsets where they are */
        } else if (k > 0 && fw_engine_feed_batch(p->eng, w->sess, k, r->live, &done) < 0) {
                set_fatal(c, "partition %d offset %lld: out of memory while detecting", (int)p->id,
                          (long long)w->offs[done]);
                /* not processed: the offset stays before it */
                fw_gate_processed(&p->gate, w->offs[done], fw_engine_clock(p->eng));
        } else {
                fw_gate_processed(&p->gate, r->msgs[r->n - 1]->offset + 1, fw_engine_clock(p->eng));
        }
        if (r->live != FW_FEED_LIVE)
                fw_counter_add(c->m_replayed, done);
        pthread_mutex_unlock(&p->mu);
        for (size_t i = 0; i < r->n; i++)
                rd_kafka_message_destroy(r->msgs[i]);
        free(r->msgs);
}

/* A worker thread's job: one run, fed with the partition's feeder. */
static void run_job(void *job, int worker, void *ud) {
        run_t *r = job;
        (void)worker; /* r->p->f is this worker's feeder (p->worker == worker) */
        (void)ud;
        run_feed(r->p->f, r);
}

/* Queue a run for its partition's worker, waiting (and serving delivery reports) while its
 * queue is full. Takes ownership of r->msgs. */
static void run_queue(ctx_t *c, run_t *r) {
        fw_pool_queue(c->pool, r->p->worker, r);
}

/* Split a batch from librdkafka into runs (same partition, same live/replay state) for the
 * workers. Messages not handed over (errors, revoked partitions) are destroyed here. */
static void handle_batch(ctx_t *c, rd_kafka_message_t **msgs, size_t n) {
        size_t i = 0;
        while (i < n) {
                rd_kafka_message_t *m = msgs[i];
                part_t *p = part_get(c, m->partition);
                if (m->err || p == NULL || atomic_load(&c->fatal)) {
                        rd_kafka_message_destroy(m); /* errors were logged by the loop */
                        i++;
                        continue;
                }
                int live = m->offset >= p->replay_until;
                size_t j = i + 1;
                while (j < n && msgs[j]->err == 0 && msgs[j]->partition == m->partition &&
                       msgs[j]->offset > msgs[j - 1]->offset &&
                       (msgs[j]->offset >= p->replay_until) == live)
                        j++;
                run_t r = {p, malloc((j - i) * sizeof(*msgs)), j - i,
                           live        ? FW_FEED_LIVE
                           : p->warmup ? FW_FEED_WARMUP
                                       : FW_FEED_REPLAY};
                if (r.msgs == NULL) {
                        set_fatal(c, "out of memory");
                        continue; /* destroyed above on the next pass */
                }
                memcpy(r.msgs, msgs + i, (j - i) * sizeof(*msgs));
                run_queue(c, &r);
                i = j;
        }
}

/* The worker threads and their buffers. */
static int workers_start(ctx_t *c, int n) {
        c->feeders = calloc((size_t)n, sizeof(*c->feeders));
        if (c->feeders == NULL)
                return -1;
        c->nworkers = n;
        for (int i = 0; i < n; i++) {
                feeder_t *w = &c->feeders[i];
                w->c = c;
                w->sess = malloc(BATCH_MAX * sizeof(*w->sess));
                w->offs = malloc(BATCH_MAX * sizeof(*w->offs));
                if (w->sess == NULL || w->offs == NULL)
                        return -1;
        }
        c->pool = fw_pool_new(n, WORKER_QUEUE, sizeof(run_t), run_job, pool_wait, c);
        return c->pool != NULL ? 0 : -1;
}

static void workers_stop(ctx_t *c) {
        fw_pool_free(c->pool);
        c->pool = NULL;
        for (int i = 0; i < c->nworkers; i++) {
                free(c->feeders[i].sess);
                free(c->feeders[i].offs);
        }
        free(c->feeders);
        c->feeders = NULL;
        c->nworkers = 0;
}

/* Refresh gauges and add the engines' counters (as deltas) to the metrics. */
static void refresh_metrics(ctx_t *c) {
        double keys = 0, bytes = 0, promoted = 0, lag = 0, sources = 0;
        for (int32_t i = 0; i < c->nparts_cap; i++) {
                part_t *p = c->parts[i];
                if (p == NULL) {
                        fw_metrics_event_time(c->metrics, i, FW_ABSENT); /* not ours (now) */
                        continue;
                }
                if (pthread_mutex_trylock(&p->mu) == 0) { /* else: last values */
                        fw_engine_stats(p->eng, &p->st);
                        pthread_mutex_unlock(&p->mu);
                }
                const fw_engine_stats_t st = p->st;
                fw_metrics_event_time(c->metrics, i, st.clock_ms);
                keys += (double)st.keys;
                sources += (double)st.sources;
                bytes += (double)st.bytes;
                promoted += (double)st.promoted;
                fw_counter_add(c->m_sessions, st.sessions - p->rep_sessions);
                fw_counter_add(c->m_late, st.late - p->rep_late);
                fw_counter_add(c->m_evicted, st.evicted - p->rep_evicted);
                p->rep_sessions = st.sessions;
                p->rep_late = st.late;
                p->rep_evicted = st.evicted;
                int64_t lo, hi;
                if (rd_kafka_get_watermark_offsets(c->consumer, c->o->sessions_topic, i, &lo,
                                                   &hi) == 0 &&
                    hi >= 0 && p->gate.processed >= 0 && hi > p->gate.processed)
                        lag += (double)(hi - p->gate.processed);
        }
        fw_gauge_set(c->g_keys, keys);
        fw_gauge_set(c->g_sources, sources);
        fw_gauge_set(c->g_bytes, bytes);
        fw_gauge_set(c->g_promoted, promoted);
        fw_gauge_set(c->g_lag, lag);
        fw_gauge_set(c->g_inflight, (double)c->inflight);
}

static int register_metrics(ctx_t *c, fw_metrics_t *m) {
        c->metrics = m;
        c->m_sessions = fw_metrics_counter(m, "fanwatch_detector_sessions_total", NULL,
                                           "sessions analysed (live and replayed)");
        c->m_replayed = fw_metrics_counter(m, "fanwatch_detector_replayed_sessions_total", NULL,
                                           "sessions replayed silently to rebuild state");
        c->m_decode_errors =
                fw_metrics_counter(m, "fanwatch_detector_decode_errors_total", NULL,
                                   "records skipped because they could not be decoded");
        c->m_late = fw_metrics_counter(m, "fanwatch_detector_late_sessions_total", NULL,
                                       "sessions older than the newest event time - lateness");
        c->m_evicted = fw_metrics_counter(m, "fanwatch_detector_evicted_sources_total", NULL,
                                          "sources dropped (idle, or over detect.max_memory_mb)");
        c->m_delivery_errors =
                fw_metrics_counter(m, "fanwatch_detector_alert_delivery_errors_total", NULL,
                                   "alert deliveries that failed and were retried");
        c->m_commits = fw_metrics_counter(m, "fanwatch_detector_commits_total", NULL,
                                          "offset commits sent");
        c->m_commit_errors = fw_metrics_counter(m, "fanwatch_detector_commit_errors_total", NULL,
                                                "offset commits that failed");
        c->m_rebalances = fw_metrics_counter(m, "fanwatch_detector_rebalances_total", NULL,
                                             "rebalance callbacks (assign, revoke)");
        c->g_keys = fw_metrics_gauge(m, "fanwatch_detector_tracked_keys", NULL,
                                     "keys with state (sources, sub-keys)");
        c->g_sources = fw_metrics_gauge(m, "fanwatch_detector_tracked_sources", NULL,
                                        "sources with state");
        c->g_bytes = fw_metrics_gauge(m, "fanwatch_detector_state_bytes", NULL,
                                      "bytes of detection state");
        c->g_promoted = fw_metrics_gauge(m, "fanwatch_detector_sketch_keys", NULL,
                                         "keys counted by a sketch (past detect.exact_max)");
        c->g_parts = fw_metrics_gauge(m, "fanwatch_detector_assigned_partitions", NULL,
                                      "partitions of the sessions topic assigned here");
        c->g_lag = fw_metrics_gauge(m, "fanwatch_detector_lag_messages", NULL,
                                    "messages behind the high watermark, summed over partitions");
        c->g_inflight = fw_metrics_gauge(m, "fanwatch_detector_alerts_in_flight", NULL,
                                         "alerts produced but not yet acknowledged");
        for (int k = 0; k < FW_DET_RULE; k++) {
                char labels[128];
                snprintf(labels, sizeof(labels), "rule=\"%s\"", fw_det_kind_name(k));
                c->m_alerts[k] = fw_metrics_counter(m, "fanwatch_detector_alerts_total", labels,
                                                    "alerts raised, by rule");
                if (c->m_alerts[k] == NULL)
                        return -1;
        }
        c->m_rule_alerts = calloc(c->dcfg->nrules + 1, sizeof(*c->m_rule_alerts));
        if (c->m_rule_alerts == NULL)
                return -1;
        for (size_t r = 0; r < c->dcfg->nrules; r++) {
                char labels[160];
                snprintf(labels, sizeof(labels), "rule=\"%s\"", c->dcfg->rules[r].name);
                c->m_rule_alerts[r] = fw_metrics_counter(m, "fanwatch_detector_alerts_total",
                                                         labels, "alerts raised, by rule");
                if (c->m_rule_alerts[r] == NULL)
                        return -1;
        }
        return c->m_sessions && c->m_replayed && c->m_decode_errors && c->m_late && c->m_evicted &&
                               c->m_delivery_errors && c->m_commits && c->m_commit_errors &&
                               c->m_rebalances && c->g_keys && c->g_sources && c->g_bytes &&
                               c->g_promoted && c->g_parts && c->g_lag && c->g_inflight
                       ? 0
                       : -1;
}

int fw_detector_run(const fw_detector_opts_t *o, const fw_detect_cfg_t *dcfg,
                    rd_kafka_conf_t *consumer_conf, rd_kafka_conf_t *producer_conf, fw_metrics_t *m,
                    fw_detector_health_t *health, volatile sig_atomic_t *stop, char *err,
                    size_t errlen) {
        ctx_t c;
        memset(&c, 0, sizeof(c));
        c.o = o;
        c.dcfg = dcfg;
        c.health = health;
        int status = -1;
        char e[512];

        pthread_mutex_init(&c.fatal_mu, NULL);
        pthread_mutex_init(&c.kafka_mu, NULL);
        if (register_metrics(&c, m) < 0) {
                snprintf(err, errlen, "cannot register metrics");
                rd_kafka_conf_destroy(consumer_conf);
                rd_kafka_conf_destroy(producer_conf);
                free(c.m_rule_alerts);
                pthread_mutex_destroy(&c.fatal_mu);
                return -1;
        }
        rd_kafka_conf_set_opaque(producer_conf, &c);
        rd_kafka_conf_set_dr_msg_cb(producer_conf, dr_cb);
        rd_kafka_conf_set_error_cb(producer_conf, error_cb);
        rd_kafka_conf_set_log_cb(producer_conf, log_cb);
        c.producer = rd_kafka_new(RD_KAFKA_PRODUCER, producer_conf, e, sizeof(e));
        if (c.producer == NULL) {
                snprintf(err, errlen, "alerts producer: %s", e);
                rd_kafka_conf_destroy(producer_conf);
                rd_kafka_conf_destroy(consumer_conf);
                free(c.m_rule_alerts);
                pthread_mutex_destroy(&c.fatal_mu);
                return -1;
        }
        if (workers_start(&c, o->threads > 0 ? o->threads : 1) < 0) {
                snprintf(err, errlen, "cannot start %d worker threads", o->threads);
                rd_kafka_conf_destroy(consumer_conf);
                goto out;
        }
        rd_kafka_conf_set_opaque(consumer_conf, &c);
        rd_kafka_conf_set_rebalance_cb(consumer_conf, rebalance_cb);
        rd_kafka_conf_set_offset_commit_cb(consumer_conf, offset_commit_cb);
        rd_kafka_conf_set_error_cb(consumer_conf, error_cb);
        rd_kafka_conf_set_log_cb(consumer_conf, log_cb);
        c.consumer = rd_kafka_new(RD_KAFKA_CONSUMER, consumer_conf, e, sizeof(e));
        if (c.consumer == NULL) {
                snprintf(err, errlen, "sessions consumer: %s", e);
                rd_kafka_conf_destroy(consumer_conf);
                goto out;
        }
        rd_kafka_poll_set_consumer(c.consumer);
        rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, o->sessions_topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t se = rd_kafka_subscribe(c.consumer, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (se) {
                snprintf(err, errlen, "subscribe %s: %s", o->sessions_topic, rd_kafka_err2str(se));
                goto out;
        }
        fw_info("detector", "consuming %s, alerts to %s", o->sessions_topic, o->alerts_topic);

        int64_t next_commit = fw_wall_ms() + o->commit_interval_ms;
        char last_topic_err[256] = "";
        rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(c.consumer);
        rd_kafka_message_t *batch[BATCH_MAX];
        while (!*stop && !atomic_load(&c.fatal)) {
                /* serves the rebalance callback too; messages of a revoked partition are
                 * dropped by librdkafka before they are returned */
                ssize_t n = rd_kafka_consume_batch_queue(q, BATCH_WAIT_MS, batch, BATCH_MAX);
                int64_t now = fw_wall_ms();
                atomic_store(&health->last_progress_ms, now);
                if (n > 0) {
                        int got = 0;
                        for (ssize_t i = 0; i < n; i++) {
                                const rd_kafka_message_t *msg = batch[i];
                                if (msg->err && msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                                        const char *why = rd_kafka_message_errstr(msg);
                                        int missing =
                                                msg->err ==
                                                        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                                                msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
                                        if (missing && !atomic_load(&health->topic_missing))
                                                fw_error("detector",
                                                         "topic %s does not exist: create it "
                                                         "(the producer does with "
                                                         "producer.create_topic_partitions) or "
                                                         "fix topics.sessions; waiting for it, "
                                                         "/healthz is 503 (%s)",
                                                         o->sessions_topic, why);
                                        else if (!missing && strcmp(why, last_topic_err) != 0)
                                                fw_warn("detector", "consume: %s", why);
                                        if (missing)
                                                atomic_store(&health->topic_missing, 1);
                                        snprintf(last_topic_err, sizeof(last_topic_err), "%s", why);
                                        continue;
                                }
                                atomic_store(&health->broker_down_since_ms, 0);
                                got = 1;
                        }
                        if (got)
                                kafka_ok(&c);
                        handle_batch(&c, batch, (size_t)n); /* takes the messages */
                }
                rd_kafka_poll(c.producer, 0);
                if (now >= next_commit) {
                        commit_safe(&c, -1, 0);
                        refresh_metrics(&c);
                        next_commit = now + o->commit_interval_ms;
                }
        }
        c.stop_deadline = fw_wall_ms() + STOP_BUDGET_MS;
        workers_drain(&c);
        rd_kafka_queue_destroy(q);
        if (c.fatal) {
                snprintf(err, errlen, "%s", c.fatal_err);
                fw_error("detector", "stopping: %s", c.fatal_err);
        }
        /* clean stop: deliver alerts (within the budget: what Kafka has not acknowledged by
         * then keeps its offset uncommitted and is raised again), commit, leave the group */
        int64_t left = c.stop_deadline - fw_wall_ms() - 500; /* 500 ms for commit and leave */
        rd_kafka_flush(c.producer, left > 0 ? (int)left : 0);
        commit_safe(&c, -1, 1);
        refresh_metrics(&c);
        fw_info("detector", "leaving the group");
        rd_kafka_consumer_close(c.consumer);
        status = c.fatal ? -1 : 0;
out:
        if (c.consumer)
                rd_kafka_destroy(c.consumer);
        workers_stop(&c);
        for (int32_t i = 0; i < c.nparts_cap; i++)
                if (c.parts[i])
                        part_destroy(&c, c.parts[i]);
        free(c.parts);
        if (rd_kafka_flush(c.producer, c.stop_deadline ? 100 : 1000) != 0) {
                rd_kafka_purge(c.producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
                rd_kafka_poll(c.producer, 0); /* the purged alerts' reports free them */
        }
        rd_kafka_destroy(c.producer);
        free(c.m_rule_alerts);
        pthread_mutex_destroy(&c.fatal_mu);
        pthread_mutex_destroy(&c.kafka_mu);
        return status;
}
