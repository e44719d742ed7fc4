/* Linux device names: the disk and partition a name such as /dev/sda2,
 * /dev/nvme0n1p3, /dev/disk/by-id/ata-X-part2 or /dev/mapper/vg-lv stands
 * for. The one place Ferry reads them. */
#ifndef FERRY_DEVNAME_H
#define FERRY_DEVNAME_H

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

/* The partition number of a kernel device name (/dev/sda2 → 2,
 * /dev/nvme0n1p3 → 3, /dev/cciss/c0d0p1 → 1), or -1 for a whole disk or a
 * name that is not a partition (/dev/mapper/..., /dev/vg/lv). */
int devname_partnum(const char *dev);

#endif
