/* The check both the unit test and the fuzz target of our qcow2 deflate
 * (image/deflate.h) make: zlib's inflate with qemu's 4 KiB window
 * (windowBits -12), fed one output byte per call. Given a whole cluster in
 * one call, inflate accepts distances up to what that call has written;
 * a byte at a time, every distance meets the window. */
#ifndef FERRY_TEST_INFLATE4K_H
#define FERRY_TEST_INFLATE4K_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* True when z[0..zlen) inflates to want[0..n) and ends there; else why
 * says what happened. */
static inline bool inflates_to(const uint8_t *z, size_t zlen, const uint8_t *want, size_t n,
			       char *why, size_t whylen)
{
	z_stream s;
	uint8_t *got = malloc(n + 1);
	int r = Z_OK;
	bool good;

	memset(&s, 0, sizeof(s));
	if (!got || inflateInit2(&s, -12) != Z_OK) {
		free(got);
		snprintf(why, whylen, "inflateInit2 failed");
		return false;
	}
	s.next_in = (uint8_t *)z;
	s.avail_in = (uInt)zlen;
	s.next_out = got;
	while (r == Z_OK && s.total_out <= n) {
		s.avail_out = 1;
		r = inflate(&s, Z_NO_FLUSH);
	}
	good = r == Z_STREAM_END && s.total_out == n && s.avail_in == 0 && memcmp(got, want, n) == 0;
	if (!good)
		snprintf(why, whylen, "inflate: %d (%s) after %lu of %zu bytes, %u input bytes left", r,
			 s.msg ? s.msg : "no message", s.total_out, n, s.avail_in);
	inflateEnd(&s);
	free(got);
	return good;
}

#endif
