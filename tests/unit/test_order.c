/* Property test of detector/engine.c (issue 13): the same sessions fed in time order, reversed
 * (newest first within each span of detect.lateness), shuffled within the lateness, and in
 * Arkime's write order (a session is written when it ends; an unanswered SYN when it times out,
 * tcpTimeout 8 min) give the same detections: the same (rule, key) alerts, each with the same
 * final count (within the sketch's error above detect.exact_max), at the engine's defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "expr.h"
#include "session_gen.h"

#define T0       1716000000000LL
#define SEC      1000LL
#define MIN      60000LL
#define TCP_TOUT (8 * MIN) /* Arkime's tcpTimeout: when an unanswered SYN is written */

/* ---- the scenarios: one stream of sessions with their Arkime write times ---- */

typedef struct ev {
        fw_session_t s;
        int64_t written; /* when Arkime writes it */
        int64_t arr;     /* arrival key of the order being fed */
        uint32_t seq;    /* tie-breaker: position in time order */
} ev_t;

typedef struct stream {
        ev_t *v;
        size_t n, cap;
} stream_t;

static fw_ip_t ip4(uint32_t a) {
        char buf[32];
        fw_ip_t ip;

        snprintf(buf, sizeof(buf), "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
                 a & 255);
        assert_int_equal(fw_ip_parse(buf, &ip), 0);
        return ip;
}

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((c) << 8) | (d))

/* A TCP session: answered (SYN-ACK, data both ways, lasting dur) or an unanswered SYN. */
static void push(stream_t *st, uint32_t src, uint32_t dst, uint16_t dport, int64_t t, int answered,
                 int64_t dur) {
        if (st->n == st->cap) {
                st->cap = st->cap ? st->cap * 2 : 4096;
                st->v = realloc(st->v, st->cap * sizeof(*st->v));
                assert_non_null(st->v);
        }
        ev_t *e = &st->v[st->n++];
        fw_session_t *s = &e->s;
        fw_session_init(s);
        snprintf(s->node, sizeof(s->node), "sensor01");
        snprintf(s->id, sizeof(s->id), "240518-%zu", st->n);
        s->first_packet_ms = t;
        s->src_ip = ip4(src);
        s->dst_ip = ip4(dst);
        s->src_port = (uint16_t)(30000 + st->n % 30000);
        s->dst_port = dport;
        fw_gen_tcp(s, answered, 6, 5, 900, 4000, 300, 3500);
        s->last_packet_ms = answered ? t + dur : t;
        e->written = answered ? t + dur + 10 * SEC : t + TCP_TOUT;
}

/* A lab network over 40 minutes: three scans (a 1,000-port scan of one host over 10 min, a
 * 256-address sweep of three ports over 13 min, a slow sweep of 60 hosts at one probe per
 * 10 s), answered lateral movement to 40 new hosts on 445, a sweep half answered, ordinary
 * workstations and a monitoring host polling 60 servers every 3 minutes. */
static void lab(stream_t *st, uint64_t seed) {
        static const uint16_t sweep_ports[3] = {445, 139, 3389};
        uint64_t r = seed;
        for (uint32_t i = 0; i < 1000; i++)
                push(st, IP(10, 1, 0, 1), IP(10, 2, 0, 9), (uint16_t)(1 + i),
                     T0 + 5 * MIN + i * 600, 0, 0);
        for (uint32_t i = 0; i < 768; i++)
                push(st, IP(10, 1, 0, 2), IP(10, 3, i / 3 / 256, i / 3 % 256), sweep_ports[i % 3],
                     T0 + 2 * MIN + i * 1000, 0, 0);
        for (uint32_t i = 0; i < 60; i++)
                push(st, IP(10, 1, 0, 3), IP(10, 4, 0, i), 22, T0 + 20 * MIN + i * 10 * SEC, 0, 0);
        for (uint32_t i = 0; i < 40; i++)
                push(st, IP(10, 1, 0, 4), IP(10, 5, 0, i), 445, T0 + 25 * MIN + i * 3 * SEC, 1,
                     2 * SEC);
        for (uint32_t i = 0; i < 50; i++)
                push(st, IP(10, 1, 0, 5), IP(10, 6, 0, i), 80, T0 + 12 * MIN + i * 2 * SEC, i % 2,
                     SEC);
        for (uint32_t w = 0; w < 40; w++) { /* workstations: a few servers, answered */
                uint32_t nd = 1 + w % 8;
                for (uint32_t k = 0; k < 30; k++) {
                        r = fw_gen_mix(r);
                        push(st, IP(10, 10, 0, w), IP(10, 20, 0, (uint32_t)(r % nd)),
                             (uint16_t[]){443, 80, 53, 22}[r % 4], T0 + (int64_t)(r % (40 * MIN)),
                             1, (int64_t)(r >> 40) % (30 * SEC));
                }
        }
        for (uint32_t round = 0; round < 24; round++) /* monitoring, from 30 min before */
                for (uint32_t i = 0; i < 60; i++)
                        push(st, IP(10, 1, 0, 9), IP(10, 30, 0, i), 443,
                             T0 - 30 * MIN + round * 3 * MIN + i * 500, 1, 200);
        for (size_t i = 0; i < st->n; i++)
                st->v[i].seq = (uint32_t)i;
}

/* ---- orders ---- */

enum { ORD_TIME, ORD_REVERSED, ORD_SHUFFLED, ORD_WRITTEN, ORD_N };
static const char *const ord_name[ORD_N] = {"time", "reversed", "shuffled", "written"};

static int cmp_arr(const void *a, const void *b) {
        const ev_t *x = a, *y = b;
        if (x->arr != y->arr)
                return x->arr < y->arr ? -1 : 1;
        return (x->seq > y->seq) - (x->seq < y->seq);
}

static void order(stream_t *st, int ord, int64_t lateness, uint64_t seed) {
        uint64_t r = seed;
        for (size_t i = 0; i < st->n; i++) {
                ev_t *e = &st->v[i];
                int64_t t = e->s.first_packet_ms;
                switch (ord) {
                case ORD_TIME:
                        e->arr = t;
                        break;
                case ORD_REVERSED: { /* newest first within each span of the lateness */
                        int64_t span = (t - T0) / lateness;
                        e->arr = span * lateness * 2 + (lateness - 1 - (t - T0) % lateness);
                        break;
                }
                case ORD_SHUFFLED:
                        r = fw_gen_mix(r ^ i);
                        e->arr = t + (int64_t)(r % (uint64_t)lateness);
                        break;
                default:
                        e->arr = e->written;
                        break;
                }
        }
        qsort(st->v, st->n, sizeof(*st->v), cmp_arr);
}

/* ---- what a run detected: per (rule, key) the last document ---- */

typedef struct det {
        char rule[64];
        char key[128];
        char id[33];
        uint64_t count;
        int exact;
        uint32_t docs;
} det_t;

typedef struct dets {
        det_t v[256];
        size_t n;
        uint64_t docs;
} dets_t;

static int on_alert(const fw_alert_t *a, void *opaque) {
        dets_t *d = opaque;
        char key[128], s[FW_IP_STRLEN] = "", t[FW_IP_STRLEN] = "";
        if (a->has_src)
                fw_ip_format(&a->src, s, sizeof(s));
        if (a->has_dst)
                fw_ip_format(&a->dst, t, sizeof(t));
        snprintf(key, sizeof(key), "%s>%s:%u", s, t, a->has_dport ? a->dport : 0);
        d->docs++;
        for (size_t i = 0; i < d->n; i++) {
                det_t *x = &d->v[i];
                if (strcmp(x->rule, a->rule) == 0 && strcmp(x->key, key) == 0 &&
                    strcmp(x->id, a->id) == 0) {
                        x->count = a->count;
                        x->exact = a->exact;
                        x->docs++;
                        return 0;
                }
        }
        assert_true(d->n < 256);
        det_t *x = &d->v[d->n++];
        snprintf(x->rule, sizeof(x->rule), "%s", a->rule);
        snprintf(x->key, sizeof(x->key), "%s", key);
        memcpy(x->id, a->id, sizeof(x->id));
        x->count = a->count;
        x->exact = a->exact;
        x->docs = 1;
        return 0;
}

static int cmp_det(const void *a, const void *b) {
        const det_t *x = a, *y = b;
        int c = strcmp(x->rule, y->rule);
        return c ? c : strcmp(x->key, y->key);
}

static void run(const fw_detect_cfg_t *c, stream_t *st, dets_t *out) {
        char err[256];
        memset(out, 0, sizeof(*out));
        fw_engine_t *e = fw_engine_new(c, on_alert, out, err, sizeof(err));
        assert_non_null(e);
        /* what happened before T0 is the detector's rewind: replayed silently, as at start-up */
        for (size_t i = 0; i < st->n; i++)
                assert_true(fw_engine_feed(e, &st->v[i].s, st->v[i].s.first_packet_ms >= T0) >= 0);
        assert_true(fw_engine_flush(e, 1) >= 0);
        fw_engine_free(e);
        qsort(out->v, out->n, sizeof(out->v[0]), cmp_det);
}

static void print(const char *name, const dets_t *d) {
        printf("order %-8s %zu alerts, %llu documents:", name, d->n, (unsigned long long)d->docs);
        for (size_t i = 0; i < d->n; i++)
                printf(" %s %s %s%llu (%u)", d->v[i].rule, d->v[i].key, d->v[i].exact ? "" : "~",
                       (unsigned long long)d->v[i].count, d->v[i].docs);
        printf("\n");
}

/* The lab in every order at alert.settle = settle_ms; *renamed gets the alerts whose id differs
 * from time order's. With settle_ms = detect.lateness every id must be equal. */
static void check_orders(int64_t settle_ms, size_t *renamed, dets_t *time_order) {
        fw_detect_cfg_t c;
        fw_detect_cfg_defaults(&c);
        c.spike.enabled = 0; /* per-interval baselines: see docs/detector.md */
        c.spike_total.enabled = 0;
        c.settle_ms = settle_ms;
        *renamed = 0;
        char err[256];
        fw_expr_t *x = fw_expr_compile("packets == 1 && ip.protocol == tcp && port.dst == 22", err,
                                       sizeof(err));
        assert_non_null(x);
        c.rules = calloc(1, sizeof(*c.rules));
        assert_non_null(c.rules);
        c.rules[0].name = strdup("unanswered_ssh");
        c.rules[0].expr = x;
        c.rules[0].threshold = 20;
        c.rules[0].severity = 50;
        c.nrules = 1;

        for (uint64_t seed = 1; seed <= 3; seed++) {
                stream_t st = {0};
                lab(&st, seed);
                dets_t ref, got;
                order(&st, ORD_TIME, c.lateness_ms, seed);
                run(&c, &st, &ref);
                print(ord_name[ORD_TIME], &ref);
                /* what the lab must raise, one alert each: the five fan-outs and the rule, not
                 * the monitoring host nor a workstation */
                assert_int_equal(ref.n, 5 + 1);
                for (size_t i = 0; i < ref.n; i++)
                        assert_true(strncmp(ref.v[i].key, "10.1.0.", 7) == 0 &&
                                    strncmp(ref.v[i].key, "10.1.0.9>", 9) != 0);
                for (int o = ORD_REVERSED; o < ORD_N; o++) {
                        order(&st, o, c.lateness_ms, seed * 7 + (uint64_t)o);
                        run(&c, &st, &got);
                        print(ord_name[o], &got);
                        assert_int_equal(got.n, ref.n);
                        for (size_t i = 0; i < ref.n; i++) {
                                const det_t *a = &ref.v[i], *b = &got.v[i];
                                assert_string_equal(a->rule, b->rule);
                                assert_string_equal(a->key, b->key);
                                /* ids: the epoch of the earliest crossing known when the first
                                 * document goes; in Arkime's write order the same, a shuffle can
                                 * show a later crossing first unless held for the lateness */
                                if (o == ORD_WRITTEN || settle_ms >= c.lateness_ms)
                                        assert_string_equal(a->id, b->id);
                                if (strcmp(a->id, b->id) != 0)
                                        (*renamed)++;
                                if (a->exact && b->exact) {
                                        assert_int_equal(a->count, b->count);
                                } else { /* the sketch: 1.04 / sqrt(4096) = 1.6%, 4 sigma */
                                        double d = (double)a->count - (double)b->count;
                                        assert_true(d * d <= 0.065 * 0.065 * (double)a->count *
                                                                     (double)a->count);
                                }
                                assert_true(b->docs <= 3 + 13 / 5); /* first, updates, final */
                        }
                }
                if (seed == 1)
                        *time_order = ref;
                free(st.v);
        }
        fw_detect_cfg_release(&c);
}

static void test_orders(void **state) {
        (void)state;
        size_t renamed;
        dets_t ref;
        check_orders(0, &renamed, &ref);
        printf("alert.settle 0: %zu ids of %zu named from a later window in other orders\n",
               renamed, ref.n * 3 * (ORD_N - 1));
}

/* alert.settle = detect.lateness: the same ids in every order, and the same as at once in time
 * order (holding the first document back renames nothing there). */
static void test_orders_settled(void **state) {
        (void)state;
        size_t renamed;
        dets_t at_once, held;
        check_orders(0, &renamed, &at_once);
        check_orders(10 * 60000, &renamed, &held);
        assert_int_equal(renamed, 0);
        assert_int_equal(at_once.n, held.n);
        for (size_t i = 0; i < held.n; i++) {
                assert_string_equal(at_once.v[i].key, held.v[i].key);
                assert_string_equal(at_once.v[i].id, held.v[i].id);
                assert_int_equal(at_once.v[i].count, held.v[i].count);
                assert_true(held.v[i].docs <= at_once.v[i].docs); /* no more documents */
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_orders),
                cmocka_unit_test(test_orders_settled),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
