/* The bootloader rule: root= and resume= by UUID and net.ifnames=0
 * biosdevname=0 in every boot loader config, so the copy boots on virtio. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fix/devname.h"
#include "util/err.h"

#define RULE "bootloader"
#define CONF_MAX (4u << 20)
#define GRUBENV "/boot/grub2/grubenv"
#define GRUBENV_SIZE 1024
#define GRUBENV_HEAD "# GRUB Environment Block\n"

enum bkind { BK_GRUB2, BK_LEGACY, BK_BLS, BK_EXTLINUX, BK_DEFAULT, BK_GRUBENV };

struct bfile {
	char path[512]; /* with every link resolved: two names of one file are one */
	enum bkind kind;
};

struct blist {
	struct bfile *v;
	size_t n, cap;
};

/* path with its symbolic links resolved inside the guest. */
static int canon(struct guest *g, const char *path, char *out, size_t len)
{
	char rest[1024], link[512], tmp[1024];
	size_t olen = 0;
	int hops = 0;

	if (snprintf(rest, sizeof(rest), "%s", path) >= (int)sizeof(rest))
		return -ENAMETOOLONG;
	out[0] = '\0';
	while (rest[0]) {
		char *comp = rest, *r;
		struct guest_stat st;
		int err;

		while (*comp == '/')
			comp++;
		if (!*comp)
			break;
		r = comp + strcspn(comp, "/");
		if (*r)
			*r++ = '\0';
		if (!strcmp(comp, ".") || !strcmp(comp, "..")) {
			if (comp[1] == '.') {
				char *up = strrchr(out, '/');
				olen = up ? (size_t)(up - out) : 0;
				out[olen] = '\0';
			}
			memmove(rest, r, strlen(r) + 1);
			continue;
		}
		if (olen + strlen(comp) + 2 > len)
			return -ENAMETOOLONG;
		out[olen] = '/';
		memcpy(out + olen + 1, comp, strlen(comp) + 1);
		err = guest_stat(g, out, false, &st);
		if (err)
			return err;
		if (!GUEST_ISLNK(st.mode)) {
			olen += strlen(comp) + 1;
			memmove(rest, r, strlen(r) + 1);
			continue;
		}
		if (++hops > 40)
			return -ELOOP;
		err = guest_readlink(g, out, link, sizeof(link));
		if (err)
			return err;
		out[olen] = '\0';
		if (link[0] == '/')
			out[olen = 0] = '\0';
		if (snprintf(tmp, sizeof(tmp), "%s/%s", link, r) >= (int)sizeof(tmp))
			return -ENAMETOOLONG;
		memcpy(rest, tmp, strlen(tmp) + 1);
	}
	if (!olen)
		snprintf(out, len, "/");
	return 0;
}

static int blist_add(struct fix_ctx *c, struct blist *l, const char *path, enum bkind kind)
{
	struct guest_stat st;
	char p[512];
	int err = canon(c->g, path, p, sizeof(p));

	/* a dangling or looping link is no config to edit */
	if (err == -ENOENT || err == -ENOTDIR || err == -ELOOP || err == -ENAMETOOLONG)
		return 0;
	if (err)
		return ferr_ctx(err, "%s: cannot resolve %s", c->g->name, path);
	if (guest_stat(c->g, p, true, &st) || !GUEST_ISREG(st.mode))
		return 0;
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].path, p))
			return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct bfile *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return ferr(-ENOMEM, "out of memory");
		l->v = v;
		l->cap = cap;
	}
	snprintf(l->v[l->n].path, sizeof(l->v[l->n].path), "%s", p);
	l->v[l->n++].kind = kind;
	return 0;
}

struct names {
	char **v;
	size_t n;
	const char *suffix;
};

static int collect_name(const char *name, uint32_t mode, void *arg)
{
	struct names *nm = arg;
	size_t n = strlen(name), s = strlen(nm->suffix);
	char **v;

	if (GUEST_ISDIR(mode) == !*nm->suffix) {
		if (n < s || strcmp(name + n - s, nm->suffix))
			return 0;
	} else if (!GUEST_ISLNK(mode)) {
		return 0;
	}
	v = realloc(nm->v, (nm->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	nm->v = v;
	if (!(nm->v[nm->n] = strdup(name)))
		return -ENOMEM;
	nm->n++;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* dir/NAME/file for every subdirectory NAME (file "") or dir/NAME for every
 * NAME ending in suffix, in name order so that the report is stable. */
static int add_listed(struct fix_ctx *c, struct blist *l, const char *dir, const char *suffix,
		      const char *file, enum bkind kind)
{
	struct names nm = {.suffix = suffix};
	int err = guest_list(c->g, dir, collect_name, &nm);

	if (err == -ENOENT || err == -ENOTDIR)
		err = 0;
	if (err == -ENOMEM)
		err = ferr(err, "out of memory");
	if (nm.n)
		qsort(nm.v, nm.n, sizeof(*nm.v), cmp_names);
	for (size_t i = 0; i < nm.n; i++) {
		char p[512];

		snprintf(p, sizeof(p), "%s/%s%s%s", dir, nm.v[i], *file ? "/" : "", file);
		if (!err)
			err = blist_add(c, l, p, kind);
		free(nm.v[i]);
	}
	free(nm.v);
	return err;
}

static int collect(struct fix_ctx *c, struct blist *l)
{
	static const struct {
		const char *path;
		enum bkind kind;
	} fixed[] = {
		{"/boot/grub/grub.cfg", BK_GRUB2},	  {"/boot/grub2/grub.cfg", BK_GRUB2},
		{"/boot/grub/menu.lst", BK_LEGACY},	  {"/boot/grub/grub.conf", BK_LEGACY},
		{"/boot/extlinux/extlinux.conf", BK_EXTLINUX}, {"/boot/extlinux.conf", BK_EXTLINUX},
		{"/extlinux.conf", BK_EXTLINUX},	  {"/etc/default/grub", BK_DEFAULT},
		{"/etc/sysconfig/grub", BK_DEFAULT},
	};
	int err = 0;

	for (size_t i = 0; !err && i < 2; i++)
		err = blist_add(c, l, fixed[i].path, fixed[i].kind);
	if (!err)
		err = add_listed(c, l, "/boot/efi/EFI", "", "grub.cfg", BK_GRUB2);
	/* GRUB legacy on UEFI (RHEL/CentOS 6) */
	if (!err)
		err = add_listed(c, l, "/boot/efi/EFI", "", "grub.conf", BK_LEGACY);
	for (size_t i = 2; !err && i < sizeof(fixed) / sizeof(fixed[0]); i++)
		err = blist_add(c, l, fixed[i].path, fixed[i].kind);
	if (!err)
		err = add_listed(c, l, "/boot/loader/entries", ".conf", "", BK_BLS);
	/* last: whether BLS entries use it is known by then */
	if (!err)
		err = blist_add(c, l, GRUBENV, BK_GRUBENV);
	return err;
}

/* Where a line holds a kernel command line. */
struct region {
	size_t start, end; /* in the line */
	bool sep;          /* an added argument at start needs a space before it */
	bool ifnames;      /* net.ifnames=0 biosdevname=0 belong here */
	bool unquoted;     /* a shell value without quotes */
};

static bool word_at(const char *s, size_t n, size_t i, const char *w, bool nocase)
{
	size_t k = strlen(w);

	if (i + k > n || (nocase ? strncasecmp(s + i, w, k) : strncmp(s + i, w, k)))
		return false;
	return i + k == n || isspace((unsigned char)s[i + k]);
}

static size_t skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n && isspace((unsigned char)s[i]))
		i++;
	return i;
}

static size_t skip_token(const char *s, size_t n, size_t i)
{
	while (i < n && !isspace((unsigned char)s[i]))
		i++;
	return i;
}

/* The end of a quoted value starting at s[i] (the quote), or n if open. */
static size_t close_quote(const char *s, size_t n, size_t i)
{
	char q = s[i];

	for (i++; i < n; i++) {
		if (q == '"' && s[i] == '\\' && i + 1 < n)
			i++;
		else if (s[i] == q)
			return i;
	}
	return n;
}

/* After a kernel image path: the rest is the command line, unless the image
 * is memtest86+, which is not Linux. */
static int after_image(const char *s, size_t n, size_t i, struct region *rg)
{
	size_t img = skip_ws(s, n, i), end;
	const char *base;

	while (img < n && s[img] == '-' && s[img + 1] == '-') /* legacy --type=... */
		img = skip_ws(s, n, skip_token(s, n, img));
	end = skip_token(s, n, img);
	for (base = s + end; base > s + img && base[-1] != '/' && base[-1] != ')'; base--)
		;
	if (!strncmp(base, "memtest", 7))
		return 0;
	*rg = (struct region){.start = end, .end = n, .sep = true, .ifnames = true};
	return 1;
}

/* Shell assignment NAME="value", 'value' or value at s[i]. */
static int shell_value(const char *s, size_t n, size_t i, struct region *rg)
{
	if (i < n && (s[i] == '"' || s[i] == '\'')) {
		size_t q = close_quote(s, n, i);
		if (q == n)
			return -EINVAL;
		rg->start = i + 1;
		rg->end = q;
	} else {
		rg->start = i;
		rg->end = i;
		while (rg->end < n && !isspace((unsigned char)s[rg->end]) && s[rg->end] != '#')
			rg->end++;
		rg->unquoted = true;
	}
	return 1;
}

/* 1 and *rg when the line has a kernel command line, 0 if not, -EINVAL when
 * it is malformed (an open quote). */
static int find_region(enum bkind kind, const char *s, size_t n, struct region *rg)
{
	size_t i = skip_ws(s, n, 0);

	memset(rg, 0, sizeof(*rg));
	switch (kind) {
	case BK_GRUB2:
		if (word_at(s, n, i, "linux", false) || word_at(s, n, i, "linux16", false) ||
		    word_at(s, n, i, "linuxefi", false))
			return after_image(s, n, skip_token(s, n, i), rg);
		/* RHEL 8's fallback for BLS entries when grubenv has no kernelopts */
		if (word_at(s, n, i, "set", false)) {
			i = skip_ws(s, n, i + 3);
			if (n - i > 11 && !strncmp(s + i, "kernelopts=", 11)) {
				rg->ifnames = true;
				return shell_value(s, n, i + 11, rg);
			}
		}
		return 0;
	case BK_LEGACY:
		if (word_at(s, n, i, "kernel", false))
			return after_image(s, n, i + 6, rg);
		return 0;
	case BK_BLS:
	case BK_EXTLINUX:
		if (!word_at(s, n, i, kind == BK_BLS ? "options" : "append", kind == BK_EXTLINUX))
			return 0;
		*rg = (struct region){.start = i + (kind == BK_BLS ? 7 : 6), .end = n, .sep = true,
				      .ifnames = true};
		return 1;
	case BK_DEFAULT:
		if (word_at(s, n, i, "export", false))
			i = skip_ws(s, n, i + 6);
		if (n - i > 19 && !strncmp(s + i, "GRUB_CMDLINE_LINUX=", 19)) {
			rg->ifnames = true;
			return shell_value(s, n, i + 19, rg);
		}
		if (n - i > 27 && !strncmp(s + i, "GRUB_CMDLINE_LINUX_DEFAULT=", 27))
			return shell_value(s, n, i + 27, rg);
		return 0;
	case BK_GRUBENV:
		if (n < 11 || strncmp(s, "kernelopts=", 11))
			return 0;
		*rg = (struct region){.start = 11, .end = n, .ifnames = true};
		return 1;
	}
	return 0;
}

/* The next argument in s[*i, end): [*ts, *te). Quotes group words; -EINVAL
 * for an open quote. */
static int next_arg(const char *s, size_t end, size_t *i, size_t *ts, size_t *te)
{
	size_t k = skip_ws(s, end, *i);

	if (k >= end)
		return 0;
	*ts = k;
	while (k < end && !isspace((unsigned char)s[k])) {
		if (s[k] == '\\' && k + 1 < end) {
			k += 2;
			continue;
		}
		if (s[k] == '"' || s[k] == '\'') {
			k = close_quote(s, end, k);
			if (k == end)
				return -EINVAL;
		}
		k++;
	}
	*te = *i = k;
	return 1;
}

/* Calls fn(file, key, value) for every argument of the region. */
static int walk_region(const char *file, const char *s, const struct region *rg, boot_arg_fn fn,
		       void *arg)
{
	size_t i = rg->start, ts, te;
	int r;

	while ((r = next_arg(s, rg->end, &i, &ts, &te)) == 1) {
		char tok[1024], *eq;

		snprintf(tok, sizeof(tok), "%.*s", (int)(te - ts), s + ts);
		eq = strchr(tok, '=');
		if (eq)
			*eq++ = '\0';
		r = fn(file, tok, eq, arg);
		if (r)
			return r;
	}
	return r < 0 ? 0 : r; /* a malformed line has no arguments to offer */
}

static int read_conf(struct fix_ctx *c, const char *path, char **text, size_t *len)
{
	int err = guest_read(c->g, path, CONF_MAX, text, len);

	if (err == -ENOENT)
		return 1;
	return err;
}

int boot_for_each_arg(struct fix_ctx *c, boot_arg_fn fn, void *arg)
{
	struct blist l = {0};
	int err = collect(c, &l);

	for (size_t f = 0; !err && f < l.n; f++) {
		const char *line;
		char *text;
		size_t len, pos = 0, n;

		err = read_conf(c, l.v[f].path, &text, &len);
		if (err == 1) {
			err = 0;
			continue;
		}
		while (!err && text_next_line(text, len, &pos, &line, &n)) {
			struct region rg;

			if (find_region(l.v[f].kind, line, n, &rg) == 1)
				err = walk_region(l.v[f].path, line, &rg, fn, arg);
		}
		free(text);
	}
	free(l.v);
	return err;
}

/* Editing. */

struct bedit {
	struct fix_ctx *c;
	struct sysdisk sd;
	struct fix_report chg;   /* the current file's changes, until it is written */
	bool kernelopts;         /* a BLS entry takes its options from grubenv */
};

static int add_what(struct strbuf *what, const char *s)
{
	if (what->s && strstr(what->s, s))
		return 0;
	return strbuf_addf(what, "%s%s", what->len ? "; " : "", s);
}

/* One argument: root= and resume= by UUID, net.ifnames and biosdevname 0. */
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
		return strbuf_add(out, t, tn);
	}
	snprintf(val, sizeof(val), "%.*s", (int)(tn - kn - 1), t + kn + 1);
	if ((kn == 4 && !strncmp(t, "root", 4)) || (kn == 6 && !strncmp(t, "resume", 6))) {
		bool root = kn == 4;
		const struct fix_volume *v;
		enum map_result r = sysdisk_map(&b->sd, val, root ? NULL : "swap",
						root ? b->c->root_part : 0, &v);

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

	while (!err && (r = next_arg(s, rg->end, &i, &ts, &te)) == 1) {
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
	if (!err)
		err = strbuf_add(out, s + tail, rg->end - tail);
	if (!err && (seen & 4))
		b->kernelopts = true;
	return err;
}

/* GRUB_DISABLE_LINUX_UUID=true makes grub-mkconfig write root=/dev/sdX. */
static int edit_disable_uuid(const char *s, size_t n, struct strbuf *out, struct strbuf *what)
{
	size_t i = skip_ws(s, n, 0), v;
	char q;

	if (word_at(s, n, i, "export", false))
		i = skip_ws(s, n, i + 6);
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
	r = find_region(f->kind, s, n, &rg);
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
		int r = find_region(f->kind, line, n, &rg);

		num++;
		if (r == 1) {
			i = rg.start;
			while ((r = next_arg(line, rg.end, &i, &ts, &te)) == 1)
				;
		}
		if (r < 0)
			return fix_note_once(b->c->rep, RULE, f->path,
					"line %d has a quote that is not closed; left as it is",
					num)
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
		static const char add[] = "GRUB_CMDLINE_LINUX=\"net.ifnames=0 biosdevname=0\"";

		if (out->len && out->s[out->len - 1] != '\n')
			err = strbuf_add(out, "\n", 1);
		if (!err)
			err = strbuf_addf(out, "%s\n", add);
		if (!err)
			err = fix_change_code(&b->chg, "net.names", RULE, f->path,
					      "added GRUB_CMDLINE_LINUX with net.ifnames=0 "
					      "biosdevname=0", NULL, add);
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
	err = read_conf(b->c, f->path, &text, &len);
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
		err = collect(c, &l);
	fix_report_init(&b.chg);
	for (size_t f = 0; !err && f < l.n; f++)
		err = edit_file(&b, &l.v[f]);
	fix_report_release(&b.chg);
	free(l.v);
	return err;
}
