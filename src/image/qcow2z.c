/* Compressed qcow2 (zlib or zstd clusters), still strictly sequential. The
 * tables come first, so a first pass compresses every data cluster only to
 * learn its size; the second compresses again, checks each size and streams
 * header, refcounts, L1, L2 and the byte-packed clusters. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "image/qcow2.h"
#include "image/pool.h"
#include "util/config.h"
#include "util/endian.h"
#include "util/bytes.h"
#include "util/err.h"

/* qemu-img uses level 6 in its one pass; level 1 is about twice as fast
 * for an image some 7 % larger, so our two passes cost about what its one
 * does. */
#define ZLIB_LEVEL 1
#define ZLIB_WINDOW_BITS (-12) /* raw deflate, 4 KiB window: how qemu reads it */
#define ZLIB_MEM_LEVEL 9
#define ZSTD_LEVEL ZSTD_CLEVEL_DEFAULT /* qemu's */
/* Clusters are read and compressed in batches of this many bytes, SLOTS
 * batches in flight: memory stays a few tens of MiB whatever the disk. */
#define BATCH_BYTES (4u << 20)
#define SLOTS 4
#define REFCOUNT_MAX 0xffffu /* 16-bit refcounts */
#define SECTOR 512

/* One code per planned guest cluster, in guest order: 0 when all its bytes
 * are zero (left unallocated), the compressed length, or stored_code()
 * (cluster - 1) when it does not shrink. Compressed data is kept only up to
 * cluster - 2 bytes, so with 64 KiB clusters a code fits 16 bits. */
struct qz {
	struct qcow2_layout l;
	enum image_compress c;
	unsigned threads;
	uint64_t nclusters;
	uint16_t *code16;
	uint32_t *code32;
};

static uint32_t stored_code(const struct qz *z)
{
	return (uint32_t)(z->l.cluster - 1);
}

static uint32_t code_get(const struct qz *z, uint64_t i)
{
	return z->code16 ? z->code16[i] : z->code32[i];
}

static void code_set(struct qz *z, uint64_t i, uint32_t v)
{
	if (z->code16)
		z->code16[i] = (uint16_t)v;
	else
		z->code32[i] = v;
}

/* Where the data clusters land, relative to data_off (cluster-aligned, so
 * the packing does not depend on it). Compressed clusters are packed byte
 * after byte and may run into the next host cluster, as qemu packs them;
 * a stored cluster takes a host cluster of its own. refs counts the
 * compressed clusters touching the host cluster pos is in. */
struct place {
	uint64_t pos;
	uint32_t refs;
};

static uint64_t round_up(uint64_t a, uint64_t b)
{
	return div_round_up(a, b) * b;
}

/* Returns false for a zero cluster; else *off and *len of its bytes. */
static bool place_next(const struct qz *z, struct place *pl, uint32_t code, uint64_t *off,
		       uint64_t *len)
{
	uint64_t cs = z->l.cluster;

	if (code == 0)
		return false;
	if (code == stored_code(z)) {
		*off = round_up(pl->pos, cs);
		*len = cs;
		pl->pos = *off + cs;
		pl->refs = 0;
		return true;
	}
	/* A refcount must not wrap: a full host cluster is left behind. */
	if (pl->refs >= REFCOUNT_MAX) {
		pl->pos = round_up(pl->pos, cs);
		pl->refs = 0;
	}
	*off = pl->pos;
	*len = code;
	if (*off / cs == (*off + code - 1) / cs)
		pl->refs++;
	else
		pl->refs = 1;
	pl->pos += code;
	if (pl->pos % cs == 0)
		pl->refs = 0;
	return true;
}

/* The next allocated cluster after index *i, in host order. */
static bool next_placed(const struct qz *z, struct place *pl, uint64_t *i, uint64_t *off,
			uint64_t *len, uint32_t *code)
{
	while (*i < z->nclusters) {
		*code = code_get(z, (*i)++);
		if (place_next(z, pl, *code, off, len))
			return true;
	}
	return false;
}

/* One compression context per worker thread, reused cluster after cluster
 * (both libraries give the same bytes as a fresh context would). */
struct zctx {
	z_stream zs;
	bool zs_ready;
	ZSTD_CCtx *zc;
};

static int zctx_init(struct zctx *x, enum image_compress c)
{
	memset(x, 0, sizeof(*x));
	if (c == IMAGE_COMPRESS_ZLIB) {
		if (deflateInit2(&x->zs, ZLIB_LEVEL, Z_DEFLATED, ZLIB_WINDOW_BITS, ZLIB_MEM_LEVEL,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			return ferr(-ENOMEM, "cannot set up zlib compression: %s",
				    x->zs.msg ? x->zs.msg : "out of memory");
		x->zs_ready = true;
		return 0;
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
	if (x->zs_ready)
		deflateEnd(&x->zs);
	ZSTD_freeCCtx(x->zc);
	memset(x, 0, sizeof(*x));
}

/* *len = 0 when the result would not fit in cap; *why names a failure. */
static void compress_one(struct zctx *x, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
			 size_t *len, const char **why)
{
	*len = 0;
	if (x->zs_ready) {
		int r;

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
	} else {
		size_t r = ZSTD_compress2(x->zc, out, cap, in, n);

		if (!ZSTD_isError(r))
			*len = r;
		else if (ZSTD_getErrorCode(r) != ZSTD_error_dstSize_tooSmall)
			*why = ZSTD_getErrorName(r);
	}
}

struct pipe;

struct zjob {
	struct pool_task t; /* first: the pool hands this back */
	struct pipe *pp;
	const uint8_t *in;
	uint8_t *out;
	uint64_t guest; /* guest cluster number, for messages */
	uint32_t code;
	const char *why; /* the codec failed */
};

struct slot {
	uint8_t *in, *out;
	struct zjob *jobs;
	size_t n;
	uint64_t first; /* index of its first cluster in the codes */
};

/* Both passes: the calling thread reads batches in guest order and hands
 * the finished ones, in the same order, to take(); workers compress. */
struct pipe {
	struct qz *z;
	const struct plan *p;
	const struct image_input *in;
	struct progress *prog;
	struct pool pool;
	struct zctx *ctx;
	unsigned nctx;
	struct slot slot[SLOTS];
	size_t batch; /* clusters per slot */
	struct qcow2_runs runs;
	uint64_t c, c1, next;
	bool more;
	size_t ei;
	int (*take)(struct pipe *pp, struct slot *s);
	/* the writing pass */
	struct image_out *out;
	uint64_t base;
	struct place pl;
};

static void job_run(struct pool_task *t, unsigned worker)
{
	struct zjob *j = (struct zjob *)t;
	struct qz *z = j->pp->z;
	size_t cs = z->l.cluster, len;

	j->why = NULL;
	if (bytes_zero(j->in, cs)) {
		j->code = 0;
		return;
	}
	compress_one(&j->pp->ctx[worker], j->in, cs, j->out, cs - 2, &len, &j->why);
	j->code = len ? (uint32_t)len : stored_code(z);
}

static void pipe_release(struct pipe *pp)
{
	pool_stop(&pp->pool);
	for (unsigned i = 0; i < pp->nctx; i++)
		zctx_release(&pp->ctx[i]);
	free(pp->ctx);
	for (int s = 0; s < SLOTS; s++) {
		free(pp->slot[s].in);
		free(pp->slot[s].out);
		free(pp->slot[s].jobs);
	}
}

static int pipe_init(struct pipe *pp, struct qz *z, const struct plan *p,
		     const struct image_input *in, struct progress *prog)
{
	size_t cs = z->l.cluster;
	unsigned threads = pool_threads(z->threads);
	int err;

	memset(pp, 0, sizeof(*pp));
	pp->z = z;
	pp->p = p;
	pp->in = in;
	pp->prog = prog;
	pp->runs = (struct qcow2_runs){p, z->l.cluster_bits, 0};
	pp->more = true;
	pp->batch = BATCH_BYTES > cs ? BATCH_BYTES / cs : 1;
	for (int s = 0; s < SLOTS; s++) {
		pp->slot[s].in = malloc(pp->batch * cs);
		pp->slot[s].out = malloc(pp->batch * cs);
		pp->slot[s].jobs = calloc(pp->batch, sizeof(struct zjob));
		if (!pp->slot[s].in || !pp->slot[s].out || !pp->slot[s].jobs)
			return ferr(-ENOMEM, "out of memory");
	}
	pp->ctx = calloc(threads, sizeof(*pp->ctx));
	if (!pp->ctx)
		return ferr(-ENOMEM, "out of memory");
	for (; pp->nctx < threads; pp->nctx++) {
		err = zctx_init(&pp->ctx[pp->nctx], z->c);
		if (err) {
			zctx_release(&pp->ctx[pp->nctx]);
			return err;
		}
	}
	return pool_start(&pp->pool, threads);
}

/* Reads the next batch of planned clusters; s->n = 0 at the end. */
static int feed(struct pipe *pp, struct slot *s)
{
	uint64_t cs = pp->z->l.cluster, vsize = pp->p->vsize;

	s->n = 0;
	s->first = pp->next;
	while (s->n < pp->batch && pp->more) {
		if (pp->c == pp->c1) {
			pp->more = qcow2_next_run(&pp->runs, &pp->c, &pp->c1);
			continue;
		}
		uint64_t k = pp->c1 - pp->c < pp->batch - s->n ? pp->c1 - pp->c : pp->batch - s->n;
		uint64_t start = pp->c * cs, len = k * cs;
		/* The last cluster may reach past the disk: pad it with zeros. */
		uint64_t in_len = start + len > vsize ? vsize - start : len;
		uint8_t *buf = s->in + s->n * cs;
		int err;

		memset(buf + in_len, 0, len - in_len);
		err = image_fill(pp->p, &pp->ei, pp->in, buf, start, in_len, pp->prog);
		if (err)
			return err;
		for (uint64_t i = 0; i < k; i++) {
			struct zjob *j = &s->jobs[s->n + i];

			j->t.run = job_run;
			j->pp = pp;
			j->in = buf + i * cs;
			j->out = s->out + (s->n + i) * cs;
			j->guest = pp->c + i;
		}
		s->n += k;
		pp->c += k;
		pp->next += k;
	}
	return 0;
}

static int take_slot(struct pipe *pp, struct slot *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct zjob *j = &s->jobs[i];

		pool_wait(&pp->pool, &j->t);
		if (j->why)
			return ferr(-EIO, "%s compression of the cluster at guest byte %llu failed: %s",
				    image_compress_name(pp->z->c),
				    (unsigned long long)(j->guest << pp->z->l.cluster_bits), j->why);
	}
	return pp->take(pp, s);
}

static int pipe_run(struct pipe *pp)
{
	uint64_t sent = 0, taken = 0;
	int err = 0;

	for (;;) {
		struct slot *s = &pp->slot[sent % SLOTS];

		if (sent - taken == SLOTS) {
			err = take_slot(pp, &pp->slot[taken++ % SLOTS]);
			if (err)
				return err;
		}
		err = feed(pp, s);
		if (err || s->n == 0)
			break;
		for (size_t i = 0; i < s->n; i++)
			pool_submit(&pp->pool, &s->jobs[i].t);
		sent++;
	}
	while (!err && taken < sent)
		err = take_slot(pp, &pp->slot[taken++ % SLOTS]);
	return err;
}

static int take_sizes(struct pipe *pp, struct slot *s)
{
	for (size_t i = 0; i < s->n; i++)
		code_set(pp->z, s->first + i, s->jobs[i].code);
	return 0;
}

/* From the codes: which L2 tables exist, the data's end, then the rest. */
static int finish_layout(struct qz *z, const struct plan *p)
{
	struct qcow2_runs it = {p, z->l.cluster_bits, 0};
	struct qcow2_layout *l = &z->l;
	uint64_t l2_entries = l->cluster / 8, i = 0, c0, c1, off, len;
	unsigned csize_shift = 62 - (l->cluster_bits - 8);
	struct place pl = {0, 0};

	memset(l->region_count, 0, l->l1_size * sizeof(*l->region_count));
	while (qcow2_next_run(&it, &c0, &c1))
		for (uint64_t c = c0; c < c1; c++)
			if (place_next(z, &pl, code_get(z, i++), &off, &len))
				l->region_count[c / l2_entries]++;
	l->l2_tables = 0;
	for (uint64_t r = 0; r < l->l1_size; r++)
		l->l2_tables += l->region_count[r] != 0;
	l->data_clusters = div_round_up(pl.pos, l->cluster);
	qcow2_layout_finish(l);
	/* A compressed cluster's offset has csize_shift bits in its L2 entry. */
	if ((l->total_clusters * l->cluster) >> csize_shift)
		return ferr(-EFBIG, "a compressed image of %llu clusters is too large for "
			    "qcow2 with %llu-byte clusters", (unsigned long long)l->total_clusters,
			    (unsigned long long)l->cluster);
	return 0;
}

int qcow2z_prepare(struct image_writer *w, struct progress *prog)
{
	struct pipe pp;
	struct qz *z;
	size_t width;
	int err;

	z = calloc(1, sizeof(*z));
	if (!z)
		return ferr(-ENOMEM, "out of memory");
	w->priv = z;
	z->c = w->o.compress;
	z->threads = w->o.threads;
	/* The plain layout gives the L1 size and the number of planned clusters. */
	err = qcow2_layout(&z->l, w->p, CONFIG_FERRY_QCOW2_CLUSTER_BITS);
	if (err)
		return err;
	z->nclusters = z->l.data_clusters;
	width = z->l.cluster_bits <= 16 ? sizeof(uint16_t) : sizeof(uint32_t);
	if (z->nclusters > SIZE_MAX / width)
		return ferr(-EFBIG, "too many clusters to compress: %llu",
			    (unsigned long long)z->nclusters);
	if (width == sizeof(uint16_t))
		z->code16 = malloc(z->nclusters ? z->nclusters * width : 1);
	else
		z->code32 = malloc(z->nclusters ? z->nclusters * width : 1);
	if (!z->code16 && !z->code32)
		return ferr(-ENOMEM, "out of memory for the sizes of %llu clusters",
			    (unsigned long long)z->nclusters);
	err = pipe_init(&pp, z, w->p, w->in, prog);
	if (!err) {
		pp.take = take_sizes;
		err = pipe_run(&pp);
	}
	pipe_release(&pp);
	if (!err && pp.next != z->nclusters)
		err = ferr(-EIO, "internal: the sizing pass read %llu clusters, expected %llu",
			   (unsigned long long)pp.next, (unsigned long long)z->nclusters);
	if (!err)
		err = finish_layout(z, w->p);
	if (!err)
		w->length = z->l.total_clusters * z->l.cluster;
	return err;
}

static void add_ref(uint8_t *e)
{
	put_be16(e, (uint16_t)(((unsigned)e[0] << 8 | e[1]) + 1));
}

static int write_refblocks(const struct qz *z, struct image_out *out, uint8_t *buf)
{
	const struct qcow2_layout *l = &z->l;
	uint64_t cs = l->cluster, per_rb = cs / 2, meta = l->data_off / cs;
	uint64_t i = 0, off, len, h0 = 0, h1 = 0;
	struct place pl = {0, 0};
	bool have = false;
	uint32_t code;
	int err = 0;

	for (uint64_t b = 0; b < l->rb_clusters && !err; b++) {
		uint64_t first = b * per_rb, end = first + per_rb;

		memset(buf, 0, cs);
		for (uint64_t h = first; h < end && h < meta; h++)
			put_be16(buf + (h - first) * 2, 1);
		for (;;) {
			if (!have) {
				if (!next_placed(z, &pl, &i, &off, &len, &code))
					break;
				h0 = meta + off / cs;
				h1 = meta + (off + len - 1) / cs;
				have = true;
			}
			if (h0 >= end)
				break;
			for (uint64_t h = h0; h <= h1 && h < end; h++)
				add_ref(buf + (h - first) * 2);
			if (h1 >= end) {
				h0 = end; /* the rest counts in the next block */
				break;
			}
			have = false;
		}
		err = image_out_write(out, buf, cs);
	}
	return err;
}

static int write_l2(const struct qz *z, const struct plan *p, struct image_out *out, uint8_t *buf)
{
	const struct qcow2_layout *l = &z->l;
	struct qcow2_runs it = {p, l->cluster_bits, 0};
	uint64_t l2_entries = l->cluster / 8, region = UINT64_MAX, i = 0, c0, c1, off, len;
	unsigned csize_shift = 62 - (l->cluster_bits - 8);
	struct place pl = {0, 0};
	int err = 0;

	while (!err && qcow2_next_run(&it, &c0, &c1)) {
		for (uint64_t c = c0; c < c1 && !err; c++) {
			uint32_t code = code_get(z, i++);
			uint64_t host, e;

			if (!place_next(z, &pl, code, &off, &len))
				continue;
			if (c / l2_entries != region) {
				if (region != UINT64_MAX)
					err = image_out_write(out, buf, l->cluster);
				region = c / l2_entries;
				memset(buf, 0, l->cluster);
			}
			host = l->data_off + off;
			if (code == stored_code(z)) {
				e = host | QCOW2_COPIED;
			} else {
				/* Sectors after the one the data starts in. */
				uint64_t more = (host + len - 1) / SECTOR - host / SECTOR;
				e = QCOW2_COMPRESSED | more << csize_shift | host;
			}
			put_be64(buf + (c % l2_entries) * 8, e);
		}
	}
	if (!err && region != UINT64_MAX)
		err = image_out_write(out, buf, l->cluster);
	return err;
}

static void code_str(const struct qz *z, uint32_t code, char *buf, size_t len)
{
	if (code == 0)
		snprintf(buf, len, "all zeros");
	else if (code == stored_code(z))
		snprintf(buf, len, "stored uncompressed");
	else
		snprintf(buf, len, "%u bytes", code);
}

static int take_write(struct pipe *pp, struct slot *s)
{
	const struct qz *z = pp->z;
	uint64_t off, len;
	int err = 0;

	for (size_t i = 0; i < s->n && !err; i++) {
		const struct zjob *j = &s->jobs[i];
		uint32_t want = code_get(z, s->first + i);

		if (j->code != want) {
			char now[32], then[32];

			code_str(z, j->code, now, sizeof(now));
			code_str(z, want, then, sizeof(then));
			return ferr(-EIO, "internal: the cluster at guest byte %llu compressed to %s, "
				    "but to %s when the image was sized (did the source change?)",
				    (unsigned long long)(j->guest << z->l.cluster_bits), now, then);
		}
		if (!place_next(z, &pp->pl, j->code, &off, &len))
			continue;
		off += z->l.data_off;
		if (pp->out->pos - pp->base > off)
			return ferr(-EIO, "internal: compressed qcow2 data at %llu overlaps %llu",
				    (unsigned long long)off,
				    (unsigned long long)(pp->out->pos - pp->base));
		err = image_out_skip(pp->out, off - (pp->out->pos - pp->base));
		if (!err)
			err = image_out_write(pp->out, j->code == stored_code(z) ? j->in : j->out, len);
	}
	return err;
}

int qcow2z_write(struct image_writer *w, struct image_out *out, struct progress *prog)
{
	struct qz *z = w->priv;
	uint64_t base = out->pos;
	struct pipe pp;
	uint8_t *buf;
	int err;

	buf = malloc(z->l.cluster);
	if (!buf)
		return ferr(-ENOMEM, "out of memory");
	err = qcow2_write_header(&z->l, w->p->vsize, z->c, out, buf);
	if (!err)
		err = qcow2_write_reftable(&z->l, out, buf);
	if (!err)
		err = write_refblocks(z, out, buf);
	if (!err)
		err = qcow2_write_l1(&z->l, out, buf);
	if (!err)
		err = write_l2(z, w->p, out, buf);
	free(buf);
	if (!err && out->pos - base != z->l.data_off)
		err = ferr(-EIO, "internal: compressed qcow2 tables end at %llu, expected %llu",
			   (unsigned long long)(out->pos - base), (unsigned long long)z->l.data_off);
	if (err)
		return err;
	err = pipe_init(&pp, z, w->p, w->in, prog);
	if (!err) {
		pp.take = take_write;
		pp.out = out;
		pp.base = base;
		err = pipe_run(&pp);
	}
	pipe_release(&pp);
	/* The last host cluster is padded to its end. */
	if (!err && out->pos - base <= w->length)
		err = image_out_skip(out, w->length - (out->pos - base));
	if (!err && out->pos - base != w->length)
		err = ferr(-EIO, "internal: compressed qcow2 writer wrote %llu bytes, expected %llu",
			   (unsigned long long)(out->pos - base), (unsigned long long)w->length);
	return err;
}

void qcow2z_release(struct image_writer *w)
{
	struct qz *z = w->priv;

	if (!z)
		return;
	free(z->l.region_count);
	free(z->code16);
	free(z->code32);
	free(z);
	w->priv = NULL;
}
