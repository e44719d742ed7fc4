/* The checks of one system, opened on its copy (fix/stage.h): the disk and
 * its partitions, the operating system, the files no capture rule changes,
 * and, through the capture rules run on the throwaway copy, what a capture
 * would fix. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/system.h"
#include "fs/fstab.h"
#include "disk/plan.h"
#include "util/bytes.h"
#include "util/err.h"
#include "util/size.h"

static enum check_sev allowed(bool ok)
{
	return ok ? CHECK_INFO : CHECK_BLOCKER;
}

static bool has_flag(const char *flags, const char *flag)
{
	return cloud_list_has(flags, flag);
}

/* The code of a logical volume Ferry cannot map. */
static const char *lv_code(const struct lvm_lv *lv)
{
	switch (lv->kind) {
	case LVM_THIN: return "lvm.thin";
	case LVM_RAID: return "lvm.raid";
	case LVM_CACHE: return "lvm.cache";
	case LVM_SNAPSHOT: return "lvm.snapshot";
	case LVM_OTHER: return "lvm.unsupported";
	case LVM_LINEAR:
	case LVM_STRIPED: break;
	}
	return "lvm.pv-missing";
}

/* The volume groups with a PV on the system disk: each is kept and read
 * only when every logical volume in it can be mapped onto this disk. */
static int check_lvm(const struct stage *s, struct check_report *r)
{
	const struct probe_disk *d = &s->pr.disks[0];
	int err = 0;

	for (size_t i = 0; !err && i < d->nparts; i++) {
		const struct probe_part *pp = &d->parts[i];

		if (pp->fs == FS_LVM2 && !pp->vg)
			err = check_raise(r, "lvm.unreadable", s->src->path, "partition %d is an LVM "
					  "physical volume in no volume group Ferry can read",
					  pp->part->num);
	}
	for (size_t g = 0; !err && g < s->pr.lvm.nvgs; g++) {
		const struct lvm_vg *vg = &s->pr.lvm.vgs[g];
		bool here = false;
		int pvpart = 0;

		for (size_t i = 0; i < d->nparts; i++)
			if (d->parts[i].vg == vg) {
				here = true;
				pvpart = d->parts[i].part->num;
			}
		if (!here)
			continue;
		err = check_raise(r, "disk.lvm", s->src->path, "volume group %s (partition %d)",
				  vg->name, pvpart);
		for (size_t l = 0; !err && l < vg->nlvs; l++) {
			const struct lvm_lv *lv = &vg->lvs[l];

			if (lv->unmapped[0])
				err = check_raise(r, lv_code(lv), s->src->path, "logical volume %s/%s: %s",
						  vg->name, lv->name, lv->unmapped);
		}
	}
	return err;
}

/* The table, UEFI, encrypted and LVM partitions. */
static int check_partitions(const struct stage *s, struct check_report *r)
{
	const struct cloud_profile *p = r->profile;
	const struct probe_disk *d = &s->pr.disks[0];
	uint8_t mbr[440];
	int esp = 0, bios_grub = 0, err = 0;
	bool boot_code;

	if (d->table.type == TABLE_GPT)
		err = check_raise_sev(r, "table.gpt", allowed(p->gpt), s->src->path,
				      "GPT partition table");
	for (size_t i = 0; !err && i < d->nparts; i++) {
		const struct probe_part *pp = &d->parts[i];

		if (has_flag(pp->part->flags, "esp") || pp->part->type_id == 0xef)
			esp = pp->part->num;
		if (has_flag(pp->part->flags, "bios_grub"))
			bios_grub = pp->part->num;
		if (pp->fs == FS_LUKS)
			err = check_raise(r, "disk.luks", s->src->path, "partition %d is LUKS",
					  pp->part->num);
	}
	if (!err)
		err = check_lvm(s, r);
	if (err || !esp)
		return err;
	boot_code = source_pread(s->src, mbr, sizeof(mbr), 0) == 0 && !bytes_zero(mbr, sizeof(mbr));
	if (d->table.type == TABLE_GPT ? bios_grub : boot_code)
		return check_raise_sev(r, "boot.efi", CHECK_INFO, s->src->path,
				       "EFI system partition %d, and BIOS boot code too", esp);
	return check_raise_sev(r, "boot.efi", allowed(p->efi), s->src->path,
			       "boots by UEFI only: EFI system partition %d, no BIOS boot code", esp);
}

/* The system's filesystems: types, state, free space. */
static int check_filesystems(const struct stage *s, struct check_report *r)
{
	static const char *const mounts[] = {"/", "/boot", "/usr", "/var"};
	const struct probe_disk *d = &s->pr.disks[0];
	const char *root_fstab = d->parts[s->pr.root.part].fstab;
	char spec[256];
	int err = 0;

	for (size_t m = 0; !err && m < sizeof(mounts) / sizeof(mounts[0]); m++) {
		int i = m == 0 ? s->pr.root.part : probe_mount_part(&s->pr, mounts[m]);
		const struct probe_part *pp;
		char where[LVM_NAME_MAX * 2 + 32];
		const char *fs;

		if (m > 0 && i < 0 && root_fstab && !fstab_find(root_fstab, mounts[m], spec,
								 sizeof(spec)))
			err = check_raise(r, "boot.elsewhere", "/etc/fstab", "%s is mounted from %s, "
					  "which is not on %s", mounts[m], spec, s->src->path);
		if (i < 0 || (m > 0 && i == s->pr.root.part))
			continue;
		pp = &d->parts[i];
		fs = fs_type_name(pp->fs);
		probe_part_name(pp, where, sizeof(where));
		if (m == 0 && !cloud_list_has(r->profile->filesystems, fs))
			err = check_raise(r, "fs.unsupported", s->src->path,
					  "/ is %s on %s; the cloud takes %s", fs, where,
					  r->profile->filesystems);
		/* Kernels, initrds and the boot loader's files live in / and
		 * /boot: unedited, nothing says the image boots on virtio. One
		 * read without the kernel is judged, but the fixes that would
		 * change it are not tried (stage_fix). */
		if (!err && !fs_is_ext(pp->fs) && !stage_opened(s, pp)) {
			char how[sizeof(s->readonly_why) + 100] = "";

			if (stage_readonly(s, pp))
				snprintf(how, sizeof(how), ": its files are read and judged, but the "
					 "fixes that would change them are not tried (%s)",
					 s->readonly_why);
			err = check_raise_sev(r, "fs.noedit", m < 2 ? CHECK_BLOCKER : CHECK_WARNING,
					      s->src->path, "%s is %s on %s%s", mounts[m], fs, where,
					      how);
		}
	}
	for (size_t i = 0; !err && i < d->nvols; i++)
		if (d->parts[i].why[0])
			err = check_raise(r, "fs.unreadable", s->src->path, "%s", d->parts[i].why);
	for (size_t i = 0; !err && i < s->nx; i++)
		if (s->fs[i].errors)
			err = check_raise(r, "fs.errors", s->src->path,
					  "%s is marked as having errors", s->fs[i].where);
	return err;
}


const char *check_part_needed(const struct stage *s, const struct probe_part *pp)
{
	static const char *const needed[] = {"/", "/boot", "/usr", "/var", "/boot/efi", "/efi"};
	const struct probe_disk *d = &s->pr.disks[0];

	if (!pp->part || pp->part->kind == PART_EXTENDED)
		return "an extended partition";
	if (pp->fs == FS_LVM2 || pp->vg)
		return "an LVM physical volume";
	if (s->pr.root.disk == 0 && &d->parts[s->pr.root.part] == pp)
		return "/";
	for (size_t k = 0; k < sizeof(needed) / sizeof(needed[0]); k++) {
		int p = probe_mount_part(&s->pr, needed[k]);

		if (p >= 0 && &d->parts[p] == pp)
			return needed[k];
	}
	return NULL;
}

/* What a partition holds, as the image would (swap: its header page). */
static uint64_t part_bytes(const struct probe_part *pp)
{
	return pp->have_used ? pp->used : pp->fs == FS_SWAP ? 4096 : pp->dev.size;
}

/* The disk's size, and the image's as the cloud measures it: the used
 * blocks, the boot gap, whatever Ferry copies whole. Partitions left out
 * (--exclude) count for nothing; past the limit, the data partition whose
 * exclusion would bring the image under it is named. */
static int check_sizes(const struct stage *s, struct check_report *r, const char *format)
{
	const struct cloud_profile *p = r->profile;
	const struct probe_disk *d = &s->pr.disks[0];
	/* what the image's virtual size will be */
	uint64_t virt = d->nparts ? plan_image_size(&d->table, s->src->size) : s->src->size, actual = 0;
	char b1[16], b2[16], b3[16];
	int err = 0;

	if ((p->max_virtual && virt > p->max_virtual) || (p->min_virtual && virt < p->min_virtual))
		err = check_raise(r, "size.virtual", s->src->path, "the image will be %s (the disk "
				  "to the end of its last partition); the cloud takes %s to %s",
				  fmt_bytes(b1, sizeof(b1), virt),
				  fmt_bytes(b2, sizeof(b2), p->min_virtual),
				  p->max_virtual ? fmt_bytes(b3, sizeof(b3), p->max_virtual) : "any size");
	/* A PV counts as its logical volumes (and their group's metadata,
	 * which is small) when they are read. */
	for (size_t i = 0; i < d->nvols; i++) {
		const struct probe_part *pp = &d->parts[i];

		if ((pp->part && pp->part->kind == PART_EXTENDED) || (pp->vg && !pp->lv) ||
		    (pp->part && part_set_has(&s->exclude, pp->part->num)))
			continue;
		actual += part_bytes(pp);
	}
	for (size_t i = 0; i < d->nparts; i++)
		if (d->parts[i].fs == FS_LVM2 && !d->parts[i].vg)
			actual += d->parts[i].dev.size;
	if (d->nparts)
		actual += d->parts[0].part->start;
	if (!err && p->max_actual && actual > p->max_actual) {
		bool fast = p->max_actual_fast && actual <= p->max_actual_fast;
		const struct probe_part *best = NULL;
		char hint[200] = "";

		/* the smallest data partition that is enough to leave out */
		for (size_t i = 0; i < d->nparts; i++) {
			const struct probe_part *pp = &d->parts[i];

			if (pp->part && !part_set_has(&s->exclude, pp->part->num) &&
			    !check_part_needed(s, pp) && actual - part_bytes(pp) <= p->max_actual &&
			    (!best || part_bytes(pp) < part_bytes(best)))
				best = pp;
		}
		if (best)
			snprintf(hint, sizeof(hint), "; --exclude %d (partition %d, %s, about %s) "
				 "leaves about %s", best->part->num, best->part->num,
				 fs_type_name(best->fs), fmt_bytes(b3, sizeof(b3), part_bytes(best)),
				 fmt_bytes(b2, sizeof(b2), actual - part_bytes(best)));
		err = check_raise_sev(r, "size.actual", fast ? CHECK_WARNING : CHECK_BLOCKER,
				      s->src->path, "the image would hold about %s; the import takes "
				      "%s%s%s%s%s", fmt_bytes(b1, sizeof(b1), actual),
				      fmt_bytes(b2, sizeof(b2), p->max_actual),
				      p->actual_as ? " (measured as " : "", p->actual_as ? p->actual_as : "",
				      p->actual_as ? ")" : "", hint);
		if (!err && fast && format && !cloud_list_has(p->fast_formats, format))
			err = check_raise(r, "format.unsupported", NULL, "%s: images over %s go "
					  "through the fast import, which takes %s", format,
					  fmt_bytes(b1, sizeof(b1), p->max_actual), p->fast_formats);
	}
	if (!err && format && !cloud_list_has(p->formats, format))
		err = check_raise(r, "format.unsupported", NULL, "%s: the import takes %s", format,
				  p->formats);
	return err;
}

/* Without a root found, what on the disk may hold one that Ferry does not
 * read: each its own code, with root.missing. */
static int check_no_root(const struct stage *s, struct check_report *r)
{
	const struct probe_disk *d = &s->pr.disks[0];
	char where[LVM_NAME_MAX * 2 + 32], spec[256];
	int err = 0;

	for (size_t i = 0; !err && i < d->nvols; i++) {
		const struct probe_part *pp = &d->parts[i];

		probe_part_name(pp, where, sizeof(where));
		if (pp->fs == FS_BTRFS)
			err = check_raise(r, "root.btrfs", s->src->path, "%s is btrfs", where);
		else if (pp->fs == FS_MDRAID)
			err = check_raise(r, "root.mdraid", s->src->path, "%s is an md RAID member",
					  where);
		else if (pp->fs == FS_LUKS)
			err = check_raise(r, "disk.luks", s->src->path, "%s is LUKS", where);
		else if (pp->fstab && fstab_find(pp->fstab, "/", spec, sizeof(spec)) == 0 &&
			 (strstr(spec, "/mpath") || strstr(spec, "dm-uuid-mpath") ||
			  strstr(spec, "-mpath-")))
			err = check_raise(r, "root.multipath", "/etc/fstab", "%s on %s mounts %s at /",
					  fs_type_name(pp->fs), where, spec);
	}
	return err ? err : check_raise(r, "root.missing", s->src->path, "%s", s->why);
}

int check_system(struct stage *s, const char *format, struct check_report *r)
{
	int err;

	if (s->pr.root.disk < 0)
		return check_no_root(s, r);
	err = check_partitions(s, r);
	if (!err)
		err = check_filesystems(s, r);
	if (!err)
		err = check_sizes(s, r, format);
	if (err)
		return err;
	/* A root the kernel mounts that could not be: fs.noedit said so. */
	if (!s->have_root && !fs_is_ext(s->pr.disks[0].parts[s->pr.root.part].fs))
		return 0;
	if (!s->have_root)
		return check_raise(r, "fs.errors", s->src->path, "%s", s->why);
	err = check_os(s, r);
	if (!err)
		err = check_files(s, r);
	if (!err)
		err = check_network(s, r);
	return err;
}
