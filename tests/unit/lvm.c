/* LVM2 metadata text, logical volume kinds and the mapping of segments
 * onto the source (disk/lvm.h); the on-disk label and areas are tested
 * with lvm2's own output in tests/integration/lvm.t. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk/lvm.h"
#include "tap.h"
#include "util/err.h"

#define PV0 "aaaaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaaaa"
#define PV1 "bbbbbb-bbbb-bbbb-bbbb-bbbb-bbbb-bbbbbb"

/* A group of two PVs (4 MiB extents, data at 1 MiB); LVS is the text of
 * its logical_volumes section. */
static char *group(const char *lvs)
{
	char *t;

	if (asprintf(&t,
		     "# a comment\n"
		     "vg0 {\n"
		     "id = \"vvvvvv-vvvv-vvvv-vvvv-vvvv-vvvv-vvvvvv\"\n"
		     "seqno = 7\n"
		     "format = \"lvm2\"\n"
		     "status = [\"RESIZEABLE\", \"READ\", \"WRITE\"]\n"
		     "flags = []\n"
		     "extent_size = 8192\n"
		     "physical_volumes {\n"
		     "pv0 {\nid = \"" PV0 "\"\ndevice = \"/dev/sda2\"\n"
		     "status = [\"ALLOCATABLE\"]\nflags = []\ndev_size = 409600\n"
		     "pe_start = 2048\npe_count = 49\n}\n"
		     "pv1 {\nid = \"" PV1 "\"\ndevice = \"/dev/sdb1\"\n"
		     "status = [\"ALLOCATABLE\"]\nflags = []\ndev_size = 409600\n"
		     "pe_start = 2048\npe_count = 49\n}\n"
		     "}\n"
		     "logical_volumes {\n%s}\n"
		     "}\n"
		     "contents = \"Text Format Volume Group\"\nversion = 1\n"
		     "creation_time = 1796416581\t# Fri Dec  4 20:36:21 2026\n",
		     lvs) < 0)
		return NULL;
	return t;
}

static int parse(const char *lvs, struct lvm_vg *vg)
{
	char *t = group(lvs);
	int err = t ? lvm_vg_parse(t, strlen(t), vg) : -1;

	free(t);
	return err;
}

static const struct lvm_lv *find(const struct lvm_vg *vg, const char *name)
{
	for (size_t i = 0; i < vg->nlvs; i++)
		if (!strcmp(vg->lvs[i].name, name))
			return &vg->lvs[i];
	return NULL;
}

#define LINEAR(pv, pe) "type = \"striped\"\nstripe_count = 1\nstripes = [\"" pv "\", " #pe "]\n"
#define LV(name, status, segs) name " {\nid = \"llllll-llll-llll-llll-llll-llll-llllll\"\n" \
	"status = [" status "]\nflags = []\n" segs "}\n"
#define SEG(n, start, count, body) "segment" #n " {\nstart_extent = " #start "\n" \
	"extent_count = " #count "\n" body "}\n"
#define VIS "\"READ\", \"WRITE\", \"VISIBLE\""

static void test_parse_and_map(void)
{
	struct lvm_vg vg;
	struct source src = {.path = "disk", .size = 400u << 20};
	struct blkdev devs[2];
	const char ids[2][40] = {PV0, PV1};
	int err = parse(LV("root", VIS, SEG(1, 0, 10, LINEAR("pv0", 0)) SEG(2, 10, 2, LINEAR("pv1", 3)))
			LV("data", VIS, SEG(1, 0, 4, "type = \"striped\"\nstripe_count = 2\n"
					"stripe_size = 128\nstripes = [\n\"pv0\", 10,\n\"pv1\", 5\n]\n")),
			&vg);

	is_int(err, 0, "a group of two PVs, a two-segment LV and a striped LV parses");
	if (err)
		return;
	is_str(vg.name, "vg0", "the group's name");
	is_int(vg.seqno, 7, "its seqno");
	is_int(vg.extent_size, 4u << 20, "extent_size in bytes");
	is_int(vg.npvs, 2, "two PVs");
	is_int(vg.pvs[1].pe_start, 1u << 20, "pe_start in bytes");
	is_str(vg.pvs[1].device, "/dev/sdb1", "the device LVM last saw");
	const struct lvm_lv *root = find(&vg, "root"), *data = find(&vg, "data");
	ok(root && data, "both LVs are there");
	if (!root || !data)
		goto out;
	is_int(root->kind, LVM_LINEAR, "root is linear");
	is_int(root->size, 12u << 22, "root is 12 extents");
	is_int(root->visible, 1, "root is visible");
	is_int(data->kind, LVM_STRIPED, "data is striped");
	is_int(data->segs[0].stripe_size, 65536, "stripe_size in bytes");
	is_int(data->segs[0].nareas, 2, "two areas");

	/* pv0 at 1 MiB of the disk, pv1 at 201 MiB */
	blk_window(&devs[0], &src, 1u << 20, 200u << 20, false, "pv0");
	blk_window(&devs[1], &src, 201u << 20, 199u << 20, false, "pv1");
	err = lvm_map(&vg, devs, ids, 2);
	is_int(err, 0, "the group maps onto two devices");
	is_int(root->next, 2, "root: two extents");
	if (root->next == 2) {
		is_int(root->ext[0].src_off, (1u << 20) + (1u << 20), "segment 1 at pv0's first extent");
		is_int(root->ext[0].len, 10u << 22, "... 10 extents long");
		is_int(root->ext[1].off, 10u << 22, "segment 2 follows in the LV");
		is_int(root->ext[1].src_off, (201u << 20) + (1u << 20) + (3u << 22),
		       "... at pv1's extent 3");
	}
	is_int(data->next, 256, "data: 16 MiB in 64 KiB stripes");
	if (data->next == 256) {
		uint64_t a = (1u << 20) + (1u << 20) + (10u << 22);
		uint64_t b = (201u << 20) + (1u << 20) + (5u << 22);
		is_int(data->ext[0].src_off, a, "stripe 0 on pv0");
		is_int(data->ext[1].src_off, b, "stripe 1 on pv1");
		is_int(data->ext[2].src_off, a + 65536, "stripe 2 on pv0, one chunk on");
		is_int(data->ext[255].src_off, b + 127 * 65536, "the last stripe on pv1");
	}
	struct blkdev lv;
	is_int(lvm_lv_dev(&lv, &vg, root, false), 0, "root as a block device");
	is_int(lv.size, 12u << 22, "... of root's size");
	is_str(lv.name, "logical volume vg0/root", "... named after it");

	/* Only pv0 found: root and data are on pv1 too. */
	err = lvm_map(&vg, devs, ids, 1);
	is_int(err, 0, "mapping with a PV missing is not an error");
	ok(strstr(root->unmapped, "pv1") && strstr(root->unmapped, "/dev/sdb1"),
	   "root is not mapped, naming the PV and where it was: %s", root->unmapped);
	is_int(lvm_lv_dev(&lv, &vg, root, false), -EINVAL, "and is no block device");
out:
	lvm_vg_release(&vg);
}

static void test_kinds(void)
{
	struct lvm_vg vg;
	int err = parse(
		LV("base", VIS, SEG(1, 0, 2, LINEAR("pv0", 0)))
		LV("snap", VIS, SEG(1, 0, 2, LINEAR("pv0", 2)))
		LV("snapshot0", "\"READ\"", SEG(1, 0, 2, "type = \"snapshot\"\nchunk_size = 8\n"
					    "origin = \"base\"\ncow_store = \"snap\"\n"))
		LV("pool", VIS, SEG(1, 0, 2, "type = \"thin-pool\"\nmetadata = \"pool_tmeta\"\n"
				    "pool = \"pool_tdata\"\ntransaction_id = 1\nchunk_size = 128\n"))
		LV("thin", VIS, SEG(1, 0, 4, "type = \"thin\"\nthin_pool = \"pool\"\n"))
		LV("mirrored", VIS, SEG(1, 0, 2, "type = \"raid1\"\ndevice_count = 2\n"))
		LV("old", VIS, SEG(1, 0, 2, "type = \"mirror\"\nmirror_count = 2\n"))
		LV("cached", VIS, SEG(1, 0, 2, "type = \"cache\"\ncache_pool = \"cpool\"\n"))
		LV("wc", VIS, SEG(1, 0, 2, "type = \"writecache\"\n"))
		LV("broken", VIS, SEG(1, 0, 2, "type = \"error\"\n"))
		LV("tail", VIS, SEG(1, 0, 2, LINEAR("pv0", 4)) SEG(2, 2, 2, "type = \"raid1\"\n")),
		&vg);
	static const struct {
		const char *name;
		enum lvm_kind kind;
	} want[] = {
		{"base", LVM_SNAPSHOT}, {"snap", LVM_SNAPSHOT}, {"snapshot0", LVM_SNAPSHOT},
		{"pool", LVM_THIN}, {"thin", LVM_THIN}, {"mirrored", LVM_RAID}, {"old", LVM_RAID},
		{"cached", LVM_CACHE}, {"wc", LVM_CACHE}, {"broken", LVM_OTHER}, {"tail", LVM_RAID},
	};

	is_int(err, 0, "a group of every kind parses%s%s", err ? ": " : "", err ? ferr_msg() : "");
	if (err)
		return;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct lvm_lv *lv = find(&vg, want[i].name);
		is_str(lv ? lvm_kind_name(lv->kind) : NULL, lvm_kind_name(want[i].kind), "%s is %s",
		       want[i].name, lvm_kind_name(want[i].kind));
	}
	is_str(find(&vg, "base")->type, "snapshot origin", "an origin says so");
	is_int(find(&vg, "snapshot0")->visible, 0, "the snapshot's own LV is hidden");

	struct source src = {.path = "disk", .size = 400u << 20};
	struct blkdev dev;
	const char ids[1][40] = {PV0};
	blk_window(&dev, &src, 1u << 20, 200u << 20, false, "pv0");
	is_int(lvm_map(&vg, &dev, ids, 1), 0, "the group maps");
	ok(find(&vg, "thin")->ext == NULL && strstr(find(&vg, "thin")->unmapped, "thin"),
	   "a thin LV is not mapped: %s", find(&vg, "thin")->unmapped);
	ok(find(&vg, "base")->ext == NULL, "nor a snapshot's origin");
	lvm_vg_release(&vg);
}

/* Texts that must be refused with a message, quickly, without reading
 * past the text. */
static void test_refused(void)
{
	static const struct {
		const char *what, *lvs;
	} bad[] = {
		{"segments with a gap", LV("a", VIS, SEG(1, 0, 2, LINEAR("pv0", 0))
						 SEG(2, 3, 2, LINEAR("pv0", 5)))},
		{"a segment that does not start at 0", LV("a", VIS, SEG(1, 1, 2, LINEAR("pv0", 0)))},
		{"no segments", LV("a", VIS, "")},
		{"a stripe on an unknown PV", LV("a", VIS, SEG(1, 0, 2, LINEAR("pv9", 0)))},
		{"extents past the PV's end", LV("a", VIS, SEG(1, 0, 10, LINEAR("pv0", 45)))},
		{"a stripe count the areas do not match",
		 LV("a", VIS, SEG(1, 0, 4, "type = \"striped\"\nstripe_count = 2\nstripe_size = 128\n"
				  "stripes = [\"pv0\", 0]\n"))},
		{"extents not divisible by the stripes",
		 LV("a", VIS, SEG(1, 0, 3, "type = \"striped\"\nstripe_count = 2\nstripe_size = 128\n"
				  "stripes = [\"pv0\", 0, \"pv1\", 0]\n"))},
		{"a stripe size of 0",
		 LV("a", VIS, SEG(1, 0, 4, "type = \"striped\"\nstripe_count = 2\nstripe_size = 0\n"
				  "stripes = [\"pv0\", 0, \"pv1\", 0]\n"))},
		{"an extent count past 2^32", LV("a", VIS, SEG(1, 0, 99999999999, LINEAR("pv0", 0)))},
		{"a number past 2^63", LV("a", VIS, SEG(1, 0, 99999999999999999999, LINEAR("pv0", 0)))},
		{"an LV without id", "a {\nstatus = []\nsegment1 {\nstart_extent = 0\n}\n}\n"},
		{"a string not closed", "a {\nid = \"abc\n}\n"},
		{"an array not closed", "a {\nid = \"x\"\nstatus = [\"READ\", \n}\n"},
		{"a section not closed", "a {\nid = \"x\"\n"},
		{"a value that is nothing", "a {\nid = ?\n}\n"},
	};
	struct lvm_vg vg;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = parse(bad[i].lvs, &vg);
		is_int(err, -EINVAL, "refused: %s (%s)", bad[i].what, err ? ferr_msg() : "accepted");
		if (!err)
			lvm_vg_release(&vg);
	}

	/* Nested past the limit. */
	char deep[512];
	size_t n = (size_t)snprintf(deep, sizeof(deep), "vg0 {\n");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "a {\n");
	is_int(lvm_vg_parse(deep, strlen(deep), &vg), -EINVAL, "sections nested 40 deep: refused");
	const char *two = "a {\nid = \"x\"\nseqno = 1\nextent_size = 8\n}\n"
			  "b {\nid = \"y\"\nseqno = 1\nextent_size = 8\n}\n";
	is_int(lvm_vg_parse(two, strlen(two), &vg), -EINVAL, "two groups in one text: refused");
	is_int(lvm_vg_parse("", 0, &vg), -EINVAL, "an empty text: refused");
	const char *noext = "a {\nid = \"x\"\nseqno = 1\n}\n";
	is_int(lvm_vg_parse(noext, strlen(noext), &vg), -EINVAL, "no extent_size: refused");
	/* Not NUL-terminated: the parser stays inside len. */
	char cut[] = "a {\nid = \"xyz";
	is_int(lvm_vg_parse(cut, 8, &vg), -EINVAL, "a text cut short: refused inside its length");
}

static void test_names(void)
{
	char dm[64];
	struct lvm_vg vg = {.name = "my-vg", .id = "ABCDEF-GHIJ-KLMN-OPQR-STUV-WXYZ-012345"};
	struct lvm_lv lv = {.name = "lv-1", .id = "abcdef-ghij-klmn-opqr-stuv-wxyz-012345"};

	lvm_dm_name(dm, sizeof(dm), "my-vg", "lv-1");
	is_str(dm, "my--vg-lv--1", "device-mapper doubles the dashes in names");
	lvm_dm_name(dm, 8, "centos", "root");
	is_str(dm, "centos-", "a short buffer is cut, still terminated");
	ok(lvm_names_lv("/dev/mapper/my--vg-lv--1", &vg, &lv), "/dev/mapper/VG-LV names it");
	ok(lvm_names_lv("/dev/my-vg/lv-1", &vg, &lv), "/dev/VG/LV names it");
	ok(lvm_names_lv("/dev/disk/by-id/dm-name-my--vg-lv--1", &vg, &lv), "by-id/dm-name names it");
	ok(lvm_names_lv("/dev/disk/by-id/dm-uuid-LVM-ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
			"abcdefghijklmnopqrstuvwxyz012345", &vg, &lv), "by-id/dm-uuid names it");
	ok(!lvm_names_lv("/dev/mapper/my-vg-lv-1", &vg, &lv), "single dashes do not");
	ok(!lvm_names_lv("/dev/my-vg/lv-10", &vg, &lv), "nor another LV's path");
	ok(!lvm_names_lv("/dev/my-vg", &vg, &lv), "nor the group's directory");
}

int main(void)
{
	tap_plan(77);
	test_parse_and_map();
	test_kinds();
	test_refused();
	test_names();
	return tap_done();
}
