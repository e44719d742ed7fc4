/* The worker threads of pool.h: one mutex guards a FIFO of tasks; a task is
 * marked done under the same mutex, so waiting on it needs nothing else. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/pool.h"
#include "util/err.h"

struct pool_worker {
	struct pool *p;
	unsigned index;
	pthread_t tid;
};

unsigned pool_threads(unsigned asked)
{
	if (asked == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		asked = n > 0 ? (unsigned)n : 1;
	}
	return asked < POOL_MAX_THREADS ? asked : POOL_MAX_THREADS;
}

static void *worker_main(void *arg)
{
	struct pool_worker *w = arg;
	struct pool *p = w->p;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct pool_task *t = p->head;

		if (!t) {
			if (p->stopping)
				break;
			pthread_cond_wait(&p->queued, &p->lock);
			continue;
		}
		p->head = t->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);
		t->run(t, w->index);
		pthread_mutex_lock(&p->lock);
		t->done = true;
		pthread_cond_broadcast(&p->finished);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int pool_start(struct pool *p, unsigned threads)
{
	sigset_t all, old;
	int err = 0;

	memset(p, 0, sizeof(*p));
	if (threads == 0 || threads > POOL_MAX_THREADS)
		return ferr(-EINVAL, "internal: %u worker threads asked for", threads);
	p->workers = calloc(threads, sizeof(*p->workers));
	if (!p->workers)
		return ferr(-ENOMEM, "out of memory");
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->queued, NULL);
	pthread_cond_init(&p->finished, NULL);
	/* New threads inherit the mask: a signal must reach the thread that
	 * can act on it (the capture removes its partial target). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (; p->threads < threads; p->threads++) {
		struct pool_worker *w = &p->workers[p->threads];

		w->p = p;
		w->index = p->threads;
		err = pthread_create(&w->tid, NULL, worker_main, w);
		if (err) {
			err = ferr_errno(-err, "cannot start compression thread %u of %u",
					 p->threads + 1, threads);
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		pool_stop(p);
	return err;
}

void pool_submit(struct pool *p, struct pool_task *t)
{
	t->next = NULL;
	t->done = false;
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = t;
	else
		p->head = t;
	p->tail = t;
	pthread_cond_signal(&p->queued);
	pthread_mutex_unlock(&p->lock);
}

void pool_wait(struct pool *p, struct pool_task *t)
{
	pthread_mutex_lock(&p->lock);
	while (!t->done)
		pthread_cond_wait(&p->finished, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void pool_stop(struct pool *p)
{
	if (!p->workers)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->queued);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->threads; i++)
		pthread_join(p->workers[i].tid, NULL);
	pthread_cond_destroy(&p->finished);
	pthread_cond_destroy(&p->queued);
	pthread_mutex_destroy(&p->lock);
	free(p->workers);
	p->workers = NULL;
	p->threads = 0;
}
