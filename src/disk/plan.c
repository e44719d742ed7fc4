/* Building the capture plan: the boot gap byte-exact, each partition by
 * the method its content allows, in disk order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk/plan.h"
#include "fs/extfs.h"
#include "fs/swap.h"
#include "fs/xfs.h"
#include "util/bytes.h"
#include "util/err.h"

#define SCAN_CHUNK (1u << 20)
#define SCAN_BLOCK 4096u

const char *plan_method_name(enum copy_method m)
{
	switch (m) {
	case COPY_EXACT: return "exact";
	case COPY_USED: return "used-blocks";
	case COPY_HEADER: return "swap-header";
	case COPY_NONZERO: return "non-zero-blocks";
	case COPY_TABLE: return "partition-table";
	}
	return "?";
}


void plan_init(struct plan *p)
{
	memset(p, 0, sizeof(*p));
}

void plan_release(struct plan *p)
{
	free(p->ext);
	free(p->parts);
	memset(p, 0, sizeof(*p));
}

int plan_add_range(struct plan *p, uint64_t off, uint64_t len)
{
	if (len == 0)
		return 0;
	if (p->n > 0) {
		struct extent *last = &p->ext[p->n - 1];
		uint64_t end = last->off + last->len;

		if (off < last->off)
			return ferr(-EINVAL, "internal: range at %llu added after %llu",
				    (unsigned long long)off, (unsigned long long)last->off);
		if (off <= end) {
			if (off + len > end) {
				p->data_bytes += off + len - end;
				last->len = off + len - last->off;
			}
			return 0;
		}
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		struct extent *e = realloc(p->ext, cap * sizeof(*e));
		if (!e)
			return ferr(-ENOMEM, "out of memory for %zu ranges", cap);
		p->ext = e;
		p->cap = cap;
	}
	p->ext[p->n].off = off;
	p->ext[p->n].len = len;
	p->n++;
	p->data_bytes += len;
	return 0;
}

/* A range of a partition's device, added as the ranges of the source disk
 * it maps onto. */
static int add_source_range(void *arg, uint64_t src_off, uint64_t len)
{
	return plan_add_range(arg, src_off, len);
}

static int add_dev_range(struct plan *p, const struct blkdev *d, uint64_t off, uint64_t len)
{
	return blk_map(d, off, len, add_source_range, p);
}

struct used_ctx {
	struct plan *plan;
	const struct blkdev *dev;
};

static int add_used(uint64_t off, uint64_t len, void *arg)
{
	struct used_ctx *c = arg;

	return add_dev_range(c->plan, c->dev, off, len);
}

/* Adds every non-zero SCAN_BLOCK of [off, off+len) of d. */
static int scan_nonzero(struct plan *p, const struct blkdev *d, uint64_t off, uint64_t len,
			struct progress *prog)
{
	uint8_t *buf = malloc(SCAN_CHUNK);
	int err = 0;

	if (!buf)
		return ferr(-ENOMEM, "out of memory");
	for (uint64_t pos = 0; pos < len && !err;) {
		size_t n = len - pos < SCAN_CHUNK ? (size_t)(len - pos) : SCAN_CHUNK;

		err = blk_read(d, buf, n, off + pos);
		for (size_t b = 0; !err && b < n; b += SCAN_BLOCK) {
			size_t bl = n - b < SCAN_BLOCK ? n - b : SCAN_BLOCK;
			if (!bytes_zero(buf + b, bl))
				err = add_dev_range(p, d, off + pos + b, bl);
		}
		pos += n;
		if (prog)
			progress_add(prog, n);
	}
	free(buf);
	return err;
}

static int check_only(uint64_t off, uint64_t len, void *arg)
{
	(void)off, (void)len, (void)arg;
	return 0;
}

/* XFS is copied by its free-space btrees once they all check out and the
 * log has nothing to replay (a replay could free or allocate blocks). */
static void classify_xfs(struct plan_part *pp, const char *name)
{
	struct xfs_info info;
	int err;

	err = xfs_get_info(&pp->dev, &info);
	if (!err && !info.needs_recovery)
		err = xfs_used_ranges(&pp->dev, check_only, NULL);
	if (err) {
		snprintf(pp->note, sizeof(pp->note), "%s: every non-zero block is copied",
			 ferr_msg());
		ferry_warn("%s", pp->note);
		return;
	}
	if (info.needs_recovery) {
		snprintf(pp->note, sizeof(pp->note), "%s: the xfs filesystem was not cleanly "
			 "unmounted (its log needs recovery): its free-space btrees cannot be "
			 "trusted, so every non-zero block is copied", name);
		ferry_warn("%s", pp->note);
		return;
	}
	pp->method = COPY_USED;
}

/* XFS: the blocks its free-space btrees leave in use, then whatever is not
 * zero past the data section. */
static int add_xfs_used(struct plan *p, struct plan_part *pp)
{
	struct used_ctx c = {p, &pp->dev};
	struct xfs_info info;
	int err;

	err = xfs_get_info(&pp->dev, &info);
	if (!err)
		err = xfs_used_ranges(&pp->dev, add_used, &c);
	if (!err && info.size < pp->size)
		err = scan_nonzero(p, &pp->dev, info.size, pp->size - info.size, NULL);
	return err;
}

/* Chooses how a partition is copied; opens ext filesystems into x. */
static void classify(struct plan_part *pp, const struct source *src, struct extfs *x)
{
	char name[96];
	int err;

	if (pp->kind == PART_EXTENDED) {
		pp->method = COPY_TABLE;
		return;
	}
	snprintf(name, sizeof(name), "%s partition %d", src->path, pp->num);
	if (blk_window(&pp->dev, src, pp->start, pp->size, false, name)) {
		/* The table reader has checked every partition against the disk. */
		pp->method = COPY_EXACT;
		return;
	}
	pp->fs = fs_detect(&pp->dev);
	if (pp->fs == FS_SWAP) {
		pp->method = COPY_HEADER;
		return;
	}
	pp->method = COPY_NONZERO;
	if (pp->fs == FS_XFS) {
		classify_xfs(pp, name);
		return;
	}
	if (!fs_is_ext(pp->fs)) {
		snprintf(pp->note, sizeof(pp->note), "%s content is not read by Ferry: every "
			 "non-zero block is copied", fs_type_name(pp->fs));
		return;
	}
	err = extfs_open(x, &pp->dev);
	if (err) {
		snprintf(pp->note, sizeof(pp->note), "%s: every non-zero block is copied",
			 ferr_msg());
		ferry_warn("%s", pp->note);
		return;
	}
	struct extfs_info info;
	extfs_get_info(x, &info);
	if (info.needs_recovery || info.has_errors) {
		/* A journal to replay or a filesystem marked with errors may have a
		 * block bitmap that does not show every block in use. */
		snprintf(pp->note, sizeof(pp->note), "%s: the %s filesystem %s: its block bitmap "
			 "cannot be trusted, so every non-zero block is copied", name,
			 fs_type_name(pp->fs),
			 info.needs_recovery ? "was not cleanly unmounted (its journal needs "
					       "recovery)" : "is marked as having errors");
		ferry_warn("%s", pp->note);
		extfs_release(x);
		return;
	}
	pp->method = COPY_USED;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_part(const void *a, const void *b)
{
	const struct plan_part *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Ranges of one partition; x is open for COPY_USED. */
static int plan_part_ranges(struct plan *p, struct plan_part *pp, const struct table *t,
			    struct extfs *x, struct progress *prog)
{
	uint64_t before = p->data_bytes;
	int err = 0;

	switch (pp->method) {
	case COPY_TABLE:
		/* Its EBR sectors are planned in disk order with the logicals. */
		for (size_t e = 0; e < t->nebrs; e++)
			if (t->ebrs[e] >= pp->start && t->ebrs[e] < pp->start + pp->size)
				p->data_bytes += t->sector;
		pp->data_bytes = p->data_bytes - before;
		p->data_bytes = before;
		return 0;
	case COPY_HEADER: {
		struct swap_header h;

		err = swap_read(&pp->dev, &h);
		if (!err)
			err = add_dev_range(p, &pp->dev, 0, h.page);
		break;
	}
	case COPY_USED: {
		if (pp->fs == FS_XFS) {
			err = add_xfs_used(p, pp);
			break;
		}
		struct used_ctx c = {p, &pp->dev};
		uint64_t fs_bytes = ext2fs_blocks_count(x->fs->super) * (uint64_t)x->fs->blocksize;
		/* Block 0 holds the boot sector, outside the bitmap on 1 KiB filesystems. */
		err = add_dev_range(p, &pp->dev, 0, 2048 < pp->size ? 2048 : pp->size);
		if (!err)
			err = extfs_used_ranges(x, add_used, &c);
		if (!err && fs_bytes < pp->size)
			err = scan_nonzero(p, &pp->dev, fs_bytes, pp->size - fs_bytes, NULL);
		break;
	}
	case COPY_NONZERO:
		err = scan_nonzero(p, &pp->dev, 0, pp->size, prog);
		break;
	case COPY_EXACT:
		err = plan_add_range(p, pp->start, pp->size);
		break;
	}
	pp->data_bytes = p->data_bytes - before;
	return err;
}

uint64_t plan_image_size(const struct table *t)
{
	uint64_t end = 0;

	for (size_t i = 0; i < t->nparts; i++)
		if (t->parts[i].start + t->parts[i].size > end)
			end = t->parts[i].start + t->parts[i].size;
	return end;
}

int plan_can_copy(const struct source *src, const struct table *t)
{
	if (t->type == TABLE_NONE || t->nparts == 0)
		return ferr(-EINVAL, "%s: no partition table (or no partitions) on the disk",
			    src->path);
	return 0;
}

int plan_build(struct plan *p, const struct source *src, const struct table *t,
	       const struct progress_view *view)
{
	struct extfs *xs = NULL;
	uint64_t *ebrs = NULL;
	struct progress prog;
	uint64_t scan_total = 0, gap;
	size_t nebr = 0;
	int err;

	plan_init(p);
	err = plan_can_copy(src, t);
	if (err)
		return err;
	p->parts = calloc(t->nparts, sizeof(*p->parts));
	xs = calloc(t->nparts, sizeof(*xs));
	ebrs = calloc(t->nebrs + 1, sizeof(*ebrs));
	if (!p->parts || !xs || !ebrs) {
		err = ferr(-ENOMEM, "out of memory");
		goto out;
	}
	p->nparts = t->nparts;
	for (size_t i = 0; i < t->nparts; i++) {
		struct plan_part *pp = &p->parts[i];
		pp->num = t->parts[i].num;
		pp->kind = t->parts[i].kind;
		pp->start = t->parts[i].start;
		pp->size = t->parts[i].size;
	}
	p->vsize = plan_image_size(t);
	qsort(p->parts, p->nparts, sizeof(*p->parts), cmp_part);
	if (t->nebrs)
		memcpy(ebrs, t->ebrs, t->nebrs * sizeof(*ebrs));
	qsort(ebrs, t->nebrs, sizeof(*ebrs), cmp_u64);
	for (size_t i = 0; i + 1 < p->nparts; i++) {
		const struct plan_part *a = &p->parts[i], *b = &p->parts[i + 1];
		if (a->kind != PART_EXTENDED && a->start + a->size > b->start) {
			err = ferr(-EINVAL, "%s: partitions %d and %d overlap", src->path, a->num,
				   b->num);
			goto out;
		}
	}
	for (size_t i = 0; i < p->nparts; i++) {
		classify(&p->parts[i], src, &xs[i]);
		if (p->parts[i].method == COPY_NONZERO)
			scan_total += p->parts[i].size;
	}
	progress_init(&prog, "scan", scan_total, scan_total ? view : NULL);

	gap = table_first_start(t);
	p->gap_bytes = gap;
	err = plan_add_range(p, 0, gap);
	for (size_t i = 0; i < p->nparts && !err; i++) {
		struct plan_part *pp = &p->parts[i];

		/* EBR sectors sit in the extended partition, before their logical. */
		while (!err && pp->kind != PART_EXTENDED && nebr < t->nebrs &&
		       ebrs[nebr] < pp->start)
			err = plan_add_range(p, ebrs[nebr++], t->sector);
		if (!err)
			err = plan_part_ranges(p, pp, t, &xs[i], &prog);
		if (err)
			err = ferr_ctx(err, "partition %d", pp->num);
	}
	while (!err && nebr < t->nebrs)
		err = plan_add_range(p, ebrs[nebr++], t->sector);
	if (!err && scan_total)
		progress_finish(&prog);
out:
	if (xs) {
		for (size_t i = 0; p->parts && i < p->nparts; i++)
			if (xs[i].fs)
				extfs_release(&xs[i]);
		free(xs);
	}
	free(ebrs);
	if (err)
		plan_release(p);
	return err;
}
