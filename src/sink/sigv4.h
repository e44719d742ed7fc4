/* AWS Signature Version 4, header authentication, as S3 and the clouds'
 * S3-compatible stores (COS, OSS, OBS, radosgw) check it. */
#ifndef FERRY_SIGV4_H
#define FERRY_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/strbuf.h"

#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct sigv4_header {
	const char *name, *value;
};

struct sigv4_request {
	const char *method;         /* "PUT" */
	const char *path;           /* as sent: already encoded with sigv4_uri_encode */
	const char *query;          /* as sent ("partNumber=2&uploadId=x"), or NULL */
	const struct sigv4_header *headers; /* every header to sign, host included */
	size_t nheaders;
	const char *payload_sha256; /* lower-case hex, or "UNSIGNED-PAYLOAD" */
	const char *amz_date;       /* "20130524T000000Z", also sent as x-amz-date */
	const char *region, *service;
};

struct sigv4_key {
	const char *access_key, *secret_key;
};

/* The Authorization header's value for r. */
int sigv4_authorization(const struct sigv4_request *r, const struct sigv4_key *k,
			struct strbuf *out);

/* The canonical request (what is hashed into the string to sign); for
 * tests and for showing a server's SignatureDoesNotMatch next to ours. */
int sigv4_canonical_request(const struct sigv4_request *r, struct strbuf *out);

/* Appends s URI-encoded the SigV4 way: unreserved characters (A-Z a-z 0-9
 * - . _ ~) as they are, every other byte as %XX; '/' kept unless
 * encode_slash (object keys in paths keep it, query values do not). */
int sigv4_uri_encode(const char *s, bool encode_slash, struct strbuf *out);

/* Lower-case hex SHA-256 of data (65 bytes with the NUL). */
void sigv4_sha256_hex(const void *data, size_t len, char out[65]);

/* "YYYYMMDDTHHMMSSZ" for t, in UTC (17 bytes with the NUL). */
void sigv4_amz_date(time_t t, char out[17]);

#endif
