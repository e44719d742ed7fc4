/* Filesystem and volume signatures, read from the first bytes of a partition. */
#ifndef FERRY_DETECT_H
#define FERRY_DETECT_H

#include <stdint.h>

#include "blk/source.h"

enum fs_type {
	FS_UNKNOWN, FS_EXT2, FS_EXT3, FS_EXT4, FS_SWAP, FS_XFS, FS_BTRFS, FS_VFAT,
	FS_NTFS, FS_LVM2, FS_LUKS, FS_MDRAID, FS_ISO9660,
};

const char *fs_type_name(enum fs_type t);
static inline int fs_is_ext(enum fs_type t) { return t == FS_EXT2 || t == FS_EXT3 || t == FS_EXT4; }

/* Bytes of the partition's beginning that fs_detect looks at. */
#define FS_DETECT_BYTES (68 * 1024)

/* Identify the partition of size len at off. */
enum fs_type fs_detect(const struct source *src, uint64_t off, uint64_t len);
/* The same on bytes already read (len may be less than FS_DETECT_BYTES). */
enum fs_type fs_detect_buf(const uint8_t *buf, uint64_t len);

/* The size of the swap header page (the page size it was made with), or 0. */
unsigned swap_header_size(const uint8_t *buf, uint64_t len);

#endif
