/* A source disk: a block device or an image file, opened read-only. */
#ifndef FERRY_SOURCE_H
#define FERRY_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct source {
	char *path;
	int fd;
	bool blockdev;
	uint64_t size;
	unsigned lsec; /* logical sector size */
	unsigned psec; /* physical sector size */
	char model[64];
	char serial[64];
};

/* Opens path O_RDONLY; on a block device sets the kernel read-only flag
 * (BLKROSET) before anything else can touch it. */
int source_open(struct source *src, const char *path);
void source_release(struct source *src);
/* Reads exactly len bytes at off; reading past the end is an error. */
int source_pread(const struct source *src, void *buf, size_t len, uint64_t off);

#endif
