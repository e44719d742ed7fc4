/* ferry capture: the command line of the capture pipeline (capture/), and
 * its reports on the console. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "capture/capture.h"
#include "cmd/cmd.h"
#include "util/config.h"
#include "util/err.h"

static void usage(void)
{
	fputs("Usage:\n ferry capture [options] SOURCE TARGET\n\n"
	      "Copy sector 0 and the boot gap byte-exact and, of each partition, only what\n"
	      "its filesystem uses (ext2/3/4: the blocks its bitmap marks used; swap: the\n"
	      "header; anything else: every non-zero block). The source is opened read-only\n"
	      "and never written: the fixes that make the copy boot on KVM are made in an\n"
	      "overlay of the copy.\n\n"
	      "SOURCE  a block device, a disk image file, or 'auto' (the disk holding /)\n"
	      "TARGET  a file path, file://PATH, a FIFO, or - for standard output; or an\n"
	      "        upload: s3://BUCKET/KEY (with --endpoint; parts sent as they are made,\n"
	      "        the manifest KEY.ferry.json beside it) or https://PRESIGNED-PUT-URL\n\n"
	      "Options:\n"
	      " -f, --format FMT   raw, qcow2, vhd (dynamic), vhd-fixed or vmdk\n"
	      "                    (streamOptimized; default: the cloud's smallest: vhd for\n"
	      "                    alibaba; else ", stdout);
	fputs(IS_ENABLED(CONFIG_FERRY_FORMAT_RAW) ? "raw" : "qcow2", stdout);
	fputs(")\n"
	      "     --compress C   none (default), zlib or zstd: compressed qcow2 clusters\n"
	      "     --no-fix       copy as it is: make no change for KVM\n"
	      "     --fix LIST     run only these fixes (comma-separated; default: all):\n", stdout);
	for (size_t i = 0; i < fix_nrules; i++)
		printf("                      %-11s%s\n", fix_rules[i].name, fix_rules[i].what);
	fputs("     --cloud NAME   the target cloud whose import rules are checked: kvm\n"
	      "                    (default), tencent, alibaba, huawei\n"
	      "     --boot-mode M  how the image boots: bios (a UEFI system's GPT made an MBR,\n"
	      "                    GRUB for BIOS installed), uefi, or keep (as the disk does);\n"
	      "                    default: bios for a cloud that takes no UEFI (tencent,\n"
	      "                    huawei), else keep\n"
	      "     --exclude N    leave data partition N out of the image: its space reads as\n"
	      "                    zeros, its fstab lines are commented (repeatable; N,M too)\n"
	      "     --force        capture even when the checks find a blocker the fixes do\n"
	      "                    not remove\n"
	      "     --overwrite    replace an existing TARGET file\n"
	      "     --strict       stop at the first sector that does not read (by default\n"
	      "                    such sectors are zeros in the image and listed in the\n"
	      "                    report)\n"
	      " -q, --quiet        no progress display and no report; warnings and errors only\n"
	      " -j, --json         print a JSON summary on standard output\n"
	      " -h, --help         display this help\n\n", stdout);
	upload_usage(stdout);
	fputs("\nThe target is checked first (its directory, a file in the way, credentials).\n"
	      "The disk is checked against the cloud's import rules before anything is\n"
	      "copied, and the fixed system again (the image check; see ferry check).\n\n"
	      "Exit status: 0 done, 1 failed, 2 usage error, 3 a blocker remains that the\n"
	      "fixes do not remove: nothing captured (see --force).\n", stdout);
}

int cmd_capture(int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"compress", required_argument, NULL, 'Z'},
		{"force", no_argument, NULL, 'F'},
		{"overwrite", no_argument, NULL, 'O'},
		{"strict", no_argument, NULL, 'S'},
		{"no-fix", no_argument, NULL, 'N'},
		{"fix", required_argument, NULL, 'X'},
		{"cloud", required_argument, NULL, 'C'},
		{"boot-mode", required_argument, NULL, 'B'},
		{"exclude", required_argument, NULL, 'E'},
		{"quiet", no_argument, NULL, 'q'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		UPLOAD_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct capture_opts o;
	struct capture_hooks hooks;
	struct capture_result r;
	struct console con;
	bool quiet = false, json = false;
	int c, err;

	capture_opts_init(&o);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:qjh", opts, NULL)) != -1) {
		int set = upload_option("capture", c, optarg, &o.sink);
		const char *name = NULL;

		if (set == 1)
			continue;
		if (set)
			return set;
		switch (c) {
		case 'f': name = "format"; break;
		case 'Z': name = "compress"; break;
		case 'F': name = "force"; break;
		case 'O': name = "overwrite"; break;
		case 'S': name = "strict"; break;
		case 'N': name = "no-fix"; break;
		case 'X': name = "fix"; break;
		case 'C': name = "cloud"; break;
		case 'B': name = "boot-mode"; break;
		case 'E': name = "exclude"; break;
		case 'q': quiet = true; break;
		case 'j': json = true; break;
		case 'h': usage(); return EXIT_DONE;
		default:
			return usage_error("capture", "unrecognized option '%s'", argv[optind - 1]);
		}
		if (name && capture_opts_set(&o, name, optarg) < 0)
			return usage_error("capture", "%s", ferr_msg());
	}
	if (argc - optind != 2)
		return usage_error("capture", "expected SOURCE and TARGET, got %d argument%s",
				   argc - optind, argc - optind == 1 ? "" : "s");
	o.source = argv[optind];
	o.target = argv[optind + 1];
	if (capture_opts_done(&o))
		return usage_error("capture", "%s", ferr_msg());
	if (json && !strcmp(o.target, "-"))
		return usage_error("capture", "--json and target - both need standard output");
	console_catch_signals();
	console_init(&con, quiet, json, strcmp(o.target, "-") ? stdout : stderr);
	console_hooks(&con, &hooks);
	err = capture_run(&o, &hooks, &r);
	/* An image in place is reported, even if its manifest failed. */
	if (r.written && json)
		capture_report_json(stdout, &r);
	else if (r.written && !quiet)
		capture_report_text(con.report, &r);
	if (err)
		fail();
	c = !err ? EXIT_DONE : r.stopped ? EXIT_BLOCKED : EXIT_FAILED;
	capture_result_release(&r);
	console_release(&con);
	return c;
}
