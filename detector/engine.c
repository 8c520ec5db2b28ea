/* engine: the detections over one ordered session stream; see engine.h and docs/detector.md.
 *
 * State, per source (a table of src_t, open addressing on the source IP):
 *   - sweep: a fan-out key counting distinct destination IPs (fw_distinct: exact, then sketch);
 *   - subs: the source's sub-keys, source+port (distinct destinations) and source+destination
 *     (distinct ports), each a fan-out key, created only once a second distinct target shows up:
 *     until then the first target waits in the source's pairmap (bounded), so a sweeper's ten
 *     thousand one-port destinations cost no key each;
 *   - spike: the session-rate baseline (fw_spike_t);
 *   - rules: per expression rule, matching sessions in the current epoch (allocated on a match).
 * With cfg->exact_baseline every sub-key is created at once and never promoted (the benchmark's
 * "exact timestamped hash sets"). Eviction: sources idle for window + lateness lose their fan-out
 * state (the spike baseline stays) and are dropped after FW_IDLE_DROP_INTERVALS intervals; over
 * max_bytes the least recently seen of a sample of sources is dropped (Redis-style sampled LRU). */
#include "engine.h"
#include "errmsg.h"
#include "timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "distinct.h"
#include "history.h"
#include "pairmap.h"
#include "spike.h"

#define SEED_SRC               0x9e3779b97f4a7c15ULL
#define SEED_ELEM              0xc2b2ae3d27d4eb4fULL
#define TAG_PORT               0x1u /* sub-key kinds, mixed into the sub-key hash */
#define TAG_DST                0x2u
#define FW_IDLE_DROP_INTERVALS 60   /* spike intervals of silence after which a source is dropped */
#define PAIRMAP_MAX            1024 /* first sightings per source (24 B each) */
#define EVICT_SAMPLE           8    /* sources sampled per eviction under the memory cap */
#define SWEEP_STEP             4    /* source-table slots examined per session for idle sources */

/* A key counting distinct targets in the window, with its alert state. */
/* Laid out without holes: 8-byte fields, then 4-byte, then the rest (168 bytes). */
typedef struct fankey {
        uint64_t h;                /* sub-key hash (0 for a source's own sweep key) */
        fw_distinct_t *d;          /* NULL until the first target */
        int64_t first_ms, last_ms; /* first session of the current run of activity, last session */
        int64_t half;              /* index of the current half-window (failed-connection counts) */
        int64_t epoch;      /* epoch of the last alert (attack grouping: of the open attack's first
                             * alert), INT64_MIN for none */
        int64_t ep_last;    /* attack grouping: newest sighting of the open attack */
        int64_t doc_ms;     /* attack grouping: event time of the attack's last document */
        fw_ip_t *sample_ip; /* sweeps: sampled destinations (allocated near the threshold) */
        uint16_t *sample_port; /* port scans: sampled ports */
        uint64_t ub;           /* upper bound of the distinct count: last count + sightings since */
        uint64_t floor;        /* sketch regime: no recount before ub reaches it */
        uint32_t sess[2],
                fail[2];  /* sessions / failed ones, [0] current half-window, [1] previous */
        uint32_t alerted; /* count last reported (saturated, as peak) */
        uint32_t peak;    /* attack grouping: highest count seen in the open attack */
        uint32_t nesc;    /* escalations reported in that epoch (attack) */
        uint32_t nsample;
        fw_ip_t dst;   /* the sub-key's destination (TAG_DST) */
        uint8_t tag;   /* 0 (sweep), TAG_PORT or TAG_DST */
        uint16_t port; /* the sub-key's destination port (TAG_PORT) */
        uint8_t held;  /* attack grouping: an update is due once update_ms has passed */
        uint8_t live;  /* attack grouping: a session of the open attack was fed live */
        uint8_t late;  /* attack grouping: started by a session older than window + lateness */
        uint8_t pub;   /* attack grouping: its first document was reported (or replayed) */
        uint8_t pend;  /* attack grouping, alert.settle: its first document is held back;
                        * doc_ms is then the earliest window end known to cross */
} fankey_t;

typedef struct rulestate {
        int64_t epoch;             /* window grouping: the epoch; attack: of the attack's start */
        int64_t first_ms, last_ms; /* matching sessions of the epoch (attack: of the attack) */
        int64_t doc_ms;            /* attack grouping: event time of the last document */
        uint32_t count, alerted, nesc;
        uint32_t failed; /* of the matching sessions, failed connection attempts */
        uint8_t live;    /* attack grouping: a session of the open attack was fed live */
        uint8_t late;    /* attack grouping: started by a session older than window + lateness */
        uint8_t pub;     /* attack grouping: opened while reporting or replaying reported history */
        uint8_t pend;    /* attack grouping, alert.settle: the first document is held back
                          * (doc_ms: when the threshold was reached) */
        uint16_t dport;  /* pend: the destination of the session that reached it */
        fw_ip_t dst;
} rulestate_t;

/* Attack grouping of a session spike: the run of alerting intervals it belongs to. */
typedef struct spkrun {
        int64_t anchor; /* start of the run's first alerting interval, INT64_MIN for none */
        int64_t end;    /* end of its last alerting interval */
        int64_t doc;    /* event time of its last document */
        uint32_t n;     /* documents after the first */
} spkrun_t;

typedef struct src src_t;

/* An attack whose first document is held back (alert.settle): a fan-out key, or rule r of s. */
typedef struct pend {
        src_t *s;
        fankey_t *k; /* NULL for a rule */
        uint32_t rule;
        uint8_t kind; /* fw_det_kind_t */
} pend_t;

static void spkrun_init(spkrun_t *r) {
        r->anchor = r->end = r->doc = INT64_MIN;
        r->n = 0;
}

/* A source-table slot: the hash and last event time sit next to the pointer, so probing and the
 * idle sweep do not touch the source record. */
typedef struct tslot {
        src_t *s; /* NULL: free */
        uint64_t h;
        int64_t last_ms;
} tslot_t;

struct src {
        uint64_t h;
        fw_ip_t ip;
        int64_t last_ms;
        fankey_t sweep;
        fw_spike_t spike;
        spkrun_t spkrun;
        fankey_t **subs; /* open addressing on fankey_t.h */
        uint32_t subcap, subused;
        fw_pairmap_t pm;
        rulestate_t *rules; /* cfg->nrules entries, NULL until a rule matches */
        fw_history_t hist;  /* destinations reached with answered connections (detect.count) */
};

struct fw_engine {
        const fw_detect_cfg_t *cfg;
        fw_alert_fn fn;
        void *opaque;
        fw_distinct_cfg_t dcfg;
        fw_spike_params_t sp, sp_total;
        fw_spike_t total;
        spkrun_t total_run;
        tslot_t *tab; /* source table, open addressing, backward-shift deletion */
        uint32_t cap, used;
        uint32_t hand; /* idle sweep position */
        uint64_t rng;
        int64_t clock; /* newest event time, INT64_MIN before the first */
        size_t bytes;
        size_t max_bytes; /* cap on bytes (cfg->max_bytes unless set) */
        fw_engine_stats_t st;
        const fw_session_t *cur; /* session being fed */
        int live;
        int warm;     /* FW_FEED_WARMUP: attacks opened now were never reported */
        int too_late; /* the session is older than window + lateness behind the newest */
        int64_t chg;  /* earliest end of a window the current sighting changed (fankey_add) */
        pend_t *pend; /* attacks whose first document is held back (alert.settle) */
        size_t npend, pendcap;
        int64_t pend_min; /* earliest due time in pend */
};

static const char *const kind_names[FW_DET_NKINDS] = {
        "address_sweep", "address_sweep_port",  "port_scan",
        "session_spike", "session_spike_total", NULL,
};

const char *fw_det_kind_name(fw_det_kind_t kind) {
        return (unsigned)kind < FW_DET_NKINDS ? kind_names[kind] : NULL;
}

/* ---- small helpers ---- */

static uint64_t mix64(uint64_t x) {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ULL;
        x ^= x >> 33;
        return x;
}

static uint32_t sat32(uint64_t v) {
        return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static int64_t cutoff(int64_t t, int64_t w) {
        return t < INT64_MIN + w ? INT64_MIN : t - w;
}

static void *acct_calloc(fw_engine_t *e, size_t n, size_t size) {
        void *p = calloc(n, size);
        if (p != NULL)
                e->bytes += n * size;
        return p;
}

static void acct_free(fw_engine_t *e, void *p, size_t size) {
        if (p != NULL) {
                free(p);
                e->bytes -= size;
        }
}

/* A session is a failed connection attempt: TCP with a SYN but no SYN-ACK, or reset with no
 * payload from the responder (Arkime's tcpflags.*); without flags, single-packet TCP. */
static int session_failed(const fw_session_t *s) {
        if (s->ip_protocol != 6)
                return 0;
        if (s->tcpflags.syn >= 0 && s->tcpflags.syn_ack >= 0) {
                if (s->tcpflags.syn > 0 && s->tcpflags.syn_ack == 0)
                        return 1;
                return s->tcpflags.rst > 0 && s->dst_databytes <= 0;
        }
        return fw_session_packets(s) == 1;
}

/* ---- fan-out keys ---- */

static void fankey_init(fankey_t *k, uint8_t tag, uint64_t h) {
        memset(k, 0, sizeof(*k));
        k->tag = tag;
        k->h = h;
        k->epoch = INT64_MIN;
        k->ep_last = INT64_MIN;
        k->half = INT64_MIN;
        k->first_ms = INT64_MIN;
        k->last_ms = INT64_MIN;
}

static void fankey_release(fw_engine_t *e, fankey_t *k) {
        if (k->d != NULL) {
                e->bytes -= fw_distinct_bytes(k->d);
                if (!fw_distinct_is_exact(k->d))
                        e->st.promoted--;
                fw_distinct_free(k->d);
                k->d = NULL;
        }
        acct_free(e, k->sample_ip, e->cfg->sample_max * sizeof(fw_ip_t));
        acct_free(e, k->sample_port, e->cfg->sample_max * sizeof(uint16_t));
        k->sample_ip = NULL;
        k->sample_port = NULL;
        k->nsample = 0;
        k->ub = 0;
        k->floor = 0;
}

/* Add one target sighting; 0 or -1 (out of memory, key unchanged). */
static int fankey_add(fw_engine_t *e, fankey_t *k, uint64_t elem, int64_t ts) {
        if (k->d == NULL) {
                k->d = fw_distinct_new(&e->dcfg);
                if (k->d == NULL)
                        return -1;
                e->bytes += fw_distinct_bytes(k->d);
        }
        size_t before = fw_distinct_bytes(k->d);
        int was_exact = fw_distinct_is_exact(k->d);
        int64_t from;
        if (fw_distinct_add_ex(k->d, elem, ts, &from) < 0)
                return -1;
        if (from < e->chg)
                e->chg = from;
        k->ub++; /* a sighting adds at most one live element */
        e->bytes += fw_distinct_bytes(k->d) - before;
        if (was_exact && !fw_distinct_is_exact(k->d))
                e->st.promoted++;
        return 0;
}

/* Count the session in the key's activity and failed-connection counters. */
static void fankey_touch(fw_engine_t *e, fankey_t *k, int64_t t, int failed) {
        int64_t w = e->cfg->window_ms;
        if (k->last_ms == INT64_MIN || t - k->last_ms >= w)
                k->first_ms = t;
        else if (t < k->first_ms)
                k->first_ms = t; /* out of order, earlier than the run's first session */
        if (t > k->last_ms)
                k->last_ms = t;
        int64_t half = fw_floor_div(t, w / 2 > 0 ? w / 2 : 1);
        if (half > k->half) {
                if (half == k->half + 1) {
                        k->sess[1] = k->sess[0];
                        k->fail[1] = k->fail[0];
                } else {
                        k->sess[1] = k->fail[1] = 0;
                }
                k->sess[0] = k->fail[0] = 0;
                k->half = half;
        }
        int i = half == k->half ? 0 : (half == k->half - 1 ? 1 : -1);
        if (i >= 0) {
                if (k->sess[i] < UINT32_MAX)
                        k->sess[i]++;
                if (failed && k->fail[i] < UINT32_MAX)
                        k->fail[i]++;
        }
}

static void sample_add(fw_engine_t *e, fankey_t *k, int ports, const fw_ip_t *ip, uint16_t port) {
        uint32_t max = e->cfg->sample_max;
        if (ports) {
                if (k->sample_port == NULL &&
                    (k->sample_port = acct_calloc(e, max, sizeof(uint16_t))) == NULL)
                        return;
                for (uint32_t i = 0; i < k->nsample; i++)
                        if (k->sample_port[i] == port)
                                return;
                if (k->nsample < max)
                        k->sample_port[k->nsample++] = port;
        } else {
                if (k->sample_ip == NULL &&
                    (k->sample_ip = acct_calloc(e, max, sizeof(fw_ip_t))) == NULL)
                        return;
                for (uint32_t i = 0; i < k->nsample; i++)
                        if (fw_ip_equal(&k->sample_ip[i], ip))
                                return;
                if (k->nsample < max)
                        k->sample_ip[k->nsample++] = *ip;
        }
}

/* Report an alert (live) or count it (replay). 0 or -1 if the callback failed. */
static int emit(fw_engine_t *e, fw_alert_t *a) {
        fw_alert_set_id(a);
        /* a final update, or a first document held back, has no triggering session */
        a->trigger = a->final || a->settled ? NULL : e->cur;
        a->fed = e->cur;
        if (!e->live) {
                e->st.alerts_by_kind[a->kind]++;
                e->st.alerts_silent++;
                return 0;
        }
        if (e->fn != NULL && e->fn(a, e->opaque) < 0)
                return -1; /* not raised: the caller rolls its alert state back */
        e->st.alerts_by_kind[a->kind]++;
        e->st.alerts++;
        return 0;
}

static int attack_grouping(const fw_engine_t *e) {
        return e->cfg->grouping == FW_GROUP_ATTACK;
}

/* ---- first documents held back (alert.settle) ---- */

/* When a held-back first document is due: settle_ms after its crossing. */
static int64_t pend_due(const fw_engine_t *e, const pend_t *p) {
        int64_t at = p->k != NULL ? p->k->doc_ms : p->s->rules[p->rule].doc_ms;
        return at > INT64_MAX - e->cfg->settle_ms ? INT64_MAX : at + e->cfg->settle_ms;
}

static int pend_add(fw_engine_t *e, src_t *s, fankey_t *k, uint32_t rule, fw_det_kind_t kind) {
        if (e->npend == e->pendcap) {
                size_t ncap = e->pendcap ? e->pendcap * 2 : 8;
                pend_t *n = realloc(e->pend, ncap * sizeof(*n));
                if (n == NULL)
                        return -1;
                e->bytes += (ncap - e->pendcap) * sizeof(*n);
                e->pend = n;
                e->pendcap = ncap;
        }
        pend_t *p = &e->pend[e->npend++];
        p->s = s;
        p->k = k;
        p->rule = rule;
        p->kind = (uint8_t)kind;
        int64_t due = pend_due(e, p);
        if (e->npend == 1 || due < e->pend_min)
                e->pend_min = due; /* a lower bound of the due times (removals keep it one) */
        return 0;
}

/* Drop the held-back entries of key k (k non-NULL), or every one of source s. */
static void pend_forget(fw_engine_t *e, const src_t *s, const fankey_t *k) {
        for (size_t i = 0; i < e->npend;) {
                if (k != NULL ? e->pend[i].k == k : e->pend[i].s == s)
                        e->pend[i] = e->pend[--e->npend];
                else
                        i++;
        }
}

/* Attack-grouped sweeps: the ports of source s reaching the most hosts (sub-keys with at least
 * two hosts and a tenth of the sweep's count), most first, with their host counts at te. */
static void fill_by_port(const fw_engine_t *e, const src_t *s, fw_alert_t *a, int64_t te) {
        uint32_t max = e->cfg->sample_max, n = 0;
        uint64_t min_hosts = a->count / 10 > 2 ? a->count / 10 : 2;
        for (uint32_t i = 0; i < s->subcap; i++) {
                const fankey_t *k = s->subs[i];
                if (k == NULL || k->tag != TAG_PORT || k->d == NULL)
                        continue;
                uint64_t c = fw_distinct_count(k->d, te);
                if (c < min_hosts)
                        continue;
                /* insertion into the top list; ties: the lower port first (deterministic) */
                uint32_t j = n < max ? n++ : max;
                while (j > 0 && (a->by_port_hosts[j - 1] < c ||
                                 (a->by_port_hosts[j - 1] == c && a->by_port[j - 1] > k->port))) {
                        if (j < max) {
                                a->by_port[j] = a->by_port[j - 1];
                                a->by_port_hosts[j] = a->by_port_hosts[j - 1];
                        }
                        j--;
                }
                if (j < max) {
                        a->by_port[j] = k->port;
                        a->by_port_hosts[j] = c;
                }
        }
        a->nby_port = n;
}

/* The threshold key k must reach: the detection's, or its failed_threshold while the key's
 * recent sessions are failed connections in at least failed_share. */
static uint64_t fankey_thr(const fw_engine_t *e, const fankey_t *k, fw_det_kind_t kind) {
        const fw_fanout_cfg_t *fc = &e->cfg->fanout[kind];
        uint64_t sessions = (uint64_t)k->sess[0] + k->sess[1];
        uint64_t failed = (uint64_t)k->fail[0] + k->fail[1];
        if (fc->failed_threshold > 0 && fc->failed_threshold < fc->threshold && sessions > 0 &&
            (double)failed >= fc->failed_share * (double)sessions)
                return fc->failed_threshold;
        return fc->threshold;
}

/* The alert of fan-out key k of source s: count targets at te against thr. */
static void fankey_alert(const fw_engine_t *e, const src_t *s, const fankey_t *k,
                         fw_det_kind_t kind, int64_t te, uint64_t count, uint64_t thr,
                         fw_alert_t *a) {
        const fw_fanout_cfg_t *fc = &e->cfg->fanout[kind];
        int64_t w = e->cfg->window_ms;
        memset(a, 0, sizeof(*a));
        a->kind = kind;
        a->rule = kind_names[kind];
        a->severity = fc->severity;
        a->has_src = 1;
        a->src = s->ip;
        if (kind == FW_DET_SWEEP_PORT) {
                a->has_dport = 1;
                a->dport = k->port;
        } else if (kind == FW_DET_PORTSCAN) {
                a->has_dst = 1;
                a->dst = k->dst;
        }
        a->epoch_start_ms = k->epoch * w;
        a->window_end_ms = te;
        a->window_start_ms = cutoff(te, w);
        a->first_seen_ms = k->first_ms > a->window_start_ms ? k->first_ms : a->window_start_ms + 1;
        a->last_seen_ms = k->last_ms < te ? k->last_ms : te;
        a->count = count;
        a->threshold = thr;
        a->exact = fw_distinct_is_exact(k->d);
        a->escalation = k->nesc;
        a->late = k->late;
        a->sessions = (uint64_t)k->sess[0] + k->sess[1];
        a->failed = (uint64_t)k->fail[0] + k->fail[1];
        if (k->sample_ip != NULL) {
                memcpy(a->targets, k->sample_ip, k->nsample * sizeof(fw_ip_t));
                a->ntargets = k->nsample;
        }
        if (k->sample_port != NULL) {
                memcpy(a->ports, k->sample_port, k->nsample * sizeof(uint16_t));
                a->nports = k->nsample;
        }
        if (kind == FW_DET_SWEEP && attack_grouping(e)) {
                /* address_sweep_port is folded into the sweep: its ports, and its severity when
                 * one port alone reached that detection's threshold */
                fill_by_port(e, s, a, te);
                const fw_fanout_cfg_t *pc = &e->cfg->fanout[FW_DET_SWEEP_PORT];
                if (pc->enabled && a->nby_port > 0 && a->by_port_hosts[0] >= pc->threshold &&
                    pc->severity > a->severity)
                        a->severity = pc->severity;
        }
}

/* alert.settle: send key k's held-back first document (final: also its last), named by the
 * earliest crossing known, with the busiest window since. 1, or -1 if the callback failed
 * (nothing changed). */
static int fankey_settle(fw_engine_t *e, const src_t *s, fankey_t *k, fw_det_kind_t kind,
                         int final) {
        const fankey_t saved = *k;
        int64_t te = k->ep_last;
        uint64_t count = k->d != NULL ? fw_distinct_peak(k->d, k->doc_ms, te, NULL) : 0;
        if (count < k->peak)
                count = k->peak;
        if (count < k->alerted)
                count = k->alerted;
        k->pend = 0;
        k->alerted = k->peak = sat32(count);
        k->doc_ms = te;
        k->held = 0;
        k->pub = (uint8_t)!e->warm;
        fw_alert_t a;
        fankey_alert(e, s, k, kind, te, count, fankey_thr(e, k, kind), &a);
        a.settled = 1;
        a.final = final;
        if (emit(e, &a) < 0) {
                *k = saved;
                return -1;
        }
        return 1;
}

/* Attack grouping: the final update of key k's open attack, reporting what happened since its
 * last document (a higher count, or sessions after it). 0, 1 if one was raised, -1 if the
 * callback failed (nothing changed). */
static int fankey_final(fw_engine_t *e, const src_t *s, fankey_t *k, fw_det_kind_t kind) {
        uint64_t count = k->d != NULL ? fw_distinct_count(k->d, k->ep_last) : 0;
        if (count < k->peak)
                count = k->peak;
        if (count < k->alerted)
                count = k->alerted; /* the busiest window stays the attack's count */
        /* grew, or went on after its last document; and not an attack seen only while
         * rebuilding state (a detector starting anew must not end alerts it never raised) */
        if (!k->live || (count <= k->alerted && !(k->pub && k->ep_last > k->doc_ms)))
                return 0;
        const uint32_t old_nesc = k->nesc;
        k->nesc++;
        fw_alert_t a;
        fankey_alert(e, s, k, kind, k->ep_last, count, e->cfg->fanout[kind].threshold, &a);
        a.final = 1;
        if (emit(e, &a) < 0) {
                k->nesc = old_nesc;
                return -1;
        }
        return 1;
}

/* Attack grouping: end key k's open attack with its final update (or its held-back first
 * document). 0, 1 if a document was raised, -1 if the callback failed (nothing changed). */
static int fankey_end(fw_engine_t *e, const src_t *s, fankey_t *k, fw_det_kind_t kind) {
        if (k->epoch == INT64_MIN)
                return 0;
        int raised;
        if (k->pend) {
                /* its first document, held back, is also its last */
                if ((raised = fankey_settle(e, s, k, kind, 1)) < 0)
                        return -1;
                pend_forget(e, NULL, k);
        } else if ((raised = fankey_final(e, s, k, kind)) < 0) {
                return -1;
        }
        k->epoch = INT64_MIN;
        k->alerted = 0;
        k->nesc = 0;
        k->peak = 0;
        k->held = 0;
        k->live = 0;
        return raised;
}

/* Attack grouping: address_sweep_port is part of the source's address_sweep whenever that one
 * must cross first (enabled, the source not allowlisted, no destination left uncounted, a
 * threshold no higher); otherwise it alerts on its own. */
static int sweep_port_folded(const fw_engine_t *e, const src_t *s) {
        const fw_fanout_cfg_t *sw = &e->cfg->fanout[FW_DET_SWEEP];
        return sw->enabled && sw->allow_dst.count == 0 &&
               sw->threshold <= e->cfg->fanout[FW_DET_SWEEP_PORT].threshold &&
               !fw_cidr_list_contains(&sw->allow_src, &s->ip);
}

/* alert.settle, key k's first document held back: a sighting that changed windows ending from
 * `from` on may show an earlier crossing, which then names the attack. */
static void fankey_recross(fw_engine_t *e, fankey_t *k, fw_det_kind_t kind, int64_t from) {
        int64_t at;
        if (from >= k->doc_ms || k->d == NULL ||
            fw_distinct_first_reach(k->d, from, k->doc_ms - 1, fankey_thr(e, k, kind), &at) != 1)
                return;
        k->doc_ms = at;
        k->epoch = fw_floor_div(at, e->cfg->window_ms);
        int64_t due = at + e->cfg->settle_ms;
        if (due < e->pend_min)
                e->pend_min = due;
}

/* Evaluate a fan-out key after a sighting at t. Returns 1 if an alert was raised, 0 if not, -1
 * if the callback failed. */
static int fankey_eval(fw_engine_t *e, src_t *s, fankey_t *k, fw_det_kind_t kind, int64_t t) {
        const fw_fanout_cfg_t *fc = &e->cfg->fanout[kind];
        int64_t w = e->cfg->window_ms;
        int64_t te = t > k->last_ms ? t : k->last_ms;
        const int attack = attack_grouping(e);
        int raised = 0;
        const int64_t from = e->chg; /* set by this sighting's fankey_add calls */
        e->chg = INT64_MAX;
        if (attack) {
                if (kind == FW_DET_SWEEP_PORT && sweep_port_folded(e, s))
                        return 0; /* the source's address_sweep reports it */
                if (k->epoch != INT64_MIN) {
                        if (te - k->ep_last >= e->cfg->quiet_ms) {
                                /* quiet long enough before this sighting: that attack ended */
                                if ((raised = fankey_end(e, s, k, kind)) < 0)
                                        return -1;
                        } else {
                                if (te > k->ep_last)
                                        k->ep_last = te;
                                if (e->live && !k->live && !k->pub) {
                                        /* a new group's rewind opened it, unreported: only
                                         * what grows live from here is news */
                                        if (k->peak > k->alerted)
                                                k->alerted = k->peak;
                                        k->held = 0;
                                }
                                k->live |= (uint8_t)e->live;
                                if (k->pend) {
                                        fankey_recross(e, k, kind, from);
                                        return 0; /* its first document is held back */
                                }
                                if (k->held && te - k->doc_ms < e->cfg->update_ms &&
                                    (!fw_distinct_is_exact(k->d) ||
                                     fw_distinct_size(k->d) > e->cfg->exact_max))
                                        return 0; /* an update waits; the sketch's peak is
                                                   * approximate anyway: no recount */
                        }
                }
        }
        const int open = attack ? k->epoch != INT64_MIN : k->epoch == fw_floor_div(te, w);
        /* fw_distinct_count costs O(table) exact and O(2^p) in the sketch: skip it while an
         * upper bound of the count cannot reach what would change state: half the lowest
         * threshold while the sample is not full, the lowest threshold in a new epoch, else
         * escalation x the count last reported. Decisions in the exact regime are unchanged. */
        uint64_t thr_min = fc->threshold;
        if (fc->failed_threshold > 0 && fc->failed_threshold < thr_min)
                thr_min = fc->failed_threshold;
        uint64_t need = open ? (uint64_t)ceil(e->cfg->escalation * (double)k->alerted) : thr_min;
        if (k->nsample < e->cfg->sample_max && (thr_min + 1) / 2 < need)
                need = (thr_min + 1) / 2;
        int sketch = !fw_distinct_is_exact(k->d);
        /* an open attack reports its busiest window: while exact, follow it count by count */
        if (attack && open && !sketch && k->peak + 1 < need &&
            fw_distinct_size(k->d) <= e->cfg->exact_max)
                need = k->peak + 1;
        /* The sketch's estimate may run ahead of the sightings (error 1.04/sqrt(m)): recount
         * from 1/16 below the target on, at most every need/512 sightings. */
        if (sketch)
                need -= need / 16;
        uint64_t count;
        if (from < te && !sketch) {
                /* a late sighting (or one after a pause) changed windows ending before te: the
                 * busiest of them decides, whatever the order the sessions came in */
                if (fw_distinct_size(k->d) < need)
                        return raised;
                int64_t hi = te - t < w ? te : t + w - 1;
                count = fw_distinct_peak(k->d, from, hi, &te);
        } else {
                if (k->ub < need || k->ub < k->floor)
                        return raised;
                count = fw_distinct_count(k->d, te);
                k->ub = count;
                k->floor = sketch ? count + 1 + need / 512 : 0;
        }
        if (open && count > k->peak)
                k->peak = sat32(count);
        uint64_t thr = fankey_thr(e, k, kind);
        if (k->sample_ip == NULL && k->sample_port == NULL && count * 2 < thr)
                return raised;
        if (count * 2 >= thr) {
                if (kind == FW_DET_PORTSCAN)
                        sample_add(e, k, 1, NULL, e->cur->dst_port);
                else
                        sample_add(e, k, 0, &e->cur->dst_ip, 0);
        }
        if (count < thr)
                return raised;
        const fankey_t saved = *k;
        if (open) {
                if ((double)count < e->cfg->escalation * (double)k->alerted)
                        return raised;
                if (attack && te - k->doc_ms < e->cfg->update_ms) {
                        k->held = 1; /* at most one update per update_ms */
                        return raised;
                }
                k->nesc++;
        } else {
                /* started by a session too late for the lateness: the key's state, and the
                 * attack it belonged to, may be gone. Named by its own epoch all the same, so a
                 * duplicate delivered late re-raises the id replay raises (at-least-once stays
                 * idempotent); flagged, since it may re-open an alert that already ended */
                k->late = (uint8_t)(attack && e->too_late);
                /* attack grouping: named by the earliest window known to cross since the key's
                 * previous attack, not the first one seen (a late session may reach back) */
                int64_t cross = te, at;
                if (attack && k->d != NULL &&
                    fw_distinct_first_reach(k->d,
                                            k->ep_last == INT64_MIN ? INT64_MIN : k->ep_last + w,
                                            te, thr, &at) == 1)
                        cross = at;
                k->epoch = fw_floor_div(cross, w);
                k->nesc = 0;
                k->ep_last = te;
                k->live = (uint8_t)e->live;
                k->pub = (uint8_t)!e->warm;
                if (attack && e->cfg->settle_ms > 0 && !e->warm) {
                        /* alert.settle: the first document waits for sessions that may show an
                         * earlier crossing (a new group's rewind sends nothing anyway) */
                        k->alerted = k->peak = count > k->peak ? sat32(count) : k->peak;
                        k->doc_ms = cross;
                        k->held = 0;
                        k->pend = 1;
                        if (pend_add(e, s, k, 0, kind) < 0) {
                                *k = saved;
                                return -1;
                        }
                        return raised;
                }
        }
        k->alerted = sat32(count);
        if (count > k->peak)
                k->peak = sat32(count);
        k->doc_ms = te;
        k->held = 0;

        fw_alert_t a;
        fankey_alert(e, s, k, kind, te, count, thr, &a);
        if (emit(e, &a) < 0) {
                /* undelivered: feeding the session again must raise it again */
                *k = saved;
                return -1;
        }
        return raised + 1;
}

/* Attack grouping: end every open attack of source s (its state is about to go, or the engine
 * is flushed). Returns the final updates raised, or -1 if the callback failed. */
static int rules_end(fw_engine_t *e, src_t *s, size_t r);

static fw_det_kind_t sub_kind(const fankey_t *k) {
        return k->tag == TAG_PORT ? FW_DET_SWEEP_PORT : FW_DET_PORTSCAN;
}

static int src_end_all(fw_engine_t *e, src_t *s) {
        if (!attack_grouping(e))
                return 0;
        int raised = 0, r;
        if ((r = fankey_end(e, s, &s->sweep, FW_DET_SWEEP)) < 0)
                return -1;
        raised += r;
        for (uint32_t i = 0; i < s->subcap; i++) {
                fankey_t *k = s->subs[i];
                if (k == NULL)
                        continue;
                if ((r = fankey_end(e, s, k, sub_kind(k))) < 0)
                        return -1;
                raised += r;
        }
        for (size_t i = 0; s->rules != NULL && i < e->cfg->nrules; i++) {
                if ((r = rules_end(e, s, i)) < 0)
                        return -1;
                raised += r;
        }
        return raised;
}

/* ---- sources ---- */

static size_t src_size(void) {
        return sizeof(src_t);
}

static void subs_free(fw_engine_t *e, src_t *s) {
        for (uint32_t i = 0; i < s->subcap; i++) {
                fankey_t *k = s->subs[i];
                if (k != NULL) {
                        fankey_release(e, k);
                        acct_free(e, k, sizeof(*k));
                        e->st.keys--;
                }
        }
        acct_free(e, s->subs, s->subcap * sizeof(fankey_t *));
        s->subs = NULL;
        s->subcap = s->subused = 0;
}

/* Drop a source's fan-out state (windows long expired); keep its spike baseline. */
static void src_trim(fw_engine_t *e, src_t *s) {
        if (e->npend > 0)
                pend_forget(e, s, NULL); /* ended before (src_end_all): nothing held is lost */
        subs_free(e, s);
        fankey_release(e, &s->sweep);
        e->bytes -= fw_pairmap_bytes(&s->pm);
        fw_pairmap_free(&s->pm);
        acct_free(e, s->rules, e->cfg->nrules * sizeof(rulestate_t));
        s->rules = NULL;
}

static void src_destroy(fw_engine_t *e, src_t *s) {
        src_trim(e, s);
        e->bytes -= fw_history_bytes(&s->hist);
        fw_history_free(&s->hist);
        acct_free(e, s, src_size());
        e->st.keys--;
        e->st.sources--;
}

static uint32_t tab_find(const fw_engine_t *e, const fw_ip_t *ip, uint64_t h) {
        uint32_t mask = e->cap - 1;
        for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
                const tslot_t *t = &e->tab[i];
                if (t->s == NULL || (t->h == h && fw_ip_equal(&t->s->ip, ip)))
                        return i;
        }
}

static int tab_grow(fw_engine_t *e) {
        uint32_t ncap = e->cap ? e->cap * 2 : 1024;
        tslot_t *n = calloc(ncap, sizeof(*n));
        if (n == NULL)
                return -1;
        for (uint32_t i = 0; i < e->cap; i++) {
                if (e->tab[i].s == NULL)
                        continue;
                uint32_t j = (uint32_t)e->tab[i].h & (ncap - 1);
                while (n[j].s != NULL)
                        j = (j + 1) & (ncap - 1);
                n[j] = e->tab[i];
        }
        e->bytes -= e->cap * sizeof(*n);
        e->bytes += ncap * sizeof(*n);
        free(e->tab);
        e->tab = n;
        e->cap = ncap;
        return 0;
}

/* Remove the source in slot i (backward-shift deletion keeps probe chains intact). */
static void tab_remove(fw_engine_t *e, uint32_t i) {
        uint32_t mask = e->cap - 1;
        src_destroy(e, e->tab[i].s);
        e->tab[i].s = NULL;
        e->used--;
        for (uint32_t j = (i + 1) & mask; e->tab[j].s != NULL; j = (j + 1) & mask) {
                uint32_t home = (uint32_t)e->tab[j].h & mask;
                /* move j back to i unless its home lies cyclically in (i, j] */
                if (((j - home) & mask) >= ((j - i) & mask)) {
                        e->tab[i] = e->tab[j];
                        e->tab[j].s = NULL;
                        i = j;
                }
        }
}

static int slot_idle(const fw_engine_t *e, const tslot_t *t) {
        return t->last_ms <= cutoff(e->clock, e->cfg->window_ms + e->cfg->lateness_ms);
}

/* Look at a few slots: trim idle sources, drop long-silent ones. */
static void idle_sweep(fw_engine_t *e) {
        if (e->cap == 0)
                return;
        int64_t drop_after = e->cfg->spike.interval_ms * FW_IDLE_DROP_INTERVALS;
        if (drop_after < e->cfg->window_ms + e->cfg->lateness_ms)
                drop_after = e->cfg->window_ms + e->cfg->lateness_ms;
        for (int n = 0; n < SWEEP_STEP; n++) {
                uint32_t i = e->hand++ & (e->cap - 1);
                if (e->tab[i].s == NULL || !slot_idle(e, &e->tab[i]))
                        continue; /* decided on the slot alone: no source record touched */
                src_t *s = e->tab[i].s;
                if (src_end_all(e, s) < 0)
                        continue; /* the callback failed: keep the state, try again later */
                if (e->tab[i].last_ms <= cutoff(e->clock, drop_after)) {
                        e->st.evicted++;
                        tab_remove(e, i);
                } else if (s->sweep.d != NULL || s->subs != NULL || s->pm.cap != 0) {
                        src_trim(e, s);
                }
        }
}

/* Over the cap: drop the least recently seen of a few sampled sources, until under it. */
static void enforce_cap(fw_engine_t *e, const src_t *keep) {
        int rounds = 0;
        /* a few sources per session, more when a table doubling put it far over the cap */
        while (e->bytes > e->max_bytes && e->used > 1 &&
               (rounds++ < 64 || e->bytes > e->max_bytes + 65536)) {
                uint32_t best = UINT32_MAX;
                for (int n = 0, tries = 0; n < EVICT_SAMPLE && tries < 4 * EVICT_SAMPLE; tries++) {
                        e->rng = e->rng * 6364136223846793005ULL + 1442695040888963407ULL;
                        uint32_t i = (uint32_t)(e->rng >> 33) & (e->cap - 1);
                        if (e->tab[i].s == NULL || e->tab[i].s == keep)
                                continue;
                        n++;
                        if (best == UINT32_MAX || e->tab[i].last_ms < e->tab[best].last_ms)
                                best = i;
                }
                if (best == UINT32_MAX)
                        return;
                if (src_end_all(e, e->tab[best].s) < 0)
                        return; /* the callback failed: over the cap until the next session */
                e->st.evicted++;
                if (e->tab[best].last_ms > cutoff(e->clock, e->cfg->window_ms))
                        e->st.evicted_active++;
                tab_remove(e, best);
        }
}

/* The source's slot, created if new; NULL on out of memory. Valid until the table changes. */
static tslot_t *src_get(fw_engine_t *e, const fw_ip_t *ip, uint64_t h) {
        if (e->cap == 0 && tab_grow(e) < 0)
                return NULL;
        uint32_t i = tab_find(e, ip, h);
        if (e->tab[i].s != NULL)
                return &e->tab[i];
        if ((uint64_t)(e->used + 1) * 4 > (uint64_t)e->cap * 3) {
                if (tab_grow(e) < 0)
                        return NULL;
                i = tab_find(e, ip, h);
        }
        src_t *s = acct_calloc(e, 1, src_size());
        if (s == NULL)
                return NULL;
        s->h = h;
        s->ip = *ip;
        s->last_ms = INT64_MIN;
        fankey_init(&s->sweep, 0, 0);
        fw_spike_init(&s->spike);
        spkrun_init(&s->spkrun);
        fw_pairmap_init(&s->pm);
        fw_history_init(&s->hist);
        e->tab[i].s = s;
        e->tab[i].h = h;
        e->tab[i].last_ms = INT64_MIN;
        e->used++;
        e->st.sources++;
        e->st.keys++;
        return &e->tab[i];
}

/* ---- sub-keys ---- */

/* A sub-key's hash: from the port, or from the destination's element hash. Never 0. */
static uint64_t sub_hash(uint8_t tag, uint64_t dst_elem, uint16_t port) {
        uint64_t h = tag == TAG_PORT ? mix64(((uint64_t)TAG_PORT << 32) | port)
                                     : mix64(dst_elem ^ 0x5bd1e9955bd1e995ULL);
        return h ? h : 1;
}

static fankey_t **sub_slot(src_t *s, uint64_t h) {
        uint32_t mask = s->subcap - 1;
        for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask)
                if (s->subs[i] == NULL || s->subs[i]->h == h)
                        return &s->subs[i];
}

static fankey_t *sub_find(src_t *s, uint64_t h) {
        if (s->subcap == 0)
                return NULL;
        return *sub_slot(s, h);
}

/* Rebuild the sub-key table: drop keys idle past window + lateness, double if still crowded. */
static int subs_rebuild(fw_engine_t *e, src_t *s) {
        uint32_t live = 0;
        int64_t dead = cutoff(e->clock, e->cfg->window_ms + e->cfg->lateness_ms);
        for (uint32_t i = 0; i < s->subcap; i++) {
                fankey_t *k = s->subs[i];
                if (k != NULL && k->last_ms <= dead && attack_grouping(e) &&
                    fankey_end(e, s, k, sub_kind(k)) < 0)
                        return -1; /* the callback failed: nothing dropped yet */
        }
        for (uint32_t i = 0; i < s->subcap; i++) {
                fankey_t *k = s->subs[i];
                if (k == NULL)
                        continue;
                if (k->last_ms <= dead) {
                        fankey_release(e, k);
                        acct_free(e, k, sizeof(*k));
                        e->st.keys--;
                        s->subs[i] = NULL;
                } else {
                        live++;
                }
        }
        uint32_t ncap = s->subcap ? s->subcap : 4;
        while ((uint64_t)(live + 1) * 2 > ncap)
                ncap *= 2;
        fankey_t **n = acct_calloc(e, ncap, sizeof(*n));
        if (n == NULL)
                return -1;
        fankey_t **old = s->subs;
        uint32_t oldcap = s->subcap;
        s->subs = n;
        s->subcap = ncap;
        s->subused = 0;
        for (uint32_t i = 0; i < oldcap; i++) {
                if (old[i] != NULL) {
                        *sub_slot(s, old[i]->h) = old[i];
                        s->subused++;
                }
        }
        acct_free(e, old, oldcap * sizeof(*old));
        return 0;
}

static fankey_t *sub_create(fw_engine_t *e, src_t *s, uint8_t tag, uint64_t h) {
        if ((uint64_t)(s->subused + 1) * 4 > (uint64_t)s->subcap * 3 && subs_rebuild(e, s) < 0)
                return NULL;
        fankey_t *k = acct_calloc(e, 1, sizeof(*k));
        if (k == NULL)
                return NULL;
        fankey_init(k, tag, h);
        *sub_slot(s, h) = k;
        s->subused++;
        e->st.keys++;
        return k;
}

/* One sighting for a sub-key of source s: the key (tag, identity) gets the target elem. The first
 * target waits in the pairmap; a second distinct one creates the key with both. Returns 1 if an
 * alert was raised, 0, or -1 on failure. */
static int sub_sight(fw_engine_t *e, src_t *s, fw_det_kind_t kind, uint8_t tag, uint64_t h,
                     int64_t t, uint64_t elem, int failed) {
        const fw_session_t *ss = e->cur;
        fankey_t *k = sub_find(s, h);
        if (k == NULL) {
                int64_t w = e->cfg->window_ms;
                uint64_t first = 0;
                int64_t first_ts = 0;
                int have_first = 0;
                if (!e->cfg->exact_baseline) {
                        /* The first sighting pairs with t if both lie within one window, as
                         * in the sub-key's own counter (whose newest time it is), whatever
                         * the source's newest time: a late session still pairs. Entries are
                         * only reclaimed once no session within the lateness can pair. */
                        int64_t newest = t > s->last_ms ? t : s->last_ms;
                        int64_t gc = cutoff(newest, w + e->cfg->lateness_ms);
                        have_first = fw_pairmap_get(&s->pm, h, cutoff(t, w), &first, &first_ts);
                        if (!have_first || first == elem) {
                                size_t before = fw_pairmap_bytes(&s->pm);
                                int64_t keep_ts = have_first && first_ts > t ? first_ts : t;
                                if (fw_pairmap_put(&s->pm, h, elem, keep_ts, gc, PAIRMAP_MAX) < 0)
                                        return -1;
                                e->bytes += fw_pairmap_bytes(&s->pm) - before;
                                return 0;
                        }
                }
                k = sub_create(e, s, tag, h);
                if (k == NULL)
                        return -1;
                if (tag == TAG_DST)
                        k->dst = ss->dst_ip;
                else
                        k->port = ss->dst_port;
                if (have_first) {
                        if (fankey_add(e, k, first, first_ts) < 0)
                                return -1;
                        fankey_touch(e, k, first_ts, 0);
                        fw_pairmap_del(&s->pm, h);
                }
        }
        if (fankey_add(e, k, elem, t) < 0)
                return -1;
        fankey_touch(e, k, t, failed);
        return fankey_eval(e, s, k, kind, t);
}

/* ---- rules and spikes ---- */

/* The alert of rule r for source s from its state st. */
static void rule_alert(const fw_engine_t *e, const src_t *s, size_t r, const rulestate_t *st,
                       fw_alert_t *a) {
        const fw_detect_cfg_t *c = e->cfg;
        const fw_rule_cfg_t *rc = &c->rules[r];
        memset(a, 0, sizeof(*a));
        a->kind = FW_DET_RULE;
        a->rule = rc->name;
        a->rule_cfg = rc;
        a->severity = rc->severity;
        a->has_src = 1;
        a->src = s->ip;
        a->epoch_start_ms = st->epoch * c->window_ms;
        a->window_start_ms = a->epoch_start_ms;
        if (st->first_ms < a->window_start_ms) /* a late attack: named by a later epoch */
                a->window_start_ms = st->first_ms;
        /* the newest counted session, not the trigger: sessions of the epoch that
         * arrived earlier may be newer than it (as fankey_eval's te) */
        a->window_end_ms = st->last_ms;
        a->first_seen_ms = st->first_ms;
        a->last_seen_ms = st->last_ms;
        a->count = st->count;
        a->threshold = rc->threshold;
        a->exact = 1;
        a->escalation = st->nesc;
        a->late = st->late;
        a->sessions = st->count;
        a->failed = st->failed;
}

/* alert.settle: send rule r's held-back first document for source s (final: also its last),
 * named by the epoch of the attack's earliest matching session. 1, or -1 if the callback failed
 * (nothing changed). */
static int rule_settle(fw_engine_t *e, src_t *s, size_t r, int final) {
        rulestate_t *st = &s->rules[r];
        const rulestate_t saved = *st;
        st->pend = 0;
        st->epoch = fw_floor_div(st->first_ms, e->cfg->window_ms);
        st->alerted = st->count;
        st->doc_ms = st->last_ms;
        st->pub = (uint8_t)!e->warm;
        fw_alert_t a;
        rule_alert(e, s, r, st, &a);
        a.targets[0] = st->dst;
        a.ntargets = 1;
        a.ports[0] = st->dport;
        a.nports = 1;
        a.settled = 1;
        a.final = final;
        if (emit(e, &a) < 0) {
                *st = saved;
                return -1;
        }
        return 1;
}

/* Attack grouping: end rule r's open attack for source s, reporting its growth. 0, 1 if a final
 * update was raised, -1 if the callback failed (nothing changed). */
static int rules_end(fw_engine_t *e, src_t *s, size_t r) {
        rulestate_t *st = &s->rules[r];
        if (st->epoch == INT64_MIN)
                return 0;
        int raised = 0;
        if (st->pend) {
                /* its first document, held back, is also its last */
                if (rule_settle(e, s, r, 1) < 0)
                        return -1;
                raised = 1;
                for (size_t i = 0; i < e->npend; i++)
                        if (e->pend[i].s == s && e->pend[i].k == NULL && e->pend[i].rule == r) {
                                e->pend[i] = e->pend[--e->npend];
                                break;
                        }
        } else if (st->live && st->alerted > 0 && st->count > st->alerted) {
                rulestate_t fin = *st;
                fin.nesc++;
                fw_alert_t a;
                rule_alert(e, s, r, &fin, &a);
                a.final = 1;
                if (emit(e, &a) < 0)
                        return -1;
                raised = 1;
        }
        st->epoch = INT64_MIN;
        st->count = st->alerted = st->nesc = st->failed = 0;
        return raised;
}

static int rules_eval(fw_engine_t *e, src_t *s, int64_t t) {
        const fw_detect_cfg_t *c = e->cfg;
        const int attack = attack_grouping(e);
        int raised = 0;
        for (size_t r = 0; r < c->nrules; r++) {
                const fw_rule_cfg_t *rc = &c->rules[r];
                if (!fw_expr_match(rc->expr, e->cur))
                        continue;
                if (fw_cidr_list_contains(&rc->allow_src, &s->ip))
                        continue;
                if (s->rules == NULL) {
                        s->rules = acct_calloc(e, c->nrules, sizeof(rulestate_t));
                        if (s->rules == NULL)
                                return -1;
                        for (size_t i = 0; i < c->nrules; i++)
                                s->rules[i].epoch = INT64_MIN;
                }
                rulestate_t *st = &s->rules[r];
                const rulestate_t saved = *st;
                int ended = 0;
                if (attack) {
                        /* one attack while matches follow each other within quiet_ms */
                        if (st->epoch != INT64_MIN && t - st->last_ms >= c->quiet_ms) {
                                if ((ended = rules_end(e, s, r)) < 0)
                                        return -1;
                                raised += ended;
                        }
                        if (st->epoch == INT64_MIN) {
                                /* too late for the lateness: flagged as in fankey_eval */
                                st->late = (uint8_t)e->too_late;
                                st->pub = (uint8_t)!e->warm;
                                st->epoch = fw_floor_div(t, c->window_ms);
                                st->count = st->alerted = st->nesc = st->failed = 0;
                                st->first_ms = st->last_ms = t;
                                st->doc_ms = INT64_MIN;
                                st->live = 0;
                        }
                        if (e->live && !st->live && !st->pub && st->alerted > 0)
                                st->alerted = st->count; /* as in fankey_eval */
                        st->live |= (uint8_t)e->live;
                } else {
                        int64_t epoch = fw_floor_div(t, c->window_ms);
                        if (epoch < st->epoch)
                                continue; /* late for an epoch already closed for this key */
                        if (epoch > st->epoch) {
                                st->epoch = epoch;
                                st->count = st->alerted = st->nesc = st->failed = 0;
                                st->first_ms = st->last_ms = t;
                        }
                }
                if (t < st->first_ms)
                        st->first_ms = t;
                if (t > st->last_ms)
                        st->last_ms = t;
                if (st->count < UINT32_MAX)
                        st->count++;
                if (session_failed(e->cur) && st->failed < UINT32_MAX)
                        st->failed++;
                if (st->count < rc->threshold || st->pend)
                        continue;
                const rulestate_t before = *st;
                if (attack && st->alerted == 0 && c->settle_ms > 0 && !e->warm) {
                        /* alert.settle: the first document waits (rule_settle) */
                        st->pend = 1;
                        st->doc_ms = st->last_ms;
                        st->dst = e->cur->dst_ip;
                        st->dport = e->cur->dst_port;
                        if (pend_add(e, s, NULL, (uint32_t)r, FW_DET_RULE) < 0) {
                                *st = ended ? before : saved;
                                st->pend = 0;
                                if (ended) {
                                        st->count--;
                                        if (session_failed(e->cur))
                                                st->failed--;
                                }
                                return -1;
                        }
                        continue;
                }
                if (st->alerted > 0) {
                        if ((double)st->count < c->escalation * (double)st->alerted)
                                continue;
                        if (attack && st->last_ms - st->doc_ms < c->update_ms)
                                continue; /* at most one update per update_ms; the end reports
                                           * the rest */
                        st->nesc++;
                }
                st->alerted = st->count;
                st->doc_ms = st->last_ms;
                fw_alert_t a;
                rule_alert(e, s, r, st, &a);
                a.targets[0] = e->cur->dst_ip;
                a.ntargets = 1;
                a.ports[0] = e->cur->dst_port;
                a.nports = 1;
                if (emit(e, &a) < 0) {
                        /* the session may be fed again: count it once (a final update already
                         * raised stays raised) */
                        *st = ended ? before : saved;
                        if (ended) {
                                st->count--;
                                if (session_failed(e->cur))
                                        st->failed--;
                        }
                        return -1;
                }
                raised++;
        }
        return raised;
}

static int spike_eval(fw_engine_t *e, fw_spike_t *sp, spkrun_t *run, const fw_spike_params_t *p,
                      fw_det_kind_t kind, const src_t *s, int64_t t) {
        fw_spike_verdict_t v;
        const fw_spike_t saved = *sp;
        const spkrun_t saved_run = *run;
        if (fw_spike_add(sp, p, t, &v) != 1)
                return 0;
        int64_t anchor = v.interval_start_ms;
        uint32_t esc = v.escalation;
        if (attack_grouping(e)) {
                /* alerting intervals less than alert.quiet apart are one attack: one id (the
                 * first interval's), an update at most every alert.update_interval */
                int64_t iend = v.interval_start_ms + p->interval_ms;
                if (run->anchor != INT64_MIN && v.interval_start_ms - run->end < e->cfg->quiet_ms) {
                        if (iend > run->end)
                                run->end = iend;
                        if (t - run->doc < e->cfg->update_ms)
                                return 0;
                        anchor = run->anchor;
                        esc = ++run->n;
                } else {
                        run->anchor = v.interval_start_ms;
                        run->end = iend;
                        run->n = 0;
                        esc = 0;
                }
                run->doc = t;
        }
        const fw_spike_cfg_t *sc = kind == FW_DET_SPIKE ? &e->cfg->spike : &e->cfg->spike_total;
        fw_alert_t a;
        memset(&a, 0, sizeof(a));
        a.kind = kind;
        a.rule = kind_names[kind];
        a.severity = sc->severity;
        if (s != NULL) {
                a.has_src = 1;
                a.src = s->ip;
        }
        a.epoch_start_ms = anchor;
        a.window_start_ms = v.interval_start_ms;
        a.window_end_ms = v.interval_start_ms + p->interval_ms;
        a.first_seen_ms = anchor;
        a.last_seen_ms = t;
        a.count = v.count;
        a.threshold = (uint64_t)v.limit + 1; /* the smallest count above the limit ... */
        if (a.threshold < p->min_count)
                a.threshold = p->min_count; /* ... or min_count when that is what held it back */
        a.exact = 1;
        a.escalation = esc;
        a.sessions = v.count;
        a.baseline_mean = v.mean;
        a.baseline_dev = v.dev;
        if (emit(e, &a) < 0) {
                *sp = saved; /* the session may be fed again: count it once */
                *run = saved_run;
                return -1;
        }
        return 1;
}

/* alert.settle: send the held-back first documents that are due (event time has passed their
 * crossing by settle_ms). Returns the documents raised, or -1 if the callback failed (the ones
 * not sent stay held). */
static int pend_run(fw_engine_t *e) {
        int raised = 0;
        int64_t min = INT64_MAX;
        for (size_t i = 0; i < e->npend;) {
                pend_t *p = &e->pend[i];
                int64_t due = pend_due(e, p);
                if (due > e->clock) {
                        if (due < min)
                                min = due;
                        i++;
                        continue;
                }
                int r = p->k != NULL ? fankey_settle(e, p->s, p->k, (fw_det_kind_t)p->kind, 0)
                                     : rule_settle(e, p->s, p->rule, 0);
                if (r < 0) {
                        e->pend_min = INT64_MIN; /* look again at the next session */
                        return -1;
                }
                raised += r;
                e->pend[i] = e->pend[--e->npend];
        }
        e->pend_min = min;
        return raised;
}

/* ---- the engine ---- */

fw_engine_t *fw_engine_new(const fw_detect_cfg_t *cfg, fw_alert_fn fn, void *opaque, char *err,
                           size_t errlen) {
        const char *why = NULL;
        if (cfg == NULL)
                why = "no configuration";
        else if (cfg->window_ms < 2)
                why = "detect.window must be at least 2 ms";
        else if (cfg->lateness_ms < 0)
                why = "detect.lateness must not be negative";
        else if (cfg->settle_ms < 0 || cfg->settle_ms > cfg->lateness_ms)
                why = "alert.settle must be between 0 and detect.lateness";
        else if (!(cfg->escalation > 1.0))
                why = "alert.escalation must be greater than 1";
        else if (cfg->sample_max < 1 || cfg->sample_max > FW_ALERT_SAMPLE_MAX)
                why = "detect.sample out of range";
        else if (cfg->spike.interval_ms <= 0 || cfg->spike_total.interval_ms <= 0)
                why = "spike intervals must be positive";
        if (why != NULL) {
                fw_errf(err, errlen, 0, "%s", why);
                return NULL;
        }
        fw_engine_t *e = calloc(1, sizeof(*e));
        if (e != NULL)
                e->chg = INT64_MAX;
        if (e == NULL) {
                fw_errf(err, errlen, 0, "out of memory");
                return NULL;
        }
        e->cfg = cfg;
        e->fn = fn;
        e->opaque = opaque;
        e->dcfg.window_ms = cfg->window_ms;
        e->dcfg.exact_max = cfg->exact_baseline ? UINT32_MAX / 2 : cfg->exact_max;
        e->dcfg.hll_p = cfg->hll_p;
        /* late sessions count in the windows they belong to: keep targets window + lateness */
        e->dcfg.retain_ms = cfg->window_ms + cfg->lateness_ms;
        fw_distinct_t *probe = fw_distinct_new(&e->dcfg);
        if (probe == NULL) {
                fw_errf(err, errlen, 0, "invalid sketch settings (detect.hll_p %u)",
                        (unsigned)cfg->hll_p);
                free(e);
                return NULL;
        }
        fw_distinct_free(probe);
        const fw_spike_cfg_t *sc[2] = {&cfg->spike, &cfg->spike_total};
        fw_spike_params_t *sp[2] = {&e->sp, &e->sp_total};
        for (int i = 0; i < 2; i++) {
                sp[i]->interval_ms = sc[i]->interval_ms;
                sp[i]->min_count = sc[i]->min_count;
                sp[i]->k = sc[i]->k;
                sp[i]->alpha = sc[i]->alpha;
                sp[i]->warmup = sc[i]->warmup;
                sp[i]->escalation = cfg->escalation;
        }
        fw_spike_init(&e->total);
        spkrun_init(&e->total_run);
        e->clock = INT64_MIN;
        e->max_bytes = cfg->max_bytes;
        e->bytes = sizeof(*e); /* the cap covers the engine itself too */
        e->rng = 0x853c49e6748fea9bULL;
        return e;
}

void fw_engine_free(fw_engine_t *e) {
        if (e == NULL)
                return;
        for (uint32_t i = 0; i < e->cap; i++)
                if (e->tab[i].s != NULL)
                        src_destroy(e, e->tab[i].s);
        free(e->tab);
        free(e->pend);
        free(e);
}

int fw_engine_flush(fw_engine_t *e, int live) {
        int raised = 0;
        e->live = live == FW_FEED_LIVE;
        e->warm = 0;
        e->cur = NULL;
        for (uint32_t i = 0; i < e->cap; i++) {
                if (e->tab[i].s == NULL)
                        continue;
                int r = src_end_all(e, e->tab[i].s);
                if (r < 0)
                        return -1;
                raised += r;
        }
        return raised;
}

void fw_engine_set_max_bytes(fw_engine_t *e, size_t max_bytes) {
        e->max_bytes = max_bytes;
}

int64_t fw_engine_clock(const fw_engine_t *e) {
        return e->clock == INT64_MIN ? FW_ABSENT : e->clock;
}

void fw_engine_stats(const fw_engine_t *e, fw_engine_stats_t *out) {
        *out = e->st;
        out->bytes = e->bytes;
        out->clock_ms = fw_engine_clock(e);
}

/* A session's hashes, computed once per session (a batch computes them ahead). */
typedef struct shash {
        uint64_t src; /* source-table hash */
        uint64_t dst; /* destination element hash */
} shash_t;

static void session_hashes(const fw_session_t *ss, shash_t *h) {
        h->src = fw_ip_hash(&ss->src_ip, SEED_SRC);
        h->dst = fw_ip_hash(&ss->dst_ip, SEED_ELEM);
}

static int feed_hashed(fw_engine_t *e, const fw_session_t *ss, int live, const shash_t *hs) {
        const fw_detect_cfg_t *c = e->cfg;
        int64_t t = ss->first_packet_ms;
        int raised = 0, r;

        e->cur = ss;
        e->live = live == FW_FEED_LIVE;
        e->warm = live == FW_FEED_WARMUP;
        e->chg = INT64_MAX;
        e->st.sessions++;
        if (e->clock != INT64_MIN && t < cutoff(e->clock, c->lateness_ms))
                e->st.late++;
        e->too_late = e->clock != INT64_MIN && t <= cutoff(e->clock, c->window_ms + c->lateness_ms);
        if (e->too_late)
                e->st.too_late++;
        if (t > e->clock)
                e->clock = t;
        if (e->npend > 0 && e->clock >= e->pend_min) {
                /* before this session changes any state: on failure it may be fed again */
                if ((r = pend_run(e)) < 0)
                        return -1;
                raised += r;
        }

        if (c->spike_total.enabled) {
                if ((r = spike_eval(e, &e->total, &e->total_run, &e->sp_total, FW_DET_SPIKE_TOTAL,
                                    NULL, t)) < 0)
                        return -1;
                raised += r;
        }

        tslot_t *slot = src_get(e, &ss->src_ip, hs->src);
        if (slot == NULL)
                return -1;
        src_t *s = slot->s;
        if (t > s->last_ms)
                s->last_ms = slot->last_ms = t;
        int failed = session_failed(ss);
        uint64_t dst_elem = hs->dst;
        uint64_t port_elem = mix64(0x10000u | ss->dst_port);
        const fw_fanout_cfg_t *fo = c->fanout;

        if (c->spike.enabled && !fw_cidr_list_contains(&c->spike.allow_src, &s->ip)) {
                if ((r = spike_eval(e, &s->spike, &s->spkrun, &e->sp, FW_DET_SPIKE, s, t)) < 0)
                        return -1;
                raised += r;
        }
        /* detect.count: an answered session to a destination the source reached recently is
         * routine (monitoring, backup, its servers) and counts for no fan-out */
        int counts = 1;
        if (c->count_policy == FW_COUNT_FAILED_OR_NEW && !failed) {
                size_t before = fw_history_bytes(&s->hist);
                /* new for one window after the first contact: every session of a first visit
                 * counts, in any order (445 then 3389 to the same host) */
                int known = fw_history_contact(&s->hist, dst_elem, t, c->history_ms, c->window_ms,
                                               FW_HISTORY_MAX);
                if (known < 0)
                        return -1;
                e->bytes += fw_history_bytes(&s->hist) - before;
                counts = !known;
        }
        /* attack grouping: source+port keys first, so that the sweep lists this port too */
        for (int pass = 0; counts && pass < 2; pass++) {
                int port_pass = attack_grouping(e) ? pass == 0 : pass == 1;
                if (port_pass && fo[FW_DET_SWEEP_PORT].enabled &&
                    !fw_cidr_list_contains(&fo[FW_DET_SWEEP_PORT].allow_src, &s->ip) &&
                    !fw_cidr_list_contains(&fo[FW_DET_SWEEP_PORT].allow_dst, &ss->dst_ip)) {
                        if ((r = sub_sight(e, s, FW_DET_SWEEP_PORT, TAG_PORT,
                                           sub_hash(TAG_PORT, 0, ss->dst_port), t, dst_elem,
                                           failed)) < 0)
                                return -1;
                        raised += r;
                }
                if (!port_pass && fo[FW_DET_SWEEP].enabled &&
                    !fw_cidr_list_contains(&fo[FW_DET_SWEEP].allow_src, &s->ip) &&
                    !fw_cidr_list_contains(&fo[FW_DET_SWEEP].allow_dst, &ss->dst_ip)) {
                        if (fankey_add(e, &s->sweep, dst_elem, t) < 0)
                                return -1;
                        fankey_touch(e, &s->sweep, t, failed);
                        if ((r = fankey_eval(e, s, &s->sweep, FW_DET_SWEEP, t)) < 0)
                                return -1;
                        raised += r;
                }
        }
        if (counts && fo[FW_DET_PORTSCAN].enabled &&
            !fw_cidr_list_contains(&fo[FW_DET_PORTSCAN].allow_src, &s->ip) &&
            !fw_cidr_list_contains(&fo[FW_DET_PORTSCAN].allow_dst, &ss->dst_ip)) {
                if ((r = sub_sight(e, s, FW_DET_PORTSCAN, TAG_DST, sub_hash(TAG_DST, dst_elem, 0),
                                   t, port_elem, failed)) < 0)
                        return -1;
                raised += r;
        }
        if (c->nrules > 0) {
                if ((r = rules_eval(e, s, t)) < 0)
                        return -1;
                raised += r;
        }
        idle_sweep(e);
        if (e->bytes > e->max_bytes)
                enforce_cap(e, s);
        e->cur = NULL;
        return raised;
}

int fw_engine_feed(fw_engine_t *e, const fw_session_t *ss, int live) {
        shash_t hs;
        session_hashes(ss, &hs);
        return feed_hashed(e, ss, live, &hs);
}

/* ---- batches: software prefetching ----
 * A large state is memory-bound: each session touches a table slot, its source record, the
 * source's distinct set, first-sightings map and sub-key table, each likely a cache miss, each
 * address known only after the previous load. Feeding a batch, the engine issues those loads as
 * prefetches a few sessions ahead, in stages, so the misses of different sessions overlap.
 * Prefetches only: a stale pointer (a source evicted meanwhile) is harmless, and every session
 * is still looked up for real when it is processed. */

#define PF_SLOT 12
#define PF_SRC  6
#define PF_KEYS 3 /* ... its distinct set, first sightings and sub-key slots */
#define PF_SUBS 1 /* ... the sub-keys and the distinct sets' slots */

static const src_t *pf_find(const fw_engine_t *e, uint64_t h) {
        if (e->cap == 0)
                return NULL;
        uint32_t mask = e->cap - 1;
        for (uint32_t i = (uint32_t)h & mask, n = 0; n < 8; i = (i + 1) & mask, n++) {
                const tslot_t *t = &e->tab[i];
                if (t->s == NULL)
                        return NULL;
                if (t->h == h)
                        return t->s;
        }
        return NULL;
}

static const fankey_t *pf_sub(const src_t *s, uint64_t h) {
        uint32_t mask = s->subcap - 1;
        for (uint32_t i = (uint32_t)h & mask, n = 0; n < 8; i = (i + 1) & mask, n++) {
                const fankey_t *k = s->subs[i];
                if (k == NULL || k->h == h)
                        return k;
        }
        return NULL;
}

static void pf_stage(const fw_engine_t *e, const fw_session_t *ss, const shash_t *hs, int stage) {
        if (e->cap == 0)
                return;
        if (stage == 0) {
                __builtin_prefetch(&e->tab[(uint32_t)hs->src & (e->cap - 1)]);
                return;
        }
        const src_t *s = pf_find(e, hs->src);
        if (s == NULL)
                return;
        if (stage == 1) {
                for (size_t off = 0; off < sizeof(*s); off += 64)
                        __builtin_prefetch((const char *)s + off);
                return;
        }
        uint64_t hp = sub_hash(TAG_PORT, 0, ss->dst_port), hd = sub_hash(TAG_DST, hs->dst, 0);
        if (stage == 2) {
                if (s->sweep.d != NULL)
                        __builtin_prefetch(s->sweep.d);
                if (s->pm.cap != 0) {
                        __builtin_prefetch(&s->pm.slots[(uint32_t)hp & (s->pm.cap - 1)]);
                        __builtin_prefetch(&s->pm.slots[(uint32_t)hd & (s->pm.cap - 1)]);
                }
                if (s->subcap != 0) {
                        __builtin_prefetch(&s->subs[(uint32_t)hp & (s->subcap - 1)]);
                        __builtin_prefetch(&s->subs[(uint32_t)hd & (s->subcap - 1)]);
                }
                return;
        }
        /* stage 3: the sub-keys themselves and the distinct sets' slots */
        if (s->sweep.d != NULL)
                fw_distinct_prefetch(s->sweep.d, hs->dst);
        if (s->subcap != 0) {
                const fankey_t *kp = pf_sub(s, hp), *kd = pf_sub(s, hd);
                if (kp != NULL) {
                        __builtin_prefetch(kp);
                        __builtin_prefetch((const char *)kp + 64);
                }
                if (kd != NULL) {
                        __builtin_prefetch(kd);
                        __builtin_prefetch((const char *)kd + 64);
                }
        }
}

int fw_engine_feed_batch(fw_engine_t *e, const fw_session_t *ss, size_t n, int live, size_t *done) {
        enum { CHUNK = 64 };
        shash_t hs[CHUNK + PF_SLOT];
        int raised = 0;
        for (size_t base = 0; base < n; base += CHUNK) {
                size_t m = n - base < CHUNK ? n - base : CHUNK;
                size_t ahead = n - base < CHUNK + PF_SLOT ? n - base : CHUNK + PF_SLOT;
                const fw_session_t *c = ss + base;
                for (size_t i = 0; i < ahead; i++)
                        session_hashes(&c[i], &hs[i]);
                for (size_t i = 0; i < m && base == 0 && i < PF_SLOT; i++)
                        pf_stage(e, &c[i], &hs[i], 0);
                for (size_t i = 0; i < m; i++) {
                        if (i + PF_SLOT < ahead)
                                pf_stage(e, &c[i + PF_SLOT], &hs[i + PF_SLOT], 0);
                        if (i + PF_SRC < ahead)
                                pf_stage(e, &c[i + PF_SRC], &hs[i + PF_SRC], 1);
                        if (i + PF_KEYS < ahead)
                                pf_stage(e, &c[i + PF_KEYS], &hs[i + PF_KEYS], 2);
                        if (i + PF_SUBS < ahead)
                                pf_stage(e, &c[i + PF_SUBS], &hs[i + PF_SUBS], 3);
                        int r = feed_hashed(e, &c[i], live, &hs[i]);
                        if (r < 0) {
                                if (done)
                                        *done = base + i;
                                return -1;
                        }
                        raised += r;
                }
        }
        if (done)
                *done = n;
        return raised;
}
