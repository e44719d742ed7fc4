/* An initrd as the kernel reads it: early uncompressed cpio archives, the
 * main archive in a compressed stream, appended segments; rebuilt around main. */
#ifndef FERRY_INITRD_H
#define FERRY_INITRD_H

#include <stddef.h>

#include "initrd/cpio.h"
#include "initrd/compress.h"

/* The largest initrd file read whole. */
#define INITRD_MAX ((size_t)1 << 30)

struct initrd {
	/* The uncompressed archives in front and the zero fill after them,
	 * byte for byte (nearly archives). */
	void *early;
	size_t early_len, nearly;
	/* The main archive and the codec of its stream (CODEC_NONE when the
	 * initrd is plain cpio: then the last uncompressed archive is main). */
	enum codec codec;
	struct cpio_archive main;
	/* Further archives after main's trailer inside the same stream, kept
	 * verbatim; the kernel unpacks them after main, so their members win. */
	void *main_rest;
	size_t main_rest_len;
	/* Whatever follows main's stream (appended segments), verbatim, without
	 * the zero fill that separated it. */
	void *tail;
	size_t tail_len;
};

void initrd_init(struct initrd *rd);
void initrd_release(struct initrd *rd);

/* Splits buf (the whole initrd file). rd owns copies of everything it
 * needs: buf may go once this returns. An LZO stream is refused (-ENOTSUP). */
int initrd_parse(const void *buf, size_t len, struct initrd *rd);

/* The early part verbatim, main re-serialised (with main_rest) and
 * recompressed with the same codec, then the tail, in a new buffer *out
 * (free()). */
int initrd_build(const struct initrd *rd, void **out, size_t *outlen);

#endif
