#include "cursor.h"

#include <stdio.h>
#include <string.h>

#include "session.h"

/* Slices are sized to fill this share of a page, from the density seen so far. */
#define FILL 0.7

static int64_t floor_div(int64_t a, int64_t b) {
        return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

void fw_cursor_init(fw_cursor_t *c, const fw_cursor_cfg_t *cfg, int64_t position_s) {
        memset(c, 0, sizeof(*c));
        c->cfg = *cfg;
        if (c->cfg.max_slice_ms < 1000)
                c->cfg.max_slice_ms = 1000;
        if (c->cfg.page_size == 0)
                c->cfg.page_size = 1;
        if (c->cfg.max_page_size < c->cfg.page_size)
                c->cfg.max_page_size = c->cfg.page_size;
        c->position_s = position_s;
        c->width_s = c->cfg.max_slice_ms / 1000;
        c->length = c->cfg.page_size;
        fw_idset_init(&c->seen);
}

void fw_cursor_free(fw_cursor_t *c) {
        fw_idset_free(&c->seen);
}

void fw_cursor_restart(fw_cursor_t *c) {
        c->in_poll = 0;
}

int fw_cursor_next(fw_cursor_t *c, int64_t now_ms, fw_slice_t *out) {
        int64_t horizon_s = floor_div(now_ms - c->cfg.safety_lag_ms, 1000);
        if (!c->in_poll) {
                c->next_start_s = c->position_s - floor_div(c->cfg.overlap_ms + 999, 1000);
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
        out->length = c->length;
        return 1;
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
        if (count >= sl->length) {
                /* Full: there may be more. Narrow the slice (to the density recordsFiltered
                 * reveals when it says more, else by half), or raise the length at 1 s. */
                int64_t width = sl->stop_s - sl->start_s;
                if (width > 1) {
                        int64_t w = width / 2;
                        if (records_filtered > (int64_t)count)
                                w = (int64_t)((double)width * FILL * sl->length /
                                              (double)records_filtered);
                        c->width_s = w < 1 ? 1 : (w >= width ? width / 2 : w);
                } else if (sl->length < c->cfg.max_page_size) {
                        uint64_t l = (uint64_t)sl->length * 4;
                        c->length = l > c->cfg.max_page_size ? c->cfg.max_page_size : (uint32_t)l;
                        c->width_s = 1;
                } else {
                        snprintf(err, errlen,
                                 "more than %u sessions were written in the second %lld: raise "
                                 "arkime.max_page_size",
                                 c->cfg.max_page_size, (long long)sl->start_s);
                        return FW_PAGE_TOO_DENSE;
                }
                return FW_PAGE_SPLIT;
        }
        c->last_count = count;
        if (records_filtered >= 0 && (uint64_t)records_filtered != count) {
                snprintf(err, errlen,
                         "short page: the viewer reports %lld matching sessions but sent %zu "
                         "(a partial search result, e.g. a backend timeout)",
                         (long long)records_filtered, count);
                return FW_PAGE_PARTIAL;
        }
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
        if (c->last_count > 0) {
                int64_t fit =
                        (int64_t)((double)width * FILL * c->cfg.page_size / (double)c->last_count);
                if (fit < w)
                        w = fit;
        }
        c->width_s = w < 1 ? 1 : (w > max_w ? max_w : w);
        c->length = c->cfg.page_size;
        c->last_count = 0;
        fw_idset_prune(&c->seen, c->position_s * 1000 - c->cfg.overlap_ms - 1000);
}
