/* The checks of a capture: the system judged as it is found, while the
 * capture's rules fix it, and again as the image will hold it ("the image
 * check"). ferry check is the first half on a throwaway overlay. */
#ifndef FERRY_CHECK_TRIAL_H
#define FERRY_CHECK_TRIAL_H

#include <stdint.h>

#include "check/check.h"
#include "blk/source.h"
#include "fix/biosboot.h"
#include "fix/fix.h"

/* What the image is to be, for the checks. */
struct trial_opts {
	enum boot_mode mode;
	const char *format;             /* as the cloud names it ("vhd"), or NULL */
	const struct part_set *exclude; /* partitions left out (--exclude), or NULL */
};

/* Opens the system on src, checks it, and runs the rules in mask (mask
 * must not be 0) into src->cow, which keeps their edits; the changes go
 * into rep and, as findings, into r. A partition o->exclude names that the
 * system needs is an error. */
int check_and_fix(struct source *src, uint32_t mask, const struct trial_opts *o,
		  struct fix_report *rep, struct check_report *r, bool *converted);

/* Judges the system as a copy of src would hold it (src->cow: the fixes
 * made so far, or NULL), every rule run on a copy of the overlay that is
 * dropped: what a rule would still change is a finding. Nothing is kept. */
int check_on_copy(struct source *src, const struct trial_opts *o, struct check_report *r);

#endif
