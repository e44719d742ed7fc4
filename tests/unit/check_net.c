/* ferry check's network survey (check/net.c) on copies of real servers'
 * configurations (tests/samples): the NICs each format configures, IPv6
 * set up, configurations bound to a hardware address; severities per
 * cloud. Read through the directory backend: nothing is written. */
#include "fix_netlib.h"
#include "check/system.h"

/* The findings of check_network on the tree at root, as
 * "code:severity=text;". */
static const char *survey_at(const char *root, const char *cloud)
{
	static char out[2048];
	struct check_report r;
	struct stage s;

	memset(&s, 0, sizeof(s));
	out[0] = 0;
	if (guest_dir_open(&s.root, root)) {
		snprintf(out, sizeof(out), "cannot open %s", root);
		return out;
	}
	check_report_init(&r, cloud_profile(cloud));
	if (check_network(&s, &r))
		snprintf(out, sizeof(out), "error: %s", ferr_msg());
	for (size_t i = 0; i < r.n; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s:%s=%s;",
			 r.f[i].item->code, check_sev_name(r.f[i].sev), r.f[i].text);
	check_report_release(&r);
	guest_release(&s.root);
	return out;
}

static const char *survey(const char *distro, const char *cloud)
{
	char root[1024];

	snprintf(root, sizeof(root), "%s/%s", fx_samples(), distro);
	return survey_at(root, cloud);
}

/* A tree of its own with one file. */
static const char *one_file(const char *label, const char *path, const char *text,
			    const char *cloud)
{
	char root[512], full[1024];
	FILE *f;

	snprintf(root, sizeof(root), "%s/%s", fx_base, label);
	snprintf(full, sizeof(full), "%s%s", root, path);
	sh("mkdir -p \"$(dirname '%s')\"", full);
	f = fopen(full, "w");
	if (!f)
		return "cannot write";
	fputs(text, f);
	fclose(f);
	return survey_at(root, cloud);
}

int main(void)
{
	tap_plan(14);
	fx_init("check_net");
	is_str(survey("debian12", "tencent"), "net.multi:warning=2 NICs: enp3s0, enp4s0;",
	       "debian12: enp3s0 and enp4s0 (interfaces.d/storage)");
	is_str(survey("ubuntu2204", "tencent"),
	       "net.hwaddr:warning=/etc/netplan/00-installer-config.yaml: macaddress: "
	       "3c:ec:ef:4a:12:7e;", "ubuntu2204: netplan's match macaddress; no IPv6 (a route "
	       "and IPv4 addresses only)");
	is_str(survey("rhel9", "tencent"),
	       "net.hwaddr:warning=/etc/NetworkManager/system-connections/eno1.nmconnection: "
	       "mac-address=3C:EC:EF:8B:22:90;", "rhel9: the keyfile's mac-address; ipv6 "
	       "method=auto is not a configured address");
	is_str(survey("centos7", "tencent"),
	       "net.hwaddr:warning=/etc/sysconfig/network-scripts/ifcfg-em1: "
	       "HWADDR=B0:83:FE:6A:21:C4;", "centos7: em2 (ONBOOT=no, IPV6INIT=yes) counts for "
	       "nothing");
	is_str(survey("centos6", "tencent"),
	       "net.multi:warning=2 NICs: eth0, eth1;net.hwaddr:warning=/etc/sysconfig/"
	       "network-scripts/ifcfg-eth0: HWADDR=00:25:90:4A:BC:10;", "centos6: two NICs");
	is_str(survey("sles15", "tencent"), "net.multi:warning=2 NICs: eth0, eth1;",
	       "sles15: two NICs (STARTMODE=auto) for Tencent: a warning");
	is_str(survey("sles15", "kvm"), "net.multi:info=2 NICs: eth0, eth1;",
	       "sles15 for kvm: info");
	is_str(one_file("np6", "/etc/netplan/50.yaml",
			"network:\n  ethernets:\n    ens3:\n      addresses:\n      - 10.0.0.5/24\n"
			"      - 2001:db8::5/64\n      nameservers:\n        addresses:\n"
			"        - 2001:db8::53\n", "tencent"),
	       "net.ipv6:warning=/etc/netplan/50.yaml: - 2001:db8::5/64;",
	       "netplan: an interface's IPv6 address, not the nameserver's");
	is_str(one_file("np6dns", "/etc/netplan/50.yaml",
			"network:\n  ethernets:\n    ens3:\n      dhcp4: true\n      nameservers:\n"
			"        addresses: [2001:db8::53]\n", "tencent"), "",
	       "netplan: an IPv6 nameserver alone is not IPv6 set up");
	is_str(one_file("np6dhcp", "/etc/netplan/50.yaml",
			"network:\n  ethernets:\n    ens3:\n      dhcp6: true\n", "huawei"),
	       "net.ipv6:info=/etc/netplan/50.yaml: dhcp6: true;", "netplan dhcp6 for Huawei: info");
	is_str(one_file("kf6", "/etc/NetworkManager/system-connections/a.nmconnection",
			"[connection]\ninterface-name=ens3\n[ipv6]\nmethod=manual\n"
			"address1=2001:db8::7/64\n", "alibaba"),
	       "net.ipv6:warning=/etc/NetworkManager/system-connections/a.nmconnection: "
	       "method=manual;", "keyfile [ipv6] method=manual");
	is_str(one_file("if6", "/etc/network/interfaces",
			"auto lo\niface lo inet loopback\niface lo inet6 loopback\n"
			"iface ens3 inet6 static\n  address 2001:db8::9/64\n", "tencent"),
	       "net.ipv6:warning=/etc/network/interfaces: iface ens3 inet6 static;",
	       "ifupdown inet6 (lo's does not count)");
	is_str(one_file("mp", "/etc/network/interfaces",
			"iface ens3 inet dhcp\n#iface ens4 inet dhcp\n", "tencent"), "",
	       "a commented stanza is no NIC");
	is_str(one_file("ssu", "/etc/sysconfig/network/ifcfg-eth1",
			"STARTMODE='off'\nBOOTPROTO='dhcp'\nIPV6INIT=yes\n", "tencent"), "",
	       "SUSE STARTMODE=off: nothing at boot");
	fx_cleanup();
	return tap_done();
}
