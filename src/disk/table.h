/* The partition table of a source disk. */
#ifndef FERRY_TABLE_H
#define FERRY_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blk/source.h"

enum table_type { TABLE_NONE, TABLE_MSDOS, TABLE_GPT, TABLE_OTHER };
enum part_kind { PART_PRIMARY, PART_EXTENDED, PART_LOGICAL };

struct part {
	int num;
	enum part_kind kind;
	uint64_t start; /* bytes */
	uint64_t size;  /* bytes */
	unsigned type_id; /* msdos system id; 0 for gpt */
	char name[72];    /* gpt partition name */
	char flags[128];  /* comma-separated libparted flag names */
	char guid[40];    /* gpt: the partition's unique GUID (its PARTUUID), or "" */
};

/* A GPT's primary header, when it and its entry array are whole (CRCs
 * right): what the image's backup GPT is made from (gpt.c). */
struct gpt_info {
	bool valid;
	uint64_t array_lba;   /* the primary entry array */
	uint32_t entries, esize;
	uint64_t array_bytes; /* entries * esize, in whole sectors */
};

struct table {
	enum table_type type;
	char type_name[16];
	unsigned sector; /* the table's sector size */
	struct part *parts;
	size_t nparts;
	uint64_t *ebrs; /* byte offsets of msdos EBR sectors, in chain order */
	size_t nebrs;
	struct gpt_info gpt;
};

const char *table_kind_name(enum part_kind kind);

/* A set of partition numbers, 1 to 255 (--exclude). */
struct part_set {
	uint64_t w[4];
};

static inline bool part_set_has(const struct part_set *s, int num)
{
	return s && num > 0 && num < 256 && (s->w[num / 64] >> (num % 64) & 1);
}

static inline void part_set_add(struct part_set *s, int num)
{
	s->w[num / 64] |= 1ull << (num % 64);
}

static inline bool part_set_empty(const struct part_set *s)
{
	return !s || !(s->w[0] | s->w[1] | s->w[2] | s->w[3]);
}

/* Adds "5" or "5,6" (partition numbers 1 to 255); -EINVAL with a message. */
int part_set_parse(struct part_set *s, const char *list);

/* Reads the table with libparted after Ferry's own defensive walk of any
 * msdos/EBR chain. A disk without a table gives TABLE_NONE and 0. */
int table_read(const struct source *src, struct table *t);
void table_release(struct table *t);
/* Byte offset of the first partition (the end of the boot gap). */
uint64_t table_first_start(const struct table *t);

/* Refuses a disk whose GPT headers (primary, backup) claim an entry array
 * larger than any real table, before libparted would allocate and read it
 * (gpt.c). A disk without GPT headers passes. */
int gpt_bound(const struct source *src);
/* Reads a GPT's primary header and entry array into t->gpt and each
 * partition's GUID; a header or array that is not whole leaves
 * t->gpt.valid false (and a warning), nothing else. */
int gpt_read(const struct source *src, struct table *t);
/* The bytes a backup GPT takes at the end of a disk: the entry array and
 * the header. */
uint64_t gpt_tail_bytes(const struct table *t);
/* Makes the copy of src (its overlay) a whole GPT disk of size bytes: the
 * primary header's backup and last usable LBAs for that size, the backup
 * entry array and header in its last sectors, the protective MBR covering
 * it: 1 when done, 0 when size leaves no room for the tail after every
 * partition (plan_image_size gives the size that does). */
int gpt_fit_image(struct source *src, const struct table *t, uint64_t size);

/* Ferry's own MBR and EBR chain walk (mbr.c): -ENOENT when sector 0 holds
 * no msdos table; loops, out-of-range links and partitions past the end of
 * the disk are errors. */
int mbr_read(const struct source *src, struct table *t);
/* The same on a memory image of the disk (for tests and fuzzing). */
int mbr_parse(const uint8_t *disk, uint64_t size, unsigned sector, const char *name,
	      struct table *t);

#endif
