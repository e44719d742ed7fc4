/* Byte counts for people: "1.5 GiB". */
#ifndef FERRY_SIZE_H
#define FERRY_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* Writes into buf (at least 16 bytes) and returns it. */
char *fmt_bytes(char *buf, size_t len, uint64_t bytes);

/* Parses a byte count with an optional suffix: k, M, G, T (powers of 1000,
 * as rates are quoted: 20M is 20 MB/s) or Ki, Mi, Gi, Ti (powers of 1024);
 * a trailing "B" or "/s" is allowed. Errors name what is wrong. */
int parse_bytes(const char *what, const char *s, uint64_t *out);

#endif
