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

#include "cmd/cmd.h"
#include "disk/plan.h"
#include "disk/probe.h"
#include "fix/fix.h"
#include "fix/stage.h"
#include "fs/cow.h"
#include "image/image.h"
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
	      "     --no-fix       copy as it is: make no change for KVM\n"
	      "     --fix LIST     run only these fixes (comma-separated; default: all):\n", stdout);
	for (size_t i = 0; i < fix_nrules; i++)
		printf("                      %-11s%s\n", fix_rules[i].name, fix_rules[i].what);
	fputs("     --cloud NAME   the target cloud: kvm (default), tencent, alibaba, huawei\n"
	      "     --force        replace an existing TARGET file\n"
	      " -q, --quiet        no progress display and no report; warnings and errors only\n"
	      " -j, --json         print a JSON summary on standard output\n"
	      " -h, --help         display this help\n\n"
	      "Exit status: 0 done, 1 failed, 2 usage error.\n", stdout);
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
	enum image_format format;
	bool force, quiet, json;
	uint32_t fixes; /* mask of fix_rules */
	const char *cloud;
	const char *source, *target;
};

struct capture_result {
	double fix_s, plan_s, write_s;
	uint64_t file_size;
};

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

static void report_text(FILE *f, const struct capture_opts *o, const struct source *src,
			const struct table *t, const struct plan *p,
			const struct capture_result *r, const struct fix_report *rep)
{
	char b1[16], b2[16], b3[16];

	fprintf(f, "captured %s (%s, %zu partitions) to %s as %s\n", src->path, t->type_name,
		t->nparts, o->target, image_format_name(o->format));
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
	fprintf(f, "  image: virtual size %s, file %s, data %s; fixed in %.1fs, planned in %.1fs, "
		"written in %.1fs\n", fmt_bytes(b1, sizeof(b1), p->vsize),
		fmt_bytes(b2, sizeof(b2), r->file_size), fmt_bytes(b3, sizeof(b3), p->data_bytes),
		r->fix_s, r->plan_s, r->write_s);
	report_fixes(f, o, rep);
}

static void report_json(const struct capture_opts *o, const struct source *src,
			const struct table *t, const struct plan *p,
			const struct capture_result *r, const struct fix_report *rep,
			const struct warnings *w)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j, NULL);
	json_str(&j, "source", src->path);
	json_u64(&j, "source_size", src->size);
	json_str(&j, "table", t->type_name);
	json_str(&j, "target", o->target);
	json_str(&j, "format", image_format_name(o->format));
	json_u64(&j, "virtual_size", p->vsize);
	json_u64(&j, "file_size", r->file_size);
	json_u64(&j, "data_bytes", p->data_bytes);
	json_u64(&j, "boot_gap_bytes", p->gap_bytes);
	json_arr_begin(&j, "partitions");
	for (size_t i = 0; i < p->nparts; i++) {
		const struct plan_part *pp = &p->parts[i];
		json_obj_begin(&j, NULL);
		json_u64(&j, "number", (uint64_t)pp->num);
		json_str(&j, "kind", part_kind_name(pp->kind));
		json_str(&j, "fs", pp->kind == PART_EXTENDED ? NULL : fs_type_name(pp->fs));
		json_u64(&j, "start", pp->start);
		json_u64(&j, "size", pp->size);
		json_str(&j, "method", copy_method_name(pp->method));
		json_u64(&j, "copied_bytes", pp->data_bytes);
		json_str(&j, "note", pp->note[0] ? pp->note : NULL);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	fix_report_json(rep, &j);
	json_obj_begin(&j, "seconds");
	json_double(&j, "fix", r->fix_s);
	json_double(&j, "plan", r->plan_s);
	json_double(&j, "write", r->write_s);
	json_obj_end(&j);
	warnings_json(w, &j);
	json_obj_end(&j);
	json_finish(&j);
}

static int capture(const struct capture_opts *o, const struct warnings *w)
{
	struct source src;
	struct table t;
	struct plan p;
	struct sink out;
	struct progress prog;
	struct capture_result r = {0};
	struct image_input in;
	struct fix_report rep;
	struct cow cow;
	double t0;
	int err;

	cow_init(&cow);
	fix_report_init(&rep);
	err = source_open(&src, o->source);
	if (err)
		return err;
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
	if (o->fixes) {
		/* From here on every read of the source sees the edits. */
		src.cow = &cow;
		t0 = now_seconds();
		err = fix_stage(&src, o->fixes, o->cloud, &rep);
		if (err)
			goto out_table;
		r.fix_s = now_seconds() - t0;
	}
	t0 = now_seconds();
	err = plan_build(&p, &src, &t, o->quiet);
	if (err)
		goto out_table;
	r.plan_s = now_seconds() - t0;

	err = sink_open(&out, o->target, o->force);
	if (err) {
		sink_abort(&out);
		goto out_plan;
	}
	partial_path = out.tmp;
	in.pread = source_input;
	in.ctx = &src;
	t0 = now_seconds();
	progress_init(&prog, "capture", p.data_bytes, o->quiet);
	err = image_write(o->format, &p, &in, &out, &prog);
	if (!err) {
		r.file_size = out.pos;
		err = sink_finish(&out);
	}
	if (err) {
		sink_abort(&out);
		partial_path = NULL;
		goto out_plan;
	}
	partial_path = NULL;
	progress_finish(&prog);
	r.write_s = now_seconds() - t0;
	if (o->json)
		report_json(o, &src, &t, &p, &r, &rep, w);
	else if (!o->quiet)
		report_text(strcmp(o->target, "-") ? stdout : stderr, o, &src, &t, &p, &r, &rep);
out_plan:
	plan_release(&p);
out_table:
	table_release(&t);
out_source:
	source_release(&src);
	cow_release(&cow);
	fix_report_release(&rep);
	return err; /* every message names the source or the target already */
}

int cmd_capture(int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"force", no_argument, NULL, 'F'},
		{"no-fix", no_argument, NULL, 'N'},
		{"fix", required_argument, NULL, 'X'},
		{"cloud", required_argument, NULL, 'C'},
		{"quiet", no_argument, NULL, 'q'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct capture_opts o = {
		.format = IS_ENABLED(CONFIG_FERRY_FORMAT_RAW) ? IMAGE_RAW : IMAGE_QCOW2,
		.fixes = (1u << fix_nrules) - 1,
		.cloud = "kvm",
	};
	bool no_fix = false, fix_list = false;
	struct warnings w;
	char *auto_path = NULL;
	int c, err;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:qjh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (image_format_parse(optarg, &o.format))
				return usage_error("capture", "%s", ferr_msg());
			break;
		case 'F': o.force = true; break;
		case 'N': no_fix = true; break;
		case 'X':
			if (fix_parse_list(optarg, &o.fixes))
				return usage_error("capture", "%s", ferr_msg());
			fix_list = true;
			break;
		case 'C':
			if (strcmp(optarg, "kvm") && strcmp(optarg, "tencent") &&
			    strcmp(optarg, "alibaba") && strcmp(optarg, "huawei"))
				return usage_error("capture", "--cloud: unknown cloud '%s' (clouds: kvm, "
						   "tencent, alibaba, huawei)", optarg);
			o.cloud = optarg;
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
	if (argc - optind != 2)
		return usage_error("capture", "expected SOURCE and TARGET, got %d argument%s",
				   argc - optind, argc - optind == 1 ? "" : "s");
	o.source = argv[optind];
	o.target = argv[optind + 1];
	if (strstr(o.target, "://") && strncmp(o.target, "file://", 7))
		return usage_error("capture", "target %s: only local files, FIFOs and - are "
				   "supported targets", o.target);
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
	err = capture(&o, &w);
out:
	warnings_release(&w);
	free(auto_path);
	return err ? fail() : EXIT_DONE;
}
