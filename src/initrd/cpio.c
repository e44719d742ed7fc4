/* cpio newc/crc archives of initramfs images, read and written through
 * libarchive, with what the kernel's unpacker (init/initramfs.c) adds on
 * top: zeros between archives, crc checksums, a missing trailer. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <archive.h>
#include <archive_entry.h>

#include "initrd/cpio.h"
#include "util/err.h"
#include "util/strbuf.h"

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

static bool zeros(const uint8_t *b, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (b[i])
			return false;
	return true;
}

/* The data of the member libarchive is at, size bytes: borrowed from
 * [b, end) when libarchive hands out a pointer into it (an archive read
 * from memory does), else copied. */
static int member_data(struct archive *ar, const uint8_t *b, const uint8_t *end, size_t size,
		       struct cpio_entry *e)
{
	const void *blk;
	size_t blen, got = 0;
	la_int64_t boff;
	uint8_t *copy = NULL;
	int r;

	/* A size past the end of the data is a member cut short, found before
	 * any copy is made of that size. */
	if (size > (size_t)(end - b))
		return ferr(-EBADMSG, "cpio: %s: truncated member", e->name);
	while ((r = archive_read_data_block(ar, &blk, &blen, &boff)) == ARCHIVE_OK) {
		const uint8_t *p = blk;

		if (boff < 0 || (size_t)boff != got || blen > size - got)
			break;
		if (!got && blen == size && p >= b && p <= end && size <= (size_t)(end - p)) {
			e->data = (void *)p;
			return 0;
		}
		if (!copy && !(copy = malloc(size)))
			return ferr(-ENOMEM, "cpio: out of memory");
		memcpy(copy + got, p, blen);
		got += blen;
	}
	if (r == ARCHIVE_EOF && got == size) {
		e->data = copy;
		e->own_data = true;
		return 0;
	}
	free(copy);
	return ferr(-EBADMSG, "cpio: %s: truncated member", e->name);
}

/* A member from libarchive, with its header's fields; its body (data or
 * link target) is at b + body. */
static int take_member(struct archive *ar, struct archive_entry *ae, const uint8_t *b,
		       const uint8_t *end, size_t hdr, size_t body, struct cpio_archive *a)
{
	const char *name = archive_entry_pathname(ae);
	la_int64_t size = archive_entry_size(ae);
	struct cpio_entry *e;

	if (!name || !*name || strlen(name) >= NAME_MAX_LEN)
		return ferr(-EBADMSG, "cpio: bad name at offset %zu", hdr);
	if (size < 0 || size > UINT32_MAX)
		return ferr(-EBADMSG, "cpio: %s: bad size at offset %zu", name, hdr);
	if (!(e = append(a)) || !(e->name = strdup(name)))
		return ferr(-ENOMEM, "cpio: out of memory");
	e->ino = (uint32_t)archive_entry_ino64(ae);
	e->mode = (uint32_t)archive_entry_mode(ae);
	e->uid = (uint32_t)archive_entry_uid(ae);
	e->gid = (uint32_t)archive_entry_gid(ae);
	e->nlink = archive_entry_nlink(ae);
	e->mtime = (uint32_t)archive_entry_mtime(ae);
	e->devmajor = (uint32_t)archive_entry_devmajor(ae);
	e->devminor = (uint32_t)archive_entry_devminor(ae);
	e->rdevmajor = (uint32_t)archive_entry_rdevmajor(ae);
	e->rdevminor = (uint32_t)archive_entry_rdevminor(ae);
	e->size = (size_t)size;
	if (S_ISLNK(e->mode)) {
		/* libarchive takes a link's body as its target; the member keeps
		 * the body where it is in the archive. */
		const char *target = archive_entry_symlink(ae);

		if (!target || strlen(target) != e->size || body > (size_t)(end - b) ||
		    e->size > (size_t)(end - b) - body || memcmp(b + body, target, e->size))
			return ferr(-EBADMSG, "cpio: %s: bad link target at offset %zu", name, hdr);
		e->data = e->size ? (void *)(b + body) : NULL;
		return 0;
	}
	return size ? member_data(ar, b, end, e->size, e) : 0;
}

/* What libarchive leaves to the reader and the kernel does not: between
 * members only zeros (libarchive skips anything looking for the next
 * header), and a crc archive's checksums (libarchive reads 070702 as
 * newc). hdr is the member's header in b; prev_end where the one before
 * it ended. */
static int kernel_checks(const uint8_t *b, size_t prev_end, size_t hdr,
			 const struct cpio_entry *e)
{
	uint32_t check, sum = 0;

	if (hdr < prev_end || !zeros(b, prev_end, hdr))
		return ferr(-EBADMSG, "cpio: bad magic at offset %zu", prev_end);
	if (b[hdr + 5] != '2' || !S_ISREG(e->mode))
		return 0;
	if (hex8(b + hdr + 102, &check))
		return ferr(-EBADMSG, "cpio: bad header field 12 at offset %zu", hdr);
	for (size_t i = 0; i < e->size; i++)
		sum += ((const uint8_t *)e->data)[i];
	if (sum != check)
		return ferr(-EBADMSG, "cpio: %s: checksum mismatch (archive says %08" PRIx32
			    ", data sums to %08" PRIx32 ")", e->name, check, sum);
	return 0;
}

/* Whether the 13 fields of the newc header at b are all hexadecimal, as
 * they must be for the kernel and libarchive to read the same numbers. */
static bool all_hex(const uint8_t *b)
{
	uint32_t v;

	for (size_t f = 6; f < HDR_LEN; f += 8)
		if (hex8(b + f, &v))
			return false;
	return true;
}

/* Whether b[at, len), past zero words, is a whole trailer header and
 * name, with no data and its padding missing. */
static bool trailer_cut(const uint8_t *b, size_t len, size_t at)
{
	uint32_t filesize;

	if (at > len)
		return false;
	while (len - at >= 4 && !memcmp(b + at, "\0\0\0\0", 4))
		at += 4;
	return len - at >= HDR_LEN + sizeof(TRAILER) &&
	       len - at < align4(HDR_LEN + sizeof(TRAILER)) && !memcmp(b + at, "07070", 5) &&
	       all_hex(b + at) && !hex8(b + at + 54, &filesize) && filesize == 0 &&
	       !memcmp(b + at + HDR_LEN, TRAILER, sizeof(TRAILER));
}

/* How far from pos the data is whole newc members right one after the
 * other, as the kernel walks them, up to and with a trailer: a run.
 * libarchive is shown one run at a time and no more. Past a member it
 * would scan for the next magic when the bytes there are not a header
 * (zeros, which the kernel skips a word at a time, or anything else),
 * stepping over an aligned header and on into bytes the kernel never
 * reads as one; and it allocates a header's name size, or copies a
 * member's claimed size, before it finds the data too short. *cut is
 * where the header of a member the data cuts short is, *next where the
 * next run's header is when zeros end this one; each SIZE_MAX when the
 * walk met none. -EBADMSG for a name longer than any the kernel takes. */
static int newc_extent(const uint8_t *b, size_t pos, size_t len, size_t *end, size_t *cut,
		       size_t *next_run)
{
	size_t at = pos;

	*cut = *next_run = SIZE_MAX;
	for (;;) {
		size_t hdr = at, next;
		uint32_t filesize, namesize;

		while (len - hdr >= 4 && !memcmp(b + hdr, "\0\0\0\0", 4))
			hdr += 4;
		if (len - hdr < HDR_LEN || memcmp(b + hdr, "07070", 5) ||
		    (b[hdr + 5] != '1' && b[hdr + 5] != '2') || !all_hex(b + hdr))
			break;
		if (hdr != at) {
			*next_run = hdr;
			break;
		}
		hex8(b + hdr + 54, &filesize);
		hex8(b + hdr + 94, &namesize);
		if (namesize == 0 || namesize > NAME_MAX_LEN)
			return ferr(-EBADMSG, "cpio: a member name of %" PRIu32 " bytes at offset %zu "
				    "(the kernel takes at most %d)", namesize, hdr, NAME_MAX_LEN);
		next = align4(align4(hdr + HDR_LEN + namesize) + filesize);
		if (next > len) {
			*cut = hdr; /* not shown: the caller says where it is */
			break;
		}
		at = next;
		if (namesize == sizeof(TRAILER) && !memcmp(b + hdr + HDR_LEN, TRAILER, sizeof(TRAILER)))
			break;
	}
	*end = at;
	return 0;
}

static int cut_short(size_t hdr)
{
	return ferr(-EBADMSG, "cpio: truncated member at offset %zu: the data ends before its "
		    "name and data do", hdr);
}

int cpio_parse(const void *buf, size_t len, struct cpio_archive *a, size_t *consumed)
{
	const uint8_t *b = buf;
	size_t pos = 0, prev_end, run, base = 0, shown = 0, cut, next_run;
	struct archive *ar = NULL;
	struct archive_entry *ae;
	int r;

	cpio_archive_init(a);
	*consumed = 0;
	/* Before an archive the kernel eats zeros, a word at a time here so
	 * that headers stay aligned. */
	while (len - pos >= 4 && !memcmp(b + pos, "\0\0\0\0", 4))
		pos += 4;
	if (len - pos < 4 && zeros(b, pos, len)) {
		*consumed = pos;
		return ferr(-ENODATA, "cpio: no members");
	}
	if (len - pos >= 6 && !memcmp(b + pos, "070707", 6))
		return ferr(-ENOTSUP, "cpio: old portable (odc) format at offset %zu: the kernel "
			    "reads newc only", pos);
	if (len - pos < HDR_LEN || memcmp(b + pos, "07070", 5) ||
	    (b[pos + 5] != '1' && b[pos + 5] != '2'))
		return ferr(-EBADMSG, "cpio: bad magic at offset %zu", pos);
	prev_end = pos;
	/* Run after run (newc_extent), each read by a libarchive reader of its
	 * own; base is where the present one's data starts. */
	for (run = pos;; run = next_run) {
		r = newc_extent(b, run, len, &shown, &cut, &next_run);
		if (r)
			goto out_release;
		if (shown == run && cut != SIZE_MAX) {
			if (run == pos)
				return cut_short(cut);
			r = ARCHIVE_FATAL; /* after zeros: said below */
			break;
		}
		if (ar)
			archive_read_free(ar);
		base = run;
		ar = archive_read_new();
		if (!ar) {
			r = ferr(-ENOMEM, "cpio: out of memory");
			goto out_release;
		}
		if (archive_read_support_format_cpio(ar) != ARCHIVE_OK ||
		    archive_read_open_memory(ar, b + run, shown - run) != ARCHIVE_OK) {
			r = ferr(-EBADMSG, "cpio: %s", archive_error_string(ar)
					? archive_error_string(ar) : "not a cpio archive");
			goto out_release;
		}
		while ((r = archive_read_next_header(ar, &ae)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
			size_t hdr = run + (size_t)archive_read_header_position(ar), body;
			const struct cpio_entry *e;
			uint32_t namesize;

			if (hdr > len - HDR_LEN || hex8(b + hdr + 94, &namesize) || !namesize ||
			    namesize > len - hdr - HDR_LEN) {
				r = ferr(-EBADMSG, "cpio: truncated header at offset %zu", hdr);
				goto out_release;
			}
			/* The kernel takes the name's namesize bytes, a NUL last; the
			 * member's body is after them, whatever libarchive made of
			 * the name. */
			if (b[hdr + HDR_LEN + namesize - 1]) {
				r = ferr(-EBADMSG, "cpio: the member name at offset %zu does not end "
					 "with a NUL", hdr);
				goto out_release;
			}
			body = align4(hdr + HDR_LEN + namesize);
			r = take_member(ar, ae, b, b + len, hdr, body, a);
			if (r)
				goto out_release;
			e = &a->v[a->n - 1];
			r = kernel_checks(b, prev_end, hdr, e);
			if (r)
				goto out_release;
			prev_end = align4(body + e->size);
		}
		if (r == ARCHIVE_EOF || next_run == SIZE_MAX || prev_end != shown)
			break;
	}
	if (r != ARCHIVE_EOF && trailer_cut(b, len, prev_end)) {
		/* The trailer's own padding may be cut off at the very end, which
		 * libarchive refuses and the kernel does not mind. */
		r = ARCHIVE_EOF;
		*consumed = len;
	} else if (r == ARCHIVE_EOF) {
		*consumed = base + (size_t)archive_filter_bytes(ar, 0);
	}
	if (r != ARCHIVE_EOF) {
		/* libarchive stops where the data ends: cleanly after a whole
		 * member (no trailer, which the kernel accepts: the archive may go
		 * on in the next segment), or inside one. */
		size_t end = base + (size_t)archive_filter_bytes(ar, 0);

		*consumed = end;
		if (end >= len && prev_end >= len && a->n)
			r = ferr(-ENODATA, "cpio: the data ends after %s without " TRAILER,
				 a->v[a->n - 1].name);
		else if (cut != SIZE_MAX && zeros(b, prev_end, shown))
			r = cut_short(cut);
		else
			r = ferr(-EBADMSG, "cpio: truncated or corrupt member at offset %zu%s%s",
				 prev_end, archive_error_string(ar) ? ": " : "",
				 archive_error_string(ar) ? archive_error_string(ar) : "");
		goto out_release;
	}
	r = share_link_data(a);
	if (r)
		goto out_release;
	archive_read_free(ar);
	return 0;

out_release:
	if (ar)
		archive_read_free(ar);
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

static la_ssize_t write_cb(struct archive *ar, void *ctx, const void *buf, size_t len)
{
	(void)ar;
	return strbuf_add(ctx, buf, len) ? -1 : (la_ssize_t)len;
}

/* One member through libarchive's newc writer. */
static int write_member(struct archive *ar, struct archive_entry *ae, const struct cpio_entry *e,
			uint32_t ino, uint32_t nlink, const void *data, size_t size)
{
	char *target = NULL;
	int r;

	archive_entry_clear(ae);
	archive_entry_copy_pathname(ae, e->name);
	archive_entry_set_mode(ae, e->mode);
	archive_entry_set_uid(ae, e->uid);
	archive_entry_set_gid(ae, e->gid);
	archive_entry_set_nlink(ae, nlink);
	archive_entry_set_mtime(ae, e->mtime, 0);
	archive_entry_set_ino64(ae, ino);
	archive_entry_set_devmajor(ae, e->devmajor);
	archive_entry_set_devminor(ae, e->devminor);
	archive_entry_set_rdevmajor(ae, e->rdevmajor);
	archive_entry_set_rdevminor(ae, e->rdevminor);
	if (S_ISLNK(e->mode)) {
		/* newc keeps a link's target as its body; libarchive writes it. */
		target = strndup(data ? data : "", size);
		if (!target)
			return ferr(-ENOMEM, "cpio: out of memory");
		archive_entry_copy_symlink(ae, target);
		size = 0;
	}
	archive_entry_set_size(ae, (la_int64_t)(S_ISLNK(e->mode) ? strlen(target) : size));
	r = archive_write_header(ar, ae);
	if (r == ARCHIVE_OK && size && archive_write_data(ar, data, size) != (la_ssize_t)size)
		r = ARCHIVE_FATAL;
	free(target);
	if (r != ARCHIVE_OK)
		return ferr(-EIO, "cpio: %s: %s", e->name, archive_error_string(ar)
				  ? archive_error_string(ar) : "libarchive cannot write it");
	return 0;
}

int cpio_write(const struct cpio_archive *a, void **out, size_t *outlen)
{
	uint32_t *inos = NULL, next_ino = 1;
	struct archive *ar = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	struct link *l = NULL;
	struct strbuf sb;
	int err;

	*out = NULL;
	*outlen = 0;
	strbuf_init(&sb);
	if (!ar || !ae) {
		err = ferr(-ENOMEM, "cpio: out of memory");
		goto out_free;
	}
	if ((err = link_groups(a, &l)))
		goto out_free;
	inos = calloc(a->n ? a->n : 1, sizeof(*inos));
	if (!inos) {
		err = ferr(-ENOMEM, "cpio: out of memory");
		goto out_free;
	}
	/* newc, zero-filled to 512 bytes like GNU cpio. */
	if (archive_write_set_format_cpio_newc(ar) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(ar, 512) != ARCHIVE_OK ||
	    archive_write_open2(ar, &sb, NULL, write_cb, NULL, NULL) != ARCHIVE_OK) {
		err = ferr(-EIO, "cpio: %s", archive_error_string(ar) ? archive_error_string(ar)
								   : "libarchive cannot start");
		goto out_free;
	}
	for (size_t i = 0; !err && i < a->n; i++) {
		const struct cpio_entry *e = &a->v[i], *src = e;
		size_t size = e->size;
		uint32_t nlink;

		if (size > UINT32_MAX || strlen(e->name) + 1 > NAME_MAX_LEN) {
			err = ferr(-EFBIG, "cpio: %s does not fit a newc member", e->name);
			break;
		}
		/* Inodes renumbered; a hardlink group keeps one number and carries
		 * its data on its last member. */
		if (l[i].count > 1) {
			inos[i] = i == l[i].first ? next_ino++ : inos[l[i].first];
			nlink = (uint32_t)l[i].count;
			src = &a->v[l[i].holder];
			size = i == l[i].last ? src->size : 0;
		} else {
			inos[i] = next_ino++;
			nlink = S_ISDIR(e->mode) ? (e->nlink ? e->nlink : 2) : 1;
		}
		err = write_member(ar, ae, e, inos[i], nlink, src->data, size);
	}
	if (!err && archive_write_close(ar) != ARCHIVE_OK)
		err = ferr(-EIO, "cpio: %s", archive_error_string(ar) ? archive_error_string(ar)
								 : "libarchive cannot finish");
	if (!err) {
		*out = sb.s ? sb.s : calloc(1, 1);
		*outlen = sb.len;
		sb.s = NULL;
		if (!*out)
			err = ferr(-ENOMEM, "cpio: out of memory");
	}
out_free:
	if (ae)
		archive_entry_free(ae);
	if (ar)
		archive_write_free(ar);
	strbuf_release(&sb);
	free(inos);
	free(l);
	return err;
}
