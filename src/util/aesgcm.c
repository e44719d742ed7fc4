/* AES-GCM on AES-NI and PCLMULQDQ (see aesgcm.h).
 *
 * GHASH works on blocks with their bytes reversed, so that bit 127 of the
 * register holds the coefficient of x^0 ("reflected"). The carry-less
 * product of two reflected elements is the reflected product shifted right
 * by one bit, so each product is shifted left by one before it is reduced
 * modulo x^128 + x^7 + x^2 + x + 1. Eight blocks are multiplied by H^8 ..
 * H^1 and summed before a single reduction, while the next eight counter
 * blocks go through the AES rounds; where the CPU has VAES and VPCLMULQDQ,
 * sixteen blocks, two to each 256-bit register. */
#include <errno.h>
#include <string.h>

#include "util/aesgcm.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

#define TARGET __attribute__((target("aes,pclmul,ssse3,sse4.1")))

bool aesgcm_available(void)
{
	unsigned a, b, c, d;

	/* CPUID 1, ECX: PCLMULQDQ 1, SSSE3 9, SSE4.1 19, AES 25 */
	return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 1)) && (c & (1u << 9)) &&
	       (c & (1u << 19)) && (c & (1u << 25));
}

TARGET static inline __m128i rev(__m128i x)
{
	return _mm_shuffle_epi8(x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
						15));
}

/* The 128-bit right shift of x by n bits (0 < n < 64). */
#define SHR128(x, n) _mm_or_si128(_mm_srli_epi64(x, n), _mm_srli_si128(_mm_slli_epi64(x, 64 - (n)), 8))

/* Adds the carry-less product of a and b to lo, mid and hi (the 256-bit
 * product is lo ^ mid << 64 ^ hi << 128). */
TARGET static inline void clmul_add(__m128i a, __m128i b, __m128i *lo, __m128i *mid, __m128i *hi)
{
	*lo = _mm_xor_si128(*lo, _mm_clmulepi64_si128(a, b, 0x00));
	*hi = _mm_xor_si128(*hi, _mm_clmulepi64_si128(a, b, 0x11));
	*mid = _mm_xor_si128(*mid, _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x01),
						 _mm_clmulepi64_si128(a, b, 0x10)));
}

/* The reflected field element that a sum of products stands for. */
TARGET static inline __m128i reduce(__m128i lo, __m128i mid, __m128i hi)
{
	__m128i clo, chi, t;

	lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
	hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
	/* [hi:lo] <<= 1 */
	clo = _mm_srli_epi64(lo, 63);
	chi = _mm_srli_epi64(hi, 63);
	lo = _mm_or_si128(_mm_slli_epi64(lo, 1), _mm_slli_si128(clo, 8));
	hi = _mm_or_si128(_mm_or_si128(_mm_slli_epi64(hi, 1), _mm_slli_si128(chi, 8)),
			  _mm_srli_si128(clo, 8));
	/* lo holds the terms of degree 128 and up. First the bits that the
	 * shifts by 1, 2 and 7 below would push out of its low word go into
	 * its high word; then lo times (1 + x + x^2 + x^7) folds into hi. */
	t = _mm_xor_si128(_mm_xor_si128(_mm_slli_epi64(lo, 63), _mm_slli_epi64(lo, 62)),
			  _mm_slli_epi64(lo, 57));
	lo = _mm_xor_si128(lo, _mm_slli_si128(t, 8));
	t = _mm_xor_si128(_mm_xor_si128(lo, SHR128(lo, 1)), _mm_xor_si128(SHR128(lo, 2), SHR128(lo, 7)));
	return _mm_xor_si128(hi, t);
}

TARGET static inline __m128i gmul(__m128i a, __m128i b)
{
	__m128i lo = _mm_setzero_si128(), mid = lo, hi = lo;

	clmul_add(a, b, &lo, &mid, &hi);
	return reduce(lo, mid, hi);
}

TARGET static inline __m128i encrypt1(const struct aesgcm *g, __m128i b)
{
	const __m128i *rk = (const __m128i *)g->rk;

	b = _mm_xor_si128(b, _mm_load_si128(&rk[0]));
	for (unsigned r = 1; r < g->rounds; r++)
		b = _mm_aesenc_si128(b, _mm_load_si128(&rk[r]));
	return _mm_aesenclast_si128(b, _mm_load_si128(&rk[g->rounds]));
}

TARGET static __m128i expand(__m128i k, __m128i t)
{
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	return _mm_xor_si128(k, t);
}

/* FIPS 197's key expansion: aeskeygenassist does SubWord and RotWord with
 * the round constant, which must be an immediate. */
#define NEXT128(i, rcon) \
	rk[i] = expand(rk[(i) - 1], _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[(i) - 1], rcon), 0xff))
#define NEXT256(i, rcon)                                                                           \
	do {                                                                                       \
		rk[i] = expand(rk[(i) - 2],                                                        \
			       _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[(i) - 1], rcon), 0xff)); \
		rk[(i) + 1] = expand(rk[(i) - 1],                                                  \
				     _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[i], 0), 0xaa));  \
	} while (0)

TARGET static void setup(struct aesgcm *g, const uint8_t *key, size_t keylen)
{
	__m128i rk[15], h;

	rk[0] = _mm_loadu_si128((const __m128i *)key);
	if (keylen == 16) {
		g->rounds = 10;
		NEXT128(1, 0x01);
		NEXT128(2, 0x02);
		NEXT128(3, 0x04);
		NEXT128(4, 0x08);
		NEXT128(5, 0x10);
		NEXT128(6, 0x20);
		NEXT128(7, 0x40);
		NEXT128(8, 0x80);
		NEXT128(9, 0x1b);
		NEXT128(10, 0x36);
	} else {
		g->rounds = 14;
		rk[1] = _mm_loadu_si128((const __m128i *)(key + 16));
		NEXT256(2, 0x01);
		NEXT256(4, 0x02);
		NEXT256(6, 0x04);
		NEXT256(8, 0x08);
		NEXT256(10, 0x10);
		NEXT256(12, 0x20);
		rk[14] = expand(rk[12], _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[13], 0x40), 0xff));
	}
	for (unsigned i = 0; i <= g->rounds; i++)
		_mm_store_si128((__m128i *)g->rk[i], rk[i]);
	h = rev(encrypt1(g, _mm_setzero_si128()));
	_mm_store_si128((__m128i *)g->hpow[0], h);
	for (unsigned i = 1; i < AESGCM_WIDE; i++)
		_mm_store_si128((__m128i *)g->hpow[i],
				gmul(_mm_load_si128((const __m128i *)g->hpow[i - 1]), h));
	memset(rk, 0, sizeof(rk));
}

/* Hashes len bytes (the last block padded with zeros) into y. */
TARGET static __m128i ghash_bytes(const struct aesgcm *g, __m128i y, const uint8_t *p, size_t len)
{
	__m128i h = _mm_load_si128((const __m128i *)g->hpow[0]);

	while (len) {
		uint8_t blk[16] = {0};
		size_t n = len < 16 ? len : 16;

		memcpy(blk, p, n);
		y = gmul(_mm_xor_si128(y, rev(_mm_loadu_si128((const __m128i *)blk))), h);
		p += n;
		len -= n;
	}
	return y;
}

TARGET static inline __m128i counter(__m128i j0, uint32_t n)
{
	return _mm_insert_epi32(j0, (int)__builtin_bswap32(n), 3);
}

#define TARGET_WIDE __attribute__((target("vaes,vpclmulqdq,avx2,aes,pclmul,ssse3,sse4.1")))

/* Whether the CPU has, and the kernel saves, what the wide path uses. */
static bool wide_available(void)
{
	unsigned a, b, c, d, xlo, xhi;

	/* CPUID 7: AVX2 is EBX 5, VAES ECX 9, VPCLMULQDQ ECX 10 */
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & (1u << 5)) || !(c & (1u << 9)) ||
	    !(c & (1u << 10)))
		return false;
	/* CPUID 1 ECX 27: OSXSAVE; then XCR0 must have the SSE and AVX state */
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))
		return false;
	__asm__("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
	(void)xhi;
	return (xlo & 6) == 6;
}

/* Sixteen blocks a round, two to a register: the counter blocks of as
 * many whole rounds as len holds are encrypted into out and hashed into
 * *y. The bytes done. */
TARGET_WIDE static size_t seal_wide(const struct aesgcm *g, __m128i iv_ctr, uint32_t ctr,
				    __m128i *y, const uint8_t *in, uint8_t *out, size_t len)
{
	const __m128i *rk = (const __m128i *)g->rk;
	const __m128i *hp = (const __m128i *)g->hpow;
	/* reverses the bytes of each lane; and only those of its last word */
	const __m256i rev_all = _mm256_broadcastsi128_si256(
		_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
	const __m256i rev_ctr = _mm256_broadcastsi128_si256(
		_mm_set_epi8(12, 13, 14, 15, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
	__m256i k[15], hpair[AESGCM_WIDE / 2], next;
	size_t done = 0;

	for (unsigned r = 0; r <= g->rounds; r++)
		k[r] = _mm256_broadcastsi128_si256(_mm_load_si128(&rk[r]));
	/* Pair j multiplies blocks 2j and 2j+1 by H^(16-2j) and H^(15-2j). */
	for (int j = 0; j < AESGCM_WIDE / 2; j++)
		hpair[j] = _mm256_set_m128i(_mm_load_si128(&hp[AESGCM_WIDE - 2 - 2 * j]),
					    _mm_load_si128(&hp[AESGCM_WIDE - 1 - 2 * j]));
	/* The counters with their last word in this CPU's order, two to a
	 * register: (ctr, ctr + 1). */
	next = _mm256_add_epi32(_mm256_broadcastsi128_si256(_mm_insert_epi32(iv_ctr, (int)ctr, 3)),
				_mm256_set_epi32(1, 0, 0, 0, 0, 0, 0, 0));
	while (len - done >= 16 * AESGCM_WIDE) {
		__m256i b[AESGCM_WIDE / 2], lo, mid, hi;
		__m128i l, m, h;

		for (int j = 0; j < AESGCM_WIDE / 2; j++) {
			b[j] = _mm256_shuffle_epi8(
				_mm256_add_epi32(next, _mm256_set_epi32(2 * j, 0, 0, 0, 2 * j, 0, 0, 0)),
				rev_ctr);
			b[j] = _mm256_xor_si256(b[j], k[0]);
		}
		next = _mm256_add_epi32(next, _mm256_set_epi32(AESGCM_WIDE, 0, 0, 0, AESGCM_WIDE, 0, 0, 0));
		for (unsigned r = 1; r < g->rounds; r++)
			for (int j = 0; j < AESGCM_WIDE / 2; j++)
				b[j] = _mm256_aesenc_epi128(b[j], k[r]);
		for (int j = 0; j < AESGCM_WIDE / 2; j++) {
			b[j] = _mm256_aesenclast_epi128(b[j], k[g->rounds]);
			b[j] = _mm256_xor_si256(b[j], _mm256_loadu_si256((const __m256i *)(in + done + 32 * j)));
			_mm256_storeu_si256((__m256i *)(out + done + 32 * j), b[j]);
		}
		lo = mid = hi = _mm256_setzero_si256();
		for (int j = 0; j < AESGCM_WIDE / 2; j++) {
			__m256i x = _mm256_shuffle_epi8(b[j], rev_all);

			if (j == 0)
				x = _mm256_xor_si256(x, _mm256_set_m128i(_mm_setzero_si128(), *y));
			lo = _mm256_xor_si256(lo, _mm256_clmulepi64_epi128(x, hpair[j], 0x00));
			hi = _mm256_xor_si256(hi, _mm256_clmulepi64_epi128(x, hpair[j], 0x11));
			mid = _mm256_xor_si256(mid, _mm256_xor_si256(_mm256_clmulepi64_epi128(x, hpair[j], 0x01),
								     _mm256_clmulepi64_epi128(x, hpair[j], 0x10)));
		}
		l = _mm_xor_si128(_mm256_castsi256_si128(lo), _mm256_extracti128_si256(lo, 1));
		m = _mm_xor_si128(_mm256_castsi256_si128(mid), _mm256_extracti128_si256(mid, 1));
		h = _mm_xor_si128(_mm256_castsi256_si128(hi), _mm256_extracti128_si256(hi, 1));
		*y = reduce(l, m, h);
		done += 16 * AESGCM_WIDE;
	}
	return done;
}

TARGET void aesgcm_seal(const struct aesgcm *g, const uint8_t iv[12], const uint8_t *aad,
			size_t aadlen, const uint8_t *in, uint8_t *out, size_t len, uint8_t tag[16])
{
	const __m128i *rk = (const __m128i *)g->rk;
	const __m128i *hp = (const __m128i *)g->hpow;
	uint8_t blk[16] = {0};
	uint64_t total = len;
	uint32_t ctr = 2;
	__m128i j0, y = _mm_setzero_si128();

	memcpy(blk, iv, 12);
	j0 = counter(_mm_loadu_si128((const __m128i *)blk), 1);
	y = ghash_bytes(g, y, aad, aadlen);
	if (g->wide && len >= 16 * AESGCM_WIDE) {
		size_t done = seal_wide(g, j0, ctr, &y, in, out, len);

		ctr += (uint32_t)(done / 16);
		in += done;
		out += done;
		len -= done;
	}
	while (len >= 16 * AESGCM_BATCH) {
		__m128i b[AESGCM_BATCH], lo, mid, hi, k;

		k = _mm_load_si128(&rk[0]);
		for (int i = 0; i < AESGCM_BATCH; i++)
			b[i] = _mm_xor_si128(counter(j0, ctr + (uint32_t)i), k);
		ctr += AESGCM_BATCH;
		for (unsigned r = 1; r < g->rounds; r++) {
			k = _mm_load_si128(&rk[r]);
			for (int i = 0; i < AESGCM_BATCH; i++)
				b[i] = _mm_aesenc_si128(b[i], k);
		}
		k = _mm_load_si128(&rk[g->rounds]);
		for (int i = 0; i < AESGCM_BATCH; i++) {
			b[i] = _mm_aesenclast_si128(b[i], k);
			b[i] = _mm_xor_si128(b[i], _mm_loadu_si128((const __m128i *)(in + 16 * i)));
			_mm_storeu_si128((__m128i *)(out + 16 * i), b[i]);
		}
		/* y = (y + C0) H^8 + C1 H^7 + ... + C7 H */
		lo = mid = hi = _mm_setzero_si128();
		clmul_add(_mm_xor_si128(y, rev(b[0])), _mm_load_si128(&hp[AESGCM_BATCH - 1]), &lo,
			  &mid, &hi);
		for (int i = 1; i < AESGCM_BATCH; i++)
			clmul_add(rev(b[i]), _mm_load_si128(&hp[AESGCM_BATCH - 1 - i]), &lo, &mid, &hi);
		y = reduce(lo, mid, hi);
		in += 16 * AESGCM_BATCH;
		out += 16 * AESGCM_BATCH;
		len -= 16 * AESGCM_BATCH;
	}
	while (len) {
		size_t n = len < 16 ? len : 16;
		__m128i c;

		memset(blk, 0, sizeof(blk));
		memcpy(blk, in, n);
		c = _mm_xor_si128(encrypt1(g, counter(j0, ctr++)), _mm_loadu_si128((const __m128i *)blk));
		_mm_storeu_si128((__m128i *)blk, c);
		memset(blk + n, 0, sizeof(blk) - n);
		memcpy(out, blk, n);
		y = gmul(_mm_xor_si128(y, rev(_mm_loadu_si128((const __m128i *)blk))),
			 _mm_load_si128(&hp[0]));
		in += n;
		out += n;
		len -= n;
	}
	for (int i = 0; i < 8; i++) {
		blk[i] = (uint8_t)((uint64_t)aadlen * 8 >> (56 - 8 * i));
		blk[8 + i] = (uint8_t)(total * 8 >> (56 - 8 * i));
	}
	y = gmul(_mm_xor_si128(y, rev(_mm_loadu_si128((const __m128i *)blk))), _mm_load_si128(&hp[0]));
	_mm_storeu_si128((__m128i *)tag, _mm_xor_si128(rev(y), encrypt1(g, j0)));
	memset(blk, 0, sizeof(blk));
}

int aesgcm_init(struct aesgcm *g, const uint8_t *key, size_t keylen)
{
	memset(g, 0, sizeof(*g));
	if (keylen != 16 && keylen != 32)
		return -EINVAL;
	if (!aesgcm_available())
		return -ENOTSUP;
	setup(g, key, keylen);
	g->wide = wide_available();
	return 0;
}
#else
bool aesgcm_available(void)
{
	return false;
}

int aesgcm_init(struct aesgcm *g, const uint8_t *key, size_t keylen)
{
	memset(g, 0, sizeof(*g));
	(void)key;
	return keylen != 16 && keylen != 32 ? -EINVAL : -ENOTSUP;
}

void aesgcm_seal(const struct aesgcm *g, const uint8_t iv[12], const uint8_t *aad,
		 size_t aadlen, const uint8_t *in, uint8_t *out, size_t len, uint8_t tag[16])
{
	(void)g, (void)iv, (void)aad, (void)aadlen, (void)in, (void)out, (void)len, (void)tag;
}
#endif

void aesgcm_wipe(struct aesgcm *g)
{
	volatile uint8_t *p = (volatile uint8_t *)g;

	for (size_t i = 0; i < sizeof(*g); i++)
		p[i] = 0;
}
