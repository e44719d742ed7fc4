/* Who owns a block of an ext filesystem (see extfs.h): the metadata by the
 * group layout, files by their extent trees or block maps, their names by
 * the directories that list them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/extfs.h"
#include "util/err.h"

enum part_of { OF_DATA, OF_BLOCK_MAP, OF_EXTENT_TREE, OF_XATTR };
static const char *const part_of[] = {"", " (its block map)", " (its extent tree)",
				       " (its extended attributes)"};

struct owners {
	ext2_filsys fs;
	const uint64_t *blk;
	size_t n, left;
	ext2_ino_t *ino;   /* the inode that owns blk[i], or 0 */
	uint8_t *kind;     /* ...as: enum part_of */
	char (*owner)[EXTFS_OWNER_MAX];
	ext2_ino_t cur;
};

/* The index of the first block at or past b. */
static size_t lower(const struct owners *o, uint64_t b)
{
	size_t lo = 0, hi = o->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (o->blk[mid] < b)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Blocks [a, a+len) belong to the current inode. */
static void claim(struct owners *o, uint64_t a, uint64_t len, enum part_of kind)
{
	for (size_t i = lower(o, a); i < o->n && o->blk[i] < a + len; i++) {
		if (o->owner[i][0] || o->ino[i])
			continue;
		o->ino[i] = o->cur;
		o->kind[i] = (uint8_t)kind;
		o->left--;
	}
}

static void name(struct owners *o, size_t i, const char *fmt, ...) FERRY_PRINTF(3, 4);
static void name(struct owners *o, size_t i, const char *fmt, ...)
{
	va_list ap;

	if (o->owner[i][0] || o->ino[i])
		return;
	va_start(ap, fmt);
	vsnprintf(o->owner[i], EXTFS_OWNER_MAX, fmt, ap);
	va_end(ap);
	o->left--;
}

/* Superblocks, group descriptors, bitmaps and inode tables: by the layout
 * of every group (with flex_bg a group's metadata lies in another). */
static void metadata(struct owners *o)
{
	ext2_filsys fs = o->fs;
	uint64_t itb = fs->inode_blocks_per_group;
	uint64_t gdt = fs->desc_blocks + fs->super->s_reserved_gdt_blocks;

	for (dgrp_t g = 0; g < fs->group_desc_count && o->left; g++) {
		blk64_t super = 0, old_desc = 0, new_desc = 0, it = ext2fs_inode_table_loc(fs, g);
		blk_t used = 0;
		bool has_super = g == 0 || ext2fs_bg_has_super(fs, g);

		ext2fs_super_and_bgd_loc2(fs, g, &super, &old_desc, &new_desc, &used);
		for (size_t i = 0; i < o->n; i++) {
			uint64_t b = o->blk[i];

			if (has_super && b == super)
				name(o, i, "superblock (group %u)", g);
			else if (old_desc && b >= old_desc && b < old_desc + gdt)
				name(o, i, "group descriptors (group %u)", g);
			else if (new_desc && b == new_desc)
				name(o, i, "group descriptors (group %u)", g);
			else if (b == ext2fs_block_bitmap_loc(fs, g))
				name(o, i, "block bitmap, group %u", g);
			else if (b == ext2fs_inode_bitmap_loc(fs, g))
				name(o, i, "inode bitmap, group %u", g);
			else if (it && b >= it && b < it + itb) {
				uint64_t per = EXT2_INODES_PER_BLOCK(fs->super);
				uint64_t first = (uint64_t)g * fs->super->s_inodes_per_group +
						 (b - it) * per + 1;

				name(o, i, "inode table, group %u (inodes %llu-%llu)", g,
				     (unsigned long long)first, (unsigned long long)(first + per - 1));
			}
		}
	}
}

static int block_cb(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref,
		    int ref_off, void *arg)
{
	struct owners *o = arg;

	(void)fs;
	(void)ref;
	(void)ref_off;
	claim(o, *blocknr, 1, blockcnt < 0 ? OF_BLOCK_MAP : OF_DATA);
	return o->left ? 0 : BLOCK_ABORT;
}

/* The blocks of one inode: its extent tree (leaves: data; the rest:
 * tree blocks), or its block map. */
static errcode_t inode_blocks(struct owners *o, ext2_ino_t ino, struct ext2_inode *inode)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent ex;
	errcode_t e;

	o->cur = ino;
	claim(o, ext2fs_file_acl_block(o->fs, inode), 1, OF_XATTR);
	if (!ext2fs_inode_has_valid_blocks2(o->fs, inode))
		return 0;
	if (!(inode->i_flags & EXT4_EXTENTS_FL))
		return ext2fs_block_iterate3(o->fs, ino, BLOCK_FLAG_READ_ONLY, NULL, block_cb, o);
	e = ext2fs_extent_open2(o->fs, ino, inode, &h);
	if (e)
		return e;
	for (e = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ex); !e && o->left;
	     e = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &ex)) {
		if (ex.e_flags & EXT2_EXTENT_FLAGS_LEAF)
			claim(o, ex.e_pblk, ex.e_len, OF_DATA);
		else if (!(ex.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT))
			claim(o, ex.e_pblk, 1, OF_EXTENT_TREE);
	}
	ext2fs_extent_free(h);
	return e == EXT2_ET_EXTENT_NO_NEXT || !o->left ? 0 : e;
}

/* The inodes with names to find; those found are named in owner. */
struct naming {
	struct owners *o;
	size_t unnamed;
	ext2_ino_t dir;
};

static void set_path(struct owners *o, ext2_ino_t dir, ext2_ino_t ino, size_t *unnamed)
{
	char *path = NULL;

	if (ext2fs_get_pathname(o->fs, dir, ino, &path) || !path)
		return;
	for (size_t i = 0; i < o->n; i++) {
		if (o->ino[i] != ino || o->owner[i][0])
			continue;
		snprintf(o->owner[i], EXTFS_OWNER_MAX, "%s%s", path, part_of[o->kind[i]]);
		(*unnamed)--;
	}
	ext2fs_free_mem(&path);
}

static int dir_cb(struct ext2_dir_entry *d, int off, int bs, char *buf, void *arg)
{
	struct naming *nm = arg;
	int len = ext2fs_dirent_name_len(d);

	(void)off;
	(void)bs;
	(void)buf;
	if (!d->inode || (len == 1 && d->name[0] == '.') ||
	    (len == 2 && d->name[0] == '.' && d->name[1] == '.'))
		return 0;
	for (size_t i = 0; i < nm->o->n; i++) {
		if (nm->o->ino[i] == d->inode && !nm->o->owner[i][0]) {
			set_path(nm->o, nm->dir, d->inode, &nm->unnamed);
			break;
		}
	}
	return nm->unnamed ? 0 : DIRENT_ABORT;
}

static const char *special(ext2_ino_t ino)
{
	switch (ino) {
	case EXT2_BAD_INO: return "the bad-blocks list";
	case EXT2_ROOT_INO: return "/ (the root directory)";
	case EXT4_USR_QUOTA_INO: return "the user quota file";
	case EXT4_GRP_QUOTA_INO: return "the group quota file";
	case EXT2_BOOT_LOADER_INO: return "the boot loader inode";
	case EXT2_RESIZE_INO: return "the reserved group descriptor blocks (resize inode)";
	case EXT2_JOURNAL_INO: return "the journal";
	default: return NULL;
	}
}

/* Names the owning inodes: the special ones by what they are, the others
 * by a directory entry that lists them. */
static errcode_t names(struct owners *o)
{
	struct naming nm = {o, 0, 0};
	ext2_inode_scan scan;
	ext2_ino_t ino;
	struct ext2_inode inode;
	errcode_t e;

	for (size_t i = 0; i < o->n; i++) {
		const char *s = o->ino[i] ? special(o->ino[i]) : NULL;

		if (s)
			snprintf(o->owner[i], EXTFS_OWNER_MAX, "%s", s);
		else if (o->ino[i])
			nm.unnamed++;
	}
	if (!nm.unnamed)
		return 0;
	e = ext2fs_open_inode_scan(o->fs, 0, &scan);
	if (e)
		return e;
	while (nm.unnamed && !(e = ext2fs_get_next_inode(scan, &ino, &inode)) && ino) {
		if (!inode.i_links_count || !LINUX_S_ISDIR(inode.i_mode))
			continue;
		nm.dir = ino;
		ext2fs_dir_iterate(o->fs, ino, 0, NULL, dir_cb, &nm);
	}
	ext2fs_close_inode_scan(scan);
	for (size_t i = 0; i < o->n; i++) {
		if (o->ino[i] && !o->owner[i][0])
			snprintf(o->owner[i], EXTFS_OWNER_MAX, "inode %u (no directory lists it)",
				 o->ino[i]);
	}
	return e;
}

int extfs_block_owners(struct extfs *x, const uint64_t *blocks, size_t n,
		       char (*owner)[EXTFS_OWNER_MAX])
{
	ext2_filsys fs = x->fs;
	struct owners o = {fs, blocks, n, n, NULL, NULL, owner, 0};
	ext2_inode_scan scan;
	ext2_ino_t ino;
	struct ext2_inode inode;
	errcode_t e;

	for (size_t i = 0; i < n; i++)
		owner[i][0] = '\0';
	o.ino = calloc(n ? n : 1, sizeof(*o.ino));
	o.kind = calloc(n ? n : 1, sizeof(*o.kind));
	if (!o.ino || !o.kind) {
		free(o.ino);
		free(o.kind);
		return ferr(-ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		if (blocks[i] >= ext2fs_blocks_count(fs->super))
			name(&o, i, "past the filesystem's end");
		else if (blocks[i] < fs->super->s_first_data_block)
			name(&o, i, "the boot block");
	}
	metadata(&o);
	e = o.left ? ext2fs_read_block_bitmap(fs) : 0;
	for (size_t i = 0; !e && i < n; i++) {
		if (!owner[i][0] && !ext2fs_test_block_bitmap2(fs->block_map, blocks[i]))
			name(&o, i, "free space");
	}
	if (!e && o.left && !(e = ext2fs_open_inode_scan(fs, 0, &scan))) {
		while (o.left && !(e = ext2fs_get_next_inode(scan, &ino, &inode)) && ino) {
			if (!inode.i_links_count && ino >= EXT2_FIRST_INO(fs->super))
				continue;
			e = inode_blocks(&o, ino, &inode);
			if (e)
				break;
		}
		ext2fs_close_inode_scan(scan);
	}
	if (!e)
		e = names(&o);
	for (size_t i = 0; !e && i < n; i++) {
		if (!owner[i][0])
			snprintf(owner[i], EXTFS_OWNER_MAX, "used, but no inode lists it");
	}
	free(o.ino);
	free(o.kind);
	return e ? extfs_error(e, "finding who owns a block", x->name) : 0;
}
