/* The ext2/3/4 guest backend: libext2fs on a filesystem opened on the copy,
 * so every change lands in the copy-on-write overlay. Paths arrive
 * canonical (guest.c resolved the links). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/extfs.h"
#include "fs/guest.h"
#include "util/err.h"

static ext2_filsys fs_of(struct guest *g)
{
	return ((struct extfs *)g->priv)->fs;
}

/* extfs_open_copy fixed the time every write carries (see there). */
static uint32_t stamp(ext2_filsys fs)
{
	return (uint32_t)fs->now;
}

static int xerr(struct guest *g, errcode_t e, const char *what, const char *path)
{
	char msg[320];

	if (e == EXT2_ET_FILE_NOT_FOUND)
		return -ENOENT;
	snprintf(msg, sizeof(msg), "cannot %s %s", what, path);
	return extfs_error(e, msg, g->name);
}

static int lookup(struct guest *g, const char *path, ext2_ino_t *ino)
{
	errcode_t e;

	if (!strcmp(path, "/")) {
		*ino = EXT2_ROOT_INO;
		return 0;
	}
	e = ext2fs_namei(fs_of(g), EXT2_ROOT_INO, EXT2_ROOT_INO, path, ino);
	return e ? xerr(g, e, "find", path) : 0;
}

/* The directory holding path, and the last name in it. */
static int lookup_parent(struct guest *g, const char *path, ext2_ino_t *dir, char *base,
			 size_t blen)
{
	const char *slash = strrchr(path, '/');
	char d[4096];
	int err;

	if (!slash || !slash[1] || strlen(slash + 1) >= blen || strlen(slash + 1) > EXT2_NAME_LEN)
		return ferr(-EINVAL, "%s: bad file name %s", g->name, path);
	snprintf(base, blen, "%s", slash + 1);
	if (slash == path)
		memcpy(d, "/", 2);
	else
		snprintf(d, sizeof(d), "%.*s", (int)(slash - path), path);
	err = lookup(g, d, dir);
	if (err == -ENOENT)
		return ferr(-ENOENT, "%s: directory %s does not exist", g->name, d);
	return err;
}

static int read_inode(struct guest *g, ext2_ino_t ino, struct ext2_inode_large *in,
		      const char *path)
{
	errcode_t e = ext2fs_read_inode_full(fs_of(g), ino, (struct ext2_inode *)in,
					     sizeof(*in));
	return e ? xerr(g, e, "read the inode of", path) : 0;
}

static int ext_read(struct guest *g, const char *path, size_t max, char **data, size_t *len)
{
	struct ext2_inode_large in;
	ext2_file_t file;
	unsigned int got;
	uint64_t size;
	ext2_ino_t ino;
	errcode_t e;
	char *buf;
	int err = lookup(g, path, &ino);

	if (!err)
		err = read_inode(g, ino, &in, path);
	if (err)
		return err;
	if (!LINUX_S_ISREG(in.i_mode))
		return ferr(-EISDIR, "%s: %s is not a regular file", g->name, path);
	size = EXT2_I_SIZE(&in);
	if (size > max || size > 0x7fffffffu)
		return ferr(-EFBIG, "%s: %s is larger than %zu bytes", g->name, path, max);
	buf = malloc((size_t)size + 1);
	if (!buf)
		return ferr(-ENOMEM, "out of memory");
	e = ext2fs_file_open(fs_of(g), ino, 0, &file);
	if (!e) {
		e = ext2fs_file_read(file, buf, (unsigned int)size, &got);
		ext2fs_file_close(file);
	}
	if (!e && got != size)
		e = EXT2_ET_SHORT_READ;
	if (e) {
		free(buf);
		return xerr(g, e, "read", path);
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	return 0;
}

/* Links ino into dir, growing the directory when its blocks are full. */
static errcode_t link_in(ext2_filsys fs, ext2_ino_t dir, const char *name, ext2_ino_t ino,
			 int type)
{
	errcode_t e = ext2fs_link(fs, dir, name, ino, type);

	if (e == EXT2_ET_DIR_NO_SPACE) {
		e = ext2fs_expand_dir(fs, dir);
		if (!e)
			e = ext2fs_link(fs, dir, name, ino, type);
	}
	return e;
}

static errcode_t new_file(ext2_filsys fs, ext2_ino_t dir, const char *name, uint32_t mode,
			  ext2_ino_t *out)
{
	struct ext2_inode inode;
	ext2_ino_t ino;
	uint32_t now = stamp(fs);
	errcode_t e;

	e = ext2fs_new_inode(fs, dir, (int)(LINUX_S_IFREG | (mode & 07777)), NULL, &ino);
	if (!e)
		e = link_in(fs, dir, name, ino, EXT2_FT_REG_FILE);
	if (e)
		return e;
	ext2fs_inode_alloc_stats2(fs, ino, +1, 0);
	memset(&inode, 0, sizeof(inode));
	inode.i_mode = (uint16_t)(LINUX_S_IFREG | (mode & 07777));
	inode.i_links_count = 1;
	inode.i_atime = inode.i_ctime = inode.i_mtime = now;
	if (ext2fs_has_feature_extents(fs->super)) {
		ext2_extent_handle_t h;

		/* Opening an extent handle on a fresh inode writes its header. */
		e = ext2fs_extent_open2(fs, ino, &inode, &h);
		if (e)
			return e;
		ext2fs_extent_free(h);
	}
	e = ext2fs_write_new_inode(fs, ino, &inode);
	if (e)
		return e;
	*out = ino;
	return 0;
}

static int ext_write(struct guest *g, const char *path, const void *data, size_t len,
		     uint32_t mode)
{
	ext2_filsys fs = fs_of(g);
	struct ext2_inode_large in;
	ext2_file_t file;
	unsigned int done;
	ext2_ino_t ino, dir;
	char base[EXT2_NAME_LEN + 1];
	errcode_t e;
	int err;

	if (len > 0x7fffffffu)
		return ferr(-EFBIG, "%s: %s: %zu bytes is too large to write", g->name, path, len);
	err = lookup(g, path, &ino);
	if (err == -ENOENT) {
		err = lookup_parent(g, path, &dir, base, sizeof(base));
		if (err)
			return err;
		e = new_file(fs, dir, base, mode, &ino);
		if (e)
			return xerr(g, e, "create", path);
	} else if (err) {
		return err;
	} else {
		err = read_inode(g, ino, &in, path);
		if (err)
			return err;
		if (!LINUX_S_ISREG(in.i_mode))
			return ferr(-EISDIR, "%s: %s is not a regular file", g->name, path);
	}
	e = ext2fs_file_open(fs, ino, EXT2_FILE_WRITE, &file);
	if (e)
		return xerr(g, e, "open", path);
	e = ext2fs_file_write(file, data, (unsigned int)len, &done);
	if (!e && done != len)
		e = EXT2_ET_SHORT_WRITE;
	/* Setting the size after the write frees the old tail, if any. */
	if (!e)
		e = ext2fs_file_set_size2(file, len);
	if (!e)
		e = ext2fs_file_flush(file);
	if (e) {
		ext2fs_file_close(file);
		return xerr(g, e, "write", path);
	}
	e = ext2fs_file_close(file);
	if (!e && !(e = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)&in, sizeof(in)))) {
		in.i_mtime = in.i_ctime = stamp(fs);
		e = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)&in, sizeof(in));
	}
	return e ? xerr(g, e, "write", path) : 0;
}

/* Drops one link of ino; frees its blocks, extended attribute block and
 * the inode itself when none is left. */
static errcode_t drop_link(ext2_filsys fs, ext2_ino_t ino)
{
	struct ext2_inode_large in;
	blk64_t ea;
	errcode_t e;

	e = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)&in, sizeof(in));
	if (e)
		return e;
	if (in.i_links_count > 1) {
		in.i_links_count--;
		in.i_ctime = stamp(fs);
		return ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)&in, sizeof(in));
	}
	if (ext2fs_inode_has_valid_blocks2(fs, (struct ext2_inode *)&in)) {
		e = ext2fs_punch(fs, ino, (struct ext2_inode *)&in, NULL, 0, ~0ULL);
		if (e)
			return e;
	}
	ea = ext2fs_file_acl_block(fs, (struct ext2_inode *)&in);
	if (ea) {
		__u32 count = 0;

		e = ext2fs_adjust_ea_refcount3(fs, ea, NULL, -1, &count, ino);
		if (e)
			return e;
		if (count == 0)
			ext2fs_block_alloc_stats2(fs, ea, -1);
		ext2fs_file_acl_block_set(fs, (struct ext2_inode *)&in, 0);
	}
	in.i_links_count = 0;
	in.i_dtime = stamp(fs);
	e = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)&in, sizeof(in));
	if (e)
		return e;
	ext2fs_inode_alloc_stats2(fs, ino, -1, 0);
	return 0;
}

static int ext_unlink(struct guest *g, const char *path)
{
	ext2_filsys fs = fs_of(g);
	struct ext2_inode_large in;
	char base[EXT2_NAME_LEN + 1];
	ext2_ino_t ino, dir;
	errcode_t e;
	int err = lookup(g, path, &ino);

	if (!err)
		err = read_inode(g, ino, &in, path);
	if (!err && LINUX_S_ISDIR(in.i_mode))
		err = ferr(-EISDIR, "%s: %s is a directory", g->name, path);
	if (!err)
		err = lookup_parent(g, path, &dir, base, sizeof(base));
	if (err)
		return err;
	e = ext2fs_unlink(fs, dir, base, ino, 0);
	if (!e)
		e = drop_link(fs, ino);
	return e ? xerr(g, e, "remove", path) : 0;
}

static int ext_symlink(struct guest *g, const char *target, const char *path)
{
	ext2_filsys fs = fs_of(g);
	char base[EXT2_NAME_LEN + 1];
	ext2_ino_t dir, ino;
	errcode_t e;
	int err;

	if (lookup(g, path, &ino) == 0)
		return ferr(-EEXIST, "%s: %s exists", g->name, path);
	err = lookup_parent(g, path, &dir, base, sizeof(base));
	if (err)
		return err;
	e = ext2fs_symlink(fs, dir, 0, base, target);
	if (e == EXT2_ET_DIR_NO_SPACE) {
		e = ext2fs_expand_dir(fs, dir);
		if (!e)
			e = ext2fs_symlink(fs, dir, 0, base, target);
	}
	return e ? xerr(g, e, "create the link", path) : 0;
}

static int ext_readlink(struct guest *g, const char *path, char *buf, size_t len)
{
	ext2_filsys fs = fs_of(g);
	struct ext2_inode_large in;
	ext2_ino_t ino;
	uint64_t size;
	errcode_t e;
	int err = lookup(g, path, &ino);

	if (!err)
		err = read_inode(g, ino, &in, path);
	if (err)
		return err;
	if (!LINUX_S_ISLNK(in.i_mode))
		return ferr(-EINVAL, "%s: %s is not a symbolic link", g->name, path);
	size = EXT2_I_SIZE(&in);
	if (size >= len)
		return ferr(-ENAMETOOLONG, "%s: link %s is too long", g->name, path);
	if (ext2fs_is_fast_symlink((struct ext2_inode *)&in)) {
		memcpy(buf, in.i_block, (size_t)size);
	} else if (in.i_flags & EXT4_INLINE_DATA_FL) {
		size_t got = 0;
		char tmp[4096];

		e = ext2fs_inline_data_size(fs, ino, &got);
		if (!e && got > sizeof(tmp))
			e = EXT2_ET_INLINE_DATA_NO_SPACE;
		if (!e)
			e = ext2fs_inline_data_get(fs, ino, (struct ext2_inode *)&in, tmp, &got);
		if (e)
			return xerr(g, e, "read the link", path);
		memcpy(buf, tmp, (size_t)size);
	} else {
		ext2_file_t file;
		unsigned int got = 0;

		e = ext2fs_file_open(fs, ino, 0, &file);
		if (!e) {
			e = ext2fs_file_read(file, buf, (unsigned int)size, &got);
			ext2fs_file_close(file);
		}
		if (e || got != size)
			return xerr(g, e ? e : EXT2_ET_SHORT_READ, "read the link", path);
	}
	buf[size] = '\0';
	return 0;
}

static int ext_mkdir(struct guest *g, const char *path, uint32_t mode)
{
	ext2_filsys fs = fs_of(g);
	struct ext2_inode_large in;
	char base[EXT2_NAME_LEN + 1];
	ext2_ino_t dir, ino;
	errcode_t e;
	int err;

	if (lookup(g, path, &ino) == 0)
		return ferr(-EEXIST, "%s: %s exists", g->name, path);
	err = lookup_parent(g, path, &dir, base, sizeof(base));
	if (err)
		return err;
	e = ext2fs_mkdir(fs, dir, 0, base);
	if (e == EXT2_ET_DIR_NO_SPACE) {
		e = ext2fs_expand_dir(fs, dir);
		if (!e)
			e = ext2fs_mkdir(fs, dir, 0, base);
	}
	if (!e)
		e = ext2fs_namei(fs, EXT2_ROOT_INO, dir, base, &ino);
	if (!e)
		e = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)&in, sizeof(in));
	if (!e) {
		in.i_mode = (uint16_t)(LINUX_S_IFDIR | (mode & 07777));
		e = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)&in, sizeof(in));
	}
	return e ? xerr(g, e, "create the directory", path) : 0;
}

static int file_type(uint16_t mode)
{
	if (LINUX_S_ISREG(mode))
		return EXT2_FT_REG_FILE;
	if (LINUX_S_ISLNK(mode))
		return EXT2_FT_SYMLINK;
	if (LINUX_S_ISCHR(mode))
		return EXT2_FT_CHRDEV;
	if (LINUX_S_ISBLK(mode))
		return EXT2_FT_BLKDEV;
	if (LINUX_S_ISFIFO(mode))
		return EXT2_FT_FIFO;
	if (LINUX_S_ISSOCK(mode))
		return EXT2_FT_SOCK;
	return EXT2_FT_UNKNOWN;
}

struct list_ctx {
	struct guest *g;
	guest_list_fn fn;
	void *arg;
	int err;
};

static uint32_t mode_of_type(int t)
{
	switch (t) {
	case EXT2_FT_REG_FILE: return GUEST_S_IFREG;
	case EXT2_FT_DIR: return GUEST_S_IFDIR;
	case EXT2_FT_SYMLINK: return GUEST_S_IFLNK;
	case EXT2_FT_CHRDEV: return 0020000;
	case EXT2_FT_BLKDEV: return 0060000;
	case EXT2_FT_FIFO: return 0010000;
	case EXT2_FT_SOCK: return 0140000;
	}
	return 0;
}

static int list_one(ext2_ino_t dir, int entry, struct ext2_dir_entry *de, int offset,
		    int blocksize, char *buf, void *priv)
{
	struct list_ctx *c = priv;
	int nlen = ext2fs_dirent_name_len(de);
	char name[EXT2_NAME_LEN + 1];
	uint32_t mode;

	(void)dir; (void)entry; (void)offset; (void)blocksize; (void)buf;
	memcpy(name, de->name, (size_t)nlen);
	name[nlen] = '\0';
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	mode = mode_of_type(ext2fs_dirent_file_type(de));
	if (!mode) {
		struct ext2_inode in;

		/* No file type in the entry (ext2 without filetype). */
		if (ext2fs_read_inode(fs_of(c->g), de->inode, &in) == 0)
			mode = in.i_mode;
	}
	c->err = c->fn(name, mode, c->arg);
	return c->err ? DIRENT_ABORT : 0;
}

static int ext_list(struct guest *g, const char *path, guest_list_fn fn, void *arg)
{
	struct list_ctx c = {g, fn, arg, 0};
	ext2_ino_t ino;
	errcode_t e;
	int err = lookup(g, path, &ino);

	if (err)
		return err;
	e = ext2fs_dir_iterate2(fs_of(g), ino, 0, NULL, list_one, &c);
	if (e && !c.err)
		return xerr(g, e, "list", path);
	return c.err;
}

static int ext_stat(struct guest *g, const char *path, bool follow, struct guest_stat *st)
{
	struct ext2_inode_large in;
	ext2_ino_t ino;
	int err = lookup(g, path, &ino);

	(void)follow; /* guest.c resolved the path as asked */
	if (!err)
		err = read_inode(g, ino, &in, path);
	if (err)
		return err;
	st->mode = in.i_mode;
	st->uid = inode_uid(in);
	st->gid = inode_gid(in);
	st->size = EXT2_I_SIZE(&in);
	st->nlink = in.i_links_count;
	return 0;
}

static int ext_rename(struct guest *g, const char *from, const char *to)
{
	ext2_filsys fs = fs_of(g);
	struct ext2_inode_large in;
	char fbase[EXT2_NAME_LEN + 1], tbase[EXT2_NAME_LEN + 1];
	ext2_ino_t ino, fdir, tdir, old;
	errcode_t e;
	int err = lookup(g, from, &ino);

	if (!err)
		err = read_inode(g, ino, &in, from);
	if (!err && LINUX_S_ISDIR(in.i_mode))
		err = ferr(-EISDIR, "%s: %s: renaming directories is not supported", g->name,
			   from);
	if (!err)
		err = lookup_parent(g, from, &fdir, fbase, sizeof(fbase));
	if (!err)
		err = lookup_parent(g, to, &tdir, tbase, sizeof(tbase));
	if (err)
		return err;
	if (lookup(g, to, &old) == 0) {
		if (old == ino)
			return 0;
		err = ext_unlink(g, to);
		if (err)
			return err;
	}
	e = link_in(fs, tdir, tbase, ino, file_type(in.i_mode));
	if (!e)
		e = ext2fs_unlink(fs, fdir, fbase, ino, 0);
	return e ? xerr(g, e, "rename", from) : 0;
}

static const struct guest_ops ext_ops = {
	.read = ext_read,
	.write = ext_write,
	.rename = ext_rename,
	.unlink = ext_unlink,
	.symlink = ext_symlink,
	.readlink = ext_readlink,
	.mkdir = ext_mkdir,
	.list = ext_list,
	.stat = ext_stat,
};

int guest_ext_open(struct guest *g, struct extfs *x)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", x->name);
	if (!x->rw)
		return ferr(-EROFS, "%s: internal: guest files need the copy opened writable",
			    x->name);
	g->ops = &ext_ops;
	g->priv = x;
	return 0;
}
