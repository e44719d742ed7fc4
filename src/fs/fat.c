/* FAT12/16/32 read and written by Ferry (fs/fat.h): the geometry from the
 * boot sector, the active FAT kept in memory as it is on disk, each
 * directory read whole and written back whole after a change. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs/fat.h"
#include "util/endian.h"
#include "util/err.h"

#define DIRENT 32
#define ATTR_VOLUME 0x08
#define ATTR_DIR 0x10
#define ATTR_ARCHIVE 0x20
#define ATTR_LFN 0x0f
#define SLOT_FREE 0xe5
#define NT_LOWER_BASE 0x08
#define NT_LOWER_EXT 0x10
#define LFN_CHARS 13
#define LFN_MAX 255               /* UTF-16 units in a long name */
#define LFN_SLOTS_MAX 20          /* ceil(255 / 13) */
#define NAME_UTF8_MAX (LFN_MAX * 3 + 1)
#define DIR_BYTES_MAX (65536 * DIRENT) /* the most entries a directory has */

struct fat_fs {
	struct blkdev dev;
	bool writable;
	unsigned bits;
	uint32_t sector, cluster_bytes;
	uint64_t fat_off, fat_bytes; /* the first FAT; each FAT's size */
	unsigned nfats, active;      /* active: the FAT read (FAT32 may not mirror) */
	bool mirror;
	uint64_t root_off;           /* FAT12/16: the fixed root directory */
	uint32_t root_bytes;
	uint32_t root_cluster;       /* FAT32 */
	uint64_t data_off;
	uint32_t nclusters;          /* data clusters, numbered 2 .. nclusters + 1 */
	uint64_t size;
	uint8_t *table;              /* the active FAT, fat_bytes of it */
	uint32_t serial;
	bool have_serial;
	char bpb_label[12];
	char label[12];              /* the root directory's volume label */
	uint16_t date, time;         /* what every entry written is stamped with */
	uint64_t fsinfo_off;         /* FAT32's FSInfo sector, 0 if none */
	uint32_t hint;               /* where a free cluster is looked for first */
};

/* A directory, read whole: the FAT12/16 root (first 0) or a chain. */
struct dir {
	uint32_t first;
	uint8_t *buf;
	size_t len;
	uint32_t *cl;
	size_t ncl;
};

/* An entry of a directory: its name (the long one if it has one), its
 * slots (long-name slots first, the short entry last). */
struct dent {
	char name[NAME_UTF8_MAX];
	char short_name[16];
	size_t first_slot, slot;
	uint8_t attr;
	uint32_t cluster, size;
};

/* The table */

static uint32_t eoc_min(const struct fat_fs *f)
{
	return f->bits == 12 ? 0xff8 : f->bits == 16 ? 0xfff8 : 0x0ffffff8;
}

static uint32_t bad_mark(const struct fat_fs *f)
{
	return eoc_min(f) - 1;
}

static uint32_t eoc_mark(const struct fat_fs *f)
{
	return f->bits == 12 ? 0xfff : f->bits == 16 ? 0xffff : 0x0fffffff;
}

static uint32_t fat_get(const struct fat_fs *f, uint32_t c)
{
	if (f->bits == 12) {
		uint32_t v = get_le16(f->table + c + c / 2);

		return c & 1 ? v >> 4 : v & 0xfff;
	}
	if (f->bits == 16)
		return get_le16(f->table + 2 * (size_t)c);
	return get_le32(f->table + 4 * (size_t)c) & 0x0fffffff;
}

static void fat_set(struct fat_fs *f, uint32_t c, uint32_t v)
{
	if (f->bits == 12) {
		uint8_t *p = f->table + c + c / 2;
		uint16_t old = get_le16(p);

		put_le16(p, c & 1 ? (uint16_t)((old & 0x000f) | (v << 4))
				  : (uint16_t)((old & 0xf000) | (v & 0xfff)));
	} else if (f->bits == 16) {
		put_le16(f->table + 2 * (size_t)c, (uint16_t)v);
	} else {
		uint8_t *p = f->table + 4 * (size_t)c;

		put_le32(p, (get_le32(p) & 0xf0000000) | (v & 0x0fffffff));
	}
}

static uint64_t cluster_off(const struct fat_fs *f, uint32_t c)
{
	return f->data_off + (uint64_t)(c - 2) * f->cluster_bytes;
}

static bool in_range(const struct fat_fs *f, uint32_t c)
{
	return c >= 2 && c - 2 < f->nclusters;
}

/* The clusters of the chain from first: at most limit of them; *ended
 * says whether the chain ended there (an end-of-chain mark). */
static int chain(const struct fat_fs *f, uint32_t first, size_t limit, uint32_t **out,
		 size_t *n, bool *ended)
{
	uint32_t c = first, *v = NULL;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	*ended = false;
	while (*n < limit) {
		uint32_t next;

		if (!in_range(f, c)) {
			free(v);
			return ferr(-EINVAL, "%s: a cluster chain leads outside the filesystem "
				    "(cluster %u)", f->dev.name, c);
		}
		if (*n == cap) {
			uint32_t *nv;

			cap = cap ? 2 * cap : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return ferr(-ENOMEM, "out of memory");
			}
			v = nv;
		}
		v[(*n)++] = c;
		next = fat_get(f, c);
		if (next >= eoc_min(f)) {
			*ended = true;
			break;
		}
		if (next == bad_mark(f) || next == 0) {
			free(v);
			return ferr(-EINVAL, "%s: the cluster chain through cluster %u is broken (%s)",
				    f->dev.name, c, next ? "a bad cluster" : "a free cluster");
		}
		c = next;
	}
	*out = v;
	return 0;
}

/* Frees the chain from first (it stops at anything that is not a next
 * cluster, so a damaged chain frees what it can and a loop ends). */
static void free_chain(struct fat_fs *f, uint32_t first)
{
	for (uint32_t c = first; in_range(f, c);) {
		uint32_t next = fat_get(f, c);

		if (!next || next == bad_mark(f))
			break;
		fat_set(f, c, 0);
		if (c - 2 < f->hint - 2 || !in_range(f, f->hint))
			f->hint = c;
		c = next;
	}
}

/* n free clusters, linked as a chain in *first (0 when n is 0). */
static int alloc_chain(struct fat_fs *f, size_t n, uint32_t *first)
{
	uint32_t *got, prev = 0;
	size_t k = 0;

	*first = 0;
	if (!n)
		return 0;
	if (n > f->nclusters)
		return ferr(-ENOSPC, "%s: no room for %zu clusters", f->dev.name, n);
	got = malloc(n * sizeof(*got));
	if (!got)
		return ferr(-ENOMEM, "out of memory");
	for (uint32_t i = 0; i < f->nclusters && k < n; i++) {
		uint32_t c = 2 + (f->hint - 2 + i) % f->nclusters;

		if (!fat_get(f, c))
			got[k++] = c;
	}
	if (k < n) {
		free(got);
		return ferr(-ENOSPC, "%s: no free cluster left", f->dev.name);
	}
	for (size_t i = 0; i < n; i++) {
		if (prev)
			fat_set(f, prev, got[i]);
		prev = got[i];
	}
	fat_set(f, prev, eoc_mark(f));
	*first = got[0];
	f->hint = 2 + (got[n - 1] - 2 + 1) % f->nclusters;
	free(got);
	return 0;
}

/* Writes the table to every FAT (the active one alone when FAT32 does not
 * mirror), and FAT32's FSInfo counts. */
static int store_table(struct fat_fs *f)
{
	uint8_t info[512];
	uint32_t nfree = 0;
	int err = 0;

	for (unsigned i = 0; !err && i < f->nfats; i++)
		if (f->mirror || i == f->active)
			err = blk_write(&f->dev, f->table, (size_t)f->fat_bytes,
					f->fat_off + i * f->fat_bytes);
	if (err || !f->fsinfo_off)
		return err;
	err = blk_read(&f->dev, info, sizeof(info), f->fsinfo_off);
	if (err)
		return err;
	for (uint32_t c = 2; c - 2 < f->nclusters; c++)
		nfree += !fat_get(f, c);
	put_le32(info + 488, nfree);
	put_le32(info + 492, f->hint);
	return blk_write(&f->dev, info, sizeof(info), f->fsinfo_off);
}

/* Opening */

static void trim_label(const uint8_t *p, char *out)
{
	size_t n = 11;

	while (n && p[n - 1] == ' ')
		n--;
	memcpy(out, p, n);
	out[n] = '\0';
}

static int geometry(struct fat_fs *f, const uint8_t *bs)
{
	uint32_t bps = get_le16(bs + 11), spc = bs[13], rsv = get_le16(bs + 14);
	uint32_t rootents = get_le16(bs + 17);
	uint64_t tot = get_le16(bs + 19) ? get_le16(bs + 19) : get_le32(bs + 32);
	uint64_t fatsz = get_le16(bs + 22) ? get_le16(bs + 22) : get_le32(bs + 36);
	uint64_t root_sectors, data_sec, n, need;
	const char *name = f->dev.name;

	f->nfats = bs[16];
	if ((bps != 512 && bps != 1024 && bps != 2048 && bps != 4096) || !spc || (spc & (spc - 1)) ||
	    !rsv || !f->nfats || f->nfats > 4 || !tot || !fatsz)
		return ferr(-EINVAL, "%s: not a FAT boot sector (sector size %u, %u sectors per "
			    "cluster, %u reserved, %u FATs)", name, bps, spc, rsv, f->nfats);
	f->sector = bps;
	f->cluster_bytes = bps * spc;
	f->size = tot * bps;
	if (f->size > f->dev.size)
		return ferr(-EINVAL, "%s: the FAT filesystem (%llu bytes) is larger than its "
			    "device (%llu)", name, (unsigned long long)f->size,
			    (unsigned long long)f->dev.size);
	root_sectors = ((uint64_t)rootents * DIRENT + bps - 1) / bps;
	data_sec = rsv + f->nfats * fatsz + root_sectors;
	if (data_sec >= tot)
		return ferr(-EINVAL, "%s: the FAT boot sector leaves no data area", name);
	n = (tot - data_sec) / spc;
	/* As Linux and fsck.fat decide: FAT32 by its boot sector (no 16-bit
	 * FAT size), else by the cluster count. */
	f->bits = !get_le16(bs + 22) ? 32 : n < 4085 ? 12 : 16;
	if (!n || n > (f->bits == 32 ? 0x0ffffff5u : 0xfff4u))
		return ferr(-EINVAL, "%s: %llu clusters in a FAT%u", name, (unsigned long long)n,
			    f->bits);
	f->nclusters = (uint32_t)n;
	f->fat_off = (uint64_t)rsv * bps;
	f->fat_bytes = fatsz * bps;
	f->root_off = f->fat_off + f->nfats * f->fat_bytes;
	f->root_bytes = (uint32_t)(root_sectors * bps);
	f->data_off = data_sec * bps;
	need = f->bits == 12 ? (n + 2) * 3 / 2 + 1 : (n + 2) * (f->bits / 8);
	if (need > f->fat_bytes)
		return ferr(-EINVAL, "%s: the FAT (%llu bytes) is too small for %u clusters", name,
			    (unsigned long long)f->fat_bytes, f->nclusters);
	if (f->fat_bytes > FAT_TABLE_MAX)
		return ferr(-ENOTSUP, "%s: a FAT of %llu MiB: Ferry reads FATs up to %u MiB",
			    name, (unsigned long long)(f->fat_bytes >> 20), FAT_TABLE_MAX >> 20);
	f->mirror = true;
	if (f->bits == 32) {
		uint16_t flags = get_le16(bs + 40), fsinfo = get_le16(bs + 48);

		if (rootents || get_le16(bs + 22))
			return ferr(-EINVAL, "%s: a FAT32 boot sector with a FAT16 root", name);
		f->root_cluster = get_le32(bs + 44);
		if (!in_range(f, f->root_cluster))
			return ferr(-EINVAL, "%s: the root directory's cluster %u is outside the "
				    "filesystem", name, f->root_cluster);
		f->mirror = !(flags & 0x80);
		f->active = f->mirror ? 0 : flags & 0x0f;
		if (f->active >= f->nfats)
			return ferr(-EINVAL, "%s: the active FAT is %u of %u", name, f->active,
				    f->nfats);
		if (fsinfo && fsinfo < rsv)
			f->fsinfo_off = (uint64_t)fsinfo * bps;
		if (bs[66] == 0x29) {
			f->have_serial = true;
			f->serial = get_le32(bs + 67);
			trim_label(bs + 71, f->bpb_label);
		}
	} else {
		if (!rootents)
			return ferr(-EINVAL, "%s: a FAT%u boot sector without a root directory",
				    name, f->bits);
		if (bs[38] == 0x29) {
			f->have_serial = true;
			f->serial = get_le32(bs + 39);
			trim_label(bs + 43, f->bpb_label);
		}
	}
	if (!strcmp(f->bpb_label, "NO NAME"))
		f->bpb_label[0] = '\0';
	return 0;
}

static int dir_load(struct fat_fs *f, uint32_t first, struct dir *d);
static void dir_release(struct dir *d);

/* The label as blkid reads it: the root directory's volume entry; and
 * the stamp of what Ferry writes: the root's newest entry's, not the
 * clock, so that two captures of one source are byte-identical (an
 * upload resumes by comparing a second capture's parts with those
 * stored). A root that cannot be read is found so by whatever reads it
 * next. */
static void root_scan(struct fat_fs *f)
{
	uint32_t newest = 0x00210000; /* 1980-01-01 00:00 */
	struct dir d;

	if (dir_load(f, 0, &d)) {
		ferr_clear();
		d.len = 0;
	}
	for (size_t i = 0; i + DIRENT <= d.len && d.buf[i]; i += DIRENT) {
		const uint8_t *e = d.buf + i;
		uint32_t t = (uint32_t)get_le16(e + 24) << 16 | get_le16(e + 22);

		if (e[0] == SLOT_FREE || (e[11] & 0x3f) == ATTR_LFN)
			continue;
		if ((e[11] & ATTR_VOLUME) && !f->label[0])
			trim_label(e, f->label);
		if (t > newest)
			newest = t;
	}
	f->date = (uint16_t)(newest >> 16);
	f->time = (uint16_t)newest;
	dir_release(&d);
}

int fatfs_open(struct fat_fs **out, const struct blkdev *d, bool writable)
{
	struct fat_fs *f;
	uint8_t bs[512], info[512];
	int err;

	*out = NULL;
	if (writable && !d->copy)
		return ferr(-EROFS, "%s: not a device of the copy", d->name);
	if (d->size < sizeof(bs))
		return ferr(-EINVAL, "%s: too small for a FAT filesystem", d->name);
	f = calloc(1, sizeof(*f));
	if (!f)
		return ferr(-ENOMEM, "out of memory");
	f->dev = *d;
	f->writable = writable;
	err = blk_read(d, bs, sizeof(bs), 0);
	if (!err)
		err = geometry(f, bs);
	if (err)
		goto out_free;
	f->table = malloc((size_t)f->fat_bytes);
	if (!f->table) {
		err = ferr(-ENOMEM, "out of memory");
		goto out_free;
	}
	err = blk_read(d, f->table, (size_t)f->fat_bytes, f->fat_off + f->active * f->fat_bytes);
	if (err)
		goto out_free;
	f->hint = 2;
	if (f->fsinfo_off) {
		err = blk_read(d, info, sizeof(info), f->fsinfo_off);
		if (err)
			goto out_free;
		if (get_le32(info) != 0x41615252 || get_le32(info + 484) != 0x61417272)
			f->fsinfo_off = 0; /* none to keep up to date */
		else if (in_range(f, get_le32(info + 492)))
			f->hint = get_le32(info + 492);
	}
	root_scan(f);
	*out = f;
	return 0;

out_free:
	fatfs_free(f);
	return err;
}

void fatfs_free(struct fat_fs *f)
{
	if (!f)
		return;
	free(f->table);
	free(f);
}

/* Directories */

static void dir_release(struct dir *d)
{
	free(d->buf);
	free(d->cl);
	memset(d, 0, sizeof(*d));
}

static int dir_load(struct fat_fs *f, uint32_t first, struct dir *d)
{
	bool ended;
	int err;

	memset(d, 0, sizeof(*d));
	d->first = first;
	if (!first && f->bits != 32) {
		d->len = f->root_bytes;
		d->buf = malloc(d->len);
		if (!d->buf)
			return ferr(-ENOMEM, "out of memory");
		err = blk_read(&f->dev, d->buf, d->len, f->root_off);
		if (err)
			dir_release(d);
		return err;
	}
	err = chain(f, first ? first : f->root_cluster,
		    DIR_BYTES_MAX / f->cluster_bytes ? DIR_BYTES_MAX / f->cluster_bytes : 1, &d->cl,
		    &d->ncl, &ended);
	if (!err && !ended)
		err = ferr(-EINVAL, "%s: a directory at cluster %u is longer than any FAT "
			   "directory (a loop in its chain?)", f->dev.name, first);
	if (!err) {
		d->len = d->ncl * f->cluster_bytes;
		d->buf = malloc(d->len);
		if (!d->buf)
			err = ferr(-ENOMEM, "out of memory");
	}
	for (size_t i = 0; !err && i < d->ncl; i++)
		err = blk_read(&f->dev, d->buf + i * f->cluster_bytes, f->cluster_bytes,
			       cluster_off(f, d->cl[i]));
	if (err)
		dir_release(d);
	return err;
}

static int dir_store(struct fat_fs *f, const struct dir *d)
{
	int err = 0;

	if (!d->cl)
		return blk_write(&f->dev, d->buf, d->len, f->root_off);
	for (size_t i = 0; !err && i < d->ncl; i++)
		err = blk_write(&f->dev, d->buf + i * f->cluster_bytes, f->cluster_bytes,
				cluster_off(f, d->cl[i]));
	return err;
}

/* Adds a zeroed cluster at the directory's end. */
static int dir_grow(struct fat_fs *f, struct dir *d)
{
	uint32_t c, *ncl;
	uint8_t *nbuf;
	int err;

	if (!d->cl)
		return ferr(-ENOSPC, "%s: the root directory is full", f->dev.name);
	if (d->len + f->cluster_bytes > DIR_BYTES_MAX)
		return ferr(-ENOSPC, "%s: a directory holds at most 65536 entries", f->dev.name);
	ncl = realloc(d->cl, (d->ncl + 1) * sizeof(*ncl));
	if (!ncl)
		return ferr(-ENOMEM, "out of memory");
	d->cl = ncl;
	nbuf = realloc(d->buf, d->len + f->cluster_bytes);
	if (!nbuf)
		return ferr(-ENOMEM, "out of memory");
	d->buf = nbuf;
	err = alloc_chain(f, 1, &c);
	if (err)
		return err;
	fat_set(f, d->cl[d->ncl - 1], c);
	d->cl[d->ncl++] = c;
	memset(d->buf + d->len, 0, f->cluster_bytes);
	d->len += f->cluster_bytes;
	return 0;
}

static uint8_t short_sum(const uint8_t *sn)
{
	uint8_t s = 0;

	for (int i = 0; i < 11; i++)
		s = (uint8_t)(((s & 1) << 7) + (s >> 1) + sn[i]);
	return s;
}

static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A long name's UTF-16 units (up to a NUL) as UTF-8; a lone surrogate
 * becomes U+FFFD. */
static void lfn_utf8(const uint16_t *u, size_t n, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < n && u[i]; i++) {
		uint32_t cp = u[i];

		if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < n && u[i + 1] >= 0xdc00 &&
		    u[i + 1] < 0xe000) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (u[i + 1] - 0xdc00);
			i++;
		} else if (cp >= 0xd800 && cp < 0xe000) {
			cp = 0xfffd;
		}
		if (o + 5 > size)
			break;
		o += put_utf8(out + o, cp);
	}
	out[o] = '\0';
}

/* An 8.3 name as Linux shows it: Latin-1, lower case where the flags say. */
static void short_text(const uint8_t *e, char *out)
{
	size_t o = 0;

	for (int part = 0; part < 2; part++) {
		int from = part ? 8 : 0, to = part ? 11 : 8, end = to;
		bool lower = e[12] & (part ? NT_LOWER_EXT : NT_LOWER_BASE);

		while (end > from && e[end - 1] == ' ')
			end--;
		if (part && end > from)
			out[o++] = '.';
		for (int i = from; i < end; i++) {
			uint8_t c = (i == 0 && e[0] == 0x05) ? SLOT_FREE : e[i];

			if (lower && c >= 'A' && c <= 'Z')
				c = (uint8_t)(c - 'A' + 'a');
			o += put_utf8(out + o, c);
		}
	}
	out[o] = '\0';
}

typedef int (*dent_fn)(const struct dent *de, void *arg);

/* Each entry of d but volume labels, with its long name where the slots
 * before it hold one that belongs to it (order and checksum right). */
static int dir_walk(const struct fat_fs *f, const struct dir *d, dent_fn fn, void *arg)
{
	uint16_t lfn[LFN_SLOTS_MAX * LFN_CHARS];
	unsigned expect = 0, total = 0;
	uint8_t sum = 0;
	size_t lfn_start = 0;
	struct dent *de = malloc(sizeof(*de));
	int r = 0;

	if (!de)
		return ferr(-ENOMEM, "out of memory");
	for (size_t i = 0; i + DIRENT <= d->len; i += DIRENT) {
		const uint8_t *e = d->buf + i;

		if (!e[0])
			break;
		if (e[0] == SLOT_FREE) {
			expect = 0;
			continue;
		}
		if ((e[11] & 0x3f) == ATTR_LFN) {
			static const uint8_t at[LFN_CHARS] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
			unsigned ord = e[0] & 0x3f;

			if (e[0] & 0x40) {
				if (!ord || ord > LFN_SLOTS_MAX) {
					expect = 0;
					continue;
				}
				total = ord;
				sum = e[13];
				lfn_start = i;
				for (size_t k = 0; k < sizeof(lfn) / sizeof(lfn[0]); k++)
					lfn[k] = 0;
			} else if (!expect || ord != expect || e[13] != sum) {
				expect = 0;
				continue;
			}
			for (unsigned k = 0; k < LFN_CHARS; k++) {
				uint16_t u = get_le16(e + at[k]);

				lfn[(ord - 1) * LFN_CHARS + k] = u == 0xffff ? 0 : u;
			}
			expect = ord - 1;
			if (!expect)
				expect = (unsigned)-1; /* complete: the short entry is next */
			continue;
		}
		if (e[11] & ATTR_VOLUME) {
			expect = 0;
			continue;
		}
		short_text(e, de->short_name);
		if (expect == (unsigned)-1 && short_sum(e) == sum) {
			lfn_utf8(lfn, (size_t)total * LFN_CHARS, de->name, sizeof(de->name));
			de->first_slot = lfn_start / DIRENT;
		} else {
			snprintf(de->name, sizeof(de->name), "%s", de->short_name);
			de->first_slot = i / DIRENT;
		}
		expect = 0;
		de->slot = i / DIRENT;
		de->attr = e[11];
		de->cluster = get_le16(e + 26) | (f->bits == 32 ? (uint32_t)get_le16(e + 20) << 16 : 0);
		de->size = get_le32(e + 28);
		r = fn(de, arg);
		if (r)
			break;
	}
	free(de);
	return r;
}

struct find {
	const char *name;
	struct dent *out;
};

static int find_one(const struct dent *de, void *arg)
{
	struct find *fd = arg;

	if (strcmp(de->short_name, ".") && strcmp(de->short_name, "..") &&
	    (!strcasecmp(de->name, fd->name) || !strcasecmp(de->short_name, fd->name))) {
		*fd->out = *de;
		return 1;
	}
	return 0;
}

/* The entry named name in d, by its long or its short name. */
static int dir_find(const struct fat_fs *f, const struct dir *d, const char *name,
		    struct dent *de)
{
	struct find fd = {name, de};
	int r = dir_walk(f, d, find_one, &fd);

	return r == 1 ? 0 : r < 0 ? r : -ENOENT;
}

/* Paths */

/* Loads the directory that holds path's last component into d and points
 * *leaf at that component. */
static int load_parent(struct fat_fs *f, const char *path, struct dir *d, const char **leaf)
{
	char comp[NAME_UTF8_MAX];
	const char *p = path;
	uint32_t at = 0;
	int err;

	if (path[0] != '/')
		return ferr(-EINVAL, "%s: path %s is not absolute", f->dev.name, path);
	for (;;) {
		const char *slash;
		size_t n;
		struct dent de;

		while (*p == '/')
			p++;
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (!slash || !slash[strspn(slash, "/")]) {
			*leaf = p;
			return dir_load(f, at, d);
		}
		if (n >= sizeof(comp))
			return ferr(-ENAMETOOLONG, "%s: a name in %s is too long", f->dev.name, path);
		memcpy(comp, p, n);
		comp[n] = '\0';
		err = dir_load(f, at, d);
		if (!err)
			err = dir_find(f, d, comp, &de);
		dir_release(d);
		if (err)
			return err;
		if (!(de.attr & ATTR_DIR))
			return ferr(-ENOTDIR, "%s: %s: %s is not a directory", f->dev.name, path, comp);
		if (!de.cluster)
			return ferr(-EINVAL, "%s: the directory %s has no cluster", f->dev.name, comp);
		at = de.cluster;
		p += n;
	}
}

/* The leaf without the slashes that may follow it. */
static int leaf_name(const struct fat_fs *f, const char *leaf, char *out)
{
	size_t n = strcspn(leaf, "/");

	if (n >= NAME_UTF8_MAX)
		return ferr(-ENAMETOOLONG, "%s: the name %s is too long", f->dev.name, leaf);
	memcpy(out, leaf, n);
	out[n] = '\0';
	return 0;
}

static int need_writable(const struct fat_fs *f, const char *path)
{
	return f->writable ? 0 : ferr(-EROFS, "%s: cannot change %s: opened read-only",
				      f->dev.name, path);
}

/* Loads the parent of path and finds path in it (for a change, on a
 * filesystem opened writable); *leaf is its name. For "/" the root
 * itself: *is_root. -ENOENT with d->buf set: the parent is
 * there and the leaf is not; with d->buf NULL: the parent is missing. */
static int lookup(struct fat_fs *f, const char *path, bool change, struct dir *d,
		  struct dent *de, char *leaf, bool *is_root)
{
	const char *l;
	int err;

	*is_root = false;
	memset(d, 0, sizeof(*d));
	if (change && (err = need_writable(f, path)))
		return err;
	err = load_parent(f, path, d, &l);
	if (err)
		return err;
	err = leaf_name(f, l, leaf);
	if (!err && !leaf[0]) {
		*is_root = true;
		return 0;
	}
	if (!err)
		err = dir_find(f, d, leaf, de);
	return err;
}

/* Reading */

int fatfs_stat(struct fat_fs *f, const char *path, struct fat_stat *st)
{
	char leaf[NAME_UTF8_MAX];
	struct dir d;
	struct dent de;
	bool root;
	int err;

	err = lookup(f, path, false, &d, &de, leaf, &root);
	if (!err) {
		st->dir = root || (de.attr & ATTR_DIR);
		st->size = root || (de.attr & ATTR_DIR) ? 0 : de.size;
	}
	dir_release(&d);
	return err;
}

static int read_chain(struct fat_fs *f, uint32_t first, uint32_t size, uint8_t *buf)
{
	size_t need = (size + (size_t)f->cluster_bytes - 1) / f->cluster_bytes, n;
	uint32_t *cl;
	bool ended;
	int err;

	if (!size)
		return 0;
	err = chain(f, first, need, &cl, &n, &ended);
	if (err)
		return err;
	if (n < need)
		err = ferr(-EINVAL, "%s: a file of %u bytes has a chain of %zu clusters",
			   f->dev.name, size, n);
	for (size_t i = 0; !err && i < n; i++) {
		size_t at = i * f->cluster_bytes;
		size_t len = size - at < f->cluster_bytes ? size - at : f->cluster_bytes;

		err = blk_read(&f->dev, buf + at, len, cluster_off(f, cl[i]));
	}
	free(cl);
	return err;
}

int fatfs_read(struct fat_fs *f, const char *path, size_t max, char **data, size_t *len)
{
	char leaf[NAME_UTF8_MAX], *buf = NULL;
	struct dir d;
	struct dent de;
	bool root;
	int err;

	*data = NULL;
	*len = 0;
	err = lookup(f, path, false, &d, &de, leaf, &root);
	dir_release(&d);
	if (!err && (root || (de.attr & ATTR_DIR)))
		err = ferr(-EISDIR, "%s: %s is a directory", f->dev.name, path);
	if (!err && de.size > max)
		err = ferr(-EFBIG, "%s: %s is larger than %zu bytes", f->dev.name, path, max);
	if (!err && !(buf = malloc((size_t)de.size + 1)))
		err = ferr(-ENOMEM, "out of memory");
	if (!err)
		err = read_chain(f, de.cluster, de.size, (uint8_t *)buf);
	if (err) {
		free(buf);
		return err;
	}
	buf[de.size] = '\0';
	*data = buf;
	*len = de.size;
	return 0;
}

struct list {
	fat_list_fn fn;
	void *arg;
};

static int list_one(const struct dent *de, void *arg)
{
	struct list *l = arg;

	if (!strcmp(de->short_name, ".") || !strcmp(de->short_name, ".."))
		return 0;
	return l->fn(de->name, de->attr & ATTR_DIR, l->arg);
}

int fatfs_list(struct fat_fs *f, const char *path, fat_list_fn fn, void *arg)
{
	char leaf[NAME_UTF8_MAX];
	struct list l = {fn, arg};
	struct dir d, sub;
	struct dent de;
	bool root;
	int err;

	err = lookup(f, path, false, &d, &de, leaf, &root);
	if (!err && root) {
		err = dir_walk(f, &d, list_one, &l);
	} else if (!err && !(de.attr & ATTR_DIR)) {
		err = ferr(-ENOTDIR, "%s: %s is not a directory", f->dev.name, path);
	} else if (!err) {
		err = dir_load(f, de.cluster, &sub);
		if (!err)
			err = dir_walk(f, &sub, list_one, &l);
		dir_release(&sub);
	}
	dir_release(&d);
	return err;
}

/* Writing: names */

static bool short_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'()-@^_`{}~", c));
}

/* Whether a part of an 8.3 name is all lower case (true) or has no lower
 * case letter (false); -1 if it mixes them. */
static int part_case(const char *s, size_t n)
{
	bool lower = false, upper = false;

	for (size_t i = 0; i < n; i++) {
		lower |= s[i] >= 'a' && s[i] <= 'z';
		upper |= s[i] >= 'A' && s[i] <= 'Z';
	}
	return lower && upper ? -1 : lower;
}

/* name as a plain 8.3 entry, as Linux writes one without a long name:
 * each part in one case, kept by the case flags. */
static bool plain_short(const char *name, uint8_t *sn, uint8_t *nt)
{
	const char *dot = strchr(name, '.');
	size_t base = dot ? (size_t)(dot - name) : strlen(name), ext = dot ? strlen(dot + 1) : 0;
	int bc, ec;

	if (!base || base > 8 || ext > 3 || (dot && (!ext || strchr(dot + 1, '.'))))
		return false;
	for (size_t i = 0; name[i]; i++)
		if (name + i != dot && !short_char((unsigned char)name[i]))
			return false;
	bc = part_case(name, base);
	ec = dot ? part_case(dot + 1, ext) : 0;
	if (bc < 0 || ec < 0)
		return false;
	memset(sn, ' ', 11);
	for (size_t i = 0; i < base; i++)
		sn[i] = (uint8_t)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
	for (size_t i = 0; i < ext; i++)
		sn[8 + i] = (uint8_t)(dot[1 + i] >= 'a' && dot[1 + i] <= 'z' ? dot[1 + i] - 32
								  : dot[1 + i]);
	*nt = (uint8_t)((bc ? NT_LOWER_BASE : 0) | (ec ? NT_LOWER_EXT : 0));
	return true;
}

/* name in UTF-16, checked as a long name Linux would create. */
static int to_utf16(const struct fat_fs *f, const char *name, uint16_t *u, size_t *n)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t len = strlen(name);

	*n = 0;
	if (!len || name[len - 1] == '.' || name[len - 1] == ' ' || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return ferr(-EINVAL, "%s: '%s' cannot be a FAT name", f->dev.name, name);
	while (*s) {
		uint32_t cp;
		int more;

		if (*s < 0x80) {
			cp = *s;
			more = 0;
		} else if ((*s & 0xe0) == 0xc0) {
			cp = *s & 0x1f;
			more = 1;
		} else if ((*s & 0xf0) == 0xe0) {
			cp = *s & 0x0f;
			more = 2;
		} else if ((*s & 0xf8) == 0xf0) {
			cp = *s & 0x07;
			more = 3;
		} else {
			return ferr(-EINVAL, "%s: the name %s is not UTF-8", f->dev.name, name);
		}
		s++;
		for (int k = 0; k < more; k++, s++) {
			if ((*s & 0xc0) != 0x80)
				return ferr(-EINVAL, "%s: the name %s is not UTF-8", f->dev.name, name);
			cp = cp << 6 | (*s & 0x3f);
		}
		if (cp < 0x20 || (cp < 0x80 && strchr("\"*/:<>?\\|", (int)cp)) ||
		    (cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff)
			return ferr(-EINVAL, "%s: the name %s has a character FAT does not take",
				    f->dev.name, name);
		if (*n + (cp >= 0x10000 ? 2 : 1) > LFN_MAX)
			return ferr(-ENAMETOOLONG, "%s: the name %s is longer than 255 characters",
				    f->dev.name, name);
		if (cp >= 0x10000) {
			u[(*n)++] = (uint16_t)(0xd800 + ((cp - 0x10000) >> 10));
			u[(*n)++] = (uint16_t)(0xdc00 + ((cp - 0x10000) & 0x3ff));
		} else {
			u[(*n)++] = (uint16_t)cp;
		}
	}
	return 0;
}

/* Whether the 8.3 name sn is an entry of d already. */
static bool short_used(const struct dir *d, const uint8_t *sn)
{
	for (size_t i = 0; i + DIRENT <= d->len; i += DIRENT) {
		const uint8_t *e = d->buf + i;

		if (!e[0])
			break;
		if (e[0] != SLOT_FREE && (e[11] & 0x3f) != ATTR_LFN && !memcmp(e, sn, 11))
			return true;
	}
	return false;
}

/* A short alias for a long name: its letters and digits upper-cased, what
 * 8.3 cannot hold dropped or made '_', and "~N" making it unique in d. */
static int make_alias(const struct fat_fs *f, const struct dir *d, const char *name,
		      uint8_t *sn)
{
	const char *dot = strrchr(name, '.');
	char base[9] = "", ext[4] = "";
	size_t nb = 0, ne = 0;

	if (dot == name)
		dot = NULL;
	for (const char *p = name; *p && (!dot || p < dot) && nb < 8; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == ' ' || c == '.' || (c & 0xc0) == 0x80)
			continue;
		base[nb++] = (char)(c >= 0x80 || !short_char(c) ? '_' : c >= 'a' && c <= 'z' ? c - 32 : c);
	}
	for (const char *p = dot ? dot + 1 : ""; *p && ne < 3; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == ' ' || (c & 0xc0) == 0x80)
			continue;
		ext[ne++] = (char)(c >= 0x80 || !short_char(c) ? '_' : c >= 'a' && c <= 'z' ? c - 32 : c);
	}
	if (!nb)
		base[nb++] = '_';
	for (unsigned k = 1; k < 1000000; k++) {
		char tail[8];
		size_t nt = (size_t)snprintf(tail, sizeof(tail), "~%u", k), keep = nb;

		if (keep + nt > 8)
			keep = 8 - nt;
		memset(sn, ' ', 11);
		memcpy(sn, base, keep);
		memcpy(sn + keep, tail, nt);
		memcpy(sn + 8, ext, ne);
		if (!short_used(d, sn))
			return 0;
	}
	return ferr(-ENOSPC, "%s: no short name left for %s", f->dev.name, name);
}

static void stamp(const struct fat_fs *f, uint8_t *e, bool created)
{
	if (created) {
		e[13] = 0;
		put_le16(e + 14, f->time);
		put_le16(e + 16, f->date);
	}
	put_le16(e + 18, f->date);
	put_le16(e + 22, f->time);
	put_le16(e + 24, f->date);
}

static void set_cluster(const struct fat_fs *f, uint8_t *e, uint32_t c)
{
	put_le16(e + 26, (uint16_t)c);
	put_le16(e + 20, f->bits == 32 ? (uint16_t)(c >> 16) : 0);
}

/* n free slots in a row in d: deleted ones before the end mark (the first
 * slot starting with 0, past which nothing is read), else at the end mark,
 * which then moves past them; the directory grown if it has no room. */
static int free_slots(struct fat_fs *f, struct dir *d, size_t n, size_t *at)
{
	for (;;) {
		size_t total = d->len / DIRENT, end = 0, run = 0;
		int err;

		while (end < total && d->buf[end * DIRENT])
			end++;
		for (size_t i = 0; i < end; i++) {
			run = d->buf[i * DIRENT] == SLOT_FREE ? run + 1 : 0;
			if (run == n) {
				*at = i + 1 - n;
				return 0;
			}
		}
		if (end + n <= total) {
			*at = end;
			if (end + n < total)
				memset(d->buf + (end + n) * DIRENT, 0, DIRENT);
			return 0;
		}
		err = dir_grow(f, d);
		if (err)
			return err;
	}
}

/* A new entry named name in d: long-name slots unless name is a plain 8.3
 * name, then the short entry, a copy of tmpl (32 bytes) with its name set. */
static int add_entry(struct fat_fs *f, struct dir *d, const char *name, const uint8_t *tmpl)
{
	uint16_t u[LFN_MAX + 1];
	uint8_t sn[11], nt = 0, *e;
	size_t n16, nlfn = 0, at;
	int err;

	err = to_utf16(f, name, u, &n16);
	if (err)
		return err;
	if (!plain_short(name, sn, &nt) || short_used(d, sn)) {
		err = make_alias(f, d, name, sn);
		if (err)
			return err;
		nt = 0;
		nlfn = (n16 + LFN_CHARS - 1) / LFN_CHARS;
	}
	err = free_slots(f, d, nlfn + 1, &at);
	if (err)
		return err;
	for (size_t k = 0; k < nlfn; k++) {
		static const uint8_t pos[LFN_CHARS] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
		unsigned ord = (unsigned)(nlfn - k);

		e = d->buf + (at + k) * DIRENT;
		memset(e, 0, DIRENT);
		e[0] = (uint8_t)(ord | (k == 0 ? 0x40 : 0));
		e[11] = ATTR_LFN;
		e[13] = short_sum(sn);
		for (unsigned c = 0; c < LFN_CHARS; c++) {
			size_t i = (ord - 1) * LFN_CHARS + c;

			put_le16(e + pos[c], i < n16 ? u[i] : i == n16 ? 0 : 0xffff);
		}
	}
	e = d->buf + (at + nlfn) * DIRENT;
	memcpy(e, tmpl, DIRENT);
	memcpy(e, sn, 11);
	if (e[0] == SLOT_FREE)
		e[0] = 0x05;
	e[12] = nt;
	return 0;
}

static void drop_entry(struct dir *d, const struct dent *de)
{
	for (size_t s = de->first_slot; s <= de->slot; s++)
		d->buf[s * DIRENT] = SLOT_FREE;
}

/* Writing: files and directories */

static int write_data(struct fat_fs *f, const void *data, size_t len, uint32_t *first)
{
	size_t n = (len + f->cluster_bytes - 1) / f->cluster_bytes, k = 0;
	uint8_t *last = NULL;
	int err;

	err = alloc_chain(f, n, first);
	for (uint32_t c = *first; !err && k < n; k++, c = fat_get(f, c)) {
		size_t at = k * f->cluster_bytes, piece = len - at;

		if (piece >= f->cluster_bytes) {
			err = blk_write(&f->dev, (const uint8_t *)data + at, f->cluster_bytes,
					cluster_off(f, c));
			continue;
		}
		last = calloc(1, f->cluster_bytes);
		if (!last) {
			err = ferr(-ENOMEM, "out of memory");
			break;
		}
		memcpy(last, (const uint8_t *)data + at, piece);
		err = blk_write(&f->dev, last, f->cluster_bytes, cluster_off(f, c));
	}
	free(last);
	if (err && *first)
		free_chain(f, *first);
	return err;
}

int fatfs_write(struct fat_fs *f, const char *path, const void *data, size_t len)
{
	char leaf[NAME_UTF8_MAX];
	uint8_t tmpl[DIRENT] = {0};
	struct dir d;
	struct dent de;
	uint32_t first = 0;
	bool root;
	int err;

	if (len > UINT32_MAX)
		return ferr(-EFBIG, "%s: %s: FAT holds files up to 4 GiB", f->dev.name, path);
	err = lookup(f, path, true, &d, &de, leaf, &root);
	if (!err && (root || (de.attr & ATTR_DIR)))
		err = ferr(-EISDIR, "%s: %s is a directory", f->dev.name, path);
	if (err && (err != -ENOENT || !d.buf))
		goto out;
	if (!err) {
		/* the same entry, its contents replaced */
		uint8_t *e = d.buf + de.slot * DIRENT;

		err = write_data(f, data, len, &first);
		if (err)
			goto out;
		free_chain(f, de.cluster);
		set_cluster(f, e, first);
		put_le32(e + 28, (uint32_t)len);
		e[11] |= ATTR_ARCHIVE;
		stamp(f, e, false);
	} else {
		err = write_data(f, data, len, &first);
		if (err)
			goto out;
		tmpl[11] = ATTR_ARCHIVE;
		set_cluster(f, tmpl, first);
		put_le32(tmpl + 28, (uint32_t)len);
		stamp(f, tmpl, true);
		err = add_entry(f, &d, leaf, tmpl);
		if (err) {
			free_chain(f, first);
			goto out;
		}
	}
	err = store_table(f);
	if (!err)
		err = dir_store(f, &d);
out:
	dir_release(&d);
	return err;
}

int fatfs_mkdir(struct fat_fs *f, const char *path)
{
	char leaf[NAME_UTF8_MAX];
	uint8_t tmpl[DIRENT] = {0}, *block = NULL;
	struct dir d;
	struct dent de;
	uint32_t c = 0;
	bool root;
	int err;

	err = lookup(f, path, true, &d, &de, leaf, &root);
	if (!err)
		err = ferr(-EEXIST, "%s: %s exists", f->dev.name, path);
	if (err != -ENOENT || !d.buf)
		goto out;
	block = calloc(1, f->cluster_bytes);
	err = block ? alloc_chain(f, 1, &c) : ferr(-ENOMEM, "out of memory");
	if (err)
		goto out;
	/* "." and "..": the parent is 0 when it is the root, FAT32's too */
	tmpl[11] = ATTR_DIR;
	stamp(f, tmpl, true);
	memcpy(block, tmpl, DIRENT);
	memset(block, ' ', 11);
	block[0] = '.';
	set_cluster(f, block, c);
	memcpy(block + DIRENT, tmpl, DIRENT);
	memset(block + DIRENT, ' ', 11);
	block[DIRENT] = block[DIRENT + 1] = '.';
	set_cluster(f, block + DIRENT, d.first);
	err = blk_write(&f->dev, block, f->cluster_bytes, cluster_off(f, c));
	set_cluster(f, tmpl, c);
	if (!err)
		err = add_entry(f, &d, leaf, tmpl);
	if (err) {
		free_chain(f, c);
		goto out;
	}
	err = store_table(f);
	if (!err)
		err = dir_store(f, &d);
out:
	free(block);
	dir_release(&d);
	return err;
}

static int not_dot(const struct dent *de, void *arg)
{
	(void)arg;
	return strcmp(de->short_name, ".") && strcmp(de->short_name, "..");
}

/* Frees what the entry holds: a file's chain, or an empty directory's. */
static int release_entry(struct fat_fs *f, const struct dent *de, const char *path)
{
	if (de->attr & ATTR_DIR) {
		struct dir sub;
		int err = dir_load(f, de->cluster, &sub);

		if (!err) {
			err = dir_walk(f, &sub, not_dot, NULL);
			if (err > 0)
				err = ferr(-ENOTEMPTY, "%s: the directory %s is not empty", f->dev.name,
					   path);
		}
		dir_release(&sub);
		if (err)
			return err;
	}
	free_chain(f, de->cluster);
	return 0;
}

int fatfs_remove(struct fat_fs *f, const char *path)
{
	char leaf[NAME_UTF8_MAX];
	struct dir d;
	struct dent de;
	bool root;
	int err;

	err = lookup(f, path, true, &d, &de, leaf, &root);
	if (!err && root)
		err = ferr(-EBUSY, "%s: the root cannot be removed", f->dev.name);
	if (!err)
		err = release_entry(f, &de, path);
	if (!err) {
		drop_entry(&d, &de);
		err = store_table(f);
	}
	if (!err)
		err = dir_store(f, &d);
	dir_release(&d);
	return err;
}

int fatfs_rename(struct fat_fs *f, const char *from, const char *to)
{
	char leaf[NAME_UTF8_MAX], tleaf[NAME_UTF8_MAX];
	struct dir a = {0}, b = {0}, *dst;
	struct dent de, old;
	uint8_t tmpl[DIRENT];
	size_t fl = strlen(from);
	bool root;
	int err;

	err = lookup(f, from, true, &a, &de, leaf, &root);
	if (!err && root)
		err = ferr(-EBUSY, "%s: the root cannot be moved", f->dev.name);
	if (!err && (de.attr & ATTR_DIR) && !strncmp(to, from, fl) && to[fl] == '/')
		err = ferr(-EINVAL, "%s: %s cannot move into itself", f->dev.name, from);
	if (err)
		goto out;
	err = lookup(f, to, false, &b, &old, tleaf, &root);
	if (!err && root)
		err = ferr(-EBUSY, "%s: the root cannot be replaced", f->dev.name);
	if (err && (err != -ENOENT || !b.buf))
		goto out;
	dst = b.first == a.first ? &a : &b;
	if (!err) {
		if (dst == &a && old.slot == de.slot)
			goto out; /* the same entry */
		if (old.attr & ATTR_DIR) {
			err = ferr(-EISDIR, "%s: %s is a directory", f->dev.name, to);
			goto out;
		}
		if (de.attr & ATTR_DIR) {
			err = ferr(-ENOTDIR, "%s: %s is not a directory", f->dev.name, to);
			goto out;
		}
		err = release_entry(f, &old, to);
		if (err)
			goto out;
		drop_entry(dst, &old);
	}
	memcpy(tmpl, a.buf + de.slot * DIRENT, DIRENT);
	err = add_entry(f, dst, tleaf, tmpl);
	if (err)
		goto out;
	drop_entry(&a, &de);
	if ((de.attr & ATTR_DIR) && dst != &a) {
		/* its ".." names the new parent */
		struct dir sub;

		err = dir_load(f, de.cluster, &sub);
		for (size_t i = 0; !err && i + DIRENT <= sub.len; i += DIRENT)
			if (!memcmp(sub.buf + i, "..         ", 11)) {
				set_cluster(f, sub.buf + i, b.first);
				break;
			}
		if (!err)
			err = dir_store(f, &sub);
		dir_release(&sub);
	}
	if (!err)
		err = store_table(f);
	if (!err && dst != &a)
		err = dir_store(f, &b);
	if (!err)
		err = dir_store(f, &a);
out:
	dir_release(&a);
	dir_release(&b);
	return err;
}

/* The filesystem as a whole */

void fatfs_get_info(const struct fat_fs *f, struct fat_info *info)
{
	uint32_t used = 0, bad = 0;

	memset(info, 0, sizeof(*info));
	info->bits = f->bits;
	info->cluster_bytes = f->cluster_bytes;
	info->clusters = f->nclusters;
	info->size = f->size;
	for (uint32_t c = 2; c - 2 < f->nclusters; c++) {
		uint32_t v = fat_get(f, c);

		used += v != 0;
		bad += v == bad_mark(f);
	}
	info->used_clusters = used;
	info->used = f->data_off + (uint64_t)(used - bad) * f->cluster_bytes;
	if (f->have_serial)
		snprintf(info->uuid, sizeof(info->uuid), "%04X-%04X", f->serial >> 16,
			 f->serial & 0xffff);
	snprintf(info->label, sizeof(info->label), "%s", f->label[0] ? f->label : f->bpb_label);
}

int fatfs_used_ranges(const struct fat_fs *f, fat_range_fn fn, void *arg)
{
	uint64_t start = 0, end = f->data_off;
	int err;

	for (uint32_t c = 2; c - 2 < f->nclusters; c++) {
		uint32_t v = fat_get(f, c);
		uint64_t off = cluster_off(f, c);

		if (!v || v == bad_mark(f))
			continue;
		if (off != end) {
			if (end > start && (err = fn(start, end - start, arg)))
				return err;
			start = off;
		}
		end = off + f->cluster_bytes;
	}
	return end > start ? fn(start, end - start, arg) : 0;
}
