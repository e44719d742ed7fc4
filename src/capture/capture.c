/* The capture pipeline (see capture.h): source, checks and fixes, plan,
 * image, sink, manifest. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture/capture.h"
#include "check/trial.h"
#include "disk/probe.h"
#include "sink/manifest.h"
#include "util/err.h"

static void phase(const struct capture_result *r, const char *name)
{
	if (r->hooks->phase)
		r->hooks->phase(r->hooks->ctx, name);
}

/* Every progress of the capture goes to the front end's hook. */
static void on_progress(void *arg, const struct progress *p, bool final)
{
	const struct capture_hooks *h = arg;

	h->progress(h->ctx, p, final);
}

static void on_warning(const char *msg, void *arg)
{
	struct capture_result *r = arg;

	/* The fix stage and the plan may both look at a damaged filesystem:
	 * it is said once. */
	if (warn_list_add(&r->warnings, msg) && r->hooks->warn)
		r->hooks->warn(r->hooks->ctx, msg);
}

static void on_unreadable(void *arg, uint64_t sectors)
{
	struct capture_result *r = arg;

	if (r->hooks->unreadable)
		r->hooks->unreadable(r->hooks->ctx, sectors);
}

static void partial(const struct capture_result *r, const char *path)
{
	if (r->hooks->partial)
		r->hooks->partial(r->hooks->ctx, path);
}

static void made_partial(void *arg, const char *tmp)
{
	partial(arg, tmp);
}

static int find_auto_source(char **path)
{
	struct probe pr;
	int err = probe_disks(&pr, NULL, 0);

	if (!err && pr.root.disk < 0)
		err = ferr(-ENOENT, "auto: no disk holds a root filesystem (an ext2/3/4 "
			   "filesystem whose /etc/fstab mounts it at /); name the disk");
	else if (!err && !(*path = strdup(pr.disks[pr.root.disk].src.path)))
		err = ferr(-ENOMEM, "out of memory");
	probe_release(&pr);
	return err;
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) || stat(b, &sb))
		return false;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The disk judged (and fixed, with fixes), then the image as it will be. */
static int run_checks(struct capture_result *r)
{
	const struct capture_opts *o = r->o;
	const struct trial_opts to = {o->boot_mode, image_format_kind(o->image.format), &o->exclude};
	double t0 = now_seconds();
	int err;

	phase(r, "check");
	if (!o->fixes) {
		/* The image is the disk as it is: one check says both. */
		err = check_on_copy(&r->src, &to, &r->before);
		r->after = &r->before;
		r->fix_s = now_seconds() - t0;
		return err;
	}
	/* From here on every read of the source sees the edits. */
	r->src.cow = &r->cow;
	err = check_and_fix(&r->src, o->fixes, &to, &r->fixes, &r->before, &r->converted);
	r->fix_s = now_seconds() - t0;
	t0 = now_seconds();
	if (!err)
		err = check_on_copy(&r->src, &to, &r->image);
	r->check_s = now_seconds() - t0;
	return err;
}

/* A blocker the user chose to leave: its rule is left out by --fix or
 * --no-fix. */
static bool left_by_choice(const struct capture_opts *o, const struct check_finding *f)
{
	for (size_t i = 0; f->item->fix_rule && i < fix_nrules; i++)
		if (!strcmp(fix_rules[i].name, f->item->fix_rule))
			return !(o->fixes & (1u << i));
	return false;
}

static void add_code(char *list, size_t size, const char *code)
{
	size_t used = strlen(list);

	if (used + strlen(code) + 3 < size)
		snprintf(list + used, size - used, "%s%s", used ? ", " : "", code);
}

/* What the checks found, before anything is copied. A blocker the fixes
 * cannot remove stops the capture unless --force; one whose fix was left
 * out by --fix or --no-fix is warned about. */
static int judge(struct capture_result *r)
{
	const struct capture_opts *o = r->o;
	const struct check_report *after = r->after;
	size_t blockers = 0, chosen = 0;
	char codes[512] = "", left[512] = "";

	for (size_t i = 0; i < after->n; i++) {
		const struct check_finding *b = &after->f[i];

		if (b->sev != CHECK_BLOCKER)
			continue;
		if (left_by_choice(o, b)) {
			chosen++;
			add_code(left, sizeof(left), b->item->code);
		} else {
			blockers++;
			add_code(codes, sizeof(codes), b->item->code);
		}
	}
	r->blocked = blockers > 0;
	if (r->hooks->checked)
		r->hooks->checked(r->hooks->ctx, r);
	if (chosen)
		ferry_warn("%s: %zu blocker%s left as it is (%s): %s", r->source, chosen,
			   chosen == 1 ? "" : "s", o->fixes ? "--fix" : "--no-fix", left);
	if (blockers && o->force) {
		ferry_warn("%s: capturing despite %zu blocker%s (--force): %s", r->source, blockers,
			   blockers == 1 ? "" : "s", codes);
		return 0;
	}
	r->stopped = blockers > 0;
	if (blockers)
		return ferr(-EPERM, "%s: %zu blocker%s that the fixes do not remove (%s): nothing "
			    "captured; see ferry check --cloud %s %s, or capture with --force",
			    r->source, blockers, blockers == 1 ? "" : "s", codes, o->cloud->name,
			    r->source);
	return 0;
}

/* The image writer's reads (from one thread), counted. */
static int source_input(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct capture_result *r = ctx;

	r->read_bytes += len;
	return source_pread(&r->src, buf, len, off);
}

static int sink_out_write(void *ctx, const void *buf, size_t len)
{
	return sink_write(ctx, buf, len);
}

static int sink_out_skip(void *ctx, uint64_t len)
{
	return sink_skip(ctx, len);
}

static int sink_out_patch(void *ctx, uint64_t off, const void *buf, size_t len)
{
	return sink_patch(ctx, off, buf, len);
}

/* Writes the prepared image into the target; the sink reports the upload
 * progress of a remote target, the image writer that of a local one. */
static int write_image(struct capture_result *r, struct image_writer *iw, struct sink *out,
		       const struct progress_view *view, double *t0)
{
	const struct capture_opts *o = r->o;
	struct sink_opts so = o->sink;
	struct image_out io = {.write = sink_out_write, .skip = sink_out_skip, .ctx = out};
	struct progress prog;
	bool stored_counts;
	int err;

	r->remote = sink_is_remote(o->target);
	/* An image whose length is known before it is written is counted as
	 * it is stored; one made in one pass, as it is read. */
	stored_counts = r->remote && iw->length;
	if (stored_counts) {
		progress_init(&prog, "upload", iw->length, view);
		so.prog = &prog;
	} else {
		progress_init(&prog, r->remote ? "upload" : "capture", iw->p->data_bytes, view);
	}
	so.length = iw->length;
	so.length_max = iw->length_max;
	so.view = view;
	if (iw->o.patch) {
		so.patch = true;
		so.head = iw->head;
		io.patch = sink_out_patch;
	}
	so.made = made_partial;
	so.made_ctx = r;
	so.cancelled = r->hooks->cancelled;
	so.cancel_ctx = r->hooks->ctx;
	err = sink_open(out, o->target, &so);
	/* A presigned URL is shown without its signature (the sink's path). */
	if (r->remote && out->path) {
		free(r->target);
		r->target = strdup(out->path);
		if (!r->target && !err)
			err = ferr(-ENOMEM, "out of memory");
	}
	if (err)
		goto fail;
	*t0 = now_seconds();
	err = image_write(iw, &io, stored_counts ? NULL : &prog);
	if (!err) {
		r->file_size = out->pos;
		err = sink_finish(out);
	}
	if (err)
		goto fail;
	partial(r, NULL);
	r->stats = out->stats;
	progress_finish(&prog);
	return 0;
fail: {
		char msg[1024];

		sink_abort(out);
		partial(r, NULL);
		snprintf(msg, sizeof(msg), "%s", ferr_msg());
		if (out->stats.kept && r->salvage.stopped)
			ferr(err, "%s (the unfinished upload is kept: the same command without "
			     "--strict resumes it, with the sector as zeros)", msg);
		else if (out->stats.kept)
			ferr(err, "%s (the unfinished upload is kept: run the same command again to "
			     "resume it)", msg);
		return err;
	}
}

bool capture_has_manifest(const struct capture_result *r)
{
	return r->remote ? !strncmp(r->o->target, "s3://", 5) : r->stats.sha256[0] != '\0';
}

/* KEY.ferry.json beside an image captured to s3://, IMAGE.ferry.json
 * beside a local file. */
static int put_manifest(struct sink *out, struct capture_result *r, double seconds)
{
	struct manifest m = {
		.object = r->target,
		.format = image_format_kind(r->o->image.format),
		.virtual_size = r->plan.vsize,
		.file_size = r->file_size,
		.source = r->source,
		.parts = r->stats.parts,
		.part_size = r->stats.part_size,
		.parts_reused = r->stats.parts_reused,
		.upload_seconds = seconds,
		.local = !r->remote,
		.details = capture_report_details,
		.ctx = r,
	};
	struct strbuf doc;
	int err;

	memcpy(m.sha256, r->stats.sha256, sizeof(m.sha256));
	strbuf_init(&doc);
	err = manifest_json(&m, &doc);
	if (!err)
		err = sink_put_beside(out, ".ferry.json", doc.s, doc.len, "application/json");
	strbuf_release(&doc);
	if (err)
		ferr_ctx(err, r->remote ? "the image is uploaded, but not its manifest"
					: "the image is written, but not its manifest");
	return err;
}

/* The partitions of set as numbered in table to (a GPT made an MBR numbers
 * logical partitions anew): matched by where they start. */
static void renumber(const struct table *from, const struct table *to, struct part_set *set)
{
	struct part_set out = {{0}};

	for (size_t i = 0; i < from->nparts; i++) {
		if (!part_set_has(set, from->parts[i].num))
			continue;
		for (size_t k = 0; k < to->nparts; k++)
			if (to->parts[k].kind != PART_EXTENDED && to->parts[k].start == from->parts[i].start)
				part_set_add(&out, to->parts[k].num);
	}
	*set = out;
}

/* From the plan on: the image prepared, written and, for s3://, its
 * manifest beside it. */
static int encode(struct capture_result *r, const struct progress_view *view, double t_start)
{
	const struct capture_opts *o = r->o;
	struct image_input in = {source_input, r};
	struct sink out = {.fd = -1};
	struct image_writer iw;
	struct image_opts io;
	double t0 = now_seconds();
	int err = 0;

	struct part_set exclude = r->o->exclude;

	if (r->converted) {
		/* the plan copies the image's table: its EBRs, not the GPT's arrays */
		err = table_read(&r->src, &r->image_table);
		r->have_image_table = !err;
		if (!err)
			renumber(&r->table, &r->image_table, &exclude);
	}
	if (!err)
		err = plan_build(&r->plan, &r->src, r->converted ? &r->image_table : &r->table,
				 &exclude, view);

	if (err)
		return err;
	r->have_plan = true;
	/* a VHD's size is one its geometry covers (the GPT's backup at its end) */
	r->plan.vsize = image_virtual_size(o->image.format, r->plan.vsize);
	if (r->table.gpt.valid && !r->converted) {
		/* The image is a GPT disk of its own size, with its backup GPT at
		 * its end, in the overlay even without fixes. */
		uint64_t tail = gpt_tail_bytes(&r->table);

		r->src.cow = &r->cow;
		err = gpt_fit_image(&r->src, &r->table, r->plan.vsize);
		if (err > 0)
			err = plan_add_range(&r->plan, r->plan.vsize - tail, tail);
		if (err)
			return err;
	}
	r->plan_s = now_seconds() - t0;
	io = o->image;
	io.any_length = !sink_is_remote(o->target) || !strncmp(o->target, "s3://", 5);
	/* A regular file or an s3:// upload takes a compressed qcow2's tables
	 * after its data: one pass. */
	io.patch = io.format == IMAGE_QCOW2 && io.compress != IMAGE_COMPRESS_NONE &&
		   sink_can_patch(o->target, &o->sink);
	if (image_sized_first(&io)) {
		/* The first pass compresses everything once to learn the sizes. */
		struct progress sizing;

		progress_init(&sizing, "sizing", r->plan.data_bytes, view);
		err = image_prepare(&iw, &io, &r->plan, &in, &sizing);
		if (!err)
			progress_finish(&sizing);
	} else {
		err = image_prepare(&iw, &io, &r->plan, &in, NULL);
	}
	if (!err)
		err = write_image(r, &iw, &out, view, &t0);
	if (!err) {
		r->written = true;
		r->write_s = now_seconds() - t0;
		capture_find_bad(r);
		if (capture_has_manifest(r))
			err = put_manifest(&out, r, r->remote ? now_seconds() - t_start : r->write_s);
		sink_close(&out);
	}
	image_writer_release(&iw);
	return err;
}

int capture_run(const struct capture_opts *o, const struct capture_hooks *h,
		struct capture_result *r)
{
	static const struct capture_hooks none;
	struct progress_view view = {on_progress, (void *)h};
	double t_start = now_seconds();
	int err;

	memset(r, 0, sizeof(*r));
	r->o = o;
	r->hooks = h ? h : &none;
	r->target = strdup(o->target);
	r->after = &r->image;
	cow_init(&r->cow);
	salvage_init(&r->salvage);
	r->salvage.strict = o->strict;
	r->salvage.found = on_unreadable;
	r->salvage.ctx = r;
	fix_report_init(&r->fixes);
	check_report_init(&r->before, o->cloud);
	check_report_init(&r->image, o->cloud);
	ferry_warn_push(&r->scope, on_warning, r);
	if (o->sink.insecure && r->hooks->warn)
		r->hooks->warn(r->hooks->ctx, SINK_INSECURE_WARNING);
	if (!r->target)
		err = ferr(-ENOMEM, "out of memory");
	else if ((err = sink_preflight(o->target, &o->sink)))
		; /* a target that cannot take the image: said before any disk is read */
	else if (!strcmp(o->source, "auto"))
		err = find_auto_source(&r->source);
	else
		err = (r->source = strdup(o->source)) ? 0 : ferr(-ENOMEM, "out of memory");
	if (!err)
		err = source_open(&r->src, r->source);
	if (err)
		goto out;
	r->have_src = true;
	r->src.salvage = &r->salvage;
	if (r->src.in_use[0]) {
		err = ferr(-EBUSY, "%s is in use (%s): Ferry copies disks cold; boot the rescue "
			   "image, or stop what uses the disk", r->source, r->src.in_use);
		goto out;
	}
	if (same_file(r->source, strncmp(o->target, "file://", 7) ? o->target : o->target + 7)) {
		err = ferr(-EINVAL, "target %s is the source disk", o->target);
		goto out;
	}
	err = table_read(&r->src, &r->table);
	if (err)
		goto out;
	r->have_table = true;
	err = plan_can_copy(&r->src, &r->table);
	if (!err)
		err = run_checks(r);
	/* what the image boots by, to choose at import */
	r->boot_mode = !r->converted && biosboot_uefi_only(&r->src, &r->table) ? "uefi" : "bios";
	if (!err)
		err = judge(r);
	if (err)
		goto out;
	phase(r, "capture");
	err = encode(r, h && h->progress ? &view : NULL, t_start);
out:
	ferry_warn_pop(&r->scope);
	return err; /* every message names the source or the target already */
}

void capture_result_release(struct capture_result *r)
{
	if (r->have_plan)
		plan_release(&r->plan);
	if (r->have_table)
		table_release(&r->table);
	if (r->have_image_table)
		table_release(&r->image_table);
	if (r->have_src)
		source_release(&r->src);
	cow_release(&r->cow);
	capture_bad_release(r);
	salvage_release(&r->salvage);
	fix_report_release(&r->fixes);
	check_report_release(&r->before);
	check_report_release(&r->image);
	warn_list_release(&r->warnings);
	free(r->source);
	free(r->target);
	memset(r, 0, sizeof(*r));
}
