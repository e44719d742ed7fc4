/* The virtio rule on the directory backend: modules made with gcc and
 * indexed by the real depmod, initrds laid out like initramfs-tools' and
 * dracut's (gzip, zstd, an early microcode cpio in front). Results are read
 * with lsinitramfs, unmkinitramfs and modprobe; a second run changes
 * nothing. */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "fix/fix.h"
#include "fs/guest.h"
#include "tap.h"
#include "testsh.h"

#define KVER "6.1.0-9-amd64"
#define KVER2 "6.1.0-8-amd64"

static char tmp[192];

static int run_rule(const char *root, struct fix_report *rep)
{
	struct guest g;
	struct fix_ctx c = {.cloud = "kvm", .rep = rep};
	int err = guest_dir_open(&g, root);

	if (err)
		return err;
	c.g = &g;
	err = fix_virtio(&c);
	guest_release(&g);
	return err;
}

/* 17 tests. */
static void one_case(const char *script, const char *style, const char *codec)
{
	char root[300], rd[400], label[64], sum[80], load[64];
	struct fix_report rep;
	const char *want_load = !strcmp(style, "itools") ? "conf/modules"
							 : "etc/modules-load.d/ferry-virtio.conf";
	int err;

	snprintf(label, sizeof(label), "%s %s", style, codec);
	snprintf(root, sizeof(root), "%s/%s-%s", tmp, style, codec);
	snprintf(rd, sizeof(rd), "%s/boot/initrd.img-" KVER, root);
	if (!ok(sh("bash %s %s %s %s >%s.log 2>&1", script, root, style, codec, root) == 0,
		"%s: the tree builds", label)) {
		sh("cat %s.log", root);
		return;
	}
	sh("cp %s %s.orig", rd, root);
	snprintf(sum, sizeof(sum), "%s", sh_out("sha256sum < %s/boot/initrd.img-" KVER2, root));
	is_str(sh_out("lsinitramfs %s | grep -c virtio", rd), "0", "%s: no virtio before", label);

	fix_report_init(&rep);
	err = run_rule(root, &rep);
	is_int(err, 0, "%s: the rule runs", label);
	is_int(rep.nchanges, 1, "%s: one change (the modular kernel's initrd)", label);
	ok(rep.nchanges == 1 && strstr(rep.changes[0].what, "8 modules added to the") &&
	   strstr(rep.changes[0].file, "initrd.img-" KVER),
	   "%s: 8 modules (scsi_mod was there already): %s", label,
	   rep.nchanges ? rep.changes[0].what : "");
	ok(rep.nnotes == 1 && strstr(rep.notes[0].text, KVER2 " has virtio built in"),
	   "%s: the other kernel has virtio built in (a note)", label);
	fix_report_release(&rep);
	is_str(sh_out("sha256sum < %s/boot/initrd.img-" KVER2, root), sum,
	       "%s: the built-in kernel's initrd is untouched", label);
	is_int(sh("cmp -n $(cat %s.early-size) %s %s.orig", root, rd, root), 0,
	       "%s: the early microcode cpio is kept byte for byte", label);
	is_str(sh_out("lsinitramfs %s | grep -E 'virtio.*\\.ko' | sed 's,.*/,,' | sort | tr '\\n' ' '",
		      rd),
	       "virtio.ko virtio_blk.ko virtio_net.ko.xz virtio_pci.ko virtio_ring.ko "
	       "virtio_scsi.ko ",
	       "%s: lsinitramfs lists the modules (virtio_net keeps its .xz)", label);
	is_int(sh("rm -rf %s.x && unmkinitramfs %s %s.x", root, rd, root), 0,
	       "%s: unmkinitramfs unpacks it", label);
	snprintf(load, sizeof(load), "%s", want_load);
	is_str(sh_out("grep -c -x -E 'virtio_(pci|blk|scsi|net)' %s.x/main/%s", root, load), "4",
	       "%s: %s loads the four drivers", label, load);
	/* modprobe loads in the order --show-depends prints: each module after
	 * what it needs, virtio_net last. */
	is_str(sh_out("modprobe -d %s.x/main -S " KVER " --show-depends virtio_net | "
		      "sed 's,.*/,,; s/ *$//' | tr '\\n' ' '", root),
	       "failover.ko net_failover.ko virtio_ring.ko virtio.ko virtio_net.ko.xz ",
	       "%s: modprobe reads our modules.dep.bin (load order)", label);
	is_str(sh_out("modprobe -d %s.x/main -S " KVER " -R 'virtio:d00000002v00001AF4'", root),
	       "virtio_blk", "%s: modprobe resolves the disk's alias through our alias.bin",
	       label);
	is_str(sh_out("modprobe -d %s.x/main -S " KVER " --show-depends ahci | "
		      "sed 's,.*/,,; s/ *$//' | tr '\\n' ' '", root),
	       "scsi_mod.ko ahci.ko ", "%s: the initrd's own modules still resolve", label);

	snprintf(sum, sizeof(sum), "%s", sh_out("sha256sum < %s", rd));
	fix_report_init(&rep);
	is_int(run_rule(root, &rep), 0, "%s: a second run", label);
	is_int(rep.nchanges, 0, "%s: the second run changes nothing", label);
	fix_report_release(&rep);
	is_str(sh_out("sha256sum < %s", rd), sum, "%s: the initrd is byte-identical", label);
}

/* Makes root's initrd a gzip'd cpio of tmp/NAME holding only the
 * modules.dep that the shell command make_dep prints. */
static void dep_initrd(const char *root, const char *name, const char *make_dep)
{
	sh("d=%s/%s/usr/lib/modules/" KVER " && mkdir -p $d && { %s; } >$d/modules.dep && "
	   "(cd %s/%s && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -n "
	   ">%s/boot/initrd.img-" KVER, tmp, name, make_dep, tmp, name, root);
}

/* The rule on root leaves the initrd alone and says why in a note
 * (virtio.missing) that holds want: what an initrd it cannot index gets. */
static void noted(const char *root, const char *label, const char *want)
{
	struct fix_report rep;

	fix_report_init(&rep);
	is_int(run_rule(root, &rep), 0, "%s: the rule does not fail", label);
	ok(rep.nchanges == 0 && rep.nnotes >= 1 && strstr(rep.notes[0].text, want) &&
		   !strcmp(rep.notes[0].code, "virtio.missing"),
	   "%s: noted as virtio.missing (%s)", label, rep.nnotes ? rep.notes[0].text : "no note");
	fix_report_release(&rep);
}

int main(void)
{
	char here[512], script[600];

	tap_plan(3 * 17 + 10);
	if (!tap_scratch(tmp, sizeof(tmp), "virtio"))
		return 1;
	snprintf(here, sizeof(here), "%s", __FILE__);
	snprintf(script, sizeof(script), "%s/virtio_tree.sh", dirname(here));
	one_case(script, "itools", "gzip");
	one_case(script, "dracut", "zstd");
	one_case(script, "dracut", "gzip");

	/* Without the kernel's modules.dep, or with an LZO initrd: a note, not
	 * a failed capture. */
	{
		char root[300];
		struct fix_report rep;

		snprintf(root, sizeof(root), "%s/itools-gzip", tmp);
		sh("mv %s/usr/lib/modules/" KVER "/modules.dep %s/dep.saved && cp %s.orig "
		   "%s/boot/initrd.img-" KVER, root, tmp, root, root);
		fix_report_init(&rep);
		is_int(run_rule(root, &rep), 0, "no modules.dep: the rule does not fail");
		ok(rep.nchanges == 0 && rep.nnotes == 2 && strstr(rep.notes[0].text, "cannot be found"),
		   "no modules.dep: noted, nothing changed");
		fix_report_release(&rep);
		sh("mv %s/dep.saved %s/usr/lib/modules/" KVER "/modules.dep && "
		   "printf '\\211LZO\\000\\r\\n\\032\\n' > %s/boot/initrd.img-" KVER, tmp, root, root);
		noted(root, "an LZO initrd", "LZO");

		/* An initrd whose modules.dep has a self-dependency after a
		 * module with dependencies (once a heap overflow). */
		dep_initrd(root, "selfdep", "printf '%s\\n' 'kernel/x.ko: kernel/y.ko kernel/z.ko' "
			   "kernel/y.ko: kernel/z.ko: 'kernel/a.ko: kernel/a.ko'");
		noted(root, "a self-dependency in the initrd", "kernel/a.ko depends on itself");

		/* An initrd whose modules.dep is a chain of 8000 modules, each
		 * needing the next (once 2 GB and 2 minutes): a note, at once. */
		dep_initrd(root, "chain", "awk 'BEGIN { for (i = 0; i < 8000; i++) printf "
			   "\"kernel/m%d.ko: kernel/m%d.ko\\n\", i, i + 1; print \"kernel/m8000.ko:\" }'");
		noted(root, "a chain of 8000 modules in the initrd", "needs more than 512 modules");

		/* A zstd initrd with a window the kernel's unzstd refuses. */
		sh("(cd %s/chain && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | "
		   "zstd -q --long=28 -c >%s/boot/initrd.img-" KVER, tmp, root);
		noted(root, "a zstd window past 128 MiB", "window larger than 128 MiB");
	}
	sh("rm -rf %s", tmp);
	return tap_failed ? 1 : 0;
}
