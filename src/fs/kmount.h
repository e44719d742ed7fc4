/* A filesystem of the copy mounted by the kernel, for the filesystems
 * Ferry cannot edit itself (XFS): the copy's device is served over NBD
 * (blk/nbd.h) and mounted on a directory of its own, which the directory
 * backend of guest files (fs/guest.h) then edits. A log that needs
 * recovery is replayed by the mount, into the overlay. Unmounting writes
 * everything back into the overlay; the used-block map is read from there
 * afterwards. */
#ifndef FERRY_KMOUNT_H
#define FERRY_KMOUNT_H

#include <stdbool.h>

#include "blk/nbd.h"

struct kmount {
	struct nbd_export nbd;
	struct blkdev dev;  /* the copy's device, served */
	char dir[64];       /* where it is mounted */
	bool mounted;
};

/* Mounts the filesystem of type fstype ("xfs") on dev (read for the copy:
 * its writes go into the overlay). */
int kmount_open(struct kmount *m, const struct blkdev *dev, const char *fstype);
/* Unmounts (writing back into the overlay) and disconnects. */
int kmount_close(struct kmount *m);

#endif
