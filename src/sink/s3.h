/* An S3 client for uploads: single PUT, multipart (create, part, complete,
 * abort), and the listings that resume an upload (uploads, parts). Every
 * request is signed with SigV4; network errors, 5xx and 429 are retried
 * with exponential backoff and jitter on a fresh connection. */
#ifndef FERRY_S3_H
#define FERRY_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sink/http.h"
#include "sink/s3conf.h"

struct s3_client {
	struct s3_target t;
	const struct s3_credentials *cred;
	struct http_opts http;
	char region[64];
	unsigned retries;      /* attempts after the first; default 8 */
	double backoff_max;    /* seconds; default 30 */
	struct http_conn conn;
	bool connected;
	bool refused; /* the last failure was the server's 4xx answer */
	/* Parts go with a Content-MD5: the server asked for one (a bucket
	 * with Object Lock). Otherwise TLS, or over http the signed SHA-256,
	 * protects them, and MD5 is not worth its CPU. */
	bool md5;
	/* Called with true before a request goes out and with false once its
	 * body has: a part waits there for its turn to send (s3sink.c). NULL:
	 * no turns. */
	void (*turn)(void *arg, bool take);
	void *turn_arg;
	/* The longest answer body taken (s3_get_range sets it); 0: http.h's. */
	size_t body_max;
};

/* t and cred must outlive the client. region NULL: "us-east-1". */
void s3_client_init(struct s3_client *c, const struct s3_target *t,
		    const struct s3_credentials *cred, const struct http_opts *http,
		    const char *region);
void s3_client_release(struct s3_client *c);

/* PUT the whole object key (NULL: the target's key). */
int s3_put_object(struct s3_client *c, const char *key, const void *data, size_t len,
		  const char *content_type);

/* GET len bytes of the target's object from off into buf (a Range
 * request): exactly len must come back. */
int s3_get_range(struct s3_client *c, uint64_t off, void *buf, size_t len);

int s3_create_multipart(struct s3_client *c, char *upload_id, size_t len);
/* Uploads part number part (1-based), with a Content-MD5 if the server
 * wants one (it is then asked once more with it); etag receives the
 * server's ETag (quoted, as sent). */
int s3_upload_part(struct s3_client *c, const char *upload_id, unsigned part, const void *data,
		   size_t len, char *etag, size_t etag_len);

struct s3_part {
	unsigned number;
	char etag[72];
	uint64_t size;
};

int s3_complete_multipart(struct s3_client *c, const char *upload_id, const struct s3_part *parts,
			  size_t n);
int s3_abort_multipart(struct s3_client *c, const char *upload_id);

/* The newest unfinished multipart upload of the target's key, or -ENOENT. */
int s3_find_upload(struct s3_client *c, char *upload_id, size_t len);
/* The parts an unfinished upload holds, in number order (*parts freed by
 * the caller). */
int s3_list_parts(struct s3_client *c, const char *upload_id, struct s3_part **parts, size_t *n);

/* The bodies of the answers the two calls above read, parsed on their own
 * (as the fuzz targets do, tests/fuzz); body may be NULL (no body).
 * s3_uploads_newest: the UploadId of the newest upload of key that a
 * ListMultipartUploads answer lists, into upload_id; "" when none. */
void s3_uploads_newest(const char *body, size_t blen, const char *key, char *upload_id,
		       size_t len);
/* s3_parts_page: one page of a ListParts answer: its parts appended to
 * *parts (*n of them in room for *cap, grown by realloc; numbers outside
 * 1..S3_MAX_PARTS skipped), whether it says IsTruncated, and its
 * NextPartNumberMarker as written (into marker). -EPROTO past
 * S3_MAX_PARTS parts. */
int s3_parts_page(const char *body, size_t len, struct s3_part **parts, size_t *n, size_t *cap,
		  bool *truncated, char *marker, size_t marker_len);

/* Lower-case hex MD5 and its base64 (for Content-MD5) of data. */
void s3_md5(const void *data, size_t len, char hex[33], char b64[25]);

#endif
