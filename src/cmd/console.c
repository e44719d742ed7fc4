/* How ferry capture and ferry run show a capture on the console: warnings
 * and progress on stderr, the checks before the copy, and the partial
 * target removed if a signal ends the process (see cmd.h). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"

/* The one thing a signal handler may know: the file to remove. */
static char *volatile partial_path;

static void on_signal(int sig)
{
	if (partial_path)
		unlink(partial_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

void console_catch_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;

		/* A signal the caller ignores stays ignored (nohup, background
		 * jobs of a script). */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

void console_init(struct console *c, bool quiet, bool json, FILE *report)
{
	memset(c, 0, sizeof(*c));
	c->quiet = quiet;
	c->json = json;
	c->report = report;
	progress_line_init(&c->line);
}

void console_release(struct console *c)
{
	progress_line_release(&c->line);
}

void console_warn(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "ferry: warning: %s\n", msg);
}

void console_progress(void *ctx, const struct progress *p, bool final)
{
	struct console *c = ctx;

	if (!c->quiet)
		progress_line_update(&c->line, p, final);
}

void console_checked(void *ctx, const struct capture_result *r)
{
	struct console *c = ctx;

	if (!c->quiet && !c->json) {
		capture_report_checks(c->report, r);
		fflush(c->report);
	} else if (r->blocked) {
		check_report_text(r->after, stderr, "  ");
	}
}

void console_partial(void *ctx, const char *path)
{
	(void)ctx;
	partial_path = (char *)path;
}

void console_hooks(struct console *c, struct capture_hooks *h)
{
	memset(h, 0, sizeof(*h));
	h->ctx = c;
	h->warn = console_warn;
	h->progress = console_progress;
	h->checked = console_checked;
	h->partial = console_partial;
}
