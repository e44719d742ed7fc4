/* A token bucket shared by the upload threads: --rate BYTES/s. */
#ifndef FERRY_RATELIMIT_H
#define FERRY_RATELIMIT_H

#include <pthread.h>
#include <stdint.h>

struct ratelimit {
	double rate;   /* bytes per second; 0: no limit */
	double tokens; /* bytes that may go now */
	double burst;  /* the most tokens saved up: a quarter second */
	double last;   /* when tokens was last brought up to date */
	double (*now)(void);         /* seconds, monotonic */
	void (*sleep)(double secs);
	pthread_mutex_t lock;
};

/* now and sleep may be NULL for the real clock. */
void ratelimit_init(struct ratelimit *rl, uint64_t rate, double (*now)(void),
		    void (*sleep)(double));
void ratelimit_release(struct ratelimit *rl);
/* Waits until n more bytes may be sent. */
void ratelimit_take(struct ratelimit *rl, uint64_t n);

#endif
