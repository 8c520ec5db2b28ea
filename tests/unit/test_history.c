/* Unit tests for detector/history.c: new and known destinations, expiry after the history,
 * late contacts, the cap on remembered destinations, and the table shrinking when entries
 * expire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "history.h"

#define T0  1716000000000LL
#define MIN 60000LL
#define H   (60 * MIN)

static uint64_t elem(uint32_t i) {
        uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
        x ^= x >> 31;
        return x * 0xbf58476d1ce4e5b9ULL;
}

static void test_new_then_known(void **state) {
        fw_history_t h;
        (void)state;
        fw_history_init(&h);
        assert_int_equal(fw_history_bytes(&h), 0);
        for (uint32_t i = 0; i < 500; i++)
                assert_int_equal(fw_history_contact(&h, elem(i), T0 + i, H, 0, 4096), 0);
        for (uint32_t i = 0; i < 500; i++)
                assert_int_equal(fw_history_contact(&h, elem(i), T0 + 30 * MIN, H, 0, 4096), 1);
        assert_int_equal(h.used, 500);
        assert_true(fw_history_bytes(&h) <= 2048 * sizeof(uint64_t));
        fw_history_free(&h);
        assert_int_equal(fw_history_bytes(&h), 0);
}

/* Known while the last contact is within the history (minute resolution, rounded in favour of
 * known); a late contact is known when a newer one exists. */
static void test_expiry_and_late(void **state) {
        fw_history_t h;
        (void)state;
        fw_history_init(&h);
        assert_int_equal(fw_history_contact(&h, elem(1), T0, H, 0, 16), 0);
        assert_int_equal(fw_history_contact(&h, elem(1), T0 + H - MIN, H, 0, 16), 1);
        /* refreshed at T0 + 59 min: known until T0 + 119 min */
        assert_int_equal(fw_history_contact(&h, elem(1), T0 + 2 * H - 2 * MIN, H, 0, 16), 1);
        assert_int_equal(fw_history_contact(&h, elem(1), T0 + 4 * H, H, 0, 16), 0);
        /* late: older than the newest contact, still known */
        assert_int_equal(fw_history_contact(&h, elem(1), T0 + 3 * H, H, 0, 16), 1);
        /* a destination never seen is new whatever the time */
        assert_int_equal(fw_history_contact(&h, elem(2), T0 - H, H, 0, 16), 0);
        fw_history_free(&h);
}

/* At max live destinations a new one is reported known and not stored; once the old ones
 * expire the table shrinks and learns again. */
static void test_cap_and_shrink(void **state) {
        fw_history_t h;
        (void)state;
        fw_history_init(&h);
        for (uint32_t i = 0; i < 100; i++)
                assert_int_equal(fw_history_contact(&h, elem(i), T0, H, 0, 100), 0);
        uint32_t known = 0;
        for (uint32_t i = 100; i < 400; i++)
                known += (uint32_t)fw_history_contact(&h, elem(i), T0 + MIN, H, 0, 100);
        /* past the cap (checked when the table must grow, 256 slots at load 3/4 for 100):
         * reported known, not stored */
        assert_true(known >= 300 - 92);
        assert_true(h.used <= 192);
        assert_int_equal(fw_history_bytes(&h), 256 * sizeof(fw_history_slot_t));
        size_t big = fw_history_bytes(&h);
        /* two hours later everything expired: new again, and a rebuild shrinks the table */
        for (uint32_t i = 0; i < 3; i++)
                assert_int_equal(fw_history_contact(&h, elem(1000 + i), T0 + 2 * H + i, H, 0, 100),
                                 0);
        for (uint32_t i = 0; i < 200; i++)
                (void)fw_history_contact(&h, elem(2000 + i), T0 + 2 * H + 10, H, 0, 100);
        assert_true(h.used < 200);
        assert_true(fw_history_bytes(&h) <= big);
        assert_int_equal(fw_history_contact(&h, elem(5), T0 + 2 * H + 20, H, 0, 100), 1);
        fw_history_free(&h);
}

/* A destination is new for the grace period after its first contact (minute resolution), in
 * any order of the contacts; known after it. */
static void test_grace(void **state) {
        fw_history_t h;
        (void)state;
        fw_history_init(&h);
        const int64_t G = 5 * MIN;
        assert_int_equal(fw_history_contact(&h, elem(1), T0 + 2 * MIN, H, G, 16), 0);
        assert_int_equal(fw_history_contact(&h, elem(1), T0 + 6 * MIN, H, G, 16), 0);
        assert_int_equal(fw_history_contact(&h, elem(1), T0 + 7 * MIN, H, G, 16), 1);
        /* a late contact before the first moves it: later ones are judged from it */
        assert_int_equal(fw_history_contact(&h, elem(2), T0 + 9 * MIN, H, G, 16), 0);
        assert_int_equal(fw_history_contact(&h, elem(2), T0 + 3 * MIN, H, G, 16), 0);
        assert_int_equal(fw_history_contact(&h, elem(2), T0 + 9 * MIN, H, G, 16), 1);
        fw_history_free(&h);
}

/* Minutes are 16-bit offsets from the table's base: event time running 60 days on (past the 45
 * days they hold) moves the base without losing what is live; a session from before the base is
 * new and changes nothing. */
static void test_rebase(void **state) {
        fw_history_t h;
        (void)state;
        fw_history_init(&h);
        const int64_t D = 24 * H;
        const int64_t W = 7 * D; /* the longest detect.history */
        assert_int_equal(fw_history_contact(&h, elem(1), T0, W, 5 * MIN, 64), 0);
        for (int64_t d = 1; d <= 60; d++) {
                /* elem(1) every day: known throughout; a new destination each day: new */
                assert_int_equal(fw_history_contact(&h, elem(1), T0 + d * D, W, 5 * MIN, 64), 1);
                assert_int_equal(
                        fw_history_contact(&h, elem(100 + (uint32_t)d), T0 + d * D, W, 5 * MIN, 64),
                        0);
        }
        /* yesterday's destination is known; one of 10 days ago has expired (history 7 days) */
        assert_int_equal(fw_history_contact(&h, elem(159), T0 + 60 * D + H, W, 5 * MIN, 64), 1);
        assert_int_equal(fw_history_contact(&h, elem(150), T0 + 60 * D + H, W, 5 * MIN, 64), 0);
        assert_true(h.base > T0 / MIN); /* it moved */
        /* 50 days late: before the base, new and not recorded */
        uint32_t used = h.used;
        assert_int_equal(fw_history_contact(&h, elem(1), T0 + 10 * D, W, 5 * MIN, 64), 0);
        assert_int_equal(h.used, used);
        assert_int_equal(fw_history_contact(&h, elem(1), T0 + 60 * D + 2 * H, W, 5 * MIN, 64), 1);
        fw_history_free(&h);
}

/* 8-byte slots at load <= 3/4, at least 4: a source with one destination costs 32 bytes. */
static void test_bytes(void **state) {
        fw_history_t h;
        (void)state;
        fw_history_init(&h);
        assert_int_equal(fw_history_contact(&h, elem(1), T0, H, 0, 64), 0);
        assert_int_equal(fw_history_bytes(&h), 4 * sizeof(fw_history_slot_t));
        assert_int_equal(sizeof(fw_history_slot_t), 8);
        for (uint32_t i = 2; i <= 3; i++)
                assert_int_equal(fw_history_contact(&h, elem(i), T0, H, 0, 64), 0);
        assert_int_equal(fw_history_bytes(&h), 4 * sizeof(fw_history_slot_t));
        assert_int_equal(fw_history_contact(&h, elem(4), T0, H, 0, 64), 0);
        assert_int_equal(fw_history_bytes(&h), 8 * sizeof(fw_history_slot_t));
        fw_history_free(&h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_new_then_known), cmocka_unit_test(test_expiry_and_late),
                cmocka_unit_test(test_cap_and_shrink), cmocka_unit_test(test_grace),
                cmocka_unit_test(test_rebase),         cmocka_unit_test(test_bytes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
