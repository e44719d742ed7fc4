/* XFS read without libxfs: the primary superblock, which blocks the
 * free-space B+tree by block number (bnobt) leaves in use, whether the log
 * holds transactions to replay, and files (xfs_file.c). Everything is read
 * through blk_read; nothing is ever written.
 *
 * Errors are negative errno values with a message naming the device:
 *   -EINVAL   a damaged superblock, allocation group header, free-space
 *             btree or log (bad magic or CRC, geometry that does not fit,
 *             records out of order or outside their AG, a btree cycle);
 *             for files, a damaged inode, extent list or B+tree, directory
 *             block or link target (the same kinds of fault)
 *   -ENOTSUP  something Ferry cannot map, named: an unknown incompat
 *             feature, a realtime section, an external log
 *   -EIO      the device could not be read */
#ifndef FERRY_XFS_H
#define FERRY_XFS_H

#include <stdbool.h>
#include <stddef.h>
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

/* Files, read-only. Paths are absolute in the filesystem; symbolic links
 * resolve inside it (an absolute target starts at its root, ".." stops
 * there), at most 40 of them (-ELOOP). Directories are searched by reading
 * their data blocks, whatever their form; their hash indexes are not used.
 * A file's holes and unwritten extents read as zeros. Besides the errors
 * above: -ENOENT (without a message) when a name is missing, -ENOTDIR,
 * -ENAMETOOLONG, and -EFBIG for a file larger than asked for. The log is
 * not replayed: a filesystem that needs recovery is read as its blocks
 * are. */
struct xfs_fs;

struct xfs_stat {
	uint32_t mode; /* type and permission bits, as Linux has them */
	uint32_t uid, gid;
	uint64_t size;
	uint32_t nlink;
};

/* Checks the superblock and the root directory's inode; xfs_free releases
 * what it holds. d must outlive it. */
int xfs_open(struct xfs_fs **x, const struct blkdev *d);
void xfs_free(struct xfs_fs *x);
/* follow: resolve a final symbolic link (stat) or not (lstat). */
int xfs_stat(struct xfs_fs *x, const char *path, bool follow, struct xfs_stat *st);
/* A whole regular file, links followed, at most max bytes (-EFBIG); -EISDIR
 * for anything but a regular file. *data is NUL-terminated and freed by
 * the caller. */
int xfs_read(struct xfs_fs *x, const char *path, size_t max, char **data, size_t *len);
/* The target of the link path names (not followed), NUL-terminated;
 * -EINVAL if it is no link, -ENAMETOOLONG if len is too small. */
int xfs_readlink(struct xfs_fs *x, const char *path, char *buf, size_t len);
/* Calls fn for each entry but "." and ".." of the directory path names
 * (links followed), with its type bits (from the entry, or its inode when
 * the filesystem keeps no types in entries; 0 when that inode cannot be
 * read). A non-zero return of fn stops the listing and is returned. */
typedef int (*xfs_list_fn)(const char *name, uint32_t mode, void *arg);
int xfs_list(struct xfs_fs *x, const char *path, xfs_list_fn fn, void *arg);

/* xfs_open, xfs_read, xfs_free, with extfs_read_file's contract: -ENOENT
 * when there is no regular file at path. */
int xfs_read_file(const struct blkdev *d, const char *path, size_t max, char **data,
		  size_t *len);

#endif
