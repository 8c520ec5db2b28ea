/* workpool: a fixed set of worker threads, each running the jobs queued to it one at a time, in
 * queue order. The detector queues all runs of a partition to one worker (partition id % threads)
 * so that a partition's engine is fed in offset order on one thread; see consumer.c.
 *
 * Jobs are copied into a bounded queue per worker; the thread queuing or draining waits while
 * a queue is full or busy, calling the pool's wait function every 10 ms meanwhile (the detector
 * serves Kafka delivery reports there, which a worker may be waiting for). */
#ifndef FW_WORKPOOL_H
#define FW_WORKPOOL_H

#include <stddef.h>

typedef struct fw_pool fw_pool_t;

/* Run one job on worker thread `worker` (0 .. nworkers - 1); job points to the pool's copy. */
typedef void (*fw_pool_run_fn)(void *job, int worker, void *ud);

/* Called on a thread waiting in fw_pool_queue or fw_pool_drain, no pool lock held. */
typedef void (*fw_pool_wait_fn)(void *ud);

/* Start nworkers threads, each with a queue of queue_len jobs of job_size bytes.
 * Returns the pool, or NULL (nothing left running) when memory or a thread is missing. */
fw_pool_t *fw_pool_new(int nworkers, int queue_len, size_t job_size, fw_pool_run_fn run,
                       fw_pool_wait_fn wait, void *ud);

/* The number of workers. */
int fw_pool_workers(const fw_pool_t *pool);

/* Copy job into worker's queue (worker modulo the number of workers), waiting while it is
 * full. */
void fw_pool_queue(fw_pool_t *pool, int worker, const void *job);

/* Wait until every worker has run everything queued to it. */
void fw_pool_drain(fw_pool_t *pool);

/* Run what is queued, stop and join the threads, free the pool. NULL is a no-op. */
void fw_pool_free(fw_pool_t *pool);

#endif
