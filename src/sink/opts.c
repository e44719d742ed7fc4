/* The upload options, set by name: ferry capture's and ferry push's
 * command-line options and ferry run's ferry.* keys go through the same
 * checks here (see sink.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/sink.h"
#include "util/err.h"
#include "util/size.h"

void sink_opts_init(struct sink_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->retries = -1;
}

static int set_number(const char *name, const char *value, unsigned long lo, unsigned long hi,
		      unsigned long *n)
{
	char *end;

	*n = strtoul(value, &end, 10);
	if (*end || end == value || *n < lo || *n > hi)
		return ferr(-EINVAL, "--%s %s: expected a number from %lu to %lu", name, value, lo,
			    hi);
	return 0;
}

static int set_resolve(struct sink_opts *o, const char *value)
{
	const char *colon = strrchr(value, ':');

	if (!colon || colon == value || !colon[1] ||
	    (size_t)(colon - value) >= sizeof(o->resolve_host) ||
	    strlen(colon + 1) >= sizeof(o->resolve_ip) || !http_is_ip(colon + 1))
		return ferr(-EINVAL, "--resolve %s: expected HOST:IP", value);
	snprintf(o->resolve_host, sizeof(o->resolve_host), "%.*s", (int)(colon - value), value);
	snprintf(o->resolve_ip, sizeof(o->resolve_ip), "%s", colon + 1);
	return 0;
}

int sink_opts_set(struct sink_opts *o, const char *name, const char *value)
{
	unsigned long n;
	int err = 0;

	if (!strcmp(name, "endpoint"))
		o->endpoint = value;
	else if (!strcmp(name, "region"))
		o->region = value;
	else if (!strcmp(name, "credentials"))
		o->cred_file = value;
	else if (!strcmp(name, "profile"))
		o->profile = value;
	else if (!strcmp(name, "virtual-host"))
		o->virtual_host = true;
	else if (!strcmp(name, "ca"))
		o->ca = value;
	else if (!strcmp(name, "insecure"))
		o->insecure = true;
	else if (!strcmp(name, "proxy"))
		o->proxy = value, o->no_proxy = !*value;
	else if (!strcmp(name, "part-size"))
		err = parse_bytes("--part-size", value, &o->part_size);
	else if (!strcmp(name, "rate"))
		err = parse_bytes("--rate", value, &o->rate);
	else if (!strcmp(name, "retries"))
		err = set_number(name, value, 0, 100, &n), o->retries = err ? o->retries : (int)n;
	else if (!strcmp(name, "timeout"))
		err = set_number(name, value, 1, 3600, &n), o->timeout = err ? o->timeout : (unsigned)n;
	else if (!strcmp(name, "parallel"))
		err = set_number(name, value, 1, 32, &n), o->parallel = err ? o->parallel
									 : (unsigned)n;
	else if (!strcmp(name, "resolve"))
		err = set_resolve(o, value);
	else
		return 0;
	return err ? err : 1;
}

int sink_opts_check(const char *target, const struct sink_opts *o)
{
	bool s3 = !strncmp(target, "s3://", 5);

	if (s3 && !o->endpoint)
		return ferr(-EINVAL, "--endpoint URL is needed for %s", target);
	if (s3 && !strncmp(o->endpoint, "http://", 7) && !o->insecure)
		return ferr(-EINVAL, "--endpoint %s: plain HTTP would send the image and its signed "
			    "requests in the clear; use https:// (or --insecure to accept that)",
			    o->endpoint);
	if (!s3 && (o->endpoint || o->cred_file || o->profile || o->virtual_host || o->part_size ||
		    o->parallel || o->region || o->retries >= 0))
		return ferr(-EINVAL, "--endpoint, --region, --credentials, --profile, "
			    "--virtual-host, --part-size, --parallel and --retries are for s3:// "
			    "targets");
	if (!sink_is_remote(target) && (o->rate || o->ca || o->insecure || o->resolve_host[0] ||
					o->proxy || o->timeout))
		return ferr(-EINVAL, "--rate, --ca, --insecure, --resolve, --proxy and --timeout are "
			    "for s3:// and https:// targets");
	return 0;
}
