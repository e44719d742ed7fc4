/* Error context and warning routing (see err.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

/* Per thread: upload and compression workers fail independently. */
static __thread char msg[1024];
static ferry_warn_fn warn_fn;
static void *warn_arg;
static int warn_muted;

static void vset(const char *fmt, va_list ap)
{
	vsnprintf(msg, sizeof(msg), fmt, ap);
}

int ferr(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	return err;
}

int ferr_errno(int err, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	n = strlen(msg);
	snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(err < 0 ? -err : err));
	return err;
}

int ferr_ctx(int err, const char *fmt, ...)
{
	char prefix[512], old[sizeof(msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, msg, sizeof(old));
	/* A message longer than the buffer is cut, which is what we want. */
	if (snprintf(msg, sizeof(msg), "%s: %s", prefix,
		     old[0] ? old : strerror(err < 0 ? -err : err)) < 0)
		msg[0] = '\0';
	return err;
}

const char *ferr_msg(void)
{
	return msg[0] ? msg : "unknown error";
}

void ferr_clear(void)
{
	msg[0] = '\0';
}

void ferry_warn_push(struct ferry_warn_scope *s, ferry_warn_fn fn, void *arg)
{
	s->fn = fn;
	s->arg = arg;
	s->prev_fn = warn_fn;
	s->prev_arg = warn_arg;
	warn_fn = fn;
	warn_arg = arg;
}

void ferry_warn_pop(struct ferry_warn_scope *s)
{
	warn_fn = s->prev_fn;
	warn_arg = s->prev_arg;
}

void ferry_warn_pass(const struct ferry_warn_scope *s, const char *text)
{
	if (s->prev_fn)
		s->prev_fn(text, s->prev_arg);
}

int warn_list_add(struct warn_list *w, const char *text)
{
	char **v, *copy;

	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->v[i], text))
			return 0;
	copy = strdup(text);
	v = copy ? realloc(w->v, (w->n + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(copy);
		return 0;
	}
	w->v = v;
	w->v[w->n++] = copy;
	return 1;
}

void warn_list_release(struct warn_list *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	w->v = NULL;
	w->n = 0;
}

void ferry_warn_mute(int delta)
{
	warn_muted += delta;
}

void ferry_warn(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (warn_muted > 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (warn_fn)
		warn_fn(buf, warn_arg);
}
