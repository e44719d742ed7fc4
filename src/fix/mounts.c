/* The fstab rule (mount the image's filesystems by UUID, disable the others)
 * and the device-name to volume mapping it shares with the bootloader rule. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk/table.h"
#include "fix/devname.h"
#include "fs/fstab.h"
#include "util/err.h"

#define FSTAB "/etc/fstab"
#define FSTAB_MAX (1u << 20)

/* The fstab rule. */

/* A malformed file is left alone: 1 after noting why, 0 if it is fine. */
static int malformed(struct fix_ctx *c, const char *text, size_t len)
{
	const char *line;
	size_t pos = 0, n;
	int num = 0;

	if (strlen(text) != len) {
		int err = fix_note_once(c->rep, "fstab", FSTAB, "not a text file (NUL byte); left as it is");
		return err ? err : 1;
	}
	while (text_next_line(text, len, &pos, &line, &n)) {
		struct fstab_line fl;
		const char *why;

		num++;
		fstab_line_cut(line, n, &fl);
		why = fstab_line_problem(&fl);
		if (why) {
			int err = fix_note_once(c->rep, "fstab", FSTAB,
					   "line %d %s; the file is left as it is", num, why);
			return err ? err : 1;
		}
	}
	return 0;
}

struct fstab_edit {
	struct fix_ctx *c;
	struct sysdisk sd;
	struct strbuf out;
};

static int disable_code(struct fstab_edit *e, const char *line, size_t n, bool nl,
			const char *mp, const char *reason, const char *code)
{
	char *before = strndup(line, n), what[1024];
	size_t start;
	int err;

	if (!before)
		return ferr(-ENOMEM, "out of memory");
	err = strbuf_addf(&e->out, FSTAB_DISABLED_MARK "%s\n#", reason);
	start = e->out.len - 1;
	if (!err)
		err = strbuf_add(&e->out, line, n);
	snprintf(what, sizeof(what), "disabled the %s entry: %s", mp, reason);
	if (!err)
		err = code ? fix_change_code(e->c->rep, code, "fstab", FSTAB, what, before,
					     e->out.s + start)
			   : fix_change(e->c->rep, "fstab", FSTAB, what, before, e->out.s + start);
	if (!err && nl)
		err = strbuf_add(&e->out, "\n", 1);
	free(before);
	return err;
}

static int disable(struct fstab_edit *e, const char *line, size_t n, bool nl, const char *mp,
		   const char *reason)
{
	return disable_code(e, line, n, nl, mp, reason, "fstab.other-disk");
}

/* A line of a partition left out of the image (--exclude) goes. */
static bool excluded(const struct fstab_edit *e, const struct fix_volume *v, char *why,
		     size_t len)
{
	if (!v || !part_set_has(e->c->exclude, v->partnum))
		return false;
	snprintf(why, len, "partition %d is left out of the image (--exclude)", v->partnum);
	return true;
}

/* Puts UUID=uuid in place of the first field, keeping the columns of the
 * other fields where the separator is made of spaces. */
static int remap(struct fstab_edit *e, const char *line, size_t n, bool nl,
		 const struct fstab_line *fl, const char *mp, const char *type,
		 const struct fix_volume *v)
{
	const char *sep = fl->f[0] + fl->n[0], *rest = fl->nf > 1 ? fl->f[1] : line + n;
	size_t seplen = (size_t)(rest - sep), lead = (size_t)(fl->f[0] - line), start;
	char spec[64], old[256], *before = strndup(line, n), what[640];
	int err;

	if (!before)
		return ferr(-ENOMEM, "out of memory");
	snprintf(spec, sizeof(spec), "UUID=%s", v->uuid);
	fstab_field(fl, 0, old, sizeof(old));
	/* the old name stays, as the evidence of the next run (devname.c) */
	err = strbuf_addf(&e->out, FSTAB_WAS_MARK "%s\n", old);
	start = e->out.len;
	if (!err)
		err = strbuf_add(&e->out, line, lead);
	if (!err)
		err = strbuf_add(&e->out, spec, strlen(spec));
	if (!err && seplen > 1 && strspn(sep, " ") >= seplen) {
		size_t col = fl->n[0] + seplen, pad = col > strlen(spec) + 1 ? col - strlen(spec) : 1;
		for (size_t i = 0; !err && i < pad; i++)
			err = strbuf_add(&e->out, " ", 1);
	} else if (!err) {
		err = strbuf_add(&e->out, sep, seplen);
	}
	if (!err)
		err = strbuf_add(&e->out, rest, (size_t)(line + n - rest));
	if (!strcmp(type, "swap"))
		snprintf(what, sizeof(what), "swap by UUID instead of %s", old);
	else
		snprintf(what, sizeof(what), "mount %s by UUID instead of %s", mp, old);
	if (!err)
		err = fix_change(e->c->rep, "fstab", FSTAB, what, before, e->out.s + start);
	if (!err && nl)
		err = strbuf_add(&e->out, "\n", 1);
	free(before);
	return err;
}

static int edit_line(struct fstab_edit *e, const char *line, size_t n, bool nl)
{
	struct fix_ctx *c = e->c;
	char spec[256], mp[256], type[64], opts[256], why[512];
	const struct fix_volume *v;
	bool vital;
	enum map_result r;
	struct fstab_line fl;
	int part = 0;

	fstab_line_cut(line, n, &fl);
	if (fl.nf < 2)
		goto keep;
	fstab_field(&fl, 0, spec, sizeof(spec));
	fstab_field(&fl, 1, mp, sizeof(mp));
	fstab_field(&fl, 2, type, sizeof(type));
	fstab_field(&fl, 3, opts, sizeof(opts));
	if (fstab_not_a_disk(spec, type, opts))
		goto keep;
	/* without / (or /boot) the system does not boot either way: never
	 * disable them, say so */
	vital = fstab_same_mountpoint(mp, "/") || fstab_same_mountpoint(mp, "/boot");
	if (fstab_same_mountpoint(mp, "/"))
		part = c->root_part;
	else if (fstab_same_mountpoint(mp, "/boot"))
		part = c->boot_part;
	if (fix_volume_by_spec(c, spec, &v) && !(v && fix_partname_goes(c, spec))) {
		if (excluded(e, v, why, sizeof(why)))
			return disable_code(e, line, n, nl, mp, why, NULL);
		if (v)
			goto keep;
		snprintf(why, sizeof(why), "no filesystem with %s is in the image", spec);
		if (vital)
			goto note;
		return disable(e, line, n, nl, mp, why);
	}
	r = sysdisk_map(&e->sd, spec, type[0] ? type : NULL, part, &v);
	if (r == MAP_OK && excluded(e, v, why, sizeof(why)))
		return disable_code(e, line, n, nl, mp, why, NULL);
	if (r == MAP_OK)
		return remap(e, line, n, nl, &fl, mp, type, v);
	if (r == MAP_KEEP)
		goto keep;
	sysdisk_explain(&e->sd, r, spec, why, sizeof(why));
	if ((r == MAP_OTHER_DISK || r == MAP_NO_VOLUME) && !vital)
		return disable(e, line, n, nl, mp, why);
note:
	if (fix_note_once(c->rep, "fstab", FSTAB, "%s entry: %s", mp, why))
		return -ENOMEM;
keep:
	if (strbuf_add(&e->out, line, n) || (nl && strbuf_add(&e->out, "\n", 1)))
		return -ENOMEM;
	return 0;
}

int fix_fstab(struct fix_ctx *c)
{
	struct fstab_edit e = {.c = c};
	const char *line;
	char *text = NULL;
	size_t len, pos = 0, n;
	int err = guest_read(c->g, FSTAB, FSTAB_MAX, &text, &len);

	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	err = malformed(c, text, len);
	if (err)
		goto out_text;
	if (!c->nvols) {
		err = fix_note_once(c->rep, "fstab", FSTAB, "the image's volumes are not known; left as it is");
		goto out_text;
	}
	err = sysdisk_init(&e.sd, c);
	if (err)
		goto out_text;
	strbuf_init(&e.out);
	while (!err && text_next_line(text, len, &pos, &line, &n))
		err = edit_line(&e, line, n, line + n < text + len);
	if (!err && e.out.len == 0)
		err = strbuf_add(&e.out, "", 0);
	if (!err) {
		err = fix_write_if_changed(c, FSTAB, text, e.out.s, e.out.len);
		err = err < 0 ? err : 0;
	}
	strbuf_release(&e.out);
out_text:
	free(text);
	return err < 0 ? err : 0;
}
