/* The compressing pipe (see zpipe.h). The calling thread reads batches in
 * guest order and hands the finished ones, in the same order, to take();
 * workers compress. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "image/deflate.h"
#include "image/zpipe.h"
#include "util/bytes.h"
#include "util/err.h"

/* A qcow2 cluster is raw deflate that qemu inflates with a 4 KiB window:
 * our own encoder (deflate.c) keeps to it, at twice the speed of zlib held
 * to it at qemu-img's level 6, for output a little smaller than that.
 * Each cluster it makes is decoded back (libdeflate, another decoder than
 * the tests' zlib) before it is used: a cluster that does not give back
 * its input is made again by zlib, so that a fault of ours costs speed,
 * never data. That check costs about a seventh of the encoding's time. */
#define DEFLATE_LEVEL 6
#define DEFLATE_WINDOW_BITS (-12)
#define DEFLATE_MEM_LEVEL 8
/* A VMDK grain is the zlib format with the usual 32 KiB window: libdeflate
 * makes it at twice zlib's speed for output a little smaller than zlib's
 * at the same level (qemu-img's 6). */
#define GRAIN_LEVEL 6
#define ZSTD_LEVEL ZSTD_CLEVEL_DEFAULT /* qemu's */
/* Clusters are read and compressed in batches of this many bytes,
 * ZPIPE_SLOTS batches in flight. */
#define BATCH_BYTES (4u << 20)

/* One compression context per worker thread, reused cluster after cluster
 * (each gives the same bytes as a fresh context would). */
struct zctx {
	struct deflater *df;
	struct libdeflate_decompressor *check;
	uint8_t *back; /* a cluster, decoded back */
	z_stream zs;   /* where df's cluster did not decode back */
	bool zs_ready;
	ZSTD_CCtx *zc;
	struct libdeflate_compressor *ld;
};

const char *zpipe_codec_name(enum zpipe_codec c)
{
	return c == ZPIPE_ZSTD ? "zstd" : "zlib";
}

static int zctx_init(struct zctx *x, enum zpipe_codec c, size_t cluster)
{
	memset(x, 0, sizeof(*x));
	if (c == ZPIPE_ZLIB) {
		x->ld = libdeflate_alloc_compressor(GRAIN_LEVEL);
		return x->ld ? 0 : ferr(-ENOMEM, "cannot set up zlib compression: out of memory");
	}
	if (c == ZPIPE_DEFLATE) {
		x->df = deflater_new(cluster);
		x->check = libdeflate_alloc_decompressor();
		x->back = malloc(cluster);
		return x->df && x->check && x->back
			       ? 0
			       : ferr(-ENOMEM, "cannot set up zlib compression: out of memory");
	}
	x->zc = ZSTD_createCCtx();
	if (!x->zc)
		return ferr(-ENOMEM, "cannot set up zstd compression: out of memory");
	if (ZSTD_isError(ZSTD_CCtx_setParameter(x->zc, ZSTD_c_compressionLevel, ZSTD_LEVEL)))
		return ferr(-EINVAL, "cannot set the zstd compression level %d", ZSTD_LEVEL);
	return 0;
}

static void zctx_release(struct zctx *x)
{
	deflater_free(x->df);
	if (x->check)
		libdeflate_free_decompressor(x->check);
	free(x->back);
	if (x->zs_ready)
		deflateEnd(&x->zs);
	ZSTD_freeCCtx(x->zc);
	if (x->ld)
		libdeflate_free_compressor(x->ld);
	memset(x, 0, sizeof(*x));
}

static bool decodes_back(struct zctx *x, const uint8_t *z, size_t zlen, const uint8_t *in,
			 size_t n)
{
	size_t got = 0;

	return libdeflate_deflate_decompress(x->check, z, zlen, x->back, n, &got) ==
		       LIBDEFLATE_SUCCESS &&
	       got == n && memcmp(x->back, in, n) == 0;
}

/* The cluster by zlib held to qemu's window, at qemu-img's level. */
static void zlib_one(struct zctx *x, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
		     size_t *len, const char **why)
{
	int r;

	if (!x->zs_ready) {
		if (deflateInit2(&x->zs, DEFLATE_LEVEL, Z_DEFLATED, DEFLATE_WINDOW_BITS,
				 DEFLATE_MEM_LEVEL, Z_DEFAULT_STRATEGY) != Z_OK) {
			*why = x->zs.msg ? x->zs.msg : "deflateInit2 failed";
			return;
		}
		x->zs_ready = true;
	}
	deflateReset(&x->zs);
	x->zs.next_in = (Bytef *)in;
	x->zs.avail_in = (uInt)n;
	x->zs.next_out = out;
	x->zs.avail_out = (uInt)cap;
	r = deflate(&x->zs, Z_FINISH);
	if (r == Z_STREAM_END)
		*len = cap - x->zs.avail_out;
	else if (r != Z_OK && r != Z_BUF_ERROR)
		*why = x->zs.msg ? x->zs.msg : "deflate failed";
}

/* *len = 0 when the result would not fit in cap; *why names a failure;
 * *redone: our deflate's cluster did not decode back, zlib's was taken. */
static void compress_one(struct zctx *x, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
			 size_t *len, const char **why, bool *redone)
{
	*len = 0;
	if (x->ld) {
		/* 0: it does not fit */
		*len = libdeflate_zlib_compress(x->ld, in, n, out, cap);
	} else if (x->df) {
		/* 0: it does not fit */
		*len = deflater_compress(x->df, in, n, out, cap);
		if (*len && !decodes_back(x, out, *len, in, n)) {
			*len = 0;
			*redone = true;
			zlib_one(x, in, n, out, cap, len, why);
		}
	} else {
		size_t r = ZSTD_compress2(x->zc, out, cap, in, n);

		if (!ZSTD_isError(r))
			*len = r;
		else if (ZSTD_getErrorCode(r) != ZSTD_error_dstSize_tooSmall)
			*why = ZSTD_getErrorName(r);
	}
}

static void job_run(struct pool_task *t, unsigned worker)
{
	struct zpipe_job *j = (struct zpipe_job *)t;
	struct zpipe *pp = j->pp;
	size_t cs = (size_t)1 << pp->cfg.cluster_bits;

	j->why = NULL;
	j->len = 0;
	j->zero = bytes_zero(j->in, cs);
	if (!j->zero) {
		bool redone = false;

		compress_one(&pp->ctx[worker], j->in, cs, j->out, pp->cfg.cap, &j->len, &j->why,
			     &redone);
		if (redone)
			__atomic_fetch_add(&pp->redone, 1, __ATOMIC_RELAXED);
	}
}

static void zpipe_release(struct zpipe *pp)
{
	pool_stop(&pp->pool);
	for (unsigned i = 0; i < pp->nctx; i++)
		zctx_release(&pp->ctx[i]);
	free(pp->ctx);
	pp->ctx = NULL;
	pp->nctx = 0;
	for (int s = 0; s < ZPIPE_SLOTS; s++) {
		free(pp->slot[s].in);
		free(pp->slot[s].out);
		free(pp->slot[s].jobs);
		memset(&pp->slot[s], 0, sizeof(pp->slot[s]));
	}
}

static int zpipe_init(struct zpipe *pp, const struct zpipe_cfg *cfg)
{
	size_t cs = (size_t)1 << cfg->cluster_bits;
	unsigned threads = pool_threads(cfg->threads);
	int err;

	memset(pp, 0, sizeof(*pp));
	pp->cfg = *cfg;
	pp->runs = (struct qcow2_runs){cfg->p, cfg->cluster_bits, 0};
	pp->more = true;
	pp->batch = BATCH_BYTES > cs ? BATCH_BYTES / cs : 1;
	for (int s = 0; s < ZPIPE_SLOTS; s++) {
		pp->slot[s].in = malloc(pp->batch * cs);
		pp->slot[s].out = malloc(pp->batch * cfg->cap);
		pp->slot[s].jobs = calloc(pp->batch, sizeof(struct zpipe_job));
		if (!pp->slot[s].in || !pp->slot[s].out || !pp->slot[s].jobs)
			return ferr(-ENOMEM, "out of memory");
	}
	pp->ctx = calloc(threads, sizeof(*pp->ctx));
	if (!pp->ctx)
		return ferr(-ENOMEM, "out of memory");
	for (; pp->nctx < threads; pp->nctx++) {
		err = zctx_init(&pp->ctx[pp->nctx], cfg->codec, cs);
		if (err) {
			zctx_release(&pp->ctx[pp->nctx]);
			return err;
		}
	}
	return pool_start(&pp->pool, threads);
}

/* Reads the next batch of planned clusters; b->n = 0 at the end. */
static int feed(struct zpipe *pp, struct zpipe_batch *b)
{
	uint64_t cs = 1ull << pp->cfg.cluster_bits, vsize = pp->cfg.p->vsize;

	b->n = 0;
	b->first = pp->next;
	while (b->n < pp->batch && pp->more) {
		if (pp->c == pp->c1) {
			pp->more = qcow2_next_run(&pp->runs, &pp->c, &pp->c1);
			continue;
		}
		uint64_t k = pp->c1 - pp->c < pp->batch - b->n ? pp->c1 - pp->c : pp->batch - b->n;
		uint64_t start = pp->c * cs, len = k * cs;
		/* The last cluster may reach past the disk: pad it with zeros. */
		uint64_t in_len = start + len > vsize ? vsize - start : len;
		uint8_t *buf = b->in + b->n * cs;
		int err;

		memset(buf + in_len, 0, len - in_len);
		err = image_fill(pp->cfg.p, &pp->ei, pp->cfg.in, buf, start, in_len, pp->cfg.prog);
		if (err)
			return err;
		for (uint64_t i = 0; i < k; i++) {
			struct zpipe_job *j = &b->jobs[b->n + i];

			j->t.run = job_run;
			j->pp = pp;
			j->in = buf + i * cs;
			j->out = b->out + (b->n + i) * pp->cfg.cap;
			j->guest = pp->c + i;
		}
		b->n += k;
		pp->c += k;
		pp->next += k;
	}
	return 0;
}

static int take_slot(struct zpipe *pp, struct zpipe_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		struct zpipe_job *j = &b->jobs[i];

		pool_wait(&pp->pool, &j->t);
		if (j->why)
			return ferr(-EIO, "%s compression of the cluster at guest byte %llu failed: %s",
				    zpipe_codec_name(pp->cfg.codec),
				    (unsigned long long)(j->guest << pp->cfg.cluster_bits), j->why);
	}
	return pp->cfg.take(pp, b);
}

static int zpipe_run(struct zpipe *pp)
{
	uint64_t sent = 0, taken = 0;
	int err = 0;

	for (;;) {
		struct zpipe_batch *b = &pp->slot[sent % ZPIPE_SLOTS];

		if (sent - taken == ZPIPE_SLOTS) {
			err = take_slot(pp, &pp->slot[taken++ % ZPIPE_SLOTS]);
			if (err)
				return err;
		}
		err = feed(pp, b);
		if (err || b->n == 0)
			break;
		for (size_t i = 0; i < b->n; i++)
			pool_submit(&pp->pool, &b->jobs[i].t);
		sent++;
	}
	while (!err && taken < sent)
		err = take_slot(pp, &pp->slot[taken++ % ZPIPE_SLOTS]);
	return err;
}

int zpipe_pass(const struct zpipe_cfg *cfg, uint64_t expect)
{
	struct zpipe pp;
	int err = zpipe_init(&pp, cfg);

	if (!err)
		err = zpipe_run(&pp);
	zpipe_release(&pp);
	if (pp.redone)
		ferry_warn("%llu qcow2 clusters made by Ferry's deflate encoder did not decode back and "
			   "were compressed by zlib instead: the image is right, but this is a bug in "
			   "Ferry; please report it",
			   (unsigned long long)pp.redone);
	if (!err && pp.next != expect)
		err = ferr(-EIO, "internal: a compressing pass read %llu clusters, expected %llu",
			   (unsigned long long)pp.next, (unsigned long long)expect);
	return err;
}
