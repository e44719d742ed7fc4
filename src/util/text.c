/* Walking text a line at a time (see text.h). */
#include <ctype.h>
#include <string.h>

#include "util/text.h"

bool text_next_line(const char *text, size_t tlen, size_t *pos, const char **line,
		    size_t *len)
{
	const char *nl;

	if (*pos >= tlen)
		return false;
	*line = text + *pos;
	nl = memchr(*line, '\n', tlen - *pos);
	*len = nl ? (size_t)(nl - *line) : tlen - *pos;
	*pos += *len + (nl ? 1 : 0);
	return true;
}

static bool key_char(char ch, bool first)
{
	return ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (!first && ch >= '0' && ch <= '9');
}

bool text_split_assignment(const char *line, size_t n, const char **key, size_t *klen,
			  const char **val, size_t *vlen)
{
	size_t i = 0, k;

	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	k = i;
	if (i == n || !key_char(line[i], true))
		return false;
	while (i < n && key_char(line[i], false))
		i++;
	if (i == n || line[i] != '=')
		return false;
	*key = line + k;
	*klen = i - k;
	*val = line + i + 1;
	*vlen = n - i - 1;
	if (*vlen >= 2 && ((*val)[0] == '"' || (*val)[0] == '\'') &&
	    (*val)[*vlen - 1] == (*val)[0]) {
		(*val)++;
		*vlen -= 2;
	}
	return true;
}
bool text_blank_or_comment(const char *line, size_t n)
{
	size_t i = 0;

	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i == n || line[i] == '#';
}
void text_trim(const char **p, size_t *n)
{
	while (*n && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t' || (*p)[*n - 1] == '\r'))
		(*n)--;
}
bool text_word_is(const char *w, size_t n, const char *s)
{
	return strlen(s) == n && !memcmp(w, s, n);
}

bool text_all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

char *text_printable(char *s)
{
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	return s;
}

bool text_list_has(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && !strncmp(p, word, n))
			return true;
		p += len + (end != NULL);
	}
	return false;
}
