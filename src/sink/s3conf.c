/* S3 target, credentials, part plan and error replies (see s3conf.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/http.h"
#include "sink/s3conf.h"
#include "util/err.h"
#include "util/text.h"

#define CRED_FILE_MAX (1u << 20)

static bool bucket_ok(const char *b, size_t n)
{
	if (n < 3 || n > 63 || !isalnum((unsigned char)b[0]) ||
	    !isalnum((unsigned char)b[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '-' ||
		      b[i] == '.'))
			return false;
	return true;
}

static int parse_endpoint(struct s3_target *t, const char *url)
{
	struct http_url u;
	int err = http_url_parse(&u, url, "--endpoint", NULL);

	if (err)
		return err;
	if (u.user)
		return ferr(-EINVAL, "--endpoint %s: credentials do not go in the URL (use "
			    "--credentials FILE or the environment)", u.host);
	if (strpbrk(u.rest, "?#"))
		return ferr(-EINVAL, "--endpoint %s: a query or fragment has no place here", url);
	t->https = u.tls;
	t->port = u.port;
	snprintf(t->host, sizeof(t->host), "%s", u.host);
	if ((size_t)snprintf(t->base, sizeof(t->base), "%s", u.rest) >= sizeof(t->base))
		return ferr(-EINVAL, "--endpoint %s: path too long", url);
	/* "/" and "" are the same base; a base never ends with '/'. */
	for (size_t n = strlen(t->base); n && t->base[n - 1] == '/';)
		t->base[--n] = '\0';
	return 0;
}

int s3_target_parse(struct s3_target *t, const char *target, const char *endpoint,
		    bool virtual_host)
{
	const char *b, *slash;
	size_t blen;
	int err;

	memset(t, 0, sizeof(*t));
	if (strncmp(target, "s3://", 5))
		return ferr(-EINVAL, "target %s: not an s3://BUCKET/KEY address", target);
	b = target + 5;
	slash = strchr(b, '/');
	if (!slash || !slash[1])
		return ferr(-EINVAL, "target %s: no object key after the bucket (s3://BUCKET/KEY)",
			    target);
	blen = (size_t)(slash - b);
	if (!bucket_ok(b, blen))
		return ferr(-EINVAL, "target %s: '%.*s' is not a valid bucket name (3-63 of a-z, "
			    "0-9, '-' and '.')", target, (int)blen, b);
	memcpy(t->bucket, b, blen);
	if (strlen(slash + 1) >= sizeof(t->key))
		return ferr(-EINVAL, "target %s: the key is longer than S3 allows", target);
	snprintf(t->key, sizeof(t->key), "%s", slash + 1);
	if (!endpoint || !*endpoint)
		return ferr(-EINVAL, "target %s: --endpoint URL is needed (the cloud's S3 "
			    "endpoint, e.g. https://cos.ap-guangzhou.myqcloud.com)", target);
	t->virtual_host = virtual_host;
	err = parse_endpoint(t, endpoint);
	if (!err && virtual_host && t->https && strchr(t->bucket, '.'))
		/* BUCKET.host would not match the endpoint's *.host certificate. */
		err = ferr(-EINVAL, "target %s: a bucket name with '.' needs path-style "
			   "addressing over https", target);
	return err;
}

static void copy_value(char *dst, size_t len, const char *v, size_t n)
{
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
		n--;
	if (n >= len)
		n = len - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static int read_cred_file(struct s3_credentials *c, const char *file, const char *profile)
{
	char line[4096];
	bool in = false, seen = false;
	FILE *f = fopen(file, "r");
	unsigned lineno = 0;

	if (!f)
		return ferr_errno(-errno, "credentials %s", file);
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *eq;
		size_t n;

		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, "\r\n");
		p[n] = '\0';
		if (!*p || *p == '#' || *p == ';')
			continue;
		if (*p == '[') {
			char *close = strchr(p, ']');
			if (!close) {
				fclose(f);
				return ferr(-EINVAL, "credentials %s line %u: a section without ']'",
					    file, lineno);
			}
			*close = '\0';
			in = !strcmp(p + 1, profile) ||
			     (!strncmp(p + 1, "profile ", 8) && !strcmp(p + 9, profile));
			seen |= in;
			continue;
		}
		if (!in)
			continue;
		eq = strchr(p, '=');
		if (!eq) {
			fclose(f);
			return ferr(-EINVAL, "credentials %s line %u: not 'name = value'", file,
				    lineno);
		}
		n = (size_t)(eq - p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		eq++;
		while (*eq == ' ' || *eq == '\t')
			eq++;
		if (n == 17 && !strncmp(p, "aws_access_key_id", n))
			copy_value(c->access_key, sizeof(c->access_key), eq, strlen(eq));
		else if (n == 21 && !strncmp(p, "aws_secret_access_key", n))
			copy_value(c->secret_key, sizeof(c->secret_key), eq, strlen(eq));
		else if (n == 17 && !strncmp(p, "aws_session_token", n))
			copy_value(c->session_token, sizeof(c->session_token), eq, strlen(eq));
	}
	fclose(f);
	memset(line, 0, sizeof(line));
	if (!seen)
		return ferr(-ENOENT, "credentials %s: no [%s] section", file, profile);
	return 0;
}

int s3_credentials_load(struct s3_credentials *c, const char *file, const char *profile)
{
	const char *from = file;
	int err = 0;

	memset(c, 0, sizeof(*c));
	if (file) {
		err = read_cred_file(c, file, profile ? profile : "default");
	} else {
		const char *a = getenv("AWS_ACCESS_KEY_ID"), *s = getenv("AWS_SECRET_ACCESS_KEY");
		const char *t = getenv("AWS_SESSION_TOKEN");

		from = "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)";
		if (a)
			copy_value(c->access_key, sizeof(c->access_key), a, strlen(a));
		if (s)
			copy_value(c->secret_key, sizeof(c->secret_key), s, strlen(s));
		if (t)
			copy_value(c->session_token, sizeof(c->session_token), t, strlen(t));
	}
	if (!err && (!c->access_key[0] || !c->secret_key[0]))
		err = ferr(-ENOENT, "no S3 credentials in %s: an access key and a secret key are "
			   "needed (or --credentials FILE)", from);
	if (err)
		s3_credentials_clear(c);
	return err;
}

void s3_credentials_clear(struct s3_credentials *c)
{
	volatile char *p = (volatile char *)c;

	for (size_t i = 0; i < sizeof(*c); i++)
		p[i] = 0;
}

int s3_part_size(uint64_t size, uint64_t want, uint64_t *part)
{
	uint64_t p = want > S3_MIN_PART ? want : S3_MIN_PART;
	uint64_t total = size ? size : S3_MAX_OBJECT;

	if (size > S3_MAX_OBJECT)
		return ferr(-EFBIG, "%llu bytes is more than the 5 TiB S3 takes in one object",
			    (unsigned long long)size);
	if (p > S3_MAX_PART)
		p = S3_MAX_PART;
	if ((total + p - 1) / p > S3_MAX_PARTS) {
		uint64_t mib = 1 << 20;

		p = (total + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
		p = (p + mib - 1) / mib * mib;
	}
	*part = p;
	return 0;
}

const char *s3_xml_text(const char *body, size_t len, const char *tag, char *out, size_t olen)
{
	char open[40], close[40];
	const char *s, *e, *end = body + len;
	size_t n = 0;

	out[0] = '\0';
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	s = memmem(body, len, open, strlen(open));
	if (!s)
		return NULL;
	s += strlen(open);
	e = memmem(s, (size_t)(end - s), close, strlen(close));
	if (!e)
		return NULL;
	while (s < e && n + 1 < olen) {
		static const struct {
			const char *ent;
			char c;
		} ents[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'},
			    {"&apos;", '\''}};
		size_t i;

		for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
			size_t el = strlen(ents[i].ent);
			if ((size_t)(e - s) >= el && !memcmp(s, ents[i].ent, el)) {
				out[n++] = ents[i].c;
				s += el;
				break;
			}
		}
		if (i == sizeof(ents) / sizeof(ents[0]))
			out[n++] = (char)(*s >= 0x20 || *s < 0 ? *s : ' '), s++;
	}
	out[n] = '\0';
	return e + strlen(close);
}

void s3_error_parse(const char *body, size_t len, char *code, size_t code_len, char *msg,
		    size_t msg_len)
{
	code[0] = msg[0] = '\0';
	if (!body || !memmem(body, len, "<Error>", 7))
		return;
	/* The server's words reach the console and the logs. */
	s3_xml_text(body, len, "Code", code, code_len);
	s3_xml_text(body, len, "Message", msg, msg_len);
	text_printable(code);
	text_printable(msg);
}
