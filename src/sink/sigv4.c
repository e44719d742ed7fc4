/* AWS Signature Version 4 (see sigv4.h): canonical request, string to sign,
 * the derived signing key, on mbedtls's SHA-256 and HMAC. */
#include <ctype.h>
#include <errno.h>
#include <mbedtls/md.h>
#include <mbedtls/sha256.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/sigv4.h"
#include "util/err.h"

#define ALGORITHM "AWS4-HMAC-SHA256"

static void hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

void sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
	uint8_t sum[32];

	mbedtls_sha256_ret(data, len, sum, 0);
	hex(sum, sizeof(sum), out);
}

static int hmac(const void *key, size_t klen, const char *msg, uint8_t out[32])
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

	if (!md || mbedtls_md_hmac(md, key, klen, (const unsigned char *)msg, strlen(msg), out))
		return ferr(-EIO, "SigV4: HMAC-SHA256 failed");
	return 0;
}

void sigv4_amz_date(time_t t, char out[17])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

int sigv4_uri_encode(const char *s, bool encode_slash, struct strbuf *out)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int err;

		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~' ||
		    (*p == '/' && !encode_slash))
			err = strbuf_add(out, (const char *)p, 1);
		else
			err = strbuf_addf(out, "%%%02X", *p);
		if (err)
			return err;
	}
	return 0;
}

struct pair {
	const char *s; /* "name=value" or "name" */
	size_t len;
};

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c ? c : (al > bl) - (al < bl);
}

/* By name, then by value: "a=1" before "a-b=2" although '=' > '-'. */
static int cmp_pair(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	const char *xe = memchr(x->s, '=', x->len), *ye = memchr(y->s, '=', y->len);
	size_t xn = xe ? (size_t)(xe - x->s) : x->len, yn = ye ? (size_t)(ye - y->s) : y->len;
	int c = cmp_bytes(x->s, xn, y->s, yn);

	if (c)
		return c;
	return cmp_bytes(x->s + xn, x->len - xn, y->s + yn, y->len - yn);
}

/* The query's parameters sorted by name (then value), "name=" for a bare
 * name. The caller encoded each part with sigv4_uri_encode. */
static int canonical_query(const char *q, struct strbuf *out)
{
	struct pair *v = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);

		if (len) {
			if (n == cap) {
				struct pair *nv = realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*v));
				if (!nv) {
					free(v);
					return ferr(-ENOMEM, "out of memory");
				}
				v = nv;
			}
			v[n].s = q;
			v[n++].len = len;
		}
		q += len + (amp ? 1 : 0);
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_pair);
	for (size_t i = 0; i < n && !err; i++) {
		bool has_eq = memchr(v[i].s, '=', v[i].len) != NULL;

		err = strbuf_addf(out, "%s%.*s%s", i ? "&" : "", (int)v[i].len, v[i].s,
				  has_eq ? "" : "=");
	}
	free(v);
	return err;
}

struct hdr {
	char name[64];
	const char *value;
};

static int cmp_hdr(const void *a, const void *b)
{
	return strcmp(((const struct hdr *)a)->name, ((const struct hdr *)b)->name);
}

/* Lower-case names, sorted; values trimmed with inner runs of spaces made
 * one. Also the signed-header list. */
static int canonical_headers(const struct sigv4_request *r, struct strbuf *out,
			     struct strbuf *signed_names)
{
	struct hdr *h = calloc(r->nheaders ? r->nheaders : 1, sizeof(*h));
	int err = 0;

	if (!h)
		return ferr(-ENOMEM, "out of memory");
	for (size_t i = 0; i < r->nheaders; i++) {
		size_t n = strlen(r->headers[i].name);

		if (n >= sizeof(h[i].name)) {
			free(h);
			return ferr(-EINVAL, "SigV4: header name %s is too long", r->headers[i].name);
		}
		for (size_t c = 0; c <= n; c++)
			h[i].name[c] = (char)tolower((unsigned char)r->headers[i].name[c]);
		h[i].value = r->headers[i].value;
	}
	qsort(h, r->nheaders, sizeof(*h), cmp_hdr);
	for (size_t i = 0; i < r->nheaders && !err; i++) {
		const char *v = h[i].value;
		bool space = false;

		err = strbuf_addf(out, "%s:", h[i].name);
		while (*v == ' ' || *v == '\t')
			v++;
		for (; *v && !err; v++) {
			if (*v == ' ' || *v == '\t') {
				space = true;
				continue;
			}
			if (space)
				err = strbuf_add(out, " ", 1);
			space = false;
			if (!err)
				err = strbuf_add(out, v, 1);
		}
		if (!err)
			err = strbuf_add(out, "\n", 1);
		if (!err)
			err = strbuf_addf(signed_names, "%s%s", i ? ";" : "", h[i].name);
	}
	free(h);
	return err;
}

static int canonical(const struct sigv4_request *r, struct strbuf *out, struct strbuf *names)
{
	int err = strbuf_addf(out, "%s\n%s\n", r->method, r->path && *r->path ? r->path : "/");

	if (!err)
		err = canonical_query(r->query, out);
	if (!err)
		err = strbuf_add(out, "\n", 1);
	if (!err)
		err = canonical_headers(r, out, names);
	if (!err)
		err = strbuf_addf(out, "\n%s\n%s", names->s ? names->s : "", r->payload_sha256);
	return err;
}

int sigv4_canonical_request(const struct sigv4_request *r, struct strbuf *out)
{
	struct strbuf names;
	int err;

	strbuf_init(&names);
	err = canonical(r, out, &names);
	strbuf_release(&names);
	return err;
}

int sigv4_authorization(const struct sigv4_request *r, const struct sigv4_key *k,
			struct strbuf *out)
{
	struct strbuf creq, names, sts, secret;
	uint8_t key[32], sig[32];
	char creq_hash[65], sig_hex[65], date[9];
	int err;

	if (!r->amz_date || strlen(r->amz_date) != 16)
		return ferr(-EINVAL, "SigV4: bad x-amz-date '%s'", r->amz_date ? r->amz_date : "");
	memcpy(date, r->amz_date, 8);
	date[8] = '\0';
	strbuf_init(&creq);
	strbuf_init(&names);
	strbuf_init(&sts);
	strbuf_init(&secret);
	err = canonical(r, &creq, &names);
	if (err)
		goto out;
	sigv4_sha256_hex(creq.s, creq.len, creq_hash);
	err = strbuf_addf(&sts, ALGORITHM "\n%s\n%s/%s/%s/aws4_request\n%s", r->amz_date, date,
			  r->region, r->service, creq_hash);
	/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region),
	 * service), "aws4_request") */
	if (!err)
		err = strbuf_addf(&secret, "AWS4%s", k->secret_key);
	if (!err)
		err = hmac(secret.s, secret.len, date, key);
	if (!err)
		err = hmac(key, sizeof(key), r->region, key);
	if (!err)
		err = hmac(key, sizeof(key), r->service, key);
	if (!err)
		err = hmac(key, sizeof(key), "aws4_request", key);
	if (!err)
		err = hmac(key, sizeof(key), sts.s, sig);
	if (err)
		goto out;
	hex(sig, sizeof(sig), sig_hex);
	err = strbuf_addf(out, ALGORITHM " Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
			  "Signature=%s", k->access_key, date, r->region, r->service,
			  names.s ? names.s : "", sig_hex);
out:
	/* The secret and everything derived from it leave no copy behind. */
	if (secret.s)
		memset(secret.s, 0, secret.cap);
	memset(key, 0, sizeof(key));
	strbuf_release(&secret);
	strbuf_release(&sts);
	strbuf_release(&names);
	strbuf_release(&creq);
	return err;
}
