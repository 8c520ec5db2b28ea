/* tagger: the pure logic of fanwatch-tagger (docs/tagger.md), no network: an alert document
 * into the viewer's POST /api/sessions/addtags request, Arkime's tag sanitising, the viewer's
 * answer classified, a token bucket for the request rate and the retry backoff.
 *
 * The request tags the sessions the alert's fanwatch.viewer_url shows: tags
 * "fanwatch,fanwatch:<rule id>,fanwatch:<alert id>", the alert's fanwatch.expression (none for
 * session_spike_total), startTime/stopTime = its window in whole seconds (start floored, stop
 * ceiled), bounding=first, never date. Arkime's addTags reads tags from the body but builds the
 * session query from the URL's parameters only (viewer.js has no fillQueryFromBody on that route),
 * so the query parameters go into the URL and, the same, into the body. */
#ifndef FW_TAGGER_H
#define FW_TAGGER_H

#include <stddef.h>
#include <stdint.h>

#define FW_TAG_ID_MAX   64  /* longest alert id accepted (fanwatch's are 32 hex digits) */
#define FW_TAG_RULE_MAX 256 /* longest rule id accepted */

/* One alert document as an addtags request. */
typedef struct fw_tag_req {
        char id[FW_TAG_ID_MAX + 1];     /* event.id */
        char rule[FW_TAG_RULE_MAX + 1]; /* rule.id sanitised as Arkime sanitises tags ("" if none
                                         * is left: no rule tag) */
        char *expression;               /* fanwatch.expression (malloc'd), NULL for none */
        int64_t start_s, stop_s;        /* the window: start floored, end ceiled, epoch s */
        int64_t sessions;               /* fanwatch.sessions, -1 when absent */
        char *tags;                     /* "fanwatch,fanwatch:<rule>,fanwatch:<id>" (malloc'd) */
        char *path; /* "/api/sessions/addtags?expression=..&startTime=..&stopTime=..&bounding=first"
                     */
        char *form; /* the x-www-form-urlencoded body: tags, then the same query parameters */
        size_t form_len;
} fw_tag_req_t;

/* Copy in to out keeping only what Arkime keeps in a tag list ([-a-zA-Z0-9_:,]); with
 * keep_comma 0 the ',' (Arkime's tag separator) goes too. Returns the length written (out is
 * NUL-terminated; cut to outlen - 1). */
size_t fw_tag_sanitize(const char *in, int keep_comma, char *out, size_t outlen);

/* "2024-05-18T10:00:05.123Z" (also without fraction, with up to 9 fraction digits, or with a
 * +hh:mm / -hh:mm offset) into epoch ms (fraction truncated to ms). 0, or -1 when not that. */
int fw_tag_parse_time(const char *s, int64_t *ms);

/* Read an alert document (JSON) into *r (zeroed first; free with fw_tag_req_free). Needs
 * event.id (characters Arkime keeps in a tag only), rule.id, fanwatch.window.start/.end (times,
 * end not before start), and fanwatch.expression unless rule.id is session_spike_total. 0, or
 * -1 with what is wrong in err (a document that can never be tagged; *r is then empty), or -2
 * when out of memory. */
int fw_tag_req_from_json(const char *json, size_t len, fw_tag_req_t *r, char *err, size_t errlen);

/* Free what *r holds and zero it. */
void fw_tag_req_free(fw_tag_req_t *r);

/* The viewer's answer to addtags. */
typedef enum {
        FW_TAG_TAGGED = 0,      /* {"success":true,...} */
        FW_TAG_NO_SESSIONS = 1, /* {"success":false,"text":"No sessions to add tags to"} */
        FW_TAG_FAILED = 2,      /* anything else: retry; why says what it was */
} fw_tag_answer_t;

/* Classify the body of an HTTP 200 answer; for FW_TAG_FAILED a one-line why ("the viewer said:
 * <text>", or "not JSON: <start of the body>"). */
fw_tag_answer_t fw_tag_classify(const char *body, size_t len, char *why, size_t whylen);

/* Token bucket: rate tokens per second, holding at most burst (>= 1), full at the start. */
typedef struct fw_token_bucket {
        double rate, burst, tokens;
        int64_t last_ms;
} fw_token_bucket_t;

/* Start a bucket at now_ms (monotonic ms), full. */
void fw_tb_init(fw_token_bucket_t *tb, double rate, double burst, int64_t now_ms);

/* Take one token at now_ms: 0 when taken, else the ms to wait until one is there (nothing
 * taken). */
int64_t fw_tb_take(fw_token_bucket_t *tb, int64_t now_ms);

/* Exponential backoff: initial_ms, doubling, at most max_ms. */
typedef struct fw_backoff {
        int64_t initial_ms, max_ms, next_ms;
} fw_backoff_t;

/* Start (or restart after a success) at initial_ms. */
void fw_backoff_init(fw_backoff_t *b, int64_t initial_ms, int64_t max_ms);

/* The wait before the next retry; doubles the one after it, up to max_ms. */
int64_t fw_backoff_next(fw_backoff_t *b);

#endif
