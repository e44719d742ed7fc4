/* JBD2 recovery for an internal ext3/ext4 journal, written from the on-disk
 * format: find the end of the log, collect revokes, write blocks home. */
#include <errno.h>
#include <et/com_err.h>
#include <ext2fs/ext2_err.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/extfs.h"
#include "fs/journal.h"
#include "util/endian.h"
#include "util/bytes.h"
#include "util/err.h"

/* The superblock and group descriptors are reloaded by copying them as
 * stored, which is only the in-memory form on little-endian hosts. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian hosts only");

#define JBD2_MAGIC 0xc03b3998U
enum { JB_DESCRIPTOR = 1, JB_COMMIT = 2, JB_SB_V1 = 3, JB_SB_V2 = 4, JB_REVOKE = 5 };

#define JF_COMPAT_CHECKSUM 0x1u
#define JF_INCOMPAT_REVOKE 0x1u
#define JF_INCOMPAT_64BIT 0x2u
#define JF_INCOMPAT_ASYNC_COMMIT 0x4u
#define JF_INCOMPAT_CSUM_V2 0x8u
#define JF_INCOMPAT_CSUM_V3 0x10u
#define JF_INCOMPAT_FAST_COMMIT 0x20u
#define JF_INCOMPAT_KNOWN                                                                 \
	(JF_INCOMPAT_REVOKE | JF_INCOMPAT_64BIT | JF_INCOMPAT_ASYNC_COMMIT |               \
	 JF_INCOMPAT_CSUM_V2 | JF_INCOMPAT_CSUM_V3 | JF_INCOMPAT_FAST_COMMIT)

#define TAG_ESCAPE 1u
#define TAG_SAME_UUID 2u
#define TAG_LAST 8u /* DELETED (4) is written by nobody and ignored by the kernel */

/* Byte offsets in the journal superblock, block header and commit block. */
enum {
	JSB_BLOCKSIZE = 0x0c, JSB_MAXLEN = 0x10, JSB_FIRST = 0x14, JSB_SEQUENCE = 0x18,
	JSB_START = 0x1c, JSB_COMPAT = 0x24, JSB_INCOMPAT = 0x28, JSB_ROCOMPAT = 0x2c,
	JSB_UUID = 0x30, JSB_CSUM_TYPE = 0x50, JSB_NUM_FC = 0x54, JSB_CHECKSUM = 0xfc,
	JSB_SIZE = 0x400,
	HDR_TYPE = 4, HDR_SEQUENCE = 8, HDR_SIZE = 12,
	REVOKE_COUNT = 12, REVOKE_RECORDS = 16,
	CB_CSUM_TYPE = 0x0c, CB_CSUM_SIZE = 0x0d, CB_CSUM = 0x10, CB_SEC = 0x30,
};
#define CSUM_CRC32 1
#define CSUM_CRC32C 4
#define FC_DEFAULT_BLOCKS 256
#define FC_TAG_HEAD 9

/* Revoked home blocks with the newest transaction that revoked them, in an
 * open-addressing table; a key is the block number plus one so that 0 can
 * mark a free slot. */
struct revokes {
	uint64_t *key;
	uint32_t *tid;
	size_t cap, n;
};

struct jrn {
	ext2_filsys fs;
	const char *name;
	ext2_ino_t ino;
	struct ext2_inode inode;
	unsigned bs;
	uint32_t maxlen, first, last; /* the log is [first, last) */
	uint32_t start, sequence;
	uint32_t incompat;
	bool csum, v3, csum_v1;       /* csum: v2 or v3 per-block crc32c */
	uint32_t seed;
	unsigned tag_bytes;
	unsigned char *blk, *data;
	struct revokes rv;
	uint32_t end;                 /* first transaction that is not replayed */
	bool sb_seen, sb_escape;      /* last journalled copy of the superblock's block */
	uint32_t sb_logblk;
	struct journal_stats st;
};

enum pass { PASS_SCAN, PASS_REVOKE, PASS_CHECK, PASS_REPLAY };

static int ext_err(errcode_t e, const char *name, const char *what)
{
	return extfs_error(e, what, name);
}

static bool tid_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static uint64_t slot_of(uint64_t key, size_t cap)
{
	return (key * 0x9e3779b97f4a7c15ull) & (cap - 1);
}

static int revokes_grow(struct revokes *r)
{
	size_t cap = r->cap ? r->cap * 2 : 256, i;
	uint64_t *key = calloc(cap, sizeof(*key));
	uint32_t *tid = calloc(cap, sizeof(*tid));

	if (!key || !tid) {
		free(key);
		free(tid);
		return -ENOMEM;
	}
	for (i = 0; i < r->cap; i++) {
		uint64_t s;

		if (!r->key[i])
			continue;
		for (s = slot_of(r->key[i], cap); key[s]; s = (s + 1) & (cap - 1))
			;
		key[s] = r->key[i];
		tid[s] = r->tid[i];
	}
	free(r->key);
	free(r->tid);
	r->key = key;
	r->tid = tid;
	r->cap = cap;
	return 0;
}

/* A later revoke of the same block wins: it hides every copy up to it. */
static int revokes_set(struct revokes *r, uint64_t block, uint32_t tid)
{
	uint64_t k = block + 1, s;

	if ((r->n + 1) * 4 > r->cap * 3 && revokes_grow(r))
		return -ENOMEM;
	for (s = slot_of(k, r->cap); r->key[s]; s = (s + 1) & (r->cap - 1)) {
		if (r->key[s] == k) {
			if (tid_gt(tid, r->tid[s]))
				r->tid[s] = tid;
			return 0;
		}
	}
	r->key[s] = k;
	r->tid[s] = tid;
	r->n++;
	return 0;
}

/* True when block, journalled in transaction tid, was revoked by tid itself
 * or a later transaction. */
static bool revokes_test(const struct revokes *r, uint64_t block, uint32_t tid)
{
	uint64_t k = block + 1, s;

	if (!r->n)
		return false;
	for (s = slot_of(k, r->cap); r->key[s]; s = (s + 1) & (r->cap - 1))
		if (r->key[s] == k)
			return !tid_gt(tid, r->tid[s]);
	return false;
}

static void revokes_release(struct revokes *r)
{
	free(r->key);
	free(r->tid);
	memset(r, 0, sizeof(*r));
}

static int jmap(struct jrn *j, uint32_t lblk, blk64_t *pblk)
{
	errcode_t e;

	*pblk = 0;
	e = ext2fs_bmap2(j->fs, j->ino, &j->inode, NULL, 0, lblk, NULL, pblk);
	if (e)
		return ext_err(e, j->name, "cannot map a journal block");
	if (!*pblk)
		return ferr(-EUCLEAN, "%s: journal block %u is not allocated", j->name, lblk);
	return 0;
}

static int jread(struct jrn *j, uint32_t lblk, void *buf)
{
	blk64_t pblk;
	errcode_t e;
	int err;

	if (lblk >= j->maxlen)
		return ferr(-EUCLEAN, "%s: journal block %u is past the end of the journal (%u "
			    "blocks)", j->name, lblk, j->maxlen);
	err = jmap(j, lblk, &pblk);
	if (err)
		return err;
	e = io_channel_read_blk64(j->fs->io, pblk, 1, buf);
	if (e)
		return ext_err(e, j->name, "cannot read the journal");
	return 0;
}

static void advance(const struct jrn *j, uint32_t *lblk)
{
	if (++*lblk >= j->last)
		*lblk = j->first;
}

/* crc32c(seed, block) with the 4 bytes at csum_off counted as zeros: how
 * JBD2 checksums a block that carries its own checksum. */
static bool block_csum_ok(const struct jrn *j, const unsigned char *b, unsigned csum_off,
			  unsigned len)
{
	static const unsigned char zero[4];
	uint32_t c;

	c = ext2fs_crc32c_le(j->seed, b, csum_off);
	c = ext2fs_crc32c_le(c, zero, sizeof(zero));
	c = ext2fs_crc32c_le(c, b + csum_off + 4, len - csum_off - 4);
	return c == get_be32(b + csum_off);
}

struct tag {
	uint64_t home;
	unsigned flags;
	uint32_t csum;
};

/* Tags are followed by a 16-byte UUID unless SAME_UUID is set; with
 * checksums v2/v3 the last 4 bytes of the block are its own checksum. */
static bool tag_next(const struct jrn *j, const unsigned char *d, unsigned *off, struct tag *t)
{
	unsigned limit = j->bs - (j->csum ? 4 : 0);
	const unsigned char *p;

	if (*off > limit || limit - *off < j->tag_bytes)
		return false;
	p = d + *off;
	t->home = get_be32(p);
	/* Both tag layouts keep the flags in the big-endian 16 bits at 6. */
	t->flags = get_be32(p + 4) & 0xffff;
	if (j->incompat & JF_INCOMPAT_64BIT)
		t->home |= (uint64_t)get_be32(p + 8) << 32;
	t->csum = j->v3 ? get_be32(p + 12) : get_be32(p + 4) >> 16;
	*off += j->tag_bytes + ((t->flags & TAG_SAME_UUID) ? 0 : 16);
	if (t->flags & TAG_LAST)
		*off = UINT_MAX;
	return true;
}

static bool data_csum_ok(const struct jrn *j, const struct tag *t, uint32_t tid)
{
	unsigned char seq[4];
	uint32_t c;

	put_be32(seq, tid);
	c = ext2fs_crc32c_le(j->seed, seq, sizeof(seq));
	c = ext2fs_crc32c_le(c, j->data, j->bs);
	return j->v3 ? t->csum == c : t->csum == (c & 0xffff);
}

static int load_superblock(struct jrn *j)
{
	ext2_filsys fs = j->fs;
	const unsigned char *sb = j->blk;
	uint64_t size_blocks;
	uint32_t type, compat, rocompat;
	errcode_t e;
	int err;

	j->ino = fs->super->s_journal_inum;
	e = ext2fs_read_inode(fs, j->ino, &j->inode);
	if (e)
		return ext_err(e, j->name, "cannot read the journal inode");
	if (!LINUX_S_ISREG(j->inode.i_mode))
		return ferr(-EUCLEAN, "%s: the journal inode %u is not a regular file", j->name,
			    j->ino);
	size_blocks = EXT2_I_SIZE(&j->inode) / j->bs;
	j->maxlen = size_blocks > UINT32_MAX ? UINT32_MAX : (uint32_t)size_blocks;
	err = jread(j, 0, j->blk);
	if (err)
		return err;

	type = get_be32(sb + HDR_TYPE);
	if (get_be32(sb) != JBD2_MAGIC || (type != JB_SB_V1 && type != JB_SB_V2))
		return ferr(-EUCLEAN, "%s: the journal has no valid JBD2 superblock", j->name);
	if (get_be32(sb + JSB_BLOCKSIZE) != j->bs)
		return ferr(-EUCLEAN, "%s: the journal's block size %u differs from the "
			    "filesystem's %u", j->name, get_be32(sb + JSB_BLOCKSIZE), j->bs);
	if (get_be32(sb + JSB_MAXLEN) > j->maxlen)
		return ferr(-EUCLEAN, "%s: the journal superblock says %u blocks but the journal "
			    "inode holds %u", j->name, get_be32(sb + JSB_MAXLEN), j->maxlen);
	j->maxlen = get_be32(sb + JSB_MAXLEN);
	j->first = get_be32(sb + JSB_FIRST);
	if (j->first == 0 || j->first >= j->maxlen)
		return ferr(-EUCLEAN, "%s: the journal's first log block %u is outside its %u "
			    "blocks", j->name, j->first, j->maxlen);
	j->sequence = get_be32(sb + JSB_SEQUENCE);
	j->start = get_be32(sb + JSB_START);

	/* A version 1 superblock has no feature fields. */
	compat = type == JB_SB_V2 ? get_be32(sb + JSB_COMPAT) : 0;
	j->incompat = type == JB_SB_V2 ? get_be32(sb + JSB_INCOMPAT) : 0;
	rocompat = type == JB_SB_V2 ? get_be32(sb + JSB_ROCOMPAT) : 0;
	if ((j->incompat & ~JF_INCOMPAT_KNOWN) || rocompat)
		return ferr(-EOPNOTSUPP, "%s: the journal has features Ferry does not know "
			    "(incompat %#x, ro_compat %#x)", j->name,
			    j->incompat & ~JF_INCOMPAT_KNOWN, rocompat);
	j->v3 = j->incompat & JF_INCOMPAT_CSUM_V3;
	j->csum = j->v3 || (j->incompat & JF_INCOMPAT_CSUM_V2);
	j->csum_v1 = compat & JF_COMPAT_CHECKSUM;
	if ((j->v3 && (j->incompat & JF_INCOMPAT_CSUM_V2)) || (j->csum && j->csum_v1))
		return ferr(-EUCLEAN, "%s: the journal claims two checksum versions at once",
			    j->name);
	if (j->csum) {
		if (sb[JSB_CSUM_TYPE] != CSUM_CRC32C)
			return ferr(-EOPNOTSUPP, "%s: the journal uses checksum type %u, not "
				    "crc32c", j->name, sb[JSB_CSUM_TYPE]);
		j->seed = ~0u;
		if (!block_csum_ok(j, sb, JSB_CHECKSUM, JSB_SIZE))
			return ferr(-EBADMSG, "%s: the journal superblock has a bad checksum",
				    j->name);
		j->seed = ext2fs_crc32c_le(~0u, sb + JSB_UUID, 16);
	}
	if (j->v3)
		j->tag_bytes = 16;
	else
		j->tag_bytes = 8 + ((j->incompat & JF_INCOMPAT_64BIT) ? 4 : 0) +
			       ((j->incompat & JF_INCOMPAT_CSUM_V2) ? 2 : 0);

	/* Fast commits live in a tail area the normal log never wraps into. */
	j->last = j->maxlen;
	if (j->incompat & JF_INCOMPAT_FAST_COMMIT) {
		uint32_t fc = get_be32(sb + JSB_NUM_FC);

		if (!fc)
			fc = FC_DEFAULT_BLOCKS;
		if (fc >= j->maxlen - j->first)
			return ferr(-EUCLEAN, "%s: the journal's fast commit area (%u blocks) "
				    "leaves no room for the log", j->name, fc);
		j->last = j->maxlen - fc;
	}
	if (j->start && (j->start < j->first || j->start >= j->last))
		return ferr(-EUCLEAN, "%s: the journal log starts at block %u, outside "
			    "%u..%u", j->name, j->start, j->first, j->last - 1);
	return 0;
}

/* The end of the log: the first transaction without a valid commit block in
 * sequence. A block with a bad checksum in a transaction whose commit block
 * is valid and newer than the previous one is real corruption (the kernel
 * refuses to mount); an older commit time means stale blocks from an
 * earlier pass over the log. A bad commit checksum ends the log before that
 * transaction. */
static int scan_commit(struct jrn *j, uint32_t tid, bool bad_block, uint32_t crc,
		       uint64_t *last_time, bool *end)
{
	const unsigned char *b = j->blk;
	uint64_t time = get_be64(b + CB_SEC);
	bool ok = true;

	*end = false;
	if (bad_block) {
		if (time >= *last_time)
			return ferr(-EBADMSG, "%s: journal transaction %u is committed but one of "
				    "its blocks has a bad checksum", j->name, tid);
		*end = true;
		return 0;
	}
	if (j->csum_v1)
		ok = (b[CB_CSUM_TYPE] == CSUM_CRC32 && b[CB_CSUM_SIZE] == 4 &&
		      get_be32(b + CB_CSUM) == crc) ||
		     (b[CB_CSUM_TYPE] == 0 && b[CB_CSUM_SIZE] == 0 && get_be32(b + CB_CSUM) == 0);
	if (ok && j->csum)
		ok = block_csum_ok(j, b, CB_CSUM, j->bs);
	if (!ok) {
		/* With async_commit the kernel reads on, but the end stays here. */
		if (time >= *last_time)
			ferry_warn("%s: journal transaction %u has a bad commit checksum; the log "
				   "ends before it, as in the kernel's replay", j->name, tid);
		*end = true;
		return 0;
	}
	*last_time = time;
	return 0;
}


/* Refuses what cannot be written home before anything is: a block past the
 * end of the filesystem, or data whose tag checksum does not match. */
static int check_block(struct jrn *j, const struct tag *t, uint32_t tid, uint32_t at)
{
	int err;

	if (t->home >= ext2fs_blocks_count(j->fs->super))
		return ferr(-EUCLEAN, "%s: journal transaction %u writes block %llu, past the "
			    "filesystem's %llu blocks", j->name, tid, (unsigned long long)t->home,
			    (unsigned long long)ext2fs_blocks_count(j->fs->super));
	if (t->home == (j->bs == 1024 ? 1u : 0u)) {
		j->sb_seen = true;
		j->sb_logblk = at;
		j->sb_escape = t->flags & TAG_ESCAPE;
	}
	if (!j->csum)
		return 0;
	err = jread(j, at, j->data);
	if (err)
		return err;
	if (!data_csum_ok(j, t, tid))
		return ferr(-EBADMSG, "%s: journal transaction %u is committed but its copy of "
			    "block %llu has a bad checksum", j->name, tid,
			    (unsigned long long)t->home);
	return 0;
}

/* The data blocks one descriptor block describes, from the log block after
 * it; *lblk ends past them. */
static int do_descriptor(struct jrn *j, enum pass pass, uint32_t tid, uint32_t *lblk,
			 uint32_t *crc)
{
	const unsigned char *desc = j->blk;
	unsigned off = HDR_SIZE;
	struct tag t;
	errcode_t e;
	int err;

	if (pass == PASS_SCAN && j->csum_v1)
		*crc = ext2fs_crc32_be(*crc, desc, j->bs);
	while (tag_next(j, desc, &off, &t)) {
		uint32_t at = *lblk;

		advance(j, lblk);
		if (pass == PASS_REVOKE || (pass == PASS_SCAN && !j->csum_v1))
			continue;
		if (pass == PASS_SCAN) {
			/* Checksum v1 covers the descriptor and its data blocks. */
			err = jread(j, at, j->data);
			if (err)
				return err;
			*crc = ext2fs_crc32_be(*crc, j->data, j->bs);
			continue;
		}
		if (revokes_test(&j->rv, t.home, tid)) {
			if (pass == PASS_REPLAY)
				j->st.revoked++;
			continue;
		}
		if (pass == PASS_CHECK) {
			err = check_block(j, &t, tid, at);
			if (err)
				return err;
			continue;
		}
		err = jread(j, at, j->data);
		if (err)
			return err;
		if (t.flags & TAG_ESCAPE)
			put_be32(j->data, JBD2_MAGIC);
		e = io_channel_write_blk64(j->fs->io, t.home, 1, j->data);
		if (e)
			return ext_err(e, j->name, "cannot write a block replayed from the journal");
		j->st.blocks++;
	}
	return 0;
}

static int do_revoke(struct jrn *j, uint32_t tid)
{
	const unsigned char *b = j->blk;
	uint32_t count = get_be32(b + REVOKE_COUNT);
	unsigned rec = (j->incompat & JF_INCOMPAT_64BIT) ? 8 : 4, off;

	if (count > j->bs - (j->csum ? 4u : 0u))
		return ferr(-EUCLEAN, "%s: a revoke block of journal transaction %u claims %u "
			    "bytes", j->name, tid, count);
	for (off = REVOKE_RECORDS; off + rec <= count; off += rec) {
		uint64_t block = rec == 8 ? get_be64(b + off) : get_be32(b + off);

		if (revokes_set(&j->rv, block, tid))
			return ferr(-ENOMEM, "%s: out of memory for the journal's revoke records",
				    j->name);
	}
	return 0;
}

/* One pass over the log from its start. The scan pass finds j->end; the
 * others stop there and expect every block up to it to be where the scan
 * found it. */
static int walk(struct jrn *j, enum pass pass)
{
	const unsigned char *b = j->blk;
	uint32_t tid = j->sequence, lblk = j->start, crc = ~0u, in_trans = 0;
	uint64_t last_time = 0;
	bool bad_block = false, end;
	int err = 0;

	for (;;) {
		uint32_t type;

		if (pass != PASS_SCAN && !tid_gt(j->end, tid))
			return 0;
		/* All blocks of one transaction with the same sequence number
		 * could otherwise send the walk round the log for ever. */
		if (++in_trans > j->last - j->first)
			return ferr(-EUCLEAN, "%s: journal transaction %u is longer than the log",
				    j->name, tid);
		err = jread(j, lblk, j->blk);
		if (err)
			return err;
		advance(j, &lblk);
		type = get_be32(b + HDR_TYPE);
		if (get_be32(b) != JBD2_MAGIC || get_be32(b + HDR_SEQUENCE) != tid ||
		    (type != JB_DESCRIPTOR && type != JB_COMMIT && type != JB_REVOKE))
			break;
		if (type != JB_COMMIT && pass == PASS_SCAN && j->csum &&
		    !block_csum_ok(j, b, j->bs - 4, j->bs))
			bad_block = true;
		if (type == JB_DESCRIPTOR) {
			err = do_descriptor(j, pass, tid, &lblk, &crc);
		} else if (type == JB_REVOKE) {
			if (pass == PASS_REVOKE)
				err = do_revoke(j, tid);
		} else {
			if (pass == PASS_SCAN) {
				err = scan_commit(j, tid, bad_block, crc, &last_time, &end);
				if (err || end)
					break;
				crc = ~0u;
			}
			if (pass == PASS_REPLAY)
				j->st.transactions++;
			tid++;
			in_trans = 0;
		}
		if (err)
			return err;
	}
	if (err)
		return err;
	if (pass != PASS_SCAN)
		return ferr(-EIO, "%s: the journal changed between recovery passes (transaction "
			    "%u)", j->name, tid);
	j->end = tid;
	return 0;
}

/* ext4 fast commits that follow the last full transaction would need their
 * own replay (inode-level records), which Ferry does not do. */
static int check_fast_commit(struct jrn *j)
{
	uint32_t fc_first = j->last + 1;
	int err;

	if (!(j->incompat & JF_INCOMPAT_FAST_COMMIT) || fc_first >= j->maxlen)
		return 0;
	err = jread(j, fc_first, j->data);
	if (err)
		return err;
	if (get_le16(j->data) == FC_TAG_HEAD && get_le32(j->data + 8) == j->end)
		return ferr(-EOPNOTSUPP, "%s: the journal holds ext4 fast commits after "
			    "transaction %u, which Ferry cannot replay", j->name, j->end - 1);
	return 0;
}

/* libext2fs sized its in-memory group descriptors and block counts at open
 * time; a journalled superblock from an interrupted resize would not fit
 * them. */
static int check_geometry(struct jrn *j)
{
	const struct ext2_super_block *now = j->fs->super, *then;
	const uint32_t layout = EXT4_FEATURE_INCOMPAT_64BIT | EXT2_FEATURE_INCOMPAT_META_BG;
	int err;

	if (!j->sb_seen)
		return 0;
	err = jread(j, j->sb_logblk, j->data);
	if (err)
		return err;
	if (j->sb_escape)
		put_be32(j->data, JBD2_MAGIC);
	then = (const void *)(j->data + (j->bs == 1024 ? 0 : SUPERBLOCK_OFFSET));
	if (then->s_magic != EXT2_SUPER_MAGIC)
		return ferr(-EUCLEAN, "%s: the journal's copy of the superblock is not an "
			    "ext2/3/4 superblock", j->name);
	if (then->s_inodes_count != now->s_inodes_count ||
	    then->s_blocks_count != now->s_blocks_count ||
	    then->s_blocks_count_hi != now->s_blocks_count_hi ||
	    then->s_first_data_block != now->s_first_data_block ||
	    then->s_log_block_size != now->s_log_block_size ||
	    then->s_log_cluster_size != now->s_log_cluster_size ||
	    then->s_blocks_per_group != now->s_blocks_per_group ||
	    then->s_clusters_per_group != now->s_clusters_per_group ||
	    then->s_inodes_per_group != now->s_inodes_per_group ||
	    then->s_inode_size != now->s_inode_size || then->s_desc_size != now->s_desc_size ||
	    then->s_first_meta_bg != now->s_first_meta_bg ||
	    (then->s_feature_incompat & layout) != (now->s_feature_incompat & layout))
		return ferr(-EOPNOTSUPP, "%s: the journal changes the filesystem's size or "
			    "layout (an interrupted resize); Ferry cannot replay that", j->name);
	return 0;
}

/* Bitmaps read before the replay are stale: they are dropped and, once the
 * replayed group descriptors are in, read again (callers that allocate
 * expect them in memory). */
static void drop_bitmaps(ext2_filsys fs, bool *had_block, bool *had_inode)
{
	*had_block = fs->block_map != NULL;
	*had_inode = fs->inode_map != NULL;
	if (fs->block_map)
		ext2fs_free_block_bitmap(fs->block_map);
	if (fs->inode_map)
		ext2fs_free_inode_bitmap(fs->inode_map);
	fs->block_map = NULL;
	fs->inode_map = NULL;
}

static int reread_bitmaps(struct jrn *j, bool block, bool inode)
{
	errcode_t e = 0;

	if (block)
		e = ext2fs_read_block_bitmap(j->fs);
	if (!e && inode)
		e = ext2fs_read_inode_bitmap(j->fs);
	if (e)
		return ext_err(e, j->name, "cannot read the replayed bitmaps");
	return 0;
}

/* The journal may have rewritten the superblock and group descriptors that
 * ext2fs_open2 read; ext2fs_close2 would write the old ones back. */
static int reload_fs(struct jrn *j)
{
	ext2_filsys fs = j->fs;
	const unsigned char *sb = j->data + (j->bs == 1024 ? 0 : SUPERBLOCK_OFFSET);
	unsigned long i;
	errcode_t e;

	e = io_channel_read_blk64(fs->io, j->bs == 1024 ? 1 : 0, 1, j->data);
	if (e)
		return ext_err(e, j->name, "cannot read the replayed superblock");
	memcpy(fs->super, sb, SUPERBLOCK_SIZE);
	if (fs->orig_super)
		memcpy(fs->orig_super, sb, SUPERBLOCK_SIZE);
	for (i = 0; fs->group_desc && i < fs->desc_blocks; i++) {
		blk64_t blk = ext2fs_descriptor_block_loc2(fs, fs->super->s_first_data_block, i);

		e = io_channel_read_blk64(fs->io, blk, 1, (char *)fs->group_desc + i * j->bs);
		if (e)
			return ext_err(e, j->name, "cannot read the replayed group descriptors");
	}
	ext2fs_init_csum_seed(fs);
	ext2fs_flush_icache(fs);
	return 0;
}

/* An empty log whose next transaction is past every one seen, so no old
 * commit block can ever be taken for a new one. */
static int reset_journal(struct jrn *j)
{
	blk64_t pblk;
	errcode_t e;
	int err;

	err = jmap(j, 0, &pblk);
	if (err)
		return err;
	e = io_channel_read_blk64(j->fs->io, pblk, 1, j->blk);
	if (e)
		return ext_err(e, j->name, "cannot read the journal superblock");
	put_be32(j->blk + JSB_SEQUENCE, j->end + 1);
	put_be32(j->blk + JSB_START, 0);
	if (j->csum) {
		put_be32(j->blk + JSB_CHECKSUM, 0);
		put_be32(j->blk + JSB_CHECKSUM, ext2fs_crc32c_le(~0u, j->blk, JSB_SIZE));
	}
	e = io_channel_write_blk64(j->fs->io, pblk, 1, j->blk);
	if (e)
		return ext_err(e, j->name, "cannot write the journal superblock");
	return 0;
}

static int check_fs(ext2_filsys fs, const char *name)
{
	if (!ext2fs_has_feature_journal(fs->super))
		return ferr(-EUCLEAN, "%s: needs_recovery is set but the filesystem has no "
			    "journal", name);
	if (!fs->super->s_journal_inum) {
		char uuid[37];

		uuid_format(fs->super->s_journal_uuid, uuid);
		return ferr(-EOPNOTSUPP, "%s: the journal is on an external device (UUID %s, "
			    "device %#x); Ferry replays only a journal inside the filesystem",
			    name, uuid, fs->super->s_journal_dev);
	}
	if (!(fs->flags & EXT2_FLAG_RW))
		return ferr(-EROFS, "%s: opened read-only, so its journal cannot be replayed",
			    name);
	if (fs->flags & (EXT2_FLAG_DIRTY | EXT2_FLAG_BB_DIRTY | EXT2_FLAG_IB_DIRTY))
		return ferr(-EBUSY, "%s: changed in memory before its journal was replayed",
			    name);
	return 0;
}

int journal_replay(ext2_filsys fs, const char *name, struct journal_stats *st)
{
	bool had_block, had_inode;
	struct jrn j;
	int err;

	if (st)
		memset(st, 0, sizeof(*st));
	if (!ext2fs_has_feature_journal_needs_recovery(fs->super))
		return 0;
	err = check_fs(fs, name);
	if (err)
		return err;

	memset(&j, 0, sizeof(j));
	j.fs = fs;
	j.name = name;
	j.bs = fs->blocksize;
	j.blk = malloc(j.bs);
	j.data = malloc(j.bs);
	if (!j.blk || !j.data) {
		err = ferr(-ENOMEM, "%s: out of memory for journal replay", name);
		goto out;
	}
	err = load_superblock(&j);
	if (err)
		goto out;
	/* s_start 0 is an empty log: the flag alone is stale. */
	if (j.start) {
		err = walk(&j, PASS_SCAN);
		if (!err)
			err = check_fast_commit(&j);
		if (!err)
			err = walk(&j, PASS_REVOKE);
		if (!err)
			err = walk(&j, PASS_CHECK);
		if (!err)
			err = check_geometry(&j);
		if (err)
			goto out;
		drop_bitmaps(fs, &had_block, &had_inode);
		err = walk(&j, PASS_REPLAY);
		if (!err)
			err = reload_fs(&j);
		if (!err)
			err = reread_bitmaps(&j, had_block, had_inode);
		if (!err)
			err = reset_journal(&j);
		if (err)
			goto out;
	}
	ext2fs_clear_feature_journal_needs_recovery(fs->super);
	ext2fs_mark_super_dirty(fs);
	if (st)
		*st = j.st;
out:
	revokes_release(&j.rv);
	free(j.blk);
	free(j.data);
	return err;
}
