/* Files in XFS read by Ferry's own code (see xfs.h): inodes by number, their
 * data forks (inline, extent lists, B+trees of extents), directories in
 * their four forms, symbolic links and paths. Every count, length and
 * address read from the disk is checked against the device before it is
 * used, so a damaged or hostile image gives -EINVAL with a message instead
 * of a loop or an allocation nobody asked for. Nothing is written. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/xfs.h"
#include "fs/xfs_geo.h"
#include "util/endian.h"
#include "util/err.h"

#define INODE_MAGIC 0x494eu          /* "IN" */
#define BMAP_MAGIC 0x424d4150u       /* "BMAP": a v4 extent B+tree block */
#define BMA3_MAGIC 0x424d4133u       /* "BMA3": a v5 one */
#define DIR2_BLOCK_MAGIC 0x58443242u /* "XD2B": a directory of one block, v4 */
#define DIR3_BLOCK_MAGIC 0x58444233u /* "XDB3": v5 */
#define DIR2_DATA_MAGIC 0x58443244u  /* "XD2D": a data block of a larger one, v4 */
#define DIR3_DATA_MAGIC 0x58444433u  /* "XDD3": v5 */
#define SYMLINK_MAGIC 0x58534c4du    /* "XSLM": a v5 link target's block */

#define SYMLINK_MAX 1024u
#define SYMLINK_MAPS 3u              /* the most extents a link target takes */
/* A directory's entries live in its first 32 GiB; its hash index and free
 * space index lie above, and are not needed to find or list names. */
#define DIR_DATA_SPACE (32ull << 30)
#define BMBT_MAX_LEVELS 16u          /* above what 2^48 extents in 512-byte blocks need */
#define MAX_LINKS 40
#define PATH_LEN 4096
#define MAX_DEPTH 256
#define NAME_MAX_LEN 255

/* Inode core fields (big-endian but the CRC). */
enum {
	DI_MODE = 2, DI_VERSION = 4, DI_FORMAT = 5, DI_ONLINK = 6, DI_UID = 8, DI_GID = 12,
	DI_NLINK = 16, DI_BIG_NEXTENTS = 24, DI_SIZE = 56, DI_NEXTENTS = 76, DI_FORKOFF = 82,
	DI_CRC = 100, DI_FLAGS2 = 120, DI_INO = 152, DI_UUID = 160,
};
#define DI_CORE_V2 100u
#define DI_CORE_V3 176u
#define DIFLAG2_NREXT64 (1ull << 4)  /* 64-bit extent counts */
#define INODE_MAX 2048u

enum { FMT_DEV, FMT_LOCAL, FMT_EXTENTS, FMT_BTREE };

/* Long-form B+tree block header (the bmbt's); v5 adds where it lives,
 * whose it is and a CRC. */
enum { LB_LEVEL = 4, LB_NUMRECS = 6, LB_BLKNO = 24, LB_UUID = 40, LB_OWNER = 56, LB_CRC = 64 };
#define LB_HDR_V4 24u
#define LB_HDR_V5 72u

/* Directory data block header, v5. */
enum { DB_CRC = 4, DB_BLKNO = 8, DB_UUID = 24, DB_OWNER = 40 };
#define DIR_HDR_V4 16u
#define DIR_HDR_V5 64u
#define DIR_FREE_TAG 0xffffu

/* A v5 link target's block header. */
enum { SL_OFFSET = 4, SL_BYTES = 8, SL_CRC = 12, SL_UUID = 16, SL_OWNER = 32, SL_BLKNO = 40 };
#define SL_HDR 56u

/* Walk results: the extents went past what was asked for; a callback
 * found what it looked for. */
enum { WALK_END = 1, WALK_STOP = 2 };

#define S_FMT 0170000u

struct xfs_fs {
	struct xfs_geo g;
	uint32_t dirblksize;
	uint8_t *dirbuf;    /* one directory block */
	uint8_t *btbuf;     /* one bmbt block per level */
};

struct xinode {
	uint64_t ino;
	uint32_t mode, uid, gid, nlink;
	uint64_t size, nextents;
	unsigned format;
	const uint8_t *fork; /* the data fork, in raw */
	uint32_t fork_size;
	uint8_t raw[INODE_MAX];
};

static const char *dname(const struct xfs_fs *x)
{
	return x->g.d->name;
}

static int bad_inode(const struct xfs_fs *x, uint64_t ino, const char *what)
{
	return ferr(-EINVAL, "%s: XFS inode %llu: %s", dname(x), (unsigned long long)ino, what);
}

/* Where fsb (AG number over AG block) begins on the device, if count
 * blocks from it stay inside its AG. */
static bool fsb_pos(const struct xfs_fs *x, uint64_t fsb, uint64_t count, uint64_t *pos)
{
	const struct xfs_geo *g = &x->g;
	uint64_t agno = fsb >> g->agblklog, agbno = fsb & ((1ull << g->agblklog) - 1);

	if (agno >= g->agcount || agbno + count > xfs_ag_len(g, (uint32_t)agno) ||
	    agbno < g->hdr_blocks)
		return false;
	*pos = xfs_ag_off(g, (uint32_t)agno) + agbno * g->bs;
	return true;
}

static bool known_type(uint32_t mode)
{
	switch (mode & S_FMT) {
	case 0100000: case 0040000: case 0120000: case 0020000: case 0060000: case 0010000:
	case 0140000:
		return true;
	}
	return false;
}

/* The data fork formats each kind of file may have (the kernel's rules). */
static bool format_ok(uint32_t mode, unsigned format)
{
	switch (mode & S_FMT) {
	case 0100000: return format == FMT_EXTENTS || format == FMT_BTREE;
	case 0040000:
	case 0120000: return format == FMT_LOCAL || format == FMT_EXTENTS || format == FMT_BTREE;
	}
	return format == FMT_DEV;
}

static int inode_read(struct xfs_fs *x, uint64_t ino, struct xinode *ip)
{
	const struct xfs_geo *g = &x->g;
	unsigned agino_bits = g->agblklog + g->inopblog, version, core, lit, forkoff;
	uint64_t agno = ino >> agino_bits;
	uint64_t agbno = (ino >> g->inopblog) & ((1ull << g->agblklog) - 1);
	uint64_t slot = ino & ((1ull << g->inopblog) - 1);
	uint8_t *r = ip->raw;
	int err;

	memset(ip, 0, offsetof(struct xinode, raw));
	ip->ino = ino;
	if (agino_bits >= 64 || agno >= g->agcount || agbno >= xfs_ag_len(g, (uint32_t)agno) ||
	    agbno < g->hdr_blocks)
		return bad_inode(x, ino, "the number lies outside the filesystem");
	err = blk_read(g->d, r, g->inodesize, xfs_ag_off(g, (uint32_t)agno) + agbno * g->bs +
		       slot * g->inodesize);
	if (err)
		return err;
	if (get_be16(r) != INODE_MAGIC)
		return bad_inode(x, ino, "bad magic");
	version = r[DI_VERSION];
	if (g->v5 ? version != 3 : version != 1 && version != 2)
		return bad_inode(x, ino, "wrong inode version for the filesystem");
	if (g->v5) {
		if (!xfs_crc_ok(r, g->inodesize, DI_CRC))
			return bad_inode(x, ino, "bad CRC");
		if (get_be64(r + DI_INO) != ino || memcmp(r + DI_UUID, g->meta_uuid, 16))
			return bad_inode(x, ino, "it says it is another inode");
	}
	ip->mode = get_be16(r + DI_MODE);
	if (!ip->mode)
		return bad_inode(x, ino, "not in use, yet a directory names it");
	if (!known_type(ip->mode))
		return bad_inode(x, ino, "unknown file type");
	ip->uid = get_be32(r + DI_UID);
	ip->gid = get_be32(r + DI_GID);
	ip->nlink = version == 1 ? get_be16(r + DI_ONLINK) : get_be32(r + DI_NLINK);
	ip->size = get_be64(r + DI_SIZE);
	if (ip->size >> 63)
		return bad_inode(x, ino, "negative size");
	ip->format = r[DI_FORMAT];
	if (!format_ok(ip->mode, ip->format))
		return bad_inode(x, ino, "a data fork format its file type cannot have");
	core = version == 3 ? DI_CORE_V3 : DI_CORE_V2;
	lit = g->inodesize - core;
	forkoff = r[DI_FORKOFF] * 8u;
	if (forkoff >= lit)
		return bad_inode(x, ino, "the attribute fork starts past the inode's end");
	ip->fork = r + core;
	ip->fork_size = forkoff ? forkoff : lit;
	if (version == 3 && (get_be64(r + DI_FLAGS2) & DIFLAG2_NREXT64))
		ip->nextents = get_be64(r + DI_BIG_NEXTENTS);
	else
		ip->nextents = get_be32(r + DI_NEXTENTS);
	if (ip->format == FMT_EXTENTS && ip->nextents > ip->fork_size / 16)
		return bad_inode(x, ino, "more extents than its data fork holds");
	return 0;
}

/* The extents of a data fork in file order: fn(arg, file block, blocks,
 * device byte offset, unwritten) for each that starts before end (in
 * blocks). Extents must rise, not overlap and lie inside one AG; the
 * B+tree's levels must shrink on the way down and each child start at its
 * key, so a cycle or a block reached twice fails instead of looping. A
 * positive return of fn stops the walk and is returned. */
typedef int (*map_fn)(void *arg, uint64_t off, uint64_t len, uint64_t pos, bool unwritten);

struct bmap {
	struct xfs_fs *x;
	const struct xinode *ip;
	uint64_t end;   /* in file blocks */
	uint64_t next;  /* where the next extent may start */
	uint64_t limit; /* where the B+tree block walked must end: its right
			 * neighbour's key */
	uint64_t seen;  /* records walked */
	map_fn fn;
	void *arg;
};

static int extent(struct bmap *m, const uint8_t *rec)
{
	uint64_t l0 = get_be64(rec), l1 = get_be64(rec + 8);
	uint64_t off = (l0 & ~(1ull << 63)) >> 9;
	uint64_t fsb = ((l0 & 0x1ffu) << 43) | (l1 >> 21);
	uint64_t len = l1 & 0x1fffffu, pos;

	if (++m->seen > m->ip->nextents)
		return bad_inode(m->x, m->ip->ino, "more extents than the inode counts");
	if (!len || off < m->next)
		return ferr(-EINVAL, "%s: XFS inode %llu: extent at file block %llu is empty, out "
			    "of order or overlaps the one before", dname(m->x),
			    (unsigned long long)m->ip->ino, (unsigned long long)off);
	if (off + len > m->limit)
		return ferr(-EINVAL, "%s: XFS inode %llu: extent at file block %llu reaches past "
			    "its parent's next key", dname(m->x), (unsigned long long)m->ip->ino,
			    (unsigned long long)off);
	if (off >= m->end)
		return WALK_END;
	if (!fsb_pos(m->x, fsb, len, &pos))
		return ferr(-EINVAL, "%s: XFS inode %llu: extent at file block %llu (%llu blocks "
			    "at %llu) lies outside its allocation group", dname(m->x),
			    (unsigned long long)m->ip->ino, (unsigned long long)off,
			    (unsigned long long)len, (unsigned long long)fsb);
	m->next = off + len;
	return m->fn(m->arg, off, len, pos, l0 >> 63);
}

static int bt_block(struct bmap *m, unsigned level, uint64_t fsb, uint64_t key);

/* A node's children, in order: keys rise, and each child's extents end
 * before the next child's key (or where the node's own end is). */
static int bt_children(struct bmap *m, unsigned level, const uint8_t *keys, const uint8_t *ptrs,
		       unsigned n)
{
	uint64_t limit = m->limit;

	for (unsigned i = 0; i < n; i++) {
		uint64_t key = get_be64(keys + 8 * i);
		int err;

		if (i + 1 < n && get_be64(keys + 8 * (i + 1)) <= key)
			return bad_inode(m->x, m->ip->ino, "extent B+tree keys out of order");
		if (key >= m->end)
			return WALK_END;
		m->limit = i + 1 < n ? get_be64(keys + 8 * (i + 1)) : limit;
		if (key >= m->limit)
			return bad_inode(m->x, m->ip->ino, "extent B+tree block reaches past its "
					 "parent's next key");
		err = bt_block(m, level - 1, get_be64(ptrs + 8 * i), key);
		if (err)
			return err;
	}
	m->limit = limit;
	return 0;
}

static int bt_block(struct bmap *m, unsigned level, uint64_t fsb, uint64_t key)
{
	struct xfs_fs *x = m->x;
	const struct xfs_geo *g = &x->g;
	unsigned hdr = g->v5 ? LB_HDR_V5 : LB_HDR_V4, maxrecs = (g->bs - hdr) / 16, n;
	uint8_t *b = x->btbuf + (size_t)level * g->bs;
	unsigned long long ino = m->ip->ino;
	uint64_t pos;
	int err;

	if (!fsb_pos(x, fsb, 1, &pos))
		return ferr(-EINVAL, "%s: XFS inode %llu: extent B+tree block %llu lies outside "
			    "the filesystem", dname(x), ino, (unsigned long long)fsb);
	err = blk_read(g->d, b, g->bs, pos);
	if (err)
		return err;
	if (get_be32(b) != (g->v5 ? BMA3_MAGIC : BMAP_MAGIC))
		return ferr(-EINVAL, "%s: XFS inode %llu: block %llu is not an extent B+tree block "
			    "(bad magic)", dname(x), ino, (unsigned long long)fsb);
	if (g->v5 && !xfs_crc_ok(b, g->bs, LB_CRC))
		return ferr(-EINVAL, "%s: XFS inode %llu: extent B+tree block %llu has a bad CRC",
			    dname(x), ino, (unsigned long long)fsb);
	if (g->v5 && (get_be64(b + LB_BLKNO) != pos / 512 ||
		      memcmp(b + LB_UUID, g->meta_uuid, 16) || get_be64(b + LB_OWNER) != ino))
		return ferr(-EINVAL, "%s: XFS inode %llu: extent B+tree block %llu says it belongs "
			    "elsewhere", dname(x), ino, (unsigned long long)fsb);
	n = get_be16(b + LB_NUMRECS);
	if (get_be16(b + LB_LEVEL) != level)
		return ferr(-EINVAL, "%s: XFS inode %llu: extent B+tree block %llu is at level %u, "
			    "its parent expects %u", dname(x), ino, (unsigned long long)fsb,
			    get_be16(b + LB_LEVEL), level);
	if (!n || n > maxrecs)
		return ferr(-EINVAL, "%s: XFS inode %llu: extent B+tree block %llu claims %u "
			    "records", dname(x), ino, (unsigned long long)fsb, n);
	/* A child begins where its key in the parent says. */
	if ((level ? get_be64(b + hdr) : (get_be64(b + hdr) & ~(1ull << 63)) >> 9) != key)
		return ferr(-EINVAL, "%s: XFS inode %llu: extent B+tree block %llu does not start "
			    "at its parent's key", dname(x), ino, (unsigned long long)fsb);
	if (level)
		return bt_children(m, level, b + hdr, b + hdr + 8 * maxrecs, n);
	for (unsigned i = 0; i < n; i++) {
		err = extent(m, b + hdr + 16 * i);
		if (err)
			return err;
	}
	return 0;
}

static int bmap_walk(struct xfs_fs *x, const struct xinode *ip, uint64_t end, map_fn fn,
		     void *arg)
{
	struct bmap m = {.x = x, .ip = ip, .end = end, .limit = UINT64_MAX, .fn = fn, .arg = arg};
	int err = 0;

	if (ip->format == FMT_EXTENTS) {
		for (uint64_t i = 0; i < ip->nextents && !err; i++)
			err = extent(&m, ip->fork + 16 * i);
	} else if (ip->format == FMT_BTREE) {
		unsigned level = get_be16(ip->fork), n = get_be16(ip->fork + 2);
		unsigned maxrecs = (ip->fork_size - 4) / 16;

		if (!level || level >= BMBT_MAX_LEVELS || !n || n > maxrecs)
			return ferr(-EINVAL, "%s: XFS inode %llu: extent B+tree root of %u levels "
				    "and %u records", dname(x), (unsigned long long)ip->ino, level,
				    n);
		err = bt_children(&m, level, ip->fork + 4, ip->fork + 4 + 8 * maxrecs, n);
	} else {
		return bad_inode(x, ip->ino, "no extents where the file's blocks should be");
	}
	return err == WALK_END ? 0 : err;
}

/* A file's bytes [0, size) into buf, holes and unwritten extents as zeros. */
struct rd {
	struct xfs_fs *x;
	uint8_t *buf;
	uint64_t size;
};

static int read_piece(void *arg, uint64_t off, uint64_t len, uint64_t pos, bool unwritten)
{
	struct rd *r = arg;
	uint64_t bs = r->x->g.bs, start = off * bs, n = len * bs;

	if (unwritten || start >= r->size)
		return 0;
	if (n > r->size - start)
		n = r->size - start;
	return blk_read(r->x->g.d, r->buf + start, (size_t)n, pos);
}

static int data_read(struct xfs_fs *x, const struct xinode *ip, uint8_t *buf, uint64_t size)
{
	struct rd r = {.x = x, .buf = buf, .size = size};

	memset(buf, 0, (size_t)size);
	if (ip->format == FMT_LOCAL) {
		if (size > ip->fork_size)
			return bad_inode(x, ip->ino, "inline data larger than its fork");
		memcpy(buf, ip->fork, (size_t)size);
		return 0;
	}
	return bmap_walk(x, ip, (size + x->g.bs - 1) / x->g.bs, read_piece, &r);
}

/* Directory entries but "." and "..": fn(arg, name, length, inode, ftype),
 * ftype 0 when the filesystem keeps none. A positive return stops. */
typedef int (*dirent_fn)(void *arg, const uint8_t *name, unsigned len, uint64_t ino,
			 unsigned ftype);

static bool name_ok(const uint8_t *name, unsigned len)
{
	return len && !memchr(name, '/', len) && !memchr(name, '\0', len);
}

static bool dot_or_dotdot(const uint8_t *name, unsigned len)
{
	return (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.');
}

/* Shortform: a header (entry count, whether inode numbers take 8 bytes, the
 * parent), then entries of a name length, a cookie, the name, the type
 * and the inode number, packed in the inode. */
static int dir_shortform(struct xfs_fs *x, const struct xinode *dp, dirent_fn fn, void *arg)
{
	const uint8_t *p = dp->fork;
	uint64_t size = dp->size;
	unsigned isz, count, off, ft = x->g.ftype;

	if (size > dp->fork_size || size < 6)
		return bad_inode(x, dp->ino, "shortform directory of a size its fork cannot hold");
	count = p[0];
	isz = p[1] ? 8 : 4;
	off = 2 + isz;
	if (off > size)
		return bad_inode(x, dp->ino, "shortform directory header cut short");
	for (unsigned i = 0; i < count; i++) {
		unsigned nl, esz;
		uint64_t ino;
		int err;

		if (off + 3 > size)
			return bad_inode(x, dp->ino, "shortform directory entries run past its size");
		nl = p[off];
		esz = 3 + nl + ft + isz;
		if (off + esz > size)
			return bad_inode(x, dp->ino, "shortform directory entries run past its size");
		if (!name_ok(p + off + 3, nl))
			return bad_inode(x, dp->ino, "a directory entry with an empty name, or a "
					 "'/' or NUL in it");
		ino = isz == 8 ? get_be64(p + off + 3 + nl + ft) & ((1ull << 56) - 1) :
		      get_be32(p + off + 3 + nl + ft);
		err = fn(arg, p + off + 3, nl, ino, ft ? p[off + 3 + nl] : 0);
		if (err)
			return err;
		off += esz;
	}
	if (off != size)
		return bad_inode(x, dp->ino, "shortform directory size does not match its entries");
	return 0;
}

/* Blocks of a directory, assembled from its extents (a directory block may
 * span several filesystem blocks), each checked and walked once whole. */
struct dirwalk {
	struct xfs_fs *x;
	const struct xinode *dp;
	uint64_t end;     /* file blocks of the data space */
	uint64_t db;      /* the directory block being filled */
	uint64_t pos0;    /* where its first filesystem block is */
	uint32_t filled;
	dirent_fn fn;
	void *arg;
};

static int dir_bad(const struct dirwalk *w, const char *what, unsigned at)
{
	return ferr(-EINVAL, "%s: XFS directory inode %llu, block %llu: %s (at byte %u)",
		    dname(w->x), (unsigned long long)w->dp->ino, (unsigned long long)w->db, what,
		    at);
}

static int dir_block(struct dirwalk *w)
{
	const struct xfs_geo *g = &w->x->g;
	const uint8_t *b = w->x->dirbuf;
	uint32_t dbs = w->x->dirblksize, magic = get_be32(b), p, end;
	bool single = magic == (g->v5 ? DIR3_BLOCK_MAGIC : DIR2_BLOCK_MAGIC);
	unsigned ft = g->ftype;

	if (!single && magic != (g->v5 ? DIR3_DATA_MAGIC : DIR2_DATA_MAGIC))
		return dir_bad(w, "not a directory data block (bad magic)", 0);
	/* The one-block form holds its hash index at its end: only the whole
	 * directory can be that block. */
	if (single && (w->db || w->dp->size != dbs))
		return dir_bad(w, "a one-block directory's block in a larger directory", 0);
	if (g->v5 && !xfs_crc_ok(b, dbs, DB_CRC))
		return dir_bad(w, "bad CRC", DB_CRC);
	if (g->v5 && (get_be64(b + DB_BLKNO) != w->pos0 / 512 ||
		      memcmp(b + DB_UUID, g->meta_uuid, 16) || get_be64(b + DB_OWNER) != w->dp->ino))
		return dir_bad(w, "the block says it belongs elsewhere", DB_BLKNO);
	p = g->v5 ? DIR_HDR_V5 : DIR_HDR_V4;
	end = dbs;
	if (single) {
		uint32_t count = get_be32(b + dbs - 8);

		if (count > (dbs - p - 8) / 8)
			return dir_bad(w, "more hash entries than the block holds", dbs - 8);
		end = dbs - 8 - count * 8;
	}
	while (p < end) {
		unsigned nl, esz;
		int err;

		if (get_be16(b + p) == DIR_FREE_TAG) {
			unsigned len = p + 4 <= end ? get_be16(b + p + 2) : 0;

			if (len < 8 || len % 8 || len > end - p || get_be16(b + p + len - 2) != p)
				return dir_bad(w, "free space of a bad length", p);
			p += len;
			continue;
		}
		if (end - p < 16)
			return dir_bad(w, "an entry cut short", p);
		nl = b[p + 8];
		esz = (8 + 1 + nl + ft + 2 + 7) & ~7u;
		if (esz > end - p)
			return dir_bad(w, "an entry runs past the block's data", p);
		if (get_be16(b + p + esz - 2) != p)
			return dir_bad(w, "an entry's tag does not give its place", p);
		if (!name_ok(b + p + 9, nl))
			return dir_bad(w, "an entry with an empty name, or a '/' or NUL in it", p);
		if (!dot_or_dotdot(b + p + 9, nl)) {
			err = w->fn(w->arg, b + p + 9, nl, get_be64(b + p), ft ? b[p + 9 + nl] : 0);
			if (err)
				return err;
		}
		p += esz;
	}
	return 0;
}

static int dir_piece(void *arg, uint64_t off, uint64_t len, uint64_t pos, bool unwritten)
{
	struct dirwalk *w = arg;
	const struct xfs_geo *g = &w->x->g;
	uint32_t dbs = w->x->dirblksize;
	int err;

	if (unwritten)
		return bad_inode(w->x, w->dp->ino, "a directory with unwritten extents");
	if (len > w->end - off)
		len = w->end - off;
	while (len) {
		uint64_t byte = off * g->bs, n;
		uint32_t within = (uint32_t)(byte % dbs);

		/* A directory block is whole or absent. */
		if ((w->filled && byte / dbs != w->db) || within != w->filled)
			return ferr(-EINVAL, "%s: XFS directory inode %llu: block %llu has a hole",
				    dname(w->x), (unsigned long long)w->dp->ino,
				    (unsigned long long)(byte / dbs));
		if (!within) {
			w->db = byte / dbs;
			w->pos0 = pos;
		}
		n = (dbs - within) / g->bs;
		if (n > len)
			n = len;
		err = blk_read(g->d, w->x->dirbuf + within, (size_t)(n * g->bs), pos);
		if (err)
			return err;
		w->filled += (uint32_t)(n * g->bs);
		off += n;
		len -= n;
		pos += n * g->bs;
		if (w->filled == dbs) {
			w->filled = 0;
			err = dir_block(w);
			if (err)
				return err;
		}
	}
	return 0;
}

static int dir_iterate(struct xfs_fs *x, const struct xinode *dp, dirent_fn fn, void *arg)
{
	struct dirwalk w = {.x = x, .dp = dp, .fn = fn, .arg = arg};
	int err;

	if (dp->format == FMT_LOCAL)
		return dir_shortform(x, dp, fn, arg);
	if (!dp->size || dp->size % x->dirblksize || dp->size > DIR_DATA_SPACE ||
	    dp->size > x->g.d->size)
		return ferr(-EINVAL, "%s: XFS directory inode %llu: a size of %llu bytes", dname(x),
			    (unsigned long long)dp->ino, (unsigned long long)dp->size);
	w.end = dp->size / x->g.bs;
	err = bmap_walk(x, dp, w.end, dir_piece, &w);
	if (!err && w.filled)
		return ferr(-EINVAL, "%s: XFS directory inode %llu: its last block has a hole",
			    dname(x), (unsigned long long)dp->ino);
	return err;
}

struct find {
	const char *name;
	size_t len;
	uint64_t ino;
};

static int find_one(void *arg, const uint8_t *name, unsigned len, uint64_t ino, unsigned ftype)
{
	struct find *f = arg;

	(void)ftype;
	if (len != f->len || memcmp(name, f->name, len))
		return 0;
	f->ino = ino;
	return WALK_STOP;
}

/* The hash index is not used: every data block is read until the name is
 * found. */
static int dir_lookup(struct xfs_fs *x, const struct xinode *dp, const char *name,
		      uint64_t *ino)
{
	struct find f = {.name = name, .len = strlen(name)};
	int err = dir_iterate(x, dp, find_one, &f);

	if (err == WALK_STOP) {
		*ino = f.ino;
		return 0;
	}
	return err ? err : -ENOENT;
}

/* A v5 link target's extents, contiguous ones merged as the kernel maps
 * them: each begins with a header. */
struct slmaps {
	struct xfs_fs *x;
	const struct xinode *ip;
	unsigned n;
	uint64_t off[SYMLINK_MAPS], len[SYMLINK_MAPS], pos[SYMLINK_MAPS];
};

static int sl_piece(void *arg, uint64_t off, uint64_t len, uint64_t pos, bool unwritten)
{
	struct slmaps *s = arg;
	uint64_t bs = s->x->g.bs;

	if (unwritten)
		return bad_inode(s->x, s->ip->ino, "a link target in an unwritten extent");
	if (s->n && s->off[s->n - 1] + s->len[s->n - 1] == off &&
	    s->pos[s->n - 1] + s->len[s->n - 1] * bs == pos) {
		s->len[s->n - 1] += len;
		return 0;
	}
	if (s->n == SYMLINK_MAPS)
		return bad_inode(s->x, s->ip->ino, "a link target in more than three extents");
	s->off[s->n] = off;
	s->len[s->n] = len;
	s->pos[s->n++] = pos;
	return 0;
}

static int link_remote_v5(struct xfs_fs *x, const struct xinode *ip, char *out)
{
	const struct xfs_geo *g = &x->g;
	uint64_t blocks = (ip->size + g->bs - SL_HDR - 1) / (g->bs - SL_HDR), done = 0;
	struct slmaps s = {.x = x, .ip = ip};
	uint8_t *b;
	int err = bmap_walk(x, ip, blocks, sl_piece, &s);

	if (err)
		return err;
	b = malloc((size_t)blocks * g->bs);
	if (!b)
		return ferr(-ENOMEM, "out of memory");
	for (unsigned i = 0; i < s.n && !err; i++) {
		uint64_t len = s.len[i] * g->bs, bytes;

		if (s.off[i] != (i ? s.off[i - 1] + s.len[i - 1] : 0) ||
		    s.off[i] + s.len[i] > blocks) {
			err = bad_inode(x, ip->ino, "link target extents with holes, or longer "
					"than the link");
			break;
		}
		err = blk_read(g->d, b, (size_t)len, s.pos[i]);
		if (err)
			break;
		bytes = get_be32(b + SL_BYTES);
		if (get_be32(b) != SYMLINK_MAGIC || !xfs_crc_ok(b, (size_t)len, SL_CRC) ||
		    memcmp(b + SL_UUID, g->meta_uuid, 16) || get_be64(b + SL_OWNER) != ip->ino ||
		    get_be64(b + SL_BLKNO) != s.pos[i] / 512 || get_be32(b + SL_OFFSET) != done ||
		    bytes > len - SL_HDR || bytes > ip->size - done) {
			err = bad_inode(x, ip->ino, "a link target block with a bad header or CRC");
			break;
		}
		memcpy(out + done, b + SL_HDR, (size_t)bytes);
		done += bytes;
	}
	free(b);
	if (!err && done != ip->size)
		err = bad_inode(x, ip->ino, "the link target's blocks hold less than its size");
	return err;
}

static int link_read(struct xfs_fs *x, const struct xinode *ip, char *buf, size_t len)
{
	int err;

	if (!ip->size || ip->size > SYMLINK_MAX)
		return bad_inode(x, ip->ino, "a link target of a length XFS cannot have");
	if (ip->size >= len)
		return ferr(-ENAMETOOLONG, "%s: XFS inode %llu: the link target is too long",
			    dname(x), (unsigned long long)ip->ino);
	if (ip->format == FMT_LOCAL || !x->g.v5)
		err = data_read(x, ip, (uint8_t *)buf, ip->size);
	else
		err = link_remote_v5(x, ip, buf);
	if (err)
		return err;
	if (memchr(buf, '\0', (size_t)ip->size))
		return bad_inode(x, ip->ino, "a NUL in the link target");
	buf[ip->size] = '\0';
	return 0;
}

#define IS_DIR(m) (((m) & S_FMT) == 0040000)
#define IS_LNK(m) (((m) & S_FMT) == 0120000)
#define IS_REG(m) (((m) & S_FMT) == 0100000)

/* Resolves an absolute path from the root into *ip: every component but
 * the last must be a directory, links are followed (the last one only
 * with follow), an absolute target starts again at the root and ".."
 * stops there. -ENOENT (no message) when a name is missing. */
static int namei(struct xfs_fs *x, const char *path, bool follow, struct xinode *ip)
{
	char rest[PATH_LEN], tmp[PATH_LEN], link[SYMLINK_MAX + 1];
	uint64_t stack[MAX_DEPTH], child;
	size_t depth = 1;
	int links = 0, err;

	stack[0] = x->g.rootino;
	if (snprintf(rest, sizeof(rest), "%s", path) >= (int)sizeof(rest))
		return ferr(-ENAMETOOLONG, "%s: path too long: %s", dname(x), path);
	err = inode_read(x, stack[0], ip);
	while (!err) {
		char *r = rest, *comp, *slash;
		bool last;

		while (*r == '/')
			r++;
		if (!*r)
			break;
		comp = r;
		slash = strchr(r, '/');
		if (slash)
			*slash = '\0';
		r = slash ? slash + 1 : r + strlen(r);
		while (*r == '/')
			r++;
		last = !*r;
		if (!IS_DIR(ip->mode))
			return ferr(-ENOTDIR, "%s: %s: a component is not a directory", dname(x),
				    path);
		if (!strcmp(comp, ".")) {
			memmove(rest, r, strlen(r) + 1);
			continue;
		}
		if (!strcmp(comp, "..")) {
			if (depth > 1)
				depth--;
			memmove(rest, r, strlen(r) + 1);
			err = inode_read(x, stack[depth - 1], ip);
			continue;
		}
		if (strlen(comp) > NAME_MAX_LEN)
			return ferr(-ENAMETOOLONG, "%s: %s: a name is too long", dname(x), path);
		err = dir_lookup(x, ip, comp, &child);
		if (!err)
			err = inode_read(x, child, ip);
		if (err)
			return err;
		if (IS_LNK(ip->mode) && (!last || follow)) {
			if (++links > MAX_LINKS)
				return ferr(-ELOOP, "%s: too many levels of symbolic links in %s",
					    dname(x), path);
			err = link_read(x, ip, link, sizeof(link));
			if (err)
				return err;
			if (snprintf(tmp, sizeof(tmp), "%s%s%s", link, *r ? "/" : "", r) >=
			    (int)sizeof(tmp))
				return ferr(-ENAMETOOLONG, "%s: path too long: %s", dname(x), path);
			memcpy(rest, tmp, strlen(tmp) + 1);
			if (link[0] == '/')
				depth = 1;
			err = inode_read(x, stack[depth - 1], ip);
			continue;
		}
		if (depth == MAX_DEPTH)
			return ferr(-ENAMETOOLONG, "%s: %s: too deep", dname(x), path);
		stack[depth++] = child;
		memmove(rest, r, strlen(r) + 1);
	}
	return err;
}

int xfs_open(struct xfs_fs **out, const struct blkdev *d)
{
	struct xfs_fs *x = calloc(1, sizeof(*x));
	struct xfs_geo *g;
	struct xinode *root = NULL;
	int err;

	*out = NULL;
	if (!x)
		return ferr(-ENOMEM, "out of memory");
	g = &x->g;
	err = xfs_geo_read(d, g);
	if (err)
		goto fail;
	/* What the file reader trusts beyond what the used-block map needs. */
	if (g->inodesize < 256 || g->inodesize > INODE_MAX || g->inodesize > g->bs ||
	    (g->v5 && g->inodesize < 512) || g->inodelog > 11 ||
	    (1u << g->inodelog) != g->inodesize || g->inopblock != g->bs / g->inodesize ||
	    g->inopblog > 8 || (1u << g->inopblog) != g->inopblock) {
		err = ferr(-EINVAL, "%s: XFS superblock: inodes of %u bytes, %u a block", d->name,
			   g->inodesize, g->inopblock);
		goto fail;
	}
	if (g->dirblklog > 16 || ((uint64_t)g->bs << g->dirblklog) > 65536) {
		err = ferr(-EINVAL, "%s: XFS superblock: directory blocks of 2^%u filesystem "
			   "blocks", d->name, g->dirblklog);
		goto fail;
	}
	x->dirblksize = g->bs << g->dirblklog;
	x->dirbuf = malloc(x->dirblksize);
	x->btbuf = malloc((size_t)BMBT_MAX_LEVELS * g->bs);
	root = malloc(sizeof(*root));
	if (!x->dirbuf || !x->btbuf || !root) {
		err = ferr(-ENOMEM, "out of memory");
		goto fail;
	}
	err = inode_read(x, g->rootino, root);
	if (!err && !IS_DIR(root->mode))
		err = bad_inode(x, g->rootino, "the root is not a directory");
	if (err)
		goto fail;
	free(root);
	*out = x;
	return 0;
fail:
	free(root);
	xfs_free(x);
	return err;
}

void xfs_free(struct xfs_fs *x)
{
	if (!x)
		return;
	free(x->dirbuf);
	free(x->btbuf);
	free(x);
}

/* The inode path names, in a buffer of its own (inodes are 2 KiB). */
static int lookup(struct xfs_fs *x, const char *path, bool follow, struct xinode **ip)
{
	int err;

	*ip = malloc(sizeof(**ip));
	if (!*ip)
		return ferr(-ENOMEM, "out of memory");
	err = namei(x, path, follow, *ip);
	if (err) {
		free(*ip);
		*ip = NULL;
	}
	return err;
}

int xfs_stat(struct xfs_fs *x, const char *path, bool follow, struct xfs_stat *st)
{
	struct xinode *ip;
	int err = lookup(x, path, follow, &ip);

	if (err)
		return err;
	st->mode = ip->mode;
	st->uid = ip->uid;
	st->gid = ip->gid;
	st->size = ip->size;
	st->nlink = ip->nlink;
	free(ip);
	return 0;
}

int xfs_read(struct xfs_fs *x, const char *path, size_t max, char **data, size_t *len)
{
	struct xinode *ip;
	uint8_t *buf;
	int err;

	*data = NULL;
	*len = 0;
	err = lookup(x, path, true, &ip);
	if (err)
		return err;
	if (!IS_REG(ip->mode))
		err = ferr(-EISDIR, "%s: %s is not a regular file", dname(x), path);
	else if (ip->size > max)
		err = ferr(-EFBIG, "%s: %s is larger than %zu bytes", dname(x), path, max);
	if (err)
		goto out;
	buf = malloc((size_t)ip->size + 1);
	if (!buf) {
		err = ferr(-ENOMEM, "out of memory");
		goto out;
	}
	err = data_read(x, ip, buf, ip->size);
	if (err) {
		free(buf);
		goto out;
	}
	buf[ip->size] = '\0';
	*data = (char *)buf;
	*len = (size_t)ip->size;
out:
	free(ip);
	return err;
}

int xfs_readlink(struct xfs_fs *x, const char *path, char *buf, size_t len)
{
	struct xinode *ip;
	int err = lookup(x, path, false, &ip);

	if (err)
		return err;
	if (!IS_LNK(ip->mode))
		err = ferr(-EINVAL, "%s: %s is not a symbolic link", dname(x), path);
	else
		err = link_read(x, ip, buf, len);
	free(ip);
	return err;
}

struct list {
	struct xfs_fs *x;
	xfs_list_fn fn;
	void *arg;
	struct xinode *child;
	int ret; /* what stopped the caller's fn */
};

/* The mode bits of a directory entry's type. */
static uint32_t ftype_mode(unsigned ftype)
{
	static const uint32_t modes[] = {0, 0100000, 0040000, 0020000, 0060000, 0010000,
					 0140000, 0120000};

	return ftype < sizeof(modes) / sizeof(modes[0]) ? modes[ftype] : 0;
}

static int list_one(void *arg, const uint8_t *name, unsigned len, uint64_t ino, unsigned ftype)
{
	struct list *l = arg;
	char s[NAME_MAX_LEN + 1];
	uint32_t mode = ftype_mode(ftype);

	/* No type in the entry: the inode says it. One that cannot be read is
	 * listed without a type (as the ext backend does) rather than hiding
	 * its neighbours; opening it says what is wrong. */
	if (!mode && inode_read(l->x, ino, l->child) == 0)
		mode = l->child->mode & S_FMT;
	memcpy(s, name, len);
	s[len] = '\0';
	l->ret = l->fn(s, mode, l->arg);
	return l->ret ? WALK_STOP : 0;
}

int xfs_list(struct xfs_fs *x, const char *path, xfs_list_fn fn, void *arg)
{
	struct list l = {.x = x, .fn = fn, .arg = arg};
	struct xinode *dp;
	int err = lookup(x, path, true, &dp);

	if (err)
		return err;
	l.child = malloc(sizeof(*l.child));
	if (!l.child)
		err = ferr(-ENOMEM, "out of memory");
	else if (!IS_DIR(dp->mode))
		err = ferr(-ENOTDIR, "%s: %s is not a directory", dname(x), path);
	else
		err = dir_iterate(x, dp, list_one, &l);
	if (err == WALK_STOP)
		err = l.ret;
	free(l.child);
	free(dp);
	return err;
}

int xfs_read_file(const struct blkdev *d, const char *path, size_t max, char **data, size_t *len)
{
	struct xfs_fs *x;
	int err;

	*data = NULL;
	*len = 0;
	err = xfs_open(&x, d);
	if (err)
		return err;
	err = xfs_read(x, path, max, data, len);
	xfs_free(x);
	/* As extfs_read_file: what is not a regular file is not there. */
	return err == -EISDIR ? -ENOENT : err;
}
