/* The guard of guard.h. The guarded disks are a list under a mutex; the
 * calls that pass go to the kernel by their system calls, so that the
 * guard never calls itself. */
/* This file defines open and open64 itself: neither may stand for the
 * other, nor be fortified. */
#undef _FORTIFY_SOURCE
#undef _FILE_OFFSET_BITS
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "blk/guard.h"
#include "util/config.h"

/* A guarded disk (a block device's whole disk, ino 0) or image file
 * (refs: the sources holding it). */
struct guarded {
	bool file;
	dev_t dev;
	ino_t ino;
	unsigned refs;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct guarded *disks;
static size_t ndisks, cap;
static unsigned refusals;

static int raw_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	return (int)syscall(SYS_openat, dirfd, path, flags, mode);
}

/* The disk of a partition, from sysfs (its parent's dev); dev itself for a
 * disk, or when sysfs does not say. */
static dev_t whole_disk(dev_t dev)
{
	char path[96], buf[32];
	unsigned ma, mi;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition", major(dev), minor(dev));
	if (access(path, F_OK))
		return dev;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../dev", major(dev), minor(dev));
	fd = raw_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return dev;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return dev;
	buf[n] = '\0';
	return sscanf(buf, "%u:%u", &ma, &mi) == 2 ? makedev(ma, mi) : dev;
}

static bool same(const struct guarded *a, const struct guarded *b)
{
	return a->file == b->file && a->dev == b->dev && a->ino == b->ino;
}

static void add(struct guarded g)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ndisks; i++)
		if (same(&disks[i], &g)) {
			disks[i].refs++;
			goto out;
		}
	if (ndisks == cap) {
		size_t ncap = cap ? cap * 2 : 16;
		struct guarded *d = realloc(disks, ncap * sizeof(*d));

		/* Out of memory: a disk stays read-only in the kernel, a
		 * file opened read-only by Ferry itself. */
		if (!d)
			goto out;
		disks = d;
		cap = ncap;
	}
	g.refs = 1;
	disks[ndisks++] = g;
out:
	pthread_mutex_unlock(&lock);
}

void guard_disk(dev_t dev)
{
	add((struct guarded){false, whole_disk(dev), 0, 0});
}

void guard_file(dev_t dev, ino_t ino)
{
	add((struct guarded){true, dev, ino, 0});
}

void guard_file_release(dev_t dev, ino_t ino)
{
	struct guarded g = {true, dev, ino, 0};

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ndisks; i++)
		if (same(&disks[i], &g)) {
			if (!--disks[i].refs)
				disks[i] = disks[--ndisks];
			break;
		}
	pthread_mutex_unlock(&lock);
}

void guard_clear_refusals(void)
{
	pthread_mutex_lock(&lock);
	refusals = 0;
	pthread_mutex_unlock(&lock);
}

bool guard_take_refusal(void)
{
	bool took;

	pthread_mutex_lock(&lock);
	took = refusals > 0;
	if (took)
		refusals--;
	pthread_mutex_unlock(&lock);
	return took;
}

static bool is_guarded(struct guarded g)
{
	bool hit = false;

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ndisks && !hit; i++)
		hit = same(&disks[i], &g);
	pthread_mutex_unlock(&lock);
	return hit;
}

/* Whether what st describes is a guarded disk's block device or a
 * guarded image file. */
static bool guarded_stat(const struct stat *st)
{
	if (S_ISBLK(st->st_mode))
		return is_guarded((struct guarded){false, whole_disk(st->st_rdev), 0, 0});
	if (S_ISREG(st->st_mode))
		return is_guarded((struct guarded){true, st->st_dev, st->st_ino, 0});
	return false;
}

static bool any_guarded(void)
{
	bool any;

	pthread_mutex_lock(&lock);
	any = ndisks > 0;
	pthread_mutex_unlock(&lock);
	return any;
}

/* Whether an open of path (relative to dirfd) with flags would write a
 * guarded disk or file; counts it. */
static bool refused(int dirfd, const char *path, int flags)
{
	struct stat st;

	if ((flags & O_ACCMODE) == O_RDONLY && !(flags & O_TRUNC))
		return false;
	if (!any_guarded() || fstatat(dirfd, path, &st, 0) || !guarded_stat(&st))
		return false;
	pthread_mutex_lock(&lock);
	refusals++;
	pthread_mutex_unlock(&lock);
	return true;
}

/* Whether fd is a block device of a guarded disk or a guarded file. */
static bool guarded_fd(int fd)
{
	struct stat st;

	return any_guarded() && !fstat(fd, &st) && guarded_stat(&st);
}

static int guarded_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	if (refused(dirfd, path, flags)) {
		errno = EROFS;
		return -1;
	}
	return raw_openat(dirfd, path, flags, mode);
}

/* The mode argument is there only with O_CREAT or O_TMPFILE. */
#define MODE_ARG(flags, last, mode)                                     \
	do {                                                            \
		if ((flags) & (O_CREAT | __O_TMPFILE)) {                \
			va_list ap;                                     \
			va_start(ap, last);                             \
			mode = (mode_t)va_arg(ap, unsigned);            \
			va_end(ap);                                     \
		}                                                       \
	} while (0)

#if IS_ENABLED(CONFIG_FERRY_STATIC)
/* ld --wrap sends every call of these here. */
#define GUARD(name) __wrap_##name
#else
/* The executable's own definitions come first for the shared libraries. */
#define GUARD(name) name
#endif

int GUARD(open)(const char *path, int flags, ...);
int GUARD(open64)(const char *path, int flags, ...);
int GUARD(openat)(int dirfd, const char *path, int flags, ...);
int GUARD(fsync)(int fd);
int GUARD(fdatasync)(int fd);
int GUARD(__open_2)(const char *path, int flags);
int GUARD(__open64_2)(const char *path, int flags);
int GUARD(__openat_2)(int dirfd, const char *path, int flags);

int GUARD(open)(const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, flags, mode);
	return guarded_openat(AT_FDCWD, path, flags, mode);
}

int GUARD(open64)(const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, flags, mode);
	return guarded_openat(AT_FDCWD, path, flags, mode);
}

int GUARD(openat)(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, flags, mode);
	return guarded_openat(dirfd, path, flags, mode);
}

/* _FORTIFY_SOURCE's forms, which never take a mode. */
int GUARD(__open_2)(const char *path, int flags)
{
	return guarded_openat(AT_FDCWD, path, flags, 0);
}

int GUARD(__open64_2)(const char *path, int flags)
{
	return guarded_openat(AT_FDCWD, path, flags, 0);
}

int GUARD(__openat_2)(int dirfd, const char *path, int flags)
{
	return guarded_openat(dirfd, path, flags, 0);
}

/* Nothing was written to a guarded disk, so there is nothing to make
 * durable; the call would send the disk a flush command. */
int GUARD(fsync)(int fd)
{
	return guarded_fd(fd) ? 0 : (int)syscall(SYS_fsync, fd);
}

int GUARD(fdatasync)(int fd)
{
	return guarded_fd(fd) ? 0 : (int)syscall(SYS_fdatasync, fd);
}
