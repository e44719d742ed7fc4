/* The "hvtools" fix rule: the old hypervisor's guest tools are turned off
 * (Tencent's guide: "unmount the drivers and software that produce
 * conflicts, including VMware tools, Xen tools, Virtualbox GuestAdditions";
 * Hyper-V's daemons likewise). */
#include "fix/service.h"

#define RULE "hvtools"

/* The services each tool set installs. Some are started unconditionally
 * (vboxadd rebuilds its kernel modules at boot, xe-linux-distribution and
 * VMware's own vmware-tools script run on any hypervisor), the rest only
 * clutter a KVM guest's boot with failed or skipped units. */
static const char *const hv_services[] = {
	/* VMware: open-vm-tools on RHEL/SUSE (vmtoolsd, vgauthd) and on
	 * Debian/Ubuntu (open-vm-tools, vgauth); VMware Tools from
	 * vmware-install.pl (SysV vmware-tools, later systemd units). */
	"vmtoolsd",
	"vgauthd",
	"open-vm-tools",
	"vgauth",
	"vmware-tools",
	"vmware-tools-thinprint",
	"vmware-guestd",
	/* VirtualBox Guest Additions, from the .run installer or Debian's
	 * virtualbox-guest-utils. */
	"vboxadd",
	"vboxadd-service",
	"vboxadd-x11",
	"virtualbox-guest-utils",
	/* Citrix/XenServer xe-guest-utilities (xe-linux-distribution starts
	 * xe-daemon) and the older xe-guest-utilities script name. */
	"xe-linux-distribution",
	"xe-daemon",
	"xe-guest-utilities",
	/* Hyper-V's KVP, VSS and file-copy daemons: hyperv-daemons on
	 * Debian/Ubuntu (hv-*-daemon), hypervkvpd & co. on RHEL. On KVM they
	 * wait for a VMBus device that never comes, or fail. */
	"hv-kvp-daemon",
	"hv-vss-daemon",
	"hv-fcopy-daemon",
	"hypervkvpd",
	"hypervvssd",
	"hypervfcopyd",
};

int fix_hvtools(struct fix_ctx *c)
{
	for (size_t i = 0; i < sizeof(hv_services) / sizeof(hv_services[0]); i++) {
		int err = service_disable(c, RULE, hv_services[i]);

		if (err < 0)
			return err;
	}
	return 0;
}
