/* Shared command-line plumbing (see cmd.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "util/err.h"

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ferry %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'ferry %s --help'.\n", cmd);
	return EXIT_USAGE;
}

int fail(void)
{
	fprintf(stderr, "ferry: %s\n", ferr_msg());
	return EXIT_FAILED;
}

static void on_warning(const char *msg, void *arg)
{
	struct warnings *w = arg;
	char **v;

	/* The fix stage and the plan may both look at a damaged filesystem:
	 * say it once. */
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->v[i], msg))
			return;
	fprintf(stderr, "ferry: warning: %s\n", msg);
	v = realloc(w->v, (w->n + 1) * sizeof(*v));
	if (!v)
		return;
	w->v = v;
	w->v[w->n] = strdup(msg);
	if (w->v[w->n])
		w->n++;
}

void warnings_capture(struct warnings *w)
{
	memset(w, 0, sizeof(*w));
	ferry_set_warn_handler(on_warning, w);
}

void warnings_json(const struct warnings *w, struct json *j)
{
	json_arr_begin(j, "warnings");
	for (size_t i = 0; i < w->n; i++)
		json_str(j, NULL, w->v[i]);
	json_arr_end(j);
}

void warnings_release(struct warnings *w)
{
	ferry_set_warn_handler(NULL, NULL);
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	memset(w, 0, sizeof(*w));
}
