/* What an S3 upload needs before the first byte: the target (s3://BUCKET/KEY
 * and the endpoint), the credentials, the part plan, and how to read the
 * server's error replies. */
#ifndef FERRY_S3CONF_H
#define FERRY_S3CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* S3's limits: parts of 5 MiB to 5 GiB (the last may be smaller), at most
 * 10,000 parts, objects up to 5 TiB. */
#define S3_MIN_PART ((uint64_t)5 << 20)
#define S3_MAX_PART ((uint64_t)5 << 30)
#define S3_MAX_PARTS 10000u
#define S3_MAX_OBJECT ((uint64_t)5 << 40)

struct s3_target {
	char bucket[64];   /* 3-63 characters, as S3 names buckets */
	char key[1024];    /* the object key, without a leading '/' */
	bool https;
	char host[256];    /* the endpoint's host name or IP address */
	unsigned port;
	char base[256];    /* a path prefix of the endpoint, "" usually */
	bool virtual_host; /* BUCKET.host/KEY instead of host/BUCKET/KEY */
};

/* Parses "s3://BUCKET/KEY" and the endpoint URL ("https://host[:port][/path]").
 * Errors name the part that is wrong. */
int s3_target_parse(struct s3_target *t, const char *target, const char *endpoint,
		    bool virtual_host);

struct s3_credentials {
	char access_key[128];
	char secret_key[128];
	char session_token[2048]; /* empty if none */
};

/* From FILE (the AWS shared-credentials format: [profile] sections of
 * aws_access_key_id, aws_secret_access_key, aws_session_token) when file is
 * not NULL, else from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN. Messages never contain a secret. */
int s3_credentials_load(struct s3_credentials *c, const char *file, const char *profile);
/* Overwrites the secrets in memory. */
void s3_credentials_clear(struct s3_credentials *c);

/* The part size for an object of size bytes (0: unknown, then the largest
 * object S3 takes): at least want (and S3_MIN_PART), grown in whole MiB so
 * that the object fits in S3_MAX_PARTS parts. -EFBIG past S3_MAX_OBJECT. */
int s3_part_size(uint64_t size, uint64_t want, uint64_t *part);

/* The <Code> and <Message> of an S3 error document, unescaped; empty
 * strings when the body is not one. */
void s3_error_parse(const char *body, size_t len, char *code, size_t code_len, char *msg,
		    size_t msg_len);

/* The text of the first <tag>...</tag> in body, with the five XML entities
 * undone, into out (truncated to olen); returns where the element ends, or
 * NULL (and "") when there is none. */
const char *s3_xml_text(const char *body, size_t len, const char *tag, char *out, size_t olen);

#endif
