/* SHA-256 of a stream, with the CPU's SHA instructions where it has them:
 * an upload hashes every byte it sends, and mbedtls' portable code alone
 * takes more time than the TLS that carries the bytes. */
#ifndef FERRY_SHA256_H
#define FERRY_SHA256_H

#include <mbedtls/sha256.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sha256 {
	bool ni; /* the SHA extensions do the blocks */
	uint32_t h[8];
	uint8_t buf[64];
	size_t fill;
	uint64_t len;
	mbedtls_sha256_context m; /* otherwise */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* The digest as 64 lower-case hex digits and a NUL; s is released. */
void sha256_final_hex(struct sha256 *s, char hex[65]);
void sha256_release(struct sha256 *s);

/* Whether the SHA extensions are used (for tests and benchmarks). */
bool sha256_has_ni(void);

#endif
