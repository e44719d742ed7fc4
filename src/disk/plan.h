/* The capture plan: which byte ranges of the source make the image, and
 * how each partition is copied. */
#ifndef FERRY_PLAN_H
#define FERRY_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blk/blk.h"
#include "disk/table.h"
#include "fs/detect.h"
#include "util/progress.h"

enum copy_method {
	COPY_EXACT,   /* every byte (boot gap, EBRs) */
	COPY_USED,    /* the blocks in use: ext block bitmap, XFS free-space btree */
	COPY_HEADER,  /* the swap header page */
	COPY_NONZERO, /* every block that is not all zeros */
	COPY_TABLE,   /* an extended partition: its EBR sectors */
	COPY_LVM,     /* an LVM PV: label and metadata, and its logical volumes
	               * each by its own method; unused extents are not copied */
	COPY_EXCLUDED, /* nothing: left out of the image (--exclude), zeros */
};

const char *plan_method_name(enum copy_method m);

struct extent {
	uint64_t off, len;
};

struct plan_part {
	int num;
	enum part_kind kind;
	enum fs_type fs;
	enum copy_method method;
	uint64_t start, size;
	struct blkdev dev;   /* the partition, read through the copy's overlay */
	uint64_t data_bytes; /* bytes of this partition that are copied */
	char note[1024];     /* why a fallback was taken */
};

/* A logical volume of a PV partition the plan copies (COPY_LVM). */
struct plan_volume {
	char name[2 * 128 + 2]; /* "VG/LV" */
	enum fs_type fs;
	enum copy_method method; /* COPY_USED, COPY_HEADER or COPY_NONZERO */
	uint64_t size;
	uint64_t data_bytes;
	char note[512];
};

struct plan {
	uint64_t vsize;      /* the image's virtual size */
	uint64_t gap_bytes;  /* sector 0 up to the first partition */
	uint64_t data_bytes; /* sum of all extents */
	struct extent *ext;  /* sorted, disjoint, not adjacent */
	size_t n, cap;
	struct plan_part *parts;
	size_t nparts;
	struct plan_volume *vols;
	size_t nvols;
	bool unsorted;       /* ranges are appended as they come (plan_sort) */
};

void plan_init(struct plan *p);
void plan_release(struct plan *p);
/* Appends a range at or after the last one (overlaps and neighbours merge). */
int plan_add_range(struct plan *p, uint64_t off, uint64_t len);

/* Builds the plan for a whole disk. Partitions of unknown content are read
 * whole to find their non-zero blocks, with their progress shown to view (may be NULL).
 * The partitions in exclude (may be NULL) are not copied: zeros in the image. */
int plan_build(struct plan *p, const struct source *src, const struct table *t,
	       const struct part_set *exclude, const struct progress_view *view);
/* The image's virtual size: the disk up to the end of its last partition,
 * and on a GPT disk its backup GPT after that (gpt_fit_image). */
uint64_t plan_image_size(const struct table *t, uint64_t disk_size);
/* 0, or the error plan_build gives a disk it cannot copy (no partitions). */
int plan_can_copy(const struct source *src, const struct table *t);

#endif
