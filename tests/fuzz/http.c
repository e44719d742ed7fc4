/* The HTTP response reader (sink/http.h): the input is what the server
 * sends on a kept-alive connection, read with http_read_response as
 * answers follow each other (the status line and header, Content-Length,
 * chunked bodies, interim 1xx answers). The connection reads a memory
 * file: mbedtls reads its descriptor with read(2), and a file is always
 * ready. A first line "HEAD" or "CONNECT" is the request's method
 * (answers without a body); else it is GET. */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/fuzz.h"
#include "sink/http.h"

static int fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fd = memfd_create("ferry-fuzz-http", MFD_CLOEXEC);
	if (fd < 0) {
		perror("memfd_create");
		exit(1);
	}
	return 0;
}

static const char *method(const uint8_t **data, size_t *size)
{
	static const char *const other[] = {"HEAD", "CONNECT"};

	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		size_t n = strlen(other[i]);

		if (*size > n && !memcmp(*data, other[i], n) && (*data)[n] == '\n') {
			*data += n + 1;
			*size -= n + 1;
			return other[i];
		}
	}
	return "GET";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *m = method(&data, &size);
	struct http_response r;
	struct http_conn *c = calloc(1, sizeof(*c));

	if (!c || ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size ||
	    lseek(fd, 0, SEEK_SET)) {
		free(c);
		return 0;
	}
	ferr_clear();
	mbedtls_net_init(&c->net);
	c->net.fd = fd;
	c->open = true;
	c->port = 80;
	/* as --timeout's default: with 0 the answer's deadline is now, and
	 * every read would end there before parsing a byte */
	c->timeout_ms = 60000;
	snprintf(c->host, sizeof(c->host), "fuzz");
	for (int i = 0; i < 4; i++) {
		int err = http_read_response(c, m, &r);
		bool more = !err && r.keep_alive;

		http_response_release(&r);
		if (!more)
			break;
	}
	free(c);
	return 0;
}
