/* Our own JBD2 journal replay for ext3/ext4: the kernel of the target would
 * otherwise replay old journal blocks over the edits Ferry makes. */
#ifndef FERRY_JOURNAL_H
#define FERRY_JOURNAL_H

#include <ext2fs/ext2fs.h>

struct journal_stats {
	unsigned transactions; /* committed transactions replayed */
	unsigned blocks;       /* blocks written to their home location */
	unsigned revoked;      /* journalled blocks skipped because a revoke record covers them */
};

/* Replays the internal journal of fs when the filesystem needs recovery, the
 * way the kernel does at mount: every journalled block goes to its home
 * location through fs->io (so into whatever overlay the filesystem was
 * opened on), revoke records are honoured, the journal is marked empty and
 * needs_recovery is cleared (the superblock is left dirty: ext2fs_close2
 * writes it). fs must be opened with EXT2_FLAG_RW and EXT2_FLAG_64BITS and
 * not modified yet; the in-memory superblock, group descriptors and (when
 * they were loaded) bitmaps are reloaded from the replayed blocks.
 *
 * Returns 0, also when there is nothing to replay (then nothing is written
 * and fs may be read-only), or a negative errno with an ferr() message that
 * names the filesystem (name) and says why the journal cannot be replayed:
 * an external journal, unknown journal features, fast commits, a committed
 * transaction with a bad checksum, an interrupted resize. Everything is
 * checked before the first write, so a refused journal leaves fs->io
 * untouched (only an I/O error while writing can stop a replay halfway).
 * A transaction whose commit block has a bad checksum ends the log, as in
 * the kernel, with a ferry_warn(). st may be NULL. */
int journal_replay(ext2_filsys fs, const char *name, struct journal_stats *st);

#endif
