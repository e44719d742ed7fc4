/* Linux device names (see devname.h). */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/devname.h"
#include "util/text.h"

int devname_partnum(const char *dev)
{
	const char *name, *end, *digits;

	if (strncmp(dev, "/dev/", 5) != 0)
		return -1;
	name = dev + 5;
	if (strncmp(name, "cciss/", 6) == 0 || strncmp(name, "ida/", 4) == 0) {
		name = strchr(name, '/') + 1;
	} else if (strchr(name, '/')) {
		return -1; /* /dev/mapper/..., /dev/vg/lv, /dev/disk/by-path/... */
	}
	end = name + strlen(name);
	digits = end;
	while (digits > name && isdigit((unsigned char)digits[-1]))
		digits--;
	if (digits == end || digits == name)
		return -1;
	if (!strncmp(name, "sd", 2) || !strncmp(name, "hd", 2) || !strncmp(name, "vd", 2) ||
	    !strncmp(name, "xvd", 3)) {
		/* sda2: letters then the number */
		for (const char *c = name + (name[0] == 'x' ? 3 : 2); c < digits; c++)
			if (!islower((unsigned char)*c))
				return -1;
		return atoi(digits);
	}
	/* nvme0n1p2, mmcblk0p1, c0d0p1, loop0p1: the number follows a 'p' after a digit */
	if (digits - name >= 2 && digits[-1] == 'p' && isdigit((unsigned char)digits[-2]))
		return atoi(digits);
	return -1;
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
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
		if (*p++ != 'd' || !text_all_digits(p, strlen(p)))
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
		return text_all_digits(p, strlen(p));
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
		if (part && text_all_digits(part + 5, strlen(part + 5))) {
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

