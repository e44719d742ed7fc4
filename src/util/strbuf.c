/* A growing NUL-terminated buffer (see strbuf.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/strbuf.h"

void strbuf_init(struct strbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void strbuf_release(struct strbuf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

int strbuf_add(struct strbuf *b, const char *s, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *n;

		while (cap < b->len + len + 1)
			cap *= 2;
		n = realloc(b->s, cap);
		if (!n)
			return ferr(-ENOMEM, "out of memory");
		b->s = n;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, len);
	b->len += len;
	b->s[b->len] = '\0';
	return 0;
}

int strbuf_addf(struct strbuf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return ferr(-EINVAL, "bad format");
	if ((size_t)n < sizeof(small))
		return strbuf_add(b, small, (size_t)n);
	{
		char *big = malloc((size_t)n + 1);
		int err;

		if (!big)
			return ferr(-ENOMEM, "out of memory");
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		err = strbuf_add(b, big, (size_t)n);
		free(big);
		return err;
	}
}
