/* The selinux rule: every way a SELINUX= line is written, the files it must
 * leave alone, and the enforcing=1 note. */
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

static char dir[64];

static void put(const char *path, const char *text)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, path);
	if (put_file(p, text, strlen(text)))
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
	int changes, notes, again;
	char note[512], before[128], after[128];
};

static struct result run(void)
{
	struct result res = {0};
	struct fix_report rep;
	struct guest g;
	struct fix_ctx c;

	if (guest_dir_open(&g, dir)) {
		res.changes = -1;
		return res;
	}
	fix_report_init(&rep);
	c = (struct fix_ctx){.g = &g, .cloud = "kvm", .rep = &rep};
	res.changes = fix_selinux(&c) ? -1 : (int)rep.nchanges;
	res.notes = (int)rep.nnotes;
	if (rep.nnotes)
		snprintf(res.note, sizeof(res.note), "%s", rep.notes[0].text);
	if (rep.nchanges) {
		snprintf(res.before, sizeof(res.before), "%s", rep.changes[0].before);
		snprintf(res.after, sizeof(res.after), "%s", rep.changes[0].after);
	}
	res.again = fix_selinux(&c) ? -1 : (int)rep.nchanges - res.changes;
	fix_report_release(&rep);
	guest_release(&g);
	return res;
}

/* changes: the SELINUX= lines changed; a system whose SELinux is turned
 * off also gets /.autorelabel (one change more). */
static void config(const char *text, const char *want, int changes, const char *what)
{
	struct result r;
	char relabel[128];

	snprintf(relabel, sizeof(relabel), "%s/.autorelabel", dir);
	unlink(relabel);
	put("etc/selinux/config", text);
	r = run();
	is_str(get("etc/selinux/config"), want, "%s", what);
	if (changes)
		changes++;
	ok(r.changes == changes && r.again == 0, "%s: %d change(s), none the second time (%d, %d)",
	   what, changes, r.changes, r.again);
	is_int(access(relabel, F_OK) == 0, changes > 0,
	       "%s: /.autorelabel %s", what, changes ? "is made (a relabel if it is turned back on)"
						 : "is not made");
}

int main(void)
{
	char cmd[200];
	struct result r;

	snprintf(dir, sizeof(dir), "%s/ferry-selinux-XXXXXX", tap_tmpdir());
	if (!mkdtemp(dir)) {
		printf("1..0 # SKIP cannot create a temporary directory\n");
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/etc/selinux' '%s/boot/grub2'", dir, dir);
	if (system(cmd))
		printf("# mkdir failed\n");

	r = run();
	ok(r.changes == 0 && r.notes == 0, "no /etc/selinux/config: nothing recorded");

	config("SELINUX=enforcing\nSELINUXTYPE=targeted\n", "SELINUX=disabled\nSELINUXTYPE=targeted\n", 1,
	       "enforcing");
	put("etc/selinux/config", "# x\nSELINUX=permissive\n");
	r = run();
	ok(!strcmp(r.before, "SELINUX=permissive") && !strcmp(r.after, "SELINUX=disabled"),
	   "the change has the line before and after ('%s' -> '%s')", r.before, r.after);
	config("SELINUX=Enforcing\n", "SELINUX=disabled\n", 1, "the mode in another case");
	config("  SELINUX=\"enforcing\"  # set by the hardening script\n",
	       "  SELINUX=\"disabled\"  # set by the hardening script\n", 1,
	       "quotes, indent and a trailing comment kept");
	config("SELINUX=disabled\n", "SELINUX=disabled\n", 0, "already disabled");
	config("SELINUX=enforcing", "SELINUX=disabled", 1, "no newline at the end");
	config("SELINUX=enforcing\nSELINUX=permissive\n", "SELINUX=disabled\nSELINUX=disabled\n", 2,
	       "every SELINUX= line");

	put("etc/selinux/config", "SELINUX=enforcing\nSELINUX=strict\n");
	r = run();
	is_str(get("etc/selinux/config"), "SELINUX=enforcing\nSELINUX=strict\n", "an unknown mode: left whole");
	ok(r.changes == 0 && strstr(r.note, "SELINUX=strict is not a mode"), "and noted (%s)", r.note);

	put("etc/selinux/config", "SELINUXTYPE=targeted\n");
	r = run();
	ok(r.changes == 0 && strstr(r.note, "no SELINUX= line"), "no SELINUX= line: noted (%s)", r.note);

	put("etc/selinux/config", "SELINUX=enforcing\n");
	put("boot/grub2/grub.cfg", "menuentry 'x' {\n\tlinux16 /vmlinuz root=UUID=abc ro enforcing=1\n}\n"
				   "menuentry 'y' {\n\tlinux16 /vmlinuz root=UUID=abc ro enforcing=1\n}\n"
				   "menuentry 'z' {\n\tlinux16 /vmlinuz root=UUID=abc ro enforcing=0\n}\n");
	r = run();
	ok(r.changes == 1 && r.notes == 1 && strstr(r.note, "enforcing=1 on a kernel command line"),
	   "enforcing=1 on kernel lines: one note for the file (%d: %s)", r.notes, r.note);
	ok(strstr(get("boot/grub2/grub.cfg"), "ro enforcing=1\n") != NULL,
	   "and the kernel line is not changed");

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		printf("# could not remove %s\n", dir);
	tap_plan(tap_num);
	return tap_done();
}
