/* Error context: library code records what failed and returns a negative
 * errno; callers add context on the way up; the command layer prints it. */
#ifndef FERRY_ERR_H
#define FERRY_ERR_H

#include <stdarg.h>
#include <stddef.h>

#define FERRY_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Set the message for error code err (negative errno) and return err. */
int ferr(int err, const char *fmt, ...) FERRY_PRINTF(2, 3);
/* Same, appending ": strerror(-err)". */
int ferr_errno(int err, const char *fmt, ...) FERRY_PRINTF(2, 3);
/* Prepend "context: " to the current message; returns err. */
int ferr_ctx(int err, const char *fmt, ...) FERRY_PRINTF(2, 3);
const char *ferr_msg(void);
void ferr_clear(void);

/* Warnings travel from deep in the libraries to the handler of the work
 * in progress: a library entry point (capture_run, probe_disks) sets its
 * own for its duration with ferry_warn_push and restores the one before
 * with ferry_warn_pop. Without a handler, warnings are dropped. */
typedef void (*ferry_warn_fn)(const char *msg, void *arg);
struct ferry_warn_scope {
	ferry_warn_fn fn, prev_fn;
	void *arg, *prev_arg;
};
void ferry_warn_push(struct ferry_warn_scope *s, ferry_warn_fn fn, void *arg);
void ferry_warn_pop(struct ferry_warn_scope *s);
/* The handler the current scope replaced (a scope may pass warnings on). */
void ferry_warn_pass(const struct ferry_warn_scope *s, const char *msg);
void ferry_warn(const char *fmt, ...) FERRY_PRINTF(1, 2);

/* Warnings kept for a report: each text once. */
struct warn_list {
	char **v;
	size_t n;
};
/* 1 if msg was new and is now kept, 0 if it was there (or memory ran out). */
int warn_list_add(struct warn_list *w, const char *msg);
void warn_list_release(struct warn_list *w);
/* +1: warnings are dropped until the matching -1 (work whose outcome is
 * reported otherwise, such as the checks' trial run of the fixes). */
void ferry_warn_mute(int delta);

#endif
