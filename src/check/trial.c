/* The checks of a capture (see capture.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/trial.h"
#include "check/system.h"
#include "fix/stage.h"
#include "blk/cow.h"
#include "util/err.h"

/* The findings of r from first on that the system, judged again after the
 * rules ran, no longer has: the fixes answer them (an old NIC's HWADDR=
 * in a configuration the network rule turned off). */
static int mark_answered(struct stage *s, const char *format, struct check_report *r,
			 size_t first)
{
	struct check_report again;
	int err;

	check_report_init(&again, r->profile);
	err = check_system(s, format, &again);
	for (size_t i = first; !err && i < r->n; i++) {
		struct check_finding *f = &r->f[i];
		bool left = false;

		for (size_t k = 0; k < again.n && !left; k++)
			left = again.f[k].item == f->item &&
			       !strcmp(again.f[k].file ? again.f[k].file : "", f->file ? f->file : "");
		if (!left && !f->fix && !(f->fix = strdup("the fixes remove it: the image has "
							  "it no more")))
			err = ferr(-ENOMEM, "out of memory");
	}
	check_report_release(&again);
	return err;
}

int check_and_fix(struct source *src, uint32_t mask, const char *format, struct fix_report *rep,
		  struct check_report *r)
{
	size_t first = r->n;
	struct stage s;
	/* strict: a filesystem marked with errors is not edited */
	int err = stage_open(&s, src, rep, true);

	if (err)
		return err;
	err = check_system(&s, format, r);
	if (!err)
		err = stage_fix(&s, mask, r->profile->name, rep);
	if (!err && s.have_root)
		err = mark_answered(&s, format, r, first);
	if (err == -ENOSPC) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", ferr_msg());
		ferr(err, "%s: the fixes need more room than the filesystem has (space.low): "
		     "free space on the server, or capture with --no-fix", msg);
	}
	if (!err)
		err = check_from_fixes(r, rep);
	return stage_close(&s, err);
}

int check_on_copy(struct source *src, const char *format, struct check_report *r)
{
	struct cow *kept = src->cow, copy;
	struct fix_report rules;
	struct stage s;
	int err;

	if (kept)
		err = cow_clone(&copy, kept);
	else
		cow_init(&copy), err = 0;
	if (err)
		return err;
	fix_report_init(&rules);
	src->cow = &copy;
	/* What the trial run would warn about, its findings say. */
	ferry_warn_mute(+1);
	err = stage_open(&s, src, &rules, false);
	if (!err) {
		size_t first = r->n;

		err = check_system(&s, format, r);
		if (!err && s.have_root)
			err = stage_fix(&s, (1u << fix_nrules) - 1, r->profile->name, &rules);
		if (!err && s.have_root)
			err = mark_answered(&s, format, r, first);
		/* The fixes ran out of room: a finding, not a failed check. */
		if (err == -ENOSPC)
			err = check_raise(r, "space.low", src->path, "%s", ferr_msg());
		if (!err)
			err = check_from_fixes(r, &rules);
		/* The copy is dropped: nothing of the rules' work is kept. */
		stage_close(&s, -ECANCELED);
	}
	ferry_warn_mute(-1);
	src->cow = kept;
	cow_release(&copy);
	fix_report_release(&rules);
	return err;
}
