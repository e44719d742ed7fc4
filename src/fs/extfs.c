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
#include "util/endian.h"
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

/* Blocks in use that hold nothing the filesystem reads: they read as zeros
 * in the image.
 *
 * Inode table blocks that hold no inode in use. With group descriptor
 * checksums, bg_itable_unused says how many inodes at the end of a group's
 * table were never used (only groups whose descriptor checksum is right
 * are trusted). Beyond that, a block all of whose inodes the inode bitmap
 * marks free: the kernel reads a free inode only to allocate it, when it
 * writes it whole, and e2fsck takes an inode of zeros as unused (what
 * mke2fs and the kernel's lazy init leave there). A group whose inode
 * bitmap is on sectors that did not read keeps its table. */
static uint64_t div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

static void unmark_blocks(ext2_filsys fs, ext2fs_block_bitmap map, blk64_t b, uint64_t n,
			  uint64_t *skipped)
{
	for (uint64_t k = 0; k < n; k++)
		if (ext2fs_test_block_bitmap2(map, b + k)) {
			ext2fs_unmark_block_bitmap2(map, b + k);
			*skipped += fs->blocksize;
		}
}

static void unused_itables(struct extfs *x, ext2fs_block_bitmap map, uint64_t *skipped)
{
	ext2_filsys fs = x->fs;
	uint64_t isz = EXT2_INODE_SIZE(fs->super), ipg = fs->super->s_inodes_per_group;
	uint64_t ipb = fs->blocksize / isz, nblocks = fs->inode_blocks_per_group;
	bool csum = ext2fs_has_group_desc_csum(fs);
	bool bitmap = !ext2fs_read_inode_bitmap(fs);

	if (!ipb)
		return;
	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		blk64_t table = ext2fs_inode_table_loc(fs, g);
		uint64_t used = ipg, cur = 0; /* inodes that may be in use; blocks decided */
		ext2_ino_t first = (ext2_ino_t)((uint64_t)g * ipg + 1), at, s, z;

		if (!table || table + nblocks > ext2fs_blocks_count(fs->super))
			continue;
		if (csum && ext2fs_group_desc_csum_verify(fs, g)) {
			uint64_t unused = ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_UNINIT)
						  ? ipg
						  : ext2fs_bg_itable_unused(fs, g);
			if (unused <= ipg)
				used = ipg - unused;
		}
		if (!bitmap || block_unreadable(x, ext2fs_inode_bitmap_loc(fs, g))) {
			/* the blocks of the inodes that may be in use stay */
			cur = div_up(used, ipb);
			unmark_blocks(fs, map, table + cur, nblocks - cur, skipped);
			continue;
		}
		/* the blocks holding an inode the bitmap marks in use stay */
		for (at = first; used && at < first + used; at = z) {
			ext2_ino_t last = (ext2_ino_t)(first + used - 1);

			if (ext2fs_find_first_set_inode_bitmap2(fs->inode_map, at, last, &s))
				break;
			if (ext2fs_find_first_zero_inode_bitmap2(fs->inode_map, s, last, &z))
				z = last + 1;
			if ((s - first) / ipb > cur)
				unmark_blocks(fs, map, table + cur, (s - first) / ipb - cur, skipped);
			if ((z - 1 - first) / ipb + 1 > cur)
				cur = (z - 1 - first) / ipb + 1;
		}
		if (cur < nblocks)
			unmark_blocks(fs, map, table + cur, nblocks - cur, skipped);
	}
}

/* The resize inode's reserved GDT blocks after each superblock copy: room
 * for the descriptors of a grown filesystem, zeros until an online resize
 * fills some. Those that read as zeros are left to read as zeros. */
static void zero_reserved_gdt(ext2_filsys fs, ext2fs_block_bitmap map, uint64_t *skipped)
{
	unsigned n = fs->super->s_reserved_gdt_blocks;
	uint8_t *buf;

	if (!ext2fs_has_feature_resize_inode(fs->super) || !n || ext2fs_has_feature_meta_bg(fs->super))
		return;
	buf = malloc((size_t)n * fs->blocksize);
	if (!buf)
		return;
	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		blk64_t first = ext2fs_group_first_block2(fs, g) + 1 + fs->desc_blocks;

		if (!ext2fs_bg_has_super(fs, g) || first + n > ext2fs_blocks_count(fs->super) ||
		    io_channel_read_blk64(fs->io, first, (int)n, buf))
			continue;
		for (unsigned b = 0; b < n; b++)
			if (bytes_zero(buf + (size_t)b * fs->blocksize, fs->blocksize) &&
			    ext2fs_test_block_bitmap2(map, first + b)) {
				ext2fs_unmark_block_bitmap2(map, first + b);
				*skipped += fs->blocksize;
			}
	}
	free(buf);
}

/* A clean internal journal's body: its superblock says it is empty
 * (s_start 0), the filesystem needs no recovery, and the kernel reads
 * nothing of it but that superblock (its logical block 0) before writing.
 * The journal inode's own tree blocks stay. */
struct journal_skip {
	ext2fs_block_bitmap map;
	uint64_t blocks;
};

static int skip_journal_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt,
			      blk64_t ref_blk, int ref_offset, void *priv)
{
	struct journal_skip *js = priv;

	(void)ref_blk, (void)ref_offset;
	if (blockcnt > 0 && *blocknr < ext2fs_blocks_count(fs->super)) {
		ext2fs_unmark_block_bitmap2(js->map, *blocknr);
		js->blocks++;
	}
	return 0;
}

static void clean_journal_body(ext2_filsys fs, ext2fs_block_bitmap map, uint64_t *skipped)
{
	struct ext2_super_block *sb = fs->super;
	struct journal_skip js = {map, 0};
	struct ext2_inode inode;
	blk64_t first = 0;
	uint8_t *jsb;

	if (!ext2fs_has_feature_journal(sb) || ext2fs_has_feature_journal_needs_recovery(sb) ||
	    !sb->s_journal_inum || sb->s_journal_inum >= EXT2_FIRST_INO(sb) ||
	    ext2fs_read_inode(fs, sb->s_journal_inum, &inode) ||
	    ext2fs_bmap2(fs, sb->s_journal_inum, &inode, NULL, 0, 0, NULL, &first) || !first)
		return;
	jsb = malloc(fs->blocksize);
	if (!jsb)
		return;
	/* the journal's superblock: big-endian magic, then s_start at 28 */
	if (!io_channel_read_blk64(fs->io, first, 1, jsb) && get_be32(jsb) == 0xc03b3998u &&
	    get_be32(jsb + 28) == 0 &&
	    !ext2fs_block_iterate3(fs, sb->s_journal_inum, BLOCK_FLAG_READ_ONLY, NULL,
				   skip_journal_block, &js))
		*skipped += js.blocks * fs->blocksize;
	free(jsb);
}

/* Blocks claimed by the live inodes' extent trees: in unwritten extents
 * (fallocate: they read as zeros whatever the disk holds), and in
 * everything else that holds something (written extents, the trees' own
 * blocks, block-mapped files, extended attribute blocks). */
struct claims {
	ext2_filsys fs;
	ext2fs_block_bitmap unwritten, held;
	uint64_t nunwritten;
};

static void claim(struct claims *c, ext2fs_block_bitmap m, blk64_t b, blk64_t n)
{
	blk64_t total = ext2fs_blocks_count(c->fs->super);

	if (b >= total)
		return;
	if (n > total - b)
		n = total - b;
	if (n)
		ext2fs_mark_block_bitmap_range2(m, b, (unsigned)n);
	if (m == c->unwritten)
		c->nunwritten += n;
}

static int claim_mapped(ext2_filsys fs, blk64_t *b, e2_blkcnt_t nth, blk64_t ref, int off,
			void *arg)
{
	(void)fs, (void)nth, (void)ref, (void)off;
	claim(arg, ((struct claims *)arg)->held, *b, 1);
	return 0;
}

/* Every block of inode ino into c; -1 when its tree does not read whole. */
static int claim_inode(struct claims *c, ext2_ino_t ino, struct ext2_inode *inode)
{
	ext2_filsys fs = c->fs;
	ext2_extent_handle_t h;
	struct ext2fs_extent ex;
	errcode_t e;

	if (ext2fs_file_acl_block(fs, inode))
		claim(c, c->held, ext2fs_file_acl_block(fs, inode), 1);
	if (inode->i_flags & EXT4_INLINE_DATA_FL || !ext2fs_inode_has_valid_blocks2(fs, inode))
		return 0;
	if (!(inode->i_flags & EXT4_EXTENTS_FL))
		return ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY, NULL, claim_mapped, c)
			       ? -1
			       : 0;
	if (ext2fs_extent_open2(fs, ino, inode, &h))
		return -1;
	for (e = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ex); !e;
	     e = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &ex)) {
		if (!(ex.e_flags & EXT2_EXTENT_FLAGS_LEAF))
			claim(c, c->held, ex.e_pblk, 1); /* a tree block below */
		else if (ex.e_flags & EXT2_EXTENT_FLAGS_UNINIT)
			claim(c, c->unwritten, ex.e_pblk, ex.e_len);
		else
			claim(c, c->held, ex.e_pblk, ex.e_len);
	}
	ext2fs_extent_free(h);
	return e == EXT2_ET_EXTENT_NO_NEXT ? 0 : -1;
}

/* The groups' own blocks: superblocks, descriptors, bitmaps, inode tables. */
static void claim_group_metadata(struct claims *c)
{
	ext2_filsys fs = c->fs;

	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		blk64_t super = 0, old_desc = 0, new_desc = 0;
		blk_t n = 0;

		ext2fs_super_and_bgd_loc2(fs, g, &super, &old_desc, &new_desc, &n);
		if (super || g == 0)
			claim(c, c->held, super, 1);
		if (old_desc)
			claim(c, c->held, old_desc, fs->desc_blocks + fs->super->s_reserved_gdt_blocks);
		if (new_desc)
			claim(c, c->held, new_desc, 1);
		claim(c, c->held, ext2fs_block_bitmap_loc(fs, g), 1);
		claim(c, c->held, ext2fs_inode_bitmap_loc(fs, g), 1);
		claim(c, c->held, ext2fs_inode_table_loc(fs, g), fs->inode_blocks_per_group);
	}
}

/* The blocks of unwritten extents (fallocate) read as zeros through the
 * filesystem, whatever stale bytes they hold: they are not copied. Only on
 * a filesystem the kernel left clean (no errors, nothing in the journal to
 * replay), only for inodes the inode bitmap marks in use, and never a
 * block anything else claims. An extent tree that does not read, or an
 * inode in use that does not (its checksum wrong, its table on sectors
 * that did not read): nothing is left out. Not on bigalloc, where a
 * cluster is the unit the bitmap counts. */
static void unwritten_extents(struct extfs *x, ext2fs_block_bitmap map, uint64_t *skipped)
{
	ext2_filsys fs = x->fs;
	struct ext2_super_block *sb = fs->super;
	size_t isz = EXT2_INODE_SIZE(sb);
	struct claims c = {fs, NULL, NULL, 0};
	ext2_inode_scan scan = NULL;
	struct ext2_inode *inode = NULL;
	bool whole = true;
	ext2_ino_t ino;
	blk64_t b, end;

	if (!ext2fs_has_feature_extents(sb) || ext2fs_has_feature_bigalloc(sb) ||
	    ext2fs_has_feature_journal_needs_recovery(sb) ||
	    (sb->s_state & EXT2_ERROR_FS) || !(sb->s_state & EXT2_VALID_FS) ||
	    ext2fs_read_inode_bitmap(fs) || !(inode = malloc(isz)) ||
	    ext2fs_allocate_block_bitmap(fs, "unwritten", &c.unwritten) ||
	    ext2fs_allocate_block_bitmap(fs, "held", &c.held) ||
	    ext2fs_open_inode_scan(fs, 0, &scan))
		goto out;
	for (;;) {
		errcode_t e = ext2fs_get_next_inode_full(scan, &ino, inode, (int)isz);

		if (e == EXT2_ET_BAD_BLOCK_IN_INODE_TABLE || e == EXT2_ET_INODE_CSUM_INVALID ||
		    e == EXT2_ET_INODE_IS_GARBAGE) {
			/* an inode that cannot be trusted: what it claims is
			 * not known, so nothing is left out */
			if (ino && ext2fs_test_inode_bitmap2(fs->inode_map, ino))
				whole = false;
			continue;
		}
		if (e) {
			whole = false;
			break;
		}
		if (!ino)
			break;
		if (!ext2fs_test_inode_bitmap2(fs->inode_map, ino) ||
		    block_unreadable(x, ext2fs_inode_bitmap_loc(fs, ext2fs_group_of_ino(fs, ino))))
			continue;
		if (claim_inode(&c, ino, inode) < 0) {
			whole = false;
			break;
		}
	}
	if (!whole || !c.nunwritten)
		goto out;
	claim_group_metadata(&c);
	end = ext2fs_blocks_count(sb) - 1;
	b = sb->s_first_data_block;
	while (b <= end) {
		blk64_t s, z;

		if (ext2fs_find_first_set_block_bitmap2(c.unwritten, b, end, &s))
			break;
		if (ext2fs_find_first_zero_block_bitmap2(c.unwritten, s, end, &z))
			z = end + 1;
		for (b = s; b < z; b++)
			if (!ext2fs_test_block_bitmap2(c.held, b) &&
			    ext2fs_test_block_bitmap2(map, b)) {
				ext2fs_unmark_block_bitmap2(map, b);
				*skipped += fs->blocksize;
			}
	}
out:
	if (scan)
		ext2fs_close_inode_scan(scan);
	if (c.held)
		ext2fs_free_block_bitmap(c.held);
	if (c.unwritten)
		ext2fs_free_block_bitmap(c.unwritten);
	free(inode);
}

int extfs_used_ranges(struct extfs *x, extfs_range_fn fn, void *arg)
{
	ext2_filsys fs = x->fs;
	uint64_t bs = fs->blocksize;
	ext2fs_block_bitmap map = NULL;
	blk64_t start, end;
	errcode_t e;
	int err = 0;

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
	if (!e)
		e = ext2fs_copy_bitmap(fs->block_map, &map);
	if (e)
		return ext_err(e, "cannot read the block bitmap", x->name);
	x->unused_bytes = 0;
	unused_itables(x, map, &x->unused_bytes);
	zero_reserved_gdt(fs, map, &x->unused_bytes);
	clean_journal_body(fs, map, &x->unused_bytes);
	unwritten_extents(x, map, &x->unused_bytes);
	start = fs->super->s_first_data_block;
	end = ext2fs_blocks_count(fs->super) - 1;
	while (start <= end && !err) {
		blk64_t s, z;

		if (ext2fs_find_first_set_block_bitmap2(map, start, end, &s))
			break;
		if (ext2fs_find_first_zero_block_bitmap2(map, s, end, &z))
			z = end + 1;
		err = fn(s * bs, (z - s) * bs, arg);
		start = z;
	}
	ext2fs_free_block_bitmap(map);
	return err;
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
