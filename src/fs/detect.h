/* Filesystem and volume signatures, read from the first bytes of a device. */
#ifndef FERRY_DETECT_H
#define FERRY_DETECT_H

#include <stdint.h>

#include "blk/blk.h"

enum fs_type {
	FS_UNKNOWN, FS_EXT2, FS_EXT3, FS_EXT4, FS_SWAP, FS_XFS, FS_BTRFS, FS_VFAT,
	FS_NTFS, FS_LVM2, FS_LUKS, FS_MDRAID, FS_ISO9660,
};

const char *fs_type_name(enum fs_type t);
static inline int fs_is_ext(enum fs_type t) { return t == FS_EXT2 || t == FS_EXT3 || t == FS_EXT4; }

/* Bytes of the partition's beginning that fs_detect looks at. */
#define FS_DETECT_BYTES (68 * 1024)

/* Identifies what is on d (a partition, a whole disk). */
enum fs_type fs_detect(const struct blkdev *d);
/* The same on bytes already read (len may be less than FS_DETECT_BYTES). */
enum fs_type fs_detect_buf(const uint8_t *buf, uint64_t len);

#endif
