/* The fstab, bootloader and selinux rules on tests/samples/<distro> trees:
 * exact lines read back with read(2), the report, and an idempotent rerun. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk/table.h"
#include "fix/fix.h"
#include "util/err.h"
#include "tap.h"
#include "testsh.h"

static char samples[3800];

/* This file is tests/unit/fix_boot.c; the samples are tests/samples. */
static void find_samples(void)
{
	const char *env = getenv("FERRY_SAMPLES");
	char *slash;

	if (env) {
		snprintf(samples, sizeof(samples), "%s", env);
		return;
	}
	snprintf(samples, sizeof(samples), "%s", __FILE__);
	slash = strrchr(samples, '/');
	if (slash)
		*slash = '\0';
	slash = strrchr(samples, '/');
	if (slash)
		snprintf(slash, sizeof(samples) - (size_t)(slash - samples), "/samples");
	else
		snprintf(samples, sizeof(samples), "tests/samples");
}

static char *slurp(const char *dir, const char *path, size_t *len)
{
	char p[4096];
	size_t n;
	char *buf;

	snprintf(p, sizeof(p), "%s/%s", dir, path);
	buf = get_file(p, &n);
	if (buf && len)
		*len = n;
	return buf;
}

/* How many lines of the file are exactly line. */
static int lines_equal(const char *dir, const char *path, const char *line)
{
	char *t = slurp(dir, path, NULL), *p, *nl;
	size_t n = strlen(line);
	int count = 0;

	if (!t)
		return -1;
	for (p = t; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p) - 1;
		if ((size_t)(nl - p) == n && !strncmp(p, line, n) && (p[n] == '\n' || !p[n]))
			count++;
		if (!nl[1] || !*nl)
			break;
	}
	free(t);
	return count;
}

static int contains(const char *dir, const char *path, const char *s)
{
	char *t = slurp(dir, path, NULL);
	int r = t && strstr(t, s) != NULL;

	free(t);
	return r;
}

/* Number of lines that differ between two texts, -1 if they do not have the
 * same number of lines; the "# ferry: was" comments the fstab rule adds to
 * b are not counted. */
static int lines_differ(const char *a, const char *b)
{
	int diff = 0;

	while (*a && *b) {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");

		if (!strncmp(b, "# ferry: was ", 13) && strncmp(a, "# ferry: was ", 13)) {
			b += lb + (b[lb] == '\n');
			continue;
		}

		if (la != lb || memcmp(a, b, la))
			diff++;
		a += la + (a[la] == '\n');
		b += lb + (b[lb] == '\n');
	}
	return *a || *b ? -1 : diff;
}

static int changed_lines(const char *orig_dir, const char *dir, const char *path)
{
	char *a = slurp(orig_dir, path, NULL), *b = slurp(dir, path, NULL);
	int r = a && b ? lines_differ(a, b) : -2;

	free(a);
	free(b);
	return r;
}

/* Every regular file and link of a tree, to compare two runs. */
static struct {
	char text[1 << 20];
	size_t len;
	size_t root;
} snap;

static int snap_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	char buf[4096];
	ssize_t n = 0;
	int fd;

	(void)ftw;
	if (type == FTW_SL) {
		n = readlink(path, buf, sizeof(buf) - 1);
	} else if (type == FTW_F) {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return -1;
		snap.len += (size_t)snprintf(snap.text + snap.len, sizeof(snap.text) - snap.len,
					     "== %s %o %lld\n", path + snap.root,
					     (unsigned)st->st_mode, (long long)st->st_size);
		while (snap.len < sizeof(snap.text) &&
		       (n = read(fd, snap.text + snap.len, sizeof(snap.text) - snap.len)) > 0)
			snap.len += (size_t)n;
		close(fd);
		return n < 0 ? -1 : 0;
	} else {
		return 0;
	}
	if (n < 0)
		return -1;
	buf[n] = '\0';
	snap.len += (size_t)snprintf(snap.text + snap.len, sizeof(snap.text) - snap.len,
				     "== %s -> %s\n", path + snap.root, buf);
	return 0;
}

static char *snapshot(const char *dir)
{
	snap.len = 0;
	snap.root = strlen(dir);
	if (nftw(dir, snap_one, 16, FTW_PHYS) || snap.len >= sizeof(snap.text))
		return NULL;
	return strndup(snap.text, snap.len);
}

struct run {
	const char *name;
	char orig[4096], dir[64];
	struct guest g;
	struct fix_report rep;
	struct fix_ctx c;
};

static int run_open(struct run *r, const char *name, const struct fix_volume *vols, size_t nvols,
		    int root_part, int boot_part)
{
	char cmd[8400];

	memset(r, 0, sizeof(*r));
	r->name = name;
	snprintf(r->orig, sizeof(r->orig), "%s/%s", samples, name);
	snprintf(r->dir, sizeof(r->dir), "%s/ferry-fix-XXXXXX", tap_tmpdir());
	if (!mkdtemp(r->dir))
		return -errno;
	snprintf(cmd, sizeof(cmd), "cp -a '%s/.' '%s/'", r->orig, r->dir);
	if (system(cmd))
		return -EIO;
	if (guest_dir_open(&r->g, r->dir))
		return -EIO;
	fix_report_init(&r->rep);
	r->c = (struct fix_ctx){.g = &r->g, .vols = vols, .nvols = nvols, .root_part = root_part,
				.boot_part = boot_part, .cloud = "kvm", .rep = &r->rep};
	return 0;
}

static int run_rules(struct run *r)
{
	uint32_t mask;
	int err = fix_parse_list("fstab,bootloader,selinux", &mask);

	if (!err)
		err = fix_run(&r->c, mask);
	if (err)
		printf("# %s: %s\n", r->name, ferr_msg());
	return err;
}

static void run_close(struct run *r)
{
	char cmd[128];

	fix_report_release(&r->rep);
	guest_release(&r->g);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
	if (system(cmd))
		printf("# could not remove %s\n", r->dir);
}

static int count(const struct fix_report *rep, const char *rule)
{
	int n = 0;

	for (size_t i = 0; i < rep->nchanges; i++)
		n += !strcmp(rep->changes[i].rule, rule);
	return n;
}

static int count_notes(const struct fix_report *rep, const char *rule, const char *text)
{
	int n = 0;

	for (size_t i = 0; i < rep->nnotes; i++)
		n += !strcmp(rep->notes[i].rule, rule) && strstr(rep->notes[i].text, text);
	return n;
}

/* The change to file whose before text is before. */
static const struct fix_change *change_of(const struct fix_report *rep, const char *file,
					  const char *before)
{
	for (size_t i = 0; i < rep->nchanges; i++)
		if (!strcmp(rep->changes[i].file, file) && rep->changes[i].before &&
		    !strcmp(rep->changes[i].before, before))
			return &rep->changes[i];
	return NULL;
}

/* A second run over the output changes nothing and records no change. */
static void check_again(struct run *r)
{
	char *before = snapshot(r->dir), *after;
	size_t first = r->rep.nchanges, notes = r->rep.nnotes;

	is_int(run_rules(r), 0, "%s: second run succeeds", r->name);
	is_int(r->rep.nchanges - first, 0, "%s: second run records no change", r->name);
	is_int(r->rep.nnotes - notes, 0, "%s: nor a note already made", r->name);
	after = snapshot(r->dir);
	ok(before && after && !strcmp(before, after), "%s: second run leaves every file as it was",
	   r->name);
	free(before);
	free(after);
}

#define D12_ROOT "3b0d1a5e-7f3c-4c2a-9e8b-2d6f1a4c5e70"
#define D12_SWAP "c6f2e8a1-4d5b-4e3f-8a9c-1b2d3e4f5a60"
#define D12_SWAP2 "0a4b6c8d-1e2f-4a3b-9c5d-7e8f9a0b1c2d"

static void debian12(void)
{
	static const struct fix_volume vols[] = {
		{.partnum = 1, .fs = "ext4", .uuid = D12_ROOT},
		{.partnum = 5, .fs = "swap", .uuid = D12_SWAP},
	};
	static const char fstab[] =
		"# /etc/fstab: static file system information.\n"
		"#\n"
		"# Use 'blkid' to print the universally unique identifier for a\n"
		"# device; this may be used with UUID= as a more robust way to name devices\n"
		"# that works even if disks are added and removed. See fstab(5).\n"
		"#\n"
		"# systemd generates mount units based on this file, see systemd.mount(5).\n"
		"# Please run 'systemctl daemon-reload' after you make changes here.\n"
		"#\n"
		"# <file system> <mount point>   <type>  <options>       <dump>  <pass>\n"
		"# / was on /dev/sda1 during installation\n"
		"# ferry: was /dev/sda1\n"
		"UUID=" D12_ROOT " /               ext4    errors=remount-ro 0       1\n"
		"# swap was on /dev/sda5 during installation\n"
		"# ferry: was /dev/sda5\n"
		"UUID=" D12_SWAP " none            swap    sw              0       0\n"
		"/dev/sr0        /media/cdrom0   udf,iso9660 user,noauto     0       0\n"
		"# ferry: disabled, /dev/sdb1 is on /dev/sdb, not on the system disk /dev/sda "
		"(from the / entry of /etc/fstab): it is not in the image\n"
		"#/dev/sdb1       /data           ext4    defaults,noatime 0      2\n"
		"nas01.corp.example.com:/export/backup /mnt/backup nfs4 rw,hard,timeo=600,_netdev 0 0\n";
	const struct fix_change *ch;
	struct run r;
	char *got;

	if (run_open(&r, "debian12", vols, 2, 1, 0)) {
		ok(0, "debian12: sample copied and opened");
		return;
	}
	is_int(run_rules(&r), 0, "debian12: the rules run");
	got = slurp(r.dir, "etc/fstab", NULL);
	is_str(got, fstab, "debian12: fstab by UUID, sdb1 disabled, the rest byte for byte");
	free(got);
	is_int(count(&r.rep, "fstab"), 3, "debian12: 3 fstab changes");
	ch = change_of(&r.rep, "/etc/fstab", "/dev/sda1       /               ext4    errors=remount-ro 0       1");
	is_str(ch ? ch->after : NULL, "UUID=" D12_ROOT " /               ext4    errors=remount-ro 0       1",
	       "debian12: the / change has its before and after lines");

	is_int(lines_equal(r.dir, "boot/grub/grub.cfg",
			   "\tlinux\t/boot/vmlinuz-6.1.0-18-amd64 root=UUID=" D12_ROOT
			   " ro  quiet net.ifnames=0 biosdevname=0"),
	       1, "debian12: the default entry's linux line");
	is_int(lines_equal(r.dir, "boot/grub/grub.cfg",
			   "\t\tlinux\t/boot/vmlinuz-6.1.0-18-amd64 root=UUID=" D12_ROOT
			   " ro single net.ifnames=0 biosdevname=0 "),
	       1, "debian12: recovery entry: added before the trailing blank");
	is_int(lines_equal(r.dir, "boot/grub/grub.cfg",
			   "\t\tlinux\t/boot/vmlinuz-6.1.0-17-amd64 root=UUID=" D12_ROOT
			   " ro  quiet net.ifnames=0 biosdevname=0"),
	       1, "debian12: the older kernel's entry");
	is_int(changed_lines(r.orig, r.dir, "boot/grub/grub.cfg"), 5,
	       "debian12: grub.cfg: only the 5 linux lines changed");
	ok(!contains(r.dir, "boot/grub/grub.cfg", "root=/dev/sda1"), "debian12: no root=/dev/sda1 left");
	is_int(lines_equal(r.dir, "boot/extlinux/extlinux.conf",
			   "\tappend initrd=/boot/initrd.img-6.1.0-18-amd64 root=UUID=" D12_ROOT
			   " ro quiet net.ifnames=0 biosdevname=0"),
	       1, "debian12: extlinux append line");
	is_int(changed_lines(r.orig, r.dir, "boot/extlinux/extlinux.conf"), 2,
	       "debian12: extlinux.conf: both append lines, nothing else");
	is_int(lines_equal(r.dir, "etc/default/grub", "GRUB_CMDLINE_LINUX=\"net.ifnames=0 biosdevname=0\""),
	       1, "debian12: GRUB_CMDLINE_LINUX keeps its quotes");
	is_int(lines_equal(r.dir, "etc/default/grub", "GRUB_DISABLE_LINUX_UUID=false"), 1,
	       "debian12: GRUB_DISABLE_LINUX_UUID=false");
	is_int(lines_equal(r.dir, "etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\""), 1,
	       "debian12: GRUB_CMDLINE_LINUX_DEFAULT left alone");
	is_int(changed_lines(r.orig, r.dir, "etc/default/grub"), 2, "debian12: /etc/default/grub: 2 lines");
	is_int(count(&r.rep, "bootloader"), 9, "debian12: 9 bootloader changes");
	is_int(count(&r.rep, "selinux"), 0, "debian12: no SELinux config, no change");
	check_again(&r);
	run_close(&r);
}

#define U22_ROOT "8d2c5b1e-9a47-4f36-b0c2-6e1f3a7d9b45"

static void ubuntu2204(void)
{
	static const struct fix_volume vols[] = {{.partnum = 2, .fs = "ext4", .uuid = U22_ROOT}};
	struct run r;

	if (run_open(&r, "ubuntu2204", vols, 1, 2, 0)) {
		ok(0, "ubuntu2204: sample copied and opened");
		return;
	}
	is_int(run_rules(&r), 0, "ubuntu2204: the rules run");
	is_int(lines_equal(r.dir, "etc/fstab", "/dev/disk/by-uuid/" U22_ROOT " / ext4 defaults 0 1"), 1,
	       "ubuntu2204: the by-uuid root entry is kept");
	is_int(lines_equal(r.dir, "etc/fstab", "/swap.img\tnone\tswap\tsw\t0\t0"), 1,
	       "ubuntu2204: the swap file is kept");
	is_int(lines_equal(r.dir, "etc/fstab",
			   "# ferry: disabled, partition 1 of the system disk "
			   "(/dev/disk/by-path/pci-0000:00:17.0-ata-2-part1) is not in the image"),
	       0, "ubuntu2204: the by-path disk is not taken for the system disk");
	is_int(lines_equal(r.dir, "etc/fstab",
			   "#/dev/disk/by-path/pci-0000:00:17.0-ata-2-part1 /srv/backup xfs defaults,nofail 0 0"),
	       1, "ubuntu2204: the by-path data disk is disabled");
	ok(contains(r.dir, "etc/fstab", "# ferry: disabled, /dev/disk/by-path/pci-0000:00:17.0-ata-2-part1 is on"),
	   "ubuntu2204: with a note line that says why");
	is_int(lines_equal(r.dir, "etc/fstab", "tmpfs /var/cache/nginx tmpfs defaults,size=512m,mode=0755 0 0"),
	       1, "ubuntu2204: tmpfs kept");
	is_int(count(&r.rep, "fstab"), 1, "ubuntu2204: 1 fstab change");
	is_int(lines_equal(r.dir, "boot/grub/grub.cfg",
			   "\tlinux\t/boot/vmlinuz-5.15.0-91-generic root=UUID=" U22_ROOT
			   " ro net.ifnames=0 biosdevname=0  "),
	       1, "ubuntu2204: the default entry (root already by UUID)");
	is_int(lines_equal(r.dir, "boot/grub/grub.cfg",
			   "\t\tlinux\t/boot/vmlinuz-5.15.0-89-generic root=UUID=" U22_ROOT
			   " ro recovery nomodeset dis_ucode_ldr net.ifnames=0 biosdevname=0 "),
	       1, "ubuntu2204: a recovery entry");
	is_int(lines_equal(r.dir, "boot/grub/grub.cfg", "\tlinux16\t/boot/memtest86+.bin console=ttyS0,115200n8"),
	       1, "ubuntu2204: memtest86+ is not Linux: left alone");
	is_int(changed_lines(r.orig, r.dir, "boot/grub/grub.cfg"), 5, "ubuntu2204: grub.cfg: 5 lines");
	is_int(lines_equal(r.dir, "etc/default/grub", "GRUB_CMDLINE_LINUX=\"net.ifnames=0 biosdevname=0\""),
	       1, "ubuntu2204: /etc/default/grub");
	is_int(lines_equal(r.dir, "etc/default/grub", "#GRUB_DISABLE_LINUX_UUID=true"), 1,
	       "ubuntu2204: a commented-out GRUB_DISABLE_LINUX_UUID stays a comment");
	is_int(count(&r.rep, "bootloader"), 6, "ubuntu2204: 6 bootloader changes");
	check_again(&r);
	run_close(&r);
}

#define C6_BOOT "5e1d6c0a-2b3f-4a8e-9d7c-0f1e2a3b4c5d"
#define C6_ROOT "a7f3e2d1-6c5b-4a09-8f7e-1d2c3b4a5f6e"
#define C6_SWAP "0c9b8a7f-3e2d-4c1b-a09f-8e7d6c5b4a3f"
#define C6_ARGS                                                                            \
	"rd_NO_LUKS LANG=en_US.UTF-8 rd_NO_MD SYSFONT=latarcyrheb-sun16 crashkernel=auto  " \
	"KEYBOARDTYPE=pc KEYTABLE=us rd_NO_DM rhgb quiet"

static void centos6(void)
{
	static const struct fix_volume vols[] = {
		{.partnum = 1, .fs = "ext4", .uuid = C6_BOOT},
		{.partnum = 2, .fs = "ext4", .uuid = C6_ROOT},
		{.partnum = 3, .fs = "swap", .uuid = C6_SWAP},
	};
	const struct fix_change *ch;
	struct run r;

	if (run_open(&r, "centos6", vols, 3, 2, 1)) {
		ok(0, "centos6: sample copied and opened");
		return;
	}
	is_int(run_rules(&r), 0, "centos6: the rules run");
	is_int(lines_equal(r.dir, "etc/fstab", "UUID=" C6_ROOT " /                       ext4    defaults        1 1"),
	       1, "centos6: / by UUID");
	is_int(lines_equal(r.dir, "etc/fstab", "UUID=" C6_BOOT " /boot                   ext4    defaults        1 2"),
	       1, "centos6: /boot by UUID");
	is_int(lines_equal(r.dir, "etc/fstab", "UUID=" C6_SWAP " swap                    swap    defaults        0 0"),
	       1, "centos6: swap by UUID");
	is_int(lines_equal(r.dir, "etc/fstab", "devpts                  /dev/pts                devpts  gid=5,mode=620  0 0"),
	       1, "centos6: devpts kept");
	is_int(lines_equal(r.dir, "etc/fstab", "//fs01/backup           /mnt/backup             cifs    credentials=/root/.smbcred,_netdev 0 0"),
	       1, "centos6: CIFS kept");
	is_int(changed_lines(r.orig, r.dir, "etc/fstab"), 3, "centos6: fstab: 3 lines");
	is_int(lines_equal(r.dir, "boot/grub/grub.conf",
			   "\tkernel /vmlinuz-2.6.32-754.35.1.el6.x86_64 ro root=UUID=" C6_ROOT " " C6_ARGS
			   " net.ifnames=0 biosdevname=0"),
	       1, "centos6: legacy GRUB kernel line");
	is_int(lines_equal(r.dir, "boot/grub/grub.conf", "#          kernel /vmlinuz-version ro root=/dev/sda2"),
	       1, "centos6: the anaconda comment is a comment");
	is_int(changed_lines(r.orig, r.dir, "boot/grub/grub.conf"), 2, "centos6: grub.conf: 2 kernel lines");
	is_int(count(&r.rep, "bootloader"), 2, "centos6: menu.lst is a link to grub.conf: edited once");
	ch = change_of(&r.rep, "/boot/grub/grub.conf",
		       "\tkernel /vmlinuz-2.6.32-754.el6.x86_64 ro root=/dev/sda2 " C6_ARGS);
	ok(ch && !strcmp(ch->what, "root= by UUID; added net.ifnames=0 biosdevname=0"),
	   "centos6: the change names the link's target and says what was done");
	{
		struct stat st;
		char p[4200];
		snprintf(p, sizeof(p), "%s/boot/grub/menu.lst", r.dir);
		ok(!lstat(p, &st) && S_ISLNK(st.st_mode), "centos6: menu.lst is still a link");
	}
	is_int(lines_equal(r.dir, "etc/selinux/config", "SELINUX=disabled"), 1, "centos6: SELINUX=disabled");
	is_int(lines_equal(r.dir, "etc/selinux/config", "SELINUXTYPE=targeted"), 1, "centos6: SELINUXTYPE kept");
	is_int(changed_lines(r.orig, r.dir, "etc/selinux/config"), 1, "centos6: selinux config: 1 line");
	is_int(count(&r.rep, "selinux"), 2, "centos6: 2 selinux changes (the mode, /.autorelabel)");
	check_again(&r);
	run_close(&r);
}

#define C7_BOOT "7d3e1f0a-8c2b-4e6d-a5f4-3b2c1d0e9f8a"
#define C7_SWAP "2f8e7d6c-5b4a-4938-8271-6f5e4d3c2b1a"
#define C7_ROOT "e4c1a9b8-0d7f-4e3c-9b2a-5f6e7d8c9a0b"

static void centos7(void)
{
	static const struct fix_volume vols[] = {
		{.partnum = 1, .fs = "xfs", .uuid = C7_BOOT},
		{.partnum = 2, .fs = "swap", .uuid = C7_SWAP},
		{.partnum = 3, .fs = "xfs", .uuid = C7_ROOT},
	};
	struct run r;

	if (run_open(&r, "centos7", vols, 3, 3, 1)) {
		ok(0, "centos7: sample copied and opened");
		return;
	}
	is_int(run_rules(&r), 0, "centos7: the rules run");
	is_int(lines_equal(r.dir, "etc/fstab", "UUID=" C7_ROOT " /                       xfs     defaults        0 0"),
	       1, "centos7: / by UUID");
	is_int(lines_equal(r.dir, "etc/fstab", "UUID=" C7_BOOT " /boot                   xfs     defaults        0 0"),
	       1, "centos7: /boot already by UUID");
	is_int(lines_equal(r.dir, "etc/fstab", "UUID=" C7_SWAP " swap swap defaults 0 0"), 1,
	       "centos7: by-id swap on the system disk by UUID");
	is_int(lines_equal(r.dir, "etc/fstab", "#/dev/sdb1               /data                   xfs     defaults        0 0"),
	       1, "centos7: /dev/sdb1 disabled");
	is_int(count(&r.rep, "fstab"), 3, "centos7: 3 fstab changes");
	is_int(lines_equal(r.dir, "boot/grub2/grub.cfg",
			   "\tlinux16 /vmlinuz-3.10.0-1160.119.1.el7.x86_64 root=UUID=" C7_ROOT
			   " ro crashkernel=auto resume=UUID=" C7_SWAP
			   " rhgb quiet LANG=en_US.UTF-8 net.ifnames=0 biosdevname=0"),
	       1, "centos7: linux16 line: resume= by UUID");
	is_int(changed_lines(r.orig, r.dir, "boot/grub2/grub.cfg"), 3, "centos7: grub.cfg: 3 linux16 lines");
	is_int(lines_equal(r.dir, "etc/default/grub",
			   "GRUB_CMDLINE_LINUX=\"crashkernel=auto resume=UUID=" C7_SWAP
			   " rhgb quiet net.ifnames=0 biosdevname=0\""),
	       1, "centos7: /etc/default/grub through its target");
	{
		char p[4200], t[64];
		ssize_t n;
		snprintf(p, sizeof(p), "%s/etc/sysconfig/grub", r.dir);
		n = readlink(p, t, sizeof(t) - 1);
		t[n > 0 ? n : 0] = '\0';
		is_str(t, "../default/grub", "centos7: /etc/sysconfig/grub is still the link");
	}
	is_int(count(&r.rep, "bootloader"), 4, "centos7: 4 bootloader changes (the link is not counted twice)");
	is_int(lines_equal(r.dir, "etc/selinux/config", "SELINUX=disabled"), 1, "centos7: SELINUX=disabled");
	is_int(lines_equal(r.dir, "etc/selinux/config", "SELINUXTYPE=targeted "), 1,
	       "centos7: the trailing blank after SELINUXTYPE is kept");
	check_again(&r);
	run_close(&r);
}

#define R8_BOOT "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
#define R8_ROOT "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
#define R8_SWAP "6e5d4c3b-2a1f-4e0d-9c8b-7a6f5e4d3c2b"
#define R8_OPTS "root=UUID=" R8_ROOT " ro crashkernel=auto resume=UUID=" R8_SWAP \
	" rhgb quiet net.ifnames=0 biosdevname=0 "

/* --exclude 2 on CentOS 7: its swap is not in the image, so resume= is
 * noresume on every command line (dracut would wait for it), and fstab's
 * line is disabled. */
static void centos7_swap_excluded(void)
{
	static const struct fix_volume vols[] = {
		{.partnum = 1, .fs = "xfs", .uuid = C7_BOOT},
		{.partnum = 2, .fs = "swap", .uuid = C7_SWAP},
		{.partnum = 3, .fs = "xfs", .uuid = C7_ROOT},
	};
	struct part_set ex = {0};
	struct run r;

	part_set_add(&ex, 2);
	if (run_open(&r, "centos7", vols, 3, 3, 1)) {
		ok(0, "centos7, swap excluded: sample copied and opened");
		return;
	}
	r.c.exclude = &ex;
	is_int(run_rules(&r), 0, "centos7, swap excluded: the rules run");
	is_int(lines_equal(r.dir, "boot/grub2/grub.cfg",
			   "\tlinux16 /vmlinuz-3.10.0-1160.119.1.el7.x86_64 root=UUID=" C7_ROOT
			   " ro crashkernel=auto noresume rhgb quiet LANG=en_US.UTF-8 net.ifnames=0 biosdevname=0"),
	       1, "centos7, swap excluded: linux16 line with noresume");
	is_int(contains(r.dir, "boot/grub2/grub.cfg", "resume="), 0,
	       "centos7, swap excluded: no resume= left in grub.cfg");
	is_int(lines_equal(r.dir, "etc/default/grub",
			   "GRUB_CMDLINE_LINUX=\"crashkernel=auto noresume rhgb quiet net.ifnames=0 biosdevname=0\""),
	       1, "centos7, swap excluded: GRUB_CMDLINE_LINUX with noresume");
	{
		const char *what = NULL;

		for (size_t i = 0; i < r.rep.nchanges; i++)
			if (!strcmp(r.rep.changes[i].file, "/etc/default/grub"))
				what = r.rep.changes[i].what;
		ok(what && strstr(what, "resume= is noresume: partition 2 is left out of the image"),
		   "centos7, swap excluded: the report says why (%s)", what ? what : "no change");
	}
	is_int(contains(r.dir, "etc/fstab", "partition 2 is left out of the image (--exclude)"), 1,
	       "centos7, swap excluded: the swap's fstab line disabled, with the reason");
	check_again(&r);
	run_close(&r);
}

/* Writes text into a file of r's tree (its directories made). */
static int put(const struct run *r, const char *dir, const char *name, const char *text)
{
	char cmd[4400], path[4400];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", r->dir, dir);
	snprintf(path, sizeof(path), "%s/%s/%s", r->dir, dir, name);
	if (system(cmd) || !(f = fopen(path, "w")))
		return -1;
	fputs(text, f);
	return fclose(f) ? -1 : 0;
}

/* What the report says of the noresume added to /etc/default/grub, or NULL. */
static const char *noresume_reason(const struct run *r)
{
	const char *what = NULL;

	for (size_t i = 0; i < r->rep.nchanges; i++)
		if (!strcmp(r->rep.changes[i].file, "/etc/default/grub") &&
		    strstr(r->rep.changes[i].what, "noresume"))
			what = r->rep.changes[i].what;
	return what;
}

/* The debian12 sample after the rules, the swap left out: noresume on the
 * default entry and in GRUB_CMDLINE_LINUX, and the report says why. */
static void check_noresume(const struct run *r, const char *how, const char *why)
{
	const char *what = noresume_reason(r);

	is_int(lines_equal(r->dir, "boot/grub/grub.cfg",
			   "\tlinux\t/boot/vmlinuz-6.1.0-18-amd64 root=UUID=" D12_ROOT
			   " ro  quiet net.ifnames=0 biosdevname=0 noresume"),
	       1, "%s: the default entry's linux line with noresume", how);
	is_int(lines_equal(r->dir, "etc/default/grub",
			   "GRUB_CMDLINE_LINUX=\"net.ifnames=0 biosdevname=0 noresume\""),
	       1, "%s: GRUB_CMDLINE_LINUX (what grub-mkconfig writes again)", how);
	ok(what && strstr(what, why), "%s: the report says why (%s)", how,
	   what ? what : "no change");
}

/* No noresume anywhere: the swap is in the image, or not resumed from. */
static void check_no_noresume(const struct run *r, const char *how)
{
	is_int(contains(r->dir, "boot/grub/grub.cfg", "noresume") +
		       contains(r->dir, "etc/default/grub", "noresume"),
	       0, "%s: no noresume", how);
}

/* Debian names its swap only in initramfs-tools' conf.d/resume (no resume=
 * on a command line): with --exclude 5 it would wait for that swap at every
 * boot, so every command line gets noresume. Without --exclude, nothing. */
static void debian12_swap_excluded(void)
{
	static const struct fix_volume vols[] = {
		{.partnum = 1, .fs = "ext4", .uuid = D12_ROOT},
		{.partnum = 5, .fs = "swap", .uuid = D12_SWAP},
	};
	struct part_set ex = {0};
	struct run r;

	part_set_add(&ex, 5);
	for (int excluded = 0; excluded < 2; excluded++) {
		const char *how = excluded ? "debian12, swap excluded" : "debian12, conf.d/resume";

		if (run_open(&r, "debian12", vols, 2, 1, 0) ||
		    put(&r, "etc/initramfs-tools/conf.d", "resume",
			"# written by the installer\nRESUME=\"UUID=" D12_SWAP "\"\n")) {
			ok(0, "%s: sample copied and opened", how);
			return;
		}
		r.c.exclude = excluded ? &ex : NULL;
		is_int(run_rules(&r), 0, "%s: the rules run", how);
		if (!excluded) {
			check_no_noresume(&r, how);
			run_close(&r);
			continue;
		}
		check_noresume(&r, how, "added noresume: partition 5, which "
				       "/etc/initramfs-tools/conf.d/resume resumes from, is left "
				       "out of the image");
		is_int(lines_equal(r.dir, "boot/grub/grub.cfg",
				   "\t\tlinux\t/boot/vmlinuz-6.1.0-18-amd64 root=UUID=" D12_ROOT
				   " ro single net.ifnames=0 biosdevname=0 noresume "),
		       1, "%s: the recovery entry too, before the trailing blank", how);
		is_int(lines_equal(r.dir, "boot/extlinux/extlinux.conf",
				   "\tappend initrd=/boot/initrd.img-6.1.0-18-amd64 root=UUID=" D12_ROOT
				   " ro quiet net.ifnames=0 biosdevname=0 noresume"),
		       1, "%s: extlinux append line", how);
		check_again(&r);
		run_close(&r);
	}
}

/* A resume= by UUID= of a swap left out is noresume too, as by device
 * name (centos7_swap_excluded). */
static void debian12_resume_uuid_excluded(void)
{
	static const struct fix_volume vols[] = {
		{.partnum = 1, .fs = "ext4", .uuid = D12_ROOT},
		{.partnum = 5, .fs = "swap", .uuid = D12_SWAP},
	};
	struct part_set ex = {0};
	struct run r;

	part_set_add(&ex, 5);
	if (run_open(&r, "debian12", vols, 2, 1, 0) ||
	    put(&r, "etc/default", "grub",
		"GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=\"resume=UUID=" D12_SWAP " quiet\"\n")) {
		ok(0, "debian12, resume=UUID= excluded: sample copied and opened");
		return;
	}
	r.c.exclude = &ex;
	is_int(run_rules(&r), 0, "debian12, resume=UUID= excluded: the rules run");
	is_int(lines_equal(r.dir, "etc/default/grub",
			   "GRUB_CMDLINE_LINUX=\"noresume quiet net.ifnames=0 biosdevname=0\""),
	       1, "debian12, resume=UUID= excluded: GRUB_CMDLINE_LINUX with noresume");
	is_int(contains(r.dir, "etc/default/grub", "resume=UUID"), 0,
	       "debian12, resume=UUID= excluded: no resume= left");
	run_close(&r);
}

/* An initrd whose RESUME was found when it was built: initramfs-tools'
 * resume hook wrote it into the initrd as conf/conf.d/zz-resume-auto, with
 * nothing in /etc. Built here with cpio and zstd as mkinitramfs does. The
 * member set last in name order is the one that counts: a later
 * RESUME=none, or a swap in the image, gets no noresume. */
static void debian12_initrd_resume(void)
{
	static const struct fix_volume vols[] = {
		{.partnum = 1, .fs = "ext4", .uuid = D12_ROOT},
		{.partnum = 5, .fs = "swap", .uuid = D12_SWAP},
		{.partnum = 6, .fs = "swap", .uuid = D12_SWAP2},
	};
	static const struct {
		const char *how, *later; /* a conf.d member after zz-resume-auto */
		const char *swap;        /* what zz-resume-auto names */
		bool noresume;
	} cases[] = {
		{"initrd zz-resume-auto, swap excluded", NULL, "UUID=" D12_SWAP, true},
		{"initrd zz-resume-auto, RESUME=none after it", "RESUME=none\n",
		 "UUID=" D12_SWAP, false},
		{"initrd zz-resume-auto, swap in the image", NULL, "UUID=" D12_SWAP2, false},
	};
	struct part_set ex = {0};
	struct run r;

	part_set_add(&ex, 5);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const char *how = cases[k].how;
		char text[200], cmd[4400];

		snprintf(text, sizeof(text), "RESUME=%s\n", cases[k].swap);
		if (run_open(&r, "debian12", vols, 3, 1, 0) ||
		    put(&r, "rd/conf", "initramfs.conf", "MODULES=most\nBUSYBOX=auto\n") ||
		    put(&r, "rd/conf/conf.d", "zz-resume-auto", text) ||
		    (cases[k].later && put(&r, "rd/conf/conf.d", "zzz-local", cases[k].later))) {
			ok(0, "%s: sample copied and opened", how);
			return;
		}
		snprintf(cmd, sizeof(cmd),
			 "cd '%s/rd' && find . | LC_ALL=C sort | cpio -o -H newc --quiet | "
			 "zstd -q -c > '%s/boot/initrd.img-6.1.0-18-amd64' && rm -r '%s/rd'",
			 r.dir, r.dir, r.dir);
		if (system(cmd)) {
			ok(0, "%s: initrd built with cpio and zstd", how);
			run_close(&r);
			return;
		}
		r.c.exclude = &ex;
		is_int(run_rules(&r), 0, "%s: the rules run", how);
		if (!cases[k].noresume) {
			check_no_noresume(&r, how);
			run_close(&r);
			continue;
		}
		check_noresume(&r, how, "added noresume: partition 5, which "
				       "/boot/initrd.img-6.1.0-18-amd64 resumes from (its "
				       "conf/conf.d/zz-resume-auto), is left out of the image");
		check_again(&r);
		run_close(&r);
	}
}

static void rhel8(void)
{
	static const struct fix_volume vols[] = {
		{.partnum = 1, .fs = "xfs", .uuid = R8_BOOT},
		{.partnum = 2, .fs = "xfs", .uuid = R8_ROOT},
		{.partnum = 3, .fs = "swap", .uuid = R8_SWAP},
	};
	size_t len = 0;
	char *env;
	struct run r;

	if (run_open(&r, "rhel8", vols, 3, 2, 1)) {
		ok(0, "rhel8: sample copied and opened");
		return;
	}
	is_int(run_rules(&r), 0, "rhel8: the rules run");
	is_int(lines_equal(r.dir, "etc/fstab", "UUID=" R8_SWAP " none                    swap    defaults        0 0"),
	       1, "rhel8: swap by UUID");
	is_int(lines_equal(r.dir, "etc/fstab", "/dev/mapper/vg_data-lv_data /srv/data           xfs     defaults        0 0"),
	       1, "rhel8: the LVM volume is left");
	is_int(count_notes(&r.rep, "fstab", "/dev/mapper/vg_data-lv_data is an LVM"), 1,
	       "rhel8: with a note that it is not in the image");
	is_int(lines_equal(r.dir, "etc/fstab", "nfs01.example.com:/exports/home /home           nfs     defaults,_netdev 0 0"),
	       1, "rhel8: NFS kept");
	is_int(count(&r.rep, "fstab"), 3, "rhel8: 3 fstab changes");
	env = slurp(r.dir, "boot/grub2/grubenv", &len);
	is_int(len, 1024, "rhel8: grubenv is still 1024 bytes");
	ok(env && strstr(env, "\nkernelopts=" R8_OPTS "\nboot_success=1\n"),
	   "rhel8: grubenv kernelopts by UUID with net.ifnames=0 biosdevname=0");
	ok(env && len == 1024 && env[1023] == '#' && strstr(env, "boot_indeterminate=0\n###"),
	   "rhel8: grubenv padded with '#' to the end");
	free(env);
	is_int(lines_equal(r.dir, "boot/grub2/grub.cfg", "  set kernelopts=\"" R8_OPTS "\""), 1,
	       "rhel8: grub.cfg's fallback kernelopts");
	is_int(changed_lines(r.orig, r.dir, "boot/grub2/grub.cfg"), 1, "rhel8: grub.cfg: that line only");
	is_int(changed_lines(r.orig, r.dir, "boot/loader/entries/8c1f0e2d3b4a49587a6b5c4d3e2f1a0b-4.18.0-513.24.1.el8_9.x86_64.conf"),
	       0, "rhel8: BLS entries with $kernelopts are left");
	is_int(lines_equal(r.dir, "etc/default/grub",
			   "GRUB_CMDLINE_LINUX=\"crashkernel=auto resume=UUID=" R8_SWAP
			   " rhgb quiet net.ifnames=0 biosdevname=0\""),
	       1, "rhel8: /etc/default/grub");
	is_int(count(&r.rep, "bootloader"), 3, "rhel8: 3 bootloader changes");
	is_int(count(&r.rep, "selinux"), 2, "rhel8: 2 selinux changes (the mode, /.autorelabel)");
	check_again(&r);
	run_close(&r);
}

#define R9_EFI "5A1C-3F2E"
#define R9_BOOT "3d4e5f6a-7b8c-4d9e-a0f1-b2c3d4e5f6a7"
#define R9_ROOT "b8c9d0e1-f2a3-4b4c-95d6-e7f8a9b0c1d2"
#define R9_SWAP "4a5b6c7d-8e9f-4a0b-b1c2-d3e4f5a6b7c8"
#define R9_MID "2e7b4c9a1d3f4e5b8c6a7d9e0f1b2c3d"

static void rhel9(void)
{
	static const struct fix_volume vols[] = {
		{.partnum = 1, .fs = "vfat", .uuid = R9_EFI},
		{.partnum = 2, .fs = "xfs", .uuid = R9_BOOT},
		{.partnum = 3, .fs = "xfs", .uuid = R9_ROOT},
		{.partnum = 4, .fs = "swap", .uuid = R9_SWAP},
	};
	struct run r;

	if (run_open(&r, "rhel9", vols, 4, 3, 2)) {
		ok(0, "rhel9: sample copied and opened");
		return;
	}
	is_int(run_rules(&r), 0, "rhel9: the rules run");
	is_int(lines_equal(r.dir, "etc/fstab", "UUID=" R9_EFI "          /boot/efi               vfat    umask=0077,shortname=winnt 0 2"),
	       1, "rhel9: a short vfat UUID keeps the columns");
	is_int(lines_equal(r.dir, "etc/fstab", "# ferry: disabled, partition 6 of the system disk (/dev/sda6) is not in the image"),
	       1, "rhel9: a partition left out of the image: note line");
	is_int(lines_equal(r.dir, "etc/fstab", "#/dev/sda6               /var/lib/mysql          xfs     defaults,noatime 0 0"),
	       1, "rhel9: and its entry disabled");
	is_int(count(&r.rep, "fstab"), 5, "rhel9: 5 fstab changes");
	is_int(lines_equal(r.dir, "boot/loader/entries/" R9_MID "-5.14.0-362.24.1.el9_3.x86_64.conf",
			   "options root=UUID=" R9_ROOT " ro crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M resume=UUID=" R9_SWAP
			   " rhgb quiet enforcing=1 $tuned_params net.ifnames=0 biosdevname=0"),
	       1, "rhel9: BLS options line");
	is_int(changed_lines(r.orig, r.dir, "boot/loader/entries/" R9_MID "-0-rescue.conf"), 1,
	       "rhel9: the rescue entry too");
	is_int(changed_lines(r.orig, r.dir, "boot/efi/EFI/redhat/grub.cfg"), 0,
	       "rhel9: the EFI stub grub.cfg has no kernel line");
	is_int(changed_lines(r.orig, r.dir, "boot/grub2/grubenv"), 0, "rhel9: grubenv without kernelopts is left");
	is_int(count(&r.rep, "bootloader"), 4, "rhel9: 4 bootloader changes");
	is_int(lines_equal(r.dir, "etc/selinux/config", "SELINUX=disabled"), 1, "rhel9: permissive becomes disabled");
	is_int(count_notes(&r.rep, "selinux", "enforcing=1"), 4,
	       "rhel9: enforcing=1 noted once per file (3 BLS entries, /etc/default/grub)");
	check_again(&r);
	run_close(&r);
}

#define S15_ROOT "6f2a1b3c-4d5e-4f6a-8b7c-9d0e1f2a3b4c"
#define S15_HOME "d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f5a"
#define S15_SWAP "9b8a7c6d-5e4f-4321-a0b9-c8d7e6f5a4b3"

static void sles15(void)
{
	static const struct fix_volume vols[] = {
		{.partnum = 2, .fs = "btrfs", .uuid = S15_ROOT},
		{.partnum = 3, .fs = "xfs", .uuid = S15_HOME},
		{.partnum = 4, .fs = "swap", .uuid = S15_SWAP},
	};
	struct run r;

	if (run_open(&r, "sles15", vols, 3, 2, 0)) {
		ok(0, "sles15: sample copied and opened");
		return;
	}
	is_int(run_rules(&r), 0, "sles15: the rules run");
	is_int(lines_equal(r.dir, "etc/fstab", "UUID=" S15_ROOT " /.snapshots btrfs subvol=/@/.snapshots 0 0"),
	       1, "sles15: a btrfs subvolume entry by UUID");
	is_int(lines_equal(r.dir, "etc/fstab", "UUID=" S15_HOME " /home xfs defaults 0 0"), 1,
	       "sles15: a by-path name of the system disk by UUID");
	is_int(lines_equal(r.dir, "etc/fstab", "UUID=" S15_SWAP " swap swap defaults 0 0"), 1,
	       "sles15: swap by UUID");
	is_int(lines_equal(r.dir, "etc/fstab",
			   "#/dev/disk/by-id/scsi-3600508b400105e210000900000490000-part1 /srv/sapdata xfs defaults,nofail 0 0"),
	       1, "sles15: the SAN LUN is disabled");
	is_int(count(&r.rep, "fstab"), 13, "sles15: 13 fstab changes");
	is_int(lines_equal(r.dir, "boot/grub2/grub.cfg",
			   "\tlinux\t/boot/vmlinuz-5.14.21-150500.55.39-default root=UUID=" S15_ROOT
			   "  ${extra_cmdline} splash=silent resume=UUID=" S15_SWAP
			   " mitigations=auto quiet security=apparmor net.ifnames=0 biosdevname=0"),
	       1, "sles15: linux line: by-id resume= by UUID");
	is_int(lines_equal(r.dir, "etc/default/grub",
			   "GRUB_CMDLINE_LINUX_DEFAULT=\"splash=silent resume=UUID=" S15_SWAP
			   " mitigations=auto quiet security=apparmor\""),
	       1, "sles15: resume= in GRUB_CMDLINE_LINUX_DEFAULT, nothing added there");
	is_int(lines_equal(r.dir, "etc/default/grub", "GRUB_CMDLINE_LINUX=\"net.ifnames=0 biosdevname=0\""),
	       1, "sles15: GRUB_CMDLINE_LINUX gets the NIC names");
	is_int(count(&r.rep, "bootloader"), 5, "sles15: 5 bootloader changes");
	is_int(count(&r.rep, "selinux") + count_notes(&r.rep, "selinux", ""), 0,
	       "sles15: no /etc/selinux/config: nothing recorded");
	check_again(&r);
	run_close(&r);
}

static void rule_list(void)
{
	uint32_t mask = 0;
	size_t fstab = 0, selinux = 0;

	for (size_t i = 0; i < fix_nrules; i++) {
		if (!strcmp(fix_rules[i].name, "fstab"))
			fstab = i;
		if (!strcmp(fix_rules[i].name, "selinux"))
			selinux = i;
	}
	is_int(fix_parse_list("fstab,selinux", &mask), 0, "fstab,selinux parses");
	is_int(mask, (1u << fstab) | (1u << selinux), "and selects exactly those two rules");
	ok(!strcmp(fix_rules[0].name, "fstab") && !strcmp(fix_rules[1].name, "bootloader") &&
		   !strcmp(fix_rules[2].name, "selinux"),
	   "fstab, bootloader, selinux come first in the table");
	is_int(fix_parse_list("fstab,grub", &mask), -EINVAL, "an unknown rule is an error");
	ok(strstr(ferr_msg(), "unknown rule 'grub'") != NULL, "that names it: %s", ferr_msg());
}

int main(void)
{
	find_samples();
	rule_list();
	debian12();
	ubuntu2204();
	centos6();
	centos7();
	centos7_swap_excluded();
	debian12_swap_excluded();
	debian12_resume_uuid_excluded();
	debian12_initrd_resume();
	rhel8();
	rhel9();
	sles15();
	tap_plan(tap_num);
	return tap_done();
}
