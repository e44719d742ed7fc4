/* Defensive msdos partition table reader: the MBR and the EBR chain of
 * logical partitions, checked link by link before libparted sees them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk/table.h"
#include "util/endian.h"
#include "util/err.h"

#define MBR_MAX_LOGICAL 128

struct reader {
	const struct source *src;
	const uint8_t *mem;
	uint64_t size;
	unsigned sector;
	const char *name;
};

static int read_sector(const struct reader *r, uint64_t lba, uint8_t *buf)
{
	uint64_t off = lba * r->sector;

	if (lba > r->size / r->sector || off + r->sector > r->size)
		return ferr(-EINVAL, "%s: partition table sector %llu is past the end of the disk",
			    r->name, (unsigned long long)lba);
	if (r->mem) {
		memcpy(buf, r->mem + off, r->sector);
		return 0;
	}
	return source_pread(r->src, buf, r->sector, off);
}

static bool is_extended(unsigned type)
{
	return type == 0x05 || type == 0x0f || type == 0x85;
}

static int add_part(struct table *t, int num, enum part_kind kind, uint64_t start,
		    uint64_t size, unsigned type, bool boot)
{
	struct part *p = realloc(t->parts, (t->nparts + 1) * sizeof(*p));

	if (!p)
		return ferr(-ENOMEM, "out of memory");
	t->parts = p;
	p = &t->parts[t->nparts++];
	memset(p, 0, sizeof(*p));
	p->num = num;
	p->kind = kind;
	p->start = start;
	p->size = size;
	p->type_id = type;
	if (boot)
		snprintf(p->flags, sizeof(p->flags), "boot");
	return 0;
}

static int add_ebr(struct table *t, uint64_t off)
{
	uint64_t *e = realloc(t->ebrs, (t->nebrs + 1) * sizeof(*e));

	if (!e)
		return ferr(-ENOMEM, "out of memory");
	t->ebrs = e;
	t->ebrs[t->nebrs++] = off;
	return 0;
}

static int check_range(const struct reader *r, int num, uint64_t lba, uint64_t count)
{
	uint64_t sectors = r->size / r->sector;

	if (lba == 0)
		return ferr(-EINVAL, "%s: partition %d starts at sector 0, over the partition table",
			    r->name, num);
	if (lba >= sectors || count > sectors - lba)
		return ferr(-EINVAL,
			    "%s: partition %d (sectors %llu-%llu) ends past the end of the disk "
			    "(%llu sectors)",
			    r->name, num, (unsigned long long)lba,
			    (unsigned long long)(lba + count - 1), (unsigned long long)sectors);
	return 0;
}

static int walk_ebr_chain(const struct reader *r, struct table *t, uint64_t ext_lba,
			  uint64_t ext_count)
{
	uint64_t visited[MBR_MAX_LOGICAL];
	size_t nvisited = 0;
	uint64_t ebr = ext_lba;
	int num = 5, err;
	uint8_t *buf = malloc(r->sector);

	if (!buf)
		return ferr(-ENOMEM, "out of memory");
	for (;;) {
		const uint8_t *e0, *e1;
		uint64_t lstart, lcount, next;

		for (size_t i = 0; i < nvisited; i++) {
			if (visited[i] == ebr) {
				err = ferr(-ELOOP, "%s: the chain of logical partitions loops back "
					   "to sector %llu", r->name, (unsigned long long)ebr);
				goto out;
			}
		}
		if (nvisited == MBR_MAX_LOGICAL) {
			err = ferr(-E2BIG, "%s: more than %d logical partitions", r->name,
				   MBR_MAX_LOGICAL);
			goto out;
		}
		visited[nvisited++] = ebr;
		err = read_sector(r, ebr, buf);
		if (err)
			goto out;
		if (buf[510] != 0x55 || buf[511] != 0xaa) {
			err = ferr(-EINVAL, "%s: extended boot record at sector %llu has no "
				   "signature", r->name, (unsigned long long)ebr);
			goto out;
		}
		err = add_ebr(t, ebr * r->sector);
		if (err)
			goto out;
		e0 = buf + 446;
		e1 = buf + 462;
		lstart = ebr + get_le32(e0 + 8);
		lcount = get_le32(e0 + 12);
		if (e0[4] != 0 && lcount != 0) {
			if (lstart <= ebr || lstart + lcount > ext_lba + ext_count) {
				err = ferr(-EINVAL, "%s: logical partition %d (sectors %llu-%llu) lies "
					   "outside its extended partition (sectors %llu-%llu)",
					   r->name, num, (unsigned long long)lstart,
					   (unsigned long long)(lstart + lcount - 1),
					   (unsigned long long)ext_lba,
					   (unsigned long long)(ext_lba + ext_count - 1));
				goto out;
			}
			err = check_range(r, num, lstart, lcount);
			if (!err)
				err = add_part(t, num, PART_LOGICAL, lstart * r->sector,
					       lcount * r->sector, e0[4], e0[0] == 0x80);
			if (err)
				goto out;
			num++;
		}
		if (e1[4] == 0 || get_le32(e1 + 12) == 0)
			break;
		if (!is_extended(e1[4])) {
			err = ferr(-EINVAL, "%s: extended boot record at sector %llu links to a "
				   "partition of type 0x%02x", r->name, (unsigned long long)ebr, e1[4]);
			goto out;
		}
		next = ext_lba + get_le32(e1 + 8);
		if (next < ext_lba || next >= ext_lba + ext_count) {
			err = ferr(-EINVAL, "%s: extended boot record at sector %llu links to "
				   "sector %llu, outside the extended partition", r->name,
				   (unsigned long long)ebr, (unsigned long long)next);
			goto out;
		}
		ebr = next;
	}
	err = 0;
out:
	free(buf);
	return err;
}

static int parse(const struct reader *r, struct table *t)
{
	uint8_t *buf;
	int err, next_ext = -1;
	uint64_t ext_lba = 0, ext_count = 0;

	if (r->size < 2 * (uint64_t)r->sector)
		return -ENOENT;
	buf = malloc(r->sector);
	if (!buf)
		return ferr(-ENOMEM, "out of memory");
	err = read_sector(r, 0, buf);
	if (err)
		goto out;
	if (buf[510] != 0x55 || buf[511] != 0xaa) {
		err = -ENOENT;
		goto out;
	}
	for (int i = 0; i < 4; i++) {
		const uint8_t *e = buf + 446 + 16 * i;
		if (e[4] == 0xee) { /* protective MBR: a GPT disk */
			err = -ENOENT;
			goto out;
		}
		if (e[0] != 0 && e[0] != 0x80) { /* not a partition table (a FAT boot sector?) */
			err = -ENOENT;
			goto out;
		}
	}
	t->type = TABLE_MSDOS;
	snprintf(t->type_name, sizeof(t->type_name), "msdos");
	t->sector = r->sector;
	for (int i = 0; i < 4; i++) {
		const uint8_t *e = buf + 446 + 16 * i;
		uint64_t lba = get_le32(e + 8), count = get_le32(e + 12);

		if (e[4] == 0 || count == 0)
			continue;
		err = check_range(r, i + 1, lba, count);
		if (err)
			goto out;
		if (is_extended(e[4])) {
			if (next_ext >= 0) {
				err = ferr(-EINVAL, "%s: more than one extended partition", r->name);
				goto out;
			}
			next_ext = i + 1;
			ext_lba = lba;
			ext_count = count;
		}
		err = add_part(t, i + 1, is_extended(e[4]) ? PART_EXTENDED : PART_PRIMARY,
			       lba * r->sector, count * r->sector, e[4], e[0] == 0x80);
		if (err)
			goto out;
	}
	if (next_ext >= 0)
		err = walk_ebr_chain(r, t, ext_lba, ext_count);
out:
	free(buf);
	return err;
}

int mbr_read(const struct source *src, struct table *t)
{
	struct reader r = {.src = src, .size = src->size, .sector = src->lsec, .name = src->path};

	return parse(&r, t);
}

int mbr_parse(const uint8_t *disk, uint64_t size, unsigned sector, const char *name,
	      struct table *t)
{
	struct reader r = {.mem = disk, .size = size, .sector = sector, .name = name};

	return parse(&r, t);
}
