/* Bad sectors: the source's read path driven through an I/O operations
 * table that fails chosen reads (blk/salvage.h), and what owns a block of
 * an ext4 filesystem made by mke2fs, checked against debugfs and dumpe2fs
 * (fs/extfs.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk/cow.h"
#include "blk/salvage.h"
#include "blk/source.h"
#include "fs/extfs.h"
#include "tap.h"
#include "testsh.h"
#include "util/err.h"

#define DISK (8u << 20)
#define SEC 512u

static char tmp[192];

/* The disk's byte at off: every sector different. */
static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + off / SEC * 13 + 1);
}

/* The I/O table: reads touching a bad sector fail with err; a flaky
 * sector fails its first flaky_left reads; healed: nothing fails. */
struct faults {
	uint8_t bad[DISK / SEC];
	unsigned flaky_left;
	uint64_t flaky;
	int err;
	bool healed, all;
	unsigned reads, careful;
};

static long fault_pread(void *ctx, const struct source *src, void *buf, size_t len,
			uint64_t off, bool careful)
{
	struct faults *f = ctx;
	ssize_t n;

	f->reads++;
	f->careful += careful;
	if (!f->healed) {
		if (f->all)
			return f->err;
		for (uint64_t s = off / SEC; s <= (off + len - 1) / SEC && s < DISK / SEC; s++) {
			if (f->bad[s])
				return f->err;
			if (s == f->flaky && f->flaky_left) {
				f->flaky_left--;
				return -EIO;
			}
		}
	}
	n = pread(src->fd, buf, len, (off_t)off);
	return n < 0 ? -errno : n;
}

static unsigned warnings;
static char last_warning[512];

static void on_warn(const char *msg, void *arg)
{
	(void)arg;
	warnings++;
	snprintf(last_warning, sizeof(last_warning), "%s", msg);
}

static uint64_t found_total;
static unsigned found_calls;

static void on_found(void *ctx, uint64_t sectors)
{
	(void)ctx;
	found_total = sectors;
	found_calls++;
}

/* Whether buf = [off, off+len) is the pattern but for the sectors in zero
 * (sector numbers, ended by UINT64_MAX), which are zeros. */
static bool same(const uint8_t *buf, size_t len, uint64_t off, const uint64_t *zero)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t s = (off + i) / SEC;
		bool z = false;

		for (const uint64_t *p = zero; *p != UINT64_MAX; p++)
			z = z || *p == s;
		if (buf[i] != (z ? 0 : pattern(off + i))) {
			printf("#   byte %llu (sector %llu): %u\n", (unsigned long long)(off + i),
			       (unsigned long long)s, buf[i]);
			return false;
		}
	}
	return true;
}

static void open_disk(struct source *src, struct faults *f, struct salvage *s)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/disk.img", tmp);
	memset(f, 0, sizeof(*f));
	f->err = -EIO;
	f->flaky = UINT64_MAX;
	if (source_open(src, path))
		printf("# %s\n", ferr_msg());
	{
		static struct source_io io;

		io.pread = fault_pread;
		io.ctx = f;
		src->io = &io;
	}
	if (s) {
		salvage_init(s);
		s->found = on_found;
		src->salvage = s;
	}
}

static void read_path(void)
{
	static struct faults f;
	struct source src;
	struct salvage s;
	uint8_t *buf = malloc(DISK);
	uint64_t none[] = {UINT64_MAX}, three[] = {100, 101, 300, UINT64_MAX};
	struct ferry_warn_scope scope;
	int err;

	ferry_warn_push(&scope, on_warn, NULL);

	/* Without a salvage a failed read is an error. */
	open_disk(&src, &f, NULL);
	f.bad[100] = 1;
	err = source_pread(&src, buf, 256 * 1024, 0);
	is_int(err, -EIO, "no salvage: a read over a bad sector fails");
	ok(strstr(ferr_msg(), "read error on") && strstr(ferr_msg(), "disk.img"),
	   "... naming the disk: %s", ferr_msg());
	source_release(&src);

	/* With one: the bad sectors are zeros, the rest is the disk's. */
	open_disk(&src, &f, &s);
	f.bad[100] = f.bad[101] = f.bad[300] = 1;
	found_calls = 0;
	err = source_pread(&src, buf, 256 * 1024, 0);
	is_int(err, 0, "salvage: a 256 KiB read over three bad sectors succeeds");
	ok(same(buf, 256 * 1024, 0, three), "... sectors 100, 101 and 300 are zeros, the rest "
	   "the disk's bytes");
	is_int(s.n, 2, "... two ranges are recorded");
	ok(s.n == 2 && s.v[0].lba == 100 && s.v[0].sectors == 2 && s.v[1].lba == 300 &&
	   s.v[1].sectors == 1, "... 100-101 and 300");
	is_int(s.sectors, 3, "... three sectors in all");
	is_int(found_total, 3, "... the found hook was told the total");
	ok(f.reads <= 3 * 2 * 9 + 3 * SALVAGE_TRIES + 1,
	   "... narrowed by halving: %u reads for 512 sectors", f.reads);
	ok(f.careful == f.reads - 1, "... every read after the first is careful (%u of %u)",
	   f.careful, f.reads);
	ok(warnings == 3 && strstr(last_warning, "LBA 300 does not read") &&
	   strstr(last_warning, "written as zeros"), "... one warning each: %s", last_warning);

	/* The same range again: the known sectors are not tried again, and
	 * stay zeros even if the disk now reads them. */
	f.reads = f.careful = 0;
	err = source_pread(&src, buf, 256 * 1024, 0);
	ok(!err && same(buf, 256 * 1024, 0, three), "again: the same bytes");
	f.healed = true;
	f.reads = f.careful = 0;
	err = source_pread(&src, buf, 64 * 1024, 0);
	ok(!err && same(buf, 64 * 1024, 0, three) && f.reads == 1 && f.careful == 0,
	   "healed: one plain read, and the known sectors still zeros (%u reads)", f.reads);
	f.healed = false;
	f.reads = 0;
	memset(buf, 0xff, SEC);
	err = source_pread(&src, buf, 100, 300 * SEC + 10);
	ok(!err && !buf[0] && !buf[99] && f.reads == 1,
	   "a small read inside a known bad sector is zeros (%u read)", f.reads);

	/* A sector that fails twice, then reads: the tries get it. */
	f.flaky = 700;
	f.flaky_left = 2;
	err = source_pread(&src, buf, 64 * 1024, 640 * SEC);
	ok(!err && same(buf, 64 * 1024, 640 * SEC, none) && s.sectors == 3,
	   "a sector that reads on its third try is kept, not recorded");

	/* A read that is not aligned, over a new bad sector. */
	f.bad[2001] = 1;
	err = source_pread(&src, buf, 3 * SEC, 2000 * SEC + 100);
	{
		uint64_t z[] = {2001, UINT64_MAX};

		ok(!err && same(buf, 3 * SEC, 2000 * SEC + 100, z),
		   "an unaligned read: the bad sector's part is zeros, the rest read");
	}

	/* Many separate areas: sixteen warnings in all (four were given
	 * already), then one more line. */
	warnings = 0;
	for (unsigned i = 0; i < 20; i++)
		f.bad[3000 + 4 * i] = 1;
	err = source_pread(&src, buf, 128 * 1024, 3000 * SEC);
	ok(!err && warnings == SALVAGE_WARNINGS - 4 + 1 && strstr(last_warning, "more sectors do not read"),
	   "20 more areas: %u warnings, the last: %s", warnings, last_warning);
	is_int(s.sectors, 3 + 1 + 20, "... %llu sectors recorded in all",
	       (unsigned long long)s.sectors);
	ok(found_calls == 24, "... the found hook called once per sector (%u)", found_calls);

	/* Strict: the first sector given up ends the read. */
	s.strict = true;
	f.bad[5000] = 1;
	err = source_pread(&src, buf, 64 * 1024, 4992 * SEC);
	ok(err == -EIO && strstr(ferr_msg(), "LBA 5000 does not read") &&
	   strstr(ferr_msg(), "strict"), "strict: a new bad sector fails the read: %s", ferr_msg());
	s.strict = false;

	/* A device where every read fails: it stopped answering (counted
	 * from the last read that succeeded). */
	is_int(source_pread(&src, buf, SEC, 7000 * SEC), 0, "a good read");
	f.all = true;
	s.dead_seconds = 0;
	s.dead_reads = 8;
	f.reads = 0;
	err = source_pread(&src, buf, 1024 * 1024, 0);
	ok(err == -EIO && strstr(ferr_msg(), "stopped answering") && f.reads == 8,
	   "every read failing: the read ends after %u reads: %s", f.reads, ferr_msg());

	/* A device that is gone. */
	f.err = -ENODEV;
	s.dead_reads = 64;
	f.reads = 0;
	err = source_pread(&src, buf, SEC, 7000 * SEC);
	ok(err == -ENODEV && strstr(ferr_msg(), "is gone") && f.reads == 1,
	   "ENODEV: the disk is gone at once: %s", ferr_msg());
	salvage_release(&s);
	source_release(&src);

	/* More separate areas than are kept: the disk is failing. */
	open_disk(&src, &f, &s);
	for (unsigned i = 0; i <= SALVAGE_MAX_RANGES; i++)
		f.bad[2 * i] = 1;
	warnings = 0;
	err = source_pread(&src, buf, DISK, 0);
	ok(err == -EIO && strstr(ferr_msg(), "more than 4096 separate unreadable areas"),
	   "4097 separate areas end the read: %s", ferr_msg());
	salvage_release(&s);
	source_release(&src);

	ferry_warn_pop(&scope);
	free(buf);
}

static int add_range(uint64_t off, uint64_t len, void *arg)
{
	uint64_t *sum = arg;

	(void)off;
	*sum += len;
	return 0;
}

/* A block bitmap that does not read: its group is copied whole, and the
 * filesystem is not opened for changes. */
static void bitmap(const char *img)
{
	static struct faults f;
	struct ferry_warn_scope scope;
	struct source src;
	struct salvage s;
	struct blkdev dev, copy;
	struct extfs x;
	struct cow cow;
	uint64_t used = 0, bb;
	int err;

	bb = strtoull(sh_out("dumpe2fs %s 2>/dev/null | sed -n 's/^  Block bitmap at "
			     "\\([0-9]*\\).*/\\1/p' | head -n 1", img), NULL, 10);
	ok(bb > 0, "dumpe2fs: group 0's block bitmap is block %llu", (unsigned long long)bb);
	memset(&f, 0, sizeof(f));
	f.err = -EIO;
	f.flaky = UINT64_MAX;
	for (unsigned i = 0; i < 8; i++)
		f.bad[bb * 8 + i] = 1;
	if (source_open(&src, img))
		printf("# %s\n", ferr_msg());
	{
		static struct source_io io = {fault_pread, &f};

		src.io = &io;
	}
	salvage_init(&s);
	src.salvage = &s;
	ferry_warn_push(&scope, on_warn, NULL);
	warnings = 0;
	err = blk_window(&dev, &src, 0, src.size, false, "ext4.img") || extfs_open(&x, &dev);
	is_int(err, 0, "extfs_open with the bitmap's sectors failing");
	err = err ? err : extfs_used_ranges(&x, add_range, &used);
	ok(!err && used + x.unused_bytes == 32u << 20 && x.unused_bytes < 16u << 20,
	   "its only group is used whole but for what holds nothing read (unused inode "
	   "tables, the clean journal's body): %llu + %llu bytes (%s)",
	   (unsigned long long)used, (unsigned long long)x.unused_bytes, err ? ferr_msg() : "ok");
	ok(strstr(last_warning, "block bitmap of group 0") && strstr(last_warning, "copied whole"),
	   "... with a warning: %s", last_warning);
	if (!err)
		extfs_release(&x);
	cow_init(&cow);
	src.cow = &cow;
	err = blk_window(&copy, &src, 0, src.size, true, "ext4.img") || extfs_open_copy(&x, &copy);
	ok(err && strstr(ferr_msg(), "bitmaps are on sectors that do not read"),
	   "the copy is not opened for changes: %s", ferr_msg());
	cow_release(&cow);
	ferry_warn_pop(&scope);
	salvage_release(&s);
	source_release(&src);
}

/* extfs_block_owners on a filesystem mke2fs made, against debugfs. */
static void owners(void)
{
	char img[300], tree[300];
	struct source src;
	struct blkdev dev;
	struct extfs x;
	uint64_t blocks[6];
	char owner[6][EXTFS_OWNER_MAX], *out;
	unsigned long long file_blk, jblk, itab, free_blk;

	snprintf(img, sizeof(img), "%s/ext4.img", tmp);
	snprintf(tree, sizeof(tree), "%s/tree", tmp);
	if (sh("mkdir -p %s/srv/www %s/etc && head -c 200000 /dev/urandom >%s/srv/www/big.iso && "
	       "echo root:x:0:0 >%s/etc/passwd && mke2fs -q -F -t ext4 -b 4096 -d %s %s 32M "
	       ">/dev/null",
	       tree, tree, tree, tree, tree, img)) {
		ok(0, "mke2fs");
		return;
	}
	out = sh_out("debugfs -R 'blocks /srv/www/big.iso' %s 2>/dev/null", img);
	file_blk = strtoull(out, NULL, 10) + 10;
	out = sh_out("debugfs -R 'blocks <8>' %s 2>/dev/null | awk '{ print $NF }'", img);
	jblk = strtoull(out, NULL, 10) - 5;
	out = sh_out("dumpe2fs %s 2>/dev/null | sed -n 's/^  Inode table at \\([0-9]*\\)-.*/\\1/p' "
		     "| head -n 1", img);
	itab = strtoull(out, NULL, 10);
	out = sh_out("dumpe2fs %s 2>/dev/null | sed -n 's/^  Free blocks: \\([0-9]*\\)-.*/\\1/p' "
		     "| tail -n 1", img);
	free_blk = strtoull(out, NULL, 10);
	ok(file_blk > 10 && jblk > 100 && itab && free_blk,
	   "debugfs and dumpe2fs: file block %llu, journal block %llu, inode table %llu, "
	   "free block %llu", file_blk, jblk, itab, free_blk);

	is_int(source_open(&src, img), 0, "open the filesystem image");
	is_int(blk_window(&dev, &src, 0, src.size, false, "ext4.img") || extfs_open(&x, &dev), 0,
	       "extfs_open");
	blocks[0] = 0;
	blocks[1] = itab;
	blocks[2] = itab + 1;
	blocks[3] = file_blk < jblk ? file_blk : jblk;
	blocks[4] = file_blk < jblk ? jblk : file_blk;
	blocks[5] = free_blk;
	is_int(extfs_block_owners(&x, blocks, 6, owner), 0, "extfs_block_owners");
	is_str(owner[0], "superblock (group 0)", "block 0: the superblock");
	is_str(owner[1], "inode table, group 0 (inodes 1-16)", "the inode table's first block");
	is_str(owner[2], "inode table, group 0 (inodes 17-32)", "... its second");
	is_str(owner[file_blk < jblk ? 3 : 4], "/srv/www/big.iso", "a block of the file: its path");
	is_str(owner[file_blk < jblk ? 4 : 3], "the journal", "a block of the journal");
	is_str(owner[5], "free space", "a free block");
	extfs_release(&x);
	source_release(&src);
	bitmap(img);
}

int main(void)
{
	char path[300];
	uint8_t *disk = malloc(DISK);
	FILE *f;

	tap_plan(39);
	snprintf(tmp, sizeof(tmp), "%s/ferry-salvage-XXXXXX",
		 tap_tmpdir());
	if (!disk || !mkdtemp(tmp))
		return 1;
	for (uint64_t i = 0; i < DISK; i++)
		disk[i] = pattern(i);
	snprintf(path, sizeof(path), "%s/disk.img", tmp);
	f = fopen(path, "w");
	if (!f || fwrite(disk, 1, DISK, f) != DISK || fclose(f))
		return 1;
	free(disk);

	read_path();
	owners();
	sh("rm -rf %s", tmp);
	return tap_done();
}
