/* util/sha256.c against FIPS 180-4's examples and against mbedtls' own
 * SHA-256 over many lengths and ways of cutting the stream. */
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "util/sha256.h"

static void hex_of(const uint8_t sum[32], char hex[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", sum[i]);
}

static void ours(const uint8_t *p, size_t len, size_t step, char hex[65])
{
	struct sha256 s;

	sha256_init(&s);
	for (size_t off = 0; off < len; off += step)
		sha256_update(&s, p + off, len - off < step ? len - off : step);
	sha256_final_hex(&s, hex);
}

int main(void)
{
	static const size_t steps[] = {1, 3, 63, 64, 65, 1000, 1 << 20};
	size_t big = 3 << 20;
	uint8_t *buf = malloc(big);
	char got[65], want[65];
	uint8_t sum[32];
	unsigned seed = 12345;
	int bad = 0;

	tap_plan(5);
	printf("# the SHA extensions are %s on this CPU\n", sha256_has_ni() ? "used" : "not present");
	ours((const uint8_t *)"abc", 3, 3, got);
	is_str(got, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "\"abc\"");
	ours((const uint8_t *)"", 0, 1, got);
	is_str(got, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty");
	ours((const uint8_t *)"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, 7, got);
	is_str(got, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
	       "the two-block example (448 bits), in steps of 7");
	memset(buf, 'a', 1000000);
	ours(buf, 1000000, 4096, got);
	is_str(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	       "one million 'a'");
	for (size_t i = 0; i < big; i++)
		buf[i] = (uint8_t)((seed = seed * 1103515245 + 12345) >> 16);
	for (size_t len = 0; len < 300 && !bad; len++)
		for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]) && !bad; k++) {
			ours(buf, len, steps[k], got);
			mbedtls_sha256_ret(buf, len, sum, 0);
			hex_of(sum, want);
			if (strcmp(got, want)) {
				printf("# length %zu in steps of %zu: %s, mbedtls %s\n", len, steps[k], got, want);
				bad = 1;
			}
		}
	for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]) && !bad; k++) {
		ours(buf, big - k, steps[k], got);
		mbedtls_sha256_ret(buf, big - k, sum, 0);
		hex_of(sum, want);
		if (strcmp(got, want)) {
			printf("# length %zu in steps of %zu: %s, mbedtls %s\n", big - k, steps[k], got, want);
			bad = 1;
		}
	}
	ok(!bad, "equal to mbedtls for every length up to 300 bytes and for 3 MiB, in 7 ways "
	   "of cutting the stream");
	free(buf);
	return tap_done();
}
