/* Helpers for the fix-rule tests that run on the real-world sample trees in
 * tests/samples: a fresh copy per case, plain POSIX reads of the result, and
 * a find/sha256sum snapshot to prove a second run leaves every byte alone. */
#ifndef FERRY_TEST_FIX_NETLIB_H
#define FERRY_TEST_FIX_NETLIB_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fix/fix.h"
#include "fs/guest.h"
#include "tap.h"
#include "util/err.h"
#include "testsh.h"

static char fx_base[256];

/* tests/samples, found beside this file (the build compiles it by its
 * absolute path). */
static inline const char *fx_samples(void)
{
	static char dir[512];

	if (!dir[0]) {
		const char *slash = strrchr(__FILE__, '/');
		int n = slash ? (int)(slash - __FILE__) : 1;

		snprintf(dir, sizeof(dir), "%.*s/../samples", n, slash ? __FILE__ : ".");
	}
	return dir;
}

static inline void fx_init(const char *name)
{
	snprintf(fx_base, sizeof(fx_base), "%s/ferry-%s-XXXXXX",
		 tap_tmpdir(), name);
	if (!mkdtemp(fx_base)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
}

static inline void fx_cleanup(void)
{
	sh("rm -rf '%s'", fx_base);
}

/* A fresh copy of the sample distro (NULL: an empty tree) in root. */
static inline void fx_copy(const char *distro, const char *label, char *root, size_t len)
{
	snprintf(root, len, "%s/%s", fx_base, label);
	if (sh("mkdir '%s'", root) ||
	    (distro && sh("cp -a '%s/%s/.' '%s/'", fx_samples(), distro, root))) {
		printf("Bail out! cannot copy sample %s from %s\n", distro, fx_samples());
		fx_cleanup();
		exit(1);
	}
}

/* A whole file read with stdio, or NULL. */
static inline char *fx_read(const char *root, const char *path)
{
	static char *last;
	char full[1024];
	size_t n = 0, cap = 4096;
	FILE *f;

	free(last);
	last = NULL;
	snprintf(full, sizeof(full), "%s%s", root, path);
	f = fopen(full, "r");
	if (!f)
		return NULL;
	last = malloc(cap);
	while (last) {
		size_t got = fread(last + n, 1, cap - n - 1, f);

		n += got;
		if (n + 1 < cap)
			break;
		cap *= 2;
		last = realloc(last, cap);
	}
	fclose(f);
	if (last)
		last[n] = '\0';
	return last;
}

/* 'f', 'l', 'd' or 0 when the path does not exist (lstat). */
static inline int fx_kind(const char *root, const char *path)
{
	char full[1024];
	struct stat st;

	snprintf(full, sizeof(full), "%s%s", root, path);
	if (lstat(full, &st))
		return 0;
	return S_ISLNK(st.st_mode) ? 'l' : S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : '?';
}

static inline int fx_mode(const char *root, const char *path)
{
	char full[1024];
	struct stat st;

	snprintf(full, sizeof(full), "%s%s", root, path);
	return lstat(full, &st) ? -1 : (int)(st.st_mode & 07777);
}

/* The target of a symbolic link, or "" when path is not one. */
static inline const char *fx_link(const char *root, const char *path)
{
	static char buf[1024];
	char full[1024];
	ssize_t n;

	snprintf(full, sizeof(full), "%s%s", root, path);
	n = readlink(full, buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

/* Every path with its type, mode and link target, and every file's
 * SHA-256, as find and sha256sum see them. Freed by the caller. */
static inline char *fx_snapshot(const char *root)
{
	char cmd[2048];
	size_t n = 0, cap = 1 << 16;
	char *out = malloc(cap);
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && find . -printf '%%y %%m %%p -> %%l\\n' | LC_ALL=C sort && "
		 "find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum",
		 root);
	p = popen(cmd, "r");
	if (!p || !out) {
		free(out);
		if (p)
			pclose(p);
		return NULL;
	}
	for (;;) {
		size_t got = fread(out + n, 1, cap - n - 1, p);

		n += got;
		if (!got)
			break;
		if (n + 1 == cap) {
			char *bigger = realloc(out, cap * 2);

			if (!bigger)
				break;
			out = bigger;
			cap *= 2;
		}
	}
	pclose(p);
	out[n] = '\0';
	return out;
}

/* A guest on root, a report, and a context for the rules. */
struct fx_run {
	struct guest g;
	struct fix_report rep;
	struct fix_ctx c;
};

static inline void fx_open(struct fx_run *r, const char *root, const char *cloud)
{
	memset(r, 0, sizeof(*r));
	if (guest_dir_open(&r->g, root)) {
		printf("Bail out! guest_dir_open %s: %s\n", root, ferr_msg());
		exit(1);
	}
	fix_report_init(&r->rep);
	r->c.g = &r->g;
	r->c.cloud = cloud;
	r->c.rep = &r->rep;
}

static inline void fx_close(struct fx_run *r)
{
	fix_report_release(&r->rep);
	guest_release(&r->g);
}

/* The change recorded for file (the n-th one, from 0), or NULL. */
static inline const struct fix_change *fx_change(const struct fix_report *rep, const char *file,
					  int nth)
{
	for (size_t i = 0; i < rep->nchanges; i++)
		if (rep->changes[i].file && !strcmp(rep->changes[i].file, file) && nth-- == 0)
			return &rep->changes[i];
	return NULL;
}

static inline void fx_dump(const struct fix_report *rep)
{
	for (size_t i = 0; i < rep->nchanges; i++)
		printf("#   change %s %s: %s\n", rep->changes[i].rule, rep->changes[i].file,
		       rep->changes[i].what);
	for (size_t i = 0; i < rep->nnotes; i++)
		printf("#   note %s %s: %s\n", rep->notes[i].rule,
		       rep->notes[i].file ? rep->notes[i].file : "-", rep->notes[i].text);
}

/* Runs rule on root once more: no change recorded, every byte as before.
 * Two tests. */
static inline void fx_again(const char *root, const char *cloud, int (*rule)(struct fix_ctx *),
		     const char *label)
{
	struct fx_run r;
	char *before = fx_snapshot(root), *after;
	int err;

	fx_open(&r, root, cloud);
	err = rule(&r.c);
	is_int(err ? err : (long long)r.rep.nchanges, 0, "%s: a second run changes nothing", label);
	if (r.rep.nchanges)
		fx_dump(&r.rep);
	fx_close(&r);
	after = fx_snapshot(root);
	ok(before && after && !strcmp(before, after), "%s: the tree is byte-identical", label);
	free(before);
	free(after);
}

/* Runs rule on a fresh copy of distro (NULL: on root as it is); checks it
 * succeeded with nchanges changes and nnotes notes (3 tests). */
static inline void fx_run_rule(struct fx_run *r, int (*rule)(struct fix_ctx *),
			       const char *distro, const char *label, const char *cloud, char *root,
			       size_t rlen, size_t nchanges, size_t nnotes)
{
	int err;

	if (distro)
		fx_copy(distro, label, root, rlen);
	fx_open(r, root, cloud);
	err = rule(&r->c);
	if (!ok(err == 0, "%s: the rule runs", label))
		printf("#   %d: %s\n", err, ferr_msg());
	is_int(r->rep.nchanges, nchanges, "%s: changes recorded", label);
	is_int(r->rep.nnotes, nnotes, "%s: notes", label);
	if (r->rep.nchanges != nchanges || r->rep.nnotes != nnotes)
		fx_dump(&r->rep);
}

#endif
