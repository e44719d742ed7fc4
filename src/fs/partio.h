/* A libext2fs io_manager on a block device (blk/blk.h: a partition, a
 * logical volume): reads see the copy-on-write overlay; writes go into it
 * on a device of the copy, and are refused on every other. */
#ifndef FERRY_PARTIO_H
#define FERRY_PARTIO_H

#include <ext2fs/ext2fs.h>

#include "blk/blk.h"

extern io_manager partio_manager;

/* Registers d (copied; its extents must outlive the registration) under a
 * name to hand to ext2fs_open2() with partio_manager. A device of the
 * copy may then be opened read-write. */
int partio_register(const struct blkdev *d, const char *name);
void partio_unregister(const char *name);

#endif
