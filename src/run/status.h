/* What an operator watching a rack sees in the bucket while ferry run
 * works: KEY.status.json every few seconds (phase, percent, rate, ETA,
 * errors) and, at the end, KEY.log with everything ferry printed. */
#ifndef FERRY_STATUS_H
#define FERRY_STATUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "sink/s3.h"
#include "sink/sink.h"
#include "util/progress.h"
#include "util/strbuf.h"

struct status {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t th, tee;
	bool running, teeing, stop;
	/* where it goes: NULL client when the target is not s3:// */
	struct s3_client *cl;
	struct s3_target t;
	struct s3_credentials cred;
	struct http_proxy proxy;
	struct http_opts http;
	unsigned interval;
	/* what it says */
	char phase[24], label[24], error[512], mac[18], serial[128];
	uint64_t done, total;
	uint64_t unreadable; /* sectors given up so far */
	double started, phase_started;
	/* everything printed, for KEY.log */
	struct strbuf log;
	int pipe_rd, out_fd, err_fd;
};

/* Copies standard output and error into the log (and on to where they
 * went before) from now on. */
int status_tee_start(struct status *s);
/* Starts the reports; target is the job's; without an s3:// target only
 * the log is kept. The other arguments are the upload options. */
int status_init(struct status *s, const char *target, const struct sink_opts *o,
		unsigned interval, const char *mac, const char *serial);
void status_phase(struct status *s, const char *phase);
/* A progress_view's update (arg is the status): the work's label, bytes
 * and rate go into the next report. */
void status_progress(void *arg, const struct progress *p, bool final);
void status_error(struct status *s, const char *msg);
/* sectors of the source did not read so far (a capture hook's count). */
void status_unreadable(struct status *s, uint64_t sectors);
/* The last report ("done" or "failed") and KEY.log; then stops. */
int status_finish(struct status *s, bool ok);
void status_release(struct status *s);

#endif
