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

#include "util/strbuf.h"

#define HTTP_DEFAULT_CA "/etc/ssl/certs/ca-certificates.crt"

struct http_opts {
	const char *ca_file;    /* PEM bundle; NULL: HTTP_DEFAULT_CA */
	bool insecure;          /* no certificate check at all (warned about by the caller) */
	const char *connect_ip; /* --resolve: connect here, check the certificate for host */
	unsigned timeout_ms;    /* per read; 0: 60 s */
};

struct http_conn {
	mbedtls_net_context net;
	bool tls, open;
	char host[256];
	unsigned port;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
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
	uint64_t content_length; /* of the body received */
	bool keep_alive;
	struct strbuf body;      /* at most HTTP_BODY_MAX bytes are kept */
};

#define HTTP_BODY_MAX (1u << 20)

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
void http_response_release(struct http_response *r);

/* Whether s is an IPv4 or IPv6 address literal. */
bool http_is_ip(const char *s);

#endif
