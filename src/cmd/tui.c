/* ferry tui: the capture driven by hand through menus (ui/tui.h). */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "ui/tui.h"
#include "util/err.h"

static void usage(void)
{
	fputs("Usage:\n ferry tui [DEVICE|IMAGE...]\n\n"
	      "Capture a disk by hand, screen by screen: the disks (every disk, or those\n"
	      "named), the cloud and the check report, where the image goes (S3, a\n"
	      "presigned URL or a local path), then the capture and its result. Keyboard\n"
	      "only; fits 80x24, on the console or a serial line. See docs/tui.md.\n\n"
	      "Options:\n"
	      "     --cmdline STRING   fill the fields from these ferry.* keys (default: those\n"
	      "                        of /proc/cmdline; docs/cmdline.md)\n"
	      " -h, --help             display this help\n\n"
	      "Exit status: 0 captured, 1 the capture failed, 2 usage error, 4 left without\n"
	      "capturing.\n", stdout);
}

int cmd_tui(int argc, char **argv)
{
	static const struct option opts[] = {
		{"cmdline", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmdline = NULL;
	struct strbuf proc;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage();
			return EXIT_DONE;
		}
		if (c != 'c')
			return usage_error("tui", "unknown option");
		cmdline = optarg;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return usage_error("tui", "needs a terminal (standard input and output)");
	strbuf_init(&proc);
	/* Without /proc (not Linux, not mounted) there are no keys to read. */
	if (!cmdline && !read_text("/proc/cmdline", &proc))
		cmdline = proc.s ? proc.s : "";
	ferr_clear();
	rc = tui_main(argv + optind, (size_t)(argc - optind), cmdline);
	strbuf_release(&proc);
	return rc;
}
