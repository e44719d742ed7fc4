/* Disabling services in a guest: systemd links and aliases under
 * /etc/systemd/system and SysV rc links, shared by the fix rules. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fix/service.h"
#include "util/err.h"

#define SVC_PATH 512
#define SVC_LINK 1024

static int dirlist_add(const char *name, uint32_t mode, void *arg)
{
	struct dirlist *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct dirlist_entry *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return ferr(-ENOMEM, "out of memory");
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].name = strdup(name);
	if (!l->v[l->n].name)
		return ferr(-ENOMEM, "out of memory");
	l->v[l->n].mode = mode;
	l->n++;
	return 0;
}

static int dirlist_cmp(const void *a, const void *b)
{
	const struct dirlist_entry *x = a, *y = b;

	return strcmp(x->name, y->name);
}

int dirlist_read(struct guest *g, const char *dir, struct dirlist *l)
{
	int err;

	memset(l, 0, sizeof(*l));
	err = guest_list(g, dir, dirlist_add, l);
	if (err) {
		dirlist_release(l);
		return err;
	}
	if (l->n)
		qsort(l->v, l->n, sizeof(l->v[0]), dirlist_cmp);
	return 0;
}

void dirlist_release(struct dirlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* True for a directory that is not reached through a symbolic link in its
 * last two components: /etc/rc3.d -> rc.d/rc3.d on Red Hat and /etc/rc.d ->
 * init.d on SUSE would otherwise show the same links twice. */
static bool real_dir(struct guest *g, const char *path)
{
	char parent[SVC_PATH];
	const char *slash = strrchr(path, '/');
	struct guest_stat st;

	if (guest_stat(g, path, false, &st) || !GUEST_ISDIR(st.mode))
		return false;
	if (!slash || slash == path)
		return true;
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
	return guest_stat(g, parent, false, &st) == 0 && GUEST_ISDIR(st.mode);
}

/* ---- systemd ---- */

#define SYSTEMD_ETC "/etc/systemd/system"

static bool dep_dir(const struct dirlist_entry *e)
{
	return GUEST_ISDIR(e->mode) && (has_suffix(e->name, ".wants") ||
					has_suffix(e->name, ".requires") ||
					has_suffix(e->name, ".upholds"));
}

/* Removes the link path if it names unit itself or points at it. */
static int drop_unit_link(struct fix_ctx *c, const char *rule, const char *path,
			  const char *unit, bool alias_only)
{
	char target[SVC_LINK], what[160];
	int err = guest_readlink(c->g, path, target, sizeof(target));

	if (err == -ENOENT || err == -EINVAL)
		return 0;
	if (err)
		return err;
	if (alias_only) {
		/* "NAME.service -> /dev/null" is a mask and "NAME.service ->
		 * /opt/.../NAME.service" a linked unit file: neither is an alias. */
		if (!strcmp(base_name(path), unit) || strcmp(base_name(target), unit))
			return 0;
		snprintf(what, sizeof(what), "removed the alias %s of %s", base_name(path), unit);
	} else {
		if (strcmp(base_name(path), unit) && strcmp(base_name(target), unit))
			return 0;
		snprintf(what, sizeof(what), "removed the link that starts %s at boot", unit);
	}
	err = guest_unlink(c->g, path);
	if (err)
		return err;
	err = fix_change(c->rep, rule, path, what, target, NULL);
	return err ? err : 1;
}

static int systemd_disable(struct fix_ctx *c, const char *rule, const char *unit)
{
	struct dirlist top, sub;
	char path[SVC_PATH];
	int err, changes = 0;

	err = dirlist_read(c->g, SYSTEMD_ETC, &top);
	if (err == -ENOENT || err == -ENOTDIR)
		return 0;
	if (err)
		return err;
	for (size_t i = 0; i < top.n && err >= 0; i++) {
		const struct dirlist_entry *e = &top.v[i];

		snprintf(path, sizeof(path), SYSTEMD_ETC "/%s", e->name);
		if (GUEST_ISLNK(e->mode) && has_suffix(e->name, ".service")) {
			err = drop_unit_link(c, rule, path, unit, true);
			changes += err > 0;
			continue;
		}
		if (!dep_dir(e))
			continue;
		err = dirlist_read(c->g, path, &sub);
		if (err == -ENOENT) {
			err = 0;
			continue;
		}
		for (size_t j = 0; j < sub.n && err >= 0; j++) {
			char link[2 * SVC_PATH];

			if (!GUEST_ISLNK(sub.v[j].mode))
				continue;
			snprintf(link, sizeof(link), "%s/%s", path, sub.v[j].name);
			err = drop_unit_link(c, rule, link, unit, false);
			changes += err > 0;
		}
		dirlist_release(&sub);
	}
	dirlist_release(&top);
	return err < 0 ? err : changes;
}

static bool systemd_enabled(struct fix_ctx *c, const char *unit)
{
	struct dirlist top;
	char path[SVC_PATH];
	bool on = false;

	if (dirlist_read(c->g, SYSTEMD_ETC, &top))
		return false;
	for (size_t i = 0; i < top.n && !on; i++) {
		struct guest_stat st;

		if (!dep_dir(&top.v[i]))
			continue;
		snprintf(path, sizeof(path), SYSTEMD_ETC "/%s/%s", top.v[i].name, unit);
		on = guest_stat(c->g, path, false, &st) == 0;
	}
	dirlist_release(&top);
	return on;
}

/* ---- SysV ---- */

/* Every place rc links live: Red Hat (rc.d/rcN.d, with /etc/rcN.d links to
 * them), Debian (/etc/rcN.d, rcS.d) and old SUSE (init.d/rcN.d, boot.d). */
static const char *const rc_dirs[] = {
	"/etc/rc.d/rc0.d",   "/etc/rc.d/rc1.d",   "/etc/rc.d/rc2.d",   "/etc/rc.d/rc3.d",
	"/etc/rc.d/rc4.d",   "/etc/rc.d/rc5.d",   "/etc/rc.d/rc6.d",   "/etc/rc0.d",
	"/etc/rc1.d",        "/etc/rc2.d",        "/etc/rc3.d",        "/etc/rc4.d",
	"/etc/rc5.d",        "/etc/rc6.d",        "/etc/rcS.d",        "/etc/init.d/rc0.d",
	"/etc/init.d/rc1.d", "/etc/init.d/rc2.d", "/etc/init.d/rc3.d", "/etc/init.d/rc4.d",
	"/etc/init.d/rc5.d", "/etc/init.d/rc6.d", "/etc/init.d/boot.d",
};

/* Matches "S08iptables" (kind 'S') for name "iptables"; *prio gets 08. */
static bool rc_link_is(const char *entry, char kind, const char *name, int *prio)
{
	if (entry[0] != kind || entry[1] < '0' || entry[1] > '9' || entry[2] < '0' ||
	    entry[2] > '9' || strcmp(entry + 3, name))
		return false;
	if (prio)
		*prio = (entry[1] - '0') * 10 + (entry[2] - '0');
	return true;
}

/* The "# chkconfig: 2345 08 92" header of the SysV script name. */
struct chkconfig {
	char levels[12];
	int start, stop;
	char script[64]; /* the script's path */
};

static bool chkconfig_read(struct fix_ctx *c, const char *name, struct chkconfig *h)
{
	static const char *const dirs[] = {"/etc/rc.d/init.d", "/etc/init.d"};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char *text, levels[12];
		size_t len, pos = 0, n;
		const char *line;
		bool found = false;

		snprintf(h->script, sizeof(h->script), "%s/%s", dirs[i], name);
		if (guest_read(c->g, h->script, 1 << 20, &text, &len))
			continue;
		while (!found && text_next_line(text, len, &pos, &line, &n)) {
			char buf[160];
			const char *p;
			int start, stop;

			if (n == 0 || line[0] != '#' || n >= sizeof(buf))
				continue;
			memcpy(buf, line, n);
			buf[n] = '\0';
			p = strstr(buf, "chkconfig:");
			if (p && sscanf(p + 10, " %11s %d %d", levels, &start, &stop) == 3) {
				snprintf(h->levels, sizeof(h->levels), "%s", levels);
				h->start = start;
				h->stop = stop;
				found = true;
			}
		}
		free(text);
		if (found)
			return true;
	}
	return false;
}

/* Replaces the start link dir/entry by a stop link to the same script. */
static int sysv_stop_link(struct fix_ctx *c, const char *rule, const char *dir,
			  const struct dirlist *l, const char *entry, const char *name, int start,
			  const struct chkconfig *h)
{
	char path[SVC_PATH], kpath[SVC_PATH], target[SVC_LINK], before[SVC_LINK + 64],
		after[SVC_LINK + 64], what[160];
	int stop = h ? h->stop : 100 - start, err;
	bool has_stop = false;

	snprintf(path, sizeof(path), "%s/%s", dir, entry);
	err = guest_readlink(c->g, path, target, sizeof(target));
	if (err == -EINVAL) /* a plain file, not a link: leave it to the admin */
		return 0;
	if (err)
		return err;
	for (size_t i = 0; i < l->n; i++)
		has_stop |= rc_link_is(l->v[i].name, 'K', name, NULL);
	if (stop < 1)
		stop = 1;
	if (stop > 99)
		stop = 99;
	snprintf(kpath, sizeof(kpath), "%s/K%02d%s", dir, stop, name);
	snprintf(before, sizeof(before), "%s -> %s", entry, target);
	if (!has_stop)
		snprintf(after, sizeof(after), "K%02d%s -> %s", stop, name, target);
	err = guest_unlink(c->g, path);
	if (!err && !has_stop) {
		err = guest_symlink(c->g, target, kpath);
		if (err == -EEXIST) /* two start links for one script */
			err = 0, has_stop = true;
	}
	if (err)
		return err;
	snprintf(what, sizeof(what), "%s no longer starts at boot (SysV start link %s)", name,
		 has_stop ? "removed" : "turned into a stop link");
	err = fix_change(c->rep, rule, path, what, before, has_stop ? NULL : after);
	return err ? err : 1;
}

static int sysv_disable(struct fix_ctx *c, const char *rule, const char *name)
{
	struct chkconfig h;
	bool have_h = chkconfig_read(c, name, &h);
	int err = 0, changes = 0;

	for (size_t d = 0; d < sizeof(rc_dirs) / sizeof(rc_dirs[0]) && err >= 0; d++) {
		struct dirlist l;

		if (!real_dir(c->g, rc_dirs[d]))
			continue;
		err = dirlist_read(c->g, rc_dirs[d], &l);
		if (err == -ENOENT) {
			err = 0;
			continue;
		}
		for (size_t i = 0; i < l.n && err >= 0; i++) {
			int start;

			if (!rc_link_is(l.v[i].name, 'S', name, &start))
				continue;
			err = sysv_stop_link(c, rule, rc_dirs[d], &l, l.v[i].name, name, start,
					     have_h ? &h : NULL);
			changes += err > 0;
		}
		dirlist_release(&l);
	}
	return err < 0 ? err : changes;
}

static bool sysv_enabled(struct fix_ctx *c, const char *name)
{
	bool on = false;

	for (size_t d = 0; d < sizeof(rc_dirs) / sizeof(rc_dirs[0]) && !on; d++) {
		struct dirlist l;

		if (!real_dir(c->g, rc_dirs[d]) || dirlist_read(c->g, rc_dirs[d], &l))
			continue;
		for (size_t i = 0; i < l.n && !on; i++)
			on = rc_link_is(l.v[i].name, 'S', name, NULL);
		dirlist_release(&l);
	}
	return on;
}

int service_disable(struct fix_ctx *c, const char *rule, const char *name)
{
	char unit[128];
	int a, b;

	snprintf(unit, sizeof(unit), "%s.service", name);
	a = systemd_disable(c, rule, unit);
	if (a < 0)
		return ferr_ctx(a, "disabling %s", unit);
	b = sysv_disable(c, rule, name);
	if (b < 0)
		return ferr_ctx(b, "disabling the SysV script %s", name);
	return a + b;
}

bool service_enabled(struct fix_ctx *c, const char *name)
{
	char unit[128];

	snprintf(unit, sizeof(unit), "%s.service", name);
	return systemd_enabled(c, unit) || sysv_enabled(c, name);
}

/* The runlevel directory for level, Red Hat layout first. */
static bool rc_dir_for(struct fix_ctx *c, char level, char *dir, size_t len)
{
	snprintf(dir, len, "/etc/rc.d/rc%c.d", level);
	if (real_dir(c->g, dir))
		return true;
	snprintf(dir, len, "/etc/rc%c.d", level);
	return real_dir(c->g, dir);
}

static int sysv_on_in(struct fix_ctx *c, const char *rule, const char *dir, const char *name,
		      const struct chkconfig *h)
{
	char path[SVC_PATH], target[128], link[SVC_LINK], before[SVC_LINK + 64], after[192];
	struct dirlist l;
	int err, changes = 0;

	err = dirlist_read(c->g, dir, &l);
	if (err)
		return err == -ENOENT ? 0 : err;
	for (size_t i = 0; i < l.n; i++)
		if (rc_link_is(l.v[i].name, 'S', name, NULL)) {
			dirlist_release(&l);
			return 0;
		}
	snprintf(target, sizeof(target), "../init.d/%s", name);
	for (size_t i = 0; i < l.n && !err; i++) {
		if (!GUEST_ISLNK(l.v[i].mode) || !rc_link_is(l.v[i].name, 'K', name, NULL))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, l.v[i].name);
		err = guest_readlink(c->g, path, link, sizeof(link));
		if (!err)
			err = guest_unlink(c->g, path);
		if (!err) {
			snprintf(before, sizeof(before), "%s -> %s", l.v[i].name, link);
			err = fix_change(c->rep, rule, path, "removed the stop link", before, NULL);
		}
		changes += !err;
	}
	dirlist_release(&l);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/S%02d%s", dir, h->start, name);
	err = guest_symlink(c->g, target, path);
	if (err)
		return err;
	snprintf(after, sizeof(after), "S%02d%s -> %s", h->start, name, target);
	snprintf(before, sizeof(before), "%s starts at boot (chkconfig on)", name);
	err = fix_change(c->rep, rule, path, before, NULL, after);
	return err ? err : changes + 1;
}

int service_enable_sysv(struct fix_ctx *c, const char *rule, const char *name)
{
	struct chkconfig h;
	int changes = 0;

	if (!chkconfig_read(c, name, &h) || !strcmp(h.levels, "-"))
		return 0;
	for (const char *lv = h.levels; *lv; lv++) {
		char dir[64];
		int err;

		if (*lv < '0' || *lv > '6' || !rc_dir_for(c, *lv, dir, sizeof(dir)))
			continue;
		err = sysv_on_in(c, rule, dir, name, &h);
		if (err < 0)
			return ferr_ctx(err, "enabling the SysV script %s", name);
		changes += err;
	}
	return changes;
}
