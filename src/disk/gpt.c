/* The GPT headers, read by Ferry before libparted: libparted allocates and
 * reads whatever entry array a header claims, even one with a bad CRC (a
 * header saying 0xffffffff entries cost 6 GB and 30 s), so a claim larger
 * than any real table is refused here, before it gets that far. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <zlib.h>

#include "disk/table.h"
#include "util/endian.h"
#include "util/err.h"

/* The UEFI minimum is 16 KiB (128 entries of 128 bytes); tools that grow
 * the table stay far below this. */
#define GPT_ARRAY_MAX (1u << 20)

static int bound_header(const struct source *src, uint64_t lba, uint64_t *alternate)
{
	unsigned sec = src->lsec ? src->lsec : 512;
	uint8_t *h;
	uint32_t count, esize;
	uint64_t bytes;
	int err;

	if (lba == 0 || (lba + 1) * sec > src->size)
		return 0;
	h = malloc(sec);
	if (!h)
		return ferr(-ENOMEM, "out of memory");
	err = source_pread(src, h, sec, lba * sec);
	if (err || memcmp(h, "EFI PART", 8) != 0)
		goto out;
	count = get_le32(h + 80);
	esize = get_le32(h + 84);
	bytes = (uint64_t)count * esize;
	if (alternate)
		*alternate = get_le64(h + 32);
	if (bytes > GPT_ARRAY_MAX)
		err = ferr(-EINVAL, "%s: the GPT header at sector %" PRIu64 " claims %" PRIu32
			   " partition entries of %" PRIu32 " bytes (%" PRIu64 " bytes); a real "
			   "table has at most %u KiB: the table is damaged", src->path, lba, count,
			   esize, bytes, GPT_ARRAY_MAX >> 10);
out:
	free(h);
	return err;
}

int gpt_bound(const struct source *src)
{
	unsigned sec = src->lsec ? src->lsec : 512;
	uint64_t last = src->size / sec - 1, alternate = 0;
	int err = bound_header(src, 1, &alternate);

	/* libparted looks for the backup where the primary says, or at the
	 * last sector. */
	if (!err && alternate != last && alternate > 1)
		err = bound_header(src, alternate, NULL);
	if (!err)
		err = bound_header(src, last, NULL);
	return err;
}

/* Header fields (UEFI 2.10, 5.3.2). */
#define H_SIZE 12
#define H_CRC 16
#define H_MY_LBA 24
#define H_ALT_LBA 32
#define H_LAST_USABLE 48
#define H_ARRAY_LBA 72
#define H_ENTRIES 80
#define H_ESIZE 84
#define H_ARRAY_CRC 88

static uint32_t header_crc(uint8_t *h)
{
	uint32_t hs = get_le32(h + H_SIZE), saved = get_le32(h + H_CRC), c;

	put_le32(h + H_CRC, 0);
	c = (uint32_t)crc32(0, h, hs);
	put_le32(h + H_CRC, saved);
	return c;
}

/* A GUID as blkid prints it: the first three fields little-endian. */
static void guid_text(const uint8_t *g, char *out, size_t len)
{
	snprintf(out, len, "%08" PRIx32 "-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 get_le32(g), get_le16(g + 4), get_le16(g + 6), g[8], g[9], g[10], g[11], g[12],
		 g[13], g[14], g[15]);
}

/* The primary header in h (one sector) and its array in *array, both
 * whole; false (with the reason in why) if not. */
static bool read_primary(const struct source *src, unsigned sec, uint8_t *h, uint8_t **array,
			 struct gpt_info *g, const char **why)
{
	uint32_t hs;

	*array = NULL;
	*why = "it cannot be read";
	if (source_pread(src, h, sec, sec))
		return false;
	hs = get_le32(h + H_SIZE);
	*why = "its header is damaged (signature, size or CRC)";
	if (memcmp(h, "EFI PART", 8) || hs < 92 || hs > sec || header_crc(h) != get_le32(h + H_CRC))
		return false;
	g->array_lba = get_le64(h + H_ARRAY_LBA);
	g->entries = get_le32(h + H_ENTRIES);
	g->esize = get_le32(h + H_ESIZE);
	g->array_bytes = ((uint64_t)g->entries * g->esize + sec - 1) / sec * sec;
	*why = "its partition entry array is damaged (size, place or CRC)";
	if (g->esize < 128 || g->esize % 8 || g->array_bytes > GPT_ARRAY_MAX || !g->array_bytes ||
	    g->array_lba < 2 || g->array_lba > src->size / sec ||
	    g->array_bytes > src->size - g->array_lba * sec)
		return false;
	*array = malloc(g->array_bytes);
	if (!*array) {
		*why = "out of memory";
		return false;
	}
	if (source_pread(src, *array, g->array_bytes, g->array_lba * sec) ||
	    (uint32_t)crc32(0, *array, (uInt)((uint64_t)g->entries * g->esize)) !=
		    get_le32(h + H_ARRAY_CRC)) {
		free(*array);
		*array = NULL;
		return false;
	}
	return true;
}

int gpt_read(const struct source *src, struct table *t)
{
	uint8_t *h = malloc(t->sector), *array;
	const char *why;

	if (!h)
		return ferr(-ENOMEM, "out of memory");
	memset(&t->gpt, 0, sizeof(t->gpt));
	if (!read_primary(src, t->sector, h, &array, &t->gpt, &why)) {
		memset(&t->gpt, 0, sizeof(t->gpt));
		ferry_warn("%s: the primary GPT cannot be used (%s): the image keeps the disk's "
			   "GPT sectors as they are, without a backup GPT", src->path, why);
		free(h);
		return 0;
	}
	t->gpt.valid = true;
	for (size_t i = 0; i < t->nparts; i++) {
		struct part *p = &t->parts[i];
		const uint8_t *e;
		static const uint8_t none[16];

		if (p->num < 1 || (uint32_t)p->num > t->gpt.entries)
			continue;
		e = array + (size_t)(p->num - 1) * t->gpt.esize;
		if (memcmp(e, none, 16))
			guid_text(e + 16, p->guid, sizeof(p->guid));
	}
	free(array);
	free(h);
	return 0;
}

uint64_t gpt_tail_bytes(const struct table *t)
{
	return t->gpt.valid ? t->gpt.array_bytes + t->sector : 0;
}

int gpt_fit_image(struct source *src, const struct table *t, uint64_t size)
{
	unsigned sec = t->sector;
	uint64_t last = size / sec - 1, backup_array = last - t->gpt.array_bytes / sec;
	uint8_t *h, *array = NULL, mbr[512];
	uint64_t end = 0;
	struct gpt_info g;
	const char *why;
	int err;

	for (size_t i = 0; i < t->nparts; i++)
		if (t->parts[i].start + t->parts[i].size > end)
			end = t->parts[i].start + t->parts[i].size;
	if (!t->gpt.valid || end + gpt_tail_bytes(t) > size)
		return 0; /* no backup GPT fits (plan_image_size) */
	h = malloc(sec);
	if (!h)
		return ferr(-ENOMEM, "out of memory");
	if (!read_primary(src, sec, h, &array, &g, &why)) {
		err = ferr(-EIO, "%s: the primary GPT cannot be used (%s)", src->path, why);
		goto out;
	}
	/* the primary: the backup at the image's last sector */
	put_le64(h + H_ALT_LBA, last);
	put_le64(h + H_LAST_USABLE, backup_array - 1);
	put_le32(h + H_CRC, header_crc(h));
	err = source_write_copy(src, h, sec, sec);
	/* the backup: the same array before it, the header last */
	if (!err)
		err = source_write_copy(src, array, g.array_bytes, backup_array * sec);
	put_le64(h + H_MY_LBA, last);
	put_le64(h + H_ALT_LBA, 1);
	put_le64(h + H_ARRAY_LBA, backup_array);
	put_le32(h + H_CRC, header_crc(h));
	if (!err)
		err = source_write_copy(src, h, sec, last * sec);
	/* the protective MBR's 0xEE partition covers the image */
	if (!err)
		err = source_pread(src, mbr, sizeof(mbr), 0);
	for (int i = 0; !err && i < 4; i++) {
		uint8_t *e = mbr + 446 + 16 * i;

		if (e[4] == 0xee && get_le32(e + 8) == 1) {
			put_le32(e + 12, last > UINT32_MAX ? UINT32_MAX : (uint32_t)last);
			err = source_write_copy(src, mbr, sizeof(mbr), 0);
			break;
		}
	}
out:
	free(array);
	free(h);
	return err ? err : 1;
}
