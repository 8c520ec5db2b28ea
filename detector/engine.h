/* engine: every detection over one ordered stream of sessions (one Kafka partition, or a file).
 *
 * Feed sessions in stream order; the engine keeps per-key sliding windows in event time
 * (firstPacket), evaluates the detections of a fw_detect_cfg_t and reports alerts through a
 * callback. No wall clock and no I/O: the same sessions in the same order give the same alerts,
 * live, replayed from Kafka or read from a file. Not thread-safe; one engine per partition.
 *
 * Detections (docs/detector.md): address sweep per source and per source+destination port
 * (distinct destination IPs), port scan per source+destination (distinct destination ports),
 * session spike per source and in total (sessions per interval vs an EWMA/MAD baseline), and
 * expression rules (matching sessions per source). Alerts are grouped by attack (default,
 * FW_GROUP_ATTACK): one alert per key and run of activity, updated in place (same id) while it
 * grows, its last growth reported when the key has been quiet for quiet_ms; or by window
 * (FW_GROUP_WINDOW): one alert per key per window epoch, raised again at each escalation. */
#ifndef FW_ENGINE_H
#define FW_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "expr.h"
#include "net.h"
#include "session.h"

/* The kinds of detection, also the alert's rule id ("address_sweep", ...). */
typedef enum {
        FW_DET_SWEEP = 0,   /* distinct destination IPs per source */
        FW_DET_SWEEP_PORT,  /* distinct destination IPs per source + destination port */
        FW_DET_PORTSCAN,    /* distinct destination ports per source + destination IP */
        FW_DET_SPIKE,       /* sessions per interval per source vs its baseline */
        FW_DET_SPIKE_TOTAL, /* sessions per interval in the whole stream vs its baseline */
        FW_DET_RULE,        /* an expression rule; one entry per rule in fw_detect_cfg_t.rules */
        FW_DET_NKINDS
} fw_det_kind_t;

/* Stable rule id of a built-in detection kind ("address_sweep", "address_sweep_port", "port_scan",
 * "session_spike", "session_spike_total"); NULL for FW_DET_RULE. */
const char *fw_det_kind_name(fw_det_kind_t kind);

/* Settings shared by the distinct-count detections (sweep, sweep_port, portscan). */
typedef struct fw_fanout_cfg {
        int enabled;
        uint32_t threshold;        /* alert when distinct targets in the window >= threshold */
        uint32_t failed_threshold; /* lower threshold applied when the share of failed connections
                                    * of the key in the window >= failed_share; 0 = off */
        double failed_share;       /* 0..1 */
        int severity;              /* ECS event.severity, 0..100 */
        fw_cidr_list_t allow_src;  /* sources never reported by this detection */
        fw_cidr_list_t allow_dst;  /* destinations not counted by this detection */
} fw_fanout_cfg_t;

typedef struct fw_spike_cfg {
        int enabled;
        int64_t interval_ms; /* counting interval, e.g. 60 s */
        uint32_t min_count;  /* never alert below this many sessions in an interval */
        double k;            /* alert when count > mean + k * deviation */
        double alpha;        /* EWMA weight of the newest interval, 0..1 */
        uint32_t warmup;     /* intervals observed before the baseline is trusted */
        int severity;
        fw_cidr_list_t allow_src;
} fw_spike_cfg_t;

/* One expression rule: alert when a source's matching sessions in an epoch >= threshold. */
typedef struct fw_rule_cfg {
        char *name;         /* rule id in alerts, [A-Za-z0-9_.-]+ */
        fw_expr_t *expr;    /* compiled; owned by the configuration */
        uint32_t threshold; /* >= 1 */
        int severity;
        char *technique; /* MITRE ATT&CK id for the alert, e.g. "T1590"; NULL for none */
        fw_cidr_list_t allow_src;
        char *title;       /* rules file 'name': the alert's rule.name; NULL for none */
        char *description; /* rules file 'description': rule.description; NULL for none */
        char *reference;   /* rules file 'reference': rule.reference (a URL); NULL for none */
} fw_rule_cfg_t;

/* How alerts are grouped (alert.grouping). */
typedef enum {
        FW_GROUP_ATTACK = 0, /* one alert per key and attack; address_sweep_port folds into the
                              * source's address_sweep (its ports, with hosts per port) */
        FW_GROUP_WINDOW      /* one alert per key per window epoch, each detection on its own */
} fw_grouping_t;

/* Which sessions the fan-out detections count (detect.count). */
typedef enum {
        FW_COUNT_FAILED_OR_NEW = 0, /* failed connections, and answered ones to a destination the
                                     * source has not reached within history_ms */
        FW_COUNT_ALL                /* every session */
} fw_count_policy_t;

#define FW_HISTORY_MAX 4096 /* answered destinations remembered per source */

typedef struct fw_detect_cfg {
        int count_policy;    /* fw_count_policy_t */
        int64_t history_ms;  /* FW_COUNT_FAILED_OR_NEW: how long a destination stays known */
        int grouping;        /* fw_grouping_t */
        int64_t quiet_ms;    /* attack grouping: an alert ends after this much event time without
                              * a session of its key (default 10 min, at most window + lateness) */
        int64_t update_ms;   /* attack grouping: at most one update per this much event time
                              * (default 5 min) */
        int64_t settle_ms;   /* attack grouping: hold an attack's first document until event
                              * time passes its first crossing by this much, then name it by the
                              * earliest crossing then known (0: at once; at most lateness) */
        int64_t window_ms;   /* sliding window and alert epoch length (default 5 min) */
        int64_t lateness_ms; /* bounded lateness: how far behind the newest event time a session
                              * may arrive and still count (default 10 min) */
        double escalation;   /* re-raise when count >= escalation * last reported (> 1) */
        uint32_t exact_max;  /* promotion point: exact counting while distinct <= exact_max */
        uint8_t hll_p;       /* sketch precision after promotion */
        size_t max_bytes;    /* cap on the engine's state; idle then least recent keys evicted */
        uint32_t sample_max; /* targets (hosts or ports) carried in an alert */
        int exact_baseline;  /* 1: exact timestamped hash sets for every key (benchmark baseline) */
        fw_fanout_cfg_t fanout[3]; /* indexed by FW_DET_SWEEP, FW_DET_SWEEP_PORT, FW_DET_PORTSCAN */
        fw_spike_cfg_t spike;      /* per source */
        fw_spike_cfg_t spike_total; /* whole stream */
        fw_rule_cfg_t *rules;
        size_t nrules;
} fw_detect_cfg_t;

#define FW_ALERT_SAMPLE_MAX 32

/* An alert as the engine reports it; alert.c turns it into ECS JSON. Valid during the callback. */
typedef struct fw_alert {
        fw_det_kind_t kind;
        const char *rule;              /* fw_det_kind_name(kind) or the expression rule's name */
        const fw_rule_cfg_t *rule_cfg; /* the expression rule, NULL for built-in kinds */
        char id[33];                   /* hex XXH3-128 of (rule, key, epoch start): the Kafka key */
        int late;    /* attack grouping: started by a session older than window + lateness behind
                      * the newest (it may re-open an alert that already ended, under its id) */
        int settled; /* attack grouping with settle_ms: a first document held back, sent when
                      * event time passed its crossing by settle_ms (trigger NULL) */
        int final;   /* attack grouping: the attack's last update (its key has
                      * been quiet for quiet_ms, or the engine was flushed) */
        int severity;
        int has_src, has_dst, has_dport; /* which key parts are set (spike_total: none) */
        fw_ip_t src, dst;
        uint16_t dport;
        int64_t epoch_start_ms; /* floor(event time / window) * window; attack grouping: of the
                                 * attack's first alert, kept by its updates */
        int64_t window_start_ms, window_end_ms; /* the counted span (end - window, end] */
        int64_t first_seen_ms, last_seen_ms;    /* of the key's sessions in the window */
        uint64_t count;      /* distinct targets, sessions in the interval, or matching sessions */
        uint64_t threshold;  /* the threshold that was crossed (lowered if failed-driven) */
        int exact;           /* 1 if count is exact, 0 if estimated by the sketch */
        uint32_t escalation; /* 0 for the first alert of the epoch, then 1, 2, ... */
        uint64_t sessions, failed; /* the key's sessions and failed connections, recent window */
        double baseline_mean, baseline_dev;   /* spike kinds only */
        fw_ip_t targets[FW_ALERT_SAMPLE_MAX]; /* sample of destination hosts (sweeps) */
        uint32_t ntargets;
        uint16_t ports[FW_ALERT_SAMPLE_MAX]; /* sample of destination ports (port scan) */
        uint32_t nports;
        uint16_t by_port[FW_ALERT_SAMPLE_MAX]; /* attack-grouped sweeps: the ports reaching the
                                                * most hosts (at least 2), most first ... */
        uint64_t by_port_hosts[FW_ALERT_SAMPLE_MAX]; /* ... and the hosts each reached */
        uint32_t nby_port;
        const fw_session_t *trigger; /* the session that crossed the threshold; NULL for a final
                                      * update */
        const fw_session_t *fed;     /* the session being fed when it was raised (a final update is
                                      * raised while feeding a later session of any key); NULL
                                      * from fw_engine_flush */
} fw_alert_t;

/* Called for each alert; return 0, or -1 to make fw_engine_feed return -1 (e.g. out of memory
 * while queueing it). In replay mode (live == 0) the callback is not called. */
typedef int (*fw_alert_fn)(const fw_alert_t *alert, void *opaque);

typedef struct fw_engine fw_engine_t;

/* Counters of an engine, for metrics and benchmarks. */
typedef struct fw_engine_stats {
        uint64_t sessions;      /* fed */
        uint64_t late;          /* older than newest - lateness when fed */
        uint64_t too_late;      /* older than newest - (window + lateness) when fed */
        uint64_t alerts;        /* reported (live) */
        uint64_t alerts_silent; /* raised while replaying (not reported) */
        uint64_t alerts_by_kind[FW_DET_NKINDS];
        uint64_t keys;           /* tracked keys now (sources + sub-keys + rule keys) */
        uint64_t sources;        /* tracked sources now */
        uint64_t promoted;       /* keys counted by a sketch now */
        uint64_t evicted;        /* keys evicted since creation (idle or over the cap) */
        uint64_t evicted_active; /* of those, keys still inside the window (cap pressure) */
        size_t bytes;            /* state bytes now, the engine included (not its cfg) */
        int64_t clock_ms;        /* newest event time seen (FW_ABSENT before the first session) */
} fw_engine_stats_t;

/* A new empty engine over cfg (which must outlive it). NULL with a message on error. */
fw_engine_t *fw_engine_new(const fw_detect_cfg_t *cfg, fw_alert_fn fn, void *opaque, char *err,
                           size_t errlen);
void fw_engine_free(fw_engine_t *e);

/* How a session is fed (fw_engine_feed's live). */
#define FW_FEED_REPLAY                                                                             \
        0              /* rebuild state, report nothing: sessions whose alerts were reported       \
                        * already (replay up to a committed offset after a rebalance) */
#define FW_FEED_LIVE 1 /* report alerts */
#define FW_FEED_WARMUP                                                                             \
        2 /* rebuild state, report nothing, and take the attacks it opens for                      \
           * never reported (a new group's rewind): they are reported again only                   \
           * when they grow, never by a final update alone */

/* Feed one session; live is one of FW_FEED_* (0 rebuilds state -- windows, epochs, escalation
 * levels -- exactly as live processing would but reports nothing). Returns the number of alerts
 * raised (reported or not), or -1 if the callback failed or memory ran out (the engine stays
 * consistent; the session may be fed again). */
int fw_engine_feed(fw_engine_t *e, const fw_session_t *s, int live);

/* Feed n sessions in order, as n calls of fw_engine_feed, prefetching the state of the sessions
 * ahead (a large state is memory-bound: this overlaps the cache misses). Returns the alerts
 * raised, or -1 as fw_engine_feed does; *done (may be NULL) gets the number of sessions fully
 * processed (on -1, session *done is the one that failed and may be fed again). In the callback,
 * alert->trigger points into ss. */
int fw_engine_feed_batch(fw_engine_t *e, const fw_session_t *ss, size_t n, int live, size_t *done);

/* Attack grouping: report the last growth of every alert still open (end of a replayed file,
 * a test). Returns the alerts raised, or -1 if the callback failed (call again). */
int fw_engine_flush(fw_engine_t *e, int live);

/* Change the state cap (a detector shares detect.max_memory_mb among its partitions); enforced
 * from the next session on. */
void fw_engine_set_max_bytes(fw_engine_t *e, size_t max_bytes);

/* Newest event time seen, FW_ABSENT before the first session (the offset commit records it). */
int64_t fw_engine_clock(const fw_engine_t *e);

void fw_engine_stats(const fw_engine_t *e, fw_engine_stats_t *out);

/* Fill cfg with the defaults (Zeek scan.zeek: 25 hosts, 15 ports in 5 minutes; see
 * docs/detector.md). Lists are empty and rules none. */
void fw_detect_cfg_defaults(fw_detect_cfg_t *cfg);

/* Free what fw_detect_cfg_t owns (allowlists, rules) and reset it. */
void fw_detect_cfg_release(fw_detect_cfg_t *cfg);

#endif
