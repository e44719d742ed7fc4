/* The check items (one table: ferry check, the manifest and
 * docs/check-codes.md read it) and the findings of one system. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "util/err.h"

#define TENCENT_SIZE "Tencent InvalidFormatSize"

const struct check_item check_items[] = {
	/* The disk and its partitions. */
	{"root.missing", CHECK_BLOCKER, "no root filesystem found on the disk",
	 "give the system disk, not a data disk: ferry scan shows which disk holds /", NULL,
	 "Tencent RootPartitionNotFound", "004"},
	{"root.btrfs", CHECK_BLOCKER, "the disk holds btrfs, which Ferry does not read",
	 "a root on btrfs is not found, copied by its used blocks or fixed yet: migrate the "
	 "server with the cloud's own tools, or move the system to ext4 or XFS", NULL, NULL,
	 NULL},
	{"root.mdraid", CHECK_BLOCKER, "the disk holds an md RAID member",
	 "a root on md RAID is not assembled or fixed yet: the cloud's disk is already "
	 "redundant, so move the system to a plain partition or LVM before migrating", NULL,
	 NULL, NULL},
	{"root.multipath", CHECK_BLOCKER, "the system mounts / from a multipath device",
	 "name / by UUID= in /etc/fstab (and root= on the kernel command line), or remove "
	 "multipath, before migrating: the cloud's disk has one path", NULL, NULL, NULL},
	{"boot.elsewhere", CHECK_BLOCKER, "/boot (or another system mount) is not on the system disk",
	 "/boot must be on the same disk as /; move it there before migrating", NULL,
	 "Tencent PartitionNotPresent", "001,004"},
	{"table.gpt", CHECK_INFO, "the system disk has a GPT partition table",
	 "where the cloud takes MBR (msdos) system disks only, capture with --boot-mode bios (the "
	 "default for tencent and huawei) makes the image's table an MBR", NULL, NULL, "000"},
	{"boot.efi", CHECK_INFO, "the system boots by UEFI",
	 "where the cloud boots by BIOS only, capture with --boot-mode bios (the default for "
	 "tencent and huawei) installs GRUB for BIOS in the image; elsewhere choose UEFI at "
	 "import", NULL, "Alibaba GUESTOS.BootMode", "000,001"},
	{"boot.convert", CHECK_BLOCKER, "the image cannot boot in the mode asked for (--boot-mode)",
	 "BIOS boot needs partitions an MBR holds (four, or three and logical partitions with "
	 "a free sector before each; below 2 TiB) and a /boot "
	 "GRUB reads; where the cloud takes UEFI, capture with --boot-mode keep", NULL, NULL,
	 "000,001"},
	{"disk.luks", CHECK_BLOCKER, "an encrypted (LUKS) partition",
	 "Ferry copies and fixes only what it can read: decrypt the system disk first", NULL,
	 NULL, "001"},
	{"disk.lvm", CHECK_INFO, "an LVM volume group on the system disk",
	 "the image keeps the group as it is (names, UUIDs, metadata); each logical volume is "
	 "copied by the blocks its filesystem uses", NULL, NULL, "001"},
	{"lvm.unreadable", CHECK_BLOCKER, "an LVM physical volume whose metadata cannot be read",
	 "Ferry would copy the PV whole without finding what is in it: run pvck and vgck on "
	 "the server, restore the metadata (vgcfgrestore), then check again", NULL, NULL, NULL},
	{"lvm.pv-missing", CHECK_BLOCKER, "a volume group with a physical volume that is not on "
	 "the system disk",
	 "the image holds one disk: move the group's extents onto the system disk (pvmove, "
	 "vgreduce) or migrate the other disk too", NULL, NULL, NULL},
	{"lvm.thin", CHECK_BLOCKER, "a thin pool or thin logical volume",
	 "Ferry does not read thin pools: move the system to linear volumes (lvconvert, or a "
	 "copy into a new LV) before migrating", NULL, NULL, NULL},
	{"lvm.raid", CHECK_BLOCKER, "a RAID or mirror logical volume",
	 "the cloud's disk is already redundant: convert it to linear (lvconvert -m0 or "
	 "--type linear) before migrating", NULL, NULL, NULL},
	{"lvm.cache", CHECK_BLOCKER, "a cached logical volume (cache or writecache)",
	 "detach the cache first (lvconvert --splitcache or --uncache): it flushes to the origin",
	 NULL, NULL, NULL},
	{"lvm.snapshot", CHECK_BLOCKER, "an LVM snapshot (or its origin)",
	 "merge or remove the snapshot (lvconvert --merge, lvremove) before migrating", NULL,
	 NULL, NULL},
	{"lvm.unsupported", CHECK_BLOCKER, "a logical volume of a kind Ferry does not read",
	 "convert it to a linear or striped volume before migrating", NULL, NULL, NULL},
	{"fs.unsupported", CHECK_BLOCKER, "the root filesystem's type is not one the cloud takes",
	 "move the system to a filesystem the cloud takes (see the profile)", NULL, NULL, "002"},
	{"fs.noedit", CHECK_WARNING, "a system filesystem Ferry cannot edit here (ext2/3/4 and FAT it "
	 "edits itself, XFS through the kernel's NBD client)",
	 "capture copies it but fixes nothing in it: for XFS, run Ferry where the nbd driver is "
	 "(the rescue image has it; ferry check then also tries the fixes on it), otherwise make "
	 "the fixes on the server first; for / and /boot (the kernels, initrds and boot loader) "
	 "this is a blocker: the image may not boot on virtio", NULL, NULL, NULL},
	{"fs.unreadable", CHECK_WARNING, "a filesystem that cannot be opened",
	 "run e2fsck (xfs_repair for XFS) on the server and check again: Ferry copies it whole "
	 "(every non-zero block), fixes nothing on it, and does not know its UUID", NULL, NULL, NULL},
	{"fs.dirty", CHECK_INFO, "a filesystem was not cleanly unmounted (its journal needs recovery)",
	 "capture replays the journal into the copy; shut the server down cleanly if you can",
	 "journal", NULL, "000,001"},
	{"fs.errors", CHECK_BLOCKER, "a filesystem is marked as having errors",
	 "run e2fsck on the server, then check again (capture will not edit it)", NULL, NULL,
	 "000"},
	{"swap.hibernated", CHECK_INFO, "a swap area holds a hibernated system",
	 "capture rewrites it as plain swap with the same UUID", "fstab", NULL, NULL},
	{"space.low", CHECK_BLOCKER, "too little free space for the fixes",
	 "free space on the server (old kernels in /boot, logs), then check again", NULL, NULL,
	 NULL},
	{"size.virtual", CHECK_BLOCKER, "the image is larger (or smaller) than the cloud takes",
	 "too large: shrink the partitions and the disk, or use the cloud's offline migration; "
	 "too small: grow the image (qemu-img resize) before the import", NULL,
	 TENCENT_SIZE, "001,002,004"},
	{"size.actual", CHECK_BLOCKER, "the image would hold more data than the cloud's import takes",
	 "leave a data partition out (--exclude N: the finding names one that is enough), "
	 "remove data from the system disk, or use the cloud's large-image import", NULL,
	 TENCENT_SIZE, "001,004"},
	{"format.unsupported", CHECK_BLOCKER, "the cloud's import does not take this image format",
	 "capture with a --format the profile lists", NULL, TENCENT_SIZE, "002,004"},
	/* The system. */
	{"os.detected", CHECK_INFO, "the operating system", "", NULL,
	 "Alibaba GUESTOS.Platform, GUESTOS.OSVersion, GUESTOS.Architecture, "
	 "GUESTOS.KernelVersion", NULL},
	{"os.unknown", CHECK_WARNING, "the operating system could not be identified",
	 "an /etc/os-release (or redhat-release, SuSE-release, debian_version) is expected", NULL,
	 "Alibaba GUESTOS.Platform", "001,004"},
	{"os.unsupported", CHECK_WARNING, "the cloud does not list this operating system",
	 "it may still boot: import it as \"other Linux\" and test an instance", NULL,
	 "Alibaba GUESTOS.OSVersion", "001,002,004"},
	{"arch.unsupported", CHECK_BLOCKER, "the cloud does not run this architecture", "", NULL,
	 "Alibaba GUESTOS.Architecture", "001,002,004"},
	{"virtio.missing", CHECK_BLOCKER, "a kernel cannot reach virtio disks or NICs at boot",
	 "capture adds the virtio drivers to its initrd", "virtio",
	 "Tencent VirtioNotInstall, Alibaba GUESTOS.Virtio", "000,001,004"},
	{"cloudinit.missing", CHECK_WARNING, "cloud-init is not installed",
	 "install cloud-init on the server before migrating: without it the cloud cannot set "
	 "the password, SSH keys or host name", NULL,
	 "Tencent CloudInitNotInstalled, Alibaba GUESTOS.CloudInit", "000,001,004"},
	{"fstab.devname", CHECK_WARNING, "/etc/fstab names devices (/dev/sda1), which change on the cloud",
	 "capture mounts them by UUID", "fstab", "Alibaba GUESTOS.Fstab", "001"},
	{"fstab.other-disk", CHECK_BLOCKER, "/etc/fstab mounts a disk that is not in the image",
	 "capture turns those lines off (the boot would wait for the disk)", "fstab",
	 "Alibaba GUESTOS.Fstab", "000,001,002"},
	{"boot.devname", CHECK_WARNING, "the boot loader names the root device (root=/dev/sda1)",
	 "capture boots root= by UUID", "bootloader", "Alibaba GUESTOS.Grub", "000,001"},
	{"net.names", CHECK_INFO, "network interfaces are named by the hardware (eno1, ens3)",
	 "capture adds net.ifnames=0 so the cloud's NIC is eth0", "bootloader", NULL, "000,004"},
	{"selinux.enforcing", CHECK_WARNING, "SELinux is enforcing",
	 "capture turns it off (relabelling on new hardware can stop the boot)", "selinux",
	 "Alibaba GUESTOS.Selinux",
	 "002"},
	{"firewall.enabled", CHECK_WARNING, "a firewall starts at boot",
	 "capture turns it off; use the cloud's security groups", "firewall", NULL, "002"},
	{"nm.enabled", CHECK_INFO, "NetworkManager manages the network",
	 "on Alibaba, capture turns it off where the legacy network scripts exist", "network",
	 NULL, "002"},
	{"net.static", CHECK_WARNING, "a NIC has a static address",
	 "capture configures eth0 by DHCP and turns the old configuration off", "network",
	 "Alibaba GUESTOS.Dhcp", "001"},
	{"net.hwaddr", CHECK_WARNING, "a NIC's configuration is bound to its hardware address",
	 "capture's eth0 configuration names no address", "network", NULL, "001"},
	{"net.rules", CHECK_WARNING, "udev rules name NICs after the old server's MAC addresses",
	 "capture removes them", "network", NULL, "001"},
	{"net.multi", CHECK_WARNING, "several NICs are configured",
	 "the cloud gives one NIC, eth0: move the other networks' services", NULL, NULL,
	 "000,002"},
	{"net.ipv6", CHECK_INFO, "IPv6 is configured",
	 "the cloud does not give IPv6: services must listen on IPv4", NULL, NULL,
	 "000,002,004"},
	{"hv.tools", CHECK_WARNING, "another hypervisor's guest tools start at boot",
	 "capture turns them off (VMware tools, Xen, VirtualBox additions)", "hvtools", NULL,
	 "000"},
	{"shadow.mode", CHECK_WARNING, "/etc/shadow is missing, or its mode is not the usual",
	 "restore it with its usual mode (0640 root:shadow, or 0000 on Red Hat): the cloud sets "
	 "the password in it", NULL, NULL, "000"},
};

const size_t check_nitems = sizeof(check_items) / sizeof(check_items[0]);

const struct check_item *check_item(const char *code)
{
	for (size_t i = 0; i < check_nitems; i++)
		if (!strcmp(check_items[i].code, code))
			return &check_items[i];
	return NULL;
}

const char *check_sev_name(enum check_sev s)
{
	return s == CHECK_BLOCKER ? "blocker" : s == CHECK_WARNING ? "warning" : "info";
}

void check_report_init(struct check_report *r, const struct cloud_profile *p)
{
	memset(r, 0, sizeof(*r));
	r->profile = p;
}

void check_report_release(struct check_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->f[i].text);
		free(r->f[i].file);
		free(r->f[i].fix);
	}
	free(r->f);
	memset(r, 0, sizeof(*r));
}

static int vraise(struct check_report *r, const char *code, int sev, const char *file,
		  const char *fmt, va_list ap)
{
	const struct check_item *it = check_item(code);
	struct check_finding *f;

	if (!it)
		return ferr(-EINVAL, "internal: no check item %s", code);
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct check_finding *nf = realloc(r->f, cap * sizeof(*nf));

		if (!nf)
			return ferr(-ENOMEM, "out of memory");
		r->f = nf;
		r->cap = cap;
	}
	f = &r->f[r->n];
	memset(f, 0, sizeof(*f));
	f->item = it;
	f->sev = sev < 0 ? it->sev : (enum check_sev)sev;
	if (vasprintf(&f->text, fmt, ap) < 0 || (file && !(f->file = strdup(file)))) {
		free(f->text);
		return ferr(-ENOMEM, "out of memory");
	}
	r->n++;
	return 0;
}

int check_raise(struct check_report *r, const char *code, const char *file, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vraise(r, code, -1, file, fmt, ap);
	va_end(ap);
	return err;
}

int check_raise_sev(struct check_report *r, const char *code, enum check_sev sev,
		    const char *file, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vraise(r, code, (int)sev, file, fmt, ap);
	va_end(ap);
	return err;
}

size_t check_count(const struct check_report *r, enum check_sev sev, bool unfixed_only)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++)
		n += r->f[i].sev == sev && !(unfixed_only && r->f[i].fix);
	return n;
}

int check_from_fixes(struct check_report *r, const struct fix_report *fixes)
{
	int err = 0;

	for (size_t i = 0; !err && i < fixes->nchanges; i++) {
		const struct fix_change *c = &fixes->changes[i];
		const struct check_item *it = c->code ? check_item(c->code) : NULL;

		if (!c->code)
			continue;
		/* what was there (the line, the link; or what is wrong, where a
		 * rule adds something), and what capture does */
		if (!it)
			return ferr(-EINVAL, "internal: no check item %s", c->code);
		err = check_raise(r, c->code, c->file, "%s", c->before ? c->before : it->title);
		if (!err && !(r->f[r->n - 1].fix = strdup(c->what)))
			err = ferr(-ENOMEM, "out of memory");
	}
	for (size_t i = 0; !err && i < fixes->nnotes; i++) {
		const struct fix_note *n = &fixes->notes[i];

		if (n->code)
			err = check_raise(r, n->code, n->file, "%s", n->text);
	}
	return err;
}

void check_report_json(const struct check_report *r, struct json *j, const char *key)
{
	json_arr_begin(j, key);
	for (size_t i = 0; i < r->n; i++) {
		const struct check_finding *f = &r->f[i];

		json_obj_begin(j, NULL);
		json_str(j, "code", f->item->code);
		json_str(j, "severity", check_sev_name(f->sev));
		json_str(j, "title", f->item->title);
		json_str(j, "text", f->text);
		json_str(j, "file", f->file);
		json_str(j, "capture", f->fix);
		json_str(j, "hint", f->item->hint);
		json_str(j, "fixed_by", f->item->fix_rule);
		json_str(j, "vendor", f->item->vendor);
		json_obj_end(j);
	}
	json_arr_end(j);
}

void check_os_json(const struct check_report *r, struct json *j)
{
	json_obj_begin(j, "os");
	json_str(j, "id", r->os.id[0] ? r->os.id : NULL);
	json_str(j, "name", r->os.name[0] ? r->os.name : NULL);
	json_str(j, "version", r->os.version[0] ? r->os.version : NULL);
	json_str(j, "arch", r->os.arch[0] ? r->os.arch : NULL);
	json_obj_end(j);
}

void check_counts_json(const struct check_report *r, struct json *j)
{
	json_u64(j, "blockers", check_count(r, CHECK_BLOCKER, false));
	json_u64(j, "warnings", check_count(r, CHECK_WARNING, false));
	json_u64(j, "info", check_count(r, CHECK_INFO, false));
}

void check_capture_json(struct json *j, const char *key, const struct check_report *before,
			const struct check_report *after, bool forced)
{
	const struct check_report *half[] = {before, after};
	static const char *const names[] = {"before", "after"};

	json_obj_begin(j, key);
	json_str(j, "cloud", before->profile->name);
	check_os_json(before, j);
	json_bool(j, "forced", forced);
	for (size_t i = 0; i < 2; i++) {
		json_obj_begin(j, names[i]);
		check_counts_json(half[i], j);
		check_report_json(half[i], j, "findings");
		json_obj_end(j);
	}
	json_obj_end(j);
}

const char *check_counts_text(const struct check_report *r, char *buf, size_t len)
{
	size_t b = check_count(r, CHECK_BLOCKER, false), w = check_count(r, CHECK_WARNING, false);

	snprintf(buf, len, "%zu blocker%s, %zu warning%s, %zu info", b, b == 1 ? "" : "s", w,
		 w == 1 ? "" : "s", check_count(r, CHECK_INFO, false));
	return buf;
}

/* One line: tabs and newlines of a quoted file line become spaces. */
static void put_flat(FILE *out, const char *s)
{
	bool space = false;

	for (; *s; s++) {
		bool ws = *s == '\t' || *s == '\n' || *s == ' ';

		if (!ws || !space)
			fputc(ws ? ' ' : *s, out);
		space = ws;
	}
}

void check_report_text(const struct check_report *r, FILE *out, const char *indent)
{
	static const enum check_sev order[] = {CHECK_BLOCKER, CHECK_WARNING, CHECK_INFO};

	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
		size_t n = check_count(r, order[o], false);

		if (!n)
			continue;
		fprintf(out, "%s%s (%zu):\n", indent, order[o] == CHECK_BLOCKER ? "blockers"
						      : order[o] == CHECK_WARNING ? "warnings"
										   : "info", n);
		for (size_t i = 0; i < r->n; i++) {
			const struct check_finding *f = &r->f[i];

			if (f->sev != order[o])
				continue;
			fprintf(out, "%s  %-18s ", indent, f->item->code);
			put_flat(out, f->text);
			if (f->file)
				fprintf(out, " (%s)", f->file);
			fputc('\n', out);
			if (f->fix)
				fprintf(out, "%s  %-18s capture: %s\n", indent, "", f->fix);
			else if (f->item->hint[0])
				fprintf(out, "%s  %-18s %s\n", indent, "", f->item->hint);
		}
	}
}
