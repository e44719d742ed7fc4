/* The bootloader rule: root= and resume= by UUID and net.ifnames=0
 * biosdevname=0 in every boot loader config, so the copy boots on virtio. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "disk/table.h"
#include "fix/bootcfg.h"
#include "fix/devname.h"
#include "initrd/initrd.h"
#include "util/err.h"

#define RULE "bootloader"
#define GRUBENV_SIZE 1024
#define GRUBENV_HEAD "# GRUB Environment Block\n"

/* Editing. */

struct bedit {
	struct fix_ctx *c;
	struct sysdisk sd;
	struct fix_report chg;   /* the current file's changes, until it is written */
	bool kernelopts;         /* a BLS entry takes its options from grubenv */
	/* Why a command line without resume= gets noresume: initramfs-tools
	 * would resume from a swap left out of the image (empty: it would not). */
	char noresume[512];
};

#define INITRAMFS_RESUME "/etc/initramfs-tools/conf.d/resume"

/* The number of the swap partition val names (a device name, or UUID=,
 * LABEL=, PARTUUID=) when --exclude leaves it out of the image; else 0. */
static int excluded_swap(const struct bedit *b, const char *val)
{
	const struct fix_volume *v = NULL;

	if (!b->c->exclude)
		return 0;
	if (!fix_volume_by_spec(b->c, val, &v) && sysdisk_map(&b->sd, val, "swap", 0, &v) != MAP_OK)
		return 0;
	return v && !strcmp(v->fs, "swap") && part_set_has(b->c->exclude, v->partnum) ? v->partnum
										      : 0;
}

/* The value of the last RESUME= assignment in shell text (the one the shell
 * keeps), quotes removed; val is left as it was when there is none. */
static void resume_assignment(const char *text, size_t len, char *val, size_t size)
{
	const char *line;
	size_t pos = 0, n;

	while (text_next_line(text, len, &pos, &line, &n)) {
		size_t i = bootcfg_skip_ws(line, n, 0), e;

		if (n - i < 7 || strncmp(line + i, "RESUME=", 7))
			continue;
		i += 7;
		if (i < n && (line[i] == '"' || line[i] == '\''))
			e = i + 1 + strcspn(line + i + 1, line[i] == '"' ? "\"\n" : "'\n"), i++;
		else
			e = i + strcspn(line + i, " \t#\n");
		if (e > n)
			e = n;
		snprintf(val, size, "%.*s", (int)(e - i), line + i);
	}
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The swap an initramfs-tools initrd resumes from: its init sources
 * conf/initramfs.conf, then each file in conf/conf.d in name order; where RESUME
 * was not configured the resume hook wrote the swap it found when the
 * initrd was built into conf/conf.d/zz-resume-auto. *file names the member
 * that set val. An initrd Ferry cannot read is passed over: the virtio
 * rule reports it. */
static int initrd_resume(struct bedit *b, const char *path, char *val, size_t size,
			 char *file, size_t fsize)
{
	struct initrd rd;
	char *data = NULL;
	const char **names = NULL;
	size_t len, n = 0;
	int err = guest_read(b->c->g, path, INITRD_MAX, &data, &len);

	initrd_init(&rd);
	if (err)
		return err == -ENOMEM ? err : 0;
	err = initrd_parse(data, len, &rd);
	free(data);
	if (err) {
		initrd_release(&rd);
		return 0;
	}
	names = calloc(rd.main.n + 1, sizeof(*names));
	if (!names) {
		initrd_release(&rd);
		return -ENOMEM;
	}
	for (size_t i = 0; i < rd.main.n; i++) {
		const char *nm = rd.main.v[i].name;

		nm += !strncmp(nm, "./", 2) ? 2 : nm[0] == '/';
		if (!strncmp(nm, "conf/conf.d/", 12) && nm[12] && !strchr(nm + 12, '/'))
			names[n++] = nm;
	}
	qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i <= n; i++) {
		const char *nm = i ? names[i - 1] : "conf/initramfs.conf";
		const struct cpio_entry *e = cpio_find(&rd.main, nm);
		char was[256];

		if (i > 1 && !strcmp(nm, names[i - 2]))
			continue; /* cpio_find gave the last member of this name */
		if (!e || (e->mode & 0170000) != 0100000)
			continue;
		snprintf(was, sizeof(was), "%s", val);
		resume_assignment(e->data, e->size, val, size);
		if (strcmp(was, val))
			snprintf(file, fsize, "%s", nm);
	}
	free(names);
	initrd_release(&rd);
	return 0;
}

static int list_initrds(const char *name, uint32_t mode, void *arg)
{
	if (GUEST_ISDIR(mode) || strncmp(name, "initrd.img-", 11))
		return 0;
	return strbuf_add(arg, name, strlen(name) + 1);
}

/* initramfs-tools resumes from the swap RESUME= names, in its conf.d/resume
 * or, found when the initrd was built, inside the initrd, unless the
 * command line says resume= or noresume; if that swap is left out, its
 * initramfs waits for it (about 30 s) at every boot. */
static int find_resume_conf(struct bedit *b)
{
	struct strbuf initrds;
	char *text, val[256] = "", path[300], file[128];
	size_t len;
	int err, part;

	if (!b->c->exclude)
		return 0;
	err = bootcfg_read(b->c, INITRAMFS_RESUME, &text, &len);
	if (err < 0)
		return err;
	if (!err) {
		resume_assignment(text, len, val, sizeof(val));
		free(text);
		part = val[0] ? excluded_swap(b, val) : 0;
		if (part) {
			snprintf(b->noresume, sizeof(b->noresume),
				 "added noresume: partition %d, which " INITRAMFS_RESUME " resumes "
				 "from, is left out of the image (--exclude)", part);
			return 0;
		}
	}
	strbuf_init(&initrds);
	err = guest_list(b->c->g, "/boot", list_initrds, &initrds);
	if (err == -ENOENT || err == -ENOTDIR)
		err = 0;
	for (size_t o = 0; !err && o < initrds.len; o += strlen(initrds.s + o) + 1) {
		snprintf(path, sizeof(path), "/boot/%s", initrds.s + o);
		val[0] = file[0] = '\0';
		err = initrd_resume(b, path, val, sizeof(val), file, sizeof(file));
		part = !err && val[0] ? excluded_swap(b, val) : 0;
		if (part) {
			snprintf(b->noresume, sizeof(b->noresume),
				 "added noresume: partition %d, which %.200s resumes from (its %.120s), "
				 "is left out of the image (--exclude)", part, path, file);
			break;
		}
	}
	strbuf_release(&initrds);
	return err;
}

static int add_what(struct strbuf *what, const char *s)
{
	if (what->s && strstr(what->s, s))
		return 0;
	return strbuf_addf(what, "%s%s", what->len ? "; " : "", s);
}

/* One argument: root= and resume= by UUID, net.ifnames and biosdevname 0;
 * noresume for a resume= of a swap left out of the image. */
static int edit_arg(struct bedit *b, const char *file, const char *t, size_t tn,
		    struct strbuf *out, struct strbuf *what, unsigned *seen)
{
	size_t kn = strcspn(t, "=");
	char val[512], why[512];

	if (kn > tn)
		kn = tn;
	if (kn == tn) {
		if ((tn == 11 && !strncmp(t, "$kernelopts", 11)) ||
		    (tn == 13 && !strncmp(t, "${kernelopts}", 13)))
			*seen |= 4;
		if (tn == 8 && !strncmp(t, "noresume", 8))
			*seen |= 8;
		return strbuf_add(out, t, tn);
	}
	snprintf(val, sizeof(val), "%.*s", (int)(tn - kn - 1), t + kn + 1);
	if ((kn == 4 && !strncmp(t, "root", 4)) || (kn == 6 && !strncmp(t, "resume", 6))) {
		bool root = kn == 4;
		int gone = root ? 0 : excluded_swap(b, val);
		const struct fix_volume *v;
		enum map_result r;

		if (!root)
			*seen |= 8; /* the command line says where to resume from */
		if (gone) {
			/* The swap is not in the image: an initramfs would wait for
			 * it (dracut then gives up into its emergency shell). */
			snprintf(why, sizeof(why), "resume= is noresume: partition %d is left out "
				 "of the image (--exclude)", gone);
			return add_what(what, why) ? -ENOMEM : strbuf_add(out, "noresume", 8);
		}
		r = sysdisk_map(&b->sd, val, root ? NULL : "swap", root ? b->c->root_part : 0, &v);
		if (r == MAP_OK) {
			int err = add_what(what, root ? "root= by UUID" : "resume= by UUID");
			return err ? err : strbuf_addf(out, "%.*s=UUID=%s", (int)kn, t, v->uuid);
		}
		if (r != MAP_KEEP) {
			int err;
			sysdisk_explain(&b->sd, r, val, why, sizeof(why));
			err = fix_note_once(b->c->rep, RULE, file, "%s", why);
			if (err)
				return err;
		}
	} else if ((kn == 11 && !strncmp(t, "net.ifnames", 11)) ||
		   (kn == 11 && !strncmp(t, "biosdevname", 11))) {
		*seen |= t[0] == 'n' ? 1 : 2;
		if (strcmp(val, "0")) {
			int err = add_what(what, t[0] == 'n' ? "net.ifnames=0" : "biosdevname=0");
			return err ? err : strbuf_addf(out, "%.*s=0", (int)kn, t);
		}
	}
	return strbuf_add(out, t, tn);
}

/* The region of line s rewritten into out. */
static int edit_region(struct bedit *b, const char *file, const char *s,
		       const struct region *rg, struct strbuf *out, struct strbuf *what)
{
	size_t i = rg->start, prev = rg->start, ts, te, tail;
	unsigned seen = 0;
	int r = 0, err = 0;

	while (!err && (r = bootcfg_next_arg(s, rg->end, &i, &ts, &te)) == 1) {
		err = strbuf_add(out, s + prev, ts - prev);
		if (!err)
			err = edit_arg(b, file, s + ts, te - ts, out, what, &seen);
		prev = te;
	}
	if (err)
		return err;
	if (r < 0)
		return -EINVAL;
	/* added arguments go before the trailing blanks */
	tail = prev;
	if (rg->ifnames && !(seen & 4) && (seen & 3) != 3) {
		bool sp = prev > rg->start ? true : rg->sep;
		err = strbuf_addf(out, "%s%s%s%s", sp ? " " : "", seen & 1 ? "" : "net.ifnames=0",
				  (seen & 3) == 0 ? " " : "", seen & 2 ? "" : "biosdevname=0");
		if (!err)
			err = add_what(what, (seen & 3) == 0 ? "added net.ifnames=0 biosdevname=0"
						: seen & 1 ? "added biosdevname=0"
							   : "added net.ifnames=0");
	}
	if (!err && rg->ifnames && !(seen & 12) && b->noresume[0]) {
		err = strbuf_addf(out, "%snoresume", out->len || rg->sep ? " " : "");
		if (!err)
			err = add_what(what, b->noresume);
	}
	if (!err)
		err = strbuf_add(out, s + tail, rg->end - tail);
	if (!err && (seen & 4))
		b->kernelopts = true;
	return err;
}

/* GRUB_DISABLE_LINUX_UUID=true makes grub-mkconfig write root=/dev/sdX. */
static int edit_disable_uuid(const char *s, size_t n, struct strbuf *out, struct strbuf *what)
{
	size_t i = bootcfg_skip_ws(s, n, 0), v;
	char q;

	if (bootcfg_word_at(s, n, i, "export", false))
		i = bootcfg_skip_ws(s, n, i + 6);
	if (n - i < 24 || strncmp(s + i, "GRUB_DISABLE_LINUX_UUID=", 24))
		return 0;
	q = i + 24 < n && (s[i + 24] == '"' || s[i + 24] == '\'') ? s[i + 24] : 0;
	v = i + 24 + (q != 0);
	if (n - v < 4 || strncmp(s + v, "true", 4))
		return 0;
	/* the whole value: true, "true" or 'true' */
	if (q ? v + 4 >= n || s[v + 4] != q
	      : v + 4 < n && !isspace((unsigned char)s[v + 4]) && s[v + 4] != '#' && s[v + 4] != ';')
		return 0;
	if (strbuf_add(out, s, v) || strbuf_add(out, "false", 5) ||
	    strbuf_add(out, s + v + 4, n - v - 4))
		return -ENOMEM;
	return add_what(what, "GRUB_DISABLE_LINUX_UUID=false") ? -ENOMEM : 1;
}

/* One line: 1 when it changed (out has the new line), 0 if not. */
static int edit_line(struct bedit *b, const struct bfile *f, const char *s, size_t n,
		     struct strbuf *out, struct strbuf *what, bool *cmdline)
{
	struct region rg;
	struct strbuf reg;
	int r, err;

	if (f->kind == BK_DEFAULT) {
		r = edit_disable_uuid(s, n, out, what);
		if (r)
			return r;
	}
	r = bootcfg_find_region(f->kind, s, n, &rg);
	if (r <= 0)
		return r;
	if (f->kind == BK_DEFAULT && rg.ifnames)
		*cmdline = true;
	strbuf_init(&reg);
	err = edit_region(b, f->path, s, &rg, &reg, what);
	if (!err && !what->len)
		goto out; /* nothing changed */
	/* a shell value that now has blanks needs quotes */
	if (!err && rg.unquoted && strpbrk(reg.s, " \t")) {
		err = strbuf_add(out, s, rg.start);
		if (!err)
			err = strbuf_addf(out, "\"%s\"", reg.s);
	} else if (!err) {
		err = strbuf_add(out, s, rg.start);
		if (!err)
			err = strbuf_add(out, reg.s, reg.len);
	}
	if (!err)
		err = strbuf_add(out, s + rg.end, n - rg.end);
	if (!err)
		err = 1;
out:
	strbuf_release(&reg);
	return err;
}

/* Checks every command line before anything is changed: a file is edited
 * whole or not at all. */
static int check_text(struct bedit *b, const struct bfile *f, const char *text, size_t len)
{
	const char *line;
	size_t pos = 0, n;
	int num = 0;

	if (strlen(text) != len)
		return fix_note_once(b->c->rep, RULE, f->path, "not a text file; left as it is") ? -ENOMEM
											      : 1;
	while (text_next_line(text, len, &pos, &line, &n)) {
		struct region rg;
		size_t i, ts, te;
		int r = bootcfg_find_region(f->kind, line, n, &rg);

		num++;
		if (r == 1) {
			i = rg.start;
			while ((r = bootcfg_next_arg(line, rg.end, &i, &ts, &te)) == 1)
				;
		}
		if (r < 0)
			return fix_note_once(b->c->rep, RULE, f->path, "line %d %s; left as it is", num,
					     r == -ENOTSUP ? "has a value made of quoted and unquoted "
							     "parts, or a backslash outside quotes"
					     : r == -EILSEQ ? "ends its command line with a backslash"
							    : "has a quote that is not closed")
				       ? -ENOMEM
				       : 1;
	}
	return 0;
}

/* Edits a text config into out; changes go to b->chg. */
static int edit_text(struct bedit *b, const struct bfile *f, const char *text, size_t len,
		     struct strbuf *out)
{
	const char *line;
	size_t pos = 0, n;
	bool cmdline = false;
	int err = 0;

	while (!err && text_next_line(text, len, &pos, &line, &n)) {
		struct strbuf what, nl;
		int r;

		strbuf_init(&what);
		strbuf_init(&nl);
		r = edit_line(b, f, line, n, &nl, &what, &cmdline);
		if (r < 0) {
			err = r;
		} else if (r) {
			char *before = strndup(line, n);
			/* root=/resume= by UUID, or only the interface names */
			const char *code = strstr(what.s, "UUID") ? "boot.devname" : "net.names";

			err = before ? fix_change_code(&b->chg, code, RULE, f->path, what.s, before,
						       nl.s)
				     : -ENOMEM;
			free(before);
			if (!err)
				err = strbuf_add(out, nl.s, nl.len);
		} else {
			err = strbuf_add(out, line, n);
		}
		if (!err && line + n < text + len)
			err = strbuf_add(out, "\n", 1);
		strbuf_release(&what);
		strbuf_release(&nl);
	}
	/* grub-mkconfig would drop the arguments again without it */
	if (!err && f->kind == BK_DEFAULT && !cmdline) {
		char add[128], what[sizeof(b->noresume) + 80];
		bool nr = b->noresume[0];

		snprintf(add, sizeof(add), "GRUB_CMDLINE_LINUX=\"net.ifnames=0 biosdevname=0%s\"",
			 nr ? " noresume" : "");
		snprintf(what, sizeof(what), "added GRUB_CMDLINE_LINUX with net.ifnames=0 "
			 "biosdevname=0%s%s", nr ? "; " : "", b->noresume);
		if (out->len && out->s[out->len - 1] != '\n')
			err = strbuf_add(out, "\n", 1);
		if (!err)
			err = strbuf_addf(out, "%s\n", add);
		if (!err)
			err = fix_change_code(&b->chg, "net.names", RULE, f->path, what, NULL, add);
	}
	return err;
}

/* grubenv is one 1024-byte block: "# GRUB Environment Block\n", name=value
 * lines, '#' up to the end. GRUB rewrites it in place, so its size must not
 * change. */
static int edit_grubenv(struct bedit *b, const struct bfile *f, const char *text, size_t len,
			struct strbuf *out)
{
	size_t data = len, head = strlen(GRUBENV_HEAD);
	const char *why = NULL;
	int err;

	if (len != GRUBENV_SIZE || strncmp(text, GRUBENV_HEAD, head))
		why = "is not a 1024-byte GRUB environment block";
	while (!why && data > head && text[data - 1] == '#')
		data--;
	if (!why && text[data - 1] != '\n')
		why = "does not end in '#' padding";
	if (why)
		return fix_note_once(b->c->rep, RULE, f->path, "%s; left as it is", why) ? -ENOMEM : 0;
	err = edit_text(b, f, text, data, out);
	if (err)
		return err;
	if (out->len > GRUBENV_SIZE) {
		return fix_note_once(b->c->rep, RULE, f->path,
				"the new kernelopts do not fit in the 1024-byte block; left as it is")
			       ? -ENOMEM
			       : 1;
	}
	while (!err && out->len < GRUBENV_SIZE)
		err = strbuf_add(out, "#", 1);
	return err;
}

static int edit_file(struct bedit *b, const struct bfile *f)
{
	struct strbuf out;
	char *text;
	size_t len;
	int err;

	if (f->kind == BK_GRUBENV && !b->kernelopts)
		return 0;
	err = bootcfg_read(b->c, f->path, &text, &len);
	if (err)
		return err == 1 ? 0 : err;
	strbuf_init(&out);
	fix_report_release(&b->chg);
	err = check_text(b, f, text, len);
	if (err)
		goto out;
	err = f->kind == BK_GRUBENV ? edit_grubenv(b, f, text, len, &out)
				    : edit_text(b, f, text, len, &out);
	if (err || !b->chg.nchanges)
		goto out;
	err = fix_write_if_changed(b->c, f->path, text, out.s, out.len);
	for (size_t i = 0; err >= 0 && i < b->chg.nchanges; i++) {
		const struct fix_change *x = &b->chg.changes[i];
		err = fix_change_code(b->c->rep, x->code, x->rule, x->file, x->what, x->before,
				      x->after);
	}
out:
	strbuf_release(&out);
	free(text);
	return err < 0 ? err : 0;
}

int fix_bootloader(struct fix_ctx *c)
{
	struct bedit b = {.c = c};
	struct blist l = {0};
	int err = sysdisk_init(&b.sd, c);

	if (!err)
		err = find_resume_conf(&b);
	if (!err)
		err = bootcfg_collect(c, &l);
	fix_report_init(&b.chg);
	for (size_t f = 0; !err && f < l.n; f++)
		err = edit_file(&b, &l.v[f]);
	fix_report_release(&b.chg);
	free(l.v);
	return err;
}
