/* The plain-directory guest backend: a host directory is the guest's "/".
 * Every lookup goes through openat2(RESOLVE_IN_ROOT), so no path or link in
 * the tree can reach a host file outside it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs/guest.h"
#include "util/err.h"

struct dirguest {
	int rootfd;
};

static int open_in(struct guest *g, const char *path, int flags, mode_t mode)
{
	struct dirguest *d = g->priv;
	struct open_how how = {
		.flags = (uint64_t)flags | O_CLOEXEC,
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	const char *rel = path;
	long fd;

	while (*rel == '/')
		rel++;
	fd = syscall(SYS_openat2, d->rootfd, *rel ? rel : ".", &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

/* Opens the parent directory of path and points *base at the last name. */
static int open_parent(struct guest *g, const char *path, const char **base, char *dir,
		       size_t dlen)
{
	const char *slash = strrchr(path, '/');

	if (!slash || !slash[1])
		return ferr(-EINVAL, "%s: %s has no file name", g->name, path);
	*base = slash + 1;
	if ((size_t)(slash - path) + 2 > dlen)
		return ferr(-ENAMETOOLONG, "%s: path too long", g->name);
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return open_in(g, dir[0] ? dir : "/", O_PATH | O_DIRECTORY, 0);
}

static int dir_err(struct guest *g, int err, const char *what, const char *path)
{
	if (err == -ENOENT)
		return err;
	return ferr(err, "%s: cannot %s %s: %s", g->name, what, path, strerror(-err));
}

static int dir_read(struct guest *g, const char *path, size_t max, char **data, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd = open_in(g, path, O_RDONLY, 0);

	if (fd < 0)
		return dir_err(g, fd, "read", path);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return ferr(-EISDIR, "%s: %s is not a regular file", g->name, path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return ferr(-EFBIG, "%s: %s is larger than %zu bytes", g->name, path, max);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return ferr(-ENOMEM, "out of memory");
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? -errno : -EIO;
			free(buf);
			close(fd);
			return dir_err(g, err, "read", path);
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*data = buf;
	*len = got;
	return 0;
}

static int dir_write(struct guest *g, const char *path, const void *data, size_t len,
		     uint32_t mode)
{
	const char *p = data;
	int fd = open_in(g, path, O_WRONLY | O_CREAT | O_TRUNC, mode & 07777);

	if (fd < 0)
		return dir_err(g, fd, "write", path);
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;
			close(fd);
			return dir_err(g, err, "write", path);
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd))
		return dir_err(g, -errno, "write", path);
	return 0;
}

static int dir_rename(struct guest *g, const char *from, const char *to)
{
	char d1[4096], d2[4096];
	const char *b1, *b2;
	int f1, f2, err = 0;

	f1 = open_parent(g, from, &b1, d1, sizeof(d1));
	if (f1 < 0)
		return dir_err(g, f1, "rename", from);
	f2 = open_parent(g, to, &b2, d2, sizeof(d2));
	if (f2 < 0) {
		close(f1);
		return dir_err(g, f2, "rename to", to);
	}
	if (renameat(f1, b1, f2, b2))
		err = dir_err(g, -errno, "rename", from);
	close(f1);
	close(f2);
	return err;
}

static int dir_unlink(struct guest *g, const char *path)
{
	char d[4096];
	const char *b;
	int fd = open_parent(g, path, &b, d, sizeof(d)), err = 0;

	if (fd < 0)
		return dir_err(g, fd, "remove", path);
	if (unlinkat(fd, b, 0))
		err = dir_err(g, -errno, "remove", path);
	close(fd);
	return err;
}

static int dir_symlink(struct guest *g, const char *target, const char *path)
{
	char d[4096];
	const char *b;
	int fd = open_parent(g, path, &b, d, sizeof(d)), err = 0;

	if (fd < 0)
		return dir_err(g, fd, "create link", path);
	if (symlinkat(target, fd, b))
		err = dir_err(g, -errno, "create link", path);
	close(fd);
	return err;
}

static int dir_readlink(struct guest *g, const char *path, char *buf, size_t len)
{
	char d[4096];
	const char *b;
	ssize_t n;
	int fd = open_parent(g, path, &b, d, sizeof(d));

	if (fd < 0)
		return dir_err(g, fd, "read link", path);
	n = readlinkat(fd, b, buf, len);
	close(fd);
	if (n < 0)
		return dir_err(g, -errno, "read link", path);
	if ((size_t)n >= len)
		return ferr(-ENAMETOOLONG, "%s: link %s is too long", g->name, path);
	buf[n] = '\0';
	return 0;
}

static int dir_mkdir(struct guest *g, const char *path, uint32_t mode)
{
	char d[4096];
	const char *b;
	int fd = open_parent(g, path, &b, d, sizeof(d)), err = 0;

	if (fd < 0)
		return dir_err(g, fd, "create directory", path);
	if (mkdirat(fd, b, mode & 07777))
		err = dir_err(g, -errno, "create directory", path);
	close(fd);
	return err;
}

static int dir_list(struct guest *g, const char *path, guest_list_fn fn, void *arg)
{
	int fd = open_in(g, path, O_RDONLY | O_DIRECTORY, 0), err = 0;
	struct dirent *de;
	DIR *dir;

	if (fd < 0)
		return dir_err(g, fd, "list", path);
	dir = fdopendir(fd);
	if (!dir) {
		err = -errno;
		close(fd);
		return dir_err(g, err, "list", path);
	}
	while ((de = readdir(dir))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		err = fn(de->d_name, st.st_mode, arg);
		if (err)
			break;
	}
	closedir(dir);
	return err;
}

static int dir_stat(struct guest *g, const char *path, bool follow, struct guest_stat *gs)
{
	struct stat st;
	int fd;

	if (!strcmp(path, "/")) {
		fd = open_in(g, "/", O_PATH, 0);
	} else {
		char d[4096];
		const char *b;
		int dfd = open_parent(g, path, &b, d, sizeof(d));

		if (dfd < 0)
			return dir_err(g, dfd, "stat", path);
		fd = openat(dfd, b, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
		if (fd < 0)
			fd = -errno;
		close(dfd);
	}
	if (fd < 0)
		return dir_err(g, fd, "stat", path);
	if (fstatat(fd, "", &st, AT_EMPTY_PATH)) {
		int err = -errno;
		close(fd);
		return dir_err(g, err, "stat", path);
	}
	close(fd);
	gs->mode = st.st_mode;
	gs->uid = st.st_uid;
	gs->gid = st.st_gid;
	gs->size = (uint64_t)st.st_size;
	gs->nlink = (uint32_t)st.st_nlink;
	return 0;
}

static void dir_release(struct guest *g)
{
	struct dirguest *d = g->priv;

	if (d) {
		close(d->rootfd);
		free(d);
	}
	g->priv = NULL;
}

static const struct guest_ops dir_ops = {
	.read = dir_read,
	.write = dir_write,
	.rename = dir_rename,
	.unlink = dir_unlink,
	.symlink = dir_symlink,
	.readlink = dir_readlink,
	.mkdir = dir_mkdir,
	.list = dir_list,
	.stat = dir_stat,
	.release = dir_release,
};

int guest_dir_open(struct guest *g, const char *root)
{
	struct dirguest *d;

	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", root);
	d = malloc(sizeof(*d));
	if (!d)
		return ferr(-ENOMEM, "out of memory");
	d->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d->rootfd < 0) {
		int err = -errno;
		free(d);
		return ferr_errno(err, "cannot open directory %s", root);
	}
	g->ops = &dir_ops;
	g->priv = d;
	return 0;
}
