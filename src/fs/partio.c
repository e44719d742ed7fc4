/* A libext2fs io_manager on a block device (see partio.h). Reads past the
 * device's end are errors; writes go to the copy-on-write overlay of a
 * device of the copy, and fail with EROFS on every other. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/partio.h"
#include "util/err.h"

#define PARTIO_MAX 64

struct window {
	char *name;
	struct blkdev dev;
};

static struct window windows[PARTIO_MAX];

int partio_register(const struct blkdev *d, const char *name)
{
	for (int i = 0; i < PARTIO_MAX; i++) {
		if (windows[i].name)
			continue;
		windows[i].name = strdup(name);
		if (!windows[i].name)
			return ferr(-ENOMEM, "out of memory");
		windows[i].dev = *d;
		return 0;
	}
	return ferr(-EMFILE, "too many partitions open at once");
}

void partio_unregister(const char *name)
{
	for (int i = 0; i < PARTIO_MAX; i++) {
		if (windows[i].name && strcmp(windows[i].name, name) == 0) {
			free(windows[i].name);
			memset(&windows[i], 0, sizeof(windows[i]));
			return;
		}
	}
}

static errcode_t partio_open(const char *name, int flags, io_channel *channel)
{
	struct window *w = NULL;
	io_channel io;

	for (int i = 0; i < PARTIO_MAX; i++)
		if (windows[i].name && strcmp(windows[i].name, name) == 0)
			w = &windows[i];
	if (!w)
		return ENOENT;
	if ((flags & IO_FLAG_RW) && !w->dev.copy)
		return EROFS;
	io = calloc(1, sizeof(*io));
	if (!io)
		return ENOMEM;
	io->name = strdup(name);
	if (!io->name) {
		free(io);
		return ENOMEM;
	}
	io->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	io->manager = partio_manager;
	io->block_size = 1024;
	io->refcount = 1;
	io->flags = flags;
	io->private_data = w;
	*channel = io;
	return 0;
}

static errcode_t partio_close(io_channel io)
{
	if (--io->refcount > 0)
		return 0;
	free(io->name);
	free(io);
	return 0;
}

static errcode_t partio_set_blksize(io_channel io, int blksize)
{
	io->block_size = blksize;
	return 0;
}

static errcode_t partio_read64(io_channel io, unsigned long long block, int count, void *data)
{
	const struct window *w = io->private_data;
	uint64_t len = count < 0 ? (uint64_t)-count : (uint64_t)count * (uint64_t)io->block_size;
	uint64_t off = block * (uint64_t)io->block_size;

	if (off > w->dev.size || len > w->dev.size - off) {
		/* Reads past the partition come back as zeros with an error, as
		 * from a short device, so libext2fs reports it. */
		memset(data, 0, len);
		return EXT2_ET_SHORT_READ;
	}
	if (blk_read(&w->dev, data, len, off) < 0)
		return EIO;
	return 0;
}

static errcode_t partio_read(io_channel io, unsigned long block, int count, void *data)
{
	return partio_read64(io, block, count, data);
}

static errcode_t window_write(const struct window *w, uint64_t off, uint64_t len,
			      const void *data)
{
	if (!w->dev.copy)
		return EROFS;
	if (off > w->dev.size || len > w->dev.size - off)
		return EXT2_ET_SHORT_WRITE;
	if (blk_write(&w->dev, data, (size_t)len, off) < 0)
		return ENOMEM;
	return 0;
}

static errcode_t partio_write64(io_channel io, unsigned long long block, int count,
				const void *data)
{
	uint64_t len = count < 0 ? (uint64_t)-count : (uint64_t)count * (uint64_t)io->block_size;

	return window_write(io->private_data, block * (uint64_t)io->block_size, len, data);
}

static errcode_t partio_write(io_channel io, unsigned long block, int count, const void *data)
{
	return partio_write64(io, block, count, data);
}

static errcode_t partio_write_byte(io_channel io, unsigned long offset, int count,
				   const void *data)
{
	if (count < 0)
		return EXT2_ET_INVALID_ARGUMENT;
	return window_write(io->private_data, offset, (uint64_t)count, data);
}

static errcode_t partio_flush(io_channel io)
{
	(void)io;
	return 0;
}

static errcode_t partio_set_option(io_channel io, const char *option, const char *arg)
{
	(void)io; (void)option; (void)arg;
	return EXT2_ET_INVALID_ARGUMENT;
}

/* Discarded blocks are left as they are: the image copies only the blocks
 * the bitmap marks used, so freed blocks are not copied anyway. */
static errcode_t partio_discard(io_channel io, unsigned long long block, unsigned long long count)
{
	const struct window *w = io->private_data;

	(void)block; (void)count;
	return w->dev.copy ? 0 : EROFS;
}

/* libext2fs then writes the zeros itself, through write_blk64. */
static errcode_t partio_zeroout(io_channel io, unsigned long long block, unsigned long long count)
{
	(void)io; (void)block; (void)count;
	return EXT2_ET_UNIMPLEMENTED;
}

static struct struct_io_manager partio_ops = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "Ferry partition I/O",
	.open = partio_open,
	.close = partio_close,
	.set_blksize = partio_set_blksize,
	.read_blk = partio_read,
	.write_blk = partio_write,
	.flush = partio_flush,
	.write_byte = partio_write_byte,
	.set_option = partio_set_option,
	.read_blk64 = partio_read64,
	.write_blk64 = partio_write64,
	.discard = partio_discard,
	.zeroout = partio_zeroout,
};

io_manager partio_manager = &partio_ops;
