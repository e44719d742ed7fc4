/* The "hvtools" and "cloudinit" fix rules on copies of real servers:
 * VirtualBox Guest Additions (Debian 12), VMware Tools' SysV script
 * (CentOS 6), xe-guest-utilities (CentOS 7), open-vm-tools (RHEL 8) turned
 * off; cloud-init found on Ubuntu and noted as missing elsewhere. */
#include "fix_netlib.h"

#define SYSTEMD "/etc/systemd/system/"
#define WANTS SYSTEMD "multi-user.target.wants/"

static const char *const distros[] = {"debian12", "ubuntu2204", "centos6", "centos7",
				      "rhel8",	  "rhel9",	"sles15"};

static void run(struct fx_run *r, int (*rule)(struct fix_ctx *), const char *distro,
		const char *label, char *root, size_t rlen, size_t nchanges, size_t nnotes)
{
	fx_run_rule(r, rule, distro, label, "kvm", root, rlen, nchanges, nnotes);
}

static void test_hvtools(void)
{
	/* changes per distro, in the order of distros[] */
	static const size_t expect[] = {2, 0, 3, 1, 2, 0, 0};
	const struct fix_change *ch;
	struct fx_run r;
	char root[512], label[64];

	for (size_t i = 0; i < sizeof(distros) / sizeof(distros[0]); i++) {
		snprintf(label, sizeof(label), "hvtools-%s", distros[i]);
		run(&r, fix_hvtools, distros[i], label, root, sizeof(root), expect[i], 0);
		if (!strcmp(distros[i], "debian12")) {
			is_int(fx_kind(root, WANTS "vboxadd.service"), 0,
			       "debian12: vboxadd.service is off");
			is_int(fx_kind(root, WANTS "vboxadd-service.service"), 0,
			       "debian12: vboxadd-service.service is off");
			is_int(fx_kind(root, WANTS "cron.service"), 'l', "debian12: cron stays");
		} else if (!strcmp(distros[i], "centos6")) {
			is_str(fx_link(root, "/etc/rc.d/rc3.d/K08vmware-tools"),
			       "../init.d/vmware-tools",
			       "centos6: vmware-tools gets its stop link (chkconfig: 235 19 08)");
			ok(!fx_kind(root, "/etc/rc.d/rc2.d/S19vmware-tools") &&
				   !fx_kind(root, "/etc/rc.d/rc3.d/S19vmware-tools") &&
				   !fx_kind(root, "/etc/rc.d/rc5.d/S19vmware-tools"),
			   "centos6: no start link is left in rc2, rc3, rc5");
			is_str(fx_link(root, "/etc/rc.d/rc4.d/K08vmware-tools"),
			       "../init.d/vmware-tools", "centos6: rc4.d's stop link is as it was");
			is_str(fx_link(root, "/etc/rc.d/rc3.d/S08iptables"), "../init.d/iptables",
			       "centos6: the firewall is not this rule's business");
		} else if (!strcmp(distros[i], "centos7")) {
			is_int(fx_kind(root, WANTS "xe-linux-distribution.service"), 0,
			       "centos7: xe-linux-distribution is off");
			is_int(fx_kind(root, WANTS "firewalld.service"), 'l',
			       "centos7: other units stay");
		} else if (!strcmp(distros[i], "rhel8")) {
			is_int(fx_kind(root, WANTS "vmtoolsd.service"), 0, "rhel8: vmtoolsd is off");
			is_int(fx_kind(root, SYSTEMD "vmtoolsd.service.requires/vgauthd.service"), 0,
			       "rhel8: vgauthd (required by vmtoolsd) is off");
			ch = fx_change(&r.rep, SYSTEMD "vmtoolsd.service.requires/vgauthd.service", 0);
			ok(ch && !strcmp(ch->rule, "hvtools") && ch->before &&
				   !strcmp(ch->before, "/usr/lib/systemd/system/vgauthd.service"),
			   "rhel8: the change records the rule and the link's target");
		}
		fx_close(&r);
		fx_again(root, "kvm", fix_hvtools, label);
	}
}

/* Hyper-V's daemons, as hyperv-daemons (Debian) and hyperv-daemons
 * (RHEL, hypervkvpd...) enable them. */
static void test_hyperv(void)
{
	struct fx_run r;
	char root[512];

	fx_copy("debian12", "hyperv-debian12", root, sizeof(root));
	sh("cd '%s' && mkdir -p lib/systemd/system && for d in kvp vss fcopy; do "
	   "printf '[Unit]\\nDescription=Hyper-V %%s daemon\\n[Service]\\nExecStart=/usr/sbin/hv_%%s_daemon -n\\n"
	   "[Install]\\nWantedBy=multi-user.target\\n' $d $d >lib/systemd/system/hv-$d-daemon.service; "
	   "ln -s /lib/systemd/system/hv-$d-daemon.service etc/systemd/system/multi-user.target.wants/; done",
	   root);
	run(&r, fix_hvtools, NULL, "hyperv-debian12", root, sizeof(root), 5, 0);
	ok(!fx_kind(root, WANTS "hv-kvp-daemon.service") && !fx_kind(root, WANTS "hv-vss-daemon.service") &&
		   !fx_kind(root, WANTS "hv-fcopy-daemon.service"),
	   "debian12: hv-kvp, hv-vss and hv-fcopy daemons are off");
	fx_close(&r);

	fx_copy("rhel9", "hyperv-rhel9", root, sizeof(root));
	sh("cd '%s' && mkdir -p usr/lib/systemd/system etc/systemd/system/multi-user.target.wants && "
	   "printf '[Unit]\\nDescription=Hyper-V KVP daemon\\n[Service]\\nExecStart=/usr/sbin/hypervkvpd -n\\n"
	   "[Install]\\nWantedBy=multi-user.target\\n' >usr/lib/systemd/system/hypervkvpd.service && "
	   "ln -s /usr/lib/systemd/system/hypervkvpd.service etc/systemd/system/multi-user.target.wants/",
	   root);
	run(&r, fix_hvtools, NULL, "hyperv-rhel9", root, sizeof(root), 1, 0);
	is_int(fx_kind(root, WANTS "hypervkvpd.service"), 0, "rhel9: hypervkvpd is off");
	fx_close(&r);
}

static void test_cloudinit(void)
{
	struct fx_run r;
	char root[512], label[64];

	for (size_t i = 0; i < sizeof(distros) / sizeof(distros[0]); i++) {
		bool installed = !strcmp(distros[i], "ubuntu2204");
		char *before;

		snprintf(label, sizeof(label), "cloudinit-%s", distros[i]);
		fx_copy(distros[i], label, root, sizeof(root));
		before = fx_snapshot(root);
		run(&r, fix_cloudinit, NULL, label, root, sizeof(root), 0, installed ? 0 : 1);
		if (!installed)
			ok(r.rep.nnotes == 1 && !strcmp(r.rep.notes[0].rule, "cloudinit") &&
				   !strcmp(r.rep.notes[0].file, "/usr/bin/cloud-init") &&
				   strstr(r.rep.notes[0].text, "not installed"),
			   "%s: the note says cloud-init is not installed", distros[i]);
		fx_close(&r);
		{
			char *after = fx_snapshot(root);

			ok(before && after && !strcmp(before, after), "%s: nothing is changed", label);
			free(after);
		}
		free(before);
	}

	/* the program without its configuration */
	fx_copy("ubuntu2204", "cloudinit-nocfg", root, sizeof(root));
	sh("rm '%s/etc/cloud/cloud.cfg'", root);
	run(&r, fix_cloudinit, NULL, "cloudinit-nocfg", root, sizeof(root), 0, 1);
	ok(r.rep.nnotes == 1 && !strcmp(r.rep.notes[0].file, "/etc/cloud/cloud.cfg") &&
		   strstr(r.rep.notes[0].text, "configuration is missing"),
	   "cloudinit-nocfg: the note names the missing configuration");
	fx_close(&r);
}

int main(void)
{
	tap_plan(7 * 5 + 12 + 8 + 7 * 4 + 6 + 4);
	fx_init("fixhv");
	test_hvtools();
	test_hyperv();
	test_cloudinit();
	fx_cleanup();
	return tap_done();
}
