/* HTTP/1.1 over TCP or TLS (mbedtls) for the upload sinks: verification on
 * by default (CA file or the rescue image's bundle, SNI, host names and IP
 * addresses checked against the certificate), --resolve, keep-alive. */
#ifndef FERRY_HTTP_H
#define FERRY_HTTP_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ratelimit.h"
#include "util/strbuf.h"

#define HTTP_DEFAULT_CA "/etc/ssl/certs/ca-certificates.crt"

/* An HTTP proxy that tunnels with CONNECT (what https_proxy names). */
struct http_proxy {
	char host[256];
	unsigned port;
	char auth[512]; /* base64 of user:password for Proxy-Authorization, or "" */
};

struct http_opts {
	const char *ca_file;    /* PEM bundle; NULL: HTTP_DEFAULT_CA */
	bool pinned;            /* trust exactly the certificate whose SHA-256 is pin */
	unsigned char pin[32];
	bool insecure;          /* no certificate check at all (warned about by the caller) */
	const char *connect_ip; /* --resolve: connect here, check the certificate for host */
	const struct http_proxy *proxy; /* tunnel through this; NULL: connect directly */
	struct ratelimit *rl;   /* paces every body sent; NULL: no limit */
	/* A server that sends or takes nothing for this long is given up, and
	 * so is a TLS handshake or an answer that takes twice as long in all
	 * (a server trickling bytes). 0: 60 s. */
	unsigned timeout_ms;
};

struct http_seal;

struct http_conn {
	mbedtls_net_context net;
	bool tls, open;
	/* Application data records sealed by util/aesgcm rather than by
	 * mbedtls (AES-GCM suites on CPUs with AES-NI): see http.c. */
	struct http_seal *seal;
	char host[256];
	unsigned port;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	struct ratelimit *rl;
	uint64_t sent; /* body bytes sent on this connection */
	/* The longest answer body the next responses may have; 0:
	 * HTTP_BODY_MAX. Set above it (an object read back), an answer is
	 * bounded by timeout_ms per read only, not by a deadline. */
	size_t body_max;
	unsigned timeout_ms;
	double deadline;    /* of the handshake or answer under way; 0: none */
	bool late, stalled; /* what ended it: the deadline; a send that waited */
	/* bytes read past the response being parsed */
	char buf[16384];
	size_t have, off;
};

struct http_header {
	const char *name, *value;
};

struct http_response {
	int status;
	char reason[64];
	char etag[128];
	bool keep_alive;
	struct strbuf body;      /* a longer body than HTTP_BODY_MAX is an error */
};

#define HTTP_BODY_MAX (1u << 20)
/* A response header above this size is refused. */
#define HTTP_HEADER_MAX (64u << 10)

/* Connects (and for TLS, handshakes and verifies). Errors name host:port
 * and the reason, e.g. "certificate is not valid for s3.test". */
int http_open(struct http_conn *c, const char *host, unsigned port, bool tls,
	      const struct http_opts *o);
void http_close(struct http_conn *c);

/* Sends one request (Host and Content-Length are added) with body (len
 * bytes, may be NULL with len 0) and reads the response. */
int http_request(struct http_conn *c, const char *method, const char *target,
		 const struct http_header *h, size_t nh, const void *body, size_t len,
		 struct http_response *r);
/* The same in steps, for a body streamed as it is made: the head with
 * Content-Length len, then exactly len bytes of body, then the answer. */
int http_send_head(struct http_conn *c, const char *method, const char *target,
		   const struct http_header *h, size_t nh, uint64_t len);
int http_send_body(struct http_conn *c, const void *buf, size_t len);
/* On an error r holds nothing to release (http_response_release is
 * harmless). */
int http_read_response(struct http_conn *c, const char *method, struct http_response *r);
void http_response_release(struct http_response *r);

/* "sha256:HEX" (64 hex digits, colons allowed) into pin; -EINVAL without a
 * message when s does not start with "sha256:". */
int http_pin_parse(const char *s, unsigned char pin[32]);

/* Whether s is an IPv4 or IPv6 address literal. */
bool http_is_ip(const char *s);

/* The parts of http[s]://[USER:PASSWORD@]HOST[:PORT][REST]. */
struct http_url {
	bool tls;
	char host[256];  /* without the brackets of an IPv6 address */
	unsigned port;   /* the scheme's default if none is given */
	bool port_given;
	const char *user; /* "USER:PASSWORD" in the URL (user_len bytes), or NULL */
	size_t user_len;
	const char *rest; /* the path, query and fragment, in the URL itself */
};

/* Splits url; a URL without a scheme is taken as bare_scheme://URL when
 * bare_scheme is not NULL. Messages name what (e.g. "--endpoint") and the
 * host, never the whole URL (it may carry a password or a signature). */
int http_url_parse(struct http_url *u, const char *url, const char *what,
		   const char *bare_scheme);

/* Parses "http://[USER:PASSWORD@]HOST[:PORT][/]" (port 3128 if none, as
 * squid's). Errors never show the password. */
int http_proxy_parse(struct http_proxy *p, const char *url);
/* The proxy the environment names for a connection to host: https_proxy
 * (or HTTPS_PROXY) for TLS, http_proxy for plain HTTP, unless no_proxy
 * lists host, a domain suffix of it, or "*". NULL when none. */
const char *http_proxy_env(bool tls, const char *host);

#endif
