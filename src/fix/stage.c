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
#include "util/endian.h"
#include "util/err.h"

/* Separate filesystems the rules read: kernels and boot loader configs in
 * /boot, modules in /usr/lib/modules, and /var for completeness of paths. */
static const char *const mounts[] = {"/boot", "/usr", "/var"};

struct opened {
	struct extfs x[1 + sizeof(mounts) / sizeof(mounts[0])];
	size_t n;
};

static int open_fs(struct source *src, const struct probe_part *pp, struct extfs *x,
		   struct fix_report *rep)
{
	char name[96];
	struct journal_stats js = {0};
	int err;

	snprintf(name, sizeof(name), "%s partition %d", src->path, pp->part->num);
	err = extfs_open_copy(x, src, pp->part->start, pp->part->size, name);
	if (err)
		return err;
	if (x->fs->super->s_state & EXT2_ERROR_FS) {
		extfs_release(x);
		return ferr(-EUCLEAN, "%s: the filesystem is marked as having errors, so Ferry will "
			    "not edit it: run e2fsck on the server and capture again, or capture "
			    "with --no-fix", name);
	}
	if (ext2fs_has_feature_journal_needs_recovery(x->fs->super)) {
		err = journal_replay(x->fs, name, &js);
		if (err) {
			extfs_release(x);
			return ferr_ctx(err, "the filesystem was not cleanly unmounted and its "
					"journal cannot be replayed, so Ferry will not edit it: shut "
					"the server down cleanly and capture again, or capture with "
					"--no-fix");
		}
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

static const char *swap_signature(const uint8_t *page_end)
{
	static const char *const sigs[] = {"SWAPSPACE2", "SWAP-SPACE", "S1SUSPEND", "S2SUSPEND",
					   "ULSUSPEND", "LINHIB0001"};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (!memcmp(page_end - 10, sigs[i], strlen(sigs[i])))
			return sigs[i];
	return NULL;
}

/* A swap area holding a hibernated system would make the target try to
 * resume a machine it is not: rewrite its header as plain swap, keeping
 * its UUID and label, so fstab's UUID= entry still finds it. */
static int fix_swap(struct source *src, const struct probe_part *pp, struct fix_report *rep,
		    struct fix_volume *v)
{
	uint8_t page[4096];
	const char *sig;
	char name[96];
	uint64_t pages;

	if (pp->part->size < sizeof(page) ||
	    source_pread(src, page, sizeof(page), pp->part->start) != 0)
		return 0;
	sig = swap_signature(page + sizeof(page));
	if (!sig || !strcmp(sig, "SWAPSPACE2") || !strcmp(sig, "SWAP-SPACE"))
		return 0;
	snprintf(name, sizeof(name), "%s partition %d", src->path, pp->part->num);
	pages = pp->part->size / sizeof(page);
	put_le32(page + 1024, 1);                       /* version */
	put_le32(page + 1028, (uint32_t)(pages - 1));   /* last page */
	put_le32(page + 1032, 0);                       /* no bad pages */
	memcpy(page + sizeof(page) - 10, "SWAPSPACE2", 10);
	{
		int err = source_write_copy(src, page, sizeof(page), pp->part->start);
		if (err)
			return err;
	}
	/* Now it is a swap volume fstab can name. */
	snprintf(v->fs, sizeof(v->fs), "swap");
	if (get_le32(page + 1024) == 1 && !is_zero(page + 1036, 16))
		format_uuid(page + 1036, v->uuid);
	return fix_change(rep, "fstab", name, "swap header: a hibernation image is not resumed "
			  "on the target; rewritten as swap with the same UUID", sig, "SWAPSPACE2");
}

static void add_volume(struct fix_volume *v, const struct probe_part *pp)
{
	memset(v, 0, sizeof(*v));
	v->partnum = pp->part->num;
	snprintf(v->fs, sizeof(v->fs), "%s", fs_type_name(pp->fs));
	snprintf(v->uuid, sizeof(v->uuid), "%s", pp->uuid);
	snprintf(v->label, sizeof(v->label), "%s", pp->label);
	snprintf(v->partuuid, sizeof(v->partuuid), "%s", pp->partuuid);
}

int fix_stage(struct source *src, uint32_t mask, const char *cloud, struct fix_report *rep)
{
	char *path = src->path;
	struct probe pr;
	struct probe_disk *d;
	struct fix_volume *vols = NULL;
	struct opened op = {0};
	struct guest root;
	struct fix_ctx c;
	size_t nvols = 0;
	int err, fix_fstab_bit = -1;

	if (!src->cow)
		return ferr(-EINVAL, "internal: the fix stage needs the copy-on-write overlay");
	err = probe_disks(&pr, &path, 1);
	if (err)
		return err;
	d = &pr.disks[0];
	if (pr.root.disk < 0) {
		ferry_warn("%s: no root filesystem found (an ext2/3/4 filesystem whose /etc/fstab "
			   "mounts it at /): nothing fixed; the image may not boot on KVM",
			   src->path);
		err = fix_note(rep, "", src->path, "no root filesystem found: nothing fixed");
		goto out_probe;
	}
	for (size_t i = 0; i < fix_nrules; i++)
		if (!strcmp(fix_rules[i].name, "fstab"))
			fix_fstab_bit = (int)i;

	vols = calloc(d->nparts ? d->nparts : 1, sizeof(*vols));
	if (!vols) {
		err = ferr(-ENOMEM, "out of memory");
		goto out_probe;
	}
	for (size_t i = 0; i < d->nparts; i++) {
		const struct probe_part *pp = &d->parts[i];

		if (pp->part->kind == PART_EXTENDED)
			continue;
		add_volume(&vols[nvols], pp);
		/* A hibernated swap area has no swap signature: fs is unknown. */
		if ((pp->fs == FS_SWAP || pp->fs == FS_UNKNOWN) && fix_fstab_bit >= 0 &&
		    (mask & (1u << fix_fstab_bit))) {
			err = fix_swap(src, pp, rep, &vols[nvols]);
			if (err)
				goto out_vols;
		}
		if (vols[nvols].fs[0] && strcmp(vols[nvols].fs, fs_type_name(FS_UNKNOWN)))
			nvols++;
	}

	err = open_fs(src, &d->parts[pr.root.part], &op.x[0], rep);
	if (err)
		goto out_vols;
	op.n = 1;
	err = guest_ext_open(&root, &op.x[0]);
	if (err)
		goto out_close;
	memset(&c, 0, sizeof(c));
	c.root_part = d->parts[pr.root.part].part->num;
	for (size_t m = 0; m < sizeof(mounts) / sizeof(mounts[0]); m++) {
		int p = probe_mount_part(&pr, mounts[m]);
		struct guest *sub;

		if (p < 0 || p == pr.root.part || !fs_is_ext(d->parts[p].fs))
			continue;
		err = open_fs(src, &d->parts[p], &op.x[op.n], rep);
		if (err)
			goto out_guest;
		op.n++;
		sub = calloc(1, sizeof(*sub));
		if (!sub) {
			err = ferr(-ENOMEM, "out of memory");
			goto out_guest;
		}
		err = guest_ext_open(sub, &op.x[op.n - 1]);
		if (!err)
			err = guest_mount(&root, mounts[m], sub);
		if (err) {
			free(sub);
			goto out_guest;
		}
		if (!strcmp(mounts[m], "/boot"))
			c.boot_part = d->parts[p].part->num;
	}

	c.g = &root;
	c.vols = vols;
	c.nvols = nvols;
	c.cloud = cloud;
	c.rep = rep;
	err = fix_run(&c, mask);
out_guest:
	guest_release(&root);
out_close:
	/* Closing writes the superblocks and bitmaps the edits changed. */
	while (op.n > 0) {
		op.n--;
		if (err)
			extfs_release(&op.x[op.n]);
		else
			err = extfs_close_copy(&op.x[op.n]);
	}
out_vols:
	free(vols);
out_probe:
	probe_release(&pr);
	return err;
}
