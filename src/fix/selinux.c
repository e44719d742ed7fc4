/* The selinux rule: SELINUX=disabled in /etc/selinux/config, as the clouds'
 * import guides ask; enforcing=1 on a kernel command line is only reported. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fix/bootcfg.h"
#include "util/err.h"

#define RULE "selinux"
#define AUTORELABEL "/.autorelabel"
#define CONFIG "/etc/selinux/config"

/* Shared by the fstab, bootloader and selinux rules (devname.h). */
/* The value of a SELINUX= line: [*vs, *ve) without quotes; false if the
 * line sets something else. */
static bool selinux_value(const char *s, size_t n, size_t *vs, size_t *ve)
{
	size_t i = 0;

	while (i < n && isspace((unsigned char)s[i]))
		i++;
	if (n - i < 8 || strncmp(s + i, "SELINUX=", 8))
		return false;
	i += 8;
	if (i < n && (s[i] == '"' || s[i] == '\''))
		i++;
	*vs = i;
	while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_'))
		i++;
	*ve = i;
	return true;
}

static bool value_is(const char *s, size_t vs, size_t ve, const char *want)
{
	return ve - vs == strlen(want) && !strncasecmp(s + vs, want, ve - vs);
}

struct enforcing {
	struct fix_ctx *c;
	char last[512]; /* one note per file */
};

static int enforcing_arg(const char *file, const char *key, const char *val, void *arg)
{
	struct enforcing *e = arg;

	if (strcmp(key, "enforcing") || !val || strcmp(val, "1") || !strcmp(e->last, file))
		return 0;
	snprintf(e->last, sizeof(e->last), "%s", file);
	return fix_note_once(e->c->rep, RULE, file,
			"enforcing=1 on a kernel command line: with SELinux disabled in %s the "
			"system may refuse to boot; remove it",
			CONFIG);
}

int fix_selinux(struct fix_ctx *c)
{
	struct enforcing e = {.c = c};
	struct strbuf out;
	const char *line;
	char *text, *before = NULL;
	size_t len, pos = 0, n, vs, ve;
	int err = guest_read(c->g, CONFIG, 1u << 20, &text, &len), found = 0;

	if (err && err != -ENOENT)
		return err;
	if (err == -ENOENT)
		goto out_cmdline;
	strbuf_init(&out);
	if (strlen(text) != len) {
		err = fix_note_once(c->rep, RULE, CONFIG, "not a text file; left as it is");
		goto out_text;
	}
	/* first pass: every SELINUX= line must be one we understand */
	while (text_next_line(text, len, &pos, &line, &n)) {
		if (!selinux_value(line, n, &vs, &ve))
			continue;
		found++;
		if (!value_is(line, vs, ve, "enforcing") && !value_is(line, vs, ve, "permissive") &&
		    !value_is(line, vs, ve, "disabled")) {
			err = fix_note_once(c->rep, RULE, CONFIG, "SELINUX=%.*s is not a mode; left as it is",
				       (int)(ve - vs), line + vs);
			goto out_text;
		}
	}
	if (!found) {
		err = fix_note_once(c->rep, RULE, CONFIG, "no SELINUX= line; left as it is");
		goto out_text;
	}
	pos = 0;
	while (!err && text_next_line(text, len, &pos, &line, &n)) {
		bool nl = line + n < text + len;

		if (!selinux_value(line, n, &vs, &ve) || value_is(line, vs, ve, "disabled")) {
			err = strbuf_add(&out, line, n);
		} else {
			size_t start = out.len;

			err = strbuf_add(&out, line, vs);
			if (!err)
				err = strbuf_addf(&out, "disabled%.*s", (int)(n - ve), line + ve);
			free(before);
			before = strndup(line, n);
			if (!err && !before)
				err = -ENOMEM;
			if (!err)
				err = fix_change(c->rep, RULE, CONFIG, "SELinux disabled", before,
						 out.s + start);
		}
		if (!err && nl)
			err = strbuf_add(&out, "\n", 1);
	}
	if (!err && out.len) {
		err = fix_write_if_changed(c, CONFIG, text, out.s, out.len);
		err = err < 0 ? err : 0;
	}
	/* Files the fixes write carry no SELinux label (and a disabled
	 * system labels nothing it writes): an operator who turns SELinux back
	 * on gets the whole filesystem relabelled at that boot. */
	if (!err && before && !guest_exists(c->g, AUTORELABEL)) {
		err = guest_write(c->g, AUTORELABEL, "", 0, 0644);
		if (!err)
			err = fix_change(c->rep, RULE, AUTORELABEL, "a full relabel if SELinux is "
					 "turned back on (the fixes' files carry no label)", NULL, "");
	}
out_text:
	free(before);
	strbuf_release(&out);
	free(text);
	if (err)
		return err;
out_cmdline:
	return boot_for_each_arg(c, enforcing_arg, &e);
}
