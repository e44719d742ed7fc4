/* A strictly sequential qcow2 (version 3) writer. The plan is known up
 * front, so every table can be computed before the data: header, refcount
 * table, refcount blocks, L1, L2 tables, then the data clusters in guest
 * order. Nothing is ever written twice, so the output can be a FIFO; in a
 * file, a cluster's 4 KiB blocks of zeros are holes. The
 * compressed writer (qcow2z.c) shares the cluster walk, header and L1. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/qcow2.h"
#include "util/config.h"
#include "util/endian.h"
#include "util/err.h"

#define QCOW2_HEADER_LEN 104
/* With a compression type field (zstd needs it). */
#define QCOW2_HEADER_LEN_CTYPE 112
#define QCOW2_INCOMPAT_CTYPE (1ull << 3)
#define DATA_BATCH (4u << 20)

bool qcow2_next_run(struct qcow2_runs *it, uint64_t *c0, uint64_t *c1)
{
	const struct plan *p = it->p;
	uint64_t cs = 1ull << it->bits;

	if (it->i >= p->n)
		return false;
	*c0 = p->ext[it->i].off >> it->bits;
	*c1 = div_round_up(p->ext[it->i].off + p->ext[it->i].len, cs);
	for (it->i++; it->i < p->n && (p->ext[it->i].off >> it->bits) <= *c1; it->i++) {
		uint64_t end = div_round_up(p->ext[it->i].off + p->ext[it->i].len, cs);
		if (end > *c1)
			*c1 = end;
	}
	return true;
}

int qcow2_layout(struct qcow2_layout *l, const struct plan *p, unsigned cluster_bits)
{
	struct qcow2_runs it = {p, cluster_bits, 0};
	uint64_t c0, c1, l2_entries;

	memset(l, 0, sizeof(*l));
	l->cluster_bits = cluster_bits;
	l->cluster = 1ull << cluster_bits;
	l2_entries = l->cluster / 8;
	l->l1_size = div_round_up(div_round_up(p->vsize, l->cluster), l2_entries);
	if (l->l1_size == 0)
		l->l1_size = 1;
	if (l->l1_size > (32u << 20) / 8)
		return ferr(-EFBIG, "a disk of %llu bytes is too large for qcow2 with %llu-byte "
			    "clusters", (unsigned long long)p->vsize, (unsigned long long)l->cluster);
	l->region_count = calloc(l->l1_size, sizeof(*l->region_count));
	if (!l->region_count)
		return ferr(-ENOMEM, "out of memory");
	while (qcow2_next_run(&it, &c0, &c1)) {
		for (uint64_t c = c0; c < c1; c++)
			l->region_count[c / l2_entries]++;
		l->data_clusters += c1 - c0;
	}
	for (uint64_t r = 0; r < l->l1_size; r++)
		l->l2_tables += l->region_count[r] != 0;
	qcow2_layout_finish(l);
	return 0;
}

int qcow2_fit_layout(struct qcow2_layout *l, const struct plan *p)
{
	int err = qcow2_layout(l, p, CONFIG_FERRY_QCOW2_CLUSTER_BITS);

	for (unsigned bits = CONFIG_FERRY_QCOW2_CLUSTER_BITS - 1; !err && bits >= QCOW2_MIN_BITS;
	     bits--) {
		struct qcow2_layout t;

		if (qcow2_layout(&t, p, bits))
			break; /* too many tables for a disk this large */
		uint64_t was = l->total_clusters * l->cluster, now = t.total_clusters * t.cluster;

		if (now * 20 <= was * 19 && was - now >= QCOW2_FIT_MIN_SAVING) {
			free(l->region_count);
			*l = t;
		} else {
			free(t.region_count);
		}
	}
	return err;
}

void qcow2_layout_finish(struct qcow2_layout *l)
{
	uint64_t fixed, per_rb;

	l->rt_clusters = l->rb_clusters = 0;
	l->l1_clusters = div_round_up(l->l1_size * 8, l->cluster);
	fixed = 1 + l->l1_clusters + l->l2_tables + l->data_clusters;
	per_rb = l->cluster / 2; /* 16-bit refcounts */
	/* The refcount structures count themselves: iterate to a fixed point. */
	for (;;) {
		uint64_t total = fixed + l->rt_clusters + l->rb_clusters;
		uint64_t rb = div_round_up(total, per_rb);
		uint64_t rt = div_round_up(rb * 8, l->cluster);
		if (rb == l->rb_clusters && rt == l->rt_clusters)
			break;
		l->rb_clusters = rb;
		l->rt_clusters = rt;
	}
	l->total_clusters = fixed + l->rt_clusters + l->rb_clusters;
	l->rt_off = l->cluster;
	l->rb_off = l->rt_off + l->rt_clusters * l->cluster;
	l->l1_off = l->rb_off + l->rb_clusters * l->cluster;
	l->l2_off = l->l1_off + l->l1_clusters * l->cluster;
	l->data_off = l->l2_off + l->l2_tables * l->cluster;
}

int qcow2_write_header(const struct qcow2_layout *l, uint64_t vsize, enum image_compress c,
		       struct image_out *out, uint8_t *buf)
{
	memset(buf, 0, l->cluster);
	put_be32(buf + 0, QCOW2_MAGIC);
	put_be32(buf + 4, 3);
	put_be32(buf + 20, l->cluster_bits);
	put_be64(buf + 24, vsize);
	put_be32(buf + 36, (uint32_t)l->l1_size);
	put_be64(buf + 40, l->l1_off);
	put_be64(buf + 48, l->rt_off);
	put_be32(buf + 56, (uint32_t)l->rt_clusters);
	put_be32(buf + 96, 4); /* refcount_order: 16-bit refcounts */
	put_be32(buf + 100, QCOW2_HEADER_LEN);
	/* zlib is the default compression and needs no field, so that
	 * readers older than qemu 5.1 take the image; zstd is flagged
	 * incompatible for them. */
	if (c == IMAGE_COMPRESS_ZSTD) {
		put_be64(buf + 72, QCOW2_INCOMPAT_CTYPE);
		put_be32(buf + 100, QCOW2_HEADER_LEN_CTYPE);
		buf[104] = 1;
	}
	/* The zeros after the header are the end-of-extensions marker. */
	return image_out_write(out, buf, l->cluster);
}

int qcow2_write_reftable(const struct qcow2_layout *l, struct image_out *out, uint8_t *buf)
{
	int err = 0;

	for (uint64_t c = 0; c < l->rt_clusters && !err; c++) {
		memset(buf, 0, l->cluster);
		for (uint64_t e = 0; e < l->cluster / 8; e++) {
			uint64_t rb = c * (l->cluster / 8) + e;
			if (rb < l->rb_clusters)
				put_be64(buf + e * 8, l->rb_off + rb * l->cluster);
		}
		err = image_out_write(out, buf, l->cluster);
	}
	return err;
}

static int write_refcounts(const struct qcow2_layout *l, struct image_out *out, uint8_t *buf)
{
	uint64_t per_rb = l->cluster / 2, done = 0;
	int err = qcow2_write_reftable(l, out, buf);

	for (uint64_t b = 0; b < l->rb_clusters && !err; b++) {
		memset(buf, 0, l->cluster);
		for (uint64_t e = 0; e < per_rb && done < l->total_clusters; e++, done++)
			put_be16(buf + e * 2, 1);
		err = image_out_write(out, buf, l->cluster);
	}
	return err;
}

int qcow2_write_l1(const struct qcow2_layout *l, struct image_out *out, uint8_t *buf)
{
	uint64_t next_l2 = l->l2_off;
	int err = 0;

	for (uint64_t c = 0; c < l->l1_clusters && !err; c++) {
		memset(buf, 0, l->cluster);
		for (uint64_t e = 0; e < l->cluster / 8; e++) {
			uint64_t r = c * (l->cluster / 8) + e;
			if (r < l->l1_size && l->region_count[r]) {
				put_be64(buf + e * 8, next_l2 | QCOW2_COPIED);
				next_l2 += l->cluster;
			}
		}
		err = image_out_write(out, buf, l->cluster);
	}
	return err;
}

static int write_l2(const struct qcow2_layout *l, const struct plan *p, struct image_out *out,
		    uint8_t *buf)
{
	struct qcow2_runs it = {p, l->cluster_bits, 0};
	uint64_t l2_entries = l->cluster / 8, host = l->data_off;
	uint64_t c0 = 0, c1 = 0, region = UINT64_MAX;
	bool more = qcow2_next_run(&it, &c0, &c1);
	int err = 0;

	while (more && !err) {
		uint64_t c = c0;
		if (c / l2_entries != region) {
			if (region != UINT64_MAX)
				err = image_out_write(out, buf, l->cluster);
			region = c / l2_entries;
			memset(buf, 0, l->cluster);
			if (err)
				break;
		}
		uint64_t end = (region + 1) * l2_entries;
		uint64_t stop = c1 < end ? c1 : end;
		for (; c < stop; c++, host += l->cluster)
			put_be64(buf + (c % l2_entries) * 8, host | QCOW2_COPIED);
		if (stop < c1)
			c0 = stop;
		else
			more = qcow2_next_run(&it, &c0, &c1);
	}
	if (!err && region != UINT64_MAX)
		err = image_out_write(out, buf, l->cluster);
	return err;
}

int image_fill(const struct plan *p, size_t *ei, const struct image_input *in, uint8_t *buf,
	       uint64_t start, uint64_t len, struct progress *prog)
{
	uint64_t end = start + len, covered = 0;
	int err;

	while (*ei < p->n && p->ext[*ei].off + p->ext[*ei].len <= start)
		(*ei)++;
	for (size_t i = *ei; i < p->n && p->ext[i].off < end; i++) {
		uint64_t a = p->ext[i].off > start ? p->ext[i].off : start;
		uint64_t b = p->ext[i].off + p->ext[i].len < end ? p->ext[i].off + p->ext[i].len : end;
		if (a == start && b == end) {
			covered = len;
			break;
		}
	}
	if (covered != len)
		memset(buf, 0, len);
	for (size_t i = *ei; i < p->n && p->ext[i].off < end; i++) {
		uint64_t a = p->ext[i].off > start ? p->ext[i].off : start;
		uint64_t b = p->ext[i].off + p->ext[i].len < end ? p->ext[i].off + p->ext[i].len : end;
		err = in->pread(in->ctx, buf + (a - start), b - a, a);
		if (err)
			return err;
		if (prog)
			progress_add(prog, b - a);
	}
	return 0;
}

static int write_data(const struct qcow2_layout *l, const struct plan *p,
		      const struct image_input *in, struct image_out *out, struct progress *prog)
{
	struct qcow2_runs it = {p, l->cluster_bits, 0};
	uint64_t batch = DATA_BATCH > l->cluster ? DATA_BATCH / l->cluster : 1;
	uint64_t c0, c1;
	size_t ei = 0;
	uint8_t *buf = malloc(batch * l->cluster);
	int err = 0;

	if (!buf)
		return ferr(-ENOMEM, "out of memory");
	while (!err && qcow2_next_run(&it, &c0, &c1)) {
		for (uint64_t c = c0; c < c1 && !err; c += batch) {
			uint64_t k = c1 - c < batch ? c1 - c : batch;
			uint64_t start = c * l->cluster, len = k * l->cluster;
			/* The last cluster may reach past the disk: pad it with zeros. */
			uint64_t in_len = start + len > p->vsize ? p->vsize - start : len;

			memset(buf + in_len, 0, len - in_len);
			err = image_fill(p, &ei, in, buf, start, in_len, prog);
			/* Blocks of zeros become holes in a file, as in raw. */
			if (!err)
				err = image_out_sparse(out, buf, len);
		}
	}
	free(buf);
	return err;
}

int qcow2_write(const struct plan *p, const struct image_input *in, struct image_out *out,
		struct progress *prog)
{
	struct qcow2_layout l;
	uint8_t *buf;
	int err;

	err = qcow2_fit_layout(&l, p);
	if (err)
		return err;
	buf = malloc(l.cluster);
	if (!buf) {
		err = ferr(-ENOMEM, "out of memory");
		goto out;
	}
	err = qcow2_write_header(&l, p->vsize, IMAGE_COMPRESS_NONE, out, buf);
	if (!err)
		err = write_refcounts(&l, out, buf);
	if (!err)
		err = qcow2_write_l1(&l, out, buf);
	if (!err)
		err = write_l2(&l, p, out, buf);
	if (!err)
		err = write_data(&l, p, in, out, prog);
	if (!err && out->pos != l.total_clusters * l.cluster)
		err = ferr(-EIO, "internal: qcow2 writer wrote %llu bytes, expected %llu",
			   (unsigned long long)out->pos,
			   (unsigned long long)(l.total_clusters * l.cluster));
	free(buf);
out:
	free(l.region_count);
	return err;
}
