/* The fstab rule on the shapes that decide what it does, and the device-name
 * classifier it shares with the bootloader rule. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fix/devname.h"
#include "fix/fix.h"
#include "util/err.h"
#include "tap.h"
#include "testsh.h"

#define U1 "11111111-1111-4111-8111-111111111111"
#define U2 "22222222-2222-4222-8222-222222222222"
#define U3 "33333333-3333-4333-8333-333333333333"
#define U5 "55555555-5555-4555-8555-555555555555"

static char dir[64];

static void put(const char *path, const char *text, size_t len)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, path);
	unlink(p);
	if (put_file(p, text, len))
		printf("# cannot write %s\n", p);
}

/* The file's text until the next call; NULL if it is not there. */
static char *get(const char *path)
{
	static char *buf;
	char p[256];
	size_t n;

	free(buf);
	snprintf(p, sizeof(p), "%s/%s", dir, path);
	return buf = get_file(p, &n);
}

struct result {
	int changes, notes, again; /* again: changes recorded by a second run */
	char note[512];            /* the first note */
	bool same;                 /* the second run left the file as it was */
};

/* Runs the fstab rule twice on text with the volumes given. */
static struct result fstab_run(const char *text, size_t len, const struct fix_volume *vols,
			       size_t nvols, int root_part, int boot_part)
{
	struct result res = {0};
	struct fix_report rep;
	struct guest g;
	struct fix_ctx c;
	char first[8192];

	put("etc/fstab", text, len);
	if (guest_dir_open(&g, dir)) {
		res.changes = -1;
		return res;
	}
	fix_report_init(&rep);
	c = (struct fix_ctx){.g = &g, .vols = vols, .nvols = nvols, .root_part = root_part,
			     .boot_part = boot_part, .cloud = "kvm", .rep = &rep};
	if (fix_fstab(&c))
		res.changes = -1;
	else
		res.changes = (int)rep.nchanges;
	res.notes = (int)rep.nnotes;
	if (rep.nnotes)
		snprintf(res.note, sizeof(res.note), "%s", rep.notes[0].text);
	snprintf(first, sizeof(first), "%s", get("etc/fstab"));
	if (fix_fstab(&c))
		res.again = -1;
	else
		res.again = (int)rep.nchanges - res.changes;
	res.same = !strcmp(first, get("etc/fstab"));
	put("etc/fstab", first, strlen(first));
	fix_report_release(&rep);
	guest_release(&g);
	return res;
}

#define RUN(text, vols, root, boot) fstab_run(text, sizeof(text) - 1, vols, sizeof(vols) / sizeof(vols[0]), root, boot)

static void devrefs(void)
{
	static const struct {
		const char *name;
		enum dev_scheme scheme;
		int part;
		const char *base;
	} t[] = {
		{"/dev/sda2", DEV_KERNEL, 2, "/dev/sda"},
		{"/dev/sdab12", DEV_KERNEL, 12, "/dev/sdab"},
		{"/dev/hdb1", DEV_KERNEL, 1, "/dev/hdb"},
		{"/dev/xvda3", DEV_KERNEL, 3, "/dev/xvda"},
		{"/dev/vdb", DEV_KERNEL, 0, "/dev/vdb"},
		{"/dev/nvme0n1p3", DEV_KERNEL, 3, "/dev/nvme0n1"},
		{"/dev/nvme1n1", DEV_KERNEL, 0, "/dev/nvme1n1"},
		{"/dev/cciss/c0d0p1", DEV_KERNEL, 1, "/dev/cciss/c0d0"},
		{"/dev/mmcblk0p2", DEV_KERNEL, 2, "/dev/mmcblk0"},
		{"/dev/disk/by-id/ata-ST1000NM0033-9ZM173_Z1W0A1B2-part3", DEV_BYID, 3,
		 "/dev/disk/by-id/ata-ST1000NM0033-9ZM173_Z1W0A1B2"},
		{"/dev/disk/by-id/wwn-0x5000c500a1b2c3d4", DEV_BYID, 0, "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4"},
		{"/dev/disk/by-path/pci-0000:00:1f.2-ata-1-part2", DEV_BYPATH, 2,
		 "/dev/disk/by-path/pci-0000:00:1f.2-ata-1"},
		{"/dev/disk/by-id/dm-name-vg00-root", DEV_VOLMGR, 0, ""},
		{"/dev/mapper/rhel-root", DEV_VOLMGR, 0, ""},
		{"/dev/md127", DEV_VOLMGR, 0, ""},
		{"/dev/md/root", DEV_VOLMGR, 0, ""},
		{"/dev/vg00/lv_var", DEV_VOLMGR, 0, ""},
		{"/dev/sr0", DEV_NONE, 0, ""},
		{"/dev/cdrom", DEV_NONE, 0, ""},
		{"/dev/disk/by-uuid/" U1, DEV_NONE, 0, ""},
		{"UUID=" U1, DEV_NONE, 0, ""},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct devref d;

		devref_parse(t[i].name, &d);
		ok(d.scheme == t[i].scheme && d.partnum == t[i].part && !strcmp(d.base, t[i].base),
		   "devref %s: scheme %d part %d base '%s' (got %d %d '%s')", t[i].name, t[i].scheme,
		   t[i].part, t[i].base, d.scheme, d.partnum, d.base);
	}
}

static void shapes(void)
{
	static const struct fix_volume v123[] = {
		{.partnum = 1, .fs = "ext4", .uuid = U1, .label = "boot"},
		{.partnum = 2, .fs = "ext4", .uuid = U2, .partuuid = "5eed1e55-02"},
		{.partnum = 3, .fs = "swap"},
	};
	static const struct fix_volume v12[] = {
		{.partnum = 1, .fs = "ext4", .uuid = U1},
		{.partnum = 2, .fs = "ext4", .uuid = U2},
	};
	static const struct fix_volume v235[] = {
		{.partnum = 2, .fs = "ext4", .uuid = U2},
		{.partnum = 3, .fs = "ext4", .uuid = U3},
		{.partnum = 5, .fs = "swap", .uuid = U5},
	};
	struct result r;

	/* root by UUID and nothing else to go by: sdb1 would be partition 1,
	 * but partition 1 is / already */
	r = RUN("UUID=" U1 " / ext4 defaults 0 1\n/dev/sdb1 /data ext4 defaults 0 2\n", v12, 1, 0);
	is_str(get("etc/fstab"),
	       "UUID=" U1 " / ext4 defaults 0 1\n"
	       "# ferry: disabled, /dev/sdb1 is on /dev/sdb, not on the system disk: it is not in the image\n"
	       "#/dev/sdb1 /data ext4 defaults 0 2\n",
	       "a data disk when / is already by UUID");
	ok(r.changes == 1 && r.again == 0 && r.same, "one change, none the second time");

	/* two disks whose names both fit and nothing says which: leave both */
	r = RUN("UUID=" U2 " / ext4 defaults 0 1\n/dev/sda3 /home ext4 defaults 0 2\n"
		"/dev/sdb5 none swap sw 0 0\n",
		v235, 2, 0);
	ok(r.changes == 0 && r.notes == 2 && strstr(r.note, "cannot tell whether /dev/sda3"),
	   "two fitting disks: nothing changed, a note each (%d, %d: %s)", r.changes, r.notes, r.note);

	/* a swap partition without a UUID; LABEL= and PARTUUID= */
	r = RUN("/dev/sda2 / ext4 defaults 0 1\nLABEL=boot /boot ext4 defaults 0 2\n"
		"/dev/sda3 swap swap defaults 0 0\nLABEL=scratch /scratch ext4 defaults 0 2\n"
		"PARTUUID=5eed1e55-02 /mnt/again ext4 noauto 0 0\n",
		v123, 2, 1);
	is_str(get("etc/fstab"),
	       "# ferry: was /dev/sda2\n"
	       "UUID=" U2 " / ext4 defaults 0 1\nLABEL=boot /boot ext4 defaults 0 2\n"
	       "/dev/sda3 swap swap defaults 0 0\n"
	       "# ferry: disabled, no filesystem with LABEL=scratch is in the image\n"
	       "#LABEL=scratch /scratch ext4 defaults 0 2\n"
	       "PARTUUID=5eed1e55-02 /mnt/again ext4 noauto 0 0\n",
	       "LABEL= and PARTUUID= of the image kept, an unknown LABEL= disabled");
	ok(r.changes == 2 && r.notes == 1 && strstr(r.note, "/dev/sda3 has no UUID"),
	   "the swap without a UUID is noted (%s)", r.note);
	ok(r.again == 0 && r.same, "and the second run changes nothing");

	/* / by a UUID that is not in the image is never disabled */
	r = RUN("UUID=" U5 " / ext4 defaults 0 1\n", v12, 1, 0);
	ok(r.changes == 0 && r.notes == 1 && strstr(r.note, "no filesystem with UUID=" U5),
	   "/ by an unknown UUID: noted, kept (%s)", r.note);

	/* A second run decides as the first: the names the first run renamed
	 * or disabled are still evidence (found by the fstab fuzz target: one
	 * partition named twice, and nothing else saying which disk is the
	 * system disk; the second run used to disable /mnt/x). */
	r = RUN("/dev/sdb1 /data ext4 defaults 0 2\n/dev/sdb1 /mnt/x vfat noauto 0 0\n", v12, 2, 1);
	ok(r.changes == 1 && r.notes == 1 && r.again == 0 && r.same,
	   "one partition for two uses: /data by UUID, /mnt/x noted, the same a second time (%s)",
	   r.note);
	r = RUN("/dev/sda2 / ext4 defaults 0 1\n/dev/sdb1 /data ext4 defaults 0 2\n"
		"/dev/sda3 /srv ext4 defaults 0 2\n", v12, 2, 1);
	ok(r.changes == 3 && r.again == 0 && r.same,
	   "/ renamed, another disk's line disabled: the second run still knows the system disk");
	is_str(get("etc/fstab"),
	       "# ferry: was /dev/sda2\nUUID=" U2 " / ext4 defaults 0 1\n"
	       "# ferry: disabled, /dev/sdb1 is on /dev/sdb, not on the system disk /dev/sda (from "
	       "the / entry of /etc/fstab): it is not in the image\n"
	       "#/dev/sdb1 /data ext4 defaults 0 2\n"
	       "# ferry: disabled, partition 3 of the system disk (/dev/sda3) is not in the image\n"
	       "#/dev/sda3 /srv ext4 defaults 0 2\n",
	       "... the old name kept above the renamed line");

	/* A "was" mark after a "disabled" mark is a mark, not the line
	 * disabled (found by the fstab fuzz target: the renamed / line's old
	 * name was lost, the other disk's / line became the system disk's,
	 * and the second run disabled /srv). */
	r = RUN("# ferry: disabled, by hand\n/dev/sda2 / ext4 defaults 0 1\n"
		"/dev/sdb1 / ext4 noauto 0 0\n/dev/sda3 /srv xfs defaults 0 2\n", v123, 2, 1);
	ok(r.changes == 2 && r.again == 0 && r.same,
	   "a rename after a disabled mark: the second run decides as the first (%d, %d)",
	   r.changes, r.again);

	/* / named by the wrong number: / is root_part whatever the name says;
	 * tabs stay tabs, a last line without a newline stays so */
	r = RUN("/dev/sda3\t/\text4\tdefaults\t0 1\n/dev/sda1\t/boot\text4\tdefaults\t0 2", v123, 2, 1);
	is_str(get("etc/fstab"),
	       "# ferry: was /dev/sda3\nUUID=" U2 "\t/\text4\tdefaults\t0 1\n"
	       "# ferry: was /dev/sda1\nUUID=" U1 "\t/boot\text4\tdefaults\t0 2",
	       "root_part decides what / is; tabs and the missing last newline kept");

	/* the type must fit: partition 3 is swap, not xfs */
	r = RUN("/dev/sda2 / ext4 defaults 0 1\n/dev/sda3 /srv xfs defaults 0 2\n", v123, 2, 0);
	ok(r.changes == 1 && r.notes == 1 && strstr(r.note, "/dev/sda3 holds swap"),
	   "a name whose partition holds another filesystem is left (%s)", r.note);

	/* NVMe: another namespace/controller is another disk */
	r = RUN("/dev/nvme0n1p2 / ext4 defaults 0 1\n/dev/nvme1n1p1 /data ext4 defaults 0 2\n"
		"/dev/nvme1n1 /raw ext4 defaults 0 2\n",
		v12, 2, 0);
	ok(r.changes == 3 && strstr(get("etc/fstab"), "#/dev/nvme1n1 /raw"),
	   "NVMe names: / mapped, the other controller's partition and whole disk disabled");

	/* entries that are not local disks */
	r = RUN("/dev/sda2 / ext4 defaults 0 1\n/srv/www /var/www none bind 0 0\n"
		"server:/export /mnt nfs defaults 0 0\n/dev/md0 /raid ext4 defaults 0 2\n"
		"/dev/sr0 /media/cdrom iso9660 ro,noauto 0 0\nproc /proc proc defaults 0 0\n",
		v12, 2, 0);
	ok(r.changes == 1 && r.notes == 1 && strstr(r.note, "/dev/md0 is an LVM, device-mapper or md"),
	   "bind, NFS, cdrom, proc kept silently; md noted (%s)", r.note);

	/* a partition of the system disk that is not in the image */
	r = RUN("/dev/sda2 / ext4 defaults 0 1\n/dev/sda7 /var/log ext4 defaults 0 2\n", v12, 2, 0);
	ok(r.changes == 2 && strstr(get("etc/fstab"),
				    "# ferry: disabled, partition 7 of the system disk (/dev/sda7) is not in the image\n"),
	   "an excluded partition is disabled with the reason");
}

static void left_alone(void)
{
	static const struct fix_volume v12[] = {
		{.partnum = 1, .fs = "ext4", .uuid = U1},
		{.partnum = 2, .fs = "ext4", .uuid = U2},
	};
	static const char nul[] = "/dev/sda2 / ext4 defaults 0 1\n\0/dev/sdb1 /x ext4 defaults 0 0\n";
	struct fix_report rep;
	struct guest g;
	struct fix_ctx c;
	struct result r;

	r = RUN("/dev/sda2 / ext4 defaults 0 1\n/dev/sdb1\n", v12, 2, 0);
	ok(r.changes == 0 && r.notes == 1 && strstr(r.note, "line 2 has no mount point"),
	   "a line without a mount point: the whole file is left (%s)", r.note);
	r = RUN("/dev/sda2 / ext4 defaults zero 1\n", v12, 2, 0);
	ok(r.changes == 0 && strstr(r.note, "not a number"), "a bad dump field: left (%s)", r.note);
	r = fstab_run(nul, sizeof(nul) - 1, v12, 2, 2, 0);
	ok(r.changes == 0 && strstr(r.note, "NUL"), "a NUL byte: left (%s)", r.note);
	r = fstab_run("/dev/sda2 / ext4 defaults 0 1\n", 30, v12, 0, 2, 0);
	ok(r.changes == 0 && r.notes == 1, "no volumes known: nothing changed, noted");

	{
		char p[128];
		snprintf(p, sizeof(p), "%s/etc/fstab", dir);
		unlink(p);
	}
	if (guest_dir_open(&g, dir)) {
		ok(0, "open");
		return;
	}
	fix_report_init(&rep);
	c = (struct fix_ctx){.g = &g, .vols = v12, .nvols = 2, .root_part = 2, .rep = &rep};
	is_int(fix_fstab(&c), 0, "no /etc/fstab is not an error");
	ok(rep.nchanges == 0 && rep.nnotes == 0, "and records nothing");
	fix_report_release(&rep);
	guest_release(&g);
}

int main(void)
{
	char cmd[128];

	snprintf(dir, sizeof(dir), "%s/ferry-fstab-XXXXXX", tap_tmpdir());
	if (!mkdtemp(dir)) {
		printf("1..0 # SKIP cannot create a temporary directory\n");
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "%s/etc", dir);
	mkdir(cmd, 0755);
	devrefs();
	shapes();
	left_alone();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		printf("# could not remove %s\n", dir);
	tap_plan(tap_num);
	return tap_done();
}
