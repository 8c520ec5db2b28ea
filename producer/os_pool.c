#include "os_pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

/* One stream: a thread reading one slice of the window into `work`, then handing it over in
 * `ready` (one page ahead of the caller). Fields under the pool's lock: ready_full, rc, err,
 * ms, done, go, quit. */
typedef struct stream {
        pthread_t th;
        int started;
        fw_arkime_client_t *http;
        fw_os_t *os;
        fw_arkime_page_t work, ready;
        fw_search_info_t info; /* of ready */
        int ready_full;        /* ready holds a page (or rc an error) the caller has not taken */
        int rc;                /* the failure that ended the stream, 0 if none */
        char err[512];
        double ms;
        int done; /* the stream read its slice to the window's end (no more pages) */
        int go;   /* a window to read was started (fw_os_pool_begin) */
        int busy; /* a request is under way (the stream's os and http are in use) */
        int quit; /* stop reading: the window ended or the pool is being freed */
        /* the caller's side (no lock): what it took */
        int64_t taken_ms; /* @timestamp of the last hit taken, window start - 1 before any */
        int finished;     /* the caller took the stream's last page */
} stream_t;

struct fw_os_pool {
        unsigned n;
        stream_t *s;
        pthread_mutex_t mu;
        pthread_cond_t to_caller, to_streams;
        uint32_t page_size;
        int64_t from_ms, to_ms;
        int open;    /* a window is being read */
        unsigned rr; /* round-robin start of fw_os_pool_take */
        int exiting; /* threads end */
};

/* The stream's thread: wait for a window, fetch pages until its last one or quit, hand each
 * over when the slot is free. busy is set while the request runs, so that fw_os_pool_end knows
 * when the stream's reader may be touched. */
static void *stream_main(void *arg) {
        void **a = arg;
        fw_os_pool_t *pool = a[0];
        stream_t *st = a[1];
        free(arg);
        pthread_mutex_lock(&pool->mu);
        for (;;) {
                while (!pool->exiting && (!st->go || st->quit || st->done || st->rc))
                        pthread_cond_wait(&pool->to_streams, &pool->mu);
                if (pool->exiting)
                        break;
                st->busy = 1;
                pthread_mutex_unlock(&pool->mu);
                fw_search_info_t info;
                char err[512] = "";
                double ms = 0;
                int done = 0;
                int rc = fw_os_next(st->os, &st->work, &info, &done, &ms, err, sizeof(err));
                pthread_mutex_lock(&pool->mu);
                st->busy = 0;
                pthread_cond_broadcast(&pool->to_caller);
                while (st->ready_full && !st->quit && !pool->exiting)
                        pthread_cond_wait(&pool->to_streams, &pool->mu);
                if (st->quit || pool->exiting) {
                        free(info.pit_id);
                        continue;
                }
                /* the pages change places, the parser's arena stays with the work page: one
                 * arena per stream (a page's tree is gone once parsed), not one per page */
                fw_arkime_page_t t = st->ready;
                st->ready = st->work;
                st->work = t;
                void *arena = st->work.arena;
                st->work.arena = st->ready.arena;
                st->ready.arena = arena;
                st->info = info;
                st->ms = ms;
                st->rc = rc;
                snprintf(st->err, sizeof(st->err), "%s", err);
                st->done = rc == 0 && done;
                st->ready_full = 1;
                pthread_cond_broadcast(&pool->to_caller);
        }
        pthread_mutex_unlock(&pool->mu);
        return NULL;
}

void fw_os_pool_free(fw_os_pool_t *pool) {
        if (!pool)
                return;
        fw_os_pool_end(pool);
        pthread_mutex_lock(&pool->mu);
        pool->exiting = 1;
        pthread_cond_broadcast(&pool->to_streams);
        pthread_mutex_unlock(&pool->mu);
        for (unsigned i = 0; i < pool->n; i++) {
                stream_t *st = &pool->s[i];
                if (st->started)
                        pthread_join(st->th, NULL);
                fw_os_free(st->os);
                fw_arkime_client_free(st->http);
                fw_arkime_page_free(&st->work);
                fw_arkime_page_free(&st->ready);
        }
        pthread_cond_destroy(&pool->to_caller);
        pthread_cond_destroy(&pool->to_streams);
        pthread_mutex_destroy(&pool->mu);
        free(pool->s);
        free(pool);
}

fw_os_pool_t *fw_os_pool_new(const fw_os_opts_t *o, const fw_arkime_opts_t *http, unsigned streams,
                             volatile sig_atomic_t *stop, long grace_ms, char *err, size_t errlen) {
        if (streams < 1 || streams > 64) {
                snprintf(err, errlen, "opensearch streams: %u is not within 1..64", streams);
                return NULL;
        }
        fw_os_pool_t *pool = calloc(1, sizeof(*pool));
        if (!pool || !(pool->s = calloc(streams, sizeof(stream_t)))) {
                free(pool);
                snprintf(err, errlen, "out of memory");
                return NULL;
        }
        pthread_mutex_init(&pool->mu, NULL);
        pthread_cond_init(&pool->to_caller, NULL);
        pthread_cond_init(&pool->to_streams, NULL);
        pool->n = streams;
        /* slice I of N with S streams: slices I*S + j of N*S */
        uint32_t base = o->slice_max > 1 ? o->slice_id : 0;
        uint32_t of = o->slice_max > 1 ? o->slice_max : 1;
        for (unsigned i = 0; i < streams; i++) {
                stream_t *st = &pool->s[i];
                fw_arkime_page_init(&st->work);
                fw_arkime_page_init(&st->ready);
                fw_os_opts_t so = *o;
                so.slice_id = base * streams + i;
                so.slice_max = of * streams;
                if (so.slice_max == 1)
                        so.slice_max = 0;
                if (!(st->http = fw_arkime_client_new(http, err, errlen)) ||
                    !(st->os = fw_os_new(&so, st->http, err, errlen)))
                        goto fail;
                fw_arkime_client_set_stop(st->http, stop, grace_ms);
                void **arg = malloc(2 * sizeof(void *));
                if (!arg) {
                        snprintf(err, errlen, "out of memory");
                        goto fail;
                }
                arg[0] = pool;
                arg[1] = st;
                if (pthread_create(&st->th, NULL, stream_main, arg) != 0) {
                        free(arg);
                        snprintf(err, errlen, "cannot start an OpenSearch stream thread");
                        goto fail;
                }
                st->started = 1;
        }
        pool->page_size = fw_os_page_size(pool->s[0].os);
        return pool;
fail:
        fw_os_pool_free(pool);
        return NULL;
}

int fw_os_pool_set_expression(fw_os_pool_t *pool, fw_arkime_client_t *viewer,
                              const char *expression, char *err, size_t errlen) {
        for (unsigned i = 0; i < pool->n; i++) {
                int rc = fw_os_set_expression(pool->s[i].os, viewer, expression, err, errlen);
                if (rc != 0)
                        return rc;
        }
        return 0;
}

const char *fw_os_pool_query(const fw_os_pool_t *pool) {
        return fw_os_query(pool->s[0].os);
}

int fw_os_pool_begin(fw_os_pool_t *pool, int64_t from_ms, int64_t to_ms, char *err, size_t errlen) {
        fw_os_pool_end(pool);
        int rc = fw_os_begin(pool->s[0].os, from_ms, to_ms, err, errlen);
        if (rc != 0)
                return rc;
        for (unsigned i = 1; i < pool->n; i++)
                if (fw_os_join(pool->s[i].os, pool->s[0].os) != 0) {
                        snprintf(err, errlen, "out of memory");
                        fw_os_end(pool->s[0].os);
                        return FW_ARKIME_EINTERNAL;
                }
        pthread_mutex_lock(&pool->mu);
        pool->from_ms = from_ms;
        pool->to_ms = to_ms;
        pool->open = 1;
        for (unsigned i = 0; i < pool->n; i++) {
                stream_t *st = &pool->s[i];
                st->ready_full = st->rc = st->done = st->quit = 0;
                st->go = 1;
                st->taken_ms = from_ms - 1;
                st->finished = 0;
        }
        pthread_cond_broadcast(&pool->to_streams);
        pthread_mutex_unlock(&pool->mu);
        return 0;
}

int fw_os_pool_take(fw_os_pool_t *pool, fw_arkime_page_t *page, double *ms, char *err,
                    size_t errlen) {
        *ms = 0;
        if (!pool->open) {
                snprintf(err, errlen, "no window open");
                return FW_ARKIME_EINTERNAL;
        }
        pthread_mutex_lock(&pool->mu);
        for (;;) {
                unsigned unfinished = 0;
                for (unsigned k = 0; k < pool->n; k++) {
                        stream_t *st = &pool->s[(pool->rr + k) % pool->n];
                        if (st->finished)
                                continue;
                        unfinished++;
                        if (!st->ready_full)
                                continue;
                        pool->rr = (pool->rr + k + 1) % pool->n;
                        int rc = st->rc;
                        if (rc != 0) {
                                snprintf(err, errlen, "%s", st->err);
                                pthread_mutex_unlock(&pool->mu);
                                fw_os_pool_end(pool);
                                return rc;
                        }
                        fw_arkime_page_t t = *page;
                        *page = st->ready;
                        st->ready = t;
                        *ms = st->ms;
                        if (st->info.hits > 0)
                                st->taken_ms = st->info.last_time_ms;
                        st->finished = st->done;
                        st->ready_full = 0;
                        pthread_cond_broadcast(&pool->to_streams);
                        pthread_mutex_unlock(&pool->mu);
                        return 0;
                }
                if (unfinished == 0) {
                        pthread_mutex_unlock(&pool->mu);
                        return 1;
                }
                pthread_cond_wait(&pool->to_caller, &pool->mu);
        }
}

int64_t fw_os_pool_position_ms(const fw_os_pool_t *pool) {
        int64_t pos = pool->to_ms + 1;
        for (unsigned i = 0; i < pool->n; i++)
                if (!pool->s[i].finished && pool->s[i].taken_ms < pos)
                        pos = pool->s[i].taken_ms;
        return pos;
}

void fw_os_pool_end(fw_os_pool_t *pool) {
        if (!pool->open)
                return;
        pthread_mutex_lock(&pool->mu);
        for (unsigned i = 0; i < pool->n; i++) {
                pool->s[i].quit = 1;
                pool->s[i].go = 0;
        }
        pthread_cond_broadcast(&pool->to_streams);
        /* a stream may be in a request (a stop abandons it within the client's grace): wait
         * until none is */
        for (;;) {
                int busy = 0;
                for (unsigned i = 0; i < pool->n; i++)
                        busy |= pool->s[i].busy;
                if (!busy)
                        break;
                pthread_cond_wait(&pool->to_caller, &pool->mu);
        }
        pthread_mutex_unlock(&pool->mu);
        for (unsigned i = pool->n; i-- > 0;)
                fw_os_end(pool->s[i].os); /* the leader (0) last: it closes the PIT */
        pool->open = 0;
}
