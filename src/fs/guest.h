/* Guest files: the migrated system's files, whatever holds them (an ext
 * filesystem in the copy-on-write overlay, a plain directory, several of
 * them mounted together). Fix rules are written against this interface only.
 *
 * Paths are absolute guest paths ("/etc/fstab"). Symbolic links resolve
 * inside the guest: an absolute link target starts at the guest's root,
 * never at the host's. Every call returns 0 or a negative errno (-ENOENT,
 * -ENOTDIR, -EISDIR, -EXDEV, -EFBIG, -ELOOP...) and, except for -ENOENT,
 * leaves a message with ferr(). */
#ifndef FERRY_GUEST_H
#define FERRY_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Linux mode bits, the same in every guest whatever the host. */
#define GUEST_S_IFMT 0170000
#define GUEST_S_IFREG 0100000
#define GUEST_S_IFDIR 0040000
#define GUEST_S_IFLNK 0120000
#define GUEST_ISREG(m) (((m) & GUEST_S_IFMT) == GUEST_S_IFREG)
#define GUEST_ISDIR(m) (((m) & GUEST_S_IFMT) == GUEST_S_IFDIR)
#define GUEST_ISLNK(m) (((m) & GUEST_S_IFMT) == GUEST_S_IFLNK)

struct guest_stat {
	uint32_t mode; /* type and permission bits */
	uint32_t uid, gid;
	uint64_t size;
	uint32_t nlink;
};

struct guest;

/* Called for each directory entry except "." and ".."; a non-zero return
 * stops the listing and is returned by guest_list(). */
typedef int (*guest_list_fn)(const char *name, uint32_t mode, void *arg);

struct guest_ops {
	int (*read)(struct guest *g, const char *path, size_t max, char **data, size_t *len);
	int (*write)(struct guest *g, const char *path, const void *data, size_t len,
		     uint32_t mode);
	int (*rename)(struct guest *g, const char *from, const char *to);
	int (*unlink)(struct guest *g, const char *path);
	int (*symlink)(struct guest *g, const char *target, const char *path);
	int (*readlink)(struct guest *g, const char *path, char *buf, size_t len);
	int (*mkdir)(struct guest *g, const char *path, uint32_t mode);
	int (*list)(struct guest *g, const char *path, guest_list_fn fn, void *arg);
	int (*stat)(struct guest *g, const char *path, bool follow, struct guest_stat *st);
	void (*release)(struct guest *g);
};

#define GUEST_MAX_MOUNTS 8

struct guest {
	const struct guest_ops *ops;
	void *priv;
	char name[96]; /* for messages: "/dev/sda2", "tests/fixtures/centos7" */
	/* A composite guest routes paths to the guest mounted on their
	 * longest matching prefix (see guest_mount). */
	size_t nmounts;
	struct {
		char at[64];
		struct guest *g;
	} mounts[GUEST_MAX_MOUNTS];
};

/* Reads a whole regular file, following symbolic links; *data is
 * NUL-terminated and freed by the caller. -ENOENT if there is none,
 * -EFBIG if it is larger than max. */
int guest_read(struct guest *g, const char *path, size_t max, char **data, size_t *len);
/* Creates or replaces a regular file's content. An existing file keeps its
 * inode, owner, mode and extended attributes (SELinux labels); a new one
 * gets mode (permission bits) and root ownership. The parent must exist. */
int guest_write(struct guest *g, const char *path, const void *data, size_t len, uint32_t mode);
/* Replaces to if it exists; -EXDEV across mounted guests. */
int guest_rename(struct guest *g, const char *from, const char *to);
/* Removes a file or symbolic link (not a directory). */
int guest_unlink(struct guest *g, const char *path);
int guest_symlink(struct guest *g, const char *target, const char *path);
/* The link's target, NUL-terminated; -ENAMETOOLONG if len is too small. */
int guest_readlink(struct guest *g, const char *path, char *buf, size_t len);
int guest_mkdir(struct guest *g, const char *path, uint32_t mode);
int guest_list(struct guest *g, const char *path, guest_list_fn fn, void *arg);
/* follow: resolve a final symbolic link (stat) or not (lstat). */
int guest_stat(struct guest *g, const char *path, bool follow, struct guest_stat *st);
/* True when path exists (after following links). */
bool guest_exists(struct guest *g, const char *path);
/* Releases the guest and every guest mounted on it. */
void guest_release(struct guest *g);

/* Makes sub answer for every path at or under at ("/boot"); g takes
 * ownership of sub. */
int guest_mount(struct guest *g, const char *at, struct guest *sub);

/* The plain-directory backend: root is a host directory that is the
 * guest's "/". */
int guest_dir_open(struct guest *g, const char *root);

/* The ext2/3/4 backend on a filesystem opened with extfs_open_copy(); the
 * guest borrows x, whose owner closes it after guest_release(). */
struct extfs;
int guest_ext_open(struct guest *g, struct extfs *x);

/* The read-only XFS backend (Ferry's own reader, fs/xfs.h) on d, which
 * must outlive the guest: read, list, stat and readlink work; write,
 * rename, unlink, symlink and mkdir return -EROFS with a message naming
 * the filesystem. */
struct blkdev;
int guest_xfs_open(struct guest *g, const struct blkdev *d);

/* The FAT backend (fs/fat.h) on d, written when d is of the copy: an EFI
 * system partition. FAT has no owners, modes or links: files are root's,
 * 0644, directories 0755; symlink fails with -EPERM, readlink with -EINVAL. */
int guest_fat_open(struct guest *g, const struct blkdev *d);

#endif
