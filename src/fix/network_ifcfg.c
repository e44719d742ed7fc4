/* The network rule on ifcfg files: Red Hat's /etc/sysconfig/network-scripts
 * (initscripts and NetworkManager's ifcfg-rh plugin) and SUSE's
 * /etc/sysconfig/network (wicked), plus their global gateway settings. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "fix/network.h"
#include "fix/service.h"
#include "util/err.h"

#define RHEL_DIR "/etc/sysconfig/network-scripts"
#define SUSE_DIR "/etc/sysconfig/network"
#define RHEL_SYSCONFIG "/etc/sysconfig/network"
#define SUSE_ROUTES "/etc/sysconfig/network/routes"

static const char *ifcfg_dir(enum net_fmt fmt)
{
	return fmt == NET_IFCFG_SUSE ? SUSE_DIR : RHEL_DIR;
}

/* Names the network scripts, NetworkManager and wicked all skip: backups,
 * package manager leftovers, editor files. */
static bool ifcfg_name(const char *name)
{
	static const char *const skip[] = {
		"~", ".bak", ".old", ".orig", ".rpmnew", ".rpmorig", ".rpmsave", ".rej", ".augnew",
		".augtmp", ".swp", ".scpmbackup",
	};
	size_t n = strlen(name);

	if (strncmp(name, "ifcfg-", 6) || n == 6)
		return false;
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
		size_t m = strlen(skip[i]);

		if (n >= m && !strcmp(name + n - m, skip[i]))
			return false;
	}
	return true;
}

/* The first line that is neither blank, a comment nor KEY=VALUE, or NULL. */
static const char *ifcfg_bad_line(const char *text, size_t len, size_t *n)
{
	size_t pos = 0;
	const char *line, *k, *v;
	size_t kl, vl;

	while (text_next_line(text, len, &pos, &line, n))
		if (!text_blank_or_comment(line, *n) &&
		    !text_split_assignment(line, *n, &k, &kl, &v, &vl))
			return line;
	return NULL;
}

/* The value of the last assignment to key (as the shell sees it). */
static bool ifcfg_get(const char *text, size_t len, const char *key, char *val, size_t cap)
{
	size_t pos = 0, n, kl, vl;
	const char *line, *k, *v;
	bool found = false;

	while (text_next_line(text, len, &pos, &line, &n))
		if (text_split_assignment(line, n, &k, &kl, &v, &vl) && text_word_is(k, kl, key)) {
			snprintf(val, cap, "%.*s", (int)vl, v);
			found = true;
		}
	return found;
}

struct ifcfg {
	char path[320];
	char *text;
	size_t len;
	char device[64];
};

/* Reads dir/name; false (and a scan note) when it is malformed or
 * unreadable. */
static bool ifcfg_load(struct net_state *s, const char *dir, const char *name,
		       struct ifcfg *f, int *err)
{
	const char *bad;
	size_t n;

	snprintf(f->path, sizeof(f->path), "%s/%s", dir, name);
	*err = net_read(s, f->path, &f->text, &f->len);
	if (*err) {
		if (*err == -ENOENT)
			*err = 0;
		return false;
	}
	bad = ifcfg_bad_line(f->text, f->len, &n);
	if (bad) {
		*err = net_note(s, f->path, "line '%.*s' is not KEY=VALUE: left alone",
				(int)(n > 80 ? 80 : n), bad);
		free(f->text);
		f->text = NULL;
		return false;
	}
	/* On Red Hat DEVICE= wins over the file name (ifcfg-System_eth0 with
	 * DEVICE=eth0); wicked goes by the file name alone. */
	if (!strcmp(dir, SUSE_DIR) ||
	    !ifcfg_get(f->text, f->len, "DEVICE", f->device, sizeof(f->device)) || !f->device[0])
		snprintf(f->device, sizeof(f->device), "%s", name + 6);
	return true;
}

int net_ifcfg_scan(struct net_state *s, enum net_fmt fmt)
{
	struct dirlist l;
	int err = dirlist_read(s->c->g, ifcfg_dir(fmt), &l);

	if (err == -ENOENT || err == -ENOTDIR)
		return 0;
	if (err)
		return err;
	for (size_t i = 0; i < l.n && !err; i++) {
		struct net_dns d;
		struct ifcfg f;
		char val[256], key[8];

		if (!ifcfg_name(l.v[i].name) || GUEST_ISDIR(l.v[i].mode) ||
		    !ifcfg_load(s, ifcfg_dir(fmt), l.v[i].name, &f, &err))
			continue;
		if (strcmp(f.device, "lo")) {
			s->present[fmt] = true;
			/* SUSE keeps resolvers in network/config, which stays */
			if (fmt == NET_IFCFG_RHEL) {
				memset(&d, 0, sizeof(d));
				for (int k = 1; k <= 3; k++) {
					snprintf(key, sizeof(key), "DNS%d", k);
					if (ifcfg_get(f.text, f.len, key, val, sizeof(val)))
						net_dns_add_servers(&d, val, strlen(val));
				}
				if (ifcfg_get(f.text, f.len, "DOMAIN", val, sizeof(val)))
					net_dns_add_search(&d, val, strlen(val));
				net_dns_offer(s, &d, !strncmp(f.text, NET_MARK, strlen(NET_MARK)),
					      ifcfg_get(f.text, f.len, "GATEWAY", val, sizeof(val)) &&
						      val[0]);
			}
		}
		free(f.text);
	}
	dirlist_release(&l);
	return err;
}

static int ifcfg_eth0_text(struct net_state *s, enum net_fmt fmt, struct strbuf *b)
{
	int err;

	if (fmt == NET_IFCFG_SUSE)
		return strbuf_addf(b, "%s\nBOOTPROTO='dhcp'\nSTARTMODE='auto'\n", NET_MARK);
	err = strbuf_addf(b, "%s\nDEVICE=eth0\nBOOTPROTO=dhcp\nONBOOT=yes\nTYPE=Ethernet\n",
			  NET_MARK);
	if (!err && s->nm_off)
		err = strbuf_addf(b, "NM_CONTROLLED=no\n");
	for (size_t i = 0; !err && i < s->dns.nservers; i++)
		err = strbuf_addf(b, "DNS%zu=%s\n", i + 1, s->dns.servers[i]);
	if (!err && s->dns.search[0])
		err = strbuf_addf(b, strchr(s->dns.search, ' ') ? "DOMAIN=\"%s\"\n" : "DOMAIN=%s\n",
				  s->dns.search);
	return err;
}

/* ONBOOT=no (Red Hat) or STARTMODE='off' (SUSE), replacing the setting or
 * adding it. */
static int ifcfg_disable(struct net_state *s, enum net_fmt fmt, const struct ifcfg *f)
{
	const char *key = fmt == NET_IFCFG_SUSE ? "STARTMODE" : "ONBOOT";
	const char *off = fmt == NET_IFCFG_SUSE ? "STARTMODE='off'" : "ONBOOT=no";
	const char *off_value = fmt == NET_IFCFG_SUSE ? "off" : "no";
	size_t pos = 0, n, kl, vl;
	const char *line, *k, *v;
	struct strbuf out;
	bool found = false;
	int err = 0;

	strbuf_init(&out);
	while (!err && text_next_line(f->text, f->len, &pos, &line, &n)) {
		if (text_split_assignment(line, n, &k, &kl, &v, &vl) && text_word_is(k, kl, key)) {
			found = true;
			if (!(vl == strlen(off_value) && !strncasecmp(v, off_value, vl))) {
				err = strbuf_addf(&out, "%s\n", off);
				continue;
			}
		}
		err = strbuf_add(&out, line, n);
		if (!err && line + n < f->text + f->len)
			err = strbuf_add(&out, "\n", 1);
	}
	if (!err && !found) {
		if (out.len && out.s[out.len - 1] != '\n')
			err = strbuf_add(&out, "\n", 1);
		if (!err)
			err = strbuf_addf(&out, "%s\n", off);
	}
	if (!err && out.len)
		err = net_write(s, f->path, "disabled: not brought up at boot (an old NIC)", f->text,
				out.s, out.len, 0644);
	strbuf_release(&out);
	return err < 0 ? err : 0;
}

int net_ifcfg_apply(struct net_state *s, enum net_fmt fmt)
{
	const char *dir = ifcfg_dir(fmt);
	struct dirlist l;
	struct strbuf eth0;
	char path[320];
	ssize_t target = -1;
	int err = dirlist_read(s->c->g, dir, &l);

	if (err == -ENOENT || err == -ENOTDIR) {
		if (s->eth0[fmt])
			return net_note(s, dir, "missing: eth0 is not configured");
		return 0;
	}
	if (err)
		return err;
	strbuf_init(&eth0);
	if (s->eth0[fmt]) {
		err = ifcfg_eth0_text(s, fmt, &eth0);
		/* the file for eth0: the first whose DEVICE is eth0, else
		 * ifcfg-eth0 whatever it says */
		for (size_t i = 0; !err && i < l.n && target < 0; i++) {
			struct ifcfg f;

			if (!ifcfg_name(l.v[i].name) || GUEST_ISDIR(l.v[i].mode) ||
			    !ifcfg_load(s, dir, l.v[i].name, &f, &err))
				continue;
			if (!strcmp(f.device, "eth0") && !strchr(l.v[i].name, ':'))
				target = (ssize_t)i;
			free(f.text);
		}
		for (size_t i = 0; target < 0 && i < l.n; i++)
			if (!strcmp(l.v[i].name, "ifcfg-eth0"))
				target = (ssize_t)i;
	}
	for (size_t i = 0; i < l.n && !err; i++) {
		struct ifcfg f;

		if (!ifcfg_name(l.v[i].name) || GUEST_ISDIR(l.v[i].mode) ||
		    !ifcfg_load(s, dir, l.v[i].name, &f, &err))
			continue;
		if ((ssize_t)i == target)
			err = net_write(s, f.path, "eth0 by DHCP (static address and MAC dropped)",
					f.text, eth0.s, eth0.len, 0644);
		else if (strcmp(f.device, "lo"))
			err = ifcfg_disable(s, fmt, &f);
		free(f.text);
		err = err < 0 ? err : 0;
	}
	if (!err && s->eth0[fmt] && target < 0) {
		snprintf(path, sizeof(path), "%s/ifcfg-eth0", dir);
		err = net_write(s, path, "eth0 by DHCP", NULL, eth0.s, eth0.len, 0644);
	}
	strbuf_release(&eth0);
	dirlist_release(&l);
	return err < 0 ? err : 0;
}

/* Rewrites the lines of path that fn changes; fn returns the new line in
 * buf, or NULL to keep it. */
static int edit_lines(struct net_state *s, const char *path, const char *what,
		      const char *(*fn)(const char *line, size_t n, char *buf, size_t cap))
{
	struct guest_stat st;
	struct strbuf out;
	size_t len, pos = 0, n;
	const char *line;
	char *text, buf[512];
	int err;

	if (guest_stat(s->c->g, path, true, &st) || !GUEST_ISREG(st.mode))
		return 0;
	err = net_read(s, path, &text, &len);
	if (err)
		return err == -ENOENT ? 0 : err;
	strbuf_init(&out);
	while (!err && text_next_line(text, len, &pos, &line, &n)) {
		const char *repl = fn(line, n, buf, sizeof(buf));

		err = repl ? strbuf_add(&out, repl, strlen(repl)) : strbuf_add(&out, line, n);
		if (!err && line + n < text + len)
			err = strbuf_add(&out, "\n", 1);
	}
	if (!err)
		err = net_write(s, path, what, text, out.s ? out.s : "", out.len, 0644);
	free(text);
	strbuf_release(&out);
	return err < 0 ? err : 0;
}

/* GATEWAY= in /etc/sysconfig/network applies to every interface, the DHCP
 * one included, and would route through the old network's router. */
static const char *sysconfig_line(const char *line, size_t n, char *buf, size_t cap)
{
	const char *k, *v;
	size_t kl, vl;

	if (!text_split_assignment(line, n, &k, &kl, &v, &vl))
		return NULL;
	if (text_word_is(k, kl, "GATEWAY") || text_word_is(k, kl, "GATEWAYDEV")) {
		snprintf(buf, cap, "#%.*s", (int)n, line);
		return buf;
	}
	if (text_word_is(k, kl, "NETWORKING") && vl == 2 && !strncasecmp(v, "no", 2))
		return "NETWORKING=yes";
	return NULL;
}

int net_rhel_sysconfig(struct net_state *s)
{
	return edit_lines(s, RHEL_SYSCONFIG, "no static default gateway for all interfaces",
			  sysconfig_line);
}

/* "default 192.168.1.1 - -" (or 0.0.0.0 with netmask 0.0.0.0) in SUSE's
 * routes file: the same global static gateway. */
static const char *routes_line(const char *line, size_t n, char *buf, size_t cap)
{
	const char *p = line;
	size_t m = n;

	text_trim(&p, &m);
	if (!m || *p == '#')
		return NULL;
	if ((m >= 8 && !strncmp(p, "default", 7) && (p[7] == ' ' || p[7] == '\t')) ||
	    (m >= 10 && !strncmp(p, "0.0.0.0", 7) && (p[7] == ' ' || p[7] == '\t')) ||
	    (m >= 10 && !strncmp(p, "0.0.0.0/0", 9) && (p[9] == ' ' || p[9] == '\t'))) {
		snprintf(buf, cap, "#%.*s", (int)n, line);
		return buf;
	}
	return NULL;
}

int net_suse_routes(struct net_state *s)
{
	return edit_lines(s, SUSE_ROUTES, "no static default route", routes_line);
}
