/* Partition tables through libparted, with an exception handler that never
 * agrees to change anything and no commit ever called. */
#include <errno.h>
#include <parted/parted.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk/guard.h"
#include "disk/table.h"
#include "util/err.h"

static char ped_last[512];

/* Never Fix, Yes or Retry: those are the answers that make libparted write. */
static PedExceptionOption readonly_handler(PedException *ex)
{
	/* "Unable to open DISK read-write ... opened read-only": the guard's. */
	if (ex->type == PED_EXCEPTION_WARNING && ex->options == PED_EXCEPTION_OK &&
	    guard_take_refusal())
		return PED_EXCEPTION_OK;
	snprintf(ped_last, sizeof(ped_last), "%s", ex->message);
	for (char *p = ped_last; *p; p++)
		if (*p == '\n')
			*p = ' ';
	if (ex->options & PED_EXCEPTION_IGNORE) {
		ferry_warn("libparted: %s (ignored; nothing is written)", ped_last);
		return PED_EXCEPTION_IGNORE;
	}
	if (ex->options & PED_EXCEPTION_NO)
		return PED_EXCEPTION_NO;
	if (ex->options & PED_EXCEPTION_CANCEL)
		return PED_EXCEPTION_CANCEL;
	if (ex->options == PED_EXCEPTION_OK)
		return PED_EXCEPTION_OK;
	return PED_EXCEPTION_UNHANDLED;
}

const char *table_kind_name(enum part_kind kind)
{
	switch (kind) {
	case PART_EXTENDED: return "extended";
	case PART_LOGICAL: return "logical";
	default: return "primary";
	}
}

void table_release(struct table *t)
{
	free(t->parts);
	free(t->ebrs);
	memset(t, 0, sizeof(*t));
}

uint64_t table_first_start(const struct table *t)
{
	uint64_t first = UINT64_MAX;

	for (size_t i = 0; i < t->nparts; i++)
		if (t->parts[i].start < first)
			first = t->parts[i].start;
	return first == UINT64_MAX ? 0 : first;
}

static void collect_flags(PedPartition *pp, char *buf, size_t len)
{
	size_t n = strlen(buf);

	for (PedPartitionFlag f = ped_partition_flag_next(0); f; f = ped_partition_flag_next(f)) {
		if (!ped_partition_is_flag_available(pp, f) || !ped_partition_get_flag(pp, f))
			continue;
		const char *name = ped_partition_flag_get_name(f);
		char tok[40];
		snprintf(tok, sizeof(tok), ",%s,", name);
		char have[sizeof(((struct part *)0)->flags) + 2];
		snprintf(have, sizeof(have), ",%s,", buf);
		if (strstr(have, tok))
			continue;
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? "," : "", name);
		if (n >= len) {
			buf[len - 1] = '\0';
			return;
		}
	}
}

static struct part *find_num(struct table *t, int num)
{
	for (size_t i = 0; i < t->nparts; i++)
		if (t->parts[i].num == num)
			return &t->parts[i];
	return NULL;
}

/* Fills t from libparted; with t already holding Ferry's msdos reading,
 * only adds flags and checks that both readings agree. */
static int read_with_parted(const struct source *src, struct table *t, bool have_mbr)
{
	PedDevice *dev;
	PedDisk *disk;
	PedDiskType *type;
	int err = 0, count = 0;

	ped_exception_set_handler(readonly_handler);
	ped_last[0] = '\0';
	guard_clear_refusals();
	dev = ped_device_get(src->path);
	if (!dev)
		return ferr(-EIO, "libparted cannot open %s: %s", src->path, ped_last);
	type = ped_disk_probe(dev);
	if (!type) {
		if (!have_mbr) {
			t->type = TABLE_NONE;
			snprintf(t->type_name, sizeof(t->type_name), "none");
		}
		goto out_dev;
	}
	if (strcmp(type->name, "loop") == 0) {
		/* libparted's name for a filesystem on the whole disk. */
		if (!have_mbr) {
			t->type = TABLE_NONE;
			snprintf(t->type_name, sizeof(t->type_name), "none");
		}
		goto out_dev;
	}
	disk = ped_disk_new(dev);
	if (!disk) {
		if (have_mbr)
			ferry_warn("%s: libparted cannot read the partition table (%s); using "
				   "Ferry's own reading", src->path, ped_last);
		else
			err = ferr(-EINVAL, "%s: cannot read the %s partition table: %s", src->path,
				   type->name, ped_last[0] ? ped_last : "libparted refused it");
		goto out_dev;
	}
	if (!have_mbr) {
		t->type = strcmp(type->name, "gpt") == 0 ? TABLE_GPT : TABLE_OTHER;
		snprintf(t->type_name, sizeof(t->type_name), "%s", type->name);
		t->sector = (unsigned)dev->sector_size;
	}
	for (PedPartition *pp = ped_disk_next_partition(disk, NULL); pp;
	     pp = ped_disk_next_partition(disk, pp)) {
		struct part *p;

		if (pp->num <= 0 || (pp->type & (PED_PARTITION_FREESPACE | PED_PARTITION_METADATA)))
			continue;
		count++;
		if (have_mbr) {
			p = find_num(t, pp->num);
			if (!p || p->start != (uint64_t)pp->geom.start * (uint64_t)dev->sector_size)
				ferry_warn("%s: libparted reads partition %d differently; using Ferry's "
					   "own reading", src->path, pp->num);
			else
				collect_flags(pp, p->flags, sizeof(p->flags));
			continue;
		}
		p = realloc(t->parts, (t->nparts + 1) * sizeof(*p));
		if (!p) {
			err = ferr(-ENOMEM, "out of memory");
			break;
		}
		t->parts = p;
		p = &t->parts[t->nparts++];
		memset(p, 0, sizeof(*p));
		p->num = pp->num;
		p->kind = (pp->type & PED_PARTITION_EXTENDED) ? PART_EXTENDED
			  : (pp->type & PED_PARTITION_LOGICAL) ? PART_LOGICAL : PART_PRIMARY;
		p->start = (uint64_t)pp->geom.start * (uint64_t)dev->sector_size;
		p->size = (uint64_t)pp->geom.length * (uint64_t)dev->sector_size;
		if (ped_disk_type_check_feature(disk->type, PED_DISK_TYPE_PARTITION_NAME))
			snprintf(p->name, sizeof(p->name), "%s", ped_partition_get_name(pp));
		collect_flags(pp, p->flags, sizeof(p->flags));
		if (p->start + p->size > src->size) {
			err = ferr(-EINVAL, "%s: partition %d ends past the end of the disk", src->path,
				   p->num);
			break;
		}
	}
	if (have_mbr && !err && (size_t)count != t->nparts)
		ferry_warn("%s: libparted sees %d partitions, Ferry %zu; using Ferry's own reading",
			   src->path, count, t->nparts);
	ped_disk_destroy(disk);
out_dev:
	ped_device_destroy(dev);
	return err;
}

/* A disk in use without an msdos table: a GPT is named, not read. */
static int in_use_no_mbr(const struct source *src, struct table *t)
{
	char sig[8];
	int err = source_pread(src, sig, sizeof(sig), src->lsec);

	if (err)
		return err;
	t->sector = src->lsec;
	if (memcmp(sig, "EFI PART", 8) == 0) {
		t->type = TABLE_GPT;
		snprintf(t->type_name, sizeof(t->type_name), "gpt");
		ferry_warn("%s is in use (%s): its GPT partitions are not read while it is",
			   src->path, src->in_use);
	} else {
		t->type = TABLE_NONE;
		snprintf(t->type_name, sizeof(t->type_name), "none");
	}
	return 0;
}

/* Whether the copy's sector 0 is not the disk's: a table Ferry made (a GPT
 * made an MBR), which only Ferry's own walk reads through the overlay. */
static bool table_made_anew(const struct source *src)
{
	uint8_t disk[512], copy[512];

	return src->cow && src->lsec <= sizeof(disk) &&
	       source_io_pread(src, disk, src->lsec, 0, false) == (long)src->lsec &&
	       !source_pread(src, copy, src->lsec, 0) && memcmp(disk, copy, src->lsec) != 0;
}

int table_read(const struct source *src, struct table *t)
{
	bool have_mbr;
	int err;

	memset(t, 0, sizeof(*t));
	err = mbr_read(src, t);
	if (err && err != -ENOENT)
		goto out_release;
	if (err == -ENOENT)
		table_release(t);
	if (src->in_use[0]) {
		/* libparted opens devices read-write and the kernel flag is not
		 * set on a disk in use: it does not get to see it. */
		if (err == -ENOENT)
			return in_use_no_mbr(src, t);
		return 0;
	}
	have_mbr = err == 0;
	if (have_mbr && table_made_anew(src))
		return 0; /* libparted would read the disk's table, not the copy's */
	err = gpt_bound(src);
	if (!err)
		err = read_with_parted(src, t, have_mbr);
	if (!err && t->type == TABLE_GPT)
		err = gpt_read(src, t);
	if (err)
		goto out_release;
	return 0;

out_release:
	table_release(t);
	return err;
}

int part_set_parse(struct part_set *s, const char *list)
{
	const char *p = list;

	do {
		char *end;
		long n = strtol(p, &end, 10);

		if (*p < '0' || *p > '9' || (*end && (*end != ',' || !end[1])) || n < 1 || n > 255)
			return ferr(-EINVAL, "--exclude '%s': partition numbers (1 to 255), "
				    "separated by commas", list);
		part_set_add(s, (int)n);
		p = *end ? end + 1 : end;
	} while (*p);
	return 0;
}
