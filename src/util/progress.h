/* Progress of one long piece of work: bytes done of a total, under a label
 * ("capture", "upload", "sizing"). Whoever shows it (a terminal line,
 * ferry run's status reports, a TUI) watches through a view; the work
 * itself only counts. */
#ifndef FERRY_PROGRESS_H
#define FERRY_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress;

struct progress_view {
	/* Sees every update, and once more with final set when the work is
	 * done. It may be called from several threads at once (the upload's
	 * workers) and must be quick. */
	void (*update)(void *arg, const struct progress *p, bool final);
	void *arg;
};

struct progress {
	char label[24];
	uint64_t total, done;
	double start; /* now_seconds() at progress_init */
	const struct progress_view *view; /* NULL: nobody watches */
};

void progress_init(struct progress *p, const char *label, uint64_t total,
		   const struct progress_view *view);
void progress_add(struct progress *p, uint64_t n);
/* The work is done: the view sees the final state. */
void progress_finish(struct progress *p);
/* Monotonic seconds. */
double now_seconds(void);

#endif
