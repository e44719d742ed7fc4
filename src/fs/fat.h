/* FAT12, FAT16 and FAT32 (an EFI system partition, a /boot/efi) without
 * the kernel: the boot sector's geometry, volume serial and label, which
 * clusters are in use, and files, read and written through blk_read and
 * blk_write, so that on a device of the copy every change lands in the
 * overlay.
 *
 * Names are long (VFAT) names in UTF-8, matched without regard to ASCII
 * case as Linux's vfat does; short 8.3 names are read as Latin-1 and
 * shown in lower case where their case flags say so. New names get a
 * long name unless they are a plain 8.3 name, and a short alias
 * (NAME~N.EXT) that no other entry of the directory has.
 *
 * Errors are negative errno values with a message naming the device:
 *   -EINVAL   a damaged boot sector, FAT, cluster chain or directory
 *   -ENOTSUP  a FAT larger than Ferry keeps in memory (FAT_TABLE_MAX)
 *   -ENOSPC   no free cluster, or no room left in a FAT12/16 root
 *   -EROFS    a change on a filesystem opened read-only
 *   -EIO      the device could not be read or written
 * and for files -ENOENT (without a message), -ENOTDIR, -EISDIR, -EEXIST,
 * -ENOTEMPTY, -ENAMETOOLONG, -EFBIG (larger than asked for or than FAT
 * holds), -EPERM (a symbolic link: FAT has none). */
#ifndef FERRY_FAT_H
#define FERRY_FAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blk/blk.h"

/* The largest table kept in memory: 16 Mi clusters of FAT32. */
#define FAT_TABLE_MAX (64u << 20)

struct fat_info {
	unsigned bits;       /* 12, 16 or 32 */
	char label[12];      /* the root directory's volume label, else the boot sector's */
	char uuid[10];       /* the volume serial as blkid prints it: "5EED-1E55" */
	uint32_t cluster_bytes;
	uint32_t clusters;   /* data clusters */
	uint32_t used_clusters; /* data clusters the FAT does not mark free (bad ones too) */
	uint64_t size;       /* bytes the filesystem spans (its sector count) */
	uint64_t used;       /* the areas before the data (boot, FATs, root) and the
			      * clusters in use, in bytes */
};

struct fat_fs;

/* Opens the filesystem on d, which must outlive it; writable needs a
 * device of the copy (blk_copy_of). The whole FAT is read and checked. */
int fatfs_open(struct fat_fs **f, const struct blkdev *d, bool writable);
void fatfs_free(struct fat_fs *f);
void fatfs_get_info(const struct fat_fs *f, struct fat_info *info);

/* Calls fn for every run of bytes in use, relative to d, in ascending
 * order, neighbours merged: the boot sector and reserved sectors, every
 * FAT, a FAT12/16 root directory, and each cluster the FAT does not mark
 * free or bad. */
typedef int (*fat_range_fn)(uint64_t off, uint64_t len, void *arg);
int fatfs_used_ranges(const struct fat_fs *f, fat_range_fn fn, void *arg);

struct fat_stat {
	bool dir;
	uint64_t size;
};

/* Paths are absolute in the filesystem, canonical ("/EFI/debian/grub.cfg"). */
int fatfs_stat(struct fat_fs *f, const char *path, struct fat_stat *st);
/* The whole file, NUL-terminated, freed by the caller. */
int fatfs_read(struct fat_fs *f, const char *path, size_t max, char **data, size_t *len);
/* Called for each entry but "." and "..", with its name; non-zero stops. */
typedef int (*fat_list_fn)(const char *name, bool dir, void *arg);
int fatfs_list(struct fat_fs *f, const char *path, fat_list_fn fn, void *arg);
/* Creates or replaces a file's contents; an existing entry keeps its name
 * and attributes. The parent must exist. */
int fatfs_write(struct fat_fs *f, const char *path, const void *data, size_t len);
int fatfs_mkdir(struct fat_fs *f, const char *path);
/* Removes a file, or an empty directory. */
int fatfs_remove(struct fat_fs *f, const char *path);
/* Moves an entry, replacing a file at to. */
int fatfs_rename(struct fat_fs *f, const char *from, const char *to);

#endif
