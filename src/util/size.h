/* Byte counts for people: "1.5 GiB". */
#ifndef FERRY_SIZE_H
#define FERRY_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* Writes into buf (at least 16 bytes) and returns it. */
char *fmt_bytes(char *buf, size_t len, uint64_t bytes);

#endif
