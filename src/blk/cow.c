/* The copy-on-write overlay (see cow.h): an open-addressing hash of chunk
 * index to chunk buffer. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "blk/cow.h"
#include "util/err.h"

void cow_init(struct cow *c)
{
	memset(c, 0, sizeof(*c));
}

void cow_release(struct cow *c)
{
	for (size_t i = 0; i < c->cap; i++)
		if (c->keys[i])
			free(c->data[i]);
	free(c->keys);
	free(c->data);
	memset(c, 0, sizeof(*c));
}

static size_t slot_of(const struct cow *c, uint64_t key)
{
	/* Fibonacci hashing spreads consecutive chunk indexes. */
	return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & (c->cap - 1);
}

static uint8_t *lookup(const struct cow *c, uint64_t idx)
{
	uint64_t key = idx + 1;

	if (!c->n || idx < c->lo || idx > c->hi)
		return NULL;
	for (size_t s = slot_of(c, key);; s = (s + 1) & (c->cap - 1)) {
		if (c->keys[s] == key)
			return c->data[s];
		if (!c->keys[s])
			return NULL;
	}
}

static int grow(struct cow *c)
{
	size_t cap = c->cap ? c->cap * 2 : 1024;
	uint64_t *keys = calloc(cap, sizeof(*keys));
	uint8_t **data = calloc(cap, sizeof(*data));
	struct cow old = *c;

	if (!keys || !data) {
		free(keys);
		free(data);
		return ferr(-ENOMEM, "out of memory for the copy-on-write overlay (%llu MiB held)",
			    (unsigned long long)(cow_bytes(c) >> 20));
	}
	c->keys = keys;
	c->data = data;
	c->cap = cap;
	for (size_t i = 0; i < old.cap; i++) {
		size_t s;

		if (!old.keys[i])
			continue;
		for (s = slot_of(c, old.keys[i]); c->keys[s]; s = (s + 1) & (cap - 1))
			;
		c->keys[s] = old.keys[i];
		c->data[s] = old.data[i];
	}
	free(old.keys);
	free(old.data);
	return 0;
}

/* The chunk idx, created from the disk's bytes if it is not held yet. */
static int get_chunk(struct cow *c, uint64_t idx, uint64_t disk_size, cow_read_fn read,
		     void *ctx, bool whole, uint8_t **out)
{
	uint64_t key = idx + 1, start = idx * COW_CHUNK;
	uint8_t *buf = lookup(c, idx);
	size_t s;
	int err;

	if (buf) {
		*out = buf;
		return 0;
	}
	if ((c->n + 1) * 4 > c->cap * 3) {
		err = grow(c);
		if (err)
			return err;
	}
	buf = calloc(1, COW_CHUNK);
	if (!buf)
		return ferr(-ENOMEM, "out of memory for the copy-on-write overlay");
	if (!whole && start < disk_size) {
		uint64_t n = disk_size - start < COW_CHUNK ? disk_size - start : COW_CHUNK;

		err = read(ctx, buf, (size_t)n, start);
		if (err) {
			free(buf);
			return err;
		}
	}
	for (s = slot_of(c, key); c->keys[s]; s = (s + 1) & (c->cap - 1))
		;
	c->keys[s] = key;
	c->data[s] = buf;
	if (!c->n || idx < c->lo)
		c->lo = idx;
	if (!c->n || idx > c->hi)
		c->hi = idx;
	c->n++;
	*out = buf;
	return 0;
}

void cow_apply(const struct cow *c, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	uint64_t first, last;

	if (!c->n || len == 0)
		return;
	first = off / COW_CHUNK;
	last = (off + len - 1) / COW_CHUNK;
	if (last < c->lo || first > c->hi)
		return;
	if (first < c->lo)
		first = c->lo;
	if (last > c->hi)
		last = c->hi;
	for (uint64_t idx = first; idx <= last; idx++) {
		const uint8_t *chunk = lookup(c, idx);
		uint64_t cs = idx * COW_CHUNK, from, to;

		if (!chunk)
			continue;
		from = cs > off ? cs : off;
		to = cs + COW_CHUNK < off + len ? cs + COW_CHUNK : off + len;
		memcpy(p + (from - off), chunk + (from - cs), (size_t)(to - from));
	}
}

int cow_write(struct cow *c, const void *buf, size_t len, uint64_t off, uint64_t disk_size,
	      cow_read_fn read, void *ctx)
{
	const uint8_t *p = buf;

	if (off > disk_size || len > disk_size - off)
		return ferr(-ENOSPC, "write of %zu bytes at offset %llu is past the end of the "
			    "disk", len, (unsigned long long)off);
	while (len > 0) {
		uint64_t idx = off / COW_CHUNK, in = off % COW_CHUNK;
		size_t n = COW_CHUNK - in < len ? (size_t)(COW_CHUNK - in) : len;
		uint8_t *chunk = NULL;
		int err = get_chunk(c, idx, disk_size, read, ctx, in == 0 && n == COW_CHUNK,
				    &chunk);

		if (err)
			return err;
		memcpy(chunk + in, p, n);
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int cow_clone(struct cow *dst, const struct cow *src)
{
	cow_init(dst);
	if (!src->cap)
		return 0;
	dst->keys = calloc(src->cap, sizeof(*dst->keys));
	dst->data = calloc(src->cap, sizeof(*dst->data));
	if (!dst->keys || !dst->data)
		goto nomem;
	dst->cap = src->cap;
	dst->lo = src->lo;
	dst->hi = src->hi;
	for (size_t i = 0; i < src->cap; i++) {
		if (!src->keys[i])
			continue;
		dst->data[i] = malloc(COW_CHUNK);
		if (!dst->data[i])
			goto nomem;
		memcpy(dst->data[i], src->data[i], COW_CHUNK);
		dst->keys[i] = src->keys[i];
		dst->n++;
	}
	return 0;
nomem:
	cow_release(dst);
	return ferr(-ENOMEM, "out of memory for a copy of the overlay (%llu MiB)",
		    (unsigned long long)(cow_bytes(src) >> 20));
}
