/* Compressed qcow2 (zlib or zstd clusters).
 *
 * Into a target that can rewrite what it has taken (a regular file, an
 * s3:// upload that holds its first part back) the image goes in one
 * pass: room for the tables is left where the plain layout puts them
 * (every planned cluster allocated, so they always fit), the data clusters
 * follow in guest order as they come, and the tables are written into the
 * room at the end. What the tables do not fill stays a hole (zeros in an
 * upload), counted by no refcount.
 *
 * Anything else (a FIFO, a presigned PUT) takes the compressed image strictly in
 * order: a first pass compresses every data cluster only to learn its
 * size; the second compresses again, checks each size and streams header,
 * refcounts, L1, L2 and the byte-packed clusters. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/qcow2.h"
#include "image/zpipe.h"
#include "util/config.h"
#include "util/endian.h"
#include "util/bytes.h"
#include "util/err.h"

#define REFCOUNT_MAX 0xffffu /* 16-bit refcounts */
#define SECTOR 512

/* One code per planned guest cluster, in guest order: 0 when all its bytes
 * are zero (left unallocated), the compressed length, or stored_code()
 * (cluster - 1) when it does not shrink. Compressed data is kept only up to
 * cluster - 2 bytes, so with 64 KiB clusters a code fits 16 bits. */
struct wpass;

struct qz {
	struct qcow2_layout l;
	enum image_compress c;
	bool late; /* one pass, the tables written last */
	unsigned threads;
	uint64_t nclusters;
	uint16_t *code16;
	uint32_t *code32;
	struct wpass *wp; /* while the image is written */
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

/* The writing pass's own state, beside the pipe. */
struct wpass {
	struct image_out *out;
	uint64_t base;
	struct place pl;
};

/* A cluster's code from what the pipe made of it. */
static uint32_t job_code(const struct qz *z, const struct zpipe_job *j)
{
	return j->zero ? 0 : j->len ? (uint32_t)j->len : stored_code(z);
}

static void pipe_cfg(struct zpipe_cfg *cfg, struct qz *z, const struct plan *p,
		     const struct image_input *in, struct progress *prog)
{
	*cfg = (struct zpipe_cfg){
		.p = p, .in = in, .prog = prog, .cluster_bits = z->l.cluster_bits,
		/* compressed data is kept only up to cluster - 2 bytes */
		.cap = (size_t)z->l.cluster - 2,
		.codec = z->c == IMAGE_COMPRESS_ZSTD ? ZPIPE_ZSTD : ZPIPE_DEFLATE,
		.threads = z->threads, .arg = z,
	};
}

static int take_sizes(struct zpipe *pp, struct zpipe_batch *b)
{
	struct qz *z = pp->cfg.arg;

	for (size_t i = 0; i < b->n; i++)
		code_set(z, b->first + i, job_code(z, &b->jobs[i]));
	return 0;
}

/* From the codes: the allocated clusters per L2 region, and where the
 * data ends (relative to data_off). */
static uint64_t count_regions(struct qz *z, const struct plan *p)
{
	struct qcow2_runs it = {p, z->l.cluster_bits, 0};
	struct qcow2_layout *l = &z->l;
	uint64_t l2_entries = l->cluster / 8, i = 0, c0, c1, off, len;
	struct place pl = {0, 0};

	memset(l->region_count, 0, l->l1_size * sizeof(*l->region_count));
	while (qcow2_next_run(&it, &c0, &c1))
		for (uint64_t c = c0; c < c1; c++)
			if (place_next(z, &pl, code_get(z, i++), &off, &len))
				l->region_count[c / l2_entries]++;
	l->l2_tables = 0;
	for (uint64_t r = 0; r < l->l1_size; r++)
		l->l2_tables += l->region_count[r] != 0;
	return pl.pos;
}

/* A compressed cluster's offset has csize_shift bits in its L2 entry. */
static int check_offsets(const struct qz *z)
{
	const struct qcow2_layout *l = &z->l;
	unsigned csize_shift = 62 - (l->cluster_bits - 8);

	if ((l->total_clusters * l->cluster) >> csize_shift)
		return ferr(-EFBIG, "a compressed image of %llu clusters is too large for "
			    "qcow2 with %llu-byte clusters", (unsigned long long)l->total_clusters,
			    (unsigned long long)l->cluster);
	return 0;
}

/* Sized first: the tables as the codes need them, the data right after. */
static int finish_layout(struct qz *z, const struct plan *p)
{
	z->l.data_clusters = div_round_up(count_regions(z, p), z->l.cluster);
	qcow2_layout_finish(&z->l);
	return check_offsets(z);
}

/* Written in one pass: the tables in the room the plain layout left
 * before data_off, which stays where it was. The refcount blocks that
 * room holds cover every planned cluster allocated, so they cover these. */
static int finish_late_layout(struct qz *z, const struct plan *p)
{
	struct qcow2_layout *l = &z->l;
	uint64_t room = l->data_off / l->cluster;

	l->data_clusters = div_round_up(count_regions(z, p), l->cluster);
	l->total_clusters = room + l->data_clusters;
	if (l->l2_off + l->l2_tables * l->cluster > l->data_off ||
	    l->total_clusters > l->rb_clusters * (l->cluster / 2))
		return ferr(-EIO, "internal: qcow2 tables for %llu clusters do not fit the room "
			    "left for them", (unsigned long long)l->total_clusters);
	return check_offsets(z);
}

int qcow2z_prepare(struct image_writer *w, struct progress *prog)
{
	struct zpipe_cfg cfg;
	struct qz *z;
	size_t width;
	int err;

	z = calloc(1, sizeof(*z));
	if (!z)
		return ferr(-ENOMEM, "out of memory");
	w->priv = z;
	z->c = w->o.compress;
	z->late = w->o.patch;
	z->threads = w->o.threads;
	/* The plain layout gives the L1 size and the number of planned
	 * clusters (and, written in one pass, the room for the tables). */
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
	if (z->late) {
		/* Every planned cluster stored whole: the longest it can be. */
		w->length_max = z->l.total_clusters * z->l.cluster;
		w->head = z->l.data_off;
		return 0;
	}
	pipe_cfg(&cfg, z, w->p, w->in, prog);
	cfg.take = take_sizes;
	err = zpipe_pass(&cfg, z->nclusters);
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
	uint64_t cs = l->cluster, per_rb = cs / 2, data = l->data_off / cs;
	/* Header, refcounts, L1 and L2; with the tables written last, the
	 * room they leave before data_off is no cluster's. */
	uint64_t meta = l->l2_off / cs + l->l2_tables;
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
				h0 = data + off / cs;
				h1 = data + (off + len - 1) / cs;
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

static int take_write(struct zpipe *pp, struct zpipe_batch *b)
{
	struct qz *z = pp->cfg.arg;
	struct wpass *wp = z->wp;
	uint64_t off, len;
	int err = 0;

	for (size_t i = 0; i < b->n && !err; i++) {
		const struct zpipe_job *j = &b->jobs[i];
		uint32_t got = job_code(z, j), want = z->late ? got : code_get(z, b->first + i);

		if (got != want) {
			char now[32], then[32];

			code_str(z, got, now, sizeof(now));
			code_str(z, want, then, sizeof(then));
			return ferr(-EIO, "internal: the cluster at guest byte %llu compressed to %s, "
				    "but to %s when the image was sized (did the source change?)",
				    (unsigned long long)(j->guest << z->l.cluster_bits), now, then);
		}
		if (z->late)
			code_set(z, b->first + i, got);
		if (!place_next(z, &wp->pl, got, &off, &len))
			continue;
		off += z->l.data_off;
		if (wp->out->pos - wp->base > off)
			return ferr(-EIO, "internal: qcow2 data at %llu overlaps %llu",
				    (unsigned long long)off,
				    (unsigned long long)(wp->out->pos - wp->base));
		err = image_out_skip(wp->out, off - (wp->out->pos - wp->base));
		if (!err)
			err = image_out_write(wp->out, got == stored_code(z) ? j->in : j->out, len);
	}
	return err;
}

/* Header, refcounts, L1 and L2, as the codes place the data. */
static int write_tables(const struct qz *z, const struct plan *p, struct image_out *out)
{
	uint8_t *buf = malloc(z->l.cluster);
	int err;

	if (!buf)
		return ferr(-ENOMEM, "out of memory");
	err = qcow2_write_header(&z->l, p->vsize, z->c, out, buf);
	if (!err)
		err = qcow2_write_reftable(&z->l, out, buf);
	if (!err)
		err = write_refblocks(z, out, buf);
	if (!err)
		err = qcow2_write_l1(&z->l, out, buf);
	if (!err)
		err = write_l2(z, p, out, buf);
	free(buf);
	return err;
}

/* Every data cluster through the pipe into out, after what is there. */
static int write_data(struct qz *z, const struct image_writer *w, struct image_out *out,
		      struct progress *prog)
{
	struct wpass wp = {out, out->pos - z->l.data_off, {0, 0}};
	struct zpipe_cfg cfg;
	int err;

	pipe_cfg(&cfg, z, w->p, w->in, prog);
	cfg.take = take_write;
	z->wp = &wp;
	err = zpipe_pass(&cfg, z->nclusters);
	z->wp = NULL;
	return err;
}

/* The tables, written last into the room before the data. */
struct patch_at {
	struct image_out *out;
	uint64_t at;
};

static int patch_write(void *ctx, const void *buf, size_t len)
{
	struct patch_at *pa = ctx;
	int err = pa->out->patch(pa->out->ctx, pa->at, buf, len);

	if (!err)
		pa->at += len;
	return err;
}

static int write_late(struct image_writer *w, struct image_out *out, struct progress *prog)
{
	struct qz *z = w->priv;
	uint64_t base = out->pos, length;
	struct patch_at pa = {out, base};
	struct image_out tables = {.write = patch_write, .ctx = &pa};
	int err;

	if (!out->patch)
		return ferr(-EINVAL, "internal: a qcow2 with its tables last needs a target that "
			    "can rewrite them");
	err = image_out_skip(out, z->l.data_off);
	if (!err)
		err = write_data(z, w, out, prog);
	if (!err)
		err = finish_late_layout(z, w->p);
	if (err)
		return err;
	/* The last host cluster is padded to its end. */
	length = z->l.total_clusters * z->l.cluster;
	if (out->pos - base > length)
		return ferr(-EIO, "internal: qcow2 data ends at %llu, past %llu",
			    (unsigned long long)(out->pos - base), (unsigned long long)length);
	err = image_out_skip(out, length - (out->pos - base));
	if (!err)
		err = write_tables(z, w->p, &tables);
	if (!err && tables.pos != z->l.l2_off + z->l.l2_tables * z->l.cluster)
		err = ferr(-EIO, "internal: qcow2 tables end at %llu, expected %llu",
			   (unsigned long long)tables.pos,
			   (unsigned long long)(z->l.l2_off + z->l.l2_tables * z->l.cluster));
	if (!err)
		w->length = length;
	return err;
}

int qcow2z_write(struct image_writer *w, struct image_out *out, struct progress *prog)
{
	struct qz *z = w->priv;
	uint64_t base = out->pos;
	int err;

	if (z->late)
		return write_late(w, out, prog);
	err = write_tables(z, w->p, out);
	if (!err && out->pos - base != z->l.data_off)
		err = ferr(-EIO, "internal: compressed qcow2 tables end at %llu, expected %llu",
			   (unsigned long long)(out->pos - base), (unsigned long long)z->l.data_off);
	if (!err)
		err = write_data(z, w, out, prog);
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
