/* Small facts about raw bytes: all zero, a UUID's text. */
#ifndef FERRY_BYTES_H
#define FERRY_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when len bytes at buf are all zero. */
bool bytes_zero(const void *buf, size_t len);
/* Formats 16 bytes as a lower-case UUID string (37 bytes with the NUL). */
void uuid_format(const uint8_t *u, char *out);

#endif
