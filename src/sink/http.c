/* HTTP/1.1 client over TCP or TLS with mbedtls (see http.h). mbedtls 2.28
 * does not match IP addresses against a certificate's subjectAltName: the
 * verify callback does that itself. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <mbedtls/asn1.h>
#include <mbedtls/base64.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "sink/http.h"
#include "util/aesgcm.h"
#include "util/err.h"
#include "util/progress.h"
#include "util/text.h"
#include "util/url.h"

/* Bodies go out in steps this large (and a rate limit is asked for each). */
#define SEND_STEP (64u << 10)

bool http_is_ip(const char *s)
{
	unsigned char addr[16];

	return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

static int tls_err(struct http_conn *c, int ret, const char *what)
{
	char msg[160];

	mbedtls_strerror(ret, msg, sizeof(msg));
	return ferr(-EIO, "%s:%u: %s: %s", c->host, c->port, what, msg);
}

/* Whether the certificate's subjectAltName lists the IP address ip. */
static bool san_has_ip(const mbedtls_x509_crt *crt, const char *ip)
{
	unsigned char want[16];
	size_t wlen = 4;
	unsigned char *p = crt->v3_ext.p, *end;
	size_t len;

	if (inet_pton(AF_INET, ip, want) != 1) {
		if (inet_pton(AF_INET6, ip, want) != 1)
			return false;
		wlen = 16;
	}
	if (!p || !crt->v3_ext.len)
		return false;
	end = p + crt->v3_ext.len;
	/* Extensions ::= SEQUENCE OF Extension */
	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return false;
	end = p + len;
	while (p < end) {
		unsigned char *ext_end, *names_end;
		mbedtls_asn1_buf oid;
		int critical;

		if (mbedtls_asn1_get_tag(&p, end, &len,
					 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
			return false;
		ext_end = p + len;
		if (mbedtls_asn1_get_tag(&p, ext_end, &oid.len, MBEDTLS_ASN1_OID))
			return false;
		oid.p = p;
		p += oid.len;
		if (mbedtls_asn1_get_bool(&p, ext_end, &critical) &&
		    p < ext_end && *p == MBEDTLS_ASN1_BOOLEAN)
			return false;
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_SUBJECT_ALT_NAME, &oid)) {
			p = ext_end;
			continue;
		}
		/* extnValue OCTET STRING { GeneralNames SEQUENCE { [7] iPAddress ... } } */
		if (mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_OCTET_STRING) ||
		    mbedtls_asn1_get_tag(&p, p + len, &len,
					 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
			return false;
		names_end = p + len;
		while (p < names_end) {
			unsigned char tag = *p++;
			size_t nlen;

			if (mbedtls_asn1_get_len(&p, names_end, &nlen))
				return false;
			if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && nlen == wlen &&
			    !memcmp(p, want, wlen))
				return true;
			p += nlen;
		}
		p = ext_end;
	}
	return false;
}

static int verify_cb(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct http_conn *c = arg;

	if (depth == 0 && http_is_ip(c->host) && !san_has_ip(crt, c->host))
		*flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
	return 0;
}

/* mbedtls' defaults, with the fastest AEAD first. mbedtls 2.28 encrypts
 * ChaCha20-Poly1305 about twice as fast as its AES-GCM (measured: 508
 * against 258-309 MB/s), and an upload is all encryption; but where the
 * CPU has AES-NI the records we send are sealed by util/aesgcm (over
 * 1 GB/s), so AES-GCM comes first there. */
static int suites[256];
static pthread_once_t suites_once = PTHREAD_ONCE_INIT;

static void make_suites(void)
{
	static const int aes[] = {
		MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	};
	static const int chacha[] = {
		MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	};
	const int *first[2] = {chacha, aes};
	const int *all = mbedtls_ssl_list_ciphersuites();
	size_t n = 0;

	if (aesgcm_available())
		first[0] = aes, first[1] = chacha;
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 2; i++)
			suites[n++] = first[k][i];
	for (; *all && n < sizeof(suites) / sizeof(suites[0]) - 1; all++) {
		bool dup = false;

		for (int i = 0; i < 2; i++)
			dup |= *all == aes[i] || *all == chacha[i];
		if (!dup)
			suites[n++] = *all;
	}
	suites[n] = 0;
}

/* One read off the socket: at most timeout_ms without a byte, and nothing
 * past the deadline of the exchange under way (a server that trickles a
 * byte now and then is given up too). */
static int net_recv(void *ctx, unsigned char *buf, size_t len, uint32_t unused)
{
	struct http_conn *c = ctx;
	uint32_t ms = c->timeout_ms;
	int n;

	(void)unused;
	if (c->deadline > 0) {
		double left = c->deadline - now_seconds();

		if (left <= 0) {
			c->late = true;
			return MBEDTLS_ERR_SSL_TIMEOUT;
		}
		if (left * 1000 < ms)
			ms = (uint32_t)(left * 1000) + 1;
	}
	n = mbedtls_net_recv_timeout(&c->net, buf, len, ms);
	if (n == MBEDTLS_ERR_SSL_TIMEOUT && c->deadline > 0 && now_seconds() >= c->deadline)
		c->late = true;
	return n;
}

/* One write to the socket, waiting at most timeout_ms for room (a server
 * that stops reading is given up). */
static int net_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct http_conn *c = ctx;

	if (len > INT_MAX)
		len = INT_MAX;
	for (;;) {
		struct pollfd p = {.fd = c->net.fd, .events = POLLOUT};
		ssize_t n = send(c->net.fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		int r;

		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET
								     : MBEDTLS_ERR_NET_SEND_FAILED;
		/* No room: wait for some (a system call per send only then). */
		do
			r = poll(&p, 1, (int)c->timeout_ms);
		while (r < 0 && errno == EINTR);
		if (r == 0) {
			c->stalled = true;
			return MBEDTLS_ERR_NET_SEND_FAILED;
		}
	}
}

/*
 * Sealing our own records. mbedtls does the handshake and reads every
 * record; once the handshake is over, the application data we send is
 * sealed here when the suite is AES-GCM in TLS 1.2 (RFC 5288): each record
 * is the header, the 8-byte explicit nonce (the record's sequence number,
 * as mbedtls makes it), the ciphertext and the tag, under the client write
 * key and the 4-byte salt from the key block. The sequence number is
 * mbedtls' own outgoing counter, advanced for each record sealed here, so
 * the alerts mbedtls still sends (close_notify) carry the right one.
 */
#if MBEDTLS_VERSION_NUMBER < 0x021c0000 || MBEDTLS_VERSION_NUMBER >= 0x03000000
#error "sealing records reads mbedtls 2.28's outgoing record counter (ssl.cur_out_ctr)"
#endif

#define RECORD_MAX 16384 /* plaintext bytes in one TLS record */
#define RECORD_SEND 4     /* records sealed, then sent with one system call */

struct http_seal {
	struct aesgcm g;
	bool keys; /* the key block was for AES-GCM, and key and salt hold it */
	uint8_t key[32], salt[4];
	size_t keylen;
	uint8_t rec[RECORD_SEND * (5 + 8 + RECORD_MAX + 16)];
};

static int export_keys(void *arg, const unsigned char *ms, const unsigned char *kb,
		       size_t maclen, size_t keylen, size_t ivlen)
{
	struct http_seal *s = arg;

	(void)ms;
	/* client write MAC key, server's, client write key, server's, then the
	 * client's and the server's implicit IV (RFC 5246 6.3) */
	s->keys = maclen == 0 && (keylen == 16 || keylen == 32) && ivlen == sizeof(s->salt);
	if (s->keys) {
		memcpy(s->key, kb, keylen);
		memcpy(s->salt, kb + 2 * keylen, ivlen);
		s->keylen = keylen;
	}
	return 0;
}

/* After the handshake: whether we seal the records, or mbedtls does. */
static void seal_start(struct http_conn *c)
{
	struct http_seal *s = c->seal;
	const mbedtls_ssl_ciphersuite_t *cs;

	if (!s)
		return;
	cs = mbedtls_ssl_ciphersuite_from_id(
		mbedtls_ssl_get_ciphersuite_id(mbedtls_ssl_get_ciphersuite(&c->ssl)));
	if (!s->keys || !cs || c->ssl.minor_ver != MBEDTLS_SSL_MINOR_VERSION_3 ||
	    (cs->cipher != MBEDTLS_CIPHER_AES_128_GCM && cs->cipher != MBEDTLS_CIPHER_AES_256_GCM) ||
	    s->keylen != (cs->cipher == MBEDTLS_CIPHER_AES_128_GCM ? 16u : 32u) ||
	    aesgcm_init(&s->g, s->key, s->keylen)) {
		aesgcm_wipe(&s->g);
		mbedtls_platform_zeroize(s, sizeof(*s));
		free(s);
		c->seal = NULL;
		return;
	}
	mbedtls_platform_zeroize(s->key, sizeof(s->key));
}

static void seal_free(struct http_conn *c)
{
	if (c->seal) {
		aesgcm_wipe(&c->seal->g);
		mbedtls_platform_zeroize(c->seal, sizeof(*c->seal));
		free(c->seal);
		c->seal = NULL;
	}
}

/* Seals one record of n bytes of p at r, under the next sequence number;
 * the record's length, or an mbedtls error. */
static int seal_record(struct http_conn *c, const unsigned char *p, size_t n, unsigned char *r)
{
	struct http_seal *s = c->seal;
	unsigned char *ctr = c->ssl.cur_out_ctr;
	uint8_t nonce[12], aad[13];
	size_t total = 5 + 8 + n + 16;
	int i;

	memcpy(nonce, s->salt, 4);
	memcpy(nonce + 4, ctr, 8);
	memcpy(aad, ctr, 8);
	aad[8] = MBEDTLS_SSL_MSG_APPLICATION_DATA;
	aad[9] = 3, aad[10] = 3; /* TLS 1.2 */
	aad[11] = (uint8_t)(n >> 8), aad[12] = (uint8_t)n;
	r[0] = MBEDTLS_SSL_MSG_APPLICATION_DATA;
	r[1] = 3, r[2] = 3;
	r[3] = (uint8_t)((total - 5) >> 8), r[4] = (uint8_t)(total - 5);
	memcpy(r + 5, ctr, 8);
	aesgcm_seal(&s->g, nonce, aad, sizeof(aad), p, r + 13, n, r + 13 + n);
	for (i = 7; i >= 0 && ++ctr[i] == 0; i--)
		;
	return i < 0 ? MBEDTLS_ERR_SSL_COUNTER_WRAPPING : (int)total;
}

/* Seals up to RECORD_SEND records of p and sends them: the number of
 * bytes of p taken, or an mbedtls error. */
static int seal_write(struct http_conn *c, const unsigned char *p, size_t len)
{
	unsigned char *r = c->seal->rec;
	size_t taken = 0, total = 0, off = 0;

	for (int k = 0; k < RECORD_SEND && taken < len; k++) {
		size_t n = len - taken < RECORD_MAX ? len - taken : RECORD_MAX;
		int m = seal_record(c, p + taken, n, r + total);

		if (m < 0)
			return m;
		taken += n;
		total += (size_t)m;
	}
	while (off < total) {
		int m = net_send(c, r + off, total - off);

		if (m <= 0)
			return m ? m : MBEDTLS_ERR_NET_SEND_FAILED;
		off += (size_t)m;
	}
	return (int)taken;
}

static int tls_setup(struct http_conn *c, const struct http_opts *o)
{
	const char *ca = o->ca_file ? o->ca_file : HTTP_DEFAULT_CA;
	int ret;

	mbedtls_ssl_init(&c->ssl);
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_x509_crt_init(&c->ca);
	mbedtls_entropy_init(&c->entropy);
	mbedtls_ctr_drbg_init(&c->drbg);
	c->tls = true;
	ret = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
				    (const unsigned char *)"ferry", 5);
	if (ret)
		return tls_err(c, ret, "cannot seed the random generator");
	ret = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
					  MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (ret)
		return tls_err(c, ret, "TLS configuration");
	/* TLS 1.0 and 1.1 are broken; a server offering nothing newer is
	 * refused unless the operator chose --insecure. */
	if (!o->insecure)
		mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
					     MBEDTLS_SSL_MINOR_VERSION_3);
	if (o->insecure || o->pinned) {
		/* A pinned certificate is compared after the handshake. */
		mbedtls_ssl_conf_authmode(&c->conf, o->pinned ? MBEDTLS_SSL_VERIFY_OPTIONAL
							      : MBEDTLS_SSL_VERIFY_NONE);
	} else {
		ret = mbedtls_x509_crt_parse_file(&c->ca, ca);
		if (ret < 0)
			return ferr(-EINVAL, "CA file %s: %s", ca,
				    ret == MBEDTLS_ERR_PK_FILE_IO_ERROR ||
				    ret == MBEDTLS_ERR_X509_FILE_IO_ERROR ? "cannot be read"
									    : "not a PEM certificate bundle");
		mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
		mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
		mbedtls_ssl_conf_verify(&c->conf, verify_cb, c);
	}
	pthread_once(&suites_once, make_suites);
	mbedtls_ssl_conf_ciphersuites(&c->conf, suites);
	mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
	mbedtls_ssl_conf_read_timeout(&c->conf, o->timeout_ms ? o->timeout_ms : 60000);
	if (aesgcm_available()) {
		c->seal = calloc(1, sizeof(*c->seal));
		if (!c->seal)
			return ferr(-ENOMEM, "out of memory");
		mbedtls_ssl_conf_export_keys_cb(&c->conf, export_keys, c->seal);
	}
	ret = mbedtls_ssl_setup(&c->ssl, &c->conf);
	/* A name is sent as SNI and checked by mbedtls; an address is checked
	 * by verify_cb (and never sent as SNI). */
	if (!ret && !http_is_ip(c->host))
		ret = mbedtls_ssl_set_hostname(&c->ssl, c->host);
	if (ret)
		return tls_err(c, ret, "TLS setup");
	mbedtls_ssl_set_bio(&c->ssl, c, net_send, NULL, net_recv);
	c->deadline = now_seconds() + 2 * c->timeout_ms / 1000.0;
	while ((ret = mbedtls_ssl_handshake(&c->ssl)) != 0) {
		uint32_t flags;
		char why[512];

		if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		flags = mbedtls_ssl_get_verify_result(&c->ssl);
		if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && flags != (uint32_t)-1 && flags) {
			size_t n;

			if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
				return ferr(-EPERM, "%s:%u: the server's certificate is not valid for %s",
					    c->host, c->port, c->host);
			mbedtls_x509_crt_verify_info(why, sizeof(why), "", flags);
			n = strlen(why);
			while (n && why[n - 1] == '\n')
				why[--n] = '\0';
			for (char *nl = strchr(why, '\n'); nl; nl = strchr(nl, '\n'))
				*nl = ';';
			return ferr(-EPERM, "%s:%u: the server's certificate is not trusted (%s; CA "
				    "file %s)", c->host, c->port, why, ca);
		}
		if (ret == MBEDTLS_ERR_SSL_TIMEOUT || c->stalled)
			return ferr(-ETIMEDOUT, "%s:%u: the TLS handshake did not finish within %u s",
				    c->host, c->port, 2 * c->timeout_ms / 1000);
		if (ret == MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION && !o->insecure)
			return ferr(-EPROTO, "%s:%u: the server offers no TLS 1.2 or newer (TLS 1.0 "
				    "and 1.1 are refused; --insecure accepts them)", c->host, c->port);
		return tls_err(c, ret, "TLS handshake");
	}
	c->deadline = 0;
	seal_start(c);
	if (o->pinned) {
		const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&c->ssl);
		unsigned char sum[32];

		if (!peer || mbedtls_sha256_ret(peer->raw.p, peer->raw.len, sum, 0) ||
		    memcmp(sum, o->pin, sizeof(sum)))
			return ferr(-EPERM, "%s:%u: the server's certificate is not the pinned one "
				    "(sha256 of its DER)", c->host, c->port);
	}
	return 0;
}

int http_pin_parse(const char *s, unsigned char pin[32])
{
	size_t n = 0;

	if (strncmp(s, "sha256:", 7))
		return -EINVAL;
	for (s += 7; *s && n < 64; s++) {
		int v = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
			: *s >= 'A' && *s <= 'F' ? *s - 'A' + 10 : -1;

		if (*s == ':')
			continue;
		if (v < 0)
			break;
		if (n % 2 == 0)
			pin[n / 2] = (unsigned char)(v << 4);
		else
			pin[n / 2] |= (unsigned char)v;
		n++;
	}
	if (n != 64 || *s)
		return ferr(-EINVAL, "--ca sha256:HEX: expected 64 hex digits (colons allowed), the "
			    "SHA-256 of the server certificate's DER form");
	return 0;
}

/* Asks the proxy, on the open connection, for a tunnel to host:port. */
static int proxy_connect(struct http_conn *c, const struct http_proxy *px, const char *host,
			 unsigned port)
{
	struct http_header h[2];
	struct http_response r;
	char target[300], auth[540];
	size_t n = 0;
	int err;

	snprintf(target, sizeof(target), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
	/* The tunnel's Host is the destination, not the proxy. */
	snprintf(c->host, sizeof(c->host), "%s", host);
	c->port = port;
	h[n++] = (struct http_header){"Proxy-Connection", "keep-alive"};
	if (px->auth[0]) {
		snprintf(auth, sizeof(auth), "Basic %s", px->auth);
		h[n++] = (struct http_header){"Proxy-Authorization", auth};
	}
	err = http_send_head(c, "CONNECT", target, h, n, 0);
	memset(auth, 0, sizeof(auth));
	if (!err)
		err = http_read_response(c, "CONNECT", &r);
	if (err)
		return ferr_ctx(err, "proxy %s:%u", px->host, px->port);
	http_response_release(&r);
	if (r.status < 200 || r.status > 299)
		return ferr(r.status == 407 ? -EACCES : -EHOSTUNREACH,
			    "proxy %s:%u: CONNECT %s: HTTP %d %s", px->host, px->port, target,
			    r.status, r.reason);
	c->have = c->off = 0;
	return 0;
}

int http_open(struct http_conn *c, const char *host, unsigned port, bool tls,
	      const struct http_opts *o)
{
	const struct http_proxy *px = o->proxy;
	const char *dest = o->connect_ip ? o->connect_ip : host;
	char portstr[8];
	int ret, err;

	memset(c, 0, sizeof(*c));
	mbedtls_net_init(&c->net);
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : 60000;
	if (strlen(host) >= sizeof(c->host))
		return ferr(-EINVAL, "host name %.40s... is too long", host);
	snprintf(c->host, sizeof(c->host), "%s", px ? px->host : host);
	c->port = px ? px->port : port;
	snprintf(portstr, sizeof(portstr), "%u", c->port);
	ret = mbedtls_net_connect(&c->net, px ? px->host : dest, portstr, MBEDTLS_NET_PROTO_TCP);
	if (ret)
		return ret == MBEDTLS_ERR_NET_UNKNOWN_HOST
			       ? ferr(-EHOSTUNREACH, "%s%s: unknown host", px ? "proxy " : "",
				      c->host)
			       : tls_err(c, ret, px ? "cannot connect to the proxy" : "cannot connect");
	c->open = true;
	if (px) {
		err = proxy_connect(c, px, dest, port);
		if (err) {
			http_close(c);
			return err;
		}
		snprintf(c->host, sizeof(c->host), "%s", host);
		c->port = port;
	}
	if (tls) {
		err = tls_setup(c, o);
		if (err) {
			http_close(c);
			return err;
		}
	}
	c->rl = o->rl;
	return 0;
}

int http_url_parse(struct http_url *u, const char *url, const char *what,
		   const char *bare_scheme)
{
	const char *p = url, *host, *end, *colon, *at;
	size_t hlen;

	memset(u, 0, sizeof(*u));
	if (!strstr(url, "://") && bare_scheme)
		u->tls = !strcmp(bare_scheme, "https");
	else if (!strncmp(p, "https://", 8))
		u->tls = true, p += 8;
	else if (!strncmp(p, "http://", 7))
		p += 7;
	else
		return ferr(-EINVAL, "%s: not an http:// or https:// URL", what);
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (at) {
		u->user = p;
		u->user_len = (size_t)(at - p);
		p = at + 1;
	}
	host = p;
	if (*host == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));
		if (!close)
			return ferr(-EINVAL, "%s: unclosed '[' in the host", what);
		colon = close[1] == ':' ? close + 1 : NULL;
		host++;
		hlen = (size_t)(close - host);
	} else {
		colon = memchr(host, ':', (size_t)(end - host));
		hlen = (size_t)((colon ? colon : end) - host);
	}
	if (hlen == 0 || hlen >= sizeof(u->host))
		return ferr(-EINVAL, "%s: no host, or a host name too long", what);
	memcpy(u->host, host, hlen);
	u->host[hlen] = '\0';
	u->port = u->tls ? 443 : 80;
	if (colon) {
		char *stop;
		unsigned long port = strtoul(colon + 1, &stop, 10);

		if (stop != end || port == 0 || port > 65535)
			return ferr(-EINVAL, "%s: bad port after %s", what, u->host);
		u->port = (unsigned)port;
		u->port_given = true;
	}
	u->rest = end;
	return 0;
}

int http_proxy_parse(struct http_proxy *p, const char *url)
{
	const char *user = url + url_scheme_len(url), *at = url_userinfo_at(url);
	size_t user_len = at ? (size_t)(at - user) : 0, olen;
	struct strbuf hostport;
	struct http_url u;
	int err;

	memset(p, 0, sizeof(*p));
	if (strstr(url, "://") && strncmp(url, "http://", 7))
		return ferr(-EINVAL, "proxy: only http:// proxies are supported (they tunnel TLS "
			    "with CONNECT)");
	/* A proxy address has no path: its userinfo runs to the last '@', so
	 * a password may hold '/', '@', blanks or quotes, and no part of it
	 * is ever taken for the host (which error messages show). */
	strbuf_init(&hostport);
	err = strbuf_add(&hostport, at ? at + 1 : user, strlen(at ? at + 1 : user));
	if (!err)
		err = http_url_parse(&u, hostport.s, "proxy", "http");
	if (!err && u.rest[0] && strcmp(u.rest, "/"))
		err = ferr(-EINVAL, "proxy %s: a path has no place in a proxy address", u.host);
	strbuf_release(&hostport);
	if (err)
		return err;
	if (at) {
		if (user_len >= 300 || !memchr(user, ':', user_len))
			return ferr(-EINVAL, "proxy %s: the user part must be USER:PASSWORD", u.host);
		mbedtls_base64_encode((unsigned char *)p->auth, sizeof(p->auth), &olen,
				      (const unsigned char *)user, user_len);
		p->auth[olen] = '\0';
	}
	snprintf(p->host, sizeof(p->host), "%s", u.host);
	p->port = u.port_given ? u.port : 3128; /* squid's, as curl assumes */
	return 0;
}

static bool no_proxy_matches(const char *list, const char *host)
{
	size_t hl = strlen(host);

	while (list && *list) {
		size_t n = strcspn(list, ", ");
		const char *e = list;
		size_t en = n;

		if (en && *e == '.') {
			e++;
			en--;
		}
		if ((n == 1 && *list == '*') ||
		    (en && hl >= en && !strncasecmp(host + hl - en, e, en) &&
		     (hl == en || host[hl - en - 1] == '.')))
			return true;
		list += n;
		list += strspn(list, ", ");
	}
	return false;
}

const char *http_proxy_env(bool tls, const char *host)
{
	const char *v = tls ? getenv("https_proxy") : getenv("http_proxy");
	const char *no = getenv("no_proxy");

	if (!v || !*v)
		v = tls ? getenv("HTTPS_PROXY") : NULL; /* HTTP_PROXY: see httpoxy */
	if (!no)
		no = getenv("NO_PROXY");
	if (!v || !*v || no_proxy_matches(no, host))
		return NULL;
	return v;
}

void http_close(struct http_conn *c)
{
	if (c->tls) {
		if (c->open)
			mbedtls_ssl_close_notify(&c->ssl);
		mbedtls_ssl_free(&c->ssl);
		mbedtls_ssl_config_free(&c->conf);
		mbedtls_x509_crt_free(&c->ca);
		mbedtls_ctr_drbg_free(&c->drbg);
		mbedtls_entropy_free(&c->entropy);
		seal_free(c);
		c->tls = false;
	}
	mbedtls_net_free(&c->net);
	c->open = false;
}

static int conn_write(struct http_conn *c, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len) {
		int n = c->seal ? seal_write(c, p, len)
			: c->tls ? mbedtls_ssl_write(&c->ssl, p, len) : net_send(c, p, len);

		if (n == MBEDTLS_ERR_SSL_WANT_WRITE || n == MBEDTLS_ERR_SSL_WANT_READ)
			continue;
		if (n <= 0 && c->stalled)
			return ferr(-ETIMEDOUT, "%s:%u: the server took no data for %u s", c->host,
				    c->port, c->timeout_ms / 1000);
		if (n <= 0)
			return tls_err(c, n, "send failed");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Fills c->buf; 0 at the end of the stream. */
static int fill(struct http_conn *c)
{
	int n;

	if (c->off == c->have)
		c->off = c->have = 0;
	if (c->have == sizeof(c->buf))
		return ferr(-E2BIG, "%s:%u: response line too long", c->host, c->port);
	do {
		n = c->tls ? mbedtls_ssl_read(&c->ssl, (unsigned char *)c->buf + c->have,
					      sizeof(c->buf) - c->have)
			   : net_recv(c, (unsigned char *)c->buf + c->have, sizeof(c->buf) - c->have,
				      0);
	} while (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || n == 0)
		return 0;
	if (n == MBEDTLS_ERR_SSL_TIMEOUT && c->late)
		return ferr(-ETIMEDOUT, "%s:%u: the answer did not arrive within %u s (the server "
			    "sends too slowly)", c->host, c->port, 2 * c->timeout_ms / 1000);
	if (n == MBEDTLS_ERR_SSL_TIMEOUT)
		return ferr(-ETIMEDOUT, "%s:%u: no answer for %u s", c->host, c->port,
			    c->timeout_ms / 1000);
	if (n < 0)
		return tls_err(c, n, "receive failed");
	c->have += (size_t)n;
	return n;
}

/* One line without its CRLF into line. */
static int read_line(struct http_conn *c, char *line, size_t size)
{
	for (;;) {
		char *nl = memchr(c->buf + c->off, '\n', c->have - c->off);
		int n;

		if (nl) {
			size_t len = (size_t)(nl - (c->buf + c->off));

			if (len && nl[-1] == '\r')
				len--;
			if (len >= size)
				return ferr(-E2BIG, "%s:%u: header line too long", c->host, c->port);
			memcpy(line, c->buf + c->off, len);
			line[len] = '\0';
			c->off = (size_t)(nl + 1 - c->buf);
			return 0;
		}
		if (c->off) {
			memmove(c->buf, c->buf + c->off, c->have - c->off);
			c->have -= c->off;
			c->off = 0;
		}
		n = fill(c);
		if (n <= 0)
			return n ? n : ferr(-ECONNRESET, "%s:%u: connection closed in the response "
					    "header", c->host, c->port);
	}
}

static size_t body_max(const struct http_conn *c)
{
	return c->body_max ? c->body_max : HTTP_BODY_MAX;
}

/* Reads len body bytes (or to the end of the stream if len is -1). */
static int read_body(struct http_conn *c, uint64_t len, struct http_response *r)
{
	while (len) {
		size_t n = c->have - c->off;
		int got;

		if (n) {
			if ((uint64_t)n > len)
				n = (size_t)len;
			if (r->body.len + n > body_max(c))
				return ferr(-EFBIG, "%s:%u: a response body larger than %zu KiB",
					    c->host, c->port, body_max(c) >> 10);
			if (strbuf_add(&r->body, c->buf + c->off, n))
				return -ENOMEM;
			c->off += n;
			if (len != UINT64_MAX)
				len -= n;
			continue;
		}
		got = fill(c);
		if (got < 0)
			return got;
		if (got == 0) {
			if (len == UINT64_MAX)
				return 0;
			return ferr(-ECONNRESET, "%s:%u: connection closed in the response body",
				    c->host, c->port);
		}
	}
	return 0;
}

static int read_chunked(struct http_conn *c, struct http_response *r)
{
	char line[128];

	for (;;) {
		char *end;
		unsigned long long n;
		int err = read_line(c, line, sizeof(line));

		if (err)
			return err;
		n = strtoull(line, &end, 16);
		if (!isxdigit((unsigned char)line[0]) || end - line > 15 ||
		    (*end && *end != ';' && *end != ' ' && *end != '\t')) {
			text_printable(line);
			return ferr(-EPROTO, "%s:%u: bad chunk size '%.40s'", c->host, c->port, line);
		}
		if (n == 0)
			break;
		if ((err = read_body(c, n, r)) || (err = read_line(c, line, sizeof(line))))
			return err;
	}
	/* trailers up to the empty line */
	do {
		int err = read_line(c, line, sizeof(line));
		if (err)
			return err;
	} while (line[0]);
	return 0;
}

int http_send_head(struct http_conn *c, const char *method, const char *target,
		   const struct http_header *h, size_t nh, uint64_t len)
{
	struct strbuf req;
	int err;

	strbuf_init(&req);
	err = strbuf_addf(&req, "%s %s HTTP/1.1\r\nHost: %s", method, target, c->host);
	if (!err && ((c->tls && c->port != 443) || (!c->tls && c->port != 80)))
		err = strbuf_addf(&req, ":%u", c->port);
	if (!err)
		err = strbuf_addf(&req, "\r\nContent-Length: %llu\r\n", (unsigned long long)len);
	for (size_t i = 0; i < nh && !err; i++)
		err = strbuf_addf(&req, "%s: %s\r\n", h[i].name, h[i].value);
	if (!err)
		err = strbuf_add(&req, "\r\n", 2);
	if (!err)
		err = conn_write(c, req.s, req.len);
	if (req.s)
		memset(req.s, 0, req.len); /* it may carry a signature or a token */
	strbuf_release(&req);
	return err;
}

int http_send_body(struct http_conn *c, const void *buf, size_t len)
{
	const char *p = buf;

	/* In steps, so that a rate limit paces the stream evenly. */
	while (len) {
		size_t n = len < SEND_STEP ? len : SEND_STEP;
		int err;

		if (c->rl)
			ratelimit_take(c->rl, n);
		err = conn_write(c, p, n);
		if (err)
			return err;
		c->sent += n;
		p += n;
		len -= n;
	}
	return 0;
}

/* A Content-Length value: decimal digits only, no overflow. */
static bool parse_length(const char *v, uint64_t *len)
{
	const char *end = v + strcspn(v, " \t");
	uint64_t n = 0;

	if (end == v || end[strspn(end, " \t")])
		return false;
	for (; v < end; v++) {
		if (*v < '0' || *v > '9' || n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(*v - '0');
	}
	*len = n;
	return true;
}

/* The status line and header of one answer into r; on return, *clen is
 * the Content-Length (UINT64_MAX without one) and *chunked says whether
 * the body is chunked. Framing that could be read two ways is refused. */
static int read_head(struct http_conn *c, struct http_response *r, uint64_t *clen, bool *chunked)
{
	char line[8192];
	size_t total = 0;
	bool http10;
	int err;

	*clen = UINT64_MAX;
	*chunked = false;
	err = read_line(c, line, sizeof(line));
	if (err)
		return err;
	if (sscanf(line, "HTTP/1.%*d %d", &r->status) != 1 || r->status < 100 || r->status > 999) {
		text_printable(line);
		return ferr(-EPROTO, "%s:%u: not an HTTP response: '%.60s'", c->host, c->port, line);
	}
	http10 = !strncmp(line, "HTTP/1.0", 8);
	r->keep_alive = !http10;
	{
		const char *reason = strchr(line + 9, ' ');
		snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason + 1 : "");
		text_printable(r->reason); /* it reaches the console and the logs */
	}
	for (;;) {
		char *colon, *v;

		if ((err = read_line(c, line, sizeof(line))))
			return err;
		if (!line[0])
			break;
		total += strlen(line) + 2;
		if (total > HTTP_HEADER_MAX)
			return ferr(-E2BIG, "%s:%u: a response header larger than %u KiB", c->host,
				    c->port, HTTP_HEADER_MAX >> 10);
		colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (!strcasecmp(line, "Content-Length")) {
			uint64_t n;

			if (!parse_length(v, &n))
				return ferr(-EPROTO, "%s:%u: a Content-Length that is not a number",
					    c->host, c->port);
			if (*clen != UINT64_MAX && *clen != n)
				return ferr(-EPROTO, "%s:%u: two different Content-Length values",
					    c->host, c->port);
			*clen = n;
		} else if (!strcasecmp(line, "Transfer-Encoding")) {
			if (strcasecmp(v, "chunked"))
				return ferr(-EPROTO, "%s:%u: Transfer-Encoding %.40s is not supported",
					    c->host, c->port, text_printable(v));
			*chunked = true;
		} else if (!strcasecmp(line, "Connection")) {
			r->keep_alive = !strcasecmp(v, "keep-alive") || (!http10 && strcasecmp(v, "close"));
		} else if (!strcasecmp(line, "ETag")) {
			snprintf(r->etag, sizeof(r->etag), "%s", v);
			text_printable(r->etag);
		}
	}
	if (*chunked && *clen != UINT64_MAX)
		return ferr(-EPROTO, "%s:%u: both Content-Length and chunked: the body could be read "
			    "two ways", c->host, c->port);
	return 0;
}

static int read_response(struct http_conn *c, const char *method, struct http_response *r)
{
	uint64_t clen;
	bool chunked;
	int err;

	/* 1xx answers are interim: the real one follows (a few at most). */
	for (int interim = 0;; interim++) {
		if ((err = read_head(c, r, &clen, &chunked)))
			return err;
		if (r->status >= 200 || !strcmp(method, "CONNECT"))
			break;
		if (r->status == 101 || interim == 8)
			return ferr(-EPROTO, "%s:%u: an answer %d where a final answer was due",
				    c->host, c->port, r->status);
	}
	if (!strcmp(method, "HEAD") || !strcmp(method, "CONNECT") || r->status == 204 ||
	    r->status == 304)
		return 0;
	if (chunked)
		return read_chunked(c, r);
	if (clen == UINT64_MAX)
		r->keep_alive = false; /* the body ends where the connection does */
	return read_body(c, clen, r);
}

int http_read_response(struct http_conn *c, const char *method, struct http_response *r)
{
	int err;

	memset(r, 0, sizeof(*r));
	strbuf_init(&r->body);
	/* The whole answer within twice the timeout (bodies are 1 MiB at most,
	 * unless the caller takes longer ones). */
	c->late = false;
	c->deadline = body_max(c) > HTTP_BODY_MAX ? 0 : now_seconds() + 2 * c->timeout_ms / 1000.0;
	err = read_response(c, method, r);
	c->deadline = 0;
	if (err) {
		/* Nothing of a failed answer is kept (a body cut off at 1 MiB). */
		strbuf_release(&r->body);
		strbuf_init(&r->body);
	}
	return err;
}

int http_request(struct http_conn *c, const char *method, const char *target,
		 const struct http_header *h, size_t nh, const void *body, size_t len,
		 struct http_response *r)
{
	int err = http_send_head(c, method, target, h, nh, len);

	if (!err && len)
		err = http_send_body(c, body, len);
	if (err) {
		memset(r, 0, sizeof(*r));
		strbuf_init(&r->body);
		return err;
	}
	return http_read_response(c, method, r);
}

void http_response_release(struct http_response *r)
{
	strbuf_release(&r->body);
}
