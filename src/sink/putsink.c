/* https:// targets: a presigned PUT URL, whose query carries its own
 * signature. One request with Content-Length, the body streamed as it is
 * made; S3 takes at most 5 GiB in one PUT. Nothing here can resume: a
 * broken connection fails the run (s3:// targets retry and resume). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/remote.h"
#include "sink/s3conf.h"
#include "util/progress.h"
#include "util/err.h"
#include "util/sha256.h"
#include "util/size.h"

#define PUT_MAX ((uint64_t)5 << 30)

struct putsink {
	struct remote r;
	struct http_url url;
	char where[300]; /* https://host/path for messages: never the query */
	char *target;    /* path and query as sent */
	struct http_proxy proxy;
	struct http_opts http;
	struct ratelimit rl;
	struct http_conn conn;
	bool open, sent_head;
	uint64_t length, written;
	struct sha256 sha;
	struct progress *prog;
};

static int putsink_write(struct remote *r, const void *buf, size_t len)
{
	struct putsink *s = (struct putsink *)r;
	int err;

	if (len > s->length - s->written)
		return ferr(-EFBIG, "internal: more than the announced %llu bytes for %s",
			    (unsigned long long)s->length, s->where);
	if (!s->sent_head) {
		err = http_send_head(&s->conn, "PUT", s->target, NULL, 0, s->length);
		if (err)
			return ferr_ctx(err, "PUT %s", s->where);
		s->sent_head = true;
	}
	sha256_update(&s->sha, buf, len);
	err = http_send_body(&s->conn, buf, len);
	if (err)
		return ferr_ctx(err, "PUT %s after %llu bytes (a presigned PUT cannot resume: "
				"run again, or use s3:// for multipart with resume)", s->where,
				(unsigned long long)s->written);
	s->written += len;
	if (s->prog)
		progress_add(s->prog, len);
	return 0;
}

static int putsink_finish(struct remote *r, struct sink_stats *st)
{
	struct putsink *s = (struct putsink *)r;
	struct http_response resp;
	char code[96], msg[512];
	int err;

	if (s->written != s->length)
		return ferr(-EIO, "internal: %llu of the announced %llu bytes for %s",
			    (unsigned long long)s->written, (unsigned long long)s->length,
			    s->where);
	err = http_read_response(&s->conn, "PUT", &resp);
	if (err)
		return ferr_ctx(err, "PUT %s", s->where);
	if (resp.status < 200 || resp.status > 299) {
		s3_error_parse(resp.body.s, resp.body.len, code, sizeof(code), msg, sizeof(msg));
		err = ferr(resp.status == 403 ? -EACCES : -EIO, "PUT %s: HTTP %d %s%s%s%s%s",
			   s->where, resp.status, resp.reason, code[0] ? ": " : "", code,
			   msg[0] ? ": " : "", msg);
		http_response_release(&resp);
		return err;
	}
	http_response_release(&resp);
	sha256_final_hex(&s->sha, st->sha256);
	st->parts = 1;
	st->part_size = s->length;
	return 0;
}

static void putsink_abort(struct remote *r, struct sink_stats *st)
{
	struct putsink *s = (struct putsink *)r;

	/* Closing before the announced length makes the server drop it. */
	if (s->open)
		http_close(&s->conn);
	s->open = false;
	st->kept = false;
}

static void putsink_free(struct remote *r)
{
	struct putsink *s = (struct putsink *)r;

	if (s->open)
		http_close(&s->conn);
	sha256_release(&s->sha);
	ratelimit_release(&s->rl);
	if (s->target)
		memset(s->target, 0, strlen(s->target));
	free(s->target);
	free(s);
}

int putsink_open(struct sink *s, const char *url, const struct sink_opts *o)
{
	struct putsink *u = calloc(1, sizeof(*u));
	char b1[16];
	int err;

	if (!u)
		return ferr(-ENOMEM, "out of memory");
	u->r = (struct remote){putsink_write, NULL, putsink_finish, putsink_abort, NULL, putsink_free};
	sha256_init(&u->sha);
	ratelimit_init(&u->rl, o->rate, NULL, NULL);
	s->up = &u->r;
	err = http_url_parse(&u->url, url, "target", NULL);
	if (err)
		return err;
	snprintf(u->where, sizeof(u->where), strchr(u->url.host, ':') ? "https://[%s]" : "https://%s",
		 u->url.host);
	if (u->url.port_given)
		snprintf(u->where + strlen(u->where), sizeof(u->where) - strlen(u->where), ":%u",
			 u->url.port);
	snprintf(u->where + strlen(u->where), sizeof(u->where) - strlen(u->where), "%.*s",
		 (int)strcspn(u->url.rest, "?#"), u->url.rest);
	/* Reports show the target without its signature. */
	s->path = strdup(u->where);
	u->target = strdup(u->url.rest[0] == '/' ? u->url.rest : "/");
	if (!s->path || !u->target)
		return ferr(-ENOMEM, "out of memory");
	if (u->url.user)
		return ferr(-EINVAL, "target %s: credentials do not go in the URL", u->where);
	if (o->length == 0)
		return ferr(-EINVAL, "internal: a presigned PUT needs the image's length");
	if (o->length > PUT_MAX)
		return ferr(-EFBIG, "target %s: the image is %s, and one PUT takes at most 5 GiB: "
			    "upload to s3://BUCKET/KEY with --endpoint instead (multipart)",
			    u->where, fmt_bytes(b1, sizeof(b1), o->length));
	u->length = o->length;
	u->prog = o->prog;
	err = sink_http_opts(o, u->url.host, true, &u->http, &u->proxy);
	if (err)
		return err;
	u->http.rl = &u->rl;
	/* Connect now: a certificate problem shows before any work is done. */
	err = http_open(&u->conn, u->url.host, u->url.port, true, &u->http);
	if (err)
		return err;
	u->open = true;
	return 0;
}
