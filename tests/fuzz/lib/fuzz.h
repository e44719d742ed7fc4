/* What the fuzz targets share: libFuzzer's entry points, the input as a C
 * string, and the input cut into parts. */
#ifndef FERRY_FUZZ_H
#define FERRY_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* data as a NUL-terminated copy (free()), or NULL when memory runs out.
 * A NUL inside stays: the parsers that take a length see it. */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

/* The next part of [*pos, size) up to sep (or the end): *part and *len;
 * false when nothing is left. */
static inline int fuzz_next_part(const uint8_t *data, size_t size, size_t *pos, char sep,
				 const uint8_t **part, size_t *len)
{
	const uint8_t *end;

	if (*pos > size || (*pos == size && size))
		return 0;
	*part = data + *pos;
	end = *pos < size ? memchr(*part, sep, size - *pos) : NULL;
	*len = end ? (size_t)(end - *part) : size - *pos;
	*pos += *len + 1;
	return 1;
}

#endif
