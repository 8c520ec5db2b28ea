/* Unit tests for the producer's cursor (slices, overlap, dedup) and the id set, including a
 * simulation of a viewer whose records become visible late, checked for loss and duplicates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cursor.h"
#include "cursor_store.h"
#include "idset.h"
#include "session.h"
#include "session_gen.h"

static char err[512];

static const fw_cursor_cfg_t cfg = {
        .safety_lag_ms = 90000,
        .overlap_ms = 60000,
        .max_slice_ms = 3600000,
        .page_size = 100,
        .window = 1000,
        .max_page_size = 6400,
};

static void test_idset(void **state) {
        (void)state;
        fw_idset_t s;
        fw_idset_init(&s);
        char id[32];
        for (int i = 0; i < 100000; i++) {
                snprintf(id, sizeof(id), "3@240518-%d", i);
                assert_int_equal(fw_idset_add(&s, id, strlen(id), i), 1);
        }
        assert_int_equal(s.count, 100000);
        for (int i = 0; i < 100000; i += 997) {
                snprintf(id, sizeof(id), "3@240518-%d", i);
                assert_true(fw_idset_contains(&s, id, strlen(id)));
                assert_int_equal(fw_idset_add(&s, id, strlen(id), i), 0);
        }
        assert_false(fw_idset_contains(&s, "nope", 4));
        assert_int_equal(fw_idset_prune(&s, 90000), 90000);
        assert_int_equal(s.count, 10000);
        snprintf(id, sizeof(id), "3@240518-%d", 89999);
        assert_false(fw_idset_contains(&s, id, strlen(id)));
        snprintf(id, sizeof(id), "3@240518-%d", 90000);
        assert_true(fw_idset_contains(&s, id, strlen(id)));
        assert_true(s.cap < 100000); /* shrank */
        assert_int_equal(fw_idset_prune(&s, 0), 0);
        fw_idset_free(&s);
}

static void test_slices_and_horizon(void **state) {
        (void)state;
        fw_cursor_t c;
        fw_cursor_init(&c, &cfg, 1000000);
        c.density = 0; /* as after a quiet slice: no probe first */
        fw_slice_t sl;
        /* now = position + 2 h: the poll starts one overlap before the position, one hour wide */
        int64_t now = (1000000 + 7200) * 1000LL;
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        assert_int_equal(sl.start_s, 1000000 - 60);
        assert_int_equal(sl.stop_s, 1000000 - 60 + 3600);
        assert_int_equal(sl.length, 100);
        fw_cursor_complete(&c, &sl);
        assert_int_equal(c.position_s, sl.stop_s);
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        /* the second slice ends at the horizon, now - 90 s */
        assert_int_equal(sl.stop_s, 1000000 + 7200 - 90);
        fw_cursor_complete(&c, &sl);
        assert_int_equal(fw_cursor_next(&c, now, &sl), 0); /* caught up */
        /* the next poll re-reads the overlap */
        assert_int_equal(fw_cursor_next(&c, now + 5000, &sl), 1);
        assert_int_equal(sl.start_s, 1000000 + 7200 - 90 - 60);
        assert_int_equal(sl.stop_s, 1000000 + 7200 + 5 - 90);
        fw_cursor_free(&c);
}

static int64_t times_absent[6400];

static void fill_absent(void) {
        for (int i = 0; i < 6400; i++)
                times_absent[i] = FW_ABSENT;
}

/* Without recordsFiltered only a short page proves a slice complete: full pages halve the slice
 * down to one second, then the length grows 4x up to the cap, then it is an error. */
static void test_full_page_splits(void **state) {
        (void)state;
        fw_cursor_t c;
        fw_cursor_init(&c, &cfg, 60);
        c.density = 0; /* as after a quiet slice: no probe first */
        fw_slice_t sl;
        int64_t now = 10000 * 1000LL;
        fill_absent();
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        int64_t width = sl.stop_s - sl.start_s;
        while (width > 1) {
                assert_int_equal(fw_cursor_check_page(&c, &sl, sl.length, -1, times_absent, err,
                                                      sizeof(err)),
                                 FW_PAGE_SPLIT);
                assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
                assert_int_equal(sl.start_s, 0);
                assert_int_equal(sl.offset, 0);
                assert_int_equal(sl.length, cfg.page_size); /* no probe without a count */
                assert_int_equal(sl.stop_s - sl.start_s, width / 2);
                width /= 2;
        }
        uint32_t len = sl.length;
        while (len < cfg.max_page_size) {
                assert_int_equal(fw_cursor_check_page(&c, &sl, sl.length, -1, times_absent, err,
                                                      sizeof(err)),
                                 FW_PAGE_SPLIT);
                assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
                assert_int_equal(sl.length,
                                 len * 4 > cfg.max_page_size ? cfg.max_page_size : len * 4);
                len = sl.length;
        }
        assert_int_equal(
                fw_cursor_check_page(&c, &sl, sl.length, -1, times_absent, err, sizeof(err)),
                FW_PAGE_TOO_DENSE);
        assert_non_null(strstr(err, "max_page_size"));
        /* a complete slice resets the length and widens again, at most 4x; with counts, the
         * first request asks for twice what the density predicts (5/s * 4 s), + 16 */
        assert_int_equal(fw_cursor_check_page(&c, &sl, 5, 5, times_absent, err, sizeof(err)),
                         FW_PAGE_COMPLETE);
        fw_cursor_complete(&c, &sl);
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        assert_int_equal(sl.length, 2 * 20 + 16);
        assert_int_equal(sl.stop_s - sl.start_s, 4);
        /* that page full with 300 (< the window): paged on, nothing thrown away */
        assert_int_equal(fw_cursor_check_page(&c, &sl, 56, 300, times_absent, err, sizeof(err)),
                         FW_PAGE_MORE);
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        assert_int_equal(sl.offset, 56);
        assert_int_equal(sl.length, cfg.page_size);
        /* exact counts above the window (the real viewer counts exactly): at one second, one
         * request for the count and a margin */
        fw_cursor_restart(&c);
        c.width_s = 1;
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        assert_int_equal(
                fw_cursor_check_page(&c, &sl, sl.length, 3000, times_absent, err, sizeof(err)),
                FW_PAGE_SPLIT);
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        assert_int_equal(sl.length, 3000 + 3000 / 16 + 16);
        fw_cursor_free(&c);
}

/* A slice of at most the window is read in pages with start= offsets: nothing is thrown away,
 * and it completes when the distinct ids reach recordsFiltered. */
static void test_paging_within_slice(void **state) {
        (void)state;
        fw_cursor_t c;
        fw_cursor_init(&c, &cfg, 60);
        c.density = 0; /* as after a quiet slice: no probe first */
        fw_slice_t sl;
        int64_t now = 10000 * 1000LL;
        fill_absent();
        char id[32];
        int next_id = 0;
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        int64_t start = sl.start_s, stop = sl.stop_s;
        for (int page = 0; page < 4; page++) {
                assert_int_equal(sl.start_s, start);
                assert_int_equal(sl.stop_s, stop);
                assert_int_equal(sl.offset, (uint32_t)page * 100);
                assert_int_equal(sl.length, 100);
                size_t n = page < 3 ? 100 : 50;
                for (size_t i = 0; i < n; i++) {
                        snprintf(id, sizeof(id), "s%d", next_id++);
                        assert_int_equal(fw_cursor_slice_row(&c, &sl, id), 0);
                }
                int rc = fw_cursor_check_page(&c, &sl, n, 350, times_absent, err, sizeof(err));
                if (page < 3) {
                        assert_int_equal(rc, FW_PAGE_MORE);
                        assert_int_equal(c.position_s, 60); /* not before the slice completes */
                        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
                } else {
                        assert_int_equal(rc, FW_PAGE_COMPLETE);
                }
        }
        fw_cursor_complete(&c, &sl);
        assert_int_equal(c.position_s, stop);
        /* the next slice is sized from 350 sessions to fill 70% of the window */
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        assert_int_equal(sl.offset, 0);
        int64_t w = stop - start;
        int64_t fit = (int64_t)((double)w * 0.7 * 1000 / 350.0);
        fit = fit < w * 4 ? fit : w * 4;
        assert_int_equal(sl.stop_s - sl.start_s, fit < 3600 ? fit : 3600);

        /* repeats across pages (the viewer's order moved): read again narrower, not complete */
        start = sl.start_s;
        stop = sl.stop_s;
        for (int i = 0; i < 100; i++) {
                snprintf(id, sizeof(id), "r%d", i);
                fw_cursor_slice_row(&c, &sl, id);
        }
        assert_int_equal(fw_cursor_check_page(&c, &sl, 100, 150, times_absent, err, sizeof(err)),
                         FW_PAGE_MORE);
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        assert_int_equal(sl.offset, 100);
        for (int i = 50; i < 100; i++) { /* 50 rows seen on the first page again */
                snprintf(id, sizeof(id), "r%d", i);
                fw_cursor_slice_row(&c, &sl, id);
        }
        assert_int_equal(fw_cursor_check_page(&c, &sl, 50, 150, times_absent, err, sizeof(err)),
                         FW_PAGE_SPLIT);
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        assert_int_equal(sl.offset, 0);
        assert_int_equal(sl.start_s, start);
        assert_int_equal(sl.stop_s - sl.start_s, (stop - start) / 2);
        /* a count at the window is a lower bound: never complete on it, narrow instead */
        fw_cursor_restart(&c);
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        start = sl.start_s;
        stop = sl.stop_s;
        assert_int_equal(fw_cursor_check_page(&c, &sl, 100, 1000, times_absent, err, sizeof(err)),
                         FW_PAGE_SPLIT);
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        assert_true(sl.stop_s - sl.start_s < stop - start);
        assert_int_equal(sl.length, 1); /* probed */
        /* a short continuation page below the announced count is a partial result */
        fw_cursor_slice_row(&c, &sl, "x1");
        assert_int_equal(fw_cursor_check_page(&c, &sl, 100, 300, times_absent, err, sizeof(err)),
                         FW_PAGE_MORE);
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        assert_int_equal(fw_cursor_check_page(&c, &sl, 20, 300, times_absent, err, sizeof(err)),
                         FW_PAGE_PARTIAL);
        assert_non_null(strstr(err, "reports 300"));
        fw_cursor_free(&c);
}

/* A slice holding more than the window is narrowed to its density and probed with one row;
 * a single second holding more is read in one request of all its rows. */
static void test_density_sizing(void **state) {
        (void)state;
        fw_cursor_t c;
        fw_cursor_init(&c, &cfg, 60);
        fw_slice_t sl;
        int64_t now = 100000 * 1000LL;
        fill_absent();
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        assert_int_equal(sl.stop_s - sl.start_s, 3600);
        /* a fresh cursor probes a wide slice of unknown density with one row */
        assert_int_equal(sl.length, 1);
        /* "at least 1,000" (the window: a lower bound) in an hour: assumed 4x denser,
         * 3600 * 0.7 * 1000 / 1000 / 4 = 630 s, probed again */
        assert_int_equal(fw_cursor_check_page(&c, &sl, 1, 1000, times_absent, err, sizeof(err)),
                         FW_PAGE_SPLIT);
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        assert_int_equal(sl.stop_s - sl.start_s, 630);
        assert_int_equal(sl.length, 1);
        /* 25 s for "at least 1,000" in 630 s... (630 * 0.7 / 4 = 110 s) */
        assert_int_equal(fw_cursor_check_page(&c, &sl, 1, 1000, times_absent, err, sizeof(err)),
                         FW_PAGE_SPLIT);
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        assert_int_equal(sl.stop_s - sl.start_s, 110);
        assert_int_equal(sl.length, 1);
        /* the probe says 500: page on from row 1 */
        assert_int_equal(fw_cursor_check_page(&c, &sl, 1, 500, times_absent, err, sizeof(err)),
                         FW_PAGE_MORE);
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        assert_int_equal(sl.offset, 1);
        assert_int_equal(sl.length, 100);
        fw_cursor_restart(&c);
        /* a probe that finds the slice empty or one row completes it */
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        assert_int_equal(fw_cursor_check_page(&c, &sl, 0, 0, times_absent, err, sizeof(err)),
                         FW_PAGE_COMPLETE);
        fw_cursor_complete(&c, &sl);
        /* an empty slice grows 4x; what lies beyond is of unknown density: probed when wide */
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        assert_int_equal(sl.stop_s - sl.start_s, 440);
        assert_int_equal(sl.length, 1);
        /* "at least 1,000" in 2 s: narrowed to 1 s, probed; again at 1 s: one request for 4x
         * the lower bound (capped at max_page_size), which holds all 2,000 */
        c.width_s = 2;
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        assert_int_equal(fw_cursor_check_page(&c, &sl, 100, 1000, times_absent, err, sizeof(err)),
                         FW_PAGE_SPLIT);
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        assert_int_equal(sl.stop_s - sl.start_s, 1);
        assert_int_equal(sl.length, 1);
        assert_int_equal(fw_cursor_check_page(&c, &sl, 1, 1000, times_absent, err, sizeof(err)),
                         FW_PAGE_SPLIT);
        assert_int_equal(fw_cursor_next(&c, now, &sl), 1);
        assert_int_equal(sl.offset, 0);
        assert_int_equal(sl.length, 4000);
        assert_int_equal(fw_cursor_check_page(&c, &sl, 2000, 1000, times_absent, err, sizeof(err)),
                         FW_PAGE_COMPLETE);
        fw_cursor_free(&c);
}

static void test_bad_pages(void **state) {
        (void)state;
        fw_cursor_t c;
        fw_cursor_init(&c, &cfg, 5000);
        c.density = 0; /* as after a quiet slice: no probe first */
        fw_slice_t sl;
        assert_int_equal(fw_cursor_next(&c, 100000 * 1000LL, &sl), 1);
        int64_t times[3] = {sl.start_s * 1000, sl.stop_s * 1000, sl.stop_s * 1000 + 1};
        /* both ends are inclusive */
        assert_int_equal(fw_cursor_check_page(&c, &sl, 2, 2, times, err, sizeof(err)),
                         FW_PAGE_COMPLETE);
        assert_int_equal(fw_cursor_check_page(&c, &sl, 3, 3, times, err, sizeof(err)),
                         FW_PAGE_OUTSIDE);
        assert_non_null(strstr(err, "ignored"));
        times[0] = sl.start_s * 1000 - 1;
        assert_int_equal(fw_cursor_check_page(&c, &sl, 1, 1, times, err, sizeof(err)),
                         FW_PAGE_OUTSIDE);
        times[0] = sl.start_s * 1000;
        /* short page while the viewer says there are more: a partial result */
        assert_int_equal(fw_cursor_check_page(&c, &sl, 2, 57, times, err, sizeof(err)),
                         FW_PAGE_PARTIAL);
        assert_non_null(strstr(err, "reports 57"));
        /* recordsFiltered absent: only the page length decides */
        assert_int_equal(fw_cursor_check_page(&c, &sl, 2, -1, times, err, sizeof(err)),
                         FW_PAGE_COMPLETE);
        /* the position never moved */
        assert_int_equal(c.position_s, 5000);
        fw_cursor_free(&c);
}

/* ---- simulation: a viewer with late visibility, a producer loop, a restart ---- */

typedef struct sim_session {
        int64_t ts_ms;      /* @timestamp */
        int64_t visible_ms; /* when a search first returns it (index refresh, late writes) */
        int published;
} sim_session_t;

#define SIM_N  60000
#define SIM_T0 1700000000000LL

static sim_session_t *sim;

/* Sessions over two hours, with a burst of 3,000 in one second and visibility delays up to
 * safety lag + overlap (beyond that, a record is by definition too late for the cursor). */
static void sim_build(void) {
        sim = calloc(SIM_N, sizeof(*sim));
        for (int i = 0; i < SIM_N; i++) {
                uint64_t r = fw_gen_mix((uint64_t)i);
                if (i < 3000)
                        sim[i].ts_ms = SIM_T0 + 1800 * 1000LL + (int64_t)(r % 1000);
                else
                        sim[i].ts_ms = SIM_T0 + (int64_t)(r % 7200000);
                int64_t delay = (int64_t)((r >> 20) % 65000); /* the refresh, up to 65 s */
                if (i % 50 == 0)
                        delay = (int64_t)((r >> 24) % (cfg.safety_lag_ms + cfg.overlap_ms));
                sim[i].visible_ms = sim[i].ts_ms + delay;
        }
}

typedef struct sim_stats {
        long requests, published, duplicates;
        long rows, discarded, full_discards; /* rows fetched; of which thrown away (SPLIT) */
} sim_stats_t;

/* Run polls every 5 s from start to end; stop early (simulated crash) after crash_after
 * requests if > 0. Returns the cursor's final position. */
static int64_t sim_run(int64_t position_s, int64_t start_ms, int64_t end_ms, long crash_after,
                       sim_stats_t *st, int64_t *stopped_at_ms) {
        fw_cursor_t c;
        fw_cursor_init(&c, &cfg, position_s);
        int *page = malloc(sizeof(int) * cfg.max_page_size);
        int64_t *times = malloc(sizeof(int64_t) * cfg.max_page_size);
        for (int64_t now = start_ms; now <= end_ms; now += 5000) {
                fw_slice_t sl;
                while (fw_cursor_next(&c, now, &sl)) {
                        if (crash_after > 0 && st->requests >= crash_after) {
                                *stopped_at_ms = now;
                                int64_t pos = c.position_s;
                                fw_cursor_free(&c);
                                free(page);
                                free(times);
                                return pos;
                        }
                        st->requests++;
                        /* the viewer: the matching sessions in a stable order, rows [offset,
                         * offset + length), recordsFiltered = all that match */
                        size_t n = 0, total = 0;
                        for (int i = 0; i < SIM_N; i++) {
                                if (sim[i].visible_ms <= now && sim[i].ts_ms >= sl.start_s * 1000 &&
                                    sim[i].ts_ms <= sl.stop_s * 1000) {
                                        if (total >= sl.offset && n < sl.length) {
                                                page[n] = i;
                                                times[n++] = sim[i].ts_ms;
                                        }
                                        total++;
                                }
                        }
                        st->rows += (long)n;
                        char id[32];
                        for (size_t k = 0; k < n; k++) {
                                snprintf(id, sizeof(id), "s%d", page[k]);
                                assert_int_equal(fw_cursor_slice_row(&c, &sl, id), 0);
                        }
                        /* counted exactly only below the window, like OpenSearch */
                        int64_t reported = total < cfg.window ? (int64_t)total : cfg.window;
                        int rc =
                                fw_cursor_check_page(&c, &sl, n, reported, times, err, sizeof(err));
                        if (rc == FW_PAGE_SPLIT) {
                                st->discarded += (long)n;
                                st->full_discards += n > 1;
                                continue;
                        }
                        if (rc != FW_PAGE_COMPLETE && rc != FW_PAGE_MORE)
                                fail_msg("page rejected: %s", err);
                        for (size_t k = 0; k < n; k++) {
                                snprintf(id, sizeof(id), "s%d", page[k]);
                                if (fw_cursor_first_sight(&c, id, times[k]) == 1) {
                                        if (sim[page[k]].published)
                                                st->duplicates++;
                                        sim[page[k]].published++;
                                        st->published++;
                                }
                        }
                        if (rc == FW_PAGE_MORE)
                                continue;
                        fw_cursor_complete(&c, &sl);
                }
        }
        int64_t pos = c.position_s;
        fw_cursor_free(&c);
        free(page);
        free(times);
        return pos;
}

static void test_simulation_no_loss_no_duplicates(void **state) {
        (void)state;
        sim_build();
        sim_stats_t st = {0};
        int64_t stopped;
        int64_t end = SIM_T0 + 7200000 + cfg.safety_lag_ms + cfg.overlap_ms + 10000;
        /* start one minute before the first session; live polling every 5 s */
        sim_run(SIM_T0 / 1000 - 60, SIM_T0, end, 0, &st, &stopped);
        long lost = 0;
        for (int i = 0; i < SIM_N; i++)
                lost += sim[i].published == 0;
        printf("simulation: %d sessions, %ld requests, %ld rows fetched, %ld thrown away (%ld "
               "pages), %ld published, %ld duplicates, %ld lost\n",
               SIM_N, st.requests, st.rows, st.discarded, st.full_discards, st.published,
               st.duplicates, lost);
        assert_int_equal(lost, 0);
        /* the burst of 3,000 in one second costs at most a few thrown-away pages, not a
         * page per narrowing step: at most 5% of what was fetched */
        assert_true(st.discarded * 20 <= st.rows);
        assert_int_equal(st.duplicates, 0);
        assert_int_equal(st.published, SIM_N);
        free(sim);
}

static void test_simulation_restart(void **state) {
        (void)state;
        sim_build();
        sim_stats_t st = {0};
        int64_t stopped = 0;
        int64_t end = SIM_T0 + 7200000 + cfg.safety_lag_ms + cfg.overlap_ms + 10000;
        /* crash after some requests; restart from the persisted position, 30 s later */
        int64_t pos = sim_run(SIM_T0 / 1000 - 60, SIM_T0, end, 700, &st, &stopped);
        assert_true(stopped > 0);
        long before = st.published;
        sim_run(pos, stopped + 30000, end, 0, &st, &stopped);
        long lost = 0, in_overlap = 0;
        for (int i = 0; i < SIM_N; i++) {
                lost += sim[i].published == 0;
                in_overlap +=
                        sim[i].ts_ms >= (pos * 1000 - cfg.overlap_ms) && sim[i].ts_ms < pos * 1000;
        }
        printf("restart at position %lld after %ld sessions: %ld duplicates (overlap holds %ld), "
               "%ld lost\n",
               (long long)pos, before, st.duplicates, in_overlap, lost);
        assert_int_equal(lost, 0);
        /* duplicates only from the re-read overlap and the pages of the slice being read when
         * it stopped (at most the paging window; a SIGTERM finishes that slice first) */
        assert_true(st.duplicates <= in_overlap + (long)cfg.window);
        free(sim);
}

static void test_store(void **state) {
        (void)state;
        char dir[] = "/tmp/fw-cursor-XXXXXX";
        assert_non_null(mkdtemp(dir));
        char path[256], tmp[300];
        snprintf(path, sizeof(path), "%s/cursor", dir);
        int64_t pos = -1;
        /* first start: no file */
        assert_int_equal(fw_cursor_load(path, "https://a:8005", &pos, err, sizeof(err)), 0);
        assert_int_equal(fw_cursor_save(path, "https://a:8005", 1716026400, err, sizeof(err)), 0);
        assert_int_equal(fw_cursor_load(path, "https://a:8005", &pos, err, sizeof(err)), 1);
        assert_int_equal(pos, 1716026400);
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        assert_int_equal(access(tmp, F_OK), -1); /* no temporary left behind */
        /* another viewer's cursor is refused */
        assert_int_equal(fw_cursor_load(path, "https://b:8005", &pos, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "belongs to viewer 'https://a:8005'"));
        /* a torn or foreign file is an error, not position 0 */
        const char *bad[] = {"", "fanwatch-cursor 1\nviewer=https://a:8005\n",
                             "fanwatch-cursor 1\nposition=12x\n", "hello\n",
                             "fanwatch-cursor 1\nposition=-5\n"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                FILE *f = fopen(path, "w");
                fputs(bad[i], f);
                fclose(f);
                assert_int_equal(fw_cursor_load(path, "https://a:8005", &pos, err, sizeof(err)),
                                 -1);
                assert_non_null(strstr(err, path));
        }
        unlink(path);
        rmdir(dir);
}

/* The OpenSearch reader's window: position - overlap (whole seconds) to the horizon, the
 * range the viewer reader's slices cover; the position moves only forward. */
static void test_window(void **state) {
        (void)state;
        fw_cursor_cfg_t wcfg = {.safety_lag_ms = 90000, .overlap_ms = 60500, .page_size = 100};
        fw_cursor_t c;
        fw_cursor_init(&c, &wcfg, 1000);
        int64_t from = -1, to = -1;
        /* now - lag = 1100.999 s: the horizon is second 1100; the overlap rounds up to 61 s */
        assert_int_equal(fw_cursor_window(&c, 1190999, &from, &to), 1);
        assert_int_equal(from, 939000);
        assert_int_equal(to, 1100000);
        /* the same range as the viewer reader's first slice of that poll */
        fw_slice_t sl;
        assert_int_equal(fw_cursor_next(&c, 1190999, &sl), 1);
        assert_int_equal(sl.start_s * 1000, from);
        /* nothing before the overlap's start reaches the horizon */
        assert_int_equal(fw_cursor_window(&c, 939000 + 90000, &from, &to), 0);
        /* the position never goes back; ids older than the overlap are forgotten */
        assert_int_equal(fw_cursor_first_sight(&c, "old", 900000), 1);
        assert_int_equal(fw_cursor_first_sight(&c, "new", 1099000), 1);
        fw_cursor_advance(&c, 1100);
        assert_int_equal(c.position_s, 1100);
        fw_cursor_advance(&c, 1050);
        assert_int_equal(c.position_s, 1100);
        assert_int_equal(fw_cursor_first_sight(&c, "new", 1099000), 0);
        assert_int_equal(fw_cursor_first_sight(&c, "old", 900000), 1); /* pruned: new again */
        /* a position at 0 with an overlap: the window starts at 0 */
        fw_cursor_free(&c);
        fw_cursor_init(&c, &wcfg, 10);
        assert_int_equal(fw_cursor_window(&c, 200000, &from, &to), 1);
        assert_int_equal(from, 0);
        assert_int_equal(to, 110000);
        fw_cursor_free(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_idset),
                cmocka_unit_test(test_window),
                cmocka_unit_test(test_store),
                cmocka_unit_test(test_slices_and_horizon),
                cmocka_unit_test(test_full_page_splits),
                cmocka_unit_test(test_paging_within_slice),
                cmocka_unit_test(test_density_sizing),
                cmocka_unit_test(test_bad_pages),
                cmocka_unit_test(test_simulation_no_loss_no_duplicates),
                cmocka_unit_test(test_simulation_restart),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
