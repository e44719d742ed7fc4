/* Progress on stderr: percent, bytes done/total, rate, ETA; redrawn in
 * place on a terminal, a line every few seconds otherwise. */
#ifndef FERRY_UI_PROGRESS_H
#define FERRY_UI_PROGRESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/progress.h"

struct progress_line {
	bool tty;
	double last, interval;
	pthread_mutex_t lock;
};

void progress_line_init(struct progress_line *l);
void progress_line_release(struct progress_line *l);
/* "capture   42%  1.2GiB / 3.0GiB  80MiB/s  ETA 0:00:23" (final: "in 12.3s"). */
void progress_format(char *buf, size_t size, const struct progress *p, double now, bool final);
unsigned progress_percent(const struct progress *p);
/* Draws p (a progress_view's update: arg is the progress_line). */
void progress_line_update(void *arg, const struct progress *p, bool final);

#endif
