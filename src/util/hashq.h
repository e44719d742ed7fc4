/* SHA-256 of a stream on a thread of its own: the writer hands its bytes
 * over (copied into one of a few chunk buffers) and goes on writing while
 * they are hashed; runs of zeros are counted, not copied. A local image
 * gets its SHA-256 (its manifest's) at the cost of a copy, not of the
 * hashing. */
#ifndef FERRY_HASHQ_H
#define FERRY_HASHQ_H

#include <stddef.h>
#include <stdint.h>

struct hashq;

/* Starts the thread; *out NULL on failure (with a message). */
int hashq_start(struct hashq **out);
/* Adds len bytes of the stream; blocks while every chunk is in use. */
int hashq_add(struct hashq *q, const void *buf, size_t len);
/* Adds len zero bytes. */
int hashq_zeros(struct hashq *q, uint64_t len);
/* Waits for the last chunk; the digest as 64 lower-case hex digits. Frees q. */
void hashq_finish(struct hashq *q, char hex[65]);
/* Stops the thread without a digest. Frees q; NULL does nothing. */
void hashq_abort(struct hashq *q);

#endif
