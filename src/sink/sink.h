/* Where the image goes: a local file (written to a temporary name and
 * renamed when complete), a FIFO, or standard output. */
#ifndef FERRY_SINK_H
#define FERRY_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sink {
	char *path; /* the target as given (file:// removed) */
	char *tmp;  /* the temporary file, renamed to path on success */
	int fd;
	bool seekable; /* a regular file: skipped ranges become holes */
	uint64_t pos;  /* bytes of the stream so far */
	uint64_t flush_started, flush_done; /* write-behind of a regular file */
};

/* An existing regular file is refused unless force. */
int sink_open(struct sink *s, const char *target, bool force);
int sink_write(struct sink *s, const void *buf, size_t len);
/* Advances by len zero bytes. */
int sink_skip(struct sink *s, uint64_t len);
/* Flushes to stable storage and moves the file into place. */
int sink_finish(struct sink *s);
/* Removes whatever was written. Safe after sink_finish (does nothing). */
void sink_abort(struct sink *s);
/* The temporary file to remove if a signal ends the process, or NULL. */
const char *sink_partial_path(const struct sink *s);

#endif
