/* The token bucket behind --rate (see ratelimit.h). Tokens accrue at the
 * rate, up to a quarter second's worth, so a pause is not followed by a
 * burst; a caller that takes more than there is sleeps for the rest. */
#include <time.h>

#include "util/ratelimit.h"

static double real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void real_sleep(double secs)
{
	struct timespec ts;

	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts))
		;
}

void ratelimit_init(struct ratelimit *rl, uint64_t rate, double (*now)(void),
		    void (*sleep)(double))
{
	rl->rate = (double)rate;
	rl->burst = rl->rate / 4;
	rl->now = now ? now : real_now;
	rl->sleep = sleep ? sleep : real_sleep;
	rl->tokens = 0;
	rl->last = rl->now();
	pthread_mutex_init(&rl->lock, NULL);
}

void ratelimit_release(struct ratelimit *rl)
{
	pthread_mutex_destroy(&rl->lock);
}

void ratelimit_take(struct ratelimit *rl, uint64_t n)
{
	double wait, t;

	if (rl->rate <= 0 || n == 0)
		return;
	pthread_mutex_lock(&rl->lock);
	t = rl->now();
	rl->tokens += (t - rl->last) * rl->rate;
	if (rl->tokens > rl->burst)
		rl->tokens = rl->burst;
	rl->last = t;
	/* Take them now, into debt if need be: the debt is the wait, and the
	 * next caller waits behind it. */
	rl->tokens -= (double)n;
	wait = rl->tokens < 0 ? -rl->tokens / rl->rate : 0;
	pthread_mutex_unlock(&rl->lock);
	if (wait > 0)
		rl->sleep(wait);
}
