/* The "firewall" fix rule on copies of real servers (Debian 12 nftables,
 * Ubuntu 22.04 ufw, CentOS 6 iptables SysV links, firewalld on CentOS 7,
 * RHEL 8/9 and SLES 15, SuSEfirewall2 on an older SUSE layout): the
 * firewall no longer starts, nothing else changes, a second run changes
 * nothing. */
#include "fix_netlib.h"

#define WANTS "/etc/systemd/system/multi-user.target.wants/"

static void run(struct fx_run *r, const char *distro, const char *label, char *root,
		size_t rlen, size_t nchanges, size_t nnotes)
{
	fx_run_rule(r, fix_firewall, distro, label, "kvm", root, rlen, nchanges, nnotes);
}

/* firewalld enabled the way systemctl enable does it: a wants link and the
 * D-Bus alias. */
static void test_firewalld(const char *distro)
{
	const struct fix_change *ch;
	struct fx_run r;
	char root[512];

	run(&r, distro, distro, root, sizeof(root), 2, 0);
	is_int(fx_kind(root, WANTS "firewalld.service"), 0, "%s: firewalld's wants link is gone",
	       distro);
	is_int(fx_kind(root, "/etc/systemd/system/dbus-org.fedoraproject.FirewallD1.service"), 0,
	       "%s: its D-Bus alias is gone", distro);
	ch = fx_change(&r.rep, WANTS "firewalld.service", 0);
	is_str(ch ? ch->before : NULL, "/usr/lib/systemd/system/firewalld.service",
	       "%s: the change records the link's target", distro);
	ok(ch && !ch->after && !strcmp(ch->rule, "firewall"), "%s: ... and no 'after'", distro);
	is_str(fx_link(root, WANTS "sshd.service"), "/usr/lib/systemd/system/sshd.service",
	       "%s: sshd stays enabled", distro);
	fx_close(&r);
	fx_again(root, "kvm", fix_firewall, distro);
}

static void test_debian12(void)
{
	struct fx_run r;
	char root[512];

	run(&r, "debian12", "debian12", root, sizeof(root), 1, 0);
	is_int(fx_kind(root, "/etc/systemd/system/sysinit.target.wants/nftables.service"), 0,
	       "debian12: nftables (wanted by sysinit.target) is off");
	is_str(fx_link(root, "/etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service"),
	       "/lib/systemd/system/systemd-timesyncd.service",
	       "debian12: other sysinit services stay");
	fx_close(&r);
	fx_again(root, "kvm", fix_firewall, "debian12");
}

static const char ufw_off[] =
	"# /etc/ufw/ufw.conf\n"
	"#\n"
	"\n"
	"# Set to yes to start on boot. If setting this remotely, be sure to add a rule\n"
	"# to allow your remote connection before starting ufw. Eg: 'ufw allow 22/tcp'\n"
	"ENABLED=no\n"
	"\n"
	"# Please use the 'ufw' command to set the loglevel. Eg: 'ufw logging medium'.\n"
	"# See 'man ufw' for details.\n"
	"LOGLEVEL=low\n";

static void test_ubuntu2204(void)
{
	const struct fix_change *ch;
	struct fx_run r;
	char root[512], path[600];
	FILE *f;

	run(&r, "ubuntu2204", "ubuntu2204", root, sizeof(root), 2, 0);
	is_str(fx_read(root, "/etc/ufw/ufw.conf"), ufw_off, "ubuntu2204: ufw.conf says ENABLED=no");
	ch = fx_change(&r.rep, "/etc/ufw/ufw.conf", 0);
	ok(ch && ch->before && ch->after && !strcmp(ch->before, "ENABLED=yes") &&
		   !strcmp(ch->after, "ENABLED=no"),
	   "ubuntu2204: the change is ENABLED=yes -> ENABLED=no");
	is_int(fx_kind(root, WANTS "ufw.service"), 0, "ubuntu2204: ufw.service's link is gone");
	is_int(fx_kind(root, WANTS "ssh.service"), 'l', "ubuntu2204: ssh stays");
	fx_close(&r);
	fx_again(root, "kvm", fix_firewall, "ubuntu2204");

	/* a ufw.conf Ferry does not understand stays as it is */
	fx_copy("ubuntu2204", "ubuntu-badufw", root, sizeof(root));
	snprintf(path, sizeof(path), "%s/etc/ufw/ufw.conf", root);
	f = fopen(path, "a");
	fputs("ENABLED yes\n", f);
	fclose(f);
	run(&r, NULL, "ubuntu-badufw", root, sizeof(root), 1, 1);
	ok(strstr(fx_read(root, "/etc/ufw/ufw.conf"), "\nENABLED=yes\n") != NULL,
	   "bad ufw.conf: left alone");
	ok(r.rep.nnotes == 1 && !strcmp(r.rep.notes[0].file, "/etc/ufw/ufw.conf") &&
		   strstr(r.rep.notes[0].text, "ENABLED yes"),
	   "bad ufw.conf: the note quotes the line");
	is_int(fx_kind(root, WANTS "ufw.service"), 0, "bad ufw.conf: the unit is still disabled");
	fx_close(&r);
}

static void test_centos6(void)
{
	const struct fix_change *ch;
	struct fx_run r;
	char root[512], dir[64], path[128];

	run(&r, "centos6", "centos6", root, sizeof(root), 8, 0);
	for (int n = 2; n <= 5; n++) {
		snprintf(dir, sizeof(dir), "/etc/rc.d/rc%d.d", n);
		snprintf(path, sizeof(path), "%s/S08iptables", dir);
		ok(fx_kind(root, path) == 0, "centos6: rc%d.d: no S08iptables", n);
		snprintf(path, sizeof(path), "%s/K92iptables", dir);
		is_str(fx_link(root, path), "../init.d/iptables",
		       "centos6: rc%d.d: K92iptables (chkconfig's stop priority)", n);
		snprintf(path, sizeof(path), "%s/S08ip6tables", dir);
		ok(fx_kind(root, path) == 0, "centos6: rc%d.d: no S08ip6tables", n);
		snprintf(path, sizeof(path), "%s/K92ip6tables", dir);
		is_str(fx_link(root, path), "../init.d/ip6tables", "centos6: rc%d.d: K92ip6tables", n);
		snprintf(path, sizeof(path), "%s/S10network", dir);
		is_str(fx_link(root, path), "../init.d/network", "centos6: rc%d.d: network stays", n);
	}
	is_str(fx_link(root, "/etc/rc.d/rc0.d/K92iptables"), "../init.d/iptables",
	       "centos6: rc0.d's stop link is as it was");
	is_str(fx_link(root, "/etc/rc3.d"), "rc.d/rc3.d", "centos6: /etc/rc3.d is still a link");
	ch = fx_change(&r.rep, "/etc/rc.d/rc3.d/S08iptables", 0);
	is_str(ch ? ch->before : NULL, "S08iptables -> ../init.d/iptables",
	       "centos6: the change records the start link");
	is_str(ch ? ch->after : NULL, "K92iptables -> ../init.d/iptables",
	       "centos6: ... and the stop link");
	ok(fx_change(&r.rep, "/etc/rc3.d/S08iptables", 0) == NULL,
	   "centos6: each link is changed once, not again through /etc/rc3.d");
	fx_close(&r);
	fx_again(root, "kvm", fix_firewall, "centos6");
}

/* SLES 12 and older: SuSEfirewall2 units; the script pair on SysV SUSE. */
static void test_susefirewall2(void)
{
	struct fx_run r;
	char root[512];

	fx_copy("sles15", "susefirewall2", root, sizeof(root));
	sh("cd '%s/etc/systemd/system' && mkdir -p basic.target.wants && "
	      "ln -s /usr/lib/systemd/system/SuSEfirewall2.service "
	      "multi-user.target.wants/SuSEfirewall2.service && "
	      "ln -s /usr/lib/systemd/system/SuSEfirewall2_init.service "
	      "basic.target.wants/SuSEfirewall2_init.service",
	      root);
	run(&r, NULL, "susefirewall2", root, sizeof(root), 4, 0);
	is_int(fx_kind(root, WANTS "SuSEfirewall2.service"), 0, "susefirewall2: the unit is off");
	is_int(fx_kind(root, "/etc/systemd/system/basic.target.wants/SuSEfirewall2_init.service"),
	       0, "susefirewall2: its early init unit is off");
	fx_close(&r);
	fx_again(root, "kvm", fix_firewall, "susefirewall2");
}

int main(void)
{
	tap_plan(7 + 15 + 30 + 4 * 10 + 7);
	fx_init("fixfw");
	test_debian12();
	test_ubuntu2204();
	test_centos6();
	test_firewalld("centos7");
	test_firewalld("rhel8");
	test_firewalld("rhel9");
	test_firewalld("sles15");
	test_susefirewall2();
	fx_cleanup();
	return tap_done();
}
