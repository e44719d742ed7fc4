/* Opening source disks without ever being able to write to them. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "blk/guard.h"
#include "blk/source.h"
#include "blk/cow.h"
#include "blk/salvage.h"
#include "util/err.h"

static void read_sysfs(const struct stat *st, const char *attr, char *buf, size_t len)
{
	char path[128];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/device/%s",
		 major(st->st_rdev), minor(st->st_rdev), attr);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(buf, (int)len, f)) {
		size_t n = strlen(buf);
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
			buf[--n] = '\0';
	}
	fclose(f);
}

static int guard_blockdev(struct source *src, const struct stat *st)
{
	int ro = 1, ssz = 512;
	unsigned int pbsz = 512;

	/* The kernel flag makes every later write fail; the guard refuses the
	 * opens for writing, libparted's included. */
	guard_disk(st->st_rdev);
	if (!source_disk_in_use(st->st_rdev, src->in_use, sizeof(src->in_use)) &&
	    ioctl(src->fd, BLKROSET, &ro) < 0)
		return ferr_errno(-errno, "cannot set %s read-only (BLKROSET)", src->path);
	if (ioctl(src->fd, BLKGETSIZE64, &src->size) < 0)
		return ferr_errno(-errno, "cannot read the size of %s", src->path);
	if (ioctl(src->fd, BLKSSZGET, &ssz) == 0 && ssz > 0)
		src->lsec = (unsigned)ssz;
	if (ioctl(src->fd, BLKPBSZGET, &pbsz) == 0 && pbsz > 0)
		src->psec = pbsz;
	read_sysfs(st, "model", src->model, sizeof(src->model));
	read_sysfs(st, "serial", src->serial, sizeof(src->serial));
	if (!src->serial[0])
		read_sysfs(st, "wwid", src->serial, sizeof(src->serial));
	return 0;
}

int source_open(struct source *src, const char *path)
{
	struct stat st;
	int err;

	memset(src, 0, sizeof(*src));
	src->fd = src->dfd = -1;
	src->lsec = src->psec = 512;
	src->path = strdup(path);
	if (!src->path)
		return ferr(-ENOMEM, "out of memory");
	src->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (src->fd < 0) {
		err = ferr_errno(-errno, "cannot open %s", path);
		goto out_free;
	}
	if (fstat(src->fd, &st) < 0) {
		err = ferr_errno(-errno, "cannot stat %s", path);
		goto out_close;
	}
	if (S_ISBLK(st.st_mode)) {
		src->blockdev = true;
		err = guard_blockdev(src, &st);
		if (err)
			goto out_close;
		/* For reads that narrow a read error down (blk/salvage.h);
		 * without it they go through the page cache. */
		src->dfd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	} else if (S_ISREG(st.st_mode)) {
		src->size = (uint64_t)st.st_size;
	} else {
		err = ferr(-EINVAL, "%s is not a block device or a disk image file", path);
		goto out_close;
	}
	if (src->size == 0) {
		err = ferr(-EINVAL, "%s is empty (0 bytes)", path);
		goto out_close;
	}
	/* An image file is guarded as a disk is, until source_release:
	 * libparted would open it for writing, and fsync it. */
	if (!src->blockdev)
		guard_file(st.st_dev, st.st_ino);
	posix_fadvise(src->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return 0;

out_close:
	close(src->fd);
	src->fd = -1;
out_free:
	free(src->path);
	src->path = NULL;
	return err;
}

void source_release(struct source *src)
{
	struct stat st;

	/* An image file is guarded while it is a source (a disk for good). */
	if (src->fd >= 0 && !src->blockdev && !fstat(src->fd, &st) && S_ISREG(st.st_mode))
		guard_file_release(st.st_dev, st.st_ino);
	if (src->fd >= 0)
		close(src->fd);
	if (src->dfd >= 0)
		close(src->dfd);
	free(src->path);
	src->path = NULL;
	src->fd = src->dfd = -1;
}

/* A read of whole logical sectors around [off, off+len), straight from the
 * device (O_DIRECT), through an aligned buffer. */
static long direct_pread(const struct source *src, void *buf, size_t len, uint64_t off)
{
	uint64_t a = off / src->lsec * src->lsec;
	uint64_t b = (off + len + src->lsec - 1) / src->lsec * src->lsec;
	size_t cover;
	void *bounce;
	ssize_t n;

	if (b > src->size)
		b = src->size;
	cover = (size_t)(b - a);
	if (posix_memalign(&bounce, 4096, cover ? cover : 1))
		return -ENOMEM;
	do
		n = pread(src->dfd, bounce, cover, (off_t)a);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		n = -errno;
	} else if ((uint64_t)n <= off - a) {
		n = 0;
	} else {
		n -= (ssize_t)(off - a);
		if ((size_t)n > len)
			n = (ssize_t)len;
		memcpy(buf, (uint8_t *)bounce + (off - a), (size_t)n);
	}
	free(bounce);
	return n;
}

long source_io_pread(const struct source *src, void *buf, size_t len, uint64_t off,
		     bool careful)
{
	ssize_t n;

	if (src->io)
		return src->io->pread(src->io->ctx, src, buf, len, off, careful);
	if (careful && src->dfd >= 0)
		return direct_pread(src, buf, len, off);
	do
		n = pread(src->fd, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static int disk_pread(const struct source *src, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	size_t left = len;
	uint64_t at = off;
	int err = 0;

	if (off > src->size || len > src->size - off)
		return ferr(-EIO, "read of %zu bytes at offset %llu is past the end of %s",
			    len, (unsigned long long)off, src->path);
	while (left > 0) {
		long n = source_io_pread(src, p, left, at, false);

		if (n < 0 && src->salvage) {
			err = salvage_read(src, p, left, at, (int)n);
			break;
		}
		if (n < 0)
			return ferr_errno((int)n, "read error on %s at offset %llu", src->path,
					  (unsigned long long)at);
		if (n == 0)
			return ferr(-EIO, "%s ended early at offset %llu", src->path,
				    (unsigned long long)at);
		p += n;
		left -= (size_t)n;
		at += (uint64_t)n;
	}
	if (!err && src->salvage)
		salvage_mask(src->salvage, src->lsec, buf, len, off);
	return err;
}

int source_pread(const struct source *src, void *buf, size_t len, uint64_t off)
{
	int err = disk_pread(src, buf, len, off);

	if (!err && src->cow)
		cow_apply(src->cow, buf, len, off);
	return err;
}

static int disk_read_cb(void *ctx, void *buf, size_t len, uint64_t off)
{
	return disk_pread(ctx, buf, len, off);
}

int source_write_copy(struct source *src, const void *buf, size_t len, uint64_t off)
{
	if (!src->cow)
		return ferr(-EROFS, "%s: internal: a write without a copy-on-write overlay",
			    src->path);
	return cow_write(src->cow, buf, len, off, src->size, disk_read_cb, src);
}
