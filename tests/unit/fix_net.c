/* The "network" fix rule on copies of real servers' configurations (Debian
 * 12, Ubuntu 22.04, CentOS 6 and 7, RHEL 8 and 9, SLES 15): eth0 by DHCP in
 * each format, the old NICs disabled, persistent-net rules gone, the
 * NetworkManager policy per cloud, malformed files left alone, and a second
 * run that changes nothing. */
#include "fix_netlib.h"

#define MARK "# eth0 by DHCP for the cloud's virtio NIC, written by ferry\n"

/* Runs the rule on a fresh copy of distro; checks it succeeded with
 * nchanges changes and nnotes notes (3 tests). */
static void run(struct fx_run *r, const char *distro, const char *label, const char *cloud,
		char *root, size_t rlen, size_t nchanges, size_t nnotes)
{
	/* fx_copy(NULL, ...) makes an empty tree: here every case starts fresh. */
	if (!distro)
		fx_copy(NULL, label, root, rlen);
	fx_run_rule(r, fix_network, distro, label, cloud, root, rlen, nchanges, nnotes);
}

static void test_debian12(void)
{
	const struct fix_change *ch;
	struct fx_run r;
	char root[512];

	run(&r, "debian12", "debian12", "kvm", root, sizeof(root), 2, 1);
	is_str(fx_read(root, "/etc/network/interfaces"),
	       "# This file describes the network interfaces available on your system\n"
	       "# and how to activate them. For more information, see interfaces(5).\n"
	       "\n"
	       "source /etc/network/interfaces.d/*\n"
	       "\n"
	       "# The loopback network interface\n"
	       "auto lo\n"
	       "iface lo inet loopback\n"
	       "\n"
	       "# The primary network interface\n"
	       "#allow-hotplug enp3s0\n"
	       "#iface enp3s0 inet static\n"
	       "#\taddress 192.168.1.20/24\n"
	       "#\tgateway 192.168.1.1\n"
	       "\t# dns-* options are implemented by the resolvconf package, if installed\n"
	       "#\tdns-nameservers 192.168.1.1 192.168.1.2\n"
	       "#\tdns-search example.com\n"
	       "\n" MARK "auto eth0\n"
	       "iface eth0 inet dhcp\n"
	       "\tdns-search example.com\n",
	       "debian12: enp3s0 commented out, eth0 by DHCP with the server's search domain");
	ok(r.rep.nnotes == 1 && strstr(r.rep.notes[0].text, "(192.168.1.1 192.168.1.2) are not carried"),
	   "debian12: the note says the LAN's resolvers stay behind");
	is_str(fx_read(root, "/etc/network/interfaces.d/storage"),
	       "# Storage network on the second port (jumbo frames, no gateway)\n"
	       "#auto enp4s0\n"
	       "#iface enp4s0 inet static\n"
	       "#\taddress 10.10.0.20/24\n"
	       "#\tmtu 9000\n",
	       "debian12: the second NIC in interfaces.d is disabled too");
	ch = fx_change(&r.rep, "/etc/network/interfaces", 0);
	ok(ch && ch->before && strstr(ch->before, "iface enp3s0 inet static") && ch->after &&
		   strstr(ch->after, "iface eth0 inet dhcp"),
	   "debian12: the change shows the old stanza and the new one");
	is_str(fx_link(root, "/etc/systemd/system/multi-user.target.wants/networking.service"),
	       "/lib/systemd/system/networking.service", "debian12: ifupdown stays enabled");
	fx_close(&r);
	fx_again(root, "kvm", fix_network, "debian12");
}

static void test_ubuntu2204(void)
{
	const struct fix_change *ch;
	struct fx_run r;
	char root[512], orig[600];

	run(&r, "ubuntu2204", "ubuntu2204", "kvm", root, sizeof(root), 2, 1);
	is_int(fx_kind(root, "/etc/netplan/00-installer-config.yaml"), 0,
	       "ubuntu2204: the static netplan file is gone from *.yaml");
	snprintf(orig, sizeof(orig), "%s/ubuntu2204", fx_samples());
	{
		char *want = strdup(fx_read(orig, "/etc/netplan/00-installer-config.yaml"));

		is_str(fx_read(root, "/etc/netplan/00-installer-config.yaml.ferry-disabled"), want,
		       "ubuntu2204: ... and kept, unchanged, as .yaml.ferry-disabled");
		free(want);
	}
	is_str(fx_read(root, "/etc/netplan/01-ferry-eth0.yaml"),
	       MARK "network:\n"
		    "  version: 2\n"
		    "  ethernets:\n"
		    "    eth0:\n"
		    "      dhcp4: true\n"
		    "      nameservers:\n"
		    "        search: [corp.example.com]\n",
	       "ubuntu2204: eth0 by DHCP, no macaddress match, the server's search domain");
	is_int(fx_mode(root, "/etc/netplan/01-ferry-eth0.yaml"), 0600,
	       "ubuntu2204: the netplan file is 0600");
	ch = fx_change(&r.rep, "/etc/netplan/00-installer-config.yaml", 0);
	is_str(ch ? ch->after : NULL, "/etc/netplan/00-installer-config.yaml.ferry-disabled",
	       "ubuntu2204: the rename is recorded");
	ch = fx_change(&r.rep, "/etc/netplan/01-ferry-eth0.yaml", 0);
	ok(ch && !ch->before && ch->after && strstr(ch->after, "dhcp4: true"),
	   "ubuntu2204: the new file is recorded with no 'before'");
	fx_close(&r);
	fx_again(root, "kvm", fix_network, "ubuntu2204");
}

static void test_centos6(void)
{
	const struct fix_change *ch;
	struct fx_run r;
	char root[512];

	run(&r, "centos6", "centos6", "kvm", root, sizeof(root), 4, 1);
	is_str(fx_read(root, "/etc/sysconfig/network-scripts/ifcfg-eth0"),
	       MARK "DEVICE=eth0\nBOOTPROTO=dhcp\nONBOOT=yes\nTYPE=Ethernet\n"
		    "DOMAIN=corp.example.com\n",
	       "centos6: ifcfg-eth0 by DHCP without HWADDR, IPADDR, UUID");
	ch = fx_change(&r.rep, "/etc/sysconfig/network-scripts/ifcfg-eth0", 0);
	ok(ch && ch->before && strstr(ch->before, "HWADDR=00:25:90:4A:BC:10") &&
		   strstr(ch->before, "IPADDR=192.168.10.21") && ch->after &&
		   strstr(ch->after, "BOOTPROTO=dhcp"),
	   "centos6: the eth0 change names the dropped HWADDR and IPADDR");
	is_str(fx_read(root, "/etc/sysconfig/network-scripts/ifcfg-eth1"),
	       "DEVICE=eth1\nHWADDR=00:25:90:4A:BC:11\nTYPE=Ethernet\n"
	       "UUID=9a0d2c47-5e1b-4b8f-a6d3-7c4e1f2b8d95\nONBOOT=no\nNM_CONTROLLED=yes\n"
	       "BOOTPROTO=none\nIPADDR=10.10.0.21\nPREFIX=24\nDEFROUTE=no\n"
	       "IPV4_FAILURE_FATAL=yes\nIPV6INIT=no\nNAME=\"System eth1\"\n",
	       "centos6: eth1 is not brought up (ONBOOT=no in place)");
	ch = fx_change(&r.rep, "/etc/sysconfig/network-scripts/ifcfg-eth1", 0);
	ok(ch && ch->before && ch->after && !strcmp(ch->before, "ONBOOT=yes") &&
		   !strcmp(ch->after, "ONBOOT=no"),
	   "centos6: the eth1 change is ONBOOT=yes -> ONBOOT=no");
	ok(strstr(fx_read(root, "/etc/sysconfig/network-scripts/ifcfg-lo"), "ONBOOT=yes") != NULL,
	   "centos6: the loopback is kept");
	is_str(fx_read(root, "/etc/sysconfig/network"),
	       "NETWORKING=yes\nHOSTNAME=db01.corp.example.com\n#GATEWAY=192.168.10.1\n",
	       "centos6: the global static gateway is commented out");
	is_int(fx_kind(root, "/etc/udev/rules.d/70-persistent-net.rules"), 0,
	       "centos6: 70-persistent-net.rules is removed");
	is_int(fx_kind(root, "/etc/udev/rules.d/70-persistent-cd.rules"), 'f',
	       "centos6: 70-persistent-cd.rules is not a network rule and stays");
	ch = fx_change(&r.rep, "/etc/udev/rules.d/70-persistent-net.rules", 0);
	ok(ch && !ch->before && !ch->after, "centos6: the removal is recorded");
	is_str(fx_link(root, "/etc/rc.d/rc3.d/S10network"), "../init.d/network",
	       "centos6: the network service stays on");
	fx_close(&r);
	fx_again(root, "kvm", fix_network, "centos6");
}

static const char centos7_eth0[] = MARK "DEVICE=eth0\nBOOTPROTO=dhcp\nONBOOT=yes\nTYPE=Ethernet\n";

static void test_centos7(void)
{
	struct fx_run r;
	char root[512], want[512];

	run(&r, "centos7", "centos7", "kvm", root, sizeof(root), 2, 1);
	snprintf(want, sizeof(want), "%sDOMAIN=example.com\n", centos7_eth0);
	is_str(fx_read(root, "/etc/sysconfig/network-scripts/ifcfg-eth0"), want,
	       "centos7: ifcfg-eth0 is created, the search domain from em1");
	is_int(fx_mode(root, "/etc/sysconfig/network-scripts/ifcfg-eth0"), 0644,
	       "centos7: ifcfg-eth0 is 0644");
	ok(strstr(fx_read(root, "/etc/sysconfig/network-scripts/ifcfg-em1"), "\nONBOOT=no\n") &&
		   !strstr(fx_read(root, "/etc/sysconfig/network-scripts/ifcfg-em1"), "ONBOOT=yes"),
	   "centos7: em1 (static, biosdevname) is not brought up");
	ok(fx_change(&r.rep, "/etc/sysconfig/network-scripts/ifcfg-em2", 0) == NULL,
	   "centos7: em2 was already ONBOOT=no: no change");
	ok(fx_change(&r.rep, "/etc/sysconfig/network-scripts/ifcfg-lo", 0) == NULL,
	   "centos7: the loopback is not touched");
	is_str(fx_read(root, "/etc/sysconfig/network"), "# Created by anaconda\n",
	       "centos7: /etc/sysconfig/network had no gateway and is unchanged");
	is_int(fx_kind(root, "/etc/udev/rules.d/70-persistent-ipoib.rules"), 'f',
	       "centos7: the InfiniBand naming rules stay");
	is_str(fx_link(root, "/etc/systemd/system/multi-user.target.wants/NetworkManager.service"),
	       "/usr/lib/systemd/system/NetworkManager.service",
	       "centos7 kvm: NetworkManager stays on");
	fx_close(&r);
	fx_again(root, "kvm", fix_network, "centos7");

	/* Alibaba: NetworkManager off, the network scripts take over */
	run(&r, "centos7", "centos7-alibaba", "alibaba", root, sizeof(root), 6, 1);
	snprintf(want, sizeof(want), "%sNM_CONTROLLED=no\nDOMAIN=example.com\n", centos7_eth0);
	is_str(fx_read(root, "/etc/sysconfig/network-scripts/ifcfg-eth0"), want,
	       "centos7 alibaba: ifcfg-eth0 says NM_CONTROLLED=no");
	is_int(fx_kind(root, "/etc/systemd/system/multi-user.target.wants/NetworkManager.service"),
	       0, "centos7 alibaba: NetworkManager's wants link is gone");
	is_int(fx_kind(root, "/etc/systemd/system/dbus-org.freedesktop.NetworkManager.service"), 0,
	       "centos7 alibaba: its D-Bus alias is gone");
	is_int(fx_kind(root, "/etc/systemd/system/network-online.target.wants/"
			     "NetworkManager-wait-online.service"),
	       0, "centos7 alibaba: wait-online (which requires NetworkManager) is off");
	is_int(fx_kind(root, "/etc/systemd/system/dbus-org.freedesktop.nm-dispatcher.service"), 0,
	       "centos7 alibaba: the dispatcher alias is gone");
	is_str(fx_link(root, "/etc/rc.d/rc3.d/S10network"), "../init.d/network",
	       "centos7 alibaba: the network service starts at boot");
	is_int(fx_kind(root, "/etc/systemd/system/multi-user.target.wants/sshd.service"), 'l',
	       "centos7 alibaba: other services are untouched");
	fx_close(&r);
	fx_again(root, "alibaba", fix_network, "centos7 alibaba");
}

/* systemd-networkd: the server's .network file renamed out of the way, an
 * eth0 DHCP file in its place. */
static void test_networkd(void)
{
	struct fx_run r;
	char root[512];

	fx_copy(NULL, "networkd", root, sizeof(root));
	sh("cd '%s' && mkdir -p etc/systemd/network etc/systemd/system/multi-user.target.wants "
	   "lib/systemd/system && printf '[Unit]\\nDescription=networkd\\n[Install]\\n"
	   "WantedBy=multi-user.target\\n' >lib/systemd/system/systemd-networkd.service && "
	   "ln -s /lib/systemd/system/systemd-networkd.service "
	   "etc/systemd/system/multi-user.target.wants/ && printf '[Match]\\nName=lo\\n' "
	   ">etc/systemd/network/05-lo.network && printf '[Match]\\nName = enp3s0\\n\\n"
	   "[Network]\\nAddress=192.168.1.20/24\\nGateway=192.168.1.1\\nDNS=1.1.1.1\\n"
	   "DNS=192.168.1.1\\nDomains=example.com\\n' >etc/systemd/network/20-wired.network",
	   root);
	fx_run_rule(&r, fix_network, NULL, "networkd", "kvm", root, sizeof(root), 2, 1);
	is_str(fx_read(root, "/etc/systemd/network/10-ferry-eth0.network"),
	       MARK "[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\nDNS=1.1.1.1\nDomains=example.com\n",
	       "networkd: eth0 by DHCP, the public resolver and the search domain");
	is_int(fx_kind(root, "/etc/systemd/network/20-wired.network"), 0,
	       "networkd: the static enp3s0 file is out of networkd's way");
	is_int(fx_kind(root, "/etc/systemd/network/20-wired.network.ferry-disabled"), 'f',
	       "networkd: ... kept as .network.ferry-disabled");
	is_int(fx_kind(root, "/etc/systemd/network/05-lo.network"), 'f',
	       "networkd: the loopback's file stays");
	fx_close(&r);
	fx_again(root, "kvm", fix_network, "networkd");
}

/* A public resolver still moves to eth0; the LAN's own stays behind. */
static void test_public_dns(void)
{
	struct fx_run r;
	char root[512], want[512];

	fx_copy("centos7", "centos7-publicdns", root, sizeof(root));
	sh("sed -i 's/^DNS1=.*/DNS1=9.9.9.9\\nDNS2=10.20.30.2/' "
	   "'%s/etc/sysconfig/network-scripts/ifcfg-em1'", root);
	fx_run_rule(&r, fix_network, NULL, "centos7-publicdns", "kvm", root, sizeof(root), 2, 1);
	snprintf(want, sizeof(want), "%sDNS1=9.9.9.9\nDOMAIN=example.com\n", centos7_eth0);
	is_str(fx_read(root, "/etc/sysconfig/network-scripts/ifcfg-eth0"), want,
	       "centos7: a public resolver (9.9.9.9) moves to eth0");
	ok(r.rep.nnotes == 1 && strstr(r.rep.notes[0].text, "(10.20.30.2) are not carried"),
	   "centos7: ... the LAN's (10.20.30.2) stays behind, with a note");
	fx_close(&r);
}

static void test_rhel8(void)
{
	struct fx_run r;
	char root[512];
	const char *want = MARK "DEVICE=eth0\nBOOTPROTO=dhcp\nONBOOT=yes\nTYPE=Ethernet\n"
				"DOMAIN=\"lab.example.com example.com\"\n";

	run(&r, "rhel8", "rhel8", "kvm", root, sizeof(root), 2, 1);
	is_str(fx_read(root, "/etc/sysconfig/network-scripts/ifcfg-eth0"), want,
	       "rhel8: ifcfg-eth0 (read by NetworkManager's ifcfg-rh), quoted search list");
	ok(strstr(fx_read(root, "/etc/sysconfig/network-scripts/ifcfg-ens192"), "\nONBOOT=no\n") !=
		   NULL,
	   "rhel8: ens192 is not brought up");
	is_int(fx_kind(root, "/etc/NetworkManager"), 0,
	       "rhel8: no keyfile beside ifcfg-eth0 (one profile for eth0)");
	fx_close(&r);
	fx_again(root, "kvm", fix_network, "rhel8");

	/* RHEL 8 without the network-scripts package: nothing could replace
	 * NetworkManager, so even Alibaba's profile keeps it */
	run(&r, "rhel8", "rhel8-alibaba", "alibaba", root, sizeof(root), 2, 1);
	is_str(fx_read(root, "/etc/sysconfig/network-scripts/ifcfg-eth0"), want,
	       "rhel8 alibaba: the same ifcfg-eth0");
	is_int(fx_kind(root, "/etc/systemd/system/multi-user.target.wants/NetworkManager.service"),
	       'l', "rhel8 alibaba: NetworkManager stays (no legacy scripts)");
	fx_close(&r);
}

static void test_rhel9(void)
{
	const struct fix_change *ch;
	struct fx_run r;
	char root[512];
	const char *dir = "/etc/NetworkManager/system-connections";
	char path[256];

	run(&r, "rhel9", "rhel9", "kvm", root, sizeof(root), 2, 1);
	snprintf(path, sizeof(path), "%s/eno1.nmconnection", dir);
	is_str(fx_read(root, path),
	       "[connection]\nid=eno1\nuuid=6d1c8e3f-0a2b-4c5d-8e9f-1a2b3c4d5e6f\ntype=ethernet\n"
	       "autoconnect-priority=-999\ntimestamp=1712054400\nautoconnect=false\n\n"
	       "[ethernet]\n\n"
	       "[ipv4]\naddress1=10.1.4.25/24,10.1.4.1\ndns=10.1.4.2;10.1.4.3;\n"
	       "dns-search=example.org;\nmethod=manual\n\n"
	       "[ipv6]\naddr-gen-mode=eui64\nmethod=auto\n\n[proxy]\n",
	       "rhel9: eno1 no longer autoconnects nor names the NIC or its MAC");
	ch = fx_change(&r.rep, path, 0);
	is_str(ch ? ch->before : NULL, "interface-name=eno1\nmac-address=3C:EC:EF:8B:22:90",
	       "rhel9: the change shows what was dropped");
	is_str(ch ? ch->after : NULL, "autoconnect=false", "rhel9: ... and what was added");
	snprintf(path, sizeof(path), "%s/eth0.nmconnection", dir);
	is_str(fx_read(root, path),
	       MARK "[connection]\nid=eth0\nuuid=4b0f6b1e-7c3a-4d2e-9f58-2a6c1d8e0b73\n"
		    "type=ethernet\ninterface-name=eth0\nautoconnect=true\n\n[ethernet]\n\n"
		    "[ipv4]\nmethod=auto\ndns-search=example.org;\n\n"
		    "[ipv6]\nmethod=ignore\n",
	       "rhel9: an eth0 DHCP keyfile for NetworkManager");
	is_int(fx_mode(root, path), 0600, "rhel9: the keyfile is 0600 (NetworkManager insists)");
	is_int(fx_kind(root, "/etc/sysconfig/network-scripts/ifcfg-eth0"), 0,
	       "rhel9: no ifcfg file where NetworkManager keeps keyfiles");
	fx_close(&r);
	fx_again(root, "kvm", fix_network, "rhel9");
}

static void test_sles15(void)
{
	struct fx_run r;
	char root[512];

	run(&r, "sles15", "sles15", "kvm", root, sizeof(root), 3, 0);
	is_str(fx_read(root, "/etc/sysconfig/network/ifcfg-eth0"),
	       MARK "BOOTPROTO='dhcp'\nSTARTMODE='auto'\n", "sles15: ifcfg-eth0 by DHCP, SUSE style");
	ok(strstr(fx_read(root, "/etc/sysconfig/network/ifcfg-eth1"), "\nSTARTMODE='off'\n") &&
		   !strstr(fx_read(root, "/etc/sysconfig/network/ifcfg-eth1"), "'auto'"),
	   "sles15: eth1 is STARTMODE='off'");
	ok(strstr(fx_read(root, "/etc/sysconfig/network/ifcfg-lo"), "STARTMODE=nfsroot") != NULL,
	   "sles15: the loopback is kept");
	is_str(fx_read(root, "/etc/sysconfig/network/routes"), "#default 192.168.30.1 - -\n",
	       "sles15: the static default route is commented out");
	is_str(fx_link(root, "/etc/systemd/system/network.service"),
	       "/usr/lib/systemd/system/wicked.service", "sles15: wicked stays the network service");
	is_int(fx_kind(root, "/etc/NetworkManager"), 0, "sles15: no NetworkManager keyfile");
	fx_close(&r);
	fx_again(root, "kvm", fix_network, "sles15");
}

/* Files Ferry does not understand are left as they are, with a note. */
static void test_malformed(void)
{
	struct fx_run r;
	char root[512], *before;
	FILE *f;
	char path[600];

	/* an ifcfg line that is not KEY=VALUE */
	fx_copy("centos7", "bad-ifcfg", root, sizeof(root));
	snprintf(path, sizeof(path), "%s/etc/sysconfig/network-scripts/ifcfg-em1", root);
	f = fopen(path, "a");
	fputs("this is not an assignment\n", f);
	fclose(f);
	before = strdup(fx_read(root, "/etc/sysconfig/network-scripts/ifcfg-em1"));
	fx_open(&r, root, "kvm");
	is_int(fix_network(&r.c), 0, "bad ifcfg: the rule still runs");
	is_str(fx_read(root, "/etc/sysconfig/network-scripts/ifcfg-em1"), before,
	       "bad ifcfg: the file is left alone");
	ok(r.rep.nnotes == 1 && strstr(r.rep.notes[0].text, "not KEY=VALUE") &&
		   !strcmp(r.rep.notes[0].file, "/etc/sysconfig/network-scripts/ifcfg-em1"),
	   "bad ifcfg: a note names the file");
	is_int(fx_kind(root, "/etc/sysconfig/network-scripts/ifcfg-eth0"), 'f',
	       "bad ifcfg: eth0 is still written (ifcfg-em2 shows the format in use)");
	free(before);
	fx_close(&r);

	/* netplan with a tab in its indentation */
	fx_copy("ubuntu2204", "bad-netplan", root, sizeof(root));
	snprintf(path, sizeof(path), "%s/etc/netplan/00-installer-config.yaml", root);
	f = fopen(path, "a");
	fputs("\tversion: 2\n", f);
	fclose(f);
	fx_open(&r, root, "kvm");
	is_int(fix_network(&r.c), 0, "bad netplan: the rule still runs");
	is_int(fx_kind(root, "/etc/netplan/00-installer-config.yaml"), 'f',
	       "bad netplan: the file is not renamed");
	ok(r.rep.nnotes == 1 && strstr(r.rep.notes[0].text, "tab"),
	   "bad netplan: a note says why");
	fx_close(&r);

	/* a keyfile line that is neither a section nor key=value */
	fx_copy("rhel9", "bad-keyfile", root, sizeof(root));
	snprintf(path, sizeof(path), "%s/etc/NetworkManager/system-connections/eno1.nmconnection",
		 root);
	f = fopen(path, "a");
	fputs("garbage\n", f);
	fclose(f);
	before = strdup(fx_read(root, "/etc/NetworkManager/system-connections/eno1.nmconnection"));
	fx_open(&r, root, "kvm");
	is_int(fix_network(&r.c), 0, "bad keyfile: the rule still runs");
	is_str(fx_read(root, "/etc/NetworkManager/system-connections/eno1.nmconnection"), before,
	       "bad keyfile: the profile is left alone");
	is_int(r.rep.nnotes, 1, "bad keyfile: one note");
	free(before);
	fx_close(&r);

	/* an ifupdown option outside any stanza */
	fx_copy("debian12", "bad-interfaces", root, sizeof(root));
	snprintf(path, sizeof(path), "%s/etc/network/interfaces", root);
	f = fopen(path, "w");
	fputs("address 192.168.1.20/24\nauto lo\niface lo inet loopback\n", f);
	fclose(f);
	fx_open(&r, root, "kvm");
	is_int(fix_network(&r.c), 0, "bad interfaces: the rule still runs");
	is_str(fx_read(root, "/etc/network/interfaces"),
	       "address 192.168.1.20/24\nauto lo\niface lo inet loopback\n",
	       "bad interfaces: the file is left alone");
	ok(r.rep.nnotes >= 1 && strstr(r.rep.notes[0].text, "outside any stanza"),
	   "bad interfaces: a note says why");
	/* found by the network fuzz target: the first run disabled the
	 * stanzas of interfaces.d, so the second found no ifupdown in use and
	 * configured another format */
	ok(strstr(fx_read(root, "/etc/network/interfaces.d/storage"), "\niface enp4s0 inet static") !=
	   NULL, "bad interfaces: interfaces.d is left alone too");
	ok(r.rep.nchanges == 0 && r.rep.nnotes == 2 &&
	   strstr(r.rep.notes[1].text, "eth0 is not configured there"),
	   "bad interfaces: no change, and a note that eth0 is not configured");
	fx_close(&r);
	fx_again(root, "kvm", fix_network, "bad interfaces");

	/* wicked goes by the file name: ifcfg-eth1 saying DEVICE=eth0 is eth1's */
	fx_copy("sles15", "suse-device", root, sizeof(root));
	snprintf(path, sizeof(path), "%s/etc/sysconfig/network/ifcfg-eth0", root);
	unlink(path);
	snprintf(path, sizeof(path), "%s/etc/sysconfig/network/ifcfg-eth1", root);
	f = fopen(path, "a");
	fputs("DEVICE=eth0\n", f);
	fclose(f);
	fx_open(&r, root, "kvm");
	is_int(fix_network(&r.c), 0, "SUSE, DEVICE=eth0 in ifcfg-eth1: the rule runs");
	ok(strstr(fx_read(root, "/etc/sysconfig/network/ifcfg-eth1"), "STARTMODE='off'") &&
	   strstr(fx_read(root, "/etc/sysconfig/network/ifcfg-eth0"), "BOOTPROTO='dhcp'"),
	   "SUSE: ifcfg-eth1 is turned off, eth0 gets ifcfg-eth0");
	fx_close(&r);
	fx_again(root, "kvm", fix_network, "SUSE, DEVICE=eth0 in ifcfg-eth1");
}

/* Older interfaces(5) styles: one auto line for several interfaces, DHCP
 * without indentation, no interfaces.d. */
static void test_ifupdown_styles(void)
{
	struct fx_run r;
	char root[512];

	fx_copy("debian12", "ifupdown-styles", root, sizeof(root));
	sh("rm -r '%s/etc/network/interfaces.d' && printf 'auto lo enp3s0\niface lo inet "
	      "loopback\niface enp3s0 inet dhcp\nhostname db01\n' > '%s/etc/network/interfaces'",
	      root, root);
	fx_open(&r, root, "kvm");
	is_int(fix_network(&r.c), 0, "ifupdown styles: the rule runs");
	is_str(fx_read(root, "/etc/network/interfaces"),
	       "auto lo\n#auto lo enp3s0\niface lo inet loopback\n#iface enp3s0 inet dhcp\n"
	       "#hostname db01\n\n" MARK "auto eth0\niface eth0 inet dhcp\n",
	       "ifupdown styles: lo kept from the shared auto line, enp3s0 off");
	is_int(r.rep.nchanges, 1, "ifupdown styles: one change");
	fx_close(&r);
	fx_again(root, "kvm", fix_network, "ifupdown styles");
}

/* A tree with no network configuration at all: not an error. */
static void test_empty(void)
{
	struct fx_run r;
	char root[512];

	run(&r, NULL, "empty", "kvm", root, sizeof(root), 0, 1);
	ok(r.rep.nnotes == 1 && strstr(r.rep.notes[0].text, "eth0 is not configured"),
	   "empty: the note says eth0 is not configured");
	fx_close(&r);
}

int main(void)
{
	tap_plan(140);
	fx_init("fixnet");
	test_debian12();
	test_ubuntu2204();
	test_centos6();
	test_centos7();
	test_public_dns();
	test_networkd();
	test_rhel8();
	test_rhel9();
	test_sles15();
	test_malformed();
	test_ifupdown_styles();
	test_empty();
	fx_cleanup();
	return tap_done();
}
