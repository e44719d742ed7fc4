/* The network rule (fix/network*.c: ifcfg, netplan, ifupdown,
 * NetworkManager keyfiles, systemd-networkd) on a guest made of the
 * input's files ("=== PATH" lines, lib/memguest.h), twice: the second run
 * must change nothing. A first line "cloud=alibaba" picks the profile that
 * turns NetworkManager off. */
#include "lib/fuzz.h"
#include "lib/memguest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fix_report rep;
	struct fix_ctx c;
	struct guest g;
	char cloud[16];

	ferr_clear();
	if (memguest_open(&g))
		return 0;
	fix_report_init(&rep);
	memguest_fix_ctx(&c, &g, &rep, (const char *)data, size, cloud);
	memguest_load(&g, (const char *)data, size);
	memguest_run_twice(&c, fix_network, "network");
	fix_report_release(&rep);
	guest_release(&g);
	return 0;
}
