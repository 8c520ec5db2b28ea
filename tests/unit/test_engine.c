/* Unit tests for detector/engine.c: every detection over a session stream, event-time windows,
 * epochs and escalation, failed connections, replay, the exact baseline, eviction and the
 * memory cap. Sessions are built by hand; randomised streams use a seeded PRNG (fw_gen_mix). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "engine.h"
#include "expr.h"
#include "session_gen.h"

#define W  300000LL        /* default window, 5 min */
#define T0 1716000000000LL /* a multiple of W: an epoch start */
#define MI (1024 * 1024)

/* ---------------------------------------------------------------------------------------------
 * Helpers: addresses, sessions, configuration, an alert log
 * ------------------------------------------------------------------------------------------- */

static fw_ip_t ip_str(const char *s) {
        fw_ip_t ip;

        assert_int_equal(fw_ip_parse(s, &ip), 0);
        return ip;
}

/* The IPv4 address a.b.c.d with c.d = n (n < 65536). */
static fw_ip_t ip4n(unsigned a, unsigned b, uint32_t n) {
        char buf[32];

        snprintf(buf, sizeof(buf), "%u.%u.%u.%u", a, b, (unsigned)(n >> 8) & 255,
                 (unsigned)n & 255);
        return ip_str(buf);
}

/* An established TCP session (3+2 packets, SYN and SYN-ACK seen): not a failed connection. */
static void mksess(fw_session_t *s, fw_ip_t src, fw_ip_t dst, uint16_t dport, int64_t t) {
        fw_session_init(s);
        snprintf(s->node, sizeof(s->node), "node1");
        s->first_packet_ms = t;
        s->last_packet_ms = t + 40;
        s->src_ip = src;
        s->dst_ip = dst;
        s->src_port = (uint16_t)(40000 + dport % 20000);
        s->dst_port = dport;
        fw_gen_tcp(s, 1, 3, 2, 300, 200, 40, 30);
}

/* An unanswered SYN probe: syn = 1, syn_ack = 0. */
static void mksyn(fw_session_t *s, fw_ip_t src, fw_ip_t dst, uint16_t dport, int64_t t) {
        mksess(s, src, dst, dport, t);
        fw_gen_tcp(s, 0, 0, 0, 0, 0, 0, 0);
}

/* Defaults with the spike detections off, so a test sees only what it is about; alerts grouped
 * by window, one per key per epoch (the tests of attack grouping set it back). */
static void cfg_quiet(fw_detect_cfg_t *c) {
        fw_detect_cfg_defaults(c);
        c->grouping = FW_GROUP_WINDOW;
        c->count_policy = FW_COUNT_ALL;
        c->spike.enabled = 0;
        c->spike_total.enabled = 0;
}

/* Only the fan-out detection `kind` on. */
static void cfg_only(fw_detect_cfg_t *c, fw_det_kind_t kind) {
        cfg_quiet(c);
        for (int i = 0; i < 3; i++)
                c->fanout[i].enabled = i == (int)kind;
}

typedef struct rec {
        fw_alert_t a; /* copy; a.rule, a.rule_cfg and a.trigger cleared */
        char rule[64];
        int64_t trigger_t;
        uint16_t trigger_dport;
        size_t seq; /* index of the session that raised it */
        int fed;    /* raised while a session was fed (not by fw_engine_flush) */
} rec_t;

typedef struct alog {
        rec_t *v;
        size_t n, cap;
        size_t seq;     /* set by the feeder */
        int fail_calls; /* the next fail_calls callbacks fail */
        size_t calls;
} alog_t;

static int on_alert(const fw_alert_t *a, void *opaque) {
        alog_t *l = opaque;

        l->calls++;
        if (!a->final && !a->settled) /* a final update, or one held back: no trigger */
                assert_non_null(a->trigger);
        if (a->settled)
                assert_null(a->trigger);
        assert_non_null(a->rule);
        if (l->fail_calls > 0) {
                l->fail_calls--;
                return -1;
        }
        if (l->n == l->cap) {
                l->cap = l->cap ? l->cap * 2 : 64;
                l->v = realloc(l->v, l->cap * sizeof(*l->v));
                assert_non_null(l->v);
        }
        rec_t *r = &l->v[l->n++];
        memset(r, 0, sizeof(*r));
        r->a = *a;
        snprintf(r->rule, sizeof(r->rule), "%s", a->rule);
        r->trigger_t = a->trigger != NULL ? a->trigger->first_packet_ms : INT64_MIN;
        r->trigger_dport = a->trigger != NULL ? a->trigger->dst_port : 0;
        r->seq = l->seq;
        r->fed = a->fed != NULL;
        if (!a->final && !a->settled) /* the consumer commits against the session being fed */
                assert_ptr_equal(a->fed, a->trigger);
        r->a.rule = NULL;
        r->a.rule_cfg = NULL;
        r->a.trigger = NULL;
        r->a.fed = NULL;
        return 0;
}

static void alog_free(alog_t *l) {
        free(l->v);
        memset(l, 0, sizeof(*l));
}

static size_t count_kind(const alog_t *l, fw_det_kind_t kind) {
        size_t n = 0;

        for (size_t i = 0; i < l->n; i++)
                n += l->v[i].a.kind == kind;
        return n;
}

static fw_engine_t *mk(const fw_detect_cfg_t *c, alog_t *l) {
        char err[256] = "";
        fw_engine_t *e = fw_engine_new(c, on_alert, l, err, sizeof(err));

        if (e == NULL)
                fail_msg("fw_engine_new: %s", err);
        return e;
}

/* Feed live; returns the number of alerts raised (asserting no failure). */
static int feed(fw_engine_t *e, alog_t *l, const fw_session_t *s) {
        int r = fw_engine_feed(e, s, 1);

        assert_true(r >= 0);
        l->seq++;
        return r;
}

static int feed_conn(fw_engine_t *e, alog_t *l, fw_ip_t src, fw_ip_t dst, uint16_t dport,
                     int64_t t) {
        fw_session_t s;

        mksess(&s, src, dst, dport, t);
        return feed(e, l, &s);
}

static void stats(const fw_engine_t *e, fw_engine_stats_t *st) {
        memset(st, 0xa5, sizeof(*st));
        fw_engine_stats(e, st);
}

/* The id the engine must give an alert of (rule, key, epoch). */
static void expected_id(const rec_t *r, char out[33]) {
        fw_alert_t a;

        memset(&a, 0, sizeof(a));
        a.kind = r->a.kind;
        a.rule = r->rule;
        a.has_src = r->a.has_src;
        a.has_dst = r->a.has_dst;
        a.has_dport = r->a.has_dport;
        a.src = r->a.src;
        a.dst = r->a.dst;
        a.dport = r->a.dport;
        a.epoch_start_ms = r->a.epoch_start_ms;
        fw_alert_set_id(&a);
        memcpy(out, a.id, 33);
}

/* Invariants every fan-out alert must satisfy. */
static void check_fanout_alert(const rec_t *r, const fw_detect_cfg_t *c) {
        const fw_alert_t *a = &r->a;
        char id[33];

        assert_true(a->kind == FW_DET_SWEEP || a->kind == FW_DET_SWEEP_PORT ||
                    a->kind == FW_DET_PORTSCAN);
        assert_string_equal(r->rule, fw_det_kind_name(a->kind));
        assert_int_equal(strlen(a->id), 32);
        expected_id(r, id);
        assert_string_equal(a->id, id);
        if (c->grouping == FW_GROUP_ATTACK && a->kind == FW_DET_SWEEP && a->nby_port > 0 &&
            a->by_port_hosts[0] >= c->fanout[FW_DET_SWEEP_PORT].threshold)
                assert_int_equal(a->severity, c->fanout[FW_DET_SWEEP_PORT].severity);
        else
                assert_int_equal(a->severity, c->fanout[a->kind].severity);
        assert_int_equal(a->has_src, 1);
        assert_int_equal(a->has_dst, a->kind == FW_DET_PORTSCAN);
        assert_int_equal(a->has_dport, a->kind == FW_DET_SWEEP_PORT);
        assert_int_equal(a->window_end_ms - a->window_start_ms, c->window_ms);
        assert_int_equal(a->window_end_ms,
                         r->trigger_t > a->last_seen_ms ? r->trigger_t : a->last_seen_ms);
        assert_true(a->first_seen_ms > a->window_start_ms);
        assert_true(a->first_seen_ms <= a->last_seen_ms);
        assert_true(a->last_seen_ms <= a->window_end_ms);
        assert_int_equal(a->epoch_start_ms, (a->window_end_ms / c->window_ms) * c->window_ms);
        assert_true(a->count >= a->threshold);
        assert_true(a->threshold == c->fanout[a->kind].threshold ||
                    a->threshold == c->fanout[a->kind].failed_threshold);
        assert_true(a->failed <= a->sessions);
        assert_true(a->sessions >= 1);
        if (a->kind == FW_DET_PORTSCAN) {
                assert_int_equal(a->ntargets, 0);
                assert_true(a->nports >= 1 && a->nports <= c->sample_max);
                for (uint32_t i = 0; i < a->nports; i++)
                        for (uint32_t j = i + 1; j < a->nports; j++)
                                assert_int_not_equal(a->ports[i], a->ports[j]);
        } else {
                assert_int_equal(a->nports, 0);
                assert_true(a->ntargets >= 1 && a->ntargets <= c->sample_max);
                for (uint32_t i = 0; i < a->ntargets; i++)
                        for (uint32_t j = i + 1; j < a->ntargets; j++)
                                assert_false(fw_ip_equal(&a->targets[i], &a->targets[j]));
        }
}

/* ---------------------------------------------------------------------------------------------
 * Configuration and API basics
 * ------------------------------------------------------------------------------------------- */

static void test_defaults_and_names(void **state) {
        fw_detect_cfg_t c;

        (void)state;
        fw_detect_cfg_defaults(&c);
        assert_int_equal(c.window_ms, W);
        assert_true(c.lateness_ms >= 0);
        assert_int_equal(c.fanout[FW_DET_SWEEP].threshold, 25);
        assert_int_equal(c.fanout[FW_DET_SWEEP_PORT].threshold, 25);
        assert_int_equal(c.fanout[FW_DET_PORTSCAN].threshold, 15);
        assert_true(c.exact_max >= 25);
        assert_true(c.escalation > 1.0);
        assert_int_equal(c.nrules, 0);
        assert_string_equal(fw_det_kind_name(FW_DET_SWEEP), "address_sweep");
        assert_string_equal(fw_det_kind_name(FW_DET_SWEEP_PORT), "address_sweep_port");
        assert_string_equal(fw_det_kind_name(FW_DET_PORTSCAN), "port_scan");
        assert_string_equal(fw_det_kind_name(FW_DET_SPIKE), "session_spike");
        assert_string_equal(fw_det_kind_name(FW_DET_SPIKE_TOTAL), "session_spike_total");
        assert_null(fw_det_kind_name(FW_DET_RULE));
        assert_null(fw_det_kind_name(FW_DET_NKINDS));

        /* invalid configurations are refused with a message */
        char err[128];
        fw_detect_cfg_t bad = c;
        bad.window_ms = 0;
        err[0] = '\0';
        assert_null(fw_engine_new(&bad, NULL, NULL, err, sizeof(err)));
        assert_true(strlen(err) > 0);
        bad = c;
        bad.escalation = 1.0;
        assert_null(fw_engine_new(&bad, NULL, NULL, err, sizeof(err)));
        bad = c;
        bad.sample_max = FW_ALERT_SAMPLE_MAX + 1;
        assert_null(fw_engine_new(&bad, NULL, NULL, err, sizeof(err)));
        bad = c;
        bad.hll_p = 2;
        assert_null(fw_engine_new(&bad, NULL, NULL, err, sizeof(err)));
        assert_null(fw_engine_new(NULL, NULL, NULL, err, sizeof(err)));

        /* a new engine: empty state, no clock */
        fw_engine_t *e = fw_engine_new(&c, NULL, NULL, err, sizeof(err));
        fw_engine_stats_t st;
        assert_non_null(e);
        assert_int_equal(fw_engine_clock(e), FW_ABSENT);
        stats(e, &st);
        assert_int_equal(st.sessions, 0);
        assert_int_equal(st.sources, 0);
        assert_int_equal(st.keys, 0);
        assert_int_equal(st.clock_ms, FW_ABSENT);
        /* a NULL callback is allowed: alerts are counted */
        fw_session_t s;
        for (uint32_t i = 0; i < 25; i++) {
                mksess(&s, ip_str("10.0.0.1"), ip4n(172, 16, i), (uint16_t)(1000 + i), T0 + i);
                assert_true(fw_engine_feed(e, &s, 1) >= 0);
        }
        stats(e, &st);
        assert_int_equal(st.alerts_by_kind[FW_DET_SWEEP], 1);
        assert_int_equal(fw_engine_clock(e), T0 + 24);
        fw_engine_free(e);
        fw_engine_free(NULL);
}

/* ---------------------------------------------------------------------------------------------
 * Address sweep per source
 * ------------------------------------------------------------------------------------------- */

static void test_sweep_threshold(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};
        fw_ip_t src = ip_str("10.1.1.1");

        (void)state;
        cfg_quiet(&c);
        fw_engine_t *e = mk(&c, &l);
        /* distinct ports too: neither source+port nor source+destination reaches a threshold */
        for (uint32_t i = 0; i < 24; i++)
                assert_int_equal(feed_conn(e, &l, src, ip4n(172, 16, i), (uint16_t)(2000 + i),
                                           T0 + 1000 + i * 100),
                                 0);
        assert_int_equal(l.n, 0);
        assert_int_equal(feed_conn(e, &l, src, ip4n(172, 16, 24), 2024, T0 + 4000), 1);
        assert_int_equal(l.n, 1);
        const rec_t *r = &l.v[0];
        assert_int_equal(r->a.kind, FW_DET_SWEEP);
        assert_string_equal(r->rule, "address_sweep");
        assert_int_equal(r->a.count, 25);
        assert_int_equal(r->a.threshold, 25);
        assert_int_equal(r->a.exact, 1);
        assert_int_equal(r->a.escalation, 0);
        assert_true(fw_ip_equal(&r->a.src, &src));
        assert_int_equal(r->a.sessions, 25);
        assert_int_equal(r->a.failed, 0);
        assert_int_equal(r->a.first_seen_ms, T0 + 1000);
        assert_int_equal(r->a.last_seen_ms, T0 + 4000);
        assert_int_equal(r->a.epoch_start_ms, T0);
        check_fanout_alert(r, &c);
        /* more targets below escalation x 25: no more alerts */
        for (uint32_t i = 25; i < 49; i++)
                assert_int_equal(feed_conn(e, &l, src, ip4n(172, 16, i), (uint16_t)(2000 + i),
                                           T0 + 5000 + i),
                                 0);
        assert_int_equal(l.n, 1);
        /* another source is independent */
        for (uint32_t i = 0; i < 24; i++)
                feed_conn(e, &l, ip_str("10.1.1.2"), ip4n(172, 16, i), (uint16_t)(2000 + i),
                          T0 + 6000 + i);
        assert_int_equal(l.n, 1);
        fw_engine_stats_t st;
        stats(e, &st);
        assert_int_equal(st.alerts, 1);
        assert_int_equal(st.alerts_by_kind[FW_DET_SWEEP], 1);
        assert_int_equal(st.alerts_silent, 0);
        assert_int_equal(st.sources, 2);
        assert_int_equal(st.sessions, 25 + 24 + 24);
        fw_engine_free(e);
        alog_free(&l);
}

static void test_sweep_duplicates(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};
        fw_ip_t src = ip_str("10.1.2.1");

        (void)state;
        cfg_quiet(&c);
        fw_engine_t *e = mk(&c, &l);
        /* the same destination (and port) 1000 times */
        for (uint32_t i = 0; i < 1000; i++)
                feed_conn(e, &l, src, ip_str("172.17.9.9"), 443, T0 + i * 10);
        assert_int_equal(l.n, 0);
        /* 23 more distinct destinations, each repeated 20 times: 24 distinct, no alert */
        for (uint32_t i = 1; i <= 23; i++)
                for (uint32_t k = 0; k < 20; k++)
                        feed_conn(e, &l, src, ip4n(172, 16, i), (uint16_t)(3000 + i),
                                  T0 + 10000 + i * 100 + k);
        assert_int_equal(l.n, 0);
        /* the 25th distinct one fires, with the exact count */
        assert_int_equal(feed_conn(e, &l, src, ip4n(172, 16, 24), 3024, T0 + 20000), 1);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.v[0].a.count, 25);
        assert_int_equal(l.v[0].a.sessions, 1000 + 23 * 20 + 1);
        check_fanout_alert(&l.v[0], &c);
        /* the sample holds no duplicates although destinations were repeated */
        for (uint32_t i = 0; i < l.v[0].a.ntargets; i++)
                for (uint32_t j = i + 1; j < l.v[0].a.ntargets; j++)
                        assert_false(fw_ip_equal(&l.v[0].a.targets[i], &l.v[0].a.targets[j]));
        fw_engine_free(e);
        alog_free(&l);
}

static void test_sweep_allowlists(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};
        char err[128];

        (void)state;
        cfg_quiet(&c);
        for (int i = 0; i < 3; i++)
                assert_int_equal(fw_cidr_list_parse("10.66.0.0/16, 2001:db8::/32",
                                                    &c.fanout[i].allow_src, err, sizeof(err)),
                                 0);
        assert_int_equal(fw_cidr_list_parse("192.168.50.0/24", &c.fanout[FW_DET_SWEEP].allow_dst,
                                            err, sizeof(err)),
                         0);
        fw_engine_t *e = mk(&c, &l);

        /* an allowlisted scanner: 100 hosts on 445 and 100 ports on one host, silent */
        fw_ip_t scanner = ip_str("10.66.3.4");
        for (uint32_t i = 0; i < 100; i++)
                feed_conn(e, &l, scanner, ip4n(172, 17, i), 445, T0 + i);
        for (uint32_t i = 0; i < 100; i++)
                feed_conn(e, &l, scanner, ip_str("172.17.0.1"), (uint16_t)(1 + i), T0 + 200 + i);
        fw_ip_t scanner6 = ip_str("2001:db8::7");
        for (uint32_t i = 0; i < 100; i++) {
                char buf[64];
                snprintf(buf, sizeof(buf), "2001:db9::%x", i + 1);
                feed_conn(e, &l, scanner6, ip_str(buf), 445, T0 + 400 + i);
        }
        assert_int_equal(l.n, 0);

        /* the same scan from a source next to the allowlist fires all three kinds */
        fw_ip_t other = ip_str("10.67.3.4");
        for (uint32_t i = 0; i < 100; i++)
                feed_conn(e, &l, other, ip4n(172, 17, i), 445, T0 + 1000 + i);
        for (uint32_t i = 0; i < 100; i++)
                feed_conn(e, &l, other, ip_str("172.17.0.1"), (uint16_t)(1 + i), T0 + 1200 + i);
        assert_true(count_kind(&l, FW_DET_SWEEP) >= 1);
        assert_true(count_kind(&l, FW_DET_SWEEP_PORT) >= 1);
        assert_true(count_kind(&l, FW_DET_PORTSCAN) >= 1);
        size_t before = l.n;

        /* allowlisted destinations are not counted by the sweep: 24 + 30 allowlisted: silent */
        fw_ip_t src = ip_str("10.68.0.1");
        for (uint32_t i = 0; i < 24; i++)
                feed_conn(e, &l, src, ip4n(172, 18, i), (uint16_t)(5000 + i), T0 + 3000 + i);
        for (uint32_t i = 0; i < 30; i++) {
                char buf[32];
                snprintf(buf, sizeof(buf), "192.168.50.%u", i + 1);
                feed_conn(e, &l, src, ip_str(buf), (uint16_t)(6000 + i), T0 + 3100 + i);
        }
        assert_int_equal(l.n, before);
        /* one more counted destination: 25 */
        assert_int_equal(feed_conn(e, &l, src, ip4n(172, 18, 100), 7000, T0 + 3200), 1);
        assert_int_equal(l.n, before + 1);
        assert_int_equal(l.v[before].a.kind, FW_DET_SWEEP);
        assert_int_equal(l.v[before].a.count, 25);
        for (uint32_t i = 0; i < l.v[before].a.ntargets; i++)
                assert_int_not_equal(l.v[before].a.targets[i].addr[0], 192);
        fw_engine_free(e);
        fw_detect_cfg_release(&c);
        alog_free(&l);
}

/* ---------------------------------------------------------------------------------------------
 * Address sweep per source + port, port scan per source + destination
 * ------------------------------------------------------------------------------------------- */

static void test_sweep_port(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};
        fw_ip_t src = ip_str("10.2.0.1");

        (void)state;
        cfg_only(&c, FW_DET_SWEEP_PORT);
        fw_engine_t *e = mk(&c, &l);
        /* noise on other ports: 20 hosts on 80, 20 on 3389 */
        for (uint32_t i = 0; i < 20; i++) {
                feed_conn(e, &l, src, ip4n(172, 20, i), 80, T0 + i);
                feed_conn(e, &l, src, ip4n(172, 21, i), 3389, T0 + 50 + i);
        }
        for (uint32_t i = 0; i < 24; i++)
                assert_int_equal(feed_conn(e, &l, src, ip4n(172, 22, i), 445, T0 + 1000 + i * 10),
                                 0);
        assert_int_equal(l.n, 0);
        assert_int_equal(feed_conn(e, &l, src, ip4n(172, 22, 24), 445, T0 + 2000), 1);
        assert_int_equal(l.n, 1);
        const rec_t *r = &l.v[0];
        assert_int_equal(r->a.kind, FW_DET_SWEEP_PORT);
        assert_string_equal(r->rule, "address_sweep_port");
        assert_int_equal(r->a.has_dport, 1);
        assert_int_equal(r->a.dport, 445);
        assert_int_equal(r->a.has_dst, 0);
        assert_int_equal(r->a.count, 25);
        assert_int_equal(r->a.first_seen_ms, T0 + 1000);
        check_fanout_alert(r, &c);
        for (uint32_t i = 0; i < r->a.ntargets; i++)
                assert_int_equal(r->a.targets[i].addr[1], 22); /* only 445 targets sampled */
        fw_engine_free(e);
        alog_free(&l);

        /* the first destination of a port, held aside until a second shows up, is counted */
        memset(&l, 0, sizeof(l));
        c.fanout[FW_DET_SWEEP_PORT].threshold = 2;
        e = mk(&c, &l);
        assert_int_equal(feed_conn(e, &l, src, ip_str("172.23.0.1"), 445, T0), 0);
        assert_int_equal(feed_conn(e, &l, src, ip_str("172.23.0.1"), 445, T0 + 10), 0);
        assert_int_equal(feed_conn(e, &l, src, ip_str("172.23.0.2"), 139, T0 + 20), 0);
        assert_int_equal(feed_conn(e, &l, src, ip_str("172.23.0.2"), 445, T0 + 30), 1);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.v[0].a.count, 2);
        assert_int_equal(l.v[0].a.dport, 445);
        /* the held-aside first target keeps only its latest sighting (T0 + 10) and counts as
         * one session: documented approximation of the pairmap */
        assert_true(l.v[0].a.first_seen_ms >= T0 && l.v[0].a.first_seen_ms <= T0 + 10);
        assert_true(l.v[0].a.sessions >= 2 && l.v[0].a.sessions <= 3);
        fw_engine_free(e);
        alog_free(&l);
}

static void test_portscan(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};
        fw_ip_t src = ip_str("10.3.0.1"), dst = ip_str("172.30.0.9");

        (void)state;
        cfg_only(&c, FW_DET_PORTSCAN);
        fw_engine_t *e = mk(&c, &l);
        for (uint32_t i = 0; i < 14; i++) {
                assert_int_equal(feed_conn(e, &l, src, dst, (uint16_t)(20 + i), T0 + i * 1000), 0);
                /* repeats do not count */
                assert_int_equal(feed_conn(e, &l, src, dst, (uint16_t)(20 + i), T0 + i * 1000 + 1),
                                 0);
        }
        /* other destinations' ports do not count for this one */
        for (uint32_t i = 0; i < 30; i++)
                feed_conn(e, &l, src, ip_str("172.30.0.10"), (uint16_t)(100 + i % 10), T0 + 20000);
        assert_int_equal(l.n, 0);
        assert_int_equal(feed_conn(e, &l, src, dst, 8080, T0 + 30000), 1);
        assert_int_equal(l.n, 1);
        const rec_t *r = &l.v[0];
        assert_int_equal(r->a.kind, FW_DET_PORTSCAN);
        assert_int_equal(r->a.has_dst, 1);
        assert_true(fw_ip_equal(&r->a.dst, &dst));
        assert_int_equal(r->a.count, 15);
        assert_int_equal(r->a.threshold, 15);
        assert_true(r->a.first_seen_ms >= T0 && r->a.first_seen_ms <= T0 + 1);
        assert_int_equal(r->a.last_seen_ms, T0 + 30000);
        assert_true(r->a.sessions >= 28 && r->a.sessions <= 29);
        check_fanout_alert(r, &c);
        for (uint32_t i = 0; i < r->a.nports; i++)
                assert_true((r->a.ports[i] >= 20 && r->a.ports[i] < 34) || r->a.ports[i] == 8080);
        fw_engine_free(e);
        alog_free(&l);

        /* the first port long before, still inside the window, counts */
        memset(&l, 0, sizeof(l));
        e = mk(&c, &l);
        feed_conn(e, &l, src, dst, 1, T0 + 5);
        for (uint32_t i = 0; i < 14; i++)
                feed_conn(e, &l, src, dst, (uint16_t)(2 + i), T0 + 5 + W - 20 + i);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.v[0].a.count, 15);
        assert_int_equal(l.v[0].a.first_seen_ms, T0 + 5);
        fw_engine_free(e);
        alog_free(&l);

        /* ... but not once it is a full window old */
        memset(&l, 0, sizeof(l));
        e = mk(&c, &l);
        feed_conn(e, &l, src, dst, 1, T0 + 5);
        for (uint32_t i = 0; i < 14; i++)
                feed_conn(e, &l, src, dst, (uint16_t)(2 + i), T0 + 5 + W + i);
        assert_int_equal(l.n, 0);
        assert_int_equal(feed_conn(e, &l, src, dst, 16, T0 + 5 + W + 100), 1);
        assert_int_equal(l.v[0].a.count, 15);
        fw_engine_free(e);
        alog_free(&l);
}

/* A first sighting held in the pairmap is judged by its own key's window, not the source's
 * newest time: a session arriving late (within the lateness) still pairs with it. */
static void test_late_session_pairs_with_first_sighting(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};
        fw_ip_t src = ip_str("10.3.1.1"), dst = ip_str("172.31.0.9");

        (void)state;
        cfg_only(&c, FW_DET_PORTSCAN);
        fw_engine_t *e = mk(&c, &l);
        feed_conn(e, &l, src, dst, 1, T0);
        /* the source is busy elsewhere: its clock moves to T0 + W + 10 s */
        feed_conn(e, &l, src, ip_str("172.31.0.10"), 80, T0 + W + 10000);
        /* 14 more ports to dst, 10-25 s late, all within W - 1 ms of the first port */
        for (uint32_t i = 0; i < 14; i++)
                feed_conn(e, &l, src, dst, (uint16_t)(2 + i), T0 + W - 15 + i);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.v[0].a.count, 15);
        fw_engine_free(e);
        alog_free(&l);
}

/* ---------------------------------------------------------------------------------------------
 * Windows
 * ------------------------------------------------------------------------------------------- */

/* T targets of detection kind evenly over span ms from start; returns the number of alerts and
 * the count of the first. */
static size_t spread_scan(fw_det_kind_t kind, int64_t start, int64_t span, uint64_t *count) {
        fw_detect_cfg_t c;
        alog_t l = {0};
        fw_ip_t src = ip_str("10.4.0.1"), host = ip_str("172.24.0.1");

        cfg_only(&c, kind);
        uint32_t T = c.fanout[kind].threshold;
        fw_engine_t *e = mk(&c, &l);
        for (uint32_t j = 0; j < T; j++) {
                int64_t t = start + (int64_t)j * span / (int64_t)(T - 1);
                if (kind == FW_DET_PORTSCAN)
                        feed_conn(e, &l, src, host, (uint16_t)(1000 + j), t);
                else
                        feed_conn(e, &l, src, ip4n(172, 25, j), 445, t);
        }
        size_t n = l.n;
        *count = n > 0 ? l.v[0].a.count : 0;
        if (n > 0) {
                assert_int_equal(l.v[0].seq, T - 1); /* fired by the last target */
                check_fanout_alert(&l.v[0], &c);
        }
        fw_engine_free(e);
        alog_free(&l);
        return n;
}

static void test_window_boundary(void **state) {
        static const fw_det_kind_t kinds[3] = {FW_DET_SWEEP, FW_DET_SWEEP_PORT, FW_DET_PORTSCAN};
        static const uint32_t thr[3] = {25, 25, 15};

        (void)state;
        for (int k = 0; k < 3; k++) {
                for (int i = 0; i < 50; i++) {
                        /* starts every W/10 over 5 windows, +-1 ms around each, so starts fall
                         * on, just before and just after multiples of the window */
                        int64_t start = T0 - W + (int64_t)i * (W / 10) + (i % 3) - 1;
                        uint64_t count = 0;

                        if (spread_scan(kinds[k], start, W - 1, &count) != 1)
                                fail_msg("kind %d start %d: span W-1 did not fire once", k, i);
                        assert_int_equal(count, thr[k]);
                        if (spread_scan(kinds[k], start, W + W / 2, &count) != 0)
                                fail_msg("kind %d start %d: span 1.5 W fired", k, i);
                }
        }
}

static void test_expiry_and_order(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};
        fw_ip_t src = ip_str("10.5.0.1");

        (void)state;
        cfg_only(&c, FW_DET_SWEEP);
        fw_engine_t *e = mk(&c, &l);
        for (uint32_t i = 0; i < 24; i++)
                feed_conn(e, &l, src, ip4n(172, 26, i), 80, T0 + i);
        /* a window later the old targets are gone: the same 24 again and 1 more are 25, not 49 */
        for (uint32_t i = 0; i < 24; i++)
                assert_int_equal(feed_conn(e, &l, src, ip4n(172, 26, i), 80, T0 + 23 + W + i), 0);
        assert_int_equal(l.n, 0);
        assert_int_equal(feed_conn(e, &l, src, ip4n(172, 26, 100), 80, T0 + 23 + W + 30), 1);
        assert_int_equal(l.v[0].a.count, 25);
        assert_int_equal(l.v[0].a.first_seen_ms, T0 + 23 + W);
        /* two windows later nothing is left: 24 new targets do not fire */
        for (uint32_t i = 0; i < 24; i++)
                assert_int_equal(feed_conn(e, &l, src, ip4n(172, 27, i), 80, T0 + 3 * W + i), 0);
        assert_int_equal(l.n, 1);
        fw_engine_free(e);
        alog_free(&l);

        /* out of order inside the lateness: counted; the first seen is the earliest */
        memset(&l, 0, sizeof(l));
        e = mk(&c, &l);
        for (uint32_t i = 0; i < 24; i++)
                feed_conn(e, &l, src, ip4n(172, 26, i), 80, T0 + 60000 + i * 100);
        assert_int_equal(feed_conn(e, &l, src, ip4n(172, 26, 99), 80, T0 + 30000), 1);
        assert_int_equal(l.v[0].a.count, 25);
        assert_int_equal(l.v[0].a.first_seen_ms, T0 + 30000);
        assert_int_equal(l.v[0].a.last_seen_ms, T0 + 60000 + 2300);
        assert_int_equal(l.v[0].a.window_end_ms, T0 + 60000 + 2300);
        check_fanout_alert(&l.v[0], &c);
        fw_engine_stats_t st;
        stats(e, &st);
        assert_int_equal(st.late, 0);
        assert_int_equal(st.too_late, 0);
        fw_engine_free(e);
        alog_free(&l);

        /* later than the lateness but inside the window: still counted, reported as late;
         * older than the window: ignored */
        memset(&l, 0, sizeof(l));
        c.lateness_ms = 60000;
        e = mk(&c, &l);
        for (uint32_t i = 0; i < 24; i++)
                feed_conn(e, &l, src, ip4n(172, 26, i), 80, T0 + W + i);
        int64_t newest = T0 + W + 23;
        assert_int_equal(feed_conn(e, &l, src, ip4n(172, 26, 98), 80, newest - W), 0);
        stats(e, &st);
        assert_int_equal(st.late, 1);
        assert_int_equal(l.n, 0);
        assert_int_equal(feed_conn(e, &l, src, ip4n(172, 26, 99), 80, newest - W + 1), 1);
        assert_int_equal(l.v[0].a.count, 25);
        stats(e, &st);
        assert_int_equal(st.late, 2);
        assert_int_equal(st.too_late, 0);
        /* older than window + lateness: too late */
        feed_conn(e, &l, src, ip4n(172, 26, 97), 80, newest - W - 60000);
        stats(e, &st);
        assert_int_equal(st.too_late, 1);
        assert_int_equal(st.late, 3);
        assert_int_equal(st.clock_ms, newest);
        assert_int_equal(l.n, 1);
        fw_engine_free(e);
        alog_free(&l);
}

/* ---------------------------------------------------------------------------------------------
 * Epochs and escalation
 * ------------------------------------------------------------------------------------------- */

static void test_epoch_escalation(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};
        fw_ip_t src = ip_str("10.6.0.1");

        (void)state;
        cfg_only(&c, FW_DET_SWEEP);
        assert_true(c.escalation == 2.0);
        fw_engine_t *e = mk(&c, &l);
        for (uint32_t i = 0; i < 120; i++)
                feed_conn(e, &l, src, ip4n(172, 28, i), 80, T0 + 1000 + i * 100);
        assert_int_equal(l.n, 3);
        static const uint64_t counts[3] = {25, 50, 100};
        for (int i = 0; i < 3; i++) {
                assert_int_equal(l.v[i].a.count, counts[i]);
                assert_int_equal(l.v[i].a.escalation, (uint32_t)i);
                assert_int_equal(l.v[i].seq, counts[i] - 1);
                assert_string_equal(l.v[i].a.id, l.v[0].a.id);
                assert_int_equal(l.v[i].a.epoch_start_ms, T0);
                check_fanout_alert(&l.v[i], &c);
        }
        /* duplicates of already counted targets never re-raise */
        for (uint32_t i = 0; i < 120; i++)
                feed_conn(e, &l, src, ip4n(172, 28, i), 80, T0 + 20000 + i);
        assert_int_equal(l.n, 3);
        /* the scan continues into the next epoch: a new id, escalation restarts at 0 */
        assert_int_equal(feed_conn(e, &l, src, ip4n(172, 28, 500), 80, T0 + W + 10), 1);
        assert_int_equal(l.n, 4);
        assert_int_equal(l.v[3].a.epoch_start_ms, T0 + W);
        assert_int_equal(l.v[3].a.escalation, 0);
        assert_int_equal(l.v[3].a.count, 121);
        assert_string_not_equal(l.v[3].a.id, l.v[0].a.id);
        check_fanout_alert(&l.v[3], &c);
        /* and escalates from its own first count */
        for (uint32_t i = 0; i < 121; i++)
                feed_conn(e, &l, src, ip4n(172, 29, i), 80, T0 + W + 20 + i);
        assert_int_equal(l.n, 5);
        assert_int_equal(l.v[4].a.count, 242);
        assert_int_equal(l.v[4].a.escalation, 1);
        assert_string_equal(l.v[4].a.id, l.v[3].a.id);
        /* a different key in the same epoch has a different id */
        for (uint32_t i = 0; i < 25; i++)
                feed_conn(e, &l, ip_str("10.6.0.2"), ip4n(172, 28, i), 80, T0 + W + 500 + i);
        assert_int_equal(l.n, 6);
        assert_int_equal(l.v[5].a.epoch_start_ms, T0 + W);
        assert_string_not_equal(l.v[5].a.id, l.v[3].a.id);
        fw_engine_free(e);
        alog_free(&l);
}

/* ---------------------------------------------------------------------------------------------
 * Failed connections
 * ------------------------------------------------------------------------------------------- */

static void test_failed_connections(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};
        fw_session_t s;

        (void)state;
        cfg_only(&c, FW_DET_SWEEP);
        c.fanout[FW_DET_SWEEP].failed_threshold = 10;
        c.fanout[FW_DET_SWEEP].failed_share = 0.8;
        fw_engine_t *e = mk(&c, &l);

        /* 10 distinct unanswered SYN probes fire at the lowered threshold */
        fw_ip_t a = ip_str("10.7.0.1");
        for (uint32_t i = 0; i < 9; i++) {
                mksyn(&s, a, ip4n(172, 32, i), 445, T0 + i);
                assert_int_equal(feed(e, &l, &s), 0);
        }
        mksyn(&s, a, ip4n(172, 32, 9), 445, T0 + 9);
        assert_int_equal(feed(e, &l, &s), 1);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.v[0].a.count, 10);
        assert_int_equal(l.v[0].a.threshold, 10);
        assert_int_equal(l.v[0].a.sessions, 10);
        assert_int_equal(l.v[0].a.failed, 10);
        check_fanout_alert(&l.v[0], &c);

        /* 10 successful connections do not */
        fw_ip_t b = ip_str("10.7.0.2");
        for (uint32_t i = 0; i < 10; i++)
                feed_conn(e, &l, b, ip4n(172, 32, i), 445, T0 + 100 + i);
        assert_int_equal(l.n, 1);

        /* single-packet TCP without tcpflags counts as failed */
        fw_ip_t d = ip_str("10.7.0.3");
        for (uint32_t i = 0; i < 10; i++) {
                mksess(&s, d, ip4n(172, 32, i), 22, T0 + 200 + i);
                s.tcpflags = (fw_tcpflags_t){-1, -1, -1, -1, -1, -1, -1, -1, -1};
                s.src_packets = 1;
                s.dst_packets = 0;
                feed(e, &l, &s);
        }
        assert_int_equal(l.n, 2);
        assert_int_equal(l.v[1].a.failed, 10);
        assert_int_equal(l.v[1].a.threshold, 10);

        /* ... but single-packet UDP does not, nor multi-packet TCP without flags */
        fw_ip_t u = ip_str("10.7.0.4");
        for (uint32_t i = 0; i < 10; i++) {
                mksess(&s, u, ip4n(172, 32, i), 53, T0 + 300 + i);
                s.tcpflags = (fw_tcpflags_t){-1, -1, -1, -1, -1, -1, -1, -1, -1};
                s.ip_protocol = 17;
                s.src_packets = 1;
                s.dst_packets = 0;
                feed(e, &l, &s);
                mksess(&s, ip_str("10.7.0.5"), ip4n(172, 32, i), 80, T0 + 300 + i);
                s.tcpflags = (fw_tcpflags_t){-1, -1, -1, -1, -1, -1, -1, -1, -1};
                feed(e, &l, &s);
        }
        assert_int_equal(l.n, 2);

        /* a reset from the responder with no payload is failed too */
        fw_ip_t r = ip_str("10.7.0.6");
        for (uint32_t i = 0; i < 10; i++) {
                mksess(&s, r, ip4n(172, 32, i), 3389, T0 + 400 + i);
                s.tcpflags.rst = 1;
                s.tcpflags.fin = 0;
                s.dst_databytes = 0;
                feed(e, &l, &s);
        }
        assert_int_equal(l.n, 3);
        assert_int_equal(l.v[2].a.failed, 10);

        /* below the failed share (7 of 10 failed < 0.8) the normal threshold applies */
        fw_ip_t m = ip_str("10.7.0.7");
        for (uint32_t i = 0; i < 10; i++) {
                if (i % 10 < 7)
                        mksyn(&s, m, ip4n(172, 32, i), 445, T0 + 500 + i);
                else
                        mksess(&s, m, ip4n(172, 32, i), 445, T0 + 500 + i);
                feed(e, &l, &s);
        }
        assert_int_equal(l.n, 3);
        fw_engine_free(e);
        alog_free(&l);

        /* failed_threshold 0 is off: 20 probes do not fire */
        memset(&l, 0, sizeof(l));
        c.fanout[FW_DET_SWEEP].failed_threshold = 0;
        e = mk(&c, &l);
        for (uint32_t i = 0; i < 20; i++) {
                mksyn(&s, a, ip4n(172, 32, i), 445, T0 + i);
                feed(e, &l, &s);
        }
        assert_int_equal(l.n, 0);
        fw_engine_free(e);
        alog_free(&l);
}

/* ---------------------------------------------------------------------------------------------
 * Session spikes
 * ------------------------------------------------------------------------------------------- */

static void spike_cfg(fw_spike_cfg_t *s, uint32_t min_count) {
        s->enabled = 1;
        s->interval_ms = 60000;
        s->min_count = min_count;
        s->k = 6.0;
        s->alpha = 0.1;
        s->warmup = 3;
}

static void test_spike_source(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};
        fw_ip_t src = ip_str("10.8.0.1"), quiet = ip_str("10.8.0.2");

        (void)state;
        cfg_quiet(&c);
        for (int i = 0; i < 3; i++)
                c.fanout[i].enabled = 0;
        spike_cfg(&c.spike, 20);
        fw_engine_t *e = mk(&c, &l);
        /* 10 intervals of background: 5 sessions a minute; the quiet host 1 a minute */
        for (int64_t iv = 0; iv < 10; iv++) {
                for (int k = 0; k < 5; k++)
                        feed_conn(e, &l, src, ip_str("172.33.0.1"), 443,
                                  T0 + iv * 60000 + k * 1000);
                feed_conn(e, &l, quiet, ip_str("172.33.0.1"), 443, T0 + iv * 60000 + 500);
        }
        assert_int_equal(l.n, 0);
        /* the quiet host jumps to 15 (15x its baseline, below min_count 20): silent */
        for (int k = 0; k < 15; k++)
                feed_conn(e, &l, quiet, ip_str("172.33.0.1"), 443, T0 + 10 * 60000 + k * 100);
        assert_int_equal(l.n, 0);
        /* the busy host jumps to 60 in the 11th interval: fires at the first count over both the
         * baseline limit and min_count, then escalates at 2x */
        for (int k = 0; k < 60; k++)
                feed_conn(e, &l, src, ip_str("172.33.0.1"), 443, T0 + 10 * 60000 + k * 100);
        assert_int_equal(l.n, 2);
        const rec_t *r = &l.v[0];
        assert_int_equal(r->a.kind, FW_DET_SPIKE);
        assert_string_equal(r->rule, "session_spike");
        assert_int_equal(r->a.has_src, 1);
        assert_true(fw_ip_equal(&r->a.src, &src));
        assert_int_equal(r->a.has_dst, 0);
        assert_int_equal(r->a.count, 20);
        assert_true(r->a.count >= r->a.threshold);
        assert_int_equal(r->a.escalation, 0);
        assert_true(r->a.baseline_mean > 3.0 && r->a.baseline_mean < 6.0);
        assert_int_equal(r->a.window_start_ms, T0 + 10 * 60000);
        assert_int_equal(r->a.window_end_ms - r->a.window_start_ms, 60000);
        assert_int_equal(r->a.epoch_start_ms, T0 + 10 * 60000);
        char id[33];
        expected_id(r, id);
        assert_string_equal(r->a.id, id);
        assert_int_equal(l.v[1].a.count, 40);
        assert_int_equal(l.v[1].a.escalation, 1);
        assert_string_equal(l.v[1].a.id, r->a.id);
        fw_engine_free(e);
        alog_free(&l);

        /* no alert during the warmup, whatever the jump */
        memset(&l, 0, sizeof(l));
        e = mk(&c, &l);
        for (int k = 0; k < 5; k++)
                feed_conn(e, &l, src, ip_str("172.33.0.1"), 443, T0 + k);
        for (int k = 0; k < 500; k++)
                feed_conn(e, &l, src, ip_str("172.33.0.1"), 443, T0 + 60000 + k);
        assert_int_equal(l.n, 0);
        fw_engine_free(e);
        alog_free(&l);

        /* an allowlisted source is silent */
        memset(&l, 0, sizeof(l));
        char err[64];
        assert_int_equal(fw_cidr_list_parse("10.8.0.0/24", &c.spike.allow_src, err, sizeof(err)),
                         0);
        e = mk(&c, &l);
        for (int64_t iv = 0; iv < 10; iv++)
                for (int k = 0; k < 5; k++)
                        feed_conn(e, &l, src, ip_str("172.33.0.1"), 443,
                                  T0 + iv * 60000 + k * 1000);
        for (int k = 0; k < 60; k++)
                feed_conn(e, &l, src, ip_str("172.33.0.1"), 443, T0 + 10 * 60000 + k * 100);
        assert_int_equal(l.n, 0);
        fw_engine_free(e);
        fw_detect_cfg_release(&c);
        alog_free(&l);
}

static void test_spike_total(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};

        (void)state;
        cfg_quiet(&c);
        for (int i = 0; i < 3; i++)
                c.fanout[i].enabled = 0;
        spike_cfg(&c.spike_total, 50);
        fw_engine_t *e = mk(&c, &l);
        /* 20 sessions a minute from 20 sources for 10 minutes */
        for (int64_t iv = 0; iv < 10; iv++)
                for (uint32_t k = 0; k < 20; k++)
                        feed_conn(e, &l, ip4n(10, 9, k), ip_str("172.34.0.1"), 443,
                                  T0 + iv * 60000 + k * 1000);
        assert_int_equal(l.n, 0);
        /* then 200 sessions from 200 sources in one minute */
        for (uint32_t k = 0; k < 200; k++)
                feed_conn(e, &l, ip4n(10, 10, k), ip_str("172.34.0.1"), 443,
                          T0 + 10 * 60000 + k * 100);
        assert_true(l.n >= 1);
        const rec_t *r = &l.v[0];
        assert_int_equal(r->a.kind, FW_DET_SPIKE_TOTAL);
        assert_string_equal(r->rule, "session_spike_total");
        assert_int_equal(r->a.has_src, 0);
        assert_int_equal(r->a.has_dst, 0);
        assert_int_equal(r->a.has_dport, 0);
        assert_int_equal(r->a.count, 50); /* 20 + 6 * sqrt(20) = 46.8 < min_count 50 */
        assert_int_equal(r->a.escalation, 0);
        assert_true(r->a.baseline_mean > 15.0 && r->a.baseline_mean < 25.0);
        for (size_t i = 0; i < l.n; i++)
                assert_int_equal(l.v[i].a.kind, FW_DET_SPIKE_TOTAL);
        /* one id for the interval, escalations at 100 and 200 */
        assert_int_equal(l.n, 3);
        assert_int_equal(l.v[2].a.count, 200);
        assert_int_equal(l.v[2].a.escalation, 2);
        assert_string_equal(l.v[2].a.id, r->a.id);
        fw_engine_free(e);
        alog_free(&l);

        /* below min_count nothing fires, even at 2x the baseline */
        memset(&l, 0, sizeof(l));
        c.spike_total.min_count = 1000;
        e = mk(&c, &l);
        for (int64_t iv = 0; iv < 10; iv++)
                for (uint32_t k = 0; k < 20; k++)
                        feed_conn(e, &l, ip4n(10, 9, k), ip_str("172.34.0.1"), 443,
                                  T0 + iv * 60000 + k * 1000);
        for (uint32_t k = 0; k < 200; k++)
                feed_conn(e, &l, ip4n(10, 10, k), ip_str("172.34.0.1"), 443,
                          T0 + 10 * 60000 + k * 100);
        assert_int_equal(l.n, 0);
        fw_engine_free(e);
        alog_free(&l);
}

/* ---------------------------------------------------------------------------------------------
 * Expression rules
 * ------------------------------------------------------------------------------------------- */

static const char *const STUDY_RULE = "packets == 1 && ip.protocol == tcp && "
                                      "ip.src != 131.206.0.0/16 && ip.dst != 131.206.0.0/16";

static void add_rule(fw_detect_cfg_t *c, const char *name, const char *text, uint32_t threshold) {
        char err[256] = "";
        fw_expr_t *x = fw_expr_compile(text, err, sizeof(err));

        if (x == NULL)
                fail_msg("fw_expr_compile: %s", err);
        c->rules = realloc(c->rules, (c->nrules + 1) * sizeof(*c->rules));
        assert_non_null(c->rules);
        fw_rule_cfg_t *r = &c->rules[c->nrules++];
        memset(r, 0, sizeof(*r));
        r->name = strdup(name);
        assert_non_null(r->name);
        r->expr = x;
        r->threshold = threshold;
        r->severity = 55;
}

static void one_packet(fw_session_t *s, const char *src, const char *dst, int64_t t) {
        mksess(s, ip_str(src), ip_str(dst), 445, t);
        s->src_packets = 1;
        s->dst_packets = 0;
        s->tcpflags = (fw_tcpflags_t){-1, -1, -1, -1, -1, -1, -1, -1, -1};
}

/* A rule alert's window ends at the newest session it counted, not at the one that crossed the
 * threshold: Arkime writes unanswered SYNs late, so a crossing session may be older than
 * sessions counted before it, and the alert's viewer link must still select them all. */
static void test_rule_window_out_of_order(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};
        fw_session_t s;

        (void)state;
        cfg_quiet(&c);
        for (int i = 0; i < 3; i++)
                c.fanout[i].enabled = 0;
        add_rule(&c, "private_leak", STUDY_RULE, 2);
        fw_engine_t *e = mk(&c, &l);

        one_packet(&s, "10.0.0.1", "192.168.1.1", T0 + 5000);
        assert_int_equal(feed(e, &l, &s), 0);
        one_packet(&s, "10.0.0.1", "192.168.1.2", T0 + 1000); /* older, arrives second */
        assert_int_equal(feed(e, &l, &s), 1);
        assert_int_equal(l.v[0].a.count, 2);
        assert_int_equal(l.v[0].a.first_seen_ms, T0 + 1000);
        assert_int_equal(l.v[0].a.window_end_ms, T0 + 5000);
        assert_true(l.v[0].a.window_start_ms <= T0 + 1000);
        fw_engine_free(e);
        fw_detect_cfg_release(&c);
        alog_free(&l);
}

static void test_rules(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};
        fw_session_t s;

        (void)state;
        cfg_quiet(&c);
        for (int i = 0; i < 3; i++)
                c.fanout[i].enabled = 0;
        add_rule(&c, "private_leak", STUDY_RULE, 1);
        fw_engine_t *e = mk(&c, &l);

        one_packet(&s, "10.0.0.1", "192.168.1.1", T0 + 1000);
        assert_int_equal(feed(e, &l, &s), 1);
        assert_int_equal(l.n, 1);
        const rec_t *r = &l.v[0];
        assert_int_equal(r->a.kind, FW_DET_RULE);
        assert_string_equal(r->rule, "private_leak");
        assert_int_equal(r->a.severity, 55);
        assert_int_equal(r->a.has_src, 1);
        assert_true(fw_ip_equal(&r->a.src, &s.src_ip));
        assert_int_equal(r->a.count, 1);
        assert_int_equal(r->a.threshold, 1);
        assert_int_equal(r->a.escalation, 0);
        assert_int_equal(r->a.epoch_start_ms, T0);
        assert_int_equal(r->a.first_seen_ms, T0 + 1000);
        assert_int_equal(r->a.last_seen_ms, T0 + 1000);
        char id[33];
        expected_id(r, id);
        assert_string_equal(r->a.id, id);

        /* no match: a 131.206.x source or destination, a 2-packet session, UDP */
        one_packet(&s, "131.206.5.5", "192.168.1.1", T0 + 2000);
        assert_int_equal(feed(e, &l, &s), 0);
        one_packet(&s, "10.0.0.9", "131.206.1.1", T0 + 2000);
        assert_int_equal(feed(e, &l, &s), 0);
        one_packet(&s, "10.0.0.9", "192.168.1.1", T0 + 2000);
        s.dst_packets = 1;
        assert_int_equal(feed(e, &l, &s), 0);
        one_packet(&s, "10.0.0.9", "192.168.1.1", T0 + 2000);
        s.ip_protocol = 17;
        assert_int_equal(feed(e, &l, &s), 0);
        assert_int_equal(l.n, 1);

        /* the same source in the same epoch: one id; re-raised only at 2x (2, 4, 8) */
        for (int k = 0; k < 9; k++) {
                one_packet(&s, "10.0.0.1", "192.168.1.2", T0 + 3000 + k);
                feed(e, &l, &s);
        }
        assert_int_equal(l.n, 4);
        for (size_t i = 1; i < 4; i++) {
                assert_string_equal(l.v[i].a.id, l.v[0].a.id);
                assert_int_equal(l.v[i].a.escalation, i);
                assert_int_equal(l.v[i].a.count, 1u << i);
        }
        /* another source: its own id; the next epoch: a new id */
        one_packet(&s, "10.0.0.2", "192.168.1.1", T0 + 5000);
        assert_int_equal(feed(e, &l, &s), 1);
        assert_string_not_equal(l.v[4].a.id, l.v[0].a.id);
        one_packet(&s, "10.0.0.1", "192.168.1.1", T0 + W + 5);
        assert_int_equal(feed(e, &l, &s), 1);
        assert_int_equal(l.v[5].a.epoch_start_ms, T0 + W);
        assert_int_equal(l.v[5].a.escalation, 0);
        assert_int_equal(l.v[5].a.count, 1);
        assert_string_not_equal(l.v[5].a.id, l.v[0].a.id);
        fw_engine_stats_t st;
        stats(e, &st);
        assert_int_equal(st.alerts_by_kind[FW_DET_RULE], 6);
        fw_engine_free(e);
        fw_detect_cfg_release(&c);
        alog_free(&l);

        /* a threshold of 3: fires at the third match, first seen is the first match */
        memset(&l, 0, sizeof(l));
        cfg_quiet(&c);
        for (int i = 0; i < 3; i++)
                c.fanout[i].enabled = 0;
        add_rule(&c, "leak3", STUDY_RULE, 3);
        char err[64];
        add_rule(&c, "muted", "port.dst == 445", 1);
        assert_int_equal(fw_cidr_list_parse("10.0.0.0/8", &c.rules[1].allow_src, err, sizeof(err)),
                         0);
        e = mk(&c, &l);
        for (int k = 0; k < 3; k++) {
                one_packet(&s, "10.0.0.1", "192.168.1.1", T0 + 1000 + k * 1000);
                assert_int_equal(feed(e, &l, &s), k == 2);
        }
        assert_int_equal(l.n, 1);
        assert_string_equal(l.v[0].rule, "leak3");
        assert_int_equal(l.v[0].a.count, 3);
        assert_int_equal(l.v[0].a.threshold, 3);
        assert_int_equal(l.v[0].a.first_seen_ms, T0 + 1000);
        assert_int_equal(l.v[0].a.last_seen_ms, T0 + 3000);
        fw_engine_free(e);
        fw_detect_cfg_release(&c);
        alog_free(&l);
}

/* ---------------------------------------------------------------------------------------------
 * Streams: replay, exact baseline, determinism
 * ------------------------------------------------------------------------------------------- */

typedef struct stream {
        fw_session_t *v;
        size_t n, cap;
} stream_t;

static void push(stream_t *st, const fw_session_t *s) {
        if (st->n == st->cap) {
                st->cap = st->cap ? st->cap * 2 : 1024;
                st->v = realloc(st->v, st->cap * sizeof(*st->v));
                assert_non_null(st->v);
        }
        st->v[st->n++] = *s;
}

static int cmp_time(const void *a, const void *b) {
        const fw_session_t *x = a, *y = b;

        if (x->first_packet_ms != y->first_packet_ms)
                return x->first_packet_ms < y->first_packet_ms ? -1 : 1;
        return strcmp(x->id, y->id);
}

/* A mixed stream over three windows: benign hosts, sweeps (one crossing an epoch boundary),
 * a port scan, failed probes, each with duplicates; sorted by time, then locally disordered by
 * up to `disorder` ms. Every distinct count stays below 200. */
static void make_stream(stream_t *st, uint64_t seed, int64_t disorder) {
        fw_session_t s;
        uint64_t r = seed;
        size_t id = 0;
#define RND() (r = fw_gen_mix(r))
#define ADD()                                                                                      \
        do {                                                                                       \
                snprintf(s.id, sizeof(s.id), "s%zu", id++);                                        \
                push(st, &s);                                                                      \
        } while (0)
        memset(st, 0, sizeof(*st));
        /* benign: 300 sources, 20 sessions each to 1-6 servers on 80/443/53 */
        for (uint32_t h = 0; h < 300; h++) {
                uint32_t nsrv = 1 + (uint32_t)(RND() % 6);
                for (int k = 0; k < 20; k++) {
                        uint32_t srv = (uint32_t)(RND() % nsrv);
                        static const uint16_t ports[3] = {80, 443, 53};
                        uint16_t port = ports[RND() % 3];
                        int64_t t = T0 + (int64_t)(RND() % (uint64_t)(3 * W));
                        mksess(&s, ip4n(10, 100, h), ip4n(172, 40, srv), port, t);
                        ADD();
                }
        }
        /* sweep 1: 150 hosts on 445 within the first window, each twice */
        for (uint32_t i = 0; i < 150; i++)
                for (int k = 0; k < 2; k++) {
                        mksess(&s, ip_str("10.50.0.1"), ip4n(172, 41, i), 445,
                               T0 + 10000 + i * 1500 + k * 7);
                        ADD();
                }
        /* sweep 2: 120 hosts on 3389, slow, across the first epoch boundary */
        for (uint32_t i = 0; i < 120; i++) {
                mksyn(&s, ip_str("10.50.0.2"), ip4n(172, 42, i), 3389, T0 + W - 100000 + i * 2000);
                ADD();
        }
        /* port scan: 180 ports on one host in the second window, repeated */
        for (uint32_t i = 0; i < 180; i++)
                for (int k = 0; k < 2; k++) {
                        mksyn(&s, ip_str("10.50.0.3"), ip_str("172.43.0.1"), (uint16_t)(1 + i),
                              T0 + W + 5000 + i * 1000 + k * 3);
                        ADD();
                }
        /* a multi-port worm: 60 hosts on 3 ports each */
        for (uint32_t i = 0; i < 60; i++)
                for (int p = 0; p < 3; p++) {
                        static const uint16_t ports[3] = {135, 139, 5985};
                        mksess(&s, ip_str("10.50.0.4"), ip4n(172, 44, i), ports[p],
                               T0 + 2 * W + 1000 + i * 3000 + p);
                        ADD();
                }
        qsort(st->v, st->n, sizeof(*st->v), cmp_time);
        /* local disorder: swap neighbours whose times differ by at most `disorder` */
        if (disorder > 0)
                for (size_t i = 1; i < st->n; i++)
                        if (RND() % 3 == 0 &&
                            st->v[i].first_packet_ms - st->v[i - 1].first_packet_ms <= disorder) {
                                fw_session_t tmp = st->v[i];
                                st->v[i] = st->v[i - 1];
                                st->v[i - 1] = tmp;
                        }
#undef RND
#undef ADD
}

static void run_stream(const fw_detect_cfg_t *c, const stream_t *st, size_t replay_upto, alog_t *l,
                       fw_engine_stats_t *out) {
        fw_engine_t *e = mk(c, l);

        for (size_t i = 0; i < st->n; i++) {
                l->seq = i;
                assert_true(fw_engine_feed(e, &st->v[i], i >= replay_upto) >= 0);
        }
        if (out != NULL)
                stats(e, out);
        fw_engine_free(e);
}

static int same_alert(const rec_t *a, const rec_t *b) {
        return a->a.kind == b->a.kind && strcmp(a->rule, b->rule) == 0 &&
               strcmp(a->a.id, b->a.id) == 0 && a->a.count == b->a.count &&
               a->a.escalation == b->a.escalation && a->a.threshold == b->a.threshold &&
               a->seq == b->seq;
}

static void test_replay_equivalence(void **state) {
        fw_detect_cfg_t c;
        stream_t st;
        alog_t la = {0}, lb = {0};
        fw_engine_stats_t sa, sb;

        (void)state;
        cfg_quiet(&c);
        c.fanout[FW_DET_SWEEP].failed_threshold = 10;
        c.spike.enabled = 1;
        spike_cfg(&c.spike, 20);
        add_rule(&c, "private_leak", STUDY_RULE, 5);
        make_stream(&st, 42, 2000);
        run_stream(&c, &st, 0, &la, &sa);
        size_t half = st.n / 2;
        run_stream(&c, &st, half, &lb, &sb);

        size_t first = 0, escalated_late = 0;
        while (first < la.n && la.v[first].seq < half)
                first++;
        assert_true(first >= 1);        /* alerts in the first half ... */
        assert_true(la.n - first >= 3); /* ... and in the second */
        assert_int_equal(lb.n, la.n - first);
        for (size_t i = 0; i < lb.n; i++) {
                assert_true(same_alert(&lb.v[i], &la.v[first + i]));
                escalated_late += lb.v[i].a.escalation > 0;
        }
        /* the second half's alerts depend on state rebuilt silently (escalations) */
        assert_true(escalated_late >= 1);
        assert_int_equal(sb.alerts_silent, first);
        assert_int_equal(sb.alerts, lb.n);
        assert_int_equal(sa.alerts, la.n);
        assert_int_equal(sa.alerts_silent, 0);
        for (int k = 0; k < FW_DET_NKINDS; k++)
                assert_int_equal(sa.alerts_by_kind[k], sb.alerts_by_kind[k]);
        assert_int_equal(sa.sessions, sb.sessions);
        assert_int_equal(sa.keys, sb.keys);
        assert_int_equal(sa.bytes, sb.bytes);
        free(st.v);
        fw_detect_cfg_release(&c);
        alog_free(&la);
        alog_free(&lb);
}

static void test_determinism(void **state) {
        fw_detect_cfg_t c;
        stream_t st;
        alog_t la = {0}, lb = {0};
        fw_engine_stats_t sa, sb;

        (void)state;
        fw_detect_cfg_defaults(&c);
        spike_cfg(&c.spike, 20);
        spike_cfg(&c.spike_total, 50);
        add_rule(&c, "private_leak", STUDY_RULE, 1);
        make_stream(&st, 7, 3000);
        run_stream(&c, &st, 0, &la, &sa);
        run_stream(&c, &st, 0, &lb, &sb);
        assert_true(la.n >= 5);
        assert_int_equal(la.n, lb.n);
        for (size_t i = 0; i < la.n; i++) {
                assert_true(same_alert(&la.v[i], &lb.v[i]));
                assert_memory_equal(&la.v[i].a, &lb.v[i].a, sizeof(fw_alert_t));
        }
        assert_int_equal(sa.bytes, sb.bytes);
        assert_int_equal(sa.keys, sb.keys);
        /* every fan-out alert is well formed */
        for (size_t i = 0; i < la.n; i++)
                if (la.v[i].a.kind <= FW_DET_PORTSCAN)
                        check_fanout_alert(&la.v[i], &c);
        free(st.v);
        fw_detect_cfg_release(&c);
        alog_free(&la);
        alog_free(&lb);
}

static void test_exact_baseline(void **state) {
        fw_detect_cfg_t c, cx;
        stream_t st;

        (void)state;
        for (uint64_t seed = 1; seed <= 4; seed++) {
                alog_t la = {0}, lb = {0};
                fw_engine_stats_t sa, sb;

                cfg_quiet(&c);
                c.fanout[FW_DET_SWEEP].failed_threshold = 10;
                cx = c;
                cx.exact_baseline = 1;
                make_stream(&st, seed, seed == 1 ? 0 : 5000);
                run_stream(&c, &st, 0, &la, &sa);
                run_stream(&cx, &st, 0, &lb, &sb);
                assert_true(la.n >= 4);
                assert_int_equal(la.n, lb.n);
                for (size_t i = 0; i < la.n; i++) {
                        assert_true(same_alert(&la.v[i], &lb.v[i]));
                        assert_int_equal(la.v[i].a.exact, 1);
                        assert_int_equal(lb.v[i].a.exact, 1);
                }
                assert_int_equal(sa.promoted, 0);
                free(st.v);
                alog_free(&la);
                alog_free(&lb);
        }

        /* sweep-heavy: 50 sources x 200 hosts on random ports; the exact baseline keeps a key per
         * source+destination and source+port, the compact engine a pairmap entry */
        alog_t la = {0}, lb = {0};
        fw_engine_t *a = mk(&c, &la), *b = mk(&cx, &lb);
        fw_session_t s;
        uint64_t r = 99;
        size_t max_a = 0, max_b = 0;
        for (uint32_t src = 0; src < 50; src++)
                for (uint32_t i = 0; i < 200; i++) {
                        r = fw_gen_mix(r);
                        mksess(&s, ip4n(10, 60, src), ip4n(172, 45, i + src * 7),
                               (uint16_t)(1024 + r % 30000), T0 + src * 200 + i);
                        assert_true(fw_engine_feed(a, &s, 1) >= 0);
                        assert_true(fw_engine_feed(b, &s, 1) >= 0);
                        fw_engine_stats_t x, y;
                        stats(a, &x);
                        stats(b, &y);
                        if (x.bytes > max_a)
                                max_a = x.bytes;
                        if (y.bytes > max_b)
                                max_b = y.bytes;
                }
        assert_int_equal(count_kind(&la, FW_DET_SWEEP), count_kind(&lb, FW_DET_SWEEP));
        assert_true(count_kind(&la, FW_DET_SWEEP) >= 50);
        assert_true(max_b > 3 * max_a);
        fw_engine_stats_t x, y;
        stats(a, &x);
        stats(b, &y);
        assert_true(y.keys > 10 * x.keys);
        fw_engine_free(a);
        fw_engine_free(b);
        alog_free(&la);
        alog_free(&lb);
}

/* ---------------------------------------------------------------------------------------------
 * Memory: cap, eviction, idle sources
 * ------------------------------------------------------------------------------------------- */

static void test_memory_cap(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};
        fw_engine_stats_t st;
        const size_t cap = 8 * MI;

        (void)state;
        fw_detect_cfg_defaults(&c);
        c.max_bytes = cap;
        fw_engine_t *e = mk(&c, &l);
        /* Slack: the cap is enforced after each session by evicting other sources (never the
         * session's own), so what may remain above it is that one source's growth in one
         * session: a source record, a distinct table doubling, a pairmap doubling (at most
         * 1024 x 24 B), a sub-key table rebuild, a sample array: well under 64 KiB (measured:
         * a few hundred bytes here). The source table itself is part of stats.bytes. */
        const size_t slack = 64 * 1024;
        size_t peak = 0;
        for (uint32_t i = 0; i < 200000; i++) {
                fw_session_t s;
                fw_ip_t src;
                uint8_t b[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
                assert_int_equal(fw_ip_from_bytes(b, 4, &src), 0);
                mksess(&s, src, ip4n(172, 50, i % 4), 443, T0 + i / 2);
                feed(e, &l, &s);
                stats(e, &st);
                if (st.bytes > peak)
                        peak = st.bytes;
                if (st.bytes > cap + slack)
                        fail_msg("session %u: %zu bytes over the cap %zu", i, st.bytes, cap);
        }
        assert_true(st.evicted > 0);
        assert_true(st.evicted_active > 0);
        assert_true(st.sources < 200000);
        assert_int_equal(st.sources + st.evicted, 200000);
        assert_true(peak > cap / 2); /* the cap, not the workload, bounded it */
        assert_int_equal(l.n, 0);

        /* a sweep afterwards is detected */
        fw_ip_t sw = ip_str("10.250.0.1");
        for (uint32_t i = 0; i < 30; i++) {
                feed_conn(e, &l, sw, ip4n(172, 51, i), 445, T0 + 100000 + i);
                stats(e, &st);
                assert_true(st.bytes <= cap + slack);
        }
        /* one alert for the attack: the sweep, carrying its port */
        assert_int_equal(count_kind(&l, FW_DET_SWEEP), 1);
        assert_int_equal(count_kind(&l, FW_DET_SWEEP_PORT), 0);
        assert_int_equal(l.v[l.n - 1].a.nby_port, 1);
        assert_int_equal(l.v[l.n - 1].a.by_port[0], 445);

        /* a smaller cap set at run time is enforced from the next session on */
        fw_engine_set_max_bytes(e, 2 * MI);
        for (uint32_t i = 0; i < 1000; i++)
                feed_conn(e, &l, ip4n(10, 251, i), ip_str("172.52.0.1"), 443, T0 + 100100 + i);
        stats(e, &st);
        assert_true(st.bytes <= 2 * MI + slack);
        fw_engine_free(e);
        alog_free(&l);
}

static void test_idle_sources(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};
        fw_engine_stats_t st0, st;

        (void)state;
        fw_detect_cfg_defaults(&c);
        c.count_policy = FW_COUNT_ALL; /* answered ports of a known host count here */
        fw_engine_t *e = mk(&c, &l);
        const int64_t last = T0 + 1000;
        /* 100 sources sweeping 30 hosts on 445 and 10 ports on one host, all at `last` */
        for (uint32_t h = 0; h < 100; h++) {
                for (uint32_t i = 0; i < 30; i++)
                        feed_conn(e, &l, ip4n(10, 70, h), ip4n(172, 53, i), 445, last);
                for (uint32_t i = 0; i < 10; i++)
                        feed_conn(e, &l, ip4n(10, 70, h), ip_str("172.54.0.1"), (uint16_t)(100 + i),
                                  last);
        }
        fw_ip_t ticker = ip_str("10.71.0.1"), tdst = ip_str("172.55.0.1");
        feed_conn(e, &l, ticker, tdst, 443, last);
        stats(e, &st0);
        assert_int_equal(st0.sources, 101);
        assert_true(st0.keys >= 101 + 200); /* each sweeper: source+port and source+dst keys */

        /* one ms before window + lateness of event time: nothing trimmed */
        const int64_t L = c.lateness_ms;
        for (int k = 0; k < 600; k++)
                feed_conn(e, &l, ticker, tdst, 443, last + W + L - 1);
        stats(e, &st);
        assert_int_equal(st.keys, st0.keys);
        assert_int_equal(st.sources, 101);
        /* at window + lateness: every sweeper's fan-out state is trimmed, the source stays */
        for (int k = 0; k < 600; k++)
                feed_conn(e, &l, ticker, tdst, 443, last + W + L);
        stats(e, &st);
        assert_int_equal(st.sources, 101);
        assert_int_equal(st.keys, 101);
        assert_int_equal(st.evicted, 0);
        assert_true(st.bytes < st0.bytes / 2);
        /* dropped after FW_IDLE_DROP_INTERVALS (60) spike intervals of silence, not before */
        const int64_t drop = 60 * c.spike.interval_ms;
        for (int k = 0; k < 600; k++)
                feed_conn(e, &l, ticker, tdst, 443, last + drop - 1);
        stats(e, &st);
        assert_int_equal(st.sources, 101);
        for (int k = 0; k < 600; k++)
                feed_conn(e, &l, ticker, tdst, 443, last + drop);
        stats(e, &st);
        assert_int_equal(st.sources, 1);
        assert_int_equal(st.keys, 1);
        assert_int_equal(st.evicted, 100);
        assert_int_equal(st.evicted_active, 0);
        /* a dropped source starts afresh and is detected again */
        for (uint32_t i = 0; i < 25; i++)
                feed_conn(e, &l, ip4n(10, 70, 5), ip4n(172, 56, i), (uint16_t)(3000 + i),
                          last + drop + 10 + i);
        assert_int_equal(l.n > 0 ? l.v[l.n - 1].a.count : 0, 25);
        assert_int_equal(l.v[l.n - 1].a.kind, FW_DET_SWEEP);
        fw_engine_free(e);
        alog_free(&l);
}

/* ---------------------------------------------------------------------------------------------
 * Attack grouping (the default): one alert per attack, updated in place, ended after quiet
 * ------------------------------------------------------------------------------------------- */

/* Defaults (attack grouping, failed or new connections counted) with the spikes off. */
static void cfg_attack(fw_detect_cfg_t *c) {
        cfg_quiet(c);
        c->grouping = FW_GROUP_ATTACK;
        c->count_policy = FW_COUNT_FAILED_OR_NEW;
}

/* Feed an unanswered SYN probe live. */
static int feed_syn(fw_engine_t *e, alog_t *l, fw_ip_t src, fw_ip_t dst, uint16_t dport,
                    int64_t t) {
        fw_session_t s;

        mksyn(&s, src, dst, dport, t);
        return feed(e, l, &s);
}

/* Distinct alert ids in the log. */
static size_t count_ids(const alog_t *l) {
        size_t n = 0;

        for (size_t i = 0; i < l->n; i++) {
                size_t j = 0;
                while (j < i && strcmp(l->v[j].a.id, l->v[i].a.id) != 0)
                        j++;
                n += j == i;
        }
        return n;
}

/* The case: one 256-address sweep of three ports. Window grouping raised 7 ids (the
 * sweep, a key per port, each again in the next window); attack grouping raises one alert,
 * carrying the three ports, and reports its final size once the source has been quiet. */
static void test_attack_one_sweep_one_alert(void **state) {
        static const uint16_t ports[3] = {445, 139, 3389};
        (void)state;
        for (int grouping = 0; grouping < 2; grouping++) {
                fw_detect_cfg_t c;
                alog_t l = {0};
                cfg_attack(&c);
                c.grouping = grouping;
                fw_engine_t *e = mk(&c, &l);
                fw_ip_t src = ip_str("10.90.0.1");
                /* 256 hosts x 3 ports, 1 s apart: 12.8 min, across three epoch edges */
                for (uint32_t i = 0; i < 256 * 3; i++)
                        feed_syn(e, &l, src, ip4n(172, 70, i / 3), ports[i % 3],
                                 T0 + 200000 + (int64_t)i * 1000);
                /* another source's traffic moves event time past the quiet period */
                int64_t end = T0 + 200000 + 256 * 3 * 1000;
                for (int k = 0; k < 4000; k++)
                        feed_conn(e, &l, ip_str("10.91.0.1"), ip_str("172.71.0.1"), 443,
                                  end + c.window_ms + c.lateness_ms + k);
                if (grouping == FW_GROUP_WINDOW) {
                        assert_true(count_ids(&l) >= 7);
                        assert_true(count_kind(&l, FW_DET_SWEEP_PORT) >= 3);
                } else {
                        assert_int_equal(count_ids(&l), 1);
                        assert_int_equal(count_kind(&l, FW_DET_SWEEP_PORT), 0);
                        assert_true(l.n >= 2 && l.n <= 5); /* first, <= 1 per 5 min, final */
                        const fw_alert_t *first = &l.v[0].a, *last = &l.v[l.n - 1].a;
                        assert_int_equal(first->count, 25);
                        assert_int_equal(first->final, 0);
                        assert_int_equal(first->escalation, 0);
                        assert_int_equal(last->final, 1);
                        assert_int_equal(last->escalation, l.n - 1);
                        assert_true(last->count > first->count);
                        assert_int_equal(last->epoch_start_ms, first->epoch_start_ms);
                        assert_int_equal(last->nby_port, 3);
                        for (uint32_t j = 0; j < 3; j++)
                                assert_true(last->by_port_hosts[j] + 2 >= last->count);
                        /* updates at least update_interval apart in event time */
                        for (size_t i = 1; i + 1 < l.n; i++)
                                assert_true(l.v[i].a.window_end_ms - l.v[i - 1].a.window_end_ms >=
                                            c.update_ms);
                        /* one port reached the sweep_port threshold: its severity and port */
                        assert_int_equal(first->severity, c.fanout[FW_DET_SWEEP_PORT].severity);
                }
                fw_engine_free(e);
                fw_detect_cfg_release(&c);
                alog_free(&l);
        }
}

/* Quiet for alert.quiet ends an attack; activity after it is a new alert (a new id). Activity
 * with shorter pauses continues the same alert, across windows. */
static void test_attack_quiet_period(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};
        (void)state;
        cfg_attack(&c);
        fw_engine_t *e = mk(&c, &l);
        fw_ip_t src = ip_str("10.92.0.1");
        int64_t t = T0 + 1000;
        /* a port scan of 30 ports, a pause of quiet - 1 s, 30 more ports: one attack */
        for (uint32_t i = 0; i < 30; i++)
                feed_syn(e, &l, src, ip_str("172.72.0.1"), (uint16_t)(1000 + i), t + i * 100);
        t += 3000 + c.quiet_ms - 1000;
        for (uint32_t i = 0; i < 40; i++) /* an update at 30, then growth held back */
                feed_syn(e, &l, src, ip_str("172.72.0.1"), (uint16_t)(2000 + i), t + i * 100);
        assert_int_equal(count_ids(&l), 1);
        /* a pause of the whole quiet period: a new attack, a new id */
        t += 4000 + c.quiet_ms;
        size_t before = l.n;
        for (uint32_t i = 0; i < 30; i++)
                feed_syn(e, &l, src, ip_str("172.72.0.1"), (uint16_t)(3000 + i), t + i * 100);
        assert_int_equal(count_ids(&l), 2);
        assert_true(l.n > before);
        /* the first attack's final update came with the next sighting, while it was fed */
        assert_int_equal(l.v[before].a.final, 1);
        assert_int_equal(l.v[before].fed, 1);
        assert_string_not_equal(l.v[l.n - 1].a.id, l.v[0].a.id);
        assert_int_equal(l.v[l.n - 1].a.escalation, 0);
        fw_engine_free(e);
        fw_detect_cfg_release(&c);
        alog_free(&l);
}

/* The end of an attack reports growth held back by update_interval, exactly once; an attack
 * that did not grow after its last document ends silently. fw_engine_flush ends them all. */
static void test_attack_final_update_and_flush(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};
        (void)state;
        cfg_attack(&c);
        fw_engine_t *e = mk(&c, &l);
        /* grows from 15 to 100 ports within a minute: the first alert, then held */
        for (uint32_t i = 0; i < 100; i++)
                feed_syn(e, &l, ip_str("10.93.0.1"), ip_str("172.73.0.1"), (uint16_t)(1 + i),
                         T0 + 1000 + i * 500);
        /* exactly at its threshold, no growth after */
        for (uint32_t i = 0; i < 15; i++)
                feed_syn(e, &l, ip_str("10.93.0.2"), ip_str("172.73.0.2"), (uint16_t)(1 + i),
                         T0 + 1000 + i * 500);
        assert_int_equal(l.n, 2);
        assert_int_equal(l.v[0].a.count, 15);
        assert_int_equal(fw_engine_flush(e, 1), 1);
        assert_int_equal(l.n, 3);
        assert_int_equal(l.v[2].a.final, 1);
        assert_int_equal(l.v[2].fed, 0); /* a flush feeds no session */
        assert_int_equal(l.v[2].a.count, 100);
        assert_string_equal(l.v[2].a.id, l.v[0].a.id);
        assert_int_equal(l.v[2].a.nports, c.sample_max);
        /* ended: a second flush raises nothing */
        assert_int_equal(fw_engine_flush(e, 1), 0);
        /* a failing callback leaves the attack open; the next flush reports it */
        for (uint32_t i = 0; i < 40; i++)
                feed_syn(e, &l, ip_str("10.93.0.3"), ip_str("172.73.0.3"), (uint16_t)(1 + i),
                         T0 + 2000 + i * 100);
        size_t n = l.n;
        l.fail_calls = 1;
        assert_int_equal(fw_engine_flush(e, 1), -1);
        assert_int_equal(l.n, n);
        assert_int_equal(fw_engine_flush(e, 1), 1);
        assert_int_equal(l.v[l.n - 1].a.count, 40);
        fw_engine_free(e);
        fw_detect_cfg_release(&c);
        alog_free(&l);
}

/* An expression rule: a source leaking one packet a minute for half an hour is one alert
 * (window grouping: one per 5-minute epoch, 6). */
static void test_attack_rule(void **state) {
        (void)state;
        for (int grouping = 0; grouping < 2; grouping++) {
                fw_detect_cfg_t c;
                alog_t l = {0};
                cfg_attack(&c);
                c.grouping = grouping;
                add_rule(&c, "private_leak", STUDY_RULE, 1);
                fw_engine_t *e = mk(&c, &l);
                for (int m = 0; m < 30; m++) {
                        fw_session_t s;
                        one_packet(&s, "192.168.1.10", "172.16.0.5", T0 + m * 60000);
                        feed(e, &l, &s);
                }
                fw_engine_flush(e, 1);
                if (grouping == FW_GROUP_WINDOW) {
                        assert_int_equal(count_ids(&l), 6);
                } else {
                        assert_int_equal(count_ids(&l), 1);
                        assert_true(l.n <= 1 + 30 / 5 + 1);
                        assert_int_equal(l.v[l.n - 1].a.final, 1);
                        assert_int_equal(l.v[l.n - 1].a.count, 30);
                        assert_int_equal(l.v[l.n - 1].a.first_seen_ms, T0);
                }
                fw_engine_free(e);
                fw_detect_cfg_release(&c);
                alog_free(&l);
        }
}

/* Replay rebuilds attack state: after a silent replay of the first half, the live second half
 * raises exactly what one live run raises from that point (same ids, nothing re-sent). */
static void test_attack_replay(void **state) {
        fw_detect_cfg_t c;
        (void)state;
        cfg_attack(&c);
        enum { N = 4000 };
        fw_session_t *ss = calloc(N, sizeof(*ss));
        assert_non_null(ss);
        for (uint32_t i = 0; i < N; i++) {
                uint32_t src = i % 7, r = (uint32_t)fw_gen_mix(i);
                mksess(&ss[i], ip4n(10, 94, src), ip4n(172, 74, src == 0 ? i : r % 40),
                       (uint16_t)(src == 1 ? 1 + i % 300 : 445), T0 + (int64_t)i * 400);
        }
        alog_t all = {0}, half = {0};
        fw_engine_t *e1 = mk(&c, &all), *e2 = mk(&c, &half);
        size_t at = 0;
        for (uint32_t i = 0; i < N; i++) {
                if (i == N / 2)
                        at = all.n;
                feed(e1, &all, &ss[i]);
                if (i < N / 2)
                        assert_true(fw_engine_feed(e2, &ss[i], 0) >= 0);
                else
                        feed(e2, &half, &ss[i]);
        }
        assert_int_equal(half.n, all.n - at);
        for (size_t i = 0; i < half.n; i++) {
                assert_string_equal(half.v[i].a.id, all.v[at + i].a.id);
                assert_int_equal(half.v[i].a.count, all.v[at + i].a.count);
        }
        assert_true(all.n > 0);
        fw_engine_free(e1);
        fw_engine_free(e2);
        fw_detect_cfg_release(&c);
        alog_free(&all);
        alog_free(&half);
        free(ss);
}

/* detect.count = failed_or_new (the default): a host polling the same 30, 100 or 500 hosts
 * every 3 minutes with answered connections raises nothing once it has history (the detector
 * rebuilds it from its rewind); the same host reaching 30 new hosts on 445, answered, raises an
 * address sweep; unanswered probes of hosts it knows count too (Zeek's failed connections). */
static void test_count_failed_or_new(void **state) {
        static const uint32_t sizes[3] = {30, 100, 500};
        (void)state;
        for (int k = 0; k < 3; k++) {
                fw_detect_cfg_t c;
                alog_t l = {0};
                cfg_attack(&c);
                fw_engine_t *e = mk(&c, &l);
                fw_ip_t poller = ip4n(10, 95, (uint32_t)k);
                int64_t t = T0;
                for (int round = 0; round < 20; round++, t += 180000) {
                        for (uint32_t i = 0; i < sizes[k]; i++) {
                                fw_session_t s;
                                mksess(&s, poller, ip4n(172, 80, i), 443, t + i * 100);
                                /* the rewind a detector replays first (2 x window +
                                 * lateness): a destination is new for a window after its first
                                 * contact, so the first two rounds count there */
                                if (round < 2)
                                        assert_true(fw_engine_feed(e, &s, FW_FEED_WARMUP) >= 0);
                                else
                                        feed(e, &l, &s);
                        }
                }
                assert_int_equal(l.n, 0);
                /* unanswered probes of 30 hosts it knows (the first 30 polled), on 22: they
                 * count, as Zeek counts failed connections */
                for (uint32_t i = 0; i < 30; i++)
                        feed_syn(e, &l, poller, ip4n(172, 80, i), 22, t + i * 100);
                assert_int_equal(count_ids(&l), 1);
                assert_int_equal(l.v[0].a.kind, FW_DET_SWEEP);
                assert_int_equal(l.v[0].a.by_port[0], 22);
                /* after the quiet period, lateral movement: 30 new hosts on 445, every
                 * connection answered: a new alert */
                t += c.quiet_ms + 60000;
                for (uint32_t i = 0; i < 30; i++)
                        feed_conn(e, &l, poller, ip4n(172, 81, i), 445, t + i * 1000);
                assert_int_equal(count_ids(&l), 2);
                const fw_alert_t *lat = &l.v[l.n - 1].a;
                assert_int_equal(lat->kind, FW_DET_SWEEP);
                assert_int_equal(lat->final, 0);
                assert_int_equal(lat->nby_port, 1);
                assert_int_equal(lat->by_port[0], 445);
                fw_engine_free(e);
                fw_detect_cfg_release(&c);
                alog_free(&l);
        }
        /* detect.count = all: the same polling alerts */
        fw_detect_cfg_t c;
        alog_t l = {0};
        cfg_attack(&c);
        c.count_policy = FW_COUNT_ALL;
        fw_engine_t *e = mk(&c, &l);
        for (int round = 0; round < 3; round++)
                for (uint32_t i = 0; i < 30; i++)
                        feed_conn(e, &l, ip_str("10.97.0.1"), ip4n(172, 80, i), 443,
                                  T0 + round * 180000 + i * 100);
        assert_int_equal(count_ids(&l), 1);
        fw_engine_free(e);
        fw_detect_cfg_release(&c);
        alog_free(&l);
}

/* A session spike that lasts: a source at 5 sessions a minute jumps to 100 a minute for 8
 * minutes. Window grouping raises a new id every interval the baseline still flags; attack
 * grouping one id (the first interval's), updated at most every alert.update_interval. */
static void test_attack_spike(void **state) {
        (void)state;
        size_t ids[2] = {0, 0}, docs[2] = {0, 0};
        for (int grouping = 0; grouping < 2; grouping++) {
                fw_detect_cfg_t c;
                alog_t l = {0};
                cfg_attack(&c);
                c.grouping = grouping;
                for (int i = 0; i < 3; i++)
                        c.fanout[i].enabled = 0;
                spike_cfg(&c.spike, 20);
                fw_engine_t *e = mk(&c, &l);
                fw_ip_t src = ip_str("10.98.0.1");
                for (int64_t iv = 0; iv < 18; iv++) {
                        int n = iv >= 10 ? 100 : 5;
                        for (int k = 0; k < n; k++)
                                feed_conn(e, &l, src, ip_str("172.98.0.1"), 443,
                                          T0 + iv * 60000 + k * 500);
                }
                ids[grouping] = count_ids(&l);
                docs[grouping] = l.n;
                for (size_t i = 0; i < l.n; i++) {
                        assert_int_equal(l.v[i].a.kind, FW_DET_SPIKE);
                        if (grouping == FW_GROUP_ATTACK) {
                                assert_int_equal(l.v[i].a.epoch_start_ms, T0 + 10 * 60000);
                                assert_int_equal(l.v[i].a.escalation, i);
                        }
                }
                fw_engine_free(e);
                fw_detect_cfg_release(&c);
                alog_free(&l);
        }
        assert_true(ids[FW_GROUP_WINDOW] >= 3);
        assert_int_equal(ids[FW_GROUP_ATTACK], 1);
        assert_true(docs[FW_GROUP_ATTACK] >= 2 && docs[FW_GROUP_ATTACK] <= 3);
}

/* Sessions older than window + lateness behind the newest (capture flushing half-open probes
 * at the end of a pcap, a stuck sensor, a producer's duplicates after a restart) still raise an
 * attack, named by its own epoch (the id replay gives it: duplicates stay idempotent) and
 * flagged late, since the attack they belong to may have ended already. */
static void test_attack_too_late(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};
        (void)state;
        cfg_attack(&c);
        fw_engine_t *e = mk(&c, &l);
        fw_ip_t src = ip_str("10.99.0.1"), dst = ip_str("172.99.0.1");
        for (uint32_t i = 0; i < 40; i++)
                feed_syn(e, &l, src, dst, (uint16_t)(1 + i), T0 + 1000 + i * 100);
        assert_int_equal(count_ids(&l), 1);
        /* other traffic moves event time on: the scan's state is dropped, its attack ended */
        int64_t later = T0 + c.window_ms + c.lateness_ms + 120000;
        for (int k = 0; k < 20000; k++)
                feed_conn(e, &l, ip4n(10, 97, 1 + (uint32_t)k % 200), ip_str("172.99.9.9"), 443,
                          later + k);
        size_t n = l.n;
        assert_int_equal(l.v[n - 1].a.final, 1); /* the scan's attack ended */
        assert_int_equal(l.v[n - 1].a.late, 0);
        /* 60 more probes of the same scan, written late */
        for (uint32_t i = 0; i < 60; i++)
                feed_syn(e, &l, src, dst, (uint16_t)(100 + i), T0 + 6000 + i * 100);
        assert_true(l.n > n);
        assert_int_equal(count_ids(&l), 1);
        assert_string_equal(l.v[n].a.id, l.v[0].a.id);
        assert_int_equal(l.v[n].a.late, 1);
        assert_int_equal(l.v[n].a.escalation, 0);
        assert_int_equal(l.v[n].a.epoch_start_ms, l.v[0].a.epoch_start_ms);
        fw_engine_stats_t st;
        stats(e, &st);
        assert_true(st.too_late >= 60);
        fw_engine_free(e);
        fw_detect_cfg_release(&c);
        alog_free(&l);
}

/* ---------------------------------------------------------------------------------------------
 * Alert fields, callback failure
 * ------------------------------------------------------------------------------------------- */

static void test_alert_samples(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};
        fw_ip_t src = ip_str("10.80.0.1");

        (void)state;
        cfg_quiet(&c);
        c.sample_max = 5;
        fw_engine_t *e = mk(&c, &l);
        /* a sweep on 445 with every host hit 3 times: sweep and sweep_port alerts */
        for (uint32_t i = 0; i < 25; i++)
                for (int k = 0; k < 3; k++)
                        feed_conn(e, &l, src, ip4n(172, 60, i), 445, T0 + i * 10 + k);
        assert_int_equal(l.n, 2);
        for (size_t i = 0; i < l.n; i++) {
                const fw_alert_t *a = &l.v[i].a;
                check_fanout_alert(&l.v[i], &c);
                assert_int_equal(a->ntargets, 5);
                assert_int_equal(a->exact, 1);
                assert_int_equal(a->count, 25);
                /* 25 hosts x 3, the trigger is the 1st session of the 25th host; sweep_port
                 * held its first host aside in the pairmap and counts it once */
                if (a->kind == FW_DET_SWEEP)
                        assert_int_equal(a->sessions, 73);
                else
                        assert_int_equal(a->sessions, 71);
                for (uint32_t j = 0; j < a->ntargets; j++) {
                        assert_int_equal(a->targets[j].family, 4);
                        assert_int_equal(a->targets[j].addr[0], 172);
                        assert_int_equal(a->targets[j].addr[1], 60);
                        assert_true(a->targets[j].addr[3] < 25);
                }
        }
        assert_int_equal(l.v[0].a.kind, FW_DET_SWEEP);
        assert_int_equal(l.v[1].a.kind, FW_DET_SWEEP_PORT);
        assert_int_equal(l.v[0].trigger_dport, 445);
        /* a port scan: sampled ports, no hosts */
        for (uint32_t i = 0; i < 15; i++)
                for (int k = 0; k < 2; k++)
                        feed_conn(e, &l, src, ip_str("172.61.0.1"), (uint16_t)(7000 + i),
                                  T0 + 1000 + i * 10 + k);
        assert_int_equal(l.n, 3);
        const fw_alert_t *p = &l.v[2].a;
        assert_int_equal(p->kind, FW_DET_PORTSCAN);
        check_fanout_alert(&l.v[2], &c);
        assert_int_equal(p->nports, 5);
        for (uint32_t j = 0; j < p->nports; j++)
                assert_true(p->ports[j] >= 7000 && p->ports[j] < 7015);
        /* a large sample: all of it distinct, at most sample_max */
        alog_free(&l);
        fw_engine_free(e);
        memset(&l, 0, sizeof(l));
        c.sample_max = FW_ALERT_SAMPLE_MAX;
        c.fanout[FW_DET_SWEEP].threshold = 100;
        e = mk(&c, &l);
        for (uint32_t i = 0; i < 100; i++)
                feed_conn(e, &l, src, ip4n(172, 62, i), (uint16_t)(1 + i), T0 + i);
        assert_int_equal(count_kind(&l, FW_DET_SWEEP), 1);
        assert_int_equal(l.v[0].a.ntargets, FW_ALERT_SAMPLE_MAX);
        check_fanout_alert(&l.v[0], &c);
        fw_engine_free(e);
        alog_free(&l);
}

/* A failed callback makes feed return -1; feeding the session again delivers the alert. */
static void test_callback_failure(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};
        fw_session_t s;
        fw_ip_t src = ip_str("10.90.0.1");

        (void)state;
        cfg_only(&c, FW_DET_SWEEP);
        add_rule(&c, "private_leak", STUDY_RULE, 1);
        fw_engine_t *e = mk(&c, &l);
        for (uint32_t i = 0; i < 24; i++)
                feed_conn(e, &l, src, ip4n(172, 70, i), 80, T0 + i);
        mksess(&s, src, ip4n(172, 70, 24), 80, T0 + 24);
        l.fail_calls = 1;
        assert_int_equal(fw_engine_feed(e, &s, 1), -1);
        assert_int_equal(l.n, 0);
        assert_int_equal(fw_engine_feed(e, &s, 1), 1);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.v[0].a.count, 25);
        assert_int_equal(l.v[0].a.escalation, 0);
        fw_engine_stats_t st;
        stats(e, &st);
        assert_int_equal(st.alerts, 1);
        assert_int_equal(st.alerts_by_kind[FW_DET_SWEEP], 1);

        /* the same for a rule: the retried session counts once */
        one_packet(&s, "10.91.0.1", "192.168.1.1", T0 + 100);
        l.fail_calls = 1;
        assert_int_equal(fw_engine_feed(e, &s, 1), -1);
        assert_int_equal(fw_engine_feed(e, &s, 1), 1);
        assert_int_equal(l.n, 2);
        assert_int_equal(l.v[1].a.count, 1);
        assert_int_equal(l.v[1].a.escalation, 0);
        one_packet(&s, "10.91.0.1", "192.168.1.1", T0 + 101);
        assert_int_equal(fw_engine_feed(e, &s, 1), 1);
        assert_int_equal(l.v[2].a.count, 2);
        assert_int_equal(l.v[2].a.escalation, 1);

        /* replay never calls the callback */
        size_t calls = l.calls;
        for (uint32_t i = 0; i < 100; i++) {
                mksess(&s, ip_str("10.92.0.1"), ip4n(172, 71, i), 80, T0 + 200 + i);
                assert_true(fw_engine_feed(e, &s, 0) >= 0);
        }
        assert_int_equal(l.calls, calls);
        stats(e, &st);
        assert_int_equal(st.alerts_silent, 3); /* 25, 50, 100 */
        fw_engine_free(e);
        fw_detect_cfg_release(&c);
        alog_free(&l);
}

/* IPv6 sources and destinations are keys like any other. */
static void test_ipv6(void **state) {
        fw_detect_cfg_t c;
        alog_t l = {0};

        (void)state;
        cfg_quiet(&c);
        fw_engine_t *e = mk(&c, &l);
        fw_ip_t src = ip_str("2001:db8::1");
        for (uint32_t i = 0; i < 25; i++) {
                char buf[64];
                snprintf(buf, sizeof(buf), "2001:db8:1::%x", i + 1);
                feed_conn(e, &l, src, ip_str(buf), 22, T0 + i);
        }
        assert_int_equal(count_kind(&l, FW_DET_SWEEP), 1);
        assert_int_equal(count_kind(&l, FW_DET_SWEEP_PORT), 1);
        assert_int_equal(l.v[0].a.src.family, 6);
        assert_true(fw_ip_equal(&l.v[0].a.src, &src));
        /* an IPv4 source with the same leading bytes is another key */
        fw_ip_t v4 = ip_str("32.1.13.184");
        for (uint32_t i = 0; i < 24; i++)
                feed_conn(e, &l, v4, ip4n(172, 72, i), (uint16_t)(100 + i), T0 + 100 + i);
        assert_int_equal(l.n, 2);
        fw_engine_free(e);
        alog_free(&l);
}

/* A port scan of 40 ports from T0 + 200 s to T0 + 395 s, 5 s apart, fed newest first (all
 * within detect.lateness): its 15th port, in time order, is reached at T0 + 270 s, in epoch 0. */
static void feed_scan_reversed(fw_engine_t *e, alog_t *l, int64_t step) {
        for (int i = 39; i >= 0; i--)
                feed_syn(e, l, ip_str("10.95.0.1"), ip_str("172.75.0.1"), (uint16_t)(100 + i),
                         T0 + 200000 + i * step);
}

/* alert.settle: newest first, the first crossing seen is in epoch 1 and names the attack at once;
 * held for settle, the first document waits until event time passes the earliest crossing by
 * settle, then goes with the id time order gives, the whole scan counted, raised while the
 * session moving event time is fed. A failing callback keeps it held; a flush sends it. */
static void test_attack_settle(void **state) {
        (void)state;
        fw_detect_cfg_t c;
        cfg_attack(&c);
        char in_order[33];
        {
                alog_t l = {0};
                fw_engine_t *e = mk(&c, &l);
                for (int i = 0; i < 40; i++)
                        feed_syn(e, &l, ip_str("10.95.0.1"), ip_str("172.75.0.1"),
                                 (uint16_t)(100 + i), T0 + 200000 + i * 5000);
                assert_true(l.n >= 1);
                assert_int_equal(l.v[0].a.epoch_start_ms, T0);
                memcpy(in_order, l.v[0].a.id, sizeof(in_order));
                fw_engine_free(e);
                alog_free(&l);
        }
        {
                alog_t l = {0};
                fw_engine_t *e = mk(&c, &l);
                feed_scan_reversed(e, &l, 5000);
                assert_true(l.n >= 1);
                assert_int_equal(l.v[0].a.epoch_start_ms, T0 + W); /* the first crossing seen */
                assert_string_not_equal(l.v[0].a.id, in_order);
                fw_engine_free(e);
                alog_free(&l);
        }
        c.settle_ms = c.lateness_ms;
        alog_t l = {0};
        fw_engine_t *e = mk(&c, &l);
        feed_scan_reversed(e, &l, 5000);
        assert_int_equal(l.n, 0);
        /* due at T0 + 270 s + settle: not a millisecond before */
        int64_t due = T0 + 270000 + c.settle_ms;
        feed_conn(e, &l, ip_str("10.96.0.1"), ip_str("172.76.0.1"), 443, due - 1);
        assert_int_equal(l.n, 0);
        l.fail_calls = 1;
        fw_session_t s;
        mksess(&s, ip_str("10.96.0.1"), ip_str("172.76.0.1"), 443, due);
        assert_int_equal(fw_engine_feed(e, &s, 1), -1); /* the callback failed: still held */
        assert_int_equal(l.n, 0);
        assert_int_equal(feed(e, &l, &s), 1); /* fed again */
        assert_int_equal(l.n, 1);
        const fw_alert_t *a = &l.v[0].a;
        assert_string_equal(a->id, in_order);
        assert_int_equal(a->epoch_start_ms, T0);
        assert_int_equal(a->settled, 1);
        assert_int_equal(a->final, 0);
        assert_int_equal(a->escalation, 0);
        assert_int_equal(a->count, 40);
        assert_int_equal(l.v[0].fed, 1);
        /* nothing more until it ends; the end reports no growth */
        assert_int_equal(fw_engine_flush(e, 1), 0);
        assert_int_equal(l.n, 1);
        fw_engine_free(e);
        alog_free(&l);

        /* held when the stream ends: a flush sends it, first and last document at once */
        e = mk(&c, &l);
        feed_scan_reversed(e, &l, 5000);
        assert_int_equal(l.n, 0);
        assert_int_equal(fw_engine_flush(e, 1), 1);
        assert_int_equal(l.n, 1);
        assert_string_equal(l.v[0].a.id, in_order);
        assert_int_equal(l.v[0].a.final, 1);
        assert_int_equal(l.v[0].fed, 0);
        fw_engine_free(e);
        alog_free(&l);

        /* replayed (a new owner rebuilding state): held and released as live, reported nothing */
        e = mk(&c, &l);
        for (int i = 39; i >= 0; i--) {
                mksyn(&s, ip_str("10.95.0.1"), ip_str("172.75.0.1"), (uint16_t)(100 + i),
                      T0 + 200000 + i * 5000);
                assert_true(fw_engine_feed(e, &s, FW_FEED_REPLAY) >= 0);
        }
        mksess(&s, ip_str("10.96.0.1"), ip_str("172.76.0.1"), 443, due);
        assert_int_equal(fw_engine_feed(e, &s, FW_FEED_REPLAY), 1);
        assert_int_equal(l.n, 0);
        assert_int_equal(fw_engine_flush(e, 1), 0); /* sent already (by the owner before) */
        fw_engine_free(e);
        alog_free(&l);

        /* a setting longer than detect.lateness is refused */
        c.settle_ms = c.lateness_ms + 1;
        char err[256] = "";
        assert_null(fw_engine_new(&c, on_alert, &l, err, sizeof(err)));
        assert_non_null(strstr(err, "alert.settle"));
        fw_detect_cfg_release(&c);
}

/* alert.settle for an expression rule: matches fed newest first within the lateness are named
 * by the epoch of the earliest one, as in time order. */
static void test_attack_settle_rule(void **state) {
        (void)state;
        char ids[2][33];
        for (int settle = 0; settle < 2; settle++) {
                fw_detect_cfg_t c;
                alog_t l = {0};
                cfg_attack(&c);
                c.settle_ms = settle ? c.lateness_ms : 0;
                add_rule(&c, "private_leak", STUDY_RULE, 1);
                fw_engine_t *e = mk(&c, &l);
                fw_session_t s;
                for (int m = 9; m >= 0; m--) {
                        one_packet(&s, "192.168.1.10", "172.16.0.5", T0 + m * 60000);
                        feed(e, &l, &s);
                }
                assert_int_equal(l.n, settle ? 0 : 1);
                fw_engine_flush(e, 1);
                assert_true(l.n >= 1);
                assert_int_equal(l.v[0].a.epoch_start_ms, settle ? T0 : T0 + W);
                assert_int_equal(l.v[0].a.count, settle ? 10 : 1);
                memcpy(ids[settle], l.v[0].a.id, 33);
                if (settle) {
                        assert_int_equal(l.n, 1);
                        assert_int_equal(l.v[0].a.ntargets, 1);
                        assert_int_equal(l.v[0].a.first_seen_ms, T0);
                }
                fw_engine_free(e);
                fw_detect_cfg_release(&c);
                alog_free(&l);
        }
        assert_string_not_equal(ids[0], ids[1]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults_and_names),
                cmocka_unit_test(test_sweep_threshold),
                cmocka_unit_test(test_sweep_duplicates),
                cmocka_unit_test(test_sweep_allowlists),
                cmocka_unit_test(test_sweep_port),
                cmocka_unit_test(test_portscan),
                cmocka_unit_test(test_late_session_pairs_with_first_sighting),
                cmocka_unit_test(test_window_boundary),
                cmocka_unit_test(test_expiry_and_order),
                cmocka_unit_test(test_epoch_escalation),
                cmocka_unit_test(test_failed_connections),
                cmocka_unit_test(test_spike_source),
                cmocka_unit_test(test_spike_total),
                cmocka_unit_test(test_rules),
                cmocka_unit_test(test_rule_window_out_of_order),
                cmocka_unit_test(test_replay_equivalence),
                cmocka_unit_test(test_determinism),
                cmocka_unit_test(test_exact_baseline),
                cmocka_unit_test(test_memory_cap),
                cmocka_unit_test(test_idle_sources),
                cmocka_unit_test(test_alert_samples),
                cmocka_unit_test(test_callback_failure),
                cmocka_unit_test(test_ipv6),
                cmocka_unit_test(test_attack_one_sweep_one_alert),
                cmocka_unit_test(test_attack_quiet_period),
                cmocka_unit_test(test_attack_final_update_and_flush),
                cmocka_unit_test(test_attack_rule),
                cmocka_unit_test(test_attack_replay),
                cmocka_unit_test(test_count_failed_or_new),
                cmocka_unit_test(test_attack_spike),
                cmocka_unit_test(test_attack_too_late),
                cmocka_unit_test(test_attack_settle),
                cmocka_unit_test(test_attack_settle_rule),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
