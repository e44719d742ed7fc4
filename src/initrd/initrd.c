/* Splitting an initrd into early archives, main compressed archive and
 * appended segments and back, walked as the kernel's unpack_to_rootfs(). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "initrd/initrd.h"
#include "util/err.h"

void initrd_init(struct initrd *rd)
{
	memset(rd, 0, sizeof(*rd));
	cpio_archive_init(&rd->main);
}

void initrd_release(struct initrd *rd)
{
	free(rd->early);
	free(rd->main_rest);
	free(rd->tail);
	cpio_archive_release(&rd->main);
	initrd_init(rd);
}

static size_t skip_zeros(const uint8_t *b, size_t len, size_t pos)
{
	while (pos < len && !b[pos])
		pos++;
	return pos;
}

static int copy_out(void **dst, size_t *dlen, const uint8_t *src, size_t n)
{
	*dst = NULL;
	*dlen = 0;
	if (!n)
		return 0;
	if (!(*dst = malloc(n)))
		return ferr(-ENOMEM, "initrd: out of memory (%zu MiB)", n >> 20);
	memcpy(*dst, src, n);
	*dlen = n;
	return 0;
}

/* The uncompressed archives at the front: where the last one starts and
 * ends, and where the first thing that is not one (or the end) is. */
static int walk_early(const uint8_t *b, size_t len, size_t *narch, size_t *last_start,
		      size_t *last_end, size_t *stop)
{
	size_t pos = 0;

	*narch = 0;
	*last_start = *last_end = 0;
	for (;;) {
		struct cpio_archive tmp;
		size_t used;
		int err;

		pos = skip_zeros(b, len, pos);
		if (len - pos < 4 || memcmp(b + pos, "0707", 4))
			break;
		/* The kernel only takes a header on a 4-byte boundary. */
		if (pos & 3)
			return ferr(-EBADMSG, "initrd: cpio archive at unaligned offset %zu", pos);
		err = cpio_parse(b + pos, len - pos, &tmp, &used);
		cpio_archive_release(&tmp);
		if (err)
			return ferr_ctx(err, "initrd: uncompressed archive at offset %zu", pos);
		*last_start = pos;
		*last_end = pos + used;
		(*narch)++;
		pos += used;
	}
	*stop = pos;
	return 0;
}

/* The plain-cpio initrd: its last archive is the main one. */
static int parse_plain(const uint8_t *b, size_t narch, size_t start, size_t end,
		       struct initrd *rd)
{
	size_t used, dummy;
	void *copy;
	int err;

	if (!narch)
		return ferr(-EINVAL, "initrd: empty (zeros only)");
	if ((err = copy_out(&rd->early, &rd->early_len, b, start)) ||
	    (err = copy_out(&copy, &dummy, b + start, end - start)))
		return err;
	rd->nearly = narch - 1;
	rd->codec = CODEC_NONE;
	if ((err = cpio_parse(copy, end - start, &rd->main, &used))) {
		free(copy);
		return err;
	}
	rd->main.backing = copy;
	return 0;
}

static int append_bytes(uint8_t **data, size_t *dlen, const void *add, size_t n)
{
	uint8_t *p;

	if (!n)
		return 0;
	if (n > SIZE_MAX - *dlen || *dlen + n > CODEC_MAX_OUTPUT)
		return ferr(-EFBIG, "initrd: main archive larger than %zu MiB",
			    CODEC_MAX_OUTPUT >> 20);
	if (!(p = realloc(*data, *dlen + n)))
		return ferr(-ENOMEM, "initrd: out of memory");
	memcpy(p + *dlen, add, n);
	*data = p;
	*dlen += n;
	return 0;
}

/* Decompresses the main archive's stream at *pos; while the archive goes
 * on without a trailer, the next compressed segment continues it, as the
 * kernel's unpacker keeps its cpio state from segment to segment. The
 * archive is parsed again only when a trailer's name may have arrived,
 * and past 64 such parses only when it has doubled since the last:
 * thousands of empty or tiny segments cost a few passes, not one each.
 * (Should the end be seen a segment late, what follows it is kept in
 * main_rest and written back into the same stream: the kernel unpacks the
 * same files.) */
static int parse_main(const uint8_t *b, size_t len, size_t *pos, struct initrd *rd,
		      uint8_t **data, size_t *dlen, size_t *arch_len)
{
	static const char trailer[] = "TRAILER!!!";
	const size_t tlen = sizeof(trailer) - 1;
	enum codec c = rd->codec;
	size_t searched = 0, parsed = 0;
	unsigned parses = 0;

	for (;;) {
		void *seg;
		size_t seglen, used, from;
		int err;

		err = codec_decompress(c, b + *pos, len - *pos, &seg, &seglen, &used);
		if (err)
			return ferr_ctx(err, "initrd: %s stream at offset %zu", codec_name(c), *pos);
		if (!*data) {
			/* The first segment is the archive's buffer: no copy. */
			*data = seg;
			*dlen = seglen;
		} else {
			err = append_bytes(data, dlen, seg, seglen);
			free(seg);
			if (err)
				return err;
		}
		if (!used)
			return ferr(-EBADMSG, "initrd: empty %s stream at offset %zu", codec_name(c),
				    *pos);
		*pos += used;
		/* The name, or its NUL and padding, may have just arrived. */
		from = searched > tlen + 8 ? searched - tlen - 8 : 0;
		if (*dlen > from && memmem(*data + from, *dlen - from, trailer, tlen) &&
		    (++parses <= 64 || *dlen >= 2 * parsed)) {
			parsed = *dlen;
			err = cpio_parse(*data, *dlen, &rd->main, arch_len);
			if (err != -ENODATA)
				return err ? ferr_ctx(err, "initrd: main archive (%s)",
						      codec_name(rd->codec))
					   : 0;
		}
		searched = *dlen;
		*pos = skip_zeros(b, len, *pos);
		c = codec_detect(b + *pos, len - *pos);
		if (c == CODEC_NONE || c == CODEC_LZO) {
			/* No segment goes on with it: what is wrong with it. */
			err = cpio_parse(*data, *dlen, &rd->main, arch_len);
			return err ? ferr_ctx(err, "initrd: main archive (%s)", codec_name(rd->codec))
				   : 0;
		}
	}
}

int initrd_parse(const void *buf, size_t len, struct initrd *rd)
{
	const uint8_t *b = buf;
	size_t narch, last_start, last_end, pos = 0, dlen = 0, arch_len = 0, rest;
	uint8_t *data = NULL;
	int err;

	initrd_init(rd);
	if ((err = walk_early(b, len, &narch, &last_start, &last_end, &pos)))
		return err;
	if (pos == len) {
		err = parse_plain(b, narch, last_start, last_end, rd);
		goto out;
	}
	rd->codec = codec_detect(b + pos, len - pos);
	if (rd->codec == CODEC_NONE) {
		err = ferr(-EBADMSG, "initrd: offset %zu is neither a cpio archive nor a "
				     "compressed stream the kernel knows", pos);
		goto out;
	}
	rd->nearly = narch;
	if ((err = copy_out(&rd->early, &rd->early_len, b, pos)))
		goto out;
	if ((err = parse_main(b, len, &pos, rd, &data, &dlen, &arch_len)))
		goto out;
	rd->main.backing = data;
	rest = skip_zeros(data, dlen, arch_len);
	err = copy_out(&rd->main_rest, &rd->main_rest_len, data + rest, dlen - rest);
	data = NULL;
	if (err)
		goto out;
	pos = skip_zeros(b, len, pos);
	err = copy_out(&rd->tail, &rd->tail_len, b + pos, len - pos);
out:
	if (err) {
		free(data);
		initrd_release(rd);
	}
	return err;
}

int initrd_build(const struct initrd *rd, void **out, size_t *outlen)
{
	void *arch, *comp;
	size_t alen, clen, pad = 0, total;
	uint8_t *o;
	int err;

	*out = NULL;
	*outlen = 0;
	if ((err = cpio_write(&rd->main, &arch, &alen)))
		return err;
	if (rd->main_rest_len &&
	    (err = append_bytes((uint8_t **)&arch, &alen, rd->main_rest, rd->main_rest_len))) {
		free(arch);
		return err;
	}
	if (rd->codec == CODEC_NONE) {
		comp = arch;
		clen = alen;
	} else {
		err = codec_compress(rd->codec, arch, alen, &comp, &clen);
		free(arch);
		if (err)
			return ferr_ctx(err, "initrd: main archive");
	}
	/* A cpio segment after it must start on a 4-byte boundary. */
	if (rd->tail_len)
		pad = (4 - (rd->early_len + clen) % 4) % 4;
	if (clen > SIZE_MAX - rd->early_len - rd->tail_len - 4) {
		free(comp);
		return ferr(-EFBIG, "initrd: too large");
	}
	total = rd->early_len + clen + pad + rd->tail_len;
	if (!(o = malloc(total))) {
		free(comp);
		return ferr(-ENOMEM, "initrd: out of memory (%zu MiB)", total >> 20);
	}
	if (rd->early_len)
		memcpy(o, rd->early, rd->early_len);
	memcpy(o + rd->early_len, comp, clen);
	memset(o + rd->early_len + clen, 0, pad);
	if (rd->tail_len)
		memcpy(o + rd->early_len + clen + pad, rd->tail, rd->tail_len);
	free(comp);
	*out = o;
	*outlen = total;
	return 0;
}
