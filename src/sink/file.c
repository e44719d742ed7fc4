/* Local sinks, and the generic sink calls that hand remote targets to
 * their own code (see sink.h). Nothing half-written is left: a regular
 * file appears under its name only once it is complete and synced. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sink/remote.h"
#include "sink/sink.h"
#include "util/err.h"
#include "util/hashq.h"

#define ZERO_CHUNK (1u << 20)
/* Write-behind window: a regular file's pages are sent to the disk in
 * steps this large while the capture goes on, and the step before is
 * waited for. The disk writes while Ferry reads, dirty memory stays
 * bounded, and the final fsync has little left to do. */
#define FLUSH_STEP (32ull << 20)

static const uint8_t zeros[ZERO_CHUNK];

static int open_stream(struct sink *s, int fd)
{
	s->fd = fd;
	s->seekable = false;
	return 0;
}

bool sink_is_remote(const char *target)
{
	return !strncmp(target, "s3://", 5) || !strncmp(target, "https://", 8);
}

int sink_http_opts(const struct sink_opts *o, const char *host, bool tls,
		   struct http_opts *http, struct http_proxy *proxy)
{
	const char *px = o->proxy;

	memset(http, 0, sizeof(*http));
	http->insecure = o->insecure;
	http->timeout_ms = o->timeout * 1000;
	if (o->ca && !strncmp(o->ca, "sha256:", 7)) {
		int err = http_pin_parse(o->ca, http->pin);

		if (err)
			return err;
		http->pinned = true;
	} else {
		http->ca_file = o->ca;
	}
	if (o->resolve_host[0]) {
		size_t hl = strlen(host), rl = strlen(o->resolve_host);

		/* BUCKET.host is reached where host is. */
		if (strcasecmp(o->resolve_host, host) &&
		    (hl <= rl || host[hl - rl - 1] != '.' || strcasecmp(host + hl - rl, o->resolve_host)))
			return ferr(-EINVAL, "--resolve %s: the target's host is %s", o->resolve_host,
				    host);
		http->connect_ip = o->resolve_ip;
	}
	if (!px && !o->no_proxy)
		px = http_proxy_env(tls, host);
	if (px && *px) {
		int err = http_proxy_parse(proxy, px);

		if (err)
			return err;
		http->proxy = proxy;
	}
	return 0;
}

/* A local target: "-", a FIFO, character device or socket to write into
 * (*stream), a regular file to replace (only with o->overwrite), or a new file
 * in a directory that is there and can be written. */
static int local_check(const char *target, const struct sink_opts *o, bool *stream)
{
	char dir[4096];
	const char *slash;
	struct stat st;

	*stream = false;
	if (!*target)
		return ferr(-EINVAL, "empty target path");
	if (!strcmp(target, "-")) {
		*stream = true;
		return 0;
	}
	if (stat(target, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return ferr(-EISDIR, "target %s is a directory", target);
		if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode)) {
			*stream = true;
			return 0;
		}
		/* Replaced, it would become a file in /dev's memory. */
		if (S_ISBLK(st.st_mode))
			return ferr(-EINVAL, "target %s is a block device: Ferry writes an image "
				    "file or an upload, not onto a disk", target);
		if (!o->overwrite)
			return ferr(-EEXIST, "target %s already exists (use --overwrite to replace it)",
				    target);
	} else if (errno != ENOENT) {
		return ferr_errno(-errno, "target %s", target);
	}
	/* The file is made beside the target and renamed: its directory. */
	slash = strrchr(target, '/');
	if ((size_t)snprintf(dir, sizeof(dir), "%.*s",
			     slash ? (int)(slash == target ? 1 : slash - target) : 1,
			     slash ? target : ".") >= sizeof(dir))
		return ferr(-ENAMETOOLONG, "target %s: path too long", target);
	if (stat(dir, &st))
		return ferr_errno(-errno, "target directory %s", dir);
	if (!S_ISDIR(st.st_mode))
		return ferr(-ENOTDIR, "target directory %s is not a directory", dir);
	if (access(dir, W_OK))
		return ferr_errno(-errno, "target directory %s cannot be written", dir);
	return 0;
}

/* sink_preflight, also saying whether a local target is a stream. */
static int preflight(const char *target, const struct sink_opts *o, bool *stream)
{
	*stream = false;
	if (!strncmp(target, "s3://", 5))
		return s3sink_preflight(target, o);
	if (!strncmp(target, "http://", 7))
		return ferr(-EINVAL, "target %.7s...: plain HTTP would send the image and its "
			    "signature in the clear; use an https:// URL", target);
	if (!strncmp(target, "https://", 8))
		return 0;
	if (strstr(target, "://") && strncmp(target, "file://", 7))
		return ferr(-EINVAL, "target %s: unknown scheme (file://, s3:// and https:// "
			    "are known)", target);
	return local_check(strncmp(target, "file://", 7) ? target : target + 7, o, stream);
}

int sink_preflight(const char *target, const struct sink_opts *o)
{
	bool stream;

	return preflight(target, o, &stream);
}

bool sink_can_patch(const char *target, const struct sink_opts *o)
{
	bool stream;

	if (!strncmp(target, "s3://", 5))
		return true;
	if (sink_is_remote(target) || preflight(target, o, &stream))
		return false;
	return !stream;
}

/* The mkostemp template of a file written whole beside path, then renamed
 * onto it; NULL when out of memory. */
static char *partial_template(const char *path)
{
	char *t;

	return asprintf(&t, "%s.ferry-partial-XXXXXX", path) < 0 ? NULL : t;
}

static int open_target(struct sink *s, const char *target, const struct sink_opts *o)
{
	bool stream;
	int fd, err;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (!strncmp(target, "s3://", 5))
		return s3sink_open(s, target, o);
	if (!strncmp(target, "https://", 8))
		return putsink_open(s, target, o);
	if ((err = preflight(target, o, &stream)))
		return err;
	if (strncmp(target, "file://", 7) == 0)
		target += 7;
	s->path = strdup(target);
	if (!s->path)
		return ferr(-ENOMEM, "out of memory");
	if (strcmp(target, "-") == 0)
		return open_stream(s, dup(STDOUT_FILENO));
	if (stream) {
		fd = open(target, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return ferr_errno(-errno, "cannot open target %s", target);
		return open_stream(s, fd);
	}
	s->tmp = partial_template(target);
	if (!s->tmp)
		return ferr(-ENOMEM, "out of memory");
	sigset_t ends, was;
	sigemptyset(&ends);
	sigaddset(&ends, SIGINT);
	sigaddset(&ends, SIGTERM);
	sigaddset(&ends, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &ends, &was);
	fd = mkostemp(s->tmp, O_CLOEXEC);
	if (fd >= 0 && o->made)
		o->made(o->made_ctx, s->tmp);
	pthread_sigmask(SIG_SETMASK, &was, NULL);
	if (fd < 0) {
		err = ferr_errno(-errno, "cannot create %s", target);
		free(s->tmp);
		s->tmp = NULL;
		return err;
	}
	s->fd = fd;
	s->seekable = true;
	/* a file gets its SHA-256, for its manifest, hashed beside the writes
	 * or, when they will not be in order, read back at the finish */
	s->rehash = o->patch;
	return s->rehash ? 0 : hashq_start(&s->hq);
}

static int write_error(struct sink *s, int e)
{
	if (e == ENOSPC || e == EDQUOT)
		return ferr(-e, "no space left for %s after %llu bytes", s->path,
			    (unsigned long long)s->pos);
	if (e == EPIPE)
		return ferr(-e, "the reader of %s went away after %llu bytes", s->path,
			    (unsigned long long)s->pos);
	return ferr_errno(-e, "cannot write %s at %llu", s->path, (unsigned long long)s->pos);
}

static void write_behind(struct sink *s)
{
	uint64_t start = s->flush_started;

	if (!s->seekable || s->pos - start < FLUSH_STEP)
		return;
	/* Errors surface at the final fsync; these calls only pace the I/O. */
	sync_file_range(s->fd, (off_t)start, (off_t)(s->pos - start), SYNC_FILE_RANGE_WRITE);
	if (start > s->flush_done)
		sync_file_range(s->fd, (off_t)s->flush_done, (off_t)(start - s->flush_done),
				SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
					SYNC_FILE_RANGE_WAIT_AFTER);
	s->flush_done = start;
	s->flush_started = s->pos;
}

int sink_open(struct sink *s, const char *target, const struct sink_opts *o)
{
	int err = open_target(s, target, o);

	s->cancelled = o->cancelled;
	s->cancel_ctx = o->cancel_ctx;
	return err;
}

int sink_probe(const char *target, const struct sink_opts *o)
{
	return strncmp(target, "s3://", 5) ? 0 : s3sink_probe(target, o);
}

static int cancelled(const struct sink *s)
{
	return s->cancelled && s->cancelled(s->cancel_ctx)
		       ? ferr(-ECANCELED, "cancelled by the operator")
		       : 0;
}

int sink_write(struct sink *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int err = cancelled(s);

	if (err)
		return err;
	if (s->up) {
		err = s->up->write(s->up, buf, len);

		if (!err)
			s->pos += len;
		return err;
	}
	while (len > 0) {
		ssize_t n = write(s->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return write_error(s, errno);
		}
		if (s->hq)
			hashq_add(s->hq, p, (size_t)n);
		p += n;
		len -= (size_t)n;
		s->pos += (uint64_t)n;
	}
	write_behind(s);
	return 0;
}

int sink_skip(struct sink *s, uint64_t len)
{
	if (s->seekable) {
		int err = cancelled(s);

		if (err)
			return err;
		if (lseek(s->fd, (off_t)len, SEEK_CUR) < 0)
			return ferr_errno(-errno, "cannot seek in %s", s->path);
		if (s->hq)
			hashq_zeros(s->hq, len);
		s->pos += len;
		return 0;
	}
	while (len > 0) {
		size_t n = len < ZERO_CHUNK ? (size_t)len : ZERO_CHUNK;
		int err = sink_write(s, zeros, n);
		if (err)
			return err;
		len -= n;
	}
	return 0;
}

int sink_patch(struct sink *s, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (s->up && s->up->patch)
		return s->up->patch(s->up, off, buf, len);
	if (s->up || !s->seekable || off > s->pos || len > s->pos - off)
		return ferr(-EINVAL, "internal: %s cannot take %zu bytes at %llu again", s->path,
			    len, (unsigned long long)off);
	/* The stream's hash has gone past these bytes: the file is hashed
	 * whole once it is complete. */
	hashq_abort(s->hq);
	s->hq = NULL;
	s->rehash = true;
	while (len > 0) {
		ssize_t n = pwrite(s->fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return write_error(s, errno);
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* The SHA-256 of a file whose bytes were not written in order: read
 * back, its holes counted as zeros without reading them. */
static int rehash(struct sink *s)
{
	enum { STEP = 4u << 20 };
	uint8_t *buf = malloc(STEP);
	uint64_t off = 0;
	int err = buf ? hashq_start(&s->hq) : ferr(-ENOMEM, "out of memory");

	while (!err && off < s->pos) {
		off_t data = lseek(s->fd, (off_t)off, SEEK_DATA), hole;

		if (data < 0 || (uint64_t)data > s->pos)
			data = (off_t)s->pos; /* ENXIO: only a hole is left */
		if ((uint64_t)data > off) {
			err = hashq_zeros(s->hq, (uint64_t)data - off);
			off = (uint64_t)data;
			continue;
		}
		hole = lseek(s->fd, (off_t)off, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > s->pos)
			hole = (off_t)s->pos;
		while (!err && off < (uint64_t)hole) {
			size_t want = (uint64_t)hole - off < STEP ? (size_t)((uint64_t)hole - off) : STEP;
			ssize_t n = pread(s->fd, buf, want, (off_t)off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				err = n < 0 ? ferr_errno(-errno, "cannot read %s back at %llu", s->path,
							 (unsigned long long)off)
					    : ferr(-EIO, "%s ends at %llu, before its %llu bytes",
						   s->path, (unsigned long long)off,
						   (unsigned long long)s->pos);
			else
				err = hashq_add(s->hq, buf, (size_t)n);
			off += n > 0 ? (uint64_t)n : 0;
		}
	}
	free(buf);
	return err;
}

static void remote_free(struct sink *s)
{
	s->up->free(s->up);
	s->up = NULL;
}

int sink_finish(struct sink *s)
{
	int err = 0;

	if (s->up) {
		err = s->up->finish(s->up, &s->stats);
		if (err) {
			s->up->abort(s->up, &s->stats);
			remote_free(s);
		}
		return err;
	}
	if (s->fd < 0)
		return 0;
	if (s->seekable) {
		/* A trailing hole has to be made part of the file. */
		if (ftruncate(s->fd, (off_t)s->pos) < 0)
			err = write_error(s, errno);
		else if (s->rehash && (err = rehash(s)))
			;
		else if (fsync(s->fd) < 0)
			err = write_error(s, errno);
	}
	if (close(s->fd) < 0 && !err)
		err = write_error(s, errno);
	s->fd = -1;
	if (!err && s->tmp && rename(s->tmp, s->path) < 0)
		err = ferr_errno(-errno, "cannot rename %s to %s", s->tmp, s->path);
	if (err) {
		sink_abort(s);
		return err;
	}
	if (s->hq)
		hashq_finish(s->hq, s->stats.sha256);
	s->hq = NULL;
	free(s->tmp);
	s->tmp = NULL;
	return 0; /* the path stays, for sink_put_beside */
}

void sink_abort(struct sink *s)
{
	if (s->up) {
		s->up->abort(s->up, &s->stats);
		remote_free(s);
	}
	hashq_abort(s->hq);
	s->hq = NULL;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->tmp)
		unlink(s->tmp);
	free(s->tmp);
	s->tmp = NULL;
	free(s->path);
	s->path = NULL;
}

const char *sink_partial_path(const struct sink *s)
{
	return s->tmp;
}

/* doc written whole to a new file in path's directory, then renamed over
 * path: a reader never sees half of it. */
static int write_beside(const char *path, const void *doc, size_t len)
{
	char *tmp = partial_template(path);
	const uint8_t *p = doc;
	int fd, err = 0;

	if (!tmp)
		return ferr(-ENOMEM, "out of memory");
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err = ferr_errno(-errno, "cannot create %s", path);
		free(tmp);
		return err;
	}
	while (len > 0 && !err) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			err = ferr_errno(-errno, "cannot write %s", path);
		else
			p += w, len -= (size_t)w;
	}
	if (!err && (fchmod(fd, 0644) < 0 || fsync(fd) < 0))
		err = ferr_errno(-errno, "cannot write %s", path);
	if (close(fd) < 0 && !err)
		err = ferr_errno(-errno, "cannot write %s", path);
	if (!err && rename(tmp, path) < 0)
		err = ferr_errno(-errno, "cannot rename %s to %s", tmp, path);
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
}

int sink_put_beside(struct sink *s, const char *suffix, const void *doc, size_t len,
		    const char *content_type)
{
	char *path;
	int err;

	if (s->up)
		return s->up->put_beside ? s->up->put_beside(s->up, suffix, doc, len, content_type)
					 : -ENOTSUP;
	if (!s->seekable || !s->path || !s->stats.sha256[0])
		return -ENOTSUP;
	if (asprintf(&path, "%s%s", s->path, suffix) < 0)
		return ferr(-ENOMEM, "out of memory");
	err = write_beside(path, doc, len);
	free(path);
	return err;
}

void sink_close(struct sink *s)
{
	if (s->up)
		remote_free(s);
	free(s->path);
	s->path = NULL;
}
