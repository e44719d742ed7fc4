/* Ferry's own MBR and EBR chain walk on disks built in memory: good chains,
 * loops, out-of-range links, partitions past the end. */
#include <errno.h>
#include <stdlib.h>

#include "disk/table.h"
#include "tap.h"
#include "util/err.h"

#define SEC 512
#define DISK_SECTORS 4096

static uint8_t disk[DISK_SECTORS * SEC];

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Entry i (0-3) of the table in sector lba. */
static void entry(uint64_t lba, int i, uint8_t boot, uint8_t type, uint32_t start, uint32_t count)
{
	uint8_t *s = disk + lba * SEC, *e = s + 446 + 16 * i;

	e[0] = boot;
	e[4] = type;
	put32(e + 8, start);
	put32(e + 12, count);
	s[510] = 0x55;
	s[511] = 0xaa;
}

/* p1 83 at 64+512, p2 extended at 1024+2048 holding logicals 5 (at EBR+32,
 * 256 sectors) and 6 (second EBR at ext+512, partition at +32, 256). */
static void good_disk(void)
{
	memset(disk, 0, sizeof(disk));
	entry(0, 0, 0x80, 0x83, 64, 512);
	entry(0, 1, 0, 0x05, 1024, 2048);
	entry(1024, 0, 0, 0x83, 32, 256);
	entry(1024, 1, 0, 0x05, 512, 512);
	entry(1536, 0, 0, 0x82, 32, 256);
}

static int parse(struct table *t)
{
	memset(t, 0, sizeof(*t));
	ferr_clear();
	return mbr_parse(disk, sizeof(disk), SEC, "mem", t);
}

int main(void)
{
	struct table t;
	int err;

	tap_plan(27);

	good_disk();
	err = parse(&t);
	is_int(err, 0, "a good chain parses");
	is_int(t.nparts, 4, "four partitions (two primary, two logical)");
	if (t.nparts == 4) {
		is_int(t.parts[0].num, 1, "p1 number");
		is_int(t.parts[0].start, 64 * SEC, "p1 start in bytes");
		ok(strstr(t.parts[0].flags, "boot") != NULL, "p1 has the boot flag");
		is_int(t.parts[1].kind, PART_EXTENDED, "p2 is extended");
		is_int(t.parts[2].num, 5, "first logical is 5");
		is_int(t.parts[2].start, (1024 + 32) * SEC, "p5 start is relative to its EBR");
		is_int(t.parts[3].num, 6, "second logical is 6");
		is_int(t.parts[3].start, (1536 + 32) * SEC, "p6 start is relative to its EBR");
		is_int(t.parts[3].type_id, 0x82, "p6 type id");
	} else {
		for (int i = 0; i < 9; i++)
			ok(0, "partition details (skipped: wrong count)");
	}
	is_int(t.nebrs, 2, "two EBRs recorded");
	if (t.nebrs == 2)
		ok(t.ebrs[0] == 1024 * SEC && t.ebrs[1] == 1536 * SEC, "EBR offsets in chain order");
	else
		ok(0, "EBR offsets (skipped)");
	table_release(&t);

	memset(disk, 0, sizeof(disk));
	is_int(parse(&t), -ENOENT, "no signature: no msdos table");
	entry(0, 0, 0, 0xee, 1, DISK_SECTORS - 1);
	is_int(parse(&t), -ENOENT, "a protective MBR is not an msdos table");
	table_release(&t);

	good_disk();
	entry(1536, 1, 0, 0x05, 0, 512); /* the second EBR links back to the first */
	err = parse(&t);
	is_int(err, -ELOOP, "a chain looping back to the first EBR is an error");
	ok(strstr(ferr_msg(), "loops back to sector 1024") != NULL, "the message says where: %s",
	   ferr_msg());
	table_release(&t);

	good_disk();
	entry(1536, 1, 0, 0x05, 512, 512); /* the second EBR links to itself */
	is_int(parse(&t), -ELOOP, "an EBR linking to itself is a loop");
	table_release(&t);

	good_disk();
	put32(disk + 1024 * SEC + 462 + 8, 4000); /* past the extended partition */
	is_int(parse(&t), -EINVAL, "a link outside the extended partition is an error");
	ok(strstr(ferr_msg(), "outside the extended partition") != NULL, "message: %s", ferr_msg());
	table_release(&t);

	good_disk();
	put32(disk + 1024 * SEC + 446 + 12, 4000); /* logical longer than its container */
	is_int(parse(&t), -EINVAL, "a logical partition outside its extended partition");
	table_release(&t);

	good_disk();
	disk[1536 * SEC + 510] = 0;
	is_int(parse(&t), -EINVAL, "an EBR without a signature is an error");
	table_release(&t);

	good_disk();
	put32(disk + 446 + 12, DISK_SECTORS); /* p1 runs past the end */
	is_int(parse(&t), -EINVAL, "a primary partition past the end of the disk");
	ok(strstr(ferr_msg(), "past the end of the disk") != NULL, "message: %s", ferr_msg());
	table_release(&t);

	good_disk();
	entry(0, 2, 0, 0x0f, 3100, 100);
	is_int(parse(&t), -EINVAL, "two extended partitions are an error");
	table_release(&t);

	/* A chain longer than the limit: 130 EBRs of one sector each, each
	 * followed by a one-sector logical partition. */
	memset(disk, 0, sizeof(disk));
	entry(0, 0, 0, 0x05, 16, 2 * 130 + 2);
	for (uint32_t k = 0; k < 130; k++) {
		entry(16 + 2 * k, 0, 0, 0x83, 1, 1);
		entry(16 + 2 * k, 1, 0, 0x05, 2 * (k + 1), 2);
	}
	err = parse(&t);
	is_int(err, -E2BIG, "a chain of 130 logical partitions hits the limit");
	table_release(&t);

	memset(disk, 0, sizeof(disk));
	entry(0, 0, 0x42, 0x83, 64, 64);
	is_int(parse(&t), -ENOENT, "a boot sector with a bad status byte is not a table");
	table_release(&t);
	return tap_done();
}
