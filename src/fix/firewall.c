/* The "firewall" fix rule: the server's own packet filter is turned off, so
 * the cloud's security groups decide and the first SSH login is not locked
 * out by rules written for the old network (Alibaba: "a closed firewall"). */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fix/service.h"
#include "util/err.h"

#define RULE "firewall"
#define UFW_CONF "/etc/ufw/ufw.conf"

/* Every service that loads a rule set at boot, whatever the distribution:
 * firewalld (RHEL 7+, SLES 15), the iptables/ip6tables scripts and units
 * (RHEL 6, iptables-services), nftables (Debian 10+), ufw (Ubuntu),
 * SuSEfirewall2 (SLES 11/12: one unit, or the _init/_setup scripts) and
 * Debian's netfilter-persistent (formerly iptables-persistent). */
static const char *const firewall_services[] = {
	"firewalld",
	"iptables",
	"ip6tables",
	"nftables",
	"ufw",
	"SuSEfirewall2",
	"SuSEfirewall2_init",
	"SuSEfirewall2_setup",
	"netfilter-persistent",
	"iptables-persistent",
};

/* ufw's boot script (ufw-init) reads ENABLED from ufw.conf and loads no rule
 * unless it says yes, whoever starts it: turning it off here also covers a
 * ufw started by another unit or by hand. */
static int ufw_conf_off(struct fix_ctx *c)
{
	struct strbuf out;
	char *text, before[128];
	size_t len, pos = 0, n;
	const char *line;
	bool changed = false;
	int err;

	err = guest_read(c->g, UFW_CONF, 1 << 20, &text, &len);
	if (err == -ENOENT)
		return 0;
	if (err == -EFBIG || err == -EISDIR)
		return fix_note(c->rep, RULE, UFW_CONF, "not a ufw configuration: left alone");
	if (err)
		return err;
	strbuf_init(&out);
	while (!err && text_next_line(text, len, &pos, &line, &n)) {
		const char *key, *val;
		size_t klen, vlen;

		if (text_blank_or_comment(line, n)) {
			err = strbuf_add(&out, line, n);
		} else if (!text_split_assignment(line, n, &key, &klen, &val, &vlen)) {
			free(text);
			strbuf_release(&out);
			return fix_note(c->rep, RULE, UFW_CONF,
					"line '%.*s' is not KEY=VALUE: ufw.conf left alone", (int)n,
					line);
		} else if (klen == 7 && !strncmp(key, "ENABLED", 7) && vlen == 3 &&
			   !strncasecmp(val, "yes", 3)) {
			snprintf(before, sizeof(before), "%.*s", (int)n, line);
			err = strbuf_add(&out, "ENABLED=no", 10);
			changed = true;
		} else {
			err = strbuf_add(&out, line, n);
		}
		if (!err && line + n < text + len)
			err = strbuf_add(&out, "\n", 1);
	}
	if (!err && changed) {
		err = fix_write_if_changed(c, UFW_CONF, text, out.s, out.len);
		if (err > 0)
			err = fix_change(c->rep, RULE, UFW_CONF, "ufw turned off at boot", before,
					 "ENABLED=no");
	}
	free(text);
	strbuf_release(&out);
	return err < 0 ? err : 0;
}

int fix_firewall(struct fix_ctx *c)
{
	for (size_t i = 0; i < sizeof(firewall_services) / sizeof(firewall_services[0]); i++) {
		int err = service_disable(c, RULE, firewall_services[i]);

		if (err < 0)
			return err;
	}
	return ufw_conf_off(c);
}
