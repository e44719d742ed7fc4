/* Which disk is the system disk, and the volume a device name maps to
 * (see devname.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fix/bootcfg.h"
#include "fix/devname.h"
#include "fs/fstab.h"
#include "util/err.h"

#define FSTAB "/etc/fstab"
#define FSTAB_MAX (1u << 20)

/* fstab allows UUID="..." */
static void unquote(const char *v, char *out, size_t len)
{
	snprintf(out, len, "%s", v);
	if (*out && out[strlen(out) - 1] == '"')
		out[strlen(out) - 1] = '\0';
}

bool fix_partname_goes(const struct fix_ctx *c, const char *spec)
{
	const char *v;
	enum spec_kind k = fstab_spec_parse(spec, &v);

	return c->new_table && (k == SPEC_PARTUUID || k == SPEC_PARTLABEL);
}

/* The volume a UUID=/LABEL=/PARTUUID=/PARTLABEL= spec names, or NULL; false
 * if spec is not one of those. */
bool fix_volume_by_spec(const struct fix_ctx *c, const char *spec, const struct fix_volume **vol)
{
	const char *v;
	char val[128];
	enum spec_kind k = fstab_spec_parse(spec, &v);

	*vol = NULL;
	if (k != SPEC_UUID && k != SPEC_LABEL && k != SPEC_PARTUUID && k != SPEC_PARTLABEL)
		return false;
	unquote(v, val, sizeof(val));
	for (size_t i = 0; i < c->nvols && !*vol; i++) {
		const struct fix_volume *x = &c->vols[i];

		if ((k == SPEC_UUID && x->uuid[0] && !strcasecmp(x->uuid, val)) ||
		    (k == SPEC_LABEL && x->label[0] && !strcmp(x->label, val)) ||
		    (k == SPEC_PARTUUID && x->partuuid[0] && !strcasecmp(x->partuuid, val)) ||
		    (k == SPEC_PARTLABEL && x->partlabel[0] && !strcmp(x->partlabel, val)))
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

	if (fix_volume_by_spec(c, name, &v)) {
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

/* The evidence must be the same before the rules' edits and after them,
 * or a second run would decide otherwise than the first (a fix is done
 * once). So the fstab rule's edits keep what they replace (a renamed line
 * says "# ferry: was NAME" above it, a disabled line is kept as a comment),
 * and the evidence is read through them; root= and resume= cannot keep a
 * comment: a root= the bootloader rule renames (its partition number does
 * not matter: it means the root volume) and every resume= are not evidence,
 * and the root volume is always used as /. */
static int evidence_arg(const char *file, const char *key, const char *val, void *arg)
{
	struct evidence *ev = arg;
	const struct fix_volume *v;

	if (val && !strcmp(key, "root") &&
	    sysdisk_map(ev->sd, val, NULL, ev->sd->c->root_part, &v) != MAP_OK)
		evidence_add(ev, val, "/", ev->sd->c->root_part, SRC_ROOT_ARG, file);
	return 0;
}

static bool starts(const char *line, size_t n, const char *prefix)
{
	return n >= strlen(prefix) && !memcmp(line, prefix, strlen(prefix));
}

/* /etc/fstab's lines as evidence; a line the fstab rule wrote a comment
 * above (FSTAB_DISABLED_MARK, FSTAB_WAS_MARK) as it was before: for a
 * disabled line, the line it disabled; for a renamed one, the name it
 * had, when its UUID= names a volume of the image. */
static void evidence_fstab(struct evidence *ev, const char *text, size_t len)
{
	const struct fix_ctx *c = ev->sd->c;
	const char *line;
	size_t pos = 0, n;
	char was[256] = "";
	bool disabled = false;

	while (text_next_line(text, len, &pos, &line, &n)) {
		char spec[256], mp[256], type[64], opts[256];
		enum source src = SRC_OTHER;
		const struct fix_volume *v;
		struct fstab_line fl;
		int role = 0;

		/* A mark is never the line a mark before it disabled: the rule
		 * disables entries, not comments. */
		if (starts(line, n, FSTAB_DISABLED_MARK)) {
			disabled = true;
			was[0] = '\0';
			continue;
		} else if (starts(line, n, FSTAB_WAS_MARK)) {
			size_t k = strlen(FSTAB_WAS_MARK);

			snprintf(was, sizeof(was), "%.*s", (int)(n - k), line + k);
			disabled = false;
			continue;
		} else if (disabled && n && line[0] == '#') {
			line++;
			n--;
		}
		disabled = false;
		fstab_line_cut(line, n, &fl);
		if (fl.nf < 2) {
			was[0] = '\0';
			continue;
		}
		fstab_field(&fl, 0, spec, sizeof(spec));
		if (was[0] && fix_volume_by_spec(c, spec, &v) && v)
			snprintf(spec, sizeof(spec), "%s", was);
		was[0] = '\0';
		fstab_field(&fl, 1, mp, sizeof(mp));
		fstab_field(&fl, 2, type, sizeof(type));
		fstab_field(&fl, 3, opts, sizeof(opts));
		if (fstab_not_a_disk(spec, type, opts))
			continue;
		if (fstab_same_mountpoint(mp, "/")) {
			role = c->root_part;
			src = SRC_ROOT_ENTRY;
		} else if (fstab_same_mountpoint(mp, "/boot")) {
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
	if (c->root_part)
		claim(ev, vol_index(c, fix_volume_by_part(c, c->root_part)), "/");
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
	if (fix_partname_goes(sd->c, name) && fix_volume_by_spec(sd->c, name, vol) && *vol) {
		/* the image's table is new: its PARTUUIDs are not these */
		if (!fs_fits(fstype, (*vol)->fs))
			return MAP_WRONG_TYPE;
		return (*vol)->uuid[0] ? MAP_OK : MAP_NO_UUID;
	}
	*vol = NULL;
	devref_parse(name, &d);
	if (d.scheme == DEV_NONE)
		return MAP_KEEP;
	if (d.scheme == DEV_VOLMGR) {
		/* A logical volume the image holds keeps its name: the group
		 * is copied as it is. */
		for (size_t i = 0; i < sd->c->nvols; i++) {
			const struct fix_volume *v = &sd->c->vols[i];
			if (v->mapper[0] && (!strcmp(name, v->mapper) || !strcmp(name, v->lvpath))) {
				*vol = v;
				return MAP_KEEP;
			}
		}
		return MAP_VOLMGR;
	}
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
			 "%s is an LVM, device-mapper or md volume that is not in the image; "
			 "left as it is",
			 name);
		break;
	default:
		snprintf(buf, len, "%s", name);
	}
}

