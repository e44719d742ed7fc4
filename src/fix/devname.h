/* Which disk is the system disk, and the volume a device name (fstab,
 * root=, resume=) maps to: one decision shared by the fstab and bootloader
 * rules (devname.c). */
#ifndef FERRY_FIX_DEVNAME_H
#define FERRY_FIX_DEVNAME_H

#include <stdbool.h>
#include <stddef.h>

#include "fix/fix.h"
#include "fs/devname.h"

/* The comments the fstab rule leaves: above a line it disabled (the line
 * follows behind a "#"), and above a line it renamed (the old name
 * follows the mark). sysdisk_init reads the evidence through them. */
#define FSTAB_DISABLED_MARK "# ferry: disabled, "
#define FSTAB_WAS_MARK "# ferry: was "

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
/* Whether spec is a PARTUUID= or PARTLABEL= that the image's new table
 * does not keep. */
bool fix_partname_goes(const struct fix_ctx *c, const char *spec);
/* The volume a UUID=/LABEL=/PARTUUID= spec names (*vol, NULL if none);
 * false if spec is not one of those. */
bool fix_volume_by_spec(const struct fix_ctx *c, const char *spec, const struct fix_volume **vol);
/* One line for a note or a "# ferry:" comment saying why name was not mapped. */
void sysdisk_explain(const struct sysdisk *sd, enum map_result r, const char *name,
		     char *buf, size_t len);


#endif
