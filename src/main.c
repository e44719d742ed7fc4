/* ferry: the command table and the global options. */
#include <archive.h>
#include <ext2fs/ext2fs.h>
#include <mbedtls/version.h>
#include <parted/parted.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

static const struct command commands[] = {
	{"scan", cmd_scan, "[--json] [DEVICE|IMAGE...]",
	 "show disks, partitions, filesystems and the system disk"},
	{"check", cmd_check, "[--cloud NAME] [--json] SOURCE",
	 "judge a system disk against a cloud's import rules, offline"},
	{"capture", cmd_capture, "[options] SOURCE TARGET",
	 "copy a disk's boot area and used blocks into a raw or qcow2 image"},
	{"push", cmd_push, "[options] FILE s3://BUCKET/KEY|https://URL",
	 "upload an image to S3-compatible storage (multipart, resumable)"},
	{"run", cmd_run, "[--cmdline STRING] [--dry-run]",
	 "run the unattended job of the kernel command line (ferry.* keys)"},
	{"tui", cmd_tui, "[DEVICE|IMAGE...]", "capture by hand, through menus (console or serial)"},
};

static void usage(FILE *f)
{
	fputs("Usage:\n ferry <command> [options] [arguments]\n\n"
	      "Move a physical Linux server's system disk into a KVM cloud image.\n\n"
	      "Commands:\n", f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, " %-8s %-28s %s\n", commands[i].name, commands[i].args,
			commands[i].summary);
	fputs("\nOptions:\n"
	      " -h, --help     display this help\n"
	      " -V, --version  display the version and the libraries built in\n"
	      "\nRun 'ferry <command> --help' for a command's options.\n"
	      "The source disk is never written: see ferry(1) in docs/.\n", f);
}

static void version(void)
{
	const char *e2ver = NULL, *e2date = NULL;
	char tls[32];

	ext2fs_get_library_version(&e2ver, &e2date);
	mbedtls_version_get_string(tls);
	printf("ferry %s\n", FERRY_VERSION);
	printf("libparted %s, libext2fs %s, %s, mbedtls %s\n", ped_get_version(), e2ver,
	       archive_version_string(), tls);
}

int main(int argc, char **argv)
{
	/* A reader that goes away is reported as EPIPE, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_DONE;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		version();
		return EXIT_DONE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "ferry: unknown command '%s'\nTry 'ferry --help'.\n", argv[1]);
	return EXIT_USAGE;
}
