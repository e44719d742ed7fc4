/* URLs as Ferry shows them (see url.h). */
#include <string.h>

#include "util/url.h"

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

size_t url_scheme_len(const char *url)
{
	size_t n = 0;

	if (!is_alpha(url[0]))
		return 0;
	while (is_alpha(url[n]) || (url[n] >= '0' && url[n] <= '9') || url[n] == '+' ||
	       url[n] == '-' || url[n] == '.')
		n++;
	return strncmp(url + n, "://", 3) ? 0 : n + 3;
}

const char *url_userinfo_at(const char *url)
{
	return strrchr(url + url_scheme_len(url), '@');
}

int url_redact(const char *url, struct strbuf *out)
{
	size_t scheme = url_scheme_len(url);
	const char *at = url_userinfo_at(url), *rest = at ? at + 1 : url + scheme;
	const char *q = strchr(rest, '?');
	int err = strbuf_add(out, url, scheme);

	if (!err && at)
		err = strbuf_add(out, "...@", 4);
	if (!err)
		err = strbuf_add(out, rest, q ? (size_t)(q + 1 - rest) : strlen(rest));
	if (!err && q)
		err = strbuf_add(out, "...", 3);
	return err;
}
