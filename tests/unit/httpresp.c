/* The response parser against a server on loopback that answers every
 * request with canned bytes, or with a piece repeated without end: framing
 * that could be read two ways, lengths that are not numbers, endless
 * headers and bodies, interim 1xx answers, a reason phrase full of terminal
 * escapes, and an S3 part listing whose NextPartNumberMarker runs past
 * 2^32 (it once looped for ever). Each ends in the right answer or in a
 * clean error, in bounded memory. */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sink/http.h"
#include "sink/s3.h"
#include "tap.h"
#include "util/err.h"

/* A server process: each request (read up to its blank line) is answered
 * with head, then with piece repeated until the client goes away (piece
 * NULL: once; with "Connection: close" in head, the connection is closed
 * after it). Returns the port; *pid the process. */
static unsigned serve(const char *head, size_t hlen, const char *piece, pid_t *pid)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 4) ||
	    getsockname(s, (struct sockaddr *)&a, &alen))
		return 0;
	fflush(stdout);
	*pid = fork();
	if (*pid == 0) {
		int c = accept(s, NULL, NULL);
		char req[4096];
		size_t have = 0;

		signal(SIGPIPE, SIG_IGN);
		for (;;) {
			ssize_t n = read(c, req + have, sizeof(req) - 1 - have);

			if (n <= 0)
				_exit(0);
			have += (size_t)n;
			req[have] = '\0';
			if (!strstr(req, "\r\n\r\n"))
				continue;
			have = 0;
			if (write(c, head, hlen) != (ssize_t)hlen)
				_exit(0);
			while (piece)
				if (write(c, piece, strlen(piece)) < 0)
					_exit(0);
			if (strstr(head, "Connection: close"))
				_exit(0);
		}
	}
	close(s);
	return *pid > 0 ? ntohs(a.sin_port) : 0;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* GETs / from a server answering head (and piece); returns what
 * http_request returned, the response in r. */
static size_t body_max; /* the connection's, for the next get */

static int get_len(const char *head, size_t hlen, const char *piece, struct http_response *r)
{
	struct http_opts o = {.timeout_ms = 10000};
	struct http_conn c;
	pid_t pid = 0;
	unsigned port = serve(head, hlen, piece, &pid);
	int err;

	memset(r, 0, sizeof(*r));
	if (!port)
		return ferr(-EIO, "no server");
	err = http_open(&c, "127.0.0.1", port, false, &o);
	if (!err) {
		c.body_max = body_max;
		err = http_request(&c, "GET", "/", NULL, 0, NULL, 0, r);
		http_close(&c);
	}
	reap(pid);
	return err;
}

static int get(const char *head, const char *piece, struct http_response *r)
{
	return get_len(head, strlen(head), piece, r);
}

#define ERR(head, piece, want, text, name)                                                \
	do {                                                                              \
		struct http_response r_;                                                  \
		int e_ = get(head, piece, &r_);                                           \
		is_int(e_, want, name);                                                   \
		ok(strstr(ferr_msg(), text) != NULL, "... saying so: %s", ferr_msg());    \
		http_response_release(&r_);                                               \
	} while (0)

static void framing(void)
{
	struct http_response r;
	char big[200];

	is_int(get("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", NULL, &r), 0,
	       "a plain answer");
	ok(r.status == 200 && r.body.len == 5 && !memcmp(r.body.s, "hello", 5), "its body");
	http_response_release(&r);
	is_int(get("HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2 \r\n\r\nhi", NULL, &r),
	       0, "the same Content-Length twice is one length");
	http_response_release(&r);
	is_int(get("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		   "3;ext=1\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n", NULL, &r), 0, "a chunked answer");
	ok(r.body.len == 5 && !memcmp(r.body.s, "hello", 5), "its body put together");
	http_response_release(&r);
	is_int(get("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
		   "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", NULL, &r), 0,
	       "interim 1xx answers are skipped");
	ok(r.status == 201 && r.body.len == 2, "the final answer is read (%d)", r.status);
	http_response_release(&r);
	ERR("HTTP/1.1 101 Switching Protocols\r\n\r\n", NULL, -EPROTO, "an answer 101 where",
	    "101 Switching Protocols is refused");
	ERR("HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello", NULL, -EPROTO, "not a number",
	    "a Content-Length with a letter");
	ERR("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", NULL, -EPROTO,
	    "not a number", "a Content-Length past 2^64");
	ERR("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", NULL, -EPROTO, "not a number",
	    "a negative Content-Length");
	ERR("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", NULL, -EPROTO,
	    "two different Content-Length", "two different Content-Length values");
	ERR("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n0\r\n\r\n", NULL, -EPROTO, "could be read two ways",
	    "Content-Length and chunked together");
	ERR("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", NULL, -EPROTO,
	    "is not supported", "a Transfer-Encoding other than chunked");
	ERR("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", NULL, -EPROTO,
	    "bad chunk size", "a chunk size that is not hex");
	ERR("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", NULL,
	    -EPROTO, "bad chunk size", "a chunk size past 2^60");
	ERR("HTTP/1.1 200 OK\r\n", "X-Filler: 0123456789\r\n", -E2BIG, "larger than 64 KiB",
	    "an endless header");
	snprintf(big, sizeof(big), "%x\r\n%0*d\r\n", 100, 100, 0);
	ERR("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", big, -EFBIG,
	    "larger than 1024 KiB", "an endless chunked body");
	ERR("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", "0123456789abcdef", -EFBIG,
	    "larger than 1024 KiB", "an endless body without a length");
	ERR("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhel", NULL, -ECONNRESET,
	    "closed in the response body", "a body shorter than its length");
	ERR("SSH-2.0-OpenSSH\x1b[2J\r\n\r\n", NULL, -EPROTO, "not an HTTP response: 'SSH-2.0-OpenSSH?[2J'",
	    "not HTTP: said with the escape made harmless");
}

/* An object read back (s3_get_range) takes bodies as long as it asks for:
 * 3 MiB within 4, not within 2 nor within the default 1. */
static void longer_bodies(void)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 3145728\r\n\r\n";
	struct http_response r;

	body_max = 4u << 20;
	is_int(get(head, "0123456789abcdef", &r), 0, "a 3 MiB body with room for 4 MiB");
	ok(r.body.len == 3u << 20 && !memcmp(r.body.s + (3u << 20) - 16, "0123456789abcdef", 16),
	   "... all of it");
	http_response_release(&r);
	body_max = 2u << 20;
	ERR(head, "0123456789abcdef", -EFBIG, "larger than 2048 KiB", "with room for 2 MiB: refused");
	body_max = 0;
	ERR(head, "0123456789abcdef", -EFBIG, "larger than 1024 KiB", "by default: refused");
}

static void reason(void)
{
	static const char head[] = "HTTP/1.1 503 \x1b]0;owned\x07\x1b[2JSlow\x9b" "1m Down\r\n"
				   "ETag: \"a\x1b[5mb\"\r\nContent-Length: 0\r\n\r\n";
	struct http_response r;
	bool clean = true;

	is_int(get(head, NULL, &r), 0, "a reason phrase and an ETag with terminal escapes");
	for (const char *p = r.reason; *p; p++)
		clean &= *p >= 0x20 && *p < 0x7f;
	for (const char *p = r.etag; *p; p++)
		clean &= *p >= 0x20 && *p < 0x7f;
	ok(r.status == 503 && clean && strstr(r.reason, "Slow"),
	   "keep no control byte: '%s' '%s'", r.reason, r.etag);
	http_response_release(&r);
}

/* ListParts that says IsTruncated with a marker past 2^32, whose low bits
 * are 1: the marker must not wrap round to the same page again. */
static void list_parts(void)
{
	static const char body[] =
		"<?xml version=\"1.0\"?><ListPartsResult><Part><PartNumber>1</PartNumber>"
		"<ETag>\"e1\"</ETag><Size>5</Size></Part><IsTruncated>true</IsTruncated>"
		"<NextPartNumberMarker>4294967297</NextPartNumberMarker></ListPartsResult>";
	char head[1024];
	struct s3_credentials cred = {.access_key = "AK", .secret_key = "SK"};
	struct s3_target t = {.port = 0};
	struct http_opts o = {.timeout_ms = 10000};
	struct s3_client c;
	struct s3_part *parts = NULL;
	size_t n = 0;
	pid_t pid = 0;
	unsigned port;
	int err;

	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
		 strlen(body), body);
	port = serve(head, strlen(head), NULL, &pid);
	if (!ok(port != 0, "a listing server"))
		return;
	snprintf(t.host, sizeof(t.host), "127.0.0.1");
	snprintf(t.bucket, sizeof(t.bucket), "b");
	snprintf(t.key, sizeof(t.key), "k");
	t.port = port;
	s3_client_init(&c, &t, &cred, &o, NULL);
	c.retries = 0;
	err = s3_list_parts(&c, "id", &parts, &n);
	s3_client_release(&c);
	reap(pid);
	is_int(err, -EPROTO, "a NextPartNumberMarker past 2^32 ends the listing");
	ok(strstr(ferr_msg(), "NextPartNumberMarker '4294967297' does not move on") != NULL,
	   "... saying so: %s", ferr_msg());
	ok(parts == NULL && n == 0, "nothing listed is kept");
	free(parts);
}

int main(void)
{
	tap_plan(47);
	signal(SIGPIPE, SIG_IGN);
	framing();
	longer_bodies();
	reason();
	list_parts();
	return tap_failed ? 1 : 0;
}
