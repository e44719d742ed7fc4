/* Kernel mounts of the copy (see kmount.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "fs/kmount.h"
#include "util/err.h"

int kmount_open(struct kmount *m, const struct blkdev *dev, const char *fstype)
{
	const char *tmp = getenv("TMPDIR");
	int err;

	memset(m, 0, sizeof(*m));
	err = blk_copy_of(&m->dev, dev);
	if (err)
		return err;
	snprintf(m->dir, sizeof(m->dir), "%s/ferry-mnt-XXXXXX",
		 tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	if (!mkdtemp(m->dir))
		return ferr_errno(-errno, "cannot make a directory to mount %s on", dev->name);
	err = nbd_export_start(&m->nbd, &m->dev);
	if (err)
		goto fail;
	/* nouuid: an XFS whose twin (the source) the kernel may know. */
	if (mount(m->nbd.path, m->dir, fstype, MS_NOATIME | MS_NODEV | MS_NOSUID,
		  strcmp(fstype, "xfs") ? NULL : "nouuid") < 0) {
		err = ferr_errno(-errno, "%s: the kernel cannot mount it as %s (served as %s)",
				 dev->name, fstype, m->nbd.path);
		nbd_export_stop(&m->nbd);
		goto fail;
	}
	m->mounted = true;
	return 0;
fail:
	rmdir(m->dir);
	return err;
}

int kmount_close(struct kmount *m)
{
	int err = 0, e;

	if (!m->mounted)
		return 0;
	sync();
	if (umount2(m->dir, 0) < 0)
		err = ferr_errno(-errno, "%s: cannot unmount it from %s", m->dev.name, m->dir);
	e = err ? 0 : nbd_export_stop(&m->nbd);
	rmdir(m->dir);
	m->mounted = false;
	return err ? err : e;
}
