/* Guest files, the backend-neutral part: symbolic links are resolved here,
 * inside the guest and across the guests mounted on it, so that a backend
 * only ever sees paths whose directories are real directories. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/guest.h"
#include "util/err.h"

#define GUEST_PATH_MAX 4096
#define GUEST_MAX_LINKS 40

/* The guest that holds the canonical path p, and p inside it. */
static struct guest *route(struct guest *g, const char *p, const char **sub)
{
	size_t best = 0;
	struct guest *to = g;

	*sub = p;
	for (size_t i = 0; i < g->nmounts; i++) {
		size_t n = strlen(g->mounts[i].at);

		if (n > best && strncmp(p, g->mounts[i].at, n) == 0 && (p[n] == '/' || !p[n])) {
			best = n;
			to = g->mounts[i].g;
			*sub = p[n] ? p + n : "/";
		}
	}
	if (to != g && to->nmounts)
		return route(to, *sub, sub);
	return to;
}

static int raw_lstat(struct guest *g, const char *p, struct guest_stat *st)
{
	const char *sub;
	struct guest *b = route(g, p, &sub);

	return b->ops->stat(b, sub, false, st);
}

static int raw_readlink(struct guest *g, const char *p, char *buf, size_t len)
{
	const char *sub;
	struct guest *b = route(g, p, &sub);

	return b->ops->readlink(b, sub, buf, len);
}

/* Resolves path to a canonical absolute path in out (no ".", "..", or
 * symbolic link in any directory; in the last component only if
 * !follow_last). A missing last component is not an error: it may be about
 * to be created. */
static int resolve(struct guest *g, const char *path, bool follow_last, char *out)
{
	char rest[GUEST_PATH_MAX], link[GUEST_PATH_MAX], tmp[GUEST_PATH_MAX];
	size_t olen = 0;
	int links = 0;

	if (path[0] != '/')
		return ferr(-EINVAL, "%s: guest path %s is not absolute", g->name, path);
	if (snprintf(rest, sizeof(rest), "%s", path) >= (int)sizeof(rest))
		return ferr(-ENAMETOOLONG, "%s: path too long", g->name);
	out[0] = '\0';
	for (;;) {
		char *r = rest, *comp, *slash;
		bool last;
		struct guest_stat st;
		int err;

		while (*r == '/')
			r++;
		if (!*r)
			break;
		comp = r;
		slash = strchr(r, '/');
		if (slash)
			*slash = '\0';
		r = slash ? slash + 1 : r + strlen(r);
		while (*r == '/')
			r++;
		last = !*r;
		if (!strcmp(comp, ".")) {
			memmove(rest, r, strlen(r) + 1);
			continue;
		}
		if (!strcmp(comp, "..")) {
			char *up = strrchr(out, '/');
			olen = up ? (size_t)(up - out) : 0;
			out[olen] = '\0';
			memmove(rest, r, strlen(r) + 1);
			continue;
		}
		if (olen + 1 + strlen(comp) + 1 > GUEST_PATH_MAX)
			return ferr(-ENAMETOOLONG, "%s: path too long: %s", g->name, path);
		out[olen] = '/';
		memcpy(out + olen + 1, comp, strlen(comp) + 1);
		if (last && !follow_last) {
			olen += 1 + strlen(comp);
			break;
		}
		err = raw_lstat(g, out, &st);
		if (err == -ENOENT && last) {
			olen += 1 + strlen(comp);
			break;
		}
		if (err) {
			out[olen] = '\0';
			return err;
		}
		if (GUEST_ISLNK(st.mode)) {
			if (++links > GUEST_MAX_LINKS)
				return ferr(-ELOOP, "%s: too many levels of symbolic links in %s",
					    g->name, path);
			err = raw_readlink(g, out, link, sizeof(link));
			if (err)
				return err;
			if (snprintf(tmp, sizeof(tmp), "%s%s%s", link, *r ? "/" : "", r) >=
			    (int)sizeof(tmp))
				return ferr(-ENAMETOOLONG, "%s: path too long: %s", g->name, path);
			memcpy(rest, tmp, strlen(tmp) + 1);
			out[olen] = '\0';
			if (link[0] == '/')
				olen = 0, out[0] = '\0';
			continue;
		}
		if (!last && !GUEST_ISDIR(st.mode)) {
			out[olen] = '\0';
			return -ENOTDIR;
		}
		olen += 1 + strlen(comp);
		memmove(rest, r, strlen(r) + 1);
	}
	if (olen == 0)
		memcpy(out, "/", 2);
	return 0;
}

/* The guest that holds path (resolved as follow asks) and the path in it;
 * buf holds the canonical path. */
static int locate(struct guest *g, const char *path, bool follow, char *buf, struct guest **b,
		  const char **sub)
{
	int err = resolve(g, path, follow, buf);

	if (!err)
		*b = route(g, buf, sub);
	return err;
}

int guest_read(struct guest *g, const char *path, size_t max, char **data, size_t *len)
{
	char p[GUEST_PATH_MAX];
	const char *sub;
	struct guest *b;
	int err = locate(g, path, true, p, &b, &sub);

	*data = NULL;
	*len = 0;
	return err ? err : b->ops->read(b, sub, max, data, len);
}

int guest_write(struct guest *g, const char *path, const void *data, size_t len, uint32_t mode)
{
	char p[GUEST_PATH_MAX];
	const char *sub;
	struct guest *b;
	int err = locate(g, path, true, p, &b, &sub);

	return err ? err : b->ops->write(b, sub, data, len, mode);
}

int guest_rename(struct guest *g, const char *from, const char *to)
{
	char pf[GUEST_PATH_MAX], pt[GUEST_PATH_MAX];
	const char *sf, *st;
	struct guest *bf, *bt;
	int err = locate(g, from, false, pf, &bf, &sf);

	if (!err)
		err = locate(g, to, false, pt, &bt, &st);
	if (err)
		return err;
	if (bf != bt)
		return ferr(-EXDEV, "%s: cannot rename %s to %s: on different filesystems",
			    g->name, from, to);
	return bf->ops->rename(bf, sf, st);
}

int guest_unlink(struct guest *g, const char *path)
{
	char p[GUEST_PATH_MAX];
	const char *sub;
	struct guest *b;
	int err = locate(g, path, false, p, &b, &sub);

	return err ? err : b->ops->unlink(b, sub);
}

int guest_symlink(struct guest *g, const char *target, const char *path)
{
	char p[GUEST_PATH_MAX];
	const char *sub;
	struct guest *b;
	int err = locate(g, path, false, p, &b, &sub);

	return err ? err : b->ops->symlink(b, target, sub);
}

int guest_readlink(struct guest *g, const char *path, char *buf, size_t len)
{
	char p[GUEST_PATH_MAX];
	const char *sub;
	struct guest *b;
	int err = locate(g, path, false, p, &b, &sub);

	return err ? err : b->ops->readlink(b, sub, buf, len);
}

int guest_mkdir(struct guest *g, const char *path, uint32_t mode)
{
	char p[GUEST_PATH_MAX];
	const char *sub;
	struct guest *b;
	int err = locate(g, path, false, p, &b, &sub);

	return err ? err : b->ops->mkdir(b, sub, mode);
}

int guest_list(struct guest *g, const char *path, guest_list_fn fn, void *arg)
{
	char p[GUEST_PATH_MAX];
	const char *sub;
	struct guest *b;
	int err = locate(g, path, true, p, &b, &sub);

	return err ? err : b->ops->list(b, sub, fn, arg);
}

int guest_stat(struct guest *g, const char *path, bool follow, struct guest_stat *st)
{
	char p[GUEST_PATH_MAX];
	const char *sub;
	struct guest *b;
	int err = locate(g, path, follow, p, &b, &sub);

	return err ? err : b->ops->stat(b, sub, false, st);
}

bool guest_exists(struct guest *g, const char *path)
{
	struct guest_stat st;

	return guest_stat(g, path, true, &st) == 0;
}

int guest_mount(struct guest *g, const char *at, struct guest *sub)
{
	if (g->nmounts == GUEST_MAX_MOUNTS)
		return ferr(-EMFILE, "%s: too many filesystems mounted", g->name);
	if (at[0] != '/' || strlen(at) >= sizeof(g->mounts[0].at))
		return ferr(-EINVAL, "%s: bad mount point %s", g->name, at);
	snprintf(g->mounts[g->nmounts].at, sizeof(g->mounts[0].at), "%s", at);
	/* "/boot/" and "/boot" are the same mount point */
	{
		char *a = g->mounts[g->nmounts].at;
		size_t n = strlen(a);
		while (n > 1 && a[n - 1] == '/')
			a[--n] = '\0';
	}
	g->mounts[g->nmounts].g = sub;
	g->nmounts++;
	return 0;
}

void guest_release(struct guest *g)
{
	for (size_t i = 0; i < g->nmounts; i++) {
		guest_release(g->mounts[i].g);
		free(g->mounts[i].g);
	}
	g->nmounts = 0;
	if (g->ops && g->ops->release)
		g->ops->release(g);
	g->ops = NULL;
}
