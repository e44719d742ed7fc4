/* ferry check: a disk (or a raw image) judged against a cloud's import
 * rules, offline: what is wrong, what a capture fixes, what blocks. The
 * capture rules run on a throwaway copy-on-write overlay; the source is
 * only read. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "check/trial.h"
#include "cmd/cmd.h"
#include "image/image.h"
#include "util/err.h"

static void usage(void)
{
	printf("Usage:\n ferry check [options] SOURCE\n\n"
	       "Judge a system disk (a device or a raw image) against a cloud's import rules\n"
	       "before anything is copied: the findings, by severity, each with what to do and\n"
	       "whether ferry capture fixes it. Nothing is written to SOURCE.\n\n"
	       "Options:\n"
	       "     --cloud NAME   the rules of: %s (default kvm)\n"
	       "     --boot-mode M  bios, uefi or keep, as ferry capture will be told (default:\n"
	       "                    bios for a cloud that takes no UEFI, else keep)\n"
	       " -f, --format FMT   the image format the capture will write (checked too)\n"
	       "     --exclude N    judge the image without data partition N (repeatable;\n"
	       "                    N,M too), as ferry capture --exclude makes it\n"
	       " -j, --json         print JSON (schema: docs/check-codes.md)\n"
	       "     --codes        print the table of check codes (Markdown) and exit\n"
	       "     --clouds       print the table of cloud profiles (Markdown) and exit\n"
	       " -h, --help         display this help\n\n"
	       "Exit status: 0 nothing blocks the migration, or capture fixes what does;\n"
	       "1 the check itself failed; 2 usage error; 3 a blocker remains that capture\n"
	       "does not fix.\n", cloud_profile_names());
}

/* The tables docs/check-codes.md shows (tests/integration/check.t compares). */
static void print_codes(void)
{
	printf("| code | severity | what it means | what to do | capture's rule | vendor codes "
	       "| seeds |\n| --- | --- | --- | --- | --- | --- | --- |\n");
	for (size_t i = 0; i < check_nitems; i++) {
		const struct check_item *it = &check_items[i];

		printf("| `%s` | %s | %s | %s | %s | %s | %s |\n", it->code, check_sev_name(it->sev),
		       it->title, it->hint[0] ? it->hint : "-", it->fix_rule ? it->fix_rule : "-",
		       it->vendor ? it->vendor : "-", it->seeds ? it->seeds : "-");
	}
}

static void print_clouds(void)
{
	printf("| cloud | formats | image data | disk size | GPT | UEFI | boot mode at import | IPv6 "
	       "| NICs | encrypted | systems | arch | root fs | seeds |\n"
	       "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
	for (unsigned i = 0; i < cloud_nprofiles; i++) {
		const struct cloud_profile *p = &cloud_profiles[i];
		char data[96] = "any", disk[48] = "any";

		if (p->max_actual)
			snprintf(data, sizeof(data), "≤ %llu GB%s%s", p->max_actual / GB,
				 p->actual_as ? " as " : "", p->actual_as ? p->actual_as : "");
		if (p->max_actual_fast)
			snprintf(data + strlen(data), sizeof(data) - strlen(data),
				 "; ≤ %llu GB as %s (fast import)", p->max_actual_fast / GB,
				 p->fast_formats);
		if (p->max_virtual)
			snprintf(disk, sizeof(disk), "%llu GB – %llu GB", p->min_virtual / GB,
				 p->max_virtual / GB);
		printf("| `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
		       p->name, p->formats, data, disk, p->gpt ? "yes" : "no", p->efi ? "yes" : "no",
		       p->boot_flag, p->ipv6 ? "yes" : "no", p->multi_nic ? "several" : "one",
		       p->encrypted ? "yes" : "no", p->os ? p->os : "any", p->arch ? p->arch : "any",
		       p->filesystems ? p->filesystems : "any", p->seeds[0] ? p->seeds : "-");
	}
}

static void print_text(const char *source, const struct check_report *r, size_t left)
{
	size_t fixable = 0;

	for (size_t i = 0; i < r->n; i++)
		fixable += r->f[i].item->fix_rule != NULL;
	printf("ferry check %s: %s\n", source, r->profile->title);
	check_report_text(r, stdout, "");
	if (left)
		printf("verdict: %zu blocker%s that capture does not fix\n", left,
		       left == 1 ? "" : "s");
	else
		printf("verdict: ready for ferry capture (%zu finding%s it fixes)\n", fixable,
		       fixable == 1 ? "" : "s");
}

static void print_json(const char *source, const struct check_report *r, size_t left)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j, NULL);
	json_str(&j, "source", source);
	json_str(&j, "cloud", r->profile->name);
	check_os_json(r, &j);
	check_counts_json(r, &j);
	json_u64(&j, "blockers_left", left);
	check_report_json(r, &j, "findings");
	json_obj_end(&j);
	json_finish(&j);
}

/* The checks, then the capture rules as findings, on an overlay dropped
 * afterwards. */
static int check(const char *source, const struct trial_opts *to, struct check_report *r)
{
	struct source src;
	int err = source_open(&src, source);

	if (err)
		return err;
	err = check_on_copy(&src, to, r);
	source_release(&src);
	return err;
}

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{"cloud", required_argument, NULL, 'C'},
		{"format", required_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{"codes", no_argument, NULL, 'L'},
		{"clouds", no_argument, NULL, 'P'},
		{"boot-mode", required_argument, NULL, 'B'},
		{"exclude", required_argument, NULL, 'X'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const struct cloud_profile *p = cloud_profile("kvm");
	const char *format = NULL;
	enum image_format fmt;
	struct part_set exclude = {{0}};
	struct check_report r;
	bool json = false, mode_given = false;
	enum boot_mode mode = BOOT_MODE_KEEP;
	size_t left;
	int c, err;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			p = cloud_profile(optarg);
			if (!p)
				return usage_error("check", "--cloud: unknown cloud '%s' (clouds: %s)",
						   optarg, cloud_profile_names());
			break;
		case 'f':
			if (image_format_parse(optarg, &fmt))
				return usage_error("check", "--format: %s", ferr_msg());
			format = image_format_kind(fmt);
			break;
		case 'j': json = true; break;
		case 'B':
			if (boot_mode_parse(optarg, &mode))
				return usage_error("check", "--boot-mode: %s", ferr_msg());
			mode_given = true;
			break;
		case 'X':
			if (part_set_parse(&exclude, optarg))
				return usage_error("check", "%s", ferr_msg());
			break;
		case 'L': print_codes(); return EXIT_DONE;
		case 'P': print_clouds(); return EXIT_DONE;
		case 'h': usage(); return EXIT_DONE;
		default:
			return usage_error("check", "unrecognized option '%s'", argv[optind - 1]);
		}
	}
	if (optind == argc)
		return usage_error("check", "a SOURCE is needed");
	if (optind != argc - 1)
		return usage_error("check", "unexpected argument '%s'", argv[optind + 1]);
	if (!mode_given)
		mode = p->efi ? BOOT_MODE_KEEP : BOOT_MODE_BIOS;
	check_report_init(&r, p);
	{
		struct trial_opts to = {mode, format, &exclude};

		err = check(argv[optind], &to, &r);
	}
	if (err) {
		check_report_release(&r);
		return fail();
	}
	left = check_count(&r, CHECK_BLOCKER, true);
	if (json)
		print_json(argv[optind], &r, left);
	else
		print_text(argv[optind], &r, left);
	check_report_release(&r);
	return left ? EXIT_BLOCKED : EXIT_DONE;
}
