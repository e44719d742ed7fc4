/* Probing disks: tables, filesystems, and which disk holds / and /boot. */
#ifndef FERRY_PROBE_H
#define FERRY_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "blk/source.h"
#include "disk/lvm.h"
#include "disk/table.h"
#include "fs/detect.h"
#include "util/err.h"
#include "util/json.h"

/* A partition, or a logical volume (part NULL, lv set). */
struct probe_part {
	const struct part *part;
	const struct lvm_vg *vg; /* the volume group of an LVM PV or LV */
	const struct lvm_lv *lv; /* a logical volume */
	struct blkdev dev; /* read-only ("DISK partition N", "logical volume VG/LV") */
	enum fs_type fs;
	char label[20];
	char uuid[40];
	char partuuid[40]; /* msdos: disk id and number; gpt: the GUID; as blkid prints it */
	bool have_used;
	uint64_t used;
	bool needs_recovery;
	char *fstab; /* /etc/fstab when this filesystem has one */
	char *grub;  /* the GRUB 2 config found on it, if any */
	char grub_path[40];
	char why[200]; /* an ext2/3/4 or XFS filesystem that cannot be opened: why */
};

struct probe_disk {
	struct source src;
	struct table table;
	/* The partitions (nparts), then the logical volumes this disk holds
	 * whole (up to nvols). */
	struct probe_part *parts;
	size_t nparts, nvols;
	enum fs_type whole_fs; /* a filesystem on the disk itself (no table) */
};

struct probe_loc {
	int disk; /* index, -1 if not found */
	int part; /* index into the disk's parts */
	char reason[640];
};

struct probe {
	struct probe_disk *disks;
	size_t n;
	struct lvm_set lvm; /* the volume groups on the disks' partitions */
	struct probe_loc *pv_at; /* lvm.pvs[i] is partition pv_at[i] */
	struct probe_loc root, boot;
	struct warn_list warnings; /* what the probe warned about, each once */
	struct ferry_warn_scope scope;
};

/* With n == 0, every disk in /sys/block except loop, ram, zram and sr
 * devices (disks that cannot be read are skipped with a warning). Named
 * disks that cannot be read are errors. The warnings are kept in
 * pr->warnings, after a failure too: probe_release in either case. */
int probe_disks(struct probe *pr, char *const *paths, size_t n);
/* One disk as its copy holds it: every read sees cow's edits (fs/cow.h). */
int probe_copy(struct probe *pr, const char *path, struct cow *cow);
void probe_release(struct probe *pr);
/* "partition 2" or "logical volume rl/root". */
const char *probe_part_name(const struct probe_part *pp, char *buf, size_t size);
/* The probed volume that holds lv, or NULL. */
const struct probe_part *probe_lv_part(const struct probe *pr, const struct lvm_lv *lv);

/* ferry scan's table of disks, partitions and the system (report.c). */
void probe_report_text(FILE *f, const struct probe *pr);
/* The same as JSON fields of the object j is in, warnings included. */
void probe_report_json(struct json *j, const struct probe *pr);
/* The index of the partition on the root's disk that the root's fstab
 * mounts at mountpoint, or -1. */
int probe_mount_part(const struct probe *pr, const char *mountpoint);

#endif
