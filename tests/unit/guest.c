/* Guest files: the same operations on the directory backend and on ext2/3/4
 * filesystems in the copy-on-write overlay; the ext results are checked by
 * e2fsck and debugfs on the merged copy, and the source image must keep its
 * SHA-256. */
#include <errno.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk/source.h"
#include "blk/cow.h"
#include "fs/extfs.h"
#include "fs/guest.h"
#include "tap.h"
#include "testsh.h"
#include "util/err.h"

static char tmp[192];

static void make_tree(const char *dir)
{
	sh("mkdir -p %s/etc/sysconfig %s/boot/grub2 %s/var/many && "
	   "printf 'UUID=1 / ext4 defaults 0 1\\n' > %s/etc/fstab && "
	   "printf 'menuentry {\\n linux /vmlinuz root=/dev/sda2\\n}\\n' > %s/boot/grub2/grub.cfg && "
	   "ln -s ../boot/grub2/grub.cfg %s/etc/grub2.cfg && "
	   "ln -s /etc/fstab %s/etc/abs-link && "
	   "ln -s ../../../../../etc/fstab %s/etc/up-link && "
	   "printf 'x' > %s/etc/sysconfig/old && "
	   "head -c 300000 /dev/urandom > %s/var/big && "
	   "for i in $(seq 1 40); do : > %s/var/many/f$i; done",
	   dir, dir, dir, dir, dir, dir, dir, dir, dir, dir, dir);
}

static int names_fn(const char *name, uint32_t mode, void *arg)
{
	char *acc = arg;
	size_t n = strlen(acc);

	snprintf(acc + n, 1024 - n, "%s%s%s", n ? "," : "", name, GUEST_ISLNK(mode) ? "@" : "");
	return 0;
}

/* The operations every backend must get right; 24 tests. */
static void exercise(struct guest *g, const char *label)
{
	char *data = NULL, buf[256], names[1024] = "";
	size_t len;
	struct guest_stat st;
	static const char longer[] = "UUID=1 / ext4 defaults 0 1\n# a longer second line\n";

	is_int(guest_read(g, "/etc/fstab", 1 << 20, &data, &len), 0, "%s: read", label);
	is_str(data, "UUID=1 / ext4 defaults 0 1\n", "%s: content", label);
	free(data);
	is_int(guest_read(g, "/etc/grub2.cfg", 1 << 20, &data, &len), 0,
	       "%s: read through a relative link", label);
	ok(data && strstr(data, "root=/dev/sda2"), "%s: link target content", label);
	free(data);
	is_int(guest_read(g, "/etc/up-link", 1 << 20, &data, &len), 0,
	       "%s: '..' past the root stays at the guest's root", label);
	free(data);
	is_int(guest_read(g, "/etc/abs-link", 1 << 20, &data, &len), 0,
	       "%s: an absolute link resolves in the guest", label);
	is_str(data, "UUID=1 / ext4 defaults 0 1\n", "%s: absolute link content", label);
	free(data);
	is_int(guest_read(g, "/etc/nothing", 1 << 20, &data, &len), -ENOENT, "%s: missing file",
	       label);
	is_int(guest_read(g, "/var/big", 1000, &data, &len), -EFBIG, "%s: size limit", label);

	is_int(guest_write(g, "/etc/fstab", longer, strlen(longer), 0600), 0, "%s: grow", label);
	is_int(guest_write(g, "/boot/grub2/grub.cfg", "short\n", 6, 0644), 0,
	       "%s: shrink through the path", label);
	is_int(guest_write(g, "/etc/sysconfig/new", "NEW=1\n", 6, 0640), 0, "%s: create", label);
	is_int(guest_stat(g, "/etc/sysconfig/new", true, &st), 0, "%s: stat", label);
	is_int(st.mode, GUEST_S_IFREG | 0640, "%s: a new file's mode", label);
	is_int(guest_stat(g, "/etc/fstab", true, &st), 0, "%s: stat the grown file", label);
	ok(st.size == strlen(longer) && (st.mode & 0777) == 0644,
	   "%s: size follows the content, mode kept (mode %o size %llu)", label, st.mode,
	   (unsigned long long)st.size);

	is_int(guest_rename(g, "/etc/sysconfig/new", "/etc/sysconfig/old"), 0,
	       "%s: rename over an existing file", label);
	is_int(guest_unlink(g, "/var/big"), 0, "%s: unlink a large file", label);
	is_int(guest_symlink(g, "/etc/fstab", "/etc/newlink"), 0, "%s: symlink", label);
	is_int(guest_readlink(g, "/etc/newlink", buf, sizeof(buf)), 0, "%s: readlink", label);
	is_str(buf, "/etc/fstab", "%s: link target", label);
	is_int(guest_mkdir(g, "/etc/new.d", 0755), 0, "%s: mkdir", label);
	for (int i = 0; i < 200; i++) {
		char p[64];
		snprintf(p, sizeof(p), "/var/many/a-rather-long-file-name-number-%03d", i);
		if (guest_write(g, p, "x", 1, 0644)) {
			ok(0, "%s: create %s: %s", label, p, ferr_msg());
			break;
		}
	}
	is_int(guest_list(g, "/etc/sysconfig", names_fn, names), 0, "%s: list", label);
	is_str(names, "old", "%s: listing after rename", label);
}

static void check_dir_results(const char *root)
{
	is_str(sh_out("cat %s/etc/sysconfig/old", root), "NEW=1", "dir: renamed content");
	is_int(sh("test ! -e %s/var/big && test -L %s/etc/newlink && test -d %s/etc/new.d", root,
		  root, root), 0, "dir: unlink, symlink and mkdir on disk");
	is_str(sh_out("ls %s/var/many | wc -l", root), "240", "dir: 240 files in /var/many");
}

static int disk_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct source *src = ctx;
	struct cow *kept = src->cow;
	int err;

	src->cow = NULL;
	err = source_pread(src, buf, len, off);
	src->cow = kept;
	return err;
}

/* A clone of the overlay reads the same; a write to it leaves the original
 * as it was (the image check's trial run of the fixes). */
static void clone_overlay(struct source *src, struct cow *cow, const char *label)
{
	static uint8_t a[1 << 20], b[1 << 20];
	struct cow copy;
	uint64_t off = 1024;

	is_int(cow_clone(&copy, cow), 0, "%s: clone the overlay", label);
	ok(copy.n == cow->n && cow_bytes(&copy) == cow_bytes(cow), "%s: the clone holds as much",
	   label);
	src->cow = &copy;
	source_pread(src, a, sizeof(a), 0);
	src->cow = cow;
	source_pread(src, b, sizeof(b), 0);
	ok(!memcmp(a, b, sizeof(a)), "%s: the clone reads as the overlay", label);
	memset(a, 0xa5, 8192);
	cow_write(&copy, a, 8192, off, src->size, disk_read, src);
	source_pread(src, a, sizeof(a), 0);
	ok(!memcmp(a, b, sizeof(a)) && copy.n >= cow->n,
	   "%s: a write to the clone leaves the overlay as it was", label);
	src->cow = cow;
	cow_release(&copy);
}

static int test_ext(const char *type, const char *opts)
{
	char tree[300], img[300], out[300], label[64];
	struct source src;
	struct cow cow;
	struct extfs x;
	struct blkdev dev;
	struct guest g;
	char *sum;
	char before[80];
	uint8_t *buf;

	snprintf(label, sizeof(label), "%s%s%s", type, opts[0] ? " " : "", opts);
	static int n;

	n++;
	snprintf(tree, sizeof(tree), "%s/tree-%d", tmp, n);
	snprintf(img, sizeof(img), "%s/%d.img", tmp, n);
	snprintf(out, sizeof(out), "%s/%d.out", tmp, n);
	make_tree(tree);
	if (sh("mke2fs -q -F -t %s %s -d %s %s 24M >/dev/null", type, opts, tree, img)) {
		ok(0, "%s: mke2fs", label);
		return -1;
	}
	snprintf(before, sizeof(before), "%s", sh_out("sha256sum < %s", img));

	is_int(source_open(&src, img), 0, "%s: open the source", label);
	cow_init(&cow);
	src.cow = &cow;
	is_int(blk_window(&dev, &src, 0, src.size, true, label) || extfs_open_copy(&x, &dev), 0,
	       "%s: open on the copy", label);
	is_int(guest_ext_open(&g, &x), 0, "%s: guest", label);
	exercise(&g, label);
	guest_release(&g);
	is_int(extfs_close_copy(&x), 0, "%s: flush to the overlay", label);

	buf = malloc(src.size);
	ok(buf && source_pread(&src, buf, src.size, 0) == 0, "%s: read the merged copy", label);
	if (buf) {
		FILE *f = fopen(out, "w");
		ok(f && fwrite(buf, 1, src.size, f) == src.size && fclose(f) == 0,
		   "%s: write the merged copy", label);
	}
	free(buf);
	ok(cow.n > 0, "%s: the overlay holds %zu chunks", label, cow.n);
	clone_overlay(&src, &cow, label);
	src.cow = NULL;
	cow_release(&cow);
	source_release(&src);

	sum = sh_out("sha256sum < %s", img);
	is_str(sum, before, "%s: the source image is unchanged", label);
	is_int(sh("e2fsck -fn %s >%s/fsck.log 2>&1 || { cat %s/fsck.log; exit 1; }", out, tmp, tmp),
	       0, "%s: e2fsck -fn on the copy is clean", label);
	is_str(sh_out("debugfs -R 'cat /etc/sysconfig/old' %s 2>/dev/null", out), "NEW=1",
	       "%s: debugfs reads the renamed file", label);
	is_str(sh_out("debugfs -R 'cat /boot/grub2/grub.cfg' %s 2>/dev/null", out), "short",
	       "%s: debugfs reads the shrunk file", label);
	is_str(sh_out("debugfs -R 'stat /etc/newlink' %s 2>/dev/null | grep -c 'Fast link dest: \"/etc/fstab\"'", out),
	       "1", "%s: debugfs sees the symlink", label);
	is_str(sh_out("debugfs -R 'ls -l /var/many' %s 2>/dev/null | grep -c a-rather-long", out),
	       "200", "%s: 200 new entries in a grown directory", label);
	is_str(sh_out("debugfs -R 'cat /var/big' %s 2>&1 | grep -c 'File not found'", out), "1",
	       "%s: the removed file is gone", label);
	return 0;
}

int main(void)
{
	char root[300];
	struct guest g, *boot;
	char *data = NULL;
	size_t len;

	tap_plan(24 + 3 + 6 + 4 * 42);
	snprintf(tmp, sizeof(tmp), "%s/ferry-guest-XXXXXX", tap_tmpdir());
	if (!mkdtemp(tmp))
		return 1;

	snprintf(root, sizeof(root), "%s/dir", tmp);
	make_tree(root);
	is_int(guest_dir_open(&g, root), 0, "dir: open");
	exercise(&g, "dir");
	check_dir_results(root);

	/* A second guest mounted at /boot: links cross into it, renames do not. */
	sh("mkdir -p %s/bootfs/grub2 && printf 'on boot\\n' > %s/bootfs/grub2/grub.cfg && "
	   "ln -sf ../boot/grub2/grub.cfg %s/etc/grub2.cfg", tmp, tmp, root);
	boot = calloc(1, sizeof(*boot));
	snprintf(root, sizeof(root), "%s/bootfs", tmp);
	is_int(boot ? guest_dir_open(boot, root) : -ENOMEM, 0, "mount: open /boot");
	is_int(guest_mount(&g, "/boot/", boot), 0, "mount: at /boot");
	is_int(guest_read(&g, "/etc/grub2.cfg", 4096, &data, &len), 0, "mount: read through a link");
	is_str(data, "on boot\n", "mount: the mounted guest answers");
	free(data);
	is_int(guest_rename(&g, "/boot/grub2/grub.cfg", "/etc/x"), -EXDEV, "mount: EXDEV");
	guest_release(&g);

	test_ext("ext4", "");
	test_ext("ext4", "-O metadata_csum,64bit,^resize_inode");
	test_ext("ext3", "-b 1024");
	test_ext("ext2", "");

	sh("rm -rf %s", tmp);
	return tap_failed ? 1 : 0;
}
