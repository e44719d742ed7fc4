/* A disk held in memory: the fuzz input as the start of a source (its
 * I/O table), zeros after the input up to the source's size. */
#ifndef FERRY_FUZZ_MEMDISK_H
#define FERRY_FUZZ_MEMDISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "blk/source.h"

struct memdisk {
	const uint8_t *data;
	size_t size;
};

static inline long memdisk_pread(void *ctx, const struct source *src, void *buf, size_t len,
				 uint64_t off, bool careful)
{
	const struct memdisk *m = ctx;

	(void)careful;
	if (off >= src->size)
		return 0;
	if (len > src->size - off)
		len = (size_t)(src->size - off);
	memset(buf, 0, len);
	if (off < m->size)
		memcpy(buf, m->data + off, len < m->size - off ? len : m->size - (size_t)off);
	return (long)len;
}

#endif
