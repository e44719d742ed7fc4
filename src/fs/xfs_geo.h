/* Inside Ferry's XFS reader only (xfs.c, xfs_file.c): the superblock's
 * geometry as xfs.c checked it, and the helpers both halves use. Nothing
 * outside src/fs/xfs*.c includes this; the contract is fs/xfs.h. */
#ifndef FERRY_XFS_GEO_H
#define FERRY_XFS_GEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blk/blk.h"

struct xfs_geo {
	const struct blkdev *d;
	uint32_t bs, sectsize, agblocks, agcount;
	uint64_t dblocks;
	unsigned agblklog, blocklog;
	bool v5, logv2;
	uint8_t uuid[16];
	uint8_t meta_uuid[16]; /* what v5 metadata is stamped with */
	char label[13];
	uint32_t hdr_blocks;   /* the AG's first blocks: superblock, AGF, AGI, AGFL */
	uint32_t log_ag, log_agbno, logblocks;
	/* bnobt */
	unsigned bt_hdr, leaf_max, node_max, max_levels;
	/* For files, as the superblock says them; xfs_file.c checks them. */
	uint64_t rootino;
	uint32_t inodesize, inopblock;
	unsigned inodelog, inopblog, dirblklog;
	bool ftype;            /* directory entries carry the file's type */
};

/* Reads and checks the primary superblock (what xfs.h says). */
int xfs_geo_read(const struct blkdev *d, struct xfs_geo *g);
/* Whether the CRC at off of a len-byte metadata block is right. */
bool xfs_crc_ok(const uint8_t *b, size_t len, size_t off);
/* The length of an AG in blocks (the last may be short), and where it
 * starts on the device. */
uint32_t xfs_ag_len(const struct xfs_geo *g, uint32_t agno);
uint64_t xfs_ag_off(const struct xfs_geo *g, uint32_t agno);

#endif
