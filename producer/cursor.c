#include "cursor.h"
#include "timeutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "session.h"

/* Slices are sized to fill this share of the paging window, from the density seen so far. */
#define FILL 0.7
/* A slice this wide (s) whose density is unknown is probed before its first page. */
#define PROBE_WIDTH_S 300

void fw_cursor_init(fw_cursor_t *c, const fw_cursor_cfg_t *cfg, int64_t position_s) {
        memset(c, 0, sizeof(*c));
        c->cfg = *cfg;
        if (c->cfg.max_slice_ms < 1000)
                c->cfg.max_slice_ms = 1000;
        if (c->cfg.page_size == 0)
                c->cfg.page_size = 1;
        if (c->cfg.window == 0)
                c->cfg.window = FW_VIEWER_WINDOW;
        if (c->cfg.page_size > c->cfg.window)
                c->cfg.page_size = c->cfg.window;
        if (c->cfg.max_page_size < c->cfg.page_size)
                c->cfg.max_page_size = c->cfg.page_size;
        c->position_s = position_s;
        c->width_s = c->cfg.max_slice_ms / 1000;
        c->length = c->cfg.page_size;
        c->slice_total = -1;
        c->density = -1;
        fw_idset_init(&c->seen);
        fw_idset_init(&c->slice_ids);
}

void fw_cursor_free(fw_cursor_t *c) {
        fw_idset_free(&c->seen);
        fw_idset_free(&c->slice_ids);
}

/* Forget the slice being read: the next request starts it again at offset 0. */
static void slice_reset(fw_cursor_t *c) {
        c->offset = 0;
        c->slice_rows = 0;
        c->slice_distinct = 0;
        c->slice_total = -1;
        fw_idset_prune(&c->slice_ids, INT64_MAX);
}

void fw_cursor_restart(fw_cursor_t *c) {
        c->in_poll = 0;
        c->length = c->cfg.page_size;
        slice_reset(c);
}

/* Sessions slice sl is expected to hold, from the last complete slice's density. */
static double expected_rows(const fw_cursor_t *c, const fw_slice_t *sl) {
        int64_t width = sl->stop_s > sl->start_s ? sl->stop_s - sl->start_s : 1;
        if (c->density < 0)
                return width >= PROBE_WIDTH_S ? HUGE_VAL : 0;
        return c->density * (double)width;
}

int fw_cursor_next(fw_cursor_t *c, int64_t now_ms, fw_slice_t *out) {
        int64_t horizon_s = fw_floor_div(now_ms - c->cfg.safety_lag_ms, 1000);
        if (!c->in_poll) {
                c->next_start_s = c->position_s - fw_floor_div(c->cfg.overlap_ms + 999, 1000);
                if (c->next_start_s < 0)
                        c->next_start_s = 0;
                c->in_poll = 1;
        }
        if (c->next_start_s >= horizon_s) {
                c->in_poll = 0;
                return 0;
        }
        out->start_s = c->next_start_s;
        out->stop_s = c->next_start_s + c->width_s;
        if (out->stop_s > horizon_s)
                out->stop_s = horizon_s;
        out->offset = c->offset;
        out->length = c->length;
        if (c->offset == 0 && c->length == c->cfg.page_size) {
                /* Probe first what may not fit the window: after a narrowing, a slice expected
                 * to take more than a page, or a wide range of unknown density (a backfill's
                 * start). Otherwise ask for twice what is expected, so that a burst the density
                 * did not foresee (capture bulk-writes) wastes little if the slice must narrow. */
                double want = expected_rows(c, out);
                if (c->probe || want > (double)c->cfg.page_size)
                        out->length = 1;
                else if (c->counted && 2 * want + 16 < (double)c->cfg.page_size)
                        out->length = (uint32_t)(2 * want + 16);
        } else if (c->offset > 0 && c->offset + out->length > c->cfg.window) {
                out->length = c->cfg.window - c->offset;
        }
        return 1;
}

int fw_cursor_window(const fw_cursor_t *c, int64_t now_ms, int64_t *from_ms, int64_t *to_ms) {
        int64_t horizon_s = fw_floor_div(now_ms - c->cfg.safety_lag_ms, 1000);
        int64_t start_s = c->position_s - fw_floor_div(c->cfg.overlap_ms + 999, 1000);
        if (start_s < 0)
                start_s = 0;
        if (start_s >= horizon_s)
                return 0;
        *from_ms = start_s * 1000;
        *to_ms = horizon_s * 1000;
        return 1;
}

void fw_cursor_advance(fw_cursor_t *c, int64_t position_s) {
        if (position_s > c->position_s)
                c->position_s = position_s;
        fw_idset_prune(&c->seen, c->position_s * 1000 - c->cfg.overlap_ms - 1000);
}

int fw_cursor_slice_row(fw_cursor_t *c, const fw_slice_t *sl, const char *id) {
        (void)sl;
        c->slice_rows++;
        if (id == NULL) {
                c->slice_distinct++;
                return 0;
        }
        int r = fw_idset_add(&c->slice_ids, id, strlen(id), 0);
        if (r < 0)
                return -1;
        c->slice_distinct += (uint64_t)r;
        return 0;
}

/* The slice holds more than can be paged (or an unknown number): narrow it to the density
 * recordsFiltered reveals (else by half) and probe the narrower slice first; at one second,
 * read it in one request of all its rows. FW_PAGE_SPLIT, or FW_PAGE_TOO_DENSE. */
static int narrow(fw_cursor_t *c, const fw_slice_t *sl, int64_t records_filtered, char *err,
                  size_t errlen) {
        int64_t width = sl->stop_s - sl->start_s;
        slice_reset(c);
        /* The viewer asks OpenSearch with rest_total_hits_as_int, which counts exactly; a count
         * of exactly the window looks like a capped one (track_total_hits' default, as some
         * proxies and versions do): a lower bound, assume 4 times more. */
        int capped = records_filtered == (int64_t)c->cfg.window;
        if (width > 1) {
                int64_t w = width / 2;
                if (records_filtered > 0)
                        w = (int64_t)((double)width * FILL * c->cfg.window /
                                      (double)records_filtered / (capped ? 4 : 1));
                c->width_s = w < 1 ? 1 : (w >= width ? width / 2 : w);
                c->length = c->cfg.page_size;
                c->probe = records_filtered > 0;
                return FW_PAGE_SPLIT;
        }
        if (sl->length >= c->cfg.max_page_size) {
                snprintf(err, errlen,
                         "more than %u sessions were written in the second %lld: raise "
                         "arkime.max_page_size",
                         c->cfg.max_page_size, (long long)sl->start_s);
                return FW_PAGE_TOO_DENSE;
        }
        /* every row of the second in one (scrolling) request, with room for late arrivals */
        uint64_t l = capped ? (uint64_t)records_filtered * 4
                     : records_filtered > (int64_t)sl->length
                             ? (uint64_t)records_filtered + (uint64_t)records_filtered / 16 + 16
                             : (uint64_t)sl->length * 4;
        if (capped && l < (uint64_t)sl->length * 4)
                l = (uint64_t)sl->length * 4;
        if (l <= c->cfg.page_size)
                l = (uint64_t)c->cfg.page_size * 4;
        c->length = l > c->cfg.max_page_size ? c->cfg.max_page_size : (uint32_t)l;
        c->width_s = 1;
        c->probe = 0;
        return FW_PAGE_SPLIT;
}

int fw_cursor_check_page(fw_cursor_t *c, const fw_slice_t *sl, size_t count,
                         int64_t records_filtered, const int64_t *db_times_ms, char *err,
                         size_t errlen) {
        for (size_t i = 0; i < count; i++) {
                int64_t t = db_times_ms[i];
                if (t != FW_ABSENT && (t < sl->start_s * 1000 || t > sl->stop_s * 1000)) {
                        snprintf(err, errlen,
                                 "viewer returned a session written at %lld ms, outside the "
                                 "requested @timestamp range [%lld, %lld] s: it ignored "
                                 "bounding=database or startTime/stopTime",
                                 (long long)t, (long long)sl->start_s, (long long)sl->stop_s);
                        return FW_PAGE_OUTSIDE;
                }
        }
        if (sl->offset == 0) {
                if (c->slice_rows != count) { /* the caller did not note rows: count them all */
                        c->slice_rows = count;
                        c->slice_distinct = count;
                }
                c->slice_total = records_filtered;
        }
        int64_t total = c->slice_total;
        c->counted = total >= 0; /* a short first page is only safe when counts page on */
        /* Elasticsearch/OpenSearch count exactly only below 10,000 (track_total_hits): a total
         * at the window is a lower bound, and no total at all proves nothing */
        int exact = total >= 0 && total < (int64_t)c->cfg.window;
        int full = count >= sl->length;
        if (total >= 0 && c->slice_rows < (uint64_t)total && !full) {
                snprintf(err, errlen,
                         "short page: the viewer reports %lld matching sessions but sent %llu (a "
                         "partial search result, e.g. a backend timeout)",
                         (long long)total, (unsigned long long)c->slice_rows);
                slice_reset(c);
                return FW_PAGE_PARTIAL;
        }
        if (full && !(exact && c->slice_rows >= (uint64_t)total)) {
                /* more to read: page on while the slice fits the window, else narrow it */
                if (exact && sl->offset + count < c->cfg.window) {
                        c->offset = sl->offset + (uint32_t)count;
                        c->length = c->cfg.page_size;
                        c->probe = 0;
                        return FW_PAGE_MORE;
                }
                return narrow(c, sl, total, err, errlen);
        }
        if (sl->offset > 0 && c->slice_distinct < (uint64_t)total) {
                /* as many rows as announced but repeats among them: the viewer's order moved
                 * between pages, so some rows may have been skipped. Read it again narrower. */
                return narrow(c, sl, -1, err, errlen);
        }
        c->last_count = c->slice_rows;
        c->probe = 0;
        slice_reset(c);
        return FW_PAGE_COMPLETE;
}

int fw_cursor_first_sight(fw_cursor_t *c, const char *id, int64_t db_time_ms) {
        /* Without @timestamp, keep the id until the position passes the end of the overlap. */
        int64_t ts = db_time_ms != FW_ABSENT ? db_time_ms : c->position_s * 1000;
        return fw_idset_add(&c->seen, id, strlen(id), ts);
}

void fw_cursor_complete(fw_cursor_t *c, const fw_slice_t *sl) {
        if (sl->stop_s > c->position_s)
                c->position_s = sl->stop_s;
        c->next_start_s = sl->stop_s;
        /* size the next slice from this one's density, growing at most 4x at a time */
        int64_t width = sl->stop_s - sl->start_s, max_w = c->cfg.max_slice_ms / 1000;
        int64_t w = width * 4;
        c->density =
                c->last_count > 0 ? (double)c->last_count / (double)(width > 0 ? width : 1) : -1;
        if (c->last_count > 0) {
                int64_t fit =
                        (int64_t)((double)width * FILL * c->cfg.window / (double)c->last_count);
                if (fit < w)
                        w = fit;
        }
        c->width_s = w < 1 ? 1 : (w > max_w ? max_w : w);
        c->length = c->cfg.page_size;
        c->last_count = 0;
        slice_reset(c);
        fw_idset_prune(&c->seen, c->position_s * 1000 - c->cfg.overlap_ms - 1000);
}
