/* LVM2 volume groups, read from their physical volumes without
 * device-mapper: the PV label, the newest valid copy of the text metadata
 * (both metadata areas considered, checksums verified), and each logical
 * volume's segments as extents of the source disk, so that a logical
 * volume is a block device (blk/blk.h) like a partition.
 *
 * Linear and striped segments are mapped; thin, RAID and mirror, cache
 * and snapshot volumes are recognised and named (lvm_lv.kind), never
 * mapped. Everything is read through blk_read: nothing is written. */
#ifndef FERRY_LVM_H
#define FERRY_LVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blk/blk.h"

#define LVM_NAME_MAX 128
/* The most metadata text read from one area (LVM's default area is 1 MiB). */
#define LVM_TEXT_MAX (4u << 20)

/* What a physical volume's label and metadata areas say. */
struct lvm_pvinfo {
	char id[40];         /* "epQu0J-v8e8-3Cs9-PFta-Nd1l-odcF-VBYsxC" */
	uint64_t dev_size;   /* bytes, as the label records it */
	uint64_t data_off;   /* the first data area: where extents start */
	uint64_t mda_off[2], mda_len[2]; /* metadata areas (len 0: none) */
	char *text;          /* the newest valid metadata, NUL-terminated; NULL
	                      * when the PV holds none (--metadatacopies 0) */
	size_t text_len;
	uint64_t seqno;      /* of text */
	int bad_mdas;        /* areas whose header or text failed its checks */
};

enum lvm_kind {
	LVM_LINEAR,   /* striped segments, one stripe each */
	LVM_STRIPED,  /* at least one segment with several stripes */
	LVM_THIN,     /* thin, thin-pool */
	LVM_RAID,     /* raid*, mirror */
	LVM_CACHE,    /* cache, cache-pool, writecache */
	LVM_SNAPSHOT, /* an old-style snapshot or its origin */
	LVM_OTHER,    /* vdo, integrity, error, zero... */
};

struct lvm_area {
	int pv;      /* index into the volume group's pvs */
	uint64_t pe; /* its first physical extent */
};

struct lvm_seg {
	uint64_t start, count; /* logical extents */
	char type[32];
	unsigned nareas;
	uint64_t stripe_size;  /* bytes (striped with several areas) */
	struct lvm_area *areas;
};

struct lvm_pv {
	char id[40], name[32];  /* the metadata's own name: "pv0" */
	char device[128];       /* where the metadata last saw it: "/dev/sda2" */
	uint64_t pe_start;      /* bytes from the PV's start */
	uint64_t pe_count;
	bool flagged_missing;   /* the metadata says MISSING */
	int dev;                /* index of the device it was found on, or -1 */
};

struct lvm_lv {
	char name[LVM_NAME_MAX], id[40];
	bool visible;
	enum lvm_kind kind;
	char type[32];          /* the segment type that decided kind */
	uint64_t size;          /* bytes */
	struct lvm_seg *segs;
	size_t nsegs;
	/* Filled by lvm_map when every segment is linear or striped and every
	 * area is on one source: the volume, extent by extent, on it. */
	struct blk_extent *ext;
	size_t next;
	const struct source *src;
	char unmapped[320];     /* why ext is empty */
};

struct lvm_vg {
	char name[LVM_NAME_MAX], id[40];
	uint64_t seqno;
	uint64_t extent_size; /* bytes */
	struct lvm_pv *pvs;
	size_t npvs;
	struct lvm_lv *lvs;
	size_t nlvs;
};

/* Whether d starts with an LVM2 label (in one of its first four sectors). */
bool lvm_is_pv(const struct blkdev *d);
/* Reads the label and both metadata areas of the PV on d. -EINVAL with a
 * message when the label or every metadata area is damaged. */
int lvm_pv_read(const struct blkdev *d, struct lvm_pvinfo *pv);
void lvm_pvinfo_release(struct lvm_pvinfo *pv);

/* Parses one volume group's metadata text. -EINVAL with the line that is
 * wrong. */
int lvm_vg_parse(const char *text, size_t len, struct lvm_vg *vg);
void lvm_vg_release(struct lvm_vg *vg);

/* The physical volumes found, by device: devs[i] is where a PV is, ids[i]
 * its label's id. Sets each pv->dev and maps every logical volume it can
 * onto the sources. */
int lvm_map(struct lvm_vg *vg, const struct blkdev *devs, const char (*ids)[40], size_t n);
/* The device of a mapped logical volume (ext filled), named "VG/LV". */
int lvm_lv_dev(struct blkdev *d, const struct lvm_vg *vg, const struct lvm_lv *lv, bool copy);

/* The device-mapper name of an LV: "rl-root", dashes doubled in names. */
void lvm_dm_name(char *out, size_t size, const char *vg, const char *lv);
/* Whether a device path names the LV: /dev/mapper/VG-LV, /dev/VG/LV,
 * /dev/disk/by-id/dm-name-VG-LV, /dev/disk/by-id/dm-uuid-LVM-<ids>. */
bool lvm_names_lv(const char *path, const struct lvm_vg *vg, const struct lvm_lv *lv);

const char *lvm_kind_name(enum lvm_kind k);

/* The volume groups on a set of devices: each device's PV label and
 * metadata (pvs[i], zeroed for one that is not a readable PV), and every
 * volume group found on them, from its newest metadata, mapped. */
struct lvm_set {
	struct lvm_pvinfo *pvs;
	struct lvm_vg *vgs;
	size_t npvs, nvgs;
};

/* What cannot be read is warned about and left out: a PV whose label or
 * metadata is damaged, a group whose extents run past its PV. Errors:
 * -ENOMEM. devs must outlive the set's use. */
int lvm_set_read(struct lvm_set *s, const struct blkdev *devs, size_t n);
void lvm_set_release(struct lvm_set *s);

#endif
