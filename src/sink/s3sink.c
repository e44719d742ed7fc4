/* s3:// targets: the stream is cut into parts that worker threads upload
 * at once, each on its own connection. --parallel N parts are sent at
 * once; one worker more than that starts the next part while another
 * waits for the server's answer to its last (the answer to a 16 MiB part
 * takes tens of milliseconds at radosgw, time in which one stream would
 * send nothing). An unfinished upload of the same key is taken up: a part
 * whose MD5 the server already holds is not sent again. Memory: one part
 * being filled plus one per worker.
 *
 * An image whose first bytes are rewritten once the rest is made (a
 * compressed qcow2 in one pass: its tables) goes up in any order, as S3
 * allows: those bytes are held back as part 1, patched, and sent last,
 * after every other part (its buffer, at least a part long, is memory on
 * top of the above). The SHA-256 of the object is then made by reading it
 * back into that buffer, as a local file's is read back (sink/file.c). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/remote.h"
#include "sink/s3.h"
#include "util/progress.h"
#include "util/err.h"
#include "util/sha256.h"

#define DEFAULT_PART ((uint64_t)16 << 20)
#define DEFAULT_PARALLEL 4
#define MAX_PARALLEL 32

struct job {
	unsigned number;
	uint8_t *buf;
	size_t len;
};

struct s3sink;

struct worker {
	struct s3sink *s;
	struct s3_client cl;
	pthread_t th;
	bool started;
};

struct s3sink {
	struct remote r;
	struct s3_target t;
	struct s3_credentials cred;
	struct http_proxy proxy;
	struct http_opts http;
	struct ratelimit rl;
	struct s3_client ctl; /* create, list, complete, abort, manifest */
	char upload_id[512];
	struct s3_part *old, *parts;
	size_t nold, nparts;
	uint64_t part, length, written; /* length: at most, when open */
	bool open; /* the length is known once the stream ends (one-pass image) */
	struct sha256 sha;
	uint8_t *cur; /* the part being filled */
	size_t fill;
	unsigned next;
	struct progress *prog;
	const struct progress_view *view;
	bool done;
	/* Part 1 held back to be rewritten: hlen bytes at most, hfill so far. */
	uint8_t *head;
	size_t hlen, hfill;

	/* Shared with the workers, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct worker *w;
	unsigned nw;
	unsigned turns; /* parts that may start sending now */
	uint8_t **pool;
	size_t npool, nbufs;
	struct job *q;
	size_t qhead, qn;
	bool stop;
	int err;
	char msg[1024];
	bool refused;
	uint64_t reused;
};

static void fail_locked(struct s3sink *s, int err, bool refused)
{
	if (s->err)
		return;
	s->err = err;
	s->refused = refused;
	snprintf(s->msg, sizeof(s->msg), "%s", ferr_msg());
}

/* The ETag S3 gives a part is its MD5, quoted or not. */
static bool same_etag(const char *etag, const char *hex)
{
	size_t n = strlen(etag);

	if (n == 34 && etag[0] == '"' && etag[33] == '"')
		return !strncmp(etag + 1, hex, 32);
	return !strcmp(etag, hex);
}

static const struct s3_part *stored(const struct s3sink *s, unsigned number)
{
	for (size_t i = 0; i < s->nold; i++)
		if (s->old[i].number == number)
			return &s->old[i];
	return NULL;
}

static int send_part(struct worker *w, const struct job *j)
{
	struct s3sink *s = w->s;
	struct s3_part *p = &s->parts[j->number - 1];
	const struct s3_part *have = stored(s, j->number);
	char hex[33], b64[25];

	p->number = j->number;
	p->size = j->len;
	/* MD5 only for a part an earlier run stored: its ETag says whether
	 * it is this one. */
	if (have && have->size == j->len) {
		s3_md5(j->buf, j->len, hex, b64);
		if (same_etag(have->etag, hex)) {
			snprintf(p->etag, sizeof(p->etag), "%s", have->etag);
			pthread_mutex_lock(&s->lock);
			s->reused++;
			pthread_mutex_unlock(&s->lock);
			return 0;
		}
	}
	return s3_upload_part(&w->cl, s->upload_id, j->number, j->buf, j->len, p->etag,
			      sizeof(p->etag));
}

/* s3_client's turn: at most --parallel parts send at once. */
static void turn(void *arg, bool take)
{
	struct s3sink *s = ((struct worker *)arg)->s;

	pthread_mutex_lock(&s->lock);
	if (take) {
		while (!s->turns)
			pthread_cond_wait(&s->cond, &s->lock);
		s->turns--;
	} else {
		s->turns++;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct s3sink *s = w->s;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct job j;
		int err = 0;

		while (!s->qn && !s->stop)
			pthread_cond_wait(&s->cond, &s->lock);
		if (!s->qn)
			break;
		j = s->q[s->qhead];
		s->qhead = (s->qhead + 1) % s->nw;
		s->qn--;
		if (!s->err) {
			pthread_mutex_unlock(&s->lock);
			err = send_part(w, &j);
			pthread_mutex_lock(&s->lock);
		}
		if (err)
			fail_locked(s, err, w->cl.refused);
		else if (s->prog)
			progress_add(s->prog, j.len);
		if (j.buf != s->head)
			s->pool[s->npool++] = j.buf;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Queues a part for the workers, under the lock. */
static void queue_locked(struct s3sink *s, unsigned number, uint8_t *buf, size_t len)
{
	while (!s->err && s->qn == s->nw)
		pthread_cond_wait(&s->cond, &s->lock);
	if (!s->err) {
		s->q[(s->qhead + s->qn) % s->nw] = (struct job){number, buf, len};
		s->qn++;
		pthread_cond_broadcast(&s->cond);
	}
}

/* Queues the part being filled and takes an empty buffer for the next. */
static int submit(struct s3sink *s)
{
	int err = 0;

	pthread_mutex_lock(&s->lock);
	queue_locked(s, ++s->next, s->cur, s->fill);
	if (!s->err) {
		s->cur = NULL;
		s->fill = 0;
	}
	/* A buffer is made only when none is free and fewer than one per
	 * worker plus one exist. */
	while (!s->err && !s->npool && s->nbufs > s->nw && s->next < s->nparts)
		pthread_cond_wait(&s->cond, &s->lock);
	if (s->err) {
		err = ferr(s->err, "%s", s->msg);
	} else if (s->cur == NULL && s->next < s->nparts) {
		if (s->npool) {
			s->cur = s->pool[--s->npool];
		} else if ((s->cur = malloc((size_t)s->part))) {
			s->nbufs++;
		} else {
			err = ferr(-ENOMEM, "out of memory for a part of %llu bytes",
				   (unsigned long long)s->part);
			fail_locked(s, err, false);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

static int s3sink_write(struct remote *r, const void *buf, size_t len)
{
	struct s3sink *s = (struct s3sink *)r;
	const uint8_t *p = buf;

	if (len > s->length - s->written)
		return ferr(-EFBIG, "internal: more than the announced %s%llu bytes for s3://%s/%s",
			    s->open ? "at most " : "", (unsigned long long)s->length, s->t.bucket,
			    s->t.key);
	if (!s->head)
		sha256_update(&s->sha, buf, len);
	s->written += len;
	if (s->hfill < s->hlen) {
		size_t n = s->hlen - s->hfill < len ? s->hlen - s->hfill : len;

		memcpy(s->head + s->hfill, p, n);
		s->hfill += n;
		p += n;
		len -= n;
	}
	while (len) {
		size_t n = (size_t)(s->part - s->fill);
		int err;

		if (n > len)
			n = len;
		memcpy(s->cur + s->fill, p, n);
		s->fill += n;
		p += n;
		len -= n;
		if (s->fill == s->part || (len == 0 && s->written == s->length && !s->open)) {
			err = submit(s);
			if (err)
				return err;
		}
	}
	return 0;
}

static int s3sink_patch(struct remote *r, uint64_t off, const void *buf, size_t len)
{
	struct s3sink *s = (struct s3sink *)r;

	if (!s->head || off > s->hfill || len > s->hfill - off)
		return ferr(-EINVAL, "internal: s3://%s/%s cannot take %zu bytes at %llu again "
			    "(only its first %zu bytes are held back)", s->t.bucket, s->t.key, len,
			    (unsigned long long)off, s->hlen);
	memcpy(s->head + off, buf, len);
	return 0;
}

/* The SHA-256 of an object sent out of order: read back from the server,
 * a part's length at a time (the answer is held whole before it is
 * copied), into the head's buffer. */
static int read_back(struct s3sink *s, char hex[65])
{
	struct progress prog;
	struct sha256 sha;
	uint64_t off = 0;
	int err = 0;

	sha256_init(&sha);
	progress_init(&prog, "readback", s->length, s->view);
	while (!err && off < s->length) {
		size_t n = s->length - off < s->part ? (size_t)(s->length - off) : (size_t)s->part;

		err = s3_get_range(&s->ctl, off, s->head, n);
		if (!err) {
			sha256_update(&sha, s->head, n);
			progress_add(&prog, n);
			off += n;
		}
	}
	if (!err) {
		progress_finish(&prog);
		sha256_final_hex(&sha, hex);
	}
	sha256_release(&sha);
	if (err == -EACCES) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", ferr_msg());
		return ferr(err, "%s: the image is stored whole, but its SHA-256 (for the manifest) "
			    "is made by reading it back, which these credentials may not "
			    "(s3:GetObject)", msg);
	}
	if (err) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", ferr_msg());
		return ferr(err, "%s: the image is stored whole, but reading it back for its "
			    "SHA-256 (for the manifest) failed", msg);
	}
	return 0;
}

static void stop_workers(struct s3sink *s)
{
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	for (unsigned i = 0; s->w && i < s->nw; i++)
		if (s->w[i].started) {
			pthread_join(s->w[i].th, NULL);
			s->w[i].started = false;
		}
}

static int s3sink_finish(struct remote *r, struct sink_stats *st)
{
	struct s3sink *s = (struct s3sink *)r;
	int err;

	if (s->open && s->fill) {
		/* the last part, shorter */
		err = submit(s);
		if (err)
			return err;
	}
	if (s->head && s->hfill) {
		/* part 1, rewritten: sent after every other */
		pthread_mutex_lock(&s->lock);
		queue_locked(s, 1, s->head, s->hfill);
		err = s->err ? ferr(s->err, "%s", s->msg) : 0;
		pthread_mutex_unlock(&s->lock);
		if (err)
			return err;
	}
	if (s->open && s->written) {
		/* every part is queued: the upload has as many as it has */
		s->nparts = s->next;
		s->length = s->written;
	}
	if (s->written != s->length || !s->written)
		return ferr(-EIO, "internal: %llu of the announced %llu bytes for s3://%s/%s",
			    (unsigned long long)s->written, (unsigned long long)s->length,
			    s->t.bucket, s->t.key);
	stop_workers(s);
	if (s->err)
		return ferr(s->err, "%s", s->msg);
	err = s3_complete_multipart(&s->ctl, s->upload_id, s->parts, s->nparts);
	if (err) {
		s->refused = s->ctl.refused;
		s->err = err;
		return err;
	}
	s->done = true;
	if (s->head) {
		err = read_back(s, st->sha256);
		if (err)
			return err;
	} else {
		sha256_final_hex(&s->sha, st->sha256);
	}
	st->parts = s->nparts;
	st->part_size = s->part;
	st->parts_reused = s->reused;
	return 0;
}

static void s3sink_abort(struct remote *r, struct sink_stats *st)
{
	struct s3sink *s = (struct s3sink *)r;

	stop_workers(s);
	st->parts = s->open ? s->next : s->nparts;
	st->part_size = s->part;
	st->parts_reused = s->reused;
	if (s->done || !s->upload_id[0])
		return;
	/* What the server refused will be refused again: clean up. Anything
	 * else (the network, the source, a signal) leaves the upload for the
	 * next run of the same command to take up. */
	if (s->refused) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", ferr_msg());
		s3_abort_multipart(&s->ctl, s->upload_id);
		ferr(s->err ? s->err : -EIO, "%s", msg);
		st->kept = false;
	} else {
		st->kept = true;
	}
}

static int s3sink_put_beside(struct remote *r, const char *suffix, const void *doc, size_t len,
			     const char *content_type)
{
	struct s3sink *s = (struct s3sink *)r;
	char key[sizeof(s->t.key) + 32];

	if ((size_t)snprintf(key, sizeof(key), "%s%s", s->t.key, suffix) >= sizeof(key))
		return ferr(-ENAMETOOLONG, "s3://%s/%s%s: key too long", s->t.bucket, s->t.key,
			    suffix);
	return s3_put_object(&s->ctl, key, doc, len, content_type);
}

static void s3sink_free(struct remote *r)
{
	struct s3sink *s = (struct s3sink *)r;

	stop_workers(s);
	for (unsigned i = 0; s->w && i < s->nw; i++)
		s3_client_release(&s->w[i].cl);
	s3_client_release(&s->ctl);
	for (size_t i = 0; i < s->npool; i++)
		free(s->pool[i]);
	free(s->cur);
	free(s->head);
	free(s->pool);
	free(s->q);
	free(s->w);
	free(s->old);
	free(s->parts);
	sha256_release(&s->sha);
	ratelimit_release(&s->rl);
	s3_credentials_clear(&s->cred);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Takes up the newest unfinished upload of the key, or starts one. */
static int begin(struct s3sink *s, struct sink_stats *st)
{
	int err = s3_find_upload(&s->ctl, s->upload_id, sizeof(s->upload_id));

	if (!err) {
		st->resumed = true;
		return s3_list_parts(&s->ctl, s->upload_id, &s->old, &s->nold);
	}
	if (err != -ENOENT)
		return err;
	return s3_create_multipart(&s->ctl, s->upload_id, sizeof(s->upload_id));
}

static int start(struct s3sink *s, const struct sink_opts *o, struct sink_stats *st)
{
	unsigned nw = o->parallel ? o->parallel : DEFAULT_PARALLEL;
	char host[sizeof(s->t.bucket) + sizeof(s->t.host) + 1];
	int err;

	if (o->length == 0 && o->length_max == 0)
		return ferr(-EINVAL, "internal: the length of an S3 upload must be known or bounded");
	/* A stream whose length is known only at its end: the parts are cut
	 * as its largest length would need. */
	s->open = o->length == 0;
	s->length = s->open ? o->length_max : o->length;
	err = s3_part_size(s->length, o->part_size ? o->part_size : DEFAULT_PART, &s->part);
	if (err)
		return ferr_ctx(err, "s3://%s/%s", s->t.bucket, s->t.key);
	s->nparts = (size_t)((s->length + s->part - 1) / s->part);
	if (o->patch) {
		/* Part 1 holds what will be rewritten, and is at least a part
		 * (only the last may be shorter); the others follow it. */
		if (!s->open || o->head > SIZE_MAX / 2)
			return ferr(-EINVAL, "internal: an upload rewritten at its start needs an open "
				    "length and a head that fits in memory");
		s->hlen = o->head > s->part ? (size_t)o->head : (size_t)s->part;
		s->head = malloc(s->hlen);
		if (!s->head)
			return ferr(-ENOMEM, "out of memory to hold back the first %zu bytes of "
				    "s3://%s/%s", s->hlen, s->t.bucket, s->t.key);
		s->next = 1;
		s->nparts = 1 + (size_t)(s->length > s->hlen
						 ? (s->length - s->hlen + s->part - 1) / s->part
						 : 0);
	}
	if (nw > MAX_PARALLEL)
		nw = MAX_PARALLEL;
	s->turns = nw;
	nw++; /* the one that sends while another waits for its answer */
	if (nw > s->nparts)
		nw = (unsigned)s->nparts;
	s->nw = nw;
	s->prog = o->prog;
	s->view = o->view;
	snprintf(host, sizeof(host), "%s%s%s", s->t.virtual_host ? s->t.bucket : "",
		 s->t.virtual_host ? "." : "", s->t.host);
	err = sink_http_opts(o, host, s->t.https, &s->http, &s->proxy);
	if (err)
		return err;
	ratelimit_init(&s->rl, o->rate, NULL, NULL);
	s->http.rl = &s->rl;
	err = s3_credentials_load(&s->cred, o->cred_file, o->profile);
	if (err)
		return err;
	s3_client_init(&s->ctl, &s->t, &s->cred, &s->http, o->region);
	if (o->retries >= 0)
		s->ctl.retries = (unsigned)o->retries;
	s->parts = calloc(s->nparts, sizeof(*s->parts));
	s->w = calloc(nw, sizeof(*s->w));
	s->q = calloc(nw, sizeof(*s->q));
	s->pool = calloc(nw + 1, sizeof(*s->pool));
	s->cur = malloc((size_t)s->part);
	if (!s->parts || !s->w || !s->q || !s->pool || !s->cur)
		return ferr(-ENOMEM, "out of memory for %zu parts of %llu bytes", s->nparts,
			    (unsigned long long)s->part);
	s->nbufs = 1;
	err = begin(s, st);
	if (err)
		return err;
	for (unsigned i = 0; i < nw; i++) {
		s->w[i].s = s;
		s3_client_init(&s->w[i].cl, &s->t, &s->cred, &s->http, o->region);
		s->w[i].cl.retries = s->ctl.retries;
		s->w[i].cl.turn = turn;
		s->w[i].cl.turn_arg = &s->w[i];
		err = -pthread_create(&s->w[i].th, NULL, work, &s->w[i]);
		if (err)
			return ferr_errno(err, "cannot start an upload thread");
		s->w[i].started = true;
	}
	return 0;
}

int s3sink_open(struct sink *s, const char *target, const struct sink_opts *o)
{
	struct s3sink *u = calloc(1, sizeof(*u));
	int err;

	if (!u)
		return ferr(-ENOMEM, "out of memory");
	u->r = (struct remote){s3sink_write, s3sink_patch, s3sink_finish, s3sink_abort,
			       s3sink_put_beside, s3sink_free};
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	sha256_init(&u->sha);
	s->up = &u->r;
	s->path = strdup(target);
	if (!s->path)
		return ferr(-ENOMEM, "out of memory");
	if (!o->endpoint)
		return ferr(-EINVAL, "%s needs --endpoint URL (the storage's S3 endpoint)", target);
	err = s3_target_parse(&u->t, target, o->endpoint, o->virtual_host);
	if (!err)
		err = start(u, o, &s->stats);
	return err;
}

int s3sink_preflight(const char *target, const struct sink_opts *o)
{
	struct s3_target t;
	struct s3_credentials cred;
	int err;

	if (!o->endpoint)
		return ferr(-EINVAL, "%s needs --endpoint URL (the storage's S3 endpoint)", target);
	err = s3_target_parse(&t, target, o->endpoint, o->virtual_host);
	if (!err)
		err = s3_credentials_load(&cred, o->cred_file, o->profile);
	if (!err)
		s3_credentials_clear(&cred);
	return err;
}

int s3sink_probe(const char *target, const struct sink_opts *o)
{
	struct s3_target t;
	struct s3_credentials cred;
	struct http_opts http;
	struct http_proxy proxy;
	struct s3_client c;
	char host[320], id[256];
	int err;

	if (!o->endpoint)
		return ferr(-EINVAL, "%s needs --endpoint URL (the storage's S3 endpoint)", target);
	err = s3_target_parse(&t, target, o->endpoint, o->virtual_host);
	if (err)
		return err;
	snprintf(host, sizeof(host), "%s%s%s", t.virtual_host ? t.bucket : "",
		 t.virtual_host ? "." : "", t.host);
	err = sink_http_opts(o, host, t.https, &http, &proxy);
	if (!err)
		err = s3_credentials_load(&cred, o->cred_file, o->profile);
	if (err)
		return err;
	s3_client_init(&c, &t, &cred, &http, o->region);
	/* An answer now, not two minutes of backoff: the operator is waiting. */
	c.retries = 1;
	c.backoff_max = 1;
	err = s3_find_upload(&c, id, sizeof(id));
	s3_client_release(&c);
	s3_credentials_clear(&cred);
	/* s3_find_upload's message names the object already. */
	return err == -ENOENT ? 0 : err;
}
