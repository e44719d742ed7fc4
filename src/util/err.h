/* Error context: library code records what failed and returns a negative
 * errno; callers add context on the way up; the command layer prints it. */
#ifndef FERRY_ERR_H
#define FERRY_ERR_H

#include <stdarg.h>

#define FERRY_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Set the message for error code err (negative errno) and return err. */
int ferr(int err, const char *fmt, ...) FERRY_PRINTF(2, 3);
/* Same, appending ": strerror(-err)". */
int ferr_errno(int err, const char *fmt, ...) FERRY_PRINTF(2, 3);
/* Prepend "context: " to the current message; returns err. */
int ferr_ctx(int err, const char *fmt, ...) FERRY_PRINTF(2, 3);
const char *ferr_msg(void);
void ferr_clear(void);

/* Warnings travel through a handler the command layer installs. */
typedef void (*ferry_warn_fn)(const char *msg, void *arg);
void ferry_set_warn_handler(ferry_warn_fn fn, void *arg);
void ferry_warn(const char *fmt, ...) FERRY_PRINTF(1, 2);
/* +1: warnings are dropped until the matching -1 (work whose outcome is
 * reported otherwise, such as the checks' trial run of the fixes). */
void ferry_warn_mute(int delta);

#endif
