/* Building the capture plan: the boot gap byte-exact, each partition by
 * the method its content allows, in disk order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk/lvm.h"
#include "disk/plan.h"
#include "fs/extfs.h"
#include "fs/fat.h"
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
	case COPY_LVM: return "lvm";
	case COPY_EXCLUDED: return "excluded";
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
	free(p->vols);
	memset(p, 0, sizeof(*p));
}

int plan_add_range(struct plan *p, uint64_t off, uint64_t len)
{
	if (len == 0)
		return 0;
	if (p->n > 0 && !p->unsorted) {
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
static int cmp_extent(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Sorts the ranges of an unsorted plan and merges overlaps and neighbours. */
static void plan_sort(struct plan *p)
{
	size_t n = 0;

	if (p->n > 1)
		qsort(p->ext, p->n, sizeof(*p->ext), cmp_extent);
	p->data_bytes = 0;
	for (size_t i = 0; i < p->n; i++) {
		struct extent *last = n ? &p->ext[n - 1] : NULL;
		if (last && p->ext[i].off <= last->off + last->len) {
			uint64_t end = p->ext[i].off + p->ext[i].len;
			if (end > last->off + last->len)
				last->len = end - last->off;
		} else {
			p->ext[n++] = p->ext[i];
		}
	}
	p->n = n;
	for (size_t i = 0; i < n; i++)
		p->data_bytes += p->ext[i].len;
	p->unsorted = false;
}

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
static enum copy_method choose_xfs(const struct blkdev *dev, char *note, size_t size)
{
	struct xfs_info info;
	int err;

	err = xfs_get_info(dev, &info);
	if (!err && !info.needs_recovery)
		err = xfs_used_ranges(dev, check_only, NULL);
	if (err) {
		snprintf(note, size, "%s: every non-zero block is copied", ferr_msg());
		ferry_warn("%s", note);
		return COPY_NONZERO;
	}
	if (info.needs_recovery) {
		snprintf(note, size, "%s: the xfs filesystem was not cleanly unmounted (its log "
			 "needs recovery): its free-space btrees cannot be trusted, so every "
			 "non-zero block is copied", dev->name);
		ferry_warn("%s", note);
		return COPY_NONZERO;
	}
	return COPY_USED;
}

/* XFS: the blocks its free-space btrees leave in use, then whatever is not
 * zero past the data section. */
static int add_xfs_used(struct plan *p, const struct blkdev *dev)
{
	struct used_ctx c = {p, dev};
	struct xfs_info info;
	int err;

	err = xfs_get_info(dev, &info);
	if (!err)
		err = xfs_used_ranges(dev, add_used, &c);
	if (!err && info.size < dev->size)
		err = scan_nonzero(p, dev, info.size, dev->size - info.size, NULL);
	return err;
}

/* FAT (an EFI system partition): the boot sector, FATs and root, and the
 * clusters its FAT marks used, then whatever is not zero past the
 * filesystem; a FAT Ferry cannot read is copied by its non-zero blocks. */
static enum copy_method choose_fat(const struct blkdev *dev, char *note, size_t size)
{
	struct fat_fs *f;

	if (fatfs_open(&f, dev, false)) {
		snprintf(note, size, "%s: every non-zero block is copied", ferr_msg());
		ferry_warn("%s", note);
		return COPY_NONZERO;
	}
	fatfs_free(f);
	return COPY_USED;
}

static int add_fat_used(struct plan *p, const struct blkdev *dev)
{
	struct used_ctx c = {p, dev};
	struct fat_info info;
	struct fat_fs *f;
	int err;

	err = fatfs_open(&f, dev, false);
	if (err)
		return err;
	fatfs_get_info(f, &info);
	err = fatfs_used_ranges(f, add_used, &c);
	fatfs_free(f);
	if (!err && info.size < dev->size)
		err = scan_nonzero(p, dev, info.size, dev->size - info.size, NULL);
	return err;
}

/* How a volume (a partition, a logical volume) is copied, from what is on
 * it; an ext filesystem whose block bitmap can be trusted is left open in x. */
static enum copy_method choose(const struct blkdev *dev, enum fs_type *fs, struct extfs *x,
			       char *note, size_t size)
{
	int err;

	*fs = fs_detect(dev);
	if (*fs == FS_SWAP)
		return COPY_HEADER;
	if (*fs == FS_XFS)
		return choose_xfs(dev, note, size);
	if (*fs == FS_VFAT)
		return choose_fat(dev, note, size);
	if (!fs_is_ext(*fs)) {
		snprintf(note, size, "%s content is not read by Ferry: every non-zero block is "
			 "copied", fs_type_name(*fs));
		return COPY_NONZERO;
	}
	err = extfs_open(x, dev);
	if (err) {
		snprintf(note, size, "%s: every non-zero block is copied", ferr_msg());
		ferry_warn("%s", note);
		return COPY_NONZERO;
	}
	struct extfs_info info;
	extfs_get_info(x, &info);
	if (info.needs_recovery || info.has_errors) {
		/* A journal to replay or a filesystem marked with errors may have a
		 * block bitmap that does not show every block in use. */
		snprintf(note, size, "%s: the %s filesystem %s: its block bitmap cannot be "
			 "trusted, so every non-zero block is copied", dev->name,
			 fs_type_name(*fs),
			 info.needs_recovery ? "was not cleanly unmounted (its journal needs "
					       "recovery)" : "is marked as having errors");
		ferry_warn("%s", note);
		extfs_release(x);
		return COPY_NONZERO;
	}
	return COPY_USED;
}

/* Chooses how a partition is copied; opens ext filesystems into x. An LVM
 * PV is COPY_LVM until its volume group is read (plan_lvm). */
static void classify(struct plan_part *pp, const struct source *src, struct extfs *x)
{
	char name[96];

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
	if (fs_detect(&pp->dev) == FS_LVM2) {
		pp->fs = FS_LVM2;
		pp->method = COPY_LVM;
		return;
	}
	pp->method = choose(&pp->dev, &pp->fs, x, pp->note, sizeof(pp->note));
}

/* The ranges of a volume holding fs, copied by method m (x open for
 * COPY_USED on ext). */
static int volume_ranges(struct plan *p, const struct blkdev *dev, enum fs_type fs,
			 enum copy_method m, struct extfs *x, struct progress *prog)
{
	switch (m) {
	case COPY_HEADER: {
		struct swap_header h;
		int err = swap_read(dev, &h);

		return err ? err : add_dev_range(p, dev, 0, h.page);
	}
	case COPY_USED: {
		if (fs == FS_XFS)
			return add_xfs_used(p, dev);
		if (fs == FS_VFAT)
			return add_fat_used(p, dev);
		struct used_ctx c = {p, dev};
		uint64_t fs_bytes = ext2fs_blocks_count(x->fs->super) * (uint64_t)x->fs->blocksize;
		/* Block 0 holds the boot sector, outside the bitmap on 1 KiB filesystems. */
		int err = add_dev_range(p, dev, 0, 2048 < dev->size ? 2048 : dev->size);

		if (!err)
			err = extfs_used_ranges(x, add_used, &c);
		if (!err && fs_bytes < dev->size)
			err = scan_nonzero(p, dev, fs_bytes, dev->size - fs_bytes, NULL);
		return err;
	}
	case COPY_NONZERO:
		return scan_nonzero(p, dev, 0, dev->size, prog);
	default:
		return ferr(-EINVAL, "internal: %s is not a volume's copy method",
			    plan_method_name(m));
	}
}

/* The volume groups on the disk's PV partitions. */
struct lvm_plan {
	struct lvm_set set;
	struct blkdev *devs; /* the PV partitions' devices */
	size_t *part;        /* devs[k] is the plan's parts[part[k]] */
	size_t n;
	struct plan ranges;  /* everything copied of the PVs, sorted */
	struct extfs *x;     /* per plan volume, open for COPY_USED */
	struct blkdev *vdev; /* per plan volume */
	size_t nx;
};

static void lvm_plan_release(struct lvm_plan *lp)
{
	for (size_t i = 0; lp->x && i < lp->nx; i++)
		if (lp->x[i].fs)
			extfs_release(&lp->x[i]);
	lvm_set_release(&lp->set);
	free(lp->devs);
	free(lp->part);
	free(lp->x);
	free(lp->vdev);
	plan_release(&lp->ranges);
}

/* The group of PV k, or NULL. */
static const struct lvm_vg *pv_group(const struct lvm_plan *lp, size_t k)
{
	for (size_t g = 0; g < lp->set.nvgs; g++)
		for (size_t i = 0; i < lp->set.vgs[g].npvs; i++)
			if (lp->set.vgs[g].pvs[i].dev == (int)k)
				return &lp->set.vgs[g];
	return NULL;
}

/* Reads the volume groups of the PV partitions and chooses how each of
 * their logical volumes is copied (p->vols). A group with a volume Ferry
 * cannot map, and a PV whose group cannot be read, are copied whole (every
 * non-zero block), with the reason as the partition's note. *scan grows by
 * what will be read whole. */
static int plan_lvm(struct plan *p, struct lvm_plan *lp, uint64_t *scan)
{
	size_t nv = 0;
	int err;

	for (size_t i = 0; i < p->nparts; i++)
		lp->n += p->parts[i].method == COPY_LVM;
	if (lp->n == 0)
		return 0;
	lp->devs = calloc(lp->n, sizeof(*lp->devs));
	lp->part = calloc(lp->n, sizeof(*lp->part));
	if (!lp->devs || !lp->part)
		return ferr(-ENOMEM, "out of memory");
	for (size_t i = 0, k = 0; i < p->nparts; i++)
		if (p->parts[i].method == COPY_LVM) {
			lp->devs[k] = p->parts[i].dev;
			lp->part[k++] = i;
		}
	err = lvm_set_read(&lp->set, lp->devs, lp->n);
	if (err)
		return err;
	for (size_t g = 0; g < lp->set.nvgs; g++)
		nv += lp->set.vgs[g].nlvs;
	p->vols = calloc(nv + 1, sizeof(*p->vols));
	lp->x = calloc(nv + 1, sizeof(*lp->x));
	lp->vdev = calloc(nv + 1, sizeof(*lp->vdev));
	if (!p->vols || !lp->x || !lp->vdev)
		return ferr(-ENOMEM, "out of memory");
	lp->nx = nv;
	for (size_t k = 0; k < lp->n; k++) {
		struct plan_part *pp = &p->parts[lp->part[k]];
		const struct lvm_vg *vg = pv_group(lp, k);
		const struct lvm_lv *bad = NULL;

		for (size_t l = 0; vg && l < vg->nlvs && !bad; l++)
			if (!vg->lvs[l].ext)
				bad = &vg->lvs[l];
		if (vg && !bad)
			continue;
		pp->method = COPY_NONZERO;
		*scan += pp->size;
		if (!vg)
			snprintf(pp->note, sizeof(pp->note), "an LVM physical volume whose volume "
				 "group cannot be read: every non-zero block is copied");
		else
			snprintf(pp->note, sizeof(pp->note), "volume group %s: logical volume %s "
				 "is not read (%s): every non-zero block of the PV is copied",
				 vg->name, bad->name, bad->unmapped);
	}
	for (size_t g = 0; g < lp->set.nvgs; g++) {
		const struct lvm_vg *vg = &lp->set.vgs[g];
		bool whole = false;

		for (size_t i = 0; i < vg->npvs; i++)
			if (vg->pvs[i].dev >= 0 &&
			    p->parts[lp->part[vg->pvs[i].dev]].method != COPY_LVM)
				whole = true;
		for (size_t l = 0; !whole && l < vg->nlvs; l++) {
			struct plan_volume *v = &p->vols[p->nvols];
			struct blkdev *dev = &lp->vdev[p->nvols];

			snprintf(v->name, sizeof(v->name), "%s/%s", vg->name, vg->lvs[l].name);
			err = lvm_lv_dev(dev, vg, &vg->lvs[l], false);
			if (err)
				return err;
			v->size = dev->size;
			v->method = choose(dev, &v->fs, &lp->x[p->nvols], v->note, sizeof(v->note));
			if (v->method == COPY_NONZERO)
				*scan += v->size;
			p->nvols++;
		}
	}
	return 0;
}

/* Every range of the groups mapped: each PV's label and metadata areas,
 * each logical volume by its method. */
static int lvm_ranges(struct plan *p, struct lvm_plan *lp, struct progress *prog)
{
	int err = 0;

	lp->ranges.unsorted = true;
	for (size_t k = 0; k < lp->n && !err; k++) {
		const struct lvm_pvinfo *pv = &lp->set.pvs[k];
		const struct lvm_vg *vg = pv_group(lp, k);

		if (p->parts[lp->part[k]].method != COPY_LVM)
			continue;
		for (size_t i = 0; i < vg->npvs; i++)
			if (vg->pvs[i].dev == (int)k)
				err = add_dev_range(&lp->ranges, &lp->devs[k], 0, vg->pvs[i].pe_start);
		for (int m = 0; m < 2 && !err; m++)
			err = add_dev_range(&lp->ranges, &lp->devs[k], pv->mda_off[m], pv->mda_len[m]);
	}
	for (size_t v = 0; v < p->nvols && !err; v++) {
		uint64_t before = lp->ranges.data_bytes;

		err = volume_ranges(&lp->ranges, &lp->vdev[v], p->vols[v].fs, p->vols[v].method,
				    &lp->x[v], prog);
		if (err)
			err = ferr_ctx(err, "logical volume %s", p->vols[v].name);
		p->vols[v].data_bytes = lp->ranges.data_bytes - before;
	}
	if (!err)
		plan_sort(&lp->ranges);
	return err;
}

/* The PV partition's share of the groups' ranges. */
static int add_pv_ranges(struct plan *p, const struct plan_part *pp, const struct lvm_plan *lp)
{
	int err = 0;

	for (size_t i = 0; i < lp->ranges.n && !err; i++) {
		uint64_t a = lp->ranges.ext[i].off, b = a + lp->ranges.ext[i].len;
		if (a < pp->start)
			a = pp->start;
		if (b > pp->start + pp->size)
			b = pp->start + pp->size;
		if (a < b)
			err = plan_add_range(p, a, b - a);
	}
	return err;
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
			    struct extfs *x, const struct lvm_plan *lp, struct progress *prog)
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
	case COPY_HEADER:
	case COPY_USED:
	case COPY_NONZERO:
		err = volume_ranges(p, &pp->dev, pp->fs, pp->method, x, prog);
		break;
	case COPY_LVM:
		err = add_pv_ranges(p, pp, lp);
		break;
	case COPY_EXACT:
		err = plan_add_range(p, pp->start, pp->size);
		break;
	case COPY_EXCLUDED:
		break;
	}
	pp->data_bytes = p->data_bytes - before;
	return err;
}

uint64_t plan_image_size(const struct table *t, uint64_t disk_size)
{
	uint64_t end = 0, tail = gpt_tail_bytes(t), mib = 1u << 20, fit;

	for (size_t i = 0; i < t->nparts; i++)
		if (t->parts[i].start + t->parts[i].size > end)
			end = t->parts[i].start + t->parts[i].size;
	/* A GPT disk ends with its backup GPT, after the last partition:
	 * rounded up to a MiB as partitioning tools do, and never past the
	 * disk, where the backup's sectors are read from. */
	if (!tail || end + tail > disk_size)
		return end;
	fit = (end + tail + mib - 1) / mib * mib;
	return fit < disk_size ? fit : disk_size;
}

int plan_can_copy(const struct source *src, const struct table *t)
{
	if (t->type == TABLE_NONE || t->nparts == 0)
		return ferr(-EINVAL, "%s: no partition table (or no partitions) on the disk",
			    src->path);
	return 0;
}

int plan_build(struct plan *p, const struct source *src, const struct table *t,
	       const struct part_set *exclude, const struct progress_view *view)
{
	struct lvm_plan lp;
	struct extfs *xs = NULL;
	uint64_t *ebrs = NULL;
	struct progress prog;
	uint64_t scan_total = 0, gap;
	size_t nebr = 0;
	int err;

	plan_init(p);
	memset(&lp, 0, sizeof(lp));
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
	p->vsize = plan_image_size(t, src->size);
	if (p->nparts > 1)
		qsort(p->parts, p->nparts, sizeof(*p->parts), cmp_part);
	if (t->nebrs)
		memcpy(ebrs, t->ebrs, t->nebrs * sizeof(*ebrs));
	if (t->nebrs > 1)
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
		if (p->parts[i].kind != PART_EXTENDED && part_set_has(exclude, p->parts[i].num)) {
			char name[96];

			snprintf(name, sizeof(name), "%s partition %d", src->path, p->parts[i].num);
			p->parts[i].method = COPY_EXCLUDED;
			if (!blk_window(&p->parts[i].dev, src, p->parts[i].start, p->parts[i].size,
					false, name))
				p->parts[i].fs = fs_detect(&p->parts[i].dev);
			snprintf(p->parts[i].note, sizeof(p->parts[i].note),
				 "left out of the image (--exclude): zeros");
			continue;
		}
		classify(&p->parts[i], src, &xs[i]);
		if (p->parts[i].method == COPY_NONZERO)
			scan_total += p->parts[i].size;
	}
	err = plan_lvm(p, &lp, &scan_total);
	if (err)
		goto out;
	progress_init(&prog, "scan", scan_total, scan_total ? view : NULL);
	err = lvm_ranges(p, &lp, &prog);
	if (err)
		goto out;

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
			err = plan_part_ranges(p, pp, t, &xs[i], &lp, &prog);
		if (err)
			err = ferr_ctx(err, "partition %d", pp->num);
	}
	while (!err && nebr < t->nebrs)
		err = plan_add_range(p, ebrs[nebr++], t->sector);
	if (!err && scan_total)
		progress_finish(&prog);
out:
	lvm_plan_release(&lp);
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
