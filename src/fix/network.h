/* The "network" fix rule's parts: network.c decides and drives, one file per
 * family of configuration formats edits (network_ifcfg.c: Red Hat and SUSE
 * ifcfg; network_deb.c: ifupdown and netplan; network_nm.c: keyfiles;
 * network_networkd.c: systemd-networkd's .network files). */
#ifndef FERRY_FIX_NETWORK_H
#define FERRY_FIX_NETWORK_H

#include <stdbool.h>
#include <stddef.h>

#include "fix/fix.h"

#define NET_RULE "network"
/* The first line of every eth0 configuration Ferry writes: how a later run
 * recognizes its own file. */
#define NET_MARK "# eth0 by DHCP for the cloud's virtio NIC, written by ferry"
#define NET_MAX_FILE (1u << 20)

/* Resolver settings carried from the server's primary interface to eth0. */
struct net_dns {
	char servers[3][64]; /* resolv.conf uses three at most */
	size_t nservers;
	char search[256];    /* space-separated */
	/* The old LAN's own servers (private, link-local, loopback
	 * addresses): unreachable from the cloud, where DHCP gives its own,
	 * so they stay behind (space-separated, for the note). */
	char left[200];
};

enum net_fmt {
	NET_NETPLAN, NET_IFUPDOWN, NET_IFCFG_SUSE, NET_IFCFG_RHEL, NET_KEYFILE, NET_NETWORKD,
	NET_NFMT
};

struct net_state {
	struct fix_ctx *c;
	bool nm_off;              /* the profile turns NetworkManager off */
	bool nm_manages;          /* NetworkManager is on and stays on */
	bool present[NET_NFMT];   /* the format configures some interface */
	bool eth0[NET_NFMT];      /* write the eth0 configuration in it */
	char renderer[32];        /* netplan's renderer, from the files disabled */
	/* DNS: from a file of ours if there is one (a second run), else from
	 * the server's configuration that has the default gateway, else from
	 * the first that has any. */
	struct net_dns dns;
	bool dns_ours, dns_gw;
	bool applying; /* scan notes problems, apply does not repeat them */
	/* An ifupdown file is malformed or unreadable: ifupdown is left
	 * whole, since a second run would otherwise read the files the first
	 * changed and decide otherwise. */
	bool ifupdown_left;
};

/* Each format: scan (read only: presence, DNS; notes about malformed files)
 * then apply (disable the server's configurations, write eth0 if asked). */
int net_ifcfg_scan(struct net_state *s, enum net_fmt fmt);
int net_ifcfg_apply(struct net_state *s, enum net_fmt fmt);
/* Red Hat's /etc/sysconfig/network: no global static gateway. */
int net_rhel_sysconfig(struct net_state *s);
/* SUSE's /etc/sysconfig/network/routes: no static default route. */
int net_suse_routes(struct net_state *s);
int net_ifupdown_scan(struct net_state *s);
int net_ifupdown_apply(struct net_state *s);
int net_netplan_scan(struct net_state *s);
int net_netplan_apply(struct net_state *s);
int net_keyfile_scan(struct net_state *s);
int net_keyfile_apply(struct net_state *s);
int net_networkd_scan(struct net_state *s);
int net_networkd_apply(struct net_state *s);

/* Shared helpers (network.c). */

/* Reads a configuration file: 0, -ENOENT when missing or not a readable
 * regular file (a note is left for the latter), or another negative errno. */
int net_read(struct net_state *s, const char *path, char **text, size_t *len);
/* Writes new_text to path if it differs from old (NULL: a new file, created
 * with mode) and records the change with the lines that went and came.
 * Returns 1 when written, 0 when equal. */
int net_write(struct net_state *s, const char *path, const char *what, const char *old,
	      const char *new_text, size_t new_len, unsigned mode);
/* Leaves a note for the rule during the scan (once per problem). */
int net_note(struct net_state *s, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Offers the DNS settings found in one configuration (see net_state). */
void net_dns_offer(struct net_state *s, const struct net_dns *d, bool ours, bool has_gw);
/* Adds the whitespace-, comma- or semicolon-separated items of list. */
void net_dns_add_servers(struct net_dns *d, const char *list, size_t len);
void net_dns_add_search(struct net_dns *d, const char *list, size_t len);
#endif
