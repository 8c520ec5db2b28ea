/* poller: one producer's loop body: ask the viewer for the next slices, parse them, publish the
 * sessions not yet published, and move the cursor only after Kafka confirmed them all.
 * Every failure leaves the cursor where it was and is counted by kind in the metrics. */
#ifndef FW_POLLER_H
#define FW_POLLER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "arkime_client.h"
#include "arkime_page.h"
#include "cursor.h"
#include "metrics.h"
#include "os_pool.h"
#include "publisher.h"

typedef struct fw_poller_opts {
        const char *cursor_file; /* NULL: keep the position in memory only (backfill) */
        const char *viewer_id;   /* identifies the viewer in the cursor file */
        int delivery_timeout_ms; /* how long to wait for Kafka on shutdown before giving up */
} fw_poller_opts_t;

typedef struct fw_poller fw_poller_t;

/* Create over a client, a publisher and an initialised cursor (all owned by the caller and
 * outliving the poller); registers the producer's metrics in m. With pool (not NULL) the poller
 * reads OpenSearch through it instead of the viewer (client is then NULL): one window per poll
 * from the position minus the overlap to the horizon, paged under a point in time by the pool's
 * streams, the position moved (and saved) every few pages once Kafka confirmed them. */
fw_poller_t *fw_poller_new(const fw_poller_opts_t *opts, fw_arkime_client_t *client,
                           fw_os_pool_t *pool, fw_publisher_t *pub, fw_cursor_t *cursor,
                           fw_metrics_t *m);
void fw_poller_free(fw_poller_t *p);

/* What the poller did so far, for progress lines. */
typedef struct fw_poller_stats {
        uint64_t requests;  /* requests to /api/sessions (or OpenSearch searches) */
        uint64_t probes;    /* of which one-row probes of a slice's size */
        uint64_t reread;    /* rows fetched in pages whose slice was narrowed (read again) */
        uint64_t published; /* sessions Kafka acknowledged */
} fw_poller_stats_t;
void fw_poller_stats(const fw_poller_t *p, fw_poller_stats_t *out);

/* One poll at wall-clock now_ms: slices until the horizon. Returns 0 when caught up, 1 when
 * *stop was raised (between slices, or a slice was abandoned for it: the cursor stays at its
 * start), -1 on a failure (err says which; retry later). */
int fw_poller_poll(fw_poller_t *p, int64_t now_ms, volatile sig_atomic_t *stop, char *err,
                   size_t errlen);

#endif
