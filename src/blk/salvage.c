/* Reading past bad sectors (see salvage.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blk/salvage.h"
#include "util/err.h"
#include "util/progress.h"

void salvage_init(struct salvage *s)
{
	memset(s, 0, sizeof(*s));
	s->tries = SALVAGE_TRIES;
	s->dead_reads = SALVAGE_DEAD_READS;
	s->dead_seconds = SALVAGE_DEAD_SECONDS;
	pthread_mutex_init(&s->lock, NULL);
}

void salvage_release(struct salvage *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
	pthread_mutex_destroy(&s->lock);
}

/* The index of the first range that ends after lba. Under the lock. */
static size_t first_after(const struct salvage *s, uint64_t lba)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid].lba + s->v[mid].sectors <= lba)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether a sector of [first, last] is known to be bad. */
static bool known(struct salvage *s, uint64_t first, uint64_t last)
{
	size_t i;
	bool k;

	pthread_mutex_lock(&s->lock);
	i = first_after(s, first);
	k = i < s->n && s->v[i].lba <= last;
	pthread_mutex_unlock(&s->lock);
	return k;
}

bool salvage_touches(struct salvage *s, unsigned lsec, uint64_t off, uint64_t len)
{
	return len && known(s, off / lsec, (off + len - 1) / lsec);
}

void salvage_mask(struct salvage *s, unsigned lsec, void *buf, size_t len, uint64_t off)
{
	uint64_t end = off + len;

	pthread_mutex_lock(&s->lock);
	s->failing = 0;
	for (size_t i = first_after(s, off / lsec); i < s->n; i++) {
		uint64_t a = s->v[i].lba * lsec, b = a + s->v[i].sectors * lsec;

		if (a >= end)
			break;
		if (a < off)
			a = off;
		if (b > end)
			b = end;
		memset((uint8_t *)buf + (a - off), 0, (size_t)(b - a));
	}
	pthread_mutex_unlock(&s->lock);
}

/* Keeps lba among the ranges. 1: new; 0: known; -ENOSPC: a new range past
 * SALVAGE_MAX_RANGES; -ENOMEM. Under the lock. */
static int record(struct salvage *s, uint64_t lba)
{
	size_t i = first_after(s, lba);
	bool prev, next;

	if (i < s->n && s->v[i].lba <= lba)
		return 0;
	prev = i > 0 && s->v[i - 1].lba + s->v[i - 1].sectors == lba;
	next = i < s->n && s->v[i].lba == lba + 1;
	if (prev && next) {
		s->v[i - 1].sectors += 1 + s->v[i].sectors;
		memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
		s->n--;
	} else if (prev) {
		s->v[i - 1].sectors++;
	} else if (next) {
		s->v[i].lba--;
		s->v[i].sectors++;
	} else {
		if (s->n >= SALVAGE_MAX_RANGES)
			return -ENOSPC;
		if (s->n == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 16;
			struct salvage_range *v = realloc(s->v, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			s->v = v;
			s->cap = cap;
		}
		memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(*s->v));
		s->v[i] = (struct salvage_range){lba, 1};
		s->n++;
	}
	s->sectors++;
	return 1;
}

static void note_ok(struct salvage *s)
{
	pthread_mutex_lock(&s->lock);
	s->failing = 0;
	pthread_mutex_unlock(&s->lock);
}

/* A read at off failed with err: 0 to go on, or the error that ends the
 * read (the device is gone, or has stopped answering). */
static int note_fail(const struct source *src, uint64_t off, int err)
{
	struct salvage *s = src->salvage;
	double now = now_seconds(), since;
	unsigned failing;

	if (err == -ENODEV || err == -ENXIO || err == -ENOMEDIUM)
		return ferr_errno(err, "%s is gone (reading LBA %llu)", src->path,
				  (unsigned long long)(off / src->lsec));
	pthread_mutex_lock(&s->lock);
	if (s->failing++ == 0)
		s->failing_since = now;
	failing = s->failing;
	since = s->failing_since;
	pthread_mutex_unlock(&s->lock);
	if (failing >= s->dead_reads && now - since >= s->dead_seconds)
		return ferr(-EIO, "%s stopped answering: %u reads in a row failed over %.0f s, the "
			    "last at LBA %llu; the capture ends here", src->path, failing,
			    now - since, (unsigned long long)(off / src->lsec));
	return 0;
}

/* lba did not read in s->tries tries (the last error: err): zeros, and
 * recorded; or, strict, the end of the read. */
static int give_up(const struct source *src, uint64_t lba, int err)
{
	struct salvage *s = src->salvage;
	uint64_t total;
	unsigned warned;
	int fresh;

	if (s->strict) {
		s->stopped = true;
		return ferr_errno(err, "%s: LBA %llu does not read (%u tries), and a strict capture "
				  "gives up no sector", src->path, (unsigned long long)lba, s->tries);
	}
	pthread_mutex_lock(&s->lock);
	fresh = record(s, lba);
	total = s->sectors;
	warned = fresh == 1 ? s->warned++ : SALVAGE_WARNINGS + 1;
	pthread_mutex_unlock(&s->lock);
	if (fresh == -ENOSPC)
		return ferr(-EIO, "%s has more than %d separate unreadable areas (LBA %llu is one "
			    "more): the disk is failing; the capture ends here", src->path,
			    SALVAGE_MAX_RANGES, (unsigned long long)lba);
	if (fresh < 0)
		return ferr(fresh, "out of memory");
	if (warned < SALVAGE_WARNINGS)
		ferry_warn("%s: LBA %llu does not read (%s, %u tries): written as zeros", src->path,
			   (unsigned long long)lba, strerror(-err), s->tries);
	else if (warned == SALVAGE_WARNINGS)
		ferry_warn("%s: more sectors do not read; they are written as zeros and listed "
			   "in the report", src->path);
	if (fresh && s->found)
		s->found(s->ctx, total);
	return 0;
}

/* [off, off+len), within one sector. */
static int read_sector(const struct source *src, uint8_t *buf, size_t len, uint64_t off)
{
	struct salvage *s = src->salvage;
	uint64_t lba = off / src->lsec;
	int err = -EIO;

	if (!known(s, lba, lba)) {
		for (unsigned t = 0; t < s->tries; t++) {
			long n = source_io_pread(src, buf, len, off, true);
			int e;

			if (n == (long)len) {
				note_ok(s);
				return 0;
			}
			err = n < 0 ? (int)n : -EIO;
			e = note_fail(src, off, err);
			if (e)
				return e;
		}
	}
	memset(buf, 0, len);
	return known(s, lba, lba) ? 0 : give_up(src, lba, err);
}

/* Reads [off, off+len) whole if it can, else each half of it. */
static int narrow(const struct source *src, uint8_t *buf, size_t len, uint64_t off)
{
	uint64_t first = off / src->lsec, last = (off + len - 1) / src->lsec, mid;
	int err;

	if (first == last)
		return read_sector(src, buf, len, off);
	if (!known(src->salvage, first, last)) {
		long n = source_io_pread(src, buf, len, off, true);

		if (n == (long)len) {
			note_ok(src->salvage);
			return 0;
		}
		err = note_fail(src, off, n < 0 ? (int)n : -EIO);
		if (err)
			return err;
	}
	/* A sector boundary strictly inside the range. */
	mid = (first + (last - first + 1) / 2) * src->lsec;
	err = narrow(src, buf, (size_t)(mid - off), off);
	if (!err)
		err = narrow(src, buf + (mid - off), (size_t)(off + len - mid), mid);
	return err;
}

int salvage_read(const struct source *src, void *buf, size_t len, uint64_t off, int err)
{
	int e = note_fail(src, off, err);

	return e ? e : narrow(src, buf, len, off);
}
