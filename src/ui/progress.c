/* Progress display (see progress.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ui/progress.h"
#include "util/config.h"
#include "util/size.h"

static void (*observer)(void *arg, const struct progress *p, bool final);
static void *observer_arg;

void progress_observe(void (*fn)(void *arg, const struct progress *p, bool final), void *arg)
{
	observer = fn;
	observer_arg = arg;
}

double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_init(struct progress *p, const char *label, uint64_t total, bool quiet)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->label, sizeof(p->label), "%s", label);
	p->total = total;
	p->quiet = quiet;
	p->tty = isatty(STDERR_FILENO);
	p->start = p->last = now_seconds();
	p->interval = p->tty ? 0.25 : CONFIG_FERRY_PROGRESS_INTERVAL;
}

static void draw(struct progress *p, double now, bool final)
{
	char done[16], total[16], rate[16], eta[24] = "";
	double el = now - p->start;
	double bps = el > 0 ? (double)p->done / el : 0;
	unsigned pct = p->total ? (unsigned)(p->done * 100 / p->total) : 100;

	fmt_bytes(done, sizeof(done), p->done);
	fmt_bytes(total, sizeof(total), p->total);
	fmt_bytes(rate, sizeof(rate), (uint64_t)bps);
	if (final) {
		snprintf(eta, sizeof(eta), "in %.1fs", el);
	} else if (bps > 0 && p->total > p->done) {
		unsigned s = (unsigned)((double)(p->total - p->done) / bps + 0.999); /* never 0:00:00 */
		snprintf(eta, sizeof(eta), "ETA %u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
	}
	fprintf(stderr, "%s%-8s %3u%%  %s / %s  %s/s  %s%s", p->tty ? "\r" : "", p->label, pct,
		done, total, rate, eta, p->tty ? "\033[K" : "\n");
	p->drawn = true;
}

void progress_add(struct progress *p, uint64_t n)
{
	double now;

	p->done += n;
	if (observer)
		observer(observer_arg, p, false);
	if (p->quiet)
		return;
	now = now_seconds();
	if (now - p->last < p->interval)
		return;
	p->last = now;
	draw(p, now, false);
}

void progress_finish(struct progress *p)
{
	if (observer)
		observer(observer_arg, p, true);
	if (p->quiet)
		return;
	draw(p, now_seconds(), true);
	if (p->tty)
		fputc('\n', stderr);
}
