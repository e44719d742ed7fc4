/* URLs as Ferry shows them: the userinfo and the query (where passwords,
 * tokens and signatures live) hidden by the URL's structure, not by
 * guessing where a word ends. */
#ifndef FERRY_URL_H
#define FERRY_URL_H

#include <stddef.h>

#include "util/strbuf.h"

/* Length of a leading "scheme://", or 0 when the URL has none. */
size_t url_scheme_len(const char *url);
/* Where the userinfo of a URL that has no path ends (a proxy address): at
 * the last '@' after the scheme, so a password may hold any character.
 * NULL when there is no userinfo. */
const char *url_userinfo_at(const char *url);
/* Appends the whole of url (one value, blanks and quotes included) with
 * everything up to its last '@' shown as "...@" and everything after the
 * first '?' that follows as "?...". Over-hides rather than under-hides: a
 * '@' in a path hides the path's head too. */
int url_redact(const char *url, struct strbuf *out);

#endif
