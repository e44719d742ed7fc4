/* The fix stage: the rule table, rule selection, the report of changes, and
 * the text helpers every rule uses. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fix/fix.h"
#include "util/err.h"

const struct fix_rule fix_rules[] = {
	{"fstab", "mounts by UUID; other disks' lines disabled", fix_fstab},
	{"bootloader", "root=/resume= by UUID; NIC named eth0", fix_bootloader},
	{"selinux", "SELINUX=disabled", fix_selinux},
	{"firewall", "firewalld, iptables, nftables, ufw off", fix_firewall},
	{"network", "eth0 by DHCP; old NICs and MAC rules off", fix_network},
	{"hvtools", "VMware, VirtualBox, Xen guest tools off", fix_hvtools},
	{"cloudinit", "report whether cloud-init is installed", fix_cloudinit},
	{"virtio", "virtio drivers into every initrd", fix_virtio},
};
const size_t fix_nrules = sizeof(fix_rules) / sizeof(fix_rules[0]);

void fix_report_init(struct fix_report *r)
{
	memset(r, 0, sizeof(*r));
}

void fix_report_release(struct fix_report *r)
{
	for (size_t i = 0; i < r->nchanges; i++) {
		struct fix_change *c = &r->changes[i];
		free(c->rule);
		free(c->file);
		free(c->what);
		free(c->before);
		free(c->after);
	}
	for (size_t i = 0; i < r->nnotes; i++) {
		free(r->notes[i].rule);
		free(r->notes[i].file);
		free(r->notes[i].text);
	}
	free(r->changes);
	free(r->notes);
	memset(r, 0, sizeof(*r));
}

static int dup_or_null(char **out, const char *s)
{
	*out = NULL;
	if (s && !(*out = strdup(s)))
		return -ENOMEM;
	return 0;
}

/* The check item (check/check.c) a rule's change answers, unless the
 * rule names another with fix_change_code. */
static const char *default_code(const char *rule)
{
	static const char *const codes[][2] = {
		{"fstab", "fstab.devname"}, {"bootloader", "boot.devname"},
		{"selinux", "selinux.enforcing"}, {"firewall", "firewall.enabled"},
		{"network", "net.static"}, {"hvtools", "hv.tools"},
		{"virtio", "virtio.missing"}, {"journal", "fs.dirty"},
		{"cloudinit", "cloudinit.missing"},
	};

	for (size_t i = 0; rule && i < sizeof(codes) / sizeof(codes[0]); i++)
		if (!strcmp(codes[i][0], rule))
			return codes[i][1];
	return NULL;
}

int fix_change(struct fix_report *r, const char *rule, const char *file, const char *what,
	       const char *before, const char *after)
{
	return fix_change_code(r, default_code(rule), rule, file, what, before, after);
}

int fix_change_code(struct fix_report *r, const char *code, const char *rule, const char *file,
		    const char *what, const char *before, const char *after)
{
	struct fix_change *c;

	if (r->nchanges == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		struct fix_change *v = realloc(r->changes, cap * sizeof(*v));
		if (!v)
			return ferr(-ENOMEM, "out of memory");
		r->changes = v;
		r->cap = cap;
	}
	c = &r->changes[r->nchanges];
	if (dup_or_null(&c->rule, rule) | dup_or_null(&c->file, file) |
	    dup_or_null(&c->what, what) | dup_or_null(&c->before, before) |
	    dup_or_null(&c->after, after)) {
		free(c->rule);
		free(c->file);
		free(c->what);
		free(c->before);
		free(c->after);
		return ferr(-ENOMEM, "out of memory");
	}
	c->code = code;
	r->nchanges++;
	return 0;
}

static int vnote(struct fix_report *r, const char *code, const char *rule, const char *file,
		 const char *fmt, va_list ap)
{
	struct fix_note *n;
	char text[512];

	vsnprintf(text, sizeof(text), fmt, ap);
	if (r->nnotes == r->notes_cap) {
		size_t cap = r->notes_cap ? r->notes_cap * 2 : 16;
		struct fix_note *v = realloc(r->notes, cap * sizeof(*v));
		if (!v)
			return ferr(-ENOMEM, "out of memory");
		r->notes = v;
		r->notes_cap = cap;
	}
	n = &r->notes[r->nnotes];
	if (dup_or_null(&n->rule, rule) | dup_or_null(&n->file, file) |
	    dup_or_null(&n->text, text)) {
		free(n->rule);
		free(n->file);
		free(n->text);
		return ferr(-ENOMEM, "out of memory");
	}
	n->code = code;
	r->nnotes++;
	return 0;
}

int fix_note(struct fix_report *r, const char *rule, const char *file, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	/* cloud-init's note is its check item; the others say what was left
	 * alone, or name theirs with fix_note_code */
	err = vnote(r, rule && !strcmp(rule, "cloudinit") ? default_code(rule) : NULL, rule, file,
		    fmt, ap);
	va_end(ap);
	return err;
}

int fix_note_code(struct fix_report *r, const char *code, const char *rule, const char *file,
		  const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vnote(r, code, rule, file, fmt, ap);
	va_end(ap);
	return err;
}

void fix_report_json(const struct fix_report *r, struct json *j)
{
	const char *p = r->ran;

	json_obj_begin(j, "fixes");
	json_arr_begin(j, "ran");
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char name[32];

		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		json_str(j, NULL, name);
		p += n + (comma ? 1 : 0);
	}
	json_arr_end(j);
	json_arr_begin(j, "changes");
	for (size_t i = 0; i < r->nchanges; i++) {
		const struct fix_change *c = &r->changes[i];
		json_obj_begin(j, NULL);
		json_str(j, "rule", c->rule);
		json_str(j, "file", c->file);
		json_str(j, "what", c->what);
		json_str(j, "before", c->before);
		json_str(j, "after", c->after);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_arr_begin(j, "notes");
	for (size_t i = 0; i < r->nnotes; i++) {
		const struct fix_note *n = &r->notes[i];
		json_obj_begin(j, NULL);
		json_str(j, "rule", n->rule);
		json_str(j, "file", n->file);
		json_str(j, "text", n->text);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

const struct fix_volume *fix_volume_by_part(const struct fix_ctx *c, int partnum)
{
	for (size_t i = 0; i < c->nvols; i++)
		if (c->vols[i].partnum == partnum)
			return &c->vols[i];
	return NULL;
}

const struct fix_volume *fix_volume_by_uuid(const struct fix_ctx *c, const char *uuid)
{
	for (size_t i = 0; i < c->nvols; i++)
		if (c->vols[i].uuid[0] && strcasecmp(c->vols[i].uuid, uuid) == 0)
			return &c->vols[i];
	return NULL;
}

int fix_parse_list(const char *list, uint32_t *mask)
{
	const char *p = list;

	*mask = 0;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		size_t i;

		if (n == 3 && !strncmp(p, "all", 3)) {
			*mask |= (1u << fix_nrules) - 1;
		} else {
			for (i = 0; i < fix_nrules; i++)
				if (strlen(fix_rules[i].name) == n && !strncmp(fix_rules[i].name, p, n))
					break;
			if (i == fix_nrules)
				return ferr(-EINVAL, "--fix: unknown rule '%.*s' (rules: all%s)", (int)n,
					    p, fix_rule_names());
			*mask |= 1u << i;
		}
		p += n + (comma ? 1 : 0);
	}
	return 0;
}

const char *fix_rule_names(void)
{
	static char names[256];

	if (!names[0])
		for (size_t i = 0; i < fix_nrules; i++) {
			size_t len = strlen(names);
			snprintf(names + len, sizeof(names) - len, ", %s", fix_rules[i].name);
		}
	return names;
}

/* Drops what was recorded after the first nchanges changes and nnotes
 * notes. */
static void report_truncate(struct fix_report *r, size_t nchanges, size_t nnotes)
{
	while (r->nchanges > nchanges) {
		struct fix_change *c = &r->changes[--r->nchanges];

		free(c->rule);
		free(c->file);
		free(c->what);
		free(c->before);
		free(c->after);
	}
	while (r->nnotes > nnotes) {
		struct fix_note *n = &r->notes[--r->nnotes];

		free(n->rule);
		free(n->file);
		free(n->text);
	}
}

int fix_run(struct fix_ctx *c, uint32_t mask)
{
	for (size_t i = 0; i < fix_nrules; i++) {
		size_t len = strlen(c->rep->ran), nchanges = c->rep->nchanges;
		size_t nnotes = c->rep->nnotes;
		int err;

		if (!(mask & (1u << i)))
			continue;
		snprintf(c->rep->ran + len, sizeof(c->rep->ran) - len, "%s%s", len ? "," : "",
			 fix_rules[i].name);
		err = fix_rules[i].run(c);
		if (err == -EROFS && c->skip_readonly) {
			/* What it recorded before the refused write would say a
			 * change is made that cannot be: the rule did not run. */
			char msg[400];

			snprintf(msg, sizeof(msg), "%s", ferr_msg());
			report_truncate(c->rep, nchanges, nnotes);
			c->rep->ran[len] = '\0';
			err = fix_note(c->rep, fix_rules[i].name, "", "not run: %s", msg);
		}
		if (err)
			return ferr_ctx(err, "fix %s", fix_rules[i].name);
	}
	return 0;
}

int fix_note_once(struct fix_report *r, const char *rule, const char *file, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < r->nnotes; i++)
		if (!strcmp(r->notes[i].rule, rule) && !strcmp(r->notes[i].file, file) &&
		    !strcmp(r->notes[i].text, text))
			return 0;
	return fix_note(r, rule, file, "%s", text);
}

int fix_write_if_changed(struct fix_ctx *c, const char *path, const char *old,
			 const char *new_text, size_t new_len)
{
	int err;

	if (old && strlen(old) == new_len && memcmp(old, new_text, new_len) == 0)
		return 0;
	err = guest_write(c->g, path, new_text, new_len, 0644);
	return err ? err : 1;
}
