/* The "network" fix rule: the copy comes up on the cloud's single virtio NIC
 * as eth0 by DHCP, in every configuration format the server uses; the old
 * NICs' static settings and the udev rules that pin names to their MAC
 * addresses are disabled; NetworkManager is turned off where the cloud asks. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fix/network.h"
#include "fix/service.h"
#include "util/err.h"

#define UDEV_RULES "/etc/udev/rules.d"

/* ---- shared helpers ---- */



int net_note(struct net_state *s, const char *file, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	if (s->applying)
		return 0;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return fix_note(s->c->rep, NET_RULE, file, "%s", text);
}

int net_read(struct net_state *s, const char *path, char **text, size_t *len)
{
	int err = guest_read(s->c->g, path, NET_MAX_FILE, text, len);

	/* The edits compare and split text as C strings: with a NUL byte in
	 * it, every run would rewrite the file (tests/fuzz/crashes/network). */
	if (!err && strlen(*text) != *len) {
		free(*text);
		*text = NULL;
		err = net_note(s, path, "not a text file (it holds a NUL byte): left alone");
		return err ? err : -ENOENT;
	}
	if (err == -EFBIG || err == -EISDIR || err == -ELOOP) {
		err = net_note(s, path, "not a configuration file Ferry can read (%s): left alone",
			       ferr_msg());
		return err ? err : -ENOENT;
	}
	return err == -ENOTDIR ? -ENOENT : err;
}

/* Appends to out the non-blank lines of a that b does not have (each line of
 * b matches once), separated by newlines. */
static int lines_gone(const char *a, size_t alen, const char *b, size_t blen,
		      struct strbuf *out)
{
	size_t apos = 0, n, nb = 0, bpos = 0, m;
	const char *line, *bl;
	bool *used;
	int err = 0;

	while (text_next_line(b, blen, &bpos, &bl, &m))
		nb++;
	used = calloc(nb + 1, sizeof(*used));
	if (!used)
		return ferr(-ENOMEM, "out of memory");
	while (!err && text_next_line(a, alen, &apos, &line, &n)) {
		bool found = false;
		size_t i = 0;

		if (n == 0)
			continue;
		bpos = 0;
		while (!found && text_next_line(b, blen, &bpos, &bl, &m)) {
			if (!used[i] && m == n && !memcmp(bl, line, n))
				found = used[i] = true;
			i++;
		}
		if (!found) {
			if (out->len)
				err = strbuf_add(out, "\n", 1);
			if (!err)
				err = strbuf_add(out, line, n);
		}
	}
	free(used);
	return err;
}

int net_write(struct net_state *s, const char *path, const char *what, const char *old,
	      const char *new_text, size_t new_len, unsigned mode)
{
	struct strbuf before, after;
	int err;

	if (old && strlen(old) == new_len && !memcmp(old, new_text, new_len))
		return 0;
	err = guest_write(s->c->g, path, new_text, new_len, mode);
	if (err)
		return err;
	strbuf_init(&before);
	strbuf_init(&after);
	if (old)
		err = lines_gone(old, strlen(old), new_text, new_len, &before);
	if (!err)
		err = lines_gone(new_text, new_len, old ? old : "", old ? strlen(old) : 0, &after);
	if (!err)
		err = fix_change(s->c->rep, NET_RULE, path, what, before.len ? before.s : NULL,
				 after.len ? after.s : NULL);
	strbuf_release(&before);
	strbuf_release(&after);
	return err ? err : 1;
}

static void add_item(char *dst, size_t cap, const char *w, size_t n)
{
	size_t len = strlen(dst);

	if (len + (len ? 1 : 0) + n + 1 > cap)
		return;
	if (len)
		dst[len++] = ' ';
	memcpy(dst + len, w, n);
	dst[len + n] = '\0';
}

/* Calls fn for each item of a list separated by blanks, commas or
 * semicolons, quotes removed. */
static void each_item(const char *list, size_t len, void (*fn)(struct net_dns *, const char *,
							      size_t),
		      struct net_dns *d)
{
	size_t i = 0;

	while (i < len) {
		size_t start;

		while (i < len && strchr(" \t,;", list[i]))
			i++;
		start = i;
		while (i < len && !strchr(" \t,;", list[i]))
			i++;
		if (i > start) {
			const char *w = list + start;
			size_t n = i - start;

			if (n >= 2 && (w[0] == '"' || w[0] == '\'') && w[n - 1] == w[0])
				w++, n -= 2;
			if (n)
				fn(d, w, n);
		}
	}
}

/* An address of the old LAN: RFC 1918, shared (RFC 6598), link-local,
 * loopback; IPv6 unique local, link-local, loopback. */
static bool lan_address(const char *a)
{
	uint8_t b[16];

	if (inet_pton(AF_INET, a, b) == 1)
		return b[0] == 10 || b[0] == 127 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
		       (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254) ||
		       (b[0] == 100 && (b[1] & 0xc0) == 64);
	if (inet_pton(AF_INET6, a, b) == 1) {
		static const uint8_t loop[16] = {[15] = 1};
		return (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||
		       !memcmp(b, loop, 16);
	}
	return false;
}

/* Servers and domains are written into netplan's YAML lists and ifcfg
 * and keyfile lines: anything but an address or a domain name would read
 * back as something else (a ']' ends a YAML list), so it is not carried. */
static bool ip_address(const char *a)
{
	uint8_t b[16];

	return inet_pton(AF_INET, a, b) == 1 || inet_pton(AF_INET6, a, b) == 1;
}

static void add_server(struct net_dns *d, const char *w, size_t n)
{
	char a[64];

	if (n >= sizeof(a))
		return;
	memcpy(a, w, n);
	a[n] = '\0';
	if (!ip_address(a))
		return;
	if (lan_address(a)) {
		add_item(d->left, sizeof(d->left), w, n);
		return;
	}
	if (d->nservers < 3 && n < sizeof(d->servers[0])) {
		memcpy(d->servers[d->nservers], w, n);
		d->servers[d->nservers++][n] = '\0';
	}
}

static void add_search(struct net_dns *d, const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)w[i]) && (!w[i] || !strchr("-._", w[i])))
			return;
	add_item(d->search, sizeof(d->search), w, n);
}

void net_dns_add_servers(struct net_dns *d, const char *list, size_t len)
{
	each_item(list, len, add_server, d);
}

void net_dns_add_search(struct net_dns *d, const char *list, size_t len)
{
	each_item(list, len, add_search, d);
}

void net_dns_offer(struct net_state *s, const struct net_dns *d, bool ours, bool has_gw)
{
	bool empty = !d->nservers && !d->search[0] && !d->left[0];

	if (s->applying || s->dns_ours)
		return;
	if (ours) {
		/* what a first run carried over, now authoritative */
		s->dns = *d;
		s->dns_ours = true;
		return;
	}
	if (empty || s->dns_gw)
		return;
	if (has_gw || (!s->dns.nservers && !s->dns.search[0] && !s->dns.left[0])) {
		s->dns = *d;
		s->dns_gw = has_gw;
	}
}

/* ---- the rule ---- */

/* udev's persistent-net generator (RHEL 6, Debian before 9, SLES 11/12)
 * wrote the old NICs' MAC addresses with the names eth0, eth1...: the
 * virtio NIC would come up as eth2. Huawei's guide has these deleted
 * ("network rule directory"); SUSE 10/11 called the file
 * 30-net_persistent_names.rules. */
static int drop_persistent_net_rules(struct net_state *s)
{
	struct dirlist l;
	char path[512];
	int err = dirlist_read(s->c->g, UDEV_RULES, &l);

	if (err == -ENOENT || err == -ENOTDIR)
		return 0;
	if (err)
		return err;
	for (size_t i = 0; i < l.n && !err; i++) {
		const char *name = l.v[i].name;
		size_t n = strlen(name);

		if (GUEST_ISDIR(l.v[i].mode) || n < 6 || strcmp(name + n - 6, ".rules") ||
		    (!strstr(name, "persistent-net") && !strstr(name, "net_persistent")))
			continue;
		snprintf(path, sizeof(path), UDEV_RULES "/%s", name);
		err = guest_unlink(s->c->g, path);
		if (!err)
			err = fix_change_code(s->c->rep, "net.rules", NET_RULE, path,
					      "removed: it names interfaces after the old server's "
					      "MAC addresses", NULL, NULL);
	}
	dirlist_release(&l);
	return err;
}

/* NetworkManager and the cloud profiles, from the vendors' guides in
 * shared/seeds: Alibaba's Linux image restrictions say "Close or delete the
 * Network Manager"; Tencent, Huawei and the neutral kvm profile ask only for
 * eth0 by DHCP, which NetworkManager does well, so there it stays as it is.
 * Even for Alibaba it goes off only where the legacy scripts can take over
 * (the initscripts network service on Red Hat, ifupdown's networking on
 * Debian): on RHEL 9 or a netplan-over-NetworkManager Ubuntu nothing else
 * would bring eth0 up. */
static bool nm_policy_off(struct fix_ctx *c)
{
	if (!c->cloud || strcmp(c->cloud, "alibaba"))
		return false;
	return guest_exists(c->g, "/etc/rc.d/init.d/network") ||
	       guest_exists(c->g, "/etc/init.d/network") ||
	       guest_exists(c->g, "/etc/init.d/networking") || service_enabled(c, "networking");
}

static const char *const nm_services[] = {
	"NetworkManager",
	/* Requires=NetworkManager.service: left on, it would start it again */
	"NetworkManager-wait-online",
	"NetworkManager-dispatcher",
};

static bool is_dir(struct guest *g, const char *path)
{
	struct guest_stat st;

	return guest_stat(g, path, true, &st) == 0 && GUEST_ISDIR(st.mode);
}

/* Where eth0 goes: every format that configures an interface now (a server
 * may use two, such as ifupdown beside netplan), except that a keyfile is
 * written only when NetworkManager runs and nothing else configures eth0:
 * it reads ifcfg files itself on Red Hat and netplan renders for it on
 * Ubuntu, and two profiles for one NIC would compete. With no format in use
 * the one the installed tools read is chosen. */
static void choose_formats(struct net_state *s)
{
	static const enum net_fmt direct[] = {NET_NETPLAN, NET_IFUPDOWN, NET_IFCFG_SUSE,
					      NET_IFCFG_RHEL, NET_NETWORKD};
	struct guest *g = s->c->g;
	bool any = false;

	for (size_t i = 0; i < sizeof(direct) / sizeof(direct[0]); i++)
		any |= s->eth0[direct[i]] = s->present[direct[i]];
	if (any)
		return;
	if (s->nm_manages)
		s->eth0[NET_KEYFILE] = true;
	else if (service_enabled(s->c, "systemd-networkd"))
		s->eth0[NET_NETWORKD] = true;
	else if (is_dir(g, "/etc/netplan"))
		s->eth0[NET_NETPLAN] = true;
	else if (is_dir(g, "/etc/sysconfig/network-scripts") &&
		 (guest_exists(g, "/etc/rc.d/init.d/network") ||
		  guest_exists(g, "/etc/init.d/network")))
		s->eth0[NET_IFCFG_RHEL] = true;
	else if (is_dir(g, "/etc/sysconfig/network"))
		s->eth0[NET_IFCFG_SUSE] = true;
	else if (guest_exists(g, "/etc/network/interfaces"))
		s->eth0[NET_IFUPDOWN] = true;
}

static int network_run(struct net_state *s)
{
	struct fix_ctx *c = s->c;
	bool chosen = false;
	int err;

	s->nm_off = nm_policy_off(c);
	s->nm_manages = !s->nm_off && service_enabled(c, "NetworkManager");

	err = net_netplan_scan(s);
	if (!err)
		err = net_ifupdown_scan(s);
	if (!err)
		err = net_ifcfg_scan(s, NET_IFCFG_SUSE);
	if (!err)
		err = net_ifcfg_scan(s, NET_IFCFG_RHEL);
	if (!err)
		err = net_keyfile_scan(s);
	if (!err)
		err = net_networkd_scan(s);
	if (err)
		return err;
	choose_formats(s);
	for (int f = 0; f < NET_NFMT; f++)
		chosen |= s->eth0[f];
	if (!chosen) {
		err = net_note(s, NULL,
			       "no network configuration format found (netplan, ifupdown, "
			       "ifcfg, NetworkManager, systemd-networkd): eth0 is not configured");
		if (err)
			return err;
	}

	if (s->eth0[NET_IFUPDOWN] && s->ifupdown_left) {
		err = net_note(s, NULL, "ifupdown's files are left as they are (see the note "
			       "above): eth0 is not configured there");
		if (err)
			return err;
	}
	if (s->dns.left[0] && !s->dns_ours) {
		err = net_note(s, NULL, "the old LAN's DNS servers (%s) are not carried to eth0: "
			       "the cloud's DHCP gives its own", s->dns.left);
		if (err)
			return err;
	}
	s->applying = true;
	err = drop_persistent_net_rules(s);
	if (!err)
		err = net_netplan_apply(s);
	if (!err)
		err = net_ifupdown_apply(s);
	if (!err)
		err = net_ifcfg_apply(s, NET_IFCFG_SUSE);
	if (!err && (s->present[NET_IFCFG_SUSE] || s->eth0[NET_IFCFG_SUSE]))
		err = net_suse_routes(s);
	if (!err)
		err = net_ifcfg_apply(s, NET_IFCFG_RHEL);
	if (!err && (s->present[NET_IFCFG_RHEL] || s->eth0[NET_IFCFG_RHEL]))
		err = net_rhel_sysconfig(s);
	if (!err)
		err = net_keyfile_apply(s);
	if (!err)
		err = net_networkd_apply(s);
	if (err)
		return err;

	for (size_t i = 0; s->nm_off && i < sizeof(nm_services) / sizeof(nm_services[0]); i++) {
		err = service_disable(c, NET_RULE, nm_services[i]);
		if (err < 0)
			return err;
	}
	/* ifcfg-eth0 with nothing to read it: the initscripts network service
	 * must run (it does by default, unless an admin turned it off for
	 * NetworkManager) */
	if (s->eth0[NET_IFCFG_RHEL] && !s->nm_manages) {
		err = service_enable_sysv(c, NET_RULE, "network");
		if (err < 0)
			return err;
	}
	return 0;
}

int fix_network(struct fix_ctx *c)
{
	struct net_state s;

	memset(&s, 0, sizeof(s));
	s.c = c;
	return network_run(&s);
}
