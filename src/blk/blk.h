/* A block device as the filesystems see it: a size, reads that show the
 * copy's edits over the source's bytes, writes that land in the copy's
 * overlay (only on a device of the copy), and the extents that map it
 * onto the source disk. A partition is one extent of the disk; an LVM
 * logical volume is several. Everything above reads a filesystem through
 * this interface, so a partition and a logical volume are the same kind of
 * thing to it.
 *
 * Errors are negative errno values with a message (util/err.h):
 *   -EIO     a read past the device's end, or the disk's read failed
 *   -EROFS   a write to a device that is not of the copy: nothing is
 *            written anywhere (the source is never written)
 *   -ENOMEM  the overlay could not grow
 * A device refers to its source and (but a window) its extent array; both
 * must outlive it. A device may be copied by value. */
#ifndef FERRY_BLK_H
#define FERRY_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blk/source.h"

struct blk_extent {
	uint64_t off;     /* on the device */
	uint64_t len;
	uint64_t src_off; /* on the source disk */
};

struct blkdev {
	struct source *src;
	uint64_t size;
	const struct blk_extent *ext; /* in device order, covering [0, size); */
	size_t next;                  /* NULL: the one extent below */
	struct blk_extent one;        /* a window's own extent */
	bool copy;             /* writes go into src's overlay */
	char name[96];         /* for messages: "/dev/sda partition 2" */
};

/* The window [off, off+len) of src: a partition. With copy, writes go into
 * src's overlay, which must be attached (-EROFS otherwise). */
int blk_window(struct blkdev *d, const struct source *src, uint64_t off, uint64_t len,
	       bool copy, const char *name);
/* A device made of n extents of src (kept, not copied), in device order
 * and without gaps: a logical volume. */
int blk_extents(struct blkdev *d, const struct source *src, const struct blk_extent *ext,
		size_t n, bool copy, const char *name);

/* The same device as of, writable: its writes go into the overlay, which
 * must be attached (-EROFS otherwise). */
int blk_copy_of(struct blkdev *d, const struct blkdev *of);

int blk_read(const struct blkdev *d, void *buf, size_t len, uint64_t off);
int blk_write(const struct blkdev *d, const void *buf, size_t len, uint64_t off);

/* Calls fn for each piece of [off, off+len) of d, in device order, as a
 * range of the source disk. */
typedef int (*blk_map_fn)(void *arg, uint64_t src_off, uint64_t len);
int blk_map(const struct blkdev *d, uint64_t off, uint64_t len, blk_map_fn fn, void *arg);

#endif
