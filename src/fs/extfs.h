/* ext2/3/4 filesystems on a block device, through libext2fs. */
#ifndef FERRY_EXTFS_H
#define FERRY_EXTFS_H

#include <ext2fs/ext2fs.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blk/blk.h"

struct extfs {
	ext2_filsys fs;
	const struct blkdev *dev;
	char name[96];
	uint64_t part_len;
	bool rw; /* opened on the copy, writable */
	uint64_t unused_bytes; /* of the last extfs_used_ranges: in use, holding nothing read */
};

struct extfs_info {
	char label[20];
	char uuid[40];
	uint64_t size;       /* bytes the filesystem spans */
	uint64_t used;       /* bytes in use */
	unsigned block_size;
	bool needs_recovery; /* the journal has transactions to replay */
	bool has_errors;     /* the kernel marked it as having errors */
};

/* Opens the filesystem on d, read-only. */
int extfs_open(struct extfs *x, const struct blkdev *d);
/* Opens it on d, a device of the copy, read-write: every write goes to the
 * source's overlay. Refused when its bitmaps are on sectors that did not
 * read: an allocation could take a block in use. */
int extfs_open_copy(struct extfs *x, const struct blkdev *d);
/* Writes what libext2fs holds (superblock, bitmaps) to the copy and closes. */
int extfs_close_copy(struct extfs *x);
/* Drops it without writing anything. */
void extfs_release(struct extfs *x);
/* Turns a libext2fs error into a message naming the filesystem. */
int extfs_error(errcode_t e, const char *what, const char *name);
void extfs_get_info(const struct extfs *x, struct extfs_info *info);

/* Calls fn for every run of blocks the block bitmap marks used, in order,
 * as byte ranges relative to the partition, but for the blocks that hold
 * nothing the filesystem reads (counted in x->unused_bytes): inode table
 * blocks past each group's last used inode (bg_itable_unused, in groups
 * whose descriptor checksum is right), the body of a clean internal
 * journal (its superblock and the inode's tree blocks kept) and the resize
 * inode's reserved GDT blocks that read as zeros. A group whose
 * bitmap is on sectors that did not read (blk/salvage.h) is used whole,
 * with a warning. */
typedef int (*extfs_range_fn)(uint64_t off, uint64_t len, void *arg);
int extfs_used_ranges(struct extfs *x, extfs_range_fn fn, void *arg);

/* Reads a whole regular file (symlinks followed inside the filesystem),
 * at most max bytes; *data is NUL-terminated and must be freed. -ENOENT
 * when it does not exist. */
int extfs_read_file(struct extfs *x, const char *path, size_t max, char **data, size_t *len);

/* What owns each of n filesystem blocks (blocks sorted, distinct): the
 * path of the file or directory ("/etc/passwd", "/var/lib/x (extent
 * tree)"), or the metadata ("inode table, group 3 (inodes 24577-32768)",
 * "the journal", "free space"). owner[i] is for blocks[i]; a block no one
 * owns that the bitmap marks used says so. Reads the whole inode table
 * when a block belongs to a file: meant for the few blocks that did not
 * read. */
#define EXTFS_OWNER_MAX 256
int extfs_block_owners(struct extfs *x, const uint64_t *blocks, size_t n,
		       char (*owner)[EXTFS_OWNER_MAX]);

#endif
