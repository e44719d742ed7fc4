/* A capture as one call: the source checked and fixed in an overlay, the
 * fixed system checked again, the plan, the image encoded into the target
 * (a file, an upload), the manifest beside an upload. ferry capture, ferry
 * run and the TUI are front ends of this call: they fill capture_opts (by
 * option name, with the same checks), watch through capture_hooks, and
 * show the capture_result.
 *
 * The source is never written: it is opened read-only and every fix lands
 * in the capture's copy-on-write overlay (blk/cow.h). */
#ifndef FERRY_CAPTURE_H
#define FERRY_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "blk/cow.h"
#include "blk/salvage.h"
#include "blk/source.h"
#include "check/check.h"
#include "disk/plan.h"
#include "disk/table.h"
#include "fix/biosboot.h"
#include "fix/fix.h"
#include "image/image.h"
#include "sink/sink.h"
#include "util/err.h"
#include "util/progress.h"

struct capture_opts {
	const char *source; /* a device, an image file, or "auto" (the disk holding /) */
	const char *target; /* a path, file://PATH, -, s3://BUCKET/KEY or https://... */
	struct image_opts image;
	struct sink_opts sink; /* sink.overwrite: replace an existing file */
	bool force;            /* capture despite blockers the fixes leave */
	bool strict;           /* a sector that does not read ends the capture */
	uint32_t fixes;        /* mask of fix_rules; 0: --no-fix */
	const struct cloud_profile *cloud;
	enum boot_mode boot_mode;     /* what capture_opts_done made of the two below */
	bool boot_mode_given;         /* --boot-mode; else the cloud's: BIOS where it takes no
				       * UEFI (and the disk's own with --no-fix) */
	enum boot_mode boot_mode_asked;
	bool no_fix_given, fix_given; /* for capture_opts_done's check */
	bool format_given;            /* --format; else the cloud's default_format, or Ferry's */
	struct part_set exclude;      /* --exclude: data partitions left out of the image */
};

struct capture_result;

/* How a front end watches a capture. Every member may be NULL. The calls
 * come from the thread that called capture_run, but progress, which the
 * upload's workers report too. */
struct capture_hooks {
	void *ctx;
	/* "check" (the disk judged and fixed, then the image check), then
	 * "capture" (the copy). */
	void (*phase)(void *ctx, const char *phase);
	/* A warning, as it happens (each text once per capture). */
	void (*warn)(void *ctx, const char *msg);
	/* The work under way: "scan" (filesystems read whole), "sizing"
	 * (a compressed image's first pass), "capture" (a local target),
	 * "upload" (a remote one) or "readback" (an upload made out of order,
	 * read back for its SHA-256). */
	void (*progress)(void *ctx, const struct progress *p, bool final);
	/* The checks' findings, once judged and before a byte is copied;
	 * r->blocked says whether they stop the capture. */
	void (*checked)(void *ctx, const struct capture_result *r);
	/* The temporary file the target is being written to (to remove if a
	 * signal ends the process), then NULL once it is in place or gone. */
	void (*partial)(void *ctx, const char *path);
	/* Sectors that do not read were given up: sectors is the total so far
	 * (each is a zero in the image, and listed in the result). */
	void (*unreadable)(void *ctx, uint64_t sectors);
	/* Asked as the image is written: true stops the capture with
	 * -ECANCELED (an upload is kept, and a second run resumes it). */
	bool (*cancelled)(void *ctx);
};

/* Sectors of the source that did not read, and what they held. */
#define CAPTURE_BAD_OWNERS 8
struct capture_bad {
	uint64_t lba, sectors;
	int part;          /* the partition they are in; 0: none */
	char where[48];    /* "partition 2 (ext4)", "boot gap", ... */
	char *owner[CAPTURE_BAD_OWNERS]; /* what they held (files, metadata) */
	size_t nowner;
	bool more;         /* more owners than are listed */
};

/* Everything a report or the manifest says about one capture; valid after
 * capture_run returned (as far as it got), until capture_result_release. */
struct capture_result {
	const struct capture_opts *o;
	char *source;      /* the disk captured ("auto" resolved) */
	char *target;      /* as reports show it: a presigned URL without its query */
	struct source src;
	struct table table;
	struct plan plan;
	struct fix_report fixes;
	struct check_report before, image; /* the disk; the image check */
	const struct check_report *after;  /* &image, or &before when nothing is fixed */
	struct warn_list warnings;
	double fix_s, check_s, plan_s, write_s;
	bool blocked; /* the checks found blockers the fixes leave (--force: captured) */
	bool stopped; /* ...and stopped the capture for them */
	bool remote;
	bool written; /* the image is in place (a failure may follow: the manifest) */
	bool converted;        /* made to boot by BIOS (--boot-mode bios) */
	const char *boot_mode; /* what the image boots by: "bios" or "uefi" */
	uint64_t file_size;
	/* What the image writer read of the disk (through the overlay): the
	 * copied bytes once per pass, twice for an image sized first. */
	uint64_t read_bytes;
	struct sink_stats stats; /* of an upload */
	struct capture_bad *bad; /* the sectors given up (capture_opts.strict: none) */
	size_t nbad;
	uint64_t bad_sectors;
	/* private */
	bool have_src, have_table, have_plan, have_image_table;
	struct table image_table; /* converted: the copy's own table (an MBR) */
	struct cow cow;
	struct salvage salvage;
	const struct capture_hooks *hooks;
	struct ferry_warn_scope scope;
};

/* Whether the image gets a manifest beside it (TARGET.ferry.json): an
 * s3:// upload, or a local regular file (not standard output or a FIFO). */
bool capture_has_manifest(const struct capture_result *r);

void capture_opts_init(struct capture_opts *o);
/* Sets one option by its long name, as ferry capture spells it ("format",
 * "compress", "cloud", "fix", "no-fix", "force", "overwrite", "strict",
 * and the upload options of sink_opts_set); value is kept, NULL for a
 * flag. 1: set; 0: no such option; -EINVAL with a message that names the
 * option. */
int capture_opts_set(struct capture_opts *o, const char *name, const char *value);
/* What only makes sense together, once source and target are set. */
int capture_opts_done(struct capture_opts *o);

/* Runs the capture. -EPERM (r->stopped) when the checks found a blocker
 * the fixes do not remove and force is not set: nothing is written.
 * r is filled as far as the capture got; release it in every case. */
int capture_run(const struct capture_opts *o, const struct capture_hooks *h,
		struct capture_result *r);
void capture_result_release(struct capture_result *r);

/* Fills r->bad from what the source's salvage gave up: the partition and
 * what the sectors held, for ext filesystems the files (unreadable.c). */
void capture_find_bad(struct capture_result *r);
void capture_bad_release(struct capture_result *r);

/* The reports (report.c). The checks before the copy: the disk's counts,
 * the image check's findings. */
void capture_report_checks(FILE *f, const struct capture_result *r);
/* What was captured: regions, sizes, times, the upload, the fixes. */
void capture_report_text(FILE *f, const struct capture_result *r);
/* ferry capture --json (docs/capture-json.md). */
void capture_report_json(FILE *f, const struct capture_result *r);
/* The fields the JSON report and the manifest share (manifest details). */
void capture_report_details(void *r, struct json *j);

#endif
