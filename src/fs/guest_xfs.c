/* The read-only XFS guest backend: Ferry's own XFS reader (fs/xfs.h) over a
 * block device, for judging a system whose XFS the kernel could not mount
 * (ferry check without NBD). Reads, listings, stat and readlink work; every
 * change is refused with -EROFS, since XFS is edited only by the kernel.
 * Paths arrive canonical (guest.c resolved the links). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/guest.h"
#include "fs/xfs.h"
#include "util/err.h"

static struct xfs_fs *fs_of(struct guest *g)
{
	return g->priv;
}

static int xg_read(struct guest *g, const char *path, size_t max, char **data, size_t *len)
{
	return xfs_read(fs_of(g), path, max, data, len);
}

static int refuse(struct guest *g, const char *what, const char *path)
{
	return ferr(-EROFS, "%s: cannot %s %s: Ferry reads XFS but does not write it; XFS is "
		    "edited by the kernel in the rescue image", g->name, what, path);
}

static int xg_write(struct guest *g, const char *path, const void *data, size_t len,
		    uint32_t mode)
{
	(void)data; (void)len; (void)mode;
	return refuse(g, "write", path);
}

static int xg_rename(struct guest *g, const char *from, const char *to)
{
	(void)to;
	return refuse(g, "rename", from);
}

static int xg_unlink(struct guest *g, const char *path)
{
	return refuse(g, "remove", path);
}

static int xg_symlink(struct guest *g, const char *target, const char *path)
{
	(void)target;
	return refuse(g, "create the link", path);
}

static int xg_mkdir(struct guest *g, const char *path, uint32_t mode)
{
	(void)mode;
	return refuse(g, "create the directory", path);
}

static int xg_readlink(struct guest *g, const char *path, char *buf, size_t len)
{
	return xfs_readlink(fs_of(g), path, buf, len);
}

static int xg_list(struct guest *g, const char *path, guest_list_fn fn, void *arg)
{
	return xfs_list(fs_of(g), path, fn, arg);
}

static int xg_stat(struct guest *g, const char *path, bool follow, struct guest_stat *st)
{
	struct xfs_stat xs;
	int err = xfs_stat(fs_of(g), path, follow, &xs);

	if (err)
		return err;
	st->mode = xs.mode;
	st->uid = xs.uid;
	st->gid = xs.gid;
	st->size = xs.size;
	st->nlink = xs.nlink;
	return 0;
}

static void xg_release(struct guest *g)
{
	xfs_free(g->priv);
	g->priv = NULL;
}

static const struct guest_ops xfs_ops = {
	.read = xg_read,
	.write = xg_write,
	.rename = xg_rename,
	.unlink = xg_unlink,
	.symlink = xg_symlink,
	.readlink = xg_readlink,
	.mkdir = xg_mkdir,
	.list = xg_list,
	.stat = xg_stat,
	.release = xg_release,
};

int guest_xfs_open(struct guest *g, const struct blkdev *d)
{
	struct xfs_fs *x;
	int err;

	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", d->name);
	err = xfs_open(&x, d);
	if (err)
		return err;
	g->ops = &xfs_ops;
	g->priv = x;
	return 0;
}
