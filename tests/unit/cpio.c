/* cpio against GNU cpio and bsdcpio: their archives parse right, ours
 * extract to the same tree and list added members; damage fails cleanly. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "initrd/cpio.h"
#include "tap.h"
#include "testsh.h"
#include "util/err.h"

static char dir[192];

static bool data_is(const struct cpio_entry *e, const char *s)
{
	return e && e->size == strlen(s) && !memcmp(e->data, s, e->size);
}

/* Files, a setuid binary, hardlinks (3 and 2 names), symlinks, an empty
 * file and directory, a private directory, a fifo. */
static const char tree[] =
	"mkdir -p src/etc/modprobe.d src/usr/lib/modules/6.1.0/kernel src/bin src/empty && "
	"printf 'hello\\n' > src/etc/hostname && : > src/etc/emptyfile && "
	"head -c 100003 /dev/urandom > src/usr/lib/modules/6.1.0/kernel/big.ko && "
	"printf abc > src/bin/busybox && ln src/bin/busybox src/bin/sh && "
	"ln src/bin/busybox src/bin/ls && printf xy > src/etc/a && ln src/etc/a src/etc/b && "
	"ln -s busybox src/bin/ash && ln -s /usr/lib src/lib && ln -s ../etc/hostname src/bin/hn && "
	"mkfifo src/etc/fifo && chmod 0700 src/etc/modprobe.d && chmod 4755 src/bin/busybox && "
	"chmod 0644 src/etc/hostname src/etc/a";

/* What `find` and cpio -i agree on: path, mode, type, link count. */
#define LISTING "find . -printf '%%p %%m %%y %%n\\n' | sort"

static void parse_gnu(struct cpio_archive *a, const uint8_t *buf, size_t len)
{
	const struct cpio_entry *e, *sh1, *ls;
	size_t used, n;
	uint8_t *big;
	int err;

	err = cpio_parse(buf, len, a, &used);
	is_int(err, 0, "GNU cpio's newc archive parses");
	if (err)
		printf("# %s\n", ferr_msg());
	ok(used % 4 == 0 && used <= len && used + 512 > len, "consumed %zu of %zu (512-byte fill)",
	   used, len);
	sh("cd src && find . | wc -l > ../count");
	big = get_file("count", &n);
	is_int(a->n, big ? strtol((char *)big, NULL, 10) : -1, "one member per file");
	free(big);
	e = cpio_find(a, "etc/hostname");
	ok(data_is(e, "hello\n") && e->mode == (S_IFREG | 0644), "etc/hostname: contents and mode");
	ok(cpio_find(a, "./etc/hostname") == e && cpio_find(a, "/etc/hostname") == e,
	   "./x, /x and x name the same member");
	e = cpio_find(a, "lib");
	ok(e && S_ISLNK(e->mode) && data_is(e, "/usr/lib"), "symlink lib -> /usr/lib");
	e = cpio_find(a, "etc/modprobe.d/");
	ok(e && e->mode == (S_IFDIR | 0700), "private directory (trailing slash ignored)");
	e = cpio_find(a, "etc/fifo");
	ok(e && S_ISFIFO(e->mode), "fifo");
	e = cpio_find(a, "bin/busybox");
	sh1 = cpio_find(a, "bin/sh");
	ls = cpio_find(a, "bin/ls");
	ok(e && sh1 && ls && e->nlink == 3 && e->ino == sh1->ino && e->ino == ls->ino &&
	   e->mode == (S_IFREG | 04755),
	   "three hardlinked names share an inode, nlink 3, setuid");
	ok(data_is(e, "abc") && data_is(sh1, "abc") && data_is(ls, "abc"),
	   "every name of the hardlink shows the contents");
	e = cpio_find(a, "usr/lib/modules/6.1.0/kernel/big.ko");
	big = get_file("src/usr/lib/modules/6.1.0/kernel/big.ko", &n);
	ok(e && big && e->size == n && !memcmp(e->data, big, n), "a 100003-byte file");
	free(big);
	ok(cpio_find(a, "etc/none") == NULL, "absent member");
}

static void round_trip(struct cpio_archive *a)
{
	struct cpio_archive b;
	void *out, *out2;
	size_t len, len2, used;

	is_int(cpio_write(a, &out, &len), 0, "write it back");
	put_file("ours.cpio", out, len);
	is_int(sh("mkdir x1 && cd x1 && cpio -idm --quiet < ../ours.cpio"), 0,
	       "GNU cpio extracts our archive");
	is_int(sh("diff -r --no-dereference -x fifo src x1"), 0,
	       "extracted tree equals the source (diff -r)");
	is_int(sh("(cd src && " LISTING ") > l.src && (cd x1 && " LISTING ") > l.x1 && "
		  "diff l.src l.x1"),
	       0, "same modes, types and link counts");
	is_int(cpio_parse(out, len, &b, &used), 0, "our archive parses");
	is_int(cpio_write(&b, &out2, &len2), 0, "and writes");
	ok(len == len2 && !memcmp(out, out2, len), "byte for byte the same the second time");
	cpio_archive_release(&b);
	free(out);
	free(out2);
}

static void additions(struct cpio_archive *a)
{
	static const char ko[] = "\x7f" "ELF virtio_blk";
	const char *path = "usr/lib/modules/6.1.0/kernel/drivers/block/virtio_blk.ko";
	void *out;
	size_t len, n = a->n;

	is_int(cpio_add_file(a, path, ko, sizeof(ko) - 1, 0644), 0, "add a module");
	is_int(a->n, n + 3, "its two missing parent directories come with it");
	is_int(cpio_add_symlink(a, "bin/vi", "busybox"), 0, "add a symlink");
	is_int(cpio_add_dir(a, "/new/dir", 0750), 0, "add a directory");
	n = a->n;
	is_int(cpio_add_file(a, "./etc/hostname", "kvm\n", 4, 0600), 0, "replace a file");
	is_int(a->n, n, "in place");
	is_int(cpio_add_file(a, "bin/ls", "new ls", 6, 0755), 0, "replace one name of a hardlink");
	is_int(cpio_remove(a, "etc/b"), 0, "remove one name of another");
	is_int(cpio_remove(a, "etc/b"), -ENOENT, "removing it again: ENOENT");
	is_int(cpio_add_file(a, "etc/hostname/x", "", 0, 0644), -ENOTDIR,
	       "a file cannot go under a file");
	is_int(cpio_add_file(a, "/", "", 0, 0644), -EINVAL, "the root is not a file name");
	is_int(cpio_write(a, &out, &len), 0, "write the changed archive");
	put_file("ours2.cpio", out, len);
	free(out);
	sh("cp -a src exp && mkdir -p exp/usr/lib/modules/6.1.0/kernel/drivers/block && "
	   "printf '\\177ELF virtio_blk' > exp/%s && chmod 644 exp/%s && "
	   "ln -s busybox exp/bin/vi && mkdir -p exp/new/dir && chmod 750 exp/new/dir && "
	   "rm exp/etc/hostname && printf 'kvm\\n' > exp/etc/hostname && chmod 600 exp/etc/hostname && "
	   "rm exp/bin/ls && printf 'new ls' > exp/bin/ls && chmod 755 exp/bin/ls && rm exp/etc/b",
	   path, path);
	is_int(sh("mkdir x2 && cd x2 && cpio -idm --quiet < ../ours2.cpio"), 0,
	       "GNU cpio extracts the changed archive");
	is_int(sh("diff -r --no-dereference -x fifo exp x2"), 0, "it equals the expected tree");
	is_int(sh("(cd exp && " LISTING ") > l.exp && (cd x2 && " LISTING ") > l.x2 && "
		  "diff l.exp l.x2"),
	       0, "modes, types and link counts (busybox 2 names, etc/a 1)");
	is_int(sh("cpio -t --quiet < ours2.cpio > t.gnu && grep -qx %s t.gnu && grep -qx bin/vi t.gnu "
		  "&& grep -qx new/dir t.gnu",
		  path),
	       0, "cpio -t lists the added members");
	is_int(sh("bsdcpio -it --quiet < ours2.cpio > t.bsd && grep -qx %s t.bsd && "
		  "grep -qx bin/vi t.bsd && grep -qx new t.bsd",
		  path),
	       0, "bsdcpio -it lists them too");
}

static void formats(void)
{
	struct cpio_archive a;
	uint8_t *buf, *hit;
	size_t len, used;

	sh("cd src && find . | cpio -o -H crc --quiet > ../crc.cpio && "
	   "find . | cpio -o -H odc --quiet > ../odc.cpio");
	buf = get_file("crc.cpio", &len);
	is_int(cpio_parse(buf, len, &a, &used), 0, "crc (070702) archive parses");
	ok(data_is(cpio_find(&a, "bin/sh"), "abc"), "crc: hardlinked contents");
	cpio_archive_release(&a);
	hit = memmem(buf, len, "hello\n", 6);
	if (hit)
		hit[0] = 'j';
	is_int(cpio_parse(buf, len, &a, &used), -EBADMSG, "crc: a changed byte fails the checksum");
	ok(strstr(ferr_msg(), "etc/hostname") != NULL, "the message names the member: %s",
	   ferr_msg());
	free(buf);
	buf = get_file("odc.cpio", &len);
	is_int(cpio_parse(buf, len, &a, &used), -ENOTSUP, "odc (070707) is refused");
	free(buf);
	is_int(cpio_parse("", 0, &a, &used), -ENODATA, "nothing: no trailer");
	is_int(cpio_parse("\0\0\0\0\0\0\0\0", 8, &a, &used), -ENODATA, "zeros: no trailer");

	/* A header that claims a 3.5 GB name (found by tests/fuzz/initrd.c:
	 * libarchive allocated it before seeing the data end) is refused
	 * before libarchive reads it. */
	{
		static const char huge[] = "070701" "00000001" "000081a4" "00000000" "00000000"
					   "00000001" "00000000" "00000000" "00000000" "00000000"
					   "00000000" "00000000" "d0000000" "00000000" "x";

		is_int(cpio_parse(huge, sizeof(huge) - 1, &a, &used), -EBADMSG,
		       "a name size of 0xd0000000 is refused");
		ok(strstr(ferr_msg(), "a member name of 3489660928 bytes at offset 0") != NULL,
		   "... saying so: %s", ferr_msg());
	}
	/* A member claiming 2.9 GB with 8 bytes of data after it (found by
	 * the initrd fuzz target: its claimed size was allocated before the
	 * data was found short) is a truncated member, with no copy made. */
	{
		static const char cut[] = "070701" "00000001" "000081a4" "00000000" "00000000"
					  "00000001" "00000000" "b0000000" "00000000" "00000000"
					  "00000000" "00000000" "00000002" "00000000" "x\0" "12345678";

		is_int(cpio_parse(cut, sizeof(cut) - 1, &a, &used), -EBADMSG,
		       "a member claiming 0xb0000000 bytes with 8 there is cut short");
		ok(strstr(ferr_msg(), "truncated member at offset 0") != NULL, "... saying so: %s",
		   ferr_msg());
	}
	/* A field that is not hexadecimal ends the members the kernel reads:
	 * libarchive is not shown what the kernel would not take. */
	{
		static const char nothex[] = "070701" "00000001" "000081a4" "00000000" "00000000"
					     "00000001" "00000000" "0000000g" "00000000" "00000000"
					     "00000000" "00000000" "00000002" "00000000" "x\0"
					     "12345678";

		is_int(cpio_parse(nothex, sizeof(nothex) - 1, &a, &used), -EBADMSG,
		       "a size field of 0000000g is refused");
		ok(!a.n, "... with no member kept");
	}
	/* A trailer whose padding the data cuts off is whole only when it has
	 * no data of its own. */
	{
		static const char tdata[] = "070701" "00000000" "00000000" "00000000" "00000000"
					    "00000001" "00000000" "00000004" "00000000" "00000000"
					    "00000000" "00000000" "0000000b" "00000000" "TRAILER!!!\0";

		is_int(cpio_parse(tdata, sizeof(tdata) - 1, &a, &used), -EBADMSG,
		       "a trailer with 4 bytes of data, cut before them, is cut short");
		is_int(cpio_parse(tdata, sizeof(tdata) - 1 - 4, &a, &used), -EBADMSG,
		       "... and so is the same header cut inside its name");
	}
}

/* A newc member at buf + at, its padding zeros: where the next begins. */
static size_t put_member(uint8_t *buf, size_t at, const char *name, unsigned mode,
			 const char *data)
{
	size_t nlen = strlen(name) + 1, dlen = strlen(data);

	at += (size_t)snprintf((char *)buf + at, 111,
			       "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X", 1u,
			       mode, 0u, 0u, 1u, 0u, dlen, 0u, 0u, 0u, 0u, nlen, 0u);
	memcpy(buf + at, name, nlen);
	at = (at + nlen + 3) & ~(size_t)3;
	memcpy(buf + at, data, dlen);
	return (at + dlen + 3) & ~(size_t)3;
}

/* Zero words between members, which the kernel skips: libarchive would
 * scan on from them for the next magic, stepping over the member they
 * precede (found by the initrd fuzz target: into a name holding a header
 * that claims a 3.4 GB name, which libarchive allocated). */
static void zeros_between(void)
{
	uint8_t buf[1024] = { 0 };
	char fake[] = "n070701" "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
		      "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";
	struct cpio_archive a;
	size_t at = 0, used;
	int err;

	at = put_member(buf, at, "dir", S_IFDIR | 0755, "");
	at = put_member(buf, at + 4, fake, S_IFREG | 0644, "hi");
	at = put_member(buf, at + 8, "last", S_IFREG | 0600, "x");
	at = put_member(buf, at + 4, "TRAILER!!!", 0, "");
	err = cpio_parse(buf, at, &a, &used);
	is_int(err, 0, "members with zero words between them parse");
	if (err)
		printf("# %s\n", ferr_msg());
	ok(a.n == 3 && data_is(cpio_find(&a, fake), "hi") && data_is(cpio_find(&a, "last"), "x"),
	   "... every one of them, the name holding a header too");
	is_int((long)used, (long)at, "... to the trailer's end");
	cpio_archive_release(&a);
	is_int(cpio_parse(buf, at - 8, &a, &used), -EBADMSG,
	       "cut inside the name of a trailer after zeros: truncated");
	at = put_member(buf, 0, "dir", S_IFDIR | 0755, "");
	memset(buf + at, 0, 8);
	at = put_member(buf, at + 8, "TRAILER!!!", 0, "");
	is_int(cpio_parse(buf, at - 1, &a, &used), 0,
	       "a trailer after zeros with its padding cut off is whole");
	cpio_archive_release(&a);

	/* A name whose last byte is not a NUL, which the kernel refuses
	 * (found by the initrd fuzz target: libarchive's name was one byte
	 * longer than its namesize, and the member's end was read past). */
	at = put_member(buf, 0, "dir", S_IFDIR | 0755, "");
	buf[110 + 3] = 'x'; /* "dir" and its NUL */
	at = put_member(buf, at, "TRAILER!!!", 0, "");
	is_int(cpio_parse(buf, at, &a, &used), -EBADMSG, "a name without its NUL is refused");
	ok(strstr(ferr_msg(), "name at offset 0 does not end with a NUL") != NULL,
	   "... saying so: %s", ferr_msg());
}

/* Every prefix shorter than the trailer fails and leaves nothing behind;
 * bytes changed anywhere never make a member point outside the buffer. */
static void damaged(void)
{
	static const uint8_t repl[] = { 'f', '0', '7', 0, 0xff };
	struct cpio_archive a;
	size_t len, used, end, need, bad = 0, tried = 0;
	uint8_t *buf, *copy, *hit;

	sh("cd src && find . ! -name big.ko | cpio -o -H newc --quiet > ../small.cpio");
	buf = get_file("small.cpio", &len);
	if (cpio_parse(buf, len, &a, &end)) {
		ok(0, "small archive parses");
		return;
	}
	cpio_archive_release(&a);
	/* The trailer's own padding may be cut off at the very end. */
	hit = memmem(buf, len, "TRAILER!!!", 11);
	need = hit ? (size_t)(hit - buf) + 11 : end;
	for (size_t n = 0; n < len; n++) {
		int err;

		copy = malloc(n ? n : 1);
		memcpy(copy, buf, n);
		err = cpio_parse(copy, n, &a, &used);
		if (n < need ? err >= 0 || a.n || a.v : err || used != (n < end ? n : end)) {
			printf("# prefix of %zu bytes: %d, consumed %zu\n", n, err, used);
			bad++;
		}
		cpio_archive_release(&a);
		free(copy);
	}
	is_int(bad, 0, "%zu prefixes: shorter than the trailer fail, longer ones parse", len);
	copy = malloc(len);
	bad = 0;
	for (size_t i = 0; i < end; i++)
		for (size_t r = 0; r < sizeof(repl); r++) {
			int err;

			memcpy(copy, buf, len);
			copy[i] = repl[r];
			err = cpio_parse(copy, len, &a, &used);
			tried++;
			if (err > 0 || (err < 0 && a.n) || used > len)
				bad++;
			for (size_t k = 0; !err && k < a.n; k++) {
				const uint8_t *d = a.v[k].data;
				if (a.v[k].size && (d < copy || d + a.v[k].size > copy + len))
					bad++;
			}
			cpio_archive_release(&a);
		}
	is_int(bad, 0, "%zu archives with a changed byte: no member outside the buffer", tried);
	free(copy);
	free(buf);
}

int main(void)
{
	struct cpio_archive a;
	uint8_t *buf;
	size_t len;

	if (!tap_scratch(dir, sizeof(dir), "cpio")) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	sh_cwd = dir;
	if (sh("%s && cd src && find . | cpio -o -H newc --quiet > ../gnu.cpio", tree)) {
		printf("Bail out! cannot build the source tree with GNU cpio\n");
		return 1;
	}
	buf = get_file("gnu.cpio", &len);
	parse_gnu(&a, buf, len);
	round_trip(&a);
	additions(&a);
	cpio_archive_release(&a);
	free(buf);
	formats();
	zeros_between();
	damaged();
	sh("cd / && rm -rf '%s'", dir);
	tap_plan(tap_num);
	return tap_done();
}
