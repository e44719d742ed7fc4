/* Whether a disk is in use by the running system: a mounted filesystem, an
 * active swap area or a holder (device-mapper, md) on it or its partitions.
 * Such a disk is never flagged read-only, which would break the system
 * that uses it, and never captured, since its filesystems are changing. */
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "blk/source.h"

#define MAX_DEVS 256

struct devlist {
	dev_t dev[MAX_DEVS];
	char name[MAX_DEVS][32];
	size_t n;
};

static int read_dev(const char *path, dev_t *dev)
{
	unsigned ma, mi;
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -1;
	ok = fscanf(f, "%u:%u", &ma, &mi) == 2;
	fclose(f);
	if (!ok)
		return -1;
	*dev = makedev(ma, mi);
	return 0;
}

static bool has_holders(const char *sysdir, char *why, size_t len, const char *name)
{
	char path[512];
	struct dirent *e;
	DIR *d;
	bool found = false;

	snprintf(path, sizeof(path), "%s/holders", sysdir);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(why, len, "%s is held by %s", name, e->d_name);
		found = true;
	}
	closedir(d);
	return found;
}

/* The disk and its partitions, from /sys/dev/block/MAJ:MIN. */
static bool list_devs(dev_t disk, struct devlist *l, char *why, size_t len)
{
	char sysdir[128], path[512], real[PATH_MAX];
	struct dirent *e;
	DIR *d;

	snprintf(sysdir, sizeof(sysdir), "/sys/dev/block/%u:%u", major(disk), minor(disk));
	l->n = 1;
	l->dev[0] = disk;
	/* The kernel's name (vda), whatever path the user gave. */
	if (realpath(sysdir, real))
		snprintf(l->name[0], sizeof(l->name[0]), "%s", basename(real));
	else
		snprintf(l->name[0], sizeof(l->name[0]), "the disk");
	if (has_holders(sysdir, why, len, l->name[0]))
		return true;
	d = opendir(sysdir);
	if (!d)
		return false;
	while ((e = readdir(d)) && l->n < MAX_DEVS) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s/partition", sysdir, e->d_name);
		if (e->d_name[0] == '.' || stat(path, &st) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/dev", sysdir, e->d_name);
		if (read_dev(path, &l->dev[l->n]) < 0)
			continue;
		snprintf(l->name[l->n], sizeof(l->name[0]), "%.31s", e->d_name);
		snprintf(path, sizeof(path), "%s/%s", sysdir, e->d_name);
		if (has_holders(path, why, len, l->name[l->n])) {
			closedir(d);
			return true;
		}
		l->n++;
	}
	closedir(d);
	return false;
}

static bool find_mount(const struct devlist *l, char *why, size_t len)
{
	char line[4096], mnt[1024];
	unsigned ma, mi;
	FILE *f = fopen("/proc/self/mountinfo", "r");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... */
		if (sscanf(line, "%*u %*u %u:%u %*s %1023s", &ma, &mi, mnt) != 3)
			continue;
		for (size_t i = 0; i < l->n; i++) {
			if (l->dev[i] == makedev(ma, mi)) {
				snprintf(why, len, "%s is mounted on %s", l->name[i], mnt);
				found = true;
				break;
			}
		}
	}
	fclose(f);
	return found;
}

static bool find_swap(const struct devlist *l, char *why, size_t len)
{
	char line[1024], path[512];
	FILE *f = fopen("/proc/swaps", "r");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		struct stat st;

		if (sscanf(line, "%511s", path) != 1 || stat(path, &st) < 0 || !S_ISBLK(st.st_mode))
			continue;
		for (size_t i = 0; i < l->n; i++) {
			if (l->dev[i] == st.st_rdev) {
				snprintf(why, len, "%s is an active swap area", l->name[i]);
				found = true;
				break;
			}
		}
	}
	fclose(f);
	return found;
}

bool source_disk_in_use(dev_t disk, char *why, size_t len)
{
	static struct devlist l; /* large; callers are single-threaded */

	why[0] = '\0';
	return list_devs(disk, &l, why, len) || find_mount(&l, why, len) ||
	       find_swap(&l, why, len);
}
