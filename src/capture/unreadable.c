/* Where the sectors that did not read lie, and what they held (see
 * capture.h): the partition by the table, and on an ext filesystem the
 * files and metadata by libext2fs on the copy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "fs/extfs.h"
#include "util/err.h"
#include "util/text.h"

/* Blocks of one filesystem looked up at most (a whole dead area is not
 * walked block by block). */
#define BAD_BLOCKS_MAX 4096

/* The partition that holds byte off: a logical one before the extended
 * partition around it. */
static const struct plan_part *part_at(const struct plan *p, uint64_t off)
{
	const struct plan_part *ext = NULL;

	for (size_t i = 0; i < p->nparts; i++) {
		const struct plan_part *pp = &p->parts[i];

		if (off < pp->start || off - pp->start >= pp->size)
			continue;
		if (pp->kind != PART_EXTENDED)
			return pp;
		ext = pp;
	}
	return ext;
}

static void add_owner(struct capture_bad *b, const char *what)
{
	for (size_t i = 0; i < b->nowner; i++) {
		if (!strcmp(b->owner[i], what))
			return;
	}
	if (b->nowner == CAPTURE_BAD_OWNERS) {
		b->more = true;
		return;
	}
	/* A file's name comes from the disk: no escape sequence reaches a
	 * terminal. */
	b->owner[b->nowner] = strdup(what);
	if (b->owner[b->nowner])
		text_printable(b->owner[b->nowner++]);
}

/* The blocks of the ranges in partition pp, named by their owners. */
static void ext_owners(struct capture_result *r, const struct plan_part *pp)
{
	uint64_t lsec = r->src.lsec, *blk = NULL;
	char (*owner)[EXTFS_OWNER_MAX] = NULL;
	size_t n = 0, *of = NULL;
	struct extfs x;
	unsigned bs;
	int err = extfs_open(&x, &pp->dev);

	if (err) {
		ferry_warn("%s: what the unreadable sectors of partition %d held is not known: %s",
			   r->source, pp->num, ferr_msg());
		return;
	}
	bs = x.fs->blocksize;
	blk = malloc(BAD_BLOCKS_MAX * sizeof(*blk));
	of = malloc(BAD_BLOCKS_MAX * sizeof(*of));
	owner = malloc(BAD_BLOCKS_MAX * sizeof(*owner));
	if (!blk || !of || !owner)
		goto out;
	for (size_t i = 0; i < r->nbad && n < BAD_BLOCKS_MAX; i++) {
		const struct capture_bad *b = &r->bad[i];
		uint64_t a, z;

		if (b->part != pp->num)
			continue;
		a = (b->lba * lsec - pp->start) / bs;
		z = ((b->lba + b->sectors) * lsec - 1 - pp->start) / bs;
		for (uint64_t k = a; k <= z && n < BAD_BLOCKS_MAX; k++) {
			if (n && blk[n - 1] == k)
				continue; /* two ranges in one block */
			blk[n] = k;
			of[n++] = i;
		}
	}
	if (extfs_block_owners(&x, blk, n, owner)) {
		ferry_warn("%s: what the unreadable sectors of partition %d held is not known: %s",
			   r->source, pp->num, ferr_msg());
		goto out;
	}
	for (size_t k = 0; k < n; k++)
		add_owner(&r->bad[of[k]], owner[k]);
out:
	free(blk);
	free(of);
	free(owner);
	extfs_release(&x);
}

void capture_find_bad(struct capture_result *r)
{
	const struct salvage *s = &r->salvage;
	const struct plan *p = &r->plan;
	uint64_t lsec = r->src.lsec;

	r->bad_sectors = s->sectors;
	if (!s->n)
		return;
	r->bad = calloc(s->n, sizeof(*r->bad));
	if (!r->bad)
		return;
	r->nbad = s->n;
	for (size_t i = 0; i < s->n; i++) {
		struct capture_bad *b = &r->bad[i];
		uint64_t off = s->v[i].lba * lsec;
		const struct plan_part *pp = part_at(p, off);

		b->lba = s->v[i].lba;
		b->sectors = s->v[i].sectors;
		if (pp && pp->kind == PART_EXTENDED) {
			b->part = pp->num;
			snprintf(b->where, sizeof(b->where), "partition %d (extended)", pp->num);
			add_owner(b, "the partition table (an EBR)");
		} else if (pp) {
			b->part = pp->num;
			snprintf(b->where, sizeof(b->where), "partition %d (%s)", pp->num,
				 fs_type_name(pp->fs));
		} else if (off < p->gap_bytes) {
			snprintf(b->where, sizeof(b->where), "boot gap");
			add_owner(b, b->lba == 0 ? "the MBR" : "the boot loader's area");
		} else {
			snprintf(b->where, sizeof(b->where), "outside every partition");
		}
	}
	for (size_t i = 0; i < p->nparts; i++) {
		const struct plan_part *pp = &p->parts[i];
		bool any = false;

		for (size_t k = 0; k < r->nbad && !any; k++)
			any = r->bad[k].part == pp->num;
		if (any && pp->kind != PART_EXTENDED && fs_is_ext(pp->fs))
			ext_owners(r, pp);
	}
}

void capture_bad_release(struct capture_result *r)
{
	for (size_t i = 0; i < r->nbad; i++) {
		for (size_t k = 0; k < r->bad[i].nowner; k++)
			free(r->bad[i].owner[k]);
	}
	free(r->bad);
	r->bad = NULL;
	r->nbad = 0;
}
