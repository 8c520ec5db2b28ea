/* Unit tests for detector/commit_gate.c: the detector's commit rule, without Kafka. The offset
 * offered for commit never passes an alert that Kafka has not acknowledged, in any order of the
 * reports; failed deliveries are resent, never skipped; a revoked or lost partition hands its
 * in-flight alerts to their reports; a re-assigned partition starts a fresh gate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commit_gate.h"
#include "session.h"
#include "session_gen.h"

/* The test's alert: the gate item first, a flag set when it left the gate. */
typedef struct alert {
        fw_gate_item_t item;
        int freed, resent;
} alert_t;

typedef struct ctx {
        int freed, resent, resend_fails; /* resend_fails: the next resends that fail */
} ctx_t;

static void on_free(fw_gate_item_t *it, void *ud) {
        ctx_t *c = ud;
        ((alert_t *)it)->freed = 1;
        c->freed++;
}

static int on_resend(fw_gate_item_t *it, void *ud) {
        ctx_t *c = ud;
        if (c->resend_fails > 0) {
                c->resend_fails--;
                return -1;
        }
        ((alert_t *)it)->resent++;
        atomic_store(&it->state, FW_GATE_IN_FLIGHT); /* produced again */
        c->resent++;
        return 0;
}

/* The offset offered for commit, -1 when none. */
static int64_t safe(const fw_gate_t *g, int64_t *clock) {
        int64_t off, clk;
        if (!fw_gate_safe(g, &off, &clk))
                return -1;
        if (clock)
                *clock = clk;
        return off;
}

static void push(fw_gate_t *g, alert_t *a, int64_t offset, int64_t clock_before) {
        memset(a, 0, sizeof(*a));
        fw_gate_push(g, &a->item, offset, clock_before);
}

/* Nothing processed: nothing to commit; then the last processed offset + 1 and its clock, once. */
static void test_no_alerts(void **state) {
        (void)state;
        fw_gate_t g;
        fw_gate_init(&g);
        assert_int_equal(safe(&g, NULL), -1);
        fw_gate_processed(&g, 10, 5000);
        int64_t clock;
        assert_int_equal(safe(&g, &clock), 10);
        assert_int_equal(clock, 5000);
        fw_gate_commit_sent(&g, 10);
        assert_int_equal(safe(&g, NULL), -1); /* offered once */
        fw_gate_processed(&g, 12, 6000);
        assert_int_equal(safe(&g, NULL), 12);
        /* a failed commit is offered again */
        fw_gate_commit_sent(&g, 12);
        fw_gate_commit_failed(&g);
        assert_int_equal(safe(&g, &clock), 12);
        assert_int_equal(clock, 6000);
}

/* Acknowledgements in order: each one moves the offset to the next alert not acknowledged (with
 * the clock before its message), the last one to the processed end; nothing is offered twice. */
static void test_in_order(void **state) {
        (void)state;
        fw_gate_t g;
        ctx_t c = {0};
        alert_t a[3];
        fw_gate_init(&g);
        push(&g, &a[0], 2, 200);
        push(&g, &a[1], 4, 400);
        fw_gate_processed(&g, 5, 500);
        push(&g, &a[2], 6, 600); /* raised by a message of the next run */
        fw_gate_processed(&g, 9, 900);
        int64_t clock;
        assert_int_equal(safe(&g, &clock), 2);
        assert_int_equal(clock, 200);
        fw_gate_commit_sent(&g, 2);
        static const int64_t next[3] = {4, 6, 9}, next_clock[3] = {400, 600, 900};
        for (int i = 0; i < 3; i++) {
                assert_int_equal(fw_gate_report(&a[i].item, 1), 0);
                assert_int_equal(fw_gate_settle(&g, on_free, on_resend, &c), 1);
                assert_true(a[i].freed);
                assert_int_equal(g.waiting, (size_t)(2 - i));
                assert_int_equal(safe(&g, &clock), next[i]);
                assert_int_equal(clock, next_clock[i]);
                fw_gate_commit_sent(&g, next[i]);
                assert_int_equal(safe(&g, NULL), -1);
        }
        assert_int_equal(c.resent, 0);
        assert_null(g.head);
}

/* Acknowledgements out of order: the offset stays at the oldest alert not acknowledged, with the
 * clock before its message, until that one is acknowledged. */
static void test_out_of_order(void **state) {
        (void)state;
        fw_gate_t g;
        ctx_t c = {0};
        alert_t a5, a7, a9;
        fw_gate_init(&g);
        push(&g, &a5, 5, 1500);
        push(&g, &a7, 7, 1700);
        push(&g, &a9, 9, 1900);
        fw_gate_processed(&g, 10, 2000);
        int64_t clock;
        assert_int_equal(safe(&g, &clock), 5);
        assert_int_equal(clock, 1500);
        assert_int_equal(fw_gate_report(&a9.item, 1), 0);
        assert_int_equal(fw_gate_report(&a7.item, 1), 0);
        assert_int_equal(fw_gate_settle(&g, on_free, on_resend, &c), 0);
        assert_int_equal(safe(&g, NULL), 5);
        assert_int_equal(g.waiting, 3);
        assert_int_equal(fw_gate_report(&a5.item, 1), 0);
        assert_int_equal(fw_gate_settle(&g, on_free, on_resend, &c), 3);
        assert_true(a5.freed && a7.freed && a9.freed);
        assert_int_equal(g.waiting, 0);
        assert_int_equal(safe(&g, &clock), 10);
        assert_int_equal(clock, 2000);
}

/* A failed delivery holds the offset and is resent at each settle until it goes; a resend that
 * cannot be queued is tried again. */
static void test_failed_delivery(void **state) {
        (void)state;
        fw_gate_t g;
        ctx_t c = {0};
        alert_t a3, a4;
        fw_gate_init(&g);
        push(&g, &a3, 3, 300);
        push(&g, &a4, 4, 400);
        fw_gate_processed(&g, 8, 800);
        assert_int_equal(fw_gate_report(&a3.item, 0), 0);
        assert_int_equal(fw_gate_report(&a4.item, 1), 0);
        c.resend_fails = 1;
        assert_int_equal(fw_gate_settle(&g, on_free, on_resend, &c), 0);
        assert_int_equal(a3.resent, 0);
        assert_int_equal(atomic_load(&a3.item.state), FW_GATE_FAILED);
        assert_int_equal(safe(&g, NULL), 3);
        assert_int_equal(fw_gate_settle(&g, on_free, on_resend, &c), 0);
        assert_int_equal(a3.resent, 1);
        assert_int_equal(safe(&g, NULL), 3); /* still not acknowledged */
        fw_gate_commit_sent(&g, 3);
        assert_int_equal(safe(&g, NULL), -1);
        assert_int_equal(fw_gate_report(&a3.item, 1), 0);
        assert_int_equal(fw_gate_settle(&g, on_free, on_resend, &c), 2);
        assert_int_equal(safe(&g, NULL), 8);
        assert_int_equal(c.resent, 1);
}

/* Revoked (or lost: the gate does the same, the consumer commits nothing then): alerts in flight
 * become orphans that their reports free, the others are freed at once; the gate is empty. A
 * delivery that fails during the rebalance is not resent by anyone: the new owner re-raises it. */
static void test_revoke_and_lost(void **state) {
        (void)state;
        for (int lost = 0; lost < 2; lost++) {
                fw_gate_t g;
                ctx_t c = {0};
                alert_t in_flight, delivered, failed, late_failure;
                fw_gate_init(&g);
                push(&g, &in_flight, 11, 1100);
                push(&g, &delivered, 12, 1200);
                push(&g, &failed, 13, 1300);
                push(&g, &late_failure, 14, 1400);
                fw_gate_processed(&g, 20, 2000);
                assert_int_equal(fw_gate_report(&delivered.item, 1), 0);
                assert_int_equal(fw_gate_report(&failed.item, 0), 0);
                if (!lost) {
                        /* revoke: what is safe is committed first */
                        fw_gate_settle(&g, on_free, on_resend, &c);
                        assert_int_equal(safe(&g, NULL), 11);
                        fw_gate_commit_sent(&g, 11);
                }
                if (!lost)
                        c.resent = 0;
                assert_int_equal(fw_gate_release(&g, on_free, &c), 4);
                assert_int_equal(g.waiting, 0);
                assert_null(g.head);
                /* given up: nothing more is offered (lost: nothing committed at all) */
                assert_int_equal(safe(&g, NULL), -1);
                assert_int_equal(fw_gate_settle(&g, on_free, on_resend, &c), 0);
                assert_int_equal(safe(&g, NULL), -1);
                assert_int_equal(in_flight.freed, 0); /* orphans wait for their reports */
                assert_int_equal(late_failure.freed, 0);
                assert_int_equal(delivered.freed, 1);
                /* the failed one: resent by the revocation's settle (in flight again, an
                 * orphan now), or, lost, freed at once */
                assert_int_equal(failed.freed, lost);
                assert_int_equal(failed.resent, !lost);
                /* the reports come after the rebalance: orphans, the caller frees them */
                assert_int_equal(fw_gate_report(&in_flight.item, 1), 1);
                assert_int_equal(fw_gate_report(&late_failure.item, 0), 1);
                if (!lost)
                        assert_int_equal(fw_gate_report(&failed.item, 0), 1);
                assert_int_equal(c.resent, 0); /* nothing resent after the release */
        }
}

/* A partition lost with alerts in flight and reports already in (acknowledged, failed): nothing
 * is offered, although the processed end and an acknowledged head would have been safe before. */
static void test_lost_commits_nothing(void **state) {
        (void)state;
        fw_gate_t g;
        ctx_t c = {0};
        alert_t acked, pending;
        fw_gate_init(&g);
        push(&g, &acked, 50, 5000);
        push(&g, &pending, 52, 5200);
        fw_gate_processed(&g, 60, 6000);
        assert_int_equal(fw_gate_report(&acked.item, 1), 0);
        assert_int_equal(safe(&g, NULL), 50); /* before the settle: held at the head */
        assert_int_equal(fw_gate_release(&g, on_free, &c), 2); /* lost: no settle, no commit */
        assert_int_equal(safe(&g, NULL), -1);
        assert_int_equal(acked.freed, 1);
        assert_int_equal(pending.freed, 0);
        assert_int_equal(fw_gate_report(&pending.item, 0), 1); /* failed after the loss: dropped */
        assert_int_equal(c.resent, 0);
}

/* Delivery reports on another thread racing the release (as librdkafka's could): every item is
 * freed exactly once, by the release or by the caller of its report, never by both. */
typedef struct racer {
        alert_t *a;
        size_t n;
        int *freed_by_report;
} racer_t;

static void *report_all(void *arg) {
        racer_t *r = arg;
        for (size_t i = 0; i < r->n; i++) {
                size_t k = (i * 7919) % r->n; /* any order */
                if (fw_gate_report(&r->a[k].item, k % 3 != 0))
                        r->freed_by_report[k]++;
        }
        return NULL;
}

static void test_release_races_reports(void **state) {
        (void)state;
        enum { N = 2000 };
        alert_t *a = calloc(N, sizeof(*a));
        int *by_report = calloc(N, sizeof(int));
        assert_non_null(a);
        assert_non_null(by_report);
        for (int round = 0; round < 20; round++) {
                fw_gate_t g;
                ctx_t c = {0};
                fw_gate_init(&g);
                memset(by_report, 0, N * sizeof(int));
                for (size_t i = 0; i < N; i++)
                        push(&g, &a[i], (int64_t)i, (int64_t)i);
                racer_t r = {a, N, by_report};
                pthread_t th;
                assert_int_equal(pthread_create(&th, NULL, report_all, &r), 0);
                assert_int_equal(fw_gate_release(&g, on_free, &c), N);
                assert_int_equal(pthread_join(th, NULL), 0);
                for (size_t i = 0; i < N; i++)
                        if (a[i].freed + by_report[i] != 1)
                                fail_msg("round %d item %zu freed %d times", round, i,
                                         a[i].freed + by_report[i]);
        }
        free(a);
        free(by_report);
}

/* The same partition assigned again starts a fresh gate (the new owner's position); the old
 * gate's orphans reporting late change nothing in it. */
static void test_reassigned(void **state) {
        (void)state;
        fw_gate_t g;
        ctx_t c = {0};
        alert_t old, fresh;
        fw_gate_init(&g);
        push(&g, &old, 30, 3000);
        fw_gate_processed(&g, 40, 4000);
        fw_gate_release(&g, on_free, &c);
        fw_gate_init(&g); /* assigned again, replaying from its committed offset */
        assert_int_equal(safe(&g, NULL), -1);
        fw_gate_processed(&g, 35, 3500);
        push(&g, &fresh, 36, 3600);
        fw_gate_processed(&g, 41, 4100);
        assert_int_equal(fw_gate_report(&old.item, 1), 1);
        fw_gate_settle(&g, on_free, on_resend, &c);
        assert_int_equal(safe(&g, NULL), 36);
        assert_int_equal(fw_gate_report(&fresh.item, 1), 0);
        fw_gate_settle(&g, on_free, on_resend, &c);
        assert_int_equal(safe(&g, NULL), 41);
}

/* Random pushes, reports (ok or failed, any order), settles, commits and releases: the offset
 * offered is never beyond an alert not yet acknowledged, nor beyond what was processed, and
 * every acknowledged alert leaves the gate once the ones before it did. */
static void test_random_never_passes(void **state) {
        (void)state;
        enum { N = 400 };
        for (uint64_t seed = 1; seed <= 50; seed++) {
                alert_t *a = calloc(N, sizeof(*a));
                assert_non_null(a);
                int *acked = calloc(N, sizeof(int));
                assert_non_null(acked);
                fw_gate_t g;
                ctx_t c = {0};
                fw_gate_init(&g);
                size_t pushed = 0;
                int64_t offset = 0;
                uint64_t r = seed;
                while (pushed < N) {
                        r = fw_gen_mix(r + 1);
                        switch (r % 5) {
                        case 0:
                        case 1: /* a message raising an alert */
                                push(&g, &a[pushed], offset, offset * 10);
                                pushed++;
                                offset += 1 + (int64_t)(r >> 8) % 3;
                                fw_gate_processed(&g, offset, offset * 10);
                                break;
                        case 2: { /* a report for some alert in flight */
                                if (pushed == 0)
                                        break;
                                size_t i = (size_t)(r >> 16) % pushed;
                                if (atomic_load(&a[i].item.state) == FW_GATE_IN_FLIGHT &&
                                    !a[i].freed) {
                                        int ok = (r >> 40) % 4 != 0;
                                        fw_gate_report(&a[i].item, ok);
                                        acked[i] = ok;
                                }
                                break;
                        }
                        case 3:
                                fw_gate_settle(&g, on_free, on_resend, &c);
                                break;
                        default: {
                                int64_t off, clk;
                                if (fw_gate_safe(&g, &off, &clk)) {
                                        /* every alert before off was acknowledged */
                                        for (size_t i = 0; i < pushed; i++)
                                                if (a[i].item.offset < off && !a[i].freed)
                                                        assert_true(acked[i]);
                                        assert_true(off <= g.processed);
                                        fw_gate_commit_sent(&g, off);
                                }
                        }
                        }
                        for (size_t i = 0; i < pushed; i++)
                                if (a[i].resent && !acked[i] &&
                                    atomic_load(&a[i].item.state) == FW_GATE_IN_FLIGHT)
                                        a[i].resent = 0; /* resent: its report is pending again */
                }
                /* acknowledge the rest: everything leaves, the offset reaches the end */
                for (size_t i = 0; i < pushed; i++)
                        if (!a[i].freed)
                                fw_gate_report(&a[i].item, 1);
                fw_gate_settle(&g, on_free, on_resend, &c);
                assert_int_equal(g.waiting, 0);
                assert_int_equal(c.freed, N);
                int64_t off, clk;
                assert_true(fw_gate_safe(&g, &off, &clk) || off == g.committed);
                assert_int_equal(off, offset);
                free(a);
                free(acked);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_no_alerts),
                cmocka_unit_test(test_in_order),
                cmocka_unit_test(test_out_of_order),
                cmocka_unit_test(test_failed_delivery),
                cmocka_unit_test(test_revoke_and_lost),
                cmocka_unit_test(test_lost_commits_nothing),
                cmocka_unit_test(test_release_races_reports),
                cmocka_unit_test(test_reassigned),
                cmocka_unit_test(test_random_never_passes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
