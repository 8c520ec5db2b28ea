/* opensearch: the producer's direct reader of Arkime's session indices in OpenSearch or
 * Elasticsearch, past the viewer's limits (docs/producer.md, "Readers").
 *
 * A window of @timestamp [from, to] (ms, both included, the cursor's) is read under one
 * point-in-time (PIT) in pages sorted on @timestamp then a tie-breaker (_id by default: OpenSearch
 * 2.x has no _shard_doc), each page asking search_after the previous page's last sort values,
 * fetching only the fields fanwatch uses: from doc values by default (no stored field is read:
 * OpenSearch then spends less than half the CPU it spends reading and filtering _source,
 * measured in docs/benchmarks.md), or from _source. A page that timed out or lost a shard is
 * an error (allow_partial_search_results=false, and the answer is checked), never a short page.
 * Several producers split one cluster without overlap by PIT slices (slice id of max: the same
 * document always falls in the same slice). An Arkime expression is translated once by the
 * viewer's /api/buildquery, so that it means exactly what it means in Arkime. */
#ifndef FW_OPENSEARCH_H
#define FW_OPENSEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "arkime_client.h"
#include "arkime_page.h"

typedef struct fw_os_opts {
        const char *index; /* index pattern, e.g. "arkime_sessions3-*" */
        const char
                *tiebreaker; /* second sort field: "_id" (OpenSearch) or "_shard_doc" (ES 7.12+) */
        const char *keep_alive; /* the PIT's keep_alive between two pages, e.g. "2m" */
        uint32_t page_size;     /* hits per request (at most index.max_result_window, 10,000) */
        uint32_t slice_id;      /* this producer's slice ... */
        uint32_t slice_max;     /* ... of that many (0 or 1: no slicing) */
        int fetch_source;       /* 1: _source filtered to the fields; 0: doc values (cheaper) */
} fw_os_opts_t;

/* Negative results besides fw_arkime_err_t's. */
#define FW_OS_EANSWER                                                                              \
        (-10) /* an answer that is not a page: OpenSearch's error, partial, bad JSON */

typedef struct fw_os fw_os_t;

/* A reader over http (a client pointed at OpenSearch, owned by the caller). NULL with err on bad
 * options or out of memory. */
fw_os_t *fw_os_new(const fw_os_opts_t *o, fw_arkime_client_t *http, char *err, size_t errlen);

/* Close an open PIT (best effort) and free. */
void fw_os_free(fw_os_t *os);

/* Ask the viewer (client viewer) what OpenSearch query the Arkime expression is
 * (/api/buildquery with date=-1, so no time range) and AND it into every search. 0, or a
 * negative fw_arkime_err_t / FW_OS_EANSWER with err (the viewer's own parse error quoted). */
int fw_os_set_expression(fw_os_t *os, fw_arkime_client_t *viewer, const char *expression, char *err,
                         size_t errlen);

/* Hits per page (a shorter page is a window's last). */
uint32_t fw_os_page_size(const fw_os_t *os);

/* The translated query (JSON text), NULL without an expression. */
const char *fw_os_query(const fw_os_t *os);

/* Start reading window [from_ms, to_ms]: open a PIT over the index. 0, or a negative code with
 * err. A PIT still open from an unfinished window is closed first. */
int fw_os_begin(fw_os_t *os, int64_t from_ms, int64_t to_ms, char *err, size_t errlen);

/* Read the window leader has open, under its point in time (a parallel stream of another
 * slice; the point in time stays leader's to close). 0, or -1 when leader has no window. */
int fw_os_join(fw_os_t *os, const fw_os_t *leader);

/* Fetch the window's next page into page (sessions in sort order) and info: 0, with *done set
 * when it was the window's last, or a negative code with err; *ms gets the request's latency.
 * The window is read in sub-ranges of @timestamp sized to about two pages from the density
 * seen, so that a query visits about a page of documents, not the rest of the window. */
int fw_os_next(fw_os_t *os, fw_arkime_page_t *page, fw_search_info_t *info, int *done, double *ms,
               char *err, size_t errlen);

/* Done with the window (or giving up on it): close its PIT, best effort. */
void fw_os_end(fw_os_t *os);

/* The body of a search request: window [from_ms, to_ms] under pit_id (NULL: none, the index
 * is then in the URL), ANDed with query (JSON text or NULL), after search_after (a JSON array
 * text, NULL or "" for the first page). malloc'd, NULL on out of memory. */
char *fw_os_search_body(const fw_os_opts_t *o, const char *query, const char *pit_id,
                        int64_t from_ms, int64_t to_ms, const char *search_after);

#endif
