/* XFS read by Ferry's own code (see xfs.h): the superblock and AG headers
 * checked, the bnobt walked for the used-block map, the log's head and tail
 * found as the kernel finds them when it mounts. */
#include <errno.h>
#include <ext2fs/ext2fs.h> /* ext2fs_crc32c_le: XFS's checksums are crc32c */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/xfs.h"
#include "fs/xfs_geo.h"
#include "util/bytes.h"
#include "util/endian.h"
#include "util/err.h"

#define XFS_SB_MAGIC 0x58465342u   /* "XFSB" */
#define XFS_AGF_MAGIC 0x58414746u  /* "XAGF" */
#define XFS_ABTB_MAGIC 0x41425442u /* "ABTB": a v4 bnobt block */
#define XFS_AB3B_MAGIC 0x41423342u /* "AB3B": a v5 bnobt block */
#define XLOG_MAGIC 0xfeedbabeu
#define NULLAGBLOCK 0xffffffffu
#define NONE UINT64_MAX

#define XFS_MAX_SECT 32768u
#define XFS_MIN_AG_BLOCKS 64u
#define BT_MAX_LEVELS 12u /* above what the smallest blocks and largest AGs need */

/* Superblock fields (big-endian but the CRC). */
enum {
	SB_BLOCKSIZE = 4, SB_DBLOCKS = 8, SB_RBLOCKS = 16, SB_REXTENTS = 24, SB_UUID = 32,
	SB_LOGSTART = 48, SB_ROOTINO = 56, SB_AGBLOCKS = 84, SB_AGCOUNT = 88,
	SB_LOGBLOCKS = 96, SB_VERSIONNUM = 100, SB_SECTSIZE = 102, SB_INODESIZE = 104,
	SB_INOPBLOCK = 106, SB_FNAME = 108, SB_BLOCKLOG = 120, SB_SECTLOG = 121,
	SB_INODELOG = 122, SB_INOPBLOG = 123, SB_AGBLKLOG = 124, SB_INPROGRESS = 126,
	SB_DIRBLKLOG = 192, SB_FEATURES2 = 200, SB_INCOMPAT = 216, SB_CRC = 224,
	SB_META_UUID = 248,
};

#define V_NUMBITS 0x000fu
#define V_SHAREDBIT 0x0200u
#define V_LOGV2BIT 0x0400u
#define V_EXTFLGBIT 0x1000u
#define V_DIRV2BIT 0x2000u
#define V_MOREBITSBIT 0x8000u
#define V2_FTYPE 0x0200u
/* sb_features2 bits a v4 filesystem may have: lazy counters, attr2,
 * 32-bit project ids, file types in directories. */
#define V2_OKBITS 0x028au

#define INCOMPAT_FTYPE (1u << 0)
#define INCOMPAT_META_UUID (1u << 2)
#define INCOMPAT_NEEDSREPAIR (1u << 4)
/* ftype, sparse inodes, meta_uuid, bigtime, needsrepair, nrext64,
 * exchange-range, parent pointers: none changes the AG headers, the bnobt
 * or the log record headers. */
#define INCOMPAT_KNOWN 0x00ffu

/* AGF fields. */
enum {
	AGF_VERSION = 4, AGF_SEQNO = 8, AGF_LENGTH = 12, AGF_BNO_ROOT = 16, AGF_BNO_LEVEL = 28,
	AGF_FREEBLKS = 52, AGF_UUID = 64, AGF_CRC = 216,
};

/* Short-form btree block header; v5 adds where it lives, whose it is and
 * a CRC. */
enum {
	BB_LEVEL = 4, BB_NUMRECS = 6, BB_LEFTSIB = 8, BB_RIGHTSIB = 12, BB_BLKNO = 16,
	BB_UUID = 32, BB_OWNER = 48, BB_CRC = 52,
};
#define BT_HDR_V4 16u
#define BT_HDR_V5 56u

/* Log record header fields; h_crc is little-endian. */
enum {
	LH_VERSION = 8, LH_LEN = 12, LH_TAIL_LSN = 24, LH_CRC = 32, LH_NUM_LOGOPS = 40,
	LH_FS_UUID = 304, LH_SIZE = 320,
};
#define BBSIZE 512u
#define XLOG_CYCLE_SIZE 32768u       /* data bytes one header's cycle words cover */
#define XLOG_EXT_HDR_BYTES 260u      /* an extended header: a cycle and 64 words */
#define XLOG_MAX_RECORD 262144u      /* the largest record, v2 */
#define XLOG_BUF_BBS (XLOG_MAX_RECORD / BBSIZE)
#define XLOG_UNMOUNT_TRANS 0x20u     /* op header flags: the unmount record */
#define OP_FLAGS 9                   /* the op header's flags byte */

static bool pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* What the superblock's sb_agblklog must be: log2 of agblocks, rounded up. */
static unsigned log2_up(uint32_t v)
{
	unsigned l = 0;

	while (l < 32 && (1ull << l) < v)
		l++;
	return l;
}

/* XFS's CRC: crc32c over len bytes with the field at off counted as zeros,
 * stored inverted and little-endian. */
static uint32_t crc_calc(const uint8_t *b, size_t len, size_t off)
{
	static const uint8_t zero[4];
	uint32_t c;

	c = ext2fs_crc32c_le(~0u, b, off);
	c = ext2fs_crc32c_le(c, zero, sizeof(zero));
	c = ext2fs_crc32c_le(c, b + off + 4, len - off - 4);
	return ~c;
}

bool xfs_crc_ok(const uint8_t *b, size_t len, size_t off)
{
	return crc_calc(b, len, off) == get_le32(b + off);
}

uint32_t xfs_ag_len(const struct xfs_geo *g, uint32_t agno)
{
	if (agno + 1 < g->agcount)
		return g->agblocks;
	return (uint32_t)(g->dblocks - (uint64_t)(g->agcount - 1) * g->agblocks);
}

uint64_t xfs_ag_off(const struct xfs_geo *g, uint32_t agno)
{
	return (uint64_t)agno * g->agblocks * g->bs;
}

/* The tallest bnobt the AG's size allows when every block below the root
 * is at least half full (how the kernel bounds it). */
static unsigned bt_max_levels(const struct xfs_geo *g)
{
	uint64_t leaf_min = g->leaf_max / 2, node_min = g->node_max / 2;
	uint64_t blocks = (((uint64_t)g->agblocks + 1) / 2 + leaf_min - 1) / leaf_min;
	unsigned levels = 1;

	while (blocks > 1) {
		blocks = (blocks + node_min - 1) / node_min;
		levels++;
	}
	return levels;
}

/* Feature bits: what Ferry does not know is refused by name. */
static int sb_features(const struct blkdev *d, const uint8_t *sb, uint32_t ver)
{
	static const char *const names[] = {[8] = "metadir", [9] = "zoned", [10] = "zone_gaps"};
	uint32_t f2 = get_be32(sb + SB_FEATURES2), incompat, unknown;
	char list[200] = "";
	size_t n = 0;

	switch (ver & V_NUMBITS) {
	case 4:
		if (ver & V_SHAREDBIT)
			return ferr(-ENOTSUP, "%s: the XFS filesystem has the shared-superblock "
				    "feature, which Ferry does not know", d->name);
		if ((ver & V_MOREBITSBIT) && (f2 & ~V2_OKBITS))
			return ferr(-ENOTSUP, "%s: the XFS filesystem has v4 feature bits Ferry does "
				    "not know (sb_features2 0x%x)", d->name, f2 & ~V2_OKBITS);
		if (!(ver & V_DIRV2BIT) || !(ver & V_EXTFLGBIT))
			return ferr(-ENOTSUP, "%s: the XFS filesystem predates version 2 directories "
				    "and unwritten extents (versionnum 0x%x)", d->name, ver);
		return 0;
	case 5:
		break;
	default:
		return ferr(-ENOTSUP, "%s: XFS superblock version %u is not supported", d->name,
			    ver & V_NUMBITS);
	}
	incompat = get_be32(sb + SB_INCOMPAT);
	unknown = incompat & ~INCOMPAT_KNOWN;
	for (unsigned b = 0; b < 32 && unknown; b++) {
		if (!(unknown & (1u << b)))
			continue;
		if (b < sizeof(names) / sizeof(names[0]) && names[b])
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "",
					      names[b]);
		else
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s0x%x", n ? ", " : "",
					      1u << b);
		if (n >= sizeof(list))
			break;
	}
	if (unknown)
		return ferr(-ENOTSUP, "%s: the XFS filesystem has incompatible features Ferry does "
			    "not know: %s", d->name, list);
	if (incompat & INCOMPAT_NEEDSREPAIR)
		return ferr(-EINVAL, "%s: the XFS filesystem is marked as needing xfs_repair "
			    "(needsrepair)", d->name);
	return 0;
}

/* The geometry everything else trusts. */
static int sb_geometry(const struct blkdev *d, const uint8_t *sb, struct xfs_geo *g)
{
	uint64_t logstart = get_be64(sb + SB_LOGSTART);
	uint64_t log_ag;

	g->bs = get_be32(sb + SB_BLOCKSIZE);
	if (!pow2(g->bs) || g->bs < 512 || g->bs > 65536 || (1u << (sb[SB_BLOCKLOG] & 31)) != g->bs ||
	    g->bs < g->sectsize)
		return ferr(-EINVAL, "%s: XFS superblock: block size %u is not a power of two "
			    "from 512 to 65536 (and at least the sector size)", d->name, g->bs);
	g->dblocks = get_be64(sb + SB_DBLOCKS);
	g->agblocks = get_be32(sb + SB_AGBLOCKS);
	g->agcount = get_be32(sb + SB_AGCOUNT);
	g->agblklog = sb[SB_AGBLKLOG];
	if (g->agblocks < XFS_MIN_AG_BLOCKS || g->agblocks > 0x7fffffffu ||
	    g->agblklog != log2_up(g->agblocks))
		return ferr(-EINVAL, "%s: XFS superblock: allocation groups of %u blocks (log %u)",
			    d->name, g->agblocks, g->agblklog);
	if (g->agcount == 0 ||
	    g->dblocks < (uint64_t)(g->agcount - 1) * g->agblocks + XFS_MIN_AG_BLOCKS ||
	    g->dblocks > (uint64_t)g->agcount * g->agblocks)
		return ferr(-EINVAL, "%s: XFS superblock: %llu blocks do not make %u allocation "
			    "groups of %u", d->name, (unsigned long long)g->dblocks, g->agcount,
			    g->agblocks);
	if (g->dblocks > d->size / g->bs)
		return ferr(-EINVAL, "%s: the XFS filesystem (%llu blocks of %u bytes) is larger "
			    "than its partition (%llu bytes)", d->name,
			    (unsigned long long)g->dblocks, g->bs, (unsigned long long)d->size);
	if (get_be64(sb + SB_RBLOCKS) || get_be64(sb + SB_REXTENTS))
		return ferr(-ENOTSUP, "%s: the XFS filesystem has a realtime section, which Ferry "
			    "cannot map", d->name);
	if (!logstart)
		return ferr(-ENOTSUP, "%s: the XFS filesystem has an external log, which Ferry "
			    "cannot map", d->name);
	g->hdr_blocks = (4 * g->sectsize + g->bs - 1) / g->bs;
	g->logblocks = get_be32(sb + SB_LOGBLOCKS);
	log_ag = logstart >> g->agblklog;
	g->log_agbno = (uint32_t)(logstart & ((1ull << g->agblklog) - 1));
	/* An internal log lies inside one AG, past its headers. */
	if (log_ag >= g->agcount || !g->logblocks || g->log_agbno < g->hdr_blocks ||
	    (uint64_t)g->log_agbno + g->logblocks > xfs_ag_len(g, (uint32_t)log_ag))
		return ferr(-EINVAL, "%s: XFS superblock: the internal log (%u blocks at block "
			    "%llu) lies outside its allocation group", d->name, g->logblocks,
			    (unsigned long long)logstart);
	g->log_ag = (uint32_t)log_ag;
	return 0;
}

int xfs_geo_read(const struct blkdev *d, struct xfs_geo *g)
{
	uint8_t *sb;
	uint32_t ver;
	int err;

	memset(g, 0, sizeof(*g));
	g->d = d;
	if (d->size < BBSIZE)
		return ferr(-EINVAL, "%s: too small for an XFS superblock", d->name);
	sb = malloc(XFS_MAX_SECT);
	if (!sb)
		return ferr(-ENOMEM, "out of memory");
	err = blk_read(d, sb, BBSIZE, 0);
	if (err)
		goto out;
	if (get_be32(sb) != XFS_SB_MAGIC) {
		err = ferr(-EINVAL, "%s: no XFS superblock (bad magic)", d->name);
		goto out;
	}
	g->sectsize = get_be16(sb + SB_SECTSIZE);
	if (!pow2(g->sectsize) || g->sectsize < BBSIZE || g->sectsize > XFS_MAX_SECT ||
	    (1u << (sb[SB_SECTLOG] & 31)) != g->sectsize || g->sectsize > d->size) {
		err = ferr(-EINVAL, "%s: XFS superblock: sector size %u", d->name, g->sectsize);
		goto out;
	}
	if (g->sectsize > BBSIZE) {
		err = blk_read(d, sb, g->sectsize, 0);
		if (err)
			goto out;
	}
	ver = get_be16(sb + SB_VERSIONNUM);
	g->v5 = (ver & V_NUMBITS) == 5;
	/* The CRC first: a damaged superblock's feature bits mean nothing. */
	if (g->v5 && !xfs_crc_ok(sb, g->sectsize, SB_CRC)) {
		err = ferr(-EINVAL, "%s: the XFS superblock has a bad CRC", d->name);
		goto out;
	}
	err = sb_features(d, sb, ver);
	if (err)
		goto out;
	if (sb[SB_INPROGRESS]) {
		err = ferr(-EINVAL, "%s: the XFS filesystem was never finished (mkfs in progress)",
			   d->name);
		goto out;
	}
	err = sb_geometry(d, sb, g);
	if (err)
		goto out;
	g->logv2 = g->v5 || (ver & V_LOGV2BIT);
	memcpy(g->uuid, sb + SB_UUID, 16);
	memcpy(g->meta_uuid, sb + (g->v5 && (get_be32(sb + SB_INCOMPAT) & INCOMPAT_META_UUID) ?
				   SB_META_UUID : SB_UUID), 16);
	memcpy(g->label, sb + SB_FNAME, 12);
	g->label[12] = '\0';
	g->blocklog = sb[SB_BLOCKLOG];
	g->rootino = get_be64(sb + SB_ROOTINO);
	g->inodesize = get_be16(sb + SB_INODESIZE);
	g->inopblock = get_be16(sb + SB_INOPBLOCK);
	g->inodelog = sb[SB_INODELOG];
	g->inopblog = sb[SB_INOPBLOG];
	g->dirblklog = sb[SB_DIRBLKLOG];
	g->ftype = g->v5 ? (get_be32(sb + SB_INCOMPAT) & INCOMPAT_FTYPE) != 0 :
		   (ver & V_MOREBITSBIT) && (get_be32(sb + SB_FEATURES2) & V2_FTYPE);
	g->bt_hdr = g->v5 ? BT_HDR_V5 : BT_HDR_V4;
	g->leaf_max = (g->bs - g->bt_hdr) / 8;  /* records: start, length */
	g->node_max = (g->bs - g->bt_hdr) / 12; /* keys as records, 4-byte pointers */
	g->max_levels = bt_max_levels(g);
	if (g->max_levels > BT_MAX_LEVELS)
		err = ferr(-EINVAL, "%s: XFS superblock: allocation groups too large for their "
			   "blocks", d->name);
out:
	free(sb);
	return err;
}

struct agf {
	uint32_t len, root, levels, freeblks;
};

static int agf_read(const struct xfs_geo *g, uint8_t *buf, uint32_t agno, struct agf *a)
{
	const char *name = g->d->name;
	int err;

	err = blk_read(g->d, buf, g->sectsize, xfs_ag_off(g, agno) + g->sectsize);
	if (err)
		return err;
	if (get_be32(buf) != XFS_AGF_MAGIC)
		return ferr(-EINVAL, "%s: XFS allocation group %u: bad AGF magic", name, agno);
	if (g->v5 && !xfs_crc_ok(buf, g->sectsize, AGF_CRC))
		return ferr(-EINVAL, "%s: XFS allocation group %u: the AGF has a bad CRC", name,
			    agno);
	if (g->v5 && memcmp(buf + AGF_UUID, g->meta_uuid, 16))
		return ferr(-EINVAL, "%s: XFS allocation group %u: the AGF belongs to another "
			    "filesystem", name, agno);
	a->len = get_be32(buf + AGF_LENGTH);
	a->root = get_be32(buf + AGF_BNO_ROOT);
	a->levels = get_be32(buf + AGF_BNO_LEVEL);
	a->freeblks = get_be32(buf + AGF_FREEBLKS);
	if (get_be32(buf + AGF_VERSION) != 1 || get_be32(buf + AGF_SEQNO) != agno)
		return ferr(-EINVAL, "%s: XFS allocation group %u: the AGF's version or number "
			    "is wrong", name, agno);
	if (a->len != xfs_ag_len(g, agno))
		return ferr(-EINVAL, "%s: XFS allocation group %u: the AGF says %u blocks, the "
			    "superblock %u", name, agno, a->len, xfs_ag_len(g, agno));
	if (a->root < g->hdr_blocks || a->root >= a->len || !a->levels ||
	    a->levels > g->max_levels || a->freeblks > a->len)
		return ferr(-EINVAL, "%s: XFS allocation group %u: the AGF's free-space btree "
			    "(root %u, %u levels, %u free blocks) does not fit the AG", name, agno,
			    a->root, a->levels, a->freeblks);
	return 0;
}

/* Used runs of the whole device, neighbours merged before fn sees them. */
struct run {
	uint64_t off, len;
	xfs_range_fn fn;
	void *arg;
};

static int run_add(struct run *r, uint64_t off, uint64_t len)
{
	int err;

	if (!len)
		return 0;
	if (r->len && r->off + r->len == off) {
		r->len += len;
		return 0;
	}
	if (r->len) {
		err = r->fn(r->off, r->len, r->arg);
		if (err)
			return err;
	}
	r->off = off;
	r->len = len;
	return 0;
}

static int run_flush(struct run *r)
{
	int err = r->len ? r->fn(r->off, r->len, r->arg) : 0;

	r->len = 0;
	return err;
}

/* One AG's bnobt, walked from the root depth first. Levels shrink on the
 * way down, each level's blocks must form the sibling list in the order
 * the walk meets them, and free extents must rise: a cycle or a block
 * reached twice fails at once instead of looping. */
struct bt_walk {
	const struct xfs_geo *g;
	uint32_t agno, aglen, levels;
	uint8_t *blocks;                  /* one block per level */
	uint32_t last[BT_MAX_LEVELS];     /* the block met last on each level */
	uint32_t last_right[BT_MAX_LEVELS];
	uint64_t free_end;                /* where the last free extent ended */
	uint64_t free_blocks;
	struct run *out;                  /* NULL: check only */
};

static int bt_record(struct bt_walk *w, uint32_t agbno, uint32_t start, uint32_t count)
{
	const struct xfs_geo *g = w->g;
	const char *name = g->d->name;
	uint64_t end = (uint64_t)start + count;
	int err;

	if (!count || start < w->free_end)
		return ferr(-EINVAL, "%s: XFS allocation group %u: free extent %u+%u in btree "
			    "block %u is empty, out of order or overlaps the one before", name,
			    w->agno, start, count, agbno);
	if (start < g->hdr_blocks || end > w->aglen)
		return ferr(-EINVAL, "%s: XFS allocation group %u: free extent %u+%u lies outside "
			    "the AG's %u blocks (or over its headers)", name, w->agno, start, count,
			    w->aglen);
	if (w->agno == g->log_ag && start < (uint64_t)g->log_agbno + g->logblocks &&
	    end > g->log_agbno)
		return ferr(-EINVAL, "%s: XFS allocation group %u: free extent %u+%u overlaps "
			    "the internal log", name, w->agno, start, count);
	if (w->out) {
		uint64_t base = xfs_ag_off(g, w->agno);

		err = run_add(w->out, base + w->free_end * g->bs, (start - w->free_end) * g->bs);
		if (err)
			return err;
	}
	w->free_end = end;
	w->free_blocks += count;
	return 0;
}

static int bt_visit(struct bt_walk *w, uint32_t level, uint32_t agbno, bool has_key,
		    uint32_t key)
{
	const struct xfs_geo *g = w->g;
	const char *name = g->d->name;
	uint8_t *b = w->blocks + (size_t)level * g->bs;
	uint64_t daddr = ((uint64_t)w->agno * g->agblocks + agbno) * (g->bs / BBSIZE);
	bool root = level + 1 == w->levels;
	uint32_t n, prev_key = 0;
	int err;

	if (agbno < g->hdr_blocks || agbno >= w->aglen)
		return ferr(-EINVAL, "%s: XFS allocation group %u: a free-space btree pointer "
			    "(block %u) leaves the AG", name, w->agno, agbno);
	err = blk_read(g->d, b, g->bs, xfs_ag_off(g, w->agno) + (uint64_t)agbno * g->bs);
	if (err)
		return err;
	if (get_be32(b) != (g->v5 ? XFS_AB3B_MAGIC : XFS_ABTB_MAGIC))
		return ferr(-EINVAL, "%s: XFS allocation group %u: block %u is not a free-space "
			    "btree block (bad magic)", name, w->agno, agbno);
	if (g->v5 && !xfs_crc_ok(b, g->bs, BB_CRC))
		return ferr(-EINVAL, "%s: XFS allocation group %u: free-space btree block %u has "
			    "a bad CRC", name, w->agno, agbno);
	if (g->v5 && (get_be64(b + BB_BLKNO) != daddr || memcmp(b + BB_UUID, g->meta_uuid, 16) ||
		      get_be32(b + BB_OWNER) != w->agno))
		return ferr(-EINVAL, "%s: XFS allocation group %u: free-space btree block %u "
			    "says it belongs elsewhere", name, w->agno, agbno);
	n = get_be16(b + BB_NUMRECS);
	if (get_be16(b + BB_LEVEL) != level)
		return ferr(-EINVAL, "%s: XFS allocation group %u: free-space btree block %u is "
			    "at level %u, its parent expects %u", name, w->agno, agbno,
			    get_be16(b + BB_LEVEL), level);
	if (n > (level ? g->node_max : g->leaf_max) || (!n && !(root && !level)))
		return ferr(-EINVAL, "%s: XFS allocation group %u: free-space btree block %u "
			    "claims %u records", name, w->agno, agbno, n);
	if (get_be32(b + BB_LEFTSIB) != w->last[level] ||
	    (w->last[level] != NULLAGBLOCK && w->last_right[level] != agbno))
		return ferr(-EINVAL, "%s: XFS allocation group %u: free-space btree block %u: "
			    "its sibling pointers do not match the tree (a cycle, or a block "
			    "reached twice)", name, w->agno, agbno);
	w->last[level] = agbno;
	w->last_right[level] = get_be32(b + BB_RIGHTSIB);

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *rec = b + g->bt_hdr + 8 * i;
		uint32_t start = get_be32(rec);

		if (i == 0 && has_key && start != key)
			return ferr(-EINVAL, "%s: XFS allocation group %u: free-space btree block "
				    "%u starts at %u, its parent's key says %u", name, w->agno,
				    agbno, start, key);
		if (!level) {
			err = bt_record(w, agbno, start, get_be32(rec + 4));
		} else {
			uint32_t ptr = get_be32(b + g->bt_hdr + 8 * g->node_max + 4 * i);

			if (i && start <= prev_key)
				return ferr(-EINVAL, "%s: XFS allocation group %u: free-space btree "
					    "block %u has keys out of order", name, w->agno, agbno);
			prev_key = start;
			err = bt_visit(w, level - 1, ptr, true, start);
		}
		if (err)
			return err;
	}
	return 0;
}

/* Checks one AG's bnobt and, with out, adds its used runs. */
static int walk_ag(const struct xfs_geo *g, uint32_t agno, uint8_t *blocks, uint8_t *sect,
		   struct run *out)
{
	struct bt_walk w = {.g = g, .agno = agno, .blocks = blocks, .out = out};
	struct agf a;
	int err;

	err = agf_read(g, sect, agno, &a);
	if (err)
		return err;
	w.aglen = a.len;
	w.levels = a.levels;
	for (unsigned l = 0; l < BT_MAX_LEVELS; l++)
		w.last[l] = w.last_right[l] = NULLAGBLOCK;
	err = bt_visit(&w, a.levels - 1, a.root, false, 0);
	if (err)
		return err;
	for (unsigned l = 0; l < a.levels; l++)
		if (w.last_right[l] != NULLAGBLOCK)
			return ferr(-EINVAL, "%s: XFS allocation group %u: the free-space btree's "
				    "level %u goes on past the blocks its root reaches", g->d->name,
				    agno, l);
	if (w.free_blocks != a.freeblks)
		return ferr(-EINVAL, "%s: XFS allocation group %u: the free-space btree lists "
			    "%llu free blocks, the AGF %u", g->d->name, agno,
			    (unsigned long long)w.free_blocks, a.freeblks);
	if (out)
		return run_add(out, xfs_ag_off(g, agno) + w.free_end * g->bs,
			       (a.len - w.free_end) * g->bs);
	return 0;
}

int xfs_used_ranges(const struct blkdev *d, xfs_range_fn fn, void *arg)
{
	struct run out = {.fn = fn, .arg = arg};
	uint8_t *blocks = NULL, *sect = NULL;
	struct xfs_geo g;
	int err;

	err = xfs_geo_read(d, &g);
	if (err)
		return err;
	blocks = malloc((size_t)g.max_levels * g.bs);
	sect = malloc(g.sectsize);
	if (!blocks || !sect) {
		err = ferr(-ENOMEM, "out of memory");
		goto out;
	}
	/* Every AG is checked before the first range goes out, so that a
	 * damaged one never leaves half a map behind. */
	for (int pass = 0; pass < 2 && !err; pass++)
		for (uint32_t agno = 0; agno < g.agcount && !err; agno++)
			err = walk_ag(&g, agno, blocks, sect, pass ? &out : NULL);
	if (!err)
		err = run_flush(&out);
out:
	free(blocks);
	free(sect);
	return err;
}

/* The internal log, in 512-byte basic blocks. Every block begins with the
 * cycle (the number of passes over the log) it was written in, but a
 * record header, which begins with XLOG_MAGIC and has the cycle next. */
struct xlog {
	const struct xfs_geo *g;
	uint64_t off, n;
	uint64_t rec_bbs;   /* the largest record */
	uint64_t total_bbs; /* what the in-core logs may hold in flight */
	uint8_t *buf;       /* XLOG_BUF_BBS blocks */
};

static int log_read(const struct xlog *l, uint64_t blk, uint64_t count, uint8_t *buf)
{
	return blk_read(l->g->d, buf, (size_t)(count * BBSIZE), l->off + blk * BBSIZE);
}

/* count blocks from blk, going on at the log's start past its end. */
static int log_read_wrap(const struct xlog *l, uint64_t blk, uint64_t count, uint8_t *buf)
{
	uint64_t first = count < l->n - blk ? count : l->n - blk;
	int err = log_read(l, blk, first, buf);

	if (!err && first < count)
		err = log_read(l, 0, count - first, buf + first * BBSIZE);
	return err;
}

static uint32_t bb_cycle(const uint8_t *bb)
{
	return get_be32(bb) == XLOG_MAGIC ? get_be32(bb + 4) : get_be32(bb);
}

static int log_cycle(const struct xlog *l, uint64_t blk, uint32_t *cycle)
{
	uint8_t bb[8];
	int err = blk_read(l->g->d, bb, sizeof(bb), l->off + blk * BBSIZE);

	*cycle = err ? 0 : bb_cycle(bb);
	return err;
}

/* The first block of [start, start+count) written in cycle, or NONE. */
static int log_find_cycle(struct xlog *l, uint64_t start, uint64_t count, uint32_t cycle,
			  uint64_t *found)
{
	*found = NONE;
	for (uint64_t pos = start; pos < start + count;) {
		uint64_t k = start + count - pos < XLOG_BUF_BBS ? start + count - pos : XLOG_BUF_BBS;
		int err = log_read(l, pos, k, l->buf);

		if (err)
			return err;
		for (uint64_t i = 0; i < k; i++) {
			if (bb_cycle(l->buf + i * BBSIZE) == cycle) {
				*found = pos + i;
				return 0;
			}
		}
		pos += k;
	}
	return 0;
}

/* The last record header in [start, end), or NONE. */
static int log_find_header(struct xlog *l, uint64_t start, uint64_t end, uint64_t *found)
{
	*found = NONE;
	while (end > start) {
		uint64_t k = end - start < XLOG_BUF_BBS ? end - start : XLOG_BUF_BBS;
		int err = log_read(l, end - k, k, l->buf);

		if (err)
			return err;
		for (uint64_t i = k; i-- > 0;) {
			if (get_be32(l->buf + i * BBSIZE) == XLOG_MAGIC) {
				*found = end - k + i;
				return 0;
			}
		}
		end -= k;
	}
	return 0;
}

/* Between first (not in cycle) and *last (in it), the first block written
 * in cycle, by bisection: the log is one cycle up to the head and the one
 * before after it. */
static int log_bisect(const struct xlog *l, uint64_t first, uint64_t *last, uint32_t cycle)
{
	uint64_t end = *last, mid = first + (end - first) / 2;

	while (mid != first && mid != end) {
		uint32_t c;
		int err = log_cycle(l, mid, &c);

		if (err)
			return err;
		if (c == cycle)
			end = mid;
		else
			first = mid;
		mid = first + (end - first) / 2;
	}
	*last = end;
	return 0;
}

static int log_header(const struct xlog *l, uint64_t blk, uint8_t *hdr)
{
	static const uint8_t zero[16];
	int err = log_read(l, blk, 1, hdr);

	if (err)
		return err;
	if (memcmp(hdr + LH_FS_UUID, zero, 16) && memcmp(hdr + LH_FS_UUID, l->g->uuid, 16))
		return ferr(-EINVAL, "%s: the XFS log holds records of another filesystem",
			    l->g->d->name);
	return 0;
}

/* Header blocks the record takes: one per 32 KiB of its in-core log. */
static uint64_t rec_hblks(const struct xlog *l, const uint8_t *hdr)
{
	uint32_t size = get_be32(hdr + LH_SIZE);

	if (!l->g->logv2 || !(get_be32(hdr + LH_VERSION) & 2) || size <= XLOG_CYCLE_SIZE)
		return 1;
	return (size + XLOG_CYCLE_SIZE - 1) / XLOG_CYCLE_SIZE;
}

/* If *last falls inside the record that precedes it (a partial write),
 * moves it back to that record's header. The header is searched for in
 * [start, *last); extra blocks of the record lie past the log's end.
 * *found is false when there is none. */
static int log_verify_record(struct xlog *l, uint64_t start, uint64_t *last, uint64_t extra,
			     bool *found)
{
	uint8_t hdr[BBSIZE];
	uint64_t i, hblks = 1;
	int err;

	err = log_find_header(l, start, *last, &i);
	*found = !err && i != NONE;
	if (!*found)
		return err;
	err = log_header(l, i, hdr);
	if (err)
		return err;
	if (l->g->logv2) {
		uint32_t size = get_be32(hdr + LH_SIZE);

		hblks = size / XLOG_CYCLE_SIZE + (size % XLOG_CYCLE_SIZE != 0);
		if (!hblks)
			hblks = 1;
	}
	if (*last - i + extra != (get_be32(hdr + LH_LEN) + BBSIZE - 1) / BBSIZE + hblks)
		*last = i;
	return 0;
}

static int log_no_header(const struct xlog *l)
{
	return ferr(-EINVAL, "%s: the XFS log is inconsistent: no record header before its "
		    "head", l->g->d->name);
}

/* Where the next write would go: past the last complete record. *zeroed:
 * the log was never written (all cycles 0). */
static int log_find_head(struct xlog *l, uint64_t *head, bool *zeroed)
{
	uint64_t n = l->n, h, f, scan, rscan;
	uint32_t first, last, stop;
	bool found;
	int err;

	*zeroed = false;
	err = log_cycle(l, 0, &first);
	if (!err)
		err = log_cycle(l, n - 1, &last);
	if (err)
		return err;
	if (first == 0) {
		*head = 0;
		*zeroed = true;
		return 0;
	}
	scan = l->total_bbs < n ? l->total_bbs : n;
	rscan = l->rec_bbs < n ? l->rec_bbs : n;
	if (last == 0) {
		/* Written once part of the way: the head is the first block still
		 * zero, or an earlier hole of zeros left by writes out of order. */
		uint64_t start;

		if (first != 1)
			return ferr(-EINVAL, "%s: the XFS log is inconsistent (cycle %u at its "
				    "start, 0 at its end)", l->g->d->name, first);
		h = n - 1;
		err = log_bisect(l, 0, &h, 0);
		if (err)
			return err;
		start = h > scan ? h - scan : 0;
		err = log_find_cycle(l, start, h - start, 0, &f);
		if (err)
			return err;
		if (f != NONE)
			h = f;
		err = log_verify_record(l, start, &h, 0, &found);
		if (!err && !found)
			err = log_no_header(l);
		*head = h;
		return err;
	}
	if (first == last) {
		/* One cycle all over: the head is at the end (that is, the
		 * start), unless a hole of the cycle before is found. */
		h = n;
		stop = last - 1;
	} else {
		h = n - 1;
		stop = last;
		err = log_bisect(l, 0, &h, last);
		if (err)
			return err;
	}
	/* Writes in flight may have landed out of order: a block of the
	 * older cycle shortly before the head is where the head really is. */
	if (h >= scan) {
		err = log_find_cycle(l, h - scan, scan, stop, &f);
		if (!err && f != NONE)
			h = f;
	} else {
		err = log_find_cycle(l, n - (scan - h), scan - h, stop - 1, &f);
		if (!err && f != NONE) {
			h = f;
		} else if (!err) {
			err = log_find_cycle(l, 0, h, stop, &f);
			if (!err && f != NONE)
				h = f;
		}
	}
	if (err)
		return err;
	/* The head must not fall inside a record. */
	if (h >= rscan) {
		err = log_verify_record(l, h - rscan, &h, 0, &found);
		if (!err && !found)
			err = log_no_header(l);
	} else {
		err = log_verify_record(l, 0, &h, 0, &found);
		if (!err && !found) {
			uint64_t nb = n;

			err = log_verify_record(l, n - (rscan - h), &nb, h, &found);
			if (!err && !found)
				err = log_no_header(l);
			if (!err && nb != n)
				h = nb;
		}
	}
	*head = h == n ? 0 : h;
	return err;
}

/* Whether the record at blk (header hdr, hblks header blocks) has the CRC
 * it claims. mkfs writes its record with none. */
static int log_rec_crc_ok(struct xlog *l, uint64_t blk, const uint8_t *hdr, uint64_t hblks,
			  bool *ok)
{
	static const uint8_t zero[4];
	uint32_t want = get_le32(hdr + LH_CRC), len = get_be32(hdr + LH_LEN);
	uint64_t bbs = (len + BBSIZE - 1) / BBSIZE, xheads = 1;
	uint32_t c[2];
	int err;

	*ok = !want;
	if (!want)
		return 0;
	if (len > XLOG_MAX_RECORD || hblks + bbs > l->n)
		return 0;
	if (l->g->logv2)
		xheads = len / XLOG_CYCLE_SIZE + (len % XLOG_CYCLE_SIZE != 0);
	if (xheads > hblks)
		return 0;
	/* The header as the kernel's struct: 328 bytes on 64-bit hosts, 324
	 * where 64-bit fields align to 4 (i386). */
	for (int k = 0; k < 2; k++) {
		c[k] = ext2fs_crc32c_le(~0u, hdr, LH_CRC);
		c[k] = ext2fs_crc32c_le(c[k], zero, sizeof(zero));
		c[k] = ext2fs_crc32c_le(c[k], hdr + LH_CRC + 4, (k ? 324u : 328u) - LH_CRC - 4);
	}
	for (uint64_t x = 1; x < xheads; x++) {
		err = log_read(l, (blk + x) % l->n, 1, l->buf);
		if (err)
			return err;
		for (int k = 0; k < 2; k++)
			c[k] = ext2fs_crc32c_le(c[k], l->buf, XLOG_EXT_HDR_BYTES);
	}
	err = log_read_wrap(l, (blk + hblks) % l->n, bbs, l->buf);
	if (err)
		return err;
	for (int k = 0; k < 2; k++)
		*ok = *ok || ~ext2fs_crc32c_le(c[k], l->buf, len) == want;
	return 0;
}

/* The log needs replaying unless its last record is a clean unmount
 * record ending at the head, or it was never written. */
static int log_state(const struct xfs_geo *g, bool *dirty)
{
	struct xlog l = {.g = g};
	uint8_t hdr[BBSIZE];
	uint64_t head = 0, tail, lim, i, hblks, after;
	bool zeroed;
	int err;

	l.off = xfs_ag_off(g, g->log_ag) + (uint64_t)g->log_agbno * g->bs;
	l.n = (uint64_t)g->logblocks * g->bs / BBSIZE;
	l.rec_bbs = (g->logv2 ? XLOG_MAX_RECORD : 32768u) / BBSIZE;
	l.total_bbs = 8 * l.rec_bbs;
	l.buf = malloc(XLOG_BUF_BBS * BBSIZE);
	if (!l.buf)
		return ferr(-ENOMEM, "out of memory");
	*dirty = false;
	err = log_find_head(&l, &head, &zeroed);
	if (err || zeroed)
		goto out;
	/* The record before the head: within one record's length of it. */
	lim = l.rec_bbs + XLOG_MAX_RECORD / XLOG_CYCLE_SIZE + 1;
	lim = lim < l.n ? lim : l.n;
	err = log_find_header(&l, head > lim ? head - lim : 0, head, &i);
	if (!err && i == NONE && lim > head)
		err = log_find_header(&l, l.n - (lim - head), l.n, &i);
	if (!err && i == NONE)
		err = log_no_header(&l);
	if (!err)
		err = log_header(&l, i, hdr);
	if (err)
		goto out;
	tail = (uint32_t)get_be64(hdr + LH_TAIL_LSN);
	hblks = rec_hblks(&l, hdr);
	after = (i + hblks + (get_be32(hdr + LH_LEN) + BBSIZE - 1) / BBSIZE) % l.n;
	if (head == after && get_be32(hdr + LH_NUM_LOGOPS) == 1) {
		uint8_t op[BBSIZE];
		bool ok;

		err = log_read(&l, (i + hblks) % l.n, 1, op);
		if (!err && (op[OP_FLAGS] & XLOG_UNMOUNT_TRANS)) {
			/* A torn unmount record is no unmount record. */
			err = log_rec_crc_ok(&l, i, hdr, hblks, &ok);
			if (!err && ok)
				tail = after;
		}
	}
	*dirty = !err && head != tail;
out:
	free(l.buf);
	return err;
}

int xfs_get_info(const struct blkdev *d, struct xfs_info *info)
{
	struct xfs_geo g;
	uint64_t used = 0;
	uint8_t *sect;
	int err;

	memset(info, 0, sizeof(*info));
	err = xfs_geo_read(d, &g);
	if (err)
		return err;
	sect = malloc(g.sectsize);
	if (!sect)
		return ferr(-ENOMEM, "out of memory");
	for (uint32_t agno = 0; agno < g.agcount && !err; agno++) {
		struct agf a;

		err = agf_read(&g, sect, agno, &a);
		if (!err)
			used += a.len - a.freeblks;
	}
	free(sect);
	if (!err)
		err = log_state(&g, &info->needs_recovery);
	if (err)
		return err;
	snprintf(info->label, sizeof(info->label), "%s", g.label);
	uuid_format(g.uuid, info->uuid);
	info->size = g.dblocks * g.bs;
	info->used = used * g.bs;
	info->block_size = g.bs;
	info->v5 = g.v5;
	return 0;
}
