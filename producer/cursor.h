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
 * - slices: a poll walks [position - overlap, horizon] in slices sized to fill about 70% of a
 *   page at the density seen last. A slice whose page comes back full may hold more than a
 *   page: it is narrowed (to the density recordsFiltered reveals, else by half) and fetched
 *   again, nothing published, down to one second, where the page length grows instead. No deep
 *   offsets, no backlog held in memory, a far-behind producer catches up slice by slice. */
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
        uint32_t max_page_size; /* length= cap for a one-second slice that is still full */
} fw_cursor_cfg_t;

typedef struct fw_slice {
        int64_t start_s, stop_s; /* startTime, stopTime (inclusive, seconds) */
        uint32_t length;         /* length= */
} fw_slice_t;

typedef enum {
        FW_PAGE_COMPLETE = 0,   /* the page holds the whole slice: publish it */
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
        size_t last_count;    /* sessions in the page last judged complete */
        int in_poll;
        fw_idset_t seen; /* ids published at or after position - overlap */
} fw_cursor_t;

/* Start at position_s (from the state file, or where a backfill begins). */
void fw_cursor_init(fw_cursor_t *c, const fw_cursor_cfg_t *cfg, int64_t position_s);
void fw_cursor_free(fw_cursor_t *c);

/* The next slice to fetch at wall-clock time now_ms: 1 and *out set, or 0 when the poll has
 * reached the horizon (the next call starts a new poll from position - overlap). */
int fw_cursor_next(fw_cursor_t *c, int64_t now_ms, fw_slice_t *out);

/* Judge a fetched page for slice sl: count sessions, the viewer's recordsFiltered (-1 if
 * absent) and their @timestamps (FW_ABSENT entries are not checked). On FW_PAGE_SPLIT the
 * slice was narrowed (or the length raised) for the next fw_cursor_next. Negative verdicts
 * leave everything unchanged and write the reason into err. */
int fw_cursor_check_page(fw_cursor_t *c, const fw_slice_t *sl, size_t count,
                         int64_t records_filtered, const int64_t *db_times_ms, char *err,
                         size_t errlen);

/* 1 if this id has not been published in the overlap (and remember it), 0 if it has, -1 when
 * out of memory. */
int fw_cursor_first_sight(fw_cursor_t *c, const char *id, int64_t db_time_ms);

/* Every session of slice sl was delivered: move the position to its end (if later), widen the
 * next slice, forget ids older than the overlap. */
void fw_cursor_complete(fw_cursor_t *c, const fw_slice_t *sl);

/* Forget the poll in progress (after a failed request): the next call starts a new poll from
 * position - overlap. The position is unchanged. */
void fw_cursor_restart(fw_cursor_t *c);

#endif
