/* The checks of a capture (see capture.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/trial.h"
#include "check/system.h"
#include "fix/biosboot.h"
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
		/* the boot mode is judged apart (plan_boot_mode), not again */
		bool left = !strcmp(f->item->code, "boot.convert");

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

/* Whether the copy is to be converted to boot by BIOS; a mode that cannot
 * be had is a blocker (boot.convert). */
static int plan_boot_mode(struct stage *s, enum boot_mode mode, struct check_report *r,
			  bool *convert)
{
	char why[512];

	*convert = false;
	if (mode == BOOT_MODE_UEFI && s->have_root && !biosboot_uefi(s))
		return check_raise(r, "boot.convert", s->src->path, "--boot-mode uefi: the system "
				   "boots by BIOS, and Ferry converts only UEFI systems to BIOS boot");
	if (mode != BOOT_MODE_BIOS || !s->have_root || !biosboot_needed(s))
		return 0;
	if (!biosboot_possible(s, why, sizeof(why)))
		return check_raise(r, "boot.convert", s->src->path, "--boot-mode bios: %s", why);
	*convert = true;
	s->new_table = s->pr.disks[0].table.type == TABLE_GPT;
	return 0;
}

/* The findings a conversion to BIOS boot answers. */
static int mark_converted(struct check_report *r, size_t first)
{
	for (size_t i = first; i < r->n; i++) {
		struct check_finding *f = &r->f[i];

		if ((!strcmp(f->item->code, "table.gpt") || !strcmp(f->item->code, "boot.efi")) &&
		    !f->fix && !(f->fix = strdup("the conversion to BIOS boot (--boot-mode bios) "
						 "removes it")))
			return ferr(-ENOMEM, "out of memory");
	}
	return 0;
}

/* What --exclude may leave out: a partition the system does not need to
 * boot (check_part_needed). */
static int exclude_check(struct stage *s, const struct part_set *ex)
{
	const struct probe_disk *d = &s->pr.disks[0];

	for (int num = 1; num < 256; num++) {
		const struct probe_part *pp = NULL;
		const char *needed;

		if (!part_set_has(ex, num))
			continue;
		for (size_t i = 0; i < d->nparts && !pp; i++)
			if (d->parts[i].part && d->parts[i].part->num == num)
				pp = &d->parts[i];
		if (!pp)
			return ferr(-EINVAL, "--exclude %d: %s has no partition %d", num,
				    s->src->path, num);
		needed = check_part_needed(s, pp);
		if (needed && needed[0] == '/')
			return ferr(-EINVAL, "--exclude %d: partition %d holds %s, which the system "
				    "needs to boot", num, num, needed);
		if (needed)
			return ferr(-EINVAL, "--exclude %d: partition %d is %s: Ferry leaves out a "
				    "data partition, not the partitions in it", num, num, needed);
	}
	s->exclude = *ex;
	return 0;
}

int check_and_fix(struct source *src, uint32_t mask, const struct trial_opts *o,
		  struct fix_report *rep, struct check_report *r, bool *converted)
{
	const char *format = o->format;
	size_t first = r->n;
	struct stage s;
	bool convert = false;
	/* strict: a filesystem marked with errors is not edited */
	int err = stage_open(&s, src, rep, true);

	*converted = false;
	if (err)
		return err;
	if (!part_set_empty(o->exclude))
		err = exclude_check(&s, o->exclude);
	if (!err)
		err = check_system(&s, format, r);
	if (!err)
		err = plan_boot_mode(&s, o->mode, r, &convert);
	if (!err)
		err = stage_fix(&s, mask, r->profile->name, rep);
	if (!err && convert) {
		err = biosboot_convert(&s, rep);
		*converted = !err;
	}
	if (!err && convert)
		err = mark_converted(r, first);
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

int check_on_copy(struct source *src, const struct trial_opts *o, struct check_report *r)
{
	const char *format = o->format;
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
		bool convert = false;

		if (!part_set_empty(o->exclude))
			err = exclude_check(&s, o->exclude);
		if (!err)
			err = check_system(&s, format, r);
		if (!err)
			err = plan_boot_mode(&s, o->mode, r, &convert);
		if (!err && s.have_root)
			err = stage_fix(&s, (1u << fix_nrules) - 1, r->profile->name, &rules);
		if (!err && convert) {
			/* a tree opened read-only here (XFS without NBD) cannot
			 * take GRUB's files: a finding, as fs.noedit is */
			err = biosboot_convert(&s, &rules);
			if (err && err != -ENOMEM)
				err = check_raise(r, "boot.convert", src->path, "--boot-mode bios: %s",
						  ferr_msg());
			else if (!err)
				err = mark_converted(r, first);
		}
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
