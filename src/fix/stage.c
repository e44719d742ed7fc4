/* The fix stage of a capture: finds the system's filesystems on the source,
 * opens them on the copy (every write goes to the overlay), runs the rules
 * through guest files, and leaves the edited metadata in the overlay. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk/plan.h"
#include "disk/probe.h"
#include "fix/fix.h"
#include "fix/stage.h"
#include "fs/extfs.h"
#include "fs/journal.h"
#include "fs/swap.h"
#include "util/endian.h"
#include "util/err.h"

/* Separate filesystems the rules read: kernels and boot loader configs in
 * /boot, modules in /usr/lib/modules, /var for completeness of paths, and
 * the EFI system partition's loaders and grubenv (/boot/efi, or /efi). */
static const char *const mounts[] = {"/boot", "/usr", "/var", "/boot/efi", "/efi"};

/* Opens one filesystem of the system on the copy. A journal that needs
 * recovery is replayed into the overlay first (recorded in rep). With
 * strict, a filesystem marked with errors is refused with the reason;
 * without, it is opened to be read. One whose journal cannot be replayed is
 * refused either way. */
static int open_fs(const struct probe_part *pp, struct extfs *x,
		   struct fix_report *rep, bool strict, struct stage_fs *st)
{
	const char *name = pp->dev.name;
	struct journal_stats js = {0};
	struct blkdev copy;
	int err;

	memset(st, 0, sizeof(*st));
	st->partnum = pp->part ? pp->part->num : 0;
	probe_part_name(pp, st->where, sizeof(st->where));
	err = blk_copy_of(&copy, &pp->dev);
	if (!err)
		err = extfs_open_copy(x, &copy);
	if (err)
		return err;
	st->errors = (x->fs->super->s_state & EXT2_ERROR_FS) != 0;
	if (st->errors && strict) {
		extfs_release(x);
		return ferr(-EUCLEAN, "%s: the filesystem is marked as having errors, so Ferry will "
			    "not edit it: run e2fsck on the server and capture again, or capture "
			    "with --no-fix", name);
	}
	if (ext2fs_has_feature_journal_needs_recovery(x->fs->super)) {
		err = journal_replay(x->fs, name, &js);
		if (err) {
			extfs_release(x);
			return ferr_ctx(err, "the filesystem was not cleanly unmounted and its journal "
					"cannot be replayed, so Ferry will not edit it: shut the server "
					"down cleanly and capture again, or capture with --no-fix");
		}
		st->replayed = true;
		char what[160];
		snprintf(what, sizeof(what), "replayed the journal (%u transactions, %u blocks, "
			 "%u revoked) so the target does not replay it over the fixes",
			 js.transactions, js.blocks, js.revoked);
		err = fix_change(rep, "journal", name, what, NULL, NULL);
		if (err) {
			extfs_release(x);
			return err;
		}
	}
	return 0;
}

/* A swap area holding a hibernated system would make the target try to
 * resume a machine it is not: its header is rewritten as plain swap,
 * keeping its UUID and label, so fstab's UUID= entry still finds it. */
static int fix_swap(const struct probe_part *pp, struct fix_report *rep,
		    struct fix_volume *v)
{
	struct swap_header h;
	struct blkdev copy;
	const char *was;
	int err = blk_copy_of(&copy, &pp->dev);

	if (!err)
		err = swap_read(&copy, &h);
	if (err || !h.hibernated)
		return 0;
	was = h.sig;
	err = swap_make_plain(&copy, &h);
	if (err)
		return err;
	/* Now it is a swap volume fstab can name. */
	snprintf(v->fs, sizeof(v->fs), "swap");
	snprintf(v->uuid, sizeof(v->uuid), "%s", h.uuid);
	return fix_change_code(rep, "swap.hibernated", "fstab", pp->dev.name,
			       "swap header: a hibernation image is not resumed on the target; "
			       "rewritten as swap with the same UUID", was, h.sig);
}

static bool is_extended(const struct probe_part *pp)
{
	return pp->part && pp->part->kind == PART_EXTENDED;
}

static void add_volume(struct fix_volume *v, const struct probe_part *pp)
{
	memset(v, 0, sizeof(*v));
	v->partnum = pp->part ? pp->part->num : 0;
	snprintf(v->fs, sizeof(v->fs), "%s", fs_type_name(pp->fs));
	snprintf(v->uuid, sizeof(v->uuid), "%s", pp->uuid);
	snprintf(v->label, sizeof(v->label), "%s", pp->label);
	snprintf(v->partuuid, sizeof(v->partuuid), "%s", pp->partuuid);
	snprintf(v->partlabel, sizeof(v->partlabel), "%s", pp->part ? pp->part->name : "");
	if (pp->lv) {
		char dm[sizeof(v->mapper) - 12];
		lvm_dm_name(dm, sizeof(dm), pp->vg->name, pp->lv->name);
		snprintf(v->mapper, sizeof(v->mapper), "/dev/mapper/%s", dm);
		snprintf(v->lvpath, sizeof(v->lvpath), "/dev/%s/%s", pp->vg->name, pp->lv->name);
	}
}

static bool known_volume(const struct fix_volume *v)
{
	return v->fs[0] && strcmp(v->fs, fs_type_name(FS_UNKNOWN));
}

/* Closes the guest tree and the filesystems; closing writes the
 * superblocks and bitmaps the edits changed, unless err. Kernel mounts are
 * unmounted either way (what they wrote is in the overlay). */
static int close_fs(struct stage *s, int err)
{
	if (s->have_root)
		guest_release(&s->root);
	s->have_root = false;
	while (s->nkm > 0) {
		int e = kmount_close(&s->km[--s->nkm]);
		if (!err)
			err = e;
	}
	s->nopened = 0;
	s->nreadonly = 0;
	while (s->nx > 0) {
		s->nx--;
		if (err)
			extfs_release(&s->x[s->nx]);
		else
			err = extfs_close_copy(&s->x[s->nx]);
	}
	return err;
}

bool stage_opened(const struct stage *s, const struct probe_part *pp)
{
	for (size_t i = 0; i < s->nopened; i++)
		if (s->opened[i] == pp)
			return true;
	return false;
}

bool stage_readonly(const struct stage *s, const struct probe_part *pp)
{
	for (size_t i = 0; i < s->nreadonly; i++)
		if (s->readonly[i] == pp)
			return true;
	return false;
}

/* When the kernel cannot mount an XFS (no NBD) and the system is only
 * judged: Ferry's own reader, read-only, so its files can still be read.
 * The kernel's reason is kept for the finding that says it is not edited
 * (fs.noedit). */
static int open_readonly(struct stage *s, const struct probe_part *pp, struct guest *g)
{
	int err;

	if (s->nreadonly == sizeof(s->readonly) / sizeof(s->readonly[0]))
		return ferr(-EINVAL, "internal: too many read-only filesystems");
	if (!s->readonly_why[0])
		snprintf(s->readonly_why, sizeof(s->readonly_why), "%s", ferr_msg());
	err = guest_xfs_open(g, &pp->dev);
	if (err)
		return err;
	s->readonly[s->nreadonly++] = pp;
	return 0;
}

/* A filesystem Ferry cannot write itself, mounted by the kernel over the
 * copy, as a guest of the directory backend. */
static int open_kernel(struct stage *s, const struct probe_part *pp, struct guest *g)
{
	struct kmount *km = &s->km[s->nkm];
	int err;

	if (s->nkm == sizeof(s->km) / sizeof(s->km[0]))
		return ferr(-EINVAL, "internal: too many kernel mounts");
	err = kmount_open(km, &pp->dev, fs_type_name(pp->fs));
	if (err)
		return err;
	s->nkm++;
	err = guest_dir_open(g, km->dir);
	if (!err)
		snprintf(g->name, sizeof(g->name), "%s", pp->dev.name);
	return err;
}

static bool kernel_edits(enum fs_type t)
{
	return t == FS_XFS;
}

/* The EFI system partition, edited by Ferry's FAT code on the copy. One
 * that cannot be read is left as it is, with a warning: the system's own
 * filesystems are what the rules need. */
static int open_fat(const struct stage *s, const struct probe_part *pp, const char *at,
		    struct guest *g)
{
	struct blkdev copy;
	int err = blk_copy_of(&copy, &pp->dev);

	if (!err)
		err = guest_fat_open(g, &copy);
	if (err && err != -ENOMEM) {
		ferry_warn("%s: %s is not edited: %s", s->src->path, at, ferr_msg());
		return 1;
	}
	return err;
}

/* Opens /boot, /usr and /var where they are filesystems of their own and
 * mounts them in the root's tree. */
static int open_mounts(struct stage *s, struct fix_report *rep, bool strict)
{
	struct probe_disk *d = &s->pr.disks[s->pr.root.disk];
	int err = 0;

	for (size_t m = 0; m < sizeof(mounts) / sizeof(mounts[0]); m++) {
		int p = probe_mount_part(&s->pr, mounts[m]);
		struct guest *sub;

		if (p < 0 || p == s->pr.root.part ||
		    !(fs_is_ext(d->parts[p].fs) || kernel_edits(d->parts[p].fs) ||
		      d->parts[p].fs == FS_VFAT) || stage_opened(s, &d->parts[p]))
			continue;
		sub = calloc(1, sizeof(*sub));
		if (!sub)
			return ferr(-ENOMEM, "out of memory");
		if (d->parts[p].fs == FS_VFAT) {
			err = open_fat(s, &d->parts[p], mounts[m], sub);
			if (err > 0) {
				free(sub);
				err = 0;
				continue;
			}
		} else if (kernel_edits(d->parts[p].fs)) {
			err = open_kernel(s, &d->parts[p], sub);
			if (err && !strict && err != -ENOMEM) {
				/* To be judged: fs.noedit says what is not edited. */
				ferry_warn("%s: %s is not edited: %s", s->src->path, mounts[m],
					   ferr_msg());
				err = open_readonly(s, &d->parts[p], sub);
				if (!err)
					err = guest_mount(&s->root, mounts[m], sub);
				if (err) {
					free(sub);
					if (err == -ENOMEM)
						return err;
					err = 0;
					continue;
				}
				if (!strcmp(mounts[m], "/boot"))
					s->boot_part = d->parts[p].part ? d->parts[p].part->num : 0;
				continue;
			}
		} else {
			err = open_fs(&d->parts[p], &s->x[s->nx], rep, strict, &s->fs[s->nx]);
			if (!err) {
				s->nx++;
				err = guest_ext_open(sub, &s->x[s->nx - 1]);
			}
		}
		if (!err)
			err = guest_mount(&s->root, mounts[m], sub);
		if (!err && s->nopened < sizeof(s->opened) / sizeof(s->opened[0]))
			s->opened[s->nopened++] = &d->parts[p];
		if (err) {
			free(sub);
			return err;
		}
		if (!strcmp(mounts[m], "/boot"))
			s->boot_part = d->parts[p].part ? d->parts[p].part->num : 0;
	}
	return 0;
}

int stage_open(struct stage *s, struct source *src, struct fix_report *rep, bool strict)
{
	char *path = src->path;
	struct probe_disk *d;
	int err;

	memset(s, 0, sizeof(*s));
	s->src = src;
	if (!src->cow)
		return ferr(-EINVAL, "internal: the system is opened on the copy-on-write overlay");
	/* What the fixes made so far counts (the image check). */
	err = probe_copy(&s->pr, path, src->cow);
	if (err)
		return err;
	d = &s->pr.disks[0];
	s->vols = calloc(d->nvols ? d->nvols : 1, sizeof(*s->vols));
	if (!s->vols) {
		probe_release(&s->pr);
		return ferr(-ENOMEM, "out of memory");
	}
	/* The partitions, then the logical volumes. */
	for (size_t i = 0; i < d->nvols; i++)
		if (!is_extended(&d->parts[i]))
			add_volume(&s->vols[s->nvols++], &d->parts[i]);
	if (s->pr.root.disk < 0) {
		snprintf(s->why, sizeof(s->why), "no root filesystem found (an ext2/3/4 or XFS "
			 "filesystem whose /etc/fstab mounts it at /)");
		return 0;
	}
	/* A root on a logical volume is named by its stable device-mapper
	 * name or its UUID, never by a partition number. */
	s->root_part = d->parts[s->pr.root.part].part ? d->parts[s->pr.root.part].part->num : 0;
	const struct probe_part *root = &d->parts[s->pr.root.part];
	bool root_readonly = false;
	if (kernel_edits(root->fs)) {
		err = open_kernel(s, root, &s->root);
		if (err && !strict && err != -ENOMEM) {
			err = open_readonly(s, root, &s->root);
			root_readonly = !err;
		}
	} else {
		err = open_fs(root, &s->x[0], rep, strict, &s->fs[0]);
		if (!err) {
			s->nx = 1;
			err = guest_ext_open(&s->root, &s->x[0]);
		}
	}
	if (!err) {
		s->have_root = true;
		if (!root_readonly)
			s->opened[s->nopened++] = root;
		err = open_mounts(s, rep, strict);
	}
	if (err && !strict && err != -ENOMEM) {
		/* To be judged, not edited: the partitions are still there, the
		 * reason is a finding. */
		snprintf(s->why, sizeof(s->why), "%s", ferr_msg());
		close_fs(s, err);
		return 0;
	}
	if (err)
		stage_close(s, err);
	return err;
}

/* A hibernated swap area has no swap signature: its fs is unknown until
 * fix_swap has rewritten it. Rewrites those (fstab in mask), then keeps
 * only the volumes the rules can name. */
static int fix_swaps(struct stage *s, bool rewrite, struct fix_report *rep)
{
	struct probe_disk *d = &s->pr.disks[0];
	size_t n = 0;
	int err = 0;

	for (size_t i = 0, v = 0; i < d->nvols && !err; i++) {
		const struct probe_part *pp = &d->parts[i];

		if (is_extended(pp))
			continue;
		if (rewrite && (pp->fs == FS_SWAP || pp->fs == FS_UNKNOWN))
			err = fix_swap(pp, rep, &s->vols[v]);
		v++;
	}
	for (size_t v = 0; v < s->nvols; v++)
		if (known_volume(&s->vols[v]))
			s->vols[n++] = s->vols[v];
	s->nvols = n;
	return err;
}

int stage_fix(struct stage *s, uint32_t mask, const char *cloud, struct fix_report *rep)
{
	struct fix_ctx c;
	int fstab_bit = -1, err;

	if (!s->have_root) {
		ferry_warn("%s: %s: nothing fixed; the image may not boot on KVM", s->src->path,
			   s->why);
		return fix_note(rep, "", s->src->path, "%s: nothing fixed",
				s->pr.root.disk < 0 ? "no root filesystem found" : s->why);
	}
	for (size_t i = 0; i < fix_nrules; i++)
		if (!strcmp(fix_rules[i].name, "fstab"))
			fstab_bit = (int)i;
	err = fix_swaps(s, fstab_bit >= 0 && (mask & (1u << fstab_bit)), rep);
	if (err)
		return err;
	memset(&c, 0, sizeof(c));
	c.g = &s->root;
	c.skip_readonly = s->nreadonly > 0;
	c.vols = s->vols;
	c.nvols = s->nvols;
	c.root_part = s->root_part;
	c.boot_part = s->boot_part;
	c.new_table = s->new_table;
	c.exclude = &s->exclude;
	c.cloud = cloud;
	c.rep = rep;
	return fix_run(&c, mask);
}

int stage_close(struct stage *s, int err)
{
	err = close_fs(s, err);
	free(s->vols);
	s->vols = NULL;
	probe_release(&s->pr);
	return err;
}

int fix_stage(struct source *src, uint32_t mask, const char *cloud, struct fix_report *rep)
{
	struct stage s;
	int err = stage_open(&s, src, rep, true);

	if (err)
		return err;
	err = stage_fix(&s, mask, cloud, rep);
	return stage_close(&s, err);
}
