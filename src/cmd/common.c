/* Shared command-line plumbing (see cmd.h). */
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

void upload_options_init(struct sink_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->retries = -1;
}

int upload_option(const char *cmd, int c, const char *arg, struct sink_opts *o)
{
	char *end;
	unsigned long n;
	const char *colon;

	switch (c) {
	case OPT_ENDPOINT: o->endpoint = arg; break;
	case OPT_REGION: o->region = arg; break;
	case OPT_CREDENTIALS: o->cred_file = arg; break;
	case OPT_PROFILE: o->profile = arg; break;
	case OPT_VIRTUAL_HOST: o->virtual_host = true; break;
	case OPT_CA: o->ca = arg; break;
	case OPT_INSECURE: o->insecure = true; break;
	case OPT_PROXY:
		o->proxy = arg;
		o->no_proxy = !*arg;
		break;
	case OPT_PART_SIZE:
		if (parse_bytes("--part-size", arg, &o->part_size))
			return usage_error(cmd, "%s", ferr_msg());
		break;
	case OPT_RATE:
		if (parse_bytes("--rate", arg, &o->rate))
			return usage_error(cmd, "%s", ferr_msg());
		break;
	case OPT_RETRIES:
		n = strtoul(arg, &end, 10);
		if (*end || end == arg || n > 100)
			return usage_error(cmd, "--retries %s: expected a number from 0 to 100", arg);
		o->retries = (int)n;
		break;
	case OPT_PARALLEL:
		n = strtoul(arg, &end, 10);
		if (*end || end == arg || n < 1 || n > 32)
			return usage_error(cmd, "--parallel %s: expected a number from 1 to 32", arg);
		o->parallel = (unsigned)n;
		break;
	case OPT_RESOLVE:
		colon = strrchr(arg, ':');
		if (!colon || colon == arg || !colon[1] ||
		    (size_t)(colon - arg) >= sizeof(o->resolve_host) ||
		    strlen(colon + 1) >= sizeof(o->resolve_ip) || !http_is_ip(colon + 1))
			return usage_error(cmd, "--resolve %s: expected HOST:IP", arg);
		snprintf(o->resolve_host, sizeof(o->resolve_host), "%.*s", (int)(colon - arg), arg);
		snprintf(o->resolve_ip, sizeof(o->resolve_ip), "%s", colon + 1);
		break;
	default:
		return 0;
	}
	return 1;
}

int upload_options_done(const char *cmd, const char *target, struct sink_opts *o)
{
	bool s3 = !strncmp(target, "s3://", 5);

	if (s3 && !o->endpoint)
		return usage_error(cmd, "--endpoint URL is needed for %s", target);
	if (!s3 && (o->endpoint || o->cred_file || o->profile || o->virtual_host || o->part_size ||
		    o->parallel || o->region || o->retries >= 0))
		return usage_error(cmd, "--endpoint, --region, --credentials, --profile, "
				   "--virtual-host, --part-size, --parallel and --retries are for "
				   "s3:// targets");
	if (!sink_is_remote(target) && (o->rate || o->ca || o->insecure || o->resolve_host[0] ||
					o->proxy))
		return usage_error(cmd, "--rate, --ca, --insecure, --resolve and --proxy are for "
				   "s3:// and https:// targets");
	if (o->insecure)
		fputs("ferry: warning: --insecure: the server's certificate is not checked; anyone "
		      "on the path can read and change the upload\n", stderr);
	return 0;
}

void upload_usage(FILE *f)
{
	fputs("Upload options (s3:// and https:// targets):\n"
	      "     --endpoint URL       the storage's S3 endpoint (https://... or http://...)\n"
	      "     --region NAME        the SigV4 region (default us-east-1)\n"
	      "     --credentials FILE   AWS shared-credentials file (default: the\n"
	      "                          AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment)\n"
	      "     --profile NAME       the section of FILE (default: default)\n"
	      "     --virtual-host       BUCKET.host/KEY addressing (default: host/BUCKET/KEY)\n"
	      "     --part-size SIZE     at least this per part (default 16Mi; grown to fit\n"
	      "                          10,000 parts)\n"
	      "     --parallel N         parts uploading at once, each on its own connection\n"
	      "                          (default 4)\n"
	      "     --retries N          attempts after the first on network errors, HTTP 5xx\n"
	      "                          and 429 (default 8: about two minutes of backoff)\n"
	      "     --rate BYTES/s       limit the upload rate (k, M, G: powers of 1000)\n"
	      "     --ca FILE            trust these CA certificates (PEM); or sha256:HEX: trust\n"
	      "                          only the server certificate with this SHA-256 (of its DER)\n"
	      "     --resolve HOST:IP    connect to IP for HOST; the certificate is checked for HOST\n"
	      "     --proxy URL          tunnel through this HTTP proxy (http://[USER:PASS@]HOST:PORT;\n"
	      "                          default: https_proxy; \"\" for none)\n"
	      "     --insecure           do not check the server's certificate (warned about)\n", f);
}

static void on_warning(const char *msg, void *arg)
{
	struct warnings *w = arg;
	char **v;

	/* The fix stage and the plan may both look at a damaged filesystem:
	 * say it once. */
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->v[i], msg))
			return;
	fprintf(stderr, "ferry: warning: %s\n", msg);
	v = realloc(w->v, (w->n + 1) * sizeof(*v));
	if (!v)
		return;
	w->v = v;
	w->v[w->n] = strdup(msg);
	if (w->v[w->n])
		w->n++;
}

void warnings_capture(struct warnings *w)
{
	memset(w, 0, sizeof(*w));
	ferry_set_warn_handler(on_warning, w);
}

void warnings_json(const struct warnings *w, struct json *j)
{
	json_arr_begin(j, "warnings");
	for (size_t i = 0; i < w->n; i++)
		json_str(j, NULL, w->v[i]);
	json_arr_end(j);
}

void warnings_release(struct warnings *w)
{
	ferry_set_warn_handler(NULL, NULL);
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	memset(w, 0, sizeof(*w));
}
