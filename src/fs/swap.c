/* The Linux swap header (see swap.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/extfs.h"
#include "fs/swap.h"
#include "util/endian.h"
#include "util/bytes.h"
#include "util/err.h"

static const char *const plain_sigs[] = {"SWAPSPACE2", "SWAP-SPACE"};
static const char *const hibernation_sigs[] = {"S1SUSPEND", "S2SUSPEND", "ULSUSPEND",
					       "LINHIB0001"};

static const char *match(const uint8_t *page_end, const char *const *sigs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(page_end - 10, sigs[i], strlen(sigs[i])))
			return sigs[i];
	return NULL;
}

void swap_parse(const uint8_t *buf, size_t len, struct swap_header *h)
{
	static const unsigned pages[] = {4096, 8192, 16384, 65536};
	static const uint8_t zero[16];

	memset(h, 0, sizeof(*h));
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]) && len >= pages[i]; i++) {
		const uint8_t *end = buf + pages[i];

		h->sig = match(end, plain_sigs, 2);
		if (!h->sig) {
			h->sig = match(end, hibernation_sigs, 4);
			h->hibernated = h->sig != NULL;
		}
		if (h->sig) {
			h->page = pages[i];
			break;
		}
	}
	if (!h->page)
		return;
	h->version = get_le32(buf + 1024);
	if (h->version != 1) /* version 0 has no UUID or label */
		return;
	if (memcmp(buf + 1036, zero, 16) != 0)
		uuid_format(buf + 1036, h->uuid);
	snprintf(h->label, sizeof(h->label), "%.16s", (const char *)buf + 1052);
}

int swap_read(const struct blkdev *d, struct swap_header *h)
{
	size_t len = d->size < SWAP_HEADER_MAX ? (size_t)d->size : SWAP_HEADER_MAX;
	uint8_t *buf = calloc(1, SWAP_HEADER_MAX);
	int err;

	memset(h, 0, sizeof(*h));
	if (!buf)
		return ferr(-ENOMEM, "out of memory");
	err = blk_read(d, buf, len, 0);
	if (!err)
		swap_parse(buf, len, h);
	free(buf);
	return err;
}

int swap_make_plain(const struct blkdev *d, struct swap_header *h)
{
	uint8_t *page;
	int err;

	if (!h->hibernated)
		return 0;
	page = malloc(h->page);
	if (!page)
		return ferr(-ENOMEM, "out of memory");
	err = blk_read(d, page, h->page, 0);
	if (!err) {
		put_le32(page + 1024, 1);                                /* version */
		put_le32(page + 1028, (uint32_t)(d->size / h->page - 1)); /* last page */
		put_le32(page + 1032, 0);                                /* no bad pages */
		memcpy(page + h->page - 10, plain_sigs[0], 10);
		err = blk_write(d, page, h->page, 0);
	}
	if (!err)
		swap_parse(page, h->page, h);
	free(page);
	return err;
}
