/* FAT12/16/32 (fs/fat.h) on the input as the start of a 4 MiB disk (zeros
 * after it, so that a FAT16, 2 MiB at least, fits libFuzzer's 1 MiB
 * inputs), read through the source's I/O table as from a disk: the geometry, the used ranges,
 * every directory listed and every file read to a depth of four; then on a
 * copy (an overlay) a file replaced, one created, a directory made, a name
 * moved and one removed, and what was written read back. */
#include <stdio.h>
#include <string.h>

#include "blk/blk.h"
#include "blk/cow.h"
#include "fs/fat.h"
#include "lib/fuzz.h"
#include "lib/memdisk.h"

#define DISK (4u << 20)

static int count(uint64_t off, uint64_t len, void *arg)
{
	(void)off;
	*(uint64_t *)arg += len;
	return 0;
}

struct walk {
	struct fat_fs *f;
	char path[512];
	int depth, entries;
};

static void walk_dir(struct walk *w);

static int visit(const char *name, bool dir, void *arg)
{
	struct walk *w = arg;
	size_t n = strlen(w->path);
	char *data;
	size_t len;

	if (++w->entries > 2000 || n + strlen(name) + 2 > sizeof(w->path))
		return 1;
	snprintf(w->path + n, sizeof(w->path) - n, "%s%s", n > 1 ? "/" : "", name);
	if (dir && w->depth < 4) {
		w->depth++;
		walk_dir(w);
		w->depth--;
	} else if (!dir && !fatfs_read(w->f, w->path, 1 << 20, &data, &len)) {
		free(data);
	}
	w->path[n] = '\0';
	return 0;
}

static void walk_dir(struct walk *w)
{
	struct fat_stat st;

	fatfs_stat(w->f, w->path, &st);
	fatfs_list(w->f, w->path, visit, w);
}

static void edit(struct fat_fs *f)
{
	static const char text[] = "linux /vmlinuz root=UUID=0b7c ro net.ifnames=0\n";
	char *data;
	size_t len;

	fatfs_write(f, "/EFI/debian/grub.cfg", text, sizeof(text) - 1);
	if (!fatfs_write(f, "/a new file with a long name.cfg", text, sizeof(text) - 1)) {
		if (fatfs_read(f, "/A NEW FILE WITH A LONG NAME.CFG", 4096, &data, &len) ||
		    len != sizeof(text) - 1 || memcmp(data, text, len)) {
			fprintf(stderr, "a file written does not read back\n");
			abort();
		}
		free(data);
	}
	fatfs_mkdir(f, "/ferry");
	fatfs_rename(f, "/a new file with a long name.cfg", "/ferry/moved");
	fatfs_remove(f, "/EFI/BOOT/BOOTX64.EFI");
	fatfs_remove(f, "/ferry");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct memdisk m = {data, size};
	const struct source_io io = {.pread = memdisk_pread, .ctx = &m};
	struct source src = {.path = "fuzz", .fd = -1, .dfd = -1, .lsec = 512, .psec = 512,
			     .io = &io};
	struct blkdev dev;
	struct fat_fs *f;
	struct fat_info info;
	struct cow cow;
	uint64_t used = 0;

	src.size = size > DISK ? size : DISK;
	ferr_clear();
	if (blk_window(&dev, &src, 0, src.size, false, "fuzz") || fatfs_open(&f, &dev, false))
		return 0;
	fatfs_get_info(f, &info);
	fatfs_used_ranges(f, count, &used);
	if (used != info.used) {
		fprintf(stderr, "the used ranges add up to %llu, the info says %llu\n",
			(unsigned long long)used, (unsigned long long)info.used);
		abort();
	}
	{
		struct walk w = {.f = f, .path = "/"};

		walk_dir(&w);
	}
	fatfs_free(f);

	cow_init(&cow);
	src.cow = &cow;
	if (!blk_window(&dev, &src, 0, src.size, true, "fuzz") && !fatfs_open(&f, &dev, true)) {
		edit(f);
		fatfs_free(f);
	}
	src.cow = NULL;
	cow_release(&cow);
	return 0;
}
