/* The system on a source, opened on its copy: the fix stage of a capture,
 * and what ferry check reads (see stage.c). */
#ifndef FERRY_STAGE_H
#define FERRY_STAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "disk/probe.h"
#include "blk/source.h"
#include "fix/fix.h"
#include "fs/extfs.h"
#include "fs/kmount.h"

/* One filesystem of the system as it was opened. */
struct stage_fs {
	int partnum;
	char where[280]; /* "partition 2", "logical volume rl/root" */
	bool errors;   /* marked as having errors (EXT2_ERROR_FS) */
	bool replayed; /* its journal needed recovery and was replayed into the copy */
};

struct stage {
	struct source *src;
	struct probe pr;            /* the source's table and filesystems */
	struct fix_volume *vols;    /* the volumes the image holds */
	size_t nvols;
	struct extfs x[4];          /* /, then /boot, /usr, /var where separate */
	struct stage_fs fs[4];
	size_t nx;
	struct kmount km[4];        /* XFS among them, mounted by the kernel */
	size_t nkm;
	const struct probe_part *opened[8]; /* every filesystem opened for edits */
	size_t nopened;
	/* Not strict: an XFS the kernel could not mount, opened to be read
	 * (fs/guest.h's XFS backend); why the kernel could not. */
	const struct probe_part *readonly[4];
	size_t nreadonly;
	char readonly_why[320];
	struct guest root;          /* the tree, the others mounted in it */
	bool have_root;
	int root_part, boot_part;   /* partition numbers (boot_part 0: not separate) */
	bool new_table;             /* set before stage_fix: the image's table is made anew */
	struct part_set exclude;    /* set before check_system and stage_fix: left out of the image */
	char why[320];              /* !have_root: why the tree cannot be read */
};

/* Finds the system on src and opens its filesystems on the copy (src->cow
 * must be attached); a journal that needs recovery is replayed into the
 * overlay (recorded in rep). Without a root filesystem, or (not strict)
 * when it cannot be opened, have_root is false and why says why; strict
 * refuses a filesystem marked with errors. Not strict, an XFS the kernel
 * cannot mount (no NBD) is opened read-only with Ferry's own reader
 * instead: its files are judged, and the rules that would change it are
 * left out (stage_fix). */
int stage_open(struct stage *s, struct source *src, struct fix_report *rep, bool strict);
/* Whether the filesystem on pp was opened to be edited. */
bool stage_opened(const struct stage *s, const struct probe_part *pp);
/* Whether it was opened to be read only. */
bool stage_readonly(const struct stage *s, const struct probe_part *pp);
/* Runs the rules in mask on the opened system, recording into rep. With a
 * filesystem opened read-only, a rule that fails with -EROFS is left out
 * of rep (what it recorded is dropped) and the next one runs. */
int stage_fix(struct stage *s, uint32_t mask, const char *cloud, struct fix_report *rep);
/* Writes the edited metadata into the overlay (unless err) and releases. */
int stage_close(struct stage *s, int err);

/* stage_open (strict), stage_fix and stage_close. */
int fix_stage(struct source *src, uint32_t mask, const char *cloud, struct fix_report *rep);

#endif
