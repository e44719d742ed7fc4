/* Our qcow2 cluster encoder (image/deflate.h): the input compressed, then
 * inflated by zlib with qemu's 4 KiB window one output byte per call, so a
 * match reaching past the window fails; it must give the input back, and
 * one byte less room than it took must give 0. */
#include <zlib.h>

#include "image/deflate.h"
#include "lib/fuzz.h"

#define MAX_IN (256u << 10)

static void inflate_check(const uint8_t *z, size_t zlen, const uint8_t *want, size_t n)
{
	uint8_t *got = malloc(n + 1);
	z_stream s;
	int r = Z_OK;

	memset(&s, 0, sizeof(s));
	if (!got || inflateInit2(&s, -12) != Z_OK)
		abort();
	s.next_in = (uint8_t *)z;
	s.avail_in = (uInt)zlen;
	s.next_out = got;
	while (r == Z_OK && s.total_out <= n) {
		s.avail_out = 1;
		r = inflate(&s, Z_NO_FLUSH);
	}
	if (r != Z_STREAM_END || s.total_out != n || s.avail_in || memcmp(got, want, n))
		abort();
	inflateEnd(&s);
	free(got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct deflater *d;
	size_t cap = size + size / 8 + 64, len;
	uint8_t *out;

	if (size > MAX_IN)
		return 0;
	if (!d && !(d = deflater_new(MAX_IN)))
		abort();
	out = malloc(cap);
	if (!out)
		abort();
	len = deflater_compress(d, data, size, out, cap);
	if (!len)
		abort();
	inflate_check(out, len, data, size);
	if (deflater_compress(d, data, size, out, len - 1) != 0)
		abort();
	free(out);
	return 0;
}
