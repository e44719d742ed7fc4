/* JBD2 replay against e2fsprogs: journals written with debugfs (jo/jw/jc) on
 * ext3/ext4 images, replayed by journal_replay and by e2fsck, compared. */
#include <errno.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs/journal.h"
#include "tap.h"
#include "testsh.h"
#include "util/endian.h"
#include "util/err.h"

static char dir[192];
static char warned[512];

static void on_warn(const char *msg, void *arg)
{
	(void)arg;
	snprintf(warned, sizeof(warned), "%s", msg);
}

/* The whole output of a command, in memory the caller frees (several
 * results are held at once); "" when it fails. */
static char *sh_alloc(const char *fmt, ...) FERRY_PRINTF(1, 2);
static char *sh_alloc(const char *fmt, ...)
{
	char cmd[2048], *buf = calloc(1, 1);
	size_t len = 0, n;
	char chunk[4096];
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (!p)
		return buf;
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0) {
		buf = realloc(buf, len + n + 1);
		memcpy(buf + len, chunk, n);
		len += n;
		buf[len] = 0;
	}
	pclose(p);
	return buf;
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");
	bool good = f && fwrite(data, 1, len, f) == len;

	return f && fclose(f) == 0 && good ? 0 : -1;
}

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	unsigned char *b = NULL;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	b = malloc(n > 0 ? (size_t)n : 1);
	if (fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return b;
}

static bool has_needs_recovery(const char *img)
{
	char *out = sh_alloc("dumpe2fs -h %s 2>/dev/null | grep '^Filesystem features:'", img);
	bool r = strstr(out, "needs_recovery") != NULL;

	free(out);
	return r;
}

static char *journal_sequence(const char *img)
{
	return sh_alloc("dumpe2fs -h %s 2>/dev/null | sed -n 's/^Journal sequence: *//p' | "
		      "tr -d '\\n'", img);
}

static bool same_block(const char *a, const char *b, unsigned bs, uint64_t blk)
{
	unsigned char x[65536], y[65536];
	int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
	bool r = fa >= 0 && fb >= 0 && pread(fa, x, bs, (off_t)(blk * bs)) == (ssize_t)bs &&
		 pread(fb, y, bs, (off_t)(blk * bs)) == (ssize_t)bs && memcmp(x, y, bs) == 0;

	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return r;
}

/* The file's data blocks, in file order, from debugfs. */
static size_t file_blocks(const char *img, uint64_t *out, size_t max)
{
	char *s = sh_alloc("debugfs -R 'blocks /f' %s 2>/dev/null", img), *p = s, *end;
	size_t n = 0;

	while (n < max) {
		unsigned long long v = strtoull(p, &end, 10);

		if (end == p)
			break;
		out[n++] = v;
		p = end;
	}
	free(s);
	return n;
}

static int replay(const char *img, int flags, struct journal_stats *st)
{
	ext2_filsys fs;
	int err;

	if (ext2fs_open2(img, NULL, flags, 0, 0, unix_io_manager, &fs))
		return -EIO;
	err = journal_replay(fs, img, st);
	if (ext2fs_close2(fs, 0) && !err)
		err = -EIO;
	return err;
}

struct jsb {
	ext2_filsys fs;
	struct ext2_inode inode;
	unsigned char sb[65536];
	unsigned bs;
	uint32_t maxlen, first, start;
};

static int jsb_rw(struct jsb *j, uint32_t lblk, void *buf, bool write)
{
	blk64_t p;

	if (ext2fs_bmap2(j->fs, 8, &j->inode, NULL, 0, lblk, NULL, &p))
		return -1;
	if (write)
		return io_channel_write_blk64(j->fs->io, p, 1, buf) ? -1 : 0;
	return io_channel_read_blk64(j->fs->io, p, 1, buf) ? -1 : 0;
}

static int jsb_open(struct jsb *j, const char *img)
{
	if (ext2fs_open2(img, NULL, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0, unix_io_manager,
			 &j->fs))
		return -1;
	j->bs = j->fs->blocksize;
	if (ext2fs_read_inode(j->fs, 8, &j->inode) || jsb_rw(j, 0, j->sb, false)) {
		ext2fs_close2(j->fs, 0);
		return -1;
	}
	j->maxlen = get_be32(j->sb + 0x10);
	j->first = get_be32(j->sb + 0x14);
	j->start = get_be32(j->sb + 0x1c);
	return 0;
}

/* Writes the journal superblock back with a fresh checksum when the journal
 * has checksums v2/v3. */
static int jsb_close(struct jsb *j)
{
	int r = 0;

	if (get_be32(j->sb + 0x28) & 0x18) {
		put_be32(j->sb + 0xfc, 0);
		put_be32(j->sb + 0xfc, ext2fs_crc32c_le(~0u, j->sb, 1024));
	}
	r |= jsb_rw(j, 0, j->sb, true);
	r |= ext2fs_close2(j->fs, 0) ? -1 : 0;
	return r;
}

/* Moves the whole log round so that it starts two blocks before its end and
 * the transactions wrap, as a log that has been in use for a while does. */
static int rotate_log(const char *img)
{
	struct jsb j;
	unsigned char *all;
	uint32_t len, shift, i;
	int r = 0;

	if (jsb_open(&j, img))
		return -1;
	len = j.maxlen - j.first;
	shift = (j.maxlen - 2 - j.start) % len;
	all = malloc((size_t)len * j.bs);
	for (i = 0; i < len && !r; i++)
		r = jsb_rw(&j, j.first + i, all + (size_t)i * j.bs, false);
	for (i = 0; i < len && !r; i++)
		r = jsb_rw(&j, j.first + (i + shift) % len, all + (size_t)i * j.bs, true);
	put_be32(j.sb + 0x1c, j.maxlen - 2);
	free(all);
	return jsb_close(&j) | r;
}

/* Flips one byte of the first log block of the given type. */
static int corrupt_log(const char *img, uint32_t type, unsigned off)
{
	unsigned char b[65536];
	struct jsb j;
	uint32_t i;

	if (jsb_open(&j, img))
		return -1;
	for (i = j.start; i < j.maxlen; i++) {
		if (jsb_rw(&j, i, b, false))
			break;
		if (get_be32(b) == 0xc03b3998U && get_be32(b + 4) == type) {
			b[off] ^= 0x5a;
			if (jsb_rw(&j, i, b, true))
				break;
			return ext2fs_close2(j.fs, 0) ? -1 : 0;
		}
	}
	ext2fs_close2(j.fs, 0);
	return -1;
}

/* Flips a data block, the one after the first descriptor. */
static int corrupt_data(const char *img)
{
	unsigned char b[65536];
	struct jsb j;

	if (jsb_open(&j, img))
		return -1;
	if (jsb_rw(&j, j.start + 1, b, false) == 0) {
		b[100] ^= 0x5a;
		jsb_rw(&j, j.start + 1, b, true);
	}
	return ext2fs_close2(j.fs, 0) ? -1 : 0;
}

/* Turns on the journal's fast-commit feature; with head, the first fast
 * commit block starts with a head tag for the transaction after the log. */
static int add_fast_commit(const char *img, uint32_t ntrans, bool head)
{
	unsigned char b[65536] = {0};
	struct jsb j;
	uint32_t fc = 0, r = 0;

	if (jsb_open(&j, img))
		return -1;
	put_be32(j.sb + 0x28, get_be32(j.sb + 0x28) | 0x20);
	fc = get_be32(j.sb + 0x54) ? get_be32(j.sb + 0x54) : 256;
	if (head) {
		b[0] = 9;       /* EXT4_FC_TAG_HEAD, little-endian */
		b[2] = 8;       /* its length */
		b[8] = (unsigned char)(get_be32(j.sb + 0x18) + ntrans); /* fc_tid */
		r = jsb_rw(&j, j.maxlen - fc + 1, b, true);
	}
	return jsb_close(&j) | (int)r;
}

struct fixture {
	const char *label;
	const char *jo; /* the debugfs journal_open command */
	unsigned bs;
	char img[300], old[300];
	uint64_t blk[16];
	size_t nblk;
	unsigned char *orig;    /* /f as written */
	unsigned char *content; /* what /f should hold after a correct replay */
	size_t len;
};

/* A filesystem with /f (8 blocks of random data), before any journal. */
static int fixture_init(struct fixture *f, const char *label, const char *mkfs, const char *jo,
			unsigned bs)
{
	memset(f, 0, sizeof(*f));
	f->label = label;
	f->jo = jo;
	f->bs = bs;
	snprintf(f->img, sizeof(f->img), "%s/%s.img", dir, label);
	snprintf(f->old, sizeof(f->old), "%s/%s.old", dir, label);
	if (sh("rm -f %s && truncate -s 64M %s && mke2fs -q -F -b %u %s %s", f->img, f->img, bs,
	       mkfs, f->img) ||
	    sh("head -c %u /dev/urandom > %s", 8 * bs, f->old) ||
	    sh("debugfs -w -R 'write %s f' %s >/dev/null 2>&1", f->old, f->img))
		return -1;
	f->nblk = file_blocks(f->img, f->blk, 16);
	f->orig = read_file(f->old, &f->len);
	f->content = read_file(f->old, &f->len);
	return f->nblk == 8 && f->orig && f->content ? 0 : -1;
}

/* New content for the listed file blocks (indexes into /f), in one file for
 * jw; fill 0 writes the JBD2 magic first to exercise escaping. Bit i of
 * apply says block i is expected to reach /f. */
static int new_content(struct fixture *f, const char *name, const size_t *idx, size_t n,
		       int fill, unsigned apply)
{
	char path[320];
	unsigned char *b = malloc(n * f->bs);
	int r;

	memset(b, fill, n * f->bs);
	for (size_t i = 0; i < n; i++) {
		b[i * f->bs + 7] = (unsigned char)i;
		if (fill == 0)
			put_be32(b + i * f->bs, 0xc03b3998U);
		if (apply & (1u << i))
			memcpy(f->content + idx[i] * f->bs, b + i * f->bs, f->bs);
	}
	snprintf(path, sizeof(path), "%s/%s.%s", dir, f->label, name);
	r = write_file(path, b, n * f->bs);
	free(b);
	return r;
}

static int run_debugfs(struct fixture *f, const char *script)
{
	char path[320];

	snprintf(path, sizeof(path), "%s/%s.cmds", dir, f->label);
	if (write_file(path, script, strlen(script)))
		return -1;
	return sh("cd %s && debugfs -w -f %s %s >/dev/null 2>&1", dir, path, f->img);
}

static bool cat_is(const char *img, const unsigned char *want, size_t len)
{
	char path[320];
	unsigned char *got;
	size_t n = 0;
	bool r;

	snprintf(path, sizeof(path), "%s.cat", img);
	if (sh("debugfs -R 'cat /f' %s > %s 2>/dev/null", img, path))
		return false;
	got = read_file(path, &n);
	r = got && n == len && memcmp(got, want, len) == 0;
	free(got);
	return r;
}

/* Replays a copy with journal_replay and another with e2fsck, and checks
 * them with e2fsprogs' own tools. */
static void check_replay(struct fixture *f, unsigned trans, unsigned blocks, unsigned revoked)
{
	char ours[400], ref[400], again[400], *seq_ours, *seq_ref;
	struct journal_stats st;
	bool same = true;
	int err;

	snprintf(ours, sizeof(ours), "%s.ours", f->img);
	snprintf(ref, sizeof(ref), "%s.ref", f->img);
	snprintf(again, sizeof(again), "%s.again", f->img);
	ok(has_needs_recovery(f->img) && cat_is(f->img, f->orig, f->len),
	   "%s: the fixture needs recovery and /f still holds the old data", f->label);
	sh("cp %s %s && cp %s %s", f->img, ours, f->img, ref);
	err = replay(ours, EXT2_FLAG_RW | EXT2_FLAG_64BITS, &st);
	is_int(err, 0, "%s: journal_replay succeeds", f->label);
	if (err)
		printf("# %s\n", ferr_msg());
	is_int(st.transactions, trans, "%s: transactions replayed", f->label);
	is_int(st.blocks, blocks, "%s: blocks written home", f->label);
	is_int(st.revoked, revoked, "%s: revoked blocks skipped", f->label);
	ok(!has_needs_recovery(ours), "%s: needs_recovery is cleared", f->label);
	is_int(sh("e2fsck -fn %s >/dev/null 2>&1", ours), 0, "%s: e2fsck -fn finds it clean",
	       f->label);
	is_int(sh("cp %s %s && e2fsck -fy %s >/dev/null 2>&1", ours, again, again), 0,
	       "%s: e2fsck -fy has nothing left to do", f->label);
	ok(cat_is(ours, f->content, f->len), "%s: /f holds the journalled data", f->label);

	ok(sh("e2fsck -fy %s >/dev/null 2>&1", ref) <= 1, "%s: e2fsck replays its copy", f->label);
	ok(cat_is(ref, f->content, f->len), "%s: e2fsck's /f is the same", f->label);
	for (size_t i = 0; i < f->nblk; i++)
		same &= same_block(ours, ref, f->bs, f->blk[i]);
	ok(same, "%s: the journalled blocks are byte-identical to e2fsck's", f->label);
	seq_ours = journal_sequence(ours);
	seq_ref = journal_sequence(ref);
	ok(*seq_ours && strcmp(seq_ours, seq_ref) == 0, "%s: the next journal sequence matches "
	   "e2fsck's (%.40s)", f->label, seq_ours);
	free(seq_ours);
	free(seq_ref);
}

static void fixture_release(struct fixture *f)
{
	free(f->orig);
	free(f->content);
	f->orig = f->content = NULL;
}

static char *sha256(const char *img)
{
	return sh_alloc("sha256sum < %s", img);
}

/* Three transactions: two blocks, one that starts with the JBD2 magic (so
 * it is stored escaped), one more. */
static int three_transactions(struct fixture *f)
{
	static const size_t a[] = {0, 1}, b[] = {2}, c[] = {5};
	char script[512];

	if (new_content(f, "n1", a, 2, 'A', 3) || new_content(f, "n2", b, 1, 0, 1) ||
	    new_content(f, "n3", c, 1, 'C', 1))
		return -1;
	snprintf(script, sizeof(script),
		 "%s\njw -b %llu,%llu %s.n1\njw -b %llu %s.n2\njw -b %llu %s.n3\njc\n", f->jo,
		 (unsigned long long)f->blk[0], (unsigned long long)f->blk[1], f->label,
		 (unsigned long long)f->blk[2], f->label, (unsigned long long)f->blk[5], f->label);
	return run_debugfs(f, script);
}

static void basic_case(const char *label, const char *mkfs, const char *jo, unsigned bs,
		       bool wrap)
{
	struct fixture f;

	if (ok(fixture_init(&f, label, mkfs, jo, bs) == 0 && three_transactions(&f) == 0 &&
	       (!wrap || rotate_log(f.img) == 0),
	       "%s: fixture built (mke2fs %s, %s%s)", label, mkfs, jo, wrap ? ", wrapped" : ""))
		check_replay(&f, 3, 4, 0);
	fixture_release(&f);
}

/* Revokes by a later transaction and by the same one hide a block; a
 * transaction after the revoke journals it again. debugfs reserves one
 * block too few for a transaction with both blocks and revokes, so the next
 * one would overwrite its commit block: that one comes last. */
static void revoke_case(const char *label, const char *mkfs, const char *jo, unsigned bs)
{
	static const size_t r1[] = {0, 1, 3}, r4[] = {3}, r5[] = {2};
	struct fixture f;
	char script[512];
	int built;

	built = fixture_init(&f, label, mkfs, jo, bs) == 0 &&
		new_content(&f, "r1", r1, 3, 'R', 2) == 0 &&
		new_content(&f, "r4", r4, 1, 'T', 1) == 0 &&
		new_content(&f, "r5", r5, 1, 'S', 0) == 0;
	snprintf(script, sizeof(script),
		 "%s\njw -b %llu,%llu,%llu %s.r1\njw -r %llu\njw -r %llu\njw -b %llu %s.r4\n"
		 "jw -b %llu -r %llu %s.r5\njc\n",
		 jo, (unsigned long long)f.blk[0], (unsigned long long)f.blk[1],
		 (unsigned long long)f.blk[3], label, (unsigned long long)f.blk[0],
		 (unsigned long long)f.blk[3], (unsigned long long)f.blk[3], label,
		 (unsigned long long)f.blk[2], (unsigned long long)f.blk[2], label);
	if (ok(built && run_debugfs(&f, script) == 0, "%s: fixture built (%s, revokes)", label,
	       mkfs))
		check_replay(&f, 5, 2, 3);
	fixture_release(&f);
}

/* Blocks that differ between two images of the same size. */
static size_t changed_blocks(const char *a, const char *b, unsigned bs, uint64_t *out,
			     size_t max)
{
	unsigned char x[65536], y[65536];
	int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
	size_t n = 0;

	for (uint64_t blk = 0; fa >= 0 && fb >= 0; blk++) {
		if (pread(fa, x, bs, (off_t)(blk * bs)) != (ssize_t)bs ||
		    pread(fb, y, bs, (off_t)(blk * bs)) != (ssize_t)bs)
			break;
		if (memcmp(x, y, bs) && n < max)
			out[n] = blk;
		n += memcmp(x, y, bs) != 0;
	}
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return n;
}

/* The listed blocks of img, one after the other, into path. */
static int extract_blocks(const char *img, unsigned bs, const uint64_t *blk, size_t n,
			  const char *path)
{
	unsigned char b[65536];
	int fd = open(img, O_RDONLY), r = fd < 0;
	FILE *out = fopen(path, "w");

	for (size_t i = 0; i < n && !r && out; i++)
		r = pread(fd, b, bs, (off_t)(blk[i] * bs)) != (ssize_t)bs ||
		    fwrite(b, 1, bs, out) != bs;
	if (fd >= 0)
		close(fd);
	if (!out || fclose(out))
		r = 1;
	return r ? -1 : 0;
}

static bool same_output(const char *cmd, const char *a, const char *b)
{
	char *x = sh_alloc(cmd, a), *y = sh_alloc(cmd, b);
	bool r = *x && strcmp(x, y) == 0;

	free(x);
	free(y);
	return r;
}

/* Replays in process the way the capture does: bitmaps and the root inode
 * read before the replay; afterwards they must show /g, which exists only in
 * the journal. */
static int replay_loaded(const char *img, struct journal_stats *st, bool *sees_g)
{
	struct ext2_inode root;
	ext2_ino_t ino = 0;
	blk64_t pblk = 0;
	ext2_filsys fs;
	int err;

	*sees_g = false;
	if (ext2fs_open2(img, NULL, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs))
		return -EIO;
	if (ext2fs_read_bitmaps(fs) || ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, "f", &ino)) {
		ext2fs_free(fs);
		return -EIO;
	}
	err = journal_replay(fs, img, st);
	if (!err && fs->block_map && fs->inode_map &&
	    !ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, "g", &ino) &&
	    !ext2fs_bmap2(fs, ino, NULL, NULL, 0, 0, NULL, &pblk) &&
	    !ext2fs_read_inode(fs, EXT2_ROOT_INO, &root))
		*sees_g = ext2fs_test_inode_bitmap2(fs->inode_map, ino) &&
			  ext2fs_test_block_bitmap2(fs->block_map, pblk) &&
			  root.i_links_count == 4;
	if (ext2fs_close2(fs, 0) && !err)
		err = -EIO;
	return err;
}

/* Runs change (a command with %s for the image) on a copy of the fixture,
 * then journals every block it changed, in one transaction, over the
 * original. Returns the number of blocks journalled, 0 on failure. */
static size_t journal_changes(struct fixture *f, const char *change)
{
	char after[400], data[400], cmd[512], script[4096];
	uint64_t blk[256];
	size_t n, len;

	snprintf(after, sizeof(after), "%s.after", f->img);
	snprintf(data, sizeof(data), "%s.changed", f->img);
	snprintf(cmd, sizeof(cmd), change, after);
	if (sh("cp %s %s", f->img, after) || sh("%s", cmd))
		return 0;
	n = changed_blocks(f->img, after, f->bs, blk, 256);
	if (n == 0 || n > 256 || extract_blocks(after, f->bs, blk, n, data))
		return 0;
	len = (size_t)snprintf(script, sizeof(script), "%s\njw -b ", f->jo);
	for (size_t i = 0; i < n && len < sizeof(script) - 64; i++)
		len += (size_t)snprintf(script + len, sizeof(script) - len, "%s%llu", i ? "," : "",
					(unsigned long long)blk[i]);
	snprintf(script + len, sizeof(script) - len, " %s\njc\n", data);
	return run_debugfs(f, script) == 0 && has_needs_recovery(f->img) ? n : 0;
}

/* Real metadata through the journal: the superblock, group descriptors,
 * bitmaps, inode table and directories that debugfs changes on a copy while
 * creating /g and /d, journalled over the original. ext2fs_close2 must not
 * write the superblock and descriptors read at open time back over them. */
static void metadata_case(const char *label, const char *mkfs, const char *jo, unsigned bs)
{
	char after[400], ours[400], ref[400], again[400], change[512];
	struct journal_stats st;
	struct fixture f;
	size_t n = 0;
	bool sees_g;
	int err;

	if (fixture_init(&f, label, mkfs, jo, bs) == 0) {
		snprintf(change, sizeof(change), "printf 'write %s g\\nmkdir d\\nssv volume_name "
			 "jrnl\\n' | debugfs -w -f - %%s >/dev/null 2>&1", f.old);
		n = journal_changes(&f, change);
	}
	snprintf(after, sizeof(after), "%s.after", f.img);
	if (!ok(n > 0, "%s: fixture built (%zu metadata and data blocks journalled)", label, n)) {
		fixture_release(&f);
		return;
	}
	snprintf(ours, sizeof(ours), "%s.ours", f.img);
	snprintf(ref, sizeof(ref), "%s.ref", f.img);
	snprintf(again, sizeof(again), "%s.again", f.img);
	sh("cp %s %s && cp %s %s", f.img, ours, f.img, ref);
	err = replay_loaded(ours, &st, &sees_g);
	is_int(err, 0, "%s: journal_replay succeeds", label);
	if (err)
		printf("# %s\n", ferr_msg());
	ok(sees_g, "%s: bitmaps, directory and root inode in memory show /g after the replay",
	   label);
	ok(st.transactions == 1 && st.blocks == n, "%s: one transaction, %zu blocks (%u, %u)",
	   label, n, st.transactions, st.blocks);
	is_int(sh("e2fsck -fn %s >/dev/null 2>&1", ours), 0, "%s: e2fsck -fn finds it clean",
	       label);
	is_int(sh("cp %s %s && e2fsck -fy %s >/dev/null 2>&1", ours, again, again), 0,
	       "%s: e2fsck -fy has nothing left to do", label);
	ok(!has_needs_recovery(ours), "%s: needs_recovery is cleared", label);
	/* Binary content: compared as files, not as strings. */
	ok(sh("debugfs -R 'dump /g %s.g' %s >/dev/null 2>&1 && "
	      "debugfs -R 'dump /g %s.g' %s >/dev/null 2>&1 && test -s %s.g && cmp -s %s.g %s.g",
	      ours, ours, after, after, ours, ours, after) == 0,
	   "%s: /g, created only in the journal, has its content", label);
	ok(same_output("debugfs -R 'ls -l /' %s 2>/dev/null", ours, after) &&
	   same_output("debugfs -R 'ls -l /d' %s 2>/dev/null", ours, after),
	   "%s: the directories are as debugfs left them", label);
	ok(same_output("dumpe2fs -h %s 2>/dev/null | grep -E '^(Filesystem volume name|Free "
		       "blocks|Free inodes):'", ours, after),
	   "%s: label and free counts come from the journalled superblock", label);
	ok(sh("e2fsck -fy %s >/dev/null 2>&1", ref) <= 1, "%s: e2fsck replays its copy", label);
	ok(same_output("dumpe2fs %s 2>/dev/null | sed -n '/^Group 0/,$p'", ours, ref),
	   "%s: group descriptors and bitmaps match e2fsck's replay", label);
	ok(same_output("debugfs -R 'stat /g' %s 2>/dev/null | grep -v time", ours, ref),
	   "%s: /g's inode matches e2fsck's replay", label);
	fixture_release(&f);
}

/* One transaction whose commit block, descriptor or data is damaged. */
static int one_transaction(struct fixture *f, const char *label, const char *mkfs,
			   const char *jo, unsigned bs, unsigned apply)
{
	static const size_t a[] = {0, 1};
	char script[256];

	if (fixture_init(f, label, mkfs, jo, bs) || new_content(f, "n1", a, 2, 'D', apply))
		return -1;
	snprintf(script, sizeof(script), "%s\njw -b %llu,%llu %s.n1\njc\n", jo,
		 (unsigned long long)f->blk[0], (unsigned long long)f->blk[1], label);
	return run_debugfs(f, script);
}

static void refused(const char *img, int flags, int want, const char *words, const char *what)
{
	char *before = sha256(img), *after;
	struct journal_stats st;
	int err;

	ferr_clear();
	err = replay(img, flags, &st);
	is_int(err, want, "%s: refused", what);
	ok(strstr(ferr_msg(), img) && strstr(ferr_msg(), words), "%s: the message names the "
	   "filesystem and says '%s'", what, words);
	if (err)
		printf("# %s\n", ferr_msg());
	after = sha256(img);
	is_str(after, before, "%s: the image is unchanged", what);
	free(before);
	free(after);
}

/* An interrupted resize: the journalled superblock and descriptors describe
 * a smaller filesystem than the one libext2fs opened. */
static void resize_case(void)
{
	struct fixture f;
	size_t n = 0;

	if (fixture_init(&f, "resize", "-t ext4", "jo -c", 4096) == 0)
		n = journal_changes(&f, "resize2fs -f %s 40M >/dev/null 2>&1");
	if (ok(n > 0, "resize: fixture built (%zu blocks journalled)", n))
		refused(f.img, EXT2_FLAG_RW | EXT2_FLAG_64BITS, -EOPNOTSUPP, "resize",
			"journalled resize");
	fixture_release(&f);
}

static void corruption_cases(void)
{
	const char *v3 = "-t ext4 -O metadata_csum,64bit";
	struct fixture f;

	warned[0] = 0;
	if (ok(one_transaction(&f, "badcommit", v3, "jo -c", 4096, 0) == 0 &&
	       corrupt_log(f.img, 2, 200) == 0, "bad commit checksum: fixture built"))
		check_replay(&f, 0, 0, 0);
	ok(strstr(warned, "bad commit checksum") != NULL, "bad commit checksum: warned (%s)",
	   warned);
	fixture_release(&f);

	if (ok(one_transaction(&f, "v1commit", "-t ext3", "jo -c", 1024, 0) == 0 &&
	       corrupt_data(f.img) == 0, "checksum v1 mismatch: fixture built"))
		check_replay(&f, 0, 0, 0);
	fixture_release(&f);

	if (ok(one_transaction(&f, "baddesc", v3, "jo -c", 4096, 0) == 0 &&
	       corrupt_log(f.img, 1, 4096 - 100) == 0, "bad descriptor checksum: fixture built"))
		refused(f.img, EXT2_FLAG_RW | EXT2_FLAG_64BITS, -EBADMSG, "bad checksum",
			"bad descriptor checksum");
	fixture_release(&f);

	if (ok(one_transaction(&f, "baddata", v3, "jo -c", 4096, 0) == 0 && corrupt_data(f.img) == 0,
	       "bad data block checksum: fixture built"))
		refused(f.img, EXT2_FLAG_RW | EXT2_FLAG_64BITS, -EBADMSG, "bad checksum",
			"bad data block checksum");
	fixture_release(&f);
}

static void refusal_cases(void)
{
	struct journal_stats st = {1, 1, 1};
	struct fixture f;
	char *before, *after, ext[400], fc[400];

	if (ok(fixture_init(&f, "clean", "-t ext4", "jo", 4096) == 0, "clean: fixture built")) {
		before = sha256(f.img);
		is_int(replay(f.img, EXT2_FLAG_64BITS, &st), 0, "clean: nothing to replay");
		ok(st.transactions == 0 && st.blocks == 0 && st.revoked == 0, "clean: no counts");
		after = sha256(f.img);
		is_str(after, before, "clean: the image is unchanged");
		free(before);
		free(after);
	}
	fixture_release(&f);

	if (ok(one_transaction(&f, "readonly", "-t ext4", "jo -c", 4096, 0) == 0,
	       "read-only open: fixture built"))
		refused(f.img, EXT2_FLAG_64BITS, -EROFS, "read-only", "read-only open");
	fixture_release(&f);

	snprintf(ext, sizeof(ext), "%s/external.img", dir);
	ok(sh("truncate -s 32M %s && mke2fs -q -F -t ext4 -O ^has_journal %s && "
	      "printf 'feature has_journal\\nssv journal_uuid "
	      "11111111-2222-3333-4444-555555555555\\nssv journal_dev 0x0801\\n"
	      "feature needs_recovery\\n' | debugfs -w -f - %s >/dev/null 2>&1",
	      ext, ext, ext) == 0 && has_needs_recovery(ext),
	   "external journal: fixture built");
	refused(ext, EXT2_FLAG_RW | EXT2_FLAG_64BITS, -EOPNOTSUPP, "external",
		"external journal");

	if (ok(one_transaction(&f, "fastcommit", "-t ext4 -O fast_commit", "jo -c", 4096, 3) == 0,
	       "fast commit: fixture built")) {
		snprintf(fc, sizeof(fc), "%s.fc", f.img);
		ok(sh("cp %s %s", f.img, fc) == 0 && add_fast_commit(fc, 1, true) == 0,
		   "fast commit: fast commit block added");
		refused(fc, EXT2_FLAG_RW | EXT2_FLAG_64BITS, -EOPNOTSUPP, "fast commit",
			"fast commits present");
		ok(add_fast_commit(f.img, 1, false) == 0, "fast commit: feature without blocks");
		check_replay(&f, 1, 2, 0);
	}
	fixture_release(&f);
}

int main(void)
{
	struct ferry_warn_scope scope;

	ferry_warn_push(&scope, on_warn, NULL);
	if (!tap_scratch(dir, sizeof(dir), "journal")) {
		printf("1..0 # SKIP cannot create a temporary directory\n");
		return 0;
	}

	basic_case("ext4-csum3", "-t ext4 -O metadata_csum,64bit", "jo -c", 4096, false);
	basic_case("ext4-csum1", "-t ext4 -O ^metadata_csum", "jo -c", 4096, false);
	basic_case("ext4-nocsum", "-t ext4 -O ^metadata_csum,^64bit", "jo", 4096, false);
	basic_case("ext3", "-t ext3", "jo", 4096, false);
	basic_case("ext3-1k-csum1", "-t ext3", "jo -c", 1024, false);
	basic_case("ext4-1k-csum2", "-t ext4 -O metadata_csum,^64bit", "jo -c -v 2", 1024, false);
	basic_case("ext4-1k-csum3", "-t ext4 -O metadata_csum,64bit", "jo -c", 1024, false);
	basic_case("wrap-csum3", "-t ext4 -O metadata_csum,64bit", "jo -c", 4096, true);
	basic_case("wrap-ext3-1k", "-t ext3", "jo", 1024, true);
	metadata_case("meta-csum3", "-t ext4 -O metadata_csum,64bit", "jo -c", 4096);
	metadata_case("meta-ext3-1k", "-t ext3", "jo", 1024);
	metadata_case("meta-1k-csum3", "-t ext4 -O metadata_csum,64bit", "jo -c", 1024);
	revoke_case("revoke-csum3", "-t ext4 -O metadata_csum,64bit", "jo -c", 4096);
	revoke_case("revoke-ext3", "-t ext3", "jo", 4096);
	revoke_case("revoke-1k-csum2", "-t ext4 -O metadata_csum,^64bit", "jo -c -v 2", 1024);
	corruption_cases();
	refusal_cases();
	resize_case();

	sh("rm -rf %s", dir);
	tap_plan(tap_num);
	return tap_done();
}
