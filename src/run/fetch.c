/* https GET of a small file (see fetch.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "run/fetch.h"
#include "run/job.h"
#include "util/err.h"
#include "util/url.h"

int fetch_url(const char *url, const struct sink_opts *o, struct strbuf *out)
{
	struct http_url u;
	struct http_opts http;
	struct http_proxy proxy;
	struct http_conn c;
	struct http_response r;
	struct strbuf shown;
	int err;

	strbuf_init(&shown);
	url_redact(url, &shown);
	err = http_url_parse(&u, url, shown.s ? shown.s : "URL", NULL);
	if (!err && !u.tls)
		err = ferr(-EINVAL, "%s: only https:// URLs are fetched (the job and its "
			   "credentials must not travel in the clear)", shown.s);
	if (!err)
		err = sink_http_opts(o, u.host, true, &http, &proxy);
	if (!err) {
		err = http_open(&c, u.host, u.port, true, &http);
		if (err)
			ferr_ctx(err, "GET %s", shown.s);
	}
	if (err)
		goto out;
	err = http_request(&c, "GET", u.rest[0] == '/' ? u.rest : "/", NULL, 0, NULL, 0, &r);
	http_close(&c);
	if (err) {
		ferr_ctx(err, "GET %s", shown.s);
		goto out;
	}
	if (r.status != 200)
		err = ferr(r.status == 404 ? -ENOENT : r.status == 403 ? -EACCES : -EIO,
			   "GET %s: HTTP %d %s", shown.s, r.status, r.reason);
	else
		err = strbuf_add(out, r.body.s ? r.body.s : "", r.body.len);
	http_response_release(&r);
out:
	strbuf_release(&shown);
	return err;
}
