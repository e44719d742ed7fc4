/* The FAT guest backend: an EFI system partition (/boot/efi) read and
 * edited by Ferry's own FAT code (fs/fat.h) on a device of the copy. FAT
 * has no owners, modes or links: files show as root's, 0644 (directories
 * 0755), and a symbolic link cannot be made. Paths arrive canonical. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fat.h"
#include "fs/guest.h"
#include "util/err.h"

static struct fat_fs *fs_of(struct guest *g)
{
	return g->priv;
}

static int fg_read(struct guest *g, const char *path, size_t max, char **data, size_t *len)
{
	return fatfs_read(fs_of(g), path, max, data, len);
}

static int fg_write(struct guest *g, const char *path, const void *data, size_t len,
		    uint32_t mode)
{
	(void)mode;
	return fatfs_write(fs_of(g), path, data, len);
}

static int fg_rename(struct guest *g, const char *from, const char *to)
{
	return fatfs_rename(fs_of(g), from, to);
}

static int fg_unlink(struct guest *g, const char *path)
{
	struct fat_stat st;
	int err = fatfs_stat(fs_of(g), path, &st);

	if (!err && st.dir)
		return ferr(-EISDIR, "%s: %s is a directory", g->name, path);
	return err ? err : fatfs_remove(fs_of(g), path);
}

static int fg_symlink(struct guest *g, const char *target, const char *path)
{
	(void)target;
	return ferr(-EPERM, "%s: cannot create the link %s: FAT has no symbolic links", g->name,
		    path);
}

static int fg_readlink(struct guest *g, const char *path, char *buf, size_t len)
{
	struct fat_stat st;
	int err = fatfs_stat(fs_of(g), path, &st);

	(void)buf;
	(void)len;
	return err ? err : ferr(-EINVAL, "%s: %s is not a symbolic link", g->name, path);
}

static int fg_mkdir(struct guest *g, const char *path, uint32_t mode)
{
	(void)mode;
	return fatfs_mkdir(fs_of(g), path);
}

struct list_ctx {
	guest_list_fn fn;
	void *arg;
};

static int list_one(const char *name, bool dir, void *arg)
{
	struct list_ctx *l = arg;

	return l->fn(name, dir ? GUEST_S_IFDIR | 0755 : GUEST_S_IFREG | 0644, l->arg);
}

static int fg_list(struct guest *g, const char *path, guest_list_fn fn, void *arg)
{
	struct list_ctx l = {fn, arg};

	return fatfs_list(fs_of(g), path, list_one, &l);
}

static int fg_stat(struct guest *g, const char *path, bool follow, struct guest_stat *st)
{
	struct fat_stat fs;
	int err = fatfs_stat(fs_of(g), path, &fs);

	(void)follow;
	if (err)
		return err;
	memset(st, 0, sizeof(*st));
	st->mode = fs.dir ? GUEST_S_IFDIR | 0755 : GUEST_S_IFREG | 0644;
	st->size = fs.size;
	st->nlink = 1;
	return 0;
}

static void fg_release(struct guest *g)
{
	fatfs_free(g->priv);
	g->priv = NULL;
}

static const struct guest_ops fat_ops = {
	.read = fg_read,
	.write = fg_write,
	.rename = fg_rename,
	.unlink = fg_unlink,
	.symlink = fg_symlink,
	.readlink = fg_readlink,
	.mkdir = fg_mkdir,
	.list = fg_list,
	.stat = fg_stat,
	.release = fg_release,
};

int guest_fat_open(struct guest *g, const struct blkdev *d)
{
	struct fat_fs *f;
	int err;

	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", d->name);
	err = fatfs_open(&f, d, d->copy);
	if (err)
		return err;
	g->ops = &fat_ops;
	g->priv = f;
	return 0;
}
