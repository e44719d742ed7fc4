/* The copy-on-write overlay: every write meant for the copy of a source disk
 * is kept here, in memory, in aligned chunks; reads of the source see these
 * chunks over the disk's own bytes. Nothing here can write to the disk. */
#ifndef FERRY_COW_H
#define FERRY_COW_H

#include <stddef.h>
#include <stdint.h>

#define COW_CHUNK 4096u

struct cow {
	uint64_t *keys;  /* chunk index + 1; 0 marks a free slot */
	uint8_t **data;  /* COW_CHUNK bytes each */
	size_t cap, n;   /* cap is a power of two */
	uint64_t lo, hi; /* lowest and highest chunk index held */
};

void cow_init(struct cow *c);
void cow_release(struct cow *c);

/* dst: a copy of src that changes apart from it (what a check writes into
 * a copy of the fixes is dropped with it). */
int cow_clone(struct cow *dst, const struct cow *src);

/* Bytes held in memory. */
static inline uint64_t cow_bytes(const struct cow *c)
{
	return (uint64_t)c->n * COW_CHUNK;
}

/* Copies the overlay's bytes in [off, off+len) over buf, which holds the
 * disk's bytes of that range. */
void cow_apply(const struct cow *c, void *buf, size_t len, uint64_t off);

/* Reads len bytes at off of the disk under the overlay (without it). */
typedef int (*cow_read_fn)(void *ctx, void *buf, size_t len, uint64_t off);

/* Keeps [off, off+len) = buf in the overlay. A chunk written only in part
 * is first filled from read (the disk's bytes), limited to disk_size. */
int cow_write(struct cow *c, const void *buf, size_t len, uint64_t off, uint64_t disk_size,
	      cow_read_fn read, void *ctx);

#endif
