/* FAT12, FAT16 and FAT32 made by mkfs.vfat and filled by mtools: Ferry's
 * reader finds what mtools wrote and the figures fsck.fat prints; its
 * writes, in the overlay, are read back by mtype and mdir, and fsck.fat -n
 * finds nothing wrong; the source image is never written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk/blk.h"
#include "blk/cow.h"
#include "fs/fat.h"
#include "tap.h"
#include "testsh.h"
#include "util/err.h"

static char dir[192];

#define MT "MTOOLS_SKIP_CHECK=1 "

/* The files mtools puts on every filesystem: short and long names, a
 * name that differs from its alias by case only, a file of 100003 bytes,
 * and 40 long names in one directory (more than one cluster of entries). */
static int fill(const char *img)
{
	return sh("rm -rf t && mkdir -p t/EFI/debian t/EFI/BOOT t/many && "
		  "printf 'search.fs_uuid 0b7c root\\nconfigfile $prefix/grub.cfg\\n' > t/EFI/debian/grub.cfg && "
		  "head -c 100003 /dev/urandom > t/EFI/BOOT/BOOTX64.EFI && "
		  "printf 'long\\n' > 't/EFI/a long file name.txt' && printf 'mixed\\n' > t/MixedCase.Conf && "
		  "for i in $(seq 1 40); do echo $i > \"t/many/entry number $i.txt\"; done && "
		  MT "mcopy -s -i %s t/EFI t/many t/MixedCase.Conf ::/",
		  img);
}

struct names {
	char buf[4096];
	int dirs;
};

static int add_name(const char *name, bool isdir, void *arg)
{
	struct names *n = arg;
	size_t len = strlen(n->buf);

	snprintf(n->buf + len, sizeof(n->buf) - len, "%s%s;", name, isdir ? "/" : "");
	n->dirs += isdir;
	return 0;
}

static int sum_range(uint64_t off, uint64_t len, void *arg)
{
	uint64_t *s = arg;

	(void)off;
	s[0] += len;
	s[1]++;
	return 0;
}

static void reads(struct fat_fs *f, const char *label, unsigned bits, const char *img)
{
	struct fat_info info;
	struct fat_stat st;
	struct names n = {"", 0};
	uint64_t sums[2] = {0, 0};
	char *data, expect[64];
	size_t len, blen;
	uint8_t *big;

	fatfs_get_info(f, &info);
	ok(info.bits == bits && !strcmp(info.uuid, "5EED-1E55") && !strcmp(info.label, "ESP"),
	   "%s: FAT%u, serial 5EED-1E55, label ESP (got FAT%u %s '%s')", label, bits, info.bits,
	   info.uuid, info.label);
	snprintf(expect, sizeof(expect), "%u/%u", info.used_clusters, info.clusters);
	is_str(sh_out("fsck.fat -n -v %s 2>&1 | sed -n 's/.* files, \\([0-9]*\\/[0-9]*\\) clusters$/\\1/p'",
		      img), expect, "%s: used/total clusters as fsck.fat -v counts them", label);
	is_int(fatfs_used_ranges(f, sum_range, sums), 0, "%s: used ranges", label);
	ok(sums[0] == info.used && sums[1] >= 1, "%s: the ranges add up to the used bytes (%llu in %llu)",
	   label, (unsigned long long)sums[0], (unsigned long long)sums[1]);

	is_int(fatfs_read(f, "/EFI/debian/grub.cfg", 4096, &data, &len), 0, "%s: read grub.cfg", label);
	ok(data && !strcmp(data, "search.fs_uuid 0b7c root\nconfigfile $prefix/grub.cfg\n"),
	   "%s: ... its contents", label);
	free(data);
	big = get_file("t/EFI/BOOT/BOOTX64.EFI", &blen);
	is_int(fatfs_read(f, "/efi/boot/bootx64.efi", 1 << 20, &data, &len), 0,
	       "%s: read a 100003-byte file by another case", label);
	ok(data && big && len == blen && !memcmp(data, big, len), "%s: ... byte for byte", label);
	free(data);
	free(big);
	is_int(fatfs_read(f, "/EFI/BOOT/BOOTX64.EFI", 1000, &data, &len), -EFBIG,
	       "%s: larger than asked for: -EFBIG", label);
	is_int(fatfs_read(f, "/EFI/a long file name.txt", 100, &data, &len), 0,
	       "%s: a long name", label);
	free(data);
	is_int(fatfs_read(f, "/EFI/nothere", 100, &data, &len), -ENOENT, "%s: missing: -ENOENT", label);
	is_int(fatfs_read(f, "/EFI", 100, &data, &len), -EISDIR, "%s: a directory: -EISDIR", label);
	is_int(fatfs_stat(f, "/many/entry number 40.txt", &st), 0, "%s: stat past a cluster of entries",
	       label);
	ok(!st.dir && st.size == 3, "%s: ... a file of 3 bytes", label);
	is_int(fatfs_list(f, "/", add_name, &n), 0, "%s: list /", label);
	is_str(n.buf, "EFI/;many/;MixedCase.Conf;", "%s: ... names as mtools wrote them", label);
	n.buf[0] = '\0';
	is_int(fatfs_list(f, "/many", add_name, &n), 0, "%s: list a directory of 40", label);
	ok(strstr(n.buf, "entry number 1.txt;") && strstr(n.buf, "entry number 40.txt;") &&
	   !strstr(n.buf, "~"), "%s: ... every long name", label);
}

static void writes(struct fat_fs *f, const char *label)
{
	static const char cfg[] = "set root=(hd0,gpt2)\nconfigfile /grub/grub.cfg\n";
	char *big = malloc(70000), name[64], *data;
	size_t len;

	memset(big, 'g', 70000);
	is_int(fatfs_write(f, "/EFI/debian/grub.cfg", cfg, sizeof(cfg) - 1), 0,
	       "%s: replace grub.cfg", label);
	is_int(fatfs_write(f, "/EFI/debian/grubenv", big, 70000), 0,
	       "%s: a new 70000-byte file with a lower-case 8.3 name", label);
	is_int(fatfs_write(f, "/EFI/debian/Ferry Notes.txt", "n\n", 2), 0,
	       "%s: a new file with a long name", label);
	is_int(fatfs_write(f, "/EFI/BOOT/BOOTX64.EFI", "", 0), 0, "%s: a file emptied", label);
	is_int(fatfs_mkdir(f, "/EFI/ferry"), 0, "%s: mkdir", label);
	is_int(fatfs_mkdir(f, "/EFI/ferry"), -EEXIST, "%s: mkdir again: -EEXIST", label);
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "/EFI/ferry/a file called number %d", i);
		if (fatfs_write(f, name, name, strlen(name)))
			break;
	}
	is_int(fatfs_read(f, "/EFI/ferry/a file called number 49", 100, &data, &len), 0,
	       "%s: 50 files in a new directory", label);
	free(data);
	is_int(fatfs_rename(f, "/MixedCase.Conf", "/EFI/ferry/moved.conf"), 0,
	       "%s: move a file to another directory", label);
	is_int(fatfs_rename(f, "/EFI/debian/Ferry Notes.txt", "/EFI/debian/grub.cfg"), -0,
	       "%s: rename over a file", label);
	is_int(fatfs_rename(f, "/many", "/EFI/many"), 0, "%s: move a directory", label);
	is_int(fatfs_remove(f, "/EFI/a long file name.txt"), 0, "%s: remove a file", label);
	is_int(fatfs_remove(f, "/EFI/many"), -ENOTEMPTY, "%s: a directory with files: -ENOTEMPTY",
	       label);
	is_int(fatfs_write(f, "/nodir/x", "x", 1), -ENOENT, "%s: no parent: -ENOENT", label);
	is_int(fatfs_write(f, "/EFI/bad:name", "x", 1), -EINVAL, "%s: a ':' in a name: -EINVAL",
	       label);
	free(big);
}

/* What mtools and fsck.fat make of the copy after the writes. */
static void check_copy(const char *label, const char *out)
{
	char *grubenv;

	is_int(sh("fsck.fat -n %s > fsck.log 2>&1 || { cat fsck.log; exit 1; }", out), 0,
	       "%s: fsck.fat -n finds nothing wrong", label);
	is_str(sh_out(MT "mtype -i %s ::/EFI/debian/grub.cfg", out),
	       "n", "%s: mtype: grub.cfg is what was renamed over it", label);
	grubenv = sh_out(MT "mtype -i %s ::/EFI/debian/grubenv | wc -c", out);
	is_str(grubenv, "70000", "%s: mtype: grubenv's 70000 bytes", label);
	is_str(sh_out(MT "mtype -i %s ::/EFI/ferry/moved.conf", out), "mixed",
	       "%s: mtype: the moved file", label);
	is_str(sh_out(MT "mtype -i %s '::/EFI/many/entry number 7.txt'", out), "7",
	       "%s: mtype: a file of the moved directory", label);
	is_str(sh_out(MT "mdir -b -i %s ::/EFI/ferry | wc -l", out), "51",
	       "%s: mdir: 51 entries in the new directory", label);
	is_str(sh_out(MT "mdir -b -i %s ::/EFI/debian | sed 's|.*/||' | sort | tr '\\n' ' '", out),
	       "grub.cfg grubenv ", "%s: mdir: the names in EFI/debian", label);
	is_str(sh_out(MT "mtype -i %s ::/EFI/BOOT/BOOTX64.EFI | wc -c", out), "0",
	       "%s: mtype: the emptied file", label);
}

static void one(const char *label, unsigned bits, const char *mkfs, int kib)
{
	char img[64], out[64], before[80];
	struct source src;
	struct cow cow;
	struct blkdev dev, copy;
	struct fat_fs *f;
	uint8_t *buf;

	snprintf(img, sizeof(img), "fat%u.img", bits);
	snprintf(out, sizeof(out), "fat%u.out", bits);
	if (sh("rm -f %s && mkfs.vfat -C %s -i 5EED1E55 -n ESP %s %d >/dev/null", img, mkfs, img,
	       kib) || fill(img)) {
		ok(0, "%s: mkfs.vfat and mcopy", label);
		return;
	}
	snprintf(before, sizeof(before), "%s", sh_out("sha256sum < %s", img));
	sh_path(img, out, sizeof(out));
	is_int(source_open(&src, out), 0, "%s: open the source", label);
	snprintf(out, sizeof(out), "fat%u.out", bits);
	is_int(blk_window(&dev, &src, 0, src.size, false, label) || fatfs_open(&f, &dev, false), 0,
	       "%s: open read-only", label);
	reads(f, label, bits, img);
	is_int(fatfs_write(f, "/x", "x", 1), -EROFS, "%s: read-only: -EROFS", label);
	fatfs_free(f);

	cow_init(&cow);
	src.cow = &cow;
	is_int(blk_window(&copy, &src, 0, src.size, true, label) || fatfs_open(&f, &copy, true), 0,
	       "%s: open on the copy", label);
	writes(f, label);
	fatfs_free(f);
	buf = malloc(src.size);
	ok(buf && source_pread(&src, buf, src.size, 0) == 0 && !put_file(out, buf, src.size),
	   "%s: write out the copy", label);
	free(buf);
	src.cow = NULL;
	cow_release(&cow);
	source_release(&src);
	is_str(sh_out("sha256sum < %s", img), before, "%s: the source image is unchanged", label);
	check_copy(label, out);
}

/* A directory whose chain loops, and a boot sector that is not FAT, fail
 * cleanly. */
static void damaged(void)
{
	struct names n = {"", 0};
	struct source src;
	struct blkdev dev;
	struct fat_fs *f;
	char path[128];
	unsigned long c;

	/* FAT16: the first cluster of /many points at itself */
	static const char py[] =
		"import struct,sys\n"
		"f=open(sys.argv[1],'r+b'); b=f.read(512)\n"
		"bps,spc,rsv,nf,re=struct.unpack_from('<HBHBH',b,11)\n"
		"fs=struct.unpack_from('<H',b,22)[0]\n"
		"f.seek((rsv+nf*fs)*bps); root=f.read(re*32)\n"
		"c=[struct.unpack_from('<H',root,i+26)[0] for i in range(0,len(root),32)\n"
		"   if root[i:i+4]==b'MANY' and root[i+11]==0x10][0]\n"
		"for k in range(nf):\n"
		"    f.seek((rsv+k*fs)*bps+2*c); f.write(struct.pack('<H',c))\n"
		"print(c)\n";

	put_file("loop.py", py, sizeof(py) - 1);
	c = strtoul(sh_out("cp fat16.img loop.img && python3 loop.py loop.img"), NULL, 10);
	ok(c >= 2, "a loop planted at cluster %lu", c);
	sh_path("loop.img", path, sizeof(path));
	is_int(source_open(&src, path), 0, "open the damaged image");
	blk_window(&dev, &src, 0, src.size, false, "loop.img");
	is_int(fatfs_open(&f, &dev, false), 0, "a FAT with a loop opens");
	if (f) {
		is_int(fatfs_list(f, "/many", add_name, &n), -EINVAL, "listing the looping directory: -EINVAL");
		ok(strstr(ferr_msg(), "longer than any FAT directory") != NULL, "... saying so: %s",
		   ferr_msg());
		fatfs_free(f);
	}
	source_release(&src);

	/* FAT12: bytes that are not entries after the root's end mark (found
	 * by the fat fuzz target: a new entry went past them, where nothing
	 * reads) */
	{
		static const char mark[] =
			"import struct,sys\n"
			"f=open(sys.argv[1],'r+b'); b=f.read(512)\n"
			"bps,spc,rsv,nf,re=struct.unpack_from('<HBHBH',b,11)\n"
			"at=(rsv+nf*struct.unpack_from('<H',b,22)[0])*bps\n"
			"f.seek(at); root=f.read(re*32)\n"
			"e=next(i for i in range(0,len(root),32) if root[i]==0)\n"
			"f.seek(at+e+32); f.write(b'GARBAGE    '*3); print(e//32)\n";
		struct cow cow;
		struct blkdev copy;
		uint8_t *buf;

		put_file("mark.py", mark, sizeof(mark) - 1);
		ok(atoi(sh_out("cp fat12.img mark.img && python3 mark.py mark.img")) > 0,
		   "bytes planted after the root's end mark");
		sh_path("mark.img", path, sizeof(path));
		source_open(&src, path);
		cow_init(&cow);
		src.cow = &cow;
		blk_window(&copy, &src, 0, src.size, true, "mark.img");
		is_int(fatfs_open(&f, &copy, true), 0, "open a FAT12 with bytes past the root's end mark");
		if (f) {
			is_int(fatfs_write(f, "/a file written after the end mark.txt", "here\n", 5), 0,
			       "... write a file with a long name");
			fatfs_free(f);
		}
		buf = malloc(src.size);
		ok(buf && !source_pread(&src, buf, src.size, 0) && !put_file("mark.out", buf, src.size),
		   "... write out the copy");
		free(buf);
		src.cow = NULL;
		cow_release(&cow);
		source_release(&src);
		is_str(sh_out(MT "mtype -i mark.out '::/a file written after the end mark.txt'"), "here",
		       "... mtype finds it");
	}

	sh("head -c 1048576 /dev/zero > zero.img");
	sh_path("zero.img", path, sizeof(path));
	is_int(source_open(&src, path), 0, "open a disk of zeros");
	blk_window(&dev, &src, 0, src.size, false, "zero.img");
	is_int(fatfs_open(&f, &dev, false), -EINVAL, "zeros are not FAT: -EINVAL");
	ok(strstr(ferr_msg(), "zero.img: not a FAT boot sector") != NULL, "... saying so: %s",
	   ferr_msg());
	source_release(&src);
}

int main(void)
{
	if (!tap_scratch(dir, sizeof(dir), "fat")) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	sh_cwd = dir;
	one("FAT12", 12, "-F 12", 4096);
	one("FAT16", 16, "-F 16", 20480);
	one("FAT32", 32, "-F 32 -s 1", 40960);
	damaged();
	sh("cd / && rm -rf '%s'", dir);
	tap_plan(tap_num);
	return tap_done();
}
