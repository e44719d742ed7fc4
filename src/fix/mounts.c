/* The fstab rule (mount the image's filesystems by UUID, disable the others)
 * and the device-name to volume mapping it shares with the bootloader rule. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fix/devname.h"
#include "fs/fstab.h"
#include "util/err.h"

#define FSTAB "/etc/fstab"
#define FSTAB_MAX (1u << 20)

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* A kernel whole-disk name: sdb, xvda, nvme0n1, cciss/c0d1, mmcblk0. */
static bool kernel_disk(const char *n)
{
	const char *p = n;

	if (has_prefix(n, "cciss/") || has_prefix(n, "ida/")) {
		p = strchr(n, '/') + 1;
		if (*p++ != 'c' || !isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
		if (*p++ != 'd' || !all_digits(p, strlen(p)))
			return false;
		return true;
	}
	if (has_prefix(n, "nvme") || has_prefix(n, "mmcblk")) {
		p = n + (n[0] == 'n' ? 4 : 6);
		while (isdigit((unsigned char)*p))
			p++;
		if (n[0] == 'm')
			return p > n + 6 && !*p;
		if (*p++ != 'n')
			return false;
		return all_digits(p, strlen(p));
	}
	if (has_prefix(n, "sd") || has_prefix(n, "hd") || has_prefix(n, "vd"))
		p = n + 2;
	else if (has_prefix(n, "xvd"))
		p = n + 3;
	else
		return false;
	if (!*p)
		return false;
	for (; *p; p++)
		if (!islower((unsigned char)*p))
			return false;
	return true;
}

void devref_parse(const char *name, struct devref *d)
{
	const char *n = name + 5;

	memset(d, 0, sizeof(*d));
	d->scheme = DEV_NONE;
	if (!has_prefix(name, "/dev/") || strlen(name) >= sizeof(d->base))
		return;
	if (has_prefix(n, "mapper/") || has_prefix(n, "dm-") || has_prefix(n, "md")) {
		d->scheme = DEV_VOLMGR;
		return;
	}
	if (has_prefix(n, "disk/by-id/") || has_prefix(n, "disk/by-path/")) {
		const char *id = strchr(n + 5, '/') + 1;
		const char *part = strstr(id, "-part");

		if (has_prefix(id, "dm-") || has_prefix(id, "md-") || has_prefix(id, "lvm-pv-")) {
			d->scheme = DEV_VOLMGR;
			return;
		}
		/* the last "-partN" ends the name */
		while (part && strstr(part + 1, "-part"))
			part = strstr(part + 1, "-part");
		d->scheme = n[8] == 'i' ? DEV_BYID : DEV_BYPATH;
		if (part && all_digits(part + 5, strlen(part + 5))) {
			d->partnum = atoi(part + 5);
			memcpy(d->base, name, (size_t)(part - name));
			d->base[part - name] = '\0';
		} else {
			snprintf(d->base, sizeof(d->base), "%s", name);
		}
		return;
	}
	if (has_prefix(n, "disk/"))
		return; /* by-uuid and such are not disk names */
	if (devname_partnum(name) > 0) {
		size_t end = strlen(name);

		while (end && isdigit((unsigned char)name[end - 1]))
			end--;
		if (end >= 2 && name[end - 1] == 'p' && isdigit((unsigned char)name[end - 2]))
			end--;
		d->scheme = DEV_KERNEL;
		d->partnum = devname_partnum(name);
		memcpy(d->base, name, end);
		d->base[end] = '\0';
		return;
	}
	if (kernel_disk(n)) {
		d->scheme = DEV_KERNEL;
		snprintf(d->base, sizeof(d->base), "%s", name);
		return;
	}
	/* /dev/VG/LV: LVM's own names */
	if (strchr(n, '/') && !has_prefix(n, "cciss/") && !has_prefix(n, "ida/"))
		d->scheme = DEV_VOLMGR;
}

/* One fstab line cut into its fields (pointers into the text). */
struct fsline {
	const char *f[6];
	size_t n[6];
	int nf;
	bool extra; /* more than six fields */
};

static void fsline_cut(const char *line, size_t len, struct fsline *fl)
{
	size_t i = 0;

	memset(fl, 0, sizeof(*fl));
	for (;;) {
		while (i < len && isspace((unsigned char)line[i]))
			i++;
		if (i >= len || (fl->nf == 0 && line[i] == '#'))
			return;
		if (fl->nf == 6) {
			fl->extra = true;
			return;
		}
		fl->f[fl->nf] = line + i;
		while (i < len && !isspace((unsigned char)line[i]))
			i++;
		fl->n[fl->nf] = (size_t)(line + i - fl->f[fl->nf]);
		fl->nf++;
	}
}

static void field(const struct fsline *fl, int i, char *buf, size_t len)
{
	size_t n = i < fl->nf ? fl->n[i] : 0;

	if (n >= len)
		n = len - 1;
	memcpy(buf, i < fl->nf ? fl->f[i] : "", n);
	buf[n] = '\0';
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

/* Entries whose first field is not a local disk: left exactly as they are. */
static bool not_a_disk(const char *spec, const char *type, const char *opts)
{
	static const char *const net[] = {"nfs", "nfs4", "cifs", "smbfs", "smb3", "glusterfs",
					  "ceph", "fuse.sshfs", "fuse.glusterfs", "fuse.ceph",
					  "9p", "davfs", "lustre", NULL};
	static const char *const pseudo[] = {"proc", "sysfs", "tmpfs", "devtmpfs", "devpts",
					     "securityfs", "cgroup", "cgroup2", "pstore", "debugfs",
					     "tracefs", "hugetlbfs", "mqueue", "configfs", "fusectl",
					     "binfmt_misc", "efivarfs", "selinuxfs", "rpc_pipefs",
					     "nfsd", "autofs", "ramfs", "usbfs", "bpf", NULL};
	const char *o = opts;

	if (in_list(type, net) || in_list(type, pseudo))
		return true;
	if (strstr(spec, ":/") || has_prefix(spec, "//"))
		return true;
	while (*o) {
		size_t n = strcspn(o, ",");
		if ((n == 4 && !strncmp(o, "bind", 4)) || (n == 5 && !strncmp(o, "rbind", 5)))
			return true;
		o += n + (o[n] == ',');
	}
	return !has_prefix(spec, "/dev/") && !has_prefix(spec, "UUID=") &&
	       !has_prefix(spec, "LABEL=") && !has_prefix(spec, "PARTUUID=");
}

/* fstab allows UUID="..." */
static void unquote(const char *v, char *out, size_t len)
{
	snprintf(out, len, "%s", v);
	if (*out && out[strlen(out) - 1] == '"')
		out[strlen(out) - 1] = '\0';
}

/* The volume a UUID=/LABEL=/PARTUUID= spec names, or NULL; false if spec is
 * not one of those. */
static bool spec_volume(const struct fix_ctx *c, const char *spec, const struct fix_volume **vol)
{
	const char *v;
	char val[128];
	enum spec_kind k = spec_parse(spec, &v);

	*vol = NULL;
	if (k != SPEC_UUID && k != SPEC_LABEL && k != SPEC_PARTUUID)
		return false;
	unquote(v, val, sizeof(val));
	for (size_t i = 0; i < c->nvols && !*vol; i++) {
		const struct fix_volume *x = &c->vols[i];

		if ((k == SPEC_UUID && x->uuid[0] && !strcasecmp(x->uuid, val)) ||
		    (k == SPEC_LABEL && x->label[0] && !strcmp(x->label, val)) ||
		    (k == SPEC_PARTUUID && x->partuuid[0] && !strcasecmp(x->partuuid, val)))
			*vol = x;
	}
	return true;
}

/* Where a name was seen; the system disk is the disk of the first of these
 * that is a disk name. */
enum source { SRC_OTHER, SRC_ROOT_ENTRY, SRC_BOOT_ENTRY, SRC_ROOT_ARG };

/* Evidence gathered for sysdisk_init: every disk name in use, and what each
 * volume is already used as by a name that says which volume it is. */
struct evidence {
	struct sysdisk *sd;
	struct {
		struct devref d;
		int vol;          /* index into c->vols, -1 if none */
		enum source src;
		char use[64];     /* mount point, "swap" */
		char from[96];    /* the file it was seen in */
	} items[128];
	size_t nitems;
	char (*use)[64];   /* per volume: the first use of a UUID=/LABEL= name of it */
	char primary[192]; /* the system disk's base, if something says */
	char from[128];
};

static int vol_index(const struct fix_ctx *c, const struct fix_volume *v)
{
	return v ? (int)(v - c->vols) : -1;
}

static void claim(struct evidence *ev, int vol, const char *use)
{
	if (vol >= 0 && !ev->use[vol][0])
		snprintf(ev->use[vol], sizeof(ev->use[vol]), "%s", use);
}

/* A volume named for one use cannot be another disk's partition used for
 * another (the same swap named twice is the same swap). */
static bool conflicts(const struct evidence *ev, int vol, const char *use)
{
	return vol >= 0 && ev->use[vol][0] && strcmp(ev->use[vol], use);
}

/* name is in use as use; rolepart is the partition that use must be
 * (root_part for /, boot_part for /boot, 0 if any). */
static void evidence_add(struct evidence *ev, const char *name, const char *use, int rolepart,
			 enum source src, const char *from)
{
	const struct fix_ctx *c = ev->sd->c;
	const struct fix_volume *v;
	struct devref d;
	size_t i = ev->nitems;

	if (spec_volume(c, name, &v)) {
		claim(ev, vol_index(c, v), use);
		return;
	}
	devref_parse(name, &d);
	if ((d.scheme != DEV_KERNEL && d.scheme != DEV_BYID && d.scheme != DEV_BYPATH) ||
	    i == sizeof(ev->items) / sizeof(ev->items[0]))
		return;
	ev->items[i].d = d;
	ev->items[i].vol =
		d.partnum ? vol_index(c, fix_volume_by_part(c, rolepart > 0 ? rolepart : d.partnum))
			  : -1;
	ev->items[i].src = src;
	snprintf(ev->items[i].use, sizeof(ev->items[i].use), "%s", use);
	snprintf(ev->items[i].from, sizeof(ev->items[i].from), "%s", from);
	ev->nitems++;
}

static int evidence_arg(const char *file, const char *key, const char *val, void *arg)
{
	struct evidence *ev = arg;

	if (val && !strcmp(key, "root"))
		evidence_add(ev, val, "/", ev->sd->c->root_part, SRC_ROOT_ARG, file);
	else if (val && !strcmp(key, "resume"))
		evidence_add(ev, val, "swap", 0, SRC_OTHER, file);
	return 0;
}

static bool same_mp(const char *mp, const char *want)
{
	size_t n = strlen(mp);

	while (n > 1 && mp[n - 1] == '/')
		n--;
	return strlen(want) == n && !strncmp(mp, want, n);
}

static void evidence_fstab(struct evidence *ev, const char *text, size_t len)
{
	const struct fix_ctx *c = ev->sd->c;
	const char *line;
	size_t pos = 0, n;

	while (text_next_line(text, len, &pos, &line, &n)) {
		char spec[256], mp[256], type[64], opts[256];
		enum source src = SRC_OTHER;
		struct fsline fl;
		int role = 0;

		fsline_cut(line, n, &fl);
		if (fl.nf < 2)
			continue;
		field(&fl, 0, spec, sizeof(spec));
		field(&fl, 1, mp, sizeof(mp));
		field(&fl, 2, type, sizeof(type));
		field(&fl, 3, opts, sizeof(opts));
		if (not_a_disk(spec, type, opts))
			continue;
		if (same_mp(mp, "/")) {
			role = c->root_part;
			src = SRC_ROOT_ENTRY;
		} else if (same_mp(mp, "/boot")) {
			role = c->boot_part;
			src = SRC_BOOT_ENTRY;
		}
		evidence_add(ev, spec, !strcmp(type, "swap") ? "swap" : mp, role, src, FSTAB);
	}
}

/* The first of / entry, /boot entry, root= that names a disk. */
static void find_primary(struct evidence *ev)
{
	static const struct {
		enum source src;
		const char *what;
	} order[] = {{SRC_ROOT_ENTRY, "the / entry of"},
		     {SRC_BOOT_ENTRY, "the /boot entry of"},
		     {SRC_ROOT_ARG, "root= in"}};

	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++)
		for (size_t i = 0; i < ev->nitems; i++)
			if (ev->items[i].src == order[o].src) {
				snprintf(ev->primary, sizeof(ev->primary), "%s", ev->items[i].d.base);
				snprintf(ev->from, sizeof(ev->from), "%s %s", order[o].what,
					 ev->items[i].from);
				return;
			}
}

/* Whether the names on base fit the image: one of them is an image volume
 * and none is a volume that something else already names. */
static bool plausible(const struct evidence *ev, const char *base)
{
	bool fits = false;

	for (size_t i = 0; i < ev->nitems; i++) {
		if (strcmp(ev->items[i].d.base, base) || ev->items[i].vol < 0)
			continue;
		if (conflicts(ev, ev->items[i].vol, ev->items[i].use))
			return false;
		fits = true;
	}
	return fits;
}

static void decide(struct sysdisk *sd, struct evidence *ev)
{
	enum dev_scheme pscheme = DEV_NONE;
	bool fits[16];

	for (size_t i = 0; i < ev->nitems; i++) {
		size_t k;

		for (k = 0; k < sd->ndisks; k++)
			if (!strcmp(sd->disks[k].base, ev->items[i].d.base))
				break;
		if (k == sd->ndisks && k < sizeof(sd->disks) / sizeof(sd->disks[0])) {
			snprintf(sd->disks[k].base, sizeof(sd->disks[k].base), "%s",
				 ev->items[i].d.base);
			sd->disks[k].scheme = ev->items[i].d.scheme;
			sd->disks[k].verdict = DISK_UNKNOWN;
			sd->ndisks++;
		}
		/* what the system disk's own names mean is taken */
		if (ev->primary[0] && !strcmp(ev->items[i].d.base, ev->primary))
			claim(ev, ev->items[i].vol, ev->items[i].use);
	}
	for (size_t k = 0; k < sd->ndisks; k++)
		fits[k] = !strcmp(sd->disks[k].base, ev->primary) || plausible(ev, sd->disks[k].base);
	for (size_t k = 0; k < sd->ndisks; k++)
		if (!strcmp(sd->disks[k].base, ev->primary))
			pscheme = sd->disks[k].scheme;
	for (size_t k = 0; k < sd->ndisks; k++) {
		size_t rivals = 0;

		if (!strcmp(sd->disks[k].base, ev->primary)) {
			sd->disks[k].verdict = DISK_SYSTEM;
			continue;
		}
		/* two kernel names (or two by-id names) of different disks */
		if (!fits[k] || sd->disks[k].scheme == pscheme) {
			sd->disks[k].verdict = DISK_OTHER;
			continue;
		}
		/* the system disk under another naming scheme, unless two disks
		 * of that scheme fit and nothing says which */
		for (size_t j = 0; j < sd->ndisks; j++)
			if (j != k && fits[j] && sd->disks[j].scheme == sd->disks[k].scheme)
				rivals++;
		sd->disks[k].verdict = rivals ? DISK_UNKNOWN : DISK_SYSTEM;
	}
	if (ev->primary[0])
		snprintf(sd->how, sizeof(sd->how), "%s (from %s)", ev->primary, ev->from);
	else
		for (size_t k = 0; k < sd->ndisks; k++)
			if (sd->disks[k].verdict == DISK_SYSTEM) {
				snprintf(sd->how, sizeof(sd->how), "%s (the disk whose names fit the image)",
					 sd->disks[k].base);
				break;
			}
}

int sysdisk_init(struct sysdisk *sd, struct fix_ctx *c)
{
	struct evidence *ev;
	char *text = NULL;
	size_t len = 0;
	int err;

	memset(sd, 0, sizeof(*sd));
	sd->c = c;
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return ferr(-ENOMEM, "out of memory");
	ev->sd = sd;
	ev->use = calloc(c->nvols + 1, sizeof(*ev->use));
	if (!ev->use) {
		err = ferr(-ENOMEM, "out of memory");
		goto out_free;
	}
	err = guest_read(c->g, FSTAB, FSTAB_MAX, &text, &len);
	if (err && err != -ENOENT)
		goto out_free;
	if (!err)
		evidence_fstab(ev, text, len);
	err = boot_for_each_arg(c, evidence_arg, ev);
	if (err)
		goto out_free;
	find_primary(ev);
	decide(sd, ev);
out_free:
	free(text);
	free(ev->use);
	free(ev);
	return err;
}

enum disk_verdict sysdisk_verdict(const struct sysdisk *sd, const char *base)
{
	for (size_t k = 0; k < sd->ndisks; k++)
		if (!strcmp(sd->disks[k].base, base))
			return sd->disks[k].verdict;
	return DISK_UNKNOWN;
}

static const char *fs_family(const char *t, size_t n)
{
	static const struct {
		const char *name, *family;
	} fam[] = {{"ext2", "ext"}, {"ext3", "ext"}, {"ext4", "ext"}, {"ext4dev", "ext"},
		   {"vfat", "fat"}, {"msdos", "fat"}, {"fat", "fat"},    {"umsdos", "fat"}};
	static char other[32];

	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++)
		if (strlen(fam[i].name) == n && !strncmp(t, fam[i].name, n))
			return fam[i].family;
	snprintf(other, sizeof(other), "%.*s", (int)n, t);
	return other;
}

/* want: an fstab type list ("udf,iso9660"), "auto", or NULL for anything
 * that is not swap (a root= argument). */
static bool fs_fits(const char *want, const char *have)
{
	if (!have[0])
		return true;
	if (!want)
		return strcmp(have, "swap") != 0;
	if (!*want || !strcmp(want, "auto") || !strcmp(want, "none"))
		return true;
	while (*want) {
		size_t n = strcspn(want, ",");
		char fam[32];

		snprintf(fam, sizeof(fam), "%s", fs_family(want, n));
		if (!strcmp(fam, fs_family(have, strlen(have))))
			return true;
		want += n + (want[n] == ',');
	}
	return false;
}

enum map_result sysdisk_map(const struct sysdisk *sd, const char *name, const char *fstype,
			    int part, const struct fix_volume **vol)
{
	struct devref d;

	*vol = NULL;
	devref_parse(name, &d);
	if (d.scheme == DEV_NONE)
		return MAP_KEEP;
	if (d.scheme == DEV_VOLMGR)
		return MAP_VOLMGR;
	if (d.partnum && part > 0) {
		/* / is root_part whatever number the name carries */
		*vol = fix_volume_by_part(sd->c, part);
	} else {
		enum disk_verdict v = sysdisk_verdict(sd, d.base);

		if (v == DISK_OTHER)
			return MAP_OTHER_DISK;
		if (v == DISK_UNKNOWN)
			return MAP_UNKNOWN_DISK;
		if (!d.partnum)
			return MAP_WHOLE_DISK;
		*vol = fix_volume_by_part(sd->c, d.partnum);
	}
	if (!*vol)
		return MAP_NO_VOLUME;
	if (!fs_fits(fstype, (*vol)->fs))
		return MAP_WRONG_TYPE;
	if (!(*vol)->uuid[0])
		return MAP_NO_UUID;
	return MAP_OK;
}

void sysdisk_explain(const struct sysdisk *sd, enum map_result r, const char *name, char *buf,
		     size_t len)
{
	struct devref d;
	const struct fix_volume *v = NULL;

	devref_parse(name, &d);
	if (r == MAP_WRONG_TYPE || r == MAP_NO_UUID)
		v = fix_volume_by_part(sd->c, d.partnum);
	switch (r) {
	case MAP_OTHER_DISK:
		snprintf(buf, len, "%s is on %s, not on the system disk%s%s: it is not in the image",
			 name, d.base, sd->how[0] ? " " : "", sd->how);
		break;
	case MAP_UNKNOWN_DISK:
		snprintf(buf, len, "cannot tell whether %s is on the system disk; left as it is",
			 name);
		break;
	case MAP_NO_VOLUME:
		snprintf(buf, len, "partition %d of the system disk (%s) is not in the image",
			 d.partnum, name);
		break;
	case MAP_NO_UUID:
		snprintf(buf, len, "%s has no UUID to be named by; left as it is", name);
		break;
	case MAP_WRONG_TYPE:
		snprintf(buf, len, "%s holds %s, not what it is used for here; left as it is", name,
			 v && v->fs[0] ? v->fs : "another filesystem");
		break;
	case MAP_WHOLE_DISK:
		snprintf(buf, len, "%s is a whole disk, not a partition; left as it is", name);
		break;
	case MAP_VOLMGR:
		snprintf(buf, len,
			 "%s is an LVM, device-mapper or md volume: mapping it is not supported; "
			 "left as it is",
			 name);
		break;
	default:
		snprintf(buf, len, "%s", name);
	}
}

/* The fstab rule. */

/* A malformed file is left alone: 1 after noting why, 0 if it is fine. */
static int malformed(struct fix_ctx *c, const char *text, size_t len)
{
	const char *line;
	size_t pos = 0, n;
	int num = 0;

	if (strlen(text) != len) {
		int err = fix_note_once(c->rep, "fstab", FSTAB, "not a text file (NUL byte); left as it is");
		return err ? err : 1;
	}
	while (text_next_line(text, len, &pos, &line, &n)) {
		struct fsline fl;
		const char *why = NULL;

		num++;
		fsline_cut(line, n, &fl);
		if (fl.nf == 1)
			why = "has no mount point";
		else if (fl.extra)
			why = "has more than six fields";
		else if ((fl.nf >= 5 && !all_digits(fl.f[4], fl.n[4])) ||
			 (fl.nf == 6 && !all_digits(fl.f[5], fl.n[5])))
			why = "has a dump or pass field that is not a number";
		if (why) {
			int err = fix_note_once(c->rep, "fstab", FSTAB,
					   "line %d %s; the file is left as it is", num, why);
			return err ? err : 1;
		}
	}
	return 0;
}

struct fstab_edit {
	struct fix_ctx *c;
	struct sysdisk sd;
	struct strbuf out;
};

static int disable(struct fstab_edit *e, const char *line, size_t n, bool nl, const char *mp,
		   const char *reason)
{
	char *before = strndup(line, n), what[1024];
	size_t start;
	int err;

	if (!before)
		return ferr(-ENOMEM, "out of memory");
	err = strbuf_addf(&e->out, "# ferry: disabled, %s\n#", reason);
	start = e->out.len - 1;
	if (!err)
		err = strbuf_add(&e->out, line, n);
	snprintf(what, sizeof(what), "disabled the %s entry: %s", mp, reason);
	if (!err)
		err = fix_change_code(e->c->rep, "fstab.other-disk", "fstab", FSTAB, what, before,
				      e->out.s + start);
	if (!err && nl)
		err = strbuf_add(&e->out, "\n", 1);
	free(before);
	return err;
}

/* Puts UUID=uuid in place of the first field, keeping the columns of the
 * other fields where the separator is made of spaces. */
static int remap(struct fstab_edit *e, const char *line, size_t n, bool nl,
		 const struct fsline *fl, const char *mp, const char *type,
		 const struct fix_volume *v)
{
	const char *sep = fl->f[0] + fl->n[0], *rest = fl->nf > 1 ? fl->f[1] : line + n;
	size_t seplen = (size_t)(rest - sep), lead = (size_t)(fl->f[0] - line), start;
	char spec[64], old[256], *before = strndup(line, n), what[640];
	int err;

	if (!before)
		return ferr(-ENOMEM, "out of memory");
	snprintf(spec, sizeof(spec), "UUID=%s", v->uuid);
	field(fl, 0, old, sizeof(old));
	start = e->out.len;
	err = strbuf_add(&e->out, line, lead);
	if (!err)
		err = strbuf_add(&e->out, spec, strlen(spec));
	if (!err && seplen > 1 && strspn(sep, " ") >= seplen) {
		size_t col = fl->n[0] + seplen, pad = col > strlen(spec) + 1 ? col - strlen(spec) : 1;
		for (size_t i = 0; !err && i < pad; i++)
			err = strbuf_add(&e->out, " ", 1);
	} else if (!err) {
		err = strbuf_add(&e->out, sep, seplen);
	}
	if (!err)
		err = strbuf_add(&e->out, rest, (size_t)(line + n - rest));
	if (!strcmp(type, "swap"))
		snprintf(what, sizeof(what), "swap by UUID instead of %s", old);
	else
		snprintf(what, sizeof(what), "mount %s by UUID instead of %s", mp, old);
	if (!err)
		err = fix_change(e->c->rep, "fstab", FSTAB, what, before, e->out.s + start);
	if (!err && nl)
		err = strbuf_add(&e->out, "\n", 1);
	free(before);
	return err;
}

static int edit_line(struct fstab_edit *e, const char *line, size_t n, bool nl)
{
	struct fix_ctx *c = e->c;
	char spec[256], mp[256], type[64], opts[256], why[512];
	const struct fix_volume *v;
	bool vital;
	enum map_result r;
	struct fsline fl;
	int part = 0;

	fsline_cut(line, n, &fl);
	if (fl.nf < 2)
		goto keep;
	field(&fl, 0, spec, sizeof(spec));
	field(&fl, 1, mp, sizeof(mp));
	field(&fl, 2, type, sizeof(type));
	field(&fl, 3, opts, sizeof(opts));
	if (not_a_disk(spec, type, opts))
		goto keep;
	/* without / (or /boot) the system does not boot either way: never
	 * disable them, say so */
	vital = same_mp(mp, "/") || same_mp(mp, "/boot");
	if (same_mp(mp, "/"))
		part = c->root_part;
	else if (same_mp(mp, "/boot"))
		part = c->boot_part;
	if (spec_volume(c, spec, &v)) {
		if (v)
			goto keep;
		snprintf(why, sizeof(why), "no filesystem with %s is in the image", spec);
		if (vital)
			goto note;
		return disable(e, line, n, nl, mp, why);
	}
	r = sysdisk_map(&e->sd, spec, type[0] ? type : NULL, part, &v);
	if (r == MAP_OK)
		return remap(e, line, n, nl, &fl, mp, type, v);
	if (r == MAP_KEEP)
		goto keep;
	sysdisk_explain(&e->sd, r, spec, why, sizeof(why));
	if ((r == MAP_OTHER_DISK || r == MAP_NO_VOLUME) && !vital)
		return disable(e, line, n, nl, mp, why);
note:
	if (fix_note_once(c->rep, "fstab", FSTAB, "%s entry: %s", mp, why))
		return -ENOMEM;
keep:
	if (strbuf_add(&e->out, line, n) || (nl && strbuf_add(&e->out, "\n", 1)))
		return -ENOMEM;
	return 0;
}

int fix_fstab(struct fix_ctx *c)
{
	struct fstab_edit e = {.c = c};
	const char *line;
	char *text = NULL;
	size_t len, pos = 0, n;
	int err = guest_read(c->g, FSTAB, FSTAB_MAX, &text, &len);

	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	err = malformed(c, text, len);
	if (err)
		goto out_text;
	if (!c->nvols) {
		err = fix_note_once(c->rep, "fstab", FSTAB, "the image's volumes are not known; left as it is");
		goto out_text;
	}
	err = sysdisk_init(&e.sd, c);
	if (err)
		goto out_text;
	strbuf_init(&e.out);
	while (!err && text_next_line(text, len, &pos, &line, &n))
		err = edit_line(&e, line, n, line + n < text + len);
	if (!err && e.out.len == 0)
		err = strbuf_add(&e.out, "", 0);
	if (!err) {
		err = fix_write_if_changed(c, FSTAB, text, e.out.s, e.out.len);
		err = err < 0 ? err : 0;
	}
	strbuf_release(&e.out);
out_text:
	free(text);
	return err < 0 ? err : 0;
}
