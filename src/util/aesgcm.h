/* AES-GCM encryption (NIST SP 800-38D) on the x86 AES and carry-less
 * multiply instructions. mbedtls 2.28 encrypts a block at a time and
 * GHASHes a block at a time (about 300 MB/s here); an upload's TLS records
 * are all encryption, so the records an upload sends are sealed here
 * instead, eight or sixteen blocks at a time (see sink/http.c). Encryption only: the
 * answers an upload reads are short and mbedtls opens them. */
#ifndef FERRY_AESGCM_H
#define FERRY_AESGCM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AESGCM_BATCH 8 /* blocks a round on 128-bit registers */
#define AESGCM_WIDE 16 /* and on 256-bit ones (VAES, VPCLMULQDQ) */

struct aesgcm {
	uint8_t rk[15][16] __attribute__((aligned(16))); /* round keys */
	unsigned rounds;                                   /* 10 or 14 */
	/* H^1 .. H^16, each with its bytes reversed for the multiply */
	uint8_t hpow[AESGCM_WIDE][16] __attribute__((aligned(16)));
	/* Whether the CPU's 256-bit AES and carry-less multiply do the bulk
	 * (set by aesgcm_init; a test may clear it to check the other way). */
	bool wide;
};

/* Whether this CPU has the instructions (AES-NI, PCLMULQDQ, SSSE3, SSE4.1). */
bool aesgcm_available(void);

/* Sets up g for a 16- or 32-byte key; -EINVAL for another length, -ENOTSUP
 * without the instructions. */
int aesgcm_init(struct aesgcm *g, const uint8_t *key, size_t keylen);

/* Encrypts len bytes of in to out (they may be the same buffer) under the
 * 12-byte iv, authenticating aad too, and writes the 16-byte tag. */
void aesgcm_seal(const struct aesgcm *g, const uint8_t iv[12], const uint8_t *aad,
		 size_t aadlen, const uint8_t *in, uint8_t *out, size_t len, uint8_t tag[16]);

/* Wipes the keys. */
void aesgcm_wipe(struct aesgcm *g);

#endif
