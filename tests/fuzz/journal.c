/* JBD2 journal replay (fs/journal.h) on a small ext4 image: the template
 * that tests/fuzz/seeds.sh makes (mke2fs, then a transaction written with
 * debugfs, so the filesystem needs recovery) with the input in place of
 * the first blocks of its journal. The image is read through the source's
 * I/O table and the replay writes into a copy-on-write overlay dropped
 * after each input, as in a capture (fix/stage.c). The template is
 * FERRY_FUZZ_JOURNAL, else the one the build made (FUZZ_JOURNAL_IMAGE). */
#include <errno.h>
#include <stdio.h>

#include "blk/blk.h"
#include "blk/cow.h"
#include "fs/extfs.h"
#include "fs/journal.h"
#include "lib/fuzz.h"

/* Journal blocks an input may replace (64 KiB of 1 KiB blocks). */
#define JBLOCKS 64

static struct {
	uint8_t *img;
	size_t len;
	unsigned bs;
	uint64_t jblock[JBLOCKS]; /* where journal block i is in the image */
	size_t njblocks;
	const uint8_t *in; /* the input, over the journal's first blocks */
	size_t inlen;
} t;

/* The template's bytes with the input over the journal blocks it covers. */
static long img_pread(void *ctx, const struct source *src, void *buf, size_t len, uint64_t off,
		      bool careful)
{
	(void)ctx;
	(void)src;
	(void)careful;
	if (off >= t.len)
		return 0;
	if (len > t.len - off)
		len = t.len - (size_t)off;
	memcpy(buf, t.img + off, len);
	for (size_t i = 0; i < t.njblocks && i * t.bs < t.inlen; i++) {
		size_t left = t.inlen - i * t.bs;
		uint64_t b = t.jblock[i] * t.bs, n = left < t.bs ? left : t.bs;
		uint64_t lo = b > off ? b : off, hi = b + n < off + len ? b + n : off + len;

		if (lo < hi)
			memcpy((uint8_t *)buf + (lo - off), t.in + i * t.bs + (lo - b), hi - lo);
	}
	return (long)len;
}

static const struct source_io img_io = {.pread = img_pread};

static void load_template(void)
{
	const char *path = getenv("FERRY_FUZZ_JOURNAL");
	struct source src = {.path = "journal.img", .fd = -1, .dfd = -1, .lsec = 512,
			     .psec = 512, .io = &img_io};
	struct ext2_inode inode;
	struct blkdev d;
	struct extfs x;
	FILE *f;
	long n;

	if (!path)
		path = FUZZ_JOURNAL_IMAGE;
	f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) ||
	    !(t.img = malloc((size_t)n)) || fread(t.img, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "journal: cannot read the template %s (made by tests/fuzz/seeds.sh; "
			"FERRY_FUZZ_JOURNAL names another)\n", path);
		exit(1);
	}
	fclose(f);
	t.len = (size_t)n;
	src.size = t.len;
	if (blk_window(&d, &src, 0, t.len, false, "journal.img") || extfs_open(&x, &d) ||
	    ext2fs_read_inode(x.fs, x.fs->super->s_journal_inum, &inode)) {
		fprintf(stderr, "journal: %s has no journal to read: %s\n", path, ferr_msg());
		exit(1);
	}
	t.bs = x.fs->blocksize;
	for (t.njblocks = 0; t.njblocks < JBLOCKS; t.njblocks++) {
		blk64_t p = 0;

		if (ext2fs_bmap2(x.fs, x.fs->super->s_journal_inum, &inode, NULL, 0, t.njblocks,
				 NULL, &p) || !p)
			break;
		t.jblock[t.njblocks] = p;
	}
	extfs_release(&x);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	load_template();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cow cow;
	struct source src = {.path = "journal.img", .fd = -1, .dfd = -1, .size = t.len,
			     .lsec = 512, .psec = 512, .io = &img_io, .cow = &cow};
	struct journal_stats st;
	struct blkdev d;
	struct extfs x;

	ferr_clear();
	t.in = data;
	t.inlen = size;
	cow_init(&cow);
	if (!blk_window(&d, &src, 0, t.len, true, "journal.img") && !extfs_open_copy(&x, &d)) {
		if (journal_replay(x.fs, "journal.img", &st))
			extfs_release(&x);
		else
			extfs_close_copy(&x);
	}
	cow_release(&cow);
	return 0;
}
