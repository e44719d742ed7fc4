/* ferry run's reports into the bucket (see status.h). Reports are best
 * effort: a status object that cannot be written never stops the job. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "run/status.h"
#include "util/progress.h"
#include "util/err.h"
#include "util/json.h"

#define LOG_MAX (8u << 20)

static void *tee_loop(void *arg)
{
	struct status *s = arg;
	char buf[4096];
	ssize_t n;

	while ((n = read(s->pipe_rd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		/* The console first: a full log must not hide what happens. */
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(s->out_fd, buf + off, (size_t)(n - off));
			if (w <= 0)
				break;
			off += w;
		}
		pthread_mutex_lock(&s->lock);
		if (s->log.len + (size_t)n <= LOG_MAX)
			strbuf_add(&s->log, buf, (size_t)n);
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

int status_tee_start(struct status *s)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return ferr_errno(-errno, "cannot make a pipe for the log");
	fflush(stdout);
	fflush(stderr);
	s->out_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	s->err_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (s->out_fd < 0 || s->err_fd < 0 || dup2(p[1], STDOUT_FILENO) < 0 ||
	    dup2(p[1], STDERR_FILENO) < 0) {
		close(p[0]);
		close(p[1]);
		return ferr_errno(-errno, "cannot redirect the output into the log");
	}
	close(p[1]);
	s->pipe_rd = p[0];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pthread_create(&s->tee, NULL, tee_loop, s)) {
		dup2(s->out_fd, STDOUT_FILENO);
		dup2(s->err_fd, STDERR_FILENO);
		return ferr(-EAGAIN, "cannot start the log thread");
	}
	s->teeing = true;
	return 0;
}

static void tee_stop(struct status *s)
{
	if (!s->teeing)
		return;
	fflush(stdout);
	fflush(stderr);
	/* The pipe's last writers go: the thread reads to the end. */
	dup2(s->out_fd, STDOUT_FILENO);
	dup2(s->err_fd, STDERR_FILENO);
	pthread_join(s->tee, NULL);
	close(s->pipe_rd);
	close(s->out_fd);
	close(s->err_fd);
	s->teeing = false;
}

void status_progress(void *arg, const struct progress *p, bool final)
{
	struct status *s = arg;

	(void)final;
	pthread_mutex_lock(&s->lock);
	snprintf(s->label, sizeof(s->label), "%s", p->label);
	s->done = p->done;
	s->total = p->total;
	s->phase_started = p->start;
	pthread_mutex_unlock(&s->lock);
}

void status_unreadable(struct status *s, uint64_t sectors)
{
	pthread_mutex_lock(&s->lock);
	s->unreadable = sectors;
	pthread_mutex_unlock(&s->lock);
}

/* The report, under s->lock. */
static int report(struct status *s, const char *state, struct strbuf *out)
{
	double now = now_seconds(), el = now - s->phase_started;
	double rate = el > 0 ? (double)s->done / el : 0;
	char when[32], *buf = NULL;
	size_t len = 0;
	time_t t = time(NULL);
	struct tm tm;
	struct json j;
	FILE *f = open_memstream(&buf, &len);
	int err;

	if (!f)
		return -ENOMEM;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_init(&j, f);
	json_obj_begin(&j, NULL);
	json_str(&j, "ferry_version", FERRY_VERSION);
	json_str(&j, "state", state);
	json_str(&j, "phase", s->phase);
	json_str(&j, "step", s->label[0] ? s->label : NULL);
	json_u64(&j, "percent", s->total ? s->done * 100 / s->total : 0);
	json_u64(&j, "done_bytes", s->done);
	json_u64(&j, "total_bytes", s->total);
	json_u64(&j, "rate", (uint64_t)rate);
	if (rate > 0 && s->total > s->done && !strcmp(state, "running"))
		json_u64(&j, "eta_seconds", (uint64_t)((double)(s->total - s->done) / rate + 0.999));
	else
		json_str(&j, "eta_seconds", NULL);
	json_double(&j, "elapsed_seconds", now - s->started);
	json_u64(&j, "unreadable_sectors", s->unreadable);
	json_str(&j, "error", s->error[0] ? s->error : NULL);
	json_str(&j, "mac", s->mac[0] ? s->mac : NULL);
	json_str(&j, "serial", s->serial[0] ? s->serial : NULL);
	json_str(&j, "updated", when);
	json_obj_end(&j);
	json_finish(&j);
	if (fclose(f)) {
		free(buf);
		return -ENOMEM;
	}
	err = strbuf_add(out, buf, len);
	free(buf);
	return err;
}

static void put_report(struct status *s, const char *state)
{
	struct strbuf doc;
	char key[sizeof(s->t.key) + 16];

	strbuf_init(&doc);
	pthread_mutex_lock(&s->lock);
	report(s, state, &doc);
	pthread_mutex_unlock(&s->lock);
	snprintf(key, sizeof(key), "%s.status.json", s->t.key);
	if (doc.len && s3_put_object(s->cl, key, doc.s, doc.len, "application/json"))
		ferr_clear(); /* the next report may get through */
	strbuf_release(&doc);
}

static void *report_loop(void *arg)
{
	struct status *s = arg;

	for (;;) {
		struct timespec ts;
		bool stop;

		put_report(s, "running");
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += s->interval;
		pthread_mutex_lock(&s->lock);
		while (!s->stop && pthread_cond_timedwait(&s->cond, &s->lock, &ts) == 0)
			;
		stop = s->stop;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			break;
	}
	return NULL;
}

int status_init(struct status *s, const char *target, const struct sink_opts *o,
		unsigned interval, const char *mac, const char *serial)
{
	int err;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	strbuf_init(&s->log);
	s->pipe_rd = s->out_fd = s->err_fd = -1;
	s->started = s->phase_started = now_seconds();
	s->interval = interval ? interval : 10;
	snprintf(s->mac, sizeof(s->mac), "%s", mac);
	snprintf(s->serial, sizeof(s->serial), "%s", serial);
	snprintf(s->phase, sizeof(s->phase), "start");
	if (strncmp(target, "s3://", 5) || !o->endpoint)
		return 0;
	err = s3_target_parse(&s->t, target, o->endpoint, o->virtual_host);
	if (!err)
		err = s3_credentials_load(&s->cred, o->cred_file, o->profile);
	if (!err) {
		char host[sizeof(s->t.bucket) + sizeof(s->t.host) + 1];

		snprintf(host, sizeof(host), "%s%s%s", s->t.virtual_host ? s->t.bucket : "",
			 s->t.virtual_host ? "." : "", s->t.host);
		err = sink_http_opts(o, host, s->t.https, &s->http, &s->proxy);
	}
	if (err)
		return err;
	s->cl = calloc(1, sizeof(*s->cl));
	if (!s->cl)
		return ferr(-ENOMEM, "out of memory");
	s3_client_init(s->cl, &s->t, &s->cred, &s->http, o->region);
	s->cl->retries = 1;
	if (pthread_create(&s->th, NULL, report_loop, s))
		return ferr(-EAGAIN, "cannot start the status thread");
	s->running = true;
	return 0;
}

void status_phase(struct status *s, const char *phase)
{
	pthread_mutex_lock(&s->lock);
	snprintf(s->phase, sizeof(s->phase), "%s", phase);
	s->label[0] = '\0';
	s->done = s->total = 0;
	s->phase_started = now_seconds();
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void status_error(struct status *s, const char *msg)
{
	pthread_mutex_lock(&s->lock);
	snprintf(s->error, sizeof(s->error), "%s", msg);
	pthread_mutex_unlock(&s->lock);
}

static void stop_reports(struct status *s)
{
	if (!s->running)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->th, NULL);
	s->running = false;
}

int status_finish(struct status *s, bool ok)
{
	char key[sizeof(s->t.key) + 16];
	int err = 0;

	stop_reports(s);
	tee_stop(s);
	/* The last step's numbers stay: a finished upload shows 100 %. */
	pthread_mutex_lock(&s->lock);
	snprintf(s->phase, sizeof(s->phase), "%s", ok ? "done" : "failed");
	pthread_mutex_unlock(&s->lock);
	if (!s->cl)
		return 0;
	s->cl->retries = 4;
	put_report(s, ok ? "done" : "failed");
	snprintf(key, sizeof(key), "%s.log", s->t.key);
	err = s3_put_object(s->cl, key, s->log.s ? s->log.s : "", s->log.len, "text/plain");
	return err ? ferr_ctx(err, "the log") : 0;
}

void status_release(struct status *s)
{
	stop_reports(s);
	tee_stop(s);
	if (s->cl) {
		s3_client_release(s->cl);
		free(s->cl);
	}
	s3_credentials_clear(&s->cred);
	strbuf_release(&s->log);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
}
