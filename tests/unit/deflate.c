/* The qcow2 cluster encoder (image/deflate.h) against zlib's inflate with
 * qemu's 4 KiB window, fed one output byte per call so that no match may
 * reach past that window; its limits (the window's edge, cap, max_in), and
 * the same bytes from a used context as from a fresh one. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "image/deflate.h"
#include "inflate4k.h"
#include "tap.h"

#define KiB 1024u
#define MiB (1024 * KiB)

static uint32_t rnd_state = 2463534242u;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

enum kind { RANDOM, ZEROS, TEXT, MIXED, SKEWED, PERIODIC };

static const char *kind_name[] = { "random", "zeros", "text", "mixed", "skewed", "periodic" };

/* n bytes of a kind; period for PERIODIC (random bytes repeated). */
static void fill(uint8_t *b, size_t n, enum kind k, size_t period)
{
	static const char *words[] = { "ext4", "inode ", "/usr/lib/x86_64-linux-gnu/", "virtio",
				       "\n", "UUID=", "0000", " defaults 0 1", "\t", "grub" };

	for (size_t i = 0; i < n;) {
		switch (k) {
		case RANDOM:
			b[i++] = (uint8_t)rnd();
			break;
		case ZEROS:
			b[i++] = 0;
			break;
		case TEXT: {
			const char *w = words[rnd() % 10];

			for (size_t j = 0; w[j] && i < n; j++)
				b[i++] = (uint8_t)w[j];
			break;
		}
		case MIXED:
			/* runs of zeros, text and noise, as in a filesystem's blocks */
			fill(b + i, n - i < 700 ? n - i : 700, (enum kind)(rnd() % 3), 0);
			i += n - i < 700 ? n - i : 700;
			break;
		case SKEWED:
			/* one byte value in a thousand is not 'a': long Huffman codes */
			b[i++] = rnd() % 1000 ? 'a' : (uint8_t)rnd();
			break;
		case PERIODIC:
			b[i] = i < period ? (uint8_t)rnd() : b[i - period];
			i++;
			break;
		}
	}
}

static struct deflater *d;
static uint8_t *in, *out, *out2;

static void round_trip(enum kind k, size_t n, size_t period)
{
	char why[200] = "";
	size_t len;

	fill(in, n, k, period);
	len = deflater_compress(d, in, n, out, n + n / 8 + 64);
	ok(len > 0 && inflates_to(out, len, in, n, why, sizeof(why)),
	   "%s, %zu bytes%s: %zu compressed, inflated back whole %s", kind_name[k], n,
	   k == PERIODIC ? " (period given)" : "", len, why);
}

int main(void)
{
	size_t len, len2;
	char why[200] = "";

	tap_plan(46);
	d = deflater_new(2 * MiB);
	in = malloc(2 * MiB);
	out = malloc(3 * MiB);
	out2 = malloc(3 * MiB);
	if (!d || !in || !out || !out2)
		return 1;

	/* 1-26: sizes around the edges, every kind */
	static const size_t sizes[] = { 0, 1, 3, 4, 5, 258, 4095, 4096, 4097, 65536 };

	for (size_t i = 0; i < 6; i++)
		round_trip(RANDOM, sizes[i], 0);
	for (size_t i = 6; i < 10; i++)
		round_trip(i % 2 ? TEXT : ZEROS, sizes[i], 0);
	for (enum kind k = RANDOM; k <= SKEWED; k++)
		round_trip(k, 64 * KiB, 0);
	for (enum kind k = RANDOM; k <= SKEWED; k++)
		round_trip(k, 2 * MiB, 0);
	static const size_t periods[] = { 1, 2, 3, 7, 258, 4095 };

	for (size_t i = 0; i < 6; i++)
		round_trip(PERIODIC, 64 * KiB, periods[i]);

	/* 27-28: the window's edge. 4 KiB of noise said twice can only be
	 * matched 4096 bytes back, one byte less than that is in reach. */
	fill(in, 3 * 4096, PERIODIC, 4096);
	len = deflater_compress(d, in, 3 * 4096, out, 4 * 4096);
	ok(len >= 3 * 4096, "noise repeated at 4096 bytes is not matched: %zu bytes of %u", len,
	   3 * 4096);
	fill(in, 3 * 4095, PERIODIC, 4095);
	len = deflater_compress(d, in, 3 * 4095, out, 4 * 4096);
	ok(len > 0 && len < 4095 + 200 && inflates_to(out, len, in, 3 * 4095, why, sizeof(why)),
	   "noise repeated at 4095 bytes is: %zu bytes of %u %s", len, 3 * 4095, why);

	/* 29-31: cap */
	fill(in, 64 * KiB, TEXT, 0);
	len = deflater_compress(d, in, 64 * KiB, out, 64 * KiB);
	len2 = deflater_compress(d, in, 64 * KiB, out2, len);
	ok(len2 == len && memcmp(out, out2, len) == 0, "with cap at its length: %zu bytes, the same (%zu)",
	   len2, len);
	ok(deflater_compress(d, in, 64 * KiB, out2, len - 1) == 0, "with cap a byte short: 0");
	fill(in, 64 * KiB, RANDOM, 0);
	ok(deflater_compress(d, in, 64 * KiB, out, 64 * KiB - 1) == 0,
	   "noise into less room than itself: 0");

	/* 32: past max_in */
	struct deflater *small = deflater_new(4096);

	ok(small && deflater_compress(small, in, 4097, out, 3 * MiB) == 0, "an input past max_in: 0");

	/* 33-36: a used context gives what a fresh one gives, for each kind */
	for (enum kind k = ZEROS; k <= SKEWED; k++) {
		struct deflater *fresh = deflater_new(64 * KiB);

		fill(in, 64 * KiB, k, 0);
		len = deflater_compress(d, in, 64 * KiB, out, 3 * MiB);
		len2 = fresh ? deflater_compress(fresh, in, 64 * KiB, out2, 3 * MiB) : 0;
		ok(len == len2 && memcmp(out, out2, len) == 0, "%s: the used context's %zu bytes are a "
		   "fresh one's (%zu)", kind_name[k], len, len2);
		deflater_free(fresh);
	}

	/* 37: after calls that gave up for want of room, a long input's
	 * positions must not be taken for a shorter one's after it */
	{
		static const size_t n3[] = { 9205, 3000, 8290 };
		struct deflater *fresh = deflater_new(64 * KiB);
		bool same = true;

		/* each input has others' bytes before it, as a cluster in a batch */
		static const enum kind k3[] = { MIXED, TEXT, PERIODIC };

		for (size_t i = 0; i < 3 && same; i++) {
			uint8_t *one = in + 16 * KiB;

			fill(in, 16 * KiB, k3[(i + 2) % 3], 4095);
			fill(one, n3[i], k3[i], 4095);
			len = deflater_compress(d, one, n3[i], out, 3 * MiB);
			len2 = fresh ? deflater_compress(fresh, one, n3[i], out2, 3 * MiB) : 0;
			same = len == len2 && memcmp(out, out2, len) == 0 &&
			       inflates_to(out, len, one, n3[i], why, sizeof(why));
			deflater_compress(d, one, n3[i], out, len - 1);
		}
		ok(same, "after calls that gave up, each input's %zu bytes are a fresh context's "
		   "(%zu) %s", len, len2, why);
		deflater_free(fresh);
	}

	/* 38-39: after the positions start again (every 64 MiB of input) */
	fill(in, 2 * MiB, MIXED, 0);
	len = deflater_compress(d, in, 2 * MiB, out, 3 * MiB);
	for (int i = 0; i < 40; i++)
		deflater_compress(d, in, 2 * MiB, out2, 3 * MiB);
	len2 = deflater_compress(d, in, 2 * MiB, out2, 3 * MiB);
	ok(len == len2 && memcmp(out, out2, len) == 0,
	   "after 80 MiB of input through one context: the same %zu bytes (%zu)", len, len2);
	ok(inflates_to(out2, len2, in, 2 * MiB, why, sizeof(why)), "and they inflate back %s", why);

	/* 40-46: compared with zlib at qemu-img's settings on made-up disks,
	 * never more than 1 % larger (filesystem data is smaller: the bench) */
	for (enum kind k = RANDOM; k <= SKEWED; k++) {
		z_stream s;
		uLong zl = 0;

		fill(in, 64 * KiB, k, 0);
		memset(&s, 0, sizeof(s));
		if (deflateInit2(&s, 6, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) == Z_OK) {
			s.next_in = in;
			s.avail_in = 64 * KiB;
			s.next_out = out2;
			s.avail_out = 3 * MiB;
			if (deflate(&s, Z_FINISH) == Z_STREAM_END)
				zl = s.total_out;
			deflateEnd(&s);
		}
		len = deflater_compress(d, in, 64 * KiB, out, 3 * MiB);
		ok(zl && len <= zl + zl / 100, "%s, 64 KiB: %zu bytes, zlib's %lu", kind_name[k], len, zl);
	}
	fill(in, 64 * KiB, PERIODIC, 100);
	len = deflater_compress(d, in, 64 * KiB, out, 3 * MiB);
	ok(len < 400, "noise of a 100-byte period, 64 KiB: %zu bytes", len);
	fill(in, 64 * KiB, ZEROS, 0);
	len = deflater_compress(d, in, 64 * KiB, out, 3 * MiB);
	ok(len < 200, "64 KiB of zeros: %zu bytes", len);

	deflater_free(small);
	deflater_free(d);
	free(in);
	free(out);
	free(out2);
	return tap_done();
}
