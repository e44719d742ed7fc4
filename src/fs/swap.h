/* The Linux swap header: the signature at the end of its first page (the
 * page size it was made with), and in version 1 (SWAPSPACE2) the UUID and
 * label fstab names a swap area by. A hibernation image replaces the
 * signature (S1SUSPEND...). The one place Ferry reads or writes it. */
#ifndef FERRY_SWAP_H
#define FERRY_SWAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blk/blk.h"

/* Bytes of a device's beginning that hold any header (a 64 KiB page). */
#define SWAP_HEADER_MAX 65536u

struct swap_header {
	unsigned page;   /* the header's size; 0: no swap header */
	const char *sig; /* the signature at the page's end */
	bool hibernated; /* a hibernation image, not plain swap */
	unsigned version;
	char uuid[37];  /* "" when none */
	char label[17];
};

/* From the first len bytes of a device. */
void swap_parse(const uint8_t *buf, size_t len, struct swap_header *h);
/* From the device itself. */
int swap_read(const struct blkdev *d, struct swap_header *h);
/* Rewrites a hibernated header on d (a device of the copy) as plain v1
 * swap with the same UUID and label, so the target does not try to resume
 * a machine it is not and fstab's UUID= still finds it; h then says so. */
int swap_make_plain(const struct blkdev *d, struct swap_header *h);

#endif
