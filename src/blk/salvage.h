/* Reading past bad sectors. Old disks have sectors that no longer read;
 * one of them must not cost the whole capture. With a salvage attached to
 * a source, a read that fails is tried again sector by sector: the range
 * is halved until the sectors that do not read are found, each of them is
 * tried a few times more, and what still fails reads as zeros and is
 * recorded (LBA ranges, merged). A sector known to be bad is not tried
 * again by a later read (the two passes of a compressed image).
 *
 * Strict: the first sector given up ends the read with -EIO instead.
 * A device that stops answering (dead_reads reads in a row failed, over at
 * least dead_seconds) ends it with -EIO too, rather than crawling on
 * through a disk that is gone; so does an error that says the device is
 * gone (ENODEV, ENXIO). */
#ifndef FERRY_SALVAGE_H
#define FERRY_SALVAGE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blk/source.h"

#define SALVAGE_TRIES 3          /* reads of one sector before it is given up */
#define SALVAGE_DEAD_READS 64    /* failed reads in a row ... */
#define SALVAGE_DEAD_SECONDS 60  /* ... over this long: the device is gone */
#define SALVAGE_MAX_RANGES 4096  /* ranges recorded; beyond, only counted */
#define SALVAGE_WARNINGS 16      /* ranges warned about as they are found */

struct salvage_range {
	uint64_t lba, sectors; /* in the source's logical sectors */
};

struct salvage {
	/* settings (salvage_init sets the defaults) */
	bool strict;
	unsigned tries, dead_reads;
	double dead_seconds;
	/* Called as sectors are given up (sectors: the total so far); from
	 * the reading thread, without the lock held. May be NULL. */
	void (*found)(void *ctx, uint64_t sectors);
	void *ctx;
	/* what was found, sorted and merged */
	pthread_mutex_t lock;
	struct salvage_range *v;
	size_t n, cap;
	uint64_t sectors;  /* given up in all, even past SALVAGE_MAX_RANGES */
	bool stopped;      /* strict: a sector was not given up, the read failed */
	unsigned warned;
	/* the device's state */
	unsigned failing;  /* reads failed in a row */
	double failing_since;
};

void salvage_init(struct salvage *s);
void salvage_release(struct salvage *s);

/* Fills buf with [off, off+len) of src, whose plain read failed with err
 * (a negative errno): what reads is read, what does not is zeros and
 * recorded. 0, or a negative errno with a message. */
int salvage_read(const struct source *src, void *buf, size_t len, uint64_t off, int err);

/* Zeros the sectors known to be bad in buf = [off, off+len) of the disk,
 * read without an error: a sector that failed once reads as zeros on every
 * later read too, so that two passes over the disk see the same bytes. */
void salvage_mask(struct salvage *s, unsigned lsec, void *buf, size_t len, uint64_t off);

/* Whether a sector of [off, off+len) (bytes) is known not to read. */
bool salvage_touches(struct salvage *s, unsigned lsec, uint64_t off, uint64_t len);

#endif
