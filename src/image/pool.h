/* A fixed set of worker threads that run queued tasks. The submitter waits
 * for the tasks it needs, in the order it needs them, so results can be
 * consumed in submission order while later tasks still run. */
#ifndef FERRY_POOL_H
#define FERRY_POOL_H

#include <pthread.h>
#include <stdbool.h>

struct pool_task {
	/* Runs on worker number worker (0 to threads-1), so the task can use
	 * per-worker state without locking. */
	void (*run)(struct pool_task *t, unsigned worker);
	struct pool_task *next;
	bool done;
};

struct pool_worker;

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t queued, finished;
	struct pool_task *head, *tail;
	struct pool_worker *workers;
	unsigned threads;
	bool stopping;
};

/* The number of worker threads asked for: 0 means one per online CPU;
 * the result is at least 1 and at most POOL_MAX_THREADS. */
#define POOL_MAX_THREADS 256u
unsigned pool_threads(unsigned asked);

/* Starts threads workers (threads >= 1). They block every signal, so
 * signals go to the caller's thread. */
int pool_start(struct pool *p, unsigned threads);
/* Queues t; t->run must be set. */
void pool_submit(struct pool *p, struct pool_task *t);
/* Returns once t has run. */
void pool_wait(struct pool *p, struct pool_task *t);
/* Runs whatever is still queued, then ends the workers. */
void pool_stop(struct pool *p);

#endif
