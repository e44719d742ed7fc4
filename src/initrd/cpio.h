/* cpio archives as the kernel's initramfs unpacker reads them: newc
 * ("070701") and crc ("070702") in, newc out, all in memory. */
#ifndef FERRY_CPIO_H
#define FERRY_CPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One member. data is the file's contents or a symbolic link's target (no
 * NUL), as in the format. Hardlinked members (nlink > 1, same ino) carry
 * the data once in the archive; parsed, every name shows it. */
struct cpio_entry {
	char *name;
	uint32_t mode, uid, gid, nlink, mtime, devmajor, devminor, rdevmajor, rdevminor, ino;
	void *data;
	size_t size;
	bool own_data; /* data was allocated for this entry, else it is borrowed */
};

struct cpio_archive {
	struct cpio_entry *v; /* in archive order: the kernel unpacks in this order */
	size_t n, cap;
	void *backing; /* freed by cpio_archive_release (see cpio_parse) */
};

void cpio_archive_init(struct cpio_archive *a);
/* Frees the members, the data they own and a->backing. */
void cpio_archive_release(struct cpio_archive *a);

/* Parses one archive at the start of buf into a (initialised here), up to
 * and including TRAILER!!!; *consumed is the offset just after the
 * trailer's padding, before any zero fill up to a block size. Members
 * borrow their data from buf: keep buf while a is used, or hand it to the
 * archive as a->backing. Zero words between members are skipped as the
 * kernel does. -ENODATA when the data ends cleanly after a whole member
 * without a trailer (the kernel accepts that: the archive may go on in
 * the next segment); other errors for truncated or corrupt data. On error a
 * is left empty. */
int cpio_parse(const void *buf, size_t len, struct cpio_archive *a, size_t *consumed);

/* The member the kernel would leave at name (the last of that name);
 * "./x", "/x" and "x" are the same name. NULL if absent. The pointer is
 * good until the archive changes. */
struct cpio_entry *cpio_find(const struct cpio_archive *a, const char *name);

/* Add a member, replacing the member of the same name in place if there is
 * one, else appending it after any missing parent directories (0755): the
 * kernel does not create parents. perm is the permission bits; owner is
 * root, mtime now. A replaced member leaves its hardlink group. */
int cpio_add_file(struct cpio_archive *a, const char *name, const void *data, size_t size,
		  uint32_t perm);
int cpio_add_dir(struct cpio_archive *a, const char *name, uint32_t perm);
int cpio_add_symlink(struct cpio_archive *a, const char *name, const char *target);
/* Removes every member of that name; -ENOENT if there is none. */
int cpio_remove(struct cpio_archive *a, const char *name);

/* Serialises a as newc with a trailer, zero-filled to 512 bytes like GNU
 * cpio, into a new buffer *out (free()). Inode numbers are renumbered;
 * hardlink groups keep one number and carry the data on their last
 * member. */
int cpio_write(const struct cpio_archive *a, void **out, size_t *outlen);

#endif
