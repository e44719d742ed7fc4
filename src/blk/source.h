/* A source disk: a block device or an image file, opened read-only. */
#ifndef FERRY_SOURCE_H
#define FERRY_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cow;
struct salvage;
struct source;

/* How a source's bytes come off the disk: pread(2) unless a table is set
 * (the unit tests' table fails chosen reads). careful: a read that narrows
 * an error down, which must see the disk itself and not the page cache's
 * pages around it (O_DIRECT on a block device). Returns the bytes read
 * (fewer at the end of the disk) or a negative errno. */
struct source_io {
	long (*pread)(void *ctx, const struct source *src, void *buf, size_t len, uint64_t off,
		      bool careful);
	void *ctx;
};

struct source {
	char *path;
	int fd;
	bool blockdev;
	uint64_t size;
	unsigned lsec; /* logical sector size */
	unsigned psec; /* physical sector size */
	char model[64];
	char serial[64];
	char in_use[160]; /* why the running system uses it; empty if it does not */
	struct cow *cow;  /* the copy's edits (fs/cow.h), or NULL */
	const struct source_io *io; /* NULL: the disk through fd (and dfd) */
	struct salvage *salvage;    /* NULL: a read that fails is an error */
	int dfd; /* the block device opened O_DIRECT, or -1 */
};

/* Opens path O_RDONLY; on a block device sets the kernel read-only flag
 * (BLKROSET) before anything else can touch it, unless the running system
 * uses the disk: then in_use says why and the flag is left alone (setting it
 * would break the mounted filesystems). Callers must not hand an in-use
 * disk to libparted or copy it. */
int source_open(struct source *src, const char *path);
void source_release(struct source *src);
/* Whether the running system uses the disk (mounts, swap, holders); says
 * why in why. */
bool source_disk_in_use(dev_t disk, char *why, size_t len);
/* Reads exactly len bytes at off; reading past the end is an error. With
 * an overlay attached, its edits show over the disk's bytes: this is the
 * copy as it will be written. With a salvage attached (blk/salvage.h),
 * sectors that do not read come back as zeros and are recorded. */
int source_pread(const struct source *src, void *buf, size_t len, uint64_t off);
/* One read off the disk as the source's I/O table does it: bytes read, or
 * a negative errno (no message). */
long source_io_pread(const struct source *src, void *buf, size_t len, uint64_t off,
		     bool careful);
/* Writes to the copy: into the overlay, never to the disk; -EROFS when no
 * overlay is attached. */
int source_write_copy(struct source *src, const void *buf, size_t len, uint64_t off);

#endif
