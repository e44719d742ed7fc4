/* Reading /etc/fstab and the device names found in it and in boot configs. */
#ifndef FERRY_FSTAB_H
#define FERRY_FSTAB_H

#include <stddef.h>

/* Finds the entry mounted at mountpoint; copies its first field into spec.
 * Returns 0, or -ENOENT when there is none. */
int fstab_find(const char *text, const char *mountpoint, char *spec, size_t len);

enum spec_kind { SPEC_UUID, SPEC_LABEL, SPEC_PARTUUID, SPEC_DEVNAME, SPEC_OTHER };

/* Classifies an fstab first field or a root= value: UUID=, LABEL=,
 * PARTUUID=, /dev/disk/by-uuid/..., or a kernel device name; *value points
 * into spec at the part to match. */
enum spec_kind spec_parse(const char *spec, const char **value);

/* The partition number of a kernel device name (/dev/sda2 → 2,
 * /dev/nvme0n1p3 → 3, /dev/cciss/c0d0p1 → 1), or -1 for a whole disk or a
 * name that is not a partition (/dev/mapper/..., /dev/vg/lv). */
int devname_partnum(const char *dev);

/* Finds "key=" as a whole word on the first kernel line of a boot loader
 * config (GRUB linux/linux16/linuxefi/kernel, extlinux append, BLS options)
 * that has it; copies its value. -ENOENT if absent. */
int cmdline_find(const char *text, const char *key, char *val, size_t len);

#endif
