/* Progress counting (see progress.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/progress.h"

double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_init(struct progress *p, const char *label, uint64_t total,
		   const struct progress_view *view)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->label, sizeof(p->label), "%s", label);
	p->total = total;
	p->start = now_seconds();
	p->view = view;
}

void progress_add(struct progress *p, uint64_t n)
{
	p->done += n;
	if (p->view && p->view->update)
		p->view->update(p->view->arg, p, false);
}

void progress_finish(struct progress *p)
{
	if (p->view && p->view->update)
		p->view->update(p->view->arg, p, true);
}
