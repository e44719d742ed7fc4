/* util/aesgcm.c against test vectors of the GCM specification (McGrew and
 * Viega, cases 2, 4, 14 and 16) and against mbedtls' own GCM over many
 * lengths of text and of additional data, for both key sizes, both ways
 * (128-bit registers, and 256-bit ones where the CPU has VAES). */
#include <errno.h>
#include <mbedtls/gcm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "util/aesgcm.h"

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;

	for (; s[0] && s[1]; s += 2)
		sscanf(s, "%2hhx", &out[n++]);
	return n;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* One case of the specification: the ciphertext and tag as hex. */
static void spec_case(const char *name, const char *key, const char *iv, const char *aad,
		      const char *pt, const char *want_ct, const char *want_tag)
{
	uint8_t k[32], v[12], a[64], p[64], c[64], t[16];
	char got[130];
	size_t kl = unhex(key, k), al, pl;
	struct aesgcm g;

	unhex(iv, v);
	al = unhex(aad, a);
	pl = unhex(pt, p);
	if (!ok(aesgcm_init(&g, k, kl) == 0, "%s: set up", name))
		return;
	aesgcm_seal(&g, v, a, al, p, c, pl, t);
	hex(c, pl, got);
	is_str(got, want_ct, "%s: ciphertext", name);
	hex(t, 16, got);
	is_str(got, want_tag, "%s: tag", name);
	aesgcm_wipe(&g);
}

/* Ours and mbedtls' on the same input; 0 if they agree. */
static int compare(const uint8_t *key, size_t kl, const uint8_t *iv, const uint8_t *aad, size_t al,
		   const uint8_t *pt, size_t len, uint8_t *a, uint8_t *b, bool in_place)
{
	mbedtls_gcm_context m;
	struct aesgcm g;
	uint8_t ta[16], tb[16];
	int bad;

	mbedtls_gcm_init(&m);
	mbedtls_gcm_setkey(&m, MBEDTLS_CIPHER_ID_AES, key, (unsigned)kl * 8);
	mbedtls_gcm_crypt_and_tag(&m, MBEDTLS_GCM_ENCRYPT, len, iv, 12, aad, al, pt, b, 16, tb);
	mbedtls_gcm_free(&m);
	aesgcm_init(&g, key, kl);
	/* Both ways where the CPU has the wide one. */
	for (bool wide = g.wide;; wide = false) {
		g.wide = wide;
		if (in_place) {
			memcpy(a, pt, len);
			aesgcm_seal(&g, iv, aad, al, a, a, len, ta);
		} else {
			aesgcm_seal(&g, iv, aad, al, pt, a, len, ta);
		}
		bad = memcmp(a, b, len) || memcmp(ta, tb, 16);
		if (bad) {
			printf("# key %zu bytes, aad %zu, text %zu%s%s: differs from mbedtls\n", kl, al,
			       len, in_place ? " (in place)" : "", wide ? " (wide)" : "");
			return bad;
		}
		if (!wide)
			return 0;
	}
}

static double mbps(size_t bytes, const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return bytes / 1e6 / ((double)(t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9);
}

int main(void)
{
	size_t big = 1 << 20;
	uint8_t *pt = malloc(big), *a = malloc(big), *b = malloc(big);
	uint8_t key[32], iv[12], aad[64], tag[16];
	unsigned seed = 4242;
	int bad = 0;

	if (!aesgcm_available()) {
		tap_plan(1);
		ok(aesgcm_init((struct aesgcm[1]){0}, key, 16) == -ENOTSUP,
		   "without AES-NI and PCLMULQDQ set-up says so # SKIP this CPU has neither");
		return tap_done();
	}
	tap_plan(16);
	for (size_t i = 0; i < big; i++)
		pt[i] = (uint8_t)((seed = seed * 1103515245 + 12345) >> 16);
	spec_case("case 2 (AES-128, one zero block)", "00000000000000000000000000000000",
		  "000000000000000000000000", "", "00000000000000000000000000000000",
		  "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf");
	spec_case("case 4 (AES-128, 60 bytes, 20 of AAD)", "feffe9928665731c6d6a8f9467308308",
		  "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
		  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809"
		  "532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
		  "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c"
		  "7d8f6a5aac84aa051ba30b396a0aac973d58e091",
		  "5bc94fbc3221a5db94fae95ae7121a47");
	spec_case("case 14 (AES-256, one zero block)",
		  "0000000000000000000000000000000000000000000000000000000000000000",
		  "000000000000000000000000", "", "00000000000000000000000000000000",
		  "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919");
	spec_case("case 16 (AES-256, 60 bytes, 20 of AAD)",
		  "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
		  "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
		  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809"
		  "532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
		  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3d"
		  "a7b08b1056828838c5f61e6393ba7a0abcc9f662",
		  "76fc6ece0f4e1768cddf8853bb2d551b");
	for (size_t kl = 16; kl <= 32 && !bad; kl += 16)
		for (size_t len = 0; len <= 600 && !bad; len++) {
			size_t al = len % 41;

			memcpy(key, pt + len, kl);
			memcpy(iv, pt + 2 * len + 7, 12);
			memcpy(aad, pt + 3 * len + 1, al);
			bad = compare(key, kl, iv, aad, al, pt + 5, len, a, b, len % 3 == 0);
		}
	ok(!bad, "equal to mbedtls for every text length up to 600 bytes, with 0 to 40 bytes "
	   "of AAD, AES-128 and AES-256, in place and not, on 128-bit registers and on 256-bit "
	   "ones where the CPU has them");
	bad = 0;
	for (size_t kl = 16; kl <= 32; kl += 16) {
		static const size_t lens[] = {16384, 16383, 16385, 65536 + 13, 1 << 20};

		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
			bad |= compare(pt + 100, kl, pt + 200, pt + 300, 13, pt, lens[i], a, b, i == 1);
	}
	ok(!bad, "equal to mbedtls for a TLS record (16 KiB and one byte either side), 64 KiB "
	   "and 1 MiB");
	/* Only the last word of a counter block changes: an IV of all ones
	 * must not carry into it. */
	memset(iv, 0xff, sizeof(iv));
	bad = compare(pt + 10, 16, iv, NULL, 0, pt, 4096 + 48, a, b, false);
	ok(!bad, "equal to mbedtls with an all-ones IV");
	{
		struct aesgcm g;
		mbedtls_gcm_context m;
		struct timespec t0;
		size_t rec = 16384, n = 64 << 20;
		double ours, theirs;

		double narrow;
		bool wide;

		aesgcm_init(&g, key, 16);
		wide = g.wide;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (size_t off = 0; off < n; off += rec)
			aesgcm_seal(&g, iv, aad, 13, pt + off % big, a, rec, tag);
		ours = mbps(n, &t0);
		g.wide = false;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (size_t off = 0; off < n; off += rec)
			aesgcm_seal(&g, iv, aad, 13, pt + off % big, a, rec, tag);
		narrow = mbps(n, &t0);
		mbedtls_gcm_init(&m);
		mbedtls_gcm_setkey(&m, MBEDTLS_CIPHER_ID_AES, key, 128);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (size_t off = 0; off < n / 4; off += rec)
			mbedtls_gcm_crypt_and_tag(&m, MBEDTLS_GCM_ENCRYPT, rec, iv, 12, aad, 13,
						  pt + off % big, a, 16, tag);
		theirs = mbps(n / 4, &t0);
		mbedtls_gcm_free(&m);
		printf("# AES-128-GCM on 16 KiB records: %.0f MB/s here (%s), %.0f MB/s on 128-bit "
		       "registers, mbedtls %.0f MB/s\n", ours,
		       wide ? "256-bit registers" : "this CPU has no VAES", narrow, theirs);
		ok(aesgcm_init(&g, key, 24) == -EINVAL, "a 24-byte key is refused");
	}
	free(pt);
	free(a);
	free(b);
	return tap_done();
}
