/* The hashing thread of hashq.h. Chunks go round in order: the writer fills
 * the one at head and passes it on; the thread hashes the one at tail and
 * hands it back. One mutex guards the states. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/hashq.h"
#include "util/sha256.h"

#define CHUNKS 4
#define CHUNK_BYTES (4u << 20)
#define ZERO_BYTES 65536u

enum chunk_state { FREE, FILLING, READY };

struct chunk {
	enum chunk_state state;
	uint8_t *buf;
	size_t len;     /* bytes in buf */
	uint64_t zeros; /* zero bytes after them */
};

struct hashq {
	pthread_t tid;
	pthread_mutex_t lock;
	pthread_cond_t ready, freed;
	struct chunk c[CHUNKS];
	unsigned head, tail; /* filled by the writer; hashed next */
	bool stopping;
	struct sha256 sha;
};

static const uint8_t zero_block[ZERO_BYTES];

static void *hash_main(void *arg)
{
	struct hashq *q = arg;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct chunk *c = &q->c[q->tail];

		if (c->state != READY) {
			if (q->stopping)
				break;
			pthread_cond_wait(&q->ready, &q->lock);
			continue;
		}
		pthread_mutex_unlock(&q->lock);
		sha256_update(&q->sha, c->buf, c->len);
		for (uint64_t z = c->zeros; z > 0;) {
			size_t n = z < ZERO_BYTES ? (size_t)z : ZERO_BYTES;
			sha256_update(&q->sha, zero_block, n);
			z -= n;
		}
		pthread_mutex_lock(&q->lock);
		c->state = FREE;
		c->len = 0;
		c->zeros = 0;
		q->tail = (q->tail + 1) % CHUNKS;
		pthread_cond_broadcast(&q->freed);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

static void release(struct hashq *q)
{
	for (unsigned i = 0; i < CHUNKS; i++)
		free(q->c[i].buf);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->ready);
	pthread_cond_destroy(&q->freed);
	sha256_release(&q->sha);
	free(q);
}

int hashq_start(struct hashq **out)
{
	struct hashq *q = calloc(1, sizeof(*q));
	sigset_t all, old;
	int e;

	*out = NULL;
	if (!q)
		return ferr(-ENOMEM, "out of memory");
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->ready, NULL);
	pthread_cond_init(&q->freed, NULL);
	sha256_init(&q->sha);
	for (unsigned i = 0; i < CHUNKS; i++)
		if (!(q->c[i].buf = malloc(CHUNK_BYTES))) {
			release(q);
			return ferr(-ENOMEM, "out of memory");
		}
	/* signals are the main thread's */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&q->tid, NULL, hash_main, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		release(q);
		return ferr(-e, "cannot start the hashing thread: %s", strerror(e));
	}
	*out = q;
	return 0;
}

/* The chunk at head, waited for while the thread still hashes it. */
static struct chunk *filling(struct hashq *q)
{
	struct chunk *c = &q->c[q->head];

	while (c->state == READY)
		pthread_cond_wait(&q->freed, &q->lock);
	c->state = FILLING;
	return c;
}

static void pass_on(struct hashq *q, struct chunk *c)
{
	c->state = READY;
	q->head = (q->head + 1) % CHUNKS;
	pthread_cond_signal(&q->ready);
}

int hashq_add(struct hashq *q, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	pthread_mutex_lock(&q->lock);
	while (len > 0) {
		struct chunk *c = filling(q);
		size_t n;

		if (c->zeros) { /* bytes after zeros start a new chunk */
			pass_on(q, c);
			continue;
		}
		n = CHUNK_BYTES - c->len < len ? CHUNK_BYTES - c->len : len;
		/* the copy needs no lock: the thread does not touch a FILLING chunk */
		pthread_mutex_unlock(&q->lock);
		memcpy(c->buf + c->len, p, n);
		pthread_mutex_lock(&q->lock);
		c->len += n;
		p += n;
		len -= n;
		if (c->len == CHUNK_BYTES)
			pass_on(q, c);
	}
	pthread_mutex_unlock(&q->lock);
	return 0;
}

int hashq_zeros(struct hashq *q, uint64_t len)
{
	if (!len)
		return 0;
	pthread_mutex_lock(&q->lock);
	filling(q)->zeros += len;
	pthread_mutex_unlock(&q->lock);
	return 0;
}

static void stop(struct hashq *q)
{
	pthread_mutex_lock(&q->lock);
	if (q->c[q->head].state == FILLING)
		pass_on(q, &q->c[q->head]);
	q->stopping = true;
	pthread_cond_signal(&q->ready);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->tid, NULL);
}

void hashq_finish(struct hashq *q, char hex[65])
{
	stop(q);
	sha256_final_hex(&q->sha, hex);
	/* final_hex released the context */
	sha256_init(&q->sha);
	release(q);
}

void hashq_abort(struct hashq *q)
{
	if (!q)
		return;
	stop(q);
	release(q);
}
