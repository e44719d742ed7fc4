/* What system is on the disk: os-release, or the release files that came
 * before it (redhat-release, SuSE-release, debian_version); the
 * architecture of its shell; its kernels. And the files no capture rule
 * changes. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/system.h"
#include "util/endian.h"
#include "util/err.h"

#define TEXT_MAX (64u * 1024)

/* Copies the value of KEY= in os-release text (quotes removed). */
static bool osr_value(const char *text, const char *key, char *out, size_t len)
{
	size_t kn = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		const char *v, *end;
		size_t n;

		if (strncmp(l, key, kn) || l[kn] != '=')
			continue;
		v = l + kn + 1;
		end = strchr(v, '\n');
		n = end ? (size_t)(end - v) : strlen(v);
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			v++;
			n -= 2;
		}
		snprintf(out, len, "%.*s", (int)n, v);
		return true;
	}
	return false;
}

static void first_line(const char *text, char *out, size_t len)
{
	size_t n = strcspn(text, "\n");

	snprintf(out, len, "%.*s", (int)n, text);
}

/* The ID a release file's line stands for. */
static const char *release_id(const char *line)
{
	static const char *const ids[][2] = {
		{"CentOS", "centos"}, {"Red Hat", "rhel"}, {"Fedora", "fedora"},
		{"Oracle", "ol"}, {"openSUSE", "opensuse"}, {"SUSE", "sles"},
		{"EulerOS", "euleros"}, {"NeoKylin", "neokylin"},
	};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (strstr(line, ids[i][0]))
			return ids[i][1];
	return "";
}

static int read_small(struct guest *g, const char *path, char **text)
{
	size_t len;
	int err = guest_read(g, path, TEXT_MAX, text, &len);

	return err == -ENOENT || err == -ENOTDIR || err == -EFBIG ? 1 : err;
}

static void identify(struct guest *g, struct check_os *os)
{
	static const char *const osr[] = {"/etc/os-release", "/usr/lib/os-release"};
	static const char *const rel[] = {"/etc/redhat-release", "/etc/SuSE-release"};
	char *t = NULL;

	for (size_t i = 0; i < sizeof(osr) / sizeof(osr[0]); i++) {
		if (read_small(g, osr[i], &t))
			continue;
		osr_value(t, "ID", os->id, sizeof(os->id));
		osr_value(t, "VERSION_ID", os->version, sizeof(os->version));
		if (!osr_value(t, "PRETTY_NAME", os->name, sizeof(os->name)))
			osr_value(t, "NAME", os->name, sizeof(os->name));
		free(t);
		return;
	}
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		if (read_small(g, rel[i], &t))
			continue;
		first_line(t, os->name, sizeof(os->name));
		snprintf(os->id, sizeof(os->id), "%s", release_id(os->name));
		free(t);
		return;
	}
	if (!read_small(g, "/etc/debian_version", &t)) {
		first_line(t, os->version, sizeof(os->version));
		snprintf(os->id, sizeof(os->id), "debian");
		snprintf(os->name, sizeof(os->name), "Debian %s", os->version);
		free(t);
	}
}

/* The ELF machine of the system's shell. */
static void architecture(struct guest *g, struct check_os *os)
{
	static const char *const bins[] = {"/bin/sh", "/usr/bin/sh", "/bin/bash", "/usr/bin/bash"};
	char *t = NULL;
	size_t len = 0;

	for (size_t i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {
		if (guest_read(g, bins[i], 8u << 20, &t, &len))
			continue;
		if (len >= 20 && !memcmp(t, "\177ELF", 4)) {
			unsigned m = t[5] == 2 ? get_be16(t + 18) : get_le16(t + 18);

			snprintf(os->arch, sizeof(os->arch), "%s",
				 m == 62 ? "x86_64" : m == 3 ? "i686" : m == 183 ? "aarch64"
				 : m == 40 ? "arm" : m == 243 ? "riscv64" : m == 21 ? "ppc64"
				 : m == 22 ? "s390x" : "unknown");
		}
		free(t);
		return;
	}
}

struct kernels {
	char *buf;
	size_t len;
};

static int add_kernel(const char *name, uint32_t mode, void *arg)
{
	struct kernels *k = arg;
	size_t used = strlen(k->buf);

	if (!GUEST_ISREG(mode) || strncmp(name, "vmlinuz-", 8) || strstr(name, "rescue"))
		return 0;
	snprintf(k->buf + used, k->len - used, "%s%s", used ? ", " : "", name + 8);
	return 0;
}

int check_os(struct stage *s, struct check_report *r)
{
	const struct cloud_profile *p = r->profile;
	struct check_os *os = &r->os;
	struct kernels k = {os->kernels, sizeof(os->kernels)};
	int err;

	identify(&s->root, os);
	architecture(&s->root, os);
	err = guest_list(&s->root, "/boot", add_kernel, &k);
	if (err && err != -ENOENT)
		return err;
	if (!os->id[0])
		err = check_raise(r, "os.unknown", NULL, "no /etc/os-release, redhat-release, "
				  "SuSE-release or debian_version");
	else
		err = check_raise(r, "os.detected", NULL, "%s (%s%s%s), %s, kernels %s", os->name,
				  os->id, os->version[0] ? " " : "", os->version,
				  os->arch[0] ? os->arch : "arch unknown",
				  os->kernels[0] ? os->kernels : "none in /boot");
	if (!err && os->id[0] && !cloud_list_has(p->os, os->id))
		err = check_raise(r, "os.unsupported", NULL, "%s: the cloud lists %s", os->id, p->os);
	if (!err && os->arch[0] && !cloud_list_has(p->arch, os->arch))
		err = check_raise(r, "arch.unsupported", NULL, "%s: the cloud runs %s", os->arch,
				  p->arch);
	return err;
}

int check_files(struct stage *s, struct check_report *r)
{
	struct guest_stat st;
	int err = guest_stat(&s->root, "/etc/shadow", false, &st);

	if (err == -ENOENT)
		err = check_raise(r, "shadow.mode", "/etc/shadow", "there is none");
	else if (err)
		return err;
	else if (!GUEST_ISREG(st.mode))
		err = check_raise(r, "shadow.mode", "/etc/shadow", "not a regular file");
	else if (st.mode & 0007)
		err = check_raise(r, "shadow.mode", "/etc/shadow", "mode %04o: others can %s it",
				  st.mode & 07777, st.mode & 0002 ? "write" : "read");
	if (!err && guest_exists(&s->root,
				 "/etc/systemd/system/multi-user.target.wants/NetworkManager.service"))
		err = check_raise(r, "nm.enabled", NULL, "NetworkManager.service is enabled");
	return err;
}
