/* Signature detection: enough to choose how each partition is copied and
 * to show people what is on the disk. */
#include <stdlib.h>
#include <string.h>

#include "fs/detect.h"
#include "fs/swap.h"
#include "util/endian.h"

const char *fs_type_name(enum fs_type t)
{
	static const char *const names[] = {
		[FS_UNKNOWN] = "unknown", [FS_EXT2] = "ext2", [FS_EXT3] = "ext3",
		[FS_EXT4] = "ext4", [FS_SWAP] = "swap", [FS_XFS] = "xfs",
		[FS_BTRFS] = "btrfs", [FS_VFAT] = "vfat", [FS_NTFS] = "ntfs",
		[FS_LVM2] = "LVM2_member", [FS_LUKS] = "crypto_LUKS",
		[FS_MDRAID] = "linux_raid_member", [FS_ISO9660] = "iso9660",
	};
	return names[t];
}

static enum fs_type ext_kind(const uint8_t *sb)
{
	uint32_t compat = get_le32(sb + 0x5c), incompat = get_le32(sb + 0x60);
	uint32_t ro_compat = get_le32(sb + 0x64);

	/* The same rule as blkid: features ext3 does not know make it ext4. */
	if ((incompat & ~0x0006u) || (ro_compat & ~0x0007u))
		return FS_EXT4;
	if (compat & 0x0004) /* has_journal */
		return FS_EXT3;
	return FS_EXT2;
}

enum fs_type fs_detect_buf(const uint8_t *buf, uint64_t len)
{
	if (len >= 1024 + 0x68 && get_le16(buf + 1024 + 0x38) == 0xef53)
		return ext_kind(buf + 1024);
	struct swap_header sw;

	swap_parse(buf, len, &sw);
	if (sw.page && !sw.hibernated)
		return FS_SWAP;
	if (len >= 4 && !memcmp(buf, "XFSB", 4))
		return FS_XFS;
	if (len >= 6 && !memcmp(buf, "LUKS\xba\xbe", 6))
		return FS_LUKS;
	if (len >= 512 + 8 && !memcmp(buf + 512, "LABELONE", 8) && !memcmp(buf + 512 + 24, "LVM2", 4))
		return FS_LVM2;
	if (len >= 0x10000 + 0x48 && !memcmp(buf + 0x10000 + 0x40, "_BHRfS_M", 8))
		return FS_BTRFS;
	if (len >= 4096 + 4 && get_le32(buf + 4096) == 0xa92b4efc)
		return FS_MDRAID; /* md metadata 1.2 */
	if (len >= 0x8000 + 6 && !memcmp(buf + 0x8001, "CD001", 5))
		return FS_ISO9660;
	if (len >= 512 && buf[510] == 0x55 && buf[511] == 0xaa) {
		if (!memcmp(buf + 3, "NTFS    ", 8))
			return FS_NTFS;
		if (!memcmp(buf + 82, "FAT32", 5) || !memcmp(buf + 54, "FAT1", 4) ||
		    !memcmp(buf + 54, "FAT", 3))
			return FS_VFAT;
	}
	return FS_UNKNOWN;
}

enum fs_type fs_detect(const struct blkdev *d)
{
	uint64_t n = d->size < FS_DETECT_BYTES ? d->size : FS_DETECT_BYTES;
	uint8_t *buf = calloc(1, FS_DETECT_BYTES);
	enum fs_type t = FS_UNKNOWN;

	if (!buf)
		return FS_UNKNOWN;
	if (blk_read(d, buf, (size_t)n, 0) == 0)
		t = fs_detect_buf(buf, n);
	free(buf);
	return t;
}
