/* A growing NUL-terminated buffer, for text and binary data built in
 * memory (fix rules, index files, HTTP requests). */
#ifndef FERRY_STRBUF_H
#define FERRY_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *s;
	size_t len, cap;
};
void strbuf_init(struct strbuf *b);
void strbuf_release(struct strbuf *b);
int strbuf_add(struct strbuf *b, const char *s, size_t len);
int strbuf_addf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));


#endif
