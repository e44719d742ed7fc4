/* ferry tui: the capture driven by hand through menus (ui/tui.h). */
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
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

/* Whether a terminfo description of term is where slang looks for one
 * ($TERMINFO, then the system's directories; the first letter's
 * directory, or its hex code as on some systems). */
static bool term_known(const char *term)
{
	static const char *const dirs[] = {"/etc/terminfo", "/lib/terminfo", "/usr/share/terminfo",
					   "/usr/lib/terminfo", "/usr/share/lib/terminfo"};
	const char *env = getenv("TERMINFO");
	char path[512];

	if (!term || !*term || strchr(term, '/'))
		return false;
	for (int i = -1; i < (int)(sizeof(dirs) / sizeof(dirs[0])); i++) {
		const char *d = i < 0 ? env : dirs[i];

		if (!d)
			continue;
		snprintf(path, sizeof(path), "%s/%c/%s", d, term[0], term);
		if (access(path, R_OK) == 0)
			return true;
		snprintf(path, sizeof(path), "%s/%02x/%s", d, (unsigned char)term[0], term);
		if (access(path, R_OK) == 0)
			return true;
	}
	return false;
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
	/* slang ends the process on a terminal it has no description of: a
	 * serial line's unknown TERM falls back to the plainest one. */
	if (!term_known(getenv("TERM"))) {
		if (!term_known("vt100"))
			return usage_error("tui", "no terminal description for TERM=%s, nor for vt100 "
				           "(install ncurses-base)", getenv("TERM") ? getenv("TERM") : "");
		fprintf(stderr, "ferry tui: no terminal description for TERM=%s: drawing for vt100\n",
			getenv("TERM") ? getenv("TERM") : "");
		setenv("TERM", "vt100", 1);
		sleep(2);
	}
	strbuf_init(&proc);
	/* Without /proc (not Linux, not mounted) there are no keys to read. */
	if (!cmdline && !read_text("/proc/cmdline", &proc))
		cmdline = proc.s ? proc.s : "";
	ferr_clear();
	rc = tui_main(argv + optind, (size_t)(argc - optind), cmdline);
	strbuf_release(&proc);
	return rc;
}
