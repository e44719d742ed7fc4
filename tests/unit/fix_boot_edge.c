/* The bootloader rule on shapes the samples lack: shell quoting, files left
 * whole, links, a grubenv without room, a /boot of its own. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fix/fix.h"
#include "util/err.h"
#include "tap.h"
#include "testsh.h"

#define U1 "11111111-1111-4111-8111-111111111111"
#define U2 "22222222-2222-4222-8222-222222222222"
#define U5 "55555555-5555-4555-8555-555555555555"
#define NIC "net.ifnames=0 biosdevname=0"

static const struct fix_volume vols[] = {
	{.partnum = 1, .fs = "ext4", .uuid = U1},
	{.partnum = 2, .fs = "ext4", .uuid = U2},
	{.partnum = 5, .fs = "swap", .uuid = U5},
};

static char top[64], dir[128];

static void put(const char *path, const char *text, size_t len)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, path);
	if (sh("mkdir -p \"$(dirname '%s')\"", p))
		printf("# mkdir failed for %s\n", p);
	unlink(p);
	if (put_file(p, text, len))
		printf("# cannot write %s\n", p);
}

#define PUT(path, text) put(path, text, strlen(text))

/* The file's text, valid for the next two calls too; NULL if absent. */
static char *get(const char *path, size_t *len)
{
	static char *buf[3];
	static int k;
	char p[512];
	size_t n;
	int i = k++ % 3;

	free(buf[i]);
	snprintf(p, sizeof(p), "%s/%s", dir, path);
	buf[i] = get_file(p, &n);
	if (len)
		*len = n;
	return buf[i];
}

/* A fresh tree for each case. */
static void fresh(const char *name)
{
	char cmd[300];

	snprintf(dir, sizeof(dir), "%s/%s", top, name);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/etc'", dir);
	if (system(cmd))
		printf("# cannot create %s\n", dir);
	PUT("etc/fstab", "/dev/sda2 / ext4 defaults 0 1\n/dev/sda1 /boot ext4 defaults 0 2\n");
}

struct result {
	int changes, notes, again;
	char what[256], note[512];
};

/* Runs the bootloader rule twice on g (or on dir when g is NULL). */
static struct result boot_run(struct guest *g)
{
	struct result res = {0};
	struct fix_report rep;
	struct guest own;
	struct fix_ctx c;

	if (!g) {
		if (guest_dir_open(&own, dir)) {
			res.changes = -1;
			return res;
		}
		g = &own;
	}
	fix_report_init(&rep);
	c = (struct fix_ctx){.g = g, .vols = vols, .nvols = 3, .root_part = 2, .boot_part = 1,
			     .cloud = "kvm", .rep = &rep};
	res.changes = fix_bootloader(&c) ? -1 : (int)rep.nchanges;
	res.notes = (int)rep.nnotes;
	if (rep.nchanges)
		snprintf(res.what, sizeof(res.what), "%s", rep.changes[0].what);
	if (rep.nnotes)
		snprintf(res.note, sizeof(res.note), "%s", rep.notes[0].text);
	res.again = fix_bootloader(&c) ? -1 : (int)rep.nchanges - res.changes;
	fix_report_release(&rep);
	guest_release(g);
	return res;
}

static void default_grub(void)
{
	struct result r;

	fresh("default");
	PUT("etc/default/grub", "GRUB_CMDLINE_LINUX=quiet # no quotes\n"
				"export GRUB_CMDLINE_LINUX_DEFAULT='splash resume=/dev/sda5'\n"
				"GRUB_DISABLE_LINUX_UUID=\"true\"\n");
	r = boot_run(NULL);
	is_str(get("etc/default/grub", NULL),
	       "GRUB_CMDLINE_LINUX=\"quiet " NIC "\" # no quotes\n"
	       "export GRUB_CMDLINE_LINUX_DEFAULT='splash resume=UUID=" U5 "'\n"
	       "GRUB_DISABLE_LINUX_UUID=\"false\"\n",
	       "an unquoted value gets quotes; single quotes stay; \"true\" becomes \"false\"");
	ok(r.changes == 3 && r.again == 0, "3 changes, none the second time (%d, %d)", r.changes, r.again);

	fresh("nocmdline");
	PUT("etc/default/grub", "GRUB_TIMEOUT=5");
	r = boot_run(NULL);
	is_str(get("etc/default/grub", NULL), "GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX=\"" NIC "\"\n",
	       "no GRUB_CMDLINE_LINUX: one is added");
	ok(r.changes == 1 && r.again == 0, "once (%d, %d)", r.changes, r.again);

	fresh("open-quote");
	PUT("etc/default/grub", "GRUB_DISABLE_LINUX_UUID=true\nGRUB_CMDLINE_LINUX=\"quiet\n");
	r = boot_run(NULL);
	is_str(get("etc/default/grub", NULL), "GRUB_DISABLE_LINUX_UUID=true\nGRUB_CMDLINE_LINUX=\"quiet\n",
	       "a quote that is not closed: the file is left whole");
	ok(r.changes == 0 && r.notes == 1 && strstr(r.note, "line 2 has a quote that is not closed"),
	   "and noted (%s)", r.note);

	/* Values an edit could not keep as the shell reads them (found by the
	 * bootcfg fuzz target: quotes inside an unquoted value were wrapped
	 * in more quotes, and a second run mangled them). */
	static const char *const mixed[] = {
		"GRUB_CMDLINE_LINUX=GRUB_DISABLE_RECOVERY=\"true\"\n",
		"GRUB_CMDLINE_LINUX=\"quiet\"splash\n",
		"GRUB_CMDLINE_LINUX='quiet'\"splash\"\n",
		"GRUB_CMDLINE_LINUX=quiet\\ splash\n",
	};
	for (size_t i = 0; i < sizeof(mixed) / sizeof(mixed[0]); i++) {
		fresh("mixed");
		PUT("etc/default/grub", mixed[i]);
		r = boot_run(NULL);
		ok(!strcmp(get("etc/default/grub", NULL), mixed[i]) && r.changes == 0 &&
		   r.notes == 1 && strstr(r.note, "line 1 has a value made of quoted and unquoted parts"),
		   "left whole and noted: %.*s (%s)", (int)strlen(mixed[i]) - 1, mixed[i], r.note);
	}
}

static void grub_cfg(void)
{
	struct result r;
	char link[600];

	fresh("grubcfg");
	PUT("boot/efi/EFI/centos/grub.cfg",
	    "menuentry 'CentOS' {\n"
	    "\tlinuxefi /vmlinuz-3.10.0-1160.el7.x86_64 root=/dev/sda2 ro net.ifnames=1 biosdevname=0\n"
	    "\tinitrdefi /initramfs-3.10.0-1160.el7.x86_64.img\n"
	    "}\n"
	    "menuentry 'lvm' {\n\tlinux /vmlinuz root=/dev/mapper/vg-root ro\n}\n"
	    "menuentry 'lvm2' {\n\tlinux /vmlinuz root=/dev/mapper/vg-root\n}\n"
	    "menuentry 'bare' {\n\tlinux /vmlinuz\n}\n");
	snprintf(link, sizeof(link), "%s/boot/grub2", dir);
	mkdir(link, 0755);
	snprintf(link, sizeof(link), "%s/boot/grub2/grub.cfg", dir);
	if (symlink("../efi/EFI/centos/grub.cfg", link))
		printf("# symlink failed\n");
	r = boot_run(NULL);
	is_str(get("boot/efi/EFI/centos/grub.cfg", NULL),
	       "menuentry 'CentOS' {\n"
	       "\tlinuxefi /vmlinuz-3.10.0-1160.el7.x86_64 root=UUID=" U2 " ro net.ifnames=0 biosdevname=0\n"
	       "\tinitrdefi /initramfs-3.10.0-1160.el7.x86_64.img\n"
	       "}\n"
	       "menuentry 'lvm' {\n\tlinux /vmlinuz root=/dev/mapper/vg-root ro " NIC "\n}\n"
	       "menuentry 'lvm2' {\n\tlinux /vmlinuz root=/dev/mapper/vg-root " NIC "\n}\n"
	       "menuentry 'bare' {\n\tlinux /vmlinuz " NIC "\n}\n",
	       "linuxefi; net.ifnames=1 set to 0; LVM root left; a bare linux line");
	ok(r.changes == 4 && r.again == 0,
	   "4 changes although the file has two names (%d, %d)", r.changes, r.again);
	is_str(r.what, "root= by UUID; net.ifnames=0", "what the first change did");
	ok(r.notes == 1 && strstr(r.note, "/dev/mapper/vg-root is an LVM"),
	   "the LVM root is noted once for the file (%d: %s)", r.notes, r.note);

	fresh("extlinux");
	PUT("extlinux.conf", "LABEL linux\n  KERNEL /boot/vmlinuz\n  APPEND root=/dev/sda2 console=ttyS0\n");
	r = boot_run(NULL);
	is_str(get("extlinux.conf", NULL),
	       "LABEL linux\n  KERNEL /boot/vmlinuz\n  APPEND root=UUID=" U2 " console=ttyS0 " NIC "\n",
	       "/extlinux.conf with upper-case keywords");

	/* An argument added after a last backslash would be joined to the
	 * one before it; a linux line without an image boots nothing. */
	fresh("backslash");
	PUT("boot/grub/grub.cfg", "menuentry 'a' {\n\tlinux /vmlinuz root=/dev/sda2 quiet\\\n}\n");
	r = boot_run(NULL);
	ok(!strcmp(get("boot/grub/grub.cfg", NULL),
		   "menuentry 'a' {\n\tlinux /vmlinuz root=/dev/sda2 quiet\\\n}\n") &&
	   r.changes == 0 && strstr(r.note, "line 2 ends its command line with a backslash"),
	   "a command line ending in a backslash is left whole (%s)", r.note);
	fresh("noimage");
	PUT("boot/grub/grub.cfg", "menuentry 'a' {\n\tlinux\n}\n");
	r = boot_run(NULL);
	ok(!strcmp(get("boot/grub/grub.cfg", NULL), "menuentry 'a' {\n\tlinux\n}\n") &&
	   r.changes == 0, "a linux line without an image is not a command line");

	fresh("empty");
	r = boot_run(NULL);
	ok(r.changes == 0 && r.notes == 0, "no boot loader config: nothing recorded");

	fresh("loop");
	snprintf(link, sizeof(link), "%s/boot", dir);
	mkdir(link, 0755);
	snprintf(link, sizeof(link), "%s/boot/grub", dir);
	mkdir(link, 0755);
	snprintf(link, sizeof(link), "%s/boot/grub/grub.cfg", dir);
	if (symlink("grub.cfg", link))
		printf("# symlink failed\n");
	PUT("etc/default/grub", "GRUB_DISABLE_LINUX_UUID=truely\nGRUB_CMDLINE_LINUX=\"" NIC "\"\n");
	r = boot_run(NULL);
	ok(r.changes == 0 && r.notes == 0,
	   "a grub.cfg that links to itself is skipped; truely is not true (%d, %d)", r.changes, r.notes);
}

static void grubenv(void)
{
	char env[1025], *got;
	size_t len = 0;
	struct result r;
	int n;

	fresh("grubenv");
	PUT("boot/loader/entries/x.conf", "title x\nlinux /vmlinuz\noptions $kernelopts\n");
	n = snprintf(env, sizeof(env), "# GRUB Environment Block\nkernelopts=root=/dev/sda2 ro \n");
	memset(env + n, '#', sizeof(env) - 1 - (size_t)n);
	env[1024] = '\0';
	put("boot/grub2/grubenv", env, 1024);
	r = boot_run(NULL);
	got = get("boot/grub2/grubenv", &len);
	{
		static const char want[] =
			"# GRUB Environment Block\nkernelopts=root=UUID=" U2 " ro " NIC " \n###";
		ok(len == 1024 && !strncmp(got, want, sizeof(want) - 1) && got[1023] == '#',
		   "kernelopts edited, still 1024 bytes (%zu)", len);
	}
	ok(r.changes == 1 && r.again == 0, "one change (%d, %d)", r.changes, r.again);

	/* no room left for the new arguments */
	n = snprintf(env, sizeof(env), "# GRUB Environment Block\nkernelopts=root=/dev/sda2 ro\nx=");
	memset(env + n, 'y', 1000 - (size_t)n);
	env[1000] = '\n';
	memset(env + 1001, '#', 23);
	put("boot/grub2/grubenv", env, 1024);
	r = boot_run(NULL);
	got = get("boot/grub2/grubenv", &len);
	ok(len == 1024 && !memcmp(got, env, 1024), "a grubenv without room is left as it was");
	ok(r.changes == 0 && strstr(r.note, "do not fit"), "and noted (%d: %s)", r.changes, r.note);

	put("boot/grub2/grubenv", env, 1000);
	r = boot_run(NULL);
	ok(r.changes == 0 && strstr(r.note, "not a 1024-byte"), "a short grubenv is left (%s)", r.note);
}

/* A separate /boot: CentOS 6's grub.conf lives on its own filesystem. */
static void boot_mount(void)
{
	struct guest *g = calloc(1, sizeof(*g)), *boot = calloc(1, sizeof(*boot));
	char bootdir[200], link[300];
	struct result r;

	fresh("split-root");
	snprintf(bootdir, sizeof(bootdir), "%s", dir);
	fresh("split-boot");
	PUT("grub/grub.conf", "title CentOS (2.6.32-754.el6.x86_64)\n\troot (hd0,0)\n"
			      "\tkernel /vmlinuz-2.6.32-754.el6.x86_64 ro root=/dev/sda2 rhgb quiet\n");
	snprintf(link, sizeof(link), "%s/grub/menu.lst", dir);
	if (symlink("./grub.conf", link))
		printf("# symlink failed\n");
	if (!g || !boot || guest_dir_open(g, bootdir) || guest_dir_open(boot, dir) ||
	    guest_mount(g, "/boot", boot)) {
		ok(0, "guests opened");
		free(g);
		free(boot);
		return;
	}
	r = boot_run(g);
	is_str(get("grub/grub.conf", NULL),
	       "title CentOS (2.6.32-754.el6.x86_64)\n\troot (hd0,0)\n"
	       "\tkernel /vmlinuz-2.6.32-754.el6.x86_64 ro root=UUID=" U2 " rhgb quiet " NIC "\n",
	       "grub.conf edited on the /boot filesystem");
	ok(r.changes == 1 && r.again == 0, "once, through menu.lst's target (%d, %d)", r.changes, r.again);
	free(g);
}

int main(void)
{
	char cmd[128];

	snprintf(top, sizeof(top), "%s/ferry-boot-XXXXXX", tap_tmpdir());
	if (!mkdtemp(top)) {
		printf("1..0 # SKIP cannot create a temporary directory\n");
		return 0;
	}
	default_grub();
	grub_cfg();
	grubenv();
	boot_mount();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd))
		printf("# could not remove %s\n", top);
	tap_plan(tap_num);
	return tap_done();
}
