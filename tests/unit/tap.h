/* A small TAP producer for Ferry's C unit tests. */
#ifndef FERRY_TAP_H
#define FERRY_TAP_H

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_num, tap_failed;

static inline void tap_plan(int n)
{
	printf("1..%d\n", n);
}

static inline __attribute__((format(printf, 2, 3))) int ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_num);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond)
		tap_failed++;
	return cond;
}

#define is_int(got, want, ...)                                                            \
	do {                                                                              \
		long long g_ = (long long)(got), w_ = (long long)(want);                   \
		if (!ok(g_ == w_, __VA_ARGS__))                                           \
			printf("#   expected: %lld\n#   got:      %lld\n", w_, g_);         \
	} while (0)

#define is_str(got, want, ...)                                                            \
	do {                                                                              \
		const char *g_ = (got), *w_ = (want);                                     \
		if (!ok(g_ && w_ ? strcmp(g_, w_) == 0 : g_ == w_, __VA_ARGS__))         \
			printf("#   expected: '%s'\n#   got:      '%s'\n", w_ ? w_ : "(null)", \
			       g_ ? g_ : "(null)");                                      \
	} while (0)

/* Where a test writes: $TMPDIR, which make check-unit sets inside the
 * build tree; /tmp when it is not set. */
static inline const char *tap_tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	return t && *t ? t : "/tmp";
}

/* A new scratch directory tap_tmpdir()/ferry-NAME-XXXXXX in buf; NULL,
 * said as a bail out, when it cannot be made. */
static inline char *tap_scratch(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/ferry-%s-XXXXXX", tap_tmpdir(), name);
	if (!mkdtemp(buf)) {
		printf("Bail out! cannot make %s: %s\n", buf, strerror(errno));
		return NULL;
	}
	return buf;
}

static inline int tap_done(void)
{
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

#endif
