/* Block devices over the source disk (see blk.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "blk/blk.h"
#include "util/err.h"

static int setup(struct blkdev *d, const struct source *src, bool copy, const char *name)
{
	memset(d, 0, sizeof(*d));
	/* The source is only ever written through its overlay (blk_write). */
	d->src = (struct source *)src;
	d->copy = copy;
	snprintf(d->name, sizeof(d->name), "%s", name);
	if (copy && !src->cow)
		return ferr(-EROFS, "%s: internal: no copy-on-write overlay to write to", name);
	return 0;
}

int blk_window(struct blkdev *d, const struct source *src, uint64_t off, uint64_t len,
	       bool copy, const char *name)
{
	int err = setup(d, src, copy, name);

	if (err)
		return err;
	if (off > src->size || len > src->size - off)
		return ferr(-EINVAL, "%s ends past the end of %s", name, src->path);
	/* ext stays NULL: a window's extent is its own, so the device may be
	 * copied or moved. */
	d->one = (struct blk_extent){0, len, off};
	d->next = 1;
	d->size = len;
	return 0;
}

int blk_extents(struct blkdev *d, const struct source *src, const struct blk_extent *ext,
		size_t n, bool copy, const char *name)
{
	int err = setup(d, src, copy, name);
	uint64_t end = 0;

	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		if (ext[i].off != end)
			return ferr(-EINVAL, "%s: extent %zu starts at %llu, not %llu", name, i,
				    (unsigned long long)ext[i].off, (unsigned long long)end);
		if (ext[i].src_off > src->size || ext[i].len > src->size - ext[i].src_off)
			return ferr(-EINVAL, "%s: extent %zu ends past the end of %s", name, i,
				    src->path);
		end += ext[i].len;
	}
	d->ext = ext;
	d->next = n;
	d->size = end;
	return 0;
}

int blk_copy_of(struct blkdev *d, const struct blkdev *of)
{
	if (!of->src->cow)
		return ferr(-EROFS, "%s: internal: no copy-on-write overlay to write to", of->name);
	*d = *of;
	d->copy = true;
	return 0;
}

int blk_map(const struct blkdev *d, uint64_t off, uint64_t len, blk_map_fn fn, void *arg)
{
	if (off > d->size || len > d->size - off)
		return ferr(-EIO, "%s: %zu bytes at offset %llu are past its end", d->name,
			    (size_t)len, (unsigned long long)off);
	/* The first extent that ends past off (a striped volume has
	 * thousands). */
	size_t lo = 0, hi = d->next;
	while (d->ext && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->ext[mid].off + d->ext[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; len > 0 && i < d->next; i++) {
		const struct blk_extent *e = d->ext ? &d->ext[i] : &d->one;
		uint64_t in, n;
		int err;

		if (off >= e->off + e->len)
			continue;
		in = off - e->off;
		n = e->len - in < len ? e->len - in : len;
		err = fn(arg, e->src_off + in, n);
		if (err)
			return err;
		off += n;
		len -= n;
	}
	return 0;
}

struct io {
	const struct blkdev *d;
	uint8_t *buf;
	const uint8_t *cbuf;
};

static int read_piece(void *arg, uint64_t src_off, uint64_t len)
{
	struct io *io = arg;
	int err = source_pread(io->d->src, io->buf, (size_t)len, src_off);

	io->buf += len;
	return err;
}

static int write_piece(void *arg, uint64_t src_off, uint64_t len)
{
	struct io *io = arg;
	int err = source_write_copy(io->d->src, io->cbuf, (size_t)len, src_off);

	io->cbuf += len;
	return err;
}

int blk_read(const struct blkdev *d, void *buf, size_t len, uint64_t off)
{
	struct io io = {d, buf, NULL};

	return blk_map(d, off, len, read_piece, &io);
}

int blk_write(const struct blkdev *d, const void *buf, size_t len, uint64_t off)
{
	struct io io = {d, NULL, buf};

	if (!d->copy)
		return ferr(-EROFS, "%s: a write outside the copy", d->name);
	return blk_map(d, off, len, write_piece, &io);
}
