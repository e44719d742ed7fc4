/* Format selection and the raw writer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "util/err.h"

#define COPY_CHUNK (4u << 20)

int image_format_parse(const char *name, enum image_format *fmt)
{
	if (strcmp(name, "raw") == 0)
		*fmt = IMAGE_RAW;
	else if (strcmp(name, "qcow2") == 0)
		*fmt = IMAGE_QCOW2;
	else
		return ferr(-EINVAL, "unknown image format '%s' (raw or qcow2)", name);
	return 0;
}

const char *image_format_name(enum image_format fmt)
{
	return fmt == IMAGE_RAW ? "raw" : "qcow2";
}

int image_copy_range(const struct image_input *in, struct sink *out, uint64_t off,
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
			err = sink_write(out, buf, n);
		if (prog)
			progress_add(prog, n);
		off += n;
		len -= n;
	}
	free(buf);
	return err;
}

int raw_write(const struct plan *p, const struct image_input *in, struct sink *out,
	      struct progress *prog)
{
	int err = 0;

	for (size_t i = 0; i < p->n && !err; i++) {
		const struct extent *e = &p->ext[i];
		err = sink_skip(out, e->off - out->pos);
		if (!err)
			err = image_copy_range(in, out, e->off, e->len, prog);
	}
	if (!err && out->pos < p->vsize)
		err = sink_skip(out, p->vsize - out->pos);
	return err;
}

int image_write(enum image_format fmt, const struct plan *p, const struct image_input *in,
		struct sink *out, struct progress *prog)
{
	if (fmt == IMAGE_RAW)
		return raw_write(p, in, out, prog);
	return qcow2_write(p, in, out, prog);
}
