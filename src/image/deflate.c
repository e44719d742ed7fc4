/* Raw deflate with a 4 KiB window (see deflate.h): lazy LZ77 parsing over
 * hash chains, then one dynamic, fixed or stored block per run of
 * symbols, whichever is shortest. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "image/deflate.h"

#define MIN_MATCH 3
#define MAX_MATCH 258
#define WMASK (DEFLATER_WINDOW - 1)
/* The farthest match: one less than the window, so that a chain link is
 * never read after its slot was taken by a newer position. */
#define MAX_DIST (DEFLATER_WINDOW - 1)
#define HASH_BITS 15 /* fewer than this cost more in collisions than they save */
#define HASH3_BITS 12
/* Parsing effort, chosen on the bench fixture so that the output stays no
 * larger than zlib's level 6 (qemu-img's). */
#define MAX_CHAIN 64
#define GOOD_LEN 8    /* a match this long quarters the next search */
#define LAZY_LEN 32   /* a match this long is taken without looking ahead */
#define NICE_LEN 128  /* a match this long ends a search */
#define FAR_LEN3 256  /* a 3-byte match farther than this rarely beats three literals */
/* Symbols per block: a block's Huffman codes fit the data it holds. One
 * step of the parse adds at most LAZY_LEN of them. */
#define BLOCK_SYMS 32768u

#define NUM_LITLEN 286
#define NUM_DIST 30
#define NUM_CLEN 19
#define END_BLOCK 256
#define MAX_BITS 15
#define MAX_CLEN_BITS 7

/* Positions are the input's offsets plus base, which moves past every
 * call's input and window: entries from an earlier call are then too far
 * to be matched, and the tables are cleared only when base comes near
 * BASE_LIMIT (after 64 MiB of input), not for each cluster. */
#define BASE_LIMIT (1u << 26)
#define MAX_IN (BASE_LIMIT / 4)

struct deflater {
	size_t max_in;
	uint32_t base, next; /* this call's base, the next one's */
	uint32_t head[1u << HASH_BITS];
	uint32_t head3[1u << HASH3_BITS];
	uint32_t prev[DEFLATER_WINDOW];
	/* A symbol: a literal byte (bits 16 and up zero) or a match, its
	 * length << 16 | its distance. */
	uint32_t *sym;
	uint32_t freq[NUM_LITLEN], dfreq[NUM_DIST];
};

/* Room for the fixed code's 288 symbols, two of them never sent: without
 * them its 9-bit codes would not be the standard's. */
#define NUM_FIXED_LIT 288

struct huff {
	uint8_t len[NUM_FIXED_LIT];
	uint16_t code[NUM_FIXED_LIT]; /* bit-reversed: deflate sends codes MSB first */
};

struct bitw {
	uint8_t *p;
	uint64_t buf;
	unsigned cnt;
};

static const uint16_t len_base[29] = {
	3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
	35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
};
static const uint8_t len_extra[29] = {
	0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
	3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
};
static const uint16_t dist_base[NUM_DIST] = {
	1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
	257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
};
static const uint8_t dist_extra[NUM_DIST] = {
	0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
	7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
};
static const uint8_t clen_order[NUM_CLEN] = {
	16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
};

/* Length 3..258 to its code's index (0..28), distance 1..4096 to its code. */
static uint8_t len_code[MAX_MATCH + 1];
static uint8_t dist_code[DEFLATER_WINDOW + 1];
static struct huff fixed_lit, fixed_dist;

static uint32_t load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint32_t hash4(const uint8_t *p)
{
	return (load32(p) * 0x1e35a7bdu) >> (32 - HASH_BITS);
}

static uint32_t hash3(const uint8_t *p)
{
	return ((load32(p) & 0xffffffu) * 0x9e3779b1u) >> (32 - HASH3_BITS);
}

/* How far a[0..max) and b[0..max) agree, given that the first have bytes do. */
static unsigned extend(const uint8_t *a, const uint8_t *b, unsigned have, unsigned max)
{
	unsigned n = have;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (n + 8 <= max) {
		uint64_t x = load64(a + n) ^ load64(b + n);

		if (x)
			return n + ((unsigned)__builtin_ctzll(x) >> 3);
		n += 8;
	}
#endif
	while (n < max && a[n] == b[n])
		n++;
	return n;
}

static uint32_t reverse_bits(uint32_t code, unsigned len)
{
	uint32_t r = 0;

	for (unsigned i = 0; i < len; i++, code >>= 1)
		r = r << 1 | (code & 1);
	return r;
}

/* The canonical codes for the lengths in h->len[0..n). */
static void assign_codes(struct huff *h, unsigned n)
{
	unsigned count[MAX_BITS + 1] = { 0 }, next[MAX_BITS + 1];
	unsigned code = 0;

	for (unsigned i = 0; i < n; i++)
		count[h->len[i]]++;
	count[0] = 0;
	for (unsigned b = 1; b <= MAX_BITS; b++) {
		code = (code + count[b - 1]) << 1;
		next[b] = code;
	}
	for (unsigned i = 0; i < n; i++)
		if (h->len[i])
			h->code[i] = (uint16_t)reverse_bits(next[h->len[i]]++, h->len[i]);
}

static void tables_once(void)
{
	unsigned i, c;

	for (c = 0; c < 28; c++)
		for (i = len_base[c]; i < len_base[c + 1]; i++)
			len_code[i] = (uint8_t)c;
	len_code[MAX_MATCH] = 28;
	for (c = 0; c < 24; c++)
		for (i = dist_base[c]; i < dist_base[c + 1] && i <= DEFLATER_WINDOW; i++)
			dist_code[i] = (uint8_t)c;
	for (i = 0; i < NUM_FIXED_LIT; i++)
		fixed_lit.len[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
	assign_codes(&fixed_lit, NUM_FIXED_LIT);
	for (i = 0; i < NUM_DIST; i++)
		fixed_dist.len[i] = 5;
	assign_codes(&fixed_dist, NUM_DIST);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Huffman code lengths (Moffat and Katajainen's in-place method) for the
 * weights a[0..n), sorted ascending; a[i] becomes the length of the i-th. */
static void min_redundancy(uint32_t *a, int n)
{
	int root, leaf, next, avail, used, depth;

	if (n == 1) {
		a[0] = 1;
		return;
	}
	a[0] += a[1];
	root = 0;
	leaf = 2;
	for (next = 1; next < n - 1; next++) {
		if (leaf >= n || a[root] < a[leaf]) {
			a[next] = a[root];
			a[root++] = (uint32_t)next;
		} else {
			a[next] = a[leaf++];
		}
		if (leaf >= n || (root < next && a[root] < a[leaf])) {
			a[next] += a[root];
			a[root++] = (uint32_t)next;
		} else {
			a[next] += a[leaf++];
		}
	}
	a[n - 2] = 0;
	for (next = n - 3; next >= 0; next--)
		a[next] = a[a[next]] + 1;
	avail = 1;
	used = depth = 0;
	root = n - 2;
	next = n - 1;
	while (avail > 0) {
		while (root >= 0 && (int)a[root] == depth) {
			used++;
			root--;
		}
		while (avail > used) {
			a[next--] = (uint32_t)depth;
			avail--;
		}
		avail = 2 * used;
		depth++;
		used = 0;
	}
}

/* Lengths of at most limit bits for the frequencies freq[0..n), at least
 * two codes (a lone code still takes a bit; inflate wants it complete). */
static void build_huff(struct huff *h, const uint32_t *freq, unsigned n, unsigned limit)
{
	uint32_t key[NUM_LITLEN], w[NUM_LITLEN];
	unsigned count[MAX_BITS + 2] = { 0 };
	int m = 0;

	memset(h->len, 0, n);
	for (unsigned i = 0; i < n; i++)
		if (freq[i])
			key[m++] = freq[i] << 9 | i;
	if (m < 2) {
		unsigned s = m ? key[0] & 511 : 0;

		h->len[s] = 1;
		h->len[s ? 0 : 1] = 1;
		assign_codes(h, n);
		return;
	}
	qsort(key, (size_t)m, sizeof(key[0]), cmp_u32);
	for (int i = 0; i < m; i++)
		w[i] = key[i] >> 9;
	min_redundancy(w, m);
	for (int i = 0; i < m; i++)
		count[w[i] > limit ? limit : w[i]]++;
	/* Too long codes cut to the limit oversubscribe it; each round takes a
	 * code off the limit and splits a shorter leaf, a unit back. */
	uint32_t total = 0;

	for (unsigned b = 1; b <= limit; b++)
		total += count[b] << (limit - b);
	while (total > 1u << limit) {
		count[limit]--;
		for (unsigned b = limit - 1; b > 0; b--)
			if (count[b]) {
				count[b]--;
				count[b + 1] += 2;
				break;
			}
		total--;
	}
	/* The rarest symbols take the longest codes. */
	int i = 0;

	for (unsigned b = limit; b > 0; b--)
		for (unsigned k = 0; k < count[b]; k++)
			h->len[key[i++] & 511] = (uint8_t)b;
	assign_codes(h, n);
}

static inline __attribute__((always_inline)) void put(struct bitw *w, uint32_t bits, unsigned n)
{
	w->buf |= (uint64_t)bits << w->cnt;
	w->cnt += n;
	if (w->cnt >= 32) {
		uint32_t v = (uint32_t)w->buf;

		w->p[0] = (uint8_t)v;
		w->p[1] = (uint8_t)(v >> 8);
		w->p[2] = (uint8_t)(v >> 16);
		w->p[3] = (uint8_t)(v >> 24);
		w->p += 4;
		w->buf >>= 32;
		w->cnt -= 32;
	}
}

/* Pads to a byte boundary and writes out what is held. */
static void put_align(struct bitw *w)
{
	while (w->cnt > 0) {
		*w->p++ = (uint8_t)w->buf;
		w->buf >>= 8;
		w->cnt = w->cnt > 8 ? w->cnt - 8 : 0;
	}
	w->buf = 0;
}

/* The code-length sequence of a dynamic header, run-length coded: each
 * item a symbol 0..18 in its low byte, its extra bits' value above. */
static unsigned clen_items(const uint8_t *lens, unsigned n, uint16_t *items, uint32_t *freq)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n;) {
		uint8_t v = lens[i];
		unsigned run = 1;

		while (i + run < n && lens[i + run] == v)
			run++;
		i += run;
		if (v == 0) {
			while (run >= 11) {
				unsigned r = run < 138 ? run : 138;

				items[k++] = (uint16_t)(18 | (r - 11) << 8);
				run -= r;
			}
			if (run >= 3) {
				items[k++] = (uint16_t)(17 | (run - 3) << 8);
				run = 0;
			}
		} else {
			items[k++] = v;
			run--;
			while (run >= 3) {
				unsigned r = run < 6 ? run : 6;

				items[k++] = (uint16_t)(16 | (r - 3) << 8);
				run -= r;
			}
		}
		while (run--)
			items[k++] = v;
	}
	for (unsigned j = 0; j < k; j++)
		freq[items[j] & 0xff]++;
	return k;
}

static const uint8_t clen_extra[NUM_CLEN] = {
	[16] = 2, [17] = 3, [18] = 7,
};

/* The bits the symbols take with these codes, end of block included. */
static uint64_t body_bits(const struct deflater *d, const struct huff *lit, const struct huff *dist)
{
	uint64_t bits = 0;

	for (unsigned i = 0; i < NUM_LITLEN; i++)
		if (d->freq[i])
			bits += (uint64_t)d->freq[i] * (lit->len[i] + (i > 256 ? len_extra[i - 257] : 0));
	for (unsigned i = 0; i < NUM_DIST; i++)
		if (d->dfreq[i])
			bits += (uint64_t)d->dfreq[i] * (dist->len[i] + dist_extra[i]);
	return bits;
}

static void put_body(struct bitw *out, const uint32_t *sym, size_t nsym, const struct huff *lit,
		     const struct huff *dist)
{
	struct bitw w = *out; /* in registers */

	for (size_t i = 0; i < nsym; i++) {
		uint32_t s = sym[i];

		if (s < 256) {
			put(&w, lit->code[s], lit->len[s]);
			continue;
		}
		unsigned len = s >> 16, dst = s & 0xffff;
		unsigned lc = len_code[len], dc = dist_code[dst];

		/* A length's code and extra bits take 20 at most, a distance's 25. */
		put(&w, lit->code[257 + lc] | (len - len_base[lc]) << lit->len[257 + lc],
		    lit->len[257 + lc] + len_extra[lc]);
		put(&w, dist->code[dc] | (dst - dist_base[dc]) << dist->len[dc],
		    dist->len[dc] + dist_extra[dc]);
	}
	put(&w, lit->code[END_BLOCK], lit->len[END_BLOCK]);
	*out = w;
}

/* One block of the symbols sym[0..nsym), which stand for in[0..n). Returns
 * false when it would take the output past limit bits. */
static bool put_block(struct deflater *d, struct bitw *w, uint64_t *used, uint64_t limit,
		      const uint8_t *in, size_t n, size_t nsym, bool last)
{
	struct huff lit, dist, clen;
	uint16_t items[NUM_LITLEN + NUM_DIST];
	uint32_t cfreq[NUM_CLEN] = { 0 };
	uint8_t lens[NUM_LITLEN + NUM_DIST];
	unsigned hlit = NUM_LITLEN, hdist = NUM_DIST, hclen = NUM_CLEN, nitems;
	uint64_t dyn, fix, stored;

	d->freq[END_BLOCK] = 1;
	build_huff(&lit, d->freq, NUM_LITLEN, MAX_BITS);
	build_huff(&dist, d->dfreq, NUM_DIST, MAX_BITS);
	while (hlit > 257 && !lit.len[hlit - 1])
		hlit--;
	while (hdist > 1 && !dist.len[hdist - 1])
		hdist--;
	memcpy(lens, lit.len, hlit);
	memcpy(lens + hlit, dist.len, hdist);
	nitems = clen_items(lens, hlit + hdist, items, cfreq);
	build_huff(&clen, cfreq, NUM_CLEN, MAX_CLEN_BITS);
	while (hclen > 4 && !clen.len[clen_order[hclen - 1]])
		hclen--;
	dyn = 3 + 5 + 5 + 4 + 3 * hclen + body_bits(d, &lit, &dist);
	for (unsigned i = 0; i < NUM_CLEN; i++)
		dyn += (uint64_t)cfreq[i] * (clen.len[i] + clen_extra[i]);
	fix = 3 + body_bits(d, &fixed_lit, &fixed_dist);
	/* A stored block: header, padding to a byte, LEN, NLEN, the bytes. */
	stored = n <= 0xffff ? 3 + ((8 - ((*used + 3) & 7)) & 7) + 32 + 8 * (uint64_t)n : UINT64_MAX;

	uint64_t best = dyn < fix ? dyn : fix;

	if (stored < best)
		best = stored;
	if (*used + best > limit)
		return false;
	*used += best;
	if (best == stored) {
		put(w, last, 3);
		put_align(w);
		put(w, (uint32_t)n | (uint32_t)(~n & 0xffff) << 16, 32);
		memcpy(w->p, in, n);
		w->p += n;
		return true;
	}
	if (best == fix) {
		put(w, last | 1u << 1, 3);
		put_body(w, d->sym, nsym, &fixed_lit, &fixed_dist);
		return true;
	}
	put(w, last | 2u << 1, 3);
	put(w, hlit - 257, 5);
	put(w, hdist - 1, 5);
	put(w, hclen - 4, 4);
	for (unsigned i = 0; i < hclen; i++)
		put(w, clen.len[clen_order[i]], 3);
	for (unsigned i = 0; i < nitems; i++) {
		unsigned s = items[i] & 0xff;

		put(w, clen.code[s], clen.len[s]);
		if (clen_extra[s])
			put(w, items[i] >> 8, clen_extra[s]);
	}
	put_body(w, d->sym, nsym, &lit, &dist);
	return true;
}

static void insert(struct deflater *d, const uint8_t *in, uint32_t pos)
{
	const uint8_t *p = in + pos;
	uint32_t h = hash4(p), at = d->base + pos;

	d->prev[at & WMASK] = d->head[h];
	d->head[h] = at;
	d->head3[hash3(p)] = at;
}

/* Inserts pos (with 4 bytes left at least) and finds the longest match
 * for it within max bytes; its length (0: none) and distance. */
static unsigned find(struct deflater *d, const uint8_t *in, uint32_t pos, unsigned max,
		     unsigned chain, unsigned *dist)
{
	const uint8_t *p = in + pos;
	uint32_t h = hash4(p), at = d->base + pos;
	uint32_t c = d->head[h], c3 = d->head3[hash3(p)];
	unsigned best = MIN_MATCH, nice = max < NICE_LEN ? max : NICE_LEN;

	d->prev[at & WMASK] = c;
	d->head[h] = at;
	d->head3[hash3(p)] = at;
	*dist = 0;
	while (chain-- && at - c <= MAX_DIST) {
		const uint8_t *m = p - (at - c);

		if (m[best] == p[best] && load32(m) == load32(p)) {
			unsigned len = extend(p, m, 4, max);

			if (len > best) {
				best = len;
				*dist = at - c;
				if (len >= nice)
					break;
			}
		}
		c = d->prev[c & WMASK];
	}
	if (*dist)
		return best;
	if (at - c3 <= FAR_LEN3 && at != c3) {
		const uint8_t *m = p - (at - c3);

		if (m[0] == p[0] && m[1] == p[1] && m[2] == p[2]) {
			*dist = at - c3;
			return MIN_MATCH;
		}
	}
	return 0;
}

static void lit(struct deflater *d, size_t *nsym, uint8_t byte)
{
	d->sym[(*nsym)++] = byte;
	d->freq[byte]++;
}

static void match(struct deflater *d, size_t *nsym, unsigned len, unsigned dist)
{
	d->sym[(*nsym)++] = (uint32_t)len << 16 | dist;
	d->freq[257 + len_code[len]]++;
	d->dfreq[dist_code[dist]]++;
}

struct deflater *deflater_new(size_t max_in)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct deflater *d;

	if (max_in > MAX_IN)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->max_in = max_in;
	d->sym = malloc(BLOCK_SYMS * sizeof(*d->sym));
	if (!d->sym) {
		free(d);
		return NULL;
	}
	pthread_once(&once, tables_once);
	d->next = DEFLATER_WINDOW + 1;
	return d;
}

void deflater_free(struct deflater *d)
{
	if (!d)
		return;
	free(d->sym);
	free(d);
}

size_t deflater_compress(struct deflater *d, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	struct bitw w = { out, 0, 0 };
	uint64_t used = 0, limit = (uint64_t)cap * 8;
	size_t nsym = 0, block = 0; /* block: where the block's input starts */
	uint32_t pos = 0;

	if (n > d->max_in)
		return 0;
	/* Moved on before anything can fail: a call that gives up early
	 * leaves its positions in the tables too. */
	if ((uint64_t)d->next + n + DEFLATER_WINDOW + 1 > BASE_LIMIT) {
		memset(d->head, 0, sizeof(d->head));
		memset(d->head3, 0, sizeof(d->head3));
		d->next = DEFLATER_WINDOW + 1;
	}
	d->base = d->next;
	d->next += (uint32_t)n + DEFLATER_WINDOW + 1;
	memset(d->freq, 0, sizeof(d->freq));
	memset(d->dfreq, 0, sizeof(d->dfreq));
	while (pos < n) {
		unsigned max = n - pos > MAX_MATCH ? MAX_MATCH : (unsigned)(n - pos);
		unsigned len = 0, dist = 0;

		if (max >= 4)
			len = find(d, in, pos, max, MAX_CHAIN, &dist);
		if (!len) {
			lit(d, &nsym, in[pos++]);
		} else {
			/* Lazy: a longer match one byte on is worth a literal. */
			while (len < LAZY_LEN && n - pos - 1 >= 4) {
				unsigned max1 = n - pos - 1 > MAX_MATCH ? MAX_MATCH : (unsigned)(n - pos - 1);
				unsigned dist1, len1 = find(d, in, pos + 1, max1,
							    len >= GOOD_LEN ? MAX_CHAIN / 4 : MAX_CHAIN,
							    &dist1);

				if (len1 <= len) {
					/* pos + 1 is in the chains already. */
					match(d, &nsym, len, dist);
					for (uint32_t k = pos + 2; k < pos + len && k + 4 <= n; k++)
						insert(d, in, k);
					pos += len;
					goto next;
				}
				lit(d, &nsym, in[pos++]);
				len = len1;
				dist = dist1;
			}
			match(d, &nsym, len, dist);
			for (uint32_t k = pos + 1; k < pos + len && k + 4 <= n; k++)
				insert(d, in, k);
			pos += len;
		}
next:
		if (nsym > BLOCK_SYMS - LAZY_LEN - 2 || pos >= n) {
			if (!put_block(d, &w, &used, limit, in + block, pos - block, nsym, pos >= n))
				return 0;
			nsym = 0;
			block = pos;
			memset(d->freq, 0, sizeof(d->freq));
			memset(d->dfreq, 0, sizeof(d->dfreq));
		}
	}
	if (n == 0 && !put_block(d, &w, &used, limit, in, 0, 0, true))
		return 0;
	put_align(&w);
	return (size_t)(w.p - out);
}
