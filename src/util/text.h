/* Walking text a line at a time (configuration files, module lists). */
#ifndef FERRY_TEXT_H
#define FERRY_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Iterates over lines: *line and *len (without the newline); returns false
 * at the end. *pos starts at 0. */
bool text_next_line(const char *text, size_t tlen, size_t *pos, const char **line,
		    size_t *len);

/* Splits a shell-style KEY=VALUE line (ifcfg, ufw.conf); the value loses
 * one level of quotes. False when the line is not an assignment. */
bool text_split_assignment(const char *line, size_t n, const char **key, size_t *klen,
			   const char **val, size_t *vlen);
/* Whether [line, line + n) is blank or a # comment. */
bool text_blank_or_comment(const char *line, size_t n);
/* Trims blanks at both ends of [*p, *p + *n). */
void text_trim(const char **p, size_t *n);
/* Whether the word [w, w + n) equals s. */
bool text_word_is(const char *w, size_t n, const char *s);

/* Makes server-given text safe for a terminal and a log: every byte
 * outside printable ASCII (escape sequences, bells, C1 controls, line
 * breaks) becomes '?'. Returns s. */
char *text_printable(char *s);

/* Whether [s, s + n) is one or more decimal digits. */
bool text_all_digits(const char *s, size_t n);
/* Whether word is one of the comma-separated list's items. */
bool text_list_has(const char *list, const char *word);

#endif
