/* XFS read without libxfs: the primary superblock, which blocks the
 * free-space B+tree by block number (bnobt) leaves in use, and whether the
 * log holds transactions to replay. Everything is read through blk_read;
 * nothing is ever written.
 *
 * Errors are negative errno values with a message naming the device:
 *   -EINVAL   a damaged superblock, allocation group header, free-space
 *             btree or log (bad magic or CRC, geometry that does not fit,
 *             records out of order or outside their AG, a btree cycle)
 *   -ENOTSUP  something Ferry cannot map, named: an unknown incompat
 *             feature, a realtime section, an external log
 *   -EIO      the device could not be read */
#ifndef FERRY_XFS_H
#define FERRY_XFS_H

#include <stdbool.h>
#include <stdint.h>

#include "blk/blk.h"

struct xfs_info {
	char label[13];
	char uuid[40];          /* as blkid prints it */
	uint64_t size;          /* bytes the data section spans (dblocks * blocksize) */
	uint64_t used;          /* bytes not free (everything the free-space B+tree by
				 * block number does not list) */
	unsigned block_size;
	bool v5;                /* CRC-enabled (version 5) */
	bool needs_recovery;    /* the log has transactions to replay (no unmount
				 * record at its tail) */
};

/* Reads and checks the primary superblock on d, every AG's free-space header
 * (for used) and the log's head and tail (for needs_recovery). */
int xfs_get_info(const struct blkdev *d, struct xfs_info *info);

/* Calls fn for every run of used bytes, in ascending order, relative to d,
 * neighbours merged: every block of every allocation group that the AG's
 * bnobt does not list as free (AG headers, free lists, btrees, inodes, the
 * internal log, data). The whole map is checked before fn is first called:
 * on -EINVAL, fn was never called. */
typedef int (*xfs_range_fn)(uint64_t off, uint64_t len, void *arg);
int xfs_used_ranges(const struct blkdev *d, xfs_range_fn fn, void *arg);

#endif
