#include "poller.h"
#include "timeutil.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cursor_store.h"
#include "log.h"

struct fw_poller {
        fw_poller_opts_t opts;
        fw_arkime_client_t *client;
        fw_os_pool_t *pool; /* the OpenSearch reader, NULL for the viewer's */
        fw_publisher_t *pub;
        fw_cursor_t *cursor;
        fw_arkime_page_t page;
        int64_t *times;
        size_t times_cap;
        /* metrics */
        fw_counter_t *requests, *pulled, *published, *skipped, *rejected, *polls, *splits;
        fw_counter_t *probes, *reread;
        uint64_t delivered_mark; /* fw_publisher_delivered() already counted in published */
        fw_counter_t *err_network, *err_auth, *err_http, *err_json, *err_arkime, *err_page,
                *err_kafka, *err_state;
        fw_gauge_t *lag, *position;
        fw_gauge_t *last_success; /* wall-clock time of the last poll that reached the horizon */
        fw_progress_t progress;   /* the last progress line (wall ms, sessions published) */
        fw_histogram_t *latency;
        int64_t stop_seen_ms; /* monotonic ms the poller first saw *stop, 0 before */
};

static const double latency_bounds[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

#define COUNTER(name, labels, help) fw_metrics_counter(m, name, labels, help)
#define ERRORS                      "fanwatch_producer_errors_total"
#define ERRORS_HELP                 "Failed polls by cause; the cursor does not move"

/* While sessions are being published, at most every 30 s: how many so far, how fast, and where
 * the cursor is (an operator otherwise sees nothing between start-up and the end of a long
 * backfill). */
static void progress_line(fw_poller_t *p) {
        int64_t now = fw_wall_ms(), from = p->progress.last_ms;
        uint64_t published = fw_counter_get(p->published);
        double rate;
        if (!fw_progress_due(&p->progress, now, published, FW_PROGRESS_INTERVAL_MS, &rate))
                return;
        fw_info("producer",
                "progress: %llu sessions published so far, %.0f/s over the last %s; cursor at %s, "
                "lag %s",
                (unsigned long long)published, rate, FW_DURATION(now - from),
                FW_ISO_TIME(p->cursor->position_s),
                FW_DURATION(now - p->cursor->position_s * 1000));
}

fw_poller_t *fw_poller_new(const fw_poller_opts_t *opts, fw_arkime_client_t *client,
                           fw_os_pool_t *pool, fw_publisher_t *pub, fw_cursor_t *cursor,
                           fw_metrics_t *m) {
        fw_poller_t *p = calloc(1, sizeof(*p));
        if (!p)
                return NULL;
        p->opts = *opts;
        p->client = client;
        p->pool = pool;
        p->pub = pub;
        p->cursor = cursor;
        fw_arkime_page_init(&p->page);
        p->requests =
                COUNTER("fanwatch_producer_requests_total", NULL,
                        "Requests to the viewer's /api/sessions (OpenSearch reader: searches)");
        p->polls = COUNTER("fanwatch_producer_polls_total", NULL, "Polls that reached the horizon");
        p->splits = COUNTER("fanwatch_producer_slice_splits_total", NULL,
                            "Full pages whose slice was narrowed and fetched again");
        p->probes = COUNTER("fanwatch_producer_probes_total", NULL,
                            "One-row requests sizing a slice before its pages are read");
        p->reread = COUNTER("fanwatch_producer_sessions_reread_total", NULL,
                            "Sessions fetched in pages whose slice was narrowed and read again");
        p->pulled = COUNTER(
                "fanwatch_producer_sessions_pulled_total", NULL,
                "Sessions received from the viewer in complete slices (or from OpenSearch)");
        p->published = COUNTER("fanwatch_producer_sessions_published_total", NULL,
                               "Sessions Kafka acknowledged");
        p->skipped = COUNTER("fanwatch_producer_sessions_duplicate_total", NULL,
                             "Sessions re-read in the overlap and not published again");
        p->rejected = COUNTER("fanwatch_producer_sessions_rejected_total", NULL,
                              "Sessions missing required fields or with invalid values");
        p->err_network = COUNTER(ERRORS, "kind=\"network\"", ERRORS_HELP);
        p->err_auth = COUNTER(ERRORS, "kind=\"auth\"", ERRORS_HELP);
        p->err_http = COUNTER(ERRORS, "kind=\"http\"", ERRORS_HELP);
        p->err_json = COUNTER(ERRORS, "kind=\"json\"", ERRORS_HELP);
        p->err_arkime = COUNTER(ERRORS, "kind=\"arkime\"", ERRORS_HELP);
        p->err_page = COUNTER(ERRORS, "kind=\"page\"", ERRORS_HELP);
        p->err_kafka = COUNTER(ERRORS, "kind=\"kafka\"", ERRORS_HELP);
        p->err_state = COUNTER(ERRORS, "kind=\"state\"", ERRORS_HELP);
        p->lag = fw_metrics_gauge(m, "fanwatch_producer_cursor_lag_seconds", NULL,
                                  "Now minus the cursor position");
        p->position = fw_metrics_gauge(m, "fanwatch_producer_cursor_position_seconds", NULL,
                                       "Cursor position (@timestamp, epoch seconds)");
        p->last_success = fw_metrics_gauge(
                m, "fanwatch_producer_last_success_timestamp_seconds", NULL,
                "When a poll last reached the horizon (epoch seconds); alert on time() minus it");
        p->progress.last_ms = fw_wall_ms();
        p->latency = fw_metrics_histogram(m, "fanwatch_producer_request_duration_seconds", NULL,
                                          "Viewer (or OpenSearch) request latency", latency_bounds,
                                          sizeof(latency_bounds) / sizeof(latency_bounds[0]));
        return p;
}

void fw_poller_stats(const fw_poller_t *p, fw_poller_stats_t *out) {
        out->requests = fw_counter_get(p->requests);
        out->probes = fw_counter_get(p->probes);
        out->reread = fw_counter_get(p->reread);
        out->published = fw_counter_get(p->published);
}

void fw_poller_free(fw_poller_t *p) {
        if (!p)
                return;
        fw_arkime_page_free(&p->page);
        free(p->times);
        free(p);
}

/* Milliseconds since this poller (or its client, whichever was first) saw *stop; -1 while not
 * stopping. The shutdown budget is counted from there. */
static int64_t stopping_for(fw_poller_t *p, volatile sig_atomic_t *stop) {
        if (!*stop)
                return -1;
        int64_t now = fw_mono_ms(), seen = p->client ? fw_arkime_client_stop_seen(p->client) : 0;
        if (p->stop_seen_ms == 0)
                p->stop_seen_ms = now;
        if (seen == 0 || seen > p->stop_seen_ms)
                seen = p->stop_seen_ms;
        return now - seen;
}

/* Wait for Kafka to acknowledge everything sent. While the broker is away this blocks (the
 * producer stops pulling); on shutdown it gives up delivery_timeout_ms after the stop was seen
 * (then 1: the slice is abandoned, the cursor stays). 0 when all were delivered, -1 on a
 * failed delivery. */
static int wait_delivered(fw_poller_t *p, volatile sig_atomic_t *stop, char *err, size_t errlen) {
        int64_t t0 = fw_mono_ms();
        int warned = 0;
        for (;;) {
                long failed = fw_publisher_wait(p->pub, 100, err, errlen);
                if (failed == 0)
                        return 0;
                if (failed > 0) {
                        fw_counter_add(p->err_kafka, 1);
                        return -1;
                }
                if (!warned && fw_mono_ms() - t0 >= 10000) {
                        fw_warn("producer", "waiting for Kafka: %s", err);
                        warned = 1;
                }
                if (stopping_for(p, stop) >= p->opts.delivery_timeout_ms) {
                        fw_warn("producer",
                                "stopping before Kafka acknowledged the slice (%s): it is read "
                                "again at the next start",
                                err);
                        return 1;
                }
        }
}

/* Kafka did not confirm what was sent (wd from wait_delivered: 1 stopping, -1 failed): some of
 * it may not be in Kafka, so forget what was marked published and read it again (duplicates
 * are harmless, loss is not). Returns wd. */
static int abandon(fw_poller_t *p, int wd) {
        fw_idset_free(&p->cursor->seen);
        fw_cursor_restart(p->cursor);
        return wd;
}

/* Give up on the current poll: nothing after the cursor counts as published any more. */
static int fail(fw_poller_t *p, fw_counter_t *kind) {
        fw_counter_add(kind, 1);
        fw_cursor_restart(p->cursor);
        return -1;
}

/* The position moved past sessions Kafka confirmed: count them, save the position. 0, or -1
 * (the state file could not be written; the poll is abandoned). */
static int checkpoint(fw_poller_t *p, char *err, size_t errlen) {
        uint64_t delivered = fw_publisher_delivered(p->pub);
        fw_counter_add(p->published, delivered - p->delivered_mark);
        p->delivered_mark = delivered;
        if (p->opts.cursor_file && fw_cursor_save(p->opts.cursor_file, p->opts.viewer_id,
                                                  p->cursor->position_s, err, errlen) != 0)
                return fail(p, p->err_state);
        fw_gauge_set(p->position, (double)p->cursor->position_s);
        return 0;
}

/* Publish the page's sessions not yet published in the overlap; *sent and *dup count them.
 * 0, 1 when stopping (gave up waiting for room in Kafka's queue) or -1 on a failure; on either
 * the poll is abandoned (the cursor restarts, nothing counts as published). */
static int publish_page(fw_poller_t *p, volatile sig_atomic_t *stop, size_t *sent, size_t *dup,
                        char *err, size_t errlen) {
        for (size_t i = 0; i < p->page.count; i++) {
                const fw_session_t *s = &p->page.sessions[i];
                int first = fw_cursor_first_sight(p->cursor, s->id, s->db_time_ms);
                if (first < 0) {
                        snprintf(err, errlen, "out of memory");
                        return fail(p, p->err_page);
                }
                if (!first) {
                        (*dup)++;
                        continue;
                }
                if (fw_publisher_send(p->pub, s, err, errlen) != 0) {
                        fw_idset_free(&p->cursor->seen);
                        if (*stop) { /* gave up waiting for room in the queue */
                                fw_cursor_restart(p->cursor);
                                return 1;
                        }
                        return fail(p, p->err_kafka);
                }
                (*sent)++;
        }
        return 0;
}

/* Items of a page the parser refused: counted and logged, never published. */
static void report_rejected(fw_poller_t *p, const char *where) {
        if (!p->page.rejected)
                return;
        fw_counter_add(p->rejected, p->page.rejected);
        fw_warn("producer", "%zu sessions of %s not published: %s", p->page.rejected, where,
                p->page.first_reject);
}

static int poll_slice(fw_poller_t *p, const fw_slice_t *sl, volatile sig_atomic_t *stop, char *err,
                      size_t errlen) {
        const char *body;
        size_t len;
        double ms = 0;
        fw_counter_add(p->requests, 1);
        if (sl->length == 1 && sl->offset == 0)
                fw_counter_add(p->probes, 1);
        int rc = fw_arkime_fetch(p->client, sl, &body, &len, &ms, err, errlen);
        if (rc == FW_ARKIME_ESTOPPED) {
                /* abandoned for a stop: nothing of the slice counts, the cursor stays at its
                 * start (not an error) */
                fw_idset_free(&p->cursor->seen);
                fw_cursor_restart(p->cursor);
                return 1;
        }
        fw_histogram_observe(p->latency, ms / 1000.0);
        if (rc != FW_ARKIME_OK)
                return fail(p, rc == FW_ARKIME_EAUTH   ? p->err_auth
                               : rc == FW_ARKIME_EHTTP ? p->err_http
                                                       : p->err_network);
        if (fw_arkime_page_parse(&p->page, body, len, err, errlen) != 0)
                return fail(p, strncmp(err, "arkime error", 12) == 0 ? p->err_arkime : p->err_json);

        size_t n = p->page.count, returned = n + p->page.rejected;
        /* one time per row the viewer returned: rejected rows have none (FW_ABSENT) */
        if (returned > p->times_cap) {
                int64_t *t = realloc(p->times, returned * sizeof(*t));
                if (!t) {
                        snprintf(err, errlen, "out of memory");
                        return fail(p, p->err_page);
                }
                p->times = t;
                p->times_cap = returned;
        }
        for (size_t i = n; i < returned; i++)
                p->times[i] = FW_ABSENT;
        for (size_t i = 0; i < n; i++) {
                p->times[i] = p->page.sessions[i].db_time_ms;
                if (fw_cursor_slice_row(p->cursor, sl, p->page.sessions[i].id) != 0) {
                        snprintf(err, errlen, "out of memory");
                        return fail(p, p->err_page);
                }
        }
        /* rejected items count towards what the viewer returned */
        for (size_t i = 0; i < p->page.rejected; i++)
                (void)fw_cursor_slice_row(p->cursor, sl, NULL);
        int verdict = fw_cursor_check_page(p->cursor, sl, returned, p->page.records_filtered,
                                           p->times, err, errlen);
        if (verdict == FW_PAGE_SPLIT) {
                fw_counter_add(p->splits, 1);
                fw_counter_add(p->reread, returned);
                return 0;
        }
        if (verdict != FW_PAGE_COMPLETE && verdict != FW_PAGE_MORE)
                return fail(p, p->err_page);
        if (p->page.rejected) {
                char where[96];
                snprintf(where, sizeof(where), "slice [%s, %s]", FW_ISO_TIME(sl->start_s),
                         FW_ISO_TIME(sl->stop_s));
                report_rejected(p, where);
        }
        fw_counter_add(p->pulled, n);

        size_t sent = 0, dup = 0;
        int pr = publish_page(p, stop, &sent, &dup, err, errlen);
        if (pr != 0)
                return pr;
        fw_counter_add(p->skipped, dup);
        if (verdict == FW_PAGE_MORE) {
                /* the next page is fetched while Kafka acknowledges this one: the wait (and the
                 * position) come with the slice's last page */
                fw_debug("producer",
                         "slice [%s, %s] start %u length %u: %zu sessions, %zu sent, %zu "
                         "re-read; more",
                         FW_ISO_TIME(sl->start_s), FW_ISO_TIME(sl->stop_s), sl->offset, sl->length,
                         n, sent, dup);
                return 0;
        }
        int wd = wait_delivered(p, stop, err, errlen);
        if (wd != 0)
                return abandon(p, wd);
        fw_cursor_complete(p->cursor, sl);
        if (checkpoint(p, err, errlen) != 0)
                return -1;
        fw_debug("producer",
                 "slice [%s, %s] start %u length %u: %zu sessions, %zu published, %zu "
                 "re-read; complete",
                 FW_ISO_TIME(sl->start_s), FW_ISO_TIME(sl->stop_s), sl->offset, sl->length, n, sent,
                 dup);
        progress_line(p);
        return 0;
}

/* The OpenSearch reader waits for Kafka and moves the position every this many pages (and at
 * the window's end): a restart re-reads at most that much, a long backlog is not held. */
#define OS_CHECKPOINT_PAGES 8

static fw_counter_t *os_error_kind(fw_poller_t *p, int rc, const char *err) {
        if (rc == FW_ARKIME_EAUTH)
                return p->err_auth;
        if (rc == FW_ARKIME_EHTTP)
                return p->err_http;
        if (rc == FW_OS_EANSWER)
                return strncmp(err, "opensearch error", 16) == 0 ? p->err_arkime
                       : strncmp(err, "not JSON", 8) == 0        ? p->err_json
                                                                 : p->err_page;
        return p->err_network;
}

/* One poll of the OpenSearch reader: the window [position - overlap, horizon] under one point
 * in time, the pool's pages as they come. Returns as fw_poller_poll. */
static int poll_opensearch(fw_poller_t *p, int64_t now_ms, volatile sig_atomic_t *stop, char *err,
                           size_t errlen) {
        int64_t from_ms, to_ms;
        if (!fw_cursor_window(p->cursor, now_ms, &from_ms, &to_ms))
                return 0;
        if (*stop)
                return 1;
        int rc = fw_os_pool_begin(p->pool, from_ms, to_ms, err, errlen);
        if (rc != 0)
                return rc == FW_ARKIME_ESTOPPED ? 1 : fail(p, os_error_kind(p, rc, err));
        int pages = 0;
        for (;;) {
                /* stop between pages: the position is where the last checkpoint put it */
                if (*stop) {
                        fw_os_pool_end(p->pool);
                        return abandon(p, 1);
                }
                (void)stopping_for(p, stop);
                double ms = 0;
                rc = fw_os_pool_take(p->pool, &p->page, &ms, err, errlen);
                if (rc < 0) {
                        if (rc == FW_ARKIME_ESTOPPED)
                                return abandon(p, 1);
                        return fail(p, os_error_kind(p, rc, err));
                }
                int last = rc == 1; /* every stream read the window to its end */
                if (!last) {
                        fw_counter_add(p->requests, 1);
                        fw_histogram_observe(p->latency, ms / 1000.0);
                        if (p->page.rejected) {
                                char where[128];
                                snprintf(where, sizeof(where), "OpenSearch window [%s, %s]",
                                         FW_ISO_TIME(from_ms / 1000), FW_ISO_TIME(to_ms / 1000));
                                report_rejected(p, where);
                        }
                        fw_counter_add(p->pulled, p->page.count);
                        size_t sent = 0, dup = 0;
                        int pr = publish_page(p, stop, &sent, &dup, err, errlen);
                        if (pr != 0) {
                                fw_os_pool_end(p->pool);
                                return pr;
                        }
                        fw_counter_add(p->skipped, dup);
                        if (++pages < OS_CHECKPOINT_PAGES)
                                continue;
                }
                pages = 0;
                int wd = wait_delivered(p, stop, err, errlen);
                if (wd != 0) {
                        fw_os_pool_end(p->pool);
                        return abandon(p, wd);
                }
                /* every stream is sorted on @timestamp: everything before the second of the
                 * earliest last hit was read */
                fw_cursor_advance(p->cursor,
                                  last ? to_ms / 1000
                                       : fw_floor_div(fw_os_pool_position_ms(p->pool), 1000));
                if (checkpoint(p, err, errlen) != 0) {
                        fw_os_pool_end(p->pool);
                        return -1;
                }
                fw_debug("producer", "OpenSearch window [%s, %s]: position %s%s",
                         FW_ISO_TIME(from_ms / 1000), FW_ISO_TIME(to_ms / 1000),
                         FW_ISO_TIME(p->cursor->position_s), last ? "; complete" : "");
                progress_line(p);
                if (last)
                        break;
        }
        fw_os_pool_end(p->pool);
        return 0;
}

int fw_poller_poll(fw_poller_t *p, int64_t now_ms, volatile sig_atomic_t *stop, char *err,
                   size_t errlen) {
        fw_slice_t sl;
        if (p->pool) {
                int rc = poll_opensearch(p, now_ms, stop, err, errlen);
                if (rc != 0)
                        return rc;
        }
        while (!p->pool && fw_cursor_next(p->cursor, now_ms, &sl)) {
                /* a slice being paged is finished first (a page or two), so that a stop
                 * re-reads no more than the overlap */
                if (*stop && sl.offset == 0) {
                        fw_cursor_restart(p->cursor);
                        return 1;
                }
                (void)stopping_for(p, stop); /* the budget starts when the stop is first seen */
                int rc = poll_slice(p, &sl, stop, err, errlen);
                if (rc != 0)
                        return rc;
        }
        fw_counter_add(p->polls, 1);
        /* in whole ms, then seconds: subtracting the two as doubles rendered float noise
         * (2.8340001106262207) */
        fw_gauge_set_ms(p->lag, now_ms - p->cursor->position_s * 1000);
        fw_gauge_set_ms(p->last_success, fw_wall_ms());
        return 0;
}
