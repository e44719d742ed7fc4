/* Boot loader configs of a guest system (see bootcfg.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fix/bootcfg.h"
#include "util/err.h"

#define CONF_MAX (4u << 20)

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

int bootcfg_collect(struct fix_ctx *c, struct blist *l)
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

bool bootcfg_word_at(const char *s, size_t n, size_t i, const char *w, bool nocase)
{
	size_t k = strlen(w);

	if (i + k > n || (nocase ? strncasecmp(s + i, w, k) : strncmp(s + i, w, k)))
		return false;
	return i + k == n || isspace((unsigned char)s[i + k]);
}

size_t bootcfg_skip_ws(const char *s, size_t n, size_t i)
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
	size_t img = bootcfg_skip_ws(s, n, i), end;
	const char *base;

	while (img < n && s[img] == '-' && s[img + 1] == '-') /* legacy --type=... */
		img = bootcfg_skip_ws(s, n, skip_token(s, n, img));
	if (img == n)
		return 0; /* no image: nothing is booted from this line */
	end = skip_token(s, n, img);
	for (base = s + end; base > s + img && base[-1] != '/' && base[-1] != ')'; base--)
		;
	if (!strncmp(base, "memtest", 7))
		return 0;
	*rg = (struct region){.start = end, .end = n, .sep = true, .ifnames = true};
	return 1;
}

/* Shell assignment NAME="value", 'value' or value at s[i], as one shell
 * word: -ENOTSUP for a word made of quoted and unquoted parts
 * (a="b"c, a=b"c d") or with a backslash outside quotes, which an edit
 * could not keep as the shell reads it. */
static int shell_value(const char *s, size_t n, size_t i, struct region *rg)
{
	if (i < n && (s[i] == '"' || s[i] == '\'')) {
		size_t q = close_quote(s, n, i);
		if (q == n)
			return -EINVAL;
		if (q + 1 < n && !isspace((unsigned char)s[q + 1]) && s[q + 1] != ';')
			return -ENOTSUP;
		rg->start = i + 1;
		rg->end = q;
	} else {
		rg->start = i;
		rg->end = i;
		while (rg->end < n && !isspace((unsigned char)s[rg->end]) && s[rg->end] != ';') {
			if (strchr("\"'\\", s[rg->end]))
				return -ENOTSUP;
			rg->end++;
		}
		rg->unquoted = true;
	}
	return 1;
}

/* 1 and *rg when the line has a kernel command line, 0 if not, -EINVAL when
 * it is malformed (an open quote). */
int bootcfg_find_region(enum bkind kind, const char *s, size_t n, struct region *rg)
{
	size_t i = bootcfg_skip_ws(s, n, 0);

	memset(rg, 0, sizeof(*rg));
	switch (kind) {
	case BK_GRUB2:
		if (bootcfg_word_at(s, n, i, "linux", false) || bootcfg_word_at(s, n, i, "linux16", false) ||
		    bootcfg_word_at(s, n, i, "linuxefi", false))
			return after_image(s, n, skip_token(s, n, i), rg);
		/* RHEL 8's fallback for BLS entries when grubenv has no kernelopts */
		if (bootcfg_word_at(s, n, i, "set", false)) {
			i = bootcfg_skip_ws(s, n, i + 3);
			if (n - i > 11 && !strncmp(s + i, "kernelopts=", 11)) {
				rg->ifnames = true;
				return shell_value(s, n, i + 11, rg);
			}
		}
		return 0;
	case BK_LEGACY:
		if (bootcfg_word_at(s, n, i, "kernel", false))
			return after_image(s, n, i + 6, rg);
		return 0;
	case BK_BLS:
	case BK_EXTLINUX:
		if (!bootcfg_word_at(s, n, i, kind == BK_BLS ? "options" : "append", kind == BK_EXTLINUX))
			return 0;
		*rg = (struct region){.start = i + (kind == BK_BLS ? 7 : 6), .end = n, .sep = true,
				      .ifnames = true};
		return 1;
	case BK_DEFAULT:
		if (bootcfg_word_at(s, n, i, "export", false))
			i = bootcfg_skip_ws(s, n, i + 6);
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
 * for an open quote, -EILSEQ for a backslash at the end (an argument added
 * after it would be joined to the one before). */
int bootcfg_next_arg(const char *s, size_t end, size_t *i, size_t *ts, size_t *te)
{
	size_t k = bootcfg_skip_ws(s, end, *i);

	if (k >= end)
		return 0;
	*ts = k;
	while (k < end && !isspace((unsigned char)s[k])) {
		if (s[k] == '\\') {
			if (k + 1 == end)
				return -EILSEQ;
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

	while ((r = bootcfg_next_arg(s, rg->end, &i, &ts, &te)) == 1) {
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

int bootcfg_read(struct fix_ctx *c, const char *path, char **text, size_t *len)
{
	int err = guest_read(c->g, path, CONF_MAX, text, len);

	if (err == -ENOENT)
		return 1;
	return err;
}

int boot_for_each_arg(struct fix_ctx *c, boot_arg_fn fn, void *arg)
{
	struct blist l = {0};
	int err = bootcfg_collect(c, &l);

	for (size_t f = 0; !err && f < l.n; f++) {
		const char *line;
		char *text;
		size_t len, pos = 0, n;

		err = bootcfg_read(c, l.v[f].path, &text, &len);
		if (err == 1) {
			err = 0;
			continue;
		}
		while (!err && text_next_line(text, len, &pos, &line, &n)) {
			struct region rg;

			if (bootcfg_find_region(l.v[f].kind, line, n, &rg) == 1)
				err = walk_region(l.v[f].path, line, &rg, fn, arg);
		}
		free(text);
	}
	free(l.v);
	return err;
}

