/* The network rule on NetworkManager keyfiles
 * (/etc/NetworkManager/system-connections): NetworkManager reads every
 * file there, so the old profiles are switched off in place rather than
 * renamed, and an eth0 DHCP profile is added when NetworkManager runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fix/network.h"
#include "fix/service.h"
#include "util/err.h"

#define NM_DIR "/etc/NetworkManager/system-connections"
#define NM_OURS "eth0.nmconnection"
/* One fixed identity: the profile is the same on every migrated server. */
#define NM_OURS_UUID "4b0f6b1e-7c3a-4d2e-9f58-2a6c1d8e0b73"

/* Files NetworkManager's keyfile plugin skips: hidden, editor and package
 * manager leftovers, and the certificates that may sit beside profiles. */
static bool keyfile_name(const char *name)
{
	static const char *const skip[] = {
		"~", ".bak", ".orig", ".rej", ".rpmnew", ".rpmsave", ".rpmorig", ".swp", ".tmp",
		".nmmeta", ".pem", ".der", ".key", ".crt", ".p12", ".dpkg-old", ".dpkg-new",
		".dpkg-dist", ".dpkg-bak",
	};
	size_t n = strlen(name);

	if (name[0] == '.')
		return false;
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
		size_t m = strlen(skip[i]);

		if (n >= m && !strcmp(name + n - m, skip[i]))
			return false;
	}
	return true;
}

struct kf_line {
	enum { KF_OTHER, KF_SECTION, KF_KEY, KF_BAD } kind;
	const char *name, *val; /* section name, or key and value */
	size_t nlen, vlen;
};

static struct kf_line kf_parse(const char *line, size_t n)
{
	struct kf_line l = {.kind = KF_OTHER};
	const char *p = line, *eq;
	size_t m = n;

	text_trim(&p, &m);
	if (!m || *p == '#' || *p == ';')
		return l;
	if (*p == '[') {
		if (p[m - 1] != ']' || m < 3) {
			l.kind = KF_BAD;
			return l;
		}
		l.kind = KF_SECTION;
		l.name = p + 1;
		l.nlen = m - 2;
		return l;
	}
	eq = memchr(p, '=', m);
	if (!eq || eq == p) {
		l.kind = KF_BAD;
		return l;
	}
	l.kind = KF_KEY;
	l.name = p;
	l.nlen = (size_t)(eq - p);
	l.val = eq + 1;
	l.vlen = m - l.nlen - 1;
	text_trim(&l.name, &l.nlen);
	text_trim(&l.val, &l.vlen);
	return l;
}

/* What one profile holds. */
struct kf_info {
	bool bad, loopback, gw;
	const char *bad_line;
	size_t bad_len;
	struct net_dns dns;
};

static void kf_scan(const char *text, size_t len, struct kf_info *k)
{
	size_t pos = 0, n;
	const char *line, *sec = "";
	size_t seclen = 0;

	memset(k, 0, sizeof(*k));
	while (text_next_line(text, len, &pos, &line, &n)) {
		struct kf_line l = kf_parse(line, n);

		if (l.kind == KF_BAD) {
			k->bad = true;
			k->bad_line = line;
			k->bad_len = n;
			return;
		}
		if (l.kind == KF_SECTION) {
			sec = l.name;
			seclen = l.nlen;
		} else if (l.kind == KF_KEY && text_word_is(sec, seclen, "connection") &&
			   text_word_is(l.name, l.nlen, "type")) {
			k->loopback = text_word_is(l.val, l.vlen, "loopback");
		} else if (l.kind == KF_KEY && text_word_is(sec, seclen, "ipv4")) {
			if (text_word_is(l.name, l.nlen, "dns"))
				net_dns_add_servers(&k->dns, l.val, l.vlen);
			else if (text_word_is(l.name, l.nlen, "dns-search"))
				net_dns_add_search(&k->dns, l.val, l.vlen);
			else if (text_word_is(l.name, l.nlen, "gateway") && l.vlen)
				k->gw = true;
			else if (l.nlen > 7 && !memcmp(l.name, "address", 7) &&
				 memchr(l.val, ',', l.vlen))
				k->gw = true; /* address1=10.0.0.5/24,10.0.0.1 */
		}
	}
}

/* Calls fn for each profile that parses; notes the others (scan only). */
static int keyfile_each(struct net_state *s,
			int (*fn)(struct net_state *, const char *path, const char *name,
				  const char *text, size_t len, const struct kf_info *k))
{
	struct dirlist l;
	char path[320];
	int err = dirlist_read(s->c->g, NM_DIR, &l);

	if (err == -ENOENT || err == -ENOTDIR)
		return 0;
	if (err)
		return err;
	for (size_t i = 0; i < l.n && !err; i++) {
		struct kf_info k;
		char *text;
		size_t len;

		if (!keyfile_name(l.v[i].name) || GUEST_ISDIR(l.v[i].mode))
			continue;
		snprintf(path, sizeof(path), NM_DIR "/%s", l.v[i].name);
		err = net_read(s, path, &text, &len);
		if (err) {
			err = err == -ENOENT ? 0 : err;
			continue;
		}
		kf_scan(text, len, &k);
		if (k.bad)
			err = net_note(s, path, "line '%.*s' is not a keyfile line: left alone",
				       (int)(k.bad_len > 80 ? 80 : k.bad_len), k.bad_line);
		else if (!k.loopback)
			err = fn(s, path, l.v[i].name, text, len, &k);
		free(text);
	}
	dirlist_release(&l);
	return err;
}

static bool is_ours(const char *text)
{
	return !strncmp(text, NET_MARK, strlen(NET_MARK));
}

static int keyfile_scan_one(struct net_state *s, const char *path, const char *name,
			    const char *text, size_t len, const struct kf_info *k)
{
	(void)path;
	(void)name;
	(void)len;
	s->present[NET_KEYFILE] = true;
	net_dns_offer(s, &k->dns, is_ours(text), k->gw);
	return 0;
}

int net_keyfile_scan(struct net_state *s)
{
	return keyfile_each(s, keyfile_scan_one);
}

static bool is_false(const char *v, size_t n)
{
	return (n == 5 && !strncasecmp(v, "false", 5)) || (n == 2 && !strncasecmp(v, "no", 2)) ||
	       (n == 1 && v[0] == '0');
}

/* autoconnect=false in [connection], without interface-name there nor
 * mac-address anywhere: the profile stays for the admin, inert. The
 * autoconnect line goes after the section's last key, before the blank
 * lines and comments that lead to the next section. */
static int keyfile_disable_one(struct net_state *s, const char *path, const char *name,
			       const char *text, size_t len, const struct kf_info *k)
{
	struct strbuf out, held;
	size_t pos = 0, n;
	const char *line;
	bool in_conn = false, seen_auto = false, had_conn = false;
	int err = 0;

	(void)k;
	if (is_ours(text) || (s->eth0[NET_KEYFILE] && !strcmp(name, NM_OURS)))
		return 0;
	strbuf_init(&out);
	strbuf_init(&held);
	while (!err && text_next_line(text, len, &pos, &line, &n)) {
		struct kf_line l = kf_parse(line, n);

		if (l.kind == KF_SECTION) {
			if (in_conn && !seen_auto)
				err = strbuf_add(&out, "autoconnect=false\n", 18);
			if (!err)
				err = strbuf_add(&out, held.s ? held.s : "", held.len);
			held.len = 0;
			in_conn = text_word_is(l.name, l.nlen, "connection");
			had_conn |= in_conn;
		} else if (l.kind == KF_OTHER && in_conn) {
			err = strbuf_add(&held, line, n);
			if (!err)
				err = strbuf_add(&held, "\n", 1);
			continue;
		} else if (l.kind == KF_KEY) {
			if (text_word_is(l.name, l.nlen, "mac-address") ||
			    (in_conn && text_word_is(l.name, l.nlen, "interface-name")))
				continue;
			if (in_conn) {
				err = strbuf_add(&out, held.s ? held.s : "", held.len);
				held.len = 0;
			}
			if (!err && in_conn && text_word_is(l.name, l.nlen, "autoconnect")) {
				seen_auto = true;
				if (!is_false(l.val, l.vlen)) {
					err = strbuf_add(&out, "autoconnect=false\n", 18);
					continue;
				}
			}
		}
		if (!err)
			err = strbuf_add(&out, line, n);
		if (!err)
			err = strbuf_add(&out, "\n", 1);
	}
	if (!err && in_conn && !seen_auto)
		err = strbuf_add(&out, "autoconnect=false\n", 18);
	if (!err && !had_conn)
		err = strbuf_add(&out, "\n[connection]\nautoconnect=false\n", 32);
	if (!err)
		err = strbuf_add(&out, held.s ? held.s : "", held.len);
	/* a file without a final newline keeps it that way */
	if (!err && len && text[len - 1] != '\n' && out.len && out.s[out.len - 1] == '\n')
		out.s[--out.len] = '\0';
	if (!err)
		err = net_write(s, path, "disabled: no autoconnect, not bound to the old NIC", text,
				out.s, out.len, 0600);
	strbuf_release(&out);
	strbuf_release(&held);
	return err < 0 ? err : 0;
}

static int keyfile_text(struct net_state *s, struct strbuf *b)
{
	int err = strbuf_addf(b,
			      "%s\n[connection]\nid=eth0\nuuid=" NM_OURS_UUID
			      "\ntype=ethernet\ninterface-name=eth0\nautoconnect=true\n\n"
			      "[ethernet]\n\n[ipv4]\nmethod=auto\n",
			      NET_MARK);

	if (!err && s->dns.nservers) {
		err = strbuf_add(b, "dns=", 4);
		for (size_t i = 0; !err && i < s->dns.nservers; i++)
			err = strbuf_addf(b, "%s;", s->dns.servers[i]);
		if (!err)
			err = strbuf_add(b, "\n", 1);
	}
	if (!err && s->dns.search[0]) {
		err = strbuf_add(b, "dns-search=", 11);
		for (const char *p = s->dns.search; !err && *p;) {
			size_t n = strcspn(p, " ");

			err = strbuf_addf(b, "%.*s;", (int)n, p);
			p += n;
			p += *p == ' ';
		}
		if (!err)
			err = strbuf_add(b, "\n", 1);
	}
	/* the clouds in shared/seeds offer no IPv6: do not wait for it */
	if (!err)
		err = strbuf_add(b, "\n[ipv6]\nmethod=ignore\n", 22);
	return err;
}

int net_keyfile_apply(struct net_state *s)
{
	struct strbuf b;
	char *old = NULL;
	size_t len;
	int err = keyfile_each(s, keyfile_disable_one);

	if (err || !s->eth0[NET_KEYFILE])
		return err;
	if (!guest_exists(s->c->g, NM_DIR)) {
		err = guest_mkdir(s->c->g, NM_DIR, 0755);
		if (err)
			return err;
	}
	strbuf_init(&b);
	err = keyfile_text(s, &b);
	if (!err) {
		err = net_read(s, NM_DIR "/" NM_OURS, &old, &len);
		if (err == -ENOENT)
			err = 0;
	}
	/* NetworkManager ignores a keyfile others can read */
	if (!err)
		err = net_write(s, NM_DIR "/" NM_OURS, "eth0 by DHCP (NetworkManager profile)", old,
				b.s, b.len, 0600);
	free(old);
	strbuf_release(&b);
	return err < 0 ? err : 0;
}
