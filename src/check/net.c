/* The network as the server configures it, read (never changed) from every
 * format the network rule knows: how many NICs, whether IPv6 is set up,
 * whether a configuration is bound to a hardware address. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/system.h"
#include "util/err.h"

#define NET_TEXT_MAX (1u << 20)
#define MAX_NICS 16

struct survey {
	struct guest *g;
	char nics[MAX_NICS][32];
	size_t n;
	char ipv6[160], hwaddr[160]; /* where it was seen first: "file: line" */
	bool ipv6_off;               /* sysctl disables it everywhere */
	const char *dir;             /* of the listing in progress */
	int (*file_fn)(struct survey *v, const char *path, const char *text);
	int err;
};

static void add_nic(struct survey *v, const char *name, size_t n)
{
	if (!n || n >= sizeof(v->nics[0]) || (n == 2 && !strncmp(name, "lo", 2)))
		return;
	for (size_t i = 0; i < v->n; i++)
		if (strlen(v->nics[i]) == n && !strncmp(v->nics[i], name, n))
			return;
	if (v->n < MAX_NICS)
		snprintf(v->nics[v->n++], sizeof(v->nics[0]), "%.*s", (int)n, name);
}

static void seen(char *where, size_t len, const char *path, const char *line, size_t n)
{
	if (!where[0])
		snprintf(where, len, "%s: %.*s", path, (int)(n > 80 ? 80 : n), line);
}

/* Iterates over the lines of text, blanks at the start skipped, comments
 * and empty lines left out. */
static bool next_line(const char **p, const char **line, size_t *n)
{
	while (**p) {
		const char *l = *p, *end = strchr(l, '\n');

		*p = end ? end + 1 : l + strlen(l);
		while (*l == ' ' || *l == '\t')
			l++;
		*n = (size_t)((end ? end : *p) - l);
		while (*n && isspace((unsigned char)l[*n - 1]))
			(*n)--;
		if (*n && l[0] != '#') {
			*line = l;
			return true;
		}
	}
	return false;
}

static bool starts(const char *line, size_t n, const char *word)
{
	size_t w = strlen(word);

	return n >= w && !strncmp(line, word, w) && (n == w || isspace((unsigned char)line[w]) ||
						      line[w] == '=' || line[w] == ':');
}

/* The value after KEY= or KEY: (quotes and blanks removed). */
static void value(const char *line, size_t n, const char *key, const char **v, size_t *vn)
{
	const char *p = line + strlen(key), *end = line + n;

	while (p < end && (isspace((unsigned char)*p) || *p == '=' || *p == ':'))
		p++;
	if (p < end && (*p == '"' || *p == '\''))
		p++;
	while (end > p && (end[-1] == '"' || end[-1] == '\''))
		end--;
	*v = p;
	*vn = (size_t)(end - p);
}

/* ifupdown: "iface NAME inet6 ...", "hwaddress ...". */
static int ifupdown(struct survey *v, const char *path, const char *text)
{
	const char *p = text, *l;
	size_t n;

	while (next_line(&p, &l, &n)) {
		char name[32], fam[16];

		if (starts(l, n, "iface") && sscanf(l, "iface %31s %15s", name, fam) == 2) {
			add_nic(v, name, strlen(name));
			if (!strcmp(fam, "inet6") && strcmp(name, "lo"))
				seen(v->ipv6, sizeof(v->ipv6), path, l, n);
		} else if (starts(l, n, "hwaddress")) {
			seen(v->hwaddr, sizeof(v->hwaddr), path, l, n);
		}
	}
	return 0;
}

/* ifcfg-NAME: DEVICE=, IPV6INIT=yes, IPV6ADDR=, HWADDR=, MACADDR=; a file
 * with ONBOOT=no configures nothing at boot. */
static int ifcfg(struct survey *v, const char *path, const char *text)
{
	const char *p = text, *l, *base = strrchr(path, '/') + 1 + 6, *val;
	size_t n, vn;
	char dev[32] = "", v6[160] = "", hw[160] = "";
	bool onboot = true;

	snprintf(dev, sizeof(dev), "%s", base);
	while (next_line(&p, &l, &n)) {
		if (starts(l, n, "DEVICE")) {
			value(l, n, "DEVICE", &val, &vn);
			snprintf(dev, sizeof(dev), "%.*s", (int)vn, val);
		} else if (starts(l, n, "ONBOOT")) {
			value(l, n, "ONBOOT", &val, &vn);
			onboot = !(vn == 2 && !strncasecmp(val, "no", 2));
		} else if (starts(l, n, "STARTMODE")) { /* SUSE */
			value(l, n, "STARTMODE", &val, &vn);
			onboot = !((vn == 3 && !strncmp(val, "off", 3)) ||
				   (vn == 6 && !strncmp(val, "manual", 6)));
		} else if (starts(l, n, "IPV6INIT")) {
			value(l, n, "IPV6INIT", &val, &vn);
			if (vn == 3 && !strncasecmp(val, "yes", 3))
				seen(v6, sizeof(v6), path, l, n);
		} else if (starts(l, n, "IPV6ADDR")) {
			seen(v6, sizeof(v6), path, l, n);
		} else if (starts(l, n, "HWADDR") || starts(l, n, "MACADDR")) {
			seen(hw, sizeof(hw), path, l, n);
		}
	}
	if (!onboot || !strcmp(dev, "lo"))
		return 0;
	add_nic(v, dev, strlen(dev));
	if (v6[0] && !v->ipv6[0])
		snprintf(v->ipv6, sizeof(v->ipv6), "%s", v6);
	if (hw[0] && !v->hwaddr[0])
		snprintf(v->hwaddr, sizeof(v->hwaddr), "%s", hw);
	return 0;
}

/* NetworkManager keyfiles: interface-name=, mac-address=, [ipv6]
 * method=manual. */
static int keyfile(struct survey *v, const char *path, const char *text)
{
	const char *p = text, *l, *val;
	size_t n, vn;
	char section[32] = "";
	bool named = false;

	while (next_line(&p, &l, &n)) {
		if (l[0] == '[') {
			snprintf(section, sizeof(section), "%.*s", (int)n, l);
			continue;
		}
		if (starts(l, n, "interface-name")) {
			value(l, n, "interface-name", &val, &vn);
			add_nic(v, val, vn);
			named = true;
		} else if (starts(l, n, "mac-address") && !strcmp(section, "[ethernet]")) {
			seen(v->hwaddr, sizeof(v->hwaddr), path, l, n);
		} else if (starts(l, n, "method") && !strcmp(section, "[ipv6]")) {
			value(l, n, "method", &val, &vn);
			if (vn == 6 && !strncmp(val, "manual", 6))
				seen(v->ipv6, sizeof(v->ipv6), path, l, n);
		}
	}
	if (!named) /* a connection for any NIC: one more */
		add_nic(v, strrchr(path, '/') + 1, strlen(strrchr(path, '/') + 1));
	return 0;
}

/* netplan: the keys under "ethernets:", macaddress:, dhcp6: true, an
 * interface's address with a colon (not a nameserver's). */
static int netplan(struct survey *v, const char *path, const char *text)
{
	const char *p = text;
	int eth_indent = -1, child = -1, addr_indent = -1, dns_indent = -1;

	while (*p) {
		const char *l = p, *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p), ind = strspn(l, " "), n;
		const char *t = l + ind;

		p = end ? end + 1 : p + len;
		n = len - ind;
		while (n && isspace((unsigned char)t[n - 1]))
			n--;
		if (!n || t[0] == '#')
			continue;
		if ((int)ind <= eth_indent)
			eth_indent = child = -1;
		if (t[0] != '-' && (int)ind <= addr_indent)
			addr_indent = -1;
		if ((int)ind <= dns_indent)
			dns_indent = -1;
		if (starts(t, n, "nameservers")) {
			dns_indent = (int)ind;
		} else if (starts(t, n, "addresses") && dns_indent < 0) {
			addr_indent = (int)ind;
			if (memchr(t, '[', n) && memchr(t + 10, ':', n - 10))
				seen(v->ipv6, sizeof(v->ipv6), path, t, n);
		} else if (starts(t, n, "ethernets")) {
			eth_indent = (int)ind;
		} else if (eth_indent >= 0 && (child < 0 || (int)ind == child) && t[n - 1] == ':') {
			child = (int)ind;
			add_nic(v, t, n - 1);
		} else if (starts(t, n, "macaddress")) {
			seen(v->hwaddr, sizeof(v->hwaddr), path, t, n);
		} else if ((starts(t, n, "dhcp6") && (strstr(t, "true") || strstr(t, "yes"))) ||
			   (addr_indent >= 0 && t[0] == '-' && memchr(t, ':', n))) {
			seen(v->ipv6, sizeof(v->ipv6), path, t, n);
		}
	}
	return 0;
}

/* sysctl: net.ipv6.conf.all.disable_ipv6 = 1. */
static int sysctl(struct survey *v, const char *path, const char *text)
{
	const char *p = text, *l, *val;
	size_t n, vn;

	(void)path;
	while (next_line(&p, &l, &n))
		if (starts(l, n, "net.ipv6.conf.all.disable_ipv6")) {
			value(l, n, "net.ipv6.conf.all.disable_ipv6", &val, &vn);
			v->ipv6_off = vn == 1 && val[0] == '1';
		}
	return 0;
}

static int read_with(struct survey *v, const char *path,
		     int (*fn)(struct survey *v, const char *path, const char *text))
{
	char *text = NULL;
	size_t len;
	int err = guest_read(v->g, path, NET_TEXT_MAX, &text, &len);

	if (err == -ENOENT || err == -ENOTDIR || err == -EFBIG || err == -EISDIR)
		return 0;
	if (!err)
		err = fn(v, path, text);
	free(text);
	return err;
}

static bool suffix(const char *name, const char *sfx)
{
	size_t n = strlen(name), s = strlen(sfx);

	return n >= s && !strcmp(name + n - s, sfx);
}

static int each_file(const char *name, uint32_t mode, void *arg)
{
	struct survey *v = arg;
	char path[512];

	if (v->err || !GUEST_ISREG(mode) || name[0] == '.')
		return 0;
	if (v->file_fn == ifcfg && (strncmp(name, "ifcfg-", 6) || suffix(name, ".bak") ||
				     suffix(name, "~") || strchr(name, ':')))
		return 0;
	if ((v->file_fn == netplan && !suffix(name, ".yaml")) ||
	    (v->file_fn == sysctl && !suffix(name, ".conf")))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", v->dir, name);
	v->err = read_with(v, path, v->file_fn);
	return 0;
}

static int read_dir(struct survey *v, const char *dir,
		    int (*fn)(struct survey *v, const char *path, const char *text))
{
	int err;

	v->dir = dir;
	v->file_fn = fn;
	v->err = 0;
	err = guest_list(v->g, dir, each_file, v);
	if (err == -ENOENT || err == -ENOTDIR)
		err = 0;
	return err ? err : v->err;
}

int check_network(struct stage *s, struct check_report *r)
{
	const struct cloud_profile *p = r->profile;
	struct survey v = {.g = &s->root};
	char list[MAX_NICS * 33] = "";
	int err;

	err = read_with(&v, "/etc/network/interfaces", ifupdown);
	if (!err)
		err = read_dir(&v, "/etc/network/interfaces.d", ifupdown);
	if (!err)
		err = read_dir(&v, "/etc/sysconfig/network-scripts", ifcfg);
	if (!err)
		err = read_dir(&v, "/etc/sysconfig/network", ifcfg);
	if (!err)
		err = read_dir(&v, "/etc/NetworkManager/system-connections", keyfile);
	if (!err)
		err = read_dir(&v, "/etc/netplan", netplan);
	if (!err)
		err = read_with(&v, "/etc/sysctl.conf", sysctl);
	if (!err)
		err = read_dir(&v, "/etc/sysctl.d", sysctl);
	if (err)
		return err;
	for (size_t i = 0; i < v.n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 v.nics[i]);
	if (v.n > 1)
		err = check_raise_sev(r, "net.multi", p->multi_nic ? CHECK_INFO : CHECK_WARNING,
				      NULL, "%zu NICs: %s", v.n, list);
	if (!err && v.ipv6[0] && !v.ipv6_off)
		err = check_raise_sev(r, "net.ipv6", p->ipv6 ? CHECK_INFO : CHECK_WARNING, NULL,
				      "%s", v.ipv6);
	if (!err && v.hwaddr[0])
		err = check_raise(r, "net.hwaddr", NULL, "%s", v.hwaddr);
	return err;
}
