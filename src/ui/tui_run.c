/* ferry tui: the capture confirmed, watched, and its result. capture_run
 * works in a thread of its own; the screen polls what its hooks left. */
#include <errno.h>
#include <fcntl.h>
#include <newt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ui/progress.h"
#include "ui/tui.h"
#include "util/err.h"
#include "util/sha256.h"
#include "util/size.h"
#include "util/strbuf.h"

#define WARN_LINES 4

/* What the capture's hooks report, for the screen to show. */
struct watch {
	pthread_mutex_t lock;
	struct tui *t;
	char disk[48]; /* which disk, when there are data disks */
	char phase[16];
	struct progress prog;
	bool have_prog, final;
	char warn[WARN_LINES][160];
	size_t nwarn;
	bool done, cancel;
};

static void on_phase(void *ctx, const char *phase)
{
	struct watch *w = ctx;

	pthread_mutex_lock(&w->lock);
	snprintf(w->phase, sizeof(w->phase), "%s", phase);
	pthread_mutex_unlock(&w->lock);
}

static void on_warn(void *ctx, const char *msg)
{
	struct watch *w = ctx;

	pthread_mutex_lock(&w->lock);
	if (w->nwarn == WARN_LINES) {
		memmove(w->warn[0], w->warn[1], sizeof(w->warn[0]) * (WARN_LINES - 1));
		w->nwarn--;
	}
	snprintf(w->warn[w->nwarn++], sizeof(w->warn[0]), "%s", msg);
	pthread_mutex_unlock(&w->lock);
}

static void on_progress(void *ctx, const struct progress *p, bool final)
{
	struct watch *w = ctx;

	pthread_mutex_lock(&w->lock);
	w->prog = *p;
	w->prog.view = NULL;
	w->have_prog = true;
	w->final = final;
	pthread_mutex_unlock(&w->lock);
}

static bool on_cancelled(void *ctx)
{
	struct watch *w = ctx;
	bool c;

	pthread_mutex_lock(&w->lock);
	c = w->cancel;
	pthread_mutex_unlock(&w->lock);
	return c;
}

/* The SHA-256 of the image file, read back (an upload's is hashed as it
 * is sent), with its own progress. */
static int hash_file(struct watch *w, const char *path, char hex[65])
{
	const struct progress_view view = {.update = on_progress, .arg = w};
	struct progress prog;
	struct sha256 h;
	struct stat st;
	char *buf = malloc(1 << 20);
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0 || !buf || fstat(fd, &st)) {
		err = ferr_errno(-errno, "cannot read %s back", path);
		goto out;
	}
	on_phase(w, "sha256");
	progress_init(&prog, "sha256", (uint64_t)st.st_size, &view);
	sha256_init(&h);
	while (!err && (n = read(fd, buf, 1 << 20)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = ferr_errno(-errno, "cannot read %s back", path);
		else if (on_cancelled(w))
			err = ferr(-ECANCELED, "cancelled by the operator (the image is in place)");
		else {
			sha256_update(&h, buf, (size_t)n);
			progress_add(&prog, (uint64_t)n);
		}
	}
	if (!err) {
		sha256_final_hex(&h, hex);
		progress_finish(&prog);
	} else {
		sha256_release(&h);
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return err;
}

/* One disk's capture, then its image read back for the SHA-256 when it is
 * a local file. */
static int capture_one(struct watch *w, const struct capture_opts *o, struct capture_result *r,
		       char **error)
{
	const struct capture_hooks hooks = {
		.ctx = w, .phase = on_phase, .warn = on_warn, .progress = on_progress,
		.cancelled = on_cancelled,
	};
	int err = capture_run(o, &hooks, r);

	if (!err && !r->remote && strcmp(r->target, "-"))
		err = hash_file(w, r->target + (strncmp(r->target, "file://", 7) ? 0 : 7),
				r->stats.sha256);
	if (err)
		*error = strdup(ferr_msg());
	return err;
}

static const char *disk_name(const struct tui *t, int disk)
{
	const char *path = t->pr.disks[disk].src.path, *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static void set_disk(struct watch *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_disk(struct watch *w, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&w->lock);
	va_start(ap, fmt);
	vsnprintf(w->disk, sizeof(w->disk), fmt, ap);
	va_end(ap);
	w->have_prog = false;
	w->nwarn = 0;
	pthread_mutex_unlock(&w->lock);
}

/* The system disk, then each data disk as it is (no fixes; it holds no
 * system, so the checks' blockers do not stop it). A failure stops the
 * rest. */
static void *capture_thread(void *arg)
{
	struct watch *w = arg;
	struct tui *t = w->t;

	if (t->ndata)
		set_disk(w, "%s (system)", disk_name(t, t->disk));
	t->result = capture_one(w, &t->opts, &t->res, &t->error);
	for (size_t i = 0; !t->result && i < t->ndata; i++) {
		struct tui_data *d = &t->data[i];
		struct capture_opts o = t->opts;

		o.source = t->pr.disks[d->disk].src.path;
		o.target = d->target;
		o.fixes = 0;
		o.no_fix_given = true;
		o.fix_given = false;
		o.force = true; /* a data disk holds no system: root.missing */
		set_disk(w, "%s (data %zu of %zu)", disk_name(t, d->disk), i + 1, t->ndata);
		d->ran = true;
		if ((d->result = capture_one(w, &o, &d->res, &d->error)))
			break;
	}
	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int tui_data_targets(struct tui *t)
{
	const char *target = t->job.val[JOB_TARGET];

	if (!t->ndata)
		return 0;
	if (t->kind == TUI_URL)
		return ferr(-EINVAL, "a presigned URL names one object: the data disks need an S3 "
				     "or local target (or leave them unmarked)");
	for (size_t i = 0; i < t->ndata; i++) {
		const char *base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
		const char *dot = strrchr(base, '.');
		char name[64];
		struct strbuf s;
		int err;

		snprintf(name, sizeof(name), "%s", disk_name(t, t->data[i].disk));
		if (strrchr(name, '.') && strrchr(name, '.') != name)
			*strrchr(name, '.') = 0; /* data.img: data */
		if (!dot || dot == base)
			dot = base + strlen(base);
		strbuf_init(&s);
		err = strbuf_addf(&s, "%.*s-%s%s", (int)(dot - target), target, name, dot);
		free(t->data[i].target);
		t->data[i].target = err ? NULL : s.s;
		if (err)
			return err;
		if (t->kind == TUI_FILE && !access(s.s, F_OK))
			return ferr(-EEXIST, "%s (for %s) already exists: move it away first", s.s,
				    t->pr.disks[t->data[i].disk].src.path);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(t->data[j].target, s.s))
				return ferr(-EEXIST, "%s and %s would both go to %s: rename one",
					    t->pr.disks[t->data[j].disk].src.path,
					    t->pr.disks[t->data[i].disk].src.path, s.s);
	}
	return 0;
}

enum tui_go tui_confirm(struct tui *t)
{
	struct strbuf s, redacted;
	const struct probe_disk *d = &t->pr.disks[t->disk];
	const char *c = t->job.val[JOB_COMPRESS];
	bool compressed = c && strcmp(c, "none"), yes;
	char size[16];

	tui_frame("5/7 Confirm", NULL);
	if (tui_data_targets(t)) {
		tui_message("Confirm", "%s", ferr_msg());
		return TUI_BACK;
	}
	strbuf_init(&s);
	strbuf_init(&redacted);
	job_redact(t->job.val[JOB_TARGET], &redacted);
	fmt_bytes(size, sizeof(size), d->src.size);
	strbuf_addf(&s, "Capture %s (%s%s%s)\nfor %s\ninto %s\nas %s%s%s.\n\n", d->src.path,
		    d->src.model[0] ? d->src.model : "", d->src.model[0] ? ", " : "", size,
		    t->cloud->title, redacted.s ? redacted.s : "",
		    t->job.val[JOB_FORMAT] ? t->job.val[JOB_FORMAT] : "qcow2",
		    compressed ? ", compressed with " : "", compressed ? t->job.val[JOB_COMPRESS] : "");
	if (t->job.val[JOB_EXCLUDE])
		strbuf_addf(&s, "Left out (read as zeros, their fstab lines commented out): "
			    "partition%s %s.\n\n", strchr(t->job.val[JOB_EXCLUDE], ',') ? "s" : "",
			    t->job.val[JOB_EXCLUDE]);
	if (t->force)
		strbuf_addf(&s, "Despite %zu blocker%s the fixes leave.\n\n", t->left,
			    t->left == 1 ? "" : "s");
	if (t->ndata)
		strbuf_addf(&s, "Then the data disk%s, as %s (no fixes):\n", t->ndata == 1 ? "" : "s",
			    t->ndata == 1 ? "it is" : "they are");
	for (size_t i = 0; i < t->ndata; i++) {
		strbuf_release(&redacted);
		job_redact(t->data[i].target, &redacted);
		strbuf_addf(&s, "  %s into %s\n", t->pr.disks[t->data[i].disk].src.path,
			    redacted.s ? redacted.s : "");
	}
	if (t->ndata)
		strbuf_add(&s, "\n", 1);
	strbuf_addf(&s, "The disk is only read. The fixes are made in a copy.");
	yes = tui_ask("Confirm", "Capture", "Back", "%s", s.s ? s.s : "");
	strbuf_release(&s);
	strbuf_release(&redacted);
	return yes ? TUI_NEXT : TUI_BACK;
}

static void show(struct watch *w, newtComponent phase, newtComponent scale,
		 newtComponent line, newtComponent warns)
{
	char text[WARN_LINES * 162 + 1] = "", buf[200];

	pthread_mutex_lock(&w->lock);
	snprintf(buf, sizeof(buf), "%s%s%sPhase: %-12s", w->disk[0] ? "Disk: " : "", w->disk,
		 w->disk[0] ? "   " : "", w->cancel ? "stopping" : w->phase[0] ? w->phase : "starting");
	newtLabelSetText(phase, buf);
	if (w->have_prog) {
		progress_format(buf, sizeof(buf), &w->prog, now_seconds(), w->final);
		newtLabelSetText(line, buf);
		newtScaleSet(scale, progress_percent(&w->prog));
	}
	for (size_t i = 0; i < w->nwarn; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s\n", w->warn[i]);
	pthread_mutex_unlock(&w->lock);
	newtTextboxSetText(warns, text);
}

enum tui_go tui_progress(struct tui *t)
{
	struct watch w = {.t = t};
	newtComponent form, phase, scale, line, warns, cancel;
	struct newtExitStruct es;
	pthread_t th;
	bool done = false;
	int err;

	if (t->ran)
		return TUI_NEXT;
	err = job_capture_opts(&t->job, &t->opts);
	if (err) {
		tui_message("Capture", "%s", ferr_msg());
		return TUI_BACK;
	}
	tui_frame("6/7 Capture", " The capture is running   <Enter> on Cancel stops it");
	pthread_mutex_init(&w.lock, NULL);
	newtOpenWindow(1, 2, 76, 19, "Capture");
	form = newtForm(NULL, NULL, 0);
	phase = newtLabel(2, 1, "Phase: starting                                                     ");
	scale = newtScale(2, 3, 72, 100);
	line = newtLabel(2, 5, "                                                                      ");
	newtFormAddComponent(form, newtLabel(2, 7, "Warnings:"));
	warns = newtTextbox(2, 8, 72, WARN_LINES * 2, NEWT_FLAG_WRAP);
	cancel = newtCompactButton(63, 17, "Cancel");
	newtFormAddComponents(form, phase, scale, line, warns, cancel, NULL);
	newtFormSetTimer(form, 250);
	t->ran = true;
	if ((err = pthread_create(&th, NULL, capture_thread, &w))) {
		t->result = -err;
		t->error = strdup("cannot start the capture's thread");
		done = true;
	}
	while (!done) {
		newtFormRun(form, &es);
		if (es.reason == NEWT_EXIT_COMPONENT && es.u.co == cancel &&
		    tui_ask("Cancel", "Cancel it", "Go on",
			    "Stop the capture? A local image file is removed. An S3 upload is "
			    "kept: the same capture run again (from these menus, or unattended) "
			    "sends only the parts that are missing.")) {
			pthread_mutex_lock(&w.lock);
			w.cancel = true;
			pthread_mutex_unlock(&w.lock);
			newtLabelSetText(phase, "Phase: stopping...");
		}
		show(&w, phase, scale, line, warns);
		newtRefresh();
		pthread_mutex_lock(&w.lock);
		done = w.done;
		pthread_mutex_unlock(&w.lock);
	}
	if (!err)
		pthread_join(th, NULL);
	newtFormDestroy(form);
	newtPopWindow();
	pthread_mutex_destroy(&w.lock);
	return TUI_NEXT;
}

/* What the capture made, the next steps into the cloud, and the same job
 * for the next server. */
static bool failed(const struct tui *t)
{
	for (size_t i = 0; i < t->ndata; i++)
		if (t->data[i].ran && t->data[i].result)
			return true;
	return t->result;
}

static char *result_text(const struct tui *t)
{
	struct strbuf cmd;
	char *report = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&report, &len);

	if (!f)
		return NULL;
	if (t->result)
		fprintf(f, "The capture failed:\n%s\n", t->error ? t->error : "?");
	else
		fprintf(f, "Done: the image is in %s\n%llu bytes, SHA-256:\n  %s\n", t->res.target,
			(unsigned long long)t->res.file_size, t->res.stats.sha256);
	if (!t->result && t->res.bad_sectors)
		fprintf(f, "%llu sector%s of the disk did not read: zeros in the image (listed "
			   "below)\n", (unsigned long long)t->res.bad_sectors,
			t->res.bad_sectors == 1 ? "" : "s");
	if (!t->result && t->res.remote && t->res.stats.parts)
		fprintf(f, "Upload: %llu parts, %llu of them reused from an earlier run\n",
			(unsigned long long)t->res.stats.parts,
			(unsigned long long)t->res.stats.parts_reused);
	for (size_t i = 0; i < t->ndata; i++) {
		const struct tui_data *d = &t->data[i];

		if (!d->ran)
			fprintf(f, "Data disk %s: not captured\n", t->pr.disks[d->disk].src.path);
		else if (d->result)
			fprintf(f, "Data disk %s failed:\n%s\n", t->pr.disks[d->disk].src.path,
				d->error ? d->error : "?");
		else
			fprintf(f, "Data disk %s: the image is in %s\n%llu bytes, SHA-256:\n  %s\n",
				t->pr.disks[d->disk].src.path, d->res.target,
				(unsigned long long)d->res.file_size, d->res.stats.sha256);
		if (d->ran && !d->result && d->res.bad_sectors)
			fprintf(f, "  %llu sector%s did not read: zeros in its image\n",
				(unsigned long long)d->res.bad_sectors,
				d->res.bad_sectors == 1 ? "" : "s");
	}
	fputc('\n', f);
	if (!t->result) /* a capture that failed has no regions written to tell */
		capture_report_text(f, &t->res);
	else if (t->res.after)
		capture_report_checks(f, &t->res);
	if (!t->result && t->cloud->import)
		fprintf(f, "\nNext, into %s:\n%s\n", t->cloud->title, t->cloud->import);
	strbuf_init(&cmd);
	if (!t->result && !tui_job_cmdline(t, &cmd) && cmd.s)
		fprintf(f, "\nThe same job for the next server, on its kernel command line (an S3 "
			   "target also needs ferry.credentials=FILE; Save job writes both):\n%s\n",
			cmd.s);
	if (!t->result && t->ndata)
		fputs("(ferry run captures the system disk; the data disks are captured from these "
		      "menus or with ferry capture --force.)\n", f);
	strbuf_release(&cmd);
	fclose(f);
	return report;
}

enum tui_go tui_result(struct tui *t)
{
	newtComponent form, text, save, done;
	struct newtExitStruct es;
	char *report = result_text(t);

	tui_frame("7/7 Result", " <Tab> to the text, arrows scroll   <Enter> on Done leaves");
	newtOpenWindow(1, 2, 76, 19, failed(t) ? "Result: failed" : "Result: captured");
	form = newtForm(NULL, NULL, 0);
	text = newtTextbox(1, 1, 72, 15, NEWT_FLAG_SCROLL | NEWT_FLAG_WRAP);
	newtTextboxSetText(text, report ? report : "");
	save = newtCompactButton(52, 17, "Save job");
	done = newtCompactButton(65, 17, "Done");
	newtFormAddComponents(form, text, NULL);
	if (!t->result)
		newtFormAddComponent(form, save);
	newtFormAddComponent(form, done);
	for (;;) {
		newtFormRun(form, &es);
		if (es.reason == NEWT_EXIT_COMPONENT && es.u.co == save) {
			tui_save_job(t);
			continue;
		}
		if (es.reason == NEWT_EXIT_COMPONENT && es.u.co == done)
			break;
	}
	newtFormDestroy(form);
	newtPopWindow();
	free(report);
	return TUI_NEXT;
}
