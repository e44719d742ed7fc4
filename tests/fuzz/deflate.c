/* Our qcow2 cluster encoder (image/deflate.h): the input compressed, then
 * inflated by zlib with qemu's 4 KiB window one output byte per call, so a
 * match reaching past the window fails; it must give the input back, and
 * one byte less room than it took must give 0. */
#include "../unit/inflate4k.h"
#include "image/deflate.h"
#include "lib/fuzz.h"

#define MAX_IN (256u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct deflater *d;
	size_t cap = size + size / 8 + 64, len;
	char why[160];
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
	if (!inflates_to(out, len, data, size, why, sizeof(why)))
		abort();
	if (deflater_compress(d, data, size, out, len - 1) != 0)
		abort();
	free(out);
	return 0;
}
