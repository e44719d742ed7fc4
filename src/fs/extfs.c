/* libext2fs on a block device (a partition): information, the used-block
 * map, small files such as /etc/fstab, and the copy opened read-write. */
#include <errno.h>
#include <et/com_err.h>
#include <ext2fs/ext2_err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk/salvage.h"
#include "fs/extfs.h"
#include "fs/partio.h"
#include "util/bytes.h"
#include "util/err.h"

static int ext_err(errcode_t e, const char *what, const char *name)
{
	static bool table_added;
	int err = (e > 0 && e < 4096) ? -(int)e : -EIO;

	/* A full filesystem is told apart (the checks' space.low). */
	if (e == EXT2_ET_BLOCK_ALLOC_FAIL || e == EXT2_ET_INODE_ALLOC_FAIL ||
	    e == EXT2_ET_DIR_NO_SPACE)
		err = -ENOSPC;

	/* A static binary has no constructor that registers libext2fs's
	 * messages, and "Unknown code ext2 152" helps nobody. */
	if (!table_added) {
		initialize_ext2_error_table();
		table_added = true;
	}

	return ferr(err, "%s: %s: %s", name, what, error_message(e));
}


static int open_dev(struct extfs *x, const struct blkdev *d)
{
	const char *name = d->name;
	uint64_t len = d->size;
	int flags = EXT2_FLAG_64BITS | EXT2_FLAG_SOFTSUPP_FEATURES;
	errcode_t e;
	uint64_t fs_bytes;
	int err;

	memset(x, 0, sizeof(*x));
	x->dev = d;
	snprintf(x->name, sizeof(x->name), "%s", name);
	x->part_len = len;
	if (d->copy)
		flags |= EXT2_FLAG_RW;
	err = partio_register(d, x->name);
	if (err)
		return err;
	e = ext2fs_open2(x->name, NULL, flags, 0, 0, partio_manager, &x->fs);
	if (e) {
		x->fs = NULL;
		err = ext_err(e, "cannot open its ext2/3/4 filesystem", name);
		goto out_unregister;
	}
	fs_bytes = ext2fs_blocks_count(x->fs->super) * (uint64_t)x->fs->blocksize;
	if (fs_bytes > len) {
		err = ferr(-EINVAL, "%s: the filesystem (%llu bytes) is larger than its partition "
			   "(%llu bytes)", name, (unsigned long long)fs_bytes,
			   (unsigned long long)len);
		goto out_close;
	}
	return 0;

out_close:
	ext2fs_free(x->fs);
	x->fs = NULL;
out_unregister:
	partio_unregister(x->name);
	return err;
}

static int touches_cb(void *arg, uint64_t src_off, uint64_t len)
{
	const struct source *src = arg;

	return salvage_touches(src->salvage, src->lsec, src_off, len);
}

/* Whether block b lies on sectors of the source that did not read. */
static bool block_unreadable(const struct extfs *x, blk64_t b)
{
	const struct source *src = x->dev->src;
	uint64_t bs = x->fs->blocksize;

	return src->salvage && b && blk_map(x->dev, b * bs, bs, touches_cb, (void *)src) > 0;
}

/* The groups whose block or inode bitmap did not read: with used, each of
 * them is marked used whole in the block bitmap, with a warning. */
static unsigned unreadable_bitmaps(struct extfs *x, bool used)
{
	ext2_filsys fs = x->fs;
	unsigned n = 0;

	if (!x->dev->src->salvage)
		return 0;
	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		blk64_t first = ext2fs_group_first_block2(fs, g);

		if (!block_unreadable(x, ext2fs_block_bitmap_loc(fs, g)) &&
		    (used || !block_unreadable(x, ext2fs_inode_bitmap_loc(fs, g))))
			continue;
		n++;
		if (!used)
			continue;
		ext2fs_mark_block_bitmap_range2(fs->block_map, first,
						ext2fs_group_last_block2(fs, g) - first + 1);
		ferry_warn("%s: the block bitmap of group %u is on sectors that do not read: the "
			   "group is copied whole", x->name, g);
	}
	return n;
}

int extfs_open(struct extfs *x, const struct blkdev *d)
{
	if (d->copy)
		return ferr(-EINVAL, "%s: internal: a device of the copy opened read-only",
			    d->name);
	return open_dev(x, d);
}

int extfs_open_copy(struct extfs *x, const struct blkdev *d)
{
	int err;
	errcode_t e;

	if (!d->copy)
		return ferr(-EROFS, "%s: internal: not a device of the copy", d->name);
	err = open_dev(x, d);
	if (err)
		return err;
	/* Allocating inodes and blocks needs both bitmaps in memory. */
	e = ext2fs_read_bitmaps(x->fs);
	if (unreadable_bitmaps(x, false)) {
		err = ferr(-EIO, "%s: its bitmaps are on sectors that do not read: Ferry cannot "
			   "change it safely (capture with --no-fix, or --fix without the rules "
			   "that edit it)", x->name);
		extfs_release(x);
		return err;
	}
	if (e) {
		err = ext_err(e, "cannot read its bitmaps", x->name);
		extfs_release(x);
		return err;
	}
	/* Every time written into the copy, by libext2fs or by us, is the
	 * filesystem's own last write, not the clock: two captures of one
	 * source must be byte-identical (an upload resumes by comparing the
	 * parts of a second capture with those already stored). */
	{
		struct ext2_super_block *sb = x->fs->super;
		uint32_t t = sb->s_wtime;

		if (sb->s_mtime > t)
			t = sb->s_mtime;
		if (sb->s_mkfs_time > t)
			t = sb->s_mkfs_time;
		x->fs->now = t ? t : 1;
	}
	x->rw = true;
	return 0;
}

int extfs_close_copy(struct extfs *x)
{
	errcode_t e;
	int err = 0;

	if (!x->fs)
		return 0;
	/* The flush writes the superblock, descriptors and bitmaps; all of it
	 * lands in the overlay. */
	e = ext2fs_close2(x->fs, 0);
	if (e) {
		err = ext_err(e, "cannot write its metadata to the copy", x->name);
		ext2fs_free(x->fs);
	}
	x->fs = NULL;
	partio_unregister(x->name);
	return err;
}

int extfs_error(errcode_t e, const char *what, const char *name)
{
	return ext_err(e, what, name);
}

void extfs_release(struct extfs *x)
{
	if (x->fs)
		ext2fs_free(x->fs); /* never ext2fs_close: that would flush */
	x->fs = NULL;
	partio_unregister(x->name);
}

void extfs_get_info(const struct extfs *x, struct extfs_info *info)
{
	struct ext2_super_block *sb = x->fs->super; /* the accessors take no const */
	uint64_t bs = x->fs->blocksize;

	memset(info, 0, sizeof(*info));
	memcpy(info->label, sb->s_volume_name, sizeof(sb->s_volume_name));
	uuid_format(sb->s_uuid, info->uuid);
	info->block_size = (unsigned)bs;
	info->size = ext2fs_blocks_count(sb) * bs;
	info->used = (ext2fs_blocks_count(sb) - ext2fs_free_blocks_count(sb)) * bs;
	info->needs_recovery = ext2fs_has_feature_journal_needs_recovery(sb);
	info->has_errors = (sb->s_state & EXT2_ERROR_FS) != 0;
}

int extfs_used_ranges(struct extfs *x, extfs_range_fn fn, void *arg)
{
	ext2_filsys fs = x->fs;
	uint64_t bs = fs->blocksize;
	blk64_t start, end;
	errcode_t e;
	int err;

	e = ext2fs_read_block_bitmap(fs);
	if (e == EXT2_ET_BLOCK_BITMAP_CSUM_INVALID && x->dev->src->salvage) {
		/* A bitmap that did not read has the wrong checksum: read them
		 * again without checking, and if that was the cause, copy its
		 * group whole. */
		fs->flags |= EXT2_FLAG_IGNORE_CSUM_ERRORS;
		e = ext2fs_read_block_bitmap(fs);
		fs->flags &= ~EXT2_FLAG_IGNORE_CSUM_ERRORS;
		if (!e && !unreadable_bitmaps(x, true))
			e = EXT2_ET_BLOCK_BITMAP_CSUM_INVALID;
	} else if (!e) {
		unreadable_bitmaps(x, true);
	}
	if (e)
		return ext_err(e, "cannot read the block bitmap", x->name);
	start = fs->super->s_first_data_block;
	end = ext2fs_blocks_count(fs->super) - 1;
	while (start <= end) {
		blk64_t s, z;

		if (ext2fs_find_first_set_block_bitmap2(fs->block_map, start, end, &s))
			break;
		if (ext2fs_find_first_zero_block_bitmap2(fs->block_map, s, end, &z))
			z = end + 1;
		err = fn(s * bs, (z - s) * bs, arg);
		if (err)
			return err;
		start = z;
	}
	return 0;
}

int extfs_read_file(struct extfs *x, const char *path, size_t max, char **data, size_t *len)
{
	ext2_filsys fs = x->fs;
	ext2_ino_t ino;
	ext2_file_t file;
	struct ext2_inode inode;
	unsigned int got;
	uint64_t size;
	errcode_t e;
	char *buf;

	*data = NULL;
	*len = 0;
	e = ext2fs_namei_follow(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino);
	if (e)
		return e == EXT2_ET_FILE_NOT_FOUND ? -ENOENT : ext_err(e, path, x->name);
	e = ext2fs_read_inode(fs, ino, &inode);
	if (e)
		return ext_err(e, path, x->name);
	if (!LINUX_S_ISREG(inode.i_mode))
		return -ENOENT;
	size = EXT2_I_SIZE(&inode);
	if (size > max)
		return ferr(-EFBIG, "%s: %s is larger than %zu bytes", x->name, path, max);
	buf = malloc(size + 1);
	if (!buf)
		return ferr(-ENOMEM, "out of memory");
	e = ext2fs_file_open(fs, ino, 0, &file);
	if (e) {
		free(buf);
		return ext_err(e, path, x->name);
	}
	e = ext2fs_file_read(file, buf, (unsigned int)size, &got);
	ext2fs_file_close(file);
	if (e) {
		free(buf);
		return ext_err(e, path, x->name);
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	return 0;
}
