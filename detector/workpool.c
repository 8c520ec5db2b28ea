/* workpool: worker threads with one ordered job queue each; see workpool.h. */
#include "workpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct worker {
        fw_pool_t *pool;
        int id;
        pthread_t th;
        pthread_mutex_t mu;
        pthread_cond_t cv;   /* work queued, or quit */
        pthread_cond_t idle; /* queue empty and not busy */
        unsigned char *q;    /* queue_len jobs of job_size bytes, a ring */
        unsigned char *job;  /* the job being run (a copy taken off the ring) */
        int qhead, qlen, busy, quit, started;
} worker_t;

struct fw_pool {
        worker_t *w;
        int n, queue_len;
        size_t job_size;
        fw_pool_run_fn run;
        fw_pool_wait_fn wait;
        void *ud;
};

/* With w->mu held: wait up to 10 ms for w to progress, calling the wait function meanwhile
 * (without the lock: the worker may itself be waiting for what it serves). */
static void wait_worker(fw_pool_t *pool, worker_t *w) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->idle, &w->mu, &ts);
        pthread_mutex_unlock(&w->mu);
        if (pool->wait != NULL)
                pool->wait(pool->ud);
        pthread_mutex_lock(&w->mu);
}

static void *worker_main(void *arg) {
        worker_t *w = arg;
        fw_pool_t *pool = w->pool;
        pthread_mutex_lock(&w->mu);
        for (;;) {
                while (w->qlen == 0 && !w->quit)
                        pthread_cond_wait(&w->cv, &w->mu);
                if (w->qlen == 0 && w->quit)
                        break;
                memcpy(w->job, w->q + (size_t)w->qhead * pool->job_size, pool->job_size);
                w->qhead = (w->qhead + 1) % pool->queue_len;
                w->qlen--;
                w->busy = 1;
                pthread_mutex_unlock(&w->mu);
                pool->run(w->job, w->id, pool->ud);
                pthread_mutex_lock(&w->mu);
                w->busy = 0;
                if (w->qlen == 0)
                        pthread_cond_broadcast(&w->idle);
        }
        pthread_mutex_unlock(&w->mu);
        return NULL;
}

fw_pool_t *fw_pool_new(int nworkers, int queue_len, size_t job_size, fw_pool_run_fn run,
                       fw_pool_wait_fn wait, void *ud) {
        if (nworkers < 1 || queue_len < 1 || job_size == 0 || run == NULL)
                return NULL;
        fw_pool_t *pool = calloc(1, sizeof(*pool));
        if (pool == NULL)
                return NULL;
        pool->w = calloc((size_t)nworkers, sizeof(*pool->w));
        if (pool->w == NULL) {
                free(pool);
                return NULL;
        }
        pool->queue_len = queue_len;
        pool->job_size = job_size;
        pool->run = run;
        pool->wait = wait;
        pool->ud = ud;
        for (int i = 0; i < nworkers; i++) {
                worker_t *w = &pool->w[i];
                w->pool = pool;
                w->id = i;
                pthread_mutex_init(&w->mu, NULL);
                pthread_cond_init(&w->cv, NULL);
                pthread_cond_init(&w->idle, NULL);
                pool->n = i + 1; /* initialised: fw_pool_free cleans it up */
                w->q = malloc((size_t)queue_len * job_size);
                w->job = malloc(job_size);
                if (w->q == NULL || w->job == NULL ||
                    pthread_create(&w->th, NULL, worker_main, w) != 0) {
                        fw_pool_free(pool);
                        return NULL;
                }
                w->started = 1;
        }
        return pool;
}

int fw_pool_workers(const fw_pool_t *pool) {
        return pool->n;
}

void fw_pool_queue(fw_pool_t *pool, int worker, const void *job) {
        worker_t *w = &pool->w[worker % pool->n];
        pthread_mutex_lock(&w->mu);
        while (w->qlen == pool->queue_len)
                wait_worker(pool, w);
        memcpy(w->q + (size_t)((w->qhead + w->qlen) % pool->queue_len) * pool->job_size, job,
               pool->job_size);
        w->qlen++;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
}

void fw_pool_drain(fw_pool_t *pool) {
        for (int i = 0; i < pool->n; i++) {
                worker_t *w = &pool->w[i];
                pthread_mutex_lock(&w->mu);
                while (w->qlen > 0 || w->busy)
                        wait_worker(pool, w);
                pthread_mutex_unlock(&w->mu);
        }
}

void fw_pool_free(fw_pool_t *pool) {
        if (pool == NULL)
                return;
        for (int i = 0; i < pool->n; i++) {
                worker_t *w = &pool->w[i];
                if (w->started) {
                        pthread_mutex_lock(&w->mu);
                        w->quit = 1;
                        pthread_cond_signal(&w->cv);
                        pthread_mutex_unlock(&w->mu);
                        pthread_join(w->th, NULL);
                }
                free(w->q);
                free(w->job);
                pthread_mutex_destroy(&w->mu);
                pthread_cond_destroy(&w->cv);
                pthread_cond_destroy(&w->idle);
        }
        free(pool->w);
        free(pool);
}
