/* ferry scan: what is on each disk, and which one is the system disk. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "disk/probe.h"

static void usage(void)
{
	fputs("Usage:\n ferry scan [options] [DEVICE|IMAGE...]\n\n"
	      "Show each disk's size, sector sizes, model, partition table, partitions and\n"
	      "filesystems, and which disk holds / and /boot (read from /etc/fstab and the\n"
	      "boot loader config, never mounted). Without arguments, every disk in\n"
	      "/sys/block except loop, ram, zram and sr devices.\n\n"
	      "Every block device it opens is set read-only in the kernel (BLKROSET)\n"
	      "first, and stays so when ferry exits: blockdev --setrw DEVICE undoes it\n"
	      "(docs/safety.md). A disk the running system uses is not set read-only.\n\n"
	      "Options:\n"
	      " -j, --json     print JSON (schema: docs/scan-json.md)\n"
	      " -h, --help     display this help\n", stdout);
}

int cmd_scan(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct probe pr;
	bool json = false;
	int c, err;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': usage(); return EXIT_DONE;
		default:
			return usage_error("scan", "unrecognized option '%s'", argv[optind - 1]);
		}
	}
	err = probe_disks(&pr, argv + optind, (size_t)(argc - optind));
	for (size_t i = 0; i < pr.warnings.n; i++)
		fprintf(stderr, "ferry: warning: %s\n", pr.warnings.v[i]);
	if (err) {
		probe_release(&pr);
		return fail();
	}
	if (json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		probe_report_json(&j, &pr);
		json_obj_end(&j);
		json_finish(&j);
	} else {
		probe_report_text(stdout, &pr);
	}
	probe_release(&pr);
	return EXIT_DONE;
}
