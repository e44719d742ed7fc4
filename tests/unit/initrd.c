/* initrds shaped like the distributions' (microcode cpio + compressed main),
 * and odd ones, split, changed, rebuilt and checked with dd, cpio, lsinitramfs. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "initrd/initrd.h"
#include "tap.h"
#include "testsh.h"
#include "util/err.h"
#include "util/progress.h"

static char dir[192];

#define MODULE "usr/lib/modules/6.1.0/kernel/drivers/block/virtio_blk.ko"
#define MODULE_DATA "\177ELF virtio_blk"

struct tool {
	enum codec c;
	const char *comp, *decomp;
};

static const struct tool tools[] = {
	{ CODEC_GZIP, "gzip -9 -n -c", "gzip -dc" },
	{ CODEC_XZ, "xz --check=crc32 -c", "xz -dc" },
	{ CODEC_ZSTD, "zstd -q -19 -c", "zstd -dcq" },
	{ CODEC_LZ4, "lz4 -l -9 -c", "lz4 -dc" },
	{ CODEC_BZIP2, "bzip2 -c", "bzip2 -dc" },
	{ CODEC_LZMA, "lzma -c", "lzma -dc" },
};

static bool data_is(const struct cpio_entry *e, const char *s)
{
	return e && e->size == strlen(s) && !memcmp(e->data, s, e->size);
}

/* A microcode archive, and a main tree shaped like initramfs-tools'. */
static const char trees[] =
	"mkdir -p early/kernel/x86/microcode early2/kernel/x86/microcode && "
	"head -c 30000 /dev/urandom > early/kernel/x86/microcode/GenuineIntel.bin && "
	"head -c 7000 /dev/urandom > early2/kernel/x86/microcode/AuthenticAMD.bin && "
	"mkdir -p main/usr/bin main/usr/lib/modules/6.1.0/kernel/fs main/etc main/conf main/scripts && "
	"printf '#!/bin/sh\\nexec /sbin/init\\n' > main/init && chmod 755 main/init && "
	"head -c 200000 /dev/urandom | base64 > main/usr/bin/busybox && "
	"ln main/usr/bin/busybox main/usr/bin/sh && ln -s usr/lib main/lib && ln -s usr/bin main/bin && "
	"printf 'kernel/fs/ext4.ko:\\n' > main/usr/lib/modules/6.1.0/modules.dep && "
	"head -c 50000 /dev/urandom > main/usr/lib/modules/6.1.0/kernel/fs/ext4.ko && "
	"printf 'MODULES=most\\n' > main/conf/initramfs.conf && "
	"(cd early && find . | cpio -o -H newc --quiet) > early.cpio && "
	"(cd early2 && find . | cpio -o -H newc --quiet) > early2.cpio && "
	"(cd main && find . | cpio -o -H newc --quiet) > main.cpio && "
	"cp -a main exp && mkdir -p exp/usr/lib/modules/6.1.0/kernel/drivers/block && "
	"printf '\\177ELF virtio_blk' > exp/" MODULE " && chmod 644 exp/" MODULE;

static size_t file_size(const char *name)
{
	size_t n;
	free(get_file(name, &n));
	return n;
}

static void distro_shape(const struct tool *T)
{
	const char *name = codec_name(T->c);
	struct initrd rd, again;
	size_t len, olen, early = file_size("early.cpio");
	uint8_t *buf;
	void *out;
	int err;

	sh("%s main.cpio > main.c && cat early.cpio main.c > initrd && rm -rf x", T->comp);
	buf = get_file("initrd", &len);
	err = initrd_parse(buf, len, &rd);
	is_int(err, 0, "%s: initrd parses", name);
	if (err) {
		printf("# %s\n", ferr_msg());
		free(buf);
		return;
	}
	ok(rd.codec == T->c && rd.nearly == 1 && rd.early_len == early && !rd.tail_len &&
	   !rd.main_rest_len,
	   "%s: one early archive of %zu bytes, main compressed with %s", name, rd.early_len,
	   codec_name(rd.codec));
	ok(data_is(cpio_find(&rd.main, "usr/lib/modules/6.1.0/modules.dep"), "kernel/fs/ext4.ko:\n"),
	   "%s: main archive's modules.dep", name);
	is_int(cpio_add_file(&rd.main, MODULE, MODULE_DATA, sizeof(MODULE_DATA) - 1, 0644), 0,
	       "%s: add a module", name);
	err = initrd_build(&rd, &out, &olen);
	is_int(err, 0, "%s: rebuild", name);
	put_file("out", out, olen);
	is_int(sh("cmp -n %zu early.cpio out", early), 0, "%s: the early part is byte-identical",
	       name);
	is_int(sh("dd if=out bs=512 skip=%zu status=none | %s > out.cpio && "
		  "cpio -t --quiet < out.cpio | grep -qx " MODULE,
		  early / 512, T->decomp),
	       0, "%s: dd skip=%zu | %s | cpio -t lists the module", name, early / 512, T->decomp);
	is_int(sh("mkdir x && cd x && cpio -idm --quiet < ../out.cpio && cd .. && "
		  "diff -r --no-dereference exp x"),
	       0, "%s: the main archive extracts to the tree plus the module", name);
	is_int(sh("lsinitramfs out > ls.out && grep -qx " MODULE " ls.out && "
		  "grep -qx kernel/x86/microcode/GenuineIntel.bin ls.out"),
	       0, "%s: lsinitramfs lists the module and the microcode", name);
	err = initrd_parse(out, olen, &again);
	ok(!err && again.codec == T->c && data_is(cpio_find(&again.main, MODULE), MODULE_DATA),
	   "%s: the rebuilt initrd parses with the module", name);
	initrd_release(&again);
	initrd_release(&rd);
	free(out);
	free(buf);
}

/* Builds FILE from a shell recipe, parses it: 0 or the error. */
static int parse_made(const char *recipe, struct initrd *rd)
{
	uint8_t *buf;
	size_t len;
	int err;

	initrd_init(rd);
	if (sh("{ %s; } > made", recipe))
		return -1000;
	buf = get_file("made", &len);
	err = initrd_parse(buf, len, rd);
	free(buf);
	return err;
}

static void odd_shapes(void)
{
	struct initrd rd;
	void *out;
	size_t olen, n;
	int err;

	err = parse_made("cat main.cpio", &rd);
	ok(!err && rd.codec == CODEC_NONE && rd.nearly == 0 && !rd.early_len &&
	   cpio_find(&rd.main, "init"),
	   "plain cpio: it is the main archive, codec none");
	cpio_add_file(&rd.main, MODULE, MODULE_DATA, sizeof(MODULE_DATA) - 1, 0644);
	initrd_build(&rd, &out, &olen);
	put_file("out", out, olen);
	free(out);
	is_int(sh("cpio -t --quiet < out | grep -qx " MODULE), 0, "plain cpio: rebuilt, module listed");
	initrd_release(&rd);

	err = parse_made("cat early.cpio early2.cpio main.cpio", &rd);
	ok(!err && rd.codec == CODEC_NONE && rd.nearly == 2 && cpio_find(&rd.main, "init") &&
	   rd.early_len == file_size("early.cpio") + file_size("early2.cpio"),
	   "all uncompressed: the last archive is main");
	initrd_release(&rd);

	err = parse_made("cat early.cpio early2.cpio; gzip -c main.cpio; "
			 "head -c 1000 /dev/zero; gzip -c early2.cpio",
			 &rd);
	n = file_size("early2.cpio");
	ok(!err && rd.codec == CODEC_GZIP && rd.nearly == 2, "two early archives, gzip main");
	ok(rd.tail_len > 0 && !memcmp(rd.tail, "\x1f\x8b", 2), "an appended segment is the tail");
	initrd_build(&rd, &out, &olen);
	put_file("out", out, olen);
	free(out);
	is_int(sh("gzip -c early2.cpio > tail.gz && tail -c %zu out | cmp -s - tail.gz",
		  rd.tail_len),
	       0, "the tail is written back verbatim");
	/* lsinitramfs stops at zeros after the main stream: read it by hand. */
	is_int(sh("tail -c +%zu out | gzip -dc 2>/dev/null | cpio -t --quiet | "
		  "grep -qx init", file_size("early.cpio") + n + 1),
	       0, "gzip -dc | cpio -t reads the main archive before the tail");
	is_int((olen - rd.tail_len) % 4, 0, "the tail starts on a 4-byte boundary");
	initrd_release(&rd);

	/* The first gzip member ends after a whole member, without trailer:
	 * the kernel carries on into the next segment. */
	sh("head -c $(( $(grep -abo 'TRAILER!!!' main.cpio | cut -d: -f1) - 110 )) main.cpio > part1");
	err = parse_made("cat early.cpio; gzip -c part1; printf '\\0\\0\\0'; zstd -qc early2.cpio",
			 &rd);
	ok(!err && rd.codec == CODEC_GZIP && cpio_find(&rd.main, "init") &&
	   cpio_find(&rd.main, "kernel/x86/microcode/AuthenticAMD.bin") && !rd.tail_len,
	   "a main archive continued in a zstd segment is read as one");
	if (err)
		printf("# %s\n", ferr_msg());
	initrd_release(&rd);
	err = parse_made("gzip -c part1", &rd);
	is_int(err, -ENODATA, "a main archive without trailer and nothing after it fails");

	/* 20,000 entries, then 4,000 empty gzip members before the segment
	 * with the trailer: once parsed again after each member (minutes). */
	{
		double t0;

		sh("mkdir -p many/d && (cd many/d && seq 1 20000 | xargs touch) && "
		   "(cd many && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > many.cpio && "
		   "at=$(grep -abo 'TRAILER!!!' many.cpio | tail -1 | cut -d: -f1) && "
		   "head -c $((at - 110)) many.cpio > many1 && tail -c +$((at - 109)) many.cpio > many2 && "
		   "gzip -n -c </dev/null > empty.gz && "
		   "python3 -c 'import sys; sys.stdout.buffer.write(open(\"empty.gz\", \"rb\").read() * 4000)' > empties && "
		   "rm -rf many");
		t0 = now_seconds();
		err = parse_made("gzip -n -c many1; cat empties; gzip -n -c many2", &rd);
		ok(!err && cpio_find(&rd.main, "d/19999") && !rd.tail_len,
		   "a main archive across 4,002 gzip members, 4,000 of them empty, is read as one");
		ok(now_seconds() - t0 < 10, "in seconds, not minutes (%.1f s)", now_seconds() - t0);
		initrd_release(&rd);
	}

	/* A zstd frame asking for a 256 MiB window, which the kernel refuses
	 * (zstd on a pipe keeps --long's window whatever the input). */
	err = parse_made("cat early.cpio; cat main.cpio | zstd -q --long=28 -c", &rd);
	is_int(err, -EFBIG, "a zstd window the kernel cannot unpack is refused");
	ok(strstr(ferr_msg(), "window larger than 128 MiB") != NULL, "... saying so: %s", ferr_msg());

	/* A bomb: 1.1 GiB of zeros in a few dozen KiB of zstd. Refused at
	 * 1 GiB, unpacked once (before: 2.4 GB resident). */
	{
		struct rusage ru;

		sh("head -c 1100M /dev/zero | zstd -q -c > bomb.zst");
		err = parse_made("cat early.cpio bomb.zst", &rd);
		is_int(err, -EFBIG, "a zstd bomb is refused (%zu KiB of it)", file_size("bomb.zst") >> 10);
		ok(strstr(ferr_msg(), "1024 MiB") != NULL, "... saying so: %s", ferr_msg());
		getrusage(RUSAGE_SELF, &ru);
		ok(ru.ru_maxrss < 1536 * 1024, "at most 1.5 GiB resident on the way (%ld MiB)",
		   ru.ru_maxrss >> 10);
		sh("rm -f bomb.zst");
	}

	err = parse_made("cat early.cpio; cat main.cpio early2.cpio | xz --check=crc32 -c", &rd);
	ok(!err && rd.main_rest_len == n && cpio_find(&rd.main, "init"),
	   "a second archive in the main stream is kept aside (%zu bytes)", rd.main_rest_len);
	initrd_build(&rd, &out, &olen);
	put_file("out", out, olen);
	free(out);
	is_int(sh("tail -c +%zu out | xz -dc | tail -c %zu | cmp -s - early2.cpio",
		  file_size("early.cpio") + 1, n),
	       0, "and written back after the main archive in the same stream");
	initrd_release(&rd);

	err = parse_made("cat early.cpio; printf '\\211LZO\\0\\r\\n\\032\\n'; head -c 100 /dev/zero", &rd);
	is_int(err, -ENOTSUP, "an LZO main archive is refused");
	ok(strstr(ferr_msg(), "LZO") && strstr(ferr_msg(), "offset"), "with a message: %s",
	   ferr_msg());
	err = parse_made("cat early.cpio; echo hello", &rd);
	is_int(err, -EBADMSG, "unknown data after the early archive");
	err = parse_made("head -c 4096 /dev/zero", &rd);
	is_int(err, -EINVAL, "zeros only");
}

/* Prefixes fail except where they are themselves whole initrds (the early
 * archive alone); changed bytes never crash and what parses rebuilds. */
static void damaged(enum codec c, const char *comp)
{
	struct initrd rd;
	size_t len, tend, early, bad = 0, tried = 0;
	uint8_t *buf, *copy, *hit;

	sh("printf 'x' > tiny && (echo tiny | cpio -o -H newc --quiet) > tiny.cpio && "
	   "(cat early2.cpio; %s tiny.cpio) > small", comp);
	buf = get_file("small", &len);
	early = file_size("early2.cpio");
	hit = memmem(buf, len, "TRAILER!!!", 11);
	tend = hit ? (size_t)(hit - buf) + 11 : 0;
	for (size_t n = 0; n < len; n++) {
		int err;

		copy = malloc(n ? n : 1);
		memcpy(copy, buf, n);
		err = initrd_parse(copy, n, &rd);
		if ((n < tend || n > early) ? err >= 0 : err != 0)
			bad++;
		initrd_release(&rd);
		free(copy);
	}
	is_int(bad, 0, "%s: %zu prefixes fail unless they end in the early archive's fill",
	       codec_name(c), len);
	bad = 0;
	copy = malloc(len);
	for (size_t i = 0; i < len; i += (i < early ? 7 : 1)) {
		int err;

		memcpy(copy, buf, len);
		copy[i] ^= (uint8_t)(0x21 + i);
		tried++;
		err = initrd_parse(copy, len, &rd);
		if (err > 0)
			bad++;
		if (!err) {
			void *out;
			size_t olen;

			if (initrd_build(&rd, &out, &olen))
				bad++;
			else
				free(out);
		}
		initrd_release(&rd);
	}
	is_int(bad, 0, "%s: %zu initrds with a changed byte fail or rebuild", codec_name(c), tried);
	free(copy);
	free(buf);
}

int main(void)
{
	if (!tap_scratch(dir, sizeof(dir), "initrd")) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	sh_cwd = dir;
	if (sh("%s", trees)) {
		printf("Bail out! cannot build the trees\n");
		return 1;
	}
	for (size_t t = 0; t < sizeof(tools) / sizeof(tools[0]); t++)
		distro_shape(&tools[t]);
	odd_shapes();
	damaged(CODEC_GZIP, "gzip -c");
	damaged(CODEC_ZSTD, "zstd -qc");
	damaged(CODEC_LZ4, "lz4 -lc");
	sh("cd / && rm -rf '%s'", dir);
	tap_plan(tap_num);
	return tap_done();
}
