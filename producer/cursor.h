/* cursor: which Arkime sessions to ask for next, and when the position may move.
 *
 * The producer reads /api/sessions with bounding=database, i.e. by @timestamp (when Arkime
 * wrote the record), never by packet time, so long and late-indexed sessions cannot slip past.
 * Times on the API are whole seconds and both ends are inclusive: a slice [a, b] returns every
 * session with a*1000 <= @timestamp <= b*1000.
 *
 * - position: every session with @timestamp < position*1000 has been published and confirmed
 *   by Kafka. It is what the state file keeps; it only moves forward, and only when the caller
 *   reports a slice's sessions delivered (fw_cursor_complete).
 * - horizon: now minus the safety lag (Arkime's own periodic queries wait 85 s for the index
 *   refresh); nothing after it is asked for.
 * - overlap: each poll starts that far before the position and drops ids already published
 *   (fw_cursor_first_sight), catching records that became visible late.
 * - slices: a poll walks [position - overlap, horizon] in slices sized to hold about 70% of
 *   what the viewer pages without scrolling (start + length <= 10,000, FW_VIEWER_WINDOW). A
 *   slice is read in pages of page_size with start= offsets; the first page's recordsFiltered
 *   says how many to expect. Nothing fetched is thrown away while the slice holds at most the
 *   window: every page is published, and the slice completes when its distinct ids reach that
 *   count (fewer distinct ids than rows means the viewer's order moved between pages: the slice
 *   is read again narrower). A slice that holds more than the window is narrowed to the density
 *   recordsFiltered reveals and probed first (a one-row request, which costs little and returns
 *   recordsFiltered), so a burst wastes at most one page; a single second that holds more is
 *   read in one scrolling request of recordsFiltered rows, up to max_page_size. No deep offsets,
 *   no backlog held in memory, a far-behind producer catches up slice by slice. */
#ifndef FW_CURSOR_H
#define FW_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#include "idset.h"

typedef struct fw_cursor_cfg {
        int64_t safety_lag_ms;  /* horizon = now - safety_lag */
        int64_t overlap_ms;     /* re-read before the position at each poll */
        int64_t max_slice_ms;   /* widest slice */
        uint32_t page_size;     /* length= of a request */
        uint32_t window;        /* rows a slice may be paged through (0: FW_VIEWER_WINDOW) */
        uint32_t max_page_size; /* length= cap for a one-second slice that is still full */
} fw_cursor_cfg_t;

/* The viewer pages with from/size up to 10,000 rows; beyond, it scrolls through the prefix. */
#define FW_VIEWER_WINDOW 10000

typedef struct fw_slice {
        int64_t start_s, stop_s; /* startTime, stopTime (inclusive, seconds) */
        uint32_t offset;         /* start= (rows of the slice already read) */
        uint32_t length;         /* length= */
} fw_slice_t;

typedef enum {
        FW_PAGE_COMPLETE = 0,   /* the slice is complete with this page: publish it */
        FW_PAGE_MORE = 2,       /* publish this page, then fetch the slice's next page */
        FW_PAGE_SPLIT = 1,      /* the page was full: the slice was narrowed, fetch again */
        FW_PAGE_TOO_DENSE = -1, /* one second holds more than max_page_size sessions */
        FW_PAGE_PARTIAL = -2,   /* short page but the viewer reports more: a partial result */
        FW_PAGE_OUTSIDE = -3,   /* a session outside the slice: the viewer ignored a parameter */
} fw_page_verdict_t;

typedef struct fw_cursor {
        fw_cursor_cfg_t cfg;
        int64_t position_s;
        int64_t next_start_s; /* start of the next slice within the current poll */
        int64_t width_s;      /* current slice width */
        uint32_t length;      /* current page length */
        size_t last_count;    /* sessions in the slice last judged complete */
        int in_poll;
        int probe;               /* the next slice starts with a one-row request */
        int counted;             /* the viewer reported recordsFiltered on the last page */
        double density;          /* sessions per second of the last complete slice, -1: unknown */
        int64_t slice_total;     /* recordsFiltered of the slice's first page (-1: unknown) */
        uint64_t slice_rows;     /* rows of the current slice received so far */
        uint64_t slice_distinct; /* of which distinct (fw_cursor_slice_row) */
        uint32_t offset;         /* start= of the next page of the current slice */
        fw_idset_t slice_ids;    /* ids of the current slice */
        fw_idset_t seen;         /* ids published at or after position - overlap */
} fw_cursor_t;

/* Start at position_s (from the state file, or where a backfill begins). */
void fw_cursor_init(fw_cursor_t *c, const fw_cursor_cfg_t *cfg, int64_t position_s);
void fw_cursor_free(fw_cursor_t *c);

/* The next slice to fetch at wall-clock time now_ms: 1 and *out set, or 0 when the poll has
 * reached the horizon (the next call starts a new poll from position - overlap). */
int fw_cursor_next(fw_cursor_t *c, int64_t now_ms, fw_slice_t *out);

/* Note one row of the page being judged, before fw_cursor_check_page: id NULL for a row the
 * parser rejected (it counts as distinct). 0, or -1 when out of memory. */
int fw_cursor_slice_row(fw_cursor_t *c, const fw_slice_t *sl, const char *id);

/* Judge a fetched page for slice sl: count rows, the viewer's recordsFiltered (-1 if absent)
 * and their @timestamps (FW_ABSENT entries are not checked). FW_PAGE_MORE: publish the page,
 * the next fw_cursor_next continues the slice. FW_PAGE_SPLIT: the slice was narrowed (or the
 * length raised) for the next fw_cursor_next; this page need not be published. Negative
 * verdicts write the reason into err; the caller restarts the poll. */
int fw_cursor_check_page(fw_cursor_t *c, const fw_slice_t *sl, size_t count,
                         int64_t records_filtered, const int64_t *db_times_ms, char *err,
                         size_t errlen);

/* 1 if this id has not been published in the overlap (and remember it), 0 if it has, -1 when
 * out of memory. */
int fw_cursor_first_sight(fw_cursor_t *c, const char *id, int64_t db_time_ms);

/* Every session of slice sl was delivered: move the position to its end (if later), widen the
 * next slice, forget ids older than the overlap. */
void fw_cursor_complete(fw_cursor_t *c, const fw_slice_t *sl);

/* The OpenSearch reader's window at wall-clock now_ms, @timestamp [*from_ms, *to_ms] (both
 * included): from the position minus the overlap to the horizon, the range the viewer reader's
 * slices cover. 1, or 0 when the overlap's start is at the horizon (nothing to read). */
int fw_cursor_window(const fw_cursor_t *c, int64_t now_ms, int64_t *from_ms, int64_t *to_ms);

/* Every session with @timestamp < position_s*1000 was delivered: move the position there (if
 * later) and forget ids older than the overlap. */
void fw_cursor_advance(fw_cursor_t *c, int64_t position_s);

/* Forget the poll in progress (after a failed request): the next call starts a new poll from
 * position - overlap. The position is unchanged. */
void fw_cursor_restart(fw_cursor_t *c);

#endif
