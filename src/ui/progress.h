/* Progress on stderr: percent, bytes done/total, rate, ETA; redrawn in
 * place on a terminal, a line every few seconds otherwise. */
#ifndef FERRY_PROGRESS_H
#define FERRY_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress {
	char label[24];
	uint64_t total, done;
	bool quiet, tty, drawn;
	double start, last;
	double interval;
};

void progress_init(struct progress *p, const char *label, uint64_t total, bool quiet);
/* fn sees every progress update, quiet or not (ferry run's status reports);
 * NULL stops it. It may be called from several threads at once. */
void progress_observe(void (*fn)(void *arg, const struct progress *p, bool final), void *arg);
void progress_add(struct progress *p, uint64_t n);
/* Draws the final state and ends the line. */
void progress_finish(struct progress *p);
double now_seconds(void);

#endif
