/* fstab lines, fstab specs and kernel command lines (see fstab.h). */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fstab.h"
#include "util/text.h"

/* fstab escapes spaces and such as octal \040. */
static void unescape(const char *in, size_t n, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < len; i++) {
		if (in[i] == '\\' && i + 3 < n && isdigit((unsigned char)in[i + 1]) &&
		    isdigit((unsigned char)in[i + 2]) && isdigit((unsigned char)in[i + 3])) {
			out[o++] = (char)((in[i + 1] - '0') * 64 + (in[i + 2] - '0') * 8 + (in[i + 3] - '0'));
			i += 3;
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = '\0';
}

void fstab_line_cut(const char *line, size_t len, struct fstab_line *fl)
{
	size_t i = 0;

	memset(fl, 0, sizeof(*fl));
	for (;;) {
		while (i < len && isspace((unsigned char)line[i]))
			i++;
		if (i >= len || (fl->nf == 0 && line[i] == '#'))
			return;
		if (fl->nf == FSTAB_FIELDS) {
			fl->extra = true;
			return;
		}
		fl->f[fl->nf] = line + i;
		while (i < len && !isspace((unsigned char)line[i]))
			i++;
		fl->n[fl->nf] = (size_t)(line + i - fl->f[fl->nf]);
		fl->nf++;
	}
}

void fstab_field(const struct fstab_line *fl, int i, char *buf, size_t len)
{
	size_t n = i < fl->nf ? fl->n[i] : 0;

	if (n >= len)
		n = len - 1;
	memcpy(buf, i < fl->nf ? fl->f[i] : "", n);
	buf[n] = '\0';
}

const char *fstab_line_problem(const struct fstab_line *fl)
{
	if (fl->nf == 1)
		return "has no mount point";
	if (fl->extra)
		return "has more than six fields";
	if ((fl->nf >= 5 && !text_all_digits(fl->f[4], fl->n[4])) ||
	    (fl->nf == 6 && !text_all_digits(fl->f[5], fl->n[5])))
		return "has a dump or pass field that is not a number";
	return NULL;
}

int fstab_find(const char *text, const char *mountpoint, char *spec, size_t len)
{
	size_t tlen = strlen(text), pos = 0, n;
	const char *line;

	while (text_next_line(text, tlen, &pos, &line, &n)) {
		struct fstab_line fl;
		char mp[256];
		size_t ml;

		fstab_line_cut(line, n, &fl);
		if (fl.nf < 2)
			continue;
		unescape(fl.f[1], fl.n[1], mp, sizeof(mp));
		/* "/" and "//" or "/boot/" name the same place. */
		ml = strlen(mp);
		while (ml > 1 && mp[ml - 1] == '/')
			mp[--ml] = '\0';
		if (strcmp(mp, mountpoint) == 0) {
			unescape(fl.f[0], fl.n[0], spec, len);
			return 0;
		}
	}
	return -ENOENT;
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

bool fstab_not_a_disk(const char *spec, const char *type, const char *opts)
{
	static const char *const net[] = {"nfs", "nfs4", "cifs", "smbfs", "smb3", "glusterfs",
					  "ceph", "fuse.sshfs", "fuse.glusterfs", "fuse.ceph",
					  "9p", "davfs", "lustre", NULL};
	static const char *const pseudo[] = {"proc", "sysfs", "tmpfs", "devtmpfs", "devpts",
					     "securityfs", "cgroup", "cgroup2", "pstore", "debugfs",
					     "tracefs", "hugetlbfs", "mqueue", "configfs", "fusectl",
					     "binfmt_misc", "efivarfs", "selinuxfs", "rpc_pipefs",
					     "nfsd", "autofs", "ramfs", "usbfs", "bpf", NULL};
	const char *o = opts;

	if (in_list(type, net) || in_list(type, pseudo))
		return true;
	if (strstr(spec, ":/") || has_prefix(spec, "//"))
		return true;
	while (*o) {
		size_t n = strcspn(o, ",");
		if ((n == 4 && !strncmp(o, "bind", 4)) || (n == 5 && !strncmp(o, "rbind", 5)))
			return true;
		o += n + (o[n] == ',');
	}
	return !has_prefix(spec, "/dev/") && !has_prefix(spec, "UUID=") &&
	       !has_prefix(spec, "LABEL=") && !has_prefix(spec, "PARTUUID=") &&
	       !has_prefix(spec, "PARTLABEL=");
}

bool fstab_same_mountpoint(const char *mp, const char *want)
{
	size_t n = strlen(mp);

	while (n > 1 && mp[n - 1] == '/')
		n--;
	return strlen(want) == n && !strncmp(mp, want, n);
}

enum spec_kind fstab_spec_parse(const char *spec, const char **value)
{
	static const struct {
		const char *prefix;
		enum spec_kind kind;
	} map[] = {
		{"UUID=", SPEC_UUID},
		{"LABEL=", SPEC_LABEL},
		{"PARTUUID=", SPEC_PARTUUID},
		{"PARTLABEL=", SPEC_PARTLABEL},
		{"/dev/disk/by-uuid/", SPEC_UUID},
		{"/dev/disk/by-label/", SPEC_LABEL},
		{"/dev/disk/by-partuuid/", SPEC_PARTUUID},
		{"/dev/disk/by-partlabel/", SPEC_PARTLABEL},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		size_t n = strlen(map[i].prefix);
		if (strncmp(spec, map[i].prefix, n) == 0) {
			*value = spec + n;
			if (**value == '"')
				(*value)++;
			return map[i].kind;
		}
	}
	*value = spec;
	if (strncmp(spec, "/dev/", 5) == 0 && devname_partnum(spec) > 0)
		return SPEC_DEVNAME;
	return SPEC_OTHER;
}

static bool is_kernel_line(const char *line, const char *end)
{
	static const char *const words[] = {"linux", "linux16", "linuxefi", "kernel",
					    "append", "options"};

	while (line < end && isspace((unsigned char)*line))
		line++;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i]);
		if ((size_t)(end - line) > n && !strncmp(line, words[i], n) &&
		    isspace((unsigned char)line[n]))
			return true;
	}
	return false;
}

int fstab_cmdline_find(const char *text, const char *key, char *val, size_t len)
{
	size_t kl = strlen(key);

	for (const char *line = text; line && *line;) {
		const char *eol = strchr(line, '\n');
		const char *end = eol ? eol : line + strlen(line);

		if (is_kernel_line(line, end)) {
			for (const char *p = line; p < end && (p = strstr(p, key)) && p < end; p += kl) {
				const char *v;
				size_t n = 0;

				if (p == line || !isspace((unsigned char)p[-1]) || p[kl] != '=')
					continue;
				v = p + kl + 1;
				while (v + n < end && !isspace((unsigned char)v[n]))
					n++;
				if (n >= len)
					n = len - 1;
				memcpy(val, v, n);
				val[n] = '\0';
				return 0;
			}
		}
		line = eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}
