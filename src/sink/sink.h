/* Where the image goes: a local file (written to a temporary name and
 * renamed when complete), a FIFO, standard output, an S3 multipart upload
 * (s3://BUCKET/KEY) or a presigned PUT URL (https://...). Writers see one
 * sequential stream either way. */
#ifndef FERRY_SINK_H
#define FERRY_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sink/http.h"

struct progress;
struct progress_view;
struct remote;

/* What the remote targets need; the local ones use only overwrite. */
struct sink_opts {
	bool overwrite;      /* replace an existing file */
	/* Earlier bytes will be rewritten (sink_patch): the SHA-256 is made at
	 * the finish, by reading the file or the object back. A regular file
	 * takes them anywhere; an s3:// upload of open length within its first
	 * head bytes, which it holds back as part 1 and sends last. */
	bool patch;
	uint64_t head;
	uint64_t length;     /* the exact bytes that will be written (0: unknown) */
	/* With length 0, at most this many (an image written in one pass): an
	 * s3:// upload cuts its parts by it. */
	uint64_t length_max;
	const char *endpoint, *region, *cred_file, *profile;
	bool virtual_host;
	uint64_t part_size;  /* at least this per part; 0: 16 MiB */
	unsigned parallel;   /* parts uploading at once; 0: 4 */
	uint64_t rate;       /* bytes per second over all connections; 0: no limit */
	int retries;         /* attempts after the first on network errors, 5xx, 429; -1: 8 */
	unsigned timeout;    /* seconds a server may stay silent (http_opts); 0: 60 */
	const char *ca;
	bool insecure;
	char resolve_host[256], resolve_ip[64]; /* --resolve HOST:IP */
	const char *proxy;   /* http://[USER:PASS@]HOST[:PORT]; NULL: from the environment */
	bool no_proxy;       /* --proxy "": ignore https_proxy */
	struct progress *prog; /* advanced as bytes are stored remotely */
	/* Shows the reading back of an upload made out of order (NULL: none). */
	const struct progress_view *view;
	/* Told the temporary file's path as it is created, with SIGINT,
	 * SIGTERM and SIGHUP held back until it returns (so a handler that
	 * removes the file never misses it). */
	void (*made)(void *ctx, const char *tmp);
	void *made_ctx;
	/* Asked before each write: true ends the stream with -ECANCELED (an
	 * upload is then kept, to resume). NULL: never. */
	bool (*cancelled)(void *ctx);
	void *cancel_ctx;
};

/* Said on every run with --insecure. */
#define SINK_INSECURE_WARNING                                                          \
	"--insecure: the server's certificate is not checked; anyone on the path can read " \
	"and change the upload"

/* The defaults the options start from. */
void sink_opts_init(struct sink_opts *o);
/* Sets an upload option by its long name ("endpoint", "rate", "resolve",
 * "virtual-host" (value ignored)...); value stays referenced. 1: set; 0:
 * not an upload option; -EINVAL with a message naming the option. */
int sink_opts_set(struct sink_opts *o, const char *name, const char *value);
/* What only makes sense together with the target: -EINVAL and why. */
int sink_opts_check(const char *target, const struct sink_opts *o);

/* After a remote sink finished or failed. */
struct sink_stats {
	uint64_t parts, part_size, parts_reused;
	bool resumed; /* an unfinished upload of the key was taken up */
	bool kept;    /* after a failure: the unfinished upload stays, to resume */
	char sha256[65]; /* of the whole stream, lower-case hex ("" if not hashed) */
};

struct sink {
	char *path; /* the target as given (file:// removed) */
	char *tmp;  /* the temporary file, renamed to path on success */
	int fd;
	bool seekable; /* a regular file: skipped ranges become holes */
	bool rehash;   /* earlier bytes were rewritten: hashed at the finish */
	uint64_t pos;  /* bytes of the stream so far */
	uint64_t flush_started, flush_done; /* write-behind of a regular file */
	struct hashq *hq;  /* a regular file's SHA-256 (stats.sha256), else NULL */
	struct remote *up; /* s3:// or https://, else NULL */
	bool (*cancelled)(void *ctx); /* sink_opts' */
	void *cancel_ctx;
	struct sink_stats stats;
};

/* Whether target names a remote sink (s3:// or https://). */
bool sink_is_remote(const char *target);
/* Tries an s3:// target before any work, with one signed request (the
 * key's unfinished uploads): a name that does not resolve, a connection
 * refused, a certificate, wrong credentials or a missing bucket are said
 * now, each by what failed. Other targets pass (a presigned URL is only
 * tried by its PUT). */
int sink_probe(const char *target, const struct sink_opts *o);
/* What can be known of a target before any work, without writing or
 * connecting: for a local path, that its directory is there and can be
 * written and that no file is in the way (unless o->overwrite); for s3://,
 * that the target parses and the credentials load; the scheme of a URL. */
int sink_preflight(const char *target, const struct sink_opts *o);
/* An existing regular file is refused unless o->overwrite. */
int sink_open(struct sink *s, const char *target, const struct sink_opts *o);
int sink_write(struct sink *s, const void *buf, size_t len);
/* Advances by len zero bytes. */
int sink_skip(struct sink *s, uint64_t len);
/* Whether earlier bytes of the target can be rewritten with sink_patch: a
 * regular file (new or to replace), or an s3:// upload (within the head it
 * is told of). False for a presigned URL, "-", a FIFO or a device, and for
 * a local target that does not pass sink_preflight. */
bool sink_can_patch(const char *target, const struct sink_opts *o);
/* Rewrites len bytes at off, before the stream's end (a regular file, or
 * an s3:// upload's held-back head). The SHA-256 is then made by reading
 * the file or object back at the finish, not beside the writes. */
int sink_patch(struct sink *s, uint64_t off, const void *buf, size_t len);
/* Flushes to stable storage and moves the file into place; completes an
 * upload. On failure everything is undone as by sink_abort. */
int sink_finish(struct sink *s);
/* Removes whatever was written; an upload the server refused is aborted,
 * one the network interrupted is kept to resume (stats.kept). Safe after
 * sink_finish (does nothing). */
void sink_abort(struct sink *s);
/* The temporary file to remove if a signal ends the process, or NULL. */
const char *sink_partial_path(const struct sink *s);
/* After sink_finish of an s3:// target: stores doc as KEY+suffix (the
 * manifest); of a regular file: writes PATH+suffix beside it (replacing
 * one there), synced and renamed into place whole. -ENOTSUP for the other
 * targets (standard output, a FIFO, a presigned URL). */
int sink_put_beside(struct sink *s, const char *suffix, const void *doc, size_t len,
		    const char *content_type);

/* Releases a sink after sink_finish (and sink_put_beside). */
void sink_close(struct sink *s);

/* The HTTP options o asks for, for a connection to host (proxy from o or
 * the environment, --resolve, CA, rate). proxy receives the parsed proxy. */
int sink_http_opts(const struct sink_opts *o, const char *host, bool tls,
		   struct http_opts *http, struct http_proxy *proxy);

#endif
