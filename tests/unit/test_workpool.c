/* Unit tests for detector/workpool.c: a worker runs the jobs queued to it in queue order, one at a
 * time, on its own thread; a full queue makes the queuing thread wait (calling the wait function)
 * without losing a job; drain returns only once everything queued ran; free runs what is left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workpool.h"

#define NW    3
#define NJOBS 3000
#define QLEN  4

typedef struct job {
        int key; /* queued to worker key % NW */
        int seq; /* per key, 0, 1, 2... */
} job_t;

typedef struct rec {
        pthread_mutex_t mu;
        int next_seq[NW * 4]; /* per key: the next sequence number expected */
        pthread_t thread[NW]; /* the thread that ran worker i's jobs */
        int seen_thread[NW];
        atomic_int running[NW]; /* jobs running at once on worker i */
        atomic_int done, out_of_order, concurrent, wrong_thread, waits;
        int slow; /* microseconds per job */
} rec_t;

static void run(void *arg, int worker, void *ud) {
        const job_t *j = arg;
        rec_t *r = ud;
        if (atomic_fetch_add(&r->running[worker], 1) != 0)
                atomic_fetch_add(&r->concurrent, 1);
        pthread_mutex_lock(&r->mu);
        if (j->key % NW != worker)
                atomic_fetch_add(&r->wrong_thread, 1);
        if (!r->seen_thread[worker]) {
                r->seen_thread[worker] = 1;
                r->thread[worker] = pthread_self();
        } else if (!pthread_equal(r->thread[worker], pthread_self())) {
                atomic_fetch_add(&r->wrong_thread, 1);
        }
        if (r->next_seq[j->key] != j->seq)
                atomic_fetch_add(&r->out_of_order, 1);
        r->next_seq[j->key] = j->seq + 1;
        pthread_mutex_unlock(&r->mu);
        if (r->slow > 0) {
                struct timespec ts = {0, (long)r->slow * 1000L};
                nanosleep(&ts, NULL);
        }
        atomic_fetch_sub(&r->running[worker], 1);
        atomic_fetch_add(&r->done, 1);
}

static void on_wait(void *ud) {
        rec_t *r = ud;
        atomic_fetch_add(&r->waits, 1);
}

static rec_t *rec_new(int slow) {
        rec_t *r = calloc(1, sizeof(*r));
        assert_non_null(r);
        pthread_mutex_init(&r->mu, NULL);
        r->slow = slow;
        return r;
}

static void rec_free(rec_t *r) {
        pthread_mutex_destroy(&r->mu);
        free(r);
}

/* Queue jobs of 12 keys over 3 workers with tiny queues, drain: all ran, each key in order, each
 * worker's jobs on one thread and never two at once; the full queues made the producer wait. */
static void test_order_and_drain(void **state) {
        (void)state;
        rec_t *r = rec_new(20);
        fw_pool_t *p = fw_pool_new(NW, QLEN, sizeof(job_t), run, on_wait, r);
        assert_non_null(p);
        assert_int_equal(fw_pool_workers(p), NW);
        int seq[NW * 4] = {0};
        for (int i = 0; i < NJOBS / 10; i++) {
                job_t j = {(i * 7) % (NW * 4), 0};
                j.seq = seq[j.key]++;
                fw_pool_queue(p, j.key, &j);
        }
        fw_pool_drain(p);
        assert_int_equal(atomic_load(&r->done), NJOBS / 10); /* drain waited for every job */
        assert_int_equal(atomic_load(&r->out_of_order), 0);
        assert_int_equal(atomic_load(&r->concurrent), 0);
        assert_int_equal(atomic_load(&r->wrong_thread), 0);
        assert_true(atomic_load(&r->waits) > 0); /* queues of 4 filled up */
        for (int k = 0; k < NW * 4; k++)
                assert_int_equal(r->next_seq[k], seq[k]);
        fw_pool_free(p);
        rec_free(r);
}

/* Free with jobs still queued: they run first (nothing queued is dropped). */
static void test_free_runs_queued(void **state) {
        (void)state;
        rec_t *r = rec_new(0);
        fw_pool_t *p = fw_pool_new(NW, 64, sizeof(job_t), run, NULL, r);
        assert_non_null(p);
        int seq[NW * 4] = {0};
        for (int i = 0; i < NJOBS; i++) {
                job_t j = {i % (NW * 4), 0};
                j.seq = seq[j.key]++;
                fw_pool_queue(p, j.key, &j);
        }
        fw_pool_free(p);
        assert_int_equal(atomic_load(&r->done), NJOBS);
        assert_int_equal(atomic_load(&r->out_of_order), 0);
        rec_free(r);
}

/* Bad arguments: no pool. */
static void test_bad_arguments(void **state) {
        (void)state;
        assert_null(fw_pool_new(0, 4, sizeof(job_t), run, NULL, NULL));
        assert_null(fw_pool_new(1, 0, sizeof(job_t), run, NULL, NULL));
        assert_null(fw_pool_new(1, 4, 0, run, NULL, NULL));
        assert_null(fw_pool_new(1, 4, sizeof(job_t), NULL, NULL, NULL));
        fw_pool_free(NULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_order_and_drain),
                cmocka_unit_test(test_free_runs_queued),
                cmocka_unit_test(test_bad_arguments),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
