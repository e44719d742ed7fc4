/* A raw deflate encoder (RFC 1951) whose matches reach back at most
 * 4 KiB: qemu inflates a qcow2 cluster with a 4 KiB window, so zlib held to
 * that window was the only other way to make one, at half this speed. */
#ifndef FERRY_DEFLATE_H
#define FERRY_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

/* The farthest a match reaches back. */
#define DEFLATER_WINDOW 4096u

struct deflater;

/* One per thread, for inputs of up to max_in bytes (16 MiB at most);
 * NULL: out of memory, or max_in too large. */
struct deflater *deflater_new(size_t max_in);
void deflater_free(struct deflater *d);

/* Compresses in[0..n) (n <= max_in) into out as one whole raw deflate
 * stream, every distance within DEFLATER_WINDOW. Returns its length, or 0
 * when it would not fit in cap bytes. Each call stands alone: the result
 * depends only on the input and cap. */
size_t deflater_compress(struct deflater *d, const uint8_t *in, size_t n, uint8_t *out, size_t cap);

#endif
