/* Disk probing for `ferry scan` and `ferry capture auto`: everything is
 * read through libparted, libext2fs and Ferry's own readers (XFS, swap) on
 * read-only sources; nothing is mounted. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "disk/probe.h"
#include "fs/devname.h"
#include "fs/extfs.h"
#include "fs/fat.h"
#include "fs/fstab.h"
#include "fs/swap.h"
#include "fs/xfs.h"
#include "util/endian.h"
#include "util/err.h"

#define CONFIG_MAX (1u << 20)

static const char *const grub_configs[] = {
	"/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", "/grub/grub.cfg", "/grub2/grub.cfg",
};

/* A file of a filesystem the probe opened: 0, -ENOENT when there is no
 * regular file at path, or an error with a message. */
typedef int (*probe_read_fn)(void *fs, const char *path, size_t max, char **data, size_t *len);

/* What says whether a filesystem is the system's: /etc/fstab (a root) and
 * the first GRUB config found (a root holding /boot, or a /boot). A file
 * that is there but cannot be read is warned about: the root may be missed
 * because of it. */
static void probe_files(struct probe_part *pp, probe_read_fn read, void *fs)
{
	size_t len;
	int err;

	err = read(fs, "/etc/fstab", CONFIG_MAX, &pp->fstab, &len);
	if (err && err != -ENOENT && err != -ENOTDIR)
		ferry_warn("%s", ferr_msg());
	if (err) {
		free(pp->fstab);
		pp->fstab = NULL;
	}
	for (size_t i = 0; i < sizeof(grub_configs) / sizeof(grub_configs[0]) && !pp->grub; i++) {
		err = read(fs, grub_configs[i], CONFIG_MAX, &pp->grub, &len);
		if (!err)
			snprintf(pp->grub_path, sizeof(pp->grub_path), "%s", grub_configs[i]);
		else if (err != -ENOENT && err != -ENOTDIR)
			ferry_warn("%s", ferr_msg());
		if (err) {
			free(pp->grub);
			pp->grub = NULL;
		}
	}
}

static int read_ext(void *fs, const char *path, size_t max, char **data, size_t *len)
{
	return extfs_read_file(fs, path, max, data, len);
}

static void probe_ext(struct probe_part *pp)
{
	struct extfs x;
	struct extfs_info info;

	if (extfs_open(&x, &pp->dev)) {
		ferry_warn("%s", ferr_msg());
		snprintf(pp->why, sizeof(pp->why), "%s", ferr_msg());
		return;
	}
	extfs_get_info(&x, &info);
	snprintf(pp->label, sizeof(pp->label), "%s", info.label);
	snprintf(pp->uuid, sizeof(pp->uuid), "%s", info.uuid);
	pp->have_used = true;
	pp->used = info.used;
	pp->needs_recovery = info.needs_recovery;
	probe_files(pp, read_ext, &x);
	extfs_release(&x);
}

static int read_xfs(void *fs, const char *path, size_t max, char **data, size_t *len)
{
	int err = xfs_read(fs, path, max, data, len);

	/* As extfs_read_file: what is not a regular file is not there. */
	return err == -EISDIR ? -ENOENT : err;
}

/* XFS: what the superblock, the AG headers and the log say, then its files
 * as Ferry's own reader finds them. A log that needs recovery is not
 * replayed: the files are read as their blocks hold them. */
static void probe_xfs(struct probe_part *pp)
{
	struct xfs_info info;
	struct xfs_fs *x;

	if (xfs_get_info(&pp->dev, &info)) {
		ferry_warn("%s", ferr_msg());
		snprintf(pp->why, sizeof(pp->why), "%s", ferr_msg());
		return;
	}
	snprintf(pp->label, sizeof(pp->label), "%s", info.label);
	snprintf(pp->uuid, sizeof(pp->uuid), "%s", info.uuid);
	pp->have_used = true;
	pp->used = info.used;
	pp->needs_recovery = info.needs_recovery;
	/* Its used blocks are known: a file reader that cannot start only
	 * means that its files are not read. */
	if (xfs_open(&x, &pp->dev)) {
		ferry_warn("%s", ferr_msg());
		return;
	}
	probe_files(pp, read_xfs, x);
	xfs_free(x);
}

/* fstab names an EFI system partition by its volume serial (UUID=5EED-1E55). */
static void probe_fat(struct probe_part *pp)
{
	struct fat_info info;
	struct fat_fs *f;

	if (fatfs_open(&f, &pp->dev, false)) {
		ferry_warn("%s", ferr_msg());
		snprintf(pp->why, sizeof(pp->why), "%s", ferr_msg());
		return;
	}
	fatfs_get_info(f, &info);
	snprintf(pp->label, sizeof(pp->label), "%s", info.label);
	snprintf(pp->uuid, sizeof(pp->uuid), "%s", info.uuid);
	pp->have_used = true;
	pp->used = info.used;
	fatfs_free(f);
}

/* fstab names swap areas by the UUID and label of their header. */
static void probe_swap(struct probe_part *pp)
{
	struct swap_header h;

	if (swap_read(&pp->dev, &h) == 0 && h.page && !h.hibernated) {
		snprintf(pp->uuid, sizeof(pp->uuid), "%s", h.uuid);
		snprintf(pp->label, sizeof(pp->label), "%s", h.label);
	}
}

/* Reads what is on a volume: its filesystem's label, UUID and use, and the
 * system's files on an ext or XFS filesystem. */
static void probe_content(struct probe_part *pp)
{
	pp->fs = fs_detect(&pp->dev);
	if (fs_is_ext(pp->fs))
		probe_ext(pp);
	else if (pp->fs == FS_SWAP)
		probe_swap(pp);
	else if (pp->fs == FS_XFS)
		probe_xfs(pp);
	else if (pp->fs == FS_VFAT)
		probe_fat(pp);
}

static int probe_one(struct probe_disk *d, const char *path, struct cow *cow)
{
	struct blkdev whole;
	uint8_t mbr[512];
	uint32_t disk_id = 0;
	char name[96];
	int err;

	err = source_open(&d->src, path);
	if (err)
		return err;
	d->src.cow = cow;
	err = table_read(&d->src, &d->table);
	if (err)
		goto out_source;
	if (d->table.type == TABLE_MSDOS && source_pread(&d->src, mbr, sizeof(mbr), 0) == 0)
		disk_id = get_le32(mbr + 440);
	if (d->table.type == TABLE_NONE) {
		err = blk_window(&whole, &d->src, 0, d->src.size, false, d->src.path);
		if (err)
			goto out_table;
		d->whole_fs = fs_detect(&whole);
		return 0;
	}
	d->parts = calloc(d->table.nparts ? d->table.nparts : 1, sizeof(*d->parts));
	if (!d->parts) {
		err = ferr(-ENOMEM, "out of memory");
		goto out_table;
	}
	d->nparts = d->table.nparts;
	for (size_t i = 0; i < d->nparts; i++) {
		struct probe_part *pp = &d->parts[i];
		pp->part = &d->table.parts[i];
		if (pp->part->kind == PART_EXTENDED)
			continue;
		if (disk_id)
			snprintf(pp->partuuid, sizeof(pp->partuuid), "%08x-%02x", disk_id,
				 pp->part->num);
		else if (pp->part->guid[0])
			snprintf(pp->partuuid, sizeof(pp->partuuid), "%s", pp->part->guid);
		snprintf(name, sizeof(name), "%s partition %d", d->src.path, pp->part->num);
		err = blk_window(&pp->dev, &d->src, pp->part->start, pp->part->size, false, name);
		if (err)
			goto out_parts;
		probe_content(pp);
	}
	d->nvols = d->nparts;
	return 0;

out_parts:
	free(d->parts);
	d->parts = NULL;
	d->nparts = d->nvols = 0;
out_table:
	table_release(&d->table);
out_source:
	source_release(&d->src);
	return err;
}

static void release_disk(struct probe_disk *d)
{
	for (size_t i = 0; i < d->nvols; i++) {
		free(d->parts[i].fstab);
		free(d->parts[i].grub);
	}
	free(d->parts);
	table_release(&d->table);
	source_release(&d->src);
}

static void release_disks(struct probe *pr)
{
	for (size_t i = 0; i < pr->n; i++)
		release_disk(&pr->disks[i]);
	free(pr->disks);
	pr->disks = NULL;
	pr->n = 0;
}

void probe_release(struct probe *pr)
{
	release_disks(pr);
	lvm_set_release(&pr->lvm);
	free(pr->pv_at);
	warn_list_release(&pr->warnings);
	memset(pr, 0, sizeof(*pr));
}

/* Keeps the probe's warnings, and passes them on to whoever listened
 * before (a capture's own handler). */
static void keep_warning(const char *msg, void *arg)
{
	struct probe *pr = arg;

	if (warn_list_add(&pr->warnings, msg))
		ferry_warn_pass(&pr->scope, msg);
}

/* Finds the partition an fstab spec or root= value names. A kernel device
 * name is taken to mean the partition with that number on the disk the
 * naming filesystem is on: the name itself says nothing about the disk. */
static bool resolve(const struct probe *pr, const char *spec, int home_disk, int *di, int *pi,
		    const char **how)
{
	const char *v;
	enum spec_kind kind = fstab_spec_parse(spec, &v);
	int num = kind == SPEC_DEVNAME ? devname_partnum(v) : -1;
	struct devref ref;

	/* /dev/disk/by-id/...-partN and by-path: the number, as a kernel name. */
	devref_parse(v, &ref);
	if (kind == SPEC_OTHER && (ref.scheme == DEV_BYID || ref.scheme == DEV_BYPATH) &&
	    ref.partnum > 0) {
		kind = SPEC_DEVNAME;
		num = ref.partnum;
	}

	for (size_t d = 0; d < pr->n; d++) {
		for (size_t p = 0; p < pr->disks[d].nvols; p++) {
			const struct probe_part *pp = &pr->disks[d].parts[p];
			bool hit = false;

			switch (kind) {
			case SPEC_UUID: hit = pp->uuid[0] && !strncasecmp(pp->uuid, v, 36); break;
			case SPEC_LABEL: hit = pp->label[0] && !strcmp(pp->label, v); break;
			case SPEC_PARTUUID:
				hit = pp->partuuid[0] && !strncasecmp(pp->partuuid, v, strlen(pp->partuuid)) &&
				      !isxdigit((unsigned char)v[strlen(pp->partuuid)]);
				break;
			case SPEC_PARTLABEL:
				hit = pp->part && pp->part->name[0] && !strcmp(pp->part->name, v);
				break;
			case SPEC_DEVNAME:
				hit = (int)d == home_disk && pp->part && pp->part->num == num;
				break;
			case SPEC_OTHER: hit = pp->lv && lvm_names_lv(v, pp->vg, pp->lv); break;
			}
			if (hit) {
				*di = (int)d;
				*pi = (int)p;
				*how = kind == SPEC_DEVNAME ? " (a device name: taken as partition "
							      "number on the same disk)" : "";
				return true;
			}
		}
	}
	return false;
}

static void find_system(struct probe *pr)
{
	pr->root.disk = pr->boot.disk = -1;
	for (size_t d = 0; d < pr->n && pr->root.disk < 0; d++) {
		for (size_t p = 0; p < pr->disks[d].nvols; p++) {
			struct probe_part *pp = &pr->disks[d].parts[p];
			char spec[256], bspec[256], kroot[256], name[LVM_NAME_MAX * 2 + 32];
			const char *how = "";
			int rd, rp;

			if (!pp->fstab || fstab_find(pp->fstab, "/", spec, sizeof(spec)))
				continue;
			if (!resolve(pr, spec, (int)d, &rd, &rp, &how) || rd != (int)d || rp != (int)p)
				continue;
			pr->root.disk = rd;
			pr->root.part = rp;
			snprintf(pr->root.reason, sizeof(pr->root.reason),
				 "its /etc/fstab mounts %s at /%s", spec, how);
			if (fstab_find(pp->fstab, "/boot", bspec, sizeof(bspec)) == 0) {
				int bd, bp;
				if (resolve(pr, bspec, (int)d, &bd, &bp, &how)) {
					pr->boot.disk = bd;
					pr->boot.part = bp;
					snprintf(pr->boot.reason, sizeof(pr->boot.reason),
						 "/etc/fstab on %s mounts %s at /boot%s",
						 probe_part_name(pp, name, sizeof(name)), bspec, how);
				} else {
					snprintf(pr->boot.reason, sizeof(pr->boot.reason),
						 "/etc/fstab mounts %s at /boot, but no disk has it", bspec);
				}
			} else {
				pr->boot.disk = rd;
				pr->boot.part = rp;
				snprintf(pr->boot.reason, sizeof(pr->boot.reason),
					 "no /boot entry in /etc/fstab: /boot is on the root filesystem");
			}
			if (pr->boot.disk >= 0) {
				const struct probe_part *bpp = &pr->disks[pr->boot.disk].parts[pr->boot.part];
				size_t n = strlen(pr->boot.reason);
				if (bpp->grub && fstab_cmdline_find(bpp->grub, "root", kroot, sizeof(kroot)) == 0)
					snprintf(pr->root.reason + strlen(pr->root.reason),
						 sizeof(pr->root.reason) - strlen(pr->root.reason),
						 "; %s boots root=%s", bpp->grub_path, kroot);
				if (bpp->grub)
					snprintf(pr->boot.reason + n, sizeof(pr->boot.reason) - n,
						 "; it holds %s", bpp->grub_path);
			}
			break;
		}
	}
}

int probe_mount_part(const struct probe *pr, const char *mountpoint)
{
	const struct probe_part *root;
	char spec[256];
	const char *how;
	int d, p;

	if (pr->root.disk < 0)
		return -1;
	root = &pr->disks[pr->root.disk].parts[pr->root.part];
	if (!root->fstab || fstab_find(root->fstab, mountpoint, spec, sizeof(spec)))
		return -1;
	if (!resolve(pr, spec, pr->root.disk, &d, &p, &how) || d != pr->root.disk)
		return -1;
	return p;
}

const char *probe_part_name(const struct probe_part *pp, char *buf, size_t size)
{
	if (pp->lv)
		snprintf(buf, size, "logical volume %s/%s", pp->vg->name, pp->lv->name);
	else
		snprintf(buf, size, "partition %d", pp->part->num);
	return buf;
}

const struct probe_part *probe_lv_part(const struct probe *pr, const struct lvm_lv *lv)
{
	for (size_t d = 0; d < pr->n; d++)
		for (size_t p = pr->disks[d].nparts; p < pr->disks[d].nvols; p++)
			if (pr->disks[d].parts[p].lv == lv)
				return &pr->disks[d].parts[p];
	return NULL;
}

/* The volume groups on the disks' partitions: each PV partition learns its
 * group, and each visible logical volume that lies whole on one disk is
 * probed like a partition, after the disk's partitions. */
static int probe_lvm(struct probe *pr)
{
	struct probe_part **owner;
	struct blkdev *devs;
	size_t n = 0, k = 0;
	int err;

	for (size_t d = 0; d < pr->n; d++)
		for (size_t p = 0; p < pr->disks[d].nparts; p++)
			n += pr->disks[d].parts[p].fs == FS_LVM2;
	if (n == 0)
		return 0;
	devs = calloc(n, sizeof(*devs));
	owner = calloc(n, sizeof(*owner));
	pr->pv_at = calloc(n, sizeof(*pr->pv_at));
	if (!devs || !owner || !pr->pv_at) {
		free(devs);
		free(owner);
		return ferr(-ENOMEM, "out of memory");
	}
	for (size_t d = 0; d < pr->n; d++)
		for (size_t p = 0; p < pr->disks[d].nparts; p++)
			if (pr->disks[d].parts[p].fs == FS_LVM2) {
				pr->pv_at[k] = (struct probe_loc){.disk = (int)d, .part = (int)p};
				owner[k] = &pr->disks[d].parts[p];
				devs[k++] = pr->disks[d].parts[p].dev;
			}
	err = lvm_set_read(&pr->lvm, devs, n);
	for (size_t g = 0; !err && g < pr->lvm.nvgs; g++)
		for (size_t i = 0; i < pr->lvm.vgs[g].npvs; i++)
			if (pr->lvm.vgs[g].pvs[i].dev >= 0)
				owner[pr->lvm.vgs[g].pvs[i].dev]->vg = &pr->lvm.vgs[g];
	free(owner);
	free(devs);
	for (size_t g = 0; !err && g < pr->lvm.nvgs; g++) {
		const struct lvm_vg *vg = &pr->lvm.vgs[g];

		for (size_t l = 0; !err && l < vg->nlvs; l++) {
			const struct lvm_lv *lv = &vg->lvs[l];
			struct probe_disk *d = NULL;
			struct probe_part *pp;

			for (size_t i = 0; i < pr->n && lv->ext; i++)
				if (&pr->disks[i].src == lv->src)
					d = &pr->disks[i];
			if (!d || !lv->visible)
				continue;
			pp = realloc(d->parts, (d->nvols + 1) * sizeof(*pp));
			if (!pp)
				return ferr(-ENOMEM, "out of memory");
			d->parts = pp;
			pp = &d->parts[d->nvols];
			memset(pp, 0, sizeof(*pp));
			pp->vg = vg;
			pp->lv = lv;
			err = lvm_lv_dev(&pp->dev, vg, lv, false);
			if (err)
				break;
			d->nvols++;
			probe_content(pp);
		}
	}
	return err;
}

static bool skip_sysblock(const char *name)
{
	static const char *const skip[] = {"loop", "ram", "zram", "sr", "dm-", "fd", "nbd"};

	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (strncmp(name, skip[i], strlen(skip[i])) == 0)
			return true;
	return false;
}

static int list_sysblock(char ***out, size_t *n)
{
	DIR *dir = opendir("/sys/block");
	struct dirent *de;
	char **v = NULL;

	*n = 0;
	if (!dir)
		return ferr_errno(-errno, "cannot list /sys/block");
	while ((de = readdir(dir)) != NULL) {
		char **nv;
		if (de->d_name[0] == '.' || skip_sysblock(de->d_name))
			continue;
		nv = realloc(v, (*n + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		if (asprintf(&v[*n], "/dev/%s", de->d_name) < 0)
			break;
		(*n)++;
	}
	closedir(dir);
	*out = v;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int probe_disks(struct probe *pr, char *const *paths, size_t n)
{
	char **listed = NULL;
	size_t nlisted = 0;
	int err = 0;

	memset(pr, 0, sizeof(*pr));
	ferry_warn_push(&pr->scope, keep_warning, pr);
	if (n == 0) {
		err = list_sysblock(&listed, &nlisted);
		if (err)
			goto out;
		if (nlisted > 1)
			qsort(listed, nlisted, sizeof(*listed), cmp_str);
		paths = listed;
		n = nlisted;
	}
	pr->disks = calloc(n ? n : 1, sizeof(*pr->disks));
	if (!pr->disks) {
		err = ferr(-ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		err = probe_one(&pr->disks[pr->n], paths[i], NULL);
		if (err && listed) {
			ferry_warn("skipping %s: %s", paths[i], ferr_msg());
			err = 0;
			continue;
		}
		if (err)
			break;
		pr->n++;
	}
	if (!err)
		err = probe_lvm(pr);
	if (!err)
		find_system(pr);
	else
		release_disks(pr);
out:
	ferry_warn_pop(&pr->scope);
	for (size_t i = 0; i < nlisted; i++)
		free(listed[i]);
	free(listed);
	return err;
}

int probe_copy(struct probe *pr, const char *path, struct cow *cow)
{
	int err;

	memset(pr, 0, sizeof(*pr));
	pr->disks = calloc(1, sizeof(*pr->disks));
	if (!pr->disks)
		return ferr(-ENOMEM, "out of memory");
	err = probe_one(&pr->disks[0], path, cow);
	if (err) {
		probe_release(pr);
		return err;
	}
	pr->n = 1;
	err = probe_lvm(pr);
	if (err) {
		probe_release(pr);
		return err;
	}
	find_system(pr);
	return 0;
}
