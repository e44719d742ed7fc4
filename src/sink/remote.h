/* What the remote sinks (s3sink.c, putsink.c) give the generic sink
 * functions of file.c: one stream in, a finished object out. */
#ifndef FERRY_REMOTE_H
#define FERRY_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "sink/sink.h"

struct remote {
	int (*write)(struct remote *r, const void *buf, size_t len);
	/* sink_patch; NULL: the sink cannot. */
	int (*patch)(struct remote *r, uint64_t off, const void *buf, size_t len);
	int (*finish)(struct remote *r, struct sink_stats *st);
	/* Stops everything; fills st->kept. Frees nothing. */
	void (*abort)(struct remote *r, struct sink_stats *st);
	int (*put_beside)(struct remote *r, const char *suffix, const void *doc, size_t len,
			  const char *content_type);
	void (*free)(struct remote *r);
};

/* The remote sinks (sink/s3sink.c, sink/putsink.c). */
int s3sink_open(struct sink *s, const char *target, const struct sink_opts *o);
int putsink_open(struct sink *s, const char *url, const struct sink_opts *o);
/* sink_probe of an s3:// target. */
int s3sink_probe(const char *target, const struct sink_opts *o);
/* The target parses and the credentials load: no connection is made. */
int s3sink_preflight(const char *target, const struct sink_opts *o);

#endif
