/* Shell and file helpers for the C unit tests, whose fixtures are made and
 * whose results are checked with the real tools (mke2fs, debugfs, cpio,
 * depmod, openssl...). */
#ifndef FERRY_TESTSH_H
#define FERRY_TESTSH_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* When set, commands run in this directory and relative file names are
 * taken from it. */
static const char *sh_cwd;

static inline __attribute__((format(printf, 2, 0))) int sh_vrun(bool report, const char *fmt,
								 va_list ap)
{
	char cmd[8192], full[8400];
	int st;

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	if (sh_cwd)
		snprintf(full, sizeof(full), "cd '%s' && { %s; }", sh_cwd, cmd);
	else
		snprintf(full, sizeof(full), "%s", cmd);
	fflush(stdout);
	st = system(full);
	st = st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	if (st && report)
		printf("# command failed (%d): %s\n", st, cmd);
	return st;
}

/* Runs a command with /bin/sh; returns its exit status (128: it did not
 * exit), and says on a TAP comment line when it failed. */
static inline __attribute__((format(printf, 1, 2))) int sh(const char *fmt, ...)
{
	va_list ap;
	int st;

	va_start(ap, fmt);
	st = sh_vrun(true, fmt, ap);
	va_end(ap);
	return st;
}

/* The same without the comment, for commands expected to fail (polls). */
static inline __attribute__((format(printf, 1, 2))) int sh_try(const char *fmt, ...)
{
	va_list ap;
	int st;

	va_start(ap, fmt);
	st = sh_vrun(false, fmt, ap);
	va_end(ap);
	return st;
}

/* A command's standard output without its last newlines, in a buffer the
 * next call reuses; "" when it cannot run. */
static inline __attribute__((format(printf, 1, 2))) char *sh_out(const char *fmt, ...)
{
	static char out[65536];
	char cmd[8192], full[8400];
	size_t n;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (sh_cwd)
		snprintf(full, sizeof(full), "cd '%s' && { %s; }", sh_cwd, cmd);
	else
		snprintf(full, sizeof(full), "%s", cmd);
	fflush(stdout);
	out[0] = '\0';
	f = popen(full, "r");
	if (!f)
		return out;
	n = fread(out, 1, sizeof(out) - 1, f);
	pclose(f);
	out[n] = '\0';
	while (n && out[n - 1] == '\n')
		out[--n] = '\0';
	return out;
}

static inline void sh_path(const char *name, char *path, size_t len)
{
	if (sh_cwd && name[0] != '/')
		snprintf(path, len, "%s/%s", sh_cwd, name);
	else
		snprintf(path, len, "%s", name);
}

static inline int put_file(const char *name, const void *data, size_t len)
{
	char path[4096];
	size_t n;
	FILE *f;

	sh_path(name, path, sizeof(path));
	if (!(f = fopen(path, "wb")))
		return -1;
	n = fwrite(data, 1, len, f);
	return fclose(f) || n != len ? -1 : 0;
}

/* A whole file, NUL-terminated (freed by the caller); NULL if unreadable. */
static inline void *get_file(const char *name, size_t *len)
{
	char path[4096];
	char *buf = NULL;
	long n;
	FILE *f;

	*len = 0;
	sh_path(name, path, sizeof(path));
	if (!(f = fopen(path, "rb")))
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = '\0';
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

#endif
