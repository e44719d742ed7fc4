/* The in-memory guest of the fix-rule fuzz targets (memguest.h): a flat
 * list of files, links and directories by canonical path. guest.c resolves
 * links and routes before a call gets here, so every path is absolute and
 * plain, and a stat never follows. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memguest.h"
#include "util/err.h"

/* Enough for any test tree; a rule that keeps creating files stops here. */
#define MG_MAX_ENTRIES 512
#define MG_PATH_MAX 256

struct mentry {
	char *path;
	uint32_t mode;
	char *data; /* contents or link target, NUL-terminated */
	size_t len;
};

struct mguest {
	struct mentry *v;
	size_t n, cap;
};

static struct mguest *mg(struct guest *g)
{
	return g->priv;
}

static struct mentry *find(struct guest *g, const char *path)
{
	struct mguest *m = mg(g);

	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->v[i].path, path))
			return &m->v[i];
	return NULL;
}

/* Whether path is below dir ("/" holds every other path). */
static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return path[0] == '/' && path[1];
	return !strncmp(path, dir, n) && path[n] == '/';
}

static bool is_dir(struct guest *g, const char *path)
{
	struct mguest *m = mg(g);
	struct mentry *e = find(g, path);

	if (!strcmp(path, "/") || (e && GUEST_ISDIR(e->mode)))
		return true;
	if (e)
		return false;
	for (size_t i = 0; i < m->n; i++)
		if (under(m->v[i].path, path))
			return true;
	return false;
}

/* Whether path's parent is a directory. */
static bool parent_ok(struct guest *g, const char *path)
{
	char dir[MG_PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return false;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return is_dir(g, dir[0] ? dir : "/");
}

/* Absolute, below MG_PATH_MAX, without "//", "." or ".." components or a
 * trailing slash: the form guest.c hands over. */
static bool plain_path(const char *p)
{
	size_t n = strlen(p);

	if (p[0] != '/' || n < 2 || n >= MG_PATH_MAX || p[n - 1] == '/' || strstr(p, "//") ||
	    strstr(p, "/./") || strstr(p, "/../"))
		return false;
	return !(n >= 2 && !strcmp(p + n - 2, "/.")) && !(n >= 3 && !strcmp(p + n - 3, "/.."));
}

/* Whether something that is not a directory stands where path needs one. */
static bool blocked(struct guest *g, const char *path)
{
	char dir[MG_PATH_MAX];

	for (const char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
		struct mentry *e;

		memcpy(dir, path, (size_t)(s - path));
		dir[s - path] = '\0';
		e = find(g, dir);
		if (e && !GUEST_ISDIR(e->mode))
			return true;
	}
	return false;
}

static int add(struct guest *g, const char *path, uint32_t mode, const char *data, size_t len)
{
	struct mguest *m = mg(g);
	struct mentry *e;

	if (!plain_path(path) || blocked(g, path))
		return ferr(-EINVAL, "%s: cannot make %s", g->name, path);
	if (find(g, path) || is_dir(g, path))
		return ferr(-EEXIST, "%s: %s exists", g->name, path);
	if (m->n == MG_MAX_ENTRIES)
		return ferr(-ENOSPC, "%s: more than %d files", g->name, MG_MAX_ENTRIES);
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct mentry *v = realloc(m->v, cap * sizeof(*v));

		if (!v)
			return ferr(-ENOMEM, "out of memory");
		m->v = v;
		m->cap = cap;
	}
	e = &m->v[m->n];
	e->path = strdup(path);
	e->data = malloc(len + 1);
	if (!e->path || !e->data) {
		free(e->path);
		free(e->data);
		return ferr(-ENOMEM, "out of memory");
	}
	if (len)
		memcpy(e->data, data, len);
	e->data[len] = '\0';
	e->len = len;
	e->mode = mode;
	m->n++;
	return 0;
}

static void drop(struct guest *g, struct mentry *e)
{
	struct mguest *m = mg(g);

	free(e->path);
	free(e->data);
	*e = m->v[--m->n];
}

static int mg_read(struct guest *g, const char *path, size_t max, char **data, size_t *len)
{
	struct mentry *e = find(g, path);

	if (!e)
		return is_dir(g, path) ? ferr(-EISDIR, "%s: %s is a directory", g->name, path)
				       : -ENOENT;
	if (!GUEST_ISREG(e->mode))
		return ferr(-EISDIR, "%s: %s is not a regular file", g->name, path);
	if (e->len > max)
		return ferr(-EFBIG, "%s: %s is larger than %zu bytes", g->name, path, max);
	*data = malloc(e->len + 1);
	if (!*data)
		return ferr(-ENOMEM, "out of memory");
	memcpy(*data, e->data, e->len + 1);
	*len = e->len;
	return 0;
}

static int mg_write(struct guest *g, const char *path, const void *data, size_t len,
		    uint32_t mode)
{
	struct mentry *e = find(g, path);
	char *copy;

	if (!e) {
		if (!parent_ok(g, path))
			return ferr(-ENOENT, "%s: no directory for %s", g->name, path);
		return add(g, path, GUEST_S_IFREG | (mode & 07777), data, len);
	}
	if (!GUEST_ISREG(e->mode))
		return ferr(-EISDIR, "%s: %s is not a regular file", g->name, path);
	copy = malloc(len + 1);
	if (!copy)
		return ferr(-ENOMEM, "out of memory");
	if (len)
		memcpy(copy, data, len);
	copy[len] = '\0';
	free(e->data);
	e->data = copy;
	e->len = len;
	return 0;
}

static int mg_rename(struct guest *g, const char *from, const char *to)
{
	struct mentry *e = find(g, from), *old = find(g, to);
	char *p;

	if (!e)
		return is_dir(g, from) ? ferr(-EOPNOTSUPP, "%s: cannot rename directory %s",
					      g->name, from)
				       : -ENOENT;
	if (GUEST_ISDIR(e->mode))
		return ferr(-EOPNOTSUPP, "%s: cannot rename directory %s", g->name, from);
	if (e == old)
		return 0;
	if ((!old && is_dir(g, to)) || (old && GUEST_ISDIR(old->mode)))
		return ferr(-EISDIR, "%s: %s is a directory", g->name, to);
	if (!plain_path(to) || !parent_ok(g, to))
		return ferr(-ENOENT, "%s: no directory for %s", g->name, to);
	p = strdup(to);
	if (!p)
		return ferr(-ENOMEM, "out of memory");
	free(e->path);
	e->path = p;
	if (old)
		drop(g, old);
	return 0;
}

static int mg_unlink(struct guest *g, const char *path)
{
	struct mentry *e = find(g, path);

	if (!e)
		return is_dir(g, path) ? ferr(-EISDIR, "%s: %s is a directory", g->name, path)
				       : -ENOENT;
	if (GUEST_ISDIR(e->mode))
		return ferr(-EISDIR, "%s: %s is a directory", g->name, path);
	drop(g, e);
	return 0;
}

static int mg_symlink(struct guest *g, const char *target, const char *path)
{
	if (!parent_ok(g, path))
		return ferr(-ENOENT, "%s: no directory for %s", g->name, path);
	return add(g, path, GUEST_S_IFLNK | 0777, target, strlen(target));
}

static int mg_readlink(struct guest *g, const char *path, char *buf, size_t len)
{
	struct mentry *e = find(g, path);

	if (!e)
		return is_dir(g, path) ? ferr(-EINVAL, "%s: %s is not a link", g->name, path)
				       : -ENOENT;
	if (!GUEST_ISLNK(e->mode))
		return ferr(-EINVAL, "%s: %s is not a link", g->name, path);
	if (e->len >= len)
		return ferr(-ENAMETOOLONG, "%s: the target of %s is too long", g->name, path);
	memcpy(buf, e->data, e->len + 1);
	return 0;
}

static int mg_mkdir(struct guest *g, const char *path, uint32_t mode)
{
	if (!parent_ok(g, path))
		return ferr(-ENOENT, "%s: no directory for %s", g->name, path);
	return add(g, path, GUEST_S_IFDIR | (mode & 07777), "", 0);
}

/* The name of the entry of dir that path is or is under, into name;
 * returns what follows that name in path ("" when path is the entry). */
static const char *child_name(const char *path, const char *dir, char *name)
{
	const char *c = path + (strcmp(dir, "/") ? strlen(dir) : 0) + 1;
	size_t n = strcspn(c, "/");

	memcpy(name, c, n);
	name[n] = '\0';
	return c + n;
}

static int mg_list(struct guest *g, const char *path, guest_list_fn fn, void *arg)
{
	struct mguest *m = mg(g);
	struct mentry *e = find(g, path);
	char (*names)[MG_PATH_MAX];
	uint32_t *modes;
	size_t n = 0;
	int err = 0;

	if (e && !GUEST_ISDIR(e->mode))
		return ferr(-ENOTDIR, "%s: %s is not a directory", g->name, path);
	if (!is_dir(g, path))
		return -ENOENT;
	/* Listed from a copy: the callback may change the guest. */
	names = malloc((m->n + 1) * sizeof(*names));
	modes = malloc((m->n + 1) * sizeof(*modes));
	if (!names || !modes) {
		err = ferr(-ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m->n; i++) {
		const char *rest;
		size_t j;

		if (!under(m->v[i].path, path))
			continue;
		rest = child_name(m->v[i].path, path, names[n]);
		for (j = 0; j < n && strcmp(names[j], names[n]); j++)
			;
		if (j < n)
			continue;
		modes[n] = *rest ? GUEST_S_IFDIR | 0755 : m->v[i].mode;
		n++;
	}
	for (size_t i = 0; i < n && !err; i++)
		err = fn(names[i], modes[i], arg);
out:
	free(names);
	free(modes);
	return err;
}

static int mg_stat(struct guest *g, const char *path, bool follow, struct guest_stat *st)
{
	struct mentry *e = find(g, path);

	(void)follow;
	memset(st, 0, sizeof(*st));
	st->nlink = 1;
	if (e) {
		st->mode = e->mode;
		st->size = GUEST_ISDIR(e->mode) ? 0 : e->len;
		return 0;
	}
	if (!is_dir(g, path))
		return -ENOENT;
	st->mode = GUEST_S_IFDIR | 0755;
	return 0;
}

static void mg_release(struct guest *g)
{
	struct mguest *m = mg(g);

	for (size_t i = 0; m && i < m->n; i++) {
		free(m->v[i].path);
		free(m->v[i].data);
	}
	if (m)
		free(m->v);
	free(m);
	g->priv = NULL;
}

static const struct guest_ops mg_ops = {
	.read = mg_read,
	.write = mg_write,
	.rename = mg_rename,
	.unlink = mg_unlink,
	.symlink = mg_symlink,
	.readlink = mg_readlink,
	.mkdir = mg_mkdir,
	.list = mg_list,
	.stat = mg_stat,
	.release = mg_release,
};

int memguest_open(struct guest *g)
{
	memset(g, 0, sizeof(*g));
	g->priv = calloc(1, sizeof(struct mguest));
	if (!g->priv)
		return ferr(-ENOMEM, "out of memory");
	g->ops = &mg_ops;
	snprintf(g->name, sizeof(g->name), "memory");
	return 0;
}

int memguest_add(struct guest *g, const char *path, const char *data, size_t len)
{
	return add(g, path, GUEST_S_IFREG | 0644, data, len);
}

int memguest_add_link(struct guest *g, const char *path, const char *target)
{
	return add(g, path, GUEST_S_IFLNK | 0777, target, strlen(target));
}

/* The "=== " line at line (n bytes, no newline): a file or a link. */
static void load_entry(struct guest *g, const char *line, size_t n, const char *data,
		       size_t len)
{
	char path[MG_PATH_MAX], target[MG_PATH_MAX];
	const char *arrow = memmem(line, n, " -> ", 4);
	size_t pn = arrow ? (size_t)(arrow - line) : n;

	if (pn >= sizeof(path) || memchr(line, '\0', n))
		return;
	memcpy(path, line, pn);
	path[pn] = '\0';
	if (!arrow) {
		memguest_add(g, path, data, len);
		return;
	}
	if (n - pn - 4 >= sizeof(target))
		return;
	memcpy(target, arrow + 4, n - pn - 4);
	target[n - pn - 4] = '\0';
	memguest_add_link(g, path, target);
}

void memguest_load(struct guest *g, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *head = NULL, *body = NULL;
	size_t hn = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end;

		if (end - p >= 4 && !memcmp(p, "=== ", 4)) {
			if (head)
				load_entry(g, head, hn, body, (size_t)(p - body));
			head = p + 4;
			hn = (size_t)((nl ? nl : end) - head);
			body = next;
		}
		p = next;
	}
	if (head)
		load_entry(g, head, hn, body, (size_t)(end - body));
}

void memguest_fix_ctx(struct fix_ctx *c, struct guest *g, struct fix_report *rep,
		      const char *text, size_t len, char cloud[16])
{
	static const struct fix_volume vols[] = {
		{.partnum = 1, .fs = "ext4", .uuid = "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f",
		 .label = "boot", .partuuid = "9a8b7c6d-01"},
		{.partnum = 2, .fs = "xfs", .uuid = "0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a",
		 .partuuid = "9a8b7c6d-02"},
		{.partnum = 3, .fs = "swap", .uuid = "c6f2e8a1-4d5b-4e3f-8a9c-1b2d3e4f5a60",
		 .partuuid = "9a8b7c6d-03"},
	};
	size_t n = 0;

	if (len > 6 && !memcmp(text, "cloud=", 6))
		while (n < 15 && 6 + n < len && text[6 + n] != '\n' && text[6 + n])
			n++;
	memcpy(cloud, n ? text + 6 : "kvm", n ? n : 3);
	cloud[n ? n : 3] = '\0';
	*c = (struct fix_ctx){.g = g, .vols = vols, .nvols = sizeof(vols) / sizeof(vols[0]),
			      .root_part = 2, .boot_part = 1, .cloud = cloud, .rep = rep};
}

/* Prints what a run recorded: with FERRY_FUZZ_SHOW=1 in the environment,
 * the first run of each input, to see what a finding's first run did. */
static void show(const char *name, const struct fix_report *rep)
{
	fprintf(stderr, "the %s rule's first run: %zu changes, %zu notes\n", name, rep->nchanges,
		rep->nnotes);
	for (size_t i = 0; i < rep->nchanges; i++)
		fprintf(stderr, "  %s: %s\n    before: %s\n    after:  %s\n", rep->changes[i].file,
			rep->changes[i].what, rep->changes[i].before ? rep->changes[i].before : "(none)",
			rep->changes[i].after ? rep->changes[i].after : "(none)");
	for (size_t i = 0; i < rep->nnotes; i++)
		fprintf(stderr, "  note: %s\n", rep->notes[i].text);
}

void memguest_run_twice(struct fix_ctx *c, int (*rule)(struct fix_ctx *), const char *name)
{
	struct fix_report *first = c->rep, again;
	const char *env = getenv("FERRY_FUZZ_SHOW");
	int err = rule(c);

	if (env && !strcmp(env, "1"))
		show(name, c->rep);
	if (err)
		return;
	fix_report_init(&again);
	c->rep = &again;
	if (!rule(c) && again.nchanges) {
		fprintf(stderr, "the %s rule changed its own output:\n", name);
		for (size_t i = 0; i < again.nchanges; i++)
			fprintf(stderr, "  %s: %s\n    before: %s\n    after:  %s\n",
				again.changes[i].file, again.changes[i].what,
				again.changes[i].before ? again.changes[i].before : "(none)",
				again.changes[i].after ? again.changes[i].after : "(none)");
		abort();
	}
	c->rep = first;
	fix_report_release(&again);
}
