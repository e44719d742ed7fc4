/* LVM2 metadata text (disk/lvm.h): the input as one volume group's text;
 * a group that parses is mapped onto four physical volumes of 64 MiB on
 * one disk, found by the ids of its first four PVs. */
#include <stdio.h>

#include "disk/lvm.h"
#include "lib/fuzz.h"

#define NDEV 4
#define DEV_SIZE ((uint64_t)64 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct source src = {.path = "fuzz", .fd = -1, .dfd = -1, .size = NDEV * DEV_SIZE,
			     .lsec = 512, .psec = 512};
	struct blkdev devs[NDEV];
	char ids[NDEV][40];
	struct lvm_vg vg;

	ferr_clear();
	if (lvm_vg_parse((const char *)data, size, &vg))
		return 0;
	for (size_t i = 0; i < NDEV; i++) {
		snprintf(ids[i], sizeof(ids[i]), "%s", i < vg.npvs ? vg.pvs[i].id : "");
		blk_window(&devs[i], &src, i * DEV_SIZE, DEV_SIZE, false, "pv");
	}
	if (!lvm_map(&vg, devs, (const char(*)[40])ids, NDEV)) {
		for (size_t i = 0; i < vg.nlvs; i++) {
			char dm[600], path[640];

			lvm_dm_name(dm, sizeof(dm), vg.name, vg.lvs[i].name);
			snprintf(path, sizeof(path), "/dev/mapper/%s", dm);
			lvm_names_lv(path, &vg, &vg.lvs[i]);
		}
	}
	lvm_vg_release(&vg);
	return 0;
}
