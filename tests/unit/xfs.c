/* The XFS reader against hostile images: a filesystem from mkfs.xfs whose
 * AG 0 free-space btree is rewritten by hand into a two-level tree, then
 * damaged (a cycle, a block reached twice, records outside the AG or out of
 * order, absurd levels and counts, bad CRCs): each must be -EINVAL naming
 * the AG, at once. Then logs written by hand (wrapped, bisected, torn,
 * without headers), whose state xfs_logprint judges too. */
#include <errno.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "blk/blk.h"
#include "blk/source.h"
#include "fs/xfs.h"
#include "tap.h"
#include "testsh.h"
#include "util/endian.h"
#include "util/err.h"

#define NULLAG 0xffffffffu
#define HDR 56u /* a v5 short-form btree block header */

static char dir[192];
static char img[256];
static int fd = -1;

static struct {
	uint32_t bs, sect, agblocks, root, node_max;
	uint64_t log_off, log_bbs;
	uint8_t uuid[16];
} g;

/* Stores the CRC XFS keeps at off: crc32c of the buffer with the field as
 * zeros, inverted, little-endian. */
static void put_crc(uint8_t *b, size_t len, size_t off)
{
	put_le32(b + off, 0);
	put_le32(b + off, ~ext2fs_crc32c_le(~0u, b, len));
}

static int rd(void *buf, size_t len, uint64_t off)
{
	return pread(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

static int wr(const void *buf, size_t len, uint64_t off)
{
	return pwrite(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

/* AG 0's free-space btree, as a case sets it up before it is written:
 * root node N over leaves L1 (mkfs's root) and L2. */
struct tree {
	uint8_t agf[512];
	uint8_t n[4096], l1[4096], l2[4096];
	uint32_t bn, b1, b2;
	bool crc; /* make the CRCs right */
};

static void bt_header(uint8_t *b, uint32_t blk, uint16_t level, uint16_t recs, uint32_t left,
		      uint32_t right)
{
	memset(b, 0, g.bs);
	put_be32(b, 0x41423342u); /* AB3B */
	put_be16(b + 4, level);
	put_be16(b + 6, recs);
	put_be32(b + 8, left);
	put_be32(b + 12, right);
	put_be64(b + 16, (uint64_t)blk * (g.bs / 512));
	memcpy(b + 32, g.uuid, 16);
	put_be32(b + 48, 0);
}

static void rec(uint8_t *b, unsigned i, uint32_t start, uint32_t len)
{
	put_be32(b + HDR + 8 * i, start);
	put_be32(b + HDR + 8 * i + 4, len);
}

static void ptr(uint8_t *b, unsigned i, uint32_t key, uint32_t p)
{
	put_be32(b + HDR + 8 * i, key);
	put_be32(b + HDR + 8 * i + 4, 0);
	put_be32(b + HDR + 8 * g.node_max + 4 * i, p);
}

/* Free extents 100+10, 200+10 (L1) and 300+10 (L2). */
static void tree_init(struct tree *t)
{
	t->crc = true;
	t->b1 = g.root;
	t->bn = 1000;
	t->b2 = 1001;
	rd(t->agf, sizeof(t->agf), g.sect);
	put_be32(t->agf + 16, t->bn); /* bno root */
	put_be32(t->agf + 28, 2);     /* bno levels */
	put_be32(t->agf + 52, 30);    /* free blocks */
	put_be32(t->agf + 56, 10);    /* longest */
	bt_header(t->n, t->bn, 1, 2, NULLAG, NULLAG);
	ptr(t->n, 0, 100, t->b1);
	ptr(t->n, 1, 300, t->b2);
	bt_header(t->l1, t->b1, 0, 2, NULLAG, t->b2);
	rec(t->l1, 0, 100, 10);
	rec(t->l1, 1, 200, 10);
	bt_header(t->l2, t->b2, 0, 1, t->b1, NULLAG);
	rec(t->l2, 0, 300, 10);
}

static void tree_write(struct tree *t)
{
	if (t->crc) {
		put_crc(t->agf, g.sect, 216);
		put_crc(t->n, g.bs, 52);
		put_crc(t->l1, g.bs, 52);
		put_crc(t->l2, g.bs, 52);
	}
	wr(t->agf, g.sect, g.sect);
	wr(t->n, g.bs, (uint64_t)t->bn * g.bs);
	wr(t->l1, g.bs, (uint64_t)t->b1 * g.bs);
	wr(t->l2, g.bs, (uint64_t)t->b2 * g.bs);
}

struct ranges {
	uint64_t off[8], len[8];
	size_t n;
	uint64_t total;
};

static int collect(uint64_t off, uint64_t len, void *arg)
{
	struct ranges *r = arg;

	if (r->n < 8) {
		r->off[r->n] = off;
		r->len[r->n] = len;
	}
	r->n++;
	r->total += len;
	return 0;
}

/* xfs_used_ranges on the image as it is now; *ms how long it took. */
static int used(struct ranges *r, double *ms)
{
	struct source src;
	struct blkdev d;
	struct timespec a, b;
	int err;

	memset(r, 0, sizeof(*r));
	if (source_open(&src, img))
		return -EIO;
	clock_gettime(CLOCK_MONOTONIC, &a);
	err = blk_window(&d, &src, 0, src.size, false, "x.img");
	if (!err)
		err = xfs_used_ranges(&d, collect, r);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (ms)
		*ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	source_release(&src);
	return err;
}

static int info(struct xfs_info *i)
{
	struct source src;
	struct blkdev d;
	int err;

	if (source_open(&src, img))
		return -EIO;
	err = blk_window(&d, &src, 0, src.size, false, "x.img");
	if (!err)
		err = xfs_get_info(&d, i);
	source_release(&src);
	return err;
}

/* A damaged tree: -EINVAL naming AG 0 and matching what, quickly, and the
 * callback never called. */
static void refused(const char *name, struct tree *t, const char *what)
{
	struct ranges r;
	double ms;
	int err;

	tree_write(t);
	err = used(&r, &ms);
	is_int(err, -EINVAL, "%s: -EINVAL", name);
	ok(strstr(ferr_msg(), "allocation group 0") && strstr(ferr_msg(), what),
	   "%s: the message names AG 0 and says '%s': %s", name, what, ferr_msg());
	ok(r.n == 0 && ms < 2000, "%s: no range handed out, refused in %.1f ms", name, ms);
}

static void btree_cases(void)
{
	struct tree t;
	struct xfs_info i;
	struct ranges r;
	uint64_t bs = g.bs;

	tree_init(&t);
	tree_write(&t);
	is_int(info(&i), 0, "two-level tree: xfs_get_info");
	is_int(used(&r, NULL), 0, "two-level tree: xfs_used_ranges");
	ok(r.n >= 4 && r.off[0] == 0 && r.len[0] == 100 * bs && r.off[1] == 110 * bs &&
	   r.len[1] == 90 * bs && r.off[2] == 210 * bs && r.len[2] == 90 * bs &&
	   r.off[3] == 310 * bs, "two-level tree: AG 0's used runs go round its three free extents");
	is_int(r.total, i.used, "two-level tree: the runs add up to xfs_get_info's used bytes");
	ok(r.n >= 2 && r.off[r.n > 8 ? 7 : r.n - 1] > r.off[0],
	   "two-level tree: runs in ascending order");

	tree_init(&t);
	ptr(t.n, 1, 300, t.b1);
	refused("a leaf reached twice", &t, "reached twice");

	tree_init(&t);
	put_be32(t.l2 + 12, t.b1);
	refused("a sibling list that turns back", &t, "goes on past");

	tree_init(&t);
	ptr(t.n, 1, 300, t.bn);
	refused("a node that points at itself", &t, "at level 1, its parent expects 0");

	tree_init(&t);
	put_be32(t.l2 + 8, NULLAG);
	refused("a leaf that does not link back", &t, "sibling pointers");

	tree_init(&t);
	put_be32(t.agf + 28, 40);
	refused("40 levels", &t, "does not fit the AG");

	tree_init(&t);
	put_be16(t.l1 + 6, 60000);
	refused("60000 records in a leaf", &t, "claims 60000 records");

	tree_init(&t);
	ptr(t.n, 1, 300, g.agblocks + 5);
	refused("a pointer out of the AG", &t, "leaves the AG");

	tree_init(&t);
	rec(t.l2, 0, 300, g.agblocks);
	refused("a free extent past the AG's end", &t, "outside");

	tree_init(&t);
	rec(t.l1, 0, 200, 10);
	rec(t.l1, 1, 100, 10);
	ptr(t.n, 0, 200, t.b1);
	refused("free extents out of order", &t, "out of order");

	tree_init(&t);
	rec(t.l1, 0, 100, 150);
	refused("overlapping free extents", &t, "overlaps");

	tree_init(&t);
	rec(t.l1, 0, 0, 10);
	ptr(t.n, 0, 0, t.b1);
	refused("a free extent over the AG headers", &t, "headers");

	tree_init(&t);
	put_be32(t.agf + 52, 31);
	refused("the AGF's count differs", &t, "lists 30 free blocks, the AGF 31");

	tree_init(&t);
	tree_write(&t);
	t.crc = false;
	t.l2[HDR + 3] ^= 1;
	refused("a leaf with a bad CRC", &t, "bad CRC");

	tree_init(&t);
	put_be32(t.l2 + 48, 1);
	refused("a leaf owned by AG 1", &t, "belongs elsewhere");
}

/* The log, rewritten whole: every basic block stamped with a cycle, and
 * records written by hand. */
static uint8_t *logbuf;

static void log_fill(uint64_t from, uint64_t to, uint32_t cycle)
{
	for (uint64_t b = from; b < to; b++) {
		memset(logbuf + b * 512, 0, 512);
		put_be32(logbuf + b * 512, cycle);
	}
}

/* A record at blk: its header and one data block holding one op header
 * with flags (0x20: the unmount record). crc: 0 none, 1 right, 2 wrong. */
static void log_rec(uint64_t blk, uint32_t cycle, uint8_t flags, int crc)
{
	uint8_t *h = logbuf + blk * 512, *d = logbuf + ((blk + 1) % g.log_bbs) * 512;

	memset(h, 0, 512);
	put_be32(h, 0xfeedbabeu);
	put_be32(h + 4, cycle);
	put_be32(h + 8, 2);                              /* version */
	put_be32(h + 12, 512);                           /* data bytes */
	put_be64(h + 16, (uint64_t)cycle << 32 | blk);   /* lsn */
	put_be64(h + 24, (uint64_t)cycle << 32 | blk);   /* tail lsn: itself */
	put_be32(h + 36, 0xffffffffu);
	put_be32(h + 40, 1);                             /* ops */
	put_be32(h + 300, 1);                            /* format */
	memcpy(h + 304, g.uuid, 16);
	put_be32(h + 320, 32768);                        /* in-core log size */
	memset(d, 0, 512);
	put_be32(d, cycle);                              /* stamped over the tid */
	put_be32(d + 4, 8);
	d[8] = 0xaa;
	d[9] = flags;
	put_be16(d + 12, 0x556e);
	if (crc) {
		uint32_t c = ext2fs_crc32c_le(~0u, h, 32);
		static const uint8_t zero[4];

		c = ext2fs_crc32c_le(c, zero, 4);
		c = ext2fs_crc32c_le(c, h + 36, 328 - 36);
		c = ~ext2fs_crc32c_le(c, d, 512);
		put_le32(h + 32, crc == 1 ? c : c ^ 1);
	}
}

static const char *logprint_state(void)
{
	return sh_out("xfs_logprint -t %s 2>/dev/null | sed -n 's/.*state: <\\(.*\\)>.*/\\1/p'",
		      img);
}

/* The log as the case wrote it: ferry's needs_recovery (or error), and
 * xfs_logprint's view when it has one. */
static void log_case(const char *name, int want_err, int want_dirty, const char *logprint)
{
	struct xfs_info i;
	int err;

	wr(logbuf, g.log_bbs * 512, g.log_off);
	err = info(&i);
	if (want_err) {
		is_int(err, want_err, "%s: xfs_get_info fails", name);
		ok(strstr(ferr_msg(), "log") != NULL, "%s: the message says why: %s", name,
		   ferr_msg());
		return;
	}
	is_int(err, 0, "%s: xfs_get_info", name);
	is_int(i.needs_recovery, want_dirty, "%s: needs_recovery %s", name,
	       want_dirty ? "set" : "clear");
	if (logprint)
		is_str(logprint_state(), logprint, "%s: xfs_logprint agrees", name);
}

static void log_cases(void)
{
	uint64_t n = g.log_bbs, h = n / 3;

	logbuf = calloc(n, 512);
	if (!logbuf)
		return;
	rd(logbuf, n * 512, g.log_off);
	log_case("mkfs's log", 0, 0, "CLEAN");

	memset(logbuf, 0, n * 512);
	log_case("a log of zeros", 0, 0, NULL);

	/* Cycle 2 everywhere, the last record ending at the log's end: the
	 * head wraps to block 0 and the record is found behind it. */
	log_fill(0, n, 2);
	log_rec(n - 2, 2, 0x20, 0);
	log_case("wrapped, unmount record last", 0, 0, "CLEAN");
	log_rec(n - 2, 2, 0, 0);
	log_case("wrapped, a transaction last", 0, 1, "DIRTY");

	/* Cycle 3 up to a third of the log, cycle 2 after: the head is found
	 * by bisection. */
	log_fill(0, h, 3);
	log_fill(h, n, 2);
	log_rec(n - 2, 2, 0x20, 0);
	log_rec(h - 2, 3, 0x20, 1);
	log_case("bisected, unmount record with its CRC", 0, 0, "CLEAN");
	log_rec(h - 2, 3, 0x20, 2);
	log_case("bisected, unmount record with a wrong CRC (torn)", 0, 1, NULL);
	log_rec(h - 2, 3, 0, 1);
	log_case("bisected, a transaction last", 0, 1, "DIRTY");

	/* A hole of the older cycle shortly before the bisection's answer
	 * (writes landed out of order): the head is at the hole. */
	log_fill(0, h, 3);
	log_fill(h, n, 2);
	log_rec(h - 40, 3, 0x20, 0);
	log_fill(h - 38, h - 20, 2);
	log_case("a hole before the head, unmount record before it", 0, 0, "CLEAN");

	log_fill(0, n, 3);
	log_case("no record header anywhere", -EINVAL, 0, NULL);
	free(logbuf);
	logbuf = NULL;
}

int main(void)
{
	uint8_t sb[512];
	uint64_t logstart;
	unsigned agblklog;

	if (sh_try("command -v mkfs.xfs >/dev/null") != 0) {
		printf("1..0 # SKIP needs mkfs.xfs (xfsprogs)\n");
		return 0;
	}
	tap_plan(73);
	if (!tap_scratch(dir, sizeof(dir), "xfs"))
		return 1;
	snprintf(img, sizeof(img), "%s/x.img", dir);
	is_int(sh("truncate -s 320M %s && mkfs.xfs -q -f -K %s", img, img), 0,
	       "mkfs.xfs: a v5 filesystem with 4 KiB blocks");
	fd = open(img, O_RDWR);
	if (fd < 0 || rd(sb, sizeof(sb), 0))
		return 1;
	g.bs = get_be32(sb + 4);
	g.sect = get_be16(sb + 102);
	g.agblocks = get_be32(sb + 84);
	memcpy(g.uuid, sb + 32, 16);
	agblklog = sb[124];
	logstart = get_be64(sb + 48);
	g.log_off = ((logstart >> agblklog) * g.agblocks + (logstart & ((1ull << agblklog) - 1))) *
		    g.bs;
	g.log_bbs = (uint64_t)get_be32(sb + 96) * g.bs / 512;
	g.node_max = (g.bs - HDR) / 12;
	{
		uint8_t agf[512];

		rd(agf, sizeof(agf), g.sect);
		g.root = get_be32(agf + 16);
	}
	ok(g.bs == 4096 && g.sect == 512 && (logstart >> agblklog) != 0,
	   "the fixture: 4 KiB blocks, 512-byte sectors, the log outside AG 0");

	btree_cases();
	log_cases();

	close(fd);
	sh("rm -rf %s", dir);
	return tap_done();
}
