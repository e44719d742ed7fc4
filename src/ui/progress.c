/* Progress display (see progress.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ui/progress.h"
#include "util/config.h"
#include "util/size.h"

void progress_line_init(struct progress_line *l)
{
	memset(l, 0, sizeof(*l));
	l->tty = isatty(STDERR_FILENO);
	l->interval = l->tty ? 0.25 : CONFIG_FERRY_PROGRESS_INTERVAL;
	pthread_mutex_init(&l->lock, NULL);
}

void progress_line_release(struct progress_line *l)
{
	pthread_mutex_destroy(&l->lock);
}

void progress_format(char *buf, size_t size, const struct progress *p, double now, bool final)
{
	char done[16], total[16], rate[16], eta[24] = "";
	double el = now - p->start;
	double bps = el > 0 ? (double)p->done / el : 0;

	fmt_bytes(done, sizeof(done), p->done);
	fmt_bytes(total, sizeof(total), p->total);
	fmt_bytes(rate, sizeof(rate), (uint64_t)bps);
	if (final) {
		snprintf(eta, sizeof(eta), "in %.1fs", el);
	} else if (bps > 0 && p->total > p->done) {
		unsigned s = (unsigned)((double)(p->total - p->done) / bps + 0.999); /* never 0:00:00 */
		snprintf(eta, sizeof(eta), "ETA %u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
	}
	snprintf(buf, size, "%-8s %3u%%  %s / %s  %s/s  %s", p->label, progress_percent(p), done,
		 total, rate, eta);
}

unsigned progress_percent(const struct progress *p)
{
	return p->total ? (unsigned)(p->done * 100 / p->total) : 100;
}

static void draw(const struct progress_line *l, const struct progress *p, double now, bool final)
{
	char text[160];

	progress_format(text, sizeof(text), p, now, final);
	fprintf(stderr, "%s%s%s", l->tty ? "\r" : "", text, l->tty ? "\033[K" : "\n");
	if (final && l->tty)
		fputc('\n', stderr);
}

void progress_line_update(void *arg, const struct progress *p, bool final)
{
	struct progress_line *l = arg;
	double now = now_seconds();

	pthread_mutex_lock(&l->lock);
	/* A line every interval, counted from the work's start or the last
	 * line, and the final state always. */
	if (final || now - (l->last > p->start ? l->last : p->start) >= l->interval) {
		l->last = now;
		draw(l, p, now, final);
	}
	pthread_mutex_unlock(&l->lock);
}
