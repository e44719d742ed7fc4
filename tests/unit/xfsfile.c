/* Ferry's XFS file reader (fs/xfs.h) and its read-only guest backend, on
 * filesystems mkfs.xfs made: v5 with 4 KiB blocks, v5 with 1 KiB blocks and
 * 8 KiB directory blocks (both filled through the kernel's mount), and v4
 * with 256-byte inodes and no file types in directory entries (filled from
 * a prototype file). What Ferry reads is compared with what the kernel or
 * the prototype's tree holds (xfs_tree.sh). Then hostile copies of the
 * first: a damaged extent B+tree, directory blocks, shortform directories,
 * inodes and link blocks, each refused with -EINVAL (or -EFBIG) and a
 * message, at once. */
#include <errno.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "blk/blk.h"
#include "blk/source.h"
#include "fs/guest.h"
#include "fs/xfs.h"
#include "tap.h"
#include "testsh.h"
#include "util/endian.h"
#include "util/err.h"

#define FSTAB "UUID=0b7c6c8e-4b44-4a5e-9c2a-1f7c0c7d0b02 / xfs defaults 0 0\n"
#define MiB (1024 * 1024)

static char dir[192];
static char script[512];

struct img {
	struct source src;
	struct blkdev d;
	struct xfs_fs *x;
};

static int img_open(struct img *m, const char *path)
{
	int err;

	memset(m, 0, sizeof(*m));
	if (source_open(&m->src, path))
		return -EIO;
	err = blk_window(&m->d, &m->src, 0, m->src.size, false, "x.img");
	if (!err)
		err = xfs_open(&m->x, &m->d);
	if (err)
		source_release(&m->src);
	return err;
}

static void img_close(struct img *m)
{
	xfs_free(m->x);
	source_release(&m->src);
}

/* The file at path (in the test's directory), whole; NULL if unreadable. */
static char *slurp(const char *path, size_t *len)
{
	char full[600];
	FILE *f;
	char *buf;
	long n;

	snprintf(full, sizeof(full), "%s/%s", dir, path);
	f = fopen(full, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

struct names {
	char *s;
	size_t len, cap, n;
	uint32_t modes; /* every type seen, or-ed */
	bool dirs;      /* a directory among them */
};

static int add_name(const char *name, uint32_t mode, void *arg)
{
	struct names *l = arg;
	size_t n = strlen(name);

	if (l->len + n + 2 > l->cap) {
		l->cap = (l->len + n + 2) * 2;
		l->s = realloc(l->s, l->cap);
	}
	memcpy(l->s + l->len, name, n);
	l->s[l->len + n] = '\n';
	l->len += n + 1;
	l->s[l->len] = '\0';
	l->n++;
	l->modes |= mode;
	l->dirs |= GUEST_ISDIR(mode);
	return 0;
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names, one a line, sorted as LC_ALL=C sort does. */
static void sort_names(struct names *l)
{
	char **v = calloc(l->n + 1, sizeof(*v)), *out = malloc(l->len + 1), *p = l->s;
	size_t k = 0, at = 0;

	for (size_t i = 0; i < l->n; i++) {
		v[i] = p;
		p = strchr(p, '\n');
		*p++ = '\0';
	}
	qsort(v, l->n, sizeof(*v), cmp_lines);
	for (k = 0; k < l->n; k++)
		at += (size_t)snprintf(out + at, l->len + 1 - at, "%s\n", v[k]);
	if (l->n)
		memcpy(l->s, out, at + 1);
	free(v);
	free(out);
}

static void read_is(struct xfs_fs *x, const char *label, const char *path, const char *want)
{
	char *data = NULL;
	size_t len = 0;
	int err = xfs_read(x, path, MiB, &data, &len);

	if (!ok(!err && data && len == strlen(want) && !strcmp(data, want), "%s: read %s", label,
		path))
		printf("#   err %d (%s), %zu bytes\n", err, err ? ferr_msg() : "", len);
	free(data);
}

static void read_fails(struct xfs_fs *x, const char *label, const char *path, size_t max,
		       int want)
{
	char *data = NULL;
	size_t len = 0;

	is_int(xfs_read(x, path, max, &data, &len), want, "%s: read %s: %s", label, path,
	       strerror(-want));
	ok(!data, "%s: read %s: nothing handed out", label, path);
	free(data);
}

/* The same bytes as the file the kernel wrote (a copy in the test dir). */
static void read_equals(struct xfs_fs *x, const char *label, const char *path, const char *copy)
{
	size_t wlen = 0, len = 0;
	char *want = slurp(copy, &wlen), *data = NULL;
	int err = xfs_read(x, path, 128 * MiB, &data, &len);

	if (!ok(!err && want && len == wlen && !memcmp(data, want, len),
		"%s: %s reads as the kernel wrote it (%zu bytes)", label, path, wlen))
		printf("#   err %d (%s), %zu bytes\n", err, err ? ferr_msg() : "", len);
	free(want);
	free(data);
}

static void list_equals(struct xfs_fs *x, const char *label, const char *name, bool typed)
{
	char path[64], copy[64];
	struct names l = {0};
	size_t wlen = 0;
	char *want;
	int err;

	snprintf(path, sizeof(path), "/%s", name);
	snprintf(copy, sizeof(copy), "want/%s.list", name);
	want = slurp(copy, &wlen);
	err = xfs_list(x, path, add_name, &l);
	if (l.s)
		sort_names(&l);
	if (!ok(!err && want && l.s && !strcmp(l.s, want), "%s: listing %s: the %zu names ls "
		"gives", label, path, l.n))
		printf("#   err %d (%s), %zu names\n", err, err ? ferr_msg() : "", l.n);
	if (typed)
		ok(l.modes && !(l.modes & ~(GUEST_S_IFREG | GUEST_S_IFDIR)),
		   "%s: listing %s: types of regular files%s", label, path,
		   l.dirs ? " and a directory" : "");
	free(l.s);
	free(want);
}

static void link_is(struct xfs_fs *x, const char *label, const char *path, const char *copy)
{
	char buf[1100];
	size_t wlen = 0;
	char *want = slurp(copy, &wlen);
	int err = xfs_readlink(x, path, buf, sizeof(buf));

	if (want && wlen && want[wlen - 1] == '\n')
		want[--wlen] = '\0';
	if (!ok(!err && want && !strcmp(buf, want), "%s: readlink %s (%zu bytes)", label, path,
		wlen))
		printf("#   err %d (%s)\n", err, err ? ferr_msg() : "");
	free(want);
}

/* What every fixture must read right: 40 tests. */
static void files_cases(struct xfs_fs *x, const char *label, const struct blkdev *d)
{
	static const char *const same[] = {
		"/etc/fstab", "/etc/abs", "/etc/rel", "/link1", "/up", "/etc/long",
		"/etc/longest", "//etc/./../etc//fstab",
	};
	struct xfs_stat st;
	char buf[16], *data = NULL;
	size_t len;

	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		read_is(x, label, same[i], FSTAB);
	read_is(x, label, "/lib/mods/virtio_blk.ko", "module\n");
	read_is(x, label, "/deep/a/b/c/file", "deep\n");
	read_is(x, label, "/block/block-entry-number-20", "block 20\n");
	read_is(x, label, "/sf/f3", "sf 3\n");
	list_equals(x, label, "sf", true);
	list_equals(x, label, "block", true);
	list_equals(x, label, "leaf", true);
	list_equals(x, label, "node", true);
	link_is(x, label, "/etc/long", "want/long.target");
	link_is(x, label, "/etc/longest", "want/longest.target");
	is_int(xfs_readlink(x, "/etc/long", buf, sizeof(buf)), -ENAMETOOLONG,
	       "%s: readlink into a small buffer: -ENAMETOOLONG", label);
	is_int(xfs_readlink(x, "/etc/fstab", buf, sizeof(buf)), -EINVAL,
	       "%s: readlink of a regular file: -EINVAL", label);
	ok(!xfs_stat(x, "/lib", false, &st) && GUEST_ISLNK(st.mode) && st.size == 7,
	   "%s: lstat /lib: a link of 7 bytes", label);
	ok(!xfs_stat(x, "/lib", true, &st) && GUEST_ISDIR(st.mode),
	   "%s: stat /lib: the directory it names", label);
	ok(!xfs_stat(x, "/etc/fstab", true, &st) && GUEST_ISREG(st.mode) &&
	   st.size == strlen(FSTAB), "%s: stat /etc/fstab: its size", label);
	read_fails(x, label, "/etc/nothing", MiB, -ENOENT);
	is_int(xfs_read(x, "/nothing/fstab", MiB, &data, &len), -ENOENT,
	       "%s: a missing directory: -ENOENT", label);
	is_int(xfs_read(x, "/etc/fstab/x", MiB, &data, &len), -ENOTDIR,
	       "%s: a file as a directory: -ENOTDIR", label);
	read_fails(x, label, "/loop1", MiB, -ELOOP);
	is_int(xfs_stat(x, "/self", true, &st), -ELOOP, "%s: a link to itself: -ELOOP", label);
	read_fails(x, label, "/etc/fstab", 10, -EFBIG);
	is_int(xfs_read(x, "/etc", MiB, &data, &len), -EISDIR, "%s: read a directory: -EISDIR",
	       label);
	is_int(xfs_read_file(d, "/etc/os-release", MiB, &data, &len), 0,
	       "%s: xfs_read_file", label);
	ok(data && strstr(data, "ID=\"rocky\""), "%s: xfs_read_file: os-release's text", label);
	free(data);
	is_int(xfs_read_file(d, "/etc", MiB, &data, &len), -ENOENT,
	       "%s: xfs_read_file of a directory: -ENOENT (as extfs_read_file)", label);
}

/* What only the mounted fixtures have: 6 tests. */
static void mounted_cases(struct xfs_fs *x, const char *label)
{
	struct xfs_stat st;

	read_equals(x, label, "/big", "want/big");
	read_equals(x, label, "/prealloc", "want/prealloc");
	ok(!xfs_stat(x, "/etc/os-release", true, &st) && st.uid == 12 && st.gid == 34 &&
	   (st.mode & 07777) == 0640, "%s: stat: owner 12:34, mode 0640", label);
	ok(!xfs_stat(x, "/etc/fstab", true, &st) && st.nlink == 2,
	   "%s: stat: a hard link counts two", label);
	{
		char *data = NULL;
		size_t len = 0;
		double ms;
		struct timespec a, b;

		clock_gettime(CLOCK_MONOTONIC, &a);
		for (int i = 0; i < 20; i++) {
			free(data);
			data = NULL;
			xfs_read(x, "/node/a-moderately-long-file-name-number-4999", MiB, &data,
				 &len);
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
		ok(data && len == 0, "%s: a name late in a node directory of 5000", label);
		ok(ms < 5000, "%s: found 20 times in %.0f ms", label, ms);
		free(data);
	}
}

/* mkfs.xfs with opts on a sparse file, filled through a loop mount. */
static int mkfs_mounted(const char *name, const char *opts)
{
	return sh("cd %s && truncate -s 320M %s && mkfs.xfs -q -f %s %s && mkdir -p mnt && "
		  "mount -o loop %s mnt && { %s mnt/ want mounted; rc=$?; umount mnt; "
		  "exit $rc; }", dir, name, opts, name, name, script);
}

static void guest_cases(const char *img)
{
	struct source src;
	struct blkdev d;
	struct guest g;
	struct guest_stat st;
	struct names l = {0};
	char *data = NULL, buf[64];
	size_t len;
	int err;

	if (source_open(&src, img) || blk_window(&d, &src, 0, src.size, false, "/dev/vda2")) {
		ok(0, "guest: the image opens");
		return;
	}
	is_int(guest_xfs_open(&g, &d), 0, "guest: guest_xfs_open");
	is_int(guest_read(&g, "/etc/link2", MiB, &data, &len), 0,
	       "guest: read through a chain of links");
	is_str(data, FSTAB, "guest: the chain ends at /etc/fstab");
	free(data);
	is_int(guest_read(&g, "/lib/mods/virtio_blk.ko", MiB, &data, &len), 0,
	       "guest: read through a directory link");
	free(data);
	is_int(guest_list(&g, "/node", add_name, &l), 0, "guest: list a node directory");
	is_int(l.n, 5000, "guest: its 5000 names");
	free(l.s);
	ok(!guest_stat(&g, "/etc/abs", false, &st) && GUEST_ISLNK(st.mode),
	   "guest: lstat of a link");
	is_int(guest_readlink(&g, "/etc/abs", buf, sizeof(buf)), 0, "guest: readlink");
	is_str(buf, "/etc/fstab", "guest: the link's target");
	ok(guest_exists(&g, "/etc/os-release") && !guest_exists(&g, "/etc/none"),
	   "guest: guest_exists");
	is_int(guest_read(&g, "/loop1", MiB, &data, &len), -ELOOP, "guest: a loop: -ELOOP");
	err = guest_write(&g, "/etc/fstab", "x", 1, 0644);
	is_int(err, -EROFS, "guest: write: -EROFS");
	ok(strstr(ferr_msg(), "/dev/vda2") && strstr(ferr_msg(), "XFS is edited by the kernel"),
	   "guest: the message names the filesystem and says why: %s", ferr_msg());
	is_int(guest_write(&g, "/etc/new", "x", 1, 0644), -EROFS, "guest: create: -EROFS");
	is_int(guest_unlink(&g, "/etc/fstab"), -EROFS, "guest: unlink: -EROFS");
	is_int(guest_rename(&g, "/etc/fstab", "/etc/fstab2"), -EROFS, "guest: rename: -EROFS");
	is_int(guest_symlink(&g, "/x", "/etc/newlink"), -EROFS, "guest: symlink: -EROFS");
	is_int(guest_mkdir(&g, "/newdir", 0755), -EROFS, "guest: mkdir: -EROFS");
	guest_release(&g);
	source_release(&src);
}

/* The pristine first image's geometry, for finding what to damage. */
static struct {
	uint32_t bs, agblocks, isize;
	unsigned agblklog, inopblog;
	uint8_t uuid[16];
} geo;

static char pristine[300], hostile[300];
static int hfd = -1;

static void put_crc(uint8_t *b, size_t len, size_t off)
{
	put_le32(b + off, 0);
	put_le32(b + off, ~ext2fs_crc32c_le(~0u, b, len));
}

static uint64_t fsb_off(uint64_t fsb)
{
	return ((fsb >> geo.agblklog) * geo.agblocks + (fsb & ((1ull << geo.agblklog) - 1))) *
	       geo.bs;
}

static uint64_t ino_off(uint64_t ino)
{
	unsigned bits = geo.agblklog + geo.inopblog;
	uint64_t agbno = (ino >> geo.inopblog) & ((1ull << geo.agblklog) - 1);

	return ((ino >> bits) * geo.agblocks + agbno) * geo.bs +
	       (ino & ((1ull << geo.inopblog) - 1)) * geo.isize;
}

static void rd(void *buf, size_t len, uint64_t off)
{
	if (pread(hfd, buf, len, (off_t)off) != (ssize_t)len)
		printf("# short read at %llu\n", (unsigned long long)off);
}

/* What each damage overwrote, to be put back. */
static struct undo {
	uint64_t off;
	size_t len;
	uint8_t *was;
} undo[16];
static size_t nundo;

static void wr(const void *buf, size_t len, uint64_t off)
{
	if (nundo < sizeof(undo) / sizeof(undo[0])) {
		undo[nundo] = (struct undo){.off = off, .len = len, .was = malloc(len)};
		rd(undo[nundo++].was, len, off);
	} else {
		printf("# too many damages to undo\n");
	}
	if (pwrite(hfd, buf, len, (off_t)off) != (ssize_t)len)
		printf("# short write at %llu\n", (unsigned long long)off);
}

/* The hostile copy as the pristine image was: the first time a copy,
 * then the damages undone. */
static void fresh(void)
{
	if (hfd < 0) {
		sh("cp --sparse=always %s %s", pristine, hostile);
		hfd = open(hostile, O_RDWR);
	}
	while (nundo > 0) {
		struct undo *u = &undo[--nundo];

		if (pwrite(hfd, u->was, u->len, (off_t)u->off) != (ssize_t)u->len)
			printf("# cannot undo at %llu\n", (unsigned long long)u->off);
		free(u->was);
	}
}

static void inode_get(uint64_t ino, uint8_t *b)
{
	rd(b, geo.isize, ino_off(ino));
}

static void inode_put(uint64_t ino, uint8_t *b)
{
	put_crc(b, geo.isize, 100);
	wr(b, geo.isize, ino_off(ino));
}

/* The hostile image's file at path: err wanted, the message holding what,
 * in under two seconds. 2 tests; 3 with a listing. */
static void refused(const char *name, const char *path, bool list, int want, const char *what)
{
	struct timespec a, b;
	struct img m;
	char *data = NULL;
	size_t len;
	double ms;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &a);
	err = img_open(&m, hostile);
	if (!err) {
		err = xfs_read(m.x, path, 128 * MiB, &data, &len);
		if (list && err == want) {
			struct names l = {0};

			is_int(xfs_list(m.x, path, add_name, &l), want, "%s: listing refused too",
			       name);
			free(l.s);
		}
		img_close(&m);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	is_int(err, want, "%s: %s", name, strerror(-want));
	ok(strstr(ferr_msg(), what) && !data && ms < 2000,
	   "%s: the message says '%s', nothing handed out, %.1f ms: %s", name, what, ms,
	   ferr_msg());
	free(data);
}

static uint64_t inum_in(const char *img, const char *path)
{
	return strtoull(sh_out("xfs_db -r -c 'path %s' -c 'inode' %s 2>/dev/null | sed -n "
			       "'s/current inode number is //p'", path, img), NULL, 10);
}

static uint64_t inum(const char *path)
{
	return inum_in(pristine, path);
}

/* The extent B+tree of /big: its root in the inode, a node or leaf below. */
static void bmbt_cases(void)
{
	uint64_t ino = inum("/big"), root_ptr, leaf = 0, node = 0;
	uint8_t in[2048], b[4096], *fork = in + 176;
	unsigned maxr, level, hdr = 72, bmax = (4096 - 72) / 16;

	fresh();
	inode_get(ino, in);
	maxr = ((in[82] ? in[82] * 8u : geo.isize - 176) - 4) / 16;
	level = get_be16(fork);
	root_ptr = get_be64(fork + 4 + 8 * maxr);
	ok(in[5] == 3 && level >= 1, "fixture: /big (inode %llu) has a B+tree of %u levels, "
	   "its root in the inode", (unsigned long long)ino, level + 1);
	/* Down the leftmost path to a leaf, the last node above it kept. */
	leaf = root_ptr;
	for (unsigned l = level; l > 1; l--) {
		rd(b, geo.bs, fsb_off(leaf));
		node = leaf;
		leaf = get_be64(b + hdr + 8 * bmax);
	}

	rd(b, geo.bs, fsb_off(leaf));
	memcpy(b, "XXXX", 4);
	put_crc(b, geo.bs, 64);
	wr(b, geo.bs, fsb_off(leaf));
	refused("bmbt: a leaf with a bad magic", "/big", false, -EINVAL,
		"not an extent B+tree block");

	fresh();
	rd(b, geo.bs, fsb_off(leaf));
	b[hdr + 20] ^= 1;
	wr(b, geo.bs, fsb_off(leaf));
	refused("bmbt: a leaf with a bad CRC", "/big", false, -EINVAL, "bad CRC");

	fresh();
	rd(b, geo.bs, fsb_off(leaf));
	put_be16(b + 6, 60000);
	put_crc(b, geo.bs, 64);
	wr(b, geo.bs, fsb_off(leaf));
	refused("bmbt: 60000 records in a leaf", "/big", false, -EINVAL, "claims 60000 records");

	/* The second extent moved far past the filesystem's end. */
	fresh();
	rd(b, geo.bs, fsb_off(leaf));
	put_be64(b + hdr + 16 + 8, get_be64(b + hdr + 16 + 8) | (0x3ffull << 53));
	put_crc(b, geo.bs, 64);
	wr(b, geo.bs, fsb_off(leaf));
	refused("bmbt: an extent outside the filesystem", "/big", false, -EINVAL,
		"lies outside its allocation group");

	/* An extent of 2^21 - 1 blocks (8 GiB): past its AG's end. */
	fresh();
	rd(b, geo.bs, fsb_off(leaf));
	put_be64(b + hdr + 8, get_be64(b + hdr + 8) | 0x1fffff);
	put_crc(b, geo.bs, 64);
	wr(b, geo.bs, fsb_off(leaf));
	refused("bmbt: an extent of 8 GiB", "/big", false, -EINVAL,
		"reaches past its parent's next key");

	/* The first extent (one block at file block 0) made three long: over
	 * the next one (at block 2). */
	fresh();
	rd(b, geo.bs, fsb_off(leaf));
	put_be64(b + hdr + 8, (get_be64(b + hdr + 8) & ~0x1fffffull) | 3);
	put_crc(b, geo.bs, 64);
	wr(b, geo.bs, fsb_off(leaf));
	refused("bmbt: overlapping extents", "/big", false, -EINVAL, "overlaps the one before");

	fresh();
	rd(b, geo.bs, fsb_off(leaf));
	{
		uint8_t t[16];

		memcpy(t, b + hdr + 16, 16);
		memcpy(b + hdr + 16, b + hdr + 32, 16);
		memcpy(b + hdr + 32, t, 16);
	}
	put_crc(b, geo.bs, 64);
	wr(b, geo.bs, fsb_off(leaf));
	refused("bmbt: extents out of order", "/big", false, -EINVAL, "out of order");

	fresh();
	rd(b, geo.bs, fsb_off(leaf));
	{
		uint8_t t[16];

		memcpy(t, b + hdr, 16);
		memcpy(b + hdr, b + hdr + 16, 16);
		memcpy(b + hdr + 16, t, 16);
	}
	put_crc(b, geo.bs, 64);
	wr(b, geo.bs, fsb_off(leaf));
	refused("bmbt: a leaf that does not start at its key", "/big", false, -EINVAL,
		"does not start at");

	/* The leaf's last extent moved past its right neighbour's key. */
	fresh();
	rd(b, geo.bs, fsb_off(leaf));
	{
		unsigned n = get_be16(b + 6);
		uint8_t *r = b + hdr + 16 * (n - 1);

		put_be64(r, get_be64(r) + (1ull << 9) * 100000);
	}
	put_crc(b, geo.bs, 64);
	wr(b, geo.bs, fsb_off(leaf));
	refused("bmbt: a leaf reaching past its neighbour's key", "/big", false, -EINVAL,
		"past its parent's next key");

	fresh();
	rd(b, geo.bs, fsb_off(leaf));
	put_be64(b + 56, 12345);
	put_crc(b, geo.bs, 64);
	wr(b, geo.bs, fsb_off(leaf));
	refused("bmbt: a leaf owned by another inode", "/big", false, -EINVAL,
		"belongs elsewhere");

	/* The root's first pointer at the root's child's own parent: the node
	 * (or leaf) one level too high, as a cycle would be met. */
	fresh();
	inode_get(ino, in);
	put_be64(fork + 4 + 8 * maxr, node ? leaf : root_ptr);
	if (!node)
		put_be16(fork, 2);
	inode_put(ino, in);
	refused("bmbt: a pointer to a block of the wrong level", "/big", false, -EINVAL,
		"its parent expects");

	/* Two root pointers at one child: what the first reaches runs into
	 * the second's key before the second is reached twice. */
	fresh();
	inode_get(ino, in);
	if (get_be16(fork + 2) < 2)
		put_be16(fork + 2, 2);
	put_be64(fork + 4 + 8, get_be64(fork + 4) + 1);
	put_be64(fork + 4 + 8 * maxr + 8, root_ptr);
	inode_put(ino, in);
	refused("bmbt: two pointers at one child", "/big", false, -EINVAL,
		"past its parent's next key");

	fresh();
	inode_get(ino, in);
	put_be16(fork, 40);
	inode_put(ino, in);
	refused("bmbt: a root of 40 levels", "/big", false, -EINVAL, "root of 40 levels");

	fresh();
	inode_get(ino, in);
	put_be64(fork + 4 + 8, 0);
	put_be16(fork + 2, 2);
	inode_put(ino, in);
	refused("bmbt: root keys out of order", "/big", false, -EINVAL, "keys out of order");
}

/* /block's one directory block, and /sf's shortform. */
static void dir_cases(void)
{
	uint64_t ino = inum("/block"), sf = inum("/sf"), pos;
	uint8_t in[2048], b[4096];

	fresh();
	inode_get(ino, in);
	ok(in[5] == 2 && get_be64(in + 56) == 4096, "fixture: /block is one 4 KiB block");
	/* The first extent record: its start block. */
	pos = fsb_off(((get_be64(in + 176) & 0x1ff) << 43) | (get_be64(in + 184) >> 21));
	rd(b, sizeof(b), pos);
	ok(!memcmp(b, "XDB3", 4), "fixture: the block is XDB3");

#define DIRCASE(name, what, ...)                                                          \
	do {                                                                              \
		fresh();                                                                  \
		rd(b, sizeof(b), pos);                                                    \
		__VA_ARGS__;                                                              \
		put_crc(b, sizeof(b), 4);                                                 \
		wr(b, sizeof(b), pos);                                                    \
		refused(name, "/block/block-entry-number-20", true, -EINVAL, what);       \
	} while (0)

	/* The entries: "." at 64, ".." at 80, then the names (40 bytes each). */
	DIRCASE("dir: an entry past the data (the hash index grown over it)", "runs past",
		put_be32(b + 4096 - 8, (4096 - 8 - 112) / 8));
	DIRCASE("dir: a name longer than its entry", "tag", b[96 + 8] = 250);
	DIRCASE("dir: an entry whose tag is not its place", "tag", put_be16(b + 96 + 38, 8));
	DIRCASE("dir: free space of 12 bytes", "free space of a bad length",
		put_be16(b + 96, 0xffff); put_be16(b + 98, 12));
	DIRCASE("dir: free space running past the block", "free space of a bad length",
		put_be16(b + 96, 0xffff); put_be16(b + 98, 8192));
	DIRCASE("dir: a name with a slash", "'/'", b[96 + 9] = '/');
	DIRCASE("dir: a hash index larger than the block", "more hash entries",
		put_be32(b + 4096 - 8, 0x7fffffff));
	DIRCASE("dir: a bad magic", "bad magic", memcpy(b, "XDD4", 4));
	DIRCASE("dir: the block of another inode", "belongs elsewhere", put_be64(b + 40, 99));

	fresh();
	rd(b, sizeof(b), pos);
	b[200] ^= 0x40;
	wr(b, sizeof(b), pos);
	refused("dir: a bad CRC", "/block/block-entry-number-20", true, -EINVAL, "bad CRC");

	fresh();
	inode_get(ino, in);
	put_be64(in + 56, 1ull << 40);
	inode_put(ino, in);
	refused("dir: a size of 1 TiB", "/block/block-entry-number-20", true, -EINVAL,
		"a size of 1099511627776 bytes");

	fresh();
	inode_get(sf, in);
	in[176] = 40;
	inode_put(sf, in);
	refused("shortform: 40 entries in room for 3", "/sf/none", true, -EINVAL,
		"run past its size");

	fresh();
	inode_get(sf, in);
	put_be64(in + 56, 1000);
	inode_put(sf, in);
	refused("shortform: larger than its fork", "/sf/f3", true, -EINVAL,
		"size its fork cannot hold");

	/* The first entry's inode number (4 bytes, after its 3-byte header,
	 * 2-byte name and type) far outside the filesystem. */
	fresh();
	inode_get(sf, in);
	put_be32(in + 176 + 6 + 3 + 2 + 1, 0xfffffff0u);
	inode_put(sf, in);
	refused("shortform: an entry naming an inode outside the filesystem", "/sf/f1", false,
		-EINVAL, "outside the filesystem");
}

static void inode_cases(void)
{
	uint64_t fstab = inum("/etc/fstab"), lnk = inum("/etc/long");
	uint8_t in[2048], b[4096];

	fresh();
	inode_get(fstab, in);
	in[300] ^= 1;
	wr(in, geo.isize, ino_off(fstab));
	refused("inode: a bad CRC", "/etc/fstab", false, -EINVAL, "bad CRC");

	fresh();
	inode_get(fstab, in);
	put_be64(in + 56, 1ull << 62);
	inode_put(fstab, in);
	refused("inode: a size of 4 EiB", "/etc/fstab", false, -EFBIG, "larger than");

	fresh();
	inode_get(fstab, in);
	put_be32(in + 76, 1000000);
	inode_put(fstab, in);
	refused("inode: a million extents in its fork", "/etc/fstab", false, -EINVAL,
		"more extents than its data fork holds");

	fresh();
	inode_get(fstab, in);
	put_be64(in + 152, fstab + 1);
	inode_put(fstab, in);
	refused("inode: another inode's number", "/etc/fstab", false, -EINVAL,
		"another inode");

	fresh();
	inode_get(fstab, in);
	in[5] = 1; /* inline data: no regular file has it */
	inode_put(fstab, in);
	refused("inode: a regular file with inline data", "/etc/fstab", false, -EINVAL,
		"cannot have");

	/* The remote link's block: its header's offset, then its CRC. */
	fresh();
	inode_get(lnk, in);
	ok(in[5] == 2, "fixture: /etc/long's target is in a block");
	{
		uint64_t pos = fsb_off(((get_be64(in + 176) & 0x1ff) << 43) |
				       (get_be64(in + 184) >> 21));

		rd(b, geo.bs, pos);
		ok(!memcmp(b, "XSLM", 4), "fixture: the block begins XSLM");
		put_be32(b + 4, 8);
		put_crc(b, geo.bs, 12);
		wr(b, geo.bs, pos);
		refused("link: a block whose header says another offset", "/etc/long", false,
			-EINVAL, "link target block");
		fresh();
		rd(b, geo.bs, pos);
		b[100] ^= 1;
		wr(b, geo.bs, pos);
		refused("link: a block with a bad CRC", "/etc/long", false, -EINVAL,
			"link target block");
		fresh();
		inode_get(lnk, in);
		put_be64(in + 56, 5000);
		inode_put(lnk, in);
		refused("link: a target of 5000 bytes", "/etc/long", false, -EINVAL,
			"a link target of a length");
	}
}

/* The kernel here mounts no v4 filesystem, so no v4 file gets a B+tree by
 * writing: /etc/fstab's one extent is moved by hand into a "BMAP" leaf
 * under a root in its inode (v4 blocks have no CRC). 3 tests. */
static void v4_bmbt_case(const char *img)
{
	uint64_t ino = inum_in(img, "/etc/fstab"), leaf, pos;
	uint8_t sb[512], in[256], b[4096], zero[4096] = {0};
	unsigned agcount, lit, maxr;
	uint32_t last_len;
	struct img m;
	int fd = open(img, O_RDWR);

	if (fd < 0 || pread(fd, sb, sizeof(sb), 0) != (ssize_t)sizeof(sb)) {
		ok(0, "v4 bmbt: the image opens");
		return;
	}
	geo.bs = get_be32(sb + 4);
	geo.agblocks = get_be32(sb + 84);
	geo.isize = get_be16(sb + 104);
	geo.inopblog = sb[123];
	geo.agblklog = sb[124];
	agcount = get_be32(sb + 88);
	last_len = (uint32_t)(get_be64(sb + 8) - (uint64_t)(agcount - 1) * geo.agblocks);
	/* The last block of the last AG, free in a filesystem this empty. */
	leaf = ((uint64_t)(agcount - 1) << geo.agblklog) | (last_len - 1);
	pos = fsb_off(leaf);
	hfd = fd;
	rd(in, sizeof(in), ino_off(ino));
	rd(b, geo.bs, pos);
	ok(geo.bs == 4096 && geo.isize == 256 && in[5] == 2 && get_be32(in + 76) == 1 &&
	   !memcmp(b, zero, geo.bs), "v4 bmbt: /etc/fstab has one extent; block %llu is free",
	   (unsigned long long)leaf);
	memset(b, 0, geo.bs);
	memcpy(b, "BMAP", 4);
	put_be16(b + 6, 1);
	put_be64(b + 8, ~0ull);
	put_be64(b + 16, ~0ull);
	memcpy(b + 24, in + 100, 16);
	if (pwrite(fd, b, geo.bs, (off_t)pos) != (ssize_t)geo.bs)
		printf("# short write\n");
	lit = in[82] ? in[82] * 8u : 256 - 100;
	maxr = (lit - 4) / 16;
	memset(in + 100, 0, lit);
	put_be16(in + 100, 1);
	put_be16(in + 102, 1);
	put_be64(in + 104, 0);
	put_be64(in + 104 + 8 * maxr, leaf);
	in[5] = 3;
	if (pwrite(fd, in, sizeof(in), (off_t)ino_off(ino)) != (ssize_t)sizeof(in))
		printf("# short write\n");
	if (!img_open(&m, img)) {
		read_is(m.x, "v4 bmbt", "/etc/abs", FSTAB);
		img_close(&m);
	} else {
		ok(0, "v4 bmbt: xfs_open: %s", ferr_msg());
	}
	memcpy(b, "BMA3", 4);
	if (pwrite(fd, b, geo.bs, (off_t)pos) != (ssize_t)geo.bs)
		printf("# short write\n");
	if (!img_open(&m, img)) {
		char *data = NULL;
		size_t len;
		int err = xfs_read(m.x, "/etc/fstab", MiB, &data, &len);

		ok(err == -EINVAL && strstr(ferr_msg(), "not an extent B+tree block"),
		   "v4 bmbt: a v5 magic in a v4 leaf: -EINVAL: %s", ferr_msg());
		free(data);
		img_close(&m);
	}
	close(fd);
	hfd = -1;
}

int main(void)
{
	char here[512], sb[512];
	struct img m;
	int fd;

	if (geteuid() != 0 || sh_try("command -v mkfs.xfs xfs_db xfs_io >/dev/null") != 0) {
		printf("1..0 # SKIP needs root (loop mounts) and xfsprogs\n");
		return 0;
	}
	tap_plan(3 * 40 + 2 * 6 + 8 + 3 + 18 + 91);
	if (!tap_scratch(dir, sizeof(dir), "xfsfile"))
		return 1;
	snprintf(here, sizeof(here), "%s", __FILE__);
	snprintf(script, sizeof(script), "%s/xfs_tree.sh", dirname(here));

	/* v5, 4 KiB blocks, 512-byte inodes. */
	is_int(mkfs_mounted("a.img", ""), 0, "v5: mkfs.xfs, filled through the kernel");
	snprintf(pristine, sizeof(pristine), "%s/a.img", dir);
	is_int(img_open(&m, pristine), 0, "v5: xfs_open");
	if (m.x) {
		files_cases(m.x, "v5", &m.d);
		mounted_cases(m.x, "v5");
		img_close(&m);
	}

	/* v5, 1 KiB blocks, directory blocks of 8 KiB (eight blocks each,
	 * not always contiguous). */
	sh("rm -rf %s/want", dir);
	is_int(mkfs_mounted("k.img", "-b size=1024 -n size=8192"), 0,
	       "v5 1k: mkfs.xfs -b size=1024 -n size=8192, filled through the kernel");
	snprintf(here, sizeof(here), "%s/k.img", dir);
	is_int(img_open(&m, here), 0, "v5 1k: xfs_open");
	if (m.x) {
		files_cases(m.x, "v5 1k", &m.d);
		mounted_cases(m.x, "v5 1k");
		img_close(&m);
	}

	/* v4, 256-byte inodes, no file types in entries: from a prototype. */
	sh("rm -rf %s/want %s/tree", dir, dir);
	is_int(sh("cd %s && %s tree want && %s --proto tree >v4.proto && truncate -s 320M v4.img "
		  "&& mkfs.xfs -q -f -m crc=0 -n ftype=0 -i size=256 -p v4.proto v4.img "
		  ">/dev/null 2>&1", dir, script, script), 0,
	       "v4: mkfs.xfs -m crc=0 -n ftype=0 from a prototype");
	snprintf(here, sizeof(here), "%s/v4.img", dir);
	is_int(img_open(&m, here), 0, "v4: xfs_open");
	if (m.x) {
		files_cases(m.x, "v4", &m.d);
		img_close(&m);
	}
	is_str(sh_out("xfs_db -r -c 'path /etc/long' -c 'inode' -c 'p core.format' %s "
		      "2>/dev/null | grep format", here),
	       "core.format = 2 (extents)", "v4: the long link's target is in a block");
	ok(strstr(sh_out("xfs_db -r -c 'version' %s 2>/dev/null", here), "V4,") &&
	   !strstr(sh_out("xfs_db -r -c 'version' %s 2>/dev/null", here), "FTYPE"),
	   "v4: no file types in its directories (xfs_db's version)");
	v4_bmbt_case(here);

	guest_cases(pristine);

	/* Hostile copies of the first. */
	fd = open(pristine, O_RDONLY);
	if (fd < 0 || pread(fd, sb, sizeof(sb), 0) != (ssize_t)sizeof(sb))
		return 1;
	close(fd);
	geo.bs = get_be32(sb + 4);
	geo.agblocks = get_be32(sb + 84);
	geo.isize = get_be16(sb + 104);
	geo.inopblog = (unsigned char)sb[123];
	geo.agblklog = (unsigned char)sb[124];
	snprintf(hostile, sizeof(hostile), "%s/h.img", dir);
	bmbt_cases();
	dir_cases();
	inode_cases();
	fresh();
	ok(!sh("cmp -s %s %s", pristine, hostile), "the hostile copy, its damages undone, is "
	   "the pristine image again");
	if (hfd >= 0)
		close(hfd);
	sh("rm -rf %s", dir);
	return tap_done();
}
