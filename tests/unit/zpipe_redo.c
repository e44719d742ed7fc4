/* The check behind our deflate encoder (image/zpipe.c): this program links
 * its own deflater in place of image/deflate.c, one that gets three
 * clusters in four wrong (a stream of other bytes, noise, a stream cut
 * short). Every cluster the compressing pipe hands back must still inflate
 * (zlib, qemu's 4 KiB window) to the disk's bytes, and a warning must say
 * how many were made again. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "disk/plan.h"
#include "image/deflate.h"
#include "image/zpipe.h"
#include "tap.h"
#include "util/err.h"

#define CLUSTER_BITS 16
#define CLUSTER (1u << CLUSTER_BITS)
#define CLUSTERS 24u

/* The deflater this program links instead of ours. */
struct deflater {
	size_t max_in;
	z_stream zs;
};

struct deflater *deflater_new(size_t max_in)
{
	struct deflater *d = calloc(1, sizeof(*d));

	if (d && deflateInit2(&d->zs, 1, Z_DEFLATED, -12, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(d);
		return NULL;
	}
	if (d)
		d->max_in = max_in;
	return d;
}

void deflater_free(struct deflater *d)
{
	if (d)
		deflateEnd(&d->zs);
	free(d);
}

/* Cluster c (its first byte) right when c % 4 == 0; else wrong. */
size_t deflater_compress(struct deflater *d, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	uint8_t *copy = malloc(n);
	size_t len = 0;

	if (!copy || n > d->max_in) {
		free(copy);
		return 0;
	}
	memcpy(copy, in, n);
	if (in[0] % 4 == 1)
		copy[n / 2] ^= 0x20; /* a good stream of other bytes */
	deflateReset(&d->zs);
	d->zs.next_in = copy;
	d->zs.avail_in = (uInt)n;
	d->zs.next_out = out;
	d->zs.avail_out = (uInt)cap;
	if (deflate(&d->zs, Z_FINISH) == Z_STREAM_END)
		len = cap - d->zs.avail_out;
	free(copy);
	if (len && in[0] % 4 == 2)
		memset(out, 0xa5, len); /* noise */
	if (len && in[0] % 4 == 3)
		len /= 2; /* cut short */
	return len;
}

/* Text-like, and its first byte is the cluster's number. */
static void cluster_bytes(uint64_t c, uint8_t *b)
{
	for (size_t i = 0; i < CLUSTER; i++)
		b[i] = (uint8_t)"ferry moves disks into clouds\n"[(i + c) % 30];
	b[0] = (uint8_t)c;
}

static int disk_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	uint8_t *b = buf, one[CLUSTER];

	(void)ctx;
	while (len) {
		size_t at = off % CLUSTER, n = CLUSTER - at < len ? CLUSTER - at : len;

		cluster_bytes(off / CLUSTER, one);
		memcpy(b, one + at, n);
		b += n;
		off += n;
		len -= n;
	}
	return 0;
}

static unsigned seen, inflated, stored;

static int take(struct zpipe *pp, struct zpipe_batch *b)
{
	uint8_t want[CLUSTER], got[CLUSTER];

	(void)pp;
	for (size_t i = 0; i < b->n; i++) {
		struct zpipe_job *j = &b->jobs[i];
		z_stream s;

		seen++;
		cluster_bytes(j->guest, want);
		if (j->len == 0) {
			stored++;
			continue;
		}
		memset(&s, 0, sizeof(s));
		if (inflateInit2(&s, -12) != Z_OK)
			continue;
		s.next_in = j->out;
		s.avail_in = (uInt)j->len;
		s.next_out = got;
		s.avail_out = CLUSTER;
		if (inflate(&s, Z_FINISH) == Z_STREAM_END && s.avail_out == 0 && s.avail_in == 0 &&
		    memcmp(got, want, CLUSTER) == 0)
			inflated++;
		else
			printf("# cluster %llu does not inflate to the disk's bytes\n",
			       (unsigned long long)j->guest);
		inflateEnd(&s);
	}
	return 0;
}

static char warned[512];
static unsigned warnings;

static void on_warn(const char *msg, void *arg)
{
	(void)arg;
	warnings++;
	snprintf(warned, sizeof(warned), "%s", msg);
}

int main(void)
{
	struct plan p;
	struct image_input in = { .pread = disk_pread };
	struct ferry_warn_scope ws;
	char want[64];
	int err;

	tap_plan(5);
	plan_init(&p);
	p.vsize = (uint64_t)CLUSTERS * CLUSTER;
	if (plan_add_range(&p, 0, p.vsize))
		return 1;
	struct zpipe_cfg cfg = { .p = &p, .in = &in, .cluster_bits = CLUSTER_BITS,
				 .cap = CLUSTER - 2, .codec = ZPIPE_DEFLATE, .threads = 2,
				 .take = take };

	ferry_warn_push(&ws, on_warn, NULL);
	err = zpipe_pass(&cfg, CLUSTERS);
	ferry_warn_pop(&ws);
	ok(err == 0, "the pass ends well: %s", err ? ferr_msg() : "yes");
	is_int(seen, CLUSTERS, "every cluster handed back");
	is_int(inflated, CLUSTERS, "each inflates to the disk's bytes (%u stored)", stored);
	is_int(warnings, 1, "one warning");
	snprintf(want, sizeof(want), "%u qcow2 clusters made by", CLUSTERS / 4 * 3);
	ok(strncmp(warned, want, strlen(want)) == 0 && strstr(warned, "please report it"),
	   "it counts the %u made again: %s", CLUSTERS / 4 * 3, warned);
	plan_release(&p);
	return tap_done();
}
