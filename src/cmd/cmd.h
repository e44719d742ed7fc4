/* Subcommands and what they share: usage errors, warning display. */
#ifndef FERRY_CMD_H
#define FERRY_CMD_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "capture/capture.h"
#include "sink/sink.h"
#include "ui/progress.h"
#include "util/json.h"
#include "util/strbuf.h"

enum { EXIT_DONE = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_BLOCKED = 3 };

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *args;
	const char *summary;
};

int cmd_scan(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_tui(int argc, char **argv);

/* Prints "ferry: NAME: MSG\nTry 'ferry NAME --help'." and returns EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A text file of at most 1 MiB (/proc/cmdline, a job file), added to out. */
int read_text(const char *path, struct strbuf *out);
/* Prints "ferry: " and the current error message; returns EXIT_FAILED. */
int fail(void);

/* The options of an upload (s3:// and https:// targets), shared by
 * capture and push: put UPLOAD_OPTIONS in the getopt_long table and give
 * every option getopt returns to upload_option first. */
enum {
	OPT_ENDPOINT = 0x100, OPT_REGION, OPT_CREDENTIALS, OPT_PROFILE, OPT_VIRTUAL_HOST,
	OPT_PART_SIZE, OPT_PARALLEL, OPT_RATE, OPT_CA, OPT_RESOLVE, OPT_PROXY, OPT_INSECURE,
	OPT_RETRIES, OPT_TIMEOUT,
};
#define UPLOAD_OPTIONS                                                        \
	{"endpoint", required_argument, NULL, OPT_ENDPOINT},                  \
	{"region", required_argument, NULL, OPT_REGION},                      \
	{"credentials", required_argument, NULL, OPT_CREDENTIALS},            \
	{"profile", required_argument, NULL, OPT_PROFILE},                    \
	{"virtual-host", no_argument, NULL, OPT_VIRTUAL_HOST},                \
	{"part-size", required_argument, NULL, OPT_PART_SIZE},                \
	{"parallel", required_argument, NULL, OPT_PARALLEL},                  \
	{"rate", required_argument, NULL, OPT_RATE},                          \
	{"ca", required_argument, NULL, OPT_CA},                              \
	{"resolve", required_argument, NULL, OPT_RESOLVE},                    \
	{"proxy", required_argument, NULL, OPT_PROXY},                        \
	{"insecure", no_argument, NULL, OPT_INSECURE},                        \
	{"retries", required_argument, NULL, OPT_RETRIES},                    \
	{"timeout", required_argument, NULL, OPT_TIMEOUT}

/* 1: c was an upload option and is stored in o; 0: not one of them;
 * EXIT_USAGE: a bad value (already said). */
int upload_option(const char *cmd, int c, const char *arg, struct sink_opts *o);
/* Checks what only makes sense together, and warns about --insecure. */
int upload_options_done(const char *cmd, const char *target, struct sink_opts *o);
void upload_usage(FILE *f);

/* A capture shown on the console (console.c), for ferry capture and ferry
 * run: the capture_hooks of console_hooks print warnings and progress on
 * stderr (no progress when quiet) and the checks on report (unless quiet
 * or json: then only blockers, on stderr). */
struct console {
	bool quiet, json;
	FILE *report;
	struct progress_line line;
};
void console_init(struct console *c, bool quiet, bool json, FILE *report);
void console_release(struct console *c);
void console_hooks(struct console *c, struct capture_hooks *h);
/* The hooks one by one (ctx: the console), for front ends that add theirs. */
void console_warn(void *ctx, const char *msg);
void console_progress(void *ctx, const struct progress *p, bool final);
void console_checked(void *ctx, const struct capture_result *r);
void console_partial(void *ctx, const char *path);
/* A signal that ends the process removes the partial target first. */
void console_catch_signals(void);

#endif
