/* Serving a device of the copy to the kernel's NBD client (see nbd.h): the
 * classic ioctl handshake, one thread blocked in NBD_DO_IT, and one that
 * answers the kernel's requests in order. */
#include <errno.h>
#include <fcntl.h>
#include <linux/nbd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk/nbd.h"
#include "util/endian.h"
#include "util/err.h"

#define NBD_DEVICES 64
#define REQUEST_SIZE 28
#define REPLY_SIZE 16
/* The kernel splits I/O into requests of at most max_sectors (a few MiB):
 * anything larger is a protocol error. */
#define REQUEST_MAX (32u << 20)

static int read_full(int fd, void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -EPIPE : -errno;
		got += (size_t)n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	for (size_t put = 0; put < len;) {
		ssize_t n = write(fd, (const char *)buf + put, len - put);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		put += (size_t)n;
	}
	return 0;
}

static int reply(int fd, const uint8_t *handle, uint32_t error, const void *data, size_t len)
{
	uint8_t r[REPLY_SIZE];
	int err;

	put_be32(r, NBD_REPLY_MAGIC);
	put_be32(r + 4, error);
	memcpy(r + 8, handle, 8);
	err = write_full(fd, r, sizeof(r));
	return !err && data ? write_full(fd, data, len) : err;
}

/* Answers requests until the kernel disconnects or the socket fails. */
static void *serve(void *arg)
{
	struct nbd_export *e = arg;
	int fd = e->sock[1], err = 0;
	uint8_t *buf = NULL;
	size_t cap = 0;

	for (;;) {
		uint8_t q[REQUEST_SIZE];

		err = read_full(fd, q, sizeof(q));
		if (err)
			break;
		uint32_t type = get_be32(q + 4) & 0xffff, len = get_be32(q + 24);
		uint64_t from = get_be64(q + 16);
		const uint8_t *handle = q + 8;

		if (get_be32(q) != NBD_REQUEST_MAGIC) {
			err = ferr(-EPROTO, "%s: a request without the NBD magic", e->path);
			break;
		}
		if (type == NBD_CMD_DISC)
			break;
		if (type == NBD_CMD_FLUSH) {
			err = reply(fd, handle, 0, NULL, 0);
		} else if (type == NBD_CMD_READ || type == NBD_CMD_WRITE) {
			bool inside = from <= e->dev->size && len <= e->dev->size - from;
			if (len > REQUEST_MAX) {
				err = ferr(-EPROTO, "%s: a request of %u bytes", e->path, len);
				break;
			}
			if (len > cap) {
				uint8_t *b = realloc(buf, len);
				if (!b) {
					err = ferr(-ENOMEM, "out of memory");
					break;
				}
				buf = b;
				cap = len;
			}
			if (type == NBD_CMD_WRITE && (err = read_full(fd, buf, len)))
				break;
			int io = !inside ? -EINVAL
				 : type == NBD_CMD_READ ? blk_read(e->dev, buf, len, from)
							: blk_write(e->dev, buf, len, from);
			if (io && !e->error)
				e->error = io;
			err = reply(fd, handle, io ? (uint32_t)(io == -EINVAL ? EINVAL : EIO) : 0,
				    type == NBD_CMD_READ && !io ? buf : NULL, len);
		} else {
			err = reply(fd, handle, EINVAL, NULL, 0);
		}
		if (err)
			break;
	}
	if (err && err != -EPIPE && !e->error)
		e->error = err;
	/* The kernel's end sees the connection close: NBD_DO_IT returns. */
	shutdown(fd, SHUT_RDWR);
	free(buf);
	return NULL;
}

static void *doit(void *arg)
{
	struct nbd_export *e = arg;

	/* Returns when the device is disconnected. */
	ioctl(e->fd, NBD_DO_IT);
	return NULL;
}

/* The first /dev/nbdN no one has connected. */
static int open_free(struct nbd_export *e)
{
	for (int i = 0; i < NBD_DEVICES; i++) {
		char pid[64];
		struct stat st;

		snprintf(e->path, sizeof(e->path), "/dev/nbd%d", i);
		if (stat(e->path, &st) < 0)
			break;
		snprintf(pid, sizeof(pid), "/sys/block/nbd%d/pid", i);
		if (access(pid, F_OK) == 0)
			continue;
		e->fd = open(e->path, O_RDWR | O_CLOEXEC);
		if (e->fd >= 0)
			return 0;
	}
	return ferr(-ENODEV, "no free NBD device (/dev/nbd0...): Ferry edits XFS through the "
		    "kernel's NBD client, which needs the nbd driver (modprobe nbd; the rescue "
		    "image has it)");
}

int nbd_export_start(struct nbd_export *e, const struct blkdev *dev)
{
	int err;

	memset(e, 0, sizeof(*e));
	e->dev = dev;
	e->fd = e->sock[0] = e->sock[1] = -1;
	if (!dev->copy)
		return ferr(-EROFS, "%s: internal: only a device of the copy is served", dev->name);
	if (dev->size % 512)
		return ferr(-EINVAL, "%s: %llu bytes is not a whole number of sectors", dev->name,
			    (unsigned long long)dev->size);
	err = open_free(e);
	if (err)
		return err;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, e->sock) < 0) {
		err = ferr_errno(-errno, "socketpair");
		goto fail;
	}
	if (ioctl(e->fd, NBD_SET_BLKSIZE, 512UL) < 0 ||
	    ioctl(e->fd, NBD_SET_SIZE_BLOCKS, (unsigned long)(dev->size / 512)) < 0 ||
	    ioctl(e->fd, NBD_CLEAR_SOCK) < 0 ||
	    ioctl(e->fd, NBD_SET_FLAGS, (unsigned long)(NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH)) < 0 ||
	    ioctl(e->fd, NBD_SET_SOCK, (unsigned long)e->sock[0]) < 0) {
		err = ferr_errno(-errno, "%s: cannot set it up for %s", e->path, dev->name);
		goto fail;
	}
	err = -pthread_create(&e->server, NULL, serve, e);
	e->server_started = !err;
	if (!err) {
		err = -pthread_create(&e->doit, NULL, doit, e);
		e->doit_started = !err;
	}
	if (err) {
		ferr(err, "cannot start serving %s", e->path);
		goto fail;
	}
	return 0;
fail:
	nbd_export_stop(e);
	return err;
}

int nbd_export_stop(struct nbd_export *e)
{
	/* The kernel flushes, then sends NBD_CMD_DISC: the server ends and
	 * closes its end, and NBD_DO_IT returns. Without the kernel, the
	 * server's end is closed under it. */
	if (e->doit_started)
		ioctl(e->fd, NBD_DISCONNECT);
	else if (e->sock[1] >= 0)
		shutdown(e->sock[1], SHUT_RDWR);
	if (e->doit_started)
		pthread_join(e->doit, NULL);
	if (e->server_started)
		pthread_join(e->server, NULL);
	if (e->fd >= 0) {
		ioctl(e->fd, NBD_CLEAR_SOCK);
		close(e->fd);
	}
	for (int i = 0; i < 2; i++)
		if (e->sock[i] >= 0)
			close(e->sock[i]);
	e->fd = e->sock[0] = e->sock[1] = -1;
	e->doit_started = e->server_started = false;
	if (e->error)
		return ferr(e->error, "%s: serving %s failed", e->path, e->dev->name);
	return 0;
}
