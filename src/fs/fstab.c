/* fstab and device-name parsing (see fstab.h). */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fstab.h"

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

int fstab_find(const char *text, const char *mountpoint, char *spec, size_t len)
{
	const char *line = text;

	while (line && *line) {
		const char *eol = strchr(line, '\n');
		const char *end = eol ? eol : line + strlen(line);
		const char *f[2], *fe[2], *p = line;
		int nf = 0;

		while (nf < 2) {
			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			if (p >= end || *p == '#')
				break;
			f[nf] = p;
			while (p < end && *p != ' ' && *p != '\t')
				p++;
			fe[nf++] = p;
		}
		if (nf == 2) {
			char mp[256];
			unescape(f[1], (size_t)(fe[1] - f[1]), mp, sizeof(mp));
			/* "/" and "//" or "/boot/" name the same place. */
			size_t ml = strlen(mp);
			while (ml > 1 && mp[ml - 1] == '/')
				mp[--ml] = '\0';
			if (strcmp(mp, mountpoint) == 0) {
				unescape(f[0], (size_t)(fe[0] - f[0]), spec, len);
				return 0;
			}
		}
		line = eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}

enum spec_kind spec_parse(const char *spec, const char **value)
{
	static const struct {
		const char *prefix;
		enum spec_kind kind;
	} map[] = {
		{"UUID=", SPEC_UUID},
		{"LABEL=", SPEC_LABEL},
		{"PARTUUID=", SPEC_PARTUUID},
		{"/dev/disk/by-uuid/", SPEC_UUID},
		{"/dev/disk/by-label/", SPEC_LABEL},
		{"/dev/disk/by-partuuid/", SPEC_PARTUUID},
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

int devname_partnum(const char *dev)
{
	const char *name, *end, *digits;

	if (strncmp(dev, "/dev/", 5) != 0)
		return -1;
	name = dev + 5;
	if (strncmp(name, "cciss/", 6) == 0 || strncmp(name, "ida/", 4) == 0) {
		name = strchr(name, '/') + 1;
	} else if (strchr(name, '/')) {
		return -1; /* /dev/mapper/..., /dev/vg/lv, /dev/disk/by-path/... */
	}
	end = name + strlen(name);
	digits = end;
	while (digits > name && isdigit((unsigned char)digits[-1]))
		digits--;
	if (digits == end || digits == name)
		return -1;
	if (!strncmp(name, "sd", 2) || !strncmp(name, "hd", 2) || !strncmp(name, "vd", 2) ||
	    !strncmp(name, "xvd", 3)) {
		/* sda2: letters then the number */
		for (const char *c = name + (name[0] == 'x' ? 3 : 2); c < digits; c++)
			if (!islower((unsigned char)*c))
				return -1;
		return atoi(digits);
	}
	/* nvme0n1p2, mmcblk0p1, c0d0p1, loop0p1: the number follows a 'p' after a digit */
	if (digits - name >= 2 && digits[-1] == 'p' && isdigit((unsigned char)digits[-2]))
		return atoi(digits);
	return -1;
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

int cmdline_find(const char *text, const char *key, char *val, size_t len)
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
