/* The network rule on Debian's ifupdown (/etc/network/interfaces and
 * interfaces.d) and Ubuntu's netplan (/etc/netplan/ *.yaml). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fix/network.h"
#include "fix/service.h"
#include "util/err.h"

#define IFACES "/etc/network/interfaces"
#define IFACES_D "/etc/network/interfaces.d"
#define NETPLAN_DIR "/etc/netplan"
#define NETPLAN_OURS "01-ferry-eth0.yaml"
#define NETPLAN_OFF ".ferry-disabled"

/* ---- ifupdown ---- */

enum stanza { ST_NONE, ST_KEEP, ST_OFF, ST_OURS };

struct ifup {
	struct net_state *s;
	struct strbuf out;
	enum stanza st;
	bool present, ours, bad;
	const char *bad_line;
	size_t bad_len;
	struct net_dns dns; /* of the stanza being read */
	bool gw;
};

/* The n-th blank-separated word of [line, line + len). */
static bool word(const char *line, size_t len, int nth, const char **w, size_t *n)
{
	size_t i = 0;

	for (int k = 0;; k++) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			return false;
		*w = line + i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		*n = (size_t)(line + i - *w);
		if (k == nth)
			return true;
	}
}

static void stanza_end(struct ifup *x)
{
	if (x->st == ST_OFF || x->st == ST_OURS)
		net_dns_offer(x->s, &x->dns, x->st == ST_OURS, x->gw);
	memset(&x->dns, 0, sizeof(x->dns));
	x->gw = false;
	x->st = ST_NONE;
}

static int emit(struct ifup *x, bool comment, const char *line, size_t n)
{
	int err = comment ? strbuf_add(&x->out, "#", 1) : 0;

	if (!err)
		err = strbuf_add(&x->out, line, n);
	return err ? err : strbuf_add(&x->out, "\n", 1);
}

/* auto, allow-*, no-auto-down, no-scripts: lists of interface names. */
static int ifup_list_line(struct ifup *x, const char *line, size_t n)
{
	const char *w, *kw;
	size_t wn, kn;
	int lo = 0, others = 0;

	word(line, n, 0, &kw, &kn);
	for (int i = 1; word(line, n, i, &w, &wn); i++) {
		if (text_word_is(w, wn, "lo"))
			lo++;
		else
			others++;
	}
	if (!others)
		return emit(x, false, line, n);
	x->present = true;
	if (lo) {
		int err = strbuf_addf(&x->out, "%.*s lo\n", (int)kn, kw);
		if (err)
			return err;
	}
	return emit(x, true, line, n);
}

static void ifup_option(struct ifup *x, const char *line, size_t n)
{
	const char *w;
	size_t wn;

	if (!word(line, n, 0, &w, &wn))
		return;
	if (text_word_is(w, wn, "gateway")) {
		x->gw = true;
	} else if (text_word_is(w, wn, "dns-nameservers")) {
		const char *rest = w + wn;
		net_dns_add_servers(&x->dns, rest, (size_t)(line + n - rest));
	} else if (text_word_is(w, wn, "dns-search")) {
		const char *rest = w + wn;
		net_dns_add_search(&x->dns, rest, (size_t)(line + n - rest));
	}
}

/* One interfaces(5) file: every stanza but the loopback's commented out,
 * the block Ferry wrote before taken out (it is written again at the end). */
static int ifup_process(struct ifup *x, const char *text, size_t len)
{
	size_t pos = 0, n;
	const char *line;
	int err = 0;

	while (!err && text_next_line(text, len, &pos, &line, &n)) {
		const char *w, *name;
		size_t wn, nn;

		if (text_blank_or_comment(line, n)) {
			if (n == strlen(NET_MARK) && !memcmp(line, NET_MARK, n)) {
				stanza_end(x);
				x->st = ST_OURS;
				x->ours = true;
				continue;
			}
			/* a comment does not end a stanza, but ends our block */
			if (x->st == ST_OURS)
				stanza_end(x);
			err = emit(x, false, line, n);
			continue;
		}
		word(line, n, 0, &w, &wn);
		if (x->st == ST_OURS) {
			/* our block: "auto eth0", "iface eth0 inet dhcp", options */
			bool auto_eth0 = text_word_is(w, wn, "auto") && word(line, n, 1, &name, &nn) &&
					 text_word_is(name, nn, "eth0");
			bool iface_eth0 = text_word_is(w, wn, "iface") &&
					  word(line, n, 1, &name, &nn) && text_word_is(name, nn, "eth0");
			bool option = line[0] == ' ' || line[0] == '\t';

			if (auto_eth0 || iface_eth0 || option) {
				if (option)
					ifup_option(x, line, n);
				continue;
			}
			stanza_end(x);
		}
		if (text_word_is(w, wn, "iface") || text_word_is(w, wn, "mapping")) {
			stanza_end(x);
			if (word(line, n, 1, &name, &nn) && text_word_is(name, nn, "lo")) {
				x->st = ST_KEEP;
				err = emit(x, false, line, n);
			} else {
				x->st = ST_OFF;
				x->present = true;
				err = emit(x, true, line, n);
			}
		} else if (text_word_is(w, wn, "auto") || (wn > 6 && !memcmp(w, "allow-", 6)) ||
			   text_word_is(w, wn, "no-auto-down") || text_word_is(w, wn, "no-scripts")) {
			stanza_end(x);
			err = ifup_list_line(x, line, n);
		} else if (text_word_is(w, wn, "source") || text_word_is(w, wn, "source-directory") ||
			   text_word_is(w, wn, "source-dir") || text_word_is(w, wn, "rename")) {
			stanza_end(x);
			err = emit(x, false, line, n);
		} else if (x->st == ST_NONE) {
			/* ifupdown itself refuses this ("misplaced option") */
			x->bad = true;
			x->bad_line = line;
			x->bad_len = n;
			return 0;
		} else {
			if (x->st == ST_OFF)
				ifup_option(x, line, n);
			err = emit(x, x->st == ST_OFF, line, n);
		}
	}
	stanza_end(x);
	return err;
}

static int ifup_block(struct net_state *s, struct strbuf *b)
{
	int err = strbuf_addf(b, "%s\nauto eth0\niface eth0 inet dhcp\n", NET_MARK);

	if (!err && s->dns.nservers) {
		err = strbuf_add(b, "\tdns-nameservers", 16);
		for (size_t i = 0; !err && i < s->dns.nservers; i++)
			err = strbuf_addf(b, " %s", s->dns.servers[i]);
		if (!err)
			err = strbuf_add(b, "\n", 1);
	}
	if (!err && s->dns.search[0])
		err = strbuf_addf(b, "\tdns-search %s\n", s->dns.search);
	return err;
}

/* Scans (apply false) or rewrites one file; main gets eth0's block. */
static int ifup_file(struct net_state *s, const char *path, bool main_file, bool apply)
{
	struct ifup x;
	char *text;
	size_t len;
	int err = net_read(s, path, &text, &len);

	if (err == -ENOENT && guest_exists(s->c->g, path))
		s->ifupdown_left = true; /* there, but not readable as text (noted) */
	if (err)
		return err == -ENOENT ? 0 : err;
	memset(&x, 0, sizeof(x));
	x.s = s;
	strbuf_init(&x.out);
	err = ifup_process(&x, text, len);
	if (!err && x.bad) {
		s->ifupdown_left = true;
		err = net_note(s, path, "'%.*s' is outside any stanza: ifupdown's files are left "
			       "alone", (int)(x.bad_len > 80 ? 80 : x.bad_len), x.bad_line);
	} else if (!err && !apply) {
		s->present[NET_IFUPDOWN] |= x.present || x.ours;
	} else if (!err) {
		if (main_file && s->eth0[NET_IFUPDOWN]) {
			while (x.out.len && x.out.s[x.out.len - 1] == '\n')
				x.out.s[--x.out.len] = '\0';
			if (x.out.len)
				err = strbuf_add(&x.out, "\n\n", 2);
			if (!err)
				err = ifup_block(s, &x.out);
		}
		if (!err)
			err = net_write(s, path,
					main_file && s->eth0[NET_IFUPDOWN]
						? "old interfaces disabled, eth0 by DHCP"
						: "old interfaces disabled",
					text, x.out.s ? x.out.s : "", x.out.len, 0644);
	}
	free(text);
	strbuf_release(&x.out);
	return err < 0 ? err : 0;
}

static int ifup_all(struct net_state *s, bool apply)
{
	struct dirlist l;
	char path[320];
	int err;

	if (!guest_exists(s->c->g, IFACES))
		return 0;
	err = ifup_file(s, IFACES, true, apply);
	if (err)
		return err;
	err = dirlist_read(s->c->g, IFACES_D, &l);
	if (err == -ENOENT || err == -ENOTDIR)
		return 0;
	for (size_t i = 0; i < l.n && !err; i++) {
		const char *name = l.v[i].name;
		size_t n = strlen(name);

		if (name[0] == '.' || name[n - 1] == '~' || strstr(name, ".dpkg-") ||
		    !(GUEST_ISREG(l.v[i].mode) || GUEST_ISLNK(l.v[i].mode)))
			continue;
		snprintf(path, sizeof(path), IFACES_D "/%s", name);
		err = ifup_file(s, path, false, apply);
	}
	dirlist_release(&l);
	return err;
}

int net_ifupdown_scan(struct net_state *s)
{
	return ifup_all(s, false);
}

int net_ifupdown_apply(struct net_state *s)
{
	return s->ifupdown_left ? 0 : ifup_all(s, true);
}

/* ---- netplan ---- */

/* What a netplan file holds, read line by line (netplan files are small
 * block-style YAML; flow style is understood for nameservers). */
struct yaml_info {
	bool network, devices, gw, bad;
	char why[64];
	struct net_dns dns;
	char renderer[32];
};

static bool yaml_device_key(const char *k, size_t n)
{
	static const char *const keys[] = {
		"ethernets", "bonds", "bridges", "vlans", "wifis", "tunnels", "modems", "vrfs",
		"nm-devices", "dummy-devices", "virtual-ethernets",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (text_word_is(k, n, keys[i]))
			return true;
	return false;
}

/* Items of a flow list "[a, 'b']" starting at p. */
static void yaml_flow_list(const char *p, size_t n, struct net_dns *d, bool servers)
{
	const char *open = memchr(p, '[', n), *close;

	if (!open)
		return;
	close = memchr(open, ']', n - (size_t)(open - p));
	if (!close)
		return;
	if (servers)
		net_dns_add_servers(d, open + 1, (size_t)(close - open - 1));
	else
		net_dns_add_search(d, open + 1, (size_t)(close - open - 1));
}

/* nameservers: {addresses: [..], search: [..]} */
static void yaml_flow_nameservers(const char *v, size_t n, struct net_dns *d)
{
	const char *a = memmem(v, n, "addresses", 9), *s = memmem(v, n, "search", 6);

	if (a)
		yaml_flow_list(a, n - (size_t)(a - v), d, true);
	if (s)
		yaml_flow_list(s, n - (size_t)(s - v), d, false);
}

static void yaml_scan(const char *text, size_t len, struct yaml_info *y)
{
	size_t pos = 0, n;
	const char *line;
	long ns_indent = -1, list_indent = -1;
	int list = 0; /* 1: nameservers' addresses, 2: search */

	memset(y, 0, sizeof(*y));
	while (text_next_line(text, len, &pos, &line, &n)) {
		size_t ind = 0, kn, vn;
		const char *t, *colon, *k, *v, *hash;
		bool item = false;

		while (ind < n && line[ind] == ' ')
			ind++;
		if (ind < n && line[ind] == '\t') {
			y->bad = true;
			snprintf(y->why, sizeof(y->why), "a tab in the indentation");
			return;
		}
		t = line + ind;
		vn = n - ind;
		if (!vn || *t == '#')
			continue;
		hash = memmem(t, vn, " #", 2);
		if (hash)
			vn = (size_t)(hash - t);
		text_trim(&t, &vn);
		if (!vn)
			continue;
		if (vn >= 2 && t[0] == '-' && t[1] == ' ') {
			item = true;
			t += 2;
			vn -= 2;
			text_trim(&t, &vn);
		}
		if (list && item && (long)ind >= list_indent) {
			if (list == 1)
				net_dns_add_servers(&y->dns, t, vn);
			else
				net_dns_add_search(&y->dns, t, vn);
			continue;
		}
		list = 0;
		if (ns_indent >= 0 && (long)ind <= ns_indent)
			ns_indent = -1;
		colon = memchr(t, ':', vn);
		if (!colon || (colon + 1 < t + vn && colon[1] != ' '))
			continue;
		k = t;
		kn = (size_t)(colon - t);
		v = colon + 1;
		vn = (size_t)(t + vn - v);
		text_trim(&k, &kn);
		text_trim(&v, &vn);
		if (kn >= 2 && (k[0] == '"' || k[0] == '\'') && k[kn - 1] == k[0])
			k++, kn -= 2;
		if (ind == 0 && text_word_is(k, kn, "network")) {
			y->network = true;
			for (size_t i = 0; vn && i < vn; i++) /* flow style */
				if (v[i] == '{' || v[i] == ',' || v[i] == ' ') {
					const char *e = v + i + 1;
					size_t m = 0;

					while (e + m < v + vn && e[m] != ':' && e[m] != ' ')
						m++;
					y->devices |= yaml_device_key(e, m);
				}
		} else if (yaml_device_key(k, kn)) {
			y->devices = true;
		} else if (text_word_is(k, kn, "renderer") && vn < sizeof(y->renderer)) {
			snprintf(y->renderer, sizeof(y->renderer), "%.*s", (int)vn, v);
		} else if (text_word_is(k, kn, "gateway4") ||
			   (text_word_is(k, kn, "to") &&
			    (text_word_is(v, vn, "default") || text_word_is(v, vn, "0.0.0.0/0")))) {
			y->gw = true;
		} else if (text_word_is(k, kn, "nameservers")) {
			if (vn && v[0] == '{')
				yaml_flow_nameservers(v, vn, &y->dns);
			else
				ns_indent = (long)ind + (item ? 2 : 0);
		} else if (ns_indent >= 0 &&
			   (text_word_is(k, kn, "addresses") || text_word_is(k, kn, "search"))) {
			bool servers = text_word_is(k, kn, "addresses");

			if (vn && v[0] == '[')
				yaml_flow_list(v, vn, &y->dns, servers);
			else if (!vn) {
				list = servers ? 1 : 2;
				list_indent = (long)ind;
			}
		}
	}
	if (!y->network) {
		y->bad = true;
		snprintf(y->why, sizeof(y->why), "no network: key");
	}
}

static bool netplan_name(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && !strcmp(name + n - 5, ".yaml") && name[0] != '.';
}

/* Visits each netplan file of /etc/netplan: ours tells whether it is
 * Ferry's eth0 file, y what it holds (unset for ours when !read_ours). */
static int netplan_each(struct net_state *s,
			int (*fn)(struct net_state *, const char *path, bool ours,
				  const struct yaml_info *y))
{
	struct dirlist l;
	char path[320];
	int err = dirlist_read(s->c->g, NETPLAN_DIR, &l);

	if (err == -ENOENT || err == -ENOTDIR)
		return 0;
	if (err)
		return err;
	for (size_t i = 0; i < l.n && !err; i++) {
		struct yaml_info y;
		char *text;
		size_t len;

		if (!netplan_name(l.v[i].name) || GUEST_ISDIR(l.v[i].mode))
			continue;
		snprintf(path, sizeof(path), NETPLAN_DIR "/%s", l.v[i].name);
		err = net_read(s, path, &text, &len);
		if (err) {
			err = err == -ENOENT ? 0 : err;
			continue;
		}
		yaml_scan(text, len, &y);
		free(text);
		if (y.bad)
			err = net_note(s, path, "not a netplan file Ferry understands (%s): left alone",
				       y.why);
		else
			err = fn(s, path, !strcmp(l.v[i].name, NETPLAN_OURS), &y);
	}
	dirlist_release(&l);
	return err;
}

static int netplan_scan_one(struct net_state *s, const char *path, bool ours,
			    const struct yaml_info *y)
{
	(void)path;
	if (!ours && !y->devices)
		return 0; /* a renderer-only file, such as 01-network-manager-all */
	s->present[NET_NETPLAN] = true;
	if (y->renderer[0] && (ours || !s->renderer[0]))
		snprintf(s->renderer, sizeof(s->renderer), "%s", y->renderer);
	net_dns_offer(s, &y->dns, ours, y->gw);
	return 0;
}

int net_netplan_scan(struct net_state *s)
{
	return netplan_each(s, netplan_scan_one);
}

/* netplan reads only *.yaml: a renamed file is kept for the admin and
 * ignored by netplan generate. */
static int netplan_disable_one(struct net_state *s, const char *path, bool ours,
			       const struct yaml_info *y)
{
	char to[352];
	int err;

	if (ours || !y->devices)
		return 0;
	snprintf(to, sizeof(to), "%s%s", path, NETPLAN_OFF);
	err = guest_rename(s->c->g, path, to);
	if (err)
		return err;
	return fix_change(s->c->rep, NET_RULE, path,
			  "disabled: renamed so that netplan ignores the old interfaces", path, to);
}

static int netplan_text(struct net_state *s, struct strbuf *b)
{
	int err = strbuf_addf(b, "%s\nnetwork:\n  version: 2\n", NET_MARK);

	if (!err && s->renderer[0])
		err = strbuf_addf(b, "  renderer: %s\n", s->renderer);
	if (!err)
		err = strbuf_addf(b, "  ethernets:\n    eth0:\n      dhcp4: true\n");
	if (!err && (s->dns.nservers || s->dns.search[0]))
		err = strbuf_addf(b, "      nameservers:\n");
	if (!err && s->dns.nservers) {
		err = strbuf_addf(b, "        addresses: [");
		for (size_t i = 0; !err && i < s->dns.nservers; i++)
			err = strbuf_addf(b, "%s%s", i ? ", " : "", s->dns.servers[i]);
		if (!err)
			err = strbuf_addf(b, "]\n");
	}
	if (!err && s->dns.search[0]) {
		const char *p = s->dns.search;

		err = strbuf_addf(b, "        search: [");
		while (!err && *p) {
			size_t n = strcspn(p, " ");

			err = strbuf_addf(b, "%s%.*s", p == s->dns.search ? "" : ", ", (int)n, p);
			p += n;
			p += *p == ' ';
		}
		if (!err)
			err = strbuf_addf(b, "]\n");
	}
	return err;
}

int net_netplan_apply(struct net_state *s)
{
	struct strbuf b;
	char *old = NULL;
	size_t len;
	int err = netplan_each(s, netplan_disable_one);

	if (err || !s->eth0[NET_NETPLAN])
		return err;
	strbuf_init(&b);
	err = netplan_text(s, &b);
	if (!err) {
		err = net_read(s, NETPLAN_DIR "/" NETPLAN_OURS, &old, &len);
		if (err == -ENOENT)
			err = 0;
	}
	/* netplan warns about files others can read: 0600 like the installer */
	if (!err)
		err = net_write(s, NETPLAN_DIR "/" NETPLAN_OURS, "eth0 by DHCP", old, b.s, b.len,
				0600);
	free(old);
	strbuf_release(&b);
	return err < 0 ? err : 0;
}
