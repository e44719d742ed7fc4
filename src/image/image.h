/* Image encoders: sequential writers of a plan's ranges (no seeking, so
 * they stream into a FIFO or a socket). */
#ifndef FERRY_IMAGE_H
#define FERRY_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "disk/plan.h"
#include "sink/sink.h"
#include "ui/progress.h"

enum image_format { IMAGE_RAW, IMAGE_QCOW2 };

/* Where the data of the plan's ranges is read from (the source disk now;
 * the copy-on-write overlay once fixes are made). */
struct image_input {
	int (*pread)(void *ctx, void *buf, size_t len, uint64_t off);
	void *ctx;
};

int image_format_parse(const char *name, enum image_format *fmt);
const char *image_format_name(enum image_format fmt);

/* Writes the image; prog counts the plan's data bytes. */
int image_write(enum image_format fmt, const struct plan *p, const struct image_input *in,
		struct sink *out, struct progress *prog);

int raw_write(const struct plan *p, const struct image_input *in, struct sink *out,
	      struct progress *prog);

struct qcow2_layout {
	unsigned cluster_bits;
	uint64_t cluster;      /* bytes */
	uint64_t l1_size;      /* entries */
	uint64_t data_clusters;
	uint64_t l2_tables;
	uint64_t rt_clusters, rb_clusters, l1_clusters;
	uint64_t total_clusters;
	uint64_t rt_off, rb_off, l1_off, l2_off, data_off;
	uint32_t *region_count; /* allocated clusters per L2 region */
};

/* Computes where everything goes; the caller frees region_count. */
int qcow2_layout(struct qcow2_layout *l, const struct plan *p, unsigned cluster_bits);
int qcow2_write(const struct plan *p, const struct image_input *in, struct sink *out,
		struct progress *prog);

/* Copies [off, off+len) of the input into the sink in large reads. */
int image_copy_range(const struct image_input *in, struct sink *out, uint64_t off,
		     uint64_t len, struct progress *prog);

#endif
