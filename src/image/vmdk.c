/* streamOptimized VMDK, as VMware's Virtual Disk Format 5.0 gives it:
 *
 *   sector 0        the sparse extent header (grain directory "at end")
 *   sectors 1-20    the embedded descriptor
 *   from sector 128 each 64 KiB grain that holds a non-zero byte, in guest
 *                   order: a grain marker (its guest sector, its length),
 *                   then the grain in the zlib format, padded to a sector
 *   then            each grain table that has a grain (512 entries, the
 *                   sector of each grain's marker; 0 for none), the grain
 *                   directory (the sector of each table; 0 for none) and a
 *                   footer (the header with the directory's sector), each
 *                   behind a metadata marker; last, the end-of-stream marker.
 *
 * Everything goes front to back, so the image streams, and in one pass: the
 * tables follow the grains. Where the target must know the length before
 * the first byte (an upload), a first pass compresses every grain to learn
 * its size (image/zpipe, as compressed qcow2 does), and the second
 * compresses again and checks each size. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "image/vmdk.h"
#include "image/zpipe.h"
#include "util/endian.h"
#include "util/err.h"

#define SECTOR 512u
#define GRAIN_BITS 16 /* 64 KiB: what VMware and qemu write */
#define GRAIN_SECTORS (1u << (GRAIN_BITS - 9))
#define GTES 512u /* entries per grain table: one covers 32 MiB */
#define GT_SECTORS (GTES * 4 / SECTOR)
#define DESC_OFFSET 1
#define DESC_SECTORS 20
#define OVERHEAD 128 /* sectors before the first grain */
#define GD_AT_END UINT64_MAX
#define MARKER_HEAD 12 /* a grain marker: its guest sector (8 bytes), its length (4) */
/* newline test valid, compressed grains, markers */
#define FLAGS (1u | 1u << 16 | 1u << 17)
#define COMPRESS_DEFLATE 1

enum { MARKER_EOS, MARKER_GT, MARKER_GD, MARKER_FOOTER };

struct vz {
	unsigned threads;
	uint64_t capacity; /* sectors */
	uint64_t ngrains;  /* planned grains */
	uint32_t *len;     /* the compressed length of each; 0: all zeros */
	uint64_t ntables;  /* grain directory entries */
	uint64_t gd_sectors;
	uint64_t gd_sector; /* where the directory goes */
	uint32_t cid;
	bool sized; /* by a first pass; else the lengths are learnt as written */
	/* while the image is written */
	struct image_out *out;
	uint64_t base;
};

static uint64_t sectors_of(uint64_t bytes)
{
	return bytes / SECTOR + (bytes % SECTOR != 0);
}

/* The compressed grain's room: deflate may grow data a little. */
static size_t grain_cap(void)
{
	return (size_t)compressBound(1u << GRAIN_BITS);
}

static void header(const struct vz *z, uint64_t gd_offset, uint8_t *s)
{
	memset(s, 0, SECTOR);
	memcpy(s, "KDMV", 4);
	put_le32(s + 4, 3);
	put_le32(s + 8, FLAGS);
	put_le64(s + 12, z->capacity);
	put_le64(s + 20, GRAIN_SECTORS);
	put_le64(s + 28, DESC_OFFSET);
	put_le64(s + 36, DESC_SECTORS);
	put_le32(s + 44, GTES);
	put_le64(s + 48, 0); /* no redundant directory */
	put_le64(s + 56, gd_offset);
	put_le64(s + 64, OVERHEAD);
	s[72] = 0; /* clean */
	memcpy(s + 73, "\n \r\n", 4);
	put_le16(s + 77, COMPRESS_DEFLATE);
}

static int descriptor(const struct vz *z, uint8_t *buf)
{
	uint64_t cyl = z->capacity / (16 * 63);
	int n;

	memset(buf, 0, DESC_SECTORS * SECTOR);
	n = snprintf((char *)buf, DESC_SECTORS * SECTOR,
		     "# Disk DescriptorFile\nversion=1\nCID=%08x\nparentCID=ffffffff\n"
		     "createType=\"streamOptimized\"\n\n# Extent description\n"
		     "RW %llu SPARSE \"disk.vmdk\"\n\n# The Disk Data Base\n#DDB\n\n"
		     "ddb.virtualHWVersion = \"4\"\nddb.geometry.cylinders = \"%llu\"\n"
		     "ddb.geometry.heads = \"16\"\nddb.geometry.sectors = \"63\"\n"
		     "ddb.adapterType = \"ide\"\n",
		     z->cid, (unsigned long long)z->capacity,
		     (unsigned long long)(cyl > 16383 ? 16383 : cyl));
	return n > 0 && n < (int)(DESC_SECTORS * SECTOR) ? 0 : -EOVERFLOW;
}

static int take_sizes(struct zpipe *pp, struct zpipe_batch *b)
{
	struct vz *z = pp->cfg.arg;

	for (size_t i = 0; i < b->n; i++)
		z->len[b->first + i] = b->jobs[i].zero ? 0 : (uint32_t)b->jobs[i].len;
	return 0;
}

/* Walks the planned grains: *g is the guest grain of grain number *i. */
struct walk {
	struct qcow2_runs runs;
	uint64_t c, c1, i;
};

static bool walk_next(struct walk *w, uint64_t *g)
{
	while (w->c == w->c1)
		if (!qcow2_next_run(&w->runs, &w->c, &w->c1))
			return false;
	*g = w->c++;
	w->i++;
	return true;
}

static void pipe_cfg(struct zpipe_cfg *cfg, struct vz *z, const struct plan *p,
		     const struct image_input *in, struct progress *prog)
{
	*cfg = (struct zpipe_cfg){
		.p = p, .in = in, .prog = prog, .cluster_bits = GRAIN_BITS, .cap = grain_cap(),
		.codec = ZPIPE_ZLIB, .threads = z->threads, .arg = z,
	};
}

/* From the lengths: where the directory goes and the image's length. */
static int finish_layout(struct vz *z, const struct plan *p, uint64_t *length)
{
	struct walk wk = {{p, GRAIN_BITS, 0}, 0, 0, 0};
	uint64_t g, sector = OVERHEAD, tables = 0, last_table = UINT64_MAX;

	while (walk_next(&wk, &g)) {
		uint32_t len = z->len[wk.i - 1];

		if (!len)
			continue;
		sector += sectors_of(MARKER_HEAD + len);
		if (g / GTES != last_table) {
			last_table = g / GTES;
			tables++;
		}
	}
	/* a marker and a table for each table with a grain */
	sector += tables * (1 + GT_SECTORS);
	z->gd_sector = sector + 1;
	/* the directory behind its marker, the footer behind its, the end */
	sector += 1 + z->gd_sectors + 2 + 1;
	/* Grain tables and the directory hold 32-bit sector numbers. */
	if (sector > UINT32_MAX)
		return ferr(-EFBIG, "a VMDK image of %llu bytes is past the format's 2 TiB",
			    (unsigned long long)sector * SECTOR);
	*length = sector * SECTOR;
	return 0;
}

int vmdk_prepare(struct image_writer *w, bool sized, struct progress *prog)
{
	struct walk wk = {{w->p, GRAIN_BITS, 0}, 0, 0, 0};
	struct zpipe_cfg cfg;
	struct vz *z;
	uint64_t g;
	int err;

	z = calloc(1, sizeof(*z));
	if (!z)
		return ferr(-ENOMEM, "out of memory");
	w->priv = z;
	z->threads = w->o.threads;
	z->sized = sized;
	z->capacity = sectors_of(w->p->vsize);
	z->ntables = (z->capacity + (uint64_t)GTES * GRAIN_SECTORS - 1) / ((uint64_t)GTES * GRAIN_SECTORS);
	z->gd_sectors = sectors_of(z->ntables * 4);
	/* The descriptor's CID: from the disk's size and the planned ranges,
	 * so that two captures of a disk are the same bytes. */
	z->cid = (uint32_t)crc32(0L, (const Bytef *)&z->capacity, sizeof(z->capacity));
	for (size_t i = 0; i < w->p->n; i++)
		z->cid = (uint32_t)crc32(z->cid, (const Bytef *)&w->p->ext[i], sizeof(w->p->ext[i]));
	while (walk_next(&wk, &g))
		;
	z->ngrains = wk.i;
	if (z->ngrains > SIZE_MAX / sizeof(*z->len))
		return ferr(-EFBIG, "too many grains to compress: %llu",
			    (unsigned long long)z->ngrains);
	z->len = malloc(z->ngrains ? z->ngrains * sizeof(*z->len) : 1);
	if (!z->len)
		return ferr(-ENOMEM, "out of memory for the sizes of %llu grains",
			    (unsigned long long)z->ngrains);
	if (!sized) {
		/* The length is known once the grains are written; at most each
		 * grain at its largest, with every table. */
		w->length_max = (OVERHEAD + z->ngrains * sectors_of(MARKER_HEAD + grain_cap()) +
				 z->ntables * (1 + GT_SECTORS) + 1 + z->gd_sectors + 3) * SECTOR;
		return 0;
	}
	pipe_cfg(&cfg, z, w->p, w->in, prog);
	cfg.take = take_sizes;
	err = zpipe_pass(&cfg, z->ngrains);
	return err ? err : finish_layout(z, w->p, &w->length);
}

/* A metadata marker: val, size 0, its type. */
static int marker(struct image_out *out, uint64_t val, uint32_t type)
{
	uint8_t s[SECTOR] = {0};

	put_le64(s, val);
	put_le32(s + 12, type);
	return image_out_write(out, s, sizeof(s));
}

static uint64_t sector_now(const struct vz *z)
{
	return (z->out->pos - z->base) / SECTOR;
}

static int take_write(struct zpipe *pp, struct zpipe_batch *b)
{
	struct vz *z = pp->cfg.arg;
	int err = 0;

	for (size_t i = 0; i < b->n && !err; i++) {
		const struct zpipe_job *j = &b->jobs[i];
		uint32_t got = j->zero ? 0 : (uint32_t)j->len, want = got;
		uint8_t head[MARKER_HEAD];
		uint64_t pad;

		if (z->sized)
			want = z->len[b->first + i];
		else
			z->len[b->first + i] = got;
		if (got != want)
			return ferr(-EIO, "internal: the grain at guest byte %llu compressed to %u "
				    "bytes, but to %u when the image was sized (did the source "
				    "change?)", (unsigned long long)(j->guest << GRAIN_BITS), got, want);
		if (!got)
			continue;
		put_le64(head, j->guest * GRAIN_SECTORS);
		put_le32(head + 8, got);
		pad = sectors_of(MARKER_HEAD + got) * SECTOR - (MARKER_HEAD + got);
		err = image_out_write(z->out, head, sizeof(head));
		if (!err)
			err = image_out_write(z->out, j->out, got);
		if (!err && pad)
			err = image_out_skip(z->out, pad);
	}
	return err;
}

/* The grain tables, then the directory, from the lengths. */
static int write_tables(struct vz *z, const struct plan *p)
{
	struct walk wk = {{p, GRAIN_BITS, 0}, 0, 0, 0};
	uint32_t *gd = calloc(z->ntables ? z->ntables : 1, 4);
	uint8_t gt[GTES * 4], *dir = NULL;
	uint64_t g, sector = OVERHEAD, table = UINT64_MAX;
	int err = 0;

	if (!gd)
		return ferr(-ENOMEM, "out of memory");
	/* First where each grain went; a table is written once its last
	 * grain is past. */
	while (!err && walk_next(&wk, &g)) {
		uint32_t len = z->len[wk.i - 1];

		if (!len)
			continue;
		if (g / GTES != table) {
			if (table != UINT64_MAX) {
				gd[table] = (uint32_t)(sector_now(z) + 1);
				err = marker(z->out, GT_SECTORS, MARKER_GT);
				if (!err)
					err = image_out_write(z->out, gt, sizeof(gt));
			}
			table = g / GTES;
			memset(gt, 0, sizeof(gt));
		}
		put_le32(gt + (g % GTES) * 4, (uint32_t)sector);
		sector += sectors_of(MARKER_HEAD + len);
	}
	if (!err && table != UINT64_MAX) {
		gd[table] = (uint32_t)(sector_now(z) + 1);
		err = marker(z->out, GT_SECTORS, MARKER_GT);
		if (!err)
			err = image_out_write(z->out, gt, sizeof(gt));
	}
	if (!err && sector_now(z) + 1 != z->gd_sector)
		err = ferr(-EIO, "internal: the VMDK directory would go at sector %llu, not %llu",
			   (unsigned long long)sector_now(z) + 1, (unsigned long long)z->gd_sector);
	if (!err) {
		dir = calloc(z->gd_sectors, SECTOR);
		if (!dir)
			err = ferr(-ENOMEM, "out of memory");
	}
	if (!err) {
		for (uint64_t t = 0; t < z->ntables; t++)
			put_le32(dir + t * 4, gd[t]);
		err = marker(z->out, z->gd_sectors, MARKER_GD);
	}
	if (!err)
		err = image_out_write(z->out, dir, z->gd_sectors * SECTOR);
	free(dir);
	free(gd);
	return err;
}

int vmdk_write(struct image_writer *w, struct image_out *out, struct progress *prog)
{
	struct vz *z = w->priv;
	uint8_t *buf = malloc(DESC_SECTORS * SECTOR);
	struct zpipe_cfg cfg;
	int err;

	if (!buf)
		return ferr(-ENOMEM, "out of memory");
	z->out = out;
	z->base = out->pos;
	header(z, GD_AT_END, buf);
	err = image_out_write(out, buf, SECTOR);
	if (!err)
		err = descriptor(z, buf) ? ferr(-EIO, "internal: the VMDK descriptor is too long")
					 : image_out_write(out, buf, DESC_SECTORS * SECTOR);
	if (!err)
		err = image_out_skip(out, (OVERHEAD - DESC_OFFSET - DESC_SECTORS) * SECTOR);
	if (!err) {
		pipe_cfg(&cfg, z, w->p, w->in, prog);
		cfg.take = take_write;
		err = zpipe_pass(&cfg, z->ngrains);
	}
	if (!err && !z->sized)
		err = finish_layout(z, w->p, &w->length);
	if (!err)
		err = write_tables(z, w->p);
	if (!err)
		err = marker(out, 1, MARKER_FOOTER);
	if (!err) {
		header(z, z->gd_sector, buf);
		err = image_out_write(out, buf, SECTOR);
	}
	if (!err)
		err = marker(out, 0, MARKER_EOS);
	free(buf);
	if (!err && out->pos - z->base != w->length)
		err = ferr(-EIO, "internal: the VMDK writer wrote %llu bytes, expected %llu",
			   (unsigned long long)(out->pos - z->base), (unsigned long long)w->length);
	return err;
}

void vmdk_release(struct image_writer *w)
{
	struct vz *z = w->priv;

	if (!z)
		return;
	free(z->len);
	free(z);
	w->priv = NULL;
}
