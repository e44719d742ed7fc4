/* Device names (fstab, root=, resume=) and which disk is the system disk:
 * one decision shared by the fstab and bootloader rules. */
#ifndef FERRY_FIX_DEVNAME_H
#define FERRY_FIX_DEVNAME_H

#include <stdbool.h>
#include <stddef.h>

#include "fix/fix.h"

/* How a name reaches a disk. Two names of one scheme on different bases are
 * different disks; a by-id and a kernel name may be the same disk. */
enum dev_scheme {
	DEV_NONE,   /* not a disk partition name we know (/dev/sr0, /dev/zram0) */
	DEV_KERNEL, /* /dev/sda2, /dev/nvme0n1p2, /dev/cciss/c0d0p2 */
	DEV_BYID,   /* /dev/disk/by-id/ata-X-part2 */
	DEV_BYPATH, /* /dev/disk/by-path/pci-X-part2 */
	DEV_VOLMGR, /* LVM, device-mapper, md RAID: cannot be mapped to a partition */
};

struct devref {
	enum dev_scheme scheme;
	int partnum;     /* 0 for a whole disk */
	char base[192];  /* the disk: "/dev/sda", "/dev/disk/by-id/ata-X" */
};

/* Classifies a device name; never fails (unknown names are DEV_NONE). */
void devref_parse(const char *name, struct devref *d);

enum disk_verdict { DISK_UNKNOWN, DISK_SYSTEM, DISK_OTHER };

/* What a name maps to. */
enum map_result {
	MAP_OK,           /* *vol is the volume, and it has a UUID */
	MAP_KEEP,         /* not a disk name: leave it (/dev/sr0, /dev/zram0) */
	MAP_VOLMGR,       /* LVM, device-mapper, md: leave it, with a note */
	MAP_OTHER_DISK,   /* on a disk that is not in the image */
	MAP_UNKNOWN_DISK, /* cannot tell which disk it is on */
	MAP_NO_VOLUME,    /* on the system disk, but the partition is not in the image */
	MAP_NO_UUID,      /* the volume has no UUID to name it by */
	MAP_WRONG_TYPE,   /* the partition holds another kind of filesystem */
	MAP_WHOLE_DISK,   /* a whole system disk, not a partition */
};

struct sysdisk {
	struct fix_ctx *c;
	struct {
		char base[192];
		enum dev_scheme scheme;
		enum disk_verdict verdict;
	} disks[16];
	size_t ndisks;
	char how[352]; /* how the system disk was found, for notes */
};

/* Decides which disk names are the system disk: the disk of the / entry of
 * /etc/fstab, else of /boot's, else of the first root= in the boot loader
 * configs. Other disks of that naming scheme are not. A disk named another
 * way (by-id, by-path) is the system disk when its names fit the image's
 * volumes (one is a volume, none is a volume named for another use) and no
 * other disk of its scheme fits; with nothing to go by, that is how the one
 * system disk is found. A disk whose names do not fit is not in the image. */
int sysdisk_init(struct sysdisk *sd, struct fix_ctx *c);
enum disk_verdict sysdisk_verdict(const struct sysdisk *sd, const char *base);
/* Maps name to a volume. fstype is what the name is expected to hold (an
 * fstab type list, "swap", NULL for any but swap); part, when > 0, is the
 * partition the name must mean whatever its number says (/ is root_part). */
enum map_result sysdisk_map(const struct sysdisk *sd, const char *name, const char *fstype,
			    int part, const struct fix_volume **vol);
/* One line for a note or a "# ferry:" comment saying why name was not mapped. */
void sysdisk_explain(const struct sysdisk *sd, enum map_result r, const char *name,
		     char *buf, size_t len);

/* fix_note, unless the report already has this note: a finding that stays
 * (an LVM volume, enforcing=1) is reported once however often rules run. */
int fix_note_once(struct fix_report *r, const char *rule, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Boot loader command lines, for the evidence above and for the SELinux
 * rule: fn is called with every argument of every kernel command line in
 * every boot loader config the bootloader rule edits (key without '=',
 * value NULL for a bare word). A non-zero return stops the walk. */
typedef int (*boot_arg_fn)(const char *file, const char *key, const char *val, void *arg);
int boot_for_each_arg(struct fix_ctx *c, boot_arg_fn fn, void *arg);

#endif
