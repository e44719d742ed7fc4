/* Reading /etc/fstab, its specs (UUID=, LABEL=...) and kernel command
 * lines. Device names themselves are fs/devname.h's. */
#ifndef FERRY_FSTAB_H
#define FERRY_FSTAB_H

#include <stdbool.h>
#include <stddef.h>

#include "fs/devname.h"

/* One fstab line cut into its fields (pointers into the text): the one
 * tokenizer of fstab lines. A line whose first field starts with '#' has
 * none. */
#define FSTAB_FIELDS 6
struct fstab_line {
	const char *f[FSTAB_FIELDS];
	size_t n[FSTAB_FIELDS];
	int nf;
	bool extra; /* more than six fields */
};
void fstab_line_cut(const char *line, size_t len, struct fstab_line *fl);
/* Field i as written (escapes kept), "" when the line has fewer. */
void fstab_field(const struct fstab_line *fl, int i, char *buf, size_t len);

/* Why mount(8) would not take the line ("has no mount point"...), or NULL. */
const char *fstab_line_problem(const struct fstab_line *fl);
/* Whether an entry is not a local disk (network and pseudo filesystems,
 * bind mounts, names that are no device): left exactly as it is. */
bool fstab_not_a_disk(const char *spec, const char *type, const char *opts);
/* Whether mountpoint mp, as written, is want ("/boot/" is "/boot"). */
bool fstab_same_mountpoint(const char *mp, const char *want);

/* Finds the entry mounted at mountpoint; copies its first field into spec.
 * Returns 0, or -ENOENT when there is none. */
int fstab_find(const char *text, const char *mountpoint, char *spec, size_t len);

enum spec_kind { SPEC_UUID, SPEC_LABEL, SPEC_PARTUUID, SPEC_PARTLABEL, SPEC_DEVNAME, SPEC_OTHER };

/* Classifies an fstab first field or a root= value: UUID=, LABEL=,
 * PARTUUID=, /dev/disk/by-uuid/..., or a kernel device name; *value points
 * into spec at the part to match. */
enum spec_kind fstab_spec_parse(const char *spec, const char **value);

/* Finds "key=" as a whole word on the first kernel line of a boot loader
 * config (GRUB linux/linux16/linuxefi/kernel, extlinux append, BLS options)
 * that has it; copies its value. -ENOENT if absent. */
int fstab_cmdline_find(const char *text, const char *key, char *val, size_t len);

#endif
