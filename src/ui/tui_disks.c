/* ferry tui: the disks, then the cloud and the check report. */
#include <ctype.h>
#include <errno.h>
#include <newt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk/source.h"
#include "check/trial.h"
#include "fs/detect.h"
#include "ui/tui.h"
#include "util/err.h"
#include "util/size.h"

/* Text that fills a textbox: what f received (a memstream). */
struct text {
	char *buf;
	size_t len;
	FILE *f;
};

static FILE *text_open(struct text *x)
{
	x->buf = NULL;
	x->len = 0;
	x->f = open_memstream(&x->buf, &x->len);
	return x->f;
}

static const char *text_done(struct text *x)
{
	if (x->f)
		fclose(x->f);
	x->f = NULL;
	return x->buf ? x->buf : "";
}

/* One line of the disk list (after its mark): name, model, size, table,
 * what it holds. */
static void disk_line(const struct tui *t, size_t i, char *buf, size_t size)
{
	const struct probe_disk *d = &t->pr.disks[i];
	const char *name = strrchr(d->src.path, '/') ? strrchr(d->src.path, '/') + 1 : d->src.path;
	char sz[16];
	const char *what = "data";

	fmt_bytes(sz, sizeof(sz), d->src.size);
	if (t->pr.root.disk == (int)i)
		what = "system (/)";
	else if (t->pr.boot.disk == (int)i)
		what = "/boot";
	snprintf(buf, size, "%-12.12s %-12.12s %10s  %-5.5s %zu parts  %s", name,
		 d->src.model[0] ? d->src.model : "-", sz, d->table.type == TABLE_NONE ? "none" : d->table.type_name, d->nparts,
		 what);
}

/* What the disk holds, for the box under the list. */
static void disk_text(const struct tui *t, size_t i, FILE *f)
{
	const struct probe_disk *d = &t->pr.disks[i];
	char sz[16], used[16], name[64];

	fmt_bytes(sz, sizeof(sz), d->src.size);
	fprintf(f, "%s  %s  table %s%s%s\n", d->src.path, sz,
		d->table.type == TABLE_NONE ? "none" : d->table.type_name,
		d->src.in_use[0] ? "  IN USE: " : "", d->src.in_use);
	fprintf(f, "%-20s %10s %-8s %-10s %10s  %s\n", "", "size", "fs", "label", "used", "holds");
	for (size_t p = 0; p < d->nvols; p++) {
		const struct probe_part *pp = &d->parts[p];
		const char *holds = "";

		if (t->pr.root.disk == (int)i && t->pr.root.part == (int)p)
			holds = "/";
		else if (t->pr.boot.disk == (int)i && t->pr.boot.part == (int)p)
			holds = "/boot";
		fmt_bytes(sz, sizeof(sz), pp->dev.size);
		if (pp->have_used)
			fmt_bytes(used, sizeof(used), pp->used);
		else
			snprintf(used, sizeof(used), "-");
		fprintf(f, "%-20.20s %10s %-8.8s %-10.10s %10s  %s\n",
			probe_part_name(pp, name, sizeof(name)), sz,
			pp->part && pp->part->kind == PART_EXTENDED ? "extended" : fs_type_name(pp->fs),
			pp->label[0] ? pp->label : "-", used, holds);
	}
	if (t->pr.root.disk == (int)i)
		fprintf(f, "\n/: %s\n", t->pr.root.reason);
	if (t->pr.boot.disk == (int)i)
		fprintf(f, "/boot: %s\n", t->pr.boot.reason);
	if (t->pr.root.disk < 0)
		fputs("\nNo disk holds a system that Ferry recognises (/ was not found).\n", f);
}

/* The box under the list follows the list's current line. The list's
 * items carry their disk's index plus one (an item's data is never NULL). */
struct disk_box {
	const struct tui *t;
	newtComponent info;
};

static void disk_moved(newtComponent list, void *data)
{
	const struct disk_box *b = data;
	struct text x;
	uintptr_t i = (uintptr_t)newtCheckboxTreeGetCurrent(list);

	if (!i || !text_open(&x))
		return;
	disk_text(b->t, i - 1, x.f);
	newtTextboxSetText(b->info, text_done(&x));
	free(x.buf);
}

static int scan(struct tui *t)
{
	newtComponent form;
	int err;

	newtCenteredWindow(50, 3, "Disks");
	form = newtForm(NULL, NULL, 0);
	newtFormAddComponent(form, newtLabel(2, 1, "Reading the disks' tables and filesystems..."));
	newtDrawForm(form);
	newtRefresh();
	err = probe_disks(&t->pr, t->paths, t->npaths);
	newtFormDestroy(form);
	newtPopWindow();
	if (err) {
		probe_release(&t->pr);
		return err;
	}
	t->have_probe = true;
	if (t->disk < 0)
		t->disk = t->pr.root.disk >= 0 ? t->pr.root.disk : 0;
	return 0;
}

void tui_data_release(struct tui *t)
{
	for (size_t i = 0; i < t->ndata; i++) {
		if (t->data[i].ran)
			capture_result_release(&t->data[i].res);
		free(t->data[i].target);
		free(t->data[i].error);
	}
	free(t->data);
	t->data = NULL;
	t->ndata = 0;
}

/* The marks: S the system disk (one), D a data disk, blank not captured. */
static const char marks[] = " SD";

/* The disks as marked: the system disk's index, the data disks into
 * t->data. -1 (said to the operator) when the marks do not make a job. */
static int marked(struct tui *t, newtComponent list)
{
	int sys = -1;
	size_t ndata = 0;

	for (size_t i = 0; i < t->pr.n; i++) {
		char m = newtCheckboxTreeGetEntryValue(list, (void *)(i + 1));

		if (m == 'S' && sys >= 0) {
			tui_message("Disks", "Only one disk is the system disk (S): %s and %s are both "
				    "marked.", t->pr.disks[sys].src.path, t->pr.disks[i].src.path);
			return -1;
		}
		if (m == 'S')
			sys = (int)i;
		ndata += m == 'D';
	}
	if (sys < 0) {
		tui_message("Disks", "Mark the disk to capture as the system disk: S on its line.");
		return -1;
	}
	if (t->pr.root.disk >= 0 && sys != t->pr.root.disk &&
	    !tui_ask("Disks", "Capture it", "Choose again",
		     "%s does not hold the system (/ is on %s). Capture it as the system disk anyway?",
		     t->pr.disks[sys].src.path, t->pr.disks[t->pr.root.disk].src.path))
		return -1;
	tui_data_release(t);
	if (ndata && !(t->data = calloc(ndata, sizeof(*t->data)))) {
		tui_message("Disks", "Out of memory.");
		return -1;
	}
	for (size_t i = 0; i < t->pr.n; i++)
		if (newtCheckboxTreeGetEntryValue(list, (void *)(i + 1)) == 'D')
			t->data[t->ndata++].disk = (int)i;
	return sys;
}

/* s or d on the list: the current disk becomes the system disk (the mark
 * leaves the one that had it) or a data disk; again, it is unmarked. */
static void mark(const struct tui *t, newtComponent list, char m)
{
	const void *cur = newtCheckboxTreeGetCurrent(list);

	if (!cur)
		return;
	if (newtCheckboxTreeGetEntryValue(list, cur) == m) {
		newtCheckboxTreeSetEntryValue(list, cur, ' ');
		return;
	}
	if (m == 'S')
		for (size_t i = 0; i < t->pr.n; i++)
			if (newtCheckboxTreeGetEntryValue(list, (void *)(i + 1)) == 'S')
				newtCheckboxTreeSetEntryValue(list, (void *)(i + 1), ' ');
	newtCheckboxTreeSetEntryValue(list, cur, m);
}

enum tui_go tui_disks(struct tui *t)
{
	newtComponent form, list, info, next, rescan, leave, co;
	struct disk_box box;
	struct newtExitStruct es;
	char line[128];
	enum tui_go go = TUI_QUIT;
	int err, sys = -1;

	tui_frame("1/7 Disks", " <S> system disk  <D> data disk   <Tab> next field   <F12> next screen");
	while (!t->have_probe && (err = scan(t)) < 0)
		if (!tui_ask("Disks", "Again", "Leave", "The disks cannot be read:\n\n%s", ferr_msg()))
			return TUI_QUIT;
	if (!t->pr.n) {
		tui_message("Disks", "No disk was found: nothing to capture.");
		return TUI_QUIT;
	}
	newtOpenWindow(1, 2, 76, 19, "Disks: the system disk (S) and data disks (D)");
	form = newtForm(NULL, NULL, 0);
	list = newtCheckboxTreeMulti(1, 1, 5, (char *)marks, NEWT_FLAG_SCROLL);
	for (size_t i = 0; i < t->pr.n; i++) {
		disk_line(t, i, line, sizeof(line));
		newtCheckboxTreeAddItem(list, line, (void *)(i + 1), 0, NEWT_ARG_APPEND, NEWT_ARG_LAST);
	}
	newtCheckboxTreeSetWidth(list, 72);
	newtCheckboxTreeSetEntryValue(list, (void *)(uintptr_t)(t->disk + 1), 'S');
	for (size_t d = 0; d < t->ndata; d++)
		newtCheckboxTreeSetEntryValue(list, (void *)(uintptr_t)(t->data[d].disk + 1), 'D');
	newtCheckboxTreeSetCurrent(list, (void *)(uintptr_t)(t->disk + 1));
	info = newtTextbox(1, 7, 72, 9, NEWT_FLAG_SCROLL | NEWT_FLAG_WRAP);
	box = (struct disk_box){t, info};
	newtComponentAddCallback(list, disk_moved, &box);
	disk_moved(list, &box);
	next = newtCompactButton(48, 17, "Next");
	rescan = newtCompactButton(56, 17, "Rescan");
	leave = newtCompactButton(66, 17, "Leave");
	newtFormAddComponents(form, list, info, next, rescan, leave, NULL);
	newtFormAddHotKey(form, NEWT_KEY_F12);
	for (const char *k = "sSdD"; *k; k++)
		newtFormAddHotKey(form, *k);
	for (;;) {
		newtFormRun(form, &es);
		co = es.reason == NEWT_EXIT_COMPONENT ? es.u.co : NULL;
		if (es.reason == NEWT_EXIT_HOTKEY && es.u.key != NEWT_KEY_F12) {
			mark(t, list, (char)toupper(es.u.key));
			continue;
		}
		if (es.reason == NEWT_EXIT_HOTKEY)
			co = next;
		if (co == next) {
			if ((sys = marked(t, list)) < 0)
				continue;
			if (sys != t->disk && t->have_rep) {
				check_report_release(&t->rep);
				t->have_rep = false;
			}
			if (sys != t->disk) /* its partition numbers were another disk's */
				(void)tui_set(t, JOB_EXCLUDE, NULL);
			t->disk = sys;
			go = TUI_NEXT;
		} else if (co == rescan) {
			probe_release(&t->pr);
			tui_data_release(t);
			t->have_probe = false;
			t->disk = -1;
			go = TUI_BACK; /* this screen again: at the first, BACK stays */
		} else if (co != leave && es.reason != NEWT_EXIT_HOTKEY) {
			continue;
		}
		break;
	}
	newtFormDestroy(form);
	newtPopWindow();
	if (go == TUI_NEXT)
		return tui_set(t, JOB_SOURCE, t->pr.disks[t->disk].src.path) ? TUI_QUIT : TUI_NEXT;
	return go;
}

/* prefix, then text wrapped at width columns under the prefix's end. */
static void wrapped(FILE *f, const char *prefix, const char *text, int width)
{
	int indent = (int)strlen(prefix), col = indent;
	char word[256];
	const char *p = text;

	fputs(prefix, f);
	while (*p) {
		size_t n = strcspn(p, " ");

		if (n >= sizeof(word))
			n = sizeof(word) - 1;
		memcpy(word, p, n);
		word[n] = 0;
		if (col > indent && col + 1 + (int)n > width) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		}
		col += fprintf(f, "%s%s", col > indent ? " " : "", word);
		p += n;
		p += strspn(p, " ");
	}
	fputc('\n', f);
}

/* The findings, blockers first: each marked as the capture leaves it. */
static void findings_text(const struct check_report *r, FILE *f)
{
	static const enum check_sev order[] = {CHECK_BLOCKER, CHECK_WARNING, CHECK_INFO};

	if (r->os.name[0])
		fprintf(f, "System: %s (%s)\n\n", r->os.name, r->os.arch[0] ? r->os.arch : "?");
	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++)
		for (size_t i = 0; i < r->n; i++) {
			const struct check_finding *c = &r->f[i];

			if (c->sev != order[o])
				continue;
			fprintf(f, "%-7s %-20s %s\n", check_sev_name(c->sev), c->item->code,
				c->sev == CHECK_INFO ? "" : c->fix ? "fixed by capture" : "needs you");
			wrapped(f, "        ", c->item->title, 70);
			if (c->text && *c->text)
				wrapped(f, "        seen: ", c->text, 70);
			if (c->text && *c->text && c->file)
				wrapped(f, "          in: ", c->file, 70);
			if (c->fix)
				wrapped(f, "     capture: ", c->fix, 70);
			else if (c->sev != CHECK_INFO && c->item->hint[0])
				wrapped(f, "       to do: ", c->item->hint, 70);
		}
	if (!r->n)
		fputs("No findings: the disk is ready for this cloud as it is.\n", f);
}

static int run_check(struct tui *t)
{
	struct part_set ex = {{0}};
	struct source src;
	newtComponent form;
	int err;

	if (t->have_rep)
		check_report_release(&t->rep);
	t->have_rep = false;
	newtCenteredWindow(56, 3, "Check");
	form = newtForm(NULL, NULL, 0);
	newtFormAddComponent(form, newtLabel(2, 1, "Judging the disk and trying the fixes on a copy..."));
	newtDrawForm(form);
	newtRefresh();
	check_report_init(&t->rep, t->cloud);
	err = t->job.val[JOB_EXCLUDE] ? part_set_parse(&ex, t->job.val[JOB_EXCLUDE]) : 0;
	if (!err)
		err = source_open(&src, t->pr.disks[t->disk].src.path);
	if (!err) {
		struct trial_opts to = {t->cloud->efi ? BOOT_MODE_KEEP : BOOT_MODE_BIOS,
					t->job.val[JOB_FORMAT], &ex};

		err = check_on_copy(&src, &to, &t->rep);
		source_release(&src);
	}
	newtFormDestroy(form);
	newtPopWindow();
	if (err) {
		check_report_release(&t->rep);
		return err;
	}
	t->have_rep = true;
	t->left = check_count(&t->rep, CHECK_BLOCKER, true);
	return 0;
}

/* The system disk's partitions an operator may leave out: not the ones
 * that hold / or /boot, not an extended partition or an LVM PV (the check
 * refuses what else the system needs, naming it). */
static bool may_leave_out(const struct tui *t, size_t p)
{
	const struct probe_part *pp = &t->pr.disks[t->disk].parts[p];

	return pp->part && pp->part->kind != PART_EXTENDED && pp->fs != FS_LVM2 &&
	       !(t->pr.root.disk == t->disk && t->pr.root.part == (int)p) &&
	       !(t->pr.boot.disk == t->disk && t->pr.boot.part == (int)p);
}

/* Leave out: the partitions to leave out of the image, marked in a list;
 * the choice becomes ferry.exclude. 1 when it changed, 0 when not, -1 when
 * it could not be taken (said to the operator). */
static int leave_out(struct tui *t)
{
	const struct probe_disk *d = &t->pr.disks[t->disk];
	struct part_set was = {{0}}, now = {{0}};
	newtComponent form, list, ok, cancel, co;
	struct newtExitStruct es;
	struct strbuf v;
	char line[96], sz[16], used[16], name[64];
	size_t n = 0;
	int err;

	if (t->job.val[JOB_EXCLUDE] && part_set_parse(&was, t->job.val[JOB_EXCLUDE]) < 0) {
		tui_message("Leave out", "%s", ferr_msg());
		return -1;
	}
	for (size_t p = 0; p < d->nparts; p++)
		n += may_leave_out(t, p);
	if (!n) {
		tui_message("Leave out", "%s has no partition that may be left out: the system "
			    "needs every one.", d->src.path);
		return 0;
	}
	newtCenteredWindow(68, 15, "Leave out");
	form = newtForm(NULL, NULL, 0);
	newtFormAddComponent(form, newtTextboxReflowed(1, 0, "A partition left out is not "
		"copied: its space in the image reads as zeros and the lines of /etc/fstab "
		"that mount it are commented out. Space marks one.", 62, 0, 0, 0));
	list = newtCheckboxTree(1, 4, 7, NEWT_FLAG_SCROLL);
	for (size_t p = 0; p < d->nparts; p++) {
		const struct probe_part *pp = &d->parts[p];

		if (!may_leave_out(t, p))
			continue;
		fmt_bytes(sz, sizeof(sz), pp->dev.size);
		if (pp->have_used)
			fmt_bytes(used, sizeof(used), pp->used);
		else
			snprintf(used, sizeof(used), "-");
		snprintf(line, sizeof(line), "%-13.13s %10s %-6.6s %-10.10s %9s used",
			 probe_part_name(pp, name, sizeof(name)), sz, fs_type_name(pp->fs),
			 pp->label[0] ? pp->label : "-", used);
		newtCheckboxTreeAddItem(list, line, (void *)pp, 0, NEWT_ARG_APPEND, NEWT_ARG_LAST);
		if (part_set_has(&was, pp->part->num))
			newtCheckboxTreeSetEntryValue(list, (void *)pp, '*');
	}
	newtCheckboxTreeSetWidth(list, 64);
	ok = newtCompactButton(48, 12, "OK");
	cancel = newtCompactButton(56, 12, "Cancel");
	newtFormAddComponents(form, list, ok, cancel, NULL);
	newtFormAddHotKey(form, NEWT_KEY_F12);
	newtFormRun(form, &es);
	co = es.reason == NEWT_EXIT_HOTKEY ? ok : es.u.co; /* F12 is OK */
	if (co == ok) {
		int m;
		const void **sel = (const void **)newtCheckboxTreeGetSelection(list, &m);

		for (int i = 0; i < m; i++)
			part_set_add(&now, ((const struct probe_part *)sel[i])->part->num);
		free(sel);
	} else {
		now = was;
	}
	newtFormDestroy(form);
	newtPopWindow();
	if (!memcmp(&was, &now, sizeof(was)))
		return 0;
	strbuf_init(&v);
	err = 0;
	for (int num = 1; !err && num < 256; num++)
		if (part_set_has(&now, num))
			err = strbuf_addf(&v, "%s%d", v.len ? "," : "", num);
	if (!err)
		err = tui_set(t, JOB_EXCLUDE, v.s);
	strbuf_release(&v);
	if (err) {
		tui_message("Leave out", "%s", ferr_msg());
		return -1;
	}
	return 1;
}

enum tui_go tui_check(struct tui *t)
{
	newtComponent form, clouds, verdict, report, back, next, leave, co;
	struct newtExitStruct es;
	struct text x;
	char line[128], out[48] = "";
	enum tui_go go = TUI_QUIT;

	tui_frame("2/7 Cloud and check", " <Enter> on a cloud checks again   <F12> next screen");
	if (!t->have_rep && run_check(t) < 0) {
		if (!t->job.val[JOB_EXCLUDE]) {
			tui_message("Check", "The check failed:\n\n%s", ferr_msg());
			return TUI_BACK;
		}
		/* what the check refuses to leave out: said, and kept in */
		tui_message("Leave out", "%s\n\nNothing is left out.", ferr_msg());
		if (tui_set(t, JOB_EXCLUDE, NULL))
			return TUI_QUIT;
		return tui_check(t);
	}
	newtOpenWindow(1, 2, 76, 19, "Cloud and check");
	form = newtForm(NULL, NULL, 0);
	clouds = newtListbox(1, 1, 6, NEWT_FLAG_SCROLL | NEWT_FLAG_BORDER | NEWT_FLAG_RETURNEXIT);
	newtListboxSetWidth(clouds, 70);
	for (unsigned i = 0; i < cloud_nprofiles; i++) {
		snprintf(line, sizeof(line), "%-8s %s", cloud_profiles[i].name, cloud_profiles[i].title);
		newtListboxAppendEntry(clouds, line, &cloud_profiles[i]);
		if (&cloud_profiles[i] == t->cloud)
			newtListboxSetCurrent(clouds, (int)i);
	}
	if (t->job.val[JOB_EXCLUDE])
		snprintf(out, sizeof(out), "; left out: %s", t->job.val[JOB_EXCLUDE]);
	if (t->left)
		snprintf(line, sizeof(line), "%zu blocker%s the fixes leave: the capture stops unless "
			 "forced%s", t->left, t->left == 1 ? "" : "s", out);
	else
		snprintf(line, sizeof(line), "Ready: nothing blocks the migration once captured%s",
			 out);
	verdict = newtLabel(1, 7, line);
	report = newtTextbox(1, 8, 72, 8, NEWT_FLAG_SCROLL);
	if (text_open(&x)) {
		findings_text(&t->rep, x.f);
		newtTextboxSetText(report, text_done(&x));
		free(x.buf);
	}
	back = newtCompactButton(57, 17, "Back");
	next = newtCompactButton(65, 17, "Next");
	leave = newtCompactButton(44, 17, "Leave out");
	newtFormAddComponents(form, clouds, verdict, report, next, leave, back, NULL);
	newtFormAddHotKey(form, NEWT_KEY_F12);
	for (;;) {
		newtFormRun(form, &es);
		co = es.reason == NEWT_EXIT_COMPONENT ? es.u.co : NULL;
		if (es.reason == NEWT_EXIT_HOTKEY && es.u.key == NEWT_KEY_F12)
			co = next;
		if (co == clouds) {
			t->cloud = newtListboxGetCurrent(clouds);
			if (t->have_rep)
				check_report_release(&t->rep);
			t->have_rep = false;
			go = TUI_NEXT + 100; /* this screen again, checked anew */
		} else if (co == leave) {
			if (leave_out(t) <= 0) /* unchanged, or why said */
				continue;
			check_report_release(&t->rep);
			t->have_rep = false;
			go = TUI_NEXT + 100;
		} else if (co == back) {
			go = TUI_BACK;
		} else if (co == next) {
			t->force = false;
			if (t->left && !tui_ask("Blockers left", "Capture anyway", "Go back",
						"%zu blocker%s remain%s after the fixes. Captured anyway, the "
						"image will be refused by the cloud's import or will not "
						"boot there until you mend it by hand.",
						t->left, t->left == 1 ? "" : "s", t->left == 1 ? "s" : ""))
				continue;
			t->force = t->left > 0;
			go = TUI_NEXT;
		} else if (es.reason != NEWT_EXIT_HOTKEY) {
			continue;
		}
		break;
	}
	newtFormDestroy(form);
	newtPopWindow();
	if ((int)go == TUI_NEXT + 100)
		return tui_check(t);
	if (go == TUI_NEXT && (tui_set(t, JOB_CLOUD, t->cloud->name) ||
			       tui_set(t, JOB_FORCE, t->force ? "yes" : NULL)))
		return TUI_QUIT;
	return go;
}
