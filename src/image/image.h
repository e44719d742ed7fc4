/* Image encoders: sequential writers of a plan's ranges (no seeking, so
 * they stream into a FIFO or a socket). */
#ifndef FERRY_IMAGE_H
#define FERRY_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "disk/plan.h"
#include "sink/sink.h"
#include "ui/progress.h"

enum image_format { IMAGE_RAW, IMAGE_QCOW2 };
enum image_compress { IMAGE_COMPRESS_NONE, IMAGE_COMPRESS_ZLIB, IMAGE_COMPRESS_ZSTD };

struct image_opts {
	enum image_format format;
	enum image_compress compress; /* qcow2 only */
	unsigned threads;             /* compression threads; 0: one per CPU */
};

/* Where the data of the plan's ranges is read from (the source disk now;
 * the copy-on-write overlay once fixes are made). */
struct image_input {
	int (*pread)(void *ctx, void *buf, size_t len, uint64_t off);
	void *ctx;
};

int image_format_parse(const char *name, enum image_format *fmt);
const char *image_format_name(enum image_format fmt);
int image_compress_parse(const char *name, enum image_compress *c);
const char *image_compress_name(enum image_compress c);

/* One image being made: prepared (its exact length known before the first
 * byte, which a presigned PUT needs), then written once. */
struct image_writer {
	struct image_opts o;
	const struct plan *p;
	const struct image_input *in;
	uint64_t length; /* bytes image_write will produce */
	void *priv;      /* the format's own state */
};

/* Computes the layout and length; for compressed qcow2 this is a first
 * pass that compresses every cluster to learn its size (shown on prog,
 * which may be NULL). */
int image_prepare(struct image_writer *w, const struct image_opts *o, const struct plan *p,
		  const struct image_input *in, struct progress *prog);
/* Writes the image; prog counts the plan's data bytes. */
int image_write(struct image_writer *w, struct sink *out, struct progress *prog);
void image_writer_release(struct image_writer *w);

int raw_write(const struct plan *p, const struct image_input *in, struct sink *out,
	      struct progress *prog);

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
/* From l1_size, l2_tables and data_clusters: the refcount structures and
 * every offset. */
void qcow2_layout_finish(struct qcow2_layout *l);
int qcow2_write(const struct plan *p, const struct image_input *in, struct sink *out,
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
		       struct sink *out, uint8_t *buf);
/* The refcount table: the refcount blocks follow each other from rb_off. */
int qcow2_write_reftable(const struct qcow2_layout *l, struct sink *out, uint8_t *buf);
/* The L1 table: the L2 tables follow each other from l2_off, one per
 * region with a non-zero region_count. */
int qcow2_write_l1(const struct qcow2_layout *l, struct sink *out, uint8_t *buf);

/* Compressed qcow2 (qcow2z.c): prepare compresses every cluster once to
 * learn its size; write compresses again and streams the image. */
int qcow2z_prepare(struct image_writer *w, struct progress *prog);
int qcow2z_write(struct image_writer *w, struct sink *out, struct progress *prog);
void qcow2z_release(struct image_writer *w);

/* Fills buf with guest bytes [start, start+len) from the plan's ranges,
 * zeros elsewhere; *ei is the first range that may intersect (start at 0,
 * then keep it across calls in increasing order). */
int image_fill(const struct plan *p, size_t *ei, const struct image_input *in, uint8_t *buf,
	       uint64_t start, uint64_t len, struct progress *prog);
/* Copies [off, off+len) of the input into the sink in large reads. */
int image_copy_range(const struct image_input *in, struct sink *out, uint64_t off,
		     uint64_t len, struct progress *prog);

#endif
