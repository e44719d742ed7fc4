/* Small files over https for ferry run: the job file and the credentials
 * that ferry.config and ferry.credentials may name by URL. */
#ifndef FERRY_FETCH_H
#define FERRY_FETCH_H

#include "sink/sink.h"
#include "util/strbuf.h"

/* GETs url (https only, no redirects, at most 1 MiB) with the TLS, proxy
 * and --resolve settings of o. Messages name the URL without its query. */
int fetch_url(const char *url, const struct sink_opts *o, struct strbuf *out);

#endif
