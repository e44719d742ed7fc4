/* qcow2 internals shared by the plain (qcow2.c) and compressed (qcow2z.c)
 * writers: the layout of the tables and the functions that write them.
 * Not part of the image interface (image.h). */
#ifndef FERRY_QCOW2_H
#define FERRY_QCOW2_H

#include "image/writer.h"

#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_COPIED (1ull << 63)     /* refcount is exactly 1 */
#define QCOW2_COMPRESSED (1ull << 62) /* an L2 entry of a compressed cluster */

static inline uint64_t div_round_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

struct qcow2_layout {
	unsigned cluster_bits;
	uint64_t cluster;       /* bytes */
	uint64_t l1_size;       /* entries */
	uint64_t data_clusters; /* host clusters after the tables */
	uint64_t l2_tables;
	uint64_t rt_clusters, rb_clusters, l1_clusters;
	uint64_t total_clusters;
	uint64_t rt_off, rb_off, l1_off, l2_off, data_off;
	uint32_t *region_count; /* allocated clusters per L2 region */
};

/* Computes where everything goes; the caller frees region_count. */
int qcow2_layout(struct qcow2_layout *l, const struct plan *p, unsigned cluster_bits);
/* The layout with the configured cluster size, or a smaller one (down to
 * 4 KiB) where the planned ranges are scattered enough that it makes the
 * image a twentieth smaller, tables included, and by 1 MiB at least. */
#define QCOW2_MIN_BITS 12
#define QCOW2_FIT_MIN_SAVING (1u << 20)
int qcow2_fit_layout(struct qcow2_layout *l, const struct plan *p);
/* From l1_size, l2_tables and data_clusters: the refcount structures and
 * every offset. */
void qcow2_layout_finish(struct qcow2_layout *l);
int qcow2_write(const struct plan *p, const struct image_input *in, struct image_out *out,
		struct progress *prog);

/* Walks the runs [c0, c1) of guest clusters that hold any planned byte. */
struct qcow2_runs {
	const struct plan *p;
	unsigned bits;
	size_t i;
};
bool qcow2_next_run(struct qcow2_runs *it, uint64_t *c0, uint64_t *c1);
/* The header cluster; c says which compression the clusters use. */
int qcow2_write_header(const struct qcow2_layout *l, uint64_t vsize, enum image_compress c,
		       struct image_out *out, uint8_t *buf);
/* The refcount table: the refcount blocks follow each other from rb_off. */
int qcow2_write_reftable(const struct qcow2_layout *l, struct image_out *out, uint8_t *buf);
/* The L1 table: the L2 tables follow each other from l2_off, one per
 * region with a non-zero region_count. */
int qcow2_write_l1(const struct qcow2_layout *l, struct image_out *out, uint8_t *buf);

/* Compressed qcow2 (qcow2z.c): prepare compresses every cluster once to
 * learn its size; write compresses again and streams the image. */
int qcow2z_prepare(struct image_writer *w, struct progress *prog);
int qcow2z_write(struct image_writer *w, struct image_out *out, struct progress *prog);
void qcow2z_release(struct image_writer *w);

#endif
