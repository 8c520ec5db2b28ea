/* arkime_page: parse one Arkime viewer /api/sessions response body into fw_session_t records.
 *
 * The body is {"data":[...],"recordsTotal":N,"recordsFiltered":M,...}. Items are nested objects by
 * default ({"source":{"ip":...}}) or dotted keys with flatten=1 ("source.ip"); both are accepted,
 * even mixed (the nested value wins when an item carries both). Singleton fields may arrive as a
 * 1-element array. Absent counters (missing, null, [] or -1) become FW_ABSENT.
 *
 * Errors about the whole response (not JSON, an Arkime "error", no "data" array, a data[]
 * element that is not an object) fail the call and leave the page empty. An item that is an
 * object but lacks a required field or has a value of the wrong type or out of range is skipped
 * and counted in `rejected`; the reason for the first one is kept in `first_reject`.
 *
 * Required per item: id, firstPacket, lastPacket, source.ip, destination.ip, ipProtocol. Times are
 * ms since the epoch; @timestamp (optional) may also be ISO-8601 text with a zone. Ranges: ports
 * 0..65535 (0 when absent), ipProtocol 0..255, times and counters 0..FW_COUNTER_MAX, tcpflags
 * 0..INT32_MAX; numbers are JSON integers or integral reals, never strings of digits. */
#ifndef FW_ARKIME_PAGE_H
#define FW_ARKIME_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "session.h"

#define FW_ARKIME_ERRTEXT_MAX 200 /* bytes of Arkime's own error text copied into err */

typedef struct fw_arkime_page {
        fw_session_t *sessions;   /* accepted sessions, in response order */
        size_t count, cap;        /* sessions used / allocated */
        int64_t records_total;    /* "recordsTotal", -1 when absent or not an integer */
        int64_t records_filtered; /* "recordsFiltered", -1 when absent (may be capped at 10,000) */
        size_t rejected;          /* data[] objects skipped as unusable */
        void *arena;              /* parser memory, reused from page to page (private) */
        char first_reject[256];   /* why the first one was skipped, e.g. "session 3@240518-abc:
                                     field 'source.port': 70000 out of range 0..65535"; "" if none */
} fw_arkime_page_t;

/* Start with an empty page that owns no memory. */
void fw_arkime_page_init(fw_arkime_page_t *p);

/* Empty the page (count, rejected, records, first_reject) but keep the allocated capacity. */
void fw_arkime_page_reset(fw_arkime_page_t *p);

/* Release the sessions array; the page is left as after fw_arkime_page_init. */
void fw_arkime_page_free(fw_arkime_page_t *p);

/* Reset p, then parse len bytes of body (need not be NUL-terminated) into it. Returns 0 (some
 * items may still have been rejected), or -1 with a one-line reason in err and p left empty;
 * -1 only on out-of-memory or a whole-response error. */
int fw_arkime_page_parse(fw_arkime_page_t *p, const char *body, size_t len, char *err,
                         size_t errlen);

/* Append one session document given as JSON text: a sessions3 document as Arkime capture
 * writes it (e.g. from its Kafka plugin) or a data[] item. Without an "id" in the document the
 * id is, in order: id (idlen bytes, the bulk header's _id; NULL for none), the document's own
 * "_id", or "fwdoc-" + a hash of the text (stable across re-reads). The page is
 * not reset: a usable session is appended (count++), an unusable one counted in rejected.
 * -1 with err only when the text is not a JSON object (nothing appended). */
int fw_arkime_doc_append(fw_arkime_page_t *p, const char *json, size_t len, const char *id,
                         size_t idlen, char *err, size_t errlen);

/* What an OpenSearch _search response says besides its hits (fw_arkime_search_parse). */
typedef struct fw_search_info {
        size_t hits;           /* hits returned (accepted + rejected) */
        char *pit_id;          /* the response's pit_id (malloc'd; free it), NULL when absent */
        char last_sort[1024];  /* the last hit's "sort" array as JSON text ("" when none): the
                                  next page's search_after */
        int64_t last_time_ms;  /* its first sort value (@timestamp), -1 when none */
        int64_t first_time_ms; /* the first hit's, -1 when none */
} fw_search_info_t;

/* Reset p, then parse an OpenSearch/Elasticsearch _search response over session indices:
 * every hits.hits[] element's "_source" is read like a stored document, its id the one the
 * viewer gives it ("3@" + "_id" for a sessions3 index, viewer/db.js Db.session2Sid). -1 with err (p
 * left empty) when the body is not JSON, carries an "error" (type and reason quoted), reports
 * timed_out or failed shards (a partial result must not pass for a complete one), or is not a
 * search answer (no _shards.total: ask for it in filter_path; an absent hits.hits is an empty page,
 * as filter_path drops empty arrays); otherwise 0, with rejected items as for a page. info->pit_id
 * is set on success only. */
int fw_arkime_search_parse(fw_arkime_page_t *p, const char *body, size_t len, int in_sort,
                           fw_search_info_t *info, char *err, size_t errlen);

/* The numeric and date fields can come back as sort values instead of doc values: formatting
 * doc values was ~40% of OpenSearch's CPU per page, a sort value is the raw number. The search
 * then sorts on @timestamp, the tie-breaker (unique: it alone decides the order), and one key
 * per field fw_arkime_in_sort() accepts, in fw_session_fields order, each asked with
 * "missing": FW_ARKIME_SORT_MISSING (no real value of these fields), which reads as absent.
 * fw_arkime_search_parse with in_sort != 0 reads them from there, and @timestamp from the first
 * sort value. */
int fw_arkime_in_sort(int field_index);
#define FW_ARKIME_SORT_MISSING (-1)

/* An OpenSearch bulk action line ({"index":{...}} or {"create":{...}}, as capture writes its
 * sessions and the bridge and fanwatch-replay read them): 1, with its "_id" copied into id
 * ("" when it has none or it does not fit idsize); 0 if the line is something else (a
 * document); -1 if it starts like one but is not JSON. */
int fw_arkime_bulk_header(const char *line, size_t len, char *id, size_t idsize);

/* Comma-separated db field names to pass as fields= so the viewer returns every field parsed
 * here. "id" is not among them: it is not a db field (the viewer always adds it to each item). */
extern const char *const FW_ARKIME_FIELDS;

#endif
