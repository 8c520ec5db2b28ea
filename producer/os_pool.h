/* os_pool: the OpenSearch reader's parallel streams. OpenSearch fetches a page's _source on
 * one thread per shard, so one request stream leaves most of a cluster (and of this machine)
 * idle: the pool reads a window as `streams` PIT slices at once, each on its own thread with its
 * own connection, parsing its pages there and handing them to the caller one at a time, with one
 * page fetched ahead. The caller (the poller) publishes them and asks fw_os_pool_position_ms
 * how far every stream's published pages reach.
 *
 * Slices: a producer configured as slice I of N reads slices I*streams + j of N*streams
 * (j < streams): producers that split one cluster must use the same streams. */
#ifndef FW_OS_POOL_H
#define FW_OS_POOL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "arkime_client.h"
#include "arkime_page.h"
#include "opensearch.h"

typedef struct fw_os_pool fw_os_pool_t;

/* Streams over OpenSearch at http (one client each, from http's options, stop watched with
 * grace_ms as fw_arkime_client_set_stop), reading o's index and slice (o->slice_id of
 * o->slice_max, 0 for none) with that many streams (1..64). NULL with err. */
fw_os_pool_t *fw_os_pool_new(const fw_os_opts_t *o, const fw_arkime_opts_t *http, unsigned streams,
                             volatile sig_atomic_t *stop, long grace_ms, char *err, size_t errlen);

/* End a window still open, join the threads, free. */
void fw_os_pool_free(fw_os_pool_t *pool);

/* Translate the Arkime expression with the viewer (fw_os_set_expression) for every stream. */
int fw_os_pool_set_expression(fw_os_pool_t *pool, fw_arkime_client_t *viewer,
                              const char *expression, char *err, size_t errlen);

/* The translated query, NULL without an expression. */
const char *fw_os_pool_query(const fw_os_pool_t *pool);

/* Open a point in time and start every stream on window [from_ms, to_ms]. 0, or a negative
 * fw_arkime_err_t / FW_OS_EANSWER with err. */
int fw_os_pool_begin(fw_os_pool_t *pool, int64_t from_ms, int64_t to_ms, char *err, size_t errlen);

/* Wait for the next page of any stream and swap it into *page (the caller's page goes back to
 * the stream for reuse); *ms is its request's latency. 0: a page (possibly empty); 1: every
 * stream has read the window to its end; negative: a stream failed (err says which; the window
 * is ended). */
int fw_os_pool_take(fw_os_pool_t *pool, fw_arkime_page_t *page, double *ms, char *err,
                    size_t errlen);

/* Every session with @timestamp < the returned ms has been handed out by fw_os_pool_take (the
 * window's start while a stream has handed out nothing; its end + 1 once all finished). */
int64_t fw_os_pool_position_ms(const fw_os_pool_t *pool);

/* Stop the streams (a request under way is abandoned) and close the point in time. */
void fw_os_pool_end(fw_os_pool_t *pool);

#endif
