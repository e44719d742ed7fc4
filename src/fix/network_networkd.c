/* The network rule on systemd-networkd (the .network files in
 * /etc/systemd/network): networkd reads only files ending in .network, so the old ones are
 * renamed out of its way, kept for the admin, and an eth0 DHCP file is
 * added. Vendor files under /usr/lib and /run are not the server's
 * configuration and are left alone. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fix/network.h"
#include "fix/service.h"
#include "util/err.h"
#include "util/strbuf.h"
#include "util/text.h"

#define ND_DIR "/etc/systemd/network"
#define ND_OURS "10-ferry-eth0.network"
#define ND_OFF ".ferry-disabled"

/* What one .network file holds. */
struct nd_info {
	bool loopback; /* [Match] Name=lo */
	bool gw;       /* a Gateway= (in [Network] or [Route]) */
	struct net_dns dns;
};

static bool network_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 8 && !strcmp(name + n - 8, ".network");
}

static void nd_scan(const char *text, size_t len, struct nd_info *k)
{
	const char *line, *sec = "";
	size_t pos = 0, n, seclen = 0;

	memset(k, 0, sizeof(*k));
	while (text_next_line(text, len, &pos, &line, &n)) {
		const char *p = line, *key, *val;
		size_t m = n, klen, vlen;

		text_trim(&p, &m);
		if (!m || *p == '#' || *p == ';')
			continue;
		if (*p == '[' && p[m - 1] == ']') {
			sec = p + 1;
			seclen = m - 2;
			continue;
		}
		/* KEY=VALUE, blanks around both allowed (systemd's INI) */
		const char *eq = memchr(p, '=', m);
		if (!eq)
			continue;
		key = p;
		klen = (size_t)(eq - p);
		val = eq + 1;
		vlen = m - klen - 1;
		text_trim(&key, &klen);
		text_trim(&val, &vlen);
		if (text_word_is(sec, seclen, "Match") && text_word_is(key, klen, "Name"))
			k->loopback = text_word_is(val, vlen, "lo");
		else if (text_word_is(key, klen, "Gateway") && vlen)
			k->gw = true;
		else if (text_word_is(sec, seclen, "Network") && text_word_is(key, klen, "DNS"))
			net_dns_add_servers(&k->dns, val, vlen);
		else if (text_word_is(sec, seclen, "Network") && text_word_is(key, klen, "Domains"))
			net_dns_add_search(&k->dns, val, vlen);
	}
}

static bool is_ours(const char *text)
{
	return !strncmp(text, NET_MARK, strlen(NET_MARK));
}

/* Calls fn for each .network file of the server's own. */
static int nd_each(struct net_state *s,
		   int (*fn)(struct net_state *, const char *path, const char *name,
			     const char *text, const struct nd_info *k))
{
	struct dirlist l;
	char path[320];
	int err = dirlist_read(s->c->g, ND_DIR, &l);

	if (err == -ENOENT || err == -ENOTDIR)
		return 0;
	if (err)
		return err;
	for (size_t i = 0; i < l.n && !err; i++) {
		struct nd_info k;
		char *text;
		size_t len;

		if (!network_name(l.v[i].name) || GUEST_ISDIR(l.v[i].mode))
			continue;
		snprintf(path, sizeof(path), ND_DIR "/%s", l.v[i].name);
		err = net_read(s, path, &text, &len);
		if (err) {
			err = err == -ENOENT ? 0 : err;
			continue;
		}
		nd_scan(text, len, &k);
		if (!k.loopback)
			err = fn(s, path, l.v[i].name, text, &k);
		free(text);
	}
	dirlist_release(&l);
	return err;
}

static int nd_scan_one(struct net_state *s, const char *path, const char *name,
		       const char *text, const struct nd_info *k)
{
	(void)path;
	(void)name;
	s->present[NET_NETWORKD] = true;
	net_dns_offer(s, &k->dns, is_ours(text), k->gw);
	return 0;
}

int net_networkd_scan(struct net_state *s)
{
	return nd_each(s, nd_scan_one);
}

static int nd_disable_one(struct net_state *s, const char *path, const char *name,
			  const char *text, const struct nd_info *k)
{
	char to[352];
	int err;

	(void)k;
	if (is_ours(text) || !strcmp(name, ND_OURS))
		return 0;
	snprintf(to, sizeof(to), "%s%s", path, ND_OFF);
	err = guest_rename(s->c->g, path, to);
	if (err)
		return err;
	return fix_change(s->c->rep, NET_RULE, path,
			  "disabled: renamed so that systemd-networkd ignores the old interfaces",
			  path, to);
}

static int nd_text(const struct net_state *s, struct strbuf *b)
{
	int err = strbuf_addf(b, "%s\n[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\n", NET_MARK);

	for (size_t i = 0; !err && i < s->dns.nservers; i++)
		err = strbuf_addf(b, "DNS=%s\n", s->dns.servers[i]);
	if (!err && s->dns.search[0])
		err = strbuf_addf(b, "Domains=%s\n", s->dns.search);
	return err;
}

int net_networkd_apply(struct net_state *s)
{
	struct strbuf b;
	char *old = NULL;
	size_t len;
	int err = nd_each(s, nd_disable_one);

	if (err || !s->eth0[NET_NETWORKD])
		return err;
	if (!guest_exists(s->c->g, ND_DIR)) {
		err = guest_mkdir(s->c->g, ND_DIR, 0755);
		if (err)
			return err;
	}
	strbuf_init(&b);
	err = nd_text(s, &b);
	if (!err) {
		err = net_read(s, ND_DIR "/" ND_OURS, &old, &len);
		if (err == -ENOENT)
			err = 0;
	}
	if (!err)
		err = net_write(s, ND_DIR "/" ND_OURS, "eth0 by DHCP (systemd-networkd)", old, b.s,
				b.len, 0644);
	free(old);
	strbuf_release(&b);
	return err < 0 ? err : 0;
}
