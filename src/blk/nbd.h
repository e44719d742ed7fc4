/* A block device of the copy served to the kernel's NBD client over a
 * socketpair, so that the kernel can mount a filesystem Ferry cannot edit
 * itself (XFS): the kernel's reads come from the copy (the overlay over the
 * read-only source), its writes go into the overlay. Nothing reaches the
 * source: the device served must be of the copy (blk_copy_of), and every
 * write goes through blk_write.
 *
 * Needs the nbd driver (/dev/nbdN) and root; the rescue image has both. */
#ifndef FERRY_NBD_H
#define FERRY_NBD_H

#include <pthread.h>
#include <stdbool.h>

#include "blk/blk.h"

struct nbd_export {
	const struct blkdev *dev;
	char path[32]; /* "/dev/nbd0" */
	int fd;        /* the nbd device */
	int sock[2];   /* [0] the kernel's end, [1] the server's */
	pthread_t doit, server;
	bool doit_started, server_started;
	int error;     /* the server's first failure (negative errno), 0 */
};

/* Connects the first free /dev/nbdN to dev (a device of the copy) and
 * serves it until nbd_export_stop. -ENODEV when there is no nbd device,
 * with a message that says so. */
int nbd_export_start(struct nbd_export *e, const struct blkdev *dev);
/* Disconnects (the kernel flushes first) and waits for both threads; the
 * server's error, if it had one. */
int nbd_export_stop(struct nbd_export *e);

#endif
