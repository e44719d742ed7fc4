/* The GPT headers, read by Ferry before libparted: libparted allocates and
 * reads whatever entry array a header claims, even one with a bad CRC (a
 * header saying 0xffffffff entries cost 6 GB and 30 s), so a claim larger
 * than any real table is refused here, before it gets that far. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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
