/* Image encoders: sequential writers of a plan's ranges (no seeking, so
 * they stream into a FIFO or a socket). */
#ifndef FERRY_IMAGE_H
#define FERRY_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "disk/plan.h"
#include "util/progress.h"

enum image_format { IMAGE_RAW, IMAGE_QCOW2, IMAGE_VHD, IMAGE_VHD_FIXED, IMAGE_VMDK };

/* Where an image's bytes go: one sequential stream (a sink, in the
 * capture). pos counts the bytes of the stream so far. */
struct image_out {
	int (*write)(void *ctx, const void *buf, size_t len);
	int (*skip)(void *ctx, uint64_t len); /* len zero bytes */
	/* Rewrites bytes the stream has passed, at off from its start; NULL
	 * when the target cannot (image_opts.patch says whether it can). */
	int (*patch)(void *ctx, uint64_t off, const void *buf, size_t len);
	void *ctx;
	uint64_t pos;
};

static inline int image_out_write(struct image_out *o, const void *buf, size_t len)
{
	int err = o->write(o->ctx, buf, len);

	if (!err)
		o->pos += len;
	return err;
}

static inline int image_out_skip(struct image_out *o, uint64_t len)
{
	int err = o->skip(o->ctx, len);

	if (!err)
		o->pos += len;
	return err;
}
enum image_compress { IMAGE_COMPRESS_NONE, IMAGE_COMPRESS_ZLIB, IMAGE_COMPRESS_ZSTD };

struct image_opts {
	enum image_format format;
	enum image_compress compress; /* qcow2 only (a VMDK's grains are always zlib) */
	unsigned threads;             /* compression threads; 0: one per CPU */
	/* The target takes an image of a length not known before its first
	 * byte (a file, a FIFO, an s3:// upload, not a presigned PUT): a VMDK
	 * is then written in one pass. */
	bool any_length;
	/* The target can rewrite what it has taken (a regular file or an
	 * s3:// upload, through image_out.patch): a compressed qcow2 is then
	 * written in one pass, its data first and its tables last, into the
	 * room left for them before the data (image_writer.head bytes). */
	bool patch;
};

/* Where the data of the plan's ranges is read from (the source disk now;
 * the copy-on-write overlay once fixes are made). */
struct image_input {
	int (*pread)(void *ctx, void *buf, size_t len, uint64_t off);
	void *ctx;
};

int image_format_parse(const char *name, enum image_format *fmt);
/* "raw", "qcow2", "vhd", "vhd-fixed", "vmdk" */
const char *image_format_name(enum image_format fmt);
/* The format as a cloud's import names it ("vhd" for both kinds of VHD). */
const char *image_format_kind(enum image_format fmt);
/* The virtual size an image of the format gives a disk of size bytes (a
 * VHD's: what its geometry covers exactly, vhd_virtual_size). */
uint64_t image_virtual_size(enum image_format fmt, uint64_t size);
int image_compress_parse(const char *name, enum image_compress *c);
const char *image_compress_name(enum image_compress c);

/* One image being made: prepared (its exact length known before the first
 * byte, which a presigned PUT needs), then written once. */
struct image_writer {
	struct image_opts o;
	const struct plan *p;
	const struct image_input *in;
	uint64_t length; /* bytes image_write will produce; 0: known once written */
	uint64_t length_max; /* with length 0: at most this many */
	/* With o.patch: the first bytes that are rewritten once the rest is
	 * written (image_out.patch is called only within them). */
	uint64_t head;
	void *priv;      /* the format's own state */
};

/* Computes the layout and length; for compressed qcow2 unless patch, and
 * for VMDK unless any_length, this is a first pass that compresses every
 * cluster to learn its size (shown on prog, which may be NULL). An image
 * written in one pass (length 0) has its length only once image_write is
 * done. */
bool image_sized_first(const struct image_opts *o);
int image_prepare(struct image_writer *w, const struct image_opts *o, const struct plan *p,
		  const struct image_input *in, struct progress *prog);
/* Writes the image; prog counts the plan's data bytes. */
int image_write(struct image_writer *w, struct image_out *out, struct progress *prog);
void image_writer_release(struct image_writer *w);


#endif
