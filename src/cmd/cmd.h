/* Subcommands and what they share: usage errors, warning display. */
#ifndef FERRY_CMD_H
#define FERRY_CMD_H

#include <stddef.h>

#include "util/json.h"

enum { EXIT_DONE = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_BLOCKED = 3 };

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *args;
	const char *summary;
};

int cmd_scan(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_push(int argc, char **argv);

/* Prints "ferry: NAME: MSG\nTry 'ferry NAME --help'." and returns EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "ferry: " and the current error message; returns EXIT_FAILED. */
int fail(void);

/* Warnings go to stderr as they happen and are kept for --json output. */
struct warnings {
	char **v;
	size_t n;
};
void warnings_capture(struct warnings *w);
void warnings_json(const struct warnings *w, struct json *j);
void warnings_release(struct warnings *w);

#endif
