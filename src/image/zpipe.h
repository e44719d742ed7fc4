/* The compressing pipe that compressed qcow2 (qcow2z.c) and VMDK (vmdk.c)
 * share: the guest clusters that hold any planned byte, read in guest
 * order in batches, compressed on a thread pool and handed back, batch by
 * batch, in the same order. Memory stays a few tens of MiB whatever the
 * disk. Not part of the image interface (image.h). */
#ifndef FERRY_ZPIPE_H
#define FERRY_ZPIPE_H

#include "image/pool.h"
#include "image/qcow2.h"

enum zpipe_codec {
	ZPIPE_DEFLATE, /* raw deflate with a 4 KiB window: how qemu reads qcow2 */
	ZPIPE_ZLIB,    /* the zlib format (RFC 1950): VMDK's grains */
	ZPIPE_ZSTD,
};

struct zpipe;

/* One cluster: zero when all its bytes are; else len bytes at out, or len
 * 0 when they would not fit in the pipe's cap. */
struct zpipe_job {
	struct pool_task t; /* first: the pool hands this back */
	struct zpipe *pp;
	const uint8_t *in;
	uint8_t *out;
	uint64_t guest; /* guest cluster number */
	size_t len;
	bool zero;
	const char *why; /* the codec failed */
};

struct zpipe_batch {
	uint8_t *in, *out;
	struct zpipe_job *jobs;
	size_t n;
	uint64_t first; /* the clusters handed back before this batch's first */
};

struct zpipe_cfg {
	const struct plan *p;
	const struct image_input *in;
	struct progress *prog; /* counts the planned bytes read; may be NULL */
	unsigned cluster_bits;
	size_t cap; /* room for one compressed cluster */
	enum zpipe_codec codec;
	unsigned threads; /* 0: one per CPU */
	/* Takes each batch once every job in it has run, in guest order. */
	int (*take)(struct zpipe *pp, struct zpipe_batch *b);
	void *arg; /* the caller's, for take */
};

#define ZPIPE_SLOTS 4

struct zctx;

struct zpipe {
	struct zpipe_cfg cfg;
	struct pool pool;
	struct zctx *ctx;
	unsigned nctx;
	struct zpipe_batch slot[ZPIPE_SLOTS];
	size_t batch; /* clusters per slot */
	struct qcow2_runs runs;
	uint64_t c, c1, next; /* next: the clusters read so far */
	bool more;
	size_t ei;
	uint64_t redone; /* clusters our deflate got wrong, made by zlib instead */
};

/* One pass: reads, compresses and hands back every planned cluster (an
 * error unless there are expect of them). */
int zpipe_pass(const struct zpipe_cfg *cfg, uint64_t expect);
/* "zlib" or "zstd", for messages. */
const char *zpipe_codec_name(enum zpipe_codec c);

#endif
