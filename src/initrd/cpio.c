/* cpio newc/crc reader and newc writer for initramfs archives, following
 * the kernel's unpacker (init/initramfs.c) where tools disagree. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "initrd/cpio.h"
#include "util/err.h"

#define HDR_LEN 110
#define TRAILER "TRAILER!!!"
/* The kernel skips names longer than PATH_MAX. */
#define NAME_MAX_LEN 4096

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

void cpio_archive_init(struct cpio_archive *a)
{
	memset(a, 0, sizeof(*a));
}

static void entry_release(struct cpio_entry *e)
{
	free(e->name);
	if (e->own_data)
		free(e->data);
	memset(e, 0, sizeof(*e));
}

void cpio_archive_release(struct cpio_archive *a)
{
	for (size_t i = 0; i < a->n; i++)
		entry_release(&a->v[i]);
	free(a->v);
	free(a->backing);
	memset(a, 0, sizeof(*a));
}

/* Appends a zeroed member; the pointer is valid until the next append. */
static struct cpio_entry *append(struct cpio_archive *a)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct cpio_entry *v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		a->v = v;
		a->cap = cap;
	}
	memset(&a->v[a->n], 0, sizeof(a->v[0]));
	return &a->v[a->n++];
}

/* Hardlink groups: members of one group share (device, inode, type) and
 * have nlink > 1, as the kernel's find_link() matches them. For each
 * member: the group's first and last member in archive order, the member
 * whose data the group takes (the last with data: the kernel writes every
 * body into the shared inode, so the last one wins) and the group size;
 * count is 0 for a member of no group. */
struct link {
	size_t first, last, holder, count;
};

static bool linkable(const struct cpio_entry *e)
{
	return e->nlink > 1 && !S_ISDIR(e->mode) && !S_ISLNK(e->mode);
}

static bool same_inode(const struct cpio_entry *p, const struct cpio_entry *q)
{
	return p->devmajor == q->devmajor && p->devminor == q->devminor && p->ino == q->ino &&
	       (p->mode & S_IFMT) == (q->mode & S_IFMT);
}

static int link_cmp(const void *x, const void *y, void *arg)
{
	const struct cpio_archive *a = arg;
	size_t i = *(const size_t *)x, j = *(const size_t *)y;
	const struct cpio_entry *p = &a->v[i], *q = &a->v[j];

	if (p->devmajor != q->devmajor)
		return p->devmajor < q->devmajor ? -1 : 1;
	if (p->devminor != q->devminor)
		return p->devminor < q->devminor ? -1 : 1;
	if (p->ino != q->ino)
		return p->ino < q->ino ? -1 : 1;
	if ((p->mode & S_IFMT) != (q->mode & S_IFMT))
		return (p->mode & S_IFMT) < (q->mode & S_IFMT) ? -1 : 1;
	return i < j ? -1 : i > j;
}

static int link_groups(const struct cpio_archive *a, struct link **out)
{
	struct link *l = calloc(a->n ? a->n : 1, sizeof(*l));
	size_t *ord = malloc((a->n ? a->n : 1) * sizeof(*ord));
	size_t n = 0;

	if (!l || !ord) {
		free(l);
		free(ord);
		return ferr(-ENOMEM, "cpio: out of memory");
	}
	for (size_t i = 0; i < a->n; i++)
		if (linkable(&a->v[i]))
			ord[n++] = i;
	qsort_r(ord, n, sizeof(*ord), link_cmp, (void *)a);
	for (size_t s = 0, e; s < n; s = e) {
		size_t holder = ord[s];

		for (e = s + 1; e < n && same_inode(&a->v[ord[s]], &a->v[ord[e]]); e++)
			;
		for (size_t k = s; k < e; k++)
			if (a->v[ord[k]].size)
				holder = ord[k];
		if (!a->v[holder].size)
			holder = ord[e - 1];
		for (size_t k = s; k < e; k++)
			l[ord[k]] = (struct link){ ord[s], ord[e - 1], holder, e - s };
	}
	free(ord);
	*out = l;
	return 0;
}

static int hex8(const uint8_t *p, uint32_t *v)
{
	uint32_t x = 0;

	for (int i = 0; i < 8; i++) {
		uint8_t c = p[i];
		uint32_t d;

		if (c >= '0' && c <= '9')
			d = (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (uint32_t)(c - 'A' + 10);
		else
			return -1;
		x = x << 4 | d;
	}
	*v = x;
	return 0;
}

/* Gives every member of a hardlink group the group's data, so that
 * cpio_find() on any of its names shows the contents. Parsed data is
 * borrowed, so sharing the pointer is safe. */
static int share_link_data(struct cpio_archive *a)
{
	struct link *l;
	int err = link_groups(a, &l);

	if (err)
		return err;
	for (size_t i = 0; i < a->n; i++)
		if (l[i].count > 1 && i != l[i].holder) {
			a->v[i].data = a->v[l[i].holder].data;
			a->v[i].size = a->v[l[i].holder].size;
		}
	free(l);
	return 0;
}

/* One member at b[pos]; *next is where the following one starts. Returns 1
 * for the trailer. */
static int parse_member(const uint8_t *b, size_t len, size_t pos, struct cpio_archive *a,
			size_t *next)
{
	uint32_t f[13], namesize, filesize;
	size_t name_off = pos + HDR_LEN, data_off, end;
	bool crc;
	const char *name;
	struct cpio_entry *e;

	if (len - pos < HDR_LEN)
		return ferr(-EBADMSG, "cpio: truncated header at offset %zu", pos);
	if (memcmp(b + pos, "07070", 5) || (b[pos + 5] != '1' && b[pos + 5] != '2')) {
		if (!memcmp(b + pos, "070707", 6))
			return ferr(-ENOTSUP, "cpio: old portable (odc) format at offset %zu: the "
					      "kernel reads newc only", pos);
		return ferr(-EBADMSG, "cpio: bad magic at offset %zu", pos);
	}
	crc = b[pos + 5] == '2';
	for (int i = 0; i < 13; i++)
		if (hex8(b + pos + 6 + 8 * i, &f[i]))
			return ferr(-EBADMSG, "cpio: bad header field %d at offset %zu", i, pos);
	filesize = f[6];
	namesize = f[11];
	if (namesize == 0 || namesize > NAME_MAX_LEN)
		return ferr(-EBADMSG, "cpio: bad name size %" PRIu32 " at offset %zu", namesize, pos);
	if (namesize > len - name_off)
		return ferr(-EBADMSG, "cpio: truncated name at offset %zu", pos);
	name = (const char *)b + name_off;
	if (name[namesize - 1] != '\0')
		return ferr(-EBADMSG, "cpio: name not terminated at offset %zu", pos);
	data_off = align4(name_off + namesize);
	if (!strcmp(name, TRAILER) && filesize == 0) {
		*next = data_off < len ? data_off : len;
		return 1;
	}
	if (data_off > len || filesize > len - data_off)
		return ferr(-EBADMSG, "cpio: %s: truncated member at offset %zu", name, pos);
	end = align4(data_off + filesize);
	if (end > len)
		return ferr(-EBADMSG, "cpio: %s: truncated padding at offset %zu", name, pos);
	if (crc && S_ISREG(f[1])) {
		uint32_t sum = 0;

		for (size_t i = 0; i < filesize; i++)
			sum += b[data_off + i];
		if (sum != f[12])
			return ferr(-EBADMSG, "cpio: %s: checksum mismatch (archive says %08" PRIx32
					      ", data sums to %08" PRIx32 ")", name, f[12], sum);
	}
	if (!(e = append(a)) || !(e->name = strdup(name)))
		return ferr(-ENOMEM, "cpio: out of memory");
	e->ino = f[0];
	e->mode = f[1];
	e->uid = f[2];
	e->gid = f[3];
	e->nlink = f[4];
	e->mtime = f[5];
	e->devmajor = f[7];
	e->devminor = f[8];
	e->rdevmajor = f[9];
	e->rdevminor = f[10];
	e->data = filesize ? (void *)(b + data_off) : NULL;
	e->size = filesize;
	*next = end;
	return !strcmp(name, TRAILER);
}

static bool zeros(const uint8_t *b, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (b[i])
			return false;
	return true;
}

int cpio_parse(const void *buf, size_t len, struct cpio_archive *a, size_t *consumed)
{
	const uint8_t *b = buf;
	size_t pos = 0, next = 0;
	int r;

	cpio_archive_init(a);
	*consumed = 0;
	for (;;) {
		/* Between members the kernel eats zeros, a word at a time here
		 * so that headers stay aligned. */
		while (len - pos >= 4 && !memcmp(b + pos, "\0\0\0\0", 4))
			pos += 4;
		if (len - pos < 4 && zeros(b, pos, len)) {
			*consumed = pos;
			if (!a->n) {
				r = ferr(-ENODATA, "cpio: no members");
				goto out_release;
			}
			r = ferr(-ENODATA, "cpio: the data ends after %s without " TRAILER,
				 a->v[a->n - 1].name);
			goto out_release;
		}
		r = parse_member(b, len, pos, a, &next);
		if (r < 0)
			goto out_release;
		pos = next;
		if (r == 1)
			break;
	}
	if ((r = share_link_data(a)))
		goto out_release;
	*consumed = pos;
	return 0;

out_release:
	cpio_archive_release(a);
	return r;
}

/* Archive names and user names alike: "./x", "/x" and "x/" are "x". */
static const char *norm(const char *s, size_t *len)
{
	size_t n;

	for (;;) {
		if (s[0] == '/')
			s++;
		else if (s[0] == '.' && s[1] == '/')
			s += 2;
		else
			break;
	}
	if (s[0] == '.' && s[1] == '\0')
		s++;
	n = strlen(s);
	while (n && s[n - 1] == '/')
		n--;
	*len = n;
	return s;
}

static bool same_name(const char *x, const char *y)
{
	size_t lx, ly;
	const char *nx = norm(x, &lx), *ny = norm(y, &ly);

	return lx == ly && !memcmp(nx, ny, lx);
}

static ssize_t find_index(const struct cpio_archive *a, const char *name)
{
	for (size_t i = a->n; i-- > 0;)
		if (same_name(a->v[i].name, name))
			return (ssize_t)i;
	return -1;
}

struct cpio_entry *cpio_find(const struct cpio_archive *a, const char *name)
{
	ssize_t i = find_index(a, name);

	return i < 0 ? NULL : &a->v[i];
}

/* Takes member i out of its hardlink group; if the group's data was only
 * on it, the member that now comes last in the group gets it. */
static void unlink_member(struct cpio_archive *a, size_t i)
{
	struct cpio_entry *e = &a->v[i], *heir = NULL;

	if (!linkable(e))
		return;
	for (size_t j = 0; j < a->n; j++) {
		struct cpio_entry *m = &a->v[j];

		if (j == i || !linkable(m) || !same_inode(m, e))
			continue;
		if (m->size)
			return;
		heir = m;
	}
	if (heir && e->size) {
		heir->data = e->data;
		heir->size = e->size;
		heir->own_data = e->own_data;
		e->own_data = false;
	}
}

static int check_name(const char *name, bool root_ok)
{
	size_t n;

	norm(name, &n);
	if (!n && !root_ok)
		return ferr(-EINVAL, "cpio: '%s' is not a member name", name);
	if (n + 1 > NAME_MAX_LEN)
		return ferr(-ENAMETOOLONG, "cpio: name too long: %.64s...", name);
	return 0;
}

/* Appends the missing directories above name, outermost first. */
static int add_parents(struct cpio_archive *a, const char *name, uint32_t now)
{
	size_t n;
	const char *s = norm(name, &n);

	for (size_t k = 1; k < n; k++) {
		struct cpio_entry *p, *e;
		char *dir;

		if (s[k] != '/' || s[k - 1] == '/')
			continue;
		if (!(dir = strndup(s, k)))
			return ferr(-ENOMEM, "cpio: out of memory");
		if ((p = cpio_find(a, dir))) {
			bool ok = S_ISDIR(p->mode) || S_ISLNK(p->mode);

			if (!ok) {
				int err = ferr(-ENOTDIR, "cpio: cannot add %s: %s is not a directory",
					       name, dir);
				free(dir);
				return err;
			}
			free(dir);
			continue;
		}
		if (!(e = append(a))) {
			free(dir);
			return ferr(-ENOMEM, "cpio: out of memory");
		}
		e->name = dir;
		e->mode = S_IFDIR | 0755;
		e->nlink = 2;
		e->mtime = now;
	}
	return 0;
}

/* Added members carry the archive's newest time, not the clock's: the
 * same source must give the same image byte for byte (an interrupted
 * upload resumes by comparing parts of a second capture). */
static uint32_t newest_mtime(const struct cpio_archive *a)
{
	uint32_t t = 0;

	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].mtime > t)
			t = a->v[i].mtime;
	return t;
}

static int add_member(struct cpio_archive *a, const char *name, uint32_t mode, const void *data,
		      size_t size)
{
	uint32_t now = newest_mtime(a);
	struct cpio_entry *e;
	void *copy = NULL;
	ssize_t i;
	int err;

	if ((err = check_name(name, S_ISDIR(mode))))
		return err;
	if (size > UINT32_MAX)
		return ferr(-EFBIG, "cpio: %s: %zu bytes do not fit a newc member", name, size);
	if (size && !(copy = malloc(size)))
		return ferr(-ENOMEM, "cpio: out of memory for %s", name);
	if (size)
		memcpy(copy, data, size);
	i = find_index(a, name);
	if (i >= 0) {
		unlink_member(a, (size_t)i);
		e = &a->v[i];
		if (e->own_data)
			free(e->data);
	} else {
		size_t n;
		const char *s = norm(name, &n);
		char *dup = n ? strndup(s, n) : strdup(".");

		if (!dup || (err = add_parents(a, name, now)) || !(e = append(a))) {
			free(dup);
			free(copy);
			return err ? err : ferr(-ENOMEM, "cpio: out of memory");
		}
		e->name = dup;
	}
	e->mode = mode;
	e->uid = e->gid = 0;
	e->nlink = S_ISDIR(mode) ? 2 : 1;
	e->mtime = now;
	e->devmajor = e->devminor = e->rdevmajor = e->rdevminor = 0;
	e->ino = 0;
	e->data = copy;
	e->size = size;
	e->own_data = copy != NULL;
	return 0;
}

int cpio_add_file(struct cpio_archive *a, const char *name, const void *data, size_t size,
		  uint32_t perm)
{
	return add_member(a, name, S_IFREG | (perm & 07777), data, size);
}

int cpio_add_dir(struct cpio_archive *a, const char *name, uint32_t perm)
{
	return add_member(a, name, S_IFDIR | (perm & 07777), NULL, 0);
}

int cpio_add_symlink(struct cpio_archive *a, const char *name, const char *target)
{
	if (!target[0])
		return ferr(-EINVAL, "cpio: %s: empty symbolic link target", name);
	return add_member(a, name, S_IFLNK | 0777, target, strlen(target));
}

int cpio_remove(struct cpio_archive *a, const char *name)
{
	size_t kept = 0, removed = 0;

	for (size_t i = 0; i < a->n; i++) {
		if (same_name(a->v[i].name, name)) {
			unlink_member(a, i);
			entry_release(&a->v[i]);
			removed++;
			continue;
		}
		a->v[kept++] = a->v[i];
	}
	a->n = kept;
	return removed ? 0 : -ENOENT;
}

static void put_header(uint8_t *p, const struct cpio_entry *e, uint32_t ino, uint32_t nlink,
		      size_t size, size_t namesize)
{
	char h[HDR_LEN + 1];

	snprintf(h, sizeof(h),
		 "070701%08" PRIX32 "%08" PRIX32 "%08" PRIX32 "%08" PRIX32 "%08" PRIX32 "%08" PRIX32
		 "%08" PRIX32 "%08" PRIX32 "%08" PRIX32 "%08" PRIX32 "%08" PRIX32 "%08" PRIX32
		 "%08" PRIX32,
		 ino, e ? e->mode : 0, e ? e->uid : 0, e ? e->gid : 0, nlink, e ? e->mtime : 0,
		 (uint32_t)size, e ? e->devmajor : 0, e ? e->devminor : 0, e ? e->rdevmajor : 0,
		 e ? e->rdevminor : 0, (uint32_t)namesize, (uint32_t)0);
	memcpy(p, h, HDR_LEN);
}

int cpio_write(const struct cpio_archive *a, void **out, size_t *outlen)
{
	const size_t trailer_len = align4(HDR_LEN + sizeof(TRAILER));
	uint32_t *inos = NULL, next_ino = 1;
	struct link *l = NULL;
	size_t total = 0, pos = 0;
	uint8_t *buf;
	int err;

	*out = NULL;
	*outlen = 0;
	if ((err = link_groups(a, &l)))
		return err;
	for (size_t i = 0; i < a->n; i++) {
		const struct cpio_entry *e = &a->v[i];
		size_t size = l[i].count > 1 ? (i == l[i].last ? a->v[l[i].holder].size : 0) : e->size;
		size_t namesize = strlen(e->name) + 1, rec;

		if (size > UINT32_MAX || namesize > NAME_MAX_LEN) {
			err = ferr(-EFBIG, "cpio: %s does not fit a newc member", e->name);
			goto out_free;
		}
		rec = align4(HDR_LEN + namesize) + align4(size);
		if (total > SIZE_MAX - 1024 - rec) {
			err = ferr(-EFBIG, "cpio: archive too large");
			goto out_free;
		}
		total += rec;
	}
	total = (total + trailer_len + 511) & ~(size_t)511;
	inos = calloc(a->n ? a->n : 1, sizeof(*inos));
	buf = calloc(1, total);
	if (!inos || !buf) {
		free(buf);
		err = ferr(-ENOMEM, "cpio: out of memory for a %zu MiB archive", total >> 20);
		goto out_free;
	}
	for (size_t i = 0; i < a->n; i++) {
		const struct cpio_entry *e = &a->v[i];
		const struct cpio_entry *src = e;
		size_t namesize = strlen(e->name) + 1, size = e->size;
		uint32_t nlink;

		if (l[i].count > 1) {
			inos[i] = i == l[i].first ? next_ino++ : inos[l[i].first];
			nlink = (uint32_t)l[i].count;
			src = &a->v[l[i].holder];
			size = i == l[i].last ? src->size : 0;
		} else {
			inos[i] = next_ino++;
			nlink = S_ISDIR(e->mode) ? (e->nlink ? e->nlink : 2) : 1;
		}
		put_header(buf + pos, e, inos[i], nlink, size, namesize);
		memcpy(buf + pos + HDR_LEN, e->name, namesize);
		pos = align4(pos + HDR_LEN + namesize);
		if (size)
			memcpy(buf + pos, src->data, size);
		pos = align4(pos + size);
	}
	put_header(buf + pos, NULL, 0, 1, 0, sizeof(TRAILER));
	memcpy(buf + pos + HDR_LEN, TRAILER, sizeof(TRAILER));
	*out = buf;
	*outlen = total;
out_free:
	free(inos);
	free(l);
	return err;
}
