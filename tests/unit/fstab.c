/* fstab lookups, device-spec parsing and kernel command lines in boot
 * loader configs, on the shapes real servers have. */
#include <errno.h>

#include "fs/fstab.h"
#include "tap.h"

static const char fstab[] =
	"# /etc/fstab: static file system information.\n"
	"#\n"
	"# <file system> <mount point> <type> <options> <dump> <pass>\n"
	"UUID=11111111-2222-3333-4444-555555555555 /               ext4    errors=remount-ro 0       1\n"
	"\t# UUID=dead / ext4 defaults 0 1\n"
	"LABEL=boot\t/boot/\text4\tdefaults\t0\t2\n"
	"/dev/mapper/vg-home /home ext4 defaults 0 2\n"
	"/dev/sdb1 /srv/my\\040data xfs defaults 0 0\n"
	"UUID=9999 none swap sw 0 0\n"
	"   \n"
	"tmpfs /tmp tmpfs defaults 0 0";

int main(void)
{
	char spec[128];
	const char *v;

	tap_plan(34);

	is_int(fstab_find(fstab, "/", spec, sizeof(spec)), 0, "/ is found");
	is_str(spec, "UUID=11111111-2222-3333-4444-555555555555", "/ spec (commented duplicate ignored)");
	is_int(fstab_find(fstab, "/boot", spec, sizeof(spec)), 0, "/boot/ matches /boot");
	is_str(spec, "LABEL=boot", "/boot spec with tabs");
	is_int(fstab_find(fstab, "/srv/my data", spec, sizeof(spec)), 0, "octal escapes in mount points");
	is_str(spec, "/dev/sdb1", "the escaped entry's spec");
	is_int(fstab_find(fstab, "/tmp", spec, sizeof(spec)), 0, "a last line without newline");
	is_int(fstab_find(fstab, "/var", spec, sizeof(spec)), -ENOENT, "absent mount point");
	is_int(fstab_find("", "/", spec, sizeof(spec)), -ENOENT, "empty fstab");

	is_int(fstab_spec_parse("UUID=abc", &v), SPEC_UUID, "UUID=");
	is_str(v, "abc", "UUID= value");
	is_int(fstab_spec_parse("/dev/disk/by-uuid/abc", &v), SPEC_UUID, "/dev/disk/by-uuid/");
	is_str(v, "abc", "by-uuid value");
	is_int(fstab_spec_parse("LABEL=root", &v), SPEC_LABEL, "LABEL=");
	is_int(fstab_spec_parse("PARTUUID=5eed1e55-02", &v), SPEC_PARTUUID, "PARTUUID=");
	is_str(v, "5eed1e55-02", "PARTUUID value");
	is_int(fstab_spec_parse("PARTLABEL=data", &v), SPEC_PARTLABEL, "PARTLABEL=");
	is_str(v, "data", "... its value");
	is_int(fstab_spec_parse("/dev/disk/by-partlabel/data", &v), SPEC_PARTLABEL,
	       "/dev/disk/by-partlabel/");
	is_int(fstab_spec_parse("/dev/sda2", &v), SPEC_DEVNAME, "a kernel partition name");
	is_int(fstab_spec_parse("/dev/mapper/vg-root", &v), SPEC_OTHER, "a device-mapper name");

	is_int(devname_partnum("/dev/sda2"), 2, "sda2");
	is_int(devname_partnum("/dev/sdab12"), 12, "sdab12");
	is_int(devname_partnum("/dev/vda1"), 1, "vda1");
	is_int(devname_partnum("/dev/xvda3"), 3, "xvda3");
	is_int(devname_partnum("/dev/nvme0n1p3"), 3, "nvme0n1p3");
	is_int(devname_partnum("/dev/nvme0n1"), -1, "nvme0n1 is a whole disk");
	is_int(devname_partnum("/dev/cciss/c0d0p1"), 1, "cciss/c0d0p1");
	is_int(devname_partnum("/dev/sda"), -1, "sda is a whole disk");
	is_int(devname_partnum("/dev/vg/lv1"), -1, "an LVM path is not a partition");

	is_int(fstab_cmdline_find("set root='hd0,msdos1'\n"
			    "search --set=root abc\n"
			    "\tlinux\t/vmlinuz-6.1 root=UUID=1234 ro quiet\n"
			    "\tlinux /vmlinuz-old root=/dev/sda9 ro\n",
			    "root", spec, sizeof(spec)),
	       0, "GRUB: the first linux line's root=");
	is_str(spec, "UUID=1234", "GRUB's set root= and --set=root are not kernel arguments");
	fstab_cmdline_find("kernel /vmlinuz ro resume_root=x root=LABEL=/ rhgb\n", "root", spec,
		     sizeof(spec));
	is_str(spec, "LABEL=/", "legacy GRUB kernel line; resume_root= is another key");
	is_int(fstab_cmdline_find("menuentry 'x' {\n}\n", "root", spec, sizeof(spec)), -ENOENT,
	       "no kernel line: not found");
	return tap_done();
}
