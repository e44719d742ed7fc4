/* S3 targets and endpoints, credentials from a file and the environment
 * (never echoed), the part plan within S3's limits, error documents. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sink/s3conf.h"
#include "tap.h"
#include "util/err.h"

static void targets(void)
{
	struct s3_target t;

	is_int(s3_target_parse(&t, "s3://images/rack4/web01.qcow2", "https://cos.ap-guangzhou.myqcloud.com", false), 0,
	       "a COS target");
	ok(!strcmp(t.bucket, "images") && !strcmp(t.key, "rack4/web01.qcow2") && t.https &&
	   !strcmp(t.host, "cos.ap-guangzhou.myqcloud.com") && t.port == 443 && !t.base[0],
	   "bucket, key, host, port 443");
	is_int(s3_target_parse(&t, "s3://b01/k", "http://127.0.0.1:7480/", false), 0, "a loopback endpoint");
	ok(!t.https && !strcmp(t.host, "127.0.0.1") && t.port == 7480 && !t.base[0],
	   "http, port 7480, the trailing '/' is no base path");
	is_int(s3_target_parse(&t, "s3://b01/k", "https://[::1]:8443/s3/", false), 0, "an IPv6 endpoint with a path");
	ok(!strcmp(t.host, "::1") && t.port == 8443 && !strcmp(t.base, "/s3"), "[::1]:8443, base /s3");
	is_int(s3_target_parse(&t, "s3://images", "https://h", false), -EINVAL, "no key");
	is_str(ferr_msg(), "target s3://images: no object key after the bucket (s3://BUCKET/KEY)",
	       "the message says what is missing");
	is_int(s3_target_parse(&t, "s3://Images/k", "https://h", false), -EINVAL, "an upper-case bucket");
	is_int(s3_target_parse(&t, "s3://images/k", NULL, false), -EINVAL, "no endpoint");
	is_int(s3_target_parse(&t, "s3://images/k", "ftp://h", false), -EINVAL, "not http(s)");
	is_int(s3_target_parse(&t, "s3://images/k", "https://h:99999", false), -EINVAL, "a bad port");
	is_int(s3_target_parse(&t, "s3://my.images/k", "https://h", true), -EINVAL,
	       "a dotted bucket with virtual-host addressing over https");
	is_int(s3_target_parse(&t, "s3://my.images/k", "https://h", false), 0, "is fine path-style");
}

static void credentials(const char *dir)
{
	struct s3_credentials c;
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/credentials", dir);
	f = fopen(path, "w");
	fputs("# written by the operator\n[default]\naws_access_key_id = AKIDDEFAULT\n"
	      "aws_secret_access_key=s3cr3t-default \r\n\n[profile rack4]\n"
	      "aws_access_key_id=AKIDRACK4\naws_secret_access_key = s3cr3t-rack4\n"
	      "aws_session_token = tok-rack4\n", f);
	fclose(f);
	is_int(s3_credentials_load(&c, path, NULL), 0, "the [default] profile");
	ok(!strcmp(c.access_key, "AKIDDEFAULT") && !strcmp(c.secret_key, "s3cr3t-default") &&
	   !c.session_token[0], "keys trimmed of spaces and CR");
	is_int(s3_credentials_load(&c, path, "rack4"), 0, "a [profile NAME] section");
	ok(!strcmp(c.secret_key, "s3cr3t-rack4") && !strcmp(c.session_token, "tok-rack4"),
	   "secret and session token");
	s3_credentials_clear(&c);
	ok(!c.secret_key[0] && !c.access_key[0], "cleared");
	is_int(s3_credentials_load(&c, path, "nope"), -ENOENT, "a missing profile");
	ok(strstr(ferr_msg(), "no [nope] section") && !strstr(ferr_msg(), "s3cr3t"),
	   "the message names the section, never a secret: %s", ferr_msg());

	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-env", 1);
	unsetenv("AWS_SESSION_TOKEN");
	is_int(s3_credentials_load(&c, NULL, NULL), 0, "from the environment");
	ok(!strcmp(c.access_key, "AKIDENV") && !strcmp(c.secret_key, "s3cr3t-env"), "env keys");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	is_int(s3_credentials_load(&c, NULL, NULL), -ENOENT, "an access key without a secret");
	ok(!strstr(ferr_msg(), "AKIDENV"), "the message does not echo the key: %s", ferr_msg());
	unsetenv("AWS_ACCESS_KEY_ID");
	unlink(path);
}

static void parts(void)
{
	uint64_t p;
	const uint64_t mib = 1 << 20;

	is_int(s3_part_size(3 * mib, 0, &p), 0, "a small object");
	is_int(p, 5 * mib, "parts are 5 MiB at least");
	s3_part_size(100ull << 30, 16 * mib, &p);
	is_int(p, 16 * mib, "100 GiB with 16 MiB parts: 6400 parts, kept");
	s3_part_size(500ull << 30, 16 * mib, &p);
	ok(p % mib == 0 && (500ull << 30) / p < 10000 && p >= 16 * mib,
	   "500 GiB: grown to %llu MiB so it fits in 10,000 parts", (unsigned long long)(p / mib));
	s3_part_size(0, 8 * mib, &p);
	ok((5ull << 40) / p <= 10000, "unknown size: parts large enough for 5 TiB (%llu MiB)",
	   (unsigned long long)(p / mib));
	is_int(s3_part_size((5ull << 40) + 1, 0, &p), -EFBIG, "more than 5 TiB is refused");
}

static void errors(void)
{
	static const char doc[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code>"
		"<Message>The request signature we calculated does not match &amp; so on</Message>"
		"<RequestId>tx0001</RequestId></Error>";
	char code[64], msg[256];

	s3_error_parse(doc, sizeof(doc) - 1, code, sizeof(code), msg, sizeof(msg));
	is_str(code, "SignatureDoesNotMatch", "the error code");
	is_str(msg, "The request signature we calculated does not match & so on",
	       "the message, unescaped");
	s3_error_parse("<html>502 Bad Gateway</html>", 28, code, sizeof(code), msg, sizeof(msg));
	ok(!code[0] && !msg[0], "a body that is not an S3 error gives nothing");
	s3_error_parse(doc, 40, code, sizeof(code), msg, sizeof(msg));
	ok(!code[0], "a cut-off document gives nothing");
}

int main(void)
{
	char dir[192];

	tap_plan(14 + 11 + 6 + 4);
	if (!tap_scratch(dir, sizeof(dir), "s3conf"))
		return 1;
	targets();
	credentials(dir);
	parts();
	errors();
	rmdir(dir);
	return tap_failed ? 1 : 0;
}
