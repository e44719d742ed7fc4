/* VHD images, as Microsoft's Virtual Hard Disk Image Format Specification
 * (version 1.0) lays them out, written front to back like the qcow2 ones.
 *
 * Dynamic: a copy of the footer, the dynamic disk header, the block
 * allocation table, then each 2 MiB block that holds a planned byte (its
 * sector bitmap, all set, then its data) in guest order, and the footer.
 * Blocks with nothing planned are not stored.
 * Fixed: the disk's bytes (zeros as holes in a file), then the footer.
 *
 * The virtual size is one the footer's CHS geometry covers exactly
 * (vhd_virtual_size), so readers that size the disk by its geometry (qemu
 * for most creators, Virtual PC) and those that take the footer's current
 * size (Hyper-V and the rest) agree. Nothing depends on the clock: two
 * captures of one disk are byte-identical. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/vhd.h"
#include "util/endian.h"
#include "util/err.h"
#include "util/sha256.h"

#define SECTOR 512u
#define FOOTER_LEN 512u
#define HEADER_LEN 1024u
#define BLOCK_BYTES (2u << 20)
#define BITMAP_BYTES 512u /* 4096 sectors, one bit each, in whole sectors */
#define BAT_UNUSED 0xffffffffu
#define CHS_MAX (65535ull * 16 * 255)
#define DATA_BATCH (4u << 20)

enum { DISK_FIXED = 2, DISK_DYNAMIC = 3 };

/* The geometry the specification gives a disk of total sectors. */
static void chs(uint64_t total, unsigned *c, unsigned *h, unsigned *s)
{
	uint64_t cth;

	if (total > CHS_MAX)
		total = CHS_MAX;
	if (total >= 65535ull * 16 * 63) {
		*s = 255;
		*h = 16;
		cth = total / *s;
	} else {
		*s = 17;
		cth = total / *s;
		*h = (unsigned)((cth + 1023) / 1024);
		if (*h < 4)
			*h = 4;
		if (cth >= *h * 1024ull || *h > 16) {
			*s = 31;
			*h = 16;
			cth = total / *s;
		}
		if (cth >= *h * 1024ull) {
			*s = 63;
			*h = 16;
			cth = total / *s;
		}
	}
	*c = (unsigned)(cth / *h);
}

uint64_t vhd_virtual_size(uint64_t size)
{
	uint64_t total = (size + SECTOR - 1) / SECTOR;
	unsigned c, h, s;

	if (total >= CHS_MAX)
		return total * SECTOR; /* the largest geometry: its size is the footer's */
	/* the first size at or past it that a geometry covers exactly */
	for (;; total++) {
		chs(total, &c, &h, &s);
		if ((uint64_t)c * h * s == total)
			return total * SECTOR;
		if ((uint64_t)c * h * s > total)
			total = (uint64_t)c * h * s - 1;
	}
}

static uint32_t checksum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += p[i];
	return ~sum;
}

/* The footer (hard disk footer): 512 bytes, its unique id derived from what
 * the image holds, so that it is the same on every capture of the disk. */
static void footer(uint8_t *f, uint64_t vsize, int type, const uint8_t id[16])
{
	unsigned c, h, s;

	memset(f, 0, FOOTER_LEN);
	memcpy(f, "conectix", 8);
	put_be32(f + 8, 2);           /* features: reserved bit set */
	put_be32(f + 12, 0x00010000); /* format version 1.0 */
	put_be64(f + 16, type == DISK_DYNAMIC ? FOOTER_LEN : UINT64_MAX);
	put_be32(f + 24, 0);          /* time stamp: none (deterministic) */
	memcpy(f + 28, "fery", 4);    /* creator application */
	put_be32(f + 32, 0x00010000); /* creator version */
	memcpy(f + 36, "Wi2k", 4);    /* creator host OS, as qemu writes it */
	put_be64(f + 40, vsize);      /* original size */
	put_be64(f + 48, vsize);      /* current size */
	chs(vsize / SECTOR, &c, &h, &s);
	put_be16(f + 56, (uint16_t)c);
	f[58] = (uint8_t)h;
	f[59] = (uint8_t)s;
	put_be32(f + 60, (uint32_t)type);
	memcpy(f + 68, id, 16);
	put_be32(f + 64, checksum(f, FOOTER_LEN));
}

static unsigned hexval(char c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
}

static void unique_id(const struct plan *p, uint8_t id[16])
{
	struct sha256 s;
	char hex[65];
	uint8_t b[16];

	sha256_init(&s);
	sha256_update(&s, "ferry vhd", 9);
	put_be64(b, p->vsize);
	put_be64(b + 8, p->data_bytes);
	sha256_update(&s, b, sizeof(b));
	for (size_t i = 0; i < p->n; i++) {
		put_be64(b, p->ext[i].off);
		put_be64(b + 8, p->ext[i].len);
		sha256_update(&s, b, sizeof(b));
	}
	sha256_final_hex(&s, hex);
	for (int i = 0; i < 16; i++)
		id[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40); /* a version 4 UUID's bits */
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
}

/* Which blocks hold a planned byte: a bitmap over the blocks. */
struct vhd_layout {
	uint64_t blocks;    /* the table's entries */
	uint64_t allocated; /* blocks stored */
	uint64_t bat_bytes; /* the table, in whole sectors */
	uint8_t *used;      /* one byte per block */
};

static int layout(struct vhd_layout *l, const struct plan *p)
{
	memset(l, 0, sizeof(*l));
	l->blocks = (p->vsize + BLOCK_BYTES - 1) / BLOCK_BYTES;
	l->bat_bytes = (l->blocks * 4 + SECTOR - 1) / SECTOR * SECTOR;
	l->used = calloc(l->blocks ? l->blocks : 1, 1);
	if (!l->used)
		return ferr(-ENOMEM, "out of memory");
	for (size_t i = 0; i < p->n; i++)
		for (uint64_t b = p->ext[i].off / BLOCK_BYTES;
		     b * BLOCK_BYTES < p->ext[i].off + p->ext[i].len && b < l->blocks; b++)
			if (!l->used[b]) {
				l->used[b] = 1;
				l->allocated++;
			}
	return 0;
}

static uint64_t dynamic_length(const struct vhd_layout *l)
{
	return FOOTER_LEN + HEADER_LEN + l->bat_bytes +
	       l->allocated * (BITMAP_BYTES + BLOCK_BYTES) + FOOTER_LEN;
}

/* The specification's limit, which keeps every sector offset in 32 bits. */
static int fits(const struct plan *p)
{
	if (p->vsize % SECTOR)
		return ferr(-EINVAL, "internal: a VHD's size must be whole sectors");
	if (p->vsize > VHD_MAX_SIZE)
		return ferr(-EFBIG, "a disk of %llu bytes is too large for VHD (at most 2040 GiB; "
			    "use --format qcow2 or raw)", (unsigned long long)p->vsize);
	return 0;
}

int vhd_length(const struct plan *p, bool fixed, uint64_t *length)
{
	struct vhd_layout l;
	int err = fits(p);

	if (err)
		return err;
	if (fixed) {
		*length = p->vsize + FOOTER_LEN;
		return 0;
	}
	err = layout(&l, p);
	if (!err)
		*length = dynamic_length(&l);
	free(l.used);
	return err;
}

static int write_fixed(const struct plan *p, const struct image_input *in, struct image_out *out,
		       struct progress *prog, const uint8_t *foot)
{
	int err = image_raw_write(p, in, out, prog);

	return err ? err : image_out_write(out, foot, FOOTER_LEN);
}

static int write_header(const struct vhd_layout *l, struct image_out *out, uint8_t *buf)
{
	memset(buf, 0, HEADER_LEN);
	memcpy(buf, "cxsparse", 8);
	put_be64(buf + 8, UINT64_MAX);               /* data offset: none */
	put_be64(buf + 16, FOOTER_LEN + HEADER_LEN); /* the table */
	put_be32(buf + 24, 0x00010000);              /* header version */
	put_be32(buf + 28, (uint32_t)l->blocks);
	put_be32(buf + 32, BLOCK_BYTES);
	put_be32(buf + 36, checksum(buf, HEADER_LEN));
	return image_out_write(out, buf, HEADER_LEN);
}

static int write_bat(const struct vhd_layout *l, struct image_out *out, uint8_t *buf)
{
	uint64_t sector = (FOOTER_LEN + HEADER_LEN + l->bat_bytes) / SECTOR;
	int err = 0;

	for (uint64_t b = 0; b < l->blocks && !err;) {
		size_t n = 0;

		memset(buf, 0xff, SECTOR);
		for (; n < SECTOR / 4 && b < l->blocks; n++, b++) {
			if (!l->used[b])
				continue;
			put_be32(buf + 4 * n, (uint32_t)sector);
			sector += (BITMAP_BYTES + BLOCK_BYTES) / SECTOR;
		}
		err = image_out_write(out, buf, SECTOR);
	}
	return err;
}

static int write_dynamic(const struct plan *p, const struct image_input *in,
			 struct image_out *out, struct progress *prog, const uint8_t *foot)
{
	struct vhd_layout l;
	uint8_t *buf = NULL;
	size_t ei = 0;
	int err = layout(&l, p);

	if (!err && !(buf = malloc(BLOCK_BYTES)))
		err = ferr(-ENOMEM, "out of memory");
	if (!err)
		err = image_out_write(out, foot, FOOTER_LEN);
	if (!err)
		err = write_header(&l, out, buf);
	if (!err)
		err = write_bat(&l, out, buf);
	for (uint64_t b = 0; b < l.blocks && !err; b++) {
		uint64_t start = b * BLOCK_BYTES;
		uint64_t in_len = start + BLOCK_BYTES > p->vsize ? p->vsize - start : BLOCK_BYTES;

		if (!l.used[b])
			continue;
		memset(buf, 0xff, BITMAP_BYTES);
		err = image_out_write(out, buf, BITMAP_BYTES);
		if (!err) {
			/* past the disk's end, the last block is zeros */
			memset(buf + in_len, 0, BLOCK_BYTES - in_len);
			err = image_fill(p, &ei, in, buf, start, in_len, prog);
		}
		if (!err)
			err = image_out_sparse(out, buf, BLOCK_BYTES);
	}
	if (!err)
		err = image_out_write(out, foot, FOOTER_LEN);
	if (!err && out->pos != dynamic_length(&l))
		err = ferr(-EIO, "internal: the VHD writer wrote %llu bytes, expected %llu",
			   (unsigned long long)out->pos, (unsigned long long)dynamic_length(&l));
	free(buf);
	free(l.used);
	return err;
}

int vhd_write(const struct plan *p, bool fixed, const struct image_input *in,
	      struct image_out *out, struct progress *prog)
{
	uint8_t foot[FOOTER_LEN], id[16];
	int err = fits(p);

	if (err)
		return err;
	unique_id(p, id);
	footer(foot, p->vsize, fixed ? DISK_FIXED : DISK_DYNAMIC, id);
	return fixed ? write_fixed(p, in, out, prog, foot) : write_dynamic(p, in, out, prog, foot);
}
