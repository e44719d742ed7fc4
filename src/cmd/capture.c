/* ferry capture: the boot area byte-exact and each partition's used blocks
 * into a raw or qcow2 image, from a source that is only ever read. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check/capture.h"
#include "check/profile.h"
#include "cmd/cmd.h"
#include "disk/plan.h"
#include "disk/probe.h"
#include "fix/fix.h"
#include "fix/stage.h"
#include "fs/cow.h"
#include "image/image.h"
#include "sink/manifest.h"
#include "util/config.h"
#include "util/err.h"
#include "util/size.h"

static void usage(void)
{
	fputs("Usage:\n ferry capture [options] SOURCE TARGET\n\n"
	      "Copy sector 0 and the boot gap byte-exact and, of each partition, only what\n"
	      "its filesystem uses (ext2/3/4: the blocks its bitmap marks used; swap: the\n"
	      "header; anything else: every non-zero block). The source is opened read-only\n"
	      "and never written: the fixes that make the copy boot on KVM are made in an\n"
	      "overlay of the copy.\n\n"
	      "SOURCE  a block device, a disk image file, or 'auto' (the disk holding /)\n"
	      "TARGET  a file path, file://PATH, a FIFO, or - for standard output\n\n"
	      "Options:\n"
	      " -f, --format FMT   raw or qcow2 (default: ", stdout);
	fputs(IS_ENABLED(CONFIG_FERRY_FORMAT_RAW) ? "raw" : "qcow2", stdout);
	fputs(")\n"
	      "     --compress C   none (default), zlib or zstd: compressed qcow2 clusters\n"
	      "     --no-fix       copy as it is: make no change for KVM\n"
	      "     --fix LIST     run only these fixes (comma-separated; default: all):\n", stdout);
	for (size_t i = 0; i < fix_nrules; i++)
		printf("                      %-11s%s\n", fix_rules[i].name, fix_rules[i].what);
	fputs("     --cloud NAME   the target cloud whose import rules are checked: kvm\n"
	      "                    (default), tencent, alibaba, huawei\n"
	      "     --force        replace an existing TARGET file, and capture even when the\n"
	      "                    checks find a blocker the fixes do not remove\n"
	      " -q, --quiet        no progress display and no report; warnings and errors only\n"
	      " -j, --json         print a JSON summary on standard output\n"
	      " -h, --help         display this help\n\n"
	      "The disk is checked against the cloud's import rules before anything is\n"
	      "copied, and the fixed system again (the image check; see ferry check).\n\n"
	      "Exit status: 0 done, 1 failed, 2 usage error, 3 a blocker remains that the\n"
	      "fixes do not remove: nothing captured (see --force).\n", stdout);
}

/* The partial target is removed if a signal ends the capture. */
static char *volatile partial_path;

static void on_signal(int sig)
{
	if (partial_path)
		unlink(partial_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void catch_signals(void)
{
	struct sigaction sa;

	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;

		/* A signal the caller ignores stays ignored (nohup, background
		 * jobs of a script). */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

static int source_input(void *ctx, void *buf, size_t len, uint64_t off)
{
	return source_pread(ctx, buf, len, off);
}

struct capture_opts {
	struct image_opts image;
	struct sink_opts sink;
	bool quiet, json;
	uint32_t fixes; /* mask of fix_rules */
	const struct cloud_profile *cloud;
	const char *source, *target;
};

struct capture_result {
	double fix_s, check_s, plan_s, write_s;
	bool blocked;            /* stopped by the checks */
	uint64_t file_size;
	const char *target;      /* as reports show it: a presigned URL without its query */
	bool remote;
	struct sink_stats stats; /* of an upload */
};

/* Everything a report or the manifest says about one capture. */
struct capture_view {
	const struct capture_opts *o;
	const struct source *src;
	const struct table *t;
	const struct plan *p;
	const struct capture_result *r;
	const struct fix_report *rep;
	const struct check_report *before, *after; /* the disk; the image */
};

/* ferry run's status follows the phases (capture_on_phase). */
static void (*phase_fn)(void *ctx, const char *phase);
static void *phase_ctx;

void capture_on_phase(void (*fn)(void *ctx, const char *phase), void *ctx)
{
	phase_fn = fn;
	phase_ctx = ctx;
}

static void phase(const char *name)
{
	if (phase_fn)
		phase_fn(phase_ctx, name);
}

static int find_auto_source(char **path)
{
	struct probe pr;
	int err = probe_disks(&pr, NULL, 0);

	if (err)
		return err;
	if (pr.root.disk < 0)
		err = ferr(-ENOENT, "auto: no disk holds a root filesystem (an ext2/3/4 "
			   "filesystem whose /etc/fstab mounts it at /); name the disk");
	else if (!(*path = strdup(pr.disks[pr.root.disk].src.path)))
		err = ferr(-ENOMEM, "out of memory");
	probe_release(&pr);
	return err;
}

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) || stat(b, &sb))
		return 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Each line of a before/after text, marked like a diff. */
static void print_lines(FILE *f, const char *mark, const char *text)
{
	while (text && *text) {
		const char *nl = strchr(text, '\n');
		int n = nl ? (int)(nl - text) : (int)strlen(text);

		fprintf(f, "  %-10s   %s %.*s\n", "", mark, n, text);
		text += n + (nl ? 1 : 0);
	}
}

static void report_fixes(FILE *f, const struct capture_opts *o, const struct fix_report *rep)
{
	if (!o->fixes) {
		fputs("fixes: none (--no-fix): the image is the disk as it was\n", f);
		return;
	}
	fprintf(f, "fixes (%s): %zu change%s\n", rep->ran, rep->nchanges,
		rep->nchanges == 1 ? "" : "s");
	for (size_t i = 0; i < rep->nchanges; i++) {
		const struct fix_change *c = &rep->changes[i];

		fprintf(f, "  %-10s %s: %s\n", c->rule, c->file, c->what);
		print_lines(f, "-", c->before);
		print_lines(f, "+", c->after);
	}
	for (size_t i = 0; i < rep->nnotes; i++) {
		const struct fix_note *n = &rep->notes[i];
		bool file = n->file && n->file[0];

		fprintf(f, "  %-10s note: %s%s%s\n", n->rule ? n->rule : "", file ? n->file : "",
			file ? ": " : "", n->text);
	}
}

static void report_text(FILE *f, const struct capture_view *v)
{
	const struct capture_opts *o = v->o;
	const struct plan *p = v->p;
	const struct capture_result *r = v->r;
	char b1[16], b2[16], b3[16];

	fprintf(f, "captured %s (%s, %zu partitions) to %s as %s%s%s\n", v->src->path,
		v->t->type_name, v->t->nparts, r->target, image_format_name(o->image.format),
		o->image.compress ? ", compressed with " : "",
		o->image.compress ? image_compress_name(o->image.compress) : "");
	fprintf(f, "  %-14s %10s  %-16s %s\n", "region", "size", "method", "copied");
	fprintf(f, "  %-14s %10s  %-16s %s\n", "boot gap", fmt_bytes(b1, sizeof(b1), p->gap_bytes),
		"exact", fmt_bytes(b2, sizeof(b2), p->gap_bytes));
	for (size_t i = 0; i < p->nparts; i++) {
		const struct plan_part *pp = &p->parts[i];
		char name[24];

		snprintf(name, sizeof(name), "partition %d", pp->num);
		fprintf(f, "  %-14s %10s  %-16s %s  %s\n", name, fmt_bytes(b1, sizeof(b1), pp->size),
			copy_method_name(pp->method), fmt_bytes(b2, sizeof(b2), pp->data_bytes),
			pp->kind == PART_EXTENDED ? "extended" : fs_type_name(pp->fs));
	}
	fprintf(f, "  image: virtual size %s, file %s, data %s; checked and fixed in %.1fs, image "
		"checked in %.1fs, planned in %.1fs, written in %.1fs\n",
		fmt_bytes(b1, sizeof(b1), p->vsize), fmt_bytes(b2, sizeof(b2), r->file_size),
		fmt_bytes(b3, sizeof(b3), p->data_bytes), r->fix_s, r->check_s, r->plan_s,
		r->write_s);
	if (r->remote) {
		fprintf(f, "  upload: sha256 %s, %llu part%s of %s", r->stats.sha256,
			(unsigned long long)r->stats.parts, r->stats.parts == 1 ? "" : "s",
			fmt_bytes(b1, sizeof(b1), r->stats.part_size));
		if (r->stats.resumed)
			fprintf(f, "; resumed: %llu stored part%s not sent again",
				(unsigned long long)r->stats.parts_reused,
				r->stats.parts_reused == 1 ? "" : "s");
		if (!strncmp(o->target, "s3://", 5))
			fprintf(f, "; manifest %s.ferry.json", r->target);
		fputc('\n', f);
	}
	report_fixes(f, o, v->rep);
}

/* What the JSON report and the manifest both say about the disk and the
 * work done. */
static void capture_details(void *ctx, struct json *j)
{
	const struct capture_view *v = ctx;
	const struct plan *p = v->p;

	json_u64(j, "source_size", v->src->size);
	json_str(j, "table", v->t->type_name);
	json_str(j, "compress", image_compress_name(v->o->image.compress));
	json_u64(j, "data_bytes", p->data_bytes);
	json_u64(j, "boot_gap_bytes", p->gap_bytes);
	json_arr_begin(j, "partitions");
	for (size_t i = 0; i < p->nparts; i++) {
		const struct plan_part *pp = &p->parts[i];
		json_obj_begin(j, NULL);
		json_u64(j, "number", (uint64_t)pp->num);
		json_str(j, "kind", part_kind_name(pp->kind));
		json_str(j, "fs", pp->kind == PART_EXTENDED ? NULL : fs_type_name(pp->fs));
		json_u64(j, "start", pp->start);
		json_u64(j, "size", pp->size);
		json_str(j, "method", copy_method_name(pp->method));
		json_u64(j, "copied_bytes", pp->data_bytes);
		json_str(j, "note", pp->note[0] ? pp->note : NULL);
		json_obj_end(j);
	}
	json_arr_end(j);
	check_capture_json(j, "checks", v->before, v->after, v->o->sink.force && v->r->blocked);
	fix_report_json(v->rep, j);
	json_obj_begin(j, "seconds");
	json_double(j, "fix", v->r->fix_s);
	json_double(j, "check", v->r->check_s);
	json_double(j, "plan", v->r->plan_s);
	json_double(j, "write", v->r->write_s);
	json_obj_end(j);
}

static void report_json(const struct capture_view *v, const struct warnings *w)
{
	const struct capture_result *r = v->r;
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j, NULL);
	json_str(&j, "source", v->src->path);
	json_str(&j, "target", r->target);
	json_str(&j, "format", image_format_name(v->o->image.format));
	json_u64(&j, "virtual_size", v->p->vsize);
	json_u64(&j, "file_size", r->file_size);
	capture_details((void *)v, &j);
	if (r->remote) {
		json_obj_begin(&j, "upload");
		json_str(&j, "sha256", r->stats.sha256);
		json_u64(&j, "parts", r->stats.parts);
		json_u64(&j, "part_size", r->stats.part_size);
		json_bool(&j, "resumed", r->stats.resumed);
		json_u64(&j, "parts_reused", r->stats.parts_reused);
		json_obj_end(&j);
	}
	warnings_json(w, &j);
	json_obj_end(&j);
	json_finish(&j);
}

/* KEY.ferry.json beside an image captured to s3://. */
static int put_manifest(struct sink *out, const struct capture_view *v, double seconds)
{
	struct manifest m = {
		.object = v->r->target,
		.format = image_format_name(v->o->image.format),
		.virtual_size = v->p->vsize,
		.file_size = v->r->file_size,
		.source = v->src->path,
		.parts = v->r->stats.parts,
		.part_size = v->r->stats.part_size,
		.parts_reused = v->r->stats.parts_reused,
		.upload_seconds = seconds,
		.details = capture_details,
		.ctx = (void *)v,
	};
	struct strbuf doc;
	int err;

	memcpy(m.sha256, v->r->stats.sha256, sizeof(m.sha256));
	strbuf_init(&doc);
	err = manifest_json(&m, &doc);
	if (!err)
		err = sink_put_beside(out, ".ferry.json", doc.s, doc.len, "application/json");
	strbuf_release(&doc);
	if (err)
		ferr_ctx(err, "the image is uploaded, but not its manifest");
	return err;
}

/* The disk judged (and fixed, with fixes), then the image as it will be. */
static int run_checks(const struct capture_opts *o, struct source *src, struct cow *cow,
		      struct capture_view *v, struct capture_result *r,
		      struct check_report *before, struct check_report *after)
{
	const char *format = image_format_name(o->image.format);
	double t0 = now_seconds();
	int err;

	phase("check");
	if (!o->fixes) {
		/* The image is the disk as it is: one check says both. */
		err = check_on_copy(src, format, before);
		v->after = before;
		r->fix_s = now_seconds() - t0;
		return err;
	}
	/* From here on every read of the source sees the edits. */
	src->cow = cow;
	err = check_and_fix(src, o->fixes, format, (struct fix_report *)v->rep, before);
	r->fix_s = now_seconds() - t0;
	t0 = now_seconds();
	if (!err)
		err = check_on_copy(src, format, after);
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

/* What the checks found, before anything is copied. A blocker the fixes
 * cannot remove stops the capture unless --force; one whose fix was left
 * out by --fix or --no-fix is warned about. */
static int judge(const struct capture_opts *o, const struct capture_view *v,
		 struct capture_result *r)
{
	FILE *f = strcmp(o->target, "-") ? stdout : stderr;
	size_t blockers = 0, chosen = 0, fixed = 0;
	char counts[96], codes[512] = "", left[512] = "";

	for (size_t i = 0; i < v->before->n; i++)
		fixed += v->before->f[i].fix != NULL;
	for (size_t i = 0; i < v->after->n; i++) {
		const struct check_finding *b = &v->after->f[i];
		bool choice = left_by_choice(o, b);
		char *list = choice ? left : codes;

		if (b->sev != CHECK_BLOCKER)
			continue;
		choice ? chosen++ : blockers++;
		if (strlen(list) + strlen(b->item->code) + 3 < sizeof(codes))
			snprintf(list + strlen(list), sizeof(codes) - strlen(list), "%s%s",
				 list[0] ? ", " : "", b->item->code);
	}
	r->blocked = blockers > 0;
	if (!o->quiet && !o->json) {
		fprintf(f, "checks (%s): the disk: %s; the fixes answer %zu\n",
			v->before->profile->title, check_counts_text(v->before, counts,
								     sizeof(counts)), fixed);
		fprintf(f, "image check: %s\n", check_counts_text(v->after, counts, sizeof(counts)));
		check_report_text(v->after, f, "  ");
		fflush(f);
	} else if (blockers) {
		check_report_text(v->after, stderr, "  ");
	}
	if (chosen)
		ferry_warn("%s: %zu blocker%s left as it is (%s): %s", o->source, chosen,
			   chosen == 1 ? "" : "s", o->fixes ? "--fix" : "--no-fix", left);
	if (blockers && o->sink.force) {
		ferry_warn("%s: capturing despite %zu blocker%s (--force): %s", o->source, blockers,
			   blockers == 1 ? "" : "s", codes);
		return 0;
	}
	if (blockers)
		return ferr(-EPERM, "%s: %zu blocker%s that the fixes do not remove (%s): nothing "
			    "captured; see ferry check --cloud %s %s, or capture with --force",
			    o->source, blockers, blockers == 1 ? "" : "s", codes, o->cloud->name,
			    o->source);
	return 0;
}

/* Writes the prepared image into the target; the sink reports the upload
 * progress of a remote target, the image writer that of a local one. */
static int write_image(const struct capture_opts *o, struct image_writer *iw,
		       struct capture_result *r, struct sink *out, double *t0)
{
	struct sink_opts so = o->sink;
	struct progress prog;
	int err;

	r->remote = sink_is_remote(o->target);
	if (r->remote) {
		progress_init(&prog, "upload", iw->length, o->quiet);
		so.prog = &prog;
	} else {
		progress_init(&prog, "capture", iw->p->data_bytes, o->quiet);
	}
	so.length = iw->length;
	err = sink_open(out, o->target, &so);
	/* A presigned URL is shown without its signature (the sink's path). */
	r->target = r->remote && out->path ? out->path : o->target;
	if (err)
		goto fail;
	partial_path = out->tmp;
	*t0 = now_seconds();
	err = image_write(iw, out, r->remote ? NULL : &prog);
	if (!err) {
		r->file_size = out->pos;
		err = sink_finish(out);
	}
	if (err)
		goto fail;
	partial_path = NULL;
	r->stats = out->stats;
	progress_finish(&prog);
	return 0;
fail: {
		char msg[1024];

		partial_path = NULL;
		sink_abort(out);
		snprintf(msg, sizeof(msg), "%s", ferr_msg());
		if (out->stats.kept)
			ferr(err, "%s (the unfinished upload is kept: run the same command again to "
			     "resume it)", msg);
		return err;
	}
}

/* *blocked: the checks stopped it. */
static int capture(const struct capture_opts *o, const struct warnings *w, bool *blocked)
{
	struct source src;
	struct table t;
	struct plan p;
	struct sink out = {.fd = -1};
	struct capture_result r = {0};
	struct capture_view v = {o, &src, &t, &p, &r, NULL, NULL, NULL};
	struct check_report before, after;
	struct image_input in;
	struct image_writer iw;
	struct fix_report rep;
	struct cow cow;
	double t0, t_start = now_seconds();
	int err;

	v.rep = &rep;
	v.before = &before;
	v.after = &after;
	cow_init(&cow);
	fix_report_init(&rep);
	check_report_init(&before, o->cloud);
	check_report_init(&after, o->cloud);
	err = source_open(&src, o->source);
	if (err)
		goto out_checks;
	if (src.in_use[0]) {
		err = ferr(-EBUSY, "%s is in use (%s): Ferry copies disks cold; boot the rescue "
			   "image, or stop what uses the disk", o->source, src.in_use);
		goto out_source;
	}
	if (same_file(o->source, strncmp(o->target, "file://", 7) ? o->target : o->target + 7)) {
		err = ferr(-EINVAL, "target %s is the source disk", o->target);
		goto out_source;
	}
	err = table_read(&src, &t);
	if (err)
		goto out_source;
	err = plan_can_copy(&src, &t);
	if (!err)
		err = run_checks(o, &src, &cow, &v, &r, &before, &after);
	if (!err) {
		err = judge(o, &v, &r);
		*blocked = err && r.blocked;
	}
	if (err)
		goto out_table;
	phase("capture");
	t0 = now_seconds();
	err = plan_build(&p, &src, &t, o->quiet);
	if (err)
		goto out_table;
	r.plan_s = now_seconds() - t0;

	in.pread = source_input;
	in.ctx = &src;
	if (o->image.compress != IMAGE_COMPRESS_NONE) {
		/* The first pass compresses everything once to learn the sizes. */
		struct progress sizing;

		progress_init(&sizing, "sizing", p.data_bytes, o->quiet);
		err = image_prepare(&iw, &o->image, &p, &in, &sizing);
		if (!err)
			progress_finish(&sizing);
	} else {
		err = image_prepare(&iw, &o->image, &p, &in, NULL);
	}
	if (!err)
		err = write_image(o, &iw, &r, &out, &t0);
	if (err)
		goto out_image;
	r.write_s = now_seconds() - t0;
	if (r.remote && !strncmp(o->target, "s3://", 5))
		err = put_manifest(&out, &v, now_seconds() - t_start);
	if (o->json)
		report_json(&v, w);
	else if (!o->quiet)
		report_text(strcmp(o->target, "-") ? stdout : stderr, &v);
	sink_close(&out);
out_image:
	image_writer_release(&iw);
	plan_release(&p);
out_table:
	table_release(&t);
out_source:
	source_release(&src);
out_checks:
	cow_release(&cow);
	fix_report_release(&rep);
	check_report_release(&before);
	check_report_release(&after);
	return err; /* every message names the source or the target already */
}

int cmd_capture(int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"compress", required_argument, NULL, 'Z'},
		{"force", no_argument, NULL, 'F'},
		{"no-fix", no_argument, NULL, 'N'},
		{"fix", required_argument, NULL, 'X'},
		{"cloud", required_argument, NULL, 'C'},
		{"quiet", no_argument, NULL, 'q'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		UPLOAD_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct capture_opts o = {
		.image.format = IS_ENABLED(CONFIG_FERRY_FORMAT_RAW) ? IMAGE_RAW : IMAGE_QCOW2,
		.fixes = (1u << fix_nrules) - 1,
		.cloud = cloud_profile("kvm"),
	};
	bool no_fix = false, fix_list = false, blocked = false;
	struct warnings w;
	char *auto_path = NULL;
	int c, err;

	upload_options_init(&o.sink);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:qjh", opts, NULL)) != -1) {
		int r = upload_option("capture", c, optarg, &o.sink);

		if (r == 1)
			continue;
		if (r)
			return r;
		switch (c) {
		case 'f':
			if (image_format_parse(optarg, &o.image.format))
				return usage_error("capture", "%s", ferr_msg());
			break;
		case 'Z':
			if (image_compress_parse(optarg, &o.image.compress))
				return usage_error("capture", "%s", ferr_msg());
			break;
		case 'F': o.sink.force = true; break;
		case 'N': no_fix = true; break;
		case 'X':
			if (fix_parse_list(optarg, &o.fixes))
				return usage_error("capture", "%s", ferr_msg());
			fix_list = true;
			break;
		case 'C':
			o.cloud = cloud_profile(optarg);
			if (!o.cloud)
				return usage_error("capture", "--cloud: unknown cloud '%s' (clouds: %s)",
						   optarg, cloud_profile_names());
			break;
		case 'q': o.quiet = true; break;
		case 'j': o.json = true; break;
		case 'h': usage(); return EXIT_DONE;
		default:
			return usage_error("capture", "unrecognized option '%s'", argv[optind - 1]);
		}
	}
	if (no_fix && fix_list)
		return usage_error("capture", "--no-fix and --fix exclude each other");
	if (no_fix)
		o.fixes = 0;
	if (o.image.compress != IMAGE_COMPRESS_NONE && o.image.format != IMAGE_QCOW2)
		return usage_error("capture", "--compress %s: only qcow2 images are compressed",
				   image_compress_name(o.image.compress));
	if (argc - optind != 2)
		return usage_error("capture", "expected SOURCE and TARGET, got %d argument%s",
				   argc - optind, argc - optind == 1 ? "" : "s");
	o.source = argv[optind];
	o.target = argv[optind + 1];
	if (upload_options_done("capture", o.target, &o.sink))
		return EXIT_USAGE;
	if (o.json && !strcmp(o.target, "-"))
		return usage_error("capture", "--json and target - both need standard output");
	catch_signals();
	warnings_capture(&w);
	if (!strcmp(o.source, "auto")) {
		err = find_auto_source(&auto_path);
		if (err)
			goto out;
		o.source = auto_path;
	}
	err = capture(&o, &w, &blocked);
out:
	warnings_release(&w);
	free(auto_path);
	if (err)
		fail();
	return !err ? EXIT_DONE : blocked ? EXIT_BLOCKED : EXIT_FAILED;
}
