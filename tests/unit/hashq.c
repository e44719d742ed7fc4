/* util/hashq.c: the digest of a stream handed over in pieces, with runs of
 * zeros counted, is mbedtls' SHA-256 of the same bytes. */
#include <mbedtls/sha256.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "util/hashq.h"

static void want_hex(const uint8_t *p, size_t len, char hex[65])
{
	uint8_t sum[32];

	mbedtls_sha256_ret(p, len, sum, 0);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", sum[i]);
}

/* The stream cut into pieces of step bytes; every zero_every-th piece
 * (when it is all zeros) handed over as a count. */
static int hashed(const uint8_t *p, size_t len, size_t step, unsigned zero_every, char hex[65])
{
	struct hashq *q;
	unsigned k = 0;
	int err = hashq_start(&q);

	for (size_t off = 0; !err && off < len; off += step, k++) {
		size_t n = len - off < step ? len - off : step;
		bool zero = true;

		for (size_t i = 0; i < n && zero; i++)
			zero = p[off + i] == 0;
		if (zero && zero_every && k % zero_every == 0)
			err = hashq_zeros(q, n);
		else
			err = hashq_add(q, p + off, n);
	}
	if (err) {
		hashq_abort(q);
		return err;
	}
	hashq_finish(q, hex);
	return 0;
}

int main(void)
{
	static const struct {
		size_t step;
		unsigned zero_every;
	} cuts[] = {{1 << 20, 0}, {4096, 1}, {4096, 3}, {65536, 2}, {(4 << 20) + 7, 1}, {333, 1}};
	size_t len = 21 << 20;
	uint8_t *buf = calloc(1, len);
	char got[65], want[65];
	unsigned seed = 7;

	tap_plan(8);
	/* random data with runs of zeros between: 4 KiB pieces of each */
	for (size_t i = 0; i < len; i += 4096)
		if ((i / 4096) % 5 < 2)
			for (size_t j = i; j < i + 4096 && j < len; j++)
				buf[j] = (uint8_t)(rand_r(&seed) >> 7);
	want_hex(buf, len, want);
	for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
		int err = hashed(buf, len, cuts[c].step, cuts[c].zero_every, got);
		char how[32] = "never";

		if (cuts[c].zero_every)
			snprintf(how, sizeof(how), "every %u", cuts[c].zero_every);
		ok(!err && !strcmp(got, want), "21 MiB in pieces of %zu, zero pieces counted: %s: %s",
		   cuts[c].step, how, got);
	}
	want_hex(buf, 0, want);
	hashed(buf, 0, 1, 0, got);
	is_str(got, want, "nothing: the digest of the empty stream");
	{
		struct hashq *q;

		ok(!hashq_start(&q) && !hashq_add(q, buf, 1 << 20), "a stream abandoned part way");
		hashq_abort(q);
	}
	free(buf);
	return tap_done();
}
