/* The S3 client (see s3.h): signed requests with retries on one keep-alive
 * connection, and the multipart calls built on them. */
#include <ctype.h>
#include <errno.h>
#include <mbedtls/base64.h>
#include <mbedtls/md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sink/s3.h"
#include "sink/sigv4.h"
#include "util/err.h"
#include "util/text.h"

#define MAX_HEADERS 12

void s3_client_init(struct s3_client *c, const struct s3_target *t,
		    const struct s3_credentials *cred, const struct http_opts *http,
		    const char *region)
{
	memset(c, 0, sizeof(*c));
	c->t = *t;
	c->cred = cred;
	c->http = *http;
	snprintf(c->region, sizeof(c->region), "%s", region && *region ? region : "us-east-1");
	c->retries = 8;
	c->backoff_max = 30;
}

void s3_client_release(struct s3_client *c)
{
	if (c->connected)
		http_close(&c->conn);
	c->connected = false;
}

void s3_md5(const void *data, size_t len, char hex[33], char b64[25])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char sum[16];
	size_t olen;

	mbedtls_md5_ret(data, len, sum);
	for (int i = 0; i < 16; i++) {
		hex[2 * i] = digits[sum[i] >> 4];
		hex[2 * i + 1] = digits[sum[i] & 15];
	}
	hex[32] = '\0';
	mbedtls_base64_encode((unsigned char *)b64, 25, &olen, sum, sizeof(sum));
	b64[olen] = '\0';
}

#define HOST_MAX (sizeof(((struct s3_target *)0)->bucket) + sizeof(((struct s3_target *)0)->host) + 1)

static const char *host_of(const struct s3_client *c, char buf[HOST_MAX])
{
	if (c->t.virtual_host)
		snprintf(buf, HOST_MAX, "%s.%s", c->t.bucket, c->t.host);
	else
		snprintf(buf, HOST_MAX, "%s", c->t.host);
	return buf;
}

/* The request target: path-style /BUCKET/KEY or virtual-host /KEY, under
 * the endpoint's base path; key NULL means the bucket itself. */
static int build_path(const struct s3_client *c, const char *key, struct strbuf *p)
{
	int err = strbuf_add(p, c->t.base, strlen(c->t.base));

	if (!err && !c->t.virtual_host)
		err = strbuf_addf(p, "/%s", c->t.bucket);
	if (!err)
		err = strbuf_add(p, "/", 1);
	if (!err && key)
		err = sigv4_uri_encode(key, false, p);
	return err;
}

static void backoff(const struct s3_client *c, unsigned attempt)
{
	double d = 0.5, jitter;
	struct timespec ts;

	for (unsigned i = 0; i < attempt && d < c->backoff_max; i++)
		d *= 2;
	if (d > c->backoff_max)
		d = c->backoff_max;
	/* Full jitter between half and all of it: parallel parts that failed
	 * together do not come back together. */
	jitter = 0.5 + 0.5 * ((double)rand() / RAND_MAX);
	d *= jitter;
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static int attempt(struct s3_client *c, const char *method, const char *key, const char *query,
		   const struct http_header *extra, size_t nextra, const void *body, size_t len,
		   struct http_response *r)
{
	struct sigv4_header sh[MAX_HEADERS];
	struct http_header hh[MAX_HEADERS];
	struct strbuf path, target, auth;
	char host[HOST_MAX], hostport[HOST_MAX + 8], date[17], sha[65];
	struct sigv4_key k = {c->cred->access_key, c->cred->secret_key};
	struct sigv4_request req;
	size_t n = 0;
	int err;

	/* r is released by the caller whatever happens here. */
	memset(r, 0, sizeof(*r));
	strbuf_init(&r->body);
	if (nextra + 5 > MAX_HEADERS)
		return ferr(-EINVAL, "internal: too many S3 headers");
	host_of(c, host);
	if (!c->connected) {
		err = http_open(&c->conn, host, c->t.port, c->t.https, &c->http);
		if (err)
			return err;
		c->connected = true;
	}
	c->conn.body_max = c->body_max;
	if ((c->t.https && c->t.port != 443) || (!c->t.https && c->t.port != 80))
		snprintf(hostport, sizeof(hostport), "%s:%u", host, c->t.port);
	else
		snprintf(hostport, sizeof(hostport), "%s", host);
	sigv4_amz_date(time(NULL), date);
	/* Over TLS the payload is protected in transit (AEAD): no second pass
	 * over every part for SHA-256. */
	if (c->t.https)
		snprintf(sha, sizeof(sha), "UNSIGNED-PAYLOAD");
	else
		sigv4_sha256_hex(body ? body : "", len, sha);
	sh[n++] = (struct sigv4_header){"host", hostport};
	sh[n++] = (struct sigv4_header){"x-amz-date", date};
	sh[n++] = (struct sigv4_header){"x-amz-content-sha256", sha};
	if (c->cred->session_token[0])
		sh[n++] = (struct sigv4_header){"x-amz-security-token", c->cred->session_token};
	for (size_t i = 0; i < nextra; i++)
		sh[n++] = (struct sigv4_header){extra[i].name, extra[i].value};

	strbuf_init(&path);
	strbuf_init(&target);
	strbuf_init(&auth);
	err = build_path(c, key, &path);
	req = (struct sigv4_request){
		.method = method, .path = path.s, .query = query, .headers = sh, .nheaders = n,
		.payload_sha256 = sha, .amz_date = date, .region = c->region, .service = "s3",
	};
	if (!err)
		err = sigv4_authorization(&req, &k, &auth);
	if (!err)
		err = strbuf_addf(&target, "%s%s%s", path.s, query ? "?" : "", query ? query : "");
	if (!err) {
		size_t m = 0;

		for (size_t i = 1; i < n; i++) /* http_request sends Host itself */
			hh[m++] = (struct http_header){sh[i].name, sh[i].value};
		hh[m++] = (struct http_header){"Authorization", auth.s};
		if (c->turn)
			c->turn(c->turn_arg, true);
		err = http_send_head(&c->conn, method, target.s, hh, m, len);
		if (!err && len)
			err = http_send_body(&c->conn, body, len);
		if (c->turn)
			c->turn(c->turn_arg, false);
		if (!err)
			err = http_read_response(&c->conn, method, r);
	}
	if (auth.s)
		memset(auth.s, 0, auth.len);
	strbuf_release(&auth);
	strbuf_release(&target);
	strbuf_release(&path);
	if (err || !r->keep_alive) {
		http_close(&c->conn);
		c->connected = false;
	}
	return err;
}

/* Whether an answer refuses a request for want of a Content-MD5. */
static bool wants_md5(const struct http_response *r, const char *msg)
{
	return r->status == 400 && strstr(msg, "Content-MD5");
}

/* A request with retries; a 2xx answer returns 0, others an error that
 * says what the server said. what names the operation for messages. */
static int call(struct s3_client *c, const char *method, const char *key, const char *query,
		const struct http_header *extra, size_t nextra, const void *body, size_t len,
		struct http_response *r, const char *what)
{
	char code[96], msg[512];

	c->refused = false;
	for (unsigned a = 0;; a++) {
		int err = attempt(c, method, key, query, extra, nextra, body, len, r);
		bool retry = false;

		/* A certificate, a name or a proxy that says no will say it again. */
		if (err == -EPERM || err == -EINVAL || err == -EHOSTUNREACH || err == -EACCES) {
			http_response_release(r);
			return ferr_ctx(err, "s3://%s/%s: %s", c->t.bucket, c->t.key, what);
		}
		if (err)
			retry = true; /* the network: a new connection may do */
		else if (r->status >= 200 && r->status < 300)
			return 0;
		else if (r->status >= 500 || r->status == 429)
			retry = true;
		if (!retry || a >= c->retries) {
			if (err && a == 0)
				return ferr_ctx(err, "s3://%s/%s: %s", c->t.bucket, c->t.key, what);
			if (err)
				return ferr_ctx(err, "s3://%s/%s: %s (after %u attempts)", c->t.bucket,
						c->t.key, what, a + 1);
			s3_error_parse(r->body.s, r->body.len, code, sizeof(code), msg, sizeof(msg));
			err = r->status == 403 ? -EACCES : r->status == 404 ? -ENOENT : -EIO;
			c->refused = r->status >= 400 && r->status < 500 && r->status != 429;
			c->md5 |= wants_md5(r, msg);
			ferr(err, "s3://%s/%s: %s: HTTP %d %s%s%s%s%s", c->t.bucket, c->t.key, what,
			     r->status, r->reason, code[0] ? ": " : "", code, msg[0] ? ": " : "", msg);
			http_response_release(r);
			return err;
		}
		http_response_release(r);
		backoff(c, a);
	}
}

int s3_put_object(struct s3_client *c, const char *key, const void *data, size_t len,
		  const char *content_type)
{
	struct http_header h[2];
	struct http_response r;
	char hex[33], b64[25];
	size_t n = 0;
	int err;

	s3_md5(data, len, hex, b64);
	h[n++] = (struct http_header){"content-md5", b64};
	if (content_type)
		h[n++] = (struct http_header){"content-type", content_type};
	err = call(c, "PUT", key ? key : c->t.key, NULL, h, n, data, len, &r, "PUT");
	if (!err)
		http_response_release(&r);
	return err;
}

int s3_get_range(struct s3_client *c, uint64_t off, void *buf, size_t len)
{
	struct http_header h;
	struct http_response r;
	char range[64];
	int err;

	if (!len)
		return 0;
	snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)off,
		 (unsigned long long)(off + len - 1));
	h = (struct http_header){"range", range};
	c->body_max = len;
	err = call(c, "GET", c->t.key, NULL, &h, 1, NULL, 0, &r, "GET");
	c->body_max = 0;
	if (err)
		return err;
	/* 206 with the range; a server without ranges sends 200 and all. */
	if ((r.status == 206 || off == 0) && r.body.len == len)
		memcpy(buf, r.body.s, len);
	else
		err = ferr(-EPROTO, "s3://%s/%s: GET %s: HTTP %d with %zu bytes, not the %zu asked "
			   "for", c->t.bucket, c->t.key, range, r.status, r.body.len, len);
	http_response_release(&r);
	return err;
}

int s3_create_multipart(struct s3_client *c, char *upload_id, size_t len)
{
	struct http_response r;
	int err = call(c, "POST", c->t.key, "uploads", NULL, 0, NULL, 0, &r,
		       "create multipart upload");

	if (err)
		return err;
	if (!s3_xml_text(r.body.s ? r.body.s : "", r.body.len, "UploadId", upload_id, len) ||
	    !upload_id[0])
		err = ferr(-EPROTO, "s3://%s/%s: the server gave no UploadId", c->t.bucket,
			   c->t.key);
	http_response_release(&r);
	return err;
}

static int upload_query(struct strbuf *q, const char *upload_id, const char *prefix)
{
	int err = strbuf_add(q, prefix, strlen(prefix));

	if (!err)
		err = strbuf_add(q, "uploadId=", 9);
	if (!err)
		err = sigv4_uri_encode(upload_id, true, q);
	return err;
}

int s3_upload_part(struct s3_client *c, const char *upload_id, unsigned part, const void *data,
		   size_t len, char *etag, size_t etag_len)
{
	struct http_header h[1];
	struct http_response r;
	struct strbuf q;
	char what[48], hex[33], b64[25];
	bool asked = c->md5;
	int err;

	strbuf_init(&q);
	err = strbuf_addf(&q, "partNumber=%u&", part);
	if (!err)
		err = upload_query(&q, upload_id, "");
	snprintf(what, sizeof(what), "upload part %u", part);
	while (!err) {
		if (c->md5) {
			s3_md5(data, len, hex, b64);
			h[0] = (struct http_header){"content-md5", b64};
		}
		err = call(c, "PUT", c->t.key, q.s, h, c->md5 ? 1 : 0, data, len, &r, what);
		if (!err || asked || !c->md5)
			break;
		asked = true; /* refused for want of a Content-MD5: once more with one */
		err = 0;
	}
	strbuf_release(&q);
	if (err)
		return err;
	snprintf(etag, etag_len, "%s", r.etag);
	http_response_release(&r);
	if (!etag[0])
		return ferr(-EPROTO, "s3://%s/%s: part %u: the server gave no ETag", c->t.bucket,
			    c->t.key, part);
	return 0;
}

int s3_complete_multipart(struct s3_client *c, const char *upload_id, const struct s3_part *parts,
			  size_t n)
{
	struct strbuf body, q;
	struct http_response r;
	char code[96], msg[256];
	int err;

	strbuf_init(&body);
	strbuf_init(&q);
	err = strbuf_add(&body, "<CompleteMultipartUpload>", 25);
	for (size_t i = 0; i < n && !err; i++)
		err = strbuf_addf(&body, "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>",
				  parts[i].number, parts[i].etag);
	if (!err)
		err = strbuf_add(&body, "</CompleteMultipartUpload>", 26);
	if (!err)
		err = upload_query(&q, upload_id, "");
	if (!err)
		err = call(c, "POST", c->t.key, q.s, NULL, 0, body.s, body.len, &r,
			   "complete multipart upload");
	strbuf_release(&body);
	strbuf_release(&q);
	if (err)
		return err;
	/* S3 may answer 200 and still report an error in the body. */
	s3_error_parse(r.body.s, r.body.len, code, sizeof(code), msg, sizeof(msg));
	http_response_release(&r);
	if (code[0])
		return ferr(-EIO, "s3://%s/%s: complete multipart upload: %s: %s", c->t.bucket,
			    c->t.key, code, msg);
	return 0;
}

int s3_abort_multipart(struct s3_client *c, const char *upload_id)
{
	struct http_response r;
	struct strbuf q;
	int err;

	strbuf_init(&q);
	err = upload_query(&q, upload_id, "");
	if (!err)
		err = call(c, "DELETE", c->t.key, q.s, NULL, 0, NULL, 0, &r, "abort multipart upload");
	strbuf_release(&q);
	if (!err)
		http_response_release(&r);
	return err;
}

void s3_uploads_newest(const char *body, size_t blen, const char *key, char *upload_id,
		       size_t len)
{
	const char *p = body ? body : "", *end = p + (body ? blen : 0);
	char newest[40] = "";

	upload_id[0] = '\0';
	while (p < end) {
		char ukey[1024], id[512], when[40], block[4096];
		const char *next = s3_xml_text(p, (size_t)(end - p), "Upload", block, sizeof(block));

		if (!next)
			break;
		s3_xml_text(block, strlen(block), "Key", ukey, sizeof(ukey));
		s3_xml_text(block, strlen(block), "UploadId", id, sizeof(id));
		s3_xml_text(block, strlen(block), "Initiated", when, sizeof(when));
		/* ISO 8601 times in UTC sort as strings. */
		if (!strcmp(ukey, key) && id[0] && strcmp(when, newest) >= 0) {
			snprintf(newest, sizeof(newest), "%s", when);
			snprintf(upload_id, len, "%s", id);
		}
		p = next;
	}
}

int s3_find_upload(struct s3_client *c, char *upload_id, size_t len)
{
	struct http_response r;
	struct strbuf q;
	int err;

	strbuf_init(&q);
	err = strbuf_add(&q, "prefix=", 7);
	if (!err)
		err = sigv4_uri_encode(c->t.key, true, &q);
	if (!err)
		err = strbuf_add(&q, "&uploads", 8);
	if (!err)
		err = call(c, "GET", NULL, q.s, NULL, 0, NULL, 0, &r, "list multipart uploads");
	strbuf_release(&q);
	if (err)
		return err;
	s3_uploads_newest(r.body.s, r.body.len, c->t.key, upload_id, len);
	http_response_release(&r);
	return upload_id[0] ? 0 : -ENOENT;
}

/* A part number as S3 gives it: 1..S3_MAX_PARTS in decimal, else 0. */
static unsigned part_number(const char *s)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)*s) || strlen(s) > 5)
		return 0;
	v = strtoul(s, &end, 10);
	return *end || v > S3_MAX_PARTS ? 0 : (unsigned)v;
}

int s3_parts_page(const char *body, size_t len, struct s3_part **parts, size_t *n, size_t *cap,
		  bool *truncated, char *marker, size_t marker_len)
{
	const char *p = body ? body : "", *end = p + (body ? len : 0);
	char trunc[8];
	int err = 0;

	while (p < end && !err) {
		char block[1024], num[16], size[24];
		const char *next = s3_xml_text(p, (size_t)(end - p), "Part", block, sizeof(block));

		if (!next)
			break;
		if (*n == *cap) {
			size_t more = *cap ? *cap * 2 : 64;
			struct s3_part *v = realloc(*parts, more * sizeof(*v));

			if (!v) {
				err = ferr(-ENOMEM, "out of memory");
				break;
			}
			*parts = v;
			*cap = more;
		}
		s3_xml_text(block, strlen(block), "PartNumber", num, sizeof(num));
		s3_xml_text(block, strlen(block), "ETag", (*parts)[*n].etag,
			    sizeof((*parts)[*n].etag));
		s3_xml_text(block, strlen(block), "Size", size, sizeof(size));
		(*parts)[*n].number = part_number(num);
		(*parts)[*n].size = strtoull(size, NULL, 10);
		if ((*parts)[*n].number)
			(*n)++;
		p = next;
		/* An upload has at most S3_MAX_PARTS: a longer list is not S3's. */
		if (*n > S3_MAX_PARTS)
			err = ferr(-EPROTO, "list parts: more than %u parts listed", S3_MAX_PARTS);
	}
	s3_xml_text(body ? body : "", body ? len : 0, "IsTruncated", trunc, sizeof(trunc));
	s3_xml_text(body ? body : "", body ? len : 0, "NextPartNumberMarker", marker, marker_len);
	*truncated = !strcmp(trunc, "true");
	return err;
}

int s3_list_parts(struct s3_client *c, const char *upload_id, struct s3_part **parts, size_t *n)
{
	unsigned marker = 0;
	size_t cap = 0;
	int err = 0;

	*parts = NULL;
	*n = 0;
	for (;;) {
		struct http_response r;
		struct strbuf q;
		char nextm[16];
		bool truncated;

		strbuf_init(&q);
		err = upload_query(&q, upload_id, "");
		if (!err && marker)
			err = strbuf_addf(&q, "&part-number-marker=%u", marker);
		if (!err)
			err = call(c, "GET", c->t.key, q.s, NULL, 0, NULL, 0, &r, "list parts");
		strbuf_release(&q);
		if (err)
			break;
		err = s3_parts_page(r.body.s, r.body.len, parts, n, &cap, &truncated, nextm,
				    sizeof(nextm));
		http_response_release(&r);
		if (err || !truncated)
			break;
		/* Each page moves the marker on, within 1..S3_MAX_PARTS. */
		if (part_number(nextm) <= marker) {
			text_printable(nextm);
			err = ferr(-EPROTO, "list parts: NextPartNumberMarker '%s' does not move on "
				   "from %u within 1..%u", nextm, marker, S3_MAX_PARTS);
			break;
		}
		marker = part_number(nextm);
	}
	if (err) {
		free(*parts);
		*parts = NULL;
		*n = 0;
	}
	return err;
}
