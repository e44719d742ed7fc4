/* Shared command-line plumbing (see cmd.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "util/err.h"
#include "util/size.h"

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ferry %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'ferry %s --help'.\n", cmd);
	return EXIT_USAGE;
}

int fail(void)
{
	fprintf(stderr, "ferry: %s\n", ferr_msg());
	return EXIT_FAILED;
}

int upload_option(const char *cmd, int c, const char *arg, struct sink_opts *o)
{
	static const char *const names[] = {
		[OPT_ENDPOINT - OPT_ENDPOINT] = "endpoint", [OPT_REGION - OPT_ENDPOINT] = "region",
		[OPT_CREDENTIALS - OPT_ENDPOINT] = "credentials",
		[OPT_PROFILE - OPT_ENDPOINT] = "profile",
		[OPT_VIRTUAL_HOST - OPT_ENDPOINT] = "virtual-host",
		[OPT_PART_SIZE - OPT_ENDPOINT] = "part-size",
		[OPT_PARALLEL - OPT_ENDPOINT] = "parallel", [OPT_RATE - OPT_ENDPOINT] = "rate",
		[OPT_CA - OPT_ENDPOINT] = "ca", [OPT_RESOLVE - OPT_ENDPOINT] = "resolve",
		[OPT_PROXY - OPT_ENDPOINT] = "proxy", [OPT_INSECURE - OPT_ENDPOINT] = "insecure",
		[OPT_RETRIES - OPT_ENDPOINT] = "retries",
		[OPT_TIMEOUT - OPT_ENDPOINT] = "timeout",
	};
	int r;

	if (c < OPT_ENDPOINT || c > OPT_TIMEOUT)
		return 0;
	r = sink_opts_set(o, names[c - OPT_ENDPOINT], arg);
	return r < 0 ? usage_error(cmd, "%s", ferr_msg()) : r;
}

int upload_options_done(const char *cmd, const char *target, struct sink_opts *o)
{
	if (sink_opts_check(target, o))
		return usage_error(cmd, "%s", ferr_msg());
	if (o->insecure)
		fputs("ferry: warning: " SINK_INSECURE_WARNING "\n", stderr);
	return 0;
}

void upload_usage(FILE *f)
{
	fputs("Upload options (s3:// and https:// targets):\n"
	      "     --endpoint URL       the storage's S3 endpoint (https://...; http://...\n"
	      "                          only with --insecure)\n"
	      "     --region NAME        the SigV4 region (default us-east-1)\n"
	      "     --credentials FILE   AWS shared-credentials file (default: the\n"
	      "                          AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment)\n"
	      "     --profile NAME       the section of FILE (default: default)\n"
	      "     --virtual-host       BUCKET.host/KEY addressing (default: host/BUCKET/KEY)\n"
	      "     --part-size SIZE     at least this per part (default 16Mi; grown to fit\n"
	      "                          10,000 parts)\n"
	      "     --parallel N         parts sent at once, each on its own connection, and\n"
	      "                          one more while another awaits its answer (default 4)\n"
	      "     --retries N          attempts after the first on network errors, HTTP 5xx\n"
	      "                          and 429 (default 8: about two minutes of backoff)\n"
	      "     --timeout SECONDS    give up a server silent this long, or a TLS handshake\n"
	      "                          or an answer taking twice as long (default 60)\n"
	      "     --rate BYTES/s       limit the upload rate (k, M, G: powers of 1000)\n"
	      "     --ca FILE            trust these CA certificates (PEM); or sha256:HEX: trust\n"
	      "                          only the server certificate with this SHA-256 (of its DER)\n"
	      "     --resolve HOST:IP    connect to IP for HOST; the certificate is checked for HOST\n"
	      "     --proxy URL          tunnel through this HTTP proxy (http://[USER:PASS@]HOST:PORT;\n"
	      "                          default: https_proxy; \"\" for none)\n"
	      "     --insecure           do not check the server's certificate; accept TLS 1.0\n"
	      "                          and 1.1 and http:// endpoints (warned about)\n", f);
}

int read_text(const char *path, struct strbuf *out)
{
	FILE *f = fopen(path, "re");
	char buf[4096];
	size_t n;
	int err = 0;

	if (!f)
		return ferr_errno(-errno, "cannot open %s", path);
	while (!err && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		err = out->len + n > (1u << 20) ? ferr(-EFBIG, "%s: more than 1 MiB", path)
						 : strbuf_add(out, buf, n);
	if (!err && ferror(f))
		err = ferr_errno(-EIO, "cannot read %s", path);
	fclose(f);
	return err;
}
