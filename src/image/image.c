/* Format selection, the writers' dispatch and the raw writer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/qcow2.h"
#include "image/vhd.h"
#include "image/vmdk.h"
#include "util/bytes.h"
#include "util/config.h"
#include "util/err.h"

#define COPY_CHUNK (4u << 20)
#define ZERO_BLOCK 4096u

static const char *const format_names[] = {[IMAGE_RAW] = "raw", [IMAGE_QCOW2] = "qcow2",
					     [IMAGE_VHD] = "vhd", [IMAGE_VHD_FIXED] = "vhd-fixed",
					     [IMAGE_VMDK] = "vmdk"};

int image_format_parse(const char *name, enum image_format *fmt)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++)
		if (strcmp(name, format_names[i]) == 0) {
			*fmt = (enum image_format)i;
			return 0;
		}
	return ferr(-EINVAL, "unknown image format '%s' (raw, qcow2, vhd, vhd-fixed or vmdk)", name);
}

const char *image_format_name(enum image_format fmt)
{
	return format_names[fmt];
}

const char *image_format_kind(enum image_format fmt)
{
	return fmt == IMAGE_VHD_FIXED ? "vhd" : format_names[fmt];
}

uint64_t image_virtual_size(enum image_format fmt, uint64_t size)
{
	return fmt == IMAGE_VHD || fmt == IMAGE_VHD_FIXED ? vhd_virtual_size(size) : size;
}

static const char *const compress_names[] = {"none", "zlib", "zstd"};

int image_compress_parse(const char *name, enum image_compress *c)
{
	for (size_t i = 0; i < sizeof(compress_names) / sizeof(compress_names[0]); i++)
		if (strcmp(name, compress_names[i]) == 0) {
			*c = (enum image_compress)i;
			return 0;
		}
	return ferr(-EINVAL, "unknown compression '%s' (none, zlib or zstd)", name);
}

const char *image_compress_name(enum image_compress c)
{
	return compress_names[c];
}

int image_out_sparse(struct image_out *out, const uint8_t *buf, size_t n)
{
	int err = 0;

	for (size_t at = 0; !err && at < n;) {
		size_t run = 0;
		bool zero = bytes_zero(buf + at, n - at < ZERO_BLOCK ? n - at : ZERO_BLOCK);

		while (at + run < n) {
			size_t b = n - at - run < ZERO_BLOCK ? n - at - run : ZERO_BLOCK;
			if (bytes_zero(buf + at + run, b) != zero)
				break;
			run += b;
		}
		err = zero ? image_out_skip(out, run) : image_out_write(out, buf + at, run);
		at += run;
	}
	return err;
}

int image_copy_range(const struct image_input *in, struct image_out *out, uint64_t off,
		     uint64_t len, struct progress *prog)
{
	size_t cap = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
	uint8_t *buf = malloc(cap ? cap : 1);
	int err = 0;

	if (!buf)
		return ferr(-ENOMEM, "out of memory");
	while (len > 0 && !err) {
		size_t n = len < cap ? (size_t)len : cap;

		err = in->pread(in->ctx, buf, n, off);
		if (!err)
			err = image_out_sparse(out, buf, n);
		if (prog)
			progress_add(prog, n);
		off += n;
		len -= n;
	}
	free(buf);
	return err;
}

int image_raw_write(const struct plan *p, const struct image_input *in, struct image_out *out,
	      struct progress *prog)
{
	int err = 0;

	for (size_t i = 0; i < p->n && !err; i++) {
		const struct extent *e = &p->ext[i];
		err = image_out_skip(out, e->off - out->pos);
		if (!err)
			err = image_copy_range(in, out, e->off, e->len, prog);
	}
	if (!err && out->pos < p->vsize)
		err = image_out_skip(out, p->vsize - out->pos);
	return err;
}

bool image_sized_first(const struct image_opts *o)
{
	if (o->format == IMAGE_VMDK)
		return !o->any_length;
	return o->format == IMAGE_QCOW2 && o->compress != IMAGE_COMPRESS_NONE && !o->patch;
}

int image_prepare(struct image_writer *w, const struct image_opts *o, const struct plan *p,
		  const struct image_input *in, struct progress *prog)
{
	struct qcow2_layout l;
	int err;

	memset(w, 0, sizeof(*w));
	w->o = *o;
	w->p = p;
	w->in = in;
	if (o->format == IMAGE_VMDK && o->compress != IMAGE_COMPRESS_NONE)
		return ferr(-EINVAL, "a vmdk image's grains are always zlib-compressed; --compress "
			    "is for qcow2");
	if (o->format != IMAGE_QCOW2 && o->compress != IMAGE_COMPRESS_NONE)
		return ferr(-EINVAL, "a %s image cannot be compressed (use --format qcow2)",
			    image_format_name(o->format));
	if (o->format == IMAGE_RAW) {
		w->length = p->vsize;
		return 0;
	}
	if (o->format == IMAGE_VHD || o->format == IMAGE_VHD_FIXED)
		return vhd_length(p, o->format == IMAGE_VHD_FIXED, &w->length);
	if (o->format == IMAGE_VMDK)
		return vmdk_prepare(w, image_sized_first(o), prog);
	if (o->compress != IMAGE_COMPRESS_NONE)
		return qcow2z_prepare(w, prog);
	err = qcow2_fit_layout(&l, p);
	if (err)
		return err;
	w->length = l.total_clusters * l.cluster;
	free(l.region_count);
	return 0;
}

int image_write(struct image_writer *w, struct image_out *out, struct progress *prog)
{
	if (w->o.format == IMAGE_RAW)
		return image_raw_write(w->p, w->in, out, prog);
	if (w->o.format == IMAGE_VHD || w->o.format == IMAGE_VHD_FIXED)
		return vhd_write(w->p, w->o.format == IMAGE_VHD_FIXED, w->in, out, prog);
	if (w->o.format == IMAGE_VMDK)
		return vmdk_write(w, out, prog);
	if (w->o.compress != IMAGE_COMPRESS_NONE)
		return qcow2z_write(w, out, prog);
	return qcow2_write(w->p, w->in, out, prog);
}

void image_writer_release(struct image_writer *w)
{
	if (w->o.format == IMAGE_VMDK)
		vmdk_release(w);
	else if (w->o.compress != IMAGE_COMPRESS_NONE)
		qcow2z_release(w);
}
