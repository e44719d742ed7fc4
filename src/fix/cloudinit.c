/* The "cloudinit" fix rule: Ferry cannot install cloud-init offline, so a
 * guest without it gets a note; the checks grade it per cloud (Tencent's
 * import fails with CloudInitNotInstalled, Huawei and Alibaba advise it). */
#include <stddef.h>

#include "fix/fix.h"

#define RULE "cloudinit"
#define CLOUD_CFG "/etc/cloud/cloud.cfg"

/* Where distribution packages (and a pip install) put the program. */
static const char *const cloudinit_bins[] = {
	"/usr/bin/cloud-init",
	"/usr/local/bin/cloud-init",
	"/bin/cloud-init",
};

int fix_cloudinit(struct fix_ctx *c)
{
	for (size_t i = 0; i < sizeof(cloudinit_bins) / sizeof(cloudinit_bins[0]); i++) {
		if (!guest_exists(c->g, cloudinit_bins[i]))
			continue;
		/* a package removed with its configuration kept away, or a
		 * half-finished manual install: the checks should not count it */
		if (!guest_exists(c->g, CLOUD_CFG))
			return fix_note(c->rep, RULE, CLOUD_CFG,
					"cloud-init is installed (%s) but its configuration is "
					"missing: it will not set up the instance",
					cloudinit_bins[i]);
		return 0;
	}
	return fix_note(c->rep, RULE, cloudinit_bins[0],
			"cloud-init is not installed: the cloud cannot set the password, SSH "
			"keys or host name at first boot; install it before migrating");
}
